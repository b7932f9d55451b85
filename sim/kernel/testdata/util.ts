// SPDX-License-Identifier: GPL-2.0-only
/**
 * Helpers for the simulated kernel's tests: syscalls through the public
 * boundary with the failing errno checked, a VM with memory in a few lines,
 * and a library vCPU run to its next `GUEST_SYNC`.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { close, ioctl, mmap, open } from "../../../include/libc/syscall.ts";
import { errno_get as errno } from "../../../include/libc/errno.ts";
import {
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_SET_USER_MEMORY_REGION,
  kvm_userspace_memory_region,
} from "../../../include/linux/kvm.ts";
import { O_RDWR } from "../../../include/linux/fcntl.ts";
import {
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "../../../include/linux/mman.ts";
import { strerror } from "../../../include/linux/errno.ts";
import {
  get_ucall,
  type kvm_vcpu,
  REPORT_GUEST_ASSERT,
  UCALL_ABORT,
  type ucall_struct,
  UCALL_SYNC,
  vcpu_run,
} from "../../../include/kvm_util.ts";

/** Asserts that a syscall returned -1 with `errno` set to `expected`. */
export function assert_errno(r: number | bigint, expected: number, what = "call"): void {
  const e = errno();
  assertEquals(
    [Number(r), e],
    [-1, expected],
    `${what}: expected -1/${strerror(expected)}, got ${r}/${strerror(e)}`,
  );
}

/** Opens `/dev/kvm`. */
export function open_kvm(): number {
  const fd = open("/dev/kvm", O_RDWR);
  assertEquals(fd >= 0, true, `open(/dev/kvm): errno ${errno()}`);
  return fd;
}

/** Creates a VM of `type`; returns `[kvm_fd, vm_fd]`. */
export function create_vm(type = 0): [number, number] {
  const kvm = open_kvm();
  const vm = ioctl(kvm, KVM_CREATE_VM, type);
  assertEquals(vm >= 0, true, `KVM_CREATE_VM: errno ${errno()}`);
  return [kvm, vm];
}

/** Creates vCPU `id` on `vm`; returns its fd. */
export function create_vcpu(vm: number, id = 0): number {
  const fd = ioctl(vm, KVM_CREATE_VCPU, id);
  assertEquals(fd >= 0, true, `KVM_CREATE_VCPU: errno ${errno()}`);
  return fd;
}

/** Anonymous shared memory of `size` bytes; returns its user address. */
export function anon(size: number | bigint): bigint {
  const a = mmap(0n, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assertEquals(a === MAP_FAILED, false, `mmap: errno ${errno()}`);
  return a;
}

/** KVM_SET_USER_MEMORY_REGION; the raw result. */
export function set_region(
  vm: number,
  slot: number,
  flags: number,
  gpa: bigint,
  size: bigint,
  hva: bigint,
): number {
  const r = kvm_userspace_memory_region.alloc();
  r.slot = slot;
  r.flags = flags;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = hva;
  return ioctl(vm, KVM_SET_USER_MEMORY_REGION, r);
}

/** Closes every fd given. */
export function close_all(...fds: number[]): void {
  for (const fd of fds) close(fd);
}

/**
 * Runs `vcpu` to its next `GUEST_SYNC(arg)` and returns `arg`; a guest
 * assertion is reported as the test's failure, any other ucall fails it.
 */
export function run_to_sync(vcpu: kvm_vcpu, uc: ReturnType<typeof ucall_struct.alloc>): bigint {
  vcpu_run(vcpu);
  const r = get_ucall(vcpu, uc);
  if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
  assertEquals(r, UCALL_SYNC);
  return uc.args.at(1);
}
