import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { growthAfterWarmUp, runSoak } from './soak-run.js';

// A bounded soak in CI: `makai run` (default topology, threshold plugin, SQLite) as a real
// process, fed a few thousand messages a second from 50 boxes for a minute, its RSS and open
// file descriptors sampled every second from /proc. After a warm-up third, a leak shows as
// growth between the middle and the last third of the run; the tolerances below are far above
// the noise measured (a few MiB, 0 descriptors: docs/reliability.md, "Soak") and far below
// what a leak of half a kilobyte per message (~30 MiB over the compared 20 s) would add.
// Longer runs: `node --import tsx test/faults/soak-run.ts --minutes 30`.

const SECONDS = Number(process.env['MAKAI_SOAK_SECONDS'] ?? 60);
const RATE = Number(process.env['MAKAI_SOAK_RATE'] ?? 3000);
const RSS_GROWTH_LIMIT_MIB = 32;
const FD_GROWTH_LIMIT = 2;

describe('soak', { skip: existsSync('/proc/self/status') ? false : 'needs /proc (Linux) to sample the child' }, () => {
  it(`should store every message at ${RATE} msg/s for ${SECONDS} s with flat memory and descriptors`, { timeout: (SECONDS + 120) * 1000 }, async () => {
    const report = await runSoak({ seconds: SECONDS, rate: RATE, boxes: 50 });
    const rss = report.samples.map((s) => s.rssMiB);
    const fds = report.samples.map((s) => s.fds);
    const summary = JSON.stringify({ ...report, samples: report.samples.length, stderr: report.stderr.slice(0, 2000) });
    assert.equal(report.exitCode, 0, `makai run exits 0 on SIGTERM: ${summary}`);
    assert.equal(report.stored, report.sent, `every message stored: ${summary}`);
    assert.equal(report.trends, report.expectedTrends, `one trend per box per second of box time: ${summary}`);
    assert.ok(report.sags >= 1 && report.requests >= 1 && report.requests <= report.sags, `sags are requested: ${summary}`);
    assert.ok(report.samples.length >= 9, `enough samples to compare thirds (${report.samples.length})`);
    const rssGrowth = growthAfterWarmUp(rss);
    const fdGrowth = growthAfterWarmUp(fds);
    const fdsAfterWarmUp = fds.slice(Math.floor(fds.length / 3));
    assert.ok(rssGrowth <= RSS_GROWTH_LIMIT_MIB, `RSS grew ${rssGrowth.toFixed(1)} MiB after warm-up (limit ${RSS_GROWTH_LIMIT_MIB}): ${rss.map((v) => v.toFixed(0)).join(' ')}`);
    assert.ok(fdGrowth <= FD_GROWTH_LIMIT, `open descriptors grew by ${fdGrowth} after warm-up: ${fds.join(' ')}`);
    assert.ok(Math.max(...fdsAfterWarmUp) - Math.min(...fdsAfterWarmUp) <= FD_GROWTH_LIMIT, `open descriptors stay put after warm-up: ${fds.join(' ')}`);
  });
});
