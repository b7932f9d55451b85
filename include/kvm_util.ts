// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/kvm_util.h`: what a selftest
 * includes to create VMs and vCPUs, manage guest memory, run vCPUs and talk
 * to the guest. Like the C header it also brings in `ucall_common.h` and the
 * test_util macros.
 *
 * The declarations are in `include/kvm_util_types.ts`; the functions (C's
 * `kvm_util.c` plus the header's static inlines and macros) in
 * `lib/kvm_util.ts`.
 *
 * @module
 */

export * from "./kvm_util_types.ts";
export * from "../lib/kvm_util.ts";
export * from "./ucall_common.ts";
export * from "./x86/kvm_util_arch.ts";
// C kvm_util.h's MMIO_WRITE() / MMIO_READ(), over kvm_arch_mmio_write() / _read().
export { MMIO_READ, MMIO_WRITE } from "../lib/x86/mmio.ts";
export * from "./test_util.ts";
export { guest_global } from "../lib/guest_globals.ts";
export { guest_code_gva, kvm_vm_elf_load } from "../lib/elf.ts";
// Guest code dereferences pointers with these (`READ_ONCE(*(u8 *)p)` is `readb(p)`).
export {
  type guest_ptr,
  guest_view,
  memcpy,
  memset,
  readb,
  readl,
  readq,
  readw,
  writeb,
  writel,
  writeq,
  writew,
} from "../lib/guest_memory.ts";
