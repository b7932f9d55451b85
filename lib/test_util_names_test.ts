// SPDX-License-Identifier: GPL-2.0-only
// test_util.h's helpers added under their upstream names.
import { assert, assertEquals, assertThrows } from "@std/assert";
// kvm_util first: importing x86/processor.ts first trips a circular import of td_boot.ts.
import "../include/kvm_util.ts";
import {
  __kvm_random_bool,
  align_down,
  align_ptr_up,
  align_up,
  backing_src_can_be_huge,
  backing_src_is_shared,
  get_backing_src_pagesz,
  is_backing_src_hugetlb,
  kvm_random_bool,
  kvm_random_u32,
  kvm_random_u64,
  kvm_random_u64_in_range,
  msecs_to_usecs,
  new_kvm_random_state,
  parse_backing_src_type,
  parse_size,
  strdup_printf,
  TEST_ASSERT_EQ,
  test_read,
  test_write,
  timespec_add,
  timespec_add_ns,
  timespec_div,
  timespec_elapsed,
  timespec_sub,
  timespec_to_ns,
  to_s64,
  to_u32,
  to_u64,
  u64_add,
  u64_mul,
  u64_not,
  u64_shl,
  u64_sub,
  vm_mem_backing_src_alias,
} from "../include/test_util.ts";
import {
  NUM_SRC_TYPES,
  VM_MEM_SRC_ANONYMOUS,
  VM_MEM_SRC_ANONYMOUS_HUGETLB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB,
  VM_MEM_SRC_ANONYMOUS_THP,
  VM_MEM_SRC_SHARED_HUGETLB,
  VM_MEM_SRC_SHMEM,
} from "../include/kvm_util_types.ts";
import { ExitError } from "../include/libc/exit.ts";
import { close, open } from "../include/libc/syscall.ts";
import { O_RDONLY } from "../include/linux/fcntl.ts";
import { selected_backend_name } from "../include/libc/backend.ts";
import { kvm_static_assert } from "../include/kvm_util_types.ts";
import { sse128_hi, sse128_lo } from "../include/x86/processor.ts";

Deno.test("parse_size: digits in any strtoull base with a k/m/g/t/b suffix", () => {
  assertEquals(parse_size("4096"), 4096n);
  assertEquals(parse_size("2M"), 2n << 20n);
  assertEquals(parse_size("1g"), 1n << 30n);
  assertEquals(parse_size("0x10k"), 16n << 10n);
  assertEquals(parse_size("3b"), 3n);
  assertEquals(parse_size("1t"), 1n << 40n);
  assertThrows(() => parse_size("k4"), ExitError);
  assertThrows(() => parse_size("4q"), ExitError);
  assertThrows(() => parse_size("0x10000000000000t"), ExitError);
});

Deno.test("timespec arithmetic normalizes nanoseconds as C does", () => {
  const a = { tv_sec: 1, tv_nsec: 900_000_000 };
  const b = { tv_sec: 0, tv_nsec: 200_000_000 };
  assertEquals(timespec_to_ns(a), 1_900_000_000n);
  assertEquals(timespec_add(a, b), { tv_sec: 2, tv_nsec: 100_000_000 });
  assertEquals(timespec_sub(a, b), { tv_sec: 1, tv_nsec: 700_000_000 });
  assertEquals(timespec_add_ns(a, 150_000_000n), { tv_sec: 2, tv_nsec: 50_000_000 });
  assertEquals(timespec_div(a, 2), { tv_sec: 0, tv_nsec: 950_000_000 });
  const start = { tv_sec: 0, tv_nsec: 0 };
  assert(timespec_to_ns(timespec_elapsed(start)) > 0n);
  assertEquals(msecs_to_usecs(7), 7000n);
});

Deno.test("kvm_random_*: the Park-Miller sequence and its derived draws", () => {
  const s = new_kvm_random_state(1);
  assertEquals(kvm_random_u32(s), 48271);
  assertEquals(kvm_random_u32(s), 182605794);
  const t = new_kvm_random_state(1);
  assertEquals(kvm_random_u64(t), (48271n << 32n) | 182605794n);
  const r = new_kvm_random_state(42);
  for (let i = 0; i < 100; i++) {
    const v = kvm_random_u64_in_range(r, 10n, 20n);
    assert(v >= 10n && v <= 20n);
  }
  assertThrows(() => kvm_random_u64_in_range(r, 2n, 1n), ExitError);
  const p = new_kvm_random_state(7);
  assertEquals(__kvm_random_bool(p, 0), false);
  assertEquals(__kvm_random_bool(p, 100), true);
  let heads = 0;
  for (let i = 0; i < 1000; i++) if (kvm_random_bool(p)) heads++;
  assert(heads > 400 && heads < 600, `${heads}`);
});

Deno.test("align_up/align_down/align_ptr_up round to powers of two only", () => {
  assertEquals(align_up(0x1001n, 0x1000n), 0x2000n);
  assertEquals(align_up(0x1000n, 0x1000n), 0x1000n);
  assertEquals(align_down(0x1fffn, 0x1000n), 0x1000n);
  assertEquals(align_down(0x2000n, 0x1000n), 0x2000n);
  assertEquals(align_ptr_up(0x7f0000000001n, 64), 0x7f0000000040n);
  assertThrows(() => align_up(5n, 3n), ExitError);
  assertThrows(() => align_up(5n, 0n), ExitError);
});

Deno.test("backing sources: names, flags, page sizes as test_util.c lists them", () => {
  assertEquals(NUM_SRC_TYPES, 18);
  assertEquals(vm_mem_backing_src_alias(VM_MEM_SRC_ANONYMOUS).name, "anonymous");
  assertEquals(parse_backing_src_type("anonymous_hugetlb_2mb"), VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB);
  assertEquals(parse_backing_src_type("shmem"), VM_MEM_SRC_SHMEM);
  assertEquals(get_backing_src_pagesz(VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB), 2n << 20n);
  assertEquals(get_backing_src_pagesz(VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB), 1n << 30n);
  assertEquals(get_backing_src_pagesz(VM_MEM_SRC_SHMEM), 4096n);
  assert(is_backing_src_hugetlb(VM_MEM_SRC_ANONYMOUS_HUGETLB));
  // Shared hugetlb asks for huge pages through the memfd, not MAP_HUGETLB.
  assert(!is_backing_src_hugetlb(VM_MEM_SRC_SHARED_HUGETLB));
  assert(backing_src_is_shared(VM_MEM_SRC_SHARED_HUGETLB));
  assert(!backing_src_is_shared(VM_MEM_SRC_ANONYMOUS_THP));
  assert(backing_src_can_be_huge(VM_MEM_SRC_ANONYMOUS_THP));
  assert(!backing_src_can_be_huge(VM_MEM_SRC_SHMEM));
  assertThrows(() => vm_mem_backing_src_alias(NUM_SRC_TYPES), ExitError);
  assertThrows(() => parse_backing_src_type("bogus"), ExitError);
  assertEquals(strdup_printf("%s-%d", "a", 7), "a-7");
});

Deno.test("TEST_ASSERT_EQ compares 64-bit integers modulo 2^64, as C's u64 and GUEST_ASSERT_EQ do", () => {
  TEST_ASSERT_EQ(-(1n << 34n), 0xfffffffc00000000n);
  TEST_ASSERT_EQ(-1n, 0xffffffffffffffffn);
  assertThrows(() => TEST_ASSERT_EQ(-1n, 0xfffffffffffffffen), ExitError);
});

Deno.test("u64 helpers wrap as C's unsigned 64-bit arithmetic does", () => {
  assertEquals(u64_sub(4n << 32n, 64n << 30n), 0xfffffff400000000n);
  assertEquals(u64_add(0xffffffffffffffffn, 2n), 1n);
  assertEquals(u64_mul(1n << 63n, 2n), 0n);
  assertEquals(u64_shl(3n, 63), 1n << 63n);
  assertEquals(u64_not(0n), 0xffffffffffffffffn);
  assertEquals(to_u64(-1), 0xffffffffffffffffn);
  assertEquals(to_s64(0xffffffffffffffffn), -1n);
  assertEquals(to_u32(-1), 0xffffffff);
});

Deno.test({
  name: "test_read reads all it is asked for and fails at EOF; test_write fails on a read-only fd",
  ignore: selected_backend_name() !== "sim",
  fn() {
    const path = "/sys/module/kvm/parameters/halt_poll_ns";
    let fd = open(path, O_RDONLY);
    const buf = new Uint8Array(16);
    assertEquals(test_read(fd, buf, 7), 7);
    assertEquals(new TextDecoder().decode(buf.subarray(0, 7)), "200000\n");
    close(fd);
    fd = open(path, O_RDONLY);
    assertThrows(() => test_read(fd, buf, 16), ExitError);
    assertThrows(() => test_write(fd, buf, 1), ExitError);
    close(fd);
  },
});

Deno.test("kvm_static_assert, sse128_lo/hi", () => {
  kvm_static_assert(1 + 1 === 2);
  assertThrows(() => kvm_static_assert(false, "sizeof(x) == 8"), TypeError, "sizeof(x) == 8");
  const x = (0x1122334455667788n << 64n) | 0x99aabbccddeeff00n;
  assertEquals(sse128_lo(x), 0x99aabbccddeeff00n);
  assertEquals(sse128_hi(x), 0x1122334455667788n);
});
