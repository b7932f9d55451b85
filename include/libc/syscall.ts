// SPDX-License-Identifier: GPL-2.0-only
/**
 * The syscall boundary: the libc calls the selftest library makes, with C
 * semantics. A failing call returns `-1` (`MAP_FAILED` for `mmap`) and sets
 * `errno`, which the caller reads right after with `errno_get()`; a successful
 * call leaves `errno` alone, as libc does.
 *
 * Pointers are user addresses (`bigint`). Struct views and typed arrays may be
 * passed where C passes a pointer; they are converted with {@linkcode ptr}.
 *
 * @module
 */

import type { ViewBase } from "../c/layout.ts";
import { block_list } from "../linux/block_list.ts";
import { MAP_FAILED } from "../linux/mman.ts";
import { type Backend, backend, init_backend, load_backend, set_backend } from "./backend.ts";
import { errno_set } from "./errno.ts";
import { atexit } from "./exit.ts";
import { host_only, in_vcpu_worker } from "./process.ts";
import { kvm_trace, trace_ioctl, trace_mmap, trace_set_reader } from "./trace.ts";

// A vCPU worker imports the test module for its guest code only. The
// module's top-level code (a `Deno.test` whose `ignore` asks for a
// capability, say) still runs there: its system calls go to the worker's own
// simulated kernel, never to the host's, whatever backend the process uses;
// once guest code runs, each syscall below refuses (host_only()).
if (in_vcpu_worker()) set_backend(await load_backend("sim"));
else await init_backend();

// KVM_SELFTESTS_TRACE (include/libc/trace.ts): decided once, so an untraced
// call pays one boolean test.
const tracing = kvm_trace.ioctl || kvm_trace.exit;
if (tracing) trace_set_reader((addr, len) => backend().user_memory(addr, len));

const SYSCALL_HINT = "guest code reaches the host through exits (ucall, port I/O, MMIO, " +
  "hypercalls)";

/** The backend, after refusing a system call made on a simulated vCPU. */
function kernel(call: string): Backend {
  host_only(call, SYSCALL_HINT);
  return backend();
}

/** Anything C would pass as a pointer: a user address, or JavaScript memory. */
export type Pointer = bigint | ArrayBufferView | ArrayBufferLike | ViewBase;

/** An ioctl argument: an integer value or a pointer. */
export type IoctlArg = number | Pointer;

function isView(p: unknown): p is ViewBase {
  return typeof p === "object" && p !== null && "$buffer" in p && "$offset" in p;
}

/** The user address of `p`, as `(unsigned long)p` in C. */
export function ptr(p: Pointer): bigint {
  if (typeof p === "bigint") return p;
  const b: Backend = kernel("ptr()");
  if (isView(p)) return b.addr_of(p.$buffer, p.$offset);
  if (ArrayBuffer.isView(p)) return b.addr_of(p.buffer, p.byteOffset);
  return b.addr_of(p, 0);
}

/** The kernel's error returns: libc treats only -4095..-1 (`-MAX_ERRNO..-1`) as `-errno`. */
const MAX_ERRNO = 4095;

/**
 * libc's wrapper around a syscall that returns `int`: a raw return in
 * -4095..-1 becomes -1 with `errno` set; anything else is the kernel's
 * `long` truncated to C's `int`, as glibc's `ioctl()` returns it.
 */
function ret(r: number): number {
  if (r >= -MAX_ERRNO && r <= -1) {
    errno_set(-r);
    return -1;
  }
  return r | 0;
}

function retBig(r: bigint): bigint {
  if (r < 0n && r >= -BigInt(MAX_ERRNO)) {
    errno_set(Number(-r));
    return -1n;
  }
  return r;
}

/** `open(2)`. */
export function open(path: string, flags: number, mode = 0): number {
  return ret(kernel("open()").open(path, flags, mode));
}

/** `close(2)`. */
export function close(fd: number): number {
  return ret(kernel("close()").close(fd));
}

function ioctlArg(arg: IoctlArg | undefined): bigint {
  if (arg === undefined) return 0n;
  if (typeof arg === "number") return BigInt.asUintN(64, BigInt(arg));
  return BigInt.asUintN(64, ptr(arg));
}

/** `ioctl(2)`; a number is passed by value, anything else by address. */
export function ioctl(fd: number, request: number, arg?: IoctlArg): number {
  const a = ioctlArg(arg);
  const r = kernel("ioctl()").ioctl(fd, request, a);
  if (tracing) trace_ioctl(fd, request, a, r);
  return ret(r);
}

/**
 * `ioctl(2)` that lets other JavaScript run while the kernel blocks in it,
 * the way a pthread blocks in `KVM_RUN` while its siblings run.
 */
export async function ioctl_async(fd: number, request: number, arg?: IoctlArg): Promise<number> {
  const a = ioctlArg(arg);
  const r = await kernel("ioctl()").ioctl_async(fd, request, a);
  if (tracing) trace_ioctl(fd, request, a, r);
  return ret(r);
}

/** `mmap(2)`: the address, or `MAP_FAILED` with `errno` set. */
export function mmap(
  addr: bigint,
  length: number | bigint,
  prot: number,
  flags: number,
  fd: number,
  offset: number | bigint,
): bigint {
  const r = retBig(kernel("mmap()").mmap(addr, BigInt(length), prot, flags, fd, BigInt(offset)));
  if (r === -1n) return MAP_FAILED;
  if (tracing) trace_mmap(fd, BigInt(offset), r);
  mappings_add(r, page_align(BigInt(length)));
  return r;
}

/** `munmap(2)`. */
export function munmap(addr: bigint, length: number | bigint): number {
  const r = ret(kernel("munmap()").munmap(addr, BigInt(length)));
  if (r === 0) mappings_forget(addr, page_align(BigInt(length)));
  return r;
}

/**
 * `madvise(2)`: 0, or -1 with `errno` set. `MADV_DONTNEED` on private
 * anonymous memory drops it (a later read sees zeroes, the guest's included).
 */
export function madvise(addr: bigint, length: number | bigint, advice: number): number {
  return ret(kernel("madvise()").madvise(addr, BigInt(length), advice));
}

// The mappings this process made and has not unmapped, as [start, end) ranges.
// A process's exit unmaps them (and so drops the references they hold: a
// guest_memfd mapping keeps its VM alive); under `deno test` a test is a
// process, and the harness runs the atexit handlers after each one. Kept
// sorted and disjoint, so that a test with thousands of mappings (one per
// memslot) pays a binary search per mmap/munmap, not a scan.
let mappings = new block_list<[bigint, bigint]>();

function page_align(len: bigint): bigint {
  return (len + 0xfffn) & ~0xfffn;
}

/** Index of the first mapping that ends above `addr`. */
function mappings_index(addr: bigint): number {
  let lo = 0, hi = mappings.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (mappings.get(mid)![1] <= addr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function mappings_forget(start: bigint, len: bigint): void {
  const end = start + len;
  const i = mappings_index(start);
  let j = i;
  const keep: [bigint, bigint][] = [];
  for (const [s, e] of mappings.from(i)) {
    if (s >= end) break;
    j++;
    if (s < start) keep.push([s, start]);
    if (e > end) keep.push([end, e]);
  }
  if (j > i || keep.length) mappings.splice(i, j - i, ...keep);
}

function mappings_add(start: bigint, len: bigint): void {
  mappings_forget(start, len);
  mappings.insert(mappings_index(start), [start, start + len]);
}

atexit(() => {
  const left = mappings;
  mappings = new block_list();
  for (const [s, e] of left) kernel("munmap()").munmap(s, e - s);
});

/** `fallocate(2)`. */
export function fallocate(
  fd: number,
  mode: number,
  offset: number | bigint,
  len: number | bigint,
): number {
  return ret(kernel("fallocate()").fallocate(fd, mode, BigInt(offset), BigInt(len)));
}

/** `read(2)` into `buf`; the byte count, or -1. */
export function read(fd: number, buf: Pointer, count: number): number {
  return Number(retBig(kernel("read()").read(fd, ptr(buf), BigInt(count))));
}

/** `write(2)` from `buf`; the byte count, or -1. */
export function write(fd: number, buf: Pointer, count: number): number {
  return Number(retBig(kernel("write()").write(fd, ptr(buf), BigInt(count))));
}

/** `eventfd(3)` (the eventfd2 syscall): a descriptor, or -1. */
export function eventfd(initval: number, flags: number): number {
  return ret(kernel("eventfd()").eventfd(initval, flags));
}

/** `dup(2)`. */
export function dup(fd: number): number {
  return ret(kernel("dup()").dup(fd));
}

/** `struct rlimit`. */
export interface rlimit {
  /** Soft limit. */
  rlim_cur: bigint;
  /** Hard limit. */
  rlim_max: bigint;
}

/** `getrlimit(2)`: fills `rl`; 0 or -1. */
export function getrlimit(resource: number, rl: rlimit): number {
  const r = kernel("getrlimit()").getrlimit(resource);
  if (typeof r === "number") return ret(r);
  [rl.rlim_cur, rl.rlim_max] = r;
  return 0;
}

/** `setrlimit(2)`. */
export function setrlimit(resource: number, rl: rlimit): number {
  return ret(kernel("setrlimit()").setrlimit(resource, rl.rlim_cur, rl.rlim_max));
}

/** `pread(2)` into `buf`; the byte count, or -1. */
export function pread(fd: number, buf: Pointer, count: number, offset: number | bigint): number {
  return Number(retBig(kernel("pread()").pread(fd, ptr(buf), BigInt(count), BigInt(offset))));
}

/** `pwrite(2)` from `buf`; the byte count, or -1. */
export function pwrite(fd: number, buf: Pointer, count: number, offset: number | bigint): number {
  return Number(retBig(kernel("pwrite()").pwrite(fd, ptr(buf), BigInt(count), BigInt(offset))));
}

/** `fstat(2)`: fills `statbuf` (a `struct stat`, `include/asm/stat.ts`). */
export function fstat(fd: number, statbuf: Pointer): number {
  return ret(kernel("fstat()").fstat(fd, ptr(statbuf)));
}

/**
 * A view of `len` bytes of user memory at `addr` that aliases it, as
 * dereferencing a C pointer does; throws when nothing is mapped there (C would
 * take SIGSEGV).
 */
export function user_memory(addr: bigint, len: number): Uint8Array {
  const m = kernel("user_memory()").user_memory(addr, len);
  if (!m) {
    throw new RangeError(
      `Segmentation fault: ${len} bytes at 0x${addr.toString(16)} are not mapped`,
    );
  }
  return m;
}
