// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest image of `sim/td_scale_test.ts`. Every vCPU worker imports the
 * process's image, so a TD with hundreds of vCPUs pays that import once per
 * vCPU: this module imports only guest-side code (TDCALLs and the guest half
 * of test_util), not the host library or the simulator, which halves the
 * time and memory each vCPU costs (see docs/sim.md).
 *
 * @module
 */

import { ref } from "../../include/kvm_util_types.ts";
import {
  tdx_assert_error,
  tdx_test_report_64bit_to_user_space,
  tdx_test_success,
} from "../../lib/x86/tdx/test_util_guest.ts";
import { tdg_vp_info } from "../../lib/x86/tdx/tdx.ts";

/** This module's URL: the image to give `set_exe_file()`. */
export const TD_SCALE_IMAGE: string = import.meta.url;

/** Guest entry point: TDG.VP.INFO, then R8 (NUM_VCPUS, MAX_VCPUS) and R9 (VCPU_INDEX) to the host. */
export function guest_td_scale_vp_info(): void {
  const rcx = ref<bigint>(), rdx = ref<bigint>(), r8 = ref<bigint>();
  const r9 = ref<bigint>(), r10 = ref<bigint>(), r11 = ref<bigint>();
  tdx_assert_error(tdg_vp_info(rcx, rdx, r8, r9, r10, r11));
  tdx_assert_error(tdx_test_report_64bit_to_user_space(r8.value));
  tdx_assert_error(tdx_test_report_64bit_to_user_space(r9.value));
  tdx_test_success();
}
