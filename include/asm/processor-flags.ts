// SPDX-License-Identifier: GPL-2.0-only
/**
 * RFLAGS, CR0 and CR4 bits with the kernel's names
 * (`arch/x86/include/uapi/asm/processor-flags.h`). The one definition, as
 * bigints (the registers are 64 bits wide): the library re-exports it from
 * `include/x86/processor.ts`; the simulated CPU derives its number forms from
 * it (`sim/cpu/vmx.ts`).
 *
 * @module
 */

// RFLAGS.

/** RFLAGS.CF. */
export const X86_EFLAGS_CF: bigint = 1n << 0n;
/** RFLAGS bit 1, always set. */
export const X86_EFLAGS_FIXED: bigint = 1n << 1n;
/** RFLAGS.ZF. */
export const X86_EFLAGS_ZF: bigint = 1n << 6n;
/** RFLAGS.TF. */
export const X86_EFLAGS_TF: bigint = 1n << 8n;
/** RFLAGS.IF: maskable interrupts enabled. */
export const X86_EFLAGS_IF: bigint = 1n << 9n;
/** RFLAGS.IOPL (bits 13:12). */
export const X86_EFLAGS_IOPL: bigint = 3n << 12n;
/** RFLAGS.NT. */
export const X86_EFLAGS_NT: bigint = 1n << 14n;
/** RFLAGS.RF. */
export const X86_EFLAGS_RF: bigint = 1n << 16n;
/** RFLAGS.VM. */
export const X86_EFLAGS_VM: bigint = 1n << 17n;
/** RFLAGS.AC. */
export const X86_EFLAGS_AC: bigint = 1n << 18n;

// CR0.

/** CR0.PE: protected mode. */
export const X86_CR0_PE: bigint = 1n << 0n;
/** CR0.MP. */
export const X86_CR0_MP: bigint = 1n << 1n;
/** CR0.EM. */
export const X86_CR0_EM: bigint = 1n << 2n;
/** CR0.TS. */
export const X86_CR0_TS: bigint = 1n << 3n;
/** CR0.ET. */
export const X86_CR0_ET: bigint = 1n << 4n;
/** CR0.NE. */
export const X86_CR0_NE: bigint = 1n << 5n;
/** CR0.WP: supervisor writes honour read-only pages. */
export const X86_CR0_WP: bigint = 1n << 16n;
/** CR0.AM. */
export const X86_CR0_AM: bigint = 1n << 18n;
/** CR0.NW. */
export const X86_CR0_NW: bigint = 1n << 29n;
/** CR0.CD. */
export const X86_CR0_CD: bigint = 1n << 30n;
/** CR0.PG: paging (bit 31; as an unsigned number). */
export const X86_CR0_PG: bigint = 1n << 31n;

// CR4.

/** CR4.VME. */
export const X86_CR4_VME: bigint = 1n << 0n;
/** CR4.PVI. */
export const X86_CR4_PVI: bigint = 1n << 1n;
/** CR4.TSD. */
export const X86_CR4_TSD: bigint = 1n << 2n;
/** CR4.DE. */
export const X86_CR4_DE: bigint = 1n << 3n;
/** CR4.PSE. */
export const X86_CR4_PSE: bigint = 1n << 4n;
/** CR4.PAE. */
export const X86_CR4_PAE: bigint = 1n << 5n;
/** CR4.MCE. */
export const X86_CR4_MCE: bigint = 1n << 6n;
/** CR4.PGE: global pages survive CR3 loads. */
export const X86_CR4_PGE: bigint = 1n << 7n;
/** CR4.PCE. */
export const X86_CR4_PCE: bigint = 1n << 8n;
/** CR4.OSFXSR. */
export const X86_CR4_OSFXSR: bigint = 1n << 9n;
/** CR4.OSXMMEXCPT. */
export const X86_CR4_OSXMMEXCPT: bigint = 1n << 10n;
/** CR4.UMIP. */
export const X86_CR4_UMIP: bigint = 1n << 11n;
/** CR4.LA57: 5-level paging. */
export const X86_CR4_LA57: bigint = 1n << 12n;
/** CR4.VMXE. */
export const X86_CR4_VMXE: bigint = 1n << 13n;
/** CR4.SMXE. */
export const X86_CR4_SMXE: bigint = 1n << 14n;
/** CR4.FSGSBASE. */
export const X86_CR4_FSGSBASE: bigint = 1n << 16n;
/** CR4.PCIDE. */
export const X86_CR4_PCIDE: bigint = 1n << 17n;
/** CR4.OSXSAVE. */
export const X86_CR4_OSXSAVE: bigint = 1n << 18n;
/** CR4.SMEP: supervisor fetches from user pages fault. */
export const X86_CR4_SMEP: bigint = 1n << 20n;
/** CR4.SMAP: supervisor data accesses to user pages fault unless RFLAGS.AC. */
export const X86_CR4_SMAP: bigint = 1n << 21n;
/** CR4.PKE. */
export const X86_CR4_PKE: bigint = 1n << 22n;
/** CR4.CET. */
export const X86_CR4_CET: bigint = 1n << 23n;
