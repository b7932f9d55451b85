// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API as std; specs for expandGlob(Sync).
import { assert, assertEquals } from "@std/assert";
import { join } from "node:path";
import { expandGlob, type ExpandGlobOptions, expandGlobSync } from "./expand_glob.ts";

/**
 * root/
 *   abc  abcdef  abcdefghi
 *   subdir/abc
 *   a[b]c          (name with glob characters)
 *   link -> subdir
 */
function makeTree(): string {
  const root = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "std_glob_" }));
  Deno.mkdirSync(join(root, "subdir"));
  for (const f of ["abc", "abcdef", "abcdefghi", "subdir/abc", "a[b]c"]) {
    Deno.writeTextFileSync(join(root, f), f);
  }
  Deno.symlinkSync(join(root, "subdir"), join(root, "link"));
  return root;
}

/** Expands with both variants, checks they agree, returns paths relative to root. */
async function expand(
  root: string,
  glob: string,
  options: ExpandGlobOptions = {},
): Promise<string[]> {
  const opts = { root, ...options };
  const entries = await Array.fromAsync(expandGlob(glob, opts));
  assertEquals(
    [...expandGlobSync(glob, opts)],
    entries,
    "expandGlobSync() differs from expandGlob()",
  );
  return entries.map((e) => e.path === root ? "." : e.path.slice(root.length + 1));
}

Deno.test("expandGlob() yields absolute, sorted entries matching the glob under root", async () => {
  const root = makeTree();
  try {
    assertEquals(await expand(root, "abc*"), ["abc", "abcdef", "abcdefghi"]);
    assertEquals(await expand(root, "*ef"), ["abcdef"]);
    assertEquals(await expand(root, "?bc"), ["abc"]);
    assertEquals(await expand(root, "abc{def,xyz}"), ["abcdef"]);
    const [entry] = await Array.fromAsync(expandGlob("subdir/abc", { root }));
    assertEquals(entry, {
      path: join(root, "subdir", "abc"),
      name: "abc",
      isFile: true,
      isDirectory: false,
      isSymlink: false,
    });
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("expandGlob() matches ** across directories, including zero of them", async () => {
  const root = makeTree();
  try {
    assertEquals(await expand(root, "**/abc"), ["abc", "subdir/abc"]);
    assertEquals(await expand(root, "**"), [
      ".",
      "a[b]c",
      "abc",
      "abcdef",
      "abcdefghi",
      "link",
      "subdir",
      "subdir/abc",
    ]);
    // Without globstar, "**" spans at most one directory level (itself or a child).
    assertEquals(await expand(root, "**", { globstar: false }), [
      ".",
      "a[b]c",
      "abc",
      "abcdef",
      "abcdefghi",
      "link",
      "subdir",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("expandGlob() applies exclude, includeDirs and a trailing separator", async () => {
  const root = makeTree();
  try {
    assertEquals(await expand(root, "**/abc", { exclude: ["subdir"] }), ["abc"]);
    assertEquals(await expand(root, "abc*", { exclude: ["abcdef*"] }), ["abc"]);
    assertEquals(await expand(root, "*", { includeDirs: false }), [
      "a[b]c",
      "abc",
      "abcdef",
      "abcdefghi",
      "link",
    ]);
    assertEquals(await expand(root, "*/"), ["subdir"]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("expandGlob() follows symlinked directories only with followSymlinks", async () => {
  const root = makeTree();
  try {
    assertEquals(await expand(root, "link/*"), ["link/abc"]); // fixed prefix is resolved by stat
    assertEquals(await expand(root, "*/abc"), ["subdir/abc"]);
    assertEquals(await expand(root, "**/abc", { followSymlinks: true, canonicalize: false }), [
      "abc",
      "link/abc",
      "subdir/abc",
    ]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("expandGlob() handles absolute globs, .., escapes and case-insensitivity", async () => {
  const root = makeTree();
  try {
    assertEquals(await expand(root, join(root, "sub*", "abc")), ["subdir/abc"]);
    assertEquals(await expand(root, "subdir/../abc*"), ["abc", "abcdef", "abcdefghi"]);
    assertEquals(await expand(root, "subdir/*/.."), []);
    assertEquals(await expand(root, "a\\[b\\]c"), ["a[b]c"]);
    assertEquals(await expand(root, "ABC", { caseInsensitive: true }), []); // fixed segment: exact
    assertEquals(await expand(root, "AB?", { caseInsensitive: true }), ["abc"]);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("expandGlob() yields nothing when the fixed prefix does not exist", async () => {
  const root = makeTree();
  try {
    assertEquals(await expand(root, "missing/**/*"), []);
    assertEquals(await expand(root, "nothing*"), []);
    assert((await expand(join(root, "subdir"), "*")).includes("abc"));
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
