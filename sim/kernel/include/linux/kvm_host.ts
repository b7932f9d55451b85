// SPDX-License-Identifier: GPL-2.0-only
/**
 * The generic KVM objects (`include/linux/kvm_host.h`): `struct kvm`,
 * `struct kvm_vcpu`, `struct kvm_memory_slot`, and the per-VM memory
 * attributes, shared by `virt/kvm/` and `arch/x86/kvm/`. Keeping them here,
 * as the kernel does, lets the generic and the arch code import each other's
 * functions without import cycles at module load.
 *
 * @module
 */

import type { file } from "../../fs/file.ts";
import type { mm_struct, mmu_notifier } from "../../mm/mmap.ts";
import type { kvm_arch, kvm_vcpu_arch } from "../../arch/x86/include/asm/kvm_host.ts";

/** `KVM_MAX_VCPUS` on x86 (what `KVM_CAP_MAX_VCPUS` reports). */
export const KVM_MAX_VCPUS = 4096;
/** `KVM_VCPU_ID_RATIO`: vCPU ids may be sparse, up to this many per vCPU. */
export const KVM_VCPU_ID_RATIO = 4;
/** `KVM_MAX_VCPU_IDS` on x86. */
export const KVM_MAX_VCPU_IDS: number = KVM_MAX_VCPUS * KVM_VCPU_ID_RATIO;
/** `KVM_MEM_SLOTS_NUM` (`SHRT_MAX`): slot ids per address space. */
export const KVM_MEM_SLOTS_NUM = 32767;
/** `KVM_INTERNAL_MEM_SLOTS` on x86 (TSS, identity map, APIC access page). */
export const KVM_INTERNAL_MEM_SLOTS = 3;
/** `KVM_USER_MEM_SLOTS`: what `KVM_CAP_NR_MEMSLOTS` reports. */
export const KVM_USER_MEM_SLOTS: number = KVM_MEM_SLOTS_NUM - KVM_INTERNAL_MEM_SLOTS;
/** `KVM_MAX_NR_ADDRESS_SPACES` on x86 (normal and SMM). */
export const KVM_MAX_NR_ADDRESS_SPACES = 2;
/** `KVM_MEM_MAX_NR_PAGES`: a slot's pages must fit the dirty bitmap's `unsigned int` index. */
export const KVM_MEM_MAX_NR_PAGES: number = 2 ** 31 - 1;

/** `struct kvm_memory_slot`. Frame numbers and addresses are numbers (below 2^52). */
export interface kvm_memory_slot {
  /** Slot id within its address space. */
  id: number;
  /** Address space (0 normal, 1 SMM). */
  as_id: number;
  /** First guest frame. */
  base_gfn: number;
  /** Pages. */
  npages: number;
  /** `KVM_MEM_*` flags. */
  flags: number;
  /** The user address backing the slot's shared memory. */
  userspace_addr: number;
  /** The guest_memfd binding (`slot->gmem`), or null. */
  gmem: { file: file | null; pgoff: number } | null;
  /**
   * `dirty_bitmap`: one bit per page while `KVM_MEM_LOG_DIRTY_PAGES` is set,
   * in 32-bit words over a `SharedArrayBuffer` that vCPU threads set bits in
   * (virt/kvm/dirty_log.ts); absent or null when the slot is not logged.
   */
  dirty_bitmap?: Int32Array | null;
  /**
   * With a dirty ring instead of bitmaps: which pages are writable (bit
   * set) until their ring entry is reset, i.e. what KVM keeps in the SPTEs'
   * W bit (virt/kvm/dirty_ring.ts); absent or null when not logged.
   */
  dirty_ring_wp?: Int32Array | null;
}

/** `struct kvm_dirty_ring`: one vCPU's ring of `struct kvm_dirty_gfn`. */
export interface kvm_dirty_ring {
  /** The vCPU id (`index`). */
  readonly index: number;
  /** The entries, shared with userspace by mmap of the vCPU fd. */
  readonly buffer: SharedArrayBuffer;
  /** `buffer` as 32-bit words (an entry's `flags` is word 0 of its four). */
  readonly words: Int32Array;
  /** `buffer` as a DataView. */
  readonly dv: DataView;
  /** Entries (a power of two). */
  readonly size: number;
  /** Entries in use at which the ring is soft-full. */
  readonly soft_limit: number;
  /** Entries pushed (u32, wraps). */
  dirty_index: number;
  /** Entries reset (u32, wraps). */
  reset_index: number;
  /** `KVM_REQ_DIRTY_RING_SOFT_FULL` is pending. */
  soft_full_request: boolean;
}

/**
 * Per-page attributes of a VM (`kvm->mem_attr_array`), stored as sorted,
 * disjoint, non-empty `[start, end)` frame ranges with a non-zero value, so a
 * 64 GiB private range costs one entry.
 */
export class kvm_mem_attrs {
  /** The ranges. */
  readonly ranges: { start: number; end: number; attrs: bigint }[] = [];
  /** Bumped by every {@linkcode set}: who acted on the attributes knows whether they changed since. */
  version = 0;

  /** The attributes of `gfn` (`kvm_get_memory_attributes()`). */
  get(gfn: number): bigint {
    for (const r of this.ranges) {
      if (gfn < r.start) break;
      if (gfn < r.end) return r.attrs;
    }
    return 0n;
  }

  /** Sets `[start, end)` to `attrs` (`kvm_vm_set_mem_attributes()`). */
  set(start: number, end: number, attrs: bigint): void {
    const out: { start: number; end: number; attrs: bigint }[] = [];
    for (const r of this.ranges) {
      if (r.end <= start || r.start >= end) {
        out.push(r);
        continue;
      }
      if (r.start < start) out.push({ start: r.start, end: start, attrs: r.attrs });
      if (r.end > end) out.push({ start: end, end: r.end, attrs: r.attrs });
    }
    if (attrs !== 0n) out.push({ start, end, attrs });
    out.sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number; attrs: bigint }[] = [];
    for (const r of out) {
      const last = merged[merged.length - 1];
      if (last && last.end === r.start && last.attrs === r.attrs) last.end = r.end;
      else merged.push({ ...r });
    }
    this.ranges.splice(0, this.ranges.length, ...merged);
    this.version++;
  }
}

/** `struct kvm`: one VM. */
export interface kvm {
  /** The VM type (`KVM_X86_*_VM`), as passed to KVM_CREATE_VM. */
  readonly vm_type: number;
  /** `users_count`: the VM fd, each vCPU fd and each guest_memfd hold one. */
  users_count: number;
  /** The address space of the process that created the VM (`kvm->mm`). */
  readonly mm: mm_struct;
  /** `kvm->mmu_notifier`: how `mm` tells the VM that memory behind its memslots went away. */
  readonly mmu_notifier: mmu_notifier;
  /** vCPUs by index (`vcpu_array`). */
  readonly vcpus: kvm_vcpu[];
  /** vCPUs created, counting ones still being set up (`created_vcpus`). */
  created_vcpus: number;
  /** The limit on `created_vcpus` (`max_vcpus`). */
  max_vcpus: number;
  /** Memslots by id, one map per address space. */
  readonly memslots: Map<number, kvm_memory_slot>[];
  /** Pages in all memslots (`nr_memslot_pages`). */
  nr_memslot_pages: number;
  /** Memory attributes (only VMs with private memory can set any). */
  readonly mem_attrs: kvm_mem_attrs;
  /** Bumped on every memslot or attribute change, so vCPUs refresh their memory map. */
  generation: number;
  /** Set when the VM is killed (`vm_dead`): most ioctls then fail with EIO. */
  vm_dead: boolean;
  /**
   * `manual_dirty_log_protect`: the `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`
   * options enabled (`KVM_DIRTY_LOG_*`); absent means 0.
   */
  manual_dirty_log_protect?: number;
  /** `dirty_ring_size`: bytes of each vCPU's dirty ring; absent or 0 without a ring. */
  dirty_ring_size?: number;
  /** The architecture part. */
  readonly arch: kvm_arch;
}

/** `struct kvm_vcpu`. */
export interface kvm_vcpu {
  /** The VM. */
  readonly kvm: kvm;
  /** The id userspace chose (the APIC id). */
  readonly vcpu_id: number;
  /** The creation index (`vcpu_idx`). */
  readonly vcpu_idx: number;
  /** The `kvm_run` pages (`KVM_GET_VCPU_MMAP_SIZE` bytes), shared with userspace by mmap. */
  readonly run_buffer: SharedArrayBuffer;
  /** A DataView over `run_buffer`. */
  readonly run: DataView;
  /** Whether KVM_RUN has run once (`kvm_vcpu_has_run()`). */
  has_run: boolean;
  /** True while a KVM_RUN is in progress (the vCPU mutex is held). */
  running: boolean;
  /** `dirty_ring`: the vCPU's dirty ring, when the VM enabled one. */
  dirty_ring?: kvm_dirty_ring | null;
  /** The architecture part. */
  readonly arch: kvm_vcpu_arch;
}
