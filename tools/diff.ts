// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task diff`: the differential checker. Replays seeded ioctl sequences
 * on two backends (by default the real `/dev/kvm` as the reference and the
 * simulator under test) and reports the agreement rate and every
 * disagreement, grouped by cause, with a minimal reproducer.
 *
 * ```sh
 * deno task diff                        # kvm vs sim, random seed, 2000 sequences
 * deno task diff --seed 42 -n 500       # a reproducible run
 * deno task diff --seed 42 --index 17   # one sequence of a report, with its calls
 * deno task diff --a kvm --b kvm        # self-test: must agree 100%
 * deno task diff --code -n 2000         # machine-code sequences (diff/code.ts)
 * deno task diff --code --index 17      # one of them: its source and both results
 * ```
 *
 * Exit status: 0 when every disagreement group is one `docs/fidelity.md`
 * explains (its "Known disagreement groups" table) and the agreement rate
 * reaches `--min-rate` (default 0), 1 otherwise, 4 (kselftest's skip) when a
 * backend cannot be used. Before the run both backends are probed
 * (`diff/probe.ts`) and only what both offer is generated.
 *
 * @module
 */

import {
  check_guest,
  compare_guest,
  format_guest_report,
  gen_guest,
  run_guest_programs,
} from "./diff/guest.ts";
import { G } from "./diff/guest_image.ts";
import { parseArgs } from "@std/cli";
import { type Backend, load_backend } from "../include/libc/backend.ts";
import {
  agreement,
  check,
  diff_calls,
  format_report,
  gen_options,
  probe,
  unexplained_groups,
} from "./diff/checker.ts";
import { generate } from "./diff/generator.ts";
import { format_difference } from "./diff/compare.ts";
import { format_call } from "./diff/sequence.ts";
import { check_code, compare_code, format_code_report, gen_code, run_code } from "./diff/code.ts";
import { code_vm } from "../sim/testdata/code_vm.ts";

const USAGE =
  `usage: deno task diff [--code | --guest] [--seed N] [-n COUNT] [--index I] [--a kvm] [--b sim]
                      [--shrink GROUPS] [--min-rate PERCENT] [--jobs J] [--quiet]
  --code           random machine-code sequences in real, protected and 64-bit mode
  --guest          random TypeScript guest programs (port I/O, MSRs, CPUID, memory through
                   4-level paging, #PF/#GP to guest handlers); -n programs, --index one
                   instead of ioctl sequences: exits, registers and memory compared
  --seed N         generator seed (default: random, printed)
  -n, --count N    sequences to run (default 2000)
  --index I        run only sequence I and print it with both backends' results
  --a, --b NAME    reference and tested backends (default kvm, sim)
  --shrink G       shrink a reproducer for the G most frequent groups (default 20)
  --min-rate P     also exit 1 below this agreement percentage (default 0: only
                   groups docs/fidelity.md does not explain fail the run)
  --jobs J         worker threads (default 2)
  --quiet          no progress line`;

async function open_backend(name: string): Promise<Backend | string> {
  try {
    const b = await load_backend(name);
    if (name === "kvm") {
      const fd = b.open("/dev/kvm", 2, 0);
      if (fd < 0) return `/dev/kvm: errno ${-fd} (Root required? Is KVM loaded and enabled?)`;
      b.close(fd);
    }
    return b;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Entry point; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const f = parseArgs(args, {
    string: ["seed", "count", "index", "a", "b", "shrink", "min-rate", "jobs"],
    boolean: ["help", "quiet", "code", "guest"],
    alias: { n: "count", h: "help" },
    default: { a: "kvm", b: "sim", count: "2000", shrink: "20", "min-rate": "0", jobs: "2" },
  });
  if (f.help) {
    console.log(USAGE);
    return 0;
  }
  const seed = f.seed !== undefined ? Number(f.seed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  const a = await open_backend(f.a);
  const b = await open_backend(f.b);
  for (const [name, x] of [[f.a, a], [f.b, b]] as const) {
    if (typeof x === "string") {
      console.log(`# SKIP backend '${name}' unusable: ${x}`);
      return 4;
    }
  }
  const ba = a as Backend;
  const bb = b as Backend;
  if (f.code) return await code_main(ba, bb, seed, f);
  if (f.guest) return guest_main(ba, bb, seed, f);
  if (f.index !== undefined) {
    const p = probe(ba, bb);
    const seq = generate(gen_options(seed, p), Number(f.index));
    const c = await diff_calls(ba, bb, seq.calls, p.offer.feature_caps);
    for (const call of seq.calls) console.log(format_call(call));
    console.log(`\n${c.agreed}/${c.compared} calls agree`);
    for (const d of c.diffs) console.log(format_difference(d, ba.name, bb.name));
    return c.diffs.length ? 1 : 0;
  }
  const quiet = f.quiet || !Deno.stdout.isTerminal();
  const count = Number(f.count);
  const report = await check({
    seed,
    count,
    a: ba,
    b: bb,
    shrink_groups: Number(f.shrink),
    jobs: Number(f.jobs),
    progress: quiet ? undefined : (n) => {
      if (n % 50 === 0) Deno.stdout.writeSync(new TextEncoder().encode(`\r${n}/${count}`));
    },
  });
  if (!quiet) console.log();
  console.log(format_report(report));
  if (unexplained_groups(report).length) return 1;
  return agreement(report) * 100 >= Number(f["min-rate"]) ? 0 : 1;
}

/** `--guest`: TypeScript guest programs (diff/guest.ts); exit status 1 below `--min-rate`. */
function guest_main(
  a: Backend,
  b: Backend,
  seed: number,
  f: { index?: string | undefined; count: string; "min-rate": string },
): number {
  console.log(`# seed ${seed}`);
  if (f.index !== undefined) {
    const i = Number(f.index);
    const p = gen_guest(seed, i);
    for (const [kind, arg] of p) {
      console.log(`  ${Object.entries(G).find(([, v]) => v === kind)?.[0]} 0x${arg.toString(16)}`);
    }
    const [ta] = run_guest_programs(a, seed, i, 1);
    const [tb] = run_guest_programs(b, seed, i, 1);
    const d = compare_guest(p, ta!, tb!);
    for (const [name, t] of [[a.name, ta!], [b.name, tb!]] as const) {
      console.log(
        `${name}: exits ${t.exits.join(", ")}; results ${t.results.map((r) => r.toString(16))}`,
      );
    }
    console.log(d ? `differ: ${d}` : "agree");
    return d ? 1 : 0;
  }
  const r = check_guest({ seed, count: Number(f.count), a, b });
  console.log(format_guest_report(r, a.name, b.name));
  return (100 * r.agreed) / Math.max(1, r.programs) >= Number(f["min-rate"]) ? 0 : 1;
}

/** `--code`: machine-code sequences; exit status 1 on any disagreement below `--min-rate`. */
async function code_main(
  a: Backend,
  b: Backend,
  seed: number,
  f: { index?: string | undefined; count: string; "min-rate": string },
): Promise<number> {
  if (a.name === "sim" || b.name === "sim") {
    // The sequences are machine code only: the simulator's vCPU workers need no guest image
    // (by default they would import this program and everything it imports).
    (await import("../sim/backend.ts")).set_exe_file([]);
  }
  if (f.index !== undefined) {
    const seq = gen_code(seed, Number(f.index));
    console.log(`# ${seq.mode}\n${seq.lines.join("\n")}`);
    const va = new code_vm(a);
    const vb = new code_vm(b);
    try {
      const ra = run_code(va, seq);
      const rb = run_code(vb, seq);
      console.log(
        `\n${a.name}:\n  ${ra.exits.join("\n  ")}\n${b.name}:\n  ${rb.exits.join("\n  ")}`,
      );
      const d = compare_code(seq, ra, rb);
      console.log(d ? `differ: ${d.key}` : "agree");
      return d ? 1 : 0;
    } finally {
      va[Symbol.dispose]();
      vb[Symbol.dispose]();
    }
  }
  const r = check_code({ seed, count: Number(f.count), a, b });
  console.log(format_code_report(r));
  const rate = (100 * r.agreed) / Math.max(1, r.sequences);
  return r.groups.length === 0 || rate >= Number(f["min-rate"]) && Number(f["min-rate"]) > 0
    ? 0
    : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
