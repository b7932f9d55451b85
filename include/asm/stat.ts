// SPDX-License-Identifier: GPL-2.0-only
/**
 * `<asm/stat.h>` for x86-64: `struct stat` as `fstat(2)` fills it (glibc's
 * x86-64 `struct stat` is the kernel's).
 *
 * @module
 */

import { array, type ArrayType, type RecordType, s64, struct, u32, u64 } from "../c/layout.ts";

/** `struct stat` (144 bytes). */
export const stat: RecordType<{
  st_dev: u64;
  st_ino: u64;
  st_nlink: u64;
  st_mode: u32;
  st_uid: u32;
  st_gid: u32;
  __pad0: u32;
  st_rdev: u64;
  st_size: s64;
  st_blksize: s64;
  st_blocks: s64;
  st_atime: u64;
  st_atime_nsec: u64;
  st_mtime: u64;
  st_mtime_nsec: u64;
  st_ctime: u64;
  st_ctime_nsec: u64;
  __unused: ArrayType<s64>;
}> = struct("stat", {
  st_dev: u64,
  st_ino: u64,
  st_nlink: u64,
  st_mode: u32,
  st_uid: u32,
  st_gid: u32,
  __pad0: u32,
  st_rdev: u64,
  st_size: s64,
  st_blksize: s64,
  st_blocks: s64,
  st_atime: u64,
  st_atime_nsec: u64,
  st_mtime: u64,
  st_mtime_nsec: u64,
  st_ctime: u64,
  st_ctime_nsec: u64,
  __unused: array(s64, 3),
});

/** `S_IFREG`: a regular file. */
export const S_IFREG = 0o100000;
/** `S_IFMT`: the file type bits of `st_mode`. */
export const S_IFMT = 0o170000;
