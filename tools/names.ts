// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task names`: which functions and function-like macros of upstream's
 * selftest headers (`kvm_util.h`, `kvm_util_types.h`, `x86/processor.h`,
 * `ucall_common.h`, `test_util.h`) the library does not offer under the same
 * name, with the share offered per header and overall.
 *
 * A name counts as offered when one of the headers' twins (`include/kvm_util.ts`,
 * `include/kvm_util_types.ts`, `include/x86/processor.ts`,
 * `include/ucall_common.ts`, `include/test_util.ts`) exports it: those are what
 * a port imports, as a C test includes the headers.
 *
 * ```sh
 * deno task names              # per-header table and the missing names
 * deno task names --min 85     # exit 1 when the overall share is below 85%
 * ```
 *
 * The name lists are in `tools/testdata/upstream_names/` (see its README for
 * the upstream baseline).
 *
 * @module
 */

/** One upstream header's list of names (functions or function-like macros). */
export interface name_list {
  /** The list's file name, `<header>.<fn|macro>`. */
  file: string;
  /** The header, e.g. `x86/processor.h`. */
  header: string;
  /** `fn` or `macro`. */
  kind: string;
  /** The names, in upstream's order. */
  names: string[];
}

/** How much of one header the library offers. */
export interface header_coverage {
  /** The header, e.g. `x86/processor.h`. */
  header: string;
  /** Names the header declares (functions and macros). */
  total: number;
  /** Of those, names the library exports. */
  offered: number;
  /** The names the library lacks, in upstream's order. */
  missing: string[];
}

/** The library modules that stand for upstream's headers. */
export const HEADER_TWINS: readonly string[] = [
  "../include/kvm_util.ts",
  "../include/kvm_util_types.ts",
  "../include/x86/processor.ts",
  "../include/ucall_common.ts",
  "../include/test_util.ts",
];

const NAMES_DIR = new URL("./testdata/upstream_names/", import.meta.url);

const PINNING =
  "vCPU threads are Web Workers: Deno gives no handle to a thread's scheduler affinity (C's pthread_setaffinity_np() on a pthread_t), so a task cannot be pinned";
const ASM = "an inline-asm building block (register constraints, asm text); the SDK's " +
  "KVM_ASM_SAFE()/kvm_asm_safe() take assembler lines or a TypeScript instruction instead " +
  "(lib/x86/fep.ts, lib/x86/guest.ts), and what the macros generate is ported";

/**
 * Upstream names that cannot exist in this SDK, with the reason. They still
 * count as missing, so the share stays what the library offers; the report
 * lists them apart from the names left to port.
 */
export const NOT_PORTABLE: Readonly<Record<string, string>> = {
  __pin_task_to_cpu: PINNING,
  pin_task_to_cpu: PINNING,
  pin_task_to_random_cpu: PINNING,
  pin_task_to_any_cpu: PINNING,
  pin_self_to_cpu: PINNING,
  pin_self_to_any_cpu: PINNING,
  kvm_print_vcpu_pinning_help: PINNING,
  kvm_parse_vcpu_pinning: PINNING,
  guest_get_vcpuid: "arm64, RISC-V and LoongArch define it; x86's processor.c has none, " +
    "so an x86 test cannot call it",
  __KVM_ASM_SAFE: ASM,
  KVM_ASM_SAFE_OUTPUTS: ASM,
  BUILD_READ_U64_SAFE_HELPER: ASM,
  BUILD_READ_U64_SAFE_HELPERS: ASM,
  test_seq_read: "test_util.h declares it but no upstream file defines it (a stale prototype)",
  expect_sigbus_handler: "a SIGBUS from a user-memory access cannot be caught: Deno has no " +
    "sigsetjmp, and on the kvm backend the signal ends the process",
  TEST_EXPECT_SIGBUS: "a SIGBUS from a user-memory access cannot be caught: Deno has no " +
    "sigsetjmp, and on the kvm backend the signal ends the process",
};

/** Reads the upstream name lists (`<header>.fn` / `<header>.macro`). */
export function read_name_lists(dir: URL = NAMES_DIR): name_list[] {
  const lists: name_list[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const m = /^(.+)\.(fn|macro)$/.exec(e.name);
    if (!e.isFile || !m) continue;
    const names = Deno.readTextFileSync(new URL(e.name, dir)).split(/\s+/).filter((s) => s);
    // The x86 header's list is named after its base name: upstream's path is x86/.
    const header = m[1] === "processor.h" ? "x86/processor.h" : m[1]!;
    lists.push({ file: e.name, header, kind: m[2]!, names });
  }
  lists.sort((a, b) => a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
  return lists;
}

/** The names the header twins export (values and types alike: a C macro may be either). */
export async function library_names(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of HEADER_TWINS) {
    const ns = await import(new URL(m, import.meta.url).href);
    for (const k of Object.keys(ns)) names.add(k);
  }
  return names;
}

/** Coverage per header (functions and macros of a header together). */
export function coverage(lists: name_list[], offered: Set<string>): header_coverage[] {
  const by = new Map<string, header_coverage>();
  for (const l of lists) {
    let c = by.get(l.header);
    if (!c) {
      c = { header: l.header, total: 0, offered: 0, missing: [] };
      by.set(l.header, c);
    }
    for (const n of l.names) {
      c.total++;
      if (offered.has(n)) c.offered++;
      else c.missing.push(n);
    }
  }
  return [...by.values()];
}

/** The overall share, in percent, over all headers. */
export function overall_percent(cov: header_coverage[]): number {
  const total = cov.reduce((s, c) => s + c.total, 0);
  const offered = cov.reduce((s, c) => s + c.offered, 0);
  return total ? (100 * offered) / total : 100;
}

/**
 * The report `deno task names` prints: the share per header and overall,
 * the names left to port, then those that cannot exist here with the reason.
 *
 * @param cov the coverage per header
 * @param not_portable names that cannot exist here, with the reason
 */
export function format_coverage(
  cov: header_coverage[],
  not_portable: Readonly<Record<string, string>> = NOT_PORTABLE,
): string {
  const lines: string[] = [];
  const total = cov.reduce((s, c) => s + c.total, 0);
  const offered = cov.reduce((s, c) => s + c.offered, 0);
  for (const c of cov) {
    const pct = ((100 * c.offered) / c.total).toFixed(1);
    lines.push(`${c.header.padEnd(18)} ${String(c.offered).padStart(4)}/${c.total} ${pct}%`);
  }
  lines.push(
    `${"overall".padEnd(18)} ${String(offered).padStart(4)}/${total} ${
      overall_percent(cov).toFixed(1)
    }%`,
  );
  for (const c of cov) {
    const left = c.missing.filter((n) => !Object.hasOwn(not_portable, n));
    if (left.length) lines.push(`missing from ${c.header}: ${left.join(" ")}`);
  }
  // Names sharing a reason on one line, in upstream's order.
  const by_reason = new Map<string, string[]>();
  for (const c of cov) {
    for (const n of c.missing.filter((n) => Object.hasOwn(not_portable, n))) {
      const why = not_portable[n]!;
      by_reason.set(why, [...by_reason.get(why) ?? [], n]);
    }
  }
  for (const [why, names] of by_reason) lines.push(`not portable: ${names.join(" ")}: ${why}`);
  return lines.join("\n");
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--min");
  const min = i >= 0 ? Number(Deno.args[i + 1]) : 0;
  if (Number.isNaN(min)) {
    console.error("usage: deno task names [--min PERCENT]");
    Deno.exit(2);
  }
  const cov = coverage(read_name_lists(), await library_names());
  console.log(format_coverage(cov));
  if (overall_percent(cov) < min) {
    console.error(`names: ${overall_percent(cov).toFixed(1)}% is below --min ${min}%`);
    Deno.exit(1);
  }
}
