// SPDX-License-Identifier: GPL-2.0-only
/**
 * The x86 registers an AT&T operand can name, with the numbers the ModRM,
 * SIB and REX fields encode them by.
 *
 * @module
 */

/** What kind of register a name stands for. */
export type reg_kind = "gp" | "seg" | "cr" | "dr" | "ip";

/** One register: its encoding number (0-15) and width in bits. */
export interface x86_reg {
  /** The name without `%`. */
  readonly name: string;
  readonly kind: reg_kind;
  /** Width in bits (segment registers: 16; control/debug registers: the mode's). */
  readonly size: 8 | 16 | 32 | 64;
  /** The register number as ModRM/SIB/REX encode it (REX supplies bit 3). */
  readonly num: number;
  /** `%spl %bpl %sil %dil`: only reachable with a REX prefix. */
  readonly needs_rex: boolean;
  /** `%ah %ch %dh %bh`: not encodable in an instruction with a REX prefix. */
  readonly no_rex: boolean;
}

const table = new Map<string, x86_reg>();

function add(name: string, kind: reg_kind, size: x86_reg["size"], num: number, flags = ""): void {
  table.set(name, {
    name,
    kind,
    size,
    num,
    needs_rex: flags === "rex",
    no_rex: flags === "norex",
  });
}

const LEGACY8 = ["al", "cl", "dl", "bl"];
const HIGH8 = ["ah", "ch", "dh", "bh"];
const REX8 = ["spl", "bpl", "sil", "dil"];
const LEGACY16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"];

LEGACY8.forEach((n, i) => add(n, "gp", 8, i));
HIGH8.forEach((n, i) => add(n, "gp", 8, i + 4, "norex"));
REX8.forEach((n, i) => add(n, "gp", 8, i + 4, "rex"));
LEGACY16.forEach((n, i) => {
  add(n, "gp", 16, i);
  add("e" + n, "gp", 32, i);
  add("r" + n, "gp", 64, i);
});
for (let i = 8; i < 16; i++) {
  add(`r${i}b`, "gp", 8, i);
  add(`r${i}w`, "gp", 16, i);
  add(`r${i}d`, "gp", 32, i);
  add(`r${i}`, "gp", 64, i);
}
["es", "cs", "ss", "ds", "fs", "gs"].forEach((n, i) => add(n, "seg", 16, i));
for (let i = 0; i < 16; i++) add(`cr${i}`, "cr", 64, i);
for (let i = 0; i < 8; i++) add(`db${i}`, "dr", 64, i);
for (let i = 0; i < 8; i++) add(`dr${i}`, "dr", 64, i);
add("rip", "ip", 64, 5);
add("eip", "ip", 32, 5);

/**
 * Looks a register up by name.
 *
 * @param name the name without `%`, any case
 * @returns the register, or `undefined` for an unknown name
 */
export function x86_reg_lookup(name: string): x86_reg | undefined {
  return table.get(name.toLowerCase());
}

/** Segment register numbers (`ES`=0 ... `GS`=5), as `MOV Sreg` encodes them. */
export const SEG_ES = 0;
/** `CS`. */
export const SEG_CS = 1;
/** `SS`. */
export const SEG_SS = 2;
/** `DS`. */
export const SEG_DS = 3;
/** `FS`. */
export const SEG_FS = 4;
/** `GS`. */
export const SEG_GS = 5;

/** The segment-override prefix byte of each segment register, by number. */
export const SEG_PREFIX: readonly number[] = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
