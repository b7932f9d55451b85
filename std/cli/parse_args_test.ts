// SPDX-License-Identifier: GPL-2.0-only
// Spec for parseArgs: one test per rule of the command-line grammar, then the
// static types of the result.

import { assertEquals, assertStrictEquals } from "@std/assert";
import { parseArgs } from "./mod.ts";

Deno.test("parseArgs: positionals, numbers and the bare dashes", () => {
  assertEquals(parseArgs(["a", "5", "-", "0x10", "1e3", "-2.5x"]), {
    _: ["a", 5, "-", 16, 1000],
    "2": ".5x",
  });
  assertEquals(parseArgs(["x", "--", "--y", "-z", "7"]), { _: ["x", "--y", "-z", "7"] });
  assertEquals(parseArgs(["x", "--", "--y"], { "--": true }), { _: ["x"], "--": ["--y"] });
  assertEquals(parseArgs([], { "--": true }), { _: [], "--": [] });
  assertEquals(parseArgs(["1", "2"], { string: ["_"] }), { _: ["1", "2"] });
});

Deno.test("parseArgs: long flags with =, with the next argument, or alone", () => {
  assertEquals(parseArgs(["--a=1", "--b", "two", "--c", "--d=x=y", "--e="]), {
    _: [],
    a: 1,
    b: "two",
    c: true,
    d: "x=y",
    e: "",
  });
  // The next argument is not a value when it looks like a flag.
  assertEquals(parseArgs(["--a", "--b", "-5"]), { _: [], a: true, b: true, "5": true });
  // Repeating a flag that is not collected keeps the last value.
  assertEquals(parseArgs(["--n", "1", "--n", "2"]), { _: [], n: 2 });
});

Deno.test("parseArgs: short flags group, take attached or following values", () => {
  assertEquals(parseArgs(["-abc"]), { _: [], a: true, b: true, c: true });
  assertEquals(parseArgs(["-abc", "v"]), { _: [], a: true, b: true, c: "v" });
  assertEquals(parseArgs(["-n5", "-m=x", "-p-", "-q/tmp", "-r", "-1"]), {
    _: [],
    n: 5,
    m: "x",
    p: "-",
    q: "/tmp",
    r: true,
    "1": true,
  });
  assertEquals(parseArgs(["-x-"]), { _: [], x: "-" });
});

Deno.test("parseArgs: boolean flags never swallow a value except true/false", () => {
  const opts = { boolean: ["v", "w"] };
  assertEquals(parseArgs(["-v", "file"], opts), { _: ["file"], v: true, w: false });
  assertEquals(parseArgs(["--v", "false", "--w=false"], opts), { _: [], v: false, w: false });
  assertEquals(parseArgs(["--w=yes", "-v", "true"], opts), { _: [], v: true, w: true });
  // Undeclared flags may also be given a literal boolean.
  assertEquals(parseArgs(["--z", "true"]), { _: [], z: "true" });
});

Deno.test("parseArgs: boolean: true covers every --name but not -n or --name=value", () => {
  assertEquals(parseArgs(["--a", "x", "-b", "y", "--c=z"], { boolean: true }), {
    _: ["x"],
    a: true,
    b: "y",
    c: "z",
  });
  assertEquals(parseArgs(["--a", "false"], { boolean: true }), { _: [], a: false });
});

Deno.test("parseArgs: string flags stay strings and are empty when valueless", () => {
  assertEquals(parseArgs(["--s", "007", "-t"], { string: ["s", "t"] }), { _: [], s: "007", t: "" });
  assertEquals(parseArgs([], { string: ["s"] }), { _: [] });
});

Deno.test("parseArgs: collect gathers repeats, [] when absent", () => {
  const opts = { string: ["tag"], boolean: ["v"], collect: ["tag", "v", "n"] };
  assertEquals(parseArgs([], opts), { _: [], tag: [], v: [], n: [] });
  assertEquals(parseArgs(["--tag", "a", "--tag=b", "-v", "-v", "--n", "3"], opts), {
    _: [],
    tag: ["a", "b"],
    v: [true, true],
    n: [3],
  });
});

Deno.test("parseArgs: negatable flags turn off with --no-", () => {
  const opts = { boolean: ["color"], string: ["cfg"], negatable: ["color", "cfg"] };
  assertEquals(parseArgs(["--no-color", "--no-cfg"], opts), { _: [], color: false, cfg: false });
  assertEquals(parseArgs(["--color"], opts), { _: [], color: true });
  // Without negatable, --no-x is just a flag named "no-x".
  assertEquals(parseArgs(["--no-x"]), { _: [], "no-x": true });
});

Deno.test("parseArgs: aliases share value, type and default in both directions", () => {
  const opts = {
    boolean: ["help"],
    string: ["out"],
    alias: { h: "help", o: ["out", "output"] },
    default: { out: "a.txt" },
  };
  assertEquals(parseArgs([], opts), {
    _: [],
    help: false,
    h: false,
    out: "a.txt",
    o: "a.txt",
    output: "a.txt",
  });
  assertEquals(parseArgs(["-h", "x", "--output", "007"], opts), {
    _: ["x"],
    help: true,
    h: true,
    out: "007",
    o: "007",
    output: "007",
  });
  // A type given to the alias name applies to the key too.
  assertEquals(parseArgs(["--verbose", "x"], { boolean: ["v"], alias: { v: "verbose" } }), {
    _: ["x"],
    v: true,
    verbose: true,
  });
});

Deno.test("parseArgs: defaults fill only what the command line left unset", () => {
  const opts = { boolean: ["b"], default: { b: true, n: 3, s: "x" } };
  assertEquals(parseArgs([], opts), { _: [], b: true, n: 3, s: "x" });
  assertEquals(parseArgs(["--b=false", "--n", "4"], opts), { _: [], b: false, n: 4, s: "x" });
  // A collected default is copied, never shared between results.
  const c = { collect: ["c"], default: { c: ["d"] } };
  const first = parseArgs(["--c", "e"], c);
  assertEquals(first.c, ["d", "e"].slice(1));
  const second = parseArgs([], c);
  assertEquals(second.c, ["d"]);
  (second.c as unknown[]).push("mutated");
  assertEquals(parseArgs([], c).c, ["d"]);
});

Deno.test("parseArgs: dotted names nest", () => {
  assertEquals(parseArgs(["--db.host", "h", "--db.port=5", "--a.b.c"]), {
    _: [],
    db: { host: "h", port: 5 },
    a: { b: { c: true } },
  });
  assertEquals(parseArgs([], { default: { "x.y": 1 } }), { _: [], x: { y: 1 } });
});

Deno.test("parseArgs: stopEarly hands everything from the first positional to _", () => {
  assertEquals(parseArgs(["--a", "1", "cmd", "--b", "2"], { stopEarly: true }), {
    _: ["cmd", "--b", "2"],
    a: 1,
  });
});

Deno.test("parseArgs: unknown sees undeclared flags and positionals and may drop them", () => {
  const seen: unknown[][] = [];
  const out = parseArgs(["--known", "pos", "-x", "--other=1", "drop", "--", "raw"], {
    boolean: ["known"],
    unknown: (...a: unknown[]) => {
      seen.push(a);
      return a[0] !== "drop" && a[1] !== "other";
    },
  });
  // Arguments after "--" are not shown to unknown().
  assertEquals<Record<string, unknown>>(out, { _: ["pos", "raw"], known: true, x: true });
  assertEquals(seen, [["pos"], ["-x", "x", true], ["--other=1", "other", "1"], ["drop"]]);
});

Deno.test("parseArgs: hostile names become own properties, not prototype writes", () => {
  const out = parseArgs(["--__proto__.polluted", "1", "--constructor=2"]);
  assertStrictEquals(({} as Record<string, unknown>).polluted, undefined);
  assertEquals(Object.keys(out).sort(), ["_", "__proto__", "constructor"]);
});

// ---------------------------------------------------------------------------
// Static types: these fail `deno check` rather than at run time.

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
function typeIs<A, B>(_proof: Same<A, B>): void {}

Deno.test("parseArgs types: declared flags, defaults, collect, negatable, aliases", () => {
  const a = parseArgs([], {
    boolean: ["list", "quiet"],
    string: ["test", "jobs", "cfg"],
    collect: ["test"],
    negatable: ["cfg"],
    default: { jobs: "1" },
    alias: { l: "list", t: "test" },
  });
  typeIs<typeof a.list, boolean>(true);
  typeIs<typeof a.l, boolean>(true);
  typeIs<typeof a.test, string[]>(true);
  typeIs<typeof a.t, string[]>(true);
  typeIs<typeof a.jobs, string>(true);
  typeIs<typeof a.cfg, string | false | undefined>(true);
  typeIs<typeof a._, Array<string | number>>(true);
  assertEquals(a.test, []);
});

Deno.test("parseArgs types: dotted names, double dash and untyped use", () => {
  const a = parseArgs([], { string: ["db.host"], "--": true });
  typeIs<typeof a.db.host, string | undefined>(true);
  typeIs<typeof a["--"], string[]>(true);
  const u = parseArgs(["--x", "1"]);
  // Untyped results are open records.
  const x: number = u.x;
  assertEquals(x, 1);
});
