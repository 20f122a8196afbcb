import assert from 'node:assert/strict';
import { stat } from 'node:fs';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { firstValueFrom, interval, observeOn, of, take, toArray } from 'rxjs';
import { serviceScheduler } from '../../../src/core/service-scheduler.js';

describe('serviceScheduler', () => {
  it('runs zero-delay work in the next turn, with its state, off the caller\'s stack', async () => {
    const seen: string[] = [];
    serviceScheduler.schedule((state) => seen.push(`ran ${state}`), 0, 'a');
    seen.push('caller done');
    assert.deepEqual(seen, ['caller done']);
    await nextTurn();
    assert.deepEqual(seen, ['caller done', 'ran a']);
  });

  it('runs zero-delay work before a timer set in the same turn (no 1 ms setTimeout)', async () => {
    const seen: string[] = [];
    // Node's order of a 0 ms timer and an immediate is fixed only in an I/O callback: the
    // immediate runs in the same loop iteration, the timer in the next one at the earliest.
    await new Promise((resolve) => stat('.', resolve));
    setTimeout(() => seen.push('timer'), 0);
    serviceScheduler.schedule(() => seen.push('scheduled'));
    await sleep(5);
    assert.deepEqual(seen, ['scheduled', 'timer']);
  });

  it('lets work reschedule itself, with and without a delay', async () => {
    const states: number[] = [];
    await new Promise<void>((resolve) => {
      serviceScheduler.schedule(
        function (n) {
          states.push(n!);
          if (n! < 4) this.schedule(n! + 1, n! % 2 === 0 ? 0 : 2);
          else resolve();
        },
        0,
        1,
      );
    });
    assert.deepEqual(states, [1, 2, 3, 4]);
  });

  it('never runs work unsubscribed before it was due', async () => {
    let ran = 0;
    serviceScheduler.schedule(() => ran++).unsubscribe();
    serviceScheduler.schedule(() => ran++, 1).unsubscribe();
    const action = serviceScheduler.schedule(function () {
      ran++;
      this.schedule(undefined, 1);
    });
    await nextTurn();
    action.unsubscribe();
    await sleep(10);
    assert.equal(ran, 1);
  });

  it('drives rxjs operators: interval and observeOn', async () => {
    assert.deepEqual(await firstValueFrom(interval(1, serviceScheduler).pipe(take(3), toArray())), [0, 1, 2]);
    assert.deepEqual(await firstValueFrom(of(1, 2, 3).pipe(observeOn(serviceScheduler), toArray())), [1, 2, 3]);
  });

  it('reads the wall clock', () => {
    const before = Date.now();
    const now = serviceScheduler.now();
    assert.ok(now >= before && now <= Date.now());
  });
});
