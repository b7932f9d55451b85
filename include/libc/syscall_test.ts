// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertStringIncludes } from "@std/assert";
import { EBADF, EFAULT, EINVAL, ENOTTY } from "../linux/errno.ts";
import { MAP_FAILED } from "../linux/mman.ts";
import { type Backend, backend, set_backend } from "./backend.ts";
import { errno_get, errno_set } from "./errno.ts";
import { close, ioctl, mmap, open, ptr, user_memory } from "./syscall.ts";
import { kvm_regs } from "../linux/kvm.ts";

/** A backend that records what reaches the kernel and answers from a script. */
function scripted(answers: { ioctl?: number; mmap?: bigint }): Backend & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  const addrs = new WeakMap<ArrayBufferLike, bigint>();
  let next = 0x7000_0000n;
  return {
    name: "scripted",
    calls,
    open: (path) => (path === "/dev/kvm" ? 3 : -2),
    close: (fd) => (fd === 3 ? 0 : -EBADF),
    ioctl: (fd, req, arg) => {
      calls.push([fd, req, arg]);
      return answers.ioctl ?? 0;
    },
    ioctl_async: (_fd, _req, _arg) => Promise.resolve(answers.ioctl ?? 0),
    mmap: () => answers.mmap ?? 0x1000n,
    munmap: () => 0,
    fallocate: () => 0,
    read: () => 0n,
    write: () => 0n,
    pread: () => 0n,
    pwrite: () => 0n,
    fstat: () => 0,
    dup: (fd) => fd + 1,
    eventfd: () => -EINVAL,
    madvise: () => 0,
    getrlimit: () => [1024n, 4096n],
    setrlimit: () => 0,
    addr_of: (buf, off) => {
      let a = addrs.get(buf);
      if (a === undefined) {
        a = next;
        next += 0x10000n;
        addrs.set(buf, a);
      }
      return a + BigInt(off);
    },
    user_memory: () => null,
  };
}

Deno.test("a failing syscall returns -1 and sets errno; a successful one leaves errno alone", () => {
  const saved = backend();
  try {
    set_backend(scripted({ ioctl: -ENOTTY }));
    errno_set(0);
    assertEquals(open("/nope", 2), -1);
    assertEquals(errno_get(), 2);
    assertEquals(open("/dev/kvm", 2), 3);
    assertEquals(errno_get(), 2, "success must not clear errno");
    assertEquals(ioctl(3, 0xae00), -1);
    assertEquals(errno_get(), ENOTTY);
    assertEquals(close(4), -1);
    assertEquals(errno_get(), EBADF);
  } finally {
    set_backend(saved);
  }
});

Deno.test("mmap() turns a -errno answer into MAP_FAILED", () => {
  const saved = backend();
  try {
    set_backend(scripted({ mmap: BigInt(-EINVAL) }));
    assertEquals(mmap(0n, 4096, 3, 0x22, -1, 0), MAP_FAILED);
    assertEquals(errno_get(), EINVAL);
    set_backend(scripted({ mmap: 0x7fff_0000_0000n }));
    assertEquals(mmap(0n, 4096, 3, 0x22, -1, 0), 0x7fff_0000_0000n);
  } finally {
    set_backend(saved);
  }
});

Deno.test("ioctl() passes numbers by value and structs, views and buffers by address", () => {
  const saved = backend();
  const b = scripted({});
  try {
    set_backend(b);
    const regs = kvm_regs.alloc();
    ioctl(3, 1, 42);
    ioctl(3, 2, regs);
    ioctl(3, 3, regs.$bytes);
    ioctl(3, 4, -1);
    assertEquals(b.calls[0]![2], 42n);
    assertEquals(b.calls[1]![2], ptr(regs));
    assertEquals(b.calls[2]![2], ptr(regs), "a view and its bytes are the same address");
    assertEquals(
      b.calls[3]![2],
      0xffff_ffff_ffff_ffffn,
      "an int argument is widened to unsigned long",
    );
  } finally {
    set_backend(saved);
  }
});

Deno.test("user_memory() faults like a wild pointer dereference when nothing is mapped", () => {
  const saved = backend();
  try {
    set_backend(scripted({}));
    let msg = "";
    try {
      user_memory(0xdead000n, 8);
    } catch (e) {
      msg = String(e);
    }
    assertStringIncludes(msg, "Segmentation fault");
    assertEquals(EFAULT, 14);
  } finally {
    set_backend(saved);
  }
});

async function importWithBackend(name: string): Promise<{ code: number; stderr: string }> {
  const url = new URL("./syscall.ts", import.meta.url).href;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["eval", `await import(${JSON.stringify(url)});`],
    env: { KVM_SELFTESTS_BACKEND: name },
    stdout: "null",
    stderr: "piped",
  });
  const out = await cmd.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("selecting an unknown backend fails with a clear error naming the known ones", async () => {
  const r = await importWithBackend("nosuch");
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, "Cannot select backend 'nosuch': known backends are 'sim'");
});

Deno.test("libc's rule: only raw returns in -4095..-1 are -errno; others are the long cut to int", () => {
  const saved = backend();
  try {
    const cases: [number, number, number][] = [
      // [raw long from the kernel, what ioctl() returns, errno afterwards (7 = untouched)]
      [-1, -1, 1],
      [-4095, -1, 4095],
      [-4096, -4096, 7],
      [-154_596_536, -154_596_536, 7],
      [4_140_370_760, -154_596_536, 7],
      [2 ** 32 + 5, 5, 7],
      [2 ** 32 - 1, -1, 7],
      [0x7fff_ffff, 0x7fff_ffff, 7],
    ];
    for (const [raw, want, want_errno] of cases) {
      set_backend(scripted({ ioctl: raw }));
      errno_set(7);
      assertEquals(ioctl(3, 0xae00), want, `raw ${raw}`);
      assertEquals(errno_get(), want_errno, `errno after raw ${raw}`);
    }
  } finally {
    set_backend(saved);
  }
});
