// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated host's TSC: wall-clock time (epoch milliseconds, the same in
 * every thread) times a frequency in kHz. The CPU's RDTSC and KVM's TSC
 * arithmetic both read it here, so that the guest and the kernel agree on
 * every value.
 *
 * The reading is split into 32-bit words and built without bigints: a guest
 * delay loop reads the TSC millions of times, and every bigint it allocated
 * brought the next young-generation collection closer. A collection pauses
 * the vCPU's thread for up to a few milliseconds while the host clock runs
 * on, which a timing test such as `apic_bus_clock_test` sees as a stretched
 * instruction.
 *
 * @module
 */

const TWO32 = 4294967296;
/** Keep `elapsed_ms * khz` exact in a double (below 2^52). */
const REBASE_TICKS = 2 ** 52;

/** The last reading of {@linkcode host_tsc_read}: `hi * 2^32 + lo`; `hi` is not wrapped. */
export const host_tsc: { hi: number; lo: number } = { hi: 0, lo: 0 };

// `epoch_ms * khz` as words: the whole milliseconds before this thread's time
// origin are multiplied exactly once, so that each reading multiplies only the
// milliseconds since then (exact in a double) instead of the whole epoch
// time (1.7e18 ticks at 1 GHz, beyond a double's 2^53).
let epoch_ms = -1;
let epoch_khz = -1;
let base_hi = 0;
let base_lo = 0;

function rebase(khz: number, ms: number): void {
  epoch_ms = Math.floor(ms);
  epoch_khz = khz;
  const base = BigInt(epoch_ms) * BigInt(khz);
  base_hi = Number(base >> 32n);
  base_lo = Number(base & 0xffffffffn);
}

/**
 * Reads the host TSC at `khz` into {@linkcode host_tsc}:
 * `floor(epoch_ms * khz)`, with no allocation.
 */
export function host_tsc_read(khz: number): void {
  if (khz !== epoch_khz || epoch_ms < 0) rebase(khz, performance.timeOrigin);
  let since = performance.timeOrigin - epoch_ms + performance.now();
  if (since * khz >= REBASE_TICKS) {
    rebase(khz, epoch_ms + since);
    since = performance.timeOrigin - epoch_ms + performance.now();
  }
  const r = Math.floor(since * khz);
  const r_hi = Math.floor(r / TWO32);
  let lo = base_lo + (r - r_hi * TWO32);
  let hi = base_hi + r_hi;
  if (lo >= TWO32) {
    lo -= TWO32;
    hi++;
  }
  host_tsc.hi = hi;
  host_tsc.lo = lo;
}

/** The host TSC at `khz` as a bigint (not wrapped to 64 bits). */
export function host_tsc_bigint(khz: number): bigint {
  host_tsc_read(khz);
  return (BigInt(host_tsc.hi) << 32n) | BigInt(host_tsc.lo);
}
