import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VirtualTimeScheduler } from 'rxjs';
import { StoreError } from '../../../src/core/errors.js';
import { RecordingLogger } from '../../../src/core/logger.js';
import { BoxLiveness } from '../../../src/observability/box-liveness.js';
import { persistBoxLiveness } from '../../../src/observability/box-liveness-persister.js';
import type { BoxStatus } from '../../../src/protocol/documents.js';
import { openSqliteStore, type SqliteStore } from '../../../src/stores/sqlite-store.js';
import { createTempDir, type TempDir } from '../../helpers/temp-dir.js';

const T = 1_700_000_000_000;

describe('persistBoxLiveness', () => {
  let dir: TempDir;
  let store: SqliteStore;
  before(async () => {
    dir = await createTempDir('makai-liveness-');
    store = await openSqliteStore({ path: dir.file('makai.db') });
  });
  after(async () => {
    await store.close();
    await dir.remove();
  });

  it('writes changed boxes to box_status every period, keeping what a failed write left for the next round', async () => {
    await store.updateBoxStatus({ box_id: '1', last_pong_ms: T - 5000 }); // written by the acquisition broker
    const liveness = new BoxLiveness();
    const scheduler = new VirtualTimeScheduler();
    let failNext = false;
    const calls: (readonly BoxStatus[])[] = [];
    const flaky = {
      updateBoxStatuses: (statuses: readonly BoxStatus[]) => {
        calls.push(statuses);
        if (failNext) {
          failNext = false;
          return Promise.reject(new StoreError('updateBoxStatuses', 'database is locked', true));
        }
        return store.updateBoxStatuses(statuses);
      },
    };
    const logger = new RecordingLogger();
    const persister = persistBoxLiveness({ liveness, store: flaky, everyMs: 10_000, scheduler, logger });

    for (let k = 0; k < 60; k++) liveness.recordMeasurement('1', T + k * 166, T + k * 166 + 20);
    liveness.recordMeasurement('2', T, T + 100);
    assert.equal(calls.length, 0, 'nothing before the period');
    failNext = true;
    await persister.flush();
    assert.deepStrictEqual(calls.map((batch) => batch.map((status) => status.box_id)), [['1', '2']], 'every changed box in one write');
    assert.equal(logger.records.filter((r) => r.level === 'warn').length, 1);

    liveness.recordPong('2', T + 200);
    await persister.flush();
    assert.deepStrictEqual(await store.listBoxStatus(), [
      { box_id: '1', last_measurement_ms: T + 59 * 166 + 20, last_pong_ms: T - 5000 },
      { box_id: '2', last_measurement_ms: T + 100, last_pong_ms: T + 200 },
    ]);
    assert.equal(calls.length, 2, 'the failed round again, with the newer status of box 2');
    assert.equal(calls[1]!.length, 2, 'one status per box, however many measurements');
    assert.equal(logger.records.filter((r) => r.msg === 'box status written again').length, 1);

    liveness.recordMeasurement('2', T + 300, T + 400);
    scheduler.flush(); // the 10 s period (virtual) writes box 2; SQLite writes at the call
    assert.deepStrictEqual(calls[2]?.map((status) => status.box_id), ['2']);
    assert.equal((await store.listBoxStatus())[1]!.last_measurement_ms, T + 400);
    liveness.recordMeasurement('1', T + 500, T + 600);
    await persister.stop();
    assert.equal((await store.listBoxStatus())[0]!.last_measurement_ms, T + 600, 'stop writes what is left');
  });

  it('stores the valid statuses of a round and does not retry the ones the store refuses', async () => {
    const liveness = new BoxLiveness();
    const scheduler = new VirtualTimeScheduler();
    const logger = new RecordingLogger();
    const calls: (readonly BoxStatus[])[] = [];
    const recording = { updateBoxStatuses: (statuses: readonly BoxStatus[]) => (calls.push(statuses), store.updateBoxStatuses(statuses)) };
    const persister = persistBoxLiveness({ liveness, store: recording, everyMs: 10_000, scheduler, logger });
    liveness.recordMeasurement('30', T, T + 0.5); // a fractional time: refused by the STRICT INTEGER column
    liveness.recordMeasurement('31', T, T + 1);
    await persister.flush();
    assert.equal(logger.records.filter((r) => r.msg === 'store refused box statuses').length, 1);
    assert.deepStrictEqual((await store.listBoxStatus()).filter((s) => s.box_id.startsWith('3')), [{ box_id: '31', last_measurement_ms: T + 1 }]);
    await persister.flush();
    assert.equal(calls.length, 1, 'nothing left to write: the refused status is not retried');
    await persister.stop();
  });
});
