// SPDX-License-Identifier: GPL-2.0-only
import "../sim/use_sim_backend.ts";
import { assertEquals, assertThrows } from "@std/assert";
import { guest_code_gva, guest_code_gvas, program_invocation_name } from "./elf.ts";
import { addr_gva2hva, kvm_vm_free, vm_create } from "./kvm_util.ts";
import {
  guest_code_record,
  guest_code_record_size,
  guest_fn_lookup,
} from "../include/guest_code.ts";
import { user_memory } from "../include/libc/syscall.ts";

Deno.test("program_invocation_name names the calling test module, however deep the call", () => {
  assertEquals(program_invocation_name(), import.meta.url);
  const deep = (n: number): string => n === 0 ? program_invocation_name() : deep(n - 1);
  // Any frame of the test module names it, the innermost first.
  assertEquals(deep(40), import.meta.url);
});

/** Guest functions of the placement test: only their code records are used. */
export function elf_test_guest_a(): void {}
/** A second function, with a longer source than the first. */
export function elf_test_guest_b(x: number): number {
  return x * 2 + 1;
}
/** A third one. */
export function elf_test_guest_c(): number {
  return 3;
}

Deno.test("guest_code_gvas places new records in order, 16-byte aligned, and reuses placed ones", () => {
  const vm = vm_create(1);
  try {
    const image = vm.image!;
    const a = guest_code_gva(vm, elf_test_guest_a);
    const gvas = guest_code_gvas(vm, [elf_test_guest_b, elf_test_guest_a, elf_test_guest_c]);
    assertEquals(gvas.length, 3);
    const [b, a2, c] = gvas as [bigint, bigint, bigint];
    assertEquals(a2, a, "a placed function keeps its address");
    const size_a = guest_code_record_size(elf_test_guest_a);
    const size_b = guest_code_record_size(elf_test_guest_b);
    assertEquals(b, a + BigInt((size_a + 15) & ~15));
    assertEquals(c, b + BigInt((size_b + 15) & ~15));
    // The exception stubs were placed by vm_create(), before any of these.
    assertEquals(guest_code_gvas(vm, ["idt_handler_3"])[0]! < a, true);
    // What sits at each address is the function's record, as the CPU fetches it.
    const at = (gva: bigint, n: number) => user_memory(addr_gva2hva(vm, gva), n);
    assertEquals(at(b, size_b), guest_code_record(elf_test_guest_b));
    assertEquals(at(a, size_a), guest_code_record(elf_test_guest_a));
    assertEquals(guest_code_gvas(vm, []), []);
    // A batch with a record that does not fit is refused whole: nothing is
    // placed, not even the records before it that would fit.
    const fits = (y: number) => y - 1;
    const too_many = (y: number) => y + 1;
    const room = (image.text_size - guest_code_record_size(fits)) & ~15;
    image.text_used = room;
    assertThrows(() => guest_code_gvas(vm, [fits, too_many]), Error, "text region full");
    assertEquals([image.functions.has(fits), image.functions.has(too_many)], [false, false]);
    assertEquals(image.text_used, room);
    // Alone, the first one fits.
    assertEquals(guest_code_gvas(vm, [fits]), [image.text + BigInt(room)]);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("a batch placed again at the same offset in another VM gets the same addresses and bytes", () => {
  // Distinct functions, enough of them for the batch to be remembered.
  const batch = Array.from({ length: 20 }, (_, i) => `idt_handler_${i}`);
  const vms = [vm_create(1), vm_create(1), vm_create(1)];
  try {
    const at = (vm: (typeof vms)[number], gva: bigint, name: string) =>
      user_memory(addr_gva2hva(vm, gva), guest_code_record_size(guest_fn_lookup(name)!, name));
    const check = (vm: (typeof vms)[number], gvas: bigint[]) => {
      for (const [i, name] of batch.entries()) {
        assertEquals(
          at(vm, gvas[i]!, name),
          guest_code_record(guest_fn_lookup(name)!, name),
          `${name} at its address`,
        );
      }
    };
    // vm_create() placed the IDT's stubs: these are new only past them.
    for (const vm of vms) for (const name of batch) vm.image!.functions.delete(name);
    const first = guest_code_gvas(vms[0]!, batch);
    check(vms[0]!, first);
    const again = guest_code_gvas(vms[1]!, batch);
    assertEquals(again, first);
    check(vms[1]!, again);
    assertEquals(vms[1]!.image!.text_used, vms[0]!.image!.text_used);
    // After another function the same batch sits further on.
    const a = guest_code_gva(vms[2]!, elf_test_guest_a);
    const moved = guest_code_gvas(vms[2]!, batch);
    assertEquals(moved[0]! > a, true);
    assertEquals(moved[0]! - first[0]!, moved[19]! - first[19]!);
    check(vms[2]!, moved);
    // A batch partly placed reuses the placed addresses and places the rest.
    assertEquals(guest_code_gvas(vms[2]!, [...batch.slice(0, 5), elf_test_guest_b])[4], moved[4]);
  } finally {
    for (const vm of vms) kvm_vm_free(vm);
  }
});
