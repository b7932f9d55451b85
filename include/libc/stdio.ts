// SPDX-License-Identifier: GPL-2.0-only
/**
 * The C stdio subset selftests print with: `printf`, `fprintf`, `puts`, ...
 *
 * Output is written unbuffered, straight to file descriptors 1 and 2, so the
 * lines of a harness parent and of its children interleave on a shared pipe or
 * file in the order they were printed, as the C harness gets by flushing
 * before each `fork()`.
 *
 * In a harness child (a re-executed copy of the test program, see
 * `harness_child_request()`), the program's start-up output is muted until the
 * harness starts the test: a forked C child inherits the parent's state and
 * does not print its constructor output (`Random seed: ...`) a second time.
 *
 * @module
 */

import { vformat } from "../linux/printf.ts";
import { harness_child_request } from "./process.ts";

/** A C `FILE *` stream; only the standard streams exist. */
export interface FILE {
  /** The file descriptor the stream writes to. */
  readonly fd: number;
}

/** C `stdout`. */
export const stdout: FILE = { fd: 1 };
/** C `stderr`. */
export const stderr: FILE = { fd: 2 };

let muted = harness_child_request() !== undefined;

/**
 * Mute or unmute all stdio output (the harness uses it around a child's start-up).
 *
 * @param on whether output is dropped
 */
export function stdio_set_muted(on: boolean): void {
  muted = on;
}

const encoder = new TextEncoder();

function write_all(fd: number, text: string): number {
  const bytes = encoder.encode(text);
  if (muted || bytes.length === 0) return bytes.length;
  const file = fd === 2 ? Deno.stderr : Deno.stdout;
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  return bytes.length;
}

/**
 * C `fputs()`.
 *
 * @param s the text
 * @param stream the stream
 * @returns the number of bytes written
 */
export function fputs(s: string, stream: FILE): number {
  return write_all(stream.fd, s);
}

/**
 * C `puts()`: the text and a newline on stdout.
 *
 * @param s the text
 * @returns the number of bytes written
 */
export function puts(s: string): number {
  return write_all(stdout.fd, s + "\n");
}

/**
 * C `vfprintf()`.
 *
 * @param stream the stream
 * @param fmt a C format string
 * @param args the variadic arguments
 * @returns the number of bytes written
 */
export function vfprintf(stream: FILE, fmt: string, args: readonly unknown[]): number {
  return write_all(stream.fd, vformat(fmt, args));
}

/**
 * C `fprintf()`.
 *
 * @param stream the stream
 * @param fmt a C format string
 * @param args the variadic arguments
 * @returns the number of bytes written
 */
export function fprintf(stream: FILE, fmt: string, ...args: unknown[]): number {
  return vfprintf(stream, fmt, args);
}

/**
 * C `vprintf()`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 * @returns the number of bytes written
 */
export function vprintf(fmt: string, args: readonly unknown[]): number {
  return vfprintf(stdout, fmt, args);
}

/**
 * C `printf()`.
 *
 * @param fmt a C format string
 * @param args the variadic arguments
 * @returns the number of bytes written
 */
export function printf(fmt: string, ...args: unknown[]): number {
  return vfprintf(stdout, fmt, args);
}

/**
 * C `fflush()`: nothing to do, output is unbuffered.
 *
 * @param _stream the stream
 * @returns 0
 */
export function fflush(_stream?: FILE): number {
  return 0;
}
