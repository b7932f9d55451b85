// SPDX-License-Identifier: GPL-2.0-only
/**
 * The instruction table: each AT&T mnemonic the assembler knows, with the
 * encoder of its family. Operands are in AT&T order (sources first,
 * destination last); the suffix `b/w/l/q` sets the operand size, or the
 * register operands do.
 *
 * Encodings follow the Intel SDM (Vol. 2) and, where an instruction has more
 * than one, the form GNU as picks: the `83 /n ib` form for ALU immediates
 * that fit in a signed byte, the accumulator forms otherwise, `40+r`/`48+r`
 * for `inc`/`dec` outside 64-bit code, `D1 /n` for a shift by the constant 1,
 * `CC` for `int $3`, `90+r` for `xchg` with the accumulator, the `moffs` form
 * (`A0`-`A3`) of `mov` between the accumulator and an absolute address
 * outside 64-bit code, and `REX.W C7 /0 id` for `movq` of an immediate that
 * fits in 32 signed bits (`REX.W B8+r io` otherwise).
 *
 * @module
 */

import { AsmError } from "./asm_error.ts";
import {
  type code_mode,
  type enc_ctx,
  encode,
  type field,
  fits_signed,
  imm_field,
  type insn_parts,
  le_bytes,
} from "./encode.ts";
import type { mem_operand, operand, reg_operand } from "./operand.ts";
import { SEG_DS, SEG_PREFIX, type x86_reg } from "./registers.ts";

/** Operand size in bits. */
export type op_size = 8 | 16 | 32 | 64;

/** A statement's branch-relaxation state, kept by the assembler across layout passes. */
export interface relax_state {
  /** The branch needed its long form in an earlier pass (never shrinks back). */
  long: boolean;
  /** Forced form (`{disp8}`/`{disp32}` in GNU as). */
  force?: "short" | "near";
  /** Whether every symbol of the statement was defined in the last pass. */
  resolved: boolean;
}

/** What an encoder gets besides its operands. */
export interface insn_ctx extends enc_ctx {
  readonly relax: relax_state;
  /** `LOCK`/`REP` prefixes written before the mnemonic. */
  readonly prefixes: number[];
}

type encoder = (ctx: insn_ctx, ops: operand[], size: op_size | undefined, name: string) => number[];

interface entry {
  enc: encoder;
  size?: op_size;
}

const SUFFIX: Record<string, op_size> = { b: 8, w: 16, l: 32, q: 64 };

function fail(name: string, ops: operand[], why: string): never {
  throw new AsmError(`${name}: ${why}${ops.length ? "" : " (no operands)"}`);
}

function isreg(o: operand | undefined): o is reg_operand {
  return o?.t === "reg" && o.r.kind === "gp";
}

/** The register of a non-general register operand of `kind` (no narrowing of `o`). */
function special(o: operand | undefined, kind: "seg" | "cr" | "dr"): reg_operand | undefined {
  return o?.t === "reg" && o.r.kind === kind ? o : undefined;
}

function nops(name: string, ops: operand[], ...counts: number[]): void {
  if (!counts.includes(ops.length)) {
    fail(name, ops, `expects ${counts.join(" or ")} operand(s), got ${ops.length}`);
  }
}

/** The operand size: from the suffix, else from the general registers, which must agree. */
function opsize(name: string, ops: operand[], sfx: op_size | undefined): op_size {
  const sizes = ops.filter((o) => isreg(o)).map((o) => (o as reg_operand).r.size);
  if (sfx !== undefined) {
    if (sizes.some((s) => s !== sfx)) fail(name, ops, "operand size does not match the suffix");
    return sfx;
  }
  if (sizes.length === 0) {
    fail(name, ops, "no suffix and no register operand to give the operand size");
  }
  if (sizes.some((s) => s !== sizes[0])) fail(name, ops, "register operands differ in size");
  return sizes[0]!;
}

/** `0x66` and REX.W for an operand size. */
function size_parts(
  ctx: enc_ctx,
  size: op_size,
  default64 = false,
): { data16?: boolean; rex_w?: boolean } {
  if (size === 64) {
    if (ctx.mode !== 64) throw new AsmError("64-bit operand size needs .code64");
    return default64 ? {} : { rex_w: true };
  }
  if (size === 16) return ctx.mode === 16 ? {} : { data16: true };
  if (size === 32) {
    if (default64 && ctx.mode === 64) {
      throw new AsmError("32-bit operand size is invalid here in 64-bit code");
    }
    return ctx.mode === 16 ? { data16: true } : {};
  }
  return {};
}

function imm_size(size: op_size): 1 | 2 | 4 {
  return size === 8 ? 1 : size === 16 ? 2 : 4;
}

/** An immediate for an operand of `size`: REX.W forms sign-extend 32 bits. */
function imm_for(ctx: insn_ctx, o: operand, size: op_size): field {
  if (o.t !== "imm") throw new AsmError("expected an immediate");
  return imm_field(ctx.value(o.e).value, imm_size(size), size === 64);
}

/** Whether an immediate is a constant that fits a sign-extended byte at `size`. */
function imm8_fits(ctx: insn_ctx, o: operand, size: op_size): boolean {
  if (o.t !== "imm" || !ctx.is_const(o.e)) return false;
  const v = ctx.value(o.e).value;
  const bits = size === 64 ? 64 : size;
  return fits_signed(BigInt.asIntN(bits, v), 8) && (size === 64 ? fits_signed(v, 32) : true);
}

function imm8_value(ctx: insn_ctx, o: operand, size: op_size): field {
  const v = ctx.value((o as { e: Parameters<enc_ctx["value"]>[0] }).e).value;
  imm_field(v, imm_size(size), size === 64);
  return { value: BigInt.asIntN(size === 64 ? 64 : size, v), size: 1 };
}

function enc(ctx: insn_ctx, p: insn_parts): number[] {
  if (ctx.prefixes.length) p.prefixes = [...ctx.prefixes, ...(p.prefixes ?? [])];
  return encode(ctx, p);
}

function rm_of(o: operand): operand {
  if (o.t === "imm") throw new AsmError("an immediate cannot be the destination");
  if (o.t === "reg" && o.r.kind !== "gp") {
    throw new AsmError(`"%${o.r.name}" is not a general register`);
  }
  return o;
}

function gp_regs(...ops: operand[]): x86_reg[] {
  return ops.filter((o): o is reg_operand => isreg(o)).map((o) => o.r);
}

// ---- ALU: add or adc sbb and sub xor cmp ----

function alu(n: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 2);
    const [src, dst] = ops as [operand, operand];
    if (src.t === "imm") {
      const size = opsize(name, [dst], sfx);
      const sp = size_parts(ctx, size);
      const acc = isreg(dst) && dst.r.num === 0;
      if (size === 8) {
        const imm = [imm_for(ctx, src, 8)];
        if (acc) return enc(ctx, { ...sp, opcode: [n * 8 + 4], imm, regs: gp_regs(dst) });
        return enc(ctx, { ...sp, opcode: [0x80], reg: n, rm: rm_of(dst), imm });
      }
      if (imm8_fits(ctx, src, size)) {
        return enc(ctx, {
          ...sp,
          opcode: [0x83],
          reg: n,
          rm: rm_of(dst),
          imm: [imm8_value(ctx, src, size)],
        });
      }
      const imm = [imm_for(ctx, src, size)];
      if (acc) return enc(ctx, { ...sp, opcode: [n * 8 + 5], imm });
      return enc(ctx, { ...sp, opcode: [0x81], reg: n, rm: rm_of(dst), imm });
    }
    const size = opsize(name, ops, sfx);
    const sp = size_parts(ctx, size);
    const w = size === 8 ? 0 : 1;
    if (isreg(src)) {
      return enc(ctx, {
        ...sp,
        opcode: [n * 8 + w],
        reg: src.r.num,
        rm: rm_of(dst),
        regs: gp_regs(src),
      });
    }
    if (isreg(dst)) {
      return enc(ctx, {
        ...sp,
        opcode: [n * 8 + 2 + w],
        reg: dst.r.num,
        rm: src,
        regs: gp_regs(dst),
      });
    }
    fail(name, ops, "needs a register or an immediate source");
  };
}

const test: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 2);
  const [src, dst] = ops as [operand, operand];
  if (src.t === "imm") {
    const size = opsize(name, [dst], sfx);
    const sp = size_parts(ctx, size);
    const w = size === 8 ? 0 : 1;
    const imm = [imm_for(ctx, src, size)];
    if (isreg(dst) && dst.r.num === 0) {
      return enc(ctx, { ...sp, opcode: [0xa8 + w], imm, regs: gp_regs(dst) });
    }
    return enc(ctx, { ...sp, opcode: [0xf6 + w], reg: 0, rm: rm_of(dst), imm });
  }
  const size = opsize(name, ops, sfx);
  const sp = size_parts(ctx, size);
  const w = size === 8 ? 0 : 1;
  const [r, m] = isreg(src) ? [src, dst] : [dst, src];
  if (!isreg(r)) fail(name, ops, "needs a register operand");
  return enc(ctx, { ...sp, opcode: [0x84 + w], reg: r.r.num, rm: rm_of(m), regs: gp_regs(r) });
};

// ---- MOV ----

/** The `moffs` form's segment prefix and address bytes, if `m` is an absolute address outside 64-bit code. */
function moffs(ctx: insn_ctx, m: mem_operand): { seg: number[]; addr: number[] } | undefined {
  if (ctx.mode === 64 || m.base || m.index) return undefined;
  const seg = m.seg && m.seg.num !== SEG_DS ? [SEG_PREFIX[m.seg.num]!] : [];
  const v = m.disp ? ctx.value(m.disp).value : 0n;
  const size = ctx.mode === 16 ? 2 : 4;
  return { seg, addr: le_bytes(imm_field(v, size).value, size) };
}

const mov: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 2);
  const [src, dst] = ops as [operand, operand];
  // Control and debug registers: always the mode's full width, no prefix.
  for (const [k, to, from] of [["cr", 0x22, 0x20], ["dr", 0x23, 0x21]] as const) {
    const sp_reg = special(dst, k) ?? special(src, k);
    if (sp_reg) {
      const to_special = sp_reg === dst;
      const gp = to_special ? src : dst;
      if (!isreg(gp)) fail(name, ops, `%${k} moves only to or from a general register`);
      if (gp.r.size !== (ctx.mode === 64 ? 64 : 32)) {
        fail(name, ops, `needs a ${ctx.mode === 64 ? 64 : 32}-bit general register`);
      }
      if (sfx !== undefined && sfx !== gp.r.size) fail(name, ops, "suffix does not match");
      return enc(ctx, { opcode: [0x0f, to_special ? to : from], reg: sp_reg.r.num, rm: gp });
    }
  }
  const dseg = special(dst, "seg");
  if (dseg) {
    if (src.t === "imm" || (src.t === "reg" && src.r.kind !== "gp")) fail(name, ops, "bad source");
    return enc(ctx, { opcode: [0x8e], reg: dseg.r.num, rm: src });
  }
  const sseg = special(src, "seg");
  if (sseg) {
    if (dst.t === "mem") {
      if (sfx !== undefined && sfx !== 16) fail(name, ops, "a segment register stores 16 bits");
      return enc(ctx, { opcode: [0x8c], reg: sseg.r.num, rm: dst });
    }
    if (!isreg(dst)) fail(name, ops, "bad destination");
    // GNU as writes no REX.W for a 64-bit destination (the upper bits are zeroed either way).
    const size = opsize(name, [dst], sfx);
    return enc(ctx, {
      ...size_parts(ctx, size === 64 ? 32 : size),
      opcode: [0x8c],
      reg: sseg.r.num,
      rm: dst,
    });
  }
  if (src.t === "imm") {
    const size = opsize(name, [dst], sfx);
    const sp = size_parts(ctx, size);
    const w = size === 8 ? 0 : 1;
    if (isreg(dst)) {
      if (size === 64) {
        const v = ctx.value(src.e).value;
        if (!ctx.is_const(src.e) || fits_signed(v, 32)) {
          return enc(ctx, { ...sp, opcode: [0xc7], reg: 0, rm: dst, imm: [imm_field(v, 4, true)] });
        }
        return enc(ctx, { ...sp, opcode: [0xb8], opreg: dst.r, imm: [imm_field(v, 8)] });
      }
      return enc(ctx, {
        ...sp,
        opcode: [w ? 0xb8 : 0xb0],
        opreg: dst.r,
        imm: [imm_for(ctx, src, size)],
      });
    }
    return enc(ctx, {
      ...sp,
      opcode: [0xc6 + w],
      reg: 0,
      rm: rm_of(dst),
      imm: [imm_for(ctx, src, size)],
    });
  }
  const size = opsize(name, ops, sfx);
  const sp = size_parts(ctx, size);
  const w = size === 8 ? 0 : 1;
  const acc = isreg(src) && src.r.num === 0 ? src : isreg(dst) && dst.r.num === 0 ? dst : undefined;
  const abs = dst.t === "mem" ? dst : src.t === "mem" ? src : undefined;
  const m = acc && abs && acc.r.size !== 64 ? moffs(ctx, abs) : undefined;
  if (m) {
    const op = (abs === dst ? 0xa2 : 0xa0) + w;
    return [...m.seg, ...(sp.data16 ? [0x66] : []), ...ctx.prefixes, op, ...m.addr];
  }
  if (isreg(src)) {
    return enc(ctx, {
      ...sp,
      opcode: [0x88 + w],
      reg: src.r.num,
      rm: rm_of(dst),
      regs: gp_regs(src),
    });
  }
  if (isreg(dst)) {
    return enc(ctx, { ...sp, opcode: [0x8a + w], reg: dst.r.num, rm: src, regs: gp_regs(dst) });
  }
  fail(name, ops, "needs a register or an immediate source");
};

function movx(op: number, src_size: op_size | undefined, dst_size: op_size | undefined): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 2);
    const [src, dst] = ops as [operand, operand];
    if (!isreg(dst)) fail(name, ops, "the destination must be a register");
    const ss = src_size ?? (isreg(src) ? src.r.size : undefined);
    if (ss === undefined) {
      fail(name, ops, "give the source size with a suffix (movzbl, movswq, ...)");
    }
    if (isreg(src) && src.r.size !== ss) fail(name, ops, "source size does not match the mnemonic");
    const ds = dst_size ?? dst.r.size;
    if (dst.r.size !== ds) fail(name, ops, "destination size does not match the mnemonic");
    if (ds <= ss) fail(name, ops, "the destination must be wider than the source");
    const opcode = op === 0x63 ? [0x63] : [0x0f, op + (ss === 16 ? 1 : 0)];
    if (op === 0x63 && ss !== 32) fail(name, ops, "movslq extends 32 bits");
    return enc(ctx, {
      ...size_parts(ctx, ds),
      opcode,
      reg: dst.r.num,
      rm: rm_of(src),
      regs: gp_regs(src, dst),
    });
  };
}

const lea: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 2);
  const [src, dst] = ops as [operand, operand];
  if (src.t !== "mem" || !isreg(dst)) {
    fail(name, ops, "takes a memory source and a register destination");
  }
  const size = opsize(name, [dst], sfx);
  if (size === 8) fail(name, ops, "no byte form");
  return enc(ctx, { ...size_parts(ctx, size), opcode: [0x8d], reg: dst.r.num, rm: src });
};

// ---- stack ----

function stack_size(ctx: enc_ctx, sfx: op_size | undefined, reg?: x86_reg): op_size {
  const s = reg?.size ?? sfx ?? (ctx.mode === 64 ? 64 : ctx.mode);
  if (reg && sfx !== undefined && sfx !== reg.size) {
    throw new AsmError("suffix does not match the register");
  }
  if (s === 8) throw new AsmError("no byte form of a stack operation");
  return s;
}

const SEG_PUSH: Record<string, number[]> = {
  es: [0x06],
  cs: [0x0e],
  ss: [0x16],
  ds: [0x1e],
  fs: [0x0f, 0xa0],
  gs: [0x0f, 0xa8],
};
const SEG_POP: Record<string, number[]> = {
  es: [0x07],
  ss: [0x17],
  ds: [0x1f],
  fs: [0x0f, 0xa1],
  gs: [0x0f, 0xa9],
};

function pushpop(is_push: boolean): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1);
    const o = ops[0]!;
    const seg = special(o, "seg");
    if (seg) {
      const op = (is_push ? SEG_PUSH : SEG_POP)[seg.r.name];
      if (!op || (ctx.mode === 64 && op.length === 1)) {
        fail(name, ops, `%${seg.r.name} is invalid here`);
      }
      const size = stack_size(ctx, sfx);
      return enc(ctx, { ...size_parts(ctx, size, true), opcode: op });
    }
    if (isreg(o)) {
      const size = stack_size(ctx, sfx, o.r);
      return enc(ctx, {
        ...size_parts(ctx, size, true),
        opcode: [is_push ? 0x50 : 0x58],
        opreg: o.r,
      });
    }
    const size = stack_size(ctx, sfx);
    if (o.t === "imm") {
      if (!is_push) fail(name, ops, "cannot pop into an immediate");
      if (imm8_fits(ctx, o, size)) {
        return enc(ctx, {
          ...size_parts(ctx, size, true),
          opcode: [0x6a],
          imm: [imm8_value(ctx, o, size)],
        });
      }
      return enc(ctx, {
        ...size_parts(ctx, size, true),
        opcode: [0x68],
        imm: [imm_for(ctx, o, size)],
      });
    }
    if (o.t !== "mem") fail(name, ops, "bad operand");
    return enc(ctx, {
      ...size_parts(ctx, size, true),
      opcode: [is_push ? 0xff : 0x8f],
      reg: is_push ? 6 : 0,
      rm: o,
    });
  };
}

function flags_op(op: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 0);
    const size = stack_size(ctx, sfx);
    return enc(ctx, { ...size_parts(ctx, size, true), opcode: [op] });
  };
}

// ---- branches ----

function branch_target(name: string, ops: operand[]): Parameters<enc_ctx["value"]>[0] {
  const o = ops[0]!;
  if (o.t !== "mem" || o.star || o.base || o.index || o.seg || !o.disp) {
    fail(name, ops, "expects a label or an address");
  }
  return o.disp;
}

function rel(ctx: insn_ctx, target: bigint, len: number, size: 1 | 2 | 4): field {
  const r = target - (ctx.here + BigInt(len));
  if (!fits_signed(r, size * 8)) {
    if (!ctx.relax.resolved) return { value: 0n, size };
    throw new AsmError(`branch target out of rel${size * 8} reach (${r})`);
  }
  return { value: r, size };
}

/** Near `jmp` (`cc` undefined) or `jcc`: rel8 when it fits and the target is a label. */
function near_branch(cc: number | undefined): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 1);
    if (cc === undefined && ops[0]!.t !== "imm" && (ops[0]!.star || ops[0]!.t === "reg")) {
      return indirect(4)(ctx, ops, _sfx, name);
    }
    const e = branch_target(name, ops);
    const t = ctx.value(e).value;
    const short_op = cc === undefined ? [0xeb] : [0x70 + cc];
    const near_op = cc === undefined ? [0xe9] : [0x0f, 0x80 + cc];
    const relsz = ctx.mode === 16 ? 2 : 4;
    const pre = ctx.prefixes;
    if (ctx.relax.force === "short") {
      return [...pre, ...short_op, ...le_bytes(rel(ctx, t, pre.length + 2, 1).value, 1)];
    }
    const relaxable = !ctx.is_const(e) && ctx.relax.force !== "near";
    if (relaxable && !ctx.relax.long) {
      const r = t - (ctx.here + BigInt(pre.length + 2));
      if (fits_signed(r, 8) || !ctx.relax.resolved) {
        return [...pre, ...short_op, ...le_bytes(fits_signed(r, 8) ? r : 0n, 1)];
      }
      ctx.relax.long = true;
    }
    const len = pre.length + near_op.length + relsz;
    return [...pre, ...near_op, ...le_bytes(rel(ctx, t, len, relsz).value, relsz)];
  };
}

function rel8_only(op: number[], needs?: (mode: code_mode) => number[]): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 1);
    const t = ctx.value(branch_target(name, ops)).value;
    const pre = [...ctx.prefixes, ...(needs ? needs(ctx.mode) : [])];
    const len = pre.length + op.length + 1;
    return [...pre, ...op, ...le_bytes(rel(ctx, t, len, 1).value, 1)];
  };
}

function indirect(digit: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1);
    const o = ops[0]!;
    if (o.t === "imm") fail(name, ops, "an immediate is not a branch target");
    if (!o.star) fail(name, ops, "an indirect branch is written with '*'");
    const size = stack_size(ctx, sfx, isreg(o) ? o.r : undefined);
    return enc(ctx, { ...size_parts(ctx, size, true), opcode: [0xff], reg: digit, rm: rm_of(o) });
  };
}

const call: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 1);
  if (ops[0]!.t !== "imm" && (ops[0]!.star || ops[0]!.t === "reg")) {
    return indirect(2)(ctx, ops, sfx, name);
  }
  const t = ctx.value(branch_target(name, ops)).value;
  const relsz = ctx.mode === 16 ? 2 : 4;
  return [
    ...ctx.prefixes,
    0xe8,
    ...le_bytes(rel(ctx, t, ctx.prefixes.length + 1 + relsz, relsz).value, relsz),
  ];
};

function far(direct_op: number, digit: number): encoder {
  return (ctx, ops, sfx, name) => {
    if (ops.length === 2) {
      const [sel, off] = ops as [operand, operand];
      if (sel.t !== "imm" || off.t !== "imm") fail(name, ops, "takes $selector, $offset");
      if (ctx.mode === 64) fail(name, ops, "a direct far transfer is invalid in 64-bit code");
      const size = sfx ?? ctx.mode;
      if (size !== 16 && size !== 32) fail(name, ops, "bad suffix");
      const sp = size_parts(ctx, size);
      return enc(ctx, {
        ...sp,
        opcode: [direct_op],
        imm: [imm_for(ctx, off, size), imm_for(ctx, sel, 16)],
      });
    }
    nops(name, ops, 1, 2);
    const o = ops[0]!;
    if (o.t !== "mem" || !o.star) fail(name, ops, "takes *mem or $selector, $offset");
    const size = sfx ?? (ctx.mode === 16 ? 16 : 32);
    // REX.W FF /5 (m16:64) exists on Intel only; GNU as has no suffix for it.
    if (size === 64 || size === 8) fail(name, ops, "takes the w or l suffix (m16:16 or m16:32)");
    return enc(ctx, { ...size_parts(ctx, size), opcode: [0xff], reg: digit, rm: o });
  };
}

function ret(near: boolean): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 0, 1);
    const base = near ? 0xc3 : 0xcb;
    const sp = near
      ? size_parts(ctx, stack_size(ctx, sfx), true)
      : size_parts(ctx, sfx ?? (ctx.mode === 16 ? 16 : 32));
    if (ops.length === 0) return enc(ctx, { ...sp, opcode: [base] });
    return enc(ctx, { ...sp, opcode: [base - 1], imm: [imm_for(ctx, ops[0]!, 16)] });
  };
}

const iret: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 0);
  return enc(ctx, { ...size_parts(ctx, sfx ?? (ctx.mode === 16 ? 16 : 32)), opcode: [0xcf] });
};

// ---- unary, shifts, misc ALU ----

function incdec(digit: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1);
    const o = ops[0]!;
    const size = opsize(name, ops, sfx);
    const sp = size_parts(ctx, size);
    if (ctx.mode !== 64 && isreg(o) && size !== 8) {
      return enc(ctx, { ...sp, opcode: [digit === 0 ? 0x40 : 0x48], opreg: o.r });
    }
    return enc(ctx, { ...sp, opcode: [size === 8 ? 0xfe : 0xff], reg: digit, rm: rm_of(o) });
  };
}

function group3(digit: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1);
    const size = opsize(name, ops, sfx);
    return enc(ctx, {
      ...size_parts(ctx, size),
      opcode: [size === 8 ? 0xf6 : 0xf7],
      reg: digit,
      rm: rm_of(ops[0]!),
    });
  };
}

const imul: encoder = (ctx, ops, sfx, name) => {
  if (ops.length === 1) return group3(5)(ctx, ops, sfx, name);
  nops(name, ops, 1, 2, 3);
  let [imm, src, dst] = ops.length === 3
    ? ops as [operand, operand, operand]
    : [undefined, ops[0]!, ops[1]!];
  if (ops.length === 2 && src.t === "imm") [imm, src] = [src, dst];
  if (!isreg(dst)) fail(name, ops, "the destination must be a register");
  const size = opsize(name, [dst, ...(isreg(src) ? [src] : [])], sfx);
  if (size === 8) fail(name, ops, "no byte form with more than one operand");
  const sp = size_parts(ctx, size);
  if (!imm) return enc(ctx, { ...sp, opcode: [0x0f, 0xaf], reg: dst.r.num, rm: rm_of(src) });
  if (imm8_fits(ctx, imm, size)) {
    return enc(ctx, {
      ...sp,
      opcode: [0x6b],
      reg: dst.r.num,
      rm: rm_of(src),
      imm: [imm8_value(ctx, imm, size)],
    });
  }
  return enc(ctx, {
    ...sp,
    opcode: [0x69],
    reg: dst.r.num,
    rm: rm_of(src),
    imm: [imm_for(ctx, imm, size)],
  });
};

function shift(digit: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1, 2);
    const dst = ops[ops.length - 1]!;
    const size = opsize(name, [dst], sfx);
    const sp = size_parts(ctx, size);
    const w = size === 8 ? 0 : 1;
    const cnt = ops.length === 2 ? ops[0]! : undefined;
    if (!cnt) return enc(ctx, { ...sp, opcode: [0xd0 + w], reg: digit, rm: rm_of(dst) });
    if (cnt.t === "reg") {
      if (cnt.r.name !== "cl") fail(name, ops, "the count register is %cl");
      return enc(ctx, { ...sp, opcode: [0xd2 + w], reg: digit, rm: rm_of(dst) });
    }
    if (cnt.t !== "imm") fail(name, ops, "the count is $imm8 or %cl");
    if (ctx.is_const(cnt.e) && ctx.value(cnt.e).value === 1n) {
      return enc(ctx, { ...sp, opcode: [0xd0 + w], reg: digit, rm: rm_of(dst) });
    }
    return enc(ctx, {
      ...sp,
      opcode: [0xc0 + w],
      reg: digit,
      rm: rm_of(dst),
      imm: [imm_for(ctx, cnt, 8)],
    });
  };
}

const xchg: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 2);
  const [a, b] = ops as [operand, operand];
  const size = opsize(name, ops, sfx);
  const sp = size_parts(ctx, size);
  if (isreg(a) && isreg(b) && size !== 8) {
    const other = a.r.num === 0 ? b : b.r.num === 0 ? a : undefined;
    // In 64-bit code `90` is NOP, not a 32-bit exchange that zero-extends.
    // GNU as writes `xchg %rax, %rax` as plain NOP.
    if (other && size === 64 && other.r.num === 0) return enc(ctx, { opcode: [0x90] });
    if (other && !(ctx.mode === 64 && size === 32 && other.r.num === 0)) {
      return enc(ctx, { ...sp, opcode: [0x90], opreg: other.r });
    }
  }
  const [r, m] = isreg(a) ? [a, b] : [b, a];
  if (!isreg(r)) fail(name, ops, "needs a register operand");
  return enc(ctx, {
    ...sp,
    opcode: [size === 8 ? 0x86 : 0x87],
    reg: r.r.num,
    rm: rm_of(m),
    regs: gp_regs(a, b),
  });
};

function bt(digit: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 2);
    const [src, dst] = ops as [operand, operand];
    const size = opsize(name, ops, sfx);
    if (size === 8) fail(name, ops, "no byte form");
    const sp = size_parts(ctx, size);
    if (src.t === "imm") {
      return enc(ctx, {
        ...sp,
        opcode: [0x0f, 0xba],
        reg: digit,
        rm: rm_of(dst),
        imm: [imm_for(ctx, src, 8)],
      });
    }
    if (!isreg(src)) fail(name, ops, "the bit offset is a register or $imm8");
    return enc(ctx, {
      ...sp,
      opcode: [0x0f, 0xa3 + (digit - 4) * 8],
      reg: src.r.num,
      rm: rm_of(dst),
    });
  };
}

/** `0F op /r` with the destination register in ModRM.reg (bsf, bsr, cmovcc). */
function reg_dst(op: number[], no_byte = true): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 2);
    const [src, dst] = ops as [operand, operand];
    if (!isreg(dst)) fail(name, ops, "the destination must be a register");
    const size = opsize(name, ops, sfx);
    if (no_byte && size === 8) fail(name, ops, "no byte form");
    return enc(ctx, { ...size_parts(ctx, size), opcode: op, reg: dst.r.num, rm: rm_of(src) });
  };
}

/** `0F op /r` with the source register in ModRM.reg (xadd, cmpxchg); `op` is the byte form. */
function reg_src(op: number[]): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 2);
    const [src, dst] = ops as [operand, operand];
    if (!isreg(src)) fail(name, ops, "the source must be a register");
    const size = opsize(name, ops, sfx);
    const o = [...op.slice(0, -1), op[op.length - 1]! + (size === 8 ? 0 : 1)];
    return enc(ctx, {
      ...size_parts(ctx, size),
      opcode: o,
      reg: src.r.num,
      rm: rm_of(dst),
      regs: gp_regs(src, dst),
    });
  };
}

function setcc(cc: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1);
    if (opsize(name, ops, sfx ?? 8) !== 8) fail(name, ops, "takes a byte operand");
    return enc(ctx, {
      opcode: [0x0f, 0x90 + cc],
      reg: 0,
      rm: rm_of(ops[0]!),
      regs: gp_regs(...ops),
    });
  };
}

// ---- port I/O and strings ----

function is_dx(o: operand | undefined): boolean {
  if (!o) return false;
  if (o.t === "reg") return o.r.name === "dx";
  return o.t === "mem" && o.base?.name === "dx" && !o.disp && !o.index && !o.seg;
}

function io(is_in: boolean): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1, 2);
    const port = is_in ? ops[0]! : ops[ops.length - 1]!;
    const acc = ops.length === 2 ? (is_in ? ops[1]! : ops[0]!) : undefined;
    if (acc && (!isreg(acc) || acc.r.num !== 0 || acc.r.size === 64)) {
      fail(name, ops, "the data register is %al, %ax or %eax");
    }
    const size = acc ? opsize(name, [acc], sfx) : sfx;
    if (size === undefined || size === 64) fail(name, ops, "give %al/%ax/%eax or a b/w/l suffix");
    const w = size === 8 ? 0 : 1;
    const sp = size_parts(ctx, size);
    if (is_dx(port)) return enc(ctx, { ...sp, opcode: [(is_in ? 0xec : 0xee) + w] });
    if (port.t !== "imm") fail(name, ops, "the port is $imm8 or %dx");
    return enc(ctx, { ...sp, opcode: [(is_in ? 0xe4 : 0xe6) + w], imm: [imm_for(ctx, port, 8)] });
  };
}

function string_op(op: number): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 0);
    if (sfx === undefined) fail(name, ops, "needs a b/w/l/q suffix");
    return enc(ctx, { ...size_parts(ctx, sfx), opcode: [op + (sfx === 8 ? 0 : 1)] });
  };
}

// ---- system ----

function fixed(bytes: number[], modes: code_mode[] = [16, 32, 64]): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 0);
    if (!modes.includes(ctx.mode)) fail(name, ops, `invalid in ${ctx.mode}-bit code`);
    return [...ctx.prefixes, ...bytes];
  };
}

function sized_fixed(op: number, size: op_size): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 0);
    return enc(ctx, { ...size_parts(ctx, size), opcode: [op] });
  };
}

/** `0F 01 /digit` and friends: a memory operand only (lgdt, lidt, sgdt, sidt, invlpg). */
function mem_only(op: number[], digit: number, table_size = false): encoder {
  return (ctx, ops, sfx, name) => {
    nops(name, ops, 1);
    const o = ops[0]!;
    if (o.t !== "mem") fail(name, ops, "takes a memory operand");
    let sp = {};
    if (table_size && sfx !== undefined) {
      const dflt = ctx.mode === 64 ? 64 : ctx.mode;
      if (sfx !== dflt) {
        if (ctx.mode === 64 || sfx === 64) fail(name, ops, "bad suffix");
        sp = { data16: true };
      }
    }
    return enc(ctx, { ...sp, opcode: op, reg: digit, rm: o });
  };
}

/**
 * `0F 00 /digit` with a register or 16-bit memory operand (lldt, ltr, sldt,
 * str). The stores take the operand size of their register destination.
 */
function sys16(digit: number, store: boolean): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 1);
    const o = ops[0]!;
    if (o.t === "imm") fail(name, ops, "takes a register or memory operand");
    const sp = store && isreg(o) ? size_parts(ctx, o.r.size) : {};
    return enc(ctx, { ...sp, opcode: [0x0f, 0x00], reg: digit, rm: rm_of(o) });
  };
}

const int: encoder = (ctx, ops, _sfx, name) => {
  nops(name, ops, 1);
  const o = ops[0]!;
  if (o.t !== "imm") fail(name, ops, "takes $vector");
  const v = imm_for(ctx, o, 8);
  // GNU as writes `int $3` as the one-byte INT3.
  if (ctx.is_const(o.e) && v.value === 3n) return [...ctx.prefixes, 0xcc];
  return [...ctx.prefixes, 0xcd, ...le_bytes(v.value, 1)];
};

/**
 * `movabs`: `REX.W B8+r io` for an immediate into a 64-bit register, or the
 * `A0`-`A3` forms with a 64-bit absolute address (64-bit code only).
 */
const movabs: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 2);
  if (ctx.mode !== 64) fail(name, ops, "needs .code64");
  const [src, dst] = ops as [operand, operand];
  if (src.t === "imm") {
    if (!isreg(dst) || dst.r.size !== 64) {
      fail(name, ops, "loads an immediate into a 64-bit register");
    }
    if (sfx !== undefined && sfx !== 64) fail(name, ops, "suffix does not match");
    return enc(ctx, {
      rex_w: true,
      opcode: [0xb8],
      opreg: dst.r,
      imm: [imm_field(ctx.value(src.e).value, 8)],
    });
  }
  const [acc, abs, op] = isreg(dst) ? [dst, src, 0xa0] : [src, dst, 0xa2];
  if (!isreg(acc) || acc.r.num !== 0 || abs.t !== "mem" || abs.base || abs.index) {
    fail(name, ops, "moves between an absolute address and %al/%ax/%eax/%rax");
  }
  const size = opsize(name, [acc], sfx);
  const seg = abs.seg && abs.seg.num !== SEG_DS ? [SEG_PREFIX[abs.seg.num]!] : [];
  const addr = abs.disp ? ctx.value(abs.disp).value : 0n;
  const bytes = enc(ctx, {
    ...size_parts(ctx, size),
    opcode: [op + (size === 8 ? 0 : 1)],
    imm: [imm_field(addr, 8)],
  });
  return [...seg, ...bytes];
};

/** `nop` (`90`), or the multi-byte `nopw/nopl/nopq r/m` (`0F 1F /0`). */
const nop: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 0, 1);
  if (ops.length === 0) {
    if (sfx !== undefined) fail(name, ops, "the suffixed form takes an operand");
    return [...ctx.prefixes, 0x90];
  }
  const size = opsize(name, ops, sfx);
  if (size === 8) fail(name, ops, "no byte form");
  return enc(ctx, { ...size_parts(ctx, size), opcode: [0x0f, 0x1f], reg: 0, rm: rm_of(ops[0]!) });
};

/** `enter $frame_size, $nesting`. */
const enter: encoder = (ctx, ops, sfx, name) => {
  nops(name, ops, 2);
  const [size_op, level] = ops as [operand, operand];
  const sp = size_parts(ctx, stack_size(ctx, sfx), true);
  return enc(ctx, {
    ...sp,
    opcode: [0xc8],
    imm: [imm_for(ctx, size_op, 16), imm_for(ctx, level, 8)],
  });
};

/** `cmpxchg8b`/`cmpxchg16b mem`: `0F C7 /1`, REX.W for 16 bytes. */
function cmpxchgNb(wide: boolean): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 1);
    const o = ops[0]!;
    if (o.t !== "mem") fail(name, ops, "takes a memory operand");
    if (wide && ctx.mode !== 64) fail(name, ops, "needs .code64");
    return enc(ctx, { ...(wide ? { rex_w: true } : {}), opcode: [0x0f, 0xc7], reg: 1, rm: o });
  };
}

/** `lmsw r/m16` (`0F 01 /6`) and `smsw` (`0F 01 /4`, a register destination takes its size). */
function msw(digit: number): encoder {
  return (ctx, ops, _sfx, name) => {
    nops(name, ops, 1);
    const o = ops[0]!;
    if (o.t === "imm") fail(name, ops, "takes a register or memory operand");
    const sp = digit === 4 && isreg(o) ? size_parts(ctx, o.r.size) : {};
    return enc(ctx, { ...sp, opcode: [0x0f, 0x01], reg: digit, rm: rm_of(o) });
  };
}

// ---- the table ----

/** Condition codes, by the names GNU as accepts after `j`, `set` and `cmov`. */
export const CONDITIONS = {
  o: 0,
  no: 1,
  b: 2,
  c: 2,
  nae: 2,
  ae: 3,
  nb: 3,
  nc: 3,
  e: 4,
  z: 4,
  ne: 5,
  nz: 5,
  be: 6,
  na: 6,
  a: 7,
  nbe: 7,
  s: 8,
  ns: 9,
  p: 10,
  pe: 10,
  np: 11,
  po: 11,
  l: 12,
  nge: 12,
  ge: 13,
  nl: 13,
  le: 14,
  ng: 14,
  g: 15,
  nle: 15,
} as const;

/** A condition name. */
export type condition = keyof typeof CONDITIONS;

/** Mnemonics that take a `b/w/l/q` suffix (or none, with register operands). */
export const SIZED_MNEMONICS = [
  "add",
  "or",
  "adc",
  "sbb",
  "and",
  "sub",
  "xor",
  "cmp",
  "test",
  "mov",
  "lea",
  "inc",
  "dec",
  "not",
  "neg",
  "mul",
  "imul",
  "div",
  "idiv",
  "rol",
  "ror",
  "rcl",
  "rcr",
  "shl",
  "sal",
  "shr",
  "sar",
  "xchg",
  "bt",
  "bts",
  "btr",
  "btc",
  "bsf",
  "bsr",
  "xadd",
  "cmpxchg",
  "push",
  "pop",
  "in",
  "out",
  "call",
  "jmp",
  "ljmp",
  "lcall",
  "ret",
  "lret",
  "iret",
  "lgdt",
  "lidt",
  "sgdt",
  "sidt",
  "movs",
  "stos",
  "lods",
  "cmps",
  "scas",
  "ins",
  "outs",
  "pushf",
  "popf",
  "nop",
  "movabs",
  "enter",
] as const;

/** Mnemonics written without a suffix. */
export const PLAIN_MNEMONICS = [
  "movzx",
  "movsx",
  "movzbw",
  "movzbl",
  "movzbq",
  "movzwl",
  "movzwq",
  "movsbw",
  "movsbl",
  "movsbq",
  "movswl",
  "movswq",
  "movslq",
  "cbtw",
  "cwtl",
  "cltq",
  "cwtd",
  "cltd",
  "cqto",
  "loop",
  "loope",
  "loopne",
  "jcxz",
  "jecxz",
  "jrcxz",
  "hlt",
  "cpuid",
  "rdmsr",
  "wrmsr",
  "rdtsc",
  "rdtscp",
  "rdpmc",
  "cli",
  "sti",
  "clc",
  "stc",
  "cld",
  "std",
  "cmc",
  "pause",
  "int",
  "int1",
  "int3",
  "into",
  "ud2",
  "vmcall",
  "vmmcall",
  "tdcall",
  "seamcall",
  "wbinvd",
  "invd",
  "invlpg",
  "clflush",
  "xgetbv",
  "xsetbv",
  "leave",
  "sahf",
  "lahf",
  "mfence",
  "lfence",
  "sfence",
  "swapgs",
  "syscall",
  "sysenter",
  "vmlaunch",
  "vmresume",
  "vmxoff",
  "vmrun",
  "vmload",
  "vmsave",
  "stgi",
  "clgi",
  "lldt",
  "ltr",
  "sldt",
  "str",
  "lmsw",
  "smsw",
  "clts",
  "cmpxchg8b",
  "cmpxchg16b",
] as const;

/** Every mnemonic the assembler has a method for. */
export type mnemonic =
  | (typeof SIZED_MNEMONICS)[number]
  | `${(typeof SIZED_MNEMONICS)[number]}${"b" | "w" | "l" | "q"}`
  | (typeof PLAIN_MNEMONICS)[number]
  | `j${condition}`
  | `set${condition}`
  | `cmov${condition}`
  | `cmov${condition}${"w" | "l" | "q"}`;

const table = new Map<string, entry>();

function def(name: string, enc: encoder, size?: op_size): void {
  table.set(name, size === undefined ? { enc } : { enc, size });
}

const FAMILY: Record<(typeof SIZED_MNEMONICS)[number], encoder> = {
  add: alu(0),
  or: alu(1),
  adc: alu(2),
  sbb: alu(3),
  and: alu(4),
  sub: alu(5),
  xor: alu(6),
  cmp: alu(7),
  test,
  mov,
  lea,
  inc: incdec(0),
  dec: incdec(1),
  not: group3(2),
  neg: group3(3),
  mul: group3(4),
  imul,
  div: group3(6),
  idiv: group3(7),
  rol: shift(0),
  ror: shift(1),
  rcl: shift(2),
  rcr: shift(3),
  shl: shift(4),
  sal: shift(4),
  shr: shift(5),
  sar: shift(7),
  xchg,
  bt: bt(4),
  bts: bt(5),
  btr: bt(6),
  btc: bt(7),
  bsf: reg_dst([0x0f, 0xbc]),
  bsr: reg_dst([0x0f, 0xbd]),
  xadd: reg_src([0x0f, 0xc0]),
  cmpxchg: reg_src([0x0f, 0xb0]),
  push: pushpop(true),
  pop: pushpop(false),
  in: io(true),
  out: io(false),
  call,
  jmp: near_branch(undefined),
  ljmp: far(0xea, 5),
  lcall: far(0x9a, 3),
  ret: ret(true),
  lret: ret(false),
  iret,
  lgdt: mem_only([0x0f, 0x01], 2, true),
  lidt: mem_only([0x0f, 0x01], 3, true),
  sgdt: mem_only([0x0f, 0x01], 0, true),
  sidt: mem_only([0x0f, 0x01], 1, true),
  movs: string_op(0xa4),
  stos: string_op(0xaa),
  lods: string_op(0xac),
  cmps: string_op(0xa6),
  scas: string_op(0xae),
  ins: string_op(0x6c),
  outs: string_op(0x6e),
  pushf: flags_op(0x9c),
  popf: flags_op(0x9d),
  nop,
  movabs,
  enter,
};

for (const [base, e] of Object.entries(FAMILY)) {
  def(base, e);
  for (const [s, size] of Object.entries(SUFFIX)) def(base + s, e, size);
}

const PLAIN_ENC: Record<(typeof PLAIN_MNEMONICS)[number], encoder> = {
  movzx: movx(0xb6, undefined, undefined),
  movsx: movx(0xbe, undefined, undefined),
  movzbw: movx(0xb6, 8, 16),
  movzbl: movx(0xb6, 8, 32),
  movzbq: movx(0xb6, 8, 64),
  movzwl: movx(0xb6, 16, 32),
  movzwq: movx(0xb6, 16, 64),
  movsbw: movx(0xbe, 8, 16),
  movsbl: movx(0xbe, 8, 32),
  movsbq: movx(0xbe, 8, 64),
  movswl: movx(0xbe, 16, 32),
  movswq: movx(0xbe, 16, 64),
  movslq: movx(0x63, 32, 64),
  cbtw: sized_fixed(0x98, 16),
  cwtl: sized_fixed(0x98, 32),
  cltq: sized_fixed(0x98, 64),
  cwtd: sized_fixed(0x99, 16),
  cltd: sized_fixed(0x99, 32),
  cqto: sized_fixed(0x99, 64),
  loop: rel8_only([0xe2]),
  loope: rel8_only([0xe1]),
  loopne: rel8_only([0xe0]),
  jcxz: rel8_only([0xe3], (m) => (m === 16 ? [] : [0x67])),
  jecxz: rel8_only([0xe3], (m) => (m === 32 ? [] : [0x67])),
  jrcxz: rel8_only([0xe3], (m) => {
    if (m !== 64) throw new AsmError("jrcxz needs .code64");
    return [];
  }),
  hlt: fixed([0xf4]),
  cpuid: fixed([0x0f, 0xa2]),
  rdmsr: fixed([0x0f, 0x32]),
  wrmsr: fixed([0x0f, 0x30]),
  rdtsc: fixed([0x0f, 0x31]),
  rdtscp: fixed([0x0f, 0x01, 0xf9]),
  rdpmc: fixed([0x0f, 0x33]),
  cli: fixed([0xfa]),
  sti: fixed([0xfb]),
  clc: fixed([0xf8]),
  stc: fixed([0xf9]),
  cld: fixed([0xfc]),
  std: fixed([0xfd]),
  cmc: fixed([0xf5]),
  pause: fixed([0xf3, 0x90]),
  int,
  int1: fixed([0xf1]),
  int3: fixed([0xcc]),
  into: fixed([0xce], [16, 32]),
  ud2: fixed([0x0f, 0x0b]),
  vmcall: fixed([0x0f, 0x01, 0xc1]),
  vmmcall: fixed([0x0f, 0x01, 0xd9]),
  tdcall: fixed([0x66, 0x0f, 0x01, 0xcc]),
  seamcall: fixed([0x66, 0x0f, 0x01, 0xcf]),
  wbinvd: fixed([0x0f, 0x09]),
  invd: fixed([0x0f, 0x08]),
  invlpg: mem_only([0x0f, 0x01], 7),
  clflush: mem_only([0x0f, 0xae], 7),
  xgetbv: fixed([0x0f, 0x01, 0xd0]),
  xsetbv: fixed([0x0f, 0x01, 0xd1]),
  leave: fixed([0xc9]),
  sahf: fixed([0x9e]),
  lahf: fixed([0x9f]),
  mfence: fixed([0x0f, 0xae, 0xf0]),
  lfence: fixed([0x0f, 0xae, 0xe8]),
  sfence: fixed([0x0f, 0xae, 0xf8]),
  swapgs: fixed([0x0f, 0x01, 0xf8], [64]),
  syscall: fixed([0x0f, 0x05]),
  sysenter: fixed([0x0f, 0x34]),
  vmlaunch: fixed([0x0f, 0x01, 0xc2]),
  vmresume: fixed([0x0f, 0x01, 0xc3]),
  vmxoff: fixed([0x0f, 0x01, 0xc4]),
  vmrun: fixed([0x0f, 0x01, 0xd8]),
  vmload: fixed([0x0f, 0x01, 0xda]),
  vmsave: fixed([0x0f, 0x01, 0xdb]),
  stgi: fixed([0x0f, 0x01, 0xdc]),
  clgi: fixed([0x0f, 0x01, 0xdd]),
  lldt: sys16(2, false),
  ltr: sys16(3, false),
  sldt: sys16(0, true),
  str: sys16(1, true),
  lmsw: msw(6),
  smsw: msw(4),
  clts: fixed([0x0f, 0x06]),
  cmpxchg8b: cmpxchgNb(false),
  cmpxchg16b: cmpxchgNb(true),
};

for (const [name, e] of Object.entries(PLAIN_ENC)) def(name, e);

for (const [c, cc] of Object.entries(CONDITIONS)) {
  def("j" + c, near_branch(cc));
  def("set" + c, setcc(cc));
  def("cmov" + c, reg_dst([0x0f, 0x40 + cc]));
  for (const s of ["w", "l", "q"]) def("cmov" + c + s, reg_dst([0x0f, 0x40 + cc]), SUFFIX[s]);
}

/** Every mnemonic name, for installing the builder's methods. */
export const MNEMONICS: readonly string[] = [...table.keys()];

/**
 * Encodes one instruction.
 *
 * @param ctx layout context and prefixes
 * @param name the mnemonic
 * @param ops the parsed operands
 * @returns its bytes
 * @throws AsmError for an unknown mnemonic or operands it cannot take
 */
export function encode_insn(ctx: insn_ctx, name: string, ops: operand[]): number[] {
  const e = table.get(name);
  if (!e) throw new AsmError(`unknown mnemonic "${name}"`);
  return e.enc(ctx, ops, e.size, name);
}

/** Whether a mnemonic is a relaxable branch (`jmp`, `jcc`). */
export function is_relaxable(name: string): boolean {
  return name === "jmp" || (name.startsWith("j") && name.slice(1) in CONDITIONS);
}
