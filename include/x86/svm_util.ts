// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/svm_util.h`, the part the
 * SEV library uses: the SEV firmware device and `open_sev_dev_path_or_exit()`
 * (in `lib/x86/svm.ts`, as upstream's is in `lib/x86/svm.c`). The nested-SVM
 * helpers (VMCB setup, `run_guest`) are not ported: no test here runs a
 * nested SVM guest.
 *
 * @module
 */

export { open_sev_dev_path_or_exit } from "../../lib/x86/svm.ts";

/** C `SEV_DEV_PATH`: the PSP driver's device, whose fd SEV commands carry (`kvm_sev_cmd.sev_fd`). */
export const SEV_DEV_PATH = "/dev/sev";
