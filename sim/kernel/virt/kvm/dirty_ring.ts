// SPDX-License-Identifier: GPL-2.0-only
/**
 * The dirty ring (`virt/kvm/dirty_ring.c` and the ring parts of
 * `virt/kvm/kvm_main.c`, kvm-x86/linux 0f7e60a5f42a): with
 * `KVM_CAP_DIRTY_LOG_RING(_ACQ_REL)` enabled, each vCPU has a ring of
 * `struct kvm_dirty_gfn` that userspace maps at `KVM_DIRTY_LOG_PAGE_OFFSET`
 * of the vCPU fd. A write to a write-protected page of a logged memslot
 * faults (EPT violation), and the fault pushes the page to the vCPU's ring
 * and makes it writable (`mark_page_dirty_in_slot()` →
 * `kvm_dirty_ring_push()`); when the ring is soft-full the vCPU exits with
 * `KVM_EXIT_DIRTY_RING_FULL` and does not enter again until userspace has
 * harvested entries (flags RESET) and called `KVM_RESET_DIRTY_RINGS`, which
 * re-protects their pages.
 *
 * Which pages are writable is the memslot's `dirty_ring_wp` bitmap (one
 * bit per page, set = writable until reset), which the CPU consults as it
 * does a dirty bitmap (sim/cpu/mmu.ts). The bitmap is never visible to
 * userspace: with a ring KVM_GET_DIRTY_LOG/KVM_CLEAR_DIRTY_LOG fail with
 * ENXIO (`kvm_use_dirty_bitmap()`; x86 has no ring-with-bitmap mode).
 *
 * @module
 */

import { E2BIG, EINVAL, ENOMEM } from "../../../../include/linux/errno.ts";
import {
  kvm_dirty_gfn,
  KVM_DIRTY_GFN_F_DIRTY,
  KVM_DIRTY_GFN_F_RESET,
  KVM_EXIT_DIRTY_RING_FULL,
} from "../../../../include/linux/kvm.ts";
import { KVM_DIRTY_LOG_PAGE_OFFSET } from "../../../../include/asm/kvm.ts";
import { alloc_fails } from "../../../fault_inject.ts";
import { type mm_backing, PAGE_SIZE } from "../../mm/mmap.ts";
import type { kvm, kvm_dirty_ring, kvm_vcpu } from "../../include/linux/kvm_host.ts";
import { KVM_USER_MEM_SLOTS } from "../../include/linux/kvm_host.ts";
import { kvm_flush_remote_tlbs } from "../../arch/x86/kvm/vmx/vmx.ts";
import { R_EXIT_REASON } from "../../arch/x86/kvm/kvm_run.ts";
import { kvm_arch_nr_memslot_as_ids } from "./kvm_main.ts";

/** `KVM_DIRTY_RING_RSVD_ENTRIES`: entries kept free past the soft limit. */
export const KVM_DIRTY_RING_RSVD_ENTRIES = 64;
/** `KVM_DIRTY_RING_MAX_ENTRIES`. */
export const KVM_DIRTY_RING_MAX_ENTRIES = 65536;
/**
 * `kvm_cpu_dirty_log_size()` on VMX with PML (`PML_LOG_NR_ENTRIES`): a PML
 * buffer's worth of entries can arrive at once, so it is reserved too.
 */
const KVM_CPU_DIRTY_LOG_SIZE = 512;

const GFN_SIZE = kvm_dirty_gfn.size;
const GFN_WORDS = GFN_SIZE / 4;

/** `kvm_dirty_ring_get_rsvd_entries()`. */
export function kvm_dirty_ring_get_rsvd_entries(): number {
  return KVM_DIRTY_RING_RSVD_ENTRIES + KVM_CPU_DIRTY_LOG_SIZE;
}

/** What `KVM_CHECK_EXTENSION(KVM_CAP_DIRTY_LOG_RING(_ACQ_REL))` reports: the largest ring in bytes. */
export function kvm_dirty_ring_max_bytes(): number {
  return KVM_DIRTY_RING_MAX_ENTRIES * GFN_SIZE;
}

/**
 * `kvm_vm_ioctl_enable_dirty_log_ring()`: a power of two, room for the
 * reserved entries and at least a page, at most the maximum (E2BIG), once,
 * and before any vCPU exists.
 */
export function kvm_vm_ioctl_enable_dirty_log_ring(k: kvm, size: bigint): number {
  if (!size || (size & (size - 1n))) return -EINVAL;
  if (size < BigInt(kvm_dirty_ring_get_rsvd_entries() * GFN_SIZE) || size < BigInt(PAGE_SIZE)) {
    return -EINVAL;
  }
  if (size > BigInt(kvm_dirty_ring_max_bytes())) return -E2BIG;
  if (k.dirty_ring_size) return -EINVAL;
  if (k.created_vcpus) return -EINVAL;
  k.dirty_ring_size = Number(size);
  return 0;
}

/** `kvm_dirty_ring_alloc()`: the vCPU's ring, zeroed (at vCPU creation). */
export function kvm_dirty_ring_alloc(k: kvm, vcpu_id: number): kvm_dirty_ring | number {
  const bytes = k.dirty_ring_size ?? 0;
  if (alloc_fails("dirty_ring")) return -ENOMEM;
  const buffer = new SharedArrayBuffer(bytes);
  return {
    index: vcpu_id,
    buffer,
    words: new Int32Array(buffer),
    dv: new DataView(buffer),
    size: bytes / GFN_SIZE,
    soft_limit: bytes / GFN_SIZE - kvm_dirty_ring_get_rsvd_entries(),
    dirty_index: 0,
    reset_index: 0,
    soft_full_request: false,
  };
}

function kvm_dirty_ring_used(ring: kvm_dirty_ring): number {
  return (ring.dirty_index - ring.reset_index) >>> 0;
}

/** `kvm_dirty_ring_soft_full()`. */
export function kvm_dirty_ring_soft_full(ring: kvm_dirty_ring): boolean {
  return kvm_dirty_ring_used(ring) >= ring.soft_limit;
}

/**
 * `kvm_dirty_ring_push()`: the entry's slot and offset, then its flags
 * (DIRTY) with a release store so userspace never sees a half-written
 * entry; a soft-full ring raises `KVM_REQ_DIRTY_RING_SOFT_FULL`.
 */
export function kvm_dirty_ring_push(vcpu: kvm_vcpu, slot: number, offset: number): void {
  const ring = vcpu.dirty_ring!;
  const i = ring.dirty_index & (ring.size - 1);
  ring.dv.setUint32(i * GFN_SIZE + 4, slot, true);
  ring.dv.setBigUint64(i * GFN_SIZE + 8, BigInt(offset), true);
  Atomics.store(ring.words, i * GFN_WORDS, KVM_DIRTY_GFN_F_DIRTY);
  ring.dirty_index = (ring.dirty_index + 1) >>> 0;
  if (kvm_dirty_ring_soft_full(ring)) ring.soft_full_request = true;
}

/**
 * `kvm_dirty_ring_check_request()` (from `vcpu_enter_guest()`): while the
 * request is pending and the ring still soft-full, the vCPU does not run:
 * KVM_RUN returns with `KVM_EXIT_DIRTY_RING_FULL`.
 *
 * @returns whether to exit (the exit reason is set)
 */
export function kvm_dirty_ring_check_request(vcpu: kvm_vcpu, run: DataView): boolean {
  const ring = vcpu.dirty_ring;
  if (!ring || !ring.soft_full_request) return false;
  ring.soft_full_request = false;
  if (!kvm_dirty_ring_soft_full(ring)) return false;
  // The request stays until userspace makes room.
  ring.soft_full_request = true;
  run.setUint32(R_EXIT_REASON, KVM_EXIT_DIRTY_RING_FULL, true);
  return true;
}

/**
 * `kvm_reset_dirty_gfn()`: re-protects `mask`'s pages from `offset` of
 * the slot the entry names, if the slot still exists and covers them.
 */
function kvm_reset_dirty_gfn(k: kvm, slot: number, offset: bigint, mask: bigint): void {
  const as_id = slot >>> 16;
  const id = slot & 0xffff;
  if (as_id >= kvm_arch_nr_memslot_as_ids(k) || id >= KVM_USER_MEM_SLOTS) return;
  const memslot = k.memslots[as_id]!.get(id);
  if (!memslot || !memslot.dirty_ring_wp) return;
  const fls = BigInt(mask.toString(2).length - 1);
  if (offset + fls >= BigInt(memslot.npages)) return;
  const wp = memslot.dirty_ring_wp;
  for (let b = 0n; b <= fls; b++) {
    if (!((mask >> b) & 1n)) continue;
    const nr = Number(offset + b);
    Atomics.and(wp, nr >>> 5, ~(1 << (nr & 31)));
  }
}

/**
 * `kvm_dirty_ring_reset()`: from the reset index, every entry userspace
 * marked harvested (RESET) is invalidated and its page re-protected;
 * consecutive offsets of one slot are re-protected together as the kernel
 * coalesces them into a 64-page mask.
 *
 * @returns the entries reset
 */
export function kvm_dirty_ring_reset(k: kvm, ring: kvm_dirty_ring): number {
  let count = 0;
  let cur_slot = 0, cur_offset = 0n, mask = 0n;
  for (;;) {
    const i = ring.reset_index & (ring.size - 1);
    const flags = Atomics.load(ring.words, i * GFN_WORDS);
    if (!(flags & KVM_DIRTY_GFN_F_RESET)) break;
    const next_slot = ring.dv.getUint32(i * GFN_SIZE + 4, true);
    const next_offset = ring.dv.getBigUint64(i * GFN_SIZE + 8, true);
    Atomics.store(ring.words, i * GFN_WORDS, 0);
    ring.reset_index = (ring.reset_index + 1) >>> 0;
    count++;
    // Merging entries of the same slot that land within 64 pages of the
    // current run into one mask keeps sequential writers cheap to reset.
    if (mask && next_slot === cur_slot) {
      const delta = next_offset - cur_offset;
      if (delta >= 0n && delta < 64n) {
        mask |= 1n << delta;
        continue;
      }
      // A lower offset extends the run downwards while no bit of the
      // 64-page mask would be shifted out.
      if (delta > -64n && delta < 0n && (mask << -delta >> 64n) === 0n) {
        cur_offset = next_offset;
        mask = (mask << -delta) | 1n;
        continue;
      }
    }
    if (mask) kvm_reset_dirty_gfn(k, cur_slot, cur_offset, mask);
    cur_slot = next_slot;
    cur_offset = next_offset;
    mask = 1n;
  }
  if (mask) kvm_reset_dirty_gfn(k, cur_slot, cur_offset, mask);
  return count;
}

/**
 * `KVM_RESET_DIRTY_RINGS` (`kvm_vm_ioctl_reset_dirty_pages()`): EINVAL
 * without a ring; otherwise every vCPU's ring is reset, the TLBs flushed if
 * anything was, and the number of entries reset returned.
 */
export function kvm_vm_ioctl_reset_dirty_pages(k: kvm): number {
  if (!k.dirty_ring_size) return -EINVAL;
  let cleared = 0;
  for (const vcpu of k.vcpus) {
    if (vcpu.dirty_ring) cleared += kvm_dirty_ring_reset(k, vcpu.dirty_ring);
  }
  if (cleared) kvm_flush_remote_tlbs(k);
  return cleared;
}

/** `kvm_page_in_dirty_ring()`: whether vCPU-fd page `pgoff` is in the ring. */
export function kvm_page_in_dirty_ring(k: kvm, pgoff: number): boolean {
  return pgoff >= KVM_DIRTY_LOG_PAGE_OFFSET &&
    pgoff < KVM_DIRTY_LOG_PAGE_OFFSET + (k.dirty_ring_size ?? 0) / PAGE_SIZE;
}

/**
 * The dirty-ring half of `mark_page_dirty_in_slot()` for a write fault:
 * the page becomes writable and is pushed to the faulting vCPU's ring.
 * Another vCPU may have made it writable first: then there is nothing to
 * log (the page's entry is already in a ring).
 *
 * @returns whether the page was write-protected (and is now logged)
 */
export function kvm_dirty_ring_mark_page_dirty(vcpu: kvm_vcpu, gfn: number): boolean {
  const k = vcpu.kvm;
  for (const slot of k.memslots[0]!.values()) {
    if (gfn < slot.base_gfn || gfn >= slot.base_gfn + slot.npages || !slot.dirty_ring_wp) continue;
    const rel = gfn - slot.base_gfn;
    const bit = 1 << (rel & 31);
    if (Atomics.or(slot.dirty_ring_wp, rel >>> 5, bit) & bit) return false;
    kvm_dirty_ring_push(vcpu, (slot.as_id << 16) | slot.id, rel);
    return true;
  }
  return false;
}

/**
 * What a vCPU fd maps when the VM has a dirty ring: the `kvm_run` pages
 * from offset 0, the ring from page `KVM_DIRTY_LOG_PAGE_OFFSET`
 * (`kvm_vcpu_fault()`); a page between them is not backed (SIGBUS).
 */
export class kvm_vcpu_ring_backing implements mm_backing {
  /** Bytes of the object. */
  readonly size: number;
  /** Chunk 0 holds the `kvm_run` pages, chunk 1 the ring. */
  readonly chunk_size: number = KVM_DIRTY_LOG_PAGE_OFFSET * PAGE_SIZE;
  readonly #chunks: readonly ArrayBufferLike[];

  /**
   * @param run_buffer the vCPU's `kvm_run` pages
   * @param ring the vCPU's dirty ring
   */
  constructor(run_buffer: ArrayBufferLike, ring: kvm_dirty_ring) {
    this.#chunks = [run_buffer, ring.buffer];
    this.size = this.chunk_size + ring.buffer.byteLength;
  }

  /** Chunk `i`. */
  chunk(i: number): ArrayBufferLike | undefined {
    return this.#chunks[i];
  }
}
