// SPDX-License-Identifier: GPL-2.0-only
/**
 * Specification of guest_memfd (`guest_memfd.c`) in the simulator:
 * creation, `fallocate`, `read`/`write`, `mmap`, `fstat`, and what a
 * guest_memfd is not (an ioctl target).
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { stat } from "../../../../include/asm/stat.ts";
import { assertEquals } from "@std/assert";
import {
  close,
  fallocate,
  fstat,
  ioctl,
  mmap,
  munmap,
  read,
  user_memory,
  write,
} from "../../../../include/libc/syscall.ts";
import { errno_get as errno } from "../../../../include/libc/errno.ts";
import { EBADF, EINVAL, ENODEV, ENOTTY, EOPNOTSUPP } from "../../../../include/linux/errno.ts";
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
} from "../../../../include/linux/falloc.ts";
import {
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_X86_SW_PROTECTED_VM,
} from "../../../../include/linux/kvm.ts";
import { MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "../../../../include/linux/mman.ts";
import { assert_errno, close_all, create_vm } from "../../testdata/util.ts";
import { anon_pool_size } from "../../mm/mmap.ts";

function gmem(vm: number, size: bigint, flags = 0n): number {
  const g = kvm_create_guest_memfd.alloc();
  g.size = size;
  g.flags = flags;
  return ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
}

Deno.test("KVM_CREATE_GUEST_MEMFD: size must be page aligned and positive; flags per VM type", () => {
  const [kvm, vm] = create_vm();
  const [kvm2, pvm] = create_vm(KVM_X86_SW_PROTECTED_VM);
  assert_errno(gmem(vm, 0n), EINVAL, "size 0");
  assert_errno(gmem(vm, 4095n), EINVAL, "size not page aligned");
  assert_errno(gmem(vm, 1n << 63n), EINVAL, "negative loff_t");
  assert_errno(gmem(vm, 4096n, 1n << 2n), EINVAL, "unknown flag");
  assert_errno(gmem(pvm, 4096n, GUEST_MEMFD_FLAG_INIT_SHARED), EINVAL, "INIT_SHARED on private VM");
  const g = gmem(vm, 8192n, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  assertEquals(g >= 0, true);
  const st = stat.alloc();
  assertEquals(fstat(g, st), 0);
  assertEquals(st.st_size, 8192n);
  assertEquals(st.st_blksize, 4096n);
  close_all(g, vm, pvm, kvm, kvm2);
});

Deno.test("guest_memfd: fallocate needs KEEP_SIZE and page alignment; allocation within the size", () => {
  const [kvm, vm] = create_vm();
  const g = gmem(vm, 1n << 20n);
  const PH = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
  assertEquals(fallocate(g, FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
  assertEquals(fallocate(g, PH, 0, 4096), 0);
  assertEquals(fallocate(g, PH, 1 << 20, 4096), 0, "punching past the end is fine");
  assert_errno(fallocate(g, 0, 0, 4096), EOPNOTSUPP, "allocate without KEEP_SIZE");
  assert_errno(fallocate(g, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP, "punch without KEEP_SIZE");
  assert_errno(
    fallocate(g, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096),
    EOPNOTSUPP,
    "zero range",
  );
  assert_errno(fallocate(g, PH, 1, 4096), EINVAL, "offset unaligned");
  assert_errno(fallocate(g, PH, 0, 4097), EINVAL, "len unaligned");
  assert_errno(fallocate(g, PH, 0, 0), EINVAL, "len 0");
  assert_errno(fallocate(g, PH, -4096, 4096), EINVAL, "negative offset");
  assert_errno(fallocate(g, FALLOC_FL_KEEP_SIZE, 1 << 20, 4096), EINVAL, "allocate past the end");
  assert_errno(fallocate(vm, PH, 0, 4096), ENODEV, "fallocate on a VM fd");
  assert_errno(fallocate(12345, PH, 0, 4096), EBADF, "bad fd");
  close_all(g, vm, kvm);
});

Deno.test("guest_memfd: read, write and ioctl are refused", () => {
  const [kvm, vm] = create_vm();
  const g = gmem(vm, 4096n);
  const buf = new Uint8Array(16);
  assert_errno(read(g, buf, 16), EINVAL, "read");
  assert_errno(write(g, buf, 16), EINVAL, "write");
  assert_errno(ioctl(g, KVM_CHECK_EXTENSION, 0), ENOTTY, "ioctl");
  close_all(g, vm, kvm);
});

Deno.test("guest_memfd: mmap only with FLAG_MMAP and MAP_SHARED; punch hole zeroes", () => {
  const [kvm, vm] = create_vm();
  const plain = gmem(vm, 8192n);
  const g = gmem(vm, 8192n, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  assertEquals(mmap(0n, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, plain, 0), -1n);
  assertEquals(errno(), ENODEV);
  assertEquals(mmap(0n, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, g, 0), -1n);
  assertEquals(errno(), EINVAL);
  const a = mmap(0n, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
  const m = user_memory(a + 4096n, 4);
  m[0] = 0xaa;
  const b = mmap(0n, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g, 4096);
  assertEquals(user_memory(b, 1)[0], 0xaa, "two mappings share the file's pages");
  assertEquals(fallocate(g, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096), 0);
  assertEquals(user_memory(b, 1)[0], 0, "punched page reads zero");
  close_all(g, plain, vm, kvm);
  void close;
});

Deno.test("guest_memfd: its pages are freed with its last reference, not before", () => {
  const [kvm, vm] = create_vm();
  const len = 3 << 20;
  const g = gmem(vm, BigInt(len), GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
  const a = mmap(0n, len, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
  const m = user_memory(a, len);
  for (let i = 0; i < len; i += 4096) m[i] = 0xa5;
  const pooled = anon_pool_size();
  // The mapping holds a reference: the file's pages outlive the fd.
  assertEquals(close(g), 0);
  assertEquals(anon_pool_size(), pooled, "freed while still mapped");
  assertEquals(user_memory(a, 1)[0], 0xa5);
  // kvm_gmem_release(), then the inode's eviction truncates its pages.
  assertEquals(munmap(a, len), 0);
  assertEquals(anon_pool_size(), pooled + len, "the pages were not freed with the file");
  close_all(vm, kvm);
});

Deno.test("a 2^46-byte guest_memfd (Linux accepts it) costs only the chunks used", () => {
  const [kvm, vm] = create_vm(1);
  const rss0 = Deno.memoryUsage().rss;
  const fd = gmem(vm, 1n << 46n);
  assertEquals(fd >= 0, true, `errno ${errno()}`);
  // Punching a hole over a terabyte touches nothing either.
  assertEquals(fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0n, 1n << 40n), 0);
  assertEquals(fallocate(fd, FALLOC_FL_KEEP_SIZE, (1n << 46n) - 4096n, 4096n), 0);
  assertEquals(Deno.memoryUsage().rss - rss0 < 64 << 20, true, "no chunk was allocated up front");
  close(fd);
  close(vm);
  close(kvm);
});
