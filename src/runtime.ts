import { Subject, merge, share, takeUntil, type Observable, type Observer, type SchedulerLike, type Subscription } from 'rxjs';
import { describeError } from './core/errors.js';
import type { Logger } from './core/logger.js';
import type { Metrics } from './core/metrics.js';
import type { Rejection } from './core/rejection.js';
import type { BoxLivenessRecorder } from './observability/box-liveness.js';
import type { BoxDirectory } from './stores/box-directory.js';
import type { Store } from './stores/store.js';
import { describeTopology, type NodeContext, type Topology } from './topology.js';

/** What the composition root hands to a topology when it starts it. */
export interface RuntimeDependencies {
  readonly scheduler: SchedulerLike;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  readonly boxes: BoxDirectory;
  readonly rejected: Observer<Rejection>;
  readonly baseDir: string;
  /** Given to every node as `context.liveness` (the `box-liveness` sink feeds it). */
  readonly liveness?: BoxLivenessRecorder;
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
 * Builds and subscribes a topology: the one place where nodes are connected and subscribed.
 * Every stream is shared, so a source socket is opened once however many nodes read it.
 */
export async function startTopology(topology: Topology, deps: RuntimeDependencies): Promise<RunningTopology> {
  const log = deps.logger.child({ component: 'runtime', topology: topology.name });
  const stopSources = new Subject<void>();
  const streams = new Map<string, Observable<unknown>>();
  const sinks: { id: string; written: Observable<unknown> }[] = [];

  for (const node of topology.nodes) {
    const context: NodeContext = { ...deps, id: node.id, logger: deps.logger.child({ node: node.id }) };
    const input = (id: string): Observable<unknown> => streams.get(id)!;
    switch (node.type) {
      case 'source':
        streams.set(node.id, node.spec.create(context).pipe(takeUntil(stopSources), share()));
        break;
      case 'pipe': {
        const operators = await Promise.all(node.stages.map((stage) => stage.create(context)));
        const piped = operators.reduce<Observable<unknown>>((stream, operator) => stream.pipe(operator), input(node.from));
        streams.set(node.id, piped.pipe(share()));
        break;
      }
      case 'merge':
        streams.set(node.id, merge(...node.from.map(input)).pipe(share()));
        break;
      case 'sink':
        sinks.push({ id: node.id, written: node.spec.create(context)(input(node.from)) });
        break;
    }
  }

  log.info('starting', { diagram: describeTopology(topology) });
  const subscriptions: Subscription[] = [];
  const done = Promise.all(
    sinks.map(
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
