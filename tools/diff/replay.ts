// SPDX-License-Identifier: GPL-2.0-only
/**
 * Replays a sequence on one `Backend` and records, per call, the return
 * value (`-errno` on failure) and the bytes of every struct the kernel
 * wrote. Each backend gets its own fds, buffers and mappings: a `{ fd }` or
 * `{ map }` reference resolves to what *this* backend returned.
 *
 * Safety on the real kernel (these calls run inside the Deno process):
 * - an fd argument in `[0, FD_GUARD)` that this replay did not open (or has
 *   closed) is not passed to the kernel: the call is answered `-EBADF` on
 *   every backend alike, so that a stale number never reaches one of Deno's
 *   own descriptors; a handle the sequence closed stays closed even when a
 *   later call reuses its number (which numbers get reused depends on what
 *   else the process has open, not on the kernel under test);
 * - only mappings this replay made and still holds are unmapped, and the
 *   kernel only ever *writes* into buffers of this replay or into live
 *   mappings of it; `MAP_FIXED` is refused;
 * - KVM_RUN is only issued with `kvm_run.immediate_exit = 1`, so no guest
 *   code runs;
 * - everything opened or mapped is closed or unmapped at the end.
 *
 * @module
 */

import type { Backend } from "../../include/libc/backend.ts";
import { _IOC_DIR, _IOC_READ } from "../../include/linux/ioctl.ts";
import * as kvm from "../../include/linux/kvm.ts";
import {
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "../../include/linux/mman.ts";
import { O_RDWR } from "../../include/linux/fcntl.ts";
import { EBADF } from "../../include/linux/errno.ts";
import { member_size, offsetof, type RecordType, struct, u64 } from "../../include/c/layout.ts";
import { type Arg, type Call, cap_name, is_struct, type RegsKind, type Val } from "./sequence.ts";

/** Every `KVM_CAP_*` number of the uAPI, for KVM_CHECK_EXTENSION sweeps. */
export const ALL_CAPS: readonly number[] = Object.entries(kvm)
  .filter(([k, v]) => k.startsWith("KVM_CAP_") && typeof v === "number")
  .map(([, v]) => v as number)
  .sort((a, b) => a - b);

/** What one call did on one backend. */
export interface CallRecord {
  /**
   * The result: a number (`0`, `-22`), or a normalized word where the value
   * is per-process by nature: `"fd"` for a new descriptor, `"addr"` for a new
   * mapping, `"skip"` when the call had nothing to act on; a compound call
   * joins its steps with `/`; `"throw: ..."` when the backend threw.
   */
  readonly ret: string;
  /** The bytes the kernel wrote, by name (`"arg"` for an ioctl's struct). */
  readonly out: Readonly<Record<string, Uint8Array>>;
}

/** Descriptors below this are guarded (see the module doc); literal fds above it pass through. */
export const FD_GUARD = 1_000_000;
/** A user address that is never mapped: below Linux's `mmap_min_addr` (64 KiB). */
export const UNMAPPED_ADDR = 0x1000n;
/** A kernel address (direct map): `access_ok` fails on it. */
export const KERNEL_ADDR = 0xffff_8880_0000_0000n;
/**
 * Where a sequence's mmaps are placed (a hint, never `MAP_FIXED`): call `id`
 * of a replay in lane `lane` asks for `MMAP_HINT_BASE + lane *
 * MMAP_HINT_LANE + id * MMAP_HINT_STRIDE` on both kernels. With the
 * host's ASLR choosing instead, `access_ok(userspace_addr, memory_size)` of a
 * memslot far larger than its mapping (64 GiB over 2 MiB) failed with
 * -EINVAL on the host when the mapping happened to land within 64 GiB of the
 * top of user space, and passed on the simulator: a disagreement about the
 * address layout, not about KVM.
 */
export const MMAP_HINT_BASE = 0x2000_0000_0000n;
/** Room per call: more than the largest mapping a sequence makes (2 MiB). */
export const MMAP_HINT_STRIDE = 0x40_0000n;
/**
 * Room per lane: replays that run at once in one process (the checker's
 * worker threads) share its address space, so each asks in its own range.
 * With one range for all, a worker's mapping could sit where the other's
 * next mmap asked to go; the host then placed that one near the top of user
 * space, and a 64 GiB memslot over it failed `access_ok` there only.
 */
export const MMAP_HINT_LANE = 0x100_0000_0000n;
/** Lanes before the hints wrap (64 TiB of ranges, below the 47-bit user space's top). */
export const MMAP_HINT_LANES = 64;
/** How long a KVM_RUN may take before it is recorded as `"timeout"`. */
export const RUN_TIMEOUT_MS = 5000;

/** Requests whose non-negative result is a new file descriptor. */
const FD_RESULT = new Set<number>([
  kvm.KVM_CREATE_VM,
  kvm.KVM_CREATE_VCPU,
  kvm.KVM_CREATE_GUEST_MEMFD,
  kvm.KVM_GET_STATS_FD,
]);

/** The register ioctls a `regs` call goes through. */
export const REGS: Readonly<Record<RegsKind, { get: number; set: number; type: RecordType }>> = {
  regs: { get: kvm.KVM_GET_REGS, set: kvm.KVM_SET_REGS, type: kvm.kvm_regs },
  sregs: { get: kvm.KVM_GET_SREGS, set: kvm.KVM_SET_SREGS, type: kvm.kvm_sregs },
  mp_state: { get: kvm.KVM_GET_MP_STATE, set: kvm.KVM_SET_MP_STATE, type: kvm.kvm_mp_state },
  xcrs: { get: kvm.KVM_GET_XCRS, set: kvm.KVM_SET_XCRS, type: kvm.kvm_xcrs },
  lapic: { get: kvm.KVM_GET_LAPIC, set: kvm.KVM_SET_LAPIC, type: kvm.kvm_lapic_state },
  vcpu_events: {
    get: kvm.KVM_GET_VCPU_EVENTS,
    set: kvm.KVM_SET_VCPU_EVENTS,
    type: kvm.kvm_vcpu_events,
  },
};

/**
 * Argument layouts the uAPI header has no struct for: `u64` is a lone
 * `__u64` passed by pointer (KVM_X86_SETUP_MCE, KVM_SET_IDENTITY_MAP_ADDR,
 * KVM_X86_GET_MCE_CAP_SUPPORTED).
 */
const SCALAR_ARGS: Readonly<Record<string, RecordType>> = {
  u64: struct("u64", { value: u64 }),
};

/** The uAPI layout of a struct argument, by name. */
export function layout(name: string): RecordType {
  const t = SCALAR_ARGS[name] ?? (kvm as unknown as Record<string, RecordType | undefined>)[name];
  if (!t || (t.kind !== "struct" && t.kind !== "union")) throw new TypeError(`no layout ${name}`);
  return t;
}

/** Bytes a struct argument needs: `sizeof` plus `flex` elements of its flexible tail. */
export function struct_size(t: RecordType, flex = 0): number {
  return t.size + flex * (t.flexTail?.elem.size ?? 0);
}

/** Writes `v` little-endian into `size` bytes at `off`, truncated as C truncates. */
export function put_le(bytes: Uint8Array, off: number, size: number, v: bigint): void {
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    bytes[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/** Reads `size` bytes little-endian at `off` as an unsigned value. */
export function get_le(bytes: Uint8Array, off: number, size: number): bigint {
  let x = 0n;
  for (let i = size - 1; i >= 0; i--) x = (x << 8n) | BigInt(bytes[off + i]!);
  return x;
}

/** Sets members of a struct in `bytes` by C designator. */
export function set_members(
  t: RecordType,
  bytes: Uint8Array,
  set: Readonly<Record<string, bigint>>,
): void {
  for (const [d, v] of Object.entries(set)) put_le(bytes, offsetof(t, d), member_size(t, d), v);
}

/** Replays `calls` on `b`; every fd and mapping it made is released before it returns. */
export async function replay(
  b: Backend,
  calls: readonly Call[],
  lane = 0,
): Promise<CallRecord[]> {
  const r = new Replayer(b, lane);
  try {
    const out: CallRecord[] = [];
    for (const c of calls) {
      let rec: CallRecord;
      try {
        rec = await r.call(c);
      } catch (e) {
        // A backend that throws is a finding, not a crash of the checker.
        rec = { ret: `throw: ${e instanceof Error ? e.message : String(e)}`, out: {} };
      }
      out.push(rec);
    }
    return out;
  } finally {
    r.release();
  }
}

class Replayer {
  readonly #b: Backend;
  /** Raw results by call id. */
  readonly #results = new Map<number, bigint>();
  /** Descriptors this replay owns. */
  readonly #fds = new Set<number>();
  /** Calls whose descriptor the sequence closed: the handle stays dead even if the number is reused. */
  readonly #dead = new Set<number>();
  /** Mappings this replay holds, by the id of the mmap that made them. */
  readonly #maps = new Map<number, { addr: bigint; len: bigint }>();
  /** Buffers passed to the kernel: kept alive until the replay ends (addresses must stay valid). */
  readonly #keep: ArrayBuffer[] = [];

  /** The first mmap hint of this replay's lane. */
  readonly #hint_base: bigint;

  constructor(b: Backend, lane: number) {
    this.#b = b;
    this.#hint_base = MMAP_HINT_BASE + BigInt(lane % MMAP_HINT_LANES) * MMAP_HINT_LANE;
  }

  release(): void {
    for (const m of this.#maps.values()) this.#b.munmap(m.addr, m.len);
    this.#maps.clear();
    for (const fd of [...this.#fds].reverse()) this.#b.close(fd);
    this.#fds.clear();
    this.#keep.length = 0;
  }

  #scratch(len: number, fill = 0): { buf: ArrayBuffer; bytes: Uint8Array; addr: bigint } {
    // Never zero-sized: a zero-length view has no address to give.
    const buf = new ArrayBuffer(Math.max(len, 8));
    const bytes = new Uint8Array(buf);
    if (fill) bytes.fill(fill);
    this.#keep.push(buf);
    return { buf, bytes, addr: this.#b.addr_of(buf, 0) };
  }

  /** The value a `Val` has on this backend. */
  #resolve(v: Val): bigint {
    if (typeof v === "bigint") return v;
    if ("fd" in v) return this.#results.get(v.fd) ?? -1n;
    if ("map" in v) {
      const base = this.#results.get(v.map);
      // A failed or dropped mmap leaves a pointer the kernel rejects.
      return (base !== undefined && base >= 0n ? base : UNMAPPED_ADDR) + v.off;
    }
    if ("buf" in v) return this.#scratch(v.buf, v.fill).addr;
    return v.bad === "null" ? 0n : v.bad === "unmapped" ? UNMAPPED_ADDR : KERNEL_ADDR;
  }

  /** An fd argument, or `undefined` when it is guarded (see the module doc). */
  #fd(v: Val): number | undefined {
    if (typeof v === "object" && "fd" in v && this.#dead.has(v.fd)) return undefined;
    const fd = Number(BigInt.asIntN(32, this.#resolve(v)));
    if (fd >= 0 && fd < FD_GUARD && !this.#fds.has(fd)) return undefined;
    return fd;
  }

  /**
   * An argument value. An fd the sequence closed or never owned becomes -1:
   * its number may meanwhile belong to another sequence replaying in the same
   * process (a struct's `guest_memfd`), which would make the result depend on
   * scheduling.
   */
  #value(v: Val): bigint {
    if (typeof v === "object" && "fd" in v) return BigInt(this.#fd(v) ?? -1);
    return this.#resolve(v);
  }

  #arg(a: Arg): { value: bigint; bytes?: Uint8Array } {
    if (!is_struct(a)) return { value: this.#value(a) };
    const t = layout(a.struct);
    const s = this.#scratch(struct_size(t, a.flex ?? 0));
    for (const [d, v] of Object.entries(a.set)) {
      put_le(s.bytes, offsetof(t, d), member_size(t, d), this.#value(v));
    }
    return { value: s.addr, bytes: s.bytes };
  }

  #ioctl(fd: number, req: number, arg: bigint): number {
    if (req === kvm.KVM_RUN) throw new Error("KVM_RUN only through the run call");
    const r = this.#b.ioctl(fd, req, arg);
    if (FD_RESULT.has(req) && r >= 0) this.#fds.add(r);
    return r;
  }

  async call(c: Call): Promise<CallRecord> {
    const b = this.#b;
    const done = (raw: number | bigint, out: Record<string, Uint8Array> = {}): CallRecord => {
      this.#results.set(c.id, BigInt(raw));
      return { ret: String(raw), out };
    };
    const fdOf = (v: Val): number | undefined => this.#fd(v);
    switch (c.op) {
      case "open": {
        const fd = b.open(c.path, O_RDWR, 0);
        if (fd >= 0) this.#fds.add(fd);
        this.#results.set(c.id, BigInt(fd));
        return { ret: fd >= 0 ? "fd" : String(fd), out: {} };
      }
      case "close": {
        const fd = fdOf(c.fd);
        if (fd === undefined) return done(-EBADF);
        const r = b.close(fd);
        if (r === 0) {
          this.#fds.delete(fd);
          for (const [id, x] of this.#results) if (x === BigInt(fd)) this.#dead.add(id);
        }
        return done(r);
      }
      case "ioctl": {
        const fd = fdOf(c.fd);
        if (fd === undefined) return done(-EBADF);
        const { value, bytes } = this.#arg(c.arg);
        const r = this.#ioctl(fd, c.req, value);
        this.#results.set(c.id, BigInt(r));
        const out: Record<string, Uint8Array> = {};
        if (bytes && (_IOC_DIR(c.req) & _IOC_READ)) out.arg = bytes.slice();
        return { ret: FD_RESULT.has(c.req) && r >= 0 ? "fd" : String(r), out };
      }
      case "mmap": {
        if (c.flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) throw new Error("MAP_FIXED refused");
        const fd = c.fd === -1n ? -1 : fdOf(c.fd);
        if (fd === undefined) return done(-EBADF);
        const hint = this.#hint_base + BigInt(c.id) * MMAP_HINT_STRIDE;
        const r = b.mmap(hint, c.len, c.prot, c.flags, fd, c.off);
        this.#results.set(c.id, r);
        if (r < 0n) return { ret: String(r), out: {} };
        this.#maps.set(c.id, { addr: r, len: c.len });
        return { ret: "addr", out: {} };
      }
      case "munmap": {
        const m = this.#maps.get(c.map);
        if (!m) return { ret: "skip", out: {} };
        this.#maps.delete(c.map);
        return done(b.munmap(m.addr, m.len));
      }
      case "fallocate": {
        const fd = fdOf(c.fd);
        if (fd === undefined) return done(-EBADF);
        return done(b.fallocate(fd, c.mode, c.off, c.len));
      }
      case "read":
      case "write": {
        const fd = fdOf(c.fd);
        if (fd === undefined) return done(-EBADF);
        let buf = this.#resolve(c.buf);
        // The kernel may write through read()'s buffer: only into a mapping this replay holds.
        if (c.op === "read" && typeof c.buf === "object" && "map" in c.buf) {
          const m = this.#maps.get(c.buf.map);
          buf = m && c.buf.off + c.count <= m.len ? m.addr + c.buf.off : UNMAPPED_ADDR;
        }
        return done(c.op === "read" ? b.read(fd, buf, c.count) : b.write(fd, buf, c.count));
      }
      case "run":
        return await this.#run(c.id, c.vcpu);
      case "regs":
        return this.#regs(c.id, c.vcpu, c.kind, c.set);
      case "msr_list":
        return this.#msr_list(c.id, c.vcpu, c.kvm, c.write);
      case "tsc_khz":
        return this.#tsc_khz(c.id, c.vcpu, c.num, c.den);
      case "caps": {
        const fd = fdOf(c.fd);
        if (fd === undefined) return done(-EBADF);
        const out: Record<string, Uint8Array> = {};
        for (const cap of ALL_CAPS) {
          const v = new Uint8Array(8);
          put_le(v, 0, 8, BigInt(b.ioctl(fd, kvm.KVM_CHECK_EXTENSION, BigInt(cap))));
          out[cap_name(cap)] = v;
        }
        return done(0, out);
      }
    }
  }

  async #run(id: number, vcpu: Val): Promise<CallRecord> {
    const b = this.#b;
    const fd = this.#fd(vcpu);
    if (fd === undefined) return this.#set(id, -EBADF);
    // Only a vCPU's page 0 is safe to touch: a guest_memfd mapping may SIGBUS.
    const probe = this.#scratch(kvm.kvm_mp_state.size);
    const isVcpu = b.ioctl(fd, kvm.KVM_GET_MP_STATE, probe.addr);
    if (isVcpu < 0) return { ret: `not a vcpu ${isVcpu}`, out: {} };
    const page = 4096n;
    const addr = b.mmap(0n, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    // Without the kvm_run page immediate_exit cannot be set: running would enter the guest.
    if (addr < 0n) return { ret: `mmap ${addr}`, out: {} };
    try {
      const run = b.user_memory(addr, 4096);
      if (!run) return { ret: "no kvm_run view", out: {} };
      run[kvm.kvm_run.members.find((m) => m.name === "immediate_exit")!.offset] = 1;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const r = await Promise.race([
        b.ioctl_async(fd, kvm.KVM_RUN, 0n),
        new Promise<string>((res) => timer = setTimeout(() => res("timeout"), RUN_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
      this.#results.set(id, BigInt(typeof r === "number" ? r : -1));
      // exit_reason .. apic_base: what KVM_RUN reports back in the page (post_kvm_run_save).
      return { ret: String(r), out: { kvm_run: run.slice(8, 32) } };
    } finally {
      b.munmap(addr, page);
    }
  }

  #set(id: number, r: number): CallRecord {
    this.#results.set(id, BigInt(r));
    return { ret: String(r), out: {} };
  }

  #regs(
    id: number,
    vcpu: Val,
    kind: RegsKind,
    set: Readonly<Record<string, bigint>>,
  ): CallRecord {
    const fd = this.#fd(vcpu);
    if (fd === undefined) return this.#set(id, -EBADF);
    const k = REGS[kind];
    const s = this.#scratch(k.type.size);
    const r1 = this.#ioctl(fd, k.get, s.addr);
    const before = s.bytes.slice();
    set_members(k.type, s.bytes, set);
    const r2 = this.#ioctl(fd, k.set, s.addr);
    s.bytes.fill(0);
    const r3 = this.#ioctl(fd, k.get, s.addr);
    this.#results.set(id, BigInt(r2));
    return { ret: `${r1}/${r2}/${r3}`, out: { before, after: s.bytes.slice() } };
  }

  #msr_list(id: number, vcpu: Val, sys: Val, write: boolean): CallRecord {
    const fd = this.#fd(vcpu);
    const kfd = this.#fd(sys);
    if (fd === undefined || kfd === undefined) return this.#set(id, -EBADF);
    const max = 4096;
    const list = this.#scratch(struct_size(kvm.kvm_msr_list, max));
    put_le(list.bytes, 0, 4, BigInt(max));
    const r = this.#ioctl(kfd, kvm.KVM_GET_MSR_INDEX_LIST, list.addr);
    if (r < 0) return this.#set(id, r);
    const n = Number(get_le(list.bytes, 0, 4));
    const one = this.#scratch(struct_size(kvm.kvm_msrs, 1));
    const out: Record<string, Uint8Array> = {};
    for (let i = 0; i < n; i++) {
      const index = get_le(list.bytes, 4 + 4 * i, 4);
      one.bytes.fill(0);
      put_le(one.bytes, 0, 4, 1n);
      put_le(one.bytes, 8, 4, index);
      const got = this.#ioctl(fd, kvm.KVM_GET_MSRS, one.addr);
      let put = 0;
      if (write && got === 1) put = this.#ioctl(fd, kvm.KVM_SET_MSRS, one.addr);
      // Per index: GET_MSRS result, SET_MSRS result, value read.
      const rec = new Uint8Array(16);
      put_le(rec, 0, 4, BigInt(got));
      put_le(rec, 4, 4, BigInt(put));
      rec.set(one.bytes.subarray(16, 24), 8);
      out[`msr 0x${index.toString(16)}`] = rec;
    }
    this.#results.set(id, 0n);
    return { ret: "0", out };
  }

  #tsc_khz(id: number, vcpu: Val, num: number, den: number): CallRecord {
    const fd = this.#fd(vcpu);
    if (fd === undefined) return this.#set(id, -EBADF);
    const khz = this.#ioctl(fd, kvm.KVM_GET_TSC_KHZ, 0n);
    if (khz <= 0) return this.#set(id, khz);
    const want = Math.floor((khz * num) / den);
    const r = this.#ioctl(fd, kvm.KVM_SET_TSC_KHZ, BigInt(want));
    const now = this.#ioctl(fd, kvm.KVM_GET_TSC_KHZ, 0n);
    this.#results.set(id, BigInt(r));
    // The rate itself is the host's: record only whether the set took effect.
    const took = now === want ? "want" : now === khz ? "unchanged" : String(now);
    return { ret: `khz/${r}/${took}`, out: {} };
  }
}
