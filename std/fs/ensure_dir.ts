// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API and errors as its `ensureDir` and
// `ensureDirSync`.

function typeName(info: Deno.FileInfo): string | undefined {
  return info.isFile ? "file" : info.isDirectory ? "dir" : info.isSymlink ? "symlink" : undefined;
}

function assertIsDirectory(info: Deno.FileInfo): void {
  if (!info.isDirectory) {
    throw new Error(`Failed to ensure directory exists: expected 'dir', got '${typeName(info)}'`);
  }
}

/**
 * Asynchronously ensures that the directory exists, like `mkdir -p`.
 *
 * If the directory already exists, this function does nothing. If the
 * directory does not exist, it is created with its missing parents. A symlink
 * to a directory counts as a directory.
 *
 * Requires `--allow-read` and `--allow-write` permissions.
 *
 * @param dir The path of the directory to ensure, as a string or URL.
 * @throws {Error} If the path exists and is not a directory.
 * @returns A promise that resolves once the directory exists.
 *
 * @example Usage
 * ```ts ignore
 * import { ensureDir } from "@std/fs";
 *
 * await ensureDir("./bar");
 * ```
 */
export async function ensureDir(dir: string | URL): Promise<void> {
  try {
    assertIsDirectory(await Deno.stat(dir));
    return;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (err) {
    // Lost a race with another creator: fine if what now exists is a directory.
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    assertIsDirectory(await Deno.stat(dir));
  }
}

/**
 * Synchronously ensures that the directory exists, like `mkdir -p`.
 *
 * Requires `--allow-read` and `--allow-write` permissions.
 *
 * @param dir The path of the directory to ensure, as a string or URL.
 * @throws {Error} If the path exists and is not a directory.
 *
 * @example Usage
 * ```ts ignore
 * import { ensureDirSync } from "@std/fs";
 *
 * ensureDirSync("./bar");
 * ```
 */
export function ensureDirSync(dir: string | URL): void {
  try {
    assertIsDirectory(Deno.statSync(dir));
    return;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    assertIsDirectory(Deno.statSync(dir));
  }
}
