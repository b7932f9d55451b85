// SPDX-License-Identifier: GPL-2.0-only
/**
 * GSI routing against irqchip.c and irq_comm.c: KVM_SET_GSI_ROUTING's
 * checks in `kvm_vm_ioctl()` order (no irqchip, `nr` above
 * KVM_MAX_IRQ_ROUTES, flags), then `kvm_set_irq_routing()`'s (GSI range,
 * per-type flags, `setup_routing_entry()`'s duplicates,
 * `kvm_set_routing_entry()`'s pins and split-irqchip rule), and
 * `kvm_set_irq()` through the new table (an MSI route, a GSI with no route),
 * and a split irqchip's EOI exit (`kvm_ioapic_send_eoi()`,
 * `kvm_scan_ioapic_routes()`, KVM_REQ_IOAPIC_EOI_EXIT in `vcpu_enter_guest()`).
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  __vm_ioctl,
  get_ucall,
  GUEST_DONE,
  guest_global,
  GUEST_SYNC,
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
  vm_create_barebones,
  vm_create_with_one_vcpu,
  vm_create_with_vcpus,
  vm_enable_cap,
} from "../../../../include/kvm_util.ts";
import { APIC_EOI, x2apic_enable, x2apic_write_reg } from "../../../../include/x86/apic.ts";
import {
  cli,
  type ex_regs_view,
  safe_halt,
  vm_install_exception_handler,
} from "../../../../include/x86/processor.ts";
import { u64 } from "../../../../include/c/layout.ts";
import { backend, set_backend } from "../../../../include/libc/backend.ts";
import {
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CREATE_IRQCHIP,
  KVM_EXIT_IOAPIC_EOI,
  KVM_GET_LAPIC,
  kvm_irq_level,
  KVM_IRQ_LINE_STATUS,
  kvm_irq_routing,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQ_ROUTING_MSI,
  KVM_IRQ_ROUTING_XEN_EVTCHN,
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  kvm_msi,
  KVM_MSI_VALID_DEVID,
  KVM_SET_GSI_ROUTING,
  KVM_SET_LAPIC,
  KVM_SIGNAL_MSI,
} from "../../../../include/linux/kvm.ts";
import { kvm_lapic_state } from "../../../../include/asm/kvm.ts";
import { errno_get } from "../../../../include/libc/errno.ts";
import { EFAULT, EINVAL, ENOTTY } from "../../../../include/linux/errno.ts";
import { in_guest_worker } from "../../../../include/libc/process.ts";

type routing = ReturnType<typeof kvm_irq_routing.alloc>;
type entry = { gsi: number; type: number; flags?: number; a?: number; b?: number; c?: number };

function table(entries: entry[]): routing {
  const r = kvm_irq_routing.alloc(Math.max(entries.length, 1));
  r.nr = entries.length;
  entries.forEach((e, i) => {
    const v = r.entries.at(i);
    v.gsi = e.gsi;
    v.type = e.type;
    v.flags = e.flags ?? 0;
    if (e.type === KVM_IRQ_ROUTING_MSI) {
      v.u.msi.address_lo = e.a ?? 0;
      v.u.msi.address_hi = e.b ?? 0;
      v.u.msi.data = e.c ?? 0;
    } else {
      v.u.irqchip.irqchip = e.a ?? 0;
      v.u.irqchip.pin = e.b ?? 0;
    }
  });
  return r;
}

function set_routing(vm: kvm_vm, r: routing): number {
  return __vm_ioctl(vm, KVM_SET_GSI_ROUTING, r) === 0 ? 0 : -errno_get();
}

const chip = (gsi: number, irqchip: number, pin: number): entry => ({
  gsi,
  type: KVM_IRQ_ROUTING_IRQCHIP,
  a: irqchip,
  b: pin,
});

Deno.test({
  name: "KVM_SET_GSI_ROUTING: the ioctl's checks, then kvm_set_irq_routing()'s, in order",
  ignore: in_guest_worker(),
  fn() {
    // No irqchip: EINVAL before anything else is looked at.
    const bare = vm_create_barebones();
    try {
      const r = table([]);
      r.flags = 1;
      assertEquals(set_routing(bare, r), -EINVAL);
    } finally {
      kvm_vm_free(bare);
    }
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      const big = table([]);
      big.nr = 4097;
      assertEquals(set_routing(vm, big), -EINVAL, "nr > KVM_MAX_IRQ_ROUTES");
      const flags = table([]);
      flags.flags = 1;
      assertEquals(set_routing(vm, flags), -EINVAL, "routing.flags");
      // Entries past the header are copied in only now: EFAULT.
      const hdr = kvm_irq_routing.alloc(0);
      hdr.nr = 4096;
      assertEquals(set_routing(vm, hdr), -EFAULT);
      // Any GSI >= KVM_MAX_IRQ_ROUTES fails before any entry is set up.
      assertEquals(set_routing(vm, table([chip(0, 9, 0), chip(4096, 0, 0)])), -EINVAL);
      // Per-entry flags: only an MSI route may carry KVM_MSI_VALID_DEVID.
      assertEquals(
        set_routing(vm, table([{ gsi: 1, type: KVM_IRQ_ROUTING_MSI, flags: KVM_MSI_VALID_DEVID }])),
        0,
      );
      assertEquals(
        set_routing(vm, table([{ ...chip(1, 0, 1), flags: KVM_MSI_VALID_DEVID }])),
        -EINVAL,
      );
      // Pins: 8 per PIC, 24 on the IOAPIC; irqchip 3 does not exist.
      assertEquals(set_routing(vm, table([chip(1, KVM_IRQCHIP_PIC_SLAVE, 8)])), -EINVAL);
      assertEquals(set_routing(vm, table([chip(1, KVM_IRQCHIP_IOAPIC, 24)])), -EINVAL);
      assertEquals(set_routing(vm, table([chip(1, 3, 0)])), -EINVAL);
      // One GSI may reach each irqchip once; a non-irqchip route must be alone.
      assertEquals(
        set_routing(
          vm,
          table([chip(5, KVM_IRQCHIP_PIC_MASTER, 5), chip(5, KVM_IRQCHIP_IOAPIC, 5)]),
        ),
        0,
      );
      assertEquals(
        set_routing(vm, table([chip(5, KVM_IRQCHIP_IOAPIC, 5), chip(5, KVM_IRQCHIP_IOAPIC, 6)])),
        -EINVAL,
      );
      assertEquals(
        set_routing(
          vm,
          table([chip(5, KVM_IRQCHIP_IOAPIC, 5), { gsi: 5, type: KVM_IRQ_ROUTING_MSI }]),
        ),
        -EINVAL,
      );
      // Unknown types, and Xen event channels (no Xen emulation), are EINVAL.
      assertEquals(set_routing(vm, table([{ gsi: 0, type: 99 }])), -EINVAL);
      assertEquals(set_routing(vm, table([{ gsi: 0, type: KVM_IRQ_ROUTING_XEN_EVTCHN }])), -EINVAL);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "split irqchip: the table starts empty and refuses irqchip routes, MSI routes work",
  ignore: in_guest_worker(),
  fn() {
    const vm = vm_create_barebones();
    try {
      vm_enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24);
      const l = kvm_irq_level.alloc();
      l.irq = 4;
      l.level = 1;
      assertEquals(__vm_ioctl(vm, KVM_IRQ_LINE_STATUS, l), 0);
      assertEquals(l.status, -1, "no route for GSI 4");
      assertEquals(set_routing(vm, table([chip(4, KVM_IRQCHIP_IOAPIC, 4)])), -EINVAL);
      assertEquals(set_routing(vm, table([{ gsi: 4, type: KVM_IRQ_ROUTING_MSI }])), 0);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "kvm_set_irq(): an MSI route delivers on a rising level only; unrouted GSIs read -1",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      const s = kvm_lapic_state.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      const dv = new DataView(s.$bytes.buffer, s.$bytes.byteOffset);
      dv.setUint32(0xf0, 0x1ff, true); // SPIV: APIC software-enabled
      vcpu_ioctl(vcpu.value, KVM_SET_LAPIC, s);
      // GSI 30: MSI to APIC 0, vector 0x45, fixed, edge.
      assertEquals(
        set_routing(vm, table([{ gsi: 30, type: KVM_IRQ_ROUTING_MSI, a: 0xfee00000, c: 0x45 }])),
        0,
      );
      const l = kvm_irq_level.alloc();
      l.irq = 30;
      l.level = 0;
      assertEquals(__vm_ioctl(vm, KVM_IRQ_LINE_STATUS, l), 0);
      assertEquals(l.status, -1, "level 0: kvm_set_msi() ignores it");
      l.irq = 30;
      l.level = 1;
      assertEquals(__vm_ioctl(vm, KVM_IRQ_LINE_STATUS, l), 0);
      assertEquals(l.status, 1);
      vcpu_ioctl(vcpu.value, KVM_GET_LAPIC, s);
      assertEquals((dv.getUint32(0x200 + 0x20, true) >>> 5) & 1, 1, "IRR bit of 0x45");
      // The new table replaced the default one: GSI 3 goes nowhere now.
      l.irq = 3;
      l.level = 1;
      assertEquals(__vm_ioctl(vm, KVM_IRQ_LINE_STATUS, l), 0);
      assertEquals(l.status, -1);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

const eoi_irqs = guest_global("split_eoi_irqs", u64);

/** Guest handler: count, EOI (x2APIC). */
export function guest_split_eoi_handler(_regs: ex_regs_view): void {
  eoi_irqs.value = eoi_irqs.value + 1n;
  x2apic_write_reg(APIC_EOI, 0);
}

/** Guest: take one interrupt. */
export function guest_code_split_eoi(): void {
  cli();
  x2apic_enable();
  GUEST_SYNC(0n);
  while (eoi_irqs.value < 1n) {
    safe_halt();
    cli();
  }
  GUEST_DONE();
}

Deno.test({
  name: "split irqchip: EOI of a level MSI route's vector exits with KVM_EXIT_IOAPIC_EOI",
  ignore: in_guest_worker(),
  fn() {
    // The library's vm_create_irqchip() takes the split model when
    // KVM_CREATE_IRQCHIP is ENOTTY (as for a TD): answer that for this VM.
    const sim = backend();
    set_backend({
      ...sim,
      ioctl: (fd, req, arg) => req === KVM_CREATE_IRQCHIP ? -ENOTTY : sim.ioctl(fd, req, arg),
    });
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    let vm: kvm_vm;
    try {
      vm = vm_create_with_one_vcpu(vcpu, guest_code_split_eoi);
    } finally {
      set_backend(sim);
    }
    try {
      const v = vcpu.value;
      vm_install_exception_handler(vm, 0x55, guest_split_eoi_handler);
      // GSI 2 (a pin reserved for the userspace IOAPIC): a level-triggered
      // MSI, vector 0x55, to APIC 0. GSI 30 is past the reserved pins.
      assertEquals(
        set_routing(
          vm,
          table([
            { gsi: 2, type: KVM_IRQ_ROUTING_MSI, a: 0xfee00000, c: 0x8055 },
            { gsi: 30, type: KVM_IRQ_ROUTING_MSI, a: 0xfee00000, c: 0x8056 },
          ]),
        ),
        0,
      );
      vcpu_run(v);
      assertEquals(get_ucall(v, uc), UCALL_SYNC);
      const l = kvm_irq_level.alloc();
      l.irq = 2;
      l.level = 1;
      assertEquals(__vm_ioctl(vm, KVM_IRQ_LINE_STATUS, l), 0);
      assertEquals(l.status, 1);
      vcpu_run(v);
      assertEquals(v.run.exit_reason, KVM_EXIT_IOAPIC_EOI);
      assertEquals(v.run.eoi.vector, 0x55);
      vcpu_run(v);
      const r = get_ucall(v, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name:
    "lowest priority (and an MSI's redirection hint): the vector picks the logical destination's bit",
  ignore: in_guest_worker(),
  fn() {
    // kvm_apic_map_get_dest_lapic() with vector hashing: flat logical IDs 1, 2,
    // 4 on vCPUs 0-2; the vector modulo the destination mask's weight picks a
    // bit, and an absent APIC (bit 3) drops the message.
    const vcpus: kvm_vcpu[] = [];
    const vm = vm_create_with_vcpus(3, null, vcpus);
    try {
      vcpus.forEach((v, i) => {
        const s = kvm_lapic_state.alloc();
        vcpu_ioctl(v, KVM_GET_LAPIC, s);
        const dv = new DataView(s.$bytes.buffer, s.$bytes.byteOffset);
        dv.setUint32(0xf0, 0x1ff, true); // SPIV: enabled
        dv.setUint32(0xd0, ((1 << i) << 24) >>> 0, true); // LDR
        dv.setUint32(0xe0, 0xffffffff, true); // DFR: flat
        vcpu_ioctl(v, KVM_SET_LAPIC, s);
      });
      const msi = (address_lo: number, data: number) => {
        const m = kvm_msi.alloc();
        m.address_lo = address_lo;
        m.data = data;
        return __vm_ioctl(vm, KVM_SIGNAL_MSI, m);
      };
      // Logical destination 0x07 (bits 19:12), logical mode (bit 2).
      assertEquals(msi(0xfee07004, 0x141), 1); // 0x41 % 3 = 2: vCPU 2
      assertEquals(msi(0xfee07004, 0x142), 1); // 0x42 % 3 = 0: vCPU 0
      assertEquals(msi(0xfee0700c, 0x043), 1); // fixed + RH: 0x43 % 3 = 1: vCPU 1
      assertEquals(msi(0xfee0f004, 0x144), 1); // mask 0x0f: 0x44 % 4 = 0: vCPU 0
      assertEquals(msi(0xfee0f004, 0x147), 0, "bit 3: no APIC, dropped");
      const irr = vcpus.map((v) => {
        const s = kvm_lapic_state.alloc();
        vcpu_ioctl(v, KVM_GET_LAPIC, s);
        return new DataView(s.$bytes.buffer, s.$bytes.byteOffset).getUint32(0x220, true);
      });
      assertEquals(irr, [(1 << 2) | (1 << 4), 1 << 3, 1 << 1]);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
