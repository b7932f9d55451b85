// SPDX-License-Identifier: GPL-2.0-only
/**
 * eventfd (fs/eventfd.c: `do_eventfd()`, `eventfd_read()`, `eventfd_write()`)
 * and KVM's irqfd against eventfd.c: `kvm_irqfd()`'s flags, then
 * `kvm_irqfd_assign()`'s checks in order (`kvm_arch_irqfd_allowed()`,
 * EBADF / EINVAL for the eventfd and the resamplefd, EBUSY for an eventfd
 * already bound), a count pending before KVM_IRQFD delivered at once,
 * `irqfd_wakeup()` injecting on write(), `kvm_irqfd_deassign()`, and a
 * resampler: `irqfd_resampler_ack()` lowering the level pin on the guest's
 * EOI and signalling the resamplefd.
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
  virt_pg_map,
  vm_create_barebones,
  vm_create_with_one_vcpu,
  vm_enable_cap,
} from "../../../../include/kvm_util.ts";
import {
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_GET_IRQCHIP,
  KVM_GET_LAPIC,
  kvm_irq_routing,
  KVM_IRQ_ROUTING_MSI,
  kvm_irqchip,
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQFD,
  kvm_irqfd,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
  KVM_SET_GSI_ROUTING,
  KVM_SET_IRQCHIP,
  KVM_SET_LAPIC,
} from "../../../../include/linux/kvm.ts";
import { kvm_lapic_state } from "../../../../include/asm/kvm.ts";
import { EFD_NONBLOCK, EFD_SEMAPHORE } from "../../../../include/linux/eventfd.ts";
import { close, eventfd, read, write } from "../../../../include/libc/syscall.ts";
import { errno_get } from "../../../../include/libc/errno.ts";
import { EAGAIN, EBADF, EBUSY, EINVAL } from "../../../../include/linux/errno.ts";
import {
  APIC_DEFAULT_GPA,
  APIC_EOI,
  xapic_enable,
  xapic_write_reg,
} from "../../../../include/x86/apic.ts";
import {
  cli,
  type ex_regs_view,
  safe_halt,
  vm_install_exception_handler,
} from "../../../../include/x86/processor.ts";
import { u64 } from "../../../../include/c/layout.ts";
import { in_guest_worker } from "../../../../include/libc/process.ts";

function efd_write(fd: number, v: bigint): number {
  const b = new BigUint64Array([v]);
  const r = write(fd, b, 8);
  return r < 0 ? -errno_get() : r;
}

function efd_read(fd: number): bigint | number {
  const b = new BigUint64Array(1);
  const r = read(fd, b, 8);
  return r < 0 ? -errno_get() : b[0]!;
}

function irqfd(vm: kvm_vm, fd: number, gsi: number, flags = 0, resamplefd = 0): number {
  const a = kvm_irqfd.alloc();
  a.fd = fd >>> 0;
  a.gsi = gsi;
  a.flags = flags;
  a.resamplefd = resamplefd >>> 0;
  return __vm_ioctl(vm, KVM_IRQFD, a) === 0 ? 0 : -errno_get();
}

function enable_lapic(vcpu: kvm_vcpu): void {
  const s = kvm_lapic_state.alloc();
  vcpu_ioctl(vcpu, KVM_GET_LAPIC, s);
  new DataView(s.$bytes.buffer, s.$bytes.byteOffset).setUint32(0xf0, 0x1ff, true);
  vcpu_ioctl(vcpu, KVM_SET_LAPIC, s);
}

function irr_has(vcpu: kvm_vcpu, vector: number): boolean {
  const s = kvm_lapic_state.alloc();
  vcpu_ioctl(vcpu, KVM_GET_LAPIC, s);
  const dv = new DataView(s.$bytes.buffer, s.$bytes.byteOffset);
  return ((dv.getUint32(0x200 + 0x10 * (vector >> 5), true) >>> (vector & 31)) & 1) === 1;
}

Deno.test({
  name: "eventfd: flags, 8-byte counter writes and reads, semaphore mode, EAGAIN at zero",
  ignore: in_guest_worker(),
  fn() {
    assertEquals(eventfd(0, 0x80), -1);
    assertEquals(errno_get(), EINVAL);
    const fd = eventfd(3, EFD_NONBLOCK);
    try {
      assertEquals(efd_write(fd, 4n), 8);
      assertEquals(write(fd, new Uint8Array(4), 4), -1, "short write");
      assertEquals(errno_get(), EINVAL);
      assertEquals(efd_write(fd, 0xffffffffffffffffn), -EINVAL);
      assertEquals(efd_write(fd, 0xfffffffffffffff8n), -EAGAIN, "would overflow");
      assertEquals(efd_read(fd), 7n);
      assertEquals(efd_read(fd), -EAGAIN);
    } finally {
      close(fd);
    }
    const sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    try {
      assertEquals(efd_read(sem), 1n);
      assertEquals(efd_read(sem), 1n);
      assertEquals(efd_read(sem), -EAGAIN);
    } finally {
      close(sem);
    }
  },
});

Deno.test({
  name: "KVM_IRQFD: flags, irqchip, EBADF/EINVAL for the fds, EBUSY, deassign",
  ignore: in_guest_worker(),
  fn() {
    const fd = eventfd(0, EFD_NONBLOCK);
    const rfd = eventfd(0, EFD_NONBLOCK);
    const bare = vm_create_barebones();
    try {
      assertEquals(irqfd(bare, fd, 1, 4), -EINVAL, "unknown flag first");
      assertEquals(irqfd(bare, fd, 1), -EINVAL, "no in-kernel irqchip");
      vm_enable_cap(bare, KVM_CAP_SPLIT_IRQCHIP, 24);
      assertEquals(irqfd(bare, fd, 1), 0, "a split irqchip takes plain irqfds");
      assertEquals(
        irqfd(bare, fd, 1, KVM_IRQFD_FLAG_RESAMPLE, rfd),
        -EINVAL,
        "resample: full only",
      );
    } finally {
      kvm_vm_free(bare);
    }
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      assertEquals(irqfd(vm, 1000, 1), -EBADF);
      assertEquals(irqfd(vm, vm.fd, 1), -EINVAL, "not an eventfd");
      assertEquals(irqfd(vm, fd, 1, KVM_IRQFD_FLAG_RESAMPLE, 1000), -EBADF, "resamplefd");
      assertEquals(irqfd(vm, fd, 1), 0);
      assertEquals(irqfd(vm, fd, 2), -EBUSY, "one eventfd, one irqfd");
      assertEquals(
        irqfd(vm, fd, 2, KVM_IRQFD_FLAG_DEASSIGN),
        0,
        "nothing to remove is not an error",
      );
      assertEquals(irqfd(vm, 1000, 1, KVM_IRQFD_FLAG_DEASSIGN), -EBADF);
      assertEquals(irqfd(vm, fd, 1, KVM_IRQFD_FLAG_DEASSIGN), 0);
      assertEquals(irqfd(vm, fd, 2), 0, "free again after the deassign");
    } finally {
      kvm_vm_free(vm);
      close(fd);
      close(rfd);
    }
  },
});

Deno.test({
  name: "irqfd: write() injects the GSI's MSI; a count pending at KVM_IRQFD is delivered at once",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    const fd = eventfd(0, EFD_NONBLOCK);
    const early = eventfd(1, EFD_NONBLOCK);
    try {
      enable_lapic(vcpu.value);
      const r = kvm_irq_routing.alloc(2);
      r.nr = 2;
      for (const [i, gsi, vector] of [[0, 40, 0x51], [1, 41, 0x52]]) {
        const e = r.entries.at(i!);
        e.gsi = gsi!;
        e.type = KVM_IRQ_ROUTING_MSI;
        e.u.msi.address_lo = 0xfee00000;
        e.u.msi.data = vector!;
      }
      assertEquals(__vm_ioctl(vm, KVM_SET_GSI_ROUTING, r), 0);
      assertEquals(irqfd(vm, fd, 40), 0);
      assertEquals(irr_has(vcpu.value, 0x51), false);
      assertEquals(efd_write(fd, 1n), 8);
      assertEquals(irr_has(vcpu.value, 0x51), true);
      assertEquals(efd_read(fd), -EAGAIN, "the irqfd consumed the count");
      assertEquals(irqfd(vm, early, 41), 0);
      assertEquals(irr_has(vcpu.value, 0x52), true);
    } finally {
      kvm_vm_free(vm);
      close(fd);
      close(early);
    }
  },
});

const resample_irqs = guest_global("resample_irqs", u64);

/** Guest handler: count and EOI (the EOI reaches the IOAPIC: a level pin). */
export function guest_resample_handler(_regs: ex_regs_view): void {
  resample_irqs.value = resample_irqs.value + 1n;
  xapic_write_reg(APIC_EOI, 0);
}

/** Guest: take one interrupt, then report. */
export function guest_code_resample(): void {
  cli();
  xapic_enable();
  GUEST_SYNC(0n);
  while (resample_irqs.value < 1n) {
    safe_halt();
    cli();
  }
  GUEST_SYNC(1n);
  GUEST_DONE();
}

Deno.test({
  name: "irqfd resampler: a level pin held until the guest's EOI, which signals resamplefd",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_resample);
    const fd = eventfd(0, EFD_NONBLOCK);
    const rfd = eventfd(0, EFD_NONBLOCK);
    try {
      vm_install_exception_handler(vm, 0x61, guest_resample_handler);
      virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);
      vcpu_run(vcpu.value);
      let r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_SYNC);
      // IOAPIC pin 19: vector 0x61, level, unmasked, destination 0.
      const c = kvm_irqchip.alloc();
      c.chip_id = KVM_IRQCHIP_IOAPIC;
      assertEquals(__vm_ioctl(vm, KVM_GET_IRQCHIP, c), 0);
      c.chip.ioapic.redirtbl.at(19).bits = BigInt(0x61 | (1 << 15));
      assertEquals(__vm_ioctl(vm, KVM_SET_IRQCHIP, c), 0);
      assertEquals(irqfd(vm, fd, 19, KVM_IRQFD_FLAG_RESAMPLE, rfd), 0);
      assertEquals(efd_write(fd, 1n), 8);
      assertEquals(__vm_ioctl(vm, KVM_GET_IRQCHIP, c), 0);
      assertEquals(c.chip.ioapic.irr & (1 << 19), 1 << 19, "the level is held");
      assertEquals(efd_read(rfd), -EAGAIN, "no EOI yet");
      vcpu_run(vcpu.value);
      r = get_ucall(vcpu.value, uc);
      if (r === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(r, UCALL_SYNC);
      assertEquals(efd_read(rfd), 1n, "the EOI signalled the resamplefd");
      assertEquals(__vm_ioctl(vm, KVM_GET_IRQCHIP, c), 0);
      assertEquals(c.chip.ioapic.irr & (1 << 19), 0, "and lowered the line");
      vcpu_run(vcpu.value);
      assertEquals(get_ucall(vcpu.value, uc), UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
      close(fd);
      close(rfd);
    }
  },
});
