// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API, options and traversal order as its
// `walk` and `walkSync` (entries come in `Deno.readDir` order, not sorted).

import { join } from "node:path";
import {
  createWalkEntry,
  createWalkEntrySync,
  toPathString,
  type WalkEntry,
} from "./_create_walk_entry.ts";

export type { WalkEntry };

/** Options for {@linkcode walk} and {@linkcode walkSync}. */
export interface WalkOptions {
  /**
   * The maximum depth of the file tree to be walked recursively.
   *
   * @default {Infinity}
   */
  maxDepth?: number;
  /**
   * Indicates whether file entries should be included or not.
   *
   * @default {true}
   */
  includeFiles?: boolean;
  /**
   * Indicates whether directory entries should be included or not.
   *
   * @default {true}
   */
  includeDirs?: boolean;
  /**
   * Indicates whether symlink entries should be included or not.
   * This option is meaningful only if `followSymlinks` is set to `false`.
   *
   * @default {true}
   */
  includeSymlinks?: boolean;
  /**
   * Indicates whether symlinks should be resolved or not.
   *
   * @default {false}
   */
  followSymlinks?: boolean;
  /**
   * Indicates whether the followed symlink's path should be canonicalized.
   * This option works only if `followSymlinks` is not `false`.
   *
   * @default {true}
   */
  canonicalize?: boolean;
  /**
   * List of file extensions used to filter entries (with or without the
   * leading dot). If specified, entries without a matching extension are
   * excluded.
   *
   * @default {undefined}
   */
  exts?: string[];
  /**
   * List of regular expression patterns used to filter entries.
   * If specified, entries whose path does not match any pattern are excluded.
   *
   * @default {undefined}
   */
  match?: RegExp[];
  /**
   * List of regular expression patterns used to filter entries.
   * If specified, entries whose path matches any pattern are excluded (and
   * skipped directories are not descended into).
   *
   * @default {undefined}
   */
  skip?: RegExp[];
}

/** Options with defaults applied and `exts` normalized to start with a dot. */
interface Resolved {
  maxDepth: number;
  includeFiles: boolean;
  includeDirs: boolean;
  includeSymlinks: boolean;
  followSymlinks: boolean;
  canonicalize: boolean;
  exts: string[] | undefined;
  match: RegExp[] | undefined;
  skip: RegExp[] | undefined;
}

function resolveOptions(options: WalkOptions | undefined): Resolved {
  const o = options ?? {};
  return {
    maxDepth: o.maxDepth ?? Infinity,
    includeFiles: o.includeFiles ?? true,
    includeDirs: o.includeDirs ?? true,
    includeSymlinks: o.includeSymlinks ?? true,
    followSymlinks: o.followSymlinks ?? false,
    canonicalize: o.canonicalize ?? true,
    exts: o.exts?.map((ext) => ext.startsWith(".") ? ext : `.${ext}`),
    match: o.match,
    skip: o.skip,
  };
}

/** Whether `path` passes the `exts`, `match` and `skip` filters. */
function include(path: string, exts?: string[], match?: RegExp[], skip?: RegExp[]): boolean {
  if (exts && !exts.some((ext) => path.endsWith(ext))) return false;
  if (match && !match.some((pattern) => pattern.test(path))) return false;
  if (skip && skip.some((pattern) => pattern.test(path))) return false;
  return true;
}

/** What to do with one directory entry once symlinks are dealt with. */
type Step =
  | { kind: "yield"; entry: WalkEntry }
  | { kind: "descend"; path: string }
  | { kind: "none" };

function classify(
  o: Resolved,
  path: string,
  entry: Deno.DirEntry,
  resolved: { isSymlink: boolean; isDirectory: boolean },
): Step {
  if (resolved.isSymlink || resolved.isDirectory) return { kind: "descend", path };
  if (o.includeFiles && include(path, o.exts, o.match, o.skip)) {
    return { kind: "yield", entry: { path, ...entry } };
  }
  return { kind: "none" };
}

/**
 * Recursively walks through a directory and yields information about each file
 * and directory encountered.
 *
 * The root path determines whether the file paths are relative or absolute.
 * The root directory is included in the yielded entries (unless filtered out).
 * Entries are yielded in the order `Deno.readDir` returns them, depth first;
 * they are not sorted.
 *
 * Requires `--allow-read` permission.
 *
 * @param root The root directory to start the walk from, as a string or URL.
 * @param options The options for the walk.
 * @throws {Deno.errors.NotFound} If the root directory does not exist.
 * @returns An async iterable iterator that yields the walk entry objects.
 *
 * @example Usage
 * ```ts ignore
 * import { walk } from "@std/fs";
 *
 * for await (const entry of walk(".", { exts: [".ts"], skip: [/node_modules/] })) {
 *   console.log(entry.path);
 * }
 * ```
 */
export async function* walk(
  root: string | URL,
  options?: WalkOptions,
): AsyncIterableIterator<WalkEntry> {
  yield* walkFrom(toPathString(root), resolveOptions(options));
}

async function* walkFrom(root: string, o: Resolved): AsyncIterableIterator<WalkEntry> {
  if (o.maxDepth < 0) return;
  if (o.includeDirs && include(root, o.exts, o.match, o.skip)) yield await createWalkEntry(root);
  if (o.maxDepth < 1 || !include(root, undefined, undefined, o.skip)) return;
  for await (const entry of Deno.readDir(root)) {
    let path = join(root, entry.name);
    let resolved = { isSymlink: entry.isSymlink, isDirectory: entry.isDirectory };
    if (entry.isSymlink) {
      if (!o.followSymlinks) {
        if (o.includeSymlinks && include(path, o.exts, o.match, o.skip)) yield { path, ...entry };
        continue;
      }
      const realPath = await Deno.realPath(path);
      if (o.canonicalize) path = realPath;
      resolved = await Deno.lstat(realPath);
    }
    const step = classify(o, path, entry, resolved);
    if (step.kind === "descend") yield* walkFrom(step.path, { ...o, maxDepth: o.maxDepth - 1 });
    else if (step.kind === "yield") yield step.entry;
  }
}

/**
 * Synchronous version of {@linkcode walk}: same options, same order.
 *
 * Requires `--allow-read` permission.
 *
 * @param root The root directory to start the walk from, as a string or URL.
 * @param options The options for the walk.
 * @throws {Deno.errors.NotFound} If the root directory does not exist.
 * @returns A synchronous iterable iterator that yields the walk entry objects.
 *
 * @example Usage
 * ```ts ignore
 * import { walkSync } from "@std/fs";
 *
 * const files = [...walkSync("src", { includeDirs: false })].map((e) => e.path);
 * ```
 */
export function* walkSync(
  root: string | URL,
  options?: WalkOptions,
): IterableIterator<WalkEntry> {
  yield* walkFromSync(toPathString(root), resolveOptions(options));
}

function* walkFromSync(root: string, o: Resolved): IterableIterator<WalkEntry> {
  if (o.maxDepth < 0) return;
  if (o.includeDirs && include(root, o.exts, o.match, o.skip)) yield createWalkEntrySync(root);
  if (o.maxDepth < 1 || !include(root, undefined, undefined, o.skip)) return;
  for (const entry of Deno.readDirSync(root)) {
    let path = join(root, entry.name);
    let resolved = { isSymlink: entry.isSymlink, isDirectory: entry.isDirectory };
    if (entry.isSymlink) {
      if (!o.followSymlinks) {
        if (o.includeSymlinks && include(path, o.exts, o.match, o.skip)) yield { path, ...entry };
        continue;
      }
      const realPath = Deno.realPathSync(path);
      if (o.canonicalize) path = realPath;
      resolved = Deno.lstatSync(realPath);
    }
    const step = classify(o, path, entry, resolved);
    if (step.kind === "descend") yield* walkFromSync(step.path, { ...o, maxDepth: o.maxDepth - 1 });
    else if (step.kind === "yield") yield step.entry;
  }
}
