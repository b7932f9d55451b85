// SPDX-License-Identifier: GPL-2.0-only
/**
 * `arch/x86/include/asm/apicdef.h` as the in-kernel LAPIC
 * (`sim/kernel/arch/x86/kvm/lapic.ts`) includes it: the one definition is
 * `include/asm/apicdef.ts`, shared with the library.
 *
 * @module
 */

export * from "../../../../../../include/asm/apicdef.ts";
