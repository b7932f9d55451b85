// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest side of `deno task diff --guest` (`guest.ts`): one TypeScript
 * guest that interprets random programs the host writes into its memory,
 * with the intrinsics under test, and its exception handlers. This module
 * is the guest image of the VMs it creates, so it makes no system call at
 * load.
 *
 * A program is a list of 16-byte ops (`kind`, `arg`) at `prog_gva`; each op
 * leaves one 8-byte result in `results_gva`. At the end of a program the
 * guest says `GUEST_SYNC(n)` and waits for the next one.
 *
 * @module
 */

import { u64 } from "../../include/c/layout.ts";
import {
  GUEST_DONE,
  guest_global,
  GUEST_SYNC,
  type kvm_vcpu,
  type kvm_vm,
  vm_create_with_one_vcpu,
} from "../../include/kvm_util.ts";
import type { Ref } from "../../include/kvm_util_types.ts";
import { type ex_regs_view, get_cr2 } from "../../include/x86/processor.ts";
import { guest_cpu } from "../../lib/guest_insn.ts";

/** Op kinds. */
export const G = {
  END: 0,
  OUT: 1,
  IN: 2,
  WRMSR_SAFE: 3,
  RDMSR: 4,
  RDMSR_SAFE: 5,
  CPUID: 6,
  STORE: 7,
  LOAD: 8,
  LOAD_FAULT: 9,
  RDMSR_GP: 10,
  RDTSC2: 11,
} as const;

/** Where the host puts the program. */
export const prog_gva = guest_global("gd_prog_gva", u64);
/** Where the guest puts the results. */
export const results_gva = guest_global("gd_results_gva", u64);
/** The data region the loads and stores use. */
export const data_gva = guest_global("gd_data_gva", u64);
/** What the last handler saw: vector, error code, CR2. */
export const fault_vector = guest_global("gd_fault_vector", u64);
/** Error code of the last fault. */
export const fault_ec = guest_global("gd_fault_ec", u64);
/** CR2 of the last #PF. */
export const fault_cr2 = guest_global("gd_fault_cr2", u64);

/** #PF and #GP handler: record, then skip the 3-byte load / 2-byte RDMSR (RAX = 0). */
export function gd_fault_handler(regs: ex_regs_view): void {
  fault_vector.value = regs.vector;
  fault_ec.value = regs.error_code;
  fault_cr2.value = regs.vector === 14n ? get_cr2() : 0n;
  regs.rax = 0n;
  regs.rdx = 0n;
  regs.rip += regs.vector === 14n ? 3n : 2n;
}

const SIZES = [1, 2, 4, 8];

function op(kind: number, a: bigint): bigint {
  const c = guest_cpu();
  const sz = SIZES[Number(a & 3n)]!;
  switch (kind) {
    case G.OUT: {
      const port = 0x80 + Number((a >> 2n) & 1n);
      const v = Number((a >> 8n) & 0xffffffffn);
      if (sz === 1) c.outb(port, v & 0xff);
      else if (sz === 2) c.outw(port, v & 0xffff);
      else c.outl(port, v >>> 0);
      return 0n;
    }
    case G.IN: {
      const port = 0x80 + Number((a >> 2n) & 1n);
      if (sz === 1) return BigInt(c.inb(port));
      if (sz === 2) return BigInt(c.inw(port));
      return BigInt(c.inl(port));
    }
    case G.WRMSR_SAFE:
      return BigInt(c.wrmsr_safe(Number(a & 0xffffffffn), (a >> 32n) << 12n));
    case G.RDMSR:
      return c.rdmsr(Number(a));
    case G.RDMSR_SAFE:
      return BigInt(c.rdmsr_safe(Number(a), { value: 0n }));
    case G.CPUID: {
      const r = c.cpuid(Number(a & 0xffffffffn), Number(a >> 32n));
      // Only what both backends must agree on: the maximum leaf of the range.
      return BigInt(r.eax);
    }
    case G.STORE: {
      const gva = data_gva.value + ((a >> 2n) & 0xfff8n);
      const v = a >> 20n;
      if (sz === 1) c.writeb(Number(v & 0xffn), gva);
      else if (sz === 2) c.writew(Number(v & 0xffffn), gva);
      else if (sz === 4) c.writel(Number(v & 0xffffffffn), gva);
      else c.writeq(v, gva);
      return 0n;
    }
    case G.LOAD: {
      const gva = data_gva.value + ((a >> 2n) & 0xfff8n);
      if (sz === 1) return BigInt(c.readb(gva));
      if (sz === 2) return BigInt(c.readw(gva));
      if (sz === 4) return BigInt(c.readl(gva));
      return c.readq(gva);
    }
    case G.LOAD_FAULT: {
      fault_vector.value = 0n;
      const v = c.readq(a);
      return (fault_vector.value << 56n) ^ (fault_ec.value << 40n) ^ fault_cr2.value ^ v;
    }
    case G.RDMSR_GP: {
      fault_vector.value = 0n;
      c.rdmsr(Number(a));
      return (fault_vector.value << 32n) | fault_ec.value;
    }
    case G.RDTSC2: {
      const t0 = c.rdtsc();
      return c.rdtsc() > t0 ? 1n : 0n;
    }
  }
  return 0xdeadn;
}

/** The interpreter: runs programs until a program's first op is `END`. */
export function gd_guest_main(): void {
  const c = guest_cpu();
  for (let n = 0n;; n++) {
    const p = prog_gva.value;
    const r = results_gva.value;
    if (c.readq(p) === BigInt(G.END)) break;
    for (let i = 0;; i++) {
      const kind = Number(c.readq(p + BigInt(16 * i)));
      if (kind === G.END) break;
      c.writeq(op(kind, c.readq(p + BigInt(16 * i + 8))), r + BigInt(8 * i));
    }
    GUEST_SYNC(n);
  }
  GUEST_DONE();
}

/**
 * The VM the programs run in, created from this module (its guest image).
 *
 * @param vcpu receives the vCPU
 */
export function gd_create_vm(vcpu: Ref<kvm_vcpu>): kvm_vm {
  return vm_create_with_one_vcpu(vcpu, gd_guest_main);
}
