import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Makes a SQLite store fail for real, from outside the process under test: another process
 * opens the same file and holds `BEGIN EXCLUSIVE` (see `sqlite-lock-child.ts`), so every write
 * of the store gets SQLITE_BUSY (a retryable StoreError) until {@link release}. chmod cannot do
 * this when the tests run as root, and a lock held by a second process is what really happens
 * when a backup or an operator's `sqlite3` shell keeps a transaction open.
 */
export class SqliteLockHolder {
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiters: { line: string; resolve: () => void }[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(path: string) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'sqlite-lock-child.ts'), path], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.line === line ? (w.resolve(), false) : true));
    });
  }

  /** Resolves once the other process holds the write lock of the database at `path`. */
  static async lock(path: string): Promise<SqliteLockHolder> {
    const holder = new SqliteLockHolder(path);
    await Promise.race([holder.line('locked'), holder.exited.then((code) => Promise.reject(new Error(`lock holder exited with ${code}`)))]);
    return holder;
  }

  /** Commits the other process's transaction; resolves once it has exited. */
  async release(): Promise<void> {
    if (this.child.exitCode !== null) return;
    // Ending stdin lets the child exit once it has committed.
    this.child.stdin!.end('release\n');
    await this.line('released');
    await this.exited;
  }

  /** Kills the holder if still running (for cleanups). */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  private line(text: string): Promise<void> {
    if (this.lines.includes(text)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ line: text, resolve }));
  }
}
