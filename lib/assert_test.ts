// SPDX-License-Identifier: GPL-2.0-only
/**
 * The assert family (`include/test_util.ts`, `lib/assert.ts`) prints kselftest's
 * failure block and exits as KVM selftests do: 254 for a failed assertion, 4
 * (`KSFT_SKIP`) for an unmet requirement or an `EACCES` failure.
 *
 * @module
 */

import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { TEST_ASSERT, TEST_ASSERT_EQ, TEST_ASSERT_NE, TEST_REQUIRE } from "../include/test_util.ts";
import { ExitError } from "../include/libc/exit.ts";

const CASES = new URL("./testdata/assert_cases.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

async function run_case(
  name: string,
): Promise<{ pid: number; stdout: string; stderr: string; code: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CASES, name],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = await child.output();
  return {
    pid: child.pid,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    code: out.code,
  };
}

/** Split the report into its head, its numbered stack lines and its tail. */
function parse_report(stderr: string): { head: string[]; stack: string[]; tail: string[] } {
  const lines = stderr.split("\n");
  const stack = lines.filter((l) => /^ {5}\d+\t/.test(l));
  const first = lines.findIndex((l) => /^ {5}\d+\t/.test(l));
  return { head: lines.slice(0, first), stack, tail: lines.slice(first + stack.length) };
}

Deno.test("TEST_ASSERT_EQ prints the assertion block with stringized sources and exits 254", async () => {
  const r = await run_case("assert_eq");
  const report = parse_report(r.stderr);
  assertEquals(report.head, [
    "==== Test Assertion Failure ====",
    "  assert_cases.ts:19: vcpu_count() == expected",
    `  pid=${r.pid} tid=${r.pid} errno=0 - Success`,
  ]);
  // Numbered like `cat -n`, innermost first, starting at the asserting line.
  assertEquals(report.stack[0], "     1\tObject.assert_eq at assert_cases.ts:19");
  assertEquals(report.stack[1], "     2\tmain at assert_cases.ts:43");
  for (const line of report.stack) assertMatch(line, /^ {5}\d+\t\S+ at [^ ]+:\d+$/);
  assertEquals(report.tail, ["  0 != 0x4 (vcpu_count() != expected)", ""]);
  assertEquals(r.stdout, "");
  assertEquals(r.code, 254);
});

Deno.test("TEST_ASSERT_EQ prints values as C's %#lx of (unsigned long)", async () => {
  const r = await run_case("assert_eq_negative");
  assertEquals(parse_report(r.stderr).tail, ["  0xffffffffffffffff != 0 (-1 != 0n)", ""]);
  assertEquals(r.code, 254);
});

Deno.test("TEST_ASSERT prints errno with glibc's message and the formatted message", async () => {
  const r = await run_case("assert");
  const report = parse_report(r.stderr);
  assertEquals(report.head.slice(1), [
    "  assert_cases.ts:26: vcpu_count() > 0",
    `  pid=${r.pid} tid=${r.pid} errno=22 - Invalid argument`,
  ]);
  assertEquals(report.tail, ["  KVM_CREATE_VCPU failed, rc: -1 errno: 22", ""]);
  assertEquals(r.code, 254);
});

Deno.test("TEST_FAIL is TEST_ASSERT(false, ...): the expression reads `false`", async () => {
  const r = await run_case("fail");
  assertEquals(parse_report(r.stderr).head[1], "  assert_cases.ts:28: false");
  assertEquals(parse_report(r.stderr).tail, ["  Unexpected exit reason: 7", ""]);
  assertEquals(r.code, 254);
});

Deno.test("an assertion failing with errno EACCES prints the block, then skips (exit 4)", async () => {
  const r = await run_case("eacces");
  assertEquals(
    parse_report(r.stderr).head[2],
    `  pid=${r.pid} tid=${r.pid} errno=13 - Permission denied`,
  );
  assertEquals(r.stdout, "Access denied - Exiting, skipping test\n");
  assertEquals(r.code, 4);
});

Deno.test("TEST_REQUIRE false in main prints `1..0 # SKIP - Requirement not met: <source>`, exit 4", async () => {
  const r = await run_case("require");
  assertEquals(r.stdout, "1..0 # SKIP - Requirement not met: is_tdx_supported()\n");
  assertEquals(r.stderr, "");
  assertEquals(r.code, 4);
});

Deno.test("assertions that hold print nothing and the program exits 0", async () => {
  const r = await run_case("pass");
  assertEquals([r.stdout, r.stderr, r.code], ["", "", 0]);
});

Deno.test("under deno test a failed TEST_ASSERT throws ExitError(254) carrying the report", () => {
  const answer: number = 41;
  const e = assertThrows(() => TEST_ASSERT(answer === 42, "answer is %d", answer), ExitError);
  assertEquals(e.status, 254);
  assert(e.reason?.includes("assert_test.ts:"), e.reason);
  assert(e.reason?.includes(": answer === 42\n"), e.reason);
  assert(e.reason?.endsWith("  answer is 41"), e.reason);
});

Deno.test("under deno test TEST_ASSERT_EQ and TEST_ASSERT_NE compare numbers and bigints as C integers", () => {
  TEST_ASSERT_EQ(4, 4n);
  TEST_ASSERT_NE(4, 5n);
  const e = assertThrows(() => TEST_ASSERT_NE(0x10n, 16), ExitError);
  assert(e.reason?.endsWith("  0x10 == 0x10 (0x10n == 16)"), e.reason);
});

Deno.test("under deno test an unmet TEST_REQUIRE throws ExitError(4) with the skip reason", () => {
  const kvm_has_tdx = false;
  const e = assertThrows(() => TEST_REQUIRE(kvm_has_tdx), ExitError);
  assertEquals(e.status, 4);
  assertEquals(e.reason, "- Requirement not met: kvm_has_tdx");
});
