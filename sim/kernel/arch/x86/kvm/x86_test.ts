// SPDX-License-Identifier: GPL-2.0-only
/**
 * Specification of the x86 KVM ioctls (`x86.c`, `cpuid.c`) in the
 * simulator: supported CPUID and MSR lists with their E2BIG protocols, the
 * register ioctls and their validation, MSRs with count semantics, CPUID
 * tables, XCRs, MP state, TSC frequency, MSR filters, irqchip modes, and the
 * KVM_RUN paths that do not need a guest.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals, assertNotEquals } from "@std/assert";
import { close, ioctl, mmap, munmap, ptr } from "../../../../../include/libc/syscall.ts";
import {
  E2BIG,
  EEXIST,
  EFAULT,
  EINTR,
  EINVAL,
  ENOTTY,
  ENXIO,
} from "../../../../../include/linux/errno.ts";
import { errno_get, errno_set } from "../../../../../include/libc/errno.ts";
import {
  KVM_CAP_EXIT_HYPERCALL,
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CAP_X2APIC_API,
  KVM_CAP_X86_USER_SPACE_MSR,
  kvm_cpuid2,
  KVM_CREATE_IRQCHIP,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_EXIT_INTR,
  KVM_GET_CPUID2,
  KVM_GET_MP_STATE,
  KVM_GET_MSR_INDEX_LIST,
  KVM_GET_MSRS,
  KVM_GET_NR_MMU_PAGES,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_TSC_KHZ,
  KVM_GET_XCRS,
  kvm_irq_level,
  KVM_IRQ_LINE,
  kvm_mp_state,
  KVM_MP_STATE_HALTED,
  KVM_MP_STATE_RUNNABLE,
  kvm_msr_filter,
  KVM_MSR_FILTER_DEFAULT_DENY,
  KVM_MSR_FILTER_READ,
  kvm_msr_list,
  kvm_msrs,
  kvm_regs,
  KVM_RUN,
  kvm_run,
  KVM_SET_CPUID2,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_NR_MMU_PAGES,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_TSC_KHZ,
  KVM_SET_XCRS,
  kvm_sregs,
  KVM_X86_SET_MSR_FILTER,
  kvm_xcrs,
} from "../../../../../include/linux/kvm.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../../../../../include/linux/mman.ts";
import { user_memory } from "../../../../../include/libc/syscall.ts";
import {
  assert_errno,
  close_all,
  create_vcpu,
  create_vm,
  open_kvm,
} from "../../../testdata/util.ts";

function supported_cpuid(kvm: number) {
  const c = kvm_cpuid2.alloc(256);
  c.nent = 256;
  assertEquals(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), 0);
  return c;
}

function cap(fd: number, c: number, arg0: bigint, flags = 0): number {
  const e = kvm_enable_cap.alloc();
  e.cap = c;
  e.flags = flags;
  e.args.set(0, arg0);
  return ioctl(fd, KVM_ENABLE_CAP, e);
}

Deno.test("KVM_GET_SUPPORTED_CPUID: a GenuineIntel Sapphire Rapids with x2APIC, XSAVE, LM, NX", () => {
  const kvm = open_kvm();
  const c = supported_cpuid(kvm);
  const find = (fn: number, idx = 0) =>
    c.entries.toArray().slice(0, c.nent).find((e) => e.function === fn && e.index === idx)!;
  const l0 = find(0);
  assertEquals(
    new TextDecoder().decode(new Uint32Array([l0.ebx, l0.edx, l0.ecx])),
    "GenuineIntel",
  );
  const l1 = find(1);
  assertEquals(l1.eax, 0x806f8);
  assertEquals((l1.ecx >>> 21) & 1, 1, "x2APIC");
  assertEquals((l1.ecx >>> 26) & 1, 1, "XSAVE");
  const e1 = find(0x80000001);
  assertEquals((e1.edx >>> 29) & 1, 1, "LM");
  assertEquals((e1.edx >>> 20) & 1, 1, "NX");
  assertEquals((e1.edx >>> 26) & 1, 1, "1 GiB pages");
  assertEquals(find(0x80000008).eax & 0xffffff, 0x343934, "GuestPhysBits 52, VA 57, PA 52");
  assertEquals(find(0xd, 0).eax & 7, 7, "x87 | SSE | AVX");
  close(kvm);
});

Deno.test("KVM_GET_SUPPORTED_CPUID: nent 0 or too small is E2BIG, nent is not written back", () => {
  const kvm = open_kvm();
  const c = kvm_cpuid2.alloc(4);
  c.nent = 0;
  assert_errno(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), E2BIG, "nent 0");
  c.nent = 4;
  assert_errno(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c), E2BIG, "nent 4");
  assertEquals(c.nent, 4);
  assert_errno(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, 0x10n), EFAULT, "bad pointer");
  close(kvm);
});

Deno.test("KVM_GET_MSR_INDEX_LIST: E2BIG writes back the count, then the list fits", () => {
  const kvm = open_kvm();
  const l = kvm_msr_list.alloc(0);
  assert_errno(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, l), E2BIG);
  const n = l.nmsrs;
  assertNotEquals(n, 0);
  const big = kvm_msr_list.alloc(n);
  big.nmsrs = n;
  assertEquals(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, big), 0);
  assertEquals(big.indices.toArray().includes(0x10), true, "IA32_TSC is listed");
  close(kvm);
});

Deno.test("vCPU: reset state is the x86 power-on state KVM sets", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const regs = kvm_regs.alloc();
  assertEquals(ioctl(vcpu, KVM_GET_REGS, regs), 0);
  assertEquals([regs.rip, regs.rflags, regs.rdx], [0xfff0n, 2n, 0x600n]);
  const s = kvm_sregs.alloc();
  assertEquals(ioctl(vcpu, KVM_GET_SREGS, s), 0);
  assertEquals([s.cs.selector, s.cs.base, s.cr0], [0xf000, 0xffff0000n, 0x60000010n]);
  close_all(vcpu, vm, kvm);
});

Deno.test("vCPU: an unknown ioctl is EINVAL, a non-KVM ioctl type too", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  assert_errno(ioctl(vcpu, 0xaeff, 0), EINVAL, "unknown KVM ioctl");
  assert_errno(ioctl(vcpu, 0x5401, 0), EINVAL, "TCGETS");
  assert_errno(ioctl(vcpu, KVM_RUN, 1), EINVAL, "KVM_RUN with an argument");
  assert_errno(ioctl(vcpu, KVM_GET_REGS, 0x20n), EFAULT, "GET_REGS to a bad pointer");
  assert_errno(ioctl(vcpu, KVM_SET_REGS, 0x20n), EFAULT, "SET_REGS from a bad pointer");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_REGS: RFLAGS bit 1 is forced on", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const r = kvm_regs.alloc();
  r.rip = 0x1234n;
  r.rflags = 0n;
  assertEquals(ioctl(vcpu, KVM_SET_REGS, r), 0);
  assertEquals(ioctl(vcpu, KVM_GET_REGS, r), 0);
  assertEquals([r.rip, r.rflags], [0x1234n, 2n]);
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_SREGS: CR0/CR4/EFER consistency is checked", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const s = kvm_sregs.alloc();
  const base = () => ioctl(vcpu, KVM_GET_SREGS, s);
  base();
  s.cr0 = 0x80000000n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "PG without PE");
  base();
  s.cr0 = 1n << 29n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "NW without CD");
  base();
  s.cr0 = 1n << 32n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "CR0 high bits");
  base();
  s.cr0 = 0x80000001n;
  s.efer = 0x100n;
  s.cr4 = 0x20n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "LME|PG without LMA");
  s.efer = 0x500n;
  s.cr4 = 0x20n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "EFER.LME while the guest CPUID lacks LM");
  const cpuid = kvm_cpuid2.alloc(1);
  cpuid.nent = 1;
  cpuid.entries.at(0).function = 0x80000001;
  cpuid.entries.at(0).edx = 1 << 29;
  assertEquals(ioctl(vcpu, KVM_SET_CPUID2, cpuid), 0);
  s.cr4 = 0n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "long mode without PAE");
  s.cr4 = 0x20n;
  assertEquals(ioctl(vcpu, KVM_SET_SREGS, s), 0, "valid long mode");
  base();
  s.cr0 = 1n;
  s.efer = 0x400n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "LMA outside long mode");
  base();
  s.cr0 = 1n;
  s.efer = 0n;
  s.cs.l = 1;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "64-bit CS outside long mode");
  base();
  s.cr4 = 1n << 18n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "OSXSAVE before CPUID has XSAVE");
  base();
  s.cr4 = 1n << 13n;
  assert_errno(ioctl(vcpu, KVM_SET_SREGS, s), EINVAL, "VMXE without nested");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_CPUID2 / KVM_GET_CPUID2: E2BIG rules and round trip", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const sup = supported_cpuid(kvm);
  const big = kvm_cpuid2.alloc(257);
  big.nent = 257;
  assert_errno(ioctl(vcpu, KVM_SET_CPUID2, big), E2BIG, "more than 256 entries");
  assertEquals(ioctl(vcpu, KVM_SET_CPUID2, sup), 0);
  const small = kvm_cpuid2.alloc(1);
  small.nent = 1;
  assert_errno(ioctl(vcpu, KVM_GET_CPUID2, small), E2BIG, "get into too small");
  const out = kvm_cpuid2.alloc(256);
  out.nent = 256;
  assertEquals(ioctl(vcpu, KVM_GET_CPUID2, out), 0);
  assertEquals(out.nent, sup.nent);
  // A 0x80000008 with 39 virtual-address bits is refused.
  const bad = kvm_cpuid2.alloc(1);
  bad.nent = 1;
  bad.entries.at(0).function = 0x80000008;
  bad.entries.at(0).eax = 39 << 8 | 46;
  assert_errno(ioctl(vcpu, KVM_SET_CPUID2, bad), EINVAL, "VA bits 39");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_GET_MSRS / KVM_SET_MSRS: the count processed, stopping at the first failure", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const m = kvm_msrs.alloc(3);
  m.nmsrs = 3;
  m.entries.at(0).index = 0x1a0; // MISC_ENABLE
  m.entries.at(1).index = 0x12345678; // unknown
  m.entries.at(2).index = 0x277; // PAT
  assertEquals(ioctl(vcpu, KVM_GET_MSRS, m), 1);
  // PEBS_UNAVAIL | BTS_UNAVAIL, as kvm_vcpu_reset() sets them at RESET.
  assertEquals(m.entries.at(0).data, 0x1800n);
  m.entries.at(0).index = 0x277;
  m.entries.at(0).data = 0x0007040600070406n;
  m.entries.at(1).index = 0x277;
  m.entries.at(1).data = 0x02n; // memory type 2 is reserved
  assertEquals(ioctl(vcpu, KVM_SET_MSRS, m), 1);
  m.entries.at(0).index = 0xc0000080; // EFER
  m.entries.at(0).data = 1n << 20n; // reserved bit
  assertEquals(ioctl(vcpu, KVM_SET_MSRS, m), 0);
  assert_errno(ioctl(vcpu, KVM_GET_MSRS, 0x40n), EFAULT, "bad pointer");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_GET/SET_MP_STATE: only RUNNABLE without an in-kernel LAPIC", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const mp = kvm_mp_state.alloc();
  assertEquals(ioctl(vcpu, KVM_GET_MP_STATE, mp), 0);
  assertEquals(mp.mp_state, KVM_MP_STATE_RUNNABLE);
  mp.mp_state = KVM_MP_STATE_HALTED;
  assert_errno(ioctl(vcpu, KVM_SET_MP_STATE, mp), EINVAL, "HALTED without LAPIC");
  mp.mp_state = 42;
  assert_errno(ioctl(vcpu, KVM_SET_MP_STATE, mp), EINVAL, "unknown state");
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_XCRS: XCR0 must keep x87 and follow the guest CPUID", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  assertEquals(ioctl(vcpu, KVM_SET_CPUID2, supported_cpuid(kvm)), 0);
  const x = kvm_xcrs.alloc();
  x.nr_xcrs = 1;
  x.xcrs.at(0).value = 0x7n;
  assertEquals(ioctl(vcpu, KVM_SET_XCRS, x), 0);
  x.xcrs.at(0).value = 0x6n;
  assert_errno(ioctl(vcpu, KVM_SET_XCRS, x), EINVAL, "XCR0 without x87");
  x.xcrs.at(0).value = 0x5n;
  assert_errno(ioctl(vcpu, KVM_SET_XCRS, x), EINVAL, "AVX without SSE");
  x.xcrs.at(0).value = 0x27n;
  assert_errno(ioctl(vcpu, KVM_SET_XCRS, x), EINVAL, "partial AVX-512");
  x.xcrs.at(0).value = 0x7n;
  x.xcrs.at(0).xcr = 1;
  x.xcrs.at(0).value = 0x5n;
  // Only XCR0 entries are applied: an invalid value for XCR1 is ignored.
  assertEquals(ioctl(vcpu, KVM_SET_XCRS, x), 0, "XCR1");
  x.nr_xcrs = 17;
  assert_errno(ioctl(vcpu, KVM_SET_XCRS, x), EINVAL, "more than KVM_MAX_XCRS");
  assertEquals(ioctl(vcpu, KVM_GET_XCRS, x), 0);
  assertEquals(x.xcrs.at(0).value, 7n);
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_TSC_KHZ: the VM default only before vCPUs; limits", () => {
  const [kvm, vm] = create_vm();
  assertEquals(ioctl(vm, KVM_SET_TSC_KHZ, 1_000_000), 0);
  assertEquals(ioctl(vm, KVM_GET_TSC_KHZ, 0), 1_000_000);
  assert_errno(ioctl(vm, KVM_SET_TSC_KHZ, 0xffffffff), EINVAL, "at the max guest kHz");
  const vcpu = create_vcpu(vm);
  assertEquals(ioctl(vcpu, KVM_GET_TSC_KHZ, 0), 1_000_000);
  assert_errno(ioctl(vm, KVM_SET_TSC_KHZ, 3_000_000), EINVAL, "after a vCPU exists");
  assertEquals(ioctl(vcpu, KVM_SET_TSC_KHZ, 2_500_000), 0);
  assertEquals(ioctl(vcpu, KVM_GET_TSC_KHZ, 0), 2_500_000);
  close_all(vcpu, vm, kvm);
});

Deno.test("ioctl results are C ints: TSC kHz past 2^31 comes back negative, errno untouched", () => {
  const [kvm, vm] = create_vm();
  // 4,140,370,760 kHz fits the u32 KVM stores but not kvm_arch_vm_ioctl()'s int.
  assertEquals(ioctl(vm, KVM_SET_TSC_KHZ, 4_140_370_760), 0);
  errno_set(0);
  assertEquals(ioctl(vm, KVM_GET_TSC_KHZ, 0), 4_140_370_760 | 0);
  assertEquals(errno_get(), 0, "a negative int beyond -4095 is a value, not -errno");
  const vcpu = create_vcpu(vm);
  assertEquals(ioctl(vcpu, KVM_GET_TSC_KHZ, 0), 4_140_370_760 | 0);
  assertEquals(errno_get(), 0);
  close_all(vcpu, vm, kvm);
});

Deno.test("KVM_SET_NR_MMU_PAGES takes an unsigned long; KVM_GET_NR_MMU_PAGES is gone (ENOTTY)", () => {
  const [kvm, vm] = create_vm();
  assert_errno(ioctl(vm, KVM_SET_NR_MMU_PAGES, 63), EINVAL, "below KVM_MIN_ALLOC_MMU_PAGES");
  assertEquals(ioctl(vm, KVM_SET_NR_MMU_PAGES, 0x1_0000_0040n), 0);
  assert_errno(ioctl(vm, KVM_GET_NR_MMU_PAGES, 0), ENOTTY, "removed from kvm-x86");
  close_all(vm, kvm);
});

Deno.test("irqchip: split only before vCPUs, EEXIST after CREATE_IRQCHIP; IRQ_LINE needs one", () => {
  const [kvm, vm] = create_vm();
  const irq = kvm_irq_level.alloc();
  assert_errno(ioctl(vm, KVM_IRQ_LINE, irq), ENXIO, "IRQ_LINE without irqchip");
  // The limit is KVM_MAX_IRQ_ROUTES (4096), not the 48 pins of the old IOAPIC limit.
  assert_errno(cap(vm, KVM_CAP_SPLIT_IRQCHIP, 4097n), EINVAL, "too many reserved pins");
  assertEquals(ioctl(vm, KVM_CREATE_IRQCHIP, 0), 0);
  assert_errno(ioctl(vm, KVM_CREATE_IRQCHIP, 0), EEXIST, "second irqchip");
  assert_errno(cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24n), EEXIST, "split after full");
  assertEquals(ioctl(vm, KVM_IRQ_LINE, irq), 0);
  const [kvm2, vm2] = create_vm();
  const v = create_vcpu(vm2);
  assert_errno(cap(vm2, KVM_CAP_SPLIT_IRQCHIP, 24n), EEXIST, "split after a vCPU");
  assert_errno(ioctl(vm2, KVM_CREATE_IRQCHIP, 0), EINVAL, "irqchip after a vCPU");
  close_all(v, vm, vm2, kvm, kvm2);
});

Deno.test("KVM_ENABLE_CAP: x2APIC API, exit hypercall and user-space MSR masks", () => {
  const [kvm, vm] = create_vm();
  assertEquals(cap(vm, KVM_CAP_X2APIC_API, 3n), 0);
  assert_errno(cap(vm, KVM_CAP_X2APIC_API, 4n), EINVAL, "suppress EOI broadcast needs split");
  assertEquals(cap(vm, KVM_CAP_X2APIC_API, 8n), 0, "disable EOI broadcast suppression");
  assert_errno(cap(vm, KVM_CAP_X2APIC_API, 16n), EINVAL, "x2APIC flag 16");
  assertEquals(cap(vm, KVM_CAP_EXIT_HYPERCALL, 1n << 12n), 0);
  assert_errno(cap(vm, KVM_CAP_EXIT_HYPERCALL, 1n << 11n), EINVAL, "hypercall 11");
  assertEquals(cap(vm, KVM_CAP_X86_USER_SPACE_MSR, 7n), 0);
  assert_errno(cap(vm, KVM_CAP_X86_USER_SPACE_MSR, 8n), EINVAL, "MSR exit reason 8");
  close_all(vm, kvm);
});

Deno.test("KVM_X86_SET_MSR_FILTER: flags, empty deny-all, range flags and sizes, bitmap pointer", () => {
  const [kvm, vm] = create_vm();
  const f = kvm_msr_filter.alloc();
  f.flags = 2;
  assert_errno(ioctl(vm, KVM_X86_SET_MSR_FILTER, f), EINVAL, "unknown flag");
  f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
  assert_errno(ioctl(vm, KVM_X86_SET_MSR_FILTER, f), EINVAL, "deny everything");
  const bitmap = new Uint8Array(8);
  const r = f.ranges.at(0);
  r.nmsrs = 1;
  r.base = 0x10;
  r.bitmap = BigInt(0);
  r.flags = 0;
  assert_errno(ioctl(vm, KVM_X86_SET_MSR_FILTER, f), EINVAL, "range without flags");
  r.flags = 4;
  assert_errno(ioctl(vm, KVM_X86_SET_MSR_FILTER, f), EINVAL, "range flag 4");
  r.flags = KVM_MSR_FILTER_READ;
  assert_errno(ioctl(vm, KVM_X86_SET_MSR_FILTER, f), EFAULT, "bitmap at NULL");
  r.nmsrs = 0x600 * 8 + 1;
  assert_errno(ioctl(vm, KVM_X86_SET_MSR_FILTER, f), EINVAL, "bitmap too large");
  r.nmsrs = 1;
  r.bitmap = ptr(bitmap);
  assertEquals(ioctl(vm, KVM_X86_SET_MSR_FILTER, f), 0, "deny-by-default with one range");
  assert_errno(ioctl(vm, KVM_X86_SET_MSR_FILTER, 0x30n), EFAULT, "filter at a bad pointer");
  close_all(vm, kvm);
});

Deno.test("KVM_RUN: immediate_exit returns EINTR and leaves exit_reason alone", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const addr = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  const run = kvm_run.view(user_memory(addr, kvm_run.size));
  run.immediate_exit = 1;
  run.exit_reason = KVM_EXIT_INTR + 1000;
  assert_errno(ioctl(vcpu, KVM_RUN, 0), EINTR);
  // Selftests rely on the previous exit_reason surviving an immediate exit.
  assertEquals(run.exit_reason, KVM_EXIT_INTR + 1000);
  munmap(addr, 3 * 4096);
  close_all(vcpu, vm, kvm);
});
