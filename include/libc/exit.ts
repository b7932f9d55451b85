// SPDX-License-Identifier: GPL-2.0-only
/**
 * `exit()` and `_exit()`: the one way SDK code ends the process.
 *
 * Standalone and in a harness child this ends the process with the status,
 * as C does (the harness parent reads it as the child's wait status). Under
 * `deno test` the isolate is shared by all tests and by the test runner, so
 * `exit()` throws {@linkcode ExitError} instead; the kselftest harness turns it
 * into the test's result (0 pass, 4 skip, anything else a failure), and outside
 * the harness it fails the Deno test that called it. A test body must therefore
 * not swallow `ExitError` in a blanket `catch`.
 *
 * @module
 */

import { host_only, in_deno_test, in_harness_server } from "./process.ts";

const EXIT_HINT = "guest code ends with GUEST_DONE() or fails with GUEST_ASSERT()/GUEST_FAIL() " +
  "(ucalls the host turns into the test's result)";

/** What `exit(status)` throws under `deno test` instead of ending the process. */
export class ExitError extends Error {
  /** The exit status, reduced to 0..255 as the kernel reports it. */
  readonly status: number;
  /** Text explaining the exit (the skip reason, the assertion block), if any. */
  readonly reason: string | undefined;

  /**
   * Build the error for `exit(status)`.
   *
   * @param status the exit status
   * @param reason text explaining the exit
   */
  constructor(status: number, reason?: string) {
    super(reason === undefined ? `exit(${status})` : `exit(${status}): ${reason}`);
    this.name = "ExitError";
    this.status = status;
    this.reason = reason;
  }
}

/**
 * C `exit()`: end the process with `status & 0xff`, or throw
 * {@linkcode ExitError} under `deno test`.
 *
 * @param status the exit status
 * @param reason text for the in-process report (not printed): an SDK extension
 * @returns never
 */
export function exit(status: number, reason?: string): never {
  host_only(`exit(${status})`, EXIT_HINT);
  const code = status & 0xff;
  if (in_deno_test() || in_harness_server()) throw new ExitError(code, reason);
  run_atexit_handlers();
  Deno.exit(code);
}

const atexit_handlers: (() => void)[] = [];

/**
 * C `atexit()`: `fn` runs when the process exits. Under `deno test` every
 * in-process test stands for one process, so the harness runs the handlers
 * after each test: that is how what a test leaves open (a VM whose test
 * failed before `kvm_vm_free`, and its vCPU threads) is released, as the
 * kernel releases a dead process's files.
 *
 * @param fn the handler
 * @returns 0, as C's does on success
 */
export function atexit(fn: () => void): number {
  atexit_handlers.push(fn);
  return 0;
}

/**
 * Runs the `atexit` handlers, last registered first, as `exit()` does; a
 * handler that throws does not stop the others. Handlers stay registered
 * for the next in-process test.
 */
export function run_atexit_handlers(): void {
  for (let i = atexit_handlers.length - 1; i >= 0; i--) {
    try {
      atexit_handlers[i]!();
    } catch {
      // Process teardown cannot fail; neither can this.
    }
  }
}

/**
 * C `_exit()`: ends the process without running `atexit` handlers (SDK
 * output is unbuffered, so there is nothing else to skip).
 *
 * @param status the exit status
 * @returns never
 */
export function _exit(status: number): never {
  host_only(`_exit(${status})`, EXIT_HINT);
  const code = status & 0xff;
  if (in_deno_test()) throw new ExitError(code);
  Deno.exit(code);
}

/** Signal number of SIGABRT on Linux. */
const SIGABRT = 6;

/**
 * C `abort()`: ends the process as death by SIGABRT reads in a shell, status
 * 134 (128 + SIGABRT), without running `atexit` handlers; under `deno test`
 * it throws {@linkcode ExitError} with that status.
 *
 * @returns never
 */
export function abort(): never {
  return _exit(128 + SIGABRT);
}
