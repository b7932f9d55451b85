// SPDX-License-Identifier: GPL-2.0-only
/**
 * guest_memfd (`virt/kvm/guest_memfd.c`): a file of guest memory that
 * userspace need not map. KVM_CREATE_GUEST_MEMFD makes one on a VM; a
 * memslot binds a range of it (KVM_SET_USER_MEMORY_REGION2 with
 * `KVM_MEM_GUEST_MEMFD`); `fallocate` allocates or punches holes; `mmap` is
 * allowed only with `GUEST_MEMFD_FLAG_MMAP` and only as a shared mapping.
 *
 * The file's memory is a set of 1 GiB `SharedArrayBuffer` chunks created with
 * the file: the host OS commits pages only when touched, which is what
 * allocation on first fault gives in the kernel. Each file holds a
 * reference on its VM (`kvm_get_kvm()` in `__kvm_gmem_create()`), so the VM
 * lives at least as long as any guest_memfd created on it.
 *
 * @module
 */

import { alloc_fails } from "../../../fault_inject.ts";
import { S_IFREG } from "../../../../include/asm/stat.ts";
import {
  EBADF,
  EEXIST,
  EINVAL,
  ENODEV,
  ENOMEM,
  EOPNOTSUPP,
} from "../../../../include/linux/errno.ts";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../../../../include/linux/falloc.ts";
import {
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  type kvm_create_guest_memfd,
} from "../../../../include/linux/kvm.ts";
import { O_RDWR } from "../../../../include/linux/fcntl.ts";
import { file, type file_operations, get_next_ino } from "../../fs/file.ts";
import {
  chunked_backing,
  PAGE_ALIGNED,
  PAGE_SHIFT,
  type vm_area_struct,
  VM_MAYSHARE,
  VM_SHARED,
} from "../../mm/mmap.ts";
import { current } from "../../include/linux/sched.ts";
import type { kvm, kvm_memory_slot } from "../../include/linux/kvm_host.ts";
import { kvm_put_kvm } from "./kvm_main.ts";
import { kvm_arch_memslots_updated } from "../../arch/x86/kvm/vmx/vmx.ts";

/** The state behind a guest_memfd file (`struct gmem_file` + `struct gmem_inode`). */
export class gmem_file {
  /** The VM this file belongs to. */
  readonly kvm: kvm;
  /** `i_size`. */
  readonly size: number;
  /** `GUEST_MEMFD_FLAG_*`. */
  readonly flags: bigint;
  /** The memory. */
  readonly backing: chunked_backing;
  /** Memslots bound to page ranges of the file (`bindings`). */
  readonly bindings: { start: number; end: number; slot: kvm_memory_slot }[] = [];
  /** The file itself, once installed. */
  filp: file | null = null;

  /**
   * Creates the file's state and its memory.
   *
   * @param k the VM
   * @param size bytes
   * @param flags `GUEST_MEMFD_FLAG_*`
   */
  constructor(k: kvm, size: number, flags: bigint) {
    this.kvm = k;
    this.size = size;
    this.flags = flags;
    this.backing = chunked_backing.anonymous(size);
  }

  /** Whether userspace may mmap the file (`kvm_gmem_supports_mmap()`). */
  get supports_mmap(): boolean {
    return (this.flags & GUEST_MEMFD_FLAG_MMAP) !== 0n;
  }
}

/** `kvm_gmem_get_supported_flags()`: INIT_SHARED only where memory is not private by default. */
export function kvm_gmem_get_supported_flags(k: kvm | null): bigint {
  // A TD's guest_memfd holds only private memory: it can never be mapped (mainline TDX).
  if (k && k.arch.has_protected_state) return 0n;
  let flags = GUEST_MEMFD_FLAG_MMAP;
  if (!k || !k.arch.has_private_mem) flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
  return flags;
}

function kvm_gmem_punch_hole(g: gmem_file, offset: number, len: number): void {
  const end = Math.min(offset + len, g.size);
  const cs = g.backing.chunk_size;
  let a = offset;
  while (a < end) {
    const ci = Math.floor(a / cs);
    const cstart = ci * cs;
    const clen = Math.min(cs, g.size - cstart);
    const n = Math.min(end, cstart + clen) - a;
    if (a === cstart && n === clen) {
      // A whole chunk is dropped rather than zeroed, so that a punched
      // range gives its memory back to the host instead of committing it.
      g.backing.drop_chunk(ci);
    } else if (g.backing.has_chunk(ci)) {
      new Uint8Array(g.backing.chunk(ci)!, a - cstart, n).fill(0);
    }
    a += n;
  }
  // Truncated pages must disappear from the guest's view too.
  g.kvm.generation++;
  kvm_arch_memslots_updated(g.kvm);
}

const kvm_gmem_fops: file_operations = {
  // A regular-file inode, which is what lets vfs_fallocate() through.
  mode: S_IFREG | 0o600,
  name: "anon_inode:[kvm-gmem]",
  mmap(filp: file, vma: vm_area_struct): number {
    const g = filp.private_data as gmem_file;
    if (!g.supports_mmap) return -ENODEV;
    if ((vma.vm_flags & (VM_SHARED | VM_MAYSHARE)) !== (VM_SHARED | VM_MAYSHARE)) return -EINVAL;
    vma.backing = g.backing;
    return 0;
  },
  fallocate(filp: file, mode: number, offset: bigint, len: bigint): number {
    const g = filp.private_data as gmem_file;
    if (!(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
    if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
    if (!PAGE_ALIGNED(offset) || !PAGE_ALIGNED(len)) return -EINVAL;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      if (offset < BigInt(g.size)) kvm_gmem_punch_hole(g, Number(offset), Number(len));
      return 0;
    }
    // The size is fixed when the file is created; fallocate cannot grow it.
    if (offset + len > BigInt(g.size)) return -EINVAL;
    return 0;
  },
  size(filp: file): bigint {
    return BigInt((filp.private_data as gmem_file).size);
  },
  release(filp: file): void {
    const g = filp.private_data as gmem_file;
    // The memslots survive the close but lose their file: a later access faults.
    for (const b of g.bindings) if (b.slot.gmem) b.slot.gmem.file = null;
    g.bindings.length = 0;
    g.kvm.generation++;
    kvm_arch_memslots_updated(g.kvm);
    // The last reference is gone (a mapping holds one). The pages live with
    // the inode, not the file, but this file was the inode's only holder: its
    // eviction truncates them now. They go back to the pool, or wait until no
    // vCPU's memory map still uses them.
    g.backing.release();
    kvm_put_kvm(g.kvm);
  },
};

/** Whether `filp` is a guest_memfd file. */
export function is_gmem_file(filp: file): boolean {
  return filp.f_op === kvm_gmem_fops;
}

/** The guest_memfd state bound to a memslot, if its file is still open. */
export function kvm_gmem_of_slot(slot: kvm_memory_slot): gmem_file | null {
  const f = slot.gmem?.file;
  return f ? f.private_data as gmem_file : null;
}

/**
 * KVM_CREATE_GUEST_MEMFD (`kvm_gmem_create()`): the new fd, or `-errno`.
 * `args` is the struct already copied from userspace.
 */
export function kvm_gmem_create(
  k: kvm,
  args: ReturnType<typeof kvm_create_guest_memfd.view>,
): number {
  const size = args.size;
  const flags = args.flags;
  if (flags & ~kvm_gmem_get_supported_flags(k)) return -EINVAL;
  // loff_t is signed: a size with bit 63 set is negative.
  if (size === 0n || size >= 1n << 63n || !PAGE_ALIGNED(size)) return -EINVAL;
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) return -EINVAL;
  // __kvm_gmem_create(): the gmem and its inode are allocated after the checks.
  if (alloc_fails("gmem")) return -ENOMEM;
  const g = new gmem_file(k, Number(size), flags);
  const filp = new file(kvm_gmem_fops, g, O_RDWR, get_next_ino());
  g.filp = filp;
  const fd = current.files.fd_install(filp);
  if (fd < 0) return fd;
  k.users_count++;
  return fd;
}

/**
 * `kvm_gmem_bind()`: binds `slot` to `[offset, offset + size)` of the
 * guest_memfd `fd`; 0 or `-errno`.
 */
export function kvm_gmem_bind(k: kvm, slot: kvm_memory_slot, fd: number, offset: bigint): number {
  const filp = current.files.lookup(fd);
  if (!filp) return -EBADF;
  if (!is_gmem_file(filp)) return -EINVAL;
  const g = filp.private_data as gmem_file;
  if (g.kvm !== k) return -EINVAL;
  const size = BigInt(slot.npages) << BigInt(PAGE_SHIFT);
  if (!PAGE_ALIGNED(offset) || offset + size > BigInt(g.size)) return -EINVAL;
  const start = Number(offset >> BigInt(PAGE_SHIFT));
  const end = start + slot.npages;
  if (g.bindings.some((b) => b.start < end && start < b.end)) return -EEXIST;
  slot.gmem = { file: filp, pgoff: start };
  g.bindings.push({ start, end, slot });
  return 0;
}

/** `kvm_gmem_unbind()`: the slot is going away. */
export function kvm_gmem_unbind(slot: kvm_memory_slot): void {
  const g = slot.gmem?.file ? slot.gmem.file.private_data as gmem_file : null;
  if (g) {
    const i = g.bindings.findIndex((b) => b.slot === slot);
    if (i >= 0) g.bindings.splice(i, 1);
  }
  if (slot.gmem) slot.gmem.file = null;
}
