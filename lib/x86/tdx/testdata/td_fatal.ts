// SPDX-License-Identifier: GPL-2.0-only
/**
 * A program whose TD fails and says so with `tdx_test_fatal()`, for
 * `lib/x86/tdx/test_util_test.ts`. `argv[1]` picks how:
 *
 * - `io5`: a port write of 5 bytes, which KVM refuses with
 *   TDVMCALL_STATUS_INVALID_OPERAND; `tdx_assert_error()` reports that status.
 * - `code`: `tdx_test_fatal_with_data()` with a code of the test's own and a
 *   data GPA.
 * - `assert_io`: the TD reports success, the host expects a port read.
 *
 * The host runs it with `tdx_run()`, which fails the program (exit 254).
 *
 * @module
 */

import { ksft_main } from "../../../../include/kselftest_harness.ts";
import { u8 } from "../../../../include/c/layout.ts";
import {
  __vm_create,
  guest_global,
  ref,
  sync_global_to_guest,
  TEST_REQUIRE,
  vm_vcpu_add,
} from "../../../../include/kvm_util.ts";
import { kvm_arch_vm_finalize_vcpus, VM_SHAPE_TDX } from "../../../../include/x86/processor.ts";
import { is_tdx_supported } from "../../../../include/x86/tdx/tdx_util.ts";
import {
  PORT_READ,
  PORT_WRITE,
  tdx_assert_error,
  tdx_run,
  tdx_test_assert_io,
  tdx_test_fatal_with_data,
  tdx_test_success,
} from "../../../../include/x86/tdx/test_util.ts";
import { tdg_vp_vmcall_instruction_io } from "../tdx.ts";

const CASES = ["io5", "code", "assert_io"];
/** Which case the guest runs (an index into `CASES`). */
const which = guest_global("which", u8);

/** Guest entry point. */
export function guest_code(): void {
  switch (CASES[which.value]) {
    case "io5":
      tdx_assert_error(tdg_vp_vmcall_instruction_io(0x51, 5, PORT_WRITE, ref(0xabn)));
      break;
    case "code":
      tdx_test_fatal_with_data(0x0123456700000000n, 0x4000n);
      break;
  }
  tdx_test_success();
}

function main(_argc: number, argv: string[]): number {
  TEST_REQUIRE(is_tdx_supported());
  const c = CASES.indexOf(argv[1] ?? "");
  if (c < 0) throw new Error(`usage: td_fatal.ts ${CASES.join("|")}`);

  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu = vm_vcpu_add(vm, 0, guest_code);
  // Before finalize: afterwards the data page is private, out of the host's reach.
  which.value = c;
  sync_global_to_guest(vm, which);
  kvm_arch_vm_finalize_vcpus(vm);

  tdx_run(vcpu);
  tdx_test_assert_io(vcpu, 0x30, 4, PORT_READ);
  return 0;
}

await ksft_main(import.meta, main);
