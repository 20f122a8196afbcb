import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import * as zmq from 'zeromq';
import { DecodeError } from '../../../src/core/errors.js';
import { isZ85Key, z85Decode, z85Encode, z85KeyProblem, z85Problem, Z85_ALPHABET } from '../../../src/security/z85.js';

describe('z85', () => {
  it('should match the test vector of ZeroMQ RFC 32', () => {
    const bytes = new Uint8Array([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    assert.equal(z85Encode(bytes), 'HelloWorld');
    assert.deepEqual(z85Decode('HelloWorld'), bytes);
  });

  it('should use the 85-character alphabet of RFC 32', () => {
    assert.equal(Z85_ALPHABET.length, 85);
    assert.equal(new Set(Z85_ALPHABET).size, 85);
    assert.equal(z85Encode(new Uint8Array([0, 0, 0, 0])), '00000');
    assert.equal(z85Encode(new Uint8Array([0xff, 0xff, 0xff, 0xff])), '%nSc0');
  });

  it('should round-trip any byte string whose length is a multiple of 4', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const bytes = raw.subarray(0, raw.length - (raw.length % 4));
        const text = z85Encode(bytes);
        assert.equal(text.length, (bytes.length / 4) * 5);
        assert.deepEqual(z85Decode(text), bytes);
      }),
    );
  });

  it('should agree with libzmq on generated CURVE keys', () => {
    const { publicKey, secretKey } = zmq.curveKeyPair();
    for (const key of [publicKey, secretKey]) {
      assert.ok(isZ85Key(key));
      const raw = z85Decode(key);
      assert.equal(raw.length, 32);
      assert.equal(z85Encode(raw), key);
    }
  });

  it('should refuse lengths that are not a multiple of the group size', () => {
    assert.throws(() => z85Encode(new Uint8Array(3)), DecodeError);
    assert.throws(() => z85Decode('Hello1'), (e: unknown) => e instanceof DecodeError && /bad length/.test(e.message));
  });

  it('should name a character outside the alphabet and where it is', () => {
    assert.match(z85Problem('Hello Wor~d') ?? '', /bad length/);
    assert.equal(z85Problem('HelloWor~d'), 'bad character "~" at position 9');
    assert.match(z85Problem('Hello"orld') ?? '', /bad character "\\"" at position 6/);
  });

  it('should refuse a group above 32 bits', () => {
    assert.match(z85Problem('#####') ?? '', /exceeds 32 bits/);
    assert.throws(() => z85Decode('#####'), DecodeError);
  });

  it('should check CURVE keys for 40 characters', () => {
    const { publicKey } = zmq.curveKeyPair();
    assert.equal(z85KeyProblem(publicKey), undefined);
    assert.equal(z85KeyProblem(publicKey.slice(0, 39)), 'bad length: 39 characters, expected 40');
    assert.match(z85KeyProblem(publicKey.slice(0, 39) + ' ') ?? '', /bad character " " at position 40/);
    assert.equal(isZ85Key(''), false);
  });
});
