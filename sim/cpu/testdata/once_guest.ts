// SPDX-License-Identifier: GPL-2.0-only
/**
 * A guest image whose top-level code fails when it is evaluated a second
 * time in the same worker (what a pooled worker does for each VM it
 * serves): such an image must still run, on fresh workers.
 *
 * @module
 */

import { hlt, outb } from "../insn.ts";

/** This module's URL: the image to give a vCPU. */
export const ONCE_IMAGE: string = import.meta.url;

const g = globalThis as { __once_guest_loaded__?: boolean };
if (g.__once_guest_loaded__) throw new Error("once_guest.ts cannot be evaluated twice");
g.__once_guest_loaded__ = true;

// State of the module's own (sim/cpu/image_state.ts): without it a pooled
// worker would keep this instance for the next VM rather than evaluate the
// module again, and the failure this image exists for would never happen.
let runs = 0;

/** One `outb` (of the number of runs in this instance) then `hlt`. */
export function guest_once_outb(): void {
  runs++;
  outb(0x80, runs);
  hlt();
}
