// SPDX-License-Identifier: GPL-2.0-only
/**
 * Dirty page logging of generic KVM (`virt/kvm/kvm_main.c`, read at
 * kvm-x86/linux 0f7e60a5f42a): the per-memslot dirty bitmap that
 * `KVM_MEM_LOG_DIRTY_PAGES` creates, `KVM_GET_DIRTY_LOG`
 * (`kvm_get_dirty_log_protect()`), `KVM_CLEAR_DIRTY_LOG`
 * (`kvm_clear_dirty_log_protect()`) and `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`.
 *
 * The bitmap is shared memory: vCPU threads set a page's bit when the CPU
 * lets a write through (sim/cpu/mmu.ts), as KVM's write-protection fault
 * handler does through `mark_page_dirty_in_slot()`. The kernel side takes
 * bits with atomic exchange / and-not, as the kernel does, so a write racing
 * with KVM_GET_DIRTY_LOG is reported now or by the next call, never lost.
 * "Write-protecting" a page is clearing its bit and flushing the vCPUs'
 * TLBs: the CPU caches a logged page writable only while its bit is set.
 *
 * With a dirty ring (`KVM_CAP_DIRTY_LOG_RING`, dirty_ring.ts) there are no
 * bitmaps: logged slots track write protection for the ring instead, and
 * both ioctls fail with ENXIO (`kvm_use_dirty_bitmap()`).
 *
 * @module
 */

import { EFAULT, EINVAL, ENOENT, ENOMEM, ENXIO } from "../../../../include/linux/errno.ts";
import {
  kvm_clear_dirty_log,
  kvm_dirty_log,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_MEM_LOG_DIRTY_PAGES,
} from "../../../../include/linux/kvm.ts";
import { alloc_fails } from "../../../fault_inject.ts";
import { current } from "../../include/linux/sched.ts";
import {
  type kvm,
  type kvm_memory_slot,
  KVM_USER_MEM_SLOTS,
} from "../../include/linux/kvm_host.ts";
import { kvm_flush_remote_tlbs } from "../../arch/x86/kvm/vmx/vmx.ts";
import { kvm_arch_nr_memslot_as_ids } from "./kvm_main.ts";

/** `KVM_DIRTY_LOG_MANUAL_CAPS` on x86: both options of the capability. */
export const KVM_DIRTY_LOG_MANUAL_CAPS: number = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
  KVM_DIRTY_LOG_INITIALLY_SET;

const BITS_PER_LONG = 64;

/** `kvm_dirty_bitmap_bytes()`: the bitmap rounded up to whole 64-bit longs. */
export function kvm_dirty_bitmap_bytes(memslot: kvm_memory_slot): number {
  return Math.ceil(memslot.npages / BITS_PER_LONG) * (BITS_PER_LONG / 8);
}

/** `kvm_use_dirty_bitmap()`: bitmaps unless the VM has a dirty ring (x86 has no ring-with-bitmap). */
export function kvm_use_dirty_bitmap(k: kvm): boolean {
  return !k.dirty_ring_size;
}

/** `kvm_dirty_log_manual_protect_and_init_set()`. */
export function kvm_dirty_log_manual_protect_and_init_set(k: kvm): boolean {
  return ((k.manual_dirty_log_protect ?? 0) & KVM_DIRTY_LOG_INITIALLY_SET) !== 0;
}

/**
 * The dirty-bitmap part of `kvm_prepare_memory_region()` for a created,
 * moved or flags-changed slot: no logging, no bitmap; logging in both old
 * and new, the old bitmap carries over; logging turned on, a new bitmap,
 * all set when the VM enabled `KVM_DIRTY_LOG_INITIALLY_SET`. With a dirty
 * ring there is no bitmap; the slot's pages start write-protected for the
 * ring instead (`dirty_ring_wp`, as `kvm_mmu_slot_apply_flags()` protects
 * them when logging is turned on).
 *
 * @returns 0 or -ENOMEM
 */
export function kvm_prepare_dirty_bitmap(
  k: kvm,
  old: kvm_memory_slot | undefined,
  slot: kvm_memory_slot,
): number {
  if (!(slot.flags & KVM_MEM_LOG_DIRTY_PAGES)) {
    slot.dirty_bitmap = null;
    slot.dirty_ring_wp = null;
  } else if (old?.dirty_bitmap) {
    slot.dirty_bitmap = old.dirty_bitmap;
  } else if (old?.dirty_ring_wp) {
    slot.dirty_ring_wp = old.dirty_ring_wp;
  } else if (!kvm_use_dirty_bitmap(k)) {
    slot.dirty_ring_wp = new Int32Array(new SharedArrayBuffer(kvm_dirty_bitmap_bytes(slot)));
  } else {
    // kvm_alloc_dirty_bitmap(): the kernel allocates a second bitmap for
    // the copies to and from userspace; a scratch array plays that part here.
    if (alloc_fails("dirty_bitmap")) return -ENOMEM;
    const bitmap = new Int32Array(new SharedArrayBuffer(kvm_dirty_bitmap_bytes(slot)));
    if (kvm_dirty_log_manual_protect_and_init_set(k)) bitmap_set(bitmap, 0, slot.npages);
    slot.dirty_bitmap = bitmap;
  }
  return 0;
}

function bitmap_set(bitmap: Int32Array, start: number, n: number): void {
  for (let i = start; i < start + n; i++) bitmap[i >>> 5]! |= 1 << (i & 31);
}

/** `kvm_vm_ioctl_check_extension_generic()`'s answer for `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`. */
export function kvm_check_manual_dirty_log_protect(): number {
  return KVM_DIRTY_LOG_MANUAL_CAPS;
}

/**
 * `KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2)` in
 * `kvm_vm_ioctl_enable_cap_generic()`: INITIALLY_SET only together with
 * ENABLE, no flags; the options replace the previous ones.
 */
export function kvm_enable_manual_dirty_log_protect(k: kvm, flags: number, arg0: bigint): number {
  let allowed = BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
  if (arg0 & BigInt(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
    allowed = BigInt(KVM_DIRTY_LOG_MANUAL_CAPS);
  }
  if (flags || (arg0 & ~allowed)) return -EINVAL;
  k.manual_dirty_log_protect = Number(arg0);
  return 0;
}

// Copies of the ioctl arguments (the kernel's on-stack struct) and of the
// user bitmap (the kernel's second bitmap).
const arg_buf = new ArrayBuffer(kvm_clear_dirty_log.size);
const arg_u8 = new Uint8Array(arg_buf);
const log_v = kvm_dirty_log.view(arg_buf);
const clear_v = kvm_clear_dirty_log.view(arg_buf);
let buffer = new Int32Array(0);

function second_bitmap(bytes: number): Int32Array {
  if (buffer.byteLength < bytes) buffer = new Int32Array(Math.ceil(bytes / 4));
  return buffer;
}

function id_to_dirty_memslot(k: kvm, slot: number): kvm_memory_slot | number {
  const as_id = slot >>> 16;
  const id = slot & 0xffff;
  if (as_id >= kvm_arch_nr_memslot_as_ids(k) || id >= KVM_USER_MEM_SLOTS) return -EINVAL;
  return k.memslots[as_id]!.get(id) ?? -ENOENT;
}

/**
 * `kvm_get_dirty_log_protect()`: the slot's bitmap to userspace. Without
 * manual protection each word is taken (exchanged with 0) and the pages it
 * names are write-protected again (TLB flush); with it the bitmap is copied
 * as it is and nothing is protected until KVM_CLEAR_DIRTY_LOG.
 */
export function kvm_get_dirty_log_protect(k: kvm, slot_arg: number, user_bitmap: bigint): number {
  if (!kvm_use_dirty_bitmap(k)) return -ENXIO;
  const memslot = id_to_dirty_memslot(k, slot_arg);
  if (typeof memslot === "number") return memslot;
  const dirty_bitmap = memslot.dirty_bitmap;
  if (!dirty_bitmap) return -ENOENT;
  const n = kvm_dirty_bitmap_bytes(memslot);
  let out: Int32Array;
  let flush = false;
  if (k.manual_dirty_log_protect) {
    out = dirty_bitmap;
  } else {
    out = second_bitmap(n);
    for (let i = 0; i < n / 4; i++) {
      if (Atomics.load(dirty_bitmap, i) === 0) {
        out[i] = 0;
        continue;
      }
      flush = true;
      out[i] = Atomics.exchange(dirty_bitmap, i, 0);
    }
  }
  if (flush) kvm_flush_remote_tlbs(k);
  const bytes = new Uint8Array(out.buffer, out.byteOffset, n);
  return current.mm.copy_to_user(user_bitmap, bytes, n) ? -EFAULT : 0;
}

/**
 * `kvm_clear_dirty_log_protect()`: clears the bits userspace names in
 * `[first_page, first_page + num_pages)` and re-protects the pages whose bit
 * was really set. The checks and their order are the kernel's: slot id,
 * `first_page` a multiple of 64, the slot exists and is logged, the range
 * inside the slot with `num_pages` a multiple of 64 unless it reaches the
 * slot's end; then the user bitmap is read (EFAULT).
 */
export function kvm_clear_dirty_log_protect(
  k: kvm,
  slot_arg: number,
  num_pages: number,
  first_page: bigint,
  user_bitmap: bigint,
): number {
  if (!kvm_use_dirty_bitmap(k)) return -ENXIO;
  const as_id = slot_arg >>> 16;
  const id = slot_arg & 0xffff;
  if (as_id >= kvm_arch_nr_memslot_as_ids(k) || id >= KVM_USER_MEM_SLOTS) return -EINVAL;
  if (first_page & 63n) return -EINVAL;
  const memslot = k.memslots[as_id]!.get(id);
  if (!memslot || !memslot.dirty_bitmap) return -ENOENT;
  const dirty_bitmap = memslot.dirty_bitmap;
  const n = Math.ceil(num_pages / BITS_PER_LONG) * (BITS_PER_LONG / 8);
  const npages = BigInt(memslot.npages);
  if (
    first_page > npages || BigInt(num_pages) > npages - first_page ||
    (BigInt(num_pages) < npages - first_page && (num_pages & 63))
  ) {
    return -EINVAL;
  }
  const buf = second_bitmap(n);
  const bytes = new Uint8Array(buf.buffer, 0, n);
  if (current.mm.copy_from_user(bytes, user_bitmap, n)) return -EFAULT;
  let flush = false;
  // 64-bit longs are two 32-bit words here; first_page is a multiple of 64,
  // so word i of the user bitmap is word first_page / 32 + i of the slot's.
  const base = Number(first_page) / 32;
  for (let i = 0; i < n / 4; i++) {
    const mask = buf[i]!;
    if (!mask) continue;
    // atomic_long_fetch_andnot(): the bits really cleared are the ones that
    // were set (bits past the slot's end are never set, whatever the user
    // passed).
    const was = Atomics.and(dirty_bitmap, base + i, ~mask);
    if (mask & was) flush = true;
  }
  if (flush) kvm_flush_remote_tlbs(k);
  return 0;
}

/** `KVM_GET_DIRTY_LOG` (`kvm_vm_ioctl_get_dirty_log()`): copies the argument, then the log. */
export function kvm_vm_ioctl_get_dirty_log(k: kvm, arg: bigint): number {
  if (current.mm.copy_from_user(arg_u8, arg, kvm_dirty_log.size)) return -EFAULT;
  return kvm_get_dirty_log_protect(k, log_v.slot, log_v.dirty_bitmap);
}

/** `KVM_CLEAR_DIRTY_LOG` (`kvm_vm_ioctl_clear_dirty_log()`). */
export function kvm_vm_ioctl_clear_dirty_log(k: kvm, arg: bigint): number {
  if (current.mm.copy_from_user(arg_u8, arg, kvm_clear_dirty_log.size)) return -EFAULT;
  return kvm_clear_dirty_log_protect(
    k,
    clear_v.slot,
    clear_v.num_pages,
    clear_v.first_page,
    clear_v.dirty_bitmap,
  );
}
