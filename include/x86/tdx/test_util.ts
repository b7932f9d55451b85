// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/tdx/test_util.h` (the
 * TDX selftest series, v8): how a TD test reports to its host without
 * ucalls. The guest writes to I/O ports with TDG.VP.VMCALL<Instruction.IO>
 * (`TDX_TEST_SUCCESS_PORT` when done, `TDX_TEST_REPORT_PORT` for values) and
 * reports failures with TDG.VP.VMCALL<ReportFatalError>; the host checks the
 * exits. The functions are in `lib/x86/tdx/test_util.ts`; the ports and the
 * guest's functions in `lib/x86/tdx/test_util_guest.ts`, which it re-exports.
 *
 * @module
 */

export * from "../../../lib/x86/tdx/test_util.ts";
