// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/kvm_test_harness.h`: a
 * kselftest fixture whose every test gets a fresh VM with one vCPU.
 *
 * ```ts ignore
 * // C: KVM_ONE_VCPU_TEST_SUITE(user_msr);
 * const user_msr = KVM_ONE_VCPU_TEST_SUITE("user_msr");
 * // C: KVM_ONE_VCPU_TEST(user_msr, msr_filter_allow, guest_code_filter_allow) { ... }
 * KVM_ONE_VCPU_TEST(user_msr, "msr_filter_allow", guest_code_filter_allow, (vcpu) => { ... });
 * ```
 *
 * A test with guest code is skipped (kselftest `SKIP`) where TypeScript guest
 * code cannot run (the `kvm` backend); tests without guest code (`NULL` in
 * C) run everywhere.
 *
 * @module
 */

import {
  _metadata,
  FIXTURE,
  type fixture_metadata,
  FIXTURE_SETUP,
  FIXTURE_TEARDOWN,
  SKIP,
  TEST_F,
} from "./kselftest_harness.ts";
import { type guest_code_t, type kvm_vcpu, type Ref, ref } from "./kvm_util_types.ts";
import { kvm_can_run_guest_code, kvm_vm_free, vm_create_with_one_vcpu } from "../lib/kvm_util.ts";
import { vcpu_arch_set_entry_point } from "../lib/x86/processor.ts";

/** The fixture data of a `KVM_ONE_VCPU_TEST_SUITE` (C `struct { struct kvm_vcpu *vcpu; }`). */
export interface kvm_one_vcpu_fixture {
  /** The test's vCPU (`self->vcpu`). */
  vcpu: Ref<kvm_vcpu>;
}

/** Per suite, the tests that run guest code (their setup skips where it cannot run). */
const suites_with_guest_code = new WeakMap<object, Set<string>>();

/**
 * C `KVM_ONE_VCPU_TEST_SUITE(name)`: the fixture; its setup creates a VM with
 * one vCPU and no entry point, its teardown frees the VM.
 *
 * @param name the suite name
 * @returns the fixture, for {@linkcode KVM_ONE_VCPU_TEST}
 */
export function KVM_ONE_VCPU_TEST_SUITE(
  name: string,
): fixture_metadata<kvm_one_vcpu_fixture, Record<string, never>> {
  const f = FIXTURE<kvm_one_vcpu_fixture>(name, () => ({ vcpu: ref<kvm_vcpu>() }));
  const with_guest_code = new Set<string>();
  suites_with_guest_code.set(f, with_guest_code);
  FIXTURE_SETUP(f, (self) => {
    // Skip before touching the host: a test that cannot run its guest code
    // must not fail in the VM creation it would not need.
    if (with_guest_code.has(_metadata().name) && !kvm_can_run_guest_code()) {
      SKIP("TypeScript guest code cannot run on this backend");
      return;
    }
    vm_create_with_one_vcpu(self.vcpu, null);
  });
  FIXTURE_TEARDOWN(f, (self) => {
    if (self.vcpu.value) kvm_vm_free(self.vcpu.value.vm);
  });
  return f;
}

/**
 * C `KVM_ONE_VCPU_TEST(suite, test, guestcode) { body }`: a test of the suite
 * whose vCPU starts at `guestcode` (null: no guest code).
 *
 * @param suite the fixture from {@linkcode KVM_ONE_VCPU_TEST_SUITE}
 * @param test the test name
 * @param guestcode the guest entry point, or null
 * @param body the test body, given the vCPU
 */
export function KVM_ONE_VCPU_TEST(
  suite: fixture_metadata<kvm_one_vcpu_fixture, Record<string, never>>,
  test: string,
  guestcode: guest_code_t | null,
  body: (vcpu: kvm_vcpu) => void | Promise<void>,
): void {
  if (guestcode) suites_with_guest_code.get(suite)?.add(test);
  TEST_F(suite, test, (self) => {
    if (guestcode) vcpu_arch_set_entry_point(self.vcpu.value, guestcode);
    return body(self.vcpu.value);
  });
}
