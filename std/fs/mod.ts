// SPDX-License-Identifier: GPL-2.0-only

/**
 * File-system helpers, API-compatible with `jsr:@std/fs@^1` for the names
 * exported here (POSIX paths only; see `std/README.md`).
 *
 * @example
 * ```ts
 * import { ensureDir, exists, expandGlob } from "@std/fs";
 *
 * const out = await Deno.makeTempDir();
 * await ensureDir(`${out}/logs`);
 * console.log(await exists(`${out}/logs`, { isDirectory: true })); // true
 * for await (const e of expandGlob("*.md", { root: out })) console.log(e.name);
 * ```
 *
 * @module
 */

export { ensureDir, ensureDirSync } from "./ensure_dir.ts";
export { exists, type ExistsOptions, existsSync } from "./exists.ts";
export { expandGlob, type ExpandGlobOptions, expandGlobSync, type GlobOptions } from "./glob.ts";
export { walk, type WalkEntry, type WalkOptions, walkSync } from "./walk.ts";
