import { ignoreElements, tap } from 'rxjs';
import { defineSink, type NodeSpec } from '../nodes/component.js';
import { storedMeasurements, type StoredMeasurementsOptions } from '../nodes/stored-measurements.js';
import { ConfigError } from '../core/errors.js';
import type { PreparedTopology } from '../prepare-topology.js';
import type { RequestEventMessage } from '../protocol/messages.js';
import type { DeclaredNode, TopologyNode } from '../topology.js';

/** Where a request would have gone live: to the broker, or to the shadow log of a shadow plugin. */
export type RequestChannel = 'acquisition' | 'shadow';

/** One request a replay saw reach a request sink. */
export interface ReplayedRequest {
  readonly channel: RequestChannel;
  /** The sink node it reached (`acquisition`, `shadow-log-1`). */
  readonly sink: string;
  readonly request: RequestEventMessage;
}

/** Sink kinds whose input is the requests a topology makes, and the channel each stands for. */
const REQUEST_SINKS: Readonly<Record<string, RequestChannel>> = { 'acquisition-push': 'acquisition', 'shadow-log': 'shadow' };

/**
 * Derives the replay of a live topology: the same plugins, merges and dedupe with the same
 * checked options, fed from stored measurements instead of the trigger subscription, and ending
 * in collectors instead of the acquisition PUSH and the shadow log. Only the part of the graph
 * that leads to a request sink is kept, so nothing is written anywhere: stores, trends,
 * liveness and dead letters are left out.
 *
 * The stream the plugins read (the decoded measurements) becomes a `stored-measurements`
 * source of the same id, so the nodes after it are unchanged. Plugins run in-process whatever
 * their `isolation`: a worker keeps wall-clock time, and a replay runs on the recording's clock.
 *
 * @param collect Called with every request that reaches a request sink.
 * @throws ConfigError when the topology has no request sink, or its plugins read different streams.
 */
export function replayTopology(
  live: PreparedTopology,
  source: Omit<StoredMeasurementsOptions, 'onProgress'> & Pick<StoredMeasurementsOptions, 'onProgress'>,
  collect: (replayed: ReplayedRequest) => void,
): PreparedTopology {
  const byId = new Map(live.nodes.map((node) => [node.id, node]));
  const requestSinks = live.nodes.filter((node): node is Extract<TopologyNode, { type: 'sink' }> => node.type === 'sink' && node.spec.kind in REQUEST_SINKS);
  if (requestSinks.length === 0) {
    throw new ConfigError(`topology ${live.name} sends no event requests (no ${Object.keys(REQUEST_SINKS).join(' or ')} sink): there is nothing to replay`);
  }

  // The stream every plugin reads: what the stored measurements replace.
  const pluginInputs = new Set(
    live.nodes.flatMap((node) => (node.type === 'pipe' && node.stages.some((stage) => stage.spec.kind === 'plugin') ? [node.from] : [])),
  );
  if (pluginInputs.size !== 1) {
    throw new ConfigError(
      pluginInputs.size === 0
        ? `topology ${live.name} has no plugin node: there is nothing to replay`
        : `topology ${live.name}: the plugins read different streams (${[...pluginInputs].join(', ')}); a replay feeds one measurement stream`,
    );
  }
  const measurements = [...pluginInputs][0]!;

  // Everything a request sink reads, back to the measurement stream.
  const kept = new Set<string>();
  const visit = (streamId: string): void => {
    const id = streamId.split('.')[0]!;
    if (id === measurements || kept.has(id)) return;
    const node = byId.get(id);
    if (node === undefined) return;
    if (node.type === 'source') {
      throw new ConfigError(`topology ${live.name}: request sinks read the source "${id}", which a replay cannot feed; replays feed "${measurements}"`);
    }
    kept.add(id);
    if (node.type === 'pipe') visit(node.from);
    else if (node.type === 'merge') node.from.forEach(visit);
  };
  for (const sink of requestSinks) visit(sink.from);

  const sourceSpec = storedMeasurements(source);
  const nodes: TopologyNode[] = [{ type: 'source', id: measurements, ...declared(sourceSpec) }];
  for (const node of live.nodes) {
    if (node.type === 'sink') {
      const channel = REQUEST_SINKS[node.spec.kind];
      if (channel !== undefined) nodes.push({ type: 'sink', id: node.id, from: node.from, ...declared(collector({ channel, sink: node.id, collect })) });
    } else if (kept.has(node.id)) {
      nodes.push(node.type === 'pipe' ? { ...node, stages: node.stages.map(inProcess) } : node);
    }
  }
  return { name: `${live.name} (replay)`, nodes, prepared: true };
}

/** A node declared from a spec, validated as `defineTopology` would. */
function declared(spec: NodeSpec): DeclaredNode {
  return { spec, checked: spec.component.validate(spec.options) };
}

/** A plugin stage with `isolation` set to in-process (its other checked options unchanged). */
function inProcess(stage: DeclaredNode): DeclaredNode {
  if (stage.spec.kind !== 'plugin') return stage;
  const checked = stage.checked as { readonly isolation: { readonly mode: string } };
  return checked.isolation.mode === 'in-process' ? stage : { ...stage, checked: { ...checked, isolation: { ...checked.isolation, mode: 'in-process' } } };
}

interface CollectorOptions {
  readonly channel: RequestChannel;
  readonly sink: string;
  readonly collect: (replayed: ReplayedRequest) => void;
}

/** Where a replay's requests end: handed to `collect`, sent nowhere. */
const collector = defineSink<CollectorOptions, CollectorOptions, never, RequestEventMessage>({
  kind: 'replay-collector',
  summary: 'requests a replay would have made, collected',
  resources: [],
  validate: (options) => options,
  create: (options) => (input) => input.pipe(tap((request) => options.collect({ channel: options.channel, sink: options.sink, request })), ignoreElements()),
});
