// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest-side memory access for library code that runs in a vCPU worker
 * (guest globals, the ucall pool, guest printf of `%s` pointers): every access
 * is a load or store by guest-virtual address, which the CPU model translates
 * through the guest's page tables and memslots, faulting as hardware would.
 *
 * This module is the one place the library reaches the CPU model's memory
 * intrinsics (`sim/cpu/insn.ts`, through `lib/guest_insn.ts`), so the rest of the guest-side library reads
 * like C that dereferences pointers.
 *
 * @module
 */

import type { gva_t } from "../include/kvm_util_types.ts";
import { guest_cpu } from "./guest_insn.ts";

/**
 * Read `len` bytes of guest memory at `gva` (a copy).
 *
 * @param gva the guest-virtual address
 * @param len how many bytes
 * @returns the bytes
 */
export function guest_read(gva: gva_t, len: number): Uint8Array {
  return guest_cpu().guest_read(gva, len);
}

/**
 * Write bytes to guest memory at `gva`.
 *
 * @param gva the guest-virtual address
 * @param bytes the bytes
 */
export function guest_write(gva: gva_t, bytes: Uint8Array): void {
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
