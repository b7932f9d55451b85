// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/ucall.c`: the x86 ucall exit.
 *
 * - Ordinary VMs: the guest executes an 8-bit `in` from port
 *   `UCALL_PIO_PORT` (0x1000) with RDI = the host address of its ucall; KVM
 *   exits with `KVM_EXIT_IO`, and the host reads RDI with `KVM_GET_REGS`.
 * - TDX (the TDX selftest series): a TD's registers are not readable by the
 *   host, so the guest writes the address with a TDVMCALL MMIO write of 8
 *   bytes to `ucall_mmio_gpa` (the first GPA after memslot 0, with the
 *   S-bit), which exits with `KVM_EXIT_MMIO`. The branch is chosen by the
 *   `vm_type` guest global; the TDVMCALL itself belongs to `lib/x86/tdx/`.
 *
 * @module
 */

import { u64, u8 } from "../../include/c/layout.ts";
import { kvm_regs, KVM_X86_TDX_VM } from "../../include/asm/kvm.ts";
import { KVM_EXIT_IO, KVM_EXIT_MMIO } from "../../include/linux/kvm.ts";
import type { gpa_t, kvm_vcpu, kvm_vm } from "../../include/kvm_util_types.ts";
import { sync_global_to_guest, vcpu_regs_get } from "../kvm_util.ts";
import { guest_global } from "../guest_globals.ts";
import { guest_cpu } from "../guest_insn.ts";

/** C `UCALL_EXIT_REASON`: the exit of a ucall on x86 (not on TDX, whose ucall is MMIO). */
export const UCALL_EXIT_REASON: number = KVM_EXIT_IO;
/** C `UCALL_PIO_PORT`. */
export const UCALL_PIO_PORT = 0x1000;
/** C `MMIO_SIZE_8B`. */
const MMIO_SIZE_8B = 8;

/** C `vm_type`, synced to the guest so it picks its ucall exit. */
const vm_type = guest_global("vm_type", u8);
/** C `ucall_mmio_gpa` (guest: with the S-bit). */
const ucall_mmio_gpa = guest_global("ucall_mmio_gpa", u64);
/** C `host_ucall_mmio_gpa` (host only: the untagged GPA KVM reports). */
let host_ucall_mmio_gpa = 0n;

/**
 * C `ucall_arch_init(vm, mmio_gpa)`.
 *
 * @param vm the VM
 * @param mmio_gpa the first GPA after memslot 0
 */
export function ucall_arch_init(vm: kvm_vm, mmio_gpa: gpa_t): void {
  vm_type.value = vm.type;
  sync_global_to_guest(vm, vm_type);
  if (vm.type === KVM_X86_TDX_VM) {
    host_ucall_mmio_gpa = mmio_gpa;
    ucall_mmio_gpa.value = mmio_gpa | vm.arch.s_bit;
    sync_global_to_guest(vm, ucall_mmio_gpa);
  }
}

/**
 * The TDVMCALL MMIO write a TD's ucall uses; installed by the TDX library
 * (`lib/x86/tdx/`), which owns TDCALL.
 */
let tdx_mmio_write: ((gpa: bigint, size: number, data: bigint) => void) | undefined;

/**
 * Install the TD ucall path (called by the TDX guest library when it loads).
 *
 * @param fn `tdx_mmio_write(gpa, size, data)`
 */
export function ucall_arch_set_tdx_mmio_write(
  fn: (gpa: bigint, size: number, data: bigint) => void,
): void {
  tdx_mmio_write = fn;
}

/**
 * C `ucall_arch_do_ucall(uc)` (guest): exit to the host with the ucall's
 * host address.
 *
 * @param uc the host address of the ucall (or `GUEST_UCALL_FAILED`, or 0)
 */
export function ucall_arch_do_ucall(uc: bigint): void {
  if (vm_type.value === KVM_X86_TDX_VM) {
    if (!tdx_mmio_write) throw new Error("TD ucall without the TDX guest library");
    tdx_mmio_write(ucall_mmio_gpa.value, MMIO_SIZE_8B, BigInt.asUintN(64, uc));
    return;
  }
  // C: `in %dx, %al` with RDI = uc, saving what the in-kernel emulator of a
  // nested guest might clobber; one instruction here, with RDI set first.
  const cpu = guest_cpu();
  const saved = cpu.get_reg("rdi");
  cpu.set_reg("rdi", BigInt.asUintN(64, uc));
  cpu.inb(UCALL_PIO_PORT);
  cpu.set_reg("rdi", saved);
}

/**
 * C `ucall_arch_get_ucall(vcpu)` (host): the ucall's host address if the
 * exit is a ucall, else 0.
 *
 * @param vcpu the vCPU
 * @returns the address, or 0
 */
export function ucall_arch_get_ucall(vcpu: kvm_vcpu): bigint {
  const run = vcpu.run;
  if (vcpu.vm.type === KVM_X86_TDX_VM) {
    if (
      run.exit_reason === KVM_EXIT_MMIO && run.mmio.phys_addr === host_ucall_mmio_gpa &&
      run.mmio.len === MMIO_SIZE_8B && run.mmio.is_write
    ) {
      const d = run.mmio.data.$bytes;
      return new DataView(d.buffer, d.byteOffset, 8).getBigUint64(0, true);
    }
  }
  if (run.exit_reason === KVM_EXIT_IO && run.io.port === UCALL_PIO_PORT) {
    const regs = kvm_regs.alloc();
    vcpu_regs_get(vcpu, regs);
    return regs.rdi;
  }
  return 0n;
}
