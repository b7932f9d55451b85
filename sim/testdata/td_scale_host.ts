// SPDX-License-Identifier: GPL-2.0-only
/**
 * The host side of the TD scale test and bench: a TD with one vCPU per
 * simulated host CPU, every vCPU run to its TDG.VP.INFO report and checked.
 * The guest image is `td_scale.ts`, which every vCPU worker imports.
 *
 * @module
 */

import {
  __vm_create_with_vcpus,
  kvm_check_cap,
  kvm_vm_free,
  TEST_ASSERT_EQ,
  vm_check_cap,
} from "../../include/kvm_util.ts";
import type { kvm_vcpu } from "../../include/kvm_util_types.ts";
import { KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS } from "../../include/linux/kvm.ts";
import { VM_SHAPE_TDX } from "../../include/x86/processor.ts";
import {
  tdx_run,
  tdx_test_assert_success,
  tdx_test_read_64bit_report_from_guest,
} from "../../include/x86/tdx/test_util.ts";
import { current } from "../kernel/include/linux/sched.ts";
import { set_exe_file } from "../backend.ts";
import { sim_host_set } from "../host.ts";
import { guest_td_scale_vp_info, TD_SCALE_IMAGE } from "./td_scale.ts";

/**
 * On a simulated host with `n` CPUs, builds a TD with `n` vCPUs, runs each
 * and checks its VCPU_INDEX, NUM_VCPUS and MAX_VCPUS, and frees it; the host
 * and the process image are restored whatever happens.
 *
 * @param n the number of vCPUs (and host CPUs)
 */
export function td_scale_run(n: number): void {
  const prev_host = sim_host_set({ cpus: n });
  const prev_exe = current.exe_file;
  try {
    TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_NR_VCPUS), n);
    // The workers import this small image rather than the test module.
    set_exe_file([TD_SCALE_IMAGE]);
    const vcpus: kvm_vcpu[] = [];
    const vm = __vm_create_with_vcpus(VM_SHAPE_TDX, n, 0, guest_td_scale_vp_info, vcpus);
    try {
      TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_MAX_VCPUS), n);
      for (let i = 0; i < n; i++) {
        const vcpu = vcpus[i]!;
        tdx_run(vcpu);
        const r8 = tdx_test_read_64bit_report_from_guest(vcpu);
        TEST_ASSERT_EQ(r8 & 0xffffffffn, n); // NUM_VCPUS
        TEST_ASSERT_EQ(r8 >> 32n, n); // MAX_VCPUS
        tdx_run(vcpu);
        TEST_ASSERT_EQ(tdx_test_read_64bit_report_from_guest(vcpu), i); // VCPU_INDEX
        tdx_run(vcpu);
        tdx_test_assert_success(vcpu);
      }
    } finally {
      kvm_vm_free(vm);
    }
  } finally {
    set_exe_file([...prev_exe]);
    sim_host_set(prev_host);
  }
}
