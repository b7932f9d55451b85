// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest side of the TDX module: what happens when a TD executes TDCALL.
 * {@linkcode tdg_dispatch} takes the leaf from RAX, works on the vCPU's
 * registers and the TD's private memory, and tells the caller which of four
 * things the CPU must do next:
 *
 * | outcome | registers | next |
 * | --- | --- | --- |
 * | `handled` | RAX = status, outputs written | TDCALL completes: RIP past it |
 * | `vmcall` | untouched; `exit.regs` is what the VMM sees | TD exit (reason 77, TDCALL) to KVM; on the next entry {@linkcode tdh_vp_enter_after_vmcall}, then RIP past the TDCALL |
 * | `ept_violation` | untouched | TD exit, EPT violation at `gpa` (private); KVM maps it (TDH.MEM.PAGE.AUG) or reports a memory fault; RIP unchanged, the TDCALL runs again |
 * | `ve` | untouched; #VE info written | deliver #VE (vector 20) as a fault at the TDCALL |
 *
 * TDG.VP.VMCALL rules (GHCI): RCX is the mask of GPRs the TD exposes to the
 * VMM (bit n = GPR n in RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15
 * order; bits 31:16 XMM0-15). RAX, RCX, RSP, RBP (the module keeps RBP:
 * KVM sets CONFIG_FLAGS.NO_RBP_MOD) and RCX[63:32] must be clear, else the
 * TDCALL fails with OPERAND_INVALID(RCX) and no exit. The VMM sees exposed
 * GPRs and 0 for the others; on return only exposed GPRs take the VMM's
 * values, RAX = 0 and RCX keeps the mask.
 *
 * TDG.VM.RD/WR know the TDCS fields Linux guests use: CONFIG_FLAGS,
 * TD_CTLS, NOTIFY_ENABLES, TOPOLOGY_ENUM_CONFIGURED (`include/x86/tdx/tdcall.ts`).
 *
 * @module
 */

import { kvm_trace } from "../../include/libc/trace.ts";
import {
  tdx_status_name,
  trace_tdcall,
  trace_tdvmcall_done,
  trace_tdvmcall_enter,
} from "./trace.ts";
import {
  OPERAND_ID_R8,
  OPERAND_ID_RAX,
  OPERAND_ID_RCX,
  OPERAND_ID_RDX,
  TD_CTLS_ENUM_TOPOLOGY,
  TD_CTLS_REDUCE_VE,
  TD_CTLS_VIRT_CPUID2,
  TDCS_CONFIG_NO_RBP_MOD,
  TDCS_NOTIFY_ENABLES,
  TDCS_TD_CTLS,
  TDG_MEM_PAGE_ACCEPT,
  TDG_MR_REPORT,
  TDG_MR_RTMR_EXTEND,
  TDG_VM_RD,
  TDG_VM_WR,
  TDG_VP_CPUIDVE_SET,
  TDG_VP_INFO,
  TDG_VP_INFO_SYS_RD,
  TDG_VP_VEINFO_GET,
  TDG_VP_VMCALL,
  TDX_CPUIDVE_SUPERVISOR,
  TDX_CPUIDVE_USER,
  TDX_METADATA_FIELD_ID_INCORRECT,
  TDX_METADATA_FIELD_NOT_WRITABLE,
  TDX_METADATA_WR_MASK_NOT_VALID,
  TDX_NO_VALID_VE_INFO,
  TDX_OPERAND_INVALID,
  TDX_PAGE_ALREADY_ACCEPTED,
  TDX_PAGE_SIZE_MISMATCH,
  TDX_PS_2M,
  TDX_SUCCESS,
} from "../../include/x86/tdx/tdcall.ts";
import { EXIT_REASON_CPUID, EXIT_REASON_EPT_VIOLATION } from "../../include/asm/vmx.ts";
import { TDX_REPORT_SIZE, TDX_REPORTDATA_SIZE } from "../../include/x86/tdx/tdreport.ts";
import { td_cpuid_lookup, type td_cpuid_result } from "./cpuid.ts";
import { SHA384_DIGEST_SIZE } from "./measure.ts";
import { SEPT_FREE, SEPT_MAPPED, SEPT_PENDING } from "./sept.ts";
import { gpa_to_gfn, td_private_gpa_valid } from "./tdh_mem.ts";
import { tdcs_field_read } from "./tdh_mng.ts";
import { td_report_build } from "./tdreport.ts";
import type { tdx_td, tdx_vp } from "./td.ts";

/** The guest's GPRs by index (KVM's `VCPU_REGS_*` order); `vmcs_view.regs` is one. */
export interface tdx_guest_gprs {
  /** GPR `i`. */
  at(i: number): bigint;
  /** Sets GPR `i`. */
  set(i: number, v: bigint): void;
}

/**
 * The #VE information area (TDX VE_INFO), which the CPU fills when it raises
 * #VE and TDG.VP.VEINFO.GET consumes; `vmcs_view.ve_info` is one. `valid` is
 * 0xFFFFFFFF while the information is unread, 0 after.
 */
export interface tdx_ve_info_area {
  /** 0xFFFFFFFF: valid (unread). */
  valid: number;
  /** The exit reason the #VE stands for. */
  exit_reason: number;
  /** Exit qualification. */
  exit_qualification: bigint;
  /** Guest linear address. */
  guest_linear_address: bigint;
  /** Guest physical address. */
  guest_physical_address: bigint;
  /** Instruction length. */
  instruction_length: number;
  /** Instruction information. */
  instruction_info: number;
}

/** The vCPU state a TDCALL works on; a `vmcs_view` satisfies it. */
export interface tdx_guest_state {
  /** The GPRs. */
  readonly regs: tdx_guest_gprs;
  /** The #VE information area. */
  readonly ve_info: tdx_ve_info_area;
}

/** Where a TD's private pages live: the caller resolves GFNs to guest_memfd pages. */
export interface td_private_memory {
  /**
   * The 4 KiB page frame that backs private `gfn` (a view of its
   * guest_memfd page), or `null` when there is none. The module checks the
   * Secure EPT state itself before using it.
   */
  private_page(gfn: number): Uint8Array | null;
}

/** What the VMM sees of a TDG.VP.VMCALL (the TD exit's GPRs). */
export interface tdvmcall_exit {
  /** RCX: the exposure mask. */
  readonly mask: number;
  /**
   * The 16 GPRs as the VMM reads them: exposed ones from the guest, the
   * others 0, RCX = the mask. The VMM writes its answers here; exposed ones
   * reach the guest with {@linkcode tdh_vp_enter_after_vmcall}.
   */
  readonly regs: BigUint64Array;
}

/** What the CPU does after a TDCALL (see the module doc). */
export type tdcall_outcome =
  | { readonly kind: "handled" }
  | { readonly kind: "vmcall"; readonly exit: tdvmcall_exit }
  | {
    readonly kind: "ept_violation";
    /** The private GPA (page aligned). */
    readonly gpa: bigint;
    /** Whether the access was a write. */
    readonly write: boolean;
    /** For TDG.MEM.PAGE.ACCEPT: the level the guest accepts at (0: 4K, 1: 2M); else -1. */
    readonly accept_level: number;
  }
  | { readonly kind: "ve" };

const RAX = 0;
const RCX = 1;
const RDX = 2;
const R8 = 8;
const R9 = 9;
const R10 = 10;
const R11 = 11;

const HANDLED: tdcall_outcome = Object.freeze({ kind: "handled" });
const VE: tdcall_outcome = Object.freeze({ kind: "ve" });

function status(g: tdx_guest_state, s: bigint): tdcall_outcome {
  g.regs.set(RAX, s);
  return HANDLED;
}

/** The VE_INFO valid marker. */
export const TDX_VE_INFO_VALID = 0xffffffff;

/**
 * Records a #VE in the vCPU's VE_INFO as the module does before injecting
 * one; `false` when the previous #VE is still unread (the guest then takes
 * a #DF instead, as on hardware).
 */
export function td_set_ve_info(
  g: tdx_guest_state,
  exit_reason: number,
  qual: bigint,
  gla: bigint,
  gpa: bigint,
  insn_len = 0,
): boolean {
  const v = g.ve_info;
  if (v.valid !== 0) return false;
  v.exit_reason = exit_reason;
  v.exit_qualification = qual;
  v.guest_linear_address = gla;
  v.guest_physical_address = gpa;
  v.instruction_length = insn_len;
  v.instruction_info = 0;
  v.valid = TDX_VE_INFO_VALID;
  return true;
}

type access = { page: Uint8Array; off: number } | tdcall_outcome;

/**
 * The module's own access to private `gpa` for a TDCALL (REPORT's buffers,
 * RTMR data): the bytes if the page is MAPPED; otherwise the EPT violation
 * the guest would have taken, as #VE for a PENDING page of a TD without
 * SEPT_VE_DISABLE, as an exit to the VMM else.
 */
function guest_private(
  td: tdx_td,
  mem: td_private_memory,
  g: tdx_guest_state,
  gpa: bigint,
  write: boolean,
): access {
  const gfn = gpa_to_gfn(gpa);
  const st = td.sept.state(gfn);
  const page_gpa = gpa & ~0xfffn;
  if (st === SEPT_MAPPED) {
    const page = mem.private_page(gfn);
    if (page) return { page, off: Number(gpa & 0xfffn) };
  } else if (st === SEPT_PENDING && !td.pending_ve_disable) {
    // Exit qualification: data read or write, GPA valid.
    const qual = write ? 0x2n : 0x1n;
    if (td_set_ve_info(g, EXIT_REASON_EPT_VIOLATION, qual, 0n, gpa)) return VE;
  }
  return { kind: "ept_violation", gpa: page_gpa, write, accept_level: -1 };
}

function is_outcome(a: access): a is tdcall_outcome {
  return "kind" in a;
}

/**
 * Executes the TDCALL whose leaf is in the guest's RAX, for vCPU `vp` of
 * `td` (see the module doc for the outcomes). Unknown leaves and versions →
 * RAX = TDX_OPERAND_INVALID | OPERAND_ID_RAX.
 */
export function tdg_dispatch(
  td: tdx_td,
  vp: tdx_vp,
  g: tdx_guest_state,
  mem: td_private_memory,
): tdcall_outcome {
  if (kvm_trace.tdcall || kvm_trace.tdvmcall) return tdg_dispatch_traced(td, vp, g, mem);
  return __tdg_dispatch(td, vp, g, mem);
}

/** The R10 and R11 each traced TDVMCALL came with (R11 may carry an output later). */
const vmcall_leaves = new WeakMap<tdvmcall_exit, [bigint, bigint]>();

/** {@linkcode tdg_dispatch} under `KVM_SELFTESTS_TRACE=tdcall` or `tdvmcall`. */
function tdg_dispatch_traced(
  td: tdx_td,
  vp: tdx_vp,
  g: tdx_guest_state,
  mem: td_private_memory,
): tdcall_outcome {
  const rax = g.regs.at(RAX);
  const inputs = [g.regs.at(RCX), g.regs.at(RDX), g.regs.at(R8), g.regs.at(R9)];
  const o = __tdg_dispatch(td, vp, g, mem);
  if (o.kind === "vmcall") {
    vmcall_leaves.set(o.exit, [o.exit.regs[10]!, o.exit.regs[11]!]);
    if (kvm_trace.tdvmcall) trace_tdvmcall_enter(o.exit.regs);
  } else if (kvm_trace.tdcall) {
    const outcome = o.kind === "handled"
      ? tdx_status_name(g.regs.at(RAX))
      : o.kind === "ve"
      ? "#VE"
      : `EPT violation gpa=0x${o.gpa.toString(16)} (KVM maps it, the TDCALL runs again)`;
    trace_tdcall(rax, inputs, outcome);
  }
  return o;
}

function __tdg_dispatch(
  td: tdx_td,
  vp: tdx_vp,
  g: tdx_guest_state,
  mem: td_private_memory,
): tdcall_outcome {
  const rax = g.regs.at(RAX);
  const leaf = Number(rax & 0xffffn);
  const version = Number((rax >> 16n) & 0xffn);
  const max_version = leaf === TDG_VM_RD || leaf === TDG_VM_WR ? 1 : 0;
  if ((rax >> 24n) !== 0n || version > max_version) {
    return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RAX);
  }
  switch (leaf) {
    case TDG_VP_VMCALL:
      return tdg_vp_vmcall(td, g);
    case TDG_VP_INFO:
      return tdg_vp_info(td, vp, g);
    case TDG_MR_RTMR_EXTEND:
      return tdg_mr_rtmr_extend(td, g, mem);
    case TDG_VP_VEINFO_GET:
      return tdg_vp_veinfo_get(g);
    case TDG_MR_REPORT:
      return tdg_mr_report(td, g, mem);
    case TDG_VP_CPUIDVE_SET:
      return tdg_vp_cpuidve_set(vp, g);
    case TDG_MEM_PAGE_ACCEPT:
      return tdg_mem_page_accept(td, g, mem);
    case TDG_VM_RD:
      return tdg_vm_rd(td, g);
    case TDG_VM_WR:
      return tdg_vm_wr(td, g);
  }
  return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RAX);
}

/** RCX bits a TD may never expose: RAX, RCX, RSP (and RBP with NO_RBP_MOD). */
function vmcall_forbidden(td: tdx_td): bigint {
  let m = 0xffffffff00000000n | 1n << 0n | 1n << 1n | 1n << 4n;
  if (td.config_flags & TDCS_CONFIG_NO_RBP_MOD) m |= 1n << 5n;
  return m;
}

/** TDG.VP.VMCALL: validates the exposure mask and builds the VMM's view of the exit. */
function tdg_vp_vmcall(td: tdx_td, g: tdx_guest_state): tdcall_outcome {
  const rcx = g.regs.at(RCX);
  if (rcx & vmcall_forbidden(td)) return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  const mask = Number(rcx);
  const regs = new BigUint64Array(16);
  for (let i = 0; i < 16; i++) if (mask & (1 << i)) regs[i] = g.regs.at(i);
  regs[RCX] = rcx;
  return { kind: "vmcall", exit: { mask, regs } };
}

/**
 * The TDH.VP.ENTER that resumes a TD after a TDG.VP.VMCALL exit: the GPRs
 * the TD exposed take the VMM's values from `exit.regs`, the others keep the
 * guest's; RAX = TDX_SUCCESS (the TDCALL itself succeeded), RCX = the mask.
 * The caller then moves RIP past the TDCALL.
 */
export function tdh_vp_enter_after_vmcall(g: tdx_guest_state, exit: tdvmcall_exit): void {
  if (kvm_trace.tdvmcall) {
    const traced = vmcall_leaves.get(exit);
    if (traced) trace_tdvmcall_done(traced[0], traced[1], exit.regs);
  }
  for (let i = 2; i < 16; i++) if (exit.mask & (1 << i)) g.regs.set(i, exit.regs[i]!);
  g.regs.set(RAX, TDX_SUCCESS);
  g.regs.set(RCX, BigInt(exit.mask));
}

/** TDG.VP.INFO: GPAW, ATTRIBUTES, NUM_VCPUS | MAX_VCPUS << 32, VCPU_INDEX, SYS_RD flag. */
function tdg_vp_info(td: tdx_td, vp: tdx_vp, g: tdx_guest_state): tdcall_outcome {
  g.regs.set(RCX, BigInt(td.gpaw));
  g.regs.set(RDX, td.attributes);
  g.regs.set(R8, BigInt(td.num_vcpus) | BigInt(td.max_vcpus) << 32n);
  g.regs.set(R9, BigInt(vp.vcpu_index));
  g.regs.set(R10, TDG_VP_INFO_SYS_RD);
  g.regs.set(R11, 0n);
  return status(g, TDX_SUCCESS);
}

/** TDG.VP.VEINFO.GET: the unread #VE information, which reading consumes. */
function tdg_vp_veinfo_get(g: tdx_guest_state): tdcall_outcome {
  const v = g.ve_info;
  if (v.valid === 0) return status(g, TDX_NO_VALID_VE_INFO);
  g.regs.set(RCX, BigInt(v.exit_reason >>> 0));
  g.regs.set(RDX, v.exit_qualification);
  g.regs.set(R8, v.guest_linear_address);
  g.regs.set(R9, v.guest_physical_address);
  g.regs.set(R10, BigInt(v.instruction_length >>> 0) | BigInt(v.instruction_info >>> 0) << 32n);
  v.valid = 0;
  return status(g, TDX_SUCCESS);
}

/** TDG.VP.CPUIDVE.SET: RCX bit 0 = #VE on CPUID at CPL 0, bit 1 = at CPL > 0. */
function tdg_vp_cpuidve_set(vp: tdx_vp, g: tdx_guest_state): tdcall_outcome {
  const rcx = g.regs.at(RCX);
  if (rcx & ~(TDX_CPUIDVE_SUPERVISOR | TDX_CPUIDVE_USER)) {
    return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  }
  vp.cpuid_ve = rcx;
  return status(g, TDX_SUCCESS);
}

/** TDG.MR.RTMR.EXTEND: RTMR[RDX] = SHA-384(RTMR[RDX] || 48 bytes at private GPA RCX). */
function tdg_mr_rtmr_extend(
  td: tdx_td,
  g: tdx_guest_state,
  mem: td_private_memory,
): tdcall_outcome {
  const gpa = g.regs.at(RCX);
  const index = g.regs.at(RDX);
  if (!td_private_gpa_valid(td, gpa, 64n)) return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  if (index > 3n) return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RDX);
  const a = guest_private(td, mem, g, gpa, false);
  if (is_outcome(a)) return a;
  td.measurement.rtmr_extend(
    Number(index),
    a.page.slice(a.off, a.off + SHA384_DIGEST_SIZE),
  );
  return status(g, TDX_SUCCESS);
}

/**
 * TDG.MR.REPORT: RCX = private GPA (1024-byte aligned) of the TDREPORT_STRUCT
 * to write, RDX = private GPA (64-byte aligned) of REPORTDATA, R8 = subtype
 * (0).
 */
function tdg_mr_report(td: tdx_td, g: tdx_guest_state, mem: td_private_memory): tdcall_outcome {
  const out = g.regs.at(RCX);
  const data = g.regs.at(RDX);
  if (!td_private_gpa_valid(td, out, BigInt(TDX_REPORT_SIZE))) {
    return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  }
  if (!td_private_gpa_valid(td, data, 64n)) return status(g, TDX_OPERAND_INVALID | OPERAND_ID_RDX);
  if (g.regs.at(R8) !== 0n) return status(g, TDX_OPERAND_INVALID | OPERAND_ID_R8);
  const src = guest_private(td, mem, g, data, false);
  if (is_outcome(src)) return src;
  const dst = guest_private(td, mem, g, out, true);
  if (is_outcome(dst)) return dst;
  const report = td_report_build(td, src.page.slice(src.off, src.off + TDX_REPORTDATA_SIZE));
  dst.page.set(report, dst.off);
  return status(g, TDX_SUCCESS);
}

/**
 * TDG.MEM.PAGE.ACCEPT: RCX = GPA | level (0: 4 KiB, 1: 2 MiB). A PENDING
 * page is zeroed and mapped. A page already mapped (PAGE.ADD or an earlier
 * ACCEPT) → the TDX_PAGE_ALREADY_ACCEPTED warning; a 2 MiB accept over
 * 4 KiB mappings → TDX_PAGE_SIZE_MISMATCH (both with the level as detail); a
 * GFN not yet augmented (or blocked) → an EPT violation for the VMM to
 * resolve, after which the TDCALL runs again. Bad level, reserved bits,
 * misalignment, a shared or out-of-range GPA → OPERAND_INVALID(RCX).
 */
function tdg_mem_page_accept(
  td: tdx_td,
  g: tdx_guest_state,
  mem: td_private_memory,
): tdcall_outcome {
  const rcx = g.regs.at(RCX);
  const level = Number(rcx & 7n);
  const gpa = rcx & ~0xfffn;
  const invalid = () => status(g, TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  if (level > TDX_PS_2M || (rcx & 0xff8n) !== 0n) return invalid();
  const npages = level === TDX_PS_2M ? 512 : 1;
  if (!td_private_gpa_valid(td, gpa, BigInt(npages) * 4096n)) return invalid();
  const gfn = gpa_to_gfn(gpa);
  if (npages > 1) {
    // The Secure EPT maps 4 KiB pages only: a 2 MiB walk that finds a page
    // table below (any 4 KiB page present) stops short of the leaf.
    for (let i = 0; i < npages; i++) {
      if (td.sept.state(gfn + i) !== SEPT_FREE) {
        return status(g, TDX_PAGE_SIZE_MISMATCH | BigInt(level));
      }
    }
    return { kind: "ept_violation", gpa, write: true, accept_level: level };
  }
  const st = td.sept.state(gfn);
  if (st === SEPT_MAPPED) return status(g, TDX_PAGE_ALREADY_ACCEPTED | BigInt(level));
  const page = st === SEPT_PENDING ? mem.private_page(gfn) : null;
  if (!page) return { kind: "ept_violation", gpa, write: true, accept_level: level };
  page.fill(0);
  td.sept.set(gfn, SEPT_MAPPED);
  return status(g, TDX_SUCCESS);
}

/** TDG.VM.RD: RDX = field id → R8 = value. */
function tdg_vm_rd(td: tdx_td, g: tdx_guest_state): tdcall_outcome {
  const v = tdcs_field_read(td, g.regs.at(RDX));
  if (v === null) {
    g.regs.set(R8, 0n);
    return status(g, TDX_METADATA_FIELD_ID_INCORRECT);
  }
  g.regs.set(R8, v);
  return status(g, TDX_SUCCESS);
}

/** TD_CTLS bits the guest may write. */
const TD_CTLS_WRITABLE = TD_CTLS_ENUM_TOPOLOGY | TD_CTLS_VIRT_CPUID2 | TD_CTLS_REDUCE_VE;

/** TDG.VM.WR: RDX = field id, R8 = value, R9 = write mask → R8 = old value. */
function tdg_vm_wr(td: tdx_td, g: tdx_guest_state): tdcall_outcome {
  const field = g.regs.at(RDX);
  const value = g.regs.at(R8);
  const mask = g.regs.at(R9);
  const old = tdcs_field_read(td, field);
  if (old === null) return status(g, TDX_METADATA_FIELD_ID_INCORRECT);
  let writable: bigint;
  if (field === TDCS_NOTIFY_ENABLES) writable = 1n;
  else if (field === TDCS_TD_CTLS) writable = TD_CTLS_WRITABLE;
  else return status(g, TDX_METADATA_FIELD_NOT_WRITABLE);
  if (mask & ~writable) return status(g, TDX_METADATA_WR_MASK_NOT_VALID);
  const nv = (old & ~mask) | (value & mask);
  if (field === TDCS_NOTIFY_ENABLES) td.notify_enables = nv;
  else td.td_ctls = nv;
  g.regs.set(R8, old);
  return status(g, TDX_SUCCESS);
}

/**
 * CPUID executed by vCPU `vp` of `td` at privilege `cpl`: the TD's virtual
 * value, or `"#VE"` (exit reason {@linkcode EXIT_REASON_CPUID}) for the
 * guest to forward with TDG.VP.VMCALL<Instruction.CPUID>.
 */
export function td_cpuid(
  td: tdx_td,
  vp: tdx_vp,
  leaf: number,
  subleaf: number,
  cpl: number,
  cr4 = 0n,
  xcr0 = 1n,
): td_cpuid_result {
  if (!td.cpuid) throw new Error("TD is not initialised");
  return td_cpuid_lookup(td.cpuid, leaf, subleaf, {
    cpl,
    cpuid_ve: vp.cpuid_ve,
    x2apic_id: vp.x2apic_id,
    cr4,
    xcr0,
  });
}

/** The #VE exit reason of a CPUID that {@linkcode td_cpuid} does not answer. */
export const TD_CPUID_VE_EXIT_REASON: number = EXIT_REASON_CPUID;
