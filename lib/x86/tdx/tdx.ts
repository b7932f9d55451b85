// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/tdx/tdx.c`: the guest side of
 * the TDX library, TDG.VP.VMCALL requests to the VMM. Importing it installs
 * {@linkcode tdx_mmio_write} as the ucall exit of a TD (`lib/x86/ucall.ts`),
 * which is how the series' `ucall_arch_do_ucall()` calls it for a TDX VM.
 *
 * @module
 */

import { TDG_VP_VMCALL } from "../../../include/x86/tdx/tdcall.ts";
import { guest_cpu } from "../../guest_insn.ts";
import { ucall_arch_set_tdx_mmio_write } from "../ucall.ts";

/** C `TDG_VP_VMCALL_VE_REQUEST_MMIO`: #VE.RequestMMIO (the EPT-violation exit reason). */
const TDG_VP_VMCALL_VE_REQUEST_MMIO = 48n;
/** C `TDVMCALL_MMIO_WRITE`. */
const TDVMCALL_MMIO_WRITE = 1n;
/** C `TDVMCALL_EXPOSE_REGS_MASK`: R10..R15 reach the VMM. */
const TDVMCALL_EXPOSE_REGS_MASK = 0xfc00n;

/** C `MMIO_SIZE_1B` (`enum mmio_size`). */
export const MMIO_SIZE_1B = 1;
/** C `MMIO_SIZE_2B`. */
export const MMIO_SIZE_2B = 2;
/** C `MMIO_SIZE_4B`. */
export const MMIO_SIZE_4B = 4;
/** C `MMIO_SIZE_8B`. */
export const MMIO_SIZE_8B = 8;

/**
 * C `tdx_mmio_write(address, size, data_in)` (guest): TDG.VP.VMCALL
 * #VE.RequestMMIO, a write of `size` bytes of `data_in` at GPA `address`
 * (which carries the S-bit for shared memory). KVM exits to userspace with
 * `KVM_EXIT_MMIO` unless an in-kernel device takes it.
 *
 * @param address the GPA
 * @param size the access size (`MMIO_SIZE_*`)
 * @param data_in the value
 * @returns R10: 0 (`TDVMCALL_SUCCESS`) or the VMM's error
 */
export function tdx_mmio_write(address: bigint, size: number, data_in: bigint): bigint {
  const args = {
    rcx: TDVMCALL_EXPOSE_REGS_MASK,
    r10: BigInt(TDG_VP_VMCALL),
    r11: TDG_VP_VMCALL_VE_REQUEST_MMIO,
    r12: BigInt(size),
    r13: TDVMCALL_MMIO_WRITE,
    r14: address,
    r15: data_in,
  };
  guest_cpu().tdcall(TDG_VP_VMCALL, args);
  return args.r10;
}

ucall_arch_set_tdx_mmio_write(tdx_mmio_write);
