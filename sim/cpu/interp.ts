// SPDX-License-Identifier: GPL-2.0-only
/**
 * The machine-code interpreter of the simulated CPU: executes x86 integer
 * instructions from RIP in real mode, 16/32-bit protected mode (paging off,
 * 32-bit or PAE paging) and 64-bit mode, until RIP reaches a code record
 * (`runner.ts` then calls its TypeScript function).
 *
 * Each instruction is decoded (`decode.ts`) and executed with no side effect
 * before its last fault check, so a fault leaves the state as it was and RIP
 * at the instruction; the flags come from `alu.ts`. Faults go through
 * `events.ts`'s `raise()` (the IDT, the real-mode IVT, the exception bitmap),
 * and every instruction that exits takes the exit path the intrinsics of
 * `insn.ts` take, with the instruction's own length. Memory operands go
 * through the segment checks, the TLB and the MMU; a GPA without a memslot
 * is an MMIO exit with the instruction's length, width, direction and data,
 * completed on the next entry as KVM's emulator completes it.
 *
 * Not modelled (raise #UD as an unknown opcode would): x87, MMX, SSE and
 * later vector instructions, BCD adjustment, BOUND, ARPL, task switches,
 * SYSCALL/SYSENTER and their returns, segment-limit checks of expand-down
 * segments, single-step (#DB) and hardware breakpoints.
 *
 * @module
 */

import * as A from "./alu.ts";
import {
  ABORT,
  CS,
  d,
  decode_begin,
  decode_opcode,
  DS,
  ea_final,
  ES,
  fault,
  fb,
  gp0,
  ib_s,
  id,
  id_s,
  iw,
  modrm,
  SS,
} from "./decode.ts";
import {
  cr4_lo,
  cr_get,
  cs_l,
  dtable_get,
  dtable_set,
  fep_enabled,
  fix_hypercall_quirk,
  get_cpl,
  in_protected_mode,
  interruptibility,
  is_lma,
  la57_active,
  load_segment,
  mmio,
  mmio_data,
  raise_translation_fault,
  raise_trap,
  read_tsc_words,
  reg_get,
  reg_hi,
  reg_lo,
  reg_set,
  reg_set_pair,
  reg_set_sized,
  RESUME_RETRY,
  rflags,
  rip_set,
  seg_base_hi,
  seg_base_lo,
  seg_db,
  seg_limit,
  seg_selector,
  seg_type,
  seg_usable,
  set_interruptibility,
  set_raw_insn,
  set_rflags,
  set_rip,
  take_transfer,
  tick,
  vmcs_field_get,
  vmcs_field_set,
  xcr0_get,
} from "./cpu.ts";
import {
  exit_hlt,
  exit_io,
  exit_io_string,
  exit_msr,
  exit_simple,
  exit_vmcall,
  exit_wbinvd,
  invlpg,
  ltr,
  read_cr,
  write_cr,
} from "./insn.ts";
import { GUEST_CODE_MAGIC } from "../../include/guest_code.ts";
import {
  ACC_FETCH,
  ACC_READ,
  ACC_WRITE,
  t_dv,
  t_off,
  tlb,
  TLB_P_R,
  TLB_P_W,
  TR_OK,
  translate,
} from "./mmu.ts";
import { e_td_mmio } from "./mmu.ts";
import { set_nmi_blocking } from "./state.ts";
import {
  BP_VECTOR,
  DB_VECTOR,
  DE_VECTOR,
  EXIT_REASON_CPUID,
  EXIT_REASON_TDCALL,
  EXIT_REASON_XSETBV,
  GP_VECTOR,
  GUEST_INTR_STATE_MOV_SS,
  INTR_TYPE_SOFT_EXCEPTION,
  INTR_TYPE_SOFT_INTR,
  NM_VECTOR,
  OF_VECTOR,
  SS_VECTOR,
  UD_VECTOR,
  VCPU_REGS_RAX,
  VCPU_REGS_RBX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
  VCPU_REGS_RSP,
  X86_CR0_EM,
  X86_CR0_PE,
  X86_CR0_TS,
  X86_CR4_DE,
  X86_CR4_OSXSAVE,
  X86_CR4_TSD,
  X86_EFLAGS_IF,
  X86_EFLAGS_IOPL,
  X86_EFLAGS_NT,
  X86_EFLAGS_RF,
  X86_EFLAGS_VM,
} from "./vmx.ts";

const TWO32 = 4294967296;
const RAX = VCPU_REGS_RAX, RCX = VCPU_REGS_RCX, RDX = VCPU_REGS_RDX, RBX = VCPU_REGS_RBX;
const RSP = VCPU_REGS_RSP, RSI = VCPU_REGS_RSI, RDI = VCPU_REGS_RDI;
/** RFLAGS bits POPF/IRET may change (ID, AC, RF, NT, IOPL, OF, DF, IF, TF, status). */
const FLAGS_WRITABLE = 0x257fd5;
/** The first two bytes of a code record's magic (`include/guest_code.ts`): a UD2. */
const RECORD_MAGIC_LO = GUEST_CODE_MAGIC & 0xffff;

/** Debug registers 0-3 (DR6/DR7 live in the VMCS). */
const dr03 = [0n, 0n, 0n, 0n];

/** Instructions executed (for the benchmark). */
export let interp_count = 0;

// ---------------------------------------------------------------------------
// Registers.

function gr(r: number, size: number): number {
  if (size === 4) return reg_lo(r);
  if (size === 2) return reg_lo(r) & 0xffff;
  if (!d.rex && r >= 4 && r < 8) return (reg_lo(r - 4) >>> 8) & 0xff;
  return reg_lo(r) & 0xff;
}

function sr(r: number, size: number, v: number): void {
  if (size === 4) {
    // 32-bit results zero-extend in 64-bit mode; elsewhere bits 63:32 are kept.
    if (d.m64) reg_set_pair(r, 0, v >>> 0);
    else reg_set_pair(r, reg_hi(r), v >>> 0);
  } else if (size === 2) reg_set_sized(r, 2, v);
  else if (!d.rex && r >= 4 && r < 8) {
    const lo = reg_lo(r - 4);
    reg_set_sized(r - 4, 2, (lo & 0xff) | ((v & 0xff) << 8));
  } else reg_set_sized(r, 1, v);
}

/** A register of any size as a bigint. */
function grb(r: number, size: number): bigint {
  return size === 8 ? reg_get(r) : BigInt(gr(r, size));
}

function srb(r: number, size: number, v: bigint): void {
  if (size === 8) reg_set(r, v);
  else sr(r, size, Number(BigInt.asUintN(size * 8, v)));
}

// ---------------------------------------------------------------------------
// Memory: segmentation, then the TLB / MMU, then MMIO.

let l_hi = 0;
let l_lo = 0;

/**
 * The linear address of `seg`:`hi:lo` for an access of `size` bytes, after
 * the segment checks (SDM Vol. 3 5.3 and 3.4.5: limit, usability, type),
 * into `l_hi`/`l_lo`.
 */
function linear(seg: number, hi: number, lo: number, size: number, write: boolean): void {
  if (d.m64) {
    if (seg === 4 || seg === 5) {
      const s = lo + seg_base_lo(seg);
      hi = (hi + seg_base_hi(seg) + (s >= TWO32 ? 1 : 0)) >>> 0;
      lo = s >>> 0;
    }
    // A non-canonical stack reference is #SS(0); others are #GP(0) (the MMU's).
    if (seg === SS) {
      const top = la57_active() ? (hi | 0) >> 24 : (hi | 0) >> 15;
      if (top !== 0 && top !== -1) fault(SS_VECTOR, 0);
    }
    l_hi = hi;
    l_lo = lo;
    return;
  }
  if (in_protected_mode()) {
    const bad = seg === SS ? SS_VECTOR : GP_VECTOR;
    if (!seg_usable(seg)) fault(bad, 0);
    const t = seg_type(seg);
    // Code segments are never writable and readable only with R; data needs W to write.
    if (write ? (t & 8) !== 0 || (t & 2) === 0 : (t & 0xa) === 8) fault(bad, 0);
    if (lo + size - 1 > seg_limit(seg) >>> 0) fault(bad, 0);
  } else if (lo + size - 1 > (seg_limit(seg) >>> 0)) {
    fault(seg === SS ? SS_VECTOR : GP_VECTOR, 0);
  }
  l_hi = 0;
  l_lo = (seg_base_lo(seg) + lo) >>> 0;
}

/** Reads `size` (1, 2, 4) bytes at `seg`:`hi:lo`. */
function rd(seg: number, hi: number, lo: number, size: number): number {
  linear(seg, hi, lo, size, false);
  const o = l_lo & 0xfff;
  const i = (l_lo >>> 12) & tlb.mask;
  if (
    o <= 4096 - size && tlb.tag[i] === l_hi * 1048576 + (l_lo >>> 12) &&
    (tlb.perm[i]! & TLB_P_R) !== 0
  ) {
    const dv = tlb.dv[i]!;
    const off = tlb.off[i]! + o;
    return size === 4
      ? dv.getUint32(off, true)
      : size === 2
      ? dv.getUint16(off, true)
      : dv.getUint8(off);
  }
  return Number(rd_lin(l_hi, l_lo, size));
}

/** Reads 8 bytes. */
function rd64(seg: number, hi: number, lo: number): bigint {
  linear(seg, hi, lo, 8, false);
  return rd_lin(l_hi, l_lo, 8);
}

function wr(seg: number, hi: number, lo: number, size: number, v: number): void {
  linear(seg, hi, lo, size, true);
  const o = l_lo & 0xfff;
  const i = (l_lo >>> 12) & tlb.mask;
  if (
    o <= 4096 - size && tlb.tag[i] === l_hi * 1048576 + (l_lo >>> 12) &&
    (tlb.perm[i]! & TLB_P_W) !== 0
  ) {
    const dv = tlb.dv[i]!;
    const off = tlb.off[i]! + o;
    if (size === 4) dv.setUint32(off, v, true);
    else if (size === 2) dv.setUint16(off, v, true);
    else dv.setUint8(off, v);
    return;
  }
  wr_lin(l_hi, l_lo, size, BigInt(v >>> 0));
}

function wr64(seg: number, hi: number, lo: number, v: bigint): void {
  linear(seg, hi, lo, 8, true);
  wr_lin(l_hi, l_lo, 8, v);
}

/** Reads of any size as a bigint. */
function rdb(seg: number, hi: number, lo: number, size: number): bigint {
  return size === 8 ? rd64(seg, hi, lo) : BigInt(rd(seg, hi, lo, size));
}

function wrb(seg: number, hi: number, lo: number, size: number, v: bigint): void {
  if (size === 8) wr64(seg, hi, lo, BigInt.asUintN(64, v));
  else wr(seg, hi, lo, size, Number(BigInt.asUintN(size * 8, v)));
}

function add_lin(hi: number, lo: number, n: number): [number, number] {
  const l = lo + n;
  if (!d.m64) return [0, l >>> 0];
  return [(hi + (l >= TWO32 ? 1 : 0)) >>> 0, l >>> 0];
}

/** The slow path of a read at linear `hi:lo`: page crossings, faults, MMIO. */
function rd_lin(hi: number, lo: number, size: number): bigint {
  set_raw_insn(d.len);
  if ((lo & 0xfff) + size > 4096) {
    // Two pages: both are translated before anything is read, as hardware faults first.
    const first = 4096 - (lo & 0xfff);
    const [h2, l2] = add_lin(hi, lo, first);
    const a = rd_lin(hi, lo, first);
    const b = rd_lin(h2, l2, size - first);
    return a | (b << BigInt(8 * first));
  }
  for (;;) {
    const st = translate(hi, lo, ACC_READ);
    if (st === TR_OK) {
      if (size === 8) return t_dv.getBigUint64(t_off, true);
      let v = 0;
      for (let i = 0; i < size; i++) v += t_dv.getUint8(t_off + i) * 2 ** (8 * i);
      return BigInt(v);
    }
    if (st === 1) {
      raise_translation_fault();
      throw ABORT;
    }
    const r = mmio(hi, lo, size, false, 0, 0);
    if (r === RESUME_RETRY || e_td_mmio) throw ABORT;
    // The kernel completed the access; the instruction itself goes on.
    rip_set(BigInt(d.ip_hi) * 0x100000000n + BigInt(d.ip_lo));
    const m = size === 8 ? 0xffffffffffffffffn : (1n << BigInt(8 * size)) - 1n;
    return mmio_data() & m;
  }
}

function wr_lin(hi: number, lo: number, size: number, v: bigint): void {
  set_raw_insn(d.len);
  if ((lo & 0xfff) + size > 4096) {
    const first = 4096 - (lo & 0xfff);
    const [h2, l2] = add_lin(hi, lo, first);
    // Probe both pages for a write before storing anything.
    probe_write(hi, lo);
    probe_write(h2, l2);
    wr_lin(hi, lo, first, v & ((1n << BigInt(8 * first)) - 1n));
    wr_lin(h2, l2, size - first, v >> BigInt(8 * first));
    return;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_WRITE);
    if (st === TR_OK) {
      if (size === 8) t_dv.setBigUint64(t_off, v, true);
      else {
        for (let i = 0; i < size; i++) {
          t_dv.setUint8(t_off + i, Number((v >> BigInt(8 * i)) & 0xffn));
        }
      }
      return;
    }
    if (st === 1) {
      raise_translation_fault();
      throw ABORT;
    }
    const r = mmio(hi, lo, size, true, Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
    if (r === RESUME_RETRY || e_td_mmio) throw ABORT;
    rip_set(BigInt(d.ip_hi) * 0x100000000n + BigInt(d.ip_lo));
    return;
  }
}

function probe_write(hi: number, lo: number): void {
  const st = translate(hi, lo, ACC_WRITE);
  if (st === 1) {
    raise_translation_fault();
    throw ABORT;
  }
}

// ---------------------------------------------------------------------------
// Operands.

// Locked read-modify-writes (LOCK, XCHG with memory): the read is an atomic
// load and the write a compare-exchange against it, so other vCPUs see the
// RMW as one access; a lost race re-executes the instruction (its memory
// write is the first side effect). An unaligned or MMIO operand falls back
// to a read then a write.
let locked = false;
let lk_arr: Uint8Array | Uint16Array | Uint32Array | BigUint64Array | null = null;
let lk_idx = 0;
let lk_old: number | bigint = 0;

interface atomic_views {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  u64: BigUint64Array;
}
const views_of = new WeakMap<SharedArrayBuffer, atomic_views>();

function atomic_view(buf: SharedArrayBuffer): atomic_views {
  let v = views_of.get(buf);
  if (!v) {
    const n = buf.byteLength;
    v = {
      u8: new Uint8Array(buf),
      u16: new Uint16Array(buf, 0, n >> 1),
      u32: new Uint32Array(buf, 0, n >> 2),
      u64: new BigUint64Array(buf, 0, n >> 3),
    };
    views_of.set(buf, v);
  }
  return v;
}

/** Opens the locked memory operand of `size` bytes; false when it cannot be atomic. */
function lock_open(size: number): boolean {
  lk_arr = null;
  ea_final();
  linear(d.eseg, d.ea_hi, d.ea_lo, size, true);
  if (l_lo % size !== 0) return false;
  const i = (l_lo >>> 12) & tlb.mask;
  const tag = l_hi * 1048576 + (l_lo >>> 12);
  if (tlb.tag[i] !== tag || (tlb.perm[i]! & TLB_P_W) === 0) {
    // Walk for the write (A/D set); a fault or MMIO is left to the ordinary path.
    if (translate(l_hi, l_lo, ACC_WRITE) !== TR_OK) return false;
    if (tlb.tag[i] !== tag || (tlb.perm[i]! & TLB_P_W) === 0) return false;
  }
  const dv = tlb.dv[i]!;
  if (!(dv.buffer instanceof SharedArrayBuffer)) return false;
  const byte = dv.byteOffset + tlb.off[i]! + (l_lo & 0xfff);
  if (byte % size !== 0) return false;
  const v = atomic_view(dv.buffer);
  lk_arr = size === 1 ? v.u8 : size === 2 ? v.u16 : size === 4 ? v.u32 : v.u64;
  lk_idx = byte / size;
  lk_old = Atomics.load(lk_arr as Uint32Array, lk_idx);
  return true;
}

/** The compare-exchange of a locked write; a changed location re-executes the instruction. */
function lock_store(v: number | bigint): void {
  const arr = lk_arr!;
  lk_arr = null;
  const got = arr instanceof BigUint64Array
    ? Atomics.compareExchange(arr, lk_idx, lk_old as bigint, BigInt.asUintN(64, v as bigint))
    : Atomics.compareExchange(arr as Uint32Array, lk_idx, lk_old as number, Number(v));
  if (got !== lk_old) throw ABORT;
}

function get_rm(size: number): number {
  if (!d.mem) return gr(d.rm, size);
  if (locked && lock_open(size)) return Number(lk_old);
  ea_final();
  return rd(d.eseg, d.ea_hi, d.ea_lo, size);
}

function set_rm(size: number, v: number): void {
  if (!d.mem) return sr(d.rm, size, v);
  if (lk_arr) return lock_store(v >>> 0);
  wr(d.eseg, d.ea_hi, d.ea_lo, size, v);
}

function get_rmb(size: number): bigint {
  if (!d.mem) return grb(d.rm, size);
  if (locked && lock_open(size)) return BigInt(lk_old);
  ea_final();
  return rdb(d.eseg, d.ea_hi, d.ea_lo, size);
}

function set_rmb(size: number, v: bigint): void {
  if (!d.mem) return srb(d.rm, size, v);
  if (lk_arr) return lock_store(size === 8 ? v : Number(BigInt.asUintN(size * 8, v)));
  wrb(d.eseg, d.ea_hi, d.ea_lo, size, v);
}

// 8-byte operands as 32-bit halves: the hot 64-bit paths avoid bigints.
let p_hi = 0;

/** Bits 31:0 of the 8-byte r/m operand; bits 63:32 in `p_hi`. */
function get_rm_p(): number {
  if (!d.mem) {
    p_hi = reg_hi(d.rm);
    return reg_lo(d.rm);
  }
  if (locked && lock_open(8)) {
    const v = lk_old as bigint;
    p_hi = Number(v >> 32n);
    return Number(v & 0xffffffffn);
  }
  ea_final();
  return rd_p(d.eseg, d.ea_hi, d.ea_lo);
}

/** An 8-byte read at `seg`:`hi:lo`: bits 31:0 returned, 63:32 in `p_hi`. */
function rd_p(seg: number, hi: number, lo: number): number {
  linear(seg, hi, lo, 8, false);
  const o = l_lo & 0xfff;
  const i = (l_lo >>> 12) & tlb.mask;
  if (
    o <= 4088 && tlb.tag[i] === l_hi * 1048576 + (l_lo >>> 12) && (tlb.perm[i]! & TLB_P_R) !== 0
  ) {
    const dv = tlb.dv[i]!;
    const off = tlb.off[i]! + o;
    p_hi = dv.getUint32(off + 4, true);
    return dv.getUint32(off, true);
  }
  const v = rd_lin(l_hi, l_lo, 8);
  p_hi = Number(v >> 32n);
  return Number(v & 0xffffffffn);
}

function set_rm_p(hi: number, lo: number): void {
  if (!d.mem) return reg_set_pair(d.rm, hi, lo);
  if (lk_arr) return lock_store((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  wr_p(d.eseg, d.ea_hi, d.ea_lo, hi, lo);
}

/** An 8-byte write of `vhi:vlo` at `seg`:`hi:lo`. */
function wr_p(seg: number, ahi: number, alo: number, hi: number, lo: number): void {
  linear(seg, ahi, alo, 8, true);
  const o = l_lo & 0xfff;
  const i = (l_lo >>> 12) & tlb.mask;
  if (
    o <= 4088 && tlb.tag[i] === l_hi * 1048576 + (l_lo >>> 12) && (tlb.perm[i]! & TLB_P_W) !== 0
  ) {
    const dv = tlb.dv[i]!;
    const off = tlb.off[i]! + o;
    dv.setUint32(off, lo, true);
    dv.setUint32(off + 4, hi, true);
    return;
  }
  wr_lin(l_hi, l_lo, 8, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

/** The operand size of byte (`b` = even opcode) / full-size forms. */
function bsize(op: number): number {
  return (op & 1) === 0 ? 1 : d.osize;
}

/** An immediate of `size` for ALU forms: 1 → Ib, else Iz (sign-extended for 8). */
function imm_for(size: number): number {
  if (size === 1) return fb();
  if (size === 2) return iw();
  return id_s();
}

// ---------------------------------------------------------------------------
// The stack.

function sp_size(): number {
  return d.m64 ? 8 : seg_db(SS) ? 4 : 2;
}

let s_hi = 0;
let s_lo = 0;

function sp_load(): void {
  const w = sp_size();
  s_hi = w === 8 ? reg_hi(RSP) : 0;
  s_lo = w === 2 ? reg_lo(RSP) & 0xffff : reg_lo(RSP);
}

function sp_add(n: number): void {
  const w = sp_size();
  let l = s_lo + n;
  if (w === 8) {
    if (l < 0) {
      l += TWO32;
      s_hi = (s_hi - 1) >>> 0;
    } else if (l >= TWO32) {
      l -= TWO32;
      s_hi = (s_hi + 1) >>> 0;
    }
    s_lo = l;
  } else s_lo = w === 2 ? l & 0xffff : l >>> 0;
}

function sp_store(): void {
  const w = sp_size();
  if (w === 8) reg_set_pair(RSP, s_hi, s_lo);
  else sr(RSP, w, s_lo);
}

/** Pushes (without committing RSP): call `sp_load()` first and `sp_store()` after. */
function pushv(size: number, v: bigint | number): void {
  sp_add(-size);
  if (size === 8) wr64(SS, s_hi, s_lo, BigInt.asUintN(64, BigInt(v)));
  else wr(SS, s_hi, s_lo, size, Number(BigInt.asUintN(size * 8, BigInt(v))));
}

function popv(size: number): bigint {
  const v = size === 8 ? rd64(SS, s_hi, s_lo) : BigInt(rd(SS, s_hi, s_lo, size));
  sp_add(size);
  return v;
}

/** Pushes an 8-byte value given as halves (64-bit mode's hot path, no bigint). */
function push_p(hi: number, lo: number): void {
  sp_add(-8);
  wr_p(SS, s_hi, s_lo, hi, lo);
}

/** Pops 8 bytes: bits 31:0 returned, 63:32 in `p_hi`. */
function pop_p(): number {
  const lo = rd_p(SS, s_hi, s_lo);
  sp_add(8);
  return lo;
}

/** Operand size of PUSH/POP/CALL/RET: 64-bit mode defaults to 8 (0x66 selects 2). */
function stack_osize(): number {
  return d.m64 ? (d.p66 && !(d.rex & 8) ? 2 : 8) : d.osize;
}

// ---------------------------------------------------------------------------
// Control flow.

let n_hi = 0;
let n_lo = 0;

/** The address of the next instruction into `n_hi`/`n_lo`. */
function next_ip(): void {
  const l = d.ip_lo + d.len;
  if (d.m64) {
    n_hi = (d.ip_hi + (l >= TWO32 ? 1 : 0)) >>> 0;
    n_lo = l >>> 0;
  } else {
    n_hi = 0;
    n_lo = d.code16 ? l & 0xffff : l >>> 0;
  }
}

function set_ip(hi: number, lo: number): void {
  set_rip(hi, lo);
}

function finish(): void {
  next_ip();
  set_ip(n_hi, n_lo);
}

/** Jumps to `hi:lo` with operand size `size`: truncated to 16/32 bits, checked against CS. */
function jump(hi: number, lo: number, size: number): void {
  if (size === 8) {
    const top = la57_active() ? (hi | 0) >> 24 : (hi | 0) >> 15;
    if (top !== 0 && top !== -1) gp0();
    set_ip(hi, lo);
    return;
  }
  const t = size === 2 ? lo & 0xffff : lo >>> 0;
  if (!d.m64 && t > seg_limit(CS) >>> 0) gp0();
  set_ip(0, t);
}

/** A relative jump by `rel` from the next instruction. */
function jump_rel(rel: number): void {
  next_ip();
  const l = n_lo + rel;
  let hi = n_hi;
  if (d.m64) {
    if (l < 0) hi = (hi - 1) >>> 0;
    else if (l >= TWO32) hi = (hi + 1) >>> 0;
  }
  // Near branches in 64-bit mode are 64-bit whatever the 0x66 prefix says (Intel).
  jump(hi, (l + TWO32) >>> 0, d.m64 ? 8 : d.osize);
}

/** Loads CS for a far transfer: real mode (base = sel * 16) or a GDT code descriptor. */
function load_cs(sel: number, cpl_target?: number): void {
  const r = load_segment(CS, sel, cpl_target);
  if (r === RESUME_RETRY || (in_protected_mode() && seg_selector(CS) >>> 2 !== sel >>> 2)) {
    throw ABORT;
  }
}

function far_jump(sel: number, off_hi: number, off_lo: number, size: number): void {
  load_cs(sel);
  const m64 = in_long_mode_now();
  if (m64 && size === 8) set_ip(off_hi, off_lo);
  else set_ip(0, size === 2 ? off_lo & 0xffff : off_lo >>> 0);
}

function in_long_mode_now(): boolean {
  return is_lma() && cs_is_64();
}

function cs_is_64(): boolean {
  return cs_l();
}

// ---------------------------------------------------------------------------
// The run loop.

/**
 * Executes machine code from RIP until RIP reaches a code record. Faults
 * and exits are handled inside; the CPU's control-transfer signal (a
 * handler moved RIP) is taken here, and execution goes on at the new RIP.
 */
export function interp_run(): void {
  for (;;) {
    tick();
    try {
      if (at_record()) return;
      step();
    } catch (e) {
      set_raw_insn(0);
      locked = false;
      lk_arr = null;
      if (e === ABORT) continue;
      if (take_transfer(e)) continue;
      throw e;
    }
  }
}

/** Whether the bytes at RIP start a code record (checked without faulting). */
function at_record(): boolean {
  decode_begin();
  if (d.avail >= 2) {
    return d.fdv!.getUint16(d.foff, true) === RECORD_MAGIC_LO && record_magic_full();
  }
  return record_magic_full();
}

function record_magic_full(): boolean {
  let hi = d.lin_hi;
  let lo = d.lin_lo;
  for (let i = 0; i < 4; i++) {
    if (translate(hi, lo, ACC_FETCH) !== TR_OK) return false;
    if (t_dv.getUint8(t_off) !== ((GUEST_CODE_MAGIC >>> (8 * i)) & 0xff)) return false;
    [hi, lo] = add_lin(hi, lo, 1);
  }
  return true;
}

let shadow_pending = false;

/** Forgets the instruction-boundary state of the last vCPU (its worker serves another now). */
export function interp_reset(): void {
  shadow_pending = false;
  locked = false;
  lk_arr = null;
}

/** Decodes and executes one instruction. */
function step(): void {
  decode_opcode();
  interp_count++;
  // An interrupt shadow (MOV SS, POP SS, STI) covers exactly one instruction.
  const had_shadow = shadow_pending;
  shadow_pending = false;
  // XCHG with a memory operand is locked without the prefix.
  locked = d.lock || d.op === 0x86 || d.op === 0x87;
  lk_arr = null;
  exec(d.op);
  locked = false;
  if (had_shadow && !shadow_pending && (interruptibility() & 3) !== 0) set_interruptibility(0);
  set_raw_insn(0);
}

/** The exits' shared bookkeeping: the length is known once the operands are decoded. */
function exiting(): void {
  set_raw_insn(d.len);
}

function cpl(): number {
  return in_protected_mode() ? get_cpl() : 0;
}

function iopl_ok(): boolean {
  return cpl() <= ((rflags() & X86_EFLAGS_IOPL) >>> 12);
}

function no_lock(): void {
  if (d.lock) fault(UD_VECTOR);
}

/** #UD for a LOCK prefix whose instruction has no memory destination to update atomically. */
function lock_ok(): void {
  if (d.lock && !d.mem) fault(UD_VECTOR);
}

function ud(): never {
  fault(UD_VECTOR);
}

function exec(op: number): void {
  if (op < 0x40 && (op & 7) < 6) return alu_op(op);
  if (op >= 0x100) return exec_0f(op & 0xff);
  if (op >= 0x70 && op <= 0x7f) {
    no_lock();
    const rel = ib_s();
    if (A.cond(op & 15, rflags())) return jump_rel(rel);
    return finish();
  }
  if (d.lock && !is_lockable(op)) ud();
  switch (op) {
    case 0x06:
    case 0x0e:
    case 0x16:
    case 0x1e:
      if (d.m64) ud();
      return push_sreg(op >> 3);
    case 0x07:
    case 0x17:
    case 0x1f:
      if (d.m64) ud();
      return pop_sreg(op >> 3);
    case 0x40:
    case 0x41:
    case 0x42:
    case 0x43:
    case 0x44:
    case 0x45:
    case 0x46:
    case 0x47:
    case 0x48:
    case 0x49:
    case 0x4a:
    case 0x4b:
    case 0x4c:
    case 0x4d:
    case 0x4e:
    case 0x4f: {
      // (REX in 64-bit mode, consumed by the decoder.)
      const r = op & 7;
      const size = d.osize;
      const v = A.incdec(op >= 0x48, size, gr(r, size), rflags());
      sr(r, size, v);
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0x50:
    case 0x51:
    case 0x52:
    case 0x53:
    case 0x54:
    case 0x55:
    case 0x56:
    case 0x57: {
      const size = stack_osize();
      const r = (op & 7) | ((d.rex & 1) << 3);
      sp_load();
      if (size === 8) push_p(reg_hi(r), reg_lo(r));
      else pushv(size, grb(r, size));
      sp_store();
      return finish();
    }
    case 0x58:
    case 0x59:
    case 0x5a:
    case 0x5b:
    case 0x5c:
    case 0x5d:
    case 0x5e:
    case 0x5f: {
      const size = stack_osize();
      const r = (op & 7) | ((d.rex & 1) << 3);
      sp_load();
      if (size === 8) {
        const lo = pop_p();
        sp_store();
        reg_set_pair(r, p_hi, lo);
        return finish();
      }
      const v = popv(size);
      sp_store();
      srb(r, size, v);
      return finish();
    }
    case 0x60:
      return pusha();
    case 0x61:
      return popa();
    case 0x63: {
      if (!d.m64) ud();
      // MOVSXD.
      modrm();
      const v = get_rm(4);
      if (d.osize === 8) reg_set(d.reg, BigInt(v | 0));
      else sr(d.reg, d.osize, v);
      return finish();
    }
    case 0x68:
    case 0x6a: {
      const size = stack_osize();
      const v = op === 0x6a ? ib_s() : size === 2 ? iw() : id_s();
      sp_load();
      pushv(size, BigInt(v));
      sp_store();
      return finish();
    }
    case 0x69:
    case 0x6b: {
      modrm();
      const size = d.osize;
      const imm = op === 0x6b ? ib_s() : size === 2 ? iw() : id_s();
      const a = get_rmb(size);
      const r = A.imul_trunc(size, a, BigInt.asUintN(size * 8, BigInt(imm)), rflags());
      srb(d.reg, size, r);
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
      return string_io(op);
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83: {
      if (op === 0x82 && d.m64) ud();
      modrm();
      const size = bsize(op);
      const imm = op === 0x81 ? imm_for(size) : op === 0x83 ? ib_s() : fb();
      return alu_apply(d.digit, size, imm, true);
    }
    case 0x84:
    case 0x85: {
      modrm();
      const size = bsize(op);
      if (size === 8) {
        const lo = get_rm_p();
        A.alu64p(A.AND, p_hi, lo, reg_hi(d.reg), reg_lo(d.reg), rflags());
      } else A.alu(A.AND, size, get_rm(size), gr(d.reg, size), rflags());
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0x86:
    case 0x87: {
      // XCHG with memory is locked whether or not LOCK is given.
      modrm();
      const size = bsize(op);
      const a = get_rmb(size);
      const b = grb(d.reg, size);
      set_rmb(size, b);
      srb(d.reg, size, a);
      return finish();
    }
    case 0x88:
    case 0x89: {
      modrm();
      const size = bsize(op);
      if (size === 8) set_rm_p(reg_hi(d.reg), reg_lo(d.reg));
      else set_rm(size, gr(d.reg, size));
      return finish();
    }
    case 0x8a:
    case 0x8b: {
      modrm();
      const size = bsize(op);
      if (size === 8) {
        const lo = get_rm_p();
        reg_set_pair(d.reg, p_hi, lo);
      } else sr(d.reg, size, get_rm(size));
      return finish();
    }
    case 0x8c: {
      modrm();
      if (d.digit > 5) ud();
      const v = seg_selector(d.digit);
      // To memory always 16 bits; to a register zero-extended to the operand size.
      if (d.mem) set_rm(2, v);
      else if (d.osize === 8) reg_set(d.rm, BigInt(v));
      else sr(d.rm, d.osize, v);
      return finish();
    }
    case 0x8d: {
      modrm();
      if (!d.mem) ud();
      ea_final();
      if (d.osize === 8) reg_set_pair(d.reg, d.ea_hi, d.ea_lo);
      else sr(d.reg, d.osize, d.ea_lo);
      return finish();
    }
    case 0x8e: {
      modrm();
      const s = d.digit;
      if (s === CS || s > 5) ud();
      const sel = get_rm(2);
      load_sreg(s, sel);
      if (s === SS) shadow(GUEST_INTR_STATE_MOV_SS);
      return finish();
    }
    case 0x8f: {
      modrm();
      if (d.digit !== 0) ud();
      const size = stack_osize();
      sp_load();
      const v = popv(size);
      set_rmb(size, v);
      sp_store();
      return finish();
    }
    case 0x90:
      if (d.rex & 1) return xchg_acc(8);
      if (d.rep === 0xf3) return finish(); // PAUSE: no PAUSE-loop exiting modelled.
      return finish();
    case 0x91:
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x95:
    case 0x96:
    case 0x97:
      return xchg_acc(op & 7);
    case 0x98: {
      const s = d.osize;
      if (s === 8) reg_set(RAX, BigInt(reg_lo(RAX) | 0));
      else if (s === 4) sr(RAX, 4, (reg_lo(RAX) << 16) >> 16);
      else sr(RAX, 2, (reg_lo(RAX) << 24) >> 24);
      return finish();
    }
    case 0x99: {
      const s = d.osize;
      if (s === 8) reg_set(RDX, reg_hi(RAX) >> 31 ? -1n : 0n);
      else if (s === 4) sr(RDX, 4, reg_lo(RAX) >> 31);
      else sr(RDX, 2, (reg_lo(RAX) << 16) >> 31);
      return finish();
    }
    case 0x9a: {
      if (d.m64) ud();
      const off = d.osize === 2 ? iw() : id();
      const sel = iw();
      return far_call(sel, 0, off);
    }
    case 0x9b:
      // FWAIT: #NM with CR0.MP and CR0.TS.
      if ((Number(cr_get(0) & 0xffn) & 0xa) === 0xa) fault(NM_VECTOR);
      return finish();
    case 0x9c: {
      if (rflags() & X86_EFLAGS_VM) gp0();
      const size = stack_osize();
      sp_load();
      // PUSHF stores VM and RF as 0 whatever RFLAGS holds.
      pushv(size, rflags() & ~(X86_EFLAGS_VM | X86_EFLAGS_RF));
      sp_store();
      return finish();
    }
    case 0x9d:
      return popf();
    case 0x9e: {
      const fl = rflags();
      const ah = (reg_lo(RAX) >>> 8) & 0xd5;
      set_rflags((fl & ~0xd5) | ah | 2);
      return finish();
    }
    case 0x9f:
      sr(4, 1, (rflags() & 0xd7) | 2);
      return finish();
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3: {
      // moffs: an address of the address size, no ModRM.
      const size = bsize(op);
      let hi = 0;
      let lo: number;
      if (d.asize === 8) {
        lo = id();
        hi = id();
      } else lo = d.asize === 4 ? id() : iw();
      const seg = d.seg >= 0 ? d.seg : DS;
      if (op < 0xa2) srb(RAX, size, rdb(seg, hi, lo, size));
      else wrb(seg, hi, lo, size, grb(RAX, size));
      return finish();
    }
    case 0xa4:
    case 0xa5:
    case 0xa6:
    case 0xa7:
    case 0xaa:
    case 0xab:
    case 0xac:
    case 0xad:
    case 0xae:
    case 0xaf:
      return string_op(op);
    case 0xa8:
    case 0xa9: {
      const size = bsize(op);
      const imm = imm_for(size);
      if (size === 8) A.alu64(A.AND, reg_get(RAX), BigInt.asUintN(64, BigInt(imm)), rflags());
      else A.alu(A.AND, size, gr(RAX, size), imm >>> 0, rflags());
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0xb0:
    case 0xb1:
    case 0xb2:
    case 0xb3:
    case 0xb4:
    case 0xb5:
    case 0xb6:
    case 0xb7:
      sr((op & 7) | ((d.rex & 1) << 3), 1, fb());
      return finish();
    case 0xb8:
    case 0xb9:
    case 0xba:
    case 0xbb:
    case 0xbc:
    case 0xbd:
    case 0xbe:
    case 0xbf: {
      const r = (op & 7) | ((d.rex & 1) << 3);
      if (d.osize === 8) {
        const lo = id();
        const hi = id();
        reg_set_pair(r, hi, lo);
      } else sr(r, d.osize, d.osize === 2 ? iw() : id());
      return finish();
    }
    case 0xc0:
    case 0xc1:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      modrm();
      const size = bsize(op);
      const count = op <= 0xc1 ? fb() : op <= 0xd1 ? 1 : reg_lo(RCX) & 0xff;
      const a = get_rmb(size);
      const r = A.shift(d.digit, size, a, count, rflags());
      set_rmb(size, r);
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0xc2:
    case 0xc3: {
      const imm = op === 0xc2 ? iw() : 0;
      const size = stack_osize();
      sp_load();
      if (size === 8) {
        const lo = pop_p();
        sp_add(imm);
        jump(p_hi, lo, 8);
        sp_store();
        return;
      }
      const t = popv(size);
      sp_add(imm);
      jump(Number(t >> 32n), Number(t & 0xffffffffn), size);
      sp_store();
      return;
    }
    case 0xc4:
    case 0xc5:
      // LES/LDS outside 64-bit mode (VEX prefixes there: not modelled).
      if (d.m64) ud();
      return load_far_ptr(op === 0xc4 ? ES : DS);
    case 0xc6:
    case 0xc7: {
      modrm();
      if (d.digit !== 0) ud();
      const size = bsize(op);
      const imm = imm_for(size);
      set_rmb(size, BigInt.asUintN(size * 8, BigInt(imm)));
      return finish();
    }
    case 0xc8:
      return enter();
    case 0xc9: {
      // LEAVE: RSP = RBP, then POP RBP.
      const w = sp_size();
      const size = stack_osize();
      s_hi = w === 8 ? reg_hi(5) : 0;
      s_lo = w === 2 ? reg_lo(5) & 0xffff : reg_lo(5);
      const v = popv(size);
      sp_store();
      srb(5, size, v);
      return finish();
    }
    case 0xca:
    case 0xcb:
      return far_ret(op === 0xca ? iw() : 0);
    case 0xcc:
      exiting();
      raise_trap(BP_VECTOR, 1, INTR_TYPE_SOFT_EXCEPTION);
      throw ABORT;
    case 0xcd: {
      const v = fb();
      exiting();
      soft_int(v, INTR_TYPE_SOFT_INTR);
      throw ABORT;
    }
    case 0xce:
      if (d.m64) ud();
      if (rflags() & A.OF) {
        exiting();
        raise_trap(OF_VECTOR, 1, INTR_TYPE_SOFT_EXCEPTION);
        throw ABORT;
      }
      return finish();
    case 0xcf:
      return iret();
    case 0xd7: {
      // XLAT: AL = [seg:rBX + AL].
      const seg = d.seg >= 0 ? d.seg : DS;
      const base = d.asize === 8 ? reg_lo(RBX) : d.asize === 4 ? reg_lo(RBX) : reg_lo(RBX) & 0xffff;
      let lo = base + (reg_lo(RAX) & 0xff);
      let hi = d.asize === 8 ? reg_hi(RBX) : 0;
      if (lo >= TWO32) {
        lo -= TWO32;
        if (d.asize === 8) hi = (hi + 1) >>> 0;
      }
      if (d.asize === 2) lo &= 0xffff;
      sr(RAX, 1, rd(seg, hi, lo >>> 0, 1));
      return finish();
    }
    case 0xd8:
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      // x87: #NM with CR0.EM or CR0.TS, as the processor checks first; not modelled otherwise.
      const cr0 = Number(cr_get(0) & 0xffn);
      if (cr0 & (X86_CR0_EM | X86_CR0_TS)) {
        modrm();
        fault(NM_VECTOR);
      }
      ud();
      break;
    }
    case 0xe0:
    case 0xe1:
    case 0xe2:
    case 0xe3: {
      const rel = ib_s();
      const amask = d.asize;
      let c = amask === 8 ? reg_get(RCX) : BigInt(amask === 4 ? reg_lo(RCX) : reg_lo(RCX) & 0xffff);
      let take: boolean;
      if (op === 0xe3) take = c === 0n;
      else {
        c = BigInt.asUintN(amask * 8, c - 1n);
        srb(RCX, amask, c);
        const z = (rflags() & A.ZF) !== 0;
        take = c !== 0n && (op === 0xe2 || (op === 0xe1 ? z : !z));
      }
      if (take) return jump_rel(rel);
      return finish();
    }
    case 0xe4:
    case 0xe5:
    case 0xec:
    case 0xed: {
      const port = op <= 0xe5 ? fb() : reg_lo(RDX) & 0xffff;
      const size = (op & 1) === 0 ? 1 : d.osize === 2 ? 2 : 4;
      exiting();
      exit_io(port, size, true, d.len);
      return finish();
    }
    case 0xe6:
    case 0xe7:
    case 0xee:
    case 0xef: {
      const port = op <= 0xe7 ? fb() : reg_lo(RDX) & 0xffff;
      const size = (op & 1) === 0 ? 1 : d.osize === 2 ? 2 : 4;
      exiting();
      exit_io(port, size, false, d.len);
      return finish();
    }
    case 0xe8: {
      const size = d.m64 ? 8 : d.osize;
      const rel = size === 2 ? (iw() << 16) >> 16 : id_s();
      next_ip();
      const rh = n_hi;
      const rl = n_lo;
      sp_load();
      if (size === 8) push_p(rh, rl);
      else pushv(size, rl);
      jump_rel(rel);
      sp_store();
      return;
    }
    case 0xe9: {
      const rel = d.osize === 2 && !d.m64 ? (iw() << 16) >> 16 : id_s();
      return jump_rel(rel);
    }
    case 0xea: {
      if (d.m64) ud();
      const off = d.osize === 2 ? iw() : id();
      const sel = iw();
      return far_jump(sel, 0, off, d.osize);
    }
    case 0xeb:
      return jump_rel(ib_s());
    case 0xf1:
      exiting();
      raise_trap(DB_VECTOR, 1, INTR_TYPE_SOFT_EXCEPTION);
      throw ABORT;
    case 0xf4:
      exiting();
      exit_hlt(d.len);
      return finish();
    case 0xf5:
      set_rflags(rflags() ^ A.CF);
      return finish();
    case 0xf6:
    case 0xf7:
      return group3(op);
    case 0xf8:
    case 0xf9:
      set_rflags(op === 0xf8 ? rflags() & ~A.CF : rflags() | A.CF);
      return finish();
    case 0xfa:
      if (!iopl_ok()) gp0();
      set_rflags(rflags() & ~X86_EFLAGS_IF);
      return finish();
    case 0xfb: {
      if (!iopl_ok()) gp0();
      const was = rflags();
      set_rflags(was | X86_EFLAGS_IF);
      if (!(was & X86_EFLAGS_IF)) shadow(1);
      return finish();
    }
    case 0xfc:
    case 0xfd:
      set_rflags(op === 0xfc ? rflags() & ~A.DF : rflags() | A.DF);
      return finish();
    case 0xfe:
    case 0xff:
      return group45(op);
  }
  ud();
}

function is_lockable(op: number): boolean {
  return (op < 0x40 && (op & 7) < 2 && (op >> 3) !== 7) || (op >= 0x80 && op <= 0x83) ||
    op === 0x86 || op === 0x87 || op === 0xf6 || op === 0xf7 || op === 0xfe || op === 0xff;
}

function shadow(bits: number): void {
  set_interruptibility(bits);
  shadow_pending = true;
}

/** The ALU group `00`..`3D`. */
function alu_op(op: number): void {
  const kind = op >> 3;
  const form = op & 7;
  if (form >= 4) {
    no_lock();
    const size = form === 4 ? 1 : d.osize;
    const imm = imm_for(size);
    if (size === 8) {
      const r = A.alu64p(
        kind,
        reg_hi(RAX),
        reg_lo(RAX),
        imm < 0 ? 0xffffffff : 0,
        imm >>> 0,
        rflags(),
      );
      if (kind !== A.CMP) reg_set_pair(RAX, A.alu_hi, r);
    } else {
      const r = A.alu(kind, size, gr(RAX, size), (imm & A.size_mask(size)) >>> 0, rflags());
      if (kind !== A.CMP) sr(RAX, size, r);
    }
    set_rflags(A.alu_flags);
    return finish();
  }
  modrm();
  const size = (form & 1) === 0 ? 1 : d.osize;
  if (form < 2) {
    // E ← E op G.
    if (d.lock && (!d.mem || kind === A.CMP)) ud();
    if (size === 8) return alu_apply_p(kind, reg_hi(d.reg), reg_lo(d.reg));
    return alu_apply(kind, size, gr(d.reg, size), false);
  }
  no_lock();
  // G ← G op E.
  if (size === 8) {
    const blo = get_rm_p();
    const r = A.alu64p(kind, reg_hi(d.reg), reg_lo(d.reg), p_hi, blo, rflags());
    if (kind !== A.CMP) reg_set_pair(d.reg, A.alu_hi, r);
  } else {
    const r = A.alu(kind, size, gr(d.reg, size), get_rm(size), rflags());
    if (kind !== A.CMP) sr(d.reg, size, r);
  }
  set_rflags(A.alu_flags);
  finish();
}

/** E ← E op `b` (`imm`: `b` is a sign-extended immediate). */
function alu_apply(kind: number, size: number, b: number, imm: boolean): void {
  if (d.lock && (!d.mem || kind === A.CMP)) ud();
  if (size === 8) return alu_apply_p(kind, b < 0 ? 0xffffffff : 0, b >>> 0);
  const bv = imm ? (b & A.size_mask(size)) >>> 0 : b;
  const a = get_rm(size);
  const r = A.alu(kind, size, a, bv, rflags());
  if (kind !== A.CMP) set_rm(size, r);
  set_rflags(A.alu_flags);
  finish();
}

function alu_apply_p(kind: number, bhi: number, blo: number): void {
  const alo = get_rm_p();
  const r = A.alu64p(kind, p_hi, alo, bhi, blo, rflags());
  if (kind !== A.CMP) set_rm_p(A.alu_hi, r);
  set_rflags(A.alu_flags);
  finish();
}

function xchg_acc(r: number): void {
  const reg = r | ((d.rex & 1) << 3);
  const size = d.osize;
  if (reg === RAX && size !== 4 && !(d.rex & 1)) return finish();
  const a = grb(RAX, size);
  const b = grb(reg, size);
  srb(RAX, size, b);
  srb(reg, size, a);
  finish();
}

function push_sreg(s: number): void {
  const size = stack_osize();
  sp_load();
  // A 32-bit push of a segment register writes 16 bits (Intel) — the upper half stays.
  sp_add(-size);
  wr(SS, s_hi, s_lo, 2, seg_selector(s));
  sp_store();
  finish();
}

function pop_sreg(s: number): void {
  const size = stack_osize();
  sp_load();
  const sel = Number(popv(size) & 0xffffn);
  load_sreg(s, sel);
  sp_store();
  if (s === SS) shadow(GUEST_INTR_STATE_MOV_SS);
  finish();
}

function load_sreg(s: number, sel: number): void {
  if (load_segment(s, sel) === RESUME_RETRY) throw ABORT;
}

function pusha(): void {
  if (d.m64) ud();
  const size = d.osize;
  sp_load();
  const sp0 = gr(RSP, size);
  for (let r = 0; r < 8; r++) pushv(size, r === RSP ? sp0 : gr(r, size));
  sp_store();
  finish();
}

function popa(): void {
  if (d.m64) ud();
  const size = d.osize;
  sp_load();
  const v: number[] = [];
  for (let r = 7; r >= 0; r--) v[r] = Number(popv(size));
  sp_store();
  for (let r = 0; r < 8; r++) if (r !== RSP) sr(r, size, v[r]!);
  finish();
}

function popf(): void {
  if (rflags() & X86_EFLAGS_VM) gp0();
  const size = stack_osize();
  sp_load();
  const v = Number(popv(size) & 0xffffffffn);
  sp_store();
  set_rflags(merge_flags(v, size, false));
  finish();
}

/**
 * The RFLAGS image `v` merged as POPF/IRET may (SDM "POPF"): IOPL only at
 * CPL 0, IF only at CPL ≤ IOPL, VM and RF never (IRET: RF may be set).
 */
function merge_flags(v: number, size: number, is_iret: boolean): number {
  const old = rflags();
  let mask = FLAGS_WRITABLE & ~X86_EFLAGS_RF;
  if (is_iret) mask |= X86_EFLAGS_RF;
  if (size === 2) mask &= 0xffff;
  const c = cpl();
  if (in_protected_mode() && c > 0) mask &= ~X86_EFLAGS_IOPL;
  if (in_protected_mode() && c > ((old & X86_EFLAGS_IOPL) >>> 12)) mask &= ~X86_EFLAGS_IF;
  return ((old & ~mask) | (v & mask) | 2) >>> 0;
}

function enter(): void {
  const alloc = iw();
  const level = fb() & 31;
  const size = stack_osize();
  sp_load();
  const bp = grb(5, size);
  pushv(size, bp);
  const frame_hi = s_hi;
  const frame_lo = s_lo;
  if (level > 0) {
    const w = sp_size();
    let b_hi = w === 8 ? reg_hi(5) : 0;
    let b_lo = w === 2 ? reg_lo(5) & 0xffff : reg_lo(5);
    for (let i = 1; i < level; i++) {
      const l = b_lo - size;
      if (w === 8 && l < 0) b_hi = (b_hi - 1) >>> 0;
      b_lo = w === 2 ? l & 0xffff : (l + TWO32) >>> 0;
      pushv(size, size === 8 ? rd64(SS, b_hi, b_lo) : BigInt(rd(SS, b_hi, b_lo, size)));
    }
    pushv(size, BigInt(frame_hi) * 0x100000000n + BigInt(frame_lo));
  }
  sp_add(-alloc);
  // Probe the lowest byte of the frame, as the processor does.
  rd(SS, s_hi, s_lo, 1);
  const frame = BigInt(frame_hi) * 0x100000000n + BigInt(frame_lo);
  srb(5, size, frame);
  sp_store();
  finish();
}

function load_far_ptr(s: number): void {
  modrm();
  if (!d.mem) ud();
  ea_final();
  const size = d.osize === 8 ? 8 : d.osize;
  const off = rdb(d.eseg, d.ea_hi, d.ea_lo, size);
  const [h, l] = add_lin(d.ea_hi, d.ea_lo, size);
  const sel = rd(d.eseg, h, l, 2);
  load_sreg(s, sel);
  srb(d.reg, size, off);
  if (s === SS) shadow(GUEST_INTR_STATE_MOV_SS);
  finish();
}

function far_call(sel: number, off_hi: number, off_lo: number): void {
  const size = d.osize;
  next_ip();
  const old_cs = seg_selector(CS);
  sp_load();
  pushv(size, old_cs);
  pushv(size, BigInt(n_hi) * 0x100000000n + BigInt(n_lo));
  far_jump(sel, off_hi, off_lo, size);
  sp_store();
}

function far_ret(imm: number): void {
  const size = d.m64 ? (d.rex & 8 ? 8 : d.p66 ? 2 : 4) : d.osize;
  sp_load();
  const ip = popv(size);
  const sel = Number(popv(size) & 0xffffn);
  const rpl = sel & 3;
  if (in_protected_mode() && rpl > cpl()) {
    // A return to an outer privilege level: RSP and SS follow.
    sp_add(imm);
    const nsp = popv(size);
    const nss = Number(popv(size) & 0xffffn);
    load_cs(sel, rpl);
    if (load_segment(SS, nss, rpl) === RESUME_RETRY) throw ABORT;
    set_ip(Number(ip >> 32n), Number(ip & 0xffffffffn));
    srb(RSP, size === 2 ? 2 : sp_size(), nsp + BigInt(imm));
    return;
  }
  load_cs(sel);
  sp_add(imm);
  const m64 = in_long_mode_now();
  jump(m64 ? Number(ip >> 32n) : 0, Number(ip & 0xffffffffn), m64 && size === 8 ? 8 : size);
  sp_store();
}

function iret(): void {
  const size = d.m64 ? (d.rex & 8 ? 8 : d.p66 ? 2 : 4) : d.osize;
  // NMI blocking ends first: a fault this IRET raises below leaves NMIs open (SDM 6.7.1).
  set_nmi_blocking(false);
  sp_load();
  if (!in_protected_mode()) {
    const ip = Number(popv(size) & 0xffffffffn);
    const sel = Number(popv(size) & 0xffffn);
    const fl = Number(popv(size) & 0xffffffffn);
    load_cs(sel);
    set_ip(0, size === 2 ? ip & 0xffff : ip);
    sp_store();
    set_rflags(merge_flags(fl, size, true));
    return;
  }
  if (rflags() & X86_EFLAGS_NT && !d.m64) gp0(); // task return: not modelled
  const ip = popv(size);
  const sel = Number(popv(size) & 0xffffn);
  const fl = Number(popv(size) & 0xffffffffn);
  const rpl = sel & 3;
  if (rpl < cpl()) fault(GP_VECTOR, sel & 0xfffc);
  let nsp = 0n;
  let nss = 0;
  const outer = d.m64 || rpl > cpl();
  if (outer) {
    nsp = popv(size);
    nss = Number(popv(size) & 0xffffn);
  }
  const new_fl = merge_flags(fl, size, true);
  load_cs(sel, rpl);
  if (outer) {
    if (load_segment(SS, nss, rpl) === RESUME_RETRY) throw ABORT;
    srb(RSP, d.m64 ? 8 : seg_db(SS) ? 4 : 2, nsp);
  } else sp_store();
  set_rflags(new_fl & ~X86_EFLAGS_VM);
  const m64 = in_long_mode_now();
  set_ip(m64 ? Number(ip >> 32n) : 0, size === 2 ? Number(ip & 0xffffn) : Number(ip & 0xffffffffn));
}

function soft_int(v: number, type: number): void {
  raise_trap(v, d.len, type);
}

// ---------------------------------------------------------------------------
// Groups 3, 4, 5.

function group3(op: number): void {
  modrm();
  const size = bsize(op);
  const fl = rflags();
  switch (d.digit) {
    case 0:
    case 1: {
      no_lock();
      const imm = imm_for(size);
      if (size === 8) A.alu64(A.AND, get_rmb(8), BigInt.asUintN(64, BigInt(imm)), fl);
      else A.alu(A.AND, size, get_rm(size), (imm & A.size_mask(size)) >>> 0, fl);
      set_rflags(A.alu_flags);
      return finish();
    }
    case 2: {
      lock_ok();
      const a = get_rmb(size);
      set_rmb(size, ~a);
      return finish();
    }
    case 3: {
      lock_ok();
      if (size === 8) set_rmb(8, A.neg64(get_rmb(8), fl));
      else set_rm(size, A.neg(size, get_rm(size), fl));
      set_rflags(A.alu_flags);
      return finish();
    }
    case 4:
    case 5: {
      no_lock();
      const b = get_rmb(size);
      const a = grb(RAX, size);
      const [lo, hi] = A.mul(d.digit === 5, size, a, b, fl);
      if (size === 1) sr(RAX, 2, Number((hi << 8n) | lo));
      else {
        srb(RAX, size, lo);
        srb(RDX, size, hi);
      }
      set_rflags(A.alu_flags);
      return finish();
    }
    default: {
      no_lock();
      const b = get_rmb(size);
      let hi: bigint;
      let lo: bigint;
      if (size === 1) {
        const ax = BigInt(gr(RAX, 2));
        hi = ax >> 8n;
        lo = ax & 0xffn;
      } else {
        hi = grb(RDX, size);
        lo = grb(RAX, size);
      }
      const r = A.div(d.digit === 7, size, hi, lo, b);
      if (!r) fault(DE_VECTOR);
      if (size === 1) sr(RAX, 2, Number(r[0] | (r[1] << 8n)));
      else {
        srb(RAX, size, r[0]);
        srb(RDX, size, r[1]);
      }
      return finish();
    }
  }
}

function group45(op: number): void {
  modrm();
  const dg = d.digit;
  if (op === 0xfe && dg > 1) ud();
  if (dg <= 1) {
    lock_ok();
    const size = bsize(op);
    if (size === 8) {
      const fl = rflags();
      const lo = get_rm_p();
      const r = A.alu64p(dg === 1 ? A.SUB : A.ADD, p_hi, lo, 0, 1, fl);
      set_rm_p(A.alu_hi, r);
      set_rflags((A.alu_flags & ~A.CF) | (fl & A.CF));
      return finish();
    } else set_rm(size, A.incdec(dg === 1, size, get_rm(size), rflags()));
    set_rflags(A.alu_flags);
    return finish();
  }
  no_lock();
  switch (dg) {
    case 2:
    case 4: {
      const size = d.m64 ? 8 : d.osize;
      const t = get_rmb(size);
      const th = Number(t >> 32n);
      const tl = Number(t & 0xffffffffn);
      if (dg === 4) return jump(th, tl, size);
      next_ip();
      sp_load();
      pushv(size, BigInt(n_hi) * 0x100000000n + BigInt(n_lo));
      jump(th, tl, size);
      sp_store();
      return;
    }
    case 3:
    case 5: {
      if (!d.mem) ud();
      ea_final();
      const size = d.osize;
      const off = rdb(d.eseg, d.ea_hi, d.ea_lo, size);
      const [h, l] = add_lin(d.ea_hi, d.ea_lo, size);
      const sel = rd(d.eseg, h, l, 2);
      const oh = Number(off >> 32n);
      const ol = Number(off & 0xffffffffn);
      if (dg === 5) return far_jump(sel, oh, ol, size);
      return far_call(sel, oh, ol);
    }
    case 6: {
      const size = stack_osize();
      const v = get_rmb(size);
      sp_load();
      pushv(size, v);
      sp_store();
      return finish();
    }
  }
  ud();
}

// ---------------------------------------------------------------------------
// String instructions.

/** Iterations of a REP string instruction per step (then RIP stays and it resumes). */
const REP_CHUNK = 4096;

function ptr_get(r: number): [number, number] {
  const a = d.asize;
  if (a === 8) return [reg_hi(r), reg_lo(r)];
  return [0, a === 4 ? reg_lo(r) : reg_lo(r) & 0xffff];
}

function ptr_advance(r: number, n: number): void {
  const a = d.asize;
  if (a === 8) reg_set(r, reg_get(r) + BigInt(n));
  else sr(r, a, (gr(r, a) + n) >>> 0);
}

function count_get(): number {
  const a = d.asize;
  if (a === 8) {
    const c = reg_get(RCX);
    return c > 0xffffffffn ? 0xffffffff : Number(c);
  }
  return a === 4 ? reg_lo(RCX) : reg_lo(RCX) & 0xffff;
}

function count_dec(): boolean {
  const a = d.asize;
  if (a === 8) {
    const c = reg_get(RCX) - 1n;
    reg_set(RCX, c);
    return BigInt.asUintN(64, c) !== 0n;
  }
  const c = (gr(RCX, a) - 1) & (a === 4 ? 0xffffffff : 0xffff);
  sr(RCX, a, c);
  return c !== 0;
}

function string_op(op: number): void {
  const size = bsize(op);
  const step = rflags() & A.DF ? -size : size;
  const src_seg = d.seg >= 0 ? d.seg : DS;
  const rep = d.rep !== 0;
  if (rep && count_get() === 0) return finish();
  for (let i = 0; i < (rep ? REP_CHUNK : 1); i++) {
    let stop = false;
    switch (op & 0xfe) {
      case 0xa4: {
        const [sh, sl] = ptr_get(RSI);
        const [dh, dl] = ptr_get(RDI);
        const v = rdb(src_seg, sh, sl, size);
        wrb(ES, dh, dl, size, v);
        ptr_advance(RSI, step);
        ptr_advance(RDI, step);
        break;
      }
      case 0xaa: {
        const [dh, dl] = ptr_get(RDI);
        wrb(ES, dh, dl, size, grb(RAX, size));
        ptr_advance(RDI, step);
        break;
      }
      case 0xac: {
        const [sh, sl] = ptr_get(RSI);
        srb(RAX, size, rdb(src_seg, sh, sl, size));
        ptr_advance(RSI, step);
        break;
      }
      case 0xa6:
      case 0xae: {
        let a: bigint;
        if (op < 0xa8) {
          const [sh, sl] = ptr_get(RSI);
          a = rdb(src_seg, sh, sl, size);
        } else a = grb(RAX, size);
        const [dh, dl] = ptr_get(RDI);
        const b = rdb(ES, dh, dl, size);
        if (size === 8) A.alu64(A.CMP, a, b, rflags());
        else A.alu(A.CMP, size, Number(a), Number(b), rflags());
        set_rflags(A.alu_flags);
        if (op < 0xa8) ptr_advance(RSI, step);
        ptr_advance(RDI, step);
        const z = (A.alu_flags & A.ZF) !== 0;
        stop = d.rep === 0xf3 ? !z : !!d.rep && z;
        break;
      }
    }
    if (!rep) return finish();
    if (!count_dec() || stop) return finish();
    tick();
  }
  // Not done: RIP stays at the instruction, which continues on the next step.
  set_ip(d.ip_hi, d.ip_lo);
}

function string_io(op: number): void {
  const size = (op & 1) === 0 ? 1 : d.osize === 2 ? 2 : 4;
  const is_in = op < 0x6e;
  const port = reg_lo(RDX) & 0xffff;
  const seg = is_in ? ES : d.seg >= 0 ? d.seg : DS;
  exiting();
  exit_io_string(port, size, is_in, d.len, d.rep !== 0, {
    seg_base: d.m64 ? 0 : seg_base_lo(seg),
    asize: d.asize,
    down: (rflags() & A.DF) !== 0,
  });
  finish();
}

// ---------------------------------------------------------------------------
// Two-byte opcodes.

function exec_0f(op: number): void {
  if (d.lock && !is_lockable_0f(op)) ud();
  if (op >= 0x80 && op <= 0x8f) {
    const rel = d.osize === 2 && !d.m64 ? (iw() << 16) >> 16 : id_s();
    if (A.cond(op & 15, rflags())) return jump_rel(rel);
    return finish();
  }
  if (op >= 0x40 && op <= 0x4f) {
    modrm();
    const size = d.osize;
    const v = get_rmb(size);
    // CMOV with a 32-bit operand zero-extends the destination even when false (64-bit mode).
    if (A.cond(op & 15, rflags())) srb(d.reg, size, v);
    else if (size === 4 && d.m64) reg_set_pair(d.reg, 0, reg_lo(d.reg));
    return finish();
  }
  if (op >= 0x90 && op <= 0x9f) {
    modrm();
    set_rm(1, A.cond(op & 15, rflags()) ? 1 : 0);
    return finish();
  }
  switch (op) {
    case 0x00:
      return group6();
    case 0x01:
      return group7();
    case 0x06:
      if (cpl() > 0) gp0();
      write_cr(0, cr_get(0) & ~BigInt(X86_CR0_TS));
      return finish();
    case 0x09:
      if (cpl() > 0) gp0();
      exiting();
      exit_wbinvd(d.len);
      return finish();
    case 0x0b:
      // KVM_FEP, `ud2; .ascii "kvm"`: with kvm.force_emulation_prefix KVM's #UD
      // intercept (handle_ud(), x86.c) skips the five bytes and emulates the next
      // instruction; emulating it is executing it here.
      if (fep_enabled() && !d.p66 && d.rep === 0 && fep_signature()) return finish();
      fault(UD_VECTOR);
      break;
    case 0x0d:
    case 0x18:
    case 0x19:
    case 0x1a:
    case 0x1b:
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x1f:
      // Prefetch and hint NOPs: decode the operand, touch nothing.
      modrm();
      ea_final();
      return finish();
    case 0x20:
    case 0x22:
      return mov_cr(op === 0x22);
    case 0x21:
    case 0x23:
      return mov_dr(op === 0x23);
    case 0x30:
    case 0x32:
      exiting();
      exit_msr(op === 0x30, d.len);
      return finish();
    case 0x31: {
      if ((cr4_lo() & X86_CR4_TSD) && cpl() > 0) gp0();
      const t = read_tsc_words();
      reg_set_pair(RAX, 0, t[0]!);
      reg_set_pair(RDX, 0, t[1]!);
      return finish();
    }
    case 0xa0:
    case 0xa8:
      return push_sreg(op === 0xa0 ? 4 : 5);
    case 0xa1:
    case 0xa9:
      return pop_sreg(op === 0xa1 ? 4 : 5);
    case 0xa2:
      exiting();
      exit_simple(EXIT_REASON_CPUID, d.len);
      return finish();
    case 0xa3:
    case 0xab:
    case 0xb3:
    case 0xbb:
      return bit_op((op >> 3) & 3, false);
    case 0xba: {
      modrm();
      if (d.digit < 4) ud();
      return bit_op(d.digit - 4, true);
    }
    case 0xa4:
    case 0xa5:
    case 0xac:
    case 0xad: {
      modrm();
      const size = d.osize;
      const count = (op & 1) === 0 ? fb() : reg_lo(RCX) & 0xff;
      const a = get_rmb(size);
      const r = A.shiftd(op < 0xa8, size, a, grb(d.reg, size), count, rflags());
      set_rmb(size, r);
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0xaf: {
      modrm();
      const size = d.osize;
      const r = A.imul_trunc(size, grb(d.reg, size), get_rmb(size), rflags());
      srb(d.reg, size, r);
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0xb0:
    case 0xb1: {
      modrm();
      lock_ok();
      const size = bsize(op);
      const dst = get_rmb(size);
      const acc = grb(RAX, size);
      if (size === 8) A.alu64(A.CMP, acc, dst, rflags());
      else A.alu(A.CMP, size, Number(acc), Number(dst), rflags());
      if (dst === acc) set_rmb(size, grb(d.reg, size));
      else {
        // A mismatch still stores the old value into the destination: the CPU
        // issues that write whatever the comparison says, and for a 32-bit
        // register in 64-bit mode the store clears bits 63:32.
        set_rmb(size, dst);
        srb(RAX, size, dst);
      }
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0xb2:
    case 0xb4:
    case 0xb5:
      return load_far_ptr(op === 0xb2 ? SS : op === 0xb4 ? 4 : 5);
    case 0xb6:
    case 0xb7:
    case 0xbe:
    case 0xbf: {
      modrm();
      const from = (op & 1) === 0 ? 1 : 2;
      let v = get_rm(from);
      if (op >= 0xbe) v = from === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
      if (d.osize === 8) reg_set(d.reg, BigInt(v));
      else sr(d.reg, d.osize, v >>> 0);
      return finish();
    }
    case 0xbc:
    case 0xbd: {
      modrm();
      const size = d.osize;
      const v = get_rmb(size);
      const i = A.bitscan(op === 0xbd, v, rflags());
      if (i !== null) srb(d.reg, size, BigInt(i));
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0xc0:
    case 0xc1: {
      modrm();
      lock_ok();
      const size = bsize(op);
      const dst = get_rmb(size);
      const src = grb(d.reg, size);
      const sum = size === 8
        ? A.alu64(A.ADD, dst, src, rflags())
        : BigInt(A.alu(A.ADD, size, Number(dst), Number(src), rflags()));
      // The destination is written last (XADD r, r with one register leaves the sum);
      // a locked memory destination first, as the compare-exchange may retry.
      if (d.mem) {
        set_rmb(size, sum);
        srb(d.reg, size, dst);
      } else {
        srb(d.reg, size, dst);
        set_rmb(size, sum);
      }
      set_rflags(A.alu_flags);
      return finish();
    }
    case 0xc8:
    case 0xc9:
    case 0xca:
    case 0xcb:
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      const r = (op & 7) | ((d.rex & 1) << 3);
      if (d.osize === 8) {
        let v = reg_get(r);
        let out = 0n;
        for (let i = 0; i < 8; i++) {
          out = (out << 8n) | (v & 0xffn);
          v >>= 8n;
        }
        reg_set(r, out);
      } else {
        const v = reg_lo(r);
        // BSWAP of a 16-bit register is undefined; Intel and AMD clear it.
        const s = d.osize === 2
          ? 0
          : ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)) >>> 0;
        sr(r, d.osize, s);
      }
      return finish();
    }
  }
  ud();
}

/**
 * Whether "kvm" follows the UD2, read as KVM reads it (`kvm_read_guest_virt()`
 * at the linear RIP: a failed read is no prefix, and faults nothing); consumes it.
 */
function fep_signature(): boolean {
  const want = [0x6b, 0x76, 0x6d];
  for (let i = 0; i < 3; i++) {
    const k = d.len + i;
    let b: number;
    if (k < d.avail) b = d.fdv!.getUint8(d.foff + k);
    else {
      const [hi, lo] = add_lin(d.lin_hi, d.lin_lo, k);
      if (translate(hi, lo, ACC_READ) !== TR_OK) return false;
      b = t_dv.getUint8(t_off);
    }
    if (b !== want[i]) return false;
  }
  d.len += 3;
  return true;
}

function is_lockable_0f(op: number): boolean {
  return op === 0xab || op === 0xb3 || op === 0xbb || op === 0xba || op === 0xb0 ||
    op === 0xb1 || op === 0xc0 || op === 0xc1;
}

/** BT (0), BTS (1), BTR (2), BTC (3); a register bit offset reaches beyond the operand in memory. */
function bit_op(kind: number, imm: boolean): void {
  if (!imm) modrm();
  if (kind === 0) no_lock();
  else lock_ok();
  const size = d.osize;
  const bits = size * 8;
  let hi = d.ea_hi;
  let lo = d.ea_lo;
  let bit: number;
  if (imm) bit = fb() & (bits - 1);
  else {
    const off = grb(d.reg, size);
    if (d.mem) {
      // The bit offset is signed: it selects an operand-sized unit around the address.
      const s = BigInt.asIntN(bits, off);
      const unit = s >= 0n ? s / BigInt(bits) : -((-s + BigInt(bits) - 1n) / BigInt(bits));
      const delta = unit * BigInt(size);
      ea_final();
      const ea = (BigInt(d.ea_hi) << 32n | BigInt(d.ea_lo)) + delta;
      const m = d.asize === 8
        ? ea & 0xffffffffffffffffn
        : ea & (d.asize === 4 ? 0xffffffffn : 0xffffn);
      hi = Number(m >> 32n);
      lo = Number(m & 0xffffffffn);
      bit = Number(BigInt.asUintN(bits, s) & BigInt(bits - 1));
    } else bit = Number(off & BigInt(bits - 1));
  }
  let v: bigint;
  if (d.mem) {
    ea_final();
    if (!imm) {
      d.ea_hi = hi;
      d.ea_lo = lo;
    }
  }
  v = get_rmb(size);
  const b = 1n << BigInt(bit);
  const was = (v & b) !== 0n;
  if (kind === 1) v |= b;
  else if (kind === 2) v &= ~b;
  else if (kind === 3) v ^= b;
  if (kind !== 0) set_rmb(size, v);
  set_rflags(was ? rflags() | A.CF : rflags() & ~A.CF);
  finish();
}

function group6(): void {
  modrm();
  if (!in_protected_mode() && d.digit < 6) ud();
  switch (d.digit) {
    case 0:
    case 1: {
      const v = seg_selector(d.digit === 0 ? 7 : 6);
      if (d.mem) set_rm(2, v);
      else if (d.osize === 8) reg_set(d.rm, BigInt(v));
      else sr(d.rm, d.osize, v);
      return finish();
    }
    case 2:
    case 3: {
      if (cpl() > 0) gp0();
      const sel = get_rm(2);
      exiting();
      if (d.digit === 3) ltr(sel);
      else load_sreg(7, sel);
      return finish();
    }
  }
  ud();
}

function group7(): void {
  modrm();
  if (!d.mem) return group7_reg();
  ea_final();
  const dg = d.digit;
  switch (dg) {
    case 0:
    case 1: {
      const t = dtable_get(dg === 1);
      wr(d.eseg, d.ea_hi, d.ea_lo, 2, t.limit);
      const [h, l] = add_lin(d.ea_hi, d.ea_lo, 2);
      if (d.m64) wr64(d.eseg, h, l, t.base);
      else wr(d.eseg, h, l, 4, Number(t.base & 0xffffffffn));
      return finish();
    }
    case 2:
    case 3: {
      if (cpl() > 0) gp0();
      const limit = rd(d.eseg, d.ea_hi, d.ea_lo, 2);
      const [h, l] = add_lin(d.ea_hi, d.ea_lo, 2);
      let base: bigint;
      if (d.m64) base = rd64(d.eseg, h, l);
      else {
        base = BigInt(rd(d.eseg, h, l, 4));
        // With a 16-bit operand the base is 24 bits.
        if (d.osize === 2) base &= 0xffffffn;
      }
      dtable_set(dg === 3, base, limit);
      return finish();
    }
    case 4: {
      const v = Number(cr_get(0) & 0xffffn);
      set_rm(2, v);
      return finish();
    }
    case 6:
      return lmsw(rd(d.eseg, d.ea_hi, d.ea_lo, 2));
    case 7: {
      if (cpl() > 0) gp0();
      linear(d.eseg, d.ea_hi, d.ea_lo, 1, false);
      invlpg(BigInt(l_hi) * 0x100000000n + BigInt(l_lo));
      return finish();
    }
  }
  ud();
}

function lmsw(v: number): void {
  if (cpl() > 0) gp0();
  const cr0 = cr_get(0);
  // LMSW sets PE, MP, EM, TS; it cannot clear PE.
  const nv = (cr0 & ~0xen) | BigInt(v & 0xf) | (cr0 & BigInt(X86_CR0_PE));
  write_cr(0, nv);
  finish();
}

function group7_reg(): void {
  const b = (d.mod << 6) | (d.digit << 3) | (d.rm & 7);
  switch (b) {
    case 0xc1: // VMCALL
      exiting();
      exit_vmcall(d.len);
      return finish();
    case 0xd9: // VMMCALL
      return vmmcall();
    case 0xcc: // TDCALL (66 0F 01 CC)
      if (!d.p66) ud();
      exiting();
      exit_simple(EXIT_REASON_TDCALL, d.len);
      return finish();
    case 0xd0: {
      if (!(cr4_lo() & X86_CR4_OSXSAVE)) ud();
      if (reg_lo(RCX) !== 0) gp0();
      const v = xcr0_get();
      reg_set_pair(RAX, 0, Number(v & 0xffffffffn));
      reg_set_pair(RDX, 0, Number(v >> 32n));
      return finish();
    }
    case 0xd1:
      if (!(cr4_lo() & X86_CR4_OSXSAVE)) ud();
      exiting();
      exit_simple(EXIT_REASON_XSETBV, d.len);
      return finish();
    case 0xf9: {
      // RDTSCP: EDX:EAX = TSC, ECX = IA32_TSC_AUX.
      if ((cr4_lo() & X86_CR4_TSD) && cpl() > 0) gp0();
      const t = read_tsc_words();
      reg_set_pair(RAX, 0, t[0]!);
      reg_set_pair(RDX, 0, t[1]!);
      reg_set_pair(RCX, 0, Number(vmcs_field_get("tsc_aux") & 0xffffffffn));
      return finish();
    }
  }
  if (d.digit === 4) {
    // SMSW to a register: the operand size.
    const v = Number(cr_get(0) & 0xffffffffn);
    if (d.osize === 8) reg_set(d.rm, cr_get(0));
    else sr(d.rm, d.osize, d.osize === 2 ? v & 0xffff : v);
    return finish();
  }
  if (d.digit === 6) return lmsw(gr(d.rm, 2));
  ud();
}

/**
 * VMMCALL on this Intel CPU is #UD, which KVM intercepts: its emulator
 * (`em_hypercall()` → `emulator_fix_hypercall()`, x86.c) writes the native
 * VMCALL over it with KVM_X86_QUIRK_FIX_HYPERCALL_INSN, through the guest's
 * page tables (a fault is injected), and lets the guest execute it again; with
 * the quirk disabled the guest gets the #UD.
 */
function vmmcall(): void {
  if (!fix_hypercall_quirk()) fault(UD_VECTOR);
  // The emulator writes at the linear RIP, as a data write of the guest.
  wr_lin(d.lin_hi, d.lin_lo, 3, 0xc1010fn);
  set_ip(d.ip_hi, d.ip_lo);
}

function mov_cr(to_cr: boolean): void {
  modrm();
  // The register operand is always ModRM.rm, whatever mod says.
  const r = d.rm | (d.mem ? (d.rex & 1) << 3 : 0);
  const n = d.reg;
  if (cpl() > 0) gp0();
  if (n === 1 || (n > 4 && n !== 8) || (n === 8 && !d.m64)) ud();
  if (to_cr) {
    const v = d.m64 ? reg_get(r) : BigInt(reg_lo(r));
    exiting();
    write_cr(n, v);
  } else {
    const v = read_cr(n);
    if (d.m64) reg_set(r, v);
    else reg_set_pair(r, reg_hi(r), Number(v & 0xffffffffn));
  }
  finish();
}

function mov_dr(to_dr: boolean): void {
  modrm();
  const r = d.rm | (d.mem ? (d.rex & 1) << 3 : 0);
  let n = d.reg;
  if (cpl() > 0) gp0();
  if (n > 7) ud();
  if (n === 4 || n === 5) {
    // DR4/DR5 alias DR6/DR7 unless CR4.DE.
    if (cr4_lo() & X86_CR4_DE) ud();
    n += 2;
  }
  if (to_dr) {
    const v = d.m64 ? reg_get(r) : BigInt(reg_lo(r));
    if ((n === 6 || n === 7) && v >> 32n !== 0n) gp0();
    if (n < 4) dr03[n] = v;
    else if (n === 6) vmcs_field_set("dr6", (v & 0x1e00fn) | 0xfffe0ff0n);
    else vmcs_field_set("dr7", (v & ~0xd800n & 0xffffffffn) | 0x400n);
  } else {
    const v = n < 4 ? dr03[n]! : vmcs_field_get(n === 6 ? "dr6" : "dr7");
    if (d.m64) reg_set(r, v);
    else reg_set_pair(r, reg_hi(r), Number(v & 0xffffffffn));
  }
  finish();
}
