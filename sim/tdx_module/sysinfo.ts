// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TDX module's global state: what TDH.SYS.RD reports to the host
 * (`struct tdx_sys_info_td_conf` in the kernel: ATTRIBUTES_FIXED0/1,
 * XFAM_FIXED0/1, the configurable CPUID leaves with their masks, the vCPU
 * limit) and the Key Ownership Table (KOT) of private HKIDs.
 *
 * The simulated module is TDX 1.5.01 on the simulated platform, a Sapphire
 * Rapids whose CPUID is `sim/host_cpu.ts`'s `host_cpuid`, the model KVM's
 * table is also built from: the module samples it as the native CPUID (as the
 * real module does at TDH.SYS.INIT), so what KVM reports as supported and what
 * the TD sees agree.
 *
 * Key ids are finite, as on hardware: the platform reserves
 * {@linkcode TDX_NR_GUEST_KEYIDS} private KeyIDs for TDs (the simulated host's
 * `hkids`, `sim/host.ts`, as MAX_VCPUS_PER_TD is its `max_vcpus_per_td`) and each live TD holds
 * one from TDH.MNG.CREATE until TDH.MNG.KEY.FREEID. The allocator over that
 * range ({@linkcode tdx_module.guest_keyid_alloc}) plays the host kernel's
 * `tdx_guest_keyid_alloc()` (`arch/x86/virt/vmx/tdx/tdx.c`, an IDA), which
 * fails with `-ENOSPC` when every key is taken.
 *
 * @module
 */

import { ENOSPC } from "../../include/linux/errno.ts";
import { hkid_alloc_fails } from "../fault_inject.ts";
import { sim_host_config, TDX_MAX_VCPUS_PER_TD, TDX_NR_GUEST_KEYIDS } from "../host.ts";
import { host_cpuid, HOST_CPUID_1_EAX, HOST_SUPPORTED_XCR0 } from "../host_cpu.ts";
import {
  TDX_TD_ATTR_DEBUG,
  TDX_TD_ATTR_MIGRATABLE,
  TDX_TD_ATTR_PERFMON,
  TDX_TD_ATTR_PKS,
  TDX_TD_ATTR_SEPT_VE_DISABLE,
} from "../../include/x86/tdx/tdx.ts";

/** "No subleaf" in a CPUID leaf/subleaf pair of the module's tables. */
export const TDX_CPUID_NO_SUBLEAF = 0xffffffff;

/**
 * ATTRIBUTES bits a TD may set (TDX 1.5.01): DEBUG, SEPT_VE_DISABLE,
 * MIGRATABLE, PKS, PERFMON.
 */
export const TDX_ATTRIBUTES_FIXED0: bigint = TDX_TD_ATTR_DEBUG | TDX_TD_ATTR_SEPT_VE_DISABLE |
  TDX_TD_ATTR_MIGRATABLE | TDX_TD_ATTR_PKS | TDX_TD_ATTR_PERFMON;
/** ATTRIBUTES bits a TD must set: none. */
export const TDX_ATTRIBUTES_FIXED1 = 0n;
/** XFAM bits a TD may set (TDX 1.5): x87 SSE AVX MPX-less AVX-512 PT PKRU CET ULI LBR AMX. */
export const TDX_XFAM_FIXED0 = 0x0006dbe7n;
/** XFAM bits a TD must set: x87 and SSE. */
export const TDX_XFAM_FIXED1 = 0x00000003n;
/** TD_PARAMS.TSC_FREQUENCY lower bound, in 25 MHz units (100 MHz). */
export const TDX_VIRT_TSC_FREQUENCY_MIN = 4;
/** TD_PARAMS.TSC_FREQUENCY upper bound, in 25 MHz units (10 GHz). */
export const TDX_VIRT_TSC_FREQUENCY_MAX = 400;
/** The unit of TD_PARAMS.TSC_FREQUENCY, in kHz. */
export const TDX_TSC_KHZ_UNIT = 25000;
/** The first private KeyID (KeyIDs below it are MKTME/shared ones). */
export const TDX_GUEST_KEYID_START = 32;

/**
 * XCR0 | IA32_XSS bits the platform supports: what XFAM is further limited
 * to (XFAM_FIXED0 is the module's view; a bit also needs the CPU). The
 * simulated CPU has no supervisor XSAVE state.
 */
export const TDX_PLATFORM_XFAM_SUPPORTED: bigint = HOST_SUPPORTED_XCR0;

/** One configurable CPUID leaf: the bits TD_PARAMS may set (CONFIG_DIRECT | ALLOW_DIRECT). */
export interface tdx_cpuid_config {
  /** Leaf (EAX input). */
  readonly leaf: number;
  /** Subleaf (ECX input), or {@linkcode TDX_CPUID_NO_SUBLEAF}. */
  readonly sub_leaf: number;
  /** CONFIG_DIRECT: bits whose value the TD takes from TD_PARAMS, per register. */
  readonly config_direct: readonly [number, number, number, number];
  /** ALLOW_DIRECT: native bits TD_PARAMS may leave set (1) or clear (0), per register. */
  readonly allow_direct: readonly [number, number, number, number];
}

function cfg(
  leaf: number,
  sub_leaf: number,
  config_direct: [number, number, number, number],
  allow_direct: [number, number, number, number],
): tdx_cpuid_config {
  return Object.freeze({ leaf, sub_leaf, config_direct, allow_direct });
}

const NS = TDX_CPUID_NO_SUBLEAF;

/**
 * The configurable CPUID leaves of TDX 1.5.01, in the module's CPUID_CONFIG
 * index order (TD_PARAMS.CPUID_CONFIG_VALUES[i] configures entry i):
 * 0x1, 0x4.0-3, 0x7.0, 0x7.1, 0xA, 0x1C, 0x80000008, 0x7.2, 0x23.0.
 */
export const TDX_CPUID_CONFIG_LEAVES: readonly tdx_cpuid_config[] = Object.freeze([
  // Family/model/stepping and the APIC-related EBX byte are direct; a set of
  // feature flags may be hidden.
  cfg(0x1, NS, [0x0fff3fff, 0x00ff0000, 0, 0], [0, 0, 0x31044d88, 0xb8440000]),
  // The cache descriptors are the VMM's to describe.
  cfg(0x4, 0, [0xffffc3ff, 0xfffff000, 0xffffffff, 0xfffffffb], [0, 0, 0, 0]),
  cfg(0x4, 1, [0xffffc3ff, 0xfffff000, 0xffffffff, 0xfffffffb], [0, 0, 0, 0]),
  cfg(0x4, 2, [0xffffc3ff, 0xfffff000, 0xffffffff, 0xfffffffb], [0, 0, 0, 0]),
  cfg(0x4, 3, [0xffffc3ff, 0xfffff000, 0xffffffff, 0x00000007], [0, 0, 0, 0]),
  cfg(0x7, 0, [0, 0, 0, 0], [0, 0xdc2b9b18, 0x02417f65, 0x0005411c]),
  cfg(0x7, 1, [0, 0, 0, 0], [0x04881db0, 0, 0, 0x00020430]),
  cfg(0xa, NS, [0, 0, 0, 0], [0, 0, 0, 0]),
  cfg(0x1c, NS, [0, 0, 0, 0], [0x000000ff, 0, 0, 0]),
  // Virtual MAXPA (EAX[7:0]) is direct; KVM also carries GPAW in EAX[23:16]
  // (its own convention: it clears the byte before TDH.MNG.INIT).
  cfg(0x80000008, NS, [0x000000ff, 0, 0, 0], [0, 0x00000200, 0, 0]),
  cfg(0x7, 2, [0, 0, 0, 0], [0, 0, 0, 0x00000028]),
  cfg(0x23, 0, [0, 0, 0, 0], [0x0000000f, 0, 0, 0]),
]);

/** The native CPUID of the platform (the module samples it at TDH.SYS.INIT). */
export function native_cpuid(leaf: number, subleaf: number): [number, number, number, number] {
  let any: (typeof host_cpuid)[number] | undefined;
  for (const e of host_cpuid) {
    if (e.function !== leaf) continue;
    if (e.index === subleaf) return [e.eax, e.ebx, e.ecx, e.edx];
    if (!(e.flags & 1)) any = e;
  }
  return any ? [any.eax, any.ebx, any.ecx, any.edx] : [0, 0, 0, 0];
}

/** Family/model/stepping of the platform (native CPUID(1).EAX). */
export const TDX_PLATFORM_FMS: number = HOST_CPUID_1_EAX;

/** `struct tdx_sys_info_td_conf`: what TDH.SYS.RD tells the host about TD configuration. */
export interface tdx_sys_info_td_conf {
  /** ATTRIBUTES bits a TD may set. */
  readonly attributes_fixed0: bigint;
  /** ATTRIBUTES bits a TD must set. */
  readonly attributes_fixed1: bigint;
  /** XFAM bits a TD may set. */
  readonly xfam_fixed0: bigint;
  /** XFAM bits a TD must set. */
  readonly xfam_fixed1: bigint;
  /** Number of configurable CPUID leaves. */
  readonly num_cpuid_config: number;
  /** Maximum vCPUs per TD. */
  readonly max_vcpus_per_td: number;
  /** CPUID_CONFIG_LEAVES[i]: `leaf | subleaf << 32` (subleaf 0xffffffff: none). */
  readonly cpuid_config_leaves: readonly bigint[];
  /** CPUID_CONFIG_VALUES[i]: `[ebx << 32 | eax, edx << 32 | ecx]`, the configurable masks. */
  readonly cpuid_config_values: readonly (readonly [bigint, bigint])[];
}

/** `struct tdx_sys_info`: the module's global metadata KVM uses. */
export interface tdx_sys_info {
  /** TD configuration limits. */
  readonly td_conf: tdx_sys_info_td_conf;
  /** The first private KeyID. */
  readonly guest_keyid_start: number;
  /** Number of private KeyIDs. */
  readonly nr_guest_keyids: number;
  /** XCR0 | XSS bits the platform supports (XFAM's other limit). */
  readonly platform_xfam: bigint;
  /** Whether the platform supports 5-level (Secure) EPT, i.e. GPAW 52. */
  readonly sept_5level: boolean;
}

function mask_pair(c: tdx_cpuid_config): readonly [bigint, bigint] {
  const m = c.config_direct.map((v, i) => BigInt((v | c.allow_direct[i]!) >>> 0));
  return Object.freeze([m[1]! << 32n | m[0]!, m[3]! << 32n | m[2]!] as const);
}

export { TDX_MAX_VCPUS_PER_TD, TDX_NR_GUEST_KEYIDS };

/** The module's TD configuration metadata with the default MAX_VCPUS_PER_TD. */
export const TDX_SYS_INFO_TD_CONF: tdx_sys_info_td_conf = Object.freeze({
  attributes_fixed0: TDX_ATTRIBUTES_FIXED0,
  attributes_fixed1: TDX_ATTRIBUTES_FIXED1,
  xfam_fixed0: TDX_XFAM_FIXED0,
  xfam_fixed1: TDX_XFAM_FIXED1,
  num_cpuid_config: TDX_CPUID_CONFIG_LEAVES.length,
  max_vcpus_per_td: TDX_MAX_VCPUS_PER_TD,
  cpuid_config_leaves: Object.freeze(
    TDX_CPUID_CONFIG_LEAVES.map((c) => BigInt(c.leaf) | BigInt(c.sub_leaf) << 32n),
  ),
  cpuid_config_values: Object.freeze(TDX_CPUID_CONFIG_LEAVES.map(mask_pair)),
});

/** KOT entry state of a private HKID. */
export const KOT_STATE_HKID_FREE = 0;
/** KOT entry state: TDH.MNG.CREATE gave the HKID to a TD. */
export const KOT_STATE_HKID_ASSIGNED = 1;

/** Options of a {@linkcode tdx_module}; what is left out follows the simulated host. */
export interface tdx_module_options {
  /** Number of private KeyIDs (default: the host's `hkids`). */
  nr_guest_keyids?: number;
  /** MAX_VCPUS_PER_TD (default: the host's `max_vcpus_per_td`). */
  max_vcpus_per_td?: number;
}

/**
 * One TDX module instance: its global metadata, the KOT and the host's
 * KeyID allocator. The simulated machine has one ({@linkcode tdx_module_global});
 * tests make their own so that they can exhaust the keys.
 */
export class tdx_module {
  readonly #options: tdx_module_options;
  #sysinfo: tdx_sys_info | null = null;
  #sysinfo_host: unknown = null;
  /** The Key Ownership Table: state per assigned private HKID (absent: free). */
  readonly #kot = new Map<number, number>();
  /** The host kernel's IDA over the private KeyIDs (allocated ones). */
  readonly #ida = new Set<number>();

  /** A module with `options`. */
  constructor(options: tdx_module_options = {}) {
    this.#options = { ...options };
  }

  /**
   * Global metadata (TDH.SYS.RD). A limit the options leave out is the
   * simulated host's at the time of reading, so that a test's
   * `sim_host_set()` reaches the machine's module.
   */
  get sysinfo(): tdx_sys_info {
    const h = sim_host_config();
    if (this.#sysinfo && this.#sysinfo_host === h) return this.#sysinfo;
    const max_vcpus_per_td = this.#options.max_vcpus_per_td ?? h.max_vcpus_per_td;
    this.#sysinfo = Object.freeze({
      td_conf: max_vcpus_per_td === TDX_MAX_VCPUS_PER_TD
        ? TDX_SYS_INFO_TD_CONF
        : Object.freeze({ ...TDX_SYS_INFO_TD_CONF, max_vcpus_per_td }),
      guest_keyid_start: TDX_GUEST_KEYID_START,
      nr_guest_keyids: this.#options.nr_guest_keyids ?? h.hkids,
      platform_xfam: TDX_PLATFORM_XFAM_SUPPORTED,
      sept_5level: true,
    });
    this.#sysinfo_host = h;
    return this.#sysinfo;
  }

  /** Whether `hkid` is one of the platform's private KeyIDs. */
  is_private_hkid(hkid: number): boolean {
    const s = this.sysinfo.guest_keyid_start;
    return Number.isInteger(hkid) && hkid >= s && hkid < s + this.sysinfo.nr_guest_keyids;
  }

  /** KOT state of private `hkid`. */
  kot_state(hkid: number): number {
    return this.#kot.get(hkid) ?? KOT_STATE_HKID_FREE;
  }

  /** Sets the KOT state of private `hkid` (TDH.MNG.CREATE / TDH.MNG.KEY.FREEID). */
  kot_set(hkid: number, state: number): void {
    if (state === KOT_STATE_HKID_FREE) this.#kot.delete(hkid);
    else this.#kot.set(hkid, state);
  }

  /**
   * `tdx_guest_keyid_alloc()`: the lowest free private KeyID, or `-ENOSPC`
   * when all are taken (what KVM's KVM_TDX_INIT_VM then returns).
   */
  guest_keyid_alloc(): number {
    if (hkid_alloc_fails()) return -ENOSPC;
    const { guest_keyid_start: s, nr_guest_keyids: n } = this.sysinfo;
    for (let k = s; k < s + n; k++) {
      if (!this.#ida.has(k)) {
        this.#ida.add(k);
        return k;
      }
    }
    return -ENOSPC;
  }

  /** `tdx_guest_keyid_free()`: gives `hkid` back to the host's pool. */
  guest_keyid_free(hkid: number): void {
    this.#ida.delete(hkid);
  }

  /** Number of KeyIDs the host allocator holds. */
  get nr_keyids_in_use(): number {
    return this.#ida.size;
  }
}

/** The simulated machine's TDX module. */
export const tdx_module_global: tdx_module = new tdx_module();
