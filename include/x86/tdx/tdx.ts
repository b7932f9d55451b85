// SPDX-License-Identifier: GPL-2.0-only
/**
 * `include/x86/tdx/tdx.h`: the Guest-Hypervisor Communication Interface
 * (GHCI) as TDX selftests use it. A TD asks its VMM for a service with
 * TDG.VP.VMCALL: R10 = 0 (a standard GHCI call; non-zero is vendor-specific,
 * which KVM treats as a KVM hypercall), R11 = the sub-function, arguments in
 * R12..R15; the VMM answers with a status in R10 and a value in R11.
 *
 * The "Instruction.*" and "#VE.*" sub-functions are numbered by the VMX
 * basic exit reason of the instruction the TD could not execute; the
 * TD-specific ones live at 0x10000 and above.
 *
 * Names are the selftest series' (`TDG_VP_VMCALL_*`); the kernel's
 * `asm/shared/tdx.h` spellings (`TDVMCALL_*`) are aliases.
 *
 * The simulated TDX module and KVM import this header too, so it holds only
 * constants and types: the functions the C header declares
 * (`tdg_vp_vmcall_instruction_io()` & co.) are in `lib/x86/tdx/tdx.ts`,
 * which a test imports for them, and which would pull the selftest library
 * into the simulated kernel if this file re-exported it.
 *
 * @module
 */

/** R10 of a standard GHCI call. */
export const TDX_HYPERCALL_STANDARD = 0n;

/** The RCX exposure mask selftests pass: R10..R15 reach the VMM. */
export const TDG_VP_VMCALL_DEFAULT_EXPOSED_MASK = 0xfc00n;

/** Sub-function (R11): Instruction.CPUID (exit reason 10); R12 = leaf, R13 = subleaf. */
export const TDG_VP_VMCALL_INSTRUCTION_CPUID = 10n;
/** Sub-function: Instruction.HLT (exit reason 12); R12 = interrupts blocked. */
export const TDG_VP_VMCALL_INSTRUCTION_HLT = 12n;
/** Sub-function: Instruction.IO (exit reason 30); R12 size, R13 direction, R14 port, R15 data. */
export const TDG_VP_VMCALL_INSTRUCTION_IO = 30n;
/** Sub-function: Instruction.RDMSR (exit reason 31); R12 = MSR index, value in R11. */
export const TDG_VP_VMCALL_INSTRUCTION_RDMSR = 31n;
/** Sub-function: Instruction.WRMSR (exit reason 32); R12 = MSR index, R13 = value. */
export const TDG_VP_VMCALL_INSTRUCTION_WRMSR = 32n;
/** Sub-function: #VE.RequestMMIO (exit reason 48); R12 size, R13 direction, R14 GPA, R15 data. */
export const TDG_VP_VMCALL_VE_REQUEST_MMIO = 48n;
/** Sub-function: Instruction.WBINVD (exit reason 54); R12 = 0 for WBINVD, 1 for WBNOINVD. */
export const TDG_VP_VMCALL_INSTRUCTION_WBINVD = 54n;
/** Sub-function: Instruction.PCONFIG (exit reason 65); R12 = the PCONFIG leaf (EAX), R13..R15 = RBX, RCX, RDX. */
export const TDG_VP_VMCALL_INSTRUCTION_PCONFIG = 65n;
/** Sub-function: GetTdVmCallInfo; R12 = leaf. */
export const TDG_VP_VMCALL_GET_TD_VM_CALL_INFO = 0x10000n;
/** Sub-function: MapGPA; R12 = GPA (shared bit = convert to shared), R13 = size. */
export const TDG_VP_VMCALL_MAP_GPA = 0x10001n;
/** Sub-function: GetQuote; R12 = shared GPA of the buffer, R13 = size. */
export const TDG_VP_VMCALL_GET_QUOTE = 0x10002n;
/** Sub-function: ReportFatalError; R12 = error code, R13 = optional shared GPA. */
export const TDG_VP_VMCALL_REPORT_FATAL_ERROR = 0x10003n;
/** Sub-function: SetupEventNotifyInterrupt; R12 = vector. */
export const TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT = 0x10004n;
/**
 * Sub-function: Service (GHCI 1.5); R12 = shared GPA of the command buffer,
 * R13 = shared GPA of the response buffer, R14 = notification vector (0:
 * none), R15 = timeout.
 */
export const TDG_VP_VMCALL_SERVICE = 0x10005n;

/** Instruction.IO R13: IN (read from the port). */
export const TDG_VP_VMCALL_INSTRUCTION_IO_READ = 0n;
/** Instruction.IO R13: OUT (write to the port). */
export const TDG_VP_VMCALL_INSTRUCTION_IO_WRITE = 1n;
/** #VE.RequestMMIO R13: read. */
export const TDG_VP_VMCALL_VE_REQUEST_MMIO_READ = 0n;
/** #VE.RequestMMIO R13: write. */
export const TDG_VP_VMCALL_VE_REQUEST_MMIO_WRITE = 1n;

/** TDVMCALL status (R10): success. */
export const TDG_VP_VMCALL_SUCCESS = 0x0000000000000000n;
/** TDVMCALL status: retry (e.g. MapGPA interrupted; R11 = next GPA). */
export const TDG_VP_VMCALL_RETRY = 0x0000000000000001n;
/** TDVMCALL status: an operand is invalid. */
export const TDG_VP_VMCALL_INVALID_OPERAND = 0x8000000000000000n;
/** TDVMCALL status: the GPA is in use. */
export const TDG_VP_VMCALL_GPA_INUSE = 0x8000000000000001n;
/** TDVMCALL status: an address or size is misaligned. */
export const TDG_VP_VMCALL_ALIGN_ERROR = 0x8000000000000002n;
/** TDVMCALL status: the VMM does not implement the sub-function. */
export const TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED = 0x8000000000000003n;

/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_GET_TD_VM_CALL_INFO}. */
export const TDVMCALL_GET_TD_VM_CALL_INFO: bigint = TDG_VP_VMCALL_GET_TD_VM_CALL_INFO;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_MAP_GPA}. */
export const TDVMCALL_MAP_GPA: bigint = TDG_VP_VMCALL_MAP_GPA;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_GET_QUOTE}. */
export const TDVMCALL_GET_QUOTE: bigint = TDG_VP_VMCALL_GET_QUOTE;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_REPORT_FATAL_ERROR}. */
export const TDVMCALL_REPORT_FATAL_ERROR: bigint = TDG_VP_VMCALL_REPORT_FATAL_ERROR;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT}. */
export const TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT: bigint =
  TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_SUCCESS}. */
export const TDVMCALL_STATUS_SUCCESS: bigint = TDG_VP_VMCALL_SUCCESS;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_RETRY}. */
export const TDVMCALL_STATUS_RETRY: bigint = TDG_VP_VMCALL_RETRY;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_INVALID_OPERAND}. */
export const TDVMCALL_STATUS_INVALID_OPERAND: bigint = TDG_VP_VMCALL_INVALID_OPERAND;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_ALIGN_ERROR}. */
export const TDVMCALL_STATUS_ALIGN_ERROR: bigint = TDG_VP_VMCALL_ALIGN_ERROR;
/** `asm/shared/tdx.h` alias of {@linkcode TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED}. */
export const TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED: bigint = TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED;

/** GetTdVmCallInfo(1) R11 bit 0: the VMM implements GetQuote. */
export const TDVMCALLINFO_GET_QUOTE = 1n << 0n;
/** GetTdVmCallInfo(1) R11 bit 1: the VMM implements SetupEventNotifyInterrupt. */
export const TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT = 1n << 1n;

// ---------------------------------------------------------------------------
// TDG.VP.VEINFO.GET

/**
 * C `struct ve_info` (the series' `tdx.h`, after the kernel's
 * `asm/tdx.h`): what TDG.VP.VEINFO.GET returns about the last #VE, unpacked
 * by the guest from RCX, RDX, R8, R9 and R10 (the module defines no such
 * struct, only the registers).
 */
export interface ve_info {
  /** RCX: the exit reason of the #VE (e.g. 48, EPT violation). */
  exit_reason: bigint;
  /** RDX: the exit qualification. */
  exit_qual: bigint;
  /** R8: the guest linear address. */
  gla: bigint;
  /** R9: the guest physical address. */
  gpa: bigint;
  /** R10[31:0]: the instruction length. */
  instr_len: number;
  /** R10[63:32]: the instruction information. */
  instr_info: number;
}

// ---------------------------------------------------------------------------
// TD ATTRIBUTES (TD_PARAMS.ATTRIBUTES, TDG.VP.INFO RDX, TDINFO.ATTRIBUTES)

/** ATTRIBUTES bit 0: off-TD debug (the host may read the TD's state). */
export const TDX_TD_ATTR_DEBUG = 1n << 0n;
/** ATTRIBUTES bit 4: HGS+ (history reset). */
export const TDX_TD_ATTR_HGS_PLUS = 1n << 4n;
/** ATTRIBUTES bit 5: perf profiling. */
export const TDX_TD_ATTR_PERF_PROFILE = 1n << 5n;
/** ATTRIBUTES bit 6: PMT. */
export const TDX_TD_ATTR_PMT = 1n << 6n;
/** ATTRIBUTES bit 16: ICSSD. */
export const TDX_TD_ATTR_ICSSD = 1n << 16n;
/** ATTRIBUTES bit 27: LASS. */
export const TDX_TD_ATTR_LASS = 1n << 27n;
/** ATTRIBUTES bit 28: an access to a PENDING page exits to the VMM instead of raising #VE. */
export const TDX_TD_ATTR_SEPT_VE_DISABLE = 1n << 28n;
/** ATTRIBUTES bit 29: the TD may be migrated. */
export const TDX_TD_ATTR_MIGRATABLE = 1n << 29n;
/** ATTRIBUTES bit 30: supervisor protection keys. */
export const TDX_TD_ATTR_PKS = 1n << 30n;
/** ATTRIBUTES bit 31: Key Locker. */
export const TDX_TD_ATTR_KL = 1n << 31n;
/** ATTRIBUTES bit 62: TPA. */
export const TDX_TD_ATTR_TPA = 1n << 62n;
/** ATTRIBUTES bit 63: the TD may use the PMU. */
export const TDX_TD_ATTR_PERFMON = 1n << 63n;
