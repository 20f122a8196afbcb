import { Subject, finalize, merge, share, takeUntil, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { AnyComponent, NodeContext, ResourceName, Resources } from './nodes/component.js';
import { ConfigError, describeError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import type { Metrics } from './core/metrics.js';
import type { PreparedTopology } from './prepare-topology.js';
import { describeTopology, sideOutputsOf, type DeclaredNode } from './topology.js';

/** What the composition root hands to a topology when it starts it. */
export interface RuntimeDependencies {
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The resources nodes may declare; a node whose resource is missing is refused at start. */
  readonly resources: Partial<Resources>;
}

export interface RunningTopology {
  /** Resolves when every sink has completed (after {@link stop}, or when all sources ended); rejects on a fatal error. */
  readonly done: Promise<void>;
  /**
   * Graceful stop: completes every source, so open windows and batches flow to their sinks and
   * are written; resolves when all sinks are done, or after `deadlineMs` (then cuts off what is
   * left and resolves `false`).
   */
  stop(deadlineMs?: number): Promise<boolean>;
}

/**
 * Builds and subscribes a prepared topology: the one place where nodes are connected and
 * subscribed. Every stream is shared, so a source socket is opened once however many nodes read
 * it; a stage's side outputs are subjects that complete with the stage's output.
 */
export async function startTopology(topology: PreparedTopology, deps: RuntimeDependencies): Promise<RunningTopology> {
  const log = deps.logger.child({ component: 'runtime', topology: topology.name });
  const stopSources = new Subject<void>();
  const streams = new Map<string, Observable<unknown>>();
  const sinks: { id: string; written: Observable<unknown> }[] = [];

  const contextOf = (id: string, node: DeclaredNode): NodeContext<ResourceName> => {
    const component: AnyComponent = node.spec.component;
    const resources: Partial<Resources> = {};
    for (const name of component.resources) {
      const resource = deps.resources[name];
      if (resource === undefined) {
        throw new ConfigError(`node kind "${component.kind}" needs the service's ${name}, which this runtime does not provide`, { path: `nodes.${id}` });
      }
      Object.assign(resources, { [name]: resource });
    }
    return { ...(resources as Resources), id, logger: deps.logger.child({ node: id }), scheduler: deps.scheduler, metrics: deps.metrics };
  };
  const input = (id: string): Observable<unknown> => streams.get(id)!;

  for (const node of topology.nodes) {
    switch (node.type) {
      case 'source': {
        const component = node.spec.component;
        if (component.role !== 'source') break;
        streams.set(node.id, component.create(node.checked, contextOf(node.id, node)).pipe(takeUntil(stopSources), share()));
        break;
      }
      case 'pipe': {
        const sides = new Map<string, Subject<unknown>>();
        let piped = input(node.from);
        for (const stage of node.stages) {
          const component = stage.spec.component;
          if (component.role !== 'stage') continue;
          const outputs = Object.fromEntries(
            sideOutputsOf(stage.spec).map((name) => {
              const subject = sides.get(name) ?? new Subject<unknown>();
              sides.set(name, subject);
              return [name, subject];
            }),
          );
          const operator = await component.create(stage.checked, { ...contextOf(node.id, stage), outputs });
          piped = piped.pipe(operator);
        }
        // Side outputs end with the stage's own output, so the sinks reading them finish on stop too.
        const endSides = () => sides.forEach((subject) => subject.complete());
        streams.set(node.id, piped.pipe(finalize(endSides), share()));
        for (const [name, subject] of sides) streams.set(`${node.id}.${name}`, subject.asObservable());
        break;
      }
      case 'merge':
        streams.set(node.id, merge(...node.from.map(input)).pipe(share()));
        break;
      case 'sink': {
        const component = node.spec.component;
        if (component.role !== 'sink') break;
        sinks.push({ id: node.id, written: component.create(node.checked, contextOf(node.id, node))(input(node.from)) });
        break;
      }
    }
  }

  log.info('starting', { diagram: describeTopology(topology) });
  const subscriptions: Subscription[] = [];
  // Sinks that read side outputs are subscribed first: a stage may emit aside as soon as its
  // main output is subscribed, and a subject does not replay.
  const ordered = [...sinks].sort((a, b) => Number(readsSideOutput(topology, b.id)) - Number(readsSideOutput(topology, a.id)));
  const done = Promise.all(
    ordered.map(
      ({ id, written }) =>
        new Promise<void>((resolve, reject) => {
          subscriptions.push(
            written.subscribe({
              complete: () => {
                log.debug('sink finished', { node: id });
                resolve();
              },
              error: (error: unknown) => {
                log.error('sink failed; stopping the topology', { node: id, error: describeError(error) });
                reject(error);
              },
            }),
          );
        }),
    ),
  ).then(() => undefined);
  // A fatal error in one sink ends every other one too.
  done.catch(() => subscriptions.forEach((s) => s.unsubscribe()));

  return {
    done,
    stop: (deadlineMs = 10_000) =>
      new Promise<boolean>((resolve) => {
        log.info('stopping: flushing windows and batches', { deadlineMs });
        const deadline = deps.scheduler.schedule(() => {
          log.warn('stop deadline passed; cutting off what is left', { deadlineMs });
          subscriptions.forEach((s) => s.unsubscribe());
          resolve(false);
        }, deadlineMs);
        const finish = (ok: boolean) => {
          deadline.unsubscribe();
          resolve(ok);
        };
        done.then(() => finish(true), () => finish(false));
        stopSources.next();
        stopSources.complete();
      }),
  };
}

/** True when the sink reads a side output, directly or through merges. */
function readsSideOutput(topology: PreparedTopology, sinkId: string): boolean {
  const byId = new Map(topology.nodes.map((node) => [node.id, node]));
  const visit = (streamId: string): boolean => {
    if (streamId.includes('.')) return true;
    const node = byId.get(streamId);
    return node?.type === 'merge' ? node.from.some(visit) : false;
  };
  const sink = byId.get(sinkId);
  return sink?.type === 'sink' ? visit(sink.from) : false;
}
