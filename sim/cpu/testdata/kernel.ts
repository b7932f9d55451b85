// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel's half of exits, as far as CPU tests need it: complete the
 * exiting instruction, read a reported value.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import type { vcpu_thread } from "../vcpu_thread.ts";
import { EXIT_REASON_IO_INSTRUCTION, IO_QUAL_IN, VCPU_REGS_RAX } from "../vmx.ts";
import { REPORT_PORT } from "./guest.ts";

/** `kvm_skip_emulated_instruction()`: RIP += exit_instruction_len. */
export function skip(v: vcpu_thread): void {
  v.vmcs.rip += BigInt(v.vmcs.exit_instruction_len);
}

/** The port of an I/O exit. */
export function io_port(v: vcpu_thread): number {
  return Number(v.vmcs.exit_qualification >> 16n) & 0xffff;
}

/** Whether an I/O exit is an IN. */
export function io_in(v: vcpu_thread): boolean {
  return (Number(v.vmcs.exit_qualification) & IO_QUAL_IN) !== 0;
}

/** Enters and expects an I/O exit on the report port; returns the value, completing the OUT. */
export function next_report(v: vcpu_thread): number {
  const r = v.enter();
  if (r !== EXIT_REASON_IO_INSTRUCTION) {
    throw new Error(`expected a report, got exit ${r}: ${v.guest_error()}`);
  }
  assertEquals(io_port(v), REPORT_PORT);
  skip(v);
  return Number(v.vmcs.regs.at(VCPU_REGS_RAX) & 0xffffffffn);
}

/** Enters and expects exit `reason`. */
export function expect_exit(v: vcpu_thread, reason: number): void {
  const r = v.enter();
  if (r !== reason) throw new Error(`expected exit ${reason}, got ${r}: ${v.guest_error()}`);
}
