// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/cli@1: same API as its `mod.ts` for the re-exported names.

/**
 * Tools for creating interactive command line tools (in-repo compatibility
 * subset of `jsr:@std/cli@1`: only {@linkcode parseArgs}).
 *
 * ```ts ignore
 * import { parseArgs } from "@std/cli";
 *
 * const args = parseArgs(Deno.args, { boolean: ["verbose"] });
 * ```
 *
 * @module
 */

export * from "./parse_args.ts";
