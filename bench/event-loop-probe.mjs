// Preloaded (`node --import`) into both receivers of the cost scenario: the event-loop delay of
// the process, printed as one JSON line on stderr when it is asked to stop (SIGTERM). 20 ms
// resolution: 50 samples a second cost far less than what is measured, the same in both.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 20;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();
// Node records the time between two samples: the delay proper is that minus the resolution.
const delayMs = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
process.prependListener('SIGTERM', () => {
  histogram.disable();
  process.stderr.write(`${JSON.stringify({ eventLoop: { p99Ms: delayMs(histogram.percentile(99)), maxMs: delayMs(histogram.max) } })}\n`);
});
