// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import {
  EAGAIN,
  EDEADLK,
  EDEADLOCK,
  EHWPOISON,
  EINVAL,
  ENOTSUP,
  EOPNOTSUPP,
  EWOULDBLOCK,
  strerror,
  strerrorname_np,
} from "./errno.ts";

Deno.test("glibc's aliases share the value of the name they stand for", () => {
  assertEquals([EWOULDBLOCK, EDEADLOCK, ENOTSUP], [EAGAIN, EDEADLK, EOPNOTSUPP]);
  assertEquals([EAGAIN, EDEADLK, EOPNOTSUPP, EHWPOISON], [11, 35, 95, 133]);
});

Deno.test("strerror and strerrorname_np word errors as glibc does", () => {
  assertEquals(strerror(EINVAL), "Invalid argument");
  assertEquals(strerrorname_np(EINVAL), "EINVAL");
  assertEquals(strerrorname_np(EWOULDBLOCK), "EAGAIN");
  assertEquals(strerror(41), "Unknown error 41");
  assertEquals(strerrorname_np(41), undefined);
});
