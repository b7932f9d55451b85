// SPDX-License-Identifier: GPL-2.0-only
/**
 * Coalesced MMIO/PIO in the simulated kernel: the ioctls' checks and
 * errnos, the one ring every vCPU maps at page 2, and which guest writes
 * are coalesced (wholly inside a zone, writes only, ring not full).
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  __vm_ioctl,
  __vm_vcpu_add,
  getpagesize,
  kvm_check_cap,
  type kvm_vcpu,
  kvm_vm_free,
  kvm_vm_register_coalesced_io,
  kvm_vm_unregister_coalesced_io,
  readq,
  ref,
  vcpu_run,
  virt_map,
  vm_create_barebones,
  vm_create_with_one_vcpu,
  writel,
  writeq,
} from "../../../../include/kvm_util.ts";
import {
  KVM_CAP_COALESCED_MMIO,
  KVM_CAP_COALESCED_PIO,
  kvm_coalesced_mmio_ring,
  kvm_coalesced_mmio_zone,
  KVM_EXIT_MMIO,
  KVM_REGISTER_COALESCED_MMIO,
  KVM_UNREGISTER_COALESCED_MMIO,
} from "../../../../include/linux/kvm.ts";
import { user_memory } from "../../../../include/libc/syscall.ts";
import { errno_get } from "../../../../include/libc/errno.ts";
import { EFAULT, EINVAL, ENOSPC } from "../../../../include/linux/errno.ts";
import { in_guest_worker } from "../../../../include/libc/process.ts";
import { KVM_COALESCED_MMIO_MAX, NR_IOBUS_DEVS } from "./coalesced_mmio.ts";

const MMIO_GPA = 1n << 32n;

/** Guest: a write straddling the zone's end, a read, then writes until the ring is full. */
export function guest_coalesced_code(): void {
  writel(0x11223344, MMIO_GPA + 6n); // 4 bytes at +6 of an 8-byte zone: not wholly inside
  readq(MMIO_GPA); // reads always exit
  for (let i = 0n;; i++) writeq(i, MMIO_GPA);
}

function zone(addr: bigint, size: number, pio: number) {
  const z = kvm_coalesced_mmio_zone.alloc();
  z.addr = addr;
  z.size = size;
  z.pio = pio;
  return z;
}

Deno.test({
  name: "coalesced MMIO: capabilities, pio must be 0 or 1, EFAULT, ENOSPC, unregister always 0",
  ignore: in_guest_worker(),
  fn() {
    assertEquals(kvm_check_cap(KVM_CAP_COALESCED_MMIO), 2);
    assertEquals(kvm_check_cap(KVM_CAP_COALESCED_PIO), 1);
    assertEquals(KVM_COALESCED_MMIO_MAX, 170);
    const vm = vm_create_barebones();
    try {
      for (const cmd of [KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO]) {
        assertEquals(__vm_ioctl(vm, cmd, zone(0x1000n, 8, 2)), -1);
        assertEquals(errno_get(), EINVAL);
        assertEquals(__vm_ioctl(vm, cmd, 0x10n), -1);
        assertEquals(errno_get(), EFAULT);
      }
      // Nothing registered: unregistering succeeds anyway.
      assertEquals(__vm_ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, zone(0x1000n, 8, 0)), 0);
      for (let i = 0; i < NR_IOBUS_DEVS; i++) {
        assertEquals(__vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, zone(BigInt(i) * 8n, 8, 1)), 0);
      }
      assertEquals(__vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, zone(0x9000n, 8, 1)), -1);
      assertEquals(errno_get(), ENOSPC);
      // The MMIO bus is another bus.
      assertEquals(__vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, zone(0x9000n, 8, 0)), 0);
      // Unregistering removes the zones that contain the range given, not
      // the zones inside it: a range over many zones removes none.
      kvm_vm_unregister_coalesced_io(vm, 0n, 8 * NR_IOBUS_DEVS, true);
      assertEquals(__vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, zone(0x9000n, 8, 1)), -1);
      assertEquals(errno_get(), ENOSPC);
      kvm_vm_unregister_coalesced_io(vm, 12n, 4, true);
      assertEquals(__vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, zone(0x9000n, 8, 1)), 0);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "coalesced MMIO: every vCPU maps the VM's one ring at KVM_COALESCED_MMIO_PAGE_OFFSET",
  ignore: in_guest_worker(),
  fn() {
    const vm = vm_create_barebones();
    try {
      const a = __vm_vcpu_add(vm, 0);
      const b = __vm_vcpu_add(vm, 1);
      const off = BigInt(kvm_check_cap(KVM_CAP_COALESCED_MMIO) * getpagesize());
      const ra = kvm_coalesced_mmio_ring.view(user_memory(a.run_hva + off, getpagesize()));
      const rb = kvm_coalesced_mmio_ring.view(user_memory(b.run_hva + off, getpagesize()));
      ra.first = 17;
      assertEquals(rb.first, 17);
      // The PIO data page is the vCPU's own.
      const pa = user_memory(a.run_hva + 4096n, 8);
      const pb = user_memory(b.run_hva + 4096n, 8);
      pa[0] = 0x5a;
      assertEquals(pb[0], 0);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "coalesced MMIO: straddling writes and reads exit; the ring keeps one entry free",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_coalesced_code);
    try {
      const v = vcpu.value;
      virt_map(vm, MMIO_GPA, MMIO_GPA, 1);
      kvm_vm_register_coalesced_io(vm, MMIO_GPA, 8, false);
      const off = BigInt(kvm_check_cap(KVM_CAP_COALESCED_MMIO) * getpagesize());
      const ring = kvm_coalesced_mmio_ring.view(user_memory(v.run_hva + off, getpagesize()));
      vcpu_run(v);
      assertEquals(v.run.exit_reason, KVM_EXIT_MMIO);
      assertEquals(v.run.mmio.phys_addr, MMIO_GPA + 6n);
      assertEquals(v.run.mmio.is_write, 1);
      vcpu_run(v);
      assertEquals(v.run.exit_reason, KVM_EXIT_MMIO);
      assertEquals(v.run.mmio.is_write, 0);
      assertEquals(ring.last, 0);
      // The loop fills the ring but one entry, then the next write exits.
      ring.first = 5;
      ring.last = 5;
      vcpu_run(v);
      assertEquals(v.run.exit_reason, KVM_EXIT_MMIO);
      assertEquals(v.run.mmio.is_write, 1);
      assertEquals(ring.last, 4);
      const e = ring.coalesced_mmio.at(5);
      assertEquals(e.phys_addr, MMIO_GPA);
      assertEquals(e.len, 8);
      assertEquals(e.pio, 0);
      const last = ring.coalesced_mmio.at(3);
      const d = new DataView(last.data.$bytes.buffer, last.data.$bytes.byteOffset, 8);
      assertEquals(d.getBigUint64(0, true), BigInt(KVM_COALESCED_MMIO_MAX - 2));
      // The exit carries the write that found the ring full.
      const x = v.run.mmio.data.$bytes;
      assertEquals(
        new DataView(x.buffer, x.byteOffset, 8).getBigUint64(0, true),
        BigInt(KVM_COALESCED_MMIO_MAX - 1),
      );
      // A full ring whose `last` userspace put out of range declines too.
      ring.first = 0;
      ring.last = 1000;
      vcpu_run(v);
      assertEquals(v.run.exit_reason, KVM_EXIT_MMIO);
      assertEquals(ring.last, 1000);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
