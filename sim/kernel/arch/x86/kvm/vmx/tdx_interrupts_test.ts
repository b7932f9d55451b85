// SPDX-License-Identifier: GPL-2.0-only
/**
 * Interrupts into a TD against tdx.c / posted_intr.c (kvm-x86/linux at
 * 09c6f74e): a posted interrupt wakes TDVMCALL<HLT> and KVM_RUN sleeps
 * meanwhile; the interrupt-blocked flag decides whether a posted interrupt
 * is an event for KVM; MapGPA stops with RETRY between chunks when an
 * interrupt is posted; SetupEventNotifyInterrupt's vector is the VMM's to
 * raise (KVM only passes the request on); and the host ioctls that would
 * reach the TD's APIC or events are refused with KVM's errnos; INIT and
 * SIPI never reach a TD vCPU.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import {
  __vcpu_ioctl,
  __vcpu_run,
  __vcpu_run_async,
  __vm_create,
  __vm_ioctl,
  guest_global,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  ref,
  vcpu_mp_state_get,
  vcpu_mp_state_set,
  vm_enable_cap,
  vm_vcpu_add,
} from "../../../../../../include/kvm_util.ts";
import {
  KVM_CAP_EXIT_HYPERCALL,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_INTR,
  KVM_EXIT_TDX,
  KVM_GET_LAPIC,
  KVM_GET_VCPU_EVENTS,
  kvm_mp_state,
  KVM_MP_STATE_HALTED,
  KVM_MP_STATE_RUNNABLE,
  kvm_msi,
  KVM_SET_LAPIC,
  KVM_SET_VCPU_EVENTS,
  KVM_SIGNAL_MSI,
} from "../../../../../../include/linux/kvm.ts";
import { kvm_lapic_state, kvm_vcpu_events } from "../../../../../../include/asm/kvm.ts";
import {
  APIC_EOI,
  APIC_ISR,
  APIC_TASKPRI,
  x2apic_read_reg,
  x2apic_write_reg,
} from "../../../../../../include/x86/apic.ts";
import {
  cli,
  cpu_relax,
  type ex_regs_view,
  get_cr8,
  kvm_arch_vm_finalize_vcpus,
  NMI_VECTOR,
  set_cr8,
  sti,
  vm_install_exception_handler,
  VM_SHAPE_TDX,
} from "../../../../../../include/x86/processor.ts";
import { u64 } from "../../../../../../include/c/layout.ts";
import { KVM_HC_MAP_GPA_RANGE } from "../../../../../../include/linux/kvm_para.ts";
import {
  TDG_VP_VMCALL_GET_QUOTE,
  TDG_VP_VMCALL_RETRY,
  TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT,
  TDG_VP_VMCALL_SUCCESS,
} from "../../../../../../include/x86/tdx/tdx.ts";
import { tdx_s_bit } from "../../../../../../include/x86/tdx/tdx_util.ts";
import {
  tdx_guest_x2apic_enable,
  tdx_run,
  tdx_test_assert_success,
  tdx_test_fatal,
  tdx_test_read_64bit_report_from_guest,
  tdx_test_read_report_from_guest,
  tdx_test_report_64bit_to_user_space,
  tdx_test_report_to_user_space,
  tdx_test_success,
} from "../../../../../../include/x86/tdx/test_util.ts";
import {
  tdg_vp_vmcall_get_quote,
  tdg_vp_vmcall_instruction_hlt,
  tdg_vp_vmcall_map_gpa,
  tdg_vp_vmcall_setup_event_notify_interrupt,
} from "../../../../../../lib/x86/tdx/tdx.ts";
import { errno_get } from "../../../../../../include/libc/errno.ts";
import { EFAULT, EINTR, EINVAL } from "../../../../../../include/linux/errno.ts";
import { in_guest_worker } from "../../../../../../include/libc/process.ts";

const VEC = 0x70;
const NOTIFY_VEC = 0x90;
const SZ_2M = 2n << 20n;
/** A GPA range no memslot backs: MapGPA goes to userspace whatever it names. */
const MAP_GPA = 0x40000000n;
const QUOTE_GPA = 0x80000000n;

const irqs_rcvd = guest_global("irqs_rcvd", u64);
const last_vector = guest_global("last_vector", u64);
const isr_word = guest_global("isr_word", u64);
const hlts = guest_global("hlts", u64);

/** Guest handler: counts, records the vector and the ISR bit, EOIs (virtualized, no #VE). */
export function guest_irq_handler(regs: ex_regs_view): void {
  irqs_rcvd.value = irqs_rcvd.value + 1n;
  last_vector.value = regs.vector;
  isr_word.value = x2apic_read_reg(APIC_ISR + 0x10 * Number(regs.vector >> 5n));
  x2apic_write_reg(APIC_EOI, 0);
}

/** A TD with one vCPU running `guest`, the interrupt handler installed before finalization. */
function td_create(guest: () => void): { vm: kvm_vm; vcpu: kvm_vcpu } {
  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu = vm_vcpu_add(vm, 0, guest);
  vm_install_exception_handler(vm, VEC, guest_irq_handler);
  vm_install_exception_handler(vm, NOTIFY_VEC, guest_irq_handler);
  vm_install_exception_handler(vm, NMI_VECTOR, guest_irq_handler);
  vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 1n << BigInt(KVM_HC_MAP_GPA_RANGE));
  kvm_arch_vm_finalize_vcpus(vm);
  return { vm, vcpu };
}

/** KVM_SIGNAL_MSI of a fixed, physical-destination interrupt: how many APICs took it. */
function signal_msi(vm: kvm_vm, apic_id: number, vector: number): number {
  const msi = kvm_msi.alloc();
  msi.address_lo = 0xfee00000 | (apic_id << 12);
  msi.data = vector;
  return __vm_ioctl(vm, KVM_SIGNAL_MSI, msi);
}

function mp_state(vcpu: kvm_vcpu): number {
  const s = kvm_mp_state.alloc();
  vcpu_mp_state_get(vcpu, s);
  return s.mp_state;
}

/** Waits (the event loop runs the vCPU) until the vCPU is HALTED; false after 20 s. */
async function wait_halted(vcpu: kvm_vcpu): Promise<boolean> {
  const give_up = performance.now() + 20_000;
  while (mp_state(vcpu) !== KVM_MP_STATE_HALTED) {
    if (performance.now() > give_up) return false;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return true;
}

/** Guest: halts with interrupts enabled until one arrives, counting its TDVMCALL<HLT>s. */
export function guest_code_hlt_wake(): void {
  tdx_guest_x2apic_enable();
  cli();
  tdx_test_report_to_user_space(1);
  while (irqs_rcvd.value < 1n) {
    sti();
    const ret = tdg_vp_vmcall_instruction_hlt(0);
    cli();
    if (ret) tdx_test_fatal(ret);
    hlts.value = hlts.value + 1n;
  }
  tdx_test_report_to_user_space(Number(hlts.value));
  tdx_test_report_to_user_space(Number(last_vector.value));
  tdx_test_report_to_user_space(Number(isr_word.value));
  // The EOI retired it: nothing in service any more.
  tdx_test_report_to_user_space(Number(x2apic_read_reg(APIC_ISR + 0x10 * (VEC >> 5))));
  tdx_test_success();
}

Deno.test({
  name: "TD: TDVMCALL<HLT> sleeps in KVM_RUN until KVM_SIGNAL_MSI posts an interrupt, " +
    "which the TD's virtual APIC delivers and a virtualized EOI retires",
  ignore: in_guest_worker(),
  async fn() {
    const { vm, vcpu } = td_create(guest_code_hlt_wake);
    try {
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      const run = __vcpu_run_async(vcpu);
      let returned = false;
      run.then(() => returned = true);
      assert(await wait_halted(vcpu), "the TD vCPU never halted");
      assert(!returned, "KVM_RUN returned while the TD vCPU was halted");
      assertEquals(signal_msi(vm, 0, VEC), 1);
      assertEquals(await run, 0);
      // One TDVMCALL<HLT>: the halted vCPU slept in KVM, it was not re-entered.
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), VEC);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1 << (VEC & 31));
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 0);
      tdx_run(vcpu);
      tdx_test_assert_success(vcpu);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: HLT with the interrupt-blocked flag, then without it, an interrupt pending. */
export function guest_code_hlt_blocked_flag(): void {
  tdx_guest_x2apic_enable();
  cli();
  tdx_test_report_to_user_space(1);
  // IF = 0 and the flag says so: an interrupt posted meanwhile is no reason to wake.
  let ret = tdg_vp_vmcall_instruction_hlt(1);
  if (ret) tdx_test_fatal(ret);
  tdx_test_report_to_user_space(2 + Number(irqs_rcvd.value));
  // The flag says interrupts are enabled: KVM sees the pending virtual
  // interrupt (VCPU_STATE_DETAILS) and does not halt the vCPU at all.
  ret = tdg_vp_vmcall_instruction_hlt(0);
  if (ret) tdx_test_fatal(ret);
  tdx_test_report_to_user_space(3 + Number(irqs_rcvd.value));
  sti();
  cpu_relax(); // the interrupt is taken at this boundary
  cli();
  tdx_test_report_to_user_space(Number(irqs_rcvd.value));
  tdx_test_success();
}

Deno.test({
  name: "TD: HLT's interrupt-blocked flag (R12): set, a posted interrupt does not wake the " +
    "vCPU; clear, a pending virtual interrupt keeps it from halting",
  ignore: in_guest_worker(),
  fn() {
    const { vm, vcpu } = td_create(guest_code_hlt_blocked_flag);
    try {
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      // Nothing can wake it: the KVM_RUN ends as a signal would end it.
      assertEquals(__vcpu_run(vcpu), -1);
      assertEquals(errno_get(), EINTR);
      assertEquals(vcpu.run.exit_reason, KVM_EXIT_INTR);
      assertEquals(mp_state(vcpu), KVM_MP_STATE_HALTED);
      // Posted while it is halted with interrupts blocked: still asleep.
      assertEquals(signal_msi(vm, 0, VEC), 1);
      assertEquals(__vcpu_run(vcpu), -1);
      assertEquals(errno_get(), EINTR);
      assertEquals(mp_state(vcpu), KVM_MP_STATE_HALTED);
      const s = kvm_mp_state.alloc();
      s.mp_state = KVM_MP_STATE_RUNNABLE;
      vcpu_mp_state_set(vcpu, s);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 2);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 3);
      assertEquals(mp_state(vcpu), KVM_MP_STATE_RUNNABLE);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      tdx_run(vcpu);
      tdx_test_assert_success(vcpu);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: a 4 MiB MapGPA to shared, resumed from R11 after RETRY, then the interrupt. */
export function guest_code_map_gpa_retry(): void {
  tdx_guest_x2apic_enable();
  cli();
  const gpa = MAP_GPA | tdx_s_bit.value;
  const next = ref(0n);
  let ret = tdg_vp_vmcall_map_gpa(gpa, 2n * SZ_2M, next);
  tdx_test_report_64bit_to_user_space(ret);
  tdx_test_report_64bit_to_user_space(next.value);
  ret = tdg_vp_vmcall_map_gpa(next.value, gpa + 2n * SZ_2M - next.value, next);
  tdx_test_report_64bit_to_user_space(ret);
  sti();
  cpu_relax();
  cli();
  tdx_test_report_to_user_space(Number(irqs_rcvd.value));
  tdx_test_success();
}

Deno.test({
  name: "TD: MapGPA answers RETRY with the next GPA when an interrupt is posted between " +
    "chunks, and completes from there",
  ignore: in_guest_worker(),
  fn() {
    const { vm, vcpu } = td_create(guest_code_map_gpa_retry);
    try {
      assertEquals(__vcpu_run(vcpu), 0);
      assertEquals(vcpu.run.exit_reason, KVM_EXIT_HYPERCALL);
      const hc = vcpu.run.hypercall;
      assertEquals(hc.nr, BigInt(KVM_HC_MAP_GPA_RANGE));
      assertEquals(hc.args.at(0), MAP_GPA);
      assertEquals(hc.args.at(1), SZ_2M >> 12n);
      hc.ret = 0n;
      // An interrupt for the vCPU while userspace converts the first chunk.
      assertEquals(signal_msi(vm, 0, VEC), 1);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_64bit_report_from_guest(vcpu), TDG_VP_VMCALL_RETRY);
      tdx_run(vcpu);
      const s_bit = tdx_s_bit.value;
      assertEquals(tdx_test_read_64bit_report_from_guest(vcpu), (MAP_GPA | s_bit) + SZ_2M);
      // The rest: one chunk, no event in the way.
      assertEquals(__vcpu_run(vcpu), 0);
      assertEquals(vcpu.run.exit_reason, KVM_EXIT_HYPERCALL);
      assertEquals(vcpu.run.hypercall.args.at(0), MAP_GPA + SZ_2M);
      vcpu.run.hypercall.ret = 0n;
      tdx_run(vcpu);
      assertEquals(tdx_test_read_64bit_report_from_guest(vcpu), TDG_VP_VMCALL_SUCCESS);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      tdx_run(vcpu);
      tdx_test_assert_success(vcpu);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: registers the notify vector, asks for a quote, halts until notified. */
export function guest_code_event_notify(): void {
  tdx_guest_x2apic_enable();
  cli();
  let ret = tdg_vp_vmcall_setup_event_notify_interrupt(NOTIFY_VEC);
  tdx_test_report_64bit_to_user_space(ret);
  ret = tdg_vp_vmcall_get_quote(QUOTE_GPA | tdx_s_bit.value, 4096);
  tdx_test_report_64bit_to_user_space(ret);
  while (irqs_rcvd.value < 1n) {
    sti();
    ret = tdg_vp_vmcall_instruction_hlt(0);
    cli();
    if (ret) tdx_test_fatal(ret);
  }
  tdx_test_report_to_user_space(Number(last_vector.value));
  tdx_test_success();
}

Deno.test({
  name: "TD: SetupEventNotifyInterrupt goes to userspace (KVM_EXIT_TDX), which raises the " +
    "vector itself when its event (the quote) is ready; KVM never raises it",
  ignore: in_guest_worker(),
  async fn() {
    const { vm, vcpu } = td_create(guest_code_event_notify);
    try {
      assertEquals(__vcpu_run(vcpu), 0);
      assertEquals(vcpu.run.exit_reason, KVM_EXIT_TDX);
      assertEquals(vcpu.run.tdx.nr, TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT);
      const notify = vcpu.run.tdx.setup_event_notify;
      const vector = Number(notify.vector); // the VMM records it (QEMU: with the APIC ID)
      assertEquals(vector, NOTIFY_VEC);
      notify.ret = TDG_VP_VMCALL_SUCCESS;
      tdx_run(vcpu);
      assertEquals(tdx_test_read_64bit_report_from_guest(vcpu), TDG_VP_VMCALL_SUCCESS);
      assertEquals(__vcpu_run(vcpu), 0);
      assertEquals(vcpu.run.exit_reason, KVM_EXIT_TDX);
      assertEquals(vcpu.run.tdx.nr, TDG_VP_VMCALL_GET_QUOTE);
      assertEquals(vcpu.run.tdx.get_quote.gpa, QUOTE_GPA);
      vcpu.run.tdx.get_quote.ret = TDG_VP_VMCALL_SUCCESS; // queued; done later
      tdx_run(vcpu);
      assertEquals(tdx_test_read_64bit_report_from_guest(vcpu), TDG_VP_VMCALL_SUCCESS);
      const run = __vcpu_run_async(vcpu);
      let returned = false;
      run.then(() => returned = true);
      assert(await wait_halted(vcpu), "the TD vCPU never halted");
      assert(!returned, "nothing but the VMM raises the notify vector");
      // The quote is ready: the VMM notifies the TD with its vector.
      assertEquals(signal_msi(vm, 0, vector), 1);
      assertEquals(await run, 0);
      assertEquals(tdx_test_read_report_from_guest(vcpu), NOTIFY_VEC);
      tdx_run(vcpu);
      tdx_test_assert_success(vcpu);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: halts with interrupts enabled; resumes only for a fixed interrupt. */
export function guest_code_init_blocked(): void {
  tdx_guest_x2apic_enable();
  tdx_test_report_to_user_space(1);
  cli();
  while (irqs_rcvd.value < 1n) {
    sti();
    const ret = tdg_vp_vmcall_instruction_hlt(0);
    cli();
    if (ret) tdx_test_fatal(ret);
  }
  tdx_test_report_to_user_space(2);
  tdx_test_success();
}

Deno.test({
  name: "TD: INIT and SIPI are blocked (vt_apic_init_signal_blocked()): an INIT neither wakes " +
    "nor resets a halted TD vCPU",
  ignore: in_guest_worker(),
  fn() {
    const { vm, vcpu } = td_create(guest_code_init_blocked);
    try {
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      assertEquals(__vcpu_run(vcpu), -1);
      assertEquals(errno_get(), EINTR);
      assertEquals(mp_state(vcpu), KVM_MP_STATE_HALTED);
      const msi = kvm_msi.alloc();
      msi.address_lo = 0xfee00000;
      msi.data = 5 << 8; // delivery mode INIT
      assertEquals(__vm_ioctl(vm, KVM_SIGNAL_MSI, msi), 1); // the APIC takes it, KVM holds it
      msi.data = (6 << 8) | 0x10; // a SIPI: dropped
      assertEquals(__vm_ioctl(vm, KVM_SIGNAL_MSI, msi), 1);
      assertEquals(__vcpu_run(vcpu), -1);
      assertEquals(errno_get(), EINTR);
      assertEquals(mp_state(vcpu), KVM_MP_STATE_HALTED);
      assertEquals(signal_msi(vm, 0, VEC), 1);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 2);
      tdx_run(vcpu);
      tdx_test_assert_success(vcpu);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: CR8 and the TPR MSR are one VTPR; it holds a posted interrupt back. */
export function guest_code_cr8_vtpr(): void {
  tdx_guest_x2apic_enable();
  cli();
  set_cr8(0xfn);
  tdx_test_report_to_user_space(Number(x2apic_read_reg(APIC_TASKPRI))); // host posts VEC
  sti();
  cpu_relax();
  cli();
  tdx_test_report_to_user_space(Number(irqs_rcvd.value)); // held back by VTPR
  x2apic_write_reg(APIC_TASKPRI, 0x30);
  tdx_test_report_to_user_space(Number(get_cr8()));
  sti();
  set_cr8(0n);
  tdx_test_report_to_user_space(0); // the exit after which the next entry delivers
  cli();
  tdx_test_report_to_user_space(Number(irqs_rcvd.value));
  tdx_test_success();
}

Deno.test({
  name: "TD: MOV CR8 and the x2APIC TPR are the TD's VTPR (TPR shadow), which holds a posted " +
    "interrupt back until lowered",
  ignore: in_guest_worker(),
  fn() {
    const { vm, vcpu } = td_create(guest_code_cr8_vtpr);
    try {
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 0xf0);
      // The host sees neither the TD's RFLAGS.IF nor its VTPR.
      assertEquals(vcpu.run.if_flag, 0);
      assertEquals(vcpu.run.cr8, 0n);
      assertEquals(signal_msi(vm, 0, VEC), 1);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 0);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 3);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 0);
      assertEquals(vcpu.run.if_flag, 0); // the TD has IF set here
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      tdx_run(vcpu);
      tdx_test_assert_success(vcpu);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "TD: an NMI message (MSI, delivery mode NMI) wakes TDVMCALL<HLT> and is delivered " +
    "through vector 2 (tdx_inject_nmi()'s PEND_NMI)",
  ignore: in_guest_worker(),
  async fn() {
    const { vm, vcpu } = td_create(guest_code_hlt_wake);
    try {
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      const run = __vcpu_run_async(vcpu);
      assert(await wait_halted(vcpu), "the TD vCPU never halted");
      const msi = kvm_msi.alloc();
      msi.address_lo = 0xfee00000;
      msi.data = 4 << 8; // delivery mode NMI
      assertEquals(__vm_ioctl(vm, KVM_SIGNAL_MSI, msi), 1);
      assertEquals(await run, 0);
      assertEquals(tdx_test_read_report_from_guest(vcpu), 1);
      tdx_run(vcpu);
      assertEquals(tdx_test_read_report_from_guest(vcpu), NMI_VECTOR);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: nothing; the host only probes ioctls. */
export function guest_code_nothing(): void {
  tdx_test_success();
}

Deno.test({
  name: "TD: KVM_GET/SET_LAPIC and KVM_GET/SET_VCPU_EVENTS are refused (EINVAL; a SET copies " +
    "its struct in first, EFAULT)",
  ignore: in_guest_worker(),
  fn() {
    const { vm, vcpu } = td_create(guest_code_nothing);
    try {
      const lapic = kvm_lapic_state.alloc();
      assertEquals(__vcpu_ioctl(vcpu, KVM_GET_LAPIC, lapic), -1);
      assertEquals(errno_get(), EINVAL);
      assertEquals(__vcpu_ioctl(vcpu, KVM_SET_LAPIC, lapic), -1);
      assertEquals(errno_get(), EINVAL);
      assertEquals(__vcpu_ioctl(vcpu, KVM_SET_LAPIC, 0n), -1);
      assertEquals(errno_get(), EFAULT);
      assertEquals(__vcpu_ioctl(vcpu, KVM_GET_LAPIC, 0n), -1);
      assertEquals(errno_get(), EINVAL); // refused before anything is copied out
      const events = kvm_vcpu_events.alloc();
      assertEquals(__vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, events), -1);
      assertEquals(errno_get(), EINVAL);
      assertEquals(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, events), -1);
      assertEquals(errno_get(), EINVAL);
      assertEquals(__vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, 0n), -1);
      assertEquals(errno_get(), EFAULT);
      tdx_run(vcpu);
      tdx_test_assert_success(vcpu);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
