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

/** NMI (not in the uAPI's vector list: KVM's own `NMI_VECTOR`). */
export const NMI_VECTOR = 2;
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

/** CR0.PE: protected mode. */
export const X86_CR0_PE = 1 << 0;
/** CR0.MP. */
export const X86_CR0_MP = 1 << 1;
/** CR0.EM. */
export const X86_CR0_EM = 1 << 2;
/** CR0.TS. */
export const X86_CR0_TS = 1 << 3;
/** CR0.ET. */
export const X86_CR0_ET = 1 << 4;
/** CR0.NE. */
export const X86_CR0_NE = 1 << 5;
/** CR0.WP: supervisor writes honour read-only pages. */
export const X86_CR0_WP = 1 << 16;
/** CR0.AM. */
export const X86_CR0_AM = 1 << 18;
/** CR0.NW. */
export const X86_CR0_NW = 1 << 29;
/** CR0.CD. */
export const X86_CR0_CD = 1 << 30;
/** CR0.PG: paging (bit 31; as an unsigned number). */
export const X86_CR0_PG = 0x80000000;

/** CR4.VME. */
export const X86_CR4_VME = 1 << 0;
/** CR4.PVI. */
export const X86_CR4_PVI = 1 << 1;
/** CR4.TSD. */
export const X86_CR4_TSD = 1 << 2;
/** CR4.DE. */
export const X86_CR4_DE = 1 << 3;
/** CR4.PSE. */
export const X86_CR4_PSE = 1 << 4;
/** CR4.PAE. */
export const X86_CR4_PAE = 1 << 5;
/** CR4.MCE. */
export const X86_CR4_MCE = 1 << 6;
/** CR4.PGE: global pages survive CR3 loads. */
export const X86_CR4_PGE = 1 << 7;
/** CR4.PCE. */
export const X86_CR4_PCE = 1 << 8;
/** CR4.OSFXSR. */
export const X86_CR4_OSFXSR = 1 << 9;
/** CR4.OSXMMEXCPT. */
export const X86_CR4_OSXMMEXCPT = 1 << 10;
/** CR4.UMIP. */
export const X86_CR4_UMIP = 1 << 11;
/** CR4.LA57: 5-level paging. */
export const X86_CR4_LA57 = 1 << 12;
/** CR4.VMXE. */
export const X86_CR4_VMXE = 1 << 13;
/** CR4.SMXE. */
export const X86_CR4_SMXE = 1 << 14;
/** CR4.FSGSBASE. */
export const X86_CR4_FSGSBASE = 1 << 16;
/** CR4.PCIDE. */
export const X86_CR4_PCIDE = 1 << 17;
/** CR4.OSXSAVE. */
export const X86_CR4_OSXSAVE = 1 << 18;
/** CR4.SMEP: supervisor fetches from user pages fault. */
export const X86_CR4_SMEP = 1 << 20;
/** CR4.SMAP: supervisor data accesses to user pages fault unless RFLAGS.AC. */
export const X86_CR4_SMAP = 1 << 21;
/** CR4.PKE. */
export const X86_CR4_PKE = 1 << 22;

/** RFLAGS.CF. */
export const X86_EFLAGS_CF = 1 << 0;
/** RFLAGS bit 1, always set. */
export const X86_EFLAGS_FIXED = 1 << 1;
/** RFLAGS.ZF. */
export const X86_EFLAGS_ZF = 1 << 6;
/** RFLAGS.TF. */
export const X86_EFLAGS_TF = 1 << 8;
/** RFLAGS.IF: maskable interrupts enabled. */
export const X86_EFLAGS_IF = 1 << 9;
/** RFLAGS.IOPL (bits 13:12). */
export const X86_EFLAGS_IOPL = 3 << 12;
/** RFLAGS.NT. */
export const X86_EFLAGS_NT = 1 << 14;
/** RFLAGS.RF. */
export const X86_EFLAGS_RF = 1 << 16;
/** RFLAGS.VM. */
export const X86_EFLAGS_VM = 1 << 17;
/** RFLAGS.AC. */
export const X86_EFLAGS_AC = 1 << 18;

/** EFER.SCE. */
export const EFER_SCE = 1 << 0;
/** EFER.LME: long mode enable. */
export const EFER_LME = 1 << 8;
/** EFER.LMA: long mode active (set by the CPU when CR0.PG is set with LME). */
export const EFER_LMA = 1 << 10;
/** EFER.NXE: the XD bit of paging entries is honoured. */
export const EFER_NX = 1 << 11;

/** `MSR_EFER`. */
export const MSR_EFER = 0xc0000080;
/** `MSR_STAR`. */
export const MSR_STAR = 0xc0000081;
/** `MSR_LSTAR`. */
export const MSR_LSTAR = 0xc0000082;
/** `MSR_CSTAR`. */
export const MSR_CSTAR = 0xc0000083;
/** `MSR_SYSCALL_MASK`. */
export const MSR_SYSCALL_MASK = 0xc0000084;
/** `MSR_FS_BASE`. */
export const MSR_FS_BASE = 0xc0000100;
/** `MSR_GS_BASE`. */
export const MSR_GS_BASE = 0xc0000101;
/** `MSR_KERNEL_GS_BASE`. */
export const MSR_KERNEL_GS_BASE = 0xc0000102;
/** `MSR_TSC_AUX`. */
export const MSR_TSC_AUX = 0xc0000103;
/** `MSR_IA32_TSC`. */
export const MSR_IA32_TSC = 0x10;
/** `MSR_IA32_APICBASE`. */
export const MSR_IA32_APICBASE = 0x1b;
/** `MSR_IA32_SYSENTER_CS`. */
export const MSR_IA32_SYSENTER_CS = 0x174;
/** `MSR_IA32_SYSENTER_ESP`. */
export const MSR_IA32_SYSENTER_ESP = 0x175;
/** `MSR_IA32_SYSENTER_EIP`. */
export const MSR_IA32_SYSENTER_EIP = 0x176;
/** `MSR_IA32_MISC_ENABLE`. */
export const MSR_IA32_MISC_ENABLE = 0x1a0;
/** `MSR_IA32_CR_PAT`. */
export const MSR_IA32_CR_PAT = 0x277;

// ---------------------------------------------------------------------------
// KVM's register numbering (`enum kvm_reg`, arch/x86/include/asm/kvm_host.h),
// which is also the hardware encoding and TDX's GPR bitmap order.

/** RAX. */
export const VCPU_REGS_RAX = 0;
/** RCX. */
export const VCPU_REGS_RCX = 1;
/** RDX. */
export const VCPU_REGS_RDX = 2;
/** RBX. */
export const VCPU_REGS_RBX = 3;
/** RSP. */
export const VCPU_REGS_RSP = 4;
/** RBP. */
export const VCPU_REGS_RBP = 5;
/** RSI. */
export const VCPU_REGS_RSI = 6;
/** RDI. */
export const VCPU_REGS_RDI = 7;
/** R8. */
export const VCPU_REGS_R8 = 8;
/** R9. */
export const VCPU_REGS_R9 = 9;
/** R10. */
export const VCPU_REGS_R10 = 10;
/** R11. */
export const VCPU_REGS_R11 = 11;
/** R12. */
export const VCPU_REGS_R12 = 12;
/** R13. */
export const VCPU_REGS_R13 = 13;
/** R14. */
export const VCPU_REGS_R14 = 14;
/** R15. */
export const VCPU_REGS_R15 = 15;
/** Number of general-purpose registers. */
export const NR_VCPU_REGS = 16;

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

/** `worker_state`: loading the guest image. */
export const WORKER_STARTING = 0;
/** `worker_state`: ready to run guest code. */
export const WORKER_READY = 1;
/** `worker_state`: the worker stopped (killed, or the image failed to load). */
export const WORKER_DEAD = 2;
