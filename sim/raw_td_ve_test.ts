// SPDX-License-Identifier: GPL-2.0-only
// #VE delivered inside a TD guest: the guest boots from the reset vector
// (32-bit protected mode, paging off), loads a GDT/IDT and page tables the
// host added with KVM_TDX_INIT_MEM_REGION, enables PAE and paging (EFER.LME is
// set by the TDX module at reset) and jumps to 64-bit code, whose #VE handler
// (vector 20) reads TDG.VP.VEINFO.GET. Checked: raw `hlt`, port I/O, CPUID of
// a hypervisor leaf, and an access to a pending page with SEPT_VE_DISABLE clear;
// then a shared access to a private-attribute GPA (a memory fault, flags 0).
// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "./use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { close, ioctl, mmap, munmap, user_memory } from "../include/libc/syscall.ts";
import { errno_get as errno } from "../include/libc/errno.ts";
import {
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_MMIO,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  KVM_RUN,
  kvm_run,
  KVM_SET_CPUID2,
  KVM_SET_MEMORY_ATTRIBUTES,
} from "../include/linux/kvm.ts";
import {
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_GET_CPUID,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_TDX_INIT_VCPU,
  KVM_TDX_INIT_VM,
  KVM_X86_TDX_VM,
} from "../include/asm/kvm.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../include/linux/mman.ts";
import { guest_code_record } from "../include/guest_code.ts";
import {
  cpuid,
  type ex_regs_view,
  hlt,
  inb,
  lgdt,
  lidt,
  ljmp,
  outb,
  readl,
  set_cr0,
  set_cr3,
  set_cr4,
  set_reg,
  tdcall,
  type tdx_module_args,
} from "./cpu/insn.ts";
import { TDG_MEM_PAGE_ACCEPT, TDG_VP_VEINFO_GET } from "../include/x86/tdx/tdcall.ts";
import { anon, assert_errno, open_kvm } from "./kernel/testdata/util.ts";
import { EFAULT } from "../include/linux/errno.ts";
import {
  capabilities,
  cmd,
  enable_cap,
  enc_op,
  init_vm_struct,
  ptr_of,
  region2,
} from "./kernel/testdata/raw_td.ts";
import { set_exe_file } from "./backend.ts";

set_exe_file([import.meta.url]);

const SHARED = 1n << 47n;
const REPORT_GPA = 0xfed00000n;
const SLOT_GPA = 0xffe00000n;
const SLOT_SIZE = 2n << 20n;
/** The boot image: 8 pages at the top of 4 GiB. */
const IMG_GPA = 0xffff8000;
const PML4 = IMG_GPA; // PML4[0] → PDPT
// PDPT[3] and PDPT[2] → 1 GiB page at 3 GiB; PDPT[1] → the same GPAs with the shared bit.
const PDPT = IMG_GPA + 0x1000;
const GDT = IMG_GPA + 0x2000; // null, 64-bit code (8), data (16); descriptor pointers at +0x100/+0x110
const IDT = IMG_GPA + 0x3000;
const STACK_TOP = IMG_GPA + 0x5000;
const LONG_GPA = IMG_GPA + 0x5000; // td_ve_long's record
const HANDLER_GPA = IMG_GPA + 0x6000; // ve_handler's record
const BOOT_GPA = IMG_GPA + 0x7000; // td_ve_boot's record and the reset-vector jmp
/** A page KVM AUGs on first touch and the guest accepts in its #VE handler. */
const PENDING = 0xffe10000n;
/** The same page through the alias mapping at 2 GiB: its GLA differs from its GPA. */
const PENDING_ALIAS = PENDING - 0x40000000n;
/** A page of the private slot the guest reads as shared, through PDPT[1]. */
const R = 0xffe20000n;
const R_SHARED_GVA = R - 0x80000000n;

function report(v: bigint): void {
  tdcall(0, {
    rcx: 0xfc00n,
    r10: 0n,
    r11: 48n,
    r12: 8n,
    r13: 1n,
    r14: REPORT_GPA | SHARED,
    r15: BigInt.asUintN(64, v),
  });
}

/** #VE: reports VEINFO (status, exit reason, qualification, GLA, GPA, length), then skips or accepts. */
export function ve_handler(regs: ex_regs_view): void {
  const a: tdx_module_args = {};
  report(tdcall(TDG_VP_VEINFO_GET, a));
  report(regs.vector);
  report(a.rcx! & 0xffffffffn);
  report(a.rdx!);
  report(a.r8!);
  report(a.r9!);
  report(a.r10! & 0xffffffffn);
  if ((a.rcx! & 0xffffn) === 48n) tdcall(TDG_MEM_PAGE_ACCEPT, { rcx: a.r9! & ~0xfffn });
  else regs.rip += a.r10! & 0xffffffffn;
}

/** 64-bit code: the instructions that #VE. */
export function td_ve_long(): void {
  report(0x64n);
  hlt();
  outb(0x80, 1);
  inb(0x81);
  cpuid(0x40000000);
  report(BigInt(readl(PENDING_ALIAS + 8n))); // pending: #VE, ACCEPT in the handler, retried
  report(tdcall(TDG_VP_VEINFO_GET, {})); // consumed by the handler
  report(BigInt(readl(R_SHARED_GVA))); // attribute private: memory fault, then shared memory
  for (;;) tdcall(0, { rcx: 0xfc00n, r10: 0n, r11: 12n, r12: 0n });
}

/** From the reset state to 64-bit mode. */
export function td_ve_boot(): void {
  lgdt(GDT + 0x100);
  lidt(GDT + 0x110);
  set_cr4(0x20n); // PAE
  set_cr3(BigInt(PML4));
  set_cr0(0x80000021n); // PG | NE | PE
  set_reg("rsp", BigInt(STACK_TOP));
  ljmp(8, LONG_GPA);
}

Deno.test("raw TD: #VE in the guest from long mode, VEINFO.GET, pending page", () => {
  const kvm = open_kvm();
  const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const { ents } = capabilities(vm);
  const c = cmd(KVM_TDX_INIT_VM, init_vm_struct(ents, (v) => (v.attributes = 0n)));
  assertEquals(enc_op(vm, c), 0, `INIT_VM: errno ${errno()}`);
  assertEquals(enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24n), 0);
  const vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  const cpuid_buf = anon(8 + 256 * 40);
  new DataView(user_memory(cpuid_buf, 8).buffer, user_memory(cpuid_buf, 8).byteOffset)
    .setUint32(0, 256, true);
  assertEquals(enc_op(vcpu, cmd(KVM_TDX_GET_CPUID, cpuid_buf)), 0);
  assertEquals(ioctl(vcpu, KVM_SET_CPUID2, cpuid_buf), 0);
  assertEquals(enc_op(vcpu, cmd(KVM_TDX_INIT_VCPU, 0n)), 0);
  const g = kvm_create_guest_memfd.alloc();
  g.size = SLOT_SIZE;
  const gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
  const slot_hva = anon(SLOT_SIZE);
  assertEquals(region2(vm, KVM_MEM_GUEST_MEMFD, SLOT_GPA, SLOT_SIZE, slot_hva, gmem), 0);
  const at = kvm_memory_attributes.alloc();
  at.address = SLOT_GPA;
  at.size = SLOT_SIZE;
  at.attributes = BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE);
  assertEquals(ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at), 0);

  const img = new Uint8Array(0x8000);
  const dv = new DataView(img.buffer);
  const o = (gpa: number) => gpa - IMG_GPA;
  dv.setBigUint64(o(PML4), BigInt(PDPT) | 3n, true);
  dv.setBigUint64(o(PDPT) + 3 * 8, 0xc0000000n | 0x83n, true); // P | W | PS
  dv.setBigUint64(o(PDPT) + 2 * 8, 0xc0000000n | 0x83n, true);
  dv.setBigUint64(o(PDPT) + 1 * 8, SHARED | 0xc0000000n | 0x83n, true);
  dv.setBigUint64(o(GDT) + 8, 0x00af9b000000ffffn, true);
  dv.setBigUint64(o(GDT) + 16, 0x00cf93000000ffffn, true);
  dv.setUint16(o(GDT) + 0x100, 0xff, true);
  dv.setUint32(o(GDT) + 0x102, GDT, true);
  dv.setUint16(o(GDT) + 0x110, 0xfff, true);
  dv.setUint32(o(GDT) + 0x112, IDT, true);
  // Vector 20: a 64-bit interrupt gate, CS 8.
  const h = BigInt(HANDLER_GPA);
  dv.setBigUint64(
    o(IDT) + 20 * 16,
    (h & 0xffffn) | (8n << 16n) | (0x8en << 40n) | (((h >> 16n) & 0xffffn) << 48n),
    true,
  );
  img.set(guest_code_record(td_ve_long), o(LONG_GPA));
  img.set(guest_code_record(ve_handler), o(HANDLER_GPA));
  img.set(guest_code_record(td_ve_boot), o(BOOT_GPA));
  const rel = BOOT_GPA - (0xfffffff0 + 5);
  img.set(
    [0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff],
    img.length - 16,
  );
  const reg = kvm_tdx_init_mem_region.alloc();
  reg.source_addr = ptr_of(img);
  reg.gpa = BigInt(IMG_GPA);
  reg.nr_pages = 8n;
  assertEquals(enc_op(vcpu, cmd(KVM_TDX_INIT_MEM_REGION, reg.$bytes, 1)), 0, `${errno()}`);
  assertEquals(enc_op(vm, cmd(KVM_TDX_FINALIZE_VM, 0n)), 0);

  const run_addr = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  const run = kvm_run.view(user_memory(run_addr, 4096));
  const reported = (what: string): bigint => {
    assertEquals(ioctl(vcpu, KVM_RUN, 0), 0, `${what}: KVM_RUN errno ${errno()}`);
    assertEquals(run.exit_reason, KVM_EXIT_MMIO, what);
    assertEquals([run.mmio.phys_addr, run.mmio.len, run.mmio.is_write], [REPORT_GPA, 8, 1], what);
    return new DataView(run.mmio.data.$bytes.slice().buffer).getBigUint64(0, true);
  };
  assertEquals(reported("64-bit code"), 0x64n);
  const ve = (what: string) => [0, 1, 2, 3, 4, 5, 6].map((i) => reported(`${what} ${i}`));
  // [VEINFO.GET status, vector, exit reason, qualification, GLA, GPA, instruction length]
  assertEquals(ve("hlt"), [0n, 20n, 12n, 0n, 0n, 0n, 1n]);
  const io_out = ve("out");
  assertEquals([io_out[0], io_out[1], io_out[2], io_out[6]], [0n, 20n, 30n, 1n]);
  assertEquals(io_out[3]! >> 16n, 0x80n, "port in the qualification");
  const io_in = ve("in");
  assertEquals([io_in[2], io_in[3]! >> 16n, (io_in[3]! >> 3n) & 1n], [30n, 0x81n, 1n]);
  assertEquals(ve("cpuid 0x40000000"), [0n, 20n, 10n, 0n, 0n, 0n, 2n]);
  const ept = ve("pending page");
  // The exact addresses, not the page's: the linear one through the alias.
  assertEquals([ept[0], ept[1], ept[2]], [0n, 20n, 48n]);
  assertEquals([ept[4], ept[5]], [PENDING_ALIAS + 8n, PENDING + 8n]);
  assertEquals(ept[3]! & 0x80n, 0x80n, "qualification: GLA valid");
  assertEquals(reported("the accepted page reads zero"), 0n);
  assertEquals(reported("VEINFO consumed"), 0xc000070400000000n);
  // A shared access to a private-attribute GPA: a memory fault with flags 0
  // and the GPA without the shared bit; once userspace makes the page shared
  // the access reads the memslot's shared memory.
  assert_errno(ioctl(vcpu, KVM_RUN, 0), EFAULT, "shared read of a private-attribute GPA");
  assertEquals(run.exit_reason, KVM_EXIT_MEMORY_FAULT);
  assertEquals(
    [run.memory_fault.flags, run.memory_fault.gpa, run.memory_fault.size],
    [0n, R, 4096n],
  );
  at.address = R;
  at.size = 4096n;
  at.attributes = 0n;
  assertEquals(ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at), 0);
  const shared = user_memory(slot_hva + R - SLOT_GPA, 4);
  new DataView(shared.buffer, shared.byteOffset).setUint32(0, 0x5a5a5a5a, true);
  assertEquals(reported("the shared page's content"), 0x5a5a5a5an);
  munmap(run_addr, 3 * 4096);
  for (const fd of [gmem, vcpu, vm, kvm]) close(fd);
});
