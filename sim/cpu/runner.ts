// SPDX-License-Identifier: GPL-2.0-only
/**
 * The run loop: instruction fetch of code records, the call of their
 * TypeScript functions, calls between records and machine code, and the
 * worker's entry points (`cpu_init`, `cpu_run`).
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
 * ## Control flow
 *
 * `cpu_run` waits for the first entry, then calls `execute` forever. A
 * `TRANSFER` (RIP moved elsewhere: a jump, `KVM_SET_REGS`, a handler that
 * changed `rip`) unwinds to it and it fetches at RIP again; `KILL` (the host
 * stops the vCPU) makes it return; any other exception is a bug in guest
 * code: its text goes to the VMCS and the vCPU exits with
 * `SIM_EXIT_REASON_GUEST_CRASH`. Because guest code may catch and swallow a
 * `TRANSFER`, `vcpu.transfer_pending` stays set until the loop sees it:
 * the next tick or the return of the guest function rethrows it.
 *
 * @module
 */

import { ACC_FETCH, mmu_reset, t_dv, t_off, TR_FAULT, TR_OK, translate } from "./mmu.ts";
import {
  C_WORKER_STATE,
  DELIVERY_FAULT,
  invalidate_mode,
  KILL,
  O_CRASH_LEN,
  O_CRASH_TEXT,
  O_EXIT_REASON,
  reg_get,
  reg_set,
  RESUME_RETRY,
  rip_hi,
  rip_lo,
  rip_set,
  SAFE_FAULT,
  seg_base,
  set_rip,
  TRANSFER,
  TWO32,
  vcpu,
  vcpu_state_reset,
} from "./state.ts";
import {
  GUEST_CODE_DIGEST_SIZE,
  GUEST_CODE_HDR_SIZE,
  GUEST_CODE_MAGIC,
  GUEST_CODE_VERSION,
  type guest_fn,
  guest_fn_digest,
  guest_fn_resolve,
} from "../../include/guest_code.ts";
import {
  PF_VECTOR,
  SIM_EXIT_REASON_GUEST_CRASH,
  UD_VECTOR,
  VCPU_REGS_RAX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
  VCPU_REGS_RSP,
  WORKER_DEAD,
  WORKER_READY,
} from "./vmx.ts";
import { VMCS_CRASH_TEXT_SIZE, VMCS_SIZE } from "./vmcs.ts";
import {
  ept_exit_raw,
  jump_to,
  signal_exit,
  sync_memmap,
  tick,
  vmexit,
  wait_for_run,
} from "./exits.ts";
import type { ex_regs_view } from "./ex_regs.ts";
import { imp_read, imp_write } from "./access.ts";
import { interp_reset, interp_run } from "./interp.ts";
import { raise, raise_translation_fault } from "./events.ts";

// ---------------------------------------------------------------------------
// Fetch and execute.

/** Bytes fetched at RIP (the header of a code record, or the first byte of machine code). */
const fetch_buf = new Uint8Array(16);
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();
/** Out-parameters of `fetch_record`: the function and length of the record just fetched. */
let rec_fn: guest_fn | undefined;
let rec_len = 0;

/** The linear address of RIP (CS base outside 64-bit mode), as hi/lo. */
export function code_linear(): [number, number] {
  if (vcpu.long64) return [rip_hi(), rip_lo()];
  const ip = vcpu.code16 ? rip_lo() & 0xffff : rip_lo();
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
      h = vcpu.long64 ? (h + 1) >>> 0 : 0;
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
  const fn = guest_fn_resolve(name, vcpu.images);
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
export function execute(regs: ex_regs_view | null): void {
  for (;;) {
    tick();
    const [hi, lo] = code_linear();
    const r = fetch_record(hi, lo);
    if (r < 0) continue;
    if (r === 0) {
      interp_run();
      continue;
    }
    vcpu.raw_len = 0;
    const fn = rec_fn!;
    vcpu.fn_lo = rip_lo();
    vcpu.fn_hi = rip_hi();
    vcpu.fn_len = rec_len;
    if (regs) {
      fn(regs);
      if (vcpu.transfer_pending) throw TRANSFER;
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
    if (vcpu.transfer_pending) throw TRANSFER;
    // The function returned: `ret` pops RIP from the stack.
    for (;;) {
      const rsp = reg_get(VCPU_REGS_RSP);
      const w = vcpu.long64 ? 8 : 4;
      try {
        const target = imp_read(rsp, w);
        reg_set(VCPU_REGS_RSP, rsp + BigInt(w));
        vcpu.fn_len = 0;
        rip_set(target);
        break;
      } catch (e) {
        if (e !== DELIVERY_FAULT) throw e;
        const res = vcpu.d_vector === PF_VECTOR
          ? raise(PF_VECTOR, vcpu.d_ec, vcpu.d_cr2)
          : raise(vcpu.d_vector, vcpu.d_ec);
        if (res !== RESUME_RETRY) {
          vcpu.fn_len = 0;
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
  const saved_lo = vcpu.fn_lo;
  const saved_hi = vcpu.fn_hi;
  const saved_len = vcpu.fn_len;
  const ret_lo = rip_lo();
  const ret_hi = rip_hi();
  set_rip(hi, lo);
  vcpu.fn_len = 0;
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
    vcpu.fn_lo = lo;
    vcpu.fn_hi = hi;
    vcpu.fn_len = rec_len;
    const result = fn(...args);
    if (vcpu.transfer_pending) throw TRANSFER;
    vcpu.fn_lo = saved_lo;
    vcpu.fn_hi = saved_hi;
    vcpu.fn_len = saved_len;
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
  const w = vcpu.long64 ? 8 : 4;
  const rsp = reg_get(VCPU_REGS_RSP) - BigInt(w);
  const ret = BigInt(ret_hi) * 0x100000000n + BigInt(ret_lo);
  try {
    imp_write(rsp, w, ret);
  } catch (e) {
    if (e !== DELIVERY_FAULT) throw e;
    raise(vcpu.d_vector, vcpu.d_ec, vcpu.d_cr2);
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
  vcpu.raw_len = 0;
  vcpu.fn_lo = saved_lo;
  vcpu.fn_hi = saved_hi;
  vcpu.fn_len = saved_len;
  return reg_get(VCPU_REGS_RAX);
}

// ---------------------------------------------------------------------------
// The worker's entry points.

/**
 * Attaches the CPU to a vCPU's VMCS (VMPTRLD): at the worker's start, and
 * each time a pooled worker serves another vCPU. The CPU starts as in a
 * fresh worker; the vCPU's state comes from its VMCS and the memory map its
 * host posts.
 */
export function cpu_init(buf: SharedArrayBuffer, offset: number, p: MessagePort): void {
  cpu_release();
  vcpu.u32 = new Uint32Array(buf, offset, VMCS_SIZE >> 2);
  vcpu.u8 = new Uint8Array(buf, offset, VMCS_SIZE);
  vcpu.dv = new DataView(buf, offset, VMCS_SIZE);
  vcpu.ctl = new Int32Array(buf, offset, 16);
  vcpu.port = p;
  vcpu.in_worker = true;
  invalidate_mode();
}

/**
 * Detaches the CPU from its vCPU (VMCLEAR, the vCPU was freed): the VMCS
 * views, the memory map, every cached translation and everything kept
 * between instructions go, so that nothing reaches the next vCPU and an idle
 * worker holds nothing of a freed VM.
 */
export function cpu_release(): void {
  vcpu_state_reset();
  rec_fn = undefined;
  rec_len = 0;
  mmu_reset();
  interp_reset();
}

/** Stores a guest crash report in the VMCS (truncated to its text area). */
function store_crash(text: string): void {
  const bytes = encoder.encode(text);
  const n = Math.min(bytes.length, VMCS_CRASH_TEXT_SIZE);
  vcpu.u8.set(bytes.subarray(0, n), O_CRASH_TEXT);
  vcpu.u32[O_CRASH_LEN >> 2] = n;
}

/** The text of a guest code exception, with its stack. */
function error_text(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return `Uncaught ${typeof e === "string" ? JSON.stringify(e) : String(e)}`;
}

/** The guest image could not be loaded: the first entry reports a guest crash. */
export function cpu_start_failed(e: unknown): void {
  store_crash(`vCPU worker could not load the guest image: ${error_text(e)}`);
  vcpu.u32[O_EXIT_REASON >> 2] = SIM_EXIT_REASON_GUEST_CRASH;
  Atomics.store(vcpu.ctl, C_WORKER_STATE, WORKER_DEAD);
  signal_exit();
}

/**
 * The worker's main loop: wait for the first entry, then execute from RIP
 * forever. Returns when the host stops the vCPU.
 */
export function cpu_run(image_modules: Record<string, unknown>[]): void {
  vcpu.images = image_modules;
  sync_memmap();
  Atomics.store(vcpu.ctl, C_WORKER_STATE, WORKER_READY);
  try {
    wait_for_run();
  } catch (e) {
    if (e === KILL) return;
    throw e;
  }
  for (;;) {
    try {
      vcpu.fn_len = 0;
      vcpu.transfer_pending = false;
      execute(null);
    } catch (e) {
      if (e === KILL) return;
      if (e === TRANSFER) continue;
      vcpu.transfer_pending = false;
      vcpu.safe_depth = 0;
      // A JavaScript exception in guest code: a bug in the test.
      store_crash(
        error_text(
          e === SAFE_FAULT || e === DELIVERY_FAULT
            ? new Error("sim: " + String((e as { sim: string }).sim) + " escaped")
            : e,
        ),
      );
      try {
        vcpu.fn_len = 0;
        vmexit(SIM_EXIT_REASON_GUEST_CRASH, 0, 0);
      } catch (x) {
        if (x === KILL) return;
        if (x !== TRANSFER) throw x;
      }
      vcpu.u32[O_CRASH_LEN >> 2] = 0;
    }
  }
}
