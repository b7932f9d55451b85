// SPDX-License-Identifier: GPL-2.0-only
/**
 * `KVM_SELFTESTS_TRACE`: what the kernel was asked and what it answered, one
 * line each on stderr, in the order it happened.
 *
 * ```sh
 * KVM_SELFTESTS_TRACE=ioctl,exit deno run -A x86/tdx_vm_test.ts
 * KVM_SELFTESTS_TRACE=all deno task selftests -t tdx_vm_test
 * ```
 *
 * Classes (comma-separated; `all` is every one):
 *
 * | class | where | one line per |
 * | --- | --- | --- |
 * | `ioctl` | syscall boundary (every backend) | ioctl: fd, request name, decoded argument, result or errno |
 * | `exit` | syscall boundary (every backend) | `KVM_RUN` return: exit reason and the `kvm_run` fields it uses |
 * | `tdvmcall` | simulated KVM (`sim/kernel/arch/x86/kvm/vmx/tdx.ts`) | TDG.VP.VMCALL: leaf and R12..R15 when it arrives, status when KVM completes it, exiting or not |
 * | `tdcall` | simulated KVM | TDCALL the TDX module handles (TDG.VP.INFO, TDG.MR.REPORT, ...): leaf, inputs, status |
 * | `seamcall` | simulated KVM | SEAMCALL KVM makes (TDH.MNG.*, TDH.VP.*, TDH.MEM.*, TDH.MR.*): arguments, status |
 * | `mrtd` | the TD library (`lib/x86/tdx/tdx_util.ts`) | measured page: GPA, region, what lies there (read by `deno task mrtd`) |
 *
 * Every line is `kvm_trace: <class> <text>`, so `grep '^kvm_trace: exit'`
 * picks one class. On the `kvm` backend the TDX classes print nothing: the
 * host kernel handles those calls where the process cannot see them.
 *
 * The switch is read once at load; when a class is off its hook is one
 * property read at the call site (`if (kvm_trace.ioctl) ...`).
 *
 * @module
 */

import { ioc_arg_types } from "../linux/ioctl.ts";
import * as kvm from "../linux/kvm.ts";
import { strerrorname_np } from "../linux/errno.ts";
import type { CType, RecordType, ViewBase } from "../c/layout.ts";
import { getenv, in_vcpu_worker } from "./process.ts";

/** The environment variable that turns tracing on. */
export const TRACE_ENV = "KVM_SELFTESTS_TRACE";

/** The trace classes, in the order the documentation lists them. */
export const TRACE_CLASSES = ["ioctl", "exit", "tdvmcall", "tdcall", "seamcall", "mrtd"] as const;

/** A trace class. */
export type trace_class = typeof TRACE_CLASSES[number];

/** Which classes are on (read once, from {@linkcode TRACE_ENV}). */
export const kvm_trace: Record<trace_class, boolean> = {
  ioctl: false,
  exit: false,
  tdvmcall: false,
  tdcall: false,
  seamcall: false,
  mrtd: false,
};

/**
 * Parses a {@linkcode TRACE_ENV} value into `out`.
 *
 * @param spec comma-separated classes, or `all`
 * @throws Error naming an unknown class (a typo must not silently trace nothing)
 */
export function trace_parse(spec: string, out: Record<trace_class, boolean> = kvm_trace): void {
  for (const c of TRACE_CLASSES) out[c] = false;
  for (const raw of spec.split(",")) {
    const w = raw.trim();
    if (w === "") continue;
    if (w === "all") {
      for (const c of TRACE_CLASSES) out[c] = true;
    } else if ((TRACE_CLASSES as readonly string[]).includes(w)) {
      out[w as trace_class] = true;
    } else {
      throw new Error(
        `${TRACE_ENV}: unknown class '${w}' (known: ${TRACE_CLASSES.join(", ")}, all)`,
      );
    }
  }
}

// A vCPU worker's own simulated kernel (which a test module's top-level
// code reaches there) is not the process's: its calls are not traced.
if (!in_vcpu_worker()) trace_parse(getenv(TRACE_ENV) ?? "");

const encoder = new TextEncoder();

/** Writes one trace line: `kvm_trace: <cls> <text>` on stderr. */
export function trace_emit(cls: trace_class, text: string): void {
  const line = encoder.encode(`kvm_trace: ${cls} ${text}\n`);
  let off = 0;
  while (off < line.length) off += Deno.stderr.writeSync(line.subarray(off));
}

/** `0x`-prefixed hex of a value. */
export function hex(v: number | bigint): string {
  const b = typeof v === "bigint" ? BigInt.asUintN(64, v) : BigInt(v >>> 0);
  return `0x${b.toString(16)}`;
}

// ---------------------------------------------------------------------------
// Names

let ioctlNames: Map<number, string> | undefined;
let exitNames: Map<number, string> | undefined;

function names(prefix: string, skip: RegExp, pick: (v: number) => boolean): Map<number, string> {
  const m = new Map<number, string>();
  for (const [name, v] of Object.entries(kvm)) {
    if (!name.startsWith(prefix) || skip.test(name) || typeof v !== "number" || !pick(v)) continue;
    if (!m.has(v)) m.set(v, name);
  }
  return m;
}

/** The `KVM_*` name of an ioctl request, or its hex value. */
export function ioctl_name(request: number): string {
  ioctlNames ??= names("KVM_", /^$/, (v) => ((v >>> 8) & 0xff) === kvm.KVMIO && v > 0xff);
  return ioctlNames.get(request >>> 0) ?? hex(request);
}

/** The `KVM_EXIT_*` name of an exit reason, or its number. */
export function exit_name(reason: number): string {
  exitNames ??= names(
    "KVM_EXIT_",
    /^KVM_EXIT_(IO_IN|IO_OUT|HYPERV_|XEN_|HYPERCALL_|ARM_SEA_FLAG)/,
    (v) => v < 256,
  );
  return exitNames.get(reason) ?? `${reason}`;
}

// ---------------------------------------------------------------------------
// What the trace remembers of the process's descriptors

/** fd of each VM → its type; fd of each vCPU → its VM's fd. */
const vmTypes = new Map<number, number>();
const vcpuVm = new Map<number, number>();
/** fd of each vCPU → the address its `kvm_run` is mapped at. */
const runMaps = new Map<number, bigint>();

/** Reads user memory (the backend's `user_memory`); set by the syscall boundary. */
let readUser: (addr: bigint, len: number) => Uint8Array | null = () => null;

/** Installs the user-memory reader the decoders use. */
export function trace_set_reader(r: (addr: bigint, len: number) => Uint8Array | null): void {
  readUser = r;
}

/** Called for every successful `mmap`: a vCPU fd at offset 0 is its `kvm_run`. */
export function trace_mmap(fd: number, offset: bigint, addr: bigint): void {
  if (offset === 0n && vcpuVm.has(fd)) runMaps.set(fd, addr);
}

// ---------------------------------------------------------------------------
// Decoding

function scalarText(t: CType, dv: DataView, off: number): string {
  if (t.kind !== "scalar") return "?";
  const v = t.get(dv, off);
  return t.size === 1 || (typeof v === "number" && v >= 0 && v < 10) ? `${v}` : hex(v);
}

/**
 * The members of a struct in `bytes`, as `{a=1 b=0x10 c[3]={..} d={...}}`:
 * scalars in hex (small ones in decimal), arrays of up to eight scalars in
 * full, longer ones by length, nested records to `depth`.
 */
export function format_struct(t: RecordType, bytes: Uint8Array, depth = 2): string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: string[] = [];
  const visit = (rec: RecordType, base: number, d: number) => {
    for (const m of rec.members) {
      const off = base + m.offset;
      if (m.name.startsWith("$")) {
        if (m.type.kind === "struct") visit(m.type, off, d);
        continue;
      }
      parts.push(`${m.name}=${memberText(m.type, dv, off, d)}`);
    }
  };
  const memberText = (ty: CType, dv: DataView, off: number, d: number): string => {
    if (off + (ty.kind === "array" && ty.flexible ? 0 : ty.size) > dv.byteLength) return "?";
    if (ty.kind === "scalar") return scalarText(ty, dv, off);
    if (ty.kind === "array") {
      if (ty.flexible) return "[]";
      if (ty.elem.kind === "scalar" && ty.length <= 8) {
        const vs = [];
        for (let i = 0; i < ty.length; i++) {
          vs.push(scalarText(ty.elem, dv, off + i * ty.elem.size));
        }
        return `[${vs.join(",")}]`;
      }
      return `[${ty.length}]`;
    }
    if (d <= 0 || ty.kind === "union") return "{...}";
    const sub = format_struct(ty, new Uint8Array(dv.buffer, dv.byteOffset + off, ty.size), d - 1);
    return sub;
  };
  visit(t, 0, depth);
  return `{${parts.join(" ")}}`;
}

function errText(r: number): string {
  if (r >= -4095 && r <= -1) return `-1 errno=${-r} (${strerrorname_np(-r) ?? "?"})`;
  return `${r}`;
}

const TDX_VM = kvm.KVM_X86_TDX_VM;

function argText(fd: number, request: number, arg: bigint): string {
  if (request === kvm.KVM_CREATE_VM) return ` type=${arg}`;
  if (request === kvm.KVM_CHECK_EXTENSION) return ` cap=${arg}`;
  if (request === kvm.KVM_CREATE_VCPU) return ` id=${arg}`;
  if (request === kvm.KVM_RUN) {
    const addr = runMaps.get(fd);
    const b = addr === undefined ? null : readUser(addr, 2);
    return b && b[1] ? " immediate_exit=1" : "";
  }
  const dir = request >>> 30;
  const size = (request >>> 16) & 0x3fff;
  if (dir === 0) return size === 0 && arg !== 0n ? ` arg=${hex(arg)}` : "";
  let t = ioc_arg_types.get(request >>> 0);
  if (request === kvm.KVM_MEMORY_ENCRYPT_OP) {
    const vm = vcpuVm.get(fd) ?? fd;
    t = vmTypes.get(vm) === TDX_VM ? kvm.kvm_tdx_cmd : kvm.kvm_sev_cmd;
  }
  if (!t || t.kind === "scalar" || t.kind === "array") {
    const b = t?.kind === "scalar" ? readUser(arg, t.size) : null;
    if (b && t?.kind === "scalar") {
      return ` *${hex(arg)}=${scalarText(t, new DataView(b.buffer, b.byteOffset, t.size), 0)}`;
    }
    return ` arg=${hex(arg)}`;
  }
  const bytes = readUser(arg, t.size);
  if (!bytes) return ` arg=${hex(arg)} (unmapped)`;
  let text = format_struct(t, bytes, 1);
  if (t === kvm.kvm_tdx_cmd) {
    const id = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
    text = `${TDX_CMD_NAMES[id] ?? id} ${text}`;
  }
  return ` ${text}`;
}

const TDX_CMD_NAMES = [
  "KVM_TDX_CAPABILITIES",
  "KVM_TDX_INIT_VM",
  "KVM_TDX_INIT_VCPU",
  "KVM_TDX_INIT_MEM_REGION",
  "KVM_TDX_FINALIZE_VM",
  "KVM_TDX_GET_CPUID",
];

/**
 * Traces one ioctl that returned the raw `r` (`-errno` on failure), and the
 * exit after KVM_RUN. The line is written when the call returns, so what
 * happened inside it (SEAMCALLs, TDVMCALLs the kernel answered) comes first.
 */
export function trace_ioctl(fd: number, request: number, arg: bigint, r: number): void {
  if (r >= 0) {
    if (request === kvm.KVM_CREATE_VM) vmTypes.set(r, Number(arg));
    if (request === kvm.KVM_CREATE_VCPU) vcpuVm.set(r, fd);
  }
  if (kvm_trace.ioctl) {
    trace_emit(
      "ioctl",
      `fd=${fd} ${ioctl_name(request)}${argText(fd, request, arg)} = ${errText(r)}`,
    );
  }
  if (kvm_trace.exit && request === kvm.KVM_RUN) trace_exit(fd);
}

/** Traces the exit the `kvm_run` of vCPU `fd` describes. */
export function trace_exit(fd: number): void {
  const addr = runMaps.get(fd);
  const bytes = addr === undefined ? null : readUser(addr, kvm.kvm_run.size);
  if (!bytes) {
    trace_emit("exit", `fd=${fd} (kvm_run not mapped)`);
    return;
  }
  trace_emit("exit", `fd=${fd} ${format_exit(bytes)}`);
}

/** The member of `kvm_run`'s exit union each exit reason fills. */
const EXIT_MEMBER: Record<number, string> = {
  [kvm.KVM_EXIT_UNKNOWN]: "hw",
  [kvm.KVM_EXIT_EXCEPTION]: "ex",
  [kvm.KVM_EXIT_IO]: "io",
  [kvm.KVM_EXIT_HYPERCALL]: "hypercall",
  [kvm.KVM_EXIT_DEBUG]: "debug",
  [kvm.KVM_EXIT_MMIO]: "mmio",
  [kvm.KVM_EXIT_FAIL_ENTRY]: "fail_entry",
  [kvm.KVM_EXIT_INTERNAL_ERROR]: "internal",
  [kvm.KVM_EXIT_SYSTEM_EVENT]: "system_event",
  [kvm.KVM_EXIT_X86_RDMSR]: "msr",
  [kvm.KVM_EXIT_X86_WRMSR]: "msr",
  [kvm.KVM_EXIT_MEMORY_FAULT]: "memory_fault",
  [kvm.KVM_EXIT_TDX]: "tdx",
  [kvm.KVM_EXIT_NOTIFY]: "notify",
};

/** The member of `kvm_run.tdx`'s union each TDVMCALL leaf fills. */
const TDX_EXIT_MEMBER: Record<string, string> = {
  "65538": "get_quote", // TDVMCALL_GET_QUOTE
  "65536": "get_tdvmcall_info", // TDVMCALL_GET_TD_VM_CALL_INFO
  "65540": "setup_event_notify", // TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT
};

function viewText(v: unknown, depth: number): string {
  const view = v as ViewBase;
  return format_struct(view.$type, view.$bytes, depth);
}

/** `KVM_EXIT_<NAME> <member>={...}` for a `kvm_run` in `bytes`. */
export function format_exit(bytes: Uint8Array): string {
  const run = kvm.kvm_run.view(bytes);
  const reason = run.exit_reason;
  let text = exit_name(reason);
  const member = EXIT_MEMBER[reason];
  if (!member) return text;
  const m = (run as unknown as Record<string, unknown>)[member];
  if (reason === kvm.KVM_EXIT_TDX) {
    const nr = run.tdx.nr;
    const variant = TDX_EXIT_MEMBER[`${nr}`] ?? "unknown";
    const u = (run.tdx as unknown as Record<string, unknown>)[variant];
    return `${text} tdx={flags=${hex(run.tdx.flags)} nr=${hex(nr)} ${variant}=${viewText(u, 1)}}`;
  }
  text += ` ${member}=${viewText(m, 2)}`;
  if (reason === kvm.KVM_EXIT_IO) {
    const n = run.io.size * run.io.count;
    const off = Number(run.io.data_offset);
    if (n <= 8 && off + n <= bytes.length) {
      let v = 0n;
      for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i]!);
      text += ` data=${hex(v)}`;
    }
  }
  return text;
}
