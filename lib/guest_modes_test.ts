// SPDX-License-Identifier: GPL-2.0-only
/**
 * `guest_modes.c` semantics: x86's default mode only, `-m` replacing the
 * default selection, `for_each_guest_mode()` visiting enabled modes in ID
 * order and awaiting each.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { vm_guest_mode, VM_MODE_DEFAULT } from "../include/kvm_util_types.ts";
import {
  for_each_guest_mode,
  guest_mode_append,
  guest_modes,
  guest_modes_append_default,
  guest_modes_cmdline,
} from "./guest_modes.ts";

Deno.test("guest modes: default, -m selection, for_each_guest_mode order", async () => {
  guest_modes_append_default();
  assertEquals(
    guest_modes.flatMap((m, i) => m.enabled ? [i] : []),
    [VM_MODE_DEFAULT],
  );
  guest_mode_append(vm_guest_mode.VM_MODE_P36V48_4K, false);
  const seen: number[] = [];
  await for_each_guest_mode(async (mode, arg: string) => {
    await Promise.resolve();
    seen.push(mode);
    assertEquals(arg, "arg");
  }, "arg");
  assertEquals(seen, [VM_MODE_DEFAULT]);
  // The first -m drops the default; each -m adds its mode.
  guest_modes_cmdline(String(vm_guest_mode.VM_MODE_P36V48_4K));
  seen.length = 0;
  await for_each_guest_mode((mode) => void seen.push(mode), null);
  assertEquals(seen, [vm_guest_mode.VM_MODE_P36V48_4K]);
  guest_modes_cmdline(String(VM_MODE_DEFAULT));
  seen.length = 0;
  await for_each_guest_mode((mode) => void seen.push(mode), null);
  assertEquals(seen, [VM_MODE_DEFAULT, vm_guest_mode.VM_MODE_P36V48_4K].sort((a, b) => a - b));
});
