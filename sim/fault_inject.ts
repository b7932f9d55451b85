// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fault injection for the simulated machine: make the simulated TDX module
 * answer a SEAMCALL with an error status (operand busy, interrupted, no
 * entropy, ...), make HKID allocation fail as if every key were taken, and
 * make the simulated kernel's allocations fail at chosen points, so that
 * tests can check what KVM does then (retry, or fail with its errno) and
 * what the library reports.
 *
 * The switch is the `SIM_FAULT_INJECT` environment variable (read once, when
 * the simulator loads) or {@linkcode fault_inject} (which replaces the
 * rules). A spec is a comma-separated list of rules:
 *
 * ```
 * <point>[=<status>][@<nth>][*<times>|*inf]
 * ```
 *
 * - `<point>`: a SEAMCALL (`TDH.MNG.CREATE`, `TDH.MNG.KEY.CONFIG`,
 *   `TDH.MNG.INIT`, `TDH.VP.CREATE`, `TDH.VP.INIT`, `TDH.MEM.PAGE.ADD`,
 *   `TDH.MEM.PAGE.AUG`, `TDH.MR.FINALIZE`, `TDH.MEM.RANGE.BLOCK`,
 *   `TDH.MEM.TRACK`, `TDH.MEM.PAGE.REMOVE`, `TDH.PHYMEM.CACHE.WB`,
 *   `TDH.MNG.KEY.FREEID`), `hkid` (the host's `tdx_guest_keyid_alloc()` finds
 *   no free key: -ENOSPC), or `alloc:<site>` (a kernel allocation fails:
 *   -ENOMEM) with `<site>` one of `kvm` (KVM_CREATE_VM), `vcpu`
 *   (KVM_CREATE_VCPU), `memslot` (KVM_SET_USER_MEMORY_REGION*), `gmem`
 *   (KVM_CREATE_GUEST_MEMFD), `tdr` (KVM_TDX_INIT_VM's TDR page), or
 *   `stall:exit` (the host thread is held up between handling a VM exit
 *   and the next entry, as a preempted vCPU thread or a garbage-collection
 *   pause holds it: nothing fails, time passes);
 * - `<status>` for a SEAMCALL: `busy` (TDX_OPERAND_BUSY), `interrupted`
 *   (TDX_INTERRUPTED_RESUMABLE), `entropy` (TDX_RND_NO_ENTROPY), or a number
 *   (`0x...`); default `busy`; for `stall:exit`, milliseconds (default 10);
 * - `@<nth>`: the first call that fails, counting from 1 (default 1);
 * - `*<times>`: how many calls in a row fail from there (default 1), `*inf`
 *   for all.
 *
 * Example: `SIM_FAULT_INJECT="TDH.MNG.CREATE=entropy*10,alloc:vcpu@2"`.
 *
 * A SEAMCALL that answers TDX_RND_NO_ENTROPY is retried up to
 * {@linkcode RDRAND_RETRY_LOOPS} times before KVM sees the status, as the
 * host kernel's `sc_retry()` (`arch/x86/include/asm/tdx.h`) does for every
 * SEAMCALL.
 *
 * @module
 */

import { getenv } from "../include/libc/process.ts";
import { TDX_OPERAND_BUSY, TDX_RND_NO_ENTROPY } from "../include/x86/tdx/tdcall.ts";

/** TDX_INTERRUPTED_RESUMABLE: the module stopped a long operation; call again with resume. */
export const TDX_INTERRUPTED_RESUMABLE = 0x8000000300000000n;

/** `RDRAND_RETRY_LOOPS`: how many times `sc_retry()` calls a SEAMCALL that lacked entropy. */
export const RDRAND_RETRY_LOOPS = 10;

/** The status names a rule may give. */
export const FAULT_STATUS: Readonly<Record<string, bigint>> = {
  busy: TDX_OPERAND_BUSY,
  interrupted: TDX_INTERRUPTED_RESUMABLE,
  entropy: TDX_RND_NO_ENTROPY,
};

/** Milliseconds of a `stall:exit` rule without `=<ms>`. */
export const DEFAULT_STALL_MS = 10;

interface fault_rule {
  point: string;
  status: bigint;
  nth: number;
  times: number;
  calls: number;
  fired: number;
}

/** Thrown for a spec that does not parse: a test's mistake, said at once. */
export class FaultInjectError extends Error {
  /** @param message what is wrong with the spec */
  constructor(message: string) {
    super(message);
    this.name = "FaultInjectError";
  }
}

function parse(spec: string): fault_rule[] {
  const rules: fault_rule[] = [];
  for (const part of spec.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([A-Za-z0-9_.:]+)(?:=([A-Za-z0-9x]+))?(?:@(\d+))?(?:\*(\d+|inf))?$/.exec(part);
    if (!m) throw new FaultInjectError(`Bad fault injection rule '${part}'`);
    const point = m[1]!;
    if (!/^(TDH\.[A-Z.]+|hkid|alloc:(kvm|vcpu|memslot|gmem|tdr)|stall:exit)$/.test(point)) {
      throw new FaultInjectError(`Unknown fault injection point '${point}'`);
    }
    let status = TDX_OPERAND_BUSY;
    if (point === "stall:exit") {
      if (m[2] !== undefined && !/^\d+$/.test(m[2])) {
        throw new FaultInjectError(`'${m[2]}' in '${part}': a stall is a number of milliseconds`);
      }
      status = BigInt(m[2] ?? DEFAULT_STALL_MS);
    } else if (m[2] !== undefined) {
      const named = FAULT_STATUS[m[2]];
      if (named !== undefined) status = named;
      else if (/^(0x[0-9a-fA-F]+|\d+)$/.test(m[2])) status = BigInt(m[2]);
      else throw new FaultInjectError(`Unknown TDX status '${m[2]}' in '${part}'`);
    }
    const nth = m[3] === undefined ? 1 : Number(m[3]);
    if (nth < 1) throw new FaultInjectError(`'@${m[3]}' in '${part}': calls count from 1`);
    const times = m[4] === undefined ? 1 : m[4] === "inf" ? Infinity : Number(m[4]);
    rules.push({ point, status, nth, times, calls: 0, fired: 0 });
  }
  return rules;
}

let rules: fault_rule[] = parse(getenv("SIM_FAULT_INJECT") ?? "");

/**
 * Replaces the fault injection rules (see the module doc for the syntax);
 * an empty spec turns injection off.
 *
 * @param spec the rules
 * @throws FaultInjectError for a spec that does not parse
 */
export function fault_inject(spec: string): void {
  rules = parse(spec);
}

/** How many times the rules for `point` made a call fail since they were set. */
export function fault_inject_fired(point: string): number {
  return rules.filter((r) => r.point === point).reduce((n, r) => n + r.fired, 0);
}

function hit(point: string): fault_rule | null {
  if (rules.length === 0) return null;
  let found: fault_rule | null = null;
  for (const r of rules) {
    if (r.point !== point) continue;
    r.calls++;
    if (!found && r.calls >= r.nth && r.calls < r.nth + r.times) {
      r.fired++;
      found = r;
    }
  }
  return found;
}

/**
 * The injected completion status of the SEAMCALL `fn` (a `TDH.*` name), or
 * null to let the module run it. Called by each simulated SEAMCALL first,
 * with the host kernel's `sc_retry()` folded in: an injected
 * TDX_RND_NO_ENTROPY is retried (up to {@linkcode RDRAND_RETRY_LOOPS} calls
 * in all) before the caller sees it.
 *
 * @param fn the SEAMCALL's name
 * @returns the status to return, or null
 */
export function seamcall_fault(fn: string): bigint | null {
  for (let retry = RDRAND_RETRY_LOOPS;;) {
    const r = hit(fn);
    if (!r) return null;
    if (r.status !== TDX_RND_NO_ENTROPY || --retry === 0) return r.status;
  }
}

/** Whether the host's HKID allocation must fail (every key taken). */
export function hkid_alloc_fails(): boolean {
  return hit("hkid") !== null;
}

/**
 * Whether the kernel allocation at `site` must fail (`-ENOMEM` there).
 *
 * @param site `kvm`, `vcpu`, `memslot`, `gmem` or `tdr`
 */
export function alloc_fails(site: string): boolean {
  return hit(`alloc:${site}`) !== null;
}

/**
 * How long the host thread stalls before this VM entry (`stall:exit`), in
 * milliseconds; 0 for none.
 */
export function exit_stall_ms(): number {
  const r = hit("stall:exit");
  return r ? Number(r.status) : 0;
}
