// SPDX-License-Identifier: GPL-2.0-only
import { createHash } from "node:crypto";
import { td_measurement } from "./measure.ts";

// 1 MiB of TD pages, measured single-pass, against raw SHA-384 over the same
// number of page bytes: the measurement feeds 6272 bytes per 4096-byte page, so
// ~65% of raw throughput in page-MB/s is the ceiling of the record format.
const page = new Uint8Array(4096).map((_, i) => i & 0xff);
const PAGES = 256;

Deno.bench("raw SHA-384, 1 MiB", { group: "measure", baseline: true }, () => {
  const h = createHash("sha384");
  for (let i = 0; i < PAGES; i++) h.update(page);
  h.digest();
});

Deno.bench("MRTD PAGE.ADD + 16x MR.EXTEND, 1 MiB of pages", { group: "measure" }, () => {
  const m = new td_measurement();
  for (let i = 0; i < PAGES; i++) m.page_add_measured(BigInt(i * 4096), page);
  m.finalize();
});
