// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task gen`: regenerates the generated sources, as Kbuild's
 * `filechk` does: a file is rewritten only when its content changes.
 * `deno task gen --check` writes nothing and fails when a file is stale (CI).
 *
 * @module
 */

import { filechk_offsets, kbuild_collect, offsets_module } from "./include/linux/kbuild.ts";

/** One offsets file and the two files generated from it. */
export interface offsets_target {
  /** The offsets module, relative to the repository root; it exports `common()`. */
  source: string;
  /** The TypeScript module to write. */
  ts: string;
  /** The C header to write. */
  h: string;
  /** The header guard, as the Makefile derives it from the file name. */
  guard: string;
}

/** Every generated file of the project. */
export const TARGETS: readonly offsets_target[] = [
  {
    source: "lib/x86/tdx/td_boot_offsets.ts",
    ts: "include/x86/tdx/td_boot_offsets.ts",
    h: "include/x86/tdx/td_boot_offsets.h",
    guard: "__TD_BOOT_OFFSETS_H__",
  },
];

const root = new URL("../", import.meta.url);

/** The files a target generates, with their expected contents. */
export async function render(t: offsets_target): Promise<Map<string, string>> {
  const mod = await import(new URL(t.source, root).href) as { common: () => void };
  const entries = kbuild_collect(mod.common);
  return new Map([
    [t.ts, offsets_module(entries, t.source)],
    [t.h, filechk_offsets(entries, t.guard)],
  ]);
}

/** Regenerates (or with `check`, verifies) every target; returns the stale paths. */
export async function gen(check: boolean): Promise<string[]> {
  const stale: string[] = [];
  for (const t of TARGETS) {
    for (const [path, text] of await render(t)) {
      const url = new URL(path, root);
      let old: string | undefined;
      try {
        old = await Deno.readTextFile(url);
      } catch {
        old = undefined;
      }
      if (old === text) continue;
      stale.push(path);
      if (!check) await Deno.writeTextFile(url, text);
    }
  }
  return stale;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const stale = await gen(check);
  for (const p of stale) console.log(`${check ? "stale" : "  GEN"} ${p}`);
  if (check && stale.length > 0) {
    console.error("Generated files are out of date: run `deno task gen`");
    Deno.exit(1);
  }
}
