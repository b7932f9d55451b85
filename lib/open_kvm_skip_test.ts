// SPDX-License-Identifier: GPL-2.0-only
/**
 * Without access to `/dev/kvm` a selftest skips with kselftest's line and
 * hint (`__open_path_or_exit()` in `kvm_util.c`) and exit status 4, never fails.
 *
 * @module
 */

import { assertEquals, assertStringIncludes } from "@std/assert";
import { EACCES, ENOENT } from "../include/linux/errno.ts";

const KSFT_SKIP = 4;
const EACCES_LINE = "1..0 # SKIP - Cannot open '/dev/kvm': Permission denied.  Root required?\n";
const ENOENT_LINE =
  "1..0 # SKIP - Cannot open '/dev/kvm': No such file or directory.  Is KVM loaded and enabled?\n";

async function run(cmd: string, args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const fixture = new URL("./testdata/open_kvm_fails.ts", import.meta.url).pathname;

for (const [errno, line] of [[EACCES, EACCES_LINE], [ENOENT, ENOENT_LINE]] as const) {
  Deno.test(`kvm backend: open(/dev/kvm) failing with errno ${errno} skips: ${line.trim()}`, async () => {
    const r = await run(Deno.execPath(), ["run", "-A", fixture, String(errno)], {
      KVM_SELFTESTS_BACKEND: "kvm",
    });
    assertEquals(r.code, KSFT_SKIP, r.stdout + r.stderr);
    assertStringIncludes(r.stdout, line);
  });
}

/**
 * How this machine can run a real selftest without access to the real
 * `/dev/kvm`, or why it cannot: as this user when it has no access already,
 * or as `nobody` when root and the device is closed to other users.
 */
function unprivileged(): { as_root: boolean } | string {
  let mode: number | null;
  try {
    mode = Deno.statSync("/dev/kvm").mode;
  } catch {
    mode = null; // Missing: any user gets ENOENT.
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    return "no --allow-sys";
  }
  if (uid !== 0) {
    try {
      Deno.openSync("/dev/kvm", { read: true, write: true }).close();
      return "this user can open /dev/kvm and is not root, so it cannot become one who cannot";
    } catch {
      return { as_root: false };
    }
  }
  if (mode !== null && (mode & 0o006) !== 0) return "/dev/kvm is open to every user";
  try {
    Deno.statSync("/usr/sbin/runuser");
  } catch {
    return "no runuser to become nobody";
  }
  return { as_root: true };
}

const how = unprivileged();

Deno.test({
  name: `a selftest run by a user without access to /dev/kvm skips with the hint${
    typeof how === "string" ? ` (skipped: ${how})` : ""
  }`,
  ignore: typeof how === "string",
  async fn() {
    if (typeof how === "string") return;
    const prog = new URL("../x86/kvm_create_max_vcpus.ts", import.meta.url).pathname;
    const env = { KVM_SELFTESTS_BACKEND: "kvm" };
    let r;
    if (!how.as_root) {
      r = await run(Deno.execPath(), ["run", "-A", prog], env);
    } else {
      // nobody cannot reach the deno binary under root's home, nor root's
      // module cache: a link to the binary and a cache of its own, in a
      // directory it can read.
      const dir = await Deno.makeTempDir();
      try {
        await Deno.chmod(dir, 0o755);
        const deno = `${dir}/deno`;
        try {
          await Deno.link(Deno.execPath(), deno);
        } catch {
          await Deno.copyFile(Deno.execPath(), deno);
        }
        await Deno.mkdir(`${dir}/cache`);
        await Deno.chown(`${dir}/cache`, 65534, null);
        r = await run("/usr/sbin/runuser", [
          "-u",
          "nobody",
          "--",
          "/usr/bin/env",
          `DENO_DIR=${dir}/cache`,
          "KVM_SELFTESTS_BACKEND=kvm",
          deno,
          "run",
          "-A",
          prog,
        ], {});
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
    assertEquals(r.code, KSFT_SKIP, r.stdout + r.stderr);
    let exists = true;
    try {
      Deno.statSync("/dev/kvm");
    } catch {
      exists = false;
    }
    assertStringIncludes(r.stdout, exists ? EACCES_LINE : ENOENT_LINE);
  },
});
