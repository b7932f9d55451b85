// SPDX-License-Identifier: GPL-2.0-only
/**
 * The selftest runner: `deno task selftests`. It runs every selftest program
 * in `x86/` as kselftest's `run_kselftest.sh` runs the kvm collection: one
 * process per program, its output indented under `# selftests: kvm: <name>`,
 * one TAP result line per program, a per-program timeout, and a summary that
 * names every failure. On the `kvm` backend a failure that the host's older
 * kernel explains (`include/known_host_failures.ts`) is reported as kselftest's
 * `XFAIL`, with its reason, and does not fail the run.
 *
 * ```sh
 * deno task selftests                       # all programs, simulator backend
 * deno task selftests -l                    # list them
 * deno task selftests -t tdx_vm_test        # only these (repeatable)
 * deno task selftests -S guest_memfd_test   # all but these (repeatable)
 * deno task selftests --backend kvm -o 60   # real /dev/kvm, 60 s per program
 * deno task selftests -- -t verify_td_lifecycle   # arguments for every program
 * ```
 *
 * @module
 */

import { parseArgs } from "@std/cli";
import { expandGlob } from "@std/fs";
import { BACKEND_ENV, backend_names, DEFAULT_BACKEND } from "../include/libc/backend.ts";
import { expected_host_failure, type known_host_failure } from "../include/known_host_failures.ts";
import {
  DEFAULT_JOBS,
  load_times,
  parse_jobs,
  record_times,
  reject_unknown_options,
  run_deno_merged,
  schedule,
} from "./schedule.ts";

/** KVM's kselftest `settings` file raises the runner's 45 s default to 120 s. */
export const DEFAULT_TIMEOUT_S = 120;

/**
 * Programs run at once by default on the simulator: one per host CPU, plus
 * one (`schedule.ts`). Each program is its own process, so they cannot see
 * each other's state; a simulated program is mostly one busy thread at a
 * time (its vCPU workers wait while it runs the kernel, and the other way
 * round). On the `kvm` backend programs run one at a time, as kselftest's
 * runner runs them: real vCPUs share the host's CPUs, and timing tests (TSC,
 * APIC bus clock) count on having them.
 */
export { DEFAULT_JOBS };

/**
 * Programs that time the guest against the host's clock within a tight
 * margin (`tsc_msrs_test`: the TSC must still read 0 when rounded to 2^30
 * cycles at the guest's first instruction; `apic_bus_clock_test`: the APIC
 * timer within 1% of the TSC): they run one at a time after the others, so
 * that programs running in parallel do not slow their vCPUs.
 */
export const RUN_ALONE: ReadonlySet<string> = new Set(["apic_bus_clock_test", "tsc_msrs_test"]);

/**
 * Where `--record` stores each program's wall time (seconds, by backend and
 * name): programs start longest first (`schedule.ts`), results still print
 * in program order.
 */
const TIMES_URL = new URL("./testdata/selftest_times.json", import.meta.url);

/** The exit status kselftest uses for a skip. */
const KSFT_SKIP = 4;

/** One program's outcome. */
export interface program_result {
  /** Program name, as kselftest names it (file name without `.ts`). */
  name: string;
  /** Exit status, or `null` when it was killed by the timeout. */
  code: number | null;
  /** Everything it printed, stdout and stderr interleaved. */
  output: string;
  /** Wall time in milliseconds. */
  ms: number;
}

const usage = `Usage: deno task selftests [options] [-- program args]
  -l, --list           list the programs and exit
  -t, --test NAME      run only NAME (repeatable)
  -S, --skip NAME      do not run NAME (repeatable)
  -o, --timeout SECS   per-program timeout (default ${DEFAULT_TIMEOUT_S})
  -j, --jobs N         programs run at once (default ${DEFAULT_JOBS}, the host's CPUs + 1, on
                       the simulator; 1 on kvm); programs that time the guest
                       against the host clock run alone, after the others
      --backend NAME   ${
  backend_names().join(" | ")
} (default ${DEFAULT_BACKEND}, or $${BACKEND_ENV})
  -q, --quiet          no progress line on stderr
      --record         store each program's wall time in tools/testdata/selftest_times.json
  -h, --help           this text
`;

/** The selftest programs under `dir`, sorted by name. */
export async function find_programs(dir: URL): Promise<URL[]> {
  const found: URL[] = [];
  for await (const e of expandGlob("*.ts", { root: dir.pathname, includeDirs: false })) {
    found.push(new URL(`file://${e.path}`));
  }
  return found.sort((a, b) => a.pathname.localeCompare(b.pathname));
}

/** The kselftest name of a program file. */
export function program_name(url: URL): string {
  return url.pathname.split("/").pop()!.replace(/\.ts$/, "");
}

/** Runs one program with its output captured, killing it at the timeout. */
export async function run_program(
  url: URL,
  args: string[],
  env: Record<string, string>,
  timeout_s: number,
): Promise<program_result> {
  const start = performance.now();
  const r = await run_deno_merged(["run", "-A", url.pathname, ...args], { env }, timeout_s);
  return {
    name: program_name(url),
    code: r.code,
    output: r.output,
    ms: performance.now() - start,
  };
}

/**
 * The runner's TAP result line for a program, as kselftest's runner.sh words
 * it; an expected failure is `ok ... # XFAIL reason`, as `ksft_test_result_xfail` words it.
 */
export function tap_line(
  n: number,
  r: program_result,
  timeout_s: number,
  xfail?: known_host_failure,
): string {
  const title = `selftests: kvm: ${r.name}`;
  if (r.code === null) return `not ok ${n} ${title} # TIMEOUT ${timeout_s} seconds`;
  if (r.code === 0) return `ok ${n} ${title}`;
  if (r.code === KSFT_SKIP) return `ok ${n} ${title} # SKIP`;
  if (xfail) return `ok ${n} ${title} # XFAIL ${xfail.reason}`;
  return `not ok ${n} ${title} # exit=${r.code}`;
}

/**
 * The known host difference that explains a failed program on `backend`, if any
 * (a timeout is never one).
 */
export function xfail_of(r: program_result, backend: string): known_host_failure | undefined {
  if (r.code === null || r.code === 0 || r.code === KSFT_SKIP) return undefined;
  return expected_host_failure(r.name, backend, r.output);
}

/**
 * The directives of the SKIP and XFAIL result lines a program printed for
 * its parts (`ok N # SKIP ...`, `ok N name # XFAIL ...`): a passing program
 * whose parts could not all run.
 */
export function skipped_parts(output: string): ("SKIP" | "XFAIL")[] {
  return [...output.matchAll(/^ok \d+ [^\n]*?# (SKIP|XFAIL)\b/gm)].map((m) =>
    m[1] as "SKIP" | "XFAIL"
  );
}

function indent(output: string): string {
  if (output.length === 0) return "";
  const body = output.endsWith("\n") ? output.slice(0, -1) : output;
  return body.split("\n").map((l) => `# ${l}`).join("\n") + "\n";
}

/** Entry point; returns the process exit status (1 when any program failed). */
export async function main(argv: string[]): Promise<number> {
  const dd = argv.indexOf("--");
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const prog_args = dd < 0 ? [] : argv.slice(dd + 1);
  const args = parseArgs(own, {
    boolean: ["list", "help", "quiet", "record"],
    string: ["test", "skip", "timeout", "jobs", "backend"],
    collect: ["test", "skip"],
    alias: { l: "list", h: "help", q: "quiet", t: "test", S: "skip", o: "timeout", j: "jobs" },
    unknown: reject_unknown_options(usage),
  });
  if (args.help) {
    console.log(usage);
    return 0;
  }
  const timeout_s = Number(args.timeout ?? DEFAULT_TIMEOUT_S);
  const backend = args.backend ?? Deno.env.get(BACKEND_ENV) ?? DEFAULT_BACKEND;
  const jobs = parse_jobs(
    args.jobs ?? (backend === DEFAULT_BACKEND ? DEFAULT_JOBS : 1),
    "programs",
    usage,
  );
  if (jobs === undefined) return 1;
  if (!backend_names().includes(backend)) {
    console.error(`Unknown backend '${backend}': known backends are ${backend_names().join(", ")}`);
    return 1;
  }
  const only = new Set(args.test.map(String));
  const skip = new Set(args.skip.map(String));
  const all = await find_programs(new URL("../x86/", import.meta.url));
  for (const name of [...only, ...skip]) {
    if (!all.some((u) => program_name(u) === name)) {
      console.error(`No selftest program named '${name}' in x86/`);
      return 1;
    }
  }
  const programs = all.filter((u) =>
    (only.size === 0 || only.has(program_name(u))) && !skip.has(program_name(u))
  );
  if (args.list) {
    for (const p of programs) console.log(`kvm:${program_name(p)}`);
    return 0;
  }

  const env = { ...Deno.env.toObject(), [BACKEND_ENV]: backend };
  const progress = !args.quiet && Deno.stderr.isTerminal();
  console.log("TAP version 13");
  console.log(`1..${programs.length}`);
  console.log(`# timeout set to ${timeout_s}`);

  const results: (program_result | undefined)[] = new Array(programs.length);
  const waiters: ((r: program_result) => void)[] = [];
  const done = programs.map((_, i) => new Promise<program_result>((res) => (waiters[i] = res)));
  let finished = 0;
  const run_one = async (i: number) => {
    const r = await run_program(programs[i]!, prog_args, env, timeout_s);
    results[i] = r;
    finished++;
    if (progress) {
      Deno.stderr.writeSync(
        new TextEncoder().encode(`\r[${finished}/${programs.length}] ${r.name}\x1b[K`),
      );
    }
    waiters[i]!(r);
  };
  const times = load_times(TIMES_URL);
  const key = (i: number) => `${backend}:${program_name(programs[i]!)}`;
  const by_key = new Map(programs.map((_, i) => [key(i), i]));
  const indices = schedule([...by_key.keys()], times).map((k) => by_key.get(k)!);
  const shared = indices.filter((i) => !RUN_ALONE.has(program_name(programs[i]!)));
  const alone = indices.filter((i) => RUN_ALONE.has(program_name(programs[i]!)));
  let next = 0;
  const worker = async () => {
    while (next < shared.length) await run_one(shared[next++]!);
  };
  const pool = (async () => {
    await Promise.all(Array.from({ length: Math.min(jobs, shared.length) }, worker));
    for (const i of alone) await run_one(i);
  })();
  // Results print in program order even when they finish out of order.
  for (let i = 0; i < programs.length; i++) {
    const r = await done[i]!;
    if (progress) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    const text = `# selftests: kvm: ${r.name}\n${indent(r.output)}${
      tap_line(i + 1, r, timeout_s, xfail_of(r, backend))
    }\n`;
    Deno.stdout.writeSync(new TextEncoder().encode(text));
  }
  await pool;

  const rs = results as program_result[];
  if (args.record) {
    record_times(
      TIMES_URL,
      Object.fromEntries(rs.map((r) => [`${backend}:${r.name}`, r.ms / 1000])),
    );
  }
  const xfailed = rs.filter((r) => xfail_of(r, backend) !== undefined);
  const failed = rs.filter((r) =>
    r.code !== 0 && r.code !== KSFT_SKIP && xfail_of(r, backend) === undefined
  );
  const skipped = rs.filter((r) => r.code === KSFT_SKIP);
  const passed = rs.length - failed.length - xfailed.length - skipped.length;
  const parts = rs.filter((r) => r.code === 0).flatMap((r) => skipped_parts(r.output));
  console.log(
    `# Totals: pass:${passed} fail:${failed.length} xfail:${xfailed.length} ` +
      `skip:${skipped.length} (backend ${backend}); parts of passing programs: ` +
      `skip:${parts.filter((p) => p === "SKIP").length} ` +
      `xfail:${parts.filter((p) => p === "XFAIL").length}`,
  );
  for (const r of xfailed) {
    console.log(`# XFAIL: ${r.name} (exit=${r.code}): ${xfail_of(r, backend)!.reason}`);
  }
  for (const r of failed) {
    console.log(
      `# FAILED: ${r.name} (${r.code === null ? `timeout ${timeout_s} s` : `exit=${r.code}`})`,
    );
  }
  return failed.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
