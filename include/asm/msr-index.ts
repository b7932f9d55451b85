// SPDX-License-Identifier: GPL-2.0-only
/**
 * MSR indices and the bits of the MSRs the project names, with the kernel's
 * names (`arch/x86/include/asm/msr-index.h`, of which the selftests build
 * against the copy in `tools/arch/x86/include/asm/`). The one definition:
 * the library (`include/x86/processor.ts` re-exports it), the simulated KVM
 * (`sim/kernel/arch/x86/include/asm/msr-index.ts`) and the simulated CPU
 * (`sim/cpu/vmx.ts`) all import it. Indices are numbers (the ECX operand);
 * bits of an MSR's value are bigints, as the value is 64 bits wide.
 * Paravirtual MSRs (`MSR_KVM_*`) are `include/linux/kvm_para.ts`'s.
 *
 * @module
 */
/** `EFER_SCE` */
export const EFER_SCE: bigint = 1n << 0n;
/** `EFER_LME` */
export const EFER_LME: bigint = 1n << 8n;
/** `EFER_LMA` */
export const EFER_LMA: bigint = 1n << 10n;
/** `EFER_NX` */
export const EFER_NX: bigint = 1n << 11n;
/** EFER.SVME. */
export const EFER_SVME: bigint = 1n << 12n;
/** EFER.LMSLE. */
export const EFER_LMSLE: bigint = 1n << 13n;
/** EFER.FFXSR. */
export const EFER_FFXSR: bigint = 1n << 14n;
/** EFER.AUTOIBRS. */
export const EFER_AUTOIBRS: bigint = 1n << 21n;
/** `MSR_EFER` */
export const MSR_EFER = 0xc0000080;
/** `MSR_STAR` */
export const MSR_STAR = 0xc0000081;
/** `MSR_LSTAR` */
export const MSR_LSTAR = 0xc0000082;
/** `MSR_FS_BASE` */
export const MSR_FS_BASE = 0xc0000100;
/** `MSR_GS_BASE` */
export const MSR_GS_BASE = 0xc0000101;
/** `MSR_KERNEL_GS_BASE` */
export const MSR_KERNEL_GS_BASE = 0xc0000102;
/** `MSR_TSC_AUX` */
export const MSR_TSC_AUX = 0xc0000103;
/** `MSR_IA32_TSC` */
export const MSR_IA32_TSC = 0x10;
/** `MSR_IA32_APICBASE` */
export const MSR_IA32_APICBASE = 0x1b;
/** `MSR_IA32_FEAT_CTL` (IA32_FEATURE_CONTROL). */
export const MSR_IA32_FEAT_CTL = 0x3a;
/** `MSR_IA32_FEATURE_CONTROL`: the older name of {@linkcode MSR_IA32_FEAT_CTL}. */
export const MSR_IA32_FEATURE_CONTROL: number = MSR_IA32_FEAT_CTL;
/** `MSR_IA32_TSC_ADJUST` */
export const MSR_IA32_TSC_ADJUST = 0x3b;
/** `MSR_IA32_SPEC_CTRL` */
export const MSR_IA32_SPEC_CTRL = 0x48;
/** `MSR_IA32_FLUSH_CMD`. */
export const MSR_IA32_FLUSH_CMD = 0x10b;
/** `MSR_IA32_UCODE_REV` */
export const MSR_IA32_UCODE_REV = 0x8b;
/** `MSR_PLATFORM_INFO` */
export const MSR_PLATFORM_INFO = 0xce;
/** `MSR_IA32_MISC_ENABLE` */
export const MSR_IA32_MISC_ENABLE = 0x1a0;
/** `MSR_IA32_CR_PAT` */
export const MSR_IA32_CR_PAT = 0x277;
/** `MSR_IA32_XSS` */
export const MSR_IA32_XSS = 0xda0;
/** `MSR_IA32_POWER_CTL`. */
export const MSR_IA32_POWER_CTL = 0x1fc;
/** `MSR_SYSCALL_MASK` */
export const MSR_SYSCALL_MASK = 0xc0000084;
/** `MSR_FS_BASE` spelled as in some tests. */
export const MSR_IA32_FS_BASE: number = MSR_FS_BASE;
/** `MSR_AMD64_SEV_ES_GHCB`: the GHCB MSR, which carries GHCB MSR protocol requests. */
export const MSR_AMD64_SEV_ES_GHCB = 0xc0010130;
/** `MSR_AMD64_SEV`: the guest's SEV status (read-only; SEV-ES guests read it without an exit). */
export const MSR_AMD64_SEV = 0xc0010131;
/** `MSR_AMD64_SEV_ENABLED`: the guest runs with encrypted memory. */
export const MSR_AMD64_SEV_ENABLED: bigint = 1n << 0n;
/** `MSR_AMD64_SEV_ES_ENABLED`: the guest's register state is encrypted too. */
export const MSR_AMD64_SEV_ES_ENABLED: bigint = 1n << 1n;
/** `MSR_AMD64_SEV_SNP_ENABLED`: the guest is an SEV-SNP guest. */
export const MSR_AMD64_SEV_SNP_ENABLED: bigint = 1n << 2n;
/** `MSR_K7_HWCR`: AMD's hardware configuration register, which KVM emulates on every host. */
export const MSR_K7_HWCR = 0xc0010015;
/** AMD `MSR_AMD64_DE_CFG`: decode configuration. */
export const MSR_AMD64_DE_CFG = 0xc0011029;
/** `MSR_IA32_VMX_BASIC`. */
export const MSR_IA32_VMX_BASIC = 0x480;
/** `MSR_IA32_VMX_PINBASED_CTLS`. */
export const MSR_IA32_VMX_PINBASED_CTLS = 0x481;
/** `MSR_IA32_VMX_PROCBASED_CTLS`. */
export const MSR_IA32_VMX_PROCBASED_CTLS = 0x482;
/** `MSR_IA32_VMX_EXIT_CTLS`. */
export const MSR_IA32_VMX_EXIT_CTLS = 0x483;
/** `MSR_IA32_VMX_ENTRY_CTLS`. */
export const MSR_IA32_VMX_ENTRY_CTLS = 0x484;
/** `MSR_IA32_VMX_MISC`. */
export const MSR_IA32_VMX_MISC = 0x485;
/** `MSR_IA32_VMX_CR0_FIXED0`. */
export const MSR_IA32_VMX_CR0_FIXED0 = 0x486;
/** `MSR_IA32_VMX_CR0_FIXED1`. */
export const MSR_IA32_VMX_CR0_FIXED1 = 0x487;
/** `MSR_IA32_VMX_CR4_FIXED0`. */
export const MSR_IA32_VMX_CR4_FIXED0 = 0x488;
/** `MSR_IA32_VMX_CR4_FIXED1`. */
export const MSR_IA32_VMX_CR4_FIXED1 = 0x489;
/** `MSR_IA32_SYSENTER_CS` */
export const MSR_IA32_SYSENTER_CS = 0x174;
/** `MSR_IA32_SYSENTER_ESP` */
export const MSR_IA32_SYSENTER_ESP = 0x175;
/** `MSR_IA32_SYSENTER_EIP` */
export const MSR_IA32_SYSENTER_EIP = 0x176;
/** `MSR_CSTAR` */
export const MSR_CSTAR = 0xc0000083;
/** `MSR_IA32_U_CET`: shadow-stack and IBT enables that apply while CPL is 3. */
export const MSR_IA32_U_CET = 0x6a0;
/** `MSR_IA32_S_CET`: the same enables for CPL 0-2. */
export const MSR_IA32_S_CET = 0x6a2;
/** `MSR_IA32_PL0_SSP`: where the CPU takes SSP from on entering CPL 0 (PL1..PL3: CPL 1-3). */
export const MSR_IA32_PL0_SSP = 0x6a4;
/** `MSR_IA32_PL1_SSP`. */
export const MSR_IA32_PL1_SSP = 0x6a5;
/** `MSR_IA32_PL2_SSP`. */
export const MSR_IA32_PL2_SSP = 0x6a6;
/** `MSR_IA32_PL3_SSP`. */
export const MSR_IA32_PL3_SSP = 0x6a7;
/** `MSR_IA32_MISC_ENABLE_FAST_STRING`. */
export const MSR_IA32_MISC_ENABLE_FAST_STRING: bigint = 1n << 0n;
/** `MSR_IA32_MISC_ENABLE_BTS_UNAVAIL` */
export const MSR_IA32_MISC_ENABLE_BTS_UNAVAIL: bigint = 1n << 11n;
/** `MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL` */
export const MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL: bigint = 1n << 12n;
/** `MSR_IA32_VMX_VMCS_ENUM`. */
export const MSR_IA32_VMX_VMCS_ENUM = 0x48a;
/** `MSR_IA32_VMX_PROCBASED_CTLS2`. */
export const MSR_IA32_VMX_PROCBASED_CTLS2 = 0x48b;
/** `MSR_IA32_VMX_EPT_VPID_CAP`. */
export const MSR_IA32_VMX_EPT_VPID_CAP = 0x48c;
/** `MSR_IA32_VMX_TRUE_PINBASED_CTLS`. */
export const MSR_IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
/** `MSR_IA32_VMX_TRUE_PROCBASED_CTLS`. */
export const MSR_IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
/** `MSR_IA32_VMX_TRUE_EXIT_CTLS`. */
export const MSR_IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
/** `MSR_IA32_VMX_TRUE_ENTRY_CTLS`. */
export const MSR_IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
/** `MSR_IA32_VMX_VMFUNC`. */
export const MSR_IA32_VMX_VMFUNC = 0x491;
/** `FEAT_CTL_LOCKED`. */
export const FEAT_CTL_LOCKED: bigint = 1n << 0n;
/** `FEAT_CTL_VMX_ENABLED_INSIDE_SMX`. */
export const FEAT_CTL_VMX_ENABLED_INSIDE_SMX: bigint = 1n << 1n;
/** `FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX`. */
export const FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX: bigint = 1n << 2n;
/** `FEAT_CTL_SGX_LC_ENABLED`. */
export const FEAT_CTL_SGX_LC_ENABLED: bigint = 1n << 17n;
/** `FEAT_CTL_SGX_ENABLED`. */
export const FEAT_CTL_SGX_ENABLED: bigint = 1n << 18n;
/** `FEAT_CTL_LMCE_ENABLED`: IA32_FEATURE_CONTROL bit 20. */
export const FEAT_CTL_LMCE_ENABLED: bigint = 1n << 20n;
/** `MSR_IA32_PLATFORM_ID` */
export const MSR_IA32_PLATFORM_ID = 0x17;
/** `MSR_IA32_PRED_CMD` */
export const MSR_IA32_PRED_CMD = 0x49;
/** `MSR_MTRRcap` */
export const MSR_MTRRcap = 0xfe;
/** `MSR_IA32_ARCH_CAPABILITIES` */
export const MSR_IA32_ARCH_CAPABILITIES = 0x10a;
/** `MSR_IA32_MCG_CAP` */
export const MSR_IA32_MCG_CAP = 0x179;
/** `MSR_IA32_MCG_STATUS` */
export const MSR_IA32_MCG_STATUS = 0x17a;
/** `MSR_MTRRdefType` */
export const MSR_MTRRdefType = 0x2ff;
/** `MSR_IA32_TSC_DEADLINE` */
export const MSR_IA32_TSC_DEADLINE = 0x6e0;
/** `MSR_IA32_APICBASE_BSP` */
export const MSR_IA32_APICBASE_BSP: bigint = 1n << 8n;
/** `MSR_IA32_APICBASE_EXTD` (x2APIC mode) */
export const MSR_IA32_APICBASE_EXTD: bigint = 1n << 10n;
/** `MSR_IA32_APICBASE_ENABLE` */
export const MSR_IA32_APICBASE_ENABLE: bigint = 1n << 11n;
/** `MSR_IA32_CR_PAT_DEFAULT` */
export const MSR_IA32_CR_PAT_DEFAULT: bigint = 0x0007040600070406n;
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
/** `MSR_IA32_APICBASE_BASE`: the APIC page frame (bits 51:12). */
export const MSR_IA32_APICBASE_BASE: bigint = 0xfffffn << 12n;
