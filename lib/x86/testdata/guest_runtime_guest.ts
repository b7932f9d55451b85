// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest functions for `lib/x86/guest_runtime_test.ts` and
 * `lib/x86/guest_runtime_bench.ts`: one guest per intrinsic family, run on
 * the real `/dev/kvm` through the guest runtime. This module is the guest
 * image of those VMs (it creates them), so it makes no system call at load.
 *
 * @module
 */

import { u64 } from "../../../include/c/layout.ts";
import {
  GUEST_ASSERT,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  guest_global,
  GUEST_SYNC,
  type kvm_vcpu,
  type kvm_vm,
  vm_create_with_one_vcpu,
  vm_create_with_vcpus,
} from "../../../include/kvm_util.ts";
import { type Ref, ref } from "../../../include/kvm_util_types.ts";
import {
  __cpuid,
  type ex_regs_view,
  get_cr0,
  get_cr2,
  get_cr3,
  get_cr4,
  get_gdt,
  get_idt,
  inb,
  inl,
  insb,
  inw,
  outb,
  outl,
  outsb,
  outw,
  rdmsr,
  rdmsr_safe,
  rdtsc,
  reg_read,
  reg_write,
  ud2,
  wrmsr,
  wrmsr_safe,
} from "../../../include/x86/processor.ts";
import { guest_cpu } from "../../guest_insn.ts";
import {
  guest_read_u64,
  memcpy,
  memset,
  readb,
  readl,
  readq,
  readw,
  writeb,
  writel,
  writeq,
  writew,
} from "../../guest_memory.ts";

/** The port the I/O guest uses. */
export const TEST_PORT = 0x80;

/** A buffer in guest memory (set by the host). */
export const scratch_gva = guest_global("gr_scratch_gva", u64);
/** Where each vCPU of the multi-vCPU guest writes its id (set by the host). */
export const ids_gva = guest_global("gr_ids_gva", u64);
/** Exceptions the handlers counted. */
export const exceptions = guest_global("gr_exceptions", u64);
/** The last vector and RIP a handler saw. */
export const last_vector = guest_global("gr_last_vector", u64);
/** The RIP the #UD handler saw. */
export const last_rip = guest_global("gr_last_rip", u64);

/** Port I/O: out of each size, in of each size (the host answers), then string I/O. */
export function guest_io(): void {
  outb(TEST_PORT, 0x11);
  outw(TEST_PORT, 0x2233);
  outl(TEST_PORT, 0x44556677);
  const b = inb(TEST_PORT);
  const w = inw(TEST_PORT);
  const l = inl(TEST_PORT);
  GUEST_SYNC(BigInt(b) | (BigInt(w) << 8n) | (BigInt(l) << 24n));
  const buf = scratch_gva.value;
  for (let i = 0; i < 4; i++) writeb(0x41 + i, buf + BigInt(i));
  outsb(TEST_PORT, buf, 4);
  insb(TEST_PORT, buf + 16n, 4);
  GUEST_SYNC(BigInt(readl(buf + 16n)));
  GUEST_DONE();
}

/**
 * MSRs, CPUID, RDTSC, control and descriptor registers. (No VMCALL: on the
 * kvm_pvm host even raw guest code never comes back from one.)
 */
export function guest_sys(): void {
  // MSR_KERNEL_GS_BASE: KVM keeps it for the guest.
  wrmsr(0xc0000102, 0x7fff_1234_5000n);
  GUEST_ASSERT_EQ(rdmsr(0xc0000102), 0x7fff_1234_5000n);
  const v = ref(1n);
  GUEST_ASSERT_EQ(rdmsr_safe(0xdeadbeef, v), 13);
  GUEST_ASSERT_EQ(wrmsr_safe(0xdeadbeef, 0n), 13);
  const [a, b, c, d] = [ref(0), ref(0), ref(0), ref(0)];
  __cpuid(0, 0, a, b, c, d);
  GUEST_SYNC(BigInt(b.value) | (BigInt(d.value) << 32n));
  GUEST_SYNC(BigInt(c.value));
  const t0 = rdtsc();
  const t1 = rdtsc();
  GUEST_ASSERT(t1 > t0);
  GUEST_SYNC(get_cr0());
  GUEST_SYNC(get_cr3());
  GUEST_SYNC(get_cr4());
  guest_cpu().set_cr2(0xabcd000n);
  GUEST_ASSERT_EQ(get_cr2(), 0xabcd000n);
  GUEST_SYNC(get_idt().address);
  GUEST_SYNC(get_gdt().address);
  // Registers as asm operands: a write is what the next instruction sees.
  reg_write(12, 0x1212n);
  GUEST_ASSERT_EQ(reg_read(12), 0x1212n);
  GUEST_DONE();
}

/** Loads and stores of each size, block copies and fills, through the page tables. */
export function guest_memory(): void {
  const buf = scratch_gva.value;
  writeb(0xa1, buf);
  writew(0xb2c3, buf + 2n);
  writel(0xd4e5f607, buf + 4n);
  writeq(0x0123456789abcdefn, buf + 8n);
  GUEST_ASSERT_EQ(readb(buf), 0xa1);
  GUEST_ASSERT_EQ(readw(buf + 2n), 0xb2c3);
  GUEST_ASSERT_EQ(readl(buf + 4n), 0xd4e5f607);
  GUEST_ASSERT_EQ(readq(buf + 8n), 0x0123456789abcdefn);
  GUEST_ASSERT_EQ(guest_read_u64(buf + 8n), 0x0123456789abcdefn);
  memset(buf + 64n, 0x5a, 64);
  memcpy(buf + 256n, buf, 16);
  GUEST_ASSERT_EQ(readq(buf + 264n), 0x0123456789abcdefn);
  GUEST_ASSERT_EQ(readb(buf + 127n), 0x5a);
  GUEST_DONE();
}

/** #GP, #UD and #PF to the guest's handlers: retry, skip, the RIP they see. */
export function guest_exceptions(): void {
  exceptions.value = 0n;
  // The #GP handler skips the RDMSR: its result is what the handler left in EDX:EAX.
  GUEST_ASSERT_EQ(rdmsr(0xdeadbeef), 0x5555n);
  ud2();
  GUEST_ASSERT_EQ(last_rip.value, guest_fn_rip.value);
  // A load from an unmapped page: the #PF handler skips it (RAX = its value).
  GUEST_ASSERT_EQ(readq(0x7f0000000000n), 0x77n);
  GUEST_ASSERT_EQ(exceptions.value, 3n);
  GUEST_DONE();
}

/** The code address of {@linkcode guest_exceptions} (set by the host). */
export const guest_fn_rip = guest_global("gr_guest_fn_rip", u64);

/** #GP handler: skip the 2-byte RDMSR, result 0x5555. */
export function gr_gp_handler(regs: ex_regs_view): void {
  exceptions.value = exceptions.value + 1n;
  last_vector.value = regs.vector;
  regs.rax = 0x5555n;
  regs.rdx = 0n;
  regs.rip += 2n;
}

/** #UD handler: record RIP, skip the UD2. */
export function gr_ud_handler(regs: ex_regs_view): void {
  exceptions.value = exceptions.value + 1n;
  last_rip.value = regs.rip;
  regs.rip += 2n;
}

/** #PF handler: skip the load with RAX = 0x77. */
export function gr_pf_handler(regs: ex_regs_view): void {
  exceptions.value = exceptions.value + 1n;
  regs.rax = 0x77n;
  regs.rip += 3n;
}

/**
 * Retry with changed registers, and `kvm_asm_safe` around a load: the #GP
 * handler leaves RIP (retry) and points RCX at a real MSR. (No `int3`: the
 * kvm_pvm host answers it with KVM_EXIT_INTERNAL_ERROR.)
 */
export function guest_retry_trap_safe(): void {
  exceptions.value = 0n;
  wrmsr(0xc0000102, 0x7fff_0000_1000n);
  GUEST_ASSERT_EQ(rdmsr(0xdeadbeef), 0x7fff_0000_1000n);
  GUEST_ASSERT_EQ(guest_cpu().kvm_asm_safe(() => void readq(0x7f0000000000n)), 14);
  GUEST_ASSERT_EQ(exceptions.value, 1n);
  GUEST_DONE();
}

/** #GP handler: retry the RDMSR with RCX = MSR_KERNEL_GS_BASE. */
export function gr_gp_retry_handler(regs: ex_regs_view): void {
  exceptions.value = exceptions.value + 1n;
  regs.rcx = 0xc0000102n;
}

/** An exception without a handler: upstream's UCALL_UNHANDLED report. */
export function guest_unhandled(): void {
  ud2();
  GUEST_DONE();
}

/** Each vCPU writes its id (RDI) to its slot, then syncs. */
export function guest_multi(id: bigint): void {
  writeq(id + 100n, ids_gva.value + 8n * id);
  GUEST_SYNC(id);
  GUEST_DONE();
}

/** Bench: `outb` forever, each a real exit to the host. */
export function guest_outb_loop(): void {
  for (;;) outb(0x10, 0);
}

/** Bench: 100 loads of RAM (no exit to userspace), then one `outb` exit. */
export function guest_read100_loop(): void {
  const buf = scratch_gva.value;
  for (;;) {
    for (let i = 0; i < 100; i++) readq(buf);
    outb(0x10, 0);
  }
}

/** Bench: 10,000 memory accesses (5,000 stores and 5,000 loads over 40 KiB), then one exit. */
export function guest_mem10k_loop(): void {
  const buf = scratch_gva.value;
  for (;;) {
    for (let i = 0; i < 5000; i++) writeq(BigInt(i), buf + 8n * BigInt(i));
    for (let i = 0; i < 5000; i++) readq(buf + 8n * BigInt(i));
    outb(0x10, 0);
  }
}

/**
 * A VM with one vCPU entering `fn`, created from this module so that it is
 * the VM's guest image.
 *
 * @param fn the guest entry point
 * @param vcpu receives the vCPU
 */
export function gr_create_vm(fn: (...a: bigint[]) => void, vcpu: Ref<kvm_vcpu>): kvm_vm {
  return vm_create_with_one_vcpu(vcpu, fn);
}

/**
 * A VM with `n` vCPUs entering `fn`, created from this module.
 *
 * @param n vCPUs
 * @param fn the guest entry point
 */
export function gr_create_vm_vcpus(n: number, fn: (...a: bigint[]) => void): {
  vm: kvm_vm;
  vcpus: kvm_vcpu[];
} {
  const vcpus: kvm_vcpu[] = [];
  const vm = vm_create_with_vcpus(n, fn, vcpus);
  return { vm, vcpus };
}

export { ref };
