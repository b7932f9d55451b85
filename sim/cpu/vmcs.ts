// SPDX-License-Identifier: GPL-2.0-only
/**
 * The per-vCPU shared block, the simulator's "VMCS": one `SharedArrayBuffer`
 * laid out with the SDK's layout engine, shared by the host thread (the
 * simulated kernel, through {@linkcode vcpu_thread}) and the vCPU worker.
 *
 * It has four areas, as the VMCS of SDM Vol. 3 chapter 24 does:
 *
 * - **control words** (`s32`, used with `Atomics`): the VM-entry/VM-exit
 *   handoff (`run_state`), the worker's state, the kill request and the
 *   memory-map generation and its acknowledgement;
 * - **guest-state area**: the 16 GPRs in KVM's `VCPU_REGS_*` order
 *   (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15), RIP, RFLAGS, the
 *   segment registers as `struct kvm_segment` (so `KVM_GET_SREGS` is a byte
 *   copy), GDTR/IDTR as `struct kvm_dtable`, CR0/2/3/4/8, EFER, XCR0, the
 *   MSRs the CPU itself uses, activity and interruptibility state;
 * - **exit-information area**: the VMX basic exit reason, exit
 *   qualification, instruction length, guest linear/physical address,
 *   interruption information, plus simulator extensions that stand for what
 *   KVM's instruction emulator would decode (MMIO length/direction/data, the
 *   string-I/O data page, the guest-crash text);
 * - **entry-control area**: event injection (the VMX VM-entry
 *   interruption-information format), the exception bitmap, and VM-wide
 *   values the CPU needs (MAXPHYADDR, TSC frequency, TD mode).
 *
 * ## The exit protocol, as the kernel sees it
 *
 * While the vCPU runs (`run_state == VCPU_STATE_RUN`) only the worker touches
 * the block; after `enter()` returns, only the host does. At an exit the CPU
 * has stored everything an instruction's exit handler needs in the guest
 * state, as VMX does: RDMSR/WRMSR take the index from ECX and the value from
 * EDX:EAX, CPUID the leaf from EAX/ECX, VMCALL the hypercall from
 * RAX/RBX/RCX/RDX/RSI, OUT its data from RAX. The kernel answers the same
 * way: IN data into RAX, CPUID results into RAX..RDX, RDMSR into EDX:EAX,
 * a hypercall's result into RAX.
 *
 * What happens to the exiting instruction on the next entry is decided by
 * RIP, as on hardware:
 *
 * - **RIP advanced by `exit_instruction_len`** (`kvm_skip_emulated_instruction`):
 *   the instruction completed; the guest continues after it. For an EPT
 *   violation this means the kernel emulated the access (MMIO): a read takes
 *   its value from `mmio_data`.
 * - **RIP unchanged**: the instruction is executed again (an EPT violation
 *   the kernel fixed by mapping memory; an injected fault).
 * - **any other RIP** (`KVM_SET_REGS`): the guest's interrupted code is
 *   abandoned (its JavaScript frames unwind) and the CPU fetches at RIP.
 *
 * A valid `entry_intr_info` is delivered on entry: a hardware exception
 * (`INTR_TYPE_HARD_EXCEPTION`) is raised by the exiting instruction (leave RIP
 * unchanged, as KVM does when it injects #GP for a bad MSR); other event types
 * are delivered at the instruction boundary that RIP selects.
 *
 * While a guest function runs, RIP holds the guest-virtual address of its
 * code record (see `include/guest_code.ts`).
 *
 * @module
 */

import {
  array,
  type ArrayType,
  f64,
  offsetof,
  type RecordType,
  s32,
  sizeof,
  struct,
  u32,
  u64,
  u8,
  type View,
} from "../../include/c/layout.ts";
import { kvm_dtable, kvm_segment } from "../../include/asm/kvm.ts";
import { APIC_DEFAULT_PHYS_BASE } from "../../include/asm/apicdef.ts";
import {
  MSR_IA32_APICBASE_BSP,
  MSR_IA32_APICBASE_ENABLE,
  MSR_IA32_CR_PAT_DEFAULT,
} from "../../include/asm/msr-index.ts";
import {
  GUEST_ACTIVITY_ACTIVE,
  NR_VCPU_REGS,
  X86_CR0_CD,
  X86_CR0_ET,
  X86_CR0_NW,
  X86_EFLAGS_FIXED,
} from "./vmx.ts";

/** Bytes of the string-I/O data page (`io_data`), as KVM's PIO data page. */
export const VMCS_IO_DATA_SIZE = 4096;
/** Bytes of the guest-crash text area (`crash_text`); longer texts are truncated. */
export const VMCS_CRASH_TEXT_SIZE = 16384;

/** `struct sim_vmcs_ve_info`: the #VE information a TD reads with TDG.VP.VEINFO.GET. */
export type sim_vmcs_ve_info_fields = {
  valid: u32;
  exit_reason: u32;
  exit_qualification: u64;
  guest_linear_address: u64;
  guest_physical_address: u64;
  instruction_length: u32;
  instruction_info: u32;
};

/**
 * The #VE information area (SDM 25.5.7.2; TDX module VE_INFO): written by the
 * CPU when it raises #VE in a TD, consumed by TDG.VP.VEINFO.GET.
 */
export const sim_vmcs_ve_info: RecordType<sim_vmcs_ve_info_fields> = struct("sim_vmcs_ve_info", {
  valid: u32,
  exit_reason: u32,
  exit_qualification: u64,
  guest_linear_address: u64,
  guest_physical_address: u64,
  instruction_length: u32,
  instruction_info: u32,
});

/** The members of {@linkcode sim_vmcs}, in layout order. */
export type sim_vmcs_fields = {
  // control words
  run_state: s32;
  worker_state: s32;
  kill: s32;
  memmap_generation: s32;
  vcpu_id: s32;
  memmap_ack: s32;
  kick: s32;
  irq_window: s32;
  ctl_reserved: ArrayType<s32>;
  // guest-state area
  regs: ArrayType<u64>;
  rip: u64;
  rflags: u64;
  es: typeof kvm_segment;
  cs: typeof kvm_segment;
  ss: typeof kvm_segment;
  ds: typeof kvm_segment;
  fs: typeof kvm_segment;
  gs: typeof kvm_segment;
  tr: typeof kvm_segment;
  ldtr: typeof kvm_segment;
  gdtr: typeof kvm_dtable;
  idtr: typeof kvm_dtable;
  cr0: u64;
  cr2: u64;
  cr3: u64;
  cr4: u64;
  cr8: u64;
  efer: u64;
  xcr0: u64;
  apic_base: u64;
  dr6: u64;
  dr7: u64;
  kernel_gs_base: u64;
  star: u64;
  lstar: u64;
  cstar: u64;
  fmask: u64;
  sysenter_cs: u64;
  sysenter_esp: u64;
  sysenter_eip: u64;
  pat: u64;
  tsc_offset: u64;
  tsc_aux: u64;
  misc_enable: u64;
  activity_state: u32;
  interruptibility_info: u32;
  // exit-information area
  exit_reason: u32;
  exit_instruction_len: u32;
  exit_qualification: u64;
  guest_linear_address: u64;
  guest_physical_address: u64;
  exit_intr_info: u32;
  exit_intr_error_code: u32;
  io_count: u32;
  mmio_len: u32;
  mmio_is_write: u32;
  crash_len: u32;
  mmio_data: ArrayType<u8>;
  // entry-control area
  entry_intr_info: u32;
  entry_exception_error_code: u32;
  exception_bitmap: u32;
  maxphyaddr: u32;
  tsc_khz: u32;
  td_guest: u32;
  force_emulation_prefix: u32;
  fix_hypercall_insn: u32;
  apic_sync: u32;
  apic_sync_dest: u32;
  apic_sync_ms: f64;
  apic_tmcct_target_ms: f64;
  apic_tmcct_period_ms: f64;
  apic_tmcct_tick_ms: f64;
  shared_gpa_mask: u64;
  ve_info: typeof sim_vmcs_ve_info;
  io_data: ArrayType<u8>;
  crash_text: ArrayType<u8>;
};

/**
 * `struct sim_vmcs`: the whole shared block. Member notes:
 *
 * - `run_state`: `VCPU_STATE_HOST` / `VCPU_STATE_RUN` / `VCPU_STATE_EXIT` /
 *   `VCPU_STATE_KILLED`;
 *   `worker_state`: `WORKER_STARTING` / `WORKER_READY` / `WORKER_DEAD` /
 *   `WORKER_RELEASED`; `kill`: non-zero asks the worker to stop, and
 *   {@linkcode VMCS_KILL_RELEASE} to leave this VMCS and stay alive for
 *   another (VMCLEAR: the host pools workers); `memmap_generation`: bumped by
 *   {@linkcode vcpu_thread.set_memory_map} after it posted a new map;
 *   `memmap_ack`: the generation the CPU has applied (its TLB flushed), which
 *   the host waits for to invalidate a running vCPU's mappings synchronously.
 * - `kick`: non-zero makes a vCPU in guest mode exit with
 *   `EXIT_REASON_EXTERNAL_INTERRUPT` at its next periodic check (the host's
 *   IPI to a physical CPU running the guest, as `kvm_vcpu_kick()` sends it);
 *   the CPU clears it. `irq_window`: interrupt-window exiting (the VMX
 *   primary control): as soon as the guest could accept a maskable
 *   interrupt (interrupts enabled, no STI or MOV SS shadow), the next
 *   instruction boundary exits with `EXIT_REASON_INTERRUPT_WINDOW`.
 * - `regs[VCPU_REGS_*]`: the GPRs; `rip`, `rflags`.
 * - segments: `struct kvm_segment` each (selector, base, limit, type,
 *   present, dpl, db, s, l, g, avl, unusable); `gdtr`, `idtr`: `struct kvm_dtable`.
 * - `tsc_offset`: guest TSC = host TSC (at `tsc_khz`) + offset.
 * - `activity_state`: `GUEST_ACTIVITY_*`, owned by the kernel (KVM's mp_state);
 *   the CPU writes `GUEST_ACTIVITY_SHUTDOWN` at a triple fault.
 * - `exit_reason`: a VMX basic exit reason or a `SIM_EXIT_REASON_*`;
 *   `exit_qualification` as the SDM defines it per reason (I/O: size, IN,
 *   string, REP, port; EPT violation: access bits and GVA validity);
 *   `exit_qualification` bits 63:32 carry simulator flags
 *   (`EPT_VIOLATION_SIM_PRIVATE_HI`).
 * - `exit_intr_info`/`exit_intr_error_code`: the event of an
 *   `EXIT_REASON_EXCEPTION_NMI` exit (exception bitmap).
 * - `io_count`: element count of a string I/O exit; its data is in `io_data`
 *   (OUTS: the bytes to write; INS: the kernel stores the bytes read).
 * - `mmio_len`, `mmio_is_write`, `mmio_data`: for an EPT violation on a
 *   translated access, what the instruction emulator would decode: width,
 *   direction and (writes) the data, little-endian. The kernel stores read
 *   data there before completing the instruction.
 * - `crash_len`, `crash_text`: the UTF-8 error text of a
 *   `SIM_EXIT_REASON_GUEST_CRASH` exit.
 * - `entry_intr_info`, `entry_exception_error_code`: event injection
 *   (`INTR_INFO_*`, `INTR_TYPE_*`); the CPU clears `entry_intr_info` when it
 *   takes the event.
 * - `exception_bitmap`: bit n set → exception n exits with
 *   `EXIT_REASON_EXCEPTION_NMI` instead of being delivered.
 * - `maxphyaddr`: CPUID.80000008H:EAX[7:0] of the vCPU (reserved bits of
 *   paging entries); 0 means 52.
 * - `tsc_khz`: the guest TSC frequency; 0 means 1 GHz.
 * - `td_guest`: non-zero for a TD vCPU: I/O, HLT, VMCALL and shared MMIO
 *   raise #VE (with `ve_info`) instead of exiting; `shared_gpa_mask` is the
 *   TD's shared bit.
 * - `force_emulation_prefix`: kvm's module parameter of that name: bit 0
 *   set → `ud2; .ascii "kvm"` is a prefix that makes the next instruction
 *   emulated, which on this CPU means executed by the interpreter.
 * - `fix_hypercall_insn`: `KVM_X86_QUIRK_FIX_HYPERCALL_INSN` is in effect:
 *   VMMCALL (AMD's hypercall) is rewritten to VMCALL in guest memory and
 *   re-executed; without it VMMCALL is #UD.
 * - `apic_sync` ({@linkcode VMCS_APIC_SYNC_TIMER_START},
 *   {@linkcode VMCS_APIC_SYNC_TMCCT}, {@linkcode VMCS_APIC_SYNC_STAMPED}):
 *   the exiting instruction was an APIC timer access the kernel emulated
 *   (a TMICT write, a TMCCT read), and the CPU finishes it when the guest
 *   resumes, the instant the instruction retires: it stamps that time
 *   (epoch milliseconds, the clock every thread shares) into `apic_sync_ms`
 *   for a timer the kernel started, and computes a TMCCT count from
 *   `apic_tmcct_target_ms`, `apic_tmcct_period_ms` and
 *   `apic_tmcct_tick_ms`, stored where `apic_sync_dest` says
 *   ({@linkcode VMCS_APIC_SYNC_DEST_MMIO}: `mmio_data`;
 *   {@linkcode VMCS_APIC_SYNC_DEST_EDX_EAX}: RDMSR's registers). On
 *   hardware the exit takes microseconds; here the host's garbage collector
 *   or scheduler may stretch it to milliseconds, which a guest timing the
 *   APIC timer against the TSC would see (`docs/fidelity.md`).
 */
export const sim_vmcs: RecordType<sim_vmcs_fields> = struct("sim_vmcs", {
  run_state: s32,
  worker_state: s32,
  kill: s32,
  memmap_generation: s32,
  vcpu_id: s32,
  memmap_ack: s32,
  kick: s32,
  irq_window: s32,
  ctl_reserved: array(s32, 8),
  regs: array(u64, NR_VCPU_REGS),
  rip: u64,
  rflags: u64,
  es: kvm_segment,
  cs: kvm_segment,
  ss: kvm_segment,
  ds: kvm_segment,
  fs: kvm_segment,
  gs: kvm_segment,
  tr: kvm_segment,
  ldtr: kvm_segment,
  gdtr: kvm_dtable,
  idtr: kvm_dtable,
  cr0: u64,
  cr2: u64,
  cr3: u64,
  cr4: u64,
  cr8: u64,
  efer: u64,
  xcr0: u64,
  apic_base: u64,
  dr6: u64,
  dr7: u64,
  kernel_gs_base: u64,
  star: u64,
  lstar: u64,
  cstar: u64,
  fmask: u64,
  sysenter_cs: u64,
  sysenter_esp: u64,
  sysenter_eip: u64,
  pat: u64,
  tsc_offset: u64,
  tsc_aux: u64,
  misc_enable: u64,
  activity_state: u32,
  interruptibility_info: u32,
  exit_reason: u32,
  exit_instruction_len: u32,
  exit_qualification: u64,
  guest_linear_address: u64,
  guest_physical_address: u64,
  exit_intr_info: u32,
  exit_intr_error_code: u32,
  io_count: u32,
  mmio_len: u32,
  mmio_is_write: u32,
  crash_len: u32,
  mmio_data: array(u8, 8),
  entry_intr_info: u32,
  entry_exception_error_code: u32,
  exception_bitmap: u32,
  maxphyaddr: u32,
  tsc_khz: u32,
  td_guest: u32,
  force_emulation_prefix: u32,
  fix_hypercall_insn: u32,
  apic_sync: u32,
  apic_sync_dest: u32,
  apic_sync_ms: f64,
  apic_tmcct_target_ms: f64,
  apic_tmcct_period_ms: f64,
  apic_tmcct_tick_ms: f64,
  shared_gpa_mask: u64,
  ve_info: sim_vmcs_ve_info,
  io_data: array(u8, VMCS_IO_DATA_SIZE),
  crash_text: array(u8, VMCS_CRASH_TEXT_SIZE),
}, { aligned: 64 });

/** A typed view of a VMCS. */
export type vmcs_view = View<sim_vmcs_fields>;

/** `sizeof(struct sim_vmcs)`. */
export const VMCS_SIZE: number = sizeof(sim_vmcs);

/** Index of `run_state` in the control words (`Int32Array` over the VMCS). */
export const VMCS_CTL_RUN_STATE: number = offsetof(sim_vmcs, "run_state") >> 2;
/** Index of `worker_state` in the control words. */
export const VMCS_CTL_WORKER_STATE: number = offsetof(sim_vmcs, "worker_state") >> 2;
/** Index of `kill` in the control words. */
export const VMCS_CTL_KILL: number = offsetof(sim_vmcs, "kill") >> 2;
/** `kill` value that stops the worker's JavaScript (it ends). */
export const VMCS_KILL_STOP = 1;
/** `kill` value that detaches the worker from this VMCS and keeps it for another vCPU. */
export const VMCS_KILL_RELEASE = 2;
/** Index of `memmap_generation` in the control words. */
export const VMCS_CTL_MEMMAP_GENERATION: number = offsetof(sim_vmcs, "memmap_generation") >> 2;
/** Index of `memmap_ack` in the control words. */
export const VMCS_CTL_MEMMAP_ACK: number = offsetof(sim_vmcs, "memmap_ack") >> 2;
/** Index of `kick` in the control words. */
export const VMCS_CTL_KICK: number = offsetof(sim_vmcs, "kick") >> 2;
/** Index of `irq_window` in the control words. */
export const VMCS_CTL_IRQ_WINDOW: number = offsetof(sim_vmcs, "irq_window") >> 2;
/** `irq_window` bit: interrupt-window exiting (the VMX primary control). */
export const VMCS_IRQ_WINDOW_INTR = 1;
/**
 * `irq_window` bit: NMI-window exiting (the VMX primary control): once
 * nothing holds an NMI back (no NMI blocking, no STI or MOV SS shadow), the
 * next instruction boundary exits with `EXIT_REASON_NMI_WINDOW`.
 */
export const VMCS_IRQ_WINDOW_NMI = 2;

/** `apic_sync` bit: the kernel started the APIC timer at `apic_sync_ms`; the CPU stamps the resume time there. */
export const VMCS_APIC_SYNC_TIMER_START = 1;
/** `apic_sync` bit: the instruction read TMCCT; the CPU computes the count at resume. */
export const VMCS_APIC_SYNC_TMCCT = 2;
/** `apic_sync` bit: the CPU stamped `apic_sync_ms` with the resume time. */
export const VMCS_APIC_SYNC_STAMPED = 4;
/**
 * `apic_sync` bit, with {@linkcode VMCS_APIC_SYNC_TMCCT}: the timer is
 * periodic, so a target already passed at resume counts on in the next
 * period (as KVM's hrtimer re-arms it), instead of reading 0.
 */
export const VMCS_APIC_SYNC_TMCCT_PERIODIC = 8;
/** `apic_sync_dest`: the TMCCT count completes an MMIO read (`mmio_data`, 4 bytes). */
export const VMCS_APIC_SYNC_DEST_MMIO = 0;
/** `apic_sync_dest`: the TMCCT count completes an RDMSR (EAX; EDX is 0). */
export const VMCS_APIC_SYNC_DEST_EDX_EAX = 1;

/** A new zeroed VMCS in a `SharedArrayBuffer`, in the state {@linkcode vmcs_reset} gives. */
export function vmcs_alloc(vcpu_id = 0): vmcs_view {
  const v = sim_vmcs.view(new SharedArrayBuffer(VMCS_SIZE));
  v.vcpu_id = vcpu_id;
  vmcs_reset(v);
  return v;
}

/** The control words of a VMCS, for `Atomics`. */
export function vmcs_ctl(v: vmcs_view): Int32Array {
  return new Int32Array(v.$buffer, v.$offset, 16);
}

/** Options of {@linkcode vmcs_reset}. */
export interface vmcs_reset_options {
  /** EDX after RESET: the processor signature, CPUID.01H:EAX (default 0x000806f8). */
  edx?: bigint;
  /** Whether this is the bootstrap processor (IA32_APIC_BASE.BSP). Default: vCPU 0. */
  bsp?: boolean;
}

function set_segment(
  s: vmcs_view["cs"],
  selector: number,
  base: bigint,
  limit: number,
  type: number,
  sys: number,
): void {
  s.selector = selector;
  s.base = base;
  s.limit = limit;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = 0;
  s.s = sys;
  s.l = 0;
  s.g = 0;
  s.avl = 0;
  s.unusable = 0;
  s.padding = 0;
}

/**
 * Puts the guest state in the processor's power-up (RESET) state, SDM Vol. 3
 * Table 10-1, as KVM's `kvm_vcpu_reset()` + `vmx_vcpu_reset()` leave it:
 * real mode, CS.selector 0xF000 with base 0xFFFF0000 and RIP 0xFFF0 (so the
 * first fetch is at the reset vector 0xFFFFFFF0), CR0 = CD|NW|ET, RFLAGS = 2,
 * flat 64 KiB data segments, DR6/DR7 and PAT at their reset values, XCR0 = 1.
 * Control words, exit information and VM-wide values are left alone. The one
 * definition of the RESET state: KVM's `kvm_vcpu_reset()` (`sim/kernel/arch/x86/kvm/x86.ts`)
 * starts from it.
 */
export function vmcs_reset(v: vmcs_view, options: vmcs_reset_options = {}): void {
  for (let i = 0; i < NR_VCPU_REGS; i++) v.regs.set(i, 0n);
  v.regs.set(2, options.edx ?? 0x000806f8n);
  v.rip = 0xfff0n;
  v.rflags = BigInt(X86_EFLAGS_FIXED);
  set_segment(v.cs, 0xf000, 0xffff0000n, 0xffff, 0xb, 1);
  for (const s of [v.ds, v.es, v.fs, v.gs, v.ss]) set_segment(s, 0, 0n, 0xffff, 0x3, 1);
  set_segment(v.ldtr, 0, 0n, 0xffff, 0x2, 0);
  set_segment(v.tr, 0, 0n, 0xffff, 0xb, 0);
  v.gdtr.base = 0n;
  v.gdtr.limit = 0xffff;
  v.idtr.base = 0n;
  v.idtr.limit = 0xffff;
  v.cr0 = BigInt(X86_CR0_CD | X86_CR0_NW | X86_CR0_ET);
  v.cr2 = 0n;
  v.cr3 = 0n;
  v.cr4 = 0n;
  v.cr8 = 0n;
  v.efer = 0n;
  v.xcr0 = 1n;
  const bsp = options.bsp ?? v.vcpu_id === 0;
  v.apic_base = BigInt(APIC_DEFAULT_PHYS_BASE) | MSR_IA32_APICBASE_ENABLE |
    (bsp ? MSR_IA32_APICBASE_BSP : 0n);
  v.dr6 = 0xffff0ff0n;
  v.dr7 = 0x400n;
  v.pat = MSR_IA32_CR_PAT_DEFAULT;
  v.activity_state = GUEST_ACTIVITY_ACTIVE;
  v.interruptibility_info = 0;
}
