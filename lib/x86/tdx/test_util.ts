// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/tdx/test_util.c` (the TDX
 * selftest series, v8): the guest reports with port I/O and
 * ReportFatalError, the host runs the TD and checks each exit.
 *
 * v8 ran a TD with `td_vcpu_run()` from `tdx_util.c`, which also answered a
 * MapGPA exit (`handle_userspace_map_gpa()`, from `tdx.c`, through
 * `handle_memory_conversion()`). v13's `tdx_util` has neither, so the three
 * live here, beside `tdx_run()`, their one caller in the library. v8's
 * `run_in_new_process()` and `is_tdx_enabled()` are not ported: the harness
 * runs every `TEST` in a child of its own, and v13 names the check
 * `is_tdx_supported()`.
 *
 * Tests import it through `include/x86/tdx/test_util.ts`. The guest half is
 * `test_util_guest.ts`, re-exported here.
 *
 * @module
 */

import {
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from "../../../include/linux/kvm.ts";
import {
  KVM_HC_MAP_GPA_RANGE,
  KVM_MAP_GPA_RANGE_ENCRYPTED,
} from "../../../include/linux/kvm_para.ts";
import { user_memory } from "../../../include/libc/syscall.ts";
import type { kvm_vcpu, kvm_vm } from "../../../include/kvm_util_types.ts";
import { pr_debug, TEST_ASSERT, TEST_FAIL } from "../../../include/test_util.ts";
import {
  PORT_WRITE,
  TDX_TEST_REPORT_PORT,
  TDX_TEST_SUCCESS_PORT,
  TDX_TEST_SUCCESS_SIZE,
} from "./test_util_guest.ts";
import { exit_reason_str, vcpu_run, vm_set_memory_attributes } from "../../kvm_util.ts";
import { GUEST_ASSERT_EQ } from "../../ucall_common.ts";
import { ref } from "../../../include/kvm_util_types.ts";
import { APIC_BASE_MSR, APIC_SPIV, APIC_SPIV_APIC_ENABLED } from "../../../include/asm/apicdef.ts";
import { tdg_vp_vmcall_instruction_rdmsr, tdg_vp_vmcall_instruction_wrmsr } from "./tdx.ts";

export * from "./test_util_guest.ts";

/** C `*(uint32_t *)((void *)vcpu->run + vcpu->run->io.data_offset)`. */
function io_data_u32(vcpu: kvm_vcpu): number {
  const b = user_memory(vcpu.run_hva + vcpu.run.io.data_offset, 4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

// ---------------------------------------------------------------------------
// Host

/**
 * C `tdx_test_assert_io(vcpu, port, size, direction)`: the last exit is a
 * port I/O of `size` bytes at `port` in `direction`.
 *
 * @param vcpu the vCPU
 * @param port the port
 * @param size the access size in bytes
 * @param direction `PORT_READ` or `PORT_WRITE`
 */
export function tdx_test_assert_io(
  vcpu: kvm_vcpu,
  port: number,
  size: number,
  direction: number,
): void {
  const run = vcpu.run;
  TEST_ASSERT(
    run.exit_reason === KVM_EXIT_IO,
    "Got exit_reason other than KVM_EXIT_IO: %u (%s)\n",
    run.exit_reason,
    exit_reason_str(run.exit_reason),
  );
  TEST_ASSERT(
    run.exit_reason === KVM_EXIT_IO && run.io.port === port && run.io.size === size &&
      run.io.direction === direction,
    "Got unexpected IO exit values: %u (%s) %u %u %u\n",
    run.exit_reason,
    exit_reason_str(run.exit_reason),
    run.io.port,
    run.io.size,
    run.io.direction,
  );
}

/**
 * C `tdx_test_assert_mmio(vcpu, phys_addr, size, is_write)`: the last exit is
 * an MMIO access of `size` bytes at `phys_addr` (KVM strips the S-bit).
 *
 * @param vcpu the vCPU
 * @param phys_addr the GPA, without the S-bit
 * @param size the access size in bytes
 * @param is_write `TDG_VP_VMCALL_VE_REQUEST_MMIO_READ` or `_WRITE` (v8's
 *   `MMIO_READ`/`MMIO_WRITE` constants, renamed as later upstream did: the
 *   names now belong to the guest accessors of `lib/x86/mmio.ts`)
 */
export function tdx_test_assert_mmio(
  vcpu: kvm_vcpu,
  phys_addr: bigint,
  size: number,
  is_write: bigint | number,
): void {
  const run = vcpu.run;
  TEST_ASSERT(
    run.exit_reason === KVM_EXIT_MMIO,
    "Got exit_reason other than KVM_EXIT_MMIO: %u (%s)\n",
    run.exit_reason,
    exit_reason_str(run.exit_reason),
  );
  TEST_ASSERT(
    run.exit_reason === KVM_EXIT_MMIO && run.mmio.phys_addr === phys_addr &&
      run.mmio.len === size && run.mmio.is_write === Number(is_write),
    "Got an unexpected MMIO exit values: %u (%s) %llu %u %u\n",
    run.exit_reason,
    exit_reason_str(run.exit_reason),
    run.mmio.phys_addr,
    run.mmio.len,
    run.mmio.is_write,
  );
}

/**
 * C `handle_memory_conversion(vm, vcpu_id, gpa, size, shared_to_private)`
 * (v8 `tdx_util.c`): set the memory attributes of the range. The backing
 * stays as it is (guest_memfd for private, the memslot's memory for shared).
 *
 * @param vm the VM
 * @param vcpu_id the vCPU that asked (for the debug message)
 * @param gpa the first GPA, without the S-bit
 * @param size the size in bytes
 * @param shared_to_private true to make the range private, false to make it shared
 */
export function handle_memory_conversion(
  vm: kvm_vm,
  vcpu_id: number,
  gpa: bigint,
  size: bigint,
  shared_to_private: boolean,
): void {
  const attributes = shared_to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0n;
  pr_debug(
    "\t... call KVM_SET_MEMORY_ATTRIBUTES ioctl from vCPU %u with gpa=%#lx, size=%#lx, attributes=%#llx\n",
    vcpu_id,
    gpa,
    size,
    attributes,
  );
  vm_set_memory_attributes(vm, gpa, size, attributes);
}

/**
 * C `handle_userspace_map_gpa(vcpu)` (v8 `tdx.c`): answer the
 * `KVM_EXIT_HYPERCALL` (`KVM_HC_MAP_GPA_RANGE`) that KVM makes of a TD's
 * MapGPA: convert the chunk and report success in `hypercall.ret`.
 *
 * @param vcpu the vCPU
 */
export function handle_userspace_map_gpa(vcpu: kvm_vcpu): void {
  const hc = vcpu.run.hypercall;
  handle_memory_conversion(
    vcpu.vm,
    vcpu.id,
    hc.args.at(0),
    hc.args.at(1) << 12n,
    (hc.args.at(2) & KVM_MAP_GPA_RANGE_ENCRYPTED) !== 0n,
  );
  hc.ret = 0n;
}

/**
 * C `td_vcpu_run(vcpu)` (v8 `tdx_util.c`): `vcpu_run()`, then answer a
 * MapGPA exit, which KVM completes on the next `KVM_RUN`.
 *
 * @param vcpu the vCPU
 */
export function td_vcpu_run(vcpu: kvm_vcpu): void {
  vcpu_run(vcpu);
  if (
    vcpu.run.exit_reason === KVM_EXIT_HYPERCALL &&
    vcpu.run.hypercall.nr === BigInt(KVM_HC_MAP_GPA_RANGE)
  ) {
    handle_userspace_map_gpa(vcpu);
  }
}

/**
 * C `tdx_run(vcpu)`: run the TD to its next exit and fail the test if the
 * guest reported a fatal error (`tdx_test_fatal()`), printing its code.
 *
 * @param vcpu the vCPU
 */
export function tdx_run(vcpu: kvm_vcpu): void {
  td_vcpu_run(vcpu);
  if (vcpu.run.exit_reason === KVM_EXIT_SYSTEM_EVENT) {
    const data = vcpu.run.system_event.data;
    TEST_FAIL("Guest reported error. error code: %lld (0x%llx)\n", data.at(12), data.at(13));
  }
}

/**
 * C `tdx_test_assert_success(vcpu)`: the last exit is the guest's
 * `tdx_test_success()`.
 *
 * @param vcpu the vCPU
 */
export function tdx_test_assert_success(vcpu: kvm_vcpu): void {
  const run = vcpu.run;
  TEST_ASSERT(
    run.exit_reason === KVM_EXIT_IO && run.io.port === TDX_TEST_SUCCESS_PORT &&
      run.io.size === TDX_TEST_SUCCESS_SIZE && run.io.direction === PORT_WRITE,
    "Unexpected exit values while waiting for test completion: %u (%s) %d %d %d\n",
    run.exit_reason,
    exit_reason_str(run.exit_reason),
    run.io.port,
    run.io.size,
    run.io.direction,
  );
}

/**
 * C `tdx_test_read_report_from_guest(vcpu)`: the 32-bit value of the
 * guest's `tdx_test_report_to_user_space()`.
 *
 * @param vcpu the vCPU
 * @returns the value
 */
export function tdx_test_read_report_from_guest(vcpu: kvm_vcpu): number {
  tdx_test_assert_io(vcpu, TDX_TEST_REPORT_PORT, 4, PORT_WRITE);
  return io_data_u32(vcpu);
}

/**
 * C `tdx_test_read_64bit(vcpu, port)`: the 64-bit value of the guest's
 * `tdx_test_send_64bit()`, low half from this exit, high half from the next.
 *
 * @param vcpu the vCPU
 * @param port the port
 * @returns the value
 */
export function tdx_test_read_64bit(vcpu: kvm_vcpu, port: number): bigint {
  tdx_test_assert_io(vcpu, port, 4, PORT_WRITE);
  const lo = io_data_u32(vcpu);

  vcpu_run(vcpu);

  tdx_test_assert_io(vcpu, port, 4, PORT_WRITE);
  const hi = io_data_u32(vcpu);

  return BigInt(hi) << 32n | BigInt(lo);
}

/**
 * C `tdx_test_read_64bit_report_from_guest(vcpu)`.
 *
 * @param vcpu the vCPU
 * @returns the value of the guest's `tdx_test_report_64bit_to_user_space()`
 */
export function tdx_test_read_64bit_report_from_guest(vcpu: kvm_vcpu): bigint {
  return tdx_test_read_64bit(vcpu, TDX_TEST_REPORT_PORT);
}

// ---------------------------------------------------------------------------
// Guest

/**
 * C `tdx_guest_x2apic_enable()` (guest; googleprodkernel/linux-cc's
 * `test_util.c`, with `tdx_irqfd_migrate_test`): no mode switch is needed
 * (the TDX module hands every TD vCPU an APIC already in x2APIC mode), only
 * the software-enable bit of SPIV, which
 * KVM emulates (a #VE if accessed directly), read and written back with
 * `APIC_SPIV_APIC_ENABLED` through TDG.VP.VMCALL<RDMSR/WRMSR>. Until then
 * KVM drops every fixed interrupt for the vCPU.
 */
export function tdx_guest_x2apic_enable(): void {
  const x2apic_spiv = APIC_BASE_MSR + (APIC_SPIV >> 4);
  const value = ref(0n);

  let ret = tdg_vp_vmcall_instruction_rdmsr(x2apic_spiv, value);
  GUEST_ASSERT_EQ(ret, 0n);
  ret = tdg_vp_vmcall_instruction_wrmsr(
    x2apic_spiv,
    value.value | BigInt(APIC_SPIV_APIC_ENABLED),
  );
  GUEST_ASSERT_EQ(ret, 0n);
}
