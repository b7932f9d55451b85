// SPDX-License-Identifier: GPL-2.0-only
// Interrupt delivery on the simulator: an IPI round trip between two vCPUs
// (ping by x2APIC ICR, the halted target's handler pings back), and a LAPIC
// timer interrupt waking a halted vCPU.
// The simulator's own figures: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import {
  guest_global,
  GUEST_SYNC,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  vcpu_run,
  vcpu_run_async,
  vm_create_with_one_vcpu,
  vm_create_with_vcpus,
} from "../../../../../include/kvm_util.ts";
import {
  APIC_EOI,
  APIC_ICR,
  APIC_LVTT,
  APIC_TDCR,
  APIC_TMICT,
  x2apic_enable,
  x2apic_write_reg,
} from "../../../../../include/x86/apic.ts";
import {
  cli,
  cpu_relax,
  type ex_regs_view,
  safe_halt,
  sti,
  vcpu_arch_set_entry_point,
  vm_install_exception_handler,
} from "../../../../../include/x86/processor.ts";
import { u64 } from "../../../../../include/c/layout.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

/** Round trips per KVM_RUN of the pinger. */
const BATCH = 100;

const pongs = guest_global("pongs", u64);
const ticks = guest_global("ticks", u64);

/** vCPU 1's handler: answer the ping. */
export function bench_ping_handler(_regs: ex_regs_view): void {
  x2apic_write_reg(APIC_EOI, 0);
  x2apic_write_reg(APIC_ICR, 0x61n); // to APIC ID 0
}

/** vCPU 0's handler: count the pong. */
export function bench_pong_handler(_regs: ex_regs_view): void {
  pongs.value = pongs.value + 1n;
  x2apic_write_reg(APIC_EOI, 0);
}

/** vCPU 1: halt forever, taking pings. */
export function bench_ponger(): void {
  cli();
  x2apic_enable();
  for (;;) {
    safe_halt();
    cli();
  }
}

/** vCPU 0: BATCH ping-pongs per KVM_RUN. */
export function bench_pinger(): void {
  cli();
  x2apic_enable();
  sti();
  for (;;) {
    const start = pongs.value;
    for (let i = 1n; i <= BigInt(BATCH); i++) {
      x2apic_write_reg(APIC_ICR, (1n << 32n) | 0x60n);
      while (pongs.value < start + i) cpu_relax();
    }
    GUEST_SYNC(0n);
  }
}

/** The timer vCPU's handler. */
export function bench_timer_handler(_regs: ex_regs_view): void {
  ticks.value = ticks.value + 1n;
  x2apic_write_reg(APIC_EOI, 0);
}

/** One-shot timer of 10 µs, HLT until it fires, once per KVM_RUN. */
export function bench_timer(): void {
  cli();
  x2apic_enable();
  x2apic_write_reg(APIC_TDCR, 0xb); // divide by 1: 1 ns per count
  x2apic_write_reg(APIC_LVTT, 0x62);
  for (;;) {
    const start = ticks.value;
    x2apic_write_reg(APIC_TMICT, 10_000);
    while (ticks.value === start) {
      safe_halt();
      cli();
    }
    GUEST_SYNC(0n);
  }
}

// The module is also the guest image: vCPU workers import it and must not run this.
if (!in_guest_worker()) {
  const vcpus: kvm_vcpu[] = [];
  const ipi_vm = vm_create_with_vcpus(2, bench_pinger, vcpus);
  vm_install_exception_handler(ipi_vm, 0x60, bench_ping_handler);
  vm_install_exception_handler(ipi_vm, 0x61, bench_pong_handler);
  vcpu_arch_set_entry_point(vcpus[1]!, bench_ponger);
  // The ponger never exits to userspace: its KVM_RUN stays in flight.
  const ponger = vcpu_run_async(vcpus[1]!).catch(() => {});
  await vcpu_run_async(vcpus[0]!);

  Deno.bench(`IPI round trip x ${BATCH} between two vCPUs (one KVM_RUN of the pinger)`, {
    group: "ipi",
  }, async () => {
    await vcpu_run_async(vcpus[0]!);
  });

  const tv = ref<kvm_vcpu>();
  const timer_vm = vm_create_with_one_vcpu(tv, bench_timer);
  vm_install_exception_handler(timer_vm, 0x62, bench_timer_handler);
  vcpu_run(tv.value);

  Deno.bench("LAPIC one-shot timer of 10 us: arm, HLT, interrupt, KVM_RUN returns", {
    group: "timer",
  }, () => {
    vcpu_run(tv.value);
  });

  globalThis.addEventListener("unload", () => {
    kvm_vm_free(timer_vm);
    kvm_vm_free(ipi_vm);
    void ponger;
  });
}
