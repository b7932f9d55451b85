// SPDX-License-Identifier: GPL-2.0-only
/**
 * The arithmetic of the machine-code interpreter (`interp.ts`): results and
 * RFLAGS of the integer ALU instructions, as SDM Vol. 2 defines them per
 * instruction, with no CPU state of its own so that it is tested alone.
 *
 * Operands of 1, 2 and 4 bytes are unsigned `number`s, 8-byte operands
 * `bigint`s; every function takes the current RFLAGS and leaves the new
 * RFLAGS in {@linkcode alu_flags}, changing only the flags the instruction
 * defines. Where the SDM leaves a flag undefined, the choice is fixed and
 * documented at the function (Intel and AMD hardware differ there; the
 * differential checks mask undefined flags).
 *
 * @module
 */

/** RFLAGS.CF. */
export const CF = 0x1;
/** RFLAGS.PF. */
export const PF = 0x4;
/** RFLAGS.AF. */
export const AF = 0x10;
/** RFLAGS.ZF. */
export const ZF = 0x40;
/** RFLAGS.SF. */
export const SF = 0x80;
/** RFLAGS.DF. */
export const DF = 0x400;
/** RFLAGS.OF. */
export const OF = 0x800;
/** The six arithmetic status flags. */
export const STATUS = CF | PF | AF | ZF | SF | OF;

/** ALU group operations, in opcode order (`00`..`3D`, `80 /r`). */
export const ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;
/** Shift group operations, in `/r` order (`C0`, `D0`..`D3`). */
export const ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7;

/** RFLAGS after the last operation. */
export let alu_flags = 0;

/** PF for each low byte: set when the number of 1 bits is even. */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  PARITY[i] = n & 1 ? 0 : PF;
}

/** Mask of an operand of `size` bytes (1, 2, 4). */
export function size_mask(size: number): number {
  return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
}

function sign_bit(size: number): number {
  return size === 4 ? 0x80000000 : size === 2 ? 0x8000 : 0x80;
}

/** ZF, SF, PF of the (masked) result `r`. */
function szp(r: number, size: number): number {
  let f = PARITY[r & 0xff]!;
  if (r === 0) f |= ZF;
  if (r & sign_bit(size)) f |= SF;
  return f;
}

function szp64(r: bigint): number {
  let f = PARITY[Number(r & 0xffn)]!;
  if (r === 0n) f |= ZF;
  if (r >> 63n) f |= SF;
  return f;
}

/**
 * An ALU-group operation (`ADD`..`CMP`) on `size`-byte operands. Returns the
 * result (for `CMP` the result of the subtraction, which is not stored).
 * The logical operations clear CF, OF and AF (AF is undefined).
 */
export function alu(op: number, size: number, a: number, b: number, fl: number): number {
  const m = size_mask(size);
  // Operands as unsigned values of their size, whatever the caller's sign.
  a = (a & m) >>> 0;
  b = (b & m) >>> 0;
  const sb = sign_bit(size);
  let r: number;
  let f: number;
  switch (op) {
    case ADD:
    case ADC: {
      const c = op === ADC ? fl & CF : 0;
      const t = a + b + c;
      r = t > m ? (size === 4 ? t - 0x100000000 : t & m) : t;
      f = szp(r, size) | (t > m ? CF : 0) | ((a ^ b ^ r) & AF);
      if ((a ^ r) & (b ^ r) & sb) f |= OF;
      break;
    }
    case SUB:
    case SBB:
    case CMP: {
      const c = op === SBB ? fl & CF : 0;
      const t = a - b - c;
      r = t < 0 ? (size === 4 ? t + 0x100000000 : t & m) : t;
      f = szp(r, size) | (t < 0 ? CF : 0) | ((a ^ b ^ r) & AF);
      if ((a ^ b) & (a ^ r) & sb) f |= OF;
      break;
    }
    case OR:
      r = (a | b) >>> 0;
      f = szp(r, size);
      break;
    case AND:
      r = (a & b) >>> 0;
      f = szp(r, size);
      break;
    default:
      r = (a ^ b) >>> 0;
      f = szp(r, size);
  }
  alu_flags = (fl & ~STATUS) | f;
  return r;
}

const M64 = 0xffffffffffffffffn;
const S64 = 0x8000000000000000n;

/** {@linkcode alu} on 8-byte operands. */
export function alu64(op: number, a: bigint, b: bigint, fl: number): bigint {
  let r: bigint;
  let f: number;
  switch (op) {
    case ADD:
    case ADC: {
      const t = a + b + BigInt(op === ADC ? fl & CF : 0);
      r = t & M64;
      f = szp64(r) | (t > M64 ? CF : 0) | (Number((a ^ b ^ r) & 0x10n) & AF);
      if ((a ^ r) & (b ^ r) & S64) f |= OF;
      break;
    }
    case SUB:
    case SBB:
    case CMP: {
      const t = a - b - BigInt(op === SBB ? fl & CF : 0);
      r = t & M64;
      f = szp64(r) | (t < 0n ? CF : 0) | (Number((a ^ b ^ r) & 0x10n) & AF);
      if ((a ^ b) & (a ^ r) & S64) f |= OF;
      break;
    }
    case OR:
      r = a | b;
      f = szp64(r);
      break;
    case AND:
      r = a & b;
      f = szp64(r);
      break;
    default:
      r = a ^ b;
      f = szp64(r);
  }
  alu_flags = (fl & ~STATUS) | f;
  return r;
}

/** Bits 63:32 of the last {@linkcode alu64p} result. */
export let alu_hi = 0;

/**
 * {@linkcode alu64} on operands given as 32-bit halves (no bigint): returns
 * bits 31:0 of the result, bits 63:32 in {@linkcode alu_hi}.
 */
export function alu64p(
  op: number,
  ahi: number,
  alo: number,
  bhi: number,
  blo: number,
  fl: number,
): number {
  let hi: number;
  let lo: number;
  let f = 0;
  switch (op) {
    case ADD:
    case ADC: {
      let l = alo + blo + (op === ADC ? fl & CF : 0);
      let c = 0;
      if (l >= 0x100000000) {
        l -= 0x100000000;
        c = 1;
      }
      let h = ahi + bhi + c;
      if (h >= 0x100000000) {
        h -= 0x100000000;
        f |= CF;
      }
      hi = h;
      lo = l;
      if ((ahi ^ hi) & (bhi ^ hi) & 0x80000000) f |= OF;
      f |= (alo ^ blo ^ lo) & AF;
      break;
    }
    case SUB:
    case SBB:
    case CMP: {
      let l = alo - blo - (op === SBB ? fl & CF : 0);
      let c = 0;
      if (l < 0) {
        l += 0x100000000;
        c = 1;
      }
      let h = ahi - bhi - c;
      if (h < 0) {
        h += 0x100000000;
        f |= CF;
      }
      hi = h;
      lo = l;
      if ((ahi ^ bhi) & (ahi ^ hi) & 0x80000000) f |= OF;
      f |= (alo ^ blo ^ lo) & AF;
      break;
    }
    case OR:
      hi = (ahi | bhi) >>> 0;
      lo = (alo | blo) >>> 0;
      break;
    case AND:
      hi = (ahi & bhi) >>> 0;
      lo = (alo & blo) >>> 0;
      break;
    default:
      hi = (ahi ^ bhi) >>> 0;
      lo = (alo ^ blo) >>> 0;
  }
  f |= PARITY[lo & 0xff]!;
  if (lo === 0 && hi === 0) f |= ZF;
  if (hi & 0x80000000) f |= SF;
  alu_flags = (fl & ~STATUS) | f;
  alu_hi = hi;
  return lo;
}

/** INC (`dec` false) or DEC: as ADD/SUB 1, CF unchanged. */
export function incdec(dec: boolean, size: number, a: number, fl: number): number {
  const r = alu(dec ? SUB : ADD, size, a, 1, fl);
  alu_flags = (alu_flags & ~CF) | (fl & CF);
  return r;
}

/** INC/DEC on 8-byte operands. */
export function incdec64(dec: boolean, a: bigint, fl: number): bigint {
  const r = alu64(dec ? SUB : ADD, a, 1n, fl);
  alu_flags = (alu_flags & ~CF) | (fl & CF);
  return r;
}

/** NEG: 0 − a; CF is set unless the operand was 0. */
export function neg(size: number, a: number, fl: number): number {
  return alu(SUB, size, 0, a, fl);
}

/** NEG on 8-byte operands. */
export function neg64(a: bigint, fl: number): bigint {
  return alu64(SUB, 0n, a, fl);
}

// ---------------------------------------------------------------------------
// The rest works on bigints of any width: these instructions are rarer, and
// one implementation per instruction keeps every width exact.

/** Bits of an operand of `size` bytes. */
function bits_of(size: number): bigint {
  return BigInt(size * 8);
}

function mask_of(size: number): bigint {
  return (1n << bits_of(size)) - 1n;
}

function szp_n(r: bigint, size: number): number {
  let f = PARITY[Number(r & 0xffn)]!;
  if (r === 0n) f |= ZF;
  if ((r >> (bits_of(size) - 1n)) & 1n) f |= SF;
  return f;
}

function signed(v: bigint, size: number): bigint {
  return BigInt.asIntN(size * 8, v);
}

/**
 * A shift or rotate (`ROL`..`SAR`) of `a` by `count` (masked to 5 bits, 6
 * for 8-byte operands, as the processor does). A masked count of 0 changes
 * no flag. Rotates change only CF and OF. OF is computed by the 1-bit rule
 * for every count (it is undefined for counts above 1); AF is cleared by
 * the shifts (undefined).
 */
export function shift(op: number, size: number, a: bigint, count: number, fl: number): bigint {
  const n = size * 8;
  const nb = BigInt(n);
  const m = mask_of(size);
  let c = count & (size === 8 ? 63 : 31);
  alu_flags = fl;
  if (c === 0) return a;
  const msb = (v: bigint): number => Number((v >> (nb - 1n)) & 1n);
  let r: bigint;
  let cf: number;
  let of: number;
  switch (op) {
    case ROL: {
      const k = BigInt(c % n);
      r = ((a << k) | (a >> (nb - k))) & m;
      cf = Number(r & 1n);
      of = msb(r) ^ cf;
      alu_flags = (fl & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
      return r;
    }
    case ROR: {
      const k = BigInt(c % n);
      r = ((a >> k) | (a << (nb - k))) & m;
      cf = msb(r);
      of = msb(r) ^ Number((r >> (nb - 2n)) & 1n);
      alu_flags = (fl & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
      return r;
    }
    case RCL:
    case RCR: {
      // Through CF: an (n+1)-bit rotation; 8/16-bit counts are taken modulo n+1.
      if (size <= 2) c %= n + 1;
      if (c === 0) return a;
      const w = nb + 1n;
      const wide = (BigInt(fl & CF) << nb) | a;
      const k = BigInt(c);
      const full = (1n << w) - 1n;
      const rot = op === RCL
        ? ((wide << k) | (wide >> (w - k))) & full
        : ((wide >> k) | (wide << (w - k))) & full;
      r = rot & m;
      cf = Number(rot >> nb);
      of = op === RCL ? msb(r) ^ cf : msb(r) ^ Number((r >> (nb - 2n)) & 1n);
      alu_flags = (fl & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
      return r;
    }
    case SHL:
    case SAL: {
      const k = BigInt(c);
      r = (a << k) & m;
      cf = k <= nb ? Number((a >> (nb - k)) & 1n) : 0;
      of = msb(r) ^ cf;
      break;
    }
    case SHR: {
      const k = BigInt(c);
      r = a >> k;
      cf = Number((a >> (k - 1n)) & 1n);
      of = msb(a);
      break;
    }
    default: {
      const k = BigInt(c);
      const s = signed(a, size);
      r = (s >> k) & m;
      cf = Number((s >> (k - 1n)) & 1n);
      of = 0;
    }
  }
  alu_flags = (fl & ~STATUS) | szp_n(r, size) | (cf ? CF : 0) | (of ? OF : 0);
  return r;
}

/**
 * SHLD (`left`) / SHRD: `dst` shifted with bits from `src` filling in. The
 * count is masked to 5 (6) bits; 0 changes nothing. Only a 16-bit operand
 * can see a masked count past its width, a case the SDM leaves undefined;
 * here it shifts through the 32-bit concatenation of the operands, which is
 * what Intel parts do. AF is cleared.
 */
export function shiftd(
  left: boolean,
  size: number,
  dst: bigint,
  src: bigint,
  count: number,
  fl: number,
): bigint {
  const nb = bits_of(size);
  const m = mask_of(size);
  const c = count & (size === 8 ? 63 : 31);
  alu_flags = fl;
  if (c === 0) return dst;
  const k = BigInt(c);
  let r: bigint;
  let cf: number;
  if (left) {
    const wide = (dst << nb) | src;
    const sh = wide << k;
    r = (sh >> nb) & m;
    cf = Number((sh >> (2n * nb)) & 1n);
  } else {
    const wide = (src << nb) | dst;
    r = (wide >> k) & m;
    cf = Number((wide >> (k - 1n)) & 1n);
  }
  const of = Number(((r ^ dst) >> (nb - 1n)) & 1n);
  alu_flags = (fl & ~STATUS) | szp_n(r, size) | (cf ? CF : 0) | (of ? OF : 0);
  return r;
}

/**
 * MUL (`signed` false) or the one-operand IMUL: the double-width product of
 * `a` and `b` as `[low, high]`. CF and OF are set when the high half is
 * significant; SF, ZF and PF follow the low half and AF is cleared
 * (all four undefined).
 */
export function mul(is_signed: boolean, size: number, a: bigint, b: bigint, fl: number): [
  bigint,
  bigint,
] {
  const nb = bits_of(size);
  const m = mask_of(size);
  const p = is_signed ? signed(a, size) * signed(b, size) : a * b;
  const lo = p & m;
  const hi = (p >> nb) & m;
  const wide = is_signed ? p !== signed(lo, size) : hi !== 0n;
  alu_flags = (fl & ~STATUS) | szp_n(lo, size) | (wide ? CF | OF : 0);
  return [lo, hi];
}

/** IMUL with two or three operands: the truncated product; CF = OF = truncation. */
export function imul_trunc(size: number, a: bigint, b: bigint, fl: number): bigint {
  return mul(true, size, a, b, fl)[0];
}

/**
 * DIV/IDIV of the double-width `hi:lo` by `b`: `[quotient, remainder]`, or
 * `null` for #DE (divisor 0, or a quotient that does not fit). Flags are
 * undefined and left unchanged.
 */
export function div(
  is_signed: boolean,
  size: number,
  hi: bigint,
  lo: bigint,
  b: bigint,
): [bigint, bigint] | null {
  const nb = bits_of(size);
  const m = mask_of(size);
  if (b === 0n) return null;
  if (!is_signed) {
    const n = (hi << nb) | lo;
    const q = n / b;
    if (q > m) return null;
    return [q, n % b];
  }
  const n = BigInt.asIntN(2 * size * 8, (hi << nb) | lo);
  const d = signed(b, size);
  const q = n / d;
  const half = 1n << (nb - 1n);
  if (q >= half || q < -half) return null;
  return [q & m, (n % d) & m];
}

/** BSF (`reverse` false) / BSR: the bit index, or `null` for a zero source (ZF set, destination unchanged). */
export function bitscan(reverse: boolean, a: bigint, fl: number): number | null {
  if (a === 0n) {
    alu_flags = fl | ZF;
    return null;
  }
  alu_flags = fl & ~ZF;
  if (reverse) return a.toString(2).length - 1;
  let i = 0;
  while (((a >> BigInt(i)) & 1n) === 0n) i++;
  return i;
}

/** The condition of Jcc/SETcc/CMOVcc `cc` (the low nibble of the opcode) under `fl`. */
export function cond(cc: number, fl: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0:
      r = (fl & OF) !== 0;
      break;
    case 1:
      r = (fl & CF) !== 0;
      break;
    case 2:
      r = (fl & ZF) !== 0;
      break;
    case 3:
      r = (fl & (CF | ZF)) !== 0;
      break;
    case 4:
      r = (fl & SF) !== 0;
      break;
    case 5:
      r = (fl & PF) !== 0;
      break;
    case 6:
      r = ((fl & SF) !== 0) !== ((fl & OF) !== 0);
      break;
    default:
      r = (fl & ZF) !== 0 || ((fl & SF) !== 0) !== ((fl & OF) !== 0);
  }
  return (cc & 1) ? !r : r;
}
