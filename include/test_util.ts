// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/test_util.h`: the assert family
 * (`TEST_ASSERT`, `TEST_ASSERT_EQ`, `TEST_FAIL`, `TEST_REQUIRE`) and the
 * printing helpers of KVM selftests.
 *
 * The C macros stringize their arguments (`#e`) and record `__FILE__` and
 * `__LINE__`; these functions recover the same facts from their call site
 * (`include/linux/stringify.ts`), so
 * `TEST_ASSERT_EQ(get_ucall(vcpu, uc), UCALL_DONE)` fails with
 * `get_ucall(vcpu, uc) == UCALL_DONE` and `0x1 != 0x2 (get_ucall(vcpu, uc) != UCALL_DONE)`,
 * as in C. The report and the exit are `test_assert()` (`lib/assert.ts`).
 *
 * @module
 */

import { callsite, stringify_args } from "./linux/stringify.ts";
import { ksft_exit_skip, ksft_get_debug_enabled } from "./kselftest.ts";
import { vprintf } from "./libc/stdio.ts";
import { getenv } from "./libc/process.ts";
import { test_assert } from "../lib/assert.ts";

export { test_assert } from "../lib/assert.ts";
export * from "../lib/test_util.ts";
import { atoi_paranoid } from "../lib/test_util.ts";

/** The call site of the macro's caller and its argument texts. */
function macro_site(): { file: string; line: number; args: string[] | undefined } {
  // callsite(2): the call of the macro (skipping this helper and the macro).
  const site = callsite(2);
  return {
    file: site?.file ?? "?",
    line: site?.line ?? 0,
    args: site ? stringify_args(site) : undefined,
  };
}

/**
 * Assert `e`, or print the failure report with the message and exit with 254
 * (C `TEST_ASSERT(e, fmt, ...)`).
 *
 * @param e the condition
 * @param fmt a C format string for the message
 * @param args the variadic arguments
 */
export function TEST_ASSERT(e: unknown, fmt: string, ...args: unknown[]): asserts e {
  if (e) return;
  const site = macro_site();
  test_assert(e, site.args?.[0] ?? String(e), site.file, site.line, fmt, ...args);
}

function c_equal(a: unknown, b: unknown): boolean {
  const num = (v: unknown): bigint | number | undefined =>
    typeof v === "bigint" || typeof v === "number"
      ? v
      : typeof v === "boolean"
      ? Number(v)
      : v === null || v === undefined
      ? 0
      : undefined;
  const x = num(a);
  const y = num(b);
  if (x === undefined || y === undefined) return a === b;
  if (typeof x === "number" && typeof y === "number") return x === y;
  if (
    (typeof x === "number" && !Number.isInteger(x)) ||
    (typeof y === "number" && !Number.isInteger(y))
  ) {
    return Number(x) === Number(y);
  }
  // 64-bit integers compare as C's u64 do (GUEST_ASSERT_EQ too): a bigint
  // that went negative is the wrapped value in C.
  return BigInt.asUintN(64, BigInt(x)) === BigInt.asUintN(64, BigInt(y));
}

/**
 * What C's TEST_ASSERT_EQ/NE compare: integers (and pointers) cast to
 * `unsigned long`. Strings and objects are not (C would compare addresses).
 */
export type c_scalar = bigint | number | boolean | null | undefined;

/**
 * Assert `a == b`, or fail with `"%#lx != %#lx (%s != %s)"` of the two values
 * (as unsigned long) and their source texts (C `TEST_ASSERT_EQ`).
 *
 * @param a the first value
 * @param b the second value
 */
export function TEST_ASSERT_EQ(a: c_scalar, b: c_scalar): void {
  if (c_equal(a, b)) return;
  const site = macro_site();
  const sa = site.args?.[0] ?? String(a);
  const sb = site.args?.[1] ?? String(b);
  test_assert(
    false,
    `${sa} == ${sb}`,
    site.file,
    site.line,
    "%#lx != %#lx (%s != %s)",
    a,
    b,
    sa,
    sb,
  );
}

/**
 * Assert `a != b`, or fail with `"%#lx == %#lx (%s == %s)"` (C `TEST_ASSERT_NE`).
 *
 * @param a the first value
 * @param b the second value
 */
export function TEST_ASSERT_NE(a: c_scalar, b: c_scalar): void {
  if (!c_equal(a, b)) return;
  const site = macro_site();
  const sa = site.args?.[0] ?? String(a);
  const sb = site.args?.[1] ?? String(b);
  test_assert(
    false,
    `${sa} != ${sb}`,
    site.file,
    site.line,
    "%#lx == %#lx (%s == %s)",
    a,
    b,
    sa,
    sb,
  );
}

/**
 * Fail unconditionally with a message (C `TEST_FAIL(fmt, ...)`, whose expression
 * text is `false`).
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 * @returns never
 */
export function TEST_FAIL(fmt: string, ...args: unknown[]): never {
  const site = callsite(1);
  test_assert(false, "false", site?.file ?? "?", site?.line ?? 0, fmt, ...args);
  throw new Error("unreachable: test_assert() returned after a failure");
}

/**
 * Skip the whole program unless `f` holds: `ksft_exit_skip("- <fmt>\n", ...)`
 * (C `__TEST_REQUIRE(f, fmt, ...)`).
 *
 * @param f the requirement
 * @param fmt a C format string for the reason
 * @param args the variadic arguments
 */
export function __TEST_REQUIRE(f: unknown, fmt: string, ...args: unknown[]): void {
  if (!f) ksft_exit_skip("- " + fmt + "\n", ...args);
}

/**
 * Skip the whole program unless `f` holds, printing
 * `1..0 # SKIP - Requirement not met: <source text of f>` (C `TEST_REQUIRE(f)`).
 *
 * @param f the requirement
 */
export function TEST_REQUIRE(f: unknown): void {
  if (f) return;
  const site = macro_site();
  __TEST_REQUIRE(f, "Requirement not met: %s", site.args?.[0] ?? String(f));
}

/**
 * C `pr_info()`: `printf` (there is no `QUIET` build here).
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function pr_info(fmt: string, ...args: unknown[]): void {
  vprintf(fmt, args);
}

/**
 * C `pr_debug()`: `printf` in a `-DDEBUG` build, else nothing. The run-time
 * switch is the harness's `-d` option or the `KVM_SELFTESTS_DEBUG` environment
 * variable.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function pr_debug(fmt: string, ...args: unknown[]): void {
  if (ksft_get_debug_enabled() || getenv("KVM_SELFTESTS_DEBUG") !== undefined) {
    vprintf(fmt, args);
  }
}

/**
 * C `atoi_positive(name, num_str)`: an `int` argument that must be > 0.
 *
 * @param name what the number is, for the failure message
 * @param num_str the text
 * @returns the value
 */
export function atoi_positive(name: string, num_str: string): number {
  const num = atoi_paranoid(num_str);
  TEST_ASSERT(num > 0, "%s must be greater than 0, got '%s'", name, num_str);
  return num;
}

/**
 * C `atoi_non_negative(name, num_str)`: an `int` argument that must be >= 0.
 *
 * @param name what the number is, for the failure message
 * @param num_str the text
 * @returns the value
 */
export function atoi_non_negative(name: string, num_str: string): number {
  const num = atoi_paranoid(num_str);
  TEST_ASSERT(num >= 0, "%s must be non-negative, got '%s'", name, num_str);
  return num;
}
