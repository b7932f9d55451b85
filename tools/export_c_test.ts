// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import {
  c_prototype,
  export_module,
  format_skeleton,
  ts_signatures,
  upstream_path,
} from "./export_c.ts";

const LAYOUT = new URL("../include/c/layout.ts", import.meta.url).href;

Deno.test("upstream paths of SDK modules", () => {
  assertEquals(
    upstream_path("lib/x86/tdx/tdx.ts"),
    "tools/testing/selftests/kvm/lib/x86/tdx/tdx.c",
  );
  assertEquals(
    upstream_path("include/x86/tdx/td_boot.ts"),
    "tools/testing/selftests/kvm/include/x86/tdx/td_boot.h",
  );
  assertEquals(
    upstream_path("lib/x86/tdx/td_boot.ts"),
    "tools/testing/selftests/kvm/lib/x86/tdx/td_boot.S",
  );
  assertEquals(
    upstream_path("x86/tdx_vm_test.ts"),
    "tools/testing/selftests/kvm/x86/tdx_vm_test.c",
  );
  assertEquals(upstream_path("include/linux/kvm.ts"), "include/uapi/linux/kvm.h");
  assertEquals(upstream_path("include/c/layout.ts"), undefined);
  assertEquals(upstream_path("sim/tdx_module/tdcall.ts"), undefined);
  assertEquals(upstream_path("lib/kvm_util_test.ts"), undefined);
});

Deno.test("prototypes from TypeScript signatures; unknown C types are marked", () => {
  const sigs = ts_signatures(`
export function tdg_vp_vmcall_get_quote(buffer_gpa: bigint, size: number | bigint): bigint {
  return 0n;
}

export function odd(vm: kvm_vm, f: (x: number) => void, r: Ref<bigint> | null): void {
}
`);
  assertEquals(
    c_prototype(sigs.get("tdg_vp_vmcall_get_quote")!),
    { proto: "uint64_t tdg_vp_vmcall_get_quote(uint64_t buffer_gpa, uint64_t size)", unknown: [] },
  );
  const odd = c_prototype(sigs.get("odd")!);
  assertEquals(odd.unknown, ["f: (x: number) => void"]);
  assert(odd.proto.startsWith("void odd(struct kvm_vm *vm, /* EXPORT-C: "), odd.proto);
  assert(odd.proto.endsWith("uint64_t *r)"), odd.proto);
});

Deno.test("a prototype's changes: structs, constants, prototypes, marked bodies", async () => {
  const base = await Deno.makeTempDir();
  const now = await Deno.makeTempDir();
  try {
    for (const root of [base, now]) {
      await Deno.mkdir(`${root}/include/x86/tdx`, { recursive: true });
      await Deno.mkdir(`${root}/lib/x86/tdx`, { recursive: true });
    }
    const header = (extra: string, field: string) =>
      `import { struct, u32, u64 } from "${LAYOUT}";\n` +
      `export const td_probe = struct("td_probe", { esp: u32, code: u64${field} });\n` +
      `export const PROBE_A = 1;\n${extra}`;
    await Deno.writeTextFile(`${base}/include/x86/tdx/probe.ts`, header("", ""));
    await Deno.writeTextFile(
      `${now}/include/x86/tdx/probe.ts`,
      header("export const PROBE_B = 0x10004n;\n", ", cr3: u64"),
    );
    const lib = (body: string) =>
      `export function kept(x: bigint): bigint {\n  return x;\n}\n${body}`;
    await Deno.writeTextFile(`${base}/lib/x86/tdx/probe.ts`, lib(""));
    await Deno.writeTextFile(
      `${now}/lib/x86/tdx/probe.ts`,
      lib(
        "\nexport function probe_notify(vector: number | bigint): bigint {\n  return BigInt(vector);\n}\n",
      ),
    );
    const hunks = [
      ...await export_module(base, now, "include/x86/tdx/probe.ts"),
      ...await export_module(base, now, "lib/x86/tdx/probe.ts"),
    ];
    const h = "tools/testing/selftests/kvm/include/x86/tdx/probe.h";
    const c = "tools/testing/selftests/kvm/lib/x86/tdx/probe.c";
    assertEquals(hunks.map((x) => [x.file, x.title, x.marked]), [
      [h, "constants", false],
      [h, "changed struct td_probe", false],
      [h, "new prototype probe_notify", false],
      [c, "new function probe_notify", true],
    ]);
    assertEquals(hunks[0]!.lines, ["#define PROBE_B 0x10004"]);
    assertEquals(
      hunks[1]!.lines.join("\n"),
      "struct td_probe {\n\t__u32 esp;\n\t__u64 code;\n\t__u64 cr3;\n};",
    );
    assertEquals(hunks[2]!.lines, ["uint64_t probe_notify(uint64_t vector);"]);
    assert(
      hunks[3]!.lines.includes('#error "export-c: port probe_notify() from lib/x86/tdx/probe.ts"'),
    );
    const text = format_skeleton(hunks, "BASE");
    assert(
      text.includes(
        `diff --git a/${h} b/${h}\n--- a/${h}\n+++ b/${h}\n@@ constants @@\n+#define PROBE_B`,
      ),
    );
    assert(text.includes("@@ EXPORT-C new function probe_notify @@"));
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(now, { recursive: true });
  }
});

Deno.test("boot code and offsets modules translate call by call into td_boot.S and the Kbuild offsets file", async () => {
  const base = await Deno.makeTempDir();
  const now = await Deno.makeTempDir();
  try {
    for (const root of [base, now]) await Deno.mkdir(`${root}/lib/x86/tdx`, { recursive: true });
    const boot = (cr3: string) =>
      `export function td_boot_assemble(a: any): void {\n  // CR3 first.\n  a.label("td_boot");\n` +
      `  a.movl(${cr3}, "%edi");\n  a.movl("%edi", "%cr3");\n}\n`;
    await Deno.writeTextFile(
      `${base}/lib/x86/tdx/td_boot.ts`,
      boot('"TD_BOOT_PARAMETERS_CR3(%ebx)"'),
    );
    await Deno.writeTextFile(
      `${now}/lib/x86/tdx/td_boot.ts`,
      boot('"TD_PER_VCPU_PARAMETERS_CR3(%eax)"'),
    );
    const offs = (extra: string) =>
      `export function common(): void {\n  OFFSET("TD_PER_VCPU_PARAMETERS_ESP_GVA", t, "esp_gva");\n${extra}` +
      `  DEFINE("SIZEOF_TD_PER_VCPU_PARAMETERS", sizeof(td_per_vcpu_parameters));\n}\n`;
    await Deno.writeTextFile(`${base}/lib/x86/tdx/td_boot_offsets.ts`, offs(""));
    await Deno.writeTextFile(
      `${now}/lib/x86/tdx/td_boot_offsets.ts`,
      offs('  OFFSET("TD_PER_VCPU_PARAMETERS_CR3", t, "cr3");\n'),
    );
    const [asm] = await export_module(base, now, "lib/x86/tdx/td_boot.ts");
    assertEquals(asm!.file, "tools/testing/selftests/kvm/lib/x86/tdx/td_boot.S");
    assertEquals(asm!.marked, false);
    assertEquals(asm!.lines, [
      "\t/* CR3 first. */",
      "td_boot:",
      "\tmovl TD_PER_VCPU_PARAMETERS_CR3(%eax), %edi",
      "\tmovl %edi, %cr3",
    ]);
    const [kb] = await export_module(base, now, "lib/x86/tdx/td_boot_offsets.ts");
    assertEquals(kb!.file, "tools/testing/selftests/kvm/lib/x86/tdx/td_boot_offsets.c");
    assertEquals(kb!.lines, [
      "static void __attribute__((used)) common(void)",
      "{",
      "\tOFFSET(TD_PER_VCPU_PARAMETERS_ESP_GVA, t, esp_gva);",
      "\tOFFSET(TD_PER_VCPU_PARAMETERS_CR3, t, cr3);",
      "\tDEFINE(SIZEOF_TD_PER_VCPU_PARAMETERS, sizeof(struct td_per_vcpu_parameters));",
      "}",
    ]);
  } finally {
    await Deno.remove(base, { recursive: true });
    await Deno.remove(now, { recursive: true });
  }
});
