// SPDX-License-Identifier: GPL-2.0-only
/**
 * Exceptions and events: raising a fault or trap, `kvm_asm_safe()`, delivery
 * through the IDT (or the real-mode IVT), #DF and triple fault, the run of a
 * TypeScript handler, and the STI shadow.
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
 * ## Control flow
 *
 * {@linkcode raise} either exits (the vector is in the exception bitmap),
 * throws `SAFE_FAULT` (inside `kvm_asm_safe()`), or delivers and runs the
 * handler, then classifies RIP as `exits.ts` does after an exit: retry,
 * complete, or `TRANSFER`. During delivery, the implicit accesses and segment
 * checks throw `DELIVERY_FAULT` with the fault in `vcpu.d_*`; `deliver`
 * catches it and delivers that fault, #DF or a triple fault instead.
 *
 * @module
 */

import {
  ACC_FETCH,
  f_cr2_hi,
  f_cr2_lo,
  f_ec,
  f_vector,
  t_dv,
  t_off,
  TR_OK,
  translate,
} from "./mmu.ts";
import {
  AC_VECTOR,
  DE_VECTOR,
  DF_VECTOR,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_TRIPLE_FAULT,
  GP_VECTOR,
  GUEST_ACTIVITY_SHUTDOWN,
  INTR_INFO_DELIVER_CODE_MASK,
  INTR_INFO_VALID_MASK,
  INTR_TYPE_EXT_INTR,
  INTR_TYPE_HARD_EXCEPTION,
  INTR_TYPE_NMI_INTR,
  INTR_TYPE_SOFT_EXCEPTION,
  INTR_TYPE_SOFT_INTR,
  NP_VECTOR,
  PF_VECTOR,
  SS_VECTOR,
  TS_VECTOR,
  VCPU_REGS_RSP,
  VE_VECTOR,
  X86_EFLAGS_AC,
  X86_EFLAGS_IF,
  X86_EFLAGS_NT,
  X86_EFLAGS_RF,
  X86_EFLAGS_TF,
  X86_EFLAGS_VM,
} from "./vmx.ts";
import {
  cr_store,
  DELIVERY_FAULT,
  O_ACTIVITY,
  O_EXC_BITMAP,
  O_EXIT_INTR_EC,
  O_EXIT_INTR_INFO,
  O_IDTR,
  O_INTERRUPTIBILITY,
  O_VE,
  reg_get,
  reg_lo,
  reg_set,
  reg_set_sized,
  rflags,
  rip_get,
  rip_hi,
  rip_lo,
  rip_set,
  SAFE_FAULT,
  seg_base,
  SEG_DPL,
  seg_off,
  SEG_SELECTOR,
  seg_selector,
  set_nmi_blocking,
  set_rflags,
  set_u64_at,
  sync_mode,
  TRANSFER,
  TWO32,
  u64_at,
  vcpu,
} from "./state.ts";
import { ex_regs, EX_REGS_GPRS } from "./ex_regs.ts";
import { GUEST_CODE_MAGIC } from "../../include/guest_code.ts";
import { classify, vmexit } from "./exits.ts";
import { code_linear, execute } from "./runner.ts";
import {
  desc,
  load_hidden,
  load_real_segment,
  load_segment_checked,
  null_segment,
  read_descriptor,
} from "./segments.ts";
import { imp_read, imp_write } from "./access.ts";

// ---------------------------------------------------------------------------
// Raising exceptions, and `kvm_asm_safe()` catching them.

/**
 * Runs `insn` (one intrinsic) so that an exception it raises is not
 * delivered but returned: upstream's `KVM_ASM_SAFE`. Returns 0 when no
 * exception happened, else the vector; the error code is in
 * {@linkcode kvm_asm_safe_error_code}.
 */
export function kvm_asm_safe(insn: () => void): number {
  vcpu.safe_depth++;
  try {
    insn();
    return 0;
  } catch (e) {
    if (e === SAFE_FAULT) return vcpu.safe_vector;
    throw e;
  } finally {
    vcpu.safe_depth--;
  }
}

/** The error code of the exception the last {@linkcode kvm_asm_safe} caught. */
export function kvm_asm_safe_error_code(): number {
  return vcpu.safe_ec;
}

const CLASS_BENIGN = 0;
const CLASS_CONTRIBUTORY = 1;
const CLASS_PF = 2;

/** The class of SDM Table 6-4 (benign, contributory, page fault; #VE counts as #PF). */
function exception_class(v: number): number {
  if (v === PF_VECTOR || v === VE_VECTOR) return CLASS_PF;
  if (
    v === DE_VECTOR || v === TS_VECTOR || v === NP_VECTOR || v === SS_VECTOR || v === GP_VECTOR
  ) return CLASS_CONTRIBUTORY;
  return CLASS_BENIGN;
}

/** Whether delivering `v` as a hardware exception pushes an error code. */
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
  if (vcpu.safe_depth > 0) {
    vcpu.safe_vector = vector;
    vcpu.safe_ec = ec;
    throw SAFE_FAULT;
  }
  const bitmap = vcpu.u32[O_EXC_BITMAP >> 2]!;
  if ((bitmap >>> vector) & 1 && vector < 32) {
    vcpu.u32[O_EXIT_INTR_INFO >> 2] = (INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | vector |
      (has_ec ? INTR_INFO_DELIVER_CODE_MASK : 0)) >>> 0;
    vcpu.u32[O_EXIT_INTR_EC >> 2] = ec;
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
  if (vcpu.safe_depth > 0) {
    vcpu.safe_vector = vector;
    vcpu.safe_ec = 0;
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
  if (vcpu.u32[v >> 2] !== 0) {
    // #VE while the VE info is still unread: the TDX module treats it as a
    // fatal condition for the TD; as on a CPU whose VE info area is busy, the
    // event becomes a #DF-class fault.
    return raise(DF_VECTOR, 0);
  }
  vcpu.u32[v >> 2] = 0xffffffff;
  vcpu.u32[(v >> 2) + 1] = exit_reason;
  set_u64_at(v + 8, qual);
  set_u64_at(v + 16, gla);
  set_u64_at(v + 24, gpa);
  vcpu.u32[(v + 32) >> 2] = insn_len;
  vcpu.u32[(v + 36) >> 2] = 0;
  return raise(VE_VECTOR, 0);
}

// ---------------------------------------------------------------------------
// Delivery through the IDT (protected and long mode) or the IVT (real mode).

/** Records a fault of an implicit access or segment check and throws `DELIVERY_FAULT`. */
export function delivery_fault(vector: number, ec: number, cr2 = 0n): never {
  vcpu.d_vector = vector;
  vcpu.d_ec = ec;
  vcpu.d_cr2 = cr2;
  throw DELIVERY_FAULT;
}

/** Pushes one slot of the delivery frame on the stack at `rsp`; returns the new RSP. */
function push(rsp: bigint, v: bigint): bigint {
  let n = rsp - BigInt(vcpu.frame_width);
  if (vcpu.frame_width === 4) n &= 0xffffffffn;
  imp_write(vcpu.frame_width === 4 ? (vcpu.push_base + n) & 0xffffffffn : n, vcpu.frame_width, v);
  return n;
}

/**
 * Delivers an event through the IDT and runs its handler to completion
 * (including the `iret`). Faults during delivery become #DF / triple fault.
 */
export function deliver(vector: number, type: number, ec: number, has_ec: boolean): void {
  let v = vector;
  let e = ec;
  let he = has_ec;
  let t = type;
  for (;;) {
    try {
      if (vcpu.protected_mode) deliver_once(v, t, e, he);
      else deliver_real(v);
      break;
    } catch (x) {
      if (x !== DELIVERY_FAULT) throw x;
      if (v === DF_VECTOR) triple_fault();
      const c1 = exception_class(v);
      const c2 = exception_class(vcpu.d_vector);
      if (
        (c1 === CLASS_CONTRIBUTORY && c2 === CLASS_CONTRIBUTORY) ||
        (c1 === CLASS_PF && c2 !== CLASS_BENIGN)
      ) {
        v = DF_VECTOR;
        e = 0;
      } else {
        v = vcpu.d_vector;
        e = vcpu.d_ec;
        if (v === PF_VECTOR) cr_store(2, vcpu.d_cr2);
      }
      he = has_error_code(v);
      t = INTR_TYPE_HARD_EXCEPTION;
    }
  }
  // NMI blocking starts with this delivery; only an IRET ends it.
  if (type === INTR_TYPE_NMI_INTR) set_nmi_blocking(true);
  // A handler in machine code runs in the interpreter, which executes its IRET.
  if (!vcpu.protected_mode || !at_record()) return;
  run_handler(v, e, he);
}

/**
 * Real-mode delivery (SDM 20.1.4): the IVT entry (offset, segment) at
 * IDTR.base + 4 * vector, FLAGS, CS and IP pushed as words on SS:SP, IF, TF
 * and AC cleared. No error code is pushed.
 */
function deliver_real(v: number): void {
  const base = u64_at(O_IDTR);
  const limit = vcpu.dv.getUint16(O_IDTR + 8, true);
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
  const gate_size = vcpu.lma ? 16 : 8;
  const idt_limit = vcpu.dv.getUint16(O_IDTR + 8, true);
  const idt_base = u64_at(O_IDTR);
  if (v * gate_size + gate_size - 1 > idt_limit) delivery_fault(GP_VECTOR, v * 8 + 2 + ext);
  const g0 = Number(imp_read(idt_base + BigInt(v * gate_size), 4));
  const g1 = Number(imp_read(idt_base + BigInt(v * gate_size) + 4n, 4));
  const g2 = vcpu.lma ? Number(imp_read(idt_base + BigInt(v * gate_size) + 8n, 4)) : 0;
  const gtype = (g1 >>> 8) & 0xf;
  const gdpl = (g1 >>> 13) & 3;
  const gp = (g1 >>> 15) & 1;
  const ist = g1 & 7;
  if (gtype !== 0xe && gtype !== 0xf) delivery_fault(GP_VECTOR, v * 8 + 2 + ext);
  if ((type === INTR_TYPE_SOFT_INTR || type === INTR_TYPE_SOFT_EXCEPTION) && gdpl < vcpu.cpl) {
    delivery_fault(GP_VECTOR, v * 8 + 2);
  }
  if (!gp) delivery_fault(NP_VECTOR, v * 8 + 2 + ext);
  const sel = g0 >>> 16;
  let offset = BigInt(((g0 & 0xffff) | (g1 & 0xffff0000)) >>> 0);
  if (vcpu.lma) offset |= BigInt(g2) << 32n;
  // The target code segment.
  if ((sel & 0xfffc) === 0) delivery_fault(GP_VECTOR, ext);
  read_descriptor(sel, GP_VECTOR);
  const cdpl = (desc.hi >>> 13) & 3;
  if (!((desc.hi >>> 12) & 1) || !((desc.hi >>> 11) & 1) || cdpl > vcpu.cpl) {
    delivery_fault(GP_VECTOR, (sel & 0xfffc) + ext);
  }
  if (!((desc.hi >>> 15) & 1)) delivery_fault(NP_VECTOR, (sel & 0xfffc) + ext);
  if (vcpu.lma && !(((desc.hi >>> 21) & 1) === 1 && ((desc.hi >>> 22) & 1) === 0)) {
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
  vcpu.push_base = 0n;
  if (vcpu.lma) {
    if (ist) rsp = imp_read(tss + BigInt(0x24 + 8 * (ist - 1)), 8);
    else if (new_cpl < vcpu.cpl) rsp = imp_read(tss + BigInt(4 + 8 * new_cpl), 8);
    // The 64-bit frame is 16-byte aligned (SDM 6.14.2).
    rsp &= ~0xfn;
    vcpu.frame_width = 8;
    rsp = push(rsp, BigInt(old_ss));
    rsp = push(rsp, old_rsp);
  } else {
    vcpu.frame_width = 4;
    rsp &= 0xffffffffn;
    vcpu.push_base = seg_base(2) & 0xffffffffn;
    if (new_cpl < vcpu.cpl) {
      // The 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n; the old SS:ESP go on the new stack.
      rsp = imp_read(tss + BigInt(4 + 8 * new_cpl), 4);
      new_ss = Number(imp_read(tss + BigInt(8 + 8 * new_cpl), 2));
      if ((new_ss & 0xfffc) === 0) delivery_fault(TS_VECTOR, seg_selector(6) & 0xfffc);
      read_descriptor(new_ss, TS_VECTOR);
      vcpu.push_base = BigInt(
        ((desc.lo >>> 16) | ((desc.hi & 0xff) << 16) | (desc.hi & 0xff000000)) >>> 0,
      );
      rsp = push(rsp, BigInt(old_ss));
      rsp = push(rsp, old_rsp & 0xffffffffn);
    }
  }
  rsp = push(rsp, old_rflags);
  rsp = push(rsp, BigInt(old_cs));
  rsp = push(rsp, vcpu.lma ? old_rip : old_rip & 0xffffffffn);
  vcpu.frame_addr = vcpu.lma ? rsp : (vcpu.push_base + rsp) & 0xffffffffn;
  if (has_ec) rsp = push(rsp, BigInt(ec));
  // Commit: nothing above faulted.
  load_hidden(1, (sel & 0xfffc) | new_cpl);
  if (new_cpl < vcpu.cpl && vcpu.lma) null_segment(2, new_cpl);
  if (new_ss >= 0) load_segment_checked(2, new_ss, new_cpl);
  reg_set(VCPU_REGS_RSP, rsp);
  let fl = Number(old_rflags) & ~(X86_EFLAGS_TF | X86_EFLAGS_NT | X86_EFLAGS_RF | X86_EFLAGS_VM);
  if (gtype === 0xe) fl &= ~X86_EFLAGS_IF;
  set_rflags(fl);
  rip_set(offset);
  if (new_cpl !== vcpu.cpl) vcpu.u8[seg_off(2) + SEG_DPL] = new_cpl;
  sync_mode();
}

/** A fault while delivering #DF: shutdown and a triple-fault exit. */
function triple_fault(): never {
  vcpu.u32[O_ACTIVITY >> 2] = GUEST_ACTIVITY_SHUTDOWN;
  vcpu.u32[O_EXIT_INTR_INFO >> 2] = 0;
  vmexit(EXIT_REASON_TRIPLE_FAULT, 0, 0);
  // Whatever RIP the kernel left (KVM resets the vCPU or leaves it), guest
  // frames of the shut-down context are gone.
  vcpu.transfer_pending = true;
  vcpu.ticks = 0;
  throw TRANSFER;
}

/** Runs the handler at RIP with an `ex_regs` built from the frame, then `iret`s. */
function run_handler(vector: number, ec: number, has_ec: boolean): void {
  const my_frame = vcpu.frame_addr;
  const width = vcpu.frame_width;
  const saved_lo = vcpu.fn_lo;
  const saved_hi = vcpu.fn_hi;
  const saved_len = vcpu.fn_len;
  const saved_cs = new Uint8Array(vcpu.u8.subarray(seg_off(1), seg_off(1) + 24));
  const saved_ss = new Uint8Array(vcpu.u8.subarray(seg_off(2), seg_off(2) + 24));
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
      vcpu.u8.set(saved_ss, seg_off(2));
    } else load_segment_checked(2, ss);
  } else {
    reg_set(VCPU_REGS_RSP, my_frame + 12n);
  }
  if (cs === saved_cs[SEG_SELECTOR]! + (saved_cs[SEG_SELECTOR + 1]! << 8)) {
    vcpu.u8.set(saved_cs, seg_off(1));
  } else load_segment_checked(1, cs);
  set_rflags(fl);
  rip_set(rip);
  vcpu.fn_lo = saved_lo;
  vcpu.fn_hi = saved_hi;
  vcpu.fn_len = saved_len;
  // The stub's IRETQ unblocks NMIs.
  set_nmi_blocking(false);
  sync_mode();
}

// ---------------------------------------------------------------------------
// Interruptibility: the STI shadow of the `sti` intrinsic.

/** Sets or clears blocking by STI in the interruptibility state. */
export function set_sti_blocking(on: boolean): void {
  const i = O_INTERRUPTIBILITY >> 2;
  vcpu.u32[i] = (vcpu.u32[i]! & ~3) | (on ? 1 : 0);
  // Blocking lasts through the next intrinsic: checked at the next two ticks.
  vcpu.sti_shadow_ticks = on ? 2 : 0;
  if (on) vcpu.ticks = 0;
}
