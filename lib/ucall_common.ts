// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/ucall_common.c` and
 * `include/ucall_common.h`: how guest code calls the host ("ucalls").
 *
 * The pool of `struct ucall` lives in shared guest memory (`vm_alloc_shared`,
 * so it stays host-visible in a TD). A guest takes a free slot, fills in the
 * command, arguments and message, and hands the slot's *host* address to the
 * host through the arch exit (x86: an `in` from port 0x1000 with RDI = that
 * address). The host copies the slot and completes the exit.
 *
 * Strings a guest passes are pointers in C, into the test ELF that host and
 * guest share. TypeScript strings are not in guest memory, so the guest copies
 * each string argument into its ucall slot's `buffer` (after the formatted
 * message) and passes the string's host address in the argument, as C passes
 * the literal's address: `GUEST_SYNC(stage)` sends `args[0]` = the address of
 * `"hello"`, and `GUEST_ASSERT` sends the expression and file name this way.
 * The host reads them with {@linkcode c_str}.
 *
 * Guest asserts report the guest's file, line and expression text, recovered
 * in the vCPU worker from the call site (`include/linux/stringify.ts`), and
 * `vcpu_run()` turns the resulting `UCALL_ABORT` into the host's
 * `TEST_ASSERT` failure block, exit status 254.
 *
 * @module
 */

import {
  array,
  type ArrayType,
  type RecordType,
  struct,
  type u64,
  u64 as U64,
  u8,
  type View,
} from "../include/c/layout.ts";
import {
  type gpa_t,
  type gva_t,
  KVM_MAX_VCPUS,
  kvm_mem_region_type,
  KVM_UTIL_MIN_VADDR,
  type kvm_vcpu,
  type kvm_vm,
} from "../include/kvm_util_types.ts";
import { user_memory } from "../include/libc/syscall.ts";
import { type call_site, callsite, stringify_args } from "../include/linux/stringify.ts";
import { vformat } from "../include/linux/printf.ts";
import { pr_info, TEST_ASSERT } from "../include/test_util.ts";
import { test_assert } from "./assert.ts";
import { exit } from "../include/libc/exit.ts";
import { KSFT_XFAIL } from "../include/kselftest.ts";
import {
  addr_gva2hva,
  vcpu_run_complete_io,
  vm_alloc_shared,
  write_guest_global,
} from "./kvm_util.ts";
import { guest_global } from "./guest_globals.ts";
import {
  guest_clear_bit,
  guest_read_cstr,
  guest_read_u64,
  guest_test_and_set_bit,
  guest_write,
  guest_write_u64,
} from "./guest_memory.ts";
import { ucall_arch_do_ucall, ucall_arch_get_ucall, ucall_arch_init } from "./x86/ucall.ts";

/** C `UCALL_NONE`: no ucall (the exit was something else). */
export const UCALL_NONE = 0;
/** C `UCALL_SYNC`: `GUEST_SYNC*`. */
export const UCALL_SYNC = 1;
/** C `UCALL_ABORT`: a guest assertion failed. */
export const UCALL_ABORT = 2;
/** C `UCALL_PRINTF`: `GUEST_PRINTF`. */
export const UCALL_PRINTF = 3;
/** C `UCALL_DONE`: `GUEST_DONE`. */
export const UCALL_DONE = 4;
/** C `UCALL_UNHANDLED`. */
export const UCALL_UNHANDLED = 5;

/** C `UCALL_MAX_ARGS`. */
export const UCALL_MAX_ARGS = 7;
/** C `UCALL_BUFFER_LEN`. */
export const UCALL_BUFFER_LEN = 1024;

/** C `GUEST_ERROR_STRING`, `GUEST_FILE`, `GUEST_LINE`: the builtin arguments of an assert. */
export const GUEST_ERROR_STRING = 0;
/** The file argument of an assert. */
export const GUEST_FILE = 1;
/** The line argument of an assert. */
export const GUEST_LINE = 2;
/** C `GUEST_ASSERT_BUILTIN_NARGS`. */
export const GUEST_ASSERT_BUILTIN_NARGS = 3;

/** C `GUEST_UCALL_FAILED`: what a guest sends when it cannot get a ucall slot. */
export const GUEST_UCALL_FAILED: bigint = -1n;

/** C `struct ucall` (1096 bytes). */
export const ucall_struct: RecordType<{
  cmd: u64;
  args: ArrayType<u64>;
  buffer: ArrayType<typeof u8>;
  hva: u64;
}> = struct("ucall", {
  cmd: U64,
  args: array(U64, UCALL_MAX_ARGS),
  buffer: array(u8, UCALL_BUFFER_LEN),
  hva: U64,
});

/** A host-side `struct ucall uc;` (allocate with `ucall_struct.alloc()` or {@linkcode new_ucall}). */
export type ucall = View<typeof ucall_struct.fields>;

/**
 * C `struct ucall uc;` on the host.
 *
 * @returns a zeroed ucall
 */
export function new_ucall(): ucall {
  return ucall_struct.alloc();
}

const OFF_CMD = 0;
const OFF_ARGS = 8;
const OFF_BUFFER = 8 + 8 * UCALL_MAX_ARGS;
const OFF_HVA = OFF_BUFFER + UCALL_BUFFER_LEN;

/** C `struct ucall_header`: the in-use bitmap, then `KVM_MAX_VCPUS` ucalls. */
const UCALL_HEADER_BITMAP = KVM_MAX_VCPUS / 8;
const UCALL_HEADER_SIZE = UCALL_HEADER_BITMAP + KVM_MAX_VCPUS * ucall_struct.size;

/** C `ucall_pool`: a guest global, so each VM's image holds its own pool GVA; the host keeps `pool_hva` instead. */
const ucall_pool = guest_global("ucall_pool", U64);

/** Host: each VM's pool (`struct ucall_header`), for arch exits that name a slot by index. */
const pool_hva = new WeakMap<kvm_vm, bigint>();

/**
 * C `ucall_nr_pages_required(page_size)`.
 *
 * @param page_size the guest page size
 * @returns pages the pool takes
 */
export function ucall_nr_pages_required(page_size: number): number {
  return Math.ceil(UCALL_HEADER_SIZE / page_size);
}

/**
 * C `ucall_init(vm, mmio_gpa)`: allocate the shared pool, set each slot's
 * `hva` to its own host address, publish the pool to the guest, and set up
 * the arch exit.
 *
 * @param vm the VM
 * @param mmio_gpa a GPA outside every memslot, for MMIO-based ucalls
 */
export function ucall_init(vm: kvm_vm, mmio_gpa: gpa_t): void {
  const vaddr = vm_alloc_shared(
    vm,
    UCALL_HEADER_SIZE,
    KVM_UTIL_MIN_VADDR,
    kvm_mem_region_type.MEM_REGION_DATA,
  );
  // One allocation of contiguous guest pages is contiguous on the host.
  const hdr_hva = addr_gva2hva(vm, vaddr);
  const hdr = user_memory(hdr_hva, UCALL_HEADER_SIZE);
  hdr.fill(0);
  const dv = new DataView(hdr.buffer, hdr.byteOffset, hdr.byteLength);
  // User addresses are below 2^47, exact in a double: the 512 slot addresses
  // are written as halves, without a bigint each.
  const base = Number(hdr_hva);
  for (let i = 0; i < KVM_MAX_VCPUS; ++i) {
    const off = UCALL_HEADER_BITMAP + i * ucall_struct.size;
    const hva = base + off;
    dv.setUint32(off + OFF_HVA, hva >>> 0, true);
    dv.setUint32(off + OFF_HVA + 4, Math.floor(hva / 0x100000000), true);
  }
  write_guest_global(vm, ucall_pool, vaddr);
  pool_hva.set(vm, hdr_hva);
  ucall_arch_init(vm, mmio_gpa);
}

/**
 * Host: the host address of slot `index` of `vm`'s ucall pool. Not in C: an
 * arch exit whose payload is too small for a pointer (a TD's 4-byte PIO) can
 * name the slot by index instead (`lib/x86/ucall.ts`).
 *
 * @param vm the VM
 * @param index the slot, as {@linkcode ucall_pool_index} gave it
 * @returns the slot's host address, or 0 when `index` is not a slot of the pool
 */
export function ucall_pool_hva(vm: kvm_vm, index: number): bigint {
  const hva = pool_hva.get(vm);
  if (hva === undefined || !Number.isInteger(index) || index < 0 || index >= KVM_MAX_VCPUS) {
    return 0n;
  }
  return hva + BigInt(UCALL_HEADER_BITMAP + index * ucall_struct.size);
}

// ---------------------------------------------------------------------------
// Guest side

/** A guest ucall slot: its GVA and its host address. */
interface guest_ucall {
  gva: gva_t;
  hva: bigint;
  index: number;
}

function ucall_alloc(): guest_ucall | null {
  const pool = ucall_pool.value;
  if (pool) {
    for (let i = 0; i < KVM_MAX_VCPUS; ++i) {
      if (!guest_test_and_set_bit(i, pool)) {
        const gva = pool + BigInt(UCALL_HEADER_BITMAP + i * ucall_struct.size);
        guest_write(gva + BigInt(OFF_ARGS), new Uint8Array(8 * UCALL_MAX_ARGS));
        return { gva, hva: guest_read_u64(gva + BigInt(OFF_HVA)), index: i };
      }
    }
  }
  // Every slot busy: exit with GUEST_UCALL_FAILED in place of a slot address,
  // which get_ucall() reports as a failure. A guest assert would need a slot
  // of its own, so none is attempted.
  ucall_arch_do_ucall(GUEST_UCALL_FAILED);
  return null;
}

function ucall_free(uc: guest_ucall): void {
  guest_clear_bit(uc.index, ucall_pool.value);
}

/**
 * Guest: the pool index of the ucall whose host address is `uc` (the inverse
 * of {@linkcode ucall_pool_hva}). Each slot's `hva` field says where the host
 * sees it, so the first slot's gives the pool's host base.
 *
 * @param uc the ucall's host address, as `ucall_arch_do_ucall()` receives it
 * @returns the slot index, or -1 when `uc` is not a slot of this VM's pool
 */
export function ucall_pool_index(uc: bigint): number {
  const pool = ucall_pool.value;
  if (!pool) return -1;
  const first = guest_read_u64(pool + BigInt(UCALL_HEADER_BITMAP + OFF_HVA));
  const off = uc - first;
  const size = BigInt(ucall_struct.size);
  if (off < 0n || off % size !== 0n || off / size >= BigInt(KVM_MAX_VCPUS)) return -1;
  return Number(off / size);
}

/** A ucall argument: an integer, or a string the guest passes by address (see the module notes). */
export type ucall_arg = number | bigint | boolean | string;

const encoder = new TextEncoder();

/**
 * Fill a slot's buffer: the message (NUL-terminated), then each string
 * argument; returns the host address of each string.
 */
function fill_buffer(uc: guest_ucall, message: string | null, strings: string[]): bigint[] {
  const buf = new Uint8Array(UCALL_BUFFER_LEN);
  let used = 0;
  if (message !== null) {
    const m = encoder.encode(message);
    // What the strings need is kept free; the message is cut as vsnprintf cuts.
    const reserve = strings.reduce((n, s) => n + encoder.encode(s).length + 1, 0);
    const room = Math.max(0, UCALL_BUFFER_LEN - 1 - Math.min(reserve, UCALL_BUFFER_LEN / 2));
    const len = Math.min(m.length, room);
    buf.set(m.subarray(0, len), 0);
    used = len + 1;
  }
  const addrs: bigint[] = [];
  for (const s of strings) {
    const b = encoder.encode(s);
    const len = Math.min(b.length, Math.max(0, UCALL_BUFFER_LEN - used - 1));
    buf.set(b.subarray(0, len), used);
    addrs.push(uc.hva + BigInt(OFF_BUFFER + used));
    used += len + 1;
  }
  guest_write(uc.gva + BigInt(OFF_BUFFER), buf);
  return addrs;
}

function to_u64(v: ucall_arg): bigint {
  return BigInt.asUintN(64, typeof v === "boolean" ? (v ? 1n : 0n) : BigInt(v as number | bigint));
}

/**
 * C `ucall(cmd, nargs, ...)` (guest): send `cmd` and up to 7 arguments.
 *
 * @param cmd the `UCALL_*` command
 * @param nargs how many arguments
 * @param args the arguments
 */
export function ucall(cmd: number | bigint, nargs: number, ...args: ucall_arg[]): void {
  const uc = ucall_alloc();
  if (!uc) return;
  guest_write_u64(uc.gva + BigInt(OFF_CMD), BigInt(cmd));
  nargs = Math.min(nargs, UCALL_MAX_ARGS);
  const strings = args.slice(0, nargs).filter((a): a is string => typeof a === "string");
  const addrs = fill_buffer(uc, null, strings);
  let s = 0;
  for (let i = 0; i < nargs; ++i) {
    const a = args[i] ?? 0;
    guest_write_u64(
      uc.gva + BigInt(OFF_ARGS + 8 * i),
      typeof a === "string" ? addrs[s++]! : to_u64(a),
    );
  }
  ucall_arch_do_ucall(uc.hva);
  ucall_free(uc);
}

/**
 * C `guest_vsnprintf()`: format in the guest. A `%s` whose argument is a
 * number is a guest pointer (`const char *`), read from guest memory. Output
 * that would not fit in `n` bytes fails a guest assertion, as C's
 * `APPEND_BUFFER_SAFE()` does.
 *
 * @param n the buffer size
 * @param fmt the format
 * @param args the arguments
 * @returns the text
 */
export function guest_vsnprintf(n: number, fmt: string, args: readonly unknown[]): string {
  const resolved = resolve_guest_strings(fmt, args);
  const str = vformat(fmt, resolved);
  const end = n - 1;
  // C appends byte by byte and asserts each one fits.
  GUEST_ASSERT(encoder.encode(str).length <= end);
  return str;
}

/** Replace the pointer arguments of `%s` conversions by the guest strings they point to. */
function resolve_guest_strings(fmt: string, args: readonly unknown[]): unknown[] {
  const out = [...args];
  const re = /%(?:%|[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?(hh|h|ll|l|q|j|z|Z|t|L)?([a-zA-Z]))/g;
  let ai = 0;
  for (const m of fmt.matchAll(re)) {
    if (m[0] === "%%") continue;
    if (m[1] === "*") ai++;
    if (m[2] === "*") ai++;
    const conv = m[4];
    if (conv === "s" && (typeof out[ai] === "bigint" || typeof out[ai] === "number")) {
      const p = BigInt(out[ai] as number | bigint);
      out[ai] = p === 0n ? null : guest_read_cstr(p);
    }
    ai++;
  }
  return out;
}

/**
 * C `ucall_fmt(cmd, fmt, ...)` (guest): send `cmd` with a formatted message.
 *
 * @param cmd the `UCALL_*` command
 * @param fmt the format
 * @param args the arguments
 */
export function ucall_fmt(cmd: number | bigint, fmt: string, ...args: unknown[]): void {
  const uc = ucall_alloc();
  if (!uc) return;
  guest_write_u64(uc.gva + BigInt(OFF_CMD), BigInt(cmd));
  fill_buffer(uc, guest_vsnprintf(UCALL_BUFFER_LEN, fmt, args), []);
  ucall_arch_do_ucall(uc.hva);
  ucall_free(uc);
}

/**
 * C `ucall_assert(cmd, exp, file, line, fmt, ...)` (guest): report a failed
 * assertion with its expression text, file, line and message.
 *
 * @param cmd the `UCALL_*` command (`UCALL_ABORT`)
 * @param exp the expression text
 * @param file the file name
 * @param line the line
 * @param fmt the message format
 * @param args the arguments
 */
export function ucall_assert(
  cmd: number | bigint,
  exp: string,
  file: string,
  line: number,
  fmt: string,
  ...args: unknown[]
): void {
  const uc = ucall_alloc();
  if (!uc) return;
  guest_write_u64(uc.gva + BigInt(OFF_CMD), BigInt(cmd));
  // vsnprintf truncates here rather than asserting: an assert that overflows
  // the buffer must still be reported.
  const message = vformat(fmt, resolve_guest_strings(fmt, args));
  const [exp_hva, file_hva] = fill_buffer(uc, message, [exp, file]);
  guest_write_u64(uc.gva + BigInt(OFF_ARGS + 8 * GUEST_ERROR_STRING), exp_hva!);
  guest_write_u64(uc.gva + BigInt(OFF_ARGS + 8 * GUEST_FILE), file_hva!);
  guest_write_u64(uc.gva + BigInt(OFF_ARGS + 8 * GUEST_LINE), BigInt(line));
  ucall_arch_do_ucall(uc.hva);
  ucall_free(uc);
}

/**
 * C `GUEST_UCALL_NONE()`: the arch exit with a NULL ucall address, which
 * `get_ucall()` reads as `UCALL_NONE`; it takes no pool slot.
 */
export function GUEST_UCALL_NONE(): void {
  ucall_arch_do_ucall(0n);
}

/**
 * C `GUEST_SYNC_ARGS(stage, arg1, arg2, arg3, arg4)`.
 *
 * @param stage the stage
 * @param arg1 argument 1
 * @param arg2 argument 2
 * @param arg3 argument 3
 * @param arg4 argument 4
 */
export function GUEST_SYNC_ARGS(
  stage: ucall_arg,
  arg1: ucall_arg,
  arg2: ucall_arg,
  arg3: ucall_arg,
  arg4: ucall_arg,
): void {
  ucall(UCALL_SYNC, 6, "hello", stage, arg1, arg2, arg3, arg4);
}

/**
 * C `GUEST_SYNC(stage)`: `ucall(UCALL_SYNC, 2, "hello", stage)`.
 *
 * @param stage the stage
 */
export function GUEST_SYNC(stage: ucall_arg): void {
  ucall(UCALL_SYNC, 2, "hello", stage);
}

/**
 * C `GUEST_SYNC1(arg0)`.
 *
 * @param arg0 argument 0
 */
export function GUEST_SYNC1(arg0: ucall_arg): void {
  ucall(UCALL_SYNC, 1, arg0);
}

/**
 * C `GUEST_SYNC2(arg0, arg1)`.
 *
 * @param arg0 argument 0
 * @param arg1 argument 1
 */
export function GUEST_SYNC2(arg0: ucall_arg, arg1: ucall_arg): void {
  ucall(UCALL_SYNC, 2, arg0, arg1);
}

/**
 * C `GUEST_SYNC3(arg0, arg1, arg2)`.
 *
 * @param arg0 argument 0
 * @param arg1 argument 1
 * @param arg2 argument 2
 */
export function GUEST_SYNC3(arg0: ucall_arg, arg1: ucall_arg, arg2: ucall_arg): void {
  ucall(UCALL_SYNC, 3, arg0, arg1, arg2);
}

/**
 * C `GUEST_SYNC4(arg0, arg1, arg2, arg3)`.
 *
 * @param arg0 argument 0
 * @param arg1 argument 1
 * @param arg2 argument 2
 * @param arg3 argument 3
 */
export function GUEST_SYNC4(
  arg0: ucall_arg,
  arg1: ucall_arg,
  arg2: ucall_arg,
  arg3: ucall_arg,
): void {
  ucall(UCALL_SYNC, 4, arg0, arg1, arg2, arg3);
}

/**
 * C `GUEST_SYNC5(arg0, arg1, arg2, arg3, arg4)`.
 *
 * @param arg0 argument 0
 * @param arg1 argument 1
 * @param arg2 argument 2
 * @param arg3 argument 3
 * @param arg4 argument 4
 */
export function GUEST_SYNC5(
  arg0: ucall_arg,
  arg1: ucall_arg,
  arg2: ucall_arg,
  arg3: ucall_arg,
  arg4: ucall_arg,
): void {
  ucall(UCALL_SYNC, 5, arg0, arg1, arg2, arg3, arg4);
}

/**
 * C `GUEST_PRINTF(fmt, ...)`.
 *
 * @param fmt the format
 * @param args the arguments
 */
export function GUEST_PRINTF(fmt: string, ...args: unknown[]): void {
  ucall_fmt(UCALL_PRINTF, fmt, ...args);
}

/**
 * C `GUEST_DONE()`.
 */
export function GUEST_DONE(): void {
  ucall(UCALL_DONE, 0);
}

/** The guest call site of an assert macro and its argument texts (C `__FILE__`, `__LINE__`, `#x`). */
function guest_site(): { site: call_site | undefined; args: string[] | undefined } {
  const site = callsite(2);
  return { site, args: site ? stringify_args(site) : undefined };
}

function guest_assert_at(
  site: call_site | undefined,
  exp: string,
  fmt: string,
  args: unknown[],
): void {
  ucall_assert(UCALL_ABORT, exp, site?.file ?? "?", site?.line ?? 0, fmt, ...args);
}

/**
 * C `__GUEST_ASSERT(cond, fmt, ...)` (guest): on failure, a `UCALL_ABORT`
 * with the condition's text, the guest's file and line, and the message.
 *
 * @param cond the condition
 * @param fmt the message format
 * @param args the arguments
 */
export function __GUEST_ASSERT(cond: unknown, fmt: string, ...args: unknown[]): void {
  if (cond) return;
  const { site, args: texts } = guest_site();
  guest_assert_at(site, texts?.[0] ?? String(cond), fmt, args);
}

/**
 * C `GUEST_ASSERT(cond)`: the message is the condition's text.
 *
 * @param cond the condition
 */
export function GUEST_ASSERT(cond: unknown): void {
  if (cond) return;
  const { site, args: texts } = guest_site();
  const text = texts?.[0] ?? String(cond);
  guest_assert_at(site, text, text.replaceAll("%", "%%"), []);
}

/**
 * C `GUEST_FAIL(fmt, ...)`.
 *
 * @param fmt the message format
 * @param args the arguments
 */
export function GUEST_FAIL(fmt: string, ...args: unknown[]): void {
  const { site } = guest_site();
  guest_assert_at(site, "Unconditional guest failure", fmt, args);
}

function c_eq(a: unknown, b: unknown): boolean {
  const n = (v: unknown): bigint | undefined =>
    typeof v === "bigint"
      ? BigInt.asUintN(64, v)
      : typeof v === "number" && Number.isInteger(v)
      ? BigInt.asUintN(64, BigInt(v))
      : typeof v === "boolean"
      ? (v ? 1n : 0n)
      : undefined;
  const x = n(a);
  const y = n(b);
  return x !== undefined && y !== undefined ? x === y : a === b;
}

/**
 * C `GUEST_ASSERT_EQ(a, b)`: `"%#lx != %#lx (%s != %s)"` on failure.
 *
 * @param a the first value
 * @param b the second value
 */
export function GUEST_ASSERT_EQ(a: unknown, b: unknown): void {
  if (c_eq(a, b)) return;
  const { site, args: texts } = guest_site();
  const sa = texts?.[0] ?? String(a);
  const sb = texts?.[1] ?? String(b);
  guest_assert_at(site, `${sa} == ${sb}`, "%#lx != %#lx (%s != %s)", [a, b, sa, sb]);
}

/**
 * C `GUEST_ASSERT_NE(a, b)`: `"%#lx == %#lx (%s == %s)"` on failure.
 *
 * @param a the first value
 * @param b the second value
 */
export function GUEST_ASSERT_NE(a: unknown, b: unknown): void {
  if (!c_eq(a, b)) return;
  const { site, args: texts } = guest_site();
  const sa = texts?.[0] ?? String(a);
  const sb = texts?.[1] ?? String(b);
  guest_assert_at(site, `${sa} != ${sb}`, "%#lx == %#lx (%s == %s)", [a, b, sa, sb]);
}

// ---------------------------------------------------------------------------
// Host side

/**
 * C `(const char *)p` for a host address: the NUL-terminated string there
 * (a ucall's string arguments, `uc.args[i]`).
 *
 * @param p the host address
 * @param max the most bytes to read
 * @returns the string
 */
export function c_str(p: bigint, max = UCALL_BUFFER_LEN): string {
  if (p === 0n) return "(null)";
  const out: number[] = [];
  while (out.length < max) {
    const b = user_memory(p + BigInt(out.length), 1)[0]!;
    if (b === 0) break;
    out.push(b);
  }
  return new TextDecoder().decode(new Uint8Array(out));
}

/**
 * C `uc.buffer` as a string.
 *
 * @param uc the ucall
 * @returns the text up to the first NUL
 */
export function ucall_buffer(uc: ucall): string {
  const b = uc.buffer.$bytes;
  const nul = b.indexOf(0);
  return new TextDecoder().decode(b.subarray(0, nul < 0 ? b.length : nul));
}

/** A string argument of `uc`: from the host copy when it points into the slot, else host memory. */
function ucall_str(uc: ucall, p: bigint): string {
  const start = uc.hva + BigInt(OFF_BUFFER);
  if (p >= start && p < start + BigInt(UCALL_BUFFER_LEN)) {
    const b = uc.buffer.$bytes.subarray(Number(p - start));
    const nul = b.indexOf(0);
    return new TextDecoder().decode(b.subarray(0, nul < 0 ? b.length : nul));
  }
  return c_str(p);
}

/**
 * C `get_ucall(vcpu, &uc)` (host): the ucall of the vCPU's last exit, copied
 * into `uc` (zeroed when the exit was not a ucall), and the pending I/O
 * completed. Calling it again for the same exit returns the same ucall.
 *
 * @param vcpu the vCPU
 * @param uc receives the ucall, or null
 * @returns `uc.cmd` (`UCALL_NONE` when the exit was not a ucall)
 */
export function get_ucall(vcpu: kvm_vcpu, uc: ucall | null): number {
  uc ??= ucall_struct.alloc();
  const addr = ucall_arch_get_ucall(vcpu);
  if (addr) {
    TEST_ASSERT(
      addr !== BigInt.asUintN(64, GUEST_UCALL_FAILED),
      "Guest failed to allocate ucall struct",
    );
    uc.$bytes.set(user_memory(addr, ucall_struct.size));
    vcpu_run_complete_io(vcpu);
  } else {
    uc.$bytes.fill(0, 0, ucall_struct.size);
  }
  return Number(uc.cmd);
}

/**
 * C `REPORT_GUEST_ASSERT(uc)`: the host's `TEST_ASSERT` failure block with
 * the guest's expression, file, line and message; exits with 254.
 *
 * @param uc the `UCALL_ABORT` ucall
 */
export function REPORT_GUEST_ASSERT(uc: ucall): never {
  test_assert(
    false,
    ucall_str(uc, uc.args.at(GUEST_ERROR_STRING)),
    ucall_str(uc, uc.args.at(GUEST_FILE)),
    Number(uc.args.at(GUEST_LINE)),
    "%s",
    ucall_buffer(uc),
  );
  // test_assert(false, ...) returns only for an assertion a known host
  // difference explains (include/known_host_failures.ts). C's callers rely
  // on REPORT_GUEST_ASSERT not returning, and the guest cannot be resumed
  // past its own failed assertion, so the program ends there, as that XFAIL.
  exit(KSFT_XFAIL, `${ucall_str(uc, uc.args.at(GUEST_ERROR_STRING))}: ${ucall_buffer(uc)}`);
}

/**
 * C `REPORT_GUEST_PRINTF(uc)`: print the guest's message.
 *
 * @param uc the `UCALL_PRINTF` ucall
 */
export function REPORT_GUEST_PRINTF(uc: ucall): void {
  pr_info("%s", ucall_buffer(uc));
}

/**
 * C `____GUEST_ASSERT(condition, exp, fmt, ...)` (guest): the assert the
 * others expand to, with the expression text given by the caller.
 *
 * @param cond the condition
 * @param exp the text reported as the failed expression
 * @param fmt the message format
 * @param args the arguments
 */
export function ____GUEST_ASSERT(
  cond: unknown,
  exp: string,
  fmt: string,
  ...args: unknown[]
): void {
  if (cond) return;
  guest_assert_at(callsite(1), exp, fmt, args);
}

/**
 * C `guest_snprintf(buf, n, fmt, ...)` (guest): at most `n - 1` characters
 * of the formatted text (C writes them into `buf`; here they are returned).
 *
 * @param n the buffer size
 * @param fmt the format
 * @param args its arguments
 * @returns the text
 */
export function guest_snprintf(n: number, fmt: string, ...args: unknown[]): string {
  return guest_vsnprintf(n, fmt, args);
}
