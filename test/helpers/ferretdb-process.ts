import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './mongodb.js';

/**
 * A private FerretDB server for tests that must kill and restart the store itself (the shared
 * `MAKAI_TEST_MONGODB_URI` server cannot be killed under other tests). It uses the binary that
 * `.ci/ferretdb.sh` builds and caches, started the same way (SQLite backend, loopback), with its
 * data in a directory the test owns, so a restart finds what was written before the kill.
 */

/** Where `.ci/ferretdb.sh` keeps the binary: `MAKAI_FERRETDB_BIN`, else its cache directory. */
export function ferretDbBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const cache = env['MAKAI_FERRETDB_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'makai-ferretdb');
  const candidate = env['MAKAI_FERRETDB_BIN'] ?? join(cache, 'ferretdb');
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return undefined;
  }
}

export class FerretDbProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  private constructor(
    private readonly binary: string,
    private readonly dir: string,
    /** The loopback port it listens on, the same after every restart. */
    readonly port: number,
  ) {}

  /** Starts FerretDB with its data and state in `dir`, on a free loopback port. */
  static async start(binary: string, dir: string): Promise<FerretDbProcess> {
    await mkdir(join(dir, 'data'), { recursive: true });
    const server = new FerretDbProcess(binary, dir, await closedPort());
    await server.restart();
    return server;
  }

  /** `mongodb://127.0.0.1:<port>/`. */
  get uri(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  /** Kills the server with `signal` (no clean shutdown with SIGKILL) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await this.exited;
  }

  /** Starts it again on the same port and data, resolving once it accepts connections. */
  async restart(): Promise<void> {
    const child = spawn(
      this.binary,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${join(this.dir, 'data')}/`,
        `--state-dir=${this.dir}`,
        `--listen-addr=127.0.0.1:${this.port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ferretdb exited at start: ${this.output}`);
      if (Date.now() > deadline) throw new Error(`ferretdb did not listen on ${this.port} within 30 s: ${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
