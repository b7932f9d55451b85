// SPDX-License-Identifier: GPL-2.0-only
/**
 * What a TD's vCPUs cost: a TD with 16 and with 64 vCPUs (one per simulated
 * host CPU) built, every vCPU booted to its TDG.VP.INFO report, and freed.
 * Each vCPU is a worker that imports the guest image, so the time per vCPU
 * is mostly a worker start (docs/sim.md, "The simulated host"). The RSS
 * growth of the first run of each size is printed.
 *
 * `deno bench -A sim/td_scale_bench.ts`
 *
 * @module
 */

import "./use_sim_backend.ts";
import { td_scale_run } from "./testdata/td_scale_host.ts";

for (const n of [16, 64]) {
  const before = Deno.memoryUsage().rss;
  td_scale_run(n);
  const grown = Deno.memoryUsage().rss - before;
  console.log(`TD with ${n} vCPUs: RSS grew ${(grown / 2 ** 20).toFixed(0)} MiB on the first run`);
  Deno.bench({
    name: `TD with ${n} vCPUs: build, boot every vCPU, free`,
    n: 3,
    warmup: 0,
    fn() {
      td_scale_run(n);
    },
  });
}
