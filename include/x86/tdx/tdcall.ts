// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TDX module's ABI as a TD and the host see it: TDCALL leaf numbers
 * (TDG.*), SEAMCALL leaf numbers (TDH.*), the 64-bit completion status codes
 * and the operand ids the module ORs into `TDX_OPERAND_INVALID` and friends,
 * and the metadata field ids that TDG.VM.RD/WR and TDH.MNG.RD take.
 *
 * A status is a `bigint`: bit 63 set means an error, bit 62 a non-recoverable
 * one, bits 47:32 the class and code, bits 31:0 the operand id or detail.
 * `TDX_STATUS_MASK` keeps the class and code so that a status can be compared
 * without its detail, as the kernel's `TDX_SEAMCALL_STATUS_MASK` does.
 *
 * Both sides import this file: the guest library (TDCALL leaves, statuses)
 * and the simulated TDX module (`sim/tdx_module/`).
 *
 * @module
 */

// ---------------------------------------------------------------------------
// TDCALL leaves (RAX[15:0]; RAX[23:16] is the leaf version)

/** TDCALL leaf: TDG.VP.VMCALL, a call to the host VMM (GHCI). */
import {
  VCPU_REGS_R10,
  VCPU_REGS_R11,
  VCPU_REGS_R12,
  VCPU_REGS_R13,
  VCPU_REGS_R14,
  VCPU_REGS_R15,
  VCPU_REGS_R8,
  VCPU_REGS_R9,
  VCPU_REGS_RBX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
} from "../../asm/kvm_vcpu_regs.ts";

export const TDG_VP_VMCALL = 0;
/** TDCALL leaf: TDG.VP.INFO, the TD execution environment (GPAW, attributes, vCPUs). */
export const TDG_VP_INFO = 1;
/** TDCALL leaf: TDG.MR.RTMR.EXTEND, extend a run-time measurement register. */
export const TDG_MR_RTMR_EXTEND = 2;
/** TDCALL leaf: TDG.VP.VEINFO.GET, the information of the last #VE. */
export const TDG_VP_VEINFO_GET = 3;
/** TDCALL leaf: TDG.MR.REPORT, a TDREPORT_STRUCT bound to 64 bytes of REPORTDATA. */
export const TDG_MR_REPORT = 4;
/** TDCALL leaf: TDG.VP.CPUIDVE.SET, make every CPUID raise #VE. */
export const TDG_VP_CPUIDVE_SET = 5;
/** TDCALL leaf: TDG.MEM.PAGE.ACCEPT, accept a PENDING private page. */
export const TDG_MEM_PAGE_ACCEPT = 6;
/** TDCALL leaf: TDG.VM.RD, read a TD-scope metadata field. */
export const TDG_VM_RD = 7;
/** TDCALL leaf: TDG.VM.WR, write a TD-scope metadata field. */
export const TDG_VM_WR = 8;
/** TDCALL leaf: TDG.VP.RD (vCPU-scope metadata; not simulated). */
export const TDG_VP_RD = 9;
/** TDCALL leaf: TDG.VP.WR (vCPU-scope metadata; not simulated). */
export const TDG_VP_WR = 10;
/** TDCALL leaf: TDG.SYS.RD (module-scope metadata; not simulated). */
export const TDG_SYS_RD = 11;
/** TDCALL leaf: TDG.SYS.RDALL (not simulated). */
export const TDG_SYS_RDALL = 12;

/** TDG.MEM.PAGE.ACCEPT RCX[2:0]: accept a 4 KiB page. */
export const TDX_PS_4K = 0;
/** TDG.MEM.PAGE.ACCEPT RCX[2:0]: accept a 2 MiB page. */
export const TDX_PS_2M = 1;
/** TDG.MEM.PAGE.ACCEPT RCX[2:0]: 1 GiB (refused by TDX 1.5: operand invalid). */
export const TDX_PS_1G = 2;

/** TDG.VP.CPUIDVE.SET RCX bit 0: CPUID at CPL 0 raises #VE. */
export const TDX_CPUIDVE_SUPERVISOR = 1n << 0n;
/** TDG.VP.CPUIDVE.SET RCX bit 1: CPUID at CPL > 0 raises #VE. */
export const TDX_CPUIDVE_USER = 1n << 1n;

/** TDG.VP.INFO R10 bit 0: TDG.SYS.RD is available (TDX 1.5). */
export const TDG_VP_INFO_SYS_RD = 1n << 0n;

// ---------------------------------------------------------------------------
// The guest library's TDCALL wrappers (`lib/x86/tdx/tdcall.ts`)

/** `__tdx_hypercall()` flag: copy R10..R15 back into the arguments after the call. */
export const TDX_HCALL_HAS_OUTPUT = 1 << 0;

/**
 * C `struct tdx_hypercall_args`: R10..R15 of a TDG.VP.VMCALL, in and
 * (with {@linkcode TDX_HCALL_HAS_OUTPUT}) out. Only the guest library knows
 * this layout; the module and the VMM see bare registers. R10 carries the
 * GHCI call type (`TDX_HYPERCALL_STANDARD`) in and the VMM's status out, R11
 * the sub-function in and its first result out.
 */
export interface tdx_hypercall_args {
  /** R10. */
  r10: bigint;
  /** R11. */
  r11: bigint;
  /** R12. */
  r12: bigint;
  /** R13. */
  r13: bigint;
  /** R14. */
  r14: bigint;
  /** R15. */
  r15: bigint;
}

/**
 * C `struct tdx_module_output`: the registers a TDCALL to the TDX module
 * (anything but TDG.VP.VMCALL) returns besides RAX, the completion status.
 */
export interface tdx_module_output {
  /** RCX. */
  rcx: bigint;
  /** RDX. */
  rdx: bigint;
  /** R8. */
  r8: bigint;
  /** R9. */
  r9: bigint;
  /** R10. */
  r10: bigint;
  /** R11. */
  r11: bigint;
}

// ---------------------------------------------------------------------------
// SEAMCALL leaves (the host's side, for diagnostics and the KVM port)

/** SEAMCALL leaf: TDH.VP.ENTER. */
export const TDH_VP_ENTER = 0;
/** SEAMCALL leaf: TDH.MNG.ADDCX. */
export const TDH_MNG_ADDCX = 1;
/** SEAMCALL leaf: TDH.MEM.PAGE.ADD. */
export const TDH_MEM_PAGE_ADD = 2;
/** SEAMCALL leaf: TDH.MEM.SEPT.ADD. */
export const TDH_MEM_SEPT_ADD = 3;
/** SEAMCALL leaf: TDH.VP.ADDCX. */
export const TDH_VP_ADDCX = 4;
/** SEAMCALL leaf: TDH.MEM.PAGE.AUG. */
export const TDH_MEM_PAGE_AUG = 6;
/** SEAMCALL leaf: TDH.MEM.RANGE.BLOCK. */
export const TDH_MEM_RANGE_BLOCK = 7;
/** SEAMCALL leaf: TDH.MNG.KEY.CONFIG. */
export const TDH_MNG_KEY_CONFIG = 8;
/** SEAMCALL leaf: TDH.MNG.CREATE. */
export const TDH_MNG_CREATE = 9;
/** SEAMCALL leaf: TDH.VP.CREATE. */
export const TDH_VP_CREATE = 10;
/** SEAMCALL leaf: TDH.MNG.RD. */
export const TDH_MNG_RD = 11;
/** SEAMCALL leaf: TDH.MR.EXTEND. */
export const TDH_MR_EXTEND = 16;
/** SEAMCALL leaf: TDH.MR.FINALIZE. */
export const TDH_MR_FINALIZE = 17;
/** SEAMCALL leaf: TDH.VP.FLUSH. */
export const TDH_VP_FLUSH = 18;
/** SEAMCALL leaf: TDH.MNG.VPFLUSHDONE. */
export const TDH_MNG_VPFLUSHDONE = 19;
/** SEAMCALL leaf: TDH.MNG.KEY.FREEID. */
export const TDH_MNG_KEY_FREEID = 20;
/** SEAMCALL leaf: TDH.MNG.INIT. */
export const TDH_MNG_INIT = 21;
/** SEAMCALL leaf: TDH.VP.INIT. */
export const TDH_VP_INIT = 22;
/** SEAMCALL leaf: TDH.MEM.PAGE.REMOVE. */
export const TDH_MEM_PAGE_REMOVE = 29;
/** SEAMCALL leaf: TDH.MEM.TRACK. */
export const TDH_MEM_TRACK = 38;
/** SEAMCALL leaf: TDH.MEM.RANGE.UNBLOCK. */
export const TDH_MEM_RANGE_UNBLOCK = 39;

// ---------------------------------------------------------------------------
// Completion status codes

/** Class and code of a status, without the operand id / detail in bits 31:0. */
export const TDX_STATUS_MASK = 0xffffffff00000000n;

/** Success. */
export const TDX_SUCCESS = 0x0000000000000000n;
/** The vCPU cannot run any more. */
export const TDX_NON_RECOVERABLE_VCPU = 0x4000000100000000n;
/** The TD cannot run any more. */
export const TDX_NON_RECOVERABLE_TD = 0x6000000200000000n;
/** An operand (id in bits 31:0) is invalid. */
export const TDX_OPERAND_INVALID = 0xc000010000000000n;
/** An operand's address range is invalid. */
export const TDX_OPERAND_ADDR_RANGE_ERROR = 0xc000010100000000n;
/** An operand (id in bits 31:0) is locked by another flow: retry. */
export const TDX_OPERAND_BUSY = 0x8000020000000000n;
/** Not enough entropy for a key or random value: retry. */
export const TDX_RND_NO_ENTROPY = 0x8000020300000000n;
/** The TD's lifecycle state does not allow the function. */
export const TDX_LIFECYCLE_STATE_INCORRECT = 0xc000060700000000n;
/** The TD's operation state (TDH.MNG.INIT / TDH.MR.FINALIZE progress) does not allow it. */
export const TDX_OP_STATE_INCORRECT = 0xc000060800000000n;
/** The vCPU's state does not allow the function (e.g. TDH.VP.INIT twice). */
export const TDX_VCPU_STATE_INCORRECT = 0xc000070000000000n;
/** TDG.VP.VEINFO.GET without a valid #VE information. */
export const TDX_NO_VALID_VE_INFO = 0xc000070400000000n;
/** TDH.VP.INIT past TD_PARAMS.MAX_VCPUS. */
export const TDX_MAX_VCPUS_EXCEEDED = 0xc000070500000000n;
/** TDH.MNG.INIT before TDH.MNG.KEY.CONFIG. */
export const TDX_TD_KEYS_NOT_CONFIGURED = 0x8000081000000000n;
/** The TD's key state does not allow the function. */
export const TDX_KEY_STATE_INCORRECT = 0xc000081100000000n;
/** TDH.MNG.KEY.CONFIG on a TD whose key is already configured (a warning). */
export const TDX_KEY_CONFIGURED = 0x0000081500000000n;
/** TDH.MNG.CREATE with an HKID another TD holds. */
export const TDX_HKID_NOT_FREE = 0xc000082000000000n;
/** TDH.VP.INIT with an x2APIC ID another vCPU of the TD has. */
export const TDX_X2APIC_ID_NOT_UNIQUE = 0xc000062100000000n;
/** A Secure EPT walk did not reach the requested level. */
export const TDX_EPT_WALK_FAILED = 0xc0000b0000000000n;
/** The Secure EPT entry is free (nothing mapped there). */
export const TDX_EPT_ENTRY_FREE = 0xc0000b0100000000n;
/** The Secure EPT entry is not free (something is already mapped there). */
export const TDX_EPT_ENTRY_NOT_FREE = 0xc0000b0200000000n;
/** TDH.MEM.PAGE.REMOVE of a GPA that TDH.MEM.RANGE.BLOCK has not blocked. */
export const TDX_GPA_RANGE_NOT_BLOCKED = 0xc0000b0600000000n;
/** TDH.MEM.RANGE.BLOCK of a GPA already blocked (a warning). */
export const TDX_GPA_RANGE_ALREADY_BLOCKED = 0x00000b0700000000n;
/** TDG.MEM.PAGE.ACCEPT of a page already accepted (a warning: bit 63 clear). */
export const TDX_PAGE_ALREADY_ACCEPTED = 0x00000b0a00000000n;
/** TDG.MEM.PAGE.ACCEPT at a size that does not match the Secure EPT mapping. */
export const TDX_PAGE_SIZE_MISMATCH = 0xc0000b0b00000000n;
/** The Secure EPT entry's state does not allow the function. */
export const TDX_EPT_ENTRY_STATE_INCORRECT = 0xc0000b0d00000000n;
/** Unknown metadata field id. */
export const TDX_METADATA_FIELD_ID_INCORRECT = 0xc0000c0000000000n;
/** The metadata field cannot be written. */
export const TDX_METADATA_FIELD_NOT_WRITABLE = 0xc0000c0100000000n;
/** The metadata field cannot be read. */
export const TDX_METADATA_FIELD_NOT_READABLE = 0xc0000c0200000000n;
/** The value written to a metadata field is not valid. */
export const TDX_METADATA_FIELD_VALUE_NOT_VALID = 0xc0000c0300000000n;

/** The write mask of TDG.VM.WR sets bits the field does not let the guest write. */
export const TDX_METADATA_WR_MASK_NOT_VALID = 0xc0000c0a00000000n;

/** The TDX exit reason of a TD exit for TDG.VP.VMCALL (`vp_enter_ret`): 77, TDCALL. */
export const TDX_EXIT_REASON_TDCALL = 77n;

// ---------------------------------------------------------------------------
// Operand ids (bits 31:0 of TDX_OPERAND_INVALID and TDX_OPERAND_BUSY)

/** Operand id: RAX. */
export const OPERAND_ID_RAX = 0n;
/** Operand id: RCX. */
export const OPERAND_ID_RCX = 1n;
/** Operand id: RDX. */
export const OPERAND_ID_RDX = 2n;
/** Operand id: RBX. */
export const OPERAND_ID_RBX = 3n;
/** Operand id: R8. */
export const OPERAND_ID_R8 = 8n;
/** Operand id: R9. */
export const OPERAND_ID_R9 = 9n;
/** Operand id: R10. */
export const OPERAND_ID_R10 = 10n;
/** Operand id: TD_PARAMS.ATTRIBUTES. */
export const OPERAND_ID_ATTRIBUTES = 64n;
/** Operand id: TD_PARAMS.XFAM. */
export const OPERAND_ID_XFAM = 65n;
/** Operand id: TD_PARAMS.CONFIG_FLAGS (the TD's execution controls). */
export const OPERAND_ID_EXEC_CONTROLS = 66n;
/** Operand id: TD_PARAMS.EPTP_CONTROLS. */
export const OPERAND_ID_EPTP_CONTROLS = 67n;
/** Operand id: TD_PARAMS.MAX_VCPUS. */
export const OPERAND_ID_MAX_VCPUS = 68n;
/** Operand id: TD_PARAMS.CPUID_CONFIG (the leaf/subleaf is returned in RCX). */
export const OPERAND_ID_CPUID_CONFIG = 69n;
/** Operand id: TD_PARAMS.TSC_FREQUENCY. */
export const OPERAND_ID_TSC_FREQUENCY = 70n;
/** Operand id: TD_PARAMS.NUM_L2_VMS. */
export const OPERAND_ID_NUM_L2_VMS = 71n;
/** Operand id: the TDR page. */
export const OPERAND_ID_TDR = 128n;
/** Operand id: the TDVPR page. */
export const OPERAND_ID_TDVPR = 130n;

/** Whether `status` is an error (bit 63), as the kernel's `TDX_ERROR`. */
export function tdx_status_is_error(status: bigint): boolean {
  return (status & (1n << 63n)) !== 0n;
}

/** `status` without its detail: the class and code only. */
export function tdx_status_code(status: bigint): bigint {
  return status & TDX_STATUS_MASK;
}

// ---------------------------------------------------------------------------
// Metadata field ids

/**
 * TDCS field (TDG.VM.RD/WR): CONFIG_FLAGS, TD_PARAMS.CONFIG_FLAGS as
 * TDH.MNG.INIT recorded them (read-only).
 */
export const TDCS_CONFIG_FLAGS = 0x1110000300000016n;
/** TDCS field: TD_CTLS (bit 0 PENDING_VE_DISABLE read-only; bits 1..3 writable). */
export const TDCS_TD_CTLS = 0x1110000300000017n;
/** TDCS field: NOTIFY_ENABLES (bit 0: notify on zero-step attack suspicion). */
export const TDCS_NOTIFY_ENABLES = 0x9100000000000010n;
/** TDCS field: TOPOLOGY_ENUM_CONFIGURED (the VMM gave every vCPU an x2APIC ID). */
export const TDCS_TOPOLOGY_ENUM_CONFIGURED = 0x9100000000000019n;

/** TDCS CONFIG_FLAGS bit 0: GPAW is 52 (shared bit 51). */
export const TDCS_CONFIG_MAX_GPAW = 1n << 0n;
/** TDCS CONFIG_FLAGS bit 1: flexible pending #VE. */
export const TDCS_CONFIG_FLEXIBLE_PENDING_VE = 1n << 1n;
/** TDCS CONFIG_FLAGS bit 2: the module does not modify RBP on TDCALL (RBP never exposed). */
export const TDCS_CONFIG_NO_RBP_MOD = 1n << 2n;

/** TD_CTLS bit 0: EPT violations on PENDING pages exit to the VMM instead of #VE. */
export const TD_CTLS_PENDING_VE_DISABLE = 1n << 0n;
/** TD_CTLS bit 1: topology enumeration (CPUID 0xB/0x1F) from the configured x2APIC IDs. */
export const TD_CTLS_ENUM_TOPOLOGY = 1n << 1n;
/** TD_CTLS bit 2: virtual CPUID(2). */
export const TD_CTLS_VIRT_CPUID2 = 1n << 2n;
/** TD_CTLS bit 3: reduced #VE (fewer CPUID/MSR #VEs). */
export const TD_CTLS_REDUCE_VE = 1n << 3n;

/**
 * TDH.MNG.RD field id base of the TD's virtual CPUID (CPUID_VALUES). A
 * field is `base | leaf[31] << 16 | leaf[6:0] << 9 | subleaf_na << 8 |
 * subleaf[6:0] << 1 | element`: element 0 holds EBX:EAX, element 1 EDX:ECX;
 * a leaf without subleaves has SUBLEAF_NA set and subleaf bits all ones.
 */
export const TD_MD_FIELD_ID_CPUID_VALUES = 0x9410000300000000n;

/** The TDH.MNG.RD field id of CPUID(`leaf`, `subleaf`) element `element` (0: EBX:EAX, 1: EDX:ECX). */
export function td_md_field_id_cpuid(
  leaf: number,
  subleaf: number | null,
  element: 0 | 1,
): bigint {
  let id = TD_MD_FIELD_ID_CPUID_VALUES;
  if (leaf & 0x80000000) id |= 1n << 16n;
  id |= BigInt(leaf & 0x7f) << 9n;
  id |= subleaf === null ? 0x1fen : BigInt(subleaf & 0x7f) << 1n;
  return id | BigInt(element);
}

/**
 * Linux's `struct tdx_module_args`: the GPRs a TDCALL passes and returns
 * (any register left out is 0). One definition for both CPUs' `tdcall`
 * intrinsic: the simulated one and the guest runtime's on a real vCPU.
 */
export interface tdx_module_args {
  /** RCX. */
  rcx?: bigint;
  /** RDX. */
  rdx?: bigint;
  /** R8. */
  r8?: bigint;
  /** R9. */
  r9?: bigint;
  /** R10. */
  r10?: bigint;
  /** R11. */
  r11?: bigint;
  /** R12. */
  r12?: bigint;
  /** R13. */
  r13?: bigint;
  /** R14. */
  r14?: bigint;
  /** R15. */
  r15?: bigint;
  /** RBX. */
  rbx?: bigint;
  /** RDI. */
  rdi?: bigint;
  /** RSI. */
  rsi?: bigint;
}

/**
 * Where each member of `struct tdx_module_args` travels: the GPR (a
 * `VCPU_REGS_*` index) a TDCALL reads it from and writes it back to.
 */
export const TDX_MODULE_ARGS_REGS: readonly (readonly [keyof tdx_module_args, number])[] = [
  ["rcx", VCPU_REGS_RCX],
  ["rdx", VCPU_REGS_RDX],
  ["rbx", VCPU_REGS_RBX],
  ["rsi", VCPU_REGS_RSI],
  ["rdi", VCPU_REGS_RDI],
  ["r8", VCPU_REGS_R8],
  ["r9", VCPU_REGS_R9],
  ["r10", VCPU_REGS_R10],
  ["r11", VCPU_REGS_R11],
  ["r12", VCPU_REGS_R12],
  ["r13", VCPU_REGS_R13],
  ["r14", VCPU_REGS_R14],
  ["r15", VCPU_REGS_R15],
];
