// SPDX-License-Identifier: GPL-2.0-only
/**
 * The disagreement groups `docs/fidelity.md` explains. The checker passes
 * only when every group of a run is one of them: a rate alone would let a new
 * simulator bug under 1% through. The list lives in the document, in the
 * table under the heading {@linkcode KNOWN_GROUPS_HEADING}, one row per
 * named rule:
 *
 * ```md
 * | rule | groups | reason |
 * | --- | --- | --- |
 * | vendor-pat | `KVM_SET_MSRS MSR 0x277: succeeds vs fails` | PVM accepts any PAT ... |
 * ```
 *
 * Each backticked pattern in the second column is a group key in which `*`
 * stands for any text; a row may list several. A row without a reason is an
 * error, so nothing is pinned without being explained.
 *
 * @module
 */

/** The heading of the table in `docs/fidelity.md`. */
export const KNOWN_GROUPS_HEADING = "### Known disagreement groups";

/** One explained kind of disagreement. */
export interface KnownGroup {
  /** The rule's name, as reports cite it. */
  readonly rule: string;
  /** The group-key patterns it covers. */
  readonly patterns: readonly string[];
  /** Why the two kernels differ there. */
  readonly reason: string;
}

/** `docs/fidelity.md`, beside this tool's repository root. */
export const FIDELITY_MD: URL = new URL("../../docs/fidelity.md", import.meta.url);

function glob_re(pattern: string): RegExp {
  const body = pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`);
}

/**
 * Parses the known-groups table out of a markdown document.
 *
 * @param md the document
 * @returns the rules, in the order written
 * @throws when the table is missing, or a row lacks a rule, a pattern or a reason
 */
export function parse_known_groups(md: string): KnownGroup[] {
  const lines = md.split("\n");
  const at = lines.findIndex((l) => l.trim() === KNOWN_GROUPS_HEADING);
  if (at < 0) throw new Error(`no '${KNOWN_GROUPS_HEADING}' table`);
  const out: KnownGroup[] = [];
  let rows = 0;
  for (const line of lines.slice(at + 1)) {
    const t = line.trim();
    if (t.startsWith("#")) break;
    if (!t.startsWith("|")) {
      if (rows > 0 && t !== "") break;
      continue;
    }
    rows++;
    const cells = t.slice(1, t.endsWith("|") ? -1 : undefined).split(" | ").map((c) => c.trim());
    if (rows <= 2) continue; // header and separator
    const [rule, groups, reason] = cells;
    const patterns = [...(groups ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    if (!rule || patterns.length === 0 || !reason) {
      throw new Error(`known-groups row without rule, pattern or reason: ${t}`);
    }
    out.push({ rule: rule.replace(/`/g, ""), patterns, reason });
  }
  if (out.length === 0) throw new Error(`'${KNOWN_GROUPS_HEADING}' has no rows`);
  return out;
}

/** The rules of `docs/fidelity.md`. */
export function known_groups(): KnownGroup[] {
  return parse_known_groups(Deno.readTextFileSync(FIDELITY_MD));
}

/**
 * The rule that explains a group key, if any.
 *
 * @param key a group key (`Difference.key`)
 * @param known the rules
 * @returns the first rule with a matching pattern
 */
export function explain(key: string, known: readonly KnownGroup[]): KnownGroup | undefined {
  return known.find((k) => k.patterns.some((p) => glob_re(p).test(key)));
}
