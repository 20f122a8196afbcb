import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir, for tests that need real files (SQLite stores, key files). */
export interface TempDir {
  /** Absolute path of the directory. */
  readonly path: string;
  /** A path inside the directory (nothing is created). */
  file(...parts: string[]): string;
  /** Removes the directory and everything in it, restoring write permission first; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Creates a temp directory; remove it in `after`/`finally`:
 *
 * ```ts
 * const dir = await createTempDir();
 * try { ... dir.file('opq.db') ... } finally { await dir.remove(); }
 * ```
 *
 * @param prefix Start of the directory name, to tell whose leftovers these are.
 */
export async function createTempDir(prefix = 'makai-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    file: (...parts) => join(path, ...parts),
    async remove() {
      // A test may have made the directory read-only to provoke write errors.
      await chmod(path, 0o700).catch(() => undefined);
      await rm(path, { recursive: true, force: true });
    },
  };
}
