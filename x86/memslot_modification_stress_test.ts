// SPDX-License-Identifier: GPL-2.0-only
/**
 * Stresses memslot add/delete while vCPUs run (derived from
 * demand_paging_test): port of `tools/testing/selftests/kvm/memslot_modification_stress_test.c`
 * (kvm-x86 `next` at 1a27afa0511e; upstream keeps it at the top level, the
 * SDK keeps every program in `x86/`). vCPUs keep touching their memory
 * (`lib/memstress.ts`) while the host adds and deletes a one-page memslot
 * just below it.
 *
 * Copyright (C) 2018, Red Hat, Inc.
 * Copyright (C) 2020, Google, Inc.
 *
 * What differs from C:
 * - Under `deno test` the default memory per vCPU is 4M (`-b` still sets
 *   it): with upstream's 1G, each vCPU's pass over its pages (which the
 *   threads must finish before they can be joined) takes minutes through
 *   the simulated CPU. Run standalone, the default is upstream's 1G.
 * - The vCPU pthreads are async functions (`memstress_start_vcpu_threads`
 *   in `lib/memstress.ts`); `usleep(delay)` is an awaited timer, so the
 *   vCPUs' exits are handled between modifications.
 * - `getopt(argc, argv, "hm:d:qb:v:oi:")` is a small loop over the same
 *   options.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  _vcpu_run_async,
  atoi_non_negative,
  atoi_positive,
  exit_reason_str,
  get_ucall,
  getpagesize,
  kvm_check_cap,
  type kvm_vm,
  parse_size,
  pr_info,
  TEST_ASSERT,
  TEST_REQUIRE,
  UCALL_SYNC,
  vm_enable_cap,
  type vm_guest_mode,
  vm_mem_region_delete,
  VM_MEM_SRC_ANONYMOUS,
  vm_userspace_mem_region_add,
} from "../include/kvm_util.ts";
import { KVM_CAP_DISABLE_QUIRKS2, KVM_CAP_MAX_VCPUS } from "../include/linux/kvm.ts";
import { KVM_X86_QUIRK_SLOT_ZAP_ALL } from "../include/asm/kvm.ts";
import { in_deno_test } from "../include/libc/process.ts";
import { printf, puts } from "../include/libc/stdio.ts";
import { exit } from "../include/libc/exit.ts";
import {
  DEFAULT_PER_VCPU_MEM_SIZE,
  memstress_args,
  memstress_create_vm,
  memstress_destroy_vm,
  memstress_join_vcpu_threads,
  memstress_start_vcpu_threads,
  type memstress_vcpu,
} from "../lib/memstress.ts";
import {
  for_each_guest_mode,
  guest_modes_append_default,
  guest_modes_cmdline,
  guest_modes_help,
} from "../lib/guest_modes.ts";

const DUMMY_MEMSLOT_INDEX = 7;

const DEFAULT_MEMSLOT_MODIFICATION_ITERATIONS = 10;

/** The default memory per vCPU under `deno test` (see the header). */
const DENO_TEST_PER_VCPU_MEM_SIZE = 4n << 20n;

let nr_vcpus = 1;
let guest_percpu_mem_size = BigInt(DEFAULT_PER_VCPU_MEM_SIZE);

async function vcpu_worker(vcpu_args: memstress_vcpu): Promise<void> {
  const vcpu = vcpu_args.vcpu;
  const run = vcpu.run;

  // Keep touching memory until the host raises the stop flag.
  while (!memstress_args.value.stop_vcpus) {
    const ret = await _vcpu_run_async(vcpu);
    TEST_ASSERT(ret === 0, "vcpu_run failed: %d", ret);

    if (get_ucall(vcpu, null) === UCALL_SYNC) continue;

    TEST_ASSERT(
      false,
      "Invalid guest sync status: exit_reason=%s\n",
      exit_reason_str(run.exit_reason),
    );
  }
}

const usleep = (usec: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.floor(usec / 1000)));

async function add_remove_memslot(
  vm: kvm_vm,
  delay: number,
  nr_modifications: number,
): Promise<void> {
  const pages = BigInt(Math.max(vm.page_size, getpagesize()) / vm.page_size);

  // memstress owns the top of the GPA space, so the extra slot goes in the
  // page right under it.
  const gpa = memstress_args.value.gpa - pages * BigInt(vm.page_size);

  for (let i = 0; i < nr_modifications; i++) {
    await usleep(delay);
    vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, DUMMY_MEMSLOT_INDEX, pages, 0);

    vm_mem_region_delete(vm, DUMMY_MEMSLOT_INDEX);
  }
}

interface test_params {
  delay: number;
  nr_iterations: number;
  partition_vcpu_memory_access: boolean;
  disable_slot_zap_quirk: boolean;
}

async function run_test(mode: vm_guest_mode, p: test_params): Promise<void> {
  const vm = memstress_create_vm(
    mode,
    nr_vcpus,
    guest_percpu_mem_size,
    1,
    VM_MEM_SRC_ANONYMOUS,
    p.partition_vcpu_memory_access,
  );
  if (p.disable_slot_zap_quirk) {
    vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);
  }

  pr_info("Memslot zap quirk %s\n", p.disable_slot_zap_quirk ? "disabled" : "enabled");

  pr_info("Finished creating vCPUs\n");

  memstress_start_vcpu_threads(nr_vcpus, vcpu_worker);

  pr_info("Started all vCPUs\n");

  await add_remove_memslot(vm, p.delay, p.nr_iterations);

  await memstress_join_vcpu_threads(nr_vcpus);
  pr_info("All vCPU threads joined\n");

  memstress_destroy_vm(vm);
}

function help(name: string): void {
  puts("");
  printf(
    "usage: %s [-h] [-m mode] [-d delay_usec] [-q]\n" +
      "          [-b memory] [-v vcpus] [-o] [-i iterations]\n",
    name,
  );
  guest_modes_help();
  printf(
    " -d: add a delay between each iteration of adding and\n" +
      "     deleting a memslot in usec.\n",
  );
  printf(" -q: Disable memslot zap quirk.\n");
  printf(
    " -b: specify the size of the memory region which should be\n" +
      "     accessed by each vCPU. e.g. 10M or 3G.\n" +
      "     Default: 1G\n",
  );
  printf(" -v: specify the number of vCPUs to run.\n");
  printf(
    " -o: Overlap guest memory accesses instead of partitioning\n" +
      "     them into a separate region of memory for each vCPU.\n",
  );
  printf(
    " -i: specify the number of iterations of adding and removing\n" +
      "     a memslot.\n" +
      "     Default: %d\n",
    DEFAULT_MEMSLOT_MODIFICATION_ITERATIONS,
  );
  puts("");
  exit(0);
}

async function main(argc: number, argv: string[]): Promise<number> {
  const max_vcpus = kvm_check_cap(KVM_CAP_MAX_VCPUS);
  const p: test_params = {
    delay: 0,
    nr_iterations: DEFAULT_MEMSLOT_MODIFICATION_ITERATIONS,
    partition_vcpu_memory_access: true,
    disable_slot_zap_quirk: false,
  };

  if (in_deno_test()) guest_percpu_mem_size = DENO_TEST_PER_VCPU_MEM_SIZE;

  guest_modes_append_default();

  // getopt(argc, argv, "hm:d:qb:v:oi:")
  for (let i = 1; i < argc; i++) {
    const a = argv[i]!;
    const opt = a.length >= 2 && a[0] === "-" ? a[1]! : "?";
    const optarg = () => a.length > 2 ? a.slice(2) : argv[++i] ?? "";
    switch (opt) {
      case "m":
        guest_modes_cmdline(optarg());
        break;
      case "d":
        p.delay = atoi_non_negative("Delay", optarg());
        break;
      case "b":
        guest_percpu_mem_size = parse_size(optarg());
        break;
      case "v":
        nr_vcpus = atoi_positive("Number of vCPUs", optarg());
        TEST_ASSERT(
          nr_vcpus <= max_vcpus,
          "Invalid number of vcpus, must be between 1 and %d",
          max_vcpus,
        );
        break;
      case "o":
        p.partition_vcpu_memory_access = false;
        break;
      case "i":
        p.nr_iterations = atoi_positive("Number of iterations", optarg());
        break;
      case "q":
        p.disable_slot_zap_quirk = true;

        TEST_REQUIRE(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_SLOT_ZAP_ALL);
        break;
      case "h":
      default:
        help(argv[0]!);
        break;
    }
  }

  await for_each_guest_mode(run_test, p);

  return 0;
}

await ksft_main(import.meta, main);
