// SPDX-License-Identifier: GPL-2.0-only
/**
 * A guest image with state of its own at the top level (a counter guest
 * code increments): a pooled vCPU worker imports a fresh instance of it for
 * each VM (`sim/cpu/image_state.ts`). `sim/vm_lifecycle_bench.ts` times a
 * VM's life with it against itself, an image without state.
 *
 * @module
 */

import { GUEST_SYNC } from "../../include/kvm_util.ts";
// The module graph of vm_lifecycle_bench.ts, the image without state it is
// compared with: a re-import costs more the larger the graph.
import "../../include/ucall_common.ts";
import "../../include/x86/processor.ts";
import "../../include/x86/tdx/test_util.ts";
import "../cpu/vcpu_thread.ts";
import "../backend.ts";

/** This module's URL: the image to give `set_exe_file()`. */
export const STATEFUL_IMAGE: string = import.meta.url;

let runs = 0;

/** Guest: its first exit reports how often this instance ran (1 in every VM). */
export function lifecycle_guest_sync_stateful(): void {
  runs++;
  GUEST_SYNC(runs);
}
