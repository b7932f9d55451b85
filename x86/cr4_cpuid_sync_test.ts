// SPDX-License-Identifier: GPL-2.0-only
/**
 * CPUID.1:ECX.OSXSAVE must follow CR4.OSXSAVE: port of
 * `tools/testing/selftests/kvm/x86/cr4_cpuid_sync_test.c`.
 *
 * Copyright 2018, Red Hat, Inc. and/or its affiliates.
 *
 * Author:
 *   Wei Huang <wei@redhat.com>
 *
 * What differs from C: the guest's inline-asm block (`out %al, $0x80;
 * cpuid; mov %rdi, %cr4`) is the same three instructions as three
 * intrinsic calls; C writes it in assembly so that no AVX instruction runs
 * while OSXSAVE is clear, which TypeScript guest code cannot do anyway.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  get_ucall,
  GUEST_ASSERT,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT_KVM_EXIT_REASON,
  TEST_FAIL,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  vcpu_run,
  vcpu_sregs_get,
  vcpu_sregs_set,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { KVM_EXIT_IO, KVM_EXIT_IO_OUT } from "../include/linux/kvm.ts";
import { kvm_sregs } from "../include/asm/kvm.ts";
import {
  __cpuid,
  get_cr4,
  kvm_cpu_has,
  KVM_CPUID_EAX,
  KVM_CPUID_EBX,
  KVM_CPUID_ECX,
  KVM_CPUID_EDX,
  outb,
  set_cr4,
  this_cpu_has,
  X86_CR4_OSXSAVE,
  X86_FEATURE_OSXSAVE,
  X86_FEATURE_XSAVE,
} from "../include/x86/processor.ts";

const MAGIC_HYPERCALL_PORT = 0x80;

/** Guest entry point. */
export function guest_code(): void {
  const regs = [0, 0, 0, 0];
  regs[KVM_CPUID_EAX] = X86_FEATURE_OSXSAVE.function;
  regs[KVM_CPUID_ECX] = X86_FEATURE_OSXSAVE.index;

  // The selftest library boots vCPUs with OSXSAVE on.
  GUEST_ASSERT(get_cr4() & X86_CR4_OSXSAVE);

  // CPUID must mirror the CR4 bit.
  GUEST_ASSERT(this_cpu_has(X86_FEATURE_OSXSAVE));

  // The host drops CR4.OSXSAVE behind the guest's back; the guest then
  // samples CPUID and puts its own CR4 back.
  const rdi = get_cr4();
  outb(MAGIC_HYPERCALL_PORT, regs[KVM_CPUID_EAX]! & 0xff);
  const eax = ref(0), ebx = ref(0), ecx = ref(0), edx = ref(0);
  __cpuid(regs[KVM_CPUID_EAX]!, regs[KVM_CPUID_ECX]!, eax, ebx, ecx, edx);
  regs[KVM_CPUID_EAX] = eax.value;
  regs[KVM_CPUID_EBX] = ebx.value;
  regs[KVM_CPUID_ECX] = ecx.value;
  regs[KVM_CPUID_EDX] = edx.value;
  set_cr4(rdi);

  // The CPUID sampled while CR4.OSXSAVE was off must show it off.
  GUEST_ASSERT(!(regs[X86_FEATURE_OSXSAVE.reg]! & (1 << X86_FEATURE_OSXSAVE.bit)));

  // Rewriting CR4 must bring the CPUID bit back.
  GUEST_ASSERT(this_cpu_has(X86_FEATURE_OSXSAVE));

  GUEST_DONE();
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();
  const sregs = kvm_sregs.alloc();
  const uc = new_ucall();

  TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_XSAVE));
  TEST_REQUIRE_GUEST_CODE();

  const vm = vm_create_with_one_vcpu(vcpu, guest_code);

  done: for (;;) {
    vcpu_run(vcpu.value);
    TEST_ASSERT_KVM_EXIT_REASON(vcpu.value, KVM_EXIT_IO);

    if (
      vcpu.value.run.io.port === MAGIC_HYPERCALL_PORT &&
      vcpu.value.run.io.direction === KVM_EXIT_IO_OUT
    ) {
      // the host plays a hypervisor that turns OSXSAVE off
      vcpu_sregs_get(vcpu.value, sregs);
      sregs.cr4 &= ~X86_CR4_OSXSAVE;
      vcpu_sregs_set(vcpu.value, sregs);
      continue;
    }

    switch (get_ucall(vcpu.value, uc)) {
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        break;
      case UCALL_DONE:
        break done;
      default:
        TEST_FAIL("Unknown ucall %lu", uc.cmd);
    }
  }

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
