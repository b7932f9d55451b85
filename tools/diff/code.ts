// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task diff --code`: seeded random machine-code sequences run on two
 * backends (by default `/dev/kvm` and the simulator's interpreter), with the
 * exits, the registers and RFLAGS at the final HLT and the touched memory
 * compared.
 *
 * A sequence is AT&T source assembled by the in-repo assembler
 * (`lib/x86/asm`) at 0x1000, in real mode, 16- or 32-bit protected mode
 * (paging off) or 64-bit mode (identity-mapped first GiB): straight-line ALU
 * operations of every size, shifts and rotates, multiply and divide, bit
 * operations, stack operations, string instructions with REP, port I/O,
 * MMIO, CPUID and RDMSR, far transfers through the GDT, and in 64-bit mode
 * #PF, #GP and #DE through handlers that report the fault and resume after
 * the instruction. Flags the SDM leaves undefined are never read: the
 * generator tracks which flags are defined and puts a CMP before any
 * instruction that reads an undefined one, and ends every sequence with one.
 *
 * @module
 */

import { assembler } from "../../lib/x86/asm/assembler.ts";
import type { Backend } from "../../include/libc/backend.ts";
import { KVM_EXIT_HLT, KVM_EXIT_IO, KVM_EXIT_MMIO } from "../../include/linux/kvm.ts";
import { code_vm, type code_vm_mode, KVM_REGS_NAMES } from "../../sim/testdata/code_vm.ts";
import { Prng } from "./prng.ts";

/** The modes sequences run in. */
export const CODE_MODES: readonly code_vm_mode[] = ["real", "prot16", "prot32", "long"];

/** Where things are in guest memory. */
const ORIGIN = 0x1000;
const SCRATCH = 0x3000;
const GDT = 0x6000;
const IDT = 0x7000;
const STACK_TOP = 0x9000;
const MMIO = 0x200000;
const UNMAPPED = 0x40000000;

/** A generated sequence. */
export interface code_seq {
  /** Its index in the run (the PRNG stream). */
  index: number;
  /** The mode it runs in. */
  mode: code_vm_mode;
  /** The source lines (AT&T). */
  lines: string[];
  /** The assembled image at 0x1000. */
  bytes: Uint8Array;
  /** Handler addresses for the IDT (64-bit mode): vector → address. */
  handlers: Map<number, number>;
  /** Initial register values. */
  regs: Record<string, bigint>;
}

/** What a sequence did on one backend. */
export interface code_result {
  /** One line per exit, the last one with the registers. */
  exits: string[];
  /** Bytes of the scratch area after the run (hex). */
  memory: string;
  /**
   * Whether the run ended on an exit with nothing pending (not at the exit
   * cap in the middle of an I/O or MMIO exit, whose completion KVM would
   * apply to the next sequence).
   */
  clean: boolean;
}

const STATUS_FLAGS = 0x8d5; // OF SF ZF AF PF CF
const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

interface regset {
  /** Register names by size in bytes. */
  names: Record<number, string[]>;
  /** The widest size. */
  wide: number;
  /** The memory base register (fixed at SCRATCH). */
  base: string;
  /** Counter / string registers. */
  cx: string;
  si: string;
  di: string;
  ax: string;
  dx: string;
}

const RS64: regset = {
  names: {
    8: ["%rax", "%rcx", "%rdx", "%rsi", "%rdi", "%rbp", "%r8", "%r9", "%r10", "%r11", "%r12"],
    4: ["%eax", "%ecx", "%edx", "%esi", "%edi", "%ebp", "%r8d", "%r9d", "%r10d", "%r11d"],
    2: ["%ax", "%cx", "%dx", "%si", "%di", "%bp", "%r8w", "%r9w"],
    1: ["%al", "%cl", "%dl", "%sil", "%dil", "%r8b", "%r9b"],
  },
  wide: 8,
  base: "%rbx",
  cx: "%rcx",
  si: "%rsi",
  di: "%rdi",
  ax: "%rax",
  dx: "%rdx",
};

const RS32: regset = {
  names: {
    4: ["%eax", "%ecx", "%edx", "%esi", "%edi", "%ebp"],
    2: ["%ax", "%cx", "%dx", "%si", "%di", "%bp"],
    1: ["%al", "%cl", "%dl", "%ah", "%ch", "%dh"],
  },
  wide: 4,
  base: "%ebx",
  cx: "%ecx",
  si: "%esi",
  di: "%edi",
  ax: "%eax",
  dx: "%edx",
};

const SUFFIX: Record<number, string> = { 1: "b", 2: "w", 4: "l", 8: "q" };

/** The generator of one sequence. */
class gen {
  readonly r: Prng;
  readonly mode: code_vm_mode;
  readonly rs: regset;
  readonly out: string[] = [];
  /** Status flags whose value is undefined now. */
  undef = 0;
  label = 0;
  readonly sizes: number[];
  /** 16-bit default operand and address size (real mode, 16-bit protected mode). */
  readonly code16: boolean;

  constructor(r: Prng, mode: code_vm_mode) {
    this.r = r;
    this.mode = mode;
    this.rs = mode === "long" ? RS64 : RS32;
    this.sizes = mode === "long" ? [1, 2, 4, 8] : [1, 2, 4];
    this.code16 = mode === "real" || mode === "prot16";
  }

  pick<T>(a: readonly T[]): T {
    return a[this.r.below(a.length)]!;
  }

  reg(size: number): string {
    return this.pick(this.rs.names[size]!);
  }

  imm(size: number): string {
    const r = this.r;
    const edge = [0, 1, -1, 0x7f, 0x80, 0x7fff, 0x8000, 0x7fffffff, -0x80000000];
    let v: number;
    if (r.chance(0.3)) v = this.pick(edge);
    else v = r.u32() | 0;
    if (size === 1) v &= 0xff;
    else if (size === 2) v &= 0xffff;
    else if (size === 8) v = v | 0; // a sign-extended imm32
    else v >>>= 0;
    return `$${v < 0 ? "-" + (-v) : v}`;
  }

  mem(): string {
    const off = this.r.below(0x100) & ~(this.r.chance(0.8) ? 7 : 0);
    // Segment overrides (all flat here; ignored for ES/SS/DS in 64-bit mode).
    const seg = this.r.chance(0.15) ? this.pick(["%es:", "%ss:", "%ds:"]) : "";
    return `${seg}${off}(${this.rs.base})`;
  }

  /** A defining CMP when any of `need` is undefined. */
  need(need: number): void {
    if (this.undef & need) this.clean();
  }

  clean(): void {
    const size = this.pick(this.sizes);
    this.emit(`cmp${SUFFIX[size]} ${this.imm(size)}, ${this.reg(size)}`);
    this.undef = 0;
  }

  emit(l: string): void {
    this.out.push(l);
  }

  /** One random instruction (or a short group). */
  step(): void {
    const r = this.r;
    const size = this.pick(this.sizes);
    const sfx = SUFFIX[size]!;
    const k = r.below(116);
    const dst = r.chance(0.25) ? this.mem() : this.reg(size);
    if (k < 22) {
      const op = this.pick(["add", "sub", "adc", "sbb", "cmp", "and", "or", "xor", "test"]);
      if (op === "adc" || op === "sbb") this.need(CF);
      const src = r.chance(0.5) || dst.includes("(") ? this.imm(size) : this.reg(size);
      this.emit(`${op}${sfx} ${src}, ${dst}`);
      this.undef = ["and", "or", "xor", "test"].includes(op) ? AF : 0;
    } else if (k < 30) {
      const op = this.pick(["inc", "dec", "neg", "not"]);
      this.emit(`${op}${sfx} ${dst}`);
      if (op === "neg") this.undef = 0;
      else if (op !== "not") this.undef &= CF;
    } else if (k < 40) {
      const op = this.pick(["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"]);
      const rot = op.startsWith("r");
      if (op === "rcl" || op === "rcr") this.need(CF);
      const bits = size * 8;
      const form = r.below(3);
      if (form === 2) {
        // By CL: the count is not known here, so every status flag becomes undefined.
        this.emit(`${op}${sfx} %cl, ${dst}`);
        this.undef = rot ? this.undef | CF | OF : STATUS_FLAGS;
        return;
      }
      const n = form === 0 ? 1 : r.below(bits === 64 ? 64 : 32);
      this.emit(form === 0 ? `${op}${sfx} ${dst}` : `${op}${sfx} $${n}, ${dst}`);
      const masked = n & (bits === 64 ? 63 : 31);
      if (masked === 0) return;
      if (rot) {
        this.undef &= ~CF;
        this.undef = masked === 1 ? this.undef & ~OF : this.undef | OF;
        // RCL/RCR of 8/16-bit operands rotate by the count modulo 9/17: 0 changes nothing.
        if ((op === "rcl" || op === "rcr") && size <= 2 && masked % (bits + 1) === 0) return;
      } else {
        this.undef = AF | (masked === 1 ? 0 : OF);
        // A count beyond the operand size leaves CF undefined too.
        if (masked > bits) this.undef |= CF;
      }
    } else if (k < 44) {
      if (size === 1) return;
      // SHLD/SHRD of 32-bit registers (the assembler has no mnemonic for them): 0F A4/AC /r ib.
      const n = 1 + r.below(31);
      const regs = [0, 1, 2, 5, 6, 7]; // EAX ECX EDX EBP ESI EDI
      const modrm = 0xc0 | (this.pick(regs) << 3) | this.pick(regs);
      const pre = this.code16 ? "0x66, " : "";
      this.emit(`.byte ${pre}0x0f, ${this.pick([0xa4, 0xac])}, ${modrm}, ${n}`);
      this.undef = AF | (n === 1 ? 0 : OF);
    } else if (k < 50) {
      this.muldiv(size);
    } else if (k < 56) {
      if (size === 1) return;
      const op = this.pick(["bt", "bts", "btr", "btc"]);
      this.emit(`${op}${sfx} $${r.below(size * 8)}, ${dst}`);
      this.undef = (this.undef | OF | SF | AF | PF) & ~CF;
    } else if (k < 59) {
      if (size === 1) return;
      const op = this.pick(["bsf", "bsr"]);
      this.emit(`${op}${sfx} ${r.chance(0.5) ? this.mem() : this.reg(size)}, ${this.reg(size)}`);
      this.undef = (this.undef | CF | OF | SF | AF | PF) & ~ZF;
    } else if (k < 66) {
      if (r.chance(0.2)) {
        // The accumulator with an absolute address: the moffs forms (A0-A3).
        const acc = this.rs.names[size]![0]!;
        const at = SCRATCH + (r.below(0x100) & ~7);
        this.emit(r.chance(0.5) ? `mov${sfx} ${at}, ${acc}` : `mov${sfx} ${acc}, ${at}`);
        return;
      }
      const src = r.chance(0.5) ? this.imm(size) : this.reg(size);
      this.emit(`mov${sfx} ${src}, ${dst}`);
    } else if (k < 69) {
      if (size === 1 || r.chance(0.5)) {
        const from = this.pick([1, 2].filter((x) => x < this.rs.wide));
        const to = this.pick(this.sizes.filter((x) => x > from));
        const op = this.pick(["movz", "movs"]);
        this.emit(`${op}${SUFFIX[from]}${SUFFIX[to]} ${this.mem()}, ${this.reg(to)}`);
      } else {
        this.emit(
          `lea${sfx} ${r.below(0x1000)}(${this.rs.base},${this.reg(this.rs.wide)},${
            this.pick([1, 2, 4, 8])
          }), ${this.reg(size)}`,
        );
      }
    } else if (k < 73) {
      const op = this.pick(["xchg", "xadd", "cmpxchg"]);
      const lock = dst.includes("(") && op !== "xchg" && r.chance(0.5) ? "lock " : "";
      this.emit(`${lock}${op}${sfx} ${this.reg(size)}, ${dst}`);
      if (op !== "xchg") this.undef = 0;
    } else if (k < 77) {
      this.need(STATUS_FLAGS);
      const cc = this.pick([
        "o",
        "no",
        "b",
        "ae",
        "e",
        "ne",
        "be",
        "a",
        "s",
        "ns",
        "p",
        "np",
        "l",
        "ge",
        "le",
        "g",
      ]);
      if (size === 1 || r.chance(0.5)) {
        this.emit(`set${cc} ${r.chance(0.3) ? this.mem() : this.reg(1)}`);
      } else {this.emit(
          `cmov${cc}${sfx} ${r.chance(0.3) ? this.mem() : this.reg(size)}, ${this.reg(size)}`,
        );}
    } else if (k < 81) {
      this.stack(size);
    } else if (k < 86) {
      this.string(size);
    } else if (k < 90) {
      this.io(size);
    } else if (k < 92) {
      // MMIO: one exit per access, with the width and data (beyond real mode's 64 KiB).
      if (this.code16) return;
      const a = MMIO + (r.below(0x100) & ~7);
      if (r.chance(0.5)) this.emit(`mov${sfx} ${this.reg(size)}, ${a}`);
      else this.emit(`mov${sfx} ${a}, ${this.reg(size)}`);
    } else if (k < 94) {
      if (r.chance(0.5)) {
        // CPUID: the vendor's leaves differ by design; only that it exits is compared.
        this.emit(`movl $${this.pick([0, 1, 7, 0x80000000, 0x80000001])}, %eax`);
        this.emit("xorl %ecx, %ecx");
        this.emit("cpuid");
        for (const x of ["%eax", "%ebx", "%ecx", "%edx"]) this.emit(`xorl ${x}, ${x}`);
        this.emit(`mov${this.rs.wide === 8 ? "q" : "l"} $${SCRATCH}, ${this.rs.base}`);
        this.undef = AF;
      } else {
        this.emit("movl $0xc0000080, %ecx");
        this.emit("rdmsr");
      }
    } else if (k < 97) {
      this.far();
    } else if (k < 100) {
      this.fault();
    } else {
      this.misc(size);
    }
  }

  /** Branches, conversions, BSWAP, XLAT, LAHF/SAHF, ENTER/LEAVE, PUSHA, segment pushes, INS/OUTS. */
  misc(size: number): void {
    const r = this.r;
    const rs = this.rs;
    const w = rs.wide;
    const l = ++this.label;
    switch (r.below(10)) {
      case 0: {
        this.need(STATUS_FLAGS);
        const cc = this.pick([
          "o",
          "no",
          "b",
          "ae",
          "e",
          "ne",
          "be",
          "a",
          "s",
          "ns",
          "p",
          "np",
          "l",
          "ge",
          "le",
          "g",
        ]);
        this.emit(`j${cc} f${l}`);
        this.emit(`inc${SUFFIX[w]} ${this.reg(w)}`);
        this.emit(`f${l}:`);
        this.undef = STATUS_FLAGS; // INC on one path only
        return;
      }
      case 1: {
        this.emit(`mov${SUFFIX[w]} $${r.below(4)}, ${rs.cx}`);
        const op = this.pick(["loop", this.mode === "long" ? "jrcxz" : "jecxz"]);
        if (this.code16 && op !== "loop") this.emit(`jcxz f${l}`);
        else this.emit(`${op} f${l}`);
        this.emit(`not${SUFFIX[w]} ${this.reg(w)}`);
        this.emit(`f${l}:`);
        return;
      }
      case 2:
        if (size >= 4) {
          // BSWAP (0F C8+r; REX.W for 64 bits) of EAX ECX EDX EBP ESI EDI.
          const p = size === 8 ? "0x48, " : this.code16 ? "0x66, " : "";
          this.emit(`.byte ${p}0x0f, ${0xc8 + this.pick([0, 1, 2, 5, 6, 7])}`);
        } else {this.emit(
            this.pick(["cbtw", "cwtl", "cwtd", "cltd"].concat(w === 8 ? ["cltq", "cqto"] : [])),
          );}
        return;
      case 3:
        this.emit(".byte 0xd7"); // XLAT
        return;
      case 4:
        if (this.mode === "long") return;
        this.need(STATUS_FLAGS);
        this.emit("lahf");
        this.emit(`xorb $${r.below(256)}, %ah`);
        this.emit("sahf");
        this.undef &= OF;
        return;
      case 5:
        this.emit(`enter $${r.below(64)}, $0`);
        // Real mode addresses the frame through BP (EBP's upper half is not the frame's).
        if (this.code16) this.emit(`movw ${this.reg(2)}, -2(%bp)`);
        else {
          this.emit(
            `mov${SUFFIX[w]} ${this.reg(w)}, ${this.mode === "long" ? "-8(%rbp)" : "-4(%ebp)"}`,
          );
        }
        this.emit("leave");
        return;
      case 6:
        if (this.mode === "long") return;
        // PUSHA/POPA (no mnemonic in the assembler): 60/61, 0x66 for the other size.
        if (r.chance(0.5)) {
          const p = this.code16 ? "0x66, " : "";
          this.emit(`.byte ${p}0x60`);
          this.emit(`notl ${this.reg(4)}`);
          this.emit(`.byte ${p}0x61`);
        } else {
          const p = this.code16 ? "" : "0x66, ";
          this.emit(`.byte ${p}0x60`);
          this.emit(`notw ${this.reg(2)}`);
          this.emit(`.byte ${p}0x61`);
        }
        return;
      case 7:
        if (this.mode === "long") return;
        this.emit(`push${this.code16 ? "w" : "l"} %ds`);
        this.emit(`pop${this.code16 ? "w" : "l"} %es`);
        return;
      default: {
        // INS/OUTS, with or without REP, through the exit paths shared with IN/OUT.
        const sz = this.pick([1, 2, 4]);
        const mv = w === 8 ? "movq" : "movl";
        this.emit(`movw $${0x80 + r.below(0x20)}, %dx`);
        this.emit(`${mv} $${SCRATCH + 0x400}, ${rs.di}`);
        this.emit(`${mv} $${SCRATCH + 0x100}, ${rs.si}`);
        this.emit(`${mv} $${r.below(5)}, ${rs.cx}`);
        const rep = r.chance(0.7) ? "rep " : "";
        this.emit(`${rep}${this.pick(["ins", "outs"])}${SUFFIX[sz]}`);
      }
    }
  }

  muldiv(size: number): void {
    const r = this.r;
    const sfx = SUFFIX[size]!;
    const op = this.pick(["mul", "imul", "imul2", "imul3", "div", "idiv"]);
    if (op === "mul" || op === "imul") {
      this.emit(`${op}${sfx} ${r.chance(0.3) ? this.mem() : this.reg(size)}`);
      this.undef = SF | ZF | AF | PF;
      return;
    }
    if (op === "imul2" || op === "imul3") {
      if (size === 1) return;
      if (op === "imul2") this.emit(`imul${sfx} ${this.reg(size)}, ${this.reg(size)}`);
      else this.emit(`imul${sfx} ${this.imm(size)}, ${this.reg(size)}, ${this.reg(size)}`);
      this.undef = SF | ZF | AF | PF;
      return;
    }
    // The divisor is the CX register of the size; mostly the dividend's upper half is
    // the sign or zero and the divisor has bit 1 set, so the quotient fits; otherwise
    // #DE may be raised (64-bit mode resumes after it, the other modes halt in the
    // handler of the IVT or the 32-bit IDT).
    const rs = this.rs;
    const divisor = rs.names[size]![1]!;
    if (this.r.chance(this.mode === "long" ? 0.8 : 0.9)) {
      if (size === 1) this.emit(op === "div" ? "movb $0, %ah" : "cbtw");
      else if (op === "div") this.emit(`xor${sfx} ${rs.names[size]![2]}, ${rs.names[size]![2]}`);
      else this.emit(size === 2 ? "cwtd" : size === 4 ? "cltd" : "cqto");
      this.emit(`or${sfx} $2, ${divisor}`);
    }
    this.emit(`${op}${sfx} ${divisor}`);
    this.undef = STATUS_FLAGS;
  }

  stack(size: number): void {
    const r = this.r;
    const w = this.rs.wide;
    if (size === 1) size = w;
    if (this.mode === "long" && size === 4) size = 8;
    const sfx = SUFFIX[size]!;
    const kind = r.below(4);
    if (kind === 0) {
      this.emit(`push${sfx} ${this.reg(size)}`);
      this.emit(`pop${sfx} ${this.reg(size)}`);
    } else if (kind === 1) {
      this.emit(`push${sfx} ${this.imm(size)}`);
      this.emit(`pop${sfx} ${this.mem()}`);
    } else if (kind === 2) {
      this.need(STATUS_FLAGS);
      this.emit(`pushf${w === 8 ? "q" : size === 2 ? "w" : "l"}`);
      this.emit(
        `pop${w === 8 ? "q" : size === 2 ? "w" : "l"} ${
          this.reg(w === 8 ? 8 : size === 2 ? 2 : 4)
        }`,
      );
    } else {
      const l = ++this.label;
      this.emit(`call c${l}`);
      this.emit(`jmp d${l}`);
      this.emit(`c${l}: add${SUFFIX[w]} ${this.imm(1)}, ${this.reg(w)}`);
      this.emit(`ret${w === 8 ? "q" : ""}`);
      this.emit(`d${l}:`);
      this.undef = 0;
    }
  }

  string(size: number): void {
    const r = this.r;
    const sfx = SUFFIX[size]!;
    const rs = this.rs;
    const mv = rs.wide === 8 ? "movq" : "movl";
    const down = r.chance(0.2);
    const n = r.below(9);
    this.emit(`${mv} $${SCRATCH + 0x100 + (down ? 0x100 : 0)}, ${rs.si}`);
    this.emit(`${mv} $${SCRATCH + 0x300 + (down ? 0x100 : 0)}, ${rs.di}`);
    this.emit(`${mv} $${n}, ${rs.cx}`);
    if (down) this.emit("std");
    const op = this.pick(["movs", "stos", "lods", "cmps", "scas"]);
    const rep = op === "cmps" || op === "scas"
      ? this.pick(["repe ", "repne ", ""])
      : this.pick(["rep ", ""]);
    if (rep === "" && op === "lods") this.emit(`lods${sfx}`);
    else this.emit(`${rep}${op}${sfx}`);
    if (down) this.emit("cld");
    if (op === "cmps" || op === "scas") this.undef = rep ? STATUS_FLAGS : 0;
  }

  io(size: number): void {
    const r = this.r;
    if (size === 8) size = 4;
    const a = size === 1 ? "%al" : size === 2 ? "%ax" : "%eax";
    const port = 0x80 + r.below(0x20);
    const kind = r.below(4);
    if (kind === 0) this.emit(`out ${a}, $${port}`);
    else if (kind === 1) this.emit(`in $${port}, ${a}`);
    else {
      this.emit(`movw $${port}, %dx`);
      this.emit(kind === 2 ? `out ${a}, %dx` : `in %dx, ${a}`);
    }
  }

  far(): void {
    const l = ++this.label;
    if (this.mode === "real") {
      this.emit(`ljmp $0, $f${l}`);
      this.emit(`f${l}:`);
    } else if (this.mode === "prot32" || this.mode === "prot16") {
      // The code segment of the mode: 0x08 (32-bit) or 0x18 (16-bit).
      this.emit(`ljmp $${this.mode === "prot16" ? "0x18" : "0x8"}, $f${l}`);
      this.emit(`f${l}: movw $0x10, %ax`);
      this.emit("movw %ax, %ds");
    } else {
      this.emit("pushq $0x8");
      this.emit(`leaq f${l}(%rip), %r14`);
      this.emit("pushq %r14");
      this.emit("lretq");
      this.emit(`f${l}:`);
    }
  }

  fault(): void {
    if (this.mode !== "long") return this.far();
    const l = ++this.label;
    const kind = this.r.below(3);
    this.emit(`leaq f${l}(%rip), %r15`);
    if (kind === 0) {
      this.emit(`movq $${UNMAPPED + (this.r.below(0x1000) & ~7)}, %r14`);
      this.emit(this.r.chance(0.5) ? "movq (%r14), %rax" : "movl %ecx, (%r14)");
    } else if (kind === 1) {
      this.emit("movabsq $0x8000000000000000, %r14");
      this.emit("movq (%r14), %rax");
    } else {
      this.emit("xorl %ecx, %ecx");
      this.emit("divl %ecx");
    }
    this.emit(`f${l}:`);
    this.undef = STATUS_FLAGS;
  }
}

/**
 * The fixed part of a sequence: exception handlers. In 64-bit mode #DE, #GP
 * and #PF report (vector, error code, CR2) and resume at R15, once; every other
 * vector, and any exception in the other modes, reports and halts, so that a
 * fault ends the run with an exit on both backends instead of looping.
 */
function handler_lines(mode: code_vm_mode): string[] {
  const h: string[] = [];
  const a = mode === "real" ? "%ax" : "%eax";
  h.push("hx:");
  h.push(`mov${mode === "real" ? "w" : "l"} $0xeeee, ${a}`);
  h.push(`out ${a}, $0xa0`);
  // The flags of a faulting DIV are undefined: define them before the final HLT.
  h.push(`cmp ${a}, ${a}`);
  h.push("hlt");
  if (mode !== "long") return h;
  for (const [v, ec] of [[0, false], [13, true], [14, true]] as const) {
    h.push(`h${v}:`);
    h.push(`movl $${v}, %eax`);
    h.push("outl %eax, $0xa0");
    if (ec) {
      h.push("movl (%rsp), %eax");
      h.push("outl %eax, $0xa1");
    }
    if (v === 14) {
      h.push("movq %cr2, %rax");
      h.push("outl %eax, $0xa2");
    }
    // The interrupted RSP is in the frame: restore it and resume. R15 then
    // points at the halting handler: a later fault that no fault() step set
    // up (a random DIV's #DE) would otherwise resume at this label again,
    // run the same code into the same fault, and loop until the exit cap
    // (each turn a KVM_RUN, 1-4 ms on a PVM host in 64-bit mode).
    h.push(`movq ${ec ? 32 : 24}(%rsp), %rsp`);
    h.push("movq %r15, %rax");
    h.push("leaq hx(%rip), %r15");
    h.push("jmp *%rax");
  }
  return h;
}

/** Generates sequence `index` of a run with `seed`. */
export function gen_code(seed: number, index: number, length = 24): code_seq {
  const r = new Prng(seed, index);
  const mode = CODE_MODES[r.below(CODE_MODES.length)]!;
  const g = new gen(r, mode);
  const n = Math.max(4, length + r.below(length));
  for (let i = 0; i < n; i++) g.step();
  g.clean();
  g.emit("hlt");
  const lines = [mode === "long" ? ".code64" : mode === "prot32" ? ".code32" : ".code16"];
  lines.push(...g.out);
  lines.push(...handler_lines(mode));
  const a = assembler({ origin: ORIGIN });
  for (const l of lines) a.line(l);
  const obj = a.assemble();
  const label = (name: string): number => {
    const at = obj.labels.get(name);
    if (at === undefined) throw new Error(`code: no handler label ${name}`);
    return Number(at);
  };
  const handlers = new Map<number, number>();
  for (let v = 0; v < (mode === "real" ? 256 : 32); v++) {
    handlers.set(v, label(mode === "long" && (v === 0 || v === 13 || v === 14) ? `h${v}` : "hx"));
  }
  const regs: Record<string, bigint> = {};
  for (const k of ["rax", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12"]) {
    const v = (BigInt(r.u32()) << 32n) | BigInt(r.u32());
    regs[k] = mode === "long" ? v : v & 0xffffffffn;
  }
  regs.rbx = BigInt(SCRATCH);
  regs.rsp = BigInt(STACK_TOP);
  // A fault before any fault() step reports and halts too.
  if (mode === "long") regs.r15 = BigInt(label("hx"));
  return { index, mode, lines, bytes: obj.bytes, handlers, regs };
}

/** The GDT of 32-bit and 64-bit sequences: null, code (0x08), data (0x10). */
function write_tables(vm: code_vm, seq: code_seq): void {
  const dv = new DataView(vm.ram.buffer, vm.ram.byteOffset, vm.ram.byteLength);
  dv.setBigUint64(GDT + 8, seq.mode === "long" ? 0x00af9b000000ffffn : 0x00cf9b000000ffffn, true);
  dv.setBigUint64(GDT + 24, 0x008f9b000000ffffn, true); // 16-bit code, 4 GiB
  dv.setBigUint64(GDT + 16, 0x00cf93000000ffffn, true);
  for (const [v, at] of seq.handlers) {
    if (seq.mode === "real") {
      // The IVT at 0: offset, segment 0.
      dv.setUint32(v * 4, at & 0xffff, true);
      continue;
    }
    // 64-bit gates are 16 bytes, 32-bit ones 8 (both interrupt gates, CS 0x08).
    const g = IDT + v * (seq.mode === "long" ? 16 : 8);
    dv.setUint32(g, (at & 0xffff) | ((seq.mode === "prot16" ? 0x18 : 0x8) << 16), true);
    dv.setUint32(g + 4, (at & 0xffff0000) | 0x8e00, true);
    if (seq.mode === "long") {
      dv.setUint32(g + 8, 0, true);
      dv.setUint32(g + 12, 0, true);
    }
  }
}

/** IN data and MMIO read data: a function of the access, the same on both backends. */
function fill_for(port_or_addr: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((port_or_addr * 37 + i * 11 + 5) & 0xff);
  return out;
}

function hex(a: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < a.length; i++) s += a[i]!.toString(16).padStart(2, "0");
  return s;
}

/** Runs `seq` on `vm` (reset for it) until HLT or another exit; at most 200 exits. */
export function run_code(vm: code_vm, seq: code_seq): code_result {
  vm.ram.fill(0, 0, 0x10000);
  vm.load(ORIGIN, seq.bytes);
  vm.write_page_tables();
  for (let i = 0; i < 0x100; i++) vm.ram[SCRATCH + i] = (i * 7 + 3) & 0xff;
  write_tables(vm, seq);
  vm.set_mode(seq.mode, ORIGIN, seq.regs, {
    gdt: [GDT, 31],
    idt: seq.mode === "real" ? [0, 0x3ff] : [IDT, (seq.mode === "long" ? 16 : 8) * 32 - 1],
  });
  const exits: string[] = [];
  let clean = false;
  for (let i = 0; i < 200; i++) {
    const e = vm.step();
    if (e.ret !== 0) {
      exits.push(`KVM_RUN ${e.ret}`);
      break;
    }
    if (e.reason === KVM_EXIT_IO) {
      const io = e.io!;
      exits.push(
        `io ${io.direction ? "out" : "in"} ${
          io.port.toString(16)
        } size ${io.size} count ${io.count}` +
          (io.direction ? ` ${hex(io.data)}` : ""),
      );
      if (!io.direction) vm.set_io_data(fill_for(io.port, io.size * io.count));
      continue;
    }
    if (e.reason === KVM_EXIT_MMIO) {
      const m = e.mmio!;
      exits.push(
        `mmio ${m.is_write ? "write" : "read"} ${m.phys_addr.toString(16)} len ${m.len}` +
          (m.is_write ? ` ${hex(m.data)}` : ""),
      );
      if (!m.is_write) vm.run.mmio.data.$bytes.set(fill_for(Number(m.phys_addr), 8));
      continue;
    }
    exits.push(`exit ${e.reason}`);
    clean = true;
    if (e.reason === KVM_EXIT_HLT) {
      // RF (bit 16) is the processor's own; not compared.
      exits.push(
        KVM_REGS_NAMES.map((k) =>
          `${k}=${(k === "rflags" ? e.regs[k]! & ~0x10000n : e.regs[k]!).toString(16)}`
        ).join(" "),
      );
    }
    break;
  }
  // Memory below the stack pointer is not compared: the frames exceptions leave there are
  // the CPU's, and the CI host (PVM) writes frames of its own there too.
  const memory = hex(vm.ram.subarray(SCRATCH, SCRATCH + 0x500));
  return { exits, memory, clean };
}

/** One disagreement: the group key and the sequence. */
export interface code_difference {
  /** The group: mode and the first differing item. */
  key: string;
  /** The sequence index. */
  index: number;
  /** The two sides' first differing line. */
  a: string;
  b: string;
}

/** Compares two results; null when they agree. */
export function compare_code(
  seq: code_seq,
  a: code_result,
  b: code_result,
): code_difference | null {
  const n = Math.max(a.exits.length, b.exits.length);
  for (let i = 0; i < n; i++) {
    const x = a.exits[i] ?? "(none)";
    const y = b.exits[i] ?? "(none)";
    if (x === y) continue;
    const what = x.startsWith("rax=") && y.startsWith("rax=")
      ? "registers " + reg_diff(x, y)
      : `${x.split(" ").slice(0, 2).join(" ")} vs ${y.split(" ").slice(0, 2).join(" ")}`;
    return { key: `${seq.mode}: ${what}`, index: seq.index, a: x, b: y };
  }
  if (a.memory !== b.memory) {
    return { key: `${seq.mode}: memory`, index: seq.index, a: a.memory, b: b.memory };
  }
  return null;
}

function reg_diff(x: string, y: string): string {
  const xs = x.split(" ");
  const ys = y.split(" ");
  return xs.filter((v, i) => v !== ys[i]).map((v) => v.split("=")[0]).join(",");
}

/** Options of {@linkcode check_code}. */
export interface code_check_options {
  seed: number;
  count: number;
  a: Backend;
  b: Backend;
  /** Instructions per sequence (about; default 24). */
  length?: number;
}

/** The result of a run. */
export interface code_report {
  seed: number;
  sequences: number;
  agreed: number;
  /** Disagreements grouped by key, with the first sequence of each. */
  groups: { key: string; count: number; first: code_difference }[];
}

/** Runs `count` sequences of `seed` on both backends and groups the disagreements. */
export function check_code(o: code_check_options): code_report {
  const vms = new Map<string, [code_vm, code_vm]>();
  const groups = new Map<string, { key: string; count: number; first: code_difference }>();
  let agreed = 0;
  try {
    for (let i = 0; i < o.count; i++) {
      const seq = gen_code(o.seed, i, o.length);
      let pair = vms.get(seq.mode);
      if (!pair) {
        pair = [new code_vm(o.a), new code_vm(o.b)];
        vms.set(seq.mode, pair);
      }
      const ra = run_code(pair[0], seq);
      const rb = run_code(pair[1], seq);
      if (!ra.clean || !rb.clean) {
        // Something may be pending in the vCPU: the next sequence gets fresh ones.
        pair[0][Symbol.dispose]();
        pair[1][Symbol.dispose]();
        vms.delete(seq.mode);
      }
      const d = compare_code(seq, ra, rb);
      if (!d) {
        agreed++;
        continue;
      }
      const g = groups.get(d.key);
      if (g) g.count++;
      else groups.set(d.key, { key: d.key, count: 1, first: d });
    }
  } finally {
    for (const [x, y] of vms.values()) {
      x[Symbol.dispose]();
      y[Symbol.dispose]();
    }
  }
  return {
    seed: o.seed,
    sequences: o.count,
    agreed,
    groups: [...groups.values()].sort((x, y) => y.count - x.count),
  };
}

/** A readable report. */
export function format_code_report(r: code_report): string {
  const lines = [
    `code: seed ${r.seed}, ${r.sequences} sequences, ${r.agreed} agree (${
      (100 * r.agreed / Math.max(1, r.sequences)).toFixed(2)
    }%)`,
  ];
  for (const g of r.groups) {
    lines.push(`  ${g.count} x ${g.key}   (first: --code --index ${g.first.index})`);
    lines.push(`      a: ${g.first.a.slice(0, 200)}`);
    lines.push(`      b: ${g.first.b.slice(0, 200)}`);
  }
  return lines.join("\n");
}
