// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `arch/x86/include/uapi/asm/vmx.h`: the VMX basic exit reasons
 * (SDM Vol. 3 Appendix C) that userspace sees in `kvm_run` (e.g.
 * `fail_entry.hardware_entry_failure_reason`), that TDX reports in a #VE's
 * VE_INFO.EXIT_REASON and numbers its TDVMCALL sub-functions by, and that the
 * simulated CPU exits with. Only the reasons the SDK uses are listed.
 *
 * @module
 */

/** Exception or NMI (intercepted through the exception bitmap). */
export const EXIT_REASON_EXCEPTION_NMI = 0;
/** External interrupt. */
export const EXIT_REASON_EXTERNAL_INTERRUPT = 1;
/** Triple fault: KVM reports it as `KVM_EXIT_SHUTDOWN`. */
export const EXIT_REASON_TRIPLE_FAULT = 2;
/** INIT signal. */
export const EXIT_REASON_INIT_SIGNAL = 3;
/** Interrupt window. */
export const EXIT_REASON_INTERRUPT_WINDOW = 7;
/** NMI window: NMI-window exiting and no blocking by NMI, STI or MOV SS. */
export const EXIT_REASON_NMI_WINDOW = 8;
/** CPUID (always exits). */
export const EXIT_REASON_CPUID = 10;
/** HLT. */
export const EXIT_REASON_HLT = 12;
/** INVLPG (not intercepted with EPT; listed for completeness). */
export const EXIT_REASON_INVLPG = 14;
/** RDPMC. */
export const EXIT_REASON_RDPMC = 15;
/** RDTSC (not intercepted by KVM). */
export const EXIT_REASON_RDTSC = 16;
/** VMCALL: the KVM hypercall instruction. */
export const EXIT_REASON_VMCALL = 18;
/** Control-register access. */
export const EXIT_REASON_CR_ACCESS = 28;
/** Debug-register access. */
export const EXIT_REASON_DR_ACCESS = 29;
/** IN/OUT/INS/OUTS. */
export const EXIT_REASON_IO_INSTRUCTION = 30;
/** RDMSR. */
export const EXIT_REASON_MSR_READ = 31;
/** WRMSR. */
export const EXIT_REASON_MSR_WRITE = 32;
/** VM entry failed because of invalid guest state (with bit 31 set). */
export const EXIT_REASON_INVALID_STATE = 33;
/** MWAIT. */
export const EXIT_REASON_MWAIT_INSTRUCTION = 36;
/** MONITOR. */
export const EXIT_REASON_MONITOR_INSTRUCTION = 39;
/** PAUSE (PAUSE-loop exiting; this CPU never reports it). */
export const EXIT_REASON_PAUSE_INSTRUCTION = 40;
/** LGDT/LIDT/SGDT/SIDT when descriptor-table exiting is on (never reported). */
export const EXIT_REASON_GDTR_IDTR = 46;
/** EPT violation: a guest-physical access that no memslot backs (MMIO) or that is not allowed. */
export const EXIT_REASON_EPT_VIOLATION = 48;
/** EPT misconfiguration (KVM's MMIO SPTEs; this CPU reports violations only). */
export const EXIT_REASON_EPT_MISCONFIG = 49;
/** WBINVD. */
export const EXIT_REASON_WBINVD = 54;
/** XSETBV. */
export const EXIT_REASON_XSETBV = 55;
/** TDCALL (in a TD: to the TDX module; in a legacy VM KVM injects #UD). */
export const EXIT_REASON_TDCALL = 77;
/** Bit 31 of the exit reason: the VM entry failed. */
export const VMX_EXIT_REASONS_FAILED_VMENTRY = 0x80000000;
