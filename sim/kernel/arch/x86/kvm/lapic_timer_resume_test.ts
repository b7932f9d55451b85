// SPDX-License-Identifier: GPL-2.0-only
/**
 * APIC timer accesses that the kernel emulates at an exit finish when the
 * guest resumes (vmx.ts's `apic_sync_*`, the VMCS's `apic_sync`): a host
 * thread held up between the exit and the next entry (`stall:exit`, as a
 * preempted thread or a garbage-collection pause holds it) neither starts
 * the timer early nor returns a stale TMCCT. A start by `KVM_SET_LAPIC`
 * keeps the kernel's time, as in KVM. Each stall is 100 ms; what the guest
 * must not see of it is checked against 50 ms.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import {
  GUEST_DONE,
  GUEST_SYNC,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  ucall_struct,
  vcpu_ioctl,
  virt_pg_map,
  vm_check_cap,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import {
  KVM_CAP_X86_APIC_BUS_CYCLES_NS,
  KVM_GET_LAPIC,
  KVM_SET_LAPIC,
} from "../../../../../include/linux/kvm.ts";
import { kvm_lapic_state } from "../../../../../include/asm/kvm.ts";
import {
  APIC_LVT_MASKED,
  APIC_LVT_TIMER_PERIODIC,
  APIC_LVTT,
  APIC_TDCR,
  APIC_TMCCT,
  APIC_TMICT,
} from "../../../../../include/asm/apicdef.ts";
import {
  APIC_DEFAULT_GPA,
  x2apic_enable,
  x2apic_read_reg,
  x2apic_write_reg,
  xapic_read_reg,
  xapic_write_reg,
} from "../../../../../include/x86/apic.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";
import { vcpu_args_set } from "../../../../../include/x86/processor.ts";
import { fault_inject } from "../../../../fault_inject.ts";
import { run_to_sync } from "../../../../kernel/testdata/util.ts";

// Without the resume rule each check below sees the whole stall. The limit
// leaves half of it for what the rule does not cover: the vCPU worker losing
// its core between the resume and its next exit, which on a loaded 2-core
// host (CI runs three test files at once) has taken over 20 ms.
const STALL_MS = 100;
const LIMIT_MS = 50;
/** TDCR value for divide by 1: one count per APIC bus cycle. */
const TDCR_DIV_1 = 0xb;
const TMICT = 0xffffffff;

function apic_write(x2: bigint, reg: number, v: number): void {
  if (x2) x2apic_write_reg(reg, v);
  else xapic_write_reg(reg, v);
}

function apic_read(x2: bigint, reg: number): bigint {
  return x2 ? x2apic_read_reg(reg) : BigInt(xapic_read_reg(reg));
}

/** Guest: start the timer after stage 1, read TMCCT after stage 2. */
export function guest_timer_resume(x2: bigint): void {
  if (x2) x2apic_enable();
  apic_write(x2, APIC_TDCR, TDCR_DIV_1);
  GUEST_SYNC(1);
  apic_write(x2, APIC_TMICT, TMICT);
  GUEST_SYNC(2);
  GUEST_SYNC(apic_read(x2, APIC_TMCCT));
  GUEST_DONE();
}

/** Guest: a periodic timer of `tmict` counts, then TMCCT after stage 1. */
export function guest_periodic_read(x2: bigint, tmict: bigint): void {
  if (x2) x2apic_enable();
  apic_write(x2, APIC_TDCR, TDCR_DIV_1);
  apic_write(x2, APIC_LVTT, APIC_LVT_TIMER_PERIODIC | APIC_LVT_MASKED);
  apic_write(x2, APIC_TMICT, Number(tmict));
  GUEST_SYNC(1);
  GUEST_SYNC(apic_read(x2, APIC_TMCCT));
  GUEST_DONE();
}

/** Guest: read TMCCT at once (the host started the timer). */
export function guest_tmcct_now(): void {
  GUEST_SYNC(BigInt(xapic_read_reg(APIC_TMCCT)));
  GUEST_DONE();
}

/** Runs to the next GUEST_SYNC with every entry of that KVM_RUN held up by {@linkcode STALL_MS}. */
function sync_arg_stalled(vcpu: kvm_vcpu, uc: ReturnType<typeof ucall_struct.alloc>): bigint {
  fault_inject(`stall:exit=${STALL_MS}*inf`);
  try {
    return run_to_sync(vcpu, uc);
  } finally {
    fault_inject("");
  }
}

function tmcct_of(vcpu: kvm_vcpu): number {
  const s = kvm_lapic_state.alloc();
  vcpu_ioctl(vcpu, KVM_GET_LAPIC, s);
  return new DataView(s.$bytes.buffer, s.$bytes.byteOffset).getUint32(APIC_TMCCT, true);
}

for (const x2 of [0n, 1n]) {
  const mode = x2 ? "x2APIC (WRMSR/RDMSR)" : "xAPIC (MMIO)";
  Deno.test({
    name: `${mode}: a stall after a TMICT write or a TMCCT read is not in the guest's count`,
    ignore: in_guest_worker(),
    fn() {
      const vcpu = ref<kvm_vcpu>();
      const uc = ucall_struct.alloc();
      const vm = vm_create_with_one_vcpu(vcpu, guest_timer_resume);
      try {
        virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
        const ns_per_count = vm_check_cap(vm, KVM_CAP_X86_APIC_BUS_CYCLES_NS);
        const ms = (counts: number) => counts * ns_per_count / 1e6;
        vcpu_args_set(vcpu.value, 1, x2);
        assertEquals(run_to_sync(vcpu.value, uc), 1n);
        // The TMICT write's exit is held up before the guest resumes: the
        // timer counts from the resume, so barely anything has elapsed at
        // the next exit (without the resume rule: the whole stall).
        assertEquals(sync_arg_stalled(vcpu.value, uc), 2n);
        const elapsed = ms(TMICT - tmcct_of(vcpu.value));
        assert(elapsed < LIMIT_MS, `the timer counted ${elapsed.toFixed(1)} ms of a stall`);
        // The TMCCT read's exit is held up: the guest gets the count of the
        // instant it resumed, barely above the count at the next exit.
        const read = Number(sync_arg_stalled(vcpu.value, uc));
        const stale = ms(read - tmcct_of(vcpu.value));
        assert(stale < LIMIT_MS, `TMCCT was ${stale.toFixed(1)} ms stale when the guest got it`);
        assert(stale >= 0, `TMCCT ${read} below the later count`);
      } finally {
        kvm_vm_free(vm);
      }
    },
  });
}

for (const x2 of [0n, 1n]) {
  const mode = x2 ? "x2APIC" : "xAPIC";
  Deno.test({
    name: `${mode}: a periodic timer whose period ends during a stalled TMCCT read counts on`,
    ignore: in_guest_worker(),
    fn() {
      const vcpu = ref<kvm_vcpu>();
      const uc = ucall_struct.alloc();
      const vm = vm_create_with_one_vcpu(vcpu, guest_periodic_read);
      try {
        virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
        // A period of 10 ms, several of which end during the read's stall.
        const tmict = 10e6 / vm_check_cap(vm, KVM_CAP_X86_APIC_BUS_CYCLES_NS);
        vcpu_args_set(vcpu.value, 2, x2, BigInt(tmict));
        assertEquals(run_to_sync(vcpu.value, uc), 1n);
        const read = sync_arg_stalled(vcpu.value, uc);
        assert(read > 0n && read <= BigInt(tmict), `TMCCT ${read} of a ${tmict}-count period`);
      } finally {
        kvm_vm_free(vm);
      }
    },
  });
}

Deno.test({
  name: "a timer KVM_SET_LAPIC starts counts from the ioctl, not from the next entry",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_tmcct_now);
    try {
      virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
      const ns_per_count = vm_check_cap(vm, KVM_CAP_X86_APIC_BUS_CYCLES_NS);
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      const dv = new DataView(s.$bytes.buffer, s.$bytes.byteOffset);
      dv.setUint32(APIC_TDCR, TDCR_DIV_1, true);
      dv.setUint32(APIC_TMICT, TMICT, true);
      // kvm_apic_set_state() restarts the timer from the saved current count.
      dv.setUint32(APIC_TMCCT, TMICT, true);
      const t0 = performance.now();
      vcpu_ioctl(vcpu.value, KVM_SET_LAPIC, s);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, STALL_MS);
      const read = Number(run_to_sync(vcpu.value, uc));
      const elapsed = (TMICT - read) * ns_per_count / 1e6;
      const total = performance.now() - t0;
      assert(
        elapsed >= STALL_MS - 1,
        `the timer counted ${elapsed.toFixed(1)} ms of a ${STALL_MS} ms sleep`,
      );
      assert(elapsed <= total + 1, `the timer counted ${elapsed.toFixed(1)} ms in ${total} ms`);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
