// SPDX-License-Identifier: GPL-2.0-only
/**
 * The local APIC helpers of `tools/testing/selftests/kvm/include/x86/apic.h`
 * and `lib/x86/apic.c`: register offsets and fields, enabling the APIC in
 * xAPIC or x2APIC mode, and register access through the xAPIC page at
 * {@linkcode APIC_DEFAULT_GPA} (identity-mapped by the test) or the x2APIC
 * MSRs. Guest-side functions run in guest code only (they use the CPU
 * intrinsics, on the simulator and on `/dev/kvm` alike).
 *
 * @module
 */

import { GP_VECTOR } from "../../include/asm/kvm.ts";
import { __GUEST_ASSERT } from "../ucall_common.ts";
import { readl, writel } from "../guest_memory.ts";
import { rdmsr, wrmsr, wrmsr_safe } from "./guest.ts";
import {
  APIC_BASE_MSR,
  APIC_DEFAULT_PHYS_BASE,
  APIC_SPIV,
  APIC_SPIV_APIC_ENABLED,
} from "../../include/asm/apicdef.ts";

// The register offsets and fields: apicdef.h's, which apic.h repeats.
export {
  APIC_BASE_MSR,
  APIC_DEST_ALLBUT,
  APIC_DEST_ALLINC,
  APIC_DEST_LOGICAL,
  APIC_DEST_PHYSICAL,
  APIC_DEST_SELF,
  APIC_DFR,
  APIC_DM_EXTINT,
  APIC_DM_FIXED,
  APIC_DM_FIXED_MASK,
  APIC_DM_INIT,
  APIC_DM_LOWEST,
  APIC_DM_NMI,
  APIC_DM_REMRD,
  APIC_DM_SMI,
  APIC_DM_STARTUP,
  APIC_EOI,
  APIC_ESR,
  APIC_ICR,
  APIC_ICR2,
  APIC_ICR_BUSY,
  APIC_ICR_RR_INPROG,
  APIC_ICR_RR_INVALID,
  APIC_ICR_RR_MASK,
  APIC_ICR_RR_VALID,
  APIC_ID,
  APIC_INT_ASSERT,
  APIC_INT_LEVELTRIG,
  APIC_IRR,
  APIC_ISR,
  APIC_LDR,
  APIC_LVR,
  APIC_LVT0,
  APIC_LVT1,
  APIC_LVT_MASKED,
  APIC_LVT_TIMER_ONESHOT,
  APIC_LVT_TIMER_PERIODIC,
  APIC_LVT_TIMER_TSCDEADLINE,
  APIC_LVTCMCI,
  APIC_LVTERR,
  APIC_LVTPC,
  APIC_LVTT,
  APIC_LVTTHMR,
  APIC_PROCPRI,
  APIC_SELF_IPI,
  APIC_SPIV,
  APIC_SPIV_APIC_ENABLED,
  APIC_SPIV_FOCUS_DISABLED,
  APIC_TASKPRI,
  APIC_TDCR,
  APIC_TMCCT,
  APIC_TMICT,
  APIC_TMR,
  APIC_VECTOR_MASK,
  X2APIC_ENABLE,
} from "../../include/asm/apicdef.ts";

/** `APIC_DEFAULT_GPA`: the architectural APIC base. */
export const APIC_DEFAULT_GPA: bigint = BigInt(APIC_DEFAULT_PHYS_BASE);

import {
  MSR_IA32_APICBASE,
  MSR_IA32_APICBASE_BSP,
  MSR_IA32_APICBASE_ENABLE,
  MSR_IA32_APICBASE_EXTD,
} from "../../include/asm/msr-index.ts";

// `MSR_IA32_APICBASE` and its fields: msr-index.h's, which apic.h includes.
export {
  MSR_IA32_APICBASE,
  MSR_IA32_APICBASE_BASE,
  MSR_IA32_APICBASE_BSP,
  MSR_IA32_APICBASE_ENABLE,
  MSR_IA32_APICBASE_EXTD,
} from "../../include/asm/msr-index.ts";

/** `GET_APIC_BASE(x)`. */
export function GET_APIC_BASE(x: bigint): bigint {
  return (x >> 12n) << 12n;
}

/** `GET_APIC_ID_FIELD(x)`: the xAPIC ID in bits 31:24. */
export function GET_APIC_ID_FIELD(x: number): number {
  return (x >>> 24) & 0xff;
}

/** `SET_APIC_DEST_FIELD(x)`: an xAPIC destination in ICR2 bits 31:24. */
export function SET_APIC_DEST_FIELD(x: number): number {
  return (x << 24) >>> 0;
}

/** `GET_APIC_PRI(x)`: the priority class, TPR/PPR bits 7:4. */
export function GET_APIC_PRI(x: number): number {
  return (x & 0xf0) >>> 4;
}

/** `SET_APIC_PRI(x, y)`: `x` with its priority class (bits 7:4) replaced by `y`. */
export function SET_APIC_PRI(x: number, y: number): number {
  return ((x & ~0xf0) | (y << 4)) >>> 0;
}

/** `APIC_VECTOR_TO_BIT_NUMBER(v)`: the bit of `v` in its 32-bit IRR/ISR/TMR word. */
export function APIC_VECTOR_TO_BIT_NUMBER(v: number): number {
  return (v >>> 0) % 32;
}

/** `APIC_VECTOR_TO_REG_OFFSET(v)`: the offset of `v`'s word from IRR/ISR/TMR. */
export function APIC_VECTOR_TO_REG_OFFSET(v: number): number {
  return Math.floor((v >>> 0) / 32) * 0x10;
}

/** `get_bsp_flag()` (guest): IA32_APIC_BASE.BSP. */
export function get_bsp_flag(): bigint {
  return rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BSP;
}

/** `xapic_read_reg()` (guest): a 32-bit load from the xAPIC page. */
export function xapic_read_reg(reg: number): number {
  return readl(APIC_DEFAULT_GPA + BigInt((reg >>> 2) * 4));
}

/** `xapic_write_reg()` (guest): a 32-bit store to the xAPIC page. */
export function xapic_write_reg(reg: number, val: number): void {
  writel(val >>> 0, APIC_DEFAULT_GPA + BigInt((reg >>> 2) * 4));
}

/** `x2apic_read_reg()` (guest): RDMSR of the register's x2APIC MSR. */
export function x2apic_read_reg(reg: number): bigint {
  return rdmsr(APIC_BASE_MSR + (reg >>> 4));
}

/** `x2apic_write_reg_safe()` (guest): the vector WRMSR raised, or 0. */
export function x2apic_write_reg_safe(reg: number, value: bigint | number): number {
  return wrmsr_safe(APIC_BASE_MSR + (reg >>> 4), value);
}

/** `x2apic_write_reg()` (guest): a write that must not fault. */
export function x2apic_write_reg(reg: number, value: bigint | number): void {
  const fault = x2apic_write_reg_safe(reg, value);
  __GUEST_ASSERT(
    !fault,
    "Unexpected fault 0x%x on WRMSR(%x) = %lx\n",
    fault,
    APIC_BASE_MSR + (reg >>> 4),
    BigInt(value),
  );
}

/** `x2apic_write_reg_fault()` (guest): a write that must #GP. */
export function x2apic_write_reg_fault(reg: number, value: bigint | number): void {
  const fault = x2apic_write_reg_safe(reg, value);
  __GUEST_ASSERT(
    fault === GP_VECTOR,
    "Wanted #GP on WRMSR(%x) = %lx, got 0x%x\n",
    APIC_BASE_MSR + (reg >>> 4),
    BigInt(value),
    fault,
  );
}

/** `apic_disable()` (guest): clear the enable and x2APIC bits. */
export function apic_disable(): void {
  wrmsr(
    MSR_IA32_APICBASE,
    rdmsr(MSR_IA32_APICBASE) & ~(MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD),
  );
}

/**
 * `xapic_enable()` (guest): xAPIC mode, software-enabled. The SDM allows no
 * direct x2APIC-to-xAPIC switch in IA32_APIC_BASE, so an x2APIC is turned
 * off first, then on again with EXTD clear.
 */
export function xapic_enable(): void {
  const val = rdmsr(MSR_IA32_APICBASE);
  if (val & MSR_IA32_APICBASE_EXTD) {
    apic_disable();
    wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) & ~MSR_IA32_APICBASE_EXTD);
  }
  wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) | MSR_IA32_APICBASE_ENABLE);
  xapic_write_reg(APIC_SPIV, xapic_read_reg(APIC_SPIV) | APIC_SPIV_APIC_ENABLED);
}

/** `x2apic_enable()` (guest): x2APIC mode, software-enabled. */
export function x2apic_enable(): void {
  wrmsr(
    MSR_IA32_APICBASE,
    rdmsr(MSR_IA32_APICBASE) | MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD,
  );
  x2apic_write_reg(APIC_SPIV, x2apic_read_reg(APIC_SPIV) | BigInt(APIC_SPIV_APIC_ENABLED));
}
