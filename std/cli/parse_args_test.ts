// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/cli@1: same API as std; specs for `parseArgs` and its typing.
import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { type Args, parseArgs, type ParseOptions } from "./parse_args.ts";

/** `true` only when `A` and `B` are the same type. */
type IsExact<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
/** Compile-time check: the argument must be the literal `true`. */
function assertType<T extends true>(_: T): void {}

// ----------------------------------------------------------------- runtime ---

Deno.test("parseArgs() reads long flags, --key=value and bare arguments", () => {
  assertEquals(parseArgs(["--foo", "--bar=baz", "./quux.txt"]), {
    foo: true,
    bar: "baz",
    _: ["./quux.txt"],
  });
  assertEquals(parseArgs(["--host", "localhost", "--port", "555"]), {
    host: "localhost",
    port: 555,
    _: [],
  });
});

Deno.test("parseArgs() converts numeric-looking values and positionals to numbers", () => {
  const argv = parseArgs([
    "-x",
    "1234",
    "-y",
    "5.67",
    "-z",
    "1e7",
    "-w",
    "10f",
    "--hex",
    "0xff",
    "7",
  ]);
  assertEquals(argv, { x: 1234, y: 5.67, z: 1e7, w: "10f", hex: 255, _: [7] });
  assertEquals(parseArgs(["-x", "\t"]).x, "\t");
});

Deno.test("parseArgs() keeps string options as strings, empty when valueless", () => {
  assertStrictEquals(parseArgs(["-s", "0001234"], { string: "s" }).s, "0001234");
  assertStrictEquals(parseArgs(["--str"], { string: "str" }).str, "");
  const positional = parseArgs(["  ", "5"], { string: "_" })._;
  assertEquals([positional[0], positional[1]], ["  ", "5"]);
  const letters = parseArgs(["-art"], { string: ["a", "t"] });
  assertEquals([letters.a, letters.r, letters.t], ["", true, ""]);
});

Deno.test("parseArgs() splits short groups and lets the last letter take a value", () => {
  assertEquals(parseArgs(["-cats"]), { c: true, a: true, t: true, s: true, _: [] });
  assertEquals(parseArgs(["-cats", "meow"]), { c: true, a: true, t: true, s: "meow", _: [] });
  assertEquals(parseArgs(["-h", "localhost", "-fp", "555", "script.js"]), {
    f: true,
    p: 555,
    h: "localhost",
    _: ["script.js"],
  });
});

Deno.test("parseArgs() reads values attached to short flags", () => {
  assertEquals(parseArgs(["-b=123"]), { b: 123, _: [] });
  assertEquals(parseArgs(["-n123"]), { n: 123, _: [] });
  assertEquals(parseArgs(["-123", "456"]), { 1: true, 2: true, 3: 456, _: [] });
  assertEquals(parseArgs(["-I/foo/bar"]), { I: "/foo/bar", _: [] });
  assertEquals(parseArgs(["-xyz/foo"]), { x: true, y: true, z: "/foo", _: [] });
  assertEquals(parseArgs(["-f=abc=def", "-e=="]), { f: "abc=def", e: "=", _: [] });
});

Deno.test("parseArgs() treats a lone hyphen as a value or positional", () => {
  assertEquals(parseArgs(["-n", "-"]), { n: "-", _: [] });
  assertEquals(parseArgs(["-"]), { _: ["-"] });
  assertEquals(parseArgs(["-f-"]), { f: "-", _: [] });
  assertEquals(parseArgs(["-b", "-"], { boolean: "b" }), { b: true, _: ["-"] });
});

Deno.test("parseArgs() never lets a boolean flag swallow the next argument", () => {
  assertEquals(parseArgs(["-x", "-z", "one", "two"], { boolean: ["x", "y", "z"] }), {
    x: true,
    y: false,
    z: true,
    _: ["one", "two"],
  });
  assertEquals(
    parseArgs(["--verbose", "false", "moo", "-t", "true"], { boolean: ["t", "verbose"] }),
    {
      verbose: false,
      t: true,
      _: ["moo"],
    },
  );
  assertEquals(parseArgs(["--b=false"], { boolean: ["b"] }).b, false);
  assertEquals(parseArgs(["--other=true"], { boolean: ["b"] }).other, "true");
});

Deno.test("parseArgs() with boolean: true only affects long flags without '='", () => {
  assertEquals(parseArgs(["moo", "--honk", "cow", "-p", "55", "--tacos=good"], { boolean: true }), {
    honk: true,
    tacos: "good",
    p: 55,
    _: ["moo", "cow"],
  });
});

Deno.test("parseArgs() applies --no-x to negatable names and keeps the last occurrence", () => {
  assertEquals(parseArgs(["--no-moo"]), { "no-moo": true, _: [] });
  const opts = { boolean: ["foo"], negatable: ["foo"] };
  assertEquals(parseArgs(["--foo", "--no-foo"], opts).foo, false);
  assertEquals(parseArgs(["--no-foo", "--foo"], opts).foo, true);
  assertEquals(parseArgs(["-v", "a", "-v", "b"]), { v: "b", _: [] });
});

Deno.test("parseArgs() mirrors values onto every alias", () => {
  assertEquals(parseArgs(["-h", "derp"], { boolean: "herp", alias: { h: "herp" } }), {
    herp: true,
    h: true,
    _: ["derp"],
  });
  const argv = parseArgs(["--zoom", "55"], { alias: { z: ["zm", "zoom"] } });
  assertEquals([argv.z, argv.zm, argv.zoom], [55, 55, 55]);
  const s = parseArgs(["--str", "000123"], { string: "s", alias: { s: "str" } });
  assertEquals([s.s, s.str], ["000123", "000123"]);
  assertEquals(parseArgs([], { string: ["foo"], boolean: ["bar"], alias: { bar: "b" } }), {
    bar: false,
    b: false,
    _: [],
  });
  assertThrows(
    () => parseArgs([], { alias: { x: undefined } }),
    TypeError,
    "Alias value must be defined",
  );
});

Deno.test("parseArgs() nests dotted keys, defaults and aliases", () => {
  const argv = parseArgs([
    "--foo.bar",
    "3",
    "--foo.quux.quibble",
    "5",
    "--foo.quux.oO",
    "--beep.boop",
  ]);
  assertEquals(argv.foo, { bar: 3, quux: { quibble: 5, oO: true } });
  assertEquals(argv.beep, { boop: true });
  const d = parseArgs(["--a.b", "22"], { default: { "a.b": 11 }, alias: { "a.b": "aa.bb" } });
  assertEquals([d.a.b, d.aa.bb], [22, 22]);
  assertEquals(parseArgs([], { default: { "a.b": 11 } }).a.b, 11);
});

Deno.test("parseArgs() fills defaults only for names not given", () => {
  assertEquals(
    parseArgs(["--boool=false"], { boolean: ["boool"], default: { boool: true } }).boool,
    false,
  );
  assertEquals(parseArgs([], { boolean: "maybe", default: { maybe: null } }).maybe, null);
  assertEquals(parseArgs([], { collect: ["foo"], default: { foo: ["bar", "baz"] } }), {
    foo: ["bar", "baz"],
    _: [],
  });
});

Deno.test("parseArgs() collects repeated options into arrays", () => {
  assertEquals(
    parseArgs([
      "--foo",
      "bar",
      "--foo",
      "baz",
      "--beep",
      "boop",
      "--bib",
      "--bib",
      "--bab",
      "--bab",
    ], {
      collect: ["beep", "bib"],
    }),
    { foo: "baz", beep: ["boop"], bib: [true, true], bab: true, _: [] },
  );
  assertEquals(
    parseArgs(["--bool", "--boolArr", "--str", "foo", "--strArr", "beep", "--unknownArr"], {
      boolean: ["bool", "boolArr", "empty"],
      string: ["str", "strArr", "emptyStr"],
      collect: ["boolArr", "strArr", "unknownArr", "empty", "emptyStr"],
      alias: { strArr: "S" },
    }),
    {
      bool: true,
      boolArr: [true],
      str: "foo",
      strArr: ["beep"],
      S: ["beep"],
      unknownArr: [true],
      empty: [],
      emptyStr: [],
      _: [],
    },
  );
  assertEquals(
    parseArgs(["--foo", "123", "-f", "456", "--no-foo"], {
      string: ["foo"],
      collect: ["foo"],
      negatable: ["foo"],
      alias: { foo: "f" },
    }),
    { foo: false, f: false, _: [] },
  );
});

Deno.test("parseArgs() leaves everything after -- unparsed, in _ or in '--'", () => {
  assertEquals(parseArgs(["--a", "--", "b", "--c", "7"]), { a: true, _: ["b", "--c", "7"] });
  assertEquals(parseArgs(["--name", "John", "before", "--", "after"], { "--": true }), {
    name: "John",
    _: ["before"],
    "--": ["after"],
  });
});

Deno.test("parseArgs() with stopEarly puts everything after the first positional in _", () => {
  assertEquals(parseArgs(["--aaa", "bbb", "ccc", "--ddd"], { stopEarly: true }), {
    aaa: "bbb",
    _: ["ccc", "--ddd"],
  });
});

Deno.test("parseArgs() asks unknown() about undeclared names and drops them on false", () => {
  const seen: unknown[] = [];
  const unknown = (arg: string, k?: string, v?: unknown) => {
    seen.push([arg, k, v]);
    return false;
  };
  const argv = parseArgs(["--honk", "--tacos=good", "cow", "-p", "55"], { boolean: true, unknown });
  assertEquals(argv, { honk: true, _: [] });
  assertEquals(seen, [["--tacos=good", "tacos", "good"], ["cow", undefined, undefined], [
    "-p",
    "p",
    "55",
  ]]);
  seen.length = 0;
  parseArgs(["-h", "hello", "--herp", "x"], {
    default: { h: "bar" },
    alias: { h: "herp" },
    unknown,
  });
  assertEquals(seen, []);
});

Deno.test("parseArgs() sets flags named like Object.prototype members", () => {
  const argv = parseArgs(["--toString", "--valueOf", "foo"]);
  assertEquals(argv, { toString: true, valueOf: "foo", _: [] });
});

// ------------------------------------------------------------------- types ---
// (Optional members read `x?: T` rather than `x?: T | undefined` because this repo
// compiles with exactOptionalPropertyTypes.)

Deno.test("parseArgs() result is Record<string, any> without boolean/string/collect", () => {
  const argv = parseArgs([], { default: { bar: 123 } });
  // deno-lint-ignore no-explicit-any
  assertType<IsExact<typeof argv, { [x: string]: any; _: Array<string | number> }>>(true);
  assertEquals(argv.bar, 123);
});

Deno.test("parseArgs() types boolean, string and defaulted names", () => {
  const argv = parseArgs([], {
    boolean: ["foo", "foo-bar"],
    string: ["beep", "boop"],
    default: { boop: new Date(), bar: 1 },
  });
  assertType<
    IsExact<typeof argv, {
      [x: string]: unknown;
      foo: boolean;
      "foo-bar": boolean;
      beep?: string;
      boop: string | Date;
      bar: unknown;
      _: Array<string | number>;
    }>
  >(true);
  assertEquals(argv.foo, false);
});

Deno.test("parseArgs() types dotted names as nested objects", () => {
  const argv = parseArgs([], {
    boolean: ["blubb", "foo.bar", "foo.baz.biz"],
    string: ["foo.baz.buz", "beep.boop"],
    default: { "foo.bar": 123, beep: 1 },
  });
  assertType<
    IsExact<typeof argv, {
      [x: string]: unknown;
      blubb: boolean;
      foo: { bar: boolean | number; baz: { biz: boolean; buz?: string } };
      beep: number | { boop?: string };
      _: Array<string | number>;
    }>
  >(true);
  assertEquals(argv.foo.bar, 123);
});

Deno.test("parseArgs() types collect, negatable and alias names", () => {
  const argv = parseArgs([], {
    boolean: ["l", "v"],
    string: ["t", "o"],
    collect: ["t", "x"],
    negatable: ["o", "x"],
    alias: { t: "test", v: ["verbose", "V"] },
  });
  assertType<
    IsExact<typeof argv, {
      [x: string]: unknown;
      l: boolean;
      v: boolean;
      verbose: boolean;
      V: boolean;
      t: string[];
      test: string[];
      o?: string | false;
      x: unknown[] | false;
      _: Array<string | number>;
    }>
  >(true);
  assertEquals(argv.test, []);
});

Deno.test("parseArgs() types '--' from the \"--\" option", () => {
  const argv = parseArgs([], { boolean: true, "--": true });
  assertType<
    IsExact<typeof argv, { [x: string]: unknown; _: Array<string | number>; "--": Array<string> }>
  >(true);
  const opts: ParseOptions = { boolean: ["foo"] };
  const loose = parseArgs([], opts);
  assertType<
    IsExact<typeof loose, {
      // deno-lint-ignore no-explicit-any
      [x: string]: any;
      _: (string | number)[];
      "--"?: string[];
    }>
  >(true);
  assertEquals(argv["--"], []);
});

Deno.test("Args<T, true> adds _ and a required '--' to T", () => {
  type Result = Args<{ foo?: number } & { bar: string }, true>;
  assertType<
    IsExact<Result, {
      foo?: number;
      bar: string;
      _: Array<string | number>;
      "--": Array<string>;
    }>
  >(true);
  const explicit = parseArgs<{ n: number }>(["--n", "1"]);
  assertType<IsExact<typeof explicit, { n: number; _: Array<string | number> }>>(true);
  assertEquals(explicit.n, 1);
});
