// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task diff --guest`: the generator is a function of (seed, index),
 * the simulator agrees with itself, and 1,000 programs agree between the
 * real `/dev/kvm` (guest runtime) and the simulator at 99% or more (skipped,
 * with the reason in the name, without `/dev/kvm`).
 */
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { compare_guest, gen_guest } from "./guest.ts";
import { G } from "./guest_image.ts";

const have_kvm = (() => {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
})();

Deno.test("guest programs are a function of (seed, index), start with the MSR menu, end in range", () => {
  assertEquals(gen_guest(7, 3), gen_guest(7, 3));
  assertNotEquals(gen_guest(7, 3), gen_guest(7, 4));
  assertNotEquals(gen_guest(7, 3), gen_guest(8, 3));
  for (let i = 0; i < 200; i++) {
    const p = gen_guest(11, i);
    assert(p.length >= 13 && p.length <= 64, `program ${i}: ${p.length} ops`);
    assert(p.slice(0, 5).every(([k]) => k === G.WRMSR_SAFE));
    assert(p.every(([k]) => k > G.END && k <= G.RDTSC2));
  }
});

Deno.test("a difference names the op and both results", () => {
  const p = gen_guest(1, 0);
  const a = { exits: ["out 0x80/1 = 0x1"], results: p.map(() => 0n) };
  assertEquals(compare_guest(p, a, { ...a }), undefined);
  const b = { exits: a.exits, results: [...a.results.slice(0, 5), 9n, ...a.results.slice(6)] };
  assert(compare_guest(p, a, b)!.includes("0x0 vs 0x9"));
  assert(compare_guest(p, a, { ...a, exits: [] })!.startsWith("exit 0"));
});

/**
 * `deno task diff --guest` in a child process: the library caches what it
 * learns of the kernel (supported CPUID, paging mode) per process, so each
 * comparison gets a process whose first backend is its reference.
 */
async function diff_guest(args: string[]): Promise<{ code: number; out: string }> {
  const tool = new URL("../diff.ts", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", tool, "--guest", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const td = new TextDecoder();
  return { code: r.code, out: td.decode(r.stdout) + td.decode(r.stderr) };
}

Deno.test("the simulator agrees with itself on 100 guest programs", async () => {
  const r = await diff_guest(["--a", "sim", "--b", "sim", "--seed", "5", "-n", "100"]);
  assertEquals(r.code, 0, r.out);
  assert(r.out.includes("100/100 guest programs agree (100.00%), sim vs sim"), r.out);
});

Deno.test({
  name: `1,000 guest programs agree between /dev/kvm and the simulator (>= 99%)${
    have_kvm ? "" : " (skipped: /dev/kvm missing or not accessible)"
  }`,
  ignore: !have_kvm,
  fn: async () => {
    const r = await diff_guest(["--seed", "2026", "-n", "1000", "--min-rate", "99"]);
    assertEquals(r.code, 0, r.out);
    assert(
      /1000\/1000 guest programs agree|\d+\/1000 guest programs agree \(99/.test(r.out),
      r.out,
    );
  },
});
