// SPDX-License-Identifier: GPL-2.0-only
/**
 * Private-memory and measurement SEAMCALLs: TDH.MEM.PAGE.ADD (build time),
 * TDH.MR.EXTEND, TDH.MR.FINALIZE, TDH.MEM.PAGE.AUG (run time),
 * TDH.MEM.RANGE.BLOCK / UNBLOCK, TDH.MEM.TRACK and TDH.MEM.PAGE.REMOVE.
 *
 * Page frames are guest_memfd pages: the caller (KVM) resolves the GFN to
 * its gmem page and passes a 4 KiB `Uint8Array` view of it; the module
 * writes the content there (PAGE.ADD copies the source, ACCEPT zeroes) and
 * keeps the GFN's Secure EPT state (`sept.ts`).
 *
 * Ordering rules the module enforces: PAGE.ADD and MR.EXTEND only between
 * TDH.MNG.INIT and TDH.MR.FINALIZE (the MRTD is closed after); PAGE.AUG
 * only after TDH.MR.FINALIZE (build-time memory is added, run-time memory
 * augmented); a GFN holds one page (TDX_EPT_ENTRY_NOT_FREE); PAGE.REMOVE
 * only of a blocked GFN. A removed page's content is gone for the guest: the
 * GFN is FREE, and it can only come back through AUG + ACCEPT (zeroed) or
 * PAGE.ADD (overwritten).
 *
 * @module
 */

import { seamcall_fault } from "../fault_inject.ts";
import {
  OPERAND_ID_RCX,
  TDX_EPT_ENTRY_FREE,
  TDX_EPT_ENTRY_NOT_FREE,
  TDX_EPT_WALK_FAILED,
  TDX_GPA_RANGE_ALREADY_BLOCKED,
  TDX_GPA_RANGE_NOT_BLOCKED,
  TDX_LIFECYCLE_STATE_INCORRECT,
  TDX_OP_STATE_INCORRECT,
  TDX_SUCCESS,
} from "../../include/x86/tdx/tdcall.ts";
import { MR_EXTEND_GRANULARITY } from "./measure.ts";
import {
  SEPT_BLOCKED,
  SEPT_FREE,
  SEPT_MAPPED,
  SEPT_PENDING,
  SEPT_PENDING_BLOCKED,
} from "./sept.ts";
import { operand_invalid } from "./tdh_mng.ts";
import {
  OP_STATE_INITIALIZED,
  OP_STATE_RUNNABLE,
  TD_BLOCKED,
  TD_KEYS_CONFIGURED,
  type tdx_td,
} from "./td.ts";

/** Bytes of a TD page. */
export const TDX_PAGE_SIZE = 4096;

/**
 * Whether `gpa` is a valid private GPA of `td`, aligned to `align`: shared
 * bit clear and below 2^GPAW.
 */
export function td_private_gpa_valid(td: tdx_td, gpa: bigint, align: bigint): boolean {
  if (gpa < 0n || gpa % align !== 0n) return false;
  if (gpa & td.shared_bit) return false;
  return gpa < 1n << BigInt(td.gpaw);
}

/** The GFN of `gpa`. */
export function gpa_to_gfn(gpa: bigint): number {
  return Number(gpa >> 12n);
}

function check_page(p: Uint8Array, what: string): void {
  if (p.length !== TDX_PAGE_SIZE) throw new RangeError(`${what} must be a 4096-byte page`);
}

function building(td: tdx_td): bigint {
  if (td.lifecycle !== TD_KEYS_CONFIGURED) return TDX_LIFECYCLE_STATE_INCORRECT;
  if (td.op_state !== OP_STATE_INITIALIZED) return TDX_OP_STATE_INCORRECT;
  return TDX_SUCCESS;
}

/**
 * TDH.MEM.PAGE.ADD: copies `source` into `page` (the gmem page that will
 * back `gpa`), maps it (SEPT MAPPED: the guest may use it without accepting)
 * and extends MRTD with the PAGE.ADD record of `gpa` (not the content: that
 * is MR.EXTEND's). After TDH.MR.FINALIZE → TDX_OP_STATE_INCORRECT; a GPA not
 * private, not aligned or beyond GPAW → OPERAND_INVALID(RCX); a GFN already
 * holding a page → TDX_EPT_ENTRY_NOT_FREE.
 */
export function tdh_mem_page_add(
  td: tdx_td,
  gpa: bigint,
  page: Uint8Array,
  source: Uint8Array,
): bigint {
  const fault = seamcall_fault("TDH.MEM.PAGE.ADD");
  if (fault !== null) return fault;
  check_page(page, "page");
  check_page(source, "source");
  const st = building(td);
  if (st !== TDX_SUCCESS) return st;
  if (!td_private_gpa_valid(td, gpa, 4096n)) return operand_invalid(OPERAND_ID_RCX);
  const gfn = gpa_to_gfn(gpa);
  if (td.sept.state(gfn) !== SEPT_FREE) return TDX_EPT_ENTRY_NOT_FREE;
  if (page !== source) page.set(source);
  td.sept.set(gfn, SEPT_MAPPED);
  td.measurement.page_add(gpa);
  return TDX_SUCCESS;
}

/**
 * TDH.MEM.PAGE.ADD of `gpa` followed by TDH.MR.EXTEND of its 16 chunks, the
 * single-pass sequence KVM issues for a measured KVM_TDX_INIT_MEM_REGION
 * page, with the same result and statuses as the 17 calls (a simulator
 * shortcut: the measurement is fed in one update).
 */
export function tdh_mem_page_add_measured(
  td: tdx_td,
  gpa: bigint,
  page: Uint8Array,
  source: Uint8Array,
): bigint {
  const fault = seamcall_fault("TDH.MEM.PAGE.ADD");
  if (fault !== null) return fault;
  check_page(page, "page");
  check_page(source, "source");
  const st = building(td);
  if (st !== TDX_SUCCESS) return st;
  if (!td_private_gpa_valid(td, gpa, 4096n)) return operand_invalid(OPERAND_ID_RCX);
  const gfn = gpa_to_gfn(gpa);
  if (td.sept.state(gfn) !== SEPT_FREE) return TDX_EPT_ENTRY_NOT_FREE;
  if (page !== source) page.set(source);
  td.sept.set(gfn, SEPT_MAPPED);
  td.measurement.page_add_measured(gpa, page);
  return TDX_SUCCESS;
}

/**
 * TDH.MR.EXTEND: extends MRTD with the 256-byte chunk at `gpa` of an added
 * page; `page` is the 4 KiB page that holds it. A GPA not 256-byte aligned
 * or not private → OPERAND_INVALID(RCX); a GFN without an added page →
 * TDX_EPT_WALK_FAILED; after TDH.MR.FINALIZE → TDX_OP_STATE_INCORRECT.
 */
export function tdh_mr_extend(td: tdx_td, gpa: bigint, page: Uint8Array): bigint {
  check_page(page, "page");
  const st = building(td);
  if (st !== TDX_SUCCESS) return st;
  if (!td_private_gpa_valid(td, gpa, BigInt(MR_EXTEND_GRANULARITY))) {
    return operand_invalid(OPERAND_ID_RCX);
  }
  if (td.sept.state(gpa_to_gfn(gpa)) !== SEPT_MAPPED) return TDX_EPT_WALK_FAILED;
  const off = Number(gpa & 0xfffn);
  td.measurement.mr_extend(gpa, page.subarray(off, off + MR_EXTEND_GRANULARITY));
  return TDX_SUCCESS;
}

/**
 * TDH.MR.FINALIZE: closes the build. MRTD becomes final, PAGE.ADD and
 * MR.EXTEND are refused from now on, and the vCPUs may enter. Twice, or
 * before TDH.MNG.INIT → TDX_OP_STATE_INCORRECT.
 */
export function tdh_mr_finalize(td: tdx_td): bigint {
  const fault = seamcall_fault("TDH.MR.FINALIZE");
  if (fault !== null) return fault;
  const st = building(td);
  if (st !== TDX_SUCCESS) return st;
  td.measurement.finalize();
  td.op_state = OP_STATE_RUNNABLE;
  return TDX_SUCCESS;
}

/**
 * TDH.MEM.PAGE.AUG: maps a page at `gpa` at run time, PENDING until the
 * guest accepts it (TDG.MEM.PAGE.ACCEPT zeroes it then, so the frame's old
 * content never reaches the guest). Only after TDH.MR.FINALIZE; a GFN
 * already holding a page → TDX_EPT_ENTRY_NOT_FREE.
 */
export function tdh_mem_page_aug(td: tdx_td, gpa: bigint): bigint {
  const fault = seamcall_fault("TDH.MEM.PAGE.AUG");
  if (fault !== null) return fault;
  if (td.lifecycle !== TD_KEYS_CONFIGURED) return TDX_LIFECYCLE_STATE_INCORRECT;
  if (td.op_state !== OP_STATE_RUNNABLE) return TDX_OP_STATE_INCORRECT;
  if (!td_private_gpa_valid(td, gpa, 4096n)) return operand_invalid(OPERAND_ID_RCX);
  const gfn = gpa_to_gfn(gpa);
  if (td.sept.state(gfn) !== SEPT_FREE) return TDX_EPT_ENTRY_NOT_FREE;
  td.sept.set(gfn, SEPT_PENDING);
  return TDX_SUCCESS;
}

function mem_lifecycle_ok(td: tdx_td): boolean {
  return td.lifecycle === TD_KEYS_CONFIGURED || td.lifecycle === TD_BLOCKED;
}

/**
 * TDH.MEM.RANGE.BLOCK (4 KiB level): stops new guest translations of `gpa`
 * before its removal. Already blocked → the TDX_GPA_RANGE_ALREADY_BLOCKED
 * warning; nothing mapped → TDX_EPT_ENTRY_FREE; a level other than 4 KiB →
 * OPERAND_INVALID(RCX).
 */
export function tdh_mem_range_block(td: tdx_td, gpa: bigint, level = 0): bigint {
  const fault = seamcall_fault("TDH.MEM.RANGE.BLOCK");
  if (fault !== null) return fault;
  if (!mem_lifecycle_ok(td)) return TDX_LIFECYCLE_STATE_INCORRECT;
  if (level !== 0 || !td_private_gpa_valid(td, gpa, 4096n)) return operand_invalid(OPERAND_ID_RCX);
  const gfn = gpa_to_gfn(gpa);
  const s = td.sept.state(gfn);
  if (s === SEPT_FREE) return TDX_EPT_ENTRY_FREE;
  if (s === SEPT_BLOCKED || s === SEPT_PENDING_BLOCKED) return TDX_GPA_RANGE_ALREADY_BLOCKED;
  td.sept.set(gfn, s === SEPT_PENDING ? SEPT_PENDING_BLOCKED : SEPT_BLOCKED);
  return TDX_SUCCESS;
}

/** TDH.MEM.RANGE.UNBLOCK: undoes TDH.MEM.RANGE.BLOCK; a GFN not blocked → TDX_GPA_RANGE_NOT_BLOCKED. */
export function tdh_mem_range_unblock(td: tdx_td, gpa: bigint, level = 0): bigint {
  if (!mem_lifecycle_ok(td)) return TDX_LIFECYCLE_STATE_INCORRECT;
  if (level !== 0 || !td_private_gpa_valid(td, gpa, 4096n)) return operand_invalid(OPERAND_ID_RCX);
  const gfn = gpa_to_gfn(gpa);
  const s = td.sept.state(gfn);
  if (s === SEPT_BLOCKED) td.sept.set(gfn, SEPT_MAPPED);
  else if (s === SEPT_PENDING_BLOCKED) td.sept.set(gfn, SEPT_PENDING);
  else return TDX_GPA_RANGE_NOT_BLOCKED;
  return TDX_SUCCESS;
}

/**
 * TDH.MEM.TRACK: starts a TLB epoch, after which no vCPU holds a translation
 * of a blocked GFN. The simulated CPU reads the SEPT state on every private
 * access, so blocking takes effect at once and tracking has nothing to wait for.
 */
export function tdh_mem_track(td: tdx_td): bigint {
  const fault = seamcall_fault("TDH.MEM.TRACK");
  if (fault !== null) return fault;
  if (!mem_lifecycle_ok(td)) return TDX_LIFECYCLE_STATE_INCORRECT;
  return TDX_SUCCESS;
}

/**
 * TDH.MEM.PAGE.REMOVE (4 KiB level): unmaps the blocked page at `gpa`; the
 * GFN is FREE again and its content lost to the guest. Not blocked →
 * TDX_GPA_RANGE_NOT_BLOCKED; nothing mapped → TDX_EPT_ENTRY_FREE.
 */
export function tdh_mem_page_remove(td: tdx_td, gpa: bigint, level = 0): bigint {
  const fault = seamcall_fault("TDH.MEM.PAGE.REMOVE");
  if (fault !== null) return fault;
  if (!mem_lifecycle_ok(td)) return TDX_LIFECYCLE_STATE_INCORRECT;
  if (level !== 0 || !td_private_gpa_valid(td, gpa, 4096n)) return operand_invalid(OPERAND_ID_RCX);
  const gfn = gpa_to_gfn(gpa);
  const s = td.sept.state(gfn);
  if (s === SEPT_FREE) return TDX_EPT_ENTRY_FREE;
  if (s !== SEPT_BLOCKED && s !== SEPT_PENDING_BLOCKED) return TDX_GPA_RANGE_NOT_BLOCKED;
  td.sept.set(gfn, SEPT_FREE);
  return TDX_SUCCESS;
}
