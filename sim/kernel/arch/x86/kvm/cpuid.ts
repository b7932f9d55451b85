// SPDX-License-Identifier: GPL-2.0-only
/**
 * CPUID (`arch/x86/kvm/cpuid.c`): the table KVM_GET_SUPPORTED_CPUID reports
 * for the simulated host, and `kvm_cpuid()`, the lookup KVM performs when the
 * guest executes CPUID, over the table userspace set with KVM_SET_CPUID2.
 *
 * The simulated host is a 4th-generation Xeon Scalable (Sapphire Rapids,
 * family 6 model 0x8f stepping 8) as KVM would expose it: x2APIC, XSAVE with
 * x87/SSE/AVX/AVX-512 state (no AMX, whose dynamic state needs XFD), NX, long
 * mode, 1 GiB pages, LA57; MAXPHYADDR 52 and 57-bit virtual addresses; no
 * nested VMX, no PMU, and in the hypervisor leaves only the paravirtual
 * feature the simulator implements (KVM_FEATURE_HC_MAP_GPA_RANGE).
 *
 * @module
 */

import { KVM_CPUID_FLAG_SIGNIFCANT_INDEX } from "../../../../../include/linux/kvm.ts";
import {
  KVM_CPUID_FEATURES,
  KVM_CPUID_SIGNATURE,
  KVM_FEATURE_HC_MAP_GPA_RANGE,
} from "../../../../../include/linux/kvm_para.ts";

/** `KVM_MAX_CPUID_ENTRIES`. */
export const KVM_MAX_CPUID_ENTRIES = 256;
/** Bytes of one `struct kvm_cpuid_entry2`. */
export const CPUID_ENTRY2_SIZE = 40;

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
/** XCR0 bits KVM supports: x87, SSE, AVX, AVX-512 opmask, ZMM_Hi256, Hi16_ZMM. */
export const KVM_SUPPORTED_XCR0 = 0xe7n;
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

/**
 * `xstate_required_size()`: bytes of an XSAVE area for the features in
 * `xfeatures`, standard or compacted. In the compacted format components
 * follow one another (none of the simulated host's asks for 64-byte
 * alignment in CPUID.0xD.i ECX).
 */
export function xstate_required_size(xfeatures: bigint, compacted = false): number {
  let size = 512 + 64;
  for (const [bit, sz, off] of XSTATE) {
    if (!(xfeatures & (1n << BigInt(bit)))) continue;
    size = compacted ? size + sz : Math.max(size, off + sz);
  }
  return size;
}

function str4(s: string): number {
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

/** The entries KVM_GET_SUPPORTED_CPUID returns, in the kernel's order. */
export const supported_cpuid: readonly cpuid_entry[] = Object.freeze([
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
    Number(KVM_SUPPORTED_XCR0),
    xstate_required_size(KVM_SUPPORTED_XCR0),
    xstate_required_size(KVM_SUPPORTED_XCR0),
    0,
    SIG,
  ),
  // XSAVEOPT, XSAVEC, XGETBV1; no XSAVES (no supervisor state).
  e(0xd, 1, 0x7, 0, 0, 0, SIG),
  ...XSTATE.map(([bit, size, off]) => e(0xd, bit, size, off, 0, 0, SIG)),
  e(0x1f, 0, 1, 1, 0x100, 0, SIG),
  e(0x1f, 1, 1, 1, 0x201, 0, SIG),
  e(KVM_CPUID_SIGNATURE, 0, KVM_CPUID_FEATURES, str4("KVMK"), str4("VMKV"), str4("M\0\0\0")),
  e(KVM_CPUID_FEATURES, 0, 1 << KVM_FEATURE_HC_MAP_GPA_RANGE, 0, 0, 0),
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

/** Writes `ent` as a `kvm_cpuid_entry2` at `off` of `dv`. */
export function put_cpuid_entry(dv: DataView, off: number, ent: cpuid_entry): void {
  dv.setUint32(off, ent.function, true);
  dv.setUint32(off + 4, ent.index, true);
  dv.setUint32(off + 8, ent.flags, true);
  dv.setUint32(off + 12, ent.eax, true);
  dv.setUint32(off + 16, ent.ebx, true);
  dv.setUint32(off + 20, ent.ecx, true);
  dv.setUint32(off + 24, ent.edx, true);
  dv.setUint32(off + 28, 0, true);
  dv.setUint32(off + 32, 0, true);
  dv.setUint32(off + 36, 0, true);
}

/** Reads the `kvm_cpuid_entry2` at `off` of `dv`. */
export function get_cpuid_entry(dv: DataView, off: number): cpuid_entry {
  return {
    function: dv.getUint32(off, true),
    index: dv.getUint32(off + 4, true),
    flags: dv.getUint32(off + 8, true),
    eax: dv.getUint32(off + 12, true),
    ebx: dv.getUint32(off + 16, true),
    ecx: dv.getUint32(off + 20, true),
    edx: dv.getUint32(off + 24, true),
  };
}

/** `kvm_find_cpuid_entry_index()` over a vCPU's entries. */
export function kvm_find_cpuid_entry_index(
  entries: readonly cpuid_entry[],
  fn: number,
  index: number,
): cpuid_entry | undefined {
  for (const ent of entries) {
    if (ent.function !== fn) continue;
    if (!(ent.flags & SIG) || ent.index === index) return ent;
  }
  return undefined;
}

/**
 * `kvm_cpuid()`: what CPUID(`fn`, `index`) returns to the guest. An exact
 * match wins; a leaf above its class's maximum reads as the maximum basic
 * leaf (Intel behaviour); anything else is zero, except that leaves 0xB and
 * 0x1F echo the subleaf in ECX and the x2APIC id in EDX.
 */
export function kvm_cpuid(
  entries: readonly cpuid_entry[],
  fn: number,
  index: number,
): [number, number, number, number] {
  let ent = kvm_find_cpuid_entry_index(entries, fn, index);
  if (!ent) {
    const cls = fn >= 0x40000000 && fn < 0x50000000
      ? (fn & 0xffffff00) >>> 0
      : (fn & 0x80000000) >>> 0;
    const max = kvm_find_cpuid_entry_index(entries, cls, 0);
    if (max && fn > max.eax) {
      const basic = kvm_find_cpuid_entry_index(entries, 0, 0);
      if (basic) ent = kvm_find_cpuid_entry_index(entries, basic.eax, index);
    }
  }
  if (ent) return [ent.eax, ent.ebx, ent.ecx, ent.edx];
  if (fn === 0xb || fn === 0x1f) {
    const sub0 = kvm_find_cpuid_entry_index(entries, fn, 0);
    if (sub0) return [0, 0, index & 0xff, sub0.edx];
  }
  return [0, 0, 0, 0];
}

/** `cpuid_maxphyaddr()`: from leaf 0x80000008, 36 when absent. */
export function cpuid_maxphyaddr(entries: readonly cpuid_entry[]): number {
  const ent = kvm_find_cpuid_entry_index(entries, 0x80000008, 0);
  return ent ? ent.eax & 0xff : 36;
}
