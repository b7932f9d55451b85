// SPDX-License-Identifier: GPL-2.0-only
/**
 * The statistics descriptors of `include/linux/kvm_host.h` (kvm-x86/linux,
 * commit 18adb02dd2d73bfe4f73c49b3e67841b8737d3b7): the `STATS_DESC_*`
 * macros, the generic VM and vCPU descriptors, and the histogram updates.
 *
 * A descriptor's `offset` is the byte offset of its member in the
 * architecture's stat struct, computed here with `offsetof()` of the one
 * layout engine, and a `SCOPE` (`VM`, `VM_GENERIC`, `VCPU`, `VCPU_GENERIC`)
 * is the stat struct plus the path of the member inside it. The descriptor
 * block userspace reads is built once per table with the uAPI layout of
 * `struct kvm_stats_desc` followed by `KVM_STATS_NAME_SIZE` name bytes.
 *
 * @module
 */

import {
  member_size,
  offsetof,
  type RecordType,
  sizeof,
  type View,
} from "../../../../include/c/layout.ts";
import {
  KVM_STATS_BASE_POW10,
  kvm_stats_desc,
  kvm_stats_header,
  KVM_STATS_TYPE_CUMULATIVE,
  KVM_STATS_TYPE_INSTANT,
  KVM_STATS_TYPE_LINEAR_HIST,
  KVM_STATS_TYPE_LOG_HIST,
  KVM_STATS_TYPE_PEAK,
  KVM_STATS_UNIT_BOOLEAN,
  KVM_STATS_UNIT_NONE,
  KVM_STATS_UNIT_SECONDS,
} from "../../../../include/linux/kvm.ts";
import { HALT_POLL_HIST_COUNT } from "./kvm_types.ts";

/** `KVM_STATS_NAME_SIZE`: bytes of the id string and of each descriptor's name. */
export const KVM_STATS_NAME_SIZE = 48;

/** The kernel's `struct kvm_stats_desc` with its name: one row of a descriptor table. */
export interface _kvm_stats_desc {
  /** Type, unit and base (`KVM_STATS_TYPE_*` | `KVM_STATS_UNIT_*` | `KVM_STATS_BASE_*`). */
  readonly flags: number;
  /** The unit's exponent. */
  readonly exponent: number;
  /** Number of u64 values. */
  readonly size: number;
  /** Byte offset of the values in the stat struct. */
  readonly offset: number;
  /** Bucket width of a linear histogram, else 0. */
  readonly bucket_size: number;
  /** The name (`#stat`). */
  readonly name: string;
}

/**
 * A `SCOPE` of the `STATS_DESC()` macro: the stat struct and where its
 * members sit (`generic.` for the `*_GENERIC` scopes).
 */
export interface stats_scope {
  /** `struct kvm_vm_stat` or `struct kvm_vcpu_stat`. */
  readonly stat: RecordType;
  /** The designator prefix of the scope's members: "" or "generic.". */
  readonly prefix: string;
}

/**
 * `STATS_DESC(SCOPE, stat, type, unit, base, exp, sz, bsz)`. The member must
 * hold `sz` u64 values: a mismatch is a bug in the table, caught at load.
 */
export function STATS_DESC(
  scope: stats_scope,
  stat: string,
  type: number,
  unit: number,
  base: number,
  exp: number,
  sz: number,
  bsz: number,
): _kvm_stats_desc {
  const designator = scope.prefix + stat;
  const offset = offsetof(scope.stat, designator);
  if (member_size(scope.stat, designator) !== sz * 8) {
    throw new TypeError(`stat ${designator}: ${sz} u64 values do not fit its member`);
  }
  return {
    flags: type | unit | base,
    exponent: exp,
    size: sz,
    offset,
    bucket_size: bsz,
    name: stat,
  };
}

/** `STATS_DESC_CUMULATIVE()`. */
export function STATS_DESC_CUMULATIVE(
  scope: stats_scope,
  name: string,
  unit: number,
  base: number,
  exponent: number,
): _kvm_stats_desc {
  return STATS_DESC(scope, name, KVM_STATS_TYPE_CUMULATIVE, unit, base, exponent, 1, 0);
}

/** `STATS_DESC_INSTANT()`. */
export function STATS_DESC_INSTANT(
  scope: stats_scope,
  name: string,
  unit: number,
  base: number,
  exponent: number,
): _kvm_stats_desc {
  return STATS_DESC(scope, name, KVM_STATS_TYPE_INSTANT, unit, base, exponent, 1, 0);
}

/** `STATS_DESC_PEAK()`. */
export function STATS_DESC_PEAK(
  scope: stats_scope,
  name: string,
  unit: number,
  base: number,
  exponent: number,
): _kvm_stats_desc {
  return STATS_DESC(scope, name, KVM_STATS_TYPE_PEAK, unit, base, exponent, 1, 0);
}

/** `STATS_DESC_LINEAR_HIST()`. */
export function STATS_DESC_LINEAR_HIST(
  scope: stats_scope,
  name: string,
  unit: number,
  base: number,
  exponent: number,
  sz: number,
  bsz: number,
): _kvm_stats_desc {
  return STATS_DESC(scope, name, KVM_STATS_TYPE_LINEAR_HIST, unit, base, exponent, sz, bsz);
}

/** `STATS_DESC_LOG_HIST()`. */
export function STATS_DESC_LOG_HIST(
  scope: stats_scope,
  name: string,
  unit: number,
  base: number,
  exponent: number,
  sz: number,
): _kvm_stats_desc {
  return STATS_DESC(scope, name, KVM_STATS_TYPE_LOG_HIST, unit, base, exponent, sz, 0);
}

/** `STATS_DESC_COUNTER()`: a cumulative counter. */
export function STATS_DESC_COUNTER(scope: stats_scope, name: string): _kvm_stats_desc {
  return STATS_DESC_CUMULATIVE(scope, name, KVM_STATS_UNIT_NONE, KVM_STATS_BASE_POW10, 0);
}

/** `STATS_DESC_ICOUNTER()`: an instantaneous counter. */
export function STATS_DESC_ICOUNTER(scope: stats_scope, name: string): _kvm_stats_desc {
  return STATS_DESC_INSTANT(scope, name, KVM_STATS_UNIT_NONE, KVM_STATS_BASE_POW10, 0);
}

/** `STATS_DESC_PCOUNTER()`: a peak counter. */
export function STATS_DESC_PCOUNTER(scope: stats_scope, name: string): _kvm_stats_desc {
  return STATS_DESC_PEAK(scope, name, KVM_STATS_UNIT_NONE, KVM_STATS_BASE_POW10, 0);
}

/** `STATS_DESC_IBOOLEAN()`: an instantaneous boolean. */
export function STATS_DESC_IBOOLEAN(scope: stats_scope, name: string): _kvm_stats_desc {
  return STATS_DESC_INSTANT(scope, name, KVM_STATS_UNIT_BOOLEAN, KVM_STATS_BASE_POW10, 0);
}

/** `STATS_DESC_PBOOLEAN()`: a sticky boolean. */
export function STATS_DESC_PBOOLEAN(scope: stats_scope, name: string): _kvm_stats_desc {
  return STATS_DESC_PEAK(scope, name, KVM_STATS_UNIT_BOOLEAN, KVM_STATS_BASE_POW10, 0);
}

/** `STATS_DESC_TIME_NSEC()`: cumulative nanoseconds. */
export function STATS_DESC_TIME_NSEC(scope: stats_scope, name: string): _kvm_stats_desc {
  return STATS_DESC_CUMULATIVE(scope, name, KVM_STATS_UNIT_SECONDS, KVM_STATS_BASE_POW10, -9);
}

/** `STATS_DESC_LINHIST_TIME_NSEC()`. */
export function STATS_DESC_LINHIST_TIME_NSEC(
  scope: stats_scope,
  name: string,
  sz: number,
  bsz: number,
): _kvm_stats_desc {
  return STATS_DESC_LINEAR_HIST(
    scope,
    name,
    KVM_STATS_UNIT_SECONDS,
    KVM_STATS_BASE_POW10,
    -9,
    sz,
    bsz,
  );
}

/** `STATS_DESC_LOGHIST_TIME_NSEC()`. */
export function STATS_DESC_LOGHIST_TIME_NSEC(
  scope: stats_scope,
  name: string,
  sz: number,
): _kvm_stats_desc {
  return STATS_DESC_LOG_HIST(scope, name, KVM_STATS_UNIT_SECONDS, KVM_STATS_BASE_POW10, -9, sz);
}

/** `KVM_GENERIC_VM_STATS()`. */
export function KVM_GENERIC_VM_STATS(VM_GENERIC: stats_scope): _kvm_stats_desc[] {
  return [
    STATS_DESC_COUNTER(VM_GENERIC, "remote_tlb_flush"),
    STATS_DESC_COUNTER(VM_GENERIC, "remote_tlb_flush_requests"),
  ];
}

/** `KVM_GENERIC_VCPU_STATS()`. */
export function KVM_GENERIC_VCPU_STATS(VCPU_GENERIC: stats_scope): _kvm_stats_desc[] {
  return [
    STATS_DESC_COUNTER(VCPU_GENERIC, "halt_successful_poll"),
    STATS_DESC_COUNTER(VCPU_GENERIC, "halt_attempted_poll"),
    STATS_DESC_COUNTER(VCPU_GENERIC, "halt_poll_invalid"),
    STATS_DESC_COUNTER(VCPU_GENERIC, "halt_wakeup"),
    STATS_DESC_TIME_NSEC(VCPU_GENERIC, "halt_poll_success_ns"),
    STATS_DESC_TIME_NSEC(VCPU_GENERIC, "halt_poll_fail_ns"),
    STATS_DESC_TIME_NSEC(VCPU_GENERIC, "halt_wait_ns"),
    STATS_DESC_LOGHIST_TIME_NSEC(VCPU_GENERIC, "halt_poll_success_hist", HALT_POLL_HIST_COUNT),
    STATS_DESC_LOGHIST_TIME_NSEC(VCPU_GENERIC, "halt_poll_fail_hist", HALT_POLL_HIST_COUNT),
    STATS_DESC_LOGHIST_TIME_NSEC(VCPU_GENERIC, "halt_wait_hist", HALT_POLL_HIST_COUNT),
    STATS_DESC_IBOOLEAN(VCPU_GENERIC, "blocking"),
  ];
}

/**
 * A descriptor table as the stats fd serves it: `kvm_*_stats_header` and the
 * descriptor array in their uAPI bytes, and the size of the stat struct.
 */
export interface kvm_stats_table {
  /** The header (`kvm_vm_stats_header` / `kvm_vcpu_stats_header`). */
  readonly header: View<typeof kvm_stats_header.fields>;
  /** The descriptors, `sizeof(struct kvm_stats_desc) + KVM_STATS_NAME_SIZE` bytes each. */
  readonly desc: Uint8Array;
  /** The descriptors as rows, for the kernel's own use. */
  readonly rows: readonly _kvm_stats_desc[];
  /** `sizeof()` the stat struct: the data block. */
  readonly size_stats: number;
}

/**
 * The header and descriptor block of a table, laid out as x86.c's
 * `kvm_*_stats_header` initialisers place them: header, id string,
 * descriptors, data.
 */
export function kvm_stats_table(stat: RecordType, rows: _kvm_stats_desc[]): kvm_stats_table {
  const size_desc = kvm_stats_desc.size + KVM_STATS_NAME_SIZE;
  const header = kvm_stats_header.alloc();
  header.name_size = KVM_STATS_NAME_SIZE;
  header.num_desc = rows.length;
  header.id_offset = kvm_stats_header.size;
  header.desc_offset = kvm_stats_header.size + KVM_STATS_NAME_SIZE;
  header.data_offset = header.desc_offset + size_desc * rows.length;
  const desc = new Uint8Array(size_desc * rows.length);
  const enc = new TextEncoder();
  rows.forEach((r, i) => {
    const bytes = desc.subarray(i * size_desc, (i + 1) * size_desc);
    const d = kvm_stats_desc.view(bytes);
    d.flags = r.flags;
    d.exponent = r.exponent;
    d.size = r.size;
    d.offset = r.offset;
    d.bucket_size = r.bucket_size;
    const name = enc.encode(r.name);
    if (name.length >= KVM_STATS_NAME_SIZE) throw new TypeError(`stat name ${r.name} too long`);
    bytes.set(name, kvm_stats_desc.size);
  });
  return Object.freeze({ header, desc, rows: Object.freeze(rows), size_stats: sizeof(stat) });
}

/** `fls64()`: the 1-based index of the highest set bit, 0 for 0. */
function fls64(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** `kvm_stats_linear_hist_update()`: one more value in its bucket (the last takes the rest). */
export function kvm_stats_linear_hist_update(
  data: { length: number; at(i: number): bigint; set(i: number, v: bigint): void },
  value: bigint,
  bucket_size: number,
): void {
  const index = Math.min(Number(value / BigInt(bucket_size)), data.length - 1);
  data.set(index, data.at(index) + 1n);
}

/** `kvm_stats_log_hist_update()`: bucket `fls64(value)`, the last taking the rest. */
export function kvm_stats_log_hist_update(
  data: { length: number; at(i: number): bigint; set(i: number, v: bigint): void },
  value: bigint,
): void {
  const index = Math.min(fls64(value), data.length - 1);
  data.set(index, data.at(index) + 1n);
}
