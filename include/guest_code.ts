// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest code records: how a TypeScript guest function has an address.
 *
 * The image loader (host library) writes one **code record** per guest
 * function into guest memory, at the function's guest-virtual address in the
 * image's text region. The simulated CPU fetches the record at RIP through
 * the guest page tables, checks it and runs the function. So code pages are
 * real guest memory: a missing or overwritten code page faults as on
 * hardware, and a TD's measurement covers the functions' code (changing one
 * byte of a guest function's source changes its record, hence MRTD).
 *
 * Record layout (little-endian; `struct guest_code_record_hdr` then data):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | `magic`: the bytes `0F 0B 54 53`, i.e. `ud2` then `"TS"` (real hardware executing a record takes #UD) |
 * | 4 | 2 | `version` = 3 |
 * | 6 | 2 | `hdr_size` = 16 |
 * | 8 | 4 | `name_len`: bytes of the UTF-8 name |
 * | 12 | 4 | `digest_len` = 32 |
 * | 16 | `name_len` | the function's name |
 * | 16 + `name_len` | 32 | SHA-256 of the function's canonical text (UTF-8, {@linkcode guest_fn_canonical}) |
 *
 * **Why a digest and not the source text** (version 1 carried the text): a
 * record stays a few dozen bytes whatever the function's size (59 for an
 * 11-character name), so records fit where the C twin's machine code would;
 * one with its source text would be kilobytes. (The TD boot code, which must
 * fit the 126 bytes a `JMP rel8` at the reset vector reaches, was two records
 * once; it is machine code now, `lib/x86/tdx/td_boot.ts`.) SHA-256 keeps what
 * the text gave: the CPU still checks that the function it resolves is byte
 * for token the one the record was made from (any other code → #UD), and a
 * TD's MRTD changes with any token of any guest function, since the digest
 * does.
 *
 * **Why tokens and not the text** (version 2 hashed `fn.toString()`): a
 * record stands for what the function does, and a comment or a reflowed line
 * cannot change that, while it moved MRTD. The digest covers the function's
 * tokens ({@linkcode js_tokens}: comments and whitespace dropped, literals
 * verbatim) joined by single spaces, keeping a line break only where
 * JavaScript's grammar gives one a meaning (after `return`, before postfix
 * `++`, ...). Any token that changes (an operator, a constant, a called
 * helper's name, a string) changes the digest; so does renaming a local,
 * which a lexer cannot tell from renaming a global.
 *
 * The record is `guest_code_record_size(fn)` bytes; RIP holds its first byte
 * while the function runs.
 *
 * **Resolution** (in the vCPU worker): the name is looked up in the SDK's
 * guest-function registry ({@linkcode guest_fn_register}) first, then in the
 * exports of the guest image modules, in order (an export whose key or whose
 * function `name` equals the record's name). The SHA-256 of the function
 * found's source must be the record's digest; otherwise, or when nothing is
 * found, the fetch raises #UD.
 *
 * @module
 */

import { type RecordType, struct, u16, u32 } from "./c/layout.ts";
import { in_vcpu_worker } from "./libc/process.ts";
import { sha256 } from "./crypto/sha2.ts";

/**
 * Guest code threw a JavaScript exception: a bug in the test. Thrown on the
 * host by `KVM_RUN` on either backend (the simulator's vCPU worker or the kvm
 * backend's guest runtime); the message carries the guest's error and stack.
 */
export class GuestCodeError extends Error {
  /** The vCPU whose guest code threw. */
  readonly vcpu_id: number;
  /** The guest's error text, with its stack. */
  readonly guest_stack: string;

  /**
   * Builds the error for a guest-crash exit.
   *
   * @param vcpu_id the vCPU
   * @param guest_stack the guest's error text and stack
   */
  constructor(vcpu_id: number, guest_stack: string) {
    super(`Guest code of vCPU ${vcpu_id} threw: ${guest_stack}`);
    this.name = "GuestCodeError";
    this.vcpu_id = vcpu_id;
    this.guest_stack = guest_stack;
  }
}

/** A function that can run as guest code. */
// deno-lint-ignore no-explicit-any
export type guest_fn = (...args: any[]) => unknown;

/** The first four bytes of a code record (`ud2; "TS"`), as a little-endian `u32`. */
export const GUEST_CODE_MAGIC = 0x53540b0f;
/** The record format version this SDK writes and reads. */
export const GUEST_CODE_VERSION = 3;
/** Bytes of the source digest a record carries (SHA-256). */
export const GUEST_CODE_DIGEST_SIZE = 32;

/** `struct guest_code_record_hdr`: the fixed part of a code record. */
export const guest_code_record_hdr: RecordType<{
  magic: u32;
  version: u16;
  hdr_size: u16;
  name_len: u32;
  digest_len: u32;
}> = struct("guest_code_record_hdr", {
  magic: u32,
  version: u16,
  hdr_size: u16,
  name_len: u32,
  digest_len: u32,
});

/** Bytes of {@linkcode guest_code_record_hdr}. */
export const GUEST_CODE_HDR_SIZE: number = guest_code_record_hdr.size;

const encoder = new TextEncoder();
const sources = new WeakMap<guest_fn, string>();
const digests = new WeakMap<guest_fn, Uint8Array>();
const canonical = new WeakMap<guest_fn, string>();

/** The source text a record of `fn` stands for (`fn.toString()`, cached). */
export function guest_fn_source(fn: guest_fn): string {
  let s = sources.get(fn);
  if (s === undefined) {
    s = Function.prototype.toString.call(fn);
    sources.set(fn, s);
  }
  return s;
}

/**
 * The digest a record of `fn` carries: SHA-256 of its canonical text
 * ({@linkcode guest_fn_canonical}) as UTF-8 (cached; treat the result as read-only).
 *
 * @param fn the guest function
 * @returns 32 bytes
 */
export function guest_fn_digest(fn: guest_fn): Uint8Array {
  let d = digests.get(fn);
  if (d === undefined) {
    d = sha256(encoder.encode(guest_fn_canonical(fn)));
    digests.set(fn, d);
  }
  return d;
}

/**
 * The code record of `fn`, to be written at the function's guest-virtual
 * address.
 *
 * @param fn the guest function
 * @param name the name it is resolved by (default `fn.name`); SDK functions
 *   use their registry name
 */
export function guest_code_record(fn: guest_fn, name: string = fn.name): Uint8Array {
  return guest_code_record_shared(fn, name).slice();
}

/**
 * {@linkcode guest_code_record} without the copy, for a caller that only
 * copies it into guest memory: the bytes are shared, never write them.
 *
 * @param fn the guest function
 * @param name the name it is resolved by (default `fn.name`)
 */
export function guest_code_record_shared(
  fn: guest_fn,
  name: string = fn.name,
): Readonly<Uint8Array> {
  if (name.length === 0) throw new TypeError("A guest function needs a name");
  guest_fn_check(fn, name);
  // A VM writes one record per exception stub it installs (256): build each once.
  let by_name = records.get(fn);
  if (!by_name) records.set(fn, by_name = new Map());
  let rec = by_name.get(name);
  if (!rec) by_name.set(name, rec = guest_code_record_build(fn, name));
  return rec;
}

const records = new WeakMap<guest_fn, Map<string, Uint8Array>>();

function guest_code_record_build(fn: guest_fn, name: string): Uint8Array {
  const nameBytes = encoder.encode(name);
  const digest = guest_fn_digest(fn);
  const out = new Uint8Array(GUEST_CODE_HDR_SIZE + nameBytes.length + digest.length);
  const hdr = guest_code_record_hdr.view(out);
  hdr.magic = GUEST_CODE_MAGIC;
  hdr.version = GUEST_CODE_VERSION;
  hdr.hdr_size = GUEST_CODE_HDR_SIZE;
  hdr.name_len = nameBytes.length;
  hdr.digest_len = digest.length;
  out.set(nameBytes, GUEST_CODE_HDR_SIZE);
  out.set(digest, GUEST_CODE_HDR_SIZE + nameBytes.length);
  return out;
}

/**
 * Refuses a function that cannot be guest code: an `async` function (or a
 * generator) returns to its caller at its first `await` (`yield`) with a
 * promise, and finishes later from the event loop, which a vCPU never runs;
 * as guest code it would "return" at once and the CPU would pop a return
 * address the guest never pushed.
 *
 * @param fn the candidate guest function
 * @param name the name it would be resolved by
 * @throws TypeError naming the function and the reason
 */
export function guest_fn_check(fn: guest_fn, name: string = fn.name): void {
  const kind = (fn as { [Symbol.toStringTag]?: string })[Symbol.toStringTag];
  if (
    kind === "AsyncFunction" || kind === "AsyncGeneratorFunction" || kind === "GeneratorFunction"
  ) {
    throw new TypeError(
      `Guest function '${name}' is ${kind === "GeneratorFunction" ? "a generator" : "async"}: ` +
        "guest code runs synchronously on the vCPU (each intrinsic is one instruction that " +
        "completes or exits before it returns), and an async function would return a promise " +
        "at its first await and never finish; write it as a plain function",
    );
  }
}

/**
 * Bytes of the code record of `fn` (what {@linkcode guest_code_record}
 * returns): it depends on the name only, as the digest has a fixed size.
 */
export function guest_code_record_size(fn: guest_fn, name: string = fn.name): number {
  return GUEST_CODE_HDR_SIZE + encoder.encode(name).length + GUEST_CODE_DIGEST_SIZE;
}

const registry = new Map<string, guest_fn>();

/**
 * Registers an SDK guest function under `name`, for functions that are not
 * exported from the test module (exception stubs, TD boot code). Call it at
 * module load, so that the registration also happens in vCPU workers, which
 * import the same modules. Names should be namespaced (`"kvm:route_exception"`).
 *
 * @param name the name records carry
 * @param fn the function
 */
export function guest_fn_register(name: string, fn: guest_fn): void {
  const old = registry.get(name);
  // A pooled vCPU worker imports the guest image afresh for each VM: the
  // same function, from the image's new instance, takes its name over.
  const again = old !== undefined && in_vcpu_worker() &&
    guest_fn_canonical(old) === guest_fn_canonical(fn);
  if (old !== undefined && old !== fn && !again) {
    throw new Error(`Guest function '${name}' is already registered`);
  }
  registry.set(name, fn);
}

/** The SDK guest function registered under `name`, if any. */
export function guest_fn_lookup(name: string): guest_fn | undefined {
  return registry.get(name);
}

/**
 * Resolves a record's name as the CPU does: the SDK registry first, then the
 * exports of `images` in order (by export key, then by function name).
 *
 * @param name the record's name
 * @param images the guest image modules' namespaces
 */
export function guest_fn_resolve(
  name: string,
  images: readonly Record<string, unknown>[],
): guest_fn | undefined {
  const registered = registry.get(name);
  if (registered) return registered;
  for (const ns of images) {
    const v = ns[name];
    if (typeof v === "function") return v as guest_fn;
  }
  for (const ns of images) {
    for (const key of Object.keys(ns)) {
      let v: unknown;
      try {
        v = ns[key];
      } catch {
        continue; // an export still in its temporal dead zone
      }
      if (typeof v === "function" && v.name === name) return v as guest_fn;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// What a record's digest covers: the function's tokens

const PUNCTUATORS = [
  ">>>=",
  "...",
  "===",
  "!==",
  "**=",
  "<<=",
  ">>=",
  ">>>",
  "&&=",
  "||=",
  "??=",
  "=>",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "??",
  "?.",
  "++",
  "--",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "**",
  "<<",
  ">>",
];

/** Keywords after which a `/` starts a regular expression, not a division. */
const REGEX_AFTER = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);

/**
 * Tokens around which a line break changes the parse (ECMA-262's restricted
 * productions: no line terminator after `return`, `throw`, `break`,
 * `continue`, `yield`, `async`, before postfix `++`/`--` or `=>`), plus the
 * contextual words whose meaning a line break can change (`let`, `get`,
 * `set`, `static`). Elsewhere automatic semicolon insertion only applies
 * where the code without the line break would not parse, so dropping the
 * break cannot make two valid functions read alike.
 */
const BREAK_AFTER = new Set([
  "return",
  "throw",
  "break",
  "continue",
  "yield",
  "async",
  "let",
  "get",
  "set",
  "static",
]);
const BREAK_BEFORE = new Set(["++", "--", "=>"]);

const ID_START = /[\p{ID_Start}$_#\\]/u;
const ID_PART = /[\p{ID_Continue}$\u200c\u200d\\]/u;

/** {@linkcode PUNCTUATORS} by first character, in their order (longest first). */
const PUNCTUATORS_BY_FIRST = new Map<string, string[]>();
for (const p of PUNCTUATORS) {
  const list = PUNCTUATORS_BY_FIRST.get(p[0]!);
  if (list) list.push(p);
  else PUNCTUATORS_BY_FIRST.set(p[0]!, [p]);
}

// ASCII fast paths for the per-character tests: sources are almost all
// ASCII, and a Unicode property class costs a regular-expression call.
function is_digit(c: string): boolean {
  const k = c.charCodeAt(0);
  return k >= 48 && k <= 57;
}
function is_id_start(c: string): boolean {
  const k = c.charCodeAt(0);
  if (k < 128) {
    return (k >= 97 && k <= 122) || (k >= 65 && k <= 90) || k === 36 || k === 95 || k === 35 ||
      k === 92;
  }
  return ID_START.test(c);
}
function is_id_part(c: string): boolean {
  const k = c.charCodeAt(0);
  if (k < 128) {
    return (k >= 97 && k <= 122) || (k >= 65 && k <= 90) || (k >= 48 && k <= 57) || k === 36 ||
      k === 95 || k === 92;
  }
  return ID_PART.test(c);
}
function is_line_break(c: string): boolean {
  return c === "\n" || c === "\r" || c === "\u2028" || c === "\u2029";
}
function is_space(c: string): boolean {
  return c === " " || c === "\t" || (c.charCodeAt(0) > 10 && /\s/.test(c));
}

/**
 * The tokens of a JavaScript function's source, in order, with comments and
 * whitespace dropped: identifiers, keywords, punctuators, and literals
 * (strings, numbers, regular expressions, template chunks) verbatim. A token
 * is preceded by `"\n"` when a line break before it can change the parse
 * (see `BREAK_AFTER`), else by nothing.
 *
 * @param src the source text (`fn.toString()`)
 * @returns the tokens
 * @throws SyntaxError on an unterminated comment, string, template or regular expression
 */
export function js_tokens(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  let prev = "";
  let sawBreak = false;
  // For each template literal open around `i`: the depth of `{` inside its current `${`.
  const templates: number[] = [];
  // Whether `prev` is a TypeScript non-null assertion (`a[0]!`): a `!` right
  // after an operand, on its line. An operand is never followed by a prefix
  // `!` in JavaScript without a line break between them, so this reads no
  // valid JavaScript differently; after the assertion a `/` divides.
  let postfix_bang = false;
  const push = (tok: string) => {
    postfix_bang = tok === "!" && !sawBreak && prev !== "" &&
      (/[)\]]$/.test(prev) || (is_id_part(prev.at(-1)!) && !REGEX_AFTER.has(prev)));
    if (sawBreak && (BREAK_AFTER.has(prev) || BREAK_BEFORE.has(tok))) out.push("\n");
    out.push(tok);
    prev = tok;
    sawBreak = false;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`Unterminated ${what} at offset ${i} of a guest function's source`);
  };
  // Scans a template chunk from `i` (just past "`" or "}") to its end ("`" or "${").
  const templateChunk = (start: number) => {
    let j = i;
    for (;;) {
      if (j >= src.length) fail("template literal");
      const c = src[j]!;
      if (c === "\\") j += 2;
      else if (c === "`") {
        push(src.slice(start, j + 1));
        i = j + 1;
        return;
      } else if (c === "$" && src[j + 1] === "{") {
        push(src.slice(start, j + 2));
        templates.push(0);
        i = j + 2;
        return;
      } else j++;
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    if (is_line_break(c)) {
      sawBreak = true;
      i++;
    } else if (is_space(c)) {
      i++;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && !is_line_break(src[i]!)) i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) fail("comment");
      if (/[\n\r\u2028\u2029]/.test(src.slice(i, end))) sawBreak = true;
      i = end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length) fail("string");
      push(src.slice(i, j + 1));
      i = j + 1;
    } else if (c === "`") {
      i++;
      templateChunk(i - 1);
    } else if (c === "}" && templates.length > 0 && templates.at(-1) === 0) {
      templates.pop();
      i++;
      templateChunk(i - 1);
    } else if (is_digit(c) || (c === "." && is_digit(src[i + 1] ?? "x"))) {
      let j = i + 1;
      const hex = /^0[xX]/.test(src.slice(i, i + 2));
      while (j < src.length) {
        const d = src[j]!;
        if (/[0-9a-zA-Z_.]/.test(d)) j++;
        else if ((d === "+" || d === "-") && !hex && /[eE]/.test(src[j - 1]!)) j++;
        else break;
      }
      push(src.slice(i, j));
      i = j;
    } else if (is_id_start(c)) {
      let j = i + 1;
      while (j < src.length && is_id_part(src[j]!)) j++;
      push(src.slice(i, j));
      i = j;
    } else if (
      c === "/" && !postfix_bang &&
      (prev === "" || REGEX_AFTER.has(prev) ||
        (!is_id_part(prev.at(-1)!) && !/[)\]'"`]$/.test(prev)))
    ) {
      let j = i + 1;
      let cls = false;
      for (;; j++) {
        if (j >= src.length || /[\n\r]/.test(src[j]!)) fail("regular expression");
        const d = src[j]!;
        if (d === "\\") j++;
        else if (d === "[") cls = true;
        else if (d === "]") cls = false;
        else if (d === "/" && !cls) break;
      }
      j++;
      while (j < src.length && is_id_part(src[j]!)) j++;
      push(src.slice(i, j));
      i = j;
    } else {
      let tok = c;
      for (const p of PUNCTUATORS_BY_FIRST.get(c) ?? []) {
        if (src.startsWith(p, i)) {
          tok = p;
          break;
        }
      }
      // `?.` before a digit is `?` then a number (`a?.5:b`).
      if (tok === "?." && /[0-9]/.test(src[i + 2] ?? "")) tok = "?";
      if (templates.length > 0) {
        if (tok === "{") templates[templates.length - 1]!++;
        else if (tok === "}") templates[templates.length - 1]!--;
      }
      push(tok);
      i += tok.length;
    }
  }
  if (templates.length > 0) fail("template literal");
  return out;
}

/**
 * The canonical text of a guest function, what its record's digest covers:
 * {@linkcode js_tokens} of its source joined by single spaces (a line break
 * only where it can change the parse). Comments, indentation, blank lines
 * and line wrapping do not reach it; any change to a token does.
 *
 * @param fn the guest function
 * @returns the canonical text (cached)
 */
export function guest_fn_canonical(fn: guest_fn): string {
  let s = canonical.get(fn);
  if (s === undefined) {
    s = "";
    let sep = "";
    for (const tok of js_tokens(guest_fn_source(fn))) {
      if (tok === "\n") {
        sep = "\n";
        continue;
      }
      s += s === "" ? tok : sep + tok;
      sep = " ";
    }
    canonical.set(fn, s);
  }
  return s;
}
