// SPDX-License-Identifier: GPL-2.0-only
/**
 * TDG.MR.REPORT's product: a TDREPORT_STRUCT (`include/x86/tdx/tdreport.ts`)
 * for a TD and 64 bytes of REPORTDATA.
 *
 * - REPORTMACSTRUCT: REPORTTYPE (type 0x81 = TDX, subtype 0, version 0: no
 *   service-TD binding), the platform CPUSVN, SHA-384 of TEE_TCB_INFO,
 *   SHA-384 of TDINFO (`tee_info_hash`), REPORTDATA, and a MAC.
 * - TEE_TCB_INFO: the module's SVN and MRSEAM (a fixed, simulated identity).
 * - TDINFO: ATTRIBUTES, XFAM, MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG and
 *   RTMR0..3 at the time of the call.
 *
 * The MAC is **simulated**: on hardware it is computed with a CPU key only
 * the platform's quoting enclave can verify. Here it is HMAC-SHA-256 over the
 * first 224 bytes of REPORTMACSTRUCT (everything but the MAC) with the fixed
 * key {@linkcode TDX_SIM_REPORT_MAC_KEY}, so reports are deterministic and a
 * test can check that nothing it covers was altered.
 *
 * @module
 */

import { node_crypto } from "../../include/crypto/node_crypto.ts";
import {
  tdx_report,
  TDX_REPORT_SIZE,
  TDX_REPORT_TYPE_TDX,
  TDX_REPORTDATA_SIZE,
  tdx_tdinfo,
  tdx_tee_tcb_info,
} from "../../include/x86/tdx/tdreport.ts";
import { sizeof } from "../../include/c/layout.ts";
import type { tdx_td } from "./td.ts";

/** The simulated report MAC key (not a secret: see the module doc). */
export const TDX_SIM_REPORT_MAC_KEY: Uint8Array = new TextEncoder().encode(
  "kvm-selftests simulated TDX module 1.5.01 report MAC key",
);
/** The simulated platform's CPUSVN. */
export const TDX_SIM_CPUSVN: Uint8Array = Uint8Array.from([
  5,
  1,
  2,
  0,
  3,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);
/** TEE_TCB_SVN of the simulated module: major 1, minor 5, update 1. */
export const TDX_SIM_TEE_TCB_SVN: Uint8Array = Uint8Array.from([
  1,
  5,
  1,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);
/** The simulated module's name, whose SHA-384 is its MRSEAM. */
export const TDX_SIM_MODULE_NAME = "kvm-selftests simulated TDX module 1.5.01";

/**
 * MRSEAM of the simulated module: SHA-384 of {@linkcode TDX_SIM_MODULE_NAME},
 * written out so that loading the module does not load `node:crypto`
 * (`tdreport_test.ts` checks it).
 */
export const TDX_SIM_MRSEAM: Uint8Array = Uint8Array.from(
  "f42efd52ac5d7f89ad7cebc704548bbe61e006951b116d04fbdeadce74145028e4d66db45d96b47f2de4cdc9df4296ca"
    .match(/../g)!,
  (h) => parseInt(h, 16),
);

function sha384(b: Uint8Array): Uint8Array {
  return new Uint8Array(node_crypto().createHash("sha384").update(b).digest());
}

/** TDINFO_STRUCT of `td` now (512 bytes). */
export function td_tdinfo(td: tdx_td): Uint8Array {
  const info = tdx_tdinfo.alloc();
  info.attributes = td.attributes;
  info.xfam = td.xfam;
  info.mrtd.$bytes.set(td.measurement.mrtd);
  info.mrconfigid.$bytes.set(td.mrconfigid);
  info.mrowner.$bytes.set(td.mrowner);
  info.mrownerconfig.$bytes.set(td.mrownerconfig);
  for (let i = 0; i < 4; i++) info.rtmr.at(i).$bytes.set(td.measurement.rtmr[i]!);
  return info.$bytes;
}

/** TEE_TCB_INFO of the simulated module (239 bytes). */
export function td_tee_tcb_info(): Uint8Array {
  const t = tdx_tee_tcb_info.alloc();
  // VALID: TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, ATTRIBUTES are meaningful.
  t.valid.$bytes.set([0xff, 0x03]);
  t.tee_tcb_svn.$bytes.set(TDX_SIM_TEE_TCB_SVN);
  t.mrseam.$bytes.set(TDX_SIM_MRSEAM);
  return t.$bytes;
}

/** The simulated MAC of a REPORTMACSTRUCT's first 224 bytes. */
export function td_report_mac(reportmac_head: Uint8Array): Uint8Array {
  return new Uint8Array(
    node_crypto().createHmac("sha256", TDX_SIM_REPORT_MAC_KEY).update(reportmac_head).digest(),
  );
}

/** The TDREPORT_STRUCT of `td` for `reportdata` (64 bytes), as TDG.MR.REPORT writes it. */
export function td_report_build(td: tdx_td, reportdata: Uint8Array): Uint8Array {
  if (reportdata.length !== TDX_REPORTDATA_SIZE) throw new RangeError("REPORTDATA is 64 bytes");
  const r = tdx_report.alloc();
  const tdinfo = td_tdinfo(td);
  const tcb = td_tee_tcb_info();
  r.tdinfo.$bytes.set(tdinfo);
  r.tee_tcb_info.$bytes.set(tcb);
  const m = r.reportmac;
  m.report_type.type = TDX_REPORT_TYPE_TDX;
  m.report_type.subtype = 0;
  m.report_type.version = 0;
  m.cpu_svn.$bytes.set(TDX_SIM_CPUSVN);
  m.tee_tcb_info_hash.$bytes.set(sha384(tcb));
  m.tee_info_hash.$bytes.set(sha384(tdinfo));
  m.reportdata.$bytes.set(reportdata);
  const head = m.$bytes.subarray(0, 224);
  m.mac.$bytes.set(td_report_mac(head));
  if (r.$bytes.length !== TDX_REPORT_SIZE || sizeof(tdx_report) !== TDX_REPORT_SIZE) {
    throw new Error("TDREPORT layout");
  }
  return r.$bytes;
}
