// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import {
  DEFAULT_JOBS,
  find_programs,
  main,
  program_name,
  RUN_ALONE,
  run_program,
  tap_line,
  xfail_of,
} from "./run_selftests.ts";
import { expected_host_failure } from "../include/known_host_failures.ts";

const prog = new URL("./testdata/prog.ts", import.meta.url);
const env = Deno.env.toObject();

Deno.test("run_program() keeps stdout and stderr in the order they were written", async () => {
  const r = await run_program(prog, ["pass"], env, 30);
  assertEquals(r.code, 0);
  assertEquals(r.output, "TAP version 13\n# diagnostics on stderr\n");
  assertEquals(tap_line(1, r, 30), "ok 1 selftests: kvm: prog");
});

Deno.test("exit 4 is a skip and any other status a failure, as runner.sh reports them", async () => {
  const skip = await run_program(prog, ["skip"], env, 30);
  assertEquals(tap_line(2, skip, 30), "ok 2 selftests: kvm: prog # SKIP");
  const fail = await run_program(prog, ["fail"], env, 30);
  assertEquals(tap_line(3, fail, 30), "not ok 3 selftests: kvm: prog # exit=1");
});

Deno.test("a program past its timeout is killed and reported as a TIMEOUT", async () => {
  const r = await run_program(prog, ["hang"], env, 1);
  assertEquals(r.code, null);
  assertEquals(tap_line(4, r, 1), "not ok 4 selftests: kvm: prog # TIMEOUT 1 seconds");
});

Deno.test("a known host-kernel difference on kvm is an XFAIL; anywhere else a failure", () => {
  const r = {
    name: "set_sregs_test",
    code: 254,
    output: "  KVM allowed invalid efer bit (0x100)\n",
    ms: 1,
  };
  const xf = expected_host_failure(r.name, "kvm", r.output, "6.18.0");
  assertEquals(xf?.program, "set_sregs_test");
  assertEquals(
    tap_line(5, r, 30, xf),
    `ok 5 selftests: kvm: set_sregs_test # XFAIL ${xf!.reason}`,
  );
  assertEquals(xfail_of(r, "sim"), undefined);
  assertEquals(
    tap_line(5, r, 30, xfail_of(r, "sim")),
    "not ok 5 selftests: kvm: set_sregs_test # exit=254",
  );
  assertEquals(xfail_of({ ...r, code: null }, "kvm"), undefined);
});

Deno.test("programs run one per host CPU plus one by default; --jobs must be a count", async () => {
  assertEquals(DEFAULT_JOBS, Math.max(1, navigator.hardwareConcurrency) + 1);
  for (const bad of ["0", "two", "1.5"]) assertEquals(await main(["-j", bad, "-l"]), 1, bad);
  assertEquals(await main(["-j", "3", "-l", "-t", "cpuid_test"]), 0);
});

Deno.test("the programs that run alone are selftest programs", async () => {
  const names = (await find_programs(new URL("../x86/", import.meta.url))).map(program_name);
  for (const n of RUN_ALONE) assertEquals(names.includes(n), true, n);
});
