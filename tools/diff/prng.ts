// SPDX-License-Identifier: GPL-2.0-only
/**
 * A small deterministic PRNG (sfc32 seeded through splitmix32), so that a
 * seed printed by one run regenerates the same sequences on any machine and
 * any JavaScript engine: `Math.random` cannot be seeded.
 *
 * @module
 */

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seeded random source; `fork`ed streams are independent of how much the parent drew. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** A stream for `(seed, stream)`: sequence `i` of a run is stream `i` of the run's seed. */
  constructor(seed: number, stream = 0) {
    this.#a = splitmix32(seed >>> 0);
    this.#b = splitmix32(this.#a ^ Math.imul(stream + 1, 0x27d4eb2f));
    this.#c = splitmix32(this.#b);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    // sfc32 (Chris Doty-Humphrey's Small Fast Counting generator).
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer in `[0, n)`. */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** A uniform integer in `[lo, hi]`. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** A uniform element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new RangeError("pick from an empty list");
    return xs[this.below(xs.length)]!;
  }

  /** An element chosen with the given weights (`[weight, value]` pairs, weights ≥ 0). */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    const total = xs.reduce((s, [w]) => s + w, 0);
    let x = (this.u32() / 0x1_0000_0000) * total;
    for (const [w, v] of xs) {
      if (x < w) return v;
      x -= w;
    }
    return xs[xs.length - 1]![1];
  }

  /** A uniform 64-bit unsigned integer. */
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}
