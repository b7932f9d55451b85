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
 * `deno task bench sim/vm_lifecycle_bench.ts`
 *
 * @module
 */

import "./use_sim_backend.ts";
import { kvm_vm_free, vm_create } from "../lib/kvm_util.ts";
import { vcpu_threads_alive } from "./cpu/vcpu_thread.ts";

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
if (cycles > 0) {
  // The first cycles load the modules and fill the caches a process keeps.
  for (let i = 0; i < 20; i++) cycle();
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

Deno.bench("vm_create(1) + kvm_vm_free()", () => {
  cycle();
});
