// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest MSR accesses kvm_set_msr_common() and vmx_{get,set}_msr() treat
 * differently from userspace ones: MISC_ENABLE's PEBS/BTS_UNAVAIL are
 * read-only and EMON ignores writes; TSC_AUX needs RDTSCP or RDPID in the
 * guest CPUID. The reset value of MISC_ENABLE is PEBS_UNAVAIL | BTS_UNAVAIL.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  get_ucall,
  GUEST_DONE,
  GUEST_SYNC_ARGS,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  REPORT_GUEST_ASSERT,
  UCALL_ABORT,
  ucall_struct,
  UCALL_SYNC,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import {
  MSR_IA32_MISC_ENABLE,
  MSR_TSC_AUX,
  rdmsr,
  rdmsr_safe,
  vcpu_clear_cpuid_feature,
  vcpu_get_msr,
  vcpu_set_msr,
  wrmsr_safe,
  X86_FEATURE_RDPID,
  X86_FEATURE_RDTSCP,
} from "../../../../../include/x86/processor.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

/** Guest: MISC_ENABLE writes, then a TSC_AUX read. */
export function guest_code_msr_rules(): void {
  const reset = rdmsr(MSR_IA32_MISC_ENABLE);
  const ro = wrmsr_safe(MSR_IA32_MISC_ENABLE, 0x1n); // clears PEBS/BTS_UNAVAIL
  const emon = wrmsr_safe(MSR_IA32_MISC_ENABLE, reset | (1n << 7n)); // EMON is ignored
  const after = rdmsr(MSR_IA32_MISC_ENABLE);
  const aux = rdmsr_safe(MSR_TSC_AUX, ref(0n));
  GUEST_SYNC_ARGS(reset, ro, emon, after, aux);
  GUEST_DONE();
}

Deno.test({
  name: "guest MISC_ENABLE writes keep PEBS/BTS_UNAVAIL and EMON; TSC_AUX needs RDTSCP/RDPID",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_msr_rules);
    try {
      const v = vcpu.value;
      assertEquals(vcpu_get_msr(v, MSR_IA32_MISC_ENABLE), 0x1800n);
      vcpu_clear_cpuid_feature(v, X86_FEATURE_RDTSCP);
      vcpu_clear_cpuid_feature(v, X86_FEATURE_RDPID);
      // Userspace may still reach TSC_AUX.
      vcpu_set_msr(v, MSR_TSC_AUX, 7n);
      vcpu_run(v);
      const cmd = get_ucall(v, uc);
      if (cmd === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(cmd, UCALL_SYNC);
      assertEquals(uc.args.at(1), 0x1800n);
      assertEquals(uc.args.at(2), 13n, "changing PEBS/BTS_UNAVAIL is #GP");
      assertEquals(uc.args.at(3), 0n, "a write of EMON succeeds");
      assertEquals(uc.args.at(4), 0x1800n, "and is ignored");
      assertEquals(uc.args.at(5), 13n, "TSC_AUX without RDTSCP/RDPID is #GP");
    } finally {
      kvm_vm_free(vm);
    }
  },
});
