// SPDX-License-Identifier: GPL-2.0-only
/**
 * `struct file` and `struct file_operations` of the simulated kernel, and the
 * process's file descriptor table (`fs/file.c`, `fs/file_table.c`).
 *
 * A file is reference counted as in the kernel: the fd table holds one
 * reference per descriptor, and a mapping of the file (`mmap`) holds one
 * more, so `close()` of the last descriptor while a mapping exists does not
 * release the file, exactly as `fput()` defers `->release` until the last
 * reference goes. Objects behind files take their own references on what they
 * need (a vCPU file and a guest_memfd file each pin their VM), which gives
 * KVM's lifetime rule: the VM lives while any of its files is open.
 *
 * @module
 */

import { EBADF, EMFILE } from "../../../include/linux/errno.ts";
import type { vm_area_struct } from "../mm/mmap.ts";

/**
 * The operations a file supports (`struct file_operations`). A missing
 * operation gives the errno the VFS gives for it: `ENOTTY` for ioctl,
 * `ENODEV` for mmap, `EOPNOTSUPP` for fallocate, `EINVAL` for read and write.
 */
export interface file_operations {
  /** The file type's name, for diagnostics (`anon_inode:kvm-vcpu:0` and friends). */
  readonly name: string;
  /** `unlocked_ioctl`: the result or `-errno`. */
  unlocked_ioctl?(filp: file, cmd: number, arg: bigint): number;
  /** An ioctl that blocks (KVM_RUN); when absent, `unlocked_ioctl` serves. */
  unlocked_ioctl_async?(filp: file, cmd: number, arg: bigint): Promise<number> | number;
  /** `mmap`: accept (0) or refuse (`-errno`) the mapping `vma`, and set its backing. */
  mmap?(filp: file, vma: vm_area_struct): number;
  /** `fallocate`. */
  fallocate?(filp: file, mode: number, offset: bigint, len: bigint): number;
  /**
   * `read` into user memory at `ppos.pos`, which it advances by what it
   * read (`loff_t *ppos`); the VFS has checked access mode, buffer and position.
   */
  read?(filp: file, buf: bigint, count: bigint, ppos: { pos: bigint }): bigint;
  /** `write` from user memory. */
  write?(filp: file, buf: bigint, count: bigint): bigint;
  /** `st_size` as `fstat` reports it (0 when absent, as for anonymous inodes). */
  size?(filp: file): bigint;
  /** `st_mode` as `fstat` reports it (default: an anonymous inode's 0600, no type bits). */
  readonly mode?: number;
  /** `release`: the last reference to the file is gone. */
  release?(filp: file): void;
}

/** `struct file`: an open file description. */
export class file {
  /** The operations (`f_op`). */
  readonly f_op: file_operations;
  /** The object behind the file (`private_data`): a `kvm`, a `kvm_vcpu`, a guest_memfd. */
  readonly private_data: unknown;
  /** The open flags (`f_flags`). */
  readonly f_flags: number;
  /** References (`f_count`): descriptors plus mappings plus in-flight calls. */
  f_count = 1;
  /** `f_mode` bits beyond the access mode: {@linkcode FMODE_PREAD} for now. */
  f_mode = 0;
  /** The file position `read()` uses and moves (`f_pos`). */
  f_pos = 0n;
  /**
   * The inode number `fstat` reports. KVM's VM and vCPU files share the one
   * anonymous inode (`anon_inode_getfile`); a guest_memfd has an inode of its own.
   */
  readonly f_ino: bigint;

  /**
   * Opens a file description with one reference.
   *
   * @param f_op the file's operations
   * @param private_data the object behind the file
   * @param f_flags the open flags
   * @param f_ino the inode number, by default the shared anonymous inode
   */
  constructor(
    f_op: file_operations,
    private_data: unknown,
    f_flags: number,
    f_ino = ANON_INODE_INO,
  ) {
    this.f_op = f_op;
    this.private_data = private_data;
    this.f_flags = f_flags;
    this.f_ino = f_ino;
  }
}

/** `FMODE_PREAD`: `pread()` works on the file (else ESPIPE). */
export const FMODE_PREAD = 0x8;

/** The inode number of the anonymous inode every `anon_inode_getfile()` file shares. */
export const ANON_INODE_INO = 1n;

let last_ino = 1000n;

/** `get_next_ino()`: a fresh inode number for a file with an inode of its own. */
export function get_next_ino(): bigint {
  return ++last_ino;
}

/** `get_file()`: takes a reference. */
export function get_file(f: file): file {
  f.f_count++;
  return f;
}

/** `fput()`: drops a reference; the last one runs `->release`. */
export function fput(f: file): void {
  if (--f.f_count === 0) f.f_op.release?.(f);
}

/** `RLIMIT_NOFILE`'s default soft limit: the highest descriptor number plus one. */
export const NR_OPEN_DEFAULT = 1024;

/** `RLIMIT_NOFILE`'s default hard limit, which is also `fs.nr_open`: no limit goes above it. */
export const NR_OPEN_MAX = 1048576;

/**
 * The process's descriptor table (`struct files_struct`). Descriptors 0..2
 * belong to stdio, so the first file the simulated kernel installs is 3, as
 * the first `open()` of a C program gets.
 */
export class files_struct {
  readonly #fd: (file | undefined)[] = [];
  #next_fd = 3;
  /** `RLIMIT_NOFILE` soft and hard limits; descriptors at or above the soft one are EMFILE. */
  rlim_cur = NR_OPEN_DEFAULT;
  rlim_max = NR_OPEN_MAX;

  /** `get_unused_fd_flags()` + `fd_install()`: the lowest free descriptor, or `-EMFILE`. */
  fd_install(f: file): number {
    let fd = this.#next_fd;
    while (fd < this.rlim_cur && this.#fd[fd] !== undefined) fd++;
    if (fd >= this.rlim_cur) return -EMFILE;
    this.#fd[fd] = f;
    this.#next_fd = fd + 1;
    return fd;
  }

  /** `fget()` without the reference: the file at `fd`, or `undefined`. */
  lookup(fd: number): file | undefined {
    return this.#fd[fd];
  }

  /** `close_fd()`: 0, or `-EBADF` when `fd` is not open. */
  close_fd(fd: number): number {
    const f = Number.isInteger(fd) && fd >= 0 ? this.#fd[fd] : undefined;
    if (!f) return -EBADF;
    this.#fd[fd] = undefined;
    if (fd < this.#next_fd) this.#next_fd = Math.max(3, fd);
    fput(f);
    return 0;
  }

  /** The open descriptors, for tests and diagnostics. */
  open_fds(): number[] {
    const out: number[] = [];
    this.#fd.forEach((f, i) => f && out.push(i));
    return out;
  }
}
