// SPDX-License-Identifier: GPL-2.0-only
// A stand-in selftest program for the runner's tests: behaves as its first argument says.
const mode = Deno.args[0];
console.log("TAP version 13");
console.error("# diagnostics on stderr");
if (mode === "hang") await new Promise((r) => setTimeout(r, 60_000));
Deno.exit(mode === "skip" ? 4 : mode === "fail" ? 1 : 0);
