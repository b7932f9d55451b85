// SPDX-License-Identifier: GPL-2.0-only
// Interpreted machine code next to TypeScript guest intrinsics: instructions
// per second are the per-iteration instruction count divided by the time
// `deno bench` reports.
import "../use_sim_backend.ts";
import { load_backend } from "../../include/libc/backend.ts";
import { KVM_EXIT_IO } from "../../include/linux/kvm.ts";
import { set_exe_file } from "../backend.ts";
import { code_vm } from "../testdata/code_vm.ts";
import { hex } from "../testdata/raw_code_progs.ts";
import { test_vm } from "./testdata/machine.ts";
import { guest_write_loop_num } from "./testdata/guest.ts";
import type { vcpu_thread } from "./vcpu_thread.ts";

set_exe_file([]);

/**
 * Two 64-bit loops, each ending in `out 0x80, al` and a jump back:
 *
 * ```asm
 * 0x1000: mov ecx, 0x100000        ; 4 x 2^20 register instructions
 *    1:   add rax, rcx
 *         xor rbx, rax
 *         dec ecx
 *         jnz 1b
 *         out 0x80, al
 *         jmp 0x1000
 * 0x1013: mov ecx, 0x40000         ; 5 x 2^18 instructions, 2 memory accesses
 *         mov edi, 0x40000
 *    2:   mov rax, [rdi]
 *         add rax, rcx
 *         mov [rdi + 8], rax
 *         dec ecx
 *         jnz 2b
 *         out 0x80, al
 *         jmp 0x1013
 * ```
 */
const LOOPS = hex(
  "b9000010004801c84831c3ffc975f6e680ebedb900000400bf00000400488b074801c848894708ffc975f2e680ebe4",
);

const sim = await load_backend("sim");

function raw_loop(entry: number): code_vm {
  const vm = new code_vm(sim);
  vm.load(0x1000, LOOPS);
  vm.write_page_tables();
  vm.set_mode("long", entry, { rsp: 0x9000n });
  if (vm.step().reason !== KVM_EXIT_IO) throw new Error("the loop did not reach its OUT");
  return vm;
}

const alu = raw_loop(0x1000);
Deno.bench("interpreted: 4 x 2^20 register instructions (add, xor, dec, jnz) per exit", {
  group: "instructions",
}, () => {
  alu.step();
});

const mem = raw_loop(0x1013);
Deno.bench("interpreted: 5 x 2^18 instructions with 2 memory accesses per loop, per exit", {
  group: "instructions",
}, () => {
  mem.step();
});

const tvm = new test_vm();
const wr: vcpu_thread = tvm.vcpu(guest_write_loop_num, [0x380000n]);
wr.enter();
Deno.bench("TypeScript guest: 2^20 writeq intrinsics per exit", {
  group: "instructions",
  baseline: true,
}, () => {
  wr.vmcs.rip += BigInt(wr.vmcs.exit_instruction_len);
  wr.enter();
});

globalThis.addEventListener("unload", () => {
  alu[Symbol.dispose]();
  mem[Symbol.dispose]();
  wr.destroy();
});
