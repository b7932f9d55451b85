// SPDX-License-Identifier: GPL-2.0-only
// Spec for exists/existsSync.

import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { exists, type ExistsOptions, existsSync } from "./mod.ts";
import { tree } from "./testdata/tree.ts";

async function both(path: string | URL, o?: ExistsOptions): Promise<boolean> {
  const a = await exists(path, o);
  assertEquals(existsSync(path, o), a, "exists and existsSync disagree");
  return a;
}

Deno.test("exists: files, directories, links and missing paths", async () => {
  using t = tree({ "f": "x", "d/": "", "ok": "->f", "bad": "->missing" });
  assertEquals(await both(`${t.root}/f`), true);
  assertEquals(await both(`${t.root}/d`), true);
  assertEquals(await both(`${t.root}/ok`), true);
  assertEquals(await both(`${t.root}/bad`), false, "a dangling link points at nothing");
  assertEquals(await both(`${t.root}/missing`), false);
  assertEquals(await both(`${t.root}/f/below`), false);
  assertEquals(await both(new URL(`file://${t.root}/f`)), true);
});

Deno.test("exists: isFile / isDirectory require the kind", async () => {
  using t = tree({ "f": "x", "d/": "", "ld": "->d" });
  assertEquals(await both(`${t.root}/f`, { isFile: true }), true);
  assertEquals(await both(`${t.root}/f`, { isDirectory: true }), false);
  assertEquals(await both(`${t.root}/d`, { isDirectory: true }), true);
  assertEquals(await both(`${t.root}/d`, { isFile: true }), false);
  assertEquals(await both(`${t.root}/ld`, { isDirectory: true }), true);
  const both_ = { isFile: true, isDirectory: true };
  await assertRejects(() => exists(`${t.root}/f`, both_), TypeError);
  assertThrows(() => existsSync(`${t.root}/f`, both_), TypeError);
});

Deno.test("exists: isReadable follows the permission bits of the caller's class", async () => {
  using t = tree({ "f": "x" });
  const f = `${t.root}/f`;
  Deno.chmodSync(f, 0o644);
  assertEquals(await both(f, { isReadable: true }), true);
  Deno.chmodSync(f, 0o000);
  // The owner class decides for the owner, even if "other" could read.
  assertEquals(await both(f, { isReadable: true }), false);
  assertEquals(await both(f), true);
  Deno.chmodSync(f, 0o004);
  assertEquals(await both(f, { isReadable: true }), false);
});
