// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import {
  secure_ept,
  SEPT_BLOCKED,
  SEPT_CHUNK_PAGES,
  SEPT_FREE,
  SEPT_MAPPED,
  SEPT_PENDING,
  sept_state_in,
} from "./sept.ts";

Deno.test("present() walks the GFNs holding a frame, ascending, across chunks and blocks", () => {
  const s = new secure_ept();
  const gfns = [3 * SEPT_CHUNK_PAGES + 7, 511, 512, 0, SEPT_CHUNK_PAGES - 1, SEPT_CHUNK_PAGES];
  const states = [SEPT_MAPPED, SEPT_PENDING, SEPT_BLOCKED];
  gfns.forEach((g, i) => s.set(g, states[i % states.length]!));
  assertEquals([...s.present()], [...gfns].sort((a, b) => a - b));
  assertEquals(s.nr_pages, gfns.length);
  // A page moving between non-free states is still one frame.
  s.set(511, SEPT_MAPPED);
  assertEquals(s.nr_pages, gfns.length);
  s.set(512, SEPT_FREE);
  s.set(0, SEPT_FREE);
  s.set(0, SEPT_FREE);
  assertEquals([...s.present()], [
    511,
    SEPT_CHUNK_PAGES - 1,
    SEPT_CHUNK_PAGES,
    3 * SEPT_CHUNK_PAGES + 7,
  ]);
  assertEquals(s.nr_pages, 4);
});

Deno.test("present() tolerates the walker freeing what it visits (a zap)", () => {
  const s = new secure_ept();
  for (let g = 100; g < 1100; g += 3) s.set(g, SEPT_MAPPED);
  const seen: number[] = [];
  for (const g of s.present()) {
    seen.push(g);
    s.set(g, SEPT_FREE);
  }
  assertEquals(seen.length, Math.ceil(1000 / 3));
  assertEquals(s.nr_pages, 0);
  assertEquals([...s.present()], []);
});

Deno.test("the CPU's lookup sees the module's states through the shared chunks", () => {
  const s = new secure_ept();
  const chunks = s.chunks_for(SEPT_CHUNK_PAGES - 2, 4);
  assertEquals(chunks.length, 2);
  s.set(SEPT_CHUNK_PAGES + 1, SEPT_PENDING);
  assertEquals(sept_state_in(chunks, SEPT_CHUNK_PAGES + 1), SEPT_PENDING);
  assertEquals(sept_state_in(chunks, SEPT_CHUNK_PAGES - 2), SEPT_FREE);
  assertEquals(sept_state_in(chunks, 5 * SEPT_CHUNK_PAGES), SEPT_FREE);
});
