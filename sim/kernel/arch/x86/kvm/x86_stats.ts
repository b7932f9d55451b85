// SPDX-License-Identifier: GPL-2.0-only
/**
 * x86's statistics: `struct kvm_vm_stat` and `struct kvm_vcpu_stat`
 * (`arch/x86/include/asm/kvm_host.h`) and the descriptor tables
 * `kvm_vm_stats_desc[]` / `kvm_vcpu_stats_desc[]` with their headers
 * (`arch/x86/kvm/x86.c`, kvm-x86/linux commit
 * 042007c262e53113ca4eb15010256231eefbed0b), in the kernel's order: the
 * binary stats fd serves exactly these names, types, units and offsets.
 *
 * Each VM and vCPU has its stat struct in a buffer of its own, created with
 * the object (`kvm->stat`, `vcpu->stat`); the kernel's exit handlers count
 * into it, and the stats fd copies its bytes out.
 *
 * @module
 */

import { type RecordType, struct, u64, type View } from "../../../../../include/c/layout.ts";
import type { kvm, kvm_vcpu } from "../../../include/linux/kvm_host.ts";
import { kvm_vcpu_stat_generic, kvm_vm_stat_generic } from "../../../include/linux/kvm_types.ts";
import {
  KVM_GENERIC_VCPU_STATS,
  KVM_GENERIC_VM_STATS,
  KVM_STATS_NAME_SIZE,
  kvm_stats_table,
  STATS_DESC_COUNTER,
  STATS_DESC_IBOOLEAN,
  STATS_DESC_ICOUNTER,
  STATS_DESC_PCOUNTER,
  type stats_scope,
} from "../../../include/linux/kvm_stats.ts";

/**
 * `struct kvm_vm_stat`. In C, `pages_4k`/`pages_2m`/`pages_1g` share a union
 * with `pages[KVM_NR_PAGE_SIZES]`, which has the same bytes; the descriptors
 * name the three members.
 */
export const kvm_vm_stat: RecordType<{
  generic: typeof kvm_vm_stat_generic;
  mmu_shadow_zapped: u64;
  mmu_pte_write: u64;
  mmu_pde_zapped: u64;
  mmu_flooded: u64;
  mmu_recycled: u64;
  mmu_cache_miss: u64;
  mmu_unsync: u64;
  pages_4k: u64;
  pages_2m: u64;
  pages_1g: u64;
  nx_lpage_splits: u64;
  max_mmu_page_hash_collisions: u64;
  max_mmu_rmap_size: u64;
}> = struct("kvm_vm_stat", {
  generic: kvm_vm_stat_generic,
  mmu_shadow_zapped: u64,
  mmu_pte_write: u64,
  mmu_pde_zapped: u64,
  mmu_flooded: u64,
  mmu_recycled: u64,
  mmu_cache_miss: u64,
  mmu_unsync: u64,
  pages_4k: u64,
  pages_2m: u64,
  pages_1g: u64,
  nx_lpage_splits: u64,
  max_mmu_page_hash_collisions: u64,
  max_mmu_rmap_size: u64,
});

/** `struct kvm_vcpu_stat`. */
export const kvm_vcpu_stat: RecordType<{
  generic: typeof kvm_vcpu_stat_generic;
  pf_taken: u64;
  pf_fixed: u64;
  pf_emulate: u64;
  pf_spurious: u64;
  pf_fast: u64;
  pf_mmio_spte_created: u64;
  pf_guest: u64;
  tlb_flush: u64;
  invlpg: u64;
  exits: u64;
  io_exits: u64;
  mmio_exits: u64;
  signal_exits: u64;
  irq_window_exits: u64;
  nmi_window_exits: u64;
  l1d_flush: u64;
  halt_exits: u64;
  request_irq_exits: u64;
  irq_exits: u64;
  host_state_reload: u64;
  fpu_reload: u64;
  insn_emulation: u64;
  insn_emulation_fail: u64;
  hypercalls: u64;
  irq_injections: u64;
  nmi_injections: u64;
  req_event: u64;
  nested_run: u64;
  directed_yield_attempted: u64;
  directed_yield_successful: u64;
  preemption_reported: u64;
  preemption_other: u64;
  guest_mode: u64;
  notify_window_exits: u64;
}> = struct("kvm_vcpu_stat", {
  generic: kvm_vcpu_stat_generic,
  pf_taken: u64,
  pf_fixed: u64,
  pf_emulate: u64,
  pf_spurious: u64,
  pf_fast: u64,
  pf_mmio_spte_created: u64,
  pf_guest: u64,
  tlb_flush: u64,
  invlpg: u64,
  exits: u64,
  io_exits: u64,
  mmio_exits: u64,
  signal_exits: u64,
  irq_window_exits: u64,
  nmi_window_exits: u64,
  l1d_flush: u64,
  halt_exits: u64,
  request_irq_exits: u64,
  irq_exits: u64,
  host_state_reload: u64,
  fpu_reload: u64,
  insn_emulation: u64,
  insn_emulation_fail: u64,
  hypercalls: u64,
  irq_injections: u64,
  nmi_injections: u64,
  req_event: u64,
  nested_run: u64,
  directed_yield_attempted: u64,
  directed_yield_successful: u64,
  preemption_reported: u64,
  preemption_other: u64,
  guest_mode: u64,
  notify_window_exits: u64,
});

const VM: stats_scope = { stat: kvm_vm_stat, prefix: "" };
const VM_GENERIC: stats_scope = { stat: kvm_vm_stat, prefix: "generic." };
const VCPU: stats_scope = { stat: kvm_vcpu_stat, prefix: "" };
const VCPU_GENERIC: stats_scope = { stat: kvm_vcpu_stat, prefix: "generic." };

/** `kvm_vm_stats_desc[]` and `kvm_vm_stats_header`. */
export const kvm_vm_stats: kvm_stats_table = kvm_stats_table(kvm_vm_stat, [
  ...KVM_GENERIC_VM_STATS(VM_GENERIC),
  STATS_DESC_COUNTER(VM, "mmu_shadow_zapped"),
  STATS_DESC_COUNTER(VM, "mmu_pte_write"),
  STATS_DESC_COUNTER(VM, "mmu_pde_zapped"),
  STATS_DESC_COUNTER(VM, "mmu_flooded"),
  STATS_DESC_COUNTER(VM, "mmu_recycled"),
  STATS_DESC_COUNTER(VM, "mmu_cache_miss"),
  STATS_DESC_ICOUNTER(VM, "mmu_unsync"),
  STATS_DESC_ICOUNTER(VM, "pages_4k"),
  STATS_DESC_ICOUNTER(VM, "pages_2m"),
  STATS_DESC_ICOUNTER(VM, "pages_1g"),
  STATS_DESC_ICOUNTER(VM, "nx_lpage_splits"),
  STATS_DESC_PCOUNTER(VM, "max_mmu_rmap_size"),
  STATS_DESC_PCOUNTER(VM, "max_mmu_page_hash_collisions"),
]);

/** `kvm_vcpu_stats_desc[]` and `kvm_vcpu_stats_header`. */
export const kvm_vcpu_stats: kvm_stats_table = kvm_stats_table(kvm_vcpu_stat, [
  ...KVM_GENERIC_VCPU_STATS(VCPU_GENERIC),
  STATS_DESC_COUNTER(VCPU, "pf_taken"),
  STATS_DESC_COUNTER(VCPU, "pf_fixed"),
  STATS_DESC_COUNTER(VCPU, "pf_emulate"),
  STATS_DESC_COUNTER(VCPU, "pf_spurious"),
  STATS_DESC_COUNTER(VCPU, "pf_fast"),
  STATS_DESC_COUNTER(VCPU, "pf_mmio_spte_created"),
  STATS_DESC_COUNTER(VCPU, "pf_guest"),
  STATS_DESC_COUNTER(VCPU, "tlb_flush"),
  STATS_DESC_COUNTER(VCPU, "invlpg"),
  STATS_DESC_COUNTER(VCPU, "exits"),
  STATS_DESC_COUNTER(VCPU, "io_exits"),
  STATS_DESC_COUNTER(VCPU, "mmio_exits"),
  STATS_DESC_COUNTER(VCPU, "signal_exits"),
  STATS_DESC_COUNTER(VCPU, "irq_window_exits"),
  STATS_DESC_COUNTER(VCPU, "nmi_window_exits"),
  STATS_DESC_COUNTER(VCPU, "l1d_flush"),
  STATS_DESC_COUNTER(VCPU, "halt_exits"),
  STATS_DESC_COUNTER(VCPU, "request_irq_exits"),
  STATS_DESC_COUNTER(VCPU, "irq_exits"),
  STATS_DESC_COUNTER(VCPU, "host_state_reload"),
  STATS_DESC_COUNTER(VCPU, "fpu_reload"),
  STATS_DESC_COUNTER(VCPU, "insn_emulation"),
  STATS_DESC_COUNTER(VCPU, "insn_emulation_fail"),
  STATS_DESC_COUNTER(VCPU, "hypercalls"),
  STATS_DESC_COUNTER(VCPU, "irq_injections"),
  STATS_DESC_COUNTER(VCPU, "nmi_injections"),
  STATS_DESC_COUNTER(VCPU, "req_event"),
  STATS_DESC_COUNTER(VCPU, "nested_run"),
  STATS_DESC_COUNTER(VCPU, "directed_yield_attempted"),
  STATS_DESC_COUNTER(VCPU, "directed_yield_successful"),
  STATS_DESC_COUNTER(VCPU, "preemption_reported"),
  STATS_DESC_COUNTER(VCPU, "preemption_other"),
  STATS_DESC_IBOOLEAN(VCPU, "guest_mode"),
  STATS_DESC_COUNTER(VCPU, "notify_window_exits"),
]);

/** A VM's or vCPU's statistics: the stat struct and the id string (`stats_id`). */
export interface kvm_stats_instance<S extends RecordType> {
  /** The stat struct (`kvm->stat` / `vcpu->stat`). */
  readonly stat: View<S["fields"]>;
  /** `stats_id`, NUL-padded to `KVM_STATS_NAME_SIZE` bytes. */
  readonly id: Uint8Array;
}

const vm_stats = new WeakMap<kvm, kvm_stats_instance<typeof kvm_vm_stat>>();
const vcpu_stats = new WeakMap<kvm_vcpu, kvm_stats_instance<typeof kvm_vcpu_stat>>();

/** `task_pid_nr(current)`: the simulated process is the Deno process. */
function task_pid_nr(): number {
  try {
    return Deno.pid;
  } catch {
    return 0;
  }
}

function stats_id(text: string): Uint8Array {
  const id = new Uint8Array(KVM_STATS_NAME_SIZE);
  // snprintf() truncates to the buffer, keeping the NUL.
  id.set(new TextEncoder().encode(text).subarray(0, KVM_STATS_NAME_SIZE - 1));
  return id;
}

/** `kvm->stat` and `kvm->stats_id` (`"kvm-<pid>"`, as `kvm_create_vm()` names it). */
export function kvm_vm_stats_of(k: kvm): kvm_stats_instance<typeof kvm_vm_stat> {
  let s = vm_stats.get(k);
  if (!s) {
    s = { stat: kvm_vm_stat.alloc(), id: stats_id(`kvm-${task_pid_nr()}`) };
    vm_stats.set(k, s);
  }
  return s;
}

/** `vcpu->stat` and `vcpu->stats_id` (`"kvm-<pid>/vcpu-<id>"`). */
export function kvm_vcpu_stats_of(vcpu: kvm_vcpu): kvm_stats_instance<typeof kvm_vcpu_stat> {
  let s = vcpu_stats.get(vcpu);
  if (!s) {
    s = {
      stat: kvm_vcpu_stat.alloc(),
      id: stats_id(`kvm-${task_pid_nr()}/vcpu-${vcpu.vcpu_id}`),
    };
    vcpu_stats.set(vcpu, s);
  }
  return s;
}

/** `vcpu->stat`, for the exit handlers that count into it. */
export function vcpu_stat(vcpu: kvm_vcpu): View<typeof kvm_vcpu_stat.fields> {
  return kvm_vcpu_stats_of(vcpu).stat;
}
