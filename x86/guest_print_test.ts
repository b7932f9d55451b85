// SPDX-License-Identifier: GPL-2.0-only
/**
 * GUEST_PRINTF and GUEST_ASSERT message formatting: port of `tools/testing/selftests/kvm/guest_print_test.c`
 * (upstream keeps this generic test at the top level of the selftests; the
 * SDK keeps every program in `x86/` under its upstream file name).
 *
 * Copyright 2022, Google, Inc. and/or its affiliates.
 *
 * C generates one helper per type with a macro; here a table drives one
 * helper. The `'%s'` case passes guest pointers, as C does: the strings are
 * written into guest memory and `vals.a`/`vals.b` hold their GVAs.
 *
 * @module
 */

import { struct, u64 } from "../include/c/layout.ts";
import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __GUEST_ASSERT,
  exit_reason_str,
  get_ucall,
  GUEST_DONE,
  guest_global,
  GUEST_PRINTF,
  GUEST_SYNC,
  KVM_UTIL_MIN_VADDR,
  type kvm_vcpu,
  kvm_vm_free,
  memcpy_to_guest,
  new_ucall,
  ref,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_FAIL,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  ucall_buffer,
  UCALL_BUFFER_LEN,
  UCALL_DONE,
  UCALL_EXIT_REASON,
  UCALL_PRINTF,
  UCALL_SYNC,
  vcpu_run,
  vm_alloc,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { format } from "../include/linux/printf.ts";

const guest_vals = struct("guest_vals", { a: u64, b: u64, type: u64 });

/** C `static struct guest_vals vals;` */
const vals = guest_global("vals", guest_vals);

/** C `enum args_type` and `TYPE_LIST`: name, printf conversion, C type width. */
const TYPE_LIST = [
  ["I64", "%ld"],
  ["U64u", "%lu"],
  ["U64x", "0x%lx"],
  ["U64X", "0x%lX"],
  ["U32u", "%u"],
  ["U32x", "0x%x"],
  ["U32X", "0x%X"],
  ["INT", "%d"],
  ["CHAR", "%c"],
  ["STR", "'%s'"],
  ["PTR", "%p"],
] as const;

const PRINTF_FMT = (fmt_t: string): string => "Got params a = " + fmt_t + " and b = " + fmt_t;
const ASSERT_FMT = (fmt_t: string): string => "Expected " + fmt_t + ", got " + fmt_t + " instead";

/** Guest entry point. */
export function guest_code(): void {
  while (true) {
    const v = vals.value;
    const t = TYPE_LIST[Number(v.type)];
    if (t) {
      GUEST_PRINTF(PRINTF_FMT(t[1]), v.a, v.b);
      __GUEST_ASSERT(v.a === v.b, ASSERT_FMT(t[1]), v.a, v.b);
    } else {
      GUEST_SYNC(v.type);
    }
    GUEST_DONE();
  }
}

/**
 * An assert message carries file/line details ahead of the formatted text,
 * so only its tail is compared with the expected string.
 */
function ucall_abort(assert_msg: string, expected_assert_msg: string): void {
  const len_str = assert_msg.length;
  const len_substr = expected_assert_msg.length;
  const offset = len_str - len_substr;
  TEST_ASSERT(
    len_substr <= len_str,
    "Expected '%s' to be a substring of '%s'\n",
    assert_msg,
    expected_assert_msg,
  );
  TEST_ASSERT(
    assert_msg.slice(offset) === expected_assert_msg,
    "Unexpected mismatch. Expected: '%s', got: '%s'",
    expected_assert_msg,
    assert_msg.slice(offset),
  );
}

function run_test(vcpu: kvm_vcpu, expected_printf: string, expected_assert: string): void {
  const run = vcpu.run;
  const uc = new_ucall();
  while (true) {
    vcpu_run(vcpu);
    TEST_ASSERT(
      run.exit_reason === UCALL_EXIT_REASON,
      "Unexpected exit reason: %u (%s),\n",
      run.exit_reason,
      exit_reason_str(run.exit_reason),
    );
    switch (get_ucall(vcpu, uc)) {
      case UCALL_SYNC:
        TEST_FAIL("Unknown 'args_type' = %lu", uc.args.at(1));
        break;
      case UCALL_PRINTF:
        TEST_ASSERT(
          ucall_buffer(uc) === expected_printf,
          "Unexpected mismatch. Expected: '%s', got: '%s'",
          expected_printf,
          ucall_buffer(uc),
        );
        break;
      case UCALL_ABORT:
        ucall_abort(ucall_buffer(uc), expected_assert);
        break;
      case UCALL_DONE:
        return;
      default:
        TEST_FAIL("Unknown ucall %lu", uc.cmd);
    }
  }
}

/** C's `test_type_<T>(vcpu, a, b)` helpers: `T` is the TYPE_LIST index. */
function test_type(
  vcpu: kvm_vcpu,
  type: number,
  a: bigint,
  b: bigint,
  host_a = a,
  host_b = b,
): void {
  const fmt_t = TYPE_LIST[type]![1];
  const expected_printf = format(PRINTF_FMT(fmt_t), host_a, host_b).slice(0, UCALL_BUFFER_LEN - 1);
  const expected_assert = format(ASSERT_FMT(fmt_t), host_a, host_b).slice(0, UCALL_BUFFER_LEN - 1);
  vals.value = Object.assign(guest_vals.alloc(), { a, b, type: BigInt(type) });
  sync_global_to_guest(vcpu.vm, vals);
  run_test(vcpu, expected_printf, expected_assert);
}

/** C string literals live in the image; here they are written into guest memory. */
function guest_string(vcpu: kvm_vcpu, s: string): bigint {
  const bytes = new TextEncoder().encode(s + "\0");
  const gva = vm_alloc(vcpu.vm, bytes.length, KVM_UTIL_MIN_VADDR);
  memcpy_to_guest(vcpu.vm, gva, bytes);
  return gva;
}

/** Guest entry point of `test_limits`. */
export function guest_code_limits(): void {
  const test_str = "a".repeat(UCALL_BUFFER_LEN + 10 - 1);
  GUEST_PRINTF("%s", test_str);
}

function test_limits(): void {
  const vcpu = ref<kvm_vcpu>();
  const uc = new_ucall();
  const vm = vm_create_with_one_vcpu(vcpu, guest_code_limits);
  const run = vcpu.value.run;
  vcpu_run(vcpu.value);
  TEST_ASSERT(
    run.exit_reason === UCALL_EXIT_REASON,
    "Unexpected exit reason: %u (%s),\n",
    run.exit_reason,
    exit_reason_str(run.exit_reason),
  );
  TEST_ASSERT(
    get_ucall(vcpu.value, uc) === UCALL_ABORT,
    "Unexpected ucall command: %lu,  Expected: %u (UCALL_ABORT)\n",
    uc.cmd,
    UCALL_ABORT,
  );
  kvm_vm_free(vm);
}

function main(): number {
  TEST_REQUIRE_GUEST_CODE();

  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_code);
  const v = vcpu.value;
  const U64 = (x: bigint): bigint => BigInt.asUintN(64, x);

  test_type(v, 0, U64(-1n), U64(-1n), -1n, -1n);
  test_type(v, 0, U64(-1n), 1n, -1n, 1n);
  test_type(v, 0, 0x1234567890abcdefn, 0x1234567890abcdefn);
  test_type(v, 0, 0x1234567890abcdefn, 0x1234567890abcdeen);

  for (const t of [1, 2, 3]) {
    test_type(v, t, 0x1234567890abcdefn, 0x1234567890abcdefn);
    test_type(v, t, 0x1234567890abcdefn, 0x1234567890abcdeen);
  }
  for (const t of [4, 5, 6]) {
    test_type(v, t, 0x90abcdefn, 0x90abcdefn);
    test_type(v, t, 0x90abcdefn, 0x90abcdeen);
  }

  test_type(v, 7, U64(-1n), U64(-1n), -1n, -1n);
  test_type(v, 7, U64(-1n), 1n, -1n, 1n);
  test_type(v, 7, 1n, 1n);

  test_type(v, 8, 0x61n, 0x61n);
  test_type(v, 8, 0x61n, 0x41n);
  test_type(v, 8, 0x61n, 0x62n);

  const foo1 = guest_string(v, "foo");
  const foo2 = guest_string(v, "foo");
  const bar = guest_string(v, "bar");
  // C compares the two "foo" pointers (the literal is merged); so do we: same GVA.
  test_type_str(v, foo1, foo1, "foo", "foo");
  test_type_str(v, foo2, bar, "foo", "bar");

  test_type(v, 10, 0x1234567890abcdefn, 0x1234567890abcdefn);
  test_type(v, 10, 0x1234567890abcdefn, 0x1234567890abcdeen);

  kvm_vm_free(vm);

  test_limits();
  return 0;
}

function test_type_str(vcpu: kvm_vcpu, a: bigint, b: bigint, sa: string, sb: string): void {
  const fmt_t = TYPE_LIST[9][1];
  vals.value = Object.assign(guest_vals.alloc(), { a, b, type: 9n });
  sync_global_to_guest(vcpu.vm, vals);
  run_test(vcpu, format(PRINTF_FMT(fmt_t), sa, sb), format(ASSERT_FMT(fmt_t), sa, sb));
}

await ksft_main(import.meta, main);
