// SPDX-License-Identifier: GPL-2.0-only
/**
 * The language of the differential checker: a sequence of syscalls over the
 * KVM uAPI, as plain data. A sequence never holds a real fd or address, only
 * references to the calls that produced them, so the same sequence replays on
 * any backend (each gets its own fds, buffers and mappings) and survives the
 * shrinker dropping calls (a reference to a dropped call resolves to a value
 * the kernel rejects).
 *
 * @module
 */

import * as kvm from "../../include/linux/kvm.ts";
import { _IOC_TYPE } from "../../include/linux/ioctl.ts";
import { strerrorname_np } from "../../include/linux/errno.ts";

/**
 * A value a syscall argument or a struct member takes:
 * - a `bigint` literal;
 * - `{ fd }`: the result of call `fd` (a file descriptor, or its `-errno`);
 * - `{ map, off }`: the address call `map` (an `mmap`) returned, plus `off`;
 * - `{ bad }`: a pointer no process can use: `NULL`, a user address below
 *   `mmap_min_addr` that is never mapped, or a kernel address;
 * - `{ buf, fill }`: a fresh scratch buffer of `buf` bytes, each `fill`
 *   (MSR filter bitmaps, FIONBIO's int), alive for the call.
 */
export type Val =
  | bigint
  | { readonly fd: number }
  | { readonly map: number; readonly off: bigint }
  | { readonly bad: "null" | "unmapped" | "kernel" }
  | { readonly buf: number; readonly fill: number };

/** A struct argument built with the uAPI layout `type` (a name exported by `include/linux/kvm.ts`). */
export interface StructArg {
  /** The layout, e.g. `"kvm_userspace_memory_region2"`. */
  readonly struct: string;
  /** Elements of the flexible array member to allocate. */
  readonly flex?: number;
  /** Members to set, by C designator (`"entries[2].index"`); the rest are zero. */
  readonly set: Readonly<Record<string, Val>>;
}

/** An ioctl argument: a value, or a struct the kernel reads and/or writes. */
export type Arg = Val | StructArg;

/** The register file a `regs` call perturbs. */
export type RegsKind = "regs" | "sregs" | "mp_state" | "xcrs" | "lapic" | "vcpu_events";

/** One call of a sequence; `id` names its result for later calls. */
export type Call =
  & { readonly id: number }
  & (
    | { readonly op: "open"; readonly path: string }
    | { readonly op: "close"; readonly fd: Val }
    | { readonly op: "ioctl"; readonly fd: Val; readonly req: number; readonly arg: Arg }
    | {
      readonly op: "mmap";
      readonly len: bigint;
      readonly prot: number;
      readonly flags: number;
      readonly fd: Val;
      readonly off: bigint;
    }
    | { readonly op: "munmap"; readonly map: number }
    | {
      readonly op: "fallocate";
      readonly fd: Val;
      readonly mode: number;
      readonly off: bigint;
      readonly len: bigint;
    }
    | { readonly op: "read" | "write"; readonly fd: Val; readonly buf: Val; readonly count: bigint }
    /** KVM_RUN with `kvm_run.immediate_exit = 1` (the replayer maps the page itself). */
    | { readonly op: "run"; readonly vcpu: Val }
    /**
     * KVM_GET_<kind>, then KVM_SET_<kind> of that state with members
     * overwritten, then KVM_GET_<kind> again: how valid and invalid register
     * states are reached without knowing the backend's state in advance.
     */
    | {
      readonly op: "regs";
      readonly vcpu: Val;
      readonly kind: RegsKind;
      readonly set: Readonly<Record<string, bigint>>;
    }
    /**
     * KVM_GET_MSRS of every index of this backend's KVM_GET_MSR_INDEX_LIST,
     * one at a time, then (with `write`) KVM_SET_MSRS of each value read.
     */
    | { readonly op: "msr_list"; readonly vcpu: Val; readonly kvm: Val; readonly write: boolean }
    /** KVM_CHECK_EXTENSION of every `KVM_CAP_*` on one fd: one call, one result per capability. */
    | { readonly op: "caps"; readonly fd: Val }
    /** KVM_GET_TSC_KHZ, then KVM_SET_TSC_KHZ of the same rate times `num / den`. */
    | { readonly op: "tsc_khz"; readonly vcpu: Val; readonly num: number; readonly den: number }
  );

/** The ids of the calls whose results `c` uses (fds and mappings). */
export function refs(c: Call): number[] {
  const out: number[] = [];
  const v = (x: Val | undefined) => {
    if (typeof x !== "object") return;
    if ("fd" in x) out.push(x.fd);
    if ("map" in x) out.push(x.map);
  };
  for (const [k, x] of Object.entries(c)) {
    if (k === "id") continue;
    if (k === "map" && typeof x === "number") out.push(x);
    else if (k === "arg" && typeof x === "object" && x !== null && "struct" in x) {
      for (const y of Object.values((x as StructArg).set)) v(y);
    } else if (typeof x === "object" && x !== null && !Array.isArray(x)) v(x as Val);
  }
  return out;
}

/** A call before it is numbered: what the generator builds. */
export type CallBody = Call extends infer C ? C extends unknown ? Omit<C, "id"> : never : never;

/** A generated sequence: where it came from, and its calls. */
export interface Sequence {
  /** The run's seed. */
  readonly seed: number;
  /** The sequence's index in the run (with the seed, enough to regenerate it). */
  readonly index: number;
  /** The calls, in order. */
  readonly calls: readonly Call[];
}

/** Whether an argument is a struct (rather than a plain value or pointer). */
export function is_struct(a: Arg): a is StructArg {
  return typeof a === "object" && "struct" in a;
}

/** The name of an ioctl request (`KVM_SET_SREGS`), or its number in hex. */
export function ioctl_name(req: number): string {
  return names().get(req >>> 0) ?? `0x${(req >>> 0).toString(16)}`;
}

let nameCache: Map<number, string> | undefined;
function names(): Map<number, string> {
  if (nameCache) return nameCache;
  nameCache = new Map();
  for (const [k, v] of Object.entries(kvm)) {
    // Only request numbers: KVMIO in the type field; KVM_CAP_* and friends are small.
    if (!k.startsWith("KVM_") || typeof v !== "number" || v < 0x100) continue;
    if (_IOC_TYPE(v) !== kvm.KVMIO) continue;
    if (!nameCache.has(v >>> 0)) nameCache.set(v >>> 0, k);
  }
  for (const [k, v] of Object.entries(EXTRA_REQUESTS)) nameCache.set(v, k);
  return nameCache;
}

/** Generic VFS and tty requests the checker sends to KVM fds (`include/uapi/asm-generic/ioctls.h`). */
export const EXTRA_REQUESTS = {
  TCGETS: 0x5401,
  FIONBIO: 0x5421,
  FIONCLEX: 0x5450,
  FIOCLEX: 0x5451,
} as const;

// The first KVM_CAP_* name of each number, as a scan of the header finds it;
// built once (a "caps" call names some 250 capabilities, and the header has
// over a thousand names to scan per lookup).
let capNames: Map<number, string> | undefined;

/** The name of a capability (`KVM_CAP_VM_TYPES`), or its number. */
export function cap_name(cap: bigint | number): string {
  if (!capNames) {
    capNames = new Map();
    for (const [k, v] of Object.entries(kvm)) {
      if (k.startsWith("KVM_CAP_") && typeof v === "number" && !capNames.has(v)) capNames.set(v, k);
    }
  }
  return capNames.get(Number(cap)) ?? String(cap);
}

/** A raw syscall result in C's words: `0`, `3`, or `-EINVAL`. */
export function ret_name(r: number | bigint): string {
  const n = Number(r);
  if (n < 0 && n > -4096) return `-${strerrorname_np(-n) ?? -n}`;
  return typeof r === "bigint" ? `0x${r.toString(16)}` : String(r);
}

function val(v: Val): string {
  if (typeof v === "bigint") return v < 10n ? `${v}n` : `0x${v.toString(16)}n`;
  if ("fd" in v) return `$${v.fd}`;
  if ("map" in v) return v.off === 0n ? `$${v.map}` : `$${v.map} + 0x${v.off.toString(16)}n`;
  if ("buf" in v) return `buf(${v.buf}, 0x${v.fill.toString(16)})`;
  return v.bad === "null" ? "NULL" : v.bad === "unmapped" ? "UNMAPPED" : "KERNEL_PTR";
}

function arg(a: Arg, req: number): string {
  if (!is_struct(a)) {
    if (req === kvm.KVM_CHECK_EXTENSION && typeof a === "bigint") return cap_name(a);
    return val(a);
  }
  const members = Object.entries(a.set).map(([k, v]) => `${k}: ${val(v)}`).join(", ");
  return `${a.struct}${a.flex !== undefined ? `(${a.flex})` : ""}{ ${members} }`;
}

/**
 * One call as a line of pseudo-TypeScript over the raw `Backend` API, with
 * `$n` for the result of call `n`: the form disagreements are reported in.
 */
export function format_call(c: Call): string {
  const lhs = `const $${c.id} = `;
  switch (c.op) {
    case "open":
      return `${lhs}open(${JSON.stringify(c.path)}, O_RDWR);`;
    case "close":
      return `${lhs}close(${val(c.fd)});`;
    case "ioctl":
      return `${lhs}ioctl(${val(c.fd)}, ${ioctl_name(c.req)}, ${arg(c.arg, c.req)});`;
    case "mmap":
      return `${lhs}mmap(NULL, 0x${c.len.toString(16)}n, ${c.prot}, 0x${c.flags.toString(16)}, ${
        val(c.fd)
      }, 0x${c.off.toString(16)}n);`;
    case "munmap":
      return `${lhs}munmap($${c.map});`;
    case "fallocate":
      return `${lhs}fallocate(${val(c.fd)}, ${c.mode}, 0x${c.off.toString(16)}n, 0x${
        c.len.toString(16)
      }n);`;
    case "read":
    case "write":
      return `${lhs}${c.op}(${val(c.fd)}, ${val(c.buf)}, ${c.count}n);`;
    case "run":
      return `${lhs}run_immediate_exit(${
        val(c.vcpu)
      }); // mmap kvm_run, immediate_exit = 1, KVM_RUN`;
    case "regs": {
      const set = Object.entries(c.set).map(([k, v]) => `${k}: 0x${v.toString(16)}n`).join(", ");
      return `${lhs}get_set_get_${c.kind}(${val(c.vcpu)}, { ${set} });`;
    }
    case "msr_list":
      return `${lhs}${c.write ? "get_set" : "get"}_msrs_of_index_list(${val(c.vcpu)}, ${
        val(c.kvm)
      });`;
    case "caps":
      return `${lhs}check_extension_of_every_cap(${val(c.fd)});`;
    case "tsc_khz":
      return `${lhs}set_tsc_khz_scaled(${val(c.vcpu)}, ${c.num} / ${c.den});`;
  }
}

/** A sequence as a short program, one call a line. */
export function format_sequence(calls: readonly Call[]): string {
  return calls.map(format_call).join("\n");
}
