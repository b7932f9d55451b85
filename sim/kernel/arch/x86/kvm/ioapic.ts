// SPDX-License-Identifier: GPL-2.0-only
/**
 * The in-kernel IOAPIC (`arch/x86/kvm/ioapic.c`, read at sean-jc/linux
 * 2dfca51f019c98f0361e88ad02e178761ffd6d8f, the kvm-x86 tree's file): 24
 * pins, the IOREGSEL/IOWIN window at 0xfec00000, the redirection table with
 * edge and level pins, remote IRR cleared by the EOI broadcast of the
 * LAPICs (`kvm_ioapic_update_eoi()`), the RTC pin's coalescing report, and
 * KVM_GET/SET_IRQCHIP's `struct kvm_ioapic_state` (`kvm_get_ioapic()`,
 * `kvm_set_ioapic()`).
 *
 * Not modelled: the delayed re-injection of an interrupt storm
 * (`IOAPIC_SUCCESSIVE_IRQ_MAX_COUNT` EOIs in a row re-inject after 10 ms in
 * KVM; here every EOI re-injects at once), and the per-vCPU
 * `ioapic_handled_vectors` scan, which the simulator replaces by looking at
 * the redirection table when the EOI arrives.
 *
 * @module
 */

import type { kvm, kvm_vcpu } from "../../../include/linux/kvm_host.ts";
import {
  APIC_DEST_LOGICAL,
  APIC_DEST_NOSHORT,
  APIC_DEST_PHYSICAL,
  APIC_IRR,
  APIC_ISR,
  APIC_SPIV,
  APIC_SPIV_DIRECTED_EOI,
} from "../include/asm/apicdef.ts";
import { KVM_IOAPIC_NUM_PINS } from "../../../../../include/asm/kvm.ts";
import {
  type dest_map,
  kvm_apic_match_dest,
  kvm_irq_delivery_to_apic,
  kvm_lapic_get_reg,
  type kvm_lapic_irq,
  vcpu_apic,
} from "./lapic.ts";

/** `IOAPIC_NUM_PINS`. */
export const IOAPIC_NUM_PINS = KVM_IOAPIC_NUM_PINS;
/** `IOAPIC_DEFAULT_BASE_ADDRESS`. */
export const IOAPIC_DEFAULT_BASE_ADDRESS = 0xfec00000;
/** `IOAPIC_MEM_LENGTH`: the MMIO window KVM registers. */
export const IOAPIC_MEM_LENGTH = 0x100;
/** `IOAPIC_VERSION_ID`: the 82093AA's version. */
export const IOAPIC_VERSION_ID = 0x11;
/** `IOAPIC_EDGE_TRIG` / `IOAPIC_LEVEL_TRIG`: the redirection entry's trig_mode. */
export const IOAPIC_EDGE_TRIG = 0;
export const IOAPIC_LEVEL_TRIG = 1;
/** `IOAPIC_REG_SELECT` / `IOAPIC_REG_WINDOW`: the two MMIO registers. */
export const IOAPIC_REG_SELECT = 0x00;
export const IOAPIC_REG_WINDOW = 0x10;
/** `IOAPIC_REG_APIC_ID` / `IOAPIC_REG_VERSION` / `IOAPIC_REG_ARB_ID`: indirect registers. */
export const IOAPIC_REG_APIC_ID = 0x00;
export const IOAPIC_REG_VERSION = 0x01;
export const IOAPIC_REG_ARB_ID = 0x02;
/** `RTC_GSI`: the pin whose coalescing KVM_IRQ_LINE_STATUS reports. */
export const RTC_GSI = 8;

// Redirection entry fields (`union kvm_ioapic_redirect_entry`), low word.
const RTE_VECTOR = 0xff;
const RTE_DEST_MODE = 1 << 11;
const RTE_DELIVERY_STATUS = 1 << 12;
const RTE_REMOTE_IRR = 1 << 14;
const RTE_TRIG_MODE = 1 << 15;
const RTE_MASK = 1 << 16;

/** `struct rtc_status`: who still owes the RTC interrupt an EOI. */
interface rtc_status {
  pending_eoi: number;
  dest_map: dest_map;
}

/** `struct kvm_ioapic`. */
export class kvm_ioapic {
  /** `base_address`. */
  base_address: bigint = BigInt(IOAPIC_DEFAULT_BASE_ADDRESS);
  /** `ioregsel`. */
  ioregsel = 0;
  /** `id`. */
  id = 0;
  /** `irr`: pins asserted (level) or edges not yet delivered. */
  irr = 0;
  /** `pad` of `struct kvm_ioapic_state`, kept as userspace set it. */
  pad = 0;
  /** `redirtbl`: entry i is words 2i (bits 31:0) and 2i+1 (bits 63:32). */
  readonly redirtbl: Uint32Array = new Uint32Array(2 * IOAPIC_NUM_PINS);
  /** `irq_states`: per pin, a bit per IRQ source asserting it. */
  readonly irq_states: number[] = new Array(IOAPIC_NUM_PINS).fill(0);
  /** `irr_delivered`: edge pins delivered since they were raised. */
  irr_delivered = 0;
  /** `irq_eoi`: successive EOIs that re-raised a still-asserted level pin. */
  readonly irq_eoi: number[] = new Array(IOAPIC_NUM_PINS).fill(0);
  /** `rtc_status`. */
  readonly rtc_status: rtc_status = { pending_eoi: 0, dest_map: new Map() };

  /**
   * @param kvm the VM
   */
  constructor(readonly kvm: kvm) {}
}

const vioapics = new WeakMap<kvm, kvm_ioapic>();

/** `kvm->arch.vioapic`: the VM's IOAPIC (full irqchip only), or `null`. */
export function vioapic(k: kvm): kvm_ioapic | null {
  return vioapics.get(k) ?? null;
}

/** `__kvm_irq_line_state()`: one source's level on a line; the line is the OR of all. */
export function __kvm_irq_line_state(
  states: number[],
  i: number,
  src: number,
  level: number,
): number {
  if (level) states[i] = states[i]! | (1 << src);
  else states[i] = states[i]! & ~(1 << src);
  return states[i] ? 1 : 0;
}

function lo(io: kvm_ioapic, pin: number): number {
  return io.redirtbl[2 * pin]!;
}

function dest_id(io: kvm_ioapic, pin: number): number {
  return io.redirtbl[2 * pin + 1]! >>> 24;
}

/** `kvm_lapic_irq_dest_mode()`. */
function kvm_lapic_irq_dest_mode(logical: boolean): number {
  return logical ? APIC_DEST_LOGICAL : APIC_DEST_PHYSICAL;
}

/** `kvm_apic_pending_eoi()`: the vector is still in the LAPIC's IRR or ISR. */
function kvm_apic_pending_eoi(vcpu: kvm_vcpu, vector: number): boolean {
  const apic = vcpu_apic(vcpu);
  if (!apic) return false;
  const word = (vector >> 5) << 4;
  const bit = 1 << (vector & 31);
  return ((kvm_lapic_get_reg(apic, APIC_IRR + word) | kvm_lapic_get_reg(apic, APIC_ISR + word)) &
    bit) !== 0;
}

function ioapic_read_indirect(io: kvm_ioapic): number {
  switch (io.ioregsel) {
    case IOAPIC_REG_VERSION:
      return (((IOAPIC_NUM_PINS - 1) & 0xff) << 16) | (IOAPIC_VERSION_ID & 0xff);
    case IOAPIC_REG_APIC_ID:
    case IOAPIC_REG_ARB_ID:
      return ((io.id & 0xf) << 24) >>> 0;
    default: {
      // A register past the table reads as all ones.
      const index = (io.ioregsel - 0x10) >>> 1;
      if (io.ioregsel < 0x10 || index >= IOAPIC_NUM_PINS) return 0xffffffff;
      return io.redirtbl[2 * index + (io.ioregsel & 1)]!;
    }
  }
}

function rtc_irq_eoi_tracking_reset(io: kvm_ioapic): void {
  io.rtc_status.pending_eoi = 0;
  io.rtc_status.dest_map.clear();
}

/** `__rtc_irq_eoi_tracking_restore_one()`. */
function __rtc_irq_eoi_tracking_restore_one(io: kvm_ioapic, vcpu: kvm_vcpu): void {
  const dm = io.rtc_status.dest_map;
  const e = lo(io, RTC_GSI);
  if (
    !kvm_apic_match_dest(
      vcpu,
      null,
      APIC_DEST_NOSHORT,
      dest_id(io, RTC_GSI),
      kvm_lapic_irq_dest_mode((e & RTE_DEST_MODE) !== 0),
    )
  ) return;
  const new_val = kvm_apic_pending_eoi(vcpu, e & RTE_VECTOR);
  const old_val = dm.has(vcpu.vcpu_id);
  if (new_val === old_val) return;
  if (new_val) {
    dm.set(vcpu.vcpu_id, e & RTE_VECTOR);
    io.rtc_status.pending_eoi++;
  } else {
    dm.delete(vcpu.vcpu_id);
    io.rtc_status.pending_eoi--;
    if (io.rtc_status.pending_eoi < 0) kvm_rtc_eoi_tracking_restore_all(io);
  }
}

/** `kvm_rtc_eoi_tracking_restore_one()`: after KVM_SET_LAPIC. */
export function kvm_rtc_eoi_tracking_restore_one(vcpu: kvm_vcpu): void {
  const io = vioapic(vcpu.kvm);
  if (io) __rtc_irq_eoi_tracking_restore_one(io, vcpu);
}

function kvm_rtc_eoi_tracking_restore_all(io: kvm_ioapic): void {
  rtc_irq_eoi_tracking_reset(io);
  for (const vcpu of io.kvm.vcpus) if (vcpu) __rtc_irq_eoi_tracking_restore_one(io, vcpu);
}

function rtc_irq_eoi(io: kvm_ioapic, vcpu: kvm_vcpu, vector: number): void {
  const dm = io.rtc_status.dest_map;
  if (dm.get(vcpu.vcpu_id) === vector) {
    dm.delete(vcpu.vcpu_id);
    if (--io.rtc_status.pending_eoi < 0) kvm_rtc_eoi_tracking_restore_all(io);
  }
}

/**
 * `ioapic_set_irq()`: 1 delivered (or the line lowered), 0 coalesced (an
 * edge already pending, or the RTC still owed an EOI), -1 masked or no
 * destination.
 */
function ioapic_set_irq(
  io: kvm_ioapic,
  irq: number,
  irq_level: number,
  line_status: boolean,
): number {
  const mask = 1 << irq;
  const edge = (lo(io, irq) & RTE_TRIG_MODE) === 0;
  if (!irq_level) {
    io.irr &= ~mask;
    return 1;
  }
  // No APICv: the lazy EOI update for AVIC never applies.
  if (irq === RTC_GSI && line_status && io.rtc_status.pending_eoi > 0) return 0;
  const old_irr = io.irr;
  io.irr |= mask;
  if (edge) {
    io.irr_delivered &= ~mask;
    if (old_irr === io.irr) return 0;
  }
  return ioapic_service(io, irq, line_status);
}

function kvm_ioapic_inject_all(io: kvm_ioapic, irr: number): void {
  rtc_irq_eoi_tracking_reset(io);
  for (let i = 0; i < IOAPIC_NUM_PINS; i++) if (irr & (1 << i)) ioapic_set_irq(io, i, 1, true);
  kvm_rtc_eoi_tracking_restore_all(io);
}

/**
 * `ioapic_write_indirect()`: delivery status and remote IRR are read-only
 * (remote IRR drops when the pin becomes edge-triggered); unmasking a
 * level pin that is still asserted delivers it.
 */
function ioapic_write_indirect(io: kvm_ioapic, val: number): void {
  switch (io.ioregsel) {
    case IOAPIC_REG_VERSION:
    case IOAPIC_REG_ARB_ID:
      return;
    case IOAPIC_REG_APIC_ID:
      io.id = (val >>> 24) & 0xf;
      return;
  }
  if (io.ioregsel < 0x10) return;
  const index = (io.ioregsel - 0x10) >>> 1;
  if (index >= IOAPIC_NUM_PINS) return;
  const old = lo(io, index);
  if (io.ioregsel & 1) {
    io.redirtbl[2 * index + 1] = val;
  } else {
    const ro = RTE_REMOTE_IRR | RTE_DELIVERY_STATUS;
    io.redirtbl[2 * index] = ((val & ~ro) | (old & ro)) >>> 0;
  }
  let e = lo(io, index);
  if (!(e & RTE_TRIG_MODE)) io.redirtbl[2 * index] = e = (e & ~RTE_REMOTE_IRR) >>> 0;
  if ((old & RTE_MASK) !== (e & RTE_MASK)) {
    kvm_fire_mask_notifiers(io.kvm, index, (e & RTE_MASK) !== 0);
  }
  if ((e & RTE_TRIG_MODE) && (io.irr & (1 << index))) ioapic_service(io, index, false);
}

/** Mask notifiers (`kvm_fire_mask_notifiers()`): none registered in the simulator (no PIT). */
function kvm_fire_mask_notifiers(_k: kvm, _pin: number, _mask: boolean): void {}

/** `ioapic_service()`: send the pin's message; -1 if masked or awaiting its EOI. */
function ioapic_service(io: kvm_ioapic, irq: number, line_status: boolean): number {
  const e = lo(io, irq);
  const level_trig = (e & RTE_TRIG_MODE) !== 0;
  if ((e & RTE_MASK) || (level_trig && (e & RTE_REMOTE_IRR))) return -1;
  const irqe: kvm_lapic_irq = {
    dest_id: dest_id(io, irq),
    vector: e & RTE_VECTOR,
    dest_mode: kvm_lapic_irq_dest_mode((e & RTE_DEST_MODE) !== 0),
    trig_mode: level_trig ? 1 : 0,
    delivery_mode: ((e >>> 8) & 7) << 8,
    level: true,
    shorthand: APIC_DEST_NOSHORT,
  };
  if (!level_trig) io.irr_delivered |= 1 << irq;
  let ret: number;
  if (irq === RTC_GSI && line_status) {
    ret = kvm_irq_delivery_to_apic(io.kvm, null, irqe, io.rtc_status.dest_map);
    io.rtc_status.pending_eoi = ret < 0 ? 0 : ret;
  } else {
    ret = kvm_irq_delivery_to_apic(io.kvm, null, irqe);
  }
  if (ret && level_trig) io.redirtbl[2 * irq] = (e | RTE_REMOTE_IRR) >>> 0;
  return ret;
}

/**
 * `kvm_ioapic_set_irq()`: source `irq_source_id` drives pin `irq` to
 * `level`; the pin's level is the OR of its sources.
 */
export function kvm_ioapic_set_irq(
  io: kvm_ioapic,
  irq: number,
  irq_source_id: number,
  level: number,
  line_status: boolean,
): number {
  const irq_level = __kvm_irq_line_state(io.irq_states, irq, irq_source_id, level);
  return ioapic_set_irq(io, irq, irq_level, line_status);
}

/** `kvm_ioapic_clear_all()`: drop a source from every pin. */
export function kvm_ioapic_clear_all(io: kvm_ioapic, irq_source_id: number): void {
  for (let i = 0; i < IOAPIC_NUM_PINS; i++) io.irq_states[i]! &= ~(1 << irq_source_id);
}

/**
 * Ack notifiers (`kvm_notify_acked_irq()`), installed by irq_comm.ts: what an
 * EOI of an IOAPIC pin or a PIC IRQ tells irqfd resamplers.
 */
let notify_acked: (k: kvm, irqchip: number, pin: number) => void = () => {};

/** Installs `kvm_notify_acked_irq()` (irq_comm.ts). */
export function set_notify_acked_irq(f: (k: kvm, irqchip: number, pin: number) => void): void {
  notify_acked = f;
}

/** Whether any ack notifier watches the pin (`kvm_irq_has_notifier()`), from irq_comm.ts. */
let has_notifier: (k: kvm, irqchip: number, pin: number) => boolean = () => false;

/** Installs `kvm_irq_has_notifier()` (irq_comm.ts). */
export function set_irq_has_notifier(f: (k: kvm, irqchip: number, pin: number) => boolean): void {
  has_notifier = f;
}

/** `kvm_notify_acked_irq()` for the PIC and IOAPIC. */
export function kvm_notify_acked_irq(k: kvm, irqchip: number, pin: number): void {
  notify_acked(k, irqchip, pin);
}

const KVM_IRQCHIP_IOAPIC = 2;

function kvm_ioapic_update_eoi_one(
  vcpu: kvm_vcpu,
  io: kvm_ioapic,
  trigger_mode: number,
  pin: number,
): void {
  kvm_notify_acked_irq(io.kvm, KVM_IRQCHIP_IOAPIC, pin);
  const apic = vcpu_apic(vcpu)!;
  // With directed EOI the guest EOIs the IOAPIC itself (the EOI register,
  // which KVM's x86 IOAPIC, version 0x11, does not have).
  if (
    trigger_mode !== IOAPIC_LEVEL_TRIG ||
    (kvm_lapic_get_reg(apic, APIC_SPIV) & APIC_SPIV_DIRECTED_EOI)
  ) return;
  io.redirtbl[2 * pin] = (lo(io, pin) & ~RTE_REMOTE_IRR) >>> 0;
  if (!(lo(io, pin) & RTE_MASK) && (io.irr & (1 << pin))) {
    io.irq_eoi[pin]!++;
    ioapic_service(io, pin, false);
  } else {
    io.irq_eoi[pin] = 0;
  }
}

/** `kvm_ioapic_update_eoi()`: a LAPIC's EOI of `vector`, broadcast to every pin using it. */
export function kvm_ioapic_update_eoi(vcpu: kvm_vcpu, vector: number, trigger_mode: number): void {
  const io = vioapic(vcpu.kvm);
  if (!io) return;
  rtc_irq_eoi(io, vcpu, vector);
  for (let i = 0; i < IOAPIC_NUM_PINS; i++) {
    if ((lo(io, i) & RTE_VECTOR) !== vector) continue;
    kvm_ioapic_update_eoi_one(vcpu, io, trigger_mode, i);
  }
}

/**
 * `kvm_ioapic_scan_entry()` for one vector: whether the vCPU's EOI of it must
 * reach the IOAPIC (a level pin, a pin with an ack notifier, or the RTC pin,
 * aimed at this vCPU or still pending in its LAPIC).
 */
export function kvm_ioapic_handles_vector(vcpu: kvm_vcpu, vector: number): boolean {
  const io = vioapic(vcpu.kvm);
  if (!io) return false;
  if (io.rtc_status.dest_map.get(vcpu.vcpu_id) === vector) return true;
  for (let i = 0; i < IOAPIC_NUM_PINS; i++) {
    const e = lo(io, i);
    if ((e & RTE_VECTOR) !== vector) continue;
    if (!(e & RTE_TRIG_MODE) && !has_notifier(io.kvm, KVM_IRQCHIP_IOAPIC, i) && i !== RTC_GSI) {
      continue;
    }
    const dm = kvm_lapic_irq_dest_mode((e & RTE_DEST_MODE) !== 0);
    if (
      kvm_apic_match_dest(vcpu, null, APIC_DEST_NOSHORT, dest_id(io, i), dm) ||
      kvm_apic_pending_eoi(vcpu, vector)
    ) return true;
  }
  return false;
}

/** `ioapic_in_range()` plus the MMIO bus's range check of the registered device. */
function ioapic_in_range(io: kvm_ioapic, addr: number, len: number): boolean {
  const base = IOAPIC_DEFAULT_BASE_ADDRESS;
  if (addr < base || addr + len > base + IOAPIC_MEM_LENGTH) return false;
  return BigInt(addr) >= io.base_address &&
    BigInt(addr) < io.base_address + BigInt(IOAPIC_MEM_LENGTH);
}

/**
 * `ioapic_mmio_read()` through the MMIO bus: the value read (zero-extended
 * to the access), or `null` when the IOAPIC does not claim the address.
 */
export function ioapic_mmio_read(k: kvm, addr: number, len: number): bigint | null {
  const io = vioapic(k);
  if (!io || !ioapic_in_range(io, addr, len)) return null;
  let result = 0;
  switch (addr & 0xff) {
    case IOAPIC_REG_SELECT:
      result = io.ioregsel;
      break;
    case IOAPIC_REG_WINDOW:
      result = ioapic_read_indirect(io);
      break;
  }
  const r = BigInt(result >>> 0);
  if (len >= 4) return r;
  // Other widths are warned about and leave the data alone (zero here).
  if (len !== 1 && len !== 2) return 0n;
  return r & ((1n << BigInt(8 * len)) - 1n);
}

/** `ioapic_mmio_write()` through the MMIO bus: `false` when not the IOAPIC's. */
export function ioapic_mmio_write(k: kvm, addr: number, len: number, val: bigint): boolean {
  const io = vioapic(k);
  if (!io || !ioapic_in_range(io, addr, len)) return false;
  let data: number;
  switch (len) {
    case 8:
    case 4:
      data = Number(val & 0xffffffffn);
      break;
    case 2:
      data = Number(val & 0xffffn);
      break;
    case 1:
      data = Number(val & 0xffn);
      break;
    default:
      return true;
  }
  switch (addr & 0xff) {
    case IOAPIC_REG_SELECT:
      io.ioregsel = data & 0xff;
      break;
    case IOAPIC_REG_WINDOW:
      ioapic_write_indirect(io, data >>> 0);
      break;
  }
  return true;
}

/** `kvm_ioapic_reset()`: every pin masked, the rest zero. */
function kvm_ioapic_reset(io: kvm_ioapic): void {
  for (let i = 0; i < IOAPIC_NUM_PINS; i++) io.redirtbl[2 * i] = (lo(io, i) | RTE_MASK) >>> 0;
  io.base_address = BigInt(IOAPIC_DEFAULT_BASE_ADDRESS);
  io.ioregsel = 0;
  io.irr = 0;
  io.irr_delivered = 0;
  io.id = 0;
  io.irq_eoi.fill(0);
  rtc_irq_eoi_tracking_reset(io);
}

/** `kvm_ioapic_init()` (KVM_CREATE_IRQCHIP). */
export function kvm_ioapic_init(k: kvm): number {
  const io = new kvm_ioapic(k);
  kvm_ioapic_reset(io);
  vioapics.set(k, io);
  return 0;
}

/** `kvm_ioapic_destroy()`. */
export function kvm_ioapic_destroy(k: kvm): void {
  vioapics.delete(k);
}

/**
 * `kvm_get_ioapic()`: `struct kvm_ioapic_state` (the leading members of
 * `struct kvm_ioapic`), with delivered edges left out of IRR.
 */
export function kvm_get_ioapic(k: kvm, state: DataView, off: number): void {
  const io = vioapic(k)!;
  state.setBigUint64(off, io.base_address, true);
  state.setUint32(off + 8, io.ioregsel, true);
  state.setUint32(off + 12, io.id, true);
  state.setUint32(off + 16, (io.irr & ~io.irr_delivered) >>> 0, true);
  state.setUint32(off + 20, io.pad, true);
  for (let i = 0; i < 2 * IOAPIC_NUM_PINS; i++) {
    state.setUint32(off + 24 + 4 * i, io.redirtbl[i]!, true);
  }
}

/** `kvm_set_ioapic()`: the state is copied in whole, then IRR is re-raised pin by pin. */
export function kvm_set_ioapic(k: kvm, state: DataView, off: number): void {
  const io = vioapic(k)!;
  io.base_address = state.getBigUint64(off, true);
  io.ioregsel = state.getUint32(off + 8, true);
  io.id = state.getUint32(off + 12, true);
  const irr = state.getUint32(off + 16, true);
  io.pad = state.getUint32(off + 20, true);
  for (let i = 0; i < 2 * IOAPIC_NUM_PINS; i++) {
    io.redirtbl[i] = state.getUint32(off + 24 + 4 * i, true);
  }
  io.irr = 0;
  io.irr_delivered = 0;
  kvm_ioapic_inject_all(io, irr);
}
