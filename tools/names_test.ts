// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import {
  coverage,
  format_coverage,
  library_names,
  NOT_PORTABLE,
  overall_percent,
  read_name_lists,
} from "./names.ts";

/**
 * The overall share of upstream's names the library offers may only grow:
 * raise this floor when names are added.
 */
const NAMES_FLOOR_PERCENT = 89.5;

Deno.test("names: the upstream lists hold the 467 names of the five headers", () => {
  const lists = read_name_lists();
  const headers = new Set(lists.map((l) => l.header));
  assertEquals(
    [...headers].sort(),
    ["kvm_util.h", "kvm_util_types.h", "test_util.h", "ucall_common.h", "x86/processor.h"],
  );
  assertEquals(lists.reduce((s, l) => s + l.names.length, 0), 467);
  assert(lists.find((l) => l.file === "processor.h.fn")!.names.includes("vcpu_save_state"));
});

Deno.test("names: coverage counts per header and lists what is missing in order", () => {
  const cov = coverage([
    { file: "a.h.fn", header: "a.h", kind: "fn", names: ["x", "y", "z"] },
    { file: "a.h.macro", header: "a.h", kind: "macro", names: ["M"] },
    { file: "b.h.fn", header: "b.h", kind: "fn", names: ["w"] },
  ], new Set(["y", "M", "unrelated"]));
  assertEquals(cov, [
    { header: "a.h", total: 4, offered: 2, missing: ["x", "z"] },
    { header: "b.h", total: 1, offered: 0, missing: ["w"] },
  ]);
  assertEquals(overall_percent(cov), 40);
  const text = format_coverage(cov);
  assert(text.includes("overall               2/5 40.0%"), text);
  assert(text.includes("missing from a.h: x z"), text);
});

Deno.test("names: the library's share of upstream's names does not fall", async () => {
  const cov = coverage(read_name_lists(), await library_names());
  const pct = overall_percent(cov);
  assert(
    pct >= NAMES_FLOOR_PERCENT,
    `${pct.toFixed(1)}% < ${NAMES_FLOOR_PERCENT}%\n${format_coverage(cov)}`,
  );
});

Deno.test("names: the report lists names that cannot exist here apart, with their reason", () => {
  const cov = coverage([
    { file: "a.h.fn", header: "a.h", kind: "fn", names: ["x", "y", "z", "w"] },
  ], new Set(["y"]));
  const text = format_coverage(cov, { z: "no such thing here", w: "no such thing here" });
  assert(text.includes("missing from a.h: x\n"), text);
  assert(text.endsWith("not portable: z w: no such thing here"), text);
  // Still missing: the share is what the library offers.
  assert(text.includes("1/4 25.0%"), text);
});

Deno.test("names: every not-portable name is upstream's and not offered by the library", async () => {
  const upstream = new Set(read_name_lists().flatMap((l) => l.names));
  const offered = await library_names();
  for (const [name, why] of Object.entries(NOT_PORTABLE)) {
    assert(upstream.has(name), `${name} is not in the upstream lists`);
    assert(!offered.has(name), `${name} is offered now: drop it from NOT_PORTABLE`);
    assert(why.length > 20, `${name} needs a reason`);
  }
});
