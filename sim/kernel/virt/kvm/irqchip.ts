// SPDX-License-Identifier: GPL-2.0-only
/**
 * GSI routing (`virt/kvm/irqchip.c`, read at sean-jc/linux
 * ab3540216074fad48e374816f311fa9753edd395, the kvm-x86 tree's file): the
 * VM's routing table (`kvm->irq_routing`), `kvm_set_irq()` fanning a GSI out
 * to every route it has, and `kvm_set_irq_routing()` validating a new table
 * (KVM_SET_GSI_ROUTING, and the default table of KVM_CREATE_IRQCHIP). The
 * arch decides what a route does (`kvm_set_routing_entry()`, irq_comm.ts).
 *
 * @module
 */

import type { kvm } from "../../include/linux/kvm_host.ts";
import { EFAULT, EINVAL } from "../../../../include/linux/errno.ts";
import {
  kvm_irq_routing as kvm_irq_routing_t,
  kvm_irq_routing_entry as kvm_irq_routing_entry_t,
  KVM_IRQ_ROUTING_HV_SINT,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_MSI_VALID_DEVID,
  KVM_NR_IRQCHIPS,
} from "../../../../include/linux/kvm.ts";
import { current } from "../../include/linux/sched.ts";
import {
  kvm_arch_can_set_irq_routing,
  kvm_set_routing_entry,
} from "../../arch/x86/kvm/irq_comm.ts";
import { kvm_irq_routing_update } from "./eventfd.ts";

/** `KVM_IRQCHIP_NUM_PINS`: the most pins of one irqchip (the IOAPIC's 24). */
export const KVM_IRQCHIP_NUM_PINS = 24;
/** `KVM_MAX_IRQ_ROUTES` on x86. */
export const KVM_MAX_IRQ_ROUTES = 4096;
/** `KVM_USERSPACE_IRQ_SOURCE_ID`: KVM_IRQ_LINE and plain irqfds. */
export const KVM_USERSPACE_IRQ_SOURCE_ID = 0;
/** `KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID`: level irqfds with a resampler. */
export const KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID = 1;

/** One route as userspace gives it (`struct kvm_irq_routing_entry`, decoded). */
export interface kvm_irq_routing_entry {
  gsi: number;
  type: number;
  flags: number;
  /** `u.irqchip`. */
  irqchip?: { irqchip: number; pin: number };
  /** `u.msi`. */
  msi?: { address_lo: number; address_hi: number; data: number; devid: number };
  /** `u.hv_sint`. */
  hv_sint?: { vcpu: number; sint: number };
}

/** `struct kvm_kernel_irq_routing_entry`. */
export interface kvm_kernel_irq_routing_entry {
  gsi: number;
  type: number;
  /** `set()`: drive the route; the result follows {@linkcode kvm_set_irq}'s convention. */
  set: (
    e: kvm_kernel_irq_routing_entry,
    k: kvm,
    irq_source_id: number,
    level: number,
    line_status: boolean,
  ) => number;
  irqchip: { irqchip: number; pin: number };
  msi: { address_lo: number; address_hi: number; data: number; flags: number; devid: number };
  hv_sint: { vcpu: number; sint: number };
}

/** `struct kvm_irq_routing_table`. */
export interface kvm_irq_routing_table {
  /** `chip[irqchip][pin]`: the GSI routed to the pin, or -1. */
  chip: number[][];
  nr_rt_entries: number;
  /** `map[gsi]`: the routes of each GSI, most recently added first (hlist order). */
  map: kvm_kernel_irq_routing_entry[][];
}

const routing = new WeakMap<kvm, kvm_irq_routing_table>();

/** `kvm->irq_routing`, or `null` before any table is set. */
export function kvm_irq_routing(k: kvm): kvm_irq_routing_table | null {
  return routing.get(k) ?? null;
}

/** `kvm_irq_map_gsi()`: the routes of `gsi` (a copy, in hlist order). */
export function kvm_irq_map_gsi(k: kvm, gsi: number): kvm_kernel_irq_routing_entry[] {
  const rt = routing.get(k);
  if (!rt || gsi >= rt.nr_rt_entries) return [];
  return [...rt.map[gsi]!];
}

/** `kvm_irq_map_chip_pin()`: the GSI routed to an irqchip pin, or -1. */
export function kvm_irq_map_chip_pin(k: kvm, irqchip: number, pin: number): number {
  const rt = routing.get(k);
  return rt?.chip[irqchip]?.[pin] ?? -1;
}

/**
 * `kvm_set_irq()`: drive every route of `irq` to `level`. The result is a
 * count of receiving vCPUs summed over the routes; 0 means it coalesced with
 * one already pending, and a negative value means no route took it
 * (a masked pin, or a GSI with no routes).
 */
export function kvm_set_irq(
  k: kvm,
  irq_source_id: number,
  irq: number,
  level: number,
  line_status: boolean,
): number {
  let ret = -1;
  const irq_set = kvm_irq_map_gsi(k, irq);
  for (let i = irq_set.length - 1; i >= 0; i--) {
    const e = irq_set[i]!;
    const r = e.set(e, k, irq_source_id, level, line_status);
    if (r < 0) continue;
    ret = r + (ret < 0 ? 0 : ret);
  }
  return ret;
}

/**
 * `setup_routing_entry()`: EINVAL when the GSI already has a route and
 * either the old or the new one is not an irqchip pin, or both name the
 * same irqchip (only pins of distinct irqchips may share a GSI).
 */
function setup_routing_entry(k: kvm, rt: kvm_irq_routing_table, ue: kvm_irq_routing_entry): number {
  const gsi = ue.gsi;
  for (const ei of rt.map[gsi]!) {
    if (
      ei.type !== KVM_IRQ_ROUTING_IRQCHIP || ue.type !== KVM_IRQ_ROUTING_IRQCHIP ||
      ue.irqchip!.irqchip === ei.irqchip.irqchip
    ) return -EINVAL;
  }
  const e: kvm_kernel_irq_routing_entry = {
    gsi,
    type: ue.type,
    set: () => -1,
    irqchip: { irqchip: 0, pin: 0 },
    msi: { address_lo: 0, address_hi: 0, data: 0, flags: 0, devid: 0 },
    hv_sint: { vcpu: 0, sint: 0 },
  };
  const r = kvm_set_routing_entry(k, e, ue);
  if (r) return r;
  if (e.type === KVM_IRQ_ROUTING_IRQCHIP) rt.chip[e.irqchip.irqchip]![e.irqchip.pin] = e.gsi;
  rt.map[gsi]!.unshift(e);
  return 0;
}

/**
 * `kvm_set_irq_routing()`: every GSI below KVM_MAX_IRQ_ROUTES first, then
 * entry by entry the flags (only MSI routes may carry KVM_MSI_VALID_DEVID)
 * and the arch's checks; the new table replaces the old one whole, and the
 * irqfds re-read their routes.
 */
export function kvm_set_irq_routing(k: kvm, ue: readonly kvm_irq_routing_entry[]): number {
  let nr_rt_entries = 0;
  for (const e of ue) {
    if (e.gsi >= KVM_MAX_IRQ_ROUTES) return -EINVAL;
    nr_rt_entries = Math.max(nr_rt_entries, e.gsi);
  }
  nr_rt_entries += 1;
  const rt: kvm_irq_routing_table = {
    chip: Array.from({ length: KVM_NR_IRQCHIPS }, () => new Array(KVM_IRQCHIP_NUM_PINS).fill(-1)),
    nr_rt_entries,
    map: Array.from({ length: nr_rt_entries }, () => []),
  };
  for (const e of ue) {
    if (e.type === KVM_IRQ_ROUTING_MSI) {
      if (e.flags & ~KVM_MSI_VALID_DEVID) return -EINVAL;
    } else if (e.flags) {
      return -EINVAL;
    }
    const r = setup_routing_entry(k, rt, e);
    if (r) return r;
  }
  routing.set(k, rt);
  kvm_irq_routing_update(k);
  return 0;
}

/** `kvm_free_irq_routing()`: the table goes with the VM. */
export function kvm_free_irq_routing(k: kvm): void {
  routing.delete(k);
}

/**
 * KVM_SET_GSI_ROUTING (`kvm_vm_ioctl()`): the header, then EINVAL without an
 * in-kernel irqchip, for more than KVM_MAX_IRQ_ROUTES entries or any flag,
 * then the entries (EFAULT if unreadable), then `kvm_set_irq_routing()`.
 */
export function kvm_vm_ioctl_set_gsi_routing(k: kvm, arg: bigint): number {
  const hdr = new Uint8Array(kvm_irq_routing_t.size);
  if (current.mm.copy_from_user(hdr, arg, hdr.length)) return -EFAULT;
  const h = kvm_irq_routing_t.view(hdr);
  if (!kvm_arch_can_set_irq_routing(k)) return -EINVAL;
  if (h.nr > KVM_MAX_IRQ_ROUTES) return -EINVAL;
  if (h.flags) return -EINVAL;
  const ue: kvm_irq_routing_entry[] = [];
  if (h.nr) {
    const bytes = new Uint8Array(h.nr * kvm_irq_routing_entry_t.size);
    if (current.mm.copy_from_user(bytes, arg + BigInt(hdr.length), bytes.length)) return -EFAULT;
    for (let i = 0; i < h.nr; i++) {
      const v = kvm_irq_routing_entry_t.view(bytes, i * kvm_irq_routing_entry_t.size);
      const e: kvm_irq_routing_entry = { gsi: v.gsi, type: v.type, flags: v.flags };
      if (v.type === KVM_IRQ_ROUTING_IRQCHIP) {
        e.irqchip = { irqchip: v.u.irqchip.irqchip, pin: v.u.irqchip.pin };
      } else if (v.type === KVM_IRQ_ROUTING_MSI) {
        const m = v.u.msi;
        e.msi = {
          address_lo: m.address_lo,
          address_hi: m.address_hi,
          data: m.data,
          devid: m.devid,
        };
      } else if (v.type === KVM_IRQ_ROUTING_HV_SINT) {
        e.hv_sint = { vcpu: v.u.hv_sint.vcpu, sint: v.u.hv_sint.sint };
      }
      ue.push(e);
    }
  }
  return kvm_set_irq_routing(k, ue);
}
