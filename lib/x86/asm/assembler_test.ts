// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals, assertThrows } from "@std/assert";
import { AsmError, assembler, type code_mode } from "./assembler.ts";
import {
  gnu_as_lines,
  GNU_AS_MISSING,
  gnu_as_program,
  hex,
  repo_as_program,
} from "./testdata/gnu_as.ts";

/** One instruction per entry, with the bytes GNU as 2.40 gave for it. */
interface insn_case {
  mode: code_mode;
  text: string;
  hex: string;
}

/** A program with labels, relaxed branches and data, linked by ld at `origin`. */
interface program_case {
  name: string;
  origin: number;
  source: string[];
  hex: string;
}

const INSNS: insn_case[] = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/gnu_as_insns.json", import.meta.url)),
);
const PROGRAMS: program_case[] = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/gnu_as_programs.json", import.meta.url)),
);

function one(mode: code_mode, line: string): string {
  return hex(assembler({ mode }).line(line).assemble().bytes);
}

Deno.test("every pinned instruction encodes as GNU as encoded it", () => {
  const bad: string[] = [];
  for (const c of INSNS) {
    let got: string;
    try {
      got = one(c.mode, c.text);
    } catch (e) {
      got = `error: ${(e as Error).message}`;
    }
    if (got !== c.hex) bad.push(`.code${c.mode} ${c.text}: want ${c.hex}, got ${got}`);
  }
  assertEquals(bad, []);
  // The table covers all three modes broadly.
  for (const m of [16, 32, 64]) assert(INSNS.filter((c) => c.mode === m).length > 100);
});

Deno.test({
  name: "the pinned instruction bytes are what GNU as produces today",
  ignore: GNU_AS_MISSING !== undefined,
  async fn() {
    for (const mode of [16, 32, 64] as const) {
      const cases = INSNS.filter((c) => c.mode === mode);
      const got = await gnu_as_lines(mode, cases.map((c) => c.text));
      const bad = cases.filter((c, i) => hex(got[i]!) !== c.hex).map((c, i) =>
        `${c.text}: ${hex(got[i]!)}`
      );
      assertEquals(bad, [], `.code${mode}: GNU as disagrees with the pinned bytes`);
    }
  },
});

if (GNU_AS_MISSING) console.warn(`assembler_test: GNU as comparison skipped: ${GNU_AS_MISSING}`);

Deno.test("programs with labels, relaxation and data match the pinned GNU as + ld images", () => {
  for (const p of PROGRAMS) {
    assertEquals(hex(repo_as_program(p.source, p.origin)), p.hex, p.name);
  }
});

Deno.test({
  name: "programs with labels, relaxation and data match GNU as + ld now",
  ignore: GNU_AS_MISSING !== undefined,
  async fn() {
    for (const p of PROGRAMS) {
      const gnu = await gnu_as_program(p.source.join("\n"), p.origin);
      assertEquals(hex(repo_as_program(p.source, p.origin)), hex(gnu), p.name);
    }
  },
});

/** A seeded generator of instruction lines for one mode (operand forms, sizes, immediates). */
function random_lines(mode: code_mode, count: number, seed: number): string[] {
  // xorshift32: 32-bit integer arithmetic only.
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const R: Record<number, string[]> = {
    8: mode === 64
      ? ["al", "cl", "dl", "bl", "sil", "dil", "r8b", "r12b"]
      : ["al", "cl", "dl", "bl", "ah", "bh"],
    16: mode === 64
      ? ["ax", "cx", "si", "di", "r9w", "r14w"]
      : ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"],
    32: mode === 64
      ? ["eax", "ecx", "edx", "esp", "ebp", "r10d", "r13d"]
      : ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"],
    64: ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r12", "r13", "r15"],
  };
  const sizes = mode === 64 ? [8, 16, 32, 64] : [8, 16, 32];
  const SFX: Record<number, string> = { 8: "b", 16: "w", 32: "l", 64: "q" };
  const DISP = ["", "0", "8", "-8", "127", "128", "-129", "0x1000", "-0x1234"];
  const IMM = ["0", "1", "-1", "2", "127", "128", "-128", "-129", "0x7f", "0x1234"];
  const mem = (): string => {
    const d = pick(DISP);
    if (mode === 16) {
      const form = pick([
        "(%bx)",
        "(%si)",
        "(%di)",
        "(%bp)",
        "(%bx,%si)",
        "(%bx,%di)",
        "(%bp,%si)",
        "(%bp,%di)",
      ]);
      return `${d}${form}`;
    }
    const base = mode === 64 ? R[64]! : R[32]!;
    const idx = base.filter((r) => r !== "rsp" && r !== "esp");
    const seg = rnd(8) === 0 ? `%${pick(["es", "cs", "ss", "ds", "fs", "gs"])}:` : "";
    switch (rnd(4)) {
      case 0:
        return `${seg}${d}(%${pick(base)})`;
      case 1:
        return `${seg}${d}(%${pick(base)},%${pick(idx)},${pick([1, 2, 4, 8])})`;
      case 2:
        return `${seg}${d || "0"}(,%${pick(idx)},${pick([1, 2, 4, 8])})`;
      default:
        return mode === 64 ? `${seg}${d || "0"}(%rip)` : `${seg}0x2000`;
    }
  };
  const ALU = ["add", "sub", "and", "or", "xor", "cmp", "adc", "sbb", "mov", "test"];
  const lines: string[] = [];
  while (lines.length < count) {
    const size = pick(sizes);
    const sx = SFX[size]!;
    const reg = () => `%${pick(R[size]!)}`;
    const imm = () => {
      const v = pick(IMM);
      return size === 8 && (v === "0x1234" || v === "-129" || v === "128") ? "0x12" : v;
    };
    let l: string;
    switch (rnd(12)) {
      case 0:
        l = `${pick(ALU)}${sx} $${imm()}, ${rnd(2) ? reg() : mem()}`;
        break;
      case 1:
        l = `${pick(ALU)}${sx} ${reg()}, ${rnd(2) ? reg() : mem()}`;
        break;
      case 2:
        l = `${pick(ALU.filter((x) => x !== "test"))}${sx} ${mem()}, ${reg()}`;
        break;
      case 3:
        l = `${pick(["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"])}${sx} ${
          pick(["$1", "$3", "%cl", ""])
        }${rnd(2) ? "" : ""}`;
        l = l.endsWith(" ") ? `${l}${reg()}` : `${l}, ${rnd(2) ? reg() : mem()}`;
        break;
      case 4:
        l = `${pick(["inc", "dec", "not", "neg", "mul", "div", "idiv"])}${sx} ${
          rnd(2) ? reg() : mem()
        }`;
        break;
      case 5:
        if (size === 8) continue;
        l = `${
          pick(["lea", "imul", "bsf", "bsr", `cmov${pick(["e", "ne", "b", "ae", "l", "g"])}`])
        }${sx} ${mem()}, ${reg()}`;
        break;
      case 6:
        if (size === 8) continue;
        l = `${pick(["bt", "bts", "btr", "btc"])}${sx} ${rnd(2) ? "$" + rnd(16) : reg()}, ${
          rnd(2) ? reg() : mem()
        }`;
        break;
      case 7:
        l = `xchg${sx} ${reg()}, ${rnd(2) ? reg() : mem()}`;
        break;
      case 8: {
        const st = mode === 64 ? [16, 64] : [16, 32];
        const ps = pick(st);
        const r = `%${pick(R[ps]!)}`;
        l = `${pick(["push", "pop"])}${SFX[ps]} ${rnd(2) ? r : mem()}`;
        break;
      }
      case 9:
        l = `set${pick(["e", "ne", "o", "s", "p", "le"])} ${rnd(2) ? "%" + pick(R[8]!) : mem()}`;
        break;
      case 10: {
        if (size === 8) continue;
        const ext = pick(sizes.filter((x) => x > 8 && x <= size));
        const src = ext === size ? 8 : pick([8, 16].filter((x) => x < size));
        l = `mov${pick(["z", "s"])}${SFX[src]}${SFX[size]} ${
          rnd(2) ? "%" + pick(R[src]!) : mem()
        }, ${reg()}`;
        break;
      }
      default:
        l = `mov${sx} $${imm()}, ${rnd(2) ? reg() : mem()}`;
    }
    lines.push(l);
  }
  return lines;
}

Deno.test({
  name: "random instruction forms in each mode match GNU as",
  ignore: GNU_AS_MISSING !== undefined,
  async fn() {
    // A seeded sweep over registers, addressing forms, segment overrides,
    // sizes and immediates beyond the pinned table.
    for (const mode of [16, 32, 64] as const) {
      const lines = random_lines(mode, 400, 0x1234567 + mode);
      const gnu = await gnu_as_lines(mode, lines);
      const bad = lines
        .map((l, i) => ({
          l,
          gnu: hex(gnu[i]!),
          mine: (() => {
            try {
              return one(mode, l);
            } catch (e) {
              return `error: ${(e as Error).message}`;
            }
          })(),
        }))
        .filter((x) => x.gnu !== x.mine)
        .map((x) => `${x.l}: gnu ${x.gnu} mine ${x.mine}`);
      assertEquals(bad, [], `.code${mode}`);
    }
  },
});

Deno.test("the builder API reads like the .S file and exports global labels", () => {
  const a = assembler({ origin: 0x1000, defines: { KERNEL_CS: 8, OFF: 4 } });
  a.code32().global("entry").label("entry");
  a.cli();
  a.movl("$KERNEL_CS", "%ebx");
  a.movl("OFF(%ebx)", "%edi");
  a.ljmp("$(KERNEL_CS)", "$1f");
  a.label("1");
  a.code64();
  a.jmp("*8(%eax)");
  a.global("end").label("end");
  const obj = a.assemble();
  assertEquals(hex(obj.bytes), "fa" + "bb08000000" + "8b7b04" + "ea1010000008" + "00" + "67ff6008");
  assertEquals(obj.symbols.get("entry"), 0x1000n);
  assertEquals(obj.symbols.get("end"), 0x1000n + BigInt(obj.bytes.length));
  assertEquals(obj.listing.length, 8);
  assertEquals(obj.listing[4]!.text, "ljmp $(KERNEL_CS), $1f");
});

Deno.test("bad input is an AsmError naming the line", () => {
  const cases: [string, (a: ReturnType<typeof assembler>) => unknown, RegExp][] = [
    ["unknown register", (a) => a.movl("%exx", "%eax"), /unknown register/],
    ["REX with a high byte register", (a) => a.code64().movb("%ah", "%sil"), /REX/],
    ["64-bit register in 32-bit code", (a) => a.code32().movq("%rax", "%rbx"), /needs \.code64/],
    ["immediate too wide", (a) => a.code32().movb("$256", "%al"), /does not fit 8 bits/],
    ["no operand size", (a) => a.code32().mov("$1", "(%eax)"), /no suffix/],
    ["suffix and register disagree", (a) => a.code32().movl("%ax", "%bx"), /suffix/],
    ["direct far jump in 64-bit code", (a) => a.code64().ljmp("$8", "$0"), /invalid in 64-bit/],
    ["ljmpq, which GNU as refuses", (a) => a.code64().ljmpq("*(%rax)"), /w or l suffix/],
    ["scale", (a) => a.movl("(%eax,%ebx,3)", "%eax"), /scale/],
    ["%esp as index", (a) => a.movl("(%eax,%esp)", "%eax"), /index/],
    ["16-bit form", (a) => a.code16().movw("(%ax)", "%ax"), /16-bit addressing/],
    ["unknown mnemonic", (a) => a.insn("frobl", "%eax"), /unknown mnemonic/],
    ["bad expression", (a) => a.movl("$(1+", "%eax"), /missing/],
    ["duplicate label", (a) => a.label("x").label("x"), /already defined/],
    ["unsupported directive", (a) => a.line(".section .data"), /unsupported directive \.section/],
    ["directive arguments", (a) => a.line(".set X"), /takes 2-2 arguments/],
    ["bad string", (a) => a.line(".ascii kvm"), /string literal/],
    ["line names the statement", (a) => a.line("1: movl %eax, %rbx # mixed"), /^movl %eax, %rbx: /],
  ];
  for (const [what, f, re] of cases) {
    const e = assertThrows(() => f(assembler()), AsmError, undefined, what);
    assert(re.test(e.message), `${what}: ${e.message}`);
  }
});

Deno.test("layout errors: undefined symbols, unreachable {disp8} and loop targets", () => {
  const a = assembler();
  a.jmp("nowhere");
  assertThrows(() => a.assemble(), AsmError, "undefined symbol(s): nowhere");

  const b = assembler();
  b.label("top").fill(200, 1, 0x90).disp8().jmp("top");
  assertThrows(() => b.assemble(), AsmError, "rel8");

  const c = assembler();
  c.label("top").fill(130, 1, 0x90).loop("top");
  assertThrows(() => c.assemble(), AsmError, "rel8");

  assertThrows(() => assembler().jmp("1b"), AsmError, "no earlier label 1");
});

Deno.test("a jmp relaxes only when its target is out of rel8 reach", () => {
  for (const [n, size] of [[126, 2], [127, 2], [128, 5], [129, 5]] as const) {
    const a = assembler({ mode: 32 });
    a.jmp("1f").fill(n, 1, 0x90).label("1");
    assertEquals(a.assemble().bytes.length - n, size, `${n} bytes ahead`);
  }
  for (const [n, size] of [[126, 2], [127, 5]] as const) {
    const a = assembler({ mode: 32 });
    a.label("1").fill(n, 1, 0x90).jmp("1b");
    assertEquals(a.assemble().bytes.length - n, size, `${n} bytes behind`);
  }
});
