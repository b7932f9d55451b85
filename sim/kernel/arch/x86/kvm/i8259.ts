// SPDX-License-Identifier: GPL-2.0-only
/**
 * The in-kernel 8259 pair (`arch/x86/kvm/i8259.c`, read at sean-jc/linux
 * fecb9cc6cf83d261baecec6d4aa3381d424c72f2, the kvm-x86 tree's file): master
 * at ports 0x20/0x21, slave at 0xa0/0xa1 cascaded on the master's IRQ 2, the
 * ELCR at 0x4d0/0x4d1; ICW1-4 initialization, OCW1 (IMR), OCW2 (EOI,
 * rotation), OCW3 (read register select, poll, special mask); edge and level
 * IRQs; the INTA cycle of an ExtINT (`kvm_pic_read_irq()`); and
 * KVM_GET/SET_IRQCHIP's `struct kvm_pic_state`, which is the state itself.
 *
 * @module
 */

import type { kvm, kvm_vcpu } from "../../../include/linux/kvm_host.ts";
import { kvm_apic_accept_pic_intr } from "./lapic.ts";
import { __kvm_irq_line_state, kvm_notify_acked_irq } from "./ioapic.ts";

/** `PIC_NUM_PINS`. */
export const PIC_NUM_PINS = 16;

/** `struct kvm_kpic_state`: the uAPI's `struct kvm_pic_state`, member for member. */
export interface kvm_kpic_state {
  last_irr: number;
  irr: number;
  imr: number;
  isr: number;
  priority_add: number;
  irq_base: number;
  read_reg_select: number;
  poll: number;
  special_mask: number;
  init_state: number;
  auto_eoi: number;
  rotate_on_auto_eoi: number;
  special_fully_nested_mode: number;
  init4: number;
  elcr: number;
  elcr_mask: number;
}

/** The members of `struct kvm_pic_state`, in layout order (one byte each). */
export const kvm_pic_state_members: readonly (keyof kvm_kpic_state)[] = [
  "last_irr",
  "irr",
  "imr",
  "isr",
  "priority_add",
  "irq_base",
  "read_reg_select",
  "poll",
  "special_mask",
  "init_state",
  "auto_eoi",
  "rotate_on_auto_eoi",
  "special_fully_nested_mode",
  "init4",
  "elcr",
  "elcr_mask",
];

function new_kpic(elcr_mask: number): kvm_kpic_state {
  const s = Object.fromEntries(
    kvm_pic_state_members.map((m) => [m, 0]),
  ) as unknown as kvm_kpic_state;
  s.elcr_mask = elcr_mask;
  return s;
}

/** `struct kvm_pic`. */
export class kvm_pic {
  /** `pics[0]` master, `pics[1]` slave. */
  readonly pics: [kvm_kpic_state, kvm_kpic_state] = [new_kpic(0xf8), new_kpic(0xde)];
  /** `output`: INTR to the CPUs. */
  output = 0;
  /** `wakeup_needed`: INTR rose, kick a vCPU that takes ExtINT. */
  wakeup_needed = false;
  /** `irq_states`: per IRQ, a bit per IRQ source asserting it. */
  readonly irq_states: number[] = new Array(PIC_NUM_PINS).fill(0);

  /**
   * @param kvm the VM
   */
  constructor(readonly kvm: kvm) {}
}

const vpics = new WeakMap<kvm, kvm_pic>();

/** `kvm->arch.vpic`: the VM's PIC pair (full irqchip only), or `null`. */
export function vpic(k: kvm): kvm_pic | null {
  return vpics.get(k) ?? null;
}

/** `kvm_vcpu_kick()`, given by the vendor module (vmx.ts). */
let kick: (vcpu: kvm_vcpu) => void = () => {};

/** Installs `kvm_vcpu_kick()` for {@linkcode pic_unlock}. */
export function set_pic_kick(f: (vcpu: kvm_vcpu) => void): void {
  kick = f;
}

/** `pic_unlock()`: if INTR rose, wake the first vCPU whose LAPIC takes ExtINT. */
function pic_unlock(s: kvm_pic): void {
  const wakeup = s.wakeup_needed;
  s.wakeup_needed = false;
  if (!wakeup) return;
  for (const vcpu of s.kvm.vcpus) {
    if (vcpu && kvm_apic_accept_pic_intr(vcpu)) {
      kick(vcpu);
      return;
    }
  }
}

function which(s: kvm_pic, p: kvm_kpic_state): number {
  return p === s.pics[0] ? 0 : 1;
}

/** `pic_clear_isr()`: retire an in-service IRQ and tell the ack notifiers. */
function pic_clear_isr(s: kvm_pic, p: kvm_kpic_state, irq: number): void {
  p.isr &= ~(1 << irq) & 0xff;
  const gsi = which(s, p) ? irq + 8 : irq;
  kvm_notify_acked_irq(s.kvm, gsi < 8 ? 0 : 1, gsi);
}

/** `pic_set_irq1()`: an edge latches IRR once per rise; a level follows the line. */
function pic_set_irq1(p: kvm_kpic_state, irq: number, level: number): number {
  const mask = 1 << irq;
  let ret = 1;
  if (p.elcr & mask) {
    if (level) {
      ret = p.irr & mask ? 0 : 1;
      p.irr |= mask;
      p.last_irr |= mask;
    } else {
      p.irr &= ~mask & 0xff;
      p.last_irr &= ~mask & 0xff;
    }
  } else if (level) {
    if ((p.last_irr & mask) === 0) {
      ret = p.irr & mask ? 0 : 1;
      p.irr |= mask;
    }
    p.last_irr |= mask;
  } else {
    p.last_irr &= ~mask & 0xff;
  }
  return p.imr & mask ? -1 : ret;
}

/** `get_priority()`: how far past `priority_add` (rotation) the first set bit of `mask` lies; 8 for an empty mask. */
function get_priority(p: kvm_kpic_state, mask: number): number {
  if (mask === 0) return 8;
  let priority = 0;
  while ((mask & (1 << ((priority + p.priority_add) & 7))) === 0) priority++;
  return priority;
}

/** `pic_get_irq()`: the IRQ this 8259 would raise now, or -1. */
function pic_get_irq(s: kvm_pic, p: kvm_kpic_state): number {
  let mask = p.irr & ~p.imr;
  const priority = get_priority(p, mask);
  if (priority === 8) return -1;
  // SFNM lets a slave IRQ of higher priority through while another slave IRQ
  // is in service, so the master's ISR bit 2 must not block it.
  mask = p.isr;
  if (p.special_fully_nested_mode && p === s.pics[0]) mask &= ~(1 << 2);
  const cur_priority = get_priority(p, mask);
  return priority < cur_priority ? (priority + p.priority_add) & 7 : -1;
}

/** `pic_irq_request()`: INTR follows the master's output. */
function pic_irq_request(s: kvm_pic, level: boolean): void {
  if (!s.output) s.wakeup_needed = true;
  s.output = level ? 1 : 0;
}

/** `pic_update_irq()`: the slave's request pulses the master's IRQ 2. */
function pic_update_irq(s: kvm_pic): void {
  const irq2 = pic_get_irq(s, s.pics[1]);
  if (irq2 >= 0) {
    pic_set_irq1(s.pics[0], 2, 1);
    pic_set_irq1(s.pics[0], 2, 0);
  }
  const irq = pic_get_irq(s, s.pics[0]);
  pic_irq_request(s, irq >= 0);
}

/** `kvm_pic_update_irq()`. */
export function kvm_pic_update_irq(s: kvm_pic): void {
  pic_update_irq(s);
  pic_unlock(s);
}

/**
 * `kvm_pic_set_irq()`: source `irq_source_id` drives IRQ `irq` (0-15) to
 * `level`. 1 latched, 0 already pending (coalesced), -1 masked.
 */
export function kvm_pic_set_irq(
  s: kvm_pic,
  irq: number,
  irq_source_id: number,
  level: number,
): number {
  const irq_level = __kvm_irq_line_state(s.irq_states, irq, irq_source_id, level);
  const ret = pic_set_irq1(s.pics[irq >> 3]!, irq & 7, irq_level);
  pic_update_irq(s);
  pic_unlock(s);
  return ret;
}

/** `kvm_pic_clear_all()`: drop a source from every IRQ. */
export function kvm_pic_clear_all(s: kvm_pic, irq_source_id: number): void {
  for (let i = 0; i < PIC_NUM_PINS; i++) s.irq_states[i]! &= ~(1 << irq_source_id);
}

/** `pic_intack()`: sets the ISR bit; only an edge IRQ's IRR bit is consumed (ELCR); auto-EOI retires it at once. */
function pic_intack(s: kvm_pic, p: kvm_kpic_state, irq: number): void {
  p.isr |= 1 << irq;
  if (!(p.elcr & (1 << irq))) p.irr &= ~(1 << irq) & 0xff;
  if (p.auto_eoi) {
    if (p.rotate_on_auto_eoi) p.priority_add = (irq + 1) & 7;
    pic_clear_isr(s, p, irq);
  }
}

/**
 * `kvm_pic_read_irq()`: the INTA cycle; the vector of the highest IRQ, or
 * the spurious IRQ 7 of the master (or of the slave, through IRQ 2).
 */
export function kvm_pic_read_irq(k: kvm): number {
  const s = vpic(k)!;
  s.output = 0;
  let intno: number;
  const irq = pic_get_irq(s, s.pics[0]);
  if (irq >= 0) {
    pic_intack(s, s.pics[0], irq);
    if (irq === 2) {
      let irq2 = pic_get_irq(s, s.pics[1]);
      if (irq2 >= 0) pic_intack(s, s.pics[1], irq2);
      else irq2 = 7;
      intno = s.pics[1].irq_base + irq2;
    } else {
      intno = s.pics[0].irq_base + irq;
    }
  } else {
    intno = s.pics[0].irq_base + 7;
  }
  pic_update_irq(s);
  pic_unlock(s);
  return intno & 0xff;
}

/**
 * `kvm_pic_reset()` (ICW1): edge IRQs are dropped (and, if some vCPU takes
 * ExtINT, acked to their notifiers); level IRQs stay requested.
 */
function kvm_pic_reset(s: kvm_pic, p: kvm_kpic_state): void {
  const edge_irr = p.irr & ~p.elcr;
  p.last_irr = 0;
  p.irr &= p.elcr;
  p.imr = 0;
  p.priority_add = 0;
  p.special_mask = 0;
  p.read_reg_select = 0;
  if (!p.init4) {
    p.special_fully_nested_mode = 0;
    p.auto_eoi = 0;
  }
  p.init_state = 1;
  if (!s.kvm.vcpus.some((v) => v && kvm_apic_accept_pic_intr(v))) return;
  for (let irq = 0; irq < PIC_NUM_PINS / 2; irq++) {
    if (edge_irr & (1 << irq)) pic_clear_isr(s, p, irq);
  }
}

/** `pic_ioport_write()`: ICW1/OCW2/OCW3 at the even port; ICW2-4 or OCW1 at the odd one. */
function pic_ioport_write(s: kvm_pic, p: kvm_kpic_state, addr: number, val: number): void {
  if ((addr & 1) === 0) {
    if (val & 0x10) {
      // ICW1. Single mode and level-triggered mode are not implemented (KVM
      // only logs them).
      p.init4 = val & 1;
      kvm_pic_reset(s, p);
    } else if (val & 0x08) {
      // OCW3.
      if (val & 0x04) p.poll = 1;
      if (val & 0x02) p.read_reg_select = val & 1;
      if (val & 0x40) p.special_mask = (val >> 5) & 1;
    } else {
      // OCW2.
      const cmd = val >> 5;
      switch (cmd) {
        case 0:
        case 4:
          p.rotate_on_auto_eoi = cmd >> 2;
          break;
        case 1:
        case 5: {
          const priority = get_priority(p, p.isr);
          if (priority !== 8) {
            const irq = (priority + p.priority_add) & 7;
            if (cmd === 5) p.priority_add = (irq + 1) & 7;
            pic_clear_isr(s, p, irq);
            pic_update_irq(s);
          }
          break;
        }
        case 3:
          pic_clear_isr(s, p, val & 7);
          pic_update_irq(s);
          break;
        case 6:
          p.priority_add = (val + 1) & 7;
          pic_update_irq(s);
          break;
        case 7: {
          const irq = val & 7;
          p.priority_add = (irq + 1) & 7;
          pic_clear_isr(s, p, irq);
          pic_update_irq(s);
          break;
        }
      }
    }
    return;
  }
  switch (p.init_state) {
    case 0:
      // OCW1. No mask notifiers are registered (no in-kernel PIT).
      p.imr = val;
      pic_update_irq(s);
      break;
    case 1:
      p.irq_base = val & 0xf8;
      p.init_state = 2;
      break;
    case 2:
      p.init_state = p.init4 ? 3 : 0;
      break;
    case 3:
      p.special_fully_nested_mode = (val >> 4) & 1;
      p.auto_eoi = (val >> 1) & 1;
      p.init_state = 0;
      break;
  }
}

/** `pic_poll_read()`: the poll command's INTA: the IRQ number, retired, or 7. */
function pic_poll_read(s: kvm_pic, p: kvm_kpic_state, addr1: number): number {
  let ret = pic_get_irq(s, p);
  if (ret >= 0) {
    if (addr1 >> 7) {
      s.pics[0].isr &= ~(1 << 2) & 0xff;
      s.pics[0].irr &= ~(1 << 2) & 0xff;
    }
    p.irr &= ~(1 << ret) & 0xff;
    pic_clear_isr(s, p, ret);
    if (addr1 >> 7 || ret !== 2) pic_update_irq(s);
  } else {
    ret = 0x07;
    pic_update_irq(s);
  }
  return ret;
}

function pic_ioport_read(s: kvm_pic, p: kvm_kpic_state, addr: number): number {
  if (p.poll) {
    const ret = pic_poll_read(s, p, addr);
    p.poll = 0;
    return ret;
  }
  if ((addr & 1) === 0) return p.read_reg_select ? p.isr : p.irr;
  return p.imr;
}

/**
 * Whether an access of `len` bytes at `port` falls inside one of the PIC's
 * PIO devices (`kvm_pic_init()` registers 0x20, 0xa0 and 0x4d0, two ports
 * each; the bus only matches an access that fits one device).
 */
export function picdev_in_range(port: number, len: number): boolean {
  return [0x20, 0xa0, 0x4d0].some((base) => port >= base && port + len <= base + 2);
}

/**
 * `picdev_write()`: a byte to a PIC port; wider writes are ignored (KVM logs
 * them). `false` if no PIC device claims the access.
 */
export function picdev_write(k: kvm, addr: number, len: number, data: number): boolean {
  const s = vpic(k);
  if (!s || !picdev_in_range(addr, len)) return false;
  if (len !== 1) return true;
  data &= 0xff;
  if (addr === 0x4d0 || addr === 0x4d1) {
    const p = s.pics[addr & 1]!;
    p.elcr = data & p.elcr_mask;
  } else {
    pic_ioport_write(s, s.pics[(addr >> 7) & 1]!, addr, data);
  }
  pic_unlock(s);
  return true;
}

/**
 * `picdev_read()`: a byte from a PIC port (wider reads return zeros), or
 * `null` if no PIC device claims the access.
 */
export function picdev_read(k: kvm, addr: number, len: number): number | null {
  const s = vpic(k);
  if (!s || !picdev_in_range(addr, len)) return null;
  if (len !== 1) return 0;
  let v: number;
  if (addr === 0x4d0 || addr === 0x4d1) v = s.pics[addr & 1]!.elcr;
  else v = pic_ioport_read(s, s.pics[(addr >> 7) & 1]!, addr);
  pic_unlock(s);
  return v & 0xff;
}

/** `kvm_pic_init()` (KVM_CREATE_IRQCHIP). */
export function kvm_pic_init(k: kvm): number {
  vpics.set(k, new kvm_pic(k));
  return 0;
}

/** `kvm_pic_destroy()`. */
export function kvm_pic_destroy(k: kvm): void {
  vpics.delete(k);
}

/** KVM_GET_IRQCHIP of a PIC (`kvm_vm_ioctl_get_irqchip()`): the 16 state bytes. */
export function kvm_get_pic(k: kvm, n: number, out: Uint8Array): void {
  const p = vpic(k)!.pics[n]!;
  kvm_pic_state_members.forEach((m, i) => out[i] = p[m]);
}

/** KVM_SET_IRQCHIP of a PIC (`kvm_vm_ioctl_set_irqchip()`): copied in, then INTR re-evaluated. */
export function kvm_set_pic(k: kvm, n: number, src: Uint8Array): void {
  const s = vpic(k)!;
  const p = s.pics[n]!;
  kvm_pic_state_members.forEach((m, i) => p[m] = src[i]!);
  kvm_pic_update_irq(s);
}
