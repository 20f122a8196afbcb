import type { Observable, Observer, OperatorFunction, SchedulerLike } from 'rxjs';
import { ConfigError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import type { Metrics } from './core/metrics.js';
import type { Rejection } from './core/rejection.js';
import type { BoxLivenessRecorder } from './observability/box-liveness.js';
import type { BoxDirectory } from './stores/box-directory.js';
import type { Store } from './stores/store.js';

/**
 * Declarative topologies: named sources, named pipelines of operator stages and named sinks,
 * joined by typed streams, so a topology file reads like the block diagram of the system and
 * the compiler checks every edge.
 *
 * ```ts
 * export default defineTopology('opq-makai', ({ source, pipe, sink }) => {
 *   const frames = source('trigger', triggerSubscriber({ endpoint: 'tcp://127.0.0.1:9881' }));
 *   const measurements = pipe('decode', frames, decodeStage());
 *   const trends = pipe('trends', measurements, trendStage({ window: '1m' }));
 *   sink('trend-store', trends, trendStoreSink());
 * });
 * ```
 *
 * Defining a topology validates its shape and opens nothing; `src/runtime.ts` is the only place
 * that subscribes.
 */

/** What every node receives when the runtime builds it. */
export interface NodeContext {
  /** The node's id in its topology (`decode`, `trend-store`, ...). */
  readonly id: string;
  readonly scheduler: SchedulerLike;
  /** Already a child logger bound to `{ node: id }`. */
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  readonly boxes: BoxDirectory;
  /** Where refused input goes (counted and kept by the dead-letter sink). */
  readonly rejected: Observer<Rejection>;
  /** Directory relative paths in the topology are resolved against (the topology or config file's). */
  readonly baseDir: string;
  /** Per-box last-seen tracker of the service (fed by the `box-liveness` sink); absent when not observed. */
  readonly liveness?: BoxLivenessRecorder;
}

/** A source of values: created when the topology starts, completed by the runtime on stop. */
export interface SourceSpec<T> {
  readonly kind: string;
  create(context: NodeContext): Observable<T>;
}

/** One step of a pipeline. `create` may be async (e.g. a plugin module is imported). */
export interface StageSpec<In, Out> {
  readonly kind: string;
  create(context: NodeContext): OperatorFunction<In, Out> | Promise<OperatorFunction<In, Out>>;
}

/**
 * Where values end up. The returned observable completes once everything it received is
 * written (the runtime waits for it on shutdown); its values are ignored.
 */
export interface SinkSpec<T> {
  readonly kind: string;
  create(context: NodeContext): (input: Observable<T>) => Observable<unknown>;
}

/** A typed handle on the output of a source or pipeline. */
export interface Stream<T> {
  readonly id: string;
  /** Phantom field: carries `T` for the compiler only. */
  readonly _type?: (value: T) => void;
}

export type TopologyNode =
  | { readonly type: 'source'; readonly id: string; readonly spec: SourceSpec<unknown> }
  | { readonly type: 'pipe'; readonly id: string; readonly from: string; readonly stages: readonly StageSpec<unknown, unknown>[] }
  | { readonly type: 'merge'; readonly id: string; readonly from: readonly string[] }
  | { readonly type: 'sink'; readonly id: string; readonly from: string; readonly spec: SinkSpec<unknown> };

/** A validated graph. Plain data: nothing is opened until `startTopology`. */
export interface Topology {
  readonly name: string;
  /** In declaration order, which is a topological order (a node only reads streams declared before it). */
  readonly nodes: readonly TopologyNode[];
}

export interface TopologyBuilder {
  source<T>(id: string, spec: SourceSpec<T>): Stream<T>;
  pipe<A, B>(id: string, from: Stream<A>, s1: StageSpec<A, B>): Stream<B>;
  pipe<A, B, C>(id: string, from: Stream<A>, s1: StageSpec<A, B>, s2: StageSpec<B, C>): Stream<C>;
  pipe<A, B, C, D>(id: string, from: Stream<A>, s1: StageSpec<A, B>, s2: StageSpec<B, C>, s3: StageSpec<C, D>): Stream<D>;
  /** Joins streams of one type into one. */
  merge<T>(id: string, from: readonly Stream<T>[]): Stream<T>;
  sink<T>(id: string, from: Stream<T>, spec: SinkSpec<T>): void;
}

const NODE_ID = /^[a-z][a-z0-9-]*$/;

/** Declares a topology. Throws `ConfigError` naming the node when the shape is wrong. */
export function defineTopology(name: string, declare: (builder: TopologyBuilder) => void): Topology {
  const nodes: TopologyNode[] = [];
  const ids = new Set<string>();
  const consumed = new Set<string>();

  const add = (node: TopologyNode): void => {
    if (!NODE_ID.test(node.id)) {
      throw new ConfigError(`node id "${node.id}" must be kebab-case (a-z, 0-9, -)`, { path: `nodes.${node.id}` });
    }
    if (ids.has(node.id)) throw new ConfigError(`node id "${node.id}" is used twice`, { path: `nodes.${node.id}` });
    const inputs = node.type === 'source' ? [] : node.type === 'merge' ? node.from : [node.from];
    for (const input of inputs) {
      if (!ids.has(input)) throw new ConfigError(`reads "${input}", which is not declared before it`, { path: `nodes.${node.id}` });
      consumed.add(input);
    }
    ids.add(node.id);
    nodes.push(node);
  };
  const stream = <T>(id: string): Stream<T> => ({ id });

  declare({
    source(id, spec) {
      add({ type: 'source', id, spec: spec as SourceSpec<unknown> });
      return stream(id);
    },
    pipe(id: string, from: Stream<unknown>, ...stages: StageSpec<unknown, unknown>[]) {
      if (stages.length === 0) throw new ConfigError('a pipe needs at least one stage', { path: `nodes.${id}` });
      add({ type: 'pipe', id, from: from.id, stages });
      return stream(id);
    },
    merge(id, from) {
      if (from.length === 0) throw new ConfigError('a merge needs at least one input', { path: `nodes.${id}` });
      add({ type: 'merge', id, from: from.map((s) => s.id) });
      return stream(id);
    },
    sink(id, from, spec) {
      add({ type: 'sink', id, from: from.id, spec: spec as SinkSpec<unknown> });
    },
  } as TopologyBuilder);

  const dangling = nodes.filter((n) => n.type !== 'sink' && !consumed.has(n.id)).map((n) => n.id);
  if (dangling.length > 0) {
    throw new ConfigError(`streams nobody reads: ${dangling.join(', ')} (connect them to a sink or remove them)`, {
      path: `topology ${name}`,
    });
  }
  if (!nodes.some((n) => n.type === 'sink')) throw new ConfigError('a topology needs at least one sink', { path: `topology ${name}` });
  return { name, nodes };
}

/** A text diagram of a topology, one line per edge, for `makai validate` and start-up logs. */
export function describeTopology(topology: Topology): string {
  const lines = [`topology ${topology.name}`];
  for (const node of topology.nodes) {
    switch (node.type) {
      case 'source':
        lines.push(`  [${node.spec.kind}] ${node.id}`);
        break;
      case 'pipe':
        lines.push(`  ${node.from} -> ${node.stages.map((s) => s.kind).join(' -> ')} => ${node.id}`);
        break;
      case 'merge':
        lines.push(`  ${node.from.join(' + ')} => ${node.id}`);
        break;
      case 'sink':
        lines.push(`  ${node.from} -> [${node.spec.kind}] ${node.id}`);
        break;
    }
  }
  return lines.join('\n');
}

/** True when a module's default export is a topology (used by the topology loader). */
export function isTopology(value: unknown): value is Topology {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Topology).name === 'string' &&
    Array.isArray((value as Topology).nodes)
  );
}
