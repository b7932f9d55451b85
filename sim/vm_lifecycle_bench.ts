// SPDX-License-Identifier: GPL-2.0-only
/**
 * The library's whole VM lifecycle, `vm_create(1)` + `kvm_vm_free()`, as a
 * test calls it: what one cycle costs, and whether thousands of cycles in
 * one process stay within bounded memory (issue #13: RSS within 50 MiB of
 * the start after 10,000 cycles; fds and vCPU workers back where they were).
 *
 * The memory figure is taken when the module loads: `RSS_CYCLES` cycles
 * (default 10,000) run in a synchronous loop, as a test's loop would, and
 * the growth of RSS, open fds and live workers is printed with the V8 flags
 * in force. The bench fails when RSS grew by 50 MiB or more, or when an fd or
 * worker is left. `RSS_CYCLES=0` skips the figure.
 *
 * Why the V8 flags matter: a cycle makes a few hundred KiB of short-lived
 * objects, and with its default policy V8 answers that rate by growing its
 * heap (and keeps the SharedArrayBuffers of dead VMs until the collections
 * that growth postpones). `--optimize-for-size` keeps the heap near what is
 * live; the `test`, `selftests` and `bench` tasks set it through
 * `DENO_V8_FLAGS` (README).
 *
 * The timed benches: a VM's whole life through the library, as a test
 * lives it: created with one vCPU (`vm_create_with_one_vcpu`, or a TD built
 * and finalized with `VM_SHAPE_TDX`), run to the guest's first exit, freed.
 * The `pool` group is the same VM with the vCPU worker pool on (a freed
 * vCPU's worker serves the next VM) and off (each vCPU starts a worker, as
 * before the pool). The raw-ioctl twins, without the library's work, are in
 * `sim/kernel/arch/x86/kvm/vmx/vmx_bench.ts` and `sim/raw_td_bench.ts`.
 *
 * `deno task bench sim/vm_lifecycle_bench.ts`
 *
 * @module
 */

import "./use_sim_backend.ts";
import {
  __vm_create_with_vcpus,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT_EQ,
  vcpu_run,
  vm_create,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { get_ucall, new_ucall, UCALL_DONE, UCALL_SYNC } from "../include/ucall_common.ts";
import { VM_SHAPE_TDX } from "../include/x86/processor.ts";
import { tdx_run, tdx_test_success } from "../include/x86/tdx/test_util.ts";
import { in_guest_worker } from "../include/libc/process.ts";
import { set_vcpu_worker_pool, vcpu_threads_alive } from "./cpu/vcpu_thread.ts";
import { set_exe_file } from "./backend.ts";
import { current } from "./kernel/include/linux/sched.ts";
import { lifecycle_guest_sync_stateful, STATEFUL_IMAGE } from "./testdata/stateful_image.ts";

/** VMs run before the timed ones of the `vm` group: the JIT has compiled their path by then. */
export const VM_WARMUP = 500;
/** TDs run before the timed ones. */
export const TD_WARMUP = 150;

/** The RSS growth the figure must stay under (issue #13). */
export const RSS_GROWTH_LIMIT = 50 << 20;

function rss(): number {
  return Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]) * 1024;
}

function open_fds(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

function cycle(): void {
  kvm_vm_free(vm_create(1));
}

const cycles = Number(Deno.env.get("RSS_CYCLES") ?? 10_000);
// The vCPU workers import this module as the guest image: only the host measures.
if (cycles > 0 && !in_guest_worker()) {
  // The first cycles load the modules and fill the caches a process keeps.
  for (let i = 0; i < 20; i++) cycle();
  // Threads the warm-up started (the page-zeroing thread) load their modules
  // meanwhile, with those files open: let them finish before counting fds.
  await new Promise((r) => setTimeout(r, 200));
  const rss0 = rss(), fds0 = open_fds(), workers0 = vcpu_threads_alive(0).length;
  const t0 = performance.now();
  for (let i = 0; i < cycles; i++) cycle();
  const ms = performance.now() - t0;
  const grew = rss() - rss0,
    fds = open_fds() - fds0,
    workers = vcpu_threads_alive(0).length - workers0;
  console.log(
    `${cycles} vm_create(1) + kvm_vm_free() cycles: RSS ${(rss0 / 2 ** 20).toFixed(0)} -> ` +
      `${((rss0 + grew) / 2 ** 20).toFixed(0)} MiB (+${(grew / 2 ** 20).toFixed(1)}), ` +
      `fds ${fds >= 0 ? "+" : ""}${fds}, workers ${workers >= 0 ? "+" : ""}${workers}, ` +
      `${(ms / cycles).toFixed(2)} ms per cycle; DENO_V8_FLAGS=${
        Deno.env.get("DENO_V8_FLAGS") ?? "(none)"
      }`,
  );
  if (grew >= RSS_GROWTH_LIMIT || fds !== 0 || workers !== 0) {
    throw new Error(
      `bounded memory: RSS grew ${(grew / 2 ** 20).toFixed(1)} MiB (limit ${
        RSS_GROWTH_LIMIT >> 20
      }), fds ${fds}, workers ${workers}`,
    );
  }
}

/** Guest: its first exit is the end. */
export function lifecycle_guest_done(): void {
  GUEST_DONE();
}

/** TD guest: its first exit is the end. */
export function lifecycle_td_done(): void {
  tdx_test_success();
}

function vm_life(): void {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, lifecycle_guest_done);
  vcpu_run(vcpu.value);
  TEST_ASSERT_EQ(get_ucall(vcpu.value, null), UCALL_DONE);
  kvm_vm_free(vm);
}

function td_life(): void {
  const vcpus: kvm_vcpu[] = [];
  const vm = __vm_create_with_vcpus(VM_SHAPE_TDX, 1, 0, lifecycle_td_done, vcpus);
  tdx_run(vcpus[0]!);
  kvm_vm_free(vm);
}

// Steady state, as in a program that creates many VMs: the JIT compiles the
// path over the first few hundred (a process's first hundred VMs average
// ~3x the steady figure), more than the harness's own warmup runs.
Deno.bench("VM + one vCPU + first exit + free (library)", {
  group: "vm",
  baseline: true,
  warmup: VM_WARMUP,
  n: 1000,
}, vm_life);
Deno.bench("TD built + finalized + first exit + free (library)", {
  group: "vm",
  warmup: TD_WARMUP,
  n: 300,
}, td_life);

Deno.bench("VM life, pool on", { group: "pool", baseline: true }, vm_life);
Deno.bench("VM life, pool on, image with state of its own (a fresh instance per VM)", {
  group: "pool",
}, (b) => {
  const exe = current.exe_file;
  set_exe_file([STATEFUL_IMAGE]);
  b.start();
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, lifecycle_guest_sync_stateful);
  vcpu_run(vcpu.value);
  const uc = new_ucall();
  TEST_ASSERT_EQ(get_ucall(vcpu.value, uc), UCALL_SYNC);
  // Each VM starts from the image's initial state.
  TEST_ASSERT_EQ(uc.args.at(1), 1n);
  kvm_vm_free(vm);
  b.end();
  set_exe_file(exe);
});
Deno.bench("VM life, pool off (a worker start per VM)", { group: "pool" }, (b) => {
  const old = set_vcpu_worker_pool(0);
  b.start();
  vm_life();
  b.end();
  set_vcpu_worker_pool(old);
});

Deno.bench("vm_create(1) + kvm_vm_free(), no vCPU run", { group: "create" }, cycle);
