import { ignoreElements, tap } from 'rxjs';
import type { TriggerMessage } from '../protocol/messages.js';
import type { SinkSpec } from '../topology.js';

/**
 * A topology sink that feeds the service's box liveness tracker (`context.liveness`) from the
 * decoded measurement stream: box id, box time, and receipt time from the scheduler. Per-box
 * last-seen then shows in `/health` and as `makai_box_last_seen_seconds{box}`.
 *
 * ```ts
 * const measurements = pipe('decode', frames, decodeTriggers());
 * sink('box-liveness', measurements, boxLiveness());
 * ```
 *
 * Without a tracker in the context (a runtime started without observability) it only drains
 * its input. It never slows the stream: one Map update per message, nothing awaited.
 */
export function boxLiveness(): SinkSpec<TriggerMessage> {
  return {
    kind: 'box-liveness',
    create: (context) => (input) => {
      const liveness = context.liveness;
      if (!liveness) {
        context.logger.debug('no box liveness tracker in this runtime; box-liveness only drains its input');
        return input.pipe(ignoreElements());
      }
      return input.pipe(
        tap((message) => liveness.recordMeasurement(String(message.id), message.time, context.scheduler.now())),
        ignoreElements(),
      );
    },
  };
}
