// SPDX-License-Identifier: GPL-2.0-only
/**
 * SHA-256 (FIPS 180-4), synchronous and dependency-free, named after the
 * kernel's `include/crypto/sha2.h` `sha256()`.
 *
 * Why not `node:crypto`: the guest code digest (`include/guest_code.ts`) is
 * computed in every vCPU worker, and loading Deno's `node:crypto` costs a
 * worker about 16 ms (its cipher tables are built at load time), more than
 * the rest of the CPU's modules together. The inputs are function sources of
 * a few KiB, where this runs in microseconds. Bulk hashing (the TDX module's
 * SHA-384 measurements) stays on `node:crypto`, which is several times
 * faster per byte.
 *
 * @module
 */

/** Bytes in a SHA-256 digest. */
export const SHA256_DIGEST_SIZE = 32;
/** Bytes in a SHA-256 block. */
export const SHA256_BLOCK_SIZE = 64;

// The first 32 bits of the fractional parts of the cube roots of the first
// 64 primes (FIPS 180-4, 4.2.2), computed rather than tabulated.
const K = new Int32Array(64);
// The first 32 bits of the fractional parts of the square roots of the
// first 8 primes (FIPS 180-4, 5.3.3).
const H0 = new Int32Array(8);
{
  const primes: number[] = [];
  for (let n = 2; primes.length < 64; n++) {
    if (primes.every((p) => n % p !== 0)) primes.push(n);
  }
  const frac32 = (x: number) => ((x - Math.floor(x)) * 2 ** 32) | 0;
  for (let i = 0; i < 64; i++) K[i] = frac32(Math.cbrt(primes[i]!));
  for (let i = 0; i < 8; i++) H0[i] = frac32(Math.sqrt(primes[i]!));
}

const W = new Int32Array(64);

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

/** Folds the 64-byte block at `p` of `buf` into the state `h`. */
function compress(h: Int32Array, buf: Uint8Array, p: number): void {
  for (let t = 0; t < 16; t++, p += 4) {
    W[t] = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!, w2 = W[t - 2]!;
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!;
  let e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
  for (let t = 0; t < 64; t++) {
    const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = (k + S1 + ch + K[t]! + W[t]!) | 0;
    const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + k) | 0;
}

/** The SHA-256 digest of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const h = H0.slice();
  const whole = data.length - (data.length % SHA256_BLOCK_SIZE);
  for (let p = 0; p < whole; p += SHA256_BLOCK_SIZE) compress(h, data, p);
  // The tail, a 1 bit, zeroes, and the message length in bits (big-endian
  // 64-bit) fill one or two last blocks.
  const rest = data.length - whole;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(whole));
  tail[rest] = 0x80;
  const bits = data.length * 8;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
  view.setUint32(tail.length - 4, bits >>> 0);
  for (let p = 0; p < tail.length; p += SHA256_BLOCK_SIZE) compress(h, tail, p);
  const out = new Uint8Array(SHA256_DIGEST_SIZE);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setInt32(i * 4, h[i]!);
  return out;
}
