// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest-physical memory map the kernel hands to a vCPU
 * ({@linkcode guest_memory_map}), and its lookup structure on the CPU side.
 *
 * The kernel describes each memslot by where its bytes live: a list of
 * `SharedArrayBuffer` chunks (user memory is split into 1 GiB chunks, see
 * `docs/sim.md`) and the slot's byte offset into them. A TD's slot may also
 * have a private (guest_memfd) backing and a per-page attribute array that the
 * kernel updates in place (`KVM_SET_MEMORY_ATTRIBUTES`), so that attribute
 * changes reach running vCPUs without a new map.
 *
 * @module
 */

import * as kvm from "../../include/linux/kvm.ts";

/** Bytes of a guest page. */
export const PAGE_SIZE = 4096;
/** log2 of {@linkcode PAGE_SIZE}. */
export const PAGE_SHIFT = 12;

/** `KVM_MEM_READONLY`-style flag of {@linkcode guest_memslot}: writes exit as MMIO. */
export const GUEST_MEMSLOT_READONLY = 1;

/** Where a slot's bytes live: `chunks` concatenated, starting at `offset`. */
export interface guest_backing {
  /** The chunks, in order; every chunk but the last is exactly `chunk_size` bytes. */
  readonly chunks: readonly SharedArrayBuffer[];
  /** Bytes of each chunk; a multiple of {@linkcode PAGE_SIZE}. */
  readonly chunk_size: number;
  /** Byte offset of the slot's first page in the concatenated chunks; page aligned. */
  readonly offset: number;
}

/** One memslot as the CPU sees it (`struct kvm_memory_slot`). */
export interface guest_memslot {
  /** The slot id (`as_id << 16 | id`), for diagnostics. */
  readonly slot: number;
  /** First guest-physical address; page aligned. */
  readonly base_gpa: bigint;
  /** Number of pages. */
  readonly npages: number;
  /** `KVM_MEM_READONLY`: a write exits with an EPT violation (KVM gives `KVM_EXIT_MMIO`). */
  readonly readonly: boolean;
  /** The shared (userspace_addr) backing. */
  readonly backing: guest_backing;
  /** The private (guest_memfd) backing of a TD slot. */
  readonly private_backing?: guest_backing;
  /**
   * Per-page memory attributes of the slot (`KVM_MEMORY_ATTRIBUTE_PRIVATE` =
   * bit 3), one byte per page over a `SharedArrayBuffer`, updated in place by
   * the kernel; absent means all shared.
   */
  readonly attributes?: Uint8Array;
}

/** The memory map of a VM: its memslots, in any order, not overlapping. */
export interface guest_memory_map {
  /** The slots. */
  readonly slots: readonly guest_memslot[];
}

/** `KVM_MEMORY_ATTRIBUTE_PRIVATE` as a number (the uAPI's is a u64 bit). */
export const KVM_MEMORY_ATTRIBUTE_PRIVATE: number = Number(kvm.KVM_MEMORY_ATTRIBUTE_PRIVATE);

/** A slot resolved for fast access on the CPU side. */
interface resolved_slot {
  base: number;
  end: number;
  readonly: boolean;
  shared: resolved_backing;
  priv: resolved_backing | null;
  attributes: Uint8Array | null;
}

interface resolved_backing {
  views: DataView[];
  chunk_size: number;
  offset: number;
}

function resolve_backing(b: guest_backing): resolved_backing {
  if (b.chunk_size % PAGE_SIZE !== 0 || b.offset % PAGE_SIZE !== 0) {
    throw new RangeError("guest memory backing must be page aligned");
  }
  return {
    views: b.chunks.map((c) => new DataView(c)),
    chunk_size: b.chunk_size,
    offset: b.offset,
  };
}

/**
 * The CPU side of a memory map: GPA → (DataView, byte offset) by binary
 * search over the slots. The result of {@linkcode lookup} is left in
 * {@linkcode dv} and {@linkcode off} so that the hot path allocates nothing.
 */
export class physmem {
  #slots: resolved_slot[] = [];
  /** The DataView of the last successful lookup. */
  dv: DataView = new DataView(new ArrayBuffer(8));
  /** The byte offset in {@linkcode dv} of the last successful lookup. */
  off = 0;
  /** Whether the slot of the last lookup is read-only. */
  ro = false;

  /** Replaces the map. */
  set_map(map: guest_memory_map): void {
    const slots = map.slots.map((s): resolved_slot => {
      const base = Number(s.base_gpa);
      return {
        base,
        end: base + s.npages * PAGE_SIZE,
        readonly: s.readonly,
        shared: resolve_backing(s.backing),
        priv: s.private_backing ? resolve_backing(s.private_backing) : null,
        attributes: s.attributes ?? null,
      };
    });
    slots.sort((a, b) => a.base - b.base);
    this.#slots = slots;
  }

  /**
   * Looks up the page that holds guest-physical address `gpa` (a number below
   * 2^52). Returns 0 when found (see {@linkcode dv}, {@linkcode off},
   * {@linkcode ro}), -1 when no slot covers it (MMIO), -2 when the access is
   * private and the page is shared or has no private backing, -3 the other
   * way round (the kernel turns both into `KVM_EXIT_MEMORY_FAULT`).
   *
   * @param gpa the address, without a TD's shared bit
   * @param priv whether a TD accesses it as private (shared bit clear)
   * @param td whether the vCPU is a TD vCPU (attributes apply)
   */
  lookup(gpa: number, priv: boolean, td: boolean): number {
    const slots = this.#slots;
    let lo = 0;
    let hi = slots.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = slots[mid]!;
      if (gpa < s.base) hi = mid - 1;
      else if (gpa >= s.end) lo = mid + 1;
      else {
        const rel = gpa - s.base;
        let b = s.shared;
        if (td) {
          const attr = s.attributes ? s.attributes[Math.floor(rel / PAGE_SIZE)]! : 0;
          const is_priv = (attr & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
          if (priv !== is_priv) return priv ? -2 : -3;
          if (priv) {
            if (!s.priv) return -2;
            b = s.priv;
          }
        }
        const byte = b.offset + rel;
        const chunk = Math.floor(byte / b.chunk_size);
        const view = b.views[chunk];
        if (!view) return -1;
        this.dv = view;
        this.off = byte - chunk * b.chunk_size;
        this.ro = s.readonly;
        return 0;
      }
    }
    return -1;
  }
}
