// SPDX-License-Identifier: GPL-2.0-only
/**
 * POSIX unnamed semaphores (`<semaphore.h>`) between a test's main task and
 * its vCPU "threads", which are async functions on the same event loop
 * (`vcpu_run_async()` loops): waiting is awaiting, so the other side keeps
 * running meanwhile. Waiters are woken in FIFO order.
 *
 * @module
 */

import { ETIMEDOUT } from "../linux/errno.ts";
import { errno_set } from "./errno.ts";

/** C `sem_t`. */
export class sem_t {
  #value: number;
  #waiters: ((posted: boolean) => void)[] = [];

  /**
   * C `sem_init(&sem, 0, value)`.
   *
   * @param value the initial count
   */
  constructor(value = 0) {
    this.#value = value;
  }

  /** The count (`sem_getvalue()`); waiters do not make it negative. */
  get value(): number {
    return this.#value;
  }

  /** Wakes the first waiter, or counts the post. */
  post(): void {
    const w = this.#waiters.shift();
    if (w) w(true);
    else this.#value++;
  }

  /**
   * Takes one post, waiting for it if none is counted; with `timeout_ms`,
   * gives up after that long.
   *
   * @returns whether a post was taken
   */
  take(timeout_ms?: number): Promise<boolean> {
    if (this.#value > 0) {
      this.#value--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (posted: boolean) => {
        clearTimeout(timer);
        resolve(posted);
      };
      this.#waiters.push(waiter);
      if (timeout_ms !== undefined) {
        timer = setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          resolve(false);
        }, timeout_ms);
      }
    });
  }
}

/** C `sem_post(sem)`: 0. */
export function sem_post(sem: sem_t): number {
  sem.post();
  return 0;
}

/** C `sem_wait(sem)`: resolves to 0 once a post is taken. */
export async function sem_wait(sem: sem_t): Promise<number> {
  await sem.take();
  return 0;
}

/**
 * C `sem_timedwait(sem, abs_timeout)`, with the timeout relative, in ms:
 * 0, or -1 with `errno` `ETIMEDOUT`.
 */
export async function sem_timedwait(sem: sem_t, timeout_ms: number): Promise<number> {
  if (await sem.take(timeout_ms)) return 0;
  errno_set(ETIMEDOUT);
  return -1;
}

/** C `sem_getvalue(sem, &sval)`: the count. */
export function sem_getvalue(sem: sem_t): number {
  return sem.value;
}
