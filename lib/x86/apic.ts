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

/** `APIC_DEFAULT_GPA`: the architectural APIC base. */
export const APIC_DEFAULT_GPA = 0xfee00000n;

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

/** `APIC_BASE_MSR`: x2APIC register `reg` is MSR `APIC_BASE_MSR + (reg >> 4)`. */
export const APIC_BASE_MSR = 0x800;
/** `X2APIC_ENABLE`. */
export const X2APIC_ENABLE = 1n << 10n;

export const APIC_ID = 0x20;
export const APIC_LVR = 0x30;

/** `GET_APIC_ID_FIELD(x)`: the xAPIC ID in bits 31:24. */
export function GET_APIC_ID_FIELD(x: number): number {
  return (x >>> 24) & 0xff;
}

export const APIC_TASKPRI = 0x80;
export const APIC_PROCPRI = 0xa0;
export const APIC_EOI = 0xb0;
export const APIC_LDR = 0xd0;
export const APIC_DFR = 0xe0;
export const APIC_SPIV = 0xf0;
export const APIC_SPIV_FOCUS_DISABLED = 1 << 9;
export const APIC_SPIV_APIC_ENABLED = 1 << 8;
export const APIC_ISR = 0x100;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR = 0x300;
export const APIC_LVTCMCI = 0x2f0;
export const APIC_DEST_SELF = 0x40000;
export const APIC_DEST_ALLINC = 0x80000;
export const APIC_DEST_ALLBUT = 0xc0000;
export const APIC_ICR_RR_MASK = 0x30000;
export const APIC_ICR_RR_INVALID = 0x00000;
export const APIC_ICR_RR_INPROG = 0x10000;
export const APIC_ICR_RR_VALID = 0x20000;
export const APIC_INT_LEVELTRIG = 0x08000;
export const APIC_INT_ASSERT = 0x04000;
export const APIC_ICR_BUSY = 0x01000;
export const APIC_DEST_LOGICAL = 0x00800;
export const APIC_DEST_PHYSICAL = 0x00000;
export const APIC_DM_FIXED = 0x00000;
export const APIC_DM_FIXED_MASK = 0x00700;
export const APIC_DM_LOWEST = 0x00100;
export const APIC_DM_SMI = 0x00200;
export const APIC_DM_REMRD = 0x00300;
export const APIC_DM_NMI = 0x00400;
export const APIC_DM_INIT = 0x00500;
export const APIC_DM_STARTUP = 0x00600;
export const APIC_DM_EXTINT = 0x00700;
export const APIC_VECTOR_MASK = 0x000ff;
export const APIC_ICR2 = 0x310;

/** `SET_APIC_DEST_FIELD(x)`: an xAPIC destination in ICR2 bits 31:24. */
export function SET_APIC_DEST_FIELD(x: number): number {
  return (x << 24) >>> 0;
}

export const APIC_LVTT = 0x320;
export const APIC_LVT_TIMER_ONESHOT = 0 << 17;
export const APIC_LVT_TIMER_PERIODIC = 1 << 17;
export const APIC_LVT_TIMER_TSCDEADLINE = 2 << 17;
export const APIC_LVT_MASKED = 1 << 16;
export const APIC_LVTTHMR = 0x330;
export const APIC_LVTPC = 0x340;
export const APIC_LVT0 = 0x350;
export const APIC_LVT1 = 0x360;
export const APIC_LVTERR = 0x370;
export const APIC_TMICT = 0x380;
export const APIC_TMCCT = 0x390;
export const APIC_TDCR = 0x3e0;
export const APIC_SELF_IPI = 0x3f0;

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
 * `xapic_enable()` (guest): xAPIC mode, software-enabled. Leaving x2APIC
 * goes through the disabled state, as the SDM requires.
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
