// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API as its `mod.ts` for the re-exported names.

/**
 * Helpers for working with the file system (in-repo compatibility subset of
 * `jsr:@std/fs@1`: walking, globbing, `ensureDir` and `exists`).
 *
 * ```ts ignore
 * import { ensureDir, expandGlob } from "@std/fs";
 *
 * await ensureDir("./out");
 * for await (const entry of expandGlob("**\/*_test.ts")) console.log(entry.path);
 * ```
 *
 * @module
 */

export * from "./ensure_dir.ts";
export * from "./exists.ts";
export * from "./expand_glob.ts";
export * from "./walk.ts";
