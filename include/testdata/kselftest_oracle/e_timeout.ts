// SPDX-License-Identifier: GPL-2.0-only
// Twin of the oracle's e_timeout.c: a TEST_F that outlives its 1 s timeout,
// then one that runs normally; lines match the C.
import { FIXTURE, FIXTURE_SETUP, FIXTURE_TEARDOWN, TEST_F } from "../../kselftest_harness.ts";
import { TEST_F_TIMEOUT, TEST_HARNESS_MAIN, TH_LOG } from "../../kselftest_harness.ts";

// FIXTURE(slow) { int unused; };
const slow = FIXTURE("slow", () => ({ unused: 0 }));

// Logs only: the timed-out test shows setup but not teardown (SIGKILLed).
FIXTURE_SETUP(slow, () => {
  TH_LOG("setup");
});

// Never reached for the test killed by the timeout.
FIXTURE_TEARDOWN(slow, () => {
  TH_LOG("teardown");
});

// Blocks for 3 s in a 1 s budget.
TEST_F_TIMEOUT(slow, "sleeps_past_timeout", 1, () => {
  TH_LOG("before sleep");
  sleep(3);
  TH_LOG("after sleep");
});

// Runs after the killed one, as usual.
TEST_F(slow, "runs_after_timeout", () => {
  TH_LOG("ran");
});

await TEST_HARNESS_MAIN(import.meta);

/** C sleep(): blocks the thread, as the C test does, so only SIGKILL ends it early. */
function sleep(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}
