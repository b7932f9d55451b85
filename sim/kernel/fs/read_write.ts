// SPDX-License-Identifier: GPL-2.0-only
/**
 * `read(2)` and `pread64(2)` of the simulated kernel (`fs/read_write.c`):
 * the VFS checks in the kernel's order, then the file's `->read` with a
 * position. `read()` moves the file position (`f_pos`), `pread()` uses its
 * own and works only on files opened with `FMODE_PREAD`.
 *
 * @module
 */

import { EBADF, EFAULT, EINVAL, ESPIPE } from "../../../include/linux/errno.ts";
import { O_ACCMODE, O_WRONLY } from "../../../include/linux/fcntl.ts";
import { access_ok } from "../mm/mmap.ts";
import { type file, FMODE_PREAD } from "./file.ts";

/** `MAX_RW_COUNT`: `INT_MAX & PAGE_MASK`, the most one read or write transfers. */
export const MAX_RW_COUNT = 0x7ffff000n;

/**
 * `rw_verify_area()` for a file without unsigned offsets: a negative
 * position, or one that a `count`-byte transfer would carry past
 * `LLONG_MAX`, is EINVAL.
 */
function rw_verify_area(pos: bigint, count: bigint): number {
  if (pos < 0n) return -EINVAL;
  if (pos + count > 0x7fffffffffffffffn) return -EINVAL;
  return 0;
}

/** `vfs_read()`: the byte count, or `-errno`; `ppos.pos` moves by what was read. */
export function vfs_read(f: file, buf: bigint, count: bigint, ppos: { pos: bigint }): bigint {
  if ((f.f_flags & O_ACCMODE) === O_WRONLY) return BigInt(-EBADF);
  if (!f.f_op.read) return BigInt(-EINVAL);
  if (!access_ok(buf, count)) return BigInt(-EFAULT);
  const r = rw_verify_area(ppos.pos, count);
  if (r) return BigInt(r);
  if (count > MAX_RW_COUNT) count = MAX_RW_COUNT;
  return f.f_op.read(f, buf, count, ppos);
}

/** `ksys_read()`: reads at the file position and advances it. */
export function ksys_read(f: file, buf: bigint, count: bigint): bigint {
  const ppos = { pos: f.f_pos };
  const ret = vfs_read(f, buf, count, ppos);
  if (ret >= 0n) f.f_pos = ppos.pos;
  return ret;
}

/** `ksys_pread64()` once the descriptor is resolved: ESPIPE without `FMODE_PREAD`. */
export function ksys_pread64(f: file, buf: bigint, count: bigint, pos: bigint): bigint {
  if (pos < 0n) return BigInt(-EINVAL);
  if (!(f.f_mode & FMODE_PREAD)) return BigInt(-ESPIPE);
  return vfs_read(f, buf, count, { pos });
}
