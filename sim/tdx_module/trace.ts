// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TDX classes of `KVM_SELFTESTS_TRACE` (`include/libc/trace.ts`): names
 * of TDCALL leaves, TDVMCALL leaves and statuses, SEAMCALL statuses, and the
 * lines the simulated KVM (`sim/kernel/arch/x86/kvm/vmx/tdx.ts`) prints:
 *
 * ```text
 * kvm_trace: tdvmcall GetTdVmCallInfo r11=0x10000 r12=0x0 r13=0x0 r14=0x0 r15=0x0
 * kvm_trace: tdvmcall GetTdVmCallInfo -> TDG_VP_VMCALL_SUCCESS
 * kvm_trace: tdcall TDG.MR.REPORT rcx=0x... rdx=0x... r8=0x0 r9=0x0 -> TDX_SUCCESS
 * kvm_trace: seamcall TDH.MEM.PAGE.ADD gpa=0xffffe000 sha256=... -> TDX_SUCCESS
 * ```
 *
 * @module
 */

import * as tdcall from "../../include/x86/tdx/tdcall.ts";
import * as tdx from "../../include/x86/tdx/tdx.ts";
import { hex, kvm_trace, trace_emit } from "../../include/libc/trace.ts";
import { sha256 } from "../../include/crypto/sha2.ts";
import type { tdx_td } from "./td.ts";

/** GHCI names of the TDG.VP.VMCALL leaves (R11), as the spec writes them. */
const TDVMCALL_LEAVES: ReadonlyMap<bigint, string> = new Map([
  [tdx.TDG_VP_VMCALL_INSTRUCTION_CPUID, "Instruction.CPUID"],
  [tdx.TDG_VP_VMCALL_INSTRUCTION_HLT, "Instruction.HLT"],
  [tdx.TDG_VP_VMCALL_INSTRUCTION_IO, "Instruction.IO"],
  [tdx.TDG_VP_VMCALL_INSTRUCTION_RDMSR, "Instruction.RDMSR"],
  [tdx.TDG_VP_VMCALL_INSTRUCTION_WRMSR, "Instruction.WRMSR"],
  [tdx.TDG_VP_VMCALL_VE_REQUEST_MMIO, "#VE.RequestMMIO"],
  [tdx.TDG_VP_VMCALL_INSTRUCTION_WBINVD, "Instruction.WBINVD"],
  [tdx.TDG_VP_VMCALL_INSTRUCTION_PCONFIG, "Instruction.PCONFIG"],
  [tdx.TDG_VP_VMCALL_GET_TD_VM_CALL_INFO, "GetTdVmCallInfo"],
  [tdx.TDG_VP_VMCALL_MAP_GPA, "MapGPA"],
  [tdx.TDG_VP_VMCALL_GET_QUOTE, "GetQuote"],
  [tdx.TDG_VP_VMCALL_REPORT_FATAL_ERROR, "ReportFatalError"],
  [tdx.TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT, "SetupEventNotifyInterrupt"],
  [tdx.TDG_VP_VMCALL_SERVICE, "Service"],
]);

function constantNames(mod: Record<string, unknown>, re: RegExp): Map<bigint, string> {
  const m = new Map<bigint, string>();
  for (const [name, v] of Object.entries(mod)) {
    if (!re.test(name)) continue;
    if (typeof v === "bigint" || typeof v === "number") {
      const b = BigInt(v);
      if (!m.has(b)) m.set(b, name);
    }
  }
  return m;
}

const TDCALL_LEAVES = constantNames(tdcall, /^TDG_(VP|MR|MEM|VM|SYS)_[A-Z_]+$/);
const TDVMCALL_STATUSES = constantNames(
  tdx,
  /^TDG_VP_VMCALL_(SUCCESS|RETRY|INVALID_OPERAND|GPA_INUSE|ALIGN_ERROR|SUBFUNC_UNSUPPORTED)$/,
);
const TDX_STATUSES = constantNames(
  tdcall,
  /^TDX_(SUCCESS|NON_RECOVERABLE|OPERAND|LIFECYCLE|OP_|VCPU_|NO_VALID|MAX_|TD_KEYS|KEY_|HKID|EPT_|GPA_|PAGE_|METADATA|RND)/,
);

/** The GHCI name of TDVMCALL leaf `r11` (`R10 = 0`), or its hex value. */
export function tdvmcall_leaf_name(r10: bigint, r11: bigint): string {
  if (r10 !== 0n) return `KVM_HC(${r11})`;
  return TDVMCALL_LEAVES.get(r11) ?? hex(r11);
}

/** The `TDG_VP_VMCALL_*` name of a TDVMCALL status (R10), or its hex value. */
export function tdvmcall_status_name(r10: bigint): string {
  return TDVMCALL_STATUSES.get(BigInt.asUintN(64, r10)) ?? hex(r10);
}

/** The `TDG_*` name of a TDCALL leaf (RAX[15:0]). */
export function tdcall_leaf_name(rax: bigint): string {
  const leaf = rax & 0xffffn;
  const name = TDCALL_LEAVES.get(leaf)?.replaceAll("_", ".") ?? hex(leaf);
  const version = (rax >> 16n) & 0xffn;
  return version ? `${name}.v${version}` : name;
}

/**
 * The `TDX_*` name of a TDX module status: the class in bits 63:32, and the
 * operand id in the low bits when there is one (`TDX_OPERAND_INVALID|0x1`).
 */
export function tdx_status_name(status: bigint): string {
  const s = BigInt.asUintN(64, status);
  const name = TDX_STATUSES.get(s & tdcall.TDX_STATUS_MASK);
  if (!name) return hex(s);
  const detail = s & ~tdcall.TDX_STATUS_MASK;
  return detail ? `${name}|${hex(detail)}` : name;
}

const R10 = 10, R11 = 11;

/** A TDG.VP.VMCALL as it reaches KVM: leaf and the argument registers (R12..R15). */
export function trace_tdvmcall_enter(regs: BigUint64Array): void {
  const r10 = regs[R10]!, r11 = regs[R11]!;
  trace_emit(
    "tdvmcall",
    `${tdvmcall_leaf_name(r10, r11)} r10=${hex(r10)} r11=${hex(r11)} r12=${hex(regs[12]!)} ` +
      `r13=${hex(regs[13]!)} r14=${hex(regs[14]!)} r15=${hex(regs[15]!)}`,
  );
}

/** A TDG.VP.VMCALL completed: the status KVM (or userspace) put in R10. */
export function trace_tdvmcall_done(r10_in: bigint, r11_in: bigint, regs: BigUint64Array): void {
  const status = regs[R10]!;
  const name = r10_in !== 0n ? hex(status) : tdvmcall_status_name(status);
  trace_emit("tdvmcall", `${tdvmcall_leaf_name(r10_in, r11_in)} -> ${name}`);
}

/** A TDCALL the TDX module answered itself. */
export function trace_tdcall(rax: bigint, inputs: readonly bigint[], outcome: string): void {
  const [rcx, rdx, r8, r9] = inputs;
  trace_emit(
    "tdcall",
    `${tdcall_leaf_name(rax)} rcx=${hex(rcx!)} rdx=${hex(rdx!)} r8=${hex(r8!)} r9=${hex(r9!)} ` +
      `-> ${outcome}`,
  );
}

/**
 * A SEAMCALL KVM made: traced when `seamcall` is on; returns `status`, so a
 * call site reads `st = traced_seamcall("TDH.MNG.CREATE", tdh_mng_create(td, hkid))`.
 */
export function traced_seamcall(name: string, status: bigint, gpa?: bigint): bigint {
  if (kvm_trace.seamcall) {
    trace_emit(
      "seamcall",
      `${name}${gpa === undefined ? "" : ` gpa=${hex(gpa)}`} -> ${tdx_status_name(status)}`,
    );
  }
  return status;
}

/**
 * TDH.MEM.PAGE.ADD of `source` at `gpa`, and for a measured add the 16
 * TDH.MR.EXTENDs of the page (one line: `gpa=<page> chunks=16`), with the
 * SHA-256 of the page's content so a page-by-page comparison (`deno task mrtd`)
 * can tell which page changed.
 */
export function trace_page_add(
  gpa: bigint,
  source: Uint8Array,
  measured: boolean,
  status: bigint,
): bigint {
  if (!kvm_trace.seamcall) return status;
  const digest = Array.from(sha256(source), (b) => b.toString(16).padStart(2, "0")).join("");
  trace_emit(
    "seamcall",
    `TDH.MEM.PAGE.ADD gpa=${hex(gpa)} sha256=${digest} -> ${tdx_status_name(status)}`,
  );
  if (measured && status === tdcall.TDX_SUCCESS) {
    trace_emit("seamcall", `TDH.MR.EXTEND gpa=${hex(gpa)} chunks=16 -> TDX_SUCCESS`);
  }
  return status;
}

/** TDH.MR.FINALIZE, with the MRTD it closes. */
export function trace_mr_finalize(td: tdx_td, status: bigint): bigint {
  if (!kvm_trace.seamcall) return status;
  const mrtd = status === tdcall.TDX_SUCCESS
    ? ` mrtd=${Array.from(td.measurement.mrtd, (b) => b.toString(16).padStart(2, "0")).join("")}`
    : "";
  trace_emit("seamcall", `TDH.MR.FINALIZE${mrtd} -> ${tdx_status_name(status)}`);
  return status;
}
