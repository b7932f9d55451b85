// SPDX-License-Identifier: GPL-2.0-only
/**
 * TDs that exercise the calling conventions of the guest TDCALL wrappers,
 * for `lib/x86/tdx/tdx_test.ts`; each guest reports what it got on
 * `TDX_TEST_REPORT_PORT` and the host checks it.
 *
 * - `hypercall_output`: `__tdx_hypercall()` returns R10, not RAX, and copies
 *   R10..R15 back only with `TDX_HCALL_HAS_OUTPUT`.
 * - `rtmr_extend_and_report`: `tdg_mr_rtmr_extend()` then `tdg_mr_report()`;
 *   the report's RTMR[2] is SHA-384(48 zero bytes || the extension).
 * - `module_call_errors`: `tdg_vp_veinfo_get()` without a #VE,
 *   `tdg_mem_page_accept()` of a page already accepted, an RTMR index out
 *   of range: the TDX module's statuses reach the guest unchanged.
 * - `kvm_cpuid_of_a_td_ignores_its_cr4`: CPUID.1:ECX.OSXSAVE follows the
 *   TD's CR4 in the module's CPUID, never in KVM's (TDVMCALL CPUID,
 *   KVM_GET_CPUID2), since KVM cannot read a TD's CR4.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { ksft_main, TEST, test_harness_run } from "../../../../include/kselftest_harness.ts";
import { offsetof, u64 } from "../../../../include/c/layout.ts";
import {
  __vm_create,
  addr_gva2gpa,
  guest_global,
  type kvm_vcpu,
  kvm_vm_free,
  readq,
  ref,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_REQUIRE,
  vm_alloc_page,
  vm_vcpu_add,
  writeb,
} from "../../../../include/kvm_util.ts";
import {
  __cpuid,
  kvm_arch_vm_finalize_vcpus,
  vcpu_get_cpuid_entry,
  VM_SHAPE_TDX,
} from "../../../../include/x86/processor.ts";
import {
  OPERAND_ID_RDX,
  TDX_HCALL_HAS_OUTPUT,
  TDX_NO_VALID_VE_INFO,
  TDX_OPERAND_INVALID,
  TDX_PAGE_ALREADY_ACCEPTED,
  TDX_PS_4K,
} from "../../../../include/x86/tdx/tdcall.ts";
import { tdx_report } from "../../../../include/x86/tdx/tdreport.ts";
import {
  TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
  TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED,
  TDX_HYPERCALL_STANDARD,
  type ve_info,
} from "../../../../include/x86/tdx/tdx.ts";
import { is_tdx_supported } from "../../../../include/x86/tdx/tdx_util.ts";
import {
  tdx_assert_error,
  tdx_run,
  tdx_test_assert_success,
  tdx_test_read_64bit_report_from_guest,
  tdx_test_report_64bit_to_user_space,
  tdx_test_success,
} from "../../../../include/x86/tdx/test_util.ts";
import { __tdx_hypercall } from "../tdcall.ts";
import {
  tdg_mem_page_accept,
  tdg_mr_report,
  tdg_mr_rtmr_extend,
  tdg_vp_veinfo_get,
  tdg_vp_vmcall_instruction_cpuid,
} from "../tdx.ts";

/** A private page of the guest: the TDREPORT at 0, REPORTDATA at 1024, the RTMR extension at 1088. */
const page_gva = guest_global("page_gva", u64);
const page_gpa = guest_global("page_gpa", u64);
const REPORTDATA_OFFSET = 1024n;
const EXTENSION_OFFSET = 1088n;
const RTMR_INDEX = 2;
const RTMR2_OFFSET = BigInt(offsetof(tdx_report, `tdinfo.rtmr[${RTMR_INDEX}]`));
/** A GHCI sub-function no VMM implements (0x10005 is past SetupEventNotifyInterrupt). */
const UNKNOWN_SUBFUNCTION = 0x10005n;

function report(v: bigint): void {
  tdx_assert_error(tdx_test_report_64bit_to_user_space(v));
}

/** Guest entry point. */
export function guest_hypercall_output(): void {
  const args = {
    r10: TDX_HYPERCALL_STANDARD,
    r11: TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
    r12: 0n,
    r13: 0x1234n,
    r14: 0n,
    r15: 0n,
  };
  report(__tdx_hypercall(args, 0));
  report(args.r13);
  report(__tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT));
  report(args.r13);

  args.r11 = UNKNOWN_SUBFUNCTION;
  report(__tdx_hypercall(args, TDX_HCALL_HAS_OUTPUT));
  report(args.r10);
  tdx_test_success();
}

/** Guest entry point. */
export function guest_rtmr_extend_and_report(): void {
  const gva = page_gva.value, gpa = page_gpa.value;
  for (let i = 0; i < 48; i++) writeb(i + 1, gva + EXTENSION_OFFSET + BigInt(i));
  tdx_assert_error(tdg_mr_rtmr_extend(gpa + EXTENSION_OFFSET, RTMR_INDEX));
  tdx_assert_error(tdg_mr_report(gpa, gpa + REPORTDATA_OFFSET, 0));
  for (let i = 0n; i < 48n; i += 8n) report(readq(gva + RTMR2_OFFSET + i));
  tdx_test_success();
}

/** Guest entry point. */
export function guest_module_call_errors(): void {
  const ve = {} as ve_info;
  report(tdg_vp_veinfo_get(ve));
  report(tdg_mem_page_accept(page_gpa.value, TDX_PS_4K));
  report(tdg_mr_rtmr_extend(page_gpa.value + EXTENSION_OFFSET, 4));
  tdx_test_success();
}

/** A TD with the private page, running `guest_code`; the host reads `n` reports, then success. */
function run_td(guest_code: () => void, n: number): bigint[] {
  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu: kvm_vcpu = vm_vcpu_add(vm, 0, guest_code);
  page_gva.value = BigInt(vm_alloc_page(vm));
  page_gpa.value = addr_gva2gpa(vm, page_gva.value);
  sync_global_to_guest(vm, page_gva);
  sync_global_to_guest(vm, page_gpa);
  kvm_arch_vm_finalize_vcpus(vm);

  const got: bigint[] = [];
  for (let i = 0; i < n; i++) {
    tdx_run(vcpu);
    got.push(tdx_test_read_64bit_report_from_guest(vcpu));
  }
  tdx_run(vcpu);
  tdx_test_assert_success(vcpu);
  kvm_vm_free(vm);
  return got;
}

TEST("hypercall_output", () => {
  const [ret0, r13_kept, ret1, r13_out, ret2, r10_out] = run_td(guest_hypercall_output, 6);
  TEST_ASSERT_EQ(ret0, 0);
  TEST_ASSERT_EQ(r13_kept, 0x1234);
  TEST_ASSERT_EQ(ret1, 0);
  // GetTdVmCallInfo(0) zeroes R11..R14.
  TEST_ASSERT_EQ(r13_out, 0);
  // The TDCALL itself succeeded (RAX 0); the VMM's answer is R10.
  TEST_ASSERT_EQ(ret2, TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
  TEST_ASSERT_EQ(r10_out, TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
});

TEST("rtmr_extend_and_report", () => {
  const words = run_td(guest_rtmr_extend_and_report, 6);
  const rtmr = new Uint8Array(48);
  const dv = new DataView(rtmr.buffer);
  words.forEach((w, i) => dv.setBigUint64(8 * i, w, true));

  const extension = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
  const want = createHash("sha384").update(new Uint8Array(48)).update(extension).digest();
  TEST_ASSERT(
    rtmr.every((b, i) => b === want[i]),
    "RTMR[%d] is %s, want %s",
    RTMR_INDEX,
    Array.from(rtmr, (b) => b.toString(16).padStart(2, "0")).join(""),
    want.toString("hex"),
  );
});

TEST("module_call_errors", () => {
  const [veinfo, accept, extend] = run_td(guest_module_call_errors, 3);
  TEST_ASSERT_EQ(veinfo, TDX_NO_VALID_VE_INFO);
  // A warning (bit 63 clear), with the level in the detail.
  TEST_ASSERT_EQ(accept, TDX_PAGE_ALREADY_ACCEPTED | BigInt(TDX_PS_4K));
  TEST_ASSERT_EQ(extend, TDX_OPERAND_INVALID | OPERAND_ID_RDX);
});

/** CPUID.1:ECX.OSXSAVE. */
const OSXSAVE = 1 << 27;

/** Guest entry point. */
export function guest_cpuid_osxsave(): void {
  const eax = ref<number>(), ebx = ref<number>(), ecx = ref<number>(), edx = ref<number>();
  __cpuid(1, 0, eax, ebx, ecx, edx);
  report(BigInt(ecx.value & OSXSAVE));
  tdx_assert_error(tdg_vp_vmcall_instruction_cpuid(1, 0, eax, ebx, ecx, edx));
  report(BigInt(ecx.value & OSXSAVE));
  tdx_test_success();
}

TEST("kvm_cpuid_of_a_td_ignores_its_cr4", () => {
  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu = vm_vcpu_add(vm, 0, guest_cpuid_osxsave);
  kvm_arch_vm_finalize_vcpus(vm);

  tdx_run(vcpu);
  const native = tdx_test_read_64bit_report_from_guest(vcpu);
  tdx_run(vcpu);
  const tdvmcall = tdx_test_read_64bit_report_from_guest(vcpu);
  tdx_run(vcpu);
  tdx_test_assert_success(vcpu);

  // The TDX module's CPUID follows the TD's CR4, which the boot code set up with OSXSAVE.
  TEST_ASSERT_EQ(native, OSXSAVE);
  // KVM's copy of a TD's CR4 stays 0: its CPUID, for the TD and for
  // KVM_GET_CPUID2 alike, never shows OSXSAVE.
  TEST_ASSERT_EQ(tdvmcall, 0);
  TEST_ASSERT_EQ(vcpu_get_cpuid_entry(vcpu, 1).ecx & OSXSAVE, 0);

  kvm_vm_free(vm);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(is_tdx_supported());
  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
