// SPDX-License-Identifier: GPL-2.0-only
/**
 * The kernel behind the syscall boundary. The library reaches "the kernel"
 * only through the raw syscalls below, with real ioctl numbers and byte-exact
 * structs in user memory, so the same library code runs on every backend:
 *
 * - `sim` (default): the simulated KVM + TDX machine in `sim/`, in-process;
 * - `kvm`: the host's `/dev/kvm` through libc, by `Deno.dlopen`.
 *
 * The backend is chosen once per process (and inherited by vCPU workers) by
 * the `KVM_SELFTESTS_BACKEND` environment variable; the selftest runner's
 * `--backend` flag sets it for the programs it starts.
 *
 * @module
 */

/**
 * Raw syscalls as the kernel implements them: a negative return is `-errno`,
 * exactly what the syscall instruction hands back to libc. `lib/libc/syscall.ts`
 * turns that into C's `-1` + `errno`.
 */
export interface Backend {
  /** The name the backend is selected by. */
  readonly name: string;
  /** `open(2)`: an fd, or `-errno`. */
  open(path: string, flags: number, mode: number): number;
  /** `close(2)`. */
  close(fd: number): number;
  /**
   * `ioctl(2)`: `arg` is the unsigned long the kernel receives (a value or a
   * user address). The result is the kernel's raw `long`; one beyond 2^53 in
   * magnitude may be given as any number with the same low 32 bits that is
   * not in -4095..-1, since libc's `int` keeps only those.
   */
  ioctl(fd: number, request: number, arg: bigint): number;
  /**
   * `ioctl(2)` for calls that block in the kernel (`KVM_RUN`): the promise
   * settles when the call returns, and other JavaScript (other vCPUs) runs meanwhile.
   */
  ioctl_async(fd: number, request: number, arg: bigint): Promise<number>;
  /** `mmap(2)`: the mapped address, or `-errno` as a bigint. */
  mmap(
    addr: bigint,
    length: bigint,
    prot: number,
    flags: number,
    fd: number,
    offset: bigint,
  ): bigint;
  /** `munmap(2)`. */
  munmap(addr: bigint, length: bigint): number;
  /** `madvise(2)`: 0, or `-errno`. */
  madvise(addr: bigint, length: bigint, advice: number): number;
  /** `fallocate(2)`. */
  fallocate(fd: number, mode: number, offset: bigint, len: bigint): number;
  /** `read(2)` into user memory at `buf`. */
  read(fd: number, buf: bigint, count: bigint): bigint;
  /** `write(2)` from user memory at `buf`. */
  write(fd: number, buf: bigint, count: bigint): bigint;
  /** `pread(2)` into user memory at `buf`. */
  pread(fd: number, buf: bigint, count: bigint, offset: bigint): bigint;
  /** `pwrite(2)` from user memory at `buf`. */
  pwrite(fd: number, buf: bigint, count: bigint, offset: bigint): bigint;
  /** `fstat(2)`: fills the `struct stat` at user address `statbuf`. */
  fstat(fd: number, statbuf: bigint): number;
  /** `dup(2)`: a new descriptor for the same open file. */
  dup(fd: number): number;
  /** `eventfd2(2)`: a new eventfd with counter `initval`, or `-errno`. */
  eventfd(initval: number, flags: number): number;
  /** `getrlimit(2)`: `[rlim_cur, rlim_max]`, or `-errno`. */
  getrlimit(resource: number): [bigint, bigint] | number;
  /** `setrlimit(2)`. */
  setrlimit(resource: number, cur: bigint, max: bigint): number;
  /** The user address of JavaScript memory, valid while the buffer is alive. */
  addr_of(buffer: ArrayBufferLike, offset: number): bigint;
  /**
   * A view of `len` bytes of user memory at `addr` that aliases it (writes
   * go through), or `null` when the range is not mapped.
   */
  user_memory(addr: bigint, len: number): Uint8Array | null;
  /**
   * What the process has left running that a finished test must not leave:
   * one line per leak (the simulator's vCPU workers still alive). A backend
   * whose kernel reclaims everything on close (the real one) has none.
   */
  leaks?(): string[];
  /**
   * The open descriptors that stand for kernel objects a test creates and a
   * process's exit releases (on the real kernel: `/dev/kvm` and KVM's
   * anonymous inodes, never the runtime's own files). A harness that runs
   * several tests in one process closes the ones a test left open, as the
   * C child's exit would.
   */
  open_fds?(): number[];
}

/** How each backend is loaded; loading is lazy so a missing one costs nothing until chosen. */
const loaders: Record<string, () => Promise<{ backend: Backend }>> = {
  sim: () => import("../../sim/backend.ts"),
  kvm: () => import("./kvm_backend.ts"),
};

/** The environment variable that selects the backend. */
export const BACKEND_ENV = "KVM_SELFTESTS_BACKEND";

/** The backend used when none is selected. */
export const DEFAULT_BACKEND = "sim";

/** Thrown when the selected backend does not exist or cannot be loaded. */
export class BackendError extends Error {
  /** @param message what went wrong, naming the backend */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendError";
  }
}

/** The names of the backends this build knows. */
export function backend_names(): string[] {
  return Object.keys(loaders);
}

/** The backend name selected by the environment. */
export function selected_backend_name(): string {
  let name: string | undefined;
  try {
    name = Deno.env.get(BACKEND_ENV);
  } catch {
    // Without --allow-env the default applies, as it does when the variable is unset.
  }
  return name && name.length > 0 ? name : DEFAULT_BACKEND;
}

/** Loads a backend by name. */
export async function load_backend(name: string): Promise<Backend> {
  const loader = loaders[name];
  if (!loader) {
    throw new BackendError(
      `Cannot select backend '${name}': known backends are ${
        backend_names().map((n) => `'${n}'`).join(", ")
      }`,
    );
  }
  try {
    return (await loader()).backend;
  } catch (e) {
    throw new BackendError(`Cannot load backend '${name}': ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
}

let current: Backend | undefined;

/** Replaces the process's backend (tests of the boundary itself; differential checks). */
export function set_backend(b: Backend): void {
  current = b;
}

/** The process's backend; loaded from the environment's choice on first use. */
export async function init_backend(): Promise<Backend> {
  current ??= await load_backend(selected_backend_name());
  return current;
}

/** The process's backend, which `init_backend` (run when `syscall.ts` loads) has set. */
export function backend(): Backend {
  if (!current) throw new BackendError("No backend loaded: import lib/libc/syscall.ts first");
  return current;
}

/**
 * Throws when the backend reports leaks ({@linkcode Backend.leaks}): the
 * harness calls it after each in-process test has released what it left
 * open, as a sanitizer would, so a test that leaves a vCPU thread running
 * fails instead of burning a core for the rest of the run.
 */
export function assert_no_leaks(): void {
  const leaks = current?.leaks?.() ?? [];
  if (leaks.length > 0) {
    throw new Error(`The test left vCPU threads alive:\n  ${leaks.join("\n  ")}`);
  }
}
