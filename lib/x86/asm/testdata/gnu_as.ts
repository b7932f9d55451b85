// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test support: run GNU as (and ld) on AT&T source, and feed the same source
 * text to the in-repo assembler (`line()`), so tests can compare the two byte
 * for byte.
 *
 * @module
 */

import { assembler, type code_mode } from "../assembler.ts";

/** Why GNU as cannot be used here, or `undefined` when `as`, `ld` and `nm` run. */
export const GNU_AS_MISSING: string | undefined = await (async () => {
  for (const tool of ["as", "ld", "nm", "objcopy"]) {
    try {
      const r = await new Deno.Command(tool, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (!r.success) return `${tool} --version failed`;
    } catch {
      return `${tool} (binutils) is not installed`;
    }
  }
  return undefined;
})();

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const err = new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: ${err}`);
  return new TextDecoder().decode(r.stdout);
}

/**
 * Assembles `source` with GNU as (x86-64 ELF; `.code16/.code32` inside) and
 * links it flat at `origin`.
 *
 * @returns the `.text` image
 */
export async function gnu_as_program(source: string, origin: number | bigint): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "gnu_as_" });
  try {
    await Deno.writeTextFile(`${dir}/p.S`, source + "\n");
    await run("as", ["--64", "-o", `${dir}/p.o`, `${dir}/p.S`]);
    await run("ld", [
      "-m",
      "elf_x86_64",
      `-Ttext=0x${BigInt(origin).toString(16)}`,
      "--oformat=binary",
      "-e",
      "0",
      "-o",
      `${dir}/p.bin`,
      `${dir}/p.o`,
    ]);
    return await Deno.readFile(`${dir}/p.bin`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Assembles each line on its own (in one GNU as run) and returns each one's
 * bytes.
 *
 * @param mode the `.code` size
 * @param lines single instructions, no labels
 */
export async function gnu_as_lines(mode: code_mode, lines: string[]): Promise<Uint8Array[]> {
  const dir = await Deno.makeTempDir({ prefix: "gnu_as_" });
  try {
    const src = `.code${mode}\n` + lines.map((l, i) => `__L${i}:\n${l}\n`).join("") +
      `__L${lines.length}:\n`;
    await Deno.writeTextFile(`${dir}/l.S`, src);
    await run("as", ["--64", "-o", `${dir}/l.o`, `${dir}/l.S`]);
    await run("objcopy", ["-O", "binary", "-j", ".text", `${dir}/l.o`, `${dir}/l.bin`]);
    const image = await Deno.readFile(`${dir}/l.bin`);
    const at = new Map<string, number>();
    for (const line of (await run("nm", [`${dir}/l.o`])).split("\n")) {
      const [addr, , name] = line.trim().split(/\s+/);
      if (addr && name) at.set(name, parseInt(addr, 16));
    }
    return lines.map((_, i) => image.slice(at.get(`__L${i}`)!, at.get(`__L${i + 1}`)!));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Assembles AT&T source text with the in-repo assembler.
 *
 * @param source lines of AT&T source
 * @param origin load address
 * @param mode the initial `.code` size
 */
export function repo_as_program(
  source: string[],
  origin: number | bigint,
  mode: code_mode = 64,
): Uint8Array {
  const a = assembler({ origin, mode });
  for (const l of source) a.line(l);
  return a.assemble().bytes;
}

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
