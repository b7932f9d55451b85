// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same `WalkEntry` shape and root-entry creation.

import { basename, normalize } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Walk entry for {@linkcode walk}, {@linkcode walkSync}, {@linkcode expandGlob} and
 * {@linkcode expandGlobSync}.
 */
export interface WalkEntry extends Deno.DirEntry {
  /** Full path of the entry. */
  path: string;
}

/**
 * Converts a `file:` URL to a path; strings are returned as they are.
 *
 * @param path A path or file URL.
 * @returns The path.
 */
export function toPathString(path: string | URL): string {
  return path instanceof URL ? fileURLToPath(path) : path;
}

function fromInfo(path: string, info: Deno.FileInfo): WalkEntry {
  return {
    path,
    name: basename(path),
    isFile: info.isFile,
    isDirectory: info.isDirectory,
    isSymlink: info.isSymlink,
  };
}

/**
 * Entry for `path` itself (normalized; symlinks followed, as std does).
 *
 * @param path The path.
 * @returns Its walk entry.
 */
export async function createWalkEntry(path: string | URL): Promise<WalkEntry> {
  const normalized = normalize(toPathString(path));
  return fromInfo(normalized, await Deno.stat(normalized));
}

/**
 * Synchronous {@linkcode createWalkEntry}.
 *
 * @param path The path.
 * @returns Its walk entry.
 */
export function createWalkEntrySync(path: string | URL): WalkEntry {
  const normalized = normalize(toPathString(path));
  return fromInfo(normalized, Deno.statSync(normalized));
}
