// SPDX-License-Identifier: GPL-2.0-only
/**
 * Specification of the simulated address space: `mmap`/`munmap` rules and
 * errnos, JavaScript buffer addresses, and sparse large mappings.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../use_sim_backend.ts";
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { madvise, mmap, munmap, ptr, user_memory } from "../../../include/libc/syscall.ts";
import { errno_get as errno } from "../../../include/libc/errno.ts";
import { EBADF, EEXIST, EFAULT, EINVAL, ENOMEM, EPERM } from "../../../include/linux/errno.ts";
import { current } from "../include/linux/sched.ts";
import { anon_pool_size, anon_pool_zeroed } from "./mmap.ts";
import { worker_ref_supported } from "../../worker_ref.ts";
import {
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HWPOISON,
  MADV_NORMAL,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_REMOVE,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "../../../include/linux/mman.ts";
import { anon, assert_errno, create_vm, set_region } from "../testdata/util.ts";
import { close } from "../../../include/libc/syscall.ts";

const RW = PROT_READ | PROT_WRITE;

function mmap_errno(r: bigint, e: number, what: string): void {
  assertEquals([r, errno()], [-1n, e], what);
}

Deno.test("mmap: length 0, unaligned offset, no mapping type, MAP_FIXED misaligned are EINVAL", () => {
  mmap_errno(mmap(0n, 0, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL, "length 0");
  mmap_errno(mmap(0n, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1), EINVAL, "offset 1");
  mmap_errno(mmap(0n, 4096, RW, MAP_ANONYMOUS, -1, 0), EINVAL, "neither shared nor private");
  mmap_errno(
    mmap(0x1001n, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
    EINVAL,
    "MAP_FIXED at an unaligned address",
  );
  mmap_errno(mmap(0n, 4096, RW, MAP_SHARED, 777, 0), EBADF, "file mapping of a bad fd");
});

Deno.test("mmap: MAP_FIXED replaces, MAP_FIXED_NOREPLACE refuses with EEXIST", () => {
  const a = anon(8192);
  user_memory(a, 1)[0] = 7;
  mmap_errno(
    mmap(a, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0),
    EEXIST,
    "NOREPLACE over a mapping",
  );
  assertEquals(mmap(a, 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), a);
  assertEquals(user_memory(a, 1)[0], 0, "the fixed mapping is fresh memory");
  assertEquals(munmap(a, 8192), 0);
});

Deno.test("munmap: unaligned or empty is EINVAL; unmapped ranges are fine; holes split", () => {
  const a = anon(3 * 4096);
  assert_errno(munmap(a + 1n, 4096), EINVAL, "unaligned");
  assert_errno(munmap(a, 0), EINVAL, "length 0");
  assertEquals(munmap(a + 4096n, 4096), 0);
  assertEquals(user_memory(a, 4096).length, 4096);
  assertEquals(user_memory(a + 8192n, 4096).length, 4096);
  let threw = false;
  try {
    user_memory(a + 4096n, 1);
  } catch {
    threw = true;
  }
  assertEquals(threw, true, "the hole faults");
  assertEquals(munmap(a, 3 * 4096), 0);
  assertEquals(munmap(a, 3 * 4096), 0, "again: nothing mapped is not an error");
});

Deno.test("addr_of: a buffer keeps one address; views alias it", () => {
  const buf = new ArrayBuffer(100);
  const p1 = ptr(buf);
  const p2 = ptr(new Uint8Array(buf, 10));
  assertEquals(p2 - p1, 10n);
  assertEquals(ptr(buf), p1);
  user_memory(p1 + 10n, 1)[0] = 42;
  assertEquals(new Uint8Array(buf)[10], 42);
  assertNotEquals(ptr(new ArrayBuffer(8)), p1);
});

Deno.test("a sparse 64 GiB memslot costs only the pages touched", () => {
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]);
  const size = 64n << 30n;
  const before = rss();
  const hva = mmap(0n, size, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  assertNotEquals(hva, -1n);
  const [kvm, vm] = create_vm();
  assertEquals(set_region(vm, 0, 0, 0n, size, hva), 0);
  // Touch one byte in each of 64 chunks: 64 pages.
  for (let g = 0n; g < 64n; g++) user_memory(hva + (g << 30n) + 4096n, 1)[0] = 1;
  const grown = rss() - before;
  assertEquals(grown < 64 * 1024, true, `RSS grew by ${grown} KiB for 64 touched pages`);
  assertEquals(set_region(vm, 0, 0, 0n, 0n, 0n), 0);
  assertEquals(munmap(hva, size), 0);
  close(vm);
  close(kvm);
});

Deno.test("JavaScript buffers are page-granular: the rest of the last page reads 0, writes drop", () => {
  const { mm } = current;
  const one = new Uint8Array([0x5a]);
  const a = BigInt(mm.addr_of(one.buffer, 0));
  const got = new Uint8Array(8).fill(0xff);
  assertEquals(mm.copy_from_user(got, a, 8), 0, "8 bytes from a 1-byte array");
  assertEquals([...got], [0x5a, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(mm.copy_to_user(a, new Uint8Array([1, 2, 3]), 3), 0, "write over the end");
  assertEquals(one[0], 1);
  assertEquals(mm.copy_from_user(got, a + 1n, 2), 0);
  assertEquals([...got.subarray(0, 2)], [0, 0], "the dropped bytes read back as 0");
  // The guard page after the last page still faults.
  assertEquals(mm.copy_from_user(got, a + 4095n, 2), -EFAULT, "across the page end");
  assertEquals(mm.user_memory(a + 1n, 1), null, "no memory to alias in the tail");
});

Deno.test("a 2^46-byte anonymous mapping allocates only the chunk touched", () => {
  const rss0 = Deno.memoryUsage().rss;
  const len = 2 ** 46;
  const a = mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  assertNotEquals(a, -1n);
  user_memory(a + BigInt(len - 8), 8).set([1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals([...user_memory(a + BigInt(len - 8), 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals([...user_memory(a, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(Deno.memoryUsage().rss - rss0 < 64 << 20, true);
  assertEquals(munmap(a, len), 0);
});

Deno.test("unmapped anonymous memory is recycled at once, zeroed: no growth in a synchronous loop", () => {
  const len = 3 << 20;
  const touch = (a: bigint) => {
    const m = user_memory(a, len);
    for (let i = 0; i < len; i += 4096) m[i] = 0xa5;
  };
  const a = mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(a);
  const pooled = anon_pool_size();
  assertEquals(munmap(a, len), 0);
  assertEquals(anon_pool_size(), pooled + len, "the released chunk is kept for reuse");
  const b = mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assertEquals(user_memory(b, len).every((x) => x === 0), true, "reused memory reads as zeros");
  // The freed chunk, or (while the zeroing thread is still on it) a fresh one.
  assert(anon_pool_size() <= pooled + len);
  assertEquals(munmap(b, len), 0);
  // A partial munmap keeps the rest mapped: nothing is recycled until the last piece goes.
  const c = mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  touch(c);
  const before = anon_pool_size();
  assertEquals(munmap(c, 4096), 0);
  assertEquals(anon_pool_size(), before);
  assertEquals(user_memory(c + 4096n, 1)[0], 0xa5);
  assertEquals(munmap(c + 4096n, len - 4096), 0);
  assertEquals(anon_pool_size(), before + len);
  // 500 cycles of 3 MiB touched would be 1.5 GiB if each waited for the event loop.
  const cycle = () => {
    const d = mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    touch(d);
    munmap(d, len);
  };
  // One-time costs first: the zeroing thread starts at the fourth chunk recycled.
  for (let i = 0; i < 8; i++) cycle();
  const rss0 = Deno.memoryUsage().rss;
  for (let i = 0; i < 500; i++) cycle();
  assertEquals(Deno.memoryUsage().rss - rss0 < 50 << 20, true, "RSS stays within 50 MiB");
});

Deno.test("freed chunks are zeroed ahead of reuse by the zeroing thread", {
  ignore: !worker_ref_supported(),
}, async () => {
  const len = 5 << 20;
  const filled = () => {
    const a = mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const m = user_memory(a, len);
    for (let i = 0; i < len; i += 4096) m[i + (i >> 12) % 4096] = 0x5a;
    return a;
  };
  // More than ZERO_THREAD_AFTER chunks: the thread runs whatever ran before.
  const maps = Array.from({ length: 6 }, filled);
  const zeroed = anon_pool_zeroed();
  for (const a of maps) assertEquals(munmap(a, len), 0);
  const give_up = performance.now() + 10_000;
  while (anon_pool_zeroed() < zeroed + 5 * len) {
    assert(performance.now() < give_up, "the zeroing thread never caught up");
    await new Promise((r) => setTimeout(r, 5));
  }
  for (let i = 0; i < 6; i++) {
    const a = mmap(0n, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assertEquals(user_memory(a, len).every((x) => x === 0), true, `mapping ${i} reads as zeros`);
    maps[i] = a;
  }
  for (const a of maps) assertEquals(munmap(a, len), 0);
});

Deno.test("mmap reuses unmapped room top-down and is ENOMEM when no gap fits (vm_unmapped_area)", () => {
  const len = 2 ** 46; // 64 TiB: two do not fit below MMAP_BASE
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
  const a = mmap(0n, len, RW, flags, -1, 0);
  assertNotEquals(a, -1n);
  assertEquals(mmap(0n, len, RW, flags, -1, 0), -1n, "no second 64 TiB gap");
  assertEquals(errno(), ENOMEM);
  assertEquals(munmap(a, len), 0);
  for (let i = 0; i < 4; i++) {
    const b = mmap(0n, len, RW, flags, -1, 0);
    assertEquals(b, a, "the freed gap is found again");
    assertEquals(munmap(b, len), 0);
  }
  // Small mappings still stack down from the top with a guard page between.
  const x = mmap(0n, 4096n, RW, flags, -1, 0);
  const y = mmap(0n, 4096n, RW, flags, -1, 0);
  assertEquals(x - y >= 8192n, true);
  assertEquals(munmap(x, 4096n) + munmap(y, 4096n), 0);
});

// madvise(2): mm/madvise.c's do_madvise() checks, in order, and what each advice does.
Deno.test("madvise: MADV_DONTNEED zero-fills private anonymous memory, keeps shared memory", () => {
  const priv = mmap(0n, 3 * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  const shared = anon(2 * 4096);
  user_memory(priv, 3 * 4096).fill(0xab);
  user_memory(shared, 2 * 4096).fill(0xcd);
  // Only the middle page is dropped; its neighbours keep their bytes.
  assertEquals(madvise(priv + 4096n, 4096, MADV_DONTNEED), 0);
  assertEquals(user_memory(priv + 4095n, 1)[0], 0xab);
  assertEquals(user_memory(priv + 4096n, 4096).every((b) => b === 0), true);
  assertEquals(user_memory(priv + 8192n, 1)[0], 0xab);
  // A length that is not a page multiple rounds up to the page.
  assertEquals(madvise(priv, 1, MADV_DONTNEED), 0);
  assertEquals(user_memory(priv + 4095n, 1)[0], 0);
  // Shared anonymous memory is shmem: zapping the mapping leaves the data.
  assertEquals(madvise(shared, 2 * 4096, MADV_DONTNEED), 0);
  assertEquals(user_memory(shared + 4097n, 1)[0], 0xcd);
  // MADV_REMOVE punches the hole through shmem, and refuses private memory.
  assertEquals(madvise(shared + 4096n, 4096, MADV_REMOVE), 0);
  assertEquals(user_memory(shared, 1)[0], 0xcd);
  assertEquals(user_memory(shared + 4096n, 4096).every((b) => b === 0), true);
  assert_errno(madvise(priv, 4096, MADV_REMOVE), EINVAL, "MADV_REMOVE on private memory");
  // MADV_FREE is for anonymous memory only, and frees lazily.
  user_memory(priv, 1)[0] = 9;
  assertEquals(madvise(priv, 4096, MADV_FREE), 0);
  assert_errno(madvise(shared, 4096, MADV_FREE), EINVAL, "MADV_FREE on shmem");
  assert_errno(madvise(shared, 4096, MADV_WIPEONFORK), EINVAL, "MADV_WIPEONFORK on shmem");
  assertEquals(madvise(priv, 4096, MADV_WIPEONFORK), 0);
  assertEquals(munmap(priv, 3 * 4096), 0);
  assertEquals(munmap(shared, 2 * 4096), 0);
});

Deno.test("madvise: EINVAL for bad advice, alignment, wrap; 0 for empty; ENOMEM for holes", () => {
  const a = mmap(0n, 3 * 4096, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_errno(madvise(a, 4096, 77), EINVAL, "unknown advice");
  assert_errno(madvise(a, 4096, 102), EINVAL, "guard regions are not modelled");
  // The advice is checked before the address: an unmapped range still gets EINVAL.
  assert_errno(madvise(0x1000n, 4096, -1), EINVAL, "bad advice, unmapped range");
  assert_errno(madvise(a + 1n, 4096, MADV_DONTNEED), EINVAL, "unaligned start");
  assert_errno(madvise(a, -1n, MADV_DONTNEED), EINVAL, "length rounds up to 0");
  assert_errno(madvise(a, 0xffff_ffff_ffff_0000n, MADV_DONTNEED), EINVAL, "range wraps");
  assertEquals(madvise(0x1000n, 0, MADV_DONTNEED), 0, "an empty range is a success");
  assert_errno(madvise(a + 1n, 0, MADV_NORMAL), EINVAL, "alignment is checked before emptiness");
  assert_errno(madvise(0x1000n, 4096, MADV_DONTNEED), ENOMEM, "nothing mapped");
  assert_errno(madvise(0x7fff_ffff_f000n, 8192, MADV_NORMAL), ENOMEM, "past user space");
  assert_errno(madvise(a, 4096, MADV_HWPOISON), EPERM, "needs CAP_SYS_ADMIN");
  // A hole in the range: the mapped parts still get the advice, then ENOMEM.
  user_memory(a, 3 * 4096).fill(1);
  assertEquals(munmap(a + 4096n, 4096), 0);
  assert_errno(madvise(a, 3 * 4096, MADV_DONTNEED), ENOMEM, "range with a hole");
  assertEquals(user_memory(a, 1)[0], 0, "the page before the hole was dropped");
  assertEquals(user_memory(a + 8192n, 1)[0], 0, "the page after the hole was dropped");
  assertEquals(munmap(a, 3 * 4096), 0);
});

Deno.test("madvise: MADV_POPULATE_* need a mapping (ENOMEM) with the access asked (EINVAL)", () => {
  const ro = mmap(0n, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assertEquals(madvise(ro, 2 * 4096, MADV_POPULATE_READ), 0);
  assert_errno(madvise(ro, 4096, MADV_POPULATE_WRITE), EINVAL, "write on a read-only mapping");
  assertEquals(munmap(ro + 4096n, 4096), 0);
  assert_errno(madvise(ro, 2 * 4096, MADV_POPULATE_READ), ENOMEM, "runs into unmapped memory");
  assertEquals(munmap(ro, 4096), 0);
});

Deno.test("madvise: a JavaScript buffer is heap memory: MADV_DONTNEED zeroes it", () => {
  const buf = new Uint8Array(8192).fill(3);
  const a = ptr(buf);
  assertEquals(a % 4096n, 0n);
  assertEquals(madvise(a + 4096n, 4096, MADV_DONTNEED), 0);
  assertEquals(buf[4095], 3);
  assertEquals(buf.subarray(4096).every((b) => b === 0), true);
});
