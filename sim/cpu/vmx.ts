// SPDX-License-Identifier: GPL-2.0-only
/**
 * Architectural constants of the simulated VMX-capable CPU, with the names
 * the kernel gives them (`arch/x86/include/uapi/asm/vmx.h`,
 * `arch/x86/include/asm/vmx.h`, `arch/x86/include/uapi/asm/processor-flags.h`,
 * `arch/x86/include/asm/trapnr.h`, `arch/x86/include/asm/msr-index.h`), plus
 * the few simulator-only values (exit reasons above 0xffff that no VMX CPU
 * reports, the vCPU handoff states).
 *
 * @module
 */

import * as flags from "../../include/asm/processor-flags.ts";
import * as msr_index from "../../include/asm/msr-index.ts";

// VMX basic exit reasons: one definition, the uAPI's.
export * from "../../include/asm/vmx.ts";

/** First simulator-only exit reason: no VMX CPU reports values above 0xffff. */
export const SIM_EXIT_REASON_BASE = 0x10000;
/**
 * Guest code threw a JavaScript exception: a bug in the test. The error text
 * (with the guest stack) is in the VMCS crash area (`vcpu_thread.guest_error()`);
 * the kernel throws `GuestCodeError`.
 */
export const SIM_EXIT_REASON_GUEST_CRASH = 0x10001;
/** The run deadline (`set_run_deadline`) passed: the vCPU worker was terminated. */
export const SIM_EXIT_REASON_DEADLINE = 0x10002;
/** The vCPU worker is gone (destroyed, or it failed to start): it cannot run again. */
export const SIM_EXIT_REASON_DEAD = 0x10003;

// ---------------------------------------------------------------------------
// VM-entry / VM-exit interruption information (SDM 24.8.3, 24.9.2).

/** Bits 7:0 of an interruption-information field: the vector. */
export const INTR_INFO_VECTOR_MASK = 0xff;
/** Bits 10:8: the event type. */
export const INTR_INFO_INTR_TYPE_MASK = 0x700;
/** Bit 11: an error code is delivered (pushed). */
export const INTR_INFO_DELIVER_CODE_MASK = 0x800;
/** Bit 31: the field is valid. */
export const INTR_INFO_VALID_MASK = 0x80000000;
/** Event type: external interrupt. */
export const INTR_TYPE_EXT_INTR = 0 << 8;
/** Event type: NMI. */
export const INTR_TYPE_NMI_INTR = 2 << 8;
/** Event type: hardware exception (a fault the instruction raises). */
export const INTR_TYPE_HARD_EXCEPTION = 3 << 8;
/** Event type: software interrupt (`INT n`). */
export const INTR_TYPE_SOFT_INTR = 4 << 8;
/** Event type: privileged software exception (`INT1`). */
export const INTR_TYPE_PRIV_SW_EXCEPTION = 5 << 8;
/** Event type: software exception (`INT3`, `INTO`). */
export const INTR_TYPE_SOFT_EXCEPTION = 6 << 8;

// ---------------------------------------------------------------------------
// Exit qualifications.

/** I/O exit qualification bits 2:0: access size minus one. */
export const IO_QUAL_SIZE_MASK = 0x7;
/** I/O exit qualification bit 3: direction is IN. */
export const IO_QUAL_IN = 1 << 3;
/** I/O exit qualification bit 4: string instruction (INS/OUTS). */
export const IO_QUAL_STRING = 1 << 4;
/** I/O exit qualification bit 5: REP prefix. */
export const IO_QUAL_REP = 1 << 5;
/** I/O exit qualification bit 6: port given as an immediate (this CPU always uses DX). */
export const IO_QUAL_IMM = 1 << 6;
/** I/O exit qualification bits 31:16: the port. */
export const IO_QUAL_PORT_SHIFT = 16;

/** EPT violation qualification bit 0: data read. */
export const EPT_VIOLATION_ACC_READ = 1 << 0;
/** Bit 1: data write. */
export const EPT_VIOLATION_ACC_WRITE = 1 << 1;
/** Bit 2: instruction fetch. */
export const EPT_VIOLATION_ACC_INSTR = 1 << 2;
/** Bit 3: the GPA was readable. */
export const EPT_VIOLATION_RWX_READABLE = 1 << 3;
/** Bit 4: the GPA was writable. */
export const EPT_VIOLATION_RWX_WRITABLE = 1 << 4;
/** Bit 5: the GPA was executable. */
export const EPT_VIOLATION_RWX_EXECUTABLE = 1 << 5;
/** Bit 7: the guest-linear-address field is valid. */
export const EPT_VIOLATION_GVA_IS_VALID = 1 << 7;
/** Bit 8: the access was to the translated address (clear: to a paging-structure entry). */
export const EPT_VIOLATION_GVA_TRANSLATED = 1 << 8;
/**
 * Simulator extension, bit 32 of the qualification reads as bit 0 of
 * `exit_qualification_hi`: the access was private (TD, shared bit clear).
 * The kernel uses it for `KVM_MEMORY_EXIT_FLAG_PRIVATE`.
 */
export const EPT_VIOLATION_SIM_PRIVATE_HI = 1 << 0;

// ---------------------------------------------------------------------------
// Exception vectors (arch/x86/include/asm/trapnr.h).

// NMI is not in the uAPI's vector list: irq_vectors.h names it.
export { NMI_VECTOR } from "../../include/asm/irq_vectors.ts";
// The architectural exception vectors are the uAPI's (`<asm/kvm.h>`); one definition.
export {
  AC_VECTOR,
  BP_VECTOR,
  BR_VECTOR,
  CP_VECTOR,
  DB_VECTOR,
  DE_VECTOR,
  DF_VECTOR,
  GP_VECTOR,
  MC_VECTOR,
  MF_VECTOR,
  NM_VECTOR,
  NP_VECTOR,
  OF_VECTOR,
  PF_VECTOR,
  SS_VECTOR,
  TS_VECTOR,
  UD_VECTOR,
  VE_VECTOR,
  XM_VECTOR,
} from "../../include/asm/kvm.ts";

/** #PF error code: the page was present (protection violation). */
export const PFERR_PRESENT_MASK = 1 << 0;
/** #PF error code: the access was a write. */
export const PFERR_WRITE_MASK = 1 << 1;
/** #PF error code: the access was made at CPL 3. */
export const PFERR_USER_MASK = 1 << 2;
/** #PF error code: a reserved bit was set in a paging-structure entry. */
export const PFERR_RSVD_MASK = 1 << 3;
/** #PF error code: the access was an instruction fetch. */
export const PFERR_FETCH_MASK = 1 << 4;

// ---------------------------------------------------------------------------
// Control registers, RFLAGS, EFER (uapi/asm/processor-flags.h, msr-index.h).

// MSR indices and VCPU_REGS_* are numbers in their one definition; re-exported.
export {
  MSR_CSTAR,
  MSR_EFER,
  MSR_FS_BASE,
  MSR_GS_BASE,
  MSR_IA32_APICBASE,
  MSR_IA32_CR_PAT,
  MSR_IA32_MISC_ENABLE,
  MSR_IA32_SYSENTER_CS,
  MSR_IA32_SYSENTER_EIP,
  MSR_IA32_SYSENTER_ESP,
  MSR_IA32_TSC,
  MSR_KERNEL_GS_BASE,
  MSR_LSTAR,
  MSR_STAR,
  MSR_SYSCALL_MASK,
  MSR_TSC_AUX,
} from "../../include/asm/msr-index.ts";
export {
  NR_VCPU_REGS,
  VCPU_REGS_R10,
  VCPU_REGS_R11,
  VCPU_REGS_R12,
  VCPU_REGS_R13,
  VCPU_REGS_R14,
  VCPU_REGS_R15,
  VCPU_REGS_R8,
  VCPU_REGS_R9,
  VCPU_REGS_RAX,
  VCPU_REGS_RBP,
  VCPU_REGS_RBX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
  VCPU_REGS_RSP,
} from "../../include/asm/kvm_vcpu_regs.ts";

// The interpreter's hot paths test CR, RFLAGS and EFER bits on numbers: each
// is derived from the one (bigint) definition, never written again.
/** `X86_CR0_PE` as a number. */
export const X86_CR0_PE: number = Number(flags.X86_CR0_PE);
/** `X86_CR0_MP` as a number. */
export const X86_CR0_MP: number = Number(flags.X86_CR0_MP);
/** `X86_CR0_EM` as a number. */
export const X86_CR0_EM: number = Number(flags.X86_CR0_EM);
/** `X86_CR0_TS` as a number. */
export const X86_CR0_TS: number = Number(flags.X86_CR0_TS);
/** `X86_CR0_ET` as a number. */
export const X86_CR0_ET: number = Number(flags.X86_CR0_ET);
/** `X86_CR0_NE` as a number. */
export const X86_CR0_NE: number = Number(flags.X86_CR0_NE);
/** `X86_CR0_WP` as a number. */
export const X86_CR0_WP: number = Number(flags.X86_CR0_WP);
/** `X86_CR0_AM` as a number. */
export const X86_CR0_AM: number = Number(flags.X86_CR0_AM);
/** `X86_CR0_NW` as a number. */
export const X86_CR0_NW: number = Number(flags.X86_CR0_NW);
/** `X86_CR0_CD` as a number. */
export const X86_CR0_CD: number = Number(flags.X86_CR0_CD);
/** `X86_CR0_PG` as a number. */
export const X86_CR0_PG: number = Number(flags.X86_CR0_PG);
/** `X86_CR4_VME` as a number. */
export const X86_CR4_VME: number = Number(flags.X86_CR4_VME);
/** `X86_CR4_PVI` as a number. */
export const X86_CR4_PVI: number = Number(flags.X86_CR4_PVI);
/** `X86_CR4_TSD` as a number. */
export const X86_CR4_TSD: number = Number(flags.X86_CR4_TSD);
/** `X86_CR4_DE` as a number. */
export const X86_CR4_DE: number = Number(flags.X86_CR4_DE);
/** `X86_CR4_PSE` as a number. */
export const X86_CR4_PSE: number = Number(flags.X86_CR4_PSE);
/** `X86_CR4_PAE` as a number. */
export const X86_CR4_PAE: number = Number(flags.X86_CR4_PAE);
/** `X86_CR4_MCE` as a number. */
export const X86_CR4_MCE: number = Number(flags.X86_CR4_MCE);
/** `X86_CR4_PGE` as a number. */
export const X86_CR4_PGE: number = Number(flags.X86_CR4_PGE);
/** `X86_CR4_PCE` as a number. */
export const X86_CR4_PCE: number = Number(flags.X86_CR4_PCE);
/** `X86_CR4_OSFXSR` as a number. */
export const X86_CR4_OSFXSR: number = Number(flags.X86_CR4_OSFXSR);
/** `X86_CR4_OSXMMEXCPT` as a number. */
export const X86_CR4_OSXMMEXCPT: number = Number(flags.X86_CR4_OSXMMEXCPT);
/** `X86_CR4_UMIP` as a number. */
export const X86_CR4_UMIP: number = Number(flags.X86_CR4_UMIP);
/** `X86_CR4_LA57` as a number. */
export const X86_CR4_LA57: number = Number(flags.X86_CR4_LA57);
/** `X86_CR4_VMXE` as a number. */
export const X86_CR4_VMXE: number = Number(flags.X86_CR4_VMXE);
/** `X86_CR4_SMXE` as a number. */
export const X86_CR4_SMXE: number = Number(flags.X86_CR4_SMXE);
/** `X86_CR4_FSGSBASE` as a number. */
export const X86_CR4_FSGSBASE: number = Number(flags.X86_CR4_FSGSBASE);
/** `X86_CR4_PCIDE` as a number. */
export const X86_CR4_PCIDE: number = Number(flags.X86_CR4_PCIDE);
/** `X86_CR4_OSXSAVE` as a number. */
export const X86_CR4_OSXSAVE: number = Number(flags.X86_CR4_OSXSAVE);
/** `X86_CR4_SMEP` as a number. */
export const X86_CR4_SMEP: number = Number(flags.X86_CR4_SMEP);
/** `X86_CR4_SMAP` as a number. */
export const X86_CR4_SMAP: number = Number(flags.X86_CR4_SMAP);
/** `X86_CR4_PKE` as a number. */
export const X86_CR4_PKE: number = Number(flags.X86_CR4_PKE);
/** `X86_EFLAGS_CF` as a number. */
export const X86_EFLAGS_CF: number = Number(flags.X86_EFLAGS_CF);
/** `X86_EFLAGS_FIXED` as a number. */
export const X86_EFLAGS_FIXED: number = Number(flags.X86_EFLAGS_FIXED);
/** `X86_EFLAGS_ZF` as a number. */
export const X86_EFLAGS_ZF: number = Number(flags.X86_EFLAGS_ZF);
/** `X86_EFLAGS_TF` as a number. */
export const X86_EFLAGS_TF: number = Number(flags.X86_EFLAGS_TF);
/** `X86_EFLAGS_IF` as a number. */
export const X86_EFLAGS_IF: number = Number(flags.X86_EFLAGS_IF);
/** `X86_EFLAGS_IOPL` as a number. */
export const X86_EFLAGS_IOPL: number = Number(flags.X86_EFLAGS_IOPL);
/** `X86_EFLAGS_NT` as a number. */
export const X86_EFLAGS_NT: number = Number(flags.X86_EFLAGS_NT);
/** `X86_EFLAGS_RF` as a number. */
export const X86_EFLAGS_RF: number = Number(flags.X86_EFLAGS_RF);
/** `X86_EFLAGS_VM` as a number. */
export const X86_EFLAGS_VM: number = Number(flags.X86_EFLAGS_VM);
/** `X86_EFLAGS_AC` as a number. */
export const X86_EFLAGS_AC: number = Number(flags.X86_EFLAGS_AC);
/** `EFER_SCE` as a number. */
export const EFER_SCE: number = Number(msr_index.EFER_SCE);
/** `EFER_LME` as a number. */
export const EFER_LME: number = Number(msr_index.EFER_LME);
/** `EFER_LMA` as a number. */
export const EFER_LMA: number = Number(msr_index.EFER_LMA);
/** `EFER_NX` as a number. */
export const EFER_NX: number = Number(msr_index.EFER_NX);

// ---------------------------------------------------------------------------
// Segment registers.

/** Segment register numbers (SDM encoding, KVM's `VCPU_SREG_*`): ES. */
export const VCPU_SREG_ES = 0;
/** CS. */
export const VCPU_SREG_CS = 1;
/** SS. */
export const VCPU_SREG_SS = 2;
/** DS. */
export const VCPU_SREG_DS = 3;
/** FS. */
export const VCPU_SREG_FS = 4;
/** GS. */
export const VCPU_SREG_GS = 5;
/** TR. */
export const VCPU_SREG_TR = 6;
/** LDTR. */
export const VCPU_SREG_LDTR = 7;

// ---------------------------------------------------------------------------
// Guest activity and interruptibility state (SDM 24.4.2).

/** Activity state: active. */
export const GUEST_ACTIVITY_ACTIVE = 0;
/** Activity state: HLT. */
export const GUEST_ACTIVITY_HLT = 1;
/** Activity state: shutdown (after a triple fault). */
export const GUEST_ACTIVITY_SHUTDOWN = 2;
/** Activity state: wait-for-SIPI. */
export const GUEST_ACTIVITY_WAIT_SIPI = 3;
/** Interruptibility: blocking by STI (the instruction after STI). */
export const GUEST_INTR_STATE_STI = 1 << 0;
/** Interruptibility: blocking by MOV SS. */
export const GUEST_INTR_STATE_MOV_SS = 1 << 1;
/** Interruptibility: blocking by NMI. */
export const GUEST_INTR_STATE_NMI = 1 << 3;

// ---------------------------------------------------------------------------
// The handoff between the host thread and the vCPU worker (simulator only).

/** `run_state`: the host owns the vCPU (before the first entry). */
export const VCPU_STATE_HOST = 0;
/** `run_state`: the host handed the vCPU to the worker (VM entry). */
export const VCPU_STATE_RUN = 1;
/** `run_state`: the worker stored a VM exit and waits; the host owns the vCPU. */
export const VCPU_STATE_EXIT = 2;
/**
 * `run_state`: the host set the kill word of a vCPU outside guest mode. The
 * worker sleeps on `run_state`, not on the kill word, and may have read the
 * kill word just before the host stored it: the move to this state is what
 * keeps that sleep from lasting its whole timeout.
 */
export const VCPU_STATE_KILLED = 3;

/** `worker_state`: loading the guest image. */
export const WORKER_STARTING = 0;
/** `worker_state`: ready to run guest code. */
export const WORKER_READY = 1;
/** `worker_state`: the worker stopped (killed, or the image failed to load). */
export const WORKER_DEAD = 2;
/**
 * `worker_state`: the worker left this VMCS on the host's release request
 * (`VMCS_KILL_RELEASE`) and went back to the host's pool, alive.
 */
export const WORKER_RELEASED = 3;

/** A guest image's verdict word (`vcpu_thread.ts`): no module of it keeps state of its own. */
export const IMAGE_STATELESS = 1;
/** A guest image's verdict word: some module of it keeps state of its own. */
export const IMAGE_STATEFUL = 2;
