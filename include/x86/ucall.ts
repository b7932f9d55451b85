// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/ucall.h`:
 * `UCALL_EXIT_REASON` and the port the x86 ucall uses.
 *
 * @module
 */

export { UCALL_EXIT_REASON, UCALL_PIO_PORT } from "../../lib/x86/ucall.ts";
