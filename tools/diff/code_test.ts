// SPDX-License-Identifier: GPL-2.0-only
// The machine-code differential checker: generated sequences assemble in every
// mode, the simulator agrees with itself, a difference is reported, and on a
// host with /dev/kvm the simulator's interpreter agrees with the hardware.
import { assert, assertEquals, assertGreaterOrEqual } from "@std/assert";
import { load_backend } from "../../include/libc/backend.ts";
import { set_exe_file } from "../../sim/backend.ts";
import { check_code, compare_code, format_code_report, gen_code } from "./code.ts";

// The sequences are machine code only: the simulator's vCPU workers load no guest image.
set_exe_file([]);

function kvm_usable(): boolean {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
}

const no_kvm = !kvm_usable();
const why = no_kvm ? " (skipped: /dev/kvm is missing or not accessible)" : "";

Deno.test("code: 600 generated sequences assemble, in all four modes, reproducibly", () => {
  const modes = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const s = gen_code(20250101, i);
    modes.add(s.mode);
    assert(s.bytes.length > 0 && s.lines.at(-1) !== undefined);
  }
  assertEquals([...modes].sort(), ["long", "prot16", "prot32", "real"]);
  assertEquals(gen_code(5, 9).bytes, gen_code(5, 9).bytes);
});

Deno.test("code: a difference in exits, registers or memory is reported and grouped", () => {
  const s = gen_code(1, 0);
  const a = {
    exits: ["io out 80 size 1 count 1 00", "exit 5", "rax=1 rbx=2"],
    memory: "00",
    clean: true,
  };
  assertEquals(compare_code(s, a, { ...a }), null);
  const regs = compare_code(s, a, { ...a, exits: [a.exits[0]!, a.exits[1]!, "rax=1 rbx=3"] });
  assertEquals(regs?.key, `${s.mode}: registers rbx`);
  const mem = compare_code(s, a, { ...a, memory: "01" });
  assertEquals(mem?.key, `${s.mode}: memory`);
  const ex = compare_code(s, a, { ...a, exits: ["exit 8"] });
  assertEquals(ex?.key, `${s.mode}: io out vs exit 8`);
});

Deno.test("code: the simulator agrees with itself on 150 sequences", async () => {
  const sim = await load_backend("sim");
  const r = check_code({ seed: 20250101, count: 150, a: sim, b: sim });
  assertEquals(r.groups.map((g) => g.key), [], format_code_report(r));
});

// 2,000 sequences (issue #14's floor for CI): 64-87 s of wall time on the
// 2-core kvm_pvm host with other jobs running (load 4-7; 23 s of CPU),
// measured 2026-12-07; all 2,000 agreed.
Deno.test(`code: /dev/kvm vs the simulator's interpreter, 2000 sequences, ≥ 99% agree${why}`, {
  ignore: no_kvm,
}, async () => {
  const r = check_code({
    seed: 20250101,
    count: 2000,
    a: await load_backend("kvm"),
    b: await load_backend("sim"),
  });
  console.log(format_code_report(r));
  assertGreaterOrEqual(r.agreed / r.sequences, 0.99, format_code_report(r));
});
