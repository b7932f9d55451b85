// SPDX-License-Identifier: GPL-2.0-only
/**
 * AT&T operands: `$imm`, `%reg`, `[%seg:]disp(%base,%index,scale)`, a bare
 * expression (an absolute memory address, or a branch target), and `*` for
 * the indirect operand of `jmp`/`call`.
 *
 * @module
 */

import { AsmError } from "./asm_error.ts";
import { type expr, type local_ref, parse_expr } from "./expr.ts";
import { type x86_reg, x86_reg_lookup } from "./registers.ts";

/** A memory operand. */
export interface mem_operand {
  readonly t: "mem";
  /** An explicit segment override (`%fs:`). */
  readonly seg?: x86_reg;
  readonly disp?: expr;
  readonly base?: x86_reg;
  readonly index?: x86_reg;
  readonly scale: 1 | 2 | 4 | 8;
  /** Written with `*` (indirect `jmp`/`call`). */
  readonly star: boolean;
}

/** A register operand. */
export interface reg_operand {
  readonly t: "reg";
  readonly r: x86_reg;
  readonly star: boolean;
}

/** An immediate operand (`$expr`). */
export interface imm_operand {
  readonly t: "imm";
  readonly e: expr;
}

/** One parsed operand. */
export type operand = mem_operand | reg_operand | imm_operand;

function reg(text: string): x86_reg {
  const t = text.trim();
  if (!t.startsWith("%")) throw new AsmError(`expected a register, got "${t}"`);
  const r = x86_reg_lookup(t.slice(1));
  if (!r) throw new AsmError(`unknown register "${t}"`);
  return r;
}

/** Index of the `(` matching the `)` that ends `s`, or -1. */
function open_of_last_paren(s: string): number {
  let depth = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    if (s[i] === ")") depth++;
    else if (s[i] === "(" && --depth === 0) return i;
  }
  return -1;
}

/**
 * Parses one AT&T operand.
 *
 * @param text the operand as written in the `.S` file
 * @param local resolves numeric local label references
 * @returns the operand
 * @throws AsmError on malformed input
 */
export function parse_operand(text: string, local: local_ref): operand {
  let s = text.trim();
  if (s.length === 0) throw new AsmError("empty operand");
  if (s.startsWith("$")) return { t: "imm", e: parse_expr(s.slice(1), local) };
  let star = false;
  if (s.startsWith("*")) {
    star = true;
    s = s.slice(1).trim();
  }
  let seg: x86_reg | undefined;
  const segm = /^%([a-z]s)\s*:/i.exec(s);
  if (segm) {
    seg = reg("%" + segm[1]!);
    if (seg.kind !== "seg") throw new AsmError(`"${segm[1]}" is not a segment register`);
    s = s.slice(segm[0].length).trim();
  }
  if (s.startsWith("%") && !seg) return { t: "reg", r: reg(s), star };

  let disp: expr | undefined;
  let base: x86_reg | undefined;
  let index: x86_reg | undefined;
  let scale: 1 | 2 | 4 | 8 = 1;
  const open = s.endsWith(")") ? open_of_last_paren(s) : -1;
  const inner = open >= 0 ? s.slice(open + 1, -1).trim() : "";
  if (open >= 0 && (inner.startsWith("%") || inner.startsWith(","))) {
    const parts = inner.split(",").map((p) => p.trim());
    if (parts.length > 3) throw new AsmError(`too many parts in "${text}"`);
    if (parts[0]) base = reg(parts[0]);
    if (parts.length >= 2) {
      if (!parts[1]) throw new AsmError(`missing index register in "${text}"`);
      index = reg(parts[1]);
    }
    if (parts.length === 3) {
      const sc = Number(parts[2]);
      if (sc !== 1 && sc !== 2 && sc !== 4 && sc !== 8) {
        throw new AsmError(`scale must be 1, 2, 4 or 8 in "${text}"`);
      }
      scale = sc;
    }
    const d = s.slice(0, open).trim();
    if (d) disp = parse_expr(d, local);
  } else {
    disp = parse_expr(s, local);
  }
  for (const r of [base, index]) {
    if (r && r.kind !== "gp" && r.kind !== "ip") {
      throw new AsmError(`"%${r.name}" cannot address memory in "${text}"`);
    }
  }
  if (index && (index.kind === "ip" || index.num === 4)) {
    throw new AsmError(`"%${index.name}" cannot be an index in "${text}"`);
  }
  const m: mem_operand = {
    t: "mem",
    scale,
    star,
    ...(seg ? { seg } : {}),
    ...(disp ? { disp } : {}),
    ...(base ? { base } : {}),
    ...(index ? { index } : {}),
  };
  return m;
}

/**
 * Splits a statement's operand list at top-level commas (commas inside
 * parentheses belong to a memory operand).
 *
 * @param s e.g. `"$1, 8(%rax,%rbx,4)"`
 */
export function split_operands(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of s) {
    if (c === "(") depth++;
    else if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else {
      cur += c;
    }
  }
  if (cur.trim() || out.length) out.push(cur.trim());
  return out;
}
