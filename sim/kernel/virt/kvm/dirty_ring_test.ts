// SPDX-License-Identifier: GPL-2.0-only
/**
 * The dirty ring as virt/kvm/dirty_ring.c and kvm_main.c define it
 * (kvm-x86/linux 0f7e60a5f42a): `kvm_vm_ioctl_enable_dirty_log_ring()`'s
 * checks, no bitmaps with a ring (ENXIO), the ring's mapping
 * (`kvm_vcpu_mmap()`: shared, not executable), one entry per write-protected
 * page written (`kvm_dirty_ring_push()`), `KVM_RESET_DIRTY_RINGS` resetting
 * only harvested entries and re-protecting their pages, and the soft-full
 * exit (`kvm_dirty_ring_check_request()`).
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  __vm_create,
  __vm_enable_cap,
  __vm_ioctl,
  addr_gva2hva,
  get_ucall,
  GUEST_SYNC,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  kvm_vm_reset_dirty_ring,
  UCALL_SYNC,
  vcpu_map_dirty_ring,
  vcpu_run,
  virt_map,
  vm_alloc_page,
  vm_check_cap,
  vm_enable_dirty_ring,
  VM_MEM_SRC_ANONYMOUS,
  VM_SHAPE_DEFAULT,
  vm_userspace_mem_region_add,
  vm_vcpu_add,
} from "../../../../include/kvm_util.ts";
import { vcpu_args_set } from "../../../../include/x86/processor.ts";
import { in_guest_worker } from "../../../../include/libc/process.ts";
import { mmap, user_memory } from "../../../../include/libc/syscall.ts";
import { errno_get } from "../../../../include/libc/errno.ts";
import { E2BIG, EINVAL, ENXIO } from "../../../../include/linux/errno.ts";
import {
  KVM_CAP_DIRTY_LOG_RING,
  KVM_CAP_DIRTY_LOG_RING_ACQ_REL,
  KVM_CLEAR_DIRTY_LOG,
  kvm_clear_dirty_log,
  KVM_DIRTY_GFN_F_DIRTY,
  KVM_DIRTY_GFN_F_RESET,
  kvm_dirty_log,
  KVM_EXIT_DIRTY_RING_FULL,
  KVM_GET_DIRTY_LOG,
  KVM_MEM_LOG_DIRTY_PAGES,
} from "../../../../include/linux/kvm.ts";
import { KVM_DIRTY_LOG_PAGE_OFFSET } from "../../../../include/asm/kvm.ts";
import {
  MAP_FAILED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "../../../../include/linux/mman.ts";
import { readq, writeq } from "../../../../lib/guest_memory.ts";

const SLOT = 1;
const GPA = 0x10000000n;
const GVA = 0x10000000n;
const NPAGES = 512;
/** The smallest ring: 576 reserved entries (64 + a PML buffer) need 9216 bytes. */
const RING_BYTES = 16384;
const RING_ENTRIES = RING_BYTES / 16;
const SOFT_LIMIT = RING_ENTRIES - 576;

/** Guest: at each sync, writes pages [first, first + count) of the test slot (host's command). */
export function guest_write_range(cmd: bigint): void {
  for (;;) {
    GUEST_SYNC(0);
    const first = readq(cmd);
    const count = readq(cmd + 8n);
    for (let p = first; p < first + count; p++) writeq(p + 1n, GVA + p * 4096n);
  }
}

interface ctx {
  vm: kvm_vm;
  vcpu: kvm_vcpu;
  cmd: DataView;
  ring: DataView;
  fetch: number;
}

function setup(): ctx {
  const vm = __vm_create(VM_SHAPE_DEFAULT, 1, 0);
  vm_enable_dirty_ring(vm, RING_BYTES);
  const vcpu = vm_vcpu_add(vm, 0, guest_write_range);
  vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, GPA, SLOT, NPAGES, KVM_MEM_LOG_DIRTY_PAGES);
  virt_map(vm, GVA, GPA, NPAGES);
  const cmd_gva = vm_alloc_page(vm);
  vcpu_args_set(vcpu, 1, cmd_gva);
  const cmd = user_memory(addr_gva2hva(vm, cmd_gva), 16);
  const ring = user_memory(vcpu_map_dirty_ring(vcpu), RING_BYTES);
  const c = {
    vm,
    vcpu,
    cmd: new DataView(cmd.buffer, cmd.byteOffset, 16),
    ring: new DataView(ring.buffer, ring.byteOffset, RING_BYTES),
    fetch: 0,
  };
  vcpu_run(vcpu); // to the first sync
  assertEquals(get_ucall(vcpu, null), UCALL_SYNC);
  return c;
}

/** Runs the guest over pages [first, first + count); the exit reason. */
function write_range(c: ctx, first: number, count: number): number {
  c.cmd.setBigUint64(0, BigInt(first), true);
  c.cmd.setBigUint64(8, BigInt(count), true);
  vcpu_run(c.vcpu);
  return c.vcpu.run.exit_reason;
}

/** Harvests the dirty entries from the fetch index, marking them RESET; their pages. */
function harvest(c: ctx): number[] {
  const out: number[] = [];
  for (;;) {
    const off = (c.fetch % RING_ENTRIES) * 16;
    if (c.ring.getUint32(off, true) !== KVM_DIRTY_GFN_F_DIRTY) break;
    assertEquals(c.ring.getUint32(off + 4, true), SLOT);
    out.push(Number(c.ring.getBigUint64(off + 8, true)));
    c.ring.setUint32(off, KVM_DIRTY_GFN_F_RESET, true);
    c.fetch++;
  }
  return out;
}

const test = (name: string, fn: () => void) =>
  Deno.test({ name, ignore: in_guest_worker(), fn, sanitizeResources: false });

test("kvm_vm_ioctl_enable_dirty_log_ring(): size checks, once, before vCPUs", () => {
  const vm = __vm_create(VM_SHAPE_DEFAULT, 1, 0);
  try {
    assertEquals(vm_check_cap(vm, KVM_CAP_DIRTY_LOG_RING), 65536 * 16);
    assertEquals(vm_check_cap(vm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL), 65536 * 16);
    const enable = (size: number) =>
      __vm_enable_cap(vm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL, size) < 0 ? errno_get() : 0;
    assertEquals(enable(0), EINVAL);
    assertEquals(enable(12288), EINVAL); // not a power of two
    assertEquals(enable(8192), EINVAL); // below the 576 reserved entries
    assertEquals(enable(2 * 65536 * 16), E2BIG);
    assertEquals(enable(RING_BYTES), 0);
    assertEquals(enable(RING_BYTES), EINVAL); // only once
    const vm2 = __vm_create(VM_SHAPE_DEFAULT, 1, 0);
    vm_vcpu_add(vm2, 0, guest_write_range);
    assertEquals(__vm_enable_cap(vm2, KVM_CAP_DIRTY_LOG_RING, RING_BYTES), -1);
    assertEquals(errno_get(), EINVAL); // vCPUs exist
    kvm_vm_free(vm2);
  } finally {
    kvm_vm_free(vm);
  }
});

test("with a ring: no dirty bitmaps (ENXIO), the ring maps shared and not executable", () => {
  const c = setup();
  try {
    const get = kvm_dirty_log.alloc();
    get.slot = SLOT;
    get.dirty_bitmap = BigInt(0x1000);
    assertEquals(__vm_ioctl(c.vm, KVM_GET_DIRTY_LOG, get), -1);
    assertEquals(errno_get(), ENXIO);
    const clear = kvm_clear_dirty_log.alloc();
    clear.slot = SLOT;
    clear.num_pages = 64;
    assertEquals(__vm_ioctl(c.vm, KVM_CLEAR_DIRTY_LOG, clear), -1);
    assertEquals(errno_get(), ENXIO);
    const off = KVM_DIRTY_LOG_PAGE_OFFSET * 4096;
    assertEquals(mmap(0n, RING_BYTES, PROT_READ, MAP_PRIVATE, c.vcpu.fd, off), MAP_FAILED);
    assertEquals(errno_get(), EINVAL);
    assertEquals(
      mmap(0n, RING_BYTES, PROT_READ | PROT_EXEC, MAP_SHARED, c.vcpu.fd, off),
      MAP_FAILED,
    );
    assertEquals(errno_get(), EINVAL);
    const ok = mmap(0n, RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, c.vcpu.fd, off);
    assertEquals(ok === MAP_FAILED, false);
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("kvm_dirty_ring_push(): one entry per protected page written; reset re-protects harvested pages", () => {
  const c = setup();
  try {
    write_range(c, 3, 3);
    assertEquals(get_ucall(c.vcpu, null), UCALL_SYNC);
    // Writable now: writing the same pages again adds nothing.
    write_range(c, 3, 3);
    // Nothing harvested yet: nothing to reset.
    assertEquals(kvm_vm_reset_dirty_ring(c.vm), 0);
    assertEquals(harvest(c), [3, 4, 5]);
    write_range(c, 4, 1); // still writable until the reset
    assertEquals(harvest(c), []);
    assertEquals(kvm_vm_reset_dirty_ring(c.vm), 3);
    assertEquals(kvm_vm_reset_dirty_ring(c.vm), 0);
    // Re-protected: each page written is logged once more.
    write_range(c, 2, 3);
    assertEquals(harvest(c), [2, 3, 4]);
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("kvm_dirty_ring_check_request(): a soft-full ring keeps the vCPU out until reset", () => {
  const c = setup();
  try {
    // More distinct pages than the soft limit: the vCPU exits when it is reached.
    assertEquals(write_range(c, 0, SOFT_LIMIT + 10), KVM_EXIT_DIRTY_RING_FULL);
    // Entering again without a reset exits at once.
    vcpu_run(c.vcpu);
    assertEquals(c.vcpu.run.exit_reason, KVM_EXIT_DIRTY_RING_FULL);
    const pages = harvest(c);
    assertEquals(pages.length, SOFT_LIMIT);
    assertEquals(pages, Array.from({ length: SOFT_LIMIT }, (_, i) => i));
    assertEquals(kvm_vm_reset_dirty_ring(c.vm), SOFT_LIMIT);
    // Room again: the guest finishes its range and syncs. The write that
    // filled the ring had not completed (the vCPU exited before retrying
    // it) and its page was re-protected by the reset, so it is logged again.
    vcpu_run(c.vcpu);
    assertEquals(get_ucall(c.vcpu, null), UCALL_SYNC);
    assertEquals(harvest(c), Array.from({ length: 11 }, (_, i) => SOFT_LIMIT - 1 + i));
  } finally {
    kvm_vm_free(c.vm);
  }
});
