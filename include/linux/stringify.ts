// SPDX-License-Identifier: GPL-2.0-only
/**
 * `__FILE__`, `__LINE__` and `#arg` for TypeScript.
 *
 * C assertion macros print where they were written and the source text of
 * their arguments (`Expected 42 (42) == answer (41)`, `- Requirement not met:
 * is_tdx_supported()`). TypeScript has no preprocessor, so the SDK recovers the
 * same facts at run time: {@linkcode callsite} reads the V8 stack frame of the
 * macro's caller (Deno maps it back to the TypeScript source), and
 * {@linkcode stringify_args} reads that source file and cuts the call's argument
 * texts out of it with a small balanced-bracket scanner, normalising blanks the
 * way C's `#` operator does (comments and runs of white space become one space;
 * string literals are kept as written).
 *
 * Every macro that prints a location or an expression (`TH_LOG`, `ASSERT_*`,
 * `TEST_ASSERT*`, `TEST_REQUIRE`, guest asserts) goes through this module, so
 * the rule for the file name lives in one place: {@linkcode source_file_name}.
 *
 * @module
 */

import { IMAGE_INSTANCE_PARAM } from "../libc/process.ts";

/** One stack frame, as C's `__FILE__`/`__LINE__` (plus the column) would name it. */
export interface call_site {
  /** The module URL of the frame (`file:///.../a_basic.ts`). */
  url: string;
  /** The name printed for the file, see {@linkcode source_file_name}. */
  file: string;
  /** 1-based line of the call. */
  line: number;
  /** 1-based column of the callee name of the call. */
  column: number;
  /** The function the frame is in, or `""` for top-level code or anonymous functions. */
  function_name: string;
}

const FRAME_WITH_NAME = /^\s*at (?:async )?(.*?) \((.+):(\d+):(\d+)\)$/;
const FRAME_BARE = /^\s*at (?:async )?(.+):(\d+):(\d+)$/;

/**
 * The file name the SDK prints where C prints `__FILE__`.
 *
 * C selftests are compiled from the test's own directory in the oracle, so
 * `__FILE__` is the bare file name (`a_basic.c`); the TypeScript twin prints the
 * bare module file name (`a_basic.ts`). This is the single place to change the rule.
 *
 * @param url a module URL or path
 * @returns the bare file name
 */
export function source_file_name(url: string): string {
  let path = url;
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    // Not a URL (e.g. "ext:cli/40_test.js" or a plain path): use it as it is.
  }
  const slash = path.lastIndexOf("/");
  return slash >= 0 ? path.slice(slash + 1) : path;
}

/** The instance query of a guest image module imported again by a pooled vCPU worker. */
const IMAGE_INSTANCE_QUERY = new RegExp(`\\?${IMAGE_INSTANCE_PARAM}=\\d+$`);

function parse_frame(text: string): call_site | undefined {
  let m = FRAME_WITH_NAME.exec(text);
  if (m) {
    const url = m[2]!.replace(IMAGE_INSTANCE_QUERY, "");
    return {
      url,
      file: source_file_name(url),
      line: Number(m[3]),
      column: Number(m[4]),
      function_name: m[1]!,
    };
  }
  m = FRAME_BARE.exec(text);
  if (m) {
    const url = m[1]!.replace(IMAGE_INSTANCE_QUERY, "");
    return {
      url,
      file: source_file_name(url),
      line: Number(m[2]),
      column: Number(m[3]),
      function_name: "",
    };
  }
  return undefined;
}

/**
 * The frames of the current stack, innermost first, without the frame of
 * `backtrace` itself. Frames without a source position (native code) are dropped.
 *
 * @param max the most frames to return
 * @returns the frames
 */
export function backtrace(max = 64): call_site[] {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = max + 1;
  const here = new Error();
  Error.stackTraceLimit = saved;
  return stack_frames(here).slice(1, max + 1);
}

/**
 * The frames of a stack captured earlier with `new Error()`, innermost
 * first (the frame that created it included), as {@linkcode backtrace}
 * gives them. Capturing is cheap: V8 formats the text, and Deno maps each
 * frame back to the TypeScript source, only when `stack` is first read, so
 * a caller that may never need the frames keeps the `Error` and calls this
 * later.
 *
 * @param captured the error whose stack to read
 * @returns the frames
 */
export function stack_frames(captured: Error): call_site[] {
  const frames: call_site[] = [];
  for (const line of (captured.stack ?? "").split("\n").slice(1)) {
    const f = parse_frame(line);
    if (f) frames.push(f);
  }
  return frames;
}

/**
 * Where a call happened.
 *
 * `callsite(0)` is the position, in the function that calls `callsite`, of that
 * call; `callsite(1)` is where that function was itself called, which is what a
 * macro-like function wants:
 *
 * ```ts ignore
 * export function TH_LOG(fmt: string, ...args: unknown[]): void {
 *   const site = callsite(1); // the line of the TH_LOG(...) in the test
 * }
 * ```
 *
 * @param depth how many calls to go up
 * @returns the call site, or `undefined` when the stack is shorter
 */
export function callsite(depth = 0): call_site | undefined {
  // +1 skips the frame of this function.
  return backtrace(depth + 2)[depth + 1];
}

const source_cache = new Map<string, string | null>();

/**
 * The source text of a module, or `undefined` when it cannot be read (no read
 * permission, a remote module, an internal `ext:` module).
 *
 * @param url the module URL
 * @returns the text
 */
export function read_source(url: string): string | undefined {
  let text = source_cache.get(url);
  if (text === undefined) {
    text = null;
    try {
      if (url.startsWith("file:")) {
        const path = new URL(url);
        // Peek only: never prompt for a read permission just to print a message.
        if (Deno.permissions.querySync({ name: "read", path }).state === "granted") {
          text = Deno.readTextFileSync(path);
        }
      }
    } catch {
      text = null;
    }
    source_cache.set(url, text);
  }
  return text ?? undefined;
}

/**
 * The argument texts of the call at `site`, as C's `#arg` would give them.
 *
 * @param site a call site from {@linkcode callsite}
 * @returns one string per argument, or `undefined` when the source is unavailable
 */
export function stringify_args(site: call_site): string[] | undefined {
  const text = read_source(site.url);
  if (text === undefined) return undefined;
  return split_call_args(text, site.line, site.column);
}

/**
 * Cut the arguments of the call whose callee starts at `line:column` out of `text`.
 *
 * The position is the one V8 reports for a call: the start of the callee name
 * (`ASSERT_EQ` in `ASSERT_EQ(a, b)`, `f` in `o.f(a)`), or the opening parenthesis
 * of a parenthesised callee. Type arguments (`f<T>(x)`) and optional calls
 * (`f?.(x)`) are accepted.
 *
 * @param text the source text of the module
 * @param line 1-based line
 * @param column 1-based column
 * @returns the normalised argument texts, or `undefined` if no call starts there
 */
export function split_call_args(text: string, line: number, column: number): string[] | undefined {
  let i = offset_of(text, line, column);
  if (i === undefined) return undefined;

  if (is_ident_start(text[i])) {
    while (i < text.length && is_ident_part(text[i])) i++;
  } else if (text[i] === "(") {
    const end = skip_balanced(text, i);
    if (end < 0) return undefined;
    i = end;
  } else {
    return undefined;
  }
  i = skip_blank(text, i);
  if (text.startsWith("?.", i)) i = skip_blank(text, i + 2);
  if (text[i] === "<") {
    const end = skip_type_args(text, i);
    if (end < 0) return undefined;
    i = skip_blank(text, end);
  }
  if (text[i] !== "(") return undefined;
  return split_args(text, i + 1);
}

function offset_of(text: string, line: number, column: number): number | undefined {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", off);
    if (nl < 0) return undefined;
    off = nl + 1;
  }
  const i = off + column - 1;
  return i < text.length ? i : undefined;
}

function is_ident_start(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{Nl}_$]/u.test(c);
}

function is_ident_part(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}_$\u200c\u200d]/u.test(c);
}

function is_space(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c);
}

/** Skip white space and comments. */
function skip_blank(text: string, i: number): number {
  for (;;) {
    while (is_space(text[i])) i++;
    const end = skip_comment(text, i);
    if (end === i) return i;
    i = end;
  }
}

/** The index after a comment starting at `i`, or `i` when none starts there. */
function skip_comment(text: string, i: number): number {
  if (text[i] !== "/") return i;
  if (text[i + 1] === "/") {
    const nl = text.indexOf("\n", i);
    return nl < 0 ? text.length : nl;
  }
  if (text[i + 1] === "*") {
    const end = text.indexOf("*/", i + 2);
    return end < 0 ? text.length : end + 2;
  }
  return i;
}

/** The index after a string or template literal starting at `i`, or `i`. */
function skip_literal(text: string, i: number): number {
  const q = text[i];
  if (q === "'" || q === '"') {
    let j = i + 1;
    while (j < text.length && text[j] !== q && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
    return Math.min(j + 1, text.length);
  }
  if (q === "`") {
    let j = i + 1;
    while (j < text.length) {
      if (text[j] === "\\") j += 2;
      else if (text[j] === "`") return j + 1;
      else if (text[j] === "$" && text[j + 1] === "{") {
        const end = skip_balanced(text, j + 1);
        if (end < 0) return text.length;
        j = end;
      } else j++;
    }
    return text.length;
  }
  return i;
}

const OPEN: Readonly<Record<string, string>> = { "(": ")", "[": "]", "{": "}" };
const REGEX_PRECEDERS = "(,=:[!&|?{};+-*%<>~^";

/** The index after a regular expression literal starting at `i`, or `i`. */
function skip_regex(text: string, i: number, prev: string): number {
  if (text[i] !== "/" || text[i + 1] === "/" || text[i + 1] === "*") return i;
  if (prev !== "" && !REGEX_PRECEDERS.includes(prev)) return i;
  let j = i + 1;
  let in_class = false;
  while (j < text.length && text[j] !== "\n") {
    const c = text[j];
    if (c === "\\") j += 2;
    else {
      if (c === "[") in_class = true;
      else if (c === "]") in_class = false;
      else if (c === "/" && !in_class) {
        j++;
        while (is_ident_part(text[j])) j++;
        return j;
      }
      j++;
    }
  }
  return i;
}

/** From an opening bracket at `i`, the index after its matching close, or -1. */
function skip_balanced(text: string, i: number): number {
  const stack: string[] = [];
  let prev = "";
  while (i < text.length) {
    const c = text[i]!;
    let end = skip_comment(text, i);
    if (end !== i) {
      i = end;
      continue;
    }
    end = skip_literal(text, i);
    if (end === i) end = skip_regex(text, i, prev);
    if (end !== i) {
      prev = "a"; // a literal is an operand: a following '/' divides
      i = end;
      continue;
    }
    if (c in OPEN) stack.push(OPEN[c]!);
    else if (c === ")" || c === "]" || c === "}") {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i + 1;
    }
    if (!is_space(c)) prev = c;
    i++;
  }
  return -1;
}

/** From a `<` at `i` (type arguments), the index after the matching `>`, or -1. */
function skip_type_args(text: string, i: number): number {
  let depth = 0;
  while (i < text.length) {
    const c = text[i]!;
    let end = skip_comment(text, i);
    if (end === i) end = skip_literal(text, i);
    if (end !== i) {
      i = end;
      continue;
    }
    if (c === "=" && text[i + 1] === ">") {
      i += 2;
      continue;
    }
    if (c in OPEN) {
      const e = skip_balanced(text, i);
      if (e < 0) return -1;
      i = e;
      continue;
    }
    if (c === "<") depth++;
    else if (c === ">") {
      depth--;
      if (depth === 0) return i + 1;
    } else if (c === ";" || c === ")") return -1;
    i++;
  }
  return -1;
}

/** Split the arguments after the `(` at `i - 1`, normalising each one. */
function split_args(text: string, i: number): string[] | undefined {
  const args: string[] = [];
  let cur = "";
  let pending_space = false;
  let depth = 0;
  let prev = "(";
  const emit = (s: string): void => {
    if (pending_space && cur !== "") cur += " ";
    pending_space = false;
    cur += s;
  };

  while (i < text.length) {
    const c = text[i]!;
    if (is_space(c)) {
      pending_space = true;
      i++;
      continue;
    }
    let end = skip_comment(text, i);
    if (end !== i) {
      pending_space = true;
      i = end;
      continue;
    }
    end = skip_literal(text, i);
    if (end === i) end = skip_regex(text, i, prev);
    if (end !== i) {
      emit(text.slice(i, end));
      prev = "a"; // a literal is an operand: a following '/' divides
      i = end;
      continue;
    }
    if (depth === 0 && (c === "," || c === ")")) {
      args.push(cur);
      cur = "";
      pending_space = false;
      if (c === ")") {
        // A trailing comma leaves an empty last argument: it is not one.
        if (args.length > 0 && args[args.length - 1] === "" && args.length > 1) args.pop();
        if (args.length === 1 && args[0] === "") return [];
        return args;
      }
      prev = c;
      i++;
      continue;
    }
    if (c in OPEN) depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    emit(c);
    prev = c;
    i++;
  }
  return undefined;
}
