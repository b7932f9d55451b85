// SPDX-License-Identifier: GPL-2.0-only

/**
 * Shell-style glob patterns: compiling them to regular expressions, and
 * expanding them against the file system.
 *
 * Syntax: `*` (any run of characters within one path segment, dot files
 * included), `?` (one character), `[abc]` / `[a-z]` / `[!x]` / `[^x]` /
 * `[[:alpha:]]` (one character from a class), `{a,b}` (alternatives, may nest
 * and may contain `/`), `\` (escape the next character). With `extended`:
 * `?(p|q)`, `*(p|q)`, `+(p|q)`, `@(p|q)` and `!(p|q)` (zero or one, any
 * number, one or more, exactly one, anything but). With `globstar`: a segment
 * that is exactly `**` matches any number of segments, none included.
 *
 * @module
 */

import {
  ask,
  driveAsync,
  driveSync,
  found,
  gather,
  type Step,
  type Traversal,
  type WalkEntry,
} from "./_drive.ts";
import { basename, dirname, isAbsolute, join, normalize, resolve, toPath } from "./_path.ts";
import { traverse } from "./walk.ts";

/** How a glob is interpreted. */
export interface GlobOptions {
  /**
   * Accept the extended groups `?(…)`, `*(…)`, `+(…)`, `@(…)` and `!(…)`.
   *
   * @default {true}
   */
  extended?: boolean;
  /**
   * Let a `**` segment span any number of directories.
   *
   * @default {true}
   */
  globstar?: boolean;
  /**
   * Match letters regardless of case.
   *
   * @default {false}
   */
  caseInsensitive?: boolean;
  /**
   * The path flavour. Only POSIX paths are implemented here; the option exists
   * for signature compatibility and is ignored.
   */
  os?: typeof Deno.build.os;
}

/** Options for {@linkcode expandGlob} and {@linkcode expandGlobSync}. */
export interface ExpandGlobOptions extends Omit<GlobOptions, "os"> {
  /**
   * The directory a relative glob (and each `exclude` pattern) is taken
   * relative to.
   *
   * @default {Deno.cwd()}
   */
  root?: string;
  /**
   * Globs (relative to `root`) of paths to leave out; a left-out directory is
   * not searched either.
   */
  exclude?: string[];
  /**
   * Yield directories as well as files.
   *
   * @default {true}
   */
  includeDirs?: boolean;
  /**
   * Search through symbolic links to directories.
   *
   * @default {false}
   */
  followSymlinks?: boolean;
  /**
   * With `followSymlinks`, report paths reached through a link under the link
   * target's real path.
   *
   * @default {true}
   */
  canonicalize?: boolean;
}

// ---------------------------------------------------------------------------
// Compiling.

const POSIX_CLASSES: Record<string, string> = {
  alnum: "\\p{L}\\p{Nl}\\p{Nd}",
  alpha: "\\p{L}\\p{Nl}",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "\\d",
  graph: "\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}",
  lower: "\\p{Ll}",
  print: "\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}\\x20",
  punct: "\\p{P}\\p{S}",
  space: "\\s",
  upper: "\\p{Lu}",
  word: "\\w",
  xdigit: "\\dA-Fa-f",
};

/** Escapes a character for use outside a character class (unicode mode). */
function escapeRe(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|\/]/g, "\\$&");
}

/** Escapes a character for use inside a character class (unicode mode). */
function escapeClass(s: string): string {
  return s.replace(/[\\\]^\-[]/g, "\\$&");
}

/**
 * Compiles one bracket expression starting at `g[i] === "["`. Returns the
 * regex text and the index after `]`, or undefined when the bracket is not
 * closed (then `[` is an ordinary character).
 */
function bracket(g: string, i: number): [string, number] | undefined {
  let j = i + 1;
  let negate = false;
  if (g[j] === "!" || g[j] === "^") {
    negate = true;
    j++;
  }
  let body = "";
  let first = true;
  while (j < g.length) {
    const c = g[j]!;
    if (c === "]" && !first) {
      if (body === "") return undefined;
      // A class never matches the separator, negated or not.
      return [negate ? `[^/${body}]` : `(?:(?!/)[${body}])`, j + 1];
    }
    first = false;
    if (c === "[" && g[j + 1] === ":") {
      const close = g.indexOf(":]", j + 2);
      const name = close < 0 ? undefined : g.slice(j + 2, close);
      if (name !== undefined && name in POSIX_CLASSES) {
        body += POSIX_CLASSES[name];
        j = close + 2;
        continue;
      }
    }
    if (c === "\\" && j + 1 < g.length) {
      body += escapeClass(g[j + 1]!);
      j += 2;
      continue;
    }
    if (c === "-" && body !== "" && g[j + 1] !== undefined && g[j + 1] !== "]") {
      body += "-";
      j++;
      continue;
    }
    body += escapeClass(c);
    j++;
  }
  return undefined;
}

/** Index of the `close` matching the opener just before `i`, skipping nested and escaped ones. */
function matching(g: string, i: number, open: string, close: string): number {
  let depth = 1;
  for (let j = i; j < g.length; j++) {
    const c = g[j];
    if (c === "\\") {
      j++;
      continue;
    }
    if (c === "[") {
      const b = bracket(g, j);
      if (b) {
        j = b[1] - 1;
        continue;
      }
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return j;
  }
  return -1;
}

/** Splits `g` on `sep` at nesting depth zero (outside groups, braces and brackets). */
function splitTop(g: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let j = 0; j < g.length; j++) {
    const c = g[j];
    if (c === "\\") {
      j++;
    } else if (c === "[") {
      const b = bracket(g, j);
      if (b) j = b[1] - 1;
    } else if (c === "(" || c === "{") {
      depth++;
    } else if ((c === ")" || c === "}") && depth > 0) {
      depth--;
    } else if (c === sep && depth === 0) {
      parts.push(g.slice(start, j));
      start = j + 1;
    }
  }
  parts.push(g.slice(start));
  return parts;
}

interface Flavour {
  extended: boolean;
}

/** Compiles glob text that contains no `/` outside braces into regex text. */
function compileText(g: string, f: Flavour): string {
  let out = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    const next = g[i + 1];
    if (f.extended && "?*+@!".includes(c) && next === "(") {
      const end = matching(g, i + 2, "(", ")");
      if (end > 0) {
        const alts = splitTop(g.slice(i + 2, end), "|").map((a) => compileText(a, f)).join("|");
        const rest = compileText(g.slice(end + 1), f);
        switch (c) {
          case "?":
            return `${out}(?:${alts})?${rest}`;
          case "*":
            return `${out}(?:${alts})*${rest}`;
          case "+":
            return `${out}(?:${alts})+${rest}`;
          case "@":
            return `${out}(?:${alts})${rest}`;
          default:
            // Anything within the segment, as long as the segment is not one
            // of the alternatives followed by the rest of the pattern.
            return `${out}(?:(?!(?:${alts})${rest}(?:/|$))[^/]*?)${rest}`;
        }
      }
    }
    if (c === "\\") {
      if (next !== undefined) {
        out += escapeRe(next);
        i++;
      } else {
        out += "\\\\";
      }
    } else if (c === "*") {
      while (g[i + 1] === "*") i++;
      out += "[^/]*";
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const b = bracket(g, i);
      if (b) {
        out += b[0];
        i = b[1] - 1;
      } else {
        out += "\\[";
      }
    } else if (c === "{") {
      const end = matching(g, i + 1, "{", "}");
      const alts = end > 0 ? splitTop(g.slice(i + 1, end), ",") : [];
      if (alts.length > 1) {
        out += `(?:${alts.map((a) => compileText(a, f)).join("|")})`;
        i = end;
      } else {
        out += "\\{";
      }
    } else {
      out += escapeRe(c);
    }
  }
  return out;
}

/** Whether `s` uses any glob syntax (as opposed to naming a path literally). */
export function isGlob(s: string): boolean {
  return /[*?[{\\]|[?*+@!]\(/.test(s);
}

/**
 * Expands the braces of `g` that contain a `/`, since those cannot be matched
 * one segment at a time. Braces within one segment are left for the regex.
 */
function expandSlashBraces(g: string): string[] {
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "[") {
      const b = bracket(g, i);
      if (b) i = b[1] - 1;
      continue;
    }
    if (c !== "{") continue;
    const end = matching(g, i + 1, "{", "}");
    if (end < 0) continue;
    const inner = g.slice(i + 1, end);
    const alts = splitTop(inner, ",");
    if (alts.length < 2 || !inner.includes("/")) {
      i = end;
      continue;
    }
    const head = g.slice(0, i);
    const tail = g.slice(end + 1);
    return alts.flatMap((a) => expandSlashBraces(head + a + tail));
  }
  return [g];
}

/** The regex for one path segment (whole-segment match). */
function segmentRegExp(seg: string, o: GlobOptions): RegExp {
  const f = { extended: o.extended ?? true };
  return new RegExp(`^${compileText(seg, f)}$`, o.caseInsensitive ? "iu" : "u");
}

/**
 * Compiles a glob to a regular expression over whole paths. A trailing `/` in
 * the path is accepted; `**` segments (with `globstar`) span any number of
 * directories.
 */
export function globToRegExp(glob: string, options: GlobOptions = {}): RegExp {
  const f = { extended: options.extended ?? true };
  const globstar = options.globstar ?? true;
  const alternatives = expandSlashBraces(glob).map((g) => {
    const absolute = g.startsWith("/");
    const segs = splitTop(g, "/").filter((s, i, all) => s !== "" || i === all.length - 1);
    let out = absolute ? "/" : "";
    segs.forEach((s, i) => {
      const last = i === segs.length - 1;
      if (globstar && s === "**") {
        // Zero or more whole segments, each followed by a separator (or, as
        // the last segment, anything at all below this point).
        if (!last) out += "(?:[^/]*/)*";
        else if (out === "") out = ".*";
        else out = `${out.replace(/\/$/, "")}(?:/.*)?`;
        return;
      }
      out += compileText(s, f) + (last ? "" : "/");
    });
    return out;
  });
  const body = alternatives.length === 1 ? alternatives[0]! : `(?:${alternatives.join("|")})`;
  return new RegExp(`^${body}/*$`, options.caseInsensitive ? "iu" : "u");
}

/** Removes the escapes from a segment that has no other glob syntax. */
function unescape(seg: string): string {
  return seg.replace(/\\(.)/g, "$1");
}

// ---------------------------------------------------------------------------
// Expanding.

interface Search {
  includeDirs: boolean;
  followSymlinks: boolean;
  canonicalize: boolean;
  caseInsensitive: boolean;
  extended: boolean;
  globstar: boolean;
  exclude: RegExp[];
}

function excluded(s: Search, path: string): boolean {
  return s.exclude.some((re) => re.test(path));
}

/**
 * An entry for `path`, or undefined when nothing is there. A link is followed
 * when `follow` is set or the search follows links, but only the latter
 * (with `canonicalize`) reports it under its real path.
 */
function* entryAt(path: string, s: Search, follow: boolean): Generator<
  Step,
  WalkEntry | undefined,
  unknown
> {
  let info: Deno.FileInfo;
  try {
    info = yield* ask<Deno.FileInfo>({ call: "lstat", path });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw e;
  }
  let at = path;
  if (info.isSymlink && (follow || s.followSymlinks)) {
    try {
      const real = yield* ask<string>({ call: "realPath", path });
      const target = yield* ask<Deno.FileInfo>({ call: "stat", path: real });
      if (s.followSymlinks && s.canonicalize) at = real;
      return {
        path: at,
        name: basename(at),
        isFile: target.isFile,
        isDirectory: target.isDirectory,
        isSymlink: true,
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return {
    path: at,
    name: basename(at),
    isFile: info.isFile,
    isDirectory: info.isDirectory,
    isSymlink: info.isSymlink,
  };
}

/** The matches of one segment below directory `dir`. */
function* advance(
  dir: WalkEntry,
  seg: string,
  last: boolean,
  s: Search,
): Generator<Step, WalkEntry[], unknown> {
  if (!dir.isDirectory) return [];
  if (s.globstar && seg === "**") {
    return yield* gather(traverse(dir.path, {
      followSymlinks: s.followSymlinks,
      canonicalize: s.canonicalize,
      includeFiles: last,
      skip: s.exclude,
    }));
  }
  if (seg === "..") {
    const e = yield* entryAt(dirname(dir.path), s, true);
    return e ? [e] : [];
  }
  if (!isGlob(seg) && !s.caseInsensitive) {
    // Named literally: reached like any path, through links.
    const e = yield* entryAt(join(dir.path, unescape(seg)), s, true);
    return e ? [e] : [];
  }
  const re = segmentRegExp(seg, s);
  const out: WalkEntry[] = [];
  const children = yield* ask<Deno.DirEntry[]>({ call: "readDir", path: dir.path });
  for (const c of children) {
    if (!re.test(c.name)) continue;
    const e = yield* entryAt(join(dir.path, c.name), s, false);
    if (e) out.push(e);
  }
  return out;
}

function* expand(glob: string | URL, o: ExpandGlobOptions): Traversal {
  const root = resolve(o.root ?? Deno.cwd());
  const s: Search = {
    includeDirs: o.includeDirs ?? true,
    followSymlinks: o.followSymlinks ?? false,
    canonicalize: o.canonicalize ?? true,
    caseInsensitive: o.caseInsensitive ?? false,
    extended: o.extended ?? true,
    globstar: o.globstar ?? true,
    exclude: (o.exclude ?? []).map((x) =>
      globToRegExp(isAbsolute(x) ? x : `${escapeGlob(root)}/${x}`, {
        extended: o.extended ?? true,
        globstar: o.globstar ?? true,
        caseInsensitive: o.caseInsensitive ?? false,
      })
    ),
  };
  const text = toPath(glob);
  const seen = new Set<string>();
  const results: WalkEntry[] = [];
  for (const g of expandSlashBraces(text)) {
    for (const e of yield* expandOne(g, root, s)) {
      if (seen.has(e.path)) continue;
      seen.add(e.path);
      results.push(e);
    }
  }
  results.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  for (const e of results) yield* found(e);
}

/** Escapes a literal path so it can prefix a glob. */
function escapeGlob(p: string): string {
  return p.replace(/[*?[\]{}()!+@\\]/g, "\\$&");
}

function* expandOne(
  g: string,
  root: string,
  s: Search,
): Generator<Step, WalkEntry[], unknown> {
  const dirOnly = g.endsWith("/");
  const segs = splitTop(g, "/").filter((x) => x !== "" && x !== ".");
  const start = isAbsolute(g) ? "/" : root;
  const first = yield* entryAt(normalize(start), s, true);
  if (!first || excluded(s, first.path)) return [];
  let current: WalkEntry[] = [first];
  for (let i = 0; i < segs.length; i++) {
    const last = i === segs.length - 1;
    const next = new Map<string, WalkEntry>();
    for (const dir of current) {
      for (const e of yield* advance(dir, segs[i]!, last, s)) {
        if (!excluded(s, e.path)) next.set(e.path, e);
      }
    }
    current = [...next.values()];
    if (current.length === 0) break;
  }
  if (dirOnly) current = current.filter((e) => e.isDirectory);
  if (!s.includeDirs) current = current.filter((e) => !e.isDirectory);
  return current;
}

/**
 * Finds the paths that match `glob`, in sorted order. A relative glob is
 * taken relative to `options.root`; the entries' paths are absolute. Missing
 * directories simply match nothing.
 *
 * @example
 * ```ts
 * import { expandGlob } from "@std/fs";
 *
 * for await (const e of expandGlob("**\/*.{ts,md}", { exclude: ["node_modules"] })) {
 *   console.log(e.path);
 * }
 * ```
 *
 * @param glob The pattern (or a `file:` URL of one).
 * @param options Where to search and how to read the pattern.
 * @returns The matching entries.
 */
export function expandGlob(
  glob: string | URL,
  options: ExpandGlobOptions = {},
): AsyncIterableIterator<WalkEntry> {
  return driveAsync(expand(glob, options));
}

/**
 * Synchronous {@linkcode expandGlob}.
 *
 * @example
 * ```ts
 * import { expandGlobSync } from "@std/fs";
 *
 * const configs = [...expandGlobSync("*.json", { includeDirs: false })];
 * console.log(configs.map((e) => e.name));
 * ```
 *
 * @param glob The pattern (or a `file:` URL of one).
 * @param options Where to search and how to read the pattern.
 * @returns The matching entries.
 */
export function expandGlobSync(
  glob: string | URL,
  options: ExpandGlobOptions = {},
): IterableIterator<WalkEntry> {
  return driveSync(expand(glob, options));
}
