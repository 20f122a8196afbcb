import type { Collection, Document, ObjectId } from 'mongodb';
import { duplicateKeyIndexes } from './mongodb-store-error.js';

/** One box's `box_status` fields to set (already converted to BSON types). */
export interface BoxStatusSet {
  readonly box_id: string;
  readonly set: Document;
}

/** A `box_status` document: `_id` is the box id, or an ObjectId in documents written before. */
interface BoxStatusDocument {
  _id: string | ObjectId;
  box_id: string;
  [field: string]: unknown;
}

/**
 * Update statements per `update` command. FerretDB 1.x keeps each statement's query open until
 * the whole command ends, one SQLite connection each, from a pool of 100 per database: a command
 * of 100 statements (a 1,000-box fleet's statuses were one) waits for a connection it holds
 * itself, and the next index creation then locks the whole server. MongoDB is unaffected.
 */
const UPDATES_PER_COMMAND = 50;

/**
 * Writes `box_status` documents keyed by `_id: box_id` (and `box_id`, the unique field readers
 * use). Why the `_id`: FerretDB 1.x on SQLite finds a document through its primary key only, and
 * scans and decodes the whole collection for any other filter; by `box_id`, one flush of a
 * 1,000-box fleet decoded a million documents (9 s of a 10 s period). MongoDB uses either index.
 *
 * Documents written by earlier versions, under an ObjectId, are moved to `_id: box_id` (fields
 * unchanged) before the first write, and again should an upsert meet one (an older daemon still
 * writing). A move is a delete and an insert: a crash in between loses that box's document, which
 * its next flush writes again. Only the moves look for documents by anything but `_id`.
 */
export class BoxStatusWriter {
  private readonly collection: Collection<BoxStatusDocument>;
  private moved = false;

  constructor(boxStatus: Collection) {
    this.collection = boxStatus as unknown as Collection<BoxStatusDocument>;
  }

  /** Upserts `statuses`, at most {@link UPDATES_PER_COMMAND} to a command. Idempotent: safe to retry whole. */
  async write(statuses: readonly BoxStatusSet[]): Promise<void> {
    if (!this.moved) {
      await this.moveObjectIdDocuments();
      this.moved = true;
    }
    for (let start = 0; start < statuses.length; start += UPDATES_PER_COMMAND) {
      const chunk = statuses.slice(start, start + UPDATES_PER_COMMAND);
      try {
        await this.upsert(chunk);
      } catch (error) {
        // Rethrows anything but duplicate keys. FerretDB stops an update command at its first
        // failure, ordered or not, so after the move the whole chunk is redone.
        duplicateKeyIndexes(error);
        await this.moveObjectIdDocuments();
        await this.upsert(chunk);
      }
    }
  }

  private async upsert(chunk: readonly BoxStatusSet[]): Promise<void> {
    await this.collection.bulkWrite(
      chunk.map(({ box_id, set }) => ({ updateOne: { filter: { _id: box_id }, update: { $set: { box_id, ...set } }, upsert: true } })),
      { ordered: false },
    );
  }

  /**
   * Only documents with a string `box_id` move (a hand-written one without would come back under
   * a fresh ObjectId), and none whose box already has a document under its id: that happens only
   * where old duplicates kept the unique `box_id` index from being created, and deleting the old
   * one first would lose its fields.
   */
  private async moveObjectIdDocuments(): Promise<void> {
    for (const old of await this.collection.find({ _id: { $type: 'objectId' }, box_id: { $type: 'string' } }).toArray()) {
      if ((await this.collection.countDocuments({ _id: old.box_id }, { limit: 1 })) > 0) continue;
      await this.collection.deleteOne({ _id: old._id });
      await this.collection.insertOne({ ...old, _id: old.box_id });
    }
  }
}
