// SPDX-License-Identifier: GPL-2.0-only
// Which guest images a pooled worker may keep for the next VM: only those
// whose top level creates nothing guest code could change.
import { assertEquals, assertMatch } from "@std/assert";
import { image_has_own_state, image_own_state } from "./image_state.ts";

const STATELESS = `// a comment { [ let
import { guest_global, GUEST_DONE } from "../include/kvm_util.ts";
import type { kvm_vm } from "../include/kvm_util_types.ts";
export { x as y } from "./other.ts";
export * from "./more.ts";

/** The image. */
export const IMAGE: string = import.meta.url;
const PORT = 0x80, MASK = (1n << 12n) - 1n;
export const NAME = \`guest-\${PORT}\` as const;
const COUNT = Number(Deno.env.get("COUNT") ?? 3);
const LIMIT = Math.max(COUNT, 4) * BigInt.asUintN(8, 300n) === 0n ? 1 : 2;
const flag = guest_global("flag", u64, 0n);
const regs = struct("regs", { rax: u64, rbx: u64 });
const suite = FIXTURE<Record<string, never>, { a: number }>("suite");
const handler = (v: number): { ok: boolean } => ({ ok: v > 0 });
const twice = async <T,>(x: T): Promise<T[]> => [x, x];
const inc = n => n + 1;
const other = async function () {
  let inside = [1, 2];
  return inside;
};
type pair = { a: number; b: string };
interface shape {
  x: number;
}
enum colour { RED, GREEN }
const enum size { S = 1 }
declare const outside: number;

export function guest_code(vm: kvm_vm): { a: number } {
  let local = { n: 0 };
  local.n++;
  GUEST_DONE();
  return { a: local.n };
}
export async function* walk(): AsyncGenerator<number> {
  yield 1;
}
function overload(a: number): void;
function overload(a: number | string): void {}
function ratio(a: number[], ms: number): string {
  return \`\${(a[0]! / ms).toFixed(3)} / \${(a[1]!/ms).toFixed(3)}\`;
}

TEST("registration", () => {
  const state = [];
});
if (import.meta.main) {
  main();
} else {
  other();
}
for (let i = 0; i < 2; i++) console.log(i);
import fs = require("node:fs");
export type alias = number;
`;

Deno.test("an image of imports, functions, types and immutable consts has no state of its own", () => {
  assertEquals(image_own_state(STATELESS), undefined);
  assertEquals(image_has_own_state(STATELESS), false);
  assertEquals(image_has_own_state(""), false);
});

Deno.test("each kind of top-level state is found, and named", () => {
  const cases: [string, RegExp][] = [
    ["let n = 0;", /^let n/],
    ["export let n = 0;", /^export let/],
    ["if (x) { var hoisted = 1; }", /^var$/],
    ["class counter { n = 0 }", /^class counter/],
    ["export default { n: 0 };", /^export default/],
    ["namespace ns { export const a = 1; }", /^namespace/],
    ["const { a, b } = pair;", /^const \{/],
    ["const table = [1, 2];", /^const table/],
    ["const map = { n: 0 };", /^const map/],
    ["const set = new Set<number>();", /^const set/],
    ["const v = make();", /^const v/],
    ["const v = helpers.make();", /^const v/],
    ["const v = Math.max(1, 2), w = make();", /^const v/],
    ["const v = factory()();", /^const v/],
    ["const re = /a+/g;", /^const re/],
    ["const v = await load();", /^const v/],
    ["const v = `${make()}`;", /^const v/],
    ["const v = import('./x.ts');", /^const v/],
    ["const v = x as unknown as { n: number };", /^const v/],
    ["const T = class {};", /^const T/],
    ["const pick = ready ? [1] : () => 2;", /^const pick/],
    ["const v = registry?.make?.(1);", /^const v/],
    ["const v = html`<p>${1}</p>`;", /^const v/],
    ["const f = (() => ({ n: 0 }))();", /^const f/],
    ["guest_code.calls = 0;", /^guest_code \. calls/],
    ["if (ready) counter.n++;", /^if/],
    ["@sealed class tagged {}", /^@/],
    ["function open() {", /^function open/],
    ["const s = 'unterminated;", /^\(no tokens/],
  ];
  for (const [src, want] of cases) {
    const why = image_own_state(`import { x } from "./x.ts";\n${src}\nexport function g() {}\n`);
    assertMatch(why ?? "(none)", want, src);
    assertEquals(image_has_own_state(src), true, src);
  }
});

Deno.test("a statement without its semicolon still ends at the next declaration", () => {
  assertEquals(image_has_own_state("const a = 1\nconst b = 2\nexport function f() {}\n"), false);
  assertEquals(image_has_own_state("const a = 1\nlet b = 2\n"), true);
  assertEquals(image_has_own_state("const a = 1\nconst b = [2]\n"), true);
});

Deno.test("the repository's own images are classified as their sources read", () => {
  const read = (p: string) => Deno.readTextFileSync(new URL(p, import.meta.url));
  // A module-level counter guest code increments.
  assertMatch(image_own_state(read("./testdata/guest.ts")) ?? "", /^let image_calls/);
  assertEquals(image_own_state(read("./testdata/stateless_guest.ts")), undefined);
  // Kept stateful on purpose: its test needs a second evaluation.
  assertEquals(image_has_own_state(read("./testdata/once_guest.ts")), true);
  assertEquals(image_own_state(read("../testdata/td_scale.ts")), undefined);
});
