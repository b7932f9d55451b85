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
  __vm_enable_cap,
  get_ucall,
  GUEST_DONE,
  GUEST_SYNC_ARGS,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  REPORT_GUEST_ASSERT,
  UCALL_ABORT,
  ucall_struct,
  UCALL_SYNC,
  vcpu_ioctl,
  vcpu_run,
  virt_pg_map,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import { KVM_CAP_X86_APIC_BUS_CYCLES_NS, KVM_GET_LAPIC } from "../../../../../include/linux/kvm.ts";
import { GP_VECTOR, kvm_lapic_state } from "../../../../../include/asm/kvm.ts";
import {
  APIC_BASE_MSR,
  APIC_DEFAULT_GPA,
  APIC_DEST_SELF,
  APIC_DFR,
  APIC_EOI,
  APIC_ESR,
  APIC_ICR,
  APIC_ICR2,
  APIC_ID,
  APIC_IRR,
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
import { cli, rdmsr_safe } from "../../../../../include/x86/processor.ts";
import { errno_get } from "../../../../../include/libc/errno.ts";
import { EINVAL } from "../../../../../include/linux/errno.ts";
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
