import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The benchmark's child processes (sender, receiver, broker): each one a separate
 * `node --import tsx` process talking to the harness over Node's IPC channel, so the process
 * under test has its own core and its own heap, and every run starts from a fresh process.
 *
 * Messages are plain JSON objects with a `type`; a child reports a failure as
 * `{ type: 'error', message }` and the parent's pending {@link BenchChild.next} rejects with it.
 */

/** What every child may send besides its own messages. */
export interface ChildErrorMessage {
  readonly type: 'error';
  readonly message: string;
}

/** A typed handle on one child process. */
export interface BenchChild<In extends { type: string }, Out extends { type: string }> {
  readonly pid: number;
  /** Sends one message to the child. */
  send(message: In): void;
  /**
   * The next message of this type (earlier messages of other types are skipped).
   *
   * @throws Error when the child reports an error, exits, or `timeoutMs` passes first.
   */
  next<T extends Out['type']>(type: T, timeoutMs?: number): Promise<Extract<Out, { type: T }>>;
  /** Resolves with the exit code once the child has exited (waits at most `timeoutMs`, then kills it). */
  exit(timeoutMs?: number): Promise<number | null>;
  /** Kills the child at once (idempotent). */
  kill(): void;
}

export interface SpawnChildOptions {
  /** Extra Node flags, e.g. `--cpu-prof`, `--cpu-prof-dir=…`. */
  readonly nodeFlags?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * Starts `bench/<script>` under tsx with an IPC channel; stdout is ignored (children never print
 * figures), stderr is kept (last 4 kB) for error messages and passed through.
 */
export function spawnChild<In extends { type: string }, Out extends { type: string }>(
  script: string,
  options: SpawnChildOptions = {},
): BenchChild<In, Out> {
  const child: ChildProcess = fork(`${BENCH_DIR}${script}`, [], {
    execArgv: ['--import', 'tsx', ...(options.nodeFlags ?? [])],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: options.env ?? process.env,
    serialization: 'json',
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
    process.stderr.write(chunk);
  });

  const inbox: (Out | ChildErrorMessage)[] = [];
  let wake: (() => void) | undefined;
  let exited: number | null | undefined;
  const exitPromise = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? (signal ? null : 0);
      wake?.();
      resolve(exited);
    });
  });
  child.on('message', (message) => {
    inbox.push(message as Out | ChildErrorMessage);
    wake?.();
  });

  const describe = () => `${script} (pid ${child.pid})${stderr ? `; stderr: ${stderr.trim().slice(-800)}` : ''}`;

  return {
    pid: child.pid ?? -1,
    send: (message) => {
      child.send(message);
    },
    next: async <T extends Out['type']>(type: T, timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = inbox.findIndex((m) => m.type === type || m.type === 'error');
        if (index >= 0) {
          const [message] = inbox.splice(index, 1);
          if (message!.type === 'error') throw new Error(`${describe()}: ${(message as ChildErrorMessage).message}`);
          return message as Extract<Out, { type: T }>;
        }
        if (exited !== undefined) throw new Error(`${describe()} exited with ${exited} before sending "${type}"`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${describe()}: no "${type}" within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        });
      }
    },
    exit: async (timeoutMs = 30_000) => {
      if (exited !== undefined) return exited;
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<null>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, timeoutMs);
      });
      const code = await Promise.race([exitPromise, killed]);
      clearTimeout(timer);
      return code;
    },
    kill: () => {
      if (exited === undefined) child.kill('SIGKILL');
    },
  };
}

/**
 * The child side: handles the parent's messages one at a time with `handle`, and turns a thrown
 * error into `{ type: 'error' }` followed by exit code 1.
 */
export function serveParent<In extends { type: string }>(handle: (message: In) => Promise<void> | void): void {
  const fail = (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.send?.({ type: 'error', message } satisfies ChildErrorMessage, () => process.exit(1));
  };
  let chain = Promise.resolve();
  process.on('message', (message) => {
    chain = chain.then(() => handle(message as In)).catch(fail);
  });
  // The parent went away: nothing left to report to.
  process.on('disconnect', () => process.exit(0));
}

/** Sends one message to the parent and waits until it is written to the channel. */
export function tellParent<M extends { readonly type: string }>(message: M): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('not started as a benchmark child (no IPC channel)'));
    process.send(message, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

/** Monotonic clock shared by all processes of the machine (CLOCK_MONOTONIC), in ms with ns resolution. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
