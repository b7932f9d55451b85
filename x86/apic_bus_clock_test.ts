// SPDX-License-Identifier: GPL-2.0-only
/**
 * Verify KVM correctly emulates the APIC bus frequency when the VMM
 * configures it with KVM_CAP_X86_APIC_BUS_CYCLES_NS: port of
 * `tools/testing/selftests/kvm/x86/apic_bus_clock_test.c`.
 *
 * Copyright (c) 2024 Intel Corporation
 *
 * The guest starts the APIC timer with the largest initial count (so that it
 * does not expire during the test), waits, and checks that the current count
 * moved within 1% of what the elapsed time, the bus frequency and the
 * divide configuration predict. A line-for-line port, with upstream's
 * defaults on every backend. The TMICT write and the TMCCT read are exits;
 * on hardware they last microseconds, and the simulator finishes both at the
 * guest's resume (`docs/fidelity.md`), so a simulated exit that the host's
 * garbage collector or scheduler stretches is not counted against the 1% of
 * a 100 ms window. The test still runs alone in the runners: a vCPU worker
 * descheduled between its resume and its next RDTSC is not covered.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import { KSFT_SKIP } from "../include/kselftest.ts";
import {
  __vm_enable_cap,
  get_ucall,
  GUEST_ASSERT,
  GUEST_DONE,
  guest_global,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  NSEC_PER_SEC,
  REPORT_GUEST_ASSERT,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_KVM_EXIT_REASON,
  TEST_FAIL,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  vcpu_run,
  virt_pg_map,
  vm_create,
  vm_enable_cap,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import { KVM_CAP_X86_APIC_BUS_CYCLES_NS, KVM_EXIT_IO } from "../include/linux/kvm.ts";
import {
  APIC_DEFAULT_GPA,
  APIC_LVT_MASKED,
  APIC_LVT_TIMER_ONESHOT,
  APIC_LVTT,
  APIC_TDCR,
  APIC_TMCCT,
  APIC_TMICT,
  x2apic_enable,
  x2apic_read_reg,
  x2apic_write_reg,
  xapic_enable,
  xapic_read_reg,
  xapic_write_reg,
} from "../include/x86/apic.ts";
import { guest_tsc_khz, rdtsc, udelay, vcpu_args_set } from "../include/x86/processor.ts";
import { atoi_positive } from "../include/test_util.ts";
import { kvm_has_cap } from "../include/kvm_util.ts";
import { errno_get } from "../include/libc/errno.ts";
import { EINVAL } from "../include/linux/errno.ts";
import { exit } from "../include/libc/exit.ts";
import { u8 } from "../include/c/layout.ts";

// Every TDCR encoding and the divider it selects: each is measured once.
const tdcrs: readonly { tdcr: number; divide_count: bigint }[] = [
  { tdcr: 0x0, divide_count: 2n },
  { tdcr: 0x1, divide_count: 4n },
  { tdcr: 0x2, divide_count: 8n },
  { tdcr: 0x3, divide_count: 16n },
  { tdcr: 0x8, divide_count: 32n },
  { tdcr: 0x9, divide_count: 64n },
  { tdcr: 0xa, divide_count: 128n },
  { tdcr: 0xb, divide_count: 1n },
];

const is_x2apic = guest_global("is_x2apic", u8);

function apic_enable(): void {
  if (is_x2apic.value) x2apic_enable();
  else xapic_enable();
}

function apic_read_reg(reg: number): number {
  return is_x2apic.value ? Number(x2apic_read_reg(reg)) : xapic_read_reg(reg);
}

function apic_write_reg(reg: number, val: number): void {
  if (is_x2apic.value) x2apic_write_reg(reg, val);
  else xapic_write_reg(reg, val);
}

/** Guest: measures the APIC timer's frequency at every divide configuration. */
export function apic_guest_code(apic_hz: bigint, delay_ms: bigint): void {
  const tsc_hz = guest_tsc_khz.value * 1000n;
  const tmict = 0xffffffff;

  apic_enable();

  // One-shot and masked: the timer must never interrupt, so its vector is irrelevant.
  apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | APIC_LVT_MASKED);

  for (let i = 0; i < tdcrs.length; i++) {
    apic_write_reg(APIC_TDCR, tdcrs[i]!.tdcr);
    apic_write_reg(APIC_TMICT, tmict);

    const tsc0 = rdtsc();
    udelay(delay_ms * 1000n);
    const tmcct = apic_read_reg(APIC_TMCCT);
    const tsc1 = rdtsc();

    // Only now stop the timer: a TMICT write reloads the current count too.
    apic_write_reg(APIC_TMICT, 0);

    const freq = BigInt(tmict - tmcct) * tdcrs[i]!.divide_count * tsc_hz / (tsc1 - tsc0);
    // The measured bus frequency must be within 1% of the configured one.
    GUEST_ASSERT(freq < apic_hz * 101n / 100n);
    GUEST_ASSERT(freq > apic_hz * 99n / 100n);
  }

  GUEST_DONE();
}

function test_apic_bus_clock(vcpu: kvm_vcpu): void {
  let done = false;
  const uc = new_ucall();

  while (!done) {
    vcpu_run(vcpu);

    TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

    switch (get_ucall(vcpu, uc)) {
      case UCALL_DONE:
        done = true;
        break;
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        break;
      default:
        TEST_FAIL("Unknown ucall %lu", uc.cmd);
    }
  }
}

function run_apic_bus_clock_test(apic_hz: bigint, delay_ms: bigint, x2apic: boolean): void {
  is_x2apic.value = x2apic ? 1 : 0;

  const vm = vm_create(1);

  sync_global_to_guest(vm, is_x2apic);

  vm_enable_cap(vm, KVM_CAP_X86_APIC_BUS_CYCLES_NS, BigInt(NSEC_PER_SEC) / apic_hz);

  const vcpu = vm_vcpu_add(vm, 0, apic_guest_code);
  vcpu_args_set(vcpu, 2, apic_hz, delay_ms);

  const ret = __vm_enable_cap(vm, KVM_CAP_X86_APIC_BUS_CYCLES_NS, BigInt(NSEC_PER_SEC) / apic_hz);
  TEST_ASSERT(
    ret < 0 && errno_get() === EINVAL,
    "Setting of APIC bus frequency after vCPU is created should fail.",
  );

  if (!is_x2apic.value) virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);

  test_apic_bus_clock(vcpu);
  kvm_vm_free(vm);
}

function help(name: string): void {
  console.log("");
  console.log(`usage: ${name} [-h] [-d delay] [-f APIC bus freq]`);
  console.log("");
  console.log("-d: Delay (in msec) guest uses to measure APIC bus frequency.");
  console.log("-f: The APIC bus frequency (in MHz) to be configured for the guest.");
  console.log("");
}

function main(argc: number, argv: string[]): number {
  // 25 MHz: far enough from KVM's default bus clock (1 GHz) that a timer
  // still running at the default would be caught.
  let apic_hz = 25n * 1000n * 1000n;
  let delay_ms = 100n;

  TEST_REQUIRE(kvm_has_cap(KVM_CAP_X86_APIC_BUS_CYCLES_NS));
  TEST_REQUIRE_GUEST_CODE();

  // getopt(argc, argv, "d:f:h")
  for (let i = 1; i < argc; i++) {
    const a = argv[i]!;
    const opt = a.length >= 2 && a[0] === "-" ? a[1]! : "?";
    const optarg = () => a.length > 2 ? a.slice(2) : argv[++i] ?? "";
    switch (opt) {
      case "f":
        apic_hz = BigInt(atoi_positive("APIC bus frequency", optarg())) * 1000n * 1000n;
        break;
      case "d":
        delay_ms = BigInt(atoi_positive("Delay in milliseconds", optarg()));
        break;
      case "h":
      default:
        help(argv[0]!);
        exit(KSFT_SKIP);
    }
  }

  run_apic_bus_clock_test(apic_hz, delay_ms, false);
  run_apic_bus_clock_test(apic_hz, delay_ms, true);
  return 0;
}

await ksft_main(import.meta, main);
