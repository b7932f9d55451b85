// SPDX-License-Identifier: GPL-2.0-only
/**
 * Memory accesses by linear address on top of the page walk (`mmu.ts`).
 *
 * - The CPU's own implicit supervisor accesses (the IDT, GDT, TSS and the
 *   stack during event delivery, the `ret` of a returning guest function):
 *   a fault throws `DELIVERY_FAULT` with the fault in `vcpu.d_*`, for the
 *   caller to turn into #DF or to raise; a GPA without RAM exits as an EPT
 *   violation the kernel must fix, and the access is retried.
 * - The slow paths of the guest's reads and writes (the intrinsics' fast
 *   paths miss the TLB or cross a page): a fault is raised (the handler
 *   retries or skips the instruction; a skipped read returns RAX), a GPA
 *   without RAM is MMIO (`exits.ts` {@linkcode mmio}), and an access that
 *   crosses a page is done bytewise with one translation per byte.
 *
 * @module
 */

import {
  ACC_IMPLICIT,
  ACC_READ,
  ACC_WRITE,
  e_td_mmio,
  f_cr2_hi,
  f_cr2_lo,
  f_ec,
  f_vector,
  t_dv,
  t_off,
  TR_EPT,
  TR_FAULT,
  TR_OK,
  translate,
} from "./mmu.ts";
import { O_MMIO_DATA, reg_get, reg_lo, RESUME_RETRY, TWO32, vcpu } from "./state.ts";
import { VCPU_REGS_RAX } from "./vmx.ts";
import { delivery_fault, raise_translation_fault } from "./events.ts";
import { ept_exit_raw, mmio } from "./exits.ts";

// ---------------------------------------------------------------------------
// The CPU's implicit supervisor accesses.

/** Splits a linear address for `translate`. */
function split(addr: bigint): [number, number] {
  const a = BigInt.asUintN(64, addr);
  return [Number(a >> 32n), Number(a & 0xffffffffn)];
}

/** An implicit supervisor read of `size` (1, 2, 4 or 8) bytes at linear `addr` during delivery. */
export function imp_read(addr: bigint, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const [hi, lo] = split(addr + BigInt(i));
    v |= BigInt(phys_byte(hi, lo, ACC_READ | ACC_IMPLICIT, -1)) << BigInt(8 * i);
  }
  return v;
}

/** An implicit supervisor write during delivery. */
export function imp_write(addr: bigint, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) {
    const [hi, lo] = split(addr + BigInt(i));
    phys_byte(hi, lo, ACC_WRITE | ACC_IMPLICIT, Number((v >> BigInt(8 * i)) & 0xffn));
  }
}

/** One byte of an implicit access (`w` >= 0: write it); faults throw, GPAs without RAM exit. */
function phys_byte(hi: number, lo: number, acc: number, w: number): number {
  for (;;) {
    const st = translate(hi, lo, acc);
    if (st === TR_OK) {
      if (w >= 0) {
        t_dv.setUint8(t_off, w);
        return w;
      }
      return t_dv.getUint8(t_off);
    }
    if (st === TR_FAULT) {
      delivery_fault(
        f_vector,
        f_ec,
        BigInt(f_cr2_hi) * 0x100000000n + BigInt(f_cr2_lo),
      );
    }
    // The CPU's own access hit a GPA without RAM: an EPT violation the
    // kernel must fix (it cannot emulate an IDT or a stack in MMIO).
    ept_exit_raw(BigInt(hi) * 0x100000000n + BigInt(lo), (acc & 3) === ACC_WRITE ? 1 : 0, 1, 0);
  }
}

// ---------------------------------------------------------------------------
// The guest's accesses: faults are raised (skip/retry), GPAs without RAM are MMIO.

/**
 * A `lock`-prefixed read-modify-write of one byte of guest memory at `hi:lo`:
 * `op(old)` is stored atomically (other vCPUs see all or nothing); returns
 * the old byte. Faults and MMIO are handled as for a write.
 */
export function atomic_byte(hi: number, lo: number, set_mask: number, clear_mask: number): number {
  for (;;) {
    const st = translate(hi, lo, ACC_WRITE);
    if (st === TR_OK) {
      const bytes = bytes_of(t_dv.buffer as SharedArrayBuffer);
      const off = t_dv.byteOffset + t_off;
      if (set_mask) return Atomics.or(bytes, off, set_mask);
      return Atomics.and(bytes, off, ~clear_mask & 0xff);
    }
    const r = st === TR_FAULT ? raise_translation_fault() : RESUME_RETRY;
    if (st === TR_EPT) {
      // A locked access to MMIO: KVM emulates it as a read then a write.
      const old = read_slow(hi, lo, 1);
      write_slow(hi, lo, 1, set_mask ? old | set_mask : old & ~clear_mask);
      return old;
    }
    if (r === RESUME_RETRY) continue;
    return skip_value(1);
  }
}

const byte_views = new WeakMap<SharedArrayBuffer, Uint8Array>();

function bytes_of(b: SharedArrayBuffer): Uint8Array {
  let v = byte_views.get(b);
  if (!v) {
    v = new Uint8Array(b);
    byte_views.set(b, v);
  }
  return v;
}

/** What a skipped read of `size` bytes returns: RAX, as the handler left it. */
function skip_value(size: number): number {
  const v = reg_lo(VCPU_REGS_RAX);
  return size === 4 ? v : v & ((1 << (8 * size)) - 1);
}

/** Out-parameters of `next_byte_addr`. */
let s_hi = 0;
let s_lo = 0;

/** Byte `i` of the access at `hi:lo`, into `s_hi`/`s_lo` (a carry into the high half). */
function next_byte_addr(hi: number, lo: number, i: number): void {
  let l = lo + i;
  let h = hi;
  if (l >= TWO32) {
    l -= TWO32;
    h = (h + 1) >>> 0;
  }
  s_hi = h;
  s_lo = l;
}

/** Slow path of a guest read of `size` (1, 2, 4) bytes at linear `hi:lo`. */
export function read_slow(hi: number, lo: number, size: number): number {
  if ((lo & 0xfff) + size > 4096) {
    // Straddles two pages: two translations, as hardware does (byte-wise here).
    let v = 0;
    for (let i = 0; i < size; i++) {
      next_byte_addr(hi, lo, i);
      v |= read_slow(s_hi, s_lo, 1) << (8 * i);
    }
    return v >>> 0;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_READ);
    if (st === TR_OK) {
      return size === 1
        ? t_dv.getUint8(t_off)
        : size === 2
        ? t_dv.getUint16(t_off, true)
        : t_dv.getUint32(t_off, true);
    }
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(hi, lo, size, false, 0, 0);
    if (r === RESUME_RETRY) continue;
    if (st === TR_EPT && !e_td_mmio) {
      const v = vcpu.dv.getUint32(O_MMIO_DATA, true);
      return size === 4 ? v : v & ((1 << (8 * size)) - 1);
    }
    return skip_value(size);
  }
}

/** Slow path of a guest 8-byte read. */
export function read64_slow(hi: number, lo: number): bigint {
  if ((lo & 0xfff) + 8 > 4096) {
    let v = 0n;
    for (let i = 0; i < 8; i++) {
      next_byte_addr(hi, lo, i);
      v |= BigInt(read_slow(s_hi, s_lo, 1)) << BigInt(8 * i);
    }
    return v;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_READ);
    if (st === TR_OK) return t_dv.getBigUint64(t_off, true);
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(hi, lo, 8, false, 0, 0);
    if (r === RESUME_RETRY) continue;
    if (st === TR_EPT && !e_td_mmio) return vcpu.dv.getBigUint64(O_MMIO_DATA, true);
    return reg_get(VCPU_REGS_RAX);
  }
}

/** Slow path of a guest write of `size` (1, 2, 4) bytes. */
export function write_slow(hi: number, lo: number, size: number, v: number): void {
  if ((lo & 0xfff) + size > 4096) {
    for (let i = 0; i < size; i++) {
      next_byte_addr(hi, lo, i);
      write_slow(s_hi, s_lo, 1, (v >>> (8 * i)) & 0xff);
    }
    return;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_WRITE);
    if (st === TR_OK) {
      if (size === 1) t_dv.setUint8(t_off, v);
      else if (size === 2) t_dv.setUint16(t_off, v, true);
      else t_dv.setUint32(t_off, v, true);
      return;
    }
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(hi, lo, size, true, v >>> 0, 0);
    if (r === RESUME_RETRY) continue;
    return;
  }
}

/** Slow path of a guest 8-byte write. */
export function write64_slow(hi: number, lo: number, v: bigint): void {
  if ((lo & 0xfff) + 8 > 4096) {
    for (let i = 0; i < 8; i++) {
      next_byte_addr(hi, lo, i);
      write_slow(s_hi, s_lo, 1, Number((v >> BigInt(8 * i)) & 0xffn));
    }
    return;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_WRITE);
    if (st === TR_OK) {
      t_dv.setBigUint64(t_off, v, true);
      return;
    }
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(
      hi,
      lo,
      8,
      true,
      Number(v & 0xffffffffn),
      Number((BigInt.asUintN(64, v) >> 32n) & 0xffffffffn),
    );
    if (r === RESUME_RETRY) continue;
    return;
  }
}
