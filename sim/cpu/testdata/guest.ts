// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest functions of the CPU tests: the guest image the test vCPUs import.
 * Each reports through port I/O (the tests play the kernel) and ends in `hlt`.
 *
 * @module
 */

import { IMAGE_INSTANCE_PARAM } from "../../../include/libc/process.ts";
import {
  call,
  cpuid,
  type ex_regs_view,
  get_cr2,
  get_cr3,
  guest_clear_bit,
  guest_test_and_set_bit,
  hlt,
  inb,
  inl,
  insb,
  int3,
  invlpg,
  jmp,
  kvm_hypercall,
  memset,
  nop,
  outb,
  outl,
  outsb,
  pause,
  rdmsr,
  rdmsr_safe,
  rdtsc,
  read_bytes,
  readb,
  readl,
  readq,
  set_cr3,
  tdcall,
  ud2,
  with_exception_fixup,
  write_bytes,
  writel,
  writeq,
  wrmsr,
} from "../insn.ts";

/** The port tests read reports from. */
export const REPORT_PORT = 0xe9;

/** Writes `v` to the report port as a 32-bit OUT. */
function report(v: number): void {
  outl(REPORT_PORT, v >>> 0);
}

/** One `outb` then `hlt`. */
export function guest_outb(): void {
  outb(0x80, 0x5a);
  hlt();
}

/** 100,000 `rdtsc` pairs: `outb(0x80, n)` with the pairs that did not increase, then `hlt`. */
export function guest_rdtsc_pairs(): void {
  let n = 0;
  for (let i = 0; i < 100000; i++) {
    const t0 = rdtsc();
    if (rdtsc() <= t0) n++;
  }
  outb(0x80, Math.min(n, 255));
  hlt();
}

/** Forever: `outb(0x80, i++)`; the exit round trip bench. */
export function guest_outb_loop(): void {
  for (let i = 0;; i++) outb(0x80, i & 0xff);
}

/** Reads a byte from port 0x60 and echoes it plus one on port 0x61. */
export function guest_inb_echo(): void {
  const v = inb(0x60);
  outb(0x61, v + 1);
  const l = inl(0x64);
  outl(0x65, l ^ 0xffffffff);
  hlt();
}

/** CPUID leaf 0x40000000, reports EBX. */
export function guest_cpuid(): void {
  const r = cpuid(0x40000000, 7);
  report(r.ebx);
  hlt();
}

/** RDMSR / WRMSR / rdmsr_safe. */
export function guest_msr(): void {
  const v = rdmsr(0x10);
  wrmsr(0x1234, v + 1n);
  const out = { value: 0n };
  const vec = rdmsr_safe(0xdead, out);
  report(vec);
  hlt();
}

/** A hypercall and a TDCALL. */
export function guest_hypercall(): void {
  const r = kvm_hypercall(12n, 1n, 2n, 3n, 4n);
  report(Number(r));
  const args = { rcx: 0xfc00n, r10: 0n, r11: 30n };
  const rax = tdcall(0, args);
  report(Number(rax));
  report(Number(args.r11));
  hlt();
}

/** String I/O: writes 5 bytes at arg0, reads 3 into arg0 + 16. */
export function guest_string_io(buf: bigint): void {
  outsb(0x3f8, buf, 5);
  insb(0x3f8, buf + 16n, 3);
  report(readb(buf + 16n) | (readb(buf + 17n) << 8) | (readb(buf + 18n) << 16));
  hlt();
}

/** MMIO: write then read at an unbacked GVA (arg0). */
export function guest_mmio(gva: bigint): void {
  writel(0xcafef00d, gva);
  const v = readq(gva + 8n);
  report(Number(v & 0xffffffffn));
  report(Number(v >> 32n));
  hlt();
}

/**
 * The block operations at `gva` over `n` bytes: `memset` with 0x5a, then
 * `write_bytes` of bytes `i * 7 + 1` over the same range, then reports the
 * sum of `read_bytes` of it, and halts.
 */
export function guest_block_ops(gva: bigint, n: bigint): void {
  memset(gva, 0x5a, Number(n));
  report(1);
  write_bytes(gva, Uint8Array.from({ length: Number(n) }, (_, i) => i * 7 + 1));
  report(2);
  report(read_bytes(gva, Number(n)).reduce((a, b) => a + b, 0));
  hlt();
}

/** Reads arg0 (an unmapped GVA): the #PF handler decides. */
export function guest_pf(gva: bigint): void {
  const v = readl(gva);
  report(v);
  hlt();
}

/** #PF handler that reports CR2 and the error code, then skips the access. */
export function pf_skip_handler(regs: ex_regs_view): void {
  report(Number(get_cr2() & 0xffffffffn));
  report(Number(regs.error_code));
  regs.rax = 0x1234n;
  regs.rip += 3n;
}

/** #PF handler that maps the page (GVA in arg RSI? no: in the global at 0x2ff000) and retries. */
export function pf_fix_handler(regs: ex_regs_view): void {
  // The test stored the PTE's address and value at 0x2ff000/0x2ff008.
  writeq(readq(0x2ff008), readq(0x2ff000));
  invlpg(get_cr2());
  report(Number(regs.vector));
}

/** Executes ud2; the #UD handler skips it; then reports. */
export function guest_ud2(): void {
  ud2();
  report(0x600d);
  hlt();
}

/** #UD handler: skip the 2-byte ud2. */
export function ud_skip_handler(regs: ex_regs_view): void {
  report(Number(regs.vector));
  regs.rip += 2n;
}

/** Handler that reports its vector and error code and skips 2 bytes. */
export function report_handler(regs: ex_regs_view): void {
  report(Number(regs.vector));
  report(Number(regs.error_code));
  regs.rip += 2n;
}

/** int3, then reports. */
export function guest_int3(): void {
  int3();
  report(0xb3);
  hlt();
}

/** #BP handler: reports the vector (the trap returns after int3). */
export function bp_handler(regs: ex_regs_view): void {
  report(Number(regs.vector));
}

/** Throws a JavaScript error: a test bug. */
export function guest_throws(): void {
  outb(0x80, 1);
  throw new Error("boom from the guest");
}

/** Spins forever executing `pause`. */
export function guest_spin(): void {
  for (;;) pause();
}

/**
 * Spins in JavaScript for 20 µs between instructions, for ever: the CPU
 * checks for a stop request every `TICK_INTERVAL` (1024) instructions, here
 * every ~20 ms.
 */
export function guest_spin_slowly(): void {
  for (;;) {
    const until = performance.now() + 0.02;
    while (performance.now() < until) { /* no instruction */ }
    pause();
  }
}

/** Returns: `ret` pops 0 from the zeroed stack. */
export function guest_returns(): void {
  outb(0x80, 2);
}

/**
 * TLB test: reads arg0 (mapped to page A), rewrites its PTE (at arg1) to
 * arg2 (page B), reads again (stale: the TLB), INVLPGs, reads again.
 */
export function guest_tlb(gva: bigint, pte: bigint, new_pte: bigint): void {
  report(readl(gva));
  writeq(new_pte, pte);
  report(readl(gva));
  invlpg(gva);
  report(readl(gva));
  hlt();
}

/** CR3 reload flushes non-global entries: like guest_tlb, with a CR3 write. */
export function guest_tlb_cr3(gva: bigint, pte: bigint, new_pte: bigint): void {
  report(readl(gva));
  writeq(new_pte, pte);
  set_cr3(get_cr3());
  report(readl(gva));
  hlt();
}

/** Writes then reads arg0 (for A/D bits); 5-level tests use a high address. */
export function guest_rw(gva: bigint): void {
  report(readl(gva));
  outb(0x80, 0);
  writel(0x11223344, gva);
  report(readl(gva));
  hlt();
}

/** Reads arg0 only. */
export function guest_read(gva: bigint): void {
  report(readl(gva));
  hlt();
}

/** Writes arg0 (a read-only page): #PF. */
export function guest_write(gva: bigint): void {
  writel(1, gva);
  report(0xdead);
  hlt();
}

/** Jumps to arg0. */
export function guest_jmp(target: bigint): void {
  jmp(target);
}

/** Reports arg0..arg3. */
export function guest_args(a: bigint, b: bigint, c: bigint, d: bigint): void {
  report(Number(a));
  report(Number(b));
  report(Number(c));
  report(Number(d));
  hlt();
}

/** Writes 8-byte values through paging forever (throughput bench), reporting every 2^20 writes. */
export function guest_write_loop(gva: bigint): void {
  for (;;) {
    for (let i = 0; i < 1 << 20; i++) writeq(BigInt(i), gva + BigInt((i & 511) * 8));
    outb(0x80, 0);
  }
}

/** As {@linkcode guest_write_loop}, with number addresses. */
export function guest_write_loop_num(gva: bigint): void {
  const base = Number(gva);
  const v = 0x0123456789abcdefn;
  for (;;) {
    for (let i = 0; i < 1 << 20; i++) writeq(v, base + (i & 511) * 8);
    outb(0x80, 0);
  }
}

/** Calls the function whose record is at arg0 with (5n), reports its result; then a fixup. */
export function guest_call(target: bigint, bitmap: bigint): void {
  const r = call(target, 5n) as bigint;
  report(Number(r));
  report(with_exception_fixup(() => ud2()));
  report(with_exception_fixup(() => nop()));
  report(Number(guest_test_and_set_bit(bitmap, 9)));
  report(Number(guest_test_and_set_bit(bitmap, 9)));
  guest_clear_bit(bitmap, 9);
  report(readb(bitmap + 1n));
  hlt();
}

/** Doubles its argument: a callee for {@linkcode guest_call}. */
export function guest_double(x: bigint): bigint {
  outb(0x81, Number(x));
  return 2n * x;
}

/** Module state of the guest image: a pooled worker must not carry it from one VM to the next. */
let image_calls = 0;

/**
 * Reports the instance of this module it runs in (0: the first import;
 * a pooled worker imports this image, which has state of its own, again
 * for each VM), then halts.
 */
export function guest_report_instance(): void {
  const n = new URL(import.meta.url).searchParams.get(IMAGE_INSTANCE_PARAM);
  report(n === null ? 0 : Number(n));
  hlt();
}

/**
 * Reports how often it ran in this image instance, then what a previous VM's
 * guest left in `globalThis` (0: nothing), then leaves a global, arms a
 * timer and queues a promise callback that would change it later.
 */
export function guest_module_state(): void {
  image_calls++;
  const g = globalThis as { __guest_left__?: number };
  report(image_calls);
  report(g.__guest_left__ ?? 0);
  g.__guest_left__ = 7;
  setTimeout(() => {
    g.__guest_left__ = 9;
  }, 0);
  // Promise callbacks run once the worker's stack is empty: after the VM's free.
  queueMicrotask(() => {
    g.__guest_left__ = 11;
    setTimeout(() => {
      g.__guest_left__ = 13;
    }, 0);
  });
  hlt();
}
