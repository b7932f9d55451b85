// SPDX-License-Identifier: GPL-2.0-only
/**
 * eventfd (`fs/eventfd.c`): a 64-bit counter behind a file. write() adds an
 * 8-byte value and wakes the waiters (KVM's irqfd is one: it consumes the
 * count and injects its GSI), read() takes the count (or 1 with
 * EFD_SEMAPHORE), close wakes the waiters with POLLHUP.
 *
 * The simulated process has one thread that cannot sleep in read() or
 * write(): a read of a zero counter, or a write that would overflow it,
 * fails with EAGAIN even without EFD_NONBLOCK (docs/fidelity.md).
 *
 * @module
 */

import { EAGAIN, EFAULT, EINVAL } from "../../../include/linux/errno.ts";
import { EFD_CLOEXEC, EFD_NONBLOCK, EFD_SEMAPHORE } from "../../../include/linux/eventfd.ts";
import { O_RDWR } from "../../../include/linux/fcntl.ts";
import { current } from "../include/linux/sched.ts";
import { file, type file_operations } from "./file.ts";
const EFD_SHARED_FCNTL_FLAGS = EFD_CLOEXEC | EFD_NONBLOCK;
const EFD_FLAGS_SET = EFD_SHARED_FCNTL_FLAGS | EFD_SEMAPHORE;

/** `EPOLLIN` / `EPOLLHUP`: what a wake-up reports. */
export const EPOLLIN = 0x001;
export const EPOLLHUP = 0x010;

const ULLONG_MAX = 0xffffffffffffffffn;

/** A waiter on the eventfd's wait queue (`wait_queue_entry_t` with its wake function). */
export type eventfd_waiter = (ctx: eventfd_ctx, flags: number) => void;

/** `struct eventfd_ctx`. */
export class eventfd_ctx {
  /** `count`. */
  count: bigint;
  /** `flags`: EFD_SEMAPHORE and the fcntl flags. */
  readonly flags: number;
  /** `wqh`: the waiters, woken in order (irqfds are added with priority in KVM). */
  readonly wqh: Set<eventfd_waiter> = new Set();

  /**
   * @param count the initial counter
   * @param flags the eventfd2() flags
   */
  constructor(count: bigint, flags: number) {
    this.count = count;
    this.flags = flags;
  }
}

/** `eventfd_ctx_do_read()`: take what one read would take. */
export function eventfd_ctx_do_read(ctx: eventfd_ctx): bigint {
  const cnt = ctx.flags & EFD_SEMAPHORE ? 1n : ctx.count;
  ctx.count -= cnt;
  return cnt;
}

function wake_up(ctx: eventfd_ctx, flags: number): void {
  for (const w of [...ctx.wqh]) w(ctx, flags);
}

/** `eventfd_signal()`: add 1 and wake the waiters (KVM's resamplefd). */
export function eventfd_signal(ctx: eventfd_ctx): void {
  if (ctx.count === ULLONG_MAX) return;
  ctx.count++;
  wake_up(ctx, EPOLLIN);
}

const eventfd_fops: file_operations = {
  name: "anon_inode:[eventfd]",
  read(filp: file, buf: bigint, count: bigint): bigint {
    const ctx = filp.private_data as eventfd_ctx;
    if (count < 8n) return BigInt(-EINVAL);
    if (ctx.count === 0n) return BigInt(-EAGAIN);
    const cnt = eventfd_ctx_do_read(ctx);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, cnt, true);
    if (current.mm.copy_to_user(buf, out)) {
      ctx.count += cnt;
      return BigInt(-EFAULT);
    }
    return 8n;
  },
  write(filp: file, buf: bigint, count: bigint): bigint {
    const ctx = filp.private_data as eventfd_ctx;
    if (count < 8n) return BigInt(-EINVAL);
    const bytes = new Uint8Array(8);
    if (current.mm.copy_from_user(bytes, buf, 8)) return BigInt(-EFAULT);
    const ucnt = new DataView(bytes.buffer).getBigUint64(0, true);
    if (ucnt === ULLONG_MAX) return BigInt(-EINVAL);
    if (ULLONG_MAX - ctx.count <= ucnt) return BigInt(-EAGAIN);
    ctx.count += ucnt;
    if (ucnt) wake_up(ctx, EPOLLIN);
    return 8n;
  },
  release(filp: file): void {
    wake_up(filp.private_data as eventfd_ctx, EPOLLHUP);
  },
};

/** `eventfd_ctx_fileget()`: the eventfd behind a file, or `-EINVAL` for another kind of file. */
export function eventfd_ctx_fileget(f: file): eventfd_ctx | number {
  return f.f_op === eventfd_fops ? f.private_data as eventfd_ctx : -EINVAL;
}

/** `vfs_poll()` of an eventfd: EPOLLIN while the counter is non-zero. */
export function eventfd_poll(ctx: eventfd_ctx): number {
  return ctx.count > 0n ? EPOLLIN : 0;
}

/**
 * `do_eventfd()` (eventfd2(2)): unknown flags are EINVAL. Returns the new
 * file; the caller installs it.
 */
export function do_eventfd(count: number, flags: number): file | number {
  if (flags & ~EFD_FLAGS_SET) return -EINVAL;
  const ctx = new eventfd_ctx(BigInt(count >>> 0), flags);
  return new file(eventfd_fops, ctx, O_RDWR | (flags & EFD_SHARED_FCNTL_FLAGS));
}
