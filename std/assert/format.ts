// SPDX-License-Identifier: GPL-2.0-only

/**
 * How assertion messages print values and show where two values differ.
 * Internal to this package: not re-exported from `mod.ts`.
 *
 * @module
 */

/** One line of a line diff: kept in both, only in actual, only in expected. */
export type DiffLine = { kind: "same" | "actual" | "expected"; text: string };

/** Lines of unchanged context kept on each side of a change. */
const CONTEXT = 3;
/** Above this many cells the LCS table is not built (see lineDiff). */
const MAX_CELLS = 4_000_000;

/**
 * Prints a value for an assertion message: strings as JSON string literals (so
 * quotes, escapes and trailing blanks are visible), everything else through
 * `Deno.inspect` with sorted keys, unlimited depth and one property per line,
 * which makes structural differences line up for the diff.
 */
export function format(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  const inspect = (globalThis as { Deno?: { inspect?: typeof Deno.inspect } }).Deno?.inspect;
  if (!inspect) return String(value);
  return inspect(value, {
    colors: false,
    compact: false,
    depth: Infinity,
    iterableLimit: Infinity,
    sorted: true,
    strAbbreviateSize: Infinity,
    trailingComma: true,
  });
}

/**
 * Line diff of two texts by longest common subsequence. Common leading and
 * trailing lines are peeled off first, so the table only spans the changed
 * middle; if that is still huge the middle is reported as fully replaced
 * rather than spending quadratic time and memory on a failure message.
 */
export function lineDiff(actual: readonly string[], expected: readonly string[]): DiffLine[] {
  let head = 0;
  while (
    head < actual.length && head < expected.length && actual[head] === expected[head]
  ) head++;
  let tail = 0;
  while (
    tail < actual.length - head && tail < expected.length - head &&
    actual[actual.length - 1 - tail] === expected[expected.length - 1 - tail]
  ) tail++;
  const a = actual.slice(head, actual.length - tail);
  const e = expected.slice(head, expected.length - tail);
  const out: DiffLine[] = actual.slice(0, head).map((text) => ({ kind: "same", text }));
  if ((a.length + 1) * (e.length + 1) > MAX_CELLS) {
    for (const text of a) out.push({ kind: "actual", text });
    for (const text of e) out.push({ kind: "expected", text });
  } else {
    out.push(...lcsDiff(a, e));
  }
  for (const text of actual.slice(actual.length - tail)) out.push({ kind: "same", text });
  return out;
}

function lcsDiff(a: readonly string[], e: readonly string[]): DiffLine[] {
  const w = e.length + 1;
  // len[i * w + j] = LCS length of a[i..] and e[j..].
  const len = new Uint32Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = e.length - 1; j >= 0; j--) {
      len[i * w + j] = a[i] === e[j]
        ? len[(i + 1) * w + j + 1]! + 1
        : Math.max(len[(i + 1) * w + j]!, len[i * w + j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < e.length) {
    if (i < a.length && j < e.length && a[i] === e[j]) {
      out.push({ kind: "same", text: a[i]! });
      i++;
      j++;
    } else if (j >= e.length || (i < a.length && len[(i + 1) * w + j]! >= len[i * w + j + 1]!)) {
      out.push({ kind: "actual", text: a[i++]! });
    } else {
      out.push({ kind: "expected", text: e[j++]! });
    }
  }
  return out;
}

/**
 * Makes control characters, and on changed lines trailing blanks (as `·` for
 * a space, `→` for a tab), visible so lines that differ only in them also
 * differ on screen.
 */
function visible(line: string, changed: boolean): string {
  // deno-lint-ignore no-control-regex
  let s = line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => {
    if (c === "\r") return "\\r";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  if (changed) {
    s = s.replace(/[ \t]+$/, (blank) => blank.replaceAll(" ", "·").replaceAll("\t", "→"));
  }
  return s;
}

/**
 * Renders the difference between two values as indented text for an
 * assertion message. Two strings are compared line by line on their own
 * contents; any other pair on their `format()` output. Long unchanged runs are
 * folded to a count so the change stays on screen.
 */
export function renderDiff(actual: unknown, expected: unknown): string {
  const bothStrings = typeof actual === "string" && typeof expected === "string";
  const left = bothStrings ? actual : format(actual);
  const right = bothStrings ? expected : format(expected);
  const lines = lineDiff(left.split("\n"), right.split("\n"));
  const out = ["    (- actual, + expected)", ""];
  const changed = lines.map((l) => l.kind !== "same");
  const near = (k: number) => {
    for (let d = -CONTEXT; d <= CONTEXT; d++) if (changed[k + d]) return true;
    return false;
  };
  let folded = 0;
  const flush = () => {
    if (folded > 0) out.push(`    ... ${folded} unchanged line${folded === 1 ? "" : "s"}`);
    folded = 0;
  };
  lines.forEach((l, k) => {
    if (l.kind === "same" && !near(k)) {
      folded++;
      return;
    }
    flush();
    const mark = l.kind === "actual" ? "-" : l.kind === "expected" ? "+" : " ";
    out.push(l.text === "" ? `  ${mark}` : `  ${mark} ${visible(l.text, l.kind !== "same")}`);
  });
  flush();
  if (left === right) {
    out.push("", "    (both print the same: they differ in a way printing hides, e.g. prototype)");
  }
  return out.join("\n");
}
