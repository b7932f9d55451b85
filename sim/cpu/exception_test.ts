// SPDX-License-Identifier: GPL-2.0-only
// Exceptions through the guest IDT: skip, retry, traps, #DF, triple fault, code records.
import { assert, assertEquals } from "@std/assert";
import { PTE_P, PTE_W, test_vm } from "./testdata/machine.ts";
import {
  bp_handler,
  guest_int3,
  guest_jmp,
  guest_outb,
  guest_pf,
  guest_returns,
  guest_ud2,
  pf_fix_handler,
  pf_skip_handler,
  report_handler,
  ud_skip_handler,
} from "./testdata/guest.ts";
import { expect_exit, next_report, skip } from "./testdata/kernel.ts";
import {
  BP_VECTOR,
  DF_VECTOR,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_TRIPLE_FAULT,
  GUEST_ACTIVITY_SHUTDOWN,
  INTR_INFO_VALID_MASK,
  NP_VECTOR,
  PF_VECTOR,
  UD_VECTOR,
  VCPU_REGS_RSP,
} from "./vmx.ts";

Deno.test("#UD from ud2 reaches the IDT handler, which skips it with regs.rip += 2", () => {
  const vm = new test_vm();
  vm.set_handler(UD_VECTOR, ud_skip_handler);
  using v = vm.vcpu(guest_ud2);
  const rsp = v.vmcs.regs.at(VCPU_REGS_RSP);
  assertEquals(next_report(v), UD_VECTOR);
  assertEquals(next_report(v), 0x600d);
  expect_exit(v, EXIT_REASON_HLT);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RSP), rsp, "iret restored RSP");
});

Deno.test("the hardware frame is pushed on the guest stack", () => {
  const vm = new test_vm();
  vm.set_handler(UD_VECTOR, ud_skip_handler);
  using v = vm.vcpu(guest_ud2);
  const rip = v.vmcs.rip;
  const rsp = Number(v.vmcs.regs.at(VCPU_REGS_RSP));
  next_report(v);
  // Aligned down to 16, then SS, RSP, RFLAGS, CS, RIP.
  const top = rsp & ~0xf;
  assertEquals(vm.q(top - 8), 0x10n, "SS");
  assertEquals(vm.q(top - 16), BigInt(rsp), "RSP");
  assertEquals(vm.q(top - 32), 0x8n, "CS");
  assertEquals(vm.q(top - 40), rip, "RIP of the faulting instruction");
});

Deno.test("a #PF handler that maps the page makes the access retry and succeed", () => {
  const vm = new test_vm();
  vm.set_handler(PF_VECTOR, pf_fix_handler);
  const gva = 0x660000n;
  const page = vm.alloc_page();
  vm.dv.setUint32(page, 0x600dbeef, true);
  vm.set_q(0x2ff000, BigInt(vm.entry(gva)));
  vm.set_q(0x2ff008, BigInt(page) | PTE_P | PTE_W);
  using v = vm.vcpu(guest_pf, [gva]);
  assertEquals(next_report(v), PF_VECTOR);
  assertEquals(next_report(v) >>> 0, 0x600dbeef);
});

Deno.test("int3 is a trap: the handler's plain return continues after it", () => {
  const vm = new test_vm();
  vm.set_handler(BP_VECTOR, bp_handler);
  using v = vm.vcpu(guest_int3);
  assertEquals(next_report(v), BP_VECTOR);
  assertEquals(next_report(v), 0xb3);
});

Deno.test("no IDT: #UD becomes a triple fault (EXIT_REASON_TRIPLE_FAULT)", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_ud2);
  v.vmcs.idtr.limit = 0;
  expect_exit(v, EXIT_REASON_TRIPLE_FAULT);
  assertEquals(v.vmcs.activity_state, GUEST_ACTIVITY_SHUTDOWN);
});

Deno.test("#NP while delivering #NP is a double fault, delivered to the #DF handler", () => {
  const vm = new test_vm();
  vm.set_gate(UD_VECTOR, 0n, 0, false); // not present: #NP(6*8+2+1)
  vm.set_gate(NP_VECTOR, 0n, 0, false); // not present either: #DF
  vm.set_handler(DF_VECTOR, report_handler);
  using v = vm.vcpu(guest_ud2);
  assertEquals(next_report(v), DF_VECTOR);
  assertEquals(next_report(v), 0, "#DF's error code is 0");
  // report_handler skipped 2 bytes of the faulting function: ud2 is done.
  assertEquals(next_report(v), 0x600d);
});

Deno.test("a #PF while pushing the #PF frame (bad stack) double faults, then triple faults", () => {
  const vm = new test_vm();
  vm.set_handler(PF_VECTOR, pf_skip_handler);
  using v = vm.vcpu(guest_pf, [0x650000n]);
  v.vmcs.regs.set(VCPU_REGS_RSP, 0x680000n); // unmapped stack
  expect_exit(v, EXIT_REASON_TRIPLE_FAULT);
});

Deno.test("the exception bitmap makes an exception exit instead of being delivered", () => {
  const vm = new test_vm();
  vm.set_handler(UD_VECTOR, ud_skip_handler);
  using v = vm.vcpu(guest_ud2);
  v.vmcs.exception_bitmap = 1 << UD_VECTOR;
  expect_exit(v, EXIT_REASON_EXCEPTION_NMI);
  assertEquals(v.vmcs.exit_intr_info & 0xff, UD_VECTOR);
  assert(v.vmcs.exit_intr_info & INTR_INFO_VALID_MASK);
  // Reinject it, as KVM does for an exception it does not handle itself.
  v.vmcs.exception_bitmap = 0;
  v.vmcs.entry_intr_info = v.vmcs.exit_intr_info;
  assertEquals(next_report(v), UD_VECTOR);
  assertEquals(next_report(v), 0x600d);
});

Deno.test("a returning entry function pops 0 and runs the zeroes there (`add [rax], al`) until a fetch faults: triple fault without IDT", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_returns);
  v.vmcs.idtr.limit = 0;
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  skip(v);
  expect_exit(v, EXIT_REASON_TRIPLE_FAULT);
  // Two-byte instructions from 0 end exactly at the first page whose fetch faults.
  assert(v.vmcs.rip > 0n && v.vmcs.rip % 4096n === 0n, `rip ${v.vmcs.rip.toString(16)}`);
});

Deno.test("a code record whose source text no longer matches raises #UD", () => {
  const vm = new test_vm();
  vm.set_handler(UD_VECTOR, report_handler);
  const at = vm.load_fn(guest_outb);
  // Flip one byte of the source text: the fetch checks it.
  const text_at = at + 16 + "guest_outb".length + 5;
  vm.dv.setUint8(text_at, vm.dv.getUint8(text_at) ^ 1);
  using v = vm.vcpu(guest_jmp, [BigInt(at)]);
  assertEquals(next_report(v), UD_VECTOR);
});

Deno.test("jmp to raw bytes: `jmp rel8` is executed, then the record it lands on", () => {
  const vm = new test_vm();
  const target = vm.load_fn(guest_outb);
  const tramp = 0x2fe000;
  vm.dv.setUint8(tramp, 0x90); // nop
  vm.dv.setUint8(tramp + 1, 0xe9); // jmp rel32
  vm.dv.setInt32(tramp + 2, target - (tramp + 6), true);
  using v = vm.vcpu(guest_jmp, [BigInt(tramp)]);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(v.vmcs.rip, BigInt(target));
});

Deno.test("an instruction fetch from a no-execute page is a #PF with the I/D bit", () => {
  const vm = new test_vm();
  vm.set_handler(PF_VECTOR, pf_skip_handler);
  // On a page of its own, so that the handler's code stays executable.
  const target = vm.load_fn(guest_outb, undefined, 0x2fd000);
  vm.set_q(vm.entry(BigInt(target)), vm.q(vm.entry(BigInt(target))) | (1n << 63n));
  using v = vm.vcpu(guest_jmp, [BigInt(target)]);
  assertEquals(next_report(v), target);
  assertEquals(next_report(v), 0x11, "present | fetch");
});
