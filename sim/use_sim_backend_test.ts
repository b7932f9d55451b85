// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertStringIncludes } from "@std/assert";

Deno.test("use_sim_backend pins only the file that imports it, not later files of the run", async () => {
  const dir = new URL("./testdata/", import.meta.url);
  // Both orders: a pin in an earlier file must not reach a later one, and the reverse.
  for (
    const files of [["pinned_module.ts", "unpinned_module.ts"], [
      "unpinned_module.ts",
      "pinned_module.ts",
    ]]
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      // --no-check: `deno task test` type-checks these files with every
      // module; checking them again here took 14 s on a cold cache.
      args: ["test", "-A", "--no-check", ...files.map((f) => new URL(f, dir).pathname)],
      // The kvm backend loads (libc through FFI) without touching /dev/kvm, so
      // this runs on machines without KVM too.
      env: { KVM_SELFTESTS_BACKEND: "kvm", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assertStringIncludes(text, "2 passed");
  }
});

Deno.test("every simulator test and benchmark that makes syscalls pins the simulator first", async () => {
  const root = new URL("./", import.meta.url);
  const missing: string[] = [];
  const walk = async (dir: URL): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(new URL(`${e.name}/`, dir));
      else if (/_(test|bench)\.ts$/.test(e.name) && e.name !== "use_sim_backend_test.ts") {
        const url = new URL(e.name, dir);
        const imports = (await Deno.readTextFile(url)).split("\n").filter((l) =>
          /^import\b/.test(l)
        );
        if (!imports.some((l) => l.includes("include/libc/syscall.ts"))) continue;
        if (!imports[0]?.includes("use_sim_backend.ts")) {
          missing.push(url.pathname.slice(root.pathname.length));
        }
      }
    }
  };
  await walk(root);
  assertEquals(missing, [], "first import must be use_sim_backend.ts");
});
