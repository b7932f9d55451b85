// SPDX-License-Identifier: GPL-2.0-only
/**
 * Linear → guest-physical translation of the simulated CPU (worker side):
 * 32-bit paging (with CR4.PSE 4 MiB pages), PAE paging, and IA-32e 4-level
 * and 5-level (CR4.LA57) paging as SDM Vol. 3 chapter 4 defines them, with a
 * TLB, and guest-physical → backing through the memory map. PAE's four
 * PDPTEs are read from memory on each walk rather than cached at MOV CR3
 * (SDM 4.4.1 lets the processor load them then): a guest that edits its
 * PDPTEs without reloading CR3 sees the edit earlier than hardware would.
 *
 * - Permission checks: present, R/W with CR0.WP, U/S by CPL, XD with
 *   EFER.NXE, SMEP and SMAP; reserved bits above MAXPHYADDR, XD without NXE,
 *   PS in PML5E/PML4E and the reserved low bits of large-page entries.
 *   Faults produce the architectural #PF error code and the CR2 value.
 * - Accessed bits are set in every entry of a successful walk and the dirty
 *   bit in the leaf on a write, as hardware does (and as KVM's walker
 *   emulates), so guests see the bits they would on real hardware.
 * - The TLB is direct-mapped, 4 KiB granular (large pages are cached per
 *   4 KiB piece, as the SDM permits), and caches the backing location too; it
 *   is flushed on CR3 loads (except global entries while CR4.PGE is set), on
 *   INVLPG for one page, on paging-mode changes, CPL changes and memory-map
 *   updates. Like hardware, it is not coherent with page-table writes: a
 *   guest that edits a PTE must INVLPG (tests check this).
 * - A cached entry grants a write only when the leaf's dirty bit was already
 *   set, so the first write through a clean entry walks again and sets D.
 * - Dirty logging (KVM_MEM_LOG_DIRTY_PAGES): a write through the walk sets the
 *   page's bit in its memslot's dirty bitmap, and so does an A/D update of a
 *   paging-structure entry (with EPT accessed/dirty flags enabled, as KVM
 *   enables them, the CPU's A/D updates of guest paging structures count as
 *   writes to guest memory). A page of a logged slot is cached writable
 *   only while its bit is set: once the kernel clears the bit it flushes the
 *   TLB (`kvm_flush_remote_tlbs_memslot()`), and the next write walks and
 *   logs. With a dirty ring the first write to a protected page is an EPT
 *   violation instead: the kernel pushes the page to the vCPU's ring (A/D
 *   updates of paging structures in such a slot are not logged).
 *
 * Linear addresses are passed as two unsigned 32-bit halves (`hi`, `lo`), so
 * that the hot path handles 57-bit addresses without `bigint`.
 *
 * This module only translates; raising exceptions and exiting to the kernel
 * is the caller's business (`cpu.ts`), so the same walk serves instructions,
 * instruction fetch and the CPU's own implicit accesses (IDT, stack pushes).
 *
 * @module
 */

import { mark_page_dirty_bit, physmem, test_page_dirty_bit } from "./memory.ts";
import {
  EPT_VIOLATION_ACC_INSTR,
  EPT_VIOLATION_ACC_READ,
  EPT_VIOLATION_ACC_WRITE,
  EPT_VIOLATION_GVA_IS_VALID,
  EPT_VIOLATION_GVA_TRANSLATED,
  EPT_VIOLATION_RWX_EXECUTABLE,
  EPT_VIOLATION_RWX_READABLE,
  GP_VECTOR,
  PF_VECTOR,
  PFERR_FETCH_MASK,
  PFERR_PRESENT_MASK,
  PFERR_RSVD_MASK,
  PFERR_USER_MASK,
  PFERR_WRITE_MASK,
} from "./vmx.ts";

/** Access kind: data read. */
export const ACC_READ = 0;
/** Access kind: data write. */
export const ACC_WRITE = 1;
/** Access kind: instruction fetch. */
export const ACC_FETCH = 2;
/** Flag: an implicit supervisor access by the CPU itself (IDT, GDT, stack frames). */
export const ACC_IMPLICIT = 4;

/** {@linkcode translate} result: translated; see {@linkcode t_dv}, {@linkcode t_off}. */
export const TR_OK = 0;
/** Result: an exception; see {@linkcode f_vector}, {@linkcode f_ec}, {@linkcode f_cr2_hi}/`lo`. */
export const TR_FAULT = 1;
/** Result: the GPA has no usable backing (EPT violation); see {@linkcode e_gpa}, {@linkcode e_qual}. */
export const TR_EPT = 2;

const TLB_SIZE = 1024;
const TLB_MASK = TLB_SIZE - 1;
const P_R = 1;
const P_W = 2;
const P_X = 4;
const P_G = 8;
const TWO32 = 4294967296;

/** The memory map of this vCPU. */
export const mem: physmem = new physmem();

const tlb_tag = new Float64Array(TLB_SIZE).fill(-1);
const tlb_perm = new Int32Array(TLB_SIZE);
const tlb_off = new Float64Array(TLB_SIZE);
const tlb_gpa = new Float64Array(TLB_SIZE);
const tlb_dv: DataView[] = new Array(TLB_SIZE).fill(mem.dv);

// Paging configuration, set by the CPU from CR0/CR3/CR4/EFER/CPL.
let levels = 0; // 0: paging off; 2: 32-bit; 3: PAE; 4 or 5
let pse = false;
let long_addr = false; // linear addresses are 64-bit (IA-32e)
let cr3_base = 0;
let wp = false;
let nxe = false;
let smep = false;
let smap = false;
let pge = false;
let cpl = 0;
let ac = false;
let td = false;
let shared_mask = 0;
let rsvd_hi = 0; // reserved bits of an entry's high word (MAXPHYADDR..51)
let addr_hi_mask = 0xfffff; // address bits of an entry's high word (32..MAXPHYADDR-1)

/** Host location of the last successful translation: DataView. */
export let t_dv: DataView = mem.dv;
/** Byte offset in {@linkcode t_dv} of the translated address. */
export let t_off = 0;
/** Guest-physical address of the last translation (without a TD's shared bit). */
export let t_gpa = 0;
/** Exception vector of the last fault. */
export let f_vector = 0;
/** Error code of the last fault. */
export let f_ec = 0;
/** High half of the faulting linear address (CR2). */
export let f_cr2_hi = 0;
/** Low half of the faulting linear address (CR2). */
export let f_cr2_lo = 0;
/** GPA of the last EPT violation. */
export let e_gpa = 0;
/** Exit qualification of the last EPT violation (bits 31:0). */
export let e_qual = 0;
/** Whether the last EPT violation was a private access (TD). */
export let e_private = false;
/** Whether the last EPT violation was a TD's shared access to a GPA without a memslot (#VE MMIO). */
export let e_td_mmio = false;

/** Paging configuration of {@linkcode mmu_configure}. */
export interface mmu_config {
  /** 0 (paging off), 2 (32-bit paging), 3 (PAE), 4 or 5. */
  levels: number;
  /** CR4.PSE (4 MiB pages under 32-bit paging). */
  pse?: boolean;
  /** IA-32e mode (EFER.LMA): linear addresses are 64-bit and must be canonical. */
  long_mode: boolean;
  /** CR3 (the top-level table's GPA). */
  cr3: number;
  /** CR0.WP. */
  wp: boolean;
  /** EFER.NXE. */
  nxe: boolean;
  /** CR4.SMEP. */
  smep: boolean;
  /** CR4.SMAP. */
  smap: boolean;
  /** CR4.PGE. */
  pge: boolean;
  /** The current privilege level. */
  cpl: number;
  /** RFLAGS.AC (SMAP override for explicit accesses). */
  ac: boolean;
  /** MAXPHYADDR. */
  maxphyaddr: number;
  /** A TD vCPU. */
  td: boolean;
  /** The TD's shared bit (0 if none). */
  shared_mask: number;
}

/** Sets the paging configuration; the caller flushes the TLB when it changes. */
export function mmu_configure(c: mmu_config): void {
  levels = c.levels;
  pse = c.pse ?? false;
  long_addr = c.long_mode;
  wp = c.wp;
  nxe = c.nxe;
  smep = c.smep;
  smap = c.smap;
  pge = c.pge;
  cpl = c.cpl;
  ac = c.ac;
  td = c.td;
  shared_mask = c.shared_mask;
  const m = c.maxphyaddr;
  addr_hi_mask = m >= 52 ? 0xfffff : (2 ** (m - 32)) - 1;
  rsvd_hi = 0xfffff & ~addr_hi_mask;
  // CR3 bits 11:0 are flags (PCD, PWT) and bits above MAXPHYADDR are not address.
  cr3_base = (Math.floor(c.cr3 / TWO32) & addr_hi_mask) * TWO32 + ((c.cr3 & 0xfffff000) >>> 0);
  // Under PAE paging CR3 holds the 32-byte-aligned PDPT address (bits 31:5).
  if (levels === 3) cr3_base = (c.cr3 & 0xffffffe0) >>> 0;
  if (levels === 2) cr3_base = (c.cr3 & 0xfffff000) >>> 0;
}

/** Updates RFLAGS.AC without touching the TLB (it is not cached there). */
export function mmu_set_ac(v: boolean): void {
  ac = v;
}

/** Invalidates every TLB entry, or every non-global one (CR3 load with CR4.PGE). */
export function tlb_flush(keep_global = false): void {
  if (keep_global && pge) {
    for (let i = 0; i < TLB_SIZE; i++) if (!(tlb_perm[i]! & P_G)) tlb_tag[i] = -1;
  } else {
    tlb_tag.fill(-1);
  }
}

/** What the TLB and the last translation point at while no vCPU is attached. */
const IDLE_DV = new DataView(new ArrayBuffer(8));

/**
 * Forgets the guest the MMU served (the worker leaves its vCPU, VMCLEAR):
 * the TLB, the memory map and every view of guest memory, so that an idle
 * pooled worker holds none of a freed VM's memory and the next vCPU cannot
 * reach it. The next entry configures paging again (`sync_mode`).
 */
export function mmu_reset(): void {
  mem.set_map({ slots: [] });
  mem.dv = IDLE_DV;
  mem.off = 0;
  mem.dirty = null;
  tlb_tag.fill(-1);
  tlb_dv.fill(IDLE_DV);
  t_dv = IDLE_DV;
  t_off = 0;
  t_gpa = 0;
  levels = 0;
}

/** INVLPG: invalidates the page of linear address `hi:lo` (global or not). */
export function tlb_flush_page(hi: number, lo: number): void {
  const i = (lo >>> 12) & TLB_MASK;
  if (tlb_tag[i] === hi * 1048576 + (lo >>> 12)) tlb_tag[i] = -1;
}

/** TLB arrays, exported for the hot paths in `cpu.ts` (read-only use). */
export const tlb: {
  tag: Float64Array;
  perm: Int32Array;
  off: Float64Array;
  dv: DataView[];
  mask: number;
} = { tag: tlb_tag, perm: tlb_perm, off: tlb_off, dv: tlb_dv, mask: TLB_MASK };
/** Permission bits of TLB entries: readable, writable (and dirty), executable. */
export const TLB_P_R: number = P_R;
/** See {@linkcode TLB_P_R}. */
export const TLB_P_W: number = P_W;
/** See {@linkcode TLB_P_R}. */
export const TLB_P_X: number = P_X;

function fault(vector: number, ec: number, hi: number, lo: number): number {
  f_vector = vector;
  f_ec = ec;
  f_cr2_hi = hi;
  f_cr2_lo = lo;
  return TR_FAULT;
}

function ept(gpa: number, qual: number, priv: boolean): number {
  e_gpa = gpa;
  e_qual = qual;
  e_private = priv;
  e_td_mmio = false;
  return TR_EPT;
}

let walk_perm = 0;

/**
 * The 32-bit paging walk (SDM 4.3): 4-byte entries, no XD, 4 MiB pages with
 * CR4.PSE (PSE-36: PDE bits 20:13 are physical bits 39:32). Returns the
 * page's GPA, or -1 after recording a fault; the TLB permission bits are in
 * `walk_perm`.
 */
function walk32(lo: number, kind: number, user: boolean, implicit: boolean): number {
  // I/D is reported for a fetch only with SMEP here (32-bit paging has no XD).
  const pfbase = (kind === ACC_WRITE ? PFERR_WRITE_MASK : 0) | (user ? PFERR_USER_MASK : 0) |
    (kind === ACC_FETCH && smep ? PFERR_FETCH_MASK : 0);
  const pde_gpa = cr3_base + (lo >>> 22) * 4;
  if (mem.lookup(pde_gpa, false, false) !== 0) {
    ept(pde_gpa, EPT_VIOLATION_ACC_READ | EPT_VIOLATION_GVA_IS_VALID, false);
    return -2;
  }
  const ddv = mem.dv;
  const doff = mem.off;
  const dlog = mem.dirty;
  const dnr = mem.dirty_nr;
  const pde = ddv.getUint32(doff, true);
  if (!(pde & 1)) return fault32(pfbase, lo);
  let w = (pde >>> 1) & 1;
  let u = (pde >>> 2) & 1;
  let base: number;
  let leaf_dv = ddv;
  let leaf_off = doff;
  let leaf_log = dlog;
  let leaf_nr = dnr;
  let leaf = pde;
  const big = (pde & 0x80) !== 0 && pse;
  if (big) {
    if (pde & 0x200000) return fault32(pfbase | PFERR_PRESENT_MASK | PFERR_RSVD_MASK, lo);
    base = ((pde >>> 13) & 0xff) * TWO32 + ((pde & 0xffc00000) >>> 0) + (lo & 0x3ff000);
  } else {
    const pte_gpa = ((pde & 0xfffff000) >>> 0) + ((lo >>> 12) & 1023) * 4;
    if (mem.lookup(pte_gpa, false, false) !== 0) {
      ept(pte_gpa, EPT_VIOLATION_ACC_READ | EPT_VIOLATION_GVA_IS_VALID, false);
      return -2;
    }
    leaf_dv = mem.dv;
    leaf_off = mem.off;
    leaf_log = mem.dirty;
    leaf_nr = mem.dirty_nr;
    leaf = leaf_dv.getUint32(leaf_off, true);
    if (!(leaf & 1)) return fault32(pfbase, lo);
    w &= (leaf >>> 1) & 1;
    u &= (leaf >>> 2) & 1;
    base = (leaf & 0xfffff000) >>> 0;
  }
  const smap_block = smap && !user && u === 1 && kind !== ACC_FETCH && (implicit || !ac);
  if (
    (user && !u) || (kind === ACC_WRITE && !w && (user || wp)) ||
    (kind === ACC_FETCH && smep && !user && u) || smap_block
  ) {
    return fault32(pfbase | PFERR_PRESENT_MASK, lo);
  }
  if (!(pde & 0x20)) {
    ddv.setUint32(doff, (pde | 0x20) >>> 0, true);
    if (dlog) mark_page_dirty_bit(dlog, dnr);
  }
  const now = leaf_dv.getUint32(leaf_off, true);
  const want = now | 0x20 | (kind === ACC_WRITE ? 0x40 : 0);
  if (want !== now) {
    leaf_dv.setUint32(leaf_off, want >>> 0, true);
    if (leaf_log) mark_page_dirty_bit(leaf_log, leaf_nr);
  }
  const dirty = (want & 0x40) !== 0;
  let perm = 0;
  if (!(user && !u) && !(smap && !user && u === 1 && !ac)) perm |= P_R;
  if ((perm & P_R) && (w || (!user && !wp)) && dirty) perm |= P_W;
  if (!(user && !u) && !(smep && !user && u)) perm |= P_X;
  if (pge && (leaf & 0x100)) perm |= P_G;
  walk_perm = perm;
  return base;
}

function fault32(ec: number, lo: number): number {
  fault(PF_VECTOR, ec, 0, lo);
  return -1;
}

// Where each level's entry of the current walk lives, to set A/D afterwards.
const walk_dv: DataView[] = new Array(6).fill(mem.dv);
const walk_off = new Float64Array(6);
// The dirty bitmap and bit of each level's entry, for logging its A/D update.
const walk_log: (Int32Array | null)[] = new Array(6).fill(null);
const walk_nr = new Float64Array(6);

/**
 * Translates linear address `hi:lo` for access `acc` (`ACC_*`, optionally
 * `| ACC_IMPLICIT`). On `TR_OK` the host location is in {@linkcode t_dv} /
 * {@linkcode t_off} and the TLB holds the page.
 */
export function translate(hi: number, lo: number, acc: number): number {
  const kind = acc & 3;
  const implicit = (acc & ACC_IMPLICIT) !== 0;
  const user = cpl === 3 && !implicit;
  const acc_bits = kind === ACC_WRITE
    ? EPT_VIOLATION_ACC_WRITE
    : kind === ACC_FETCH
    ? EPT_VIOLATION_ACC_INSTR
    : EPT_VIOLATION_ACC_READ;
  let gpa: number;
  let perm = P_R | P_W | P_X;
  if (!long_addr) {
    // Outside IA-32e mode linear addresses are 32 bits (they wrap at 4 GiB).
    hi = 0;
  } else {
    const top = levels === 5 ? (hi | 0) >> 24 : (hi | 0) >> 15;
    if (top !== 0 && top !== -1) return fault(GP_VECTOR, 0, hi, lo);
  }
  if (levels === 0) {
    gpa = hi * TWO32 + ((lo & 0xfffff000) >>> 0);
  } else if (levels === 2) {
    const r = walk32(lo, kind, user, implicit);
    if (r < 0) return r === -1 ? TR_FAULT : TR_EPT;
    gpa = r;
    perm = walk_perm;
  } else {
    let table = cr3_base;
    let w = 1;
    let u = 1;
    let nx = 0;
    let leaf_pl = 0;
    let leaf_level = 1;
    let base = 0;
    const pfbase = (kind === ACC_WRITE ? PFERR_WRITE_MASK : 0) | (user ? PFERR_USER_MASK : 0) |
      (kind === ACC_FETCH && (nxe || smep) ? PFERR_FETCH_MASK : 0);
    for (let level = levels;; level--) {
      const idx = level === 1
        ? (lo >>> 12) & 511
        : level === 2
        ? (lo >>> 21) & 511
        : level === 3
        ? ((lo >>> 30) | (hi << 2)) & 511
        : level === 4
        ? (hi >>> 7) & 511
        : (hi >>> 16) & 511;
      const pte_gpa = table + idx * 8;
      if (mem.lookup(pte_gpa, td, td) !== 0) {
        // A paging-structure entry outside guest RAM: EPT violation on the
        // walk itself (qualification bit 8 clear).
        return ept(pte_gpa, EPT_VIOLATION_ACC_READ | EPT_VIOLATION_GVA_IS_VALID, td);
      }
      const dv = mem.dv;
      const off = mem.off;
      const pl = dv.getUint32(off, true);
      const ph = dv.getUint32(off + 4, true);
      if (!(pl & 1)) return fault(PF_VECTOR, pfbase, hi, lo);
      if (levels === 3 && level === 3) {
        // A PAE PDPTE: no R/W, U/S, A or XD; bits 2:1, 8:5 and 63:MAXPHYADDR reserved
        // (a load of such an entry is #GP at MOV CR3 on hardware; reported as #PF here).
        if ((pl & 0x1e6) !== 0 || (ph & rsvd_hi) !== 0) {
          return fault(PF_VECTOR, pfbase | PFERR_PRESENT_MASK | PFERR_RSVD_MASK, hi, lo);
        }
        table = (ph & addr_hi_mask) * TWO32 + ((pl & 0xfffff000) >>> 0);
        walk_dv[3] = dv;
        walk_off[3] = -1;
        continue;
      }
      const ps = (pl & 0x80) !== 0 && level <= (levels === 3 ? 2 : 3);
      let rsvd = (ph & rsvd_hi) !== 0 || (!nxe && (ph & 0x80000000) !== 0);
      if ((pl & 0x80) !== 0 && level >= 4) rsvd = true;
      if (ps && level === 2 && (pl & 0x1fe000) !== 0) rsvd = true;
      if (ps && level === 3 && (pl & 0x3fffe000) !== 0) rsvd = true;
      if (rsvd) return fault(PF_VECTOR, pfbase | PFERR_PRESENT_MASK | PFERR_RSVD_MASK, hi, lo);
      w &= (pl >>> 1) & 1;
      u &= (pl >>> 2) & 1;
      nx |= ph >>> 31;
      walk_dv[level] = dv;
      walk_off[level] = off;
      walk_log[level] = mem.dirty;
      walk_nr[level] = mem.dirty_nr;
      const addr = (ph & addr_hi_mask) * TWO32;
      if (level === 1 || ps) {
        leaf_pl = pl;
        leaf_level = level;
        if (level === 1) base = addr + ((pl & 0xfffff000) >>> 0);
        else if (level === 2) base = addr + ((pl & 0xffe00000) >>> 0) + (lo & 0x1ff000);
        else base = addr + ((pl & 0xc0000000) >>> 0) + (lo & 0x3ffff000);
        break;
      }
      table = addr + ((pl & 0xfffff000) >>> 0);
    }
    // Permission checks (SDM 4.6).
    const smap_block = smap && !user && u === 1 && kind !== ACC_FETCH && (implicit || !ac);
    if (user && !u) return fault(PF_VECTOR, pfbase | PFERR_PRESENT_MASK, hi, lo);
    if (kind === ACC_WRITE && !w && (user || wp)) {
      return fault(PF_VECTOR, pfbase | PFERR_PRESENT_MASK, hi, lo);
    }
    if (kind === ACC_FETCH && ((nx && nxe) || (smep && !user && u))) {
      return fault(PF_VECTOR, pfbase | PFERR_PRESENT_MASK, hi, lo);
    }
    if (smap_block) return fault(PF_VECTOR, pfbase | PFERR_PRESENT_MASK, hi, lo);
    // Accessed bits on every level, dirty on the leaf for a write.
    for (let level = levels; level >= leaf_level; level--) {
      const dv = walk_dv[level]!;
      const off = walk_off[level]!;
      if (off < 0) continue;
      const pl = dv.getUint32(off, true);
      let want = pl | 0x20;
      if (level === leaf_level && kind === ACC_WRITE) want |= 0x40;
      if (want !== pl) {
        dv.setUint32(off, want >>> 0, true);
        const log = walk_log[level];
        if (log) mark_page_dirty_bit(log, walk_nr[level]!);
      }
    }
    const dirty = kind === ACC_WRITE || (leaf_pl & 0x40) !== 0;
    perm = 0;
    if (!(user && !u) && !(smap && !user && u === 1 && !ac)) perm |= P_R;
    if ((perm & P_R) && (w || (!user && !wp)) && dirty) perm |= P_W;
    if (!(user && !u) && !(nx && nxe) && !(smep && !user && u)) perm |= P_X;
    if (pge && (leaf_pl & 0x100)) perm |= P_G;
    gpa = base;
  }
  let priv = false;
  if (td) {
    if (shared_mask !== 0 && Math.floor(gpa / shared_mask) % 2 === 1) gpa -= shared_mask;
    else priv = true;
  }
  const st = mem.lookup(gpa, priv, td);
  if (st !== 0) {
    const r = ept(
      gpa + (lo & 0xfff),
      acc_bits | EPT_VIOLATION_GVA_IS_VALID | EPT_VIOLATION_GVA_TRANSLATED,
      priv,
    );
    e_td_mmio = td && !priv && st === -1;
    return r;
  }
  if (mem.ro) {
    perm &= ~P_W;
    if (kind === ACC_WRITE) {
      return ept(
        gpa + (lo & 0xfff),
        acc_bits | EPT_VIOLATION_RWX_READABLE | EPT_VIOLATION_RWX_EXECUTABLE |
          EPT_VIOLATION_GVA_IS_VALID | EPT_VIOLATION_GVA_TRANSLATED,
        priv,
      );
    }
  }
  const log = mem.dirty;
  if (log) {
    // mark_page_dirty_in_slot() on the write; otherwise the page stays
    // write-protected in the TLB until its bit is set.
    if (kind === ACC_WRITE) mark_page_dirty_bit(log, mem.dirty_nr);
    else if (!test_page_dirty_bit(log, mem.dirty_nr)) perm &= ~P_W;
  }
  const ring_wp = mem.ring_wp;
  if (ring_wp && !test_page_dirty_bit(ring_wp, mem.dirty_nr)) {
    // Write-protected for the dirty ring: the write faults to the kernel.
    perm &= ~P_W;
    if (kind === ACC_WRITE) {
      return ept(
        gpa + (lo & 0xfff),
        acc_bits | EPT_VIOLATION_RWX_READABLE | EPT_VIOLATION_RWX_EXECUTABLE |
          EPT_VIOLATION_GVA_IS_VALID | EPT_VIOLATION_GVA_TRANSLATED,
        priv,
      );
    }
  }
  const i = (lo >>> 12) & TLB_MASK;
  tlb_tag[i] = hi * 1048576 + (lo >>> 12);
  tlb_perm[i] = perm;
  tlb_dv[i] = mem.dv;
  tlb_off[i] = mem.off;
  tlb_gpa[i] = gpa;
  t_dv = mem.dv;
  t_off = mem.off + (lo & 0xfff);
  t_gpa = gpa + (lo & 0xfff);
  return TR_OK;
}
