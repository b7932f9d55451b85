// SPDX-License-Identifier: GPL-2.0-only
/**
 * A TD vCPU's virtual APIC: the virtual-APIC page the TDX module keeps in
 * the TDVPS and the guest-interrupt status (RVI, SVI) of the TD's VMCS,
 * driven as the CPU drives them with APIC virtualization (SDM vol. 3C,
 * "APIC Virtualization and Virtual Interrupts"), which the module always
 * enables for a TD (x2APIC virtualization, APIC-register virtualization,
 * virtual-interrupt delivery, posted-interrupt processing):
 *
 * - posted-interrupt processing at TD entry ({@linkcode td_vapic_post}):
 *   the PIR KVM filled goes into VIRR and raises RVI;
 * - evaluation and delivery of pending virtual interrupts
 *   ({@linkcode td_vapic_pending}, {@linkcode td_vapic_deliver}): a vector
 *   whose class is above VPPR's is taken when RFLAGS.IF allows;
 * - the x2APIC MSRs the CPU virtualizes for a TD ({@linkcode td_vapic_rdmsr},
 *   {@linkcode td_vapic_wrmsr}): TPR, PPR, EOI, ISR, TMR, IRR and SELF IPI.
 *   Every other x2APIC MSR is KVM's (a #VE, then TDG.VP.VMCALL). CR8 is
 *   VTPR's priority class ({@linkcode td_vapic_set_tpr}).
 *
 * Nothing here is reachable from the host: KVM sees only
 * {@linkcode td_vcpu_state_details} (TDH.VP.RD of VCPU_STATE_DETAILS), as
 * `tdx_protected_apic_has_interrupt()` reads it.
 *
 * @module
 */

import {
  APIC_BASE_MSR,
  APIC_EOI,
  APIC_IRR,
  APIC_ISR,
  APIC_PROCPRI,
  APIC_SELF_IPI,
  APIC_TASKPRI,
} from "../../include/asm/apicdef.ts";

/** The TD vCPU's virtual APIC state in its TDVPS (see the module doc). */
export class td_vapic {
  /** The virtual-APIC page (the registers at their xAPIC offsets). */
  readonly page: Uint8Array = new Uint8Array(4096);
  /** Little-endian view of {@linkcode page}. */
  readonly dv: DataView = new DataView(this.page.buffer);
  /** RVI: the highest vector requested (VIRR), 0 when none. */
  rvi = 0;
  /** SVI: the highest vector in service (VISR), 0 when none. */
  svi = 0;
}

/**
 * `TDX_VCPU_STATE_DETAILS_INTR_PENDING` (bit 0 of VCPU_STATE_DETAILS, VMXIP):
 * a virtual interrupt is pending, RVI[7:4] > VPPR[7:4].
 */
export const TDX_VCPU_STATE_DETAILS_INTR_PENDING = 1n;

function reg(v: td_vapic, off: number): number {
  return v.dv.getUint32(off, true);
}

function set_reg(v: td_vapic, off: number, val: number): void {
  v.dv.setUint32(off, val >>> 0, true);
}

function vec_test(v: td_vapic, base: number, vec: number): boolean {
  return (reg(v, base + ((vec >> 5) << 4)) & (1 << (vec & 31))) !== 0;
}

function vec_set(v: td_vapic, base: number, vec: number, on: boolean): void {
  const off = base + ((vec >> 5) << 4);
  const bit = 1 << (vec & 31);
  set_reg(v, off, on ? reg(v, off) | bit : reg(v, off) & ~bit);
}

/** The highest vector set in a 256-bit register (VIRR, VISR), or 0. */
function highest(v: td_vapic, base: number): number {
  for (let i = 7; i >= 0; i--) {
    const w = reg(v, base + (i << 4));
    if (w) return (i << 5) + 31 - Math.clz32(w);
  }
  return 0;
}

/** PPR virtualization: VPPR from VTPR and SVI. */
function ppr_virtualization(v: td_vapic): void {
  const vtpr = reg(v, APIC_TASKPRI) & 0xff;
  const vppr = (vtpr & 0xf0) >= (v.svi & 0xf0) ? vtpr : v.svi & 0xf0;
  set_reg(v, APIC_PROCPRI, vppr);
}

/**
 * Posted-interrupt processing: each PIR bit moves into VIRR (the PIR is
 * cleared) and RVI rises to the highest requested vector.
 *
 * @param v the vCPU's virtual APIC
 * @param pir the 256-bit posted-interrupt requests (8 dwords), cleared
 * @returns whether any vector was posted
 */
export function td_vapic_post(v: td_vapic, pir: Uint32Array): boolean {
  let any = false;
  for (let i = 0; i < 8; i++) {
    const w = pir[i]!;
    if (!w) continue;
    pir[i] = 0;
    any = true;
    const off = APIC_IRR + (i << 4);
    set_reg(v, off, reg(v, off) | w);
  }
  if (any) v.rvi = Math.max(v.rvi, highest(v, APIC_IRR));
  return any;
}

/**
 * Evaluation of pending virtual interrupts: the vector the CPU would
 * deliver (RVI when its priority class is above VPPR's), or -1.
 */
export function td_vapic_pending(v: td_vapic): number {
  if (!v.rvi) return -1;
  return (v.rvi & 0xf0) > (reg(v, APIC_PROCPRI) & 0xf0) ? v.rvi : -1;
}

/**
 * Virtual-interrupt delivery of the pending vector (RFLAGS.IF set, no
 * blocking): VISR and SVI take it, VIRR drops it, RVI falls to the next
 * requested vector, VPPR becomes its class.
 *
 * @returns the vector the guest's IDT now delivers, or -1 if none pending
 */
export function td_vapic_deliver(v: td_vapic): number {
  const vec = td_vapic_pending(v);
  if (vec < 0) return -1;
  vec_set(v, APIC_ISR, vec, true);
  v.svi = vec;
  set_reg(v, APIC_PROCPRI, vec & 0xf0);
  vec_set(v, APIC_IRR, vec, false);
  v.rvi = highest(v, APIC_IRR);
  return vec;
}

/** EOI virtualization: the in-service vector retires, SVI and VPPR follow. */
function eoi_virtualization(v: td_vapic): void {
  if (v.svi) vec_set(v, APIC_ISR, v.svi, false);
  v.svi = highest(v, APIC_ISR);
  ppr_virtualization(v);
}

/** Self-IPI virtualization: the vector is requested in VIRR, RVI rises. */
function self_ipi_virtualization(v: td_vapic, vec: number): void {
  vec_set(v, APIC_IRR, vec, true);
  v.rvi = Math.max(v.rvi, vec);
}

/** The x2APIC MSR numbers of the virtual-APIC page's registers. */
const msr_of = (reg: number): number => APIC_BASE_MSR + (reg >> 4);
const MSR_TPR = msr_of(APIC_TASKPRI);
const MSR_PPR = msr_of(APIC_PROCPRI);
const MSR_EOI = msr_of(APIC_EOI);
const MSR_ISR0 = msr_of(APIC_ISR);
const MSR_IRR0 = msr_of(APIC_IRR);
const MSR_SELF_IPI = msr_of(APIC_SELF_IPI);

/** Whether the CPU virtualizes x2APIC MSR `msr` for a TD (no #VE). */
export function td_vapic_virtualized_msr(msr: number): boolean {
  return msr === MSR_TPR || msr === MSR_PPR || msr === MSR_EOI || msr === MSR_SELF_IPI ||
    (msr >= MSR_ISR0 && msr < MSR_IRR0 + 8); // ISR, TMR, IRR: 8 MSRs each
}

/**
 * RDMSR of a virtualized x2APIC MSR: the virtual-APIC page's register, or
 * `null` (#GP) for the write-only EOI and SELF IPI.
 */
export function td_vapic_rdmsr(v: td_vapic, msr: number): bigint | null {
  if (msr === MSR_EOI || msr === MSR_SELF_IPI) return null;
  return BigInt(reg(v, (msr - APIC_BASE_MSR) << 4));
}

/** VTPR, the TD's task priority (CR8 is its bits 7:4). */
export function td_vapic_tpr(v: td_vapic): number {
  return reg(v, APIC_TASKPRI) & 0xff;
}

/**
 * TPR virtualization: a new VTPR (a TPR MSR write, or MOV to CR8 with the
 * value in bits 7:4), then PPR virtualization.
 */
export function td_vapic_set_tpr(v: td_vapic, tpr: number): void {
  set_reg(v, APIC_TASKPRI, tpr & 0xff);
  ppr_virtualization(v);
}

/** What a WRMSR to a virtualized x2APIC MSR did (see {@linkcode td_vapic_wrmsr}). */
export type td_vapic_write_result = "done" | "gp" | "apic_write";

/**
 * WRMSR of a virtualized x2APIC MSR: TPR and EOI (0 only) act on the virtual
 * APIC, reserved bits set are #GP, as is a write to a read-only register
 * (PPR, ISR, TMR, IRR). SELF IPI is virtualized only for a legal vector
 * (16..255, bits 63:8 clear); any other value is an APIC-write VM exit,
 * which the module reflects to the TD as #VE.
 */
export function td_vapic_wrmsr(v: td_vapic, msr: number, data: bigint): td_vapic_write_result {
  switch (msr) {
    case MSR_TPR:
      if (data >> 8n) return "gp";
      td_vapic_set_tpr(v, Number(data));
      return "done";
    case MSR_EOI:
      if (data) return "gp";
      eoi_virtualization(v);
      return "done";
    case MSR_SELF_IPI:
      if (data >> 8n || data < 16n) return "apic_write";
      self_ipi_virtualization(v, Number(data));
      return "done";
  }
  return "gp";
}

/**
 * VCPU_STATE_DETAILS (TDH.VP.RD, non-architectural): bit 0 says a virtual
 * interrupt is pending (RVI's class above VPPR's).
 */
export function td_vcpu_state_details(v: td_vapic): bigint {
  return td_vapic_pending(v) >= 0 ? TDX_VCPU_STATE_DETAILS_INTR_PENDING : 0n;
}

/** Whether `vec` is requested (VIRR) or in service (VISR): for tests of the module. */
export function td_vapic_test(v: td_vapic, which: "irr" | "isr", vec: number): boolean {
  return vec_test(v, which === "irr" ? APIC_IRR : APIC_ISR, vec);
}
