// SPDX-License-Identifier: GPL-2.0-only
/**
 * The start order of the two runners (`run_tests.ts`, `run_selftests.ts`):
 * longest recorded wall time first, so that with N jobs the longest file or
 * program does not start last and stretch the run (the LPT rule). The times
 * are what the last `--record` run measured, kept in `tools/testdata/` so a
 * clean clone (CI) starts in the same order. Also what else the two share:
 * option checks and running one file or program under a timeout.
 *
 * @module
 */

import { kill_at_timeout } from "../include/libc/process.ts";

/** Seconds assumed for a name with no recorded time. */
export const UNKNOWN_S = 2;

/** Recorded wall times in seconds, by name; empty when none are recorded. */
export function load_times(url: URL): Record<string, number> {
  try {
    return JSON.parse(Deno.readTextFileSync(url));
  } catch {
    return {};
  }
}

/** Stores `measured` (seconds, by name) over the times already recorded at `url`. */
export function record_times(url: URL, measured: Record<string, number>): void {
  const merged: Record<string, number> = { ...load_times(url) };
  for (const [k, s] of Object.entries(measured)) merged[k] = +s.toFixed(1);
  const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
  Deno.writeTextFileSync(url, JSON.stringify(sorted, null, 2) + "\n");
}

/**
 * `names` in the order they should start: longest recorded time first
 * (unknown names count {@linkcode UNKNOWN_S}), ties by name.
 */
export function schedule(names: readonly string[], times: Record<string, number>): string[] {
  const t = (f: string) => times[f] ?? UNKNOWN_S;
  return [...names].sort((a, b) => t(b) - t(a) || a.localeCompare(b));
}

/**
 * parseArgs' `unknown` hook of the runners: an unknown option is an error
 * that shows the usage; positionals are kept.
 */
export function reject_unknown_options(usage: string): (arg: string) => boolean {
  return (a) => {
    if (a.startsWith("-")) throw new Error(`Unknown option '${a}'\n${usage}`);
    return true;
  };
}

/**
 * Processes run at once by default: one per host CPU, plus one. Part of
 * every run waits rather than computes (harness timeouts, upstream's fixed
 * durations and sleeps: `memslot_perf_test`'s 5 s tests, `sync_regs_test`'s
 * 2 s races, the fuzzer's time budget), and the extra process fills the CPU
 * time those leave idle. Measured on the 2-core CI host: `deno task test`
 * 162 s with 2 at once, 139 s with 3, 135 s with 4; `deno task selftests`
 * 72, 64 and 61.5 s.
 */
export const DEFAULT_JOBS: number = Math.max(1, navigator.hardwareConcurrency) + 1;

/**
 * The `--jobs` value: a whole number of at least 1, else `undefined` after
 * printing why (what it counts, and the usage).
 */
export function parse_jobs(value: unknown, what: string, usage: string): number | undefined {
  const jobs = Number(value);
  if (Number.isInteger(jobs) && jobs >= 1) return jobs;
  console.error(`Bad --jobs '${value}': a number of ${what}, at least 1\n${usage}`);
  return undefined;
}

/**
 * Runs `deno <args>` with stdout and stderr through one pipe (`2>&1`, so the
 * lines keep the order they were written in, as kselftest's runner shows
 * them), SIGKILLed after `seconds`. `code` is `null` when it was killed.
 */
export async function run_deno_merged(
  args: readonly string[],
  options: { cwd?: string | URL; env?: Record<string, string> },
  seconds: number,
): Promise<{ code: number | null; output: string }> {
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", 'exec "$0" "$@" 2>&1', Deno.execPath(), ...args],
    ...options,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const clock = kill_at_timeout(() => child, seconds);
  const out = await child.output();
  clock.done();
  return {
    code: clock.timed_out ? null : out.code,
    output: new TextDecoder().decode(out.stdout),
  };
}
