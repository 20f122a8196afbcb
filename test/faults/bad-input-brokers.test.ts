import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as zmq from 'zeromq';
import type { AcquisitionActivity } from '../../src/brokers/acquisition-broker.js';
import type { DecodeFailure } from '../../src/core/errors.js';
import { encodeRequestDataMessage, encodeRequestEventMessage, encodeTriggerMessage } from '../../src/protocol/codec.js';
import { encodeDataMessage } from '../../src/protocol/data-message-codec.js';
import type { DataMessage, RequestDataMessage } from '../../src/protocol/messages.js';
import {
  Requester,
  ScriptedBox,
  createAcquisitionFixture,
  expectedWaveform,
  sampleData,
  startBroker,
  type RunningBroker,
} from '../helpers/acquisition-harness.js';
import { eventRequest } from '../helpers/messages.js';
import { garbage } from '../helpers/fault-harness.js';
import { curveClientOptions, within } from '../helpers/zmq.js';

// Bad input on the acquisition broker's two inbound sockets, `backend_pull` (event requests from
// the triggering service, Mauka, Health) and `box_pull` (box replies and PONGs), interleaved with
// valid traffic on the same connections. Extends test/integration/broker-fuzz.test.ts (random
// bytes, 100-frame messages, raw TCP) with: frames over the configured maximum, valid protobuf
// of the wrong message type, out-of-range values, box id disagreements, wrong frame counts,
// replies to unknown events; each kind refused with its own reason, counted by the broker's
// outcome counter and by `makai_rejected_total{source,reason}`, logged at a bounded rate.

const WAIT_MS = 10_000;
/** A box's DataMessage frame is 10–20 KiB (negative int32 samples are 10-byte varints). */
const MAX_FRAME_BYTES = 64 * 1024;
const REPEATS = 12;
/** The dead-letter log's limit per source and reason per minute (its default). */
const LOG_LINES_PER_REASON = 10;
const VALID_EVENTS = 4;

/** One kind of garbage: the frames, the broker's outcome label and the dead-letter reason (if it is a dead letter). */
interface Garbage {
  readonly name: string;
  readonly outcome: string;
  readonly reason: DecodeFailure | undefined;
  frames(i: number): Uint8Array[];
}

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

function requestGarbage(): Garbage[] {
  const valid = encodeRequestEventMessage(eventRequest());
  return [
    { name: 'random bytes', outcome: 'malformed', reason: 'wrong-wire-type', frames: () => [garbage(1, 40)] },
    { name: 'other random bytes', outcome: 'malformed', reason: 'truncated', frames: () => [garbage(3, 40)] },
    { name: 'truncated request', outcome: 'malformed', reason: 'truncated', frames: () => [valid.subarray(0, valid.length - 3)] },
    { name: 'empty frame', outcome: 'malformed', reason: 'missing-field', frames: () => [new Uint8Array()] },
    { name: 'garbage then 20 frames', outcome: 'malformed', reason: 'wrong-wire-type', frames: (i) => [garbage(1, 40), ...Array.from({ length: 20 }, (_, j) => garbage(i * 20 + j, 8))] },
    { name: 'oversized frame', outcome: 'frame-too-large', reason: 'frame-too-large', frames: (i) => [garbage(50 + i, MAX_FRAME_BYTES + 100)] },
    {
      name: 'a TriggerMessage',
      outcome: 'malformed',
      reason: 'wrong-wire-type',
      frames: (i) => [encodeTriggerMessage({ id: 1, time: 1_700_000_000_000 + i, frequency: 60, rms: 120 })],
    },
    { name: 'a RequestDataMessage', outcome: 'malformed', reason: 'missing-field', frames: (i) => [encodeRequestDataMessage({ type: 'PING', sequenceNumber: i })] },
    {
      name: 'start timestamp beyond 2^53',
      outcome: 'malformed',
      reason: 'invalid-value',
      frames: () => [new Uint8Array([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, ...valid.subarray(valid.indexOf(0x10))])],
    },
    {
      name: 'end before start',
      outcome: 'end-before-start',
      reason: 'invalid-value',
      frames: (i) => [encodeRequestEventMessage(eventRequest({ startTimestampMsUtc: 1_700_000_005_000 + i, endTimestampMsUtc: 1_700_000_001_000 }))],
    },
    {
      name: 'a window of a day',
      outcome: 'window-too-long',
      reason: 'out-of-range',
      frames: (i) => [encodeRequestEventMessage(eventRequest({ endTimestampMsUtc: 1_700_000_000_000 + 86_400_000 + i }))],
    },
  ];
}

function replyGarbage(eventId: () => number, firstEvent: () => number): Garbage[] {
  const header = (fields: Partial<RequestDataMessage> = {}) =>
    encodeRequestDataMessage({ type: 'RESP', sequenceNumber: eventId(), boxId: 1003, time: 1_700_000_010_000, ...fields });
  const data = (boxId: number, sample = 0): Uint8Array =>
    encodeDataMessage({ id: boxId, cycles: [{ time: 1_700_000_000_500, data: Int32Array.from({ length: 200 }, (_, i) => (i === 7 ? sample : i)) }] });
  return [
    { name: 'random bytes', outcome: 'malformed', reason: 'wrong-wire-type', frames: () => [garbage(1, 40)] },
    { name: 'truncated header', outcome: 'malformed', reason: 'truncated', frames: () => [header().subarray(0, 3)] },
    { name: 'RESP without data frames', outcome: 'empty-reply', reason: 'frame-count', frames: () => [header()] },
    { name: 'RESP with a garbage data frame', outcome: 'malformed', reason: 'wrong-wire-type', frames: () => [header(), data(1003), garbage(1, 40)] },
    { name: 'oversized data frame', outcome: 'frame-too-large', reason: 'frame-too-large', frames: (i) => [header(), garbage(60 + i, MAX_FRAME_BYTES + 1)] },
    { name: 'a RequestEventMessage as header', outcome: 'malformed', reason: 'invalid-value', frames: () => [encodeRequestEventMessage(eventRequest())] },
    { name: 'a READ from a box', outcome: 'unexpected-type', reason: 'invalid-value', frames: (i) => [encodeRequestDataMessage({ type: 'READ', sequenceNumber: i })] },
    { name: 'header box id is not the data box id', outcome: 'box-id-mismatch', reason: 'box-id-mismatch', frames: () => [header(), data(1003), data(1004)] },
    { name: 'sample outside int16', outcome: 'sample-out-of-range', reason: 'out-of-range', frames: () => [header(), data(1003, 40_000)] },
    { name: 'reply to an event that does not exist', outcome: 'unknown-event', reason: undefined, frames: (i) => [header({ sequenceNumber: 900_000 + i }), data(1003)] },
    // The first event's reply again (it is stored before any reply garbage is sent).
    { name: 'a repeated reply', outcome: 'duplicate', reason: undefined, frames: () => [header({ sequenceNumber: firstEvent() }), data(1003)] },
  ];
}

describe('bad input on the acquisition broker (backend_pull, box_pull)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('should refuse every kind of garbage with its reason, count and rate-limit it, and serve the valid requests and replies', async () => {
    const fixture = await createAcquisitionFixture();
    cleanups.push(() => fixture.remove());
    const running: RunningBroker = await startBroker(fixture, { max_frame_bytes: MAX_FRAME_BYTES });
    cleanups.push(() => running.stop());
    const { endpoints } = running.broker;
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, endpoints, { answerPings: true });
    cleanups.push(() => box.close());
    await within(box.waitFor((r) => r.type === 'PING'), WAIT_MS, 'first PING');
    const requests = new Requester(endpoints.backend_pull);
    cleanups.push(() => requests.close());

    let currentEvent = 0;
    const requestKinds = requestGarbage();
    const replyKinds = replyGarbage(() => currentEvent, () => reads[0]!.sequenceNumber);
    const sentRequests = new Map<string, number>();
    const sentReplies = new Map<string, number>();
    const expectedRejections = new Map<string, number>();
    const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    const reads: RequestDataMessage[] = [];
    const replies: DataMessage[][] = [];
    let nextRequest = 0;
    let nextReply = 0;
    const garbageRequests = requestKinds.length * REPEATS;
    const garbageReplies = replyKinds.length * REPEATS;

    for (let e = 0; e < VALID_EVENTS; e++) {
      // A share of the request garbage, then a valid request on the same connection.
      for (; nextRequest < Math.ceil(((e + 1) * garbageRequests) / VALID_EVENTS); nextRequest++) {
        const kind = requestKinds[nextRequest % requestKinds.length]!;
        await requests.sendRaw(kind.frames(Math.floor(nextRequest / requestKinds.length)));
        count(sentRequests, kind.outcome);
        if (kind.reason) count(expectedRejections, `acquisition-broker.backend_pull/${kind.reason}`);
      }
      // The original ignores frames after the first (spec M2); so does the broker.
      if (e === 1) await requests.sendRaw([encodeRequestEventMessage(eventRequest({ description: `event ${e}` })), garbage(9, 30)]);
      else await requests.send(eventRequest({ description: `event ${e}` }));
      const read = await within(box.waitFor((r) => r.type === 'READ' && !reads.includes(r)), WAIT_MS, `READ ${e}`);
      reads.push(read);
      currentEvent = read.sequenceNumber;

      // From the second event on (so that one reply can be repeated), a share of the reply
      // garbage, then the valid reply on the same connection.
      for (; e > 0 && nextReply < Math.ceil((e * garbageReplies) / (VALID_EVENTS - 1)); nextReply++) {
        const kind = replyKinds[nextReply % replyKinds.length]!;
        await box.sendFrames(kind.frames(Math.floor(nextReply / replyKinds.length)));
        count(sentReplies, kind.outcome);
        if (kind.reason) count(expectedRejections, `acquisition-broker.box_pull/${kind.reason}`);
      }
      const data = sampleData(1003, 2 + e);
      replies.push(data);
      await box.answer(read, data);
      const stored = (a: AcquisitionActivity) => a.kind === 'reply' && a.outcome === 'stored' && a.eventId === read.sequenceNumber;
      await within(running.activity.waitFor(stored), WAIT_MS, `reply ${e} stored`);
    }

    // Valid traffic unaffected: consecutive event numbers, one stored waveform per event, as sent.
    const eventIds = reads.map((r) => r.sequenceNumber);
    assert.deepEqual(eventIds, Array.from({ length: VALID_EVENTS }, (_, i) => eventIds[0]! + i), 'refused requests consume no event number');
    const events = (await running.store.listEvents()).reverse();
    assert.deepEqual(events.map((ev) => ev.event_id), eventIds);
    assert.deepEqual(events.map((ev) => ev.description), Array.from({ length: VALID_EVENTS }, (_, e) => `event ${e}`));
    for (const [e, id] of eventIds.entries()) {
      assert.deepEqual(events[e]!.boxes_received, ['1003']);
      assert.deepEqual(Buffer.from((await running.store.getWaveform(`event_${id}_1003`))!), expectedWaveform(replies[e]!));
    }

    // Every refusal counted, by the broker's own outcome and by the dead-letter reason.
    const outcomes = (kind: 'request' | 'reply') =>
      running.activity.seen.filter((a) => a.kind === kind).reduce((m, a) => count(m, (a as { outcome: string }).outcome), new Map<string, number>());
    assert.deepEqual(outcomes('request'), new Map([...sentRequests, ['accepted', VALID_EVENTS]]));
    assert.deepEqual(outcomes('reply'), new Map([...sentReplies, ['stored', VALID_EVENTS]]));
    for (const [outcome, n] of sentRequests) assert.equal(await running.metrics.value('makai_acquisition_requests_total', { outcome }), n, `requests ${outcome}`);
    for (const [outcome, n] of sentReplies) assert.equal(await running.metrics.value('makai_acquisition_replies_total', { outcome }), n, `replies ${outcome}`);
    for (const [key, n] of expectedRejections) {
      const [source, reason] = key.split('/') as [string, string];
      assert.equal(await running.metrics.value('makai_rejected_total', { source, reason }), n, `makai_rejected_total ${key}`);
    }
    const rejectedTotal = [...expectedRejections.values()].reduce((a, b) => a + b, 0);
    assert.equal(await running.metrics.value('makai_rejected_total'), rejectedTotal, 'nothing else refused');

    // Logged at a bounded rate: at most 10 lines per source and reason per minute, whatever the flood.
    const perMessage = running.logger.records.filter((r) => r.level !== 'debug' && !['refused input', 'event accepted', 'box reply stored'].includes(r.msg));
    const byMessage = perMessage.reduce((m, r) => count(m, r.msg), new Map<string, number>());
    for (const [msg, n] of byMessage) assert.ok(n <= LOG_LINES_PER_REASON, `"${msg}" logged ${n} times`);
    for (const key of expectedRejections.keys()) {
      const [source, reason] = key.split('/');
      const lines = running.logger.records.filter((r) => r.msg === 'refused input' && r['source'] === source && r['reason'] === reason);
      assert.ok(lines.length >= 1 && lines.length <= LOG_LINES_PER_REASON, `${key} logged ${lines.length} times`);
    }
    assert.deepEqual(running.logger.records.filter((r) => r.level === 'error'), [], 'no errors logged');
  });

  it('should drop the connection of a peer sending a frame far over the limit and keep serving the others', async () => {
    const fixture = await createAcquisitionFixture();
    cleanups.push(() => fixture.remove());
    const running = await startBroker(fixture, { max_frame_bytes: MAX_FRAME_BYTES });
    cleanups.push(() => running.stop());
    const { endpoints } = running.broker;
    const box = new ScriptedBox(1003, fixture.boxKeys, fixture.server.publicKey, endpoints, { answerPings: true });
    cleanups.push(() => box.close());
    await within(box.waitFor((r) => r.type === 'PING'), WAIT_MS, 'first PING');

    // Far over the limit: ZeroMQ refuses to read it at all and closes the connection, so a
    // flood of huge frames cannot make the broker buffer them.
    const hugeRequests = new zmq.Push({ linger: 0 });
    const hugeReplies = new zmq.Push({ ...curveClientOptions(fixture.boxKeys, fixture.server.publicKey), zapDomain: 'global' });
    cleanups.push(() => hugeRequests.close(), () => hugeReplies.close());
    hugeRequests.connect(endpoints.backend_pull);
    hugeReplies.connect(endpoints.box_pull);
    const huge = garbage(77, 16 * MAX_FRAME_BYTES);
    await hugeRequests.send(huge);
    await hugeReplies.send([encodeRequestDataMessage({ type: 'RESP', sequenceNumber: 1, boxId: 1003 }), huge]);

    const requests = new Requester(endpoints.backend_pull);
    cleanups.push(() => requests.close());
    await requests.send(eventRequest());
    const read = await within(box.waitFor((r) => r.type === 'READ'), WAIT_MS, 'READ after the huge frames');
    await box.answer(read, sampleData(1003, 2));
    await within(
      running.activity.waitFor((a) => a.kind === 'reply' && a.outcome === 'stored' && a.eventId === read.sequenceNumber),
      WAIT_MS,
      'reply stored',
    );
    assert.deepEqual(running.activity.requests().map((a) => a.outcome), ['accepted'], 'the huge request never reached the broker');
    assert.deepEqual(running.logger.records.filter((r) => r.level === 'error'), []);
  });
});
