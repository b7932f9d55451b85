// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/tdx/td_boot.S` (v13 of the
 * TDX selftests series, googleprodkernel/linux-cc 782f93cb): the code a TD
 * vCPU runs from the reset vector to the test's guest code, as machine code
 * made by the in-repo assembler (`lib/x86/asm/`), one call per line of the
 * `.S` file.
 *
 * A TD starts in 32-bit protected mode with paging off at 0xfffffff0, ESI =
 * its VCPU_INDEX and EFER.LME already set by the TDX module. The boot code
 * reads `struct td_boot_parameters` at `TD_BOOT_PARAMETERS_GPA` through the
 * offsets `deno task gen` generates (what `td_boot.S` gets by including
 * `td_boot_offsets.h`), loads GDTR, IDTR, CR4, CR3 and CR0, which turns on
 * paging and IA-32e mode, far-jumps to 64-bit code and jumps to the vCPU's
 * entry point.
 *
 * The far jump's target `1f` is an absolute address. Upstream it is the link
 * address of the copy inside the test ELF; this library has no ELF copy of
 * the boot code, so it is assembled at the address it is loaded at
 * ({@linkcode TD_BOOT_CODE_GPA}, the identity-mapped page that ends at the
 * reset vector) and the jump lands in those same, measured bytes.
 *
 * @module
 */

import { type asm_object, assembler } from "../asm/assembler.ts";
import * as offsets from "../../../include/x86/tdx/td_boot_offsets.ts";
import { TD_BOOT_PARAMETERS_GPA, X86_RESET_VECTOR } from "../../../include/x86/tdx/td_boot.ts";
import { KERNEL_CS } from "../../../include/x86/processor.ts";

/**
 * Assembles `td_boot.S` for a load address.
 *
 * @param origin the GPA (= GVA) of its first byte
 * @returns the image and its symbols `td_boot`, `td_boot_code_end`
 */
export function td_boot_assemble(origin: number | bigint): asm_object {
  // The defines are what td_boot.S includes: td_boot_asm.h, the generated
  // td_boot_offsets.h and processor_asm.h.
  const a = assembler({ origin, defines: { TD_BOOT_PARAMETERS_GPA, KERNEL_CS, ...offsets } });

  a.code32();

  a.global("td_boot");
  a.label("td_boot");
  // EBX holds the parameter block's base; EDI carries values in transit.
  a.cli();

  // No paging yet, so a GPA is used directly as the address.
  a.movl("$TD_BOOT_PARAMETERS_GPA", "%ebx");

  // EAX = &per_vcpu[ESI]; the TDX module puts the VCPU_INDEX in ESI.
  a.movl("$SIZEOF_TD_PER_VCPU_PARAMETERS", "%eax");
  a.mul("%esi");
  a.leal("TD_BOOT_PARAMETERS_PER_VCPU(%ebx)", "%edi");
  a.addl("%edi", "%eax");

  // The stack, used only once paging is on.
  a.movl("TD_PER_VCPU_PARAMETERS_ESP_GVA(%eax)", "%esp");

  a.leal("TD_BOOT_PARAMETERS_GDT(%ebx)", "%edi");
  a.lgdt("(%edi)");

  a.leal("TD_BOOT_PARAMETERS_IDT(%ebx)", "%edi");
  a.lidt("(%edi)");

  // CRn can only be loaded from a GPR, so each value is staged in EDI.
  a.movl("TD_BOOT_PARAMETERS_CR4(%ebx)", "%edi");
  a.movl("%edi", "%cr4");
  a.movl("TD_BOOT_PARAMETERS_CR3(%ebx)", "%edi");
  a.movl("%edi", "%cr3");
  a.movl("TD_BOOT_PARAMETERS_CR0(%ebx)", "%edi");
  a.movl("%edi", "%cr0");

  // CR0.PG with CR4.PAE and EFER.LME: compatibility mode; the far jump
  // loads the 64-bit KERNEL_CS.
  a.ljmp("$(KERNEL_CS)", "$1f");
  a.label("1");
  // Assembled as 32-bit code, run as 64-bit code: `jmp *8(%rax)`.
  a.jmp("*TD_PER_VCPU_PARAMETERS_GUEST_CODE(%eax)");

  a.global("td_boot_code_end");
  a.label("td_boot_code_end");

  return a.assemble();
}

function code_size(obj: asm_object): number {
  return Number(obj.symbols.get("td_boot_code_end")! - obj.symbols.get("td_boot")!);
}

/**
 * C `TD_BOOT_CODE_SIZE` (`td_boot_code_end - td_boot`): the real size of the
 * machine code (no instruction's length depends on the load address).
 */
export const TD_BOOT_CODE_SIZE: number = code_size(td_boot_assemble(0));

/** Where the boot code is loaded: it ends exactly at the reset vector. */
export const TD_BOOT_CODE_GPA: number = X86_RESET_VECTOR - TD_BOOT_CODE_SIZE;

/**
 * The reset vector holds a 2-byte `JMP rel8` back to `td_boot`, whose
 * displacement counts from the end of that jump: the boot code can be at
 * most 126 bytes.
 */
export const TD_BOOT_CODE_MAX_SIZE = 128 - 2;

if (TD_BOOT_CODE_SIZE > TD_BOOT_CODE_MAX_SIZE) {
  throw new Error(
    `td_boot is ${TD_BOOT_CODE_SIZE} bytes: beyond the reach of the reset vector's JMP rel8 (${TD_BOOT_CODE_MAX_SIZE})`,
  );
}

let cached: Uint8Array | undefined;

/**
 * The bytes of the boot code, `td_boot` to `td_boot_code_end`, assembled at
 * {@linkcode TD_BOOT_CODE_GPA}.
 *
 * @returns a fresh copy
 */
export function td_boot_code(): Uint8Array {
  if (!cached) {
    const obj = td_boot_assemble(TD_BOOT_CODE_GPA);
    if (
      code_size(obj) !== TD_BOOT_CODE_SIZE ||
      obj.symbols.get("td_boot") !== BigInt(TD_BOOT_CODE_GPA)
    ) {
      throw new Error("td_boot: the image moved when assembled at its load address");
    }
    cached = obj.bytes;
  }
  return cached.slice();
}
