// SPDX-License-Identifier: GPL-2.0-only
/**
 * The start order of the two runners (`run_tests.ts`, `run_selftests.ts`):
 * longest recorded wall time first, so that with N jobs the longest file or
 * program does not start last and stretch the run (the LPT rule). The times
 * are what the last `--record` run measured, kept in `tools/testdata/` so a
 * clean clone (CI) starts in the same order.
 *
 * @module
 */

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
