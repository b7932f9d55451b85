// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated Intel TDX module (1.5.01), the room KVM's TDX support
 * (`sim/kernel/arch/x86/kvm/vmx/tdx.ts`) sits on:
 *
 * - global state and the HKID pool: `sysinfo.ts`;
 * - TD and vCPU state (TDR/TDCS/TDVPS): `td.ts`, `td_params.ts`;
 * - SEAMCALLs KVM makes: `tdh_mng.ts` (CREATE, KEY.CONFIG, INIT, RD,
 *   VPFLUSHDONE, KEY.FREEID), `tdh_vp.ts` (VP.CREATE, VP.INIT, the initial
 *   vCPU state), `tdh_mem.ts` (PAGE.ADD, MR.EXTEND, MR.FINALIZE, PAGE.AUG,
 *   RANGE.BLOCK, TRACK, PAGE.REMOVE);
 * - TDCALLs the guest makes: `tdcall.ts` (`tdg_dispatch`, `td_cpuid`);
 * - the Secure EPT state the CPU reads: `sept.ts`;
 * - the TD vCPU's virtual APIC (posted interrupts, virtual-interrupt
 *   delivery, the x2APIC MSRs the CPU virtualizes): `vapic.ts`;
 * - the virtual CPUID: `cpuid.ts`; measurement: `measure.ts`; TDREPORT:
 *   `tdreport.ts`.
 *
 * Every SEAMCALL returns the module's 64-bit status (`TDX_*` of
 * `include/x86/tdx/tdcall.ts`).
 *
 * @module
 */

export * from "./sysinfo.ts";
export * from "./td.ts";
export * from "./td_params.ts";
export * from "./cpuid.ts";
export * from "./sept.ts";
export * from "./measure.ts";
export * from "./tdh_mng.ts";
export * from "./tdh_vp.ts";
export * from "./tdh_mem.ts";
export * from "./tdcall.ts";
export * from "./tdreport.ts";
export * from "./vapic.ts";
