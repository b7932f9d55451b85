// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertThrows } from "@std/assert";
import {
  parse_jobs,
  reject_unknown_options,
  run_deno_merged,
  schedule,
  UNKNOWN_S,
} from "./schedule.ts";

Deno.test("schedule: longest recorded first, unknown names as UNKNOWN_S, ties by name", () => {
  const times = { a: 1, b: 30, c: UNKNOWN_S };
  assertEquals(schedule(["a", "c", "new", "b"], times), ["b", "c", "new", "a"]);
});

Deno.test("reject_unknown_options: an unknown option throws with the usage; positionals stay", () => {
  const hook = reject_unknown_options("Usage: x");
  assertEquals(hook("x86/"), true);
  assertThrows(() => hook("--bogus"), Error, "Unknown option '--bogus'\nUsage: x");
});

Deno.test("parse_jobs: whole numbers from 1 up; anything else is refused", () => {
  assertEquals(parse_jobs("3", "files", ""), 3);
  assertEquals(parse_jobs(1, "files", ""), 1);
  const err = console.error;
  const said: string[] = [];
  console.error = (s: string) => said.push(s);
  try {
    for (const bad of ["0", "-1", "1.5", "two"]) {
      assertEquals(parse_jobs(bad, "files", "U"), undefined);
    }
  } finally {
    console.error = err;
  }
  assertEquals(said[0], "Bad --jobs '0': a number of files, at least 1\nU");
  assertEquals(said.length, 4);
});

Deno.test("run_deno_merged: one pipe keeps stdout and stderr in order; a timeout kills and gives null", async () => {
  const r = await run_deno_merged(
    ["eval", 'console.log("a"); console.error("b"); console.log("c"); Deno.exit(3)'],
    {},
    30,
  );
  assertEquals(r, { code: 3, output: "a\nb\nc\n" });
  const slow = await run_deno_merged(
    ["eval", "await new Promise((r) => setTimeout(r, 30000))"],
    {},
    0.5,
  );
  assertEquals(slow.code, null);
});
