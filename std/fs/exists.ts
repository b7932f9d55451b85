// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API and semantics as its `exists` and
// `existsSync`.

/** Options for {@linkcode exists} and {@linkcode existsSync}. */
export interface ExistsOptions {
  /**
   * When `true`, will check if the path is readable by the user as well.
   *
   * @default {false}
   */
  isReadable?: boolean;
  /**
   * When `true`, will check if the path is a directory as well. Directory
   * symlinks are included.
   *
   * @default {false}
   */
  isDirectory?: boolean;
  /**
   * When `true`, will check if the path is a file as well. File symlinks are
   * included.
   *
   * @default {false}
   */
  isFile?: boolean;
}

/** Owner/group/other read bit check against the current user (POSIX only). */
function isReadable(info: Deno.FileInfo): boolean {
  if (info.mode === null) return true; // non-POSIX systems
  if (Deno.uid() === info.uid) return (info.mode & 0o400) === 0o400;
  if (Deno.gid() === info.gid) return (info.mode & 0o040) === 0o040;
  return (info.mode & 0o004) === 0o004;
}

/** Applies the options to a successful `stat`. */
function check(info: Deno.FileInfo, options: ExistsOptions | undefined): boolean {
  if (!options || !(options.isReadable || options.isDirectory || options.isFile)) return true;
  if (options.isDirectory && options.isFile) {
    throw new TypeError(
      "ExistsOptions.options.isDirectory and ExistsOptions.options.isFile must not be true together",
    );
  }
  if ((options.isDirectory && !info.isDirectory) || (options.isFile && !info.isFile)) return false;
  return options.isReadable ? isReadable(info) : true;
}

/**
 * Asynchronously test whether or not the given path exists by checking with
 * the file system (following symlinks, so a dangling symlink does not exist).
 *
 * Note: Do not use this function if performing a check before another
 * operation on that file. Doing so creates a race condition. Instead, perform
 * the actual file operation directly.
 *
 * Requires `--allow-read` permissions, and in some cases, `--allow-sys`
 * permissions if `options.isReadable` is `true`.
 *
 * @param path The path to the file or directory, as a string or URL.
 * @param options Additional options for the check.
 * @returns A promise that resolves with `true` if the path exists, `false` otherwise.
 *
 * @example Usage
 * ```ts ignore
 * import { exists } from "@std/fs";
 *
 * await exists("./exists"); // true
 * await exists("./does_not_exist"); // false
 * await exists("./file", { isDirectory: true }); // false
 * ```
 */
export async function exists(path: string | URL, options?: ExistsOptions): Promise<boolean> {
  try {
    return check(await Deno.stat(path), options);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (
      error instanceof Deno.errors.PermissionDenied &&
      (await Deno.permissions.query({ name: "read", path })).state === "granted"
    ) {
      // The file system refused the stat, so the entry exists but cannot be read.
      return !options?.isReadable;
    }
    throw error;
  }
}

/**
 * Synchronously test whether or not the given path exists by checking with
 * the file system (following symlinks, so a dangling symlink does not exist).
 *
 * Requires `--allow-read` permissions, and in some cases, `--allow-sys`
 * permissions if `options.isReadable` is `true`.
 *
 * @param path The path to the file or directory, as a string or URL.
 * @param options Additional options for the check.
 * @returns `true` if the path exists, `false` otherwise.
 *
 * @example Usage
 * ```ts ignore
 * import { existsSync } from "@std/fs";
 *
 * existsSync("./exists"); // true
 * existsSync("./does_not_exist"); // false
 * ```
 */
export function existsSync(path: string | URL, options?: ExistsOptions): boolean {
  try {
    return check(Deno.statSync(path), options);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (
      error instanceof Deno.errors.PermissionDenied &&
      Deno.permissions.querySync({ name: "read", path }).state === "granted"
    ) {
      return !options?.isReadable;
    }
    throw error;
  }
}
