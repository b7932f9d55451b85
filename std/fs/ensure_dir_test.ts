// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API as std; specs for ensureDir(Sync).
import { assert, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ensureDir, ensureDirSync } from "./ensure_dir.ts";

Deno.test("ensureDir() creates missing parents and is idempotent", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_ensure_dir_" });
  try {
    const dir = join(tmp, "a", "b", "c");
    await ensureDir(dir);
    assert(Deno.statSync(dir).isDirectory);
    Deno.writeTextFileSync(join(dir, "keep"), "x");
    await ensureDir(dir);
    assert(Deno.statSync(join(dir, "keep")).isFile, "existing contents are kept");
    await ensureDir(pathToFileURL(join(tmp, "url")));
    assert(Deno.statSync(join(tmp, "url")).isDirectory);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("ensureDirSync() creates missing parents and is idempotent", () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_ensure_dir_" });
  try {
    const dir = join(tmp, "x", "y");
    ensureDirSync(dir);
    ensureDirSync(dir);
    assert(Deno.statSync(dir).isDirectory);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("ensureDir() accepts a symlink to a directory and leaves it a symlink", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_ensure_dir_" });
  try {
    const link = join(tmp, "link");
    Deno.symlinkSync(tmp, link);
    await ensureDir(link);
    ensureDirSync(link);
    assert(Deno.lstatSync(link).isSymlink);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("ensureDir() rejects when the path is a file", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_ensure_dir_" });
  try {
    const file = join(tmp, "file");
    Deno.writeTextFileSync(file, "");
    const message = "Failed to ensure directory exists: expected 'dir', got 'file'";
    await assertRejects(() => ensureDir(file), Error, message);
    assertThrows(() => ensureDirSync(file), Error, message);
    await assertRejects(() => ensureDir(join(file, "sub")), Deno.errors.NotADirectory);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});
