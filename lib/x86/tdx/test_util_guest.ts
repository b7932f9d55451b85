// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest half of `tools/testing/selftests/kvm/lib/x86/tdx/test_util.c`
 * and the ports of `include/x86/tdx/test_util.h` it writes to: a TD reports
 * to its host with TDG.VP.VMCALL<Instruction.IO> and
 * TDG.VP.VMCALL<ReportFatalError>.
 *
 * It imports nothing of the host library, so that a guest image that only
 * needs these (every vCPU worker of a TD imports its image; see
 * `sim/td_scale_test.ts`) stays small. `lib/x86/tdx/test_util.ts` and
 * `include/x86/tdx/test_util.ts` re-export it; tests import it from there.
 *
 * @module
 */

import { ref } from "../../../include/kvm_util_types.ts";
import { tdg_vp_vmcall_instruction_io, tdg_vp_vmcall_report_fatal_error } from "./tdx.ts";

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

/** C `tdx_test_success()` (guest): tell the host the test passed. */
export function tdx_test_success(): void {
  const code = ref(0n);
  tdg_vp_vmcall_instruction_io(TDX_TEST_SUCCESS_PORT, TDX_TEST_SUCCESS_SIZE, PORT_WRITE, code);
}

/**
 * C `tdx_test_fatal_with_data(error_code, data_gpa)` (guest): report a fatal
 * error. The VMM's answer is ignored: a host that resumes the TD after a
 * fatal error gets what it asked for.
 *
 * @param error_code the code the host sees in `system_event.data[12]`
 * @param data_gpa the GPA of more data (`data[13]`), or 0
 */
export function tdx_test_fatal_with_data(
  error_code: number | bigint,
  data_gpa: number | bigint,
): void {
  tdg_vp_vmcall_report_fatal_error(error_code, data_gpa);
}

/**
 * C `tdx_test_fatal(error_code)` (guest).
 *
 * @param error_code the code the host sees in `system_event.data[12]`
 */
export function tdx_test_fatal(error_code: number | bigint): void {
  tdx_test_fatal_with_data(error_code, 0);
}

/**
 * C `tdx_assert_error(error)` (guest): a non-zero status is reported as a
 * fatal error with that status as its code.
 *
 * @param error a TDVMCALL or TDCALL status
 */
export function tdx_assert_error(error: bigint): void {
  if (error) tdx_test_fatal(error);
}

/**
 * C `tdx_test_report_to_user_space(data)` (guest): hands `data` to the host
 * as one 4-byte OUT to `TDX_TEST_REPORT_PORT`.
 *
 * @param data the value (C `uint32_t`)
 * @returns the VMM's status
 */
export function tdx_test_report_to_user_space(data: number): bigint {
  const data_64 = ref(BigInt(data >>> 0));
  return tdg_vp_vmcall_instruction_io(
    TDX_TEST_REPORT_PORT,
    TDX_TEST_REPORT_SIZE,
    PORT_WRITE,
    data_64,
  );
}

/**
 * C `tdx_test_send_64bit(port, data)` (guest): a 64-bit value as two 32-bit
 * port writes, the low half first.
 *
 * @param port the port
 * @param data the value
 * @returns the VMM's status of the first write that failed, or of the second
 */
export function tdx_test_send_64bit(port: number, data: bigint): bigint {
  const data_hi = ref((data >> 32n) & 0xffffffffn);
  const data_lo = ref(data & 0xffffffffn);

  const err = tdg_vp_vmcall_instruction_io(port, 4, PORT_WRITE, data_lo);
  if (err) return err;

  return tdg_vp_vmcall_instruction_io(port, 4, PORT_WRITE, data_hi);
}

/**
 * C `tdx_test_report_64bit_to_user_space(data)` (guest).
 *
 * @param data the value
 * @returns the VMM's status
 */
export function tdx_test_report_64bit_to_user_space(data: bigint): bigint {
  return tdx_test_send_64bit(TDX_TEST_REPORT_PORT, data);
}
