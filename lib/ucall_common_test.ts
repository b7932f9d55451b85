// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals, assertMatch } from "@std/assert";
import { ucall_nr_pages_required, ucall_struct } from "./ucall_common.ts";

const cpu_model = new URL("../sim/cpu/insn.ts", import.meta.url);
const has_cpu = (() => {
  try {
    Deno.statSync(cpu_model);
    return true;
  } catch {
    return false;
  }
})();

Deno.test("struct ucall is 1096 bytes and the pool of 512 takes 138 pages", () => {
  assertEquals(ucall_struct.size, 1096);
  assertEquals(ucall_nr_pages_required(4096), 138);
});

Deno.test({
  name: "a failed guest assert prints the guest's file, line, expression and message; exit 254",
  ignore: !has_cpu,
  fn: async () => {
    const prog = new URL("./testdata/guest_assert_fail.ts", import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", prog.pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 254, stderr);
    assert(stderr.startsWith("==== Test Assertion Failure ====\n"), stderr);
    // The guest's location and expression, not the host's.
    const line = Deno.readTextFileSync(prog).split("\n").findIndex((l) =>
      l.includes("GUEST_ASSERT_EQ(four, 5)")
    ) + 1;
    assertMatch(stderr, new RegExp(`^ {2}guest_assert_fail\\.ts:${line}: four == 5$`, "m"));
    assertMatch(stderr, /^ {2}0x4 != 0x5 \(four != 5\)$/m);
  },
});
