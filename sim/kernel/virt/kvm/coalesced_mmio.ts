// SPDX-License-Identifier: GPL-2.0-only
/**
 * Coalesced MMIO and PIO (`virt/kvm/coalesced_mmio.c`, kvm-x86/linux, read
 * for this port alongside kvm_main.c @ 69c7916df5696b0be510ee473f6d745525d40ef5).
 *
 * `KVM_REGISTER_COALESCED_MMIO` puts a zone on the VM's MMIO or PIO bus: a
 * guest write that lies wholly inside a zone does not exit to userspace but
 * is appended to the VM's ring, one page every vCPU maps at
 * `KVM_COALESCED_MMIO_PAGE_OFFSET`. Userspace consumes entries from `first`;
 * KVM appends at `last` and always keeps one entry free: when the ring is
 * full the zone declines the write, which then exits to userspace as any
 * MMIO or port I/O does. Reads are never coalesced.
 *
 * The simulated buses hold only these zones (the in-kernel LAPIC, IOAPIC and
 * PIC take their accesses before them, see vmx.ts), so a write is offered to
 * every zone that contains it, in registration order, as
 * `kvm_io_bus_write()` offers it to every device whose range matches.
 *
 * @module
 */

import { EINVAL, ENOMEM, ENOSPC } from "../../../../include/linux/errno.ts";
import {
  kvm_coalesced_mmio,
  kvm_coalesced_mmio_ring,
  type kvm_coalesced_mmio_zone,
} from "../../../../include/linux/kvm.ts";
import type { View } from "../../../../include/c/layout.ts";
import { alloc_fails } from "../../../fault_inject.ts";
import type { kvm, kvm_vcpu } from "../../include/linux/kvm_host.ts";
import { type mm_backing, PAGE_SIZE } from "../../mm/mmap.ts";

/**
 * `KVM_COALESCED_MMIO_MAX`: the ring's entries, as many as fit in a page
 * after `first` and `last`.
 */
export const KVM_COALESCED_MMIO_MAX: number = Math.floor(
  (PAGE_SIZE - kvm_coalesced_mmio_ring.size) / kvm_coalesced_mmio.size,
);

/** `NR_IOBUS_DEVS`: the most devices one bus holds. */
export const NR_IOBUS_DEVS = 1000;

/** A zone on a bus (`struct kvm_coalesced_mmio_dev`). */
interface kvm_coalesced_mmio_dev {
  readonly addr: bigint;
  readonly size: bigint;
  readonly pio: number;
}

/** A VM's ring page and zones (`kvm->coalesced_mmio_ring`, `kvm->coalesced_zones`). */
interface kvm_coalesced_state {
  readonly page: SharedArrayBuffer;
  readonly ring: DataView;
  readonly zones: kvm_coalesced_mmio_dev[];
}

const state = new WeakMap<kvm, kvm_coalesced_state>();

const OFF_FIRST = 0;
const OFF_LAST = 4;

/** `kvm_coalesced_mmio_init()`: the VM's zeroed ring page, made on first use. */
function coalesced_state(k: kvm): kvm_coalesced_state {
  let s = state.get(k);
  if (!s) {
    const page = new SharedArrayBuffer(PAGE_SIZE);
    s = { page, ring: new DataView(page), zones: [] };
    state.set(k, s);
  }
  return s;
}

/** The VM's ring page (`kvm->coalesced_mmio_ring`), what each vCPU maps at page 2. */
export function kvm_coalesced_mmio_ring_page(k: kvm): SharedArrayBuffer {
  return coalesced_state(k).page;
}

/** `coalesced_mmio_in_range()`: `[addr, addr + len)` lies wholly inside the zone. */
function coalesced_mmio_in_range(dev: kvm_coalesced_mmio_dev, addr: bigint, len: bigint): boolean {
  if (len < 0n) return false;
  if (BigInt.asUintN(64, addr + len) < addr) return false;
  if (addr < dev.addr) return false;
  if (addr + len > dev.addr + dev.size) return false;
  return true;
}

/** How many zones a bus holds (`bus->dev_count`). */
function bus_dev_count(s: kvm_coalesced_state, pio: number): number {
  let n = 0;
  for (const z of s.zones) if (z.pio === pio) n++;
  return n;
}

/**
 * `kvm_vm_ioctl_register_coalesced_mmio()`: `pio` must be 0 or 1; the zone
 * goes on the MMIO or PIO bus (`kvm_io_bus_register_dev()`: ENOSPC when the
 * bus is full).
 */
export function kvm_vm_ioctl_register_coalesced_mmio(
  k: kvm,
  zone: View<typeof kvm_coalesced_mmio_zone.fields>,
): number {
  const pio = zone.pio;
  if (pio !== 1 && pio !== 0) return -EINVAL;
  if (alloc_fails("coalesced_mmio_dev")) return -ENOMEM;
  const s = coalesced_state(k);
  if (bus_dev_count(s, pio) > NR_IOBUS_DEVS - 1) return -ENOSPC;
  s.zones.push({ addr: zone.addr, size: BigInt(zone.size), pio });
  return 0;
}

/**
 * `kvm_vm_ioctl_unregister_coalesced_mmio()`: `pio` must be 0 or 1; every
 * zone of that bus that contains the given range goes. Always 0 otherwise,
 * even when nothing matched.
 */
export function kvm_vm_ioctl_unregister_coalesced_mmio(
  k: kvm,
  zone: View<typeof kvm_coalesced_mmio_zone.fields>,
): number {
  const pio = zone.pio;
  if (pio !== 1 && pio !== 0) return -EINVAL;
  const s = state.get(k);
  if (!s) return 0;
  const size = BigInt(zone.size);
  for (let i = s.zones.length - 1; i >= 0; i--) {
    const dev = s.zones[i]!;
    if (dev.pio === pio && coalesced_mmio_in_range(dev, zone.addr, size)) s.zones.splice(i, 1);
  }
  return 0;
}

/**
 * `coalesced_mmio_write()` for each zone of the bus that contains the
 * write: the first with room in the ring takes it. True when the write was
 * coalesced (no exit); false when no zone took it (not in a zone, or the
 * ring full: one entry always stays free).
 *
 * @param vcpu the vCPU that wrote
 * @param pio true for the PIO bus (an OUT), false for MMIO
 * @param addr the GPA or port
 * @param data the bytes written (1 to 8)
 */
export function kvm_coalesced_io_write(
  vcpu: kvm_vcpu,
  pio: boolean,
  addr: bigint,
  data: Uint8Array,
): boolean {
  const s = state.get(vcpu.kvm);
  if (!s || s.zones.length === 0) return false;
  const bus = pio ? 1 : 0;
  const len = BigInt(data.length);
  for (const dev of s.zones) {
    if (dev.pio !== bus || !coalesced_mmio_in_range(dev, addr, len)) continue;
    // The indices live in memory userspace writes: read each once.
    const insert = s.ring.getUint32(OFF_LAST, true);
    const first = s.ring.getUint32(OFF_FIRST, true);
    if (insert >= KVM_COALESCED_MMIO_MAX || (insert + 1) % KVM_COALESCED_MMIO_MAX === first) {
      continue;
    }
    const e = kvm_coalesced_mmio_ring.size + insert * kvm_coalesced_mmio.size;
    const entry = kvm_coalesced_mmio.view(new Uint8Array(s.page, e, kvm_coalesced_mmio.size));
    entry.phys_addr = addr;
    entry.len = data.length;
    entry.data.$bytes.fill(0).set(data);
    entry.pio = dev.pio;
    s.ring.setUint32(OFF_LAST, (insert + 1) % KVM_COALESCED_MMIO_MAX, true);
    return true;
  }
  return false;
}

/**
 * What a vCPU fd maps (`kvm_vcpu_fault()`): pages 0 and 1 (`kvm_run`, PIO
 * data) from the vCPU, page 2 the VM's coalesced ring.
 */
export class kvm_vcpu_mmap_backing implements mm_backing {
  /** Bytes of the object: three pages. */
  readonly size: number = 3 * PAGE_SIZE;
  /** Chunk 0 is the vCPU's two pages, chunk 1 the ring page. */
  readonly chunk_size: number = 2 * PAGE_SIZE;
  readonly #chunks: readonly ArrayBufferLike[];

  /**
   * @param vcpu the vCPU
   */
  constructor(vcpu: kvm_vcpu) {
    this.#chunks = [vcpu.run_buffer, kvm_coalesced_mmio_ring_page(vcpu.kvm)];
  }

  /** Chunk `i`. */
  chunk(i: number): ArrayBufferLike | undefined {
    return this.#chunks[i];
  }
}
