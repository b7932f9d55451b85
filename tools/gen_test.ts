// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import { gen, render, TARGETS } from "./gen.ts";
import { c_declarations } from "../include/c/layout.ts";
import { td_boot_parameters } from "../include/x86/tdx/td_boot.ts";
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
    // Upstream's nine, plus any a prototype adds to lib/x86/tdx/td_boot_offsets.ts.
    assert(defines.length >= 9, `only ${defines.length} #defines in td_boot_offsets.h`);
    // td_boot.h's structs as the layout engine exports them (the one
    // definition, include/x86/tdx/td_boot.ts): gcc lays them out itself, and
    // every macro the generator wrote must match gcc's offsetof and sizeof.
    const c = `#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
${c_declarations([td_boot_parameters])}
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
        assertEquals(
          macro,
          truth,
          `${sym}: td_boot_offsets.h says ${macro}, gcc says ${truth}: run \`deno task gen\``,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
