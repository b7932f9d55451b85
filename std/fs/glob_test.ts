// SPDX-License-Identifier: GPL-2.0-only
// Spec for the glob language (globToRegExp) and for expandGlob/expandGlobSync.

import { assertEquals } from "@std/assert";
import { expandGlob, type ExpandGlobOptions, expandGlobSync } from "./mod.ts";
import { type GlobOptions, globToRegExp, isGlob } from "./glob.ts";
import { tree } from "./testdata/tree.ts";

function matches(glob: string, path: string, o?: GlobOptions): boolean {
  return globToRegExp(glob, o).test(path);
}

Deno.test("glob: * and ? stay within a segment and match dot files", () => {
  assertEquals(matches("*.ts", "mod.ts"), true);
  assertEquals(matches("*.ts", ".hidden.ts"), true);
  assertEquals(matches("*.ts", "a/mod.ts"), false);
  assertEquals(matches("a/*/c", "a/b/c"), true);
  assertEquals(matches("a/*/c", "a/b/x/c"), false);
  assertEquals(matches("?.md", "a.md"), true);
  assertEquals(matches("?.md", "ab.md"), false);
  assertEquals(matches("a?b", "a/b"), false);
});

Deno.test("glob: bracket classes, negation, POSIX names, unclosed brackets", () => {
  assertEquals(matches("[abc].txt", "b.txt"), true);
  assertEquals(matches("[a-c].txt", "d.txt"), false);
  assertEquals(matches("[!a-c].txt", "d.txt"), true);
  assertEquals(matches("[^a-c].txt", "a.txt"), false);
  assertEquals(matches("x[[:digit:]]", "x7"), true);
  assertEquals(matches("x[[:digit:]]", "xa"), false);
  assertEquals(matches("[]]", "]"), true);
  assertEquals(matches("a[", "a["), true);
  assertEquals(matches("a[!x]b", "a/b"), false);
});

Deno.test("glob: braces alternate, nest, and may span segments", () => {
  assertEquals(matches("*.{ts,md}", "x.md"), true);
  assertEquals(matches("*.{ts,md}", "x.js"), false);
  assertEquals(matches("{a,b{c,d}}", "bd"), true);
  assertEquals(matches("{src/lib,test}/*.ts", "src/lib/x.ts"), true);
  assertEquals(matches("{src/lib,test}/*.ts", "test/x.ts"), true);
  assertEquals(matches("{src/lib,test}/*.ts", "src/x.ts"), false);
  assertEquals(matches("{a}", "{a}"), true);
});

Deno.test("glob: extended groups", () => {
  assertEquals(matches("x?(ab).c", "x.c"), true);
  assertEquals(matches("x?(ab).c", "xab.c"), true);
  assertEquals(matches("x*(ab).c", "xabab.c"), true);
  assertEquals(matches("x+(ab).c", "x.c"), false);
  assertEquals(matches("x@(ab|cd).c", "xcd.c"), true);
  assertEquals(matches("!(*.ts)", "mod.js"), true);
  assertEquals(matches("!(*.ts)", "mod.ts"), false);
  assertEquals(matches("!(a)b", "ab"), false);
  assertEquals(matches("!(a)b", "aab"), true);
  assertEquals(matches("!(a)/b", "a/b"), false);
  assertEquals(matches("!(a)/b", "c/b"), true);
  assertEquals(matches("x@(ab).c", "x@(ab).c", { extended: false }), true);
});

Deno.test("glob: ** spans zero or more directories only with globstar", () => {
  assertEquals(matches("src/**/*.ts", "src/a.ts"), true);
  assertEquals(matches("src/**/*.ts", "src/a/b/c.ts"), true);
  assertEquals(matches("**/*.ts", "a.ts"), true);
  assertEquals(matches("src/**", "src"), true);
  assertEquals(matches("src/**", "src/a/b"), true);
  assertEquals(matches("src/**/*.ts", "src/a/b/c.ts", { globstar: false }), false);
  assertEquals(matches("src/**/*.ts", "src/a/c.ts", { globstar: false }), true);
});

Deno.test("glob: escapes, case folding, trailing separators", () => {
  assertEquals(matches("\\*.ts", "*.ts"), true);
  assertEquals(matches("\\*.ts", "a.ts"), false);
  assertEquals(matches("*.TS", "a.ts"), false);
  assertEquals(matches("*.TS", "a.ts", { caseInsensitive: true }), true);
  assertEquals(matches("a/b", "a/b/"), true);
  assertEquals(matches("/abs/*", "/abs/x"), true);
  assertEquals(matches("/abs/*", "abs/x"), false);
  assertEquals(matches("a-b[x-z\\]]", "a-b]"), true);
  assertEquals(matches("a-b[x-z]", "a-by"), true);
  assertEquals(matches("/**", "/"), true);
});

Deno.test("isGlob tells patterns from literal names", () => {
  assertEquals(isGlob("a/b.ts"), false);
  for (const g of ["*.ts", "a?", "[ab]", "{a,b}", "@(x)", "!(x)", "a\\*"]) {
    assertEquals(isGlob(g), true);
  }
});

// ---------------------------------------------------------------------------

const FILES = {
  "a.ts": "",
  "b.md": "",
  ".hidden.ts": "",
  "src/x.ts": "",
  "src/y.js": "",
  "src/lib/z.ts": "",
  "docs/": "",
  "node_modules/dep/i.ts": "",
};

async function both(glob: string, o: ExpandGlobOptions): Promise<string[]> {
  const root = o.root!;
  const rel = (ps: string[]) => ps.map((p) => p === root ? "." : p.slice(root.length + 1));
  const a = rel((await Array.fromAsync(expandGlob(glob, o))).map((e) => e.path));
  const s = rel([...expandGlobSync(glob, o)].map((e) => e.path));
  assertEquals(a, s, "expandGlob and expandGlobSync disagree");
  return a;
}

Deno.test("expandGlob: matches relative to root, sorted, absolute paths", async () => {
  using t = tree(FILES);
  const root = Deno.realPathSync(t.root);
  assertEquals(await both("*.ts", { root }), [".hidden.ts", "a.ts"]);
  assertEquals(await both("src/*", { root }), ["src/lib", "src/x.ts", "src/y.js"]);
  assertEquals(await both("*/*.ts", { root }), ["src/x.ts"]);
  assertEquals(await both("nothing/*", { root }), []);
  const [first] = [...expandGlobSync("a.ts", { root })];
  assertEquals(first, {
    path: `${root}/a.ts`,
    name: "a.ts",
    isFile: true,
    isDirectory: false,
    isSymlink: false,
  });
});

Deno.test("expandGlob: globstar, braces across segments, dedupe", async () => {
  using t = tree(FILES);
  const root = Deno.realPathSync(t.root);
  assertEquals(await both("src/**/*.ts", { root }), ["src/lib/z.ts", "src/x.ts"]);
  assertEquals(await both("src/**", { root }), [
    "src",
    "src/lib",
    "src/lib/z.ts",
    "src/x.ts",
    "src/y.js",
  ]);
  assertEquals(await both("{src/lib,src}/*.ts", { root }), ["src/lib/z.ts", "src/x.ts"]);
  assertEquals(await both("{src,src}/x.ts", { root }), ["src/x.ts"]);
  assertEquals(await both("src/**/*.ts", { root, globstar: false }), ["src/lib/z.ts"]);
});

Deno.test("expandGlob: exclude prunes, includeDirs, trailing slash means directories", async () => {
  using t = tree(FILES);
  const root = Deno.realPathSync(t.root);
  assertEquals(await both("**/*.ts", { root, exclude: ["node_modules", "src/lib"] }), [
    ".hidden.ts",
    "a.ts",
    "src/x.ts",
  ]);
  assertEquals(await both("*", { root, includeDirs: false }), [".hidden.ts", "a.ts", "b.md"]);
  assertEquals(await both("*/", { root }), ["docs", "node_modules", "src"]);
});

Deno.test("expandGlob: literal segments, '..', absolute globs, case folding", async () => {
  using t = tree(FILES);
  const root = Deno.realPathSync(t.root);
  assertEquals(await both("src/../a.ts", { root }), ["a.ts"]);
  assertEquals(
    [...expandGlobSync(`${root}/src/*.js`, { root: "/nonexistent" })].map((e) => e.path),
    [
      `${root}/src/y.js`,
    ],
  );
  assertEquals(await both("SRC/X.TS", { root, caseInsensitive: true }), ["src/x.ts"]);
  assertEquals(await both("SRC/X.TS", { root }), []);
  assertEquals(await both(".", { root }), ["."]);
});

Deno.test("expandGlob: symlinked directories are searched only when followed", async () => {
  using t = tree({ "real/f.ts": "", "top/": "", "top/link": "->../real" });
  const root = Deno.realPathSync(t.root);
  const top = `${root}/top`;
  const rel = (es: { path: string }[]) => es.map((e) => e.path.slice(root.length + 1));
  assertEquals(rel([...expandGlobSync("*/*.ts", { root: top })]), []);
  // A link named literally is a path like any other.
  assertEquals(rel([...expandGlobSync("link/*.ts", { root: top })]), ["top/link/f.ts"]);
  assertEquals(rel([...expandGlobSync("*/*.ts", { root: top, followSymlinks: true })]), [
    "real/f.ts",
  ]);
  assertEquals(
    rel([...expandGlobSync("*/*.ts", { root: top, followSymlinks: true, canonicalize: false })]),
    ["top/link/f.ts"],
  );
  assertEquals(
    rel(await Array.fromAsync(expandGlob("**/*.ts", { root: top, followSymlinks: true }))),
    [
      "real/f.ts",
    ],
  );
});
