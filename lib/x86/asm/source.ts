// SPDX-License-Identifier: GPL-2.0-only
/**
 * The text side of GNU as input: splitting a source line into statements
 * (`;` separates them, `#` and `/* ... *\/` are comments), a statement into
 * its label, prefixes, mnemonic or directive and operands, and the string
 * literals of `.ascii`.
 *
 * @module
 */

import { AsmError } from "./asm_error.ts";
import { split_operands } from "./operand.ts";

/** One statement of a source line, taken apart. */
export interface source_stmt {
  /** `name:` labels before it, in order. */
  readonly labels: string[];
  /** `lock`, `rep`, `{disp8}`, ... before the mnemonic. */
  readonly prefixes: string[];
  /** The mnemonic or directive (with its `.`); empty for a label-only statement. */
  readonly op: string;
  /** Operand texts. */
  readonly args: string[];
}

const PREFIX = /^(lock|rep|repe|repz|repne|repnz|\{disp8\}|\{disp32\})(\s+|$)/;
const LABEL = /^([A-Za-z_.$][A-Za-z0-9_.$]*|[0-9]+):/;

/** Splits at `sep` outside string and character literals. */
function split_outside_quotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      cur += c;
      if (c === "\\") cur += s[++i] ?? "";
      else if (c === q) q = undefined;
      continue;
    }
    if (c === '"') q = c;
    else if (c === "'" && i + 1 < s.length) {
      // A character constant: its character is never a separator.
      cur += c + s[++i]!;
      continue;
    }
    if (c === sep) {
      out.push(cur);
      cur = "";
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

/** Removes `#` and `/* *\/` comments outside strings. */
function strip_comments(s: string): string {
  let out = "";
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      out += c;
      if (c === "\\") out += s[++i] ?? "";
      else if (c === '"') q = false;
      continue;
    }
    if (c === '"') q = true;
    else if (c === "#") break;
    else if (c === "/" && s[i + 1] === "*") {
      const end = s.indexOf("*/", i + 2);
      if (end < 0) throw new AsmError("unterminated /* comment on one line");
      i = end + 1;
      out += " ";
      continue;
    } else if (c === "'" && i + 1 < s.length) {
      // A character constant may be a quote or a hash: keep it whole.
      out += c + s[i + 1]!;
      i++;
      if (s[i + 1] === "'") out += s[++i]!;
      continue;
    }
    out += c;
  }
  return out;
}

/**
 * Takes one line of AT&T source apart.
 *
 * @param line e.g. `1: lock addl $1, (%rax) # count`
 * @returns its statements
 * @throws AsmError on an unterminated comment
 */
export function parse_source_line(line: string): source_stmt[] {
  const out: source_stmt[] = [];
  for (const part of split_outside_quotes(strip_comments(line), ";")) {
    let s = part.trim();
    const labels: string[] = [];
    for (let m = LABEL.exec(s); m; m = LABEL.exec(s)) {
      labels.push(m[1]!);
      s = s.slice(m[0].length).trim();
    }
    const prefixes: string[] = [];
    for (let m = PREFIX.exec(s); m; m = PREFIX.exec(s)) {
      prefixes.push(m[1]!);
      s = s.slice(m[0].length).trim();
    }
    if (!s && !labels.length && !prefixes.length) continue;
    const sp = s.search(/\s/);
    const op = sp < 0 ? s : s.slice(0, sp);
    const rest = sp < 0 ? "" : s.slice(sp).trim();
    out.push({ labels, prefixes, op, args: rest ? split_operands(rest) : [] });
  }
  return out;
}

/**
 * The bytes of a GNU as string literal (`"..."` with C escapes: `\n \t \r
 * \b \f \\ \"`, octal `\NNN`, hex `\xNN`), UTF-8 for other characters.
 *
 * @param lit the literal, quotes included
 */
export function parse_string_literal(lit: string): number[] {
  const t = lit.trim();
  if (t.length < 2 || !t.startsWith('"') || !t.endsWith('"')) {
    throw new AsmError(`expected a string literal, got ${t}`);
  }
  const body = t.slice(1, -1);
  const out: number[] = [];
  const enc = new TextEncoder();
  const ESC: Record<string, number> = {
    n: 10,
    t: 9,
    r: 13,
    b: 8,
    f: 12,
    "\\": 92,
    '"': 34,
    "'": 39,
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out.push(...enc.encode(c));
      continue;
    }
    const n = body[++i];
    if (n === undefined) throw new AsmError(`trailing backslash in ${t}`);
    if (n in ESC) out.push(ESC[n]!);
    else if (/[0-7]/.test(n)) {
      let v = n;
      while (v.length < 3 && /[0-7]/.test(body[i + 1] ?? "")) v += body[++i];
      out.push(parseInt(v, 8) & 0xff);
    } else if (n === "x") {
      let v = "";
      while (/[0-9a-fA-F]/.test(body[i + 1] ?? "")) v += body[++i];
      if (!v) throw new AsmError(`\\x without hex digits in ${t}`);
      out.push(parseInt(v.slice(-2), 16));
    } else {
      out.push(...enc.encode(n));
    }
  }
  return out;
}
