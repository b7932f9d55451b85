// SPDX-License-Identifier: GPL-2.0-only

/**
 * Creating a directory path if it is missing.
 *
 * @module
 */

import { toPath } from "./_path.ts";

function kind(info: Deno.FileInfo): string {
  if (info.isFile) return "file";
  if (info.isDirectory) return "dir";
  if (info.isSymlink) return "symlink";
  return "other";
}

/** A dangling symlink is reported as the link itself; other errors propagate. */
function danglingOk(e: unknown, link: Deno.FileInfo): Deno.FileInfo {
  if (e instanceof Deno.errors.NotFound) return link;
  throw e;
}

function requireDirectory(dir: string, info: Deno.FileInfo): void {
  if (!info.isDirectory) {
    throw new Error(
      `Failed to ensure directory exists: expected 'dir', got '${kind(info)}' at '${dir}'`,
    );
  }
}

/**
 * Makes sure `dir` is a directory, creating it and any missing parents. An
 * existing directory (or symbolic link to one) is left alone; anything else
 * already at that path is an error.
 *
 * @example
 * ```ts
 * import { ensureDir } from "@std/fs";
 * await ensureDir(await Deno.makeTempDir() + "/a/b/c");
 * ```
 *
 * @param dir The directory path or `file:` URL.
 * @returns Resolves once the directory exists.
 * @throws {Error} When the path exists but is not a directory.
 */
export async function ensureDir(dir: string | URL): Promise<void> {
  const path = toPath(dir);
  try {
    requireDirectory(path, await Deno.stat(path));
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  try {
    await Deno.mkdir(path, { recursive: true });
  } catch (e) {
    // Lost a race with another creator, or a dangling symlink / file is in the way.
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    let info = await Deno.lstat(path);
    if (info.isSymlink) info = await Deno.stat(path).catch((s) => danglingOk(s, info));
    requireDirectory(path, info);
  }
}

/**
 * Synchronous {@linkcode ensureDir}.
 *
 * @example
 * ```ts
 * import { ensureDirSync } from "@std/fs";
 * ensureDirSync(Deno.makeTempDirSync() + "/x/y");
 * ```
 *
 * @param dir The directory path or `file:` URL.
 * @throws {Error} When the path exists but is not a directory.
 */
export function ensureDirSync(dir: string | URL): void {
  const path = toPath(dir);
  try {
    requireDirectory(path, Deno.statSync(path));
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  try {
    Deno.mkdirSync(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    let info = Deno.lstatSync(path);
    if (info.isSymlink) {
      try {
        info = Deno.statSync(path);
      } catch (s) {
        info = danglingOk(s, info);
      }
    }
    requireDirectory(path, info);
  }
}
