// SPDX-License-Identifier: GPL-2.0-only

/**
 * Command-line parsing, API-compatible with `jsr:@std/cli@^1` for
 * {@linkcode parseArgs} and its types (the rest of that package is not
 * provided; see `std/README.md`).
 *
 * @example
 * ```ts
 * import { parseArgs } from "@std/cli";
 *
 * const flags = parseArgs(Deno.args, {
 *   boolean: ["help"],
 *   string: ["jobs"],
 *   default: { jobs: "1" },
 * });
 * if (flags.help) console.log("usage: tool [--jobs N] FILE...");
 * ```
 *
 * @module
 */

export { type Args, parseArgs, type ParseOptions } from "./parse_args.ts";
