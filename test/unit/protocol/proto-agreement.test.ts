/**
 * proto/opq.proto is the source of truth: this test parses it with protobufjs and checks that our
 * codec's field tables agree with it, and that protobufjs's reflection codec (generated from the
 * .proto, independent of ours) reads our bytes as we do and writes the very same bytes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { REQUEST_TYPE, TRIGGER_TYPE } from '../../../src/protocol/messages.js';
import { CODECS } from './codecs.js';

const source = readFileSync(new URL('../../../proto/opq.proto', import.meta.url), 'utf8');
/** Field names exactly as written in the file. */
const asWritten = protobuf.parse(source, { keepCase: true }).root.resolveAll();
/** protobufjs's usual camelCase names, which match our TypeScript message fields. */
const camel = protobuf.parse(source).root.resolveAll();

/** The wire type protobufjs would use for a field (scalars from its table; enums varint; messages LEN). */
function wireTypeOf(field: protobuf.Field): number {
  const basic = (protobuf.types.basic as Record<string, number | undefined>)[field.type];
  if (basic !== undefined) return basic;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  return 2;
}

/** Our decoded value in the shape protobufjs's `toObject` gives (typed arrays as arrays). */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as Int32Array);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, arrays: true };

describe('proto/opq.proto agreement', () => {
  it('should be proto2 in package opq.proto with exactly the five messages we encode', () => {
    assert.match(source, /^syntax = "proto2";$/m);
    const pkg = asWritten.lookup('opq.proto');
    assert.ok(pkg instanceof protobuf.Namespace);
    assert.deepStrictEqual(
      pkg.nestedArray.map((n) => n.name).sort(),
      CODECS.map((c) => c.name).sort(),
    );
  });

  for (const { name, fields } of CODECS) {
    it(`should give ${name} the same field numbers, types, labels and wire types as our codec`, () => {
      const type = asWritten.lookupType(`opq.proto.${name}`);
      assert.deepStrictEqual(type.fieldsArray.map((f) => f.name).sort(), Object.keys(fields).sort());
      for (const field of type.fieldsArray) {
        const ours = fields[field.name]!;
        const rule = field.required ? 'required' : field.repeated ? 'repeated' : 'optional';
        assert.deepStrictEqual(
          { number: ours.number, type: ours.type, rule: ours.rule, wire: ours.wire },
          { number: field.id, type: field.type, rule, wire: wireTypeOf(field) },
          `${name}.${field.name}`,
        );
        // proto2 repeated scalars are unpacked unless the file says otherwise; we write them unpacked.
        if (field.repeated) assert.equal(field.packed, false, `${name}.${field.name} must stay unpacked`);
      }
    });
  }

  it('should give the enums the numbers of the spec, as our codec uses them', () => {
    const requestType = { ...asWritten.lookupEnum('opq.proto.RequestDataMessage.RequestType').values };
    const triggerType = { ...asWritten.lookupEnum('opq.proto.RequestEventMessage.TriggerType').values };
    assert.deepStrictEqual(requestType, { PING: 1, PONG: 2, READ: 3, RESP: 4, ERROR: 5 });
    assert.deepStrictEqual(triggerType, { FREQUENCY_SAG: 1, FREQUENCY_SWELL: 2, VOLTAGE_SAG: 3, VOLTAGE_SWELL: 4, OTHER: 5 });
    assert.deepStrictEqual(requestType, { ...REQUEST_TYPE });
    assert.deepStrictEqual(triggerType, { ...TRIGGER_TYPE });
  });

  for (const { name, encode, decode, arbitrary } of CODECS) {
    it(`should read and write ${name} exactly as protobufjs's reflection codec does`, () => {
      const type = camel.lookupType(`opq.proto.${name}`);
      fc.assert(
        fc.property(arbitrary, (message) => {
          const ours = encode(message);
          const expected = plain(decode(ours));
          // protobufjs decodes our bytes to the same values...
          assert.deepStrictEqual(type.toObject(type.decode(ours), TO_OBJECT), expected);
          // ...and writes the same bytes for them (field order, unpacked samples, 10-byte negatives).
          const theirs = type.encode(type.fromObject(expected as Record<string, unknown>)).finish();
          assert.deepStrictEqual(Array.from(theirs), Array.from(ours));
        }),
        { numRuns: 100 },
      );
    });
  }
});
