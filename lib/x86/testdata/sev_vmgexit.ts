// SPDX-License-Identifier: GPL-2.0-only
/**
 * A plain VM whose guest executes `vmgexit()` on the simulated CPU, for
 * `lib/x86/sev_test.ts`: the instruction is not modelled, so `vcpu_run`
 * must fail the program with the reason instead of returning an exit.
 *
 * @module
 */

import { ksft_main } from "../../../include/kselftest_harness.ts";
import {
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_REQUIRE_GUEST_CODE,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../../include/kvm_util.ts";
import { vmgexit } from "../../../include/x86/sev.ts";

/** Guest entry point. */
export function guest_code(): void {
  vmgexit();
}

function main(): number {
  TEST_REQUIRE_GUEST_CODE();

  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_code);
  vcpu_run(vcpu.value);
  console.log("vcpu_run returned");
  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
