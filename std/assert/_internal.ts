// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same value formatting, diff layout and
// message helpers as its internals (@std/internal), without colours.

/**
 * Formats a value the way std's assertion messages do: `Deno.inspect` with
 * sorted keys, trailing commas, no depth or iterable limits.
 *
 * @param value The value to format.
 * @returns The formatted value.
 */
export function format(value: unknown): string {
  return Deno.inspect(value, {
    depth: Infinity,
    sorted: true,
    trailingComma: true,
    compact: false,
    iterableLimit: Infinity,
    getters: true,
    strAbbreviateSize: Infinity,
  });
}

type Op = "common" | "removed" | "added";

/** Upper bound on the LCS table size before falling back to a plain remove/add listing. */
const MAX_TABLE = 4_000_000;

/**
 * Line diff (longest common subsequence) of `actual` against `expected`.
 *
 * @param actual Lines of the actual value.
 * @param expected Lines of the expected value.
 * @returns One entry per output line.
 */
export function diffLines(actual: string[], expected: string[]): [Op, string][] {
  let head = 0;
  while (head < actual.length && head < expected.length && actual[head] === expected[head]) head++;
  let tail = 0;
  while (
    tail < actual.length - head && tail < expected.length - head &&
    actual[actual.length - 1 - tail] === expected[expected.length - 1 - tail]
  ) tail++;
  const a = actual.slice(head, actual.length - tail);
  const b = expected.slice(head, expected.length - tail);
  const middle: [Op, string][] = [];
  if ((a.length + 1) * (b.length + 1) > MAX_TABLE) {
    for (const line of a) middle.push(["removed", line]);
    for (const line of b) middle.push(["added", line]);
  } else {
    // lcs[i][j] = LCS length of a[i..] and b[j..], stored row-major.
    const width = b.length + 1;
    const lcs = new Uint32Array((a.length + 1) * width);
    for (let i = a.length - 1; i >= 0; i--) {
      for (let j = b.length - 1; j >= 0; j--) {
        lcs[i * width + j] = a[i] === b[j]
          ? lcs[(i + 1) * width + j + 1]! + 1
          : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (i < a.length && j < b.length && a[i] === b[j]) {
        middle.push(["common", a[i++]!]);
        j++;
      } else if (
        j >= b.length || (i < a.length && lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)
      ) {
        middle.push(["removed", a[i++]!]);
      } else {
        middle.push(["added", b[j++]!]);
      }
    }
  }
  return [
    ...actual.slice(0, head).map((line): [Op, string] => ["common", line]),
    ...middle,
    ...actual.slice(actual.length - tail).map((line): [Op, string] => ["common", line]),
  ];
}

const SIGNS: Record<Op, string> = { common: "    ", removed: "-   ", added: "+   " };

/**
 * Builds the `[Diff] Actual / Expected` block std appends to equality failures.
 * Strings are diffed by line on their raw text; other values on their {@linkcode format} output.
 *
 * @param actual The actual value.
 * @param expected The expected value.
 * @returns The diff block, starting with a newline.
 */
export function diffMessage(actual: unknown, expected: unknown): string {
  const strings = typeof actual === "string" && typeof expected === "string";
  const a = strings ? actual : format(actual);
  const b = strings ? expected : format(expected);
  const body = diffLines(a.split("\n"), b.split("\n")).map(([op, line]) => SIGNS[op] + line);
  return ["", "", "    [Diff] Actual / Expected", "", "", ...body, ""].join("\n");
}

/**
 * Suffix std appends to assertion messages: `: msg` when given, `.` otherwise.
 *
 * @param msg The user message.
 * @returns The suffix.
 */
export function suffix(msg: string | undefined): string {
  return msg ? `: ${msg}` : ".";
}

const ANSI =
  // deno-lint-ignore no-control-regex
  /[\u001B\u009B][[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))/g;

/**
 * Removes ANSI escape sequences.
 *
 * @param text Text that may contain colour codes.
 * @returns The text without them.
 */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

/**
 * Tells an error class apart from a message in the overloaded second argument
 * of `assertThrows`/`assertRejects`.
 *
 * @param value The argument.
 * @returns Whether it is `Error` or a subclass of it.
 */
export function isErrorClass(value: unknown): boolean {
  if (typeof value !== "function") return false;
  const proto = value.prototype;
  return proto instanceof Error || proto === Error.prototype;
}
