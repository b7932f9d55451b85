// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task mrtd [PROGRAM [ARGS...]] [--diff REV|DIR]`: the MRTD of each TD
 * a program builds on the simulator, with its measurement log, and what
 * changed against another revision or tree, page by page.
 *
 * ```sh
 * deno task mrtd                                  # the default program's TD
 * deno task mrtd x86/tdx_vm_test.ts -t verify_td_lifecycle
 * deno task mrtd --diff HEAD                      # working tree vs HEAD
 * deno task mrtd --diff ../other-tree x86/tdx_mrtd_test.ts -t mrtd_same_build
 * ```
 *
 * The program runs in a child process with `KVM_SELFTESTS_TRACE=seamcall,mrtd`
 * on the `sim` backend (`include/libc/trace.ts`): the simulated TDX module
 * traces each TDH.MEM.PAGE.ADD (GPA, SHA-256 of the page), the single-pass
 * TDH.MR.EXTENDs of a measured page, and TDH.MR.FINALIZE (MRTD); the TD
 * library says what lies in each page before adding it (boot code, boot
 * parameters, code records by function, guest globals, page tables, ...).
 *
 * `--diff REV` extracts `git archive REV` into a temporary directory and runs
 * the same program there (REV must have this tool's trace); `--diff DIR` uses
 * another tree as it is. TDs are paired in the order the program finalizes
 * them. Exit status: 0 when every MRTD matches, 1 when one differs, 2 on error.
 *
 * @module
 */

/** One measured (or only added) page of a TD, in measurement order. */
export interface mrtd_page {
  /** The page's GPA. */
  gpa: bigint;
  /** SHA-256 of the page's content when it was added (hex). */
  sha256: string;
  /** Whether TDH.MR.EXTEND measured its content too (else only its GPA is measured). */
  extended: boolean;
  /** The memslot the library added it from, when the `mrtd` trace said. */
  slot: number | undefined;
  /** The region it belongs to (`boot-code`, `image-text`, ...). */
  region: string;
  /** What lies there. */
  what: string;
}

/** One TD's build-time measurement. */
export interface mrtd_td {
  /** MRTD (hex), or `undefined` when the TD was never finalized. */
  mrtd: string | undefined;
  /** The pages in the order they were measured. */
  pages: mrtd_page[];
}

/** The repository root this tool belongs to. */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** The program measured when none is given: one small TD. */
export const DEFAULT_PROGRAM = "include/libc/testdata/trace_td.ts";

/**
 * Parses the trace of a program run into its TDs.
 *
 * @param text the program's stderr
 */
export function mrtd_parse(text: string): mrtd_td[] {
  const tds: mrtd_td[] = [];
  const annotations = new Map<bigint, { slot: number; region: string; what: string }>();
  let cur: mrtd_td | undefined;
  for (const line of text.split("\n")) {
    let m = /^kvm_trace: mrtd page gpa=0x([0-9a-f]+) slot=(\d+) region=(\S+) what=(.*)$/.exec(line);
    if (m) {
      annotations.set(BigInt(`0x${m[1]}`), { slot: Number(m[2]), region: m[3]!, what: m[4]! });
      continue;
    }
    if (!line.startsWith("kvm_trace: seamcall ")) continue;
    if (/^kvm_trace: seamcall TDH\.MNG\.CREATE -> TDX_SUCCESS$/.test(line)) {
      cur = { mrtd: undefined, pages: [] };
      tds.push(cur);
      continue;
    }
    m =
      /^kvm_trace: seamcall TDH\.MEM\.PAGE\.ADD gpa=0x([0-9a-f]+) sha256=([0-9a-f]+) -> TDX_SUCCESS$/
        .exec(line);
    if (m && cur) {
      const gpa = BigInt(`0x${m[1]}`);
      const a = annotations.get(gpa);
      cur.pages.push({
        gpa,
        sha256: m[2]!,
        extended: false,
        slot: a?.slot,
        region: a?.region ?? "?",
        what: a?.what ?? "?",
      });
      continue;
    }
    m = /^kvm_trace: seamcall TDH\.MR\.EXTEND gpa=0x([0-9a-f]+) chunks=16 -> TDX_SUCCESS$/.exec(
      line,
    );
    if (m && cur) {
      const last = cur.pages.at(-1);
      if (last && last.gpa === BigInt(`0x${m[1]}`)) last.extended = true;
      continue;
    }
    m = /^kvm_trace: seamcall TDH\.MR\.FINALIZE mrtd=([0-9a-f]{96}) -> TDX_SUCCESS$/.exec(line);
    if (m && cur) {
      cur.mrtd = m[1]!;
      cur = undefined;
    }
  }
  return tds;
}

/**
 * Runs `program` in tree `root` on the simulator with the measurement trace
 * and returns its TDs.
 *
 * @param root the tree's root directory
 * @param program the program, relative to the root
 * @param args its arguments
 * @throws Error when the program fails or builds no TD (with its stderr's tail)
 */
export async function mrtd_run(root: string, program: string, args: string[]): Promise<mrtd_td[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", program, ...args],
    cwd: root,
    env: { KVM_SELFTESTS_TRACE: "seamcall,mrtd", KVM_SELFTESTS_BACKEND: "sim" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  const tds = mrtd_parse(text);
  if (tds.length === 0 || !out.success) {
    const tail = text.split("\n").filter((l) => !l.startsWith("kvm_trace: ")).slice(-15);
    throw new Error(
      `${program} in ${root} ${out.success ? "built no TD" : `exited with ${out.code}`}` +
        `${tds.length === 0 ? " (no TDH.MNG.CREATE traced: does this tree trace seamcall?)" : ""}` +
        `:\n${tail.join("\n")}`,
    );
  }
  return tds;
}

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** The measurement log of `tds`, as `deno task mrtd` prints it. */
export function mrtd_format(tds: mrtd_td[]): string[] {
  const lines: string[] = [];
  tds.forEach((td, n) => {
    lines.push(`TD ${n}: MRTD ${td.mrtd ?? "(not finalized)"}`);
    lines.push(
      `  ${"#".padStart(4)}  ${"GPA".padEnd(12)} ${"measured".padEnd(15)} ` +
        `${"slot".padEnd(4)} ${"region".padEnd(17)} ${"sha256".padEnd(16)} what`,
    );
    td.pages.forEach((p, i) => {
      lines.push(
        `  ${String(i).padStart(4)}  ${hex(p.gpa).padEnd(12)} ` +
          `${(p.extended ? "ADD+EXTEND x16" : "ADD").padEnd(15)} ${
            String(p.slot ?? "?").padEnd(4)
          } ` +
          `${p.region.padEnd(17)} ${p.sha256.slice(0, 16)} ${p.what}`,
      );
    });
  });
  return lines;
}

/**
 * What differs between two builds, page by page: `-` a page only `a`
 * measured, `+` one only `b` measured, `~` a page both measured whose
 * content, measurement or place in the order differs.
 *
 * @returns the difference lines; empty when every MRTD matches
 */
export function mrtd_diff(a: mrtd_td[], b: mrtd_td[], names = ["a", "b"]): string[] {
  const out: string[] = [];
  if (a.length !== b.length) out.push(`${names[0]} built ${a.length} TDs, ${names[1]} ${b.length}`);
  for (let n = 0; n < Math.min(a.length, b.length); n++) {
    const x = a[n]!, y = b[n]!;
    if (x.mrtd === y.mrtd) {
      out.push(`TD ${n}: MRTD ${x.mrtd} (same)`);
      continue;
    }
    out.push(`TD ${n}: MRTD ${names[0]} ${x.mrtd}`, `TD ${n}: MRTD ${names[1]} ${y.mrtd}`);
    const xs = new Map(x.pages.map((p, i) => [p.gpa, [p, i] as const]));
    const ys = new Map(y.pages.map((p, i) => [p.gpa, [p, i] as const]));
    const label = (p: mrtd_page) => `${hex(p.gpa)} ${p.region}: ${p.what}`;
    for (const [gpa, [p]] of xs) if (!ys.has(gpa)) out.push(`  - ${label(p)}`);
    for (const [gpa, [p]] of ys) if (!xs.has(gpa)) out.push(`  + ${label(p)}`);
    let reordered = false;
    for (const [gpa, [p, i]] of xs) {
      const q = ys.get(gpa);
      if (!q) continue;
      const why: string[] = [];
      if (p.sha256 !== q[0].sha256) {
        why.push(`content ${p.sha256.slice(0, 12)} -> ${q[0].sha256.slice(0, 12)}`);
      }
      if (p.extended !== q[0].extended) {
        why.push(p.extended ? "no longer extended" : "now extended");
      }
      if (p.what !== q[0].what) why.push(`was: ${p.what}`);
      if (why.length) out.push(`  ~ ${label(q[0])} (${why.join("; ")})`);
      if (i !== q[1]) reordered = true;
    }
    if (reordered) out.push("  the order of PAGE.ADDs differs (the GPAs are measured in order)");
  }
  return out.some((l) => !l.endsWith("(same)")) ? out : [];
}

/** A tree to compare with: `DIR` as is, or `REV` extracted with `git archive`. */
async function other_tree(spec: string): Promise<{ root: string; cleanup: () => Promise<void> }> {
  try {
    if (Deno.statSync(`${spec}/deno.json`).isFile) {
      return { root: spec, cleanup: async () => {} };
    }
  } catch {
    // Not a tree: a revision.
  }
  const dir = await Deno.makeTempDir({ prefix: "mrtd_" });
  const cleanup = () => Deno.remove(dir, { recursive: true });
  const archive = await new Deno.Command("sh", {
    args: ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", ROOT, spec, dir],
    stderr: "piped",
  }).output();
  if (!archive.success) {
    await cleanup();
    throw new Error(`cannot extract ${spec}: ${new TextDecoder().decode(archive.stderr).trim()}`);
  }
  return { root: dir, cleanup };
}

if (import.meta.main) {
  const argv = [...Deno.args];
  let diff: string | undefined;
  const at = argv.indexOf("--diff");
  if (at >= 0) {
    diff = argv[at + 1];
    if (!diff) {
      console.error("--diff needs a revision or a tree");
      Deno.exit(2);
    }
    argv.splice(at, 2);
  }
  const program = argv.shift() ?? DEFAULT_PROGRAM;
  try {
    const here = await mrtd_run(ROOT, program, argv);
    if (diff === undefined) {
      console.log(mrtd_format(here).join("\n"));
      Deno.exit(0);
    }
    const other = await other_tree(diff);
    let d: string[];
    try {
      d = mrtd_diff(await mrtd_run(other.root, program, argv), here, [diff, "this tree"]);
    } finally {
      await other.cleanup();
    }
    console.log(d.length ? d.join("\n") : `MRTD unchanged (${here.length} TD(s))`);
    Deno.exit(d.length ? 1 : 0);
  } catch (e) {
    console.error(`mrtd: ${e instanceof Error ? e.message : e}`);
    Deno.exit(2);
  }
}
