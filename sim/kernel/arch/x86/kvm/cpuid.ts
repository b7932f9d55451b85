// SPDX-License-Identifier: GPL-2.0-only
/**
 * CPUID (`arch/x86/kvm/cpuid.c`): the table KVM_GET_SUPPORTED_CPUID reports
 * for the simulated host, and `kvm_cpuid()`, the lookup KVM performs when the
 * guest executes CPUID, over the table userspace set with KVM_SET_CPUID2.
 *
 * The host CPU is the one model in `sim/host_cpu.ts`; KVM adds its
 * hypervisor leaves, advertising only the paravirtual feature the simulator
 * implements (KVM_FEATURE_HC_MAP_GPA_RANGE).
 *
 * @module
 */

import { KVM_CPUID_FLAG_SIGNIFCANT_INDEX } from "../../../../../include/linux/kvm.ts";
import {
  KVM_CPUID_FEATURES,
  KVM_CPUID_SIGNATURE,
  KVM_FEATURE_HC_MAP_GPA_RANGE,
} from "../../../../../include/linux/kvm_para.ts";

import { type cpuid_entry, host_cpuid, HOST_SUPPORTED_XCR0, str4 } from "../../../../host_cpu.ts";

export {
  type cpuid_entry,
  HOST_CPUID_1_EAX,
  HOST_GUEST_PHYS_BITS,
  HOST_MAXPHYADDR,
  HOST_VADDR_BITS,
  xstate_required_size,
} from "../../../../host_cpu.ts";

/** `KVM_MAX_CPUID_ENTRIES`. */
export const KVM_MAX_CPUID_ENTRIES = 256;
/** Bytes of one `struct kvm_cpuid_entry2`. */
export const CPUID_ENTRY2_SIZE = 40;

/** The host's leaves, with KVM's hypervisor leaves after the basic ones (the kernel's order). */
const KVM_LEAVES_AT = host_cpuid.findIndex((e) => e.function >= 0x80000000);

/** The entries KVM_GET_SUPPORTED_CPUID returns, in the kernel's order. */
export const supported_cpuid: readonly cpuid_entry[] = Object.freeze([
  ...host_cpuid.slice(0, KVM_LEAVES_AT),
  kvm_leaf(KVM_CPUID_SIGNATURE, KVM_CPUID_FEATURES, str4("KVMK"), str4("VMKV"), str4("M\0\0\0")),
  kvm_leaf(KVM_CPUID_FEATURES, 1 << KVM_FEATURE_HC_MAP_GPA_RANGE, 0, 0, 0),
  ...host_cpuid.slice(KVM_LEAVES_AT),
]);

function kvm_leaf(fn: number, eax: number, ebx: number, ecx: number, edx: number): cpuid_entry {
  return { function: fn, index: 0, flags: 0, eax: eax >>> 0, ebx: ebx >>> 0, ecx, edx };
}

/** XCR0 bits KVM supports: all the host's. */
export const KVM_SUPPORTED_XCR0: bigint = HOST_SUPPORTED_XCR0;

const SIG = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;

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
 * `kvm_cpuid()`: the four registers CPUID(`fn`, `index`) gives the guest.
 * Lookup order: the entry for exactly that leaf and subleaf; failing that, if
 * `fn` lies past the top leaf its range declares (basic, a 0x100-leaf
 * hypervisor block, or extended), the top basic leaf's entry, which is how
 * Intel CPUs answer; failing that, zeros. The topology leaves 0xB and 0x1F
 * differ for a subleaf with no entry, once their subleaf 0 exists: ECX[7:0]
 * still reports the subleaf number and EDX the x2APIC id (from subleaf 0).
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
