// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { mrtd_diff, mrtd_format, mrtd_run, ROOT } from "./mrtd.ts";

const PROGRAM = `// SPDX-License-Identifier: GPL-2.0-only
import {
  get_ucall, GUEST_DONE, kvm_vm_free, type kvm_vcpu, ref, TEST_ASSERT_EQ, UCALL_DONE,
  ucall_struct, vcpu_run, vm_create_shape_with_one_vcpu,
} from "../include/kvm_util.ts";
import { VM_SHAPE_TDX } from "../include/x86/processor.ts";
import { tdg_vp_vmcall_get_td_vmcall_info } from "../lib/x86/tdx/tdx.ts";

export function guest_code_probe(): void {
  /*COMMENT*/
  tdg_vp_vmcall_get_td_vmcall_info(null, null, null, null);
  if (/*LEAF*/0 > 1) GUEST_DONE();
  GUEST_DONE();
}

if (import.meta.main) {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_code_probe);
  vcpu_run(vcpu.value);
  TEST_ASSERT_EQ(get_ucall(vcpu.value, ucall_struct.alloc()), UCALL_DONE);
  kvm_vm_free(vm);
}
`;

/** A copy of this tree, to change without touching the real one. */
async function copy_tree(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mrtd_test_" });
  const cp = await new Deno.Command("cp", {
    args: [
      "-r",
      ...["include", "lib", "sim", "std", "tools", "x86", "deno.json"].map((p) => ROOT + p),
      dir,
    ],
  }).output();
  assert(cp.success, "cp failed");
  return dir;
}

async function edit(path: string, from: string | RegExp, to: string): Promise<void> {
  const text = await Deno.readTextFile(path);
  const next = text.replace(from, to);
  assertNotEquals(next, text, `${from} not found in ${path}`);
  await Deno.writeTextFile(path, next);
}

Deno.test("MRTD follows boot-parameter sizes and guest behaviour, not comments", async (t) => {
  const tree = await copy_tree();
  try {
    const prog = `${tree}/x86/mrtd_probe.ts`;
    await Deno.writeTextFile(prog, PROGRAM);
    const base = await mrtd_run(tree, "x86/mrtd_probe.ts", []);
    assertEquals(base.length, 1);
    assert(base[0]!.mrtd && /^[0-9a-f]{96}$/.test(base[0]!.mrtd));
    const log = mrtd_format(base).join("\n");
    assert(/0xfffff000 +ADD\+EXTEND x16 +20 +boot-code +[0-9a-f]{16} td_boot/.test(log), log);
    assert(/boot-parameters +[0-9a-f]{16} td_boot_parameters/.test(log), log);
    assert(/image-text +[0-9a-f]{16} code records: guest_code_probe/.test(log), log);
    assert(/image-text +[0-9a-f]{16} code records: idt_handler_0\.\.63/.test(log), log);

    await t.step("the same tree checked out elsewhere: same MRTD", async () => {
      const other = await copy_tree();
      try {
        await Deno.writeTextFile(`${other}/x86/mrtd_probe.ts`, PROGRAM);
        const there = await mrtd_run(other, "x86/mrtd_probe.ts", []);
        assertEquals(mrtd_diff(base, there), []);
        assertEquals(there[0]!.mrtd, base[0]!.mrtd);
      } finally {
        await Deno.remove(other, { recursive: true });
      }
    });

    await t.step("a comment and reformatting in a guest function: same MRTD", async () => {
      await Deno.writeTextFile(
        prog,
        PROGRAM.replace(
          "/*COMMENT*/",
          "// ask the VMM what it supports\n    //   (and nothing else)",
        )
          .replace("if (/*LEAF*/0 > 1)", "if (\n    0 >\n      1\n  )"),
      );
      const after = await mrtd_run(tree, "x86/mrtd_probe.ts", []);
      assertEquals(mrtd_diff(base, after), []);
      assertEquals(after[0]!.mrtd, base[0]!.mrtd);
    });

    await t.step("a changed constant in a guest function: MRTD differs at its page", async () => {
      await Deno.writeTextFile(prog, PROGRAM.replace("/*LEAF*/0 > 1", "/*LEAF*/0 > 2"));
      const after = await mrtd_run(tree, "x86/mrtd_probe.ts", []);
      const d = mrtd_diff(base, after);
      assertNotEquals(after[0]!.mrtd, base[0]!.mrtd);
      assertEquals(d.filter((l) => l.startsWith("  ")), [
        d.find((l) => l.includes("code records: guest_code_probe (content "))!,
      ]);
    });

    await t.step(
      "td_per_vcpu_parameters grows 16 -> 24 bytes: MRTD differs at the boot code",
      async () => {
        await Deno.writeTextFile(prog, PROGRAM);
        await edit(
          `${tree}/include/x86/tdx/td_boot.ts`,
          "{ esp_gva: u32, guest_code: u64 }",
          "{ esp_gva: u32, guest_code: u64, cr3: u64 }",
        );
        const gen = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "tools/gen.ts"],
          cwd: tree,
          stdout: "piped",
        }).output();
        assert(gen.success, "deno task gen failed in the copy");
        const offsets = await Deno.readTextFile(`${tree}/include/x86/tdx/td_boot_offsets.ts`);
        assert(/SIZEOF_TD_PER_VCPU_PARAMETERS\b.*24/.test(offsets), offsets);
        const after = await mrtd_run(tree, "x86/mrtd_probe.ts", []);
        assertNotEquals(after[0]!.mrtd, base[0]!.mrtd);
        const d = mrtd_diff(base, after);
        assert(d.some((l) => /~ 0xfffff000 boot-code: .*\(content /.test(l)), d.join("\n"));
      },
    );
  } finally {
    await Deno.remove(tree, { recursive: true });
  }
});
