// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertThrows } from "@std/assert";
import { createHash } from "node:crypto";
import {
  OPERAND_ID_RCX,
  TDX_EPT_ENTRY_FREE,
  TDX_EPT_ENTRY_NOT_FREE,
  TDX_EPT_WALK_FAILED,
  TDX_GPA_RANGE_ALREADY_BLOCKED,
  TDX_GPA_RANGE_NOT_BLOCKED,
  TDX_OP_STATE_INCORRECT,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
} from "../../include/x86/tdx/tdcall.ts";
import { SEPT_BLOCKED, SEPT_FREE, SEPT_MAPPED, SEPT_PENDING, sept_state_in } from "./sept.ts";
import {
  tdh_mem_page_add,
  tdh_mem_page_add_measured,
  tdh_mem_page_aug,
  tdh_mem_page_remove,
  tdh_mem_range_block,
  tdh_mem_range_unblock,
  tdh_mem_track,
  tdh_mr_extend,
  tdh_mr_finalize,
} from "./tdh_mem.ts";
import { fake_gmem, hex, make_td, make_vcpus, running_td } from "./testdata/util.ts";

/** MRTD written out from the record format, independently of measure.ts. */
function straight_line(pages: { gpa: number; data: Uint8Array; measure: boolean }[]): string {
  const out: number[] = [];
  const rec = (tag: string, gpa: number) => {
    const r = new Array(128).fill(0);
    for (let i = 0; i < tag.length; i++) r[i] = tag.charCodeAt(i);
    for (let i = 0; i < 8; i++) r[16 + i] = Math.floor(gpa / 2 ** (8 * i)) & 0xff;
    out.push(...r);
  };
  for (const p of pages) {
    rec("MEM.PAGE.ADD", p.gpa);
    if (!p.measure) continue;
    for (let off = 0; off < 4096; off += 256) {
      rec("MR.EXTEND", p.gpa + off);
      out.push(...p.data.subarray(off, off + 256));
    }
  }
  return createHash("sha384").update(new Uint8Array(out)).digest("hex");
}

Deno.test("a small TD's MRTD matches the straight-line computation of its build", () => {
  const td = make_td();
  make_vcpus(td, 1);
  const mem = new fake_gmem();
  const pages = [0x0, 0x1000, 0xffff0000, 0xfffff000].map((gpa, i) => ({
    gpa,
    data: new Uint8Array(4096).map((_, j) => (j * 13 + i) & 0xff),
    measure: i !== 1,
  }));
  for (const [i, p] of pages.entries()) {
    const g = BigInt(p.gpa);
    const page = mem.page(p.gpa / 4096);
    if (!p.measure) assertEquals(tdh_mem_page_add(td, g, page, p.data), TDX_SUCCESS);
    else if (i === 0) {
      // KVM's order: ADD, then 16 EXTENDs of the destination.
      assertEquals(tdh_mem_page_add(td, g, page, p.data), TDX_SUCCESS);
      for (let off = 0n; off < 4096n; off += 256n) {
        assertEquals(tdh_mr_extend(td, g + off, page), TDX_SUCCESS);
      }
    } else assertEquals(tdh_mem_page_add_measured(td, g, page, p.data), TDX_SUCCESS);
    assertEquals(page, p.data);
  }
  assertEquals(tdh_mr_finalize(td), TDX_SUCCESS);
  assertEquals(hex(td.measurement.mrtd), straight_line(pages));
});

Deno.test("PAGE.ADD copies: later writes to the source do not reach the TD", () => {
  const td = make_td();
  const src = new Uint8Array(4096).fill(7);
  const dst = new Uint8Array(4096);
  assertEquals(tdh_mem_page_add(td, 0x2000n, dst, src), TDX_SUCCESS);
  src.fill(9);
  assertEquals(dst[100], 7);
  assertEquals(td.sept.state(2), SEPT_MAPPED);
});

Deno.test("PAGE.ADD / MR.EXTEND / FINALIZE ordering and operand errors", () => {
  const td = make_td();
  const p = () => new Uint8Array(4096);
  const inv = TDX_OPERAND_INVALID | OPERAND_ID_RCX;
  assertEquals(tdh_mem_page_add(td, 0x1001n, p(), p()), inv);
  assertEquals(tdh_mem_page_add(td, 0x1000n | 1n << 47n, p(), p()), inv); // shared GPA
  assertEquals(tdh_mem_page_add(td, 1n << 48n, p(), p()), inv); // beyond GPAW
  assertEquals(tdh_mem_page_add(td, 0x1000n, p(), p()), TDX_SUCCESS);
  assertEquals(tdh_mem_page_add(td, 0x1000n, p(), p()), TDX_EPT_ENTRY_NOT_FREE);
  assertEquals(tdh_mr_extend(td, 0x1080n, p()), inv);
  assertEquals(tdh_mr_extend(td, 0x5000n, p()), TDX_EPT_WALK_FAILED);
  assertEquals(tdh_mem_page_aug(td, 0x3000n), TDX_OP_STATE_INCORRECT); // AUG is run time
  assertThrows(() => tdh_mem_page_add(td, 0x2000n, new Uint8Array(100), p()), RangeError);
  assertEquals(tdh_mr_finalize(td), TDX_SUCCESS);
  assertEquals(tdh_mr_finalize(td), TDX_OP_STATE_INCORRECT);
  assertEquals(tdh_mem_page_add(td, 0x2000n, p(), p()), TDX_OP_STATE_INCORRECT);
  assertEquals(tdh_mr_extend(td, 0x1000n, p()), TDX_OP_STATE_INCORRECT);
  const early = make_td(undefined, { init: false });
  assertEquals(tdh_mem_page_add(early, 0x1000n, p(), p()), TDX_OP_STATE_INCORRECT);
  assertEquals(tdh_mr_finalize(early), TDX_OP_STATE_INCORRECT);
});

Deno.test("AUG → PENDING; BLOCK → TRACK → REMOVE frees the GFN; the CPU sees it via chunks", () => {
  const { td } = running_td();
  const gfn = 0x12345;
  const gpa = BigInt(gfn) << 12n;
  const chunks = td.sept.chunks_for(gfn, 1);
  assertEquals(sept_state_in(chunks, gfn), SEPT_FREE);
  assertEquals(tdh_mem_page_aug(td, gpa), TDX_SUCCESS);
  assertEquals(sept_state_in(chunks, gfn), SEPT_PENDING);
  assertEquals(tdh_mem_page_aug(td, gpa), TDX_EPT_ENTRY_NOT_FREE);
  assertEquals(tdh_mem_page_remove(td, gpa), TDX_GPA_RANGE_NOT_BLOCKED);
  assertEquals(tdh_mem_range_block(td, gpa), TDX_SUCCESS);
  assertEquals(tdh_mem_range_block(td, gpa), TDX_GPA_RANGE_ALREADY_BLOCKED);
  assertEquals(tdh_mem_range_unblock(td, gpa), TDX_SUCCESS);
  assertEquals(sept_state_in(chunks, gfn), SEPT_PENDING);
  assertEquals(tdh_mem_range_block(td, gpa), TDX_SUCCESS);
  assertEquals(tdh_mem_track(td), TDX_SUCCESS);
  assertEquals(tdh_mem_page_remove(td, gpa), TDX_SUCCESS);
  assertEquals(sept_state_in(chunks, gfn), SEPT_FREE);
  assertEquals(tdh_mem_page_remove(td, gpa), TDX_EPT_ENTRY_FREE);
  assertEquals(tdh_mem_range_block(td, gpa), TDX_EPT_ENTRY_FREE);
  assertEquals(td.sept.nr_pages, 0);
});

Deno.test("a mapped page blocked reads as BLOCKED; chunks cover a range across 1 GiB", () => {
  const td = make_td();
  assertEquals(
    tdh_mem_page_add(td, 0x3fff_f000n, new Uint8Array(4096), new Uint8Array(4096)),
    TDX_SUCCESS,
  );
  assertEquals(tdh_mem_range_block(td, 0x3fff_f000n), TDX_SUCCESS);
  const chunks = td.sept.chunks_for(0x3ffff, 2);
  assertEquals(chunks.length, 2);
  assertEquals(sept_state_in(chunks, 0x3ffff), SEPT_BLOCKED);
  assertEquals(sept_state_in(chunks, 0x40000), SEPT_FREE);
});
