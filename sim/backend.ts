// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated machine's syscall entry points: the `sim` backend of
 * `include/libc/backend.ts`. Each syscall resolves its descriptor in the
 * simulated process's descriptor table and calls the file's operations, with
 * the VFS's errnos where an operation is missing (`ENOTTY` for ioctl,
 * `ENODEV` for mmap, ...), exactly as the kernel's syscall layer does.
 *
 * Nothing a caller passes makes a syscall throw: bad input gets the kernel's
 * errno. Two exceptions propagate, to fail the test loudly: a JavaScript
 * exception inside the simulated kernel ({@linkcode SimulatorBugError}, a
 * simulator defect), and {@linkcode GuestCodeError}, raised by KVM_RUN when
 * guest code throws.
 *
 * @module
 */

import type { Backend } from "../include/libc/backend.ts";
import type { kvm_run_hook } from "../include/libc/kvm_backend.ts";
import {
  EBADF,
  EFBIG,
  EINVAL,
  ENODEV,
  ENOENT,
  ENOTTY,
  EOPNOTSUPP,
  EPERM,
  ESPIPE,
} from "../include/linux/errno.ts";
import { stat } from "../include/asm/stat.ts";
import {
  FALLOC_FL_COLLAPSE_RANGE,
  FALLOC_FL_INSERT_RANGE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_UNSHARE_RANGE,
  FALLOC_FL_WRITE_ZEROES,
  FALLOC_FL_ZERO_RANGE,
} from "../include/linux/falloc.ts";
import { O_ACCMODE, O_RDONLY } from "../include/linux/fcntl.ts";
import { do_vfs_ioctl } from "./kernel/fs/ioctl.ts";
import { MAP_ANONYMOUS } from "../include/linux/mman.ts";
import { file, fput, get_file, NR_OPEN_MAX } from "./kernel/fs/file.ts";
import { RLIM_INFINITY, RLIMIT_NOFILE } from "../include/linux/resource.ts";

/** The number of resource limits Linux has (`RLIM_NLIMITS`). */
const RLIM_NLIMITS = 16;
import { open_pseudo_file } from "./kernel/fs/pseudo.ts";
import { ksys_pread64, ksys_read } from "./kernel/fs/read_write.ts";
import { do_eventfd } from "./kernel/fs/eventfd.ts";
import { current } from "./kernel/include/linux/sched.ts";
import { PAGE_ALIGNED, user_addr } from "./kernel/mm/mmap.ts";
import { file_to_kvm, kvm_chardev_ops } from "./kernel/virt/kvm/kvm_main.ts";
import { is_gmem_file } from "./kernel/virt/kvm/guest_memfd.ts";
import { GuestCodeError, vcpu_threads_alive } from "./cpu/vcpu_thread.ts";
import { set_exe_file } from "./kernel/include/linux/sched.ts";

export { GuestCodeError, set_exe_file };

/** `KVM_RUN`: `_IO(KVMIO, 0x80)`. */
const KVM_RUN_REQUEST = 0xae80;

/**
 * `KVM_RUN` hooks, as the kvm backend has them (`kvm_set_run_hook`): the
 * guest runtime (`lib/x86/guest_runtime_host.ts`) routes `KVM_RUN` of a
 * TD's vCPU through one when its TypeScript guest code runs through the
 * machine-code runtime on the simulated CPU.
 */
const run_hooks = new Map<number, kvm_run_hook>();

/** The `sim` backend's calls beyond {@linkcode Backend}: the guest runtime's hooks. */
export interface sim_backend extends Backend {
  /** Routes `KVM_RUN` on vCPU fd `fd` through `hook` (null removes it); dropped at close. */
  set_run_hook(fd: number, hook: kvm_run_hook | null): void;
  /** `KVM_RUN` on `fd`, bypassing any hook. */
  raw_run(fd: number): number;
  /** {@linkcode sim_backend.raw_run} without blocking the event loop. */
  raw_run_async(fd: number): Promise<number>;
  /**
   * Makes the vCPUs of the VM `vm_fd` execute machine code only: they import
   * no guest image, so a code record is the `ud2` its magic begins with, as
   * on a real CPU (the guest runtime then runs the TypeScript function).
   * Takes effect for vCPUs created afterwards. 0, or `-EBADF` when `vm_fd`
   * is no VM.
   */
  set_vm_machine_code_only(vm_fd: number): number;
}

/**
 * A JavaScript exception inside the simulated kernel: a simulator defect,
 * never an errno. It propagates out of the syscall to fail the test that
 * made the call, with the kernel-side stack, while the process goes on (a
 * `-EIO` here would let a test that expects EIO pass over the crash).
 */
export class SimulatorBugError extends Error {
  /**
   * @param call the syscall that hit the defect
   * @param cause the exception thrown inside the simulated kernel
   */
  constructor(call: string, cause: unknown) {
    super(
      `sim: BUG in the simulated kernel during ${call}: ${
        cause instanceof Error ? cause.stack ?? cause.message : String(cause)
      }`,
      { cause },
    );
    this.name = "SimulatorBugError";
  }
}

function bug(e: unknown, call = "a system call"): never {
  if (e instanceof GuestCodeError || e instanceof SimulatorBugError) throw e;
  throw new SimulatorBugError(call, e);
}

/** An ioctl result must be the kernel's `long`: anything else is a simulator defect. */
function long_result(r: unknown): number {
  if (typeof r !== "number" || !Number.isSafeInteger(r)) {
    throw new TypeError(`the ioctl handler returned ${String(r)}, not a long`);
  }
  return r;
}

function fget(fd: number): file | undefined {
  return Number.isInteger(fd) && fd >= 0 ? current.files.lookup(fd) : undefined;
}

const FALLOC_FL_MODE_MASK = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE |
  FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE | FALLOC_FL_UNSHARE_RANGE |
  FALLOC_FL_WRITE_ZEROES;

/** `vfs_fallocate()`: the generic checks, then the file's operation. */
function vfs_fallocate(f: file, mode: number, offset: bigint, len: bigint): number {
  if (offset < 0n || len <= 0n) return -EINVAL;
  if (mode & ~(FALLOC_FL_MODE_MASK | FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  switch (mode & FALLOC_FL_MODE_MASK) {
    case 0:
    case FALLOC_FL_UNSHARE_RANGE:
    case FALLOC_FL_ZERO_RANGE:
      break;
    case FALLOC_FL_PUNCH_HOLE:
      if (!(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
      break;
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
    case FALLOC_FL_WRITE_ZEROES:
      if (mode & FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
      break;
    default:
      return -EOPNOTSUPP;
  }
  if ((f.f_flags & O_ACCMODE) === O_RDONLY) return -EBADF;
  // Only regular files can be allocated; KVM's anonymous inodes are not.
  if (!is_gmem_file(f)) return -ENODEV;
  if (offset + len > 0x7fffffffffffffffn) return -EFBIG;
  if (!f.f_op.fallocate) return -EOPNOTSUPP;
  return f.f_op.fallocate(f, mode, offset, len);
}

/** `ioctl(2)`: the VFS's ioctls, then the file's. */
function sim_ioctl(fd: number, request: number, arg: bigint): number {
  const f = fget(fd);
  if (!f) return -EBADF;
  try {
    const vfs = do_vfs_ioctl(f, request >>> 0, arg);
    if (vfs !== null) return vfs;
    const op = f.f_op.unlocked_ioctl;
    if (!op) return -ENOTTY;
    return long_result(op(f, request >>> 0, arg));
  } catch (e) {
    return bug(e, "ioctl()");
  }
}

/** {@linkcode sim_ioctl} for calls that block (`KVM_RUN`). */
async function sim_ioctl_async(fd: number, request: number, arg: bigint): Promise<number> {
  const f = fget(fd);
  if (!f) return -EBADF;
  try {
    const vfs = do_vfs_ioctl(f, request >>> 0, arg);
    if (vfs !== null) return vfs;
    const op = f.f_op.unlocked_ioctl_async ?? f.f_op.unlocked_ioctl;
    if (!op) return -ENOTTY;
    return long_result(await op(f, request >>> 0, arg));
  } catch (e) {
    return bug(e, "ioctl()");
  }
}

/** The simulated machine's syscall entry points. */
export const backend: sim_backend = {
  name: "sim",

  set_run_hook(fd: number, hook: kvm_run_hook | null): void {
    if (hook) run_hooks.set(fd, hook);
    else run_hooks.delete(fd);
  },

  raw_run(fd: number): number {
    return sim_ioctl(fd, KVM_RUN_REQUEST, 0n);
  },

  raw_run_async(fd: number): Promise<number> {
    return sim_ioctl_async(fd, KVM_RUN_REQUEST, 0n);
  },

  set_vm_machine_code_only(vm_fd: number): number {
    const f = fget(vm_fd);
    const k = f ? file_to_kvm(f) : null;
    if (!k) return -EBADF;
    k.arch.images = [];
    return 0;
  },

  open(path: string, flags: number, _mode: number): number {
    try {
      let f: file | null;
      if (path === "/dev/kvm") f = new file(kvm_chardev_ops, null, flags);
      else f = open_pseudo_file(path, flags);
      if (!f) return -ENOENT;
      return current.files.fd_install(f);
    } catch (e) {
      return bug(e, "open()");
    }
  },

  close(fd: number): number {
    try {
      const hook = run_hooks.get(fd);
      if (hook) {
        run_hooks.delete(fd);
        hook.release();
      }
      return current.files.close_fd(fd);
    } catch (e) {
      return bug(e, "close()");
    }
  },

  ioctl(fd: number, request: number, arg: bigint): number {
    if (run_hooks.size !== 0 && (request >>> 0) === KVM_RUN_REQUEST) {
      const hook = run_hooks.get(fd);
      if (hook) return hook.run();
    }
    return sim_ioctl(fd, request, arg);
  },

  async ioctl_async(fd: number, request: number, arg: bigint): Promise<number> {
    if (run_hooks.size !== 0 && (request >>> 0) === KVM_RUN_REQUEST) {
      const hook = run_hooks.get(fd);
      if (hook) return await hook.run_async();
    }
    return await sim_ioctl_async(fd, request, arg);
  },

  mmap(addr: bigint, length: bigint, prot: number, flags: number, fd: number, offset: bigint) {
    try {
      // The x86-64 mmap syscall refuses an offset that is not page aligned first.
      if (!PAGE_ALIGNED(offset)) return BigInt(-EINVAL);
      let f: file | null = null;
      if (!(flags & MAP_ANONYMOUS)) {
        f = fget(fd) ?? null;
        if (!f) return BigInt(-EBADF);
      }
      return BigInt(current.mm.do_mmap(addr, length, prot, flags, f, offset));
    } catch (e) {
      return bug(e, "mmap()");
    }
  },

  munmap(addr: bigint, length: bigint): number {
    try {
      const a = user_addr(addr);
      if (a < 0 || length > BigInt(Number.MAX_SAFE_INTEGER)) return -EINVAL;
      return current.mm.do_munmap(a, Number(length));
    } catch (e) {
      return bug(e, "munmap()");
    }
  },

  madvise(addr: bigint, length: bigint, advice: number): number {
    try {
      return current.mm.do_madvise(addr, length, advice, vfs_fallocate);
    } catch (e) {
      return bug(e, "madvise()");
    }
  },

  fallocate(fd: number, mode: number, offset: bigint, len: bigint): number {
    const f = fget(fd);
    if (!f) return -EBADF;
    try {
      return vfs_fallocate(f, mode, offset, len);
    } catch (e) {
      return bug(e, "fallocate()");
    }
  },

  read(fd: number, buf: bigint, count: bigint): bigint {
    const f = fget(fd);
    if (!f) return BigInt(-EBADF);
    try {
      return ksys_read(f, buf, count);
    } catch (e) {
      return bug(e, "read()");
    }
  },

  write(fd: number, buf: bigint, count: bigint): bigint {
    const f = fget(fd);
    if (!f) return BigInt(-EBADF);
    if ((f.f_flags & O_ACCMODE) === O_RDONLY) return BigInt(-EBADF);
    try {
      return f.f_op.write ? f.f_op.write(f, buf, count) : BigInt(-EINVAL);
    } catch (e) {
      return bug(e, "write()");
    }
  },

  pread(fd: number, buf: bigint, count: bigint, offset: bigint): bigint {
    // ksys_pread64(): a negative offset first, then files without
    // FMODE_PREAD (guest_memfd and the other KVM files but the stats fds) are ESPIPE.
    if (offset < 0n) return BigInt(-EINVAL);
    const f = fget(fd);
    if (!f) return BigInt(-EBADF);
    try {
      return ksys_pread64(f, buf, count, offset);
    } catch (e) {
      return bug(e, "pread()");
    }
  },

  pwrite(fd: number, _buf: bigint, _count: bigint, offset: bigint): bigint {
    if (offset < 0n) return BigInt(-EINVAL);
    return fget(fd) ? BigInt(-ESPIPE) : BigInt(-EBADF);
  },

  fstat(fd: number, statbuf: bigint): number {
    const f = fget(fd);
    if (!f) return -EBADF;
    try {
      const st = stat.alloc();
      st.st_ino = f.f_ino;
      st.st_nlink = 1n;
      st.st_mode = f.f_op.mode ?? 0o600;
      st.st_size = f.f_op.size ? f.f_op.size(f) : 0n;
      st.st_blksize = 4096n;
      st.st_blocks = 0n;
      return current.mm.copy_to_user(statbuf, st.$bytes);
    } catch (e) {
      return bug(e, "fstat()");
    }
  },

  eventfd(initval: number, flags: number): number {
    const f = do_eventfd(initval, flags);
    if (typeof f === "number") return f;
    const fd = current.files.fd_install(f);
    if (fd < 0) fput(f);
    return fd;
  },

  dup(fd: number): number {
    const f = fget(fd);
    if (!f) return -EBADF;
    const nfd = current.files.fd_install(get_file(f));
    if (nfd < 0) fput(f);
    return nfd;
  },

  getrlimit(resource: number): [bigint, bigint] | number {
    // Only RLIMIT_NOFILE means anything to the simulated process; the others read as unlimited.
    if (!Number.isInteger(resource) || resource < 0 || resource >= RLIM_NLIMITS) return -EINVAL;
    if (resource !== RLIMIT_NOFILE) return [RLIM_INFINITY, RLIM_INFINITY];
    return [BigInt(current.files.rlim_cur), BigInt(current.files.rlim_max)];
  },

  setrlimit(resource: number, cur: bigint, max: bigint): number {
    if (!Number.isInteger(resource) || resource < 0 || resource >= RLIM_NLIMITS) return -EINVAL;
    if (cur > max) return -EINVAL;
    if (resource !== RLIMIT_NOFILE) return 0;
    // RLIMIT_NOFILE may not exceed fs.nr_open, and (as root may) the hard limit can be raised.
    if (max > BigInt(NR_OPEN_MAX)) return -EPERM;
    current.files.rlim_cur = Number(cur);
    current.files.rlim_max = Number(max);
    return 0;
  },

  addr_of(buffer: ArrayBufferLike, offset: number): bigint {
    return BigInt(current.mm.addr_of(buffer, offset));
  },

  user_memory(addr: bigint, len: number): Uint8Array | null {
    return current.mm.user_memory(addr, len);
  },

  leaks(): string[] {
    return vcpu_threads_alive();
  },

  open_fds(): number[] {
    return current.files.open_fds();
  },
};
