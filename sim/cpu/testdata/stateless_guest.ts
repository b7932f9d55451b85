// SPDX-License-Identifier: GPL-2.0-only
/**
 * A guest image with no state of its own at the top level (see
 * `sim/cpu/image_state.ts`): a pooled worker keeps its one instance for
 * every VM. Its guest reports which instance it runs in.
 *
 * @module
 */

import { IMAGE_INSTANCE_PARAM } from "../../../include/libc/process.ts";
import { hlt, outl } from "../insn.ts";
import { REPORT_PORT } from "./guest.ts";

/** This module's URL: the image to give a vCPU. */
export const STATELESS_IMAGE: string = import.meta.url;

/** Reports the instance of this module it runs in (0: the first import), then halts. */
export function guest_report_instance(): void {
  const n = new URL(import.meta.url).searchParams.get(IMAGE_INSTANCE_PARAM);
  outl(REPORT_PORT, n === null ? 0 : Number(n));
  hlt();
}
