// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/tdx/td_boot.S`: the code a TD
 * vCPU runs from the reset vector to the test's guest code.
 *
 * A TD starts in 32-bit protected mode with paging off at 0xfffffff0, ESI =
 * its VCPU_INDEX and EFER.LME already set by the TDX module. The boot code
 * reads `struct td_boot_parameters` at `TD_BOOT_PARAMETERS_GPA` (through the
 * offsets `deno task gen` generates, as `td_boot.S` includes
 * `td_boot_offsets.h`), loads GDTR, IDTR, CR4, CR3 and CR0, which turns on
 * paging and IA-32e mode, far-jumps to 64-bit code and jumps to the vCPU's
 * entry point.
 *
 * `td_boot.S` is one function with a local label `1:` after the far jump. Here
 * the 32-bit part and the part after `1:` are two guest functions, registered
 * as {@linkcode TD_BOOT_NAME} and {@linkcode TD_BOOT_64_NAME}, whose code
 * records are copied back to back so that the second ends at the reset vector
 * ({@linkcode td_boot_code}); together they are 121 bytes, within reach of
 * the `JMP rel8` upstream writes at the reset vector.
 *
 * @module
 */

import {
  guest_code_record,
  guest_code_record_size,
  guest_fn_register,
} from "../../../include/guest_code.ts";
import {
  SIZEOF_TD_PER_VCPU_PARAMETERS,
  TD_BOOT_PARAMETERS_CR0,
  TD_BOOT_PARAMETERS_CR3,
  TD_BOOT_PARAMETERS_CR4,
  TD_BOOT_PARAMETERS_GDT,
  TD_BOOT_PARAMETERS_IDT,
  TD_BOOT_PARAMETERS_PER_VCPU,
  TD_PER_VCPU_PARAMETERS_ESP_GVA,
  TD_PER_VCPU_PARAMETERS_GUEST_CODE,
} from "../../../include/x86/tdx/td_boot_offsets.ts";
import { TD_BOOT_PARAMETERS_GPA } from "../../../include/x86/tdx/td_boot.ts";
import { guest_cpu } from "../../guest_insn.ts";

/** `KERNEL_CS` (`processor_asm.h`): the library GDT's 64-bit code segment. */
const KERNEL_CS = 0x8;

/** The registry name of the 32-bit boot code (`td_boot`). */
export const TD_BOOT_NAME = "tdx:td_boot";
/** The registry name of the 64-bit tail of the boot code (label `1:` of `td_boot.S`). */
export const TD_BOOT_64_NAME = "tdx:td_boot.64";

/**
 * `td_boot`, the 32-bit part: entered by the `JMP rel8` at the reset vector.
 * Leaves EAX = `&per_vcpu[ESI]` for the 64-bit part, as `td_boot.S` does.
 */
export function td_boot(): never {
  const cpu = guest_cpu();
  cpu.cli();
  // ebx = params; eax = &params->per_vcpu[esi] (ESI: TDX spec, the VCPU_INDEX).
  const ebx = TD_BOOT_PARAMETERS_GPA;
  const esi = Number(cpu.get_reg("rsi") & 0xffffffffn);
  const eax = ebx + TD_BOOT_PARAMETERS_PER_VCPU + SIZEOF_TD_PER_VCPU_PARAMETERS * esi;
  cpu.set_reg("rax", BigInt(eax));
  // Only used once paging is on: the stacks are in memslot 0, at GVAs.
  cpu.set_reg("rsp", BigInt(cpu.readl(eax + TD_PER_VCPU_PARAMETERS_ESP_GVA)));
  cpu.lgdt(ebx + TD_BOOT_PARAMETERS_GDT);
  cpu.lidt(ebx + TD_BOOT_PARAMETERS_IDT);
  cpu.set_cr4(BigInt(cpu.readl(ebx + TD_BOOT_PARAMETERS_CR4)));
  cpu.set_cr3(BigInt(cpu.readl(ebx + TD_BOOT_PARAMETERS_CR3)));
  // PG with PAE and EFER.LME: IA-32e (compatibility) mode; this code is
  // identity-mapped, so fetching goes on.
  cpu.set_cr0(BigInt(cpu.readl(ebx + TD_BOOT_PARAMETERS_CR0)));
  // `ljmp $KERNEL_CS, $1f`: label 1 is the record right after this one (the
  // assembler would resolve it to the same place).
  const rip = cpu.get_reg("rip");
  return cpu.ljmp(KERNEL_CS, rip + BigInt(guest_code_record_size(td_boot, TD_BOOT_NAME)));
}

/** `1: jmp *TD_PER_VCPU_PARAMETERS_GUEST_CODE(%rax)`, in 64-bit mode. */
export function td_boot_64(): never {
  const cpu = guest_cpu();
  const rax = cpu.get_reg("rax");
  return cpu.jmp(cpu.readq(rax + BigInt(TD_PER_VCPU_PARAMETERS_GUEST_CODE)));
}

guest_fn_register(TD_BOOT_NAME, td_boot);
guest_fn_register(TD_BOOT_64_NAME, td_boot_64);

/**
 * The bytes of the boot code, `td_boot` to `td_boot_code_end`: the two code
 * records, `td_boot` first (where the reset-vector jump lands).
 *
 * @returns the boot code
 */
export function td_boot_code(): Uint8Array {
  const a = guest_code_record(td_boot, TD_BOOT_NAME);
  const b = guest_code_record(td_boot_64, TD_BOOT_64_NAME);
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** C `TD_BOOT_CODE_SIZE` (`td_boot_code_end - td_boot`). */
export const TD_BOOT_CODE_SIZE: number = guest_code_record_size(td_boot, TD_BOOT_NAME) +
  guest_code_record_size(td_boot_64, TD_BOOT_64_NAME);
