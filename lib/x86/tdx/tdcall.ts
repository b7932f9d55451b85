// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/tdx/tdcall.S` (the TDX
 * selftest series up to v12): the two TDCALL wrappers every guest-side TDX
 * helper is built on. `__tdx_hypercall()` asks the VMM for a service
 * (TDG.VP.VMCALL), `__tdx_module_call()` asks the TDX module itself
 * (TDG.VP.INFO, TDG.MR.REPORT, TDG.MEM.PAGE.ACCEPT, ...).
 *
 * The CPU model's `tdcall` intrinsic is the instruction; what these add is
 * the calling convention of the assembly: which registers go in, which come
 * back, and which one is the result.
 *
 * @module
 */

import {
  TDG_VP_VMCALL,
  TDX_HCALL_HAS_OUTPUT,
  type tdx_hypercall_args,
  type tdx_module_output,
} from "../../../include/x86/tdx/tdcall.ts";
import { TDG_VP_VMCALL_DEFAULT_EXPOSED_MASK } from "../../../include/x86/tdx/tdx.ts";
import { guest_cpu } from "../../guest_insn.ts";

/**
 * C `__tdx_hypercall(args, flags)` (guest): TDG.VP.VMCALL with R10..R15
 * from `args` and RCX exposing exactly those six registers to the VMM (the
 * TDX module hands the VMM zeros for every other GPR, so nothing else could
 * carry an argument anyway).
 *
 * `mask` replaces that RCX for a negative test: the TDX module refuses a
 * mask exposing RAX, RCX, RSP (or RBP, as KVM configures TDs) or bits 63:32
 * with `TDX_OPERAND_INVALID` in RAX before the VMM sees anything, and that
 * status is what this returns then (R10 is untouched); a mask that hides
 * R10..R15 hands the VMM zeros in their place.
 *
 * @param args R10 (call type) and R11 (sub-function) and the arguments in R12..R15
 * @param flags {@linkcode TDX_HCALL_HAS_OUTPUT} to copy R10..R15 back into `args`
 * @param mask RCX: the GPRs exposed to the VMM (bit n = GPR n)
 * @returns R10 after the call: the VMM's TDVMCALL status (`TDG_VP_VMCALL_SUCCESS`, ...);
 *   RAX only when the TDX module refused the TDCALL itself (non-zero: `TDX_OPERAND_INVALID`
 *   for a bad `mask`), where upstream's assembly would return the untouched R10
 */
export function __tdx_hypercall(
  args: tdx_hypercall_args,
  flags: number,
  mask: bigint = TDG_VP_VMCALL_DEFAULT_EXPOSED_MASK,
): bigint {
  const regs = {
    rcx: mask,
    r10: args.r10,
    r11: args.r11,
    r12: args.r12,
    r13: args.r13,
    r14: args.r14,
    r15: args.r15,
  };
  const status = guest_cpu().tdcall(TDG_VP_VMCALL, regs);
  // The module refused the TDCALL itself (a bad mask): nothing reached the VMM.
  if (status !== 0n) return status;
  if (flags & TDX_HCALL_HAS_OUTPUT) {
    args.r10 = regs.r10;
    args.r11 = regs.r11;
    args.r12 = regs.r12;
    args.r13 = regs.r13;
    args.r14 = regs.r14;
    args.r15 = regs.r15;
  }
  return regs.r10;
}

/**
 * C `__tdx_module_call(fn, rcx, rdx, r8, r9, out)` (guest): TDCALL leaf
 * `fn` with its inputs in RCX, RDX, R8 and R9.
 *
 * @param fn the TDCALL leaf (RAX; `TDG_VP_INFO`, `TDG_MR_REPORT`, ...)
 * @param rcx RCX
 * @param rdx RDX
 * @param r8 R8
 * @param r9 R9
 * @param out if given, receives RCX, RDX and R8..R11 after the call
 * @returns RAX after the call: the TDX module's completion status (`TDX_SUCCESS`, ...)
 */
export function __tdx_module_call(
  fn: number | bigint,
  rcx: bigint,
  rdx: bigint,
  r8: bigint,
  r9: bigint,
  out?: tdx_module_output | null,
): bigint {
  const regs = { rcx, rdx, r8, r9, r10: 0n, r11: 0n };
  const ret = guest_cpu().tdcall(fn, regs);
  if (out) {
    out.rcx = regs.rcx;
    out.rdx = regs.rdx;
    out.r8 = regs.r8;
    out.r9 = regs.r9;
    out.r10 = regs.r10;
    out.r11 = regs.r11;
  }
  return ret;
}
