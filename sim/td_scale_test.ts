// SPDX-License-Identifier: GPL-2.0-only
/**
 * A TD as large as the simulated host allows: every vCPU boots through the
 * reset vector and reports, through TDG.VP.INFO, its own VCPU_INDEX and the
 * TD's NUM_VCPUS and MAX_VCPUS, the latter being the TD's KVM_CAP_MAX_VCPUS,
 * `min(KVM_MAX_VCPUS, num_present_cpus())` (tdx_vm_init()).
 *
 * The size is `SIM_TD_SCALE_VCPUS` (default {@linkcode DEFAULT_VCPUS}: on
 * the 2-core CI machine 256 vCPUs take ~49 s and 4.3 GB RSS, 64 take 8 s and
 * 1.2 GB); the simulated host (`sim/host.ts`) gets exactly that many CPUs.
 * Each vCPU is a worker that imports the guest image, `testdata/td_scale.ts`
 * (docs/sim.md, "The simulated host").
 *
 * @module
 */

import "./use_sim_backend.ts";
import { getenv } from "../include/libc/process.ts";
import {
  __vm_create_with_vcpus,
  kvm_check_cap,
  kvm_vm_free,
  TEST_ASSERT_EQ,
  vm_check_cap,
} from "../include/kvm_util.ts";
import type { kvm_vcpu } from "../include/kvm_util_types.ts";
import { KVM_CAP_MAX_VCPUS, KVM_CAP_NR_VCPUS } from "../include/linux/kvm.ts";
import { VM_SHAPE_TDX } from "../include/x86/processor.ts";
import {
  tdx_run,
  tdx_test_assert_success,
  tdx_test_read_64bit_report_from_guest,
} from "../include/x86/tdx/test_util.ts";
import { current } from "./kernel/include/linux/sched.ts";
import { set_exe_file } from "./backend.ts";
import { sim_host_set } from "./host.ts";
import { guest_td_scale_vp_info, TD_SCALE_IMAGE } from "./testdata/td_scale.ts";

/** vCPUs of the TD when `SIM_TD_SCALE_VCPUS` is not set. */
export const DEFAULT_VCPUS = 256;

function nr_vcpus(): number {
  const s = getenv("SIM_TD_SCALE_VCPUS");
  const n = s === undefined ? DEFAULT_VCPUS : Number(s);
  if (!Number.isInteger(n) || n < 1 || n > 576) {
    throw new Error(`SIM_TD_SCALE_VCPUS=${s}: want 1..576 (TDX 1.5's MAX_VCPUS_PER_TD)`);
  }
  return n;
}

Deno.test("a TD with one vCPU per simulated host CPU boots them all; each reports its VCPU_INDEX", () => {
  const n = nr_vcpus();
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
});
