// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/ucall_common.h`: ucall
 * commands, `struct ucall`, the `GUEST_*` macros (guest side) and
 * `get_ucall` / `REPORT_GUEST_ASSERT` (host side). The implementation is
 * `lib/ucall_common.ts`; the x86 exit is `include/x86/ucall.ts`.
 *
 * @module
 */

export * from "../lib/ucall_common.ts";
export * from "./x86/ucall.ts";
// The arch hooks ucall_common.h declares.
export { ucall_arch_do_ucall, ucall_arch_get_ucall, ucall_arch_init } from "../lib/x86/ucall.ts";
