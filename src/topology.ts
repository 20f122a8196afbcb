import { ConfigError } from './core/errors.js';
import type { NodeSpec, SideOutputs, SinkSpec, SourceSpec, StageSpec } from './nodes/component.js';

/**
 * Declarative topologies: named sources, named pipelines of stages and named sinks, joined by
 * typed streams, so a topology file reads like the block diagram of the system and the compiler
 * checks every edge. Side outputs (refused input, late data) are streams like any other.
 *
 * ```ts
 * export default defineTopology('trends-only', ({ source, pipe, merge, sink }) => {
 *   const frames = source('trigger', triggerSubscription({ endpoint: 'tcp://127.0.0.1:9881' }));
 *   const measurements = pipe('decode', frames, decodeTriggers());
 *   const windows = pipe('trends', measurements, trends({ window: '1m' }));
 *   sink('trend-store', windows, trendStore());
 *   sink('dead-letters', merge('refused', [measurements.rejections, windows.late]), deadLetters());
 * });
 * ```
 *
 * Defining a topology checks its shape and every node's options (`validate` of its component)
 * and opens nothing; `prepareTopology` runs the checks that need I/O, and `startTopology` is
 * the only place that subscribes.
 */

/** A typed handle on the output of a source, a pipeline or a merge. */
export interface Stream<T> {
  /** `decode`, or `decode.rejections` for a side output. */
  readonly id: string;
  /** Phantom field: carries `T` for the compiler only. */
  readonly _type?: (value: T) => void;
}

/** The side outputs of a pipeline's stages, as streams: `decoded.rejections`. */
export type SideStreams<S extends SideOutputs> = { readonly [K in keyof S]: Stream<S[K]> };

/** Where a node's options came from when a config file was mapped onto a topology. */
export interface NodeOrigin {
  /** The config file. */
  readonly file?: string;
  /** Its field (`plugins[0]`): errors in the node's options are reported there, not at `nodes.<id>`. */
  readonly field?: string;
}

/** One declared node with its options as checked by its component's `validate`. */
export interface DeclaredNode {
  readonly spec: NodeSpec;
  readonly checked: unknown;
  readonly origin?: NodeOrigin;
}

export type TopologyNode =
  | ({ readonly type: 'source'; readonly id: string } & DeclaredNode)
  | { readonly type: 'pipe'; readonly id: string; readonly from: string; readonly stages: readonly DeclaredNode[] }
  | { readonly type: 'merge'; readonly id: string; readonly from: readonly string[] }
  | ({ readonly type: 'sink'; readonly id: string; readonly from: string } & DeclaredNode);

/** A checked graph. Plain data: nothing is opened until `startTopology`. */
export interface Topology {
  readonly name: string;
  /** In declaration order, which is a topological order (a node only reads streams declared before it). */
  readonly nodes: readonly TopologyNode[];
}

type WithOrigin = [origin?: NodeOrigin];

export interface TopologyBuilder {
  source<T>(id: string, spec: SourceSpec<T>, ...origin: WithOrigin): Stream<T>;
  pipe<A, B, S1 extends SideOutputs>(id: string, from: Stream<A>, s1: StageSpec<A, B, S1>, ...origin: WithOrigin): Stream<B> & SideStreams<S1>;
  pipe<A, B, C, S1 extends SideOutputs, S2 extends SideOutputs>(
    id: string,
    from: Stream<A>,
    s1: StageSpec<A, B, S1>,
    s2: StageSpec<B, C, S2>,
  ): Stream<C> & SideStreams<S1 & S2>;
  pipe<A, B, C, D, S1 extends SideOutputs, S2 extends SideOutputs, S3 extends SideOutputs>(
    id: string,
    from: Stream<A>,
    s1: StageSpec<A, B, S1>,
    s2: StageSpec<B, C, S2>,
    s3: StageSpec<C, D, S3>,
  ): Stream<D> & SideStreams<S1 & S2 & S3>;
  /** Joins streams of one type into one. */
  merge<T>(id: string, from: readonly Stream<T>[]): Stream<T>;
  sink<T>(id: string, from: Stream<T>, spec: SinkSpec<T>, ...origin: WithOrigin): void;
}

const NODE_ID = /^[a-z][a-z0-9-]*$/;
/** Stream fields a side output may not shadow. */
const RESERVED_SIDE_NAMES = new Set(['id', '_type']);

/**
 * Declares a topology. Throws `ConfigError` naming the node (`nodes.trends.window`) when the
 * shape is wrong or a node's options are refused by its component.
 */
export function defineTopology(name: string, declare: (builder: TopologyBuilder) => void): Topology {
  const nodes: TopologyNode[] = [];
  const streams = new Set<string>();
  const consumed = new Set<string>();
  const where = { path: `topology ${name}` };

  const readFrom = (id: string, inputs: readonly string[]): void => {
    for (const input of inputs) {
      if (!streams.has(input)) throw new ConfigError(`reads "${input}", which is not declared before it`, { path: `nodes.${id}` });
      consumed.add(input);
    }
  };
  const add = (node: TopologyNode): void => {
    if (!NODE_ID.test(node.id)) {
      throw new ConfigError(`node id "${node.id}" must be kebab-case (a-z, 0-9, -)`, { path: `nodes.${node.id}` });
    }
    if (streams.has(node.id) || nodes.some((n) => n.id === node.id)) {
      throw new ConfigError(`node id "${node.id}" is used twice`, { path: `nodes.${node.id}` });
    }
    readFrom(node.id, node.type === 'source' ? [] : node.type === 'merge' ? node.from : [node.from]);
    nodes.push(node);
    if (node.type !== 'sink') streams.add(node.id);
  };
  const check = (id: string, spec: NodeSpec, role: string, origin: NodeOrigin | undefined, stage?: number): DeclaredNode => {
    const at = origin?.field ?? (stage === undefined ? `nodes.${id}` : `nodes.${id}.stages[${stage}]`);
    if (!isNodeSpec(spec)) throw new ConfigError(`expected a ${role} (made by a node factory such as trends({...})), got ${describeValue(spec)}`, { path: at });
    if (spec.component.role !== role) {
      throw new ConfigError(`"${spec.kind}" is a ${spec.component.role}, not a ${role}`, { path: at });
    }
    try {
      return { spec, checked: spec.component.validate(spec.options), ...(origin ? { origin } : {}) };
    } catch (error) {
      throw anchorConfigError(error, at, origin?.file);
    }
  };
  const stream = <T>(id: string, sideOutputs: readonly string[] = []): Stream<T> & Record<string, Stream<unknown>> => {
    const handle: Record<string, Stream<unknown>> & Stream<T> = { id } as Record<string, Stream<unknown>> & Stream<T>;
    for (const side of sideOutputs) {
      const sideId = `${id}.${side}`;
      streams.add(sideId);
      handle[side] = { id: sideId };
    }
    return handle;
  };

  const builder: TopologyBuilder = {
    source<T>(id: string, spec: SourceSpec<T>, origin?: NodeOrigin) {
      add({ type: 'source', id, ...check(id, spec, 'source', origin) });
      return stream<T>(id);
    },
    pipe(id: string, from: Stream<unknown>, ...rest: (NodeSpec | NodeOrigin | undefined)[]) {
      const specs = rest.filter(isNodeSpec);
      const origin = rest.find((value): value is NodeOrigin => value !== undefined && !isNodeSpec(value));
      if (specs.length === 0) throw new ConfigError('a pipe needs at least one stage', { path: `nodes.${id}` });
      const stages = specs.map((spec, index) => check(id, spec, 'stage', origin, specs.length > 1 ? index : undefined));
      const sides = [...new Set(stages.flatMap((stage) => sideOutputsOf(stage.spec)))];
      for (const side of sides) {
        if (RESERVED_SIDE_NAMES.has(side)) throw new ConfigError(`side output "${side}" shadows a stream field`, { path: `nodes.${id}` });
      }
      add({ type: 'pipe', id, from: from.id, stages });
      return stream(id, sides);
    },
    merge<T>(id: string, from: readonly Stream<T>[]) {
      if (from.length === 0) throw new ConfigError('a merge needs at least one input', { path: `nodes.${id}` });
      add({ type: 'merge', id, from: from.map((s) => s.id) });
      return stream<T>(id);
    },
    sink<T>(id: string, from: Stream<T>, spec: SinkSpec<T>, origin?: NodeOrigin) {
      add({ type: 'sink', id, from: from.id, ...check(id, spec, 'sink', origin) });
    },
  } as TopologyBuilder;
  declare(builder);

  const unread = [...streams].filter((id) => !consumed.has(id));
  const sides = unread.filter((id) => id.includes('.'));
  if (sides.length > 0) {
    throw new ConfigError(
      `side outputs nobody reads: ${sides.join(', ')} (connect them to a sink, e.g. sink('dead-letters', …, deadLetters()), so refused input is kept and counted)`,
      where,
    );
  }
  if (unread.length > 0) throw new ConfigError(`streams nobody reads: ${unread.join(', ')} (connect them to a sink or remove them)`, where);
  if (!nodes.some((n) => n.type === 'sink')) throw new ConfigError('a topology needs at least one sink', where);
  return { name, nodes };
}

/** The side output names of a stage spec (none for sources and sinks). */
export function sideOutputsOf(spec: NodeSpec): readonly string[] {
  return spec.component.role === 'stage' ? spec.component.sideOutputs : [];
}

/**
 * A `ConfigError` re-anchored at `at` (a node, or the config field it was mapped from): its
 * own path, relative to the node's options, is appended. Any other error becomes one at `at`.
 */
export function anchorConfigError(error: unknown, at: string, file: string | undefined): ConfigError {
  const fileField = file === undefined ? {} : { file };
  if (error instanceof ConfigError) {
    if (error.file !== undefined) return error;
    const inner = error.path ? (error.path.startsWith('[') ? `${at}${error.path}` : `${at}.${error.path}`) : at;
    const message = error.path && error.message.startsWith(`${error.path}: `) ? error.message.slice(error.path.length + 2) : error.message;
    return new ConfigError(message, { ...fileField, path: inner }, { cause: error });
  }
  return new ConfigError(error instanceof Error ? error.message : String(error), { ...fileField, path: at }, { cause: error });
}

/** A text diagram of a topology, one line per edge, for `makai validate` and start-up logs. */
export function describeTopology(topology: Topology): string {
  const lines = [`topology ${topology.name}`];
  for (const node of topology.nodes) {
    switch (node.type) {
      case 'source':
        lines.push(`  [${node.spec.kind}] ${node.id}`);
        break;
      case 'pipe': {
        const sides = [...new Set(node.stages.flatMap((stage) => sideOutputsOf(stage.spec)))];
        const aside = sides.length > 0 ? `  (+ ${sides.map((side) => `${node.id}.${side}`).join(', ')})` : '';
        lines.push(`  ${node.from} -> ${node.stages.map((s) => s.spec.kind).join(' -> ')} => ${node.id}${aside}`);
        break;
      }
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

function isNodeSpec(value: unknown): value is NodeSpec {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NodeSpec).kind === 'string' &&
    typeof (value as NodeSpec).component === 'object' &&
    (value as NodeSpec).component !== null
  );
}

function describeValue(value: unknown): string {
  if (typeof value === 'function') return `the function ${value.name || '(anonymous)'} (call it: ${value.name || 'factory'}({...}))`;
  return value === null ? 'null' : typeof value;
}
