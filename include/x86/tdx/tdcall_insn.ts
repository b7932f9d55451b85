// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TDCALL instruction itself, for guest code that needs a register
 * layout no wrapper makes: a negative test of the TDX module's or the VMM's
 * checks (a TDG.VP.VMCALL with RCX exposing RAX, an unknown leaf, a bad leaf
 * version). The kernel's twin is `__tdcall_ret()` of
 * `arch/x86/include/asm/shared/tdx.h`; the selftest library's own wrappers,
 * `__tdx_hypercall()` and `__tdx_module_call()`, are in
 * `lib/x86/tdx/tdcall.ts`.
 *
 * It is a module of its own because `include/x86/tdx/tdcall.ts` and
 * `tdx.ts` hold only constants and types: the simulated TDX module and KVM
 * import them, and must not load guest intrinsics.
 *
 * ```ts
 * // TDG.VP.VMCALL exposing RAX: the module refuses it (TDX_OPERAND_INVALID | RCX).
 * const args: tdx_module_args = { rcx: 0xfc01n, r10: 0n, r11: 0x10000n };
 * GUEST_ASSERT_EQ(tdcall(TDG_VP_VMCALL, args) >> 32n, TDX_OPERAND_INVALID >> 32n);
 * ```
 *
 * @module
 */

import { guest_cpu } from "../../../lib/guest_insn.ts";

/** Linux's `struct tdx_module_args`: the GPRs a TDCALL passes and returns (absent ones are 0). */
export type tdx_module_args = NonNullable<Parameters<guest_cpu["tdcall"]>[1]>;

/**
 * `tdcall` (guest): RAX = `fn`, the other GPRs from `args` (absent members
 * are zero); afterwards every member of `args` holds its register's value,
 * as `__tdcall_ret()` leaves them.
 *
 * @param fn RAX: the TDCALL leaf, its version in bits 23:16
 * @param args RCX, RDX, RBX, RSI, RDI, R8..R15 in and out
 * @returns RAX: the TDX module's completion status
 */
export function tdcall(fn: number | bigint, args: tdx_module_args = {}): bigint {
  return guest_cpu().tdcall(fn, args);
}
