// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/sparsebit.c`: a set of 64-bit
 * indices stored as sorted, disjoint runs, so that "every page of a 64 GiB
 * memslot is unused" costs one run, as it costs one node in C.
 *
 * Only the operations the library uses are provided, with C's names and
 * semantics (`sparsebit_next_set` returns 0 when there is none, as C does,
 * which is why the allocators never hand out page 0).
 *
 * @module
 */

/** C `sparsebit_idx_t`. */
export type sparsebit_idx_t = bigint;

/** C `struct sparsebit`: runs `[start, end)` sorted by start, never touching. */
export interface sparsebit {
  /** The runs. */
  runs: [bigint, bigint][];
}

/**
 * C `sparsebit_alloc()`: an empty set.
 *
 * @returns the set
 */
export function sparsebit_alloc(): sparsebit {
  return { runs: [] };
}

/** Index of the first run whose end is > idx. */
function find(s: sparsebit, idx: bigint): number {
  let lo = 0;
  let hi = s.runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.runs[mid]![1] <= idx) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * C `sparsebit_is_set()`.
 *
 * @param s the set
 * @param idx the index
 * @returns whether it is set
 */
export function sparsebit_is_set(s: sparsebit, idx: sparsebit_idx_t): boolean {
  const r = s.runs[find(s, idx)];
  return r !== undefined && r[0] <= idx;
}

/**
 * C `sparsebit_is_set_num()`: whether all of `[idx, idx + num)` is set.
 *
 * @param s the set
 * @param idx the first index
 * @param num how many
 * @returns whether all are set
 */
export function sparsebit_is_set_num(s: sparsebit, idx: sparsebit_idx_t, num: bigint): boolean {
  const r = s.runs[find(s, idx)];
  return r !== undefined && r[0] <= idx && r[1] >= idx + num;
}

/**
 * C `sparsebit_is_clear_num()`: whether none of `[idx, idx + num)` is set.
 *
 * @param s the set
 * @param idx the first index
 * @param num how many
 * @returns whether all are clear
 */
export function sparsebit_is_clear_num(s: sparsebit, idx: sparsebit_idx_t, num: bigint): boolean {
  const r = s.runs[find(s, idx)];
  return r === undefined || r[0] >= idx + num;
}

/**
 * C `sparsebit_set_num()`: set `[idx, idx + num)`.
 *
 * @param s the set
 * @param idx the first index
 * @param num how many
 */
export function sparsebit_set_num(s: sparsebit, idx: sparsebit_idx_t, num: bigint): void {
  if (num <= 0n) return;
  let start = idx;
  let end = idx + num;
  // Runs that overlap or touch [start, end) merge into one.
  let i = find(s, start - 1n);
  let j = i;
  while (j < s.runs.length && s.runs[j]![0] <= end) {
    start = start < s.runs[j]![0] ? start : s.runs[j]![0];
    end = end > s.runs[j]![1] ? end : s.runs[j]![1];
    j++;
  }
  if (i > s.runs.length) i = s.runs.length;
  s.runs.splice(i, j - i, [start, end]);
}

/**
 * C `sparsebit_clear_num()`: clear `[idx, idx + num)`.
 *
 * @param s the set
 * @param idx the first index
 * @param num how many
 */
export function sparsebit_clear_num(s: sparsebit, idx: sparsebit_idx_t, num: bigint): void {
  if (num <= 0n) return;
  const end = idx + num;
  const out: [bigint, bigint][] = [];
  let i = find(s, idx);
  let j = i;
  while (j < s.runs.length && s.runs[j]![0] < end) {
    const [a, b] = s.runs[j]!;
    if (a < idx) out.push([a, idx]);
    if (b > end) out.push([end, b]);
    j++;
  }
  if (i > s.runs.length) i = s.runs.length;
  s.runs.splice(i, j - i, ...out);
}

/**
 * C `sparsebit_set()`.
 *
 * @param s the set
 * @param idx the index
 */
export function sparsebit_set(s: sparsebit, idx: sparsebit_idx_t): void {
  sparsebit_set_num(s, idx, 1n);
}

/**
 * C `sparsebit_clear()`.
 *
 * @param s the set
 * @param idx the index
 */
export function sparsebit_clear(s: sparsebit, idx: sparsebit_idx_t): void {
  sparsebit_clear_num(s, idx, 1n);
}

/**
 * C `sparsebit_next_set()`: the first set index after `prev`, or 0.
 *
 * @param s the set
 * @param prev the index to search after
 * @returns the index, or 0 when there is none
 */
export function sparsebit_next_set(s: sparsebit, prev: sparsebit_idx_t): sparsebit_idx_t {
  const idx = prev + 1n;
  const r = s.runs[find(s, idx)];
  if (r === undefined) return 0n;
  return r[0] > idx ? r[0] : idx;
}

/**
 * C `sparsebit_next_set_num()`: where the lowest stretch of `num` consecutive
 * set indices above `start` begins; 0 signals that there is none.
 *
 * @param s the set
 * @param start the index to search after
 * @param num how many
 * @returns the index, or 0
 */
export function sparsebit_next_set_num(
  s: sparsebit,
  start: sparsebit_idx_t,
  num: bigint,
): sparsebit_idx_t {
  for (let i = find(s, start + 1n); i < s.runs.length; i++) {
    const [a, b] = s.runs[i]!;
    const from = a > start + 1n ? a : start + 1n;
    if (b - from >= num) return from;
  }
  return 0n;
}

/**
 * C `sparsebit_next_clear_num()`: where the lowest stretch of `num`
 * consecutive clear indices above `start` begins; 0 signals that there is none.
 *
 * @param s the set
 * @param start the index to search after
 * @param num how many
 * @returns the index, or 0
 */
export function sparsebit_next_clear_num(
  s: sparsebit,
  start: sparsebit_idx_t,
  num: bigint,
): sparsebit_idx_t {
  let idx = start + 1n;
  for (let i = find(s, idx); i <= s.runs.length; i++) {
    const r = s.runs[i];
    if (r === undefined || r[0] - idx >= num) return idx;
    if (r[1] > idx) idx = r[1];
  }
  return 0n;
}

/**
 * The runs of set indices, in order (C walks them with `sparsebit_next_set` /
 * `sparsebit_next_clear`).
 *
 * @param s the set
 * @returns `[first, count]` for each run
 */
export function sparsebit_runs(s: sparsebit): [bigint, bigint][] {
  return s.runs.map(([a, b]) => [a, b - a]);
}
