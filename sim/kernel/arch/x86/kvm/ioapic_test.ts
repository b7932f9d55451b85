// SPDX-License-Identifier: GPL-2.0-only
/**
 * The in-kernel IOAPIC against ioapic.c: `kvm_ioapic_reset()` as
 * KVM_GET_IRQCHIP shows it, `ioapic_set_irq()`'s status for masked, edge
 * and level pins (KVM_IRQ_LINE_STATUS), `ioapic_service()` setting remote
 * IRR and the LAPIC's IRR/TMR, `kvm_set_ioapic()` re-raising IRR, the
 * IOREGSEL/IOWIN window (`ioapic_mmio_read/write()`, `ioapic_read_indirect()`,
 * `ioapic_write_indirect()`'s read-only bits) and `kvm_ioapic_update_eoi()`
 * clearing remote IRR on the guest's EOI.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  __vm_ioctl,
  get_ucall,
  GUEST_DONE,
  guest_global,
  GUEST_SYNC_ARGS,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  ref,
  REPORT_GUEST_ASSERT,
  UCALL_ABORT,
  UCALL_DONE,
  ucall_struct,
  UCALL_SYNC,
  vcpu_ioctl,
  vcpu_run,
  virt_pg_map,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import {
  KVM_GET_IRQCHIP,
  KVM_GET_LAPIC,
  kvm_irq_level,
  KVM_IRQ_LINE_STATUS,
  kvm_irqchip,
  KVM_IRQCHIP_IOAPIC,
  KVM_SET_IRQCHIP,
  KVM_SET_LAPIC,
} from "../../../../../include/linux/kvm.ts";
import { kvm_lapic_state } from "../../../../../include/asm/kvm.ts";
import {
  APIC_DEFAULT_GPA,
  APIC_EOI,
  APIC_IRR,
  APIC_TMR,
  xapic_enable,
  xapic_write_reg,
} from "../../../../../include/x86/apic.ts";
import {
  cli,
  type ex_regs_view,
  safe_halt,
  vm_install_exception_handler,
} from "../../../../../include/x86/processor.ts";
import { readl, writel } from "../../../../../lib/guest_memory.ts";
import { u64 } from "../../../../../include/c/layout.ts";
import { errno_get } from "../../../../../include/libc/errno.ts";
import { EINVAL } from "../../../../../include/linux/errno.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

const IOAPIC_BASE = 0xfec00000n;

function get_ioapic(vm: kvm_vm): ReturnType<typeof kvm_irqchip.alloc> {
  const c = kvm_irqchip.alloc();
  c.chip_id = KVM_IRQCHIP_IOAPIC;
  assertEquals(__vm_ioctl(vm, KVM_GET_IRQCHIP, c), 0);
  return c;
}

function irq_line_status(vm: kvm_vm, irq: number, level: number): number {
  const l = kvm_irq_level.alloc();
  l.irq = irq;
  l.level = level;
  assertEquals(__vm_ioctl(vm, KVM_IRQ_LINE_STATUS, l), 0);
  return l.status;
}

/** Redirection entry: vector, fixed, physical destination 0, unmasked, level or edge. */
function rte(vector: number, level: boolean): bigint {
  return BigInt(vector | (level ? 1 << 15 : 0));
}

function set_rte(vm: kvm_vm, pin: number, bits: bigint): void {
  const c = get_ioapic(vm);
  c.chip.ioapic.redirtbl.at(pin).bits = bits;
  assertEquals(__vm_ioctl(vm, KVM_SET_IRQCHIP, c), 0);
}

function lapic_bit(vcpu: kvm_vcpu, base: number, vector: number): boolean {
  const s = kvm_lapic_state.alloc();
  vcpu_ioctl(vcpu, KVM_GET_LAPIC, s);
  const dv = new DataView(s.$bytes.buffer, s.$bytes.byteOffset);
  return ((dv.getUint32(base + 0x10 * (vector >> 5), true) >>> (vector & 31)) & 1) === 1;
}

Deno.test({
  name: "kvm_ioapic_reset(): base 0xfec00000, every pin masked, nothing pending",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      const c = get_ioapic(vm);
      assertEquals(c.chip.ioapic.base_address, IOAPIC_BASE);
      assertEquals(c.chip.ioapic.id, 0);
      assertEquals(c.chip.ioapic.irr, 0);
      for (let i = 0; i < 24; i++) assertEquals(c.chip.ioapic.redirtbl.at(i).bits, 1n << 16n);
      // kvm_vm_ioctl_get_irqchip(): an unknown chip is EINVAL.
      c.chip_id = 3;
      assertEquals(__vm_ioctl(vm, KVM_GET_IRQCHIP, c), -1);
      assertEquals(errno_get(), EINVAL);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "ioapic_set_irq(): masked -1, edge delivered once then coalesced, level sets remote IRR",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      // GSI 16 reaches only the IOAPIC (default routing), and the pin is masked.
      assertEquals(irq_line_status(vm, 16, 1), -1);
      assertEquals(irq_line_status(vm, 16, 0), 1); // lowering always "succeeds"
      // The LAPIC's software enable is off at RESET, so the message is dropped
      // by the one matching APIC: 0 taken.
      set_rte(vm, 16, rte(0x40, false));
      assertEquals(irq_line_status(vm, 16, 1), 0);
      irq_line_status(vm, 16, 0);
      // Enable the LAPIC (SPIV bit 8) through KVM_SET_LAPIC.
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      const dv = new DataView(s.$bytes.buffer, s.$bytes.byteOffset);
      dv.setUint32(0xf0, 0x1ff, true);
      vcpu_ioctl(vcpu.value, KVM_SET_LAPIC, s);
      assertEquals(irq_line_status(vm, 16, 1), 1);
      assert_irr(vcpu.value, 0x40, true, false);
      // Still high: an edge pin sees no new edge.
      assertEquals(irq_line_status(vm, 16, 1), 0);
      irq_line_status(vm, 16, 0);
      // Level pin 17: delivered with TMR set and remote IRR; again while
      // remote IRR is set: not serviced (-1).
      set_rte(vm, 17, rte(0x41, true));
      assertEquals(irq_line_status(vm, 17, 1), 1);
      assert_irr(vcpu.value, 0x41, true, true);
      const c = get_ioapic(vm);
      assertEquals(c.chip.ioapic.redirtbl.at(17).bits & (1n << 14n), 1n << 14n);
      assertEquals(c.chip.ioapic.irr & (1 << 17), 1 << 17);
      assertEquals(irq_line_status(vm, 17, 1), -1);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

function assert_irr(vcpu: kvm_vcpu, vector: number, irr: boolean, tmr: boolean): void {
  assertEquals(lapic_bit(vcpu, APIC_IRR, vector), irr, `IRR bit of ${vector}`);
  assertEquals(lapic_bit(vcpu, APIC_TMR, vector), tmr, `TMR bit of ${vector}`);
}

Deno.test({
  name: "kvm_set_ioapic(): IRR of an unmasked edge pin is re-raised and delivered",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      new DataView(s.$bytes.buffer, s.$bytes.byteOffset).setUint32(0xf0, 0x1ff, true);
      vcpu_ioctl(vcpu.value, KVM_SET_LAPIC, s);
      const c = get_ioapic(vm);
      c.chip.ioapic.redirtbl.at(20).bits = rte(0x52, false);
      c.chip.ioapic.irr = 1 << 20;
      c.chip.ioapic.id = 0x12345678;
      assertEquals(__vm_ioctl(vm, KVM_SET_IRQCHIP, c), 0);
      assert_irr(vcpu.value, 0x52, true, false);
      const d = get_ioapic(vm);
      // kvm_get_ioapic(): a delivered edge is not reported in IRR; the id
      // is stored as given.
      assertEquals(d.chip.ioapic.irr, 0);
      assertEquals(d.chip.ioapic.id, 0x12345678);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

const irqs_rcvd = guest_global("ioapic_irqs_rcvd", u64);
const rirr_in_handler = guest_global("ioapic_rirr_in_handler", u64);

function ioapic_read(reg: number): number {
  writel(reg, IOAPIC_BASE);
  return readl(IOAPIC_BASE + 0x10n);
}

function ioapic_write(reg: number, val: number): void {
  writel(reg, IOAPIC_BASE);
  writel(val >>> 0, IOAPIC_BASE + 0x10n);
}

/** Guest handler: records remote IRR of pin 18, EOIs. */
export function guest_ioapic_handler(_regs: ex_regs_view): void {
  irqs_rcvd.value = irqs_rcvd.value + 1n;
  rirr_in_handler.value = BigInt((ioapic_read(0x10 + 2 * 18) >>> 14) & 1);
  xapic_write_reg(APIC_EOI, 0);
}

/** Guest: the window's version/id registers, then a level pin taken and EOIed. */
export function guest_code_ioapic(): void {
  cli();
  xapic_enable();
  const ver = ioapic_read(0x01);
  ioapic_write(0x00, 0x0f000000); // id: bits 27:24
  const id = ioapic_read(0x00);
  const arb = ioapic_read(0x02);
  const past = ioapic_read(0x10 + 2 * 24); // past the table: all ones
  // Pin 18: vector 0x60, level, destination 0; remote IRR (bit 14) and
  // delivery status (bit 12) are read-only.
  ioapic_write(0x10 + 2 * 18 + 1, 0);
  ioapic_write(0x10 + 2 * 18, 0x60 | (1 << 15) | (1 << 14) | (1 << 12));
  const entry = ioapic_read(0x10 + 2 * 18);
  GUEST_SYNC_ARGS(0n, BigInt(ver), BigInt(id), BigInt(arb), BigInt(entry) | (BigInt(past) << 32n));
  while (irqs_rcvd.value < 1n) {
    safe_halt();
    cli();
  }
  GUEST_SYNC_ARGS(
    1n,
    rirr_in_handler.value,
    BigInt((ioapic_read(0x10 + 2 * 18) >>> 14) & 1),
    0n,
    0n,
  );
  GUEST_DONE();
}

Deno.test({
  name: "IOAPIC MMIO window: version, id, read-only bits; level interrupt, EOI clears remote IRR",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_ioapic);
    try {
      virt_pg_map(vm, IOAPIC_BASE, IOAPIC_BASE);
      virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
      vm_install_exception_handler(vm, 0x60, guest_ioapic_handler);
      vcpu_run(vcpu.value);
      let r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_SYNC);
      assertEquals(uc.args.at(2), 0x170011n); // 24 pins (max entry 23), version 0x11
      assertEquals(uc.args.at(3), 0x0f000000n);
      assertEquals(uc.args.at(4), 0x0f000000n); // ARB reads the id
      assertEquals(uc.args.at(5), (0xffffffffn << 32n) | BigInt(0x60 | (1 << 15)));
      // Raise and lower the level line: delivered once, remote IRR held until EOI.
      assertEquals(irq_line_status(vm, 18, 1), 1);
      irq_line_status(vm, 18, 0);
      vcpu_run(vcpu.value);
      r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_SYNC);
      assertEquals(uc.args.at(2), 1n, "remote IRR set while the handler runs");
      assertEquals(uc.args.at(3), 0n, "the EOI broadcast cleared remote IRR");
      vcpu_run(vcpu.value);
      assertEquals(get_ucall(vcpu.value, uc), UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
