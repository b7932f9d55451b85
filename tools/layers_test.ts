// SPDX-License-Identifier: GPL-2.0-only
/**
 * The layer rules of `docs/architecture.md`, checked over the import
 * specifiers of every `.ts` file in the repository:
 *
 * 1. The library (`include/`, `lib/`) does not import the simulator (`sim/`):
 *    it reaches "the kernel" through the syscall boundary only. The pairs in
 *    {@linkcode LIBRARY_TO_SIM} are the sanctioned exceptions, each with its
 *    reason.
 * 2. The simulator's modules do not import the selftest library: from
 *    `include/` only the uAPI and ABI headers, the layout engine, the libc
 *    boundary and the guest-code contract ({@linkcode SIM_MAY_IMPORT}); never
 *    `lib/`, `x86/` or `tools/`. Tests, benches and `testdata/` under `sim/`
 *    drive the simulator through the library and are exempt.
 * 3. The TDX module does not import KVM (`sim/kernel/`): both read the one
 *    host CPU model, `sim/host_cpu.ts`.
 * 4. Each architectural constant of the shared headers ({@linkcode ONE_DEFINITION})
 *    is written once: elsewhere it is imported, or derived from the one
 *    definition (`Number(flags.X86_CR0_PG)`), never given its value again.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import { walk } from "@std/fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));
const SELF = relative(ROOT, fileURLToPath(import.meta.url));

/**
 * The library files that may import a simulator module, and why. Keys are
 * `importer -> imported`, both relative to the repository root.
 */
const LIBRARY_TO_SIM: Readonly<Record<string, string>> = {
  "include/libc/backend.ts -> sim/backend.ts":
    "the backend switch: load_backend('sim') imports the simulator lazily, the one place the syscall boundary names it",
  "lib/guest_insn.ts -> sim/cpu/insn.ts":
    "guest intrinsics are the CPU's instructions: loaded lazily, in a simulator vCPU worker only (the type import names their signatures)",
  "include/libc/kvm_backend_bench.ts -> sim/cpu/testdata/machine.ts":
    "bench comparing the two backends: runs the same guest on a bare simulated machine",
  "include/libc/kvm_backend_bench.ts -> sim/cpu/testdata/guest.ts":
    "bench comparing the two backends: the guest it runs on the simulated machine",
  "lib/ucall_common_test.ts -> sim/cpu/insn.ts":
    "not an import: the test stats the CPU model to skip where the simulator is not shipped",
  "lib/elf_test.ts -> sim/use_sim_backend.ts":
    "test of code-record placement in a VM's image text: pins the sim backend, which every host has",
  "lib/x86/descriptor_tables_test.ts -> sim/use_sim_backend.ts":
    "test of the IDT's gates to the exception stubs: pins the sim backend (on /dev/kvm the gates go to the guest runtime's machine code)",
  "lib/memstress_test.ts -> sim/use_sim_backend.ts":
    "test of memstress's guest pass against the dirty log: pins the sim backend, which runs guest code on every host",
  "lib/guest_mistakes_bench.ts -> sim/backend.ts":
    "bench of the simulator's guest-mistake reporting: selects the sim backend",
  "lib/guest_mistakes_bench.ts -> sim/use_sim_backend.ts":
    "bench of the simulator's guest-mistake reporting: pins the sim backend",
  "lib/x86/guest_runtime_td_test.ts -> sim/use_sim_backend.ts":
    "test of the TD guest runtime on the simulated TDX CPU: pins the sim backend",
  "lib/guest_mistakes_test.ts -> sim/backend.ts":
    "test of how guest mistakes surface on the simulator (SimulatorBugError is the simulator's own error)",
  "lib/guest_mistakes_test.ts -> sim/use_sim_backend.ts":
    "test of how guest mistakes surface on the simulator: pins the sim backend",
  "lib/guest_mistakes_test.ts -> sim/cpu/vcpu_thread.ts":
    "test of how guest mistakes surface on the simulator: shortens the run deadline of the vCPU worker",
  "lib/guest_mistakes_test.ts -> sim/kernel/fs/file.ts":
    "test of how guest mistakes surface on the simulator: looks up the vCPU behind a file descriptor",
  "lib/guest_mistakes_test.ts -> sim/kernel/include/linux/sched.ts":
    "test of how guest mistakes surface on the simulator: the simulated process's file table",
};

/** What the simulator's modules may import from `include/`, and why. */
const SIM_MAY_IMPORT: readonly [RegExp, string][] = [
  [
    /^include\/linux\//,
    "uAPI headers (linux/kvm.h, errno, mman, ...), as the kernel includes them",
  ],
  [/^include\/asm\//, "uAPI headers (asm/kvm.h, asm/vmx.h, ...) and architectural definitions"],
  [/^include\/c\/layout\.ts$/, "the one layout engine for byte-exact structs"],
  [/^include\/libc\//, "the syscall boundary the simulator implements (Backend, errno, process)"],
  [
    /^include\/guest_code\.ts$/,
    "the guest-code record format the loader writes and the CPU fetches",
  ],
  [/^include\/x86\/ex_regs\.ts$/, "the exception frame the CPU's exception entry builds"],
  [
    /^include\/crypto\//,
    "hash primitives (the kernel's crypto/sha2.h), shared with the guest-code digest",
  ],
  [
    /^include\/x86\/tdx\/(tdcall|tdx|tdreport)\.ts$/,
    "TDX ABI constants and structs (TDCALL leaves, completion codes, TD attributes, TDREPORT): declarations only",
  ],
];

/** The headers whose every constant has one definition in the repository. */
const ONE_DEFINITION: readonly string[] = [
  "include/asm/msr-index.ts",
  "include/asm/processor-flags.ts",
  "include/asm/kvm_vcpu_regs.ts",
  "include/asm/irq_vectors.ts",
  "include/asm/vmx.ts",
  "include/asm/apicdef.ts",
];

/**
 * Files that still write some of those values again, and why; each is to
 * import the header instead (docs/architecture.md). Empty: every constant of
 * the headers above has its one definition.
 */
const SECOND_DEFINITIONS: Readonly<Record<string, string>> = {};

/** An import edge: `from` imports `to` (both relative to the root). */
interface edge {
  from: string;
  to: string;
}

/** Comments removed, so that an example in a doc comment is not an import. */
function strip_comments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

const SPECIFIER = new RegExp(
  [
    // import x from "m"; import { a } from "m"; import type ...; export ... from "m"
    String.raw`\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*["']([^"']+)["']`,
    // import "m"
    String.raw`\bimport\s*["']([^"']+)["']`,
    // import("m")
    String.raw`\bimport\s*\(\s*["']([^"']+)["']`,
    // new URL("m", import.meta.url): a module loaded by URL
    String.raw`\bnew\s+URL\s*\(\s*["']([^"']+\.ts)["']\s*,\s*import\.meta\.url`,
  ].join("|"),
  "g",
);

/**
 * The relative import specifiers of a module's source, resolved against its
 * path.
 *
 * @param from the module's path relative to the root
 * @param src its source text
 * @returns the modules it imports, relative to the root
 */
export function imports_of(from: string, src: string): string[] {
  const out: string[] = [];
  for (const m of strip_comments(src).matchAll(SPECIFIER)) {
    const spec = m.slice(1).find((s) => s !== undefined)!;
    if (!spec.startsWith(".")) continue;
    out.push(normalize(join(dirname(from), spec)));
  }
  return out;
}

async function all_edges(): Promise<edge[]> {
  const edges: edge[] = [];
  for await (
    const e of walk(ROOT, { exts: [".ts"], includeDirs: false, skip: [/\/\.git\//, /\/std\//] })
  ) {
    const from = relative(ROOT, e.path);
    for (const to of imports_of(from, await Deno.readTextFile(e.path))) edges.push({ from, to });
  }
  return edges;
}

/**
 * The constants `src` gives a value of its own: `const NAME = <literal
 * expression>` (numbers, bigints, shifts, ors, `BIT_ULL(n)`), not an import,
 * an alias of another constant or a conversion of one.
 *
 * @param src a module's source text
 * @returns the names it defines that way
 */
export function literal_constants(src: string): string[] {
  const out: string[] = [];
  const re = /\bconst\s+([A-Z_][A-Z0-9_a-z]*)\s*(?::\s*\w+\s*)?=\s*([^;]+);/g;
  for (const m of strip_comments(src).matchAll(re)) {
    if (/^[\s0-9a-fA-FxXn()<>|~+*-]*(BIT_ULL\(\d+\))?[\s0-9a-fA-FxXn()<>|~+*-]*$/.test(m[2]!)) {
      out.push(m[1]!);
    }
  }
  return out;
}

function is_test_support(path: string): boolean {
  return /(_test|_bench)\.ts$/.test(path) || path.split("/").includes("testdata");
}

/**
 * The imports that break a layer rule, as `importer -> imported: rule`.
 *
 * @param edges the import edges
 * @returns one line per violation
 */
export function layer_violations(edges: readonly edge[]): string[] {
  const bad: string[] = [];
  for (const { from, to } of edges) {
    const key = `${from} -> ${to}`;
    const src = from.split("/")[0];
    const dst = to.split("/")[0];
    if ((src === "include" || src === "lib") && dst === "sim" && !(key in LIBRARY_TO_SIM)) {
      bad.push(`${key}: the library reaches the simulator only through the backend switch`);
    }
    if (src !== "sim" || is_test_support(from)) continue;
    if (dst === "lib" || dst === "x86" || dst === "tools") {
      bad.push(`${key}: the simulator does not import the selftest library or programs`);
    } else if (dst === "include" && !SIM_MAY_IMPORT.some(([re]) => re.test(to))) {
      bad.push(
        `${key}: the simulator imports only uAPI/ABI headers and the boundary from include/`,
      );
    }
    if (from.startsWith("sim/tdx_module/") && to.startsWith("sim/kernel/")) {
      bad.push(`${key}: the TDX module does not import KVM (share sim/host_cpu.ts instead)`);
    }
  }
  return bad;
}

Deno.test("layers: no import crosses a layer boundary outside the allow-lists", async () => {
  const edges = await all_edges();
  assert(edges.length > 1000, `only ${edges.length} imports found: the scan is broken`);
  assertEquals(layer_violations(edges), []);
});

Deno.test("layers: every allow-listed library -> sim import still exists", async () => {
  const keys = new Set((await all_edges()).map((e) => `${e.from} -> ${e.to}`));
  assertEquals(Object.keys(LIBRARY_TO_SIM).filter((k) => !keys.has(k)), []);
});

Deno.test("constants: each constant of the shared headers has one definition", async () => {
  const names = new Set<string>();
  for (const h of ONE_DEFINITION) {
    for (const n of literal_constants(await Deno.readTextFile(join(ROOT, h)))) names.add(n);
  }
  assert(names.size > 150, `only ${names.size} constants found: the scan is broken`);
  const again: string[] = [];
  for await (
    const e of walk(ROOT, { exts: [".ts"], includeDirs: false, skip: [/\/\.git\//, /\/std\//] })
  ) {
    const file = relative(ROOT, e.path);
    // This file's own examples are strings, not definitions.
    if (ONE_DEFINITION.includes(file) || file in SECOND_DEFINITIONS || file === SELF) continue;
    const dup = literal_constants(await Deno.readTextFile(e.path)).filter((n) => names.has(n));
    if (dup.length) again.push(`${file}: ${dup.join(", ")}`);
  }
  assertEquals(again, []);
  // A file that no longer writes a value again leaves the exception list.
  for (const file of Object.keys(SECOND_DEFINITIONS)) {
    const own = literal_constants(await Deno.readTextFile(join(ROOT, file)));
    assert(
      own.some((n) => names.has(n)),
      `${file} defines none again: drop it from SECOND_DEFINITIONS`,
    );
  }
});

Deno.test("constants: a value written again is found, an import or a derivation is not", () => {
  assertEquals(
    literal_constants([
      "export const MSR_EFER = 0xc0000080;",
      "const EFER_LME: bigint = 1n << 8n;",
      "export const X86_CR0_PG: number = Number(flags.X86_CR0_PG);",
      "export const MSR_IA32_FS_BASE: number = MSR_FS_BASE;",
      "// const X86_CR4_PAE = 1 << 5;",
      "const X86_EFLAGS_IF: bigint = BIT_ULL(9);",
    ].join("\n")),
    ["MSR_EFER", "EFER_LME", "X86_EFLAGS_IF"],
  );
});

Deno.test("layers: a forbidden import is reported, one in a comment is not", () => {
  const lib_src = [
    `import { x } from "../sim/cpu/cpu.ts";`,
    `/** import "../sim/kernel/x86.ts"; (an example in a doc comment) */`,
    `// const m = await import("../sim/kernel/x86.ts");`,
  ].join("\n");
  const tdx_src = [
    `import type { Ref } from "../../include/kvm_util_types.ts";`,
    `export { y } from "../../lib/kvm_util.ts";`,
    `const m = await import("../kernel/arch/x86/kvm/cpuid.ts");`,
    `const u = new URL("../../x86/foo_test.ts", import.meta.url);`,
    `import { EFER_LME } from "../../include/asm/msr-index.ts";`,
  ].join("\n");
  const edges = [
    ...imports_of("lib/x.ts", lib_src).map((to) => ({ from: "lib/x.ts", to })),
    ...imports_of("sim/tdx_module/y.ts", tdx_src).map((to) => ({
      from: "sim/tdx_module/y.ts",
      to,
    })),
    { from: "sim/tdx_module/y_test.ts", to: "lib/kvm_util.ts" },
  ];
  assertEquals(layer_violations(edges).map((v) => v.slice(0, v.indexOf(": "))), [
    "lib/x.ts -> sim/cpu/cpu.ts",
    "sim/tdx_module/y.ts -> include/kvm_util_types.ts",
    "sim/tdx_module/y.ts -> lib/kvm_util.ts",
    "sim/tdx_module/y.ts -> sim/kernel/arch/x86/kvm/cpuid.ts",
    "sim/tdx_module/y.ts -> x86/foo_test.ts",
  ]);
});
