// SPDX-License-Identifier: GPL-2.0-only
/**
 * The x86 side of interrupt routing (`arch/x86/kvm/irq_comm.c`, read at
 * sean-jc/linux 2dfca51f019c98f0361e88ad02e178761ffd6d8f, and kvm-x86/linux
 * 1618270827609753512b7b25e7ecc3715fdbe064 for MSI): what each kind of route
 * does (`kvm_set_routing_entry()`: PIC and IOAPIC pins, MSI, Hyper-V SINT),
 * MSI decoding and delivery (`kvm_set_msi()`), the default table that
 * KVM_CREATE_IRQCHIP installs (GSIs 0-15 to both the PIC and the IOAPIC,
 * 16-23 to the IOAPIC) and the empty one of a split irqchip.
 *
 * Xen event-channel routes are refused (EINVAL): the simulator has no Xen
 * emulation (docs/fidelity.md).
 *
 * @module
 */

import type { kvm, kvm_vcpu } from "../../../include/linux/kvm_host.ts";
import { EINVAL } from "../../../../../include/linux/errno.ts";
import {
  KVM_IRQ_ROUTING_HV_SINT,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
} from "../../../../../include/linux/kvm.ts";
import { APIC_DEST_LOGICAL, APIC_DEST_NOSHORT } from "../include/asm/apicdef.ts";
import { kvm_apic_match_dest, kvm_irq_delivery_to_apic, type kvm_lapic_irq } from "./lapic.ts";
import { IOAPIC_NUM_PINS, kvm_ioapic_set_irq, vioapic } from "./ioapic.ts";
import { kvm_pic_set_irq, PIC_NUM_PINS, vpic } from "./i8259.ts";
import {
  kvm_irq_routing,
  type kvm_irq_routing_entry,
  type kvm_kernel_irq_routing_entry,
  kvm_set_irq_routing,
} from "../../../virt/kvm/irqchip.ts";

/** An MSI message: `struct kvm_msi`'s address and data. */
export interface msi_msg {
  address_lo: number;
  address_hi: number;
  data: number;
}

/**
 * `kvm_set_msi_irq()`: destination ID in address bits 19:12 (plus
 * address_hi bits 31:8 with 32-bit x2APIC IDs), logical destination mode in
 * bit 2; vector in data bits 7:0, delivery mode in 10:8, level trigger in 15.
 */
export function kvm_set_msi_irq(k: kvm, msg: msi_msg): kvm_lapic_irq {
  let dest_id = (msg.address_lo >>> 12) & 0xff;
  if (k.arch.x2apic_format) dest_id = (dest_id | ((msg.address_hi >>> 8) << 8)) >>> 0;
  return {
    vector: msg.data & 0xff,
    delivery_mode: ((msg.data >>> 8) & 7) << 8,
    dest_mode: msg.address_lo & (1 << 2) ? APIC_DEST_LOGICAL : 0,
    msi_redir_hint: (msg.address_lo & (1 << 3)) !== 0,
    level: true,
    trig_mode: (msg.data >>> 15) & 1,
    shorthand: APIC_DEST_NOSHORT,
    dest_id,
  };
}

/**
 * `kvm_set_msi()` for `kvm_send_userspace_msi()`: with 32-bit x2APIC IDs
 * address_hi bits 7:0 must be clear (`kvm_msi_route_invalid()`, EINVAL).
 * Returns how many LAPICs took the interrupt, 0 if all refused it (a
 * disabled APIC), -1 if none matched the destination: KVM_SIGNAL_MSI passes
 * that -1 on as the ioctl's result.
 */
export function kvm_set_msi(k: kvm, msg: msi_msg): number {
  if (k.arch.x2apic_format && (msg.address_hi & 0xff)) return -EINVAL;
  return kvm_irq_delivery_to_apic(k, null, kvm_set_msi_irq(k, msg));
}

/** `kvm_msi_route_invalid()`: 32-bit x2APIC IDs leave address_hi bits 7:0 clear. */
function kvm_msi_route_invalid(k: kvm, e: kvm_kernel_irq_routing_entry): boolean {
  return k.arch.x2apic_format && (e.msi.address_hi & 0xff) !== 0;
}

/** `kvm_set_msi()` as a route: only a rising level sends the message. */
function kvm_set_msi_route(
  e: kvm_kernel_irq_routing_entry,
  k: kvm,
  _irq_source_id: number,
  level: number,
): number {
  if (kvm_msi_route_invalid(k, e)) return -EINVAL;
  if (!level) return -1;
  return kvm_irq_delivery_to_apic(k, null, kvm_set_msi_irq(k, e.msi));
}

/** `kvm_set_pic_irq()`. */
function kvm_set_pic_irq(
  e: kvm_kernel_irq_routing_entry,
  k: kvm,
  irq_source_id: number,
  level: number,
): number {
  return kvm_pic_set_irq(vpic(k)!, e.irqchip.pin, irq_source_id, level);
}

/** `kvm_set_ioapic_irq()`. */
function kvm_set_ioapic_irq(
  e: kvm_kernel_irq_routing_entry,
  k: kvm,
  irq_source_id: number,
  level: number,
  line_status: boolean,
): number {
  return kvm_ioapic_set_irq(vioapic(k)!, e.irqchip.pin, irq_source_id, level, line_status);
}

/**
 * `kvm_hv_set_sint()`: the simulator has no Hyper-V SynIC, so no vCPU's
 * SynIC is active and `kvm_hv_synic_set_irq()` fails.
 */
function kvm_hv_set_sint(
  _e: kvm_kernel_irq_routing_entry,
  _k: kvm,
  _irq_source_id: number,
  level: number,
): number {
  if (!level) return -1;
  return -EINVAL;
}

/** `kvm_arch_can_set_irq_routing()`: only with an in-kernel irqchip. */
export function kvm_arch_can_set_irq_routing(k: kvm): boolean {
  return k.arch.irqchip_mode !== 0;
}

/**
 * `kvm_set_routing_entry()`: irqchip routes need the full irqchip and a pin
 * the chip has (8 per PIC, 24 on the IOAPIC); MSI routes are checked as
 * `kvm_msi_route_invalid()`; other types are EINVAL.
 */
export function kvm_set_routing_entry(
  k: kvm,
  e: kvm_kernel_irq_routing_entry,
  ue: kvm_irq_routing_entry,
): number {
  switch (ue.type) {
    case KVM_IRQ_ROUTING_IRQCHIP: {
      // irqchip_split(): the PIC and IOAPIC are userspace's.
      if (k.arch.irqchip_mode === 2) return -EINVAL;
      const { irqchip, pin } = ue.irqchip!;
      e.irqchip.pin = pin;
      switch (irqchip) {
        case KVM_IRQCHIP_PIC_SLAVE:
        case KVM_IRQCHIP_PIC_MASTER:
          if (irqchip === KVM_IRQCHIP_PIC_SLAVE) e.irqchip.pin += PIC_NUM_PINS / 2;
          if (pin >= PIC_NUM_PINS / 2) return -EINVAL;
          e.set = kvm_set_pic_irq;
          break;
        case KVM_IRQCHIP_IOAPIC:
          if (pin >= IOAPIC_NUM_PINS) return -EINVAL;
          e.set = kvm_set_ioapic_irq;
          break;
        default:
          return -EINVAL;
      }
      e.irqchip.irqchip = irqchip;
      return 0;
    }
    case KVM_IRQ_ROUTING_MSI:
      e.set = kvm_set_msi_route;
      e.msi.address_lo = ue.msi!.address_lo;
      e.msi.address_hi = ue.msi!.address_hi;
      e.msi.data = ue.msi!.data;
      return kvm_msi_route_invalid(k, e) ? -EINVAL : 0;
    case KVM_IRQ_ROUTING_HV_SINT:
      e.set = kvm_hv_set_sint;
      e.hv_sint.vcpu = ue.hv_sint!.vcpu;
      e.hv_sint.sint = ue.hv_sint!.sint;
      return 0;
    default:
      return -EINVAL;
  }
}

/**
 * `default_routing[]`: each of GSIs 0-15 to the IOAPIC pin of that number
 * and to the PIC IRQ of that number (`SELECT_PIC()`), 16-23 to the IOAPIC.
 */
export const default_routing: readonly kvm_irq_routing_entry[] = (() => {
  const r: kvm_irq_routing_entry[] = [];
  for (let gsi = 0; gsi < IOAPIC_NUM_PINS; gsi++) {
    r.push({
      gsi,
      type: KVM_IRQ_ROUTING_IRQCHIP,
      flags: 0,
      irqchip: { irqchip: KVM_IRQCHIP_IOAPIC, pin: gsi },
    });
    if (gsi < PIC_NUM_PINS) {
      const irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
      r.push({ gsi, type: KVM_IRQ_ROUTING_IRQCHIP, flags: 0, irqchip: { irqchip, pin: gsi % 8 } });
    }
  }
  return r;
})();

/** `kvm_setup_default_irq_routing()` (KVM_CREATE_IRQCHIP). */
export function kvm_setup_default_irq_routing(k: kvm): number {
  return kvm_set_irq_routing(k, default_routing);
}

/**
 * `kvm_scan_ioapic_routes()` for one vector: with a split irqchip, the MSI
 * routes of the GSIs reserved for the userspace IOAPIC
 * (KVM_CAP_SPLIT_IRQCHIP's argument) that are level-triggered and aimed at
 * this vCPU make its EOI of their vector exit to userspace.
 */
export function kvm_scan_ioapic_routes(vcpu: kvm_vcpu, vector: number): boolean {
  const k = vcpu.kvm;
  const rt = kvm_irq_routing(k);
  if (!rt) return false;
  const n = Math.min(rt.nr_rt_entries, k.arch.nr_reserved_ioapic_pins);
  for (let gsi = 0; gsi < n; gsi++) {
    for (const e of rt.map[gsi]!) {
      if (e.type !== KVM_IRQ_ROUTING_MSI) continue;
      const irq = kvm_set_msi_irq(k, e.msi);
      if (
        irq.trig_mode && irq.vector === vector &&
        kvm_apic_match_dest(vcpu, null, APIC_DEST_NOSHORT, irq.dest_id, irq.dest_mode)
      ) return true;
    }
  }
  return false;
}

/** `kvm_setup_empty_irq_routing()` (KVM_CAP_SPLIT_IRQCHIP). */
export function kvm_setup_empty_irq_routing(k: kvm): number {
  return kvm_set_irq_routing(k, []);
}
