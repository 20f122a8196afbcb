import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import type { CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import { decodeRequestDataMessage, encodeRequestDataMessage } from '../../src/protocol/request-data-message-codec.js';
import { decodeTriggerMessage } from '../../src/protocol/trigger-message-codec.js';
import { formatCertificate, readCertificate, writeCertificatePair, type CurveKeyPair } from '../../src/security/curve-certificate.js';
import { ensureBoxKeyPairs } from '../../src/simulator/box-key-pairs.js';
import { ConfigError } from '../../src/core/errors.js';
import { generateCurveKeyPair } from '../../src/security/curve-key-pair.js';
import { ZapAuthenticator } from '../../src/security/zap-authenticator.js';
import { createTempDir, type TempDir } from '../helpers/temp-dir.js';
import { sendUntil, within } from '../helpers/zmq.js';

/** `makai simulate` as a user runs it, against test-owned CURVE server sockets. */

const WAIT_MS = 15_000;

/** A CliIo whose stop request the test triggers. */
function testIo(): { io: CliIo; out: string[]; err: string[]; stop: () => void } {
  const out: string[] = [];
  const err: string[] = [];
  let stop!: () => void;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (stop = () => resolve('SIGINT')));
  return { io: { out: (t) => out.push(t), err: (t) => err.push(t), stopRequested }, out, err, stop };
}

describe('makai simulate', () => {
  let dir: TempDir;
  let server: CurveKeyPair;
  let serverCert: string;
  let zap: ZapAuthenticator;
  const sockets: zmq.Socket[] = [];

  before(async () => {
    dir = await createTempDir('makai-simulate-cli-');
    server = generateCurveKeyPair();
    serverCert = (await writeCertificatePair(dir.file('server'), 'opqserver', server)).publicFile;
    zap = new ZapAuthenticator({ allowAny: true, logger: new RecordingLogger(), metrics: new Metrics() });
    await zap.start();
  });

  after(async () => {
    // The ZAP handler before the server sockets: libzmq can abort on the reverse order (see ZapAuthenticator).
    await zap.close();
    for (const s of sockets) s.close();
    await dir.remove();
  });

  const serverSocket = <S extends zmq.Socket>(socket: S): S => {
    socket.linger = 0;
    socket.curveServer = true;
    socket.curveSecretKey = server.secretKey;
    socket.zapDomain = 'global';
    sockets.push(socket);
    return socket;
  };

  it('should generate box keys, publish triggers from every box, answer pings, print status and exit 0 on SIGINT', async () => {
    const triggerSub = serverSocket(new zmq.Subscriber());
    triggerSub.subscribe();
    await triggerSub.bind('tcp://127.0.0.1:*');
    const boxPub = serverSocket(new zmq.Publisher());
    await boxPub.bind('tcp://127.0.0.1:*');
    const boxPull = serverSocket(new zmq.Pull());
    await boxPull.bind('tcp://127.0.0.1:*');
    const keysDir = dir.file('boxes');
    const { io, out, err, stop } = testIo();

    const exit = main(
      [
        'simulate',
        ...['--boxes', '2', '--server-key', serverCert, '--keys-dir', keysDir],
        ...['--trigger', triggerSub.lastEndpoint!, '--box-pub', boxPub.lastEndpoint!, '--box-pull', boxPull.lastEndpoint!],
        ...['--inject', 'sag@1s:boxes=2:depth=10%:for=500ms', '--seed', '3', '--rate', '10', '--status-every', '100ms', '--log-level', 'silent'],
      ],
      io,
    );

    const fromBoxes = new Set<number>();
    for await (const [topic, body] of triggerSub) {
      const message = decodeTriggerMessage(body!);
      assert.equal(Buffer.from(topic!).toString(), String(message.id));
      fromBoxes.add(message.id);
      if (fromBoxes.size === 2) break;
    }
    assert.deepEqual([...fromBoxes].sort(), [1, 2]);

    const pongs = new Set<number>();
    const answered = (async () => {
      for await (const [header] of boxPull) {
        const reply = decodeRequestDataMessage(header!);
        if (reply.type === 'PONG') pongs.add(reply.boxId!);
        if (pongs.size === 2) return;
      }
    })();
    await within(sendUntil(() => boxPub.send(['evget', encodeRequestDataMessage({ type: 'PING', sequenceNumber: 1 })]), answered), WAIT_MS, 'PONG from both boxes');

    stop();
    assert.equal(await within(exit, WAIT_MS, 'simulate exits'), 0, err.join('\n'));
    assert.deepEqual(err, []);
    assert.match(out.join('\n'), /generated key pairs for box\(es\) 1, 2/);
    assert.match(out.join('\n'), /simulating 2 box\(es\).*seed 3, 10\/s each/);
    assert.match(out.join('\n'), /at 1s for 0.5s: voltage-sag to 90 % on box\(es\) 2/);
    assert.match(out.at(-1)!, /^simulate \d+\.\ds: 2 box\(es\), triggers \d+ sent .*PING [1-9]\d*.*\(stopped\)$/);
    assert.deepEqual((await readdir(`${keysDir}/private_keys`)).sort(), ['opqbox1_secret', 'opqbox2_secret']);
    assert.deepEqual((await readdir(`${keysDir}/public_keys`)).sort(), ['opqbox1.key', 'opqbox2.key']);
    assert.equal((await readCertificate(`${keysDir}/private_keys/opqbox1_secret`)).kind, 'secret');
  });

  it('should end on its own after --duration, even with no broker listening', async () => {
    const { io, out, err } = testIo();
    const quietPort = 'tcp://127.0.0.1:1';
    const code = await within(
      main(['simulate', '--boxes', '1', '--server-key', serverCert, '--keys-dir', dir.file('k1'), '--trigger', quietPort, '--box-pub', quietPort, '--box-pull', quietPort, '--quiet', '--duration', '300ms', '--log-level', 'silent'], io),
      WAIT_MS,
      'simulate ends after --duration',
    );
    assert.equal(code, 0, err.join('\n'));
    assert.match(out.join('\n'), /scenario "quiet" with 0 disturbance\(s\)/);
    assert.match(out.at(-1)!, /\(stopped\)$/);
  });

  it('should refuse missing or bad options with exit 2 and the usage', async () => {
    const cases: [string[], RegExp][] = [
      [['--keys-dir', 'x'], /--server-key <file> is required/],
      [['--server-key', 'x'], /--keys-dir <dir> is required/],
      [['--server-key', 'x', '--keys-dir', 'y', '--boxes', '0'], /--boxes must be a whole number/],
      [['--server-key', 'x', '--keys-dir', 'y', '--duration', 'soon'], /--duration: "soon" is not a duration/],
      [['--server-key', 'x', '--keys-dir', 'y', '--quiet', '--inject', 'sag@1s:depth=10%:for=1s'], /--quiet cannot be combined/],
      [['--server-key', 'x', '--keys-dir', 'y', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const { io, err } = testIo();
      assert.equal(await main(['simulate', ...args], io), 2, args.join(' '));
      assert.match(err.join('\n'), message);
      assert.match(err.join('\n'), /Usage: makai simulate/);
    }
  });

  it('should exit 1 naming the file when the server certificate cannot be read', async () => {
    const { io, err } = testIo();
    const missing = dir.file('nowhere', 'opqserver.key');
    assert.equal(await main(['simulate', '--server-key', missing, '--keys-dir', dir.file('k2'), '--duration', '1s'], io), 1);
    assert.match(err.join('\n'), new RegExp(`${missing}: cannot read certificate: ENOENT`));
  });

  it('should restore a lost public certificate from the secret one, and refuse a secret path without a secret key', async () => {
    const keysDir = dir.file('restore');
    const first = await ensureBoxKeyPairs(keysDir, [5]);
    await rm(`${keysDir}/public_keys/opqbox5.key`);
    const again = await ensureBoxKeyPairs(keysDir, [5], () => assert.fail('must not generate'));
    assert.deepEqual(again.generated, []);
    assert.deepEqual(again.keys.get(5), first.keys.get(5));
    assert.equal((await readCertificate(`${keysDir}/public_keys/opqbox5.key`)).publicKey, first.keys.get(5)!.publicKey);

    const badDir = dir.file('bad');
    await mkdir(`${badDir}/private_keys`, { recursive: true });
    await writeFile(`${badDir}/private_keys/opqbox6_secret`, formatCertificate('opqbox6', { publicKey: first.keys.get(5)!.publicKey }));
    await assert.rejects(ensureBoxKeyPairs(badDir, [6]), (error: unknown) => error instanceof ConfigError && error.file === `${badDir}/private_keys/opqbox6_secret`);
  });
});
