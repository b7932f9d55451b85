// SPDX-License-Identifier: GPL-2.0-only
/**
 * The in-kernel local APIC (`arch/x86/kvm/lapic.c`), as kvm-x86/linux at
 * commit 1618270827609753512b7b25e7ecc3715fdbe064 behaves, with the later
 * kernels' x2APIC ICR reserved-bit #GP, read-only x2APIC ID in
 * KVM_SET_LAPIC and `kvm_apic_set_base()` checks (6.18's lapic.c): the register page
 * of each vCPU, its xAPIC MMIO window at the APIC base, the x2APIC MSRs
 * (`kvm_x2apic_msr_read/write()`), KVM_GET/SET_LAPIC (`kvm_apic_get/set_state()`),
 * IPIs (`kvm_apic_send_ipi()` → `kvm_irq_delivery_to_apic()` →
 * `__apic_accept_irq()`), PPR/EOI, INIT/SIPI latching and the APIC timer
 * (one-shot, periodic, TSC-deadline) at the VM's APIC bus frequency.
 *
 * The simulated host has no hrtimers: an armed timer is a host-clock
 * deadline, and expiry is noticed when the kernel looks (before each VM
 * entry, while a halted vCPU waits, on a TMCCT read), which is when KVM's
 * `apic_timer_fn()` would have raised `lapic_timer.pending` at the latest.
 *
 * Delivery: no APICv. An accepted interrupt sets IRR and kicks the target
 * (`kvm_vcpu_kick()`, see {@linkcode set_kick_hook}); the vCPU run loop
 * injects the highest one above PPR when the guest can take it
 * (`kvm_cpu_get_interrupt()`).
 *
 * @module
 */

import type { kvm, kvm_vcpu } from "../../../include/linux/kvm_host.ts";
import { EINVAL, ENXIO } from "../../../../../include/linux/errno.ts";
import { KVM_EINVAL } from "../../../../../include/linux/kvm_para.ts";
import {
  APIC_ARBPRI,
  APIC_BASE_MSR,
  APIC_BROADCAST,
  APIC_DEFAULT_PHYS_BASE,
  APIC_DEST_ALLBUT,
  APIC_DEST_ALLINC,
  APIC_DEST_MASK,
  APIC_DEST_NOSHORT,
  APIC_DEST_PHYSICAL,
  APIC_DEST_SELF,
  APIC_DFR,
  APIC_DFR_CLUSTER,
  APIC_DFR_FLAT,
  APIC_DM_EXTINT,
  APIC_DM_FIXED,
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
  APIC_ID,
  APIC_INPUT_POLARITY,
  APIC_INT_ASSERT,
  APIC_INT_LEVELTRIG,
  APIC_IRR,
  APIC_ISR,
  APIC_LDR,
  APIC_LDR_MASK,
  APIC_LVR,
  APIC_LVR_DIRECTED_EOI,
  APIC_LVT0,
  APIC_LVT1,
  APIC_LVT_LEVEL_TRIGGER,
  APIC_LVT_MASKED,
  APIC_LVT_REMOTE_IRR,
  APIC_LVT_TIMER_ONESHOT,
  APIC_LVT_TIMER_PERIODIC,
  APIC_LVT_TIMER_TSCDEADLINE,
  APIC_LVTCMCI,
  APIC_LVTERR,
  APIC_LVTPC,
  APIC_LVTT,
  APIC_LVTTHMR,
  APIC_MODE_MASK,
  APIC_PROCPRI,
  APIC_SELF_IPI,
  APIC_SEND_PENDING,
  APIC_SHORT_MASK,
  APIC_SPIV,
  APIC_SPIV_APIC_ENABLED,
  APIC_SPIV_DIRECTED_EOI,
  APIC_TASKPRI,
  APIC_TDCR,
  APIC_TMCCT,
  APIC_TMICT,
  APIC_TMR,
  APIC_VECTOR_MASK,
  X2APIC_BROADCAST,
  X2APIC_ENABLE,
} from "../include/asm/apicdef.ts";
import { kvm_scan_ioapic_routes } from "./irq_comm.ts";
import {
  IOAPIC_EDGE_TRIG,
  IOAPIC_LEVEL_TRIG,
  kvm_ioapic_handles_vector,
  kvm_ioapic_update_eoi,
  kvm_rtc_eoi_tracking_restore_one,
} from "./ioapic.ts";

/** `KVM_APIC_REG_SIZE`: the register page KVM_GET/SET_LAPIC copy. */
export const KVM_APIC_REG_SIZE = 0x400;
/** `LAPIC_MMIO_LENGTH`. */
export const LAPIC_MMIO_LENGTH = 1 << 12;
/** `APIC_VERSION`: 0x14, what the on-die APICs of Pentium 4 and Xeon parts report in LVR. */
const APIC_VERSION = 0x14;
/** `KVM_APIC_MAX_NR_LVT_ENTRIES`: timer, thermal, PMC, LINT0, LINT1, error, CMCI. */
export const KVM_APIC_MAX_NR_LVT_ENTRIES = 7;
const LVT_CMCI = 6;
/** `APIC_BUS_CYCLE_NS_DEFAULT`: KVM's emulated APIC bus runs at 1 GHz. */
export const APIC_BUS_CYCLE_NS_DEFAULT = 1;
/** `min_timer_period_us` (module parameter, default 200 µs): the shortest periodic timer. */
const MIN_TIMER_PERIOD_NS = 200_000;
/** `MCG_CMCI_P`: the CMCI LVT exists only with it. */
const MCG_CMCI_P = 1n << 10n;
/** `MSR_IA32_APICBASE_ENABLE`. */
const APICBASE_ENABLE = 1n << 11n;
const APICBASE_BASE = 0xfffffffffffff000n;

const LVT_MASK = APIC_LVT_MASKED | APIC_SEND_PENDING | APIC_VECTOR_MASK;
const LINT_MASK = LVT_MASK | APIC_MODE_MASK | APIC_INPUT_POLARITY | APIC_LVT_REMOTE_IRR |
  APIC_LVT_LEVEL_TRIGGER;
/**
 * `apic_lvt_mask[]`: the writable bits of each LVT. The timer's entry lacks
 * its mode field here; writes OR in `timer_mode_mask`, which depends on CPUID.
 */
const apic_lvt_mask = [
  LVT_MASK,
  LVT_MASK | APIC_MODE_MASK,
  LVT_MASK | APIC_MODE_MASK,
  LINT_MASK,
  LINT_MASK,
  LVT_MASK,
  LVT_MASK | APIC_MODE_MASK,
];

/** `APIC_LVTx(i)`: the i-th LVT register (CMCI sits apart at 0x2f0). */
function APIC_LVTx(i: number): number {
  return i === LVT_CMCI ? APIC_LVTCMCI : APIC_LVTT + 0x10 * i;
}

/** `enum lapic_lvt_entry` index of an LVT register, or -1. */
function get_lvt_index(reg: number): number {
  if (reg === APIC_LVTCMCI) return LVT_CMCI;
  if (reg < APIC_LVTT || reg > APIC_LVTERR) return -1;
  return (reg - APIC_LVTT) >> 4;
}

/** `struct kvm_timer`. Times are host-clock nanoseconds. */
export interface kvm_timer {
  /** `period`: ns per timer period (one-shot: the whole count). */
  period: number;
  /** `target_expiration`: when the current period ends. */
  target_expiration: number;
  /** `tscdeadline`: the guest TSC at expiry. */
  tscdeadline: bigint;
  /** `timer_mode`: the LVTT mode bits. */
  timer_mode: number;
  /** `timer_mode_mask`: the modes the guest may select (TSC-deadline needs CPUID). */
  timer_mode_mask: number;
  /** `pending`: expiries not yet injected. */
  pending: number;
  /** The armed hrtimer's expiry, or `null`. */
  hrtimer: number | null;
  /** One-shot and periodic starts so far (`set_target_expiration()`): see {@linkcode kvm_lapic_timer_starts}. */
  starts: number;
  /** `ktime_get()` of the last such start. */
  start_ns: number;
}

/** `struct kvm_lapic`. */
export class kvm_lapic {
  /** The register page (`regs`, KVM_APIC_REG_SIZE of the 4 KiB page are state). */
  readonly regs: Uint8Array = new Uint8Array(LAPIC_MMIO_LENGTH);
  /** Little-endian view of {@linkcode regs}. */
  readonly dv: DataView = new DataView(this.regs.buffer);
  /** `base_address`. */
  base_address = APIC_DEFAULT_PHYS_BASE;
  /** `sw_enabled`: SPIV bit 8. */
  sw_enabled = false;
  /** `irr_pending`. */
  irr_pending = false;
  /** `isr_count`. */
  isr_count = 0;
  /** `highest_isr_cache`. */
  highest_isr_cache = -1;
  /** `nr_lvt_entries`. */
  nr_lvt_entries: number;
  /** `divide_count`. */
  divide_count = 2;
  /** `lvt0_in_nmi_mode`. */
  lvt0_in_nmi_mode = false;
  /** `pending_events`: KVM_APIC_INIT (bit 0), KVM_APIC_SIPI (bit 1). */
  pending_events = 0;
  /** `sipi_vector`. */
  sipi_vector = 0;
  /**
   * `guest_apic_protected`: the guest's APIC state lives where KVM cannot
   * reach it (a TD's virtual APIC page in its TDVPS), so fixed interrupts
   * are posted (`deliver_interrupt`), never put in this page's IRR.
   */
  guest_apic_protected = false;
  /** `lapic_timer`. */
  readonly lapic_timer: kvm_timer = {
    period: 0,
    target_expiration: 0,
    tscdeadline: 0n,
    timer_mode: 0,
    timer_mode_mask: 3 << 17,
    pending: 0,
    hrtimer: null,
    starts: 0,
    start_ns: 0,
  };

  /**
   * @param vcpu the owning vCPU
   */
  constructor(readonly vcpu: kvm_vcpu) {
    this.nr_lvt_entries = kvm_apic_calc_nr_lvt_entries(vcpu);
  }
}

/** `KVM_APIC_INIT` / `KVM_APIC_SIPI` bits of `pending_events`. */
export const KVM_APIC_INIT = 1;
export const KVM_APIC_SIPI = 2;

/**
 * The kernel services lapic.c calls in x86.c and the vendor module, given by
 * them at load (the simulated kernel's equivalent of the `kvm_x86_ops` calls).
 */
export interface lapic_host_ops {
  /** `kvm_vcpu_kick()`: wake a blocked vCPU, make a running one exit. */
  kick(vcpu: kvm_vcpu): void;
  /** `kvm_read_l1_tsc(vcpu, rdtsc())`. */
  guest_tsc(vcpu: kvm_vcpu): bigint;
  /** `guest_cpuid_has(vcpu, X86_FEATURE_X2APIC)`. */
  has_x2apic(vcpu: kvm_vcpu): boolean;
  /** `guest_cpuid_has(vcpu, X86_FEATURE_TSC_DEADLINE_TIMER)`. */
  has_tsc_deadline(vcpu: kvm_vcpu): boolean;
  /** `kvm_inject_nmi()`. */
  inject_nmi(vcpu: kvm_vcpu): void;
  /**
   * `kvm_x86_ops.deliver_interrupt` for a protected APIC: post `vector`
   * (TDX: the posted-interrupt descriptor, `__vmx_deliver_posted_interrupt()`).
   */
  deliver_posted_interrupt(vcpu: kvm_vcpu, vector: number): void;
}

const noop_ops: lapic_host_ops = {
  kick: () => {},
  guest_tsc: () => 0n,
  has_x2apic: () => true,
  has_tsc_deadline: () => true,
  inject_nmi: () => {},
  deliver_posted_interrupt: () => {},
};
let ops: lapic_host_ops = noop_ops;

/** Installs x86.c / vmx.c services the LAPIC calls (see {@linkcode lapic_host_ops}). */
export function set_lapic_host_ops(o: Partial<lapic_host_ops>): void {
  ops = { ...ops, ...o };
}

const lapics = new WeakMap<kvm_vcpu, kvm_lapic>();
/** Per-VM state of lapic.c: `apic_bus_cycle_ns`. */
const bus_cycle_ns = new WeakMap<kvm, number>();

/** `irqchip_in_kernel()`: full or split. */
function irqchip_in_kernel(k: kvm): boolean {
  return k.arch.irqchip_mode !== 0;
}

/** `irqchip_split()`. */
function ioapic_in_kernel(k: kvm): boolean {
  return k.arch.irqchip_mode === 1;
}

/** `kvm->arch.apic_bus_cycle_ns`. */
export function apic_bus_cycle_ns(k: kvm): number {
  return bus_cycle_ns.get(k) ?? APIC_BUS_CYCLE_NS_DEFAULT;
}

/**
 * KVM_ENABLE_CAP(KVM_CAP_X86_APIC_BUS_CYCLES_NS) (`kvm_vm_ioctl_enable_cap()`):
 * 0 and counts whose `U32_MAX * 128 * ns` overflows u64 are EINVAL, then
 * ENXIO without an in-kernel LAPIC, then EINVAL once vCPUs exist.
 */
export function kvm_set_apic_bus_cycles_ns(k: kvm, ns: bigint): number {
  if (!ns || 0xffffffffn * 128n * ns > 0xffffffffffffffffn) return -EINVAL;
  if (!irqchip_in_kernel(k)) return -ENXIO;
  if (k.created_vcpus) return -EINVAL;
  bus_cycle_ns.set(k, Number(ns));
  return 0;
}

/** `vcpu->arch.apic`: the vCPU's LAPIC, `null` without an in-kernel irqchip. */
export function vcpu_apic(vcpu: kvm_vcpu): kvm_lapic | null {
  let a = lapics.get(vcpu);
  if (a) return a;
  if (!irqchip_in_kernel(vcpu.kvm)) return null;
  // kvm_create_lapic() + kvm_lapic_reset(): the irqchip exists before any
  // vCPU (KVM_CREATE_IRQCHIP fails afterwards), so creating it on first use
  // gives the state creation would have.
  a = new kvm_lapic(vcpu);
  lapics.set(vcpu, a);
  kvm_lapic_reset(vcpu, false);
  return a;
}

/** `lapic_in_kernel()`. */
export function lapic_in_kernel(vcpu: kvm_vcpu): boolean {
  return irqchip_in_kernel(vcpu.kvm);
}

// ---------------------------------------------------------------------------
// Register access.

/** `kvm_lapic_get_reg()`. */
export function kvm_lapic_get_reg(apic: kvm_lapic, reg: number): number {
  return apic.dv.getUint32(reg, true);
}

/** `kvm_lapic_set_reg()`. */
export function kvm_lapic_set_reg(apic: kvm_lapic, reg: number, v: number): void {
  apic.dv.setUint32(reg, v >>> 0, true);
}

function get_reg64(apic: kvm_lapic, reg: number): bigint {
  return apic.dv.getBigUint64(reg, true);
}

function set_reg64(apic: kvm_lapic, reg: number, v: bigint): void {
  apic.dv.setBigUint64(reg, BigInt.asUintN(64, v), true);
}

function test_vector(apic: kvm_lapic, vec: number, base: number): boolean {
  return (kvm_lapic_get_reg(apic, base + ((vec >> 5) << 4)) & (1 << (vec & 31))) !== 0;
}

function set_vector(apic: kvm_lapic, vec: number, base: number): boolean {
  const off = base + ((vec >> 5) << 4);
  const old = kvm_lapic_get_reg(apic, off);
  kvm_lapic_set_reg(apic, off, old | (1 << (vec & 31)));
  return (old & (1 << (vec & 31))) !== 0;
}

function clear_vector(apic: kvm_lapic, vec: number, base: number): boolean {
  const off = base + ((vec >> 5) << 4);
  const old = kvm_lapic_get_reg(apic, off);
  kvm_lapic_set_reg(apic, off, old & ~(1 << (vec & 31)));
  return (old & (1 << (vec & 31))) !== 0;
}

/** `find_highest_vector()`. */
function find_highest_vector(apic: kvm_lapic, base: number): number {
  for (let i = 7; i >= 0; i--) {
    const r = kvm_lapic_get_reg(apic, base + i * 0x10);
    if (r) return 31 - Math.clz32(r) + i * 32;
  }
  return -1;
}

function count_vectors(apic: kvm_lapic, base: number): number {
  let n = 0;
  for (let i = 0; i < 8; i++) {
    let r = kvm_lapic_get_reg(apic, base + i * 0x10);
    while (r) {
      r &= r - 1;
      n++;
    }
  }
  return n;
}

/** `apic_x2apic_mode()`. */
export function apic_x2apic_mode(apic: kvm_lapic): boolean {
  return (apic.vcpu.arch.vmcs.apic_base & X2APIC_ENABLE) !== 0n;
}

/** `kvm_apic_hw_enabled()`. */
export function kvm_apic_hw_enabled(apic: kvm_lapic): boolean {
  return (apic.vcpu.arch.vmcs.apic_base & APICBASE_ENABLE) !== 0n;
}

/** `kvm_apic_sw_enabled()`. */
export function kvm_apic_sw_enabled(apic: kvm_lapic): boolean {
  return apic.sw_enabled;
}

function apic_enabled(apic: kvm_lapic): boolean {
  return apic.sw_enabled && kvm_apic_hw_enabled(apic);
}

/** `kvm_apic_present()`. */
export function kvm_apic_present(vcpu: kvm_vcpu): kvm_lapic | null {
  const a = vcpu_apic(vcpu);
  return a && kvm_apic_hw_enabled(a) ? a : null;
}

function kvm_xapic_id(apic: kvm_lapic): number {
  return kvm_lapic_get_reg(apic, APIC_ID) >>> 24;
}

function kvm_x2apic_id(apic: kvm_lapic): number {
  return apic.vcpu.vcpu_id;
}

/** `kvm_apic_calc_x2apic_ldr()`: cluster in bits 31:16, one bit of 16 below. */
export function kvm_apic_calc_x2apic_ldr(id: number): number {
  return (((id >>> 4) << 16) | (1 << (id & 0xf))) >>> 0;
}

function kvm_apic_calc_nr_lvt_entries(vcpu: kvm_vcpu): number {
  return KVM_APIC_MAX_NR_LVT_ENTRIES - ((vcpu.arch.mce.mcg_cap & MCG_CMCI_P) ? 0 : 1);
}

/** `kvm_apic_set_version()`: directed EOI only with x2APIC and no in-kernel IOAPIC. */
export function kvm_apic_set_version(vcpu: kvm_vcpu): void {
  const apic = lapics.get(vcpu);
  if (!apic) return;
  let v = APIC_VERSION | ((apic.nr_lvt_entries - 1) << 16);
  if (ops.has_x2apic(vcpu) && !ioapic_in_kernel(vcpu.kvm)) v |= APIC_LVR_DIRECTED_EOI;
  kvm_lapic_set_reg(apic, APIC_LVR, v);
}

/**
 * `kvm_vcpu_after_set_cpuid()`'s LAPIC part: TSC-deadline mode exists only
 * with its CPUID bit, and the version register's directed EOI follows x2APIC.
 */
export function kvm_lapic_after_set_cpuid(vcpu: kvm_vcpu): void {
  const apic = lapics.get(vcpu);
  if (!apic) return;
  apic.lapic_timer.timer_mode_mask = ops.has_tsc_deadline(vcpu) ? 3 << 17 : 1 << 17;
  kvm_apic_set_version(vcpu);
}

/** `kvm_apic_after_set_mcg_cap()`: the CMCI LVT comes and goes with MCG_CMCI_P. */
export function kvm_apic_after_set_mcg_cap(vcpu: kvm_vcpu): void {
  const apic = lapics.get(vcpu);
  const n = kvm_apic_calc_nr_lvt_entries(vcpu);
  if (!apic || n === apic.nr_lvt_entries) return;
  for (let i = apic.nr_lvt_entries; i < n; i++) {
    kvm_lapic_set_reg(apic, APIC_LVTx(i), APIC_LVT_MASKED);
  }
  apic.nr_lvt_entries = n;
  kvm_apic_set_version(vcpu);
}

function apic_set_spiv(apic: kvm_lapic, val: number): void {
  kvm_lapic_set_reg(apic, APIC_SPIV, val);
  apic.sw_enabled = (val & APIC_SPIV_APIC_ENABLED) !== 0;
}

function kvm_apic_set_xapic_id(apic: kvm_lapic, id: number): void {
  kvm_lapic_set_reg(apic, APIC_ID, (id & 0xff) << 24);
}

function kvm_apic_set_x2apic_id(apic: kvm_lapic, id: number): void {
  kvm_lapic_set_reg(apic, APIC_ID, id);
  kvm_lapic_set_reg(apic, APIC_LDR, kvm_apic_calc_x2apic_ldr(id));
}

// ---------------------------------------------------------------------------
// Priorities, IRR/ISR.

function apic_find_highest_irr(apic: kvm_lapic): number {
  if (!apic.irr_pending) return -1;
  return find_highest_vector(apic, APIC_IRR);
}

function apic_clear_irr(vec: number, apic: kvm_lapic): void {
  clear_vector(apic, vec, APIC_IRR);
  apic.irr_pending = find_highest_vector(apic, APIC_IRR) !== -1;
}

function apic_set_isr(vec: number, apic: kvm_lapic): void {
  if (set_vector(apic, vec, APIC_ISR)) return;
  apic.isr_count++;
  apic.highest_isr_cache = vec;
}

function apic_find_highest_isr(apic: kvm_lapic): number {
  if (!apic.isr_count) return -1;
  if (apic.highest_isr_cache !== -1) return apic.highest_isr_cache;
  return find_highest_vector(apic, APIC_ISR);
}

function apic_clear_isr(vec: number, apic: kvm_lapic): void {
  if (!clear_vector(apic, vec, APIC_ISR)) return;
  apic.isr_count--;
  apic.highest_isr_cache = -1;
}

function apic_has_interrupt_for_ppr(apic: kvm_lapic, ppr: number): number {
  const irr = apic_find_highest_irr(apic);
  if (irr === -1 || (irr & 0xf0) <= ppr) return -1;
  return irr;
}

/** `__apic_update_ppr()`: PPR = TPR when its class is at least the ISR's, else the ISR class. */
function apic_update_ppr(apic: kvm_lapic): number {
  const tpr = kvm_lapic_get_reg(apic, APIC_TASKPRI);
  // CR8 is TPR[7:4] (VMX's TPR shadow): the CPU reads and writes the VMCS copy.
  apic.vcpu.arch.vmcs.cr8 = BigInt((tpr >> 4) & 0xf);
  const isr = apic_find_highest_isr(apic);
  const isrv = isr !== -1 ? isr : 0;
  const ppr = (tpr & 0xf0) >= (isrv & 0xf0) ? tpr & 0xff : isrv & 0xf0;
  kvm_lapic_set_reg(apic, APIC_PROCPRI, ppr);
  return ppr;
}

function apic_set_tpr(apic: kvm_lapic, tpr: number): void {
  kvm_lapic_set_reg(apic, APIC_TASKPRI, tpr);
  apic_update_ppr(apic);
}

/** `kvm_lapic_set_tpr()`: CR8 writes (bits 3:0 are TPR bits 7:4). */
export function kvm_lapic_set_tpr(vcpu: kvm_vcpu, cr8: bigint): void {
  const apic = vcpu_apic(vcpu);
  if (apic) apic_set_tpr(apic, Number(cr8 & 0xfn) << 4);
}

/** `kvm_lapic_get_cr8()`. */
export function kvm_lapic_get_cr8(vcpu: kvm_vcpu): bigint {
  const apic = vcpu_apic(vcpu);
  return apic ? BigInt((kvm_lapic_get_reg(apic, APIC_TASKPRI) & 0xf0) >> 4) : 0n;
}

/** `apic_set_eoi()`: retire the highest in-service vector. */
function apic_set_eoi(apic: kvm_lapic): number {
  const vector = apic_find_highest_isr(apic);
  if (vector === -1) return -1;
  apic_clear_isr(vector, apic);
  apic_update_ppr(apic);
  kvm_ioapic_send_eoi(apic, vector);
  return vector;
}

/**
 * `kvm_ioapic_send_eoi()`: an EOI of a vector the IOAPIC owns goes to it.
 * With a split irqchip the IOAPIC is userspace's: the vCPU exits with
 * KVM_EXIT_IOAPIC_EOI before its next entry (`pending_ioapic_eoi`,
 * KVM_REQ_IOAPIC_EOI_EXIT); in the kernel's it is broadcast, level-triggered
 * if the vector's TMR bit is set.
 */
function kvm_ioapic_send_eoi(apic: kvm_lapic, vector: number): void {
  const k = apic.vcpu.kvm;
  if (k.arch.irqchip_mode === 2) {
    if (kvm_scan_ioapic_routes(apic.vcpu, vector)) pending_ioapic_eoi.set(apic.vcpu, vector);
    return;
  }
  if (!ioapic_in_kernel(k)) return;
  if (!kvm_ioapic_handles_vector(apic.vcpu, vector)) return;
  const trigger_mode = test_vector(apic, vector, APIC_TMR) ? IOAPIC_LEVEL_TRIG : IOAPIC_EDGE_TRIG;
  kvm_ioapic_update_eoi(apic.vcpu, vector, trigger_mode);
}

/** `vcpu->arch.pending_ioapic_eoi` while KVM_REQ_IOAPIC_EOI_EXIT is pending. */
const pending_ioapic_eoi = new WeakMap<kvm_vcpu, number>();

/**
 * `kvm_check_request(KVM_REQ_IOAPIC_EOI_EXIT)`: the vector a split
 * irqchip's userspace IOAPIC must see EOIed, or -1; taking it clears it.
 */
export function kvm_take_pending_ioapic_eoi(vcpu: kvm_vcpu): number {
  const v = pending_ioapic_eoi.get(vcpu);
  if (v === undefined) return -1;
  pending_ioapic_eoi.delete(vcpu);
  return v;
}

/** `kvm_apic_has_interrupt()`: the vector the LAPIC would deliver now, or -1. */
export function kvm_apic_has_interrupt(vcpu: kvm_vcpu): number {
  const apic = kvm_apic_present(vcpu);
  if (!apic) return -1;
  // lapic.c since the TDX interrupt series (v6.16): KVM's copy of a protected
  // APIC's IRR means nothing; protected_apic_has_interrupt() answers instead.
  if (apic.guest_apic_protected) return -1;
  apic_timer_poll(apic);
  return apic_has_interrupt_for_ppr(apic, apic_update_ppr(apic));
}

/** `kvm_get_apic_interrupt()`: acknowledge it (IRR → ISR, PPR rises). */
export function kvm_get_apic_interrupt(vcpu: kvm_vcpu): number {
  const vector = kvm_apic_has_interrupt(vcpu);
  if (vector === -1) return -1;
  const apic = vcpu_apic(vcpu)!;
  apic_clear_irr(vector, apic);
  apic_set_isr(vector, apic);
  apic_update_ppr(apic);
  return vector;
}

/** `kvm_apic_accept_pic_intr()`: LINT0 in ExtINT mode (or a disabled APIC) takes PIC interrupts. */
export function kvm_apic_accept_pic_intr(vcpu: kvm_vcpu): boolean {
  const apic = vcpu_apic(vcpu);
  if (!apic || !kvm_apic_hw_enabled(apic)) return true;
  const lvt0 = kvm_lapic_get_reg(apic, APIC_LVT0);
  return !(lvt0 & APIC_LVT_MASKED) && (lvt0 & APIC_MODE_MASK) === APIC_DM_EXTINT;
}

// ---------------------------------------------------------------------------
// Interrupt acceptance and IPIs.

/** `struct kvm_lapic_irq`. */
export interface kvm_lapic_irq {
  vector: number;
  delivery_mode: number;
  dest_mode: number;
  level: boolean;
  trig_mode: number;
  shorthand: number;
  dest_id: number;
  /** `msi_redir_hint`: an MSI's redirection hint (address bit 3) asks for lowest priority. */
  msi_redir_hint?: boolean;
}

/**
 * `struct dest_map`: the vCPUs (by id) a fixed or lowest-priority message
 * reached, and its vector (the IOAPIC's RTC EOI tracking).
 */
export type dest_map = Map<number, number>;

/** `__apic_accept_irq()`: 1 if the message was taken, 0 if dropped. */
function __apic_accept_irq(
  apic: kvm_lapic,
  delivery_mode: number,
  vector: number,
  level: boolean,
  trig_mode: number,
  dm?: dest_map,
): number {
  const vcpu = apic.vcpu;
  switch (delivery_mode) {
    case APIC_DM_LOWEST:
    case APIC_DM_FIXED:
      if (delivery_mode === APIC_DM_LOWEST) arb_prio.set(vcpu, (arb_prio.get(vcpu) ?? 0) + 1);
      // A level-triggered deassert carries no interrupt; a disabled APIC drops it.
      if (trig_mode && !level) return 0;
      if (!apic_enabled(apic)) return 0;
      dm?.set(vcpu.vcpu_id, vector);
      if (test_vector(apic, vector, APIC_TMR) !== !!trig_mode) {
        if (trig_mode) set_vector(apic, vector, APIC_TMR);
        else clear_vector(apic, vector, APIC_TMR);
      }
      if (apic.guest_apic_protected) {
        // TDX: the only way in is the posted-interrupt descriptor.
        ops.deliver_posted_interrupt(vcpu, vector);
        return 1;
      }
      // vmx_deliver_interrupt() without APICv: IRR, KVM_REQ_EVENT, kick.
      set_vector(apic, vector, APIC_IRR);
      apic.irr_pending = true;
      ops.kick(vcpu);
      return 1;
    case APIC_DM_REMRD:
      pv_unhalted.add(vcpu);
      ops.kick(vcpu);
      return 1;
    case APIC_DM_SMI:
      // No SMM in the simulator: kvm_inject_smi() fails, the SMI is dropped.
      return 0;
    case APIC_DM_NMI:
      ops.inject_nmi(vcpu);
      ops.kick(vcpu);
      return 1;
    case APIC_DM_INIT:
      if (!trig_mode || level) {
        apic.pending_events = KVM_APIC_INIT;
        ops.kick(vcpu);
        return 1;
      }
      return 0;
    case APIC_DM_STARTUP:
      apic.sipi_vector = vector;
      apic.pending_events |= KVM_APIC_SIPI;
      ops.kick(vcpu);
      return 1;
    default:
      // ExtINT comes through kvm_apic_accept_pic_intr(); other modes are reserved.
      return 0;
  }
}

/** `vcpu->arch.apic_arb_prio`: lowest-priority arbitration counts. */
const arb_prio = new WeakMap<kvm_vcpu, number>();
/** `vcpu->arch.pv.pv_unhalted`: a KVM_HC_KICK_CPU (REMRD message) arrived. */
export const pv_unhalted: WeakSet<kvm_vcpu> = new WeakSet();

/** `kvm_apic_set_irq()`. */
export function kvm_apic_set_irq(vcpu: kvm_vcpu, irq: kvm_lapic_irq, dm?: dest_map): number {
  const apic = vcpu_apic(vcpu);
  if (!apic) return 0;
  return __apic_accept_irq(apic, irq.delivery_mode, irq.vector, irq.level, irq.trig_mode, dm);
}

function kvm_apic_broadcast(apic: kvm_lapic, mda: number): boolean {
  return mda === (apic_x2apic_mode(apic) ? X2APIC_BROADCAST : APIC_BROADCAST);
}

function kvm_apic_match_physical_addr(apic: kvm_lapic, mda: number): boolean {
  if (kvm_apic_broadcast(apic, mda)) return true;
  // KVM's "hotplug hack": an 8-bit xAPIC ID cannot name a vCPU whose id is
  // 256 or more, and such a vCPU boots in xAPIC mode. Any destination wider
  // than 8 bits is therefore matched against the x2APIC ID whatever the mode;
  // narrower ones still use the writable xAPIC ID.
  if (apic_x2apic_mode(apic) || mda > 0xff) return mda === kvm_x2apic_id(apic);
  return mda === kvm_xapic_id(apic);
}

function kvm_apic_match_logical_addr(apic: kvm_lapic, mda: number): boolean {
  if (kvm_apic_broadcast(apic, mda)) return true;
  let logical_id = kvm_lapic_get_reg(apic, APIC_LDR);
  if (apic_x2apic_mode(apic)) {
    return (logical_id >>> 16) === (mda >>> 16) && (logical_id & mda & 0xffff) !== 0;
  }
  logical_id = logical_id >>> 24;
  switch (kvm_lapic_get_reg(apic, APIC_DFR)) {
    case APIC_DFR_FLAT:
      return (logical_id & mda) !== 0;
    case APIC_DFR_CLUSTER:
      return (logical_id >> 4) === (mda >> 4) && (logical_id & mda & 0xf) !== 0;
    default:
      return false;
  }
}

/** `kvm_apic_mda()`: the broadcast quirk rewrites 0xff for x2APIC targets of non-IPIs. */
function kvm_apic_mda(
  vcpu: kvm_vcpu,
  dest_id: number,
  source: kvm_lapic | null,
  target: kvm_lapic,
): number {
  if (
    !vcpu.kvm.arch.x2apic_broadcast_quirk_disabled && source === null &&
    dest_id === APIC_BROADCAST && apic_x2apic_mode(target)
  ) {
    return X2APIC_BROADCAST;
  }
  return dest_id >>> 0;
}

/** `kvm_apic_match_dest()`. */
export function kvm_apic_match_dest(
  vcpu: kvm_vcpu,
  source: kvm_lapic | null,
  shorthand: number,
  dest: number,
  dest_mode: number,
): boolean {
  const target = vcpu_apic(vcpu)!;
  const mda = kvm_apic_mda(vcpu, dest, source, target);
  switch (shorthand) {
    case APIC_DEST_NOSHORT:
      return dest_mode === APIC_DEST_PHYSICAL
        ? kvm_apic_match_physical_addr(target, mda)
        : kvm_apic_match_logical_addr(target, mda);
    case APIC_DEST_SELF:
      return target === source;
    case APIC_DEST_ALLINC:
      return true;
    case APIC_DEST_ALLBUT:
      return target !== source;
    default:
      return false;
  }
}

/**
 * `kvm_irq_delivery_to_apic()` (irq_comm.c), the slow path the optimized
 * map only speeds up: every present APIC that matches takes the message;
 * lowest priority (or an MSI's redirection hint) goes to one enabled match,
 * picked by the vector (vector hashing). Returns how many took it, -1 if
 * none matched.
 */
export function kvm_irq_delivery_to_apic(
  k: kvm,
  src: kvm_lapic | null,
  irq: kvm_lapic_irq,
  dm?: dest_map,
): number {
  let r = -1;
  // kvm_lowest_prio_delivery(): lowest priority, or an MSI's redirection hint.
  const lowest_prio_delivery = (i: kvm_lapic_irq) =>
    i.delivery_mode === APIC_DM_LOWEST || i.msi_redir_hint === true;
  const r_fast = kvm_irq_delivery_to_apic_fast(k, src, irq, lowest_prio_delivery(irq), dm);
  if (r_fast !== null) return r_fast;
  // A lowest-priority physical broadcast is delivered as fixed (the hint
  // still counts below, as in the kernel).
  if (irq.dest_mode === APIC_DEST_PHYSICAL && irq.dest_id === 0xff && lowest_prio_delivery(irq)) {
    irq = { ...irq, delivery_mode: APIC_DM_FIXED };
  }
  const lowest_prio = lowest_prio_delivery(irq);
  // With vector hashing (the `vector_hashing` module parameter's default)
  // the vector picks among the matching enabled APICs: kvm_vector_to_index().
  const candidates: kvm_vcpu[] = [];
  for (const vcpu of k.vcpus) {
    if (!vcpu || !kvm_apic_present(vcpu)) continue;
    if (!kvm_apic_match_dest(vcpu, src, irq.shorthand, irq.dest_id, irq.dest_mode)) continue;
    if (!lowest_prio) {
      if (r < 0) r = 0;
      r += kvm_apic_set_irq(vcpu, irq, dm);
    } else if (kvm_apic_sw_enabled(vcpu_apic(vcpu)!)) {
      candidates.push(vcpu);
    }
  }
  const lowest = candidates.length ? candidates[irq.vector % candidates.length]! : null;
  if (lowest) r = kvm_apic_set_irq(lowest, irq, dm);
  return r;
}

/**
 * `kvm_irq_delivery_to_apic_fast()` with `kvm_apic_map_get_dest_lapic()`
 * over the optimized map KVM keeps (`kvm_recalculate_apic_map()`): present
 * APICs by physical ID, software-enabled ones by logical ID in one mode
 * (x2APIC clusters of 16, xAPIC flat 8 bits, xAPIC clusters of 4). A
 * destination nobody holds counts 0 (where the slow path answers -1); a
 * lowest-priority message goes to the (vector % weight)-th bit of the
 * logical mask (vector hashing), and is dropped if no APIC holds it.
 * `null` where KVM takes the slow path: no map before the first vCPU's LAPIC
 * is reset, a shorthand other than SELF, a broadcast, APICs in mixed
 * logical modes. The map is rebuilt at every change here (KVM's can be
 * stale: docs/fidelity.md, `apic-map`).
 */
function kvm_irq_delivery_to_apic_fast(
  k: kvm,
  src: kvm_lapic | null,
  irq: kvm_lapic_irq,
  lowest_prio: boolean,
  dm?: dest_map,
): number | null {
  if (irq.shorthand === APIC_DEST_SELF && src) return kvm_apic_set_irq(src.vcpu, irq, dm);
  if (irq.shorthand !== APIC_DEST_NOSHORT) return null;
  if (!k.created_vcpus) return null;
  const present: kvm_lapic[] = [];
  for (const v of k.vcpus) {
    const a = v && kvm_apic_present(v);
    if (a) present.push(a);
  }
  // kvm_apic_is_broadcast_dest().
  const all_x2 = present.every((a) => apic_x2apic_mode(a));
  const x2_ipi = src !== null && apic_x2apic_mode(src);
  const broadcast = k.arch.x2apic_broadcast_quirk_disabled
    ? (irq.dest_id === APIC_BROADCAST && !all_x2) || irq.dest_id === X2APIC_BROADCAST
    : irq.dest_id === (x2_ipi ? X2APIC_BROADCAST : APIC_BROADCAST);
  if (broadcast) return null;
  const dest = irq.dest_id >>> 0;
  if (irq.dest_mode === APIC_DEST_PHYSICAL) {
    let r = 0;
    for (const a of present) {
      if (kvm_apic_match_physical_addr(a, dest)) r += kvm_apic_set_irq(a.vcpu, irq, dm);
    }
    return r;
  }
  const enabled = present.filter((a) => kvm_apic_sw_enabled(a));
  if (!enabled.length) return 0;
  const mode = (a: kvm_lapic) =>
    apic_x2apic_mode(a) ? 2 : kvm_lapic_get_reg(a, APIC_DFR) === APIC_DFR_FLAT ? 0 : 1;
  const m = mode(enabled[0]!);
  if (enabled.some((a) => mode(a) !== m)) return null;
  let cluster: number, mask: number;
  if (m === 2) [cluster, mask] = [dest >>> 16, dest & 0xffff];
  else if (m === 0) [cluster, mask] = [0, dest & 0xff];
  else [cluster, mask] = [(dest >>> 4) & 0xf, dest & 0xf];
  const holder = (bit: number) =>
    enabled.find((a) => {
      const ldr = kvm_lapic_get_reg(a, APIC_LDR);
      if (m === 2) return ldr >>> 16 === cluster && (ldr & 0xffff) === 1 << bit;
      const id = ldr >>> 24;
      return m === 0 ? id === 1 << bit : id >>> 4 === cluster && (id & 0xf) === 1 << bit;
    });
  const bits: number[] = [];
  for (let b = 0; b < 16; b++) if (mask & (1 << b)) bits.push(b);
  if (lowest_prio) {
    if (!bits.length) return 0;
    const h = holder(bits[irq.vector % bits.length]!);
    return h ? kvm_apic_set_irq(h.vcpu, irq, dm) : 0;
  }
  let r = 0;
  for (const b of bits) {
    const h = holder(b);
    if (h) r += kvm_apic_set_irq(h.vcpu, irq, dm);
  }
  return r;
}

/**
 * `kvm_pv_kick_cpu_op()` (x86.c): KVM_HC_KICK_CPU sends the target a REMRD
 * message, which marks it `pv_unhalted` and wakes it.
 */
export function kvm_pv_kick_cpu_op(k: kvm, apicid: number): void {
  kvm_irq_delivery_to_apic(k, null, {
    vector: 0,
    delivery_mode: APIC_DM_REMRD,
    dest_mode: APIC_DEST_PHYSICAL,
    level: false,
    trig_mode: 0,
    shorthand: APIC_DEST_NOSHORT,
    dest_id: apicid >>> 0,
  });
}

/**
 * `kvm_pv_send_ipi()`: KVM_HC_SEND_IPI. Bit i of the low (high) bitmap names
 * the APIC whose physical ID is `min + i` (`min + 64 + i`; 32 per word
 * outside 64-bit mode), looked up as the optimized map's `phys_map` does
 * (x2APIC ID in x2APIC mode, else the xAPIC ID). A destination mode or
 * shorthand in `icr` is -KVM_EINVAL. Returns how many APICs took it.
 */
export function kvm_pv_send_ipi(
  k: kvm,
  low: bigint,
  high: bigint,
  min: bigint,
  icr: bigint,
  op_64_bit: boolean,
): number {
  if (icr & BigInt(APIC_DEST_MASK | APIC_SHORT_MASK)) return -KVM_EINVAL;
  const irq: kvm_lapic_irq = {
    vector: Number(icr & 0xffn),
    delivery_mode: Number(icr) & APIC_MODE_MASK,
    dest_mode: APIC_DEST_PHYSICAL,
    level: (Number(icr) & APIC_INT_ASSERT) !== 0,
    trig_mode: Number(icr) & APIC_INT_LEVELTRIG,
    shorthand: APIC_DEST_NOSHORT,
    dest_id: 0,
  };
  const phys = new Map<number, kvm_vcpu>();
  let max_apic_id = 255;
  for (const v of k.vcpus) {
    const a = v && kvm_apic_present(v);
    if (!a) continue;
    max_apic_id = Math.max(max_apic_id, v.vcpu_id);
    phys.set(apic_x2apic_mode(a) ? v.vcpu_id : kvm_xapic_id(a), v);
  }
  const cluster = op_64_bit ? 64n : 32n;
  let count = 0;
  for (const [bitmap, base] of [[low, min], [high, min + cluster]] as const) {
    if (base > BigInt(max_apic_id)) continue;
    const n = Math.min(Number(cluster), max_apic_id - Number(base) + 1);
    for (let i = 0; i < n; i++) {
      if (!((bitmap >> BigInt(i)) & 1n)) continue;
      const v = phys.get(Number(base) + i);
      if (v) count += kvm_apic_set_irq(v, irq);
    }
  }
  return count;
}

/**
 * `kvm_apic_send_ipi()`: the ICR's message. Delivery finishes inside the
 * emulated write, so the callers strip BUSY and it never reads back as 1.
 */
export function kvm_apic_send_ipi(apic: kvm_lapic, icr_low: number, icr_high: number): void {
  const irq: kvm_lapic_irq = {
    vector: icr_low & APIC_VECTOR_MASK,
    delivery_mode: icr_low & APIC_MODE_MASK,
    dest_mode: icr_low & APIC_DEST_MASK,
    level: (icr_low & APIC_INT_ASSERT) !== 0,
    trig_mode: icr_low & APIC_INT_LEVELTRIG,
    shorthand: icr_low & APIC_SHORT_MASK,
    dest_id: apic_x2apic_mode(apic) ? icr_high >>> 0 : icr_high >>> 24,
  };
  kvm_irq_delivery_to_apic(apic.vcpu.kvm, apic, irq);
}

/** `kvm_apic_local_deliver()`: an LVT's interrupt to its own APIC. */
function kvm_apic_local_deliver(apic: kvm_lapic, lvt_type: number): number {
  const reg = kvm_lapic_get_reg(apic, lvt_type);
  if (!kvm_apic_hw_enabled(apic) || (reg & APIC_LVT_MASKED)) return 0;
  return __apic_accept_irq(
    apic,
    reg & APIC_MODE_MASK,
    reg & APIC_VECTOR_MASK,
    true,
    reg & APIC_LVT_LEVEL_TRIGGER,
  );
}

// ---------------------------------------------------------------------------
// Timer.

/** Host clock in nanoseconds (`ktime_get()`). */
function ktime_get(): number {
  return performance.now() * 1e6;
}

function apic_lvtt_oneshot(apic: kvm_lapic): boolean {
  return apic.lapic_timer.timer_mode === APIC_LVT_TIMER_ONESHOT;
}

function apic_lvtt_period(apic: kvm_lapic): boolean {
  return apic.lapic_timer.timer_mode === APIC_LVT_TIMER_PERIODIC;
}

function apic_lvtt_tscdeadline(apic: kvm_lapic): boolean {
  return apic.lapic_timer.timer_mode === APIC_LVT_TIMER_TSCDEADLINE;
}

function update_divide_count(apic: kvm_lapic): void {
  const t = kvm_lapic_get_reg(apic, APIC_TDCR) & 0xf;
  const t2 = ((t & 0x3) | ((t & 0x8) >> 1)) + 1;
  apic.divide_count = 1 << (t2 & 0x7);
}

function tmict_to_ns(apic: kvm_lapic, tmict: number): number {
  return tmict * apic_bus_cycle_ns(apic.vcpu.kvm) * apic.divide_count;
}

function limit_periodic_timer_frequency(apic: kvm_lapic): void {
  const t = apic.lapic_timer;
  if (apic_lvtt_period(apic) && t.period && t.period < MIN_TIMER_PERIOD_NS) {
    t.period = MIN_TIMER_PERIOD_NS;
  }
}

function cancel_apic_timer(apic: kvm_lapic): void {
  apic.lapic_timer.hrtimer = null;
  apic.lapic_timer.pending = 0;
}

function apic_update_lvtt(apic: kvm_lapic): void {
  const t = apic.lapic_timer;
  const mode = kvm_lapic_get_reg(apic, APIC_LVTT) & t.timer_mode_mask;
  if (t.timer_mode === mode) return;
  if (apic_lvtt_tscdeadline(apic) !== (mode === APIC_LVT_TIMER_TSCDEADLINE)) {
    cancel_apic_timer(apic);
    kvm_lapic_set_reg(apic, APIC_TMICT, 0);
    t.period = 0;
    t.tscdeadline = 0n;
  }
  t.timer_mode = mode;
  limit_periodic_timer_frequency(apic);
}

function nsec_to_cycles(vcpu: kvm_vcpu, ns: number): bigint {
  return BigInt(Math.floor(ns * (vcpu.arch.vmcs.tsc_khz || 1000000) / 1e6));
}

/** `set_target_expiration()`: the period from TMICT (or the remaining TMCCT count on restore). */
function set_target_expiration(apic: kvm_lapic, count_reg: number): boolean {
  const t = apic.lapic_timer;
  const now = ktime_get();
  t.period = tmict_to_ns(apic, kvm_lapic_get_reg(apic, APIC_TMICT));
  if (!t.period) {
    t.tscdeadline = 0n;
    return false;
  }
  limit_periodic_timer_frequency(apic);
  let deadline = t.period;
  if (count_reg !== APIC_TMICT) {
    deadline = tmict_to_ns(apic, kvm_lapic_get_reg(apic, count_reg));
    if (deadline <= 0) deadline = apic_lvtt_period(apic) ? t.period : 0;
    else if (deadline > t.period) {
      kvm_lapic_set_reg(apic, count_reg, 0);
      deadline = t.period;
    }
  }
  t.tscdeadline = ops.guest_tsc(apic.vcpu) + nsec_to_cycles(apic.vcpu, deadline);
  t.target_expiration = now + deadline;
  t.starts++;
  t.start_ns = now;
  return true;
}

function apic_timer_expired(apic: kvm_lapic): void {
  if (apic.lapic_timer.pending) return;
  apic.lapic_timer.pending++;
  ops.kick(apic.vcpu);
}

function start_sw_tscdeadline(apic: kvm_lapic): void {
  const t = apic.lapic_timer;
  const khz = apic.vcpu.arch.vmcs.tsc_khz;
  if (!t.tscdeadline || !khz) return;
  const guest_tsc = ops.guest_tsc(apic.vcpu);
  if (t.tscdeadline > guest_tsc) {
    t.hrtimer = ktime_get() + Number(t.tscdeadline - guest_tsc) * 1e6 / khz;
  } else apic_timer_expired(apic);
}

function __start_apic_timer(apic: kvm_lapic, count_reg: number): void {
  apic.lapic_timer.pending = 0;
  if (
    (apic_lvtt_period(apic) || apic_lvtt_oneshot(apic)) && !set_target_expiration(apic, count_reg)
  ) {
    return;
  }
  if (apic_lvtt_tscdeadline(apic)) start_sw_tscdeadline(apic);
  else apic.lapic_timer.hrtimer = apic.lapic_timer.target_expiration;
}

/**
 * `apic_timer_fn()`, run lazily: an expired hrtimer raises `pending` and a
 * periodic one re-arms one period after its target (missed periods collapse
 * into the one pending expiry, as `pending` counts to 1).
 */
function apic_timer_poll(apic: kvm_lapic): void {
  const t = apic.lapic_timer;
  if (t.hrtimer === null) return;
  const now = ktime_get();
  if (now < t.hrtimer) return;
  apic_timer_expired(apic);
  if (apic_lvtt_period(apic) && t.period) {
    while (t.target_expiration <= now) t.target_expiration += t.period;
    t.tscdeadline = ops.guest_tsc(apic.vcpu) +
      nsec_to_cycles(apic.vcpu, t.target_expiration - now);
    t.hrtimer = t.target_expiration;
  } else t.hrtimer = null;
}

/**
 * When the vCPU's armed timer fires, in host-clock milliseconds
 * (`performance.now()`), or `null`: how long a halted vCPU may sleep.
 */
export function kvm_lapic_next_event_ms(vcpu: kvm_vcpu): number | null {
  const apic = lapics.get(vcpu);
  const e = apic?.lapic_timer.hrtimer;
  return e === null || e === undefined ? null : e / 1e6;
}

/**
 * `apic_has_pending_timer()`: an expiry not yet injected, with the APIC and
 * the LVTT enabled (what `kvm_cpu_has_pending_timer()` wakes a halted vCPU for).
 */
export function apic_has_pending_timer(vcpu: kvm_vcpu): boolean {
  const apic = lapics.get(vcpu);
  if (!apic) return false;
  apic_timer_poll(apic);
  if (!apic_enabled(apic) || (kvm_lapic_get_reg(apic, APIC_LVTT) & APIC_LVT_MASKED)) return false;
  return apic.lapic_timer.pending > 0;
}

/** `kvm_inject_apic_timer_irqs()`: a pending expiry becomes the LVTT interrupt. */
export function kvm_inject_apic_timer_irqs(vcpu: kvm_vcpu): void {
  const apic = lapics.get(vcpu);
  if (!apic) return;
  apic_timer_poll(apic);
  const t = apic.lapic_timer;
  if (t.pending <= 0) return;
  kvm_apic_local_deliver(apic, APIC_LVTT);
  if (apic_lvtt_tscdeadline(apic)) t.tscdeadline = 0n;
  else if (apic_lvtt_oneshot(apic)) {
    t.tscdeadline = 0n;
    t.target_expiration = 0;
  }
  t.pending = 0;
}

// ---------------------------------------------------------------------------
// Timer accesses that finish when the guest resumes. On hardware the exit of
// a TMICT write or a TMCCT read lasts microseconds; here the host thread's
// garbage collector or scheduler can stretch it to milliseconds, which the
// guest would see as a timer started early or a count read early against
// its TSC. vmx.ts has the CPU finish such an access at the instant the
// guest resumes (the VMCS's `apic_sync`), with the numbers below.

/**
 * How many one-shot or periodic starts the vCPU's APIC timer has had: a
 * change across an exit's handling means the exit's instruction (a TMICT
 * or LVTT write) started it.
 */
export function kvm_lapic_timer_starts(vcpu: kvm_vcpu): number {
  return lapics.get(vcpu)?.lapic_timer.starts ?? 0;
}

/** When the last start happened, in epoch milliseconds (the clock every thread reads alike). */
export function kvm_lapic_timer_start_ms(vcpu: kvm_vcpu): number {
  return ktime_to_epoch_ms(lapics.get(vcpu)?.lapic_timer.start_ns ?? 0);
}

/**
 * Moves the last start `ms` milliseconds later (the guest resumed then):
 * the period's end, the armed hrtimer and the guest-TSC deadline with it,
 * so the timer counts from the instant its write retired.
 */
export function kvm_lapic_timer_delay_start(vcpu: kvm_vcpu, ms: number): void {
  const apic = lapics.get(vcpu);
  if (!apic || !(ms > 0) || apic_lvtt_tscdeadline(apic)) return;
  const t = apic.lapic_timer;
  const ns = ms * 1e6;
  t.target_expiration += ns;
  t.start_ns += ns;
  if (t.hrtimer !== null) t.hrtimer += ns;
  if (t.tscdeadline) t.tscdeadline += nsec_to_cycles(apic.vcpu, ns);
}

/** What `apic_get_tmcct()` computes a count from, in epoch milliseconds. */
export interface tmcct_clock {
  /** `target_expiration`. */
  target_ms: number;
  /** `period`. */
  period_ms: number;
  /** One count: the bus cycle times the divider. */
  tick_ms: number;
  /** The LVTT is periodic: a period that ends before the read starts the next. */
  periodic: boolean;
}

/**
 * The inputs of TMCCT's formula, for the CPU to evaluate when the guest
 * resumes; `null` when the count is 0 whatever the time (no timer, or
 * TSC-deadline mode, where `__apic_read()` answers 0).
 */
export function kvm_lapic_tmcct_clock(vcpu: kvm_vcpu): tmcct_clock | null {
  const apic = lapics.get(vcpu);
  if (!apic) return null;
  const t = apic.lapic_timer;
  if (apic_lvtt_tscdeadline(apic)) return null;
  if (kvm_lapic_get_reg(apic, APIC_TMICT) === 0 || t.period === 0) return null;
  return {
    target_ms: ktime_to_epoch_ms(t.target_expiration),
    period_ms: t.period / 1e6,
    tick_ms: apic_bus_cycle_ns(apic.vcpu.kvm) * apic.divide_count / 1e6,
    periodic: apic_lvtt_period(apic),
  };
}

function ktime_to_epoch_ms(ns: number): number {
  return performance.timeOrigin + ns / 1e6;
}

function apic_get_tmcct(apic: kvm_lapic): number {
  const t = apic.lapic_timer;
  if (kvm_lapic_get_reg(apic, APIC_TMICT) === 0 || t.period === 0) return 0;
  const remaining = Math.max(0, t.target_expiration - ktime_get());
  const ns = remaining % t.period;
  return Math.floor(ns / (apic_bus_cycle_ns(apic.vcpu.kvm) * apic.divide_count)) >>> 0;
}

/** `kvm_get_lapic_tscdeadline_msr()`. */
export function kvm_get_lapic_tscdeadline_msr(vcpu: kvm_vcpu): bigint {
  const apic = kvm_apic_present(vcpu);
  if (!apic || !apic_lvtt_tscdeadline(apic)) return 0n;
  return apic.lapic_timer.tscdeadline;
}

/** `kvm_set_lapic_tscdeadline_msr()`: ignored unless the LVTT is in TSC-deadline mode. */
export function kvm_set_lapic_tscdeadline_msr(vcpu: kvm_vcpu, data: bigint): void {
  const apic = kvm_apic_present(vcpu);
  if (!apic || !apic_lvtt_tscdeadline(apic)) return;
  apic.lapic_timer.hrtimer = null;
  apic.lapic_timer.tscdeadline = data;
  __start_apic_timer(apic, APIC_TMICT);
}

// ---------------------------------------------------------------------------
// Register reads and writes (MMIO and MSR).

function APIC_REG_MASK(reg: number): bigint {
  return 1n << BigInt(reg >> 4);
}

/**
 * `kvm_lapic_readable_reg_mask()`: one bit per 16-byte register a read may
 * target. EOI, SELF IPI and unused offsets have no bit, CMCI only when that
 * LVT exists, and ARBPRI, DFR and ICR2 only outside x2APIC mode.
 */
export function kvm_lapic_readable_reg_mask(apic: kvm_lapic): bigint {
  let m = 0n;
  for (
    const r of [
      APIC_ID,
      APIC_LVR,
      APIC_TASKPRI,
      APIC_PROCPRI,
      APIC_LDR,
      APIC_SPIV,
      APIC_ESR,
      APIC_ICR,
      APIC_LVTT,
      APIC_LVTTHMR,
      APIC_LVTPC,
      APIC_LVT0,
      APIC_LVT1,
      APIC_LVTERR,
      APIC_TMICT,
      APIC_TMCCT,
      APIC_TDCR,
    ]
  ) m |= APIC_REG_MASK(r);
  for (let i = 0; i < 8; i++) {
    m |= APIC_REG_MASK(APIC_ISR + 0x10 * i) | APIC_REG_MASK(APIC_TMR + 0x10 * i) |
      APIC_REG_MASK(APIC_IRR + 0x10 * i);
  }
  if (apic.nr_lvt_entries > LVT_CMCI) m |= APIC_REG_MASK(APIC_LVTCMCI);
  if (!apic_x2apic_mode(apic)) {
    m |= APIC_REG_MASK(APIC_ARBPRI) | APIC_REG_MASK(APIC_DFR) | APIC_REG_MASK(APIC_ICR2);
  }
  return m;
}

function __apic_read(apic: kvm_lapic, offset: number): number {
  if (offset >= LAPIC_MMIO_LENGTH) return 0;
  switch (offset) {
    case APIC_ARBPRI:
      return 0;
    case APIC_TMCCT:
      if (apic_lvtt_tscdeadline(apic)) return 0;
      return apic_get_tmcct(apic);
    case APIC_PROCPRI:
      apic_update_ppr(apic);
      return kvm_lapic_get_reg(apic, offset);
    default:
      return kvm_lapic_get_reg(apic, offset);
  }
}

/**
 * `kvm_lapic_reg_read()`: `len` bytes at `offset` (within one 16-byte
 * register), or `null` for an access KVM refuses.
 */
export function kvm_lapic_reg_read(apic: kvm_lapic, offset: number, len: number): number | null {
  const alignment = offset & 0xf;
  if (alignment + len > 4) return null;
  if (offset > 0x3f0 || !(kvm_lapic_readable_reg_mask(apic) & APIC_REG_MASK(offset))) return null;
  const result = __apic_read(apic, offset & ~0xf);
  if (len === 4) return result >>> 0;
  return (result >>> (8 * alignment)) & (len === 1 ? 0xff : 0xffff);
}

function apic_manage_nmi_watchdog(apic: kvm_lapic, lvt0: number): void {
  apic.lvt0_in_nmi_mode = (lvt0 & (APIC_MODE_MASK | APIC_LVT_MASKED)) === APIC_DM_NMI;
}

/** `kvm_lapic_reg_write()`: 0, or 1 for a write KVM refuses (#GP for an x2APIC MSR). */
export function kvm_lapic_reg_write(apic: kvm_lapic, reg: number, val: number): number {
  val >>>= 0;
  const x2 = apic_x2apic_mode(apic);
  switch (reg) {
    case APIC_ID:
      if (x2) return 1;
      kvm_apic_set_xapic_id(apic, val >>> 24);
      return 0;
    case APIC_TASKPRI:
      apic_set_tpr(apic, val & 0xff);
      return 0;
    case APIC_EOI:
      apic_set_eoi(apic);
      return 0;
    case APIC_LDR:
      if (x2) return 1;
      kvm_lapic_set_reg(apic, APIC_LDR, val & APIC_LDR_MASK);
      return 0;
    case APIC_DFR:
      if (x2) return 1;
      kvm_lapic_set_reg(apic, APIC_DFR, val | 0x0fffffff);
      return 0;
    case APIC_SPIV: {
      let mask = 0x3ff;
      if (kvm_lapic_get_reg(apic, APIC_LVR) & APIC_LVR_DIRECTED_EOI) mask |= APIC_SPIV_DIRECTED_EOI;
      apic_set_spiv(apic, val & mask);
      if (!(val & APIC_SPIV_APIC_ENABLED)) {
        // A software-disabled APIC masks every LVT.
        for (let i = 0; i < apic.nr_lvt_entries; i++) {
          kvm_lapic_set_reg(
            apic,
            APIC_LVTx(i),
            kvm_lapic_get_reg(apic, APIC_LVTx(i)) | APIC_LVT_MASKED,
          );
        }
        apic_update_lvtt(apic);
        apic.lapic_timer.pending = 0;
      }
      return 0;
    }
    case APIC_ICR:
      val &= ~APIC_ICR_BUSY;
      kvm_apic_send_ipi(apic, val, kvm_lapic_get_reg(apic, APIC_ICR2));
      kvm_lapic_set_reg(apic, APIC_ICR, val);
      return 0;
    case APIC_ICR2:
      if (x2) return 1;
      kvm_lapic_set_reg(apic, APIC_ICR2, val & 0xff000000);
      return 0;
    case APIC_LVT0:
    case APIC_LVTTHMR:
    case APIC_LVTPC:
    case APIC_LVT1:
    case APIC_LVTERR:
    case APIC_LVTCMCI: {
      if (reg === APIC_LVT0) apic_manage_nmi_watchdog(apic, val);
      const index = get_lvt_index(reg);
      if (apic.nr_lvt_entries <= index) return 1;
      if (!apic.sw_enabled) val |= APIC_LVT_MASKED;
      kvm_lapic_set_reg(apic, reg, val & apic_lvt_mask[index]!);
      return 0;
    }
    case APIC_LVTT:
      if (!apic.sw_enabled) val |= APIC_LVT_MASKED;
      kvm_lapic_set_reg(
        apic,
        APIC_LVTT,
        val & (apic_lvt_mask[0]! | apic.lapic_timer.timer_mode_mask),
      );
      apic_update_lvtt(apic);
      return 0;
    case APIC_TMICT:
      if (apic_lvtt_tscdeadline(apic)) return 0;
      cancel_apic_timer(apic);
      kvm_lapic_set_reg(apic, APIC_TMICT, val);
      __start_apic_timer(apic, APIC_TMICT);
      return 0;
    case APIC_TDCR: {
      const old = apic.divide_count;
      kvm_lapic_set_reg(apic, APIC_TDCR, val & 0xb);
      update_divide_count(apic);
      const t = apic.lapic_timer;
      if (apic.divide_count !== old && t.period) {
        // update_target_expiration(): the remaining time scales with the divisor.
        t.period = tmict_to_ns(apic, kvm_lapic_get_reg(apic, APIC_TMICT));
        limit_periodic_timer_frequency(apic);
        const now = ktime_get();
        const rem = Math.max(0, t.target_expiration - now) * apic.divide_count / old;
        t.tscdeadline = ops.guest_tsc(apic.vcpu) + nsec_to_cycles(apic.vcpu, rem);
        t.target_expiration = now + rem;
        if (t.hrtimer !== null) t.hrtimer = t.target_expiration;
      }
      return 0;
    }
    case APIC_ESR:
      if (x2 && val !== 0) return 1;
      return 0;
    case APIC_SELF_IPI:
      // Only x2APIC has this register (MSR 0x83f). Its value is a bare vector,
      // so a write with anything above bit 7 fails.
      if (!x2 || (val & ~APIC_VECTOR_MASK)) return 1;
      kvm_apic_send_ipi(apic, APIC_DEST_SELF | val, 0);
      return 0;
    default:
      return 1;
  }
}

/**
 * `apic_mmio_read()`: a guest read of the APIC page. With the APIC disabled
 * or in x2APIC mode the page is a hole: all ones under
 * KVM_X86_QUIRK_LAPIC_MMIO_HOLE, else not the APIC's (`null`: the access
 * goes on to userspace). Refused reads leave the data as it was (0 here).
 */
export function apic_mmio_read(vcpu: kvm_vcpu, gpa: number, len: number): bigint | null {
  const apic = vcpu_apic(vcpu);
  if (!apic || gpa < apic.base_address || gpa >= apic.base_address + LAPIC_MMIO_LENGTH) return null;
  if (!kvm_apic_hw_enabled(apic) || apic_x2apic_mode(apic)) {
    if (vcpu.kvm.arch.disabled_quirks & (1 << 2)) return null;
    return len >= 8 ? 0xffffffffffffffffn : (1n << BigInt(8 * len)) - 1n;
  }
  const v = kvm_lapic_reg_read(apic, gpa - apic.base_address, len);
  return BigInt(v ?? 0);
}

/** `apic_mmio_write()`: only aligned 32-bit writes reach a register. `false`: not the APIC's. */
export function apic_mmio_write(vcpu: kvm_vcpu, gpa: number, len: number, data: bigint): boolean {
  const apic = vcpu_apic(vcpu);
  if (!apic || gpa < apic.base_address || gpa >= apic.base_address + LAPIC_MMIO_LENGTH) {
    return false;
  }
  if (!kvm_apic_hw_enabled(apic) || apic_x2apic_mode(apic)) {
    return !(vcpu.kvm.arch.disabled_quirks & (1 << 2));
  }
  const offset = gpa - apic.base_address;
  if (len !== 4 || (offset & 0xf)) return true;
  kvm_lapic_reg_write(apic, offset & 0xff0, Number(data & 0xffffffffn));
  return true;
}

/** `X2APIC_ICR_RESERVED_BITS`: bits 31:20, 17:16 and 13. */
const X2APIC_ICR_RESERVED_BITS = 0xfff00000n | 0x30000n | 0x2000n;

/**
 * `kvm_x2apic_icr_write()`: one 64-bit write sends the IPI; a set reserved
 * bit is #GP. BUSY is cleared rather than checked: the two vendors treat a
 * set BUSY differently in x2APIC mode, and KVM picks the lenient outcome.
 */
function kvm_x2apic_icr_write(apic: kvm_lapic, data: bigint): number {
  if (data & X2APIC_ICR_RESERVED_BITS) return 1;
  data &= ~BigInt(APIC_ICR_BUSY);
  kvm_apic_send_ipi(apic, Number(data & 0xffffffffn), Number(data >> 32n));
  set_reg64(apic, APIC_ICR, data);
  return 0;
}

/** `kvm_x2apic_msr_read()`: the value, or `null` (#GP) outside x2APIC mode or for a bad register. */
export function kvm_x2apic_msr_read(vcpu: kvm_vcpu, msr: number): bigint | null {
  const apic = vcpu_apic(vcpu);
  if (!apic || !apic_x2apic_mode(apic)) return null;
  const reg = (msr - APIC_BASE_MSR) << 4;
  if (reg === APIC_ICR) return get_reg64(apic, APIC_ICR);
  const v = kvm_lapic_reg_read(apic, reg, 4);
  return v === null ? null : BigInt(v);
}

/**
 * `kvm_x2apic_msr_write()`: 0, or 1 (#GP). Only ICR is 64 bits wide; for
 * every other register a non-zero high half faults.
 */
export function kvm_x2apic_msr_write(vcpu: kvm_vcpu, msr: number, data: bigint): number {
  const apic = vcpu_apic(vcpu);
  if (!apic || !apic_x2apic_mode(apic)) return 1;
  const reg = (msr - APIC_BASE_MSR) << 4;
  if (reg === APIC_ICR) return kvm_x2apic_icr_write(apic, data);
  if (data >> 32n) return 1;
  return kvm_lapic_reg_write(apic, reg, Number(data));
}

// ---------------------------------------------------------------------------
// Base, reset, state save/restore, INIT/SIPI.

/**
 * `kvm_lapic_set_base()`: the LAPIC side of an IA32_APIC_BASE write, after
 * the new value is in the VMCS. Enabling sets the xAPIC ID; entering x2APIC
 * mode sets the x2APIC ID and LDR from the vCPU id.
 */
export function kvm_lapic_set_base(vcpu: kvm_vcpu, old_value: bigint): void {
  const apic = vcpu_apic(vcpu);
  if (!apic) return;
  const value = vcpu.arch.vmcs.apic_base;
  const changed = old_value ^ value;
  if ((changed & APICBASE_ENABLE) && (value & APICBASE_ENABLE)) {
    kvm_apic_set_xapic_id(apic, vcpu.vcpu_id);
  }
  if (changed & X2APIC_ENABLE) {
    if (value & X2APIC_ENABLE) kvm_apic_set_x2apic_id(apic, vcpu.vcpu_id);
    else if (value & APICBASE_ENABLE) kvm_apic_set_xapic_id(apic, vcpu.vcpu_id);
  }
  apic.base_address = Number(value & APICBASE_BASE);
}

/** `kvm_lapic_reset()`: the register page at RESET (or INIT: the ID and base stay). */
export function kvm_lapic_reset(vcpu: kvm_vcpu, init_event: boolean): void {
  const apic = lapics.get(vcpu);
  if (!apic) return;
  apic.lapic_timer.hrtimer = null;
  apic.base_address = Number(vcpu.arch.vmcs.apic_base & APICBASE_BASE);
  if (!init_event) {
    apic.regs.fill(0);
    if (apic_x2apic_mode(apic)) kvm_apic_set_x2apic_id(apic, vcpu.vcpu_id);
    else kvm_apic_set_xapic_id(apic, vcpu.vcpu_id);
  }
  apic.nr_lvt_entries = kvm_apic_calc_nr_lvt_entries(vcpu);
  apic.lapic_timer.timer_mode_mask = ops.has_tsc_deadline(vcpu) ? 3 << 17 : 1 << 17;
  kvm_apic_set_version(vcpu);
  for (let i = 0; i < apic.nr_lvt_entries; i++) {
    kvm_lapic_set_reg(apic, APIC_LVTx(i), APIC_LVT_MASKED);
  }
  apic_update_lvtt(apic);
  // KVM_X86_QUIRK_LINT0_REENABLED: the BSP's LINT0 starts unmasked in ExtINT mode.
  if (vcpu.vcpu_id === vcpu.kvm.arch.bsp_vcpu_id && !(vcpu.kvm.arch.disabled_quirks & 1)) {
    kvm_lapic_set_reg(apic, APIC_LVT0, APIC_DM_EXTINT);
  }
  apic_manage_nmi_watchdog(apic, kvm_lapic_get_reg(apic, APIC_LVT0));
  kvm_lapic_set_reg(apic, APIC_DFR, 0xffffffff);
  apic_set_spiv(apic, 0xff);
  kvm_lapic_set_reg(apic, APIC_TASKPRI, 0);
  if (!apic_x2apic_mode(apic)) kvm_lapic_set_reg(apic, APIC_LDR, 0);
  kvm_lapic_set_reg(apic, APIC_ESR, 0);
  if (!apic_x2apic_mode(apic)) {
    kvm_lapic_set_reg(apic, APIC_ICR, 0);
    kvm_lapic_set_reg(apic, APIC_ICR2, 0);
  } else set_reg64(apic, APIC_ICR, 0n);
  kvm_lapic_set_reg(apic, APIC_TDCR, 0);
  kvm_lapic_set_reg(apic, APIC_TMICT, 0);
  for (let i = 0; i < 8; i++) {
    kvm_lapic_set_reg(apic, APIC_IRR + 0x10 * i, 0);
    kvm_lapic_set_reg(apic, APIC_ISR + 0x10 * i, 0);
    kvm_lapic_set_reg(apic, APIC_TMR + 0x10 * i, 0);
  }
  apic.irr_pending = false;
  apic.isr_count = 0;
  apic.highest_isr_cache = -1;
  update_divide_count(apic);
  apic.lapic_timer.pending = 0;
  apic_update_ppr(apic);
  arb_prio.delete(vcpu);
}

/**
 * `kvm_apic_state_fixup()`: converts an x2APIC-mode page between KVM's
 * layout and the userspace ABI. The ID sits in bits 31:24 for userspace
 * unless KVM_X2APIC_API_USE_32BIT_IDS, where a set must carry the vCPU id
 * (-EINVAL otherwise); the 64-bit ICR travels as ICR plus ICR2; and a set
 * recomputes LDR from the ID, since x2APIC derives it.
 */
function kvm_apic_state_fixup(vcpu: kvm_vcpu, s: DataView, set: boolean): number {
  const apic = vcpu_apic(vcpu)!;
  if (!apic_x2apic_mode(apic)) return 0;
  const x2apic_id = kvm_x2apic_id(apic);
  if (vcpu.kvm.arch.x2apic_format) {
    if (s.getUint32(APIC_ID, true) !== x2apic_id) return -EINVAL;
  } else {
    // The x2APIC ID is fixed to the vCPU id (it is what delivery matches),
    // so whatever userspace put here is overwritten. Legacy-format callers
    // get no EINVAL for a mismatch, unlike the 32-bit-ID format above.
    s.setUint32(APIC_ID, set ? x2apic_id : (x2apic_id << 24) >>> 0, true);
  }
  if (set) {
    s.setUint32(APIC_LDR, kvm_apic_calc_x2apic_ldr(x2apic_id), true);
    const icr = BigInt(s.getUint32(APIC_ICR, true)) | (BigInt(s.getUint32(APIC_ICR2, true)) << 32n);
    s.setBigUint64(APIC_ICR, icr, true);
  } else {
    s.setUint32(APIC_ICR2, Number(s.getBigUint64(APIC_ICR, true) >> 32n), true);
  }
  return 0;
}

/**
 * KVM_GET_LAPIC (`kvm_apic_get_state()`): a copy of the page whose TMCCT
 * slot holds the count left at the time of the call (the live page keeps 0 there).
 */
export function kvm_apic_get_state(vcpu: kvm_vcpu, out: Uint8Array): number {
  const apic = vcpu_apic(vcpu)!;
  out.set(apic.regs.subarray(0, KVM_APIC_REG_SIZE));
  const dv = new DataView(out.buffer, out.byteOffset, KVM_APIC_REG_SIZE);
  dv.setUint32(APIC_TMCCT, __apic_read(apic, APIC_TMCCT), true);
  return kvm_apic_state_fixup(vcpu, dv, false);
}

/** KVM_SET_LAPIC (`kvm_apic_set_state()`): the page, then everything derived from it. */
export function kvm_apic_set_state(vcpu: kvm_vcpu, s: Uint8Array): number {
  const apic = vcpu_apic(vcpu)!;
  const dv = new DataView(s.buffer, s.byteOffset, KVM_APIC_REG_SIZE);
  apic_set_spiv(apic, dv.getUint32(APIC_SPIV, true));
  const r = kvm_apic_state_fixup(vcpu, dv, true);
  if (r) return r;
  apic.regs.set(s.subarray(0, KVM_APIC_REG_SIZE));
  kvm_apic_set_version(vcpu);
  apic.irr_pending = find_highest_vector(apic, APIC_IRR) !== -1;
  apic.isr_count = count_vectors(apic, APIC_ISR);
  apic.highest_isr_cache = -1;
  apic_update_ppr(apic);
  cancel_apic_timer(apic);
  apic_update_lvtt(apic);
  apic_manage_nmi_watchdog(apic, kvm_lapic_get_reg(apic, APIC_LVT0));
  update_divide_count(apic);
  __start_apic_timer(apic, APIC_TMCCT);
  kvm_lapic_set_reg(apic, APIC_TMCCT, 0);
  arb_prio.delete(vcpu);
  if (ioapic_in_kernel(vcpu.kvm)) kvm_rtc_eoi_tracking_restore_one(vcpu);
  return 0;
}

/** `kvm_apic_has_pending_init_or_sipi()`. */
export function kvm_apic_has_pending_init_or_sipi(vcpu: kvm_vcpu): boolean {
  const apic = lapics.get(vcpu);
  return !!apic && apic.pending_events !== 0;
}

/**
 * Takes the latched INIT/SIPI for `kvm_apic_accept_events()`: whether INIT
 * was pending, and the SIPI vector if a SIPI was (-1 if not).
 */
export function kvm_apic_take_events(vcpu: kvm_vcpu): { init: boolean; sipi: number } {
  const apic = lapics.get(vcpu);
  if (!apic) return { init: false, sipi: -1 };
  const init = (apic.pending_events & KVM_APIC_INIT) !== 0;
  const sipi = apic.pending_events & KVM_APIC_SIPI ? apic.sipi_vector : -1;
  apic.pending_events = 0;
  return { init, sipi };
}

/** Latches a SIPI (KVM_SET_MP_STATE(SIPI_RECEIVED) with the current vector). */
export function kvm_apic_latch_sipi(vcpu: kvm_vcpu): void {
  const apic = vcpu_apic(vcpu);
  if (apic) apic.pending_events |= KVM_APIC_SIPI;
}
