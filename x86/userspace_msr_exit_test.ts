// SPDX-License-Identifier: GPL-2.0-only
/**
 * MSR accesses routed to userspace (KVM_CAP_X86_USER_SPACE_MSR and MSR
 * filters): port of
 * `tools/testing/selftests/kvm/x86/userspace_msr_exit_test.c`.
 *
 * Copyright (C) 2020, Google LLC.
 *
 * C marks the `rdmsr`/`wrmsr` instructions of `test_rdmsr()`/`test_wrmsr()`
 * with asm labels (`rdmsr_start`, `rdmsr_end`, ...) that the #GP handler
 * compares with `regs->rip`. In TypeScript an instruction's RIP is the code
 * address of the guest function executing it, so the instructions live in
 * their own guest functions (`__test_rdmsr`, `__test_wrmsr`), called through
 * their code addresses as C calls a `noinline` function; the "labels" are
 * those addresses (start) and start + 2 (end: both instructions are two bytes
 * long), which the image places at run time, so the host publishes them in
 * guest globals as the linker would have fixed them. The `em_*` variants
 * put `KVM_FEP` before the instruction, which only machine code can do:
 * `test_em_rdmsr()`/`test_em_wrmsr()` are the same asm statements as C's,
 * assembled with the in-repo assembler and loaded by the host
 * (`vm_load_asm()`), their `em_*_start`/`em_*_end` labels published as guest
 * globals. They run when `kvm.force_emulation_prefix` is set, as upstream.
 *
 * @module
 */

import { TEST_HARNESS_MAIN } from "../include/kselftest_harness.ts";
import { KVM_ONE_VCPU_TEST, KVM_ONE_VCPU_TEST_SUITE } from "../include/kvm_test_harness.ts";
import { u32, u64 } from "../include/c/layout.ts";
import {
  __KVM_IOCTL_ERROR,
  __vm_ioctl,
  get_ucall,
  GUEST_ASSERT,
  guest_code_gva,
  GUEST_DONE,
  GUEST_FAIL,
  guest_global,
  GUEST_SYNC,
  kvm_check_cap,
  type kvm_vcpu,
  type kvm_vm,
  new_ucall,
  REPORT_GUEST_ASSERT,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_ASSERT_KVM_EXIT_REASON,
  TEST_FAIL,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run,
  vm_enable_cap,
  vm_ioctl,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_X86_MSR_FILTER,
  KVM_CAP_X86_USER_SPACE_MSR,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_EXIT_IO,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_MSR_EXIT_REASON_FILTER,
  KVM_MSR_EXIT_REASON_INVAL,
  KVM_MSR_EXIT_REASON_UNKNOWN,
  KVM_MSR_EXIT_REASON_VALID_MASK,
  KVM_X86_SET_MSR_FILTER,
} from "../include/linux/kvm.ts";
import {
  GP_VECTOR,
  kvm_msr_filter,
  KVM_MSR_FILTER_DEFAULT_ALLOW,
  KVM_MSR_FILTER_DEFAULT_DENY,
  KVM_MSR_FILTER_MAX_BITMAP_SIZE,
  KVM_MSR_FILTER_RANGE_VALID_MASK,
  KVM_MSR_FILTER_READ,
  KVM_MSR_FILTER_VALID_MASK,
  KVM_MSR_FILTER_WRITE,
} from "../include/asm/kvm.ts";
import { EINVAL, strerror } from "../include/linux/errno.ts";
import { errno_get } from "../include/libc/errno.ts";
import { ptr } from "../include/libc/syscall.ts";
import type { View } from "../include/c/layout.ts";
import {
  type ex_regs_view,
  guest_call,
  is_forced_emulation_enabled,
  KVM_FEP,
  MSR_FS_BASE,
  MSR_GS_BASE,
  MSR_IA32_FLUSH_CMD,
  MSR_IA32_POWER_CTL,
  MSR_IA32_XSS,
  MSR_SYSCALL_MASK,
  rdmsr,
  vm_install_exception_handler,
  vm_load_asm,
  wrmsr,
} from "../include/x86/processor.ts";

const MSR_NON_EXISTENT = 0x474f4f00;
const BITS_PER_BYTE = 8;

type filter_range = { flags: number; nmsrs: number; base: number; bitmap: Uint8Array };

/**
 * A `struct kvm_msr_filter` whose bitmaps point at the given host buffers.
 * C initialises the filters statically with the bitmaps' addresses; a host
 * address is only valid in the (simulated) process that takes it, and under
 * `deno test` each test runs as a new one, so the struct is built when used.
 */
function msr_filter(
  flags: number,
  ranges: filter_range[],
): () => View<typeof kvm_msr_filter.fields> {
  return () => build_msr_filter(flags, ranges);
}

function build_msr_filter(
  flags: number,
  ranges: filter_range[],
): View<typeof kvm_msr_filter.fields> {
  const f = kvm_msr_filter.alloc();
  f.flags = flags;
  ranges.forEach((r, i) => {
    const range = f.ranges.at(i);
    range.flags = r.flags;
    range.nmsrs = r.nmsrs;
    range.base = r.base;
    range.bitmap = ptr(r.bitmap);
  });
  return f;
}

/** C `static u64 deny_bits = 0;` */
const deny_bits = new Uint8Array(8);
const filter_allow = msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW, [
  {
    flags: KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
    nmsrs: 1,
    // KVM emulates this one itself.
    base: MSR_IA32_XSS,
    bitmap: deny_bits,
  },
  {
    flags: KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
    nmsrs: 1,
    // One KVM does not handle internally.
    base: MSR_IA32_FLUSH_CMD,
    bitmap: deny_bits,
  },
  {
    flags: KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
    nmsrs: 1,
    // An index that exists nowhere.
    base: MSR_NON_EXISTENT,
    bitmap: deny_bits,
  },
]);

const filter_fs = msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW, [
  { flags: KVM_MSR_FILTER_READ, nmsrs: 1, base: MSR_FS_BASE, bitmap: deny_bits },
]);

const filter_gs = msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW, [
  { flags: KVM_MSR_FILTER_READ, nmsrs: 1, base: MSR_GS_BASE, bitmap: deny_bits },
]);

let msr_non_existent_data = 0n;
/** C `static int guest_exception_count;` (guest side). */
const guest_exception_count = guest_global("guest_exception_count", u32);
let msr_reads = 0;
let msr_writes = 0;

const bitmap_00000000 = new Uint8Array(KVM_MSR_FILTER_MAX_BITMAP_SIZE);
const bitmap_00000000_write = new Uint8Array(KVM_MSR_FILTER_MAX_BITMAP_SIZE);
const bitmap_40000000 = new Uint8Array(KVM_MSR_FILTER_MAX_BITMAP_SIZE);
const bitmap_c0000000 = new Uint8Array(KVM_MSR_FILTER_MAX_BITMAP_SIZE);
const bitmap_c0000000_read = new Uint8Array(KVM_MSR_FILTER_MAX_BITMAP_SIZE);
/*
 * C: `static u8 bitmap_deadbeef[1] = { 0x1 };`. KVM copies whole longs of a
 * bitmap (8 bytes for one MSR); in C the bytes after the array are other
 * static data, here a JavaScript buffer ends where it ends, so it is a long.
 */
const bitmap_deadbeef = new Uint8Array([0x1, 0, 0, 0, 0, 0, 0, 0]);

function deny_msr(bitmap: Uint8Array, msr: number): void {
  const idx = msr & (KVM_MSR_FILTER_MAX_BITMAP_SIZE - 1);

  bitmap[idx >> 3] = bitmap[idx >> 3]! & ~(1 << (idx % 8));
}

function prepare_bitmaps(): void {
  bitmap_00000000.fill(0xff);
  bitmap_00000000_write.fill(0xff);
  bitmap_40000000.fill(0xff);
  bitmap_c0000000.fill(0xff);
  bitmap_c0000000_read.fill(0xff);

  deny_msr(bitmap_00000000_write, MSR_IA32_POWER_CTL);
  deny_msr(bitmap_c0000000_read, MSR_SYSCALL_MASK);
  deny_msr(bitmap_c0000000_read, MSR_GS_BASE);
}

const filter_deny = msr_filter(KVM_MSR_FILTER_DEFAULT_DENY, [
  {
    flags: KVM_MSR_FILTER_READ,
    base: 0x00000000,
    nmsrs: KVM_MSR_FILTER_MAX_BITMAP_SIZE * BITS_PER_BYTE,
    bitmap: bitmap_00000000,
  },
  {
    flags: KVM_MSR_FILTER_WRITE,
    base: 0x00000000,
    nmsrs: KVM_MSR_FILTER_MAX_BITMAP_SIZE * BITS_PER_BYTE,
    bitmap: bitmap_00000000_write,
  },
  {
    flags: KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
    base: 0x40000000,
    nmsrs: KVM_MSR_FILTER_MAX_BITMAP_SIZE * BITS_PER_BYTE,
    bitmap: bitmap_40000000,
  },
  {
    flags: KVM_MSR_FILTER_READ,
    base: 0xc0000000,
    nmsrs: KVM_MSR_FILTER_MAX_BITMAP_SIZE * BITS_PER_BYTE,
    bitmap: bitmap_c0000000_read,
  },
  {
    flags: KVM_MSR_FILTER_WRITE,
    base: 0xc0000000,
    nmsrs: KVM_MSR_FILTER_MAX_BITMAP_SIZE * BITS_PER_BYTE,
    bitmap: bitmap_c0000000,
  },
  {
    flags: KVM_MSR_FILTER_WRITE | KVM_MSR_FILTER_READ,
    base: 0xdeadbeef,
    nmsrs: 1,
    bitmap: bitmap_deadbeef,
  },
]);

const no_filter_deny = msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW, []);

/* The asm labels: code addresses the host publishes (see the module notes). */
const rdmsr_start = guest_global("rdmsr_start", u64);
const rdmsr_end = guest_global("rdmsr_end", u64);
const wrmsr_start = guest_global("wrmsr_start", u64);
const wrmsr_end = guest_global("wrmsr_end", u64);

/** `rdmsr_start: rdmsr; rdmsr_end:` (the body of C's noinline `test_rdmsr()`). */
export function __test_rdmsr(msr: number): bigint {
  return rdmsr(msr);
}

/** `wrmsr_start: wrmsr; wrmsr_end:` (the body of C's noinline `test_wrmsr()`). */
export function __test_wrmsr(msr: number, value: bigint): void {
  wrmsr(msr, value);
}

function test_rdmsr(msr: number): bigint {
  guest_exception_count.value = 0;

  return guest_call(rdmsr_start.value, msr) as bigint;
}

function test_wrmsr(msr: number, value: bigint): void {
  guest_exception_count.value = 0;

  guest_call(wrmsr_start.value, msr, value);
}

/** C `MSR_RDMSR_LEN`/`MSR_WRMSR_LEN`: both are `0f 32` / `0f 30`. */
const MSR_INSN_LEN = 2n;

/** Places the instruction functions in the image and publishes their "labels" to the guest. */
function sync_msr_labels(vm: kvm_vm): void {
  rdmsr_start.value = guest_code_gva(vm, __test_rdmsr);
  rdmsr_end.value = rdmsr_start.value + MSR_INSN_LEN;
  wrmsr_start.value = guest_code_gva(vm, __test_wrmsr);
  wrmsr_end.value = wrmsr_start.value + MSR_INSN_LEN;
  for (const g of [rdmsr_start, rdmsr_end, wrmsr_start, wrmsr_end]) sync_global_to_guest(vm, g);
}

/* The em_* asm labels and the machine-code functions around them. */
const em_rdmsr_start = guest_global("em_rdmsr_start", u64);
const em_rdmsr_end = guest_global("em_rdmsr_end", u64);
const em_wrmsr_start = guest_global("em_wrmsr_start", u64);
const em_wrmsr_end = guest_global("em_wrmsr_end", u64);
const em_rdmsr_fn = guest_global("em_rdmsr_fn", u64);
const em_wrmsr_fn = guest_global("em_wrmsr_fn", u64);

/**
 * C's `KVM_FEP "em_rdmsr_start: rdmsr; em_rdmsr_end:"` with `"c"(msr)`,
 * `"=a"(a)`, `"=d"(d)` and `KVM_FEP "em_wrmsr_start: wrmsr; em_wrmsr_end:"`
 * with `"a"(value)`, `"d"(value >> 32)`, `"c"(msr)`, as functions taking the
 * SysV arguments and returning `a | d << 32` in RAX.
 */
const EM_MSR_ASM: readonly string[] = [
  "em_rdmsr:",
  "mov %edi, %ecx",
  ...KVM_FEP,
  "em_rdmsr_start:",
  "rdmsr",
  "em_rdmsr_end:",
  "mov %eax, %eax",
  "shl $32, %rdx",
  "or %rdx, %rax",
  "ret",
  "em_wrmsr:",
  "mov %edi, %ecx",
  "mov %esi, %eax",
  "mov %rsi, %rdx",
  "shr $32, %rdx",
  ...KVM_FEP,
  "em_wrmsr_start:",
  "wrmsr",
  "em_wrmsr_end:",
  "ret",
];

/** Loads the em_* functions and publishes their labels to the guest. */
function sync_em_msr_labels(vm: kvm_vm): void {
  const obj = vm_load_asm(vm, EM_MSR_ASM);
  const label = (name: string): bigint => obj.labels.get(name)!;
  em_rdmsr_fn.value = label("em_rdmsr");
  em_wrmsr_fn.value = label("em_wrmsr");
  em_rdmsr_start.value = label("em_rdmsr_start");
  em_rdmsr_end.value = label("em_rdmsr_end");
  em_wrmsr_start.value = label("em_wrmsr_start");
  em_wrmsr_end.value = label("em_wrmsr_end");
  for (
    const g of [
      em_rdmsr_fn,
      em_wrmsr_fn,
      em_rdmsr_start,
      em_rdmsr_end,
      em_wrmsr_start,
      em_wrmsr_end,
    ]
  ) sync_global_to_guest(vm, g);
}

function test_em_rdmsr(msr: number): bigint {
  guest_exception_count.value = 0;

  return guest_call(em_rdmsr_fn.value, msr) as bigint;
}

function test_em_wrmsr(msr: number, value: bigint): void {
  guest_exception_count.value = 0;

  guest_call(em_wrmsr_fn.value, msr, value);
}

/** Guest entry point of `msr_filter_allow`. */
export function guest_code_filter_allow(): void {
  let data: bigint;

  // MSR_IA32_XSS goes to the host, which only accepts writes of 0 and
  // answers anything else with #GP.
  data = test_rdmsr(MSR_IA32_XSS);
  GUEST_ASSERT(data === 0n);
  GUEST_ASSERT(guest_exception_count.value === 0);

  test_wrmsr(MSR_IA32_XSS, 0n);
  GUEST_ASSERT(guest_exception_count.value === 0);

  test_wrmsr(MSR_IA32_XSS, 1n);
  GUEST_ASSERT(guest_exception_count.value === 1);

  // MSR_IA32_FLUSH_CMD goes to the host: reads #GP, and so does any write
  // other than 1.
  test_rdmsr(MSR_IA32_FLUSH_CMD);
  GUEST_ASSERT(guest_exception_count.value === 1);

  test_wrmsr(MSR_IA32_FLUSH_CMD, 0n);
  GUEST_ASSERT(guest_exception_count.value === 1);

  test_wrmsr(MSR_IA32_FLUSH_CMD, 1n);
  GUEST_ASSERT(guest_exception_count.value === 0);

  // MSR_NON_EXISTENT: KVM has no idea of it, yet the host can still serve
  // it.
  test_wrmsr(MSR_NON_EXISTENT, 2n);
  GUEST_ASSERT(guest_exception_count.value === 0);

  data = test_rdmsr(MSR_NON_EXISTENT);
  GUEST_ASSERT(data === 2n);
  GUEST_ASSERT(guest_exception_count.value === 0);

  if (is_forced_emulation_enabled.value) {
    // Tell the host a second, emulated round follows.
    GUEST_SYNC(0);

    // Same accesses again, forced through KVM's instruction emulator.
    data = test_em_rdmsr(MSR_IA32_XSS);
    GUEST_ASSERT(data === 0n);
    GUEST_ASSERT(guest_exception_count.value === 0);
    test_em_wrmsr(MSR_IA32_XSS, 0n);
    GUEST_ASSERT(guest_exception_count.value === 0);
    test_em_wrmsr(MSR_IA32_XSS, 1n);
    GUEST_ASSERT(guest_exception_count.value === 1);

    test_em_rdmsr(MSR_IA32_FLUSH_CMD);
    GUEST_ASSERT(guest_exception_count.value === 1);
    test_em_wrmsr(MSR_IA32_FLUSH_CMD, 0n);
    GUEST_ASSERT(guest_exception_count.value === 1);
    test_em_wrmsr(MSR_IA32_FLUSH_CMD, 1n);
    GUEST_ASSERT(guest_exception_count.value === 0);

    test_em_wrmsr(MSR_NON_EXISTENT, 2n);
    GUEST_ASSERT(guest_exception_count.value === 0);
    data = test_em_rdmsr(MSR_NON_EXISTENT);
    GUEST_ASSERT(data === 2n);
    GUEST_ASSERT(guest_exception_count.value === 0);
  }

  GUEST_DONE();
}

function guest_msr_calls(trapped: boolean): void {
  // Writes to MSR_SYSCALL_MASK are not filtered: KVM handles them.
  wrmsr(MSR_SYSCALL_MASK, 0);

  if (trapped) {
    // Filtered reads: the host answers with the MSR index.
    GUEST_ASSERT(rdmsr(MSR_SYSCALL_MASK) === BigInt(MSR_SYSCALL_MASK));
    GUEST_ASSERT(rdmsr(MSR_GS_BASE) === BigInt(MSR_GS_BASE));
  } else {
    GUEST_ASSERT(rdmsr(MSR_SYSCALL_MASK) !== BigInt(MSR_SYSCALL_MASK));
    GUEST_ASSERT(rdmsr(MSR_GS_BASE) !== BigInt(MSR_GS_BASE));
  }

  // Filtered (host-handled) only in the trapped round.
  wrmsr(MSR_IA32_POWER_CTL, 0x1234);

  // Reads of this MSR are never filtered.
  rdmsr(MSR_IA32_POWER_CTL);

  // An MSR KVM does not know always exits to the host, filter or not.
  GUEST_ASSERT(rdmsr(0xdeadbeef) === 0xdeadbeefn);
  wrmsr(0xdeadbeef, 0x1234);
}

/** Guest entry point of `msr_filter_deny`. */
export function guest_code_filter_deny(): void {
  guest_msr_calls(true);

  // The host drops the filter; KVM handles the second round itself.
  GUEST_SYNC(0);

  guest_msr_calls(false);

  GUEST_DONE();
}

/** Guest entry point of `msr_permission_bitmap`. */
export function guest_code_permission_bitmap(): void {
  let data: bigint;

  data = test_rdmsr(MSR_FS_BASE);
  GUEST_ASSERT(data === BigInt(MSR_FS_BASE));
  data = test_rdmsr(MSR_GS_BASE);
  GUEST_ASSERT(data !== BigInt(MSR_GS_BASE));

  // The host now swaps in the other filter.
  GUEST_SYNC(0);

  data = test_rdmsr(MSR_FS_BASE);
  GUEST_ASSERT(data !== BigInt(MSR_FS_BASE));
  data = test_rdmsr(MSR_GS_BASE);
  GUEST_ASSERT(data === BigInt(MSR_GS_BASE));

  // A repeat read proves KVM stopped intercepting under the new filter.
  data = test_rdmsr(MSR_FS_BASE);
  GUEST_ASSERT(data !== BigInt(MSR_FS_BASE));
  data = test_rdmsr(MSR_GS_BASE);
  GUEST_ASSERT(data !== BigInt(MSR_GS_BASE));

  GUEST_DONE();
}

function __guest_gp_handler(
  regs: ex_regs_view,
  r_start: bigint,
  r_end: bigint,
  w_start: bigint,
  w_end: bigint,
): void {
  if (regs.rip === r_start) {
    regs.rip = r_end;
    regs.rax = 0n;
    regs.rdx = 0n;
  } else if (regs.rip === w_start) {
    regs.rip = w_end;
  } else {
    GUEST_FAIL("RIP is at an unknown location!");
  }

  guest_exception_count.value = guest_exception_count.value + 1;
}

/** The #GP handler. */
export function guest_gp_handler(regs: ex_regs_view): void {
  __guest_gp_handler(
    regs,
    rdmsr_start.value,
    rdmsr_end.value,
    wrmsr_start.value,
    wrmsr_end.value,
  );
}

/** The #GP handler of the emulated (`KVM_FEP`) accesses. */
export function guest_fep_gp_handler(regs: ex_regs_view): void {
  __guest_gp_handler(
    regs,
    em_rdmsr_start.value,
    em_rdmsr_end.value,
    em_wrmsr_start.value,
    em_wrmsr_end.value,
  );
}

function check_for_guest_assert(vcpu: kvm_vcpu): void {
  const uc = new_ucall();

  if (vcpu.run.exit_reason === KVM_EXIT_IO && get_ucall(vcpu, uc) === UCALL_ABORT) {
    REPORT_GUEST_ASSERT(uc);
  }
}

function process_rdmsr(vcpu: kvm_vcpu, msr_index: number): void {
  const run = vcpu.run;

  check_for_guest_assert(vcpu);

  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_X86_RDMSR);
  TEST_ASSERT(
    run.msr.index === msr_index,
    "Unexpected msr (0x%04x), expected 0x%04x",
    run.msr.index,
    msr_index,
  );

  switch (run.msr.index) {
    case MSR_IA32_XSS:
      run.msr.data = 0n;
      break;
    case MSR_IA32_FLUSH_CMD:
      run.msr.error = 1;
      break;
    case MSR_NON_EXISTENT:
      run.msr.data = msr_non_existent_data;
      break;
    case MSR_FS_BASE:
      run.msr.data = BigInt(MSR_FS_BASE);
      break;
    case MSR_GS_BASE:
      run.msr.data = BigInt(MSR_GS_BASE);
      break;
    default:
      TEST_ASSERT(false, "Unexpected MSR: 0x%04x", run.msr.index);
  }
}

function process_wrmsr(vcpu: kvm_vcpu, msr_index: number): void {
  const run = vcpu.run;

  check_for_guest_assert(vcpu);

  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_X86_WRMSR);
  TEST_ASSERT(
    run.msr.index === msr_index,
    "Unexpected msr (0x%04x), expected 0x%04x",
    run.msr.index,
    msr_index,
  );

  switch (run.msr.index) {
    case MSR_IA32_XSS:
      if (run.msr.data !== 0n) run.msr.error = 1;
      break;
    case MSR_IA32_FLUSH_CMD:
      if (run.msr.data !== 1n) run.msr.error = 1;
      break;
    case MSR_NON_EXISTENT:
      msr_non_existent_data = run.msr.data;
      break;
    default:
      TEST_ASSERT(false, "Unexpected MSR: 0x%04x", run.msr.index);
  }
}

function process_ucall_done(vcpu: kvm_vcpu): void {
  const uc = new_ucall();

  check_for_guest_assert(vcpu);

  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

  TEST_ASSERT(
    get_ucall(vcpu, uc) === UCALL_DONE,
    "Unexpected ucall command: %lu, expected UCALL_DONE (%d)",
    uc.cmd,
    UCALL_DONE,
  );
}

function process_ucall(vcpu: kvm_vcpu): bigint {
  const uc = new_ucall();

  check_for_guest_assert(vcpu);

  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

  switch (get_ucall(vcpu, uc)) {
    case UCALL_SYNC:
      break;
    case UCALL_ABORT:
      check_for_guest_assert(vcpu);
      break;
    case UCALL_DONE:
      process_ucall_done(vcpu);
      break;
    default:
      TEST_ASSERT(false, "Unexpected ucall");
  }

  return uc.cmd;
}

function run_guest_then_process_rdmsr(vcpu: kvm_vcpu, msr_index: number): void {
  vcpu_run(vcpu);
  process_rdmsr(vcpu, msr_index);
}

function run_guest_then_process_wrmsr(vcpu: kvm_vcpu, msr_index: number): void {
  vcpu_run(vcpu);
  process_wrmsr(vcpu, msr_index);
}

function run_guest_then_process_ucall(vcpu: kvm_vcpu): bigint {
  vcpu_run(vcpu);
  return process_ucall(vcpu);
}

function run_guest_then_process_ucall_done(vcpu: kvm_vcpu): void {
  vcpu_run(vcpu);
  process_ucall_done(vcpu);
}

const user_msr = KVM_ONE_VCPU_TEST_SUITE("user_msr");

KVM_ONE_VCPU_TEST(user_msr, "msr_filter_allow", guest_code_filter_allow, (vcpu) => {
  const vm = vcpu.vm;

  let rc = kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR);
  TEST_ASSERT(rc, "KVM_CAP_X86_USER_SPACE_MSR is available");
  vm_enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER);

  rc = kvm_check_cap(KVM_CAP_X86_MSR_FILTER);
  TEST_ASSERT(rc, "KVM_CAP_X86_MSR_FILTER is available");

  vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, filter_allow());

  sync_msr_labels(vm);
  if (is_forced_emulation_enabled.value) sync_em_msr_labels(vm);
  vm_install_exception_handler(vm, GP_VECTOR, guest_gp_handler);

  // Serve each exit of the native round, in the guest's order.
  run_guest_then_process_rdmsr(vcpu, MSR_IA32_XSS);
  run_guest_then_process_wrmsr(vcpu, MSR_IA32_XSS);
  run_guest_then_process_wrmsr(vcpu, MSR_IA32_XSS);

  run_guest_then_process_rdmsr(vcpu, MSR_IA32_FLUSH_CMD);
  run_guest_then_process_wrmsr(vcpu, MSR_IA32_FLUSH_CMD);
  run_guest_then_process_wrmsr(vcpu, MSR_IA32_FLUSH_CMD);

  run_guest_then_process_wrmsr(vcpu, MSR_NON_EXISTENT);
  run_guest_then_process_rdmsr(vcpu, MSR_NON_EXISTENT);

  vcpu_run(vcpu);
  const cmd = process_ucall(vcpu);

  if (is_forced_emulation_enabled.value) {
    TEST_ASSERT_EQ(cmd, UCALL_SYNC);
    vm_install_exception_handler(vm, GP_VECTOR, guest_fep_gp_handler);

    // And the same sequence for the KVM_FEP round.
    run_guest_then_process_rdmsr(vcpu, MSR_IA32_XSS);
    run_guest_then_process_wrmsr(vcpu, MSR_IA32_XSS);
    run_guest_then_process_wrmsr(vcpu, MSR_IA32_XSS);

    run_guest_then_process_rdmsr(vcpu, MSR_IA32_FLUSH_CMD);
    run_guest_then_process_wrmsr(vcpu, MSR_IA32_FLUSH_CMD);
    run_guest_then_process_wrmsr(vcpu, MSR_IA32_FLUSH_CMD);

    run_guest_then_process_wrmsr(vcpu, MSR_NON_EXISTENT);
    run_guest_then_process_rdmsr(vcpu, MSR_NON_EXISTENT);

    // The guest must reach GUEST_DONE.
    run_guest_then_process_ucall_done(vcpu);
  } else {
    TEST_ASSERT_EQ(cmd, UCALL_DONE);
    console.log(
      "To run the instruction emulated tests set the module parameter 'kvm.force_emulation_prefix=1'",
    );
  }
});

function handle_ucall(vcpu: kvm_vcpu): number {
  const uc = new_ucall();

  switch (get_ucall(vcpu, uc)) {
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      break;
    case UCALL_SYNC:
      vm_ioctl(vcpu.vm, KVM_X86_SET_MSR_FILTER, no_filter_deny());
      break;
    case UCALL_DONE:
      return 1;
    default:
      TEST_FAIL("Unknown ucall %lu", uc.cmd);
  }

  return 0;
}

function handle_rdmsr(run: kvm_vcpu["run"]): void {
  run.msr.data = BigInt(run.msr.index);
  msr_reads++;

  if (run.msr.index === MSR_SYSCALL_MASK || run.msr.index === MSR_GS_BASE) {
    TEST_ASSERT(
      run.msr.reason === KVM_MSR_EXIT_REASON_FILTER,
      "MSR read trap w/o access fault",
    );
  }

  if (run.msr.index === 0xdeadbeef) {
    TEST_ASSERT(
      run.msr.reason === KVM_MSR_EXIT_REASON_UNKNOWN,
      "MSR deadbeef read trap w/o inval fault",
    );
  }
}

function handle_wrmsr(run: kvm_vcpu["run"]): void {
  // Every write only needs counting; POWER_CTL's data is checked too.
  msr_writes++;

  if (run.msr.index === MSR_IA32_POWER_CTL) {
    TEST_ASSERT(run.msr.data === 0x1234n, "MSR data for MSR_IA32_POWER_CTL incorrect");
    TEST_ASSERT(
      run.msr.reason === KVM_MSR_EXIT_REASON_FILTER,
      "MSR_IA32_POWER_CTL trap w/o access fault",
    );
  }

  if (run.msr.index === 0xdeadbeef) {
    TEST_ASSERT(run.msr.data === 0x1234n, "MSR data for deadbeef incorrect");
    TEST_ASSERT(
      run.msr.reason === KVM_MSR_EXIT_REASON_UNKNOWN,
      "deadbeef trap w/o inval fault",
    );
  }
}

KVM_ONE_VCPU_TEST(user_msr, "msr_filter_deny", guest_code_filter_deny, (vcpu) => {
  const vm = vcpu.vm;
  const run = vcpu.run;

  let rc = kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR);
  TEST_ASSERT(rc, "KVM_CAP_X86_USER_SPACE_MSR is available");
  vm_enable_cap(
    vm,
    KVM_CAP_X86_USER_SPACE_MSR,
    KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER,
  );

  rc = kvm_check_cap(KVM_CAP_X86_MSR_FILTER);
  TEST_ASSERT(rc, "KVM_CAP_X86_MSR_FILTER is available");

  prepare_bitmaps();
  vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, filter_deny());

  done: while (true) {
    vcpu_run(vcpu);

    switch (run.exit_reason) {
      case KVM_EXIT_X86_RDMSR:
        handle_rdmsr(run);
        break;
      case KVM_EXIT_X86_WRMSR:
        handle_wrmsr(run);
        break;
      case KVM_EXIT_IO:
        if (handle_ucall(vcpu)) break done;
        break;
    }
  }

  TEST_ASSERT(msr_reads === 4, "Handled 4 rdmsr in user space");
  TEST_ASSERT(msr_writes === 3, "Handled 3 wrmsr in user space");
});

KVM_ONE_VCPU_TEST(user_msr, "msr_permission_bitmap", guest_code_permission_bitmap, (vcpu) => {
  const vm = vcpu.vm;

  let rc = kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR);
  TEST_ASSERT(rc, "KVM_CAP_X86_USER_SPACE_MSR is available");
  vm_enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER);

  rc = kvm_check_cap(KVM_CAP_X86_MSR_FILTER);
  TEST_ASSERT(rc, "KVM_CAP_X86_MSR_FILTER is available");

  sync_msr_labels(vm);

  vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, filter_fs());
  run_guest_then_process_rdmsr(vcpu, MSR_FS_BASE);
  TEST_ASSERT(
    run_guest_then_process_ucall(vcpu) === BigInt(UCALL_SYNC),
    "Expected ucall state to be UCALL_SYNC.",
  );
  vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, filter_gs());
  run_guest_then_process_rdmsr(vcpu, MSR_GS_BASE);

  vm_ioctl(vm, KVM_X86_SET_MSR_FILTER, filter_allow());
  run_guest_then_process_ucall_done(vcpu);
});

/** C's `test_user_exit_msr_ioctl(vm, cmd, arg, flag, valid_mask)` macro; `name` is `#cmd`. */
function test_user_exit_msr_ioctl(
  vm: kvm_vm,
  cmd: number,
  name: string,
  arg: Parameters<typeof __vm_ioctl>[2],
  flag: bigint,
  valid_mask: bigint,
): void {
  const r = __vm_ioctl(vm, cmd, arg);

  if (flag & valid_mask) {
    TEST_ASSERT(!r, __KVM_IOCTL_ERROR(name, r));
  } else {
    const errno = errno_get();
    TEST_ASSERT(
      r === -1 && errno === EINVAL,
      "Wanted EINVAL for %s with flag = 0x%llx, got  rc: %i errno: %i (%s)",
      name,
      flag,
      r,
      errno,
      strerror(errno),
    );
  }
}

function run_user_space_msr_flag_test(vm: kvm_vm): void {
  const cap = kvm_enable_cap.alloc();
  cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
  const nflags = 8 * BITS_PER_BYTE;

  const rc = kvm_check_cap(KVM_CAP_X86_USER_SPACE_MSR);
  TEST_ASSERT(rc, "KVM_CAP_X86_USER_SPACE_MSR is available");

  for (let i = 0n; i < BigInt(nflags); i++) {
    cap.args.set(0, 1n << i);
    test_user_exit_msr_ioctl(
      vm,
      KVM_ENABLE_CAP,
      "KVM_ENABLE_CAP",
      cap,
      1n << i,
      BigInt(KVM_MSR_EXIT_REASON_VALID_MASK),
    );
  }
}

function run_msr_filter_flag_test(vm: kvm_vm): void {
  const deny_bits = new Uint8Array(8);
  const filter = build_msr_filter(KVM_MSR_FILTER_DEFAULT_ALLOW, [
    { flags: KVM_MSR_FILTER_READ, nmsrs: 1, base: 0, bitmap: deny_bits },
  ]);

  const rc = kvm_check_cap(KVM_CAP_X86_MSR_FILTER);
  TEST_ASSERT(rc, "KVM_CAP_X86_MSR_FILTER is available");

  let nflags = 4 * BITS_PER_BYTE;
  for (let i = 0; i < nflags; i++) {
    filter.flags = (1 << i) >>> 0;
    test_user_exit_msr_ioctl(
      vm,
      KVM_X86_SET_MSR_FILTER,
      "KVM_X86_SET_MSR_FILTER",
      filter,
      1n << BigInt(i),
      BigInt(KVM_MSR_FILTER_VALID_MASK),
    );
  }

  filter.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
  nflags = 4 * BITS_PER_BYTE;
  for (let i = 0; i < nflags; i++) {
    filter.ranges.at(0).flags = (1 << i) >>> 0;
    test_user_exit_msr_ioctl(
      vm,
      KVM_X86_SET_MSR_FILTER,
      "KVM_X86_SET_MSR_FILTER",
      filter,
      1n << BigInt(i),
      BigInt(KVM_MSR_FILTER_RANGE_VALID_MASK),
    );
  }
}

// Reserved flag bits must be refused by both ioctls.
KVM_ONE_VCPU_TEST(user_msr, "user_exit_msr_flags", null, (vcpu) => {
  const vm = vcpu.vm;

  // KVM_CAP_X86_USER_SPACE_MSR's exit-reason mask.
  run_user_space_msr_flag_test(vm);

  // KVM_X86_SET_MSR_FILTER's filter flags and per-range flags.
  run_msr_filter_flag_test(vm);
});

await TEST_HARNESS_MAIN(import.meta);
