// SPDX-License-Identifier: GPL-2.0-only
/**
 * Timing of dirty logging (populate, enable, dirty, get/clear, disable),
 * derived from dirty_log_test: port of
 * `tools/testing/selftests/kvm/dirty_log_perf_test.c` (the memstress-based
 * version of kvm-x86 `next`; upstream keeps it at the top level, the SDK
 * keeps every program in `x86/`).
 *
 * Copyright (C) 2018, Red Hat, Inc.
 * Copyright (C) 2020, Google, Inc.
 *
 * What differs from C:
 * - Under `deno test` the default memory per vCPU is 4M (`-b` still sets
 *   it); run standalone it is upstream's 1G. The figures it prints are the
 *   simulator's; performance figures of the SDK itself come from
 *   `deno bench`.
 * - The vCPU pthreads are async functions (`lib/memstress.ts`), and the
 *   busy-waits on `vcpu_last_completed_iteration[]` and `iteration` yield
 *   to the event loop on each pass, so that the other side can run.
 * - The guests' seed is fixed (1) unless `-r` is given, so runs repeat; it
 *   is set with `memstress_set_random_seed()` after the VM is created (the
 *   TypeScript library's `kvm_random_seed` cannot be assigned from a test);
 *   `-r` sets it the same way.
 * - `-c` (pin vCPUs to physical CPUs) skips: vCPU workers cannot be pinned
 *   from Deno (`kvm_parse_vcpu_pinning()` is not in the library).
 * - `-n` (nested): `memstress_setup_nested()` is C's weak default, which
 *   skips (the x86 L2 setup is not ported, see `lib/memstress.ts`).
 * - There is no `arch_setup_vm()`/`arch_cleanup_vm()`: both are empty on
 *   x86. `getopt(argc, argv, "ab:c:eghi:m:nop:r:s:v:x:w:")` is a small loop
 *   over the same options.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  _vcpu_run_async,
  atoi_non_negative,
  atoi_positive,
  backing_src_help,
  clock_gettime_monotonic,
  DEFAULT_VM_MEM_SRC,
  exit_reason_str,
  get_ucall,
  kvm_check_cap,
  KVM_MAX_VCPUS,
  parse_backing_src_type,
  parse_size,
  pr_debug,
  pr_info,
  TEST_ASSERT,
  type timespec,
  timespec_add,
  timespec_div,
  timespec_elapsed,
  UCALL_SYNC,
  vm_adjust_num_guest_pages,
  vm_enable_cap,
  type vm_guest_mode,
  type vm_mem_backing_src_type,
  vm_num_host_pages,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
  KVM_CAP_MAX_VCPUS,
  KVM_DIRTY_LOG_INITIALLY_SET,
  KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE,
} from "../include/linux/kvm.ts";
import { ksft_exit_skip } from "../include/kselftest.ts";
import { in_deno_test } from "../include/libc/process.ts";
import { printf, puts } from "../include/libc/stdio.ts";
import { exit } from "../include/libc/exit.ts";
import {
  DEFAULT_PER_VCPU_MEM_SIZE,
  memstress_alloc_bitmaps,
  memstress_args,
  memstress_clear_dirty_log,
  memstress_create_vm,
  memstress_destroy_vm,
  memstress_disable_dirty_logging,
  memstress_enable_dirty_logging,
  memstress_free_bitmaps,
  memstress_get_dirty_log,
  memstress_join_vcpu_threads,
  memstress_set_random_access,
  memstress_set_random_seed,
  memstress_set_write_percent,
  memstress_start_vcpu_threads,
  type memstress_vcpu,
} from "../lib/memstress.ts";
import {
  for_each_guest_mode,
  guest_modes_append_default,
  guest_modes_cmdline,
  guest_modes_help,
} from "../lib/guest_modes.ts";

/** Default number of dirtying passes, each followed by a KVM_GET_DIRTY_LOG. */
const TEST_HOST_LOOP_N = 2;

/** The default memory per vCPU under `deno test` (see the header). */
const DENO_TEST_PER_VCPU_MEM_SIZE = 4n << 20n;

let nr_vcpus = 1;
let guest_percpu_mem_size = BigInt(DEFAULT_PER_VCPU_MEM_SIZE);
let run_vcpus_while_disabling_dirty_logging = false;

// Main-task state, polled by the vCPU workers.
let dirty_log_manual_caps = 0;
let host_quit = false;
let iteration = 0;
const vcpu_last_completed_iteration = new Array<number>(KVM_MAX_VCPUS).fill(0);
/** The guests' random seed (fixed unless `-r`, see the header). */
let guest_random_seed = 1;

/** Lets the other side (vCPU workers or the main task) run: C's busy-waits spin in parallel. */
const cpu_relax = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function vcpu_worker(vcpu_args: memstress_vcpu): Promise<void> {
  const vcpu = vcpu_args.vcpu;
  const vcpu_idx = vcpu_args.vcpu_idx;
  let pages_count = 0n;
  let total: timespec = { tv_sec: 0, tv_nsec: 0 };

  const run = vcpu.run;

  while (!host_quit) {
    const current_iteration = iteration;

    const start = clock_gettime_monotonic();
    const ret = await _vcpu_run_async(vcpu);
    const ts_diff = timespec_elapsed(start);

    TEST_ASSERT(ret === 0, "vcpu_run failed: %d", ret);
    TEST_ASSERT(
      get_ucall(vcpu, null) === UCALL_SYNC,
      "Invalid guest sync status: exit_reason=%s",
      exit_reason_str(run.exit_reason),
    );

    pr_debug("Got sync event from vCPU %d\n", vcpu_idx);
    vcpu_last_completed_iteration[vcpu_idx] = current_iteration;
    pr_debug(
      "vCPU %d updated last completed iteration to %d\n",
      vcpu_idx,
      vcpu_last_completed_iteration[vcpu_idx],
    );

    if (current_iteration) {
      pages_count += vcpu_args.pages;
      total = timespec_add(total, ts_diff);
      pr_debug(
        "vCPU %d iteration %d dirty memory time: %ld.%.9lds\n",
        vcpu_idx,
        current_iteration,
        ts_diff.tv_sec,
        ts_diff.tv_nsec,
      );
    } else {
      pr_debug(
        "vCPU %d iteration %d populate memory time: %ld.%.9lds\n",
        vcpu_idx,
        current_iteration,
        ts_diff.tv_sec,
        ts_diff.tv_nsec,
      );
    }

    // A negative iteration (-e) means logging is being switched off: re-enter
    // the guest at once so memory is under access for as long as KVM is
    // zapping collapsible SPTEs.
    while (current_iteration === iteration && iteration >= 0 && !host_quit) await cpu_relax();
  }

  const done = vcpu_last_completed_iteration[vcpu_idx]!;
  const avg = done > 0 ? timespec_div(total, done) : total;
  pr_debug(
    "\nvCPU %d dirtied 0x%lx pages over %d iterations in %ld.%.9lds. (Avg %ld.%.9lds/iteration)\n",
    vcpu_idx,
    pages_count,
    done,
    total.tv_sec,
    total.tv_nsec,
    avg.tv_sec,
    avg.tv_nsec,
  );
}

interface test_params {
  iterations: number;
  phys_offset: bigint;
  partition_vcpu_memory_access: boolean;
  backing_src: vm_mem_backing_src_type;
  slots: number;
  write_percent: number;
  random_access: boolean;
}

async function wait_for_iteration(it: number): Promise<void> {
  for (let i = 0; i < nr_vcpus; i++) {
    while (vcpu_last_completed_iteration[i] !== it) await cpu_relax();
  }
}

async function run_test(mode: vm_guest_mode, p: test_params): Promise<void> {
  let get_dirty_log_total: timespec = { tv_sec: 0, tv_nsec: 0 };
  let vcpu_dirty_total: timespec = { tv_sec: 0, tv_nsec: 0 };
  let clear_dirty_log_total: timespec = { tv_sec: 0, tv_nsec: 0 };

  const vm = memstress_create_vm(
    mode,
    nr_vcpus,
    guest_percpu_mem_size,
    p.slots,
    p.backing_src,
    p.partition_vcpu_memory_access,
  );
  memstress_set_random_seed(vm, guest_random_seed);

  memstress_set_write_percent(vm, p.write_percent);

  let guest_num_pages = (BigInt(nr_vcpus) * guest_percpu_mem_size) >> BigInt(vm.page_shift);
  guest_num_pages = vm_adjust_num_guest_pages(mode, guest_num_pages);
  const host_num_pages = vm_num_host_pages(mode, Number(guest_num_pages));
  const pages_per_slot = Math.floor(host_num_pages / p.slots);

  const bitmaps = memstress_alloc_bitmaps(p.slots, pages_per_slot);

  if (dirty_log_manual_caps) {
    vm_enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, dirty_log_manual_caps);
  }

  // Iteration 0 is the populate pass.
  iteration = 0;
  host_quit = false;

  let start = clock_gettime_monotonic();
  for (let i = 0; i < nr_vcpus; i++) vcpu_last_completed_iteration[i] = -1;

  // Populate by writing every page: a read would only map the shared zero
  // page, and the copy-on-write faults that followed in the timed passes
  // would skew their figures.
  memstress_set_write_percent(vm, 100);
  memstress_set_random_access(vm, false);
  memstress_start_vcpu_threads(nr_vcpus, vcpu_worker);

  // Wait for every vCPU to finish the populate pass.
  pr_debug("Starting iteration %d - Populating\n", iteration);
  await wait_for_iteration(iteration);

  let ts_diff = timespec_elapsed(start);
  pr_info("Populate memory time: %ld.%.9lds\n", ts_diff.tv_sec, ts_diff.tv_nsec);

  // Timed: KVM_MEM_LOG_DIRTY_PAGES on every test slot.
  start = clock_gettime_monotonic();
  memstress_enable_dirty_logging(vm, p.slots);
  ts_diff = timespec_elapsed(start);
  pr_info("Enabling dirty logging time: %ld.%.9lds\n\n", ts_diff.tv_sec, ts_diff.tv_nsec);

  memstress_set_write_percent(vm, p.write_percent);
  memstress_set_random_access(vm, p.random_access);

  while (iteration < p.iterations) {
    // The workers spin on `iteration`; bumping it starts the next pass.
    start = clock_gettime_monotonic();
    iteration++;

    pr_debug("Starting iteration %d\n", iteration);
    await wait_for_iteration(iteration);

    ts_diff = timespec_elapsed(start);
    vcpu_dirty_total = timespec_add(vcpu_dirty_total, ts_diff);
    pr_info(
      "Iteration %d dirty memory time: %ld.%.9lds\n",
      iteration,
      ts_diff.tv_sec,
      ts_diff.tv_nsec,
    );

    start = clock_gettime_monotonic();
    memstress_get_dirty_log(vm, bitmaps, p.slots);
    ts_diff = timespec_elapsed(start);
    get_dirty_log_total = timespec_add(get_dirty_log_total, ts_diff);
    pr_info(
      "Iteration %d get dirty log time: %ld.%.9lds\n",
      iteration,
      ts_diff.tv_sec,
      ts_diff.tv_nsec,
    );

    if (dirty_log_manual_caps) {
      start = clock_gettime_monotonic();
      memstress_clear_dirty_log(vm, bitmaps, p.slots, pages_per_slot);
      ts_diff = timespec_elapsed(start);
      clear_dirty_log_total = timespec_add(clear_dirty_log_total, ts_diff);
      pr_info(
        "Iteration %d clear dirty log time: %ld.%.9lds\n",
        iteration,
        ts_diff.tv_sec,
        ts_diff.tv_nsec,
      );
    }
  }

  // With -e the guests keep writing while logging is turned off, which
  // stresses that path for speed and correctness but makes it much slower,
  // hence opt-in.
  if (run_vcpus_while_disabling_dirty_logging) iteration = -1;

  // Timed: clear KVM_MEM_LOG_DIRTY_PAGES again.
  start = clock_gettime_monotonic();
  memstress_disable_dirty_logging(vm, p.slots);
  ts_diff = timespec_elapsed(start);
  pr_info("Disabling dirty logging time: %ld.%.9lds\n", ts_diff.tv_sec, ts_diff.tv_nsec);

  // Stop the workers; joining them waits out any vCPU still running.
  host_quit = true;
  await memstress_join_vcpu_threads(nr_vcpus);

  let avg = timespec_div(get_dirty_log_total, p.iterations);
  pr_info(
    "Get dirty log over %lu iterations took %ld.%.9lds. (Avg %ld.%.9lds/iteration)\n",
    p.iterations,
    get_dirty_log_total.tv_sec,
    get_dirty_log_total.tv_nsec,
    avg.tv_sec,
    avg.tv_nsec,
  );

  if (dirty_log_manual_caps) {
    avg = timespec_div(clear_dirty_log_total, p.iterations);
    pr_info(
      "Clear dirty log over %lu iterations took %ld.%.9lds. (Avg %ld.%.9lds/iteration)\n",
      p.iterations,
      clear_dirty_log_total.tv_sec,
      clear_dirty_log_total.tv_nsec,
      avg.tv_sec,
      avg.tv_nsec,
    );
  }

  memstress_free_bitmaps(bitmaps, p.slots);
  memstress_destroy_vm(vm);
}

function help(name: string): void {
  puts("");
  printf(
    "usage: %s [-h] [-a] [-i iterations] [-p offset] [-g] " +
      "[-m mode] [-n] [-b vcpu bytes] [-v vcpus] [-o] [-r random seed ] [-s mem type]" +
      "[-x memslots] [-w percentage] [-c physical cpus to run test on]\n",
    name,
  );
  puts("");
  printf(" -a: access memory randomly rather than in order.\n");
  printf(" -i: specify iteration counts (default: %lu)\n", TEST_HOST_LOOP_N);
  printf(
    " -g: Do not enable KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2. This\n" +
      "     makes KVM_GET_DIRTY_LOG clear the dirty log (i.e.\n" +
      "     KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE is not enabled)\n" +
      "     and writes will be tracked as soon as dirty logging is\n" +
      "     enabled on the memslot (i.e. KVM_DIRTY_LOG_INITIALLY_SET\n" +
      "     is not enabled).\n",
  );
  printf(
    " -p: specify guest physical test memory offset\n" +
      "     Warning: a low offset can conflict with the loaded test code.\n",
  );
  guest_modes_help();
  printf(" -n: Run the vCPUs in nested mode (L2)\n");
  printf(
    " -e: Run vCPUs while dirty logging is being disabled.  This\n" +
      "     can significantly increase runtime, especially if there\n" +
      "     isn't a dedicated pCPU for the main thread.\n",
  );
  printf(
    " -b: specify the size of the memory region which should be\n" +
      "     dirtied by each vCPU. e.g. 10M or 3G.\n" +
      "     (default: 1G)\n",
  );
  printf(" -v: specify the number of vCPUs to run.\n");
  printf(
    " -o: Overlap guest memory accesses instead of partitioning\n" +
      "     them into a separate region of memory for each vCPU.\n",
  );
  printf(" -r: specify the starting random seed.\n");
  backing_src_help("-s");
  printf(
    " -x: Split the memory region into this number of memslots.\n" +
      "     (default: 1)\n",
  );
  printf(
    " -w: specify the percentage of pages which should be written to\n" +
      "     as an integer from 0-100 inclusive. This is probabilistic,\n" +
      "     so -w X means each page has an X%% chance of writing\n" +
      "     and a (100-X)%% chance of reading.\n" +
      "     (default: 100 i.e. all pages are written to.)\n",
  );
  printf(" -c: Pin tasks to physical CPUs (not supported here, see the header).\n");
  puts("");
  exit(0);
}

async function main(argc: number, argv: string[]): Promise<number> {
  const max_vcpus = kvm_check_cap(KVM_CAP_MAX_VCPUS);
  let pcpu_list: string | null = null;
  const p: test_params = {
    iterations: TEST_HOST_LOOP_N,
    phys_offset: 0n,
    partition_vcpu_memory_access: true,
    backing_src: DEFAULT_VM_MEM_SRC,
    slots: 1,
    write_percent: 100,
    random_access: false,
  };

  if (in_deno_test()) guest_percpu_mem_size = DENO_TEST_PER_VCPU_MEM_SIZE;

  // A fixed default seed keeps the guests' access pattern repeatable.
  guest_random_seed = 1;

  dirty_log_manual_caps = kvm_check_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
  dirty_log_manual_caps &= KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;

  guest_modes_append_default();

  // getopt(argc, argv, "ab:c:eghi:m:nop:r:s:v:x:w:")
  for (let i = 1; i < argc; i++) {
    const a = argv[i]!;
    const opt = a.length >= 2 && a[0] === "-" ? a[1]! : "?";
    const optarg = () => a.length > 2 ? a.slice(2) : argv[++i] ?? "";
    switch (opt) {
      case "a":
        p.random_access = true;
        break;
      case "b":
        guest_percpu_mem_size = parse_size(optarg());
        break;
      case "c":
        pcpu_list = optarg();
        break;
      case "e":
        // -e: keep the vCPUs running while logging is disabled.
        run_vcpus_while_disabling_dirty_logging = true;
        break;
      case "g":
        dirty_log_manual_caps = 0;
        break;
      case "h":
        help(argv[0]!);
        break;
      case "i":
        p.iterations = atoi_positive("Number of iterations", optarg());
        break;
      case "m":
        guest_modes_cmdline(optarg());
        break;
      case "n":
        memstress_args.value.nested = 1;
        break;
      case "o":
        p.partition_vcpu_memory_access = false;
        break;
      case "p":
        p.phys_offset = BigInt.asUintN(64, BigInt(optarg() || 0));
        break;
      case "r":
        guest_random_seed = atoi_positive("Random seed", optarg());
        break;
      case "s":
        p.backing_src = parse_backing_src_type(optarg());
        break;
      case "v":
        nr_vcpus = atoi_positive("Number of vCPUs", optarg());
        TEST_ASSERT(
          nr_vcpus <= max_vcpus,
          "Invalid number of vcpus, must be between 1 and %d",
          max_vcpus,
        );
        break;
      case "w":
        p.write_percent = atoi_non_negative("Write percentage", optarg());
        TEST_ASSERT(p.write_percent <= 100, "Write percentage must be between 0 and 100");
        break;
      case "x":
        p.slots = atoi_positive("Number of slots", optarg());
        break;
      default:
        help(argv[0]!);
        break;
    }
  }

  if (pcpu_list !== null) {
    ksft_exit_skip(
      "vCPU pinning (-c %s) is not supported: vCPU workers cannot be pinned\n",
      pcpu_list,
    );
  }

  TEST_ASSERT(p.iterations >= 2, "The test should have at least two iterations");

  pr_info("Test iterations: %lu\n", p.iterations);

  await for_each_guest_mode(run_test, p);

  return 0;
}

await ksft_main(import.meta, main);
