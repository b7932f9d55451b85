// SPDX-License-Identifier: GPL-2.0-only
// block_list against a plain array under random splices, and the in-order
// fills that memslots and top-down mmaps make.
import { assertEquals, assertThrows } from "@std/assert";
import { block_list, block_list_lower_bound, BLOCK_MAX } from "./block_list.ts";

function rng(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

Deno.test("block_list: 20,000 random splices give what an array gives", () => {
  const r = rng(42);
  const l = new block_list<number>();
  const a: number[] = [];
  for (let op = 0; op < 20_000; op++) {
    const at = Math.floor(r() * (a.length + 1));
    const del = r() < 0.4 ? Math.floor(r() * 3 * (r() < 0.05 ? BLOCK_MAX : 1)) : 0;
    const items = Array.from({ length: Math.floor(r() * 4) }, () => op);
    assertEquals(l.splice(at, del, ...items), a.splice(at, del, ...items));
    assertEquals(l.length, a.length);
    if (op % 997 === 0) assertEquals(l.to_array(), a);
  }
  assertEquals([...l], a);
  for (let i = 0; i < a.length; i += 37) {
    assertEquals(l.get(i), a[i]);
    assertEquals([...l.from(i)], a.slice(i));
  }
  assertEquals(l.get(a.length), undefined);
  assertEquals(l.get(-1), undefined);
});

Deno.test("block_list: sorted fills from either end, lower_bound, removal to empty", () => {
  const up = new block_list<number>(), down = new block_list<number>();
  for (let i = 0; i < 5000; i++) {
    up.insert(up.length, i);
    down.insert(0, 4999 - i);
  }
  assertEquals(up.to_array(), down.to_array());
  const key = (x: number) => x;
  assertEquals(block_list_lower_bound(up, 2500.5, key), 2501);
  assertEquals(block_list_lower_bound(up, -1, key), 0);
  assertEquals(block_list_lower_bound(up, 9999, key), 5000);
  while (up.length > 0) up.remove(up.length >> 1);
  assertEquals([...up], []);
  up.insert(0, 7);
  assertEquals(up.to_array(), [7]);
  assertThrows(() => up.splice(3, 0, 1), RangeError);
});
