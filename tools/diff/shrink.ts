// SPDX-License-Identifier: GPL-2.0-only
/**
 * The shrinker: drops elements of a failing input while it keeps failing,
 * first in large chunks, then one by one (a removal-only delta debugging),
 * so that a disagreement is reported with the few calls that cause it.
 * The result is 1-minimal when the budget allows: removing any single
 * remaining element makes the failure go away.
 *
 * @module
 */

/**
 * Shrinks `xs` under `fails` (which must hold for `xs` itself), trying at
 * most `budget` candidates; returns the smallest failing input found.
 */
export async function shrink<T>(
  xs: readonly T[],
  fails: (candidate: readonly T[]) => Promise<boolean> | boolean,
  budget = 400,
): Promise<T[]> {
  let cur = [...xs];
  let chunk = Math.max(1, Math.ceil(cur.length / 2));
  let tries = 0;
  for (;;) {
    let removed = false;
    // From the end: later calls depend on earlier ones, so they go first.
    for (let start = cur.length - chunk; start > -chunk && tries < budget; start -= chunk) {
      const from = Math.max(0, start);
      const cand = [...cur.slice(0, from), ...cur.slice(start + chunk)];
      if (cand.length === cur.length) continue;
      tries++;
      if (await fails(cand)) {
        cur = cand;
        removed = true;
      }
    }
    if (tries >= budget) return cur;
    if (!removed) {
      if (chunk === 1) return cur;
      chunk = Math.ceil(chunk / 2);
    } else {
      chunk = Math.min(chunk, Math.max(1, Math.ceil(cur.length / 2)));
    }
  }
}
