// SPDX-License-Identifier: GPL-2.0-only
/**
 * The one C `printf` formatter of the SDK.
 *
 * Every printf-like API (`ksft_print_msg`, `TH_LOG`, `TEST_ASSERT`, `pr_info`,
 * guest printf, ...) formats through {@linkcode format}, so a format string
 * ported from C prints the bytes glibc would print for the same values.
 *
 * Arguments are JavaScript values standing for C values: integers may be
 * `number` or `bigint`; the length modifier (`hh h l ll q j z Z t L`) decides the
 * C integer width, and the conversion decides the signedness, exactly as the C
 * argument would be reinterpreted (`%x` of `-1` prints `ffffffff`, `%lx` prints
 * `ffffffffffffffff`). `%s` prints strings (`(null)` for `null`), `%c` a character
 * code or the first character of a string, `%p` an address (`(nil)` for zero).
 * Floating conversions (`%f %e %g` and upper-case forms) round the exact binary
 * value half-to-even, as glibc does. Unknown conversions are printed literally,
 * as glibc does; `%n` consumes its argument and prints nothing. Width and
 * precision count UTF-8 bytes, as C counts `char`s, but a precision never cuts a
 * character in half.
 *
 * @module
 */

/** Integer widths, in bits, selected by the C length modifiers. */
const LENGTH_BITS: Readonly<Record<string, number>> = {
  "": 32,
  hh: 8,
  h: 16,
  l: 64,
  ll: 64,
  q: 64,
  L: 64,
  j: 64,
  z: 64,
  Z: 64,
  t: 64,
};

interface conversion_spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  alt: boolean;
  zero: boolean;
  width: number;
  precision: number; // -1 when absent, as in glibc
  length: string;
}

/**
 * Format like C `snprintf(buf, SIZE_MAX, fmt, ...)` and return the string.
 *
 * @param fmt a C format string
 * @param args the values of the variadic arguments, in order
 * @returns the formatted text
 *
 * @example
 * ```ts
 * import { format } from "./printf.ts";
 * format("%#lx != %#lx (%s != %s)", 0, 4, "a", "b"); // "0 != 0x4 (a != b)"
 * ```
 */
export function format(fmt: string, ...args: unknown[]): string {
  return vformat(fmt, args);
}

/**
 * Format like C `vsnprintf`: the arguments come as one array (a `va_list`).
 *
 * @param fmt a C format string
 * @param args the values of the variadic arguments, in order
 * @returns the formatted text
 */
export function vformat(fmt: string, args: readonly unknown[]): string {
  let out = "";
  let ai = 0;
  let i = 0;
  const next_arg = (): unknown => args[ai++];

  while (i < fmt.length) {
    const pct = fmt.indexOf("%", i);
    if (pct < 0) {
      out += fmt.slice(i);
      break;
    }
    out += fmt.slice(i, pct);
    let j = pct + 1;
    const spec: conversion_spec = {
      minus: false,
      plus: false,
      space: false,
      alt: false,
      zero: false,
      width: 0,
      precision: -1,
      length: "",
    };

    for (; j < fmt.length; j++) {
      const c = fmt[j];
      if (c === "-") spec.minus = true;
      else if (c === "+") spec.plus = true;
      else if (c === " ") spec.space = true;
      else if (c === "#") spec.alt = true;
      else if (c === "0") spec.zero = true;
      else if (c === "'" || c === "I") continue; // grouping / locale digits: no-ops in the C locale
      else break;
    }

    if (fmt[j] === "*") {
      j++;
      const w = Number(to_integer(next_arg()));
      // A negative '*' width is a '-' flag plus the absolute width (C11 7.21.6.1p5).
      if (w < 0) spec.minus = true;
      spec.width = Math.abs(w);
    } else {
      while (j < fmt.length && is_digit(fmt[j])) spec.width = spec.width * 10 + Number(fmt[j++]);
    }

    if (fmt[j] === ".") {
      j++;
      if (fmt[j] === "*") {
        j++;
        const p = Number(to_integer(next_arg()));
        // A negative '*' precision is taken as if it were omitted.
        spec.precision = p < 0 ? -1 : p;
      } else {
        spec.precision = 0;
        while (j < fmt.length && is_digit(fmt[j])) {
          spec.precision = spec.precision * 10 + Number(fmt[j++]);
        }
      }
    }

    const two = fmt.slice(j, j + 2);
    if (two === "hh" || two === "ll") {
      spec.length = two;
      j += 2;
    } else if (j < fmt.length && "hlqLjzZt".includes(fmt[j]!)) {
      spec.length = fmt[j]!;
      j++;
    }

    const conv = fmt[j];
    j++;
    switch (conv) {
      case "d":
      case "i":
        out += format_integer(spec, conv, next_arg());
        break;
      case "u":
      case "o":
      case "x":
      case "X":
        out += format_integer(spec, conv, next_arg());
        break;
      case "c":
        out += pad(spec, to_char(next_arg()), false);
        break;
      case "s":
        out += pad(spec, to_str(next_arg(), spec.precision), false);
        break;
      case "p":
        out += format_pointer(spec, next_arg());
        break;
      case "f":
      case "F":
      case "e":
      case "E":
      case "g":
      case "G":
        out += format_float(spec, conv, to_double(next_arg()));
        break;
      case "%":
        out += "%";
        break;
      case "n":
        next_arg();
        break;
      case undefined:
        // glibc drops a specification cut off by the end of the format.
        break;
      default:
        // glibc prints an unknown conversion specification unchanged.
        out += fmt.slice(pct, j);
        break;
    }
    i = conv === undefined ? fmt.length : j;
  }
  return out;
}

function is_digit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** The C integer value a JS argument stands for (before width truncation). */
function to_integer(v: unknown): bigint {
  switch (typeof v) {
    case "bigint":
      return v;
    case "number":
      return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
    case "boolean":
      return v ? 1n : 0n;
    case "string":
      try {
        return BigInt(v.trim() || "0");
      } catch {
        return 0n;
      }
    case "undefined":
      return 0n;
    default:
      if (v === null) return 0n;
      return to_integer(Number(v));
  }
}

function to_double(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v === null || v === undefined) return 0;
  return Number(v);
}

function to_char(v: unknown): string {
  if (typeof v === "string") return v.slice(0, 1);
  // %c prints the argument converted to unsigned char.
  return String.fromCharCode(Number(BigInt.asUintN(8, to_integer(v))));
}

function to_str(v: unknown, precision: number): string {
  if (v === null || v === undefined) {
    // glibc prints "(null)" unless a precision too short for it was given.
    return precision === -1 || precision >= 6 ? "(null)" : "";
  }
  const s = typeof v === "string" ? v : String(v);
  return precision >= 0 ? truncate_bytes(s, precision) : s;
}

const encoder = new TextEncoder();

/** C counts bytes: width and precision apply to the UTF-8 encoding. */
function byte_length(s: string): number {
  // Fast path for the common ASCII text.
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).length;
}

function truncate_bytes(s: string, max: number): string {
  if (byte_length(s) <= max) return s;
  let out = "";
  let n = 0;
  for (const ch of s) {
    const len = encoder.encode(ch).length;
    if (n + len > max) break;
    out += ch;
    n += len;
  }
  return out;
}

/** Pad to the field width; `zero_ok` allows the '0' flag (numeric conversions). */
function pad(spec: conversion_spec, body: string, zero_ok: boolean, prefix = ""): string {
  const len = byte_length(prefix) + byte_length(body);
  if (len >= spec.width) return prefix + body;
  const fill = spec.width - len;
  if (spec.minus) return prefix + body + " ".repeat(fill);
  if (zero_ok && spec.zero) return prefix + "0".repeat(fill) + body;
  return " ".repeat(fill) + prefix + body;
}

function format_integer(spec: conversion_spec, conv: string, arg: unknown): string {
  const bits = LENGTH_BITS[spec.length] ?? 32;
  const signed = conv === "d" || conv === "i";
  const raw = to_integer(arg);
  const value = signed ? BigInt.asIntN(bits, raw) : BigInt.asUintN(bits, raw);
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const base = conv === "o" ? 8 : conv === "x" || conv === "X" ? 16 : 10;

  let digits = magnitude.toString(base);
  if (conv === "X") digits = digits.toUpperCase();
  if (spec.precision === 0 && magnitude === 0n) digits = "";
  if (spec.precision > digits.length) digits = "0".repeat(spec.precision - digits.length) + digits;

  let prefix = "";
  if (signed) {
    if (negative) prefix = "-";
    else if (spec.plus) prefix = "+";
    else if (spec.space) prefix = " ";
  }
  if (spec.alt) {
    // '#': octal forces a leading zero digit; hex prefixes 0x only for non-zero values.
    if (conv === "o" && !digits.startsWith("0")) digits = "0" + digits;
    if ((conv === "x" || conv === "X") && magnitude !== 0n) prefix = conv === "x" ? "0x" : "0X";
  }
  // The '0' flag is ignored when a precision is given for an integer conversion.
  return pad(spec, digits, spec.precision < 0, prefix);
}

function format_pointer(spec: conversion_spec, arg: unknown): string {
  const value = BigInt.asUintN(64, to_integer(arg));
  if (value === 0n) return pad({ ...spec, zero: false }, "(nil)", false);
  let digits = value.toString(16);
  if (spec.precision > digits.length) digits = "0".repeat(spec.precision - digits.length) + digits;
  const sign = spec.plus ? "+" : spec.space ? " " : "";
  return pad(spec, digits, spec.precision < 0, sign + "0x");
}

/** An exact rational view of a finite double: |x| = num / den. */
function exact_rational(x: number): { num: bigint; den: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const exp_bits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (exp_bits === 0) {
    exp = -1074;
  } else {
    mant |= 1n << 52n;
    exp = exp_bits - 1075;
  }
  return exp >= 0 ? { num: mant << BigInt(exp), den: 1n } : { num: mant, den: 1n << BigInt(-exp) };
}

/** round(num / den) with ties to even, as the default FP rounding mode does. */
function div_round_even(num: bigint, den: bigint): bigint {
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

/** Digits of |x| with `prec` decimals, exactly rounded: "123.4500". */
function fixed_digits(x: number, prec: number): string {
  const { num, den } = exact_rational(x);
  const scaled = div_round_even(num * 10n ** BigInt(prec), den).toString();
  if (prec === 0) return scaled;
  const padded = scaled.padStart(prec + 1, "0");
  return padded.slice(0, -prec) + "." + padded.slice(-prec);
}

/** Mantissa digits (prec + 1 of them) and decimal exponent of |x|, exactly rounded. */
function exp_digits(x: number, prec: number): { digits: string; exp: number } {
  if (x === 0) return { digits: "0".repeat(prec + 1), exp: 0 };
  const { num, den } = exact_rational(x);
  let exp = Math.floor(Math.log10(Math.abs(x)));
  // log10 may be off by one near powers of ten: fix with exact comparisons.
  const pow = (e: number): { n: bigint; d: bigint } =>
    e >= 0 ? { n: 10n ** BigInt(e), d: 1n } : { n: 1n, d: 10n ** BigInt(-e) };
  for (;;) {
    const lo = pow(exp);
    if (num * lo.d < lo.n * den) {
      exp--;
      continue;
    }
    const hi = pow(exp + 1);
    if (num * hi.d >= hi.n * den) {
      exp++;
      continue;
    }
    break;
  }
  const shift = prec - exp;
  let q = shift >= 0
    ? div_round_even(num * 10n ** BigInt(shift), den)
    : div_round_even(num, den * 10n ** BigInt(-shift));
  if (q >= 10n ** BigInt(prec + 1)) {
    // Rounding carried into a new digit (9.99 -> 10.0): renormalise.
    q /= 10n;
    exp++;
  }
  return { digits: q.toString(), exp };
}

function exp_suffix(exp: number, upper: boolean): string {
  const e = Math.abs(exp).toString().padStart(2, "0");
  return (upper ? "E" : "e") + (exp < 0 ? "-" : "+") + e;
}

function strip_trailing_zeros(s: string): string {
  if (!s.includes(".")) return s;
  return s.replace(/0+$/, "").replace(/\.$/, "");
}

function format_float(spec: conversion_spec, conv: string, x: number): string {
  const upper = conv === "F" || conv === "E" || conv === "G";
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  if (!Number.isFinite(x)) {
    const text = Number.isNaN(x) ? "nan" : "inf";
    return pad(spec, upper ? text.toUpperCase() : text, false, Number.isNaN(x) ? "" : sign);
  }
  const prec = spec.precision < 0 ? 6 : spec.precision;
  let body: string;
  const lower = conv.toLowerCase();
  if (lower === "f") {
    body = fixed_digits(x, prec);
    if (spec.alt && prec === 0) body += ".";
  } else if (lower === "e") {
    const { digits, exp } = exp_digits(x, prec);
    body = digits.slice(0, 1) + (prec > 0 || spec.alt ? "." : "") + digits.slice(1) +
      exp_suffix(exp, upper);
  } else {
    // %g: choose %e or %f from the exponent the %e form would have (C11 7.21.6.1p8).
    const p = prec === 0 ? 1 : prec;
    const { exp } = exp_digits(x, p - 1);
    if (p > exp && exp >= -4) {
      body = fixed_digits(x, p - 1 - exp);
      if (spec.alt && !body.includes(".")) body += ".";
    } else {
      const { digits } = exp_digits(x, p - 1);
      let mant = digits.slice(0, 1) + (p > 1 || spec.alt ? "." : "") + digits.slice(1);
      if (!spec.alt) mant = strip_trailing_zeros(mant);
      body = mant + exp_suffix(exp, upper);
    }
    if (!spec.alt && !body.includes("e") && !body.includes("E")) body = strip_trailing_zeros(body);
  }
  return pad(spec, body, true, sign);
}
