// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated host CPU: a 4th-generation Xeon Scalable (Sapphire Rapids,
 * family 6 model 0x8f stepping 8) with x2APIC, XSAVE with x87/SSE/AVX/AVX-512
 * state (no AMX, whose dynamic state needs XFD), NX, long mode, 1 GiB pages,
 * LA57; MAXPHYADDR 52 and 57-bit virtual addresses; no nested VMX, no PMU.
 *
 * KVM (`kernel/arch/x86/kvm/cpuid.ts`, which adds its hypervisor leaves) and
 * the TDX module (`tdx_module/sysinfo.ts`, which samples the native CPUID at
 * TDH.SYS.INIT) both read this one model, as on hardware both read the same
 * CPU; neither imports the other's tables.
 *
 * @module
 */

import { KVM_CPUID_FLAG_SIGNIFCANT_INDEX } from "../include/linux/kvm.ts";

/** One CPUID leaf/subleaf (`struct kvm_cpuid_entry2` without padding). */
export interface cpuid_entry {
  /** Leaf. */
  function: number;
  /** Subleaf. */
  index: number;
  /** `KVM_CPUID_FLAG_*`. */
  flags: number;
  /** Output EAX. */
  eax: number;
  /** Output EBX. */
  ebx: number;
  /** Output ECX. */
  ecx: number;
  /** Output EDX. */
  edx: number;
}

/** CPUID.1.EAX of the simulated host: family 6, model 0x8f, stepping 8. */
export const HOST_CPUID_1_EAX = 0x000806f8;
/** XCR0 bits the simulated host supports: x87, SSE, AVX, AVX-512 opmask, ZMM_Hi256, Hi16_ZMM. */
export const HOST_SUPPORTED_XCR0 = 0xe7n;
/** MAXPHYADDR of the simulated host. */
export const HOST_MAXPHYADDR = 52;
/** The largest GPA KVM maps for a guest (CPUID.0x80000008.EAX[23:16]): all of it with 5-level EPT. */
export const HOST_GUEST_PHYS_BITS = HOST_MAXPHYADDR;
/** Virtual address bits of the simulated host (LA57). */
export const HOST_VADDR_BITS = 57;

/** XSAVE components: [feature bit, size, offset] (standard, uncompacted layout). */
const XSTATE: readonly [number, number, number][] = [
  [2, 256, 576],
  [5, 64, 1088],
  [6, 512, 1152],
  [7, 1024, 1664],
];
/** Their XCR0 masks, made once: KVM asks for XSAVE sizes at every CPUID update, and a bigint shift allocates. */
const XSTATE_MASKS: readonly bigint[] = XSTATE.map(([bit]) => 1n << BigInt(bit));

/**
 * `xstate_required_size()`: bytes of an XSAVE area for the features in
 * `xfeatures`, standard or compacted. In the compacted format components
 * follow one another (none of the simulated host's asks for 64-byte
 * alignment in CPUID.0xD.i ECX).
 */
export function xstate_required_size(xfeatures: bigint, compacted = false): number {
  let size = 512 + 64;
  for (let i = 0; i < XSTATE.length; i++) {
    if (!(xfeatures & XSTATE_MASKS[i]!)) continue;
    const [, sz, off] = XSTATE[i]!;
    size = compacted ? size + sz : Math.max(size, off + sz);
  }
  return size;
}

/** Four ASCII characters as a CPUID register reads them (little endian). */
export function str4(s: string): number {
  return (s.charCodeAt(0) | s.charCodeAt(1) << 8 | s.charCodeAt(2) << 16 |
    s.charCodeAt(3) << 24) >>>
    0;
}

function e(
  fn: number,
  index: number,
  eax: number,
  ebx: number,
  ecx: number,
  edx: number,
  flags = 0,
): cpuid_entry {
  return {
    function: fn,
    index,
    flags,
    eax: eax >>> 0,
    ebx: ebx >>> 0,
    ecx: ecx >>> 0,
    edx: edx >>> 0,
  };
}

const SIG = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

function brand(): cpuid_entry[] {
  const s = "Intel(R) Xeon(R) Platinum 8480+".padEnd(48, "\0");
  const out: cpuid_entry[] = [];
  for (let l = 0; l < 3; l++) {
    const r = [0, 1, 2, 3].map((i) => str4(s.slice(l * 16 + i * 4, l * 16 + i * 4 + 4)));
    out.push(e(0x80000002 + l, 0, r[0]!, r[1]!, r[2]!, r[3]!));
  }
  return out;
}

/**
 * The host's CPUID leaves, ascending, with the features KVM does not pass
 * to guests (VMX, PMU, AMX, ...) already absent: what KVM_GET_SUPPORTED_CPUID
 * reports apart from KVM's own hypervisor leaves, and what the TDX module
 * samples as native CPUID.
 */
export const host_cpuid: readonly cpuid_entry[] = Object.freeze([
  e(0, 0, 0x1f, str4("Genu"), str4("ntel"), str4("ineI")),
  // EBX: CLFLUSH line size 8 qwords, 1 logical processor; ECX/EDX: the
  // features listed in the module documentation (no VMX, no OSXSAVE: OS bits
  // are the guest's).
  e(1, 0, HOST_CPUID_1_EAX, 0x00010800, 0xf7fa3203, 0x0f8bfbff),
  e(2, 0, 0x00feff01, 0x000000f0, 0, 0),
  // Deterministic cache parameters: L1d 48K, L1i 32K, L2 2M, L3 105M.
  e(4, 0, 0x121, 0x02c0003f, 63, 0, SIG),
  e(4, 1, 0x122, 0x01c0003f, 63, 0, SIG),
  e(4, 2, 0x143, 0x03c0003f, 2047, 0, SIG),
  e(4, 3, 0x163, 0x0380003f, 114687, 4, SIG),
  e(4, 4, 0, 0, 0, 0, SIG),
  // Thermal and power: ARAT only, as KVM reports.
  e(6, 0, 0x4, 0, 0, 0),
  // EBX: FSGSBASE TSC_ADJUST (emulated by KVM) BMI1 AVX2 SMEP BMI2 ERMS
  // INVPCID AVX512F DQ RDSEED ADX SMAP IFMA CLFLUSHOPT CLWB AVX512CD SHA
  // AVX512BW VL; ECX: VBMI UMIP VBMI2 GFNI VAES VPCLMULQDQ VNNI BITALG
  // VPOPCNTDQ LA57 RDPID MOVDIRI MOVDIR64B; EDX: FSRM SERIALIZE SPEC_CTRL
  // STIBP ARCH_CAPABILITIES SSBD.
  e(7, 0, 1, 0xf1bf07ab, 0x18415f46, 0xac004010, SIG),
  e(7, 1, 0x30, 0, 0, 0, SIG),
  e(0xb, 0, 1, 1, 0x100, 0, SIG),
  e(0xb, 1, 1, 1, 0x201, 0, SIG),
  e(
    0xd,
    0,
    Number(HOST_SUPPORTED_XCR0),
    xstate_required_size(HOST_SUPPORTED_XCR0),
    xstate_required_size(HOST_SUPPORTED_XCR0),
    0,
    SIG,
  ),
  // XSAVEOPT, XSAVEC, XGETBV1; no XSAVES (no supervisor state).
  e(0xd, 1, 0x7, 0, 0, 0, SIG),
  ...XSTATE.map(([bit, size, off]) => e(0xd, bit, size, off, 0, 0, SIG)),
  e(0x1f, 0, 1, 1, 0x100, 0, SIG),
  e(0x1f, 1, 1, 1, 0x201, 0, SIG),
  e(0x80000000, 0, 0x80000008, 0, 0, 0),
  // ECX: LAHF_LM ABM PREFETCHW; EDX: SYSCALL NX PDPE1GB RDTSCP LM.
  e(0x80000001, 0, 0, 0, 0x121, 0x2c100800),
  ...brand(),
  e(0x80000006, 0, 0, 0, 0x08007040, 0),
  // Invariant TSC.
  e(0x80000007, 0, 0, 0, 0, 0x100),
  // GuestPhysBits (EAX[23:16]): KVM reports the largest GPA its TDP can map,
  // MAXPHYADDR itself with 5-level EPT (the TDX library sizes a TD's GPAW from it).
  e(0x80000008, 0, HOST_GUEST_PHYS_BITS << 16 | HOST_VADDR_BITS << 8 | HOST_MAXPHYADDR, 0, 0, 0),
]);
