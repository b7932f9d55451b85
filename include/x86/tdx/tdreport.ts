// SPDX-License-Identifier: GPL-2.0-only
/**
 * TDREPORT_STRUCT, the 1024-byte report TDG.MR.REPORT writes: a
 * REPORTMACSTRUCT (what the MAC covers: report type, CPUSVN, the hashes of
 * the TEE TCB info and of the TD info, the caller's REPORTDATA), the
 * TEE_TCB_INFO of the TDX module, and the TDINFO_STRUCT of the TD (its
 * ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG and RTMRs).
 *
 * `tee_info_hash` is SHA-384 of the 512-byte TDINFO_STRUCT and
 * `tee_tcb_info_hash` SHA-384 of the 239-byte TEE_TCB_INFO, so a verifier
 * that holds the report can check both without the MAC key.
 *
 * @module
 */

import { array, type ArrayType, type RecordType, struct, u64, u8 } from "../../c/layout.ts";

/** Bytes of TDREPORT_STRUCT. */
export const TDX_REPORT_SIZE = 1024;
/** Bytes of REPORTDATA. */
export const TDX_REPORTDATA_SIZE = 64;
/** REPORTTYPE.TYPE of a TD report. */
export const TDX_REPORT_TYPE_TDX = 0x81;

/** `struct tdx_report_type`: TYPE, SUBTYPE, VERSION, reserved. */
export const tdx_report_type: RecordType<{
  type: u8;
  subtype: u8;
  version: u8;
  reserved: u8;
}> = struct("tdx_report_type", { type: u8, subtype: u8, version: u8, reserved: u8 });

/** `struct tdx_reportmac`: REPORTMACSTRUCT, 256 bytes; the MAC covers bytes 0..223. */
export const tdx_reportmac: RecordType<{
  report_type: typeof tdx_report_type;
  reserved1: ArrayType<u8>;
  cpu_svn: ArrayType<u8>;
  tee_tcb_info_hash: ArrayType<u8>;
  tee_info_hash: ArrayType<u8>;
  reportdata: ArrayType<u8>;
  reserved2: ArrayType<u8>;
  mac: ArrayType<u8>;
}> = struct("tdx_reportmac", {
  report_type: tdx_report_type,
  reserved1: array(u8, 12),
  cpu_svn: array(u8, 16),
  tee_tcb_info_hash: array(u8, 48),
  tee_info_hash: array(u8, 48),
  reportdata: array(u8, 64),
  reserved2: array(u8, 32),
  mac: array(u8, 32),
});

/** `struct tdx_tee_tcb_info`: TEE_TCB_INFO, 239 bytes (packed), describing the TDX module. */
export const tdx_tee_tcb_info: RecordType<{
  valid: ArrayType<u8>;
  tee_tcb_svn: ArrayType<u8>;
  mrseam: ArrayType<u8>;
  mrsignerseam: ArrayType<u8>;
  attributes: ArrayType<u8>;
  tee_tcb_svn2: ArrayType<u8>;
  reserved: ArrayType<u8>;
}> = struct("tdx_tee_tcb_info", {
  valid: array(u8, 8),
  tee_tcb_svn: array(u8, 16),
  mrseam: array(u8, 48),
  mrsignerseam: array(u8, 48),
  attributes: array(u8, 8),
  tee_tcb_svn2: array(u8, 16),
  reserved: array(u8, 95),
}, { packed: true });

/** `struct tdx_tdinfo`: TDINFO_STRUCT, 512 bytes, what the TD is and what it measured. */
export const tdx_tdinfo: RecordType<{
  attributes: u64;
  xfam: u64;
  mrtd: ArrayType<u8>;
  mrconfigid: ArrayType<u8>;
  mrowner: ArrayType<u8>;
  mrownerconfig: ArrayType<u8>;
  rtmr: ArrayType<ArrayType<u8>>;
  servtd_hash: ArrayType<u8>;
  reserved: ArrayType<u8>;
}> = struct("tdx_tdinfo", {
  attributes: u64,
  xfam: u64,
  mrtd: array(u8, 48),
  mrconfigid: array(u8, 48),
  mrowner: array(u8, 48),
  mrownerconfig: array(u8, 48),
  rtmr: array(array(u8, 48), 4),
  servtd_hash: array(u8, 48),
  reserved: array(u8, 64),
});

/** `struct tdx_report`: TDREPORT_STRUCT, 1024 bytes; allocate with `alloc()`, parse with `view()`. */
export const tdx_report: RecordType<{
  reportmac: typeof tdx_reportmac;
  tee_tcb_info: typeof tdx_tee_tcb_info;
  reserved: ArrayType<u8>;
  tdinfo: typeof tdx_tdinfo;
}> = struct("tdx_report", {
  reportmac: tdx_reportmac,
  tee_tcb_info: tdx_tee_tcb_info,
  reserved: array(u8, 17),
  tdinfo: tdx_tdinfo,
});
