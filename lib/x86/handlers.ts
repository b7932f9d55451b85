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

import type { View } from "../../include/c/layout.ts";
import { guest_fn_register } from "../../include/guest_code.ts";
import type { ex_regs } from "../../include/x86/processor.ts";
import { guest_cpu } from "../guest_insn.ts";
import { GUEST_FAIL } from "../ucall_common.ts";
import { route_exception } from "./guest.ts";
import { exception_handlers } from "./processor.ts";

/** The number of stubs: one per IDT vector (C `NUM_INTERRUPTS`). */
const NR_IDT_HANDLERS = 256;

/**
 * C `route_exception(regs)` as the stubs call it: the handler installed for
 * the vector (`vm_install_exception_handler`), or a guest failure naming the
 * vector and RIP, as upstream's `GUEST_FAIL("Unhandled exception ...")`.
 *
 * @param regs the exception frame
 */
export function idt_route_exception(regs: View<typeof ex_regs.fields>): void {
  const handled = route_exception(
    regs,
    exception_handlers.value,
    (gva, frame) => guest_cpu().call(gva, frame),
  );
  if (handled) return;
  GUEST_FAIL("Unhandled exception '0x%lx' at guest RIP '0x%lx'", regs.vector, regs.rip);
}

/** The registry name of the stub for `vector` (C `idt_handlers[vector]`). */
export function idt_handler_name(vector: number): string {
  return `idt_handler_${vector}`;
}

for (let vector = 0; vector < NR_IDT_HANDLERS; vector++) {
  // One function per vector, as handlers.S has one stub per vector; they share
  // their source text, which is what their code records carry.
  const stub = (regs: View<typeof ex_regs.fields>): void => idt_route_exception(regs);
  guest_fn_register(idt_handler_name(vector), stub);
}
