// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TypeScript harness against the C one, byte for byte.
 *
 * `testdata/kselftest_oracle/expected/` holds the outputs of small C programs
 * built against the newest upstream `kselftest_harness.h` (see
 * `expected/ORACLE_README.txt`), one case per line of `CASES.tsv`. Each C
 * program has a TypeScript twin beside it, with the statements on the same
 * lines. Every case runs its twin standalone twice, once with stdout and
 * stderr apart and once with both sent to one file (`>f 2>&1`, which shows the
 * interleaving), and must print exactly what the C program printed, with
 * `.c:` in `file:line` locations read as `.ts:`, and exit with the same status.
 *
 * The same twins are then run under `deno test`, where each harness test must
 * be one Deno test with the verdict of its C original.
 *
 * @module
 */

import { assertEquals } from "@std/assert";

const ORACLE_DIR = new URL("./testdata/kselftest_oracle/", import.meta.url);
const EXPECTED_DIR = new URL("expected/", ORACLE_DIR);

interface oracle_case {
  id: string;
  program: string;
  args: string[];
  env: Record<string, string>;
}

interface run_output {
  stdout: string;
  stderr: string;
  combined: string;
  rc: string;
}

function read_cases(): oracle_case[] {
  const lines = Deno.readTextFileSync(new URL("CASES.tsv", EXPECTED_DIR)).split("\n");
  const cases: oracle_case[] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const [id = "", program = "", args = "", env = ""] = line.split("\t");
    // The pre-7.1 header set is recorded for reference; the SDK follows the newest.
    if (id.endsWith("_pre71")) continue;
    cases.push({
      id,
      program,
      args: args === "" ? [] : args.split(" "),
      env: Object.fromEntries(
        env === "" ? [] : env.split(" ").map((
          kv,
        ) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
      ),
    });
  }
  return cases;
}

/** The environment the oracle ran in: no TAP level, no POSIX getopt, plus the case's own. */
function case_env(c: oracle_case): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.KSFT_TAP_LEVEL;
  delete env.POSIXLY_CORRECT;
  delete env.KSELFTEST_HARNESS_CHILD;
  return { ...env, ...c.env };
}

function twin_path(c: oracle_case): string {
  return new URL(`${c.program.replace(/^\.\//, "")}.ts`, ORACLE_DIR).pathname;
}

const decoder = new TextDecoder();

async function run_case(c: oracle_case): Promise<run_output> {
  const cwd = ORACLE_DIR.pathname;
  const argv = ["run", "-A", twin_path(c), ...c.args];
  const apart = new Deno.Command(Deno.execPath(), {
    args: argv,
    cwd,
    env: case_env(c),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();

  const combined_file = await Deno.makeTempFile({ prefix: "ksft-oracle-" });
  try {
    const together = new Deno.Command("sh", {
      args: [
        "-c",
        'out="$1"; shift; exec "$@" >"$out" 2>&1',
        "sh",
        combined_file,
        Deno.execPath(),
        ...argv,
      ],
      cwd,
      env: case_env(c),
      clearEnv: true,
      stdin: "null",
    }).output();
    const [a, t] = await Promise.all([apart, together]);
    const combined = await Deno.readTextFile(combined_file);
    assertEquals(t.code, a.code, `${c.id}: the two runs exited differently`);
    return {
      stdout: decoder.decode(a.stdout),
      stderr: decoder.decode(a.stderr),
      combined,
      rc: `${a.code}\n`,
    };
  } finally {
    await Deno.remove(combined_file);
  }
}

/** Run all cases a few at a time: each takes one Deno start-up per test, e_* take 1 s. */
function run_all(cases: oracle_case[]): Map<string, Promise<run_output>> {
  const results = new Map<string, Promise<run_output>>();
  const width = Math.max(4, navigator.hardwareConcurrency * 2);
  let next = 0;
  const slots: Promise<void>[] = [];
  const resolvers = new Map<string, [(r: run_output) => void, (e: unknown) => void]>();
  for (const c of cases) {
    results.set(c.id, new Promise((resolve, reject) => resolvers.set(c.id, [resolve, reject])));
  }
  // The slowest cases first, so they overlap the many quick ones.
  const order = [...cases].sort((a, b) =>
    Number(b.id.startsWith("e_")) - Number(a.id.startsWith("e_"))
  );
  const worker = async (): Promise<void> => {
    while (next < order.length) {
      const c = order[next++]!;
      const [resolve, reject] = resolvers.get(c.id)!;
      await run_case(c).then(resolve, reject);
    }
  };
  for (let i = 0; i < width; i++) slots.push(worker());
  return results;
}

function expected(id: string, kind: keyof run_output): string {
  const text = Deno.readTextFileSync(new URL(`${id}.${kind}`, EXPECTED_DIR));
  // C prints __FILE__ (a_basic.c); the twin prints its own file name.
  return text.replaceAll(".c:", ".ts:");
}

const cases = read_cases();
let runs: Map<string, Promise<run_output>> | undefined;

for (const c of cases) {
  const cmd = [c.program, ...c.args].join(" ");
  const env = Object.entries(c.env).map(([k, v]) => `${k}=${v} `).join("");
  Deno.test(`oracle ${c.id}: \`${env}${cmd}\` prints what the C harness prints`, async () => {
    runs ??= run_all(cases);
    const got = await runs.get(c.id)!;
    assertEquals(got.stdout, expected(c.id, "stdout"), "stdout");
    assertEquals(got.stderr, expected(c.id, "stderr"), "stderr");
    assertEquals(got.combined, expected(c.id, "combined"), "stdout and stderr together");
    assertEquals(got.rc, expected(c.id, "rc"), "exit status");
  });
}

Deno.test("the oracle covers every case of CASES.tsv except the pre-7.1 record", () => {
  assertEquals(cases.length, 36);
  assertEquals(cases.filter((c) => c.id.startsWith("f_")).map((c) => c.id), ["f_default"]);
});

/** The top-level results of `deno test --reporter=tap` on a twin: name -> ok. */
async function deno_test_results(
  twin: string,
): Promise<{ results: Map<string, boolean>; tap: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", "--reporter=tap", new URL(twin, ORACLE_DIR).pathname],
    env: case_env({ id: "", program: "", args: [], env: {} }),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const tap = decoder.decode(out.stdout);
  const results = new Map<string, boolean>();
  for (const m of tap.matchAll(/^(ok|not ok) \d+ - (.*)$/gm)) results.set(m[2]!, m[1] === "ok");
  return { results, tap };
}

Deno.test("under deno test, a_basic is one Deno test per TEST, with the C verdicts", async () => {
  const { results, tap } = await deno_test_results("a_basic.ts");
  assertEquals(
    [...results],
    [["global.always_pass", true], ["global.assert_eq_fails", false], [
      "global.skip_with_reason \\# SKIP reason: feature not available # SKIP",
      true,
    ]],
  );
  // A test that skips at run time is an ignored Deno test, its reason in the name.
  assertEquals(tap.includes("# SKIP reason: feature not available # SKIP"), true, tap);
  assertEquals(
    tap.includes("a_basic.ts:15:assert_eq_fails:Expected 42 (42) == answer (41)"),
    true,
    tap,
  );
});

Deno.test("under deno test, fixtures and variants are named fixture[.variant].test", async () => {
  const b = await deno_test_results("b_fixture.ts");
  assertEquals([...b.results], [
    ["global.standalone", true],
    ["counter.increments", true],
    ["counter.expect_fails", false],
  ]);
  const c = await deno_test_results("c_variant.ts");
  assertEquals([...c.results], [["sizes.narrow.fits_in_u32", true], [
    "sizes.wide.fits_in_u32",
    false,
  ]]);
});

Deno.test("under deno test, a requirement failing in main ignores every test with its reason", async () => {
  const { results } = await deno_test_results("d_skip.ts");
  assertEquals([...results], [
    ["global.never_runs \\# SKIP - Requirement not met: is_tdx_supported() # SKIP", true],
  ]);
});

Deno.test("under deno test, TEST_F_TIMEOUT fails the test and the next one runs", async () => {
  const { results } = await deno_test_results("e_timeout.ts");
  assertEquals([...results], [["slow.sleeps_past_timeout", false], [
    "slow.runs_after_timeout",
    true,
  ]]);
});

Deno.test("under deno test, ksft_exit_skip() in a test skips only that test", async () => {
  const { results, tap } = await deno_test_results("f_require.ts");
  assertEquals([...results], [
    ["global.runs_first", true],
    ["global.requires_tdx \\# SKIP - Requirement not met: is_tdx_supported() # SKIP", true],
    ["global.runs_last", true],
  ]);
  assertEquals(tap.includes("# SKIP - Requirement not met: is_tdx_supported() # SKIP"), true, tap);
});
