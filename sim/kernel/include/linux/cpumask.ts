// SPDX-License-Identifier: GPL-2.0-only
/**
 * `include/linux/cpumask.h`'s CPU counts for the simulated host. The
 * simulated host has no CPU hotplug: every present CPU is online, and their
 * number is the host knob's `cpus` (`sim/host.ts`).
 *
 * @module
 */

import { sim_host_config } from "../../../host.ts";

/** `num_present_cpus()`: the logical CPUs the simulated host has. */
export function num_present_cpus(): number {
  return sim_host_config().cpus;
}

/** `num_online_cpus()`: as many as are present (no hotplug in the simulator). */
export function num_online_cpus(): number {
  return sim_host_config().cpus;
}
