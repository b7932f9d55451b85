// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest image of `sim/raw_td_bench.ts`: only the guest function. A
 * vCPU worker imports the image afresh for each VM it serves (so that no
 * module state passes from one VM to the next), which runs its top-level
 * code each time; the bench module's own top level builds 40 MiB of
 * measurement data, which would then be timed with every TD.
 *
 * @module
 */

import { tdcall } from "../cpu/insn.ts";

/** This module's URL: the image to give `set_exe_file()`. */
export const TD_BENCH_IMAGE: string = import.meta.url;

/** The bench guest: one port write (TDVMCALL<Instruction.IO>), then HLT forever. */
export function td_bench_guest(): void {
  tdcall(0, { rcx: 0xfc00n, r10: 0n, r11: 30n, r12: 1n, r13: 1n, r14: 0x80n, r15: 1n });
  for (;;) tdcall(0, { rcx: 0xfc00n, r10: 0n, r11: 12n, r12: 0n });
}
