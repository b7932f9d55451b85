// SPDX-License-Identifier: GPL-2.0-only
/**
 * A VM that runs raw machine code, built with raw syscalls on a given
 * backend (`include/libc/backend.ts`), so that the same bytes run on the
 * simulator and on `/dev/kvm` and their exits and registers compare: 1 MiB
 * of anonymous memory as slot 0, one vCPU, and its mode set with
 * KVM_SET_SREGS (real mode, or flat 16/32-bit protected mode, paging off).
 *
 * @module
 */

import type { Backend } from "../../include/libc/backend.ts";
import {
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_VCPU_MMAP_SIZE,
  kvm_regs,
  KVM_RUN,
  kvm_run,
  KVM_SET_CPUID2,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_USER_MEMORY_REGION,
  kvm_sregs,
  kvm_userspace_memory_region,
} from "../../include/linux/kvm.ts";
import { O_RDWR } from "../../include/linux/fcntl.ts";
import { MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE } from "../../include/linux/mman.ts";

/** Bytes of guest RAM (slot 0 at GPA 0). */
export const CODE_VM_RAM = 1 << 20;

/** Where `long` mode's page tables go (PML4, PDPT, PD: three pages). */
export const CODE_VM_PML4 = 0x80000;

/** The modes {@linkcode code_vm.set_mode} sets up. */
export type code_vm_mode = "real" | "prot16" | "prot32" | "long";

/** The register names of `struct kvm_regs`, in order. */
export const KVM_REGS_NAMES = [
  "rax",
  "rbx",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "rsp",
  "rbp",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
  "rip",
  "rflags",
] as const;

/** What one KVM_RUN returned, as plain data that compares across backends. */
export interface code_exit {
  /** KVM_RUN's return value (0 or -errno). */
  ret: number;
  /** `kvm_run.exit_reason`. */
  reason: number;
  /** KVM_EXIT_IO: direction, size, port, count and the data. */
  io?: { direction: number; size: number; port: number; count: number; data: number[] };
  /** KVM_EXIT_MMIO: address, length, direction and (for writes) the data. */
  mmio?: { phys_addr: bigint; len: number; is_write: number; data: number[] };
  /** The registers after the exit. */
  regs: Record<string, bigint>;
}

/** A real- or protected-mode VM of raw machine code on backend `b`. */
export class code_vm {
  readonly b: Backend;
  readonly kvm: number;
  readonly vm: number;
  readonly vcpu: number;
  /** Guest RAM (the user mapping of slot 0). */
  readonly ram: Uint8Array;
  readonly #hva: bigint;
  readonly #run_addr: bigint;
  readonly #run_size: number;
  readonly run: ReturnType<typeof kvm_run.view>;
  readonly #run_bytes: Uint8Array;

  constructor(b: Backend) {
    this.b = b;
    this.kvm = b.open("/dev/kvm", O_RDWR, 0);
    if (this.kvm < 0) throw new Error(`open(/dev/kvm): ${this.kvm}`);
    this.vm = this.#check(b.ioctl(this.kvm, KVM_CREATE_VM, 0n), "KVM_CREATE_VM");
    this.#hva = b.mmap(
      0n,
      BigInt(CODE_VM_RAM),
      PROT_READ | PROT_WRITE,
      MAP_SHARED | MAP_ANONYMOUS,
      -1,
      0n,
    );
    if (this.#hva < 0n) throw new Error(`mmap: ${this.#hva}`);
    this.ram = b.user_memory(this.#hva, CODE_VM_RAM)!;
    const r = kvm_userspace_memory_region.alloc();
    r.slot = 0;
    r.guest_phys_addr = 0n;
    r.memory_size = BigInt(CODE_VM_RAM);
    r.userspace_addr = this.#hva;
    this.#check(b.ioctl(this.vm, KVM_SET_USER_MEMORY_REGION, this.#arg(r)), "SET_USER_MEMORY");
    this.vcpu = this.#check(b.ioctl(this.vm, KVM_CREATE_VCPU, 0n), "KVM_CREATE_VCPU");
    // The guest's CPUID: what the host supports (long mode needs CPUID.80000001H:LM).
    const cpuid = new Uint8Array(8 + 256 * 40);
    new DataView(cpuid.buffer).setUint32(0, 256, true);
    const ca = b.addr_of(cpuid.buffer, 0);
    this.#check(b.ioctl(this.kvm, KVM_GET_SUPPORTED_CPUID, ca), "KVM_GET_SUPPORTED_CPUID");
    this.#check(b.ioctl(this.vcpu, KVM_SET_CPUID2, ca), "KVM_SET_CPUID2");
    this.#run_size = this.#check(b.ioctl(this.kvm, KVM_GET_VCPU_MMAP_SIZE, 0n), "MMAP_SIZE");
    this.#run_addr = b.mmap(
      0n,
      BigInt(this.#run_size),
      PROT_READ | PROT_WRITE,
      MAP_SHARED,
      this.vcpu,
      0n,
    );
    if (this.#run_addr < 0n) throw new Error(`mmap(vcpu): ${this.#run_addr}`);
    this.#run_bytes = b.user_memory(this.#run_addr, this.#run_size)!;
    this.run = kvm_run.view(this.#run_bytes);
  }

  #check(r: number, what: string): number {
    if (r < 0) throw new Error(`${what}: ${r}`);
    return r;
  }

  #arg(v: { $buffer: ArrayBufferLike; $offset: number }): bigint {
    return this.b.addr_of(v.$buffer, v.$offset);
  }

  /** Copies `bytes` into guest RAM at `gpa`. */
  load(gpa: number, bytes: ArrayLike<number>): void {
    this.ram.set(bytes, gpa);
  }

  /**
   * Sets the mode: `real` (CS:IP = 0:`rip`, segment bases 0, limits 64 KiB),
   * flat `prot16`/`prot32` (CR0.PE, 4 GiB segments with B/D clear or set;
   * no GDT is needed until a segment is loaded), paging off; or `long`
   * (64-bit mode, 4-level paging identity-mapping the first GiB with 2 MiB
   * pages, tables at {@linkcode CODE_VM_PML4}). `tables` sets GDTR/IDTR
   * (base, limit) for code that loads segments or takes exceptions.
   */
  set_mode(
    mode: code_vm_mode,
    rip: number,
    regs: Record<string, bigint> = {},
    tables: { gdt?: [number, number]; idt?: [number, number] } = {},
  ): void {
    if (mode === "long") this.write_page_tables();
    const s = kvm_sregs.alloc();
    this.#check(this.b.ioctl(this.vcpu, KVM_GET_SREGS, this.#arg(s)), "KVM_GET_SREGS");
    const segs = [s.cs, s.ds, s.es, s.ss, s.fs, s.gs];
    segs.forEach((seg, i) => {
      // The views are fresh objects per access: CS is the first.
      const is_cs = i === 0;
      seg.selector = mode === "real" ? 0 : is_cs ? 0x8 : 0x10;
      seg.base = 0n;
      seg.limit = mode === "real" ? 0xffff : 0xffffffff;
      seg.type = is_cs ? 0xb : 0x3;
      seg.s = 1;
      seg.present = 1;
      seg.dpl = 0;
      seg.db = mode === "prot32" || (mode === "long" && !is_cs) ? 1 : 0;
      seg.l = mode === "long" && is_cs ? 1 : 0;
      seg.g = mode === "real" ? 0 : 1;
    });
    s.cr0 = mode === "real" ? 0x60000010n : mode === "long" ? 0x80000011n : 0x11n;
    s.cr4 = mode === "long" ? 0x20n : 0n;
    s.efer = mode === "long" ? 0x500n : 0n;
    s.cr3 = mode === "long" ? BigInt(CODE_VM_PML4) : 0n;
    if (tables.gdt) [s.gdt.base, s.gdt.limit] = [BigInt(tables.gdt[0]), tables.gdt[1]];
    if (tables.idt) [s.idt.base, s.idt.limit] = [BigInt(tables.idt[0]), tables.idt[1]];
    this.#check(this.b.ioctl(this.vcpu, KVM_SET_SREGS, this.#arg(s)), "KVM_SET_SREGS");
    const r = kvm_regs.alloc();
    for (const [k, v] of Object.entries(regs)) (r as unknown as Record<string, bigint>)[k] = v;
    r.rip = BigInt(rip);
    r.rflags = regs.rflags ?? 2n;
    this.#check(this.b.ioctl(this.vcpu, KVM_SET_REGS, this.#arg(r)), "KVM_SET_REGS");
  }

  /** Writes the identity page tables of `long` mode (also for code that enables paging itself). */
  write_page_tables(): void {
    const dv = new DataView(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength);
    const pml4 = CODE_VM_PML4;
    dv.setBigUint64(pml4, BigInt(pml4 + 0x1000) | 3n, true);
    dv.setBigUint64(pml4 + 0x1000, BigInt(pml4 + 0x2000) | 3n, true);
    for (let i = 0; i < 512; i++) {
      dv.setBigUint64(pml4 + 0x2000 + 8 * i, (BigInt(i) << 21n) | 0x83n, true);
    }
  }

  /** KVM_GET_REGS as a record. */
  regs(): Record<string, bigint> {
    const r = kvm_regs.alloc();
    this.#check(this.b.ioctl(this.vcpu, KVM_GET_REGS, this.#arg(r)), "KVM_GET_REGS");
    const out: Record<string, bigint> = {};
    for (const k of KVM_REGS_NAMES) out[k] = (r as unknown as Record<string, bigint>)[k]!;
    return out;
  }

  /** The selectors and CR0 from KVM_GET_SREGS. */
  sregs(): { cs: number; ds: number; ss: number; cr0: bigint } {
    const s = kvm_sregs.alloc();
    this.#check(this.b.ioctl(this.vcpu, KVM_GET_SREGS, this.#arg(s)), "KVM_GET_SREGS");
    return { cs: s.cs.selector, ds: s.ds.selector, ss: s.ss.selector, cr0: s.cr0 };
  }

  /** One KVM_RUN, with the exit decoded. */
  step(): code_exit {
    const ret = this.b.ioctl(this.vcpu, KVM_RUN, 0n);
    const run = this.run;
    const e: code_exit = { ret, reason: run.exit_reason, regs: this.regs() };
    if (run.exit_reason === KVM_EXIT_IO) {
      const n = run.io.size * run.io.count;
      const off = Number(run.io.data_offset);
      e.io = {
        direction: run.io.direction,
        size: run.io.size,
        port: run.io.port,
        count: run.io.count,
        data: [...this.#run_bytes.subarray(off, off + Math.min(n, 64))],
      };
    } else if (run.exit_reason === KVM_EXIT_MMIO) {
      e.mmio = {
        phys_addr: run.mmio.phys_addr,
        len: run.mmio.len,
        is_write: run.mmio.is_write,
        data: run.mmio.is_write ? [...run.mmio.data.$bytes.slice(0, run.mmio.len)] : [],
      };
    }
    return e;
  }

  /** Puts `bytes` where an IN exit's data goes (completed on the next KVM_RUN). */
  set_io_data(bytes: ArrayLike<number>): void {
    this.#run_bytes.set(bytes, Number(this.run.io.data_offset));
  }

  /** Runs until `max` exits or an exit other than IO/MMIO; returns them all. */
  run_all(max = 64): code_exit[] {
    const out: code_exit[] = [];
    for (let i = 0; i < max; i++) {
      const e = this.step();
      out.push(e);
      if (e.ret !== 0 || (e.reason !== KVM_EXIT_IO && e.reason !== KVM_EXIT_MMIO)) break;
    }
    return out;
  }

  /** Unmaps and closes everything. */
  [Symbol.dispose](): void {
    this.b.munmap(this.#run_addr, BigInt(this.#run_size));
    this.b.close(this.vcpu);
    this.b.close(this.vm);
    this.b.munmap(this.#hva, BigInt(CODE_VM_RAM));
    this.b.close(this.kvm);
  }
}
