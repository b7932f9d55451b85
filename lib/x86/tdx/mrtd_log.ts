// SPDX-License-Identifier: GPL-2.0-only
/**
 * `KVM_SELFTESTS_TRACE=mrtd`: what lies in each page a TD measures, written
 * just before the KVM_TDX_INIT_MEM_REGION that adds it, so `deno task mrtd`
 * (`tools/mrtd.ts`) can name each TDH.MEM.PAGE.ADD / TDH.MR.EXTEND of the
 * simulator's `seamcall` trace:
 *
 * ```text
 * kvm_trace: mrtd page gpa=0xfffff000 slot=20 region=boot-code what=td_boot (70 bytes) + reset vector
 * kvm_trace: mrtd page gpa=0x10f000 slot=0 region=image-text what=code records: guest_code, kvm:route_exception
 * ```
 *
 * @module
 */

import type { gpa_t, gva_t, kvm_vm } from "../../../include/kvm_util_types.ts";
import { trace_emit } from "../../../include/libc/trace.ts";
import { user_memory } from "../../../include/libc/syscall.ts";
import { addr_gpa2hva, addr_gva2gpa } from "../../kvm_util.ts";
import { IMAGE_DATA_GVA } from "../../guest_globals.ts";

const PAGE = 4096n;

/** The pages `[gva, gva + len)` map to, by guest-physical page. */
function pages_of(vm: kvm_vm, gva: gva_t, len: bigint): gpa_t[] {
  const out: gpa_t[] = [];
  for (let p = gva & ~(PAGE - 1n); p < gva + len; p += PAGE) {
    try {
      out.push(addr_gva2gpa(vm, p) & ~(PAGE - 1n));
    } catch {
      // Not mapped: nothing of this object lies in a measured page.
    }
  }
  return out;
}

const LEVEL_NAMES = ["", "PT", "PD", "PDPT", "PML4"];

/** The guest's 4-level page tables from `table` down: PML4 (CR3), PDPTs, PDs, PTs. */
function page_tables(
  vm: kvm_vm,
  table: gpa_t,
  level: number,
  add: (gpa: gpa_t, region: string, what: string) => void,
): void {
  add(table, "page-tables", LEVEL_NAMES[level]!);
  if (level === 1) return;
  let bytes: Uint8Array;
  try {
    bytes = user_memory(addr_gpa2hva(vm, table), Number(PAGE));
  } catch {
    return;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < 512; i++) {
    const e = dv.getBigUint64(i * 8, true);
    // Present, and not a large page (PS, bit 7) at the PDPT and PD levels.
    if (!(e & 1n) || (level < 4 && e & 0x80n)) continue;
    page_tables(vm, e & 0x000ffffffffff000n, level - 1, add);
  }
}

/** Names as runs: `idt_handler_0..63` for 64 consecutive numbered names. */
function runs(names: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < names.length) {
    const m = /^(.*?)(\d+)$/.exec(names[i]!);
    let j = i + 1;
    if (m) {
      while (j < names.length && names[j] === `${m[1]}${Number(m[2]) + (j - i)}`) j++;
    }
    out.push(j - i > 2 ? `${names[i]}..${Number(m![2]) + (j - i - 1)}` : names[i]!);
    if (j - i <= 2) j = i + 1;
    i = j;
  }
  return out;
}

/** What each page of `vm` holds that the library put there, by GPA page. */
function page_contents(vm: kvm_vm): Map<gpa_t, [string, string[]]> {
  const m = new Map<gpa_t, [string, string[]]>();
  const add = (gpa: gpa_t, region: string, what: string) => {
    const e = m.get(gpa) ?? [region, []];
    if (!e[1].includes(what)) e[1].push(what);
    m.set(gpa, e);
  };
  const image = vm.image;
  if (image) {
    for (const [fn, gva] of image.functions) {
      const name = typeof fn === "string" ? fn : fn.name;
      for (const p of pages_of(vm, gva, 1n)) add(p, "image-text", name);
    }
    for (const p of pages_of(vm, IMAGE_DATA_GVA, BigInt(image.data_size))) {
      add(p, "image-data", "guest globals");
    }
  }
  const arch = vm.arch;
  if (vm.mmu.pgd_created) page_tables(vm, vm.mmu.pgd & ~(PAGE - 1n), 4, add);
  for (const [gva, what] of [[arch.gdt, "GDT"], [arch.idt, "IDT"], [arch.tss, "TSS"]] as const) {
    if (gva) { for (const p of pages_of(vm, gva, 1n)) add(p, "descriptor-tables", what); }
  }
  if (vm.handlers) {
    for (const p of pages_of(vm, vm.handlers, 1n)) add(p, "handlers", "exception handler table");
  }
  return m;
}

/**
 * Traces what lies in each page of `[gpa, gpa + size)` of memslot `slot`
 * (boot code, boot parameters, code records by function, guest globals,
 * descriptor tables, page tables, else data or zeros).
 *
 * @param vm the TD
 * @param slot the memslot the pages belong to
 * @param gpa the first page
 * @param size bytes, a multiple of the page size
 * @param boot_slots the boot code and boot parameters slots, and what each holds
 */
export function tdx_mrtd_log(
  vm: kvm_vm,
  slot: number,
  gpa: gpa_t,
  size: bigint,
  boot_slots: ReadonlyMap<number, [string, string]>,
): void {
  const contents = boot_slots.has(slot) ? undefined : page_contents(vm);
  for (let p = gpa; p < gpa + size; p += PAGE) {
    let region: string, what: string;
    const boot = boot_slots.get(slot);
    const known = contents?.get(p);
    if (boot) [region, what] = boot;
    else if (known) {
      region = known[0];
      what = (region === "image-text" ? "code records: " : "") + runs(known[1]).join(", ");
    } else {
      const bytes = user_memory(addr_gpa2hva(vm, p), Number(PAGE));
      region = "data";
      what = bytes.every((b) => b === 0) ? "zeros" : "data";
    }
    trace_emit(
      "mrtd",
      `page gpa=0x${p.toString(16)} slot=${slot} region=${region} what=${what}`,
    );
  }
}
