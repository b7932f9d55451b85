// SPDX-License-Identifier: GPL-2.0-only
/**
 * Specification of the generic KVM ioctls (`kvm_main.c`) as the simulator
 * implements them, through the syscall boundary: `/dev/kvm`, VM and vCPU
 * creation, memslots (v1 and v2), memory attributes, capabilities, and the
 * lifetime of VM, vCPU and guest_memfd file descriptors.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { close, ioctl, mmap, munmap, open } from "../../../../include/libc/syscall.ts";
import { errno_get as errno } from "../../../../include/libc/errno.ts";
import {
  EBADF,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOENT,
  ENOTTY,
} from "../../../../include/linux/errno.ts";
import {
  KVM_API_VERSION,
  KVM_CAP_GUEST_MEMFD,
  KVM_CAP_GUEST_MEMFD_FLAGS,
  KVM_CAP_IMMEDIATE_EXIT,
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_MAX_VCPU_ID as CAP_MAX_VCPU_ID,
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_MEMORY_ATTRIBUTES,
  KVM_CAP_MULTI_ADDRESS_SPACE,
  KVM_CAP_NR_MEMSLOTS,
  KVM_CAP_READONLY_MEM,
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CAP_USER_MEMORY2,
  KVM_CAP_VM_TYPES,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_GET_API_VERSION,
  KVM_GET_REGS,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  kvm_regs,
  KVM_RUN,
  KVM_SET_BOOT_CPU_ID,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION2,
  kvm_userspace_memory_region2,
  KVM_X86_DEFAULT_VM,
  KVM_X86_SW_PROTECTED_VM,
  KVM_X86_TDX_VM,
} from "../../../../include/linux/kvm.ts";
import { O_RDWR } from "../../../../include/linux/fcntl.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../../../../include/linux/mman.ts";
import {
  anon,
  assert_errno,
  close_all,
  create_vcpu,
  create_vm,
  open_kvm,
  set_region,
} from "../../testdata/util.ts";
import { vm_list } from "./kvm_main.ts";
import { KVM_MAX_VCPU_IDS } from "../../include/linux/kvm_host.ts";

const MB = 1n << 20n;

function region2(
  vm: number,
  slot: number,
  flags: number,
  gpa: bigint,
  size: bigint,
  hva: bigint,
  gmem_fd = 0,
  gmem_off = 0n,
): number {
  const r = kvm_userspace_memory_region2.alloc();
  r.slot = slot;
  r.flags = flags;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = hva;
  r.guest_memfd = gmem_fd;
  r.guest_memfd_offset = gmem_off;
  return ioctl(vm, KVM_SET_USER_MEMORY_REGION2, r);
}

function gmem(vm: number, size: bigint, flags = 0n): number {
  const g = kvm_create_guest_memfd.alloc();
  g.size = size;
  g.flags = flags;
  return ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
}

function enable_cap(fd: number, cap: number, arg0: bigint, flags = 0): number {
  const c = kvm_enable_cap.alloc();
  c.cap = cap;
  c.flags = flags;
  c.args.set(0, arg0);
  return ioctl(fd, KVM_ENABLE_CAP, c);
}

Deno.test("/dev/kvm: open of another path is ENOENT", () => {
  assert_errno(open("/dev/kvmm", O_RDWR), ENOENT);
  assert_errno(open("/dev/tdx_guest", O_RDWR), ENOENT);
});

Deno.test("/dev/kvm: API version 12; a non-zero argument is EINVAL", () => {
  const kvm = open_kvm();
  assertEquals(ioctl(kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
  assert_errno(ioctl(kvm, KVM_GET_API_VERSION, 1), EINVAL);
  close(kvm);
});

Deno.test("/dev/kvm: the vCPU mmap size covers kvm_run, the PIO page and the MMIO ring", () => {
  const kvm = open_kvm();
  assertEquals(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), 3 * 4096);
  assert_errno(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 5), EINVAL);
  close(kvm);
});

Deno.test("/dev/kvm: capabilities form a coherent set", () => {
  const kvm = open_kvm();
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES), 0b100011);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2), 1);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT), 1);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP), 1);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD), 1);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS), 4096);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID), 16384);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS), 32764);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE), 2);
  // /dev/kvm reports what some VM type can have: PRIVATE.
  assertEquals(
    ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES),
    Number(KVM_MEMORY_ATTRIBUTE_PRIVATE),
  );
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, 0x7fffffff), 0);
  close(kvm);
});

Deno.test("/dev/kvm: an unknown ioctl is EINVAL, a VM ioctl on it too", () => {
  const kvm = open_kvm();
  assert_errno(ioctl(kvm, 0xdeadbeef, 0), EINVAL);
  assert_errno(ioctl(kvm, KVM_CREATE_VCPU, 0), EINVAL);
  close(kvm);
});

Deno.test("/dev/kvm: mmap of it is ENODEV", () => {
  const kvm = open_kvm();
  assertEquals(mmap(0n, 4096, PROT_READ, MAP_SHARED, kvm, 0), -1n);
  assertEquals(errno(), ENODEV);
  close(kvm);
});

Deno.test("KVM_CREATE_VM: DEFAULT, SW_PROTECTED and TDX exist; junk is EINVAL", () => {
  const kvm = open_kvm();
  const a = ioctl(kvm, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
  const b = ioctl(kvm, KVM_CREATE_VM, KVM_X86_SW_PROTECTED_VM);
  const c = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  assertEquals(a >= 0 && b >= 0 && c >= 0, true);
  assert_errno(ioctl(kvm, KVM_CREATE_VM, 1n << 40n), EINVAL);
  close_all(a, b, c, kvm);
});

Deno.test("bad and closed fds are EBADF", () => {
  assert_errno(ioctl(1000, KVM_GET_API_VERSION, 0), EBADF);
  assert_errno(ioctl(-1, KVM_GET_API_VERSION, 0), EBADF);
  const kvm = open_kvm();
  close(kvm);
  assert_errno(ioctl(kvm, KVM_GET_API_VERSION, 0), EBADF);
  assert_errno(close(kvm), EBADF);
});

Deno.test("VM fd: unknown ioctls are ENOTTY, vCPU ioctls too", () => {
  const [kvm, vm] = create_vm();
  assert_errno(ioctl(vm, 0xae0000ff, 0), ENOTTY);
  assert_errno(ioctl(vm, KVM_RUN, 0), ENOTTY);
  assert_errno(ioctl(vm, KVM_GET_REGS, kvm_regs.alloc()), ENOTTY);
  close_all(vm, kvm);
});

Deno.test("VM fd: KVM_CHECK_EXTENSION answers for this VM's type", () => {
  const [kvm, vm] = create_vm(KVM_X86_DEFAULT_VM);
  const [kvm2, pvm] = create_vm(KVM_X86_SW_PROTECTED_VM);
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES), 0);
  assertEquals(
    ioctl(pvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES),
    Number(KVM_MEMORY_ATTRIBUTE_PRIVATE),
  );
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE), 2);
  assertEquals(ioctl(pvm, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE), 1);
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS), 3);
  assertEquals(ioctl(pvm, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS), 1);
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM), 1);
  close_all(vm, kvm, pvm, kvm2);
});

Deno.test("KVM_CREATE_VCPU: ids, duplicates and the per-VM id limit", () => {
  const [kvm, vm] = create_vm();
  const v0 = create_vcpu(vm, 0);
  assert_errno(ioctl(vm, KVM_CREATE_VCPU, 0), EEXIST, "duplicate id");
  assert_errno(ioctl(vm, KVM_CREATE_VCPU, 16384), EINVAL, "id >= KVM_MAX_VCPU_IDS");
  const v5 = create_vcpu(vm, 5);
  // The first vCPU locked the default limit in (kvm_arch_vcpu_precreate()):
  // another value is refused, the one in force is accepted.
  assert_errno(enable_cap(vm, CAP_MAX_VCPU_ID, 8n), EINVAL, "limit after a vCPU");
  assertEquals(enable_cap(vm, CAP_MAX_VCPU_ID, BigInt(KVM_MAX_VCPU_IDS)), 0);
  assert_errno(ioctl(vm, KVM_CREATE_VCPU, -1n), EINVAL, "id -1 is huge, not negative");
  close_all(v0, v5, vm);
  const vm2 = ioctl(kvm, KVM_CREATE_VM, 0);
  // The id limit can only be set once, to one value.
  assertEquals(enable_cap(vm2, CAP_MAX_VCPU_ID, 8n), 0);
  assertEquals(enable_cap(vm2, CAP_MAX_VCPU_ID, 8n), 0);
  assert_errno(enable_cap(vm2, CAP_MAX_VCPU_ID, 16n), EINVAL, "second different limit");
  assert_errno(enable_cap(vm2, CAP_MAX_VCPU_ID, 16385n), EINVAL, "limit above max");
  assert_errno(ioctl(vm2, KVM_CREATE_VCPU, 8), EINVAL, "id >= max_vcpu_ids");
  // kvm_vm_ioctl_check_extension() answers KVM_MAX_VCPU_IDS, not the VM's limit.
  assertEquals(ioctl(vm2, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID), KVM_MAX_VCPU_IDS);
  close_all(vm2, kvm);
});

// kvm-x86 next, arch/x86/kvm/x86.c: KVM_SET_BOOT_CPU_ID in kvm_arch_vm_ioctl()
// (EBUSY once a vCPU exists, then `arg > KVM_MAX_VCPU_IDS` or `arg > max_vcpu_ids`
// give EINVAL: the id may equal the limit) and KVM_CAP_MAX_VCPU_ID in
// kvm_vm_ioctl_enable_cap() (a limit below the boot CPU id is refused; the
// value in force is accepted again, also after vCPUs exist).
Deno.test("KVM_SET_BOOT_CPU_ID and KVM_CAP_MAX_VCPU_ID bound each other as x86.c does", () => {
  const [kvm, vm] = create_vm();
  const max = BigInt(KVM_MAX_VCPU_IDS);
  assert_errno(ioctl(vm, KVM_SET_BOOT_CPU_ID, max + 1n), EINVAL, "above KVM_MAX_VCPU_IDS");
  assertEquals(ioctl(vm, KVM_SET_BOOT_CPU_ID, max), 0);
  assertEquals(ioctl(vm, KVM_SET_BOOT_CPU_ID, 3n), 0);
  assert_errno(enable_cap(vm, CAP_MAX_VCPU_ID, 2n), EINVAL, "limit below the boot CPU");
  assertEquals(enable_cap(vm, CAP_MAX_VCPU_ID, 3n), 0);
  assertEquals(ioctl(vm, KVM_SET_BOOT_CPU_ID, 3n), 0);
  assert_errno(ioctl(vm, KVM_SET_BOOT_CPU_ID, 4n), EINVAL, "above max_vcpu_ids");
  const v = create_vcpu(vm, 0);
  assertEquals(enable_cap(vm, CAP_MAX_VCPU_ID, 3n), 0);
  assert_errno(ioctl(vm, KVM_SET_BOOT_CPU_ID, 0n), EBUSY, "after a vCPU");
  close_all(v, vm, kvm);
});

Deno.test("KVM_ENABLE_CAP: flags must be zero, unknown caps are EINVAL, bad pointer EFAULT", () => {
  const [kvm, vm] = create_vm();
  assert_errno(enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24n, 1), EINVAL, "flags");
  assert_errno(enable_cap(vm, 0x7777, 0n), EINVAL, "unknown cap");
  assert_errno(ioctl(vm, KVM_ENABLE_CAP, 0x1000n), EFAULT, "bad pointer");
  close_all(vm, kvm);
});

Deno.test("memslots: create, duplicate, overlap, delete, move", () => {
  const [kvm, vm] = create_vm();
  const hva = anon(4n * MB);
  assertEquals(set_region(vm, 0, 0, 0n, 2n * MB, hva), 0);
  // Setting the same slot with the same values is a no-op.
  assertEquals(set_region(vm, 0, 0, 0n, 2n * MB, hva), 0);
  assert_errno(set_region(vm, 1, 0, 1n * MB, 2n * MB, hva), EEXIST, "overlap");
  assert_errno(set_region(vm, 1, 0, 0n, 4096n, hva), EEXIST, "overlap at start");
  assertEquals(set_region(vm, 1, 0, 2n * MB, 2n * MB, hva + 2n * MB), 0);
  // Move slot 0 somewhere free; a move onto slot 1 overlaps.
  assert_errno(set_region(vm, 0, 0, 2n * MB, 2n * MB, hva), EEXIST, "move onto slot 1");
  assertEquals(set_region(vm, 0, 0, 8n * MB, 2n * MB, hva), 0);
  // Size and userspace_addr cannot change; READONLY cannot be toggled.
  assert_errno(set_region(vm, 0, 0, 8n * MB, 1n * MB, hva), EINVAL, "resize");
  assert_errno(set_region(vm, 0, 0, 8n * MB, 2n * MB, hva + 4096n), EINVAL, "new hva");
  assert_errno(set_region(vm, 0, KVM_MEM_READONLY, 8n * MB, 2n * MB, hva), EINVAL, "toggle RO");
  // A flags change (dirty logging) is allowed.
  assertEquals(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, 8n * MB, 2n * MB, hva), 0);
  // Delete by size 0; deleting a missing slot is EINVAL.
  assertEquals(set_region(vm, 0, 0, 0n, 0n, 0n), 0);
  assert_errno(set_region(vm, 0, 0, 0n, 0n, 0n), EINVAL, "delete missing");
  assertEquals(set_region(vm, 2, 0, 0n, 2n * MB, hva), 0);
  close_all(vm, kvm);
});

Deno.test("memslots: alignment, range and slot-id rules", () => {
  const [kvm, vm] = create_vm();
  const hva = anon(2n * MB);
  assert_errno(set_region(vm, 0, 0, 0n, 4095n, hva), EINVAL, "size not page aligned");
  assert_errno(set_region(vm, 0, 0, 0x800n, 4096n, hva), EINVAL, "gpa not page aligned");
  assert_errno(set_region(vm, 0, 0, 0n, 4096n, hva + 1n), EINVAL, "hva not page aligned");
  assert_errno(set_region(vm, 0, 0, 0n, 4096n, 0x8000_0000_0000n), EINVAL, "hva past TASK_SIZE");
  assert_errno(
    set_region(vm, 0, 0, 0xffff_ffff_ffff_f000n, 8192n, hva),
    EINVAL,
    "gpa + size wraps",
  );
  assert_errno(set_region(vm, 32764, 0, 0n, 4096n, hva), EINVAL, "slot id >= KVM_USER_MEM_SLOTS");
  assert_errno(set_region(vm, 2 << 16, 0, 0n, 4096n, hva), EINVAL, "as_id 2");
  assertEquals(set_region(vm, 1 << 16, 0, 0n, 4096n, hva), 0, "as_id 1 (SMM) exists");
  assert_errno(set_region(vm, 0, 1 << 5, 0n, 4096n, hva), EINVAL, "unknown flag");
  assert_errno(
    set_region(vm, 0, KVM_MEM_GUEST_MEMFD, 0n, 4096n, hva),
    EINVAL,
    "v1 with GUEST_MEMFD",
  );
  // KVM does not require userspace_addr to be mapped.
  assertEquals(set_region(vm, 3, 0, 16n * MB, 4096n, 0x1000n), 0);
  assert_errno(
    ioctl(vm, KVM_SET_USER_MEMORY_REGION2, 0xdead000n),
    EFAULT,
    "region2 from a bad pointer",
  );
  close_all(vm, kvm);
});

Deno.test("memslots v2: guest_memfd binding rules", () => {
  const [kvm, vm] = create_vm(KVM_X86_SW_PROTECTED_VM);
  const [kvm2, other] = create_vm(KVM_X86_SW_PROTECTED_VM);
  const hva = anon(4n * MB);
  const g = gmem(vm, 4n * MB);
  const g_other = gmem(other, 4n * MB);
  assertEquals(g >= 0 && g_other >= 0, true);
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD, 0n, 2n * MB, hva, kvm, 0n),
    EINVAL,
    "fd is not a guest_memfd",
  );
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD, 0n, 2n * MB, hva, g_other, 0n),
    EINVAL,
    "guest_memfd of another VM",
  );
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD, 0n, 2n * MB, hva, 999, 0n),
    EBADF,
    "guest_memfd fd not open",
  );
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD, 0n, 2n * MB, hva, g, 100n),
    EINVAL,
    "offset not page aligned",
  );
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD, 0n, 2n * MB, hva, g, 3n * MB),
    EINVAL,
    "offset + size past the file",
  );
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, 0n, 2n * MB, hva, g, 0n),
    EINVAL,
    "dirty logging of guest_memfd",
  );
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY, 0n, 2n * MB, hva, g, 0n),
    EINVAL,
    "read-only guest_memfd",
  );
  assertEquals(region2(vm, 0, KVM_MEM_GUEST_MEMFD, 0n, 2n * MB, hva, g, 0n), 0);
  assert_errno(
    region2(vm, 1, KVM_MEM_GUEST_MEMFD, 4n * MB, 2n * MB, hva + 2n * MB, g, 1n * MB),
    EEXIST,
    "overlapping binding",
  );
  assertEquals(region2(vm, 1, KVM_MEM_GUEST_MEMFD, 4n * MB, 2n * MB, hva + 2n * MB, g, 2n * MB), 0);
  assert_errno(
    region2(vm, 0, KVM_MEM_GUEST_MEMFD, 8n * MB, 2n * MB, hva, g, 0n),
    EINVAL,
    "guest_memfd slots cannot move",
  );
  assert_errno(set_region(vm, 2 << 16 | 0, 0, 0n, 4096n, hva), EINVAL, "private VMs have one AS");
  assert_errno(set_region(vm, 1 << 16, 0, 0n, 4096n, hva), EINVAL, "no SMM address space");
  close_all(g, g_other, vm, other, kvm, kvm2);
});

Deno.test("KVM_SET_MEMORY_ATTRIBUTES: flags, attributes per VM type, alignment, size", () => {
  const [kvm, vm] = create_vm(KVM_X86_DEFAULT_VM);
  const [kvm2, pvm] = create_vm(KVM_X86_SW_PROTECTED_VM);
  const a = kvm_memory_attributes.alloc();
  const set = (fd: number, address: bigint, size: bigint, attributes: bigint, flags = 0n) => {
    a.address = address;
    a.size = size;
    a.attributes = attributes;
    a.flags = flags;
    return ioctl(fd, KVM_SET_MEMORY_ATTRIBUTES, a);
  };
  assertEquals(set(pvm, 0n, 2n * MB, KVM_MEMORY_ATTRIBUTE_PRIVATE), 0);
  assertEquals(set(pvm, 4096n, 4096n, 0n), 0);
  assert_errno(set(vm, 0n, 4096n, KVM_MEMORY_ATTRIBUTE_PRIVATE), EINVAL, "PRIVATE on DEFAULT VM");
  assertEquals(set(vm, 0n, 4096n, 0n), 0, "no attributes is fine anywhere");
  assert_errno(set(pvm, 0n, 4096n, KVM_MEMORY_ATTRIBUTE_PRIVATE, 1n), EINVAL, "flags");
  assert_errno(set(pvm, 0n, 4096n, 1n << 4n), EINVAL, "unknown attribute");
  assert_errno(set(pvm, 0n, 0n, KVM_MEMORY_ATTRIBUTE_PRIVATE), EINVAL, "size 0");
  assert_errno(set(pvm, 100n, 4096n, KVM_MEMORY_ATTRIBUTE_PRIVATE), EINVAL, "address unaligned");
  assert_errno(set(pvm, 0n, 100n, KVM_MEMORY_ATTRIBUTE_PRIVATE), EINVAL, "size unaligned");
  assert_errno(
    set(pvm, 0xffff_ffff_ffff_f000n, 8192n, KVM_MEMORY_ATTRIBUTE_PRIVATE),
    EINVAL,
    "wraps",
  );
  assert_errno(ioctl(pvm, KVM_SET_MEMORY_ATTRIBUTES, 8n), EFAULT, "bad pointer");
  close_all(vm, pvm, kvm, kvm2);
});

Deno.test("lifetime: a VM lives while its VM, vCPU or guest_memfd fds are open", () => {
  const before = vm_list.size;
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm, 0);
  const g = gmem(vm, 1n * MB);
  const live = () => vm_list.size - before;
  close(vm);
  assertEquals(live(), 1, "vCPU and guest_memfd keep it");
  assertEquals(ioctl(vcpu, KVM_GET_REGS, kvm_regs.alloc()), 0);
  close(vcpu);
  assertEquals(live(), 1, "guest_memfd keeps it");
  close(g);
  assertEquals(live(), 0, "last reference frees it");
  close(kvm);
});

Deno.test("lifetime: a kvm_run mapping outlives close of the vCPU fd", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm, 0);
  const run = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  close(vcpu);
  close(vm);
  assertEquals(munmap(run, 3 * 4096), 0);
  close(kvm);
});

Deno.test("KVM_CREATE_GUEST_MEMFD from a bad pointer is EFAULT", () => {
  const [kvm, vm] = create_vm();
  assert_errno(ioctl(vm, KVM_CREATE_GUEST_MEMFD, 16n), EFAULT);
  close_all(vm, kvm);
});

Deno.test("vCPU ioctls on a second thread of use: open /dev/kvm read-only still works", () => {
  const kvm = open("/dev/kvm", 0);
  assertEquals(ioctl(kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP), 1);
  close(kvm);
});
