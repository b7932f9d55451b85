// SPDX-License-Identifier: GPL-2.0-only
// Twin of the oracle's c_variant.c: one TEST_F run for two variants; lines
// match the C.
import {
  ASSERT_GE,
  FIXTURE,
  FIXTURE_SETUP,
  FIXTURE_TEARDOWN,
  FIXTURE_VARIANT_ADD,
  TEST_F,
  TEST_HARNESS_MAIN,
  TH_LOG,
} from "../../kselftest_harness.ts";

// FIXTURE_VARIANT(sizes) { int width; };
interface sizes_variant {
  width: number;
}

// FIXTURE(sizes) { int bytes; };
const sizes = FIXTURE<{ bytes: number }, sizes_variant>("sizes", () => ({ bytes: 0 }));

// Declared in this order: narrow runs first.
FIXTURE_VARIANT_ADD(sizes, "narrow", { width: 32 });
FIXTURE_VARIANT_ADD(sizes, "wide", { width: 64 });

FIXTURE_SETUP(sizes, (self, variant) => {
  self.bytes = variant.width / 8;
});

FIXTURE_TEARDOWN(sizes, () => {});

// Passes for narrow (4 >= 4), fails for wide (4 >= 8).

TEST_F(sizes, "fits_in_u32", (self, variant) => {
  TH_LOG("width=%d bytes=%d", variant.width, self.bytes);
  ASSERT_GE(4, self.bytes);
});

await TEST_HARNESS_MAIN(import.meta);
