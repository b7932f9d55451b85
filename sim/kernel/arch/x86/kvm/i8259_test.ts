// SPDX-License-Identifier: GPL-2.0-only
/**
 * The in-kernel 8259 pair against i8259.c: the state `kvm_pic_init()`
 * leaves (KVM_GET_IRQCHIP), ICW1-4 (`pic_ioport_write()`, `kvm_pic_reset()`),
 * OCW1/OCW3 reads (`pic_ioport_read()`), the ELCR masks (`elcr_ioport_write()`),
 * `pic_set_irq1()`'s edge/level status through KVM_IRQ_LINE_STATUS, and an
 * ExtINT taken through LINT0 (`kvm_pic_read_irq()`) and retired by a
 * non-specific EOI.
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
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import {
  KVM_GET_IRQCHIP,
  kvm_irq_level,
  KVM_IRQ_LINE_STATUS,
  kvm_irqchip,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_SET_IRQCHIP,
} from "../../../../../include/linux/kvm.ts";
import {
  cli,
  type ex_regs_view,
  inb,
  outb,
  safe_halt,
  vm_install_exception_handler,
} from "../../../../../include/x86/processor.ts";
import { u64 } from "../../../../../include/c/layout.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

function get_pic(vm: kvm_vm, id: number): ReturnType<typeof kvm_irqchip.alloc> {
  const c = kvm_irqchip.alloc();
  c.chip_id = id;
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

Deno.test({
  name: "kvm_pic_init(): ELCR masks 0xf8/0xde, all else zero; ELCR writes are masked",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      const m = get_pic(vm, KVM_IRQCHIP_PIC_MASTER);
      assertEquals(m.chip.pic.elcr_mask, 0xf8);
      assertEquals(m.chip.pic.imr, 0);
      assertEquals(m.chip.pic.init_state, 0);
      const s = get_pic(vm, KVM_IRQCHIP_PIC_SLAVE);
      assertEquals(s.chip.pic.elcr_mask, 0xde);
      // KVM_SET_IRQCHIP stores the state as given (the mask is not applied).
      s.chip.pic.elcr = 0xff;
      assertEquals(__vm_ioctl(vm, KVM_SET_IRQCHIP, s), 0);
      assertEquals(get_pic(vm, KVM_IRQCHIP_PIC_SLAVE).chip.pic.elcr, 0xff);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "pic_set_irq1(): edge latches once per rise (status 1, then 0 coalesced), masked is -1",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      // GSI 3 goes to IOAPIC pin 3 (masked: -1) and PIC IRQ 3 (edge: 1).
      assertEquals(irq_line_status(vm, 3, 1), 1);
      irq_line_status(vm, 3, 0);
      // IRR still holds it (never acknowledged): the next rise is coalesced.
      assertEquals(irq_line_status(vm, 3, 1), 0);
      assertEquals(get_pic(vm, KVM_IRQCHIP_PIC_MASTER).chip.pic.irr & 8, 8);
      const m = get_pic(vm, KVM_IRQCHIP_PIC_MASTER);
      m.chip.pic.imr = 1 << 5;
      assertEquals(__vm_ioctl(vm, KVM_SET_IRQCHIP, m), 0);
      assertEquals(irq_line_status(vm, 5, 1), -1);
      // GSI 12 is the slave's IRQ 4.
      assertEquals(irq_line_status(vm, 12, 1), 1);
      assertEquals(get_pic(vm, KVM_IRQCHIP_PIC_SLAVE).chip.pic.irr, 1 << 4);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

const pic_irqs = guest_global("pic_irqs", u64);
const pic_vector = guest_global("pic_vector", u64);
const pic_isr = guest_global("pic_isr", u64);

/** Guest handler: reads ISR (OCW3 read-register select), sends a non-specific EOI. */
export function guest_pic_handler(regs: ex_regs_view): void {
  pic_irqs.value = pic_irqs.value + 1n;
  pic_vector.value = regs.vector;
  outb(0x20, 0x0b); // OCW3: read ISR
  pic_isr.value = BigInt(inb(0x20));
  outb(0x20, 0x0a); // OCW3: read IRR
  outb(0x20, 0x20); // OCW2: non-specific EOI
}

/** Guest: ICW1-4 of the master (vectors 0x30-0x37), IMR, ELCR; then an ExtINT. */
export function guest_code_pic(): void {
  cli();
  outb(0x20, 0x11); // ICW1: ICW4 needed
  outb(0x21, 0x30); // ICW2: vector base (low 3 bits ignored)
  outb(0x21, 0x04); // ICW3
  outb(0x21, 0x01); // ICW4: 8086 mode
  outb(0x21, 0xfb); // OCW1: only IRQ 2 unmasked
  const imr = inb(0x21);
  outb(0x4d0, 0xff); // ELCR master: IRQs 0-2 cannot be level
  const elcr = inb(0x4d0);
  outb(0x21, 0xf3); // unmask IRQ 2 and 3
  GUEST_SYNC_ARGS(0n, BigInt(imr), BigInt(elcr), 0n, 0n);
  while (pic_irqs.value < 1n) {
    safe_halt();
    cli();
  }
  outb(0x20, 0x0b);
  GUEST_SYNC_ARGS(1n, pic_vector.value, pic_isr.value, BigInt(inb(0x20)), 0n);
  GUEST_DONE();
}

Deno.test({
  name: "PIC ports: ICW1-4, IMR, ELCR mask; an ExtINT through LINT0 wakes HLT, EOI retires it",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_pic);
    try {
      vm_install_exception_handler(vm, 0x33, guest_pic_handler);
      vcpu_run(vcpu.value);
      let r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_SYNC);
      assertEquals(uc.args.at(2), 0xfbn);
      assertEquals(uc.args.at(3), 0xf8n);
      assertEquals(get_pic(vm, KVM_IRQCHIP_PIC_MASTER).chip.pic.irq_base, 0x30);
      // IRQ 3 (edge; ELCR bit 3 was set by the guest, so make it edge again).
      const m = get_pic(vm, KVM_IRQCHIP_PIC_MASTER);
      m.chip.pic.elcr = 0;
      assertEquals(__vm_ioctl(vm, KVM_SET_IRQCHIP, m), 0);
      assertEquals(irq_line_status(vm, 3, 1), 1);
      irq_line_status(vm, 3, 0);
      vcpu_run(vcpu.value);
      r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_SYNC);
      assertEquals(uc.args.at(2), 0x33n, "vector = ICW2 base + IRQ");
      assertEquals(uc.args.at(3), 8n, "ISR holds IRQ 3 in the handler");
      assertEquals(uc.args.at(4), 0n, "the EOI retired it");
      vcpu_run(vcpu.value);
      assertEquals(get_ucall(vcpu.value, uc), UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
