// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated CPU's side of `struct ex_regs` (defined in
 * `include/x86/ex_regs.ts`): which register file slots the frame's GPR
 * members are saved from and restored to.
 *
 * @module
 */

import {
  VCPU_REGS_R10,
  VCPU_REGS_R11,
  VCPU_REGS_R12,
  VCPU_REGS_R13,
  VCPU_REGS_R14,
  VCPU_REGS_R15,
  VCPU_REGS_R8,
  VCPU_REGS_R9,
  VCPU_REGS_RAX,
  VCPU_REGS_RBP,
  VCPU_REGS_RBX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
} from "./vmx.ts";

export { ex_regs, type ex_regs_fields, type ex_regs_view } from "../../include/x86/ex_regs.ts";

/** The GPR numbers (`VCPU_REGS_*`) of the first 15 members of `ex_regs`, in order (no RSP). */
export const EX_REGS_GPRS: readonly number[] = [
  VCPU_REGS_RAX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDX,
  VCPU_REGS_RBX,
  VCPU_REGS_RBP,
  VCPU_REGS_RSI,
  VCPU_REGS_RDI,
  VCPU_REGS_R8,
  VCPU_REGS_R9,
  VCPU_REGS_R10,
  VCPU_REGS_R11,
  VCPU_REGS_R12,
  VCPU_REGS_R13,
  VCPU_REGS_R14,
  VCPU_REGS_R15,
];
