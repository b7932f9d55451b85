// SPDX-License-Identifier: GPL-2.0-only
/**
 * The low-level kselftest API (`include/kselftest.ts`) prints what
 * `kselftest.h` prints and exits with its codes.
 *
 * @module
 */

import { assertEquals, assertThrows } from "@std/assert";
import {
  ksft_exit_fail_msg,
  KSFT_FAIL,
  ksft_get_fail_cnt,
  ksft_get_pass_cnt,
  ksft_get_plan,
  KSFT_PASS,
  ksft_reset_state,
  KSFT_SKIP,
  ksft_test_num,
  KSFT_XFAIL,
  KSFT_XPASS,
} from "./kselftest.ts";
import { ExitError } from "./libc/exit.ts";

const API = new URL("./testdata/kselftest/api.ts", import.meta.url).pathname;

async function run(scenario: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = Deno.env.toObject();
  delete env.KSFT_TAP_LEVEL;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", API, scenario],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { stdout: d.decode(out.stdout), stderr: d.decode(out.stderr), code: out.code };
}

Deno.test("the KSFT_* codes are kselftest's", () => {
  assertEquals([KSFT_PASS, KSFT_FAIL, KSFT_XFAIL, KSFT_XPASS, KSFT_SKIP], [0, 1, 2, 3, 4]);
});

Deno.test("results are numbered in order and ksft_finished() fails unless all planned passed", async () => {
  const r = await run("finished");
  assertEquals(
    r.stdout,
    [
      "TAP version 13",
      "1..6",
      "ok 1 first",
      "not ok 2 second",
      "ok 3 # SKIP third",
      "ok 4 # XFAIL fourth",
      "# a message 7",
      "ok 5 fifth",
      "not ok 6 sixth #  why",
      "# 1 skipped test(s) detected. Consider enabling relevant config options to improve coverage.",
      "# Totals: pass:2 fail:2 xfail:1 xpass:0 skip:1 error:0",
      "",
    ].join("\n"),
  );
  assertEquals([r.stderr, r.code], ["", KSFT_FAIL]);
});

Deno.test("ksft_finished() passes when every planned result passed", async () => {
  const r = await run("all_pass");
  assertEquals(
    r.stdout,
    "1..1\nok 1 only\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n",
  );
  assertEquals(r.code, KSFT_PASS);
});

Deno.test("ksft_exit_fail_msg() bails out and reports the plan mismatch", async () => {
  const r = await run("bail");
  assertEquals(
    r.stdout,
    "TAP version 13\n1..3\nok 1 x\nBail out! broken 5\n# Planned tests != run tests (3 != 1)\n" +
      "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0\n",
  );
  assertEquals(r.code, KSFT_FAIL);
});

Deno.test("ksft_exit_skip() after results reports the skip as the next result, numbered right", async () => {
  const r = await run("skip_after");
  assertEquals(
    r.stdout,
    "TAP version 13\n1..2\nok 1 a\nok 2 # SKIP no more\n" +
      "# 1 skipped test(s) detected. Consider enabling relevant config options to improve coverage.\n" +
      "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0\n",
  );
  assertEquals(r.code, KSFT_SKIP);
});

Deno.test("under deno test the ksft_exit_* calls throw ExitError instead of exiting", () => {
  ksft_reset_state();
  const e = assertThrows(() => ksft_exit_fail_msg("no %s\n", "luck"), ExitError);
  assertEquals([e.status, e.reason], [KSFT_FAIL, "Bail out! no luck"]);
  ksft_reset_state();
  assertEquals([ksft_get_plan(), ksft_test_num(), ksft_get_pass_cnt(), ksft_get_fail_cnt()], [
    0,
    0,
    0,
    0,
  ]);
});
