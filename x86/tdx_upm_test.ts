// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/x86/tdx_upm_test.c` (the TDX
 * selftest series, v8): guest memory that a TD converts between private and
 * shared (KVM's "unmapped private memory", guest_memfd plus memory
 * attributes).
 *
 * A 2 MiB region (its own guest_memfd memslot) starts private; the TD fills
 * it, and the host, which still sees the memslot's ordinary memory, must not
 * see the TD's pattern. Then a 40 KiB "focus area" in the middle goes shared
 * and back to private: explicitly, with TDG.VP.VMCALL<MapGPA> answered by
 * KVM_SET_MEMORY_ATTRIBUTES (`verify_upm_test_explicit`), or implicitly,
 * the TD touching it through its shared or private mapping and the host
 * converting on each `KVM_EXIT_MEMORY_FAULT` (`verify_upm_test_implicit`).
 * Private pages that come back are PENDING: the TD's first touch raises
 * #VE, and the handler accepts the page (TDG.VP.VEINFO.GET,
 * TDG.MEM.PAGE.ACCEPT), which zeroes it. The two general areas around the
 * focus area must never change.
 *
 * Where the port differs from v8: the TD is built with v13's library
 * (`__vm_create()`, `vm_vcpu_add()`, `kvm_arch_vm_finalize_vcpus()`); each
 * test is a `TEST` and `main()` skips as `tdx_vm_test` does; the guest
 * compares its areas eight bytes at a time (`readq`) where C compares
 * bytes; the progress `printf()`s are left out.
 *
 * @module
 */

import { ksft_main, TEST, test_harness_run } from "../include/kselftest_harness.ts";
import { u64 } from "../include/c/layout.ts";
import { VE_VECTOR } from "../include/asm/kvm.ts";
import { EXIT_REASON_EPT_VIOLATION } from "../include/asm/vmx.ts";
import {
  KVM_CAP_EXIT_HYPERCALL,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_IO,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
} from "../include/linux/kvm.ts";
import { KVM_HC_MAP_GPA_RANGE, KVM_MAP_GPA_RANGE_ENCRYPTED } from "../include/linux/kvm_para.ts";
import { user_memory } from "../include/libc/syscall.ts";
import { callsite } from "../include/linux/stringify.ts";
import {
  __vm_create,
  _vcpu_run,
  addr_gva2gpa,
  addr_gva2hva,
  guest_global,
  kvm_mem_region_type,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  memset,
  readq,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_FAIL,
  TEST_REQUIRE,
  virt_map_shared,
  vm_enable_cap,
  vm_mem_backing_src_type,
  vm_userspace_mem_region_add,
  vm_vaddr_alloc_private,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import {
  kvm_arch_vm_finalize_vcpus,
  vm_install_exception_handler,
  VM_SHAPE_TDX,
} from "../include/x86/processor.ts";
import type { ve_info } from "../include/x86/tdx/tdx.ts";
import { TDX_PS_4K } from "../include/x86/tdx/tdcall.ts";
import { is_tdx_supported } from "../include/x86/tdx/tdx_util.ts";
import {
  handle_memory_conversion,
  PORT_WRITE,
  tdx_run,
  tdx_test_assert_io,
  tdx_test_assert_success,
  tdx_test_fatal,
  tdx_test_read_64bit,
  TDX_TEST_REPORT_PORT,
  TDX_TEST_REPORT_SIZE,
  tdx_test_report_to_user_space,
  tdx_test_send_64bit,
  tdx_test_success,
} from "../include/x86/tdx/test_util.ts";
import {
  tdg_mem_page_accept,
  tdg_vp_veinfo_get,
  tdg_vp_vmcall_map_gpa,
} from "../lib/x86/tdx/tdx.ts";

// Fill bytes; each phase writes a different one so its origin is known.
const PATTERN_CONFIDENCE_CHECK = 0x11;
const PATTERN_HOST_FOCUS = 0x22;
const PATTERN_GUEST_GENERAL = 0x33;
const PATTERN_GUEST_FOCUS = 0x44;

/** GPA of the test slot; only needs to stay away from code and boot pages. */
const TDX_UPM_TEST_AREA_GPA = 0x80000000n;
/** Where the TD sees the area privately; unrelated to the GPA by design. */
const TDX_UPM_TEST_AREA_GVA_PRIVATE = 0x90000000n;
/** A GVA bit unused elsewhere, giving the shared alias of the same GPAs its own range. */
const TDX_UPM_TEST_AREA_GVA_SHARED_BIT = 32n;
const TDX_UPM_TEST_AREA_GVA_SHARED = TDX_UPM_TEST_AREA_GVA_PRIVATE |
  1n << TDX_UPM_TEST_AREA_GVA_SHARED_BIT;

const SZ_8K = 0x2000;
const SZ_32K = 0x8000;
const SZ_1M = 0x100000;
const SZ_2M = 0x200000;
/** Whole slot: one 2 MiB page's worth. */
const TDX_UPM_TEST_AREA_SIZE = SZ_2M;
/** Lower control region, 1 MiB. */
const TDX_UPM_GENERAL_AREA_0_SIZE = SZ_1M;
/** Converted region, ten 4 KiB pages. */
const TDX_UPM_FOCUS_AREA_SIZE = SZ_32K + SZ_8K;
/** Upper control region: what the other two leave. */
const TDX_UPM_GENERAL_AREA_1_SIZE = TDX_UPM_TEST_AREA_SIZE - TDX_UPM_GENERAL_AREA_0_SIZE -
  TDX_UPM_FOCUS_AREA_SIZE;

/**
 * C `struct tdx_upm_test_area` (`__packed`) as member offsets from a base
 * address. Only the focus area is ever converted; the general areas on
 * both sides of it are controls, so a conversion that touches more pages
 * than asked is caught by their contents changing.
 */
const general_area_0 = 0n;
const focus_area = BigInt(TDX_UPM_GENERAL_AREA_0_SIZE);
const general_area_1 = focus_area + BigInt(TDX_UPM_FOCUS_AREA_SIZE);

/** A pattern byte repeated over the eight bytes `readq` compares at once. */
function pattern_qword(pattern: number): bigint {
  return BigInt(pattern) * 0x0101010101010101n;
}

// ---------------------------------------------------------------------------
// Guest-side area helpers (C uses them on both sides: pointers are pointers)

function fill_test_area(test_area_base: bigint, pattern: number): void {
  memset(test_area_base, pattern, TDX_UPM_TEST_AREA_SIZE);
}

function fill_focus_area(test_area_base: bigint, pattern: number): void {
  memset(test_area_base + focus_area, pattern, TDX_UPM_FOCUS_AREA_SIZE);
}

function check_area(base: bigint, size: number, expected_pattern: number): boolean {
  const q = pattern_qword(expected_pattern);
  for (let i = 0n; i < BigInt(size); i += 8n) {
    if (readq(base + i) !== q) return false;
  }
  return true;
}

function check_general_areas(test_area_base: bigint, expected_pattern: number): boolean {
  return check_area(
    test_area_base + general_area_0,
    TDX_UPM_GENERAL_AREA_0_SIZE,
    expected_pattern,
  ) &&
    check_area(test_area_base + general_area_1, TDX_UPM_GENERAL_AREA_1_SIZE, expected_pattern);
}

function check_focus_area(test_area_base: bigint, expected_pattern: number): boolean {
  return check_area(test_area_base + focus_area, TDX_UPM_FOCUS_AREA_SIZE, expected_pattern);
}

function check_test_area(test_area_base: bigint, expected_pattern: number): boolean {
  return check_general_areas(test_area_base, expected_pattern) &&
    check_focus_area(test_area_base, expected_pattern);
}

function fill_and_check(test_area_base: bigint, pattern: number): boolean {
  fill_test_area(test_area_base, pattern);
  return check_test_area(test_area_base, pattern);
}

/** C `TDX_UPM_TEST_ASSERT(x)`: a fatal error whose code is the line of the check. */
function TDX_UPM_TEST_ASSERT(x: boolean): void {
  if (!x) tdx_test_fatal(callsite(1)?.line ?? 0);
}

// ---------------------------------------------------------------------------
// Host-side views of the same areas, through the memslot's host mapping

/** The host's bytes of `size` bytes at `offset` in the test area. */
function host_area(hva: bigint, offset: bigint, size: number): Uint8Array {
  return user_memory(hva + offset, size);
}

function host_check(hva: bigint, offset: bigint, size: number, pattern: number): boolean {
  return host_area(hva, offset, size).every((b) => b === pattern);
}

function host_check_general_areas(hva: bigint, pattern: number): boolean {
  return host_check(hva, general_area_0, TDX_UPM_GENERAL_AREA_0_SIZE, pattern) &&
    host_check(hva, general_area_1, TDX_UPM_GENERAL_AREA_1_SIZE, pattern);
}

function host_check_focus_area(hva: bigint, pattern: number): boolean {
  return host_check(hva, focus_area, TDX_UPM_FOCUS_AREA_SIZE, pattern);
}

function host_check_test_area(hva: bigint, pattern: number): boolean {
  return host_check_general_areas(hva, pattern) && host_check_focus_area(hva, pattern);
}

// ---------------------------------------------------------------------------

/** C `test_area_gpa_private`: the area's GPA, shared with the guest. */
const test_area_gpa_private = guest_global("test_area_gpa_private", u64);
/** C `test_area_gpa_shared`: the same GPA with the S-bit. */
const test_area_gpa_shared = guest_global("test_area_gpa_shared", u64);

// Checkpoints the TD reports; the host checks its view at each.
const SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST = 1;
const SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST = 2;
const SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN = 3;

/** The guest tells the host each GPA it accepts here (two 32-bit writes). */
const TDX_UPM_TEST_ACCEPT_PRINT_PORT = 0x87;

/** C `vcpu_run_and_manage_memory_conversions()`: run, answering conversions, until another exit. */
function vcpu_run_and_manage_memory_conversions(
  vm: kvm_vm,
  vcpu: kvm_vcpu,
  handle_conversions: boolean,
): void {
  const run = vcpu.run;
  for (;;) {
    _vcpu_run(vcpu);
    if (
      run.exit_reason === KVM_EXIT_HYPERCALL && run.hypercall.nr === BigInt(KVM_HC_MAP_GPA_RANGE)
    ) {
      const gpa = run.hypercall.args.at(0);
      handle_memory_conversion(
        vm,
        vcpu.id,
        gpa,
        run.hypercall.args.at(1) << 12n,
        (run.hypercall.args.at(2) & KVM_MAP_GPA_RANGE_ENCRYPTED) !== 0n,
      );
      run.hypercall.ret = 0n;
      continue;
    } else if (handle_conversions && run.exit_reason === KVM_EXIT_MEMORY_FAULT) {
      handle_memory_conversion(
        vm,
        vcpu.id,
        run.memory_fault.gpa,
        run.memory_fault.size,
        run.memory_fault.flags === KVM_MEMORY_EXIT_FLAG_PRIVATE,
      );
      continue;
    } else if (run.exit_reason === KVM_EXIT_IO && run.io.port === TDX_UPM_TEST_ACCEPT_PRINT_PORT) {
      // C prints the GPA; reading both halves is what matters.
      tdx_test_read_64bit(vcpu, TDX_UPM_TEST_ACCEPT_PRINT_PORT);
      continue;
    } else if (run.exit_reason === KVM_EXIT_SYSTEM_EVENT) {
      TEST_FAIL(
        "Guest reported error. error code: %lld (0x%llx)\n",
        run.system_event.data.at(12),
        run.system_event.data.at(13),
      );
    }
    break;
  }
}

/** Guest entry point: conversions with TDG.VP.VMCALL<MapGPA>. */
export function guest_upm_explicit(): void {
  const test_area_gva_private = TDX_UPM_TEST_AREA_GVA_PRIVATE;
  const test_area_gva_shared = TDX_UPM_TEST_AREA_GVA_SHARED;

  // Private fill, then a host look: the TD's data must be intact after it.
  fill_test_area(test_area_gva_private, PATTERN_GUEST_GENERAL);

  tdx_test_report_to_user_space(SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST);

  TDX_UPM_TEST_ASSERT(check_test_area(test_area_gva_private, PATTERN_GUEST_GENERAL));

  // MapGPA with the S-bit set asks the VMM to make the focus area shared.
  let ret = tdg_vp_vmcall_map_gpa(
    test_area_gpa_shared.value + focus_area,
    TDX_UPM_FOCUS_AREA_SIZE,
    null,
  );
  TDX_UPM_TEST_ASSERT(!ret);

  // Controls untouched by the conversion.
  TDX_UPM_TEST_ASSERT(check_general_areas(test_area_gva_private, PATTERN_GUEST_GENERAL));

  // Shared accesses reach the slot's userspace_addr pages, which still
  // carry the PATTERN_CONFIDENCE_CHECK the VMM put there before launch.
  TDX_UPM_TEST_ASSERT(check_focus_area(test_area_gva_shared, PATTERN_CONFIDENCE_CHECK));

  // Write through the shared alias for the host to see.
  fill_focus_area(test_area_gva_shared, PATTERN_GUEST_FOCUS);

  tdx_test_report_to_user_space(SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST);

  // The host's reply must be visible through the shared alias.
  TDX_UPM_TEST_ASSERT(check_focus_area(test_area_gva_shared, PATTERN_HOST_FOCUS));

  // MapGPA without the S-bit: back to private.
  ret = tdg_vp_vmcall_map_gpa(
    test_area_gpa_private.value + focus_area,
    TDX_UPM_FOCUS_AREA_SIZE,
    null,
  );
  TDX_UPM_TEST_ASSERT(!ret);

  // Controls untouched by the conversion.
  TDX_UPM_TEST_ASSERT(check_general_areas(test_area_gva_private, PATTERN_GUEST_GENERAL));

  // Reading it raised #VE per page; the handler's accept zeroed them.
  TDX_UPM_TEST_ASSERT(check_focus_area(test_area_gva_private, 0));

  tdx_test_report_to_user_space(SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN);

  // The whole area, focus included, works as private memory again.
  TDX_UPM_TEST_ASSERT(fill_and_check(test_area_gva_private, PATTERN_GUEST_GENERAL));

  tdx_test_success();
}

/** Guest entry point: conversions by touching the shared or the private mapping. */
export function guest_upm_implicit(): void {
  const test_area_gva_private = TDX_UPM_TEST_AREA_GVA_PRIVATE;
  const test_area_gva_shared = TDX_UPM_TEST_AREA_GVA_SHARED;

  // Private fill, then a host look: the TD's data must be intact after it.
  fill_test_area(test_area_gva_private, PATTERN_GUEST_GENERAL);

  tdx_test_report_to_user_space(SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST);

  TDX_UPM_TEST_ASSERT(check_test_area(test_area_gva_private, PATTERN_GUEST_GENERAL));

  // A shared-alias write to private pages exits with KVM_EXIT_MEMORY_FAULT;
  // the host converts and the write is retried.
  fill_focus_area(test_area_gva_shared, PATTERN_GUEST_FOCUS);

  // Only the faulting focus pages changed attributes.
  TDX_UPM_TEST_ASSERT(check_general_areas(test_area_gva_private, PATTERN_GUEST_GENERAL));

  tdx_test_report_to_user_space(SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST);

  // The host's reply must be visible through the shared alias.
  TDX_UPM_TEST_ASSERT(check_focus_area(test_area_gva_shared, PATTERN_HOST_FOCUS));

  // The same through the private alias: fault, convert back, accept on #VE.
  fill_focus_area(test_area_gva_private, PATTERN_GUEST_FOCUS);

  // Controls untouched by the conversion.
  TDX_UPM_TEST_ASSERT(check_general_areas(test_area_gva_private, PATTERN_GUEST_GENERAL));

  tdx_test_report_to_user_space(SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN);

  // The whole area, focus included, works as private memory again.
  TDX_UPM_TEST_ASSERT(fill_and_check(test_area_gva_private, PATTERN_GUEST_GENERAL));

  tdx_test_success();
}

/** The 32-bit value of the guest's last report. */
function io_data_u32(vcpu: kvm_vcpu): number {
  const b = user_memory(vcpu.run_hva + vcpu.run.io.data_offset, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

function run_selftest(vm: kvm_vm, vcpu: kvm_vcpu, test_area_base_hva: bigint, implicit: boolean) {
  tdx_run(vcpu);
  tdx_test_assert_io(vcpu, TDX_TEST_REPORT_PORT, TDX_TEST_REPORT_SIZE, PORT_WRITE);
  TEST_ASSERT_EQ(io_data_u32(vcpu), SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST);

  // Private data lives in guest_memfd; the host's mapping is the slot's
  // userspace_addr memory, so it must still show the pre-launch fill.
  TEST_ASSERT(
    host_check_test_area(test_area_base_hva, PATTERN_CONFIDENCE_CHECK),
    "Host should read PATTERN_CONFIDENCE_CHECK from guest's private memory.",
  );

  vcpu_run_and_manage_memory_conversions(vm, vcpu, implicit);
  tdx_test_assert_io(vcpu, TDX_TEST_REPORT_PORT, TDX_TEST_REPORT_SIZE, PORT_WRITE);
  TEST_ASSERT_EQ(io_data_u32(vcpu), SYNC_CHECK_READ_SHARED_MEMORY_FROM_HOST);

  TEST_ASSERT(
    host_check_focus_area(test_area_base_hva, PATTERN_GUEST_FOCUS),
    "Host should have the same view of shared memory as guest.",
  );
  TEST_ASSERT(
    host_check_general_areas(test_area_base_hva, PATTERN_CONFIDENCE_CHECK),
    "Host's view of private memory should still be backed by regular memory.",
  );

  // Host writes into the shared focus area, for the TD to read back.
  host_area(test_area_base_hva, focus_area, TDX_UPM_FOCUS_AREA_SIZE).fill(PATTERN_HOST_FOCUS);
  TEST_ASSERT(
    host_check_focus_area(test_area_base_hva, PATTERN_HOST_FOCUS),
    "Host should be able to use shared memory.",
  );

  vcpu_run_and_manage_memory_conversions(vm, vcpu, implicit);
  tdx_test_assert_io(vcpu, TDX_TEST_REPORT_PORT, TDX_TEST_REPORT_SIZE, PORT_WRITE);
  TEST_ASSERT_EQ(io_data_u32(vcpu), SYNC_CHECK_READ_PRIVATE_MEMORY_FROM_HOST_AGAIN);

  TEST_ASSERT(
    host_check_general_areas(test_area_base_hva, PATTERN_CONFIDENCE_CHECK),
    "Host's view of private memory should be backed by regular memory.",
  );
  TEST_ASSERT(
    host_check_focus_area(test_area_base_hva, PATTERN_HOST_FOCUS),
    "Host's view of private memory should be backed by regular memory.",
  );

  tdx_run(vcpu);
  tdx_test_assert_success(vcpu);
}

/** Guest #VE handler: accept the PENDING page of an EPT violation in the focus area. */
export function guest_ve_handler(): void {
  const ve = {} as ve_info;

  let ret = tdg_vp_veinfo_get(ve);
  TDX_UPM_TEST_ASSERT(!ret);

  // The only #VE this test provokes is an access to a PENDING page.
  TDX_UPM_TEST_ASSERT(ve.exit_reason === BigInt(EXIT_REASON_EPT_VIOLATION));

  // ... and only focus-area pages are ever converted.
  const gpa = test_area_gpa_private.value;
  TDX_UPM_TEST_ASSERT(gpa + focus_area <= ve.gpa && ve.gpa < gpa + general_area_1);

  tdx_test_send_64bit(TDX_UPM_TEST_ACCEPT_PRINT_PORT, ve.gpa);

  ret = tdg_mem_page_accept(ve.gpa, TDX_PS_4K);
  TDX_UPM_TEST_ASSERT(!ret);
}

function verify_upm_test(implicit: boolean): void {
  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu = vm_vcpu_add(vm, 0, implicit ? guest_upm_implicit : guest_upm_explicit);

  vm_install_exception_handler(vm, VE_VECTOR, guest_ve_handler);

  // Both aliases (private GVA and S-bit GVA) are built now, before the TD is
  // finalized, so conversions never need a page-table change in the guest.
  const test_area_npages = TDX_UPM_TEST_AREA_SIZE / vm.page_size;
  vm_userspace_mem_region_add(
    vm,
    vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS,
    TDX_UPM_TEST_AREA_GPA,
    3,
    test_area_npages,
    KVM_MEM_GUEST_MEMFD,
  );
  vm.memslots[kvm_mem_region_type.MEM_REGION_TEST_DATA] = 3;

  const test_area_gva_private = vm_vaddr_alloc_private(
    vm,
    TDX_UPM_TEST_AREA_SIZE,
    TDX_UPM_TEST_AREA_GVA_PRIVATE,
    TDX_UPM_TEST_AREA_GPA,
    kvm_mem_region_type.MEM_REGION_TEST_DATA,
  );
  TEST_ASSERT_EQ(test_area_gva_private, TDX_UPM_TEST_AREA_GVA_PRIVATE);

  test_area_gpa_private.value = addr_gva2gpa(vm, test_area_gva_private);
  virt_map_shared(
    vm,
    TDX_UPM_TEST_AREA_GVA_SHARED,
    test_area_gpa_private.value,
    test_area_npages,
  );
  TEST_ASSERT_EQ(addr_gva2gpa(vm, TDX_UPM_TEST_AREA_GVA_SHARED), test_area_gpa_private.value);

  const test_area_base_hva = addr_gva2hva(vm, TDX_UPM_TEST_AREA_GVA_PRIVATE);

  host_area(test_area_base_hva, 0n, TDX_UPM_TEST_AREA_SIZE).fill(PATTERN_CONFIDENCE_CHECK);
  TEST_ASSERT(
    host_check_test_area(test_area_base_hva, PATTERN_CONFIDENCE_CHECK),
    "Failed to mark memory intended as backing memory for TD shared memory",
  );

  sync_global_to_guest(vm, test_area_gpa_private);
  test_area_gpa_shared.value = test_area_gpa_private.value | vm.arch.s_bit;
  sync_global_to_guest(vm, test_area_gpa_shared);

  kvm_arch_vm_finalize_vcpus(vm);

  vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 1n << BigInt(KVM_HC_MAP_GPA_RANGE));

  run_selftest(vm, vcpu, test_area_base_hva, implicit);

  kvm_vm_free(vm);
}

TEST("verify_upm_test_explicit", () => {
  verify_upm_test(false);
});

TEST("verify_upm_test_implicit", () => {
  verify_upm_test(true);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(is_tdx_supported());

  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
