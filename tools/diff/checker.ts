// SPDX-License-Identifier: GPL-2.0-only
/**
 * The differential checker: generates sequences, replays each on two
 * backends, compares, groups the disagreements by cause and shrinks one
 * sequence per group to a minimal reproducer.
 *
 * @module
 */

import type { Backend } from "../../include/libc/backend.ts";
import {
  KVM_CAP_MULTI_ADDRESS_SPACE,
  KVM_CAP_VM_TYPES,
  KVM_CHECK_EXTENSION,
} from "../../include/linux/kvm.ts";
import { O_RDWR } from "../../include/linux/fcntl.ts";
import { generate, type GenOptions } from "./generator.ts";
import { replay } from "./replay.ts";
import {
  call_kind,
  compare,
  type Difference,
  EXEMPTIONS,
  format_difference,
  HW_VM_TYPES_MASK,
} from "./compare.ts";
import { type Call, format_call } from "./sequence.ts";
import { shrink } from "./shrink.ts";
import { common_offer, type HostProfile, type Offer, probe_host } from "./probe.ts";
import { explain, known_groups, type KnownGroup } from "./known.ts";

/** How a run is made. */
export interface CheckOptions {
  /** The seed of the generator. */
  seed: number;
  /** How many sequences to run. */
  count: number;
  /** Index of the first sequence (to rerun one sequence of a report: `first = i, count = 1`). */
  first?: number;
  /** The reference backend (normally `kvm`). */
  a: Backend;
  /** The backend under test (normally `sim`). */
  b: Backend;
  /** Groups to shrink a reproducer for (0: none). */
  shrink_groups?: number;
  /** Called after each sequence. */
  progress?: ((done: number) => void) | undefined;
  /** Worker threads to spread the sequences over (default 1: this thread). */
  jobs?: number;
}

/** The answer of each backend to KVM_CAP_VM_TYPES, and what the generator uses. */
export interface VmTypes {
  /** The reference backend's bitmap (or -errno). */
  a: number;
  /** The other backend's bitmap (or -errno). */
  b: number;
  /** Whether they agree once the hardware types (SEV, SNP, TDX) are masked. */
  agree: boolean;
  /** Types both support: VMs are created with these. */
  common: number[];
  /** Types (0..7) neither supports: creating one must fail alike. */
  neither: number[];
  /** Whether both have the SMM memslot address space (KVM_CAP_MULTI_ADDRESS_SPACE > 1). */
  smm: boolean;
}

/** What was asked of both backends before a run, and what the run generates from it. */
export interface RunProbe {
  /** VM types. */
  vm_types: VmTypes;
  /** Each backend's profile, reference first. */
  profiles: [HostProfile, HostProfile];
  /** What both offer: what is generated and what is exempt because of it. */
  offer: Offer;
}

/** One cause of disagreement. */
export interface Group {
  /** The grouping key (see `Difference.key`). */
  key: string;
  /** Differences in the group. */
  count: number;
  /** Sequences with at least one of them. */
  sequences: number;
  /** The first sequence index it was seen in. */
  index: number;
  /** The first difference. */
  first: Difference;
  /** The distinct calls or fields it covers (capability names, MSRs, ...), up to 40. */
  variants: string[];
  /** The shrunk sequence, when shrinking was asked for. */
  reproducer?: Call[];
  /** The differences of the group's kind that the reproducer shows. */
  reproducer_diffs?: Difference[];
}

/** What a run found. */
export interface CheckReport {
  /** The seed. */
  seed: number;
  /** Backend names, reference first. */
  backends: [string, string];
  /** What the probe found. */
  probe: RunProbe;
  /** Sequences run. */
  sequences: number;
  /** Sequences where every call agreed. */
  clean: number;
  /** Calls compared. */
  compared: number;
  /** Calls that agreed. */
  agreed: number;
  /** Differences in calls that use a handle of an earlier disagreeing call (not grouped). */
  cascades: number;
  /** Disagreement groups, most frequent first. */
  groups: Group[];
  /** Wall time of the run (generation, replays and comparison; not shrinking), in ms. */
  ms: number;
  /** Wall time spent shrinking, in ms. */
  shrink_ms: number;
}

function cap_of(b: Backend, cap: number): number {
  const fd = b.open("/dev/kvm", O_RDWR, 0);
  if (fd < 0) return fd;
  try {
    return b.ioctl(fd, KVM_CHECK_EXTENSION, BigInt(cap));
  } finally {
    b.close(fd);
  }
}

/** Asks each backend which VM types it supports. */
export function probe_vm_types(a: Backend, b: Backend): VmTypes {
  const ta = cap_of(a, KVM_CAP_VM_TYPES);
  const tb = cap_of(b, KVM_CAP_VM_TYPES);
  // A kernel without KVM_CAP_VM_TYPES (0, or an error) supports the default VM only.
  const ma = ta > 0 ? ta : 1;
  const mb = tb > 0 ? tb : 1;
  const common: number[] = [];
  const neither: number[] = [];
  for (let t = 0; t < 8; t++) {
    if (ma & mb & (1 << t)) common.push(t);
    else if (!((ma | mb) & (1 << t))) neither.push(t);
  }
  return {
    a: ta,
    b: tb,
    agree: (ta & ~HW_VM_TYPES_MASK) === (tb & ~HW_VM_TYPES_MASK),
    common: common.length ? common : [0],
    neither,
    smm: cap_of(a, KVM_CAP_MULTI_ADDRESS_SPACE) > 1 && cap_of(b, KVM_CAP_MULTI_ADDRESS_SPACE) > 1,
  };
}

/**
 * The KVM vendor module behind the host's `/dev/kvm` (`kvm_intel`,
 * `kvm_amd`, or another such as `kvm_pvm`), from sysfs: which vendor code
 * the reference's answers come from.
 */
export function kvm_vendor_module(): string {
  try {
    for (const e of Deno.readDirSync("/sys/module")) {
      if (e.name.startsWith("kvm_")) return e.name;
    }
  } catch {
    // No sysfs: say so below.
  }
  return "unknown";
}

function profile_of(b: Backend): HostProfile {
  if (b.name !== "kvm") return probe_host(b, b.name, { vendor_module: b.name });
  let kernel = "";
  try {
    kernel = Deno.osRelease();
  } catch {
    // Without --allow-sys the profile has no kernel release.
  }
  return probe_host(b, b.name, { vendor_module: kvm_vendor_module(), kernel });
}

/** Probes both backends: VM types, capabilities, guest_memfd, LA57. */
export function probe(a: Backend, b: Backend): RunProbe {
  const profiles: [HostProfile, HostProfile] = [profile_of(a), profile_of(b)];
  return { vm_types: probe_vm_types(a, b), profiles, offer: common_offer(...profiles) };
}

/** The generator's options for a run of `seed` against what the probe found. */
export function gen_options(seed: number, p: RunProbe): GenOptions {
  return {
    seed,
    vm_types: p.vm_types.common,
    bad_vm_types: p.vm_types.neither,
    smm: p.vm_types.smm,
    guest_memfd: p.offer.guest_memfd,
    pre_fault: p.offer.pre_fault,
  };
}

/** Replays `calls` on both backends (in mmap lane `lane`, see `replay.ts`) and compares. */
export async function diff_calls(
  a: Backend,
  b: Backend,
  calls: readonly Call[],
  feature_caps: readonly number[] = [],
  lane = 0,
) {
  const ra = await replay(a, calls, lane);
  const rb = await replay(b, calls, lane);
  return compare(calls, ra, rb, new Set(feature_caps));
}

/** The part of a run one thread makes: sequences `[first, first + count)`, no shrinking. */
export interface SliceOptions {
  /** The seed. */
  seed: number;
  /** First sequence index. */
  first: number;
  /** Number of sequences. */
  count: number;
  /** What the probe found, once for the whole run. */
  probe: RunProbe;
  /** Called after each sequence with the number done. */
  progress?: ((done: number) => void) | undefined;
  /** The mmap lane of this slice's replays: one per slice that runs at once (default 0). */
  lane?: number;
}

/** A run's counts and groups before shrinking: what a slice (or a worker) hands back. */
export type SliceReport = Omit<CheckReport, "ms" | "shrink_ms" | "backends" | "seed" | "probe">;

/** Runs one slice of a run on two backends in this thread. */
export async function run_slice(a: Backend, b: Backend, o: SliceOptions): Promise<SliceReport> {
  const gen = gen_options(o.seed, o.probe);
  const groups = new Map<string, Group>();
  const r: SliceReport = {
    sequences: 0,
    clean: 0,
    compared: 0,
    agreed: 0,
    cascades: 0,
    groups: [],
  };
  for (let i = o.first; i < o.first + o.count; i++) {
    const seq = generate(gen, i);
    const c = await diff_calls(a, b, seq.calls, o.probe.offer.feature_caps, o.lane ?? 0);
    r.sequences++;
    r.compared += c.compared;
    r.agreed += c.agreed;
    if (c.diffs.length === 0) r.clean++;
    const seen = new Set<string>();
    for (const d of c.diffs) {
      if (d.cascade) {
        r.cascades++;
        continue;
      }
      let g = groups.get(d.key);
      if (!g) {
        g = { key: d.key, count: 0, sequences: 0, index: i, first: d, variants: [] };
        groups.set(d.key, g);
      }
      const variant = d.call.op === "caps" ? d.field : call_kind(d.call);
      if (g.variants.length < 40 && !g.variants.includes(variant)) g.variants.push(variant);
      g.count++;
      if (!seen.has(d.key)) g.sequences++;
      seen.add(d.key);
    }
    o.progress?.(r.sequences);
  }
  r.groups = [...groups.values()];
  return r;
}

/** Adds slice `s` into `into`, merging groups by key. */
export function merge_slices(into: SliceReport, s: SliceReport): void {
  into.sequences += s.sequences;
  into.clean += s.clean;
  into.compared += s.compared;
  into.agreed += s.agreed;
  into.cascades += s.cascades;
  for (const g of s.groups) {
    const h = into.groups.find((x) => x.key === g.key);
    if (!h) {
      into.groups.push({ ...g, variants: [...g.variants] });
      continue;
    }
    h.count += g.count;
    h.sequences += g.sequences;
    if (g.index < h.index) {
      h.index = g.index;
      h.first = g.first;
    }
    for (const v of g.variants) {
      if (h.variants.length < 40 && !h.variants.includes(v)) h.variants.push(v);
    }
  }
}

/** Runs a slice in a worker thread, with its own instances of both backends. */
function run_slice_in_worker(names: [string, string], o: SliceOptions): Promise<SliceReport> {
  const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
  return new Promise<SliceReport>((resolve, reject) => {
    w.onmessage = (e: MessageEvent<{ done?: number; report?: SliceReport; error?: string }>) => {
      if (e.data.done !== undefined) return o.progress?.(e.data.done);
      w.terminate();
      if (e.data.report) resolve(e.data.report);
      else reject(new Error(e.data.error));
    };
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      reject(new Error(e.message));
    };
    const { progress: _, ...plain } = o;
    w.postMessage({ names, options: plain });
  });
}

/** Runs the checker. */
export async function check(o: CheckOptions): Promise<CheckReport> {
  const p = probe(o.a, o.b);
  const t0 = performance.now();
  const first = o.first ?? 0;
  const jobs = Math.max(1, Math.min(o.jobs ?? 1, o.count));
  const total: SliceReport = {
    sequences: 0,
    clean: 0,
    compared: 0,
    agreed: 0,
    cascades: 0,
    groups: [],
  };
  if (jobs === 1) {
    merge_slices(
      total,
      await run_slice(o.a, o.b, {
        seed: o.seed,
        first,
        count: o.count,
        probe: p,
        progress: o.progress,
      }),
    );
  } else {
    // Slices of consecutive indices; each worker loads its own backends (a real
    // kernel spends most of a sequence in memslot RCU grace periods: threads overlap them).
    const done = new Array<number>(jobs).fill(0);
    const per = Math.ceil(o.count / jobs);
    const slices = [];
    for (let j = 0; j < jobs; j++) {
      const f = first + j * per;
      const n = Math.min(per, first + o.count - f);
      if (n <= 0) continue;
      slices.push(run_slice_in_worker([o.a.name, o.b.name], {
        seed: o.seed,
        first: f,
        count: n,
        probe: p,
        lane: j,
        progress: (d) => {
          done[j] = d;
          o.progress?.(done.reduce((x, y) => x + y, 0));
        },
      }));
    }
    for (const s of await Promise.all(slices)) merge_slices(total, s);
  }
  const ms = performance.now() - t0;
  const sorted = total.groups.sort((x, y) => y.count - x.count || x.index - y.index);
  const t1 = performance.now();
  const gen = gen_options(o.seed, p);
  const fc = p.offer.feature_caps;
  for (const g of sorted.slice(0, o.shrink_groups ?? 0)) {
    const calls = generate(gen, g.index).calls;
    g.reproducer = await shrink(calls, async (cand) => {
      const c = await diff_calls(o.a, o.b, cand, fc);
      return c.diffs.some((d) => d.key === g.key && !d.cascade);
    });
    g.reproducer_diffs = (await diff_calls(o.a, o.b, g.reproducer, fc)).diffs;
  }
  return {
    ...total,
    groups: sorted,
    seed: o.seed,
    backends: [o.a.name, o.b.name],
    probe: p,
    ms,
    shrink_ms: performance.now() - t1,
  };
}

/** The agreement rate of compared calls, in [0, 1]. */
export function agreement(r: CheckReport): number {
  return r.compared ? r.agreed / r.compared : 1;
}

/**
 * The groups of a run that no rule of `docs/fidelity.md` explains: each is a
 * simulator bug until a reason is found and written down.
 */
export function unexplained_groups(
  r: CheckReport,
  known: readonly KnownGroup[] = known_groups(),
): Group[] {
  return r.groups.filter((g) => !explain(g.key, known));
}

/**
 * The report as text: summary, what the probe found, exemptions in force,
 * then each group with the rule that explains it (or UNEXPLAINED) and its
 * reproducer.
 */
export function format_report(
  r: CheckReport,
  known: readonly KnownGroup[] = known_groups(),
): string {
  const [na, nb] = r.backends;
  const hex = (n: number) => (n < 0 ? String(n) : `0x${n.toString(16)}`);
  const vt = r.probe.vm_types;
  const describe = (p: HostProfile) =>
    p.available
      ? `${p.name}: ${p.vendor_module ?? "?"}${p.kernel ? ` on ${p.kernel}` : ""}`
      : `${p.name}: unavailable (${p.reason})`;
  const lines = [
    `differential check: ${na} vs ${nb}, seed ${r.seed}, ${r.sequences} sequences`,
    `probe: ${r.probe.profiles.map(describe).join("; ")}`,
    `VM types: ${na} ${hex(vt.a)}, ${nb} ${hex(vt.b)} ` +
    `(${vt.agree ? "agree" : "DISAGREE"} without the SEV/SNP/TDX bits); ` +
    `generated: [${vt.common}], must fail: [${vt.neither}]; ` +
    `SMM address space: ${vt.smm ? "both" : "not on both (as_id 1 not generated)"}`,
    ...r.probe.offer.findings,
    `agreement: ${r.agreed}/${r.compared} calls = ${(agreement(r) * 100).toFixed(2)}%; ` +
    `${r.clean}/${r.sequences} sequences agree entirely; ` +
    `${r.cascades} differences are consequences of earlier ones (not grouped)`,
    `time: ${(r.ms / 1000).toFixed(1)} s (${
      (r.sequences / (r.ms / 1000)).toFixed(0)
    } sequences/s)` +
    (r.shrink_ms ? `, shrinking ${(r.shrink_ms / 1000).toFixed(1)} s` : ""),
    `exempt (docs/backends.md): ${EXEMPTIONS.map((e) => e.id).join(", ")}`,
  ];
  const open = unexplained_groups(r, known).length;
  if (r.groups.length) {
    lines.push("", `${r.groups.length} disagreement groups, ${open} unexplained:`);
  }
  r.groups.forEach((g, n) => {
    lines.push(
      "",
      `[${n + 1}] ${g.key}: ${g.count} calls in ${g.sequences} sequences ` +
        `(first: --seed ${r.seed} --index ${g.index}) ` +
        (explain(g.key, known)?.rule ?? "UNEXPLAINED (not in docs/fidelity.md)"),
      `  ${format_difference(g.first, na, nb).replaceAll("\n", "\n  ")}`,
    );
    if (g.variants.length > 1) lines.push(`  covers: ${g.variants.join(", ")}`);
    if (g.reproducer) {
      lines.push(`  minimal reproducer (${g.reproducer.length} calls):`);
      const notes = new Map<number, string>();
      for (const d of g.reproducer_diffs ?? []) {
        const note = `${d.field}: ${na} ${d.a}, ${nb} ${d.b}`;
        notes.set(d.call.id, notes.has(d.call.id) ? `${notes.get(d.call.id)}; ${note}` : note);
      }
      for (const c of g.reproducer) {
        const note = notes.get(c.id);
        lines.push(`    ${format_call(c)}${note ? ` // ${note}` : ""}`);
      }
    }
  });
  return lines.join("\n");
}
