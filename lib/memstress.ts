// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/lib/memstress.c` and
 * `include/memstress.h` (kvm-x86 `next` at 1a27afa0511e): a VM whose vCPUs
 * each walk a region of test memory (one or more memslots at the top of
 * the guest-physical space, mapped at `DEFAULT_GUEST_TEST_MEM`), writing or
 * reading the first quadword of every page, then `GUEST_SYNC(1)`, forever;
 * the host runs one thread per vCPU with a function the test supplies.
 *
 * Copyright (C) 2020, Google LLC.
 *
 * What differs from C:
 * - `struct memstress_args` lives in guest memory (the `memstress_args`
 *   guest global) with its guest-visible members; the host pointers C keeps
 *   in it (`vm`, each `vcpu_args[i].vcpu`) are host-side here
 *   ({@linkcode memstress_vcpu} is what a vCPU thread function receives).
 *   `stop_vcpus` is read from the host copy.
 * - The guest's random state is seeded from `memstress_args.random_seed`,
 *   which `memstress_create_vm()` sets to the library's random seed (C's
 *   guest reads `kvm_random_seed`, a global the library syncs; the
 *   TypeScript library keeps it host-side).
 * - The guest reads `write_percent` and `random_access` once per pass over
 *   its pages rather than at each access (a guest-memory read each), so a
 *   change from the host takes effect at the next pass.
 * - vCPU threads are async functions (`vcpu_run_async()` loops): each
 *   starts, marks itself running and waits until all are, as in C;
 *   {@linkcode memstress_join_vcpu_threads} awaits them.
 * - Pinning (`pin_vcpus`) is accepted but does nothing: vCPU workers cannot
 *   be pinned from Deno.
 * - Nested (L2) vCPUs: the x86 part (`lib/x86/memstress.c`) needs the
 *   library's nested VMX/SVM and TDP helpers, which are not ported;
 *   {@linkcode memstress_setup_nested} is C's weak default (skip).
 *
 * @module
 */

import { array, offsetof, s32, sizeof, struct, u32, u64, u8 } from "../include/c/layout.ts";
import { KSFT_SKIP } from "../include/kselftest.ts";
import { exit } from "../include/libc/exit.ts";
import {
  type gva_t,
  KVM_MAX_VCPUS,
  type kvm_vcpu,
  type kvm_vm,
  type vm_guest_mode,
  type vm_mem_backing_src_type,
  VM_SHAPE,
} from "../include/kvm_util_types.ts";
import { KVM_MEM_LOG_DIRTY_PAGES } from "../include/linux/kvm.ts";
import { guest_global } from "./guest_globals.ts";
import { guest_fn_register } from "../include/guest_code.ts";
import { readb, readl, readq, writeq } from "./guest_memory.ts";
import {
  __vm_create_with_vcpus,
  getpagesize,
  kvm_random_seed,
  kvm_vm_clear_dirty_log,
  kvm_vm_free,
  kvm_vm_get_dirty_log,
  sync_global_to_guest,
  virt_map,
  vm_adjust_num_guest_pages,
  vm_guest_mode_params_table,
  vm_guest_mode_string,
  vm_mem_region_set_flags,
  vm_userspace_mem_region_add,
} from "./kvm_util.ts";
import {
  __kvm_random_bool,
  align_down,
  get_backing_src_pagesz,
  kvm_random_u32,
  new_kvm_random_state,
  pr_debug,
  pr_info,
  TEST_ASSERT,
} from "../include/test_util.ts";
import { GUEST_ASSERT, GUEST_SYNC } from "./ucall_common.ts";
import { vcpu_args_set } from "./x86/processor.ts";

/** GVA where the test region is mapped unless a test moves it (3 GiB, clear of the image). */
export const DEFAULT_GUEST_TEST_MEM = 0xc0000000n;

/** Test memory each vCPU gets when the test does not say: 1 GiB. */
export const DEFAULT_PER_VCPU_MEM_SIZE: number = 1 << 30;

/** The first memslot of the test region. */
export const MEMSTRESS_MEM_SLOT_INDEX = 1;

/** `struct memstress_vcpu_args` (`vcpu` is a host pointer C keeps; 0 in guest memory). */
export const memstress_vcpu_args = struct("memstress_vcpu_args", {
  gpa: u64,
  gva: u64,
  pages: u64,
  vcpu: u64,
  vcpu_idx: s32,
});

/** `struct memstress_args` (`vm` is a host pointer C keeps; 0 in guest memory). */
export const memstress_args_t = struct("memstress_args", {
  vm: u64,
  gpa: u64,
  size: u64,
  guest_page_size: u64,
  random_seed: u32,
  write_percent: u32,
  nested: u8,
  random_access: u8,
  pin_vcpus: u8,
  vcpu_to_pcpu: array(u32, KVM_MAX_VCPUS),
  stop_vcpus: u8,
  vcpu_args: array(memstress_vcpu_args, KVM_MAX_VCPUS),
});

/** C `struct memstress_args memstress_args`, shared with the guest. */
export const memstress_args = guest_global("memstress_args", memstress_args_t);

/** What a vCPU thread function gets: C's `struct memstress_vcpu_args *`, with its host pointer. */
export interface memstress_vcpu {
  /** The vCPU. */
  vcpu: kvm_vcpu;
  /** Its index. */
  vcpu_idx: number;
  /** First GPA of its test memory. */
  gpa: bigint;
  /** First GVA of its test memory. */
  gva: gva_t;
  /** Pages of its test memory. */
  pages: bigint;
}

/** The VM of the last {@linkcode memstress_create_vm} (C `memstress_args.vm`). */
export let memstress_vm: kvm_vm | null = null;

/** GVA of the test region; it has to stay clear of the identity-mapped image and library pages. */
const guest_test_virt_mem = DEFAULT_GUEST_TEST_MEM;

/** The vCPUs of the test, by index (C's `vcpus[]` and `vcpu_args[i].vcpu`). */
const vcpus: kvm_vcpu[] = [];

interface vcpu_thread {
  vcpu_idx: number;
  thread: Promise<void> | null;
  running: boolean;
}

const vcpu_threads: vcpu_thread[] = [];
let vcpu_thread_fn: ((args: memstress_vcpu) => void | Promise<void>) | null = null;
let all_vcpu_threads_running: Promise<void> = Promise.resolve();

const OFF_GUEST_PAGE_SIZE = offsetof(memstress_args_t, "guest_page_size");
const OFF_RANDOM_SEED = offsetof(memstress_args_t, "random_seed");
const OFF_WRITE_PERCENT = offsetof(memstress_args_t, "write_percent");
const OFF_RANDOM_ACCESS = offsetof(memstress_args_t, "random_access");
const OFF_VCPU_ARGS = offsetof(memstress_args_t, "vcpu_args");
const OFF_V_GVA = offsetof(memstress_vcpu_args, "gva");
const OFF_V_PAGES = offsetof(memstress_vcpu_args, "pages");
const OFF_V_VCPU_IDX = offsetof(memstress_vcpu_args, "vcpu_idx");

/**
 * C `memstress_guest_code(vcpu_idx)`: loop forever touching one quadword per
 * page of this vCPU's slice (a store or a load, per `write_percent`), with a
 * `GUEST_SYNC(1)` after every pass.
 *
 * @param vcpu_idx the vCPU's index (the first argument `vcpu_args_set` passes)
 */
export function memstress_guest_code(vcpu_idx: bigint): void {
  const args = memstress_args.gva;
  const vcpu_args = args + BigInt(OFF_VCPU_ARGS + Number(vcpu_idx) * sizeof(memstress_vcpu_args));
  const guest_page_size = readq(args + BigInt(OFF_GUEST_PAGE_SIZE));
  const rand_state = new_kvm_random_state(readl(args + BigInt(OFF_RANDOM_SEED)) + Number(vcpu_idx));
  const size = BigInt(sizeof(memstress_args_t));

  const gva = readq(vcpu_args + BigInt(OFF_V_GVA));
  const pages = readq(vcpu_args + BigInt(OFF_V_PAGES));

  // A wrong index here means the host wrote this vCPU's args slot badly.
  const idx = readl(vcpu_args + BigInt(OFF_V_VCPU_IDX));
  GUEST_ASSERT(idx === Number(vcpu_idx));

  while (true) {
    for (let i = 0n; i < size; i += guest_page_size) readb(args + i);

    const random_access = readb(args + BigInt(OFF_RANDOM_ACCESS)) !== 0;
    const write_percent = readl(args + BigInt(OFF_WRITE_PERCENT));
    for (let i = 0n; i < pages; i++) {
      const page = random_access ? BigInt(kvm_random_u32(rand_state)) % pages : i;
      const addr = gva + page * guest_page_size;

      if (__kvm_random_bool(rand_state, write_percent)) writeq(0x0123456789ABCDEFn, addr);
      else readq(addr);
    }

    GUEST_SYNC(1);
  }
}

// The guest image is the test module; the library's guest code is found
// through the SDK's registry (in vCPU workers too, which import this module).
guest_fn_register(memstress_guest_code.name, memstress_guest_code);

/**
 * C `memstress_setup_vcpus()`: each vCPU's slice of the test region (or
 * the whole region when not partitioned), and its index as its argument.
 */
export function memstress_setup_vcpus(
  _vm: kvm_vm,
  nr_vcpus: number,
  vcpus_in: kvm_vcpu[],
  vcpu_memory_bytes: bigint,
  partition_vcpu_memory_access: boolean,
): void {
  const args = memstress_args.value;

  for (let i = 0; i < nr_vcpus; i++) {
    const vcpu_args = args.vcpu_args.at(i);

    vcpus[i] = vcpus_in[i]!;
    vcpu_args.vcpu_idx = i;

    if (partition_vcpu_memory_access) {
      vcpu_args.gva = guest_test_virt_mem + BigInt(i) * vcpu_memory_bytes;
      vcpu_args.pages = vcpu_memory_bytes / args.guest_page_size;
      vcpu_args.gpa = args.gpa + BigInt(i) * vcpu_memory_bytes;
    } else {
      vcpu_args.gva = guest_test_virt_mem;
      vcpu_args.pages = BigInt(nr_vcpus) * vcpu_memory_bytes / args.guest_page_size;
      vcpu_args.gpa = args.gpa;
    }

    vcpu_args_set(vcpus_in[i]!, 1, i);

    pr_debug(
      "Added VCPU %d with test mem gpa [%lx, %lx)\n",
      i,
      vcpu_args.gpa,
      vcpu_args.gpa + vcpu_args.pages * args.guest_page_size,
    );
  }
}

/**
 * C `memstress_create_vm()`: a VM of `nr_vcpus` vCPUs running
 * {@linkcode memstress_guest_code}, with `nr_vcpus * vcpu_memory_bytes` of
 * test memory split evenly into `slots` memslots at the top of the
 * guest-physical space.
 */
export function memstress_create_vm(
  mode: vm_guest_mode,
  nr_vcpus: number,
  vcpu_memory_bytes: bigint | number,
  slots: number,
  backing_src: vm_mem_backing_src_type,
  partition_vcpu_memory_access: boolean,
): kvm_vm {
  const args = memstress_args.value;
  const bytes = BigInt(vcpu_memory_bytes);
  let slot0_pages = 0n;
  const backing_src_pagesz = get_backing_src_pagesz(backing_src);

  pr_info("Testing guest mode: %s\n", vm_guest_mode_string(mode));

  // Every access is a store until the test sets a write percentage.
  args.write_percent = 100;

  // The guest steps by the base page size even on hugepage backing, since
  // dirty logging tracks base pages.
  args.guest_page_size = BigInt(vm_guest_mode_params_table[mode]!.page_size);

  const guest_num_pages = vm_adjust_num_guest_pages(
    mode,
    BigInt(nr_vcpus) * bytes / args.guest_page_size,
  );

  TEST_ASSERT(
    bytes % BigInt(getpagesize()) === 0n,
    "Guest memory size is not host page size aligned.",
  );
  TEST_ASSERT(
    bytes % args.guest_page_size === 0n,
    "Guest memory size is not guest page size aligned.",
  );
  TEST_ASSERT(
    guest_num_pages % BigInt(slots) === 0n,
    "Guest memory cannot be evenly divided into %d slots.",
    slots,
  );

  // L2 runs need room in slot 0 for the L1 hypervisor's state and TDP tables.
  if (args.nested) slot0_pages += memstress_nested_pages(nr_vcpus);

  // Slot 0 is sized to include the test pages so that enough page-table
  // pages are reserved to map them; slot 0 then holds that much memory
  // too, which is harmless since memslots may share host memory.
  const vcpus_out: kvm_vcpu[] = [];
  const vm = __vm_create_with_vcpus(
    VM_SHAPE(mode),
    nr_vcpus,
    slot0_pages + guest_num_pages,
    memstress_guest_code,
    vcpus_out,
  );

  memstress_vm = vm;

  // The test region ends at the highest GFN the guest can address.
  let region_end_gfn = vm.max_gfn + 1n;

  // L2's identity map uses 4-level tables, which reach only 48 bits of GPA.
  if (args.nested) {
    const limit = (1n << 48n) / args.guest_page_size;
    if (limit < region_end_gfn) region_end_gfn = limit;
  }

  // The requested size has to fit below the top GFN.
  TEST_ASSERT(
    guest_num_pages < region_end_gfn,
    "Requested more guest memory than address space allows.\n" +
      "    guest pages: %lx max gfn: %lx nr_vcpus: %d wss: %lx]",
    guest_num_pages,
    region_end_gfn - 1n,
    nr_vcpus,
    bytes,
  );

  args.gpa = (region_end_gfn - guest_num_pages - 1n) * args.guest_page_size;
  args.gpa = align_down(args.gpa, backing_src_pagesz);
  args.size = guest_num_pages * args.guest_page_size;
  pr_info("guest physical test memory: [0x%lx, 0x%lx)\n", args.gpa, args.gpa + args.size);

  // One memslot per slice of the region, starting at MEMSTRESS_MEM_SLOT_INDEX.
  for (let i = 0; i < slots; i++) {
    const region_pages = guest_num_pages / BigInt(slots);
    const region_start = args.gpa + region_pages * args.guest_page_size * BigInt(i);

    vm_userspace_mem_region_add(
      vm,
      backing_src,
      region_start,
      MEMSTRESS_MEM_SLOT_INDEX + i,
      region_pages,
      0,
    );
  }

  // The guest reaches the region through one contiguous GVA range.
  virt_map(vm, guest_test_virt_mem, args.gpa, Number(guest_num_pages));

  memstress_setup_vcpus(vm, nr_vcpus, vcpus_out, bytes, partition_vcpu_memory_access);

  if (args.nested) {
    pr_info("Configuring vCPUs to run in L2 (nested).\n");
    memstress_setup_nested(vm, nr_vcpus, vcpus_out);
  }

  // See the module header: the guest's seed.
  args.random_seed = kvm_random_seed;

  // The guest reads its arguments from its own copy of the global.
  sync_global_to_guest(vm, memstress_args);

  return vm;
}

/** C `memstress_destroy_vm()`. */
export function memstress_destroy_vm(vm: kvm_vm): void {
  kvm_vm_free(vm);
  if (memstress_vm === vm) memstress_vm = null;
  vcpus.length = 0;
}

/** C `memstress_set_write_percent()`: the share of accesses that write (0-100). */
export function memstress_set_write_percent(vm: kvm_vm, write_percent: number): void {
  memstress_args.value.write_percent = write_percent;
  sync_global_to_guest(vm, memstress_args);
}

/**
 * C `memstress_set_random_seed()` (upstream's before the guest read the
 * library's seed; see the module header): the seed the guests' random
 * states start from (plus the vCPU index).
 */
export function memstress_set_random_seed(vm: kvm_vm, random_seed: number): void {
  memstress_args.value.random_seed = random_seed;
  sync_global_to_guest(vm, memstress_args);
}

/** C `memstress_set_random_access()`: random pages instead of in order. */
export function memstress_set_random_access(vm: kvm_vm, random_access: boolean): void {
  memstress_args.value.random_access = random_access ? 1 : 0;
  sync_global_to_guest(vm, memstress_args);
}

/** C's weak `memstress_nested_pages()`: no extra pages without nested support. */
export function memstress_nested_pages(_nr_vcpus: number): bigint {
  return 0n;
}

/** C's weak `memstress_setup_nested()`: not supported, skip. */
export function memstress_setup_nested(_vm: kvm_vm, _nr_vcpus: number, _vcpus: kvm_vcpu[]): void {
  pr_info("%s() not support on this architecture, skipping.\n", "memstress_setup_nested");
  exit(KSFT_SKIP);
}

function memstress_vcpu_of(vcpu_idx: number): memstress_vcpu {
  const a = memstress_args.value.vcpu_args.at(vcpu_idx);
  return { vcpu: vcpus[vcpu_idx]!, vcpu_idx: a.vcpu_idx, gpa: a.gpa, gva: a.gva, pages: a.pages };
}

async function vcpu_thread_main(vcpu: vcpu_thread): Promise<void> {
  const vcpu_idx = vcpu.vcpu_idx;

  vcpu.running = true;

  // Released only once every thread has started, so thread start-up does not
  // overlap the guests' first faults.
  await all_vcpu_threads_running;

  await vcpu_thread_fn!(memstress_vcpu_of(vcpu_idx));
}

/**
 * C `memstress_start_vcpu_threads()`: one thread per vCPU running
 * `vcpu_fn`, all released together once every one is up.
 */
export function memstress_start_vcpu_threads(
  nr_vcpus: number,
  vcpu_fn: (args: memstress_vcpu) => void | Promise<void>,
): void {
  let release!: () => void;
  vcpu_thread_fn = vcpu_fn;
  all_vcpu_threads_running = new Promise((resolve) => release = resolve);
  memstress_args.value.stop_vcpus = 0;

  for (let i = 0; i < nr_vcpus; i++) {
    const vcpu: vcpu_thread = { vcpu_idx: i, thread: null, running: false };
    vcpu_threads[i] = vcpu;
    vcpu.thread = vcpu_thread_main(vcpu);
  }

  for (let i = 0; i < nr_vcpus; i++) {
    TEST_ASSERT(vcpu_threads[i]!.running, "vCPU thread %d did not start", i);
  }

  release();
}

/** C `memstress_join_vcpu_threads()`: sets `stop_vcpus` and waits for every thread. */
export async function memstress_join_vcpu_threads(nr_vcpus: number): Promise<void> {
  memstress_args.value.stop_vcpus = 1;

  for (let i = 0; i < nr_vcpus; i++) await vcpu_threads[i]!.thread;
}

function toggle_dirty_logging(vm: kvm_vm, slots: number, enable: boolean): void {
  for (let i = 0; i < slots; i++) {
    const slot = MEMSTRESS_MEM_SLOT_INDEX + i;
    const flags = enable ? KVM_MEM_LOG_DIRTY_PAGES : 0;

    vm_mem_region_set_flags(vm, slot, flags);
  }
}

/** C `memstress_enable_dirty_logging()`. */
export function memstress_enable_dirty_logging(vm: kvm_vm, slots: number): void {
  toggle_dirty_logging(vm, slots, true);
}

/** C `memstress_disable_dirty_logging()`. */
export function memstress_disable_dirty_logging(vm: kvm_vm, slots: number): void {
  toggle_dirty_logging(vm, slots, false);
}

/** C `memstress_get_dirty_log()`: KVM_GET_DIRTY_LOG of each test slot. */
export function memstress_get_dirty_log(vm: kvm_vm, bitmaps: Uint8Array[], slots: number): void {
  for (let i = 0; i < slots; i++) {
    const slot = MEMSTRESS_MEM_SLOT_INDEX + i;

    kvm_vm_get_dirty_log(vm, slot, bitmaps[i]!);
  }
}

/** C `memstress_clear_dirty_log()`: KVM_CLEAR_DIRTY_LOG of each test slot. */
export function memstress_clear_dirty_log(
  vm: kvm_vm,
  bitmaps: Uint8Array[],
  slots: number,
  pages_per_slot: bigint | number,
): void {
  for (let i = 0; i < slots; i++) {
    const slot = MEMSTRESS_MEM_SLOT_INDEX + i;

    kvm_vm_clear_dirty_log(vm, slot, bitmaps[i]!, 0, Number(pages_per_slot));
  }
}

/** C `memstress_alloc_bitmaps()`: one zeroed bitmap (whole longs) per slot. */
export function memstress_alloc_bitmaps(
  slots: number,
  pages_per_slot: bigint | number,
): Uint8Array[] {
  const bitmaps: Uint8Array[] = [];

  for (let i = 0; i < slots; i++) {
    bitmaps[i] = new Uint8Array(Math.ceil(Number(pages_per_slot) / 64) * 8);
  }

  return bitmaps;
}

/** C `memstress_free_bitmaps()`: the garbage collector frees them. */
export function memstress_free_bitmaps(bitmaps: Uint8Array[], _slots: number): void {
  bitmaps.length = 0;
}
