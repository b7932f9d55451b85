// SPDX-License-Identifier: GPL-2.0-only
/**
 * Expressions of the assembler: what may stand after `$`, before `(` of a
 * memory operand, as a branch target or in a data directive.
 *
 * Grammar (GNU as precedence, 64-bit two's-complement arithmetic on `bigint`):
 * numbers (`42`, `0x2a`, `0b101010`, `052` octal as in GNU as, `'c'`),
 * symbols (constants passed to the assembler, `.set` names, labels), the
 * location counter `.`, numeric local label references `1f`/`1b`,
 * parentheses, unary `- ~ !`, and binary `* / % << >>` over `| & ^` over
 * `+ -` (`>>` is arithmetic, as on GNU as's signed values).
 *
 * @module
 */

import { AsmError } from "./asm_error.ts";

/** A parsed expression. */
export type expr =
  | { readonly k: "num"; readonly v: bigint }
  | { readonly k: "sym"; readonly name: string }
  | { readonly k: "dot" }
  | { readonly k: "un"; readonly op: string; readonly a: expr }
  | { readonly k: "bin"; readonly op: string; readonly a: expr; readonly b: expr };

type token = { t: "num"; v: bigint } | { t: "id"; v: string } | { t: "op"; v: string };

const ID = /^[A-Za-z_.$][A-Za-z0-9_.$]*/;
const NUM = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+[fb]?)/;
const OPS = ["<<", ">>", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!", "(", ")"];

/**
 * Resolves the GNU numeric local label references (`1f`, `1b`) a token
 * stands for; supplied by the assembler, which knows how many times each
 * numeric label has been defined so far.
 */
export type local_ref = (n: string, dir: "f" | "b") => string;

function tokenize(s: string, local: local_ref): token[] {
  const out: token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const rest = s.slice(i);
    if (c === "'") {
      // GNU as character constant: 'c (the closing quote is optional).
      const ch = rest.codePointAt(1);
      if (ch === undefined) throw new AsmError(`bad character constant in "${s}"`);
      out.push({ t: "num", v: BigInt(ch) });
      i += rest[2] === "'" ? 3 : 2;
      continue;
    }
    const num = NUM.exec(rest);
    if (num) {
      const text = num[0];
      const last = text[text.length - 1]!;
      if (last === "f" || last === "b") {
        if (/^0[xX]/.test(text) || /^0[bB]/.test(text)) {
          out.push({ t: "num", v: BigInt(text) });
        } else {
          out.push({ t: "id", v: local(text.slice(0, -1), last) });
        }
      } else if (/^0[0-7]+$/.test(text)) {
        out.push({ t: "num", v: BigInt("0o" + text.slice(1)) });
      } else if (/^0[0-9]+$/.test(text)) {
        throw new AsmError(`bad octal number ${text} in "${s}"`);
      } else {
        out.push({ t: "num", v: BigInt(text) });
      }
      i += text.length;
      if (i < s.length && /[A-Za-z0-9_]/.test(s[i]!)) {
        throw new AsmError(`bad number "${rest.split(/[^A-Za-z0-9_]/)[0]}" in "${s}"`);
      }
      continue;
    }
    const id = ID.exec(rest);
    if (id) {
      out.push(id[0] === "." ? { t: "op", v: "." } : { t: "id", v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (!op) throw new AsmError(`unexpected "${c}" in expression "${s}"`);
    out.push({ t: "op", v: op });
    i += op.length;
  }
  return out;
}

/**
 * Binary operators by precedence, lowest first, as GNU as ranks them (not as
 * C does): `+ -`, then `| & ^`, then `* / % << >>`, each left-associative;
 * so `1 + 2 << 3` is 17 and `4 + 1 & 3` is 5.
 */
const BINARY: readonly (readonly string[])[] = [
  ["+", "-"],
  ["|", "&", "^"],
  ["*", "/", "%", "<<", ">>"],
];

/**
 * Parses an expression.
 *
 * @param s the text
 * @param local resolves `1f`/`1b` to the internal name of that definition
 * @returns the expression tree
 * @throws AsmError on malformed input
 */
export function parse_expr(s: string, local: local_ref): expr {
  const toks = tokenize(s, local);
  let pos = 0;
  const peek = (): token | undefined => toks[pos];
  const binary = (level: number): expr => {
    if (level === BINARY.length) return unary();
    let a = binary(level + 1);
    for (;;) {
      const t = peek();
      if (t?.t !== "op" || !BINARY[level]!.includes(t.v)) return a;
      pos++;
      a = { k: "bin", op: t.v, a, b: binary(level + 1) };
    }
  };
  const unary = (): expr => {
    const t = peek();
    if (t === undefined) throw new AsmError(`missing operand in expression "${s}"`);
    pos++;
    if (t.t === "num") return { k: "num", v: t.v };
    if (t.t === "id") return { k: "sym", name: t.v };
    if (t.v === ".") return { k: "dot" };
    if (t.v === "-" || t.v === "~" || t.v === "!" || t.v === "+") {
      return { k: "un", op: t.v, a: unary() };
    }
    if (t.v === "(") {
      const e = binary(0);
      const close = peek();
      if (close?.t !== "op" || close.v !== ")") throw new AsmError(`missing ")" in "${s}"`);
      pos++;
      return e;
    }
    throw new AsmError(`unexpected "${t.v}" in expression "${s}"`);
  };
  if (toks.length === 0) throw new AsmError("empty expression");
  const e = binary(0);
  if (pos !== toks.length) throw new AsmError(`junk after expression in "${s}"`);
  return e;
}

/** What a symbol stands for when an expression is evaluated. */
export interface sym_value {
  readonly value: bigint;
  /** An address (a label or the location counter): its value moves with the code. */
  readonly reloc: boolean;
}

/** An expression's value, and whether it depends on where code lies. */
export interface expr_value {
  readonly value: bigint;
  readonly reloc: boolean;
}

const MASK64 = (1n << 64n) - 1n;

/** Interprets a 64-bit pattern as signed. */
export function s64(v: bigint): bigint {
  return BigInt.asIntN(64, v);
}

/**
 * Evaluates an expression.
 *
 * @param e the expression
 * @param lookup a symbol's value (throw for an unknown one)
 * @param dot the location counter
 * @returns the value (signed 64-bit) and whether it moves with the code
 */
export function eval_expr(
  e: expr,
  lookup: (name: string) => sym_value,
  dot: bigint,
): expr_value {
  switch (e.k) {
    case "num":
      return { value: s64(e.v), reloc: false };
    case "sym":
      return lookup(e.name);
    case "dot":
      return { value: dot, reloc: true };
    case "un": {
      const a = eval_expr(e.a, lookup, dot);
      const v = e.op === "-"
        ? -a.value
        : e.op === "~"
        ? ~a.value
        : e.op === "!"
        ? (a.value === 0n ? 1n : 0n)
        : a.value;
      return { value: s64(v), reloc: a.reloc };
    }
    case "bin": {
      const a = eval_expr(e.a, lookup, dot);
      const b = eval_expr(e.b, lookup, dot);
      let v: bigint;
      switch (e.op) {
        case "+":
          v = a.value + b.value;
          break;
        case "-":
          // The distance between two addresses no longer moves with the code.
          v = a.value - b.value;
          return { value: s64(v), reloc: a.reloc !== b.reloc };
        case "*":
          v = a.value * b.value;
          break;
        case "/":
        case "%":
          if (b.value === 0n) throw new AsmError("division by zero in expression");
          v = e.op === "/" ? a.value / b.value : a.value % b.value;
          break;
        case "<<":
          v = (a.value << (b.value & 63n)) & MASK64;
          break;
        case ">>":
          v = a.value >> (b.value & 63n);
          break;
        case "&":
          v = a.value & b.value;
          break;
        case "|":
          v = a.value | b.value;
          break;
        default:
          v = a.value ^ b.value;
      }
      return { value: s64(v), reloc: a.reloc || b.reloc };
    }
  }
}

/**
 * Whether an expression's value is known without laying out the code: it
 * names no label and not `.`. Such values let the assembler pick the short
 * immediate and displacement forms, as GNU as does for absolute symbols.
 *
 * @param e the expression
 * @param is_const whether a symbol is a constant
 */
export function expr_is_const(e: expr, is_const: (name: string) => boolean): boolean {
  switch (e.k) {
    case "num":
      return true;
    case "sym":
      return is_const(e.name);
    case "dot":
      return false;
    case "un":
      return expr_is_const(e.a, is_const);
    case "bin":
      return expr_is_const(e.a, is_const) && expr_is_const(e.b, is_const);
  }
}

/** The labels an expression names directly (for branch relaxation). */
export function expr_symbols(e: expr, out: string[] = []): string[] {
  if (e.k === "sym") out.push(e.name);
  else if (e.k === "un") expr_symbols(e.a, out);
  else if (e.k === "bin") {
    expr_symbols(e.a, out);
    expr_symbols(e.b, out);
  }
  return out;
}
