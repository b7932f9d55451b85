// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated CPU inside a vCPU worker: the register file over the VMCS,
 * modes, VM exits, exception delivery, instruction fetch of code records, and
 * the run loop. Guest code reaches it through the intrinsics of `insn.ts`.
 *
 * ## Running guest code
 *
 * RIP holds the guest-virtual address of a code record
 * (`include/guest_code.ts`) while that function runs. The CPU fetches at RIP
 * (through the page tables, with execute permission), checks the record,
 * resolves the function and calls it with RDI, RSI, RDX, RCX, R8, R9 as
 * arguments (`bigint`s), as the SysV ABI passes them.
 *
 * Where the fetch finds no record, the bytes are **machine code**: the
 * interpreter (`interp.ts`, decoding in `decode.ts`, flags in `alu.ts`)
 * executes x86 integer instructions in real mode, 16/32-bit protected mode
 * (paging off, 32-bit or PAE paging) and 64-bit mode until RIP reaches a
 * record again. Machine code may jump or call into a record, and a record
 * may `call()` machine code (RET to the caller's record ends the call; RAX
 * is the result). Exiting instructions take the exit paths of `insn.ts`
 * with their own encoded length; MMIO by machine code exits with the
 * instruction's length, width and data. `docs/sim.md` lists what runs.
 *
 * **When an entry function returns**, the CPU executes `ret`: it pops the
 * return address from the guest stack into RIP and fetches there. The
 * library's stack starts with zeroes, so a returning guest function jumps to
 * address 0 and faults as it would in C (#PF through the IDT, or a triple
 * fault without one).
 *
 * ## Exceptions: skip or retry
 *
 * An exception is delivered through the guest IDT: 64-bit interrupt/trap
 * gates (16 bytes), the target CS loaded from the GDT, IST and privilege
 * stack switches from the TSS, and the hardware frame (SS, RSP, RFLAGS, CS,
 * RIP, error code) pushed on the guest stack with implicit supervisor writes,
 * so a bad stack double-faults and a bad IDT triple-faults as on hardware.
 * RIP then holds the gate's target, a code record: the CPU calls that
 * function with a `struct ex_regs` view (`ex_regs.ts`). When it returns, the
 * CPU does what upstream's stub + `iretq` do: it restores the GPRs from
 * `ex_regs`, writes `rip`, `cs` and `rflags` back into the frame and pops it.
 * Then RIP decides, relative to the interrupted function's record:
 *
 * - RIP equal to the record's address (the handler left `rip` alone after a
 *   fault): the faulting instruction is **retried**;
 * - RIP inside the record (`regs.rip += 2n`, the way upstream handlers skip
 *   an instruction): the instruction is **skipped**; its outputs are what the
 *   registers hold (e.g. a skipped `rdmsr` returns EDX:EAX, a skipped read
 *   returns RAX), and the function continues after the intrinsic;
 * - any other RIP: the interrupted function is abandoned (its JavaScript
 *   frames unwind) and the CPU fetches at RIP, as a jump would.
 *
 * Traps (`int3`) push the address after the instruction, so a handler that
 * returns without touching `rip` continues after it, as on hardware.
 *
 * A fault while delivering follows SDM Table 6-5 (contributory + contributory
 * or #PF + #PF/contributory → #DF); a fault while delivering #DF is a triple
 * fault: `EXIT_REASON_TRIPLE_FAULT`, and the vCPU restarts at RIP on the next
 * entry. Outside IA-32e mode the IDT holds 8-byte 32-bit gates (a frame of
 * EFLAGS, CS, EIP and the error code; a privilege change takes SS:ESP from
 * the 32-bit TSS); in real mode the IVT (offset:segment at 4 × vector) is
 * used and FLAGS, CS, IP are pushed. A gate whose target is machine code
 * rather than a record just moves RIP there: the interpreter runs the
 * handler and its IRET.
 *
 * `kvm_asm_safe()` (and the `*_safe` intrinsics) catch an exception raised by
 * the instruction themselves, without the IDT, and return its vector, as
 * upstream's `KVM_ASM_SAFE` fixup does.
 *
 * @module
 */

import { receiveMessageOnPort } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import {
  GUEST_CODE_DIGEST_SIZE,
  GUEST_CODE_HDR_SIZE,
  GUEST_CODE_MAGIC,
  GUEST_CODE_VERSION,
  type guest_fn,
  guest_fn_digest,
  guest_fn_resolve,
} from "../../include/guest_code.ts";
import { ex_regs, EX_REGS_GPRS, type ex_regs_view } from "./ex_regs.ts";
import {
  ACC_FETCH,
  ACC_IMPLICIT,
  ACC_READ,
  ACC_WRITE,
  e_gpa,
  e_private,
  e_qual,
  e_td_mmio,
  f_cr2_hi,
  f_cr2_lo,
  f_ec,
  f_vector,
  mem,
  mmu_configure,
  mmu_set_ac,
  t_dv,
  t_off,
  tlb_flush,
  TR_EPT,
  TR_FAULT,
  TR_OK,
  translate,
} from "./mmu.ts";
import { offsetof } from "../../include/c/layout.ts";
import { sim_vmcs, VMCS_CRASH_TEXT_SIZE, VMCS_SIZE } from "./vmcs.ts";
import { interp_run } from "./interp.ts";
import type { vcpu_memmap_message } from "./vcpu_thread.ts";
import {
  AC_VECTOR,
  DE_VECTOR,
  DF_VECTOR,
  EFER_LMA,
  EFER_LME,
  EFER_NX,
  EPT_VIOLATION_SIM_PRIVATE_HI,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_INTERRUPT_WINDOW,
  EXIT_REASON_TRIPLE_FAULT,
  GP_VECTOR,
  GUEST_ACTIVITY_SHUTDOWN,
  GUEST_INTR_STATE_STI,
  INTR_INFO_DELIVER_CODE_MASK,
  INTR_INFO_VALID_MASK,
  INTR_TYPE_EXT_INTR,
  INTR_TYPE_HARD_EXCEPTION,
  INTR_TYPE_NMI_INTR,
  INTR_TYPE_SOFT_EXCEPTION,
  INTR_TYPE_SOFT_INTR,
  NP_VECTOR,
  PF_VECTOR,
  SIM_EXIT_REASON_GUEST_CRASH,
  SS_VECTOR,
  TS_VECTOR,
  UD_VECTOR,
  VCPU_REGS_RAX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
  VCPU_REGS_RSP,
  VCPU_STATE_EXIT,
  VCPU_STATE_RUN,
  VE_VECTOR,
  WORKER_DEAD,
  WORKER_READY,
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
  X86_EFLAGS_IF,
  X86_EFLAGS_NT,
  X86_EFLAGS_RF,
  X86_EFLAGS_TF,
  X86_EFLAGS_VM,
} from "./vmx.ts";

const TWO32 = 4294967296;

/** Resume result of an exit or exception: the instruction completed (or was skipped). */
export const RESUME_COMPLETE: number = -1;
/** Resume result: execute the instruction again. */
export const RESUME_RETRY: number = -2;

/** Thrown to unwind guest frames when RIP moved elsewhere (jump, KVM_SET_REGS, handler). */
const TRANSFER = { sim: "control transfer" };
/** Thrown to unwind everything when the host stops the vCPU. */
const KILL = { sim: "vCPU stopped" };
/** Thrown by `raise()` inside `kvm_asm_safe()`. */
const SAFE_FAULT = { sim: "safe fault" };
/** Thrown by implicit accesses during event delivery. */
const DELIVERY_FAULT = { sim: "delivery fault" };

/** Whether `e` is one of the CPU's own control-flow signals (guest code must rethrow them). */
export function is_cpu_signal(e: unknown): boolean {
  return e === TRANSFER || e === KILL || e === SAFE_FAULT || e === DELIVERY_FAULT;
}

// ---------------------------------------------------------------------------
// The register file: typed arrays over the VMCS.

let U32: Uint32Array = new Uint32Array(VMCS_SIZE >> 2);
let U8: Uint8Array = new Uint8Array(VMCS_SIZE);
let DV: DataView = new DataView(U32.buffer);
let CTL: Int32Array = new Int32Array(16);
let port: MessagePort | undefined;
let images: Record<string, unknown>[] = [];
let in_worker = false;

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
const O_GDTR = o("gdtr");
const O_IDTR = o("idtr");
const O_SEG: readonly number[] = ["es", "cs", "ss", "ds", "fs", "gs", "tr", "ldtr"].map(o);
const SEG_BASE = 0;
const SEG_LIMIT = 8;
const SEG_SELECTOR = 12;
const SEG_TYPE = 14;
const SEG_PRESENT = 15;
const SEG_DPL = 16;
const SEG_DB = 17;
const SEG_S = 18;
const SEG_L = 19;
const SEG_G = 20;
const SEG_AVL = 21;
const SEG_UNUSABLE = 22;
const O_EXIT_REASON = o("exit_reason");
const O_EXIT_LEN = o("exit_instruction_len");
const O_EXIT_QUAL = o("exit_qualification");
const O_GLA = o("guest_linear_address");
const O_GPA = o("guest_physical_address");
const O_EXIT_INTR_INFO = o("exit_intr_info");
const O_EXIT_INTR_EC = o("exit_intr_error_code");
const O_IO_COUNT = o("io_count");
const O_MMIO_LEN = o("mmio_len");
const O_MMIO_IS_WRITE = o("mmio_is_write");
const O_MMIO_DATA = o("mmio_data");
const O_CRASH_LEN = o("crash_len");
const O_CRASH_TEXT = o("crash_text");
const O_ENTRY_INTR_INFO = o("entry_intr_info");
const O_ENTRY_EC = o("entry_exception_error_code");
const O_EXC_BITMAP = o("exception_bitmap");
const O_MAXPHY = o("maxphyaddr");
const O_TSC_KHZ = o("tsc_khz");
const O_TD = o("td_guest");
const O_FEP = o("force_emulation_prefix");
const O_FIX_HC = o("fix_hypercall_insn");
const O_SHARED_MASK = o("shared_gpa_mask");
const O_VE = o("ve_info");
const O_IO_DATA = o("io_data");
const O_ACTIVITY = o("activity_state");
const O_INTERRUPTIBILITY = o("interruptibility_info");
const C_RUN_STATE = o("run_state") >> 2;
const C_WORKER_STATE = o("worker_state") >> 2;
const C_KILL = o("kill") >> 2;
const C_GEN = o("memmap_generation") >> 2;
const C_ACK = o("memmap_ack") >> 2;
const C_KICK = o("kick") >> 2;
const C_IRQ_WINDOW = o("irq_window") >> 2;

/** GPR `r` as a `bigint`. */
export function reg_get(r: number): bigint {
  return DV.getBigUint64(O_REGS + 8 * r, true);
}

/** Sets GPR `r`. */
export function reg_set(r: number, v: bigint): void {
  DV.setBigUint64(O_REGS + 8 * r, BigInt.asUintN(64, v), true);
}

/** Bits 31:0 of GPR `r`. */
export function reg_lo(r: number): number {
  return U32[(O_REGS >> 2) + 2 * r]!;
}

/** Bits 63:32 of GPR `r`. */
export function reg_hi(r: number): number {
  return U32[(O_REGS >> 2) + 2 * r + 1]!;
}

/** Writes the low `size` bytes of GPR `r` (1, 2: the rest is kept; 4: zero-extended, as in 64-bit mode). */
export function reg_set_sized(r: number, size: number, v: number): void {
  const i = (O_REGS >> 2) + 2 * r;
  if (size === 4) {
    U32[i] = v;
    U32[i + 1] = 0;
  } else if (size === 2) U32[i] = (U32[i]! & 0xffff0000) | (v & 0xffff);
  else U32[i] = (U32[i]! & 0xffffff00) | (v & 0xff);
}

/** Sets GPR `r` from two 32-bit halves. */
export function reg_set_pair(r: number, hi: number, lo: number): void {
  const i = (O_REGS >> 2) + 2 * r;
  U32[i] = lo;
  U32[i + 1] = hi;
}

/** Low half of RIP. */
export function rip_lo(): number {
  return U32[O_RIP >> 2]!;
}

/** High half of RIP. */
export function rip_hi(): number {
  return U32[(O_RIP >> 2) + 1]!;
}

/** Sets RIP from two 32-bit halves. */
export function set_rip(hi: number, lo: number): void {
  U32[O_RIP >> 2] = lo;
  U32[(O_RIP >> 2) + 1] = hi;
}

/** RIP as a bigint. */
export function rip_get(): bigint {
  return DV.getBigUint64(O_RIP, true);
}

/** Sets RIP. */
export function rip_set(v: bigint): void {
  DV.setBigUint64(O_RIP, BigInt.asUintN(64, v), true);
}

/** RFLAGS (low 32 bits; the rest is reserved). */
export function rflags(): number {
  return U32[O_RFLAGS >> 2]!;
}

/** Sets RFLAGS. */
export function set_rflags(v: number): void {
  U32[O_RFLAGS >> 2] = (v | 2) >>> 0;
  U32[(O_RFLAGS >> 2) + 1] = 0;
  mmu_set_ac((v & X86_EFLAGS_AC) !== 0);
}

function u64_at(off: number): bigint {
  return DV.getBigUint64(off, true);
}

function set_u64_at(off: number, v: bigint): void {
  DV.setBigUint64(off, BigInt.asUintN(64, v), true);
}

/** A control register (0, 2, 3, 4, 8) as a bigint. */
export function cr_get(n: number): bigint {
  return u64_at(n === 0 ? O_CR0 : n === 2 ? O_CR2 : n === 3 ? O_CR3 : n === 4 ? O_CR4 : O_CR8);
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
function seg_off(sreg: number): number {
  return O_SEG[sreg]!;
}

/** A segment register's selector. */
export function seg_selector(sreg: number): number {
  return DV.getUint16(seg_off(sreg) + SEG_SELECTOR, true);
}

/** A segment register's base. */
export function seg_base(sreg: number): bigint {
  return u64_at(seg_off(sreg) + SEG_BASE);
}

// ---------------------------------------------------------------------------
// Modes.

let cpl = 0;
let long64 = false; // IA-32e 64-bit mode (LMA and CS.L)
let lma = false;
let protected_mode = false;
let code16 = false;
let td = false;
let snap = new Float64Array(12).fill(-1);

/** The current privilege level. */
export function get_cpl(): number {
  return cpl;
}

/** Whether the vCPU is in 64-bit mode. */
export function in_long_mode(): boolean {
  return long64;
}

/** Whether the vCPU is a TD vCPU. */
export function is_td(): boolean {
  return td;
}

/** Whether the default operand size of the code segment is 16 bits (outside 64-bit mode). */
export function is_code16(): boolean {
  return code16;
}

/** Whether IA-32e mode is active (EFER.LMA), in 64-bit or compatibility mode. */
export function is_lma(): boolean {
  return lma;
}

/** Bits 31:0 of a segment register's base, as a number. */
export function seg_base_lo(sreg: number): number {
  return U32[(seg_off(sreg) + SEG_BASE) >> 2]!;
}

/** Bits 63:32 of a segment register's base. */
export function seg_base_hi(sreg: number): number {
  return U32[((seg_off(sreg) + SEG_BASE) >> 2) + 1]!;
}

/** A segment register's (byte-granular) limit. */
export function seg_limit(sreg: number): number {
  return U32[(seg_off(sreg) + SEG_LIMIT) >> 2]!;
}

/** A segment register's type field (bits 3:0 of the access byte). */
export function seg_type(sreg: number): number {
  return U8[seg_off(sreg) + SEG_TYPE]!;
}

/** Whether a segment register is usable (not loaded with a null selector). */
export function seg_usable(sreg: number): boolean {
  return U8[seg_off(sreg) + SEG_UNUSABLE] === 0;
}

/** The D/B bit of a segment register (SS.B picks the stack width outside 64-bit mode). */
export function seg_db(sreg: number): boolean {
  return U8[seg_off(sreg) + SEG_DB] === 1;
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
  return (U32[O_FEP >> 2]! & 1) !== 0;
}

/** Whether KVM's `KVM_X86_QUIRK_FIX_HYPERCALL_INSN` is in effect for this vCPU's VM. */
export function fix_hypercall_quirk(): boolean {
  return U32[O_FIX_HC >> 2] !== 0;
}

/** Whether 5-level paging is active (canonical addresses are 57 bits). */
export function la57_active(): boolean {
  return lma && (U32[O_CR4 >> 2]! & X86_CR4_LA57) !== 0;
}

/** The data an MMIO read exit was completed with. */
export function mmio_data(): bigint {
  return DV.getBigUint64(O_MMIO_DATA, true);
}

/** Sets the interruptibility state (`GUEST_INTR_STATE_*`: the STI / MOV SS shadow). */
export function set_interruptibility(bits: number): void {
  U32[O_INTERRUPTIBILITY >> 2] = bits;
}

/** The interruptibility state. */
export function interruptibility(): number {
  return U32[O_INTERRUPTIBILITY >> 2]!;
}

/**
 * Catches the CPU's control-transfer signal for the interpreter, which
 * simply continues at the new RIP: returns whether `e` was that signal.
 */
export function take_transfer(e: unknown): boolean {
  if (e !== TRANSFER) return false;
  transfer_pending = false;
  return true;
}

/** Whether the vCPU is in protected mode (CR0.PE). */
export function in_protected_mode(): boolean {
  return protected_mode;
}

/**
 * Recomputes the mode and paging configuration from the guest state, and
 * flushes the TLB when anything the translation depends on changed (the
 * kernel may have written CR0/CR3/CR4/EFER/segments while the vCPU was out).
 */
export function sync_mode(): void {
  const cr0 = U32[O_CR0 >> 2]!;
  const cr3_lo = U32[O_CR3 >> 2]!;
  const cr3_hi = U32[(O_CR3 >> 2) + 1]!;
  const cr4 = U32[O_CR4 >> 2]!;
  const efer = U32[O_EFER >> 2]!;
  const cs = seg_off(1);
  const ss = seg_off(2);
  const cs_l = U8[cs + SEG_L]!;
  const cs_db = U8[cs + SEG_DB]!;
  const ss_dpl = U8[ss + SEG_DPL]!;
  const maxphy = U32[O_MAXPHY >> 2]! || 52;
  const td_flag = U32[O_TD >> 2]!;
  const shared = u64_at(O_SHARED_MASK);
  const fl = rflags();
  const s = [cr0, cr3_lo, cr3_hi, cr4, efer, cs_l, cs_db, ss_dpl, maxphy, td_flag, Number(shared)];
  let changed = false;
  let cr3_changed = false;
  for (let i = 0; i < s.length; i++) {
    if (snap[i] !== s[i]) {
      if (i === 1 || i === 2) cr3_changed = true;
      else changed = true;
      snap[i] = s[i]!;
    }
  }
  mmu_set_ac((fl & X86_EFLAGS_AC) !== 0);
  if (!changed && !cr3_changed) return;
  protected_mode = (cr0 & X86_CR0_PE) !== 0;
  lma = (efer & EFER_LMA) !== 0;
  long64 = lma && cs_l === 1;
  code16 = !long64 && cs_db === 0;
  cpl = protected_mode ? ss_dpl : 0;
  td = td_flag !== 0;
  const pg = (cr0 & X86_CR0_PG) !== 0;
  let levels = 0;
  if (pg) {
    if (!lma) levels = cr4 & X86_CR4_PAE ? 3 : 2;
    else levels = cr4 & X86_CR4_LA57 ? 5 : 4;
  }
  mmu_configure({
    levels,
    pse: (cr4 & X86_CR4_PSE) !== 0,
    long_mode: lma,
    cr3: cr3_hi * TWO32 + cr3_lo,
    wp: (cr0 & X86_CR0_WP) !== 0,
    nxe: (efer & EFER_NX) !== 0,
    smep: (cr4 & X86_CR4_SMEP) !== 0,
    smap: (cr4 & X86_CR4_SMAP) !== 0,
    pge: (cr4 & X86_CR4_PGE) !== 0,
    cpl,
    ac: (fl & X86_EFLAGS_AC) !== 0,
    maxphyaddr: maxphy,
    td,
    shared_mask: Number(shared),
  });
  // A CR3-only change keeps global entries, as a MOV to CR3 does.
  tlb_flush(!changed);
}

/** Forgets the mode snapshot so that {@linkcode sync_mode} reconfigures and flushes. */
function invalidate_mode(): void {
  snap = new Float64Array(12).fill(-1);
}

// ---------------------------------------------------------------------------
// Ticks: the kill word, memory-map updates and swallowed transfers are
// checked every TICK_INTERVAL instructions.

const TICK_INTERVAL = 1024;
let ticks = TICK_INTERVAL;
let transfer_pending = false;
let memmap_generation = 0;

/** Counts one instruction; every {@linkcode TICK_INTERVAL} checks for a stop request. */
export function tick(): void {
  if (--ticks < 0) tick_slow();
}

/** The periodic checks of {@linkcode tick}. */
export function tick_slow(): void {
  ticks = TICK_INTERVAL;
  if (!in_worker) throw new Error("Guest intrinsics can only run in a vCPU worker");
  if (Atomics.load(CTL, C_KILL) !== 0) throw KILL;
  if (transfer_pending) throw TRANSFER;
  if (Atomics.load(CTL, C_GEN) !== memmap_generation) sync_memmap();
  if (sti_shadow_ticks > 0) {
    // The STI intrinsic's shadow covers the next intrinsic only.
    if (--sti_shadow_ticks === 0) {
      U32[O_INTERRUPTIBILITY >> 2] = U32[O_INTERRUPTIBILITY >> 2]! & ~GUEST_INTR_STATE_STI;
    } else ticks = 0;
  }
  event_windows();
}

/**
 * Instruction-boundary event checks: a kick from the host (an interrupt
 * became pending while the guest runs) exits as an external interrupt would;
 * with interrupt-window exiting requested, the first boundary where the guest
 * can take an interrupt exits. The kernel then injects the event, which
 * {@linkcode vmexit} delivers before returning.
 */
function event_windows(): void {
  if (Atomics.load(CTL, C_KICK) !== 0) {
    Atomics.store(CTL, C_KICK, 0);
    vmexit(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0);
  } else if (irq_window) {
    if ((rflags() & X86_EFLAGS_IF) && !(U32[O_INTERRUPTIBILITY >> 2]! & 3)) {
      irq_window = false;
      vmexit(EXIT_REASON_INTERRUPT_WINDOW, 0, 0);
    }
  }
  // While the window is requested every boundary is checked.
  if (irq_window || sti_shadow_ticks > 0) ticks = 0;
}

/** Interrupt-window exiting is requested (`irq_window`, read at each entry). */
let irq_window = false;
/** Ticks left in the STI shadow of the `sti` intrinsic (the interpreter tracks its own). */
let sti_shadow_ticks = 0;

function sync_memmap(): void {
  const want = Atomics.load(CTL, C_GEN);
  if (want === memmap_generation || !port) return;
  const give_up = performance.now() + 5000;
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (m) {
      const msg = m.message as vcpu_memmap_message;
      mem.set_map(msg.map);
      memmap_generation = msg.generation;
      if (msg.generation >= want) break;
      continue;
    }
    // The host posts before it bumps the generation; the message is in flight.
    if (performance.now() > give_up) throw new Error("sim: memory map update lost");
    Atomics.wait(CTL, C_KILL, 0, 1);
  }
  tlb_flush(false);
  // Acknowledge: no access through the old map can happen from here on.
  Atomics.store(CTL, C_ACK, memmap_generation);
}

// ---------------------------------------------------------------------------
// VM exits.

const SPIN_ITERATIONS = 20000;
let fn_lo = 0;
let fn_hi = 0;
let fn_len = 0;

function wait_for_run(): void {
  for (let i = 0; i < SPIN_ITERATIONS; i++) {
    if (Atomics.load(CTL, C_RUN_STATE) === VCPU_STATE_RUN) break;
  }
  for (;;) {
    if (Atomics.load(CTL, C_KILL) !== 0) throw KILL;
    const cur = Atomics.load(CTL, C_RUN_STATE);
    if (cur === VCPU_STATE_RUN) break;
    Atomics.wait(CTL, C_RUN_STATE, cur, 50);
  }
  if (Atomics.load(CTL, C_GEN) !== memmap_generation) sync_memmap();
  sync_mode();
  irq_window = Atomics.load(CTL, C_IRQ_WINDOW) !== 0;
  if (irq_window || Atomics.load(CTL, C_KICK) !== 0) ticks = 0;
}

function signal_exit(): void {
  Atomics.store(CTL, C_RUN_STATE, VCPU_STATE_EXIT);
  Atomics.notify(CTL, C_RUN_STATE);
}

/**
 * VM exit: stores the exit reason, instruction length and qualification,
 * hands the vCPU to the host and blocks until the next entry. Returns
 * {@linkcode RESUME_COMPLETE} or {@linkcode RESUME_RETRY} for the exiting
 * instruction (see `vmcs.ts`), after delivering any injected event; throws
 * to unwind guest frames when RIP was moved elsewhere.
 */
export function vmexit(reason: number, insn_len: number, qual_lo: number, qual_hi = 0): number {
  const start_lo = rip_lo();
  const start_hi = rip_hi();
  U32[O_EXIT_REASON >> 2] = reason;
  U32[O_EXIT_LEN >> 2] = insn_len;
  U32[O_EXIT_QUAL >> 2] = qual_lo;
  U32[(O_EXIT_QUAL >> 2) + 1] = qual_hi;
  signal_exit();
  wait_for_run();
  return after_entry(start_lo, start_hi);
}

/** Sets the guest linear/physical address fields of the exit information. */
export function set_exit_addresses(gla: bigint, gpa: number): void {
  set_u64_at(O_GLA, gla);
  set_u64_at(O_GPA, BigInt(gpa));
}

function after_entry(start_lo: number, start_hi: number): number {
  const info = U32[O_ENTRY_INTR_INFO >> 2]!;
  if (info & INTR_INFO_VALID_MASK) {
    U32[O_ENTRY_INTR_INFO >> 2] = 0;
    const vector = info & 0xff;
    const type = info & 0x700;
    const has_ec = (info & INTR_INFO_DELIVER_CODE_MASK) !== 0;
    const ec = U32[O_ENTRY_EC >> 2]!;
    if (type === INTR_TYPE_HARD_EXCEPTION && safe_depth > 0) {
      safe_vector = vector;
      safe_ec = ec;
      throw SAFE_FAULT;
    }
    deliver(vector, type, ec, has_ec);
  }
  return classify(start_lo, start_hi);
}

/**
 * Length of the raw machine-code instruction being interpreted (0 while a
 * code record runs): an exit that RIP left `raw_len` bytes further completed
 * it, and MMIO exits report it as their instruction length.
 */
let raw_len = 0;

/** Marks the start (`len` > 0) or end (0) of an interpreted instruction of `len` bytes. */
export function set_raw_insn(len: number): void {
  raw_len = len;
  if (len > 0) fn_len = 0;
}

function classify(start_lo: number, start_hi: number): number {
  const lo = rip_lo();
  const hi = rip_hi();
  if (lo === start_lo && hi === start_hi) return RESUME_RETRY;
  if (raw_len > 0 && (hi - start_hi) * TWO32 + (lo - start_lo) === raw_len) return RESUME_COMPLETE;
  if (fn_len > 0) {
    const d = (hi - fn_hi) * TWO32 + (lo - fn_lo);
    if (d > 0 && d < fn_len) {
      set_rip(fn_hi, fn_lo);
      return RESUME_COMPLETE;
    }
  }
  transfer_pending = true;
  ticks = 0;
  throw TRANSFER;
}

/** Jumps to `hi:lo`: the current guest function is abandoned. */
export function jump_to(hi: number, lo: number): never {
  set_rip(hi, lo);
  transfer_pending = true;
  ticks = 0;
  throw TRANSFER;
}

// ---------------------------------------------------------------------------
// Exceptions.

let safe_depth = 0;
let safe_vector = 0;
let safe_ec = 0;

/**
 * Runs `insn` (one intrinsic) so that an exception it raises is not
 * delivered but returned: upstream's `KVM_ASM_SAFE`. Returns 0 when no
 * exception happened, else the vector; the error code is in
 * {@linkcode kvm_asm_safe_error_code}.
 */
export function kvm_asm_safe(insn: () => void): number {
  safe_depth++;
  try {
    insn();
    return 0;
  } catch (e) {
    if (e === SAFE_FAULT) return safe_vector;
    throw e;
  } finally {
    safe_depth--;
  }
}

/** The error code of the exception the last {@linkcode kvm_asm_safe} caught. */
export function kvm_asm_safe_error_code(): number {
  return safe_ec;
}

const CLASS_BENIGN = 0;
const CLASS_CONTRIBUTORY = 1;
const CLASS_PF = 2;

function exception_class(v: number): number {
  if (v === PF_VECTOR || v === VE_VECTOR) return CLASS_PF;
  if (
    v === DE_VECTOR || v === TS_VECTOR || v === NP_VECTOR || v === SS_VECTOR || v === GP_VECTOR
  ) return CLASS_CONTRIBUTORY;
  return CLASS_BENIGN;
}

function has_error_code(v: number): boolean {
  return v === DF_VECTOR || (v >= TS_VECTOR && v <= PF_VECTOR) || v === AC_VECTOR || v === 21;
}

/**
 * Raises exception `vector` in the current instruction (a fault: the frame's
 * RIP is the instruction's). Returns what to do with the instruction
 * ({@linkcode RESUME_RETRY} or {@linkcode RESUME_COMPLETE}, see the module
 * doc), or throws to unwind.
 *
 * @param vector the exception
 * @param ec its error code (ignored for vectors without one)
 * @param cr2 for #PF: the faulting linear address
 */
export function raise(vector: number, ec = 0, cr2?: bigint): number {
  const start_lo = rip_lo();
  const start_hi = rip_hi();
  const has_ec = has_error_code(vector);
  if (safe_depth > 0) {
    safe_vector = vector;
    safe_ec = ec;
    throw SAFE_FAULT;
  }
  const bitmap = U32[O_EXC_BITMAP >> 2]!;
  if ((bitmap >>> vector) & 1 && vector < 32) {
    U32[O_EXIT_INTR_INFO >> 2] = (INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | vector |
      (has_ec ? INTR_INFO_DELIVER_CODE_MASK : 0)) >>> 0;
    U32[O_EXIT_INTR_EC >> 2] = ec;
    const q = vector === PF_VECTOR && cr2 !== undefined ? cr2 : 0n;
    return vmexit(
      EXIT_REASON_EXCEPTION_NMI,
      0,
      Number(q & 0xffffffffn),
      Number((q >> 32n) & 0xffffffffn),
    );
  }
  if (vector === PF_VECTOR && cr2 !== undefined) cr_store(2, cr2);
  deliver(vector, INTR_TYPE_HARD_EXCEPTION, ec, has_ec);
  return classify(start_lo, start_hi);
}

/** Raises the fault the last failed translation reported (`mmu.ts`). */
export function raise_translation_fault(): number {
  if (f_vector === PF_VECTOR) {
    return raise(PF_VECTOR, f_ec, BigInt(f_cr2_hi) * 0x100000000n + BigInt(f_cr2_lo));
  }
  return raise(f_vector, f_ec);
}

/**
 * A trap (`int3`): delivered with the address after the instruction, so the
 * handler's return continues after it. Returns like {@linkcode raise}.
 */
export function raise_trap(
  vector: number,
  insn_len: number,
  type = INTR_TYPE_SOFT_EXCEPTION,
): number {
  const start_lo = rip_lo();
  const start_hi = rip_hi();
  if (safe_depth > 0) {
    safe_vector = vector;
    safe_ec = 0;
    throw SAFE_FAULT;
  }
  const next = BigInt(start_hi) * 0x100000000n + BigInt(start_lo) + BigInt(insn_len);
  rip_set(next);
  deliver(vector, type, 0, false);
  return classify(start_lo, start_hi);
}

/**
 * #VE in a TD: records the exit information a TDG.VP.VEINFO.GET returns,
 * then raises vector 20. Returns like {@linkcode raise}.
 */
export function raise_ve(
  exit_reason: number,
  qual: bigint,
  gla: bigint,
  gpa: bigint,
  insn_len: number,
): number {
  const v = O_VE;
  if (U32[v >> 2] !== 0) {
    // #VE while the VE info is still unread: the TDX module treats it as a
    // fatal condition for the TD; as on a CPU whose VE info area is busy, the
    // event becomes a #DF-class fault.
    return raise(DF_VECTOR, 0);
  }
  U32[v >> 2] = 0xffffffff;
  U32[(v >> 2) + 1] = exit_reason;
  set_u64_at(v + 8, qual);
  set_u64_at(v + 16, gla);
  set_u64_at(v + 24, gpa);
  U32[(v + 32) >> 2] = insn_len;
  U32[(v + 36) >> 2] = 0;
  return raise(VE_VECTOR, 0);
}

let d_vector = 0;
let d_ec = 0;
let d_cr2 = 0n;

function delivery_fault(vector: number, ec: number, cr2 = 0n): never {
  d_vector = vector;
  d_ec = ec;
  d_cr2 = cr2;
  throw DELIVERY_FAULT;
}

/** Splits a linear address for `translate`. */
function split(addr: bigint): [number, number] {
  const a = BigInt.asUintN(64, addr);
  return [Number(a >> 32n), Number(a & 0xffffffffn)];
}

/** An implicit supervisor read of `size` (1, 2, 4 or 8) bytes at linear `addr` during delivery. */
function imp_read(addr: bigint, size: number): bigint {
  let v = 0n;
  for (let i = 0; i < size; i++) {
    const [hi, lo] = split(addr + BigInt(i));
    v |= BigInt(phys_byte(hi, lo, ACC_READ | ACC_IMPLICIT, -1)) << BigInt(8 * i);
  }
  return v;
}

/** An implicit supervisor write during delivery. */
function imp_write(addr: bigint, size: number, v: bigint): void {
  for (let i = 0; i < size; i++) {
    const [hi, lo] = split(addr + BigInt(i));
    phys_byte(hi, lo, ACC_WRITE | ACC_IMPLICIT, Number((v >> BigInt(8 * i)) & 0xffn));
  }
}

function phys_byte(hi: number, lo: number, acc: number, w: number): number {
  for (;;) {
    const st = translate(hi, lo, acc);
    if (st === TR_OK) {
      if (w >= 0) {
        t_dv.setUint8(t_off, w);
        return w;
      }
      return t_dv.getUint8(t_off);
    }
    if (st === TR_FAULT) {
      delivery_fault(
        f_vector,
        f_ec,
        BigInt(f_cr2_hi) * 0x100000000n + BigInt(f_cr2_lo),
      );
    }
    // The CPU's own access hit a GPA without RAM: an EPT violation the
    // kernel must fix (it cannot emulate an IDT or a stack in MMIO).
    ept_exit_raw(BigInt(hi) * 0x100000000n + BigInt(lo), (acc & 3) === ACC_WRITE ? 1 : 0, 1, 0);
  }
}

/** The EPT-violation exit of an access by the CPU itself or of an instruction fetch (length 0). */
export function ept_exit_raw(gla: bigint, is_write: number, len: number, data: number): number {
  set_exit_addresses(gla, e_gpa);
  U32[O_MMIO_LEN >> 2] = len;
  U32[O_MMIO_IS_WRITE >> 2] = is_write;
  DV.setUint32(O_MMIO_DATA, data, true);
  DV.setUint32(O_MMIO_DATA + 4, 0, true);
  return vmexit(EXIT_REASON_EPT_VIOLATION, 0, e_qual, e_private ? EPT_VIOLATION_SIM_PRIVATE_HI : 0);
}

/** A descriptor read from the GDT (bytes as two u32). */
let desc_lo = 0;
let desc_hi = 0;

function read_descriptor(sel: number, err_vector: number): void {
  const index = sel & 0xfff8;
  if (sel & 4) delivery_fault(err_vector, sel & 0xfffc);
  const limit = DV.getUint16(O_GDTR + 8, true);
  if (index + 7 > limit) delivery_fault(err_vector, sel & 0xfffc);
  const base = u64_at(O_GDTR);
  desc_lo = Number(imp_read(base + BigInt(index), 4));
  desc_hi = Number(imp_read(base + BigInt(index) + 4n, 4));
}

/** Writes the hidden part of segment register `sreg` from the descriptor just read. */
function load_hidden(sreg: number, sel: number): void {
  const off = seg_off(sreg);
  const base = ((desc_lo >>> 16) | ((desc_hi & 0xff) << 16) | (desc_hi & 0xff000000)) >>> 0;
  let limit = (desc_lo & 0xffff) | (desc_hi & 0xf0000);
  const g = (desc_hi >>> 23) & 1;
  if (g) limit = ((limit << 12) | 0xfff) >>> 0;
  DV.setUint16(off + SEG_SELECTOR, sel, true);
  let b = BigInt(base);
  if (sreg === 6 || sreg === 7) {
    // A system descriptor in IA-32e mode is 16 bytes: bits 63:32 of the base follow.
    const [hi] = [Number(imp_read(u64_at(O_GDTR) + BigInt((sel & 0xfff8) + 8), 4))];
    if (lma) b |= BigInt(hi) << 32n;
  }
  set_u64_at(off + SEG_BASE, b);
  DV.setUint32(off + SEG_LIMIT, limit, true);
  U8[off + SEG_TYPE] = (desc_hi >>> 8) & 0xf;
  U8[off + SEG_S] = (desc_hi >>> 12) & 1;
  U8[off + SEG_DPL] = (desc_hi >>> 13) & 3;
  U8[off + SEG_PRESENT] = (desc_hi >>> 15) & 1;
  U8[off + SEG_AVL] = (desc_hi >>> 20) & 1;
  U8[off + SEG_L] = (desc_hi >>> 21) & 1;
  U8[off + SEG_DB] = (desc_hi >>> 22) & 1;
  U8[off + SEG_G] = g;
  U8[off + SEG_UNUSABLE] = 0;
}

/** Sets the accessed bit of the descriptor just read, as the processor does on a load. */
function mark_accessed(sel: number, busy_tss = false): void {
  const addr = u64_at(O_GDTR) + BigInt((sel & 0xfff8) + 5);
  const b = Number(imp_read(addr, 1));
  const want = busy_tss ? b | 0x2 : b | 0x1;
  if (want !== b) imp_write(addr, 1, BigInt(want));
}

function null_segment(sreg: number, sel: number): void {
  const off = seg_off(sreg);
  DV.setUint16(off + SEG_SELECTOR, sel, true);
  U8[off + SEG_UNUSABLE] = 1;
  U8[off + SEG_PRESENT] = 0;
}

/**
 * Loads a segment register from the GDT (`mov sreg, r16`, `ltr`, far jump):
 * the checks of SDM Vol. 2 "MOV" / "LTR" / "JMP", raising #GP/#NP/#SS with the
 * selector as error code. Returns like {@linkcode raise}, or
 * {@linkcode RESUME_COMPLETE} when loaded.
 */
export function load_segment(sreg: number, sel: number, as_cpl: number = cpl): number {
  if (!protected_mode) {
    load_real_segment(sreg, sel);
    if (sreg === 1 || sreg === 2) sync_mode();
    return RESUME_COMPLETE;
  }
  for (;;) {
    try {
      load_segment_checked(sreg, sel, as_cpl);
      if (sreg === 1 || sreg === 2) sync_mode();
      return RESUME_COMPLETE;
    } catch (e) {
      if (e !== DELIVERY_FAULT) throw e;
      const r = d_vector === PF_VECTOR ? raise(PF_VECTOR, d_ec, d_cr2) : raise(d_vector, d_ec);
      if (r !== RESUME_RETRY) return r;
    }
  }
}

/**
 * The checks and the load of {@linkcode load_segment}; `as_cpl` is the
 * privilege level the load is checked for (the new CPL of a far return or
 * IRET to an outer level).
 */
function load_segment_checked(sreg: number, sel: number, as_cpl: number = cpl): void {
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    // A null selector: fine for DS/ES/FS/GS and LDTR (and SS in 64-bit mode at CPL<3).
    if (sreg === 1 || sreg === 6 || (sreg === 2 && !(long64 && as_cpl < 3))) {
      delivery_fault(GP_VECTOR, 0);
    }
    null_segment(sreg, sel);
    return;
  }
  if (sreg === 7) {
    // LLDT: an LDT descriptor (system type 2) in the GDT.
    read_descriptor(sel, GP_VECTOR);
    if ((desc_hi >>> 12) & 1 || ((desc_hi >>> 8) & 0xf) !== 2) {
      delivery_fault(GP_VECTOR, sel & 0xfffc);
    }
    if (!((desc_hi >>> 15) & 1)) delivery_fault(NP_VECTOR, sel & 0xfffc);
    load_hidden(7, sel);
    return;
  }
  read_descriptor(sel, GP_VECTOR);
  const type = (desc_hi >>> 8) & 0xf;
  const s = (desc_hi >>> 12) & 1;
  const dpl = (desc_hi >>> 13) & 3;
  const p = (desc_hi >>> 15) & 1;
  const code = (type & 8) !== 0;
  if (sreg === 6) {
    if (s || (type !== 9 && type !== 1)) delivery_fault(GP_VECTOR, sel & 0xfffc);
    if (!p) delivery_fault(NP_VECTOR, sel & 0xfffc);
    load_hidden(6, sel);
    mark_accessed(sel, true);
    U8[seg_off(6) + SEG_TYPE] = type | 2;
    return;
  }
  if (!s) delivery_fault(GP_VECTOR, sel & 0xfffc);
  if (sreg === 1) {
    if (!code) delivery_fault(GP_VECTOR, sel & 0xfffc);
    if (!p) delivery_fault(NP_VECTOR, sel & 0xfffc);
    load_hidden(1, (sel & 0xfffc) | as_cpl);
    mark_accessed(sel);
    return;
  }
  if (sreg === 2) {
    if (rpl !== as_cpl || dpl !== as_cpl || code || !(type & 2)) {
      delivery_fault(GP_VECTOR, sel & 0xfffc);
    }
    if (!p) delivery_fault(SS_VECTOR, sel & 0xfffc);
  } else {
    if (code && !(type & 2)) delivery_fault(GP_VECTOR, sel & 0xfffc);
    if (!p) delivery_fault(NP_VECTOR, sel & 0xfffc);
  }
  load_hidden(sreg, sel);
  mark_accessed(sel);
}

let frame_addr = 0n;
let frame_width = 8;

/** Linear base of the stack a frame is pushed on (SS.base outside IA-32e mode). */
let push_base = 0n;

function push(rsp: bigint, v: bigint): bigint {
  let n = rsp - BigInt(frame_width);
  if (frame_width === 4) n &= 0xffffffffn;
  imp_write(frame_width === 4 ? (push_base + n) & 0xffffffffn : n, frame_width, v);
  return n;
}

/**
 * Delivers an event through the IDT and runs its handler to completion
 * (including the `iret`). Faults during delivery become #DF / triple fault.
 */
function deliver(vector: number, type: number, ec: number, has_ec: boolean): void {
  let v = vector;
  let e = ec;
  let he = has_ec;
  let t = type;
  for (;;) {
    try {
      if (protected_mode) deliver_once(v, t, e, he);
      else deliver_real(v);
      break;
    } catch (x) {
      if (x !== DELIVERY_FAULT) throw x;
      if (v === DF_VECTOR) triple_fault();
      const c1 = exception_class(v);
      const c2 = exception_class(d_vector);
      if (
        (c1 === CLASS_CONTRIBUTORY && c2 === CLASS_CONTRIBUTORY) ||
        (c1 === CLASS_PF && c2 !== CLASS_BENIGN)
      ) {
        v = DF_VECTOR;
        e = 0;
      } else {
        v = d_vector;
        e = d_ec;
        if (v === PF_VECTOR) cr_store(2, d_cr2);
      }
      he = has_error_code(v);
      t = INTR_TYPE_HARD_EXCEPTION;
    }
  }
  // A handler in machine code runs in the interpreter, which executes its IRET.
  if (!protected_mode || !at_record()) return;
  run_handler(v, e, he);
}

/**
 * Real-mode delivery (SDM 20.1.4): the IVT entry (offset, segment) at
 * IDTR.base + 4 * vector, FLAGS, CS and IP pushed as words on SS:SP, IF, TF
 * and AC cleared. No error code is pushed.
 */
function deliver_real(v: number): void {
  const base = u64_at(O_IDTR);
  const limit = DV.getUint16(O_IDTR + 8, true);
  if (v * 4 + 3 > limit) delivery_fault(GP_VECTOR, 0);
  const ent = Number(imp_read(base + BigInt(v * 4), 4));
  const ss = seg_base(2);
  let sp = reg_lo(VCPU_REGS_RSP) & 0xffff;
  const words = [rflags() & 0xffff, seg_selector(1), rip_lo() & 0xffff];
  for (const w of words) {
    sp = (sp - 2) & 0xffff;
    imp_write(ss + BigInt(sp), 2, BigInt(w));
  }
  reg_set_sized(VCPU_REGS_RSP, 2, sp);
  set_rflags(rflags() & ~(X86_EFLAGS_IF | X86_EFLAGS_TF | X86_EFLAGS_AC | X86_EFLAGS_RF));
  load_real_segment(1, ent >>> 16);
  rip_set(BigInt(ent & 0xffff));
}

/** A segment load in real mode: base = selector * 16; limit and attributes stay. */
function load_real_segment(sreg: number, sel: number): void {
  const off = seg_off(sreg);
  DV.setUint16(off + SEG_SELECTOR, sel, true);
  set_u64_at(off + SEG_BASE, BigInt(sel << 4));
}

/** Whether RIP holds a code record (a TypeScript handler) rather than machine code. */
function at_record(): boolean {
  const [hi, lo] = code_linear();
  let magic = 0;
  for (let i = 0; i < 4; i++) {
    if (translate(hi, lo + i >= TWO32 ? lo + i - TWO32 : lo + i, ACC_FETCH) !== TR_OK) {
      return false;
    }
    magic |= t_dv.getUint8(t_off) << (8 * i);
  }
  return magic >>> 0 === GUEST_CODE_MAGIC;
}

/** Sets RIP, CS, RSP, RFLAGS for the handler after pushing the frame. */
function deliver_once(v: number, type: number, ec: number, has_ec: boolean): void {
  const ext = type === INTR_TYPE_EXT_INTR || type === INTR_TYPE_NMI_INTR ||
      type === INTR_TYPE_HARD_EXCEPTION
    ? 1
    : 0;
  const gate_size = lma ? 16 : 8;
  const idt_limit = DV.getUint16(O_IDTR + 8, true);
  const idt_base = u64_at(O_IDTR);
  if (v * gate_size + gate_size - 1 > idt_limit) delivery_fault(GP_VECTOR, v * 8 + 2 + ext);
  const g0 = Number(imp_read(idt_base + BigInt(v * gate_size), 4));
  const g1 = Number(imp_read(idt_base + BigInt(v * gate_size) + 4n, 4));
  const g2 = lma ? Number(imp_read(idt_base + BigInt(v * gate_size) + 8n, 4)) : 0;
  const gtype = (g1 >>> 8) & 0xf;
  const gdpl = (g1 >>> 13) & 3;
  const gp = (g1 >>> 15) & 1;
  const ist = g1 & 7;
  if (gtype !== 0xe && gtype !== 0xf) delivery_fault(GP_VECTOR, v * 8 + 2 + ext);
  if ((type === INTR_TYPE_SOFT_INTR || type === INTR_TYPE_SOFT_EXCEPTION) && gdpl < cpl) {
    delivery_fault(GP_VECTOR, v * 8 + 2);
  }
  if (!gp) delivery_fault(NP_VECTOR, v * 8 + 2 + ext);
  const sel = g0 >>> 16;
  let offset = BigInt(((g0 & 0xffff) | (g1 & 0xffff0000)) >>> 0);
  if (lma) offset |= BigInt(g2) << 32n;
  // The target code segment.
  if ((sel & 0xfffc) === 0) delivery_fault(GP_VECTOR, ext);
  read_descriptor(sel, GP_VECTOR);
  const cdpl = (desc_hi >>> 13) & 3;
  if (!((desc_hi >>> 12) & 1) || !((desc_hi >>> 11) & 1) || cdpl > cpl) {
    delivery_fault(GP_VECTOR, (sel & 0xfffc) + ext);
  }
  if (!((desc_hi >>> 15) & 1)) delivery_fault(NP_VECTOR, (sel & 0xfffc) + ext);
  if (lma && !(((desc_hi >>> 21) & 1) === 1 && ((desc_hi >>> 22) & 1) === 0)) {
    delivery_fault(GP_VECTOR, (sel & 0xfffc) + ext);
  }
  const old_rsp = reg_get(VCPU_REGS_RSP);
  const old_ss = seg_selector(2);
  const old_cs = seg_selector(1);
  const old_rflags = BigInt(rflags());
  const old_rip = rip_get();
  let rsp = old_rsp;
  const new_cpl = cdpl;
  const tss = seg_base(6);
  let new_ss = -1;
  push_base = 0n;
  if (lma) {
    if (ist) rsp = imp_read(tss + BigInt(0x24 + 8 * (ist - 1)), 8);
    else if (new_cpl < cpl) rsp = imp_read(tss + BigInt(4 + 8 * new_cpl), 8);
    // The 64-bit frame is 16-byte aligned (SDM 6.14.2).
    rsp &= ~0xfn;
    frame_width = 8;
    rsp = push(rsp, BigInt(old_ss));
    rsp = push(rsp, old_rsp);
  } else {
    frame_width = 4;
    rsp &= 0xffffffffn;
    push_base = seg_base(2) & 0xffffffffn;
    if (new_cpl < cpl) {
      // The 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n; the old SS:ESP go on the new stack.
      rsp = imp_read(tss + BigInt(4 + 8 * new_cpl), 4);
      new_ss = Number(imp_read(tss + BigInt(8 + 8 * new_cpl), 2));
      if ((new_ss & 0xfffc) === 0) delivery_fault(TS_VECTOR, seg_selector(6) & 0xfffc);
      read_descriptor(new_ss, TS_VECTOR);
      push_base = BigInt(
        ((desc_lo >>> 16) | ((desc_hi & 0xff) << 16) | (desc_hi & 0xff000000)) >>> 0,
      );
      rsp = push(rsp, BigInt(old_ss));
      rsp = push(rsp, old_rsp & 0xffffffffn);
    }
  }
  rsp = push(rsp, old_rflags);
  rsp = push(rsp, BigInt(old_cs));
  rsp = push(rsp, lma ? old_rip : old_rip & 0xffffffffn);
  frame_addr = lma ? rsp : (push_base + rsp) & 0xffffffffn;
  if (has_ec) rsp = push(rsp, BigInt(ec));
  // Commit: nothing above faulted.
  load_hidden(1, (sel & 0xfffc) | new_cpl);
  if (new_cpl < cpl && lma) null_segment(2, new_cpl);
  if (new_ss >= 0) load_segment_checked(2, new_ss, new_cpl);
  reg_set(VCPU_REGS_RSP, rsp);
  let fl = Number(old_rflags) & ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF | X86_EFLAGS_VM);
  if (gtype === 0xe) fl &= ~X86_EFLAGS_IF;
  set_rflags(fl);
  rip_set(offset);
  if (new_cpl !== cpl) U8[seg_off(2) + SEG_DPL] = new_cpl;
  sync_mode();
}

function triple_fault(): never {
  U32[O_ACTIVITY >> 2] = GUEST_ACTIVITY_SHUTDOWN;
  U32[O_EXIT_INTR_INFO >> 2] = 0;
  vmexit(EXIT_REASON_TRIPLE_FAULT, 0, 0);
  // Whatever RIP the kernel left (KVM resets the vCPU or leaves it), guest
  // frames of the shut-down context are gone.
  transfer_pending = true;
  ticks = 0;
  throw TRANSFER;
}

/** Runs the handler at RIP with an `ex_regs` built from the frame, then `iret`s. */
function run_handler(vector: number, ec: number, has_ec: boolean): void {
  const my_frame = frame_addr;
  const width = frame_width;
  const saved_lo = fn_lo;
  const saved_hi = fn_hi;
  const saved_len = fn_len;
  const saved_cs = new Uint8Array(U8.subarray(seg_off(1), seg_off(1) + 24));
  const saved_ss = new Uint8Array(U8.subarray(seg_off(2), seg_off(2) + 24));
  const regs = ex_regs.alloc();
  for (let i = 0; i < EX_REGS_GPRS.length; i++) {
    regs.$dv.setBigUint64(8 * i, reg_get(EX_REGS_GPRS[i]!), true);
  }
  regs.vector = BigInt(vector);
  regs.error_code = has_ec ? BigInt(ec) : 0n;
  regs.rip = imp_read(my_frame, width);
  regs.cs = imp_read(my_frame + BigInt(width), width);
  regs.rflags = imp_read(my_frame + BigInt(2 * width), width);
  execute(regs);
  // iret: the stub pops the GPRs, the frame is popped by IRETQ.
  for (let i = 0; i < EX_REGS_GPRS.length; i++) {
    reg_set(EX_REGS_GPRS[i]!, regs.$dv.getBigUint64(8 * i, true));
  }
  imp_write(my_frame, width, regs.rip);
  imp_write(my_frame + BigInt(width), width, regs.cs);
  imp_write(my_frame + BigInt(2 * width), width, regs.rflags);
  const rip = imp_read(my_frame, width);
  const cs = Number(imp_read(my_frame + BigInt(width), width)) & 0xffff;
  const fl = Number(imp_read(my_frame + BigInt(2 * width), width) & 0xffffffffn);
  if (width === 8) {
    const rsp = imp_read(my_frame + 24n, 8);
    const ss = Number(imp_read(my_frame + 32n, 8)) & 0xffff;
    reg_set(VCPU_REGS_RSP, rsp);
    if (ss === saved_ss[SEG_SELECTOR]! + (saved_ss[SEG_SELECTOR + 1]! << 8)) {
      U8.set(saved_ss, seg_off(2));
    } else load_segment_checked(2, ss);
  } else {
    reg_set(VCPU_REGS_RSP, my_frame + 12n);
  }
  if (cs === saved_cs[SEG_SELECTOR]! + (saved_cs[SEG_SELECTOR + 1]! << 8)) {
    U8.set(saved_cs, seg_off(1));
  } else load_segment_checked(1, cs);
  set_rflags(fl);
  rip_set(rip);
  fn_lo = saved_lo;
  fn_hi = saved_hi;
  fn_len = saved_len;
  sync_mode();
}

// ---------------------------------------------------------------------------
// Fetch and execute.

const fetch_buf = new Uint8Array(16);
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
let rec_fn: guest_fn | undefined;
let rec_len = 0;

/** The linear address of RIP (CS base outside 64-bit mode), as hi/lo. */
function code_linear(): [number, number] {
  if (long64) return [rip_hi(), rip_lo()];
  const ip = code16 ? rip_lo() & 0xffff : rip_lo();
  return [0, (Number(seg_base(1) & 0xffffffffn) + ip) >>> 0];
}

/**
 * Fetches `n` bytes at linear `hi:lo` into `out`. Returns true, or false when
 * a fault was delivered / an exit taken (the caller refetches at RIP).
 */
function fetch(hi: number, lo: number, n: number, out: Uint8Array): boolean {
  for (let i = 0; i < n; i++) {
    let l = lo + i;
    let h = hi;
    if (l >= TWO32) {
      l -= TWO32;
      h = long64 ? (h + 1) >>> 0 : 0;
    }
    const st = translate(h, l, ACC_FETCH);
    if (st === TR_OK) {
      out[i] = t_dv.getUint8(t_off);
      continue;
    }
    if (st === TR_FAULT) raise_translation_fault();
    else ept_exit_raw(BigInt(h) * 0x100000000n + BigInt(l), 0, 1, 0);
    return false;
  }
  return true;
}

/**
 * Reads the code record at linear `hi:lo` and resolves its function into
 * `rec_fn`/`rec_len`. Returns 1 (record), 0 (not a record: raw bytes in
 * `fetch_buf`), -1 (a fault was delivered), -2 (#UD raised).
 */
function fetch_record(hi: number, lo: number): number {
  if (!fetch(hi, lo, 1, fetch_buf)) return -1;
  if (fetch_buf[0] !== 0x0f) return 0;
  if (!fetch(hi, lo, 4, fetch_buf)) return -1;
  const magic = (fetch_buf[0]! | (fetch_buf[1]! << 8) | (fetch_buf[2]! << 16) |
    (fetch_buf[3]! << 24)) >>> 0;
  if (magic !== GUEST_CODE_MAGIC) return 0;
  if (!fetch(hi, lo, GUEST_CODE_HDR_SIZE, fetch_buf)) return -1;
  const hv = new DataView(fetch_buf.buffer);
  const version = hv.getUint16(4, true);
  const hdr_size = hv.getUint16(6, true);
  const name_len = hv.getUint32(8, true);
  const digest_len = hv.getUint32(12, true);
  if (
    version !== GUEST_CODE_VERSION || hdr_size !== GUEST_CODE_HDR_SIZE || name_len === 0 ||
    name_len > 4096 || digest_len !== GUEST_CODE_DIGEST_SIZE
  ) {
    raise(UD_VECTOR);
    return -2;
  }
  const body = new Uint8Array(name_len + digest_len);
  if (!fetch(hi, lo + GUEST_CODE_HDR_SIZE, body.length, body)) return -1;
  let name: string;
  try {
    name = decoder.decode(body.subarray(0, name_len));
  } catch {
    raise(UD_VECTOR);
    return -2;
  }
  const fn = guest_fn_resolve(name, images);
  if (!fn || !same_bytes(guest_fn_digest(fn), body.subarray(name_len))) {
    // Not the function the record claims (or overwritten code): invalid opcode.
    raise(UD_VECTOR);
    return -2;
  }
  rec_fn = fn;
  rec_len = GUEST_CODE_HDR_SIZE + name_len + digest_len;
  return 1;
}

function same_bytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Executes from RIP. With `regs` (an exception handler), returns when the
 * handler function returns; without, runs forever (returns only by throwing).
 */
function execute(regs: ex_regs_view | null): void {
  for (;;) {
    tick();
    const [hi, lo] = code_linear();
    const r = fetch_record(hi, lo);
    if (r < 0) continue;
    if (r === 0) {
      interp_run();
      continue;
    }
    raw_len = 0;
    const fn = rec_fn!;
    fn_lo = rip_lo();
    fn_hi = rip_hi();
    fn_len = rec_len;
    if (regs) {
      fn(regs);
      if (transfer_pending) throw TRANSFER;
      return;
    }
    fn(
      reg_get(VCPU_REGS_RDI),
      reg_get(VCPU_REGS_RSI),
      reg_get(VCPU_REGS_RDX),
      reg_get(VCPU_REGS_RCX),
      reg_get(8),
      reg_get(9),
    );
    if (transfer_pending) throw TRANSFER;
    // The function returned: `ret` pops RIP from the stack.
    for (;;) {
      const rsp = reg_get(VCPU_REGS_RSP);
      const w = long64 ? 8 : 4;
      try {
        const target = imp_read(rsp, w);
        reg_set(VCPU_REGS_RSP, rsp + BigInt(w));
        fn_len = 0;
        rip_set(target);
        break;
      } catch (e) {
        if (e !== DELIVERY_FAULT) throw e;
        const res = d_vector === PF_VECTOR ? raise(PF_VECTOR, d_ec, d_cr2) : raise(d_vector, d_ec);
        if (res !== RESUME_RETRY) {
          fn_len = 0;
          break;
        }
      }
    }
  }
}

/**
 * `call` of the guest function whose code record is at `gva` (a function
 * pointer read from guest memory, such as a registered exception handler):
 * fetches and checks the record as any fetch does, runs the function with
 * `args` while RIP holds the callee's record, and returns its result with
 * RIP back at the caller's record. A fetch fault is delivered with RIP at the
 * target; if the handler leaves it there, the fetch is retried.
 */
export function call_gva(hi: number, lo: number, args: unknown[]): unknown {
  const saved_lo = fn_lo;
  const saved_hi = fn_hi;
  const saved_len = fn_len;
  const ret_lo = rip_lo();
  const ret_hi = rip_hi();
  set_rip(hi, lo);
  fn_len = 0;
  for (;;) {
    tick();
    const [h, l] = code_linear();
    if (h !== hi || l !== lo) jump_to(rip_hi(), rip_lo());
    const r = fetch_record(h, l);
    if (r < 0) continue;
    if (r === 0) {
      // Machine code: called with the SysV argument registers; it returns
      // (RET) to the caller's record address, which ends the call.
      return call_raw(ret_hi, ret_lo, saved_lo, saved_hi, saved_len, args);
    }
    const fn = rec_fn!;
    fn_lo = lo;
    fn_hi = hi;
    fn_len = rec_len;
    const result = fn(...args);
    if (transfer_pending) throw TRANSFER;
    fn_lo = saved_lo;
    fn_hi = saved_hi;
    fn_len = saved_len;
    set_rip(ret_hi, ret_lo);
    return result;
  }
}

function call_raw(
  ret_hi: number,
  ret_lo: number,
  saved_lo: number,
  saved_hi: number,
  saved_len: number,
  args: unknown[],
): bigint {
  const arg_regs = [VCPU_REGS_RDI, VCPU_REGS_RSI, VCPU_REGS_RDX, VCPU_REGS_RCX, 8, 9];
  args.slice(0, 6).forEach((a, i) => {
    if (typeof a === "bigint" || typeof a === "number") reg_set(arg_regs[i]!, BigInt(a));
  });
  const w = long64 ? 8 : 4;
  const rsp = reg_get(VCPU_REGS_RSP) - BigInt(w);
  const ret = BigInt(ret_hi) * 0x100000000n + BigInt(ret_lo);
  try {
    imp_write(rsp, w, ret);
  } catch (e) {
    if (e !== DELIVERY_FAULT) throw e;
    raise(d_vector, d_ec, d_cr2);
    return reg_get(VCPU_REGS_RAX);
  }
  reg_set(VCPU_REGS_RSP, rsp);
  const depth_rsp = rsp + BigInt(w);
  for (;;) {
    tick();
    // Returns at the first code record RIP reaches: the caller's (RET), or another (a jump).
    interp_run();
    if (rip_lo() === ret_lo && rip_hi() === ret_hi && reg_get(VCPU_REGS_RSP) === depth_rsp) break;
    jump_to(rip_hi(), rip_lo());
  }
  raw_len = 0;
  fn_lo = saved_lo;
  fn_hi = saved_hi;
  fn_len = saved_len;
  return reg_get(VCPU_REGS_RAX);
}

/**
 * A `lock`-prefixed read-modify-write of one byte of guest memory at `hi:lo`:
 * `op(old)` is stored atomically (other vCPUs see all or nothing); returns
 * the old byte. Faults and MMIO are handled as for a write.
 */
export function atomic_byte(hi: number, lo: number, set_mask: number, clear_mask: number): number {
  for (;;) {
    const st = translate(hi, lo, ACC_WRITE);
    if (st === TR_OK) {
      const bytes = bytes_of(t_dv.buffer as SharedArrayBuffer);
      const off = t_dv.byteOffset + t_off;
      if (set_mask) return Atomics.or(bytes, off, set_mask);
      return Atomics.and(bytes, off, ~clear_mask & 0xff);
    }
    const r = st === TR_FAULT ? raise_translation_fault() : RESUME_RETRY;
    if (st === TR_EPT) {
      // A locked access to MMIO: KVM emulates it as a read then a write.
      const old = read_slow(hi, lo, 1);
      write_slow(hi, lo, 1, set_mask ? old | set_mask : old & ~clear_mask);
      return old;
    }
    if (r === RESUME_RETRY) continue;
    return skip_value(1);
  }
}

const byte_views = new WeakMap<SharedArrayBuffer, Uint8Array>();

function bytes_of(b: SharedArrayBuffer): Uint8Array {
  let v = byte_views.get(b);
  if (!v) {
    v = new Uint8Array(b);
    byte_views.set(b, v);
  }
  return v;
}

// ---------------------------------------------------------------------------
// Memory accesses with the instruction-level policy: faults are raised
// (skip/retry), guest-physical addresses without RAM exit to the kernel.

/** `mov` with a memory operand: the instruction length reported on MMIO exits. */
export const INSN_LEN_MOV = 3;

function skip_value(size: number): number {
  const v = reg_lo(VCPU_REGS_RAX);
  return size === 4 ? v : v & ((1 << (8 * size)) - 1);
}

/**
 * The guest-physical half of an access that found no RAM: exit (or #VE in a
 * TD). The exit reports the interpreted instruction's length, or a `mov`'s
 * for a code record's access. Returns like {@linkcode vmexit}.
 */
export function mmio(
  hi: number,
  lo: number,
  size: number,
  is_write: boolean,
  data_lo: number,
  data_hi: number,
): number {
  const gla = BigInt(hi) * 0x100000000n + BigInt(lo);
  if (e_td_mmio) {
    return raise_ve(
      EXIT_REASON_EPT_VIOLATION,
      BigInt(e_qual),
      gla,
      BigInt(e_gpa),
      raw_len || INSN_LEN_MOV,
    );
  }
  set_exit_addresses(gla, e_gpa);
  U32[O_MMIO_LEN >> 2] = size;
  U32[O_MMIO_IS_WRITE >> 2] = is_write ? 1 : 0;
  DV.setUint32(O_MMIO_DATA, is_write ? data_lo : 0, true);
  DV.setUint32(O_MMIO_DATA + 4, is_write ? data_hi : 0, true);
  return vmexit(
    EXIT_REASON_EPT_VIOLATION,
    raw_len || INSN_LEN_MOV,
    e_qual,
    e_private ? EPT_VIOLATION_SIM_PRIVATE_HI : 0,
  );
}

let s_hi = 0;
let s_lo = 0;

function next_byte_addr(hi: number, lo: number, i: number): void {
  let l = lo + i;
  let h = hi;
  if (l >= TWO32) {
    l -= TWO32;
    h = (h + 1) >>> 0;
  }
  s_hi = h;
  s_lo = l;
}

/** Slow path of a guest read of `size` (1, 2, 4) bytes at linear `hi:lo`. */
export function read_slow(hi: number, lo: number, size: number): number {
  if ((lo & 0xfff) + size > 4096) {
    // Straddles two pages: two translations, as hardware does (byte-wise here).
    let v = 0;
    for (let i = 0; i < size; i++) {
      next_byte_addr(hi, lo, i);
      v |= read_slow(s_hi, s_lo, 1) << (8 * i);
    }
    return v >>> 0;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_READ);
    if (st === TR_OK) {
      return size === 1
        ? t_dv.getUint8(t_off)
        : size === 2
        ? t_dv.getUint16(t_off, true)
        : t_dv.getUint32(t_off, true);
    }
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(hi, lo, size, false, 0, 0);
    if (r === RESUME_RETRY) continue;
    if (st === TR_EPT && !e_td_mmio) {
      const v = DV.getUint32(O_MMIO_DATA, true);
      return size === 4 ? v : v & ((1 << (8 * size)) - 1);
    }
    return skip_value(size);
  }
}

/** Slow path of a guest 8-byte read. */
export function read64_slow(hi: number, lo: number): bigint {
  if ((lo & 0xfff) + 8 > 4096) {
    let v = 0n;
    for (let i = 0; i < 8; i++) {
      next_byte_addr(hi, lo, i);
      v |= BigInt(read_slow(s_hi, s_lo, 1)) << BigInt(8 * i);
    }
    return v;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_READ);
    if (st === TR_OK) return t_dv.getBigUint64(t_off, true);
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(hi, lo, 8, false, 0, 0);
    if (r === RESUME_RETRY) continue;
    if (st === TR_EPT && !e_td_mmio) return DV.getBigUint64(O_MMIO_DATA, true);
    return reg_get(VCPU_REGS_RAX);
  }
}

/** Slow path of a guest write of `size` (1, 2, 4) bytes. */
export function write_slow(hi: number, lo: number, size: number, v: number): void {
  if ((lo & 0xfff) + size > 4096) {
    for (let i = 0; i < size; i++) {
      next_byte_addr(hi, lo, i);
      write_slow(s_hi, s_lo, 1, (v >>> (8 * i)) & 0xff);
    }
    return;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_WRITE);
    if (st === TR_OK) {
      if (size === 1) t_dv.setUint8(t_off, v);
      else if (size === 2) t_dv.setUint16(t_off, v, true);
      else t_dv.setUint32(t_off, v, true);
      return;
    }
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(hi, lo, size, true, v >>> 0, 0);
    if (r === RESUME_RETRY) continue;
    return;
  }
}

/** Slow path of a guest 8-byte write. */
export function write64_slow(hi: number, lo: number, v: bigint): void {
  if ((lo & 0xfff) + 8 > 4096) {
    for (let i = 0; i < 8; i++) {
      next_byte_addr(hi, lo, i);
      write_slow(s_hi, s_lo, 1, Number((v >> BigInt(8 * i)) & 0xffn));
    }
    return;
  }
  for (;;) {
    const st = translate(hi, lo, ACC_WRITE);
    if (st === TR_OK) {
      t_dv.setBigUint64(t_off, v, true);
      return;
    }
    const r = st === TR_FAULT ? raise_translation_fault() : mmio(
      hi,
      lo,
      8,
      true,
      Number(v & 0xffffffffn),
      Number((BigInt.asUintN(64, v) >> 32n) & 0xffffffffn),
    );
    if (r === RESUME_RETRY) continue;
    return;
  }
}

// ---------------------------------------------------------------------------
// Miscellaneous state the intrinsics need.

/** TSC: host time at `tsc_khz`, plus the VMCS TSC offset. */
export function read_tsc(): bigint {
  const khz = U32[O_TSC_KHZ >> 2]! || 1000000;
  let ticks_now = BigInt(Math.floor((performance.timeOrigin + performance.now()) * khz));
  // The TSC counts cycles: two reads never return the same value, even when
  // the host clock (microseconds, and a double past 2^53 ticks) has not moved.
  if (ticks_now <= last_ticks) ticks_now = last_ticks + 1n;
  last_ticks = ticks_now;
  return BigInt.asUintN(64, ticks_now + u64_at(O_TSC_OFFSET));
}

/** The last host-time reading of {@linkcode read_tsc}, before the guest's TSC offset. */
let last_ticks = 0n;

/** Stores `count` for a string I/O exit. */
export function set_io_count(n: number): void {
  U32[O_IO_COUNT >> 2] = n;
}

/** Sets or clears blocking by STI in the interruptibility state. */
export function set_sti_blocking(on: boolean): void {
  U32[O_INTERRUPTIBILITY >> 2] = on ? 1 : 0;
  // Blocking lasts through the next intrinsic: checked at the next two ticks.
  sti_shadow_ticks = on ? 2 : 0;
  if (on) ticks = 0;
}

/** GDTR/IDTR accessors for `lgdt`/`lidt`/`sgdt`/`sidt`. */
export function dtable_get(idt: boolean): { base: bigint; limit: number } {
  const off = idt ? O_IDTR : O_GDTR;
  return { base: u64_at(off), limit: DV.getUint16(off + 8, true) };
}

/** Loads GDTR or IDTR. */
export function dtable_set(idt: boolean, base: bigint, limit: number): void {
  const off = idt ? O_IDTR : O_GDTR;
  set_u64_at(off, base);
  DV.setUint16(off + 8, limit, true);
}

/** Whether EFER.LME is set (for CR0.PG writes). */
export function efer_lme(): boolean {
  return (U32[O_EFER >> 2]! & EFER_LME) !== 0;
}

/** Sets or clears EFER.LMA, as the CPU does when CR0.PG changes with EFER.LME. */
export function set_lma(on: boolean): void {
  const i = O_EFER >> 2;
  U32[i] = on ? U32[i]! | EFER_LMA : U32[i]! & ~EFER_LMA;
}

/** `CS.L` of the current code segment. */
export function cs_l(): boolean {
  return U8[seg_off(1) + SEG_L] === 1;
}

// ---------------------------------------------------------------------------
// The worker's run loop.

/** Attaches the CPU to its VMCS (worker start). */
export function cpu_init(buf: SharedArrayBuffer, offset: number, p: MessagePort): void {
  U32 = new Uint32Array(buf, offset, VMCS_SIZE >> 2);
  U8 = new Uint8Array(buf, offset, VMCS_SIZE);
  DV = new DataView(buf, offset, VMCS_SIZE);
  CTL = new Int32Array(buf, offset, 16);
  port = p;
  in_worker = true;
  invalidate_mode();
}

function store_crash(text: string): void {
  const bytes = encoder.encode(text);
  const n = Math.min(bytes.length, VMCS_CRASH_TEXT_SIZE);
  U8.set(bytes.subarray(0, n), O_CRASH_TEXT);
  U32[O_CRASH_LEN >> 2] = n;
}

function error_text(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return `Uncaught ${typeof e === "string" ? JSON.stringify(e) : String(e)}`;
}

/** The guest image could not be loaded: the first entry reports a guest crash. */
export function cpu_start_failed(e: unknown): void {
  store_crash(`vCPU worker could not load the guest image: ${error_text(e)}`);
  U32[O_EXIT_REASON >> 2] = SIM_EXIT_REASON_GUEST_CRASH;
  Atomics.store(CTL, C_WORKER_STATE, WORKER_DEAD);
  signal_exit();
}

/**
 * The worker's main loop: wait for the first entry, then execute from RIP
 * forever. Returns when the host stops the vCPU.
 */
export function cpu_run(image_modules: Record<string, unknown>[]): void {
  images = image_modules;
  Atomics.store(CTL, C_WORKER_STATE, WORKER_READY);
  try {
    wait_for_run();
  } catch (e) {
    if (e === KILL) return;
    throw e;
  }
  for (;;) {
    try {
      fn_len = 0;
      transfer_pending = false;
      execute(null);
    } catch (e) {
      if (e === KILL) return;
      if (e === TRANSFER) continue;
      transfer_pending = false;
      safe_depth = 0;
      // A JavaScript exception in guest code: a bug in the test.
      store_crash(
        error_text(
          e === SAFE_FAULT || e === DELIVERY_FAULT
            ? new Error("sim: " + String((e as { sim: string }).sim) + " escaped")
            : e,
        ),
      );
      try {
        fn_len = 0;
        vmexit(SIM_EXIT_REASON_GUEST_CRASH, 0, 0);
      } catch (x) {
        if (x === KILL) return;
        if (x !== TRANSFER) throw x;
      }
      U32[O_CRASH_LEN >> 2] = 0;
    }
  }
}

/** Bytes of the VMCS I/O data page (for string I/O). */
export function io_data(): Uint8Array {
  return U8.subarray(O_IO_DATA, O_IO_DATA + 4096);
}
