// SPDX-License-Identifier: GPL-2.0-only
// The CPU's memory map: deltas between maps, and a delta applied gives the whole map's lookups.
import { assert, assertEquals } from "@std/assert";
import {
  type guest_memory_map,
  type guest_memslot,
  memmap_delta,
  PAGE_SIZE,
  physmem,
} from "./memory.ts";

const chunk = new SharedArrayBuffer(16 * PAGE_SIZE);

function slot(key: number | undefined, gpa: number, page: number, npages = 1): guest_memslot {
  return {
    slot: page,
    ...(key === undefined ? {} : { key }),
    base_gpa: BigInt(gpa),
    npages,
    readonly: false,
    backing: { chunks: [chunk], chunk_size: chunk.byteLength, offset: page * PAGE_SIZE },
  };
}

Deno.test("memmap_delta: the slots the next map adds, and the keys of those it drops", () => {
  const a = slot(1, 0x1000, 0), b = slot(2, 0x2000, 1), c = slot(3, 0x3000, 2);
  const moved = slot(4, 0x9000, 2);
  const last: guest_memory_map = { slots: [a, b, c] };
  assertEquals(memmap_delta(last, last), { add: [], remove: [] });
  assertEquals(memmap_delta(last, { slots: [a, b, c] }), { add: [], remove: [] });
  assertEquals(memmap_delta(last, { slots: [a, b, moved] }), { add: [moved], remove: [3] });
  assertEquals(memmap_delta(last, { slots: [a, c] }), { add: [], remove: [2] });
});

Deno.test("memmap_delta: the whole map when most of it is new or a dropped slot has no key", () => {
  const a = slot(1, 0x1000, 0), b = slot(2, 0x2000, 1);
  // Equal content, other objects: nothing is known to be kept.
  assertEquals(
    memmap_delta({ slots: [a, b] }, { slots: [slot(5, 0x1000, 0), slot(6, 0x2000, 1)] }),
    undefined,
  );
  const keyless = slot(undefined, 0x3000, 2);
  assertEquals(memmap_delta({ slots: [a, b, keyless] }, { slots: [a, b] }), undefined);
  // A keyless slot that stays is no obstacle.
  assertEquals(memmap_delta({ slots: [a, b, keyless] }, { slots: [a, keyless] }), {
    add: [],
    remove: [2],
  });
});

Deno.test("physmem: a map updated by deltas looks up as the whole map does", () => {
  const bytes = new Uint8Array(chunk);
  for (let p = 0; p < 16; p++) bytes[p * PAGE_SIZE] = 0x40 + p;
  let map: guest_memory_map = {
    slots: Array.from({ length: 8 }, (_, i) => slot(100 + i, 0x10000 + i * 0x2000, i)),
  };
  const by_delta = new physmem();
  by_delta.set_map(map);
  let key = 200;
  const steps: ((m: guest_memory_map) => guest_memory_map)[] = [
    // Move the last slot below all others, then one into a gap.
    (m) => ({ slots: [...m.slots.slice(0, 7), slot(key++, 0x1000, 7)] }),
    (m) => ({ slots: [...m.slots.filter((s) => s.slot !== 3), slot(key++, 0x11000, 3)] }),
    // Delete one, add two (one of them two pages long).
    (m) => ({ slots: m.slots.filter((s) => s.slot !== 5) }),
    (m) => ({ slots: [...m.slots, slot(key++, 0x40000, 9, 2), slot(key++, 0x3000, 12)] }),
  ];
  for (const [n, step] of steps.entries()) {
    const next = step(map);
    const delta = memmap_delta(map, next);
    assert(delta, `step ${n}: a delta`);
    by_delta.update_map(delta);
    map = next;
    const whole = new physmem();
    whole.set_map(map);
    for (let gpa = 0; gpa < 0x50000; gpa += 0x800) {
      const r = whole.lookup(gpa, false, false);
      assertEquals(by_delta.lookup(gpa, false, false), r, `step ${n}: GPA 0x${gpa.toString(16)}`);
      if (r === 0) {
        assertEquals(
          by_delta.dv.getUint8(by_delta.off),
          whole.dv.getUint8(whole.off),
          `step ${n}: the byte at GPA 0x${gpa.toString(16)}`,
        );
      }
    }
  }
});
