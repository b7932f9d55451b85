// SPDX-License-Identifier: GPL-2.0-only

/**
 * Recursive directory traversal.
 *
 * @module
 */

import { ask, driveAsync, driveSync, found, type Traversal, type WalkEntry } from "./_drive.ts";
import { basename, join, normalize, toPath } from "./_path.ts";

export type { WalkEntry };

/** Options for {@linkcode walk} and {@linkcode walkSync}. */
export interface WalkOptions {
  /**
   * How many levels below the root to descend: 0 yields only the root,
   * 1 also its direct children, and so on. Negative yields nothing.
   *
   * @default {Infinity}
   */
  maxDepth?: number;
  /**
   * Yield files (and other non-directory entries).
   *
   * @default {true}
   */
  includeFiles?: boolean;
  /**
   * Yield directories, the root included.
   *
   * @default {true}
   */
  includeDirs?: boolean;
  /**
   * Yield symbolic links (when they are not followed).
   *
   * @default {true}
   */
  includeSymlinks?: boolean;
  /**
   * Treat a symbolic link as what it points to: descend into linked
   * directories and yield linked files. A link back to a directory that is
   * being walked is yielded but not entered again.
   *
   * @default {false}
   */
  followSymlinks?: boolean;
  /**
   * With `followSymlinks`, report entries reached through a link under the
   * link target's real path instead of the path through the link.
   *
   * @default {true}
   */
  canonicalize?: boolean;
  /**
   * Only yield entries whose path ends in one of these extensions (`"ts"` and
   * `".ts"` mean the same). Applies to directories too.
   */
  exts?: string[];
  /** Only yield entries whose path matches at least one of these patterns. */
  match?: RegExp[];
  /**
   * Do not yield entries whose path matches any of these patterns, and do not
   * descend into such directories.
   */
  skip?: RegExp[];
}

/** The options with defaults applied. */
interface Plan {
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

function plan(o: WalkOptions): Plan {
  return {
    maxDepth: o.maxDepth ?? Infinity,
    includeFiles: o.includeFiles ?? true,
    includeDirs: o.includeDirs ?? true,
    includeSymlinks: o.includeSymlinks ?? true,
    followSymlinks: o.followSymlinks ?? false,
    canonicalize: o.canonicalize ?? true,
    exts: o.exts?.map((e) => e.startsWith(".") ? e : `.${e}`),
    match: o.match,
    skip: o.skip,
  };
}

/** Tests a pattern without being thrown off by a `g`/`y` flag's `lastIndex`. */
function hits(re: RegExp, path: string): boolean {
  re.lastIndex = 0;
  return re.test(path);
}

function skipped(p: Plan, path: string): boolean {
  return !!p.skip?.some((re) => hits(re, path));
}

function wanted(p: Plan, path: string): boolean {
  if (p.exts && !p.exts.some((e) => path.endsWith(e))) return false;
  if (p.match && !p.match.some((re) => hits(re, path))) return false;
  return !skipped(p, path);
}

function dirEntry(path: string, name: string): WalkEntry {
  return { path, name, isFile: false, isDirectory: true, isSymlink: false };
}

/** The traversal shared by walk and walkSync. */
export function* traverse(root: string | URL, options: WalkOptions): Traversal {
  const p = plan(options);
  if (p.maxDepth < 0) return;
  const start = normalize(toPath(root));
  const info = yield* ask<Deno.FileInfo>({ call: "stat", path: start });
  if (!info.isDirectory) {
    if (p.includeFiles && wanted(p, start)) {
      yield* found({
        path: start,
        name: basename(start),
        isFile: info.isFile,
        isDirectory: false,
        isSymlink: false,
      });
    }
    return;
  }
  const ancestors = new Set<string>();
  yield* directory(start, basename(start), p.maxDepth, p, ancestors);
}

/** Yields directory `path` (per the options) and, depth allowing, what is below it. */
function* directory(
  path: string,
  name: string,
  depth: number,
  p: Plan,
  ancestors: Set<string>,
): Traversal {
  if (p.includeDirs && wanted(p, path)) yield* found(dirEntry(path, name));
  if (depth < 1 || skipped(p, path)) return;
  // Only a followed link can lead back up; remember the real paths above us.
  const real = p.followSymlinks ? yield* ask<string>({ call: "realPath", path }) : undefined;
  if (real !== undefined) ancestors.add(real);
  try {
    const children = yield* ask<Deno.DirEntry[]>({ call: "readDir", path });
    for (const child of children) {
      const childPath = join(path, child.name);
      if (child.isSymlink && p.followSymlinks) {
        yield* followed(childPath, child, depth, p, ancestors);
      } else if (child.isSymlink) {
        if (p.includeSymlinks && wanted(p, childPath)) yield* found({ ...child, path: childPath });
      } else if (child.isDirectory) {
        yield* directory(childPath, child.name, depth - 1, p, ancestors);
      } else if (p.includeFiles && wanted(p, childPath)) {
        yield* found({ ...child, path: childPath });
      }
    }
  } finally {
    if (real !== undefined) ancestors.delete(real);
  }
}

/** A symbolic link met with followSymlinks: handled as its target. */
function* followed(
  linkPath: string,
  link: Deno.DirEntry,
  depth: number,
  p: Plan,
  ancestors: Set<string>,
): Traversal {
  let real: string;
  let target: Deno.FileInfo;
  try {
    real = yield* ask<string>({ call: "realPath", path: linkPath });
    target = yield* ask<Deno.FileInfo>({ call: "stat", path: real });
  } catch (e) {
    // A dangling link has nothing to follow: report it as the link it is.
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    if (p.includeSymlinks && wanted(p, linkPath)) yield* found({ ...link, path: linkPath });
    return;
  }
  const path = p.canonicalize ? real : linkPath;
  if (!target.isDirectory) {
    if (p.includeFiles && wanted(p, path)) yield* found({ ...link, path });
  } else if (ancestors.has(real)) {
    if (p.includeDirs && wanted(p, path)) yield* found(dirEntry(path, basename(path)));
  } else {
    yield* directory(path, basename(path), depth - 1, p, ancestors);
  }
}

/**
 * Walks the tree under `root` depth first, yielding the root and then each
 * directory before its contents. Sibling order is the order the operating
 * system lists them in. Paths are `root` (normalized) joined with the names
 * below it, so a relative root gives relative paths. A root that is not a
 * directory yields just itself (as a file).
 *
 * @example
 * ```ts
 * import { walk } from "@std/fs";
 *
 * for await (const e of walk(".", { exts: [".ts"], skip: [/node_modules/] })) {
 *   console.log(e.path);
 * }
 * ```
 *
 * @param root The directory (path or `file:` URL) to start from.
 * @param options What to yield and how far to go.
 * @returns The entries found.
 */
export function walk(
  root: string | URL,
  options: WalkOptions = {},
): AsyncIterableIterator<WalkEntry> {
  return driveAsync(traverse(root, options));
}

/**
 * Synchronous {@linkcode walk}.
 *
 * @example
 * ```ts
 * import { walkSync } from "@std/fs";
 *
 * const dirs = [...walkSync(".", { includeFiles: false, maxDepth: 1 })];
 * console.log(dirs.map((e) => e.name));
 * ```
 *
 * @param root The directory (path or `file:` URL) to start from.
 * @param options What to yield and how far to go.
 * @returns The entries found.
 */
export function walkSync(
  root: string | URL,
  options: WalkOptions = {},
): IterableIterator<WalkEntry> {
  return driveSync(traverse(root, options));
}
