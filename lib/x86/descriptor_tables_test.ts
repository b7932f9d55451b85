// SPDX-License-Identifier: GPL-2.0-only
// vm_init_descriptor_tables(): each VM's IDT sends every vector to its own
// exception stub, through a 64-bit interrupt gate in the kernel code segment.
import "../../sim/use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { addr_gva2hva, kvm_vm_free, vm_create } from "../kvm_util.ts";
import type { kvm_vm } from "../../include/kvm_util_types.ts";
import { user_memory } from "../../include/libc/syscall.ts";
import { KERNEL_CS } from "../../include/x86/processor.ts";
import { guest_code_gva, guest_code_gvas } from "../elf.ts";
import { idt_handler_name, vm_init_descriptor_tables } from "./processor.ts";

/** Guest function placed ahead of the stubs in the last test. */
export function descriptor_tables_test_first(): void {}

/** The 256 gates of `vm`'s IDT: target, selector, type/attribute bits. */
function gates(vm: kvm_vm): { target: bigint; selector: number; bits: number }[] {
  const b = user_memory(addr_gva2hva(vm, vm.arch.idt), 256 * 16);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: 256 }, (_, i) => ({
    target: BigInt(dv.getUint16(i * 16, true)) |
      (BigInt(dv.getUint16(i * 16 + 6, true)) << 16n) |
      (BigInt(dv.getUint32(i * 16 + 8, true)) << 32n),
    selector: dv.getUint16(i * 16 + 2, true),
    bits: dv.getUint16(i * 16 + 4, true),
  }));
}

function expect_stub_gates(vm: kvm_vm, why: string): void {
  const stubs = guest_code_gvas(vm, Array.from({ length: 256 }, (_, i) => idt_handler_name(i)));
  for (const [i, g] of gates(vm).entries()) {
    assertEquals(g.target, stubs[i], `${why}: vector ${i} goes to its stub`);
    assertEquals(g.selector, KERNEL_CS, `${why}: vector ${i}`);
    // Present, DPL 0, 64-bit interrupt gate, IST 0.
    assertEquals(g.bits, 0x8e00, `${why}: vector ${i}`);
  }
}

Deno.test("every VM's IDT sends each vector to that VM's stub", () => {
  const vms = [vm_create(1), vm_create(1)];
  try {
    for (const [n, vm] of vms.entries()) expect_stub_gates(vm, `VM ${n}`);
  } finally {
    for (const vm of vms) kvm_vm_free(vm);
  }
});

Deno.test("stubs placed elsewhere get gates to where they are", () => {
  const vm = vm_create(1);
  try {
    // The stubs forgotten and other code placed first: they move on.
    const names = Array.from({ length: 256 }, (_, i) => idt_handler_name(i));
    const before = guest_code_gvas(vm, names);
    for (const name of names) vm.image!.functions.delete(name);
    guest_code_gva(vm, descriptor_tables_test_first);
    vm_init_descriptor_tables(vm);
    const after = guest_code_gvas(vm, names);
    assertEquals(after[0]! > before[255]!, true, "the stubs were placed again, further on");
    expect_stub_gates(vm, "moved stubs");
  } finally {
    kvm_vm_free(vm);
  }
});
