// SPDX-License-Identifier: GPL-2.0-only
/**
 * What the differential checker found the simulator answering differently
 * from real KVM (tools/diff.ts), pinned down one case at a time: reset
 * state, capability values, KVM_ENABLE_CAP argument checks, check order of
 * the E2BIG paths, the legacy KVM_SET_CPUID, KVM-emulated MSRs and the VFS
 * ioctls every fd answers.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { ioctl } from "../../../../../include/libc/syscall.ts";
import { kvm_cpuid } from "../../../../../include/asm/kvm.ts";
import { E2BIG, EFAULT, EINVAL } from "../../../../../include/linux/errno.ts";
import {
  KVM_CAP_ADJUST_CLOCK,
  KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
  KVM_CAP_MSR_PLATFORM_INFO,
  KVM_CAP_SIGNAL_MSI,
  KVM_CAP_X2APIC_API,
  KVM_CAP_X86_TRIPLE_FAULT_EVENT,
  KVM_CHECK_EXTENSION,
  kvm_cpuid2,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_GET_EMULATED_CPUID,
  KVM_GET_MSRS,
  KVM_GET_SREGS,
  kvm_msrs,
  KVM_SET_CPUID,
  KVM_SET_MSRS,
  KVM_SET_SREGS,
  kvm_sregs,
} from "../../../../../include/linux/kvm.ts";
import { assert_errno, close_all, create_vcpu, create_vm } from "../../../testdata/util.ts";
import { FIOCLEX, FIONBIO, FIONCLEX } from "../../../fs/ioctl.ts";

function cap(fd: number, c: number, arg0: bigint): number {
  const e = kvm_enable_cap.alloc();
  e.cap = c;
  e.args.set(0, arg0);
  return ioctl(fd, KVM_ENABLE_CAP, e);
}

/** KVM_GET_MSRS of one MSR: [count processed, value]. */
function rdmsr(vcpu: number, index: number): [number, bigint] {
  const m = kvm_msrs.alloc(1);
  m.nmsrs = 1;
  m.entries.at(0).index = index;
  const r = ioctl(vcpu, KVM_GET_MSRS, m);
  return [r, m.entries.at(0).data];
}

/** KVM_SET_MSRS of one MSR: the count processed. */
function wrmsr(vcpu: number, index: number, data: bigint): number {
  const m = kvm_msrs.alloc(1);
  m.nmsrs = 1;
  m.entries.at(0).index = index;
  m.entries.at(0).data = data;
  return ioctl(vcpu, KVM_SET_MSRS, m);
}

Deno.test("reset: TR is a system segment (S clear); APIC base is set without an irqchip", () => {
  const [kvm, vm] = create_vm();
  const v0 = create_vcpu(vm, 0);
  const v1 = create_vcpu(vm, 1);
  const s = kvm_sregs.alloc();
  assertEquals(ioctl(v0, KVM_GET_SREGS, s), 0);
  assertEquals([s.tr.s, s.tr.type], [0, 0xb]);
  assertEquals(s.apic_base, 0xfee00900n, "BSP");
  assertEquals(ioctl(v1, KVM_GET_SREGS, s), 0);
  assertEquals(s.apic_base, 0xfee00800n, "AP");
  assertEquals(rdmsr(v0, 0x1b), [1, 0xfee00900n]);
  close_all(v0, v1, vm, kvm);
});

Deno.test("capabilities: values KVM reports on an Intel host", () => {
  const [kvm, vm] = create_vm();
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK), 14);
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X2APIC_API), 15);
  // Without a split irqchip a VM does not offer ENABLE_SUPPRESS_EOI_BROADCAST.
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_X2APIC_API), 11);
  for (const c of [KVM_CAP_SIGNAL_MSI, KVM_CAP_MSR_PLATFORM_INFO, KVM_CAP_X86_TRIPLE_FAULT_EVENT]) {
    assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, c), 1, `cap ${c}`);
  }
  assertEquals(cap(vm, KVM_CAP_X86_TRIPLE_FAULT_EVENT, 1n), 0);
  assert_errno(cap(vm, KVM_CAP_X86_TRIPLE_FAULT_EVENT, 2n), EINVAL, "triple fault arg 2");
  close_all(vm, kvm);
});

Deno.test("KVM_ENABLE_CAP on a vCPU: ENFORCE_PV_FEATURE_CPUID takes any value; NULL is EFAULT", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  assertEquals(cap(vcpu, KVM_CAP_ENFORCE_PV_FEATURE_CPUID, 2n), 0);
  assert_errno(cap(vcpu, 0x7777, 0n), EINVAL, "unknown vCPU cap");
  assert_errno(ioctl(vcpu, KVM_ENABLE_CAP, 0n), EFAULT, "NULL");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_CAP_MSR_PLATFORM_INFO / KVM_CAP_MAX_VCPU_ID / KVM_CAP_SPLIT_IRQCHIP checks", () => {
  const [kvm, vm] = create_vm();
  assertEquals(cap(vm, KVM_CAP_MSR_PLATFORM_INFO, 0n), 0);
  assertEquals(cap(vm, KVM_CAP_MSR_PLATFORM_INFO, 1n), 0);
  const vcpu = create_vcpu(vm);
  assert_errno(cap(vm, 0x80, /* MAX_VCPU_ID */ 0n), EINVAL, "max id after a vCPU");
  close_all(vcpu, vm, kvm);
});

Deno.test("E2BIG is checked before anything is copied", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  // 256 MSRs announced, none present: E2BIG, not EFAULT.
  const m = kvm_msrs.alloc(0);
  m.nmsrs = 256;
  assert_errno(ioctl(vcpu, KVM_GET_MSRS, m), E2BIG, "GET_MSRS");
  assert_errno(ioctl(vcpu, KVM_SET_MSRS, m), E2BIG, "SET_MSRS");
  const c = kvm_cpuid.alloc(0);
  c.nent = 257;
  assert_errno(ioctl(vcpu, KVM_SET_CPUID, c), E2BIG, "SET_CPUID");
  // The emulated table has leaves 0, 1 (MOVBE) and 7 (RDPID).
  const e = kvm_cpuid2.alloc(3);
  e.nent = 1;
  assert_errno(ioctl(kvm, KVM_GET_EMULATED_CPUID, e), E2BIG, "GET_EMULATED_CPUID");
  e.nent = 3;
  assertEquals(ioctl(kvm, KVM_GET_EMULATED_CPUID, e), 0);
  assertEquals(e.nent, 3);
  assertEquals((e.entries.at(1).ecx >>> 22) & 1, 1, "MOVBE");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_CPUID (v1): duplicate leaves are accepted", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const c = kvm_cpuid.alloc(2);
  c.nent = 2;
  c.entries.at(0).function = 0x40000001;
  c.entries.at(1).function = 0x40000001;
  assertEquals(ioctl(vcpu, KVM_SET_CPUID, c), 0);
  close_all(vcpu, vm, kvm);
});

Deno.test("MSRs KVM emulates: TSC deadline, kvmclock/PV, MCE banks, MTRRdefType, POWER_CTL", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  // Without an in-kernel LAPIC the TSC deadline reads 0 and writes are dropped.
  assertEquals(wrmsr(vcpu, 0x6e0, 5n), 1);
  assertEquals(rdmsr(vcpu, 0x6e0), [1, 0n]);
  for (const i of [0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04]) {
    assertEquals(rdmsr(vcpu, i), [1, 0n], `PV MSR 0x${i.toString(16)}`);
  }
  assertEquals(wrmsr(vcpu, 0x4b564d02, 1n), 0, "async PF needs an in-kernel LAPIC");
  assertEquals(wrmsr(vcpu, 0x4b564d03, 0x2n), 0, "steal time reserved bits");
  assertEquals(wrmsr(vcpu, 0x4b564d04, 0x6n), 0, "PV EOI misaligned");
  assertEquals(rdmsr(vcpu, 0x179), [1, 32n], "MCG_CAP: 32 banks");
  assertEquals(rdmsr(vcpu, 0x400), [1, 0n], "MC0_CTL");
  assertEquals(wrmsr(vcpu, 0x400, 0xffffffffffffffffn), 1);
  assertEquals(wrmsr(vcpu, 0x400, 5n), 0, "MCi_CTL is all or nothing");
  assertEquals(wrmsr(vcpu, 0x179, 0x7040600070406n), 0, "MCG_CAP unsupported bits");
  assertEquals(wrmsr(vcpu, 0x2ff, 0xfee00900n), 0, "MTRRdefType reserved bits");
  assertEquals(wrmsr(vcpu, 0x2ff, 0xc06n), 1);
  assertEquals(wrmsr(vcpu, 0x10a, 0xfee00900n), 0, "ARCH_CAPABILITIES unsupported bits");
  assertEquals(wrmsr(vcpu, 0xc0000103, 1n << 32n), 0, "TSC_AUX high bits");
  assertEquals(wrmsr(vcpu, 0x1fc, 3n), 1);
  assertEquals(rdmsr(vcpu, 0x1fc), [1, 3n], "POWER_CTL");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_SREGS: the lowest pending interrupt is kept; CR8 with reserved bits is ignored", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const s = kvm_sregs.alloc();
  assertEquals(ioctl(vcpu, KVM_GET_SREGS, s), 0);
  s.interrupt_bitmap.set(0, 0x30000000000n);
  s.cr8 = 0x10n;
  assertEquals(ioctl(vcpu, KVM_SET_SREGS, s), 0);
  assertEquals(ioctl(vcpu, KVM_GET_SREGS, s), 0);
  assertEquals(s.interrupt_bitmap.at(0), 1n << 40n);
  assertEquals(s.cr8, 0n);
  close_all(vcpu, vm, kvm);
});

Deno.test("VFS ioctls: FIOCLEX/FIONCLEX/FIONBIO on any fd, FIONBIO reads its int", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  for (const fd of [kvm, vm, vcpu]) {
    assertEquals(ioctl(fd, FIOCLEX, 0n), 0);
    assertEquals(ioctl(fd, FIONCLEX, 0n), 0);
    assertEquals(ioctl(fd, FIONBIO, new Int32Array([1])), 0);
    assert_errno(ioctl(fd, FIONBIO, 0n), EFAULT, "FIONBIO NULL");
  }
  close_all(vcpu, vm, kvm);
});

Deno.test("SYSENTER_ESP/EIP are made canonical; FS/GS bases must be canonical, also for userspace", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  assertEquals(wrmsr(vcpu, 0x176, 0xb16e4a54007b8db7n), 1);
  // Sign-extended from bit 56 (the simulated host has LA57).
  assertEquals(rdmsr(vcpu, 0x176), [1, 0xff6e4a54007b8db7n]);
  assertEquals(wrmsr(vcpu, 0xc0000100, 0xb16e4a54007b8db7n), 0, "FS_BASE");
  close_all(vcpu, vm, kvm);
});
