// SPDX-License-Identifier: GPL-2.0-only
/**
 * Memory-mapping constants for `mmap`, `mprotect`, `madvise`, `msync`,
 * `mlockall` and `memfd_create`, with the x86-64 Linux values (`<sys/mman.h>`,
 * `<linux/mman.h>`, `<linux/memfd.h>`).
 *
 * Addresses are `bigint` in the syscall layer, so {@linkcode MAP_FAILED} is
 * `-1n`: `(void *)-1` read as a signed 64-bit value.
 *
 * @module
 */

// Protections (mmap, mprotect)
/** `PROT_NONE`: no access. */
export const PROT_NONE = 0x0;
/** `PROT_READ`: pages can be read. */
export const PROT_READ = 0x1;
/** `PROT_WRITE`: pages can be written. */
export const PROT_WRITE = 0x2;
/** `PROT_EXEC`: pages can be executed. */
export const PROT_EXEC = 0x4;
/** `PROT_SEM`: pages may hold atomics. */
export const PROT_SEM = 0x8;
/** `PROT_GROWSDOWN`: mprotect extends down a grows-down mapping. */
export const PROT_GROWSDOWN = 0x01000000;
/** `PROT_GROWSUP`: mprotect extends up a grows-up mapping. */
export const PROT_GROWSUP = 0x02000000;

// Mapping types and flags (mmap)
/** `MAP_SHARED`: writes reach the file and other mappings. */
export const MAP_SHARED = 0x01;
/** `MAP_PRIVATE`: writes are copy-on-write and private. */
export const MAP_PRIVATE = 0x02;
/** `MAP_SHARED_VALIDATE`: `MAP_SHARED`, refusing unknown flags. */
export const MAP_SHARED_VALIDATE = 0x03;
/** `MAP_TYPE`: mask of the mapping type. */
export const MAP_TYPE = 0x0f;
/** `MAP_FIXED`: place the mapping exactly at `addr`, replacing what is there. */
export const MAP_FIXED = 0x10;
/** `MAP_ANONYMOUS`: no file: zero-filled memory. */
export const MAP_ANONYMOUS = 0x20;
/** `MAP_ANON`: the BSD name of `MAP_ANONYMOUS`. */
export const MAP_ANON: number = MAP_ANONYMOUS;
/** `MAP_FILE`: a file mapping (the default; no bit). */
export const MAP_FILE = 0;
/** `MAP_32BIT`: x86-64: place the mapping in the low 2 GiB. */
export const MAP_32BIT = 0x40;
/** `MAP_GROWSDOWN`: a stack that grows down. */
export const MAP_GROWSDOWN = 0x0100;
/** `MAP_DENYWRITE`: ignored; kept for compatibility. */
export const MAP_DENYWRITE = 0x0800;
/** `MAP_EXECUTABLE`: ignored; kept for compatibility. */
export const MAP_EXECUTABLE = 0x1000;
/** `MAP_LOCKED`: lock the pages, as `mlock`. */
export const MAP_LOCKED = 0x2000;
/** `MAP_NORESERVE`: do not reserve swap. */
export const MAP_NORESERVE = 0x4000;
/** `MAP_POPULATE`: prefault the page tables. */
export const MAP_POPULATE = 0x008000;
/** `MAP_NONBLOCK`: with `MAP_POPULATE`, do not block on I/O. */
export const MAP_NONBLOCK = 0x010000;
/** `MAP_STACK`: an address suited to a thread stack. */
export const MAP_STACK = 0x020000;
/** `MAP_HUGETLB`: back the mapping with huge pages. */
export const MAP_HUGETLB = 0x040000;
/** `MAP_SYNC`: synchronous faults (DAX). */
export const MAP_SYNC = 0x080000;
/** `MAP_FIXED_NOREPLACE`: `MAP_FIXED` that fails with `EEXIST` instead of replacing. */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** `MAP_UNINITIALIZED`: anonymous memory may be left uninitialised (no-MMU only). */
export const MAP_UNINITIALIZED = 0x4000000;

// Huge page size encoding (MAP_HUGE_*, MFD_HUGE_*): log2(size) in bits 26..31
/** `HUGETLB_FLAG_ENCODE_SHIFT`: where the log2 of the huge page size starts. */
export const HUGETLB_FLAG_ENCODE_SHIFT = 26;
/** `HUGETLB_FLAG_ENCODE_MASK`: mask of the log2 of the huge page size. */
export const HUGETLB_FLAG_ENCODE_MASK = 0x3f;
/** `MAP_HUGE_SHIFT`: `HUGETLB_FLAG_ENCODE_SHIFT` for mmap. */
export const MAP_HUGE_SHIFT: number = HUGETLB_FLAG_ENCODE_SHIFT;
/** `MAP_HUGE_MASK`: `HUGETLB_FLAG_ENCODE_MASK` for mmap. */
export const MAP_HUGE_MASK: number = HUGETLB_FLAG_ENCODE_MASK;
/** `MAP_HUGE_16KB`: 16 KiB huge pages. */
export const MAP_HUGE_16KB: number = (14 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_64KB`: 64 KiB huge pages. */
export const MAP_HUGE_64KB: number = (16 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_512KB`: 512 KiB huge pages. */
export const MAP_HUGE_512KB: number = (19 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_1MB`: 1 MiB huge pages. */
export const MAP_HUGE_1MB: number = (20 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_2MB`: 2 MiB huge pages. */
export const MAP_HUGE_2MB: number = (21 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_8MB`: 8 MiB huge pages. */
export const MAP_HUGE_8MB: number = (23 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_16MB`: 16 MiB huge pages. */
export const MAP_HUGE_16MB: number = (24 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_32MB`: 32 MiB huge pages. */
export const MAP_HUGE_32MB: number = (25 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_256MB`: 256 MiB huge pages. */
export const MAP_HUGE_256MB: number = (28 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_512MB`: 512 MiB huge pages. */
export const MAP_HUGE_512MB: number = (29 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_1GB`: 1 GiB huge pages. */
export const MAP_HUGE_1GB: number = (30 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_2GB`: 2 GiB huge pages. */
export const MAP_HUGE_2GB: number = (31 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;
/** `MAP_HUGE_16GB`: 16 GiB huge pages. */
export const MAP_HUGE_16GB: number = (34 << HUGETLB_FLAG_ENCODE_SHIFT) >>> 0;

// madvise advice
/** `MADV_NORMAL`: no special treatment. */
export const MADV_NORMAL = 0;
/** `MADV_RANDOM`: expect random access. */
export const MADV_RANDOM = 1;
/** `MADV_SEQUENTIAL`: expect sequential access. */
export const MADV_SEQUENTIAL = 2;
/** `MADV_WILLNEED`: the pages will be needed soon. */
export const MADV_WILLNEED = 3;
/** `MADV_DONTNEED`: drop the pages; anonymous memory reads back as zeroes. */
export const MADV_DONTNEED = 4;
/** `MADV_FREE`: the pages may be freed under memory pressure. */
export const MADV_FREE = 8;
/** `MADV_REMOVE`: free the pages and their backing store (punch a hole). */
export const MADV_REMOVE = 9;
/** `MADV_DONTFORK`: do not inherit across fork. */
export const MADV_DONTFORK = 10;
/** `MADV_DOFORK`: undo `MADV_DONTFORK`. */
export const MADV_DOFORK = 11;
/** `MADV_MERGEABLE`: KSM may merge identical pages. */
export const MADV_MERGEABLE = 12;
/** `MADV_UNMERGEABLE`: undo `MADV_MERGEABLE`. */
export const MADV_UNMERGEABLE = 13;
/** `MADV_HUGEPAGE`: back with transparent huge pages. */
export const MADV_HUGEPAGE = 14;
/** `MADV_NOHUGEPAGE`: do not back with transparent huge pages. */
export const MADV_NOHUGEPAGE = 15;
/** `MADV_DONTDUMP`: leave out of core dumps. */
export const MADV_DONTDUMP = 16;
/** `MADV_DODUMP`: undo `MADV_DONTDUMP`. */
export const MADV_DODUMP = 17;
/** `MADV_WIPEONFORK`: the child of a fork sees zeroes. */
export const MADV_WIPEONFORK = 18;
/** `MADV_KEEPONFORK`: undo `MADV_WIPEONFORK`. */
export const MADV_KEEPONFORK = 19;
/** `MADV_COLD`: deactivate the pages. */
export const MADV_COLD = 20;
/** `MADV_PAGEOUT`: reclaim the pages. */
export const MADV_PAGEOUT = 21;
/** `MADV_POPULATE_READ`: prefault the page tables readable. */
export const MADV_POPULATE_READ = 22;
/** `MADV_POPULATE_WRITE`: prefault the page tables writable. */
export const MADV_POPULATE_WRITE = 23;
/** `MADV_DONTNEED_LOCKED`: `MADV_DONTNEED`, locked pages included. */
export const MADV_DONTNEED_LOCKED = 24;
/** `MADV_COLLAPSE`: collapse into huge pages now. */
export const MADV_COLLAPSE = 25;
/** `MADV_HWPOISON`: poison the pages (testing). */
export const MADV_HWPOISON = 100;
/** `MADV_SOFT_OFFLINE`: soft-offline the pages (testing). */
export const MADV_SOFT_OFFLINE = 101;

// msync, mlockall, mlock2, mremap
/** `MS_ASYNC`: schedule the write-back. */
export const MS_ASYNC = 1;
/** `MS_INVALIDATE`: invalidate other mappings of the file. */
export const MS_INVALIDATE = 2;
/** `MS_SYNC`: write back and wait. */
export const MS_SYNC = 4;
/** `MCL_CURRENT`: lock the current mappings. */
export const MCL_CURRENT = 1;
/** `MCL_FUTURE`: lock future mappings. */
export const MCL_FUTURE = 2;
/** `MCL_ONFAULT`: lock pages as they fault in. */
export const MCL_ONFAULT = 4;
/** `MLOCK_ONFAULT`: `mlock2`: lock pages as they fault in. */
export const MLOCK_ONFAULT = 0x01;
/** `MREMAP_MAYMOVE`: `mremap` may move the mapping. */
export const MREMAP_MAYMOVE = 1;
/** `MREMAP_FIXED`: `mremap` to exactly `new_address`. */
export const MREMAP_FIXED = 2;
/** `MREMAP_DONTUNMAP`: `mremap` keeps the old mapping. */
export const MREMAP_DONTUNMAP = 4;

// memfd_create flags
/** `MFD_CLOEXEC`: close the fd on exec. */
export const MFD_CLOEXEC = 0x0001;
/** `MFD_ALLOW_SEALING`: the fd accepts `F_ADD_SEALS`. */
export const MFD_ALLOW_SEALING = 0x0002;
/** `MFD_HUGETLB`: back the file with huge pages. */
export const MFD_HUGETLB = 0x0004;
/** `MFD_NOEXEC_SEAL`: not executable, and sealed so. */
export const MFD_NOEXEC_SEAL = 0x0008;
/** `MFD_EXEC`: executable. */
export const MFD_EXEC = 0x0010;
/** `MFD_HUGE_SHIFT`: `HUGETLB_FLAG_ENCODE_SHIFT` for memfd. */
export const MFD_HUGE_SHIFT: number = HUGETLB_FLAG_ENCODE_SHIFT;
/** `MFD_HUGE_MASK`: `HUGETLB_FLAG_ENCODE_MASK` for memfd. */
export const MFD_HUGE_MASK: number = HUGETLB_FLAG_ENCODE_MASK;
/** `MFD_HUGE_2MB`: 2 MiB huge pages. */
export const MFD_HUGE_2MB: number = MAP_HUGE_2MB;
/** `MFD_HUGE_1GB`: 1 GiB huge pages. */
export const MFD_HUGE_1GB: number = MAP_HUGE_1GB;

/** `MAP_FAILED`: what `mmap` returns on failure, `(void *)-1`. */
export const MAP_FAILED: bigint = -1n;
