import type { Observable, Observer, OperatorFunction, SchedulerLike } from 'rxjs';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { BoxLiveness } from '../observability/box-liveness.js';
import type { BoxDirectory } from '../stores/box-directory.js';
import type { Store } from '../stores/store.js';

/**
 * Components: the node kinds a topology is made of. A component is one file in `src/nodes/`
 * (Benthos' "spec + constructor"): its options type, a synchronous `validate` that turns what a
 * person wrote (`'1m'`, `'24h'`, ISO durations or ms) into checked values, an optional async
 * `prepare` for checks that need I/O (a plugin module is imported and its settings checked), and
 * `create`, which builds the node from the checked options and what the service gives it.
 *
 * `validate` and `prepare` open nothing, so `makai validate` runs exactly what `makai run` runs
 * before it starts: whatever one refuses, the other refuses with the same message.
 */

/**
 * What the service that runs a topology provides to the nodes that declare they need it.
 * Everything else a node uses it opens itself (a socket) or gets from its options.
 */
export interface Resources {
  /** The service's store (measurements, trends, events, box registry, dead letters). */
  readonly store: Store;
  /** The box registry, read synchronously on hot paths (locations, plugin lookups). */
  readonly boxes: BoxDirectory;
  /** Per-box last seen, served by `/health` and `makai status`. */
  readonly liveness: BoxLiveness;
}

export type ResourceName = keyof Resources;

/** What every node gets when it is created, plus the resources its component declares. */
export type NodeContext<R extends ResourceName = never> = {
  /** The node's id in its topology (`decode`, `trend-store`, ...). */
  readonly id: string;
  /** A child logger bound to `{ node: id }`. */
  readonly logger: Logger;
  /** The only clock and timer source a node may use (virtual in marble tests). */
  readonly scheduler: SchedulerLike;
  readonly metrics: Metrics;
} & Pick<Resources, R>;

/** Where a node's options came from, for the async checks of {@link ComponentBase.prepare}. */
export interface PrepareContext {
  /** Relative paths in the options (plugin modules) resolve against this directory. */
  readonly baseDir: string;
  /** The topology or config file, named in every error. */
  readonly file?: string;
  /** The node's id. */
  readonly id: string;
  readonly logger: Logger;
}


/** Side outputs of a stage, by name: each becomes a stream of the topology (`decoded.rejections`). */
export type SideOutputs = Readonly<Record<string, unknown>>;

/** The observers a stage emits its side outputs into. */
export type SideObservers<S extends SideOutputs> = { readonly [K in keyof S]: Pick<Observer<S[K]>, 'next'> };

interface ComponentBase<Options, Checked, R extends ResourceName> {
  /** The node kind: the component's file name in `src/nodes/` and its factory's name in kebab-case. */
  readonly kind: string;
  /** One line for diagrams and `makai validate`. */
  readonly summary: string;
  /** What the node needs from the service; the runtime refuses to start it without them. */
  readonly resources: readonly R[];
  /**
   * Checks options and normalises them (durations to ms). Throws `ConfigError` whose `path` is
   * the option's field (`window`); the topology prefixes it with the node (`nodes.trends.window`).
   */
  validate(options: Options): Checked;
  /** Checks that need I/O (never opens a socket or a store). Throws `ConfigError` naming the field. */
  prepare?(checked: Checked, context: PrepareContext): Promise<Checked>;
}

/** A node kind that produces values: created when the topology starts, completed on stop. */
export interface SourceComponent<Options, Checked, R extends ResourceName, Out> extends ComponentBase<Options, Checked, R> {
  readonly role: 'source';
  create(options: Checked, context: NodeContext<R>): Observable<Out>;
  /** Phantom: carries the output type for the compiler only. */
  readonly _types?: (value: Out) => void;
}

/** A node kind that transforms a stream, with optional side outputs (refused input, late data). */
export interface StageComponent<Options, Checked, R extends ResourceName, In, Out, S extends SideOutputs> extends ComponentBase<Options, Checked, R> {
  readonly role: 'stage';
  /** Names of the side outputs; each must be read by some node of the topology. */
  readonly sideOutputs: readonly (keyof S & string)[];
  /** May be async (a worker plugin starts its thread). */
  create(options: Checked, context: NodeContext<R> & { readonly outputs: SideObservers<S> }): OperatorFunction<In, Out> | Promise<OperatorFunction<In, Out>>;
  readonly _types?: (value: In, side: S) => Out;
}

/**
 * A node kind where values end up. The observable it returns completes once everything it
 * received is written (the runtime waits for it on stop); its values are ignored.
 */
export interface SinkComponent<Options, Checked, R extends ResourceName, In> extends ComponentBase<Options, Checked, R> {
  readonly role: 'sink';
  create(options: Checked, context: NodeContext<R>): (input: Observable<In>) => Observable<unknown>;
  readonly _types?: (value: In) => void;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the registry holds components of every type */
export type AnyComponent =
  | SourceComponent<any, any, ResourceName, any>
  | StageComponent<any, any, ResourceName, any, any, any>
  | SinkComponent<any, any, ResourceName, any>;

/** A node as declared in a topology: which kind, with which options (as written and as checked). */
export interface NodeSpec<C extends AnyComponent = AnyComponent> {
  readonly kind: string;
  /** The options as written, kept for diagrams and error messages. */
  readonly options: unknown;
  readonly component: C;
}

/** A source node declared with a component's factory; typed by what it emits. */
export interface SourceSpec<Out> extends NodeSpec {
  readonly _out?: (value: Out) => void;
}
/** A stage declared with a component's factory; typed by what it takes, emits and emits aside. */
export interface StageSpec<In, Out, S extends SideOutputs = Record<never, never>> extends NodeSpec {
  readonly _io?: (value: In, side: S) => Out;
}
/** A sink declared with a component's factory; typed by what it takes. */
export interface SinkSpec<In> extends NodeSpec {
  readonly _in?: (value: In) => void;
}

/** The factory's parameter: optional when every option has a default. */
type OptionsParameter<Options> = {} extends Options ? [options?: Options] : [options: Options];

/** A component that is also the factory topologies call: `trends({ window: '1m' })`. */
export type SourceFactory<Options, Out> = ((...options: OptionsParameter<Options>) => SourceSpec<Out>) & { readonly component: AnyComponent };
export type StageFactory<Options, In, Out, S extends SideOutputs> = ((...options: OptionsParameter<Options>) => StageSpec<In, Out, S>) & {
  readonly component: AnyComponent;
};
export type SinkFactory<Options, In> = ((...options: OptionsParameter<Options>) => SinkSpec<In>) & { readonly component: AnyComponent };

function factoryOf<C extends AnyComponent>(component: C) {
  const factory = (options: unknown = {}): NodeSpec<C> => ({ kind: component.kind, options, component });
  Object.defineProperty(factory, 'name', { value: component.kind });
  return Object.assign(factory, { component });
}

/** Declares a source kind; the result is its factory, with the component attached. */
export function defineSource<Options, Checked, R extends ResourceName, Out>(
  component: Omit<SourceComponent<Options, Checked, R, Out>, 'role'>,
): SourceFactory<Options, Out> {
  return factoryOf({ ...component, role: 'source' } as AnyComponent) as SourceFactory<Options, Out>;
}

/** Declares a stage kind; the result is its factory, with the component attached. */
export function defineStage<Options, Checked, R extends ResourceName, In, Out, S extends SideOutputs = Record<never, never>>(
  component: Omit<StageComponent<Options, Checked, R, In, Out, S>, 'role'>,
): StageFactory<Options, In, Out, S> {
  return factoryOf({ ...component, role: 'stage' } as AnyComponent) as StageFactory<Options, In, Out, S>;
}

/** Declares a sink kind; the result is its factory, with the component attached. */
export function defineSink<Options, Checked, R extends ResourceName, In>(
  component: Omit<SinkComponent<Options, Checked, R, In>, 'role'>,
): SinkFactory<Options, In> {
  return factoryOf({ ...component, role: 'sink' } as AnyComponent) as SinkFactory<Options, In>;
}
