// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest functions for `lib/x86/guest_runtime_td_test.ts`: TDs whose
 * TypeScript guest code runs through the TD guest runtime. This module is the
 * guest image of those TDs (it creates them), so it makes no system call at
 * load.
 *
 * @module
 */

import { offsetof, u64 } from "../../../include/c/layout.ts";
import {
  __vm_create,
  addr_gva2gpa,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  guest_global,
  type kvm_vcpu,
  type kvm_vm,
  readq,
  ucall,
  UCALL_SYNC,
  vm_alloc_page,
  vm_vcpu_add,
} from "../../../include/kvm_util.ts";
import { ref } from "../../../include/kvm_util_types.ts";
import { VM_SHAPE_TDX } from "../../../include/x86/processor.ts";
import { TDG_MR_REPORT, TDX_SUCCESS } from "../../../include/x86/tdx/tdcall.ts";
import { tdx_report, TDX_REPORT_SIZE } from "../../../include/x86/tdx/tdreport.ts";
import { guest_cpu } from "../../guest_insn.ts";
import { tdg_vp_vmcall_instruction_io } from "../tdx/tdx.ts";
import { PORT_WRITE, tdx_test_success } from "../tdx/test_util_guest.ts";

/** The port of {@linkcode guest_td_io}'s report. */
export const TD_IO_PORT = 0x5a;
/** The value {@linkcode guest_td_io} writes to it. */
export const TD_IO_VALUE = 0x6f7e8d9cn;

/** Guest: one TDVMCALL<Instruction.IO> write of {@linkcode TD_IO_VALUE}, then success. */
export function guest_td_io(): void {
  GUEST_ASSERT_EQ(tdg_vp_vmcall_instruction_io(TD_IO_PORT, 4, PORT_WRITE, ref(TD_IO_VALUE)), 0n);
  tdx_test_success();
}

/** GVA of the report buffer (a private page). */
export const report_gva = guest_global("gr_td_report_gva", u64);
/** Its GPA: TDG.MR.REPORT takes guest physical addresses. */
export const report_gpa = guest_global("gr_td_report_gpa", u64);

/** Bytes of MRTD (SHA-384). */
export const MRTD_SIZE = 48;

/** Guest: TDG.MR.REPORT, then MRTD to the host as six u64s of one UCALL_SYNC. */
export function guest_td_mrtd(): void {
  const gpa = report_gpa.value;
  const args = { rcx: gpa, rdx: gpa + BigInt(TDX_REPORT_SIZE), r8: 0n };
  GUEST_ASSERT_EQ(guest_cpu().tdcall(TDG_MR_REPORT, args), TDX_SUCCESS);
  const mrtd = report_gva.value + BigInt(offsetof(tdx_report, "tdinfo.mrtd"));
  const q = (i: number): bigint => readq(mrtd + BigInt(8 * i));
  ucall(UCALL_SYNC, 6, q(0), q(1), q(2), q(3), q(4), q(5));
  GUEST_DONE();
}

/**
 * A TD with one vCPU entering `fn`, created from this module, not yet
 * finalized (the caller may change what is measured first). For
 * {@linkcode guest_td_mrtd} the report page is allocated and its globals set
 * (the caller syncs them).
 *
 * @param fn the guest entry point
 * @returns the TD and its vCPU
 */
export function gr_td_create(fn: () => void): { vm: kvm_vm; vcpu: kvm_vcpu } {
  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu = vm_vcpu_add(vm, 0, fn);
  if (fn === guest_td_mrtd) {
    report_gva.value = vm_alloc_page(vm);
    report_gpa.value = addr_gva2gpa(vm, report_gva.value);
  }
  return { vm, vcpu };
}
