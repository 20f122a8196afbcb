/**
 * Seeded randomness for the simulator. Nothing in `src/simulator/**` calls `Math.random`: every
 * number comes from a seed, so the same seed replays the same fleet, bit for bit.
 *
 * Two kinds are offered:
 * - {@link SeededRandom}, a sequential generator (xoshiro128**), for streams of numbers such as
 *   the sample noise of one window;
 * - {@link hash32} / {@link uniformAt} / {@link normalAt}, stateless "noise at a key" functions, so
 *   a value (the voltage noise of the window that starts at time t) can be recomputed later
 *   without storing it. That is what lets a box regenerate a waveform for a READ from a few
 *   bytes of state.
 */

const TWO_POW_32 = 4_294_967_296;

/** The murmur3 32-bit finaliser: a cheap, well-mixing bijection on uint32. */
function fmix32(value: number): number {
  let x = value >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85eb_ca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2_ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Folds any finite number (a seed, a box id, a ms timestamp beyond 2^32) into a running hash. */
function fold(hash: number, key: number): number {
  // Keys may exceed 32 bits (epoch ms): fold the low and the high word separately.
  const low = key >>> 0;
  const high = Math.floor(key / TWO_POW_32) >>> 0;
  const h = fmix32((hash ^ low) + 0x9e37_79b9);
  return fmix32((h ^ high) + 0x7f4a_7c15);
}

/**
 * A uint32 hash of a seed and up to two integer keys. Equal inputs give equal outputs; any
 * change of one input changes the output unpredictably.
 *
 * @param seed Any finite number; non-integers are truncated.
 * @param a First key (e.g. a box id or a stream label).
 * @param b Second key (e.g. a ms timestamp).
 */
export function hash32(seed: number, a = 0, b = 0): number {
  return fold(streamPrefix(seed, a), Math.trunc(b));
}

/** A uniform number in the open interval (0, 1) determined by seed and keys. */
export function uniformAt(seed: number, a = 0, b = 0): number {
  return (hash32(seed, a, b) + 0.5) / TWO_POW_32;
}

/** A standard normal number (mean 0, sd 1) determined by seed and keys (Box–Muller). */
export function normalAt(seed: number, a = 0, b = 0): number {
  return normalFromHash(hash32(seed, a, b));
}

/**
 * Keyed noise with the seed and stream label hashed once: the hot-path form of
 * {@link uniformAt} / {@link normalAt} (`new NoiseStream(s, a).normal(b) === normalAt(s, a, b)`).
 */
export class NoiseStream {
  private readonly prefix: number;

  constructor(seed: number, stream: number) {
    this.prefix = streamPrefix(seed, stream);
  }

  /** Uniform in (0, 1) for `key`. */
  uniform(key: number): number {
    return (fold(this.prefix, Math.trunc(key)) + 0.5) / TWO_POW_32;
  }

  /** Standard normal for `key`. */
  normal(key: number): number {
    return normalFromHash(fold(this.prefix, Math.trunc(key)));
  }
}

function streamPrefix(seed: number, a: number): number {
  return fold(fmix32(Math.trunc(seed) ^ 0x2545_f491), Math.trunc(a));
}

/** Box–Muller from one hash: the hash gives u1, its re-mix gives u2. */
function normalFromHash(hash: number): number {
  const u1 = (hash + 0.5) / TWO_POW_32;
  const u2 = fmix32(hash + 0x6a09_e667) / TWO_POW_32;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32).
 *
 * ```ts
 * const random = new SeededRandom(42);
 * random.next();   // 0 ≤ x < 1, the same sequence for seed 42 every time
 * random.normal(); // standard normal
 * ```
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** The second value of the last Box–Muller pair, served by the next {@link normal} call. */
  private spare: number | undefined;

  /** @param seed Any finite number; the same seed always gives the same sequence. */
  constructor(seed: number) {
    let state = hash32(seed);
    const splitmix = (): number => {
      state = (state + 0x9e37_79b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x21f0_aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a_2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
    // xoshiro must not start from the all-zero state.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** The next number in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** The next integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  /** The next normal number with the given mean and standard deviation (Box–Muller). */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return mean + sd * value;
    }
    const u1 = (this.nextUint32() + 0.5) / TWO_POW_32;
    const u2 = this.next();
    const radius = Math.sqrt(-2 * Math.log(u1));
    this.spare = radius * Math.sin(2 * Math.PI * u2);
    return mean + sd * radius * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
