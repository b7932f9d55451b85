// SPDX-License-Identifier: GPL-2.0-only
/**
 * The `kvm` backend: the host's real `/dev/kvm`, reached through the C
 * library by `Deno.dlopen`. Every call is the libc function of the same name;
 * `errno` is read through `__errno_location()` right after a failing call, on
 * the thread that made it, and handed back as `-errno` like the raw syscall.
 *
 * `ioctl_async` (how several vCPUs run at once, as pthreads do in C) runs the
 * ioctl synchronously on a worker thread of its own, because a nonblocking FFI
 * call runs on a runtime thread whose `errno` cannot be read afterwards.
 *
 * @module
 */

import type { Backend } from "./backend.ts";

/** The libc symbols the backend calls; `ioctl` is variadic in C, called here with one pointer-sized argument as the x86-64 SysV ABI allows. */
export const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "u64"], result: "i32" },
  mmap: { parameters: ["u64", "usize", "i32", "i32", "i32", "i64"], result: "u64" },
  munmap: { parameters: ["u64", "usize"], result: "i32" },
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  read: { parameters: ["i32", "u64", "usize"], result: "isize" },
  write: { parameters: ["i32", "u64", "usize"], result: "isize" },
  pread: { parameters: ["i32", "u64", "usize", "i64"], result: "isize" },
  pwrite: { parameters: ["i32", "u64", "usize", "i64"], result: "isize" },
  fstat: { parameters: ["i32", "u64"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The opened C library. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** Opens glibc; throws when FFI is not permitted or libc cannot be found. */
export function open_libc(): Libc {
  return Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
}

/** Reads the calling thread's `errno`. */
export function read_errno(libc: Libc): number {
  const p = libc.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function makeBackend(libc: Libc): Backend {
  const neg = (r: number): number => (r === -1 ? -read_errno(libc) : r);
  const negBig = (r: bigint): bigint => (r === -1n ? BigInt(-read_errno(libc)) : r);
  const cstr = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);
  let asyncWorkers: AsyncIoctl[] = [];

  return {
    name: "kvm",
    open: (path, flags, mode) => neg(libc.open(cstr(path), flags, mode)),
    close: (fd) => neg(libc.close(fd)),
    ioctl: (fd, request, arg) => neg(libc.ioctl(fd, BigInt(request), arg)),
    ioctl_async(fd, request, arg) {
      const w = asyncWorkers.find((x) => !x.busy) ?? new AsyncIoctl();
      if (!asyncWorkers.includes(w)) asyncWorkers = [...asyncWorkers, w];
      return w.call(fd, request, arg);
    },
    mmap(addr, length, prot, flags, fd, offset) {
      const r = libc.mmap(addr, length, prot, flags, fd, offset);
      // MAP_FAILED is (void *)-1, which reads back as 2^64 - 1.
      return r === 0xffff_ffff_ffff_ffffn ? BigInt(-read_errno(libc)) : r;
    },
    munmap: (addr, length) => neg(libc.munmap(addr, length)),
    fallocate: (fd, mode, offset, len) => neg(libc.fallocate(fd, mode, offset, len)),
    read: (fd, buf, count) => negBig(libc.read(fd, buf, count)),
    write: (fd, buf, count) => negBig(libc.write(fd, buf, count)),
    pread: (fd, buf, count, offset) => negBig(libc.pread(fd, buf, count, offset)),
    pwrite: (fd, buf, count, offset) => negBig(libc.pwrite(fd, buf, count, offset)),
    fstat: (fd, statbuf) => neg(libc.fstat(fd, statbuf)),
    dup: (fd) => neg(libc.dup(fd)),
    getrlimit(resource) {
      const rl = new BigUint64Array(2);
      const r = libc.getrlimit(resource, rl);
      return r === -1 ? -read_errno(libc) : [rl[0]!, rl[1]!];
    },
    setrlimit: (resource, cur, max) =>
      neg(libc.setrlimit(resource, new BigUint64Array([cur, max]))),
    addr_of(buffer, offset) {
      const p = Deno.UnsafePointer.of(new Uint8Array(buffer, offset));
      return p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
    },
    user_memory(addr, len) {
      if (addr === 0n) return null;
      const p = Deno.UnsafePointer.create(addr);
      if (p === null) return null;
      return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len));
    },
  };
}

/** One worker thread that makes blocking ioctls and reports `-errno` from its own thread. */
class AsyncIoctl {
  busy = false;
  readonly #worker: Worker;
  readonly #ctl = new BigInt64Array(new SharedArrayBuffer(40));
  readonly #i32 = new Int32Array(this.#ctl.buffer);

  constructor() {
    this.#worker = new Worker(new URL("./kvm_backend_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.postMessage(this.#ctl.buffer);
    // The worker only ever waits on shared memory: never keep the process alive for it.
    (this.#worker as unknown as { unref?: () => void }).unref?.();
  }

  async call(fd: number, request: number, arg: bigint): Promise<number> {
    this.busy = true;
    try {
      this.#ctl[1] = BigInt(fd);
      this.#ctl[2] = BigInt(request);
      this.#ctl[3] = arg;
      Atomics.store(this.#i32, 0, 1);
      Atomics.notify(this.#i32, 0);
      for (;;) {
        const w = Atomics.waitAsync(this.#i32, 0, 1);
        if (w.async) await w.value;
        if (Atomics.load(this.#i32, 0) === 2) break;
      }
      const r = Number(this.#ctl[4]);
      Atomics.store(this.#i32, 0, 0);
      return r;
    } finally {
      this.busy = false;
    }
  }
}

let libcOrError: Libc | Error | undefined;
try {
  libcOrError = open_libc();
} catch (e) {
  libcOrError = e instanceof Error ? e : new Error(String(e));
}

/** The `kvm` backend; loading fails with the reason when libc cannot be opened (no `--allow-ffi`). */
export const backend: Backend = (() => {
  if (libcOrError instanceof Error) {
    throw new Error(`Cannot open libc for the kvm backend: ${libcOrError.message}`);
  }
  return makeBackend(libcOrError as Libc);
})();
