// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/kvm_util_arch.h`, for
 * what Sean's review of the TDX series (v12) asked it to hold: the x86
 * `kvm_arch_mmio_write()` / `kvm_arch_mmio_read()` behind `MMIO_WRITE()` /
 * `MMIO_READ()`, which pick a TDVMCALL, the GHCB or a plain access by VM
 * type. `struct kvm_vm_arch` is in `include/kvm_util_types.ts`; the
 * accessors are in `lib/x86/mmio.ts`.
 *
 * @module
 */

export { kvm_arch_mmio_read, kvm_arch_mmio_write } from "../../lib/x86/mmio.ts";
