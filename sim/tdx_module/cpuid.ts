// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TD's virtual CPUID (TDCS CPUID_VALUES): computed once at TDH.MNG.INIT
 * from the platform's native CPUID, the module's per-leaf FIXED1 and
 * FIXED0/DYNAMIC masks, the TD's XFAM and ATTRIBUTES, and the
 * TD_PARAMS.CPUID_CONFIG_VALUES the VMM chose within the configurable masks.
 * It answers CPUID executed natively in the TD (no exit to the VMM), and
 * TDH.MNG.RD of the CPUID fields, which KVM uses for KVM_TDX_GET_CPUID.
 *
 * What raises #VE instead (the guest then asks the VMM with
 * TDG.VP.VMCALL<Instruction.CPUID>): hypervisor leaves 0x40000000-0x4FFFFFFF,
 * leaves and subleaves the module does not virtualise (0x2, 0xB, ...), leaves
 * marked "faulting" (0x6, 0x80000006), and every leaf once the guest asked
 * for it with TDG.VP.CPUIDVE.SET at its current privilege level. A leaf above
 * the maximum basic or extended leaf reads as the maximum basic leaf, as on
 * an Intel CPU.
 *
 * The table is a plain, structured-clonable object so that the vCPU worker
 * can hold a copy and answer CPUID itself ({@linkcode td_cpuid_lookup}).
 *
 * @module
 */

import { xstate_required_size } from "../host_cpu.ts";
import { TDX_TD_ATTR_MIGRATABLE, TDX_TD_ATTR_PKS } from "../../include/x86/tdx/tdx.ts";
import { TDX_CPUIDVE_SUPERVISOR, TDX_CPUIDVE_USER } from "../../include/x86/tdx/tdcall.ts";
import {
  native_cpuid,
  TDX_CPUID_CONFIG_LEAVES,
  TDX_CPUID_NO_SUBLEAF,
  TDX_PLATFORM_FMS,
  TDX_TSC_KHZ_UNIT,
} from "./sysinfo.ts";

/** One virtualised leaf/subleaf of the TD. */
export interface td_cpuid_entry {
  /** Leaf. */
  readonly leaf: number;
  /** Subleaf, or {@linkcode TDX_CPUID_NO_SUBLEAF} when the leaf has none. */
  readonly sub_leaf: number;
  /** EAX. */
  readonly eax: number;
  /** EBX. */
  readonly ebx: number;
  /** ECX. */
  readonly ecx: number;
  /** EDX. */
  readonly edx: number;
  /** The module never answers this leaf natively: #VE ("faulting" in the module's table). */
  readonly faulting: boolean;
}

/** A TD's virtual CPUID table. */
export interface td_cpuid_table {
  /** The virtualised leaves, in ascending leaf/subleaf order. */
  readonly entries: readonly td_cpuid_entry[];
  /** CPUID(0).EAX: the maximum basic leaf. */
  readonly max_basic: number;
  /** CPUID(0x80000000).EAX: the maximum extended leaf. */
  readonly max_ext: number;
}

type regs4 = [number, number, number, number];

/** A row of the module's CPUID lookup table: FIXED1, FIXED0-or-DYNAMIC, config index. */
interface lookup_row {
  leaf: number;
  sub_leaf: number;
  fixed1: regs4;
  fixed0: regs4;
  config: number;
  faulting?: boolean;
}

const NS = TDX_CPUID_NO_SUBLEAF;
const ALL = 0xffffffff;
const Z: regs4 = [0, 0, 0, 0];
const ZERO_LEAF: regs4 = [ALL, ALL, ALL, ALL];

function row(
  leaf: number,
  sub_leaf: number,
  fixed1: regs4,
  fixed0: regs4,
  config = -1,
  faulting = false,
): lookup_row {
  return { leaf, sub_leaf, fixed1, fixed0, config, faulting };
}

function config_index(leaf: number, sub_leaf: number): number {
  return TDX_CPUID_CONFIG_LEAVES.findIndex((c) => c.leaf === leaf && c.sub_leaf === sub_leaf);
}

/**
 * The leaves TDX 1.5.01 virtualises, with their fixed masks. Bits in
 * `fixed0` that the module computes (APIC IDs, OSXSAVE, XSAVE sizes, TSC)
 * are filled in by {@linkcode td_cpuid_compute} or at lookup time.
 */
const LOOKUP: readonly lookup_row[] = [
  // The maximum basic leaf is the module's, not the CPU's.
  row(0x0, NS, [0x23, 0, 0, 0], [0xffffffdc, 0, 0, 0]),
  // Hypervisor present (ECX[31]) and APIC (EDX[9]) forced on; MONITOR, VMX,
  // SMX, DS, TM, PBE and the like hidden; APIC ID byte dynamic.
  row(
    0x1,
    NS,
    [0, 0, 0x80000000, 0x200],
    [0xf000c000, 0xff0000ff, 0x08010060, 0x40120400],
    config_index(0x1, NS),
  ),
  row(0x3, NS, Z, ZERO_LEAF),
  row(0x4, 0, Z, [0x3c00, 0, 0, 0x4], config_index(0x4, 0)),
  row(0x4, 1, Z, [0x3c00, 0, 0, 0x4], config_index(0x4, 1)),
  row(0x4, 2, Z, [0x3c00, 0, 0, 0x4], config_index(0x4, 2)),
  row(0x4, 3, Z, [0x3c00, 0, 0, 0xfffffff8], config_index(0x4, 3)),
  row(0x4, 4, Z, ZERO_LEAF),
  row(0x5, NS, Z, [0xffff0000, 0xffff0000, 0xfffffffc, 0]),
  row(0x6, NS, Z, Z, -1, true),
  row(0x7, 0, Z, [0, 0x00404006, 0x643e8010, 0x002298c3], config_index(0x7, 0)),
  row(0x7, 1, Z, [0xfb77e20f, ALL, ALL, 0xfffdfbcf], config_index(0x7, 1)),
  row(0x7, 2, Z, [ALL, ALL, ALL, 0xffffffc0], config_index(0x7, 2)),
  row(0x8, NS, Z, ZERO_LEAF),
  row(0xa, NS, Z, [0, 0, 0, 0xffff6000], config_index(0xa, NS)),
  // XSAVE leaves: computed from XFAM below.
  ...Array.from({ length: 0x13 }, (_, s) => row(0xd, s, Z, Z)),
  row(0xe, NS, Z, ZERO_LEAF),
  row(0x11, NS, Z, ZERO_LEAF),
  row(0x12, NS, Z, ZERO_LEAF),
  row(0x13, NS, Z, ZERO_LEAF),
  row(0x14, 0, Z, [0, 0xfffffe00, 0x7ffffff0, ALL]),
  row(0x14, 1, Z, [0xfff8, 0, ALL, ALL]),
  // TSC/crystal: 25 MHz crystal, ratio TSC_FREQUENCY / 1 (EBX computed).
  row(0x15, NS, [1, 0, 0x017d7840, 0], [0xfffffffe, ALL, 0xfe8287bf, ALL]),
  row(0x19, NS, Z, ZERO_LEAF),
  row(0x1c, NS, Z, Z, config_index(0x1c, NS)),
  row(0x1d, 0, Z, Z),
  row(0x1d, 1, Z, Z),
  row(0x1e, NS, Z, Z),
  ...Array.from(
    { length: 6 },
    (_, s) => row(0x1f, s, Z, [0xffffffe0, 0xffff0000, 0xffff0000, ALL]),
  ),
  row(0x20, NS, Z, ZERO_LEAF),
  // "IntelTDX    " in EBX, EDX, ECX: how a guest recognises a TD.
  row(0x21, 0, [0, 0x65746e49, 0x20202020, 0x5844546c], ZERO_LEAF),
  row(0x22, NS, Z, ZERO_LEAF),
  row(0x23, 0, Z, [0xfffffff0, 0, ALL, ALL], config_index(0x23, 0)),
  row(0x23, 1, Z, [0, 0, ALL, ALL]),
  row(0x23, 2, Z, ZERO_LEAF),
  row(0x23, 3, Z, [0, ALL, ALL, ALL]),
  row(0x80000000, NS, [0x80000008, 0, 0, 0], [0x7ffffff7, ALL, ALL, ALL]),
  // LAHF/LZCNT/PREFETCHW; SYSCALL, NX, 1G pages, RDTSCP, LM.
  row(0x80000001, NS, Z, [ALL, ALL, 0xfffffede, 0xd3eff7ff]),
  row(0x80000006, NS, Z, Z, -1, true),
  row(0x80000007, NS, Z, [ALL, ALL, ALL, 0xfffffeff]),
  row(0x80000008, NS, Z, [0xffff0000, 0xfffffdff, ALL, ALL], config_index(0x80000008, NS)),
];

/** CPUID(7,0) bits that follow XFAM: cleared when the XFAM bit is clear. */
const XFAM_MASK_7_0: ReadonlyMap<number, regs4> = new Map([
  [2, [0, 0x20, 0x600, 0]],
  [5, [0, 0xdc230000, 0x5842, 0x80010c]],
  [6, [0, 0xdc230000, 0x5842, 0x80010c]],
  [7, [0, 0xdc230000, 0x5842, 0x80010c]],
  [8, [0, 0x2000000, 0, 0]],
  [9, [0, 0, 0x8, 0]],
  [11, [0, 0, 0x80, 0x100000]],
  [12, [0, 0, 0x80, 0x100000]],
  [14, [0, 0, 0, 0x20]],
  [15, [0, 0, 0, 0x80000]],
  [17, [0, 0, 0, 0x3400000]],
  [18, [0, 0, 0, 0x3400000]],
]);
/** CPUID(7,1) bits that follow XFAM. */
const XFAM_MASK_7_1: ReadonlyMap<number, regs4> = new Map([
  [2, [0x800010, 0, 0, 0x430]],
  [5, [0x20, 0, 0, 0]],
  [6, [0x20, 0, 0, 0]],
  [7, [0x20, 0, 0, 0]],
]);
/** CPUID(1).ECX bits that need AVX (XFAM[2]): FMA, AVX, F16C. */
const XFAM_AVX_1_ECX = 0x30001000;
/** XFAM bits that are XCR0 (user) state; the rest are IA32_XSS (supervisor) state. */
const XCR0_BITS = 0x602e7n;

function apply_xfam(v: regs4, xfam: bigint, masks: ReadonlyMap<number, regs4>): void {
  for (const [bit, m] of masks) {
    if (xfam & (1n << BigInt(bit))) continue;
    for (let i = 0; i < 4; i++) v[i] = (v[i]! & ~m[i]!) >>> 0;
  }
}

/** The inputs of {@linkcode td_cpuid_compute} that TDH.MNG.INIT already validated. */
export interface td_cpuid_inputs {
  /** TD ATTRIBUTES. */
  readonly attributes: bigint;
  /** TD XFAM. */
  readonly xfam: bigint;
  /** TD_PARAMS.TSC_FREQUENCY, in 25 MHz units. */
  readonly tsc_frequency: number;
  /** TD_PARAMS.CPUID_CONFIG_VALUES, one `[eax, ebx, ecx, edx]` per configurable leaf. */
  readonly config: readonly (readonly [number, number, number, number])[];
}

/** Result of {@linkcode td_cpuid_compute}: the table, or the configurable leaf that was rejected. */
export type td_cpuid_compute_result =
  | { readonly ok: true; readonly table: td_cpuid_table }
  | { readonly ok: false; readonly leaf: number; readonly sub_leaf: number };

/**
 * TDH.MNG.INIT's CPUID step: validates each configured leaf (bits outside
 * CONFIG_DIRECT | ALLOW_DIRECT, a CPUID(1).EAX other than 0 or the native
 * family/model/stepping for a non-migratable TD, CPUID(7,0) HLE != RTM) and
 * computes the TD's table.
 */
export function td_cpuid_compute(input: td_cpuid_inputs): td_cpuid_compute_result {
  // A pure function of its inputs (the native CPUID is the host model's
  // constant table) whose result is frozen: TDs built alike share it.
  const key = `${input.attributes}:${input.xfam}:${input.tsc_frequency}:${input.config.join(";")}`;
  let r = computed.get(key);
  if (r === undefined) {
    if (computed.size >= COMPUTED_MAX) computed.clear();
    computed.set(key, r = td_cpuid_compute_uncached(input));
  }
  return r;
}

/** {@linkcode td_cpuid_compute}'s results by input. */
const computed = new Map<string, td_cpuid_compute_result>();
/** Distinct inputs kept (a test builds TDs with a handful of configurations). */
const COMPUTED_MAX = 64;

function td_cpuid_compute_uncached(input: td_cpuid_inputs): td_cpuid_compute_result {
  const { attributes, xfam } = input;
  const entries: td_cpuid_entry[] = [];
  for (const r of LOOKUP) {
    const native = native_cpuid(r.leaf, r.sub_leaf === NS ? 0 : r.sub_leaf);
    const v: regs4 = [0, 0, 0, 0];
    const cfg = r.config >= 0 ? TDX_CPUID_CONFIG_LEAVES[r.config]! : null;
    const want = r.config >= 0 ? input.config[r.config] ?? [0, 0, 0, 0] : [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) {
      let x = (native[i]! & ~r.fixed0[i]!) | r.fixed1[i]!;
      if (cfg) {
        const cd = cfg.config_direct[i]!;
        const ad = cfg.allow_direct[i]!;
        if ((want[i]! & ~(cd | ad)) !== 0) return { ok: false, leaf: r.leaf, sub_leaf: r.sub_leaf };
        x = (x & ~cd) | (want[i]! & cd);
        x &= want[i]! | ~ad;
      }
      v[i] = x >>> 0;
    }
    if (r.leaf === 0x1) {
      if (v[0] === 0) v[0] = TDX_PLATFORM_FMS;
      else if (!(attributes & TDX_TD_ATTR_MIGRATABLE) && v[0] !== TDX_PLATFORM_FMS) {
        return { ok: false, leaf: r.leaf, sub_leaf: r.sub_leaf };
      }
      if (!(xfam & 4n)) v[2] = (v[2]! & ~XFAM_AVX_1_ECX) >>> 0;
    } else if (r.leaf === 0x7 && r.sub_leaf === 0) {
      apply_xfam(v, xfam, XFAM_MASK_7_0);
      // Both TSX enumeration bits must agree: a guest tests either one.
      if (((v[1]! >>> 4) & 1) !== ((v[1]! >>> 11) & 1)) {
        return { ok: false, leaf: r.leaf, sub_leaf: r.sub_leaf };
      }
      // PKS reflects ATTRIBUTES.PKS; Key Locker is never exposed.
      v[2] = ((v[2]! & ~(1 << 31) & ~(1 << 23)) | (attributes & TDX_TD_ATTR_PKS ? 1 << 31 : 0)) >>>
        0;
    } else if (r.leaf === 0x7 && r.sub_leaf === 1) {
      apply_xfam(v, xfam, XFAM_MASK_7_1);
    } else if (r.leaf === 0xd) {
      xsave_leaf(v, r.sub_leaf, xfam, native);
    } else if (r.leaf === 0x15) {
      v[1] = input.tsc_frequency;
    } else if (r.leaf === 0x80000008 && (v[0]! & 0xff) === 0) {
      // A virtual MAXPA of 0 means "native".
      v[0] = (v[0]! | (native[0]! & 0xff)) >>> 0;
    }
    entries.push(Object.freeze({
      leaf: r.leaf,
      sub_leaf: r.sub_leaf,
      eax: v[0]!,
      ebx: v[1]!,
      ecx: v[2]!,
      edx: v[3]!,
      faulting: r.faulting ?? false,
    }));
  }
  return {
    ok: true,
    table: Object.freeze({ entries: Object.freeze(entries), max_basic: 0x23, max_ext: 0x80000008 }),
  };
}

/** CPUID(0xD, sub): what the TD's XFAM allows, sized as the CPU lays the state out. */
function xsave_leaf(v: regs4, sub: number, xfam: bigint, native: regs4): void {
  v.fill(0);
  if (sub === 0) {
    const user = xfam & XCR0_BITS;
    v[0] = Number(user & 0xffffffffn) & native[0];
    v[1] = xstate_required_size(1n); // dynamic: follows the guest's XCR0
    v[2] = xstate_required_size(user);
  } else if (sub === 1) {
    v[0] = native[0] & 0xf;
    v[1] = xstate_required_size(1n);
    v[2] = Number(xfam & ~XCR0_BITS & 0xffffffffn) & native[2];
  } else if (xfam & (1n << BigInt(sub))) {
    v.splice(0, 4, ...native);
  }
}

/** The table entry for (`leaf`, `subleaf`): the leaf's only entry if it has no subleaves. */
export function td_cpuid_entry_of(
  table: td_cpuid_table,
  leaf: number,
  subleaf: number,
): td_cpuid_entry | undefined {
  // Indexed: KVM_TDX_GET_CPUID asks once per leaf, and an iterator over the
  // frozen table made an object per entry visited (200 KiB per TD).
  const entries = table.entries;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.leaf === leaf && (e.sub_leaf === NS || e.sub_leaf === subleaf)) return e;
  }
  return undefined;
}

/** The guest context a CPUID answer depends on. */
export interface td_cpuid_context {
  /** Current privilege level (TDG.VP.CPUIDVE.SET is per CPL class). */
  readonly cpl: number;
  /** The vCPU's TDG.VP.CPUIDVE.SET bits (`TDX_CPUIDVE_*`). */
  readonly cpuid_ve: bigint;
  /** The vCPU's x2APIC ID (CPUID(1).EBX[31:24], CPUID(0x1F).EDX). */
  readonly x2apic_id: number;
  /** CR4 (OSXSAVE and OSPKE follow it); default 0. */
  readonly cr4?: bigint;
  /** XCR0 (CPUID(0xD,0).EBX follows it); default 1. */
  readonly xcr0?: bigint;
}

/** What a CPUID in the TD gives: the four registers, or a #VE the guest handles. */
export type td_cpuid_result = readonly [number, number, number, number] | "#VE";

const CR4_OSXSAVE = 1n << 18n;
const CR4_PKE = 1n << 22n;

/**
 * CPUID executed in the TD: the virtual value, or `"#VE"` (exit reason 10,
 * CPUID) when the module does not answer it natively (see the module doc).
 */
export function td_cpuid_lookup(
  table: td_cpuid_table,
  leaf: number,
  subleaf: number,
  ctx: td_cpuid_context,
): td_cpuid_result {
  leaf >>>= 0;
  subleaf >>>= 0;
  const ve_bit = ctx.cpl === 0 ? TDX_CPUIDVE_SUPERVISOR : TDX_CPUIDVE_USER;
  if (ctx.cpuid_ve & ve_bit) return "#VE";
  if (leaf >= 0x40000000 && leaf <= 0x4fffffff) return "#VE";
  let e: td_cpuid_entry | undefined;
  const above_basic = leaf > table.max_basic && leaf < 0x40000000;
  const above_ext = leaf > table.max_ext && leaf >= 0x80000000 && leaf <= 0x8fffffff;
  if (above_basic || above_ext) e = td_cpuid_entry_of(table, table.max_basic, subleaf);
  else e = td_cpuid_entry_of(table, leaf, subleaf);
  if (!e || e.faulting) return "#VE";
  let { eax, ebx, ecx, edx } = e;
  const cr4 = ctx.cr4 ?? 0n;
  if (e.leaf === 0x1) {
    ebx = ((ebx & 0x00ffffff) | (ctx.x2apic_id & 0xff) << 24) >>> 0;
    ecx = ((ecx & ~(1 << 27)) | (cr4 & CR4_OSXSAVE ? 1 << 27 : 0)) >>> 0;
  } else if (e.leaf === 0x7 && e.sub_leaf === 0) {
    ecx = ((ecx & ~(1 << 4)) | (cr4 & CR4_PKE ? 1 << 4 : 0)) >>> 0;
  } else if (e.leaf === 0x1f) {
    edx = ctx.x2apic_id >>> 0;
  } else if (e.leaf === 0xd && (e.sub_leaf === 0 || e.sub_leaf === 1)) {
    ebx = xstate_required_size(ctx.xcr0 ?? 1n);
  }
  return [eax, ebx, ecx, edx];
}

/** The kHz of a TD's TSC for TD_PARAMS.TSC_FREQUENCY `f` (25 MHz units). */
export function td_tsc_khz(f: number): number {
  return f * TDX_TSC_KHZ_UNIT;
}
