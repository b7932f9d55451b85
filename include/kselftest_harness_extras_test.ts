// SPDX-License-Identifier: GPL-2.0-only
/**
 * Harness behaviours beyond the oracle (`testdata/kselftest_harness/extras.ts`):
 * what C's `__wait_for_test()` prints for exceptions, exits and signals, XFAIL,
 * a setup that skips or asserts, expectation handlers, the check for low-level
 * ksft calls in a test, and the `-l` table of a fixture without tests.
 *
 * @module
 */

import { assertEquals } from "@std/assert";

const EXTRAS = new URL("./testdata/kselftest_harness/extras.ts", import.meta.url).pathname;
const decoder = new TextDecoder();

async function run(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = Deno.env.toObject();
  delete env.KSFT_TAP_LEVEL;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXTRAS, ...args],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr), code: out.code };
}

const STDOUT = `prelude
TAP version 13
1..10
# Starting 10 tests from 5 test cases.
#  RUN           global.throws ...
#          FAIL  global.throws
not ok 1 global.throws
#  RUN           global.exits_254 ...
#          FAIL  global.exits_254
not ok 2 global.exits_254
#  RUN           global.killed_by_sigusr1 ...
#            OK  global.killed_by_sigusr1
ok 3 global.killed_by_sigusr1
#  RUN           global.returns_instead ...
#          FAIL  global.returns_instead
not ok 4 global.returns_instead
#  RUN           global.expect_handlers ...
#          FAIL  global.expect_handlers
not ok 5 global.expect_handlers
#  RUN           global.low_level_fail ...
not ok 1 from the body
# Illegal usage of low-level ksft APIs in harness test
#          FAIL  global.low_level_fail
not ok 6 global.low_level_fail
#  RUN           xf.a.fails ...
#          FAIL  xf.a.fails
ok 7 xf.a.fails # XFAIL unknown
#  RUN           xf.b.fails ...
#          FAIL  xf.b.fails
not ok 8 xf.b.fails
#  RUN           skipper.body ...
#            OK  skipper.body
ok 9 skipper.body # SKIP no hardware
#  RUN           broken.body ...
#          FAIL  broken.body
not ok 10 broken.body
# FAILED: 3 / 10 tests passed.
# 1 skipped test(s) detected. Consider enabling relevant config options to improve coverage.
# Totals: pass:1 fail:7 xfail:1 xpass:0 skip:1 error:0
`;

const STDERR_WITHOUT_STACK = `error: Uncaught Error: boom
# throws: Test failed
# exits_254: Test failed
# returns_instead: Test exited normally instead of by signal (code: 0)
# extras.ts:43:expect_handlers:Expected 1 (1) == 2 (2)
# extras.ts:43:expect_handlers:handler ran
# extras.ts:44:expect_handlers:Expected 'a' == 'b'.
# expect_handlers: Test failed
# low_level_fail: Test failed
# extras.ts:56:fails:Expected 0 (0) != false (0)
# fails: Test terminated by assertion
# extras.ts:56:fails:Expected 0 (0) != false (0)
# fails: Test terminated by assertion
#      SKIP      no hardware
# extras.ts:72:body:Expected 0 (0) != self->n (0)
# body: Test terminated by assertion
`;

Deno.test("the harness reports exits, signals, XFAIL and setup failures as C's __wait_for_test()", async () => {
  const { stdout, stderr, code } = await run();
  assertEquals(stdout, STDOUT);
  // The exception's stack (paths and harness lines) follows its first line.
  assertEquals(
    stderr.split("\n").filter((l) => !l.startsWith("    at ")).join("\n"),
    STDERR_WITHOUT_STACK,
  );
  assertEquals(stderr.includes("extras.ts:28:"), true, "the stack names the throwing line");
  assertEquals(code, 1);
});

Deno.test("-l names a fixture without tests on each of its variant rows, as C's list walk does", async () => {
  const { stdout, stderr, code } = await run("-l");
  assertEquals(stdout, "prelude\n");
  assertEquals(
    stderr.split("\n").slice(-4).join("\n"),
    [
      "--------------------------------------------------------------------------------",
      "untested             one                       ",
      "untested             two                       ",
      "",
    ].join("\n"),
  );
  assertEquals(code, 4);
});

Deno.test("a missing option argument prints glibc's getopt message and the usage, exit 1", async () => {
  const { stdout, stderr, code } = await run("-t");
  assertEquals(stdout, "prelude\n");
  assertEquals(stderr.split("\n").slice(0, 2), [
    "./extras: option requires an argument -- 't'",
    "Usage: ./extras [-h|-l|-d] [-t|-T|-v|-V|-f|-F|-r name]",
  ]);
  assertEquals(code, 1);
});

Deno.test("options are found after non-options and in clusters, as glibc getopt permutes", async () => {
  const { stdout, code } = await run("stray", "-Vb", "-tfails");
  assertEquals(stdout.split("\n").filter((l) => l.startsWith("ok ") || l.startsWith("not ok ")), [
    "ok 1 xf.a.fails # XFAIL unknown",
  ]);
  assertEquals(code, 0);
});

Deno.test("-- ends the options", async () => {
  const { stdout } = await run("-r", "global.exits_254", "--", "-t", "throws");
  assertEquals(stdout.split("\n").filter((l) => /^(not )?ok /.test(l)), [
    "not ok 1 global.exits_254",
  ]);
});

Deno.test("a test module imported by a vCPU worker registers and runs nothing there", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./testdata/kselftest_harness/worker_host.ts", import.meta.url).pathname,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(decoder.decode(out.stdout), '{"in_guest_worker":true,"name":""}\n');
  assertEquals(decoder.decode(out.stderr), "");
  assertEquals(out.code, 0);
});
