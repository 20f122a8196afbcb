import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import { AcquisitionBroker, type AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import { TriggerBroker } from '../../src/brokers/trigger-broker.js';
import { startTriggeringService } from '../../src/cli/triggering-service.js';
import { parseConfig } from '../../src/config/load-json-config.js';
import { makaiSettingsSchema } from '../../src/config/makai-settings.js';
import { RecordingLogger, silentLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { encodeTriggerMessage } from '../../src/protocol/codec.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { decodeRequestDataMessage, encodeRequestDataMessage } from '../../src/protocol/request-data-message-codec.js';
import { formatCertificate, readCertificate, writeCertificatePair, type CurveKeyPair } from '../../src/security/curve-certificate.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { ensureBoxKeyPairs } from '../../src/simulator/box-key-pairs.js';
import { openStore } from '../../src/stores/open-store.js';
import type { Store } from '../../src/stores/store.js';
import { defaultTopology } from '../../src/cli/load-topology.js';
import { topologyOptionsOf } from '../../src/topologies/opq-triggering-options.js';
import { createAcquisitionFixture, Requester, ScriptedBox, testSettings, type AcquisitionFixture } from '../helpers/acquisition-harness.js';
import { eventRequest } from '../helpers/messages.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { curveClientOptions, nextEvent, sendUntil, within } from '../helpers/zmq.js';

// Security faults (issue 8): who gets data in, who gets data out, whether a box can speak for
// another box id, whether secrets reach any output, and the modes of the files that hold them.
// Real brokers on loopback, real CURVE handshakes, the real ZAP handler, real CLI processes.

const WAIT_MS = 30_000;

/**
 * Polls `check` until it holds, and gives up (rejecting) after `timeoutMs`, so that a failing
 * test ends instead of leaving a timer that keeps the process alive.
 */
async function eventually(check: () => boolean | Promise<boolean>, label: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** How a handshake ended: `handshake`, or one of the `handshake:error:*` events. */
function handshakeOutcome(socket: zmq.Socket): Promise<zmq.EventType> {
  return nextEvent(socket, 'handshake', 'handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other').then((e) => e.type);
}

/** The three kinds of client that must never get through: a stranger's key, no CURVE at all, and a good key aimed at the wrong server key. */
interface Intruders<S extends zmq.Socket> {
  readonly stranger: S;
  readonly plaintext: S;
  readonly wrongServer: S;
}

function intruders<S extends zmq.Socket>(make: (options: Record<string, unknown>) => S, fixture: AcquisitionFixture, extra: Record<string, unknown> = {}): Intruders<S> {
  return {
    stranger: make({ ...curveClientOptions(generateCurveKeyPair(), fixture.server.publicKey), zapDomain: 'global', ...extra }),
    plaintext: make({ linger: 0, ...extra }),
    wrongServer: make({ ...curveClientOptions(fixture.boxKeys, generateCurveKeyPair().publicKey), zapDomain: 'global', ...extra }),
  };
}

/** Options of a sending intruder: a refused PUSH has no peer, and a send would otherwise wait for one forever. */
const NO_WAIT = { sendTimeout: 0 };

/** An intruder's send: it may be refused locally (no peer to send to), which is the point. */
async function tryToSend(socket: zmq.Writable, frames: Parameters<zmq.Writable['send']>[0]): Promise<void> {
  await socket.send(frames).catch(() => undefined);
}

/** Every intruder's handshake fails; resolves with the outcomes by name. */
async function refusedHandshakes<S extends zmq.Socket>(sockets: Intruders<S>, endpoint: string): Promise<void> {
  const outcomes = Promise.all(Object.values(sockets).map((socket) => handshakeOutcome(socket)));
  for (const socket of Object.values(sockets)) socket.connect(endpoint);
  const [stranger, plaintext, wrongServer] = await within(outcomes, WAIT_MS, 'intruder handshakes');
  assert.equal(stranger, 'handshake:error:auth', 'an unknown key is refused by ZAP');
  assert.match(plaintext!, /^handshake:error:/, 'a plaintext client cannot complete a CURVE handshake');
  assert.match(wrongServer!, /^handshake:error:/, 'a client that does not know the server key cannot complete the handshake');
}

const text = (frame: Uint8Array | undefined): string => (frame ? Buffer.from(frame).toString('utf8') : '');

describe('security: nothing in, nothing out without an allowed key', () => {
  let fixture: AcquisitionFixture;
  let store: Store;
  const metrics = new Metrics();
  const logger = new RecordingLogger();
  let triggerBroker: TriggerBroker;
  let acquisitionBroker: AcquisitionBroker;
  const activity: AcquisitionActivity[] = [];
  const sockets: zmq.Socket[] = [];
  const track = <S extends zmq.Socket>(socket: S): S => (sockets.push(socket), socket);

  before(async () => {
    fixture = await createAcquisitionFixture();
    store = await openStore(fixture.storeUri);
    triggerBroker = new TriggerBroker(
      { client_certs: fixture.clientCerts, server_cert: fixture.serverCertFile, interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*', white_list: true, key_refresh: 600_000 },
      { logger, metrics, store },
    );
    await triggerBroker.start();
    acquisitionBroker = new AcquisitionBroker(testSettings(fixture), { logger, metrics, store });
    acquisitionBroker.activity.subscribe((a) => activity.push(a));
    await acquisitionBroker.start();
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    await acquisitionBroker.close();
    await triggerBroker.close();
    await store.close();
    await fixture.remove();
  });

  it('should let no trigger data in through the triggering broker from an unknown key, a plaintext client or a wrong server key', async () => {
    const backend = track(new zmq.Subscriber({ linger: 0 }));
    backend.connect(triggerBroker.endpoints.backend);
    backend.subscribe();
    const received: string[] = [];
    let resolveGood = (): void => undefined;
    const good = new Promise<void>((resolve) => (resolveGood = resolve));
    void (async () => {
      for await (const [topic] of backend) {
        received.push(text(topic));
        if (text(topic) === '1003') resolveGood();
      }
    })().catch(() => undefined);

    const bad = intruders((options) => track(new zmq.Publisher(options)), fixture, NO_WAIT);
    const before = await metrics.value('makai_zap_rejections_total', { reason: 'unknown-key' });
    await refusedHandshakes(bad, triggerBroker.endpoints.interface);
    const box = track(new zmq.Publisher({ ...curveClientOptions(fixture.boxKeys, fixture.server.publicKey), zapDomain: 'global' }));
    box.connect(triggerBroker.endpoints.interface);
    const message = (id: number) => encodeTriggerMessage({ id, time: Date.now(), frequency: 60, rms: 120 });
    await within(
      sendUntil(async () => {
        // The intruders claim box ids of their own, so anything of theirs that got through would show.
        await tryToSend(bad.stranger, ['6661', message(6661)]);
        await tryToSend(bad.plaintext, ['6662', message(6662)]);
        await tryToSend(bad.wrongServer, ['6663', message(6663)]);
        await box.send(['1003', message(1003)]);
      }, good),
      WAIT_MS,
      'the allowed box message at the backend',
    );
    assert.deepEqual([...new Set(received)], ['1003'], 'only the allowed box got data in');
    assert.ok((await metrics.value('makai_zap_rejections_total', { reason: 'unknown-key' })) > before, 'the unknown key was counted');
  });

  it('should let no reply or PONG in through the acquisition box_pull from an intruder claiming a box id', async () => {
    const bad = intruders((options) => track(new zmq.Push(options)), fixture, NO_WAIT);
    await refusedHandshakes(bad, acquisitionBroker.endpoints.box_pull);
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, acquisitionBroker.endpoints);
    try {
      const pong = (boxId: number) => encodeRequestDataMessage({ type: 'PONG', sequenceNumber: 1, boxId, time: 1 });
      const recorded = eventually(async () => activity.some((a) => a.kind === 'pong' && a.boxId === '1003'), 'the allowed box PONG recorded');
      await within(
        sendUntil(async () => {
          await tryToSend(bad.stranger, pong(6661));
          await tryToSend(bad.plaintext, pong(6662));
          await tryToSend(bad.wrongServer, pong(6663));
          await box.sendFrames([pong(1003)]);
        }, recorded),
        WAIT_MS,
        'the allowed box PONG recorded',
      );
      const pongs = new Set(activity.flatMap((a) => (a.kind === 'pong' ? [a.boxId] : [])));
      assert.deepEqual([...pongs], ['1003'], 'only the allowed box got a PONG in');
      const statuses = (await store.listBoxStatus()).map((s) => s.box_id);
      assert.ok(!statuses.some((id) => id.startsWith('666')), `no box status for an intruder (${statuses.join(', ')})`);
    } finally {
      await box.close();
    }
  });

  it('should send no evget request out through box_pub to an unauthenticated SUB', async () => {
    const bad = intruders((options) => track(new zmq.Subscriber(options)), fixture);
    const leaked: string[] = [];
    for (const [name, socket] of Object.entries(bad)) {
      socket.subscribe();
      void (async () => {
        for await (const frames of socket) leaked.push(`${name}: ${text(frames[0])}`);
      })().catch(() => undefined);
    }
    await refusedHandshakes(bad, acquisitionBroker.endpoints.box_pub);
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, acquisitionBroker.endpoints);
    const requester = new Requester(acquisitionBroker.endpoints.backend_pull);
    try {
      await within(box.waitFor((r) => r.type === 'PING'), WAIT_MS, 'a PING at the allowed box');
      await requester.send(eventRequest({ description: 'security fault test' }));
      const read = await within(box.waitFor((r) => r.type === 'READ'), WAIT_MS, 'the READ at the allowed box');
      // A PING after the READ: the PUB delivers in order to each subscriber, so an intruder
      // that were connected would have had the READ by the time the allowed box sees this.
      await within(box.waitFor((r) => r.type === 'PING' && r.sequenceNumber > read.sequenceNumber), WAIT_MS, 'a PING after the READ');
      assert.deepEqual(leaked, [], 'no intruder received anything from box_pub');
      assert.ok(decodeRequestDataMessage(encodeRequestDataMessage(read)).type === 'READ');
    } finally {
      requester.close();
      await box.close();
    }
  });

  it('should refuse a message whose frame box id disagrees with its TriggerMessage id, through the broker into the service', async () => {
    const dir = await createTempDir('makai-security-decode-');
    const serviceMetrics = new Metrics();
    const settings = parseConfig(
      { zmq_trigger_endpoint: triggerBroker.endpoints.backend, measurement_flush: '50ms', plugins: [] },
      makaiSettingsSchema,
    );
    const service = await startTriggeringService({
      loaded: { topology: await defaultTopology(topologyOptionsOf(settings)), settings, baseDir: dir.path, file: undefined },
      storeUri: `sqlite:${dir.file('makai.db')}`,
      logger: silentLogger,
      metrics: serviceMetrics,
    });
    const box = track(new zmq.Publisher({ ...curveClientOptions(fixture.boxKeys, fixture.server.publicKey), zapDomain: 'global' }));
    box.connect(triggerBroker.endpoints.interface);
    try {
      const at = (id: number, rms: number): TriggerMessage => ({ id, time: Date.now(), frequency: 60, rms });
      const stored = async () => (await serviceMetrics.value('makai_store_written_total', { collection: 'measurements' })) > 0;
      let done = false;
      const firstStored = eventually(stored, 'a consistent message stored').then(() => {
        done = true;
      });
      await within(
        sendUntil(async () => {
          if (done) return;
          // Frame 0 names box 1003 (the topic subscribers filter on), the body says 1004, and back.
          await box.send(['1003', encodeTriggerMessage(at(1004, 50))]);
          await box.send(['1004', encodeTriggerMessage(at(1003, 51))]);
          await box.send(['1003', encodeTriggerMessage(at(1003, 120))]);
        }, firstStored),
        WAIT_MS,
        'a consistent message stored',
      );
    } finally {
      assert.equal(await service.stop(5000), true);
    }
    const reopened = await openStore(`sqlite:${dir.file('makai.db')}`);
    try {
      assert.deepEqual(await reopened.queryMeasurements({ box_id: '1004' }), [], 'nothing stored under the other box id');
      const ours = await reopened.queryMeasurements({ box_id: '1003' });
      assert.ok(ours.length >= 1);
      assert.deepEqual([...new Set(ours.map((m) => m.voltage))], [120], 'only the consistent message of box 1003 was stored');
      assert.ok((await serviceMetrics.value('makai_rejected_total', { reason: 'box-id-mismatch' })) >= 1, 'the mismatch was counted by reason');
    } finally {
      await reopened.close();
      await dir.remove();
    }
  });
});

/** A `makai` CLI process; all of its stdout and stderr is kept. */
interface CliProcess {
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** The first JSON log line with this `msg`. */
  logged(msg: string): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
}

function makai(args: readonly string[], options: { umask?: string } = {}): CliProcess {
  const argv = ['--import', 'tsx', 'src/cli/main.ts', ...args];
  const child = options.umask
    ? spawn('/bin/sh', ['-c', `umask ${options.umask} && exec "$0" "$@"`, process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAKAI_LOG_LEVEL: 'debug' } })
    : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAKAI_LOG_LEVEL: 'debug' } });
  let output = '';
  let waiters: { msg: string; resolve: (record: Record<string, unknown>) => void }[] = [];
  const records: Record<string, unknown>[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
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
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    output: () => output,
    exited,
    logged: (msg) => {
      const seen = records.find((r) => r['msg'] === msg);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ msg, resolve }));
    },
    kill: (signal) => child.kill(signal),
  };
}

describe('security: secrets', () => {
  let dir: TempDir;
  const children: CliProcess[] = [];

  before(async () => {
    dir = await createTempDir('makai-security-secrets-');
  });

  after(async () => {
    for (const child of children) {
      child.kill('SIGKILL');
      await child.exited;
    }
    await dir.remove();
  });

  const run = async (args: readonly string[], options: { umask?: string } = {}): Promise<{ code: number | null; output: string }> => {
    const child = makai(args, options);
    children.push(child);
    const code = await within(child.exited, 60_000, `makai ${args.join(' ')}`);
    return { code, output: child.output() };
  };

  const secretOf = async (file: string): Promise<string> => {
    const secret = (await readCertificate(file)).secretKey;
    assert.ok(secret, `${file} holds a secret key`);
    return secret;
  };

  it('should never write a secret key to any output of the keys command or of either broker at debug level', async () => {
    const curve = dir.file('curve');
    const outputs: string[] = [];
    for (const name of ['opqserver', 'opqbox1003']) {
      const generated = await run(['keys', 'generate', name, '--dir', curve]);
      assert.equal(generated.code, 0, generated.output);
      outputs.push(generated.output);
    }
    const shown = await run(['keys', 'show', join(curve, 'private_keys', 'opqserver_secret')]);
    assert.equal(shown.code, 0, shown.output);
    outputs.push(shown.output);
    const serverSecret = await secretOf(join(curve, 'private_keys', 'opqserver_secret'));
    const server = await readCertificate(join(curve, 'private_keys', 'opqserver_secret'));
    const box: CurveKeyPair = { publicKey: (await readCertificate(join(curve, 'public_keys', 'opqbox1003.key'))).publicKey, secretKey: await secretOf(join(curve, 'private_keys', 'opqbox1003_secret')) };
    const stranger = generateCurveKeyPair();

    // Both brokers at debug level, with a box that gets in and a stranger that is refused, so
    // every authentication log line (acceptance, rejection, key loading) is written.
    const common = { client_certs: join(curve, 'public_keys'), server_cert: join(curve, 'private_keys', 'opqserver_secret'), store: `sqlite:${dir.file('opq.db')}` };
    await writeFile(dir.file('trigger.json'), JSON.stringify({ ...common, interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*' }));
    await writeFile(
      dir.file('acquisition.json'),
      JSON.stringify({ ...common, box_pub: 'tcp://127.0.0.1:*', box_pull: 'tcp://127.0.0.1:*', backend_pull: 'tcp://127.0.0.1:*', backend_pub: 'tcp://127.0.0.1:*', ping_interval: 50 }),
    );
    const trigger = makai(['trigger-broker', dir.file('trigger.json'), '--log-level', 'debug']);
    const acquisition = makai(['acquisition-broker', dir.file('acquisition.json'), '--log-level', 'debug']);
    children.push(trigger, acquisition);
    const triggerStarted = await within(trigger.logged('triggering broker started'), 60_000, `trigger broker start: ${trigger.output()}`);
    const acquisitionStarted = await within(acquisition.logged('acquisition broker started'), 60_000, `acquisition broker start: ${acquisition.output()}`);

    const boxPub = new zmq.Publisher({ ...curveClientOptions(box, server.publicKey), zapDomain: 'global' });
    const strangerPub = new zmq.Publisher({ ...curveClientOptions(stranger, server.publicKey), zapDomain: 'global' });
    const scripted = new ScriptedBox(1003, box, server.publicKey, {
      box_pub: String(acquisitionStarted['box_pub']),
      box_pull: String(acquisitionStarted['box_pull']),
    }, { answerPings: true });
    try {
      const handshakes = Promise.all([handshakeOutcome(boxPub), handshakeOutcome(strangerPub)]);
      boxPub.connect(String(triggerStarted['interface']));
      strangerPub.connect(String(triggerStarted['interface']));
      assert.deepEqual(await within(handshakes, WAIT_MS, 'handshakes'), ['handshake', 'handshake:error:auth']);
      await within(scripted.waitFor((r) => r.type === 'PING'), WAIT_MS, 'a PING at the box');
      await within(acquisition.logged('ZAP accepted a client'), WAIT_MS, 'the acquisition broker accepting the box');
      await within(trigger.logged('ZAP refused a client'), WAIT_MS, 'the trigger broker refusing the stranger');
    } finally {
      boxPub.close();
      strangerPub.close();
      await scripted.close();
    }
    trigger.kill('SIGTERM');
    acquisition.kill('SIGTERM');
    assert.equal(await within(trigger.exited, WAIT_MS, 'trigger broker exit'), 0, trigger.output());
    assert.equal(await within(acquisition.exited, WAIT_MS, 'acquisition broker exit'), 0, acquisition.output());
    outputs.push(trigger.output(), acquisition.output());

    const everything = outputs.join('\n');
    // The logs are there, at debug level, with the public keys: the check below has something to miss.
    assert.ok(everything.includes(box.publicKey), 'the box public key is logged (debug acceptances)');
    assert.ok(everything.includes(stranger.publicKey), 'the refused stranger key is logged');
    assert.ok(everything.includes(server.publicKey), 'the server public key is logged');
    for (const [name, secret] of [['server', serverSecret], ['box', box.secretKey], ['stranger', stranger.secretKey]] as const) {
      assert.ok(!everything.includes(secret), `the ${name} secret key appears in no output`);
    }
  });

  it('should not echo a malformed secret key in the error a broker exits with', async () => {
    const keys = dir.file('broken');
    const { secretFile } = await writeCertificatePair(keys, 'opqserver', generateCurveKeyPair());
    const almost = 'x'.repeat(39) + '~'; // 40 characters, '~' is not Z85: looks like a key, is not one
    const good = formatCertificate('opqserver', generateCurveKeyPair());
    await writeFile(secretFile, good.replace(/secret-key = "[^"]*"/, `secret-key = "${almost}"`));
    await mkdir(dir.file('broken-clients'), { recursive: true });
    await writeFile(dir.file('broken.json'), JSON.stringify({ client_certs: dir.file('broken-clients'), server_cert: secretFile, interface: 'tcp://127.0.0.1:*', backend: 'tcp://127.0.0.1:*' }));
    const result = await run(['trigger-broker', dir.file('broken.json'), '--log-level', 'debug']);
    // (`run` waits for the exit: a broker that started anyway would time out here.)
    assert.notEqual(result.code, 0, 'a broken server certificate stops the broker');
    assert.match(result.output, /secret-key/, `the error names the bad field: ${result.output}`);
    assert.ok(!result.output.includes(almost), 'and does not echo its value');
  });

  it('should write every secret key file with mode 0600 in a 0700 private_keys directory, whatever the umask', async () => {
    const curve = dir.file('modes');
    assert.equal((await run(['keys', 'generate', 'opqserver', '--dir', curve], { umask: '000' })).code, 0);
    assert.equal((await run(['keys', 'generate', 'opqserver', '--dir', curve, '--force'], { umask: '000' })).code, 0);
    // Simulated boxes (makai simulate, makai up) write theirs through the same code.
    const previous = process.umask(0);
    try {
      await ensureBoxKeyPairs(curve, [1, 2]);
    } finally {
      process.umask(previous);
    }
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    assert.equal(await mode(join(curve, 'private_keys')), 0o700, 'private_keys is 0700');
    const secrets = await readdir(join(curve, 'private_keys'));
    assert.deepEqual(secrets.sort(), ['opqbox1_secret', 'opqbox2_secret', 'opqserver_secret']);
    for (const file of secrets) assert.equal(await mode(join(curve, 'private_keys', file)), 0o600, `${file} is 0600`);
    for (const file of await readdir(join(curve, 'public_keys'))) assert.equal(await mode(join(curve, 'public_keys', file)), 0o644, `${file} is 0644`);
  });
});
