// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same glob syntax and semantics as the
// `globToRegExp`, `isGlob` and `joinGlobs` of @std/path@1 that its expandGlob uses.

import { join, normalize } from "node:path";

/** Options for {@linkcode globToRegExp} and {@linkcode expandGlob}. */
export interface GlobOptions {
  /**
   * Extended glob syntax: `?(…)`, `*(…)`, `+(…)`, `@(…)`, `!(…)` and
   * `[[:class:]]`. See https://www.linuxjournal.com/content/bash-extended-globbing.
   *
   * @default {true}
   */
  extended?: boolean;
  /**
   * Globstar syntax: a `**` path segment matches any number of directories.
   * If false, `**` is treated like `*`.
   *
   * @default {true}
   */
  globstar?: boolean;
  /**
   * Whether the match is case-insensitive.
   *
   * @default {false}
   */
  caseInsensitive?: boolean;
}

/** Regular-expression pieces for one platform's path syntax. */
interface Syntax {
  sep: string;
  sepMaybe: string;
  seps: string[];
  globstar: string;
  wildcard: string;
  escapePrefix: string;
}

const POSIX: Syntax = {
  sep: "/+",
  sepMaybe: "/*",
  seps: ["/"],
  globstar: "(?:[^/]*(?:/|$)+)*",
  wildcard: "[^/]*",
  escapePrefix: "\\",
};

const WINDOWS: Syntax = {
  sep: "(?:\\\\|/)+",
  sepMaybe: "(?:\\\\|/)*",
  seps: ["\\", "/"],
  globstar: "(?:[^\\\\/]*(?:\\\\|/|$)+)*",
  wildcard: "[^\\\\/]*",
  escapePrefix: "`",
};

/** Whether this platform uses Windows paths. */
export const isWindows: boolean = Deno.build.os === "windows";

/** Separator pattern of this platform's paths. */
export const SEPARATOR_PATTERN: RegExp = isWindows ? /[\\/]+/ : /\/+/;

const REGEXP_SPECIAL = new Set("!$()*+.=?[\\^{|");
const RANGE_SPECIAL = new Set("-\\]");

const CHAR_CLASSES: Record<string, string> = {
  alnum: "\\dA-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "\\d",
  graph: "\\x21-\\x7E",
  lower: "a-z",
  print: "\\x20-\\x7E",
  punct: "!\"#$%&'()*+,\\-./:;<=>?@[\\\\\\]^_‘{|}~",
  space: "\\s\\v",
  upper: "A-Z",
  word: "\\w",
  xdigit: "\\dA-Fa-f",
};

function escapeLiteral(char: string): string {
  return REGEXP_SPECIAL.has(char) ? `\\${char}` : char;
}

/**
 * Converts a glob to a RegExp matching whole paths, like std's `globToRegExp`:
 * `*` (within a segment), `**` (any number of segments), `?`, `[abc]`,
 * `[!abc]`, `{a,b}`, extended groups, and escapes (`\` on POSIX, `` ` `` on
 * Windows). Trailing separators are ignored; a segment with an unclosed group
 * is taken literally. The empty glob matches nothing.
 *
 * @param glob The glob.
 * @param options Glob options.
 * @returns The regular expression.
 */
export function globToRegExp(glob: string, options: GlobOptions = {}): RegExp {
  const { extended = true, globstar: globstarOption = true, caseInsensitive = false } = options;
  const c = isWindows ? WINDOWS : POSIX;
  if (glob === "") return /(?!)/;

  let end = glob.length;
  while (end > 1 && c.seps.includes(glob[end - 1]!)) end--;
  glob = glob.slice(0, end);

  let source = "";
  let start = 0;
  while (start < glob.length) {
    // One path segment per iteration: glob[start..i).
    let segment = "";
    const groups: string[] = []; // "BRACE" or the extglob operator
    let inRange = false;
    let inEscape = false;
    let endsWithSep = false;
    let i = start;
    for (; i < glob.length && !(c.seps.includes(glob[i]!) && groups.length === 0); i++) {
      const ch = glob[i]!;
      const next = glob[i + 1];
      const top = groups[groups.length - 1];
      if (inEscape) {
        inEscape = false;
        segment += (inRange ? RANGE_SPECIAL : REGEXP_SPECIAL).has(ch) ? `\\${ch}` : ch;
        continue;
      }
      if (ch === c.escapePrefix) {
        inEscape = true;
        continue;
      }
      if (ch === "[") {
        if (!inRange) {
          inRange = true;
          segment += "[";
          if (next === "!") {
            i++;
            segment += "^";
          } else if (next === "^") {
            i++;
            segment += "\\^";
          }
          continue;
        }
        if (next === ":") {
          const close = glob.indexOf(":", i + 2);
          if (close !== -1 && glob[close + 1] === "]") {
            segment += CHAR_CLASSES[glob.slice(i + 2, close)] ?? "";
            i = close + 1;
            continue;
          }
        }
      }
      if (ch === "]" && inRange) {
        inRange = false;
        segment += "]";
        continue;
      }
      if (inRange) {
        segment += ch;
        continue;
      }
      if (ch === ")" && groups.length > 0 && top !== "BRACE") {
        const op = groups.pop()!;
        segment += ")" + (op === "!" ? c.wildcard : op === "@" ? "" : op);
        continue;
      }
      if (ch === "|" && groups.length > 0 && top !== "BRACE") {
        segment += "|";
        continue;
      }
      if (extended && next === "(" && "+@?!*".includes(ch)) {
        i++;
        groups.push(ch);
        segment += ch === "!" ? "(?!" : "(?:";
        continue;
      }
      if (ch === "?") {
        segment += ".";
        continue;
      }
      if (ch === "{") {
        groups.push("BRACE");
        segment += "(?:";
        continue;
      }
      if (ch === "}" && top === "BRACE") {
        groups.pop();
        segment += ")";
        continue;
      }
      if (ch === "," && top === "BRACE") {
        segment += "|";
        continue;
      }
      if (ch === "*") {
        const prev = glob[i - 1];
        let stars = 1;
        while (glob[i + 1] === "*") {
          i++;
          stars++;
        }
        const after = glob[i + 1];
        const bounded = (x: string | undefined) => x === undefined || c.seps.includes(x);
        if (globstarOption && stars === 2 && bounded(prev) && bounded(after)) {
          segment += c.globstar;
          endsWithSep = true;
        } else {
          segment += c.wildcard;
        }
        continue;
      }
      segment += escapeLiteral(ch);
    }

    if (groups.length > 0 || inRange || inEscape) {
      // Parse failure: take this segment literally.
      segment = [...glob.slice(start, i)].map(escapeLiteral).join("");
      endsWithSep = false;
    }
    source += segment;
    if (!endsWithSep) source += i < glob.length ? c.sep : c.sepMaybe;
    while (c.seps.includes(glob[i]!)) i++;
    start = i;
  }
  return new RegExp(`^${source}$`, caseInsensitive ? "i" : "");
}

/**
 * Whether a path segment contains glob syntax (as std's `isGlob`, which
 * follows the `is-glob` package in strict mode).
 *
 * @param str The string to test.
 * @returns `true` if it is a glob.
 */
export function isGlob(str: string): boolean {
  const closers: Record<string, string> = { "{": "}", "(": ")", "[": "]" };
  const pattern =
    /\\(.)|(^!|\*|\?|[\].+)]\?|\[[^\\\]]+\]|\{[^\\}]+\}|\(\?[:!=][^\\)]+\)|\([^|]+\|[^\\)]+\))/;
  let rest = str;
  while (rest !== "") {
    const match = pattern.exec(rest);
    if (!match) return false;
    if (match[2]) return true;
    let next = match.index + match[0].length;
    const close = match[1] ? closers[match[1]] : undefined;
    if (close) {
      const at = rest.indexOf(close, next);
      if (at !== -1) next = at + 1;
    }
    rest = rest.slice(next);
  }
  return false;
}

/**
 * Joins path pieces and normalizes the result, like std's `joinGlobs` for
 * non-glob pieces (which is all {@linkcode expandGlob} passes it).
 *
 * @param parts The pieces.
 * @returns The joined path.
 */
export function joinPaths(parts: string[]): string {
  return normalize(join(...parts));
}

const ESCAPABLE = "*?{}[]()|+@!";

/**
 * Removes glob escapes in front of metacharacters of a fixed (non-glob) segment.
 *
 * @param segment The segment.
 * @returns The literal segment.
 */
export function unescapeGlobSegment(segment: string): string {
  const escape = isWindows ? "`" : "\\";
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    const next = segment[i + 1];
    if (ch === escape && next !== undefined && ESCAPABLE.includes(next)) {
      out += next;
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}
