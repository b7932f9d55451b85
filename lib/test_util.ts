// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/test_util.c` (the parts the assert
 * family needs). The declarations and macros are in `include/test_util.ts`.
 *
 * @module
 */

import { puts, vprintf } from "../include/libc/stdio.ts";

/**
 * Print `<message>, skipping test` on stdout, as a test does before exiting
 * with `KSFT_SKIP` (C `print_skip()`).
 *
 * @param fmt a C format string (no trailing newline)
 * @param args the variadic arguments
 */
export function print_skip(fmt: string, ...args: unknown[]): void {
  vprintf(fmt, args);
  puts(", skipping test");
}
