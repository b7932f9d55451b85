// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest-physical memory map a vCPU thread uses: the memslots of address
 * space 0 translated, through the process's address space or the bound
 * guest_memfd, to the `SharedArrayBuffer` ranges behind them. This plays the
 * part of KVM's stage-2 (EPT) page tables: built from memslots and memory
 * attributes, invalidated when either changes, and consulted by the CPU on
 * every guest-physical access.
 *
 * A range whose backing is not a `SharedArrayBuffer` (an unmapped
 * `userspace_addr`, or memory from a plain `ArrayBuffer`, which a worker cannot
 * share) is listed with `buffer: null`: the guest's access to it is a fault
 * that `KVM_RUN` reports as `-EFAULT` with `KVM_EXIT_MEMORY_FAULT`, as KVM does
 * when it cannot fault in the user page.
 *
 * @module
 */

import {
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_READONLY,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from "../../../../include/linux/kvm.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../../mm/mmap.ts";
import type { kvm, kvm_memory_slot } from "../../include/linux/kvm_host.ts";
import { kvm_gmem_of_slot } from "./guest_memfd.ts";

/** One contiguous guest-physical range with a single backing. */
export interface gpa_range {
  /** First guest-physical address. */
  gpa: number;
  /** Bytes. */
  size: number;
  /** The memory, or null when an access must fault. */
  buffer: SharedArrayBuffer | null;
  /** Offset of `gpa` in `buffer`. */
  offset: number;
  /** Writes exit as MMIO (`KVM_MEM_READONLY`). */
  readonly: boolean;
  /** The range is private (backed by guest_memfd, attribute PRIVATE). */
  private: boolean;
  /** The memslot id. */
  slot: number;
}

function push_hva(
  k: kvm,
  out: gpa_range[],
  slot: kvm_memory_slot,
  gpa: number,
  size: number,
  hva: number,
): void {
  const ro = (slot.flags & KVM_MEM_READONLY) !== 0;
  let done = 0;
  const ok = k.mm.walk(hva, size, false, (s) => {
    const shared = s.buffer instanceof SharedArrayBuffer;
    out.push({
      gpa: gpa + (s.addr - hva),
      size: s.length,
      buffer: shared ? s.buffer as SharedArrayBuffer : null,
      offset: s.offset,
      readonly: ro,
      private: false,
      slot: slot.id,
    });
    done = s.addr - hva + s.length;
  });
  if (!ok && done < size) {
    out.push({
      gpa: gpa + done,
      size: size - done,
      buffer: null,
      offset: 0,
      readonly: ro,
      private: false,
      slot: slot.id,
    });
  }
}

/** A memslot's ranges as last translated, with what they were translated from. */
interface slot_ranges {
  mm_generation: number;
  base: number;
  size: number;
  hva: number;
  flags: number;
  ranges: gpa_range[];
}

const translated = new WeakMap<kvm_memory_slot, slot_ranges>();

/**
 * {@linkcode push_hva} of a whole memslot, reusing its last translation while
 * the slot and the address space are unchanged: a change to one of thousands
 * of memslots then costs a walk of that one, as KVM's SPTEs of the others
 * stay. Any mapping that goes away or appears bumps `mm.generation`.
 */
function push_hva_cached(
  k: kvm,
  out: gpa_range[],
  slot: kvm_memory_slot,
  base: number,
  size: number,
): void {
  const t = translated.get(slot);
  if (
    t && t.mm_generation === k.mm.generation && t.base === base && t.size === size &&
    t.hva === slot.userspace_addr && t.flags === slot.flags
  ) {
    for (const r of t.ranges) out.push(r);
    return;
  }
  const ranges: gpa_range[] = [];
  push_hva(k, ranges, slot, base, size, slot.userspace_addr);
  translated.set(slot, {
    mm_generation: k.mm.generation,
    base,
    size,
    hva: slot.userspace_addr,
    flags: slot.flags,
    ranges,
  });
  for (const r of ranges) out.push(r);
}

function push_gmem(out: gpa_range[], slot: kvm_memory_slot, gpa: number, size: number): void {
  const g = kvm_gmem_of_slot(slot);
  if (!g) {
    out.push({ gpa, size, buffer: null, offset: 0, readonly: false, private: true, slot: slot.id });
    return;
  }
  let off = (slot.gmem!.pgoff << PAGE_SHIFT) + (gpa - slot.base_gfn * PAGE_SIZE);
  let a = gpa;
  const end = gpa + size;
  const cs = g.backing.chunk_size;
  while (a < end) {
    const ci = Math.floor(off / cs);
    const inner = off - ci * cs;
    const chunk = g.backing.chunk(ci) as SharedArrayBuffer;
    const n = Math.min(end - a, chunk.byteLength - inner);
    out.push({
      gpa: a,
      size: n,
      buffer: chunk,
      offset: inner,
      readonly: false,
      private: true,
      slot: slot.id,
    });
    a += n;
    off += n;
  }
}

/**
 * The memory map of `k`'s address space 0, sorted by GPA. Private memory is
 * taken from the guest_memfd for frames whose attribute is PRIVATE (VMs with
 * private memory) or for the whole slot when the guest_memfd is mappable
 * (`GUEST_MEMFD_FLAG_MMAP`: guest_memfd is then the only backing).
 */
export function kvm_build_memory_map(k: kvm): gpa_range[] {
  const out: gpa_range[] = [];
  const slots = [...k.memslots[0]!.values()].sort((a, b) => a.base_gfn - b.base_gfn);
  for (const slot of slots) {
    const base = slot.base_gfn * PAGE_SIZE;
    const size = slot.npages * PAGE_SIZE;
    const has_gmem = (slot.flags & KVM_MEM_GUEST_MEMFD) !== 0;
    const gmem = has_gmem ? kvm_gmem_of_slot(slot) : null;
    if (has_gmem && gmem?.supports_mmap && !k.arch.has_private_mem) {
      push_gmem(out, slot, base, size);
      continue;
    }
    if (!k.arch.has_private_mem) {
      push_hva_cached(k, out, slot, base, size);
      continue;
    }
    // Split the slot at attribute boundaries.
    const first = slot.base_gfn, last = slot.base_gfn + slot.npages;
    const cuts = new Set<number>([first, last]);
    for (const r of k.mem_attrs.ranges) {
      if (r.start > first && r.start < last) cuts.add(r.start);
      if (r.end > first && r.end < last) cuts.add(r.end);
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const g0 = points[i]!, g1 = points[i + 1]!;
      const priv = (k.mem_attrs.get(g0) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0n;
      const gpa = g0 * PAGE_SIZE, n = (g1 - g0) * PAGE_SIZE;
      if (priv) {
        if (has_gmem) push_gmem(out, slot, gpa, n);
        else {out.push({
            gpa,
            size: n,
            buffer: null,
            offset: 0,
            readonly: false,
            private: true,
            slot: slot.id,
          });}
      } else {
        push_hva(k, out, slot, gpa, n, slot.userspace_addr + (gpa - base));
      }
    }
  }
  return out;
}
