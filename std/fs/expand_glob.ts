// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API, options and results as its
// `expandGlob` and `expandGlobSync`.

import { isAbsolute, resolve } from "node:path";
import {
  type GlobOptions,
  globToRegExp,
  isGlob,
  isWindows,
  joinPaths,
  SEPARATOR_PATTERN,
  unescapeGlobSegment,
} from "./_glob.ts";
import { walk, type WalkEntry, walkSync } from "./walk.ts";
import { createWalkEntry, createWalkEntrySync, toPathString } from "./_create_walk_entry.ts";

export type { GlobOptions, WalkEntry };

/** Options for {@linkcode expandGlob} and {@linkcode expandGlobSync}. */
export interface ExpandGlobOptions extends Omit<GlobOptions, "os"> {
  /**
   * File path where to expand from.
   *
   * @default {Deno.cwd()}
   */
  root?: string;
  /**
   * List of glob patterns to be excluded from the expansion (resolved
   * against `root`).
   *
   * @default {[]}
   */
  exclude?: string[];
  /**
   * Whether to include directories in entries.
   *
   * @default {true}
   */
  includeDirs?: boolean;
  /**
   * Whether to follow symbolic links.
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
}

/** Everything both variants derive from the glob and options before touching the disk. */
interface Plan {
  /** Path of the longest glob-free prefix (absolute). */
  fixedRoot: string;
  /** Remaining glob segments. */
  segments: string[];
  hasTrailingSep: boolean;
  includeDirs: boolean;
  globstar: boolean;
  followSymlinks: boolean;
  canonicalize: boolean;
  globOptions: GlobOptions;
  excludePatterns: RegExp[];
}

function plan(glob: string | URL, options: ExpandGlobOptions | undefined): Plan {
  const {
    exclude = [],
    includeDirs = true,
    extended = true,
    globstar = true,
    caseInsensitive = false,
    followSymlinks = false,
    canonicalize = true,
  } = options ?? {};
  const path = toPathString(glob);
  const sep = SEPARATOR_PATTERN.source;
  const segments = path.replace(new RegExp(`^${sep}|${sep}$`, "g"), "").split(SEPARATOR_PATTERN);
  const globIsAbsolute = isAbsolute(path);
  const winRoot = isWindows && globIsAbsolute ? segments.shift() : undefined;
  const root = options?.root ?? (globIsAbsolute ? winRoot ?? "/" : Deno.cwd());
  const absRoot = globIsAbsolute ? root : resolve(root);
  const globOptions: GlobOptions = { extended, globstar, caseInsensitive };
  let fixedRoot = globIsAbsolute ? winRoot ?? "/" : absRoot;
  while (segments.length > 0 && !isGlob(segments[0]!)) {
    fixedRoot = joinPaths([fixedRoot, unescapeGlobSegment(segments.shift()!)]);
  }
  return {
    fixedRoot,
    segments,
    hasTrailingSep: new RegExp(`${sep}$`).test(path),
    includeDirs,
    globstar,
    followSymlinks,
    canonicalize,
    globOptions,
    excludePatterns: exclude.map((p) => globToRegExp(resolve(absRoot, p), globOptions)),
  };
}

function byPath(a: WalkEntry, b: WalkEntry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function finish(p: Plan, matches: WalkEntry[]): WalkEntry[] {
  if (p.hasTrailingSep) matches = matches.filter((entry) => entry.isDirectory);
  if (!p.includeDirs) matches = matches.filter((entry) => !entry.isDirectory);
  return matches;
}

/**
 * Returns an async iterator that yields each file path matching the given glob
 * pattern, as {@linkcode WalkEntry} objects with absolute paths (relative
 * globs are resolved against `root`, by default the current directory).
 *
 * Glob syntax is std's: `*`, `**` (any number of directories), `?`, `[...]`,
 * `[!...]`, `{a,b}`, extended groups such as `+(a|b)`. Paths are matched one
 * segment at a time and each segment's matches are sorted by path. A glob
 * whose fixed prefix does not exist yields nothing.
 *
 * Requires `--allow-read` permission.
 *
 * @param glob The glob pattern to expand.
 * @param options Additional options for the expansion.
 * @returns An async iterator that yields each walk entry matching the glob pattern.
 *
 * @example Usage
 * ```ts ignore
 * import { expandGlob } from "@std/fs";
 *
 * for await (const file of expandGlob("**\/*.ts", { exclude: ["std/**"] })) {
 *   console.log(file.path);
 * }
 * ```
 */
export async function* expandGlob(
  glob: string | URL,
  options?: ExpandGlobOptions,
): AsyncIterableIterator<WalkEntry> {
  const p = plan(glob, options);
  let current: WalkEntry[];
  try {
    current = [await createWalkEntry(p.fixedRoot)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }

  async function* advance(from: WalkEntry, segment: string): AsyncIterableIterator<WalkEntry> {
    if (!from.isDirectory) return;
    if (segment === "..") {
      const parent = joinPaths([from.path, ".."]);
      if (!p.excludePatterns.some((re) => re.test(parent))) yield await createWalkEntry(parent);
      return;
    }
    if (segment === "**") {
      yield* walk(from.path, {
        skip: p.excludePatterns,
        maxDepth: p.globstar ? Infinity : 1,
        followSymlinks: p.followSymlinks,
        canonicalize: p.canonicalize,
      });
      return;
    }
    const pattern = globToRegExp(segment, p.globOptions);
    const children = walk(from.path, {
      maxDepth: 1,
      skip: p.excludePatterns,
      followSymlinks: p.followSymlinks,
    });
    for await (const entry of children) {
      if (entry.path !== from.path && pattern.test(entry.name)) yield entry;
    }
  }

  for (const segment of p.segments) {
    // Several current matches can lead to the same path: de-duplicate by path.
    const next = new Map<string, WalkEntry>();
    await Promise.all(current.map(async (from) => {
      for await (const entry of advance(from, segment)) next.set(entry.path, entry);
    }));
    current = [...next.values()].sort(byPath);
  }
  yield* finish(p, current);
}

/**
 * Synchronous version of {@linkcode expandGlob}: same options, same results.
 *
 * Requires `--allow-read` permission.
 *
 * @param glob The glob pattern to expand.
 * @param options Additional options for the expansion.
 * @returns An iterator that yields each walk entry matching the glob pattern.
 *
 * @example Usage
 * ```ts ignore
 * import { expandGlobSync } from "@std/fs";
 *
 * const tests = [...expandGlobSync("x86/*_test.ts")].map((e) => e.path);
 * ```
 */
export function* expandGlobSync(
  glob: string | URL,
  options?: ExpandGlobOptions,
): IterableIterator<WalkEntry> {
  const p = plan(glob, options);
  let current: WalkEntry[];
  try {
    current = [createWalkEntrySync(p.fixedRoot)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }

  function* advance(from: WalkEntry, segment: string): IterableIterator<WalkEntry> {
    if (!from.isDirectory) return;
    if (segment === "..") {
      const parent = joinPaths([from.path, ".."]);
      if (!p.excludePatterns.some((re) => re.test(parent))) yield createWalkEntrySync(parent);
      return;
    }
    if (segment === "**") {
      yield* walkSync(from.path, {
        skip: p.excludePatterns,
        maxDepth: p.globstar ? Infinity : 1,
        followSymlinks: p.followSymlinks,
        canonicalize: p.canonicalize,
      });
      return;
    }
    const pattern = globToRegExp(segment, p.globOptions);
    const children = walkSync(from.path, {
      maxDepth: 1,
      skip: p.excludePatterns,
      followSymlinks: p.followSymlinks,
    });
    for (const entry of children) {
      if (entry.path !== from.path && pattern.test(entry.name)) yield entry;
    }
  }

  for (const segment of p.segments) {
    const next = new Map<string, WalkEntry>();
    for (const from of current) {
      for (const entry of advance(from, segment)) next.set(entry.path, entry);
    }
    current = [...next.values()].sort(byPath);
  }
  yield* finish(p, current);
}
