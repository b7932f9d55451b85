// SPDX-License-Identifier: GPL-2.0-only
// Twin of the oracle's d_skip.c: main skips before the harness parses argv.
import { ksft_exit_skip } from "../../kselftest.ts";
import { ksft_main, TEST, test_harness_run, TH_LOG } from "../../kselftest_harness.ts";

TEST("never_runs", () => {
  TH_LOG("never runs");
});

function main(argc: number, argv: string[]): Promise<number> {
  // What KVM's TEST_REQUIRE(is_tdx_supported()) expands to.
  ksft_exit_skip("- Requirement not met: is_tdx_supported()\n");
  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
