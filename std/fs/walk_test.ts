// SPDX-License-Identifier: GPL-2.0-only
// Spec for walk/walkSync: what is yielded, in which order, and how the
// filters, depth limit and symlink options change that.

import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { walk, type WalkEntry, type WalkOptions, walkSync } from "./mod.ts";
import { tree } from "./testdata/tree.ts";

const FILES = {
  "a.ts": "",
  "b.md": "",
  "sub/c.ts": "",
  "sub/deeper/d.ts": "",
  "empty/": "",
};

/** Both front ends must agree; returns the relative paths, sorted. */
async function both(root: string, o: WalkOptions = {}): Promise<string[]> {
  const rel = (es: WalkEntry[]) =>
    es.map((e) => e.path === root ? "." : e.path.slice(root.length + 1)).sort();
  const a = rel(await Array.fromAsync(walk(root, o)));
  const s = rel([...walkSync(root, o)]);
  assertEquals(a, s, "walk and walkSync disagree");
  return a;
}

Deno.test("walk: yields the root, every directory and file", async () => {
  using t = tree(FILES);
  assertEquals(await both(t.root), [
    ".",
    "a.ts",
    "b.md",
    "empty",
    "sub",
    "sub/c.ts",
    "sub/deeper",
    "sub/deeper/d.ts",
  ]);
});

Deno.test("walk: a directory comes before its contents", () => {
  using t = tree(FILES);
  const paths = [...walkSync(t.root)].map((e) => e.path);
  const at = (p: string) => paths.indexOf(`${t.root}/${p}`);
  assertEquals(paths[0], t.root);
  assertEquals(at("sub") < at("sub/c.ts") && at("sub/deeper") < at("sub/deeper/d.ts"), true);
});

Deno.test("walk: entries carry name and kind, paths keep a relative root relative", () => {
  using t = tree(FILES);
  const cwd = Deno.cwd();
  Deno.chdir(t.root);
  try {
    const es = [...walkSync("./sub/")];
    assertEquals(es[0], {
      path: "sub",
      name: "sub",
      isFile: false,
      isDirectory: true,
      isSymlink: false,
    });
    const c = es.find((e) => e.name === "c.ts");
    assertEquals(c, {
      path: "sub/c.ts",
      name: "c.ts",
      isFile: true,
      isDirectory: false,
      isSymlink: false,
    });
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("walk: maxDepth counts levels below the root", async () => {
  using t = tree(FILES);
  assertEquals(await both(t.root, { maxDepth: 0 }), ["."]);
  assertEquals(await both(t.root, { maxDepth: 1 }), [".", "a.ts", "b.md", "empty", "sub"]);
  assertEquals(await both(t.root, { maxDepth: -1 }), []);
});

Deno.test("walk: includeFiles / includeDirs", async () => {
  using t = tree(FILES);
  assertEquals(await both(t.root, { includeFiles: false }), [".", "empty", "sub", "sub/deeper"]);
  assertEquals(await both(t.root, { includeDirs: false }), [
    "a.ts",
    "b.md",
    "sub/c.ts",
    "sub/deeper/d.ts",
  ]);
});

Deno.test("walk: exts, match and skip filter paths; skip also prunes", async () => {
  using t = tree(FILES);
  const ts = ["a.ts", "sub/c.ts", "sub/deeper/d.ts"];
  assertEquals(await both(t.root, { exts: ["ts"] }), ts);
  assertEquals(await both(t.root, { exts: [".ts"] }), ts);
  assertEquals(await both(t.root, { match: [/deeper/], includeDirs: false }), ["sub/deeper/d.ts"]);
  assertEquals(await both(t.root, { skip: [/\/sub$/] }), [".", "a.ts", "b.md", "empty"]);
  // A global regex's lastIndex must not make alternate entries fail.
  assertEquals(await both(t.root, { match: [/\.ts$/g], includeDirs: false }), ts);
});

Deno.test("walk: symlinks are yielded as links unless followed", async () => {
  using t = tree({
    "real/f.txt": "",
    "out/": "",
    "out/link": "->../real",
    "out/flink": "->../real/f.txt",
  });
  const out = `${t.root}/out`;
  assertEquals(await both(out), [".", "flink", "link"]);
  assertEquals(await both(out, { includeSymlinks: false }), ["."]);
  const link = [...walkSync(out)].find((e) => e.name === "link")!;
  assertEquals([link.isSymlink, link.isDirectory, link.isFile], [true, false, false]);
});

Deno.test("walk: followSymlinks enters linked directories, canonicalize picks the path", () => {
  using t = tree({ "real/f.txt": "", "out/": "", "out/link": "->../real" });
  const out = `${t.root}/out`;
  const real = Deno.realPathSync(`${t.root}/real`);
  const canon = [...walkSync(out, { followSymlinks: true })].map((e) => e.path).sort();
  assertEquals(canon, [out, real, `${real}/f.txt`].sort());
  const through = [...walkSync(out, { followSymlinks: true, canonicalize: false })]
    .map((e) => e.path).sort();
  assertEquals(through, [out, `${out}/link`, `${out}/link/f.txt`]);
});

Deno.test("walk: a link cycle is reported once, not followed forever", async () => {
  using t = tree({ "d/f": "", "d/up": "->.." });
  const got = await both(t.root, { followSymlinks: true, canonicalize: false });
  assertEquals(got, [".", "d", "d/f", "d/up"]);
});

Deno.test("walk: dangling links stay links; a file root yields itself", async () => {
  using t = tree({ "x/gone": "->/nonexistent/target", "file.txt": "" });
  assertEquals(await both(`${t.root}/x`, { followSymlinks: true }), [".", "gone"]);
  const f = [...walkSync(`${t.root}/file.txt`)];
  assertEquals(f.map((e) => [e.name, e.isFile]), [["file.txt", true]]);
});

Deno.test("walk: a missing root is an error, also for file: URLs", async () => {
  using t = tree({});
  await assertRejects(() => Array.fromAsync(walk(`${t.root}/missing`)), Deno.errors.NotFound);
  assertThrows(() => [...walkSync(new URL(`file://${t.root}/missing`))], Deno.errors.NotFound);
  assertEquals([...walkSync(new URL(`file://${t.root}`))].length, 1);
});

Deno.test("walk: stopping early closes the traversal", async () => {
  using t = tree(FILES);
  for await (const _ of walk(t.root)) break;
  for (const _ of walkSync(t.root)) break;
});
