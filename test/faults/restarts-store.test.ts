import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { AcquisitionBroker, type AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import { RecordingLogger } from '../../src/core/logger.js';
import { Metrics } from '../../src/core/metrics.js';
import type { TriggerMessage } from '../../src/protocol/messages.js';
import { openStore } from '../../src/stores/open-store.js';
import { ScriptedBox, createAcquisitionFixture, expectedWaveform, sampleData, testSettings } from '../helpers/acquisition-harness.js';
import { TriggerFeed, makaiSettings, recentT0, startServiceUnderTest, triggerFrames, validTrigger, waitUntil } from '../helpers/fault-harness.js';
import { FerretDbProcess, ferretDbBinary } from '../helpers/ferretdb-process.js';
import { createTempDir } from '../helpers/temp-dir.js';
import { within } from '../helpers/zmq.js';

// The store process itself is killed (SIGKILL, no clean shutdown) and restarted on the same
// data while the triggering service and the acquisition broker run on it: both queue and
// retry, reconnect by themselves, and afterwards every measurement and trend is stored once,
// the event requested while the store was down is stored, and event ids keep increasing and
// stay unique. A private FerretDB (the binary `.ci/ferretdb.sh` builds) plays the store, so
// the shared test server is left alone.

const WAIT_MS = 30_000;
const binary = ferretDbBinary();
// Under CI the binary is built by .ci/run before the tests: a missing one must fail, not skip.
const skip = binary || process.env['CI'] === 'true' ? false : 'no FerretDB binary (run `.ci/ferretdb.sh build` or set MAKAI_FERRETDB_BIN)';

describe('store restart (FerretDB killed and restarted)', { skip }, () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('should reconnect, write everything queued and keep event ids increasing and unique', async () => {
    if (!binary) throw new Error('no FerretDB binary (CI=true: .ci/run builds it; or set MAKAI_FERRETDB_BIN)');
    const dir = await createTempDir('makai-faults-store-restart-');
    cleanups.push(() => dir.remove());
    const ferret = await FerretDbProcess.start(binary, dir.file('ferretdb'));
    cleanups.push(() => ferret.kill());
    // Short timeouts, so each attempt while the server is gone fails fast and is retried.
    const uri = `${ferret.uri}makai?serverSelectionTimeoutMS=500&connectTimeoutMS=500`;

    const fixture = await createAcquisitionFixture();
    cleanups.push(() => fixture.remove());
    const brokerStore = await openStore(uri);
    cleanups.push(() => brokerStore.close());
    const broker = new AcquisitionBroker(testSettings(fixture, { store_retry_limit: 60_000 }), {
      logger: new RecordingLogger(),
      metrics: new Metrics(),
      store: brokerStore,
    });
    await broker.start();
    cleanups.push(() => broker.close());
    const activity: AcquisitionActivity[] = [];
    const subscription = broker.activity.subscribe((a) => activity.push(a));
    cleanups.push(() => subscription.unsubscribe());
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, broker.endpoints, { answerPings: true });
    cleanups.push(() => box.close());
    await within(box.waitFor((r) => r.type === 'PING'), WAIT_MS, 'first PING');

    const feed = await TriggerFeed.bind();
    cleanups.push(() => feed.close());
    const settings = makaiSettings({
      zmq_trigger_endpoint: feed.endpoint,
      zmq_acquisition_endpoint: broker.endpoints.backend_pull,
      measurement_batch_size: 20,
      measurement_flush: '100ms',
      plugins: [{ plugin: 'threshold' }],
    });
    const { service, metrics, logger } = await startServiceUnderTest({ settings, storeUri: uri, baseDir: dir.path });
    cleanups.push(async () => void (await service.stop()));
    await feed.whenSubscribed();

    const t0 = recentT0();
    const sent: TriggerMessage[] = [];
    /** 5 s of box 1003 with a 1 s sag at second `s` of box time. */
    const sagAt = async (s: number) => {
      for (let k = 6 * s - 12; k < 6 * s + 18; k++) {
        const message = validTrigger(1003, k, t0, k >= 6 * s && k < 6 * s + 6 ? 95 : undefined);
        sent.push(message);
        await feed.send(triggerFrames(message));
      }
    };
    const written = () => metrics.value('makai_store_written_total', { collection: 'measurements' });
    const accepted = () => activity.filter((a) => a.kind === 'request' && a.outcome === 'accepted').map((a) => (a as { eventId: number }).eventId);
    const answerRead = async (eventId: number) => {
      const read = await within(box.waitFor((r) => r.type === 'READ' && r.sequenceNumber === eventId), WAIT_MS, `READ ${eventId}`);
      await box.answer(read, sampleData(1003, 2));
      await waitUntil(() => activity.some((a) => a.kind === 'reply' && a.outcome === 'stored' && a.eventId === eventId), `reply ${eventId} stored`, {
        timeoutMs: WAIT_MS,
      });
    };

    await sagAt(2);
    await waitUntil(() => accepted().length === 1, 'first event', { timeoutMs: WAIT_MS });
    await answerRead(accepted()[0]!);
    await waitUntil(async () => (await written()) === sent.length, 'measurements written before the kill');

    await ferret.kill('SIGKILL');
    // While the store is gone: traffic with a sag; the request goes out and waits in the broker's retries.
    const sentBefore = sent.length;
    await sagAt(7);
    await waitUntil(
      async () =>
        (await metrics.value('makai_store_queue_depth', { collection: 'measurements' })) === sent.length - sentBefore &&
        (await metrics.value('makai_zmq_messages_sent_total')) === 2,
      'decoding and the second request while the store is down',
      { timeoutMs: WAIT_MS },
    );
    assert.equal(accepted().length, 1, 'no event can be numbered while the store is down');

    await ferret.restart();
    await waitUntil(() => accepted().length === 2, 'the second event numbered once the store is back', { timeoutMs: WAIT_MS });
    await answerRead(accepted()[1]!);
    await sagAt(12);
    await waitUntil(() => accepted().length === 3, 'third event', { timeoutMs: WAIT_MS });
    await answerRead(accepted()[2]!);
    await waitUntil(async () => (await written()) === sent.length, 'every measurement written', { timeoutMs: WAIT_MS });
    assert.equal(await service.stop(), true);

    const ids = accepted();
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'event ids increase');
    assert.equal(new Set(ids).size, ids.length, 'event ids are unique');
    const events = (await brokerStore.listEvents()).reverse();
    assert.deepEqual(events.map((e) => e.event_id), ids);
    assert.deepEqual(events.map((e) => e.boxes_received), [['1003'], ['1003'], ['1003']]);
    for (const id of ids) {
      assert.deepEqual(Buffer.from((await brokerStore.getWaveform(`event_${id}_1003`))!), expectedWaveform(sampleData(1003, 2)));
    }
    const stored = await brokerStore.queryMeasurements({});
    assert.deepEqual(
      stored.map((m) => m.timestamp_ms),
      sent.map((m) => m.time),
      'every measurement stored exactly once, none lost across the kill',
    );
    const trends = await brokerStore.queryTrends({});
    assert.deepEqual(trends.map((t) => (t.window_start_ms - t0) / 1000), Array.from({ length: 15 }, (_, s) => s));
    assert.ok(trends.every((t) => t.count === 6));
    assert.deepEqual(logger.records.filter((r) => r.level === 'error'), [], 'no errors in the triggering service');
  });
});
