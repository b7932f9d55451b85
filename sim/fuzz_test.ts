// SPDX-License-Identifier: GPL-2.0-only
/**
 * A seeded fuzzer of the simulated machine: random and near-valid ioctls
 * on every kind of fd (system, VM, vCPU, guest_memfd, a TD and its vCPU),
 * random TDX sub-commands, and guests that run random sequences of
 * intrinsics. The invariants: no JavaScript exception escapes the simulated
 * kernel (a `SimulatorBugError` fails the test with its stack), every
 * failure is a valid errno (1..133, never a kernel-internal one), nothing
 * hangs (each guest entry has a deadline), and nothing leaks (fds and vCPU
 * workers are back to where they started).
 *
 * A run is a fixed number of calls per phase, not a time budget, so that
 * its seed alone replays it on any machine: a failure a fast machine reached
 * late in a timed run could lie past a slower one's budget. At the default
 * size a run takes about 5 s on the 2-core CI machine.
 *
 * `FUZZ_SEED=<n>` replays a run; `FUZZ_SCALE=<x>` multiplies every phase's
 * calls (10 for a ten times longer run). The seed is in the failure
 * message. This module is its own guest image.
 *
 * @module
 */

import "./use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import { u64 } from "../include/c/layout.ts";
import {
  __vcpu_run,
  get_ucall,
  GUEST_DONE,
  guest_global,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  readq,
  ref,
  sync_global_to_guest,
  UCALL_DONE,
  vm_alloc,
  vm_create_with_one_vcpu,
  writeq,
} from "../include/kvm_util.ts";
import {
  __cpuid,
  cpu_relax,
  hlt,
  inb,
  kvm_hypercall,
  outb,
  rdmsr_safe,
  rdtsc,
  wrmsr_safe,
} from "../include/x86/processor.ts";
import { getenv } from "../include/libc/process.ts";
import { errno_get, errno_set } from "../include/libc/errno.ts";
import { close, ioctl, mmap, munmap, open, ptr } from "../include/libc/syscall.ts";
import * as K from "../include/linux/kvm.ts";
import { kvm_tdx_cmd, KVM_X86_TDX_VM } from "../include/asm/kvm.ts";
import { MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE } from "../include/linux/mman.ts";
import { O_RDWR } from "../include/linux/fcntl.ts";
import { set_run_deadline } from "./cpu/vcpu_thread.ts";
import { vcpu_threads_alive } from "./cpu/vcpu_thread.ts";
import { current } from "./kernel/include/linux/sched.ts";
import { capabilities, init_vm_struct, td_up_to_init_vcpu } from "./kernel/testdata/raw_td.ts";

/** Random and near-valid ioctls on the system, VM, vCPU and guest_memfd fds, at scale 1. */
export const FUZZ_IOCTLS = 30_000;
/** TDX sub-commands on a TD and its vCPU, at scale 1. */
export const FUZZ_TDX_CMDS = 15_000;
/** Guests running a random intrinsic sequence each, at scale 1. */
export const FUZZ_GUESTS = 150;

/** The largest errno Linux defines (EHWPOISON); 512 and up are kernel-internal. */
const MAX_USER_ERRNO = 133;

/** mulberry32: small, seedable, good enough to pick calls. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed the guest's own generator starts from. */
const guest_seed = guest_global("fuzz_guest_seed", u64);
/** A guest page the guest may read and write. */
const guest_scratch = guest_global("fuzz_guest_scratch", u64);

/** Guest: a random sequence of intrinsics, then GUEST_DONE. */
export function guest_fuzz(): void {
  const rnd = prng(Number(guest_seed.value & 0xffffffffn));
  const n = 16 + Math.floor(rnd() * 48);
  const v = ref(0n);
  const r32 = ref(0);
  for (let i = 0; i < n; i++) {
    const port = 0x80 + Math.floor(rnd() * 16);
    const msr = rnd() < 0.5 ? Math.floor(rnd() * 0x1000) : Math.floor(rnd() * 2 ** 32);
    switch (Math.floor(rnd() * 10)) {
      case 0:
        outb(port, Math.floor(rnd() * 256));
        break;
      case 1:
        inb(port);
        break;
      case 2:
        __cpuid(Math.floor(rnd() * 0x20), Math.floor(rnd() * 4), r32, r32, r32, r32);
        break;
      case 3:
        rdmsr_safe(msr, v);
        break;
      case 4:
        wrmsr_safe(msr, BigInt(Math.floor(rnd() * 2 ** 32)));
        break;
      case 5:
        hlt();
        break;
      case 6:
        kvm_hypercall(Math.floor(rnd() * 16), 1n, 2n, 3n);
        break;
      case 7:
        rdtsc();
        cpu_relax();
        break;
      case 8:
        writeq(
          BigInt(Math.floor(rnd() * 2 ** 32)),
          guest_scratch.value + BigInt(Math.floor(rnd() * 512)) * 8n,
        );
        break;
      default:
        readq(guest_scratch.value + BigInt(Math.floor(rnd() * 512)) * 8n);
    }
  }
  GUEST_DONE();
}

/** Every KVM ioctl number the uAPI defines, but KVM_RUN (guests are fuzzed below). */
function kvm_ioctls(): [string, number][] {
  const out: [string, number][] = [];
  for (const [name, v] of Object.entries(K)) {
    if (!name.startsWith("KVM_") || typeof v !== "number" || name === "KVM_RUN") continue;
    if (((v >>> 8) & 0xff) === 0xae) out.push([name, v]);
  }
  return out;
}

/** Ioctls whose success returns a new fd, closed at the end. */
const FD_MAKERS = new Set<number>([
  K.KVM_CREATE_VM,
  K.KVM_CREATE_VCPU,
  K.KVM_CREATE_GUEST_MEMFD,
  K.KVM_GET_STATS_FD,
  K.KVM_CREATE_DEVICE,
]);

interface outcomes {
  calls: number;
  by_result: Map<string, number>;
  bad: string[];
}

function record(o: outcomes, what: string, r: number): void {
  o.calls++;
  let key: string;
  if (r === -1) {
    const e = errno_get();
    key = `errno ${e}`;
    if (!(e >= 1 && e <= MAX_USER_ERRNO)) o.bad.push(`${what}: invalid errno ${e}`);
  } else {
    key = r >= 0 ? "ok" : "negative value";
  }
  o.by_result.set(key, (o.by_result.get(key) ?? 0) + 1);
}

Deno.test("fuzz: random ioctls, TDX sub-commands and guest intrinsics keep every invariant", () => {
  const seed = Number(getenv("FUZZ_SEED") ?? 0x13c0ffee) >>> 0;
  const scale = Number(getenv("FUZZ_SCALE") ?? 1);
  if (!(scale > 0)) throw new RangeError(`FUZZ_SCALE=${getenv("FUZZ_SCALE")}: want a number > 0`);
  const n_ioctls = Math.ceil(FUZZ_IOCTLS * scale);
  const n_tdx_cmds = Math.ceil(FUZZ_TDX_CMDS * scale);
  const n_guests = Math.ceil(FUZZ_GUESTS * scale);
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const fds0 = current.files.open_fds().length;
  const o: outcomes = { calls: 0, by_result: new Map(), bad: [] };
  const made: number[] = [];
  const ioctls = kvm_ioctls();
  const why = (s: string) => `seed ${seed}: ${s}`;

  // Buffers the "kernel" may read and write: random bytes, or near-valid headers.
  const buf = new Uint8Array(16384);
  const fill = () => {
    for (let i = 0; i < buf.length; i += 4) {
      new DataView(buf.buffer).setUint32(i, int(2 ** 32), true);
    }
    if (rnd() < 0.5) new DataView(buf.buffer).setUint32(0, int(8), true); // small counts
  };
  const arg = (): bigint | number | Uint8Array => {
    switch (int(6)) {
      case 0:
        return 0;
      case 1:
        return int(64);
      case 2:
        return BigInt.asUintN(64, BigInt(int(2 ** 32)) << 32n | BigInt(int(2 ** 32)));
      case 3:
        return 0x1000n; // not mapped
      default:
        fill();
        return buf;
    }
  };

  try {
    // 1. Random and near-valid ioctls on every kind of fd.
    const kvm = open("/dev/kvm", O_RDWR);
    const vm = ioctl(kvm, K.KVM_CREATE_VM, 0);
    const vcpu = ioctl(vm, K.KVM_CREATE_VCPU, 0);
    const pvm = ioctl(kvm, K.KVM_CREATE_VM, 1);
    const g = K.kvm_create_guest_memfd.alloc();
    g.size = 1n << 21n;
    const gmem = ioctl(pvm, K.KVM_CREATE_GUEST_MEMFD, g);
    made.push(kvm, vm, vcpu, pvm, gmem);
    assert(made.every((fd) => fd >= 0), why("setup"));
    const fds = [kvm, vm, vcpu, pvm, gmem, -1, 1023];
    for (let i = 0; i < n_ioctls; i++) {
      const fd = fds[int(fds.length)]!;
      const [name, req] = rnd() < 0.9 ? ioctls[int(ioctls.length)]! : ["random", int(2 ** 32)];
      const a = arg();
      errno_set(0);
      const r = ioctl(fd, req, a);
      record(o, `${name} on fd ${fd}`, r);
      if (r >= 0 && FD_MAKERS.has(req)) made.push(r);
      if (rnd() < 0.01) {
        // The vCPU's pages, mapped and unmapped.
        const m = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
        o.calls++;
        if (m !== MAP_FAILED) munmap(m, 3 * 4096);
      }
    }

    // 2. TDX sub-commands, random and on a TD built step by step.
    const tvm = ioctl(kvm, K.KVM_CREATE_VM, KVM_X86_TDX_VM);
    made.push(tvm);
    const { ents } = capabilities(tvm);
    const good_init = init_vm_struct(ents);
    const td = td_up_to_init_vcpu(kvm, good_init, 1n << 21n);
    made.push(td.vm, td.vcpu, td.gmem);
    const c = kvm_tdx_cmd.alloc();
    for (let i = 0; i < n_tdx_cmds; i++) {
      const fd = [tvm, td.vm, td.vcpu][int(3)]!;
      c.id = rnd() < 0.9 ? int(7) : int(2 ** 32);
      c.flags = rnd() < 0.8 ? 0 : int(2 ** 32);
      c.hw_error = rnd() < 0.8 ? 0n : 1n;
      if (c.id === 1 && rnd() < 0.3) c.data = good_init;
      else {
        const a = arg();
        c.data = typeof a === "number" ? BigInt(a) : typeof a === "bigint" ? a : ptr(a);
      }
      errno_set(0);
      const r = ioctl(fd, K.KVM_MEMORY_ENCRYPT_OP, c);
      record(o, `TDX sub-command ${c.id} on fd ${fd}`, r);
    }

    // 3. Guests running random intrinsic sequences, each entry with a deadline.
    set_run_deadline(2000);
    try {
      const uc = new_ucall();
      for (let i = 0; i < n_guests; i++) {
        const v = ref<kvm_vcpu>();
        const gvm = vm_create_with_one_vcpu(v, guest_fuzz);
        try {
          guest_seed.value = BigInt(int(2 ** 32));
          guest_scratch.value = vm_alloc(gvm, 4096, 0x10000000n);
          sync_global_to_guest(gvm, guest_seed);
          sync_global_to_guest(gvm, guest_scratch);
          for (let exits = 0; exits < 1000; exits++) {
            const r = __vcpu_run(v.value);
            record(o, "KVM_RUN of a fuzzing guest", r);
            if (r !== 0) break;
            if (get_ucall(v.value, uc) === UCALL_DONE) break;
          }
        } finally {
          kvm_vm_free(gvm);
        }
      }
    } finally {
      set_run_deadline(undefined);
    }
  } finally {
    for (const fd of made.reverse()) close(fd);
  }

  const summary = [...o.by_result].map(([k, n]) => `${k}: ${n}`).join(", ");
  assertEquals(o.bad, [], why(`invalid results (${summary})`));
  assertEquals(vcpu_threads_alive(), [], why("leaked vCPU workers"));
  assertEquals(current.files.open_fds().length, fds0, why("leaked fds"));
  assert(o.calls > 1000, why(`only ${o.calls} calls (${summary})`));
  if (getenv("FUZZ_REPORT")) console.log(`fuzz seed ${seed}: ${o.calls} calls; ${summary}`);
});
