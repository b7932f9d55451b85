// SPDX-License-Identifier: GPL-2.0-only
/**
 * A small x86 assembler whose calls read like the lines of a GNU as AT&T
 * `.S` file, so that boot code and guest runtimes port line for line and
 * their bytes are the bytes GNU as would produce.
 *
 * ```ts
 * import { assembler } from "./lib/x86/asm/assembler.ts";
 *
 * const a = assembler({ origin: 0xffffffc5, defines: { TD_BOOT_PARAMETERS_GPA: 0xffff0000 } });
 * a.code32();                                   // .code32
 * a.global("td_boot").label("td_boot");         // .globl td_boot / td_boot:
 * a.cli();                                      // cli
 * a.movl("$TD_BOOT_PARAMETERS_GPA", "%ebx");    // movl $TD_BOOT_PARAMETERS_GPA, %ebx
 * a.ljmp("$(KERNEL_CS)", "$1f");                // ljmp $(KERNEL_CS),$1f
 * a.label("1");                                 // 1:
 * a.jmp("*8(%eax)");                            // jmp *8(%eax)
 * const obj = a.assemble();                     // obj.bytes, obj.symbols.get("td_boot")
 * ```
 *
 * **Statements.** Every mnemonic is a method taking its operands as AT&T
 * text, in AT&T order (sources first, destination last), and returning the
 * builder, so lines can be chained. Operands: `$expr` (immediate), `%reg`,
 * `[%seg:][disp](%base[,%index[,scale]])`, a bare `expr` (an absolute memory
 * address; for `jmp`/`jcc`/`call`/`loop` the branch target), `*operand` (an
 * indirect `jmp`/`call`/`ljmp`/`lcall`), and `%rip`-relative addressing.
 * Expressions: see `expr.ts` (numbers, symbols, `.`, `1f`/`1b`, operators with GNU as precedence).
 * Mnemonics take the suffix `b/w/l/q` or get the operand size from their
 * register operands; the list is {@linkcode mnemonic} (ALU and logic, `mov`
 * incl. segment, control and debug registers, `movz*`/`movs*`, `lea`,
 * `push`/`pop`, `call`/`ret`/`jmp`/`jcc`/`loop`/`jcxz`, far `ljmp`/`lcall`/
 * `lret` direct and through memory, shifts and rotates, `mul`/`imul`/`div`,
 * `bt*`/`bsf`/`bsr`, `xchg`/`xadd`/`cmpxchg`, `setcc`/`cmovcc`, `in`/`out`,
 * string instructions, `hlt`, `cpuid`, `rdmsr`/`wrmsr`, `rdtsc(p)`,
 * `lgdt`/`lidt`/`sgdt`/`sidt`/`lldt`/`ltr`, `iret(q)`, `int`/`int3`,
 * `cli`/`sti`, `pushf`/`popf`, `vmcall`/`vmmcall`/`tdcall`, `ud2`,
 * `wbinvd`, `invlpg`, `xgetbv`/`xsetbv`, ...).
 *
 * **Prefixes** are methods that apply to the next instruction, written as
 * GNU as writes them on the same line: `a.lock().addl("$1", "(%rax)")` for
 * `lock addl $1, (%rax)`, `a.rep().stosb()` for `rep stosb`, and the branch
 * pseudo-prefixes `a.disp8().jmp("1b")` / `a.disp32().jmp("1f")` for
 * `{disp8} jmp 1b` / `{disp32} jmp 1f` (a `disp8` branch that does not reach
 * is an error).
 *
 * **Directives**: `code16()/code32()/code64()`, `label(name)` (names or GNU
 * numeric local labels `"1"`, referenced as `1f`/`1b`), `global(name)`,
 * `set(name, value)` (`.set`), `byte/word/long/quad(...values)`,
 * `ascii/asciz(text)`, `fill(repeat, size, value)`, `skip(n, fill)`,
 * `align(n, fill)` and `p2align(k, fill)`. Constants can also be passed to
 * {@linkcode assembler} as `defines` (what `#include` of a header gives a
 * `.S` file). {@linkcode AsmCore.line} takes a whole line of source text
 * instead (`a.line("1: lock incl (%rax)")`), for porting a `.S` file verbatim.
 *
 * **Layout.** Labels are addresses: `origin` plus their offset (GNU as plus a
 * link at `-Ttext=origin`). Forward references are resolved by relaxation:
 * `jmp` and `jcc` to a label start as `rel8` and grow to `rel32` (`rel16` in
 * `.code16`) only when the target is out of reach, as GNU as does; `call` is
 * always `rel32`; a branch to a constant address is not relaxed. An
 * immediate or displacement whose expression names a label gets the full-size
 * field (GNU as emits a relocation there); constants get the short forms.
 *
 * **Differences from GNU as**, on purpose: an immediate that does not fit its
 * field is an error (GNU as truncates with a warning); a missing suffix with
 * no register operand is an error (GNU as guesses); `align` pads with `0x90`
 * one-byte NOPs when no fill is given (GNU as picks multi-byte NOPs); there are
 * no sections or relocations: {@linkcode asm_object.bytes} is the flat image
 * at `origin`.
 *
 * @module
 */

import { AsmError } from "./asm_error.ts";
import type { code_mode } from "./encode.ts";
import { fits_either, le_bytes } from "./encode.ts";
import {
  eval_expr,
  type expr,
  expr_is_const,
  type expr_value,
  type local_ref,
  parse_expr,
} from "./expr.ts";
import {
  encode_insn,
  type insn_ctx,
  is_relaxable,
  type mnemonic,
  MNEMONICS,
  type relax_state,
} from "./insns.ts";
import { type operand, parse_operand } from "./operand.ts";
import { parse_source_line, parse_string_literal } from "./source.ts";

export { AsmError } from "./asm_error.ts";
export type { code_mode } from "./encode.ts";
export { CONDITIONS, PLAIN_MNEMONICS, SIZED_MNEMONICS } from "./insns.ts";
export type { condition, mnemonic } from "./insns.ts";

/** A value a directive or `defines` accepts: a number or an expression's text. */
export type asm_value = number | bigint | string;

/** Options of {@linkcode assembler}. */
export interface assembler_options {
  /** Address of the first byte (labels are `origin + offset`); default 0. */
  origin?: number | bigint;
  /** Constants the source may name (a header's `#define`s). */
  defines?: Readonly<Record<string, number | bigint>>;
  /** The initial code size; default 64 (GNU as on x86-64). */
  mode?: code_mode;
}

/** One statement of the listing. */
export interface asm_line {
  /** Address of its first byte. */
  readonly addr: bigint;
  /** What it assembled to. */
  readonly bytes: Uint8Array;
  /** The statement as GNU as would read it. */
  readonly text: string;
}

/** The result of {@linkcode Assembler.assemble}. */
export interface asm_object {
  /** The image, to be loaded at `origin`. */
  readonly bytes: Uint8Array;
  /** The address of `bytes[0]`. */
  readonly origin: bigint;
  /** Addresses of the labels marked with {@linkcode AsmCore.global}. */
  readonly symbols: ReadonlyMap<string, bigint>;
  /** Addresses of every named (non-numeric) label. */
  readonly labels: ReadonlyMap<string, bigint>;
  /** Per-statement bytes and text, in order. */
  readonly listing: readonly asm_line[];
}

type stmt =
  | { k: "label"; name: string; text: string }
  | {
    k: "insn";
    name: string;
    ops: operand[];
    mode: code_mode;
    prefixes: number[];
    relax: relax_state;
    text: string;
  }
  | { k: "data"; size: 1 | 2 | 4 | 8; values: expr[]; text: string }
  | { k: "bytes"; bytes: number[]; text: string }
  | { k: "fill"; count: expr; size: number; value: expr; text: string }
  | { k: "align"; n: number; fill?: number; text: string };

const LOCAL_SEP = "\u0002";
const PREFIX_BYTES = {
  lock: 0xf0,
  rep: 0xf3,
  repe: 0xf3,
  repz: 0xf3,
  repne: 0xf2,
  repnz: 0xf2,
} as const;

function fmt(v: asm_value): string {
  return typeof v === "string" ? v : `${v}`;
}

/**
 * The builder's directives and layout; the mnemonic methods are added by
 * {@linkcode assembler}. Use {@linkcode Assembler}, not this class, as the
 * type.
 */
export class AsmCore {
  #stmts: stmt[] = [];
  #mode: code_mode;
  readonly #origin: bigint;
  readonly #consts = new Map<string, expr>();
  readonly #globals = new Set<string>();
  readonly #labels = new Set<string>();
  readonly #local_count = new Map<string, number>();
  #prefixes: number[] = [];
  #force: relax_state["force"];
  #local: local_ref = (n, dir) => {
    const c = this.#local_count.get(n) ?? 0;
    if (dir === "b" && c === 0) throw new AsmError(`"${n}b": no earlier label ${n}`);
    return `${n}${LOCAL_SEP}${dir === "b" ? c : c + 1}`;
  };

  /**
   * An empty builder; prefer {@linkcode assembler}, which types the mnemonic methods.
   *
   * @param opts see {@linkcode assembler_options}
   */
  constructor(opts: assembler_options = {}) {
    this.#origin = BigInt(opts.origin ?? 0);
    this.#mode = opts.mode ?? 64;
    for (const [k, v] of Object.entries(opts.defines ?? {})) {
      this.#define(k, { k: "num", v: BigInt(v) });
    }
  }

  #define(name: string, e: expr): void {
    if (!/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(name)) throw new AsmError(`bad symbol name "${name}"`);
    if (this.#consts.has(name) || this.#labels.has(name)) {
      throw new AsmError(`symbol "${name}" is already defined`);
    }
    this.#consts.set(name, e);
  }

  #parse(v: asm_value): expr {
    if (typeof v === "string") return parse_expr(v, this.#local);
    return { k: "num", v: BigInt(v) };
  }

  /** `.code16`: the following statements run in 16-bit code. */
  code16(): this {
    this.#mode = 16;
    return this;
  }

  /** `.code32`. */
  code32(): this {
    this.#mode = 32;
    return this;
  }

  /** `.code64`. */
  code64(): this {
    this.#mode = 64;
    return this;
  }

  /**
   * `name:` — a label at the current location. A name of digits is a GNU
   * numeric local label, referenced as `1f` (next) or `1b` (previous).
   *
   * @param name the label
   */
  label(name: string): this {
    let key = name;
    if (/^[0-9]+$/.test(name)) {
      const c = (this.#local_count.get(name) ?? 0) + 1;
      this.#local_count.set(name, c);
      key = `${name}${LOCAL_SEP}${c}`;
    } else {
      if (!/^[A-Za-z_.$][A-Za-z0-9_.$]*$/.test(name)) {
        throw new AsmError(`bad label name "${name}"`);
      }
      if (this.#labels.has(name) || this.#consts.has(name)) {
        throw new AsmError(`symbol "${name}" is already defined`);
      }
    }
    this.#labels.add(key);
    this.#stmts.push({ k: "label", name: key, text: `${name}:` });
    return this;
  }

  /**
   * `.globl name`: export the label's address in {@linkcode asm_object.symbols}.
   *
   * @param names labels, defined before or after
   */
  global(...names: string[]): this {
    for (const n of names) this.#globals.add(n);
    return this;
  }

  /**
   * `.set name, value`: a constant (or an expression of labels).
   *
   * @param name the symbol
   * @param value its value or expression text
   */
  set(name: string, value: asm_value): this {
    this.#define(name, this.#parse(value));
    return this;
  }

  #data(size: 1 | 2 | 4 | 8, dir: string, values: asm_value[]): this {
    if (values.length === 0) throw new AsmError(`.${dir} needs a value`);
    const exprs = values.map((v) => this.#parse(v));
    this.#stmts.push({
      k: "data",
      size,
      values: exprs,
      text: `.${dir} ${values.map(fmt).join(", ")}`,
    });
    return this;
  }

  /** `.byte v, ...` */
  byte(...values: asm_value[]): this {
    return this.#data(1, "byte", values);
  }

  /** `.word v, ...` (2 bytes, as on x86). */
  word(...values: asm_value[]): this {
    return this.#data(2, "word", values);
  }

  /** `.long v, ...` (4 bytes). */
  long(...values: asm_value[]): this {
    return this.#data(4, "long", values);
  }

  /** `.quad v, ...` (8 bytes). */
  quad(...values: asm_value[]): this {
    return this.#data(8, "quad", values);
  }

  /**
   * `.ascii "text"`: the UTF-8 bytes of `text`, no terminator.
   *
   * @param text the string (JavaScript escapes already applied)
   */
  ascii(text: string): this {
    const bytes = [...new TextEncoder().encode(text)];
    this.#stmts.push({ k: "bytes", bytes, text: `.ascii ${JSON.stringify(text)}` });
    return this;
  }

  /** `.asciz "text"`: {@linkcode ascii} plus a NUL. */
  asciz(text: string): this {
    const bytes = [...new TextEncoder().encode(text), 0];
    this.#stmts.push({ k: "bytes", bytes, text: `.asciz ${JSON.stringify(text)}` });
    return this;
  }

  /**
   * `.fill repeat, size, value`: `repeat` copies of `value` in `size` bytes
   * (little-endian; sizes above 4 take the value's low 4 bytes, then zeros, as
   * GNU as does).
   */
  fill(repeat: asm_value, size = 1, value: asm_value = 0): this {
    if (!Number.isInteger(size) || size < 0 || size > 8) {
      throw new AsmError(".fill size must be 0-8");
    }
    this.#stmts.push({
      k: "fill",
      count: this.#parse(repeat),
      size,
      value: this.#parse(value),
      text: `.fill ${fmt(repeat)}, ${size}, ${fmt(value)}`,
    });
    return this;
  }

  /** `.skip n, fill` (also `.space`). */
  skip(n: asm_value, fill: asm_value = 0): this {
    this.#stmts.push({
      k: "fill",
      count: this.#parse(n),
      size: 1,
      value: this.#parse(fill),
      text: `.skip ${fmt(n)}, ${fmt(fill)}`,
    });
    return this;
  }

  /**
   * `.align n, fill` (on x86 `n` is a byte count): pad to a multiple of `n`
   * from `origin`'s alignment; without `fill`, with `0x90`.
   */
  align(n: number, fill?: number): this {
    if (!Number.isInteger(n) || n <= 0 || (n & (n - 1)) !== 0) {
      throw new AsmError(".align needs a power of two");
    }
    if (fill !== undefined && (fill < 0 || fill > 255)) {
      throw new AsmError(".align fill is one byte");
    }
    this.#stmts.push({
      k: "align",
      n,
      ...(fill !== undefined ? { fill } : {}),
      text: `.align ${n}`,
    });
    return this;
  }

  /** `.p2align k, fill`: {@linkcode align} to `2**k`. */
  p2align(k: number, fill?: number): this {
    return this.align(2 ** k, fill);
  }

  #prefix(b: number): this {
    this.#prefixes.push(b);
    return this;
  }

  /** `lock` before the next instruction. */
  lock(): this {
    return this.#prefix(PREFIX_BYTES.lock);
  }

  /** `rep` before the next (string) instruction. */
  rep(): this {
    return this.#prefix(PREFIX_BYTES.rep);
  }

  /** `repe`/`repz`. */
  repe(): this {
    return this.#prefix(PREFIX_BYTES.repe);
  }

  /** `repne`/`repnz`. */
  repne(): this {
    return this.#prefix(PREFIX_BYTES.repne);
  }

  /** `{disp8}`: the next `jmp`/`jcc` takes its 2-byte `rel8` form, or the assembly fails. */
  disp8(): this {
    this.#force = "short";
    return this;
  }

  /** `{disp32}`: the next `jmp`/`jcc` takes its near (`rel32`, `.code16`: `rel16`) form. */
  disp32(): this {
    this.#force = "near";
    return this;
  }

  /**
   * One line of AT&T source, as GNU as reads it: `label:`s, `lock`/`rep`/
   * `{disp8}`/`{disp32}` prefixes, an instruction or one of the directives
   * this builder has (`.code16/32/64`, `.globl`/`.global`, `.set`/`.equ`,
   * `.byte`, `.word`/`.short`, `.long`/`.int`, `.quad`, `.ascii`,
   * `.asciz`/`.string`, `.fill`, `.skip`/`.space`, `.align`/`.balign`,
   * `.p2align`; `.text` is accepted and changes nothing). `;` separates
   * statements, `#` and one-line `/* ... *\/` are comments. For porting a
   * `.S` file verbatim; the method calls are the same statements.
   *
   * @param text the line
   */
  line(text: string): this {
    let stmts;
    try {
      stmts = parse_source_line(text);
    } catch (e) {
      throw new AsmError(`${text.trim()}: ${(e as Error).message}`);
    }
    for (const st of stmts) {
      for (const l of st.labels) this.label(l);
      for (const p of st.prefixes) {
        if (p === "{disp8}") this.disp8();
        else if (p === "{disp32}") this.disp32();
        else {this.#prefix(
            PREFIX_BYTES[
              p === "repz" ? "repe" : p === "repnz" ? "repne" : p as keyof typeof PREFIX_BYTES
            ],
          );}
      }
      if (!st.op) continue;
      if (st.op.startsWith(".")) this.#directive(st.op, st.args, text.trim());
      else this.insn(st.op, ...st.args);
    }
    return this;
  }

  #directive(dir: string, args: string[], text: string): void {
    const n = (i: number): number | undefined => {
      const a = args[i];
      if (a === undefined || a === "") return undefined;
      const v = Number(a);
      if (!Number.isInteger(v)) throw new AsmError(`${text}: argument ${i + 1} must be a number`);
      return v;
    };
    const want = (lo: number, hi: number) => {
      if (args.length < lo || args.length > hi) {
        throw new AsmError(`${text}: ${dir} takes ${lo}-${hi} arguments`);
      }
    };
    switch (dir) {
      case ".code16":
      case ".code32":
      case ".code64":
        want(0, 0);
        this.#mode = Number(dir.slice(5)) as code_mode;
        return;
      case ".text":
        return;
      case ".globl":
      case ".global":
        this.global(...args);
        return;
      case ".set":
      case ".equ":
        want(2, 2);
        this.set(args[0]!, args[1]!);
        return;
      case ".byte":
        this.byte(...args);
        return;
      case ".word":
      case ".short":
        this.word(...args);
        return;
      case ".long":
      case ".int":
        this.long(...args);
        return;
      case ".quad":
        this.quad(...args);
        return;
      case ".ascii":
      case ".asciz":
      case ".string":
        for (const a of args) {
          const bytes = parse_string_literal(a);
          if (dir !== ".ascii") bytes.push(0);
          this.#stmts.push({ k: "bytes", bytes, text: `${dir} ${a}` });
        }
        return;
      case ".fill":
        want(1, 3);
        this.fill(args[0]!, n(1) ?? 1, args[2] ?? 0);
        return;
      case ".skip":
      case ".space":
        want(1, 2);
        this.skip(args[0]!, args[1] ?? 0);
        return;
      case ".align":
      case ".balign":
        want(1, 2);
        this.align(n(0)!, n(1));
        return;
      case ".p2align":
        want(1, 2);
        this.p2align(n(0)!, n(1));
        return;
      default:
        throw new AsmError(`${text}: unsupported directive ${dir}`);
    }
  }

  /**
   * One instruction; what every mnemonic method calls.
   *
   * @param name the mnemonic
   * @param operands AT&T operand texts
   */
  insn(name: string, ...operands: string[]): this {
    const text = `${name}${operands.length ? " " + operands.join(", ") : ""}`;
    let ops: operand[];
    try {
      ops = operands.map((o) => parse_operand(o, this.#local));
    } catch (e) {
      throw new AsmError(`${text}: ${(e as Error).message}`);
    }
    if (this.#force && !is_relaxable(name)) {
      throw new AsmError(`${text}: {disp8}/{disp32} apply to jmp and jcc`);
    }
    const relax: relax_state = {
      long: false,
      resolved: false,
      ...(this.#force ? { force: this.#force } : {}),
    };
    const st: stmt = {
      k: "insn",
      name,
      ops,
      mode: this.#mode,
      prefixes: this.#prefixes,
      relax,
      text,
    };
    this.#prefixes = [];
    this.#force = undefined;
    // Encode once now with everything unresolved so that bad operands are
    // reported at the line that wrote them.
    try {
      this.#encode_probe(st);
    } catch (e) {
      if (e instanceof AsmError) throw new AsmError(`${text}: ${e.message}`);
      throw e;
    }
    this.#stmts.push(st);
    return this;
  }

  #encode_probe(st: Extract<stmt, { k: "insn" }>): void {
    const probe: relax_state = { ...st.relax };
    const lookup = (name: string): expr_value => {
      const c = this.#consts.get(name);
      if (c && this.#const_expr(c)) return eval_expr(c, lookup, this.#origin);
      probe.resolved = false;
      return { value: this.#origin, reloc: true };
    };
    const ctx: insn_ctx = {
      mode: st.mode,
      here: this.#origin,
      relax: probe,
      prefixes: st.prefixes,
      value: (e) => eval_expr(e, lookup, this.#origin),
      is_const: (e) => this.#const_expr(e),
    };
    encode_insn(ctx, st.name, st.ops);
  }

  #const_expr(e: expr, seen = new Set<string>()): boolean {
    return expr_is_const(e, (n) => this.#is_const_sym(n, seen));
  }

  #is_const_sym(name: string, seen = new Set<string>()): boolean {
    const c = this.#consts.get(name);
    if (!c || seen.has(name)) return false;
    seen.add(name);
    return this.#const_expr(c, seen);
  }

  /**
   * Lays the statements out and resolves every label.
   *
   * @returns the image, its symbols and a listing
   * @throws AsmError for undefined symbols, out-of-range values or branches
   */
  assemble(): asm_object {
    if (this.#prefixes.length || this.#force) {
      throw new AsmError("a prefix with no instruction after it");
    }
    let prev = new Map<string, bigint>();
    for (let pass = 0; pass < 64; pass++) {
      const cur = new Map<string, bigint>();
      const missing = new Set<string>();
      const listing: asm_line[] = [];
      let off = 0n;
      for (const st of this.#stmts) {
        const here = this.#origin + off;
        let resolved = true;
        const lookup = (name: string, seen: Set<string>): expr_value => {
          const c = this.#consts.get(name);
          if (c) {
            if (seen.has(name)) {
              throw new AsmError(`symbol "${name}" is defined in terms of itself`);
            }
            const v = eval_expr(c, (n) => lookup(n, new Set([...seen, name])), here);
            return { value: v.value, reloc: v.reloc };
          }
          const addr = cur.get(name) ?? prev.get(name);
          if (addr !== undefined) return { value: addr, reloc: true };
          resolved = false;
          missing.add(name);
          return { value: here, reloc: true };
        };
        const value = (e: expr) => eval_expr(e, (n) => lookup(n, new Set()), here);
        let bytes: number[];
        try {
          bytes = this.#layout(st, here, value, () => resolved);
        } catch (e) {
          if (e instanceof AsmError && st.k !== "label") {
            throw new AsmError(`${st.text}: ${e.message}`);
          }
          throw e;
        }
        if (st.k === "label") cur.set(st.name, here);
        listing.push({ addr: here, bytes: Uint8Array.from(bytes), text: st.text });
        off += BigInt(bytes.length);
      }
      // Every label is defined in every pass: a name still unknown at the end of one is undefined.
      const undef = [...missing].filter((n) => !cur.has(n)).map((n) => n.replace(LOCAL_SEP, "#"));
      if (undef.length) throw new AsmError(`undefined symbol(s): ${undef.join(", ")}`);
      if (!missing.size && same(cur, prev)) return this.#result(listing, cur);
      prev = cur;
    }
    throw new AsmError("layout does not converge (a size depends on itself)");
  }

  #layout(
    st: stmt,
    here: bigint,
    value: (e: expr) => expr_value,
    resolved: () => boolean,
  ): number[] {
    switch (st.k) {
      case "label":
        return [];
      case "insn": {
        st.relax.resolved = true;
        const ctx: insn_ctx = {
          mode: st.mode,
          here,
          relax: st.relax,
          prefixes: st.prefixes,
          value: (e) => {
            const v = value(e);
            if (!resolved()) st.relax.resolved = false;
            return v;
          },
          is_const: (e) => this.#const_expr(e),
        };
        return encode_insn(ctx, st.name, st.ops);
      }
      case "data": {
        const out: number[] = [];
        for (const e of st.values) {
          const v = value(e).value;
          if (st.size < 8 && !fits_either(v, st.size * 8)) {
            throw new AsmError(
              `value 0x${BigInt.asUintN(64, v).toString(16)} does not fit ${st.size} byte(s)`,
            );
          }
          out.push(...le_bytes(v, st.size));
        }
        return out;
      }
      case "bytes":
        return st.bytes;
      case "fill": {
        const n = value(st.count).value;
        if (n < 0n || n > 1n << 24n) throw new AsmError(`bad repeat count ${n}`);
        const v = value(st.value).value;
        const one = st.size <= 4
          ? le_bytes(v, st.size)
          : [...le_bytes(v, 4), ...new Array(st.size - 4).fill(0)];
        const out: number[] = [];
        for (let i = 0n; i < n; i++) out.push(...one);
        return out;
      }
      case "align": {
        const pad = Number((BigInt(st.n) - (here % BigInt(st.n))) % BigInt(st.n));
        return new Array(pad).fill(st.fill ?? 0x90);
      }
    }
  }

  #result(listing: asm_line[], labels: Map<string, bigint>): asm_object {
    const size = listing.reduce((n, l) => n + l.bytes.length, 0);
    const bytes = new Uint8Array(size);
    let o = 0;
    for (const l of listing) {
      bytes.set(l.bytes, o);
      o += l.bytes.length;
    }
    const symbols = new Map<string, bigint>();
    for (const g of this.#globals) {
      const v = labels.get(g);
      if (v === undefined) throw new AsmError(`.globl ${g}: no such label`);
      symbols.set(g, v);
    }
    const named = new Map([...labels].filter(([k]) => !k.includes(LOCAL_SEP)));
    return { bytes, origin: this.#origin, symbols, labels: named, listing };
  }
}

function same(a: Map<string, bigint>, b: Map<string, bigint>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

for (const m of MNEMONICS) {
  Object.defineProperty(AsmCore.prototype, m, {
    value: function (this: AsmCore, ...operands: string[]) {
      return this.insn(m, ...operands);
    },
    writable: false,
    enumerable: false,
  });
}

/** The mnemonic methods: `a.movl("$1", "%eax")` is the line `movl $1, %eax`. */
export type AsmInsns = { readonly [K in mnemonic]: (...operands: string[]) => Assembler };

/** The assembler builder: directives from {@linkcode AsmCore}, one method per mnemonic. */
export type Assembler = AsmCore & AsmInsns;

/**
 * A new, empty assembler.
 *
 * @param opts origin, constants and initial mode
 * @returns the builder
 */
export function assembler(opts: assembler_options = {}): Assembler {
  return new AsmCore(opts) as Assembler;
}
