// SPDX-License-Identifier: GPL-2.0-only
/**
 * Generic KVM (`virt/kvm/kvm_main.c`): `/dev/kvm`, VM creation and
 * destruction, vCPU creation, memslots, memory attributes, capability checks
 * common to all architectures, and the ioctl dispatchers of the three file
 * types (`/dev/kvm`, VM, vCPU). x86 specifics live in `arch/x86/kvm/x86.ts`.
 *
 * Each dispatcher is a `switch` on the ioctl number and copies its argument
 * into a preallocated scratch buffer, so a call allocates nothing on the hot
 * path and a bad pointer fails with EFAULT before anything changes, as
 * `copy_from_user()` makes it fail in the kernel.
 *
 * @module
 */

import { block_list } from "../../../../include/linux/block_list.ts";
import { kvm_set_msi } from "../../arch/x86/kvm/irq_comm.ts";
import { kvm_vcpu_ioctl_get_stats_fd, kvm_vm_ioctl_get_stats_fd } from "./binary_stats.ts";
import {
  kvm_vcpu_mmap_backing,
  kvm_vm_ioctl_register_coalesced_mmio,
  kvm_vm_ioctl_unregister_coalesced_mmio,
} from "./coalesced_mmio.ts";
import { KVM_MAX_IRQ_ROUTES, kvm_vm_ioctl_set_gsi_routing } from "./irqchip.ts";
import { kvm_vm_ioctl_irqfd } from "./eventfd.ts";
import {
  KVM_CAP_IRQ_ROUTING,
  KVM_CAP_IRQFD,
  KVM_CAP_IRQFD_RESAMPLE,
  KVM_IRQFD,
  KVM_SET_GSI_ROUTING,
} from "../../../../include/linux/kvm.ts";
import { alloc_fails } from "../../../fault_inject.ts";
import { EEXIST, EFAULT, EINVAL, EIO, ENOMEM } from "../../../../include/linux/errno.ts";
import { _IOC_TYPE } from "../../../../include/linux/ioctl.ts";
import {
  KVM_API_VERSION,
  KVM_CAP_BINARY_STATS_FD,
  KVM_CAP_CHECK_EXTENSION_VM,
  KVM_CAP_COALESCED_MMIO,
  KVM_CAP_COALESCED_PIO,
  KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
  KVM_CAP_DIRTY_LOG_RING,
  KVM_CAP_DIRTY_LOG_RING_ACQ_REL,
  KVM_CAP_ENABLE_CAP_VM,
  KVM_CAP_GUEST_MEMFD,
  KVM_CAP_GUEST_MEMFD_FLAGS,
  KVM_CAP_INTERNAL_ERROR_DATA,
  KVM_CAP_JOIN_MEMORY_REGIONS_WORKS,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CAP_MEMORY_ATTRIBUTES,
  KVM_CAP_MULTI_ADDRESS_SPACE,
  KVM_CAP_NR_MEMSLOTS,
  KVM_CAP_SYSTEM_EVENT_DATA,
  KVM_CAP_USER_MEMORY,
  KVM_CAP_USER_MEMORY2,
  KVM_CHECK_EXTENSION,
  KVM_CLEAR_DIRTY_LOG,
  KVM_COALESCED_MMIO_PAGE_OFFSET,
  kvm_coalesced_mmio_zone,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_GET_API_VERSION,
  KVM_GET_DIRTY_LOG,
  KVM_GET_FPU,
  KVM_GET_MP_STATE,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_STATS_FD,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  kvm_msi,
  KVM_MSI_VALID_DEVID,
  KVM_PRE_FAULT_MEMORY,
  kvm_pre_fault_memory,
  KVM_REGISTER_COALESCED_MMIO,
  KVM_RESET_DIRTY_RINGS,
  KVM_RUN,
  KVM_SET_FPU,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_MP_STATE,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  KVM_SIGNAL_MSI,
  KVM_UNREGISTER_COALESCED_MMIO,
  kvm_userspace_memory_region,
  kvm_userspace_memory_region2,
  KVMIO,
} from "../../../../include/linux/kvm.ts";
import { O_RDWR } from "../../../../include/linux/fcntl.ts";
import { file, type file_operations } from "../../fs/file.ts";
import {
  access_ok,
  PAGE_ALIGNED,
  PAGE_SHIFT,
  PAGE_SIZE,
  type vm_area_struct,
  VM_EXEC,
  VM_SHARED,
} from "../../mm/mmap.ts";
import { current } from "../../include/linux/sched.ts";
import {
  type kvm,
  KVM_MAX_NR_ADDRESS_SPACES,
  KVM_MAX_VCPU_IDS,
  kvm_mem_attrs,
  KVM_MEM_MAX_NR_PAGES,
  KVM_MEM_SLOTS_NUM,
  type kvm_memory_slot,
  KVM_USER_MEM_SLOTS,
  type kvm_vcpu,
} from "../../include/linux/kvm_host.ts";
import {
  kvm_gmem_bind,
  kvm_gmem_create,
  kvm_gmem_get_supported_flags,
  kvm_gmem_unbind,
} from "./guest_memfd.ts";
import {
  kvm_arch_destroy_vm,
  kvm_arch_dev_ioctl,
  kvm_arch_init_vm,
  kvm_arch_prepare_memory_region,
  kvm_arch_vcpu_async_ioctl_run,
  kvm_arch_vcpu_create,
  kvm_arch_vcpu_destroy,
  kvm_arch_vcpu_ioctl,
  kvm_arch_vcpu_ioctl_get_fpu,
  kvm_arch_vcpu_ioctl_get_mpstate,
  kvm_arch_vcpu_ioctl_get_regs,
  kvm_arch_vcpu_ioctl_get_sregs,
  kvm_arch_vcpu_ioctl_run,
  kvm_arch_vcpu_ioctl_set_fpu,
  kvm_arch_vcpu_ioctl_set_mpstate,
  kvm_arch_vcpu_ioctl_set_regs,
  kvm_arch_vcpu_ioctl_set_sregs,
  kvm_arch_vcpu_precreate,
  kvm_arch_vm_ioctl,
  kvm_vm_ioctl_check_extension,
  kvm_vm_ioctl_enable_cap,
  kvm_x86_vm_init,
} from "../../arch/x86/kvm/x86.ts";
import { kvm_arch_memslots_updated } from "../../arch/x86/kvm/vmx/vmx.ts";
import { kvm_arch_vcpu_pre_fault_memory } from "../../arch/x86/kvm/mmu/mmu.ts";
import {
  kvm_check_manual_dirty_log_protect,
  kvm_enable_manual_dirty_log_protect,
  kvm_prepare_dirty_bitmap,
  kvm_vm_ioctl_clear_dirty_log,
  kvm_vm_ioctl_get_dirty_log,
} from "./dirty_log.ts";
import {
  kvm_dirty_ring_alloc,
  kvm_dirty_ring_max_bytes,
  kvm_page_in_dirty_ring,
  kvm_vcpu_ring_backing,
  kvm_vm_ioctl_enable_dirty_log_ring,
  kvm_vm_ioctl_reset_dirty_pages,
} from "./dirty_ring.ts";

/**
 * `KVM_GET_VCPU_MMAP_SIZE` on x86: three pages, `kvm_run` at offset 0, then
 * the port-I/O buffer (`KVM_PIO_PAGE_OFFSET`) and the coalesced-MMIO ring
 * (`KVM_COALESCED_MMIO_PAGE_OFFSET`).
 */
export const KVM_VCPU_MMAP_SIZE: number = 3 * PAGE_SIZE;

/** `KVM_SET_USER_MEMORY_REGION_V1_FLAGS`: what the v1 ioctl may carry. */
const KVM_SET_USER_MEMORY_REGION_V1_FLAGS = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY;

// Scratch space for ioctl arguments: one copy per call, no allocation.
const scratch = new ArrayBuffer(4096);
const scratch_u8 = new Uint8Array(scratch);
const mem2 = kvm_userspace_memory_region2.view(scratch);
const attrs_v = kvm_memory_attributes.view(scratch);
const gmem_v = kvm_create_guest_memfd.view(scratch);
const cap_v = kvm_enable_cap.view(scratch);
const msi_v = kvm_msi.view(scratch);
const prefault_v = kvm_pre_fault_memory.view(scratch);
const zone_v = kvm_coalesced_mmio_zone.view(scratch);

function copy_arg(arg: bigint, size: number): number {
  return current.mm.copy_from_user(scratch_u8, arg, size);
}

// ---------------------------------------------------------------------------
// VM lifetime

/** `kvm_get_kvm()`. */
export function kvm_get_kvm(k: kvm): void {
  k.users_count++;
}

/** `kvm_put_kvm()`: the last reference destroys the VM and its vCPUs. */
export function kvm_put_kvm(k: kvm): void {
  if (--k.users_count === 0) kvm_destroy_vm(k);
}

function kvm_destroy_vm(k: kvm): void {
  k.mm.mmu_notifier_unregister(k.mmu_notifier);
  for (const v of k.vcpus) kvm_arch_vcpu_destroy(v);
  k.vcpus.length = 0;
  for (const slots of k.memslots) {
    for (const s of slots.values()) if (s.gmem) kvm_gmem_unbind(s);
    slots.clear();
  }
  kvm_arch_destroy_vm(k);
  vm_list.delete(k);
}

/** Every VM alive, for diagnostics (`vm_list`). */
export const vm_list: Set<kvm> = new Set();

// ---------------------------------------------------------------------------
// Capabilities

/** `kvm_supported_mem_attributes()`: PRIVATE where memory can be private. */
export function kvm_supported_mem_attributes(k: kvm | null): bigint {
  return !k || k.arch.has_private_mem ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n;
}

/** `kvm_arch_nr_memslot_as_ids()`: VMs with private memory have no SMM address space. */
export function kvm_arch_nr_memslot_as_ids(k: kvm): number {
  return k.arch.has_private_mem ? 1 : 2;
}

/** `kvm_vm_ioctl_check_extension_generic()`: `k` is null on `/dev/kvm`. */
export function kvm_vm_ioctl_check_extension_generic(k: kvm | null, arg: bigint): number {
  if (arg > 0xffffffffn) return 0;
  switch (Number(arg)) {
    case KVM_CAP_USER_MEMORY:
    case KVM_CAP_USER_MEMORY2:
    case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
    case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
    case KVM_CAP_INTERNAL_ERROR_DATA:
    case KVM_CAP_CHECK_EXTENSION_VM:
    case KVM_CAP_ENABLE_CAP_VM:
    case KVM_CAP_SYSTEM_EVENT_DATA:
      return 1;
    case KVM_CAP_COALESCED_MMIO:
      return KVM_COALESCED_MMIO_PAGE_OFFSET;
    case KVM_CAP_COALESCED_PIO:
      return 1;
    case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
      return kvm_check_manual_dirty_log_protect();
    case KVM_CAP_DIRTY_LOG_RING:
    case KVM_CAP_DIRTY_LOG_RING_ACQ_REL:
      return kvm_dirty_ring_max_bytes();
    case KVM_CAP_MULTI_ADDRESS_SPACE:
      return k ? kvm_arch_nr_memslot_as_ids(k) : KVM_MAX_NR_ADDRESS_SPACES;
    case KVM_CAP_NR_MEMSLOTS:
      return KVM_USER_MEM_SLOTS;
    case KVM_CAP_BINARY_STATS_FD:
      return 1;
    case KVM_CAP_MEMORY_ATTRIBUTES:
      return Number(kvm_supported_mem_attributes(k));
    case KVM_CAP_GUEST_MEMFD:
      return 1;
    case KVM_CAP_IRQFD:
    case KVM_CAP_IRQFD_RESAMPLE:
      return 1;
    case KVM_CAP_IRQ_ROUTING:
      return KVM_MAX_IRQ_ROUTES;
    case KVM_CAP_GUEST_MEMFD_FLAGS:
      return Number(kvm_gmem_get_supported_flags(k));
  }
  return kvm_vm_ioctl_check_extension(k, Number(arg));
}

// ---------------------------------------------------------------------------
// /dev/kvm

function kvm_dev_ioctl_create_vm(type: bigint): number {
  // kvm_create_vm(): the struct kvm is allocated before the type is checked.
  if (alloc_fails("kvm")) return -ENOMEM;
  const arch = kvm_arch_init_vm(type);
  if (typeof arch === "number") return arch;
  const k: kvm = {
    vm_type: arch.vm_type,
    users_count: 1,
    mm: current.mm,
    mmu_notifier: {
      invalidate_range_start: (start, end) =>
        kvm_mmu_notifier_invalidate_range_start(k, start, end),
    },
    vcpus: [],
    created_vcpus: 0,
    max_vcpus: 4096,
    memslots: [new Map(), new Map()],
    nr_memslot_pages: 0,
    mem_attrs: new kvm_mem_attrs(),
    generation: 0,
    vm_dead: false,
    arch,
  };
  kvm_x86_vm_init(k);
  const filp = new file(kvm_vm_fops, k, O_RDWR);
  const fd = current.files.fd_install(filp);
  if (fd < 0) {
    kvm_arch_destroy_vm(k);
    return fd;
  }
  k.mm.mmu_notifier_register(k.mmu_notifier);
  vm_list.add(k);
  return fd;
}

/**
 * `kvm_mmu_notifier_invalidate_range_start()`: host memory behind a memslot
 * is being unmapped. The stage-2 translations of every memslot whose
 * userspace range intersects `[start, end)` are dropped (a new map
 * generation, pushed at once to vCPUs in guest mode), so the guest's next
 * access to them faults in again: with nothing mapped there KVM_RUN fails
 * with EFAULT and `KVM_EXIT_MEMORY_FAULT`, where the old map would have let
 * the guest keep using memory the process no longer has.
 */
function kvm_mmu_notifier_invalidate_range_start(k: kvm, start: number, end: number): void {
  if (!k.memslots.some((slots) => hva_tree_intersects(slots, start, end))) return;
  k.generation++;
  kvm_arch_memslots_updated(k);
}

/**
 * The `/dev/kvm` requests `kvm_dev_ioctl()` answers itself; the rest go to
 * `kvm_arch_dev_ioctl()` ({@linkcode kvm_arch_dev_ioctl_requests}). Every
 * answered request has a row in docs/fidelity.md (checked by a test).
 */
export const kvm_dev_ioctl_requests: readonly number[] = [
  KVM_GET_API_VERSION,
  KVM_CREATE_VM,
  KVM_CHECK_EXTENSION,
  KVM_GET_VCPU_MMAP_SIZE,
];

function kvm_dev_ioctl(_filp: file, cmd: number, arg: bigint): number {
  switch (cmd) {
    case KVM_GET_API_VERSION:
      return arg ? -EINVAL : KVM_API_VERSION;
    case KVM_CREATE_VM:
      return kvm_dev_ioctl_create_vm(arg);
    case KVM_CHECK_EXTENSION:
      return kvm_vm_ioctl_check_extension_generic(null, arg);
    case KVM_GET_VCPU_MMAP_SIZE:
      return arg ? -EINVAL : KVM_VCPU_MMAP_SIZE;
    default:
      return kvm_arch_dev_ioctl(cmd, arg);
  }
}

/** The file operations of `/dev/kvm` (`kvm_chardev_ops`). */
export const kvm_chardev_ops: file_operations = {
  name: "/dev/kvm",
  unlocked_ioctl: kvm_dev_ioctl,
};

// ---------------------------------------------------------------------------
// Memslots

/** `check_memory_region_flags()`. */
function check_memory_region_flags(k: kvm, flags: number): number {
  // guest_memfd backs memory of every x86 VM type in the newest kernels.
  let valid_flags = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_GUEST_MEMFD;
  // KVM tracks no dirty bits for guest_memfd-backed slots, so the two flags
  // exclude each other.
  if (flags & KVM_MEM_GUEST_MEMFD) valid_flags &= ~KVM_MEM_LOG_DIRTY_PAGES;
  // A write to a read-only slot exits as MMIO and is emulated; private memory
  // has no MMIO emulation, so READONLY and GUEST_MEMFD exclude each other.
  if (!k.arch.has_protected_state && !(flags & KVM_MEM_GUEST_MEMFD)) {
    valid_flags |= KVM_MEM_READONLY;
  }
  return flags & ~valid_flags ? -EINVAL : 0;
}

// Each address space's memslots sorted by base_gfn, the order KVM's gfn tree
// keeps: a slot lookup or an overlap check is a binary search, not a scan of
// up to KVM_USER_MEM_SLOTS slots. Slots of one address space never overlap,
// so their ends are sorted too.
const gfn_trees = new WeakMap<Map<number, kvm_memory_slot>, block_list<kvm_memory_slot>>();

function gfn_tree(slots: Map<number, kvm_memory_slot>): block_list<kvm_memory_slot> {
  let t = gfn_trees.get(slots);
  if (!t) {
    t = new block_list();
    for (const s of [...slots.values()].sort((a, b) => a.base_gfn - b.base_gfn)) {
      t.insert(t.length, s);
    }
    gfn_trees.set(slots, t);
  }
  return t;
}

/** Index of the first slot of `t` that ends above `gfn`. */
function gfn_tree_index(t: block_list<kvm_memory_slot>, gfn: number): number {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const m = t.get(mid)!;
    if (m.base_gfn + m.npages <= gfn) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function gfn_tree_remove(slots: Map<number, kvm_memory_slot>, slot: kvm_memory_slot): void {
  const t = gfn_tree(slots);
  for (let i = Math.max(0, gfn_tree_index(t, slot.base_gfn) - 1); i < t.length; i++) {
    if (t.get(i) === slot) {
      t.remove(i);
      return;
    }
  }
}

function gfn_tree_insert(slots: Map<number, kvm_memory_slot>, slot: kvm_memory_slot): void {
  const t = gfn_tree(slots);
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.get(mid)!.base_gfn <= slot.base_gfn) lo = mid + 1;
    else hi = mid;
  }
  t.insert(lo, slot);
}

/**
 * `slots->hva_tree`: the memslots by `userspace_addr`, for the MMU notifier
 * to find those a range of the address space backs without visiting every
 * one (tearing down a VM of 32,764 memslots unmaps each slot's memory). Slots
 * may share or overlap userspace ranges; `max_bytes` bounds how far below a
 * range a slot that reaches into it can start.
 */
interface hva_tree_t {
  readonly t: block_list<kvm_memory_slot>;
  max_bytes: number;
}

const hva_trees = new WeakMap<Map<number, kvm_memory_slot>, hva_tree_t>();

function hva_tree(slots: Map<number, kvm_memory_slot>): hva_tree_t {
  let h = hva_trees.get(slots);
  if (!h) {
    h = { t: new block_list(), max_bytes: 0 };
    const sorted = [...slots.values()].sort((a, b) => a.userspace_addr - b.userspace_addr);
    for (const s of sorted) {
      h.t.insert(h.t.length, s);
      h.max_bytes = Math.max(h.max_bytes, s.npages * PAGE_SIZE);
    }
    hva_trees.set(slots, h);
  }
  return h;
}

/** Index of the first slot of `t` whose `userspace_addr` is `hva` or above. */
function hva_tree_index(t: block_list<kvm_memory_slot>, hva: number): number {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.get(mid)!.userspace_addr < hva) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hva_tree_insert(slots: Map<number, kvm_memory_slot>, slot: kvm_memory_slot): void {
  const h = hva_tree(slots);
  h.t.insert(hva_tree_index(h.t, slot.userspace_addr + 1), slot);
  h.max_bytes = Math.max(h.max_bytes, slot.npages * PAGE_SIZE);
}

function hva_tree_remove(slots: Map<number, kvm_memory_slot>, slot: kvm_memory_slot): void {
  const h = hva_tree(slots);
  for (let i = hva_tree_index(h.t, slot.userspace_addr); i < h.t.length; i++) {
    const m = h.t.get(i)!;
    if (m.userspace_addr !== slot.userspace_addr) return;
    if (m === slot) {
      h.t.remove(i);
      return;
    }
  }
}

/** `kvm_for_each_memslot_in_hva_range()` found one: some slot of `slots` is backed by `[start, end)`. */
function hva_tree_intersects(slots: Map<number, kvm_memory_slot>, start: number, end: number) {
  const h = hva_tree(slots);
  for (let i = hva_tree_index(h.t, end) - 1; i >= 0; i--) {
    const m = h.t.get(i)!;
    if (m.userspace_addr + h.max_bytes <= start) break;
    if (m.userspace_addr + m.npages * PAGE_SIZE > start) return true;
  }
  return false;
}

function kvm_check_memslot_overlap(k: kvm, as_id: number, id: number, start: number, end: number) {
  const t = gfn_tree(k.memslots[as_id]!);
  for (const m of t.from(gfn_tree_index(t, start))) {
    if (m.base_gfn >= end) break;
    if (m.id !== id) return true;
  }
  return false;
}

/** The memslot that contains `gfn` in address space 0 (`gfn_to_memslot()`). */
export function gfn_to_memslot(k: kvm, gfn: number): kvm_memory_slot | undefined {
  const t = gfn_tree(k.memslots[0]!);
  const s = t.get(gfn_tree_index(t, gfn));
  return s && gfn >= s.base_gfn ? s : undefined;
}

/**
 * `kvm_set_memory_region()`: creates, deletes, moves or changes the flags
 * of a memslot; the rules and their order are the kernel's.
 */
function kvm_set_memory_region(k: kvm, m: typeof mem2): number {
  const flags = m.flags;
  let r = check_memory_region_flags(k, flags);
  if (r) return r;
  const as_id = m.slot >>> 16;
  const id = m.slot & 0xffff;
  const size = m.memory_size;
  const gpa = m.guest_phys_addr;
  const hva = m.userspace_addr;
  if (!PAGE_ALIGNED(size)) return -EINVAL;
  if (!PAGE_ALIGNED(gpa)) return -EINVAL;
  // Guest memory is later reached through this user address, hence page
  // alignment and an access_ok() range; nothing needs to be mapped yet.
  if (!PAGE_ALIGNED(hva) || !access_ok(hva, size)) return -EINVAL;
  if (
    (flags & KVM_MEM_GUEST_MEMFD) &&
    (!PAGE_ALIGNED(m.guest_memfd_offset) ||
      BigInt.asUintN(64, m.guest_memfd_offset + size) < m.guest_memfd_offset)
  ) {
    return -EINVAL;
  }
  if (as_id >= kvm_arch_nr_memslot_as_ids(k) || id >= KVM_MEM_SLOTS_NUM) return -EINVAL;
  if (BigInt.asUintN(64, gpa + size) < gpa) return -EINVAL;
  if (id < KVM_USER_MEM_SLOTS && (size >> BigInt(PAGE_SHIFT)) > BigInt(KVM_MEM_MAX_NR_PAGES)) {
    return -EINVAL;
  }
  const slots = k.memslots[as_id]!;
  const old = slots.get(id);
  if (size === 0n) {
    if (!old || !old.npages) return -EINVAL;
    if (old.gmem) kvm_gmem_unbind(old);
    slots.delete(id);
    gfn_tree_remove(slots, old);
    hva_tree_remove(slots, old);
    k.nr_memslot_pages -= old.npages;
    k.generation++;
    kvm_arch_memslots_updated(k);
    return 0;
  }
  const base_gfn = Number(gpa >> BigInt(PAGE_SHIFT));
  const npages = Number(size >> BigInt(PAGE_SHIFT));
  let change: "create" | "move" | "flags";
  if (!old) {
    change = "create";
  } else {
    // A guest_memfd slot may be deleted but never moved or re-flagged. (The
    // kernel tests only the new flags; we also refuse an update that drops
    // the flag from such a slot, see docs/fidelity.md.)
    if ((flags | old.flags) & KVM_MEM_GUEST_MEMFD) return -EINVAL;
    if (Number(hva) !== old.userspace_addr || npages !== old.npages) return -EINVAL;
    if ((flags ^ old.flags) & KVM_MEM_READONLY) return -EINVAL;
    if (base_gfn !== old.base_gfn) change = "move";
    else if (flags !== old.flags) change = "flags";
    else return 0;
  }
  if (
    (change === "create" || change === "move") &&
    kvm_check_memslot_overlap(k, as_id, id, base_gfn, base_gfn + npages)
  ) {
    return -EEXIST;
  }
  // kvm_set_memory_region(): the new slot is allocated after every check.
  if (alloc_fails("memslot")) return -ENOMEM;
  const slot: kvm_memory_slot = {
    id,
    as_id,
    base_gfn,
    npages,
    flags,
    userspace_addr: Number(hva),
    gmem: null,
  };
  if (flags & KVM_MEM_GUEST_MEMFD) {
    r = kvm_gmem_bind(k, slot, m.guest_memfd, m.guest_memfd_offset);
    if (r) return r;
  }
  // kvm_prepare_memory_region(): the dirty bitmap before the arch checks.
  r = kvm_prepare_dirty_bitmap(k, old, slot);
  if (r) {
    if (slot.gmem) kvm_gmem_unbind(slot);
    return r;
  }
  // kvm_set_memslot() → kvm_prepare_memory_region(): the arch checks come
  // after the guest_memfd binding, which is undone if they fail.
  if (change === "create" || change === "move") {
    r = kvm_arch_prepare_memory_region(k, base_gfn, npages);
    if (r) {
      if (slot.gmem) kvm_gmem_unbind(slot);
      return r;
    }
  }
  if (old) {
    gfn_tree_remove(slots, old);
    hva_tree_remove(slots, old);
  }
  slots.set(id, slot);
  gfn_tree_insert(slots, slot);
  hva_tree_insert(slots, slot);
  if (change === "create") k.nr_memslot_pages += npages;
  k.generation++;
  kvm_arch_memslots_updated(k);
  return 0;
}

function kvm_vm_ioctl_set_memory_region(k: kvm, v2: boolean, arg: bigint): number {
  if (v2) {
    if (copy_arg(arg, kvm_userspace_memory_region2.size)) return -EFAULT;
  } else {
    // The v1 struct is shorter: the members only v2 has (guest_memfd, its offset) are 0.
    scratch_u8.fill(0, 0, kvm_userspace_memory_region2.size);
    if (copy_arg(arg, kvm_userspace_memory_region.size)) return -EFAULT;
    if (mem2.flags & ~KVM_SET_USER_MEMORY_REGION_V1_FLAGS) return -EINVAL;
  }
  if ((mem2.slot & 0xffff) >= KVM_USER_MEM_SLOTS) return -EINVAL;
  return kvm_set_memory_region(k, mem2);
}

/** `kvm_vm_ioctl_set_mem_attributes()`. */
function kvm_vm_ioctl_set_mem_attributes(k: kvm): number {
  const { address, size, attributes, flags } = attrs_v;
  if (flags) return -EINVAL;
  if (attributes & ~kvm_supported_mem_attributes(k)) return -EINVAL;
  if (size === 0n || BigInt.asUintN(64, address + size) < address) return -EINVAL;
  if (!PAGE_ALIGNED(address) || !PAGE_ALIGNED(size)) return -EINVAL;
  const start = Number(address >> BigInt(PAGE_SHIFT));
  const end = Number((address + size) >> BigInt(PAGE_SHIFT));
  k.mem_attrs.set(start, end, attributes);
  k.generation++;
  kvm_arch_memslots_updated(k);
  return 0;
}

// ---------------------------------------------------------------------------
// vCPUs

function kvm_vm_ioctl_create_vcpu(k: kvm, id: bigint): number {
  // The id is an unsigned long: -1 is huge, not negative.
  id = BigInt.asUintN(64, id);
  if (id >= BigInt(KVM_MAX_VCPU_IDS)) return -EINVAL;
  if (k.created_vcpus >= k.max_vcpus) return -EINVAL;
  let r = kvm_arch_vcpu_precreate(k, Number(id));
  if (r) return r;
  // The vcpu and its kvm_run page are allocated before the duplicate-id check.
  if (alloc_fails("vcpu")) return -ENOMEM;
  if (k.vcpus.some((v) => v.vcpu_id === Number(id))) return -EEXIST;
  const run_buffer = new SharedArrayBuffer(KVM_VCPU_MMAP_SIZE);
  const vcpu = {
    kvm: k,
    vcpu_id: Number(id),
    vcpu_idx: k.vcpus.length,
    run_buffer,
    run: new DataView(run_buffer),
    has_run: false,
    running: false,
  } as Omit<kvm_vcpu, "arch"> as kvm_vcpu;
  r = kvm_arch_vcpu_create(vcpu);
  if (r) return r;
  if (k.dirty_ring_size) {
    const ring = kvm_dirty_ring_alloc(k, Number(id));
    if (typeof ring === "number") {
      kvm_arch_vcpu_destroy(vcpu);
      return ring;
    }
    vcpu.dirty_ring = ring;
  }
  const filp = new file(kvm_vcpu_fops, vcpu, O_RDWR);
  const fd = current.files.fd_install(filp);
  if (fd < 0) {
    kvm_arch_vcpu_destroy(vcpu);
    return fd;
  }
  k.created_vcpus++;
  k.vcpus.push(vcpu);
  kvm_get_kvm(k);
  return fd;
}

/** The VM requests `kvm_vm_ioctl()` answers; the rest go to `kvm_arch_vm_ioctl()`. */
export const kvm_vm_ioctl_requests: readonly number[] = [
  KVM_CREATE_VCPU,
  KVM_GET_STATS_FD,
  KVM_ENABLE_CAP,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  KVM_SIGNAL_MSI,
  KVM_IRQFD,
  KVM_SET_GSI_ROUTING,
  KVM_CHECK_EXTENSION,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_CREATE_GUEST_MEMFD,
  KVM_REGISTER_COALESCED_MMIO,
  KVM_UNREGISTER_COALESCED_MMIO,
  KVM_GET_DIRTY_LOG,
  KVM_CLEAR_DIRTY_LOG,
  KVM_RESET_DIRTY_RINGS,
];

function kvm_vm_ioctl(filp: file, cmd: number, arg: bigint): number {
  const k = filp.private_data as kvm;
  if (k.vm_dead) return -EIO;
  switch (cmd) {
    case KVM_CREATE_VCPU:
      return kvm_vm_ioctl_create_vcpu(k, arg);
    case KVM_GET_STATS_FD:
      return kvm_vm_ioctl_get_stats_fd(k);
    case KVM_ENABLE_CAP:
      if (copy_arg(arg, kvm_enable_cap.size)) return -EFAULT;
      return kvm_vm_ioctl_enable_cap_generic(k);
    case KVM_SET_USER_MEMORY_REGION:
      return kvm_vm_ioctl_set_memory_region(k, false, arg);
    case KVM_SET_USER_MEMORY_REGION2:
      return kvm_vm_ioctl_set_memory_region(k, true, arg);
    case KVM_SIGNAL_MSI:
      if (copy_arg(arg, kvm_msi.size)) return -EFAULT;
      return kvm_send_userspace_msi(k);
    case KVM_IRQFD:
      return kvm_vm_ioctl_irqfd(k, arg);
    case KVM_SET_GSI_ROUTING:
      return kvm_vm_ioctl_set_gsi_routing(k, arg);
    case KVM_CHECK_EXTENSION:
      return kvm_vm_ioctl_check_extension_generic(k, arg);
    case KVM_SET_MEMORY_ATTRIBUTES:
      if (copy_arg(arg, kvm_memory_attributes.size)) return -EFAULT;
      return kvm_vm_ioctl_set_mem_attributes(k);
    case KVM_REGISTER_COALESCED_MMIO:
      if (copy_arg(arg, kvm_coalesced_mmio_zone.size)) return -EFAULT;
      return kvm_vm_ioctl_register_coalesced_mmio(k, zone_v);
    case KVM_UNREGISTER_COALESCED_MMIO:
      if (copy_arg(arg, kvm_coalesced_mmio_zone.size)) return -EFAULT;
      return kvm_vm_ioctl_unregister_coalesced_mmio(k, zone_v);
    case KVM_CREATE_GUEST_MEMFD:
      if (copy_arg(arg, kvm_create_guest_memfd.size)) return -EFAULT;
      return kvm_gmem_create(k, gmem_v);
    case KVM_GET_DIRTY_LOG:
      return kvm_vm_ioctl_get_dirty_log(k, arg);
    case KVM_CLEAR_DIRTY_LOG:
      return kvm_vm_ioctl_clear_dirty_log(k, arg);
    case KVM_RESET_DIRTY_RINGS:
      return kvm_vm_ioctl_reset_dirty_pages(k);
    default:
      // kvm_arch_vm_ioctl() returns int; kvm_vm_ioctl()'s long sign-extends it.
      return kvm_arch_vm_ioctl(k, cmd, arg) | 0;
  }
}

/** `kvm_vm_ioctl_enable_cap_generic()`: the generic capabilities, then the arch's. */
function kvm_vm_ioctl_enable_cap_generic(k: kvm): number {
  switch (cap_v.cap) {
    case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
      return kvm_enable_manual_dirty_log_protect(k, cap_v.flags, cap_v.args.at(0));
    case KVM_CAP_DIRTY_LOG_RING:
    case KVM_CAP_DIRTY_LOG_RING_ACQ_REL:
      if (!kvm_vm_ioctl_check_extension_generic(k, BigInt(cap_v.cap))) return -EINVAL;
      return kvm_vm_ioctl_enable_dirty_log_ring(k, cap_v.args.at(0));
  }
  return kvm_vm_ioctl_enable_cap(k, cap_v);
}

/**
 * `kvm_send_userspace_msi()`: the flags checks, then `kvm_set_msi()`
 * (irq_comm.ts): the number of LAPICs that took it, 0 if refused, -1 if no
 * destination matched (the ioctl's result as the kernel passes it on).
 */
function kvm_send_userspace_msi(k: kvm): number {
  if (k.arch.irqchip_mode === 0) return -EINVAL;
  // irqchip.c @ ab354021: only the flags are checked; x86 ignores devid.
  if (msi_v.flags & ~KVM_MSI_VALID_DEVID) return -EINVAL;
  return kvm_set_msi(k, {
    address_lo: msi_v.address_lo,
    address_hi: msi_v.address_hi,
    data: msi_v.data,
  });
}

function kvm_vm_release(filp: file): void {
  kvm_put_kvm(filp.private_data as kvm);
}

const kvm_vm_fops: file_operations = {
  name: "anon_inode:kvm-vm",
  unlocked_ioctl: kvm_vm_ioctl,
  release: kvm_vm_release,
};

// ---------------------------------------------------------------------------
// vCPU fd

function vcpu_ioctl_prologue(vcpu: kvm_vcpu, cmd: number): number {
  if (vcpu.kvm.vm_dead) return -EIO;
  if (_IOC_TYPE(cmd) !== KVMIO) return -EINVAL;
  return 0;
}

/** The vCPU requests `kvm_vcpu_ioctl()` answers; the rest go to `kvm_arch_vcpu_ioctl()`. */
export const kvm_vcpu_ioctl_requests: readonly number[] = [
  KVM_RUN,
  KVM_GET_REGS,
  KVM_SET_REGS,
  KVM_GET_SREGS,
  KVM_SET_SREGS,
  KVM_GET_MP_STATE,
  KVM_SET_MP_STATE,
  KVM_GET_FPU,
  KVM_SET_FPU,
  KVM_PRE_FAULT_MEMORY,
  KVM_GET_STATS_FD,
];

function kvm_vcpu_ioctl(filp: file, cmd: number, arg: bigint): number {
  const vcpu = filp.private_data as kvm_vcpu;
  const r = vcpu_ioctl_prologue(vcpu, cmd);
  if (r) return r;
  switch (cmd) {
    case KVM_RUN:
      if (arg) return -EINVAL;
      return kvm_arch_vcpu_ioctl_run(vcpu);
    case KVM_GET_REGS:
      return kvm_arch_vcpu_ioctl_get_regs(vcpu, arg);
    case KVM_SET_REGS:
      return kvm_arch_vcpu_ioctl_set_regs(vcpu, arg);
    case KVM_GET_SREGS:
      return kvm_arch_vcpu_ioctl_get_sregs(vcpu, arg);
    case KVM_SET_SREGS:
      return kvm_arch_vcpu_ioctl_set_sregs(vcpu, arg);
    case KVM_GET_MP_STATE:
      return kvm_arch_vcpu_ioctl_get_mpstate(vcpu, arg);
    case KVM_SET_MP_STATE:
      return kvm_arch_vcpu_ioctl_set_mpstate(vcpu, arg);
    case KVM_GET_FPU:
      return kvm_arch_vcpu_ioctl_get_fpu(vcpu, arg);
    case KVM_SET_FPU:
      return kvm_arch_vcpu_ioctl_set_fpu(vcpu, arg);
    case KVM_GET_STATS_FD:
      return kvm_vcpu_ioctl_get_stats_fd(vcpu);
    case KVM_PRE_FAULT_MEMORY: {
      if (copy_arg(arg, kvm_pre_fault_memory.size)) return -EFAULT;
      const r = kvm_vcpu_pre_fault_memory(vcpu);
      // Userspace sees how far mapping got: gpa/size go back even after an error.
      if (current.mm.copy_to_user(arg, scratch_u8, kvm_pre_fault_memory.size)) return -EFAULT;
      return r;
    }
    default:
      // kvm_arch_vcpu_ioctl()'s result is an int (`int r` in x86.c).
      return kvm_arch_vcpu_ioctl(vcpu, cmd, arg) | 0;
  }
}

/**
 * `kvm_vcpu_pre_fault_memory()` (kvm_main.c): flags must be 0, the range
 * page aligned, non-empty and not wrapping; then the arch maps it piece by
 * piece, `gpa`/`size` advancing in the caller's struct. A partial result is
 * a success; the error comes back only when nothing at all was mapped.
 */
function kvm_vcpu_pre_fault_memory(vcpu: kvm_vcpu): number {
  const range = prefault_v;
  if (range.flags) return -EINVAL;
  const end = BigInt.asUintN(64, range.gpa + range.size);
  if ((range.gpa & 0xfffn) || (range.size & 0xfffn) || end <= range.gpa) return -EINVAL;
  const full_size = range.size;
  let r = 0n;
  do {
    r = kvm_arch_vcpu_pre_fault_memory(vcpu, range.gpa, range.size);
    if (r <= 0n) break;
    range.size -= r;
    range.gpa += r;
  } while (range.size);
  return full_size === range.size ? Number(r) : 0;
}

function kvm_vcpu_ioctl_async(filp: file, cmd: number, arg: bigint): Promise<number> | number {
  if (cmd !== KVM_RUN) return kvm_vcpu_ioctl(filp, cmd, arg);
  const vcpu = filp.private_data as kvm_vcpu;
  const r = vcpu_ioctl_prologue(vcpu, cmd);
  if (r) return r;
  if (arg) return -EINVAL;
  return kvm_arch_vcpu_async_ioctl_run(vcpu);
}

/**
 * `kvm_vcpu_mmap()`: page 0 is `kvm_run`, page 1 the PIO data, page 2 the
 * coalesced MMIO ring, and from `KVM_DIRTY_LOG_PAGE_OFFSET` the dirty ring,
 * which must be mapped shared and not executable. A private mapping of the
 * other pages is allowed, as in the kernel; the simulator shares it anyway
 * (there is no copy-on-write of these pages).
 */
function kvm_vcpu_mmap(filp: file, vma: vm_area_struct): number {
  const vcpu = filp.private_data as kvm_vcpu;
  const pages = (vma.vm_end - vma.vm_start) / PAGE_SIZE;
  if (
    (kvm_page_in_dirty_ring(vcpu.kvm, vma.vm_pgoff) ||
      kvm_page_in_dirty_ring(vcpu.kvm, vma.vm_pgoff + pages - 1)) &&
    ((vma.vm_flags & VM_EXEC) || !(vma.vm_flags & VM_SHARED))
  ) {
    return -EINVAL;
  }
  vma.backing = vcpu.dirty_ring
    ? new kvm_vcpu_ring_backing(vcpu.run_buffer, vcpu.dirty_ring)
    : new kvm_vcpu_mmap_backing(vcpu);
  return 0;
}

function kvm_vcpu_release(filp: file): void {
  kvm_put_kvm((filp.private_data as kvm_vcpu).kvm);
}

const kvm_vcpu_fops: file_operations = {
  name: "anon_inode:kvm-vcpu",
  unlocked_ioctl: kvm_vcpu_ioctl,
  unlocked_ioctl_async: kvm_vcpu_ioctl_async,
  mmap: kvm_vcpu_mmap,
  release: kvm_vcpu_release,
};

/** Whether `filp` is a vCPU file; the vCPU, or null. */
export function file_to_vcpu(filp: file): kvm_vcpu | null {
  return filp.f_op === kvm_vcpu_fops ? filp.private_data as kvm_vcpu : null;
}

/** Whether `filp` is a VM file; the VM, or null. */
export function file_to_kvm(filp: file): kvm | null {
  return filp.f_op === kvm_vm_fops ? filp.private_data as kvm : null;
}
