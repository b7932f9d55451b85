// SPDX-License-Identifier: GPL-2.0-only
/**
 * MSI delivery (`arch/x86/kvm/irq_comm.c`, kvm-x86/linux at
 * 1618270827609753512b7b25e7ecc3715fdbe064): `kvm_set_msi()` decodes the
 * message (`kvm_set_msi_irq()`, `x86_msi_msg_get_destid()`) and hands it to
 * the LAPICs (`kvm_irq_delivery_to_apic()`). GSI routing, the IOAPIC and the
 * PIC are not modelled.
 *
 * @module
 */

import type { kvm } from "../../../include/linux/kvm_host.ts";
import { EINVAL } from "../../../../../include/linux/errno.ts";
import { APIC_DEST_LOGICAL, APIC_DEST_NOSHORT } from "../include/asm/apicdef.ts";
import { kvm_irq_delivery_to_apic, type kvm_lapic_irq } from "./lapic.ts";

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
