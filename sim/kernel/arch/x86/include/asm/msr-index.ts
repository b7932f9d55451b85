// SPDX-License-Identifier: GPL-2.0-only
/**
 * `arch/x86/include/asm/msr-index.h` as the simulated KVM includes it. The
 * definitions are the one copy in `include/asm/msr-index.ts`, which the
 * library and the simulated CPU import too; the paravirtual MSRs are
 * `include/linux/kvm_para.ts`'s.
 *
 * @module
 */

import { APIC_DEFAULT_PHYS_BASE as APIC_DEFAULT_PHYS_BASE_NUM } from "./apicdef.ts";

export * from "../../../../../../include/asm/msr-index.ts";
export {
  MSR_KVM_ASYNC_PF_EN,
  MSR_KVM_POLL_CONTROL,
  MSR_KVM_PV_EOI_EN,
  MSR_KVM_STEAL_TIME,
  MSR_KVM_SYSTEM_TIME,
  MSR_KVM_SYSTEM_TIME_NEW,
  MSR_KVM_WALL_CLOCK,
  MSR_KVM_WALL_CLOCK_NEW,
} from "../../../../../../include/linux/kvm_para.ts";
export { APIC_BASE_MSR } from "./apicdef.ts";

/** `APIC_DEFAULT_PHYS_BASE` as an MSR value (IA32_APIC_BASE's reset base). */
export const APIC_DEFAULT_PHYS_BASE: bigint = BigInt(APIC_DEFAULT_PHYS_BASE_NUM);
