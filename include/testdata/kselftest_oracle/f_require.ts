// SPDX-License-Identifier: GPL-2.0-only
// Twin of the oracle's f_require.c: TEST_REQUIRE firing inside a test.
import { ksft_exit_skip } from "../../kselftest.ts";
import { TEST, TEST_HARNESS_MAIN } from "../../kselftest_harness.ts";

TEST("runs_first", () => {});

TEST("requires_tdx", () => {
  ksft_exit_skip("- Requirement not met: is_tdx_supported()\n");
});

TEST("runs_last", () => {});

await TEST_HARNESS_MAIN(import.meta);
