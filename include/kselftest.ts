// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kselftest.h`: KTAP/TAP 13 output, result
 * counters and the `ksft_exit_*` family, with the newest upstream behaviour
 * (`ksft_reset_state()`, the skip-hint line, the `ksft_exit_skip()` numbering).
 *
 * All output goes to stdout through the SDK's C `printf`, so format strings
 * ported from C print the same bytes. Every `ksft_exit_*` ends in the SDK's one
 * `exit()` (see `lib/libc/exit.ts`), which throws instead of exiting under
 * `deno test`.
 *
 * @module
 */

import { printf, vprintf } from "./libc/stdio.ts";
import { exit } from "./libc/exit.ts";
import { getenv } from "./libc/process.ts";
import { errno_get, strerror } from "./libc/errno.ts";
import { vformat } from "./linux/printf.ts";

/** Exit code and result: the test passed. */
export const KSFT_PASS = 0;
/** Exit code and result: the test failed. */
export const KSFT_FAIL = 1;
/** Exit code and result: the test failed, as expected. */
export const KSFT_XFAIL = 2;
/** Exit code and result: the test passed, though expected to fail. */
export const KSFT_XPASS = 3;
/** Exit code and result: the test was skipped. */
export const KSFT_SKIP = 4;

/** The result counters (C `struct ksft_count`). */
export interface ksft_count {
  /** Passed results. */
  ksft_pass: number;
  /** Failed results. */
  ksft_fail: number;
  /** Expected failures. */
  ksft_xfail: number;
  /** Unexpected passes. */
  ksft_xpass: number;
  /** Skipped results. */
  ksft_xskip: number;
  /** Errors. */
  ksft_error: number;
}

const ksft_cnt: ksft_count = {
  ksft_pass: 0,
  ksft_fail: 0,
  ksft_xfail: 0,
  ksft_xpass: 0,
  ksft_xskip: 0,
  ksft_error: 0,
};
let ksft_plan = 0;
let ksft_debug_enabled = false;

/**
 * Enable or disable {@linkcode ksft_print_dbg_msg} (the harness's `-d` option).
 *
 * @param on whether debug messages print
 */
export function ksft_set_debug_enabled(on: boolean): void {
  ksft_debug_enabled = on;
}

/**
 * Whether debug messages print (C: the `ksft_debug_enabled` variable).
 *
 * @returns the flag
 */
export function ksft_get_debug_enabled(): boolean {
  return ksft_debug_enabled;
}

/**
 * The number of results reported so far, i.e. the number of the last one.
 *
 * @returns the sum of all counters
 */
export function ksft_test_num(): number {
  return ksft_cnt.ksft_pass + ksft_cnt.ksft_fail + ksft_cnt.ksft_xfail + ksft_cnt.ksft_xpass +
    ksft_cnt.ksft_xskip + ksft_cnt.ksft_error;
}

/**
 * C `ksft_get_pass_cnt()`.
 *
 * @returns the number of passed results
 */
export function ksft_get_pass_cnt(): number {
  return ksft_cnt.ksft_pass;
}

/**
 * C `ksft_get_fail_cnt()`.
 *
 * @returns the number of failed results
 */
export function ksft_get_fail_cnt(): number {
  return ksft_cnt.ksft_fail;
}

/**
 * C `ksft_get_xfail_cnt()`.
 *
 * @returns the number of expected failures
 */
export function ksft_get_xfail_cnt(): number {
  return ksft_cnt.ksft_xfail;
}

/**
 * C `ksft_get_xpass_cnt()`.
 *
 * @returns the number of unexpected passes
 */
export function ksft_get_xpass_cnt(): number {
  return ksft_cnt.ksft_xpass;
}

/**
 * C `ksft_get_xskip_cnt()`.
 *
 * @returns the number of skipped results
 */
export function ksft_get_xskip_cnt(): number {
  return ksft_cnt.ksft_xskip;
}

/**
 * C `ksft_get_error_cnt()`.
 *
 * @returns the number of errors
 */
export function ksft_get_error_cnt(): number {
  return ksft_cnt.ksft_error;
}

/**
 * C `ksft_get_plan()`.
 *
 * @returns the plan set by {@linkcode ksft_set_plan} (0 when none)
 */
export function ksft_get_plan(): number {
  return ksft_plan;
}

/**
 * Forget the plan and all counters. The harness calls it in each test child,
 * so a test that reports through the low-level API starts numbering from 1.
 */
export function ksft_reset_state(): void {
  ksft_cnt.ksft_pass = 0;
  ksft_cnt.ksft_fail = 0;
  ksft_cnt.ksft_xfail = 0;
  ksft_cnt.ksft_xpass = 0;
  ksft_cnt.ksft_xskip = 0;
  ksft_cnt.ksft_error = 0;
  ksft_plan = 0;
  ksft_parts.length = 0;
}

/** Print `TAP version 13`, unless `KSFT_TAP_LEVEL` is set (a runner already printed it). */
export function ksft_print_header(): void {
  if (getenv("KSFT_TAP_LEVEL") === undefined) printf("TAP version 13\n");
}

/**
 * Announce the number of results to come: `1..plan`.
 *
 * @param plan the number of tests
 */
export function ksft_set_plan(plan: number): void {
  ksft_plan = plan;
  printf("1..%u\n", ksft_plan);
}

/** Print the skip hint, the plan mismatch (if any) and the `# Totals:` line. */
export function ksft_print_cnts(): void {
  if (ksft_cnt.ksft_xskip > 0) {
    printf(
      "# %u skipped test(s) detected. Consider enabling relevant config options to improve coverage.\n",
      ksft_cnt.ksft_xskip,
    );
  }
  if (ksft_plan !== ksft_test_num()) {
    printf("# Planned tests != run tests (%u != %u)\n", ksft_plan, ksft_test_num());
  }
  printf(
    "# Totals: pass:%u fail:%u xfail:%u xpass:%u skip:%u error:%u\n",
    ksft_cnt.ksft_pass,
    ksft_cnt.ksft_fail,
    ksft_cnt.ksft_xfail,
    ksft_cnt.ksft_xpass,
    ksft_cnt.ksft_xskip,
    ksft_cnt.ksft_error,
  );
}

/**
 * Print a diagnostic line: `# ` then the formatted message.
 *
 * @param fmt a C format string (usually ending in `\n`)
 * @param args the variadic arguments
 */
export function ksft_print_msg(fmt: string, ...args: unknown[]): void {
  printf("# ");
  vprintf(fmt, args);
}

/**
 * {@linkcode ksft_print_msg}, only when debug prints are enabled (`-d`).
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function ksft_print_dbg_msg(fmt: string, ...args: unknown[]): void {
  if (!ksft_debug_enabled) return;
  ksft_print_msg(fmt, ...args);
}

/**
 * Print `# msg: <strerror(errno)> (<errno>)`.
 *
 * @param msg the text before the error
 */
export function ksft_perror(msg: string): void {
  const e = errno_get();
  ksft_print_msg("%s: %s (%d)\n", msg, strerror(e), e);
}

function result_line(prefix: string, fmt: string, args: readonly unknown[]): void {
  printf(prefix, ksft_test_num());
  vprintf(fmt, args);
  const m = / # (SKIP|XFAIL|XPASS) $/.exec(prefix);
  if (m) {
    ksft_parts.push({ directive: m[1] as ksft_part["directive"], msg: vformat(fmt, args).trim() });
  }
}

/** A part of a program that did not simply pass: a low-level `ksft_test_result_*` line. */
export interface ksft_part {
  /** The TAP directive it printed. */
  readonly directive: "SKIP" | "XFAIL" | "XPASS";
  /** Its message. */
  readonly msg: string;
}

const ksft_parts: ksft_part[] = [];

/**
 * The parts reported with a SKIP, XFAIL or XPASS directive since the last
 * {@linkcode ksft_reset_state}: under `deno test` each becomes an ignored
 * step of the program's test, so a part that could not run is counted as
 * skipped instead of being folded into a pass. (No C twin: kselftest's TAP
 * line is what a C runner counts.)
 *
 * @returns the parts, in order
 */
export function ksft_get_parts(): readonly ksft_part[] {
  return ksft_parts;
}

/**
 * Report a pass: `ok N <msg>`.
 *
 * @param fmt a C format string (usually ending in `\n`)
 * @param args the variadic arguments
 */
export function ksft_test_result_pass(fmt: string, ...args: unknown[]): void {
  ksft_cnt.ksft_pass++;
  result_line("ok %u ", fmt, args);
}

/**
 * Report a failure: `not ok N <msg>`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function ksft_test_result_fail(fmt: string, ...args: unknown[]): void {
  ksft_cnt.ksft_fail++;
  result_line("not ok %u ", fmt, args);
}

/**
 * Print an `ok` line when `condition` is truthy and a `not ok` line when it
 * is not (in C, a macro over the two calls above).
 *
 * @param condition truthy for `ok`
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function ksft_test_result(condition: unknown, fmt: string, ...args: unknown[]): void {
  if (condition) ksft_test_result_pass(fmt, ...args);
  else ksft_test_result_fail(fmt, ...args);
}

/**
 * Report an expected failure: `ok N # XFAIL <msg>`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function ksft_test_result_xfail(fmt: string, ...args: unknown[]): void {
  ksft_cnt.ksft_xfail++;
  result_line("ok %u # XFAIL ", fmt, args);
}

/**
 * Report an unexpected pass: `ok N # XPASS <msg>`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function ksft_test_result_xpass(fmt: string, ...args: unknown[]): void {
  ksft_cnt.ksft_xpass++;
  result_line("ok %u # XPASS ", fmt, args);
}

/**
 * Report a skip: `ok N # SKIP <msg>`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function ksft_test_result_skip(fmt: string, ...args: unknown[]): void {
  ksft_cnt.ksft_xskip++;
  result_line("ok %u # SKIP ", fmt, args);
}

/**
 * Report an error: `not ok N # error <msg>`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 */
export function ksft_test_result_error(fmt: string, ...args: unknown[]): void {
  ksft_cnt.ksft_error++;
  result_line("not ok %u # error ", fmt, args);
}

/**
 * Report a result by its `KSFT_*` code, as the harness does for each test:
 * `ok N name`, `not ok N name`, `ok N name # SKIP msg`, `... # XFAIL msg`, ...
 *
 * @param exit_code a `KSFT_*` code (any other value counts as a failure)
 * @param test_name the test name
 * @param fmt a C format string for the diagnostic, or `null` for none
 * @param args the variadic arguments
 */
export function ksft_test_result_code(
  exit_code: number,
  test_name: string,
  fmt: string | null,
  ...args: unknown[]
): void {
  let tap_code = "ok";
  let directive = "";
  switch (exit_code) {
    case KSFT_PASS:
      ksft_cnt.ksft_pass++;
      break;
    case KSFT_XFAIL:
      directive = " # XFAIL ";
      ksft_cnt.ksft_xfail++;
      break;
    case KSFT_XPASS:
      directive = " # XPASS ";
      ksft_cnt.ksft_xpass++;
      break;
    case KSFT_SKIP:
      directive = " # SKIP ";
      ksft_cnt.ksft_xskip++;
      break;
    default:
      tap_code = "not ok";
      ksft_cnt.ksft_fail++;
      break;
  }
  // A message with no directive still goes after ` # `, with an extra space
  // where the directive word would be: kselftest.h's exact bytes.
  if (directive === "" && fmt !== null) directive = " #  ";
  printf("%s %u %s%s", tap_code, ksft_test_num(), test_name, directive);
  if (fmt !== null) vprintf(fmt, args);
  printf("\n");
}

/**
 * Print the counters and exit with `KSFT_PASS`.
 *
 * @returns never
 */
export function ksft_exit_pass(): never {
  ksft_print_cnts();
  return exit(KSFT_PASS);
}

/**
 * Print the counters and exit with `KSFT_FAIL`.
 *
 * @returns never
 */
export function ksft_exit_fail(): never {
  ksft_print_cnts();
  return exit(KSFT_FAIL);
}

/**
 * End the program through {@linkcode ksft_exit_pass} or
 * {@linkcode ksft_exit_fail}, chosen by `condition`.
 *
 * @param condition truthy for exit code `KSFT_PASS`
 * @returns never
 */
export function ksft_exit(condition: unknown): never {
  return condition ? ksft_exit_pass() : ksft_exit_fail();
}

/**
 * Exit with the verdict "every planned test passed, was skipped or failed as expected".
 *
 * @returns never
 */
export function ksft_finished(): never {
  return ksft_exit(
    ksft_plan === ksft_cnt.ksft_pass + ksft_cnt.ksft_xfail + ksft_cnt.ksft_xskip,
  );
}

/**
 * Print `Bail out! <msg>`, the counters, and exit with `KSFT_FAIL`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 * @returns never
 */
export function ksft_exit_fail_msg(fmt: string, ...args: unknown[]): never {
  const msg = vformat(fmt, args);
  printf("Bail out! %s", msg);
  ksft_print_cnts();
  return exit(KSFT_FAIL, "Bail out! " + msg.trimEnd());
}

/**
 * {@linkcode ksft_exit_fail_msg} with `msg: <strerror(errno)> (<errno>)`.
 *
 * @param msg the text before the error
 * @returns never
 */
export function ksft_exit_fail_perror(msg: string): never {
  const e = errno_get();
  return ksft_exit_fail_msg("%s: %s (%d)\n", msg, strerror(e), e);
}

/**
 * Print the counters and exit with `KSFT_XFAIL`.
 *
 * @returns never
 */
export function ksft_exit_xfail(): never {
  ksft_print_cnts();
  return exit(KSFT_XFAIL);
}

/**
 * Print the counters and exit with `KSFT_XPASS`.
 *
 * @returns never
 */
export function ksft_exit_xpass(): never {
  ksft_print_cnts();
  return exit(KSFT_XPASS);
}

/**
 * Skip the whole program and exit with `KSFT_SKIP`.
 *
 * Before any plan or result it prints `1..0 # SKIP <msg>` (an empty plan with a
 * reason); after some, it reports the skip as the next result `ok N # SKIP <msg>`
 * and prints the counters: upstream's fallback for programs that call it once
 * reporting has begun.
 *
 * @param fmt a C format string (usually ending in `\n`), or `null` for no message
 * @param args the variadic arguments
 * @returns never
 */
export function ksft_exit_skip(fmt: string | null = null, ...args: unknown[]): never {
  const msg = fmt === null ? "" : vformat(fmt, args);
  if (ksft_plan || ksft_test_num()) {
    ksft_cnt.ksft_xskip++;
    printf("ok %u # SKIP ", ksft_test_num());
  } else {
    printf("1..0 # SKIP ");
  }
  printf("%s", msg);
  if (ksft_test_num()) ksft_print_cnts();
  return exit(KSFT_SKIP, msg.trimEnd());
}
