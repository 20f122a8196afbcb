import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, describe, it } from 'node:test';
import { writeCertificatePair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { openStore } from '../../src/stores/open-store.js';
import { Requester } from '../helpers/acquisition-harness.js';
import { eventRequest } from '../helpers/messages.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

/** `makai trigger-broker` / `makai acquisition-broker` as an operator runs them: a child process, a config file, SIGTERM. */

const WAIT_MS = 30_000;

interface Child {
  /** Resolves with the first JSON log record whose `msg` is `msg`. */
  logged(msg: string): Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  stderr(): string;
}

function makai(...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const records: Record<string, unknown>[] = [];
  let waiters: { msg: string; resolve: (r: Record<string, unknown>) => void }[] = [];
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      records.push(record);
      waiters = waiters.filter((w) => (record['msg'] === w.msg ? (w.resolve(record), false) : true));
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    logged: (msg) => {
      const seen = records.find((r) => r['msg'] === msg);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ msg, resolve }));
    },
    exited,
    kill: (signal) => child.kill(signal),
    stderr: () => stderr,
  };
}

describe('broker commands', () => {
  let dir: TempDir;
  const children: Child[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await child.exited;
    }
    await dir.remove();
  });

  async function keys(): Promise<{ serverCert: string; clientCerts: string }> {
    dir = await createTempDir('makai-broker-cli-');
    const { secretFile } = await writeCertificatePair(dir.file('curve'), 'opqserver', generateCurveKeyPair());
    await mkdir(dir.file('clients'));
    return { serverCert: secretFile, clientCerts: dir.file('clients') };
  }

  it('should run the acquisition broker from a config file, serve a request, and exit 0 on SIGTERM', async () => {
    const { serverCert, clientCerts } = await keys();
    const store = `sqlite:${dir.file('opq.db')}`;
    const config = {
      client_certs: clientCerts,
      server_cert: serverCert,
      box_pub: 'tcp://127.0.0.1:*',
      box_pull: 'tcp://127.0.0.1:*',
      backend_pull: 'tcp://127.0.0.1:*',
      backend_pub: 'tcp://127.0.0.1:*',
      store,
    };
    await writeFile(dir.file('acquisition_broker_config.json'), JSON.stringify(config));
    const child = makai('acquisition-broker', dir.file('acquisition_broker_config.json'));
    children.push(child);
    const started = await within(child.logged('acquisition broker started'), WAIT_MS, `start (stderr: ${child.stderr()})`);
    const requester = new Requester(String(started['backend_pull']));
    try {
      await requester.send(eventRequest({ requestData: false, description: 'from the cli test' }));
      await within(child.logged('event accepted'), WAIT_MS, 'event accepted');
    } finally {
      requester.close();
    }
    child.kill('SIGTERM');
    assert.equal(await within(child.exited, WAIT_MS, 'exit'), 0, child.stderr());
    assert.ok(child.stderr().includes('acquisition broker stopped'));
    const reader = await openStore(store);
    try {
      assert.deepEqual((await reader.listEvents()).map((e) => e.description), ['from the cli test']);
    } finally {
      await reader.close();
    }
  });

  it('should run the triggering broker and exit 0 on SIGINT', async () => {
    const { serverCert, clientCerts } = await keys();
    const config = { client_certs: clientCerts, server_cert: serverCert, interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', white_list: true };
    await writeFile(dir.file('triggering_broker_config.json'), JSON.stringify(config));
    const child = makai('trigger-broker', dir.file('triggering_broker_config.json'));
    children.push(child);
    const started = await within(child.logged('triggering broker started'), WAIT_MS, `start (stderr: ${child.stderr()})`);
    assert.match(String(started['backend']), /^tcp:\/\/127\.0\.0\.1:\d+$/);
    child.kill('SIGINT');
    assert.equal(await within(child.exited, WAIT_MS, 'exit'), 0, child.stderr());
    assert.ok(child.stderr().includes('triggering broker stopped'));
  });

  it('should refuse a misspelt config field with exit 1 naming the file and field', async () => {
    await keys();
    await writeFile(dir.file('bad.json'), JSON.stringify({ box_pubb: 'tcp://*:8194' }));
    const child = makai('acquisition-broker', dir.file('bad.json'));
    children.push(child);
    assert.equal(await within(child.exited, WAIT_MS, 'exit'), 1);
    assert.match(child.stderr(), /bad\.json: box_pubb: unknown field \(did you mean "box_pub"\?\)/);
  });
});
