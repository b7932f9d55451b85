// SPDX-License-Identifier: GPL-2.0-only
/**
 * `deno task export-c [--base REV] [-o FILE]`: the C patch skeleton of a
 * prototype, for the part of the work that goes upstream.
 *
 * It compares the SDK's modules at `REV` (default `HEAD`) with the working
 * tree (`git archive REV` is imported beside this tree) and writes, per
 * upstream file the changed module mirrors:
 *
 * - each new or changed struct and union as the layout engine declares it
 *   (`c_declaration()`, the C gcc checks in `include/c/layout_oracle_test.ts`);
 * - each new or changed constant as a `#define`;
 * - each new or changed function's prototype, its C types taken from the
 *   TypeScript signature where the mapping is known (`bigint` → `uint64_t`,
 *   `kvm_vm` → `struct kvm_vm *`, `Ref<bigint>` → `uint64_t *`, ...), into
 *   the header twin of a `lib/` module;
 * - a **marked hunk** (`EXPORT-C:` and an `#error`) for each piece with no C
 *   twin yet: function bodies and selftest programs (their TypeScript kept
 *   under `#if 0` to port from), parameters whose C type is not known,
 *   modules with no upstream path.
 *
 * The result is a skeleton, not a `git am`-able patch: hunks carry no
 * context; place each one in the upstream file by hand, port the marked
 * hunks, and delete the marks (`grep -n EXPORT-C`).
 *
 * @module
 */

import { c_declaration, type RecordType } from "../include/c/layout.ts";

/** Where the kselftest library lives upstream. */
const KVM_SELFTESTS = "tools/testing/selftests/kvm";

/**
 * The upstream path of an SDK module, or `undefined` when it has none (the
 * simulator, tools, the SDK's own infrastructure).
 *
 * @param path the module, relative to the repository root
 */
export function upstream_path(path: string): string | undefined {
  if (/_test\.ts$/.test(path) && !path.startsWith("x86/")) return undefined;
  if (path === "include/linux/kvm.ts") return "include/uapi/linux/kvm.h";
  if (path === "include/asm/kvm.ts") return "arch/x86/include/uapi/asm/kvm.h";
  if (path === "lib/x86/tdx/td_boot.ts") return `${KVM_SELFTESTS}/lib/x86/tdx/td_boot.S`;
  if (path === "lib/x86/tdx/tdcall.ts") return `${KVM_SELFTESTS}/lib/x86/tdx/tdcall.S`;
  let m = /^include\/((?:x86\/)?[\w/]+)\.ts$/.exec(path);
  if (m && !/^(c|libc|linux|asm)\//.test(m[1]!)) return `${KVM_SELFTESTS}/include/${m[1]}.h`;
  m = /^lib\/([\w/]+)\.ts$/.exec(path);
  if (m) return `${KVM_SELFTESTS}/lib/${m[1]}.c`;
  m = /^x86\/(\w+)\.ts$/.exec(path);
  if (m) return `${KVM_SELFTESTS}/x86/${m[1]}.c`;
  return undefined;
}

/** The header twin of a library `.c` (`lib/x86/tdx/tdx.c` → `include/x86/tdx/tdx.h`). */
function header_of(c_path: string): string | undefined {
  const m = new RegExp(`^${KVM_SELFTESTS}/lib/([\\w/]+)\\.c$`).exec(c_path);
  return m ? `${KVM_SELFTESTS}/include/${m[1]}.h` : undefined;
}

/** C types of the TypeScript types the library's signatures use. */
const C_TYPES: Record<string, string> = {
  "bigint": "uint64_t",
  "number | bigint": "uint64_t",
  "bigint | number": "uint64_t",
  "boolean": "bool",
  "void": "void",
  "string": "const char *",
  "kvm_vm": "struct kvm_vm *",
  "kvm_vcpu": "struct kvm_vcpu *",
  "Ref<bigint>": "uint64_t *",
  "Ref<bigint> | null": "uint64_t *",
  "gpa_t": "vm_paddr_t",
  "gva_t": "vm_vaddr_t",
  "hva_t": "void *",
  "tdx_hypercall_args": "struct tdx_hypercall_args *",
  "tdx_module_output": "struct tdx_module_output *",
  "tdx_module_output | null": "struct tdx_module_output *",
  "ucall_x86_ops": "const struct ucall_x86_ops *",
};

/** `type name`, or `undefined` when the C type of `ts` is not known. */
function c_param(name: string, ts: string): string | undefined {
  const t = C_TYPES[ts.trim()];
  if (!t) return undefined;
  return t.endsWith("*") ? `${t}${name}` : `${t} ${name}`;
}

/** One exported function's signature, read from the module's source. */
interface ts_signature {
  name: string;
  params: { name: string; type: string }[];
  ret: string;
  /** 1-based line of the declaration. */
  line: number;
  /** The whole declaration and body. */
  text: string;
}

/** Splits `a: T, b: U = 1` at top-level commas. */
function split_params(s: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if ("<([{".includes(c)) depth++;
    if (")]}".includes(c) || (c === ">" && s[i - 1] !== "=")) depth--;
    if (c === "," && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** The exported functions of a module's source text, by name. */
export function ts_signatures(source: string): Map<string, ts_signature> {
  const out = new Map<string, ts_signature>();
  for (const m of source.matchAll(/^export function (\w+)(?:<[^>]*>)?\(/gm)) {
    const start = m.index!;
    // The parameter list ends at its balancing parenthesis.
    let i = start + m[0].length, depth = 1;
    for (; i < source.length && depth > 0; i++) {
      if (source[i] === "(") depth++;
      else if (source[i] === ")") depth--;
    }
    const paramText = source.slice(start + m[0].length, i - 1);
    const brace = source.indexOf("{\n", i);
    const ret = /^\s*:\s*([^]*?)\s*$/.exec(source.slice(i, brace))?.[1] ?? "void";
    // The body ends at the first line that is exactly "}".
    const end = source.indexOf("\n}\n", start);
    const params = split_params(paramText.replace(/\/\/[^\n]*/g, "")).map((p) => {
      const colon = p.indexOf(":");
      const name = (colon < 0 ? p : p.slice(0, colon)).replace("?", "").trim();
      const type = colon < 0 ? "unknown" : p.slice(colon + 1).replace(/\s*=[^>][^]*$/, "").trim();
      return { name, type };
    });
    out.set(m[1]!, {
      name: m[1]!,
      params,
      ret,
      line: source.slice(0, start).split("\n").length,
      text: source.slice(start, end < 0 ? undefined : end + 2),
    });
  }
  return out;
}

/** The text of `export const name ...` up to its end (a `;` line or a closing `};`). */
function decl_text(source: string, name: string): string | undefined {
  const m = new RegExp(`^export (?:const|let) ${name}\\b.*$`, "m").exec(source);
  if (!m) return undefined;
  const start = m.index;
  if (/;\s*$/.test(m[0])) return m[0];
  const end = /^\S.*[;)]\s*$/m.exec(source.slice(start + m[0].length + 1));
  return end
    ? source.slice(start, start + m[0].length + 1 + end.index + end[0].length).trimEnd()
    : m[0];
}

/** The C prototype of `sig`, and the parameters whose C type is not known. */
export function c_prototype(sig: ts_signature): { proto: string; unknown: string[] } {
  const unknown: string[] = [];
  const params = sig.params.map((p) => {
    if (p.name.startsWith("...")) return "...";
    const c = c_param(p.name, p.type);
    if (!c) unknown.push(`${p.name}: ${p.type}`);
    return c ?? `/* EXPORT-C: C type of '${p.type}' */ ${p.name}`;
  });
  const ret = C_TYPES[sig.ret] ??
    (unknown.push(`return: ${sig.ret}`), `/* EXPORT-C: ${sig.ret} */ void`);
  const sep = ret.endsWith("*") ? "" : " ";
  return {
    proto: `${ret}${sep}${sig.name}(${params.length ? params.join(", ") : "void"})`,
    unknown,
  };
}

function isRecord(v: unknown): v is RecordType {
  return typeof v === "object" && v !== null &&
    ((v as RecordType).kind === "struct" || (v as RecordType).kind === "union") &&
    typeof (v as RecordType).name === "string";
}

function c_value(v: number | bigint): string {
  const b = BigInt(v);
  if (b < 0n) return `(${b})`;
  return b < 4096n ? `${b}` : `0x${b.toString(16)}${b > 0xffffffffn ? "ULL" : ""}`;
}

/** A string or template argument of a builder call, as the C source spells it. */
function unquote(arg: string): string {
  const t = arg.trim();
  return /^(["'`]).*\1$/s.test(t) ? t.slice(1, -1) : t;
}

/**
 * `lib/x86/tdx/td_boot.ts` style bodies: one assembler call per line
 * (`a.movl("X", "Y")`), each of which is one line of GNU as. Lines that are
 * not such calls (setup, `return`) are dropped; a call with a computed
 * operand is marked.
 */
function asm_lines(text: string): { lines: string[]; marked: boolean } | undefined {
  const lines: string[] = [];
  let calls = 0, marked = false;
  for (const raw of text.split("\n").slice(1)) {
    const line = raw.trim();
    const c = /^\/\/\s?(.*)$/.exec(line);
    if (c) {
      lines.push(`\t/* ${c[1]} */`);
      continue;
    }
    const m = /^a\.(\w+)\((.*)\);$/.exec(line);
    if (!m) continue;
    calls++;
    const [op, args] = [m[1]!, m[2]!];
    const ops = args ? split_params(args).map(unquote) : [];
    if (ops.some((o) => /[${}+]/.test(o) && !/^\$/.test(o))) marked = true;
    if (op === "label") lines.push(`${ops[0]}:`);
    else if (op === "global") lines.push(`.globl ${ops[0]}`);
    else if (/^code(16|32|64)$/.test(op)) lines.push(`.${op}`);
    else lines.push(`\t${op}${ops.length ? " " + ops.join(", ") : ""}`);
  }
  if (calls === 0) return undefined;
  if (marked) lines.unshift("/* EXPORT-C: an operand is computed in TypeScript: check it */");
  return { lines, marked };
}

/** `common()` of an offsets module: `OFFSET("SYM", type, "member")` is C's `OFFSET(SYM, type, member)`. */
function kbuild_lines(text: string): { lines: string[]; marked: boolean } | undefined {
  const calls = [...text.matchAll(/^\s*(OFFSET|DEFINE|COMMENT|BLANK)\((.*)\);$/gm)];
  if (calls.length === 0) return undefined;
  const lines = ["static void __attribute__((used)) common(void)", "{"];
  let marked = false;
  for (const [, fn, args] of calls) {
    const ops = args ? split_params(args!) : [];
    if (fn === "DEFINE") {
      // The value is computed in TypeScript; C writes the expression.
      const expr = ops[1]!.replace(/^sizeof\((\w+)\)$/, "sizeof(struct $1)");
      lines.push(`\tDEFINE(${unquote(ops[0]!)}, ${expr});`);
    } else if (fn === "OFFSET") {
      lines.push(`\tOFFSET(${ops.map(unquote).join(", ")});`);
    } else if (fn === "COMMENT") {
      lines.push(`\tCOMMENT(${ops[0]});`);
    } else lines.push("\tBLANK();");
    if (ops.some((o) => /\(.*\(/.test(o))) marked = true;
  }
  lines.push("}");
  return { lines, marked };
}

/** One hunk of the skeleton. */
export interface c_hunk {
  /** The upstream file. */
  file: string;
  /** What the hunk is (`struct td_per_vcpu_parameters`, `new function tdg_...`). */
  title: string;
  /** C lines. */
  lines: string[];
  /** Whether it is a marked hunk (no C twin yet). */
  marked: boolean;
}

async function load(root: string, path: string): Promise<Record<string, unknown> | undefined> {
  try {
    Deno.statSync(`${root}/${path}`);
  } catch {
    return undefined;
  }
  return await import(new URL(path, `file://${root.endsWith("/") ? root : root + "/"}`).href);
}

/**
 * The hunks for one changed module.
 *
 * @param base_root the base tree (`undefined`: the module is new)
 * @param root the working tree
 * @param path the module, relative to the roots
 */
export async function export_module(
  base_root: string | undefined,
  root: string,
  path: string,
): Promise<c_hunk[]> {
  const file = upstream_path(path);
  const source = await Deno.readTextFile(`${root}/${path}`);
  // Generated files (`deno task gen`) are Kbuild's output upstream: their source is exported.
  if (/DO NOT MODIFY\. Generated by `deno task gen`/.test(source)) return [];
  if (!file) {
    return [{
      file: `(${path})`,
      title: "no upstream twin",
      lines: [`/* EXPORT-C: ${path} has no upstream file; move what it adds where it belongs */`],
      marked: true,
    }];
  }
  if (path.startsWith("x86/")) {
    const tests = [...source.matchAll(/^TEST\("(\w+)"/gm)].map((m) => m[1]!);
    return [{
      file,
      title: "selftest program",
      lines: [
        `/* EXPORT-C: port ${path} (TESTs: ${tests.join(", ") || "none"}) */`,
        `#error "export-c: port ${path}"`,
        "#if 0",
        ...source.split("\n"),
        "#endif",
      ],
      marked: true,
    }];
  }
  const now = await load(root, path) ?? {};
  const before = base_root ? await load(base_root, path) ?? {} : {};
  const beforeSource = base_root
    ? await Deno.readTextFile(`${base_root}/${path}`).catch(() => "")
    : "";
  const sigs = ts_signatures(source);
  const beforeSigs = ts_signatures(beforeSource);
  const hunks: c_hunk[] = [];
  const defines: string[] = [];
  for (const [name, v] of Object.entries(now)) {
    const old = before[name];
    if (isRecord(v) && v.name !== "") {
      const decl = c_declaration(v);
      if (!isRecord(old) || c_declaration(old) !== decl) {
        hunks.push({
          file,
          title: `${old ? "changed" : "new"} ${v.kind} ${v.name}`,
          lines: decl.split("\n"),
          marked: false,
        });
      }
    } else if (typeof v === "number" || typeof v === "bigint") {
      if (old !== v) defines.push(`#define ${name} ${c_value(v)}`);
    } else if (typeof v === "object" && v !== null && !isRecord(v)) {
      // An object (an ops table, a shape): C's twin is an initialized struct
      // or a table the author writes; its TypeScript is kept to port from.
      const text = decl_text(source, name);
      if (!text || decl_text(beforeSource, name) === text) continue;
      hunks.push({
        file,
        title: `${name in before ? "changed" : "new"} ${name} (no C twin)`,
        lines: [
          `/* EXPORT-C: write ${name} in C (an initialized struct or table), from ${path} */`,
          `#error "export-c: port ${name} from ${path}"`,
          "#if 0",
          ...text.split("\n"),
          "#endif",
        ],
        marked: true,
      });
    } else if (typeof v === "function") {
      const sig = sigs.get(name);
      if (!sig || beforeSigs.get(name)?.text === sig.text) continue;
      const direct = file.endsWith(".S") ? asm_lines(sig.text) : kbuild_lines(sig.text);
      if (direct) {
        hunks.push({
          file,
          title: `${beforeSigs.has(name) ? "changed" : "new"} ${name} (${
            file.endsWith(".S") ? "assembly" : "Kbuild offsets"
          }, translated call by call)`,
          lines: direct.lines,
          marked: direct.marked,
        });
        continue;
      }
      const { proto, unknown } = c_prototype(sig);
      const isNew = !beforeSigs.has(name);
      const header = header_of(file) ?? file;
      if (isNew || beforeSigs.get(name)!.params.length !== sig.params.length) {
        hunks.push({
          file: header,
          title: `${isNew ? "new" : "changed"} prototype ${name}`,
          lines: [`${proto};`],
          marked: unknown.length > 0,
        });
      }
      hunks.push({
        file,
        title: `${isNew ? "new" : "changed"} function ${name}`,
        lines: [
          `/* EXPORT-C: port the body of ${name}() from ${path}:${sig.line}${
            unknown.length ? `; C types unknown for ${unknown.join(", ")}` : ""
          } */`,
          proto,
          "{",
          `#error "export-c: port ${name}() from ${path}"`,
          "#if 0",
          ...sig.text.split("\n"),
          "#endif",
          "}",
        ],
        marked: true,
      });
    }
  }
  if (defines.length) hunks.unshift({ file, title: "constants", lines: defines, marked: false });
  return hunks;
}

/** The skeleton's text: one `diff --git` section per upstream file, one hunk per piece. */
export function format_skeleton(hunks: c_hunk[], base: string): string {
  const out = [
    `# deno task export-c: C patch skeleton of the changes since ${base}.`,
    "# Hunks have no context: place each in its file by hand. Marked hunks (EXPORT-C,",
    "# #error) have no C twin yet: port them, then remove the marks.",
    "",
  ];
  const byFile = new Map<string, c_hunk[]>();
  for (const h of hunks) byFile.set(h.file, [...byFile.get(h.file) ?? [], h]);
  for (const [file, hs] of byFile) {
    out.push(`diff --git a/${file} b/${file}`, `--- a/${file}`, `+++ b/${file}`);
    for (const h of hs) {
      out.push(`@@ ${h.marked ? "EXPORT-C " : ""}${h.title} @@`);
      for (const l of h.lines) out.push(`+${l}`);
    }
  }
  return out.join("\n") + "\n";
}

async function git(root: string, args: string[]): Promise<string> {
  const r = await new Deno.Command("git", {
    args: ["-C", root, ...args],
    stderr: "piped",
    stdout: "piped",
  })
    .output();
  if (!r.success) {
    throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(r.stderr).trim()}`);
  }
  return new TextDecoder().decode(r.stdout);
}

/**
 * The skeleton of the changes in `root` since `base`.
 *
 * @param root the working tree (a git checkout)
 * @param base the revision the prototype started from
 */
export async function export_c(root: string, base: string): Promise<string> {
  const changed = (await git(root, ["diff", "--name-only", base, "--", "include", "lib", "x86"]))
    .split("\n")
    .concat(
      (await git(root, [
        "ls-files",
        "--others",
        "--exclude-standard",
        "--",
        "include",
        "lib",
        "x86",
      ]))
        .split("\n"),
    )
    .filter((p) =>
      p.endsWith(".ts") && !/(_test|_bench)\.ts$|\/testdata\//.test(p) || /^x86\/\w+\.ts$/.test(p)
    )
    .filter((p, i, a) => p && a.indexOf(p) === i)
    .sort();
  const dir = await Deno.makeTempDir({ prefix: "export_c_" });
  try {
    const archive = await new Deno.Command("sh", {
      args: ["-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, base, dir],
      stderr: "piped",
    }).output();
    if (!archive.success) {
      throw new Error(`cannot extract ${base}: ${new TextDecoder().decode(archive.stderr).trim()}`);
    }
    const hunks: c_hunk[] = [];
    for (const p of changed) {
      try {
        Deno.statSync(`${root}/${p}`);
      } catch {
        continue; // deleted
      }
      hunks.push(...await export_module(dir, root, p));
    }
    return format_skeleton(hunks, base);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const opt = (flag: string) => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const base = opt("--base") ?? "HEAD";
  const file = opt("-o");
  const root = new URL("../", import.meta.url).pathname;
  try {
    const text = await export_c(root, base);
    if (file) await Deno.writeTextFile(file, text);
    else await Deno.stdout.write(new TextEncoder().encode(text));
    // The modules loaded a backend and may hold vCPU workers: leave now.
    Deno.exit(0);
  } catch (e) {
    console.error(`export-c: ${e instanceof Error ? e.message : e}`);
    Deno.exit(2);
  }
}
