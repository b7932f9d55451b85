// SPDX-License-Identifier: GPL-2.0-only
/**
 * `current`: the one simulated process (task) that makes syscalls, with its
 * address space and descriptor table. Each Deno thread has its own module
 * instance, so a vCPU worker never sees the host thread's process state.
 *
 * @module
 */

import { files_struct } from "../../fs/file.ts";
import { mm_struct } from "../../mm/mmap.ts";

/** The parts of `struct task_struct` the simulated kernel uses. */
export interface task_struct {
  /** The address space. */
  readonly mm: mm_struct;
  /** The descriptor table. */
  readonly files: files_struct;
}

/** The calling process. */
export const current: task_struct = { mm: new mm_struct(), files: new files_struct() };
