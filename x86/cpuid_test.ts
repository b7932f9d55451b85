// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_SET_CPUID2 / KVM_GET_CPUID2 behaviour: port of
 * `tools/testing/selftests/kvm/x86/cpuid_test.c`.
 *
 * Copyright (C) 2021, Red Hat Inc.
 *
 * The guest gets the GVA of a copy of its CPUID table (`struct kvm_cpuid2 *`)
 * as its argument, and loads each entry from guest memory.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vcpu_ioctl,
  c_str,
  exit_reason_str,
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  GUEST_SYNC,
  guest_view,
  KVM_IOCTL_ERROR,
  KVM_UTIL_MIN_VADDR,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  memcpy_to_guest,
  new_ucall,
  readl,
  type Ref,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_ioctl,
  vcpu_run,
  vcpu_sregs_get,
  vcpu_sregs_set,
  vm_alloc,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { KVM_GET_CPUID2 } from "../include/linux/kvm.ts";
import { E2BIG } from "../include/linux/errno.ts";
import { errno_get } from "../include/libc/errno.ts";
import type { View } from "../include/c/layout.ts";
import { kvm_cpuid2, kvm_cpuid_entry2, kvm_sregs } from "../include/asm/kvm.ts";
import {
  __cpuid,
  __vcpu_set_cpuid,
  allocate_kvm_cpuid2,
  kvm_cpu_has,
  kvm_cpuid2_size,
  kvm_get_supported_cpuid,
  this_cpu_property,
  vcpu_args_set,
  vcpu_get_cpuid_entry,
  X86_CR4_OSXSAVE,
  X86_CR4_PKE,
  X86_FEATURE_OSPKE,
  X86_FEATURE_OSXSAVE,
  X86_FEATURE_PKU,
  X86_FEATURE_XSAVE,
  X86_PROPERTY_MAX_KVM_LEAF,
} from "../include/x86/processor.ts";

type cpuid2 = View<typeof kvm_cpuid2.fields>;
type cpuid_entry2 = View<typeof kvm_cpuid_entry2.fields>;

/** C `struct cpuid_mask`: `regs[]` aliases eax, ebx, ecx, edx. */
type cpuid_mask = { regs: [number, number, number, number] };

const OFF_ENTRIES = kvm_cpuid2.size;

function test_guest_cpuids(guest_cpuid: bigint): void {
  const eax = ref<number>(), ebx = ref<number>(), ecx = ref<number>(), edx = ref<number>();
  const nent = readl(guest_cpuid);

  for (let i = 0; i < nent; i++) {
    const entry = guest_view(
      kvm_cpuid_entry2,
      guest_cpuid + BigInt(OFF_ENTRIES + i * kvm_cpuid_entry2.size),
    );
    __cpuid(entry.function, entry.index, eax, ebx, ecx, edx);

    GUEST_ASSERT_EQ(eax.value, entry.eax);
    GUEST_ASSERT_EQ(ebx.value, entry.ebx);
    GUEST_ASSERT_EQ(ecx.value, entry.ecx);
    GUEST_ASSERT_EQ(edx.value, entry.edx);
  }
}

/** Guest entry point; `guest_cpuid` is the GVA of a `struct kvm_cpuid2`. */
export function guest_main(guest_cpuid: bigint): void {
  GUEST_SYNC(1);

  test_guest_cpuids(guest_cpuid);

  GUEST_SYNC(2);

  GUEST_ASSERT_EQ(this_cpu_property(X86_PROPERTY_MAX_KVM_LEAF), 0x40000001);

  GUEST_DONE();
}

function get_const_cpuid_mask(entry: cpuid_entry2): cpuid_mask {
  const mask: cpuid_mask = { regs: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff] };

  switch (entry.function) {
    case 0x1:
      mask.regs[X86_FEATURE_OSXSAVE.reg] = mask.regs[X86_FEATURE_OSXSAVE.reg]! &
        ~(1 << X86_FEATURE_OSXSAVE.bit);
      break;
    case 0x7:
      mask.regs[X86_FEATURE_OSPKE.reg] = mask.regs[X86_FEATURE_OSPKE.reg]! &
        ~(1 << X86_FEATURE_OSPKE.bit);
      break;
    case 0xd:
      // Leaf 0xD subleaves 0 and 1 report in EBX an XSAVE area size that
      // depends on the live XCR0/IA32_XSS, so two snapshots may disagree.
      if (entry.index < 2) mask.regs[1] = 0;
      break;
  }
  return mask;
}

function compare_cpuids(cpuid1: cpuid2, cpuid2: cpuid2): void {
  TEST_ASSERT(
    cpuid1.nent === cpuid2.nent,
    "CPUID nent mismatch: %d vs. %d",
    cpuid1.nent,
    cpuid2.nent,
  );

  for (let i = 0; i < cpuid1.nent; i++) {
    const e1 = cpuid1.entries.at(i);
    const e2 = cpuid2.entries.at(i);

    TEST_ASSERT(
      e1.function === e2.function && e1.index === e2.index && e1.flags === e2.flags,
      "CPUID entries[%d] mismtach: 0x%x.%d.%x vs. 0x%x.%d.%x",
      i,
      e1.function,
      e1.index,
      e1.flags,
      e2.function,
      e2.index,
      e2.flags,
    );

    // Bits KVM updates at run time (OSXSAVE and the like) are ignored.
    const [ma, mb, mc, md] = get_const_cpuid_mask(e1).regs;

    TEST_ASSERT(
      ((e1.eax & ma) >>> 0) === ((e2.eax & ma) >>> 0) &&
        ((e1.ebx & mb) >>> 0) === ((e2.ebx & mb) >>> 0) &&
        ((e1.ecx & mc) >>> 0) === ((e2.ecx & mc) >>> 0) &&
        ((e1.edx & md) >>> 0) === ((e2.edx & md) >>> 0),
      "CPUID 0x%x.%x differ: 0x%x:0x%x:0x%x:0x%x vs 0x%x:0x%x:0x%x:0x%x",
      e1.function,
      e1.index,
      (e1.eax & ma) >>> 0,
      (e1.ebx & mb) >>> 0,
      (e1.ecx & mc) >>> 0,
      (e1.edx & md) >>> 0,
      (e2.eax & ma) >>> 0,
      (e2.ebx & mb) >>> 0,
      (e2.ecx & mc) >>> 0,
      (e2.edx & md) >>> 0,
    );
  }
}

function run_vcpu(vcpu: kvm_vcpu, stage: number): void {
  const uc = new_ucall();

  vcpu_run(vcpu);

  switch (get_ucall(vcpu, uc)) {
    case UCALL_SYNC:
      TEST_ASSERT(
        c_str(uc.args.at(0)) === "hello" && uc.args.at(1) === BigInt(stage + 1),
        "Stage %d: Unexpected register values vmexit, got %lx",
        stage + 1,
        uc.args.at(1),
      );
      return;
    case UCALL_DONE:
      return;
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      // falls through (REPORT_GUEST_ASSERT() exits)
    default:
      TEST_ASSERT(false, "Unexpected exit: %s", exit_reason_str(vcpu.run.exit_reason));
  }
}

/** C `vcpu_alloc_cpuid(vm, &p_gva, cpuid)`: a copy of `cpuid` in guest memory. */
function vcpu_alloc_cpuid(vm: kvm_vm, p_gva: Ref<bigint>, cpuid: cpuid2): void {
  const size = kvm_cpuid2_size(cpuid.nent);
  const gva = vm_alloc(vm, size, KVM_UTIL_MIN_VADDR);

  memcpy_to_guest(vm, gva, cpuid.$bytes.subarray(0, size));

  p_gva.value = gva;
}

function set_cpuid_after_run(vcpu: kvm_vcpu): void {
  const sregs = kvm_sregs.alloc();

  // Re-setting the same CPUID after KVM_RUN is accepted.
  let rc = __vcpu_set_cpuid(vcpu);
  TEST_ASSERT(!rc, "Setting unmodified CPUID after KVM_RUN failed: %d", rc);

  // Flip CR4 bits that KVM reflects into CPUID: the re-set must still be
  // seen as unchanged.
  vcpu_sregs_get(vcpu, sregs);
  if (kvm_cpu_has(X86_FEATURE_XSAVE)) sregs.cr4 ^= X86_CR4_OSXSAVE;
  if (kvm_cpu_has(X86_FEATURE_PKU)) sregs.cr4 ^= X86_CR4_PKE;
  vcpu_sregs_set(vcpu, sregs);

  rc = __vcpu_set_cpuid(vcpu);
  TEST_ASSERT(!rc, "Setting unmodified CPUID after KVM_RUN failed: %d", rc);

  // A different feature set after KVM_RUN must be refused.
  let ent = vcpu_get_cpuid_entry(vcpu, 0x7);
  const ebx = ent.ebx;
  ent.ebx = (ebx - 1) >>> 0;
  rc = __vcpu_set_cpuid(vcpu);
  TEST_ASSERT(rc, "Changing CPU features should fail");
  ent.ebx = ebx;

  // So must a different MAXPHYADDR.
  ent = vcpu_get_cpuid_entry(vcpu, 0x80000008);
  const eax = ent.eax;
  const x = eax & 0xff;
  ent.eax = ((eax & ~0xff) | ((x - 1) & 0xff)) >>> 0;
  rc = __vcpu_set_cpuid(vcpu);
  TEST_ASSERT(rc, "Changing MAXPHYADDR should fail");
  ent.eax = eax;
}

function test_get_cpuid2(vcpu: kvm_vcpu): void {
  const nent = vcpu.cpuid!.nent;
  const cpuid = allocate_kvm_cpuid2(nent + 1);

  vcpu_ioctl(vcpu, KVM_GET_CPUID2, cpuid);
  TEST_ASSERT(
    cpuid.nent === nent,
    "KVM didn't update nent on success, wanted %u, got %u",
    nent,
    cpuid.nent,
  );

  for (let i = 0; i < nent; i++) {
    cpuid.nent = i;
    const r = __vcpu_ioctl(vcpu, KVM_GET_CPUID2, cpuid);
    TEST_ASSERT(r && errno_get() === E2BIG, KVM_IOCTL_ERROR(KVM_GET_CPUID2, r));
    TEST_ASSERT(cpuid.nent === i, "KVM modified nent on failure");
  }
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();
  const cpuid_gva = ref<bigint>();

  TEST_REQUIRE_GUEST_CODE();

  const vm = vm_create_with_one_vcpu(vcpu, guest_main);

  compare_cpuids(kvm_get_supported_cpuid(), vcpu.value.cpuid!);

  vcpu_alloc_cpuid(vm, cpuid_gva, vcpu.value.cpuid!);

  vcpu_args_set(vcpu.value, 1, cpuid_gva.value);

  for (let stage = 0; stage < 3; stage++) run_vcpu(vcpu.value, stage);

  set_cpuid_after_run(vcpu.value);

  test_get_cpuid2(vcpu.value);

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
