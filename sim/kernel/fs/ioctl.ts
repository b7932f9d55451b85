// SPDX-License-Identifier: GPL-2.0-only
/**
 * The VFS ioctls (`fs/ioctl.c`): `do_vfs_ioctl()` answers a few requests for
 * every file before the file's own `unlocked_ioctl` sees them, so `FIOCLEX`
 * on a KVM fd succeeds although KVM never handles it.
 *
 * @module
 */

import { EFAULT } from "../../../include/linux/errno.ts";
import { current } from "../include/linux/sched.ts";
import type { file } from "./file.ts";

/** `FIONCLEX` (asm-generic/ioctls.h). */
export const FIONCLEX = 0x5450;
/** `FIOCLEX`. */
export const FIOCLEX = 0x5451;
/** `FIONBIO`. */
export const FIONBIO = 0x5421;

const int_buf = new Uint8Array(4);

/**
 * `do_vfs_ioctl()`: the result of a request the VFS handles itself, or null
 * (`-ENOIOCTLCMD`) to pass it on to the file. Close-on-exec and non-blocking
 * mode are accepted but not recorded: the simulated process never execs and
 * no KVM file blocks on reads.
 */
export function do_vfs_ioctl(_filp: file, cmd: number, arg: bigint): number | null {
  switch (cmd) {
    case FIOCLEX:
    case FIONCLEX:
      return 0;
    case FIONBIO:
      // ioctl_fionbio() reads the int flag first: a bad pointer is EFAULT.
      return current.mm.copy_from_user(int_buf, arg, 4) ? -EFAULT : 0;
    default:
      return null;
  }
}
