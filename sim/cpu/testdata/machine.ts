// SPDX-License-Identifier: GPL-2.0-only
/**
 * A minimal host side for CPU tests, standing in for the kernel and the
 * selftest library: guest RAM in one `SharedArrayBuffer`, page tables built
 * by hand, a GDT/IDT/TSS, code records, and long-mode guest state in the VMCS.
 *
 * Guest-physical layout: RAM is [0, ram_size). Page tables and other pages
 * come from a bump allocator starting at 1 MiB. The first 4 MiB are
 * identity-mapped (GVA == GPA) so the host can place tables, code and data
 * there and the guest can edit its own page tables.
 *
 * @module
 */

import { guest_code_record, type guest_fn } from "../../../include/guest_code.ts";
import { vcpu_thread, vcpu_worker_loaded } from "../vcpu_thread.ts";
import { VCPU_REGS_RSP } from "../vmx.ts";

/** The URL of the test guest image. */
export const GUEST_IMAGE: string = new URL("./guest.ts", import.meta.url).href;

/**
 * Waits until the pool holds an idle worker with `images` loaded (a freed
 * vCPU's worker reaches that state once it has unwound and imported its next
 * instance); fails after 10 s.
 */
export async function pool_loaded(
  images: readonly (string | URL)[] = [GUEST_IMAGE],
): Promise<void> {
  const give_up = performance.now() + 10_000;
  while (!vcpu_worker_loaded(images)) {
    if (performance.now() >= give_up) throw new Error("the pool never held a loaded worker");
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** PTE bits. */
export const PTE_P = 1n;
/** Writable. */
export const PTE_W = 2n;
/** User. */
export const PTE_U = 4n;
/** Accessed. */
export const PTE_A = 0x20n;
/** Dirty. */
export const PTE_D = 0x40n;
/** Large page. */
export const PTE_PS = 0x80n;
/** Global. */
export const PTE_G = 0x100n;
/** Execute disable. */
export const PTE_NX = 1n << 63n;

/** GDT selectors of {@linkcode test_vm}. */
export const KERNEL_CS = 0x8;
/** Data segment selector. */
export const KERNEL_DS = 0x10;
/** TSS selector. */
export const KERNEL_TSS = 0x18;
/** A 32-bit code segment, for far-jump tests. */
export const CODE32_CS = 0x28;

/** Options of {@linkcode test_vm}. */
export interface test_vm_options {
  /** Bytes of RAM (default 8 MiB). */
  ram_size?: number;
  /** Paging levels, 4 or 5 (default 4). */
  levels?: number;
}

/** A hand-built guest for CPU tests. */
export class test_vm {
  /** Guest RAM. */
  readonly ram: SharedArrayBuffer;
  /** A DataView over RAM. */
  readonly dv: DataView;
  /** Paging levels. */
  readonly levels: number;
  /** GPA of the top-level page table. */
  readonly cr3: number;
  /** GPA (== GVA) of the GDT. */
  readonly gdt: number;
  /** GPA (== GVA) of the IDT. */
  readonly idt: number;
  /** GPA (== GVA) of the TSS. */
  readonly tss: number;
  /** Top of the stack (GVA). */
  readonly stack_top: number;
  #next_page = 0x100000;
  #next_code = 0x300000;

  constructor(options: test_vm_options = {}) {
    this.ram = new SharedArrayBuffer(options.ram_size ?? 8 << 20);
    this.dv = new DataView(this.ram);
    this.levels = options.levels ?? 4;
    this.cr3 = this.alloc_page();
    for (let a = 0; a < 4 << 20; a += 4096) this.map(BigInt(a), a, PTE_P | PTE_W);
    this.gdt = this.alloc_page();
    this.idt = this.alloc_page();
    this.tss = this.alloc_page();
    // null, 64-bit code, data, 16-byte TSS, 32-bit code.
    this.dv.setBigUint64(this.gdt + 8, 0x00af9b000000ffffn, true);
    this.dv.setBigUint64(this.gdt + 16, 0x00cf93000000ffffn, true);
    const t = BigInt(this.tss);
    const tss_desc = 0x67n | ((t & 0xffffffn) << 16n) | (0x89n << 40n) |
      (((t >> 24n) & 0xffn) << 56n);
    this.dv.setBigUint64(this.gdt + 24, tss_desc, true);
    this.dv.setBigUint64(this.gdt + 32, t >> 32n, true);
    this.dv.setBigUint64(this.gdt + 40, 0x00cf9b000000ffffn, true);
    // A 16 KiB stack below 0x3f0000.
    this.stack_top = 0x3f0000;
  }

  /** A zeroed page of RAM (its GPA). */
  alloc_page(): number {
    const p = this.#next_page;
    this.#next_page += 4096;
    new Uint8Array(this.ram, p, 4096).fill(0);
    return p;
  }

  /** Reads a u64 at a GPA. */
  q(gpa: number): bigint {
    return this.dv.getBigUint64(gpa, true);
  }

  /** Writes a u64 at a GPA. */
  set_q(gpa: number, v: bigint): void {
    this.dv.setBigUint64(gpa, v, true);
  }

  /**
   * The GPA of the leaf entry for `gva` at `level` (1 = PTE), creating
   * intermediate tables (present, writable, user) on the way.
   */
  entry(gva: bigint, level = 1): number {
    let table = this.cr3;
    for (let l = this.levels; l > level; l--) {
      const idx = Number((gva >> BigInt(12 + 9 * (l - 1))) & 511n);
      const e = table + idx * 8;
      let v = this.q(e);
      if (!(v & PTE_P)) {
        v = BigInt(this.alloc_page()) | PTE_P | PTE_W | PTE_U;
        this.set_q(e, v);
      }
      table = Number(v & 0xffffffffff000n);
    }
    return table + Number((gva >> BigInt(12 + 9 * (level - 1))) & 511n) * 8;
  }

  /** Maps the 4 KiB page at `gva` to `gpa` with `flags`. */
  map(gva: bigint, gpa: number, flags: bigint): void {
    this.set_q(this.entry(gva), BigInt(gpa) | flags);
  }

  /**
   * Writes the code record of `fn` into the identity-mapped code area (or at
   * GPA == GVA `at`); returns its GVA.
   */
  load_fn(fn: guest_fn, name?: string, at?: number): number {
    const rec = guest_code_record(fn, name ?? fn.name);
    const where = at ?? this.#next_code;
    new Uint8Array(this.ram, where, rec.length).set(rec);
    if (at === undefined) this.#next_code = (where + rec.length + 15) & ~15;
    return where;
  }

  /** Points IDT gate `vector` at the code record of `fn` (64-bit interrupt gate, KERNEL_CS). */
  set_handler(vector: number, fn: guest_fn, ist = 0): number {
    const at = this.load_fn(fn);
    this.set_gate(vector, BigInt(at), ist);
    return at;
  }

  /** Writes a raw 64-bit interrupt gate. */
  set_gate(vector: number, offset: bigint, ist = 0, present = true): void {
    const g = this.idt + vector * 16;
    const lo = (offset & 0xffffn) | (BigInt(KERNEL_CS) << 16n) | (BigInt(ist) << 32n) |
      ((present ? 0x8en : 0x0en) << 40n) | (((offset >> 16n) & 0xffffn) << 48n);
    this.set_q(g, lo);
    this.set_q(g + 8, (offset >> 32n) & 0xffffffffn);
  }

  /** The memory map for {@linkcode vcpu_thread.set_memory_map}. */
  memory_map(): {
    slots: {
      slot: number;
      base_gpa: bigint;
      npages: number;
      readonly: boolean;
      backing: { chunks: SharedArrayBuffer[]; chunk_size: number; offset: number };
    }[];
  } {
    return {
      slots: [{
        slot: 0,
        base_gpa: 0n,
        npages: this.ram.byteLength / 4096,
        readonly: false,
        backing: { chunks: [this.ram], chunk_size: this.ram.byteLength, offset: 0 },
      }],
    };
  }

  /**
   * A vCPU in 64-bit mode at CPL 0 with this VM's paging, GDT, IDT (limit
   * 0xfff) and TSS, entering `fn` with `args` in RDI, RSI, RDX, RCX; `fn`
   * is exported from one of `images` (the guest image, `guest.ts` by default).
   */
  vcpu(
    fn: guest_fn,
    args: bigint[] = [],
    vcpu_id = 0,
    images: readonly string[] = [GUEST_IMAGE],
  ): vcpu_thread {
    const v = new vcpu_thread({ vcpu_id, images });
    v.set_memory_map(this.memory_map());
    const s = v.vmcs;
    s.cr0 = 0x80010031n; // PG | WP | NE | ET | PE
    s.cr3 = BigInt(this.cr3);
    s.cr4 = this.levels === 5 ? 0x1020n : 0x20n; // PAE (| LA57)
    s.efer = 0xd01n; // SCE | LME | LMA | NX
    const cs = s.cs;
    cs.selector = KERNEL_CS;
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
      seg.selector = KERNEL_DS;
      seg.base = 0n;
      seg.limit = 0xffffffff;
      seg.type = 0x3;
      seg.s = 1;
      seg.present = 1;
      seg.dpl = 0;
      seg.db = 1;
      seg.g = 1;
    }
    s.tr.selector = KERNEL_TSS;
    s.tr.base = BigInt(this.tss);
    s.tr.limit = 0x67;
    s.tr.type = 0xb;
    s.tr.s = 0;
    s.tr.present = 1;
    s.gdtr.base = BigInt(this.gdt);
    s.gdtr.limit = 0xfff;
    s.idtr.base = BigInt(this.idt);
    s.idtr.limit = 0xfff;
    s.rflags = 2n;
    s.regs.set(VCPU_REGS_RSP, BigInt(this.stack_top - 8));
    const order = [7, 6, 2, 1];
    args.forEach((a, i) => s.regs.set(order[i]!, a));
    s.rip = BigInt(this.load_fn(fn));
    return v;
  }
}
