// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import {
  td_boot_assemble,
  td_boot_code,
  TD_BOOT_CODE_GPA,
  TD_BOOT_CODE_MAX_SIZE,
  TD_BOOT_CODE_SIZE,
} from "./td_boot.ts";
import * as offsets from "../../../include/x86/tdx/td_boot_offsets.ts";
import { TD_BOOT_PARAMETERS_GPA, X86_RESET_VECTOR } from "../../../include/x86/tdx/td_boot.ts";
import { KERNEL_CS } from "../../../include/x86/processor.ts";
import { GNU_AS_MISSING, gnu_as_program, hex } from "../asm/testdata/gnu_as.ts";

/** The boot code as GNU as 2.40 assembled it at TD_BOOT_CODE_GPA, with the offsets of {@linkcode PINNED_OFFSETS}. */
const PINNED = "fabb0000ffffb810000000f7e68d7b1801f88b208d7b0c0f01178d7b120f011f8b7b080f22e7" +
  "8b7b040f22df8b3b0f22c7eaedffffff0800ff6008";
/** The generated offsets {@linkcode PINNED} was made with (a prototype that changes them relies on GNU as). */
const PINNED_OFFSETS: Record<string, number> = {
  TD_BOOT_PARAMETERS_CR0: 0,
  TD_BOOT_PARAMETERS_CR3: 4,
  TD_BOOT_PARAMETERS_CR4: 8,
  TD_BOOT_PARAMETERS_GDT: 12,
  TD_BOOT_PARAMETERS_IDT: 18,
  TD_BOOT_PARAMETERS_PER_VCPU: 24,
  TD_PER_VCPU_PARAMETERS_ESP_GVA: 0,
  TD_PER_VCPU_PARAMETERS_GUEST_CODE: 8,
  SIZEOF_TD_PER_VCPU_PARAMETERS: 16,
};
const OFFSETS_AS_PINNED = Object.entries(offsets).every(([k, v]) => PINNED_OFFSETS[k] === v);

/** How objdump prints `disp(%reg)`. */
function mem(disp: number, reg: string): string {
  return `${disp ? "0x" + disp.toString(16) : ""}(%${reg})`;
}

/**
 * The `.S` text of the boot code, rebuilt from the assembler's listing (each
 * statement as it was written) with the constants as `.set` lines: what GNU
 * as must turn into the same bytes.
 */
function listing_source(): string {
  const defines = { TD_BOOT_PARAMETERS_GPA, KERNEL_CS, ...offsets };
  const sets = Object.entries(defines).map(([k, v]) => `.set ${k}, ${v}`);
  const body = td_boot_assemble(TD_BOOT_CODE_GPA).listing.map((l) => l.text);
  return [...sets, ".code32", ".globl td_boot", ...body].join("\n");
}

Deno.test("td_boot is real machine code that ends at the reset vector within JMP rel8 reach", () => {
  const code = td_boot_code();
  assertEquals(code.length, TD_BOOT_CODE_SIZE);
  assertEquals(TD_BOOT_CODE_GPA + TD_BOOT_CODE_SIZE, X86_RESET_VECTOR);
  assert(TD_BOOT_CODE_SIZE + 2 <= 128, `${TD_BOOT_CODE_SIZE} bytes`);
  assertEquals(TD_BOOT_CODE_MAX_SIZE, 126);
  // The size does not depend on where it is assembled.
  assertEquals(td_boot_assemble(0x1000).bytes.length, TD_BOOT_CODE_SIZE);
  const obj = td_boot_assemble(TD_BOOT_CODE_GPA);
  assertEquals(obj.symbols.get("td_boot"), BigInt(TD_BOOT_CODE_GPA));
  assertEquals(obj.symbols.get("td_boot_code_end"), BigInt(X86_RESET_VECTOR));
  if (OFFSETS_AS_PINNED) assertEquals(hex(code), PINNED);
  else {console.warn(
      "td_boot_test: the offsets changed since the pinned bytes; GNU as checks the bytes",
    );}
});

Deno.test("td_boot reads every field through the generated offsets", () => {
  const code = td_boot_code();
  const dv = new DataView(code.buffer);
  // movl $TD_BOOT_PARAMETERS_GPA, %ebx; movl $SIZEOF_TD_PER_VCPU_PARAMETERS, %eax
  assertEquals(dv.getUint32(2, true), TD_BOOT_PARAMETERS_GPA);
  assertEquals(dv.getUint32(7, true), offsets.SIZEOF_TD_PER_VCPU_PARAMETERS);
  // The displacements of leal/movl/jmp, in the order td_boot.S reads them:
  // one-byte opcodes (8D, 8B, FF) then ModRM, whose mod says 0, 1 or 4 bytes.
  const listing = td_boot_assemble(TD_BOOT_CODE_GPA).listing;
  const disp = (text: string): number => {
    const l = listing.find((x) => x.text === text);
    assert(l, text);
    const mod = l.bytes[1]! >> 6;
    const v = new DataView(l.bytes.buffer, l.bytes.byteOffset);
    return mod === 0 ? 0 : mod === 1 ? v.getInt8(2) : v.getUint32(2, true);
  };
  assertEquals(
    disp("leal TD_BOOT_PARAMETERS_PER_VCPU(%ebx), %edi"),
    offsets.TD_BOOT_PARAMETERS_PER_VCPU,
  );
  assertEquals(disp("leal TD_BOOT_PARAMETERS_GDT(%ebx), %edi"), offsets.TD_BOOT_PARAMETERS_GDT);
  assertEquals(disp("leal TD_BOOT_PARAMETERS_IDT(%ebx), %edi"), offsets.TD_BOOT_PARAMETERS_IDT);
  assertEquals(disp("movl TD_BOOT_PARAMETERS_CR4(%ebx), %edi"), offsets.TD_BOOT_PARAMETERS_CR4);
  assertEquals(disp("movl TD_BOOT_PARAMETERS_CR3(%ebx), %edi"), offsets.TD_BOOT_PARAMETERS_CR3);
  assertEquals(disp("movl TD_BOOT_PARAMETERS_CR0(%ebx), %edi"), offsets.TD_BOOT_PARAMETERS_CR0);
  assertEquals(
    disp("movl TD_PER_VCPU_PARAMETERS_ESP_GVA(%eax), %esp"),
    offsets.TD_PER_VCPU_PARAMETERS_ESP_GVA,
  );
  assertEquals(
    disp("jmp *TD_PER_VCPU_PARAMETERS_GUEST_CODE(%eax)"),
    offsets.TD_PER_VCPU_PARAMETERS_GUEST_CODE,
  );
  // ljmp $(KERNEL_CS), $1f: the offset is label 1, right after the 7-byte far jump.
  const ljmp = code.length - 3 - 7;
  assertEquals(code[ljmp], 0xea);
  assertEquals(dv.getUint32(ljmp + 1, true), TD_BOOT_CODE_GPA + ljmp + 7);
  assertEquals(dv.getUint16(ljmp + 5, true), KERNEL_CS);
});

Deno.test({
  name: "GNU as assembles the same td_boot text to the same bytes",
  ignore: GNU_AS_MISSING !== undefined,
  async fn() {
    const gnu = await gnu_as_program(listing_source(), TD_BOOT_CODE_GPA);
    assertEquals(hex(gnu), hex(td_boot_code()));
  },
});

Deno.test({
  name: "objdump decodes td_boot as the instructions of td_boot.S",
  ignore: GNU_AS_MISSING !== undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "td_boot_" });
    try {
      await Deno.writeFile(`${dir}/b.bin`, td_boot_code());
      const out = await new Deno.Command("objdump", {
        args: [
          "-D",
          "-b",
          "binary",
          "-m",
          "i386",
          `--adjust-vma=0x${TD_BOOT_CODE_GPA.toString(16)}`,
          `${dir}/b.bin`,
        ],
        stdout: "piped",
      }).output();
      assert(out.success);
      const insns = new TextDecoder().decode(out.stdout).split("\n")
        .map((l) => l.split("\t")[2]?.trim())
        .filter((x): x is string => x !== undefined && x.length > 0)
        .map((x) => x.replace(/\s+/g, " "));
      const target = (TD_BOOT_CODE_GPA + TD_BOOT_CODE_SIZE - 3).toString(16);
      assertEquals(insns, [
        "cli",
        "mov $0xffff0000,%ebx",
        `mov $0x${offsets.SIZEOF_TD_PER_VCPU_PARAMETERS.toString(16)},%eax`,
        "mul %esi",
        `lea ${mem(offsets.TD_BOOT_PARAMETERS_PER_VCPU, "ebx")},%edi`,
        "add %edi,%eax",
        `mov ${mem(offsets.TD_PER_VCPU_PARAMETERS_ESP_GVA, "eax")},%esp`,
        `lea ${mem(offsets.TD_BOOT_PARAMETERS_GDT, "ebx")},%edi`,
        "lgdtl (%edi)",
        `lea ${mem(offsets.TD_BOOT_PARAMETERS_IDT, "ebx")},%edi`,
        "lidtl (%edi)",
        `mov ${mem(offsets.TD_BOOT_PARAMETERS_CR4, "ebx")},%edi`,
        "mov %edi,%cr4",
        `mov ${mem(offsets.TD_BOOT_PARAMETERS_CR3, "ebx")},%edi`,
        "mov %edi,%cr3",
        `mov ${mem(offsets.TD_BOOT_PARAMETERS_CR0, "ebx")},%edi`,
        "mov %edi,%cr0",
        `ljmp $0x${KERNEL_CS.toString(16)},$0x${target}`,
        `jmp *${mem(offsets.TD_PER_VCPU_PARAMETERS_GUEST_CODE, "eax")}`,
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
