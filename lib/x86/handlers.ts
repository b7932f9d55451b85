// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/handlers.S`: the 256 exception
 * entry stubs (`idt_handlers[]`) that `vm_init_descriptor_tables()` points the
 * IDT at. Each is an SDK guest function registered by name
 * (`idt_handler_<vector>`, see `include/guest_code.ts`), so its code record
 * is placed in every VM's image and the vCPU worker resolves it without the
 * test module exporting anything.
 *
 * In C the stub saves the GPRs into a `struct ex_regs`, calls
 * `route_exception()` and restores them before `iretq`. Here the CPU model
 * builds the `ex_regs` frame when it delivers the exception through the IDT,
 * calls the stub with it and resumes from the (possibly changed) frame when
 * the stub returns, so the stub is only the call.
 *
 * The stubs are registered when this module loads, on the host and in every
 * vCPU worker (both load it through `lib/x86/processor.ts`).
 *
 * @module
 */

import { guest_fn_register } from "../../include/guest_code.ts";
import { callsite } from "../../include/linux/stringify.ts";
import { ucall_assert, UCALL_UNHANDLED } from "../ucall_common.ts";
import { kvm_fixup_exception } from "./fep.ts";
import { type ex_regs_view, route_exception } from "./guest.ts";
import { exception_handlers } from "./processor.ts";

/** The number of stubs: one per IDT vector (C `NUM_INTERRUPTS`). */
const NR_IDT_HANDLERS = 256;

/**
 * C `route_exception(regs)` as the stubs call it: the handler installed for
 * the vector (`vm_install_exception_handler`), else `kvm_fixup_exception()`
 * for a machine-code `KVM_ASM_SAFE` sequence (lib/x86/fep.ts), else a
 * `UCALL_UNHANDLED` naming
 * the vector and RIP, which `vcpu_run()` turns into the host's test failure
 * (`assert_on_unhandled_exception`). The ucall is `UCALL_UNHANDLED` rather
 * than newer upstream's `GUEST_FAIL` (`UCALL_ABORT`) so that tests which
 * expect guest asserts back from `vcpu_run()` (guest_print_test) keep them.
 *
 * @param regs the exception frame
 */
export function idt_route_exception(regs: ex_regs_view): void {
  if (route_exception(regs, exception_handlers.value)) return;
  // An installed handler comes first; then a `KVM_ASM_SAFE` sequence's fixup.
  if (kvm_fixup_exception(regs)) return;
  // C passes __FILE__ and __LINE__ of this call.
  const here = callsite(0);
  ucall_assert(
    UCALL_UNHANDLED,
    "Unhandled exception in guest",
    here?.file ?? "handlers.ts",
    here?.line ?? 0,
    "Unhandled exception '0x%lx' at guest RIP '0x%lx'",
    regs.vector,
    regs.rip,
  );
}

/** The registry name of the stub for `vector` (C `idt_handlers[vector]`). */
export function idt_handler_name(vector: number): string {
  return `idt_handler_${vector}`;
}

for (let vector = 0; vector < NR_IDT_HANDLERS; vector++) {
  // One function per vector, as handlers.S has one stub per vector; they share
  // their source text, which is what their code records carry.
  const stub = (regs: ex_regs_view): void => idt_route_exception(regs);
  guest_fn_register(idt_handler_name(vector), stub);
}
