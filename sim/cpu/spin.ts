// SPDX-License-Identifier: GPL-2.0-only
/**
 * Adaptive spinning for the VM entry/exit handoff between the host thread
 * and a vCPU worker, as the kernel's adaptive mutexes spin only while the
 * owner is running.
 *
 * Each side polls the run-state word for a while before it sleeps in
 * `Atomics.wait` (a futex): on an idle machine the other side answers within
 * a microsecond or two, and a futex sleep and wake costs tens. But a spinner
 * holds a CPU, and when there are more runnable threads than CPUs (two
 * simulated programs on a 2-CPU host is already four), the thread it waits
 * for may be the one it keeps off the CPU: a fixed 20,000-poll spin made two
 * `coalesced_io_test` runs side by side take 23.6 s instead of 1.1 s each
 * (adaptive: 1.9 s for the pair, 1.3 s alone).
 *
 * So the budget adapts, per waiter: an answer that came while spinning
 * doubles the next budget, a spin that ran out halves it. Alone, answers
 * come while spinning and the budget stays near {@linkcode SPIN_MAX}; under
 * contention spins run out, the budget drops toward {@linkcode SPIN_MIN} and
 * the waiter soon sleeps, giving its CPU to the thread it waits for.
 *
 * A budget at the bottom rarely succeeds (a round trip takes more polls
 * than {@linkcode SPIN_MIN}), so it could not climb back by itself once one
 * slow answer (a worker attaching, a host freeing a VM) drove it down: every
 * {@linkcode SPIN_PROBE_EVERY}th spin is a probe of the full
 * {@linkcode SPIN_MAX}, which restores the budget when answers come fast
 * again and costs contention one long spin in that many. Without it the
 * exit round trip of `vmx_bench.ts` was 94 µs (every wait a futex sleep)
 * after the VM set-up had driven the budget down; with it 4.7 µs. Probing
 * every 64th spin, the two `coalesced_io_test` side by side take 2.0 s
 * (every 16th: 3.0 s).
 *
 * @module
 */

/** Polls a waiter always allows itself. */
export const SPIN_MIN = 64;
/** Polls a waiter never exceeds (about 20 µs). */
export const SPIN_MAX = 16384;
/** One spin in this many is a full-length probe. */
export const SPIN_PROBE_EVERY = 64;

/** One waiter's spin budget. */
export class spin_budget {
  #budget = SPIN_MAX;
  #since_probe = 0;

  /** The polls the next spin may take (a probe takes {@linkcode SPIN_MAX}). */
  get budget(): number {
    return this.#budget;
  }

  /**
   * Polls `ctl[index]` while it holds `value`, within the budget.
   *
   * @returns true when it changed while spinning; false when the spin ran
   *   out (the caller sleeps)
   */
  spin(ctl: Int32Array, index: number, value: number): boolean {
    const probe = ++this.#since_probe >= SPIN_PROBE_EVERY;
    if (probe) this.#since_probe = 0;
    const n = probe ? SPIN_MAX : this.#budget;
    for (let i = 0; i < n; i++) {
      if (Atomics.load(ctl, index) !== value) {
        // Twice the budget, and at least twice the polls this answer took.
        this.#budget = Math.min(SPIN_MAX, Math.max(2 * this.#budget, 2 * (i + 1)));
        return true;
      }
    }
    this.#budget = Math.max(SPIN_MIN, this.#budget >> 1);
    return false;
  }
}
