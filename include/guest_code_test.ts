// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertThrows } from "@std/assert";
import {
  GUEST_CODE_HDR_SIZE,
  GUEST_CODE_MAGIC,
  guest_code_record,
  guest_code_record_hdr,
  guest_code_record_size,
  guest_fn_canonical,
  guest_fn_lookup,
  guest_fn_register,
  guest_fn_resolve,
  js_tokens,
} from "./guest_code.ts";

function sample_guest(x: bigint): bigint {
  return x + 1n;
}

Deno.test("a code record is ud2 + 'TS', lengths, the name and SHA-256 of the canonical text", async () => {
  const rec = guest_code_record(sample_guest);
  assertEquals([...rec.subarray(0, 4)], [0x0f, 0x0b, 0x54, 0x53]);
  const hdr = guest_code_record_hdr.view(rec);
  assertEquals(hdr.magic, GUEST_CODE_MAGIC);
  assertEquals(hdr.version, 3);
  assertEquals(hdr.hdr_size, GUEST_CODE_HDR_SIZE);
  assertEquals(hdr.name_len, "sample_guest".length);
  const dec = new TextDecoder();
  const name = dec.decode(rec.subarray(16, 16 + hdr.name_len));
  assertEquals(name, "sample_guest");
  assertEquals(hdr.digest_len, 32);
  const want = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(guest_fn_canonical(sample_guest)),
  );
  assertEquals([...rec.subarray(16 + hdr.name_len)], [...new Uint8Array(want)]);
  assertEquals(guest_code_record_size(sample_guest), rec.length);
  // Small enough for the TD boot code's JMP rel8 (at most 126 bytes).
  assertEquals(guest_code_record(sample_guest, "tdx:td_boot").length, 59);
});

Deno.test("changing the function's source changes the record", () => {
  const a = guest_code_record((x: number) => x + 1, "f");
  const b = guest_code_record((x: number) => x + 2, "f");
  assertEquals(a.length, b.length);
  assertEquals(a.some((byte, i) => byte !== b[i]), true);
});

Deno.test("resolution: the SDK registry first, then image exports by key, then by name", () => {
  const sdk = () => 1;
  guest_fn_register("kvm:test_stub", sdk);
  guest_fn_register("kvm:test_stub", sdk); // idempotent for the same function
  assertThrows(() => guest_fn_register("kvm:test_stub", () => 2), Error, "already registered");
  assertEquals(guest_fn_lookup("kvm:test_stub"), sdk);
  const exported = () => 3;
  const renamed = function inner_name() {};
  const image = { exported, alias: renamed };
  assertEquals(guest_fn_resolve("kvm:test_stub", [image]), sdk);
  assertEquals(guest_fn_resolve("exported", [image]), exported);
  assertEquals(guest_fn_resolve("inner_name", [image]), renamed);
  assertEquals(guest_fn_resolve("missing", [image]), undefined);
});

Deno.test("a nameless function needs an explicit name", () => {
  assertThrows(() => guest_code_record(Object.defineProperty(() => 0, "name", { value: "" })));
});

Deno.test("comments, indentation and line wrapping do not change the record; a token does", () => {
  const base = guest_code_record(function f(x: number) {
    return x + 1;
  });
  const commented = guest_code_record(function f(x: number) {
    // one more than x
    return x /* the argument */ +
      1;
  });
  const other = guest_code_record(function f(x: number) {
    return x + 2;
  });
  const op = guest_code_record(function f(x: number) {
    return x - 1;
  });
  assertEquals(commented, base);
  assertEquals(other.some((b, i) => b !== base[i]), true);
  assertEquals(op.some((b, i) => b !== base[i]), true);
});

Deno.test("a line break where the grammar gives it a meaning is kept", () => {
  // `return\nx` returns undefined: automatic semicolon insertion after return.
  assertEquals(js_tokens("return\n x"), ["return", "\n", "x"]);
  assertEquals(js_tokens("return x"), ["return", "x"]);
  // `a\n++b` is `a; ++b`, `a++ b` does not parse: the break before ++ is kept.
  assertEquals(js_tokens("a\n++b"), ["a", "\n", "++", "b"]);
  // Elsewhere a break is whitespace.
  assertEquals(js_tokens("a\n+\nb"), ["a", "+", "b"]);
  // A comment spanning lines counts as a break.
  assertEquals(js_tokens("return /*\n*/ x"), ["return", "\n", "x"]);
});

Deno.test("a / after a TypeScript non-null assertion divides; after a prefix ! it starts a regex", () => {
  const tokens = (src: string) => js_tokens(src).join(" ");
  assertEquals(tokens("a[0]! / b!"), "a [ 0 ] ! / b !");
  assertEquals(tokens("f(x)!/n"), "f ( x ) ! / n");
  assertEquals(tokens("return !/x/.test(s)"), "return ! /x/ . test ( s )");
  assertEquals(tokens("a = !/x/g"), "a = ! /x/g");
  // After a line break the ! cannot be postfix (ASI ends the statement before it).
  assertEquals(tokens("f()\n!/x/.test(s)"), "f ( ) ! /x/ . test ( s )");
});

Deno.test("literals are tokens verbatim: strings, templates, regular expressions, numbers", () => {
  assertEquals(js_tokens("f('a // b', \"c /* d */\")"), [
    "f",
    "(",
    "'a // b'",
    ",",
    '"c /* d */"',
    ")",
  ]);
  assertEquals(js_tokens("`x ${ a } y`"), ["`x ${", "a", "} y`"]);
  assertEquals(js_tokens("x = /[/]/g.test(s) / 2"), [
    "x",
    "=",
    "/[/]/g",
    ".",
    "test",
    "(",
    "s",
    ")",
    "/",
    "2",
  ]);
  assertEquals(js_tokens("1e-3+0x1e+2n"), ["1e-3", "+", "0x1e", "+", "2n"]);
  assertEquals(js_tokens("a >>>= b ?? c?.d"), ["a", ">>>=", "b", "??", "c", "?.", "d"]);
  assertThrows(() => js_tokens("'open"), SyntaxError, "Unterminated string");
  assertThrows(() => js_tokens("`open ${a}"), SyntaxError, "Unterminated template literal");
});

Deno.test("a pooled vCPU worker's fresh image instance takes over its function's name", () => {
  const first = () => 41;
  const again = () => 41;
  guest_fn_register("kvm:test_reimport", first);
  // On the host a second function under the name is a mistake.
  assertThrows(() => guest_fn_register("kvm:test_reimport", again), Error, "already registered");
  const g = globalThis as { __KVM_GUEST_WORKER__?: boolean };
  g.__KVM_GUEST_WORKER__ = true;
  try {
    guest_fn_register("kvm:test_reimport", again);
    assertEquals(guest_fn_lookup("kvm:test_reimport"), again);
    // Another function under the same name is still refused.
    assertThrows(
      () => guest_fn_register("kvm:test_reimport", () => 42),
      Error,
      "already registered",
    );
  } finally {
    delete g.__KVM_GUEST_WORKER__;
  }
});
