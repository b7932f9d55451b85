// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API as std; specs for `exists` and `existsSync`.
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { exists, type ExistsOptions, existsSync } from "./exists.ts";

async function both(path: string | URL, options?: ExistsOptions): Promise<boolean> {
  const result = await exists(path, options);
  assertEquals(existsSync(path, options), result, "existsSync() differs from exists()");
  return result;
}

Deno.test("exists() tells existing paths from missing ones", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_exists_" });
  try {
    const file = join(tmp, "file");
    Deno.writeTextFileSync(file, "");
    assertEquals(await both(file), true);
    assertEquals(await both(tmp), true);
    assertEquals(await both(pathToFileURL(file)), true);
    assertEquals(await both(join(tmp, "missing")), false);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("exists() follows symlinks, so a dangling link does not exist", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_exists_" });
  try {
    Deno.symlinkSync(join(tmp, "nowhere"), join(tmp, "dangling"));
    Deno.symlinkSync(tmp, join(tmp, "dir-link"));
    assertEquals(await both(join(tmp, "dangling")), false);
    assertEquals(await both(join(tmp, "dir-link"), { isDirectory: true }), true);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("exists() checks the kind with isFile / isDirectory", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_exists_" });
  try {
    const file = join(tmp, "file");
    Deno.writeTextFileSync(file, "");
    assertEquals(await both(file, { isFile: true }), true);
    assertEquals(await both(file, { isDirectory: true }), false);
    assertEquals(await both(tmp, { isDirectory: true }), true);
    assertEquals(await both(tmp, { isFile: true }), false);
    const message = "must not be true together";
    await assertRejects(
      () => exists(file, { isFile: true, isDirectory: true }),
      TypeError,
      message,
    );
    assertThrows(() => existsSync(file, { isFile: true, isDirectory: true }), TypeError, message);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("exists() with isReadable checks the mode bits that apply to the caller", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "std_exists_" });
  try {
    const file = join(tmp, "file");
    Deno.writeTextFileSync(file, "");
    Deno.chmodSync(file, 0o644);
    assertEquals(await both(file, { isReadable: true }), true);
    Deno.chmodSync(file, 0o000);
    assertEquals(await both(file, { isReadable: true }), false);
    assertEquals(await both(file), true);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});
