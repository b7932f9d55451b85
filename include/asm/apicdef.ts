// SPDX-License-Identifier: GPL-2.0-only
/**
 * Local APIC register offsets and fields with the kernel's names
 * (`arch/x86/include/asm/apicdef.h`, which the selftests' `apic.h` repeats).
 * The one definition: the in-kernel LAPIC (`sim/kernel/arch/x86/kvm/lapic.ts`,
 * through `sim/kernel/arch/x86/include/asm/apicdef.ts`) and the library's
 * `apic.h` (`lib/x86/apic.ts`) both import it.
 *
 * @module
 */

/** `APIC_DEFAULT_PHYS_BASE`. */
export const APIC_DEFAULT_PHYS_BASE = 0xfee00000;
/** `APIC_BASE_MSR`: x2APIC register `r` is MSR `APIC_BASE_MSR + (r >> 4)`. */
export const APIC_BASE_MSR = 0x800;
/** `X2APIC_ENABLE` in IA32_APIC_BASE. */
export const X2APIC_ENABLE = 1n << 10n;

/** Register offsets in the APIC page. */
export const APIC_ID = 0x20;
export const APIC_LVR = 0x30;
export const APIC_LVR_DIRECTED_EOI = 1 << 24;
export const APIC_TASKPRI = 0x80;
export const APIC_ARBPRI = 0x90;
export const APIC_PROCPRI = 0xa0;
export const APIC_EOI = 0xb0;
export const APIC_RRR = 0xc0;
export const APIC_LDR = 0xd0;
export const APIC_LDR_MASK = 0xff << 24;
export const APIC_DFR = 0xe0;
export const APIC_DFR_CLUSTER = 0x0fffffff;
export const APIC_DFR_FLAT = 0xffffffff;
export const APIC_SPIV = 0xf0;
export const APIC_SPIV_DIRECTED_EOI = 1 << 12;
export const APIC_SPIV_APIC_ENABLED = 1 << 8;
export const APIC_ISR = 0x100;
export const APIC_ISR_NR = 0x8;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_LVTCMCI = 0x2f0;
export const APIC_ICR = 0x300;
export const APIC_DEST_SELF = 0x40000;
export const APIC_DEST_ALLINC = 0x80000;
export const APIC_DEST_ALLBUT = 0xc0000;
export const APIC_SHORT_MASK = 0xc0000;
export const APIC_DEST_NOSHORT = 0x0;
export const APIC_DEST_MASK = 0x800;
export const APIC_DEST_LOGICAL = 0x800;
export const APIC_DEST_PHYSICAL = 0x0;
export const APIC_INT_LEVELTRIG = 0x8000;
export const APIC_INT_ASSERT = 0x4000;
export const APIC_ICR_BUSY = 0x1000;
export const APIC_MODE_MASK = 0x700;
export const APIC_DM_FIXED = 0x000;
export const APIC_DM_LOWEST = 0x100;
export const APIC_DM_SMI = 0x200;
export const APIC_DM_REMRD = 0x300;
export const APIC_DM_NMI = 0x400;
export const APIC_DM_INIT = 0x500;
export const APIC_DM_STARTUP = 0x600;
export const APIC_DM_EXTINT = 0x700;
export const APIC_VECTOR_MASK = 0xff;
export const APIC_ICR2 = 0x310;
export const APIC_LVTT = 0x320;
export const APIC_LVTTHMR = 0x330;
export const APIC_LVTPC = 0x340;
export const APIC_LVT0 = 0x350;
export const APIC_LVT1 = 0x360;
export const APIC_LVTERR = 0x370;
export const APIC_TMICT = 0x380;
export const APIC_TMCCT = 0x390;
export const APIC_TDCR = 0x3e0;
export const APIC_SELF_IPI = 0x3f0;
export const APIC_LVT_MASKED = 1 << 16;
export const APIC_LVT_LEVEL_TRIGGER = 1 << 15;
export const APIC_LVT_REMOTE_IRR = 1 << 14;
export const APIC_INPUT_POLARITY = 1 << 13;
export const APIC_SEND_PENDING = 1 << 12;
export const APIC_LVT_TIMER_ONESHOT = 0 << 17;
export const APIC_LVT_TIMER_PERIODIC = 1 << 17;
export const APIC_LVT_TIMER_TSCDEADLINE = 2 << 17;
/** `APIC_BROADCAST` / `X2APIC_BROADCAST`: the all-ones destination. */
export const APIC_BROADCAST = 0xff;
export const X2APIC_BROADCAST = 0xffffffff;

// The selftests' apic.h names these too.
/** `APIC_SPIV_FOCUS_DISABLED`. */
export const APIC_SPIV_FOCUS_DISABLED = 1 << 9;
/** `APIC_ICR_RR_MASK`. */
export const APIC_ICR_RR_MASK = 0x30000;
/** `APIC_ICR_RR_INVALID`. */
export const APIC_ICR_RR_INVALID = 0x00000;
/** `APIC_ICR_RR_INPROG`. */
export const APIC_ICR_RR_INPROG = 0x10000;
/** `APIC_ICR_RR_VALID`. */
export const APIC_ICR_RR_VALID = 0x20000;
/** `APIC_DM_FIXED_MASK`. */
export const APIC_DM_FIXED_MASK = 0x00700;
