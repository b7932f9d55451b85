// SPDX-License-Identifier: GPL-2.0-only
/**
 * `struct ex_regs`: what an exception handler receives, with the layout of
 * upstream's `tools/testing/selftests/kvm/include/x86/processor.h` (the
 * registers the entry stub saves, then the vector, the error code and the
 * hardware frame's RIP, CS and RFLAGS). `include/x86/processor.ts` re-exports
 * it; it has a module of its own because whatever builds the frame (the
 * simulated CPU's exception entry, `sim/cpu/events.ts`, and the kvm backend's
 * guest runtime, `lib/x86/guest_runtime_cpu.ts`) must read the layout without
 * loading the whole selftest library.
 *
 * A handler changes `rip` to decide what happens after it returns ("skip or
 * retry"), and may change the saved GPRs, which are restored on return as the
 * stub's pops do.
 *
 * @module
 */

import { type RecordType, struct, u64, type View } from "../c/layout.ts";

/** The members of {@linkcode ex_regs}. */
export type ex_regs_fields = {
  rax: u64;
  rcx: u64;
  rdx: u64;
  rbx: u64;
  rbp: u64;
  rsi: u64;
  rdi: u64;
  r8: u64;
  r9: u64;
  r10: u64;
  r11: u64;
  r12: u64;
  r13: u64;
  r14: u64;
  r15: u64;
  vector: u64;
  error_code: u64;
  rip: u64;
  cs: u64;
  rflags: u64;
};

/** `struct ex_regs`. */
export const ex_regs: RecordType<ex_regs_fields> = struct("ex_regs", {
  rax: u64,
  rcx: u64,
  rdx: u64,
  rbx: u64,
  rbp: u64,
  rsi: u64,
  rdi: u64,
  r8: u64,
  r9: u64,
  r10: u64,
  r11: u64,
  r12: u64,
  r13: u64,
  r14: u64,
  r15: u64,
  vector: u64,
  error_code: u64,
  rip: u64,
  cs: u64,
  rflags: u64,
});

/** A handler's view of its `struct ex_regs` (`regs.rip += 2n` skips a 2-byte instruction). */
export type ex_regs_view = View<ex_regs_fields>;
