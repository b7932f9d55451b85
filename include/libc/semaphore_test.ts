// SPDX-License-Identifier: GPL-2.0-only
/**
 * `<semaphore.h>` semantics: posts are counted, waiters woken in FIFO
 * order, `sem_timedwait()` fails with ETIMEDOUT and leaves no waiter behind.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { ETIMEDOUT } from "../linux/errno.ts";
import { errno_get } from "./errno.ts";
import { sem_getvalue, sem_post, sem_t, sem_timedwait, sem_wait } from "./semaphore.ts";

Deno.test("sem_t: counting, FIFO wake-up, timed wait", async () => {
  const sem = new sem_t(1);
  assertEquals(await sem_wait(sem), 0);
  assertEquals(sem_getvalue(sem), 0);
  const order: number[] = [];
  const a = sem_wait(sem).then(() => order.push(1));
  const b = sem_wait(sem).then(() => order.push(2));
  sem_post(sem);
  sem_post(sem);
  await Promise.all([a, b]);
  assertEquals(order, [1, 2]);
  assertEquals(sem_getvalue(sem), 0);
  assertEquals(await sem_timedwait(sem, 5), -1);
  assertEquals(errno_get(), ETIMEDOUT);
  // The timed-out waiter is gone: the next post is counted.
  sem_post(sem);
  assertEquals(sem_getvalue(sem), 1);
  assertEquals(await sem_timedwait(sem, 5), 0);
});
