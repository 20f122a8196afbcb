import { Int32, type Collection, type Document } from 'mongodb';
import { StoreError } from '../core/errors.js';
import { int32, toNumber } from './mongodb-documents.js';
import { isDuplicateKeyError } from './mongodb-store-error.js';

/** `_id` of the counter document in `counters`. */
const COUNTER_ID = 'event_id';
/** Collisions tolerated in one allocation before giving up (each collision means another allocator won). */
const MAX_ROUNDS = 200;

/**
 * Allocates event numbers shared by every process writing to one database (spec §4.8, made safe
 * for several writers):
 *
 * 1. `counters.findOneAndUpdate({_id: 'event_id'}, {$inc: {seq: 1}}, {upsert: true})` proposes
 *    the next number, while the highest `events.event_id` is read (the floor);
 * 2. a proposal at or below the floor (events written by another writer, an empty counter over
 *    an existing database, or a number below this instance's last one) lifts the counter with
 *    `$max` and tries again, so numbering never goes below what is stored;
 * 3. the proposal is claimed by inserting `{_id: <id>}` into `event_id_claims`; a duplicate key
 *    means another allocator holds it, and the next proposal is tried.
 *
 * On MongoDB step 1 alone is atomic. The claim exists because FerretDB 1.24 runs
 * `findAndModify` as a read followed by a write: concurrent `$inc`s can return the same number
 * (measured: 20 parallel increments gave 13 distinct values). A unique `_id` is enforced by
 * every server, so a claimed number is never handed out twice.
 *
 * @internal
 */
export class EventIdAllocator {
  /** Last id this instance handed out: ids increase per instance. */
  private last = 0;

  constructor(
    private readonly events: Collection,
    private readonly counters: Collection,
    private readonly claims: Collection,
  ) {}

  async next(): Promise<number> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let proposal: Document | null;
      let highest: Document | null;
      try {
        [highest, proposal] = await Promise.all([
          this.events.find({}, { projection: { _id: 0, event_id: 1 } }).sort({ event_id: -1 }).limit(1).next(),
          this.counters.findOneAndUpdate(
            { _id: COUNTER_ID } as Document,
            { $inc: { seq: new Int32(1) } },
            { upsert: true, returnDocument: 'after' },
          ),
        ]);
      } catch (error) {
        // Two first-ever upserts racing on a server that does not retry them itself.
        if (isDuplicateKeyError(error)) continue;
        throw error;
      }
      const stored = toNumber(highest?.['event_id']);
      const floor = Math.max(0, Number.isFinite(stored) ? stored : 0, this.last);
      const candidate = toNumber(proposal?.['seq']);
      if (!(candidate > floor)) {
        await this.liftCounter(floor);
        continue;
      }
      const id = int32('allocateEventId', 'event_id', candidate);
      try {
        await this.claims.insertOne({ _id: id } as Document);
      } catch (error) {
        if (isDuplicateKeyError(error)) continue;
        throw error;
      }
      this.last = candidate;
      return candidate;
    }
    throw new StoreError('allocateEventId', `no free event id after ${MAX_ROUNDS} collisions with other allocators`, true);
  }

  private async liftCounter(floor: number): Promise<void> {
    try {
      await this.counters.updateOne(
        { _id: COUNTER_ID } as Document,
        { $max: { seq: int32('allocateEventId', 'event_id', floor) } },
        { upsert: true },
      );
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
}
