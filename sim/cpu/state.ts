// SPDX-License-Identifier: GPL-2.0-only
/**
 * The state of the one vCPU a worker runs: the {@linkcode vcpu} object and
 * the accessors of the register file.
 *
 * The architectural state lives in the VMCS (`vmcs.ts`), a
 * `SharedArrayBuffer` the kernel reads and writes while the vCPU is out of
 * guest mode; `vcpu.u32`, `vcpu.u8` and `vcpu.dv` are views of it, and the
 * accessors here (`reg_get`, `rip_*`, `cr_get`, `seg_*`, `dtable_*`, ...) are
 * the only code that knows its offsets. What the CPU keeps besides (the mode
 * decoded from CR0/EFER/CS, the tick counter, the code record running, a
 * `kvm_asm_safe()` in progress, the event being delivered) is a field of
 * {@linkcode vcpu}, so that one object is the whole vCPU.
 *
 * ## Control flow
 *
 * An instruction that has to leave the JavaScript frames of the guest code
 * running it throws one of four signals (guest code that catches exceptions
 * must rethrow them, see {@linkcode is_cpu_signal}):
 *
 * | signal           | thrown by                                                        | caught by                                                              |
 * | ---------------- | ---------------------------------------------------------------- | ---------------------------------------------------------------------- |
 * | `TRANSFER`       | a resume whose RIP is elsewhere (`exits.ts` `classify`, `jump_to`), a triple fault | `runner.ts` `cpu_run` (fetches at RIP again); the interpreter, through {@linkcode take_transfer} |
 * | `KILL`           | `exits.ts` when the host set the kill word                        | `runner.ts` `cpu_run`, which returns                                   |
 * | `SAFE_FAULT`     | `events.ts` `raise()` inside `kvm_asm_safe()`                    | `kvm_asm_safe()`, which returns the vector                              |
 * | `DELIVERY_FAULT` | implicit accesses (`access.ts`) and segment checks (`segments.ts`) | `events.ts` `deliver` (#DF, triple fault); `load_segment` and `runner.ts`'s `ret`/`call`, which raise it |
 *
 * Everything else returns: an instruction that exits or faults gets
 * {@linkcode RESUME_RETRY} or {@linkcode RESUME_COMPLETE} back and acts on it.
 *
 * @module
 */

import {
  EFER_LMA,
  EFER_LME,
  EFER_NX,
  GUEST_INTR_STATE_NMI,
  X86_CR0_PE,
  X86_CR0_PG,
  X86_CR0_WP,
  X86_CR4_LA57,
  X86_CR4_PAE,
  X86_CR4_PGE,
  X86_CR4_PSE,
  X86_CR4_SMAP,
  X86_CR4_SMEP,
  X86_EFLAGS_AC,
} from "./vmx.ts";
import { sim_vmcs, VMCS_SIZE } from "./vmcs.ts";
import { mmu_configure, mmu_set_ac, tlb_flush } from "./mmu.ts";
import { offsetof } from "../../include/c/layout.ts";
import { host_tsc, host_tsc_read } from "./tsc.ts";

/** Instructions between two checks of the kill word, the memory map and pending transfers. */
export const TICK_INTERVAL = 1024;

/** What one vCPU worker's CPU holds: views of its VMCS and the state kept outside it. */
export interface sim_vcpu_state {
  /** The VMCS as 32-bit words (a private buffer until `cpu_init` attaches the shared one). */
  u32: Uint32Array;
  /** The VMCS as bytes. */
  u8: Uint8Array;
  /** The VMCS as a `DataView` (64-bit fields). */
  dv: DataView;
  /** The control words at the start of the VMCS (run state, kill, kick, ...), for `Atomics`. */
  ctl: Int32Array;
  /** The port the host posts memory-map updates on. */
  port: MessagePort | undefined;
  /** The guest image modules code records resolve their functions in. */
  images: Record<string, unknown>[];
  /** Whether `cpu_init` ran: intrinsics outside a vCPU worker are refused. */
  in_worker: boolean;

  /** The current privilege level (SS.DPL in protected mode). */
  cpl: number;
  /** IA-32e 64-bit mode (EFER.LMA and CS.L). */
  long64: boolean;
  /** EFER.LMA. */
  lma: boolean;
  /** CR0.PE. */
  protected_mode: boolean;
  /** The default operand size of CS is 16 bits (outside 64-bit mode). */
  code16: boolean;
  /** The vCPU belongs to a TD. */
  td: boolean;
  /** The guest state `sync_mode` last configured the MMU from (-1: never). */
  snap: Float64Array;

  /** Instructions left until the next slow tick (0: check at the next boundary). */
  ticks: number;
  /** A `TRANSFER` was thrown and must reach the run loop even if guest code swallowed it. */
  transfer_pending: boolean;
  /** The memory-map generation this worker maps. */
  memmap_generation: number;
  /** Interrupt-window exiting is requested (`irq_window` bit 0, read at each entry). */
  irq_window: boolean;
  /** NMI-window exiting is requested (`irq_window` bit 1, read at each entry). */
  nmi_window: boolean;
  /** Ticks left in the STI shadow of the `sti` intrinsic (the interpreter tracks its own). */
  sti_shadow_ticks: number;

  /** Address (low half) of the code record running, for the skip test of a resume. */
  fn_lo: number;
  /** Address (high half) of the code record running. */
  fn_hi: number;
  /** Length of the code record running (0: none; RIP inside it means "skipped"). */
  fn_len: number;
  /**
   * Length of the raw machine-code instruction being interpreted (0 while a
   * code record runs): an exit that left RIP `raw_len` bytes further completed
   * it, and MMIO exits report it as their instruction length.
   */
  raw_len: number;

  /** Nesting depth of `kvm_asm_safe()`: exceptions are returned, not delivered. */
  safe_depth: number;
  /** The vector the innermost `kvm_asm_safe()` caught. */
  safe_vector: number;
  /** The error code the innermost `kvm_asm_safe()` caught. */
  safe_ec: number;

  /** The fault an implicit access or a segment check raised (`DELIVERY_FAULT`): vector. */
  d_vector: number;
  /** ... its error code. */
  d_ec: number;
  /** ... and for #PF the linear address. */
  d_cr2: bigint;
  /** Linear address of the RIP slot of the frame the last delivery pushed. */
  frame_addr: bigint;
  /** Width of that frame's slots (8 in IA-32e mode, else 4). */
  frame_width: number;
  /** Linear base of the stack a frame is pushed on (SS.base outside IA-32e mode). */
  push_base: bigint;

  /** The last host TSC `read_tsc` returned, before the guest's TSC offset: high word (not wrapped). */
  last_tsc_hi: number;
  /** ... and low word. */
  last_tsc_lo: number;
}

/**
 * The state of a vCPU no worker has run yet; the register file is a private
 * VMCS until `cpu_init`, so that a stray access cannot crash.
 */
function initial_vcpu_state(): sim_vcpu_state {
  const unattached = new Uint32Array(VMCS_SIZE >> 2);
  return {
    u32: unattached,
    u8: new Uint8Array(VMCS_SIZE),
    dv: new DataView(unattached.buffer),
    ctl: new Int32Array(16),
    port: undefined,
    images: [],
    in_worker: false,
    cpl: 0,
    long64: false,
    lma: false,
    protected_mode: false,
    code16: false,
    td: false,
    snap: new Float64Array(12).fill(-1),
    ticks: TICK_INTERVAL,
    transfer_pending: false,
    memmap_generation: 0,
    irq_window: false,
    nmi_window: false,
    sti_shadow_ticks: 0,
    fn_lo: 0,
    fn_hi: 0,
    fn_len: 0,
    raw_len: 0,
    safe_depth: 0,
    safe_vector: 0,
    safe_ec: 0,
    d_vector: 0,
    d_ec: 0,
    d_cr2: 0n,
    frame_addr: 0n,
    frame_width: 8,
    push_base: 0n,
    last_tsc_hi: 0,
    last_tsc_lo: 0,
  };
}

/** The vCPU of this worker. */
export const vcpu: sim_vcpu_state = initial_vcpu_state();

/**
 * Puts {@linkcode vcpu} back in its initial state (the worker's last vCPU
 * was freed and the worker may serve another): nothing the CPU kept between
 * instructions survives, and the views of the last VMCS are dropped.
 */
export function vcpu_state_reset(): void {
  Object.assign(vcpu, initial_vcpu_state());
}

// ---------------------------------------------------------------------------
// Resume results and control-flow signals (see the module doc).

/** 2^32: joins the 32-bit halves the hot paths keep addresses in. */
export const TWO32 = 4294967296;

/** Resume result of an exit or exception: the instruction completed (or was skipped). */
export const RESUME_COMPLETE: number = -1;
/** Resume result: execute the instruction again. */
export const RESUME_RETRY: number = -2;

/** Thrown to unwind guest frames when RIP moved elsewhere (jump, KVM_SET_REGS, handler). */
export const TRANSFER = { sim: "control transfer" };
/** Thrown to unwind everything when the host stops the vCPU. */
export const KILL = { sim: "vCPU stopped" };
/** Thrown by `raise()` inside `kvm_asm_safe()`. */
export const SAFE_FAULT = { sim: "safe fault" };
/** Thrown by implicit accesses during event delivery. */
export const DELIVERY_FAULT = { sim: "delivery fault" };

/** Whether `e` is one of the CPU's own control-flow signals (guest code must rethrow them). */
export function is_cpu_signal(e: unknown): boolean {
  return e === TRANSFER || e === KILL || e === SAFE_FAULT || e === DELIVERY_FAULT;
}

// ---------------------------------------------------------------------------
// The register file: views of the VMCS, the one layout of `vmcs.ts`.

const o = (d: string): number => offsetof(sim_vmcs, d);
const O_REGS = o("regs");
const O_RIP = o("rip");
const O_RFLAGS = o("rflags");
const O_CR0 = o("cr0");
const O_CR2 = o("cr2");
const O_CR3 = o("cr3");
const O_CR4 = o("cr4");
const O_CR8 = o("cr8");
const O_EFER = o("efer");
const O_XCR0 = o("xcr0");
const O_TSC_OFFSET = o("tsc_offset");
/** Byte offset of GDTR (base, then the 16-bit limit at +8); `O_*` are VMCS byte offsets. */
export const O_GDTR = o("gdtr");
/** Byte offset of IDTR. */
export const O_IDTR = o("idtr");
const O_SEG: readonly number[] = ["es", "cs", "ss", "ds", "fs", "gs", "tr", "ldtr"].map(o);
/** Offsets inside one segment register of the VMCS (`struct kvm_segment`'s order). */
export const SEG_BASE = 0;
export const SEG_LIMIT = 8;
export const SEG_SELECTOR = 12;
export const SEG_TYPE = 14;
export const SEG_PRESENT = 15;
export const SEG_DPL = 16;
export const SEG_DB = 17;
export const SEG_S = 18;
export const SEG_L = 19;
export const SEG_G = 20;
export const SEG_AVL = 21;
export const SEG_UNUSABLE = 22;
/** The exit information the kernel reads after an exit (`exits.ts`, `events.ts`). */
export const O_EXIT_REASON = o("exit_reason");
export const O_EXIT_LEN = o("exit_instruction_len");
export const O_EXIT_QUAL = o("exit_qualification");
export const O_GLA = o("guest_linear_address");
export const O_GPA = o("guest_physical_address");
export const O_EXIT_INTR_INFO = o("exit_intr_info");
export const O_EXIT_INTR_EC = o("exit_intr_error_code");
const O_IO_COUNT = o("io_count");
export const O_MMIO_LEN = o("mmio_len");
export const O_MMIO_IS_WRITE = o("mmio_is_write");
export const O_MMIO_DATA = o("mmio_data");
/** A guest crash report: length and text (`runner.ts`). */
export const O_CRASH_LEN = o("crash_len");
export const O_CRASH_TEXT = o("crash_text");
/** The event the kernel injects at entry, delivered by `exits.ts`. */
export const O_ENTRY_INTR_INFO = o("entry_intr_info");
export const O_ENTRY_EC = o("entry_exception_error_code");
/** The VMX exception bitmap: vectors that exit instead of being delivered. */
export const O_EXC_BITMAP = o("exception_bitmap");
const O_MAXPHY = o("maxphyaddr");
const O_TSC_KHZ = o("tsc_khz");
const O_TD = o("td_guest");
const O_FEP = o("force_emulation_prefix");
const O_FIX_HC = o("fix_hypercall_insn");
/** The APIC timer access the CPU finishes at resume (`vmcs.ts`, `apic_sync`). */
export const O_APIC_SYNC = o("apic_sync");
export const O_APIC_SYNC_DEST = o("apic_sync_dest");
export const O_APIC_SYNC_MS = o("apic_sync_ms");
export const O_TMCCT_TARGET = o("apic_tmcct_target_ms");
export const O_TMCCT_PERIOD = o("apic_tmcct_period_ms");
export const O_TMCCT_TICK = o("apic_tmcct_tick_ms");
const O_SHARED_MASK = o("shared_gpa_mask");
/** The #VE information area of a TD vCPU (`raise_ve`). */
export const O_VE = o("ve_info");
const O_IO_DATA = o("io_data");
/** Activity state (shutdown after a triple fault). */
export const O_ACTIVITY = o("activity_state");
/** Interruptibility state (`GUEST_INTR_STATE_*`). */
export const O_INTERRUPTIBILITY = o("interruptibility_info");
/** Indices of the control words in `vcpu.ctl` (host handshake, `exits.ts`). */
export const C_RUN_STATE = o("run_state") >> 2;
export const C_WORKER_STATE = o("worker_state") >> 2;
export const C_KILL = o("kill") >> 2;
export const C_GEN = o("memmap_generation") >> 2;
export const C_ACK = o("memmap_ack") >> 2;
export const C_KICK = o("kick") >> 2;
export const C_IRQ_WINDOW = o("irq_window") >> 2;

/** GPR `r` as a `bigint`. */
export function reg_get(r: number): bigint {
  return vcpu.dv.getBigUint64(O_REGS + 8 * r, true);
}

/** Sets GPR `r`. */
export function reg_set(r: number, v: bigint): void {
  vcpu.dv.setBigUint64(O_REGS + 8 * r, BigInt.asUintN(64, v), true);
}

/** Bits 31:0 of GPR `r`. */
export function reg_lo(r: number): number {
  return vcpu.u32[(O_REGS >> 2) + 2 * r]!;
}

/** Bits 63:32 of GPR `r`. */
export function reg_hi(r: number): number {
  return vcpu.u32[(O_REGS >> 2) + 2 * r + 1]!;
}

/** Writes the low `size` bytes of GPR `r` (1, 2: the rest is kept; 4: zero-extended, as in 64-bit mode). */
export function reg_set_sized(r: number, size: number, v: number): void {
  const i = (O_REGS >> 2) + 2 * r;
  if (size === 4) {
    vcpu.u32[i] = v;
    vcpu.u32[i + 1] = 0;
  } else if (size === 2) vcpu.u32[i] = (vcpu.u32[i]! & 0xffff0000) | (v & 0xffff);
  else vcpu.u32[i] = (vcpu.u32[i]! & 0xffffff00) | (v & 0xff);
}

/** Sets GPR `r` from two 32-bit halves. */
export function reg_set_pair(r: number, hi: number, lo: number): void {
  const i = (O_REGS >> 2) + 2 * r;
  vcpu.u32[i] = lo;
  vcpu.u32[i + 1] = hi;
}

/** Low half of RIP. */
export function rip_lo(): number {
  return vcpu.u32[O_RIP >> 2]!;
}

/** High half of RIP. */
export function rip_hi(): number {
  return vcpu.u32[(O_RIP >> 2) + 1]!;
}

/** Sets RIP from two 32-bit halves. */
export function set_rip(hi: number, lo: number): void {
  vcpu.u32[O_RIP >> 2] = lo;
  vcpu.u32[(O_RIP >> 2) + 1] = hi;
}

/** RIP as a bigint. */
export function rip_get(): bigint {
  return vcpu.dv.getBigUint64(O_RIP, true);
}

/** Sets RIP. */
export function rip_set(v: bigint): void {
  vcpu.dv.setBigUint64(O_RIP, BigInt.asUintN(64, v), true);
}

/** RFLAGS (low 32 bits; the rest is reserved). */
export function rflags(): number {
  return vcpu.u32[O_RFLAGS >> 2]!;
}

/** Sets RFLAGS. */
export function set_rflags(v: number): void {
  vcpu.u32[O_RFLAGS >> 2] = (v | 2) >>> 0;
  vcpu.u32[(O_RFLAGS >> 2) + 1] = 0;
  mmu_set_ac((v & X86_EFLAGS_AC) !== 0);
}

/** The 64-bit VMCS field at byte offset `off`. */
export function u64_at(off: number): bigint {
  return vcpu.dv.getBigUint64(off, true);
}

/** Stores the 64-bit VMCS field at byte offset `off`. */
export function set_u64_at(off: number, v: bigint): void {
  vcpu.dv.setBigUint64(off, BigInt.asUintN(64, v), true);
}

/** A control register (0, 2, 3, 4, 8) as a bigint. */
export function cr_get(n: number): bigint {
  return u64_at(n === 0 ? O_CR0 : n === 2 ? O_CR2 : n === 3 ? O_CR3 : n === 4 ? O_CR4 : O_CR8);
}

/** The low 32 bits of CR4 (every architectural CR4 bit), without a bigint. */
export function cr4_lo(): number {
  return vcpu.u32[O_CR4 >> 2]!;
}

/** Stores a control register without checks (the checks are the caller's). */
export function cr_store(n: number, v: bigint): void {
  set_u64_at(n === 0 ? O_CR0 : n === 2 ? O_CR2 : n === 3 ? O_CR3 : n === 4 ? O_CR4 : O_CR8, v);
}

/** EFER. */
export function efer_get(): bigint {
  return u64_at(O_EFER);
}

/** XCR0. */
export function xcr0_get(): bigint {
  return u64_at(O_XCR0);
}

/** Byte offset of segment register `sreg` (`VCPU_SREG_*`) in the VMCS. */
export function seg_off(sreg: number): number {
  return O_SEG[sreg]!;
}

/** A segment register's selector. */
export function seg_selector(sreg: number): number {
  return vcpu.dv.getUint16(seg_off(sreg) + SEG_SELECTOR, true);
}

/** A segment register's base. */
export function seg_base(sreg: number): bigint {
  return u64_at(seg_off(sreg) + SEG_BASE);
}

// ---------------------------------------------------------------------------
// Modes: decoded from CR0, EFER, CS and SS by `sync_mode`.

/** The current privilege level. */
export function get_cpl(): number {
  return vcpu.cpl;
}

/** Whether the vCPU is in 64-bit mode. */
export function in_long_mode(): boolean {
  return vcpu.long64;
}

/** Whether the vCPU is a TD vCPU. */
export function is_td(): boolean {
  return vcpu.td;
}

/** Whether the default operand size of the code segment is 16 bits (outside 64-bit mode). */
export function is_code16(): boolean {
  return vcpu.code16;
}

/** Whether IA-32e mode is active (EFER.LMA), in 64-bit or compatibility mode. */
export function is_lma(): boolean {
  return vcpu.lma;
}

/** Bits 31:0 of a segment register's base, as a number. */
export function seg_base_lo(sreg: number): number {
  return vcpu.u32[(seg_off(sreg) + SEG_BASE) >> 2]!;
}

/** Bits 63:32 of a segment register's base. */
export function seg_base_hi(sreg: number): number {
  return vcpu.u32[((seg_off(sreg) + SEG_BASE) >> 2) + 1]!;
}

/** A segment register's (byte-granular) limit. */
export function seg_limit(sreg: number): number {
  return vcpu.u32[(seg_off(sreg) + SEG_LIMIT) >> 2]!;
}

/** A segment register's type field (bits 3:0 of the access byte). */
export function seg_type(sreg: number): number {
  return vcpu.u8[seg_off(sreg) + SEG_TYPE]!;
}

/** Whether a segment register is usable (not loaded with a null selector). */
export function seg_usable(sreg: number): boolean {
  return vcpu.u8[seg_off(sreg) + SEG_UNUSABLE] === 0;
}

/** The D/B bit of a segment register (SS.B picks the stack width outside 64-bit mode). */
export function seg_db(sreg: number): boolean {
  return vcpu.u8[seg_off(sreg) + SEG_DB] === 1;
}

/** A 64-bit guest-state field without an accessor of its own (`dr6`, `dr7`, `tsc_aux`). */
export function vmcs_field_get(name: "dr6" | "dr7" | "tsc_aux"): bigint {
  return u64_at(o(name));
}

/** Sets a field of {@linkcode vmcs_field_get}. */
export function vmcs_field_set(name: "dr6" | "dr7" | "tsc_aux", v: bigint): void {
  set_u64_at(o(name), v);
}

/** Whether the kernel enabled the forced-emulation prefix (`kvm.force_emulation_prefix` bit 0). */
export function fep_enabled(): boolean {
  return (vcpu.u32[O_FEP >> 2]! & 1) !== 0;
}

/** Whether KVM's `KVM_X86_QUIRK_FIX_HYPERCALL_INSN` is in effect for this vCPU's VM. */
export function fix_hypercall_quirk(): boolean {
  return vcpu.u32[O_FIX_HC >> 2] !== 0;
}

/** Whether 5-level paging is active (canonical addresses are 57 bits). */
export function la57_active(): boolean {
  return vcpu.lma && (vcpu.u32[O_CR4 >> 2]! & X86_CR4_LA57) !== 0;
}

/** The data an MMIO read exit was completed with. */
export function mmio_data(): bigint {
  return vcpu.dv.getBigUint64(O_MMIO_DATA, true);
}

/**
 * Sets the STI / MOV SS shadow of the interruptibility state
 * (`GUEST_INTR_STATE_*`); blocking by NMI is kept (it ends at IRET).
 */
export function set_interruptibility(bits: number): void {
  vcpu.u32[O_INTERRUPTIBILITY >> 2] = (vcpu.u32[O_INTERRUPTIBILITY >> 2]! & GUEST_INTR_STATE_NMI) |
    bits;
}

/**
 * Blocking by NMI (SDM 25.3, 24.4.2): set when an NMI is delivered, cleared
 * by the next IRET, whatever vector's handler executes it.
 */
export function set_nmi_blocking(on: boolean): void {
  const i = O_INTERRUPTIBILITY >> 2;
  vcpu.u32[i] = on ? vcpu.u32[i]! | GUEST_INTR_STATE_NMI : vcpu.u32[i]! & ~GUEST_INTR_STATE_NMI;
}

/** The interruptibility state. */
export function interruptibility(): number {
  return vcpu.u32[O_INTERRUPTIBILITY >> 2]!;
}

/**
 * Catches the CPU's control-transfer signal for the interpreter, which
 * simply continues at the new RIP: returns whether `e` was that signal.
 */
export function take_transfer(e: unknown): boolean {
  if (e !== TRANSFER) return false;
  vcpu.transfer_pending = false;
  return true;
}

/** Whether the vCPU is in protected mode (CR0.PE). */
export function in_protected_mode(): boolean {
  return vcpu.protected_mode;
}

/**
 * Recomputes the mode and paging configuration from the guest state, and
 * flushes the TLB when anything the translation depends on changed (the
 * kernel may have written CR0/CR3/CR4/EFER/segments while the vCPU was out).
 */
export function sync_mode(): void {
  const cr0 = vcpu.u32[O_CR0 >> 2]!;
  const cr3_lo = vcpu.u32[O_CR3 >> 2]!;
  const cr3_hi = vcpu.u32[(O_CR3 >> 2) + 1]!;
  const cr4 = vcpu.u32[O_CR4 >> 2]!;
  const efer = vcpu.u32[O_EFER >> 2]!;
  const cs = seg_off(1);
  const ss = seg_off(2);
  const cs_l = vcpu.u8[cs + SEG_L]!;
  const cs_db = vcpu.u8[cs + SEG_DB]!;
  const ss_dpl = vcpu.u8[ss + SEG_DPL]!;
  const maxphy = vcpu.u32[O_MAXPHY >> 2]! || 52;
  const td_flag = vcpu.u32[O_TD >> 2]!;
  const shared = u64_at(O_SHARED_MASK);
  const fl = rflags();
  const s = [cr0, cr3_lo, cr3_hi, cr4, efer, cs_l, cs_db, ss_dpl, maxphy, td_flag, Number(shared)];
  let changed = false;
  let cr3_changed = false;
  for (let i = 0; i < s.length; i++) {
    if (vcpu.snap[i] !== s[i]) {
      if (i === 1 || i === 2) cr3_changed = true;
      else changed = true;
      vcpu.snap[i] = s[i]!;
    }
  }
  mmu_set_ac((fl & X86_EFLAGS_AC) !== 0);
  if (!changed && !cr3_changed) return;
  vcpu.protected_mode = (cr0 & X86_CR0_PE) !== 0;
  vcpu.lma = (efer & EFER_LMA) !== 0;
  vcpu.long64 = vcpu.lma && cs_l === 1;
  vcpu.code16 = !vcpu.long64 && cs_db === 0;
  vcpu.cpl = vcpu.protected_mode ? ss_dpl : 0;
  vcpu.td = td_flag !== 0;
  const pg = (cr0 & X86_CR0_PG) !== 0;
  let levels = 0;
  if (pg) {
    if (!vcpu.lma) levels = cr4 & X86_CR4_PAE ? 3 : 2;
    else levels = cr4 & X86_CR4_LA57 ? 5 : 4;
  }
  mmu_configure({
    levels,
    pse: (cr4 & X86_CR4_PSE) !== 0,
    long_mode: vcpu.lma,
    cr3: cr3_hi * TWO32 + cr3_lo,
    wp: (cr0 & X86_CR0_WP) !== 0,
    nxe: (efer & EFER_NX) !== 0,
    smep: (cr4 & X86_CR4_SMEP) !== 0,
    smap: (cr4 & X86_CR4_SMAP) !== 0,
    pge: (cr4 & X86_CR4_PGE) !== 0,
    cpl: vcpu.cpl,
    ac: (fl & X86_EFLAGS_AC) !== 0,
    maxphyaddr: maxphy,
    td: vcpu.td,
    shared_mask: Number(shared),
  });
  // A CR3-only change keeps global entries, as a MOV to CR3 does.
  tlb_flush(!changed);
}

/** Forgets the mode snapshot so that {@linkcode sync_mode} reconfigures and flushes. */
export function invalidate_mode(): void {
  vcpu.snap = new Float64Array(12).fill(-1);
}

// ---------------------------------------------------------------------------
// Other guest state the intrinsics need.

/** EAX and EDX of the last {@linkcode read_tsc_words}. */
export const tsc_words: Uint32Array = new Uint32Array(2);
// The same 8 bytes as one value: x86 hosts are little-endian, EAX is the low half.
const tsc_u64 = new BigUint64Array(tsc_words.buffer);

/**
 * TSC: host time at `tsc_khz`, plus the VMCS TSC offset, into
 * {@linkcode tsc_words} (no allocation: see `tsc.ts`).
 */
export function read_tsc_words(): Uint32Array {
  host_tsc_read(vcpu.u32[O_TSC_KHZ >> 2]! || 1000000);
  let hi = host_tsc.hi;
  let lo = host_tsc.lo;
  // The TSC counts cycles: two reads never return the same value, even when
  // the host clock (microseconds) has not moved.
  if (hi < vcpu.last_tsc_hi || (hi === vcpu.last_tsc_hi && lo <= vcpu.last_tsc_lo)) {
    hi = vcpu.last_tsc_hi;
    lo = vcpu.last_tsc_lo + 1;
    if (lo === TWO32) {
      lo = 0;
      hi++;
    }
  }
  vcpu.last_tsc_hi = hi;
  vcpu.last_tsc_lo = lo;
  const i = O_TSC_OFFSET >> 2;
  const sum_lo = lo + vcpu.u32[i]!;
  // Stores into a Uint32Array wrap modulo 2^32, as the 64-bit add does.
  tsc_words[0] = sum_lo;
  tsc_words[1] = hi + vcpu.u32[i + 1]! + (sum_lo >= TWO32 ? 1 : 0);
  return tsc_words;
}

/** {@linkcode read_tsc_words} as one 64-bit value. */
export function read_tsc(): bigint {
  read_tsc_words();
  return tsc_u64[0]!;
}

/** Stores `count` for a string I/O exit. */
export function set_io_count(n: number): void {
  vcpu.u32[O_IO_COUNT >> 2] = n;
}

/** GDTR/IDTR accessors for `lgdt`/`lidt`/`sgdt`/`sidt`. */
export function dtable_get(idt: boolean): { base: bigint; limit: number } {
  const off = idt ? O_IDTR : O_GDTR;
  return { base: u64_at(off), limit: vcpu.dv.getUint16(off + 8, true) };
}

/** Loads GDTR or IDTR. */
export function dtable_set(idt: boolean, base: bigint, limit: number): void {
  const off = idt ? O_IDTR : O_GDTR;
  set_u64_at(off, base);
  vcpu.dv.setUint16(off + 8, limit, true);
}

/** Whether EFER.LME is set (for CR0.PG writes). */
export function efer_lme(): boolean {
  return (vcpu.u32[O_EFER >> 2]! & EFER_LME) !== 0;
}

/** Sets or clears EFER.LMA, as the CPU does when CR0.PG changes with EFER.LME. */
export function set_lma(on: boolean): void {
  const i = O_EFER >> 2;
  vcpu.u32[i] = on ? vcpu.u32[i]! | EFER_LMA : vcpu.u32[i]! & ~EFER_LMA;
}

/** `CS.L` of the current code segment. */
export function cs_l(): boolean {
  return vcpu.u8[seg_off(1) + SEG_L] === 1;
}

/** Bytes of the VMCS I/O data page (for string I/O). */
export function io_data(): Uint8Array {
  return vcpu.u8.subarray(O_IO_DATA, O_IO_DATA + 4096);
}
