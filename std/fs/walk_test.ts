// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API as std; specs for `walk` and `walkSync`.
import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { walk, type WalkEntry, type WalkOptions, walkSync } from "./walk.ts";

/**
 * root/
 *   a/x.ts  a/y.js
 *   b/c/z.ts
 *   top.md
 *   file-link -> a/x.ts
 *   dir-link -> b
 */
function makeTree(): string {
  const root = Deno.makeTempDirSync({ prefix: "std_walk_" });
  Deno.mkdirSync(join(root, "a"));
  Deno.mkdirSync(join(root, "b", "c"), { recursive: true });
  for (const f of ["a/x.ts", "a/y.js", "b/c/z.ts", "top.md"]) {
    Deno.writeTextFileSync(join(root, f), f);
  }
  Deno.symlinkSync(join(root, "a", "x.ts"), join(root, "file-link"));
  Deno.symlinkSync(join(root, "b"), join(root, "dir-link"));
  return root;
}

async function both(root: string | URL, options?: WalkOptions): Promise<WalkEntry[]> {
  const entries = await Array.fromAsync(walk(root, options));
  assertEquals([...walkSync(root, options)], entries, "walkSync() differs from walk()");
  return entries;
}

function rel(root: string, entries: WalkEntry[]): string[] {
  return entries.map((e) => e.path === root ? "." : e.path.slice(root.length + 1)).sort();
}

Deno.test("walk() yields the root and every entry below it", async () => {
  const root = makeTree();
  try {
    const entries = await both(root);
    assertEquals(rel(root, entries), [
      ".",
      "a",
      "a/x.ts",
      "a/y.js",
      "b",
      "b/c",
      "b/c/z.ts",
      "dir-link",
      "file-link",
      "top.md",
    ]);
    assertEquals(entries[0], {
      path: root,
      name: root.slice(root.lastIndexOf("/") + 1),
      isFile: false,
      isDirectory: true,
      isSymlink: false,
    });
    const x = entries.find((e) => e.path === join(root, "a", "x.ts"));
    assertEquals(x, {
      path: join(root, "a", "x.ts"),
      name: "x.ts",
      isFile: true,
      isDirectory: false,
      isSymlink: false,
    });
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("walk() follows Deno.readDir order depth-first instead of sorting", async () => {
  const root = makeTree();
  try {
    const entries = await both(root, { maxDepth: 1 });
    const readDirOrder = [...Deno.readDirSync(root)].map((e) => e.name);
    assertEquals(entries.slice(1).map((e) => e.name), readDirOrder);
    const all = (await both(root)).map((e) => e.path);
    // Each directory comes right before its own subtree.
    const b = all.indexOf(join(root, "b"));
    assertEquals(all.slice(b, b + 3), [
      join(root, "b"),
      join(root, "b", "c"),
      join(root, "b", "c", "z.ts"),
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("walk() honours maxDepth, includeFiles and includeDirs", async () => {
  const root = makeTree();
  try {
    assertEquals(rel(root, await both(root, { maxDepth: 0 })), ["."]);
    assertEquals(await both(root, { maxDepth: -1 }), []);
    assertEquals(rel(root, await both(root, { maxDepth: 1 })), [
      ".",
      "a",
      "b",
      "dir-link",
      "file-link",
      "top.md",
    ]);
    assertEquals(rel(root, await both(root, { includeFiles: false, includeSymlinks: false })), [
      ".",
      "a",
      "b",
      "b/c",
    ]);
    assertEquals(rel(root, await both(root, { includeDirs: false, includeSymlinks: false })), [
      "a/x.ts",
      "a/y.js",
      "b/c/z.ts",
      "top.md",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("walk() filters by exts (with or without dot), match and skip", async () => {
  const root = makeTree();
  try {
    assertEquals(rel(root, await both(root, { exts: ["ts"] })), ["a/x.ts", "b/c/z.ts"]);
    assertEquals(rel(root, await both(root, { exts: [".js", ".md"] })), ["a/y.js", "top.md"]);
    assertEquals(rel(root, await both(root, { match: [/\.ts$/, /top/] })), [
      "a/x.ts",
      "b/c/z.ts",
      "top.md",
    ]);
    // skip prunes whole directories.
    assertEquals(rel(root, await both(root, { skip: [/\/b$/], includeSymlinks: false })), [
      ".",
      "a",
      "a/x.ts",
      "a/y.js",
      "top.md",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("walk() reports symlinks unfollowed, or drops them on request", async () => {
  const root = makeTree();
  try {
    const entries = await both(root);
    const link = entries.find((e) => e.name === "dir-link");
    assertEquals(link, {
      path: join(root, "dir-link"),
      name: "dir-link",
      isFile: false,
      isDirectory: false,
      isSymlink: true,
    });
    const noLinks = await both(root, { includeSymlinks: false });
    assert(noLinks.every((e) => !e.isSymlink));
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("walk() with followSymlinks descends into links, canonicalizing by default", async () => {
  const root = makeTree();
  try {
    const real = Deno.realPathSync(root);
    const followed = await both(root, { followSymlinks: true, includeDirs: false });
    const paths = followed.map((e) => e.path).sort();
    assertEquals(
      paths,
      [
        join(root, "a", "x.ts"),
        join(root, "a", "y.js"),
        join(root, "b", "c", "z.ts"),
        join(real, "a", "x.ts"), // file-link, canonicalized
        join(real, "b", "c", "z.ts"), // via dir-link, canonicalized
        join(root, "top.md"),
      ].sort(),
    );
    const fileLink = followed.find((e) => e.name === "file-link");
    assertEquals(fileLink?.path, join(real, "a", "x.ts"));
    const raw = await both(root, { followSymlinks: true, canonicalize: false, includeDirs: false });
    assert(raw.some((e) => e.path === join(root, "dir-link", "c", "z.ts")));
    assert(raw.some((e) => e.path === join(root, "file-link")));
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("walk() accepts a file URL and normalizes the root path", async () => {
  const root = makeTree();
  try {
    const fromUrl = await both(pathToFileURL(join(root, "b")));
    assertEquals(fromUrl.map((e) => e.path), [
      join(root, "b"),
      join(root, "b", "c"),
      join(root, "b", "c", "z.ts"),
    ]);
    const [first] = await both(`${root}/b/../a`);
    assertEquals([first?.path, first?.name], [join(root, "a"), "a"]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("walk() rejects with NotFound when the root does not exist", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_walk_" });
  try {
    const missing = join(tmp, "missing");
    await assertRejects(() => Array.fromAsync(walk(missing)), Deno.errors.NotFound);
    assertThrows(() => [...walkSync(missing)], Deno.errors.NotFound);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});
