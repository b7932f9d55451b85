// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_CAP_X86_TRIPLE_FAULT_EVENT with a nested guest: port of the
 * requirements of `tools/testing/selftests/kvm/x86/triple_fault_event_test.c`.
 *
 * Upstream runs an L1 guest that launches an L2 (VMX or SVM), stops at L2's
 * `IN` from port 0x2000, injects a triple fault through
 * `KVM_SET_VCPU_EVENTS` with `KVM_VCPUEVENT_VALID_TRIPLE_FAULT`, and checks
 * that L1 sees `EXIT_REASON_TRIPLE_FAULT` (VMX) or that the vCPU shuts down
 * (SVM, shutdown not intercepted).
 *
 * What differs from C: the checks are upstream's, in its order
 * (`TEST_REQUIRE(has_vmx || has_svm)`, then the capability), so a host
 * without nested virtualization (the simulated one, `kvm_intel.nested=N`;
 * a `kvm_pvm` host) skips with upstream's own line. The SDK has no port of
 * `lib/x86/vmx.c` or `lib/x86/svm.c` (the L1 side: VMXON, VMCS setup,
 * VMLAUNCH/VMRUN), so a host that does offer VMX or SVM to its guests
 * skips after those checks, saying so, instead of running L1.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import { __TEST_REQUIRE, kvm_has_cap, TEST_REQUIRE } from "../include/kvm_util.ts";
import { KVM_CAP_X86_TRIPLE_FAULT_EVENT } from "../include/linux/kvm.ts";
import { kvm_cpu_has, X86_FEATURE_SVM, X86_FEATURE_VMX } from "../include/x86/processor.ts";

function main(): number {
  const has_vmx = kvm_cpu_has(X86_FEATURE_VMX);
  const has_svm = kvm_cpu_has(X86_FEATURE_SVM);

  TEST_REQUIRE(has_vmx || has_svm);

  TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_TRIPLE_FAULT_EVENT));

  __TEST_REQUIRE(
    false,
    "The SDK has no nested %s guest library (lib/x86/%s.c) to run L1",
    has_vmx ? "VMX" : "SVM",
    has_vmx ? "vmx" : "svm",
  );
  return 0;
}

await ksft_main(import.meta, main);
