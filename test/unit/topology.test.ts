import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, map, of, toArray, ignoreElements, tap } from 'rxjs';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { Rejection } from '../../src/core/rejection.js';
import { startTopology } from '../../src/runtime.js';
import { staticBoxDirectory } from '../../src/stores/box-directory.js';
import type { Store } from '../../src/stores/store.js';
import { defineTopology, describeTopology, type SinkSpec, type SourceSpec, type StageSpec, type Stream } from '../../src/topology.js';
import { asyncScheduler } from 'rxjs';

const numbers = (subject: Subject<number>): SourceSpec<number> => ({ kind: 'test-source', create: () => subject });
const double: StageSpec<number, number> = { kind: 'double', create: () => map((n) => n * 2) };
const collect = (into: number[]): SinkSpec<number> => ({
  kind: 'collect',
  create: () => (input) => input.pipe(tap((n) => into.push(n)), ignoreElements()),
});

describe('defineTopology', () => {
  it('should record nodes in declaration order and describe them as a diagram', () => {
    const topology = defineTopology('t', ({ source, pipe, sink }) => {
      const a = source('numbers', numbers(new Subject()));
      sink('out', pipe('doubled', a, double), collect([]));
    });
    assert.deepEqual(topology.nodes.map((n) => n.id), ['numbers', 'doubled', 'out']);
    assert.equal(describeTopology(topology), 'topology t\n  [test-source] numbers\n  numbers -> double => doubled\n  doubled -> [collect] out');
  });

  it('should refuse duplicate ids, bad ids, undeclared inputs, unread streams and sinkless topologies', () => {
    const refuse = (declare: Parameters<typeof defineTopology>[1], pattern: RegExp) =>
      assert.throws(() => defineTopology('t', declare), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
    refuse(({ source, sink }) => {
      const a = source('a', numbers(new Subject()));
      source('a', numbers(new Subject()));
      sink('s', a, collect([]));
    }, /nodes\.a: node id "a" is used twice/);
    refuse(({ source, sink }) => sink('s', source('Bad_Id', numbers(new Subject())), collect([])), /kebab-case/);
    refuse(({ sink }) => sink('s', { id: 'ghost' } as Stream<number>, collect([])), /reads "ghost", which is not declared before it/);
    refuse(({ source, sink }) => {
      source('unused', numbers(new Subject()));
      sink('s', source('a', numbers(new Subject())), collect([]));
    }, /streams nobody reads: unused/);
    refuse(({ source, pipe }) => void pipe('p', source('a', numbers(new Subject())), double), /streams nobody reads: p/);
  });
});

describe('startTopology', () => {
  const deps = () => ({
    scheduler: asyncScheduler,
    logger: silentLogger,
    metrics: new Metrics(),
    store: {} as Store, // these nodes never touch the store
    boxes: staticBoxDirectory([]),
    rejected: new Subject<Rejection>(),
    baseDir: process.cwd(),
  });

  it('should share a source between readers and flush everything to the sinks on stop', async () => {
    const input = new Subject<number>();
    let sourceSubscriptions = 0;
    const counted: SourceSpec<number> = {
      kind: 'counted',
      create: () => {
        sourceSubscriptions++;
        return input;
      },
    };
    const raw: number[] = [];
    const doubled: number[] = [];
    // A sink that only writes on completion, like a batch flushed on shutdown.
    const onComplete: SinkSpec<number> = {
      kind: 'batch',
      create: () => (stream) => stream.pipe(toArray(), tap((all) => doubled.push(...all)), ignoreElements()),
    };
    const topology = defineTopology('t', ({ source, pipe, sink }) => {
      const a = source('numbers', counted);
      sink('raw', a, collect(raw));
      sink('doubled', pipe('double', a, double), onComplete);
    });
    const running = await startTopology(topology, deps());
    input.next(1);
    input.next(2);
    assert.equal(await running.stop(5000), true);
    assert.equal(sourceSubscriptions, 1);
    assert.deepEqual(raw, [1, 2]);
    assert.deepEqual(doubled, [2, 4]);
  });

  it('should reject done when a sink fails, and still stop', async () => {
    const failing: SinkSpec<number> = {
      kind: 'failing',
      create: () => (stream) => stream.pipe(map(() => { throw new Error('disk on fire'); })),
    };
    const topology = defineTopology('t', ({ source, sink }) => sink('s', source('a', { kind: 'one', create: () => of(1) }), failing));
    const running = await startTopology(topology, deps());
    await assert.rejects(running.done, /disk on fire/);
    assert.equal(await running.stop(1000), false);
  });
});
