// SPDX-License-Identifier: GPL-2.0-only
/**
 * Edge cases and races of `kvm_recalculate_apic_map()`: one thread keeps
 * loading an all-zero LAPIC state into vCPU 0 while the main thread flips
 * the last vCPU between x2APIC and disabled. Port of
 * `tools/testing/selftests/kvm/x86/recalc_apic_map_test.c`.
 *
 * Differences from the C test: the racing pthread is an async loop on the
 * one JavaScript thread; the main loop yields to it after each pair of
 * APIC-base writes (where C's threads run in parallel), and
 * `pthread_cancel()` is a flag the racer checks where C calls
 * `pthread_testcancel()`. `time(NULL)` is `Date.now()`.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  type kvm_vcpu,
  kvm_vm_free,
  TEST_ASSERT_EQ,
  vcpu_ioctl,
  vm_create_with_vcpus,
} from "../include/kvm_util.ts";
import { KVM_MAX_VCPUS } from "../include/kvm_util_types.ts";
import { KVM_SET_LAPIC } from "../include/linux/kvm.ts";
import { kvm_lapic_state } from "../include/asm/kvm.ts";
import { MSR_IA32_APICBASE, MSR_IA32_APICBASE_ENABLE, X2APIC_ENABLE } from "../include/x86/apic.ts";
import { vcpu_set_msr } from "../include/x86/processor.ts";

const TIMEOUT = 5; /* seconds */

const LAPIC_DISABLED = 0n;
const LAPIC_X2APIC = MSR_IA32_APICBASE_ENABLE | X2APIC_ENABLE;
const MAX_XAPIC_ID = 0xff;

async function race(vcpu: kvm_vcpu, cancelled: () => boolean): Promise<number> {
  const lapic = kvm_lapic_state.alloc();

  for (;;) {
    // Loading LAPIC state makes KVM rebuild the map.
    vcpu_ioctl(vcpu, KVM_SET_LAPIC, lapic);
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (cancelled()) return 0; /* pthread_testcancel() */
  }
}

async function main(): Promise<number> {
  const vcpus: kvm_vcpu[] = [];

  TEST_ASSERT_EQ(KVM_MAX_VCPUS > MAX_XAPIC_ID, true);

  // As many vCPUs as the library allows: a longer map rebuild widens the
  // race window.
  const vm = vm_create_with_vcpus(KVM_MAX_VCPUS, null, vcpus);

  // In xAPIC mode IDs above 255 collide after 8-bit truncation and KVM
  // gives up on the map early; x2APIC everywhere keeps the rebuild going.
  for (let i = 0; i < KVM_MAX_VCPUS; i++) {
    vcpu_set_msr(vcpus[i]!, MSR_IA32_APICBASE, LAPIC_X2APIC);
  }

  let cancelled = false;
  const thread = race(vcpus[0]!, () => cancelled);

  const vcpuN = vcpus[KVM_MAX_VCPUS - 1]!;
  for (const t = Date.now() / 1000 + TIMEOUT; Date.now() / 1000 < t;) {
    vcpu_set_msr(vcpuN, MSR_IA32_APICBASE, LAPIC_X2APIC);
    vcpu_set_msr(vcpuN, MSR_IA32_APICBASE, LAPIC_DISABLED);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  cancelled = true; /* pthread_cancel() */
  TEST_ASSERT_EQ(await thread, 0); /* pthread_join() */

  kvm_vm_free(vm);

  return 0;
}

await ksft_main(import.meta, main);
