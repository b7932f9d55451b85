// SPDX-License-Identifier: GPL-2.0-only
/**
 * `fallocate` modes (`<linux/falloc.h>`). guest_memfd accepts only
 * `FALLOC_FL_KEEP_SIZE`, alone (allocate) or with `FALLOC_FL_PUNCH_HOLE`
 * (free).
 *
 * @module
 */

/** `FALLOC_FL_ALLOCATE_RANGE`: allocate the range (mode 0). */
export const FALLOC_FL_ALLOCATE_RANGE = 0x00;
/** `FALLOC_FL_KEEP_SIZE`: do not change the file size. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** `FALLOC_FL_PUNCH_HOLE`: free the range; needs `FALLOC_FL_KEEP_SIZE`. */
export const FALLOC_FL_PUNCH_HOLE = 0x02;
/** `FALLOC_FL_NO_HIDE_STALE`: reserved. */
export const FALLOC_FL_NO_HIDE_STALE = 0x04;
/** `FALLOC_FL_COLLAPSE_RANGE`: remove the range and close the gap. */
export const FALLOC_FL_COLLAPSE_RANGE = 0x08;
/** `FALLOC_FL_ZERO_RANGE`: zero the range. */
export const FALLOC_FL_ZERO_RANGE = 0x10;
/** `FALLOC_FL_INSERT_RANGE`: insert a hole, shifting the data after it. */
export const FALLOC_FL_INSERT_RANGE = 0x20;
/** `FALLOC_FL_UNSHARE_RANGE`: unshare shared (reflinked) blocks. */
export const FALLOC_FL_UNSHARE_RANGE = 0x40;
/** `FALLOC_FL_WRITE_ZEROES`: zero the range by writing zeroes to the device. */
export const FALLOC_FL_WRITE_ZEROES = 0x80;
