import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Subject, asyncScheduler, filter, ignoreElements, map, of, tap, toArray, type Observable } from 'rxjs';
import { defineSink, defineSource, defineStage } from '../../src/nodes/component.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { trends } from '../../src/nodes/index.js';
import { prepareTopology } from '../../src/prepare-topology.js';
import { Registry, createRegistry } from '../../src/registry.js';
import { startTopology } from '../../src/runtime.js';
import { defineTopology, describeTopology, type Stream } from '../../src/topology.js';

const numbers = defineSource<{ of: Observable<number> }, { of: Observable<number> }, never, number>({
  kind: 'numbers',
  summary: 'test numbers',
  resources: [],
  validate: (options) => options,
  create: (options) => options.of,
});
/** Doubles numbers; odd ones go to the `odd` side output instead. */
const doubleEven = defineStage<{ factor?: number }, number, never, number, number, { odd: number }>({
  kind: 'double-even',
  summary: 'doubles even numbers, odd ones aside',
  resources: [],
  sideOutputs: ['odd'],
  validate: (options) => {
    const factor = options.factor ?? 2;
    if (!(factor > 0)) throw new ConfigError(`must be positive, got ${factor}`, { path: 'factor' });
    return factor;
  },
  create: (factor, context) => (input) =>
    input.pipe(
      tap((n) => {
        if (n % 2 === 1) context.outputs.odd.next(n);
      }),
      filter((n) => n % 2 === 0),
      map((n) => n * factor),
    ),
});
const collect = defineSink<{ into: number[] }, { into: number[] }, never, number>({
  kind: 'collect',
  summary: 'collects numbers',
  resources: [],
  validate: (options) => options,
  create: (options) => (input) => input.pipe(tap((n) => options.into.push(n)), ignoreElements()),
});
/** A sink that only writes on completion, like a batch flushed on shutdown. */
const onComplete = defineSink<{ into: number[] }, { into: number[] }, 'store', number>({
  kind: 'batch',
  summary: 'writes everything on completion',
  resources: ['store'],
  validate: (options) => options,
  create: (options) => (input) => input.pipe(toArray(), tap((all) => options.into.push(...all)), ignoreElements()),
});

const runtime = () => ({ scheduler: asyncScheduler, logger: silentLogger, metrics: new Metrics(), resources: {} });
const prepare = (topology: Parameters<typeof prepareTopology>[0]) => prepareTopology(topology, { baseDir: process.cwd(), logger: silentLogger });

describe('defineTopology', () => {
  it('should record nodes in declaration order and describe them, side outputs included', () => {
    const topology = defineTopology('t', ({ source, pipe, sink }) => {
      const doubled = pipe('doubled', source('numbers', numbers({ of: of(1) })), doubleEven());
      sink('out', doubled, collect({ into: [] }));
      sink('odd', doubled.odd, collect({ into: [] }));
    });
    assert.deepEqual(topology.nodes.map((n) => n.id), ['numbers', 'doubled', 'out', 'odd']);
    assert.equal(
      describeTopology(topology),
      'topology t\n  [numbers] numbers\n  numbers -> double-even => doubled  (+ doubled.odd)\n  doubled -> [collect] out\n  doubled.odd -> [collect] odd',
    );
  });

  it('should refuse duplicate ids, bad ids, undeclared inputs, unread streams, unread side outputs and sinkless topologies', () => {
    const refuse = (declare: Parameters<typeof defineTopology>[1], pattern: RegExp) =>
      assert.throws(() => defineTopology('t', declare), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
    const src = () => numbers({ of: of(1) });
    refuse(({ source, sink }) => {
      const a = source('a', src());
      source('a', src());
      sink('s', a, collect({ into: [] }));
    }, /nodes\.a: node id "a" is used twice/);
    refuse(({ source, sink }) => sink('s', source('Bad_Id', src()), collect({ into: [] })), /kebab-case/);
    refuse(({ sink }) => sink('s', { id: 'ghost' } as Stream<number>, collect({ into: [] })), /reads "ghost", which is not declared before it/);
    refuse(({ source, sink }) => {
      source('unused', src());
      sink('s', source('a', src()), collect({ into: [] }));
    }, /streams nobody reads: unused/);
    refuse(({ source, pipe, sink }) => sink('s', pipe('p', source('a', src()), doubleEven()), collect({ into: [] })), /side outputs nobody reads: p\.odd.*dead-letters/);
    refuse(({ source, pipe }) => void pipe('p', source('a', src()) as never, trends()), /streams nobody reads|side outputs nobody reads/);
    refuse(({ source }) => void source('a', src()), /streams nobody reads: a/);
  });

  it("should run every node's validate at declaration and name the node and option", () => {
    assert.throws(
      () =>
        defineTopology('t', ({ source, pipe, sink }) => {
          const doubled = pipe('doubled', source('a', numbers({ of: of(1) })), doubleEven({ factor: 0 }));
          sink('s', doubled, collect({ into: [] }));
          sink('o', doubled.odd, collect({ into: [] }));
        }),
      (e: unknown) => e instanceof ConfigError && e.path === 'nodes.doubled.factor' && /must be positive, got 0/.test(e.message),
    );
    assert.throws(
      () => defineTopology('t', ({ source, pipe, sink }) => sink('s', pipe('trends', source('a', numbers({ of: of(1) })) as never, trends({ window: 0 })), collect({ into: [] }) as never)),
      (e: unknown) => e instanceof ConfigError && e.path === 'nodes.trends.window' && /must be from 1 second to 1 day/.test(e.message),
    );
    assert.throws(
      () => defineTopology('t', ({ source, pipe, sink }) => sink('s', pipe('trends', source('a', numbers({ of: of(1) })) as never, trends({ windw: '1m' } as never)), collect({ into: [] }) as never)),
      (e: unknown) => e instanceof ConfigError && e.path === 'nodes.trends.windw' && /did you mean "window"/.test(e.message),
    );
  });

  it('should refuse a factory passed without calling it, and a node in the wrong role', () => {
    assert.throws(
      () => defineTopology('t', ({ source, sink }) => sink('s', source('a', numbers as never), collect({ into: [] }))),
      /nodes\.a: expected a source .*call it/,
    );
    assert.throws(
      () => defineTopology('t', ({ source, sink }) => sink('s', source('a', collect({ into: [] }) as never), collect({ into: [] }))),
      /nodes\.a: "collect" is a sink, not a source/,
    );
  });
});

describe('Registry', () => {
  it('should hold the built-in kinds and refuse a second component under a kind', () => {
    const registry = createRegistry();
    assert.ok(registry.kinds().includes('trends') && registry.kinds().includes('dead-letters'));
    registry.register(numbers.component).register(numbers.component);
    assert.equal(registry.get('numbers'), numbers.component);
    assert.throws(() => registry.register({ ...numbers.component }), /node kind "numbers" is already registered to another component/);
    assert.throws(() => registry.resolve('trend', 'nodes.x'), /nodes\.x: unknown node kind "trend" \(did you mean "trends"\?\)/);
  });

  it('should let prepare refuse a node whose kind the registry holds under another component', async () => {
    const impostor = defineSink<{ into: number[] }, { into: number[] }, never, number>({
      kind: 'collect',
      summary: 'another collect',
      resources: [],
      validate: (options) => options,
      create: () => (input) => input.pipe(ignoreElements()),
    });
    const registry = new Registry([collect.component]);
    const topology = defineTopology('t', ({ source, sink }) => sink('s', source('a', numbers({ of: of(1) })), impostor({ into: [] })));
    await assert.rejects(prepareTopology(topology, { registry, baseDir: '.', logger: silentLogger }), /nodes\.s: node kind "collect" is registered to another component/);
  });
});

describe('startTopology', () => {
  it('should share a source between readers, route side outputs and flush everything to the sinks on stop', async () => {
    const input = new Subject<number>();
    let sourceSubscriptions = 0;
    const counted = defineSource<unknown, unknown, never, number>({
      kind: 'counted',
      summary: 'counts subscriptions',
      resources: [],
      validate: () => ({}),
      create: () => {
        sourceSubscriptions++;
        return input;
      },
    });
    const raw: number[] = [];
    const doubled: number[] = [];
    const odd: number[] = [];
    const topology = defineTopology('t', ({ source, pipe, sink }) => {
      const a = source('numbers', counted());
      sink('raw', a, collect({ into: raw }));
      const evens = pipe('double', a, doubleEven());
      sink('doubled', evens, onComplete({ into: doubled }));
      sink('odd', evens.odd, onComplete({ into: odd }));
    });
    const running = await startTopology(await prepare(topology), { ...runtime(), resources: { store: {} as never } });
    input.next(1);
    input.next(2);
    input.next(4);
    assert.equal(await running.stop(5000), true);
    assert.equal(sourceSubscriptions, 1);
    assert.deepEqual(raw, [1, 2, 4]);
    assert.deepEqual(doubled, [4, 8]);
    assert.deepEqual(odd, [1], 'the side output completed with its stage, so its batch sink flushed');
  });

  it('should refuse to start a node whose resource the runtime does not provide', async () => {
    const topology = defineTopology('t', ({ source, sink }) => sink('s', source('a', numbers({ of: of(1) })), onComplete({ into: [] })));
    await assert.rejects(startTopology(await prepare(topology), runtime()), /nodes\.s: node kind "batch" needs the service's store/);
  });

  it('should reject done when a sink fails, and still stop', async () => {
    const failing = defineSink<unknown, unknown, never, number>({
      kind: 'failing',
      summary: 'fails',
      resources: [],
      validate: () => ({}),
      create: () => (stream) => stream.pipe(map(() => { throw new Error('disk on fire'); })),
    });
    const topology = defineTopology('t', ({ source, sink }) => sink('s', source('a', numbers({ of: of(1) })), failing()));
    const running = await startTopology(await prepare(topology), runtime());
    await assert.rejects(running.done, /disk on fire/);
    assert.equal(await running.stop(1000), false);
  });
});
