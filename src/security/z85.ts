import { DecodeError } from '../core/errors.js';

/**
 * Z85 (ZeroMQ RFC 32): 4 bytes, read as one big-endian uint32, become 5 characters of an
 * 85-symbol alphabet. CURVE keys are 32 bytes, so their text form is 40 characters.
 *
 * The alphabet has no quote, space, backslash or comma, which is why keys can sit inside
 * `"..."` in certificate files and on command lines unescaped.
 */
export const Z85_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Length of a CURVE key (32 bytes) in Z85 text. */
export const Z85_KEY_LENGTH = 40;

/** Character code → digit value, -1 for characters outside the alphabet. */
const DIGIT: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < Z85_ALPHABET.length; i++) table[Z85_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/**
 * Encodes bytes as Z85 text.
 *
 * @param bytes - a multiple of 4 bytes (RFC 32 has no padding)
 * @returns 5 characters per 4 bytes
 * @throws DecodeError (`invalid-value`) when the length is not a multiple of 4
 */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) {
    throw new DecodeError('invalid-value', 'Z85', `cannot encode ${bytes.length} bytes: length must be a multiple of 4`);
  }
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    // `>>> 0` keeps the group unsigned; bitwise ops would make it a signed int32.
    let value = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
    const group = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      group[j] = Z85_ALPHABET[value % 85]!;
      value = Math.floor(value / 85);
    }
    out += group.join('');
  }
  return out;
}

/**
 * Why `text` is not valid Z85, or `undefined` when it is: a length that is not a multiple of 5,
 * a character outside the alphabet, or a 5-character group above 2^32 - 1.
 */
export function z85Problem(text: string): string | undefined {
  if (text.length % 5 !== 0) return `bad length: ${text.length} characters is not a multiple of 5`;
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = i; j < i + 5; j++) {
      const code = text.charCodeAt(j);
      const digit = code < 128 ? DIGIT[code]! : -1;
      if (digit < 0) return `bad character ${JSON.stringify(text[j])} at position ${j + 1}`;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return `bad value: group "${text.slice(i, i + 5)}" at position ${i + 1} exceeds 32 bits`;
  }
  return undefined;
}

/**
 * Why `text` is not a Z85 CURVE key (40 characters of the Z85 alphabet), or `undefined`.
 * The description never contains the key itself, so it is safe to log for secret keys too
 * (it may name the one offending character).
 */
export function z85KeyProblem(text: string): string | undefined {
  if (text.length !== Z85_KEY_LENGTH) return `bad length: ${text.length} characters, expected ${Z85_KEY_LENGTH}`;
  return z85Problem(text);
}

/** True when `text` is a well-formed 40-character Z85 CURVE key. */
export function isZ85Key(text: string): boolean {
  return z85KeyProblem(text) === undefined;
}

/**
 * Decodes Z85 text to bytes.
 *
 * @throws DecodeError (`invalid-value`) naming what is wrong (see {@link z85Problem})
 */
export function z85Decode(text: string): Uint8Array {
  const problem = z85Problem(text);
  if (problem !== undefined) throw new DecodeError('invalid-value', 'Z85', problem);
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = i; j < i + 5; j++) value = value * 85 + DIGIT[text.charCodeAt(j)]!;
    out[o] = value >>> 24;
    out[o + 1] = (value >>> 16) & 0xff;
    out[o + 2] = (value >>> 8) & 0xff;
    out[o + 3] = value & 0xff;
  }
  return out;
}
