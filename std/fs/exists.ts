// SPDX-License-Identifier: GPL-2.0-only

/**
 * Existence checks. Prefer simply attempting the operation and handling
 * `Deno.errors.NotFound`: a check followed by an action races with anything
 * else changing the file system in between.
 *
 * @module
 */

import { toPath } from "./_path.ts";

/** What else, besides existing, a path must be for {@linkcode exists}. */
export interface ExistsOptions {
  /**
   * Also require that the current user may read the path, judged by its
   * permission bits against the process's user and primary group id only
   * (so root is not assumed to read everything).
   *
   * @default {false}
   */
  isReadable?: boolean;
  /**
   * Also require a directory (after following symbolic links). Cannot be
   * combined with `isFile`.
   *
   * @default {false}
   */
  isDirectory?: boolean;
  /**
   * Also require a regular file (after following symbolic links). Cannot be
   * combined with `isDirectory`.
   *
   * @default {false}
   */
  isFile?: boolean;
}

function checkOptions(options: ExistsOptions | undefined): void {
  if (options?.isDirectory && options.isFile) {
    throw new TypeError("ExistsOptions: isDirectory and isFile cannot both be true");
  }
}

/** Applies the options to what stat reported. */
function fits(info: Deno.FileInfo, options: ExistsOptions | undefined): boolean {
  if (options?.isDirectory && !info.isDirectory) return false;
  if (options?.isFile && !info.isFile) return false;
  if (!options?.isReadable || info.mode === null) return true;
  // Owner, else group, else other: the first class the process falls in
  // decides, in the kernel's order. Supplementary groups and capabilities
  // (root's CAP_DAC_OVERRIDE) are not considered, matching JSR's answer.
  const uid = Deno.uid();
  const gid = Deno.gid();
  if (uid !== null && uid === info.uid) return (info.mode & 0o400) !== 0;
  if (gid !== null && gid === info.gid) return (info.mode & 0o040) !== 0;
  return (info.mode & 0o004) !== 0;
}

function absent(e: unknown, options: ExistsOptions | undefined): boolean {
  // ENOTDIR: a prefix of the path is a file, so nothing can be at the path.
  if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return true;
  // An unreadable parent directory means the path cannot be read either.
  return !!options?.isReadable && e instanceof Deno.errors.PermissionDenied;
}

/**
 * Resolves to whether `path` exists (following symbolic links, so a dangling
 * link does not) and meets `options`.
 *
 * @example
 * ```ts
 * import { exists } from "@std/fs";
 * if (await exists("/etc/hosts", { isFile: true })) console.log("have hosts");
 * ```
 *
 * @param path The path or `file:` URL to check.
 * @param options Further requirements.
 * @returns Whether the path exists and meets them.
 * @throws {TypeError} When both `isDirectory` and `isFile` are set.
 */
export async function exists(path: string | URL, options?: ExistsOptions): Promise<boolean> {
  checkOptions(options);
  try {
    return fits(await Deno.stat(toPath(path)), options);
  } catch (e) {
    if (absent(e, options)) return false;
    throw e;
  }
}

/**
 * Synchronous {@linkcode exists}.
 *
 * @example
 * ```ts
 * import { existsSync } from "@std/fs";
 * existsSync("/tmp", { isDirectory: true }); // true
 * ```
 *
 * @param path The path or `file:` URL to check.
 * @param options Further requirements.
 * @returns Whether the path exists and meets them.
 * @throws {TypeError} When both `isDirectory` and `isFile` are set.
 */
export function existsSync(path: string | URL, options?: ExistsOptions): boolean {
  checkOptions(options);
  try {
    return fits(Deno.statSync(toPath(path)), options);
  } catch (e) {
    if (absent(e, options)) return false;
    throw e;
  }
}
