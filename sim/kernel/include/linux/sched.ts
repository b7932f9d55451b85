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
  /**
   * The program's image (`mm->exe_file`, what `/proc/self/exe` names): the
   * module URLs a vCPU worker imports to run guest code. It starts as
   * `Deno.mainModule`, the module Deno runs (under `deno test`, the test
   * file), as an ELF executable is the program the kernel exec'd; see
   * {@linkcode set_exe_file}.
   */
  exe_file: readonly string[];
}

function main_module(): string[] {
  try {
    return Deno.mainModule ? [Deno.mainModule] : [];
  } catch {
    return [];
  }
}

/** The calling process. */
export const current: task_struct = {
  mm: new mm_struct(),
  files: new files_struct(),
  exe_file: main_module(),
};

/**
 * Replaces the program image of the simulated process, as `execve()` would:
 * VMs created afterwards run guest code from these modules (each vCPU worker
 * imports them; guest functions are resolved in their exports). For programs
 * whose guest functions live outside the main module.
 *
 * @param urls module URLs, in resolution order
 */
export function set_exe_file(urls: readonly (string | URL)[]): void {
  current.exe_file = urls.map((u) => u.toString());
}
