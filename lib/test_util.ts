// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/test_util.c` (the parts the assert
 * family needs). The declarations and macros are in `include/test_util.ts`.
 *
 * @module
 */

import { puts, vprintf } from "../include/libc/stdio.ts";
import { test_assert } from "./assert.ts";
import { callsite } from "../include/linux/stringify.ts";

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** C `strtol(s, &end, 0)` on the forms selftests pass: sign, `0x`, leading-0 octal, decimal. */
function strtol0(s: string): { num: bigint; end: number } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return { num: 0n, end: 0 };
  const digits = m[2]!;
  let num: bigint;
  if (/^0[xX]/.test(digits)) num = BigInt(digits);
  else if (digits.length > 1 && digits[0] === "0") num = BigInt("0o" + digits.slice(1));
  else num = BigInt(digits);
  return { num: m[1] === "-" ? -num : num, end: m[0].length };
}

/**
 * C `atoi_paranoid()`: parse an `int` with `strtol(..., 0)` and fail the test
 * on anything but a whole, in-range integer.
 *
 * @param num_str the text
 * @returns the value
 */
export function atoi_paranoid(num_str: string): number {
  // A function in C (test_util.c), so failures name this file, not the caller.
  const site = callsite(0);
  const file = site?.file ?? "?";
  const line = site?.line ?? 0;
  const { num, end } = strtol0(num_str);
  // strtol() sets ERANGE past LONG_MIN/LONG_MAX.
  test_assert(
    num >= -(1n << 63n) && num < 1n << 63n,
    "!errno",
    file,
    line,
    'strtol("%s") failed',
    num_str,
  );
  test_assert(
    end !== 0,
    "num_str != end_ptr",
    file,
    line,
    'strtol("%s") didn\'t find a valid integer.',
    num_str,
  );
  test_assert(
    end === num_str.length,
    "*end_ptr == '\\0'",
    file,
    line,
    'strtol("%s") failed to parse trailing characters "%s".',
    num_str,
    num_str.slice(end),
  );
  test_assert(
    num >= INT_MIN && num <= INT_MAX,
    "num >= INT_MIN && num <= INT_MAX",
    file,
    line,
    "%ld not in range of [%d, %d]",
    num,
    INT_MIN,
    INT_MAX,
  );
  return Number(num);
}

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

/**
 * C `is_smt_on()`: whether the host runs with SMT active (sysfs
 * `devices/system/cpu/smt/active` reads `1`). A host fact, not a KVM one, so
 * it is read from the host whatever the backend; false when it cannot be read.
 *
 * @returns whether SMT is active
 */
export function is_smt_on(): boolean {
  try {
    return Deno.readTextFileSync("/sys/devices/system/cpu/smt/active").startsWith("1");
  } catch {
    return false;
  }
}
