// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { createHash } from "node:crypto";
import { sha256, SHA256_DIGEST_SIZE } from "./sha2.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("sha256 matches FIPS 180-4's examples", () => {
  const enc = new TextEncoder();
  assertEquals(
    hex(sha256(new Uint8Array())),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assertEquals(
    hex(sha256(enc.encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(
    hex(sha256(enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256 agrees with node:crypto at every length around the block and padding edges", () => {
  const data = new Uint8Array(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  for (let n = 0; n <= data.length; n++) {
    const d = data.subarray(0, n);
    const got = sha256(d);
    assertEquals(got.length, SHA256_DIGEST_SIZE);
    assertEquals(hex(got), createHash("sha256").update(d).digest("hex"), `length ${n}`);
  }
});

Deno.test("sha256 reads a subarray at its offset and leaves the input alone", () => {
  const buf = new Uint8Array(200).fill(0x5a);
  const before = buf.slice();
  const d = buf.subarray(3, 150);
  assertEquals(hex(sha256(d)), createHash("sha256").update(d).digest("hex"));
  assertEquals(buf, before);
});
