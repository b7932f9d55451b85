// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest-side memory access for library code that runs in a vCPU worker
 * (guest globals, the ucall pool, guest printf of `%s` pointers): every access
 * is a load or store by guest-virtual address, which the CPU model translates
 * through the guest's page tables and memslots, faulting as hardware would.
 *
 * This module is where guest code reaches the CPU model's memory intrinsics
 * (`sim/cpu/insn.ts`, through `lib/guest_insn.ts`). C guest code dereferences
 * pointers; TypeScript guest code uses Linux's accessor names for the same
 * loads and stores: `readb(p)` is `READ_ONCE(*(u8 *)p)`, `writeq(v, p)` is
 * `WRITE_ONCE(*(u64 *)p, v)` (value first, as in Linux), for RAM and MMIO
 * alike, and `memset`/`memcpy` work on guest pointers.
 *
 * @module
 */

import type { RecordType, View } from "../include/c/layout.ts";
import type { gva_t } from "../include/kvm_util_types.ts";
import { guest_cpu } from "./guest_insn.ts";

/** A guest pointer: a GVA (a `number` must be a non-negative integer below 2^53). */
export type guest_ptr = number | bigint;

/**
 * Guest `READ_ONCE(*(u8 *)addr)`: one byte load.
 *
 * @param addr the guest-virtual address
 * @returns the byte
 */
export function readb(addr: guest_ptr): number {
  return guest_cpu().readb(addr);
}

/**
 * Guest `READ_ONCE(*(u16 *)addr)`.
 *
 * @param addr the guest-virtual address
 * @returns the value
 */
export function readw(addr: guest_ptr): number {
  return guest_cpu().readw(addr);
}

/**
 * Guest `READ_ONCE(*(u32 *)addr)`.
 *
 * @param addr the guest-virtual address
 * @returns the value
 */
export function readl(addr: guest_ptr): number {
  return guest_cpu().readl(addr);
}

/**
 * Guest `READ_ONCE(*(u64 *)addr)`.
 *
 * @param addr the guest-virtual address
 * @returns the value
 */
export function readq(addr: guest_ptr): bigint {
  return guest_cpu().readq(addr);
}

/**
 * Guest `WRITE_ONCE(*(u8 *)addr, value)` (Linux's `writeb(value, addr)` order).
 *
 * @param value the byte
 * @param addr the guest-virtual address
 */
export function writeb(value: number, addr: guest_ptr): void {
  guest_cpu().writeb(value, addr);
}

/**
 * Guest `WRITE_ONCE(*(u16 *)addr, value)`.
 *
 * @param value the value
 * @param addr the guest-virtual address
 */
export function writew(value: number, addr: guest_ptr): void {
  guest_cpu().writew(value, addr);
}

/**
 * Guest `WRITE_ONCE(*(u32 *)addr, value)`.
 *
 * @param value the value
 * @param addr the guest-virtual address
 */
export function writel(value: number, addr: guest_ptr): void {
  guest_cpu().writel(value, addr);
}

/**
 * Guest `WRITE_ONCE(*(u64 *)addr, value)`.
 *
 * @param value the value
 * @param addr the guest-virtual address
 */
export function writeq(value: bigint, addr: guest_ptr): void {
  guest_cpu().writeq(value, addr);
}

/**
 * Guest `memset(s, c, n)`.
 *
 * @param s the guest-virtual address
 * @param c the byte
 * @param n how many bytes
 */
export function memset(s: guest_ptr, c: number, n: number): void {
  guest_cpu().memset(s, c, n);
}

/**
 * Guest `memcpy(dest, src, n)`.
 *
 * @param dest the destination GVA
 * @param src the source GVA
 * @param n how many bytes
 */
export function memcpy(dest: guest_ptr, src: guest_ptr, n: number): void {
  guest_cpu().memcpy(dest, src, n);
}

/**
 * Guest `*(struct T *)addr`: a copy of the struct at `addr`, loaded from guest
 * memory (C guests read `p->member` through a pointer; a TypeScript guest
 * loads the struct and reads the copy's members). Write a changed copy back
 * with `guest_write(addr, v.$bytes)`.
 *
 * @param type the struct type
 * @param addr the guest-virtual address
 * @returns a view of the copy
 */
export function guest_view<R extends RecordType>(type: R, addr: guest_ptr): View<R["fields"]> {
  return type.view(guest_read(addr, type.size)) as View<R["fields"]>;
}

/**
 * Read `len` bytes of guest memory at `gva` (a copy).
 *
 * @param gva the guest-virtual address
 * @param len how many bytes
 * @returns the bytes
 */
export function guest_read(gva: guest_ptr, len: number): Uint8Array {
  return guest_cpu().guest_read(gva, len);
}

/**
 * Write bytes to guest memory at `gva`.
 *
 * @param gva the guest-virtual address
 * @param bytes the bytes
 */
export function guest_write(gva: guest_ptr, bytes: Uint8Array): void {
  guest_cpu().guest_write(gva, bytes);
}

/**
 * C `READ_ONCE(*(u64 *)gva)`.
 *
 * @param gva the address
 * @returns the value
 */
export function guest_read_u64(gva: gva_t): bigint {
  const b = guest_read(gva, 8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

/**
 * C `WRITE_ONCE(*(u64 *)gva, v)`.
 *
 * @param gva the address
 * @param v the value
 */
export function guest_write_u64(gva: gva_t, v: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  guest_write(gva, b);
}

/**
 * C `test_and_set_bit(nr, addr)`: atomic, as several vCPUs allocate ucalls
 * from one pool at once.
 *
 * @param nr the bit number
 * @param gva the bitmap
 * @returns the bit's old value
 */
export function guest_test_and_set_bit(nr: number, gva: gva_t): boolean {
  return guest_cpu().guest_test_and_set_bit(gva, nr);
}

/**
 * C `clear_bit(nr, addr)`: atomic.
 *
 * @param nr the bit number
 * @param gva the bitmap
 */
export function guest_clear_bit(nr: number, gva: gva_t): void {
  guest_cpu().guest_clear_bit(gva, nr);
}

/**
 * The NUL-terminated string at `gva` in guest memory (what `%s` of a guest
 * `const char *` prints).
 *
 * @param gva the address
 * @param max the most bytes to read
 * @returns the string
 */
export function guest_read_cstr(gva: gva_t, max = 4096): string {
  const out: number[] = [];
  const page = 4096n;
  let addr = gva;
  while (out.length < max) {
    const chunk = Math.min(max - out.length, Number(page - (addr % page)));
    const b = guest_read(addr, chunk);
    const nul = b.indexOf(0);
    if (nul >= 0) {
      out.push(...b.subarray(0, nul));
      break;
    }
    out.push(...b);
    addr += BigInt(chunk);
  }
  return new TextDecoder().decode(new Uint8Array(out));
}
