// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task diff --guest`: seeded random TypeScript guest programs run on
 * two backends (by default the real `/dev/kvm`, through the guest runtime,
 * and the simulator), their exits and results compared.
 *
 * A program is 8 to 32 ops drawn from: port I/O of each size to two ports
 * (the host answers `in` with data derived from the program), `wrmsr` of a
 * menu of MSRs KVM keeps for the guest (some values non-canonical: #GP
 * returned by `wrmsr_safe`), `rdmsr` of them, `rdmsr_safe` of an index no
 * CPU has, `cpuid` of the two range leaves (EAX compared), loads and stores
 * of each size in a 64 KiB region mapped through 4-level paging, loads of
 * unmapped addresses and `rdmsr` of a bogus MSR handled by guest #PF/#GP
 * handlers (vector, error code and CR2 compared), and a `rdtsc` pair. No
 * HLT: with the in-kernel LAPIC every VM has, HLT waits for an interrupt
 * nobody sends. Not drawn either, as this host's `kvm_pvm` does not handle
 * them even for raw guest code (`docs/backends.md`): `vmcall`, `int3`, string
 * I/O (batched differently).
 *
 * Each backend runs all programs in one VM (one guest interpreting them one
 * after the other); every program starts by writing the MSR menu, so that a
 * difference does not cascade. A program agrees when its exits (port, size,
 * direction, data) and its results are equal.
 *
 * @module
 */

import { Prng } from "./prng.ts";
import type { Backend } from "../../include/libc/backend.ts";
import { set_backend } from "../../include/libc/backend.ts";
import { KVM_EXIT_IO, KVM_EXIT_IO_OUT } from "../../include/linux/kvm.ts";
import { user_memory } from "../../include/libc/syscall.ts";
import {
  addr_gva2hva,
  get_ucall,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  sync_global_to_guest,
  UCALL_ABORT,
  ucall_buffer,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run,
  vm_alloc,
} from "../../include/kvm_util.ts";
import { vm_install_exception_handler } from "../../include/x86/processor.ts";
import { set_exe_file } from "../../sim/backend.ts";
import {
  data_gva,
  G,
  gd_create_vm,
  gd_fault_handler,
  prog_gva,
  results_gva,
} from "./guest_image.ts";

/** The guest image module. */
const GUEST_IMAGE = new URL("./guest_image.ts", import.meta.url).href;

/** A program: `[kind, arg]` pairs. */
export type guest_prog = [number, bigint][];

/** MSRs KVM keeps for the guest on VMX and SVM alike, with canonical-address checks. */
const MSR_MENU = [0xc0000102, 0xc0000082, 0xc0000083, 0x175, 0x176];

const big = (r: Prng): bigint => (BigInt(r.u32()) << 32n) | BigInt(r.u32());

/**
 * Program `index` of `seed`: a pure function of both.
 *
 * @param seed the run's seed
 * @param index the program
 */
export function gen_guest(seed: number, index: number): guest_prog {
  const r = new Prng(seed ^ 0x6e7e57, index);
  const p: guest_prog = [];
  // The MSR menu first: each program starts from the same MSR state.
  for (let i = 0; i < MSR_MENU.length; i++) {
    p.push([G.WRMSR_SAFE, BigInt(MSR_MENU[i]!) | (BigInt(0x7ff00000 + i) << 32n)]);
  }
  const n = r.int(8, 32);
  for (let i = 0; i < n; i++) {
    const size = BigInt(r.below(3));
    switch (r.below(11)) {
      case 0:
        p.push([G.OUT, size | (BigInt(r.below(2)) << 2n) | (BigInt(r.u32()) << 8n)]);
        break;
      case 1:
        p.push([G.IN, size | (BigInt(r.below(2)) << 2n)]);
        break;
      case 2: {
        // Bits 63:32 of the operand are bits 43:12 of the value: mostly a
        // canonical user address, sometimes not.
        const hi = r.chance(0.8) ? BigInt(r.below(0x7ffff)) : BigInt(r.u32());
        p.push([G.WRMSR_SAFE, BigInt(MSR_MENU[r.below(MSR_MENU.length)]!) | (hi << 32n)]);
        break;
      }
      case 3:
        p.push([G.RDMSR, BigInt(MSR_MENU[r.below(MSR_MENU.length)]!)]);
        break;
      case 4:
        p.push([G.RDMSR_SAFE, BigInt(0x4b564d00 + 0x100 + r.below(0x100))]);
        break;
      case 5:
        p.push([G.CPUID, r.chance(0.5) ? 0n : 0x80000000n]);
        break;
      case 6:
      case 7:
        p.push([G.STORE, BigInt(r.below(4)) | (BigInt(r.below(0x10000)) << 2n) | (big(r) << 20n)]);
        break;
      case 8:
        p.push([G.LOAD, BigInt(r.below(4)) | (BigInt(r.below(0x10000)) << 2n)]);
        break;
      case 9:
        // An unmapped page in the lower half, away from everything the
        // library maps; some non-canonical (#GP, error code 0).
        p.push([
          G.LOAD_FAULT,
          r.chance(0.8)
            ? 0x5000_0000_0000n + (BigInt(r.below(0x100000)) << 12n) + BigInt(r.below(4096) & ~7)
            : 0x8000_0000_0000n + (BigInt(r.u32()) << 12n),
        ]);
        break;
      default:
        p.push(r.chance(0.5) ? [G.RDMSR_GP, 0xdeadbeefn] : [G.RDTSC2, 0n]);
    }
  }
  return p;
}

/** What one program did on one backend. */
export interface guest_trace {
  /** Exits to the host, in order (`out 0x80/4 = 0x...`, `in 0x81/1`). */
  exits: string[];
  /** The ops' results. */
  results: bigint[];
  /** A guest assert, or a host failure. */
  error?: string;
}

/** Data the host answers an `in` with: a function of the program and the exit's number. */
function in_data(index: number, n: number): number {
  return (Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(n + 7, 0x85ebca6b)) >>> 0;
}

const PROG_BYTES = 16 * 64;

/**
 * Runs programs `first..first+count-1` of `seed` on backend `b` (which
 * becomes the process's backend meanwhile), one VM for all.
 */
export function run_guest_programs(
  b: Backend,
  seed: number,
  first: number,
  count: number,
): guest_trace[] {
  set_backend(b);
  // The simulated kernel's vCPUs import the process's program image
  // (`execve`'s), which for the diff tool is not the module with the guest.
  if (b.name === "sim") set_exe_file([GUEST_IMAGE]);
  const vcpu = ref<kvm_vcpu>();
  const vm = gd_create_vm(vcpu);
  const out: guest_trace[] = [];
  try {
    vm_install_exception_handler(vm, 13, gd_fault_handler);
    vm_install_exception_handler(vm, 14, gd_fault_handler);
    const prog = vm_alloc(vm, PROG_BYTES, 0x10000n);
    const res = vm_alloc(vm, 8 * 64, 0x10000n);
    // 4-level paging all the way: a region at 512 GiB + 3 GiB.
    const data = vm_alloc(vm, 0x10000, 0x80_c000_0000n);
    prog_gva.value = prog;
    results_gva.value = res;
    data_gva.value = data;
    for (const g of [prog_gva, results_gva, data_gva]) sync_global_to_guest(vm, g);
    const prog_mem = user_memory(addr_gva2hva(vm, prog), PROG_BYTES);
    const res_mem = user_memory(addr_gva2hva(vm, res), 8 * 64);
    const pv = new DataView(prog_mem.buffer, prog_mem.byteOffset, PROG_BYTES);
    const rv = new DataView(res_mem.buffer, res_mem.byteOffset, 8 * 64);
    const run = vcpu.value.run;
    const uc = new_ucall();
    for (let k = 0; k <= count; k++) {
      const index = first + k;
      const p = k < count ? gen_guest(seed, index) : [];
      prog_mem.fill(0);
      p.forEach(([kind, arg], i) => {
        pv.setBigUint64(16 * i, BigInt(kind), true);
        pv.setBigUint64(16 * i + 8, BigInt.asUintN(64, arg), true);
      });
      const t: guest_trace = { exits: [], results: [] };
      for (;;) {
        vcpu_run(vcpu.value);
        const cmd = get_ucall(vcpu.value, uc);
        if (cmd === UCALL_SYNC || cmd === UCALL_DONE) break;
        if (cmd === UCALL_ABORT) {
          t.error = ucall_buffer(uc);
          break;
        }
        if (run.exit_reason !== KVM_EXIT_IO) {
          t.error = `exit reason ${run.exit_reason}`;
          break;
        }
        const io = run.io;
        const data = user_memory(vcpu.value.run_hva + BigInt(io.data_offset), 4);
        const dv = new DataView(data.buffer, data.byteOffset, 4);
        if (io.direction === KVM_EXIT_IO_OUT) {
          const v = io.size === 1 ? dv.getUint8(0) : io.size === 2 ? dv.getUint16(0, true) : dv
            .getUint32(0, true);
          t.exits.push(`out 0x${io.port.toString(16)}/${io.size} = 0x${v.toString(16)}`);
        } else {
          dv.setUint32(0, in_data(index, t.exits.length), true);
          t.exits.push(`in 0x${io.port.toString(16)}/${io.size}`);
        }
      }
      if (k === count) break;
      for (let i = 0; i < p.length; i++) t.results.push(rv.getBigUint64(8 * i, true));
      out.push(t);
      if (t.error) break;
    }
  } finally {
    kvm_vm_free(vm);
  }
  return out;
}

/** Why two traces of a program differ, or undefined when they agree. */
export function compare_guest(p: guest_prog, a: guest_trace, b: guest_trace): string | undefined {
  if (a.error !== b.error) return `error: ${a.error ?? "none"} vs ${b.error ?? "none"}`;
  for (let i = 0; i < Math.max(a.exits.length, b.exits.length); i++) {
    if (a.exits[i] !== b.exits[i]) return `exit ${i}: ${a.exits[i]} vs ${b.exits[i]}`;
  }
  for (let i = 0; i < p.length; i++) {
    if (a.results[i] !== b.results[i]) {
      const name = Object.entries(G).find(([, v]) => v === p[i]![0])?.[0];
      return `${name} 0x${p[i]![1].toString(16)}: 0x${a.results[i]?.toString(16)} vs 0x${
        b.results[i]?.toString(16)
      }`;
    }
  }
  return undefined;
}

/** The result of {@linkcode check_guest}. */
export interface guest_report {
  /** Programs run. */
  programs: number;
  /** Programs whose traces agree. */
  agreed: number;
  /** Differences, grouped by op kind and kind of difference: count and first program. */
  groups: { key: string; count: number; first: number; example: string }[];
}

/**
 * Runs `count` programs of `seed` on `a` and on `b` and compares them.
 *
 * @param o seed, count, backends
 */
export function check_guest(
  o: { seed: number; count: number; a: Backend; b: Backend },
): guest_report {
  const ta = run_guest_programs(o.a, o.seed, 0, o.count);
  const tb = run_guest_programs(o.b, o.seed, 0, o.count);
  const groups = new Map<string, { key: string; count: number; first: number; example: string }>();
  let agreed = 0;
  const n = Math.min(ta.length, tb.length);
  for (let i = 0; i < n; i++) {
    const d = compare_guest(gen_guest(o.seed, i), ta[i]!, tb[i]!);
    if (d === undefined) {
      agreed++;
      continue;
    }
    const key = d.replace(/0x[0-9a-f]+/g, "N").replace(/exit \d+/, "exit");
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { key, count: 1, first: i, example: d });
  }
  return {
    programs: Math.max(ta.length, tb.length),
    agreed,
    groups: [...groups.values()].sort((x, y) => y.count - x.count),
  };
}

/** The report as text. */
export function format_guest_report(r: guest_report, a: string, b: string): string {
  const lines = [
    `${r.agreed}/${r.programs} guest programs agree (${
      (100 * r.agreed / Math.max(1, r.programs)).toFixed(2)
    }%), ${a} vs ${b}`,
  ];
  for (const g of r.groups) {
    lines.push(`[${g.count}] ${g.key} (first: --index ${g.first}; ${g.example})`);
  }
  return lines.join("\n");
}
