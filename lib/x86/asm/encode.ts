// SPDX-License-Identifier: GPL-2.0-only
/**
 * Instruction encoding: legacy prefixes, REX, opcode, ModRM, SIB,
 * displacement and immediates, in the order GNU as emits them (segment
 * override, `0x67`, `0x66`, `REP`/`LOCK`, REX, opcode).
 *
 * Choices follow GNU as so that bytes compare equal: a segment override equal
 * to the operand's default segment is dropped; a displacement is omitted when
 * it is the constant 0 (except with a `%bp`/`%ebp`/`%r13` base), 8-bit when
 * a constant fits, and full-size when it names a label.
 *
 * @module
 */

import { AsmError } from "./asm_error.ts";
import type { expr, expr_value } from "./expr.ts";
import type { mem_operand, operand } from "./operand.ts";
import { SEG_DS, SEG_PREFIX, SEG_SS, type x86_reg } from "./registers.ts";

/** The code size a statement is assembled for (`.code16/.code32/.code64`). */
export type code_mode = 16 | 32 | 64;

/** What the encoder needs from the assembler while laying out one statement. */
export interface enc_ctx {
  readonly mode: code_mode;
  /** Address of the statement's first byte. */
  readonly here: bigint;
  /** Value of an expression in the current layout pass. */
  value(e: expr): expr_value;
  /** Whether an expression's value is known without layout (no labels). */
  is_const(e: expr): boolean;
}

/** An immediate or displacement field. */
export interface field {
  readonly value: bigint;
  readonly size: 1 | 2 | 4 | 8;
}

/** Everything one instruction is made of, before serialisation. */
export interface insn_parts {
  /** `LOCK`/`REP` bytes, emitted after `0x66` and before REX. */
  prefixes?: number[];
  /** Emit `0x66` (operand-size override). */
  data16?: boolean;
  /** REX.W. */
  rex_w?: boolean;
  opcode: number[];
  /** A register encoded in the low opcode bits (`50+r`): supplies REX.B. */
  opreg?: x86_reg;
  /** The ModRM reg field (a register number 0-15, or a `/digit`). */
  reg?: number;
  /** The ModRM r/m operand. */
  rm?: operand;
  imm?: field[];
  /** Registers whose REX requirement must be checked (byte registers). */
  regs?: x86_reg[];
}

/** Whether `v` fits a signed field of `bits`. */
export function fits_signed(v: bigint, bits: number): boolean {
  const lim = 1n << BigInt(bits - 1);
  return v >= -lim && v < lim;
}

/** Whether `v` fits a field of `bits` as signed or unsigned (GNU as accepts both). */
export function fits_either(v: bigint, bits: number): boolean {
  return fits_signed(v, bits) || (v >= 0n && v < 1n << BigInt(bits));
}

function le(v: bigint, size: number): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
}

/** Memory addressing, once resolved. */
interface mem_enc {
  seg?: number;
  addr32or16: boolean;
  mod: number;
  rm: number;
  sib?: number;
  disp?: field;
  rex_x: boolean;
  rex_b: boolean;
  /** RIP-relative to a label: the displacement is fixed up once the length is known. */
  rip_target?: bigint;
}

const REG16_RM: Record<string, number> = {
  "bx+si": 0,
  "bx+di": 1,
  "bp+si": 2,
  "bp+di": 3,
  "si": 4,
  "di": 5,
  "bp": 6,
  "bx": 7,
};

function addr_size(ctx: enc_ctx, m: mem_operand): 16 | 32 | 64 {
  const regs = [m.base, m.index].filter((r): r is x86_reg => r !== undefined);
  if (regs.length === 0) return ctx.mode;
  const size = regs[0]!.size;
  if (regs.some((r) => r.size !== size)) {
    throw new AsmError("base and index registers differ in size");
  }
  if (size === 8) throw new AsmError(`"%${regs[0]!.name}" cannot address memory`);
  if (ctx.mode === 64 && size === 16) {
    throw new AsmError("16-bit addressing is invalid in 64-bit code");
  }
  if (ctx.mode !== 64 && size === 64) throw new AsmError("64-bit addressing needs .code64");
  if (regs[0]!.kind === "ip" && ctx.mode !== 64) {
    throw new AsmError("RIP-relative addressing needs .code64");
  }
  return size;
}

/** The displacement size GNU as picks: 0, 1 or `full` bytes. */
function disp_field(
  ctx: enc_ctx,
  m: mem_operand,
  full: 2 | 4,
  must: boolean,
): { mod: number; disp?: field } {
  if (!m.disp) return must ? { mod: 1, disp: { value: 0n, size: 1 } } : { mod: 0 };
  const { value } = ctx.value(m.disp);
  if (ctx.is_const(m.disp)) {
    if (value === 0n && !must) return { mod: 0 };
    if (fits_signed(value, 8)) return { mod: 1, disp: { value, size: 1 } };
  }
  return { mod: 2, disp: { value: check_disp(ctx, value, full), size: full } };
}

function check_disp(ctx: enc_ctx, value: bigint, full: 2 | 4): bigint {
  const ok = full === 2
    ? fits_either(value, 16)
    : ctx.mode === 64
    ? fits_signed(value, 32) || (value >= 0n && value < 1n << 32n)
    : fits_either(value, 32);
  if (!ok) throw new AsmError(`displacement 0x${value.toString(16)} out of range`);
  return value;
}

function encode_mem(ctx: enc_ctx, m: mem_operand): mem_enc {
  const asz = addr_size(ctx, m);
  const base = m.base;
  const index = m.index;
  let seg: number | undefined;
  if (m.seg) {
    // GNU as drops an override that names the default segment (SS for a
    // stack-pointer or frame-pointer base, DS otherwise).
    const bp_based = base !== undefined && base.kind === "gp" && (base.num === 4 || base.num === 5);
    const dflt = bp_based ? SEG_SS : SEG_DS;
    if (m.seg.num !== dflt) seg = SEG_PREFIX[m.seg.num];
  }
  const addr_override = asz !== ctx.mode && !(ctx.mode === 64 && asz === 64);
  const common = { addr32or16: addr_override, rex_x: false, rex_b: false };
  if (seg !== undefined) Object.assign(common, { seg });

  if (asz === 16) {
    if (m.scale !== 1) throw new AsmError("16-bit addressing has no scale");
    if (!base && !index) {
      const v = m.disp ? ctx.value(m.disp).value : 0n;
      if (!fits_either(v, 16)) {
        throw new AsmError(`address 0x${v.toString(16)} does not fit 16-bit addressing`);
      }
      return { ...common, mod: 0, rm: 6, disp: { value: v, size: 2 } };
    }
    const key = [base?.name, index?.name].filter((x) => x).join("+");
    const rm = REG16_RM[key];
    if (rm === undefined || (index && index.name !== "si" && index.name !== "di")) {
      throw new AsmError(`(${key.replace("+", ",")}) is not a 16-bit addressing form`);
    }
    const { mod, disp } = disp_field(ctx, m, 2, key === "bp");
    return { ...common, mod, rm, ...(disp ? { disp } : {}) };
  }

  if (base?.kind === "ip") {
    if (index) throw new AsmError("RIP-relative addressing takes no index");
    const e = m.disp;
    if (!e) return { ...common, mod: 0, rm: 5, disp: { value: 0n, size: 4 } };
    const v = ctx.value(e).value;
    if (ctx.is_const(e)) {
      return { ...common, mod: 0, rm: 5, disp: { value: check_disp(ctx, v, 4), size: 4 } };
    }
    return { ...common, mod: 0, rm: 5, disp: { value: 0n, size: 4 }, rip_target: v };
  }

  const sib_scale = { 1: 0, 2: 1, 4: 2, 8: 3 }[m.scale];
  if (!base && !index) {
    const v = m.disp ? ctx.value(m.disp).value : 0n;
    const disp: field = { value: check_disp(ctx, v, 4), size: 4 };
    // 64-bit mode: mod=00 rm=101 is RIP-relative, so an absolute address
    // takes the SIB form with no base and no index.
    if (ctx.mode === 64) return { ...common, mod: 0, rm: 4, sib: 0x25, disp };
    return { ...common, mod: 0, rm: 5, disp };
  }
  if (!base) {
    const v = m.disp ? ctx.value(m.disp).value : 0n;
    return {
      ...common,
      mod: 0,
      rm: 4,
      sib: (sib_scale << 6) | ((index!.num & 7) << 3) | 5,
      disp: { value: check_disp(ctx, v, 4), size: 4 },
      rex_x: index!.num >= 8,
    };
  }
  const need_disp = (base.num & 7) === 5;
  const { mod, disp } = disp_field(ctx, m, 4, need_disp);
  const out: mem_enc = {
    ...common,
    mod,
    rm: base.num & 7,
    rex_b: base.num >= 8,
    ...(disp ? { disp } : {}),
  };
  if (index || (base.num & 7) === 4) {
    out.rm = 4;
    out.sib = (sib_scale << 6) | ((index ? index.num & 7 : 4) << 3) | (base.num & 7);
    out.rex_x = index !== undefined && index.num >= 8;
  }
  return out;
}

/**
 * Serialises an instruction.
 *
 * @param ctx the statement's mode and layout
 * @param p its parts
 * @returns the bytes
 * @throws AsmError when the combination cannot be encoded in this mode
 */
export function encode(ctx: enc_ctx, p: insn_parts): number[] {
  const out: number[] = [];
  let rex = p.rex_w ? 8 : 0;
  let force_rex = false;
  let mem: mem_enc | undefined;
  let modrm: number | undefined;
  const regs = [...(p.regs ?? [])];
  if (p.opreg) {
    regs.push(p.opreg);
    if (p.opreg.num >= 8) rex |= 1;
  }
  if (p.reg !== undefined && p.reg >= 8) rex |= 4;
  if (p.rm) {
    if (p.rm.t === "reg") {
      regs.push(p.rm.r);
      if (p.rm.r.num >= 8) rex |= 1;
      modrm = 0xc0 | (((p.reg ?? 0) & 7) << 3) | (p.rm.r.num & 7);
    } else if (p.rm.t === "mem") {
      mem = encode_mem(ctx, p.rm);
      if (mem.rex_x) rex |= 2;
      if (mem.rex_b) rex |= 1;
      modrm = (mem.mod << 6) | (((p.reg ?? 0) & 7) << 3) | mem.rm;
    } else {
      throw new AsmError("an immediate cannot be a ModRM operand");
    }
  }
  for (const r of regs) if (r.needs_rex) force_rex = true;
  if (rex || force_rex) {
    if (ctx.mode !== 64) throw new AsmError("REX prefix (64-bit register) needs .code64");
    const bad = regs.find((r) => r.no_rex);
    if (bad) throw new AsmError(`"%${bad.name}" cannot be used with a REX prefix`);
  }
  if (mem?.seg !== undefined) out.push(mem.seg);
  if (mem?.addr32or16) out.push(0x67);
  if (p.data16) out.push(0x66);
  if (p.prefixes) out.push(...p.prefixes);
  if (rex || force_rex) out.push(0x40 | rex);
  out.push(...p.opcode);
  if (p.opreg) out[out.length - 1]! += p.opreg.num & 7;
  if (modrm !== undefined) out.push(modrm);
  if (mem?.sib !== undefined) out.push(mem.sib);
  const disp_at = out.length;
  if (mem?.disp) out.push(...le(mem.disp.value, mem.disp.size));
  for (const f of p.imm ?? []) out.push(...le(f.value, f.size));
  if (mem?.rip_target !== undefined) {
    const rel = mem.rip_target - (ctx.here + BigInt(out.length));
    if (!fits_signed(rel, 32)) throw new AsmError("RIP-relative target out of reach");
    out.splice(disp_at, 4, ...le(rel, 4));
  }
  return out;
}

/**
 * Checks an immediate against its field and returns it: values must fit as
 * signed or unsigned (GNU as truncates with a warning; this assembler
 * refuses).
 *
 * @param v the value
 * @param size the field's bytes
 * @param signed_only the field is sign-extended to 64 bits (REX.W imm32)
 */
export function imm_field(v: bigint, size: 1 | 2 | 4 | 8, signed_only = false): field {
  const bits = size * 8;
  if (!(signed_only ? fits_signed(v, bits) : fits_either(v, bits))) {
    throw new AsmError(
      `immediate 0x${BigInt.asUintN(64, v).toString(16)} does not fit ${bits} bits`,
    );
  }
  return { value: v, size };
}

/** Little-endian bytes of a value (helper for data directives). */
export function le_bytes(v: bigint, size: number): number[] {
  return le(v, size);
}
