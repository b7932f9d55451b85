// SPDX-License-Identifier: GPL-2.0-only
/**
 * VM exits and entries: the handshake with the host, the exit information,
 * and what an instruction does once the vCPU is back.
 *
 * ## Control flow
 *
 * An exiting instruction calls {@linkcode vmexit}: it stores the exit reason,
 * length and qualification in the VMCS, sets the run state to EXIT (the host
 * wakes in `vcpu_thread.ts`) and blocks until the host sets it to RUN again
 * (`wait_for_run`; a kill request throws `KILL` instead). After the entry:
 *
 * 1. an event the kernel injected (`entry_intr_info`) is delivered through
 *    the IDT (`events.ts`), or, inside `kvm_asm_safe()`, handed back as its
 *    result (`SAFE_FAULT`);
 * 2. `classify` compares RIP with where the instruction started: unchanged is
 *    {@linkcode RESUME_RETRY} (execute it again), the end of the interpreted
 *    instruction or anywhere inside the running code record is
 *    {@linkcode RESUME_COMPLETE} (done, or skipped by a handler), anything
 *    else throws `TRANSFER`, so that the run loop fetches at the new RIP.
 *
 * Between exits, {@linkcode tick} counts instructions; every
 * `TICK_INTERVAL` (or at the next boundary when `vcpu.ticks` was zeroed) the
 * slow tick checks the kill word, a transfer that guest code swallowed, a new
 * memory map, the end of an STI shadow, a kick from the host (an interrupt
 * became pending: an external-interrupt exit) and an open interrupt window.
 *
 * @module
 */

import {
  C_ACK,
  C_GEN,
  C_IRQ_WINDOW,
  C_KICK,
  C_KILL,
  C_RUN_STATE,
  KILL,
  O_APIC_SYNC,
  O_APIC_SYNC_DEST,
  O_APIC_SYNC_MS,
  O_ENTRY_EC,
  O_ENTRY_INTR_INFO,
  O_EXIT_LEN,
  O_EXIT_QUAL,
  O_EXIT_REASON,
  O_GLA,
  O_GPA,
  O_INTERRUPTIBILITY,
  O_MMIO_DATA,
  O_MMIO_IS_WRITE,
  O_MMIO_LEN,
  O_TMCCT_PERIOD,
  O_TMCCT_TARGET,
  O_TMCCT_TICK,
  reg_set_pair,
  RESUME_COMPLETE,
  RESUME_RETRY,
  rflags,
  rip_hi,
  rip_lo,
  SAFE_FAULT,
  set_rip,
  set_u64_at,
  sync_mode,
  TICK_INTERVAL,
  TRANSFER,
  TWO32,
  vcpu,
} from "./state.ts";
import {
  EPT_VIOLATION_SIM_PRIVATE_HI,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_INTERRUPT_WINDOW,
  EXIT_REASON_NMI_WINDOW,
  GUEST_INTR_STATE_MOV_SS,
  GUEST_INTR_STATE_NMI,
  GUEST_INTR_STATE_STI,
  INTR_INFO_DELIVER_CODE_MASK,
  INTR_INFO_VALID_MASK,
  INTR_TYPE_HARD_EXCEPTION,
  VCPU_REGS_RAX,
  VCPU_REGS_RDX,
  VCPU_STATE_EXIT,
  VCPU_STATE_RUN,
  X86_EFLAGS_IF,
} from "./vmx.ts";
import { deliver, raise_ve } from "./events.ts";
import {
  VMCS_APIC_SYNC_DEST_EDX_EAX,
  VMCS_APIC_SYNC_STAMPED,
  VMCS_APIC_SYNC_TIMER_START,
  VMCS_APIC_SYNC_TMCCT,
  VMCS_APIC_SYNC_TMCCT_PERIODIC,
  VMCS_IRQ_WINDOW_INTR,
  VMCS_IRQ_WINDOW_NMI,
} from "./vmcs.ts";
import { e_gpa, e_private, e_qual, e_td_mmio, mem, tlb_flush } from "./mmu.ts";
import { type MessagePort as NodeMessagePort, receiveMessageOnPort } from "node:worker_threads";
import type { vcpu_memmap_message } from "./vcpu_thread.ts";
import { spin_budget } from "./spin.ts";

// ---------------------------------------------------------------------------
// Ticks: the kill word, memory-map updates, swallowed transfers, event windows.

/** Counts one instruction; every {@linkcode TICK_INTERVAL} checks for a stop request. */
export function tick(): void {
  if (--vcpu.ticks < 0) tick_slow();
}

/**
 * Counts `n` instructions at once: the iterations of a string operation done
 * as one block. The periodic checks then run at most once for them.
 */
export function tick_n(n: number): void {
  vcpu.ticks -= n;
  if (vcpu.ticks < 0) tick_slow();
}

/** The periodic checks of {@linkcode tick}. */
export function tick_slow(): void {
  vcpu.ticks = TICK_INTERVAL;
  if (!vcpu.in_worker) throw new Error("Guest intrinsics can only run in a vCPU worker");
  if (Atomics.load(vcpu.ctl, C_KILL) !== 0) throw KILL;
  if (vcpu.transfer_pending) throw TRANSFER;
  if (Atomics.load(vcpu.ctl, C_GEN) !== vcpu.memmap_generation) sync_memmap();
  if (vcpu.sti_shadow_ticks > 0) {
    // The STI intrinsic's shadow covers the next intrinsic only.
    if (--vcpu.sti_shadow_ticks === 0) {
      vcpu.u32[O_INTERRUPTIBILITY >> 2] = vcpu.u32[O_INTERRUPTIBILITY >> 2]! &
        ~GUEST_INTR_STATE_STI;
    } else vcpu.ticks = 0;
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
  if (Atomics.load(vcpu.ctl, C_KICK) !== 0) {
    Atomics.store(vcpu.ctl, C_KICK, 0);
    vmexit(EXIT_REASON_EXTERNAL_INTERRUPT, 0, 0);
  } else if (
    vcpu.nmi_window &&
    !(vcpu.u32[O_INTERRUPTIBILITY >> 2]! &
      (GUEST_INTR_STATE_NMI | GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))
  ) {
    // NMI-window exiting: NMIs are no longer blocked (an IRET ran).
    vcpu.nmi_window = false;
    vmexit(EXIT_REASON_NMI_WINDOW, 0, 0);
  } else if (vcpu.irq_window) {
    if ((rflags() & X86_EFLAGS_IF) && !(vcpu.u32[O_INTERRUPTIBILITY >> 2]! & 3)) {
      vcpu.irq_window = false;
      vmexit(EXIT_REASON_INTERRUPT_WINDOW, 0, 0);
    }
  }
  // While a window is requested every boundary is checked.
  if (vcpu.irq_window || vcpu.nmi_window || vcpu.sti_shadow_ticks > 0) vcpu.ticks = 0;
}

/**
 * Maps the memory-map update the host posted, then acknowledges its
 * generation. The runner calls it before the first entry too: a map posted
 * with the attach is taken while the host still sets the vCPU up.
 */
export function sync_memmap(): void {
  const want = Atomics.load(vcpu.ctl, C_GEN);
  if (want === vcpu.memmap_generation || !vcpu.port) return;
  const give_up = performance.now() + 5000;
  for (;;) {
    // Deno's takes the web MessagePort the attach message transferred.
    const m = receiveMessageOnPort(vcpu.port as unknown as NodeMessagePort);
    if (m) {
      const msg = m.message as vcpu_memmap_message;
      if (msg.delta) mem.update_map(msg.delta);
      else mem.set_map(msg.map!);
      vcpu.memmap_generation = msg.generation;
      if (msg.generation >= want) break;
      continue;
    }
    // The host posts before it bumps the generation; the message is in flight.
    if (performance.now() > give_up) throw new Error("sim: memory map update lost");
    Atomics.wait(vcpu.ctl, C_KILL, 0, 1);
  }
  tlb_flush(false);
  // Acknowledge: no access through the old map can happen from here on.
  Atomics.store(vcpu.ctl, C_ACK, vcpu.memmap_generation);
}

// ---------------------------------------------------------------------------
// The handshake with the host.

/** How long this worker polls for the next entry before it sleeps (spin.ts). */
const entry_spin = new spin_budget();

/** Blocks until the host enters the vCPU (throws `KILL` when it stops it instead), then resyncs. */
export function wait_for_run(): void {
  entry_spin.spin(vcpu.ctl, C_RUN_STATE, VCPU_STATE_EXIT);
  for (;;) {
    if (Atomics.load(vcpu.ctl, C_KILL) !== 0) throw KILL;
    const cur = Atomics.load(vcpu.ctl, C_RUN_STATE);
    if (cur === VCPU_STATE_RUN) break;
    Atomics.wait(vcpu.ctl, C_RUN_STATE, cur, 50);
  }
  if (vcpu.u32[O_APIC_SYNC >> 2] !== 0) apic_sync_at_resume();
  if (Atomics.load(vcpu.ctl, C_GEN) !== vcpu.memmap_generation) sync_memmap();
  sync_mode();
  const windows = Atomics.load(vcpu.ctl, C_IRQ_WINDOW);
  vcpu.irq_window = (windows & VMCS_IRQ_WINDOW_INTR) !== 0;
  vcpu.nmi_window = (windows & VMCS_IRQ_WINDOW_NMI) !== 0;
  if (windows || Atomics.load(vcpu.ctl, C_KICK) !== 0) vcpu.ticks = 0;
}

/**
 * Finishes the APIC timer access of the last exit now, as the guest
 * resumes and its instruction retires (`vmcs.ts`, `apic_sync`): stamps the
 * time for a timer the kernel started, and computes a TMCCT read's count
 * with `apic_get_tmcct()`'s formula (the remaining time, modulo the
 * period, in counts of bus cycle times divider).
 */
function apic_sync_at_resume(): void {
  const dv = vcpu.dv;
  const flags = vcpu.u32[O_APIC_SYNC >> 2]!;
  const now = performance.timeOrigin + performance.now();
  if (flags & VMCS_APIC_SYNC_TMCCT) {
    const period = dv.getFloat64(O_TMCCT_PERIOD, true);
    let remaining = dv.getFloat64(O_TMCCT_TARGET, true) - now;
    if (remaining < 0) {
      remaining = flags & VMCS_APIC_SYNC_TMCCT_PERIODIC ? period + remaining % period : 0;
    }
    const ms = remaining % period;
    const count = Math.floor(ms / dv.getFloat64(O_TMCCT_TICK, true)) >>> 0;
    if (vcpu.u32[O_APIC_SYNC_DEST >> 2] === VMCS_APIC_SYNC_DEST_EDX_EAX) {
      reg_set_pair(VCPU_REGS_RAX, 0, count);
      reg_set_pair(VCPU_REGS_RDX, 0, 0);
    } else {
      dv.setUint32(O_MMIO_DATA, count, true);
      dv.setUint32(O_MMIO_DATA + 4, 0, true);
    }
  }
  if (flags & VMCS_APIC_SYNC_TIMER_START) {
    dv.setFloat64(O_APIC_SYNC_MS, now, true);
    vcpu.u32[O_APIC_SYNC >> 2] = VMCS_APIC_SYNC_STAMPED;
  } else {
    vcpu.u32[O_APIC_SYNC >> 2] = 0;
  }
}

/** Hands the vCPU to the host: run state EXIT, and a wake-up for its waiter. */
export function signal_exit(): void {
  Atomics.store(vcpu.ctl, C_RUN_STATE, VCPU_STATE_EXIT);
  Atomics.notify(vcpu.ctl, C_RUN_STATE);
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
  vcpu.u32[O_EXIT_REASON >> 2] = reason;
  vcpu.u32[O_EXIT_LEN >> 2] = insn_len;
  vcpu.u32[O_EXIT_QUAL >> 2] = qual_lo;
  vcpu.u32[(O_EXIT_QUAL >> 2) + 1] = qual_hi;
  signal_exit();
  wait_for_run();
  return after_entry(start_lo, start_hi);
}

/** Sets the guest linear/physical address fields of the exit information. */
export function set_exit_addresses(gla: bigint, gpa: number): void {
  set_u64_at(O_GLA, gla);
  set_u64_at(O_GPA, BigInt(gpa));
}

/** After an entry: delivers the injected event, then classifies RIP. */
function after_entry(start_lo: number, start_hi: number): number {
  const info = vcpu.u32[O_ENTRY_INTR_INFO >> 2]!;
  if (info & INTR_INFO_VALID_MASK) {
    vcpu.u32[O_ENTRY_INTR_INFO >> 2] = 0;
    const vector = info & 0xff;
    const type = info & 0x700;
    const has_ec = (info & INTR_INFO_DELIVER_CODE_MASK) !== 0;
    const ec = vcpu.u32[O_ENTRY_EC >> 2]!;
    if (type === INTR_TYPE_HARD_EXCEPTION && vcpu.safe_depth > 0) {
      vcpu.safe_vector = vector;
      vcpu.safe_ec = ec;
      throw SAFE_FAULT;
    }
    deliver(vector, type, ec, has_ec);
  }
  return classify(start_lo, start_hi);
}

/** Marks the start (`len` > 0) or end (0) of an interpreted instruction of `len` bytes. */
export function set_raw_insn(len: number): void {
  vcpu.raw_len = len;
  if (len > 0) vcpu.fn_len = 0;
}

/**
 * What the instruction that started at `start_hi:start_lo` does now that RIP
 * may have moved: {@linkcode RESUME_RETRY}, {@linkcode RESUME_COMPLETE}, or a
 * thrown `TRANSFER` (see the module doc).
 */
export function classify(start_lo: number, start_hi: number): number {
  const lo = rip_lo();
  const hi = rip_hi();
  if (lo === start_lo && hi === start_hi) return RESUME_RETRY;
  if (vcpu.raw_len > 0 && (hi - start_hi) * TWO32 + (lo - start_lo) === vcpu.raw_len) {
    return RESUME_COMPLETE;
  }
  if (vcpu.fn_len > 0) {
    const d = (hi - vcpu.fn_hi) * TWO32 + (lo - vcpu.fn_lo);
    if (d > 0 && d < vcpu.fn_len) {
      set_rip(vcpu.fn_hi, vcpu.fn_lo);
      return RESUME_COMPLETE;
    }
  }
  vcpu.transfer_pending = true;
  vcpu.ticks = 0;
  throw TRANSFER;
}

/** Jumps to `hi:lo`: the current guest function is abandoned. */
export function jump_to(hi: number, lo: number): never {
  set_rip(hi, lo);
  vcpu.transfer_pending = true;
  vcpu.ticks = 0;
  throw TRANSFER;
}

// ---------------------------------------------------------------------------
// Exits of memory accesses without RAM behind them.

/** The EPT-violation exit of an access by the CPU itself or of an instruction fetch (length 0). */
export function ept_exit_raw(gla: bigint, is_write: number, len: number, data: number): number {
  set_exit_addresses(gla, e_gpa);
  vcpu.u32[O_MMIO_LEN >> 2] = len;
  vcpu.u32[O_MMIO_IS_WRITE >> 2] = is_write;
  vcpu.dv.setUint32(O_MMIO_DATA, data, true);
  vcpu.dv.setUint32(O_MMIO_DATA + 4, 0, true);
  return vmexit(EXIT_REASON_EPT_VIOLATION, 0, e_qual, e_private ? EPT_VIOLATION_SIM_PRIVATE_HI : 0);
}

/** `mov` with a memory operand: the instruction length reported on MMIO exits. */
export const INSN_LEN_MOV = 3;

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
      vcpu.raw_len || INSN_LEN_MOV,
    );
  }
  set_exit_addresses(gla, e_gpa);
  vcpu.u32[O_MMIO_LEN >> 2] = size;
  vcpu.u32[O_MMIO_IS_WRITE >> 2] = is_write ? 1 : 0;
  vcpu.dv.setUint32(O_MMIO_DATA, is_write ? data_lo : 0, true);
  vcpu.dv.setUint32(O_MMIO_DATA + 4, is_write ? data_hi : 0, true);
  return vmexit(
    EXIT_REASON_EPT_VIOLATION,
    vcpu.raw_len || INSN_LEN_MOV,
    e_qual,
    e_private ? EPT_VIOLATION_SIM_PRIVATE_HI : 0,
  );
}
