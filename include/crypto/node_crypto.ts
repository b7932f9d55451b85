// SPDX-License-Identifier: GPL-2.0-only
/**
 * `node:crypto`, loaded at its first use rather than when a module that
 * may hash is imported.
 *
 * Why: the simulated kernel (and its TDX module, which measures with
 * SHA-384) is loaded by every vCPU worker, for the syscalls an image's top
 * level may make; a static `import "node:crypto"` made each worker spend
 * ~17 ms building Deno's cipher tables for hashes only the host computes.
 * `process.getBuiltinModule()` loads it synchronously, so callers stay
 * synchronous.
 *
 * @module
 */

import process from "node:process";
import type * as crypto from "node:crypto";

let loaded: typeof crypto | undefined;

/** The `node:crypto` module, loaded on the first call. */
export function node_crypto(): typeof crypto {
  return loaded ??= (process as unknown as { getBuiltinModule(id: string): unknown })
    .getBuiltinModule("node:crypto") as typeof crypto;
}
