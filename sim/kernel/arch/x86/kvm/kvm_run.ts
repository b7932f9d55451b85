// SPDX-License-Identifier: GPL-2.0-only
/**
 * Offsets into a vCPU's `struct kvm_run` page (`include/uapi/linux/kvm.h`),
 * where the kernel writes `run->exit_reason`, `run->io.port`, ... : the one
 * table the exit handlers of `vmx/vmx.ts` and `vmx/tdx.ts` read, each offset
 * taken from the uAPI layout (`include/linux/kvm.ts`) rather than written as
 * a number. `R_TDX_U` is the start of the `tdx` exit's union (`ret`, then the
 * leaf's operands).
 *
 * @module
 */

import { offsetof } from "../../../../../include/c/layout.ts";
import { kvm_run } from "../../../../../include/linux/kvm.ts";
import { KVM_PIO_PAGE_OFFSET } from "../../../../../include/asm/kvm.ts";

/** `kvm_run.immediate_exit`. */
export const R_IMMEDIATE_EXIT: number = offsetof(kvm_run, "immediate_exit");
/** `kvm_run.exit_reason`. */
export const R_EXIT_REASON: number = offsetof(kvm_run, "exit_reason");
/** `kvm_run.ready_for_interrupt_injection`. */
export const R_READY_FOR_INJECTION: number = offsetof(kvm_run, "ready_for_interrupt_injection");
/** `kvm_run.if_flag`. */
export const R_IF_FLAG: number = offsetof(kvm_run, "if_flag");
/** `kvm_run.request_interrupt_window`. */
export const R_REQUEST_INTERRUPT_WINDOW: number = offsetof(kvm_run, "request_interrupt_window");
/** `kvm_run.flags`. */
export const R_FLAGS: number = offsetof(kvm_run, "flags");
/** `kvm_run.cr8`. */
export const R_CR8: number = offsetof(kvm_run, "cr8");
/** `kvm_run.apic_base`. */
export const R_APIC_BASE: number = offsetof(kvm_run, "apic_base");
/** `kvm_run.kvm_valid_regs`. */
export const R_VALID_REGS: number = offsetof(kvm_run, "kvm_valid_regs");
/** `kvm_run.kvm_dirty_regs`. */
export const R_DIRTY_REGS: number = offsetof(kvm_run, "kvm_dirty_regs");
/** `kvm_run.fail_entry.hardware_entry_failure_reason`. */
export const R_FAIL_ENTRY_REASON: number = offsetof(
  kvm_run,
  "fail_entry.hardware_entry_failure_reason",
);
/** `kvm_run.fail_entry.cpu`. */
export const R_FAIL_ENTRY_CPU: number = offsetof(kvm_run, "fail_entry.cpu");
/** `kvm_run.io.direction`. */
export const R_IO_DIRECTION: number = offsetof(kvm_run, "io.direction");
/** `kvm_run.io.size`. */
export const R_IO_SIZE: number = offsetof(kvm_run, "io.size");
/** `kvm_run.io.port`. */
export const R_IO_PORT: number = offsetof(kvm_run, "io.port");
/** `kvm_run.io.count`. */
export const R_IO_COUNT: number = offsetof(kvm_run, "io.count");
/** `kvm_run.io.data_offset`. */
export const R_IO_DATA_OFFSET: number = offsetof(kvm_run, "io.data_offset");
/** `kvm_run.mmio.phys_addr`. */
export const R_MMIO_PHYS_ADDR: number = offsetof(kvm_run, "mmio.phys_addr");
/** `kvm_run.mmio.data`. */
export const R_MMIO_DATA: number = offsetof(kvm_run, "mmio.data");
/** `kvm_run.mmio.len`. */
export const R_MMIO_LEN: number = offsetof(kvm_run, "mmio.len");
/** `kvm_run.mmio.is_write`. */
export const R_MMIO_IS_WRITE: number = offsetof(kvm_run, "mmio.is_write");
/** `kvm_run.hypercall.nr`. */
export const R_HC_NR: number = offsetof(kvm_run, "hypercall.nr");
/** `kvm_run.hypercall.args`. */
export const R_HC_ARGS: number = offsetof(kvm_run, "hypercall.args");
/** `kvm_run.hypercall.ret`. */
export const R_HC_RET: number = offsetof(kvm_run, "hypercall.ret");
/** `kvm_run.hypercall.flags`. */
export const R_HC_FLAGS: number = offsetof(kvm_run, "hypercall.flags");
/** `kvm_run.msr.error`. */
export const R_MSR_ERROR: number = offsetof(kvm_run, "msr.error");
/** `kvm_run.msr.reason`. */
export const R_MSR_REASON: number = offsetof(kvm_run, "msr.reason");
/** `kvm_run.msr.index`. */
export const R_MSR_INDEX: number = offsetof(kvm_run, "msr.index");
/** `kvm_run.msr.data`. */
export const R_MSR_DATA: number = offsetof(kvm_run, "msr.data");
/** `kvm_run.internal.suberror`. */
export const R_INTERNAL_SUBERROR: number = offsetof(kvm_run, "internal.suberror");
/** `kvm_run.internal.ndata`. */
export const R_INTERNAL_NDATA: number = offsetof(kvm_run, "internal.ndata");
/** `kvm_run.internal.data`. */
export const R_INTERNAL_DATA: number = offsetof(kvm_run, "internal.data");
/** `kvm_run.memory_fault.flags`. */
export const R_MF_FLAGS: number = offsetof(kvm_run, "memory_fault.flags");
/** `kvm_run.memory_fault.gpa`. */
export const R_MF_GPA: number = offsetof(kvm_run, "memory_fault.gpa");
/** `kvm_run.memory_fault.size`. */
export const R_MF_SIZE: number = offsetof(kvm_run, "memory_fault.size");
/** `kvm_run.system_event.type`. */
export const R_SE_TYPE: number = offsetof(kvm_run, "system_event.type");
/** `kvm_run.system_event.ndata`. */
export const R_SE_NDATA: number = offsetof(kvm_run, "system_event.ndata");
/** `kvm_run.system_event.data`. */
export const R_SE_DATA: number = offsetof(kvm_run, "system_event.data");
/** `kvm_run.tdx.flags`. */
export const R_TDX_FLAGS: number = offsetof(kvm_run, "tdx.flags");
/** `kvm_run.tdx.nr`. */
export const R_TDX_NR: number = offsetof(kvm_run, "tdx.nr");
/** `kvm_run.tdx.unknown.ret`. */
export const R_TDX_U: number = offsetof(kvm_run, "tdx.unknown.ret");

/** Where PIO data lives in the vCPU's mmap area: `KVM_PIO_PAGE_OFFSET` pages in. */
export const PIO_DATA_OFFSET: number = KVM_PIO_PAGE_OFFSET * 4096;
