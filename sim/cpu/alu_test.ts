// SPDX-License-Identifier: GPL-2.0-only
// The interpreter's arithmetic against results the SDM documents per instruction.
import { assertEquals } from "@std/assert";
import {
  ADC,
  ADD,
  AF,
  alu,
  alu64,
  alu64p,
  alu_flags,
  alu_hi,
  AND,
  bitscan,
  CF,
  CMP,
  cond,
  div,
  imul_trunc,
  incdec,
  mul,
  neg,
  OF,
  PF,
  RCL,
  RCR,
  ROL,
  ROR,
  SAR,
  SBB,
  SF,
  shift,
  shiftd,
  SHL,
  SHR,
  SUB,
  XOR,
  ZF,
} from "./alu.ts";

const FIXED = 2;
const STATUS = CF | PF | AF | ZF | SF | OF;

function flags(): number {
  return alu_flags & STATUS;
}

Deno.test("ADD/ADC: carry, overflow, auxiliary carry, parity, zero and sign", () => {
  assertEquals(alu(ADD, 1, 0x7f, 1, FIXED), 0x80);
  assertEquals(flags(), OF | SF | AF); // 0x80 has one bit set: odd parity
  assertEquals(alu(ADD, 1, 0xff, 1, FIXED), 0);
  assertEquals(flags(), CF | ZF | AF | PF);
  assertEquals(alu(ADD, 2, 0x8000, 0x8000, FIXED), 0);
  assertEquals(flags(), CF | ZF | PF | OF);
  assertEquals(alu(ADD, 4, 0xffffffff, 0xffffffff, FIXED), 0xfffffffe);
  assertEquals(flags(), CF | SF | AF);
  assertEquals(alu(ADC, 4, 0xffffffff, 0, FIXED | CF), 0);
  assertEquals(flags(), CF | ZF | PF | AF);
  assertEquals(alu(ADC, 1, 0x0f, 0x00, FIXED | CF), 0x10);
  assertEquals(flags(), AF);
});

Deno.test("SUB/SBB/CMP: borrow into CF, signed overflow into OF", () => {
  assertEquals(alu(SUB, 1, 0, 1, FIXED), 0xff);
  assertEquals(flags(), CF | SF | AF | PF);
  assertEquals(alu(SUB, 1, 0x80, 1, FIXED), 0x7f);
  assertEquals(flags(), OF | AF);
  assertEquals(alu(CMP, 4, 5, 5, FIXED), 0);
  assertEquals(flags(), ZF | PF);
  assertEquals(alu(SBB, 2, 0, 0, FIXED | CF), 0xffff);
  assertEquals(flags(), CF | SF | PF | AF);
  assertEquals(alu(SUB, 4, 0x80000000, 1, FIXED), 0x7fffffff);
  assertEquals(flags(), OF | PF | AF);
});

Deno.test("logical operations clear CF and OF and keep the other bits of RFLAGS", () => {
  assertEquals(alu(AND, 1, 0xf0, 0x0f, FIXED | CF | OF | 0x200), 0);
  assertEquals(alu_flags, FIXED | 0x200 | ZF | PF);
  assertEquals(alu(XOR, 4, 0x80000000, 1, FIXED), 0x80000001);
  assertEquals(flags(), SF);
});

Deno.test("64-bit ALU operations", () => {
  assertEquals(alu64(ADD, 0xffffffffffffffffn, 1n, FIXED), 0n);
  assertEquals(flags(), CF | ZF | PF | AF);
  assertEquals(alu64(SUB, 0x8000000000000000n, 1n, FIXED), 0x7fffffffffffffffn);
  assertEquals(flags(), OF | PF | AF);
  assertEquals(alu64(ADC, 0x7fffffffffffffffn, 0n, FIXED | CF), 0x8000000000000000n);
  assertEquals(flags(), OF | SF | AF | PF);
});

Deno.test("INC/DEC keep CF; NEG sets CF unless the operand is 0", () => {
  assertEquals(incdec(false, 1, 0xff, FIXED | CF), 0);
  assertEquals(flags(), CF | ZF | PF | AF);
  assertEquals(incdec(true, 2, 0x8000, FIXED), 0x7fff);
  assertEquals(flags(), OF | PF | AF);
  assertEquals(neg(4, 0, FIXED | CF), 0);
  assertEquals(flags(), ZF | PF);
  assertEquals(neg(1, 0x80, FIXED), 0x80);
  assertEquals(flags(), CF | OF | SF);
});

Deno.test("shifts: the last bit out in CF, OF for 1-bit shifts, count masked, 0 changes nothing", () => {
  assertEquals(shift(SHL, 1, 0x81n, 1, FIXED), 0x02n);
  assertEquals(flags(), CF | OF);
  assertEquals(shift(SHR, 1, 0x81n, 1, FIXED), 0x40n);
  assertEquals(flags(), CF | OF);
  assertEquals(shift(SAR, 1, 0x81n, 1, FIXED), 0xc0n);
  assertEquals(flags(), CF | SF | PF);
  assertEquals(shift(SHL, 4, 1n, 33, FIXED), 2n); // count & 31
  assertEquals(shift(SHL, 2, 0x1234n, 0, FIXED | ZF | CF), 0x1234n);
  assertEquals(alu_flags, FIXED | ZF | CF);
  assertEquals(shift(SHL, 1, 0xffn, 9, FIXED), 0n); // 8-bit operand, count 9
  assertEquals(flags() & (CF | ZF), ZF);
  assertEquals(shift(SHR, 8, 0x8000000000000000n, 63, FIXED), 1n);
  assertEquals(flags() & CF, 0);
});

Deno.test("rotates change only CF and OF; RCL/RCR go through CF", () => {
  assertEquals(shift(ROL, 1, 0x81n, 1, FIXED | ZF), 0x03n);
  assertEquals(alu_flags & STATUS, CF | OF | ZF); // OF = MSB(result) ^ CF
  assertEquals(shift(ROR, 1, 0x01n, 1, FIXED), 0x80n);
  assertEquals(flags(), CF | OF);
  assertEquals(shift(RCL, 1, 0x80n, 1, FIXED), 0x00n);
  assertEquals(flags(), CF | OF);
  assertEquals(shift(RCR, 1, 0x00n, 1, FIXED | CF), 0x80n);
  assertEquals(flags(), OF);
  // 8-bit RCL counts are taken modulo 9.
  assertEquals(shift(RCL, 1, 0x55n, 9, FIXED), 0x55n);
});

Deno.test("SHLD/SHRD shift bits of the source in", () => {
  assertEquals(shiftd(true, 4, 0x12345678n, 0x9abcdef0n, 8, FIXED), 0x3456789an);
  assertEquals(flags() & CF, 0);
  assertEquals(shiftd(false, 4, 0x12345678n, 0x9abcdef0n, 8, FIXED), 0xf0123456n);
  assertEquals(flags() & CF, 0);
  assertEquals(shiftd(false, 2, 0x0001n, 0x0000n, 1, FIXED), 0n);
  assertEquals(flags() & (CF | ZF), CF | ZF);
});

Deno.test("MUL/IMUL: CF = OF = the upper half is significant", () => {
  assertEquals(mul(false, 1, 0x10n, 0x10n, FIXED), [0x00n, 0x01n]);
  assertEquals(flags() & (CF | OF), CF | OF);
  assertEquals(mul(false, 4, 3n, 5n, FIXED), [15n, 0n]);
  assertEquals(flags() & (CF | OF), 0);
  assertEquals(mul(true, 2, 0xffffn, 0xffffn, FIXED), [1n, 0n]); // -1 * -1
  assertEquals(flags() & (CF | OF), 0);
  assertEquals(mul(true, 1, 0x80n, 0xffn, FIXED), [0x80n, 0x00n]); // -128 * -1 = 128
  assertEquals(flags() & (CF | OF), CF | OF);
  assertEquals(imul_trunc(8, 0x4000000000000000n, 4n, FIXED), 0n);
  assertEquals(flags() & (CF | OF), CF | OF);
});

Deno.test("DIV/IDIV: quotient and remainder, null for #DE", () => {
  assertEquals(div(false, 2, 0x0001n, 0x0000n, 2n), [0x8000n, 0n]);
  assertEquals(div(false, 1, 0x01n, 0x00n, 1n), null); // quotient 256 does not fit
  assertEquals(div(false, 4, 0n, 10n, 0n), null);
  assertEquals(div(true, 2, 0xffffn, 0xfed4n, 7n), [0xffd6n, 0xfffan]); // -300 / 7
  assertEquals(div(true, 1, 0xffn, 0x80n, 0xffn), null); // -128 / -1 = 128
  assertEquals(div(true, 8, 0xffffffffffffffffn, 0xfffffffffffffff6n, 3n), [
    0xfffffffffffffffdn,
    0xffffffffffffffffn,
  ]);
});

Deno.test("BSF/BSR; zero source sets ZF and returns null", () => {
  assertEquals(bitscan(false, 0x80n, FIXED | ZF), 7);
  assertEquals(alu_flags & ZF, 0);
  assertEquals(bitscan(true, 0x8000000000000001n, FIXED), 63);
  assertEquals(bitscan(false, 0n, FIXED), null);
  assertEquals(alu_flags & ZF, ZF);
});

Deno.test("condition codes of Jcc/SETcc/CMOVcc", () => {
  const fl = SF; // SF != OF: "less"
  assertEquals([0xc, 0xd, 0xe, 0xf].map((cc) => cond(cc, fl)), [true, false, true, false]);
  assertEquals([0x2, 0x3, 0x6, 0x7].map((cc) => cond(cc, CF)), [true, false, true, false]);
  assertEquals([0x4, 0x5, 0xa, 0xb].map((cc) => cond(cc, ZF | PF)), [true, false, true, false]);
  assertEquals([0x0, 0x1, 0x8, 0x9].map((cc) => cond(cc, OF)), [true, false, false, true]);
});

Deno.test("64-bit ALU on 32-bit halves agrees with the bigint form (random operands)", () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed;
  };
  const edge = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];
  for (let i = 0; i < 2000; i++) {
    const v = [0, 0, 0, 0].map(() => (rnd() & 3) === 0 ? edge[rnd() % 5]! : rnd());
    const [ahi, alo, bhi, blo] = v as [number, number, number, number];
    const op = rnd() & 7;
    const fl = FIXED | (rnd() & CF);
    const big = alu64(
      op,
      (BigInt(ahi) << 32n) | BigInt(alo),
      (BigInt(bhi) << 32n) | BigInt(blo),
      fl,
    );
    const fb = alu_flags;
    const lo = alu64p(op, ahi, alo, bhi, blo, fl);
    assertEquals([alu_flags, (BigInt(alu_hi) << 32n) | BigInt(lo)], [fb, big], `op ${op}: ${v}`);
  }
});
