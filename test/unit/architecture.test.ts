import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

// The house rules that a linter would enforce, checked over the source tree: operators, plugins
// and the simulator take time from an injected scheduler, and the pure layers never touch
// sockets, stores or files.

const ROOT = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Code lines only: comments (where the rules are explained) do not count. */
function code(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

const WALL_CLOCK = /\b(Date\.now|setTimeout|setInterval|setImmediate|performance\.now|Math\.random)\b|new Date\(\)/;
/** Files that load modules, threads or processes for plugins: the edge of the plugin layer, allowed to touch files. */
const PLUGIN_EDGE = new Set([
  'src/plugins/plugin-loader.ts',
  'src/plugins/worker-plugin.ts',
  'src/plugins/worker-plugin-entry.ts',
  // Out-of-process plugins: spawning the program, finding a .py file, reading proto/plugin.proto.
  'src/plugins/process-plugin.ts',
  'src/plugins/process-plugin-entry.ts',
  'src/plugins/plugin-protocol-codec.ts',
]);
const EDGE_IMPORT = /from '(zeromq|mongodb|better-sqlite3|node:fs[^']*|node:net|node:http|node:child_process)'/;

describe('architecture', () => {
  for (const dir of ['src/operators', 'src/plugins', 'src/simulator']) {
    it(`should keep the wall clock out of ${dir} (time comes from the scheduler)`, () => {
      const offenders = sourceFiles(dir).filter((file) => !PLUGIN_EDGE.has(file) && WALL_CLOCK.test(code(file)));
      assert.deepEqual(offenders, []);
    });
  }

  for (const dir of ['src/operators', 'src/plugins', 'src/protocol', 'src/core']) {
    it(`should keep sockets, stores and files out of ${dir}`, () => {
      const offenders = sourceFiles(dir).filter((file) => !PLUGIN_EDGE.has(file) && EDGE_IMPORT.test(code(file)));
      assert.deepEqual(offenders, []);
    });
  }

  it('should import zeromq only at the edges (sources, sinks, brokers, security)', () => {
    const offenders = sourceFiles('src')
      .filter((file) => /from 'zeromq'/.test(code(file)))
      .filter((file) => !/^src\/(sources|sinks|brokers|security)\//.test(relative('.', file)));
    assert.deepEqual(offenders, []);
  });

  it('should never import test code from src', () => {
    assert.deepEqual(sourceFiles('src').filter((file) => /from '(\.\.\/)+test\//.test(code(file))), []);
  });
});
