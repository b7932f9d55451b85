// SPDX-License-Identifier: GPL-2.0-only
/**
 * `lib/x86/tdx/td_boot_offsets.c`: the offsets the TD boot code reads its
 * parameters at. `deno task gen` turns them into
 * `include/x86/tdx/td_boot_offsets.ts` (for the boot code) and
 * `include/x86/tdx/td_boot_offsets.h` (what Kbuild's `filechk_offsets` makes
 * for `td_boot.S`), so the boot code never hard-codes a layout.
 *
 * @module
 */

import { sizeof } from "../../../include/c/layout.ts";
import { td_boot_parameters, td_per_vcpu_parameters } from "../../../include/x86/tdx/td_boot.ts";
import { DEFINE, OFFSET } from "../../../tools/include/linux/kbuild.ts";

/** The body of the offsets file, in upstream's order. */
export function common(): void {
  OFFSET("TD_BOOT_PARAMETERS_CR0", td_boot_parameters, "cr0");
  OFFSET("TD_BOOT_PARAMETERS_CR3", td_boot_parameters, "cr3");
  OFFSET("TD_BOOT_PARAMETERS_CR4", td_boot_parameters, "cr4");
  OFFSET("TD_BOOT_PARAMETERS_GDT", td_boot_parameters, "gdtr");
  OFFSET("TD_BOOT_PARAMETERS_IDT", td_boot_parameters, "idtr");
  OFFSET("TD_BOOT_PARAMETERS_PER_VCPU", td_boot_parameters, "per_vcpu");
  OFFSET("TD_PER_VCPU_PARAMETERS_ESP_GVA", td_per_vcpu_parameters, "esp_gva");
  OFFSET("TD_PER_VCPU_PARAMETERS_GUEST_CODE", td_per_vcpu_parameters, "guest_code");
  DEFINE("SIZEOF_TD_PER_VCPU_PARAMETERS", sizeof(td_per_vcpu_parameters));
}
