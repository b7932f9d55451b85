// SPDX-License-Identifier: GPL-2.0-only
/**
 * The architecture-independent statistics blocks of `include/linux/kvm_types.h`
 * (kvm-x86/linux): `struct kvm_vm_stat_generic` and `struct
 * kvm_vcpu_stat_generic`, the first member of each architecture's
 * `struct kvm_vm_stat` / `struct kvm_vcpu_stat`. They are C layouts (one
 * layout engine, include/c/layout.ts) because the binary stats fd hands the
 * bytes of the whole stat struct to userspace, and each descriptor's
 * `offset` is `offsetof()` a member.
 *
 * @module
 */

import {
  array,
  type ArrayType,
  type RecordType,
  struct,
  u64,
} from "../../../../include/c/layout.ts";

/** `HALT_POLL_HIST_COUNT`: buckets of each halt-polling logarithmic histogram. */
export const HALT_POLL_HIST_COUNT = 32;

/** `struct kvm_vm_stat_generic`. */
export const kvm_vm_stat_generic: RecordType<{
  remote_tlb_flush: u64;
  remote_tlb_flush_requests: u64;
}> = struct("kvm_vm_stat_generic", {
  remote_tlb_flush: u64,
  remote_tlb_flush_requests: u64,
});

/** `struct kvm_vcpu_stat_generic`. */
export const kvm_vcpu_stat_generic: RecordType<{
  halt_successful_poll: u64;
  halt_attempted_poll: u64;
  halt_poll_invalid: u64;
  halt_wakeup: u64;
  halt_poll_success_ns: u64;
  halt_poll_fail_ns: u64;
  halt_wait_ns: u64;
  halt_poll_success_hist: ArrayType<u64>;
  halt_poll_fail_hist: ArrayType<u64>;
  halt_wait_hist: ArrayType<u64>;
  blocking: u64;
}> = struct("kvm_vcpu_stat_generic", {
  halt_successful_poll: u64,
  halt_attempted_poll: u64,
  halt_poll_invalid: u64,
  halt_wakeup: u64,
  halt_poll_success_ns: u64,
  halt_poll_fail_ns: u64,
  halt_wait_ns: u64,
  halt_poll_success_hist: array(u64, HALT_POLL_HIST_COUNT),
  halt_poll_fail_hist: array(u64, HALT_POLL_HIST_COUNT),
  halt_wait_hist: array(u64, HALT_POLL_HIST_COUNT),
  blocking: u64,
});
