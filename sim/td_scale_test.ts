// SPDX-License-Identifier: GPL-2.0-only
/**
 * A TD as large as the simulated host allows: every vCPU boots through the
 * reset vector and reports, through TDG.VP.INFO, its own VCPU_INDEX and the
 * TD's NUM_VCPUS and MAX_VCPUS, the latter being the TD's KVM_CAP_MAX_VCPUS,
 * `min(KVM_MAX_VCPUS, num_present_cpus())` (tdx_vm_init()).
 *
 * The size is `SIM_TD_SCALE_VCPUS` (default {@linkcode DEFAULT_VCPUS}: on
 * the 2-core CI machine 256 vCPUs take 17 s and 4.1 GB RSS alone, 36-49 s beside
 * other test files; 64 take 4-5 s and 1.1 GB); the simulated host (`sim/host.ts`) gets exactly that many CPUs.
 * Workers start one vCPU ahead of the one running (`vmx_get_vcpu()`).
 * Each vCPU is a worker that imports the guest image, `testdata/td_scale.ts`;
 * the host side is `testdata/td_scale_host.ts`, shared with `td_scale_bench.ts`
 * (docs/sim.md, "The simulated host").
 *
 * @module
 */

import "./use_sim_backend.ts";
import { getenv } from "../include/libc/process.ts";
import { td_scale_run } from "./testdata/td_scale_host.ts";

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
  td_scale_run(nr_vcpus());
});
