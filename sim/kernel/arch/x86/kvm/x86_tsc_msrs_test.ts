// SPDX-License-Identifier: GPL-2.0-only
/**
 * IA32_TSC and IA32_TSC_ADJUST as kvm_set_msr_common() couples them: a guest
 * write to either moves the TSC offset and the other MSR by the same amount;
 * a userspace write to IA32_TSC sets the offset only, to IA32_TSC_ADJUST the
 * MSR only.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
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
  MSR_IA32_TSC,
  MSR_IA32_TSC_ADJUST,
  rdmsr,
  vcpu_get_msr,
  vcpu_set_msr,
  wrmsr,
} from "../../../../../include/x86/processor.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

const G = 1n << 30n;

/** Guest: writes IA32_TSC, then IA32_TSC_ADJUST, reporting both MSRs each time. */
export function guest_code_tsc_pair(): void {
  wrmsr(MSR_IA32_TSC, 4n * G);
  GUEST_SYNC_ARGS(rdmsr(MSR_IA32_TSC), rdmsr(MSR_IA32_TSC_ADJUST), 0, 0, 0);
  wrmsr(MSR_IA32_TSC_ADJUST, 8n * G);
  GUEST_SYNC_ARGS(rdmsr(MSR_IA32_TSC), rdmsr(MSR_IA32_TSC_ADJUST), 0, 0, 0);
  GUEST_DONE();
}

/** Rounds a TSC to the nearest G, as tsc_msrs_test does: the TSC moves on. */
const round = (x: bigint) => BigInt.asUintN(64, (x + G / 2n) & -G);

Deno.test({
  name: "guest writes to IA32_TSC / IA32_TSC_ADJUST move the other MSR; host writes do not",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_tsc_pair);
    try {
      const v = vcpu.value;
      const step = () => {
        vcpu_run(v);
        const cmd = get_ucall(v, uc);
        if (cmd === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
        assertEquals(cmd, UCALL_SYNC);
      };
      // Guest IA32_TSC write: the offset moves by 4G less the TSC at the
      // write, and TSC_ADJUST by the same amount.
      const before = vcpu_get_msr(v, MSR_IA32_TSC);
      step();
      assertEquals(round(uc.args.at(1)), 4n * G);
      const adjust = uc.args.at(2);
      assert(adjust <= 4n * G - before && adjust > 0n, `TSC_ADJUST ${adjust}`);
      // Host IA32_TSC write: only the offset.
      vcpu_set_msr(v, MSR_IA32_TSC, 100n * G);
      assertEquals(vcpu_get_msr(v, MSR_IA32_TSC_ADJUST), adjust);
      assertEquals(round(vcpu_get_msr(v, MSR_IA32_TSC)), 100n * G);
      // Host IA32_TSC_ADJUST write: only the MSR.
      vcpu_set_msr(v, MSR_IA32_TSC_ADJUST, 5n * G);
      assertEquals(round(vcpu_get_msr(v, MSR_IA32_TSC)), 100n * G);
      // Guest IA32_TSC_ADJUST write (5G -> 8G): the TSC moves by +3G too.
      step();
      assertEquals(round(uc.args.at(1)), 103n * G);
      assertEquals(uc.args.at(2), 8n * G);
      assert(round(vcpu_get_msr(v, MSR_IA32_TSC)) >= 103n * G);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
