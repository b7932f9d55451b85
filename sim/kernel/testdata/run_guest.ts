// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest functions of the simulated kernel's KVM_RUN tests and benches: the
 * guest image their vCPU workers import (the tests name it with
 * `set_exe_file()`). Each function does the instructions whose exits a test
 * checks, in order, and ends in `hlt`.
 *
 * @module
 */

import {
  cpuid,
  type ex_regs_view,
  get_cr2,
  hlt,
  inb,
  inl,
  insb,
  inw,
  jmp,
  kvm_hypercall,
  outb,
  outl,
  outsb,
  outw,
  rdmsr,
  readb,
  readl,
  readq,
  tdcall,
  writel,
  writeq,
  wrmsr,
  wrmsr_safe,
} from "../../cpu/insn.ts";

/** The URL of this module, the image to give `set_exe_file()`. */
export const RUN_GUEST_IMAGE: string = import.meta.url;

/** GVA (== GPA) of the PTE the #PF handler of {@linkcode raw_guest_main} fills. */
export const RAW_PF_PTE_GVA = 0x6000n;
/** GVA of the page that is not mapped until the #PF handler maps it. */
export const RAW_PF_GVA = 0x800000n;
/** GPA the #PF handler maps {@linkcode RAW_PF_GVA} to. */
export const RAW_PF_TARGET_GPA = 0x200000n;

/**
 * The raw guest: port I/O out and in, MMIO write and read, CPUID and RDMSR
 * (handled in the kernel), a #PF its own IDT handler fixes, then `hlt`.
 * Every value it learns is reported on a port, so the host sees it.
 */
export function raw_guest_main(mmio_gva: bigint): void {
  outb(0x10, 0x42);
  const v = inb(0x11);
  outb(0x12, v + 1);
  writel(0xdeadbeef, mmio_gva);
  const m = readl(mmio_gva + 8n);
  outl(0x13, m ^ 0xffffffff);
  const c = cpuid(0, 0);
  outl(0x14, c.ebx);
  const efer = rdmsr(0xc0000080);
  outl(0x15, Number(efer & 0xffffffffn));
  const x = readq(RAW_PF_GVA);
  outl(0x16, Number(x & 0xffffffffn));
  hlt();
}

/** #PF handler of the raw guest: reports CR2, maps the page, and retries the access. */
export function raw_pf_handler(regs: ex_regs_view): void {
  outl(0x17, Number(get_cr2() & 0xffffffffn));
  outl(0x18, Number(regs.error_code));
  writeq(RAW_PF_TARGET_GPA | 3n, RAW_PF_PTE_GVA);
}

/** OUT of each width, then IN of each width echoed back (+1). */
export function g_port_io(): void {
  outb(0x80, 0x5a);
  outw(0x81, 0x1234);
  outl(0x82, 0xcafef00d);
  const b = inb(0x90);
  const w = inw(0x91);
  const l = inl(0x92);
  outl(0x93, b);
  outl(0x94, w);
  outl(0x95, l);
  hlt();
}

/** `rep outsb` of 5 bytes from `buf`, `rep insb` of 3 bytes to `buf + 16`, reported. */
export function g_string_io(buf: bigint): void {
  outsb(0x3f8, buf, 5);
  insb(0x3f8, buf + 16n, 3);
  outl(0x3f9, readb(buf + 16n) | (readb(buf + 17n) << 8) | (readb(buf + 18n) << 16));
  hlt();
}

/** MMIO write of 4 bytes and read of 8 at `gva` (no memslot). */
export function g_mmio(gva: bigint): void {
  writel(0xcafef00d, gva);
  const v = readq(gva + 8n);
  outl(0x70, Number(v & 0xffffffffn));
  outl(0x71, Number(v >> 32n));
  hlt();
}

/** A write to `gva` (a read-only memslot), then a read of it. */
export function g_ro_write(gva: bigint): void {
  writel(0x11223344, gva);
  outl(0x72, readl(gva));
  hlt();
}

/** CPUID leaves 0 and 1, reported. */
export function g_cpuid(): void {
  const a = cpuid(0);
  outl(0x73, a.eax);
  outl(0x73, a.ebx);
  const b = cpuid(1);
  outl(0x73, b.eax);
  outl(0x73, b.ecx);
  hlt();
}

/** RDMSR of `msr`, reported as two OUTs (low, high), then WRMSR of `msr` with `value`. */
export function g_msr(msr: bigint, value: bigint): void {
  const v = rdmsr(Number(msr));
  outl(0x74, Number(v & 0xffffffffn));
  outl(0x74, Number(v >> 32n));
  const vec = wrmsr_safe(Number(msr), value);
  outl(0x75, vec);
  wrmsr(Number(msr), value);
  outl(0x76, 1);
  hlt();
}

/** KVM hypercall `nr` with `a0`..`a2`; reports RAX (low, high). */
export function g_hypercall(nr: bigint, a0: bigint, a1: bigint, a2: bigint): void {
  const r = kvm_hypercall(nr, a0, a1, a2);
  outl(0x77, Number(r & 0xffffffffn));
  outl(0x77, Number(r >> 32n));
  hlt();
}

/** `hlt` twice, reporting in between. */
export function g_hlt(): void {
  hlt();
  outb(0x78, 1);
  hlt();
}

/** Jumps to `gva`, which maps a GPA no memslot backs. */
export function g_jump(gva: bigint): void {
  jmp(gva);
}

/** A read of `gva`, with no IDT: a triple fault when it is not mapped. */
export function g_read(gva: bigint): void {
  outl(0x79, readl(gva));
  hlt();
}

/** TDCALL outside a TD: #UD, and without an IDT a triple fault. */
export function g_tdcall(): void {
  tdcall(0);
  hlt();
}

/** Guest code with a bug: it throws. */
export function g_crash(): void {
  outb(0x7a, 1);
  throw new Error("guest bug on purpose");
}

/** Spins forever, touching guest memory (so the CPU can be stopped). */
export function g_spin(gva: bigint): void {
  for (;;) readb(gva);
}

/** Forever: `outb(0x80, i++)`; the exit round-trip bench. */
export function g_outb_loop(): void {
  for (let i = 0;; i++) outb(0x80, i & 0xff);
}

/** 2^16 8-byte writes over 512 KiB at `gva` per `outb`, forever. */
export function g_writeq_loop(gva: bigint): void {
  const base = Number(gva);
  for (;;) {
    for (let i = 0; i < 65536; i++) writeq(BigInt(i), base + ((i * 8) & 0x7ffff));
    outb(0x81, 0);
  }
}
