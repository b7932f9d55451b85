// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/lib/guest_modes.c` and
 * `include/guest_modes.h` (kvm-x86 `next` at 1a27afa0511e): the table of
 * guest modes a test runs in, the `-m` option that selects them, and
 * `for_each_guest_mode()`. On x86 the default is `VM_MODE_DEFAULT` only,
 * as upstream's `guest_modes_append_default()` has it.
 *
 * `for_each_guest_mode()` awaits each run, so that a test whose vCPUs run
 * asynchronously (C pthreads) can pass an `async` function.
 *
 * @module
 */

import { vm_guest_mode, VM_MODE_DEFAULT } from "../include/kvm_util_types.ts";

const NUM_VM_MODES = vm_guest_mode.NUM_VM_MODES;
import { atoi_non_negative, TEST_ASSERT } from "../include/test_util.ts";
import { vm_guest_mode_string } from "./kvm_util.ts";
import { printf } from "../include/libc/stdio.ts";

/** C `struct guest_mode`. */
export interface guest_mode {
  /** The host can run guests in this mode. */
  supported: boolean;
  /** The test runs in this mode. */
  enabled: boolean;
}

/** C `guest_modes[NUM_VM_MODES]`. */
export const guest_modes: guest_mode[] = Array.from(
  { length: NUM_VM_MODES },
  () => ({ supported: false, enabled: false }),
);

/** C `guest_mode_append(mode, enabled)`: the mode is supported; enabled as given. */
export function guest_mode_append(mode: vm_guest_mode, enabled: boolean): void {
  guest_modes[mode]!.supported = true;
  guest_modes[mode]!.enabled = enabled;
}

/** C `guest_modes_append_default()`: on x86, `VM_MODE_DEFAULT`. */
export function guest_modes_append_default(): void {
  guest_mode_append(VM_MODE_DEFAULT, true);
}

/**
 * C `for_each_guest_mode(func, arg)`: runs `func` in each enabled mode,
 * which must be supported.
 */
export async function for_each_guest_mode<A>(
  func: (mode: vm_guest_mode, arg: A) => void | Promise<void>,
  arg: A,
): Promise<void> {
  for (let i = 0; i < NUM_VM_MODES; ++i) {
    if (!guest_modes[i]!.enabled) continue;
    TEST_ASSERT(
      guest_modes[i]!.supported,
      "Guest mode ID %d (%s) not supported.",
      i,
      vm_guest_mode_string(i),
    );
    await func(i as vm_guest_mode, arg);
  }
}

/** C `guest_modes_help()`: the `-m` option's help and the mode IDs. */
export function guest_modes_help(): void {
  printf(
    " -m: specify the guest mode ID to test\n" +
      "     (default: test all supported modes)\n" +
      "     This option may be used multiple times.\n" +
      "     Guest mode IDs:\n",
  );
  for (let i = 0; i < NUM_VM_MODES; ++i) {
    printf(
      "         %d:    %s%s\n",
      i,
      vm_guest_mode_string(i),
      guest_modes[i]!.supported ? " (supported)" : "",
    );
  }
}

let mode_selected = false;

/**
 * C `guest_modes_cmdline(arg)`: the first `-m` disables every mode, then
 * each `-m` enables the one it names.
 */
export function guest_modes_cmdline(arg: string): void {
  if (!mode_selected) {
    for (const m of guest_modes) m.enabled = false;
    mode_selected = true;
  }
  const mode = atoi_non_negative("Guest mode ID", arg);
  TEST_ASSERT(mode < NUM_VM_MODES, "Guest mode ID %d too big", mode);
  guest_modes[mode]!.enabled = true;
}
