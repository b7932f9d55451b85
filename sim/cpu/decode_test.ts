// SPDX-License-Identifier: GPL-2.0-only
// The decoder finds the instruction boundaries binutils finds: every form in
// sim/cpu/testdata/decode_vectors.ts runs on the interpreter, each followed by
// `out 0x80, al`, and the RIP of every OUT exit (the OUT itself: RIP stays at
// the exiting instruction until the kernel completes it) must be the address
// objdump gives. A wrong length derails the stream and the next check fails.
import "../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { load_backend } from "../../include/libc/backend.ts";
import { KVM_EXIT_HLT, KVM_EXIT_IO } from "../../include/linux/kvm.ts";
import { set_exe_file } from "../backend.ts";
import { code_vm, type code_vm_mode } from "../testdata/code_vm.ts";
import { hex } from "../testdata/raw_code_progs.ts";
import { L16, L32, L64, type length_vector } from "./testdata/decode_vectors.ts";

set_exe_file([]);

async function check(mode: code_vm_mode, v: length_vector): Promise<void> {
  using vm = new code_vm(await load_backend("sim"));
  vm.load(0x1000, hex(v.bytes));
  vm.write_page_tables();
  // Operands point into RAM: RBX/RBP at a scratch page, small indexes.
  vm.set_mode(mode, 0x1000, {
    rbx: 0x3000n,
    rbp: 0x3000n,
    rsi: 0x10n,
    rdi: 0x3100n,
    r9: 2n,
    rcx: 3n,
    rdx: 1n,
    rsp: 0x9000n,
  });
  const seen: number[] = [];
  for (let i = 0; i < 4 * v.outs.length; i++) {
    const e = vm.step();
    assertEquals(e.ret, 0);
    if (e.reason === KVM_EXIT_HLT) break;
    assertEquals(e.reason, KVM_EXIT_IO, `after ${v.lines[seen.length - 1]}`);
    if (e.io!.port !== 0x80) continue;
    const k = seen.length;
    assertEquals(
      Number(e.regs.rip),
      v.outs[k],
      `${v.lines[k]}: expected the next instruction at ${v.outs[k]!.toString(16)}`,
    );
    seen.push(Number(e.regs.rip));
  }
  assertEquals(seen.length, v.outs.length);
}

Deno.test(`decoder: ${L64.lines.length} instruction forms of 64-bit mode (REX, SIB, RIP-relative, moffs64, prefixes)`, async () => {
  await check("long", L64);
});

Deno.test(`decoder: ${L32.lines.length} instruction forms of 32-bit mode (0x66/0x67, SIB, string I/O)`, async () => {
  await check("prot32", L32);
});

Deno.test(`decoder: ${L16.lines.length} instruction forms of real mode (16-bit ModRM, 0x66/0x67)`, async () => {
  await check("real", L16);
});
