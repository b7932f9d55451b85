// SPDX-License-Identifier: GPL-2.0-only
/**
 * x86 KVM_CAP_SYNC_REGS (register state shared through kvm_run): port of
 * `tools/testing/selftests/kvm/x86/sync_regs_test.c`.
 *
 * Copyright (C) 2018, Google LLC.
 *
 * Covers invalid register-set masks, how kvm_valid_regs and kvm_dirty_regs
 * decide which way kvm_run.s.regs is copied, and races where userspace
 * rewrites kvm_run while KVM consumes it.
 *
 * What differs from C: the guest's inline asm (`in` from the ucall port,
 * then `add $1, %rbx`, in a loop) is TypeScript reading and writing RBX with
 * `reg_read`/`reg_write`. The racer pthreads of the `race_*` tests are async
 * functions that write `kvm_run` on every turn of the event loop while the
 * main loop awaits `__vcpu_run_async()`, so their stores land between two
 * KVM_RUNs (one of the interleavings C's race allows) rather than while KVM
 * copies `kvm_run.s.regs`; `pthread_cancel()` is a flag the racer checks
 * where C's `pthread_testcancel()` is. `time(NULL)` is `Date.now()` in
 * seconds.
 *
 * On `--backend kvm`, `race_inj_pen` skips: the guest runtime cannot resume
 * TypeScript guest code after the #UD the racer injects at every entry lands
 * inside the runtime's own code (`kvm_guest_code_survives_injected_events()`,
 * docs/backends.md).
 *
 * @module
 */

import { ksft_main, SKIP, test_harness_run } from "../include/kselftest_harness.ts";
import { KVM_ONE_VCPU_TEST, KVM_ONE_VCPU_TEST_SUITE } from "../include/kvm_test_harness.ts";
import type { View } from "../include/c/layout.ts";
import {
  __vcpu_ioctl,
  __vcpu_run_async,
  _vcpu_run,
  kvm_check_cap,
  kvm_guest_code_survives_injected_events,
  type kvm_vcpu,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_ASSERT_KVM_EXIT_REASON,
  TEST_REQUIRE,
  vcpu_events_get,
  vcpu_regs_get,
  vcpu_regs_set,
  vcpu_run,
  vcpu_sregs_get,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_SYNC_REGS,
  KVM_EXIT_IO,
  KVM_EXIT_SHUTDOWN,
  type kvm_run,
  KVM_TRANSLATE,
  kvm_translation,
} from "../include/linux/kvm.ts";
import {
  kvm_regs,
  kvm_sregs,
  KVM_SYNC_X86_EVENTS,
  KVM_SYNC_X86_REGS,
  KVM_SYNC_X86_SREGS,
  kvm_vcpu_events,
  UD_VECTOR,
} from "../include/asm/kvm.ts";
import {
  EFER_LME,
  inb,
  kvm_x86_state_cleanup,
  reg_read,
  reg_write,
  vcpu_load_state,
  VCPU_REGS_RBX,
  vcpu_save_state,
  X86_CR4_PAE,
} from "../include/x86/processor.ts";
import { errno_get } from "../include/libc/errno.ts";
import { EINVAL } from "../include/linux/errno.ts";

const UCALL_PIO_PORT = 0x1000;

/**
 * The guest does its own port read instead of calling ucall(): the host only
 * needs a KVM_EXIT_IO, and RBX must hold the value the host planted there.
 */
export function guest_code(): void {
  for (;;) {
    inb(UCALL_PIO_PORT);
    reg_write(VCPU_REGS_RBX, reg_read(VCPU_REGS_RBX) + 1n);
  }
}

const sync_regs_test = KVM_ONE_VCPU_TEST_SUITE("sync_regs_test");

const REGS = [
  "rax",
  "rbx",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "rsp",
  "rbp",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
  "rip",
  "rflags",
] as const;

function compare_regs(
  left: View<typeof kvm_regs.fields>,
  right: View<typeof kvm_regs.fields>,
): void {
  for (const reg of REGS) {
    TEST_ASSERT(
      left[reg] === right[reg],
      `Register ${reg} values did not match: 0x${left[reg].toString(16)}, 0x${
        right[reg].toString(16)
      }`,
    );
  }
}

function compare_sregs(
  _left: View<typeof kvm_sregs.fields>,
  _right: View<typeof kvm_sregs.fields>,
): void {
}

function compare_vcpu_events(
  _left: View<typeof kvm_vcpu_events.fields>,
  _right: View<typeof kvm_vcpu_events.fields>,
): void {
}

const TEST_SYNC_FIELDS = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
const INVALID_SYNC_FIELD = 0x80000000n;

type run_view = View<typeof kvm_run.fields>;

/** A racer: one pass of the C thread's loop body. */
type racer_fn = (run: run_view) => void;

/**
 * Mark an exception both pending and injected behind KVM's back: when
 * userspace asks for injection, KVM must discard the pending one.
 */
function race_events_inj_pen(run: run_view): void {
  const events = run.s.regs.events;
  events.exception.nr = UD_VECTOR;
  run.kvm_dirty_regs = KVM_SYNC_X86_EVENTS;
  events.flags = 0;
  events.exception.injected = 1;
  events.exception.pending = 1;
}

/**
 * Write an illegal exception vector during KVM_RUN: KVM must refuse vectors
 * of 32 and above and vector 2 (NMI is not an exception).
 */
function race_events_exc(run: run_view): void {
  const events = run.s.regs.events;
  run.kvm_dirty_regs = KVM_SYNC_X86_EVENTS;
  events.flags = 0;
  events.exception.nr = UD_VECTOR;
  events.exception.pending = 1;
  events.exception.nr = 255;
}

/**
 * Flip CR4.PAE during KVM_RUN: long mode without PAE is architecturally
 * invalid, and KVM's MMU must never act on such state.
 */
function race_sregs_cr4(run: run_view, pae_enabled: bigint, pae_disabled: bigint): void {
  run.kvm_dirty_regs = KVM_SYNC_X86_SREGS;
  run.s.regs.sregs.cr4 = pae_enabled;
  run.s.regs.sregs.cr4 = pae_disabled;
}

async function race_sync_regs(vcpu: kvm_vcpu, racer: racer_fn | "cr4"): Promise<void> {
  const TIMEOUT = 2; // approximate, in seconds
  const run = vcpu.run;

  run.kvm_valid_regs = KVM_SYNC_X86_SREGS;
  vcpu_run(vcpu);
  run.kvm_valid_regs = 0n;

  // Snapshot a sane state before the racer starts corrupting it.
  const state = vcpu_save_state(vcpu);

  // The library's guests are 64-bit, so LME and PAE start out set.
  TEST_ASSERT(
    (run.s.regs.sregs.cr4 & X86_CR4_PAE) !== 0n && (run.s.regs.sregs.efer & EFER_LME) !== 0n,
    `vCPU should be in long mode, CR4.PAE=${+!!(run.s.regs.sregs.cr4 &
      X86_CR4_PAE)}, EFER.LME=${+!!(run
        .s.regs.sregs.efer & EFER_LME)}`,
  );

  const pae_enabled = run.s.regs.sregs.cr4;
  const pae_disabled = pae_enabled & ~X86_CR4_PAE;
  let cancelled = false;
  const thread = (async () => {
    for (;;) {
      if (racer === "cr4") race_sregs_cr4(run, pae_enabled, pae_disabled);
      else racer(run);
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (cancelled) return 0; /* pthread_testcancel() */
    }
  })();

  for (const t = Date.now() / 1000 + TIMEOUT; Date.now() / 1000 < t;) {
    // The injected #GPs can escalate to a triple fault. After shutdown VMX
    // keeps the old state but SVM resets the vCPU (INIT), since the VMCB is
    // undefined then; restoring the snapshot handles both.
    if (!(await __vcpu_run_async(vcpu)) && run.exit_reason === KVM_EXIT_SHUTDOWN) {
      vcpu_load_state(vcpu, state);
    }

    if (racer === "cr4") {
      const tr = kvm_translation.alloc();
      tr.linear_address = 0n;
      __vcpu_ioctl(vcpu, KVM_TRANSLATE, tr);
    }
  }

  cancelled = true;
  TEST_ASSERT_EQ(await thread, 0);

  kvm_x86_state_cleanup(state);
}

KVM_ONE_VCPU_TEST(sync_regs_test, "read_invalid", guest_code, (vcpu) => {
  const run = vcpu.run;

  // A kvm_valid_regs bit outside the defined sets must fail KVM_RUN.
  run.kvm_valid_regs = INVALID_SYNC_FIELD;
  let rv = _vcpu_run(vcpu);
  TEST_ASSERT(
    rv < 0 && errno_get() === EINVAL,
    `Invalid kvm_valid_regs did not cause expected KVM_RUN error: ${rv}`,
  );
  run.kvm_valid_regs = 0n;

  run.kvm_valid_regs = INVALID_SYNC_FIELD | TEST_SYNC_FIELDS;
  rv = _vcpu_run(vcpu);
  TEST_ASSERT(
    rv < 0 && errno_get() === EINVAL,
    `Invalid kvm_valid_regs did not cause expected KVM_RUN error: ${rv}`,
  );
  run.kvm_valid_regs = 0n;
});

KVM_ONE_VCPU_TEST(sync_regs_test, "set_invalid", guest_code, (vcpu) => {
  const run = vcpu.run;

  // Likewise an undefined kvm_dirty_regs bit.
  run.kvm_dirty_regs = INVALID_SYNC_FIELD;
  let rv = _vcpu_run(vcpu);
  TEST_ASSERT(
    rv < 0 && errno_get() === EINVAL,
    `Invalid kvm_dirty_regs did not cause expected KVM_RUN error: ${rv}`,
  );
  run.kvm_dirty_regs = 0n;

  run.kvm_dirty_regs = INVALID_SYNC_FIELD | TEST_SYNC_FIELDS;
  rv = _vcpu_run(vcpu);
  TEST_ASSERT(
    rv < 0 && errno_get() === EINVAL,
    `Invalid kvm_dirty_regs did not cause expected KVM_RUN error: ${rv}`,
  );
  run.kvm_dirty_regs = 0n;
});

KVM_ONE_VCPU_TEST(sync_regs_test, "req_and_verify_all_valid", guest_code, (vcpu) => {
  const run = vcpu.run;
  const events = kvm_vcpu_events.alloc();
  const sregs = kvm_sregs.alloc();
  const regs = kvm_regs.alloc();

  // With every defined set requested, s.regs must match the ioctl views.
  run.kvm_valid_regs = TEST_SYNC_FIELDS;
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

  vcpu_regs_get(vcpu, regs);
  compare_regs(regs, run.s.regs.regs);

  vcpu_sregs_get(vcpu, sregs);
  compare_sregs(sregs, run.s.regs.sregs);

  vcpu_events_get(vcpu, events);
  compare_vcpu_events(events, run.s.regs.events);
});

KVM_ONE_VCPU_TEST(sync_regs_test, "set_and_verify_various", guest_code, (vcpu) => {
  const run = vcpu.run;
  const events = kvm_vcpu_events.alloc();
  const sregs = kvm_sregs.alloc();
  const regs = kvm_regs.alloc();

  // A first KVM_RUN fills kvm_run.s.regs.
  run.kvm_valid_regs = TEST_SYNC_FIELDS;
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

  // Dirty some values and check KVM takes them in.
  run.s.regs.regs.rbx = 0xBAD1DEAn;
  run.s.regs.sregs.apic_base = 1n << 11n;
  // TODO (as upstream): nothing in s.regs.events is modified yet.

  run.kvm_valid_regs = TEST_SYNC_FIELDS;
  run.kvm_dirty_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
  TEST_ASSERT(
    run.s.regs.regs.rbx === 0xBAD1DEAn + 1n,
    `rbx sync regs value incorrect 0x${run.s.regs.regs.rbx.toString(16)}.`,
  );
  TEST_ASSERT(
    run.s.regs.sregs.apic_base === 1n << 11n,
    `apic_base sync regs value incorrect 0x${run.s.regs.sregs.apic_base.toString(16)}.`,
  );

  vcpu_regs_get(vcpu, regs);
  compare_regs(regs, run.s.regs.regs);

  vcpu_sregs_get(vcpu, sregs);
  compare_sregs(sregs, run.s.regs.sregs);

  vcpu_events_get(vcpu, events);
  compare_vcpu_events(events, run.s.regs.events);
});

KVM_ONE_VCPU_TEST(sync_regs_test, "clear_kvm_dirty_regs_bits", guest_code, (vcpu) => {
  const run = vcpu.run;

  // Without dirty bits, KVM ignores our edits to s.regs and refreshes them
  // from the guest.
  run.kvm_valid_regs = TEST_SYNC_FIELDS;
  run.kvm_dirty_regs = 0n;
  run.s.regs.regs.rbx = 0xDEADBEEFn;
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
  TEST_ASSERT(
    run.s.regs.regs.rbx !== 0xDEADBEEFn,
    `rbx sync regs value incorrect 0x${run.s.regs.regs.rbx.toString(16)}.`,
  );
});

KVM_ONE_VCPU_TEST(sync_regs_test, "clear_kvm_valid_and_dirty_regs", guest_code, (vcpu) => {
  const run = vcpu.run;
  const regs = kvm_regs.alloc();

  // A first KVM_RUN fills kvm_run.s.regs.
  run.kvm_valid_regs = TEST_SYNC_FIELDS;
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

  // With neither valid nor dirty bits, no copy happens in either
  // direction: s.regs keeps our value and the guest keeps its own.
  run.kvm_valid_regs = 0n;
  run.kvm_dirty_regs = 0n;
  run.s.regs.regs.rbx = 0xAAAAn;
  vcpu_regs_get(vcpu, regs);
  regs.rbx = 0xBAC0n;
  vcpu_regs_set(vcpu, regs);
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
  TEST_ASSERT(
    run.s.regs.regs.rbx === 0xAAAAn,
    `rbx sync regs value incorrect 0x${run.s.regs.regs.rbx.toString(16)}.`,
  );
  vcpu_regs_get(vcpu, regs);
  TEST_ASSERT(
    regs.rbx === 0xBAC0n + 1n,
    `rbx guest value incorrect 0x${regs.rbx.toString(16)}.`,
  );
});

KVM_ONE_VCPU_TEST(sync_regs_test, "clear_kvm_valid_regs_bits", guest_code, (vcpu) => {
  const run = vcpu.run;
  const regs = kvm_regs.alloc();

  // A first KVM_RUN fills kvm_run.s.regs.
  run.kvm_valid_regs = TEST_SYNC_FIELDS;
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

  // Dirty but not valid: KVM loads s.regs into the guest on entry but does
  // not write the guest's registers back on exit.
  run.kvm_valid_regs = 0n;
  run.kvm_dirty_regs = TEST_SYNC_FIELDS;
  run.s.regs.regs.rbx = 0xBBBBn;
  vcpu_run(vcpu);
  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);
  TEST_ASSERT(
    run.s.regs.regs.rbx === 0xBBBBn,
    `rbx sync regs value incorrect 0x${run.s.regs.regs.rbx.toString(16)}.`,
  );
  vcpu_regs_get(vcpu, regs);
  TEST_ASSERT(
    regs.rbx === 0xBBBBn + 1n,
    `rbx guest value incorrect 0x${regs.rbx.toString(16)}.`,
  );
});

KVM_ONE_VCPU_TEST(sync_regs_test, "race_cr4", guest_code, async (vcpu) => {
  await race_sync_regs(vcpu, "cr4");
});

KVM_ONE_VCPU_TEST(sync_regs_test, "race_exc", guest_code, async (vcpu) => {
  await race_sync_regs(vcpu, race_events_exc);
});

KVM_ONE_VCPU_TEST(sync_regs_test, "race_inj_pen", guest_code, async (vcpu) => {
  if (!kvm_guest_code_survives_injected_events()) {
    SKIP("TypeScript guest code cannot follow a #UD injected at every entry on this backend");
    return;
  }
  await race_sync_regs(vcpu, race_events_inj_pen);
});

function main(argc: number, argv: string[]): Promise<number> {
  const cap = BigInt(kvm_check_cap(KVM_CAP_SYNC_REGS));
  TEST_REQUIRE((cap & TEST_SYNC_FIELDS) === TEST_SYNC_FIELDS);
  TEST_REQUIRE(!(cap & INVALID_SYNC_FIELD));

  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
