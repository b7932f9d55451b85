// SPDX-License-Identifier: GPL-2.0-only
// The test runner's pieces: which files are tests, the order they start in,
// and the one JUnit report that counts a file which never reported.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { file_suites, find_files, junit_counts, merge_junit } from "./run_tests.ts";
import { schedule } from "./schedule.ts";

Deno.test("run_tests: finds Deno's test file names and skips .out and node_modules", () => {
  const files = find_files("tools", (n) => /(^|[._])test\.(ts|tsx|mts|js|jsx|mjs)$/.test(n));
  assertEquals(files.includes("tools/run_tests_test.ts"), true);
  assertEquals(files.includes("tools/run_tests.ts"), false);
  assertEquals(files.every((f) => f.startsWith("tools/")), true);
  assertEquals(find_files("tools/run_tests.ts", () => false), ["tools/run_tests.ts"]);
});

Deno.test("run_tests: the longest recorded file starts first; unknown files count 2 s", () => {
  assertEquals(
    schedule(["a_test.ts", "b_test.ts", "c_test.ts", "d_test.ts"], {
      "a_test.ts": 1,
      "c_test.ts": 60,
      "d_test.ts": 2,
    }),
    ["c_test.ts", "b_test.ts", "d_test.ts", "a_test.ts"],
  );
});

const SUITE = '<testsuite name="./x_test.ts" tests="3">' +
  '<testcase name="a" time="0.1"></testcase>' +
  '<testcase name="b" time="0.1"><failure message="no">x</failure></testcase>' +
  '<testcase name="c" time="0"><skipped/></testcase></testsuite>';
const REPORT = `<?xml version="1.0"?><testsuites>${SUITE}</testsuites>`;

Deno.test("run_tests: a file's report is kept; failures and skips are counted per case", () => {
  const r = { file: "x_test.ts", code: 1, output: "", junit: REPORT, ms: 5 };
  assertEquals(file_suites(r), SUITE);
  assertEquals(junit_counts(merge_junit([r], 1)), { tests: 3, failures: 1, skipped: 1 });
});

Deno.test("run_tests: a file that failed outside its cases, or wrote nothing, adds a failing case", () => {
  const clean = REPORT.replace(/<failure[^<]*<\/failure>/, "");
  const crashed = {
    file: "y_test.ts",
    code: 1,
    output: "error: <boom> & more",
    junit: clean,
    ms: 5,
  };
  const x = merge_junit([crashed], 1);
  assertEquals(junit_counts(x), { tests: 4, failures: 1, skipped: 1 });
  assertStringIncludes(x, "deno test exited with 1 outside any test");
  assertStringIncludes(x, "&lt;boom&gt; &amp; more");
  const killed = { file: "z_test.ts", code: null, output: "", junit: "", ms: 5 };
  assertEquals(junit_counts(merge_junit([killed], 1)), { tests: 1, failures: 1, skipped: 0 });
});
