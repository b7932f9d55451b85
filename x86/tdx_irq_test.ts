// SPDX-License-Identifier: GPL-2.0-only
/**
 * A TD halted in TDG.VP.VMCALL<Instruction.HLT> is woken by an interrupt:
 * an MSI the host signals (KVM_SIGNAL_MSI), an IPI another vCPU of the TD
 * sends through TDG.VP.VMCALL<WRMSR>(x2APIC ICR), and the local APIC
 * timer KVM emulates for the TD. In each case KVM posts the vector
 * (posted-interrupt descriptor), the TDX module hands it to the TD's
 * virtual APIC at the next TD entry, and the guest takes it through its
 * IDT and retires it with an EOI the CPU virtualizes.
 *
 * Not a port: upstream's TDX selftests (v8 and v13 of the series, and the
 * googleprodkernel/linux-cc trees) test TDVMCALL<HLT> only with a SIGALRM
 * that ends the halt (`verify_guest_hlt`, ported in `tdx_vm_test.ts`);
 * nothing there wakes a halted TD with an interrupt. The tests follow
 * `tdx_vm_test`'s style: the guest reports through `tdx_test_*()`, the
 * host checks with `tdx_run()` and `TEST_ASSERT`.
 *
 * @module
 */

import { ksft_main, TEST, test_harness_run } from "../include/kselftest_harness.ts";
import {
  kvm_mp_state,
  KVM_MP_STATE_HALTED,
  kvm_msi,
  KVM_SIGNAL_MSI,
} from "../include/linux/kvm.ts";
import {
  __vcpu_run_async,
  __vm_create,
  __vm_ioctl,
  guest_global,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_REQUIRE,
  vcpu_mp_state_get,
  vcpu_run_async,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import { u64 } from "../include/c/layout.ts";
import {
  APIC_BASE_MSR,
  APIC_EOI,
  APIC_ICR,
  APIC_LVTT,
  APIC_TDCR,
  APIC_TMICT,
  x2apic_write_reg,
} from "../include/x86/apic.ts";
import {
  cli,
  cpu_relax,
  type ex_regs_view,
  kvm_arch_vm_finalize_vcpus,
  sti,
  vm_install_exception_handler,
  VM_SHAPE_TDX,
} from "../include/x86/processor.ts";
import { is_tdx_supported } from "../include/x86/tdx/tdx_util.ts";
import {
  tdx_assert_error,
  tdx_guest_x2apic_enable,
  tdx_run,
  tdx_test_assert_success,
  tdx_test_fatal,
  tdx_test_read_report_from_guest,
  tdx_test_report_to_user_space,
  tdx_test_success,
} from "../include/x86/tdx/test_util.ts";
import {
  tdg_vp_vmcall_instruction_hlt,
  tdg_vp_vmcall_instruction_wrmsr,
} from "../lib/x86/tdx/tdx.ts";

const IRQ_VECTOR = 0x60;

const irqs_rcvd = guest_global("irqs_rcvd", u64);
const last_vector = guest_global("last_vector", u64);
const halter_ready = guest_global("halter_ready", u64);

/** Guest interrupt handler: counts and EOIs (the EOI needs no #VE in a TD). */
export function guest_irq_handler(regs: ex_regs_view): void {
  irqs_rcvd.value = irqs_rcvd.value + 1n;
  last_vector.value = regs.vector;
  x2apic_write_reg(APIC_EOI, 0);
}

/** Writes an x2APIC register KVM emulates (a #VE otherwise): TDG.VP.VMCALL<WRMSR>. */
function td_x2apic_write(reg: number, value: bigint): void {
  tdx_assert_error(tdg_vp_vmcall_instruction_wrmsr(APIC_BASE_MSR + (reg >> 4), value));
}

/** `sti; TDG.VP.VMCALL<HLT>` until an interrupt came; returns how many HLTs it took. */
function td_halt_until_irq(): number {
  let hlts = 0;
  cli();
  while (irqs_rcvd.value < 1n) {
    sti();
    const ret = tdg_vp_vmcall_instruction_hlt(0);
    cli();
    if (ret) tdx_test_fatal(ret);
    hlts++;
  }
  return hlts;
}

function td_create(nr_vcpus: number, guests: (() => void)[]): { vm: kvm_vm; vcpus: kvm_vcpu[] } {
  const vm = __vm_create(VM_SHAPE_TDX, nr_vcpus, 0);
  const vcpus = guests.map((g, i) => vm_vcpu_add(vm, i, g));
  vm_install_exception_handler(vm, IRQ_VECTOR, guest_irq_handler);
  kvm_arch_vm_finalize_vcpus(vm);
  return { vm, vcpus };
}

function vcpu_halted(vcpu: kvm_vcpu): boolean {
  const mp_state = kvm_mp_state.alloc();
  vcpu_mp_state_get(vcpu, mp_state);
  return mp_state.mp_state === KVM_MP_STATE_HALTED;
}

/** Guest (one vCPU): halts until the host's MSI arrives. */
export function guest_msi_wakes_hlt(): void {
  tdx_guest_x2apic_enable();
  const hlts = td_halt_until_irq();
  tdx_test_report_to_user_space(hlts);
  tdx_test_report_to_user_space(Number(last_vector.value));
  tdx_test_success();
}

TEST("verify_td_hlt_woken_by_msi", async () => {
  const { vm, vcpus } = td_create(1, [guest_msi_wakes_hlt]);
  const vcpu = vcpus[0]!;

  const run = __vcpu_run_async(vcpu);
  let returned = false;
  run.then(() => returned = true);

  // Wait for the vCPU to halt: KVM_RUN must sleep, not return.
  const give_up = performance.now() + 20_000;
  while (!vcpu_halted(vcpu)) {
    TEST_ASSERT(performance.now() < give_up, "The TD vCPU never halted");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  TEST_ASSERT(!returned, "KVM_RUN returned while the TD vCPU was halted");

  const msi = kvm_msi.alloc();
  msi.address_lo = 0xfee00000; // x2APIC ID 0, physical destination
  msi.data = IRQ_VECTOR; // fixed, edge
  TEST_ASSERT_EQ(__vm_ioctl(vm, KVM_SIGNAL_MSI, msi), 1);

  TEST_ASSERT_EQ(await run, 0);
  TEST_ASSERT_EQ(tdx_test_read_report_from_guest(vcpu), 1);
  tdx_run(vcpu);
  TEST_ASSERT_EQ(tdx_test_read_report_from_guest(vcpu), IRQ_VECTOR);
  tdx_run(vcpu);
  tdx_test_assert_success(vcpu);

  kvm_vm_free(vm);
});

/** Guest (vCPU 0): once vCPU 1 is about to halt, sends it a fixed IPI. */
export function guest_ipi_sender(): void {
  while (!halter_ready.value) cpu_relax();
  // ICR: destination x2APIC ID 1 in bits 63:32, fixed, physical.
  td_x2apic_write(APIC_ICR, (1n << 32n) | BigInt(IRQ_VECTOR));
  while (irqs_rcvd.value < 1n) cpu_relax();
  tdx_test_success();
}

/** Guest (vCPU 1): halts until the IPI arrives. */
export function guest_ipi_halter(): void {
  tdx_guest_x2apic_enable();
  halter_ready.value = 1n;
  td_halt_until_irq();
  if (last_vector.value !== BigInt(IRQ_VECTOR)) tdx_test_fatal(last_vector.value);
  tdx_test_success();
}

TEST("verify_td_hlt_woken_by_ipi", async () => {
  const { vm, vcpus } = td_create(2, [guest_ipi_sender, guest_ipi_halter]);

  await Promise.all([vcpu_run_async(vcpus[0]!), vcpu_run_async(vcpus[1]!)]);
  for (const vcpu of vcpus) tdx_test_assert_success(vcpu);

  kvm_vm_free(vm);
});

/** Guest: a one-shot LAPIC timer (KVM's, programmed by TDVMCALL), then HLT. */
export function guest_timer_wakes_hlt(): void {
  tdx_guest_x2apic_enable();
  td_x2apic_write(APIC_TDCR, 0xbn); // divide by 1
  td_x2apic_write(APIC_LVTT, BigInt(IRQ_VECTOR)); // one-shot, unmasked
  td_x2apic_write(APIC_TMICT, 2_000_000n); // 2 ms at 1 ns per APIC bus cycle
  td_halt_until_irq();
  tdx_test_report_to_user_space(Number(last_vector.value));
  tdx_test_success();
}

TEST("verify_td_hlt_woken_by_timer", () => {
  const { vm, vcpus } = td_create(1, [guest_timer_wakes_hlt]);
  const vcpu = vcpus[0]!;

  tdx_run(vcpu);
  TEST_ASSERT_EQ(tdx_test_read_report_from_guest(vcpu), IRQ_VECTOR);
  tdx_run(vcpu);
  tdx_test_assert_success(vcpu);

  kvm_vm_free(vm);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(is_tdx_supported());

  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
