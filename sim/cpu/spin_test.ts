// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import { spin_budget, SPIN_MAX, SPIN_MIN, SPIN_PROBE_EVERY } from "./spin.ts";

const waiting = new Int32Array(1); // holds 0: a spin on it runs out
const answered = Int32Array.of(1); // already changed: a spin succeeds at once

Deno.test("spin_budget halves on run-outs down to SPIN_MIN and doubles on answers up to SPIN_MAX", () => {
  const b = new spin_budget();
  assertEquals(b.budget, SPIN_MAX);
  for (let i = 0; i < 5; i++) assertEquals(b.spin(waiting, 0, 0), false);
  assertEquals(b.budget, SPIN_MAX >> 5);
  for (let i = 0; i < 40; i++) b.spin(waiting, 0, 0);
  assertEquals(b.budget, SPIN_MIN);
  assertEquals(b.spin(answered, 0, 0), true);
  assertEquals(b.budget, 2 * SPIN_MIN);
});

Deno.test("a budget at the bottom climbs back through a full-length probe", async () => {
  const b = new spin_budget();
  for (let i = 0; i < 3 * SPIN_PROBE_EVERY; i++) b.spin(waiting, 0, 0);
  assertEquals(b.budget, SPIN_MIN);
  // An answer that takes more polls than SPIN_MIN: found only by a probe.
  // The answering thread busy-polls (a futex wake is slower than any spin)
  // for a fixed number of rounds, so that it ends and the test can too.
  const rounds = 8 * SPIN_PROBE_EVERY;
  const ctl = new Int32Array(new SharedArrayBuffer(4));
  const late = new Worker(
    URL.createObjectURL(
      new Blob([
        `onmessage = (e) => { const a = new Int32Array(e.data.buf); postMessage("ready"); ` +
        `for (let n = 0; n < e.data.rounds;) { if (Atomics.load(a, 0) === 1) { ` +
        // A few microseconds of work before it answers: more than SPIN_MIN
        // polls, well under SPIN_MAX.
        `for (let k = 0; k < 2000; k++) Atomics.load(a, 0); ` +
        `Atomics.store(a, 0, 2); n++; } } };`,
      ], { type: "application/javascript" }),
    ),
    { type: "module" },
  );
  const ready = new Promise((resolve) => late.onmessage = resolve);
  late.postMessage({ buf: ctl.buffer, rounds });
  await ready;
  let found = false;
  try {
    for (let i = 0; i < rounds; i++) {
      Atomics.store(ctl, 0, 1);
      // The other thread flips 1 to 2; a spin waits while it is still 1.
      if (b.spin(ctl, 0, 1) && b.budget > 2 * SPIN_MIN) found = true;
      // The answer, before the next round.
      const give_up = performance.now() + 5000;
      while (Atomics.load(ctl, 0) === 1) assert(performance.now() < give_up, "no answer");
    }
  } finally {
    late.terminate();
  }
  assert(found, `budget stuck at ${b.budget}`);
});
