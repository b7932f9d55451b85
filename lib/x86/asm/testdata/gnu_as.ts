// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test support: run GNU as (and ld) on AT&T source, and feed the same source
 * text to the in-repo assembler, so tests can compare the two byte for byte.
 *
 * @module
 */

import { type Assembler, assembler, type code_mode } from "../assembler.ts";
import { split_operands } from "../operand.ts";

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

const PREFIXES = ["lock", "rep", "repe", "repz", "repne", "repnz"] as const;

/**
 * Feeds one line of AT&T source to the builder, as the matching method call
 * would: `label:`, the directives the tests use, `lock`/`rep` prefixes,
 * `{disp8}`/`{disp32}`, and instructions.
 *
 * @param a the builder
 * @param line one source line
 */
export function emit_line(a: Assembler, line: string): void {
  let s = line.replace(/#.*$/, "").trim();
  const lbl = /^([A-Za-z_.$0-9][A-Za-z0-9_.$]*):\s*/.exec(s);
  if (lbl) {
    a.label(lbl[1]!);
    s = s.slice(lbl[0].length);
  }
  if (!s) return;
  if (s.startsWith(".")) {
    const sp = s.search(/\s/);
    const dir = sp < 0 ? s : s.slice(0, sp);
    const args = sp < 0 ? [] : split_operands(s.slice(sp));
    const num = (x: string | undefined) => (x === undefined ? undefined : Number(x));
    switch (dir) {
      case ".code16":
        a.code16();
        return;
      case ".code32":
        a.code32();
        return;
      case ".code64":
        a.code64();
        return;
      case ".globl":
      case ".global":
        a.global(...args);
        return;
      case ".set":
        a.set(args[0]!, args[1]!);
        return;
      case ".byte":
        a.byte(...args);
        return;
      case ".word":
        a.word(...args);
        return;
      case ".long":
        a.long(...args);
        return;
      case ".quad":
        a.quad(...args);
        return;
      case ".ascii":
        a.ascii(JSON.parse(args[0]!));
        return;
      case ".fill":
        a.fill(args[0]!, num(args[1]) ?? 1, args[2] ?? 0);
        return;
      case ".align":
        a.align(num(args[0])!, num(args[1]));
        return;
      case ".p2align":
        a.p2align(num(args[0])!, num(args[1]));
        return;
      default:
        throw new Error(`emit_line: directive ${dir} not supported by the test helper`);
    }
  }
  for (;;) {
    const m = /^(\{disp8\}|\{disp32\}|lock|rep|repe|repz|repne|repnz)\s+/.exec(s);
    if (!m) break;
    const p = m[1]!;
    if (p === "{disp8}") a.disp8();
    else if (p === "{disp32}") a.disp32();
    else {
      const name = p === "repz" ? "repe" : p === "repnz" ? "repne" : p;
      a[name as Exclude<(typeof PREFIXES)[number], "repz" | "repnz">]();
    }
    s = s.slice(m[0].length);
  }
  const sp = s.search(/\s/);
  const mn = sp < 0 ? s : s.slice(0, sp);
  a.insn(mn, ...(sp < 0 ? [] : split_operands(s.slice(sp))));
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
  for (const l of source) emit_line(a, l);
  return a.assemble().bytes;
}

/** Lower-case hex of bytes. */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
