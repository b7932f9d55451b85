// SPDX-License-Identifier: GPL-2.0-only
/**
 * The `kvm` backend: the host's real `/dev/kvm`, reached with raw system
 * calls through Deno FFI.
 *
 * The calls go through a six-argument `syscall` trampoline (a few bytes of
 * x86-64 code in an executable page), not through libc's wrappers: the kernel
 * hands back `-errno` in RAX, which is exactly the `Backend` contract, and no
 * `errno` has to be read afterwards. Reading libc's `errno` with a second FFI
 * call is racy: the runtime may make its own system calls on the same thread
 * in between (a failing KVM_CREATE_GUEST_MEMFD was seen to report the EAGAIN
 * of some unrelated call). The same trampoline, declared `nonblocking`, gives
 * `ioctl_async`: KVM_RUN blocks a runtime thread, not the event loop, so
 * several vCPUs run at once as pthreads do in C.
 *
 * @module
 */

import type { Backend } from "./backend.ts";

/** x86-64 Linux system call numbers the backend makes. */
export const SYS = {
  read: 0n,
  write: 1n,
  open: 2n,
  close: 3n,
  fstat: 5n,
  mmap: 9n,
  munmap: 11n,
  madvise: 28n,
  ioctl: 16n,
  pread64: 17n,
  pwrite64: 18n,
  dup: 32n,
  eventfd2: 290n,
  getrlimit: 97n,
  setrlimit: 160n,
  fallocate: 285n,
} as const;

/**
 * `long raw_syscall(long nr, long a1, ..., long a6)`: moves the C arguments
 * into the kernel's syscall registers (RAX, RDI, RSI, RDX, R10, R8, R9; the
 * sixth argument is on the stack), executes `syscall` and returns RAX.
 */
const TRAMPOLINE = new Uint8Array([
  0x48,
  0x89,
  0xf8, // mov rax, rdi
  0x48,
  0x89,
  0xf7, // mov rdi, rsi
  0x48,
  0x89,
  0xd6, // mov rsi, rdx
  0x48,
  0x89,
  0xca, // mov rdx, rcx
  0x4d,
  0x89,
  0xc2, // mov r10, r8
  0x4d,
  0x89,
  0xc8, // mov r8, r9
  0x4c,
  0x8b,
  0x4c,
  0x24,
  0x08, // mov r9, [rsp + 8]
  0x0f,
  0x05, // syscall
  0xc3, // ret
]);

const SYSCALL_DEF = {
  parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
  result: "i64",
} as const;

type sys_fn = (nr: bigint, ...args: bigint[]) => bigint;
type sys_fn_async = (nr: bigint, ...args: bigint[]) => Promise<bigint>;

/** The raw system call entry, blocking and nonblocking; throws without `--allow-ffi`. */
export function open_syscall(): { syscall: sys_fn; syscall_async: sys_fn_async } {
  // libc's mmap is used once, to get an executable page for the trampoline.
  const libc = Deno.dlopen("libc.so.6", {
    mmap: { parameters: ["u64", "usize", "i32", "i32", "i32", "i64"], result: "u64" },
  });
  const PROT_RWX = 7, MAP_PRIVATE_ANONYMOUS = 0x22;
  const page = libc.symbols.mmap(0n, 4096n, PROT_RWX, MAP_PRIVATE_ANONYMOUS, -1, 0n);
  if (page === 0xffff_ffff_ffff_ffffn) throw new Error("Cannot map the syscall trampoline");
  const p = Deno.UnsafePointer.create(page)!;
  new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, TRAMPOLINE.length)).set(TRAMPOLINE);
  const NONBLOCKING_DEF = { ...SYSCALL_DEF, nonblocking: true } as const;
  const sync = new Deno.UnsafeFnPointer(
    p as Deno.PointerObject<Omit<typeof SYSCALL_DEF, "nonblocking">>,
    SYSCALL_DEF,
  );
  const nonblocking = new Deno.UnsafeFnPointer(
    p as Deno.PointerObject<Omit<typeof NONBLOCKING_DEF, "nonblocking">>,
    NONBLOCKING_DEF,
  );
  const pad = (args: bigint[]): bigint[] => [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6);
  return {
    syscall: (nr, ...args) => {
      const [a, b, c, d, e, f] = pad(args);
      return sync.call(nr, a!, b!, c!, d!, e!, f!) as bigint;
    },
    syscall_async: (nr, ...args) => {
      const [a, b, c, d, e, f] = pad(args);
      return nonblocking.call(nr, a!, b!, c!, d!, e!, f!) as Promise<bigint>;
    },
  };
}

/**
 * What runs a vCPU whose guest code is TypeScript (the guest runtime,
 * `lib/x86/guest_runtime_host.ts`): `KVM_RUN` on its fd goes to the hook,
 * which returns what the kernel's `KVM_RUN` returned for the next exit that
 * is not the runtime's own.
 */
export interface kvm_run_hook {
  /** `KVM_RUN`, blocking. */
  run(): number;
  /** `KVM_RUN` without blocking the event loop. */
  run_async(): Promise<number>;
  /** The fd is being closed. */
  release(): void;
}

const run_hooks = new Map<number, kvm_run_hook>();
/** `KVM_RUN`: `_IO(KVMIO, 0x80)`. */
const KVM_RUN_REQUEST = 0xae80;

/**
 * Routes `KVM_RUN` on `fd` through `hook` (null removes it). The hook is
 * dropped when the fd is closed through the backend.
 *
 * @param fd the vCPU fd
 * @param hook the hook, or null
 */
export function kvm_set_run_hook(fd: number, hook: kvm_run_hook | null): void {
  if (hook) run_hooks.set(fd, hook);
  else run_hooks.delete(fd);
}

/** The raw `KVM_RUN` ioctl on `fd`, bypassing any hook (the hooks' own entries). */
export function kvm_raw_run(fd: number): number {
  return Number(
    BigInt.asIntN(32, raw().syscall(SYS.ioctl, BigInt(fd), BigInt(KVM_RUN_REQUEST), 0n)),
  );
}

/** {@linkcode kvm_raw_run} without blocking the event loop. */
export async function kvm_raw_run_async(fd: number): Promise<number> {
  const r = await raw().syscall_async(SYS.ioctl, BigInt(fd), BigInt(KVM_RUN_REQUEST), 0n);
  return Number(BigInt.asIntN(32, r));
}

function raw(): ReturnType<typeof open_syscall> {
  if (sysOrError instanceof Error) throw sysOrError;
  return sysOrError;
}

/** The address of JavaScript memory, as the kernel must be given it. */
function addr(bytes: Uint8Array): bigint {
  const p = Deno.UnsafePointer.of(bytes);
  return p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
}

/** The `kvm` backend's calls beyond {@linkcode Backend}: the guest runtime's `KVM_RUN` hooks. */
export interface kvm_backend extends Backend {
  /** {@linkcode kvm_set_run_hook}. */
  set_run_hook(fd: number, hook: kvm_run_hook | null): void;
  /** {@linkcode kvm_raw_run}. */
  raw_run(fd: number): number;
  /** {@linkcode kvm_raw_run_async}. */
  raw_run_async(fd: number): Promise<number>;
}

function makeBackend(sys: ReturnType<typeof open_syscall>): kvm_backend {
  const { syscall, syscall_async } = sys;
  const int = (r: bigint): number => Number(BigInt.asIntN(32, r));
  // ioctl returns a long: keep it whole so that libc's -4095..-1 test sees the
  // kernel's value, not its low 32 bits (an int-truncated positive can look
  // like -errno). Past 2^53 only the low 32 bits can matter to the caller.
  const long = (r: bigint): number =>
    r >= -(1n << 53n) && r <= 1n << 53n ? Number(r) : Number(BigInt.asUintN(32, r)) + 2 ** 32;
  return {
    name: "kvm",
    open(path, flags, mode) {
      const s = new TextEncoder().encode(`${path}\0`);
      return int(syscall(SYS.open, addr(s), BigInt(flags), BigInt(mode)));
    },
    set_run_hook: kvm_set_run_hook,
    raw_run: kvm_raw_run,
    raw_run_async: kvm_raw_run_async,
    open_fds() {
      // /proc/self/fd names each file: only KVM's, so the runtime's own
      // descriptors (its event loop, module cache, pipes) are never listed.
      const out: number[] = [];
      try {
        for (const e of Deno.readDirSync("/proc/self/fd")) {
          let target: string;
          try {
            target = Deno.readLinkSync(`/proc/self/fd/${e.name}`);
          } catch {
            continue;
          }
          if (/^(\/dev\/kvm$|anon_inode:\[?kvm-)/.test(target)) out.push(Number(e.name));
        }
      } catch {
        // No procfs: nothing is listed, nothing is closed.
      }
      return out.sort((a, b) => a - b);
    },
    close(fd) {
      const hook = run_hooks.get(fd);
      if (hook) {
        run_hooks.delete(fd);
        hook.release();
      }
      return int(syscall(SYS.close, BigInt(fd)));
    },
    ioctl(fd, request, arg) {
      if (run_hooks.size !== 0 && (request >>> 0) === KVM_RUN_REQUEST) {
        const hook = run_hooks.get(fd);
        if (hook) return hook.run();
      }
      return long(syscall(SYS.ioctl, BigInt(fd), BigInt(request >>> 0), arg));
    },
    async ioctl_async(fd, request, arg) {
      if (run_hooks.size !== 0 && (request >>> 0) === KVM_RUN_REQUEST) {
        const hook = run_hooks.get(fd);
        if (hook) return await hook.run_async();
      }
      return long(await syscall_async(SYS.ioctl, BigInt(fd), BigInt(request >>> 0), arg));
    },
    mmap(a, length, prot, flags, fd, offset) {
      const r = syscall(SYS.mmap, a, length, BigInt(prot), BigInt(flags), BigInt(fd), offset);
      // The kernel returns -errno in [-4095, -1]; anything else is the address.
      return r < 0n && r >= -4095n ? r : BigInt.asUintN(64, r);
    },
    munmap: (a, length) => int(syscall(SYS.munmap, a, length)),
    madvise: (a, length, advice) =>
      int(
        syscall(SYS.madvise, BigInt.asIntN(64, a), BigInt.asIntN(64, length), BigInt(advice | 0)),
      ),
    fallocate: (fd, mode, offset, len) =>
      int(syscall(SYS.fallocate, BigInt(fd), BigInt(mode), offset, len)),
    read: (fd, buf, count) => syscall(SYS.read, BigInt(fd), buf, count),
    write: (fd, buf, count) => syscall(SYS.write, BigInt(fd), buf, count),
    pread: (fd, buf, count, offset) => syscall(SYS.pread64, BigInt(fd), buf, count, offset),
    pwrite: (fd, buf, count, offset) => syscall(SYS.pwrite64, BigInt(fd), buf, count, offset),
    fstat: (fd, statbuf) => int(syscall(SYS.fstat, BigInt(fd), statbuf)),
    dup: (fd) => int(syscall(SYS.dup, BigInt(fd))),
    eventfd: (initval, flags) =>
      int(syscall(SYS.eventfd2, BigInt(initval >>> 0), BigInt(flags | 0))),
    getrlimit(resource) {
      const rl = new BigUint64Array(2);
      const r = int(syscall(SYS.getrlimit, BigInt(resource), addr(new Uint8Array(rl.buffer))));
      return r < 0 ? r : [rl[0]!, rl[1]!];
    },
    setrlimit(resource, cur, max) {
      const rl = new BigUint64Array([cur, max]);
      return int(syscall(SYS.setrlimit, BigInt(resource), addr(new Uint8Array(rl.buffer))));
    },
    addr_of(buffer, offset) {
      return addr(new Uint8Array(buffer, offset));
    },
    user_memory(a, len) {
      if (a === 0n) return null;
      const p = Deno.UnsafePointer.create(a);
      if (p === null) return null;
      return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, len));
    },
  };
}

let sysOrError: ReturnType<typeof open_syscall> | Error;
try {
  sysOrError = open_syscall();
} catch (e) {
  sysOrError = e instanceof Error ? e : new Error(String(e));
}

/** The `kvm` backend; loading fails with the reason when FFI is unavailable (no `--allow-ffi`). */
export const backend: kvm_backend = (() => {
  if (sysOrError instanceof Error) {
    throw new Error(`Cannot reach the kernel for the kvm backend: ${sysOrError.message}`);
  }
  return makeBackend(sysOrError);
})();
