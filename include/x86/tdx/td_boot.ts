// SPDX-License-Identifier: GPL-2.0-only
/**
 * `include/x86/tdx/td_boot.h`: what the 32-bit TD boot code reads at the
 * reset vector. A TD starts in 32-bit protected mode with paging off at
 * 0xfffffff0 (the TDX module's initial state), so the library leaves it a
 * parameter page below 4 GiB from which it loads GDTR, IDTR, CR4, CR3 and CR0,
 * then a per-vCPU stack and entry point picked by the vCPU index in ESI.
 *
 * Guest physical layout just below 4 GiB:
 *
 * ```
 * 0x1_0000_0000   end of the boot code page
 *                 16 bytes: the JMP rel8 trampoline at the reset vector
 * 0x0_ffff_fff0   reset vector; the boot code ends exactly here
 *                 ...
 * 0x0_ffff_0000   TD_BOOT_PARAMETERS_GPA: struct td_boot_parameters
 * ```
 *
 * @module
 */

import { type ArrayType, flex, type RecordType, struct, u16, u32, u64 } from "../../c/layout.ts";

/** The reset vector, where a TD's first instruction is fetched. */
export const X86_RESET_VECTOR = 0xfffffff0;

/** Where the boot parameters live (below 4 GiB so 32-bit code can address them). */
export const TD_BOOT_PARAMETERS_GPA = 0xffff0000;

/** The 6-byte operand of a 32-bit `lgdt`/`lidt`, hence `__packed`. */
export const td_boot_parameters_dtr: RecordType<{ limit: u16; base: u32 }> = struct(
  "td_boot_parameters_dtr",
  { limit: u16, base: u32 },
  { packed: true },
);

/** Each vCPU's own stack and entry point. */
export const td_per_vcpu_parameters: RecordType<{ esp_gva: u32; guest_code: u64 }> = struct(
  "td_per_vcpu_parameters",
  { esp_gva: u32, guest_code: u64 },
);

/** The parameter block at `TD_BOOT_PARAMETERS_GPA`, one `per_vcpu` entry per vCPU index. */
export const td_boot_parameters: RecordType<{
  cr0: u32;
  cr3: u32;
  cr4: u32;
  gdtr: typeof td_boot_parameters_dtr;
  idtr: typeof td_boot_parameters_dtr;
  per_vcpu: ArrayType<typeof td_per_vcpu_parameters>;
}> = struct("td_boot_parameters", {
  cr0: u32,
  cr3: u32,
  cr4: u32,
  gdtr: td_boot_parameters_dtr,
  idtr: td_boot_parameters_dtr,
  per_vcpu: flex(td_per_vcpu_parameters),
});
