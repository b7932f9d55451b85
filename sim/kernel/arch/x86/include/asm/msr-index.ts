// SPDX-License-Identifier: GPL-2.0-only
/**
 * MSR indices the simulated KVM emulates (`arch/x86/include/asm/msr-index.h`,
 * a kernel-internal header, not uAPI), with the kernel's names.
 *
 * @module
 */

/** `MSR_IA32_TSC` */
export const MSR_IA32_TSC = 0x10;
/** `MSR_IA32_PLATFORM_ID` */
export const MSR_IA32_PLATFORM_ID = 0x17;
/** `MSR_IA32_APICBASE` */
export const MSR_IA32_APICBASE = 0x1b;
/** `MSR_IA32_FEAT_CTL` */
export const MSR_IA32_FEAT_CTL = 0x3a;
/** `MSR_IA32_TSC_ADJUST` */
export const MSR_IA32_TSC_ADJUST = 0x3b;
/** `MSR_IA32_SPEC_CTRL` */
export const MSR_IA32_SPEC_CTRL = 0x48;
/** `MSR_IA32_PRED_CMD` */
export const MSR_IA32_PRED_CMD = 0x49;
/** `MSR_IA32_UCODE_REV` */
export const MSR_IA32_UCODE_REV = 0x8b;
/** `MSR_PLATFORM_INFO` */
export const MSR_PLATFORM_INFO = 0xce;
/** `MSR_MTRRcap` */
export const MSR_MTRRcap = 0xfe;
/** `MSR_IA32_ARCH_CAPABILITIES` */
export const MSR_IA32_ARCH_CAPABILITIES = 0x10a;
/** `MSR_IA32_SYSENTER_CS` */
export const MSR_IA32_SYSENTER_CS = 0x174;
/** `MSR_IA32_SYSENTER_ESP` */
export const MSR_IA32_SYSENTER_ESP = 0x175;
/** `MSR_IA32_SYSENTER_EIP` */
export const MSR_IA32_SYSENTER_EIP = 0x176;
/** `MSR_IA32_MCG_CAP` */
export const MSR_IA32_MCG_CAP = 0x179;
/** `MSR_IA32_MCG_STATUS` */
export const MSR_IA32_MCG_STATUS = 0x17a;
/** `MSR_IA32_MISC_ENABLE` */
export const MSR_IA32_MISC_ENABLE = 0x1a0;
/** `MSR_IA32_CR_PAT` */
export const MSR_IA32_CR_PAT = 0x277;
/** `MSR_MTRRdefType` */
export const MSR_MTRRdefType = 0x2ff;
/** `MSR_IA32_TSC_DEADLINE` */
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
/** `APIC_BASE_MSR`: first x2APIC MSR. */
export const APIC_BASE_MSR = 0x800;
/** `MSR_IA32_XSS` */
export const MSR_IA32_XSS = 0xda0;
/** `MSR_EFER` */
export const MSR_EFER = 0xc0000080;
/** `MSR_STAR` */
export const MSR_STAR = 0xc0000081;
/** `MSR_LSTAR` */
export const MSR_LSTAR = 0xc0000082;
/** `MSR_CSTAR` */
export const MSR_CSTAR = 0xc0000083;
/** `MSR_SYSCALL_MASK` */
export const MSR_SYSCALL_MASK = 0xc0000084;
/** `MSR_FS_BASE` */
export const MSR_FS_BASE = 0xc0000100;
/** `MSR_GS_BASE` */
export const MSR_GS_BASE = 0xc0000101;
/** `MSR_KERNEL_GS_BASE` */
export const MSR_KERNEL_GS_BASE = 0xc0000102;
/** `MSR_TSC_AUX` */
export const MSR_TSC_AUX = 0xc0000103;

/** `EFER_SCE` */
export const EFER_SCE = 1n << 0n;
/** `EFER_LME` */
export const EFER_LME = 1n << 8n;
/** `EFER_LMA` */
export const EFER_LMA = 1n << 10n;
/** `EFER_NX` */
export const EFER_NX = 1n << 11n;

/** `MSR_IA32_APICBASE_BSP` */
export const MSR_IA32_APICBASE_BSP = 1n << 8n;
/** `MSR_IA32_APICBASE_EXTD` (x2APIC mode) */
export const MSR_IA32_APICBASE_EXTD = 1n << 10n;
/** `MSR_IA32_APICBASE_ENABLE` */
export const MSR_IA32_APICBASE_ENABLE = 1n << 11n;
/** `APIC_DEFAULT_PHYS_BASE` */
export const APIC_DEFAULT_PHYS_BASE = 0xfee00000n;

/** `MSR_IA32_MISC_ENABLE_BTS_UNAVAIL` */
export const MSR_IA32_MISC_ENABLE_BTS_UNAVAIL = 1n << 11n;
/** `MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL` */
export const MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL = 1n << 12n;
/** `MSR_IA32_CR_PAT_DEFAULT` */
export const MSR_IA32_CR_PAT_DEFAULT = 0x0007040600070406n;
/** `MSR_IA32_MC0_CTL`: the first machine-check bank (CTL, STATUS, ADDR, MISC per bank). */
export const MSR_IA32_MC0_CTL = 0x400;
/** `MSR_IA32_MC0_CTL2`: the first bank's CMCI control (one MSR per bank). */
export const MSR_IA32_MC0_CTL2 = 0x280;
/** `MSR_IA32_MCG_CTL` */
export const MSR_IA32_MCG_CTL = 0x17b;
/** `MSR_IA32_MCG_EXT_CTL` */
export const MSR_IA32_MCG_EXT_CTL = 0x4d0;
/** `MSR_IA32_P5_MC_ADDR` */
export const MSR_IA32_P5_MC_ADDR = 0;
/** `MSR_IA32_P5_MC_TYPE` */
export const MSR_IA32_P5_MC_TYPE = 1;
/** `FEAT_CTL_LMCE_ENABLED`: IA32_FEATURE_CONTROL bit 20. */
export const FEAT_CTL_LMCE_ENABLED = 1n << 20n;
/** `MSR_KVM_WALL_CLOCK` (kvm_para.h, the original kvmclock MSRs). */
export const MSR_KVM_WALL_CLOCK = 0x11;
/** `MSR_KVM_SYSTEM_TIME`. */
export const MSR_KVM_SYSTEM_TIME = 0x12;
/** `MSR_KVM_WALL_CLOCK_NEW`. */
export const MSR_KVM_WALL_CLOCK_NEW = 0x4b564d00;
/** `MSR_KVM_SYSTEM_TIME_NEW`. */
export const MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01;
/** `MSR_KVM_ASYNC_PF_EN`. */
export const MSR_KVM_ASYNC_PF_EN = 0x4b564d02;
/** `MSR_KVM_STEAL_TIME`. */
export const MSR_KVM_STEAL_TIME = 0x4b564d03;
/** `MSR_KVM_PV_EOI_EN`. */
export const MSR_KVM_PV_EOI_EN = 0x4b564d04;
/** `MSR_KVM_POLL_CONTROL`: bit 0 lets the host poll before halting the vCPU. */
export const MSR_KVM_POLL_CONTROL = 0x4b564d05;
/** `MSR_IA32_MISC_ENABLE_FAST_STRING`. */
export const MSR_IA32_MISC_ENABLE_FAST_STRING = 1n << 0n;
/** `MSR_K7_HWCR`: AMD's hardware configuration register, which KVM emulates on every host. */
export const MSR_K7_HWCR = 0xc0010015;
