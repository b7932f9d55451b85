// SPDX-License-Identifier: GPL-2.0-only
/**
 * Segment registers: descriptor reads from the GDT, the checks of a segment
 * load (SDM Vol. 2 "MOV", "LTR", "LLDT", "JMP"), and the hidden part written
 * from the descriptor. A failed check throws `DELIVERY_FAULT` (the fault is
 * in `vcpu.d_*`): {@linkcode load_segment} raises it for an instruction,
 * event delivery (`events.ts`) turns it into #DF or a triple fault.
 *
 * @module
 */

import {
  DELIVERY_FAULT,
  O_GDTR,
  RESUME_COMPLETE,
  RESUME_RETRY,
  SEG_AVL,
  SEG_BASE,
  SEG_DB,
  SEG_DPL,
  SEG_G,
  SEG_L,
  SEG_LIMIT,
  seg_off,
  SEG_PRESENT,
  SEG_S,
  SEG_SELECTOR,
  SEG_TYPE,
  SEG_UNUSABLE,
  set_u64_at,
  sync_mode,
  u64_at,
  vcpu,
} from "./state.ts";
import { GP_VECTOR, NP_VECTOR, PF_VECTOR, SS_VECTOR } from "./vmx.ts";
import { delivery_fault, raise } from "./events.ts";
import { imp_read, imp_write } from "./access.ts";

/** The descriptor {@linkcode read_descriptor} read last, as two 32-bit words. */
export const desc: { lo: number; hi: number } = { lo: 0, hi: 0 };

/** Reads the GDT descriptor of `sel` into {@linkcode desc} (`err_vector` if outside the GDT or in an LDT). */
export function read_descriptor(sel: number, err_vector: number): void {
  const index = sel & 0xfff8;
  if (sel & 4) delivery_fault(err_vector, sel & 0xfffc);
  const limit = vcpu.dv.getUint16(O_GDTR + 8, true);
  if (index + 7 > limit) delivery_fault(err_vector, sel & 0xfffc);
  const base = u64_at(O_GDTR);
  desc.lo = Number(imp_read(base + BigInt(index), 4));
  desc.hi = Number(imp_read(base + BigInt(index) + 4n, 4));
}

/** Writes the hidden part of segment register `sreg` from the descriptor just read. */
export function load_hidden(sreg: number, sel: number): void {
  const off = seg_off(sreg);
  const base = ((desc.lo >>> 16) | ((desc.hi & 0xff) << 16) | (desc.hi & 0xff000000)) >>> 0;
  let limit = (desc.lo & 0xffff) | (desc.hi & 0xf0000);
  const g = (desc.hi >>> 23) & 1;
  if (g) limit = ((limit << 12) | 0xfff) >>> 0;
  vcpu.dv.setUint16(off + SEG_SELECTOR, sel, true);
  let b = BigInt(base);
  if (sreg === 6 || sreg === 7) {
    // A system descriptor in IA-32e mode is 16 bytes: bits 63:32 of the base follow.
    const [hi] = [Number(imp_read(u64_at(O_GDTR) + BigInt((sel & 0xfff8) + 8), 4))];
    if (vcpu.lma) b |= BigInt(hi) << 32n;
  }
  set_u64_at(off + SEG_BASE, b);
  vcpu.dv.setUint32(off + SEG_LIMIT, limit, true);
  vcpu.u8[off + SEG_TYPE] = (desc.hi >>> 8) & 0xf;
  vcpu.u8[off + SEG_S] = (desc.hi >>> 12) & 1;
  vcpu.u8[off + SEG_DPL] = (desc.hi >>> 13) & 3;
  vcpu.u8[off + SEG_PRESENT] = (desc.hi >>> 15) & 1;
  vcpu.u8[off + SEG_AVL] = (desc.hi >>> 20) & 1;
  vcpu.u8[off + SEG_L] = (desc.hi >>> 21) & 1;
  vcpu.u8[off + SEG_DB] = (desc.hi >>> 22) & 1;
  vcpu.u8[off + SEG_G] = g;
  vcpu.u8[off + SEG_UNUSABLE] = 0;
}

/** Sets the accessed bit of the descriptor just read, as the processor does on a load. */
function mark_accessed(sel: number, busy_tss = false): void {
  const addr = u64_at(O_GDTR) + BigInt((sel & 0xfff8) + 5);
  const b = Number(imp_read(addr, 1));
  const want = busy_tss ? b | 0x2 : b | 0x1;
  if (want !== b) imp_write(addr, 1, BigInt(want));
}

/** Loads a null selector: the register becomes unusable. */
export function null_segment(sreg: number, sel: number): void {
  const off = seg_off(sreg);
  vcpu.dv.setUint16(off + SEG_SELECTOR, sel, true);
  vcpu.u8[off + SEG_UNUSABLE] = 1;
  vcpu.u8[off + SEG_PRESENT] = 0;
}

/**
 * Loads a segment register from the GDT (`mov sreg, r16`, `ltr`, far jump):
 * the checks of SDM Vol. 2 "MOV" / "LTR" / "JMP", raising #GP/#NP/#SS with the
 * selector as error code. Returns like {@linkcode raise}, or
 * {@linkcode RESUME_COMPLETE} when loaded.
 */
export function load_segment(sreg: number, sel: number, as_cpl: number = vcpu.cpl): number {
  if (!vcpu.protected_mode) {
    load_real_segment(sreg, sel);
    if (sreg === 1 || sreg === 2) sync_mode();
    return RESUME_COMPLETE;
  }
  for (;;) {
    try {
      load_segment_checked(sreg, sel, as_cpl);
      if (sreg === 1 || sreg === 2) sync_mode();
      return RESUME_COMPLETE;
    } catch (e) {
      if (e !== DELIVERY_FAULT) throw e;
      const r = vcpu.d_vector === PF_VECTOR
        ? raise(PF_VECTOR, vcpu.d_ec, vcpu.d_cr2)
        : raise(vcpu.d_vector, vcpu.d_ec);
      if (r !== RESUME_RETRY) return r;
    }
  }
}

/**
 * The checks and the load of {@linkcode load_segment}; `as_cpl` is the
 * privilege level the load is checked for (the new CPL of a far return or
 * IRET to an outer level).
 */
export function load_segment_checked(sreg: number, sel: number, as_cpl: number = vcpu.cpl): void {
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    // A null selector: fine for DS/ES/FS/GS and LDTR (and SS in 64-bit mode at CPL<3).
    if (sreg === 1 || sreg === 6 || (sreg === 2 && !(vcpu.long64 && as_cpl < 3))) {
      delivery_fault(GP_VECTOR, 0);
    }
    null_segment(sreg, sel);
    return;
  }
  if (sreg === 7) {
    // LLDT: an LDT descriptor (system type 2) in the GDT.
    read_descriptor(sel, GP_VECTOR);
    if ((desc.hi >>> 12) & 1 || ((desc.hi >>> 8) & 0xf) !== 2) {
      delivery_fault(GP_VECTOR, sel & 0xfffc);
    }
    if (!((desc.hi >>> 15) & 1)) delivery_fault(NP_VECTOR, sel & 0xfffc);
    load_hidden(7, sel);
    return;
  }
  read_descriptor(sel, GP_VECTOR);
  const type = (desc.hi >>> 8) & 0xf;
  const s = (desc.hi >>> 12) & 1;
  const dpl = (desc.hi >>> 13) & 3;
  const p = (desc.hi >>> 15) & 1;
  const code = (type & 8) !== 0;
  if (sreg === 6) {
    if (s || (type !== 9 && type !== 1)) delivery_fault(GP_VECTOR, sel & 0xfffc);
    if (!p) delivery_fault(NP_VECTOR, sel & 0xfffc);
    load_hidden(6, sel);
    mark_accessed(sel, true);
    vcpu.u8[seg_off(6) + SEG_TYPE] = type | 2;
    return;
  }
  if (!s) delivery_fault(GP_VECTOR, sel & 0xfffc);
  if (sreg === 1) {
    if (!code) delivery_fault(GP_VECTOR, sel & 0xfffc);
    if (!p) delivery_fault(NP_VECTOR, sel & 0xfffc);
    load_hidden(1, (sel & 0xfffc) | as_cpl);
    mark_accessed(sel);
    return;
  }
  if (sreg === 2) {
    if (rpl !== as_cpl || dpl !== as_cpl || code || !(type & 2)) {
      delivery_fault(GP_VECTOR, sel & 0xfffc);
    }
    if (!p) delivery_fault(SS_VECTOR, sel & 0xfffc);
  } else {
    if (code && !(type & 2)) delivery_fault(GP_VECTOR, sel & 0xfffc);
    if (!p) delivery_fault(NP_VECTOR, sel & 0xfffc);
  }
  load_hidden(sreg, sel);
  mark_accessed(sel);
}

/** A segment load in real mode: base = selector * 16; limit and attributes stay. */
export function load_real_segment(sreg: number, sel: number): void {
  const off = seg_off(sreg);
  vcpu.dv.setUint16(off + SEG_SELECTOR, sel, true);
  set_u64_at(off + SEG_BASE, BigInt(sel << 4));
}
