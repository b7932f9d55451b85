// SPDX-License-Identifier: GPL-2.0-only
/**
 * TD management SEAMCALLs: TDH.MNG.CREATE, TDH.MNG.KEY.CONFIG,
 * TDH.MNG.INIT, TDH.MNG.RD, TDH.MNG.VPFLUSHDONE and TDH.MNG.KEY.FREEID.
 * Each returns the module's completion status (`TDX_*` of
 * `include/x86/tdx/tdcall.ts`); outputs go to `u64_out` holders, as the
 * kernel's `u64 *` ones.
 *
 * TDH.MNG.INIT validates TD_PARAMS in the module's order, each failure
 * carrying the operand id of the offending field:
 * ATTRIBUTES (64), XFAM (65), MAX_VCPUS (68), NUM_L2_VMS (71), reserved0
 * (RDX, 2), CONFIG_FLAGS (EXEC_CONTROLS, 66), EPTP_CONTROLS (67),
 * TSC_FREQUENCY (70), reserved1 / MSR_CONFIG_CTLS / reserved2 (RDX), then the
 * CPUID configuration (CPUID_CONFIG, 69, with the rejected leaf/subleaf in
 * the extended error, the module's RCX output).
 *
 * @module
 */

import { seamcall_fault, TDX_INTERRUPTED_RESUMABLE } from "../fault_inject.ts";
import {
  OPERAND_ID_ATTRIBUTES,
  OPERAND_ID_CPUID_CONFIG,
  OPERAND_ID_EPTP_CONTROLS,
  OPERAND_ID_EXEC_CONTROLS,
  OPERAND_ID_MAX_VCPUS,
  OPERAND_ID_NUM_L2_VMS,
  OPERAND_ID_RCX,
  OPERAND_ID_RDX,
  OPERAND_ID_TSC_FREQUENCY,
  OPERAND_ID_XFAM,
  TD_CTLS_PENDING_VE_DISABLE,
  TDCS_CONFIG_FLAGS,
  TDCS_NOTIFY_ENABLES,
  TDCS_TD_CTLS,
  TDCS_TOPOLOGY_ENUM_CONFIGURED,
  TDX_HKID_NOT_FREE,
  TDX_KEY_CONFIGURED,
  TDX_LIFECYCLE_STATE_INCORRECT,
  TDX_METADATA_FIELD_ID_INCORRECT,
  TDX_OP_STATE_INCORRECT,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  TDX_TD_KEYS_NOT_CONFIGURED,
} from "../../include/x86/tdx/tdcall.ts";
import {
  TDX_TD_ATTR_DEBUG,
  TDX_TD_ATTR_MIGRATABLE,
  TDX_TD_ATTR_PERFMON,
  TDX_TD_ATTR_SEPT_VE_DISABLE,
} from "../../include/x86/tdx/tdx.ts";
import { td_cpuid_compute, td_cpuid_entry_of } from "./cpuid.ts";
import { td_measurement } from "./measure.ts";
import {
  KOT_STATE_HKID_ASSIGNED,
  KOT_STATE_HKID_FREE,
  TDX_CPUID_NO_SUBLEAF,
  TDX_VIRT_TSC_FREQUENCY_MAX,
  TDX_VIRT_TSC_FREQUENCY_MIN,
} from "./sysinfo.ts";
import {
  OP_STATE_INITIALIZED,
  OP_STATE_UNINITIALIZED,
  TD_BLOCKED,
  TD_HKID_ASSIGNED,
  TD_KEYS_CONFIGURED,
  TD_LIFECYCLE_NONE,
  TD_TEARDOWN,
  type tdx_td,
} from "./td.ts";
import {
  td_params,
  TD_PARAMS_SIZE,
  type td_params_view,
  TDX_CONFIG_FLAGS_MAX_GPAW,
  TDX_CONFIG_FLAGS_VALID,
  VMX_EPTP_MT_MASK,
  VMX_EPTP_MT_WB,
  VMX_EPTP_PWL_4,
  VMX_EPTP_PWL_5,
  VMX_EPTP_PWL_MASK,
} from "./td_params.ts";

/**
 * A `u64 *` output of a SEAMCALL wrapper, as the kernel's `tdh_mng_rd()` takes
 * one. Structural, so that callers pass any holder with a `value` (the
 * selftest library's `Ref` among them) without the module depending on it.
 */
export interface u64_out {
  /** The output. */
  value: bigint;
}

/** `TDX_OPERAND_INVALID | id`. */
export function operand_invalid(id: bigint): bigint {
  return TDX_OPERAND_INVALID | id;
}

/**
 * TDH.MNG.CREATE: makes `td` (a fresh TDR) a TD owning private `hkid`.
 * A KeyID outside the private range → OPERAND_INVALID(RDX); one another TD
 * holds → TDX_HKID_NOT_FREE; a TDR already in use → OPERAND_INVALID(RCX).
 */
export function tdh_mng_create(td: tdx_td, hkid: number): bigint {
  const fault = seamcall_fault("TDH.MNG.CREATE");
  if (fault !== null) return fault;
  const m = td.module;
  if (!m.is_private_hkid(hkid)) return operand_invalid(OPERAND_ID_RDX);
  if (td.lifecycle !== TD_LIFECYCLE_NONE) return operand_invalid(OPERAND_ID_RCX);
  if (m.kot_state(hkid) !== KOT_STATE_HKID_FREE) return TDX_HKID_NOT_FREE;
  m.kot_set(hkid, KOT_STATE_HKID_ASSIGNED);
  td.hkid = hkid;
  td.lifecycle = TD_HKID_ASSIGNED;
  return TDX_SUCCESS;
}

/**
 * TDH.MNG.KEY.CONFIG: programs the TD's key on the package. A second call is
 * the TDX_KEY_CONFIGURED warning; a TD being torn down cannot.
 */
export function tdh_mng_key_config(td: tdx_td): bigint {
  const fault = seamcall_fault("TDH.MNG.KEY.CONFIG");
  if (fault !== null) return fault;
  if (td.lifecycle === TD_KEYS_CONFIGURED) return TDX_KEY_CONFIGURED;
  if (td.lifecycle !== TD_HKID_ASSIGNED) return TDX_LIFECYCLE_STATE_INCORRECT;
  td.lifecycle = TD_KEYS_CONFIGURED;
  return TDX_SUCCESS;
}

function all_zero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]) return false;
  return true;
}

/** ATTRIBUTES: within FIXED0, including FIXED1; MIGRATABLE excludes DEBUG and PERFMON. */
function verify_td_attributes(td: tdx_td, a: bigint): boolean {
  const c = td.module.sysinfo.td_conf;
  if (a & ~c.attributes_fixed0) return false;
  if ((a & c.attributes_fixed1) !== c.attributes_fixed1) return false;
  if ((a & TDX_TD_ATTR_MIGRATABLE) && (a & (TDX_TD_ATTR_DEBUG | TDX_TD_ATTR_PERFMON))) return false;
  return true;
}

function bits_equal(x: bigint, bits: number[]): boolean {
  const v = bits.map((b) => (x >> BigInt(b)) & 1n);
  return v.every((b) => b === v[0]);
}

/**
 * XFAM: within XFAM_FIXED0 and what the platform's XCR0/XSS support,
 * including FIXED1 (x87, SSE); the AVX-512 components all or none and only
 * with AVX; CET user and supervisor together; AMX TILECFG and TILEDATA
 * together.
 */
function check_xfam(td: tdx_td, x: bigint): boolean {
  const s = td.module.sysinfo;
  if (x & ~(s.td_conf.xfam_fixed0 & s.platform_xfam)) return false;
  if ((x & s.td_conf.xfam_fixed1) !== s.td_conf.xfam_fixed1) return false;
  if (!bits_equal(x, [5, 6, 7])) return false;
  if ((x & 0xe0n) && !(x & 4n)) return false;
  if (!bits_equal(x, [11, 12])) return false;
  if (!bits_equal(x, [17, 18])) return false;
  return true;
}

/**
 * EPTP_CONTROLS: write-back, a 4- or 5-level walk (5 only where the
 * platform has 5-level EPT, and required with GPAW 52), nothing else set.
 */
function verify_eptp_controls(td: tdx_td, eptp: bigint, gpaw52: boolean): boolean {
  if ((eptp & VMX_EPTP_MT_MASK) !== VMX_EPTP_MT_WB) return false;
  const pwl = eptp & VMX_EPTP_PWL_MASK;
  if (pwl !== VMX_EPTP_PWL_4 && pwl !== VMX_EPTP_PWL_5) return false;
  if (pwl === VMX_EPTP_PWL_5 && !td.module.sysinfo.sept_5level) return false;
  if (gpaw52 && pwl !== VMX_EPTP_PWL_5) return false;
  if (eptp & ~(VMX_EPTP_MT_MASK | VMX_EPTP_PWL_MASK)) return false;
  return true;
}

/**
 * TDH.MNG.INIT: configures the TD from `params` (a TD_PARAMS view, or its
 * 1024 bytes). On an invalid CPUID configuration `extended_err` receives the
 * rejected `leaf | subleaf << 32` (the module's RCX output).
 */
export function tdh_mng_init(
  td: tdx_td,
  params: td_params_view | Uint8Array,
  extended_err?: u64_out,
): bigint {
  const fault = seamcall_fault("TDH.MNG.INIT");
  if (fault !== null) return fault;
  if (td.lifecycle !== TD_KEYS_CONFIGURED) {
    return td.lifecycle === TD_HKID_ASSIGNED
      ? TDX_TD_KEYS_NOT_CONFIGURED
      : TDX_LIFECYCLE_STATE_INCORRECT;
  }
  if (td.op_state !== OP_STATE_UNINITIALIZED) return TDX_OP_STATE_INCORRECT;
  const p = params instanceof Uint8Array ? td_params.view(params) : params;
  if (p.$bytes.length < TD_PARAMS_SIZE) return operand_invalid(OPERAND_ID_RDX);
  const conf = td.module.sysinfo.td_conf;

  const attributes = p.attributes;
  if (!verify_td_attributes(td, attributes)) return operand_invalid(OPERAND_ID_ATTRIBUTES);
  const xfam = p.xfam;
  if (!check_xfam(td, xfam)) return operand_invalid(OPERAND_ID_XFAM);
  const max_vcpus = p.max_vcpus;
  if (max_vcpus === 0 || max_vcpus > conf.max_vcpus_per_td) {
    return operand_invalid(OPERAND_ID_MAX_VCPUS);
  }
  const r0 = p.reserved0.$bytes;
  // TDX 1.5 byte 18 is NUM_L2_VMS: the simulated module has no L2 support.
  if (r0[0] !== 0) return operand_invalid(OPERAND_ID_NUM_L2_VMS);
  if (!all_zero(r0.subarray(2))) return operand_invalid(OPERAND_ID_RDX);
  const config_flags = p.config_flags;
  if (config_flags & ~TDX_CONFIG_FLAGS_VALID) return operand_invalid(OPERAND_ID_EXEC_CONTROLS);
  const gpaw52 = (config_flags & TDX_CONFIG_FLAGS_MAX_GPAW) !== 0n;
  if (!verify_eptp_controls(td, p.eptp_controls, gpaw52)) {
    return operand_invalid(OPERAND_ID_EPTP_CONTROLS);
  }
  const tsc = p.tsc_frequency;
  if (tsc < TDX_VIRT_TSC_FREQUENCY_MIN || tsc > TDX_VIRT_TSC_FREQUENCY_MAX) {
    return operand_invalid(OPERAND_ID_TSC_FREQUENCY);
  }
  if (!all_zero(p.reserved1.$bytes)) return operand_invalid(OPERAND_ID_RDX);
  // Byte 19, MSR_CONFIG_CTLS: no control is defined for the simulated platform.
  if (r0[1] !== 0) return operand_invalid(OPERAND_ID_RDX);
  if (!all_zero(p.reserved2.$bytes)) return operand_invalid(OPERAND_ID_RDX);

  const n = conf.num_cpuid_config;
  const vals = p.cpuid_values;
  // The slots past the configurable leaves are reserved.
  if (!all_zero(vals.$bytes.subarray(n * 16))) return operand_invalid(OPERAND_ID_RDX);
  const config = Array.from({ length: n }, (_, i) => {
    const v = vals.at(i);
    return [v.eax, v.ebx, v.ecx, v.edx] as const;
  });
  const r = td_cpuid_compute({ attributes, xfam, tsc_frequency: tsc, config });
  if (!r.ok) {
    if (extended_err) extended_err.value = BigInt(r.leaf) | BigInt(r.sub_leaf) << 32n;
    return operand_invalid(OPERAND_ID_CPUID_CONFIG);
  }

  // All checks passed: TDH.MNG.INIT cannot fail from here on.
  td.attributes = attributes;
  td.xfam = xfam;
  td.max_vcpus = max_vcpus;
  td.config_flags = config_flags;
  td.eptp_controls = p.eptp_controls;
  td.gpaw = gpaw52 ? 52 : 48;
  td.tsc_frequency = tsc;
  td.td_ctls = attributes & TDX_TD_ATTR_SEPT_VE_DISABLE ? TD_CTLS_PENDING_VE_DISABLE : 0n;
  td.mrconfigid.set(p.mr_config_id.$bytes);
  td.mrowner.set(p.mr_owner.$bytes);
  td.mrownerconfig.set(p.mr_owner_config.$bytes);
  td.cpuid = r.table;
  td.measurement = new td_measurement();
  td.op_state = OP_STATE_INITIALIZED;
  return TDX_SUCCESS;
}

/**
 * TDH.MNG.RD: reads TD-scope metadata `field` into `data`. Supported: the
 * virtual CPUID (`td_md_field_id_cpuid()`, what KVM_TDX_GET_CPUID walks) and
 * the TDCS fields of {@linkcode tdcs_field_read}. Before TDH.MNG.INIT →
 * TDX_OP_STATE_INCORRECT; an unknown field or a CPUID leaf the TD does not
 * virtualise → TDX_METADATA_FIELD_ID_INCORRECT.
 */
export function tdh_mng_rd(td: tdx_td, field: bigint, data: u64_out): bigint {
  if (td.lifecycle !== TD_KEYS_CONFIGURED) return TDX_LIFECYCLE_STATE_INCORRECT;
  if (td.op_state === OP_STATE_UNINITIALIZED || !td.cpuid) return TDX_OP_STATE_INCORRECT;
  if ((field & 0xffffffff00000000n) === 0x9410000300000000n && (field & 0xfe0000n) === 0n) {
    const leaf = ((field & (1n << 16n) ? 0x80000000 : 0) | Number((field >> 9n) & 0x7fn)) >>> 0;
    const na = (field & 0x1fen) === 0x1fen;
    const sub = na ? TDX_CPUID_NO_SUBLEAF : Number((field >> 1n) & 0x7fn);
    const e = td_cpuid_entry_of(td.cpuid, leaf, sub);
    if (!e || (e.sub_leaf === TDX_CPUID_NO_SUBLEAF) !== na) return TDX_METADATA_FIELD_ID_INCORRECT;
    data.value = field & 1n
      ? BigInt(e.edx) << 32n | BigInt(e.ecx)
      : BigInt(e.ebx) << 32n | BigInt(e.eax);
    return TDX_SUCCESS;
  }
  const v = tdcs_field_read(td, field);
  if (v === null) return TDX_METADATA_FIELD_ID_INCORRECT;
  data.value = v;
  return TDX_SUCCESS;
}

/**
 * The TDCS fields the simulated module exposes to TDH.MNG.RD and
 * TDG.VM.RD: CONFIG_FLAGS, TD_CTLS, NOTIFY_ENABLES, TOPOLOGY_ENUM_CONFIGURED.
 * `null` for any other field id.
 */
export function tdcs_field_read(td: tdx_td, field: bigint): bigint | null {
  switch (field) {
    case TDCS_CONFIG_FLAGS:
      return td.config_flags;
    case TDCS_TD_CTLS:
      return td.td_ctls;
    case TDCS_NOTIFY_ENABLES:
      return td.notify_enables;
    case TDCS_TOPOLOGY_ENUM_CONFIGURED:
      // KVM gives every vCPU its x2APIC ID at TDH.VP.INIT (version 1).
      return 1n;
  }
  return null;
}

/**
 * TDH.MNG.VPFLUSHDONE: the VMM has flushed every vCPU; from now on none may
 * enter and the key can be freed.
 */
export function tdh_mng_vpflushdone(td: tdx_td): bigint {
  if (td.lifecycle !== TD_KEYS_CONFIGURED && td.lifecycle !== TD_HKID_ASSIGNED) {
    return TDX_LIFECYCLE_STATE_INCORRECT;
  }
  td.lifecycle = TD_BLOCKED;
  return TDX_SUCCESS;
}

/**
 * TDH.MNG.KEY.FREEID: releases the TD's HKID in the KOT (after
 * TDH.MNG.VPFLUSHDONE and the cache write-back). The host then returns the
 * KeyID to its allocator (`tdx_module.guest_keyid_free`).
 */
export function tdh_mng_key_freeid(td: tdx_td): bigint {
  const fault = seamcall_fault("TDH.MNG.KEY.FREEID");
  if (fault !== null) return fault;
  if (td.lifecycle !== TD_BLOCKED) return TDX_LIFECYCLE_STATE_INCORRECT;
  td.module.kot_set(td.hkid, KOT_STATE_HKID_FREE);
  td.lifecycle = TD_TEARDOWN;
  return TDX_SUCCESS;
}

/**
 * TDH.PHYMEM.CACHE.WB: writes back and invalidates the caches of private
 * KeyIDs (one package). Nothing is cached in the simulation, so one call
 * always finishes; hardware can hand back TDX_INTERRUPTED_RESUMABLE midway,
 * which is why the call takes `resume` for the follow-up.
 */
export function tdh_phymem_cache_wb(_resume: boolean): bigint {
  const fault = seamcall_fault("TDH.PHYMEM.CACHE.WB");
  if (fault !== null) return fault;
  return TDX_SUCCESS;
}

/** `TDX_SEAMCALL_RETRIES`: how often KVM resumes an interrupted cache write-back. */
export const TDX_SEAMCALL_RETRIES = 10000;

/**
 * The whole teardown KVM performs when a TD's VM goes away
 * (`tdx_mmu_release_hkid()`, arch/x86/kvm/vmx/tdx.c at 09c6f74e): VPFLUSHDONE,
 * the cache write-back (resumed while it answers TDX_INTERRUPTED_RESUMABLE,
 * as `smp_func_do_phymem_cache_wb()` does), KEY.FREEID, then the KeyID back
 * to the host allocator. A failed step leaks the HKID, as KVM does ("HKID %d
 * is leaked"). Safe on a TD that never got an HKID.
 *
 * @returns false when the HKID was leaked
 */
export function tdx_td_teardown(td: tdx_td): boolean {
  if (td.lifecycle === TD_LIFECYCLE_NONE || td.lifecycle === TD_TEARDOWN) return true;
  if (tdh_mng_vpflushdone(td) !== TDX_SUCCESS) return false;
  let err = TDX_SUCCESS;
  for (let i = TDX_SEAMCALL_RETRIES; i > 0; i--) {
    err = tdh_phymem_cache_wb(err !== TDX_SUCCESS);
    if (err !== TDX_INTERRUPTED_RESUMABLE) break;
  }
  // A failed write-back makes KEY.FREEID fail in the module: the key stays taken.
  if (err !== TDX_SUCCESS) return false;
  if (tdh_mng_key_freeid(td) !== TDX_SUCCESS) return false;
  td.module.guest_keyid_free(td.hkid);
  return true;
}
