// SPDX-License-Identifier: GPL-2.0-only
/**
 * TPR, PPR and CR8 stay in step, and a TPR set by KVM_SET_LAPIC masks and
 * unmasks a self-IPI, in xAPIC and x2APIC mode: port of
 * `tools/testing/selftests/kvm/x86/xapic_tpr_test.c`.
 *
 * Differences from the C test: the `atomic_uint` the guest handler bumps is
 * a guest global read and written with plain loads and stores (one vCPU,
 * and the simulated CPU and the guest runtime both complete each store
 * before the next instruction); `alarm(2)` around `vcpu_run()` is left to
 * the harness's per-test timeout (and the simulator's run deadline).
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  guest_global,
  GUEST_SYNC,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  REPORT_GUEST_ASSERT,
  sync_global_to_guest,
  TEST_ASSERT_EQ,
  TEST_FAIL,
  UCALL_ABORT,
  UCALL_DONE,
  ucall_struct,
  UCALL_SYNC,
  vcpu_ioctl,
  vcpu_run,
  vcpu_sregs_get,
  virt_pg_map,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { KVM_GET_LAPIC, KVM_SET_LAPIC } from "../include/linux/kvm.ts";
import { kvm_lapic_state, kvm_sregs } from "../include/asm/kvm.ts";
import {
  APIC_DEFAULT_GPA,
  APIC_DEST_PHYSICAL,
  APIC_DEST_SELF,
  APIC_DM_FIXED,
  APIC_EOI,
  APIC_ICR,
  APIC_ICR2,
  APIC_PROCPRI,
  APIC_SELF_IPI,
  APIC_TASKPRI,
  GET_APIC_PRI,
  SET_APIC_PRI,
  x2apic_enable,
  x2apic_read_reg,
  x2apic_write_reg,
  xapic_enable,
  xapic_read_reg,
  xapic_write_reg,
} from "../include/x86/apic.ts";
import {
  cli,
  cpu_relax,
  type ex_regs_view,
  get_cr8,
  sti,
  udelay,
  vcpu_clear_cpuid_feature,
  vm_install_exception_handler,
  X86_FEATURE_X2APIC,
} from "../include/x86/processor.ts";
import { u32, u8 } from "../include/c/layout.ts";

const is_x2apic = guest_global("is_x2apic", u8);

const IRQ_VECTOR = 0x20;

const tpr_guest_irq_sync_val = guest_global("tpr_guest_irq_sync_val", u32);

function tpr_guest_irq_sync_flag_reset(): void {
  tpr_guest_irq_sync_val.value = 0;
}

function tpr_guest_irq_sync_val_get(): number {
  return tpr_guest_irq_sync_val.value;
}

function tpr_guest_irq_sync_val_inc(): void {
  tpr_guest_irq_sync_val.value = tpr_guest_irq_sync_val.value + 1;
}

/** Guest IRQ handler (xAPIC). */
export function tpr_guest_irq_handler_xapic(_regs: ex_regs_view): void {
  tpr_guest_irq_sync_val_inc();

  xapic_write_reg(APIC_EOI, 0);
}

/** Guest IRQ handler (x2APIC). */
export function tpr_guest_irq_handler_x2apic(_regs: ex_regs_view): void {
  tpr_guest_irq_sync_val_inc();

  x2apic_write_reg(APIC_EOI, 0);
}

function tpr_guest_irq_queue(): void {
  if (is_x2apic.value) {
    x2apic_write_reg(APIC_SELF_IPI, IRQ_VECTOR);
  } else {
    const icr = APIC_DEST_SELF | APIC_DEST_PHYSICAL | APIC_DM_FIXED | IRQ_VECTOR;
    const icr2 = 0;

    xapic_write_reg(APIC_ICR2, icr2);
    xapic_write_reg(APIC_ICR, icr);
  }
}

function tpr_guest_tpr_get(): number {
  let taskpri: number;

  if (is_x2apic.value) taskpri = Number(x2apic_read_reg(APIC_TASKPRI));
  else taskpri = xapic_read_reg(APIC_TASKPRI);

  return GET_APIC_PRI(taskpri);
}

function tpr_guest_ppr_get(): number {
  let procpri: number;

  if (is_x2apic.value) procpri = Number(x2apic_read_reg(APIC_PROCPRI));
  else procpri = xapic_read_reg(APIC_PROCPRI);

  return GET_APIC_PRI(procpri);
}

function tpr_guest_cr8_get(): number {
  return Number(get_cr8() & 0xfn);
}

function tpr_guest_check_tpr_ppr_cr8_equal(): void {
  const tpr = tpr_guest_tpr_get();

  GUEST_ASSERT_EQ(tpr_guest_ppr_get(), tpr);
  GUEST_ASSERT_EQ(tpr_guest_cr8_get(), tpr);
}

/** Guest entry point. */
export function tpr_guest_code(): void {
  cli();

  if (is_x2apic.value) x2apic_enable();
  else xapic_enable();

  GUEST_ASSERT_EQ(tpr_guest_tpr_get(), 0);
  tpr_guest_check_tpr_ppr_cr8_equal();

  tpr_guest_irq_queue();

  // Interrupts disabled: even with TPR 0 the vector stays pending.
  udelay(1000);
  GUEST_ASSERT_EQ(tpr_guest_irq_sync_val_get(), 0);

  sti();

  // Enabling interrupts lets the pending vector through.
  while (tpr_guest_irq_sync_val_get() === 0) cpu_relax();
  GUEST_ASSERT_EQ(tpr_guest_irq_sync_val_get(), 1);

  GUEST_SYNC(1n);
  tpr_guest_check_tpr_ppr_cr8_equal();

  tpr_guest_irq_queue();

  // TPR class equal to the vector's class blocks delivery.
  udelay(1000);
  GUEST_ASSERT_EQ(tpr_guest_irq_sync_val_get(), 1);

  GUEST_SYNC(0n);
  tpr_guest_check_tpr_ppr_cr8_equal();

  // One class lower and the vector is deliverable again.
  while (tpr_guest_irq_sync_val_get() === 1) cpu_relax();
  GUEST_ASSERT_EQ(tpr_guest_irq_sync_val_get(), 2);

  GUEST_DONE();
}

type lapic_state = ReturnType<typeof kvm_lapic_state.alloc>;

function taskpri_view(xapic: lapic_state): DataView {
  return new DataView(xapic.$bytes.buffer, xapic.$bytes.byteOffset + APIC_TASKPRI, 4);
}

function lapic_tpr_get(xapic: lapic_state): number {
  return GET_APIC_PRI(taskpri_view(xapic).getUint32(0, true));
}

function lapic_tpr_set(xapic: lapic_state, val: number): void {
  const taskpri = taskpri_view(xapic);

  taskpri.setUint32(0, SET_APIC_PRI(taskpri.getUint32(0, true), val), true);
}

function sregs_tpr(sregs: ReturnType<typeof kvm_sregs.alloc>): number {
  return Number(sregs.cr8 & 0xfn);
}

function test_tpr_check_tpr_zero(vcpu: kvm_vcpu): void {
  const xapic = kvm_lapic_state.alloc();

  vcpu_ioctl(vcpu, KVM_GET_LAPIC, xapic);

  TEST_ASSERT_EQ(lapic_tpr_get(xapic), 0);
}

function test_tpr_check_tpr_cr8_equal(vcpu: kvm_vcpu): void {
  const sregs = kvm_sregs.alloc();
  const xapic = kvm_lapic_state.alloc();

  vcpu_sregs_get(vcpu, sregs);
  vcpu_ioctl(vcpu, KVM_GET_LAPIC, xapic);

  TEST_ASSERT_EQ(sregs_tpr(sregs), lapic_tpr_get(xapic));
}

function test_tpr_set_tpr_for_irq(vcpu: kvm_vcpu, mask: boolean): void {
  const xapic = kvm_lapic_state.alloc();

  let tpr = IRQ_VECTOR / 16;
  if (!mask) tpr--;

  vcpu_ioctl(vcpu, KVM_GET_LAPIC, xapic);
  lapic_tpr_set(xapic, tpr);
  vcpu_ioctl(vcpu, KVM_SET_LAPIC, xapic);
}

function test_tpr(__is_x2apic: boolean): void {
  const vcpu = ref<kvm_vcpu>();
  let done = false;

  is_x2apic.value = __is_x2apic ? 1 : 0;

  const vm = vm_create_with_one_vcpu(vcpu, tpr_guest_code);
  if (is_x2apic.value) {
    vm_install_exception_handler(vm, IRQ_VECTOR, tpr_guest_irq_handler_x2apic);
  } else {
    vm_install_exception_handler(vm, IRQ_VECTOR, tpr_guest_irq_handler_xapic);
    vcpu_clear_cpuid_feature(vcpu.value, X86_FEATURE_X2APIC);
    virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
  }

  sync_global_to_guest(vm, is_x2apic);

  // Both vendors' manuals define TPR as zero out of reset.
  test_tpr_check_tpr_zero(vcpu.value);
  test_tpr_check_tpr_cr8_equal(vcpu.value);

  tpr_guest_irq_sync_flag_reset();
  sync_global_to_guest(vm, tpr_guest_irq_sync_val);

  while (!done) {
    const uc = ucall_struct.alloc();

    vcpu_run(vcpu.value);

    switch (get_ucall(vcpu.value, uc)) {
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        break;
      case UCALL_DONE:
        test_tpr_check_tpr_cr8_equal(vcpu.value);
        done = true;
        break;
      case UCALL_SYNC:
        test_tpr_check_tpr_cr8_equal(vcpu.value);
        test_tpr_set_tpr_for_irq(vcpu.value, uc.args.at(1) !== 0n);
        break;
      default:
        TEST_FAIL(`Unknown ucall result 0x${uc.cmd.toString(16)}`);
        break;
    }
  }
  kvm_vm_free(vm);
}

function main(): number {
  // One VM per mode: CPUID is frozen after the first KVM_RUN, and merely
  // exposing x2APIC to any vCPU turns AVIC off, so the xAPIC run needs a VM
  // where x2APIC was never advertised.
  test_tpr(false);
  test_tpr(true);
  return 0;
}

await ksft_main(import.meta, main);
