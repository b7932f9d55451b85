// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kselftest_harness.h`: `TEST`, `FIXTURE*`,
 * `TEST_F`, variants, `ASSERT_*`/`EXPECT_*`, `SKIP`, `TH_LOG` and
 * `test_harness_run`, printing what the newest upstream harness prints, byte
 * for byte (checked against outputs of the C harness, see
 * `include/kselftest_harness_test.ts`).
 *
 * ## Porting conventions
 *
 * | C | TypeScript |
 * |---|---|
 * | `TEST(name) { ... }` | `TEST("name", () => { ... });` |
 * | `TEST_SIGNAL(name, SIGSEGV) { ... }` | `TEST_SIGNAL("name", 11, () => { ... });` |
 * | `FIXTURE(f) { int x; };` | `const f = FIXTURE("f", () => ({ x: 0 }));` |
 * | `FIXTURE_VARIANT(f) { int w; };` | `FIXTURE<Self, { w: number }>(...)`; the type is `FIXTURE_VARIANT<typeof f>` |
 * | `FIXTURE_VARIANT_ADD(f, v) { .w = 1 };` | `FIXTURE_VARIANT_ADD(f, "v", { w: 1 });` |
 * | `FIXTURE_SETUP(f) { ... }` | `FIXTURE_SETUP(f, (self, variant) => { ... });` |
 * | `FIXTURE_TEARDOWN(f) { ... }` | `FIXTURE_TEARDOWN(f, (self, variant) => { ... });` |
 * | `TEST_F(f, name) { ... }` | `TEST_F(f, "name", (self, variant) => { ... });` |
 * | `TEST_F_TIMEOUT(f, name, 5) { ... }` | `TEST_F_TIMEOUT(f, "name", 5, (self, variant) => { ... });` |
 * | `XFAIL_ADD(f, v, name);` | `XFAIL_ADD(f, "v", "name");` |
 * | `self->x`, `variant->w` | `self.x`, `variant.w` (parameters of the callbacks) |
 * | `_metadata` | implicit: the harness keeps the running test's state; {@linkcode _metadata} returns it |
 * | `ASSERT_EQ(a, b) TH_LOG("...");` | `ASSERT_EQ(a, b, () => TH_LOG("..."));` (optional handler, run on failure) |
 * | `SKIP(return, "fmt", ...);` | `return SKIP("fmt", ...);` |
 * | `TEST_HARNESS_MAIN` | `TEST_HARNESS_MAIN(import.meta);` (last statement of the file) |
 * | `int main(int argc, char **argv) { ... }` | `function main(argc, argv) { ... }` + `ksft_main(import.meta, main);` |
 *
 * Test bodies, setups and teardowns may be `async`. As in C, a test's fixture
 * data is created fresh (by the `FIXTURE` initialiser, C: zeroed) for each test.
 *
 * Source texts in messages come from the call site (`include/linux/stringify.ts`):
 * `ASSERT_EQ(42, answer)` prints `Expected 42 (42) == answer (41)`. Because `self`
 * and `variant` are pointers in C, their member accesses print as C writes them
 * (`self.bytes` prints `self->bytes`), so a TypeScript port logs what its C
 * original logs.
 *
 * ## Process model
 *
 * - **Standalone** (`deno run -A x.ts [options]`): `test_harness_run` parses the
 *   C options (`-h -l -d -t -T -v -V -f -F -r`), prints TAP 13 and runs each
 *   selected test away from the parent, as the C harness forks a child for it.
 *   The tests go one after another to a *test server*: a child process
 *   (`Deno.execPath() run -A <module> <args>`, stdio inherited) that imports a
 *   fresh instance of the test module for each test, so the module's state
 *   and its `main` start anew as in a forked child, then runs the test's atexit
 *   handlers and closes the KVM descriptors it left open, as a process exit
 *   would (see "Standalone: the test server" below). `TEST_SIGNAL` tests get a
 *   process of their own. The parent waits with the test's timeout (30 s,
 *   `TEST_F_TIMEOUT` overrides) and SIGKILLs the server when it expires; a
 *   crash, a process exit or a timeout ends only that test, and a new server
 *   runs the ones after it. The status is read as a C child's exit status: 0
 *   pass, 4 skip, 2 xfail, 3 xpass, anything else `Test failed`; a failed
 *   `ASSERT_*` records the abort in the results file (the C harness's
 *   MAP_SHARED results page, which also carries the `SKIP` reason) and ends
 *   the test with 134 (128 + SIGABRT), reported as
 *   `Test terminated by assertion`. An exception thrown by a test is a failure:
 *   its stack goes to stderr and the status is 1. `exit()` in a test ends only
 *   that test.
 * - **`deno test`**: while the module loads (`await TEST_HARNESS_MAIN(...)`),
 *   the program runs in one child process (`deno run` of the module with
 *   {@linkcode DENO_TEST_CHILD_ENV} set), where each selected (fixture,
 *   variant, test) runs setup, body and teardown one after another; then the
 *   parent registers one `Deno.test` per result, named `fixture[.variant].test`. A failed `ASSERT_*` or
 *   `EXPECT_*`, a non-zero `exit()`, an exception or an overrun timeout fails
 *   it (the Deno test rethrows the recorded error). A test that skipped is
 *   registered as ignored, named `<name> # SKIP <reason>`, so Deno's summary and
 *   its JUnit report count it as skipped; so is every test when a
 *   `TEST_REQUIRE` fails in `main` before `test_harness_run`. Parts reported
 *   with `ksft_test_result_skip/xfail` become ignored steps. `TEST_SIGNAL` tests
 *   run in a child process, as standalone.
 * - **vCPU workers** import the test module for its guest code: there every
 *   registration and `ksft_main` is inert ({@linkcode in_guest_worker}).
 *
 * @module
 */

import {
  ksft_exit,
  ksft_exit_skip,
  KSFT_FAIL,
  ksft_get_error_cnt,
  ksft_get_fail_cnt,
  ksft_get_parts,
  type ksft_part,
  KSFT_PASS,
  ksft_print_header,
  ksft_print_msg,
  ksft_reset_state,
  ksft_set_debug_enabled,
  ksft_set_plan,
  KSFT_SKIP,
  ksft_test_result_code,
  KSFT_XFAIL,
  KSFT_XPASS,
} from "./kselftest.ts";
import { format, vformat } from "./linux/printf.ts";
import { type call_site, callsite, source_file_name, stringify_args } from "./linux/stringify.ts";
import { fprintf, stderr, stdio_set_muted } from "./libc/stdio.ts";
import { exit, ExitError, run_atexit_handlers } from "./libc/exit.ts";
import { assert_no_leaks, backend, selected_backend_name } from "./libc/backend.ts";
import { expected_host_failure, expected_host_skip } from "./known_host_failures.ts";
import {
  type child_timeout,
  getenv,
  HARNESS_CHILD_ENV,
  harness_child_request,
  IMAGE_INSTANCE_PARAM,
  in_deno_test,
  in_guest_worker,
  kill_at_timeout,
  set_deno_test_mode,
} from "./libc/process.ts";

export { in_guest_worker };

/** Seconds a test may run before the harness kills it (C `TEST_TIMEOUT_DEFAULT`). */
export const TEST_TIMEOUT_DEFAULT = 30;

/** A `TEST()` body. */
export type test_fn = () => void | Promise<void>;

/** A `TEST_F()` body, `FIXTURE_SETUP()` or `FIXTURE_TEARDOWN()`: C's `self` and `variant`. */
export type fixture_fn<S, V> = (self: S, variant: V) => void | Promise<void>;

/**
 * A fixture declared by {@linkcode FIXTURE}: `S` is the type of `self`
 * (C `FIXTURE_DATA(name)`), `V` the type of `variant` (C `FIXTURE_VARIANT(name)`).
 */
export interface fixture_metadata<S, V> {
  /** The fixture name, as printed in test names. */
  readonly name: string;
  /** Type-level only: the type of `self`. */
  readonly __self?: S;
  /** Type-level only: the type of `variant`. */
  readonly __variant?: V;
}

/** C `FIXTURE_DATA(f)`: the type of `self` of fixture `F` (`FIXTURE_DATA<typeof f>`). */
export type FIXTURE_DATA<F> = F extends fixture_metadata<infer S, infer _V> ? S : never;

/** C `FIXTURE_VARIANT(f)`: the type of `variant` of fixture `F` (`FIXTURE_VARIANT<typeof f>`). */
export type FIXTURE_VARIANT<F> = F extends fixture_metadata<infer _S, infer V> ? V : never;

/** The state of the running test (C `struct __test_metadata`, what `_metadata` points to). */
export interface __test_metadata {
  /** The bare test name (C `_metadata->name`), printed by `TH_LOG`. */
  readonly name: string;
  /** The result so far: a `KSFT_*` code. */
  exit_code: number;
  /** True from the moment a failing `ASSERT_*` starts unwinding the test. */
  aborted: boolean;
  /** The `SKIP()` reason (C `_metadata->results->reason`). */
  reason: string;
  /** True until setup has completed, and again once teardown has started. */
  no_teardown: boolean;
  /** The fixture data of a `TEST_F` (C `_metadata->self`). */
  self: unknown;
  /** The variant data of a `TEST_F` (C `_metadata->variant`). */
  variant: unknown;
}

// deno-lint-ignore no-explicit-any
type any_fn = fixture_fn<any, any>;

interface __fixture {
  name: string;
  init: (() => unknown) | undefined;
  setup: any_fn | undefined;
  teardown: any_fn | undefined;
  tests: __test[];
  variants: __variant[];
  xfails: { variant: string; test: string }[];
}

interface __variant {
  name: string;
  data: unknown;
}

interface __test {
  name: string;
  fn: any_fn;
  fixture: __fixture;
  termsig: number;
  timeout: number;
}

interface __run_state extends __test_metadata {
  abort_error: Error | undefined;
  /** The first failed expectation, reported by `deno test` when the test fails. */
  first_failure: Error | undefined;
  failures: string[];
  results_path: string | undefined;
}

/** C's `-r` names and the run loop treat a fixture without variants as one empty-named variant. */
const no_variant: __variant = { name: "", data: {} };

const _fixture_global: __fixture = {
  name: "global",
  init: undefined,
  setup: undefined,
  teardown: undefined,
  tests: [],
  variants: [],
  xfails: [],
};

const __fixture_list: __fixture[] = [_fixture_global];
const fixture_objects = new WeakMap<object, __fixture>();

let current: __run_state | undefined;
let deno_tests_registered = false;

/** What a failed `ASSERT_*` throws to unwind the test, as C's `abort()` ends it. */
class harness_abort extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

function registration_enabled(): boolean {
  return !in_guest_worker();
}

function add_test(f: __fixture, name: string, fn: any_fn, termsig: number, timeout: number): void {
  if (!registration_enabled()) return;
  if (f.tests.some((t) => t.name === name)) {
    throw new Error(`Cannot register test "${f.name}.${name}": the name is already used`);
  }
  f.tests.push({ name, fn, fixture: f, termsig, timeout });
}

function fixture_of<S, V>(handle: fixture_metadata<S, V>): __fixture {
  const f = fixture_objects.get(handle);
  if (f === undefined) {
    throw new Error(`Cannot use fixture "${handle.name}": it was not made by FIXTURE()`);
  }
  return f;
}

/**
 * Define a test of the global fixture (C `TEST(name)`).
 *
 * @param name the test name
 * @param fn the body
 */
export function TEST(name: string, fn: test_fn): void {
  add_test(_fixture_global, name, fn, -1, TEST_TIMEOUT_DEFAULT);
}

/**
 * Define a test that passes only if it is killed by `signal` (C `TEST_SIGNAL`).
 *
 * @param name the test name
 * @param signal the expected terminating signal, by number or name
 * @param fn the body
 */
export function TEST_SIGNAL(name: string, signal: number | Deno.Signal, fn: test_fn): void {
  add_test(_fixture_global, name, fn, signal_number(signal), TEST_TIMEOUT_DEFAULT);
}

/**
 * Declare a fixture (C `FIXTURE(name) { members };`). The initialiser makes a
 * fresh `self` for each test, as C zeroes a fresh `FIXTURE_DATA` per test.
 *
 * @typeParam S the type of `self`
 * @typeParam V the type of `variant` (C `FIXTURE_VARIANT(name)`)
 * @param name the fixture name
 * @param init returns the initial fixture data (default: an empty object)
 * @returns the fixture, to pass to `FIXTURE_SETUP`, `TEST_F`, ...
 */
export function FIXTURE<S extends object = Record<string, never>, V = Record<string, never>>(
  name: string,
  init?: () => S,
): fixture_metadata<S, V> {
  const handle: fixture_metadata<S, V> = { name };
  const f: __fixture = {
    name,
    init,
    setup: undefined,
    teardown: undefined,
    tests: [],
    variants: [],
    xfails: [],
  };
  fixture_objects.set(handle, f);
  if (registration_enabled()) __fixture_list.push(f);
  return handle;
}

/**
 * Set the fixture's setup (C `FIXTURE_SETUP(f)`). `ASSERT_*` here aborts the
 * test before its body; `SKIP()` here skips the body.
 *
 * @param fixture the fixture
 * @param fn the setup
 */
export function FIXTURE_SETUP<S, V>(fixture: fixture_metadata<S, V>, fn: fixture_fn<S, V>): void {
  fixture_of(fixture).setup = fn;
}

/**
 * Set the fixture's teardown (C `FIXTURE_TEARDOWN(f)`); it runs once after the
 * body, also when an `ASSERT_*` aborts the body, but not when setup failed.
 *
 * @param fixture the fixture
 * @param fn the teardown
 */
export function FIXTURE_TEARDOWN<S, V>(
  fixture: fixture_metadata<S, V>,
  fn: fixture_fn<S, V>,
): void {
  fixture_of(fixture).teardown = fn;
}

/**
 * C `FIXTURE_TEARDOWN_PARENT(f)`. C runs it in the process that forked the test
 * body; here the test runs in one process, so it is {@linkcode FIXTURE_TEARDOWN}
 * (which differs only if the body calls `exit()`: then it does not run).
 *
 * @param fixture the fixture
 * @param fn the teardown
 */
export function FIXTURE_TEARDOWN_PARENT<S, V>(
  fixture: fixture_metadata<S, V>,
  fn: fixture_fn<S, V>,
): void {
  fixture_of(fixture).teardown = fn;
}

/**
 * C `FIXTURE_VARIANT_ADD(f, name) { data };`: adds a parameter set called
 * `name`. Setup, teardown and every `TEST_F` body receive `data` as their
 * `variant` argument, and the whole test list of the fixture is run again for
 * each set added.
 *
 * @param fixture the fixture
 * @param name the variant name
 * @param data the variant data
 */
export function FIXTURE_VARIANT_ADD<S, V>(
  fixture: fixture_metadata<S, V>,
  name: string,
  data: V,
): void {
  if (!registration_enabled()) return;
  fixture_of(fixture).variants.push({ name, data });
}

/**
 * C `XFAIL_ADD`: `test_name` is expected to fail under `variant_name`. The
 * `# OK`/`# FAIL` message still shows the plain verdict; the TAP result line
 * and the totals then say XFAIL when it did fail and XPASS when it did not.
 *
 * @param fixture the fixture
 * @param variant_name the variant name
 * @param test_name the test name
 */
export function XFAIL_ADD<S, V>(
  fixture: fixture_metadata<S, V>,
  variant_name: string,
  test_name: string,
): void {
  if (!registration_enabled()) return;
  fixture_of(fixture).xfails.push({ variant: variant_name, test: test_name });
}

/**
 * Register `fn` as a test of `fixture`: it gets a fresh `self` and runs once per variant
 * (C `TEST_F(f, name)`).
 *
 * @param fixture the fixture
 * @param name the test name
 * @param fn the body, given `self` and `variant`
 */
export function TEST_F<S, V>(
  fixture: fixture_metadata<S, V>,
  name: string,
  fn: fixture_fn<S, V>,
): void {
  add_test(fixture_of(fixture), name, fn, -1, TEST_TIMEOUT_DEFAULT);
}

/**
 * A fixture test that passes only if killed by `signal` (C `TEST_F_SIGNAL`).
 *
 * @param fixture the fixture
 * @param name the test name
 * @param signal the expected terminating signal, by number or name
 * @param fn the body
 */
export function TEST_F_SIGNAL<S, V>(
  fixture: fixture_metadata<S, V>,
  name: string,
  signal: number | Deno.Signal,
  fn: fixture_fn<S, V>,
): void {
  add_test(fixture_of(fixture), name, fn, signal_number(signal), TEST_TIMEOUT_DEFAULT);
}

/**
 * A fixture test with its own timeout in seconds (C `TEST_F_TIMEOUT`).
 *
 * @param fixture the fixture
 * @param name the test name
 * @param timeout seconds before the harness kills the test
 * @param fn the body
 */
export function TEST_F_TIMEOUT<S, V>(
  fixture: fixture_metadata<S, V>,
  name: string,
  timeout: number,
  fn: fixture_fn<S, V>,
): void {
  add_test(fixture_of(fixture), name, fn, -1, timeout);
}

const outside_test: __run_state = new_state("", undefined);

function new_state(name: string, results_path: string | undefined): __run_state {
  return {
    name,
    exit_code: KSFT_PASS,
    aborted: false,
    reason: "",
    no_teardown: true,
    self: undefined,
    variant: undefined,
    abort_error: undefined,
    first_failure: undefined,
    failures: [],
    results_path,
  };
}

/**
 * The running test's state (C `_metadata`), e.g. to read `exit_code` or to
 * mark a failure from a helper: `_metadata().exit_code = KSFT_FAIL`.
 *
 * @returns the state of the running test (a detached dummy outside any test)
 */
export function _metadata(): __test_metadata {
  return current ?? outside_test;
}

function state(): __run_state {
  return current ?? outside_test;
}

/** Write the C harness's shared results page: what the parent reads after the child. */
function publish_results(md: __run_state): void {
  if (md.results_path === undefined) return;
  try {
    Deno.writeTextFileSync(
      md.results_path,
      JSON.stringify({ reason: md.reason, aborted: md.aborted }),
    );
  } catch {
    // The parent then reports the bare exit status, as with a lost page.
  }
}

function __TH_LOG(site: call_site | undefined, fmt: string, args: readonly unknown[]): string {
  const line = format("# %s:%d:%s:", site?.file ?? "?", site?.line ?? 0, state().name) +
    vformat(fmt, args);
  fprintf(stderr, "%s\n", line);
  return line;
}

/**
 * Log from a test: `# <file>:<line>:<test>:<message>` on stderr (C `TH_LOG`).
 *
 * @param fmt a C format string (no trailing newline)
 * @param args the variadic arguments
 */
export function TH_LOG(fmt: string, ...args: unknown[]): void {
  __TH_LOG(callsite(1), fmt, args);
}

const REASON_MAX = 1023; // C: char reason[1024], filled by snprintf

/**
 * Skip the rest of the test: record the reason, print `#      SKIP      <reason>`
 * on stderr and make the test's result `KSFT_SKIP` (C `SKIP(statement, fmt, ...)`).
 * C's `statement` argument has no counterpart here: the caller leaves the test
 * itself, e.g. `return SKIP("no %s", what);`.
 *
 * @param fmt a C format string for the reason
 * @param args the variadic arguments
 */
export function SKIP(fmt: string, ...args: unknown[]): void {
  const md = state();
  let reason = vformat(fmt, args);
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length > REASON_MAX) {
    reason = new TextDecoder().decode(bytes.subarray(0, REASON_MAX)).replace(/\uFFFD$/, "");
  }
  md.reason = reason;
  fprintf(stderr, "#      SKIP      %s\n", md.reason);
  md.exit_code = KSFT_SKIP;
  publish_results(md);
}

type cmp_op = "==" | "!=" | "<" | "<=" | ">" | ">=";

type scalar = number | bigint;

/** The C value a JS value stands for in a comparison, or undefined for non-scalars. */
function c_scalar(v: unknown): scalar | undefined {
  switch (typeof v) {
    case "number":
    case "bigint":
      return v;
    case "boolean":
      return v ? 1 : 0;
    case "undefined":
      return 0;
    case "object":
      return v === null ? 0 : undefined;
    default:
      return undefined;
  }
}

function scalar_cmp(a: scalar, b: scalar): number {
  if (typeof a === "bigint" || typeof b === "bigint") {
    const ai = typeof a === "bigint" || Number.isInteger(a);
    const bi = typeof b === "bigint" || Number.isInteger(b);
    if (ai && bi) {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
}

function c_compare(a: unknown, op: cmp_op, b: unknown): boolean {
  const x = c_scalar(a);
  const y = c_scalar(b);
  if (x !== undefined && y !== undefined) {
    const c = scalar_cmp(x, y);
    switch (op) {
      case "==":
        return c === 0;
      case "!=":
        return c !== 0;
      case "<":
        return c < 0;
      case "<=":
        return c <= 0;
      case ">":
        return c > 0;
      case ">=":
        return c >= 0;
    }
  }
  // Objects compare by identity, as C pointers do; strings by value and order.
  switch (op) {
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return (a as string) < (b as string);
    case "<=":
      return (a as string) <= (b as string);
    case ">":
      return (a as string) > (b as string);
    case ">=":
      return (a as string) >= (b as string);
  }
}

/** How C's `%jd`/`%ju` shows the value. */
function value_text(v: unknown): string {
  const s = c_scalar(v);
  if (s !== undefined) return String(s);
  return String(v);
}

/** C pointer members: `self.x` is C's `self->x` (also `variant`). */
function c_member_text(src: string): string {
  return src.replace(/(^|[^\w$.])(self|variant)\.(?=[A-Za-z_$])/g, "$1$2->");
}

// deno-lint-ignore ban-types
type macro_fn = Function;

/**
 * Record a failed expectation. The error made here is what `deno test` shows:
 * its message is the log line without the `# ` and its stack starts at the test
 * line that called the macro.
 */
function __fail(md: __run_state, line: string, macro: macro_fn): harness_abort {
  md.exit_code = KSFT_FAIL;
  md.failures.push(line.replace(/^# /, ""));
  const error = new harness_abort(line.replace(/^# /, ""));
  Error.captureStackTrace(error, macro);
  md.first_failure ??= error;
  return error;
}

/** C `__bail()` for an ASSERT: what `abort()` does to the test. */
function __bail(md: __run_state, error: harness_abort): never {
  md.aborted = true;
  md.abort_error = error;
  publish_results(md);
  throw error;
}

function __EXPECT(
  expected: unknown,
  expected_src: string | number,
  seen: unknown,
  seen_arg: number,
  op: cmp_op,
  is_assert: boolean,
  handler: (() => void) | undefined,
  macro: macro_fn,
): void {
  if (c_compare(expected, op, seen)) return;
  // callsite(2): the ASSERT_*/EXPECT_* call in the test (this, then the macro).
  const site = callsite(2);
  const srcs = site ? stringify_args(site) : undefined;
  const exp_text = typeof expected_src === "string"
    ? expected_src
    : c_member_text(srcs?.[expected_src] ?? value_text(expected));
  const seen_text = c_member_text(srcs?.[seen_arg] ?? value_text(seen));
  const md = state();
  const line = __TH_LOG(site, "Expected %s (%s) %s %s (%s)", [
    exp_text,
    value_text(expected),
    op,
    seen_text,
    value_text(seen),
  ]);
  const error = __fail(md, line, macro);
  handler?.();
  if (is_assert) __bail(md, error);
}

function __EXPECT_STR(
  expected: string,
  seen: string,
  op: "==" | "!=",
  is_assert: boolean,
  handler: (() => void) | undefined,
  macro: macro_fn,
): void {
  if ((expected === seen) === (op === "==")) return;
  const md = state();
  const line = __TH_LOG(callsite(2), "Expected '%s' %s '%s'.", [expected, op, seen]);
  const error = __fail(md, line, macro);
  handler?.();
  if (is_assert) __bail(md, error);
}

/** An `ASSERT_*`/`EXPECT_*` handler: C's optional statement after the macro, run on failure. */
export type expect_handler = () => void;

/**
 * `expected == seen`, or fail and abort the test (C `ASSERT_EQ`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure before aborting (C: the statement after the macro)
 */
export function ASSERT_EQ(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "==", true, handler, ASSERT_EQ);
}

/**
 * `expected != seen`, or fail and abort the test (C `ASSERT_NE`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_NE(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "!=", true, handler, ASSERT_NE);
}

/**
 * `expected < seen`, or fail and abort the test (C `ASSERT_LT`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_LT(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "<", true, handler, ASSERT_LT);
}

/**
 * `expected <= seen`, or fail and abort the test (C `ASSERT_LE`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_LE(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "<=", true, handler, ASSERT_LE);
}

/**
 * `expected > seen`, or fail and abort the test (C `ASSERT_GT`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_GT(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, ">", true, handler, ASSERT_GT);
}

/**
 * `expected >= seen`, or fail and abort the test (C `ASSERT_GE`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_GE(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, ">=", true, handler, ASSERT_GE);
}

/**
 * `seen` is NULL (`null`, `undefined` or 0), or fail and abort (C `ASSERT_NULL`).
 *
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_NULL(seen: unknown, handler?: expect_handler): void {
  __EXPECT(null, "NULL", seen, 0, "==", true, handler, ASSERT_NULL);
}

/**
 * `seen` is true (non-zero), or fail and abort the test (C `ASSERT_TRUE`).
 *
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_TRUE(seen: unknown, handler?: expect_handler): void {
  __EXPECT(0, "0", seen, 0, "!=", true, handler, ASSERT_TRUE);
}

/**
 * `seen` is false (zero), or fail and abort the test (C `ASSERT_FALSE`).
 *
 * @param seen the value the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_FALSE(seen: unknown, handler?: expect_handler): void {
  __EXPECT(0, "0", seen, 0, "==", true, handler, ASSERT_FALSE);
}

/**
 * The strings are equal, or fail and abort the test (C `ASSERT_STREQ`).
 *
 * @param expected the reference string
 * @param seen the string the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_STREQ(expected: string, seen: string, handler?: expect_handler): void {
  __EXPECT_STR(expected, seen, "==", true, handler, ASSERT_STREQ);
}

/**
 * The strings differ, or fail and abort the test (C `ASSERT_STRNE`).
 *
 * @param expected the reference string
 * @param seen the string the test produced
 * @param handler run on failure before aborting
 */
export function ASSERT_STRNE(expected: string, seen: string, handler?: expect_handler): void {
  __EXPECT_STR(expected, seen, "!=", true, handler, ASSERT_STRNE);
}

/**
 * `expected == seen`; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_EQ`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_EQ(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "==", false, handler, EXPECT_EQ);
}

/**
 * `expected != seen`; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_NE`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_NE(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "!=", false, handler, EXPECT_NE);
}

/**
 * `expected < seen`; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_LT`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_LT(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "<", false, handler, EXPECT_LT);
}

/**
 * `expected <= seen`; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_LE`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_LE(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, "<=", false, handler, EXPECT_LE);
}

/**
 * `expected > seen`; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_GT`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_GT(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, ">", false, handler, EXPECT_GT);
}

/**
 * `expected >= seen`; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_GE`).
 *
 * @param expected the reference value `seen` is compared with
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_GE(expected: unknown, seen: unknown, handler?: expect_handler): void {
  __EXPECT(expected, 0, seen, 1, ">=", false, handler, EXPECT_GE);
}

/**
 * `seen` is NULL; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_NULL`).
 *
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_NULL(seen: unknown, handler?: expect_handler): void {
  __EXPECT(null, "NULL", seen, 0, "==", false, handler, EXPECT_NULL);
}

/**
 * `seen` is true; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_TRUE`).
 *
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_TRUE(seen: unknown, handler?: expect_handler): void {
  __EXPECT(0, "0", seen, 0, "!=", false, handler, EXPECT_TRUE);
}

/**
 * `seen` is false; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_FALSE`).
 *
 * @param seen the value the test produced
 * @param handler run on failure
 */
export function EXPECT_FALSE(seen: unknown, handler?: expect_handler): void {
  __EXPECT(0, "0", seen, 0, "==", false, handler, EXPECT_FALSE);
}

/**
 * The strings are equal; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_STREQ`).
 *
 * @param expected the reference string
 * @param seen the string the test produced
 * @param handler run on failure
 */
export function EXPECT_STREQ(expected: string, seen: string, handler?: expect_handler): void {
  __EXPECT_STR(expected, seen, "==", false, handler, EXPECT_STREQ);
}

/**
 * The strings differ; if not, the failure is logged and the
 * test, marked failed, keeps running (C `EXPECT_STRNE`).
 *
 * @param expected the reference string
 * @param seen the string the test produced
 * @param handler run on failure
 */
export function EXPECT_STRNE(expected: string, seen: string, handler?: expect_handler): void {
  __EXPECT_STR(expected, seen, "!=", false, handler, EXPECT_STRNE);
}

// ---------------------------------------------------------------------------
// Options

interface getopt_result {
  opt: string;
  optarg: string | undefined;
}

/**
 * glibc `getopt()` over the whole argv: options are found anywhere (non-options
 * are permuted past them) unless POSIXLY_CORRECT is set; `--` ends them.
 * Errors are printed as glibc prints them and returned as `?`.
 */
function* getopt(
  argv: readonly string[],
  optstring: string,
  print_errors: boolean,
): Generator<getopt_result> {
  const posix = getenv("POSIXLY_CORRECT") !== undefined;
  const prog = argv[0] ?? "";
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return;
    if (!arg.startsWith("-") || arg === "-") {
      if (posix) return;
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j]!;
      const k = c === ":" ? -1 : optstring.indexOf(c);
      if (k < 0) {
        if (print_errors) fprintf(stderr, "%s: invalid option -- '%c'\n", prog, c);
        yield { opt: "?", optarg: undefined };
        continue;
      }
      if (optstring[k + 1] !== ":") {
        yield { opt: c, optarg: undefined };
        continue;
      }
      if (j + 1 < arg.length) {
        yield { opt: c, optarg: arg.slice(j + 1) };
      } else if (i + 1 < argv.length) {
        yield { opt: c, optarg: argv[++i]! };
      } else {
        if (print_errors) fprintf(stderr, "%s: option requires an argument -- '%c'\n", prog, c);
        yield { opt: "?", optarg: undefined };
      }
      break;
    }
  }
}

function test_harness_list_tests(): void {
  for (const f of __fixture_list) {
    if (f === __fixture_list[0]) {
      fprintf(stderr, "%-20s %-25s %s\n", "# FIXTURE", "VARIANT", "TEST");
    } else {
      fprintf(stderr, "%s\n", "-".repeat(80));
    }
    // C walks the variant and test lists together and names the fixture on the
    // row of its first test (on every row when it has no test).
    const rows = Math.max(1, f.variants.length, f.tests.length);
    for (let i = 0; i < rows; i++) {
      fprintf(
        stderr,
        "%-20s %-25s %s\n",
        i === 0 || f.tests.length === 0 ? f.name : "",
        f.variants[i]?.name ?? "",
        f.tests[i]?.name ?? "",
      );
    }
  }
}

const USAGE = "Usage: %s [-h|-l|-d] [-t|-T|-v|-V|-f|-F|-r name]\n" +
  "\t-h       print help\n" +
  "\t-l       list all tests\n" +
  "\t-d       enable debug prints\n" +
  "\n" +
  "\t-t name  include test\n" +
  "\t-T name  exclude test\n" +
  "\t-v name  include variant\n" +
  "\t-V name  exclude variant\n" +
  "\t-f name  include fixture\n" +
  "\t-F name  exclude fixture\n" +
  "\t-r name  run specified test\n" +
  "\n" +
  "Test filter options can be specified multiple times. The filtering stops\n" +
  "at the first match. For example to include all tests from variant 'bla'\n" +
  "but not test 'foo' specify '-T foo -v bla'.\n";

function test_harness_argv_check(argv: readonly string[]): number {
  for (const { opt } of getopt(argv, "dhlF:f:V:v:t:T:r:", true)) {
    switch (opt) {
      case "f":
      case "F":
      case "v":
      case "V":
      case "t":
      case "T":
      case "r":
        break;
      case "l":
        test_harness_list_tests();
        return KSFT_SKIP;
      case "d":
        ksft_set_debug_enabled(true);
        break;
      default:
        fprintf(stderr, USAGE, argv[0] ?? "");
        return opt === "h" ? KSFT_SKIP : KSFT_FAIL;
    }
  }
  return KSFT_PASS;
}

function test_enabled(argv: readonly string[], f: __fixture, v: __variant, t: __test): boolean {
  let has_positive = false;
  for (const { opt, optarg } of getopt(argv, "dF:f:V:v:t:T:r:", false)) {
    const positive = opt >= "a" && opt <= "z";
    if (opt !== "d") has_positive ||= positive;
    switch (opt.toLowerCase()) {
      case "t":
        if (t.name === optarg) return positive;
        break;
      case "f":
        if (f.name === optarg) return positive;
        break;
      case "v":
        if (v.name === optarg) return positive;
        break;
      case "r":
        if (optarg === `${f.name}.${v.name ? v.name + "." : ""}${t.name}`) return true;
        break;
    }
  }
  // No filter named this test: it runs unless some include filter (lower case) was given.
  return !has_positive;
}

// ---------------------------------------------------------------------------
// Running one test

type outcome =
  | { kind: "returned" }
  | { kind: "aborted"; error: Error }
  | { kind: "exit"; error: ExitError }
  | { kind: "exception"; error: unknown };

function classify(e: unknown, md: __run_state): outcome {
  if (md.aborted) return { kind: "aborted", error: md.abort_error ?? new harness_abort("abort") };
  if (e instanceof ExitError) return { kind: "exit", error: e };
  return { kind: "exception", error: e };
}

async function run_teardown(f: __fixture, md: __run_state): Promise<void> {
  // C: the no_teardown test-and-set makes teardown run at most once.
  if (md.no_teardown) return;
  md.no_teardown = true;
  if (f.teardown) await f.teardown(md.self, md.variant);
}

/**
 * Setup, body and teardown of one test, as the C wrapper and its forked
 * grandchild run them: a setup that fails or skips ends the test before the
 * body; an aborting ASSERT runs the teardown (C `__bail()`), then ends it.
 * `in_process` also runs the teardown after `exit()` or an exception, because
 * under `deno test` the isolate lives on and its resources must be released.
 */
async function run_test_body(
  f: __fixture,
  v: __variant,
  t: __test,
  md: __run_state,
  in_process: boolean,
): Promise<outcome> {
  const check_abort = (): void => {
    if (md.aborted) throw md.abort_error;
  };
  // A test this host is known not to be able to run (it would hang) is
  // skipped before its setup, with the reason (known_host_failures.ts).
  const host_skip = expected_host_skip(
    Deno.mainModule.split("/").pop()!,
    selected_backend_name(),
    full_name(f, v, t),
  );
  if (host_skip) {
    SKIP("%s", host_skip.reason);
    return { kind: "returned" };
  }
  try {
    if (f === _fixture_global) {
      await t.fn(undefined, undefined);
      check_abort();
      return { kind: "returned" };
    }
    md.self = f.init ? f.init() : {};
    md.variant = v.data;
    md.no_teardown = true;
    if (f.setup) await f.setup(md.self, md.variant);
    check_abort();
    if (md.exit_code !== KSFT_PASS) return { kind: "returned" };
    md.no_teardown = false;
    await t.fn(md.self, md.variant);
    check_abort();
    await run_teardown(f, md);
    check_abort();
    return { kind: "returned" };
  } catch (e) {
    const out = classify(e, md);
    if (out.kind === "aborted" || in_process) {
      try {
        await run_teardown(f, md);
      } catch {
        // C: an ASSERT in the teardown run by __bail() aborts as well.
      }
    }
    return out;
  }
}

function test_passed(exit_code: number): boolean {
  return exit_code !== KSFT_FAIL && exit_code <= KSFT_SKIP;
}

/** C `_exit()` code standing for death by SIGABRT, with `aborted` set in the results file. */
const ABORT_EXIT_STATUS = 128 + 6;

function print_uncaught(e: unknown): void {
  const text = e instanceof Error ? (e.stack ?? String(e)) : String(e);
  fprintf(stderr, "error: Uncaught %s\n", text);
}

/**
 * Runs the test named by `req` as the C harness's forked child runs it and
 * returns the status that child exits with: the test's `exit_code`, the
 * status of an `exit()`, {@linkcode ABORT_EXIT_STATUS} after a failed
 * `ASSERT_*` (with `aborted` in the results file), or `KSFT_FAIL` after an
 * exception, whose stack it prints.
 */
async function run_child_test(
  req: { fixture: number; variant: number; test: number; results: string },
): Promise<number> {
  const f = __fixture_list[req.fixture];
  const v = f && (f.variants.length ? f.variants[req.variant] : no_variant);
  const t = f?.tests[req.test];
  stdio_set_muted(false);
  if (!f || !v || !t) {
    fprintf(stderr, "# harness child: no test %d.%d.%d\n", req.fixture, req.variant, req.test);
    return KSFT_FAIL;
  }
  ksft_reset_state();
  const md = new_state(t.name, req.results);
  current = md;
  try {
    const out = await run_test_body(f, v, t, md, false);
    switch (out.kind) {
      case "aborted":
        return ABORT_EXIT_STATUS;
      case "exit":
        // In a child process exit() ends it at once; in a test server it
        // throws, and its status is the test's.
        return out.error.status;
      case "exception":
        print_uncaught(out.error);
        return KSFT_FAIL;
    }
    if (test_passed(md.exit_code) && (ksft_get_fail_cnt() !== 0 || ksft_get_error_cnt() !== 0)) {
      ksft_print_msg("Illegal usage of low-level ksft APIs in harness test\n");
      md.exit_code = KSFT_FAIL;
    }
    return md.exit_code;
  } finally {
    current = undefined;
  }
}

/** The harness child: run the test named by the parent and exit with its status. */
async function run_child(
  req: { fixture: number; variant: number; test: number; results: string },
): Promise<never> {
  Deno.exit(await run_child_test(req));
}

const SIGNALS: readonly Deno.Signal[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];
const SIGABRT = 6;

/** Linux x86-64 signal numbers. */
function signal_number(sig: number | Deno.Signal): number {
  if (typeof sig === "number") return sig;
  if (sig === "SIGPOLL") return 29;
  const i = SIGNALS.indexOf(sig);
  return i < 0 ? 0 : i + 1;
}

interface child_result {
  exit_code: number;
  reason: string;
}

/**
 * Run one test in a re-executed child and read its wait status as C's
 * `__wait_for_test()` does, printing the same diagnostics.
 */
async function run_in_child(
  fi: number,
  vi: number,
  ti: number,
  t: __test,
  results_path: string,
): Promise<child_result> {
  Deno.writeTextFileSync(results_path, "");
  const child = spawn_harness_child({
    fixture: fi,
    variant: vi,
    test: ti,
    results: results_path,
  });

  const w = watch_test(t, () => child);
  let status: Deno.CommandStatus;
  try {
    status = await child.status;
  } finally {
    w.done();
  }
  return reap(t, status, w.timed_out, results_path);
}

/**
 * A re-execution of the program (`deno run -A <module> <args>`, the
 * terminal's stdio) as a harness child, told by `req` what to run: C's
 * fork(), with the request in place of the copied memory.
 */
function spawn_harness_child(req: harness_child_request): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", Deno.mainModule, ...Deno.args],
    env: { [HARNESS_CHILD_ENV]: JSON.stringify(req) },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
}

/**
 * The parent's watch over the process running test `t`: SIGKILL at the
 * test's timeout, and also when the harness gets SIGINT, SIGTERM or SIGHUP
 * (it then dies of the signal), so that no test outlives its harness.
 */
function watch_test(t: __test, child: () => Deno.ChildProcess | undefined): child_timeout {
  const clock = kill_at_timeout(child, t.timeout);
  const forward = (sig: Deno.Signal) => (): void => {
    try {
      child()?.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    Deno.kill(Deno.pid, sig);
  };
  const handlers: [Deno.Signal, () => void][] = (["SIGINT", "SIGTERM", "SIGHUP"] as const)
    .map((s) => [s, forward(s)]);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  return {
    get timed_out() {
      return clock.timed_out;
    },
    done() {
      clock.done();
      for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
    },
  };
}

/**
 * The outcome of a test from its child's wait status and the results file,
 * read as C's `__wait_for_test()` reads them, with the same diagnostics.
 */
function reap(
  t: __test,
  status: { code: number; signal: Deno.Signal | null },
  timed_out: boolean,
  results_path: string,
): child_result {
  let shared = { reason: "", aborted: false };
  try {
    const text = Deno.readTextFileSync(results_path);
    if (text) shared = { ...shared, ...JSON.parse(text) };
  } catch {
    // An unreadable page reads as zeroes, as a fresh one.
  }

  let exit_code = KSFT_FAIL;
  let signo = status.signal ? signal_number(status.signal) : 0;
  if (signo === 0 && status.code === ABORT_EXIT_STATUS && shared.aborted) signo = SIGABRT;

  if (timed_out) {
    exit_code = KSFT_FAIL;
    fprintf(stderr, "# %s: Test terminated by timeout\n", t.name);
  } else if (signo === 0) {
    const code = status.code;
    if (code === KSFT_SKIP || code === KSFT_XPASS || code === KSFT_XFAIL) {
      exit_code = code;
    } else if (t.termsig !== -1) {
      exit_code = KSFT_FAIL;
      fprintf(stderr, "# %s: Test exited normally instead of by signal (code: %d)\n", t.name, code);
    } else if (code === KSFT_PASS) {
      exit_code = KSFT_PASS;
    } else {
      exit_code = KSFT_FAIL;
      fprintf(stderr, "# %s: Test failed\n", t.name);
    }
  } else {
    exit_code = KSFT_FAIL;
    if (signo === SIGABRT) {
      fprintf(stderr, "# %s: Test terminated by assertion\n", t.name);
    } else if (signo === t.termsig) {
      exit_code = KSFT_PASS;
    } else {
      fprintf(stderr, "# %s: Test terminated unexpectedly by signal %d\n", t.name, signo);
    }
  }
  return { exit_code, reason: shared.reason };
}

// ---------------------------------------------------------------------------
// Standalone: the test server

// A standalone run's tests (all but TEST_SIGNAL ones) go to one child process
// that runs them one after another, each in a fresh instance of the test
// module, instead of to one process each: starting a process, loading the
// library and the simulator, and starting a vCPU worker cost about 0.4 s a
// test, while most tests take a few milliseconds. What a forked C child gets
// is kept where it can be observed:
// - the module's own state is fresh for each test: the server imports the
//   test module again under a new URL (`?kvm_image_instance=N`), which evaluates its
//   top level and runs its `main` up to `test_harness_run()` (muted, as a
//   child's start-up is), as the C child starts from the parent's state;
// - what the test leaves behind is released as by a process's exit: the
//   atexit handlers run (unfreed VMs, mappings), the descriptors it left
//   open on KVM are closed (`Backend.open_fds`), the timers it armed are
//   cancelled, so none fires in a later test, and the environment and
//   working directory it changed are put back;
// - a crash, an exit of the process, or a timeout ends only that test: the
//   parent reads the server's status as a child's, SIGKILLs it at the
//   timeout, and starts a new server for the tests that follow; so does a
//   test that leaves a vCPU thread running after its VMs are freed.
// The library's own module state (caches such as KVM_GET_SUPPORTED_CPUID's)
// is shared by the tests of one server, as a C child shares what the parent
// had cached before it forked.

/** One test the parent asks the server to run. */
interface server_request {
  fixture: number;
  variant: number;
  test: number;
  /** Sequence number: the fresh module instance's URL. */
  n: number;
}

/** In the server: the test the module instance being imported must run. */
let server_request_now: server_request | undefined;
/** In the server: the status the test ended with (a child's exit status). */
let server_status: number | undefined;
/** In the server: the URL of the module instance being imported. */
let server_instance_url = "";
/** In the server: the timers armed since the current test started. */
const server_timers = new Set<ReturnType<typeof setTimeout>>();

/** In the server: records every timer armed from now on, to cancel it after its test. */
function server_track_timers(): void {
  const g = globalThis as unknown as Record<"setTimeout" | "setInterval", typeof setTimeout>;
  for (const name of ["setTimeout", "setInterval"] as const) {
    const real = g[name];
    g[name] = ((...args: Parameters<typeof setTimeout>) => {
      const id = real(...args);
      server_timers.add(id);
      return id;
    }) as typeof setTimeout;
  }
}

const line_encoder = new TextEncoder();

/** A reader of newline-terminated lines; `null` at end of file. */
function line_reader(conn: Deno.Conn): () => Promise<string | null> {
  const decoder = new TextDecoder();
  const chunk = new Uint8Array(4096);
  let buf = "";
  return async () => {
    for (;;) {
      const i = buf.indexOf("\n");
      if (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return line;
      }
      let n: number | null;
      try {
        n = await conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) return null;
      buf += decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  };
}

async function write_line(conn: Deno.Conn, line: string): Promise<void> {
  const bytes = line_encoder.encode(line + "\n");
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** The backend, if one is loaded (the process may not have reached it). */
function loaded_backend(): ReturnType<typeof backend> | undefined {
  try {
    return backend();
  } catch {
    return undefined;
  }
}

/** The server's loop: run each requested test, answer with its status, exit at end of file. */
async function serve(sock: string): Promise<never> {
  const conn = await Deno.connect({ transport: "unix", path: sock });
  const next = line_reader(conn);
  server_track_timers();
  for (;;) {
    const line = await next();
    if (line === null) Deno.exit(0);
    const req = JSON.parse(line) as server_request;
    // The instance registers its fixtures and tests afresh.
    __fixture_list.length = 1;
    _fixture_global.tests.length = 0;
    _fixture_global.xfails.length = 0;
    server_request_now = req;
    server_status = undefined;
    const before = new Set(loaded_backend()?.open_fds?.() ?? []);
    const env = Deno.env.toObject();
    const cwd = Deno.cwd();
    // The query pooled vCPU workers use for a fresh image instance: call
    // sites (guest globals' keys, messages) name the module without it.
    server_instance_url = `${Deno.mainModule}?${IMAGE_INSTANCE_PARAM}=${req.n}`;
    try {
      await import(server_instance_url);
    } catch (e) {
      // The module's top level threw before the test ran.
      stdio_set_muted(false);
      print_uncaught(e);
      server_status ??= KSFT_FAIL;
    }
    const status = server_status ?? KSFT_FAIL;
    stdio_set_muted(true);
    // The C child's exit: atexit handlers, then the files it held.
    try {
      run_atexit_handlers();
    } catch {
      // A handler that fails must not keep the files open.
    }
    for (const id of server_timers) clearTimeout(id);
    server_timers.clear();
    server_restore_env(env, cwd);
    const b = loaded_backend();
    for (const fd of b?.open_fds?.() ?? []) if (!before.has(fd)) b!.close(fd);
    const restart = (b?.leaks?.() ?? []).length > 0;
    await write_line(conn, JSON.stringify({ status, restart }));
    if (restart) Deno.exit(0);
  }
}

/** A child's environment and working directory die with it: the next test gets the server's. */
function server_restore_env(env: Record<string, string>, cwd: string): void {
  for (const k of Object.keys(Deno.env.toObject())) if (!(k in env)) Deno.env.delete(k);
  for (const [k, v] of Object.entries(env)) if (Deno.env.get(k) !== v) Deno.env.set(k, v);
  try {
    if (Deno.cwd() !== cwd) Deno.chdir(cwd);
  } catch {
    // The directory is gone: the next test runs where it is.
  }
}

/** In the server, `test_harness_run()` of the instance being imported: runs its one test. */
async function run_server_test(results: string): Promise<number> {
  const req = server_request_now!;
  server_status = await run_child_test({
    fixture: req.fixture,
    variant: req.variant,
    test: req.test,
    results,
  });
  stdio_set_muted(true);
  return server_status;
}

/** In the server, the instance's `main`: its start-up (muted) and its test. */
async function run_server_instance(argv: string[], main: ksft_main_fn): Promise<void> {
  try {
    const r = await main(argv.length, argv);
    // main() returned before test_harness_run(): its status is the test's.
    server_status ??= r ?? 0;
  } catch (e) {
    if (server_status !== undefined) return;
    if (e instanceof ExitError) {
      server_status = e.status;
    } else {
      stdio_set_muted(false);
      print_uncaught(e);
      server_status = KSFT_FAIL;
    }
  }
}

/** The parent's handle on its test server. */
interface test_server {
  child: Deno.ChildProcess;
  conn: Deno.Conn;
  next: () => Promise<string | null>;
}

/** The parent's side: one listening socket per run, one server at a time. */
interface server_parent {
  dir: string;
  sock: string;
  listener: Deno.Listener;
  /** The accept in flight (a listener takes one at a time). */
  accepting: Promise<Deno.Conn> | undefined;
  server: test_server | undefined;
  n: number;
}

function server_parent_open(): server_parent {
  const dir = Deno.makeTempDirSync({ prefix: "kselftest-server-" });
  const sock = `${dir}/sock`;
  return {
    dir,
    sock,
    listener: Deno.listen({ transport: "unix", path: sock }),
    accepting: undefined,
    server: undefined,
    n: 0,
  };
}

async function server_parent_close(p: server_parent): Promise<void> {
  const s = p.server;
  p.server = undefined;
  if (s) {
    try {
      s.conn.close();
    } catch {
      // Already closed.
    }
    await s.child.status;
  }
  try {
    p.listener.close();
  } catch {
    // Already closed.
  }
  try {
    Deno.removeSync(p.dir, { recursive: true });
  } catch {
    // Nothing to clean.
  }
}

/** Starts a server; `null` when it died before connecting (its status says why). */
async function server_start(
  p: server_parent,
  results_path: string,
): Promise<test_server | Deno.CommandStatus> {
  const child = spawn_harness_child({
    fixture: -1,
    variant: -1,
    test: -1,
    results: results_path,
    serve: p.sock,
  });
  p.accepting ??= p.listener.accept();
  const got = await Promise.race([p.accepting, child.status]);
  if ("success" in got) return got;
  p.accepting = undefined;
  const conn = got as Deno.Conn;
  return { child, conn, next: line_reader(conn) };
}

/** Runs one test in the server (starting one when needed), as run_in_child runs it in a child. */
async function run_in_server(
  p: server_parent,
  fi: number,
  vi: number,
  ti: number,
  t: __test,
  results_path: string,
): Promise<child_result> {
  Deno.writeTextFileSync(results_path, "");
  let child: Deno.ChildProcess | undefined;
  const w = watch_test(t, () => child);
  try {
    if (!p.server) {
      const started = await server_start(p, results_path);
      if (!("conn" in started)) return reap(t, started, w.timed_out, results_path);
      p.server = started;
    }
    const s = p.server;
    child = s.child;
    await write_line(s.conn, JSON.stringify({ fixture: fi, variant: vi, test: ti, n: ++p.n }));
    const answer = await Promise.race([s.next(), s.child.status]);
    if (typeof answer === "string") {
      const { status, restart } = JSON.parse(answer) as { status: number; restart: boolean };
      if (restart) {
        p.server = undefined;
        s.conn.close();
        await s.child.status;
      }
      return reap(t, { code: status, signal: null }, w.timed_out, results_path);
    }
    // The server ended during the test: its status is the test's, as a child's.
    p.server = undefined;
    try {
      s.conn.close();
    } catch {
      // Already closed.
    }
    const status = answer ?? await s.child.status;
    return reap(t, status, w.timed_out, results_path);
  } finally {
    w.done();
  }
}

function full_name(f: __fixture, v: __variant, t: __test): string {
  return `${f.name}${v.name ? "." : ""}${v.name}.${t.name}`;
}

function is_xfail(f: __fixture, v: __variant, t: __test): boolean {
  return f.xfails.some((x) => x.variant === v.name && x.test === t.name);
}

interface selected_test {
  f: __fixture;
  v: __variant;
  t: __test;
  fi: number;
  vi: number;
  ti: number;
}

function selected_tests(argv: readonly string[]): { tests: selected_test[]; cases: number } {
  const tests: selected_test[] = [];
  let cases = 0;
  __fixture_list.forEach((f, fi) => {
    const variants = f.variants.length ? f.variants : [no_variant];
    variants.forEach((v, vi) => {
      const before = tests.length;
      f.tests.forEach((t, ti) => {
        if (test_enabled(argv, f, v, t)) tests.push({ f, v, t, fi, vi, ti });
      });
      if (tests.length !== before) cases++;
    });
  });
  return { tests, cases };
}

/** C `__run_test()`, parent side. */
async function __run_test(
  s: selected_test,
  results_path: string,
  p: server_parent,
): Promise<number> {
  const test_name = full_name(s.f, s.v, s.t);
  ksft_print_msg(" RUN           %s ...\n", test_name);
  // A test that must die by a signal gets a process of its own.
  const r = s.t.termsig !== -1
    ? await run_in_child(s.fi, s.vi, s.ti, s.t, results_path)
    : await run_in_server(p, s.fi, s.vi, s.ti, s.t, results_path);
  let exit_code = r.exit_code;
  ksft_print_msg("         %4s  %s\n", test_passed(exit_code) ? "OK" : "FAIL", test_name);
  if (is_xfail(s.f, s.v, s.t)) exit_code = test_passed(exit_code) ? KSFT_XPASS : KSFT_XFAIL;
  let diagnostic: string | null;
  if (r.reason) diagnostic = r.reason;
  else if (exit_code === KSFT_PASS || exit_code === KSFT_FAIL) diagnostic = null;
  else diagnostic = "unknown";
  ksft_test_result_code(exit_code, test_name, diagnostic === null ? null : "%s", diagnostic);
  return exit_code;
}

async function run_parent(argv: readonly string[]): Promise<never> {
  const { tests, cases } = selected_tests(argv);
  const results_path = Deno.makeTempFileSync({ prefix: "kselftest-results-" });
  const p = server_parent_open();
  let ret = 0;
  let pass_count = 0;
  let count = 0;
  try {
    ksft_print_header();
    ksft_set_plan(tests.length);
    ksft_print_msg("Starting %u tests from %u test cases.\n", tests.length, cases);
    for (const s of tests) {
      count++;
      if (test_passed(await __run_test(s, results_path, p))) pass_count++;
      else ret = 1;
    }
  } finally {
    await server_parent_close(p);
    try {
      Deno.removeSync(results_path);
    } catch {
      // Nothing to clean.
    }
  }
  ksft_print_msg("%s: %u / %u tests passed.\n", ret ? "FAILED" : "PASSED", pass_count, count);
  return ksft_exit(ret === 0);
}

// ---------------------------------------------------------------------------
// deno test

/**
 * What one test (or a `main()`-only program) did. Under `deno test` the
 * tests run while the module loads and each result is then registered as a
 * Deno test: Deno can ignore a test only when registering it, so this is how
 * a test that skips at run time is counted as ignored (skipped), not passed.
 */
interface load_result {
  /** The Deno test's name. */
  name: string;
  /** The `KSFT_*` outcome. */
  exit_code: number;
  /** The SKIP / XFAIL reason. */
  reason: string;
  /** What the Deno test throws when the outcome is a failure. */
  error: unknown;
  /** Parts reported through the low-level API (`ksft_test_result_skip`, ...): ignored steps. */
  parts: readonly ksft_part[];
}

/** In a `deno test` child (see {@linkcode DENO_TEST_CHILD_ENV}): where results go instead of Deno.test. */
let child_results: load_result[] | undefined;

function register_result(r: load_result): void {
  deno_tests_registered = true;
  if (child_results) {
    child_results.push(r);
    return;
  }
  if (r.exit_code === KSFT_SKIP) {
    Deno.test({
      name: `${r.name} # SKIP${r.reason ? ` ${r.reason}` : ""}`,
      ignore: true,
      fn: () => {},
    });
    return;
  }
  const steps = r.parts.map((p) => `${p.directive}: ${p.msg || "unknown"}`);
  if (r.exit_code === KSFT_XFAIL || r.exit_code === KSFT_XPASS) {
    steps.push(`${r.exit_code === KSFT_XFAIL ? "XFAIL" : "XPASS"}: ${r.reason || "unknown"}`);
  }
  Deno.test({
    name: r.name,
    fn: async (ctx) => {
      // Parts that did not run (or failed as the host explains) are ignored steps.
      for (const name of steps) await ctx.step({ name, ignore: true, fn: () => {} });
      if (!test_passed(r.exit_code)) throw r.error;
    },
  });
}

async function run_in_process(s: selected_test): Promise<load_result> {
  const { f, v, t } = s;
  ksft_reset_state();
  const md = new_state(t.name, undefined);
  current = md;
  let out: outcome;
  const t0 = performance.now();
  try {
    out = await run_test_body(f, v, t, md, true);
  } finally {
    current = undefined;
    // The in-process test was a process: release what it left open.
    run_atexit_handlers();
  }
  let exit_code: number;
  let reason = md.reason;
  let error: unknown;
  try {
    assert_no_leaks();
  } catch (e) {
    out = { kind: "exception", error: e };
  }
  switch (out.kind) {
    case "returned":
      exit_code = md.exit_code;
      if (test_passed(exit_code) && (ksft_get_fail_cnt() !== 0 || ksft_get_error_cnt() !== 0)) {
        ksft_print_msg("Illegal usage of low-level ksft APIs in harness test\n");
        exit_code = KSFT_FAIL;
        error = new Error("Illegal usage of low-level ksft APIs in harness test");
      } else if (exit_code !== KSFT_PASS && !test_passed(exit_code)) {
        error = md.first_failure ?? new Error(`${t.name}: Test failed`);
        if (md.failures.length > 1 && error instanceof Error) {
          error.message = md.failures.join("\n");
        }
      }
      break;
    case "exit": {
      const code = out.error.status;
      exit_code = code === KSFT_SKIP || code === KSFT_XFAIL || code === KSFT_XPASS || code === 0
        ? code
        : KSFT_FAIL;
      reason ||= out.error.reason ?? "";
      error = out.error;
      break;
    }
    default:
      exit_code = KSFT_FAIL;
      error = out.error;
      break;
  }
  // In-process there is no child to SIGKILL: a test that outlived its
  // timeout fails as the standalone harness reports it (guest code cannot
  // outlive it: KVM_RUN has a deadline under deno test).
  if (performance.now() - t0 > t.timeout * 1000 && exit_code !== KSFT_FAIL) {
    fprintf(stderr, "# %s: Test terminated by timeout\n", t.name);
    exit_code = KSFT_FAIL;
    error = new Error(`${t.name}: Test terminated by timeout (${t.timeout} s)`);
  }
  if (is_xfail(f, v, t)) exit_code = test_passed(exit_code) ? KSFT_XPASS : KSFT_XFAIL;
  return { name: full_name(f, v, t), exit_code, reason, error, parts: [...ksft_get_parts()] };
}

async function run_signal_test_in_child(s: selected_test): Promise<load_result> {
  const results_path = Deno.makeTempFileSync({ prefix: "kselftest-results-" });
  try {
    const r = await run_in_child(s.fi, s.vi, s.ti, s.t, results_path);
    let exit_code = r.exit_code;
    if (is_xfail(s.f, s.v, s.t)) exit_code = test_passed(exit_code) ? KSFT_XPASS : KSFT_XFAIL;
    return {
      name: full_name(s.f, s.v, s.t),
      exit_code,
      reason: r.reason,
      error: new Error(`${s.t.name}: Test failed`),
      parts: [],
    };
  } finally {
    Deno.removeSync(results_path);
  }
}

/**
 * Runs the selected tests now, one after another in this process, then
 * registers one Deno test per result. A `deno test --filter` chooses among
 * the registered results; the tests themselves all ran.
 */
async function run_and_register_deno_tests(argv: readonly string[]): Promise<void> {
  deno_tests_registered = true;
  const results: load_result[] = [];
  for (const s of selected_tests(argv).tests) {
    results.push(await (s.t.termsig !== -1 ? run_signal_test_in_child(s) : run_in_process(s)));
  }
  for (const r of results) register_result(r);
}

function register_ignored(suffix: string): void {
  deno_tests_registered = true;
  for (const s of selected_tests([""]).tests) {
    const name = full_name(s.f, s.v, s.t);
    if (child_results) {
      // The parent names it as register_result() names any skip.
      const reason = suffix.replace(/^ # SKIP ?/, "");
      child_results.push({ name, exit_code: KSFT_SKIP, reason, error: undefined, parts: [] });
    } else {
      Deno.test({ name: name + suffix, ignore: true, fn: () => {} });
    }
  }
}

// ---------------------------------------------------------------------------
// deno test: each program in a child process

/**
 * Set in the environment of the child process that runs a test module for
 * `deno test`: the path of the file its results go to. A test is a process,
 * as in C: the child's exit releases whatever the tests left, and a guest
 * that loops in JavaScript (which no `Worker.terminate()` interrupts) dies
 * with it. `KSFT_DENO_TEST_IN_PROCESS=1` runs the tests in the `deno test`
 * process instead (faster to debug, no isolation).
 */
export const DENO_TEST_CHILD_ENV = "KSFT_DENO_TEST_RESULTS";

/** The child's deadline for a program without `TEST`s (kselftest's runner allows 45 s). */
const PROGRAM_TIMEOUT_S = 300;

interface child_record {
  name: string;
  exit_code: number;
  reason: string;
  error: string;
  parts: ksft_part[];
}

function error_text(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

function write_child_results(path: string): void {
  const out: child_record[] = (child_results ?? []).map((r) => ({
    name: r.name,
    exit_code: r.exit_code,
    reason: r.reason,
    error: r.error === undefined ? "" : error_text(r.error),
    parts: [...r.parts],
  }));
  Deno.writeTextFileSync(path, JSON.stringify(out));
}

/** A failure carried over from the child: its message is the child's error and stack. */
class ChildTestError extends Error {
  override name = "ChildTestError";
}

async function run_program_in_child(prog: string): Promise<void> {
  const results_path = Deno.makeTempFileSync({ prefix: "kselftest-deno-test-" });
  const tests = __fixture_list.flatMap((f) => f.tests);
  const timeout_s = tests.length
    ? tests.reduce((n, t) => n + t.timeout, 0) + 30
    : PROGRAM_TIMEOUT_S;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", Deno.mainModule, ...Deno.args],
      env: { [DENO_TEST_CHILD_ENV]: results_path },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const clock = kill_at_timeout(() => child, timeout_s);
    const status = await child.status.finally(() => clock.done());
    const timed_out = clock.timed_out;
    let records: child_record[] = [];
    try {
      records = JSON.parse(Deno.readTextFileSync(results_path) || "[]");
    } catch {
      // A child that died before writing its results: reported below.
    }
    if (records.length === 0 || timed_out || !status.success) {
      const why = timed_out
        ? `terminated by timeout after ${timeout_s} s`
        : status.signal
        ? `killed by ${status.signal}`
        : `exited with ${status.code} before reporting its results`;
      if (records.length === 0 || timed_out) {
        register_result({
          name: prog,
          exit_code: KSFT_FAIL,
          reason: "",
          error: new ChildTestError(`${prog}: the test process ${why}`),
          parts: [],
        });
        return;
      }
    }
    for (const r of records) {
      register_result({
        name: r.name,
        exit_code: r.exit_code,
        reason: r.reason,
        error: new ChildTestError(r.error || `${r.name}: Test failed`),
        parts: r.parts,
      });
    }
  } finally {
    Deno.removeSync(results_path);
  }
}

// ---------------------------------------------------------------------------
// Entry points

/**
 * Run the selected tests and exit (C `test_harness_run()`).
 *
 * Standalone it prints TAP and runs each test in a child process, then exits
 * with 0 if all passed, 1 otherwise; `-h`, `-l` and bad options resolve to the
 * status C returns to `main` (4, 4 and 1). Under `deno test` it registers the
 * tests and ends `main` (its `exit()` throws, which `ksft_main` expects).
 *
 * @param argc the number of arguments
 * @param argv the arguments, `argv[0]` being the program name
 * @returns the status for `main` to return, when the tests are not run
 */
export function test_harness_run(argc: number, argv: readonly string[]): Promise<number> {
  const req = harness_child_request();
  if (req?.serve !== undefined) return run_server_test(req.results);
  if (req !== undefined) return run_child(req);
  const args = argv.slice(0, argc);
  const ret = test_harness_argv_check(args);
  if (ret !== KSFT_PASS) return Promise.resolve(ret);
  if (in_deno_test()) {
    return run_and_register_deno_tests(args).then(() => exit(KSFT_PASS));
  }
  return run_parent(args);
}

/** A C-style `main`: returns the exit status (or nothing for 0), possibly asynchronously. */
export type ksft_main_fn = (
  argc: number,
  argv: string[],
) => number | void | Promise<number | void>;

function is_promise(v: unknown): v is Promise<number | void> {
  return typeof v === "object" && v !== null && typeof (v as Promise<unknown>).then === "function";
}

function program_name(meta: ImportMeta): string {
  return "./" + source_file_name(meta.url).replace(/\.[cm]?[jt]sx?$/, "");
}

function fail_main_as_test(prog: string, error: unknown): void {
  register_result({ name: prog, exit_code: KSFT_FAIL, reason: "", error, parts: [] });
}

function settle_main_in_deno_test(prog: string, status: number, reason: string | undefined): void {
  if (deno_tests_registered) return;
  if (status === KSFT_SKIP) {
    register_ignored(reason ? ` # SKIP ${reason}` : " # SKIP");
  } else if (status === KSFT_PASS) {
    register_ignored(" # SKIP main() returned before test_harness_run()");
  } else {
    fail_main_as_test(prog, new ExitError(status, reason));
  }
}

/** The backend the program ran on: the process's, or the environment's choice before one loaded. */
function backend_in_use(): string {
  try {
    return backend().name;
  } catch {
    return selected_backend_name();
  }
}

async function run_main_in_deno_test(
  prog: string,
  argv: string[],
  main: ksft_main_fn,
): Promise<void> {
  const has_tests = __fixture_list.some((f) => f.tests.length > 0);
  ksft_reset_state();
  let status = 0;
  let reason: string | undefined;
  let error: unknown;
  try {
    status = (await main(argv.length, argv)) ?? 0;
  } catch (e) {
    if (e instanceof ExitError) {
      status = e.status;
      reason = e.reason;
      error = e;
    } else {
      status = KSFT_FAIL;
      error = e;
    }
  } finally {
    if (!has_tests) run_atexit_handlers();
  }
  if (has_tests) {
    // test_harness_run() registered the tests; otherwise main ended before it.
    if (error !== undefined && !(error instanceof ExitError) && !deno_tests_registered) {
      fail_main_as_test(prog, error);
    } else {
      settle_main_in_deno_test(prog, status, reason);
    }
    return;
  }
  // A main()-only program (most KVM selftests): one Deno test carries its result.
  try {
    assert_no_leaks();
  } catch (e) {
    // Keep the program's own failure first: the leak is usually its consequence.
    error = error === undefined || status === KSFT_PASS || status === KSFT_SKIP
      ? e
      : new Error(`${error_text(error)}\n${error_text(e)}`);
    status = KSFT_FAIL;
  }
  const parts = [...ksft_get_parts()];
  if (status === KSFT_SKIP || status === KSFT_PASS) {
    register_result({ name: prog, exit_code: status, reason: reason ?? "", error, parts });
    return;
  }
  // A failure the host's older kernel explains (known_host_failures.ts) is
  // kselftest's XFAIL: reported with its reason, as the selftest runner does.
  const xfail = expected_host_failure(prog, backend_in_use(), reason ?? "");
  if (xfail) {
    register_result({ name: prog, exit_code: KSFT_XFAIL, reason: xfail.reason, error, parts });
    return;
  }
  register_result({
    name: prog,
    exit_code: KSFT_FAIL,
    reason: reason ?? "",
    error: error ?? new ExitError(status, reason),
    parts,
  });
}

/**
 * Run a test program's C-style `main`, the way its C twin would be run.
 *
 * - `deno run`: calls `main(argc, argv)` with `argv = ["./<file name without
 *   extension>", ...Deno.args]` and exits with its status.
 * - `deno test`: runs `main` while the module loads, and with it the
 *   program's `TEST`s (`test_harness_run`), then registers one Deno test per
 *   result (or, for a program without `TEST`s, one named after the program).
 *   Deno decides whether a test is ignored when it is registered, so this is
 *   what lets a test that skips at run time count as ignored. The module
 *   must therefore `await` this call, as its last statement:
 *   `await ksft_main(import.meta, main);`.
 * - In a worker, or when the module is imported by another one: does nothing.
 *
 * @param meta the test module's `import.meta`
 * @param main the program's `main`
 * @returns settles once the results are registered (at once outside `deno test`)
 */
export function ksft_main(meta: ImportMeta, program_main: ksft_main_fn): Promise<void> {
  if (in_guest_worker()) return Promise.resolve();
  const prog = program_name(meta);
  const argv = [prog, ...Deno.args];
  // A program this host is known not to be able to run (it would hang) is
  // skipped before it starts, with the reason (known_host_failures.ts).
  const main: ksft_main_fn = (argc, args) => {
    const k = expected_host_skip(prog, selected_backend_name());
    if (k) ksft_exit_skip("%s\n", k.reason);
    return program_main(argc, args);
  };
  const server = harness_child_request()?.serve;
  if (server !== undefined) {
    // The test server (see "Standalone: the test server"): the program's
    // first load serves; each fresh instance runs its main, and in it one test.
    if (meta.main) return serve(server);
    if (meta.url === server_instance_url) return run_server_instance(argv, main);
    return Promise.resolve();
  }
  if (meta.main) {
    const results = getenv(DENO_TEST_CHILD_ENV);
    if (results) {
      // Programs this one starts (a test that re-executes itself) are not children of deno test.
      Deno.env.delete(DENO_TEST_CHILD_ENV);
      // The child of a `deno test` run: the tests run as under deno test,
      // their results go to the parent.
      set_deno_test_mode(true);
      child_results = [];
      return run_main_in_deno_test(prog.slice(2), argv, main).then(() => {
        write_child_results(results);
        Deno.exit(0);
      });
    }
    set_deno_test_mode(false);
    const r = main(argv.length, argv);
    if (is_promise(r)) {
      r.then((rc) => exit(rc ?? 0));
    } else {
      exit(r ?? 0);
    }
    return Promise.resolve();
  }
  // Under `deno test` the test module is Deno.mainModule without being `main`.
  if (meta.url !== Deno.mainModule) return Promise.resolve();
  set_deno_test_mode(true);
  if (getenv("KSFT_DENO_TEST_IN_PROCESS") !== "1") return run_program_in_child(prog.slice(2));
  return run_main_in_deno_test(prog.slice(2), argv, main);
}

/**
 * C `TEST_HARNESS_MAIN`: the program's `main` is {@linkcode test_harness_run} on its
 * command line (see {@linkcode ksft_main}).
 *
 * @param meta the test module's `import.meta`
 */
export function TEST_HARNESS_MAIN(meta: ImportMeta): Promise<void> {
  return ksft_main(meta, (argc, argv) => test_harness_run(argc, argv));
}
