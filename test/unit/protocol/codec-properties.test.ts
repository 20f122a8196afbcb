/** Property tests over all five codecs: round trips, and malformed input only ever yields DecodeError. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../../../src/core/errors.js';
import { CODECS } from './codecs.js';
import * as arb from './message-arbitraries.js';

/** Runs `fn`; returns what it decoded, or the DecodeError it threw. Anything else fails the test. */
function attempt<T>(fn: () => T): T | DecodeError {
  try {
    return fn();
  } catch (error) {
    assert.ok(error instanceof DecodeError, `threw ${String(error)} instead of a DecodeError`);
    return error;
  }
}

/**
 * Asserts that `partial` keeps only a prefix of `whole`: the same values for the fields it has,
 * and a prefix of each repeated field. That is what cutting a message at a field boundary gives.
 */
function assertPrefixOf(partial: unknown, whole: unknown, path = ''): void {
  if (ArrayBuffer.isView(partial) || Array.isArray(partial)) {
    const p = Array.from(partial as ArrayLike<unknown>);
    const w = Array.from(whole as ArrayLike<unknown>);
    assert.ok(p.length <= w.length, `${path}: longer than the original`);
    // Every element but the last must be whole; the last may itself be a cut embedded message.
    p.forEach((value, i) => (i < p.length - 1 ? assert.deepStrictEqual(value, w[i]) : assertPrefixOf(value, w[i], `${path}[${i}]`)));
  } else if (typeof partial === 'object' && partial !== null) {
    for (const [key, value] of Object.entries(partial)) assertPrefixOf(value, (whole as Record<string, unknown>)[key], `${path}.${key}`);
  } else {
    // Scalars and strings (length-delimited) are never cut: equal or refused.
    assert.ok(Object.is(partial, whole), `${path}: ${String(partial)} vs ${String(whole)}`);
  }
}

describe('codec properties', () => {
  for (const { name, decode, encode, arbitrary } of CODECS) {
    describe(name, () => {
      it('should decode what it encodes', () => {
        fc.assert(fc.property(arbitrary, (message) => assert.deepStrictEqual(decode(encode(message)), message)));
      });

      it('should only ever throw DecodeError on random bytes', () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void attempt(() => decode(bytes))), { numRuns: 500 });
      });

      it('should only ever throw DecodeError on valid messages with bytes changed', () => {
        const mutated = fc
          .tuple(arbitrary.map(encode), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
          .filter(([bytes]) => bytes.length > 0)
          .map(([bytes, edits]) => {
            const copy = bytes.slice();
            for (const [at, value] of edits) copy[at % copy.length] = value;
            return copy;
          });
        fc.assert(fc.property(mutated, (bytes) => void attempt(() => decode(bytes))), { numRuns: 300 });
      });

      it('should refuse every cut of a message, or decode a prefix of it when cut between fields', () => {
        fc.assert(
          fc.property(arbitrary, (message) => {
            const bytes = encode(message);
            for (let cut = 0; cut < bytes.length; cut++) {
              const result = attempt(() => decode(bytes.subarray(0, cut)));
              if (result instanceof DecodeError) {
                // Cut inside a field, or cut before a required field: nothing else.
                assert.ok(result.reason === 'truncated' || result.reason === 'missing-field', result.message);
              } else {
                assertPrefixOf(result, message);
              }
            }
          }),
          { numRuns: 50 },
        );
      });
    });
  }

  // Where the last field on the wire is required, no cut can be a valid message.
  const requiredOnly = [
    ['TriggerMessage', arb.triggerMessage.map(({ id, time, frequency, rms }) => ({ id, time, frequency, rms }))],
    ['RequestDataMessage', arb.requestDataMessage.map(({ type, sequenceNumber }) => ({ type, sequenceNumber }))],
    ['RequestEventMessage', arb.requestEventMessage],
    ['Cycle', arb.cycle.map(({ time }) => ({ time, data: new Int32Array(0) }))],
  ] as const;
  for (const [name, arbitrary] of requiredOnly) {
    it(`should refuse every truncation of a ${name} that ends in a required field`, () => {
      const codec = CODECS.find((c) => c.name === name)!;
      fc.assert(
        fc.property(arbitrary as fc.Arbitrary<unknown>, (message) => {
          const bytes = codec.encode(message);
          for (let cut = 0; cut < bytes.length; cut++) {
            assert.ok(attempt(() => codec.decode(bytes.subarray(0, cut))) instanceof DecodeError, `cut at ${cut} was accepted`);
          }
        }),
        { numRuns: 50 },
      );
    });
  }
});
