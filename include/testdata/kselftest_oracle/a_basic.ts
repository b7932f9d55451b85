// SPDX-License-Identifier: GPL-2.0-only
// Twin of the oracle's a_basic.c: three standalone TEST()s; lines match the C.
// deno-lint-ignore-file no-unreachable
import { ASSERT_EQ, SKIP, TEST, TEST_HARNESS_MAIN, TH_LOG } from "../../kselftest_harness.ts";

TEST("always_pass", () => {
  TH_LOG("%s", "hello from always_pass");
  ASSERT_EQ(1, 1);
});

TEST("assert_eq_fails", () => {
  const answer = 41;

  // The ASSERT fails and aborts the test: the log below never prints.
  ASSERT_EQ(42, answer);
  TH_LOG("never reached");
});

TEST("skip_with_reason", () => {
  // C: SKIP(return, ...); the return is written by the caller.
  return SKIP("reason: %s", "feature not available");
  TH_LOG("never reached");
});

await TEST_HARNESS_MAIN(import.meta);
