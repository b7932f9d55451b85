// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/assert.c`: the failure report of
 * `TEST_ASSERT` and friends (`include/test_util.ts`).
 *
 * @module
 */

import { backtrace, type call_site } from "../include/linux/stringify.ts";
import { KSFT_SKIP, ksft_test_result_xfail } from "../include/kselftest.ts";
import { expected_host_failure, host_failure_fired } from "../include/known_host_failures.ts";
import { selected_backend_name } from "../include/libc/backend.ts";
import { vformat } from "../include/linux/printf.ts";
import { errno_get, strerror } from "../include/libc/errno.ts";
import { exit } from "../include/libc/exit.ts";
import { host_only } from "../include/libc/process.ts";
import { fputs, stderr } from "../include/libc/stdio.ts";
import { print_skip } from "./test_util.ts";

/** `EACCES`: an assertion failing with it means "no permission", a skip. */
const EACCES = 13;

/** The exit status of a failed assertion: not a kselftest code, so runners see a crash-like failure. */
export const TEST_ASSERT_EXIT_STATUS = 254;

/** C frames 20 deep, minus test_dump_stack() and test_assert(). */
const STACK_DEPTH = 18;

/** Modules whose frames are the assertion machinery, as the two frames C skips. */
const MACHINERY = /\/(?:lib\/assert|include\/test_util)\.ts$/;

/**
 * The stack part of the report. C pipes the return addresses through
 * `addr2line -s -fpai | cat -n`; the JavaScript frames already carry function,
 * file and line, printed the same way without the address.
 */
function test_dump_stack(): string {
  const frames: call_site[] = backtrace(STACK_DEPTH + 8);
  let i = 0;
  while (i < frames.length && MACHINERY.test(frames[i]!.url.split("?")[0]!)) i++;
  const shown = frames.slice(i, i + STACK_DEPTH);
  if (shown.length === 0) return "  (stack trace empty)\n";
  return shown.map((f, n) =>
    `${String(n + 1).padStart(6)}\t${f.function_name || "??"} at ${f.file}:${f.line}\n`
  ).join("");
}

/**
 * Report a failed assertion and exit (C `test_assert()`): on stderr,
 *
 * ```text
 * ==== Test Assertion Failure ====
 *   <file>:<line>: <expression>
 *   pid=<pid> tid=<tid> errno=<errno> - <strerror(errno)>
 *      1	<function> at <file>:<line>
 *      ...
 *   <formatted message>
 * ```
 *
 * then `exit(254)`, or `print_skip("Access denied - Exiting")` and
 * `exit(KSFT_SKIP)` when `errno` is `EACCES`. Nothing happens if `exp` holds.
 *
 * @param exp the asserted value
 * @param exp_str the source text of the expression
 * @param file the file name to print
 * @param line the line to print
 * @param fmt a C format string for the message, or `null` for none
 * @param args the variadic arguments
 */
export function test_assert(
  exp: unknown,
  exp_str: string,
  file: string,
  line: number,
  fmt: string | null,
  ...args: unknown[]
): void {
  if (exp) return;
  // In guest code the report could only be printed by the vCPU's thread and
  // exit() would end it: refuse before either happens.
  host_only(
    `TEST_ASSERT(${exp_str}) at ${file}:${line}`,
    "guest code asserts with GUEST_ASSERT(), a ucall the host reports",
  );
  const errno = errno_get();
  const pid = Deno.pid;
  // A Deno program has no gettid(); the main thread's tid is the pid.
  let report = vformat(
    "==== Test Assertion Failure ====\n  %s:%u: %s\n  pid=%d tid=%d errno=%d - %s\n",
    [file, line, exp_str, pid, pid, errno, strerror(errno)],
  );
  report += test_dump_stack();
  if (fmt !== null) report += "  " + vformat(fmt, args) + "\n";
  fputs(report, stderr);

  if (errno === EACCES) {
    print_skip("Access denied - Exiting");
    exit(KSFT_SKIP, "Access denied - Exiting");
  }
  // A failure this host's older kernel explains (include/known_host_failures.ts)
  // is that one assertion's XFAIL, as kselftest reports one: the rest of the
  // program still runs and counts.
  const xfail = expected_host_failure(main_program(), selected_backend_name(), report);
  if (xfail) {
    host_failure_fired(xfail);
    ksft_test_result_xfail("%s\n", xfail.reason);
    return;
  }
  exit(TEST_ASSERT_EXIT_STATUS, report.trimEnd());
}

/** The running program's name (`set_sregs_test`), from the main module. */
function main_program(): string {
  return Deno.mainModule.split("/").pop()!.replace(/\.[cm]?[jt]sx?$/, "");
}
