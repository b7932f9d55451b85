// SPDX-License-Identifier: GPL-2.0-only
// Spec for ensureDir/ensureDirSync.

import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { ensureDir, ensureDirSync } from "./mod.ts";
import { tree } from "./testdata/tree.ts";

Deno.test("ensureDir: creates missing parents, leaves existing directories", async () => {
  using t = tree({ "keep/x": "" });
  await ensureDir(`${t.root}/a/b/c`);
  ensureDirSync(`${t.root}/s/t`);
  assertEquals(Deno.statSync(`${t.root}/a/b/c`).isDirectory, true);
  assertEquals(Deno.statSync(`${t.root}/s/t`).isDirectory, true);
  await ensureDir(`${t.root}/keep`);
  ensureDirSync(new URL(`file://${t.root}/keep`));
  assertEquals(Deno.readTextFileSync(`${t.root}/keep/x`), "");
});

Deno.test("ensureDir: a link to a directory counts as the directory", async () => {
  using t = tree({ "d/": "", "l": "->d" });
  await ensureDir(`${t.root}/l`);
  ensureDirSync(`${t.root}/l`);
});

Deno.test("ensureDir: anything else in the way is an error naming it", async () => {
  using t = tree({ "f": "", "dangling": "->nowhere" });
  const e = await assertRejects(() => ensureDir(`${t.root}/f`), Error);
  assertStringIncludes(e.message, "expected 'dir', got 'file'");
  assertThrows(() => ensureDirSync(`${t.root}/f`), Error, "got 'file'");
  await assertRejects(() => ensureDir(`${t.root}/dangling`), Error, "got 'symlink'");
  assertThrows(() => ensureDirSync(`${t.root}/dangling`), Error, "got 'symlink'");
  await assertRejects(() => ensureDir(`${t.root}/f/sub`), Error);
});
