// SPDX-License-Identifier: GPL-2.0-only
/**
 * The in-kernel LAPIC against lapic.c: the RESET page KVM_GET_LAPIC shows,
 * the x2APIC MSRs' #GP rules (kvm_x2apic_msr_read/write(),
 * kvm_lapic_reg_write()), PPR from TPR, self-IPIs into IRR, the xAPIC page
 * handled in the kernel, the timer's current count and
 * KVM_CAP_X86_APIC_BUS_CYCLES_NS.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import {
  __vcpu_run_async,
  __vm_enable_cap,
  __vm_ioctl,
  addr_gpa2hva,
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  guest_global,
  GUEST_SYNC,
  GUEST_SYNC_ARGS,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  REPORT_GUEST_ASSERT,
  UCALL_ABORT,
  UCALL_DONE,
  ucall_struct,
  UCALL_SYNC,
  vcpu_ioctl,
  vcpu_mp_state_get,
  vcpu_mp_state_set,
  vcpu_run,
  vcpu_run_async,
  virt_pg_map,
  vm_create_with_one_vcpu,
  vm_create_with_vcpus,
} from "../../../../../include/kvm_util.ts";
import {
  KVM_CAP_X86_APIC_BUS_CYCLES_NS,
  KVM_EXIT_IO,
  KVM_GET_LAPIC,
  KVM_GET_SREGS,
  kvm_mp_state,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_UNINITIALIZED,
  kvm_msi,
  KVM_SET_SREGS,
  KVM_SIGNAL_MSI,
} from "../../../../../include/linux/kvm.ts";
import { GP_VECTOR, kvm_lapic_state, kvm_sregs } from "../../../../../include/asm/kvm.ts";
import {
  APIC_BASE_MSR,
  APIC_DEFAULT_GPA,
  APIC_DEST_SELF,
  APIC_DFR,
  APIC_DM_INIT,
  APIC_DM_STARTUP,
  APIC_EOI,
  APIC_ESR,
  APIC_ICR,
  APIC_ICR2,
  APIC_ID,
  APIC_INT_ASSERT,
  APIC_IRR,
  APIC_ISR,
  APIC_LDR,
  APIC_LVR,
  APIC_LVT0,
  APIC_LVTT,
  APIC_PROCPRI,
  APIC_SELF_IPI,
  APIC_SPIV,
  APIC_TASKPRI,
  APIC_TDCR,
  APIC_TMCCT,
  APIC_TMICT,
  x2apic_enable,
  x2apic_read_reg,
  x2apic_write_reg,
  x2apic_write_reg_safe,
  xapic_enable,
  xapic_read_reg,
  xapic_write_reg,
} from "../../../../../include/x86/apic.ts";
import {
  cli,
  cpu_relax,
  type ex_regs_view,
  get_cr8,
  hlt,
  kvm_hypercall,
  rdmsr_safe,
  safe_halt,
  set_cr8,
  sti,
  vcpu_arch_set_entry_point,
  vm_install_exception_handler,
} from "../../../../../include/x86/processor.ts";
import { u64 } from "../../../../../include/c/layout.ts";
import {
  KVM_EINVAL,
  KVM_HC_KICK_CPU,
  KVM_HC_SEND_IPI,
} from "../../../../../include/linux/kvm_para.ts";
import { errno_get } from "../../../../../include/libc/errno.ts";
import { EAGAIN, EINVAL } from "../../../../../include/linux/errno.ts";
import { user_memory } from "../../../../../include/libc/syscall.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

/** Guest: x2APIC accesses KVM refuses, then TPR/PPR and a self-IPI. */
export function guest_code_x2apic_rules(): void {
  cli();
  x2apic_enable();
  const v = ref(0n);
  const icr2 = rdmsr_safe(APIC_BASE_MSR + (APIC_ICR2 >> 4), v); // not an x2APIC register
  const eoi_read = rdmsr_safe(APIC_BASE_MSR + (APIC_EOI >> 4), v); // write-only
  const id_write = x2apic_write_reg_safe(APIC_ID, 5); // read-only in x2APIC mode
  const ldr_write = x2apic_write_reg_safe(APIC_LDR, 0); // read-only in x2APIC mode
  const esr_write = x2apic_write_reg_safe(APIC_ESR, 1); // only 0 may be written
  const high = x2apic_write_reg_safe(APIC_TASKPRI, 1n << 32n); // bits 63:32 reserved
  const icr_rsvd = x2apic_write_reg_safe(APIC_ICR, 1n << 13n); // X2APIC_ICR_RESERVED_BITS
  const self_rsvd = x2apic_write_reg_safe(APIC_SELF_IPI, 0x140); // above the vector
  x2apic_write_reg(APIC_TASKPRI, 0x20);
  const ppr = x2apic_read_reg(APIC_PROCPRI);
  x2apic_write_reg(APIC_SELF_IPI, 0x41); // IF=0: stays in IRR
  const irr2 = x2apic_read_reg(APIC_IRR + 0x20);
  x2apic_write_reg(APIC_ICR, BigInt(APIC_DEST_SELF | 0x42));
  const ldr = x2apic_read_reg(APIC_LDR);
  GUEST_SYNC_ARGS(
    0n,
    BigInt(icr2 | (eoi_read << 8) | (id_write << 16) | (ldr_write << 24)),
    BigInt(esr_write | (high << 8) | (icr_rsvd << 16) | (self_rsvd << 24)),
    ppr,
    irr2,
  );
  GUEST_SYNC_ARGS(1n, ldr, x2apic_read_reg(APIC_IRR + 0x20), 0n, 0n);
  GUEST_DONE();
}

/** Guest: the xAPIC page, then a one-shot count read twice. */
export function guest_code_xapic_page(): void {
  cli();
  xapic_enable();
  xapic_write_reg(APIC_TASKPRI, 0x35);
  xapic_write_reg(APIC_DFR, 0); // the low 28 bits are forced to ones
  xapic_write_reg(APIC_TDCR, 0xb); // divide by 1
  xapic_write_reg(APIC_LVTT, 0x10000 | 0xec); // masked, one-shot
  xapic_write_reg(APIC_TMICT, 2_000_000_000);
  const c1 = xapic_read_reg(APIC_TMCCT);
  const c2 = xapic_read_reg(APIC_TMCCT);
  GUEST_SYNC_ARGS(
    0n,
    BigInt(xapic_read_reg(APIC_ID)),
    BigInt(xapic_read_reg(APIC_DFR)),
    BigInt(c1),
    BigInt(c2),
  );
  GUEST_DONE();
}

function run_until_sync(
  vcpu: kvm_vcpu,
  uc: ReturnType<typeof ucall_struct.alloc>,
): [bigint, bigint, bigint, bigint] {
  vcpu_run(vcpu);
  const r = get_ucall(vcpu, uc);
  if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
  assertEquals(r, UCALL_SYNC);
  // args[0] is GUEST_SYNC_ARGS's "hello", args[1] the stage.
  return [uc.args.at(2), uc.args.at(3), uc.args.at(4), uc.args.at(5)];
}

function lapic_reg(s: ReturnType<typeof kvm_lapic_state.alloc>, off: number): number {
  return new DataView(s.$bytes.buffer, s.$bytes.byteOffset).getUint32(off, true);
}

Deno.test({
  name: "KVM_GET_LAPIC at RESET: ID, version, SPIV, DFR, masked LVTs, BSP LINT0 in ExtINT",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      assertEquals(lapic_reg(s, APIC_ID), 0);
      // APIC_VERSION 0x14, 6 LVTs (no CMCI without MCG_CMCI_P); the in-kernel
      // IOAPIC hides directed EOI.
      assertEquals(lapic_reg(s, APIC_LVR), 0x14 | (5 << 16));
      assertEquals(lapic_reg(s, APIC_SPIV), 0xff);
      assertEquals(lapic_reg(s, APIC_DFR), 0xffffffff);
      assertEquals(lapic_reg(s, APIC_LVTT), 0x10000);
      // KVM_X86_QUIRK_LINT0_REENABLED: the BSP's LINT0 is unmasked ExtINT.
      assertEquals(lapic_reg(s, APIC_LVT0), 0x700);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "x2APIC MSRs: #GP rules of kvm_x2apic_msr_read/write, PPR from TPR, self-IPIs in IRR",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_x2apic_rules);
    try {
      const gp = GP_VECTOR;
      const [reads, writes, ppr, irr2] = run_until_sync(vcpu.value, uc);
      assertEquals(reads, BigInt(gp | (gp << 8) | (gp << 16) | (gp << 24)));
      assertEquals(writes, BigInt(gp | (gp << 8) | (gp << 16) | (gp << 24)));
      assertEquals(ppr, 0x20n);
      assertEquals(irr2, 1n << 1n); // vector 0x41: IRR word 2, bit 1
      const [ldr, irr2b] = run_until_sync(vcpu.value, uc);
      assertEquals(ldr, 1n); // cluster 0, bit 0 for x2APIC ID 0
      assertEquals(irr2b, (1n << 1n) | (1n << 2n));
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      // Userspace sees the x2APIC ID in bits 31:24 without 32-bit IDs, ICR split.
      assertEquals(lapic_reg(s, APIC_ID), 0);
      assertEquals(lapic_reg(s, APIC_ICR), APIC_DEST_SELF | 0x42);
      assertEquals(lapic_reg(s, APIC_ICR2), 0);
      assertEquals(lapic_reg(s, APIC_IRR + 0x20), 6);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "the xAPIC page is handled in the kernel; TMCCT counts down at the APIC bus clock",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_xapic_page);
    try {
      virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
      const [id, dfr, c1, c2] = run_until_sync(vcpu.value, uc);
      assertEquals(id, 0n);
      assertEquals(dfr, 0x0fffffffn);
      assert(c1 > 0n && c1 < 2_000_000_000n && c2 <= c1, `TMCCT ${c1} then ${c2}`);
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      assertEquals(lapic_reg(s, APIC_TASKPRI), 0x35);
      assertEquals(lapic_reg(s, APIC_PROCPRI), 0x35);
      const tmcct = lapic_reg(s, APIC_TMCCT);
      assert(tmcct > 0 && tmcct <= Number(c2), `KVM_GET_LAPIC TMCCT ${tmcct}`);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "KVM_CAP_X86_APIC_BUS_CYCLES_NS: 0 is EINVAL, after vCPUs EINVAL",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      assertEquals(__vm_enable_cap(vm, KVM_CAP_X86_APIC_BUS_CYCLES_NS, 0n), -1);
      assertEquals(errno_get(), EINVAL);
      assertEquals(__vm_enable_cap(vm, KVM_CAP_X86_APIC_BUS_CYCLES_NS, 10n), -1);
      assertEquals(errno_get(), EINVAL);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Interrupts the handlers counted (guest globals). */
const irqs_rcvd = guest_global("irqs_rcvd", u64);
const last_vector = guest_global("last_vector", u64);
const isr_at_handler = guest_global("isr_at_handler", u64);

/** Guest handler: counts, records ISR, EOIs. */
export function guest_irq_handler(regs: ex_regs_view): void {
  irqs_rcvd.value = irqs_rcvd.value + 1n;
  last_vector.value = regs.vector;
  isr_at_handler.value = x2apic_read_reg(APIC_ISR + 0x10 * Number(regs.vector >> 5n));
  x2apic_write_reg(APIC_EOI, 0);
}

/** Guest: a self-IPI with IF=1 is taken at once; with IF=0 after STI. */
export function guest_code_self_ipi(): void {
  cli();
  x2apic_enable();
  sti();
  x2apic_write_reg(APIC_SELF_IPI, 0x40);
  GUEST_ASSERT_EQ(irqs_rcvd.value, 1n);
  GUEST_ASSERT_EQ(last_vector.value, 0x40n);
  GUEST_ASSERT_EQ(isr_at_handler.value, 1n); // vector 0x40: ISR word 2, bit 0
  GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ISR + 0x20), 0n); // EOI retired it
  cli();
  x2apic_write_reg(APIC_SELF_IPI, 0x41);
  GUEST_ASSERT_EQ(irqs_rcvd.value, 1n); // blocked: stays in IRR
  GUEST_ASSERT_EQ(x2apic_read_reg(APIC_IRR + 0x20), 2n);
  // TPR above the vector's class holds it back even with IF=1.
  x2apic_write_reg(APIC_TASKPRI, 0x40);
  sti();
  GUEST_SYNC(1n); // an exit: the kernel would inject if it could
  GUEST_ASSERT_EQ(irqs_rcvd.value, 1n);
  x2apic_write_reg(APIC_TASKPRI, 0);
  GUEST_ASSERT_EQ(irqs_rcvd.value, 2n);
  GUEST_ASSERT_EQ(last_vector.value, 0x41n);
  // One-shot timer, then HLT: the vCPU sleeps until it fires.
  x2apic_write_reg(APIC_TDCR, 0xb);
  x2apic_write_reg(APIC_LVTT, 0x50);
  x2apic_write_reg(APIC_TMICT, 2_000_000); // 2 ms at 1 ns per bus cycle
  // STI;HLT with IF clear: the interrupt can only land in the HLT.
  cli();
  while (irqs_rcvd.value < 3n) {
    safe_halt();
    cli();
  }
  GUEST_ASSERT_EQ(last_vector.value, 0x50n);
  GUEST_DONE();
}

Deno.test({
  name:
    "interrupt delivery: self-IPI through the IDT with IF, TPR holds it back, EOI, timer wakes HLT",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_self_ipi);
    try {
      for (const v of [0x40, 0x41, 0x50]) vm_install_exception_handler(vm, v, guest_irq_handler);
      vcpu_run(vcpu.value);
      let r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_SYNC);
      const start = performance.now();
      vcpu_run(vcpu.value);
      r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_DONE);
      assert(performance.now() - start >= 1.5, "HLT returned before the timer fired");
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest (the halting vCPU): takes IPIs until told to stop. */
export function guest_code_halter(): void {
  cli();
  x2apic_enable();
  GUEST_SYNC(0n);
  while (irqs_rcvd.value < 10n) {
    safe_halt();
    cli();
  }
  GUEST_DONE();
}

/** Guest (the sender): ten fixed IPIs to vCPU 1, waiting for each to land. */
export function guest_code_sender(): void {
  cli();
  x2apic_enable();
  for (let i = 1n; i <= 10n; i++) {
    x2apic_write_reg(APIC_ICR, (1n << 32n) | 0x60n);
    while (irqs_rcvd.value < i) cpu_relax();
  }
  GUEST_DONE();
}

Deno.test({
  name: "IPIs between two vCPUs: a halted vCPU is woken, a running one is kicked",
  ignore: in_guest_worker(),
  async fn() {
    const vcpus: kvm_vcpu[] = [];
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_vcpus(2, guest_code_sender, vcpus);
    try {
      vm_install_exception_handler(vm, 0x60, guest_irq_handler);
      vcpu_arch_set_entry_point(vcpus[1]!, guest_code_halter);
      vcpu_run(vcpus[1]!);
      assertEquals(get_ucall(vcpus[1]!, uc), UCALL_SYNC);
      await Promise.all([vcpu_run_async(vcpus[0]!), vcpu_run_async(vcpus[1]!)]);
      for (const v of vcpus) {
        const r = get_ucall(v, uc);
        if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
        assertEquals(r, UCALL_DONE);
      }
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: waits, interrupts enabled only in HLT, for one MSI. */
export function guest_code_msi(): void {
  cli();
  x2apic_enable();
  GUEST_SYNC(0n);
  while (irqs_rcvd.value < 1n) {
    safe_halt();
    cli();
  }
  GUEST_ASSERT_EQ(last_vector.value, 0x70n);
  GUEST_DONE();
}

Deno.test({
  name: "KVM_SIGNAL_MSI: delivered to the LAPIC its address names; no destination is 0",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_msi);
    try {
      vm_install_exception_handler(vm, 0x70, guest_irq_handler);
      vcpu_run(vcpu.value);
      assertEquals(get_ucall(vcpu.value, uc), UCALL_SYNC);
      const msi = kvm_msi.alloc();
      msi.address_lo = 0xfee00000 | (5 << 12); // APIC ID 5: nobody
      msi.data = 0x70;
      // kvm_irq_delivery_to_apic_fast(): the map has no APIC 5, 0 taken (the
      // slow path's -1 is only seen before any vCPU exists).
      assertEquals(__vm_ioctl(vm, KVM_SIGNAL_MSI, msi), 0);
      msi.address_lo = 0xfee00000; // APIC ID 0, physical, fixed
      assertEquals(__vm_ioctl(vm, KVM_SIGNAL_MSI, msi), 1);
      vcpu_run(vcpu.value);
      const r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest: CR8 is the TPR's priority class, both ways. */
export function guest_code_cr8(): void {
  cli();
  x2apic_enable();
  set_cr8(0x7n);
  const tpr = x2apic_read_reg(APIC_TASKPRI);
  x2apic_write_reg(APIC_TASKPRI, 0x93);
  GUEST_SYNC_ARGS(0n, tpr, get_cr8(), 0n, 0n);
  GUEST_DONE();
}

Deno.test({
  name: "CR8 and the in-kernel LAPIC's TPR are one register (MOV CR8, TPR writes, KVM_GET_SREGS)",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_cr8);
    try {
      const [tpr, cr8] = run_until_sync(vcpu.value, uc);
      assertEquals(tpr, 0x70n);
      assertEquals(cr8, 0x9n);
      const sregs = kvm_sregs.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_SREGS, sregs);
      assertEquals(sregs.cr8, 0x9n);
      sregs.cr8 = 0x4n;
      vcpu_ioctl(vcpu.value, KVM_SET_SREGS, sregs);
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      assertEquals(lapic_reg(s, APIC_TASKPRI), 0x40);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

const woken = guest_global("woken", u64);

/** Guest (vCPU 1): HLT with interrupts off (only a PV kick ends it), then wait for an IPI. */
export function guest_code_pv_target(): void {
  cli();
  x2apic_enable();
  GUEST_SYNC(0n);
  hlt();
  woken.value = 1n;
  while (irqs_rcvd.value < 1n) {
    safe_halt();
    cli();
  }
  GUEST_DONE();
}

/** Guest (vCPU 0): KVM_HC_KICK_CPU, then a KVM_HC_SEND_IPI to APIC ID 1. */
export function guest_code_pv_sender(): void {
  cli();
  x2apic_enable();
  GUEST_ASSERT_EQ(kvm_hypercall(KVM_HC_KICK_CPU, 0n, 1n, 0n, 0n), 0n);
  while (!woken.value) cpu_relax();
  // Bit 1 of the low bitmap with min 0: APIC ID 1; fixed, vector 0x60.
  GUEST_ASSERT_EQ(kvm_hypercall(KVM_HC_SEND_IPI, 0b10n, 0n, 0n, 0x60n), 1n);
  // A destination mode in the ICR is refused.
  GUEST_ASSERT_EQ(
    kvm_hypercall(KVM_HC_SEND_IPI, 0b10n, 0n, 0n, 0x860n),
    BigInt.asUintN(64, BigInt(-KVM_EINVAL)),
  );
  GUEST_DONE();
}

Deno.test({
  name: "PV hypercalls: KVM_HC_KICK_CPU unhalts a vCPU halted with IF=0, KVM_HC_SEND_IPI delivers",
  ignore: in_guest_worker(),
  async fn() {
    const vcpus: kvm_vcpu[] = [];
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_vcpus(2, guest_code_pv_sender, vcpus);
    try {
      vm_install_exception_handler(vm, 0x60, guest_irq_handler);
      vcpu_arch_set_entry_point(vcpus[1]!, guest_code_pv_target);
      vcpu_run(vcpus[1]!);
      assertEquals(get_ucall(vcpus[1]!, uc), UCALL_SYNC);
      await Promise.all([vcpu_run_async(vcpus[0]!), vcpu_run_async(vcpus[1]!)]);
      for (const v of vcpus) {
        const r = get_ucall(v, uc);
        if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
        assertEquals(r, UCALL_DONE);
      }
    } finally {
      kvm_vm_free(vm);
    }
  },
});

/** Guest (BSP): INIT, then SIPI with vector 0x08 (start at 0x8000), to APIC ID 1. */
export function guest_code_init_sipi(): void {
  cli();
  x2apic_enable();
  x2apic_write_reg(APIC_ICR, (1n << 32n) | BigInt(APIC_DM_INIT | APIC_INT_ASSERT));
  x2apic_write_reg(APIC_ICR, (1n << 32n) | BigInt(APIC_DM_STARTUP | 0x08));
  GUEST_DONE();
}

Deno.test({
  name:
    "INIT/SIPI: an AP waiting in UNINITIALIZED is reset and starts in real mode at the SIPI vector",
  ignore: in_guest_worker(),
  async fn() {
    const vcpus: kvm_vcpu[] = [];
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_vcpus(2, guest_code_init_sipi, vcpus);
    try {
      // mov $0x42, %al; out %al, $0x80; hlt: the AP's real-mode start.
      user_memory(addr_gpa2hva(vm, 0x8000n), 5).set([0xb0, 0x42, 0xe6, 0x80, 0xf4]);
      const mp = kvm_mp_state.alloc();
      mp.mp_state = KVM_MP_STATE_UNINITIALIZED;
      vcpu_mp_state_set(vcpus[1]!, mp);
      const ap = __vcpu_run_async(vcpus[1]!);
      vcpu_run(vcpus[0]!);
      assertEquals(get_ucall(vcpus[0]!, uc), UCALL_DONE);
      // The woken AP takes INIT and SIPI, then KVM_RUN returns -EAGAIN.
      assertEquals(await ap, -1);
      assertEquals(errno_get(), EAGAIN);
      vcpu_mp_state_get(vcpus[1]!, mp);
      assertEquals(mp.mp_state, KVM_MP_STATE_RUNNABLE);
      vcpu_run(vcpus[1]!);
      assertEquals(vcpus[1]!.run.exit_reason, KVM_EXIT_IO);
      assertEquals(vcpus[1]!.run.io.port, 0x80);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
