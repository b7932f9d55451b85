// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/tdx/test_util.h` (the
 * TDX selftest series, v8): how a TD test reports to its host without
 * ucalls. The guest writes to I/O ports with TDG.VP.VMCALL<Instruction.IO>
 * (`TDX_TEST_SUCCESS_PORT` when done, `TDX_TEST_REPORT_PORT` for values) and
 * reports failures with TDG.VP.VMCALL<ReportFatalError>; the host checks the
 * exits. The functions are in `lib/x86/tdx/test_util.ts`.
 *
 * @module
 */

export * from "../../../lib/x86/tdx/test_util.ts";

/** The port `tdx_test_success()` writes to. */
export const TDX_TEST_SUCCESS_PORT = 0x30;
/** The size of that write. */
export const TDX_TEST_SUCCESS_SIZE = 4;

/** The port `tdx_test_report_to_user_space()` writes values to. */
export const TDX_TEST_REPORT_PORT = 0x31;
/** The size of those writes: 32 bits each. */
export const TDX_TEST_REPORT_SIZE = 4;

/** Port I/O direction: IN (`kvm_run.io.direction` `KVM_EXIT_IO_IN`). */
export const PORT_READ = 0;
/** Port I/O direction: OUT (`KVM_EXIT_IO_OUT`). */
export const PORT_WRITE = 1;
