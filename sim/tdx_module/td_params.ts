// SPDX-License-Identifier: GPL-2.0-only
/**
 * TD_PARAMS, the 1024-byte packed input of TDH.MNG.INIT, as KVM builds it
 * (`struct td_params` of `arch/x86/kvm/vmx/tdx_arch.h`), and the bit
 * encodings of its EPTP_CONTROLS and CONFIG_FLAGS.
 *
 * TDX 1.5 gives two of KVM's `reserved0` bytes a meaning: byte 18 is
 * NUM_L2_VMS and byte 19 MSR_CONFIG_CTLS. KVM leaves them zero; the module
 * checks them with their own operand ids (see `tdh_mng.ts`).
 *
 * @module
 */

import {
  array,
  type ArrayType,
  type RecordType,
  struct,
  u16,
  u32,
  u64,
  u8,
  type View,
} from "../../include/c/layout.ts";

/** Bytes of TD_PARAMS. */
export const TD_PARAMS_SIZE = 1024;
/** Number of 16-byte CPUID_CONFIG_VALUES slots TD_PARAMS has room for (768 / 16). */
export const TD_PARAMS_MAX_CPUID_CONFIG = 48;

/** `struct tdx_cpuid_value`: one configured leaf (EAX, EBX, ECX, EDX). */
export const tdx_cpuid_value: RecordType<{ eax: u32; ebx: u32; ecx: u32; edx: u32 }> = struct(
  "tdx_cpuid_value",
  { eax: u32, ebx: u32, ecx: u32, edx: u32 },
  { packed: true },
);

/** The members of {@linkcode td_params}. */
export type td_params_fields = {
  attributes: u64;
  xfam: u64;
  max_vcpus: u16;
  reserved0: ArrayType<u8>;
  eptp_controls: u64;
  config_flags: u64;
  tsc_frequency: u16;
  reserved1: ArrayType<u8>;
  mr_config_id: ArrayType<u8>;
  mr_owner: ArrayType<u8>;
  mr_owner_config: ArrayType<u8>;
  reserved2: ArrayType<u64>;
  cpuid_values: ArrayType<typeof tdx_cpuid_value>;
};

/**
 * `struct td_params` (packed, 1024 bytes): attributes @0, xfam @8,
 * max_vcpus @16, reserved0[6] @18 (1.5: num_l2_vms, msr_config_ctls,
 * reserved[4]), eptp_controls @24, config_flags @32, tsc_frequency @40 (25 MHz
 * units), reserved1[38] @42, mr_config_id @80, mr_owner @128,
 * mr_owner_config @176, reserved2[4] @224, cpuid_values[48] @256 in the
 * module's CPUID_CONFIG order.
 */
export const td_params: RecordType<td_params_fields> = struct("td_params", {
  attributes: u64,
  xfam: u64,
  max_vcpus: u16,
  reserved0: array(u8, 6),
  eptp_controls: u64,
  config_flags: u64,
  tsc_frequency: u16,
  reserved1: array(u8, 38),
  mr_config_id: array(u8, 48),
  mr_owner: array(u8, 48),
  mr_owner_config: array(u8, 48),
  reserved2: array(u64, 4),
  cpuid_values: array(tdx_cpuid_value, TD_PARAMS_MAX_CPUID_CONFIG),
}, { packed: true });

/** A view of a TD_PARAMS. */
export type td_params_view = View<td_params_fields>;

/** EPTP_CONTROLS memory type: write-back (`VMX_EPTP_MT_WB`). */
export const VMX_EPTP_MT_WB = 6n;
/** EPTP_CONTROLS page-walk length field: 4 levels (`VMX_EPTP_PWL_4`). */
export const VMX_EPTP_PWL_4 = 3n << 3n;
/** EPTP_CONTROLS page-walk length field: 5 levels (`VMX_EPTP_PWL_5`). */
export const VMX_EPTP_PWL_5 = 4n << 3n;
/** EPTP_CONTROLS memory-type bits. */
export const VMX_EPTP_MT_MASK = 7n;
/** EPTP_CONTROLS page-walk-length bits. */
export const VMX_EPTP_PWL_MASK = 7n << 3n;

/** CONFIG_FLAGS bit 0: GPAW 52 (`TDX_CONFIG_FLAGS_MAX_GPAW`). */
export const TDX_CONFIG_FLAGS_MAX_GPAW = 1n << 0n;
/** CONFIG_FLAGS bit 1: flexible pending #VE. */
export const TDX_CONFIG_FLAGS_FLEXIBLE_PENDING_VE = 1n << 1n;
/** CONFIG_FLAGS bit 2: RBP is never exposed on TDG.VP.VMCALL (`TDX_CONFIG_FLAGS_NO_RBP_MOD`). */
export const TDX_CONFIG_FLAGS_NO_RBP_MOD = 1n << 2n;
/** CONFIG_FLAGS bits TDX 1.5 defines. */
export const TDX_CONFIG_FLAGS_VALID: bigint = TDX_CONFIG_FLAGS_MAX_GPAW |
  TDX_CONFIG_FLAGS_FLEXIBLE_PENDING_VE | TDX_CONFIG_FLAGS_NO_RBP_MOD;

/** A zeroed TD_PARAMS in a new buffer. */
export function td_params_alloc(): td_params_view {
  return td_params.alloc();
}
