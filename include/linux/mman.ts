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
/** `PROT_NONE`: any access faults; reserves address space only. */
export const PROT_NONE = 0x0;
/** `PROT_READ`: loads are allowed. */
export const PROT_READ = 0x1;
/** `PROT_WRITE`: stores are allowed (on x86 this implies loads). */
export const PROT_WRITE = 0x2;
/** `PROT_EXEC`: instruction fetch is allowed. */
export const PROT_EXEC = 0x4;
/** `PROT_SEM`: the range must support atomic operations (no effect on x86). */
export const PROT_SEM = 0x8;
/** `PROT_GROWSDOWN`: for mprotect: the change reaches down to the start of a grows-down VMA. */
export const PROT_GROWSDOWN = 0x01000000;
/** `PROT_GROWSUP`: for mprotect: the change reaches up to the end of a grows-up VMA. */
export const PROT_GROWSUP = 0x02000000;

// Mapping types and flags (mmap)
/** `MAP_SHARED`: stores are visible to every mapper and land in the backing file. */
export const MAP_SHARED = 0x01;
/** `MAP_PRIVATE`: stores trigger copy-on-write and stay in this process. */
export const MAP_PRIVATE = 0x02;
/** `MAP_SHARED_VALIDATE`: as `MAP_SHARED`, but unknown flags fail with `EOPNOTSUPP` rather than being ignored. */
export const MAP_SHARED_VALIDATE = 0x03;
/** `MAP_TYPE`: the bits that select shared, private or shared-validate. */
export const MAP_TYPE = 0x0f;
/** `MAP_FIXED`: `addr` is mandatory, and anything already mapped there is unmapped first. */
export const MAP_FIXED = 0x10;
/** `MAP_ANONYMOUS`: backed by no file; the memory starts as zeroes and `fd` is ignored. */
export const MAP_ANONYMOUS = 0x20;
/** `MAP_ANON`: alias of `MAP_ANONYMOUS` kept from BSD. */
export const MAP_ANON: number = MAP_ANONYMOUS;
/** `MAP_FILE`: zero: file-backed is what a mapping is without `MAP_ANONYMOUS`. */
export const MAP_FILE = 0;
/** `MAP_32BIT`: x86-64 only: the kernel picks an address below 2 GiB. */
export const MAP_32BIT = 0x40;
/** `MAP_GROWSDOWN`: the VMA extends downwards on faults below it, as a stack does. */
export const MAP_GROWSDOWN = 0x0100;
/** `MAP_DENYWRITE`: accepted and ignored by current kernels. */
export const MAP_DENYWRITE = 0x0800;
/** `MAP_EXECUTABLE`: accepted and ignored by current kernels. */
export const MAP_EXECUTABLE = 0x1000;
/** `MAP_LOCKED`: the pages are mlock()ed once mapped. */
export const MAP_LOCKED = 0x2000;
/** `MAP_NORESERVE`: no swap or hugetlb pages are set aside up front. */
export const MAP_NORESERVE = 0x4000;
/** `MAP_POPULATE`: fault every page in during mmap rather than on first touch. */
export const MAP_POPULATE = 0x008000;
/** `MAP_NONBLOCK`: together with `MAP_POPULATE`, skip pages that would need I/O. */
export const MAP_NONBLOCK = 0x010000;
/** `MAP_STACK`: a hint that the range is a thread stack (no THP on it). */
export const MAP_STACK = 0x020000;
/** `MAP_HUGETLB`: hugetlbfs pages back the mapping; size from the `MAP_HUGE_*` bits. */
export const MAP_HUGETLB = 0x040000;
/** `MAP_SYNC`: for DAX files: metadata is durable before a write fault completes. */
export const MAP_SYNC = 0x080000;
/** `MAP_FIXED_NOREPLACE`: `addr` is mandatory, but an existing mapping makes mmap fail with `EEXIST`. */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** `MAP_UNINITIALIZED`: only honoured on no-MMU kernels: anonymous pages need not be cleared. */
export const MAP_UNINITIALIZED = 0x4000000;

// Huge page size encoding (MAP_HUGE_*, MFD_HUGE_*): log2(size) in bits 26..31
/** `HUGETLB_FLAG_ENCODE_SHIFT`: bit where log2(huge page size) is stored in mmap and memfd flags. */
export const HUGETLB_FLAG_ENCODE_SHIFT = 26;
/** `HUGETLB_FLAG_ENCODE_MASK`: width mask of that log2 field (6 bits). */
export const HUGETLB_FLAG_ENCODE_MASK = 0x3f;
/** `MAP_HUGE_SHIFT`: the mmap spelling of `HUGETLB_FLAG_ENCODE_SHIFT`. */
export const MAP_HUGE_SHIFT: number = HUGETLB_FLAG_ENCODE_SHIFT;
/** `MAP_HUGE_MASK`: the mmap spelling of `HUGETLB_FLAG_ENCODE_MASK`. */
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
/** `MADV_NORMAL`: default readahead and reclaim. */
export const MADV_NORMAL = 0;
/** `MADV_RANDOM`: accesses are scattered, so readahead is turned off. */
export const MADV_RANDOM = 1;
/** `MADV_SEQUENTIAL`: accesses go front to back: read ahead aggressively, free behind. */
export const MADV_SEQUENTIAL = 2;
/** `MADV_WILLNEED`: start reading the range in now. */
export const MADV_WILLNEED = 3;
/** `MADV_DONTNEED`: discard the range; anonymous pages refault as zeroes. */
export const MADV_DONTNEED = 4;
/** `MADV_FREE`: the kernel may reclaim the range lazily if memory runs short. */
export const MADV_FREE = 8;
/** `MADV_REMOVE`: discard the range and punch a hole in its shared backing. */
export const MADV_REMOVE = 9;
/** `MADV_DONTFORK`: a child of fork() gets no copy of the range. */
export const MADV_DONTFORK = 10;
/** `MADV_DOFORK`: reverts `MADV_DONTFORK`. */
export const MADV_DOFORK = 11;
/** `MADV_MERGEABLE`: opt the range into KSM same-page merging. */
export const MADV_MERGEABLE = 12;
/** `MADV_UNMERGEABLE`: reverts `MADV_MERGEABLE` and unmerges pages. */
export const MADV_UNMERGEABLE = 13;
/** `MADV_HUGEPAGE`: ask for transparent huge pages on the range. */
export const MADV_HUGEPAGE = 14;
/** `MADV_NOHUGEPAGE`: keep transparent huge pages off the range. */
export const MADV_NOHUGEPAGE = 15;
/** `MADV_DONTDUMP`: the range is omitted from core dumps. */
export const MADV_DONTDUMP = 16;
/** `MADV_DODUMP`: reverts `MADV_DONTDUMP`. */
export const MADV_DODUMP = 17;
/** `MADV_WIPEONFORK`: a child of fork() finds the range zero-filled. */
export const MADV_WIPEONFORK = 18;
/** `MADV_KEEPONFORK`: reverts `MADV_WIPEONFORK`. */
export const MADV_KEEPONFORK = 19;
/** `MADV_COLD`: move the pages to the inactive LRU list. */
export const MADV_COLD = 20;
/** `MADV_PAGEOUT`: reclaim the pages right away (write out or swap). */
export const MADV_PAGEOUT = 21;
/** `MADV_POPULATE_READ`: fault the range in as if read, without touching it. */
export const MADV_POPULATE_READ = 22;
/** `MADV_POPULATE_WRITE`: fault the range in as if written, breaking COW. */
export const MADV_POPULATE_WRITE = 23;
/** `MADV_DONTNEED_LOCKED`: as `MADV_DONTNEED`, also for mlock()ed pages. */
export const MADV_DONTNEED_LOCKED = 24;
/** `MADV_COLLAPSE`: synchronously merge the range into transparent huge pages. */
export const MADV_COLLAPSE = 25;
/** `MADV_HWPOISON`: mark the pages as hardware-poisoned (needs CAP_SYS_ADMIN; for tests). */
export const MADV_HWPOISON = 100;
/** `MADV_SOFT_OFFLINE`: migrate the data away and retire the pages (for tests). */
export const MADV_SOFT_OFFLINE = 101;

// msync, mlockall, mlock2, mremap
/** `MS_ASYNC`: start writing dirty pages back and return at once. */
export const MS_ASYNC = 1;
/** `MS_INVALIDATE`: ask other mappings of the file to drop stale copies. */
export const MS_INVALIDATE = 2;
/** `MS_SYNC`: return only after the dirty pages are written back. */
export const MS_SYNC = 4;
/** `MCL_CURRENT`: mlockall(): pin every page mapped now. */
export const MCL_CURRENT = 1;
/** `MCL_FUTURE`: mlockall(): pin whatever is mapped later as well. */
export const MCL_FUTURE = 2;
/** `MCL_ONFAULT`: mlockall(): pin pages when first touched, not up front. */
export const MCL_ONFAULT = 4;
/** `MLOCK_ONFAULT`: mlock2(): pin pages when first touched, not up front. */
export const MLOCK_ONFAULT = 0x01;
/** `MREMAP_MAYMOVE`: mremap() may relocate the mapping when it cannot grow in place. */
export const MREMAP_MAYMOVE = 1;
/** `MREMAP_FIXED`: mremap() puts the result at `new_address` (needs `MREMAP_MAYMOVE`). */
export const MREMAP_FIXED = 2;
/** `MREMAP_DONTUNMAP`: mremap() moves the pages but leaves the old range mapped, empty. */
export const MREMAP_DONTUNMAP = 4;

// memfd_create flags
/** `MFD_CLOEXEC`: the memfd gets FD_CLOEXEC. */
export const MFD_CLOEXEC = 0x0001;
/** `MFD_ALLOW_SEALING`: seals can be added with `F_ADD_SEALS`; otherwise `F_SEAL_SEAL` is preset. */
export const MFD_ALLOW_SEALING = 0x0002;
/** `MFD_HUGETLB`: the memfd lives on hugetlbfs; size from the `MFD_HUGE_*` bits. */
export const MFD_HUGETLB = 0x0004;
/** `MFD_NOEXEC_SEAL`: the file is non-executable and sealed against changing that. */
export const MFD_NOEXEC_SEAL = 0x0008;
/** `MFD_EXEC`: the file may be executable (the default unless the vm.memfd_noexec sysctl says otherwise). */
export const MFD_EXEC = 0x0010;
/** `MFD_HUGE_SHIFT`: the memfd_create spelling of `HUGETLB_FLAG_ENCODE_SHIFT`. */
export const MFD_HUGE_SHIFT: number = HUGETLB_FLAG_ENCODE_SHIFT;
/** `MFD_HUGE_MASK`: the memfd_create spelling of `HUGETLB_FLAG_ENCODE_MASK`. */
export const MFD_HUGE_MASK: number = HUGETLB_FLAG_ENCODE_MASK;
/** `MFD_HUGE_2MB`: 2 MiB huge pages. */
export const MFD_HUGE_2MB: number = MAP_HUGE_2MB;
/** `MFD_HUGE_1GB`: 1 GiB huge pages. */
export const MFD_HUGE_1GB: number = MAP_HUGE_1GB;

/** `MAP_FAILED`: what `mmap` returns on failure, `(void *)-1`. */
export const MAP_FAILED: bigint = -1n;
