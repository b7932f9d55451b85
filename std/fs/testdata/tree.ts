// SPDX-License-Identifier: GPL-2.0-only

/**
 * A throw-away directory tree for the fs specs.
 *
 * @module
 */

/**
 * Creates a temporary directory holding `files` (paths ending in `/` are
 * directories; `->target` values make symlinks) and returns its path with a
 * disposer that removes it.
 */
export function tree(files: Record<string, string>): { root: string } & Disposable {
  const root = Deno.makeTempDirSync({ prefix: "std_fs_spec_" });
  for (const [rel, content] of Object.entries(files)) {
    const path = `${root}/${rel}`;
    const parent = path.replace(/\/[^/]*\/?$/, "");
    Deno.mkdirSync(parent, { recursive: true });
    if (rel.endsWith("/")) Deno.mkdirSync(path, { recursive: true });
    else if (content.startsWith("->")) Deno.symlinkSync(content.slice(2), path);
    else Deno.writeTextFileSync(path, content);
  }
  return { root, [Symbol.dispose]: () => Deno.removeSync(root, { recursive: true }) };
}
