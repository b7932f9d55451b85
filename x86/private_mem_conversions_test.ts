// SPDX-License-Identifier: GPL-2.0-only
/**
 * Explicit shared/private conversions of guest_memfd memory: port of
 * `tools/testing/selftests/kvm/x86/private_mem_conversions_test.c`.
 *
 * Copyright (C) 2022, Google LLC.
 *
 * What differs from C:
 * - `memcmp_g()` reads the range with one guest copy and compares it byte
 *   by byte, asserting at the first mismatch with C's message; a read of
 *   guest memory per byte through the simulated CPU would take minutes.
 * - The vCPU pthreads are `vcpu_run_async()` loops started together
 *   (`run_vcpus`), awaited where C joins them.
 * - `getopt(argc, argv, "hm:s:n:")` is a small loop over the same options.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __GUEST_ASSERT,
  __vm_create_with_vcpus,
  addr_gpa2hva,
  align_up,
  atoi_positive,
  backing_src_help,
  DEFAULT_VM_MEM_SRC,
  exit_reason_str,
  get_backing_src_pagesz,
  get_ucall,
  GUEST_DONE,
  GUEST_SYNC4,
  GUEST_SYNC5,
  kvm_check_cap,
  kvm_fallocate,
  type kvm_vcpu,
  kvm_vm_free,
  memset,
  new_ucall,
  parse_backing_src_type,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_FAIL,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run_async,
  virt_map,
  vm_create_guest_memfd,
  vm_enable_cap,
  vm_guest_mem_fallocate,
  vm_mem_add,
  type vm_mem_backing_src_type,
  VM_MODE_DEFAULT,
  vm_set_memory_attributes,
  type vm_shape,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_EXIT_HYPERCALL,
  KVM_CAP_VM_TYPES,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_IO,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
} from "../include/linux/kvm.ts";
import { KVM_X86_SW_PROTECTED_VM } from "../include/asm/kvm.ts";
import { KVM_HC_MAP_GPA_RANGE } from "../include/linux/kvm_para.ts";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../include/linux/falloc.ts";
import {
  kvm_hypercall_map_gpa_range,
  PAGE_SHIFT,
  PAGE_SIZE,
  vcpu_args_set,
} from "../include/x86/processor.ts";
import { close, user_memory } from "../include/libc/syscall.ts";
import { printf, puts } from "../include/libc/stdio.ts";
import { exit } from "../include/libc/exit.ts";
import { guest_read } from "../lib/guest_memory.ts";

const SZ_2M = 0x200000n;
const PG = BigInt(PAGE_SIZE);
const BASE_DATA_SLOT = 10;
const BASE_DATA_GPA = 1n << 32n;
const PER_CPU_DATA_SIZE = SZ_2M + PG;

/** C `memcmp_g(gpa, pattern, size)` (guest). */
function memcmp_g(gpa: bigint, pattern: number, size: bigint): void {
  const mem = guest_read(gpa, Number(size));
  for (let i = 0; i < mem.length; i++) {
    if (mem[i] === pattern) continue;
    __GUEST_ASSERT(
      mem[i] === pattern,
      "Guest expected 0x%x at offset %lu (gpa 0x%lx), got 0x%x",
      pattern,
      i,
      gpa + BigInt(i),
      mem[i],
    );
  }
}

function memcmp_h(mem: Uint8Array, gpa: bigint, pattern: number, size: number): void {
  for (let i = 0; i < size; i++) {
    // C's TEST_ASSERT evaluates its message arguments only on failure.
    if (mem[i] === pattern) continue;
    TEST_ASSERT(
      mem[i] === pattern,
      "Host expected 0x%x at gpa 0x%lx, got 0x%x",
      pattern,
      gpa + BigInt(i),
      mem[i],
    );
  }
}

// The guest flips ranges between shared and private with the
// KVM_HC_MAP_GPA_RANGE hypercall; KVM hands each one to userspace
// (KVM_EXIT_HYPERCALL), which updates the memory attributes and, optionally,
// the guest_memfd backing. After that the guest touches the range without
// further exits. The host checks through the shared mapping that a private
// write never shows up there, and that shared writes go both ways again
// once a range is converted back.

const GUEST_STAGE = (offset: bigint, size: bigint) => ({ offset, size });

const SYNC_SHARED = 0;
const SYNC_PRIVATE = 1;

function guest_sync_shared(
  gpa: bigint,
  size: bigint,
  current_pattern: number,
  new_pattern: number,
) {
  GUEST_SYNC5(SYNC_SHARED, gpa, size, current_pattern, new_pattern);
}

function guest_sync_private(gpa: bigint, size: bigint, pattern: number): void {
  GUEST_SYNC4(SYNC_PRIVATE, gpa, size, pattern);
}

// Our own guest-to-VMM encoding; KVM does not interpret these flag bits.
const MAP_GPA_SET_ATTRIBUTES = 1n << 0n;
const MAP_GPA_SHARED = 1n << 1n;
const MAP_GPA_DO_FALLOCATE = 1n << 2n;

function guest_map_mem(gpa: bigint, size: bigint, map_shared: boolean, do_fallocate: boolean) {
  let flags = MAP_GPA_SET_ATTRIBUTES;

  if (map_shared) flags |= MAP_GPA_SHARED;
  if (do_fallocate) flags |= MAP_GPA_DO_FALLOCATE;
  kvm_hypercall_map_gpa_range(gpa, size, flags);
}

function guest_map_shared(gpa: bigint, size: bigint, do_fallocate: boolean): void {
  guest_map_mem(gpa, size, true, do_fallocate);
}

function guest_map_private(gpa: bigint, size: bigint, do_fallocate: boolean): void {
  guest_map_mem(gpa, size, false, do_fallocate);
}

const test_ranges = [
  GUEST_STAGE(0n, PG),
  GUEST_STAGE(0n, SZ_2M),
  GUEST_STAGE(PG, PG),
  GUEST_STAGE(PG, SZ_2M),
  GUEST_STAGE(SZ_2M, PG),
];

function guest_test_explicit_conversion(base_gpa: bigint, do_fallocate: boolean): void {
  const def_p = 0xaa;
  const init_p = 0xcc;

  // A KVM_X86_SW_PROTECTED_VM starts with every page shared.
  memset(base_gpa, def_p, Number(PER_CPU_DATA_SIZE));
  memcmp_g(base_gpa, def_p, PER_CPU_DATA_SIZE);
  guest_sync_shared(base_gpa, PER_CPU_DATA_SIZE, def_p, init_p);

  memcmp_g(base_gpa, init_p, PER_CPU_DATA_SIZE);

  for (let i = 0; i < test_ranges.length; i++) {
    const gpa = base_gpa + test_ranges[i]!.offset;
    const size = test_ranges[i]!.size;
    const p1 = 0x11;
    const p2 = 0x22;
    const p3 = 0x33;
    const p4 = 0x44;

    // p1 marks the range under test, so it can be told apart from the
    // surrounding bytes, which keep init_p.
    memset(gpa, p1, Number(size));

    // Once private, guest writes land in guest_memfd: the host must keep
    // reading the old shared bytes, and the neighbours stay at init_p.
    // Private contents do not survive a PUNCH_HOLE, which is why ranges
    // larger than a page are only written, not checked.
    guest_map_private(gpa, size, do_fallocate);

    skip: {
      if (size > PG) {
        memset(gpa, p2, PAGE_SIZE);
        break skip;
      }

      memset(gpa, p2, Number(size));
      guest_sync_private(gpa, size, p1);

      // The guest sees its private p2; everything outside the range is
      // still the shared init_p.
      memcmp_g(gpa, p2, size);
      if (gpa > base_gpa) memcmp_g(base_gpa, init_p, gpa - base_gpa);
      if (gpa + size < base_gpa + PER_CPU_DATA_SIZE) {
        memcmp_g(gpa + size, init_p, base_gpa + PER_CPU_DATA_SIZE - (gpa + size));
      }

      // Leave every other page private so the range has shared gaps in it.
      for (let j = 0n; j < size; j += PG) {
        if ((j >> BigInt(PAGE_SHIFT)) & 1n) {
          guest_map_shared(gpa + j, PG, do_fallocate);
          guest_sync_shared(gpa + j, PG, p1, p3);

          memcmp_g(gpa + j, p3, PG);
        } else {
          guest_sync_private(gpa + j, PG, p1);
        }
      }
    }

    // Back to shared as a whole. The pages that stayed private until now
    // need p3 written by the guest before the host checks for it and
    // answers with p4.
    guest_map_shared(gpa, size, do_fallocate);
    memset(gpa, p3, Number(size));
    guest_sync_shared(gpa, size, p3, p4);
    memcmp_g(gpa, p4, size);

    // Restore init_p so the next range starts from the same state.
    memset(gpa, init_p, Number(size));

    // Drop every guest_memfd page of this vCPU's chunk, so no folio left
    // over from this range affects the next one.
    guest_map_shared(base_gpa, PER_CPU_DATA_SIZE, true);
  }
}

function guest_punch_hole(gpa: bigint, size: bigint): void {
  // The host's shared+fallocate path deallocates, i.e. punches a hole.
  const flags = MAP_GPA_SHARED | MAP_GPA_DO_FALLOCATE;

  kvm_hypercall_map_gpa_range(gpa, size, flags);
}

// Holes punched in guest_memfd while the memory stays private: KVM must
// zap the SPTEs, and the next fault must bring back a zeroed page.
function guest_test_punch_hole(base_gpa: bigint, precise: boolean): void {
  const init_p = 0xcc;

  // Everything private: only the guest_memfd side matters here.
  guest_map_private(base_gpa, PER_CPU_DATA_SIZE, false);

  for (let i = 0; i < test_ranges.length; i++) {
    const gpa = base_gpa + test_ranges[i]!.offset;
    const size = test_ranges[i]!.size;

    // Start each range from an empty guest_memfd (also when !precise
    // refills all of it) so earlier ranges cannot leak into this one.
    guest_punch_hole(base_gpa, PER_CPU_DATA_SIZE);

    // Populate either just the range or the whole chunk, then check it.
    if (precise) {
      memset(gpa, init_p, Number(size));
      memcmp_g(gpa, init_p, size);
    } else {
      memset(base_gpa, init_p, Number(PER_CPU_DATA_SIZE));
      memcmp_g(base_gpa, init_p, PER_CPU_DATA_SIZE);
    }

    // After the hole, guest reads must fault in fresh zero pages.
    guest_punch_hole(gpa, size);
    memcmp_g(gpa, 0, size);
  }
}

/** Guest entry point. */
export function guest_code(base_gpa: bigint): void {
  // Conversions once with attributes only, once also (de)allocating
  // the guest_memfd backing.
  guest_test_explicit_conversion(base_gpa, false);
  guest_test_explicit_conversion(base_gpa, true);

  // Hole punching with the whole chunk populated, then with only the
  // range under test populated.
  guest_test_punch_hole(base_gpa, false);
  guest_test_punch_hole(base_gpa, true);
  GUEST_DONE();
}

function handle_exit_hypercall(vcpu: kvm_vcpu): void {
  const run = vcpu.run;
  const gpa = run.hypercall.args.at(0);
  const size = run.hypercall.args.at(1) * PG;
  const set_attributes = !!(run.hypercall.args.at(2) & MAP_GPA_SET_ATTRIBUTES);
  const map_shared = !!(run.hypercall.args.at(2) & MAP_GPA_SHARED);
  const do_fallocate = !!(run.hypercall.args.at(2) & MAP_GPA_DO_FALLOCATE);
  const vm = vcpu.vm;

  TEST_ASSERT(
    run.hypercall.nr === BigInt(KVM_HC_MAP_GPA_RANGE),
    "Wanted MAP_GPA_RANGE (%u), got '%llu'",
    KVM_HC_MAP_GPA_RANGE,
    run.hypercall.nr,
  );

  if (do_fallocate) vm_guest_mem_fallocate(vm, gpa, size, map_shared);

  if (set_attributes) {
    vm_set_memory_attributes(vm, gpa, size, map_shared ? 0n : KVM_MEMORY_ATTRIBUTE_PRIVATE);
  }
  run.hypercall.ret = 0n;
}

let run_vcpus: () => void = () => {};
let run_vcpus_set: Promise<void> = Promise.resolve();

async function __test_mem_conversions(vcpu: kvm_vcpu): Promise<void> {
  const run = vcpu.run;
  const vm = vcpu.vm;
  const uc = new_ucall();

  await run_vcpus_set;

  for (;;) {
    await vcpu_run_async(vcpu);

    if (run.exit_reason === KVM_EXIT_HYPERCALL) {
      handle_exit_hypercall(vcpu);
      continue;
    }

    TEST_ASSERT(
      run.exit_reason === KVM_EXIT_IO,
      "Wanted KVM_EXIT_IO, got exit reason: %u (%s)",
      run.exit_reason,
      exit_reason_str(run.exit_reason),
    );

    switch (get_ucall(vcpu, uc)) {
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        // falls through (REPORT_GUEST_ASSERT() exits)
      case UCALL_SYNC: {
        const gpa = uc.args.at(1);
        const size = Number(uc.args.at(2));

        TEST_ASSERT(
          uc.args.at(0) === BigInt(SYNC_SHARED) || uc.args.at(0) === BigInt(SYNC_PRIVATE),
          "Unknown sync command '%ld'",
          uc.args.at(0),
        );

        for (let i = 0; i < size; i += vm.page_size) {
          const nr_bytes = Math.min(vm.page_size, size - i);
          const hva = user_memory(addr_gpa2hva(vm, gpa + BigInt(i)), nr_bytes);

          // Host accesses always go through the shared mapping.
          memcmp_h(hva, gpa + BigInt(i), Number(uc.args.at(3)), nr_bytes);

          // Only shared ranges get a reply pattern from the host.
          if (uc.args.at(0) === BigInt(SYNC_SHARED)) hva.fill(Number(uc.args.at(4)));
        }
        break;
      }
      case UCALL_DONE:
        return;
      default:
        TEST_FAIL("Unknown ucall 0x%lx.", uc.cmd);
    }
  }
}

async function test_mem_conversions(
  src_type: vm_mem_backing_src_type,
  nr_vcpus: number,
  nr_memslots: number,
): Promise<void> {
  // Round each vCPU's chunk up to the backing page size, so every chunk
  // starts on a boundary the backing store can map huge.
  const pagesz = get_backing_src_pagesz(src_type);
  const alignment = SZ_2M > pagesz ? SZ_2M : pagesz;
  const per_cpu_size = align_up(PER_CPU_DATA_SIZE, alignment);
  const memfd_size = per_cpu_size * BigInt(nr_vcpus);
  const slot_size = memfd_size / BigInt(nr_memslots);
  const vcpus: kvm_vcpu[] = [];
  const threads: Promise<void>[] = [];

  const shape: vm_shape = {
    mode: VM_MODE_DEFAULT,
    type: KVM_X86_SW_PROTECTED_VM,
  };

  TEST_ASSERT(
    slot_size * BigInt(nr_memslots) === memfd_size,
    "The memfd size (0x%lx) needs to be cleanly divisible by the number of memslots (%u)",
    memfd_size,
    nr_memslots,
  );
  const vm = __vm_create_with_vcpus(shape, nr_vcpus, 0, guest_code, vcpus);

  vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 1 << KVM_HC_MAP_GPA_RANGE);

  const memfd = vm_create_guest_memfd(vm, memfd_size, 0n);

  for (let i = 0; i < nr_memslots; i++) {
    vm_mem_add(
      vm,
      src_type,
      BASE_DATA_GPA + slot_size * BigInt(i),
      BASE_DATA_SLOT + i,
      slot_size / BigInt(vm.page_size),
      KVM_MEM_GUEST_MEMFD,
      memfd,
      slot_size * BigInt(i),
      0n,
    );
  }

  run_vcpus_set = new Promise<void>((resolve) => run_vcpus = resolve);

  for (let i = 0; i < nr_vcpus; i++) {
    const gpa = BASE_DATA_GPA + BigInt(i) * per_cpu_size;

    vcpu_args_set(vcpus[i]!, 1, gpa);

    // Leave the padding unmapped: a stray guest access then faults
    // (#PF, then shutdown) rather than silently touching another chunk.
    virt_map(vm, gpa, gpa, Number(PER_CPU_DATA_SIZE / BigInt(vm.page_size)));

    threads[i] = __test_mem_conversions(vcpus[i]!);
  }

  run_vcpus();

  await Promise.all(threads);

  kvm_vm_free(vm);

  // guest_memfd holds a reference on its VM, so fallocate on it must
  // still work after the VM fd is closed; the VM is only torn down
  // when the memfd's last reference goes.
  kvm_fallocate(memfd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, memfd_size);
  kvm_fallocate(memfd, FALLOC_FL_KEEP_SIZE, 0, memfd_size);

  close(memfd);
}

function usage(cmd: string): void {
  puts("");
  printf("usage: %s [-h] [-m nr_memslots] [-s mem_type] [-n nr_vcpus]\n", cmd);
  puts("");
  backing_src_help("-s");
  puts("");
  puts(" -n: specify the number of vcpus (default: 1)");
  puts("");
  puts(" -m: specify the number of memslots (default: 1)");
  puts("");
}

async function main(argc: number, argv: string[]): Promise<number> {
  let src_type = DEFAULT_VM_MEM_SRC;
  let nr_memslots = 1;
  let nr_vcpus = 1;

  TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_SW_PROTECTED_VM));
  TEST_REQUIRE_GUEST_CODE();

  // getopt(argc, argv, "hm:s:n:")
  for (let i = 1; i < argc; i++) {
    const a = argv[i]!;
    const opt = a.length >= 2 && a[0] === "-" ? a[1]! : "?";
    const optarg = () => a.length > 2 ? a.slice(2) : argv[++i] ?? "";
    switch (opt) {
      case "s":
        src_type = parse_backing_src_type(optarg());
        break;
      case "n":
        nr_vcpus = atoi_positive("nr_vcpus", optarg());
        break;
      case "m":
        nr_memslots = atoi_positive("nr_memslots", optarg());
        break;
      case "h":
      default:
        usage(argv[0]!);
        exit(0);
    }
  }

  await test_mem_conversions(src_type, nr_vcpus, nr_memslots);

  return 0;
}

await ksft_main(import.meta, main);
