// SPDX-License-Identifier: GPL-2.0-only
/**
 * Guest code records: how a TypeScript guest function has an address.
 *
 * The image loader (host library) writes one **code record** per guest
 * function into guest memory, at the function's guest-virtual address in the
 * image's text region. The simulated CPU fetches the record at RIP through
 * the guest page tables, checks it and runs the function. So code pages are
 * real guest memory: a missing or overwritten code page faults as on
 * hardware, and a TD's measurement covers the functions' code (changing one
 * byte of a guest function's source changes its record, hence MRTD).
 *
 * Record layout (little-endian; `struct guest_code_record_hdr` then data):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | `magic`: the bytes `0F 0B 54 53`, i.e. `ud2` then `"TS"` (real hardware executing a record takes #UD) |
 * | 4 | 2 | `version` = 2 |
 * | 6 | 2 | `hdr_size` = 16 |
 * | 8 | 4 | `name_len`: bytes of the UTF-8 name |
 * | 12 | 4 | `digest_len` = 32 |
 * | 16 | `name_len` | the function's name |
 * | 16 + `name_len` | 32 | SHA-256 of `fn.toString()` (UTF-8) |
 *
 * **Why a digest and not the source text** (version 1 carried the text): a
 * record stays a few dozen bytes whatever the function's size (59 for an
 * 11-character name), so records fit where the C twin's machine code would;
 * one with its source text would be kilobytes. (The TD boot code, which must
 * fit the 126 bytes a `JMP rel8` at the reset vector reaches, was two records
 * once; it is machine code now, `lib/x86/tdx/td_boot.ts`.) SHA-256 keeps what
 * the text gave: the CPU still checks that the function it resolves is byte
 * for byte the one the record was made from (any other source → #UD), and a
 * TD's MRTD still changes with any byte of any guest function, since the
 * digest does.
 *
 * The record is `guest_code_record_size(fn)` bytes; RIP holds its first byte
 * while the function runs.
 *
 * **Resolution** (in the vCPU worker): the name is looked up in the SDK's
 * guest-function registry ({@linkcode guest_fn_register}) first, then in the
 * exports of the guest image modules, in order (an export whose key or whose
 * function `name` equals the record's name). The SHA-256 of the function
 * found's source must be the record's digest; otherwise, or when nothing is
 * found, the fetch raises #UD.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type RecordType, struct, u16, u32 } from "./c/layout.ts";

/** A function that can run as guest code. */
// deno-lint-ignore no-explicit-any
export type guest_fn = (...args: any[]) => unknown;

/** The first four bytes of a code record (`ud2; "TS"`), as a little-endian `u32`. */
export const GUEST_CODE_MAGIC = 0x53540b0f;
/** The record format version this SDK writes and reads. */
export const GUEST_CODE_VERSION = 2;
/** Bytes of the source digest a record carries (SHA-256). */
export const GUEST_CODE_DIGEST_SIZE = 32;

/** `struct guest_code_record_hdr`: the fixed part of a code record. */
export const guest_code_record_hdr: RecordType<{
  magic: u32;
  version: u16;
  hdr_size: u16;
  name_len: u32;
  digest_len: u32;
}> = struct("guest_code_record_hdr", {
  magic: u32,
  version: u16,
  hdr_size: u16,
  name_len: u32,
  digest_len: u32,
});

/** Bytes of {@linkcode guest_code_record_hdr}. */
export const GUEST_CODE_HDR_SIZE: number = guest_code_record_hdr.size;

const encoder = new TextEncoder();
const sources = new WeakMap<guest_fn, string>();
const digests = new WeakMap<guest_fn, Uint8Array>();

/** The source text a record of `fn` stands for (`fn.toString()`, cached). */
export function guest_fn_source(fn: guest_fn): string {
  let s = sources.get(fn);
  if (s === undefined) {
    s = Function.prototype.toString.call(fn);
    sources.set(fn, s);
  }
  return s;
}

/**
 * The digest a record of `fn` carries: SHA-256 of its source text as UTF-8
 * (cached; treat the result as read-only).
 *
 * @param fn the guest function
 * @returns 32 bytes
 */
export function guest_fn_digest(fn: guest_fn): Uint8Array {
  let d = digests.get(fn);
  if (d === undefined) {
    d = new Uint8Array(createHash("sha256").update(encoder.encode(guest_fn_source(fn))).digest());
    digests.set(fn, d);
  }
  return d;
}

/**
 * The code record of `fn`, to be written at the function's guest-virtual
 * address.
 *
 * @param fn the guest function
 * @param name the name it is resolved by (default `fn.name`); SDK functions
 *   use their registry name
 */
export function guest_code_record(fn: guest_fn, name: string = fn.name): Uint8Array {
  if (name.length === 0) throw new TypeError("A guest function needs a name");
  guest_fn_check(fn, name);
  const nameBytes = encoder.encode(name);
  const digest = guest_fn_digest(fn);
  const out = new Uint8Array(GUEST_CODE_HDR_SIZE + nameBytes.length + digest.length);
  const hdr = guest_code_record_hdr.view(out);
  hdr.magic = GUEST_CODE_MAGIC;
  hdr.version = GUEST_CODE_VERSION;
  hdr.hdr_size = GUEST_CODE_HDR_SIZE;
  hdr.name_len = nameBytes.length;
  hdr.digest_len = digest.length;
  out.set(nameBytes, GUEST_CODE_HDR_SIZE);
  out.set(digest, GUEST_CODE_HDR_SIZE + nameBytes.length);
  return out;
}

/**
 * Refuses a function that cannot be guest code: an `async` function (or a
 * generator) returns to its caller at its first `await` (`yield`) with a
 * promise, and finishes later from the event loop, which a vCPU never runs;
 * as guest code it would "return" at once and the CPU would pop a return
 * address the guest never pushed.
 *
 * @param fn the candidate guest function
 * @param name the name it would be resolved by
 * @throws TypeError naming the function and the reason
 */
export function guest_fn_check(fn: guest_fn, name: string = fn.name): void {
  const kind = (fn as { [Symbol.toStringTag]?: string })[Symbol.toStringTag];
  if (
    kind === "AsyncFunction" || kind === "AsyncGeneratorFunction" || kind === "GeneratorFunction"
  ) {
    throw new TypeError(
      `Guest function '${name}' is ${kind === "GeneratorFunction" ? "a generator" : "async"}: ` +
        "guest code runs synchronously on the vCPU (each intrinsic is one instruction that " +
        "completes or exits before it returns), and an async function would return a promise " +
        "at its first await and never finish; write it as a plain function",
    );
  }
}

/**
 * Bytes of the code record of `fn` (what {@linkcode guest_code_record}
 * returns): it depends on the name only, as the digest has a fixed size.
 */
export function guest_code_record_size(fn: guest_fn, name: string = fn.name): number {
  return GUEST_CODE_HDR_SIZE + encoder.encode(name).length + GUEST_CODE_DIGEST_SIZE;
}

const registry = new Map<string, guest_fn>();

/**
 * Registers an SDK guest function under `name`, for functions that are not
 * exported from the test module (exception stubs, TD boot code). Call it at
 * module load, so that the registration also happens in vCPU workers, which
 * import the same modules. Names should be namespaced (`"kvm:route_exception"`).
 *
 * @param name the name records carry
 * @param fn the function
 */
export function guest_fn_register(name: string, fn: guest_fn): void {
  const old = registry.get(name);
  if (old !== undefined && old !== fn) {
    throw new Error(`Guest function '${name}' is already registered`);
  }
  registry.set(name, fn);
}

/** The SDK guest function registered under `name`, if any. */
export function guest_fn_lookup(name: string): guest_fn | undefined {
  return registry.get(name);
}

/**
 * Resolves a record's name as the CPU does: the SDK registry first, then the
 * exports of `images` in order (by export key, then by function name).
 *
 * @param name the record's name
 * @param images the guest image modules' namespaces
 */
export function guest_fn_resolve(
  name: string,
  images: readonly Record<string, unknown>[],
): guest_fn | undefined {
  const registered = registry.get(name);
  if (registered) return registered;
  for (const ns of images) {
    const v = ns[name];
    if (typeof v === "function") return v as guest_fn;
  }
  for (const ns of images) {
    for (const key of Object.keys(ns)) {
      let v: unknown;
      try {
        v = ns[key];
      } catch {
        continue; // an export still in its temporal dead zone
      }
      if (typeof v === "function" && v.name === name) return v as guest_fn;
    }
  }
  return undefined;
}
