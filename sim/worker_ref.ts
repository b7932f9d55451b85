// SPDX-License-Identifier: GPL-2.0-only
/**
 * Keeping an idle web Worker from holding the process open. The simulator's
 * host threads (vCPU workers, the page-zeroing thread) are web Workers: a
 * `node:worker_threads` Worker starts Deno's Node layer first, which cost
 * 39 ms and 12.6 MB per worker against 16 ms and 8.2 MB on the CI machine.
 * Deno gives web Workers no public `unref()`, but its Node workers are built
 * on them and unref them through a method on `Worker.prototype` keyed by a
 * symbol without a description: this module finds that method once.
 *
 * @module
 */

type worker_ref_hook = (this: Worker, ref: boolean) => void;

const WORKER_REF: symbol | undefined = Object.getOwnPropertySymbols(Worker.prototype)
  .find((s) =>
    s.description === undefined &&
    typeof (Worker.prototype as unknown as Record<symbol, unknown>)[s] === "function"
  );

/**
 * Whether idle workers can be unref'd in this Deno. Where they cannot, the
 * simulator keeps none idle (no vCPU worker pool, no zeroing thread).
 */
export function worker_ref_supported(): boolean {
  return WORKER_REF !== undefined;
}

/**
 * Makes `worker` keep the process alive (`ref`), or not. A no-op where
 * {@linkcode worker_ref_supported} is false.
 *
 * @param worker a web Worker
 * @param ref whether it holds the process open
 */
export function worker_ref(worker: Worker, ref: boolean): void {
  if (WORKER_REF === undefined) return;
  (worker as unknown as Record<symbol, worker_ref_hook>)[WORKER_REF]!.call(worker, ref);
}
