// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/test_util.c` (the parts the assert
 * family needs). The declarations and macros are in `include/test_util.ts`.
 *
 * @module
 */

import { puts, vprintf } from "../include/libc/stdio.ts";
import { test_assert } from "./assert.ts";
import { callsite } from "../include/linux/stringify.ts";
import { TEST_ASSERT, TEST_FAIL } from "../include/test_util.ts";
import { fputs, printf, stderr } from "../include/libc/stdio.ts";
import { exit } from "../include/libc/exit.ts";
import { KSFT_SKIP } from "../include/kselftest.ts";
import { vformat } from "../include/linux/printf.ts";
import { vm_mem_backing_src_type } from "../include/kvm_util_types.ts";
import { read as sys_read, write as sys_write } from "../include/libc/syscall.ts";
import { errno_get } from "../include/libc/errno.ts";
import { EAGAIN } from "../include/linux/errno.ts";
import {
  MAP_ANONYMOUS,
  MAP_HUGE_16GB,
  MAP_HUGE_16KB,
  MAP_HUGE_16MB,
  MAP_HUGE_1GB,
  MAP_HUGE_1MB,
  MAP_HUGE_256MB,
  MAP_HUGE_2GB,
  MAP_HUGE_2MB,
  MAP_HUGE_32MB,
  MAP_HUGE_512KB,
  MAP_HUGE_512MB,
  MAP_HUGE_64KB,
  MAP_HUGE_8MB,
  MAP_HUGE_MASK,
  MAP_HUGE_SHIFT,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
} from "../include/linux/mman.ts";

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** C `strtol(s, &end, 0)` on the forms selftests pass: sign, `0x`, leading-0 octal, decimal. */
function strtol0(s: string): { num: bigint; end: number } {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return { num: 0n, end: 0 };
  const digits = m[2]!;
  let num: bigint;
  if (/^0[xX]/.test(digits)) num = BigInt(digits);
  else if (digits.length > 1 && digits[0] === "0") num = BigInt("0o" + digits.slice(1));
  else num = BigInt(digits);
  return { num: m[1] === "-" ? -num : num, end: m[0].length };
}

/**
 * C `atoi_paranoid()`: parse an `int` with `strtol(..., 0)` and fail the test
 * on anything but a whole, in-range integer.
 *
 * @param num_str the text
 * @returns the value
 */
export function atoi_paranoid(num_str: string): number {
  // A function in C (test_util.c), so failures name this file, not the caller.
  const { num, end } = strtol0(num_str);
  const ok = num >= -(1n << 63n) && num < 1n << 63n && end !== 0 && end === num_str.length &&
    num >= INT_MIN && num <= INT_MAX;
  // Reading the call site costs a stack trace: only a failure needs it.
  const site = ok ? undefined : callsite(0);
  const file = site?.file ?? "?";
  const line = site?.line ?? 0;
  // strtol() sets ERANGE past LONG_MIN/LONG_MAX.
  test_assert(
    num >= -(1n << 63n) && num < 1n << 63n,
    "!errno",
    file,
    line,
    'strtol("%s") failed',
    num_str,
  );
  test_assert(
    end !== 0,
    "num_str != end_ptr",
    file,
    line,
    'strtol("%s") didn\'t find a valid integer.',
    num_str,
  );
  test_assert(
    end === num_str.length,
    "*end_ptr == '\\0'",
    file,
    line,
    'strtol("%s") failed to parse trailing characters "%s".',
    num_str,
    num_str.slice(end),
  );
  test_assert(
    num >= INT_MIN && num <= INT_MAX,
    "num >= INT_MIN && num <= INT_MAX",
    file,
    line,
    "%ld not in range of [%d, %d]",
    num,
    INT_MIN,
    INT_MAX,
  );
  return Number(num);
}

/**
 * Print `<message>, skipping test` on stdout, as a test does before exiting
 * with `KSFT_SKIP` (C `print_skip()`).
 *
 * @param fmt a C format string (no trailing newline)
 * @param args the variadic arguments
 */
export function print_skip(fmt: string, ...args: unknown[]): void {
  vprintf(fmt, args);
  puts(", skipping test");
}

/**
 * C `is_smt_on()`: whether the host runs with SMT active (sysfs
 * `devices/system/cpu/smt/active` reads `1`). A host fact, not a KVM one, so
 * it is read from the host whatever the backend; false when it cannot be read.
 *
 * @returns whether SMT is active
 */
export function is_smt_on(): boolean {
  try {
    return Deno.readTextFileSync("/sys/devices/system/cpu/smt/active").startsWith("1");
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// The rest of test_util.h / test_util.c (baseline kvm-x86 next, 1a27afa0511e)

/**
 * C `_no_printf(format, ...)`: what `pr_debug()` expands to without DEBUG.
 *
 * @param _format ignored
 * @param _args ignored
 * @returns 0
 */
export function _no_printf(_format: string, ..._args: unknown[]): number {
  return 0;
}

/**
 * C `msecs_to_usecs(msec)`.
 *
 * @param msec milliseconds
 * @returns microseconds
 */
export function msecs_to_usecs(msec: number | bigint): bigint {
  return BigInt(msec) * 1000n;
}

/**
 * C `parse_size(size)`: a number in any `strtoull` base, optionally followed
 * by one of the suffixes b, k, m, g, t (case-insensitive), as a byte count.
 *
 * @param size the text
 * @returns the size
 */
export function parse_size(size: string): bigint {
  TEST_ASSERT(/^[0-9]/.test(size), "Need at least one digit in '%s'", size);
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(size)!;
  const digits = m[1]!;
  const base = /^0[xX]/.test(digits)
    ? BigInt(digits)
    : digits.length > 1 && digits[0] === "0"
    ? BigInt("0o" + digits.slice(1))
    : BigInt(digits);
  const ULLONG_MAX = (1n << 64n) - 1n;
  TEST_ASSERT(base < ULLONG_MAX, "Overflow parsing size!");
  const scale = size.slice(digits.length, digits.length + 1).toLowerCase();
  let shift = 0n;
  switch (scale) {
    case "t":
      shift = 40n;
      break;
    case "g":
      shift = 30n;
      break;
    case "m":
      shift = 20n;
      break;
    case "k":
      shift = 10n;
      break;
    case "b":
    case "":
      break;
    default:
      TEST_ASSERT(false, "Unknown size letter %c", scale.charCodeAt(0));
  }
  const scaled = BigInt.asUintN(64, base << shift);
  TEST_ASSERT(scaled >> shift === base, "Overflow scaling size!");
  return scaled;
}

/** C `struct timespec`. */
export interface timespec {
  /** Seconds. */
  tv_sec: number;
  /** Nanoseconds. */
  tv_nsec: number;
}

const NSEC_PER_SEC = 1000000000n;

/**
 * C `timespec_to_ns(ts)`.
 *
 * @param ts the time
 * @returns nanoseconds (signed 64-bit)
 */
export function timespec_to_ns(ts: timespec): bigint {
  return BigInt.asIntN(64, BigInt(ts.tv_nsec) + NSEC_PER_SEC * BigInt(ts.tv_sec));
}

/**
 * C `timespec_add_ns(ts, ns)`: as C's integer division truncates, a negative
 * result keeps a negative `tv_nsec`.
 *
 * @param ts the time
 * @param ns nanoseconds to add
 * @returns the sum
 */
export function timespec_add_ns(ts: timespec, ns: bigint): timespec {
  const nsec = BigInt(ts.tv_nsec) + ns;
  return {
    tv_sec: Number(BigInt(ts.tv_sec) + nsec / NSEC_PER_SEC),
    tv_nsec: Number(nsec % NSEC_PER_SEC),
  };
}

/**
 * C `timespec_add(ts1, ts2)`.
 *
 * @param ts1 a time
 * @param ts2 another
 * @returns the sum
 */
export function timespec_add(ts1: timespec, ts2: timespec): timespec {
  return timespec_add_ns({ tv_sec: 0, tv_nsec: 0 }, timespec_to_ns(ts1) + timespec_to_ns(ts2));
}

/**
 * C `timespec_sub(ts1, ts2)`.
 *
 * @param ts1 a time
 * @param ts2 the time to subtract
 * @returns the difference
 */
export function timespec_sub(ts1: timespec, ts2: timespec): timespec {
  return timespec_add_ns({ tv_sec: 0, tv_nsec: 0 }, timespec_to_ns(ts1) - timespec_to_ns(ts2));
}

/**
 * C `clock_gettime(CLOCK_MONOTONIC, &ts)`, from the monotonic clock Deno
 * offers (`performance.now()`, microsecond resolution).
 *
 * @returns the current monotonic time
 */
export function clock_gettime_monotonic(): timespec {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  return { tv_sec: Number(ns / NSEC_PER_SEC), tv_nsec: Number(ns % NSEC_PER_SEC) };
}

/**
 * C `timespec_elapsed(start)`: the monotonic time since `start`.
 *
 * @param start a time from `clock_gettime_monotonic()`
 * @returns the elapsed time
 */
export function timespec_elapsed(start: timespec): timespec {
  return timespec_sub(clock_gettime_monotonic(), start);
}

/**
 * C `timespec_div(ts, divisor)`.
 *
 * @param ts the time
 * @param divisor the divisor
 * @returns the quotient (truncated)
 */
export function timespec_div(ts: timespec, divisor: number): timespec {
  return timespec_add_ns({ tv_sec: 0, tv_nsec: 0 }, timespec_to_ns(ts) / BigInt(divisor));
}

/** C `struct kvm_random_state`: Lehmer-generator state; needs no libc, so guest code uses it as well. */
export interface kvm_random_state {
  /** The current state (never 0 for a useful sequence). */
  seed: number;
}

/**
 * C `new_kvm_random_state(seed)`.
 *
 * @param seed the seed
 * @returns the state
 */
export function new_kvm_random_state(seed: number): kvm_random_state {
  return { seed: seed >>> 0 };
}

/**
 * C `kvm_random_u32(state)`: the next Park-Miller value (multiplier 48271,
 * modulus 2^31 - 1).
 *
 * @param state the state
 * @returns the value
 */
export function kvm_random_u32(state: kvm_random_state): number {
  state.seed = Number((BigInt(state.seed >>> 0) * 48271n) % 0x7fffffffn);
  return state.seed;
}

/**
 * C `__kvm_random_bool(state, percent)`: true `percent`% of the time.
 *
 * @param state the state
 * @param percent 0..100
 * @returns the draw
 */
export function __kvm_random_bool(state: kvm_random_state, percent: number): boolean {
  return kvm_random_u32(state) % 100 < (percent & 0xff);
}

/**
 * C `kvm_random_bool(state)`.
 *
 * @param state the state
 * @returns a fair coin
 */
export function kvm_random_bool(state: kvm_random_state): boolean {
  return __kvm_random_bool(state, 50);
}

/**
 * C `kvm_random_u64(state)`: two draws, the first in the high half.
 *
 * @param state the state
 * @returns the value
 */
export function kvm_random_u64(state: kvm_random_state): bigint {
  const hi = BigInt(kvm_random_u32(state));
  return (hi << 32n) | BigInt(kvm_random_u32(state));
}

/**
 * C `kvm_random_u64_in_range(state, min, max)`: a draw reduced modulo the
 * span, so both `min` and `max` can come out (any value when they span all of u64).
 *
 * @param state the state
 * @param min the lowest value
 * @param max the highest value
 * @returns the value
 */
export function kvm_random_u64_in_range(state: kvm_random_state, min: bigint, max: bigint): bigint {
  TEST_ASSERT(min <= max, "PEBKAC, min = 0x%lx, max = 0x%lx", min, max);
  const value = kvm_random_u64(state);
  const range = max - min;
  if (range === (1n << 64n) - 1n) return value;
  return min + value % (range + 1n);
}

/**
 * C `align_up(x, size)`: `x` rounded up to a multiple of `size`; a `size`
 * that is not a power of two fails the test (the mask arithmetic needs one).
 *
 * @param x the value
 * @param size the alignment
 * @returns `x` rounded up
 */
export function align_up(x: bigint | number, size: bigint | number): bigint {
  const s = BigInt(size);
  const mask = s - 1n;
  TEST_ASSERT(s !== 0n && !(s & (s - 1n)), "size not a power of 2: %lu", s);
  return BigInt.asUintN(64, (BigInt(x) + mask) & ~mask);
}

/**
 * C `align_down(x, size)`.
 *
 * @param x the value
 * @param size the alignment (a power of 2)
 * @returns `x` rounded down
 */
export function align_down(x: bigint | number, size: bigint | number): bigint {
  const up = align_up(x, size);
  return BigInt(x) === up ? up : up - BigInt(size);
}

/**
 * C `align_ptr_up(x, size)`: an address rounded up.
 *
 * @param x the address
 * @param size the alignment (a power of 2)
 * @returns the aligned address
 */
export function align_ptr_up(x: bigint, size: bigint | number): bigint {
  return align_up(x, size);
}

/** C `struct vm_mem_backing_src_alias`. */
export interface vm_mem_backing_src_alias_t {
  /** The name on the command line. */
  readonly name: string;
  /** The mmap flags. */
  readonly flag: number;
}

const ANON_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS;
const ANON_HUGE_FLAGS = ANON_FLAGS | MAP_HUGETLB;
const aliases: readonly vm_mem_backing_src_alias_t[] = [
  { name: "anonymous", flag: ANON_FLAGS },
  { name: "anonymous_thp", flag: ANON_FLAGS },
  { name: "anonymous_hugetlb", flag: ANON_HUGE_FLAGS },
  { name: "anonymous_hugetlb_16kb", flag: ANON_HUGE_FLAGS | MAP_HUGE_16KB },
  { name: "anonymous_hugetlb_64kb", flag: ANON_HUGE_FLAGS | MAP_HUGE_64KB },
  { name: "anonymous_hugetlb_512kb", flag: ANON_HUGE_FLAGS | MAP_HUGE_512KB },
  { name: "anonymous_hugetlb_1mb", flag: ANON_HUGE_FLAGS | MAP_HUGE_1MB },
  { name: "anonymous_hugetlb_2mb", flag: ANON_HUGE_FLAGS | MAP_HUGE_2MB },
  { name: "anonymous_hugetlb_8mb", flag: ANON_HUGE_FLAGS | MAP_HUGE_8MB },
  { name: "anonymous_hugetlb_16mb", flag: ANON_HUGE_FLAGS | MAP_HUGE_16MB },
  { name: "anonymous_hugetlb_32mb", flag: ANON_HUGE_FLAGS | MAP_HUGE_32MB },
  { name: "anonymous_hugetlb_256mb", flag: ANON_HUGE_FLAGS | MAP_HUGE_256MB },
  { name: "anonymous_hugetlb_512mb", flag: ANON_HUGE_FLAGS | MAP_HUGE_512MB },
  { name: "anonymous_hugetlb_1gb", flag: ANON_HUGE_FLAGS | MAP_HUGE_1GB },
  { name: "anonymous_hugetlb_2gb", flag: ANON_HUGE_FLAGS | MAP_HUGE_2GB },
  { name: "anonymous_hugetlb_16gb", flag: ANON_HUGE_FLAGS | MAP_HUGE_16GB },
  { name: "shmem", flag: MAP_SHARED },
  // Huge pages of a memfd are chosen by MFD_HUGETLB at memfd_create(), so
  // the mapping itself carries no MAP_HUGETLB.
  { name: "shared_hugetlb", flag: MAP_SHARED },
];

/**
 * C `vm_mem_backing_src_alias(i)`.
 *
 * @param i a `vm_mem_backing_src_type`
 * @returns its name and mmap flags
 */
export function vm_mem_backing_src_alias(i: number): vm_mem_backing_src_alias_t {
  TEST_ASSERT(i >>> 0 < vm_mem_backing_src_type.NUM_SRC_TYPES, "Backing src type ID %d too big", i);
  return aliases[i]!;
}

/** C `test_sysfs_path()`: whether a host sysfs/procfs path exists. */
function test_sysfs_path(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    TEST_ASSERT(e instanceof Deno.errors.NotFound, "Error in stat()ing '%s'", path);
    return false;
  }
}

/** C `get_sysfs_val()`: a file holding one integer. */
function get_sysfs_val(path: string): bigint {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return TEST_FAIL("Error opening '%s'", path);
  }
  const m = /^\s*(-?\d+)\s*$/.exec(text);
  TEST_ASSERT(m, "Error reading '%s'", path);
  return BigInt(m![1]!);
}

/**
 * C `thp_configured()`: the host kernel has transparent huge pages. These
 * are facts about the machine the test runs on, read from its files.
 *
 * @returns whether THP exists
 */
export function thp_configured(): boolean {
  return test_sysfs_path("/sys/kernel/mm/transparent_hugepage");
}

/**
 * C `get_trans_hugepagesz()`.
 *
 * @returns the PMD-sized THP size
 */
export function get_trans_hugepagesz(): bigint {
  TEST_ASSERT(thp_configured(), "THP is not configured in host kernel");
  return get_sysfs_val("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
}

/**
 * C `is_numa_balancing_enabled()`.
 *
 * @returns whether automatic NUMA balancing is on
 */
export function is_numa_balancing_enabled(): boolean {
  if (!test_sysfs_path("/proc/sys/kernel/numa_balancing")) return false;
  return get_sysfs_val("/proc/sys/kernel/numa_balancing") === 1n;
}

/**
 * C `get_def_hugetlb_pagesz()`: skips when the host has no hugetlb pages
 * reserved.
 *
 * @returns the default hugetlb page size
 */
export function get_def_hugetlb_pagesz(): bigint {
  let meminfo: string;
  try {
    meminfo = Deno.readTextFileSync("/proc/meminfo");
  } catch {
    return TEST_FAIL("Error in opening /proc/meminfo");
  }
  for (const line of meminfo.split("\n")) {
    if (line.startsWith("HugePages_Total:")) {
      if (!BigInt(line.slice(16).trim() || "0")) {
        fputs("HUGETLB is not enabled in /proc/sys/vm/nr_hugepages\n", stderr);
        exit(KSFT_SKIP);
      }
    }
    if (line.startsWith("Hugepagesize:")) return BigInt(/\d+/.exec(line.slice(13))![0]) << 10n;
  }
  fputs("HUGETLB is not configured in host kernel", stderr);
  return exit(KSFT_SKIP);
}

/**
 * C `get_backing_src_pagesz(i)`.
 *
 * @param i a `vm_mem_backing_src_type`
 * @returns the page size that source maps with
 */
export function get_backing_src_pagesz(i: number): bigint {
  const flag = vm_mem_backing_src_alias(i).flag;
  switch (i) {
    case vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS:
    case vm_mem_backing_src_type.VM_MEM_SRC_SHMEM:
      return 4096n;
    case vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_THP:
      return get_trans_hugepagesz();
    case vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB:
    case vm_mem_backing_src_type.VM_MEM_SRC_SHARED_HUGETLB:
      return get_def_hugetlb_pagesz();
    default:
      return 1n << BigInt((flag >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK);
  }
}

/**
 * C `is_backing_src_hugetlb(i)`.
 *
 * @param i a `vm_mem_backing_src_type`
 * @returns whether it maps with MAP_HUGETLB
 */
export function is_backing_src_hugetlb(i: number): boolean {
  return !!(vm_mem_backing_src_alias(i).flag & MAP_HUGETLB);
}

/**
 * C `backing_src_is_shared(t)`.
 *
 * @param t a `vm_mem_backing_src_type`
 * @returns whether it maps MAP_SHARED
 */
export function backing_src_is_shared(t: number): boolean {
  return !!(vm_mem_backing_src_alias(t).flag & MAP_SHARED);
}

/**
 * C `backing_src_can_be_huge(t)`.
 *
 * @param t a `vm_mem_backing_src_type`
 * @returns whether it may use huge pages
 */
export function backing_src_can_be_huge(t: number): boolean {
  return t !== vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS &&
    t !== vm_mem_backing_src_type.VM_MEM_SRC_SHMEM;
}

function print_available_backing_src_types(prefix: string): void {
  printf("%sAvailable backing src types:\n", prefix);
  for (let i = 0; i < vm_mem_backing_src_type.NUM_SRC_TYPES; i++) {
    printf("%s    %s\n", prefix, vm_mem_backing_src_alias(i).name);
  }
}

/**
 * C `backing_src_help(flag)`: the usage text of a backing-source option.
 *
 * @param flag the option, e.g. `-s`
 */
export function backing_src_help(flag: string): void {
  printf(
    " %s: specify the type of memory that should be used to\n     back the guest data region. (default: %s)\n",
    flag,
    vm_mem_backing_src_alias(vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS).name,
  );
  print_available_backing_src_types("     ");
}

/**
 * C `parse_backing_src_type(type_name)`: fails the test on an unknown name,
 * after listing the known ones.
 *
 * @param type_name the name
 * @returns the type
 */
export function parse_backing_src_type(type_name: string): vm_mem_backing_src_type {
  for (let i = 0; i < vm_mem_backing_src_type.NUM_SRC_TYPES; i++) {
    if (type_name === vm_mem_backing_src_alias(i).name) return i;
  }
  print_available_backing_src_types("");
  return TEST_FAIL("Unknown backing src type: %s", type_name);
}

/** C `MIN_RUN_DELAY_NS`. */
export const MIN_RUN_DELAY_NS = 200000;

/**
 * C `get_run_delay()`: the time this thread waited to run
 * (`/proc/self/schedstat`'s second field), or `MIN_RUN_DELAY_NS` when it
 * cannot be read.
 *
 * @returns nanoseconds
 */
export function get_run_delay(): number {
  try {
    const v = Deno.readTextFileSync("/proc/thread-self/schedstat").trim().split(/\s+/);
    if (v.length >= 2 && /^\d+$/.test(v[1]!)) return Number(v[1]);
  } catch {
    // Fall through: upstream answers MIN_RUN_DELAY_NS when fscanf fails.
  }
  return MIN_RUN_DELAY_NS;
}

/**
 * C `strdup_printf(fmt, ...)`.
 *
 * @param fmt the format
 * @param args its arguments
 * @returns the formatted text
 */
export function strdup_printf(fmt: string, ...args: unknown[]): string {
  return vformat(fmt, args);
}

const CLOCKSOURCE_PATH = "/sys/devices/system/clocksource/clocksource0/current_clocksource";

/**
 * C `sys_get_cur_clocksource()`: the host's clocksource line, newline kept.
 *
 * @returns e.g. `"tsc\n"`
 */
export function sys_get_cur_clocksource(): string {
  try {
    return Deno.readTextFileSync(CLOCKSOURCE_PATH);
  } catch (e) {
    // Deno reports the error class, not errno: ENOENT or EACCES.
    const err = e instanceof Deno.errors.NotFound ? 2 : 13;
    return TEST_FAIL("failed to open clocksource file, errno: %d", err);
  }
}

// ---------------------------------------------------------------------------
// C's fixed-width unsigned arithmetic on bigints. JavaScript bigints never
// wrap, so `a - b` can go negative where C's u64 wraps; these give C's value.

/**
 * C `(u64)x`: `x` modulo 2^64.
 *
 * @param x a value
 * @returns the u64 value
 */
export function to_u64(x: bigint | number): bigint {
  return BigInt.asUintN(64, BigInt(x));
}

/**
 * C `(s64)x`: `x` as a two's-complement 64-bit value.
 *
 * @param x a value
 * @returns the s64 value
 */
export function to_s64(x: bigint | number): bigint {
  return BigInt.asIntN(64, BigInt(x));
}

/**
 * C `(u32)x`: `x` modulo 2^32.
 *
 * @param x a value
 * @returns the u32 value
 */
export function to_u32(x: bigint | number): number {
  return Number(BigInt.asUintN(32, BigInt(x)));
}

/**
 * C `a + b` on u64.
 *
 * @param a a u64
 * @param b a u64
 * @returns the wrapped sum
 */
export function u64_add(a: bigint, b: bigint): bigint {
  return BigInt.asUintN(64, a + b);
}

/**
 * C `a - b` on u64.
 *
 * @param a a u64
 * @param b a u64
 * @returns the wrapped difference
 */
export function u64_sub(a: bigint, b: bigint): bigint {
  return BigInt.asUintN(64, a - b);
}

/**
 * C `a * b` on u64.
 *
 * @param a a u64
 * @param b a u64
 * @returns the wrapped product
 */
export function u64_mul(a: bigint, b: bigint): bigint {
  return BigInt.asUintN(64, a * b);
}

/**
 * C `a << n` on u64 (bits shifted past bit 63 are lost).
 *
 * @param a a u64
 * @param n the shift, 0..63
 * @returns the shifted value
 */
export function u64_shl(a: bigint, n: number | bigint): bigint {
  return BigInt.asUintN(64, a << BigInt(n));
}

/**
 * C `~a` on u64.
 *
 * @param a a u64
 * @returns its complement
 */
export function u64_not(a: bigint): bigint {
  return BigInt.asUintN(64, ~a);
}

/**
 * C `test_write(fd, buf, count)`: writes all `count` bytes, retrying on
 * EAGAIN; any other failure, or a write of 0 bytes, fails the test.
 *
 * @param fd the file
 * @param buf the bytes
 * @param count how many
 * @returns `count`
 */
export function test_write(fd: number, buf: Uint8Array, count: number): number {
  let num_written = 0;
  while (num_written < count) {
    const rc = sys_write(fd, buf.subarray(num_written), count - num_written);
    if (rc === -1) {
      TEST_ASSERT(
        errno_get() === EAGAIN,
        "Unexpected write failure,\n  rc: %zi errno: %i",
        rc,
        errno_get(),
      );
      continue;
    }
    if (rc === 0) {
      TEST_FAIL(
        "Unexpected EOF,\n  rc: %zi num_written: %zi num_left: %zu",
        rc,
        num_written,
        count - num_written,
      );
    }
    num_written += rc;
  }
  return num_written;
}

/**
 * C `test_read(fd, buf, count)`: reads all `count` bytes, retrying on
 * EAGAIN; end of file before that, or another failure, fails the test.
 *
 * @param fd the file
 * @param buf receives the bytes
 * @param count how many
 * @returns `count`
 */
export function test_read(fd: number, buf: Uint8Array, count: number): number {
  let num_read = 0;
  while (num_read < count) {
    const rc = sys_read(fd, buf.subarray(num_read), count - num_read);
    if (rc === -1) {
      TEST_ASSERT(
        errno_get() === EAGAIN,
        "Unexpected read failure,\n  rc: %zi errno: %i",
        rc,
        errno_get(),
      );
      continue;
    }
    if (rc === 0) {
      TEST_FAIL(
        "Unexpected EOF,\n  rc: %zi num_read: %zi num_left: %zu",
        rc,
        num_read,
        count - num_read,
      );
    }
    num_read += rc;
  }
  return num_read;
}
