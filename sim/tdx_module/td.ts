// SPDX-License-Identifier: GPL-2.0-only
/**
 * The control structures the TDX module keeps per TD and per vCPU: the TDR
 * (lifecycle, HKID), the TDCS (operation state, the TD_PARAMS that
 * TDH.MNG.INIT recorded, the virtual CPUID, the measurement, the Secure EPT)
 * and the TDVPS (vCPU index, initial RCX, #VE and CPUID-#VE controls).
 *
 * The host (KVM) allocates the objects, as it allocates the TDR, TDCS and
 * TDVPR pages it hands to SEAMCALLs, and only ever passes them to the
 * TDH.* functions: their fields are the module's, read-only to everyone else.
 *
 * Lifecycle of a TD, as the SEAMCALLs move it:
 *
 * ```
 * TDH.MNG.CREATE          TD_HKID_ASSIGNED   (HKID taken in the KOT)
 * TDH.MNG.KEY.CONFIG      TD_KEYS_CONFIGURED
 *   TDH.MNG.INIT            op state INITIALIZED   (TD_PARAMS checked, CPUID, MRTD start)
 *   TDH.VP.CREATE/INIT ...  vCPUs
 *   TDH.MEM.PAGE.ADD ...    build-time pages, measured
 *   TDH.MR.FINALIZE         op state RUNNABLE      (MRTD final; the TD may run)
 * TDH.MNG.VPFLUSHDONE     TD_BLOCKED
 * TDH.MNG.KEY.FREEID      TD_TEARDOWN        (HKID back in the KOT)
 * ```
 *
 * @module
 */

import { td_measurement } from "./measure.ts";
import { secure_ept } from "./sept.ts";
import type { td_cpuid_table } from "./cpuid.ts";
import { type tdx_module, tdx_module_global } from "./sysinfo.ts";
import { td_vapic } from "./vapic.ts";

/** TDR lifecycle: not created (the page is just allocated). */
export const TD_LIFECYCLE_NONE = 0;
/** TDR lifecycle: TDH.MNG.CREATE assigned the HKID. */
export const TD_HKID_ASSIGNED = 1;
/** TDR lifecycle: TDH.MNG.KEY.CONFIG programmed the key. */
export const TD_KEYS_CONFIGURED = 2;
/** TDR lifecycle: TDH.MNG.VPFLUSHDONE: no vCPU may enter any more. */
export const TD_BLOCKED = 3;
/** TDR lifecycle: TDH.MNG.KEY.FREEID released the HKID; pages can be reclaimed. */
export const TD_TEARDOWN = 4;

/** TDCS operation state: before TDH.MNG.INIT. */
export const OP_STATE_UNINITIALIZED = 0;
/** TDCS operation state: TDH.MNG.INIT done; building. */
export const OP_STATE_INITIALIZED = 1;
/** TDCS operation state: TDH.MR.FINALIZE done; the TD runs. */
export const OP_STATE_RUNNABLE = 2;

/** A TD as the module keeps it (TDR + TDCS). */
export class tdx_td {
  /** The module this TD belongs to. */
  readonly module: tdx_module;
  /** TDR.LIFECYCLE_STATE (`TD_*`). */
  lifecycle: number = TD_LIFECYCLE_NONE;
  /** TDR.HKID (0 until TDH.MNG.CREATE). */
  hkid = 0;
  /** TDCS.OP_STATE (`OP_STATE_*`). */
  op_state: number = OP_STATE_UNINITIALIZED;
  /** TDCS.ATTRIBUTES. */
  attributes = 0n;
  /** TDCS.XFAM. */
  xfam = 0n;
  /** TDCS.MAX_VCPUS. */
  max_vcpus = 0;
  /** TDCS.NUM_VCPUS: vCPUs initialised with TDH.VP.INIT so far. */
  num_vcpus = 0;
  /** TDCS.EPTP_CONTROLS. */
  eptp_controls = 0n;
  /** TDCS.CONFIG_FLAGS. */
  config_flags = 0n;
  /** TDCS.TD_CTLS (PENDING_VE_DISABLE, ENUM_TOPOLOGY, VIRT_CPUID2, REDUCE_VE). */
  td_ctls = 0n;
  /** TDCS.NOTIFY_ENABLES. */
  notify_enables = 0n;
  /** TDCS.TSC_FREQUENCY, in 25 MHz units. */
  tsc_frequency = 0;
  /** Guest physical address width: 48 or 52. */
  gpaw = 48;
  /** MRCONFIGID. */
  readonly mrconfigid: Uint8Array = new Uint8Array(48);
  /** MROWNER. */
  readonly mrowner: Uint8Array = new Uint8Array(48);
  /** MROWNERCONFIG. */
  readonly mrownerconfig: Uint8Array = new Uint8Array(48);
  /** The virtual CPUID, from TDH.MNG.INIT. */
  cpuid: td_cpuid_table | null = null;
  /** MRTD and RTMRs (a new context at TDH.MNG.INIT). */
  measurement: td_measurement = new td_measurement();
  /** The Secure EPT. */
  readonly sept: secure_ept = new secure_ept();
  /** The TD's vCPUs, in TDH.VP.CREATE order. */
  readonly vcpus: tdx_vp[] = [];

  /** A fresh TDR page of `module` (the default: the machine's module). */
  constructor(module: tdx_module = tdx_module_global) {
    this.module = module;
  }

  /** The shared-GPA bit: bit 47 for GPAW 48, bit 51 for GPAW 52. */
  get shared_bit(): bigint {
    return 1n << BigInt(this.gpaw - 1);
  }

  /** TDCS.TD_CTLS.PENDING_VE_DISABLE: ATTRIBUTES.SEPT_VE_DISABLE as TDH.MNG.INIT latched it. */
  get pending_ve_disable(): boolean {
    return (this.td_ctls & 1n) !== 0n;
  }

  /** Whether the TD has finished its build (TDH.MR.FINALIZE). */
  get runnable(): boolean {
    return this.op_state === OP_STATE_RUNNABLE;
  }
}

/** A vCPU as the module keeps it (TDVPR + TDVPS). */
export class tdx_vp {
  /** The TD, once TDH.VP.CREATE associated it. */
  td: tdx_td | null = null;
  /** Whether TDH.VP.INIT ran. */
  initialized = false;
  /** VCPU_INDEX: the order of TDH.VP.INIT within the TD (0, 1, ...). */
  vcpu_index: number = -1;
  /** The x2APIC ID TDH.VP.INIT gave it. */
  x2apic_id = 0;
  /** The initial RCX (and R8) value TDH.VP.INIT passed. */
  initial_rcx = 0n;
  /** TDG.VP.CPUIDVE.SET bits (`TDX_CPUIDVE_*`). */
  cpuid_ve = 0n;
  /** The virtual APIC (virtual-APIC page, RVI/SVI): the host never reads it. */
  readonly vapic: td_vapic = new td_vapic();
}
