// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest intrinsics on a real vCPU (the `kvm` backend): the same
 * interface as the simulated CPU's (`sim/cpu/insn.ts`), each intrinsic one
 * request to the machine-code guest runtime (`guest_runtime.ts`), which
 * executes the real instruction in the guest. This module runs in the vCPU's
 * worker (`guest_runtime_worker.ts`), which issues `KVM_RUN` itself: a
 * request costs one exit round trip (the runtime's doorbell), and a real exit
 * caused by the instruction is handed to the host's `KVM_RUN` caller, whose
 * next `KVM_RUN` lets the worker complete the instruction.
 *
 * **RIP as the test sees it.** As on the simulator, a TypeScript function's
 * instructions are at its code record: an exception handler receives the
 * record's address in `regs.rip` for a fault raised by an intrinsic (the
 * record + 1 for a trap such as `int3`), and decides as on the simulator:
 * `rip` left alone retries the instruction, `rip` moved inside the record
 * skips it (its outputs are what the registers hold), `rip` set to another
 * code record continues there. The worker maps these onto the runtime's
 * real instruction addresses.
 *
 * **Registers** are the register file of the serve frame that runs the
 * request (see `guest_runtime.ts`): an intrinsic writes its operands there
 * (as the instruction's encoding takes them), the runtime loads the ones its
 * instruction uses and stores its outputs, so `reg_read`/`reg_write` cost no
 * exit. Memory accesses use RBX (address) and RAX (data) in the real guest,
 * and the worker puts the file's old RBX and RAX back afterwards, as the
 * simulator's accessors change no register. An exception handler gets a new
 * serve frame; the registers the faulting instruction did not load are shown
 * to it (and taken back from it) from the interrupted frame's file.
 *
 * @module
 */

import { type tdx_module_args, TDX_MODULE_ARGS_REGS } from "../../include/x86/tdx/tdcall.ts";
import { ex_regs, type ex_regs_view } from "../../include/x86/ex_regs.ts";
import { KVM_EXIT_IO, KVM_EXIT_IO_IN } from "../../include/linux/kvm.ts";
import {
  GUEST_CODE_DIGEST_SIZE,
  GUEST_CODE_HDR_SIZE,
  GUEST_CODE_MAGIC,
  GUEST_CODE_VERSION,
  type guest_fn,
  guest_fn_digest,
  guest_fn_resolve,
} from "../../include/guest_code.ts";
import { open_syscall, SYS } from "../../include/libc/kvm_backend.ts";
import {
  GR_AREA_SIZE,
  GR_BUF,
  GR_BUF_SIZE,
  GR_DOORBELL_PORT,
  GR_EVENT_DONE,
  GR_EVENT_EXCEPTION,
  GR_FILE_OP,
  GR_FILE_REGS,
  GR_FILE_SIZE,
  GR_FRAME,
  GR_FRAME_QWORDS,
  GR_NR_OPS,
  GR_OP,
  GR_PAGE_SIZE,
  GR_STACK_BOTTOM,
  GR_STACK_TOP,
  GRC_RET,
  GRC_RUNS,
  GRC_SIZE,
  GRC_STATE,
  GRC_TEXT_LEN,
  GRC_TEXT_OFF,
  GRS_CRASH,
  GRS_EXIT,
  GRS_HOST_RUN,
  GRS_KILL,
  GRS_RUN,
  GUEST_RUNTIME_GVA,
  guest_runtime_image,
  guest_runtime_op_gva,
  guest_runtime_op_ins,
  guest_runtime_op_outs,
  guest_runtime_op_range,
  type guest_runtime_worker_init,
} from "./guest_runtime.ts";

export { ex_regs, type ex_regs_view };

/** A guest pointer. */
export type gva_t = number | bigint;

const KVM_RUN_REQUEST = 0xae80n;
/** `struct kvm_run` offsets: exit_reason, io.{direction,size,port,count,data_offset}. */
const RUN_EXIT_REASON = 8;
const RUN_IO = 32;

/** Polls of the handoff word before sleeping on it (as the host's side does). */
const SPIN_ITERATIONS = 2000;

const KILL = { runtime: "vCPU stopped" };
const TRANSFER = { runtime: "control transfer" };
const SAFE_FAULT = { runtime: "safe fault" };

let init: guest_runtime_worker_init | undefined;
let sys: ReturnType<typeof open_syscall>;
let ctl: Int32Array;
let run: DataView;
/** The memory of the vCPU's runtime area (request page + private stack), seen by the host. */
let area: ArrayBufferLike;
/** The area's byte offset in `area`. */
let area_base = 0;
let page: DataView;
let page_u8: Uint8Array;
/** The register file of the serve frame that runs the next request. */
let file: DataView;
/** The files of interrupted serve frames (innermost last). */
const file_stack: DataView[] = [];
const files = new Map<number, DataView>();
let page_gva = 0n;
let runtime_gva = 0n;
/** Each request's code address in the guest, as the runtime dispatches it. */
let op_gva: bigint[] = [];
let images: Record<string, unknown>[] = [];
/** The host's exit that started the worker is still to be handled. */
let pending_exit = false;

/** Requests in flight (innermost last): the real instruction an exception may be in. */
const op_stack: number[] = [];
/** Code records of the TypeScript functions running (innermost last): their "RIP". */
const fn_stack: { gva: bigint; len: number }[] = [];
let safe_depth = 0;
let safe_vector = -1;
let safe_ec = 0;
let safe_pending = false;

const fail = (what: string): never => {
  throw new Error(`guest runtime: ${what}`);
};

function host_view(hva: string, len: number): ArrayBuffer {
  const p = Deno.UnsafePointer.create(BigInt(hva));
  if (p === null) fail(`no host mapping at ${hva}`);
  return Deno.UnsafePointerView.getArrayBuffer(p!, len);
}

/**
 * Sets up the worker's side (called once, before the image is imported).
 *
 * @param i the start message
 */
export function guest_runtime_cpu_init(i: guest_runtime_worker_init): void {
  init = i;
  ctl = new Int32Array(i.ctl, 0, 16);
  if (i.host_run) {
    if (!i.run_sab || !i.area_sab) fail("no shared memory for kvm_run and the area");
    run = new DataView(i.run_sab!, i.run_off ?? 0, i.run_size);
    area = i.area_sab!;
    area_base = i.area_off ?? 0;
  } else {
    sys = open_syscall();
    run = new DataView(host_view(i.run_hva, i.run_size));
    area = host_view(i.page_hva, GR_AREA_SIZE);
    area_base = 0;
  }
  page = new DataView(area, area_base, GR_PAGE_SIZE);
  page_u8 = new Uint8Array(area, area_base, GR_PAGE_SIZE);
  file = new DataView(new ArrayBuffer(GR_FILE_SIZE));
  page_gva = BigInt(i.page_gva);
  runtime_gva = BigInt(i.runtime_gva);
  if (runtime_gva !== GUEST_RUNTIME_GVA) fail(`runtime at 0x${runtime_gva.toString(16)}`);
  op_gva = Array.from({ length: GR_NR_OPS }, (_, op) => guest_runtime_op_gva(op, i.td));
}

// ---------------------------------------------------------------------------
// The handoff with the host.

function report(state: number, ret: number): void {
  Atomics.store(ctl, GRC_RET, ret);
  Atomics.store(ctl, GRC_STATE, state);
  Atomics.notify(ctl, GRC_STATE);
}

function wait_run(): void {
  // Spin first: the host usually answers an exit within microseconds, and a
  // futex wake-up costs tens of them.
  for (let i = 0; i < SPIN_ITERATIONS; i++) {
    const s = Atomics.load(ctl, GRC_STATE);
    if (s === GRS_RUN) return;
    if (s === GRS_KILL) throw KILL;
  }
  for (;;) {
    const s = Atomics.load(ctl, GRC_STATE);
    if (s === GRS_RUN) return;
    if (s === GRS_KILL) throw KILL;
    Atomics.wait(ctl, GRC_STATE, s, 50);
  }
}

/**
 * `KVM_RUN` on the vCPU: a system call of this thread, or (`host_run`, the
 * simulator) one the host thread makes when asked.
 */
function kvm_run(): number {
  Atomics.add(ctl, GRC_RUNS, 1);
  if (!init!.host_run) {
    return Number(BigInt.asIntN(32, sys.syscall(SYS.ioctl, BigInt(init!.fd), KVM_RUN_REQUEST, 0n)));
  }
  Atomics.store(ctl, GRC_STATE, GRS_HOST_RUN);
  Atomics.notify(ctl, GRC_STATE);
  wait_run();
  return Atomics.load(ctl, GRC_RET);
}

/**
 * Runs the vCPU until the runtime rings its doorbell with an event, handing
 * every other exit (and every KVM_RUN error) to the host and waiting for
 * its next KVM_RUN. Answers the stubs' "which page" question itself.
 */
function enter(): number {
  for (;;) {
    let r = 0;
    if (pending_exit) pending_exit = false;
    else r = kvm_run();
    if (
      r === 0 && run.getUint32(RUN_EXIT_REASON, true) === KVM_EXIT_IO &&
      run.getUint16(RUN_IO + 2, true) === GR_DOORBELL_PORT && run.getUint8(RUN_IO + 1) === 1 &&
      run.getUint8(RUN_IO) !== KVM_EXIT_IO_IN && !init!.td
    ) {
      // The 1-byte ring: the current frame's request finished.
      return GR_EVENT_DONE;
    }
    if (
      r === 0 && run.getUint32(RUN_EXIT_REASON, true) === KVM_EXIT_IO &&
      run.getUint16(RUN_IO + 2, true) === GR_DOORBELL_PORT && run.getUint8(RUN_IO + 1) === 4
    ) {
      if (run.getUint8(RUN_IO) === KVM_EXIT_IO_IN) {
        const off = Number(run.getBigUint64(RUN_IO + 8, true));
        run.setUint32(off, Number(page_gva), true);
        continue;
      }
      // EAX: the serve frame's RSP, plus the event in its low bits.
      const eax = run.getUint32(Number(run.getBigUint64(RUN_IO + 8, true)), true);
      const off = (eax & ~7) - Number(page_gva);
      if (off < GR_STACK_BOTTOM || off + GR_FILE_SIZE > GR_STACK_TOP) {
        fail(`doorbell from a frame outside the runtime's stack (0x${eax.toString(16)})`);
      }
      let f = files.get(off);
      if (!f) files.set(off, f = new DataView(area, area_base + off, GR_FILE_SIZE));
      file = f;
      return eax & 7;
    }
    // A real exit: the host may change registers before it resumes the vCPU
    // (not a TD's: KVM_GET_REGS and KVM_SET_REGS fail on its protected state).
    exit_regs ??= (init!.td ? null : real_regs()) ?? [];
    report(GRS_EXIT, r);
    wait_run();
  }
}

/** `KVM_GET_REGS`: `_IOR(KVMIO, 0x81, struct kvm_regs)`. */
const KVM_GET_REGS_REQUEST = 0x8090ae81n;
/** `VCPU_REGS_*` of each `struct kvm_regs` member, in its order. */
const KVM_REGS_ORDER = [0, 3, 1, 2, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];
const regs_buf = new BigUint64Array(18);

/** The vCPU's real GPRs (`VCPU_REGS_*` order), or null when KVM_GET_REGS fails. */
function real_regs(): bigint[] | null {
  const p = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(regs_buf)));
  if (sys.syscall(SYS.ioctl, BigInt(init!.fd), KVM_GET_REGS_REQUEST, p) < 0n) return null;
  const out: bigint[] = new Array(16);
  KVM_REGS_ORDER.forEach((r, i) => out[r] = regs_buf[i]!);
  return out;
}

/** The real GPRs at the first real exit of the request in progress, or null. */
let exit_regs: bigint[] | null = null;

/**
 * After a request that exited to the host: registers the host changed
 * meanwhile (KVM_SET_REGS, `kvm_run.s.regs`) go into the register file, as
 * the simulator's host writes the CPU's registers. RAX and RDX are the
 * runtime's doorbell operands by now; the request's own outputs are stored
 * already.
 */
function take_host_regs(op: number, at_exit: bigint[]): void {
  if (at_exit.length === 0) return;
  const now = real_regs();
  if (!now) return;
  const outs = guest_runtime_op_outs(op);
  for (const r of [1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]) {
    if (!outs.includes(r) && now[r] !== at_exit[r]) set_reg_raw(r, now[r]!);
  }
}

// ---------------------------------------------------------------------------
// Requests.

const reg = (r: number): bigint => file.getBigUint64(GR_FILE_REGS + 8 * r, true);
const set_reg_raw = (r: number, v: bigint): void =>
  file.setBigUint64(GR_FILE_REGS + 8 * r, BigInt.asUintN(64, v), true);
const reg32 = (r: number): number => file.getUint32(GR_FILE_REGS + 8 * r, true);
/** A 32-bit register write zero-extends, as on the CPU. */
const set_reg32 = (r: number, v: number): void => set_reg_raw(r, BigInt(v >>> 0));
const set_reg16 = (r: number, v: number): void =>
  file.setUint16(GR_FILE_REGS + 8 * r, v & 0xffff, true);
const set_reg8 = (r: number, v: number): void => file.setUint8(GR_FILE_REGS + 8 * r, v & 0xff);

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RSI = 6, RDI = 7;

/** Executes request `op`; exceptions it raises go to the guest's handlers. */
function request(op: number): void {
  // Any real request ends the block copy's validity (see block_read).
  block_valid = false;
  file.setBigUint64(GR_FILE_OP, op_gva[op]!, true);
  op_stack.push(op);
  const outer = file;
  const outer_exit = exit_regs;
  exit_regs = null;
  try {
    for (;;) {
      const ev = enter();
      if (ev === GR_EVENT_DONE) break;
      if (ev !== GR_EVENT_EXCEPTION) fail(`unknown event ${ev}`);
      exception_event(outer);
    }
    if (exit_regs !== null) take_host_regs(op, exit_regs);
  } finally {
    op_stack.pop();
    exit_regs = outer_exit;
  }
  if (safe_pending) {
    safe_pending = false;
    throw SAFE_FAULT;
  }
}

/** A request that uses RBX/RAX (and more) as scratch: the file's values are put back. */
function scratch<T>(regs: readonly number[], body: () => T): T {
  const saved = regs.map(reg);
  const restore = () => regs.forEach((r, i) => set_reg_raw(r, saved[i]!));
  let result: T;
  try {
    result = body();
  } catch (e) {
    // A stopped vCPU's memory may be unmapped already: touch nothing.
    if (e !== KILL) restore();
    throw e;
  }
  restore();
  return result;
}

const big = (v: gva_t): bigint => BigInt.asUintN(64, BigInt(v));

// ---------------------------------------------------------------------------
// Exceptions and calls.

function read_frame(): bigint[] {
  const f: bigint[] = [];
  for (let q = 0; q < GR_FRAME_QWORDS; q++) f.push(page.getBigUint64(GR_FRAME + 8 * q, true));
  return f;
}

function write_frame(f: readonly bigint[]): void {
  for (let q = 0; q < GR_FRAME_QWORDS; q++) page.setBigUint64(GR_FRAME + 8 * q, f[q]!, true);
}

const F_VECTOR = 15, F_EC = 16, F_RIP = 17, F_RSP = 20;
/** `struct ex_regs` order of the GPRs (`VCPU_REGS_*`). */
const EX_GPRS = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

interface record {
  fn: guest_fn;
  len: number;
}

const decoder = new TextDecoder();
const record_cache = new Map<string, record>();

/**
 * The function whose code record is at `gva`, read through the guest's page
 * tables (a real access), or undefined when the bytes are no valid record.
 */
function resolve_record(gva: bigint): record | undefined {
  const hdr = copy_in(gva, GUEST_CODE_HDR_SIZE);
  const dv = new DataView(hdr.buffer);
  if (
    dv.getUint32(0, true) !== GUEST_CODE_MAGIC || dv.getUint16(4, true) !== GUEST_CODE_VERSION ||
    dv.getUint16(6, true) !== GUEST_CODE_HDR_SIZE ||
    dv.getUint32(12, true) !== GUEST_CODE_DIGEST_SIZE
  ) return undefined;
  const name_len = dv.getUint32(8, true);
  if (name_len === 0 || name_len > 1024) return undefined;
  const len = GUEST_CODE_HDR_SIZE + name_len + GUEST_CODE_DIGEST_SIZE;
  const rec = copy_in(gva, len);
  const key = String.fromCharCode(...rec);
  const hit = record_cache.get(key);
  if (hit) return hit;
  const name = decoder.decode(rec.subarray(GUEST_CODE_HDR_SIZE, GUEST_CODE_HDR_SIZE + name_len));
  const fn = guest_fn_resolve(name, images);
  if (!fn) return undefined;
  const digest = guest_fn_digest(fn);
  const want = rec.subarray(GUEST_CODE_HDR_SIZE + name_len);
  for (let i = 0; i < digest.length; i++) if (digest[i] !== want[i]) return undefined;
  const r = { fn, len };
  record_cache.set(key, r);
  return r;
}

function run_fn(gva: bigint, r: record, args: unknown[]): unknown {
  fn_stack.push({ gva, len: r.len });
  try {
    return r.fn(...args);
  } finally {
    fn_stack.pop();
  }
}

/**
 * `GR_EVENT_EXCEPTION`: `file` is the stub's new serve frame, `outer` the
 * frame of the interrupted request (or undefined). Ends with `RETURN` in the
 * stub's frame, and `outer` current again.
 */
function exception_event(outer: DataView | undefined): void {
  exception_count++;
  const inner = file;
  if (outer) file_stack.push(outer);
  try {
    handle_exception(inner);
  } catch (e) {
    // A stopped vCPU's memory may be unmapped already: touch nothing.
    if (e !== KILL) inner.setBigUint64(GR_FILE_OP, op_gva[GR_OP.RETURN!]!, true);
    throw e;
  } finally {
    if (outer) file_stack.pop();
  }
  inner.setBigUint64(GR_FILE_OP, op_gva[GR_OP.RETURN!]!, true);
  if (outer) file = outer;
}

/** A code-record entry, or an exception for the guest's handler. */
function handle_exception(inner: DataView): void {
  const f = read_frame();
  const vector = Number(f[F_VECTOR]!);
  const rip = f[F_RIP]!;
  if (vector === 6 && !in_runtime(rip)) {
    const rec = resolve_record(rip);
    if (rec) {
      enter_function(f, rip, rec);
      return;
    }
  }
  deliver(f, vector, inner);
}

function in_runtime(rip: bigint): boolean {
  return rip >= runtime_gva &&
    rip < runtime_gva + BigInt(guest_runtime_image(init!.td).code.length);
}

/** A vCPU entered a TypeScript function (RIP at its record): run it, then `ret`. */
function enter_function(f: bigint[], gva: bigint, rec: record): void {
  EX_GPRS.forEach((r, i) => set_reg_raw(r, f[i]!));
  set_reg_raw(RSP, f[F_RSP]!);
  const args = [reg(RDI), reg(RSI), reg(RDX), reg(RCX), reg(8), reg(9)];
  run_fn(gva, rec, args);
  // The function returned: RET pops the return address from its stack.
  const rsp = reg(RSP);
  const target = readq(rsp);
  EX_GPRS.forEach((r, i) => f[i] = reg(r));
  f[F_RIP] = target;
  f[F_RSP] = rsp + 8n;
  write_frame(f);
}

/** Delivers an exception to the guest's handler (`idt_route_exception`), or to a `*_safe` caller. */
function deliver(f: bigint[], vector: number, inner: DataView): void {
  const rip = f[F_RIP]!;
  const op = op_stack.length ? op_stack[op_stack.length - 1]! : -1;
  let start = -1n, end = -1n;
  if (op >= 0) {
    const [s, e] = guest_runtime_op_range(op, init!.td);
    start = runtime_gva + BigInt(s);
    end = runtime_gva + BigInt(e);
  }
  const in_op = op >= 0 && rip >= start && rip < end;
  if (safe_depth > 0 && in_op && vector < 32) {
    safe_vector = vector;
    safe_ec = Number(f[F_EC]! & 0xffffffffn);
    safe_pending = true;
    f[F_RIP] = end;
    write_frame(f);
    return;
  }
  const fn = fn_stack.length ? fn_stack[fn_stack.length - 1]! : undefined;
  // The RIP the handler sees: the record for a fault in an intrinsic, inside
  // it for a trap after one, the real RIP elsewhere.
  let vrip = rip;
  if (fn && in_op) vrip = fn.gva;
  else if (fn && op >= 0 && rip === end) vrip = fn.gva + 1n;
  const regs = ex_regs.view(new Uint8Array(ex_regs.size));
  const view = regs as unknown as Record<string, bigint>;
  const names = ["rax", "rcx", "rdx", "rbx", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12"];
  names.push("r13", "r14", "r15", "vector", "error_code", "rip", "cs", "rflags");
  names.forEach((n, i) => view[n] = f[i]!);
  // Registers the request did not load are the TypeScript code's, in the
  // interrupted frame's file: the handler sees and may change those.
  const outer = in_op || (op >= 0 && rip === end) ? file_stack[file_stack.length - 1] : undefined;
  const loaded = op >= 0 ? guest_runtime_op_ins(op) : [];
  const from_file = outer ? EX_GPRS.filter((r) => !loaded.includes(r)) : [];
  const at = (r: number) => 8 * r;
  for (const r of from_file) view[names[EX_GPRS.indexOf(r)]!] = outer!.getBigUint64(at(r), true);
  regs.rip = vrip;
  file = inner;
  route()(regs);
  for (const r of from_file) outer!.setBigUint64(at(r), view[names[EX_GPRS.indexOf(r)]!]!, true);
  names.forEach((n, i) => f[i] = view[n]!);
  const nrip = regs.rip;
  const in_fn = fn !== undefined && (in_op || rip === end);
  let transfer = false;
  if (nrip === vrip) f[F_RIP] = rip; // a fault retried, a trap continued
  else if (in_fn && nrip === fn!.gva) f[F_RIP] = start; // a trap's instruction again
  else if (in_fn && nrip > fn!.gva && nrip < fn!.gva + BigInt(fn!.len)) f[F_RIP] = end; // skipped
  else {
    f[F_RIP] = nrip;
    transfer = in_fn;
  }
  write_frame(f);
  // The interrupted function is abandoned: the CPU continues at the new RIP.
  if (transfer) throw TRANSFER;
}

let route_fn: ((regs: ex_regs_view) => void) | undefined;

/** Sets the function exceptions are routed to (`idt_route_exception`, registered by handlers.ts). */
export function guest_runtime_set_route(fn: (regs: ex_regs_view) => void): void {
  route_fn = fn;
}

function route(): (regs: ex_regs_view) => void {
  if (!route_fn) fail("no exception router (lib/x86/handlers.ts is not loaded)");
  return route_fn!;
}

// ---------------------------------------------------------------------------
// The worker's main loop.

function error_text(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * The worker's main loop: waits for the host's first KVM_RUN (whose exit is
 * the runtime's, pending in `kvm_run`), then serves events until stopped.
 *
 * @param image_modules the guest image's module namespaces
 */
export function guest_runtime_cpu_run(image_modules: Record<string, unknown>[]): void {
  images = image_modules;
  try {
    wait_run();
  } catch (e) {
    if (e === KILL) return;
    throw e;
  }
  pending_exit = true;
  for (;;) {
    try {
      const ev = enter();
      if (ev !== GR_EVENT_EXCEPTION) fail(`event ${ev} without a request`);
      exception_event(undefined);
    } catch (e) {
      if (e === KILL) return;
      if (e === TRANSFER) continue;
      op_stack.length = 0;
      fn_stack.length = 0;
      safe_depth = 0;
      const text = new TextEncoder().encode(
        e === SAFE_FAULT ? "guest runtime: a *_safe fault escaped" : error_text(e),
      );
      const n = Math.min(text.length, GRC_SIZE - GRC_TEXT_OFF);
      new Uint8Array(init!.ctl, GRC_TEXT_OFF, n).set(text.subarray(0, n));
      Atomics.store(ctl, GRC_TEXT_LEN, n);
      report(GRS_CRASH, 0);
      // The vCPU is stuck inside the runtime; it stays dead.
      try {
        for (;;) {
          wait_run();
          report(GRS_CRASH, 0);
        }
      } catch (x) {
        if (x === KILL) return;
        throw x;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Memory.

function copy_in(gva: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let done = 0; done < n;) {
    const chunk = Math.min(n - done, GR_BUF_SIZE);
    scratch([RSI, RDI, RCX], () => {
      set_reg_raw(RSI, gva + BigInt(done));
      set_reg_raw(RDI, page_gva + BigInt(GR_BUF));
      set_reg_raw(RCX, BigInt(chunk));
      request(GR_OP.MOVSB!);
    });
    out.set(page_u8.subarray(GR_BUF, GR_BUF + chunk), done);
    done += chunk;
  }
  return out;
}

function copy_out(gva: bigint, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) {
    const chunk = Math.min(bytes.length - done, GR_BUF_SIZE);
    page_u8.set(bytes.subarray(done, done + chunk), GR_BUF);
    scratch([RSI, RDI, RCX], () => {
      set_reg_raw(RSI, page_gva + BigInt(GR_BUF));
      set_reg_raw(RDI, gva + BigInt(done));
      set_reg_raw(RCX, BigInt(chunk));
      request(GR_OP.MOVSB!);
    });
    done += chunk;
  }
}

// ---------------------------------------------------------------------------
// The TD's block copy: loads that stream through private memory.
//
// A TD's loads from its memory are invisible to the host and the kernel: no
// exit, no dirty bit (guest_memfd is not dirty-logged, reads dirty nothing),
// its page tables (with their accessed bits) are private. Yet each load the
// runtime executes costs a TD exit for its doorbell, and a program that
// scans megabytes (tdx_upm_test) makes millions. So when a load continues
// the previous one (it starts where that one ended), the runtime executes it
// and then copies the 2 KiB block around it (same page: same translation,
// same permissions, accepted, as the load just proved) into the request
// page; the next loads of that block are served from the copy, each byte at
// most once, until any other request (every store, exit, exception and copy
// is one) ends the copy's validity. Loads served so are a run of loads with
// nothing else between them in program order, all returning the values of
// one instant, which is what the CPU would return had it executed them all
// at that instant, provided the copy is of one instant too: `rep movsq` is
// not atomic, so a writer running meanwhile could tear it in a way no order
// of the single loads could. Hence only a TD with one vCPU copies blocks
// (the host can still write its shared pages from another thread while it
// runs, which selftests do not). A load of a byte already served (a polling
// loop) is a real load again.

/** Bytes of a block copy: the request page's buffer; aligned, so always within one page. */
const BLOCK = GR_BUF_SIZE;
let block_valid = false;
let block_base = 0n;
const block = new Uint8Array(BLOCK);
const block_dv = new DataView(block.buffer);
/** Bytes of the block already served from the copy. */
const block_served = new Uint8Array(BLOCK);
/** Where the last load ended (the next load "continues" it when it starts there). */
let last_load_end = -1n;
/** Exceptions delivered so far (a load that raised one leaves no copy). */
let exception_count = 0;

const BLOCK_OP: Readonly<Record<number, number>> = {
  [GR_OP.READB!]: GR_OP.READB_BLOCK!,
  [GR_OP.READW!]: GR_OP.READW_BLOCK!,
  [GR_OP.READL!]: GR_OP.READL_BLOCK!,
  [GR_OP.READQ!]: GR_OP.READQ_BLOCK!,
};

const SIZE_OF: Readonly<Record<number, number>> = {
  [GR_OP.READB!]: 1,
  [GR_OP.READW!]: 2,
  [GR_OP.READL!]: 4,
  [GR_OP.READQ!]: 8,
};

/** A load served from the block copy, or undefined when it must be a real one. */
function block_hit(gva: bigint, size: number): bigint | undefined {
  if (!block_valid || gva < block_base || gva + BigInt(size) > block_base + BigInt(BLOCK)) {
    return undefined;
  }
  const off = Number(gva - block_base);
  for (let i = 0; i < size; i++) if (block_served[off + i]) return undefined;
  block_served.fill(1, off, off + size);
  last_load_end = gva + BigInt(size);
  switch (size) {
    case 1:
      return BigInt(block[off]!);
    case 2:
      return BigInt(block_dv.getUint16(off, true));
    case 4:
      return BigInt(block_dv.getUint32(off, true));
    default:
      return block_dv.getBigUint64(off, true);
  }
}

/** A TD's load: from the block copy, or real (and then copying its block when it streams). */
function block_read(op: number, gva: bigint): bigint {
  const size = SIZE_OF[op]!;
  const hit = block_hit(gva, size);
  if (hit !== undefined) return hit;
  const base = gva & ~BigInt(BLOCK - 1);
  const streams = gva === last_load_end && gva + BigInt(size) <= base + BigInt(BLOCK);
  last_load_end = gva + BigInt(size);
  if (!streams) return real_read(op, gva);
  const exceptions = exception_count;
  const v = scratch([RAX, RBX, RSI, RDI, RCX], () => {
    set_reg_raw(RBX, gva);
    set_reg_raw(RSI, base);
    set_reg_raw(RDI, page_gva + BigInt(GR_BUF));
    set_reg_raw(RCX, BigInt(BLOCK / 8));
    request(BLOCK_OP[op]!);
    return reg(RAX);
  });
  // An exception in the load (a handler skipped it, or retried it) leaves
  // no copy to trust.
  if (exception_count !== exceptions) return v;
  block.set(page_u8.subarray(GR_BUF, GR_BUF + BLOCK));
  block_base = base;
  block_served.fill(0);
  const off = Number(gva - base);
  block_served.fill(1, off, off + size);
  block_valid = true;
  return v;
}

function real_read(op: number, gva: gva_t): bigint {
  return scratch([RAX, RBX], () => {
    set_reg_raw(RBX, big(gva));
    request(op);
    return reg(RAX);
  });
}

function mem_read(op: number, gva: gva_t): bigint {
  if (init!.block_loads) return block_read(op, big(gva));
  return real_read(op, gva);
}

function mem_write(op: number, gva: gva_t, value: bigint): void {
  scratch([RAX, RBX], () => {
    set_reg_raw(RBX, big(gva));
    set_reg_raw(RAX, value);
    request(op);
  });
}

/** Reads a byte of guest memory. */
export function readb(gva: gva_t): number {
  return Number(mem_read(GR_OP.READB!, gva) & 0xffn);
}

/** Reads 2 bytes of guest memory. */
export function readw(gva: gva_t): number {
  return Number(mem_read(GR_OP.READW!, gva) & 0xffffn);
}

/** Reads 4 bytes of guest memory. */
export function readl(gva: gva_t): number {
  return Number(mem_read(GR_OP.READL!, gva) & 0xffffffffn);
}

/** Reads 8 bytes of guest memory. */
export function readq(gva: gva_t): bigint {
  return mem_read(GR_OP.READQ!, gva);
}

/** Writes a byte of guest memory. */
export function writeb(value: number, gva: gva_t): void {
  mem_write(GR_OP.WRITEB!, gva, BigInt(value & 0xff));
}

/** Writes 2 bytes of guest memory. */
export function writew(value: number, gva: gva_t): void {
  mem_write(GR_OP.WRITEW!, gva, BigInt(value & 0xffff));
}

/** Writes 4 bytes of guest memory. */
export function writel(value: number, gva: gva_t): void {
  mem_write(GR_OP.WRITEL!, gva, BigInt(value >>> 0));
}

/** Writes 8 bytes of guest memory. */
export function writeq(value: bigint, gva: gva_t): void {
  mem_write(GR_OP.WRITEQ!, gva, BigInt.asUintN(64, value));
}

/** `rep movsb`: copies `n` bytes of guest memory from `src` to `dst`. */
export function memcpy(dst: gva_t, src: gva_t, n: number): void {
  scratch([RSI, RDI, RCX], () => {
    set_reg_raw(RSI, big(src));
    set_reg_raw(RDI, big(dst));
    set_reg_raw(RCX, BigInt(n));
    request(GR_OP.MOVSB!);
  });
}

/** `rep stosb`: fills `n` bytes at `dst` with `c`. */
export function memset(dst: gva_t, c: number, n: number): void {
  scratch([RAX, RDI, RCX], () => {
    set_reg_raw(RAX, BigInt(c & 0xff));
    set_reg_raw(RDI, big(dst));
    set_reg_raw(RCX, BigInt(n));
    request(GR_OP.STOSB!);
  });
}

/** Reads `n` bytes of guest memory (`rep movsb` into the request page). */
export function read_bytes(gva: gva_t, n: number): Uint8Array {
  return copy_in(big(gva), n);
}

/** Writes `bytes` to guest memory at `gva` (`rep movsb` from the request page). */
export function write_bytes(gva: gva_t, bytes: Uint8Array): void {
  copy_out(big(gva), bytes);
}

/** Reads `len` bytes of guest memory at `gva`. */
export function guest_read(gva: gva_t, len: number): Uint8Array {
  return copy_in(big(gva), len);
}

/** Writes `bytes` to guest memory at `gva`. */
export function guest_write(gva: gva_t, bytes: Uint8Array): void {
  copy_out(big(gva), bytes);
}

/** `lock bts`: sets bit `nr` of the bitmap at `gva`; returns the old bit. */
export function guest_test_and_set_bit(gva: gva_t, nr: number): boolean {
  return scratch([RAX, RBX, RCX], () => {
    set_reg_raw(RBX, big(gva) + BigInt(4 * Math.floor(nr / 32)));
    set_reg32(RCX, nr & 31);
    request(GR_OP.BTS!);
    return (reg32(RAX) & 1) !== 0;
  });
}

/** `lock btr`: clears bit `nr` of the bitmap at `gva`. */
export function guest_clear_bit(gva: gva_t, nr: number): void {
  scratch([RBX, RCX], () => {
    set_reg_raw(RBX, big(gva) + BigInt(4 * Math.floor(nr / 32)));
    set_reg32(RCX, nr & 31);
    request(GR_OP.BTR!);
  });
}

// ---------------------------------------------------------------------------
// Registers.

/** Reads GPR `r` (`VCPU_REGS_*`). */
export function reg_read(r: number): bigint {
  return reg(r);
}

/** Writes GPR `r` (`VCPU_REGS_*`). */
export function reg_write(r: number, value: bigint): void {
  set_reg_raw(r, value);
}

const KVM_REGS_NAMES: Readonly<Record<string, number>> = {
  rax: 0,
  rcx: 1,
  rdx: 2,
  rbx: 3,
  rsp: 4,
  rbp: 5,
  rsi: 6,
  rdi: 7,
  r8: 8,
  r9: 9,
  r10: 10,
  r11: 11,
  r12: 12,
  r13: 13,
  r14: 14,
  r15: 15,
};

/** A GPR, `rip` (the running function's record) or `rflags` by its `struct kvm_regs` name. */
export function get_reg(name: string): bigint {
  if (name === "rflags") return read_rflags();
  if (name === "rip") return fn_stack.length ? fn_stack[fn_stack.length - 1]!.gva : 0n;
  const r = KVM_REGS_NAMES[name];
  if (r === undefined) throw new TypeError(`No register named '${name}'`);
  return reg(r);
}

/** Writes a GPR by its `struct kvm_regs` name. */
export function set_reg(name: string, value: bigint): void {
  const r = KVM_REGS_NAMES[name];
  if (r === undefined) throw new TypeError(`No general-purpose register named '${name}'`);
  set_reg_raw(r, value);
}

// ---------------------------------------------------------------------------
// Port I/O.

/** `out dx, al`. */
export function outb(port: number, value: number): void {
  set_reg8(RAX, value);
  set_reg16(RDX, port);
  request(GR_OP.OUTB!);
}

/** `out dx, ax`. */
export function outw(port: number, value: number): void {
  set_reg16(RAX, value);
  set_reg16(RDX, port);
  request(GR_OP.OUTW!);
}

/** `out dx, eax`. */
export function outl(port: number, value: number): void {
  set_reg32(RAX, value);
  set_reg16(RDX, port);
  request(GR_OP.OUTL!);
}

/** `in al, dx`. */
export function inb(port: number): number {
  set_reg16(RDX, port);
  request(GR_OP.INB!);
  return reg32(RAX) & 0xff;
}

/** `in ax, dx`. */
export function inw(port: number): number {
  set_reg16(RDX, port);
  request(GR_OP.INW!);
  return reg32(RAX) & 0xffff;
}

/** `in eax, dx`. */
export function inl(port: number): number {
  set_reg16(RDX, port);
  request(GR_OP.INL!);
  return reg32(RAX);
}

function io_string(op: number, port: number, gva: gva_t, count: number, is_in: boolean): void {
  set_reg16(RDX, port);
  set_reg_raw(RCX, BigInt(count));
  set_reg_raw(is_in ? RDI : RSI, big(gva));
  request(op);
}

/** `rep outsb`: `count` bytes from guest memory at `gva` to `port`. */
export function outsb(port: number, gva: gva_t, count: number): void {
  io_string(GR_OP.OUTSB!, port, gva, count, false);
}

/** `rep outsw`. */
export function outsw(port: number, gva: gva_t, count: number): void {
  io_string(GR_OP.OUTSW!, port, gva, count, false);
}

/** `rep outsl`. */
export function outsl(port: number, gva: gva_t, count: number): void {
  io_string(GR_OP.OUTSL!, port, gva, count, false);
}

/** `rep insb`: `count` bytes from `port` into guest memory at `gva`. */
export function insb(port: number, gva: gva_t, count: number): void {
  io_string(GR_OP.INSB!, port, gva, count, true);
}

/** `rep insw`. */
export function insw(port: number, gva: gva_t, count: number): void {
  io_string(GR_OP.INSW!, port, gva, count, true);
}

/** `rep insl`. */
export function insl(port: number, gva: gva_t, count: number): void {
  io_string(GR_OP.INSL!, port, gva, count, true);
}

/** `rep insb` with the operands the guest put in DX, RDI and RCX. */
export function rep_insb(): void {
  request(GR_OP.INSB!);
}

// ---------------------------------------------------------------------------
// MSRs, CPUID, hypercalls.

/** `rdmsr`. */
export function rdmsr(msr: number): bigint {
  set_reg32(RCX, msr);
  request(GR_OP.RDMSR!);
  return (BigInt(reg32(RDX)) << 32n) | BigInt(reg32(RAX));
}

/** `wrmsr`. */
export function wrmsr(msr: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  set_reg32(RCX, msr);
  set_reg32(RAX, Number(v & 0xffffffffn));
  set_reg32(RDX, Number(v >> 32n));
  request(GR_OP.WRMSR!);
}

/**
 * Runs `insn`; an exception the instruction raises is returned as its vector
 * instead of going to a handler (0 if none), as upstream's `KVM_ASM_SAFE`.
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

/** `rdmsr` returning the vector it raised (0 if none); the value goes to `val.value`. */
export function rdmsr_safe(msr: number, val?: { value: bigint }): number {
  let v = 0n;
  const vector = kvm_asm_safe(() => {
    v = rdmsr(msr);
  });
  if (vector) v = (BigInt(reg32(RDX)) << 32n) | BigInt(reg32(RAX));
  if (val) val.value = v;
  return vector;
}

/** `wrmsr` returning the vector it raised (0 if none). */
export function wrmsr_safe(msr: number, value: bigint): number {
  return kvm_asm_safe(() => wrmsr(msr, value));
}

/**
 * Runs `fn`; returns the vector of an exception an instruction in it
 * raised, -1 when none.
 */
export function with_exception_fixup(fn: () => void): number {
  let raised = false;
  const vector = kvm_asm_safe(() => {
    try {
      fn();
    } catch (e) {
      raised = true;
      throw e;
    }
  });
  return raised ? vector : -1;
}

/** CPUID results. */
export interface cpuid_regs {
  /** EAX. */
  eax: number;
  /** EBX. */
  ebx: number;
  /** ECX. */
  ecx: number;
  /** EDX. */
  edx: number;
}

/** `cpuid` with EAX = `fn`, ECX = `index`. */
export function cpuid(fn: number, index = 0): cpuid_regs {
  set_reg32(RAX, fn);
  set_reg32(RCX, index);
  request(GR_OP.CPUID!);
  return { eax: reg32(RAX), ebx: reg32(RBX), ecx: reg32(RCX), edx: reg32(RDX) };
}

/** `hlt`. */
export function hlt(): void {
  request(GR_OP.HLT!);
}

/** `sti; hlt`: upstream's `safe_halt()` (the STI shadow covers the HLT). */
export function safe_halt(): void {
  request(GR_OP.STI_HLT!);
}

/** `vmcall` with the registers as they are; returns RAX. */
export function vmcall(): bigint {
  request(GR_OP.VMCALL!);
  return reg(RAX);
}

/** The KVM hypercall ABI: RAX = `nr`, RBX, RCX, RDX, RSI = `a0`..`a3`; returns RAX. */
export function kvm_hypercall(nr: bigint, a0 = 0n, a1 = 0n, a2 = 0n, a3 = 0n): bigint {
  set_reg_raw(RAX, nr);
  set_reg_raw(RBX, a0);
  set_reg_raw(RCX, a1);
  set_reg_raw(RDX, a2);
  set_reg_raw(RSI, a3);
  return vmcall();
}

/** Linux's `struct tdx_module_args` (one definition, in the include/ twin). */
export type { tdx_module_args };

/** `tdcall` (on an ordinary VM the CPU raises #UD). */
export function tdcall(fn: bigint | number, args: tdx_module_args = {}): bigint {
  set_reg_raw(RAX, BigInt(fn));
  for (const [k, r] of TDX_MODULE_ARGS_REGS) set_reg_raw(r, args[k] ?? 0n);
  request(GR_OP.TDCALL!);
  for (const [k, r] of TDX_MODULE_ARGS_REGS) args[k] = reg(r);
  return reg(RAX);
}

/** `wbinvd`. */
export function wbinvd(): void {
  request(GR_OP.WBINVD!);
}

/** `xgetbv`: XCR `index`. */
export function xgetbv(index: number): bigint {
  set_reg32(RCX, index);
  request(GR_OP.XGETBV!);
  return (BigInt(reg32(RDX)) << 32n) | BigInt(reg32(RAX));
}

/** `xsetbv`. */
export function xsetbv(index: number, value: bigint): void {
  const v = BigInt.asUintN(64, value);
  set_reg32(RCX, index);
  set_reg32(RAX, Number(v & 0xffffffffn));
  set_reg32(RDX, Number(v >> 32n));
  request(GR_OP.XSETBV!);
}

// ---------------------------------------------------------------------------
// Control registers, descriptor tables, segments.

function cr_read(op: number): bigint {
  return scratch([RAX], () => {
    request(op);
    return reg(RAX);
  });
}

function cr_write(op: number, value: bigint): void {
  scratch([RAX], () => {
    set_reg_raw(RAX, value);
    request(op);
  });
}

/** MOV from CR0. */
export function get_cr0(): bigint {
  return cr_read(GR_OP.READ_CR0!);
}

/** MOV from CR2. */
export function get_cr2(): bigint {
  return cr_read(GR_OP.READ_CR2!);
}

/** MOV from CR3. */
export function get_cr3(): bigint {
  return cr_read(GR_OP.READ_CR3!);
}

/** MOV from CR4. */
export function get_cr4(): bigint {
  return cr_read(GR_OP.READ_CR4!);
}

/** MOV from CR8. */
export function get_cr8(): bigint {
  return cr_read(GR_OP.READ_CR8!);
}

/** MOV to CR0. */
export function set_cr0(value: bigint): void {
  cr_write(GR_OP.WRITE_CR0!, value);
}

/** MOV to CR2. */
export function set_cr2(value: bigint): void {
  cr_write(GR_OP.WRITE_CR2!, value);
}

/** MOV to CR3. */
export function set_cr3(value: bigint): void {
  cr_write(GR_OP.WRITE_CR3!, value);
}

/** MOV to CR4. */
export function set_cr4(value: bigint): void {
  cr_write(GR_OP.WRITE_CR4!, value);
}

/** MOV to CR8. */
export function set_cr8(value: bigint): void {
  cr_write(GR_OP.WRITE_CR8!, value);
}

/** MOV from CR`n` (0, 2, 3, 4, 8). */
export function read_cr(n: number): bigint {
  const op = GR_OP[`READ_CR${n}`];
  if (op === undefined) {
    ud2();
    return 0n;
  }
  return cr_read(op);
}

/** MOV to CR`n` (0, 2, 3, 4, 8); any other number is #UD. */
export function write_cr(n: number, value: bigint): void {
  const op = GR_OP[`WRITE_CR${n}`];
  if (op === undefined) return ud2();
  cr_write(op, value);
}

/** `struct desc_ptr`. */
export interface desc_ptr {
  /** The limit. */
  size: number;
  /** The linear base address. */
  address: bigint;
}

function mem_op(op: number, gva: gva_t): void {
  scratch([RBX], () => {
    set_reg_raw(RBX, big(gva));
    request(op);
  });
}

/** `lgdt m`. */
export function lgdt(gva: gva_t): void {
  mem_op(GR_OP.LGDT!, gva);
}

/** `lidt m`. */
export function lidt(gva: gva_t): void {
  mem_op(GR_OP.LIDT!, gva);
}

/** `sgdt m`. */
export function sgdt(gva: gva_t): void {
  mem_op(GR_OP.SGDT!, gva);
}

/** `sidt m`. */
export function sidt(gva: gva_t): void {
  mem_op(GR_OP.SIDT!, gva);
}

function store_dtable(op: number): desc_ptr {
  // SGDT/SIDT into the request page's buffer: a real store, then a read.
  mem_op(op, page_gva + BigInt(GR_BUF));
  return { size: page.getUint16(GR_BUF, true), address: page.getBigUint64(GR_BUF + 2, true) };
}

/** GDTR (`sgdt`). */
export function get_gdt(): desc_ptr {
  return store_dtable(GR_OP.SGDT!);
}

/** IDTR (`sidt`). */
export function get_idt(): desc_ptr {
  return store_dtable(GR_OP.SIDT!);
}

/** `ltr r16`. */
export function ltr(selector: number): void {
  scratch([RAX], () => {
    set_reg16(RAX, selector);
    request(GR_OP.LTR!);
  });
}

/** `str`. */
export function str(): number {
  return Number(cr_read(GR_OP.STR!) & 0xffffn);
}

const SREG_NAMES = ["ES", "CS", "SS", "DS", "FS", "GS"];

/** `mov sreg, r16` (`VCPU_SREG_*`; CS cannot be loaded this way: #UD). */
export function load_sreg(sreg: number, selector: number): void {
  const op = sreg === 1 ? undefined : GR_OP[`LOAD_${SREG_NAMES[sreg]}`];
  if (op === undefined) return ud2();
  scratch([RAX], () => {
    set_reg32(RAX, selector & 0xffff);
    request(op);
  });
}

/** `mov r16, sreg`. */
export function read_sreg(sreg: number): number {
  const op = GR_OP[`READ_${SREG_NAMES[sreg]}`];
  if (op === undefined) fail(`no segment register ${sreg}`);
  return Number(cr_read(op!) & 0xffffn);
}

/** `invlpg m`. */
export function invlpg(gva: gva_t): void {
  mem_op(GR_OP.INVLPG!, gva);
}

/** `rdtsc`. */
export function rdtsc(): bigint {
  request(GR_OP.RDTSC!);
  return (BigInt(reg32(RDX)) << 32n) | BigInt(reg32(RAX));
}

/** `pause`. */
export function pause(): void {
  request(GR_OP.PAUSE!);
}

/** `nop`. */
export function nop(): void {
  request(GR_OP.NOP!);
}

/** `cli`. */
export function cli(): void {
  request(GR_OP.CLI!);
}

/** `sti`. */
export function sti(): void {
  request(GR_OP.STI!);
}

/** `ud2`: #UD; returns only if a handler skips it. */
export function ud2(): void {
  request(GR_OP.UD2!);
}

/** `int3`: a #BP trap. */
export function int3(): void {
  request(GR_OP.INT3!);
}

/** RFLAGS (`pushf; pop`). */
export function read_rflags(): bigint {
  return cr_read(GR_OP.RFLAGS!);
}

/** The current privilege level (CS & 3). */
export function current_cpl(): number {
  return Number(cr_read(GR_OP.READ_CS!) & 3n);
}

/** `call *gva`: runs the guest function whose code record is at `gva` with `args`. */
export function call(gva: gva_t, ...args: unknown[]): unknown {
  const g = big(gva);
  const rec = resolve_record(g);
  if (!rec) {
    // No valid record: let the CPU execute what is there, as a call would.
    scratch([RBX], () => {
      set_reg_raw(RBX, g);
      request(GR_OP.CALL!);
    });
    return reg(RAX);
  }
  return run_fn(g, rec, args);
}

/** `jmp`: not available on the kvm backend's runtime. */
export function jmp(_gva: gva_t): never {
  return fail("jmp to a guest address is not supported by the kvm backend's guest runtime");
}

/** `ljmp`: not available on the kvm backend's runtime. */
export function ljmp(_selector: number, _offset: gva_t): never {
  return fail("ljmp is not supported by the kvm backend's guest runtime");
}
