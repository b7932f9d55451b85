// SPDX-License-Identifier: GPL-2.0-only
import { ASSERT_EQ, EXPECT_EQ, FIXTURE, FIXTURE_SETUP } from "../../kselftest_harness.ts";
import { FIXTURE_TEARDOWN, TEST, TEST_F, TEST_HARNESS_MAIN } from "../../kselftest_harness.ts";
import { TH_LOG } from "../../kselftest_harness.ts";

TEST("standalone", () => {
  TH_LOG("standalone runs");
});

// Twin of the oracle's b_fixture.c: a global TEST, then a fixture with setup,
// teardown and two TEST_Fs; lines match the C.

// FIXTURE(counter) { int value; };
const counter = FIXTURE("counter", () => ({ value: 0 }));

FIXTURE_SETUP(counter, (self) => {
  self.value = 10;
  TH_LOG("setup value=%d", self.value);
});

// Runs after each body, whether its expectations held or not.
FIXTURE_TEARDOWN(counter, (self) => {
  TH_LOG("teardown value=%d", self.value);
});

// Passes: 10 + 1.
TEST_F(counter, "increments", (self) => {
  self.value += 1;
  ASSERT_EQ(11, self.value);
});

// Fails (10 - 1), but an EXPECT lets the body go on.
TEST_F(counter, "expect_fails", (self) => {
  self.value -= 1;
  EXPECT_EQ(11, self.value);
  TH_LOG("still running after EXPECT");
});

await TEST_HARNESS_MAIN(import.meta);
