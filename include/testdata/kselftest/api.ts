// SPDX-License-Identifier: GPL-2.0-only
// A program reporting through kselftest.h's low-level API, as non-harness
// selftests do; `include/kselftest_test.ts` runs it by scenario name.
import * as k from "../../kselftest.ts";
import { ksft_main } from "../../kselftest_harness.ts";

const scenarios: Record<string, () => void> = {
  finished: () => {
    k.ksft_print_header();
    k.ksft_set_plan(6);
    k.ksft_test_result_pass("%s\n", "first");
    k.ksft_test_result_fail("second\n");
    k.ksft_test_result_skip("third\n");
    k.ksft_test_result_xfail("fourth\n");
    k.ksft_print_msg("a message %d\n", 7);
    k.ksft_test_result(1 + 1 === 2, "fifth\n");
    k.ksft_test_result_code(k.KSFT_FAIL, "sixth", "%s", "why");
    k.ksft_finished();
  },
  bail: () => {
    k.ksft_print_header();
    k.ksft_set_plan(3);
    k.ksft_test_result_pass("x\n");
    k.ksft_exit_fail_msg("broken %d\n", 5);
  },
  skip_after: () => {
    k.ksft_print_header();
    k.ksft_set_plan(2);
    k.ksft_test_result_pass("a\n");
    k.ksft_exit_skip("no more\n");
  },
  all_pass: () => {
    k.ksft_set_plan(1);
    k.ksft_test_result_pass("only\n");
    k.ksft_finished();
  },
};

await ksft_main(import.meta, (_argc, argv) => scenarios[argv[1]!]!());
