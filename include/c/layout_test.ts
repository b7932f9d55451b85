// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertThrows } from "@std/assert";
import {
  array,
  f64,
  flex,
  member_size,
  offsetof,
  s32,
  sizeof,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
} from "./layout.ts";

Deno.test("struct members follow natural alignment and the struct pads to its alignment", () => {
  const t = struct("t", { a: u8, b: u32, c: u16, d: u64, e: u8 });
  assertEquals(t.members.map((m) => m.offset), [0, 4, 8, 16, 24]);
  assertEquals(sizeof(t), 32);
  assertEquals(t.align, 8);
});

Deno.test("a double is 8 bytes, 8-aligned, read and written as IEEE binary64", () => {
  const t = struct("t", { a: u32, d: f64 });
  assertEquals(offsetof(t, "d"), 8);
  assertEquals(sizeof(t), 16);
  const v = t.alloc();
  v.d = 1796666547434.2295;
  assertEquals(new DataView(v.$buffer).getFloat64(8, true), 1796666547434.2295);
  assertEquals(v.d, 1796666547434.2295);
});

Deno.test("a __packed struct puts members back to back with alignment 1", () => {
  const dtr = struct("td_boot_parameters_dtr", { limit: u16, base: u32 }, { packed: true });
  assertEquals(sizeof(dtr), 6);
  assertEquals(offsetof(dtr, "base"), 2);
  const outer = struct("outer", { a: u8, dtr: dtr, b: u32 });
  assertEquals(offsetof(outer, "dtr"), 1);
  assertEquals(offsetof(outer, "b"), 8);
});

Deno.test("a union is as large as its largest member and aligned to its strictest", () => {
  const un = union("u", { a: u8, b: array(u32, 3), c: u16 });
  assertEquals(sizeof(un), 12);
  assertEquals(un.align, 4);
  const s = struct("s", { x: u8, un });
  assertEquals(offsetof(s, "un.b[2]"), 12);
});

Deno.test("a flexible array member adds no size and views see the elements that fit", () => {
  const ent = struct("ent", { f: u32, v: u32 });
  const hdr = struct("hdr", { nent: u32, padding: u32, entries: flex(ent) });
  assertEquals(sizeof(hdr), 8);
  const h = hdr.alloc(3);
  assertEquals(h.$bytes.length, 8 + 3 * 8);
  assertEquals(h.entries.length, 3);
  h.entries.at(2).v = 7;
  assertEquals(new DataView(h.$buffer).getUint32(8 + 2 * 8 + 4, true), 7);
  assertThrows(() => struct("bad", { e: flex(u32), n: u32 }), TypeError, "last member");
});

Deno.test("views read and write through to shared and offset buffers", () => {
  const t = struct("t", { a: u32, b: u64, c: s32, arr: array(u16, 4) });
  const sab = new SharedArrayBuffer(64);
  const v = t.view(new Uint8Array(sab, 8), 8);
  v.a = 0xdeadbeef;
  v.b = -1n;
  v.c = -2;
  v.arr.set(3, 0xffff + 2);
  const dv = new DataView(sab);
  assertEquals(dv.getUint32(16, true), 0xdeadbeef);
  assertEquals(dv.getBigUint64(24, true), 0xffffffffffffffffn);
  assertEquals(v.b, 0xffffffffffffffffn);
  assertEquals(v.c, -2);
  assertEquals(v.arr.toArray(), [0, 0, 0, 1]);
  assertEquals(v.$offset, 16);
  assertThrows(() => t.view(sab, 40), RangeError);
  assertThrows(() => v.arr.at(4), RangeError);
});

Deno.test("assigning a nested struct copies its bytes as C struct assignment does", () => {
  const inner = struct("inner", { x: u32, y: u32 });
  const outer = struct("outer", { a: inner, b: inner });
  const o = outer.alloc();
  o.a.x = 1;
  o.a.y = 2;
  o.b = o.a;
  assertEquals([o.b.x, o.b.y], [1, 2]);
});

Deno.test("offsetof and member_size resolve nested designators and reject unknown ones", () => {
  const inner = struct("inner", { x: u32, y: array(u64, 2) });
  const outer = struct("outer", { a: u8, in: inner });
  assertEquals(offsetof(outer, "in.y[1]"), 8 + 8 + 8);
  assertEquals(member_size(outer, "in.y"), 16);
  assertEquals(member_size(outer, "in.y[0]"), 8);
  assertThrows(() => offsetof(outer, "in.z"), TypeError, "no member named 'z'");
});

Deno.test("anonymous ($) members are promoted into the enclosing record, as C11 does", () => {
  const run = struct("run", {
    exit_reason: u32,
    $exit: union("", {
      io: struct("", { direction: u8, size: u8, port: u16, count: u32, data_offset: u64 }),
      hypercall: struct("", {
        nr: u64,
        $flags: union("", { longmode: u32, flags: u64 }),
      }),
      padding: array(u8, 32),
    }),
    valid: u64,
  });
  assertEquals(sizeof(run), 48);
  assertEquals(offsetof(run, "io.port"), 10);
  assertEquals(offsetof(run, "hypercall.flags"), 16);
  assertEquals(offsetof(run, "valid"), 40);
  assertEquals(member_size(run, "hypercall.longmode"), 4);
  const v = run.alloc();
  v.io.port = 0x3f8;
  v.hypercall.longmode = 1;
  const flags: bigint = v.hypercall.flags;
  assertEquals(flags, 1n);
  assertEquals(new DataView(v.$buffer).getUint16(10, true), 0x3f8);
  assertEquals(run.members.map((m) => m.name), ["exit_reason", "$exit", "valid"]);
  assertThrows(() => offsetof(run, "exit"), TypeError, "no member named 'exit'");
  assertThrows(() => struct("bad", { $a: u32 }), TypeError, "must be a struct or union");
  assertThrows(
    () => struct("dup", { io: u32, $u: union("", { io: u64 }) }),
    TypeError,
    "Duplicate member 'io'",
  );
});

Deno.test("a struct whose last member ends in a flexible array is itself flexible", () => {
  const ent = struct("kvm_cpuid_entry2", { function: u32, index: u32, rest: array(u32, 8) });
  const cpuid2 = struct("kvm_cpuid2", { nent: u32, padding: u32, entries: flex(ent) });
  const caps = struct("caps", { attrs: u64, reserved: array(u64, 3), cpuid: cpuid2 });
  assertEquals(sizeof(caps), 40);
  assertEquals(offsetof(caps, "cpuid.entries"), 40);
  assertEquals(caps.flexTail, cpuid2.flexTail);
  assertEquals(caps.flexTail?.elem, ent);
  const c = caps.alloc(2);
  assertEquals(c.$bytes.length, 40 + 2 * 40);
  assertEquals(c.cpuid.entries.length, 2);
  c.cpuid.entries.at(1).index = 7;
  assertEquals(new DataView(c.$buffer).getUint32(40 + 40 + 4, true), 7);
  assertEquals(struct("fixed", { a: u32 }).flexTail, undefined);
  assertThrows(() => struct("bad", { cpuid: cpuid2, n: u32 }), TypeError, "last member");
  assertThrows(() => union("bad", { cpuid: cpuid2 }), TypeError, "last member");
  assertThrows(() => array(cpuid2, 2), TypeError, "flexible array");
});

Deno.test("c_declaration writes the struct as a uAPI header does: packed, arrays, flexible, unions", async () => {
  const { c_declaration, c_declarations, struct, union, array, flex, u8, u16, u32, u64 } =
    await import("./layout.ts");
  const dtr = struct("dtr", { limit: u16, base: u32 }, { packed: true });
  const t = struct("t", {
    a: u32,
    d: dtr,
    v: array(u8, 3),
    $u: union("", { x: u64, y: array(u32, 2) }),
    tail: flex(u16),
  });
  assertEquals(
    c_declaration(dtr),
    "struct dtr {\n\t__u16 limit;\n\t__u32 base;\n} __attribute__((packed));",
  );
  assertEquals(
    c_declarations([t]),
    "struct dtr {\n\t__u16 limit;\n\t__u32 base;\n} __attribute__((packed));\n\n" +
      "struct t {\n\t__u32 a;\n\tstruct dtr d;\n\t__u8 v[3];\n" +
      "\tunion {\n\t\t__u64 x;\n\t\t__u32 y[2];\n\t};\n\t__u16 tail[];\n};",
  );
});
