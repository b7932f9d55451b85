// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/apic.h`: the local APIC
 * registers and the guest helpers of `lib/x86/apic.ts`.
 *
 * @module
 */

export * from "../../lib/x86/apic.ts";
