// SPDX-License-Identifier: GPL-2.0-only
/**
 * What a KVM offers, asked before a differential run: VM types, every
 * capability (system and VM level), whether guest_memfd and memory
 * attributes really work, and whether the vCPU takes what the supported CPUID
 * advertises (CR4.LA57). Hosts differ (a `kvm_pvm` host without guest_memfd,
 * one that lists LA57 and refuses CR4.LA57, ...), so the checker generates
 * only what both backends offer and says in its report header what the probe
 * found. A profile is plain JSON: `testdata/hosts/` keeps the profiles of the
 * hosts the project has met, so that the checker's choices and the library's
 * paging-mode choice are tested against each of them on any machine.
 *
 * @module
 */

import type { Backend } from "../../include/libc/backend.ts";
import * as kvm from "../../include/linux/kvm.ts";
import { kvm_cpuid2, kvm_sregs } from "../../include/asm/kvm.ts";
import { EFER_LMA, EFER_LME } from "../../include/asm/msr-index.ts";
import {
  X86_CR0_PE,
  X86_CR0_PG,
  X86_CR4_LA57,
  X86_CR4_PAE,
} from "../../include/asm/processor-flags.ts";
import { O_RDWR } from "../../include/linux/fcntl.ts";
import { E2BIG, ENOTTY } from "../../include/linux/errno.ts";
import { x86_guest_va_bits } from "../../lib/x86/processor.ts";

/** One backend's answers, as recorded. */
export interface HostProfile {
  /** Where it comes from: a backend name, or a recorded host's description. */
  name: string;
  /** Whether `/dev/kvm` could be opened; without it nothing below is known. */
  available: boolean;
  /** Why not, when it is not available. */
  reason?: string;
  /** The KVM vendor module (`kvm_intel`, `kvm_amd`, `kvm_pvm`, `sim`), when known. */
  vendor_module?: string;
  /** `uname -r`, when known. */
  kernel?: string;
  /** KVM_CAP_VM_TYPES (or -errno): the VM types KVM creates. */
  vm_types: number;
  /** KVM_CHECK_EXTENSION on `/dev/kvm`, by capability name, only where non-zero. */
  caps: Record<string, number>;
  /** KVM_CHECK_EXTENSION on a default VM, by capability name, only where non-zero. */
  vm_caps: Record<string, number>;
  /** KVM_CREATE_GUEST_MEMFD of one page on a default VM: 0 when it made an fd, else -errno. */
  guest_memfd: number;
  /** What KVM_GET_SUPPORTED_CPUID says about the guest's addresses. */
  cpuid: {
    /** CPUID.7.0:ECX[16]. */
    la57: boolean;
    /** CPUID.0x80000008:EAX[7:0] (0 when the leaf is absent). */
    max_phys_addr: number;
    /** CPUID.0x80000008:EAX[15:8] (0 when the leaf is absent). */
    max_virt_addr: number;
  };
  /**
   * KVM_SET_SREGS of a 64-bit vCPU with CR4.LA57, after KVM_SET_CPUID2 with
   * the supported CPUID: 0 when taken, else -errno (null when LA57 is not
   * advertised, so nothing was tried).
   */
  la57_sregs: number | null;
}

/** Every `KVM_CAP_*` constant, by number. */
const CAP_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(kvm)
    .filter(([k, v]) => k.startsWith("KVM_CAP_") && typeof v === "number")
    .map(([k, v]) => [v as number, k]),
);

function check_extension(b: Backend, fd: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cap, name] of [...CAP_NAMES].sort((x, y) => x[0] - y[0])) {
    const r = b.ioctl(fd, kvm.KVM_CHECK_EXTENSION, BigInt(cap));
    if (r !== 0) out[name] = r;
  }
  return out;
}

/** The supported CPUID table, or null when KVM refuses to give it. */
function supported_cpuid(b: Backend, kvm_fd: number) {
  for (let nent = 64; nent <= 4096; nent *= 2) {
    const c = kvm_cpuid2.alloc(nent);
    c.nent = nent;
    const r = b.ioctl(kvm_fd, kvm.KVM_GET_SUPPORTED_CPUID, b.addr_of(c.$buffer, c.$offset));
    if (r === 0) return c;
    if (r !== -E2BIG) return null;
  }
  return null;
}

function leaf(c: ReturnType<typeof kvm_cpuid2.alloc>, fn: number, index = 0) {
  for (let i = 0; i < c.nent; i++) {
    const e = c.entries.at(i);
    if (e.function === fn && e.index === index) return e;
  }
  return undefined;
}

/**
 * Whether a vCPU given the supported CPUID takes CR4.LA57 in a 64-bit state:
 * KVM checks CR4 against the guest's CPUID (`kvm_is_valid_cr4()`), so the
 * table is set first, as `vm_vcpu_add()` does before `vcpu_init_sregs()`.
 */
function try_la57(b: Backend, vm_fd: number, cpuid: ReturnType<typeof kvm_cpuid2.alloc>): number {
  const vcpu = b.ioctl(vm_fd, kvm.KVM_CREATE_VCPU, 0n);
  if (vcpu < 0) return vcpu;
  try {
    let r = b.ioctl(vcpu, kvm.KVM_SET_CPUID2, b.addr_of(cpuid.$buffer, cpuid.$offset));
    if (r < 0) return r;
    const s = kvm_sregs.alloc();
    const addr = b.addr_of(s.$buffer, s.$offset);
    r = b.ioctl(vcpu, kvm.KVM_GET_SREGS, addr);
    if (r < 0) return r;
    s.cr0 = X86_CR0_PE | X86_CR0_PG;
    s.cr4 = X86_CR4_PAE | X86_CR4_LA57;
    s.efer = EFER_LME | EFER_LMA;
    s.cs.l = 1;
    s.cs.db = 0;
    s.cs.s = 1;
    s.cs.type = 0xb;
    s.cs.present = 1;
    return b.ioctl(vcpu, kvm.KVM_SET_SREGS, addr);
  } finally {
    b.close(vcpu);
  }
}

/**
 * Asks one backend what it offers.
 *
 * @param b the backend
 * @param name how the profile is named in reports
 * @param extra what the caller knows of the host (vendor module, kernel)
 * @returns the profile; `available: false` when `/dev/kvm` cannot be opened
 */
export function probe_host(
  b: Backend,
  name: string,
  extra: { vendor_module?: string; kernel?: string } = {},
): HostProfile {
  const none: HostProfile = {
    name,
    available: false,
    vm_types: 0,
    caps: {},
    vm_caps: {},
    guest_memfd: -ENOTTY,
    cpuid: { la57: false, max_phys_addr: 0, max_virt_addr: 0 },
    la57_sregs: null,
  };
  const kvm_fd = b.open("/dev/kvm", O_RDWR, 0);
  if (kvm_fd < 0) return { ...none, ...extra, reason: `open("/dev/kvm"): errno ${-kvm_fd}` };
  try {
    const p: HostProfile = { ...none, ...extra, available: true };
    p.caps = check_extension(b, kvm_fd);
    p.vm_types = b.ioctl(kvm_fd, kvm.KVM_CHECK_EXTENSION, BigInt(kvm.KVM_CAP_VM_TYPES));
    const cpuid = supported_cpuid(b, kvm_fd);
    if (cpuid) {
      const l7 = leaf(cpuid, 7);
      const l88 = leaf(cpuid, 0x80000008);
      p.cpuid = {
        la57: l7 !== undefined && ((l7.ecx >>> 16) & 1) === 1,
        max_phys_addr: l88 ? l88.eax & 0xff : 0,
        max_virt_addr: l88 ? (l88.eax >>> 8) & 0xff : 0,
      };
    }
    const vm_fd = b.ioctl(kvm_fd, kvm.KVM_CREATE_VM, 0n);
    if (vm_fd < 0) return { ...p, reason: `KVM_CREATE_VM: errno ${-vm_fd}` };
    try {
      p.vm_caps = check_extension(b, vm_fd);
      const gm = kvm.kvm_create_guest_memfd.alloc();
      gm.size = 4096n;
      const r = b.ioctl(vm_fd, kvm.KVM_CREATE_GUEST_MEMFD, b.addr_of(gm.$buffer, gm.$offset));
      if (r >= 0) b.close(r);
      p.guest_memfd = r >= 0 ? 0 : r;
      if (cpuid && p.cpuid.la57) p.la57_sregs = try_la57(b, vm_fd, cpuid);
    } finally {
      b.close(vm_fd);
    }
    return p;
  } finally {
    b.close(kvm_fd);
  }
}

/** Whether a profile's KVM has working guest_memfd. */
export function has_guest_memfd(p: HostProfile): boolean {
  return p.available && p.guest_memfd === 0 && (p.vm_caps.KVM_CAP_GUEST_MEMFD ?? 0) > 0;
}

/**
 * Capabilities that only describe an optional feature: where one backend
 * lacks the feature, their values differ for that reason alone.
 */
export const FEATURE_CAPS: Readonly<Record<string, readonly number[]>> = {
  guest_memfd: [
    kvm.KVM_CAP_GUEST_MEMFD,
    kvm.KVM_CAP_GUEST_MEMFD_FLAGS,
  ],
};

/** What both backends offer, and so what a differential run generates. */
export interface Offer {
  /** Whether guest_memfds (and KVM_MEM_GUEST_MEMFD slots) are generated. */
  guest_memfd: boolean;
  /** Capabilities whose values are not compared, because one side lacks their feature. */
  feature_caps: number[];
  /**
   * Whether both map memory ahead (KVM_CAP_PRE_FAULT_MEMORY, `tdp_enabled`):
   * without it on one side only the generic argument checks of
   * KVM_PRE_FAULT_MEMORY are generated (a shadow-paging host refuses the rest).
   */
  pre_fault: boolean;
  /** What the probe found, one line each, for the report header. */
  findings: string[];
}

/**
 * What two backends both offer.
 *
 * @param a the reference's profile
 * @param b the tested backend's profile
 * @returns what to generate, and what to exempt and say
 */
export function common_offer(a: HostProfile, b: HostProfile): Offer {
  const findings: string[] = [];
  const gm = has_guest_memfd(a) && has_guest_memfd(b);
  const feature_caps: number[] = [];
  const say = (p: HostProfile) =>
    has_guest_memfd(p)
      ? "yes"
      : `no (KVM_CREATE_GUEST_MEMFD ${p.guest_memfd === 0 ? "ok" : `errno ${-p.guest_memfd}`}, ` +
        `KVM_CAP_GUEST_MEMFD ${p.vm_caps.KVM_CAP_GUEST_MEMFD ?? 0})`;
  findings.push(
    `guest_memfd: ${a.name} ${say(a)}, ${b.name} ${say(b)}` +
      (gm ? "" : ": not generated, its capabilities exempt (probe-guest-memfd)"),
  );
  if (!gm) feature_caps.push(...FEATURE_CAPS.guest_memfd!);
  const la57 = (p: HostProfile) =>
    !p.cpuid.la57
      ? "not advertised"
      : p.la57_sregs === 0
      ? "advertised and taken"
      : `advertised, CR4.LA57 refused (errno ${-(p.la57_sregs ?? 0)})`;
  findings.push(`LA57: ${a.name} ${la57(a)}, ${b.name} ${la57(b)}`);
  findings.push(
    `virtual address bits: ${a.name} ${a.cpuid.max_virt_addr}, ${b.name} ${b.cpuid.max_virt_addr}`,
  );
  const pf = (p: HostProfile) => (p.caps.KVM_CAP_PRE_FAULT_MEMORY ?? 0) > 0;
  const pre_fault = pf(a) && pf(b);
  findings.push(
    `KVM_PRE_FAULT_MEMORY: ${a.name} ${pf(a) ? "yes" : "no"}, ${b.name} ${pf(b) ? "yes" : "no"}` +
      (pre_fault ? "" : ": only its argument checks generated"),
  );
  return { guest_memfd: gm, feature_caps, findings, pre_fault };
}

/**
 * The guest's page-table depth the library picks on a host with this
 * profile: `____vm_create()` takes 5 levels for 57 virtual-address bits, and
 * the SDK's `x86_guest_va_bits()` falls back to 48 bits where the host lists
 * LA57 but refuses CR4.LA57.
 *
 * @param p a host profile
 * @returns 4 or 5
 */
export function paging_levels_of(p: HostProfile): 4 | 5 {
  return x86_guest_va_bits(p.cpuid.max_virt_addr, p.la57_sregs === 0) === 57 ? 5 : 4;
}
