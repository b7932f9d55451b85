// SPDX-License-Identifier: GPL-2.0-only
/**
 * `errno` and `strerror()` of the C library the SDK stands on.
 *
 * C selftests read `errno` right after a failing call and print it with
 * `strerror()` (`TEST_ASSERT`'s `errno=%d - %s` line, `KVM_IOCTL_ERROR`,
 * `ksft_perror`). The syscall layer stores the error of the last failing call
 * with {@linkcode errno_set}; everyone else reads it with {@linkcode errno_get}.
 *
 * @module
 */

import { strerror } from "../linux/errno.ts";

// One `errno` per thread in C; each Deno thread (main or worker) has its own
// module instance, which gives the same isolation.
let errno_value = 0;

/**
 * The current `errno` (C: reading `errno`).
 *
 * @returns the error number of the last failing call
 */
export function errno_get(): number {
  return errno_value;
}

/**
 * Set `errno` (C: `errno = n`), as a failing syscall does.
 *
 * @param n the error number
 */
export function errno_set(n: number): void {
  errno_value = n;
}

/** glibc's `strerror()`; the message table lives with the errno numbers. */
export { strerror };
