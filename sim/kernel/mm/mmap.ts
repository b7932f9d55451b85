// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated process's address space (`mm/mmap.c`, `mm/memory.c`,
 * `arch/x86/lib/usercopy`): every user address the library passes to the
 * kernel (struct pointers, `userspace_addr`, bitmap pointers) resolves here,
 * so a bad pointer fails with `EFAULT` where the kernel's `copy_from_user()`
 * would fail.
 *
 * Two kinds of memory live in it:
 *
 * - **JavaScript buffers** get an address on first use ({@linkcode mm_struct.addr_of}),
 *   in a heap-like zone that grows up from {@linkcode USER_HEAP_BASE}. The
 *   same buffer always has the same address; the last
 *   {@linkcode JS_MAPPINGS_MAX} buffers passed stay mapped (an older one is
 *   mapped again when passed again). A guard page separates buffers, so an overrun faults. As in
 *   a C program, whose memory is page-granular, the rest of a buffer's last
 *   page is accessible: it reads as zeros and writes to it are dropped (so the
 *   kernel copying 8 bytes from a 1-byte array succeeds, as it does in C).
 * - **mmap'd memory** (anonymous memory, the vCPU's `kvm_run` pages, a
 *   guest_memfd) in a zone that grows down from {@linkcode MMAP_BASE}, as
 *   Linux's top-down allocator does. Anonymous memory is made of
 *   `SharedArrayBuffer` chunks of at most 1 GiB, created at `mmap` time: the
 *   host OS commits their pages only when touched, so a sparse 64 GiB mapping
 *   costs what it uses, and no single buffer trips the overcommit heuristic.
 *
 * Addresses are `number`s inside the simulator (user addresses are below
 * 2^47, exact in a double) and `bigint`s at the syscall boundary.
 *
 * @module
 */

import { block_list } from "../../../include/linux/block_list.ts";
import {
  EACCES,
  EEXIST,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
} from "../../../include/linux/errno.ts";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../../../include/linux/falloc.ts";
import {
  MADV_COLD,
  MADV_COLLAPSE,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_HWPOISON,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_SOFT_OFFLINE,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
  MAP_32BIT,
  MAP_ANONYMOUS,
  MAP_DENYWRITE,
  MAP_EXECUTABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_GROWSDOWN,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_STACK,
  MAP_TYPE,
  MAP_UNINITIALIZED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "../../../include/linux/mman.ts";
import { O_ACCMODE, O_RDONLY, O_WRONLY } from "../../../include/linux/fcntl.ts";
import { type file, fput, get_file } from "../fs/file.ts";
import {
  CHUNK_CLAIMED,
  CHUNK_QUEUED,
  CHUNK_ZERO,
  CHUNK_ZEROING,
  type page_zero_request,
  zero_dirty_pages,
} from "./page_zero.ts";
import { worker_ref, worker_ref_supported } from "../../worker_ref.ts";
import { in_vcpu_worker } from "../../../include/libc/process.ts";

/** `PAGE_SHIFT` on x86-64. */
export const PAGE_SHIFT = 12;
/** `PAGE_SIZE` on x86-64. */
export const PAGE_SIZE = 4096;
/**
 * `TASK_SIZE_MAX` with 4-level paging: the end of user space, minus the guard
 * page below the non-canonical hole.
 */
export const TASK_SIZE_MAX: number = 2 ** 47 - PAGE_SIZE;
/** Where JavaScript buffers get their addresses (grows up, like the brk heap). */
export const USER_HEAP_BASE = 0x5555_0000_0000;
/** Where `mmap` places mappings without a usable hint (grows down, like `mmap_base`). */
export const MMAP_BASE = 0x7f00_0000_0000;
/** `mmap_min_addr` (Linux's default, 64 KiB): no mapping without a hint goes below it. */
export const MMAP_MIN_ADDR = 0x10000;
/** The largest `SharedArrayBuffer` one anonymous mapping is made of. */
export const ANON_CHUNK_SIZE: number = 1 << 30;

/** The flags `MAP_SHARED_VALIDATE` accepts (`LEGACY_MAP_MASK` plus the newer ones it validates). */
const LEGACY_MAP_MASK: number = (MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS |
  MAP_DENYWRITE | MAP_EXECUTABLE | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED |
  MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB | MAP_32BIT |
  MAP_FIXED_NOREPLACE | (MAP_HUGE_MASK << MAP_HUGE_SHIFT)) >>> 0;

/** `vm_flags`: readable. */
export const VM_READ = 0x1;
/** `vm_flags`: writable. */
export const VM_WRITE = 0x2;
/** `vm_flags`: executable. */
export const VM_EXEC = 0x4;
/** `vm_flags`: shared mapping. */
export const VM_SHARED = 0x8;
/** `vm_flags`: may be shared (set with `VM_SHARED` for `MAP_SHARED` mappings). */
export const VM_MAYSHARE = 0x80;

/** `PAGE_ALIGN()` for addresses held as numbers. */
export function PAGE_ALIGN(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** `PAGE_ALIGNED()` for numbers and bigints. */
export function PAGE_ALIGNED(n: number | bigint): boolean {
  return typeof n === "bigint" ? (n & 0xfffn) === 0n : n % PAGE_SIZE === 0;
}

/**
 * The memory behind a mapping: buffers of `chunk_size` bytes each, the last
 * one possibly shorter, covering `size` bytes from offset 0 of the object
 * (the anonymous memory, the file). `chunk(i)` is `undefined` past the end.
 */
export interface mm_backing {
  /** Bytes of the object. */
  readonly size: number;
  /** Bytes per chunk (`Infinity` for a single buffer). */
  readonly chunk_size: number;
  /** Chunk `i`. */
  chunk(i: number): ArrayBufferLike | undefined;
}

/**
 * Released anonymous chunks kept for reuse, by size. Freeing a
 * `SharedArrayBuffer` returns its memory to the OS only after the event loop
 * turns (the runtime frees backing stores from a task; a forced GC does not),
 * so a synchronous loop creating and freeing VMs would grow without bound.
 * A chunk is recycled once nothing maps it and no VM's memory map uses it,
 * and zeroed page by page before reuse (a page never touched reads as the
 * zero page and costs nothing to check): by the zeroing thread while the
 * process does something else, or by the allocator when it needs the chunk
 * first (`page_zero.ts`).
 */
const anon_pool = new Map<number, pooled_chunk[]>();
let anon_pool_bytes = 0;
/** Most bytes the pool keeps; more are left to the garbage collector. */
const ANON_POOL_MAX_BYTES = 128 << 20;
/** The largest chunk recycled: scanning a bigger one on reuse costs more than it saves. */
const ANON_POOL_MAX_CHUNK = 64 << 20;
/** Users of chunks besides their mappings (a VM's memory map): see {@linkcode anon_chunk_pin}. */
const chunk_pins = new WeakMap<ArrayBufferLike, number>();

/**
 * A released chunk, and where its zeroing stands (`CHUNK_*`) once it has
 * been handed to the zeroing thread (`null`: never was; the allocator zeroes
 * it).
 */
interface pooled_chunk {
  readonly buf: SharedArrayBuffer;
  state: Int32Array | null;
}

/**
 * Chunks recycled before the zeroing thread starts: a process that frees a
 * VM or two does not pay for a thread; one that loops over VMs does, once,
 * and no longer scans 2.6 MiB of guest RAM on each VM's critical path.
 */
const ZERO_THREAD_AFTER = 4;
/**
 * The smallest chunk handed to the zeroing thread: a smaller one is scanned
 * in microseconds, less than the message that would hand it over.
 */
const ZERO_THREAD_MIN_CHUNK = 256 << 10;
let recycled = 0;
let zero_thread: Worker | undefined;
let zero_thread_failed = false;
/**
 * Sizes that got one chunk beyond what was released: the first mmap after a
 * free finds the freed chunk still being zeroed, so it takes a fresh one and
 * the two alternate from then on (one per size, so memory stays bounded).
 */
const doubled = new Set<number>();

/** Hands `c` to the zeroing thread (started at the {@linkcode ZERO_THREAD_AFTER}th large chunk). */
function zero_ahead(c: pooled_chunk): void {
  if (c.buf.byteLength < ZERO_THREAD_MIN_CHUNK) return;
  if (zero_thread === undefined) {
    if (++recycled < ZERO_THREAD_AFTER || zero_thread_failed || !worker_ref_supported()) return;
    if (in_vcpu_worker()) return;
    const w = new Worker(new URL("./page_zero_worker.ts", import.meta.url), {
      type: "module",
      name: "page_zero",
    });
    // Chunks it never got to stay queued: the allocator zeroes them.
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      zero_thread = undefined;
      zero_thread_failed = true;
      w.terminate();
    };
    worker_ref(w, false);
    zero_thread = w;
  }
  c.state = new Int32Array(new SharedArrayBuffer(4));
  const req: page_zero_request = { buf: c.buf, state: c.state, page_size: PAGE_SIZE };
  zero_thread.postMessage(req);
}

/**
 * Marks `buf` as in use by something other than its mapping (a VM's memory
 * map handed to vCPUs), so that unmapping does not recycle it meanwhile.
 */
export function anon_chunk_pin(buf: ArrayBufferLike): void {
  chunk_pins.set(buf, (chunk_pins.get(buf) ?? 0) + 1);
}

/** Undoes one {@linkcode anon_chunk_pin}; a chunk already unmapped is recycled. */
export function anon_chunk_unpin(buf: ArrayBufferLike): void {
  const n = (chunk_pins.get(buf) ?? 0) - 1;
  if (n > 0) {
    chunk_pins.set(buf, n);
    return;
  }
  chunk_pins.delete(buf);
  if (released.has(buf)) {
    released.delete(buf);
    anon_recycle(buf as SharedArrayBuffer);
  }
}

/** Chunks whose mappings are gone but which were pinned at the time. */
const released = new WeakSet<ArrayBufferLike>();

function anon_recycle(buf: SharedArrayBuffer): void {
  const n = buf.byteLength;
  if (n > ANON_POOL_MAX_CHUNK || anon_pool_bytes + n > ANON_POOL_MAX_BYTES) return;
  let list = anon_pool.get(n);
  if (!list) anon_pool.set(n, list = []);
  const c: pooled_chunk = { buf, state: null };
  list.push(c);
  anon_pool_bytes += n;
  zero_ahead(c);
}

/** A zeroed anonymous chunk of `n` bytes: a recycled one if the pool has it. */
function anon_chunk_alloc(n: number): SharedArrayBuffer {
  const list = anon_pool.get(n);
  if (!list?.length) return new SharedArrayBuffer(n);
  let c: pooled_chunk;
  if (n < ZERO_THREAD_MIN_CHUNK || zero_thread === undefined) {
    // Sizes the thread never gets: the last one in, in O(1) (a test with
    // thousands of small memslots recycles thousands of chunks of a size).
    c = list.pop()!;
  } else {
    // The thread zeroes in the order chunks were released: the first ready
    // one is at the front.
    let i = list.findIndex((x) => x.state !== null && Atomics.load(x.state, 0) === CHUNK_ZERO);
    if (i < 0) {
      if (!doubled.has(n)) {
        doubled.add(n);
        return new SharedArrayBuffer(n);
      }
      i = 0;
    }
    c = list.splice(i, 1)[0]!;
  }
  anon_pool_bytes -= n;
  const state = c.state;
  if (
    state === null ||
    Atomics.compareExchange(state, 0, CHUNK_QUEUED, CHUNK_CLAIMED) === CHUNK_QUEUED
  ) {
    zero_dirty_pages(c.buf, PAGE_SIZE);
  } else {
    while (Atomics.load(state, 0) === CHUNK_ZEROING) Atomics.wait(state, 0, CHUNK_ZEROING);
  }
  return c.buf;
}

/** Bytes of the pool the zeroing thread has zeroed already (diagnostics, tests). */
export function anon_pool_zeroed(): number {
  let bytes = 0;
  for (const [n, list] of anon_pool) {
    for (const c of list) if (c.state && Atomics.load(c.state, 0) === CHUNK_ZERO) bytes += n;
  }
  return bytes;
}

/** Bytes of released anonymous memory kept for reuse (diagnostics, tests). */
export function anon_pool_size(): number {
  return anon_pool_bytes;
}

/**
 * A backing made of buffers held strongly (anonymous memory, kvm_run pages,
 * guest_memfd). Anonymous memory creates its chunks when first used, so a
 * huge sparse mapping or guest_memfd costs only the chunks touched.
 */
export class chunked_backing implements mm_backing {
  readonly #chunks: (ArrayBufferLike | undefined)[];
  readonly #anonymous: boolean;
  /** Bytes of the object. */
  readonly size: number;
  /** Bytes per chunk. */
  readonly chunk_size: number;
  /** VMAs mapping anonymous memory; at 0 its chunks are recycled. */
  mappings = 0;

  /**
   * Wraps existing buffers.
   *
   * @param chunks the buffers, each `chunk_size` bytes but the last
   * @param chunk_size bytes per chunk
   */
  constructor(chunks: readonly ArrayBufferLike[], chunk_size: number);
  /** @internal anonymous memory of `size` bytes, chunks created on use */
  constructor(chunks: readonly ArrayBufferLike[], chunk_size: number, size: number);
  constructor(chunks: readonly ArrayBufferLike[], chunk_size: number, size?: number) {
    this.#chunks = [...chunks];
    this.chunk_size = chunk_size;
    this.#anonymous = size !== undefined;
    this.size = size ?? chunks.reduce((n, c) => n + c.byteLength, 0);
  }

  /** The number of chunks. */
  get nr_chunks(): number {
    return this.chunk_size === Infinity
      ? this.#chunks.length
      : Math.ceil(this.size / this.chunk_size);
  }

  /** Chunk `i` (created, zero-filled, at first use for anonymous memory). */
  chunk(i: number): ArrayBufferLike | undefined {
    const c = this.#chunks[i];
    if (c || !this.#anonymous || i < 0 || i >= this.nr_chunks) return c;
    const n = Math.min(this.chunk_size, this.size - i * this.chunk_size);
    return this.#chunks[i] = anon_chunk_alloc(n);
  }

  /** Whether chunk `i` exists (was ever used). */
  has_chunk(i: number): boolean {
    return this.#chunks[i] !== undefined;
  }

  /**
   * Drops chunk `i` (a hole punched over all of it): its memory goes back
   * to the host, and a later use gets a zeroed chunk.
   */
  drop_chunk(i: number): void {
    const c = this.#chunks[i];
    if (!c || !this.#anonymous) return;
    this.#chunks[i] = undefined;
    this.#release(c);
  }

  /** Recycles the chunks of anonymous memory nothing maps any more. */
  release(): void {
    if (!this.#anonymous) return;
    for (let i = 0; i < this.#chunks.length; i++) {
      const c = this.#chunks[i];
      if (c) this.#release(c);
      this.#chunks[i] = undefined;
    }
  }

  #release(c: ArrayBufferLike): void {
    if (chunk_pins.get(c)) released.add(c);
    else anon_recycle(c as SharedArrayBuffer);
  }

  /** Anonymous memory of `size` bytes in `chunk_size` chunks, zero-filled, created on use. */
  static anonymous(size: number, chunk_size: number = ANON_CHUNK_SIZE): chunked_backing {
    return new chunked_backing([], chunk_size, size);
  }
}

/**
 * The bytes past the end of a JavaScript buffer up to its page boundary:
 * zeroed before each read, and the sink of writes there.
 */
const js_tail = new ArrayBuffer(PAGE_SIZE);
const js_tail_u8 = new Uint8Array(js_tail);

/**
 * How many JavaScript buffers stay mapped at once. The mapping of a buffer
 * holds it; the oldest mapping is dropped past this many (and made again,
 * at the same address, when the buffer is passed again). Holding buffers
 * weakly instead (a `WeakRef`) keeps every one alive until the event loop
 * turns, so a synchronous loop of ioctls would grow without bound.
 */
export const JS_MAPPINGS_MAX = 16384;

/** The backing of a JavaScript buffer's mapping. */
class js_backing implements mm_backing {
  readonly size: number;
  readonly chunk_size: number = Infinity;
  readonly #buf: ArrayBufferLike;
  constructor(buf: ArrayBufferLike) {
    this.#buf = buf;
    this.size = buf.byteLength;
  }
  chunk(i: number): ArrayBufferLike | undefined {
    return i === 0 ? this.#buf : undefined;
  }
}

/** A mapping (`struct vm_area_struct`): `[vm_start, vm_end)` of the address space. */
export interface vm_area_struct {
  /** First address. */
  vm_start: number;
  /** One past the last address. */
  vm_end: number;
  /** `VM_READ | VM_WRITE | VM_EXEC | VM_SHARED | VM_MAYSHARE`. */
  vm_flags: number;
  /** Offset of `vm_start` in the backing object, in pages. */
  vm_pgoff: number;
  /** The mapped file (holds a reference), or `null` for anonymous memory and JS buffers. */
  vm_file: file | null;
  /** The memory; the file's `mmap` op sets it. */
  backing: mm_backing | null;
}

/** One piece of a user range that lies in a single buffer. */
export interface user_segment {
  /** The buffer. */
  buffer: ArrayBufferLike;
  /** Offset of the piece in `buffer`. */
  offset: number;
  /** Bytes of the piece. */
  length: number;
  /** The user address of the piece. */
  addr: number;
}

/** Converts a syscall address to a number, or -1 when no user mapping can hold it. */
export function user_addr(addr: bigint): number {
  return addr >= 0n && addr < 0x8000_0000_0000n ? Number(addr) : -1;
}

/** `access_ok()`: the range lies below the end of user space. */
export function access_ok(addr: bigint, size: bigint): boolean {
  const end = BigInt(TASK_SIZE_MAX);
  return size <= end && addr <= end - size && addr >= 0n;
}

/**
 * `struct mmu_notifier`: a secondary MMU that maps part of an address space
 * (KVM's stage-2 page tables), told when a range of it goes away.
 */
export interface mmu_notifier {
  /** `invalidate_range_start`: `[start, end)` of the address space is being unmapped. */
  invalidate_range_start(start: number, end: number): void;
}

/** `struct mm_struct`: the simulated process's address space. */
export class mm_struct {
  /** Mappings, sorted by `vm_start`, never overlapping. */
  readonly #vmas = new block_list<vm_area_struct>();
  #cache: vm_area_struct | undefined;
  #heap_top = USER_HEAP_BASE;
  readonly #js = new WeakMap<ArrayBufferLike, vm_area_struct>();
  /** The JavaScript buffers' VMAs now in the address space, oldest first. */
  readonly #js_mapped = new Set<vm_area_struct>();
  /**
   * Bumped whenever a mapping goes away or is replaced, so that users of
   * translated ranges (memslots handed to vCPUs) know to translate again.
   */
  generation = 0;
  /** The secondary MMUs that mirror this address space (`mm->notifier_subscriptions`). */
  readonly #notifiers = new Set<mmu_notifier>();

  /** `mmu_notifier_register()`: `mn` is told of every range that goes away from now on. */
  mmu_notifier_register(mn: mmu_notifier): void {
    this.#notifiers.add(mn);
  }

  /** `mmu_notifier_unregister()`. */
  mmu_notifier_unregister(mn: mmu_notifier): void {
    this.#notifiers.delete(mn);
  }

  /** The mapping that contains `addr` (`find_vma()` with the containment check), if any. */
  find_vma(addr: number): vm_area_struct | undefined {
    const c = this.#cache;
    if (c && addr >= c.vm_start && addr < c.vm_end) return c;
    const v = this.#vmas;
    let lo = 0, hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v.get(mid)!;
      if (addr < m.vm_start) hi = mid - 1;
      else if (addr >= m.vm_end) lo = mid + 1;
      else return (this.#cache = m);
    }
    return undefined;
  }

  /** The mappings, in address order (diagnostics and tests). */
  vmas(): readonly vm_area_struct[] {
    return this.#vmas.to_array();
  }

  #index_of(start: number): number {
    const v = this.#vmas;
    let lo = 0, hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v.get(mid)!.vm_start < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #insert(vma: vm_area_struct): void {
    this.#vmas.insert(this.#index_of(vma.vm_start), vma);
  }

  #remove(vma: vm_area_struct): void {
    const v = this.#vmas;
    let i = Math.max(0, this.#index_of(vma.vm_start) - 1);
    while (i < v.length && v.get(i) !== vma && v.get(i)!.vm_start <= vma.vm_start) i++;
    if (v.get(i) === vma) v.remove(i);
    if (this.#cache === vma) this.#cache = undefined;
    // A hole opened above the search ceiling: the next search starts at the top.
    if (vma.vm_end > this.#free_ceiling) this.#free_ceiling_reset();
    this.generation++;
  }

  // The top-down search's memo, as Linux's old `free_area_cache` and
  // `cached_hole_size`: the last address handed out, and an upper bound of
  // the largest gap above it that searches walked past. A request that cannot
  // fit in any such gap starts at the memo instead of MMAP_BASE, so a process
  // making thousands of mappings (one per memslot) does not walk all of them
  // for each new one; the address found is the one a full search finds.
  #free_ceiling = MMAP_BASE;
  #free_hole_max = 0;

  #free_ceiling_reset(): void {
    this.#free_ceiling = MMAP_BASE;
    this.#free_hole_max = 0;
  }

  #overlaps(start: number, end: number): boolean {
    const i = this.#index_of(start);
    const prev = this.#vmas.get(i - 1);
    const next = this.#vmas.get(i);
    return (prev !== undefined && prev.vm_end > start) ||
      (next !== undefined && next.vm_start < end);
  }

  /**
   * The user address of byte `offset` of a JavaScript buffer; the buffer is
   * mapped on first use, and always at the same address. The last
   * {@linkcode JS_MAPPINGS_MAX} buffers passed stay mapped (see there).
   */
  addr_of(buffer: ArrayBufferLike, offset: number): number {
    let vma = this.#js.get(buffer);
    if (vma && !this.#js_mapped.has(vma)) {
      this.#insert(vma);
      this.#js_mapped.add(vma);
      this.#js_evict();
    }
    if (!vma) {
      const len = PAGE_ALIGN(Math.max(buffer.byteLength, 1));
      vma = {
        vm_start: this.#heap_top,
        vm_end: this.#heap_top + len,
        vm_flags: VM_READ | VM_WRITE | VM_SHARED | VM_MAYSHARE,
        vm_pgoff: 0,
        vm_file: null,
        backing: new js_backing(buffer),
      };
      this.#heap_top += len + PAGE_SIZE;
      this.#js.set(buffer, vma);
      this.#insert(vma);
      this.#js_mapped.add(vma);
      this.#js_evict();
    }
    return vma.vm_start + offset;
  }

  #js_evict(): void {
    while (this.#js_mapped.size > JS_MAPPINGS_MAX) {
      const old = this.#js_mapped.values().next().value!;
      this.#js_mapped.delete(old);
      this.#remove(old);
    }
  }

  /**
   * `get_unmapped_area()`: a free hint as given, else the highest gap below
   * {@linkcode MMAP_BASE} that fits, as the top-down `vm_unmapped_area()`
   * (mm/mmap.c) finds it, so that unmapped room is used again; `-ENOMEM`
   * when no gap above `mmap_min_addr` fits. A guard page is kept above each
   * new mapping.
   */
  #get_unmapped_area(hint: number, len: number): number {
    if (
      hint && PAGE_ALIGNED(hint) && hint + len <= TASK_SIZE_MAX && !this.#overlaps(hint, hint + len)
    ) {
      return hint;
    }
    // Mappings of 2 MiB or more are aligned as THP-eligible anonymous memory is.
    const align = len >= 0x20_0000 ? 0x20_0000 : PAGE_SIZE;
    // A gap walked past may fit this request (alignment and the guard page
    // included): only a search from the top finds the highest such gap.
    if (len + align + PAGE_SIZE > this.#free_hole_max) {
      const start = this.#top_down(this.#free_ceiling, len, align);
      if (start >= 0) return start;
    }
    this.#free_ceiling_reset();
    const start = this.#top_down(MMAP_BASE, len, align);
    return start >= 0 ? start : -ENOMEM;
  }

  /** The highest `align`ed start below `ceiling` where `len` bytes and a guard page fit, or -1. */
  #top_down(ceiling: number, len: number, align: number): number {
    for (;;) {
      const start = Math.floor((ceiling - len) / align) * align;
      if (start < MMAP_MIN_ADDR) return -1;
      const i = this.#index_of(start);
      const prev = this.#vmas.get(i - 1);
      const next = this.#vmas.get(i);
      let below: vm_area_struct | undefined;
      if (prev !== undefined && prev.vm_end > start) below = prev;
      else if (next !== undefined && next.vm_start < start + len + PAGE_SIZE) below = next;
      if (below === undefined) {
        this.#free_ceiling = Math.min(this.#free_ceiling, start);
        return start;
      }
      this.#free_hole_max = Math.max(this.#free_hole_max, ceiling - below.vm_end);
      ceiling = below.vm_start - PAGE_SIZE;
    }
  }

  /**
   * `mmap(2)` (`ksys_mmap_pgoff` + `do_mmap`): the address, or `-errno`.
   * `filp` is the file for a file mapping (the caller resolved the fd).
   */
  do_mmap(
    addr: bigint,
    length: bigint,
    prot: number,
    flags: number,
    filp: file | null,
    offset: bigint,
  ): number {
    if (length === 0n) return -EINVAL;
    const alen = (length + BigInt(PAGE_SIZE - 1)) & ~BigInt(PAGE_SIZE - 1);
    if (alen > BigInt(TASK_SIZE_MAX)) return -ENOMEM;
    const len = Number(alen);
    const pgoff = Number(offset >> BigInt(PAGE_SHIFT));
    if (offset < 0n || pgoff + len / PAGE_SIZE > Number.MAX_SAFE_INTEGER) return -EOVERFLOW;
    const anon = filp === null;
    const type = flags & MAP_TYPE;
    let vm_flags = (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) |
      (prot & PROT_EXEC ? VM_EXEC : 0);
    switch (type) {
      case MAP_SHARED:
      case MAP_SHARED_VALIDATE:
        if (!anon) {
          const acc = filp.f_flags & O_ACCMODE;
          // A shared writable mapping needs a file opened for writing.
          if ((prot & PROT_WRITE) && acc === O_RDONLY) return -EACCES;
          if (acc === O_WRONLY) return -EACCES;
        }
        vm_flags |= VM_SHARED | VM_MAYSHARE;
        break;
      case MAP_PRIVATE:
        if (!anon && (filp.f_flags & O_ACCMODE) === O_WRONLY) return -EACCES;
        break;
      default:
        return -EINVAL;
    }
    // MAP_SHARED_VALIDATE refuses flags the legacy mmap silently ignored.
    if (type === MAP_SHARED_VALIDATE && (flags & ~LEGACY_MAP_MASK) !== 0) return -EOPNOTSUPP;
    let start: number;
    const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
    const hint = user_addr(addr);
    if (fixed) {
      if (hint < 0 || !PAGE_ALIGNED(hint)) return -EINVAL;
      if (len > TASK_SIZE_MAX - hint) return -ENOMEM;
      if ((flags & MAP_FIXED_NOREPLACE) && this.#overlaps(hint, hint + len)) return -EEXIST;
      start = hint;
    } else {
      start = this.#get_unmapped_area(hint > 0 ? hint : 0, len);
      if (start < 0) return start;
    }
    if (!anon && !filp.f_op.mmap) return -ENODEV;
    const vma: vm_area_struct = {
      vm_start: start,
      vm_end: start + len,
      vm_flags,
      vm_pgoff: pgoff,
      vm_file: filp,
      backing: null,
    };
    if (anon) {
      vma.vm_pgoff = 0;
      const b = chunked_backing.anonymous(len);
      b.mappings = 1;
      vma.backing = b;
    } else {
      const r = filp.f_op.mmap!(filp, vma);
      if (r < 0) return r;
      get_file(filp);
    }
    if (fixed) this.do_munmap(start, len);
    this.#insert(vma);
    this.generation++;
    return start;
  }

  /** `munmap(2)`: 0, or `-EINVAL` for a misaligned, empty or out-of-range request. */
  do_munmap(start: number, len: number): number {
    if (start < 0 || !PAGE_ALIGNED(start) || len <= 0 || len > TASK_SIZE_MAX - start) {
      return -EINVAL;
    }
    const end = start + PAGE_ALIGN(len);
    const v = this.#vmas;
    let i = Math.max(0, this.#index_of(start) - 1);
    let changed = false;
    while (i < v.length && v.get(i)!.vm_start < end) {
      const m = v.get(i)!;
      if (m.vm_end <= start) {
        i++;
        continue;
      }
      changed = true;
      const pieces: vm_area_struct[] = [];
      if (m.vm_start < start) pieces.push({ ...m, vm_end: start });
      if (m.vm_end > end) {
        pieces.push({ ...m, vm_start: end, vm_pgoff: m.vm_pgoff + (end - m.vm_start) / PAGE_SIZE });
      }
      // Each piece that keeps the file keeps a reference to it, as split VMAs do.
      if (m.vm_file) {
        for (let k = 0; k < pieces.length; k++) get_file(m.vm_file);
        fput(m.vm_file);
      }
      this.#js_mapped.delete(m);
      // Anonymous memory nothing maps any more is freed (recycled).
      const b = m.backing;
      if (b instanceof chunked_backing && b.mappings > 0) {
        b.mappings += pieces.length - 1;
        if (b.mappings === 0) b.release();
      }
      v.splice(i, 1, ...pieces);
      i += pieces.length;
    }
    if (changed) {
      this.#cache = undefined;
      this.generation++;
      // A secondary MMU (KVM's stage-2) drops its translations of the range
      // before munmap() returns. Its view is rebuilt from the VMAs, so it is
      // told once they are gone: the guest can no more reach the old pages
      // than the process can.
      for (const mn of this.#notifiers) mn.invalidate_range_start(start, end);
    }
    return 0;
  }

  /**
   * `madvise(2)`: `do_madvise()` of mm/madvise.c (torvalds/linux, the
   * 6.17-era file with `madvise_should_skip()` and `madvise_walk_vmas()`),
   * its checks in the kernel's order:
   *
   * 1. `is_valid_madvise()`: an advice this kernel knows, a page-aligned
   *    `start`, a length that does not round up to 0 and a range that does
   *    not wrap, else `-EINVAL`; an empty range is then a success;
   * 2. `MADV_HWPOISON` / `MADV_SOFT_OFFLINE` need `CAP_SYS_ADMIN`, which the
   *    simulated process does not hold: `-EPERM`;
   * 3. `MADV_POPULATE_READ/WRITE` fault the range in, mapping by mapping:
   *    `-ENOMEM` where nothing is mapped, `-EINVAL` for a mapping without the
   *    access asked for; the simulated memory is always present, so
   *    nothing else happens;
   * 4. any other advice walks the mappings of the range: each one gets the
   *    advice (`madvise_vma_behavior()`), the first error stops the walk, and
   *    a hole in the range makes the result `-ENOMEM` once the walk is done.
   *
   * What each advice does to memory: `MADV_DONTNEED(_LOCKED)` zaps private
   * anonymous memory, which reads back as zeroes (JavaScript buffers are the
   * heap: private anonymous in C); shared memory and file mappings keep
   * their contents (the page cache holds them). `MADV_REMOVE` punches a hole
   * through the file of a shared writable mapping (`vfs_fallocate(PUNCH_HOLE
   * | KEEP_SIZE)`, through `fallocate`), shared anonymous memory included
   * (shmem in Linux); private mappings get `-EINVAL`, read-only shared ones
   * `-EACCES`. `MADV_FREE` (anonymous only, else `-EINVAL`) frees lazily:
   * with no memory pressure the contents stay. The other advices are hints
   * or VMA flags about fork, core dumps, KSM and THP, which the simulated
   * process never uses; they succeed where the kernel's VMA checks pass.
   * Guard regions (`MADV_GUARD_INSTALL`/`_REMOVE`, Linux 6.13) are not
   * modelled: they are refused with `-EINVAL`, as an older kernel does.
   */
  do_madvise(
    start: bigint,
    len_in: bigint,
    behavior: number,
    fallocate: (f: file, mode: number, offset: bigint, len: bigint) => number,
  ): number {
    const ULONG = (1n << 64n) - 1n;
    start = BigInt.asUintN(64, start);
    len_in = BigInt.asUintN(64, len_in);
    // is_valid_madvise(), then madvise_should_skip()'s empty range.
    if (!madvise_behavior_valid(behavior)) return -EINVAL;
    if (!PAGE_ALIGNED(start)) return -EINVAL;
    const len = (len_in + BigInt(PAGE_SIZE - 1)) & ULONG & ~BigInt(PAGE_SIZE - 1);
    if (len_in !== 0n && len === 0n) return -EINVAL;
    if (start + len > ULONG) return -EINVAL;
    if (len === 0n) return 0;
    if (behavior === MADV_HWPOISON || behavior === MADV_SOFT_OFFLINE) return -EPERM;
    // No user mapping lies at or above TASK_SIZE_MAX: a range there is all hole.
    const lim = BigInt(TASK_SIZE_MAX);
    const s = Number(start < lim ? start : lim);
    const end = Number(start + len < lim ? start + len : lim);
    if (behavior === MADV_POPULATE_READ || behavior === MADV_POPULATE_WRITE) {
      const need = behavior === MADV_POPULATE_WRITE ? VM_WRITE : VM_READ;
      for (let a = s; a < end;) {
        const vma = this.find_vma(a);
        if (!vma) return -ENOMEM;
        if (!(vma.vm_flags & need)) return -EINVAL;
        a = vma.vm_end;
      }
      return start + len > lim ? -ENOMEM : 0;
    }
    // madvise_walk_vmas().
    let unmapped_error = 0;
    let a = s;
    let i = this.#index_of(a);
    if (i > 0 && this.#vmas.get(i - 1)!.vm_end > a) i--;
    for (;;) {
      const vma = this.#vmas.get(i);
      if (!vma || vma.vm_start >= end) {
        if (a < end || start + len > lim) unmapped_error = -ENOMEM;
        return unmapped_error;
      }
      if (a < vma.vm_start) {
        unmapped_error = -ENOMEM;
        a = vma.vm_start;
      }
      const e = Math.min(vma.vm_end, end);
      const err = this.#madvise_vma_behavior(vma, a, e, behavior, fallocate);
      if (err) return err;
      a = e;
      if (a >= end) return start + len > lim ? -ENOMEM : unmapped_error;
      i++;
    }
  }

  /** `madvise_vma_behavior()` for `[start, end)` of `vma`. */
  #madvise_vma_behavior(
    vma: vm_area_struct,
    start: number,
    end: number,
    behavior: number,
    fallocate: (f: file, mode: number, offset: bigint, len: bigint) => number,
  ): number {
    const anon = vma_is_anonymous(vma);
    switch (behavior) {
      case MADV_REMOVE: {
        // madvise_remove(): shared anonymous memory is a shmem file in Linux.
        const shmem = vma.vm_file === null && !anon;
        if (!vma.vm_file && !shmem) return -EINVAL;
        if (!vma_is_shared_maywrite(vma)) return -EACCES;
        if (shmem) {
          this.#zap(vma, start, end);
          return 0;
        }
        const offset = BigInt(start - vma.vm_start) + (BigInt(vma.vm_pgoff) << BigInt(PAGE_SHIFT));
        return fallocate(
          vma.vm_file!,
          FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
          offset,
          BigInt(end - start),
        );
      }
      case MADV_FREE:
        // madvise_free_single_vma(): lazily freed, so without memory pressure nothing changes.
        return anon ? 0 : -EINVAL;
      case MADV_DONTNEED:
      case MADV_DONTNEED_LOCKED:
        // zap_page_range_single(): a private anonymous page is gone (reads see
        // the zero page); a shared or file page stays in the page cache.
        if (anon) this.#zap(vma, start, end);
        return 0;
      case MADV_DOFORK:
      case MADV_KEEPONFORK:
      case MADV_DODUMP:
        // VM_IO, VM_DROPPABLE and VM_SPECIAL, which these refuse, never occur here.
        return 0;
      case MADV_WIPEONFORK:
        return vma.vm_file || (vma.vm_flags & VM_SHARED && !anon) ? -EINVAL : 0;
      default:
        // Hints and VMA flags with no effect on the contents (see do_madvise()).
        return 0;
    }
  }

  /**
   * Zeroes `[start, end)` of `vma`'s memory in place: the pages a vCPU sees
   * through a memslot are the same buffers, so the guest reads zeroes as it
   * would after KVM's MMU notifier zapped its mapping. Chunks never created
   * and pages already zero are left untouched, so nothing is committed.
   */
  #zap(vma: vm_area_struct, start: number, end: number): void {
    const b = vma.backing;
    if (!b) return;
    let obj = start - vma.vm_start + vma.vm_pgoff * PAGE_SIZE;
    const obj_end = Math.min(obj + (end - start), b.size);
    while (obj < obj_end) {
      const ci = b.chunk_size === Infinity ? 0 : Math.floor(obj / b.chunk_size);
      const base = b.chunk_size === Infinity ? 0 : ci * b.chunk_size;
      const n = Math.min(obj_end, b.chunk_size === Infinity ? b.size : base + b.chunk_size) - obj;
      const buf = b instanceof chunked_backing && !b.has_chunk(ci) ? undefined : b.chunk(ci);
      if (buf) zero_nonzero_pages(buf, obj - base, n);
      obj += n;
    }
  }

  /**
   * Walks the user range `[addr, addr + len)` piece by piece: `fn` sees each
   * piece that lies in one buffer. Returns false, having stopped, when part of
   * the range is not mapped, not accessible as `write` asks, or its buffer is
   * gone.
   */
  walk(addr: number, len: number, write: boolean, fn: (s: user_segment) => void): boolean {
    if (addr < 0) return false;
    const end = addr + len;
    let a = addr;
    const seg: user_segment = { buffer: new ArrayBuffer(0), offset: 0, length: 0, addr: 0 };
    while (a < end) {
      const vma = this.find_vma(a);
      if (!vma || !vma.backing) return false;
      if (!(vma.vm_flags & (write ? VM_WRITE : VM_READ))) return false;
      const b = vma.backing;
      const obj = a - vma.vm_start + vma.vm_pgoff * PAGE_SIZE;
      if (obj >= b.size && b instanceof js_backing) {
        // The tail of a JavaScript buffer's last page (see the module doc).
        const n = Math.min(end - a, vma.vm_end - a);
        if (!write) js_tail_u8.fill(0, 0, n);
        seg.buffer = js_tail;
        seg.offset = 0;
        seg.length = n;
        seg.addr = a;
        fn(seg);
        a += n;
        continue;
      }
      if (obj >= b.size) return false;
      const ci = b.chunk_size === Infinity ? 0 : Math.floor(obj / b.chunk_size);
      const buf = b.chunk(ci);
      if (!buf) return false;
      const inner = b.chunk_size === Infinity ? obj : obj - ci * b.chunk_size;
      const n = Math.min(end - a, vma.vm_end - a, buf.byteLength - inner);
      if (n <= 0) return false;
      seg.buffer = buf;
      seg.offset = inner;
      seg.length = n;
      seg.addr = a;
      fn(seg);
      a += n;
    }
    return true;
  }

  /** `copy_from_user()`: 0, or `-EFAULT` (nothing is guaranteed copied then). */
  copy_from_user(dst: Uint8Array, src: bigint, len: number = dst.length): number {
    const a = user_addr(src);
    let o = 0;
    const ok = this.walk(a, len, false, (s) => {
      dst.set(new Uint8Array(s.buffer, s.offset, s.length), o);
      o += s.length;
    });
    return ok ? 0 : -EFAULT;
  }

  /** `copy_to_user()`: 0, or `-EFAULT`. */
  copy_to_user(dst: bigint, src: Uint8Array, len: number = src.length): number {
    const a = user_addr(dst);
    let o = 0;
    const ok = this.walk(a, len, true, (s) => {
      new Uint8Array(s.buffer, s.offset, s.length).set(src.subarray(o, o + s.length));
      o += s.length;
    });
    return ok ? 0 : -EFAULT;
  }

  /**
   * A view of `len` bytes at `addr` that aliases user memory, or `null` when
   * the range is not mapped or crosses from one buffer into another.
   */
  user_memory(addr: bigint, len: number): Uint8Array | null {
    const a = user_addr(addr);
    // The common case, a range inside one mapping and one buffer, without
    // the walk's per-piece callback (the library reads page tables and IDT
    // entries through here thousands of times per VM it builds).
    const vma = a >= 0 && len > 0 ? this.find_vma(a) : undefined;
    if (vma?.backing && (vma.vm_flags & VM_READ) && a + len <= vma.vm_end) {
      const b = vma.backing;
      const obj = a - vma.vm_start + vma.vm_pgoff * PAGE_SIZE;
      if (obj + len <= b.size) {
        const ci = b.chunk_size === Infinity ? 0 : Math.floor(obj / b.chunk_size);
        const inner = b.chunk_size === Infinity ? obj : obj - ci * b.chunk_size;
        const buf = b.chunk(ci);
        if (buf && inner + len <= buf.byteLength) return new Uint8Array(buf, inner, len);
      }
    }
    let view: Uint8Array | null = null;
    let pieces = 0;
    let tail = false;
    const ok = this.walk(a, len, false, (s) => {
      pieces++;
      tail ||= s.buffer === js_tail;
      view = new Uint8Array(s.buffer, s.offset, s.length);
    });
    // The tail of a JavaScript buffer's page has no memory to alias.
    if (!ok || pieces > 1 || tail) return null;
    return view ?? new Uint8Array(0);
  }
}

/** `madvise_behavior_valid()` for a kernel with KSM, THP and memory-failure support. */
function madvise_behavior_valid(behavior: number): boolean {
  switch (behavior) {
    case MADV_DOFORK:
    case MADV_DONTFORK:
    case MADV_NORMAL:
    case MADV_SEQUENTIAL:
    case MADV_RANDOM:
    case MADV_REMOVE:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE:
    case MADV_COLD:
    case MADV_PAGEOUT:
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE:
    case MADV_MERGEABLE:
    case MADV_UNMERGEABLE:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_COLLAPSE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_WIPEONFORK:
    case MADV_KEEPONFORK:
    case MADV_SOFT_OFFLINE:
    case MADV_HWPOISON:
      return true;
    default:
      return false;
  }
}

/**
 * `vma_is_anonymous()`, as far as madvise cares: private memory with no file
 * behind it. A JavaScript buffer's mapping counts: it stands for C's heap.
 */
function vma_is_anonymous(vma: vm_area_struct): boolean {
  if (vma.vm_file) return false;
  return !(vma.vm_flags & VM_SHARED) || vma.backing instanceof js_backing;
}

/**
 * `vma_is_shared_maywrite()`: a shared mapping that may become writable
 * (`VM_MAYWRITE`, which a shared file mapping has when the file was opened
 * for writing, and shared anonymous memory always has).
 */
function vma_is_shared_maywrite(vma: vm_area_struct): boolean {
  if (!(vma.vm_flags & VM_SHARED)) return false;
  return !vma.vm_file || (vma.vm_file.f_flags & O_ACCMODE) !== O_RDONLY;
}

/** Zeroes `[off, off + n)` of `buf` page by page, skipping pages that are already zero. */
function zero_nonzero_pages(buf: ArrayBufferLike, off: number, n: number): void {
  const end = off + n;
  for (let p = off; p < end; p += PAGE_SIZE) {
    const e = Math.min(p + PAGE_SIZE, end);
    const page = new Uint8Array(buf, p, e - p);
    if (p % 4 === 0 && (e - p) % 4 === 0) {
      const q = new Int32Array(buf, p, (e - p) >> 2);
      for (let i = 0; i < q.length; i++) {
        if (q[i] !== 0) {
          page.fill(0);
          break;
        }
      }
    } else page.fill(0);
  }
}
