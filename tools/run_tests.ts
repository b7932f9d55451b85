// SPDX-License-Identifier: GPL-2.0-only
/**
 * The project's test runner: `deno task test`. It type-checks every module
 * once, beside the test files, and runs each test file in its own `deno test`
 * process, one per host CPU plus one at a time (`DEFAULT_JOBS`), longest
 * first, and merges their JUnit reports into one.
 *
 * ```sh
 * deno task test                          # every test file
 * deno task test sim/kernel lib/x86       # the test files under these paths
 * deno task test -j 1 --junit-path=r.xml  # one at a time, one report
 * deno task test -- --filter TDREPORT     # arguments for every `deno test`
 * deno task test --record                 # also store the files' times (below)
 * ```
 *
 * Why not `deno test --parallel`: it runs test modules as isolates of one
 * process, which share the environment, the signal handlers and the working
 * directory; the simulated host (`SIM_HOST`), the backend switch and the
 * harness's child processes are configured through the environment, so two
 * modules at once interfere (and a module that hangs stops them all). A
 * process per file shares nothing, and a file that hangs is killed at its
 * timeout and reported as a failure without stopping the others.
 *
 * Files start in order of their last recorded wall time
 * (`tools/testdata/test_times.json`, written by `--record`), so the longest
 * do not start last and stretch the run. The selftest programs that time the
 * guest against the host's clock run alone, after the others
 * (`RUN_ALONE` of `run_selftests.ts`).
 *
 * @module
 */

import { parseArgs } from "@std/cli";
import { RUN_ALONE } from "./run_selftests.ts";
import {
  DEFAULT_JOBS,
  load_times,
  parse_jobs,
  record_times,
  reject_unknown_options,
  run_deno_merged,
  schedule,
} from "./schedule.ts";

/** Test files run at once by default (`schedule.ts`): one per host CPU, plus one. */
export { DEFAULT_JOBS };

/** A file that runs longer than this is killed and fails (the longest takes about a minute). */
export const FILE_TIMEOUT_S = 900;

/** Where `--record` stores each file's wall time, in seconds. */
const TIMES_URL = new URL("./testdata/test_times.json", import.meta.url);

const ROOT = new URL("../", import.meta.url);

const usage = `Usage: deno task test [options] [paths...] [-- deno test args]
  -j, --jobs N           test files run at once (default ${DEFAULT_JOBS}, the host's CPUs + 1)
      --junit-path FILE  write one JUnit report of the whole run
      --no-check         skip the type check of every module
      --record           store each file's wall time in tools/testdata/test_times.json
  -h, --help             this text
`;

/** Deno's test file names: `test.ts`, `*_test.ts`, `*.test.ts` (and js/jsx/tsx/mjs). */
const TEST_FILE = /(^|[._])test\.(ts|tsx|mts|js|jsx|mjs)$/;
/** Directories never searched. */
const SKIP_DIRS = new Set([".git", ".out", "node_modules"]);

/** Every file under `dir` (a path relative to the root) whose name matches `want`, sorted. */
export function find_files(dir: string, want: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = new URL(rel || ".", ROOT);
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(abs);
    } catch {
      throw new Error(`No such file or directory: ${rel}`);
    }
    if (info.isFile) {
      out.push(rel);
      return;
    }
    for (const e of Deno.readDirSync(abs)) {
      if (e.isDirectory && !SKIP_DIRS.has(e.name)) walk(rel ? `${rel}/${e.name}` : e.name);
      else if (e.isFile && want(e.name)) out.push(rel ? `${rel}/${e.name}` : e.name);
    }
  };
  walk(dir.replace(/^\.\/?/, "").replace(/\/+$/, ""));
  return out.sort();
}

/** One file's run. */
export interface file_result {
  /** Path relative to the root. */
  file: string;
  /** Exit status, or `null` when it was killed at the timeout. */
  code: number | null;
  /** Its output, stdout and stderr interleaved. */
  output: string;
  /** Its JUnit report, or "" when it wrote none. */
  junit: string;
  /** Wall time in milliseconds. */
  ms: number;
}

function xml_escape(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!,
  )
    // deno-lint-ignore no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, "");
}

/**
 * The `<testsuite>` elements of one file's report; a file that wrote none,
 * or exited non-zero with no failing case in it (it did not load, or was
 * killed), gets a failing case of its own, so that the merged report counts
 * it.
 */
export function file_suites(r: file_result): string {
  const first = r.junit.indexOf("<testsuite ");
  const last = r.junit.lastIndexOf("</testsuite>");
  const suites = first >= 0 && last > first
    ? r.junit.slice(first, last + "</testsuite>".length)
    : "";
  const failed_inside = /<failure|<error/.test(suites);
  if (r.code === 0 && suites) return suites;
  if (r.code !== 0 && failed_inside) return suites;
  const why = r.code === null
    ? `killed after ${FILE_TIMEOUT_S} s`
    : r.code === 0
    ? "wrote no JUnit report"
    : `deno test exited with ${r.code} outside any test`;
  const tail = r.output.split("\n").slice(-40).join("\n");
  return suites + `<testsuite name="./${xml_escape(r.file)}" tests="1" failures="1" errors="0">` +
    `<testcase name="${xml_escape(r.file)}: ${why}" classname="./${xml_escape(r.file)}" time="${
      (r.ms / 1000).toFixed(3)
    }"><failure message="${xml_escape(why)}">${xml_escape(tail)}</failure></testcase></testsuite>`;
}

/** Test cases, failures and skips counted over `<testcase>` elements. */
export function junit_counts(xml: string): { tests: number; failures: number; skipped: number } {
  let tests = 0, failures = 0, skipped = 0;
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    tests++;
    const body = m[2] ?? "";
    if (/<failure|<error/.test(body)) failures++;
    else if (/<skipped/.test(body)) skipped++;
  }
  return { tests, failures, skipped };
}

/** One JUnit report of every file's suites. */
export function merge_junit(results: readonly file_result[], seconds: number): string {
  const body = results.map(file_suites).join("\n");
  const c = junit_counts(body);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="deno task test" tests="${c.tests}" ` +
    `failures="${c.failures}" errors="0" time="${seconds.toFixed(3)}">\n${body}\n</testsuites>\n`;
}

async function run_file(file: string, deno_args: string[], junit_dir: string, n: number) {
  const junit = `${junit_dir}/${n}.xml`;
  const start = performance.now();
  const r = await run_deno_merged(
    ["test", "-A", "--no-check", `--junit-path=${junit}`, ...deno_args, file],
    { cwd: ROOT },
    FILE_TIMEOUT_S,
  );
  let report = "";
  try {
    report = Deno.readTextFileSync(junit);
  } catch {
    // None written: file_suites() reports it.
  }
  return {
    file,
    code: r.code,
    output: r.output,
    junit: report,
    ms: performance.now() - start,
  };
}

/** `deno check` of every module: its failure as a result, or undefined when it passed. */
async function type_check(): Promise<file_result | undefined> {
  const all = find_files("", (n) => n.endsWith(".ts"));
  const start = performance.now();
  const c = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...all],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(c.stdout) + new TextDecoder().decode(c.stderr);
  if (text) console.log(text.trimEnd());
  if (c.success) return undefined;
  return {
    file: "deno check",
    code: c.code,
    output: text,
    junit: "",
    ms: performance.now() - start,
  };
}

/** Entry point; returns the exit status (1 when the check or any file failed). */
export async function main(argv: string[]): Promise<number> {
  const dd = argv.indexOf("--");
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const deno_args = dd < 0 ? [] : argv.slice(dd + 1);
  const args = parseArgs(own, {
    boolean: ["help", "record", "check"],
    string: ["jobs", "junit-path"],
    negatable: ["check"],
    default: { check: true },
    alias: { h: "help", j: "jobs" },
    unknown: reject_unknown_options(usage),
  });
  if (args.help) {
    console.log(usage);
    return 0;
  }
  const jobs = parse_jobs(args.jobs ?? DEFAULT_JOBS, "files", usage);
  if (jobs === undefined) return 1;
  const roots = args._.length ? args._.map(String) : [""];
  const files = [...new Set(roots.flatMap((r) => find_files(r, (n) => TEST_FILE.test(n))))];
  if (files.length === 0) {
    console.error(`No test files under ${roots.join(", ")}`);
    return 1;
  }
  const t0 = performance.now();
  const results: file_result[] = [];

  // Every module, not only the test files' graphs: vCPU workers and other
  // entry points load at run time, where --no-check does not check them. The
  // check runs beside the first test files rather than before them: it is
  // one process, which left a core idle for its 3-7 s.
  const check = args.check ? type_check() : Promise.resolve(undefined);

  const times = load_times(TIMES_URL);
  const order = schedule(files, times);
  const shared = order.filter((f) => !RUN_ALONE.has(f.split("/").pop()!.replace(/\.ts$/, "")));
  const alone = order.filter((f) => !shared.includes(f));
  const junit_dir = Deno.makeTempDirSync({ prefix: "deno-task-test-" });
  const encoder = new TextEncoder();
  let n = 0;
  const report = (r: file_result) => {
    results.push(r);
    const status = r.code === 0 ? "ok" : r.code === null ? "TIMEOUT" : `FAILED (exit ${r.code})`;
    Deno.stdout.writeSync(encoder.encode(
      `${r.output.endsWith("\n") || !r.output ? r.output : r.output + "\n"}` +
        `=== ${r.file}: ${status} in ${
          (r.ms / 1000).toFixed(1)
        } s [${results.length}/${files.length}]\n`,
    ));
  };
  try {
    let next = 0;
    const slot = async () => {
      while (next < shared.length) {
        report(await run_file(shared[next++]!, deno_args, junit_dir, n++));
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, shared.length) }, slot));
    const failed_check = await check;
    if (failed_check) results.push(failed_check);
    for (const f of alone) report(await run_file(f, deno_args, junit_dir, n++));
  } finally {
    Deno.removeSync(junit_dir, { recursive: true });
  }
  const seconds = (performance.now() - t0) / 1000;

  const xml = merge_junit(results, seconds);
  if (args["junit-path"]) Deno.writeTextFileSync(args["junit-path"], xml);
  if (args.record) {
    record_times(
      TIMES_URL,
      Object.fromEntries(
        results.filter((r) => r.file !== "deno check").map((r) => [r.file, r.ms / 1000]),
      ),
    );
  }
  const c = junit_counts(xml);
  const bad = results.filter((r) => r.code !== 0);
  for (const r of bad) {
    console.log(`FAILED: ${r.file} (${r.code === null ? "timeout" : `exit ${r.code}`})`);
  }
  console.log(
    `${bad.length ? "FAILED" : "ok"} | ${
      c.tests - c.failures - c.skipped
    } passed | ${c.failures} failed | ` +
      `${c.skipped} ignored | ${files.length} files, ${jobs} at once, ${seconds.toFixed(0)} s`,
  );
  return bad.length ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
