// SPDX-License-Identifier: GPL-2.0-only
/**
 * The instruction decoder of the machine-code interpreter (`interp.ts`):
 * instruction fetch through the MMU with execute permission and the code
 * segment's base and limit, legacy and REX prefixes, ModRM/SIB and
 * displacement (16-bit and 32/64-bit addressing, RIP-relative), immediates,
 * and the effective address and segment of a memory operand (SDM Vol. 2
 * chapter 2).
 *
 * Decoding is incremental: the executor asks for the ModRM byte and the
 * immediates its opcode has, in encoding order, before it has any side
 * effect, so the length is exact when an instruction exits or faults. A
 * fetch fault is raised on the byte that needs it (an instruction ending
 * just before an unmapped page runs), and more than 15 bytes is #GP(0).
 *
 * @module
 */

import {
  get_cpl,
  in_long_mode,
  in_protected_mode,
  is_code16,
  raise,
  raise_translation_fault,
  reg_hi,
  reg_lo,
  rip_hi,
  rip_lo,
  seg_base_lo,
  seg_limit,
  set_raw_insn,
} from "./cpu.ts";
import { ept_exit_raw } from "./cpu.ts";
import { ACC_FETCH, t_dv, t_off, tlb, TLB_P_X, TR_FAULT, TR_OK, translate } from "./mmu.ts";
import { GP_VECTOR } from "./vmx.ts";

/** Thrown to abandon the current instruction after its fault or exit was handled (refetch at RIP). */
export const ABORT = { sim: "instruction aborted" };

const TWO32 = 4294967296;

/** Segment register numbers (`VCPU_SREG_*` order). */
export const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

/** The instruction being decoded. */
export const d = {
  /** 64-bit mode. */
  m64: false,
  /** 16-bit default operand and address size. */
  code16: false,
  /** RIP at the instruction (high, low halves). */
  ip_hi: 0,
  ip_lo: 0,
  /** Linear address of the first byte. */
  lin_hi: 0,
  lin_lo: 0,
  /** Bytes fetched so far (the length, once decoding is done). */
  len: 0,
  /** Operand size in bytes (2, 4, 8). */
  osize: 4,
  /** Address size in bytes (2, 4, 8). */
  asize: 4,
  /** Segment override (-1: none). */
  seg: -1,
  /** 0, 0xf2 (REPNE) or 0xf3 (REP/REPE). */
  rep: 0,
  /** A LOCK prefix. */
  lock: false,
  /** An operand-size prefix (0x66) was present. */
  p66: false,
  /** The REX prefix (0: none). */
  rex: 0,
  /** The opcode: one byte, or 0x100 + the second byte of a 0F opcode. */
  op: 0,
  /** ModRM fields (reg and rm extended by REX.R / REX.B). */
  mod: 0,
  reg: 0,
  rm: 0,
  /** ModRM.reg without REX (the `/digit` of group opcodes). */
  digit: 0,
  /** A memory operand: its effective address and segment. */
  mem: false,
  ea_hi: 0,
  ea_lo: 0,
  eseg: DS,
  /** RIP-relative: the displacement is relative to the next instruction. */
  rip_rel: false,
  /** Bytes of the instruction readable from the fast path. */
  avail: 0,
  fdv: null as DataView | null,
  foff: 0,
  /** Whether the CS limit must be checked per byte. */
  check_limit: false,
};

/** #GP(0) in the current instruction; never returns. */
export function gp0(): never {
  set_raw_insn(d.len);
  raise(GP_VECTOR, 0);
  throw ABORT;
}

/** Raises `vector` (with `ec`) for the current instruction and abandons it. */
export function fault(vector: number, ec = 0): never {
  set_raw_insn(d.len);
  raise(vector, ec);
  throw ABORT;
}

/**
 * Starts decoding at RIP: the mode, the linear address, and the fast path
 * (the bytes readable in the instruction's page through the TLB).
 */
export function decode_begin(): void {
  const m64 = in_long_mode();
  d.m64 = m64;
  d.code16 = !m64 && is_code16();
  d.ip_hi = rip_hi();
  d.ip_lo = rip_lo();
  d.len = 0;
  d.seg = -1;
  d.rep = 0;
  d.lock = false;
  d.p66 = false;
  d.rex = 0;
  d.mem = false;
  d.rip_rel = false;
  let hi: number;
  let lo: number;
  let room = 15;
  if (m64) {
    hi = d.ip_hi;
    lo = d.ip_lo;
    d.check_limit = false;
  } else {
    const ip = d.code16 ? d.ip_lo & 0xffff : d.ip_lo;
    hi = 0;
    lo = (seg_base_lo(CS) + ip) >>> 0;
    const lim = seg_limit(CS);
    d.check_limit = ip + 14 > lim || (d.code16 && ip + 14 > 0xffff);
    if (d.check_limit) room = 0;
  }
  d.lin_hi = hi;
  d.lin_lo = lo;
  const o = lo & 0xfff;
  const i = (lo >>> 12) & tlb.mask;
  if (room > 0 && tlb.tag[i] === hi * 1048576 + (lo >>> 12) && (tlb.perm[i]! & TLB_P_X) !== 0) {
    d.fdv = tlb.dv[i]!;
    d.foff = tlb.off[i]! + o;
    d.avail = Math.min(room, 4096 - o);
  } else {
    d.avail = 0;
  }
  // Operand and address size defaults.
  d.osize = d.code16 ? 2 : 4;
  d.asize = m64 ? 8 : d.code16 ? 2 : 4;
}

/** The next instruction byte. */
export function fb(): number {
  const i = d.len;
  if (i < d.avail) {
    d.len = i + 1;
    return d.fdv!.getUint8(d.foff + i);
  }
  if (i >= 15) gp0();
  return fetch_slow(i);
}

function fetch_slow(i: number): number {
  let hi = d.lin_hi;
  let lo: number;
  if (d.m64) {
    lo = d.lin_lo + i;
    if (lo >= TWO32) {
      lo -= TWO32;
      hi = (hi + 1) >>> 0;
    }
  } else {
    let ip = d.ip_lo + i;
    if (d.code16) ip &= 0xffff;
    else ip >>>= 0;
    if (ip > seg_limit(CS) >>> 0) gp0();
    lo = (seg_base_lo(CS) + ip) >>> 0;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_FETCH);
    if (st === TR_OK) {
      d.len = i + 1;
      return t_dv.getUint8(t_off);
    }
    set_raw_insn(i);
    if (st === TR_FAULT) raise_translation_fault();
    else ept_exit_raw(BigInt(hi) * 0x100000000n + BigInt(lo), 0, 1, 0);
    throw ABORT;
  }
}

/** An 8-bit immediate, sign-extended. */
export function ib_s(): number {
  return (fb() << 24) >> 24;
}

/** A 16-bit immediate (unsigned). */
export function iw(): number {
  const a = fb();
  return a | (fb() << 8);
}

/** A 32-bit immediate (unsigned). */
export function id(): number {
  const a = fb();
  const b = fb();
  const c = fb();
  return (a | (b << 8) | (c << 16) | (fb() << 24)) >>> 0;
}

/** A 32-bit immediate, signed. */
export function id_s(): number {
  return id() | 0;
}

/**
 * An immediate of the operand size (`Iz`): 2 bytes for 16-bit operands,
 * else 4 (sign-extended to 64 bits by the caller for 8-byte operands).
 * Returned unsigned for 2 bytes, signed for 4.
 */
export function iz(): number {
  return d.osize === 2 ? iw() : id_s();
}

/** Legacy and REX prefixes, then the opcode (into `d.op`). */
export function decode_opcode(): void {
  let b: number;
  for (;;) {
    b = fb();
    switch (b) {
      case 0x66:
        d.p66 = true;
        d.rex = 0;
        continue;
      case 0x67:
        d.asize = d.m64 ? 4 : d.code16 ? 4 : 2;
        d.rex = 0;
        continue;
      case 0xf0:
        d.lock = true;
        d.rex = 0;
        continue;
      case 0xf2:
      case 0xf3:
        d.rep = b;
        d.rex = 0;
        continue;
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
        // 64-bit mode keeps only FS and GS overrides; 26/2E/36/3E change nothing there.
        if (!d.m64) d.seg = (b >> 3) & 3;
        d.rex = 0;
        continue;
      case 0x64:
      case 0x65:
        d.seg = b - 0x60;
        d.rex = 0;
        continue;
    }
    if (d.m64 && (b & 0xf0) === 0x40) {
      d.rex = b;
      continue;
    }
    break;
  }
  if (d.p66) d.osize = d.code16 ? 4 : 2;
  if (d.rex & 8) d.osize = 8;
  if (b === 0x0f) b = 0x100 | fb();
  d.op = b;
}

/**
 * Reads the ModRM byte (and SIB and displacement) and, for a memory
 * operand, computes its effective address (RIP-relative addresses are
 * finished by {@linkcode ea_final} once the immediates are fetched).
 */
export function modrm(): void {
  const m = fb();
  const mod = m >> 6;
  const reg = (m >> 3) & 7;
  const rm = m & 7;
  d.mod = mod;
  d.digit = reg;
  d.reg = reg | ((d.rex & 4) << 1);
  if (mod === 3) {
    d.rm = rm | ((d.rex & 1) << 3);
    d.mem = false;
    return;
  }
  d.mem = true;
  d.rm = rm;
  if (d.asize === 2) {
    ea16(mod, rm);
    return;
  }
  let base = -1;
  let index = -1;
  let scale = 0;
  let disp = 0;
  let stack = false;
  if (rm === 4) {
    const sib = fb();
    scale = sib >> 6;
    const ix = ((sib >> 3) & 7) | ((d.rex & 2) << 2);
    if (ix !== 4) index = ix;
    const b = sib & 7;
    if (b === 5 && mod === 0) {
      disp = id_s();
    } else {
      base = b | ((d.rex & 1) << 3);
      stack = b === 4 || b === 5;
    }
  } else if (rm === 5 && mod === 0) {
    disp = id_s();
    if (d.m64) d.rip_rel = true;
  } else {
    base = rm | ((d.rex & 1) << 3);
    stack = rm === 5;
  }
  if (mod === 1) disp = ib_s();
  else if (mod === 2) disp = id_s();
  d.eseg = d.seg >= 0 ? d.seg : stack ? SS : DS;
  let lo = disp >>> 0;
  let hi = disp < 0 ? 0xffffffff : 0;
  if (base >= 0) {
    lo += reg_lo(base);
    hi += reg_hi(base);
  }
  if (index >= 0) {
    const f = 1 << scale;
    lo += reg_lo(index) * f;
    hi += reg_hi(index) * f;
  }
  if (d.asize === 4) {
    d.ea_lo = lo >>> 0;
    d.ea_hi = 0;
  } else {
    d.ea_hi = (hi + Math.floor(lo / TWO32)) >>> 0;
    d.ea_lo = lo >>> 0;
  }
}

function ea16(mod: number, rm: number): void {
  let disp = 0;
  let ea = 0;
  let stack = false;
  const bx = reg_lo(3) & 0xffff;
  const bp = reg_lo(5) & 0xffff;
  const si = reg_lo(6) & 0xffff;
  const di = reg_lo(7) & 0xffff;
  switch (rm) {
    case 0:
      ea = bx + si;
      break;
    case 1:
      ea = bx + di;
      break;
    case 2:
      ea = bp + si;
      stack = true;
      break;
    case 3:
      ea = bp + di;
      stack = true;
      break;
    case 4:
      ea = si;
      break;
    case 5:
      ea = di;
      break;
    case 6:
      if (mod === 0) disp = iw();
      else {
        ea = bp;
        stack = true;
      }
      break;
    default:
      ea = bx;
  }
  if (mod === 1) disp = ib_s();
  else if (mod === 2) disp = iw();
  d.eseg = d.seg >= 0 ? d.seg : stack ? SS : DS;
  d.ea_lo = (ea + disp) & 0xffff;
  d.ea_hi = 0;
}

/** Finishes a RIP-relative effective address (call after the last immediate). */
export function ea_final(): void {
  if (!d.rip_rel) return;
  d.rip_rel = false;
  const lo = d.ea_lo + d.ip_lo + d.len;
  d.ea_hi = (d.ea_hi + d.ip_hi + Math.floor(lo / TWO32)) >>> 0;
  d.ea_lo = lo >>> 0;
}

/** The current privilege level and protected mode, for the executor's checks. */
export function cpl_now(): number {
  return in_protected_mode() ? get_cpl() : 0;
}
