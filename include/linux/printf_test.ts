// SPDX-License-Identifier: GPL-2.0-only
/**
 * `format()` prints what glibc's printf prints. Every expected string below was
 * printed by glibc 2.36 (x86-64) for the same format and C values.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { format, vformat } from "./printf.ts";

Deno.test("format() prints %#lx of 0 as 0 and of 4 as 0x4 (TEST_ASSERT_EQ's format)", () => {
  assertEquals(format("%#lx != %#lx (%s != %s)", 0, 4, "a", "b"), "0 != 0x4 (a != b)");
});

Deno.test("format() reinterprets integers at the width of the length modifier", () => {
  assertEquals(
    format("[%#lx][%#lx][%lx][%llx][%x][%X]", 0, 4, -1, 0x123456789abcn, -1, 0xabc),
    "[0][0x4][ffffffffffffffff][123456789abc][ffffffff][ABC]",
  );
  assertEquals(
    format(
      "[%hhd][%hd][%hhu][%hu][%d][%u][%ld][%lu][%zu][%zd]",
      300,
      70000,
      -1,
      -1,
      3000000000,
      -1,
      -1,
      -1,
      -1,
      -1,
    ),
    "[44][4464][255][65535][-1294967296][4294967295][-1][18446744073709551615][18446744073709551615][-1]",
  );
  assertEquals(
    format("[%jd][%td][%lld][%llu]", -9, -3, -123456789012345n, 2n ** 64n + 5n),
    "[-9][-3][-123456789012345][5]",
  );
});

Deno.test("format() applies flags, width and precision to integers as C does", () => {
  assertEquals(
    format(
      "[%#o][%#.0o][%.0d][%+.3d][% d][%-5d][%05d][%-05d][%5.3d]",
      0,
      0,
      0,
      5,
      4,
      3,
      -42,
      7,
      -7,
    ),
    "[0][0][][+005][ 4][3    ][-0042][7    ][ -007]",
  );
  assertEquals(
    format("[%#x][%#X][%#08x][%08.3x][%+u][%i][%+i][%#5o]", 255, 255, 255, 255, 5, 12, 12, 8),
    "[0xff][0XFF][0x0000ff][     0ff][5][12][+12][  010]",
  );
  assertEquals(
    format("[%*d][%-*d][%.*d][%*.*s]", 5, 42, 5, 42, 4, 7, 6, 2, "abc"),
    "[   42][42   ][0007][    ab]",
  );
  assertEquals(format("[%*d][%.*d]", -4, 1, -1, 0), "[1   ][0]");
});

Deno.test("format() prints %p as glibc: (nil) for NULL, else 0x and hex", () => {
  assertEquals(
    format("[%p][%p][%10p][%-10p]", null, 0x1234, 0, 0x10),
    "[(nil)][0x1234][     (nil)][0x10      ]",
  );
  assertEquals(format("%p", 0xffffffff_fffff000n), "0xfffffffffffff000");
});

Deno.test("format() prints characters and strings, with (null) for NULL", () => {
  assertEquals(format("[%c][%3c][%-3c][%%][%5%]", 65, "b", "c"), "[A][  b][c  ][%][%]");
  assertEquals(
    format(
      "[%s][%.2s][%8.3s][%-8s][%.3s][%s][%05s]",
      "hello",
      "hello",
      "hello",
      "hi",
      null,
      null,
      "ab",
    ),
    "[hello][he][     hel][hi      ][][(null)][   ab]",
  );
  assertEquals(format("%s %s %s", true, 42, 7n), "true 42 7");
});

Deno.test("format() counts width in UTF-8 bytes, as C counts chars, and never splits one", () => {
  assertEquals(format("[%6s]", "é"), "[    é]");
  assertEquals(format("[%.2s]", "aé"), "[a]");
});

Deno.test("format() rounds floating conversions half to even on the exact binary value", () => {
  assertEquals(
    format(
      "[%f][%.2f][%10.3f][%-10.1f][%+f][% f][%010.2f][%.0f][%#.0f][%.0f][%.0f]",
      3.14159,
      2.005,
      -1.5,
      1.25,
      1.0,
      1.0,
      -3.14159,
      0.5,
      2.0,
      2.5,
      3.5,
    ),
    "[3.141590][2.00][    -1.500][1.2       ][+1.000000][ 1.000000][-000003.14][0][2.][2][4]",
  );
  assertEquals(
    format("[%e][%.2e][%E][%e][%.0e][%#.0e]", 12345.678, 0.000123, 1e100, 0.0, 15.0, 15.0),
    "[1.234568e+04][1.23e-04][1.000000E+100][0.000000e+00][2e+01][2.e+01]",
  );
  assertEquals(
    format(
      "[%g][%g][%g][%g][%g][%.3g][%#g][%G][%g][%g]",
      100000.0,
      1000000.0,
      0.0001,
      0.00001,
      1.5,
      3.14159,
      1.0,
      1e-10,
      0.0,
      123456789.0,
    ),
    "[100000][1e+06][0.0001][1e-05][1.5][3.14][1.00000][1E-10][0][1.23457e+08]",
  );
  assertEquals(
    format("[%f][%F][%g][%5.1f]", Infinity, -Infinity, -0, -0),
    "[inf][-INF][-0][ -0.0]",
  );
  assertEquals(format("%.0f", 1e21), "1000000000000000000000");
});

Deno.test("format() prints unknown conversions unchanged and drops a cut-off one, as glibc", () => {
  assertEquals(format("[%y][%5y]"), "[%y][%5y]");
  assertEquals(format("100%"), "100");
});

Deno.test("format() reads missing arguments as 0 or NULL instead of crashing", () => {
  assertEquals(format("%d %s %p"), "0 (null) (nil)");
});

Deno.test("vformat() takes the arguments as one array, like vsnprintf's va_list", () => {
  assertEquals(vformat("%s=%d", ["x", 3]), "x=3");
});
