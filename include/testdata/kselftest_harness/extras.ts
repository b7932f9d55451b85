// SPDX-License-Identifier: GPL-2.0-only
// Harness behaviours the C oracle does not show, each written as in C. The
// expected output is in `include/kselftest_harness_extras_test.ts`.
import {
  ASSERT_TRUE,
  EXPECT_EQ,
  EXPECT_STREQ,
  FIXTURE,
  FIXTURE_SETUP,
  FIXTURE_TEARDOWN,
  FIXTURE_VARIANT_ADD,
  SKIP,
  TEST,
  TEST_F,
  TEST_HARNESS_MAIN,
  TEST_SIGNAL,
  TH_LOG,
  XFAIL_ADD,
} from "../../kselftest_harness.ts";
import { ksft_test_result_fail } from "../../kselftest.ts";
import { exit } from "../../libc/exit.ts";
import { printf } from "../../libc/stdio.ts";

// A constructor-time print: the harness parent shows it once, its children never.
printf("prelude\n");

TEST("throws", () => {
  throw new Error("boom");
});

TEST("exits_254", () => {
  exit(254);
});

TEST_SIGNAL("killed_by_sigusr1", "SIGUSR1", () => {
  Deno.kill(Deno.pid, "SIGUSR1");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000);
});

TEST_SIGNAL("returns_instead", 10, () => {});

TEST("expect_handlers", () => {
  EXPECT_EQ(1, 2, () => TH_LOG("handler ran"));
  EXPECT_STREQ("a", "b");
});

TEST("low_level_fail", () => {
  ksft_test_result_fail("from the body\n");
});

const xf = FIXTURE("xf");
FIXTURE_VARIANT_ADD(xf, "a", {});
FIXTURE_VARIANT_ADD(xf, "b", {});
XFAIL_ADD(xf, "a", "fails");
TEST_F(xf, "fails", () => {
  ASSERT_TRUE(false);
});

const skipper = FIXTURE("skipper", () => ({ ready: false }));
FIXTURE_SETUP(skipper, () => {
  return SKIP("no %s", "hardware");
});
FIXTURE_TEARDOWN(skipper, () => {
  TH_LOG("teardown must not run after a setup skip");
});
TEST_F(skipper, "body", () => {
  TH_LOG("body must not run after a setup skip");
});

const broken = FIXTURE("broken", () => ({ n: 0 }));
FIXTURE_SETUP(broken, (self) => {
  ASSERT_TRUE(self.n);
});
FIXTURE_TEARDOWN(broken, () => {
  TH_LOG("teardown must not run after a setup ASSERT");
});
TEST_F(broken, "body", () => {
  TH_LOG("body must not run after a setup ASSERT");
});

const untested = FIXTURE("untested");
FIXTURE_VARIANT_ADD(untested, "one", {});
FIXTURE_VARIANT_ADD(untested, "two", {});

await TEST_HARNESS_MAIN(import.meta);
