// SPDX-License-Identifier: GPL-2.0-only
/**
 * Dirty page tracking in its three modes (bitmap, bitmap+clear, ring): port of
 * `tools/testing/selftests/kvm/dirty_log_test.c` (kvm-x86 `next` at
 * 1a27afa0511e; upstream keeps it at the top level, the SDK keeps every
 * program in `x86/`).
 *
 * Copyright (C) 2018, Red Hat, Inc.
 *
 * What differs from C:
 * - The vCPU pthread is an async `vcpu_worker()` (its `vcpu_run()` is
 *   `vcpu_run_async()`), and its POSIX semaphores are those of
 *   `include/libc/semaphore.ts` (waiting is awaiting); the host loop's
 *   `usleep(1000)` is an awaited 1 ms timer, so that the worker's exits are
 *   handled meanwhile.
 * - `kvm_rng`, which C's library seeds with the random seed and syncs to
 *   the guest, is a guest global of this file that `run_test()` syncs; the
 *   guest draws from its own copy of the state (one vCPU: the same
 *   sequence).
 * - `random()` (never seeded in C) is `Math.random()`.
 * - `getopt(argc, argv, "c:hi:I:p:m:M:")` is a small loop over the same
 *   options.
 * - The s390x-only code paths are left out (x86 only).
 * - The dirty ring's entries are read through a view of the mapped ring
 *   (`Atomics.load`/`Atomics.store` for C's acquire/release of `flags`).
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __vm_create,
  addr_gpa2hva,
  align_down,
  exit_reason_str,
  get_ucall,
  getpagesize,
  guest_global,
  GUEST_SYNC,
  kvm_check_cap,
  kvm_has_cap,
  kvm_random_seed,
  kvm_random_u64,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_clear_dirty_log,
  kvm_vm_free,
  kvm_vm_get_dirty_log,
  kvm_vm_reset_dirty_ring,
  new_kvm_random_state,
  pr_info,
  print_skip,
  sync_global_from_guest,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_FAIL,
  UCALL_SYNC,
  vcpu_map_dirty_ring,
  vcpu_run_async,
  virt_map,
  vm_adjust_num_guest_pages,
  vm_enable_cap,
  vm_enable_dirty_ring,
  type vm_guest_mode,
  vm_guest_mode_string,
  VM_MEM_SRC_ANONYMOUS,
  vm_num_host_pages,
  VM_SHAPE,
  vm_userspace_mem_region_add,
  vm_vcpu_add,
  WRITE_AND_SYNC_TO_GUEST,
} from "../include/kvm_util.ts";
import { kvm_arch_vm_finalize_vcpus } from "../include/x86/processor.ts";
import {
  KVM_CAP_DIRTY_LOG_RING,
  KVM_CAP_DIRTY_LOG_RING_ACQ_REL,
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  kvm_dirty_gfn,
  KVM_DIRTY_GFN_F_DIRTY,
  KVM_DIRTY_GFN_F_RESET,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
  KVM_EXIT_DIRTY_RING_FULL,
  KVM_MEM_LOG_DIRTY_PAGES,
} from "../include/linux/kvm.ts";
import { u32, u64, u8 } from "../include/c/layout.ts";
import { user_memory } from "../include/libc/syscall.ts";
import { printf, puts } from "../include/libc/stdio.ts";
import { exit } from "../include/libc/exit.ts";
import { sem_getvalue, sem_post, sem_t, sem_wait } from "../include/libc/semaphore.ts";
import { writeq } from "../lib/guest_memory.ts";
import {
  for_each_guest_mode,
  guest_modes_append_default,
  guest_modes_cmdline,
  guest_modes_help,
} from "../lib/guest_modes.ts";

const DIRTY_MEM_BITS = 30; // 1G
const PAGE_SHIFT_4K = 12;

/** Slot of the region whose dirty pages are logged. */
const TEST_MEM_SLOT_INDEX = 1;

/** GVA where the logged region is mapped unless overridden. */
const DEFAULT_GUEST_TEST_MEM = 0xc0000000n;

/** Default number of iterations; each ends with one collection of the log. */
const TEST_HOST_LOOP_N = 32;

/** Default length of one iteration, in milliseconds. */
const TEST_HOST_LOOP_INTERVAL = 10;

/**
 * Floor on guest writes per iteration: an iteration is stretched past its
 * interval until the guest has made this many, so a stalled vCPU is caught
 * and every iteration checks a meaningful number of pages.
 */
const TEST_MIN_WRITES_PER_ITERATION = 0x100n;

const TEST_DIRTY_RING_COUNT = 65536;

// Globals both sides use; the host copies them with sync_global_to/from_guest.
const host_page_size = guest_global("host_page_size", u64);
const guest_page_size = guest_global("guest_page_size", u64);
const guest_num_pages = guest_global("guest_num_pages", u64);
const iteration = guest_global("iteration", u64);
const nr_writes = guest_global("nr_writes", u64);
const vcpu_stop = guest_global("vcpu_stop", u8);
/** The seed of C's `kvm_rng` (see the header). */
const kvm_rng = guest_global("kvm_rng", u32);

/**
 * GPA of the logged region: by default it ends at the top of the guest's
 * physical address space (`-p` overrides it).
 */
let guest_test_phys_mem = 0n;

/** GVA at which the guest sees the logged region. */
const guest_test_virt_mem = guest_global("guest_test_virt_mem", u64, DEFAULT_GUEST_TEST_MEM);

/** Stores the iteration number into the first u64 of randomly chosen pages, until told to stop. */
export function guest_code(): void {
  const rng = new_kvm_random_state(kvm_rng.value);
  let addr: bigint;

  while (true) {
    while (!vcpu_stop.value) {
      addr = guest_test_virt_mem.value;
      addr += (kvm_random_u64(rng) % guest_num_pages.value) * guest_page_size.value;
      addr = align_down(addr, host_page_size.value);

      writeq(iteration.value, addr);
      nr_writes.value = nr_writes.value + 1n;
    }

    GUEST_SYNC(1);
  }
}

// State kept by the host side only.
let host_quit = false;

/** HVA of the logged region, read when verifying. */
let host_test_mem = 0n;
let host_num_pages = 0;

// Totals printed at the end of each run.
let host_dirty_count = 0;
let host_clear_count = 0;

/** Handshake between host loop and vCPU worker: stop acknowledged / go on. */
let sem_vcpu_stop = new sem_t();
let sem_vcpu_cont = new sem_t();

/**
 * Set by the worker when the last exit was KVM_EXIT_DIRTY_RING_FULL; the
 * host may trust it only between its wait on sem_vcpu_stop and the next
 * post of sem_vcpu_cont.
 */
let dirty_ring_vcpu_ring_full = false;

/**
 * Offset of the newest ring entry harvested. On a ring-full exit KVM logs
 * the gfn before the faulting store completes, so this page may still
 * hold an older value; the store is redone (and logged again) on re-entry.
 */
let dirty_ring_last_page = -1n;

/**
 * dirty_ring_last_page as it was when this iteration began. The unfinished
 * store can be retried more than once (notably when nested, where each
 * ring reset flushes L1's EPT), so it may surface only in the following
 * iteration, still carrying the previous iteration's value.
 */
let dirty_ring_prev_iteration_last_page = 0n;

enum log_mode_t {
  /** KVM_GET_DIRTY_LOG alone. */
  LOG_MODE_DIRTY_LOG = 0,
  /** KVM_GET_DIRTY_LOG then KVM_CLEAR_DIRTY_LOG (manual protect). */
  LOG_MODE_CLEAR_LOG = 1,
  /** Per-vCPU dirty ring (KVM_CAP_DIRTY_LOG_RING). */
  LOG_MODE_DIRTY_RING = 2,
  LOG_MODE_NUM,
}

/** `-M all`: every mode in turn. */
const LOG_MODE_ALL = log_mode_t.LOG_MODE_NUM;

/** The mode chosen with `-M` (all of them unless given). */
let host_log_mode_option: number = LOG_MODE_ALL;
/** The mode run_test() is exercising now. */
let host_log_mode: log_mode_t = log_mode_t.LOG_MODE_DIRTY_LOG;
let vcpu_thread: Promise<void> | null = null;
let test_dirty_ring_count = TEST_DIRTY_RING_COUNT;

function clear_log_supported(): boolean {
  return kvm_has_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
}

function clear_log_create_vm_done(vm: kvm_vm): void {
  let manual_caps = kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
  TEST_ASSERT(manual_caps, "MANUAL_CAPS is zero!");
  manual_caps &= KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
  vm_enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, manual_caps);
}

function dirty_log_collect_dirty_pages(
  vcpu: kvm_vcpu,
  slot: number,
  bitmap: Uint8Array,
  _num_pages: number,
  _unused: { value: number },
): void {
  kvm_vm_get_dirty_log(vcpu.vm, slot, bitmap);
}

function clear_log_collect_dirty_pages(
  vcpu: kvm_vcpu,
  slot: number,
  bitmap: Uint8Array,
  num_pages: number,
  _unused: { value: number },
): void {
  kvm_vm_get_dirty_log(vcpu.vm, slot, bitmap);
  kvm_vm_clear_dirty_log(vcpu.vm, slot, bitmap, 0, num_pages);
}

/** Valid only at a GUEST_SYNC (or ring-full) exit, when the guest is parked. */
async function vcpu_handle_sync_stop(): Promise<void> {
  if (vcpu_stop.value) {
    sem_post(sem_vcpu_stop);
    await sem_wait(sem_vcpu_cont);
  }
}

async function default_after_vcpu_run(vcpu: kvm_vcpu): Promise<void> {
  const run = vcpu.run;

  TEST_ASSERT(
    get_ucall(vcpu, null) === UCALL_SYNC,
    "Invalid guest sync status: exit_reason=%s",
    exit_reason_str(run.exit_reason),
  );

  await vcpu_handle_sync_stop();
}

function dirty_ring_supported(): boolean {
  return kvm_has_cap(KVM_CAP_DIRTY_LOG_RING) || kvm_has_cap(KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
}

/** `31 - __builtin_clz(x)`: the index of the highest set bit. */
function fls32(x: number): number {
  return 31 - Math.clz32(x);
}

function dirty_ring_create_vm_done(vm: kvm_vm): void {
  // The test wants KVM_EXIT_DIRTY_RING_FULL to happen, so the ring must
  // not have more entries than the region has pages.
  let pages = (1n << BigInt(DIRTY_MEM_BITS - vm.page_shift)) + 3n;
  pages = vm_adjust_num_guest_pages(vm.mode, pages);
  if (vm.page_size < getpagesize()) pages = BigInt(vm_num_host_pages(vm.mode, Number(pages)));

  const limit = 1 << fls32(Number(pages));
  test_dirty_ring_count = 1 << fls32(test_dirty_ring_count);
  test_dirty_ring_count = Math.min(limit, test_dirty_ring_count);
  pr_info("dirty ring count: 0x%x\n", test_dirty_ring_count);

  // KVM_CAP_DIRTY_LOG_RING is refused once a vCPU exists.
  vm_enable_dirty_ring(vm, test_dirty_ring_count * kvm_dirty_gfn.size);
}

// struct kvm_dirty_gfn { __u32 flags; __u32 slot; __u64 offset; }, as 32-bit words.
const GFN_WORDS = kvm_dirty_gfn.size / 4;

function dirty_gfn_is_dirtied(ring: Int32Array, i: number): boolean {
  return Atomics.load(ring, i * GFN_WORDS) === KVM_DIRTY_GFN_F_DIRTY;
}

function dirty_gfn_set_collected(ring: Int32Array, i: number): void {
  Atomics.store(ring, i * GFN_WORDS, KVM_DIRTY_GFN_F_RESET);
}

function __set_bit_le(nr: number, addr: Uint8Array): void {
  addr[nr >> 3]! |= 1 << (nr & 7);
}

function dirty_ring_collect_one(
  dirty_gfns: bigint,
  slot: number,
  bitmap: Uint8Array,
  num_pages: number,
  fetch_index: { value: number },
): number {
  const bytes = user_memory(dirty_gfns, test_dirty_ring_count * kvm_dirty_gfn.size);
  const ring = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;

  while (true) {
    const cur = fetch_index.value % test_dirty_ring_count;
    if (!dirty_gfn_is_dirtied(ring, cur)) break;
    const cur_slot = dv.getUint32(cur * kvm_dirty_gfn.size + 4, true);
    const cur_offset = dv.getBigUint64(cur * kvm_dirty_gfn.size + 8, true);
    TEST_ASSERT(cur_slot === slot, "Slot number didn't match: %u != %u", cur_slot, slot);
    TEST_ASSERT(
      cur_offset < BigInt(num_pages),
      "Offset overflow: 0x%llx >= 0x%x",
      cur_offset,
      num_pages,
    );
    __set_bit_le(Number(cur_offset), bitmap);
    dirty_ring_last_page = cur_offset;
    dirty_gfn_set_collected(ring, cur);
    fetch_index.value++;
    count++;
  }

  return count;
}

function dirty_ring_collect_dirty_pages(
  vcpu: kvm_vcpu,
  slot: number,
  bitmap: Uint8Array,
  num_pages: number,
  ring_buf_idx: { value: number },
): void {
  // The VM has a single vCPU, hence a single ring.
  const count = dirty_ring_collect_one(
    vcpu_map_dirty_ring(vcpu),
    slot,
    bitmap,
    num_pages,
    ring_buf_idx,
  );

  const cleared = kvm_vm_reset_dirty_ring(vcpu.vm);

  // KVM_RESET_DIRTY_RINGS recycles exactly the entries marked collected.
  TEST_ASSERT(
    cleared === count,
    "Reset dirty pages (%u) mismatch with collected (%u)",
    cleared,
    count,
  );
}

async function dirty_ring_after_vcpu_run(vcpu: kvm_vcpu): Promise<void> {
  const run = vcpu.run;

  // Either the guest's GUEST_SYNC or a full ring ends a run here.
  if (get_ucall(vcpu, null) === UCALL_SYNC) {
    await vcpu_handle_sync_stop();
  } else if (run.exit_reason === KVM_EXIT_DIRTY_RING_FULL) {
    dirty_ring_vcpu_ring_full = true;
    await vcpu_handle_sync_stop();
  } else {
    TEST_ASSERT(
      false,
      "Invalid guest sync status: exit_reason=%s",
      exit_reason_str(run.exit_reason),
    );
  }
}

interface log_mode {
  name: string;
  /** Whether KVM offers this mode. */
  supported?: () => boolean;
  /** Per-mode VM setup, run before the vCPU is added. */
  create_vm_done?: (vm: kvm_vm) => void;
  /** Harvests dirty pages into the caller's bitmap. */
  collect_dirty_pages: (
    vcpu: kvm_vcpu,
    slot: number,
    bitmap: Uint8Array,
    num_pages: number,
    ring_buf_idx: { value: number },
  ) => void;
  /** Handles the exit after every vcpu_run(). */
  after_vcpu_run: (vcpu: kvm_vcpu) => Promise<void>;
}

const log_modes: log_mode[] = [
  {
    name: "dirty-log",
    collect_dirty_pages: dirty_log_collect_dirty_pages,
    after_vcpu_run: default_after_vcpu_run,
  },
  {
    name: "clear-log",
    supported: clear_log_supported,
    create_vm_done: clear_log_create_vm_done,
    collect_dirty_pages: clear_log_collect_dirty_pages,
    after_vcpu_run: default_after_vcpu_run,
  },
  {
    name: "dirty-ring",
    supported: dirty_ring_supported,
    create_vm_done: dirty_ring_create_vm_done,
    collect_dirty_pages: dirty_ring_collect_dirty_pages,
    after_vcpu_run: dirty_ring_after_vcpu_run,
  },
];

function log_modes_dump(): void {
  printf("all");
  for (let i = 0; i < log_mode_t.LOG_MODE_NUM; i++) printf(", %s", log_modes[i]!.name);
  printf("\n");
}

function log_mode_supported(): boolean {
  const mode = log_modes[host_log_mode]!;

  if (mode.supported) return mode.supported();

  return true;
}

function log_mode_create_vm_done(vm: kvm_vm): void {
  const mode = log_modes[host_log_mode]!;

  if (mode.create_vm_done) mode.create_vm_done(vm);
}

function log_mode_collect_dirty_pages(
  vcpu: kvm_vcpu,
  slot: number,
  bitmap: Uint8Array,
  num_pages: number,
  ring_buf_idx: { value: number },
): void {
  const mode = log_modes[host_log_mode]!;

  TEST_ASSERT(
    mode.collect_dirty_pages !== undefined,
    "collect_dirty_pages() is required for any log mode!",
  );
  mode.collect_dirty_pages(vcpu, slot, bitmap, num_pages, ring_buf_idx);
}

async function log_mode_after_vcpu_run(vcpu: kvm_vcpu): Promise<void> {
  const mode = log_modes[host_log_mode]!;

  if (mode.after_vcpu_run) await mode.after_vcpu_run(vcpu);
}

async function vcpu_worker(vcpu: kvm_vcpu): Promise<void> {
  await sem_wait(sem_vcpu_cont);

  while (!host_quit) {
    // The guest keeps writing until it syncs or the ring fills.
    await vcpu_run_async(vcpu);
    await log_mode_after_vcpu_run(vcpu);
  }
}

/** C `bitmap_zalloc(nbits)`: whole longs, zeroed. */
function bitmap_zalloc(nbits: number): Uint8Array {
  return new Uint8Array(Math.ceil(nbits / 64) * 8);
}

/** C `__test_and_clear_bit_le(nr, addr)`. */
function __test_and_clear_bit_le(nr: number, addr: Uint8Array): boolean {
  const bit = 1 << (nr & 7);
  const old = (addr[nr >> 3]! & bit) !== 0;
  addr[nr >> 3]! &= ~bit;
  return old;
}

/**
 * C `*(u64 *)(host_test_mem + page * host_page_size)`: the test memory is
 * read through views of at most 2 MiB, each within one host mapping.
 */
class host_mem_reader {
  #views = new Map<number, DataView>();

  constructor(readonly base: bigint, readonly size: number) {}

  u64(offset: number): bigint {
    const BLOCK = 2 << 20;
    const blk = Math.floor(offset / BLOCK);
    let dv = this.#views.get(blk);
    if (!dv) {
      const len = Math.min(BLOCK, this.size - blk * BLOCK);
      const m = user_memory(this.base + BigInt(blk * BLOCK), len);
      dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
      this.#views.set(blk, dv);
    }
    return dv.getBigUint64(offset - blk * BLOCK, true);
  }
}

function vm_dirty_log_verify(mode: vm_guest_mode, bmap: Uint8Array[], mem: host_mem_reader): void {
  let nr_dirty_pages = 0, nr_clean_pages = 0;
  const step = vm_num_host_pages(mode, 1);
  const it = iteration.value;
  const hps = Number(host_page_size.value);

  for (let page = 0; page < host_num_pages; page += step) {
    const val = mem.u64(page * hps);
    const bmap0_dirty = __test_and_clear_bit_le(page, bmap[0]!);

    // Test-and-clear in both bitmaps: a page written before and after the
    // in-flight reap is in both, and ring harvesting only ever adds bits.
    if (__test_and_clear_bit_le(page, bmap[1]!) || bmap0_dirty) {
      nr_dirty_pages++;

      // A logged page normally holds this iteration's number.
      if (val === it) continue;

      if (host_log_mode === log_mode_t.LOG_MODE_DIRTY_RING) {
        // The retried store from the end of the last iteration may carry that
        // iteration's number, which the guest had already loaded.
        if (BigInt(page) === dirty_ring_prev_iteration_last_page && val === it - 1n) continue;

        // The newest entry's store may not have landed: any older value is fine.
        if (BigInt(page) === dirty_ring_last_page && val < it) continue;
      } else if (!val && it === 1n && bmap0_dirty) {
        // With KVM_DIRTY_LOG_INITIALLY_SET every bit starts set, so the first
        // reap reports untouched pages; the clear that follows it means only
        // bmap[0] can show them.
        continue;
      }

      TEST_FAIL(
        "Dirty page %lu value (%lu) != iteration (%lu) (last = %lu, prev_last = %lu)",
        page,
        val,
        it,
        dirty_ring_last_page,
        dirty_ring_prev_iteration_last_page,
      );
    } else {
      nr_clean_pages++;
      // A page not logged this iteration must not hold this iteration's
      // number. (C's TEST_ASSERT builds its message only on failure; a
      // quarter million calls per iteration would build them all.)
      if (val < it) continue;
      TEST_ASSERT(
        val < it,
        "Clear page %lu value (%lu) >= iteration (%lu) (last = %lu, prev_last = %lu)",
        page,
        val,
        it,
        dirty_ring_last_page,
        dirty_ring_prev_iteration_last_page,
      );
    }
  }

  pr_info(
    "Iteration %2ld: dirty: %-6lu clean: %-6lu writes: %-6lu\n",
    it,
    nr_dirty_pages,
    nr_clean_pages,
    nr_writes.value,
  );

  host_dirty_count += nr_dirty_pages;
  host_clear_count += nr_clean_pages;
}

function create_vm(
  mode: vm_guest_mode,
  vcpu: { value: kvm_vcpu | null },
  extra_mem_pages: bigint,
  code: () => void,
): kvm_vm {
  pr_info("Testing guest mode: %s\n", vm_guest_mode_string(mode));

  const vm = __vm_create(VM_SHAPE(mode), 1, extra_mem_pages);

  log_mode_create_vm_done(vm);
  vcpu.value = vm_vcpu_add(vm, 0, code);
  kvm_arch_vm_finalize_vcpus(vm);
  return vm;
}

interface test_params {
  iterations: number;
  interval: number;
  phys_offset: bigint;
}

const sleep_ms = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function run_test(mode: vm_guest_mode, p: test_params): Promise<void> {
  const vcpu_ref: { value: kvm_vcpu | null } = { value: null };
  const ring_buf_idx = { value: 0 };

  if (!log_mode_supported()) {
    print_skip("Log mode '%s' not supported", log_modes[host_log_mode]!.name);
    return;
  }

  // Extra pages for page tables: twice the test region counted in 4 KiB
  // pages, an over-estimate for any guest page size.
  const vm = create_vm(
    mode,
    vcpu_ref,
    2n << BigInt(DIRTY_MEM_BITS - PAGE_SHIFT_4K),
    guest_code,
  );
  const vcpu = vcpu_ref.value!;

  guest_page_size.value = BigInt(vm.page_size);
  // 1 GiB plus 3 pages, so the bitmap does not end on a 64-bit boundary.
  guest_num_pages.value = (1n << BigInt(DIRTY_MEM_BITS - vm.page_shift)) + 3n;
  guest_num_pages.value = vm_adjust_num_guest_pages(mode, guest_num_pages.value);

  host_page_size.value = BigInt(getpagesize());
  host_num_pages = vm_num_host_pages(mode, Number(guest_num_pages.value));

  if (!p.phys_offset) {
    guest_test_phys_mem = (vm.max_gfn - guest_num_pages.value) * guest_page_size.value;
    guest_test_phys_mem = align_down(guest_test_phys_mem, host_page_size.value);
  } else {
    guest_test_phys_mem = p.phys_offset;
  }

  pr_info("guest physical test memory offset: 0x%lx\n", guest_test_phys_mem);

  const bmap = [bitmap_zalloc(host_num_pages), bitmap_zalloc(host_num_pages)];

  // The logged slot, with KVM_MEM_LOG_DIRTY_PAGES from the start.
  vm_userspace_mem_region_add(
    vm,
    VM_MEM_SRC_ANONYMOUS,
    guest_test_phys_mem,
    TEST_MEM_SLOT_INDEX,
    guest_num_pages.value,
    KVM_MEM_LOG_DIRTY_PAGES,
  );

  // Guest page tables for the logged region.
  virt_map(vm, guest_test_virt_mem.value, guest_test_phys_mem, Number(guest_num_pages.value));

  // The host verifies through its own mapping of the slot.
  host_test_mem = addr_gpa2hva(vm, guest_test_phys_mem);
  const mem = new host_mem_reader(host_test_mem, host_num_pages * Number(host_page_size.value));

  // The guest reads these from its copy of the globals.
  sync_global_to_guest(vm, host_page_size);
  sync_global_to_guest(vm, guest_page_size);
  sync_global_to_guest(vm, guest_test_virt_mem);
  sync_global_to_guest(vm, guest_num_pages);
  kvm_rng.value = new_kvm_random_state(kvm_random_seed).seed;
  sync_global_to_guest(vm, kvm_rng);

  host_dirty_count = 0;
  host_clear_count = 0;
  host_quit = false;

  // A left-over post from the previous run (guest mode or log mode)
  // would mean the two sides fell out of step.
  TEST_ASSERT_EQ(sem_getvalue(sem_vcpu_stop), 0);
  TEST_ASSERT_EQ(sem_getvalue(sem_vcpu_cont), 0);

  TEST_ASSERT_EQ(vcpu_stop.value, 0);

  vcpu_thread = vcpu_worker(vcpu);
  // A failure in the worker ends the program as it would end C's process.
  vcpu_thread.catch((e) => {
    throw e;
  });

  for (iteration.value = 1n; iteration.value <= BigInt(p.iterations); iteration.value++) {
    // Vary how long the guest runs before the first in-flight reap, and so
    // how much it has dirtied by then.
    const reap_i = Math.floor(Math.random() * 0x80000000) % p.interval;
    printf("Reaping after a %lu ms delay\n", reap_i);

    sync_global_to_guest(vm, iteration);

    WRITE_AND_SYNC_TO_GUEST(vm, nr_writes, 0n);

    dirty_ring_prev_iteration_last_page = dirty_ring_last_page;
    dirty_ring_vcpu_ring_full = false;

    sem_post(sem_vcpu_cont);

    // The interval is a minimum: keep going until the guest has also made
    // TEST_MIN_WRITES_PER_ITERATION writes (proof of forward progress).
    for (let i = 0; i < p.interval || nr_writes.value < TEST_MIN_WRITES_PER_ITERATION; i++) {
      // One tick per millisecond; i counts elapsed ms.
      await sleep_ms(1);

      sync_global_from_guest(vm, nr_writes);

      // Reaping while the vCPU runs unblocks a full ring and checks that KVM
      // loses nothing collected concurrently.
      if (i < reap_i) continue;

      // KVM_GET_DIRTY_LOG replaces the whole bitmap, so a second in-flight
      // collection into bmap[0] would drop pages: only one for bitmap modes.
      if (i > reap_i && host_log_mode !== log_mode_t.LOG_MODE_DIRTY_RING) continue;

      // Later ring harvests only after a ring-full exit, so that the guest
      // still gets to fill the ring.
      if (i > reap_i && !dirty_ring_vcpu_ring_full) continue;

      log_mode_collect_dirty_pages(
        vcpu,
        TEST_MEM_SLOT_INDEX,
        bmap[0]!,
        host_num_pages,
        ring_buf_idx,
      );
    }

    // Park the guest first: writes during collection could slip into the
    // next iteration, and writes during verification would make a page
    // judged clean hold this iteration's value.
    WRITE_AND_SYNC_TO_GUEST(vm, vcpu_stop, 1);
    await sem_wait(sem_vcpu_stop);

    // Safe to reset only now that the worker is blocked on sem_vcpu_cont.
    WRITE_AND_SYNC_TO_GUEST(vm, vcpu_stop, 0);

    // Final write count, for the per-iteration summary line.
    sync_global_from_guest(vm, nr_writes);

    log_mode_collect_dirty_pages(vcpu, TEST_MEM_SLOT_INDEX, bmap[1]!, host_num_pages, ring_buf_idx);
    vm_dirty_log_verify(mode, bmap, mem);
  }

  host_quit = true;
  sem_post(sem_vcpu_cont);

  await vcpu_thread;

  pr_info("Total bits checked: dirty (%lu), clear (%lu)\n", host_dirty_count, host_clear_count);

  kvm_vm_free(vm);
}

function help(name: string): void {
  puts("");
  printf("usage: %s [-h] [-i iterations] [-I interval] [-p offset] [-m mode]\n", name);
  puts("");
  printf(" -c: hint to dirty ring size, in number of entries\n");
  printf("     (only useful for dirty-ring test; default: %u)\n", TEST_DIRTY_RING_COUNT);
  printf(" -i: specify iteration counts (default: %lu)\n", TEST_HOST_LOOP_N);
  printf(" -I: specify interval in ms (default: %lu ms)\n", TEST_HOST_LOOP_INTERVAL);
  printf(
    " -p: specify guest physical test memory offset\n" +
      "     Warning: a low offset can conflict with the loaded test code.\n",
  );
  printf(" -M: specify the host logging mode (default: run all log modes).  Supported modes: \n\t");
  log_modes_dump();
  guest_modes_help();
  puts("");
  exit(0);
}

async function main(argc: number, argv: string[]): Promise<number> {
  const p: test_params = {
    iterations: TEST_HOST_LOOP_N,
    interval: TEST_HOST_LOOP_INTERVAL,
    phys_offset: 0n,
  };

  sem_vcpu_stop = new sem_t();
  sem_vcpu_cont = new sem_t();

  guest_modes_append_default();

  // getopt(argc, argv, "c:hi:I:p:m:M:")
  for (let i = 1; i < argc; i++) {
    const a = argv[i]!;
    const opt = a.length >= 2 && a[0] === "-" ? a[1]! : "?";
    const optarg = () => a.length > 2 ? a.slice(2) : argv[++i] ?? "";
    switch (opt) {
      case "c":
        test_dirty_ring_count = Number.parseInt(optarg(), 10) | 0;
        break;
      case "i":
        p.iterations = Number.parseInt(optarg(), 10) || 0;
        break;
      case "I":
        p.interval = Number.parseInt(optarg(), 10) || 0;
        break;
      case "p":
        p.phys_offset = BigInt.asUintN(64, BigInt(optarg() || 0));
        break;
      case "m":
        guest_modes_cmdline(optarg());
        break;
      case "M": {
        const arg = optarg();
        if (arg === "all") {
          host_log_mode_option = LOG_MODE_ALL;
          break;
        }
        let j = 0;
        for (; j < log_mode_t.LOG_MODE_NUM; j++) {
          if (arg === log_modes[j]!.name) {
            pr_info("Setting log mode to: '%s'\n", arg);
            host_log_mode_option = j;
            break;
          }
        }
        if (j === log_mode_t.LOG_MODE_NUM) {
          printf("Log mode '%s' invalid. Please choose from: ", arg);
          log_modes_dump();
          exit(1);
        }
        break;
      }
      case "h":
      default:
        help(argv[0]!);
        break;
    }
  }

  TEST_ASSERT(p.iterations > 0, "Iterations must be greater than zero");
  TEST_ASSERT(p.interval > 0, "Interval must be greater than zero");

  pr_info("Test iterations: %lu, interval: %lu (ms)\n", p.iterations, p.interval);

  if (host_log_mode_option === LOG_MODE_ALL) {
    // -M all (the default).
    for (let i = 0; i < log_mode_t.LOG_MODE_NUM; i++) {
      pr_info("Testing Log Mode '%s'\n", log_modes[i]!.name);
      host_log_mode = i;
      await for_each_guest_mode(run_test, p);
    }
  } else {
    host_log_mode = host_log_mode_option;
    await for_each_guest_mode(run_test, p);
  }

  return 0;
}

await ksft_main(import.meta, main);
