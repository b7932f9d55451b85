// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/svm.c`, the part the SEV
 * library uses: `open_sev_dev_path_or_exit()`. The declarations are in
 * `include/x86/svm_util.ts`.
 *
 * @module
 */

import { SEV_DEV_PATH } from "../../include/x86/svm_util.ts";
import { open_path_or_exit } from "../kvm_util.ts";

/**
 * C `open_sev_dev_path_or_exit()`: `/dev/sev`, or skip the program with
 * kselftest's `Cannot open '/dev/sev': ...` line when the host has no SEV
 * firmware device (no AMD PSP, or the ccp driver is not loaded).
 *
 * @returns the fd
 */
export function open_sev_dev_path_or_exit(): number {
  return open_path_or_exit(SEV_DEV_PATH, 0);
}
