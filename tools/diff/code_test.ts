// SPDX-License-Identifier: GPL-2.0-only
// The machine-code differential checker: generated sequences assemble in every
// mode, the simulator agrees with itself, a difference is reported, and on a
// host with /dev/kvm the simulator's interpreter agrees with the hardware.
import { assert, assertEquals, assertGreaterOrEqual } from "@std/assert";
import { load_backend } from "../../include/libc/backend.ts";
import { set_exe_file } from "../../sim/backend.ts";
import { check_code, compare_code, format_code_report, gen_code, run_code } from "./code.ts";
import { code_vm } from "../../sim/testdata/code_vm.ts";

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

Deno.test("code: a fault no step planned halts, so no 64-bit sequence loops to the exit cap", async () => {
  // Sequences 12, 14, 53 and 56 of this seed each fault in a random DIV or
  // load after an earlier fault() step: resuming at that step's label again
  // looped them until the 200-exit cap.
  using vm = new code_vm(await load_backend("sim"));
  let long = 0;
  for (let i = 0; i < 60; i++) {
    const seq = gen_code(20250101, i);
    if (seq.mode !== "long") continue;
    long++;
    const r = run_code(vm, seq);
    assert(r.clean && r.exits.length < 200, `sequence ${i}: ${r.exits.length} exits`);
  }
  assertGreaterOrEqual(long, 10);
});

Deno.test("code: the simulator agrees with itself on 150 sequences", async () => {
  const sim = await load_backend("sim");
  const r = check_code({ seed: 20250101, count: 150, a: sim, b: sim });
  assertEquals(r.groups.map((g) => g.key), [], format_code_report(r));
});

// 2,000 sequences (issue #14's floor for CI): 4 s of wall time on the 2-core
// kvm_pvm host alone, measured 2026-12-07; all 2,000 agreed. (64-87 s before
// the fault handlers stopped resuming at a stale label: looping sequences ran
// to the exit cap, at 1-4 ms per 64-bit KVM_RUN on PVM.)
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
