// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/processor.h`: control
 * register, EFER and MSR constants, the CPUID feature and property encodings
 * (`X86_FEATURE_*`, `X86_PROPERTY_*`, as upstream's `KVM_X86_CPU_FEATURE()` /
 * `KVM_X86_CPU_PROPERTY()` encode them), the VM shapes of the x86 VM types,
 * descriptor-table layouts, and, through `lib/x86/processor.ts`, the
 * functions of `processor.h`/`processor.c` the library offers: host helpers
 * and the guest-side instruction helpers (`rdmsr`, `wrmsr`, `cpuid`, `inb`,
 * `get_cr0`, ...). `deno task names` lists the ones it does not offer yet
 * (TDP/nested-paging setup, XSAVE permission requests, SSE register access and
 * the instructions the simulated CPU has no intrinsic for: RDTSCP, WRPKRU,
 * RDPMC) and those that cannot exist here (inline-asm building blocks).
 *
 * @module
 */

import { type RecordType, struct, type u16, type u32, type u64 } from "../c/layout.ts";
import { u16 as U16, u32 as U32, u64 as U64 } from "../c/layout.ts";
import { KVM_X86_SEV_ES_VM, KVM_X86_SEV_VM, KVM_X86_SNP_VM, KVM_X86_TDX_VM } from "../asm/kvm.ts";
import { type vm_shape, VM_TYPE } from "../kvm_util_types.ts";

export * from "../../lib/x86/processor.ts";
// processor.h includes the architectural headers; one definition each.
export * from "../asm/msr-index.ts";
export * from "../asm/processor-flags.ts";
export * from "../asm/kvm_vcpu_regs.ts";

/** C `BIT_ULL(n)`. */
function BIT_ULL(n: number): bigint {
  return 1n << BigInt(n);
}

/** C `PAGE_SHIFT`: x86 guests use 4 KiB pages. */
export const PAGE_SHIFT = 12;
/** C `PAGE_SIZE` (`1ULL << PAGE_SHIFT`), a number because tests loop and index with it. */
export const PAGE_SIZE: number = 1 << PAGE_SHIFT;
/** C `PAGE_MASK` (`~(PAGE_SIZE - 1)`), 64 bits wide as in C. */
export const PAGE_MASK: bigint = BigInt.asUintN(64, ~BigInt(PAGE_SIZE - 1));

/** C `NUM_INTERRUPTS`. */
export const NUM_INTERRUPTS = 256;

/** C `NONCANONICAL`: an address that is not canonical with 48 or 57 bits (accessing it is #GP). */
export const NONCANONICAL = 0xaaaaaaaaaaaaaaaan;

/** C `XFEATURE_MASK_FP`: XSAVE state component 0, x87. */
export const XFEATURE_MASK_FP: bigint = BIT_ULL(0);
/** C `XFEATURE_MASK_SSE`: component 1, XMM registers and MXCSR. */
export const XFEATURE_MASK_SSE: bigint = BIT_ULL(1);
/** C `XFEATURE_MASK_YMM`: component 2, the upper halves of the YMM registers. */
export const XFEATURE_MASK_YMM: bigint = BIT_ULL(2);

/** C `KERNEL_CS`: the 64-bit code segment selector the library installs. */
export const KERNEL_CS = 0x8;
/** C `KERNEL_DS`. */
export const KERNEL_DS = 0x10;
/** C `KERNEL_TSS`. */
export const KERNEL_TSS = 0x18;

/** C `KVM_CPUID_EAX` .. `KVM_CPUID_EDX`: indices of a CPUID entry's outputs, in `kvm_cpuid_entry2`'s field order (EAX, EBX, ECX, EDX). */
export const KVM_CPUID_EAX = 0;
/** EBX. */
export const KVM_CPUID_EBX = 1;
/** ECX. */
export const KVM_CPUID_ECX = 2;
/** EDX. */
export const KVM_CPUID_EDX = 3;

/** C `struct kvm_x86_cpu_feature`: one CPUID bit. */
export interface kvm_x86_cpu_feature {
  /** The CPUID leaf. */
  readonly function: number;
  /** The subleaf. */
  readonly index: number;
  /** `KVM_CPUID_EAX` .. `KVM_CPUID_EDX`. */
  readonly reg: number;
  /** The bit. */
  readonly bit: number;
}

/** C `struct kvm_x86_cpu_property`: a CPUID bit field. */
export interface kvm_x86_cpu_property {
  /** The CPUID leaf. */
  readonly function: number;
  /** The subleaf. */
  readonly index: number;
  /** `KVM_CPUID_EAX` .. `KVM_CPUID_EDX`. */
  readonly reg: number;
  /** The lowest bit. */
  readonly lo_bit: number;
  /** The highest bit. */
  readonly hi_bit: number;
}

/**
 * C `KVM_X86_CPU_FEATURE(fn, idx, gpr, bit)`.
 *
 * @param fn the leaf
 * @param idx the subleaf
 * @param reg the register
 * @param bit the bit
 * @returns the feature
 */
export function KVM_X86_CPU_FEATURE(
  fn: number,
  idx: number,
  reg: number,
  bit: number,
): kvm_x86_cpu_feature {
  return Object.freeze({ function: fn >>> 0, index: idx, reg, bit });
}

/**
 * C `KVM_X86_CPU_PROPERTY(fn, idx, gpr, lo, hi)`.
 *
 * @param fn the leaf
 * @param idx the subleaf
 * @param reg the register
 * @param lo_bit the lowest bit
 * @param hi_bit the highest bit
 * @returns the property
 */
export function KVM_X86_CPU_PROPERTY(
  fn: number,
  idx: number,
  reg: number,
  lo_bit: number,
  hi_bit: number,
): kvm_x86_cpu_property {
  return Object.freeze({ function: fn >>> 0, index: idx, reg, lo_bit, hi_bit });
}

const A = KVM_CPUID_EAX, B = KVM_CPUID_EBX, C = KVM_CPUID_ECX, D = KVM_CPUID_EDX;
const F = KVM_X86_CPU_FEATURE;
const P = KVM_X86_CPU_PROPERTY;

/** CPUID.(EAX=0x1,ECX=0):ECX[0]: SSE3. */
export const X86_FEATURE_SSE3: kvm_x86_cpu_feature = F(0x1, 0, C, 0);
/** CPUID.(EAX=0x1,ECX=0):ECX[1]: PCLMULQDQ. */
export const X86_FEATURE_PCLMULQDQ: kvm_x86_cpu_feature = F(0x1, 0, C, 1);
/** CPUID.(EAX=0x1,ECX=0):ECX[2]: DTES64. */
export const X86_FEATURE_DTES64: kvm_x86_cpu_feature = F(0x1, 0, C, 2);
/** CPUID.(EAX=0x1,ECX=0):ECX[3]: MWAIT. */
export const X86_FEATURE_MWAIT: kvm_x86_cpu_feature = F(0x1, 0, C, 3);
/** CPUID.(EAX=0x1,ECX=0):ECX[5]: VMX. */
export const X86_FEATURE_VMX: kvm_x86_cpu_feature = F(0x1, 0, C, 5);
/** CPUID.(EAX=0x1,ECX=0):ECX[6]: SMX. */
export const X86_FEATURE_SMX: kvm_x86_cpu_feature = F(0x1, 0, C, 6);
/** CPUID.(EAX=0x1,ECX=0):ECX[15]: PDCM. */
export const X86_FEATURE_PDCM: kvm_x86_cpu_feature = F(0x1, 0, C, 15);
/** CPUID.(EAX=0x1,ECX=0):ECX[17]: PCID. */
export const X86_FEATURE_PCID: kvm_x86_cpu_feature = F(0x1, 0, C, 17);
/** CPUID.(EAX=0x1,ECX=0):ECX[21]: X2APIC. */
export const X86_FEATURE_X2APIC: kvm_x86_cpu_feature = F(0x1, 0, C, 21);
/** CPUID.(EAX=0x1,ECX=0):ECX[22]: MOVBE. */
export const X86_FEATURE_MOVBE: kvm_x86_cpu_feature = F(0x1, 0, C, 22);
/** CPUID.(EAX=0x1,ECX=0):ECX[24]: TSC_DEADLINE_TIMER. */
export const X86_FEATURE_TSC_DEADLINE_TIMER: kvm_x86_cpu_feature = F(0x1, 0, C, 24);
/** CPUID.(EAX=0x1,ECX=0):ECX[26]: XSAVE. */
export const X86_FEATURE_XSAVE: kvm_x86_cpu_feature = F(0x1, 0, C, 26);
/** CPUID.(EAX=0x1,ECX=0):ECX[27]: OSXSAVE. */
export const X86_FEATURE_OSXSAVE: kvm_x86_cpu_feature = F(0x1, 0, C, 27);
/** CPUID.(EAX=0x1,ECX=0):ECX[30]: RDRAND. */
export const X86_FEATURE_RDRAND: kvm_x86_cpu_feature = F(0x1, 0, C, 30);
/** CPUID.(EAX=0x1,ECX=0):ECX[31]: HYPERVISOR. */
export const X86_FEATURE_HYPERVISOR: kvm_x86_cpu_feature = F(0x1, 0, C, 31);
/** CPUID.(EAX=0x1,ECX=0):EDX[6]: PAE. */
export const X86_FEATURE_PAE: kvm_x86_cpu_feature = F(0x1, 0, D, 6);
/** CPUID.(EAX=0x1,ECX=0):EDX[7]: MCE. */
export const X86_FEATURE_MCE: kvm_x86_cpu_feature = F(0x1, 0, D, 7);
/** CPUID.(EAX=0x1,ECX=0):EDX[9]: APIC. */
export const X86_FEATURE_APIC: kvm_x86_cpu_feature = F(0x1, 0, D, 9);
/** CPUID.(EAX=0x1,ECX=0):EDX[19]: CLFLUSH. */
export const X86_FEATURE_CLFLUSH: kvm_x86_cpu_feature = F(0x1, 0, D, 19);
/** CPUID.(EAX=0x1,ECX=0):EDX[25]: XMM. */
export const X86_FEATURE_XMM: kvm_x86_cpu_feature = F(0x1, 0, D, 25);
/** CPUID.(EAX=0x1,ECX=0):EDX[26]: XMM2. */
export const X86_FEATURE_XMM2: kvm_x86_cpu_feature = F(0x1, 0, D, 26);
/** CPUID.(EAX=0x7,ECX=0):EBX[0]: FSGSBASE. */
export const X86_FEATURE_FSGSBASE: kvm_x86_cpu_feature = F(0x7, 0, B, 0);
/** CPUID.(EAX=0x7,ECX=0):EBX[1]: TSC_ADJUST. */
export const X86_FEATURE_TSC_ADJUST: kvm_x86_cpu_feature = F(0x7, 0, B, 1);
/** CPUID.(EAX=0x7,ECX=0):EBX[2]: SGX. */
export const X86_FEATURE_SGX: kvm_x86_cpu_feature = F(0x7, 0, B, 2);
/** CPUID.(EAX=0x7,ECX=0):EBX[4]: HLE. */
export const X86_FEATURE_HLE: kvm_x86_cpu_feature = F(0x7, 0, B, 4);
/** CPUID.(EAX=0x7,ECX=0):EBX[7]: SMEP. */
export const X86_FEATURE_SMEP: kvm_x86_cpu_feature = F(0x7, 0, B, 7);
/** CPUID.(EAX=0x7,ECX=0):EBX[10]: INVPCID. */
export const X86_FEATURE_INVPCID: kvm_x86_cpu_feature = F(0x7, 0, B, 10);
/** CPUID.(EAX=0x7,ECX=0):EBX[11]: RTM. */
export const X86_FEATURE_RTM: kvm_x86_cpu_feature = F(0x7, 0, B, 11);
/** CPUID.(EAX=0x7,ECX=0):EBX[14]: MPX. */
export const X86_FEATURE_MPX: kvm_x86_cpu_feature = F(0x7, 0, B, 14);
/** CPUID.(EAX=0x7,ECX=0):EBX[20]: SMAP. */
export const X86_FEATURE_SMAP: kvm_x86_cpu_feature = F(0x7, 0, B, 20);
/** CPUID.(EAX=0x7,ECX=0):EBX[22]: PCOMMIT. */
export const X86_FEATURE_PCOMMIT: kvm_x86_cpu_feature = F(0x7, 0, B, 22);
/** CPUID.(EAX=0x7,ECX=0):EBX[23]: CLFLUSHOPT. */
export const X86_FEATURE_CLFLUSHOPT: kvm_x86_cpu_feature = F(0x7, 0, B, 23);
/** CPUID.(EAX=0x7,ECX=0):EBX[24]: CLWB. */
export const X86_FEATURE_CLWB: kvm_x86_cpu_feature = F(0x7, 0, B, 24);
/** CPUID.(EAX=0x7,ECX=0):ECX[2]: UMIP. */
export const X86_FEATURE_UMIP: kvm_x86_cpu_feature = F(0x7, 0, C, 2);
/** CPUID.(EAX=0x7,ECX=0):ECX[3]: PKU. */
export const X86_FEATURE_PKU: kvm_x86_cpu_feature = F(0x7, 0, C, 3);
/** CPUID.(EAX=0x7,ECX=0):ECX[4]: OSPKE. */
export const X86_FEATURE_OSPKE: kvm_x86_cpu_feature = F(0x7, 0, C, 4);
/** CPUID.(EAX=0x7,ECX=0):ECX[16]: LA57. */
export const X86_FEATURE_LA57: kvm_x86_cpu_feature = F(0x7, 0, C, 16);
/** CPUID.(EAX=0x7,ECX=0):ECX[22]: RDPID. */
export const X86_FEATURE_RDPID: kvm_x86_cpu_feature = F(0x7, 0, C, 22);
/** CPUID.(EAX=0x7,ECX=0):ECX[30]: SGX_LC. */
export const X86_FEATURE_SGX_LC: kvm_x86_cpu_feature = F(0x7, 0, C, 30);
/** CPUID.(EAX=0x7,ECX=0):ECX[7]: SHSTK. */
export const X86_FEATURE_SHSTK: kvm_x86_cpu_feature = F(0x7, 0, C, 7);
/** CPUID.(EAX=0x7,ECX=0):EDX[20]: IBT. */
export const X86_FEATURE_IBT: kvm_x86_cpu_feature = F(0x7, 0, D, 20);
/** CPUID.(EAX=0x7,ECX=0):EDX[24]: AMX_TILE. */
export const X86_FEATURE_AMX_TILE: kvm_x86_cpu_feature = F(0x7, 0, D, 24);
/** CPUID.(EAX=0x7,ECX=0):EDX[26]: SPEC_CTRL. */
export const X86_FEATURE_SPEC_CTRL: kvm_x86_cpu_feature = F(0x7, 0, D, 26);
/** CPUID.(EAX=0x7,ECX=0):EDX[29]: ARCH_CAPABILITIES. */
export const X86_FEATURE_ARCH_CAPABILITIES: kvm_x86_cpu_feature = F(0x7, 0, D, 29);
/** CPUID.(EAX=0x7,ECX=0):ECX[31]: PKS. */
export const X86_FEATURE_PKS: kvm_x86_cpu_feature = F(0x7, 0, C, 31);
/** CPUID.(EAX=0xd,ECX=0):EAX[17]: XTILECFG. */
export const X86_FEATURE_XTILECFG: kvm_x86_cpu_feature = F(0xd, 0, A, 17);
/** CPUID.(EAX=0xd,ECX=0):EAX[18]: XTILEDATA. */
export const X86_FEATURE_XTILEDATA: kvm_x86_cpu_feature = F(0xd, 0, A, 18);
/** CPUID.(EAX=0xd,ECX=1):EAX[3]: XSAVES. */
export const X86_FEATURE_XSAVES: kvm_x86_cpu_feature = F(0xd, 1, A, 3);
/** CPUID.(EAX=0xd,ECX=1):EAX[4]: XFD. */
export const X86_FEATURE_XFD: kvm_x86_cpu_feature = F(0xd, 1, A, 4);
/** CPUID.(EAX=0xd,ECX=18):ECX[2]: XTILEDATA_XFD. */
export const X86_FEATURE_XTILEDATA_XFD: kvm_x86_cpu_feature = F(0xd, 18, C, 2);
/** CPUID.(EAX=0x80000001,ECX=0):ECX[2]: SVM. */
export const X86_FEATURE_SVM: kvm_x86_cpu_feature = F(0x80000001, 0, C, 2);
/** CPUID.(EAX=0x80000001,ECX=0):EDX[20]: NX. */
export const X86_FEATURE_NX: kvm_x86_cpu_feature = F(0x80000001, 0, D, 20);
/** CPUID.(EAX=0x80000001,ECX=0):EDX[26]: GBPAGES. */
export const X86_FEATURE_GBPAGES: kvm_x86_cpu_feature = F(0x80000001, 0, D, 26);
/** CPUID.(EAX=0x80000001,ECX=0):EDX[27]: RDTSCP. */
export const X86_FEATURE_RDTSCP: kvm_x86_cpu_feature = F(0x80000001, 0, D, 27);
/** CPUID.(EAX=0x80000001,ECX=0):EDX[29]: LM. */
export const X86_FEATURE_LM: kvm_x86_cpu_feature = F(0x80000001, 0, D, 29);
/** CPUID.(EAX=0x80000001,ECX=0):EDX[25]: FXSR_OPT. */
export const X86_FEATURE_FXSR_OPT: kvm_x86_cpu_feature = F(0x80000001, 0, D, 25);
/** CPUID.(EAX=0x80000007,ECX=0):EDX[8]: INVTSC. */
export const X86_FEATURE_INVTSC: kvm_x86_cpu_feature = F(0x80000007, 0, D, 8);
/** CPUID.(EAX=0x80000008,ECX=0):EBX[4]: RDPRU. */
export const X86_FEATURE_RDPRU: kvm_x86_cpu_feature = F(0x80000008, 0, B, 4);
/** CPUID.(EAX=0x80000008,ECX=0):EBX[12]: AMD_IBPB. */
export const X86_FEATURE_AMD_IBPB: kvm_x86_cpu_feature = F(0x80000008, 0, B, 12);
/** CPUID.(EAX=0x8000000a,ECX=0):EDX[0]: NPT. */
export const X86_FEATURE_NPT: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 0);
/** CPUID.(EAX=0x8000001f,ECX=0):EAX[1]: SEV. */
export const X86_FEATURE_SEV: kvm_x86_cpu_feature = F(0x8000001f, 0, A, 1);
/** CPUID.(EAX=0x8000001f,ECX=0):EAX[3]: SEV_ES. */
export const X86_FEATURE_SEV_ES: kvm_x86_cpu_feature = F(0x8000001f, 0, A, 3);
/** CPUID.(EAX=0x8000001f,ECX=0):EAX[4]: SEV_SNP. */
export const X86_FEATURE_SEV_SNP: kvm_x86_cpu_feature = F(0x8000001f, 0, A, 4);
/** CPUID.(EAX=0x80000021,ECX=0):EAX[8]: AUTOIBRS. */
export const X86_FEATURE_AUTOIBRS: kvm_x86_cpu_feature = F(0x80000021, 0, A, 8);

/** CPUID.(EAX=0,ECX=0):EAX[31:0]: MAX_BASIC_LEAF. */
export const X86_PROPERTY_MAX_BASIC_LEAF: kvm_x86_cpu_property = P(0, 0, A, 0, 31);
/** CPUID.(EAX=0xa,ECX=0):EAX[7:0]: PMU_VERSION. */
export const X86_PROPERTY_PMU_VERSION: kvm_x86_cpu_property = P(0xa, 0, A, 0, 7);
/** CPUID.(EAX=0xa,ECX=0):EAX[15:8]: PMU_NR_GP_COUNTERS. */
export const X86_PROPERTY_PMU_NR_GP_COUNTERS: kvm_x86_cpu_property = P(0xa, 0, A, 8, 15);
/** CPUID.(EAX=0xd,ECX=0):EAX[31:0]: SUPPORTED_XCR0_LO. */
export const X86_PROPERTY_SUPPORTED_XCR0_LO: kvm_x86_cpu_property = P(0xd, 0, A, 0, 31);
/** CPUID.(EAX=0xd,ECX=0):EBX[31:0]: XSTATE_MAX_SIZE_XCR0. */
export const X86_PROPERTY_XSTATE_MAX_SIZE_XCR0: kvm_x86_cpu_property = P(0xd, 0, B, 0, 31);
/** CPUID.(EAX=0xd,ECX=0):ECX[31:0]: XSTATE_MAX_SIZE. */
export const X86_PROPERTY_XSTATE_MAX_SIZE: kvm_x86_cpu_property = P(0xd, 0, C, 0, 31);
/** CPUID.(EAX=0xd,ECX=0):EDX[31:0]: SUPPORTED_XCR0_HI. */
export const X86_PROPERTY_SUPPORTED_XCR0_HI: kvm_x86_cpu_property = P(0xd, 0, D, 0, 31);
/** CPUID.(EAX=0xd,ECX=18):EAX[31:0]: XSTATE_TILE_SIZE. */
export const X86_PROPERTY_XSTATE_TILE_SIZE: kvm_x86_cpu_property = P(0xd, 18, A, 0, 31);
/** CPUID.(EAX=0xd,ECX=18):EBX[31:0]: XSTATE_TILE_OFFSET. */
export const X86_PROPERTY_XSTATE_TILE_OFFSET: kvm_x86_cpu_property = P(0xd, 18, B, 0, 31);
/** CPUID.(EAX=0x40000000,ECX=0):EAX[31:0]: MAX_KVM_LEAF. */
export const X86_PROPERTY_MAX_KVM_LEAF: kvm_x86_cpu_property = P(0x40000000, 0, A, 0, 31);
/** CPUID.(EAX=0x80000000,ECX=0):EAX[31:0]: MAX_EXT_LEAF. */
export const X86_PROPERTY_MAX_EXT_LEAF: kvm_x86_cpu_property = P(0x80000000, 0, A, 0, 31);
/** CPUID.(EAX=0x80000008,ECX=0):EAX[7:0]: MAX_PHY_ADDR. */
export const X86_PROPERTY_MAX_PHY_ADDR: kvm_x86_cpu_property = P(0x80000008, 0, A, 0, 7);
/** CPUID.(EAX=0x80000008,ECX=0):EAX[15:8]: MAX_VIRT_ADDR. */
export const X86_PROPERTY_MAX_VIRT_ADDR: kvm_x86_cpu_property = P(0x80000008, 0, A, 8, 15);
/** CPUID.(EAX=0x80000008,ECX=0):EAX[23:16]: GUEST_MAX_PHY_ADDR. */
export const X86_PROPERTY_GUEST_MAX_PHY_ADDR: kvm_x86_cpu_property = P(0x80000008, 0, A, 16, 23);
/** CPUID.(EAX=0x8000001f,ECX=0):EBX[5:0]: SEV_C_BIT. */
export const X86_PROPERTY_SEV_C_BIT: kvm_x86_cpu_property = P(0x8000001f, 0, B, 0, 5);
/** CPUID.(EAX=0x8000001f,ECX=0):EBX[11:6]: PHYS_ADDR_REDUCTION. */
export const X86_PROPERTY_PHYS_ADDR_REDUCTION: kvm_x86_cpu_property = P(0x8000001f, 0, B, 6, 11);
/** CPUID.(EAX=0xc0000000,ECX=0):EAX[31:0]: MAX_CENTAUR_LEAF. */
export const X86_PROPERTY_MAX_CENTAUR_LEAF: kvm_x86_cpu_property = P(0xc0000000, 0, A, 0, 31);

/** C `MAX_NR_CPUID_ENTRIES`: the size of the buffer `kvm_get_supported_cpuid` asks with. */
export const MAX_NR_CPUID_ENTRIES = 100;

/** C `VM_SHAPE_SEV`. */
export const VM_SHAPE_SEV: vm_shape = Object.freeze(VM_TYPE(KVM_X86_SEV_VM));
/** C `VM_SHAPE_SEV_ES`. */
export const VM_SHAPE_SEV_ES: vm_shape = Object.freeze(VM_TYPE(KVM_X86_SEV_ES_VM));
/** C `VM_SHAPE_SNP`. */
export const VM_SHAPE_SNP: vm_shape = Object.freeze(VM_TYPE(KVM_X86_SNP_VM));
/** C `VM_SHAPE_TDX`. */
export const VM_SHAPE_TDX: vm_shape = Object.freeze(VM_TYPE(KVM_X86_TDX_VM));

/** Page-table entry bits (C `PTE_*_MASK`). */
export const PTE_PRESENT_MASK: bigint = BIT_ULL(0);
/** Writable. */
export const PTE_WRITABLE_MASK: bigint = BIT_ULL(1);
/** User accessible. */
export const PTE_USER_MASK: bigint = BIT_ULL(2);
/** Accessed. */
export const PTE_ACCESSED_MASK: bigint = BIT_ULL(5);
/** Dirty. */
export const PTE_DIRTY_MASK: bigint = BIT_ULL(6);
/** Large page (PS). */
export const PTE_LARGE_MASK: bigint = BIT_ULL(7);
/** Global. */
export const PTE_GLOBAL_MASK: bigint = BIT_ULL(8);
/** No-execute. */
export const PTE_NX_MASK: bigint = BIT_ULL(63);
/** C `PHYSICAL_PAGE_MASK`: GENMASK_ULL(51, 12). */
export const PHYSICAL_PAGE_MASK: bigint = ((1n << 52n) - 1n) & ~0xfffn;

/** C `enum pg_level`. */
export enum pg_level {
  PG_LEVEL_NONE,
  PG_LEVEL_4K,
  PG_LEVEL_2M,
  PG_LEVEL_1G,
  PG_LEVEL_512G,
  PG_LEVEL_256T,
}

/**
 * C `PG_LEVEL_SHIFT(level)`.
 *
 * @param level the level
 * @returns the shift of a page at that level
 */
export function PG_LEVEL_SHIFT(level: number): number {
  return (level - 1) * 9 + 12;
}

/**
 * C `PG_LEVEL_SIZE(level)`.
 *
 * @param level the level
 * @returns the size of a page at that level
 */
export function PG_LEVEL_SIZE(level: number): bigint {
  return 1n << BigInt(PG_LEVEL_SHIFT(level));
}

/** C `struct desc64`: a 16-byte system descriptor (the GDT holds 8-byte ones and the TSS's 16). */
export const desc64: RecordType<{ lo: u64; hi: u64 }> = struct("desc64", { lo: U64, hi: U64 });

/** C `struct desc_ptr`: the operand of LGDT/LIDT. */
export const desc_ptr: RecordType<{ size: u16; address: u64 }> = struct("desc_ptr", {
  size: U16,
  address: U64,
}, { packed: true });

/** C `struct idt_entry`: one 16-byte 64-bit interrupt gate. */
export const idt_entry: RecordType<{
  offset0: u16;
  selector: u16;
  bits: u16;
  offset1: u16;
  offset2: u32;
  reserved: u32;
}> = struct("idt_entry", {
  offset0: U16,
  selector: U16,
  // ist:3, :5, type:4, :1, dpl:2, p:1 (the engine has no bit-fields).
  bits: U16,
  offset1: U16,
  offset2: U32,
  reserved: U32,
});

// C `struct ex_regs`: the frame the exception entry (simulated CPU or guest
// runtime) builds for the handler `vm_install_exception_handler` registered.
export { ex_regs, type ex_regs_fields } from "./ex_regs.ts";

// ---------------------------------------------------------------------------
// The rest of processor.h's constants and pure macros (baseline kvm-x86 next,
// 1a27afa0511e). Enum members are also plain constants, as C code names them.

export { NMI_VECTOR } from "../asm/irq_vectors.ts";
/**
 * C `KVM_MAGIC_DE_VECTOR`: the vector `kvm_fixup_exception` records for a #DE, whose
 * architectural vector 0 is already the `*_safe()` helpers' result for "nothing raised".
 */
export const KVM_MAGIC_DE_VECTOR = 0xff;
/** C `KVM_EXCEPTION_MAGIC`: the marker exception fixup looks for in R9. */
export const KVM_EXCEPTION_MAGIC = 0xabacadaban;

/** C `XFEATURE_MASK_BNDREGS`: MPX bound registers. */
export const XFEATURE_MASK_BNDREGS: bigint = BIT_ULL(3);
/** C `XFEATURE_MASK_BNDCSR`: MPX configuration and status. */
export const XFEATURE_MASK_BNDCSR: bigint = BIT_ULL(4);
/** C `XFEATURE_MASK_OPMASK`: AVX-512 opmask registers. */
export const XFEATURE_MASK_OPMASK: bigint = BIT_ULL(5);
/** C `XFEATURE_MASK_ZMM_Hi256`: upper halves of ZMM0-15. */
export const XFEATURE_MASK_ZMM_Hi256: bigint = BIT_ULL(6);
/** C `XFEATURE_MASK_Hi16_ZMM`: ZMM16-31. */
export const XFEATURE_MASK_Hi16_ZMM: bigint = BIT_ULL(7);
/** C `XFEATURE_MASK_PT`: processor trace (supervisor). */
export const XFEATURE_MASK_PT: bigint = BIT_ULL(8);
/** C `XFEATURE_MASK_PKRU`: protection keys. */
export const XFEATURE_MASK_PKRU: bigint = BIT_ULL(9);
/** C `XFEATURE_MASK_PASID` (supervisor). */
export const XFEATURE_MASK_PASID: bigint = BIT_ULL(10);
/** C `XFEATURE_MASK_CET_USER` (supervisor). */
export const XFEATURE_MASK_CET_USER: bigint = BIT_ULL(11);
/** C `XFEATURE_MASK_CET_KERNEL` (supervisor). */
export const XFEATURE_MASK_CET_KERNEL: bigint = BIT_ULL(12);
/** C `XFEATURE_MASK_LBR` (supervisor). */
export const XFEATURE_MASK_LBR: bigint = BIT_ULL(15);
/** C `XFEATURE_MASK_XTILE_CFG`: AMX tile configuration. */
export const XFEATURE_MASK_XTILE_CFG: bigint = BIT_ULL(17);
/** C `XFEATURE_MASK_XTILE_DATA`: AMX tile data. */
export const XFEATURE_MASK_XTILE_DATA: bigint = BIT_ULL(18);
/** C `XFEATURE_MASK_AVX512`: the three AVX-512 components, which XCR0 sets together. */
export const XFEATURE_MASK_AVX512: bigint = XFEATURE_MASK_OPMASK | XFEATURE_MASK_ZMM_Hi256 |
  XFEATURE_MASK_Hi16_ZMM;
/** C `XFEATURE_MASK_XTILE`: both AMX components, which XCR0 sets together. */
export const XFEATURE_MASK_XTILE: bigint = XFEATURE_MASK_XTILE_DATA | XFEATURE_MASK_XTILE_CFG;

/** Page-fault error code bit: the page was present. */
export const PFERR_PRESENT_BIT = 0;
/** Page-fault error code bit: a write. */
export const PFERR_WRITE_BIT = 1;
/** Page-fault error code bit: a user-mode access. */
export const PFERR_USER_BIT = 2;
/** Page-fault error code bit: a reserved bit was set. */
export const PFERR_RSVD_BIT = 3;
/** Page-fault error code bit: an instruction fetch. */
export const PFERR_FETCH_BIT = 4;
/** Page-fault error code bit: a protection-key violation. */
export const PFERR_PK_BIT = 5;
/** Page-fault error code bit: an SGX violation. */
export const PFERR_SGX_BIT = 15;
/** KVM-internal error code bit: the fault was on the final GPA. */
export const PFERR_GUEST_FINAL_BIT = 32;
/** KVM-internal error code bit: the fault was on a guest page-table walk. */
export const PFERR_GUEST_PAGE_BIT = 33;
/** KVM-internal error code bit: an implicit supervisor access. */
export const PFERR_IMPLICIT_ACCESS_BIT = 48;
/** C `PFERR_PRESENT_MASK`. */
export const PFERR_PRESENT_MASK: bigint = BIT_ULL(PFERR_PRESENT_BIT);
/** C `PFERR_WRITE_MASK`. */
export const PFERR_WRITE_MASK: bigint = BIT_ULL(PFERR_WRITE_BIT);
/** C `PFERR_USER_MASK`. */
export const PFERR_USER_MASK: bigint = BIT_ULL(PFERR_USER_BIT);
/** C `PFERR_RSVD_MASK`. */
export const PFERR_RSVD_MASK: bigint = BIT_ULL(PFERR_RSVD_BIT);
/** C `PFERR_FETCH_MASK`. */
export const PFERR_FETCH_MASK: bigint = BIT_ULL(PFERR_FETCH_BIT);
/** C `PFERR_PK_MASK`. */
export const PFERR_PK_MASK: bigint = BIT_ULL(PFERR_PK_BIT);
/** C `PFERR_SGX_MASK`. */
export const PFERR_SGX_MASK: bigint = BIT_ULL(PFERR_SGX_BIT);
/** C `PFERR_GUEST_FINAL_MASK`. */
export const PFERR_GUEST_FINAL_MASK: bigint = BIT_ULL(PFERR_GUEST_FINAL_BIT);
/** C `PFERR_GUEST_PAGE_MASK`. */
export const PFERR_GUEST_PAGE_MASK: bigint = BIT_ULL(PFERR_GUEST_PAGE_BIT);
/** C `PFERR_IMPLICIT_ACCESS`. */
export const PFERR_IMPLICIT_ACCESS: bigint = BIT_ULL(PFERR_IMPLICIT_ACCESS_BIT);

/** CPUID.80000001H:ECX[23]: PERFCTR_CORE. */
export const X86_FEATURE_PERFCTR_CORE: kvm_x86_cpu_feature = F(0x80000001, 0, C, 23);
/** CPUID.80000001H:ECX[24]: PERFCTR_NB. */
export const X86_FEATURE_PERFCTR_NB: kvm_x86_cpu_feature = F(0x80000001, 0, C, 24);
/** CPUID.80000001H:ECX[28]: PERFCTR_LLC. */
export const X86_FEATURE_PERFCTR_LLC: kvm_x86_cpu_feature = F(0x80000001, 0, C, 28);
/** CPUID.8000000AH:EDX[1]: LBRV. */
export const X86_FEATURE_LBRV: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 1);
/** CPUID.8000000AH:EDX[3]: NRIPS. */
export const X86_FEATURE_NRIPS: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 3);
/** CPUID.8000000AH:EDX[4]: TSCRATEMSR. */
export const X86_FEATURE_TSCRATEMSR: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 4);
/** CPUID.8000000AH:EDX[10]: PAUSEFILTER. */
export const X86_FEATURE_PAUSEFILTER: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 10);
/** CPUID.8000000AH:EDX[12]: PFTHRESHOLD. */
export const X86_FEATURE_PFTHRESHOLD: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 12);
/** CPUID.8000000AH:EDX[15]: V_VMSAVE_VMLOAD. */
export const X86_FEATURE_V_VMSAVE_VMLOAD: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 15);
/** CPUID.8000000AH:EDX[16]: VGIF. */
export const X86_FEATURE_VGIF: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 16);
/** CPUID.8000000AH:EDX[30]: IDLE_HLT. */
export const X86_FEATURE_IDLE_HLT: kvm_x86_cpu_feature = F(0x8000000a, 0, D, 30);
/** CPUID.80000022H:EAX[0]: PERFMON_V2. */
export const X86_FEATURE_PERFMON_V2: kvm_x86_cpu_feature = F(0x80000022, 0, A, 0);
/** CPUID.80000022H:EAX[2]: LBR_PMC_FREEZE. */
export const X86_FEATURE_LBR_PMC_FREEZE: kvm_x86_cpu_feature = F(0x80000022, 0, A, 2);

/** KVM_CPUID_FEATURES (0x40000001) EAX[0]: KVM_CLOCKSOURCE. */
export const X86_FEATURE_KVM_CLOCKSOURCE: kvm_x86_cpu_feature = F(0x40000001, 0, A, 0);
/** KVM_CPUID_FEATURES EAX[1]: KVM_NOP_IO_DELAY. */
export const X86_FEATURE_KVM_NOP_IO_DELAY: kvm_x86_cpu_feature = F(0x40000001, 0, A, 1);
/** KVM_CPUID_FEATURES EAX[2]: KVM_MMU_OP. */
export const X86_FEATURE_KVM_MMU_OP: kvm_x86_cpu_feature = F(0x40000001, 0, A, 2);
/** KVM_CPUID_FEATURES EAX[3]: KVM_CLOCKSOURCE2. */
export const X86_FEATURE_KVM_CLOCKSOURCE2: kvm_x86_cpu_feature = F(0x40000001, 0, A, 3);
/** KVM_CPUID_FEATURES EAX[4]: KVM_ASYNC_PF. */
export const X86_FEATURE_KVM_ASYNC_PF: kvm_x86_cpu_feature = F(0x40000001, 0, A, 4);
/** KVM_CPUID_FEATURES EAX[5]: KVM_STEAL_TIME. */
export const X86_FEATURE_KVM_STEAL_TIME: kvm_x86_cpu_feature = F(0x40000001, 0, A, 5);
/** KVM_CPUID_FEATURES EAX[6]: KVM_PV_EOI. */
export const X86_FEATURE_KVM_PV_EOI: kvm_x86_cpu_feature = F(0x40000001, 0, A, 6);
/** KVM_CPUID_FEATURES EAX[7]: KVM_PV_UNHALT. */
export const X86_FEATURE_KVM_PV_UNHALT: kvm_x86_cpu_feature = F(0x40000001, 0, A, 7);
/** KVM_CPUID_FEATURES EAX[9]: KVM_PV_TLB_FLUSH. */
export const X86_FEATURE_KVM_PV_TLB_FLUSH: kvm_x86_cpu_feature = F(0x40000001, 0, A, 9);
/** KVM_CPUID_FEATURES EAX[10]: KVM_ASYNC_PF_VMEXIT. */
export const X86_FEATURE_KVM_ASYNC_PF_VMEXIT: kvm_x86_cpu_feature = F(0x40000001, 0, A, 10);
/** KVM_CPUID_FEATURES EAX[11]: KVM_PV_SEND_IPI. */
export const X86_FEATURE_KVM_PV_SEND_IPI: kvm_x86_cpu_feature = F(0x40000001, 0, A, 11);
/** KVM_CPUID_FEATURES EAX[12]: KVM_POLL_CONTROL. */
export const X86_FEATURE_KVM_POLL_CONTROL: kvm_x86_cpu_feature = F(0x40000001, 0, A, 12);
/** KVM_CPUID_FEATURES EAX[13]: KVM_PV_SCHED_YIELD. */
export const X86_FEATURE_KVM_PV_SCHED_YIELD: kvm_x86_cpu_feature = F(0x40000001, 0, A, 13);
/** KVM_CPUID_FEATURES EAX[14]: KVM_ASYNC_PF_INT. */
export const X86_FEATURE_KVM_ASYNC_PF_INT: kvm_x86_cpu_feature = F(0x40000001, 0, A, 14);
/** KVM_CPUID_FEATURES EAX[15]: KVM_MSI_EXT_DEST_ID. */
export const X86_FEATURE_KVM_MSI_EXT_DEST_ID: kvm_x86_cpu_feature = F(0x40000001, 0, A, 15);
/** KVM_CPUID_FEATURES EAX[16]: KVM_HC_MAP_GPA_RANGE. */
export const X86_FEATURE_KVM_HC_MAP_GPA_RANGE: kvm_x86_cpu_feature = F(0x40000001, 0, A, 16);
/** KVM_CPUID_FEATURES EAX[17]: KVM_MIGRATION_CONTROL. */
export const X86_FEATURE_KVM_MIGRATION_CONTROL: kvm_x86_cpu_feature = F(0x40000001, 0, A, 17);

/** CPUID.0AH:EAX[23:16]: PMU_GP_COUNTERS_BIT_WIDTH. */
export const X86_PROPERTY_PMU_GP_COUNTERS_BIT_WIDTH: kvm_x86_cpu_property = P(0xa, 0, A, 16, 23);
/** CPUID.0AH:EAX[31:24]: PMU_EBX_BIT_VECTOR_LENGTH. */
export const X86_PROPERTY_PMU_EBX_BIT_VECTOR_LENGTH: kvm_x86_cpu_property = P(0xa, 0, A, 24, 31);
/** CPUID.0AH:EBX[12:0]: PMU_EVENTS_MASK. */
export const X86_PROPERTY_PMU_EVENTS_MASK: kvm_x86_cpu_property = P(0xa, 0, B, 0, 12);
/** CPUID.0AH:ECX[31:0]: PMU_FIXED_COUNTERS_BITMASK. */
export const X86_PROPERTY_PMU_FIXED_COUNTERS_BITMASK: kvm_x86_cpu_property = P(0xa, 0, C, 0, 31);
/** CPUID.0AH:EDX[4:0]: PMU_NR_FIXED_COUNTERS. */
export const X86_PROPERTY_PMU_NR_FIXED_COUNTERS: kvm_x86_cpu_property = P(0xa, 0, D, 0, 4);
/** CPUID.0AH:EDX[12:5]: PMU_FIXED_COUNTERS_BIT_WIDTH. */
export const X86_PROPERTY_PMU_FIXED_COUNTERS_BIT_WIDTH: kvm_x86_cpu_property = P(0xa, 0, D, 5, 12);
/** CPUID.1DH:EAX[31:0]: AMX_MAX_PALETTE_TABLES. */
export const X86_PROPERTY_AMX_MAX_PALETTE_TABLES: kvm_x86_cpu_property = P(0x1d, 0, A, 0, 31);
/** CPUID.(1DH,1):EAX[15:0]: AMX_TOTAL_TILE_BYTES. */
export const X86_PROPERTY_AMX_TOTAL_TILE_BYTES: kvm_x86_cpu_property = P(0x1d, 1, A, 0, 15);
/** CPUID.(1DH,1):EAX[31:16]: AMX_BYTES_PER_TILE. */
export const X86_PROPERTY_AMX_BYTES_PER_TILE: kvm_x86_cpu_property = P(0x1d, 1, A, 16, 31);
/** CPUID.(1DH,1):EBX[15:0]: AMX_BYTES_PER_ROW. */
export const X86_PROPERTY_AMX_BYTES_PER_ROW: kvm_x86_cpu_property = P(0x1d, 1, B, 0, 15);
/** CPUID.(1DH,1):EBX[31:16]: AMX_NR_TILE_REGS. */
export const X86_PROPERTY_AMX_NR_TILE_REGS: kvm_x86_cpu_property = P(0x1d, 1, B, 16, 31);
/** CPUID.(1DH,1):ECX[15:0]: AMX_MAX_ROWS. */
export const X86_PROPERTY_AMX_MAX_ROWS: kvm_x86_cpu_property = P(0x1d, 1, C, 0, 15);
/** CPUID.80000022H:EBX[3:0]: NR_PERFCTR_CORE. */
export const X86_PROPERTY_NR_PERFCTR_CORE: kvm_x86_cpu_property = P(0x80000022, 0, B, 0, 3);
/** CPUID.80000022H:EBX[15:10]: NR_PERFCTR_NB. */
export const X86_PROPERTY_NR_PERFCTR_NB: kvm_x86_cpu_property = P(0x80000022, 0, B, 10, 15);

/**
 * C `struct kvm_x86_pmu_feature`: an architectural PMU event (CPUID.0AH:EBX,
 * where a set bit means "not available") or fixed counter (CPUID.0AH:ECX).
 */
export interface kvm_x86_pmu_feature {
  /** The CPUID bit. */
  readonly f: kvm_x86_cpu_feature;
}

/**
 * C `KVM_X86_PMU_FEATURE(reg, bit)`: leaf 0xA's EBX or ECX only.
 *
 * @param reg `KVM_CPUID_EBX` or `KVM_CPUID_ECX`
 * @param bit the bit
 * @returns the PMU feature
 */
export function KVM_X86_PMU_FEATURE(reg: number, bit: number): kvm_x86_pmu_feature {
  if (reg !== KVM_CPUID_EBX && reg !== KVM_CPUID_ECX) {
    throw new TypeError("KVM_X86_PMU_FEATURE: the register must be EBX or ECX");
  }
  return Object.freeze({ f: F(0xa, 0, reg, bit) });
}

/** Architectural event: unhalted core cycles. */
export const X86_PMU_FEATURE_CPU_CYCLES: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 0);
/** Architectural event: instructions retired. */
export const X86_PMU_FEATURE_INSNS_RETIRED: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 1);
/** Architectural event: unhalted reference cycles. */
export const X86_PMU_FEATURE_REFERENCE_CYCLES: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 2);
/** Architectural event: LLC references. */
export const X86_PMU_FEATURE_LLC_REFERENCES: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 3);
/** Architectural event: LLC misses. */
export const X86_PMU_FEATURE_LLC_MISSES: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 4);
/** Architectural event: branch instructions retired. */
export const X86_PMU_FEATURE_BRANCH_INSNS_RETIRED: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 5);
/** Architectural event: branches mispredicted. */
export const X86_PMU_FEATURE_BRANCHES_MISPREDICTED: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(
  B,
  6,
);
/** Architectural event: topdown slots. */
export const X86_PMU_FEATURE_TOPDOWN_SLOTS: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 7);
/** Architectural event: topdown backend bound. */
export const X86_PMU_FEATURE_TOPDOWN_BE_BOUND: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 8);
/** Architectural event: topdown bad speculation. */
export const X86_PMU_FEATURE_TOPDOWN_BAD_SPEC: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 9);
/** Architectural event: topdown frontend bound. */
export const X86_PMU_FEATURE_TOPDOWN_FE_BOUND: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 10);
/** Architectural event: topdown retiring. */
export const X86_PMU_FEATURE_TOPDOWN_RETIRING: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 11);
/** Architectural event: LBR inserts. */
export const X86_PMU_FEATURE_LBR_INSERTS: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(B, 12);
/** Fixed counter 0: instructions retired. */
export const X86_PMU_FEATURE_INSNS_RETIRED_FIXED: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(C, 0);
/** Fixed counter 1: core cycles. */
export const X86_PMU_FEATURE_CPU_CYCLES_FIXED: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(C, 1);
/** Fixed counter 2: reference TSC cycles. */
export const X86_PMU_FEATURE_REFERENCE_TSC_CYCLES_FIXED: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(
  C,
  2,
);
/** Fixed counter 3: topdown slots. */
export const X86_PMU_FEATURE_TOPDOWN_SLOTS_FIXED: kvm_x86_pmu_feature = KVM_X86_PMU_FEATURE(C, 3);

/**
 * C `x86_family(eax)`: the family of a CPUID.1:EAX signature (base plus
 * extended family when the base is 0xf).
 *
 * @param eax CPUID.1:EAX
 * @returns the family
 */
export function x86_family(eax: number): number {
  let x86 = (eax >>> 8) & 0xf;
  if (x86 === 0xf) x86 += (eax >>> 20) & 0xff;
  return x86;
}

/**
 * C `x86_model(eax)`: the model, extended model in the high nibble.
 *
 * @param eax CPUID.1:EAX
 * @returns the model
 */
export function x86_model(eax: number): number {
  return ((eax >>> 12) & 0xf0) | ((eax >>> 4) & 0x0f);
}

/**
 * C `get_desc64_base(desc)`: the 64-bit base of a 16-byte system descriptor.
 *
 * @param desc the descriptor
 * @returns its base
 */
export function get_desc64_base(desc: { lo: bigint; hi: bigint }): bigint {
  const base0 = (desc.lo >> 16n) & 0xffffn;
  const base1 = (desc.lo >> 32n) & 0xffn;
  const base2 = (desc.lo >> 56n) & 0xffn;
  const base3 = desc.hi & 0xffffffffn;
  return (base3 << 32n) | (base2 << 24n) | (base1 << 16n) | base0;
}

/**
 * C `HUGEPAGE_SHIFT(x)`: the shift of a page at level `x`.
 *
 * @param x the level
 * @returns the shift
 */
export function HUGEPAGE_SHIFT(x: number): number {
  return PAGE_SHIFT + (x - 1) * 9;
}

/**
 * C `HUGEPAGE_SIZE(x)`.
 *
 * @param x the level
 * @returns the size of a page at level `x`
 */
export function HUGEPAGE_SIZE(x: number): bigint {
  return 1n << BigInt(HUGEPAGE_SHIFT(x));
}

/**
 * C `HUGEPAGE_MASK(x)`: the physical-address bits above a level-`x` page.
 *
 * @param x the level
 * @returns the mask
 */
export function HUGEPAGE_MASK(x: number): bigint {
  return ~(HUGEPAGE_SIZE(x) - 1n) & PHYSICAL_PAGE_MASK;
}

/**
 * C `PTE_GET_PA(pte)`: the physical address a PTE holds.
 *
 * @param pte the entry
 * @returns the address
 */
export function PTE_GET_PA(pte: bigint): bigint {
  return pte & PHYSICAL_PAGE_MASK;
}

/**
 * C `PTE_GET_PFN(pte)`.
 *
 * @param pte the entry
 * @returns the frame number
 */
export function PTE_GET_PFN(pte: bigint): bigint {
  return PTE_GET_PA(pte) >> BigInt(PAGE_SHIFT);
}

/** C `PG_LEVEL_NONE`. */
export const PG_LEVEL_NONE: number = pg_level.PG_LEVEL_NONE;
/** C `PG_LEVEL_4K`. */
export const PG_LEVEL_4K: number = pg_level.PG_LEVEL_4K;
/** C `PG_LEVEL_2M`. */
export const PG_LEVEL_2M: number = pg_level.PG_LEVEL_2M;
/** C `PG_LEVEL_1G`. */
export const PG_LEVEL_1G: number = pg_level.PG_LEVEL_1G;
/** C `PG_LEVEL_512G`. */
export const PG_LEVEL_512G: number = pg_level.PG_LEVEL_512G;
/** C `PG_LEVEL_256T`. */
export const PG_LEVEL_256T: number = pg_level.PG_LEVEL_256T;
/** C `PG_SIZE_4K`. */
export const PG_SIZE_4K: bigint = PG_LEVEL_SIZE(pg_level.PG_LEVEL_4K);
/** C `PG_SIZE_2M`. */
export const PG_SIZE_2M: bigint = PG_LEVEL_SIZE(pg_level.PG_LEVEL_2M);
/** C `PG_SIZE_1G`. */
export const PG_SIZE_1G: bigint = PG_LEVEL_SIZE(pg_level.PG_LEVEL_1G);

/** C `PTE_HUGE_MASK` of the x86 stage-1 MMU: PS. */
export const PTE_HUGE_MASK: bigint = PTE_LARGE_MASK;
/** C `PTE_READABLE_MASK` of the x86 stage-1 MMU: none (only EPT has a read bit). */
export const PTE_READABLE_MASK = 0n;
/** C `PTE_EXECUTABLE_MASK` of the x86 stage-1 MMU: none (execution is allowed unless NX). */
export const PTE_EXECUTABLE_MASK = 0n;
/** C `PTE_ALWAYS_SET_MASK` of the x86 stage-1 MMU: none. */
export const PTE_ALWAYS_SET_MASK = 0n;

// MSRs of asm/msr-index.h the ported programs name.

/** `CET_SHSTK_EN`: shadow stacks enabled. */
export const CET_SHSTK_EN: bigint = BIT_ULL(0);
/** `CET_ENDBR_EN`: indirect branch tracking enabled. */
export const CET_ENDBR_EN: bigint = BIT_ULL(2);
/** `CET_RESERVED`: bits 9:6 of the CET control MSRs. */
export const CET_RESERVED: bigint = BIT_ULL(6) | BIT_ULL(7) | BIT_ULL(8) | BIT_ULL(9);

/**
 * C `sse128_lo(x)`: bits 63:0 of a 128-bit SSE value.
 *
 * @param x the value (as an unsigned 128-bit bigint)
 * @returns its low quadword
 */
export function sse128_lo(x: bigint): bigint {
  return BigInt.asUintN(64, x);
}

/**
 * C `sse128_hi(x)`: bits 127:64 of a 128-bit SSE value.
 *
 * @param x the value (as an unsigned 128-bit bigint)
 * @returns its high quadword
 */
export function sse128_hi(x: bigint): bigint {
  return BigInt.asUintN(64, BigInt.asUintN(128, x) >> 64n);
}
