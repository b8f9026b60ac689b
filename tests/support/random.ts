/**
 * Seeded randomness for tests: mulberry32, a small fast PRNG, so a test's
 * loss pattern or fuzz input is the same on every run; and unseeded bulk
 * bytes (crypto.getRandomValues) for transfers whose digest is compared.
 */

/** mulberry32: a small, fast, seeded PRNG; `next()` is uniform in [0, 1). */
export class Prng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.below(256);
    return out;
  }
}

/** The same mulberry32 sequence as {@link Prng}, as a function returning floats in [0, 1). */
export function prng(seed: number): () => number {
  const random = new Prng(seed);
  return () => random.next();
}

/** `n` bytes from `random` (a function from {@link prng}). */
export function randomBytes(random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** `n` unseeded random bytes (crypto.getRandomValues, 64 KiB at a time). */
export function cryptoRandomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}
