import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const CHILD = fileURLToPath(new URL('../helpers/zmq-exit-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Generous: the child needs about a second; a leaked handle keeps it alive forever. */
const EXIT_LIMIT_MS = 30_000;

describe('ZeroMQ resources', () => {
  it('should let the process exit by itself once every subscription is gone', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; hung: boolean }>((resolve) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ code: null, signal: 'SIGKILL', hung: true });
      }, EXIT_LIMIT_MS);
      child.on('exit', (code, signal) => resolve({ code, signal, hung: false }));
    });
    clearTimeout(timer);
    assert.equal(outcome.hung, false, `the child did not exit within ${EXIT_LIMIT_MS} ms; output so far:\n${stdout}\n${stderr}`);
    assert.equal(outcome.code, 0, `exit code ${outcome.code} (${outcome.signal ?? 'no signal'}):\n${stderr}`);
    assert.deepEqual(stdout.trim().split('\n'), ['received 1003,hello', 'pulled', 'bind retry cancelled', 'blocked send closed', 'closed']);
  });
});
