// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated host machine: how many logical CPUs it has and what its TDX
 * module allows. Every figure the simulated kernel derives from the host
 * (`num_present_cpus()`, `num_online_cpus()`, KVM_CAP_NR_VCPUS, a TD's
 * `max_vcpus`, whether TDX comes up, how many TDs can hold a private KeyID at
 * once) reads it from here, so that a test can stand in for a large server on
 * a small machine.
 *
 * The knob is the `SIM_HOST` environment variable (read once, when the
 * simulator loads; every vCPU worker reads the same environment) or
 * {@linkcode sim_host_set} for a test. A spec is a comma-separated list of
 * `key=value` pairs, each optional:
 *
 * - `cpus`: logical CPUs present and online (default: the machine's,
 *   `navigator.hardwareConcurrency`), 1 to {@linkcode SIM_HOST_MAX_CPUS};
 * - `max_vcpus_per_td`: the TDX module's MAX_VCPUS_PER_TD (default
 *   {@linkcode TDX_MAX_VCPUS_PER_TD}, TDX 1.5's 576), 1 to 65535;
 * - `hkids`: private KeyIDs the platform gives TDs (default
 *   {@linkcode TDX_NR_GUEST_KEYIDS}), 1 to {@linkcode SIM_HOST_MAX_HKIDS}.
 *
 * Example: `SIM_HOST="cpus=256,hkids=64"`.
 *
 * @module
 */

import { getenv } from "../include/libc/process.ts";

/** Maximum vCPUs per TD of TDX 1.5 (TD_PARAMS.MAX_VCPUS upper bound): the default. */
export const TDX_MAX_VCPUS_PER_TD = 576;
/** Private KeyIDs the simulated platform gives TDs by default. */
export const TDX_NR_GUEST_KEYIDS = 15;
/** The most CPUs a simulated host may have (the kernel's `NR_CPUS` of a large x86 config). */
export const SIM_HOST_MAX_CPUS = 8192;
/**
 * The most private KeyIDs: MKTME KeyIDs are at most 15 bits of the physical
 * address, less the KeyIDs below `TDX_GUEST_KEYID_START`.
 */
export const SIM_HOST_MAX_HKIDS = 32768 - 32;

/** The simulated host's configuration. */
export interface sim_host {
  /** Logical CPUs present and online. */
  readonly cpus: number;
  /** The TDX module's MAX_VCPUS_PER_TD. */
  readonly max_vcpus_per_td: number;
  /** Private KeyIDs for TDs. */
  readonly hkids: number;
}

/** Thrown for a spec that does not parse or is out of range: a test's mistake, said at once. */
export class SimHostError extends Error {
  /** @param message what is wrong with the spec */
  constructor(message: string) {
    super(message);
    this.name = "SimHostError";
  }
}

function machine_cpus(): number {
  try {
    return Math.max(1, navigator.hardwareConcurrency | 0);
  } catch {
    return 1;
  }
}

/** Today's host: the machine's CPUs, TDX 1.5's limits. */
export function sim_host_default(): sim_host {
  return Object.freeze({
    cpus: machine_cpus(),
    max_vcpus_per_td: TDX_MAX_VCPUS_PER_TD,
    hkids: TDX_NR_GUEST_KEYIDS,
  });
}

const LIMITS: Readonly<Record<keyof sim_host, readonly [number, number]>> = {
  cpus: [1, SIM_HOST_MAX_CPUS],
  max_vcpus_per_td: [1, 0xffff],
  hkids: [1, SIM_HOST_MAX_HKIDS],
};

function check(key: string, value: unknown): number {
  const lim = LIMITS[key as keyof sim_host];
  if (!lim) {
    throw new SimHostError(
      `Unknown simulated host key '${key}' (${Object.keys(LIMITS).join(", ")})`,
    );
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < lim[0] || value > lim[1]) {
    throw new SimHostError(`Simulated host '${key}' must be an integer in ${lim[0]}..${lim[1]}`);
  }
  return value;
}

/**
 * Parses a spec (`cpus=256,hkids=64`) over the defaults.
 *
 * @param spec the spec; empty for the defaults
 * @returns the configuration
 * @throws SimHostError for a bad key or value
 */
export function sim_host_parse(spec: string): sim_host {
  const h: Record<string, number> = { ...sim_host_default() };
  for (const part of spec.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([a-z_]+)=(\d+)$/.exec(part);
    if (!m) throw new SimHostError(`Bad simulated host setting '${part}' (want key=number)`);
    h[m[1]!] = check(m[1]!, Number(m[2]));
  }
  return Object.freeze(h as unknown as sim_host);
}

let host: sim_host = sim_host_parse(getenv("SIM_HOST") ?? "");

/** The simulated host's current configuration. */
export function sim_host_config(): sim_host {
  return host;
}

/**
 * Replaces the simulated host's configuration: a spec string or the fields to
 * change over the defaults. Set it before creating VMs: a TD's limits are
 * taken when it is created, and vCPU workers read only `SIM_HOST`.
 *
 * @param config the new configuration (`{}` or `""` restores the defaults)
 * @returns the previous configuration, to restore with this function
 * @throws SimHostError for a bad key or value
 */
export function sim_host_set(config: string | Partial<sim_host>): sim_host {
  const prev = host;
  if (typeof config === "string") {
    host = sim_host_parse(config);
  } else {
    const h: Record<string, number> = { ...sim_host_default() };
    for (const [k, v] of Object.entries(config)) h[k] = check(k, v);
    host = Object.freeze(h as unknown as sim_host);
  }
  return prev;
}
