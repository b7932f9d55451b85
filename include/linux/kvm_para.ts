// SPDX-License-Identifier: GPL-2.0-only
/**
 * The KVM paravirtual interface a guest sees (`include/uapi/linux/kvm_para.h`
 * and the x86 `asm/kvm_para.h`): hypercall numbers and their error returns,
 * the KVM_HC_MAP_GPA_RANGE attributes, the KVM CPUID leaves, feature bits
 * and paravirtual MSRs.
 *
 * Hypercall numbers, error codes and feature bits are numbers. The
 * KVM_HC_MAP_GPA_RANGE attributes are `bigint`, as the hypercall argument
 * (`kvm_run.hypercall.args[2]`) that carries them is a `__u64`.
 *
 * @module
 */

import { E2BIG, EFAULT, EINVAL, EPERM } from "./errno.ts";

/** Hypercall return: the hypercall number is unknown. */
export const KVM_ENOSYS = 1000;
/** Hypercall return: bad guest address. */
export const KVM_EFAULT: number = EFAULT;
/** Hypercall return: invalid argument. */
export const KVM_EINVAL: number = EINVAL;
/** Hypercall return: argument too large. */
export const KVM_E2BIG: number = E2BIG;
/** Hypercall return: not permitted (e.g. from CPL > 0). */
export const KVM_EPERM: number = EPERM;
/** Hypercall return: not supported. */
export const KVM_EOPNOTSUPP = 95;

/** Hypercall: poll for a VAPIC interrupt. */
export const KVM_HC_VAPIC_POLL_IRQ = 1;
/** Hypercall: paravirtual MMU operations (removed). */
export const KVM_HC_MMU_OP = 2;
/** Hypercall: PowerPC features. */
export const KVM_HC_FEATURES = 3;
/** Hypercall: PowerPC magic page. */
export const KVM_HC_PPC_MAP_MAGIC_PAGE = 4;
/** Hypercall: wake a vCPU halted in a paravirtual spinlock. */
export const KVM_HC_KICK_CPU = 5;
/** Hypercall: MIPS clock frequency. */
export const KVM_HC_MIPS_GET_CLOCK_FREQ = 6;
/** Hypercall: MIPS exit. */
export const KVM_HC_MIPS_EXIT_VM = 7;
/** Hypercall: MIPS console output. */
export const KVM_HC_MIPS_CONSOLE_OUTPUT = 8;
/** Hypercall: pair the host clock with the guest TSC. */
export const KVM_HC_CLOCK_PAIRING = 9;
/** Hypercall: send IPIs to a bitmap of APIC ids. */
export const KVM_HC_SEND_IPI = 10;
/** Hypercall: yield to a preempted vCPU. */
export const KVM_HC_SCHED_YIELD = 11;
/**
 * Hypercall: convert a GPA range between private and shared; with
 * KVM_CAP_EXIT_HYPERCALL it exits to userspace as KVM_EXIT_HYPERCALL, and a
 * TD's TDG.VP.VMCALL<MapGPA> arrives the same way.
 */
export const KVM_HC_MAP_GPA_RANGE = 12;

/** CPUID leaf whose EBX, ECX, EDX read "KVMKVMKVM\0\0\0". */
export const KVM_CPUID_SIGNATURE = 0x40000000;
/** The KVM CPUID signature. */
export const KVM_SIGNATURE = "KVMKVMKVM\0\0\0";
/** CPUID leaf of the KVM feature bits (EAX) and hints (EDX). */
export const KVM_CPUID_FEATURES = 0x40000001;

/** Feature bit: kvmclock at the old MSRs. */
export const KVM_FEATURE_CLOCKSOURCE = 0;
/** Feature bit: no I/O delay needed. */
export const KVM_FEATURE_NOP_IO_DELAY = 1;
/** Feature bit: paravirtual MMU (removed). */
export const KVM_FEATURE_MMU_OP = 2;
/** Feature bit: kvmclock at the new MSRs. */
export const KVM_FEATURE_CLOCKSOURCE2 = 3;
/** Feature bit: asynchronous page faults. */
export const KVM_FEATURE_ASYNC_PF = 4;
/** Feature bit: steal time. */
export const KVM_FEATURE_STEAL_TIME = 5;
/** Feature bit: paravirtual EOI. */
export const KVM_FEATURE_PV_EOI = 6;
/** Feature bit: paravirtual spinlock unhalt. */
export const KVM_FEATURE_PV_UNHALT = 7;
/** Feature bit: paravirtual TLB flush. */
export const KVM_FEATURE_PV_TLB_FLUSH = 9;
/** Feature bit: asynchronous page faults as VM exits (nested). */
export const KVM_FEATURE_ASYNC_PF_VMEXIT = 10;
/** Feature bit: KVM_HC_SEND_IPI. */
export const KVM_FEATURE_PV_SEND_IPI = 11;
/** Feature bit: host-side halt polling control. */
export const KVM_FEATURE_POLL_CONTROL = 12;
/** Feature bit: KVM_HC_SCHED_YIELD. */
export const KVM_FEATURE_PV_SCHED_YIELD = 13;
/** Feature bit: asynchronous page fault completion by interrupt. */
export const KVM_FEATURE_ASYNC_PF_INT = 14;
/** Feature bit: extended MSI destination id. */
export const KVM_FEATURE_MSI_EXT_DEST_ID = 15;
/** Feature bit: KVM_HC_MAP_GPA_RANGE. */
export const KVM_FEATURE_HC_MAP_GPA_RANGE = 16;
/** Feature bit: MSR_KVM_MIGRATION_CONTROL. */
export const KVM_FEATURE_MIGRATION_CONTROL = 17;
/** Hint bit (EDX): vCPUs are never preempted. */
export const KVM_HINTS_REALTIME = 0;
/** Feature bit: the kvmclock stable flag is meaningful. */
export const KVM_FEATURE_CLOCKSOURCE_STABLE_BIT = 24;

/** Old kvmclock wall-clock MSR. */
export const MSR_KVM_WALL_CLOCK = 0x11;
/** Old kvmclock system-time MSR. */
export const MSR_KVM_SYSTEM_TIME = 0x12;
/** Enable bit of the paravirtual MSRs that take an address. */
export const KVM_MSR_ENABLED = 1;
/** kvmclock wall-clock MSR. */
export const MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00;
/** kvmclock system-time MSR. */
export const MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;
/** Asynchronous page fault MSR. */
export const MSR_KVM_ASYNC_PF_EN = 0x4b564d02;
/** Steal time MSR. */
export const MSR_KVM_STEAL_TIME = 0x4b564d03;
/** Paravirtual EOI MSR. */
export const MSR_KVM_PV_EOI_EN = 0x4b564d04;
/** Halt polling control MSR. */
export const MSR_KVM_POLL_CONTROL = 0x4b564d05;
/** Asynchronous page fault interrupt vector MSR. */
export const MSR_KVM_ASYNC_PF_INT = 0x4b564d06;
/** Asynchronous page fault acknowledge MSR. */
export const MSR_KVM_ASYNC_PF_ACK = 0x4b564d07;
/** Migration control MSR. */
export const MSR_KVM_MIGRATION_CONTROL = 0x4b564d08;

/** KVM_HC_MAP_GPA_RANGE attribute: 4 KiB pages. */
export const KVM_MAP_GPA_RANGE_PAGE_SZ_4K = 0n;
/** KVM_HC_MAP_GPA_RANGE attribute: 2 MiB pages. */
export const KVM_MAP_GPA_RANGE_PAGE_SZ_2M: bigint = 1n << 0n;
/** KVM_HC_MAP_GPA_RANGE attribute: 1 GiB pages. */
export const KVM_MAP_GPA_RANGE_PAGE_SZ_1G: bigint = 1n << 1n;

/** `KVM_MAP_GPA_RANGE_ENC_STAT(n)`: the encryption status `n` (1 private, 0 shared) in place. */
export function KVM_MAP_GPA_RANGE_ENC_STAT(n: bigint): bigint {
  return n << 4n;
}

/** KVM_HC_MAP_GPA_RANGE attribute: the range becomes private (encrypted). */
export const KVM_MAP_GPA_RANGE_ENCRYPTED: bigint = KVM_MAP_GPA_RANGE_ENC_STAT(1n);
/** KVM_HC_MAP_GPA_RANGE attribute: the range becomes shared (decrypted). */
export const KVM_MAP_GPA_RANGE_DECRYPTED: bigint = KVM_MAP_GPA_RANGE_ENC_STAT(0n);

/** MSR_KVM_MIGRATION_CONTROL: the guest is ready to migrate. */
export const KVM_MIGRATION_READY: number = 1 << 0;
/** Asynchronous page fault: the page is not present. */
export const KVM_PV_REASON_PAGE_NOT_PRESENT = 1;
/** Asynchronous page fault: the page is ready. */
export const KVM_PV_REASON_PAGE_READY = 2;
