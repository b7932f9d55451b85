// SPDX-License-Identifier: GPL-2.0-only
// The standalone harness runs a program's tests in one test server, each in
// a fresh instance of the module: what include/testdata/kselftest_harness/
// server.ts checks must come out as a forked C child would make it.
import { assertEquals, assertMatch } from "@std/assert";
import { BACKEND_ENV } from "./libc/backend.ts";

const PROGRAM = new URL("./testdata/kselftest_harness/server.ts", import.meta.url);

Deno.test("test server: fresh module state and files per test; a death or timeout ends one test", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", PROGRAM.pathname],
    // Not "/": the program checks that a test's chdir("/") did not last.
    cwd: new URL(".", import.meta.url).pathname,
    // The simulator whatever the caller's backend: the program opens
    // /dev/kvm, which a host without KVM does not have.
    env: { [BACKEND_ENV]: "sim" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const verdicts = [...stdout.matchAll(/^(ok|not ok) \d+ (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assertEquals(verdicts, [
    "ok global.counts_from_zero",
    "ok global.counts_from_zero_again",
    "ok global.leaks_a_kvm_fd",
    "ok global.gets_the_same_fd_number",
    "ok global.leaves_an_interval",
    "ok global.sees_no_earlier_timer",
    "ok global.changes_env_and_cwd",
    "ok global.sees_the_parents_env_and_cwd",
    "ok global.exit_ends_only_the_test",
    "not ok global.dies",
    "ok global.runs_after_a_death",
    "not ok hang.spins_past_its_timeout",
    "ok hang.runs_after_a_timeout",
  ], stdout + stderr);
  // The fd the first test leaked was closed with it: the next test gets the same number.
  const fds = [...stdout.matchAll(/^fd (\d+)$/gm)].map((m) => m[1]);
  assertEquals(fds.length, 2);
  assertEquals(fds[0], fds[1]);
  // The interval was cancelled when its test ended.
  assertMatch(stdout, /^waited$/m);
  assertEquals(stdout.includes("interval fired"), false, stdout);
  assertMatch(stderr, /# dies: Test failed\n/);
  assertMatch(stderr, /# spins_past_its_timeout: Test terminated by timeout\n/);
  assertEquals(out.code, 1);
});
