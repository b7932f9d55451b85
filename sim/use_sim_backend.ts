// SPDX-License-Identifier: GPL-2.0-only
/**
 * Pins the `sim` backend for the module that imports this one, whatever
 * `KVM_SELFTESTS_BACKEND` says. The simulator's own tests and benchmarks
 * (`sim/**\/*_test.ts`, `*_bench.ts`) check the simulated kernel through the
 * ordinary syscall boundary; with the environment selecting `kvm` they would
 * otherwise test the host's kernel instead, and fail wherever the simulator
 * deliberately models something else (an Intel host, TDX, its own limits).
 *
 * Use it as the first import of such a file, before anything that imports
 * `include/libc/syscall.ts`:
 *
 * ```ts
 * import "../use_sim_backend.ts";
 * ```
 *
 * Module evaluation follows import order, so the pin is in place before
 * `syscall.ts` runs `init_backend()` (which keeps an already-set backend) and
 * before any other module's top-level code can make a syscall; the `kvm`
 * backend is then never loaded by that file at all.
 *
 * The pin needs no restoring: `deno test` and `deno bench` evaluate every
 * test module in an isolate of its own (`sim/use_sim_backend_test.ts` checks
 * this), so `set_backend` here reaches exactly the importing file and the
 * modules it loads, never the `x86/` selftests of the same run. A vCPU worker
 * that imports such a file as its guest image pins its own isolate the same
 * way, which is what it needs too.
 *
 * @module
 */

import { set_backend } from "../include/libc/backend.ts";
import { backend as sim } from "./backend.ts";

set_backend(sim);
