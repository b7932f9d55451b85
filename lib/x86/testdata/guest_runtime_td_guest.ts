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
  GUEST_SYNC,
  type kvm_vcpu,
  type kvm_vm,
  readq,
  ucall,
  UCALL_SYNC,
  vm_alloc_page,
  vm_vcpu_add,
} from "../../../include/kvm_util.ts";
import { ref } from "../../../include/kvm_util_types.ts";
import { type ex_regs_view, get_cr2 } from "../../../include/x86/processor.ts";
import { VM_SHAPE_TDX } from "../../../include/x86/processor.ts";
import { TDG_MR_REPORT, TDX_SUCCESS } from "../../../include/x86/tdx/tdcall.ts";
import { tdx_report, TDX_REPORT_SIZE } from "../../../include/x86/tdx/tdreport.ts";
import { guest_cpu } from "../../guest_insn.ts";
import { GUEST_RUNTIME_GVA, guest_runtime_image } from "../guest_runtime.ts";
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

/** GVA of {@linkcode guest_td_scan}'s region: {@linkcode SCAN_QWORDS} private qwords, nothing after. */
export const scan_gva = guest_global("gr_td_scan_gva", u64);
/** Qwords in the scanned region (8 KiB: four block copies). */
export const SCAN_QWORDS = 1024;
/** The value the host puts in qword `i` of the region. */
export const scan_value = (i: number): bigint => 0x5ca7_0000n + BigInt(i);
/** What {@linkcode guest_td_pf_handler} makes the faulting load return. */
export const PF_VALUE = 0x5a5an;
/** CR2 of the last #PF {@linkcode guest_td_pf_handler} took. */
export const pf_cr2 = guest_global("gr_td_pf_cr2", u64);

/** #PFs {@linkcode guest_td_pf_handler} took. */
export const pf_count = guest_global("gr_td_pf_count", u64);

/** Guest #PF handler: records CR2, gives the load {@linkcode PF_VALUE} and skips it. */
export function guest_td_pf_handler(regs: ex_regs_view): void {
  pf_count.value += 1n;
  pf_cr2.value = get_cr2();
  regs.rax = PF_VALUE;
  regs.rip += 1n;
}

/**
 * Guest: a sequential scan of the region (stage 1), the same qword loaded
 * 64 times (stage 2), then a scan that runs off the region's end (stage 3:
 * the value the first load past it returned, and CR2).
 */
export function guest_td_scan(): void {
  const base = scan_gva.value;
  for (let i = 0; i < SCAN_QWORDS; i++) GUEST_ASSERT_EQ(readq(base + BigInt(8 * i)), scan_value(i));
  GUEST_SYNC(1);
  for (let i = 0; i < 64; i++) GUEST_ASSERT_EQ(readq(base), scan_value(0));
  GUEST_SYNC(2);
  const end = base + BigInt(8 * SCAN_QWORDS);
  GUEST_ASSERT_EQ(readq(end - 16n), scan_value(SCAN_QWORDS - 2));
  GUEST_ASSERT_EQ(readq(end - 8n), scan_value(SCAN_QWORDS - 1));
  const past = readq(end);
  ucall(UCALL_SYNC, 4, 0n, 3n, past, pf_cr2.value);
  GUEST_DONE();
}

/** Qwords {@linkcode guest_td_scan_faulting} loads past the region's end. */
export const FAULT_QWORDS = 32;

/**
 * Guest: loads that stream through the unmapped page past the region, each
 * a #PF its handler skips: a block copy must never repeat a faulting access
 * (for a TD's MMIO each repeat would be an access the VMM sees). Reports the
 * faults taken and whether every load returned the handler's value.
 */
export function guest_td_scan_faulting(): void {
  const end = scan_gva.value + BigInt(8 * SCAN_QWORDS);
  let all = 1n;
  for (let i = 0; i < FAULT_QWORDS; i++) if (readq(end + BigInt(8 * i)) !== PF_VALUE) all = 0n;
  ucall(UCALL_SYNC, 4, 0n, 5n, pf_count.value, all);
  GUEST_DONE();
}

/** Qwords {@linkcode guest_td_read_runtime} loads. */
export const RUNTIME_QWORDS = 200;

/** Guest: loads the TD runtime's first qwords (its own measured code) and checks them, then success. */
export function guest_td_read_runtime(): void {
  const code = guest_runtime_image(true).code;
  const dv = new DataView(code.buffer, code.byteOffset, code.byteLength);
  for (let i = 0; i < RUNTIME_QWORDS; i++) {
    GUEST_ASSERT_EQ(readq(GUEST_RUNTIME_GVA + BigInt(8 * i)), dv.getBigUint64(8 * i, true));
  }
  tdx_test_success();
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
  const { vm, vcpus } = gr_td_create_vcpus(1, fn);
  const vcpu = vcpus[0]!;
  if (fn === guest_td_mrtd) {
    report_gva.value = vm_alloc_page(vm);
    report_gpa.value = addr_gva2gpa(vm, report_gva.value);
  }
  return { vm, vcpu };
}

/**
 * A TD with `n` vCPUs entering `fn`, created from this module, not yet finalized.
 *
 * @param n vCPUs
 * @param fn the guest entry point
 * @returns the TD and its vCPUs
 */
export function gr_td_create_vcpus(n: number, fn: () => void): { vm: kvm_vm; vcpus: kvm_vcpu[] } {
  const vm = __vm_create(VM_SHAPE_TDX, n, 0);
  const vcpus: kvm_vcpu[] = [];
  for (let i = 0; i < n; i++) vcpus.push(vm_vcpu_add(vm, i, fn));
  return { vm, vcpus };
}
