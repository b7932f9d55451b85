// SPDX-License-Identifier: GPL-2.0-only
// KVM-style programs (a plain main(), no harness) that end in each way of the
// assert family; `lib/assert_test.ts` runs them by name: `assert_cases.ts <case>`.
import { ksft_main } from "../../include/kselftest_harness.ts";
import { TEST_ASSERT, TEST_ASSERT_EQ, TEST_FAIL, TEST_REQUIRE } from "../../include/test_util.ts";
import { errno_set } from "../../include/libc/errno.ts";

function vcpu_count(): number {
  return 0;
}

function is_tdx_supported(): boolean {
  return false;
}

const cases: Record<string, () => void> = {
  assert_eq: () => {
    const expected = 4;
    TEST_ASSERT_EQ(vcpu_count(), expected);
  },
  assert_eq_negative: () => {
    TEST_ASSERT_EQ(-1, 0n);
  },
  assert: () => {
    errno_set(22);
    TEST_ASSERT(vcpu_count() > 0, "KVM_CREATE_VCPU failed, rc: %i errno: %i", -1, 22);
  },
  fail: () => TEST_FAIL("Unexpected exit reason: %u", 7),
  eacces: () => {
    errno_set(13);
    TEST_ASSERT(false, "open /dev/kvm");
  },
  require: () => {
    TEST_REQUIRE(is_tdx_supported());
  },
  pass: () => {
    TEST_ASSERT_EQ(vcpu_count(), 0);
    TEST_REQUIRE(!is_tdx_supported());
  },
};

function main(_argc: number, argv: string[]): number {
  cases[argv[1]!]!();
  return 0;
}

await ksft_main(import.meta, main);
