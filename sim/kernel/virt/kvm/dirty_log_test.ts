// SPDX-License-Identifier: GPL-2.0-only
/**
 * Dirty logging as virt/kvm/kvm_main.c defines it (kvm-x86/linux
 * 0f7e60a5f42a): `kvm_get_dirty_log_protect()` reports exactly the pages
 * written since the last call and re-protects them, `kvm_clear_dirty_log_protect()`
 * with `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2` (its checks in order), the
 * INITIALLY_SET option of `kvm_prepare_memory_region()`, and memslot flag
 * changes. Guest writes come from both CPUs: TypeScript guest code and the
 * machine-code interpreter.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  __vm_enable_cap,
  __vm_ioctl,
  addr_gpa2hva,
  addr_gva2hva,
  get_ucall,
  GUEST_SYNC,
  type kvm_vcpu,
  kvm_vm_clear_dirty_log,
  kvm_vm_free,
  kvm_vm_get_dirty_log,
  ref,
  REPORT_GUEST_ASSERT,
  UCALL_ABORT,
  ucall_struct,
  UCALL_SYNC,
  vcpu_run,
  vcpu_run_async,
  virt_map,
  vm_alloc_page,
  vm_check_cap,
  vm_create_with_one_vcpu,
  vm_enable_cap,
  vm_mem_region_set_flags,
  VM_MEM_SRC_ANONYMOUS,
  vm_userspace_mem_region_add,
} from "../../../../include/kvm_util.ts";
import { KVM_USER_MEM_SLOTS } from "../../include/linux/kvm_host.ts";
import { vcpu_args_set } from "../../../../include/x86/processor.ts";
import { in_guest_worker } from "../../../../include/libc/process.ts";
import { ptr, user_memory } from "../../../../include/libc/syscall.ts";
import { errno_get } from "../../../../include/libc/errno.ts";
import { EFAULT, EINVAL, ENOENT } from "../../../../include/linux/errno.ts";
import {
  KVM_CAP_DIRTY_LOG_RING,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CLEAR_DIRTY_LOG,
  kvm_clear_dirty_log,
  kvm_dirty_log,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_GET_DIRTY_LOG,
  KVM_MEM_LOG_DIRTY_PAGES,
} from "../../../../include/linux/kvm.ts";
import { readq, writeq } from "../../../../lib/guest_memory.ts";
import { guest_call } from "../../../../lib/x86/guest.ts";
import { vm_load_asm } from "../../../../lib/x86/fep.ts";

const SLOT = 1;
const GPA = 0x10000000n;
const GVA = 0x10000000n;
/** Not a multiple of 64: the bitmap's last long is partly past the slot. */
const NPAGES = 130;
const MAX_CMD = 64;

/**
 * Guest: at each sync the host leaves a command at `cmd`: [count, asm
 * store function or 0, page numbers...]; the guest writes each page's
 * first quadword, through TypeScript or through the machine-code store.
 */
export function guest_dirty_pages(cmd: bigint): void {
  for (;;) {
    GUEST_SYNC(0);
    const n = Number(readq(cmd));
    const store = readq(cmd + 8n);
    for (let i = 0; i < n; i++) {
      const page = readq(cmd + 16n + 8n * BigInt(i));
      const addr = GVA + page * 4096n;
      if (store) guest_call(store, addr, page + 1n);
      else writeq(page + 1n, addr);
    }
  }
}

/**
 * Guest: writes a counter to page 0 until the host sets the command
 * page's first quadword, then syncs.
 */
export function guest_spin_writes(cmd: bigint): void {
  for (let n = 1n; !readq(cmd); n++) writeq(n, GVA);
  GUEST_SYNC(0);
}

interface ctx {
  vm: ReturnType<typeof vm_create_with_one_vcpu>;
  vcpu: kvm_vcpu;
  cmd: Uint8Array;
  store: bigint;
}

function setup(manual = 0): ctx {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_dirty_pages);
  if (manual) vm_enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, manual);
  vm_userspace_mem_region_add(
    vm,
    VM_MEM_SRC_ANONYMOUS,
    GPA,
    SLOT,
    NPAGES,
    KVM_MEM_LOG_DIRTY_PAGES,
  );
  virt_map(vm, GVA, GPA, NPAGES);
  // The command page and the store function live in slot 0, which is not logged.
  const obj = vm_load_asm(vm, ["store:", "mov %rsi, (%rdi)", "ret"]);
  const cmd_gva = vm_alloc_page(vm);
  vcpu_args_set(vcpu.value, 1, cmd_gva);
  const ctx = {
    vm,
    vcpu: vcpu.value,
    cmd: user_memory(addr_gva2hva(vm, cmd_gva), 8 * (2 + MAX_CMD)),
    store: obj.labels.get("store")!,
  };
  run(ctx); // to the first sync
  return ctx;
}

function run(c: ctx): void {
  const uc = ucall_struct.alloc();
  vcpu_run(c.vcpu);
  const cmd = get_ucall(c.vcpu, uc);
  if (cmd === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
  assertEquals(cmd, UCALL_SYNC);
}

/** The guest writes `pages` (through the interpreter when `asm`), then syncs. */
function dirty(c: ctx, pages: number[], asm = false): void {
  const dv = new DataView(c.cmd.buffer, c.cmd.byteOffset, c.cmd.byteLength);
  dv.setBigUint64(0, BigInt(pages.length), true);
  dv.setBigUint64(8, asm ? c.store : 0n, true);
  pages.forEach((p, i) => dv.setBigUint64(16 + 8 * i, BigInt(p), true));
  run(c);
}

/** KVM_GET_DIRTY_LOG: the set pages. */
function get_log(c: ctx): number[] {
  const log = new Uint8Array(Math.ceil(NPAGES / 64) * 8);
  kvm_vm_get_dirty_log(c.vm, SLOT, log);
  return set_bits(log);
}

function set_bits(log: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < log.length * 8; i++) if (log[i >> 3]! & (1 << (i & 7))) out.push(i);
  return out;
}

function bitmap_of(pages: number[], nbits = NPAGES): Uint8Array {
  const b = new Uint8Array(Math.ceil(nbits / 64) * 8);
  for (const p of pages) b[p >> 3]! |= 1 << (p & 7);
  return b;
}

const test = (name: string, fn: () => void | Promise<void>) =>
  Deno.test({ name, ignore: in_guest_worker(), fn, sanitizeResources: false });

test("capabilities: MANUAL_DIRTY_LOG_PROTECT2 reports both options (and the ring's size)", () => {
  const c = setup();
  try {
    assertEquals(
      vm_check_cap(c.vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2),
      KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET,
    );
    assertEquals(vm_check_cap(c.vm, KVM_CAP_DIRTY_LOG_RING), 65536 * 16);
    // kvm_vm_ioctl_enable_cap_generic(): INITIALLY_SET needs ENABLE; no other bits.
    assertEquals(__vm_enable_cap(c.vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 2), -1);
    assertEquals(errno_get(), EINVAL);
    assertEquals(__vm_enable_cap(c.vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, 4), -1);
    assertEquals(errno_get(), EINVAL);
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("kvm_get_dirty_log_protect: exactly the pages written since the last call, both CPUs", () => {
  const c = setup();
  try {
    // A new slot's bitmap starts clear.
    assertEquals(get_log(c), []);
    dirty(c, [0, 5, 64, 129]);
    assertEquals(get_log(c), [0, 5, 64, 129]);
    // Taken and re-protected: nothing until the next writes, which fault again.
    assertEquals(get_log(c), []);
    dirty(c, [5, 7]);
    assertEquals(get_log(c), [5, 7]);
    // The machine-code interpreter's stores are logged the same way, also
    // through a TLB entry that was writable before the log was taken.
    dirty(c, [3, 100], true);
    assertEquals(get_log(c), [3, 100]);
    dirty(c, [3, 100, 101], true);
    assertEquals(get_log(c), [3, 100, 101]);
    // Reads do not dirty.
    dirty(c, []);
    assertEquals(get_log(c), []);
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("KVM_GET_DIRTY_LOG / KVM_CLEAR_DIRTY_LOG argument checks in kvm_main.c's order", () => {
  const c = setup(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
  try {
    const get = (slot: number, bitmap: bigint | Uint8Array) => {
      const a = kvm_dirty_log.alloc();
      a.slot = slot;
      a.dirty_bitmap = typeof bitmap === "bigint" ? bitmap : ptr(bitmap);
      return __vm_ioctl(c.vm, KVM_GET_DIRTY_LOG, a) < 0 ? errno_get() : 0;
    };
    const clear = (slot: number, first: bigint, num: number, bitmap: Uint8Array | null) => {
      const a = kvm_clear_dirty_log.alloc();
      a.slot = slot;
      a.first_page = first;
      a.num_pages = num;
      a.dirty_bitmap = bitmap ? ptr(bitmap) : 0n;
      return __vm_ioctl(c.vm, KVM_CLEAR_DIRTY_LOG, a) < 0 ? errno_get() : 0;
    };
    const buf = new Uint8Array(24);
    assertEquals(get(KVM_USER_MEM_SLOTS, buf), EINVAL);
    assertEquals(get(2 << 16 | SLOT, buf), EINVAL); // no such address space
    assertEquals(get(0, buf), ENOENT); // slot 0 is not logged
    assertEquals(get(7, buf), ENOENT); // no slot 7
    assertEquals(get(SLOT, 0x10n), EFAULT);
    assertEquals(get(SLOT, buf), 0);
    // Slot id first, then first_page alignment, then the slot, then the range.
    assertEquals(clear(KVM_USER_MEM_SLOTS, 1n, 64, buf), EINVAL);
    assertEquals(clear(SLOT, 1n, 64, buf), EINVAL);
    assertEquals(clear(7, 1n, 64, buf), EINVAL);
    assertEquals(clear(7, 0n, 64, buf), ENOENT);
    assertEquals(clear(0, 0n, 64, buf), ENOENT);
    assertEquals(clear(SLOT, 192n, 0, buf), EINVAL); // first_page > npages
    assertEquals(clear(SLOT, 64n, 67, buf), EINVAL); // past the slot's end
    assertEquals(clear(SLOT, 0n, 65, buf), EINVAL); // not a multiple of 64, not to the end
    assertEquals(clear(SLOT, 64n, 66, buf), 0); // to the end: any count
    assertEquals(clear(SLOT, 128n, 2, buf), 0);
    assertEquals(clear(SLOT, 0n, 64, null), EFAULT);
    assertEquals(clear(SLOT, 0n, 0, null), 0); // nothing to read
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("manual protect: GET leaves bits set, CLEAR re-protects only the named pages", () => {
  const c = setup(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
  try {
    dirty(c, [1, 2, 70]);
    assertEquals(get_log(c), [1, 2, 70]);
    assertEquals(get_log(c), [1, 2, 70]);
    // Clear page 2 and 70 (and 3, which was clean: nothing happens to it).
    kvm_vm_clear_dirty_log(c.vm, SLOT, bitmap_of([2, 3, 70]), 0, NPAGES);
    assertEquals(get_log(c), [1]);
    // Page 1 is still writable without logging (its bit stays), page 2 faults again.
    dirty(c, [1, 2], true);
    assertEquals(get_log(c), [1, 2]);
    // A range clear at first_page 64: bit i of the user bitmap is page 64 + i.
    dirty(c, [65, 129]);
    kvm_vm_clear_dirty_log(c.vm, SLOT, bitmap_of([1]), 64, NPAGES - 64);
    assertEquals(get_log(c), [1, 2, 129]);
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("INITIALLY_SET: a new logged slot reports every page until cleared", () => {
  const c = setup(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
  try {
    const all = Array.from({ length: NPAGES }, (_, i) => i);
    // Only the slot's pages: the bits past page 129 in the last long stay clear.
    assertEquals(get_log(c), all);
    kvm_vm_clear_dirty_log(c.vm, SLOT, bitmap_of(all), 0, NPAGES);
    assertEquals(get_log(c), []);
    dirty(c, [9]);
    assertEquals(get_log(c), [9]);
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("memslot flags: logging off drops the bitmap (ENOENT), on again starts clean", () => {
  const c = setup();
  try {
    dirty(c, [4]);
    vm_mem_region_set_flags(c.vm, SLOT, 0);
    const log = new Uint8Array(24);
    const a = kvm_dirty_log.alloc();
    a.slot = SLOT;
    a.dirty_bitmap = ptr(log);
    assertEquals(__vm_ioctl(c.vm, KVM_GET_DIRTY_LOG, a), -1);
    assertEquals(errno_get(), ENOENT);
    dirty(c, [6]);
    vm_mem_region_set_flags(c.vm, SLOT, KVM_MEM_LOG_DIRTY_PAGES);
    assertEquals(get_log(c), []);
    dirty(c, [6, 8]);
    assertEquals(get_log(c), [6, 8]);
  } finally {
    kvm_vm_free(c.vm);
  }
});

test("a vCPU in guest mode: each KVM_GET_DIRTY_LOG re-protects through a remote TLB flush", async () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_spin_writes);
  try {
    vm_userspace_mem_region_add(
      vm,
      VM_MEM_SRC_ANONYMOUS,
      GPA,
      SLOT,
      NPAGES,
      KVM_MEM_LOG_DIRTY_PAGES,
    );
    virt_map(vm, GVA, GPA, NPAGES);
    const cmd_gva = vm_alloc_page(vm);
    const cmd = new DataView(user_memory(addr_gva2hva(vm, cmd_gva), 8).buffer);
    const cmd_off = user_memory(addr_gva2hva(vm, cmd_gva), 8).byteOffset;
    const page0 = user_memory(addr_gpa2hva(vm, GPA), 8);
    const counter = () => new DataView(page0.buffer, page0.byteOffset, 8).getBigUint64(0, true);
    vcpu_args_set(vcpu.value, 1, cmd_gva);
    const running = vcpu_run_async(vcpu.value);
    // Waits until the guest has written again, while it keeps running.
    const next_write = async () => {
      const seen = counter();
      const give_up = Date.now() + 20000;
      while (counter() === seen) {
        if (Date.now() > give_up) throw new Error("the guest stopped writing");
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    for (let i = 0; i < 3; i++) {
      await next_write();
      // Without the flush, the page would stay writable in the vCPU's TLB
      // and the writes after the first log would go unlogged.
      assertEquals(get_log_of(vm), [0]);
    }
    cmd.setBigUint64(cmd_off, 1n, true);
    await running;
    assertEquals(get_ucall(vcpu.value, null), UCALL_SYNC);
  } finally {
    kvm_vm_free(vm);
  }
});

function get_log_of(vm: ReturnType<typeof vm_create_with_one_vcpu>): number[] {
  const log = new Uint8Array(Math.ceil(NPAGES / 64) * 8);
  kvm_vm_get_dirty_log(vm, SLOT, log);
  return set_bits(log);
}
