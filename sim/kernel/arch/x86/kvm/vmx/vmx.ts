// SPDX-License-Identifier: GPL-2.0-only
/**
 * VMX (`arch/x86/kvm/vmx/vmx.c`) and the run loop of `x86.c`
 * (`kvm_arch_vcpu_ioctl_run`, `vcpu_run`, `vcpu_enter_guest`): KVM_RUN's
 * checks, the completion of what userspace answered for the last exit
 * (`complete_userspace_io`), entry into the vCPU thread, and the filling of
 * `kvm_run` for exits that go to userspace.
 *
 * The vCPU thread (the CPU, `sim/cpu/`) is attached through
 * {@linkcode set_vcpu_thread_factory}; without one, entering the guest fails
 * with `KVM_EXIT_FAIL_ENTRY`, as a VM entry that the hardware refuses does.
 *
 * @module
 */

import { EBUSY, EINTR, EINVAL } from "../../../../../../include/linux/errno.ts";
import {
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_INTR,
  KVM_MP_STATE_UNINITIALIZED,
  kvm_run,
  KVM_SYNC_X86_VALID_FIELDS,
} from "../../../../../../include/linux/kvm.ts";
import { offsetof } from "../../../../../../include/c/layout.ts";
import type { kvm_vcpu } from "../../../../include/linux/kvm_host.ts";

const OFF_IMMEDIATE_EXIT = offsetof(kvm_run, "immediate_exit");
const OFF_EXIT_REASON = offsetof(kvm_run, "exit_reason");
const OFF_VALID_REGS = offsetof(kvm_run, "kvm_valid_regs");
const OFF_DIRTY_REGS = offsetof(kvm_run, "kvm_dirty_regs");
const OFF_FAIL_ENTRY_REASON = offsetof(kvm_run, "fail_entry.hardware_entry_failure_reason");
const OFF_FAIL_ENTRY_CPU = offsetof(kvm_run, "fail_entry.cpu");

/**
 * A JavaScript exception thrown by guest code: a bug in the test. KVM_RUN
 * throws it on the host (the only exception the simulated kernel lets out of
 * a syscall), carrying the guest's stack.
 */
export class GuestCodeError extends Error {
  /** The stack of the exception inside the guest. */
  readonly guest_stack: string;
  /** The vCPU id that crashed. */
  readonly vcpu_id: number;

  /**
   * Wraps a guest exception for the host.
   *
   * @param message the guest exception's message
   * @param guest_stack the guest exception's stack
   * @param vcpu_id the vCPU that ran the code
   */
  constructor(message: string, guest_stack: string, vcpu_id: number) {
    super(`Guest code on vCPU ${vcpu_id} threw: ${message}\n--- guest stack ---\n${guest_stack}`);
    this.name = "GuestCodeError";
    this.guest_stack = guest_stack;
    this.vcpu_id = vcpu_id;
  }
}

/** The host side of a vCPU thread, as the run loop uses it. */
export interface vcpu_thread_ops {
  /** Runs the guest until the next exit; returns 1 to resume, or a KVM_RUN result (<= 0). */
  run(vcpu: kvm_vcpu): number;
  /** The same, letting other JavaScript run meanwhile. */
  run_async(vcpu: kvm_vcpu): Promise<number>;
  /** Stops the vCPU thread and frees it. */
  destroy(vcpu: kvm_vcpu): void;
}

let thread_ops: vcpu_thread_ops | null = null;

/** Attaches the CPU implementation that runs guest code. */
export function set_vcpu_thread_factory(ops: vcpu_thread_ops | null): void {
  thread_ops = ops;
}

/**
 * The checks and completions `kvm_arch_vcpu_ioctl_run()` does before entering
 * the guest: 1 to enter, or the KVM_RUN result.
 */
export function kvm_vcpu_pre_run(vcpu: kvm_vcpu): number {
  const run = vcpu.run;
  // Invalid sync-register requests are refused before anything runs.
  const valid = run.getBigUint64(OFF_VALID_REGS, true);
  const dirty = run.getBigUint64(OFF_DIRTY_REGS, true);
  if ((valid | dirty) & ~KVM_SYNC_X86_VALID_FIELDS) return -EINVAL;
  if (vcpu.arch.mp_state === KVM_MP_STATE_UNINITIALIZED) {
    // An AP waits for INIT-SIPI; with no IPIs to wait for, KVM_RUN returns as
    // if a signal interrupted the wait (see docs/fidelity.md).
    run.setUint32(OFF_EXIT_REASON, KVM_EXIT_INTR, true);
    return -EINTR;
  }
  const cui = vcpu.arch.complete_userspace_io;
  if (cui) {
    vcpu.arch.complete_userspace_io = null;
    const r = cui();
    if (r <= 0) return r;
  }
  if (run.getUint8(OFF_IMMEDIATE_EXIT)) {
    run.setUint32(OFF_EXIT_REASON, KVM_EXIT_INTR, true);
    return -EINTR;
  }
  return 1;
}

function fail_entry(vcpu: kvm_vcpu): number {
  vcpu.run.setUint32(OFF_EXIT_REASON, KVM_EXIT_FAIL_ENTRY, true);
  vcpu.run.setBigUint64(OFF_FAIL_ENTRY_REASON, 0n, true);
  vcpu.run.setUint32(OFF_FAIL_ENTRY_CPU, 0, true);
  return 0;
}

/** KVM_RUN, blocking the calling thread until an exit goes to userspace. */
export function vmx_vcpu_run(vcpu: kvm_vcpu): number {
  if (vcpu.running) return -EBUSY;
  const r = kvm_vcpu_pre_run(vcpu);
  if (r <= 0) return r;
  vcpu.has_run = true;
  if (!thread_ops) return fail_entry(vcpu);
  vcpu.running = true;
  try {
    return thread_ops.run(vcpu);
  } finally {
    vcpu.running = false;
  }
}

/** KVM_RUN, letting other JavaScript (other vCPUs) run while the guest runs. */
export async function vmx_vcpu_run_async(vcpu: kvm_vcpu): Promise<number> {
  if (vcpu.running) return -EBUSY;
  const r = kvm_vcpu_pre_run(vcpu);
  if (r <= 0) return r;
  vcpu.has_run = true;
  if (!thread_ops) return fail_entry(vcpu);
  vcpu.running = true;
  try {
    return await thread_ops.run_async(vcpu);
  } finally {
    vcpu.running = false;
  }
}

/** Frees the vCPU's thread (`vmx_vcpu_free`). */
export function vmx_vcpu_destroy(vcpu: kvm_vcpu): void {
  thread_ops?.destroy(vcpu);
}
