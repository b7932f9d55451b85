// SPDX-License-Identifier: GPL-2.0-only
/**
 * Every GHCI TDVMCALL leaf from the guest helpers of `lib/x86/tdx/tdx.ts`,
 * for `lib/x86/tdx/tdx_test.ts`:
 *
 * - `invalid_arguments`: ten leaves with an argument KVM refuses, or a leaf
 *   KVM does not implement, each with the status KVM answers without
 *   exiting; an RCX mask exposing RAX (`__tdx_hypercall()`'s mask) and an
 *   unknown TDCALL leaf (the `tdcall` intrinsic), which the TDX module
 *   refuses before KVM sees them.
 * - `get_quote`: a valid GetQuote reaches userspace as `KVM_EXIT_TDX`
 *   with the GPA's S-bit stripped; userspace's `ret` is the guest's status.
 * - `setup_event_notify_interrupt`: the same for vector 0x20.
 * - `get_td_vmcall_info_leaf1`: GetTdVmCallInfo leaf 1 goes to userspace.
 *
 * @module
 */

import { ksft_main, TEST, test_harness_run } from "../../../../include/kselftest_harness.ts";
import { KVM_EXIT_TDX } from "../../../../include/linux/kvm.ts";
import {
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_FAIL,
  TEST_REQUIRE,
  UCALL_ABORT,
  UCALL_DONE,
  ucall_struct,
  vcpu_run,
  vm_create_shape_with_one_vcpu,
} from "../../../../include/kvm_util.ts";
import { VM_SHAPE_TDX } from "../../../../include/x86/processor.ts";
import {
  OPERAND_ID_RAX,
  OPERAND_ID_RCX,
  TDG_VP_VMCALL,
  TDX_OPERAND_INVALID,
} from "../../../../include/x86/tdx/tdcall.ts";
import { tdcall } from "../../../../include/x86/tdx/tdcall_insn.ts";
import {
  TDG_VP_VMCALL_GET_QUOTE,
  TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT,
  TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED,
  TDG_VP_VMCALL_SUCCESS,
  TDX_HYPERCALL_STANDARD,
} from "../../../../include/x86/tdx/tdx.ts";
import { is_tdx_supported, tdx_s_bit } from "../../../../include/x86/tdx/tdx_util.ts";
import { __tdx_hypercall } from "../tdcall.ts";
import {
  tdg_vp_vmcall_get_quote,
  tdg_vp_vmcall_get_td_vmcall_info_leaf,
  tdg_vp_vmcall_instruction_io,
  tdg_vp_vmcall_instruction_pconfig,
  tdg_vp_vmcall_instruction_rdmsr,
  tdg_vp_vmcall_instruction_wbinvd,
  tdg_vp_vmcall_map_gpa,
  tdg_vp_vmcall_service,
  tdg_vp_vmcall_setup_event_notify_interrupt,
  tdg_vp_vmcall_ve_request_mmio_write,
} from "../tdx.ts";

/** The quote buffer's GPA in the guest's view (shared: with the S-bit). */
const QUOTE_GPA = 0x200000n;

/** Guest: each refused call's status. */
export function guest_invalid_arguments(): void {
  const s = tdx_s_bit.value;
  const data = ref(0n);
  // KVM checks the argument and answers in the kernel.
  GUEST_ASSERT_EQ(tdg_vp_vmcall_get_quote(QUOTE_GPA, 4096), TDG_VP_VMCALL_INVALID_OPERAND);
  GUEST_ASSERT_EQ(tdg_vp_vmcall_setup_event_notify_interrupt(16), TDG_VP_VMCALL_INVALID_OPERAND);
  GUEST_ASSERT_EQ(tdg_vp_vmcall_setup_event_notify_interrupt(256), TDG_VP_VMCALL_INVALID_OPERAND);
  GUEST_ASSERT_EQ(
    tdg_vp_vmcall_get_td_vmcall_info_leaf(2, null, null, null, null),
    TDG_VP_VMCALL_INVALID_OPERAND,
  );
  GUEST_ASSERT_EQ(tdg_vp_vmcall_instruction_io(0x80, 3, 1, data), TDG_VP_VMCALL_INVALID_OPERAND);
  GUEST_ASSERT_EQ(
    tdg_vp_vmcall_ve_request_mmio_write(QUOTE_GPA | s, 3, 0),
    TDG_VP_VMCALL_INVALID_OPERAND,
  );
  GUEST_ASSERT_EQ(tdg_vp_vmcall_instruction_rdmsr(0xdeadbeef, null), TDG_VP_VMCALL_INVALID_OPERAND);
  // MapGPA without userspace's KVM_HC_MAP_GPA_RANGE exit.
  GUEST_ASSERT_EQ(
    tdg_vp_vmcall_map_gpa(QUOTE_GPA | s, 4096, null),
    TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED,
  );
  // Leaves KVM does not implement for a TD.
  GUEST_ASSERT_EQ(tdg_vp_vmcall_instruction_wbinvd(0), TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
  GUEST_ASSERT_EQ(tdg_vp_vmcall_instruction_pconfig(0, 0, 0, 0), TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
  GUEST_ASSERT_EQ(tdg_vp_vmcall_service(s, s, 0, 0), TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
  const unknown = {
    r10: TDX_HYPERCALL_STANDARD,
    r11: 0x1ffffn,
    r12: 0n,
    r13: 0n,
    r14: 0n,
    r15: 0n,
  };
  GUEST_ASSERT_EQ(__tdx_hypercall(unknown, 0), TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
  // The TDX module refuses these before the VMM sees them.
  const quote = { r10: 0n, r11: TDG_VP_VMCALL_GET_QUOTE, r12: 0n, r13: 0n, r14: 0n, r15: 0n };
  GUEST_ASSERT_EQ(__tdx_hypercall(quote, 0, 0xfc01n), TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  GUEST_ASSERT_EQ(tdcall(99), TDX_OPERAND_INVALID | OPERAND_ID_RAX);
  const args = { rcx: 0xfc00n, r10: 0n, r11: TDG_VP_VMCALL_GET_TD_VM_CALL_INFO, r12: 0n };
  GUEST_ASSERT_EQ(tdcall(TDG_VP_VMCALL, args), 0n);
  GUEST_ASSERT_EQ(args.r10, TDG_VP_VMCALL_SUCCESS);
  GUEST_DONE();
}

/** Guest: a GetQuote userspace answers. */
export function guest_get_quote(): void {
  GUEST_ASSERT_EQ(
    tdg_vp_vmcall_get_quote(QUOTE_GPA | tdx_s_bit.value, 4096),
    TDG_VP_VMCALL_SUCCESS,
  );
  GUEST_DONE();
}

/** Guest: a SetupEventNotifyInterrupt userspace answers. */
export function guest_setup_event_notify(): void {
  GUEST_ASSERT_EQ(tdg_vp_vmcall_setup_event_notify_interrupt(0x20), TDG_VP_VMCALL_SUCCESS);
  GUEST_DONE();
}

/** Guest: GetTdVmCallInfo leaf 1, which userspace answers. */
export function guest_get_td_vmcall_info_leaf1(): void {
  const r11 = ref(0n);
  GUEST_ASSERT_EQ(
    tdg_vp_vmcall_get_td_vmcall_info_leaf(1, r11, null, null, null),
    TDG_VP_VMCALL_SUCCESS,
  );
  GUEST_ASSERT_EQ(r11.value, 0x1234n);
  GUEST_DONE();
}

/** Runs `vcpu` until its next ucall and asserts it is UCALL_DONE. */
function run_to_done(vcpu: kvm_vcpu): void {
  vcpu_run(vcpu);
  const uc = ucall_struct.alloc();
  const cmd = get_ucall(vcpu, uc);
  if (cmd === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
  if (cmd !== UCALL_DONE) TEST_FAIL("Unexpected ucall %lu", cmd);
}

TEST("invalid_arguments", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_invalid_arguments);
  run_to_done(vcpu.value);
  kvm_vm_free(vm);
});

TEST("get_quote", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_get_quote);
  vcpu_run(vcpu.value);
  const run = vcpu.value.run;
  TEST_ASSERT_EQ(run.exit_reason, KVM_EXIT_TDX);
  TEST_ASSERT_EQ(run.tdx.nr, TDG_VP_VMCALL_GET_QUOTE);
  TEST_ASSERT_EQ(run.tdx.get_quote.gpa, QUOTE_GPA);
  TEST_ASSERT_EQ(run.tdx.get_quote.size, 4096n);
  run.tdx.get_quote.ret = TDG_VP_VMCALL_SUCCESS;
  run_to_done(vcpu.value);
  kvm_vm_free(vm);
});

TEST("setup_event_notify_interrupt", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_setup_event_notify);
  vcpu_run(vcpu.value);
  const run = vcpu.value.run;
  TEST_ASSERT_EQ(run.exit_reason, KVM_EXIT_TDX);
  TEST_ASSERT_EQ(run.tdx.nr, TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT);
  TEST_ASSERT_EQ(run.tdx.setup_event_notify.vector, 0x20n);
  run.tdx.setup_event_notify.ret = TDG_VP_VMCALL_SUCCESS;
  run_to_done(vcpu.value);
  kvm_vm_free(vm);
});

TEST("get_td_vmcall_info_leaf1", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_get_td_vmcall_info_leaf1);
  vcpu_run(vcpu.value);
  const run = vcpu.value.run;
  TEST_ASSERT_EQ(run.exit_reason, KVM_EXIT_TDX);
  TEST_ASSERT_EQ(run.tdx.nr, TDG_VP_VMCALL_GET_TD_VM_CALL_INFO);
  TEST_ASSERT_EQ(run.tdx.get_tdvmcall_info.leaf, 1n);
  run.tdx.get_tdvmcall_info.ret = TDG_VP_VMCALL_SUCCESS;
  run.tdx.get_tdvmcall_info.r11 = 0x1234n;
  run_to_done(vcpu.value);
  kvm_vm_free(vm);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(is_tdx_supported());
  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
