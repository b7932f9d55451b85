// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/tdx/tdx.c`: the guest side of
 * the TDX library. Each `tdg_vp_vmcall_*()` is one GHCI request to the VMM
 * (TDG.VP.VMCALL through `__tdx_hypercall()`) and returns the VMM's status
 * (R10); each `tdg_*()` without `vp_vmcall` is one TDCALL to the TDX module
 * (`__tdx_module_call()`) and returns the module's status (RAX). Outputs go
 * to `Ref` out-parameters, which may be `null` where C accepts `NULL`.
 *
 * The request helpers are the v8 series' (August 2025); `tdx_mmio_write()` is
 * v13's, which kept only it. Importing this module installs it as the ucall
 * exit of a TD (`lib/x86/ucall.ts`), which is how the series'
 * `ucall_arch_do_ucall()` reaches it for a TDX VM.
 *
 * @module
 */

import type { Ref } from "../../../include/kvm_util_types.ts";
import {
  TDG_MEM_PAGE_ACCEPT,
  TDG_MR_REPORT,
  TDG_MR_RTMR_EXTEND,
  TDG_VP_INFO,
  TDG_VP_VEINFO_GET,
  TDX_HCALL_HAS_OUTPUT,
  type tdx_hypercall_args,
  type tdx_module_output,
} from "../../../include/x86/tdx/tdcall.ts";
import {
  TDG_VP_VMCALL_GET_QUOTE,
  TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
  TDG_VP_VMCALL_INSTRUCTION_CPUID,
  TDG_VP_VMCALL_INSTRUCTION_HLT,
  TDG_VP_VMCALL_INSTRUCTION_IO,
  TDG_VP_VMCALL_INSTRUCTION_PCONFIG,
  TDG_VP_VMCALL_INSTRUCTION_RDMSR,
  TDG_VP_VMCALL_INSTRUCTION_WBINVD,
  TDG_VP_VMCALL_INSTRUCTION_WRMSR,
  TDG_VP_VMCALL_MAP_GPA,
  TDG_VP_VMCALL_REPORT_FATAL_ERROR,
  TDG_VP_VMCALL_SERVICE,
  TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT,
  TDG_VP_VMCALL_VE_REQUEST_MMIO,
  TDG_VP_VMCALL_VE_REQUEST_MMIO_READ,
  TDG_VP_VMCALL_VE_REQUEST_MMIO_WRITE,
  TDX_HYPERCALL_STANDARD,
  type ve_info,
} from "../../../include/x86/tdx/tdx.ts";
import { __tdx_hypercall, __tdx_module_call } from "./tdcall.ts";

/** GHCI ReportFatalError R12 bit 63: R13 holds the GPA of more error data. */
const TDX_REPORT_FATAL_ERROR_GPA_VALID = 1n << 63n;
/** C `PAGE_MASK` for the 4 KiB pages TDG.MEM.PAGE.ACCEPT names. */
const PAGE_MASK = ~0xfffn;

/** A `tdx_hypercall_args` for sub-function `r11`; unset registers are 0, as C's initialiser. */
function hypercall_args(r11: bigint): tdx_hypercall_args {
  return { r10: TDX_HYPERCALL_STANDARD, r11, r12: 0n, r13: 0n, r14: 0n, r15: 0n };
}

/** A zeroed `tdx_module_output` (C's `memset(&out, 0, ...)`). */
function module_output(): tdx_module_output {
  return { rcx: 0n, rdx: 0n, r8: 0n, r9: 0n, r10: 0n, r11: 0n };
}

/** C `u64` of an argument that C passes as an integer of any width. */
function u64(v: number | bigint): bigint {
  return BigInt.asUintN(64, BigInt(v));
}

/**
 * C `tdg_vp_vmcall_instruction_io(port, size, write, data)` (guest):
 * TDG.VP.VMCALL<Instruction.IO>, an `out` (`write` = 1) of `data.value` or an
 * `in` (`write` = 0) into `data`. KVM refuses sizes other than 1, 2 and 4
 * with `TDG_VP_VMCALL_INVALID_OPERAND`, without an exit.
 *
 * @param port the I/O port
 * @param size the access size in bytes
 * @param write 1 for OUT, 0 for IN (`PORT_WRITE` / `PORT_READ`)
 * @param data the value to write; receives the value read
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_instruction_io(
  port: number | bigint,
  size: number | bigint,
  write: number | bigint,
  data: Ref<bigint>,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_INSTRUCTION_IO);
  args.r12 = u64(size);
  args.r13 = u64(write);
  args.r14 = u64(port);
  if (write) args.r15 = u64(data.value);
  const ret = __tdx_hypercall(args, write ? 0 : TDX_HCALL_HAS_OUTPUT);
  if (!write) data.value = args.r11;
  return ret;
}

/**
 * C `tdg_vp_vmcall_report_fatal_error(error_code, data_gpa)` (guest):
 * TDG.VP.VMCALL<ReportFatalError>. KVM exits with `KVM_EXIT_SYSTEM_EVENT`
 * (`KVM_SYSTEM_EVENT_TDX_FATAL`) and the TD's registers in
 * `system_event.data[]`: R12 (the code) in `data[12]`, R13 in `data[13]`. A
 * non-zero `data_gpa` sets bit 63 of the code, as the GHCI asks.
 *
 * @param error_code the error code (GHCI: bits 31:0 zero, 62:32 TD-specific)
 * @param data_gpa the GPA of more error data, or 0
 */
export function tdg_vp_vmcall_report_fatal_error(
  error_code: number | bigint,
  data_gpa: number | bigint,
): void {
  let code = u64(error_code);
  if (data_gpa) code |= TDX_REPORT_FATAL_ERROR_GPA_VALID;
  const args = hypercall_args(TDG_VP_VMCALL_REPORT_FATAL_ERROR);
  args.r12 = code;
  args.r13 = u64(data_gpa);
  __tdx_hypercall(args, 0);
}

/**
 * C `tdg_vp_vmcall_get_td_vmcall_info(&r11, &r12, &r13, &r14)` (guest):
 * TDG.VP.VMCALL<GetTdVmCallInfo> leaf 0, which a GHCI 1.0 VMM answers with
 * zeros in R11..R14 (no extension).
 *
 * @param r11 receives R11, or null
 * @param r12 receives R12, or null
 * @param r13 receives R13, or null
 * @param r14 receives R14, or null
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_get_td_vmcall_info(
  r11: Ref<bigint> | null,
  r12: Ref<bigint> | null,
  r13: Ref<bigint> | null,
  r14: Ref<bigint> | null,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_GET_TD_VM_CALL_INFO);
  const ret = __tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT);
  if (r11) r11.value = args.r11;
  if (r12) r12.value = args.r12;
  if (r13) r13.value = args.r13;
  if (r14) r14.value = args.r14;
  return ret;
}

/**
 * C `tdg_vp_vmcall_instruction_rdmsr(index, &ret_value)` (guest):
 * TDG.VP.VMCALL<Instruction.RDMSR>. An MSR KVM does not emulate for a TD, or
 * one the MSR filter denies, fails with `TDG_VP_VMCALL_INVALID_OPERAND` (a TD
 * cannot take a #GP from KVM) unless userspace handles MSR exits.
 *
 * @param index the MSR
 * @param ret_value receives the value, or null
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_instruction_rdmsr(
  index: number | bigint,
  ret_value: Ref<bigint> | null,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_INSTRUCTION_RDMSR);
  args.r12 = u64(index);
  const ret = __tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT);
  if (ret_value) ret_value.value = args.r11;
  return ret;
}

/**
 * C `tdg_vp_vmcall_instruction_wrmsr(index, value)` (guest):
 * TDG.VP.VMCALL<Instruction.WRMSR>.
 *
 * @param index the MSR
 * @param value the value
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_instruction_wrmsr(
  index: number | bigint,
  value: number | bigint,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_INSTRUCTION_WRMSR);
  args.r12 = u64(index);
  args.r13 = u64(value);
  return __tdx_hypercall(args, 0);
}

/**
 * C `tdg_vp_vmcall_instruction_hlt(interrupt_blocked_flag)` (guest):
 * TDG.VP.VMCALL<Instruction.HLT>. KVM halts the vCPU in the kernel (a TD
 * always has an in-kernel LAPIC): no `KVM_EXIT_HLT`. An interrupt posted to
 * the vCPU wakes it, unless the flag says interrupts are blocked; with the
 * flag clear and an interrupt already pending in the TD's virtual APIC it
 * does not halt at all. Otherwise `KVM_RUN` sleeps until a signal.
 *
 * @param interrupt_blocked_flag 1 if the TD had interrupts blocked (RFLAGS.IF = 0)
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_instruction_hlt(interrupt_blocked_flag: number | bigint): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_INSTRUCTION_HLT);
  args.r12 = u64(interrupt_blocked_flag);
  return __tdx_hypercall(args, 0);
}

/**
 * C `tdg_vp_vmcall_ve_request_mmio_read(address, size, &data_out)` (guest):
 * TDG.VP.VMCALL<#VE.RequestMMIO>, a read. KVM takes only shared GPAs (the
 * S-bit set) and sizes 1, 2, 4 and 8; `KVM_EXIT_MMIO` reports the GPA
 * without the S-bit.
 *
 * @param address the GPA, with the S-bit
 * @param size the access size in bytes
 * @param data_out receives the value read, or null
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_ve_request_mmio_read(
  address: number | bigint,
  size: number | bigint,
  data_out: Ref<bigint> | null,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_VE_REQUEST_MMIO);
  args.r12 = u64(size);
  args.r13 = TDG_VP_VMCALL_VE_REQUEST_MMIO_READ;
  args.r14 = u64(address);
  const ret = __tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT);
  if (data_out) data_out.value = args.r11;
  return ret;
}

/**
 * C `tdg_vp_vmcall_ve_request_mmio_write(address, size, data_in)` (guest):
 * TDG.VP.VMCALL<#VE.RequestMMIO>, a write of the low `size` bytes of
 * `data_in`.
 *
 * @param address the GPA, with the S-bit
 * @param size the access size in bytes
 * @param data_in the value
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_ve_request_mmio_write(
  address: number | bigint,
  size: number | bigint,
  data_in: number | bigint,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_VE_REQUEST_MMIO);
  args.r12 = u64(size);
  args.r13 = TDG_VP_VMCALL_VE_REQUEST_MMIO_WRITE;
  args.r14 = u64(address);
  args.r15 = u64(data_in);
  return __tdx_hypercall(args, 0);
}

/**
 * C `tdg_vp_vmcall_instruction_cpuid(eax, ecx, &ret_eax, &ret_ebx,
 * &ret_ecx, &ret_edx)` (guest): TDG.VP.VMCALL<Instruction.CPUID>, CPUID as
 * KVM's table for the vCPU (KVM_SET_CPUID2) answers it, not the TDX module's
 * virtual CPUID the `cpuid` instruction reads.
 *
 * @param eax the leaf
 * @param ecx the subleaf
 * @param ret_eax receives EAX, or null
 * @param ret_ebx receives EBX, or null
 * @param ret_ecx receives ECX, or null
 * @param ret_edx receives EDX, or null
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_instruction_cpuid(
  eax: number,
  ecx: number,
  ret_eax: Ref<number> | null,
  ret_ebx: Ref<number> | null,
  ret_ecx: Ref<number> | null,
  ret_edx: Ref<number> | null,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_INSTRUCTION_CPUID);
  args.r12 = BigInt(eax >>> 0);
  args.r13 = BigInt(ecx >>> 0);
  const ret = __tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT);
  // The C out-parameters are uint32_t: the upper halves are dropped.
  if (ret_eax) ret_eax.value = Number(args.r12 & 0xffffffffn);
  if (ret_ebx) ret_ebx.value = Number(args.r13 & 0xffffffffn);
  if (ret_ecx) ret_ecx.value = Number(args.r14 & 0xffffffffn);
  if (ret_edx) ret_edx.value = Number(args.r15 & 0xffffffffn);
  return ret;
}

/**
 * C `tdg_vp_info(&rcx, &rdx, &r8, &r9, &r10, &r11)` (guest): TDG.VP.INFO,
 * the TD's execution environment: RCX[5:0] GPAW, RDX the ATTRIBUTES, R8
 * NUM_VCPUS | MAX_VCPUS << 32, R9 the VCPU_INDEX, R10 bit 0 SYS_RD.
 *
 * @param rcx receives RCX, or null
 * @param rdx receives RDX, or null
 * @param r8 receives R8, or null
 * @param r9 receives R9, or null
 * @param r10 receives R10, or null
 * @param r11 receives R11, or null
 * @returns the TDX module's status
 */
export function tdg_vp_info(
  rcx: Ref<bigint> | null,
  rdx: Ref<bigint> | null,
  r8: Ref<bigint> | null,
  r9: Ref<bigint> | null,
  r10: Ref<bigint> | null,
  r11: Ref<bigint> | null,
): bigint {
  const out = module_output();
  const ret = __tdx_module_call(TDG_VP_INFO, 0n, 0n, 0n, 0n, out);
  if (rcx) rcx.value = out.rcx;
  if (rdx) rdx.value = out.rdx;
  if (r8) r8.value = out.r8;
  if (r9) r9.value = out.r9;
  if (r10) r10.value = out.r10;
  if (r11) r11.value = out.r11;
  return ret;
}

/**
 * C `tdg_vp_vmcall_map_gpa(address, size, &data_out)` (guest):
 * TDG.VP.VMCALL<MapGPA>, convert `[address, address + size)` to shared (the
 * S-bit set in `address`) or private. KVM hands it to userspace in 2 MiB
 * chunks as `KVM_EXIT_HYPERCALL` (`KVM_HC_MAP_GPA_RANGE`) if userspace
 * enabled that exit, and answers `TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED` if not.
 * An interrupt posted to the vCPU between two chunks ends the call with
 * `TDG_VP_VMCALL_RETRY` and R11 = the first GPA not converted, from which
 * the guest calls again.
 *
 * @param address the first GPA, with the S-bit for a conversion to shared
 * @param size the size in bytes (4 KiB aligned)
 * @param data_out receives R11 (on failure: the GPA where it stopped), or null
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_map_gpa(
  address: number | bigint,
  size: number | bigint,
  data_out: Ref<bigint> | null,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_MAP_GPA);
  args.r12 = u64(address);
  args.r13 = u64(size);
  const ret = __tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT);
  if (data_out) data_out.value = args.r11;
  return ret;
}

/**
 * C `tdg_mem_page_accept(gpa, level)` (guest): TDG.MEM.PAGE.ACCEPT of the
 * private page at `gpa`, which KVM added as PENDING (TDH.MEM.PAGE.AUG) after
 * a conversion to private.
 *
 * @param gpa the GPA (the page offset is dropped)
 * @param level `TDX_PS_4K` or `TDX_PS_2M`
 * @returns the TDX module's status
 */
export function tdg_mem_page_accept(gpa: number | bigint, level: number): bigint {
  return __tdx_module_call(TDG_MEM_PAGE_ACCEPT, (u64(gpa) & PAGE_MASK) | BigInt(level), 0n, 0n, 0n);
}

/**
 * C `tdg_vp_veinfo_get(&ve)` (guest): TDG.VP.VEINFO.GET, the information of
 * the last #VE, which reading it consumes (a second call fails with
 * `TDX_NO_VALID_VE_INFO`).
 *
 * @param ve receives the #VE information
 * @returns the TDX module's status
 */
export function tdg_vp_veinfo_get(ve: ve_info): bigint {
  const out = module_output();
  const ret = __tdx_module_call(TDG_VP_VEINFO_GET, 0n, 0n, 0n, 0n, out);
  ve.exit_reason = out.rcx;
  ve.exit_qual = out.rdx;
  ve.gla = out.r8;
  ve.gpa = out.r9;
  ve.instr_len = Number(out.r10 & 0xffffffffn);
  ve.instr_info = Number(out.r10 >> 32n);
  return ret;
}

/**
 * `tdg_mr_report(report_gpa, reportdata_gpa, subtype)` (guest; the kernel's
 * `tdx_mcall_get_report0()` with the GPAs explicit): TDG.MR.REPORT, a
 * TDREPORT_STRUCT (1024 bytes, 1024-byte aligned) bound to the 64 bytes of
 * REPORTDATA, both in private memory.
 *
 * @param report_gpa the GPA that receives the TDREPORT_STRUCT
 * @param reportdata_gpa the GPA of REPORTDATA (64-byte aligned)
 * @param subtype the report subtype (TDX 1.5 defines 0 only)
 * @returns the TDX module's status
 */
export function tdg_mr_report(
  report_gpa: bigint,
  reportdata_gpa: bigint,
  subtype: number,
): bigint {
  return __tdx_module_call(TDG_MR_REPORT, report_gpa, reportdata_gpa, BigInt(subtype), 0n);
}

/**
 * `tdg_mr_rtmr_extend(extension_data_gpa, index)` (guest; the kernel's
 * `tdx_mcall_extend_rtmr()` with the GPA explicit): TDG.MR.RTMR.EXTEND,
 * RTMR[index] = SHA-384(RTMR[index] || the 48 bytes at the GPA).
 *
 * @param extension_data_gpa the private GPA of the 48-byte digest (64-byte aligned)
 * @param index the RTMR, 0..3
 * @returns the TDX module's status
 */
export function tdg_mr_rtmr_extend(extension_data_gpa: bigint, index: number): bigint {
  return __tdx_module_call(TDG_MR_RTMR_EXTEND, extension_data_gpa, BigInt(index), 0n, 0n);
}

/** C `MMIO_SIZE_1B` (`enum mmio_size`). */
export const MMIO_SIZE_1B = 1;
/** C `MMIO_SIZE_2B`. */
export const MMIO_SIZE_2B = 2;
/** C `MMIO_SIZE_4B`. */
export const MMIO_SIZE_4B = 4;
/** C `MMIO_SIZE_8B`. */
export const MMIO_SIZE_8B = 8;

/**
 * C `tdx_mmio_write(address, size, data_in)` (guest, v13): the MMIO write
 * that a TD's ucall is, a `tdg_vp_vmcall_ve_request_mmio_write()` under the
 * name the v13 series gives it.
 *
 * @param address the GPA, with the S-bit
 * @param size the access size (`MMIO_SIZE_*`)
 * @param data_in the value
 * @returns the VMM's status: 0 (`TDG_VP_VMCALL_SUCCESS`) or its error
 */
export function tdx_mmio_write(address: bigint, size: number, data_in: bigint): bigint {
  return tdg_vp_vmcall_ve_request_mmio_write(address, size, data_in);
}

/**
 * TDG.VP.VMCALL<GetTdVmCallInfo> for any `leaf` (guest). Leaf 0 (the helper
 * above) asks which sub-functions the VMM supports; leaf 1 is the
 * TDVMCALL_GET_TD_VM_CALL_INFO that KVM passes to userspace as `KVM_EXIT_TDX`
 * (`run.tdx.get_tdvmcall_info`); KVM answers any other leaf with
 * `TDG_VP_VMCALL_INVALID_OPERAND`.
 *
 * @param leaf R12
 * @param r11 receives R11, or null
 * @param r12 receives R12, or null
 * @param r13 receives R13, or null
 * @param r14 receives R14, or null
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_get_td_vmcall_info_leaf(
  leaf: number | bigint,
  r11: Ref<bigint> | null,
  r12: Ref<bigint> | null,
  r13: Ref<bigint> | null,
  r14: Ref<bigint> | null,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_GET_TD_VM_CALL_INFO);
  args.r12 = u64(leaf);
  const ret = __tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT);
  if (r11) r11.value = args.r11;
  if (r12) r12.value = args.r12;
  if (r13) r13.value = args.r13;
  if (r14) r14.value = args.r14;
  return ret;
}

/**
 * TDG.VP.VMCALL<GetQuote> (guest): ask the VMM to turn the TDREPORT in the
 * shared buffer at `buffer_gpa` into a quote. KVM refuses a GPA without the
 * S-bit (`TDG_VP_VMCALL_INVALID_OPERAND`) and passes the others to userspace
 * as `KVM_EXIT_TDX` (`run.tdx.get_quote`, GPA with the S-bit stripped), whose
 * `ret` becomes the status.
 *
 * @param buffer_gpa the buffer's GPA, with the S-bit
 * @param size the buffer's size in bytes
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_get_quote(
  buffer_gpa: number | bigint,
  size: number | bigint,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_GET_QUOTE);
  args.r12 = u64(buffer_gpa);
  args.r13 = u64(size);
  return __tdx_hypercall(args, 0);
}

/**
 * TDG.VP.VMCALL<SetupEventNotifyInterrupt> (guest): ask the VMM to notify
 * events with interrupt `vector`. KVM refuses a vector outside 32..255
 * (`TDG_VP_VMCALL_INVALID_OPERAND`) and passes the others to userspace as
 * `KVM_EXIT_TDX` (`run.tdx.setup_event_notify`). KVM never raises the
 * vector itself: the VMM does (e.g. with an MSI when a GetQuote is done).
 *
 * @param vector the interrupt vector
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_setup_event_notify_interrupt(vector: number | bigint): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT);
  args.r12 = u64(vector);
  return __tdx_hypercall(args, 0);
}

/**
 * TDG.VP.VMCALL<Instruction.WBINVD> (guest): what a TD does instead of
 * WBINVD/WBNOINVD. KVM does not implement it for TDs
 * (`TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED`).
 *
 * @param wbnoinvd 0 for WBINVD, 1 for WBNOINVD (R12)
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_instruction_wbinvd(wbnoinvd: number | bigint): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_INSTRUCTION_WBINVD);
  args.r12 = u64(wbnoinvd);
  return __tdx_hypercall(args, 0);
}

/**
 * TDG.VP.VMCALL<Instruction.PCONFIG> (guest): PCONFIG's leaf and operands
 * in R12..R15. KVM does not implement it for TDs
 * (`TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED`).
 *
 * @param leaf PCONFIG's leaf (EAX)
 * @param rbx RBX
 * @param rcx RCX
 * @param rdx RDX
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_instruction_pconfig(
  leaf: number | bigint,
  rbx: number | bigint,
  rcx: number | bigint,
  rdx: number | bigint,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_INSTRUCTION_PCONFIG);
  args.r12 = u64(leaf);
  args.r13 = u64(rbx);
  args.r14 = u64(rcx);
  args.r15 = u64(rdx);
  return __tdx_hypercall(args, 0);
}

/**
 * TDG.VP.VMCALL<Service> (guest, GHCI 1.5): a service request in the shared
 * command buffer, answered in the shared response buffer. KVM does not
 * implement it (`TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED`).
 *
 * @param cmd_gpa the command buffer's GPA, with the S-bit
 * @param resp_gpa the response buffer's GPA, with the S-bit
 * @param notify_vector the vector to notify completion with, 0 for none
 * @param timeout the timeout (0: none)
 * @returns the VMM's status
 */
export function tdg_vp_vmcall_service(
  cmd_gpa: number | bigint,
  resp_gpa: number | bigint,
  notify_vector: number | bigint,
  timeout: number | bigint,
): bigint {
  const args = hypercall_args(TDG_VP_VMCALL_SERVICE);
  args.r12 = u64(cmd_gpa);
  args.r13 = u64(resp_gpa);
  args.r14 = u64(notify_vector);
  args.r15 = u64(timeout);
  return __tdx_hypercall(args, 0);
}
