// SPDX-License-Identifier: GPL-2.0-only
/**
 * vCPU SEAMCALLs: TDH.VP.CREATE and TDH.VP.INIT, and the architectural
 * state a TD vCPU has at its first TD entry (spec section 4.1: the TDX
 * module's TD VMCS initialisation), which {@linkcode tdx_vcpu_load_initial_state}
 * writes into a simulated CPU's VMCS.
 *
 * A TD vCPU does not start in real mode as a VM's does: the module starts
 * every vCPU, BSP and APs alike, in 32-bit protected mode with paging off at
 * the reset vector 0xFFFFFFF0, with flat 4 GiB segments, and passes the boot
 * code what it needs in registers: RBX = GPAW, RCX = R8 = the VMM's
 * TDH.VP.INIT argument, RDX = the TD's CPUID(1).EAX, RSI = VCPU_INDEX.
 *
 * @module
 */

import { seamcall_fault } from "../fault_inject.ts";
import type { vmcs_view } from "../cpu/vmcs.ts";
import {
  OPERAND_ID_RCX,
  TDX_MAX_VCPUS_EXCEEDED,
  TDX_OP_STATE_INCORRECT,
  TDX_SUCCESS,
  TDX_VCPU_STATE_INCORRECT,
  TDX_X2APIC_ID_NOT_UNIQUE,
} from "../../include/x86/tdx/tdcall.ts";
import { td_cpuid_entry_of } from "./cpuid.ts";
import { operand_invalid } from "./tdh_mng.ts";
import { TDX_CPUID_NO_SUBLEAF, TDX_TSC_KHZ_UNIT } from "./sysinfo.ts";
import { OP_STATE_INITIALIZED, TD_KEYS_CONFIGURED, type tdx_td, type tdx_vp } from "./td.ts";

/**
 * TDH.VP.CREATE: associates `vp` (a fresh TDVPR) with `td`. The TD must be
 * initialised and not yet finalized; a TDVPR already in use →
 * OPERAND_INVALID(RCX).
 */
export function tdh_vp_create(td: tdx_td, vp: tdx_vp): bigint {
  const fault = seamcall_fault("TDH.VP.CREATE");
  if (fault !== null) return fault;
  if (vp.td) return operand_invalid(OPERAND_ID_RCX);
  if (td.lifecycle !== TD_KEYS_CONFIGURED || td.op_state !== OP_STATE_INITIALIZED) {
    return TDX_OP_STATE_INCORRECT;
  }
  vp.td = td;
  td.vcpus.push(vp);
  return TDX_SUCCESS;
}

/**
 * TDH.VP.INIT (version 1): initialises `vp` with `rcx` (its initial RCX and
 * R8) and `x2apic_id`. VCPU_INDEX is the number of vCPUs initialised before
 * it, so indices follow TDH.VP.INIT order, not creation order. A second
 * TDH.VP.INIT → TDX_VCPU_STATE_INCORRECT; past MAX_VCPUS →
 * TDX_MAX_VCPUS_EXCEEDED; an x2APIC ID another vCPU has →
 * TDX_X2APIC_ID_NOT_UNIQUE.
 */
export function tdh_vp_init(vp: tdx_vp, rcx: bigint, x2apic_id: number): bigint {
  const fault = seamcall_fault("TDH.VP.INIT");
  if (fault !== null) return fault;
  const td = vp.td;
  if (!td) return operand_invalid(OPERAND_ID_RCX);
  if (td.lifecycle !== TD_KEYS_CONFIGURED || td.op_state !== OP_STATE_INITIALIZED) {
    return TDX_OP_STATE_INCORRECT;
  }
  if (vp.initialized) return TDX_VCPU_STATE_INCORRECT;
  if (td.num_vcpus >= td.max_vcpus) return TDX_MAX_VCPUS_EXCEEDED;
  if (td.vcpus.some((o) => o !== vp && o.initialized && o.x2apic_id === x2apic_id)) {
    return TDX_X2APIC_ID_NOT_UNIQUE;
  }
  vp.vcpu_index = td.num_vcpus++;
  vp.x2apic_id = x2apic_id >>> 0;
  vp.initial_rcx = BigInt.asUintN(64, rcx);
  vp.initialized = true;
  return TDX_SUCCESS;
}

/** A segment register as the module initialises it (VMCS encoding, `kvm_segment` terms). */
export interface td_initial_segment {
  /** Selector. */
  readonly selector: number;
  /** Base. */
  readonly base: bigint;
  /** Limit. */
  readonly limit: number;
  /** VMX access rights (type, S, DPL, P, AVL, L, D/B, G, unusable bit 16). */
  readonly ar: number;
}

/** The architectural state of a TD vCPU at its first entry. */
export interface td_vcpu_initial_state {
  /** The 16 GPRs in RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15 order. */
  readonly regs: readonly bigint[];
  /** RIP: the reset vector. */
  readonly rip: bigint;
  /** RFLAGS. */
  readonly rflags: bigint;
  /** CR0: PE | NE. */
  readonly cr0: bigint;
  /** CR4 as the guest reads it: MCE (the module also sets VMXE, hidden by the read shadow). */
  readonly cr4: bigint;
  /** EFER: SCE | LME | NXE, LMA clear (long mode armed, paging off). */
  readonly efer: bigint;
  /** CS. */
  readonly cs: td_initial_segment;
  /** DS, ES, FS, GS, SS. */
  readonly data: td_initial_segment;
  /** LDTR (unusable). */
  readonly ldtr: td_initial_segment;
  /** TR. */
  readonly tr: td_initial_segment;
  /** GDTR/IDTR base. */
  readonly dt_base: bigint;
  /** GDTR/IDTR limit. */
  readonly dt_limit: number;
  /** DR6. */
  readonly dr6: bigint;
  /** DR7. */
  readonly dr7: bigint;
  /** XCR0. */
  readonly xcr0: bigint;
  /** IA32_PAT. */
  readonly pat: bigint;
  /** IA32_PERF_GLOBAL_CTRL. */
  readonly perf_global_ctrl: bigint;
  /** IA32_APIC_BASE: x2APIC mode, BSP for VCPU_INDEX 0. */
  readonly apic_base: bigint;
}

/** The reset vector every TD vCPU starts at. */
export const TD_RESET_RIP = 0xfffffff0n;

/**
 * The initial state of `vp` (after TDH.VP.INIT) at its first TD entry, as
 * spec section 4.1 gives it.
 */
export function td_vcpu_initial_state(vp: tdx_vp): td_vcpu_initial_state {
  const td = vp.td;
  if (!td || !vp.initialized || !td.cpuid) throw new Error("vCPU is not initialised");
  const regs = new Array<bigint>(16).fill(0n);
  const fms = td_cpuid_entry_of(td.cpuid, 1, TDX_CPUID_NO_SUBLEAF)?.eax ?? 0;
  regs[1] = vp.initial_rcx; // RCX
  regs[2] = BigInt(fms); // RDX
  regs[3] = BigInt(td.gpaw); // RBX
  regs[6] = BigInt(vp.vcpu_index); // RSI
  regs[8] = vp.initial_rcx; // R8
  const flat = (ar: number): td_initial_segment => ({
    selector: 0,
    base: 0n,
    limit: 0xffffffff,
    ar,
  });
  return Object.freeze({
    regs: Object.freeze(regs),
    rip: TD_RESET_RIP,
    rflags: 0x2n,
    cr0: 0x21n,
    cr4: 0x40n,
    efer: 0x901n,
    cs: flat(0xc09b),
    data: flat(0xc093),
    ldtr: { selector: 0, base: 0n, limit: 0, ar: 0x10082 },
    tr: { selector: 0, base: 0n, limit: 0xffff, ar: 0x8b },
    dt_base: 0n,
    dt_limit: 0xffff,
    dr6: 0xffff0ff0n,
    dr7: 0x400n,
    xcr0: 0x1n,
    pat: 0x0007040600070406n,
    perf_global_ctrl: 0xffn,
    apic_base: 0xfee00000n | 0xc00n | (vp.vcpu_index === 0 ? 0x100n : 0n),
  });
}

function load_segment(s: vmcs_view["cs"], seg: td_initial_segment): void {
  s.selector = seg.selector;
  s.base = seg.base;
  s.limit = seg.limit;
  s.type = seg.ar & 0xf;
  s.s = (seg.ar >> 4) & 1;
  s.dpl = (seg.ar >> 5) & 3;
  s.present = (seg.ar >> 7) & 1;
  s.avl = (seg.ar >> 12) & 1;
  s.l = (seg.ar >> 13) & 1;
  s.db = (seg.ar >> 14) & 1;
  s.g = (seg.ar >> 15) & 1;
  s.unusable = (seg.ar >> 16) & 1;
  s.padding = 0;
}

/**
 * Writes `vp`'s initial state into the simulated CPU's VMCS `v`, and the
 * VM-wide values the CPU needs for a TD: TD mode, the shared-GPA bit, the
 * TSC frequency and MAXPHYADDR from the TD's virtual CPUID. Control words
 * and exit information are left alone.
 */
export function tdx_vcpu_load_initial_state(v: vmcs_view, vp: tdx_vp): void {
  const td = vp.td!;
  const st = td_vcpu_initial_state(vp);
  for (let i = 0; i < 16; i++) v.regs.set(i, st.regs[i]!);
  v.rip = st.rip;
  v.rflags = st.rflags;
  load_segment(v.cs, st.cs);
  for (const s of [v.ds, v.es, v.fs, v.gs, v.ss]) load_segment(s, st.data);
  load_segment(v.ldtr, st.ldtr);
  load_segment(v.tr, st.tr);
  v.gdtr.base = st.dt_base;
  v.gdtr.limit = st.dt_limit;
  v.idtr.base = st.dt_base;
  v.idtr.limit = st.dt_limit;
  v.cr0 = st.cr0;
  v.cr2 = 0n;
  v.cr3 = 0n;
  v.cr4 = st.cr4;
  v.cr8 = 0n;
  v.efer = st.efer;
  v.xcr0 = st.xcr0;
  v.apic_base = st.apic_base;
  v.dr6 = st.dr6;
  v.dr7 = st.dr7;
  v.pat = st.pat;
  v.activity_state = 0;
  v.interruptibility_info = 0;
  v.td_guest = 1;
  v.shared_gpa_mask = td.shared_bit;
  v.tsc_khz = td.tsc_frequency * TDX_TSC_KHZ_UNIT;
  const ext = td_cpuid_entry_of(td.cpuid!, 0x80000008, TDX_CPUID_NO_SUBLEAF);
  v.maxphyaddr = ext ? ext.eax & 0xff : 0;
  v.ve_info.valid = 0;
}
