// SPDX-License-Identifier: GPL-2.0-only
/**
 * A VM built with raw syscalls and nothing of the selftest library, for the
 * simulated kernel's KVM_RUN tests and benches: `/dev/kvm`, KVM_CREATE_VM,
 * anonymous memory as memslot 0, 4-level page tables, GDT, IDT and TSS
 * written by hand into guest memory, code records of the guest functions
 * (`include/guest_code.ts`), and a vCPU put into 64-bit mode with
 * KVM_SET_SREGS / KVM_SET_REGS.
 *
 * Guest-physical layout (slot 0 is [0, 4 MiB), identity-mapped, GVA == GPA):
 *
 * | GPA | what |
 * | --- | --- |
 * | 0x1000 | PML4 |
 * | 0x2000.. | page-table pages (bump allocated) |
 * | 0x10000 | GDT: null, 64-bit code (0x8), data (0x10), TSS (0x18) |
 * | 0x11000 | IDT (256 gates, none present until `set_handler`) |
 * | 0x12000 | TSS |
 * | 0x20000.. | code records |
 * | 0x300000 | a data page the tests may use |
 * | 0x3f0000 | top of the stack |
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { close, ioctl, mmap, munmap, user_memory } from "../../../include/libc/syscall.ts";
import { errno_get } from "../../../include/libc/errno.ts";
import {
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_SUPPORTED_CPUID,
  kvm_regs,
  kvm_run,
  KVM_SET_CPUID2,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  kvm_sregs,
} from "../../../include/linux/kvm.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../../../include/linux/mman.ts";
import { guest_code_record, type guest_fn } from "../../../include/guest_code.ts";
import { set_exe_file } from "../../backend.ts";
import { anon, open_kvm, set_region } from "./util.ts";
import { RUN_GUEST_IMAGE } from "./run_guest.ts";

/** Bytes of slot 0. */
export const RAW_RAM_SIZE = 4 << 20;
/** GPA of the PML4. */
export const RAW_PML4 = 0x1000;
/** GPA of the GDT. */
export const RAW_GDT = 0x10000;
/** GPA of the IDT. */
export const RAW_IDT = 0x11000;
/** GPA of the TSS. */
export const RAW_TSS = 0x12000;
/** GPA of the free data page. */
export const RAW_DATA = 0x300000;
/** Top of the guest stack. */
export const RAW_STACK_TOP = 0x3f0000;
/** 64-bit code segment selector. */
export const RAW_CS = 0x8;
/** Data segment selector. */
export const RAW_DS = 0x10;
/** TSS selector. */
export const RAW_TR = 0x18;
/** Present, writable. */
export const PTE_PW = 3n;

/** A VM, its memory and one vCPU, all through file descriptors. */
export class raw_vm {
  /** `/dev/kvm`. */
  readonly kvm_fd: number;
  /** The VM. */
  readonly vm_fd: number;
  /** The vCPU. */
  readonly vcpu_fd: number;
  /** Slot 0's user address. */
  readonly hva: bigint;
  /** Slot 0's bytes (the user mapping). */
  readonly ram: DataView;
  /** The vCPU's `kvm_run`. */
  readonly run: ReturnType<typeof kvm_run.view>;
  /** The PIO data page (page 1 of the vCPU mapping). */
  readonly pio: Uint8Array;
  readonly #run_addr: bigint;
  #next_table = 0x2000;
  #next_code = 0x20000;

  /**
   * Creates the VM (of `type`) with the guest image of `run_guest.ts`, slot 0,
   * the tables, and vCPU 0.
   */
  constructor(type = 0) {
    set_exe_file([RUN_GUEST_IMAGE]);
    this.kvm_fd = open_kvm();
    this.vm_fd = ioctl(this.kvm_fd, KVM_CREATE_VM, type);
    assertEquals(this.vm_fd >= 0, true, `KVM_CREATE_VM: errno ${errno_get()}`);
    this.hva = anon(RAW_RAM_SIZE);
    assertEquals(set_region(this.vm_fd, 0, 0, 0n, BigInt(RAW_RAM_SIZE), this.hva), 0);
    const m = user_memory(this.hva, RAW_RAM_SIZE);
    this.ram = new DataView(m.buffer, m.byteOffset, m.byteLength);
    this.vcpu_fd = ioctl(this.vm_fd, KVM_CREATE_VCPU, 0);
    assertEquals(this.vcpu_fd >= 0, true, `KVM_CREATE_VCPU: errno ${errno_get()}`);
    const run_addr = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, this.vcpu_fd, 0);
    this.#run_addr = run_addr;
    // The guest's CPUID: everything the host supports (long mode needs CPUID.80000001H:LM).
    const cpuid = new Uint8Array(8 + 256 * 40);
    new DataView(cpuid.buffer).setUint32(0, 256, true);
    assertEquals(ioctl(this.kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid), 0);
    assertEquals(ioctl(this.vcpu_fd, KVM_SET_CPUID2, cpuid), 0);
    this.run = kvm_run.view(user_memory(run_addr, 4096));
    this.pio = user_memory(run_addr + 4096n, 4096);
    for (let a = 0; a < RAW_RAM_SIZE; a += 4096) this.map(BigInt(a), BigInt(a), PTE_PW);
    this.#write_gdt();
  }

  /** Reads a u64 of guest memory at `gpa`. */
  q(gpa: number): bigint {
    return this.ram.getBigUint64(gpa, true);
  }

  /** Writes a u64 of guest memory at `gpa`. */
  set_q(gpa: number, v: bigint): void {
    this.ram.setBigUint64(gpa, v, true);
  }

  /** The GPA of `gva`'s PTE, creating the PDPT/PD/PT pages on the way (4-level paging). */
  pte(gva: bigint): number {
    let table = RAW_PML4;
    for (let level = 4; level > 1; level--) {
      const e = table + Number((gva >> BigInt(12 + 9 * (level - 1))) & 511n) * 8;
      let v = this.q(e);
      if (!(v & 1n)) {
        const page = this.#next_table;
        this.#next_table += 4096;
        v = BigInt(page) | 7n;
        this.set_q(e, v);
      }
      table = Number(v & 0xffffffffff000n);
    }
    return table + Number((gva >> 12n) & 511n) * 8;
  }

  /** Maps the 4 KiB page at `gva` to `gpa` with `flags`. */
  map(gva: bigint, gpa: bigint, flags: bigint): void {
    this.set_q(this.pte(gva), gpa | flags);
  }

  #write_gdt(): void {
    this.set_q(RAW_GDT + 8, 0x00af9b000000ffffn); // 64-bit code, DPL 0
    this.set_q(RAW_GDT + 16, 0x00cf93000000ffffn); // data
    const t = BigInt(RAW_TSS);
    this.set_q(
      RAW_GDT + 24,
      0x67n | ((t & 0xffffffn) << 16n) | (0x89n << 40n) | (((t >> 24n) & 0xffn) << 56n),
    );
    this.set_q(RAW_GDT + 32, t >> 32n);
  }

  /** Writes the code record of `fn` into the code area; returns its GVA. */
  load_fn(fn: guest_fn): bigint {
    const rec = guest_code_record(fn);
    const at = this.#next_code;
    new Uint8Array(this.ram.buffer, this.ram.byteOffset + at, rec.length).set(rec);
    this.#next_code = (at + rec.length + 15) & ~15;
    return BigInt(at);
  }

  /** Points IDT gate `vector` at the code record of `fn` (64-bit interrupt gate). */
  set_handler(vector: number, fn: guest_fn): void {
    const off = this.load_fn(fn);
    const g = RAW_IDT + vector * 16;
    this.set_q(
      g,
      (off & 0xffffn) | (BigInt(RAW_CS) << 16n) | (0x8en << 40n) |
        (((off >> 16n) & 0xffffn) << 48n),
    );
    this.set_q(g + 8, off >> 32n);
  }

  /**
   * Puts the vCPU in 64-bit mode at CPL 0 with this VM's tables
   * (KVM_SET_SREGS) and enters `fn` with `args` in RDI, RSI, RDX, RCX
   * (KVM_SET_REGS).
   */
  start(fn: guest_fn, args: bigint[] = []): void {
    const s = kvm_sregs.alloc();
    assertEquals(ioctl(this.vcpu_fd, KVM_GET_SREGS, s), 0);
    s.cr0 = 0x80010031n; // PG | WP | NE | ET | PE
    s.cr3 = BigInt(RAW_PML4);
    s.cr4 = 0x20n; // PAE
    s.efer = 0x500n; // LME | LMA
    const cs = s.cs;
    cs.selector = RAW_CS;
    cs.base = 0n;
    cs.limit = 0xffffffff;
    cs.type = 0xb;
    cs.s = 1;
    cs.present = 1;
    cs.dpl = 0;
    cs.l = 1;
    cs.db = 0;
    cs.g = 1;
    for (const seg of [s.ds, s.es, s.ss, s.fs, s.gs]) {
      seg.selector = RAW_DS;
      seg.base = 0n;
      seg.limit = 0xffffffff;
      seg.type = 0x3;
      seg.s = 1;
      seg.present = 1;
      seg.dpl = 0;
      seg.db = 1;
      seg.l = 0;
      seg.g = 1;
    }
    s.tr.selector = RAW_TR;
    s.tr.base = BigInt(RAW_TSS);
    s.tr.limit = 0x67;
    s.tr.type = 0xb;
    s.tr.s = 0;
    s.tr.present = 1;
    s.gdt.base = BigInt(RAW_GDT);
    s.gdt.limit = 0xfff;
    s.idt.base = BigInt(RAW_IDT);
    s.idt.limit = 0xfff;
    assertEquals(ioctl(this.vcpu_fd, KVM_SET_SREGS, s), 0, `KVM_SET_SREGS: errno ${errno_get()}`);
    const r = kvm_regs.alloc();
    r.rip = this.load_fn(fn);
    r.rsp = BigInt(RAW_STACK_TOP - 8);
    r.rflags = 2n;
    const order = ["rdi", "rsi", "rdx", "rcx"] as const;
    args.forEach((a, i) => (r[order[i]!] = a));
    assertEquals(ioctl(this.vcpu_fd, KVM_SET_REGS, r), 0);
  }

  /** KVM_GET_REGS. */
  regs(): ReturnType<typeof kvm_regs.alloc> {
    const r = kvm_regs.alloc();
    assertEquals(ioctl(this.vcpu_fd, KVM_GET_REGS, r), 0);
    return r;
  }

  /** The u32 an OUT put in the PIO page (`size` bytes). */
  pio_value(size = 4): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.pio[i]! << (8 * i);
    return v >>> 0;
  }

  /**
   * Unmaps `kvm_run` and closes the vCPU, VM and `/dev/kvm` fds: the last
   * reference goes, and the VM is freed with its CPU worker.
   */
  close(): void {
    munmap(this.#run_addr, 3 * 4096);
    munmap(this.hva, RAW_RAM_SIZE);
    close(this.vcpu_fd);
    close(this.vm_fd);
    close(this.kvm_fd);
  }

  /** `using vm = new raw_vm()` frees it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
