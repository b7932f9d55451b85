// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest intrinsics: the privileged instructions and memory accesses guest
 * TypeScript executes on the simulated CPU. Each call is **one instruction**:
 * it takes effect, or exits to the kernel (blocks until the vCPU is resumed),
 * or raises an exception that is delivered through the guest IDT (see
 * `events.ts`, "skip or retry"; the `*_safe` forms return the vector instead).
 *
 * Types: 64-bit registers, MSR values and control registers are `bigint`;
 * ports, sizes, vectors and 8/16/32-bit data are `number`. Guest pointers
 * (GVAs) are `number | bigint` (a `number` must be a non-negative integer
 * below 2^53; canonical upper-half addresses need `bigint`).
 *
 * Port I/O takes the port first (`outb(port, value)`), as the selftests'
 * inline-asm helpers do. Memory accessors use Linux's MMIO accessor names
 * and argument order: `readb/readw/readl/readq(addr)`,
 * `writeb/writew/writel/writeq(value, addr)`; they are the TypeScript spelling
 * of `READ_ONCE(*(u64 *)p)` / `WRITE_ONCE(*(u64 *)p, v)` for any guest
 * memory, RAM or MMIO.
 *
 * Register side effects follow the instruction encodings the intrinsics
 * stand for: `out dx, al` puts the port in DX and the data in AL, `rdmsr`
 * the index in ECX and the result in EDX:EAX, and so on, because the kernel
 * reads and writes them there. `reg_write()` / `reg_read()` stand for asm
 * register constraints (upstream's ucall passes the ucall pointer in RDI).
 *
 * Instruction lengths (what `exit_instruction_len` reports, and what a
 * handler adds to `regs.rip` to skip): `in`/`out` 1, `ins`/`outs` with REP 2,
 * `rdmsr`/`wrmsr`/`cpuid`/`rdtsc`/`ud2`/`pause` 2, `hlt`/`int3`/`cli`/`sti` 1,
 * `vmcall`/MOV CR/`invlpg`/`lgdt`... 3, `tdcall` 4, memory `mov` 3.
 *
 * Calling an intrinsic outside a vCPU worker throws.
 *
 * @module
 */

import { type tdx_module_args, TDX_MODULE_ARGS_REGS } from "../../include/x86/tdx/tdcall.ts";
import {
  atomic_byte,
  call_gva,
  cr4_lo,
  cr_get,
  cr_store,
  cs_l,
  dtable_get,
  dtable_set,
  efer_get,
  efer_lme,
  get_cpl,
  in_long_mode,
  in_protected_mode,
  io_data,
  is_td,
  jump_to,
  kvm_asm_safe,
  kvm_asm_safe_error_code,
  load_segment,
  raise,
  raise_trap,
  raise_ve,
  read64_slow,
  read_slow,
  read_tsc,
  reg_get,
  reg_lo,
  reg_set,
  reg_set_pair,
  reg_set_sized,
  RESUME_RETRY,
  rflags,
  rip_get,
  seg_selector,
  set_io_count,
  set_lma,
  set_rflags,
  set_sti_blocking,
  sync_mode,
  tick,
  tick_n,
  tsc_words,
  vmexit,
  write64_slow,
  write_slow,
  xcr0_get,
} from "./cpu.ts";
import { tlb, tlb_flush, tlb_flush_page, TLB_P_R, TLB_P_W } from "./mmu.ts";
import {
  BP_VECTOR,
  EXIT_REASON_CPUID,
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_TDCALL,
  EXIT_REASON_VMCALL,
  EXIT_REASON_WBINVD,
  EXIT_REASON_XSETBV,
  GP_VECTOR,
  IO_QUAL_IN,
  IO_QUAL_PORT_SHIFT,
  IO_QUAL_REP,
  IO_QUAL_STRING,
  UD_VECTOR,
  VCPU_REGS_RAX,
  VCPU_REGS_RBX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
  X86_CR0_CD,
  X86_CR0_ET,
  X86_CR0_NW,
  X86_CR0_PE,
  X86_CR0_PG,
  X86_CR4_LA57,
  X86_CR4_PAE,
  X86_EFLAGS_IF,
  X86_EFLAGS_IOPL,
} from "./vmx.ts";

export { kvm_asm_safe, kvm_asm_safe_error_code };
export { ex_regs, type ex_regs_view } from "./ex_regs.ts";

/** A guest pointer. */
export type gva_t = number | bigint;

const TWO32 = 4294967296;
let A_HI = 0;
let A_LO = 0;

/** Splits a guest pointer into the halves the MMU works on. */
function addr(gva: gva_t): void {
  if (typeof gva === "number") {
    A_LO = gva >>> 0;
    A_HI = Math.floor(gva / TWO32) >>> 0;
  } else if (gva >= 0n && gva <= 0x1fffffffffffffn) {
    const n = Number(gva);
    A_LO = n >>> 0;
    A_HI = Math.floor(n / TWO32);
  } else {
    const u = BigInt.asUintN(64, gva);
    A_HI = Number(u >> 32n);
    A_LO = Number(u & 0xffffffffn);
  }
}

function add(gva: gva_t, n: number): gva_t {
  return typeof gva === "number" ? gva + n : gva + BigInt(n);
}

// ---------------------------------------------------------------------------
// Memory.

/** Reads a byte of guest memory. */
export function readb(gva: gva_t): number {
  tick();
  addr(gva);
  const i = (A_LO >>> 12) & tlb.mask;
  if (tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_R) !== 0) {
    return tlb.dv[i]!.getUint8(tlb.off[i]! + (A_LO & 0xfff));
  }
  return read_slow(A_HI, A_LO, 1);
}

/** Reads 2 bytes of guest memory. */
export function readw(gva: gva_t): number {
  tick();
  addr(gva);
  const o = A_LO & 0xfff;
  const i = (A_LO >>> 12) & tlb.mask;
  if (
    o <= 4094 && tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_R) !== 0
  ) {
    return tlb.dv[i]!.getUint16(tlb.off[i]! + o, true);
  }
  return read_slow(A_HI, A_LO, 2);
}

/** Reads 4 bytes of guest memory. */
export function readl(gva: gva_t): number {
  tick();
  addr(gva);
  const o = A_LO & 0xfff;
  const i = (A_LO >>> 12) & tlb.mask;
  if (
    o <= 4092 && tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_R) !== 0
  ) {
    return tlb.dv[i]!.getUint32(tlb.off[i]! + o, true);
  }
  return read_slow(A_HI, A_LO, 4);
}

/** Reads 8 bytes of guest memory. */
export function readq(gva: gva_t): bigint {
  tick();
  addr(gva);
  const o = A_LO & 0xfff;
  const i = (A_LO >>> 12) & tlb.mask;
  if (
    o <= 4088 && tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_R) !== 0
  ) {
    return tlb.dv[i]!.getBigUint64(tlb.off[i]! + o, true);
  }
  return read64_slow(A_HI, A_LO);
}

/** Writes a byte of guest memory. */
export function writeb(value: number, gva: gva_t): void {
  tick();
  addr(gva);
  const i = (A_LO >>> 12) & tlb.mask;
  if (tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_W) !== 0) {
    tlb.dv[i]!.setUint8(tlb.off[i]! + (A_LO & 0xfff), value);
    return;
  }
  write_slow(A_HI, A_LO, 1, value & 0xff);
}

/** Writes 2 bytes of guest memory. */
export function writew(value: number, gva: gva_t): void {
  tick();
  addr(gva);
  const o = A_LO & 0xfff;
  const i = (A_LO >>> 12) & tlb.mask;
  if (
    o <= 4094 && tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_W) !== 0
  ) {
    tlb.dv[i]!.setUint16(tlb.off[i]! + o, value, true);
    return;
  }
  write_slow(A_HI, A_LO, 2, value & 0xffff);
}

/** Writes 4 bytes of guest memory. */
export function writel(value: number, gva: gva_t): void {
  tick();
  addr(gva);
  const o = A_LO & 0xfff;
  const i = (A_LO >>> 12) & tlb.mask;
  if (
    o <= 4092 && tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_W) !== 0
  ) {
    tlb.dv[i]!.setUint32(tlb.off[i]! + o, value, true);
    return;
  }
  write_slow(A_HI, A_LO, 4, value >>> 0);
}

/** Writes 8 bytes of guest memory. */
export function writeq(value: bigint, gva: gva_t): void {
  tick();
  addr(gva);
  const o = A_LO & 0xfff;
  const i = (A_LO >>> 12) & tlb.mask;
  if (
    o <= 4088 && tlb.tag[i] === A_HI * 1048576 + (A_LO >>> 12) && (tlb.perm[i]! & TLB_P_W) !== 0
  ) {
    tlb.dv[i]!.setBigUint64(tlb.off[i]! + o, value, true);
    return;
  }
  write64_slow(A_HI, A_LO, BigInt.asUintN(64, value));
}

/** Copies `n` bytes of guest memory from `src` to `dst` (byte by byte, as `rep movsb`). */
export function memcpy(dst: gva_t, src: gva_t, n: number): void {
  for (let i = 0; i < n; i++) writeb(readb(add(src, i)), add(dst, i));
}

// The block operations below run as their byte loops would, one page at a
// time: the first byte of each page goes through the ordinary access (the
// walk, A/D bits, dirty logging, a fault and its handler, MMIO), and when the
// TLB then maps the page for the access, the rest of the page's bytes are
// one copy. A page the TLB does not map that way (MMIO, a write-protected
// page) goes on byte by byte. A 2 MiB memset was 2 million intrinsic calls
// and 4 million bigints.

/** Bytes left in the page of `gva` (at most `n`); leaves `gva` split in A_HI/A_LO. */
function page_chunk(gva: gva_t, n: number): number {
  addr(gva);
  return Math.min(n, 4096 - (A_LO & 0xfff));
}

/**
 * The host bytes of the `n` bytes at A_HI:A_LO (within one page) if the TLB
 * maps the page with permission `perm`, else null. The caller counted the
 * bytes' instructions first: a tick may have changed the memory map.
 */
function tlb_bytes(perm: number, n: number): Uint8Array | null {
  const i = (A_LO >>> 12) & tlb.mask;
  if (tlb.tag[i] !== A_HI * 1048576 + (A_LO >>> 12) || (tlb.perm[i]! & perm) === 0) return null;
  const dv = tlb.dv[i]!;
  return new Uint8Array(dv.buffer, dv.byteOffset + tlb.off[i]! + (A_LO & 0xfff), n);
}

/**
 * A block access of `n` bytes at `gva`, a page at a time: `one(at, k)`
 * accesses byte `k` at `at` as the byte loop would; once the first byte of a
 * page is done and the TLB maps the page with `perm`, `rest(host, k)` does
 * the page's other bytes on `host`, the page's bytes from byte `k` on.
 */
function by_page(
  gva: gva_t,
  n: number,
  perm: number,
  one: (at: gva_t, k: number) => void,
  rest: (host: Uint8Array, k: number) => void,
): void {
  for (let done = 0; done < n;) {
    const at = add(gva, done);
    const len = page_chunk(at, n - done);
    one(at, done);
    let i = 1;
    if (len > 1) {
      tick_n(len - 1);
      addr(at);
      const host = tlb_bytes(perm, len);
      if (host) {
        rest(host, done);
        i = len;
      }
    }
    for (; i < len; i++) one(add(at, i), done + i);
    done += len;
  }
}

/** Fills `n` bytes of guest memory at `dst` with byte `c` (`rep stosb`). */
export function memset(dst: gva_t, c: number, n: number): void {
  by_page(dst, n, TLB_P_W, (at) => writeb(c, at), (host) => host.fill(c, 1));
}

/** Reads `n` bytes of guest memory into a new JavaScript array. */
export function read_bytes(gva: gva_t, n: number): Uint8Array {
  const out = new Uint8Array(n);
  by_page(gva, n, TLB_P_R, (at, k) => {
    out[k] = readb(at);
  }, (host, k) => out.set(host.subarray(1), k + 1));
  return out;
}

/** Writes `bytes` to guest memory at `gva`. */
export function write_bytes(gva: gva_t, bytes: Uint8Array): void {
  by_page(
    gva,
    bytes.length,
    TLB_P_W,
    (at, k) => writeb(bytes[k]!, at),
    (host, k) => host.set(bytes.subarray(k + 1, k + host.length), 1),
  );
}

// ---------------------------------------------------------------------------
// Registers (asm constraints).

/** Reads GPR `reg` (`VCPU_REGS_*`). */
export function reg_read(reg: number): bigint {
  tick();
  return reg_get(reg);
}

/** Writes GPR `reg` (`VCPU_REGS_*`). */
export function reg_write(reg: number, value: bigint): void {
  tick();
  reg_set(reg, value);
}

// ---------------------------------------------------------------------------
// Port I/O.

function io_allowed(): boolean {
  // CPL > IOPL: the TSS I/O bitmap is not modelled, so the access faults.
  return get_cpl() <= ((rflags() & X86_EFLAGS_IOPL) >>> 12);
}

/**
 * The IN/OUT exit path, shared by the intrinsics and the machine-code
 * interpreter: #GP above IOPL, `EXIT_REASON_IO_INSTRUCTION` (#VE in a TD)
 * with the instruction's length `len`; the operands are already in place
 * (AL/AX/EAX for OUT). A retried instruction exits again.
 */
export function exit_io(port: number, size: number, is_in: boolean, len: number): void {
  for (;;) {
    tick();
    if (!io_allowed()) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    const qual =
      ((size - 1) | (is_in ? IO_QUAL_IN : 0) | ((port & 0xffff) << IO_QUAL_PORT_SHIFT)) >>>
      0;
    const r = is_td()
      ? raise_ve(EXIT_REASON_IO_INSTRUCTION, BigInt(qual), 0n, 0n, len)
      : vmexit(EXIT_REASON_IO_INSTRUCTION, len, qual);
    if (r === RESUME_RETRY) continue;
    return;
  }
}

function io_out(port: number, size: number, value: number): void {
  reg_set_sized(VCPU_REGS_RAX, size, value);
  reg_set_sized(VCPU_REGS_RDX, 2, port);
  exit_io(port, size, false, 1);
}

function io_in(port: number, size: number): number {
  reg_set_sized(VCPU_REGS_RDX, 2, port);
  exit_io(port, size, true, 1);
  const v = reg_lo(VCPU_REGS_RAX);
  return size === 4 ? v : v & ((1 << (8 * size)) - 1);
}

/** `out dx, al`. */
export function outb(port: number, value: number): void {
  io_out(port, 1, value & 0xff);
}

/** `out dx, ax`. */
export function outw(port: number, value: number): void {
  io_out(port, 2, value & 0xffff);
}

/** `out dx, eax`. */
export function outl(port: number, value: number): void {
  io_out(port, 4, value >>> 0);
}

/** `in al, dx`. */
export function inb(port: number): number {
  return io_in(port, 1);
}

/** `in ax, dx`. */
export function inw(port: number): number {
  return io_in(port, 2);
}

/** `in eax, dx`. */
export function inl(port: number): number {
  return io_in(port, 4);
}

/** Where string I/O finds its memory operand: segment base, address size, direction. */
export interface io_string_operand {
  /** Linear base of the segment (ES for INS, DS or an override for OUTS). */
  seg_base: number;
  /** Address size in bytes (2, 4, 8): RCX/RSI/RDI are used and written at this width. */
  asize: number;
  /** RFLAGS.DF: elements go downwards. */
  down: boolean;
}

const FLAT: io_string_operand = { seg_base: 0, asize: 8, down: false };

/**
 * Elements of one string-I/O exit, as KVM's emulator batches them (which
 * runs every INS/OUTS, on VMX too): OUTS hands userspace one element per
 * exit (`em_out()`, count 1). INS reads ahead in `pio_in_emulated()`: the
 * batch is the smallest of three limits, never below one element: the
 * elements its 1024-byte read-ahead buffer holds, the count in RCX, and the
 * bytes left in RDI's page (a byte count the kernel compares with element
 * counts unconverted, as this does). Source: `arch/x86/kvm/emulate.c`,
 * kvm-x86/linux.
 */
function io_string_batch(
  is_in: boolean,
  size: number,
  left: bigint,
  rdi: bigint,
  down: boolean,
): number {
  if (!is_in) return 1;
  const off = Number(rdi & 0xfffn);
  const in_page = down ? off : 4096 - off;
  const count = left > 0xffffffffn ? 0xffffffff : Number(left);
  return Math.max(1, Math.min(in_page, Math.floor(1024 / size), count));
}

/**
 * INS/OUTS, with or without REP: the exit path shared by the intrinsics and
 * the interpreter. The data goes through the VMCS I/O page; with REP the
 * elements exit in the batches of {@linkcode io_string_batch}, each completed
 * by the kernel as one instruction. RCX and RDI/RSI are live, as on the CPU: each
 * chunk starts from their current values and advances them by what it
 * transferred, and userspace may change RCX during an exit (the chunk then
 * ends early if the new count is smaller).
 */
export function exit_io_string(
  port: number,
  size: number,
  is_in: boolean,
  len: number,
  rep: boolean,
  op: io_string_operand = FLAT,
): void {
  const ptr_reg = is_in ? VCPU_REGS_RDI : VCPU_REGS_RSI;
  const amask = op.asize === 8 ? 0xffffffffffffffffn : op.asize === 4 ? 0xffffffffn : 0xffffn;
  const step = op.down ? -size : size;
  const at = (base: bigint, i: number): gva_t => {
    const off = BigInt.asUintN(64, base + BigInt(Math.floor(i / size) * step + (i % size))) &
      amask;
    return op.asize === 8 ? off : Number((BigInt(op.seg_base) + off) & 0xffffffffn);
  };
  for (;;) {
    const left = rep ? reg_get(VCPU_REGS_RCX) & amask : 1n;
    if (left === 0n) return;
    tick();
    if (!io_allowed()) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    const base = reg_get(ptr_reg) & amask;
    const n = io_string_batch(is_in, size, left, base, op.down);
    const page = io_data();
    if (!is_in) { for (let i = 0; i < n * size; i++) page[i] = readb(at(base, i)); }
    set_io_count(n);
    const qual = ((size - 1) | IO_QUAL_STRING | (rep ? IO_QUAL_REP : 0) | (is_in ? IO_QUAL_IN : 0) |
      ((port & 0xffff) << IO_QUAL_PORT_SHIFT)) >>> 0;
    const r = is_td()
      ? raise_ve(EXIT_REASON_IO_INSTRUCTION, BigInt(qual), 0n, 0n, len)
      : vmexit(EXIT_REASON_IO_INSTRUCTION, len, qual);
    if (r === RESUME_RETRY) continue;
    // Re-read RCX: the count userspace left there bounds what this chunk completes.
    const now = rep ? reg_get(VCPU_REGS_RCX) & amask : 1n;
    const done = now < BigInt(n) ? Number(now) : n;
    if (is_in) { for (let i = 0; i < done * size; i++) writeb(page[i]!, at(base, i)); }
    const moved = BigInt.asUintN(64, base + BigInt(done * step)) & amask;
    if (op.asize === 8) reg_set(ptr_reg, moved);
    else reg_set_sized(ptr_reg, op.asize, Number(moved));
    if (!rep) return;
    const rest = now - BigInt(done);
    if (op.asize === 8) reg_set(VCPU_REGS_RCX, rest);
    else reg_set_sized(VCPU_REGS_RCX, op.asize, Number(rest));
  }
}

/** `rep outs`/`rep ins` of `count` elements of `size` bytes at `gva` (flat, upwards). */
function io_string(port: number, size: number, gva: gva_t, count: number, is_in: boolean): void {
  reg_set(VCPU_REGS_RCX, BigInt(count));
  reg_set(is_in ? VCPU_REGS_RDI : VCPU_REGS_RSI, BigInt(gva));
  exit_io_string(port, size, is_in, 2, true);
}

/** `rep outsb`: writes `count` bytes from guest memory at `gva` to `port`. */
export function outsb(port: number, gva: gva_t, count: number): void {
  io_string(port, 1, gva, count, false);
}

/** `rep outsw`. */
export function outsw(port: number, gva: gva_t, count: number): void {
  io_string(port, 2, gva, count, false);
}

/** `rep outsl`. */
export function outsl(port: number, gva: gva_t, count: number): void {
  io_string(port, 4, gva, count, false);
}

/** `rep insb`: reads `count` bytes from `port` into guest memory at `gva`. */
export function insb(port: number, gva: gva_t, count: number): void {
  io_string(port, 1, gva, count, true);
}

/** `rep insw`. */
export function insw(port: number, gva: gva_t, count: number): void {
  io_string(port, 2, gva, count, true);
}

/** `rep insl`. */
export function insl(port: number, gva: gva_t, count: number): void {
  io_string(port, 4, gva, count, true);
}

// ---------------------------------------------------------------------------
// MSRs, CPUID, hypercalls.

/**
 * The RDMSR/WRMSR exit path shared with the interpreter: #GP above CPL 0,
 * else `EXIT_REASON_MSR_READ`/`_WRITE` with ECX (and EDX:EAX) in place.
 */
export function exit_msr(is_write: boolean, len: number): void {
  for (;;) {
    tick();
    if (get_cpl() > 0) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    if (vmexit(is_write ? EXIT_REASON_MSR_WRITE : EXIT_REASON_MSR_READ, len, 0) === RESUME_RETRY) {
      continue;
    }
    return;
  }
}

/** `rdmsr`: exits to the kernel (`EXIT_REASON_MSR_READ`, index in ECX). */
export function rdmsr(msr: number): bigint {
  reg_set_sized(VCPU_REGS_RCX, 4, msr >>> 0);
  exit_msr(false, 2);
  return (BigInt(reg_lo(VCPU_REGS_RDX)) << 32n) | BigInt(reg_lo(VCPU_REGS_RAX));
}

/** `wrmsr`: exits to the kernel (`EXIT_REASON_MSR_WRITE`, ECX, EDX:EAX). */
export function wrmsr(msr: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  reg_set_sized(VCPU_REGS_RCX, 4, msr >>> 0);
  reg_set_pair(VCPU_REGS_RAX, 0, Number(v & 0xffffffffn));
  reg_set_pair(VCPU_REGS_RDX, 0, Number(v >> 32n));
  exit_msr(true, 2);
}

/**
 * `rdmsr` that returns the vector of the exception it raised (0 if none),
 * as upstream's `rdmsr_safe(msr, &val)`; the value goes to `val.value`.
 */
export function rdmsr_safe(msr: number, val?: { value: bigint }): number {
  let v = 0n;
  const vector = kvm_asm_safe(() => {
    v = rdmsr(msr);
  });
  if (val) val.value = v;
  return vector;
}

/** `wrmsr` that returns the vector of the exception it raised (0 if none). */
export function wrmsr_safe(msr: number, value: bigint): number {
  return kvm_asm_safe(() => wrmsr(msr, value));
}

/** CPUID results. */
export interface cpuid_regs {
  /** EAX. */
  eax: number;
  /** EBX. */
  ebx: number;
  /** ECX. */
  ecx: number;
  /** EDX. */
  edx: number;
}

/** `cpuid` with EAX = `fn`, ECX = `index`: always exits (`EXIT_REASON_CPUID`). */
export function cpuid(fn: number, index = 0): cpuid_regs {
  reg_set_sized(VCPU_REGS_RAX, 4, fn >>> 0);
  reg_set_sized(VCPU_REGS_RCX, 4, index >>> 0);
  exit_simple(EXIT_REASON_CPUID, 2);
  return {
    eax: reg_lo(VCPU_REGS_RAX),
    ebx: reg_lo(VCPU_REGS_RBX),
    ecx: reg_lo(VCPU_REGS_RCX),
    edx: reg_lo(VCPU_REGS_RDX),
  };
}

/**
 * An instruction that always exits with `reason` and length `len`
 * (CPUID, VMCALL, TDCALL, XSETBV): shared with the interpreter.
 */
export function exit_simple(reason: number, len: number): void {
  for (;;) {
    tick();
    if (vmexit(reason, len, 0) === RESUME_RETRY) continue;
    return;
  }
}

/** The HLT exit path shared with the interpreter (#GP above CPL 0; #VE in a TD). */
export function exit_hlt(len: number): void {
  for (;;) {
    tick();
    const r = get_cpl() > 0
      ? raise(GP_VECTOR, 0)
      : is_td()
      ? raise_ve(EXIT_REASON_HLT, 0n, 0n, 0n, len)
      : vmexit(EXIT_REASON_HLT, len, 0);
    if (r === RESUME_RETRY) continue;
    return;
  }
}

/** `hlt`: exits with `EXIT_REASON_HLT` (#VE in a TD; #GP above CPL 0). */
export function hlt(): void {
  exit_hlt(1);
}

/** `sti; hlt`: upstream's `safe_halt()`. */
export function safe_halt(): void {
  sti();
  hlt();
}

/** `vmcall` with the registers as they are; returns RAX. */
export function vmcall(): bigint {
  exit_vmcall(3);
  return reg_get(VCPU_REGS_RAX);
}

/** The VMCALL exit path shared with the interpreter (#VE in a TD). */
export function exit_vmcall(len: number): void {
  for (;;) {
    tick();
    const r = is_td()
      ? raise_ve(EXIT_REASON_VMCALL, 0n, 0n, 0n, len)
      : vmexit(EXIT_REASON_VMCALL, len, 0);
    if (r === RESUME_RETRY) continue;
    return;
  }
}

/**
 * The KVM hypercall ABI: RAX = `nr`, RBX, RCX, RDX, RSI = `a0`..`a3`, then
 * `vmcall`; returns RAX (upstream's `kvm_hypercall()`).
 */
export function kvm_hypercall(nr: bigint, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n): bigint {
  reg_set(VCPU_REGS_RAX, nr);
  reg_set(VCPU_REGS_RBX, a0);
  reg_set(VCPU_REGS_RCX, a1);
  reg_set(VCPU_REGS_RDX, a2);
  reg_set(VCPU_REGS_RSI, a3);
  return vmcall();
}

/** Linux's `struct tdx_module_args` (one definition, in the include/ twin). */
export type { tdx_module_args };

/**
 * `tdcall` with RAX = `fn` and the registers of `args` (absent ones are
 * zero): exits with `EXIT_REASON_TDCALL` (the TDX module answers; for a
 * legacy VM KVM injects #UD). On return every member of `args` is updated
 * from the registers, as Linux's `__tdcall_ret()`; returns RAX.
 */
export function tdcall(fn: bigint | number, args: tdx_module_args = {}): bigint {
  reg_set(VCPU_REGS_RAX, BigInt(fn));
  for (const [k, r] of TDX_MODULE_ARGS_REGS) reg_set(r, args[k] ?? 0n);
  exit_simple(EXIT_REASON_TDCALL, 4);
  for (const [k, r] of TDX_MODULE_ARGS_REGS) args[k] = reg_get(r);
  return reg_get(VCPU_REGS_RAX);
}

/** `wbinvd`: exits (`EXIT_REASON_WBINVD`; #VE in a TD). */
export function wbinvd(): void {
  exit_wbinvd(2);
}

/** The WBINVD exit path shared with the interpreter. */
export function exit_wbinvd(len: number): void {
  for (;;) {
    tick();
    if (get_cpl() > 0) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    const r = is_td()
      ? raise_ve(EXIT_REASON_WBINVD, 0n, 0n, 0n, len)
      : vmexit(EXIT_REASON_WBINVD, len, 0);
    if (r === RESUME_RETRY) continue;
    return;
  }
}

/** `xgetbv`: XCR `index` (only XCR0 exists). */
export function xgetbv(index: number): bigint {
  for (;;) {
    tick();
    if (index !== 0) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return reg_get(VCPU_REGS_RAX);
    }
    return xcr0_get();
  }
}

/** `xsetbv`: exits (`EXIT_REASON_XSETBV`, ECX = index, EDX:EAX = value). */
export function xsetbv(index: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  reg_set_sized(VCPU_REGS_RCX, 4, index >>> 0);
  reg_set_pair(VCPU_REGS_RAX, 0, Number(v & 0xffffffffn));
  reg_set_pair(VCPU_REGS_RDX, 0, Number(v >> 32n));
  exit_simple(EXIT_REASON_XSETBV, 3);
}

// ---------------------------------------------------------------------------
// Control registers and descriptor tables (no exits: the CPU applies them).

/** MOV from CR0. */
export function get_cr0(): bigint {
  tick();
  return cr_get(0);
}

/** MOV from CR2 (the last #PF address). */
export function get_cr2(): bigint {
  tick();
  return cr_get(2);
}

/** MOV from CR3. */
export function get_cr3(): bigint {
  tick();
  return cr_get(3);
}

/** MOV from CR4. */
export function get_cr4(): bigint {
  tick();
  return cr_get(4);
}

/** MOV from CR8 (the TPR). */
export function get_cr8(): bigint {
  tick();
  return cr_get(8);
}

/**
 * MOV to CR0, with the checks of SDM "MOV—Move to/from Control Registers":
 * #GP for bits 63:32, PG without PE, NW without CD, PG with EFER.LME but
 * without CR4.PAE, clearing PG in 64-bit mode. Setting PG with EFER.LME
 * activates IA-32e mode (EFER.LMA); clearing it deactivates it.
 */
export function set_cr0(value: bigint): void {
  for (;;) {
    tick();
    const v = BigInt.asUintN(64, value);
    const lo = Number(v & 0xffffffffn);
    const pg = (lo & X86_CR0_PG) !== 0;
    const cr4 = cr4_lo();
    if (
      get_cpl() > 0 || v >> 32n !== 0n || (pg && !(lo & X86_CR0_PE)) ||
      ((lo & X86_CR0_NW) && !(lo & X86_CR0_CD)) ||
      (pg && efer_lme() && !(cr4 & X86_CR4_PAE)) || (!pg && in_long_mode())
    ) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    const was_pg = (Number(cr_get(0) & 0xffffffffn) & X86_CR0_PG) !== 0;
    // CR0.ET is hardwired to 1.
    cr_store(0, v | BigInt(X86_CR0_ET));
    if (pg && !was_pg && efer_lme()) set_lma(true);
    if (!pg && was_pg) set_lma(false);
    sync_mode();
    return;
  }
}

/** MOV to CR2. */
export function set_cr2(value: bigint): void {
  for (;;) {
    tick();
    if (get_cpl() > 0) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    cr_store(2, value);
    return;
  }
}

/**
 * MOV to CR3: flushes the TLB except global entries (CR4.PGE). #GP for
 * address bits above MAXPHYADDR in IA-32e mode.
 */
export function set_cr3(value: bigint): void {
  for (;;) {
    tick();
    if (get_cpl() > 0 || (in_long_mode() && BigInt.asUintN(64, value) >> 52n !== 0n)) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    cr_store(3, value);
    sync_mode();
    // Even a reload of the same value flushes the non-global entries.
    tlb_flush(true);
    return;
  }
}

const CR4_KNOWN = 0x7f7fffn;

/**
 * MOV to CR4: #GP for reserved bits, for clearing PAE in IA-32e mode and for
 * changing LA57 in IA-32e mode. Paging-related changes flush the TLB.
 */
export function set_cr4(value: bigint): void {
  for (;;) {
    tick();
    const v = BigInt.asUintN(64, value);
    const old = cr4_lo();
    const lo = Number(v & 0xffffffffn);
    const lma = (Number(efer_get() & 0xffffffffn) & (1 << 10)) !== 0;
    if (
      get_cpl() > 0 || (v & ~CR4_KNOWN) !== 0n || (lma && !(lo & X86_CR4_PAE)) ||
      (lma && ((lo ^ old) & X86_CR4_LA57) !== 0)
    ) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    cr_store(4, v);
    sync_mode();
    return;
  }
}

/** MOV to CR8: the TPR (#GP above 15). */
export function set_cr8(value: bigint): void {
  for (;;) {
    tick();
    if (get_cpl() > 0 || BigInt.asUintN(64, value) > 15n) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    cr_store(8, value);
    return;
  }
}

/** `struct desc_ptr`: a descriptor-table pointer (`lgdt`/`sgdt` operand). */
export interface desc_ptr {
  /** The limit (`size` in upstream's struct). */
  size: number;
  /** The linear base address. */
  address: bigint;
}

function lxdt(idt: boolean, gva: gva_t): void {
  for (;;) {
    tick();
    if (get_cpl() > 0) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    const limit = readw(gva);
    // Outside 64-bit mode the operand's base is 32 bits.
    const base = in_long_mode() ? readq(add(gva, 2)) : BigInt(readl(add(gva, 2)));
    dtable_set(idt, base, limit);
    return;
  }
}

function sxdt(idt: boolean, gva: gva_t): void {
  tick();
  const t = dtable_get(idt);
  writew(t.limit, gva);
  if (in_long_mode()) writeq(t.base, add(gva, 2));
  else writel(Number(t.base & 0xffffffffn), add(gva, 2));
}

/** `lgdt m`: loads GDTR from the pseudo-descriptor at `gva` (2-byte limit, then base). */
export function lgdt(gva: gva_t): void {
  lxdt(false, gva);
}

/** `lidt m`: loads IDTR from the pseudo-descriptor at `gva`. */
export function lidt(gva: gva_t): void {
  lxdt(true, gva);
}

/** `sgdt m`: stores GDTR at `gva`. */
export function sgdt(gva: gva_t): void {
  sxdt(false, gva);
}

/** `sidt m`: stores IDTR at `gva`. */
export function sidt(gva: gva_t): void {
  sxdt(true, gva);
}

/** GDTR, as upstream's `get_gdt()`. */
export function get_gdt(): desc_ptr {
  tick();
  const t = dtable_get(false);
  return { size: t.limit, address: t.base };
}

/** IDTR, as upstream's `get_idt()`. */
export function get_idt(): desc_ptr {
  tick();
  const t = dtable_get(true);
  return { size: t.limit, address: t.base };
}

/** `ltr r16`: loads TR from an available TSS descriptor and marks it busy. */
export function ltr(selector: number): void {
  for (;;) {
    tick();
    if (get_cpl() > 0 || !in_protected_mode()) {
      const r = raise(get_cpl() > 0 ? GP_VECTOR : UD_VECTOR, 0);
      if (r === RESUME_RETRY) continue;
      return;
    }
    if (load_segment(6, selector) === RESUME_RETRY) continue;
    return;
  }
}

/** `str`: the TR selector. */
export function str(): number {
  tick();
  return seg_selector(6);
}

/** `mov sreg, r16` for `sreg` = `VCPU_SREG_ES/SS/DS/FS/GS` (CS cannot be loaded this way: #UD). */
export function load_sreg(sreg: number, selector: number): void {
  for (;;) {
    tick();
    if (sreg === 1 || sreg > 5) {
      if (raise(UD_VECTOR) === RESUME_RETRY) continue;
      return;
    }
    if (load_segment(sreg, selector) === RESUME_RETRY) continue;
    return;
  }
}

/** `mov r16, sreg`: a segment register's selector (`VCPU_SREG_*`). */
export function read_sreg(sreg: number): number {
  tick();
  return seg_selector(sreg);
}

/**
 * `ljmp selector:offset`: loads CS from the GDT (entering 64-bit mode when
 * the descriptor has L=1 in IA-32e mode) and continues at `offset`. Never
 * returns to the caller: the current function is abandoned.
 */
export function ljmp(selector: number, offset: gva_t): never {
  for (;;) {
    tick();
    if (in_protected_mode() && load_segment(1, selector) === RESUME_RETRY) continue;
    addr(offset);
    // Outside 64-bit mode the target is a 32-bit offset.
    jump_to(cs_l() && in_long_mode() ? A_HI : 0, A_LO);
  }
}

/** `jmp gva`: continues at `gva`; the current function is abandoned. */
export function jmp(gva: gva_t): never {
  tick();
  addr(gva);
  jump_to(in_long_mode() ? A_HI : 0, A_LO);
}

// ---------------------------------------------------------------------------
// Miscellaneous.

/** `invlpg m`: drops the TLB entry of the page of `gva`. */
export function invlpg(gva: gva_t): void {
  for (;;) {
    tick();
    if (get_cpl() > 0) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    addr(gva);
    tlb_flush_page(in_long_mode() ? A_HI : 0, A_LO);
    return;
  }
}

/** `rdtsc`: the guest TSC (host time scaled to `tsc_khz`, plus the TSC offset); no exit. */
export function rdtsc(): bigint {
  tick();
  const t = read_tsc();
  reg_set_pair(VCPU_REGS_RAX, 0, tsc_words[0]!);
  reg_set_pair(VCPU_REGS_RDX, 0, tsc_words[1]!);
  return t;
}

/** `pause`: a spin-loop hint (no PAUSE-loop exiting). */
export function pause(): void {
  tick();
}

/** `nop`. */
export function nop(): void {
  tick();
}

/** `cli`: clears RFLAGS.IF (#GP above IOPL). */
export function cli(): void {
  for (;;) {
    tick();
    if (get_cpl() > ((rflags() & X86_EFLAGS_IOPL) >>> 12)) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    set_rflags(rflags() & ~X86_EFLAGS_IF);
    return;
  }
}

/** `sti`: sets RFLAGS.IF, with blocking by STI for the next instruction. */
export function sti(): void {
  for (;;) {
    tick();
    if (get_cpl() > ((rflags() & X86_EFLAGS_IOPL) >>> 12)) {
      if (raise(GP_VECTOR, 0) === RESUME_RETRY) continue;
      return;
    }
    const was = rflags();
    set_rflags(was | X86_EFLAGS_IF);
    if (!(was & X86_EFLAGS_IF)) set_sti_blocking(true);
    return;
  }
}

/** `ud2`: raises #UD; returns only if a handler skips it (`regs.rip += 2n`). */
export function ud2(): void {
  for (;;) {
    tick();
    if (raise(UD_VECTOR) === RESUME_RETRY) continue;
    return;
  }
}

/** `int3`: a #BP trap; the handler's return continues after it. */
export function int3(): void {
  tick();
  raise_trap(BP_VECTOR, 1);
}

/** RFLAGS (`pushf; pop`). */
export function read_rflags(): bigint {
  tick();
  return BigInt(rflags());
}

/** `mov r, cs` & 3: the current privilege level. */
export function current_cpl(): number {
  tick();
  return get_cpl();
}

// ---------------------------------------------------------------------------
// The interface the guest-side library uses (`lib/guest_insn.ts`).

/** `call *gva`: runs the guest function whose code record is at `gva` with `args`. */
export function call(gva: gva_t, ...args: unknown[]): unknown {
  tick();
  addr(gva);
  return call_gva(in_long_mode() ? A_HI : 0, A_LO, args);
}

/** Reads `len` bytes of guest memory at `gva` (a copy). */
export function guest_read(gva: gva_t, len: number): Uint8Array {
  return read_bytes(gva, len);
}

/** Writes `bytes` to guest memory at `gva`. */
export function guest_write(gva: gva_t, bytes: Uint8Array): void {
  write_bytes(gva, bytes);
}

/** `lock bts`: sets bit `nr` of the bitmap at `gva`; returns the old bit. */
export function guest_test_and_set_bit(gva: gva_t, nr: number): boolean {
  tick();
  addr(add(gva, nr >>> 3));
  const bit = 1 << (nr & 7);
  return (atomic_byte(A_HI, A_LO, bit, 0) & bit) !== 0;
}

/** `lock btr`: clears bit `nr` of the bitmap at `gva`. */
export function guest_clear_bit(gva: gva_t, nr: number): void {
  tick();
  addr(add(gva, nr >>> 3));
  atomic_byte(A_HI, A_LO, 0, 1 << (nr & 7));
}

const KVM_REGS_NAMES: Readonly<Record<string, number>> = {
  rax: 0,
  rcx: 1,
  rdx: 2,
  rbx: 3,
  rsp: 4,
  rbp: 5,
  rsi: 6,
  rdi: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
};

/** A GPR, `rip` or `rflags` by its `struct kvm_regs` name. */
export function get_reg(name: string): bigint {
  tick();
  if (name === "rflags") return BigInt(rflags());
  if (name === "rip") return rip_get();
  const r = KVM_REGS_NAMES[name];
  if (r === undefined) throw new TypeError(`No register named '${name}'`);
  return reg_get(r);
}

/** Writes a GPR by its `struct kvm_regs` name. */
export function set_reg(name: string, value: bigint): void {
  tick();
  const r = KVM_REGS_NAMES[name];
  if (r === undefined) throw new TypeError(`No general-purpose register named '${name}'`);
  reg_set(r, value);
}

/** MOV from CR`n` (0, 2, 3, 4, 8). */
export function read_cr(n: number): bigint {
  switch (n) {
    case 0:
      return get_cr0();
    case 2:
      return get_cr2();
    case 3:
      return get_cr3();
    case 4:
      return get_cr4();
    case 8:
      return get_cr8();
  }
  ud2();
  return 0n;
}

/** MOV to CR`n` (0, 2, 3, 4, 8); any other number is #UD. */
export function write_cr(n: number, value: bigint): void {
  switch (n) {
    case 0:
      return set_cr0(value);
    case 2:
      return set_cr2(value);
    case 3:
      return set_cr3(value);
    case 4:
      return set_cr4(value);
    case 8:
      return set_cr8(value);
  }
  ud2();
}

/** `rep insb` with the operands the guest put in DX (port), RDI (buffer) and RCX (count). */
export function rep_insb(): void {
  insb(reg_lo(VCPU_REGS_RDX) & 0xffff, reg_get(VCPU_REGS_RDI), Number(reg_get(VCPU_REGS_RCX)));
}

/**
 * Runs `fn`; an exception raised by an instruction inside it is caught and
 * its vector returned, -1 when none was raised (the exception fixup of
 * upstream's `KVM_ASM_SAFE`, without vector 0's ambiguity).
 */
export function with_exception_fixup(fn: () => void): number {
  let raised = false;
  const vector = kvm_asm_safe(() => {
    try {
      fn();
    } catch (e) {
      raised = true;
      throw e;
    }
  });
  return raised ? vector : -1;
}
