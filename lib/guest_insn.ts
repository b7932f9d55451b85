// SPDX-License-Identifier: GPL-2.0-only
/**
 * The CPU model's guest intrinsics (`sim/cpu/insn.ts`), as the guest-side
 * library uses them. Each is one instruction: it takes effect, exits to the
 * host (KVM_RUN returns) or raises an exception delivered through the guest
 * IDT.
 *
 * The intrinsics exist only in a vCPU worker; host code that merely imports a
 * test module (which holds guest functions) must not load the CPU model, so
 * the module is loaded lazily, in workers only, and calling an intrinsic on
 * the host is a clear error instead of a wrong result.
 *
 * @module
 */

import { in_guest_worker } from "../include/libc/process.ts";

/** The intrinsics the guest-side library needs from the CPU model. */
export interface guest_cpu {
  /** Load `len` bytes at a GVA (a copy). */
  guest_read(gva: bigint, len: number): Uint8Array;
  /** Store bytes at a GVA. */
  guest_write(gva: bigint, bytes: Uint8Array): void;
  /** Atomic `lock bts` on the bitmap at `gva`; the old bit. */
  guest_test_and_set_bit(gva: bigint, nr: number): boolean;
  /** Atomic `lock btr` on the bitmap at `gva`. */
  guest_clear_bit(gva: bigint, nr: number): void;
  /** `in` of `size` bytes (1, 2, 4) from `port`. */
  inb(port: number): number;
  /** 16-bit `in`. */
  inw(port: number): number;
  /** 32-bit `in`. */
  inl(port: number): number;
  /** 8-bit `out`. */
  outb(port: number, value: number): void;
  /** 16-bit `out`. */
  outw(port: number, value: number): void;
  /** 32-bit `out`. */
  outl(port: number, value: number): void;
  /** `rdmsr`; #GP is delivered to the guest's handler. */
  rdmsr(msr: number): bigint;
  /** `wrmsr`. */
  wrmsr(msr: number, value: bigint): void;
  /** `cpuid` with EAX = function, ECX = index. */
  cpuid(fn: number, index: number): { eax: number; ebx: number; ecx: number; edx: number };
  /**
   * `call` of the guest function whose code record is at `gva` (a function
   * pointer the guest read from its memory, such as an exception handler).
   */
  call(gva: bigint, ...args: unknown[]): unknown;
  /** `hlt`. */
  hlt(): void;
  /** Read a general-purpose register or RIP/RFLAGS by its `kvm_regs` name. */
  get_reg(name: string): bigint;
  /** Write a general-purpose register by its `kvm_regs` name. */
  set_reg(name: string, value: bigint): void;
  /** Read CR0/CR2/CR3/CR4/CR8 (`n` is the number). */
  read_cr(n: number): bigint;
  /** Write CR0/CR3/CR4/CR8. */
  write_cr(n: number, value: bigint): void;
  /** `rdtsc`. */
  rdtsc(): bigint;
  /** `invlpg`. */
  invlpg(gva: bigint): void;
  /** `vmcall`. */
  vmcall(): void;
  /** `rep insb`: RDI, RCX and DX as the guest set them. */
  rep_insb(): void;
  /**
   * Run `fn`; an exception raised by an instruction inside it is caught and
   * its vector returned (the `_safe` instruction variants, via the exception
   * fixup table in C). -1 when none was raised.
   */
  with_exception_fixup(fn: () => void): number;
}

const CPU_MODULE = new URL("../sim/cpu/insn.ts", import.meta.url).href;

let cpu: guest_cpu | undefined;
if (in_guest_worker()) {
  cpu = (await import(CPU_MODULE)) as guest_cpu;
}

/**
 * The CPU model's intrinsics, in a vCPU worker.
 *
 * @returns the intrinsics
 */
export function guest_cpu(): guest_cpu {
  if (!cpu) {
    throw new Error(
      "A guest instruction was executed on the host: guest functions run in vCPU workers only",
    );
  }
  return cpu;
}
