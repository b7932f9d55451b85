// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { createHash } from "node:crypto";
import { td_measurement } from "./measure.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** One 128-byte record of the TDX module's format: ASCII tag at 0, GPA (LE) at 16. */
function rec(tag: string, gpa: number): number[] {
  const r = new Array(128).fill(0);
  for (let i = 0; i < tag.length; i++) r[i] = tag.charCodeAt(i);
  for (let i = 0; i < 8; i++) r[16 + i] = Math.floor(gpa / 2 ** (8 * i)) & 0xff;
  return r;
}

/** The algorithm written out straight from the TDX module's record format, independently. */
function straight_line(pages: { gpa: number; data: Uint8Array; measure: boolean }[]): string {
  const chunks: number[] = [];
  for (const p of pages) {
    chunks.push(...rec("MEM.PAGE.ADD", p.gpa));
    if (!p.measure) continue;
    for (let off = 0; off < 4096; off += 256) {
      chunks.push(...rec("MR.EXTEND", p.gpa + off), ...p.data.subarray(off, off + 256));
    }
  }
  return createHash("sha384").update(new Uint8Array(chunks)).digest("hex");
}

Deno.test("the MRTD of a TD without pages is SHA-384 of nothing", () => {
  const m = new td_measurement();
  assertEquals(
    hex(m.finalize()),
    "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b",
  );
});

Deno.test("a multi-page TD measures as the straight-line record sequence does", () => {
  const pages = [0x1000, 0x2000, 0xfffff000, 0x1_0000_0000 - 0x10000].map((gpa, i) => ({
    gpa,
    data: new Uint8Array(4096).map((_, j) => (j * 7 + i) & 0xff),
    measure: i !== 2,
  }));
  const m = new td_measurement();
  for (const p of pages) {
    if (p.measure) m.page_add_measured(BigInt(p.gpa), p.data);
    else m.page_add(BigInt(p.gpa));
  }
  assertEquals(hex(m.finalize()), straight_line(pages));
});

Deno.test("staged pages reach the hash in order across batches and mixed records", () => {
  // 75 measured pages cross two staging batches; an unmeasured ADD and a lone
  // MR.EXTEND in between must land after the pages staged before them.
  const pages = Array.from({ length: 77 }, (_, i) => ({
    gpa: 0x10_0000 + i * 0x1000,
    data: new Uint8Array(4096).map((_, j) => (j * 13 + i * 3) & 0xff),
    measure: i !== 40 && i !== 41,
  }));
  const m = new td_measurement();
  for (const p of pages) {
    if (p.measure) m.page_add_measured(BigInt(p.gpa), p.data);
    else m.page_add(BigInt(p.gpa));
  }
  assertEquals(hex(m.finalize()), straight_line(pages));
  const n = new td_measurement();
  n.page_add_measured(0x1000n, pages[0]!.data);
  n.page_add(0x2000n);
  n.mr_extend(0x2100n, pages[1]!.data.subarray(0, 256));
  const want = rec("MEM.PAGE.ADD", 0x1000);
  for (let off = 0; off < 4096; off += 256) {
    want.push(...rec("MR.EXTEND", 0x1000 + off), ...pages[0]!.data.subarray(off, off + 256));
  }
  want.push(...rec("MEM.PAGE.ADD", 0x2000), ...rec("MR.EXTEND", 0x2100));
  want.push(...pages[1]!.data.subarray(0, 256));
  assertEquals(hex(n.finalize()), createHash("sha384").update(new Uint8Array(want)).digest("hex"));
});

Deno.test("page_add_measured feeds exactly what ADD plus 16 EXTENDs feed", () => {
  const data = new Uint8Array(4096).map((_, j) => j & 0xff);
  const a = new td_measurement();
  a.page_add_measured(0x5000n, data);
  const b = new td_measurement();
  b.page_add(0x5000n);
  for (let off = 0; off < 4096; off += 256) {
    b.mr_extend(0x5000n + BigInt(off), data.subarray(off, off + 256));
  }
  assertEquals(hex(a.finalize()), hex(b.finalize()));
});

Deno.test("a changed byte, GPA or page order changes MRTD; the same build gives the same MRTD", () => {
  const build = (order: number[], poke = -1) => {
    const m = new td_measurement();
    for (const i of order) {
      const d = new Uint8Array(4096).fill(i);
      if (i === 0 && poke >= 0) d[poke] = d[poke]! ^ 1;
      m.page_add_measured(BigInt(0x1000 * (i + 1)), d);
    }
    return hex(m.finalize());
  };
  assertEquals(build([0, 1, 2]), build([0, 1, 2]));
  assertNotEquals(build([0, 1, 2]), build([0, 1, 2], 4095));
  assertNotEquals(build([0, 1, 2]), build([1, 0, 2]));
});

Deno.test("MRTD is closed after finalize and unreadable before it", () => {
  const m = new td_measurement();
  assertThrows(() => m.mrtd, Error, "not final");
  m.finalize();
  assertThrows(() => m.page_add(0x1000n), Error, "finalized");
});

Deno.test("RTMR extend chains SHA-384 over the old value and the 48 new bytes", () => {
  const m = new td_measurement();
  const d = new Uint8Array(48).fill(0xab);
  m.rtmr_extend(2, d);
  const want = createHash("sha384").update(new Uint8Array(48)).update(d).digest("hex");
  assertEquals(hex(m.rtmr[2]!), want);
  assertThrows(() => m.rtmr_extend(4, d), RangeError);
});
