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

import { in_deno_test } from "./process.ts";

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
  const code = status & 0xff;
  if (in_deno_test()) throw new ExitError(code, reason);
  Deno.exit(code);
}

/**
 * C `_exit()`: as {@linkcode exit}. There are no stdio buffers or atexit
 * handlers to skip: SDK output is written unbuffered.
 *
 * @param status the exit status
 * @returns never
 */
export function _exit(status: number): never {
  return exit(status);
}
