// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { gen, render, TARGETS } from "./gen.ts";
import { BLANK, COMMENT, DEFINE, filechk_offsets, kbuild_collect } from "./include/linux/kbuild.ts";

const gcc = (() => {
  try {
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test("the generated files are up to date (deno task gen --check)", async () => {
  assertEquals(await gen(true), []);
});

Deno.test("DEFINE stringizes its value argument from the call site, as C's #val does", () => {
  const e = kbuild_collect(() => {
    COMMENT("sizes");
    DEFINE("TWO_PAGES", 2 * 4096);
    BLANK();
  });
  assertEquals(filechk_offsets(e, "__X_H__").split("\n").slice(8, 11), [
    "/* sizes */",
    "#define TWO_PAGES 8192 /* 2 * 4096 */",
    "",
  ]);
});

Deno.test({
  name: `gcc agrees with every value of the generated td_boot_offsets.h${
    gcc ? "" : " (skipped: no gcc)"
  }`,
  ignore: !gcc,
  async fn() {
    const t = TARGETS.find((x) => x.h.endsWith("td_boot_offsets.h"))!;
    const header = (await render(t)).get(t.h)!;
    const defines = [...header.matchAll(/^#define (\w+) (\d+) \/\* (.*) \*\/$/gm)];
    assertEquals(defines.length, 9);
    // td_boot.h's structs written out in C, independent of the layout engine.
    const c = `#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
struct __attribute__((packed)) td_boot_parameters_dtr { uint16_t limit; uint32_t base; };
struct td_per_vcpu_parameters { uint32_t esp_gva; uint64_t guest_code; };
struct td_boot_parameters { uint32_t cr0; uint32_t cr3; uint32_t cr4;
  struct td_boot_parameters_dtr gdtr; struct td_boot_parameters_dtr idtr;
  struct td_per_vcpu_parameters per_vcpu[]; };
${header}
int main(void) {
${
      defines.map(([, sym, , expr]) =>
        `  printf("%s %d %d\\n", "${sym}", (int)(${sym}), (int)(${
          expr!.replace(/^sizeof\((\w+)\)$/, "sizeof(struct $1)")
        }));`
      ).join("\n")
    }
  return 0;
}
`;
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/t.c`, c);
      const cc = await new Deno.Command("gcc", { args: ["-o", `${dir}/t`, `${dir}/t.c`] }).output();
      assertEquals(cc.code, 0, new TextDecoder().decode(cc.stderr));
      const out = new TextDecoder().decode((await new Deno.Command(`${dir}/t`).output()).stdout);
      for (const line of out.trim().split("\n")) {
        const [sym, macro, truth] = line.split(" ");
        assertEquals(macro, truth, `${sym}: header says ${macro}, gcc says ${truth}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
