// SPDX-License-Identifier: GPL-2.0-only
/**
 * eventfd2(2) flags (`include/linux/eventfd.h`, glibc's `<sys/eventfd.h>`).
 *
 * @module
 */

/** `EFD_SEMAPHORE`: each read() takes 1 from the counter instead of all of it. */
export const EFD_SEMAPHORE = 1 << 0;
/** `EFD_CLOEXEC` (`O_CLOEXEC`). */
export const EFD_CLOEXEC = 0o2000000;
/** `EFD_NONBLOCK` (`O_NONBLOCK`). */
export const EFD_NONBLOCK = 0o4000;
