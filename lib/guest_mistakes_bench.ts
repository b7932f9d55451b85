// SPDX-License-Identifier: GPL-2.0-only
/**
 * Time from a guest's mistake to the failed test: VM creation, the guest
 * calling a host-only helper, KVM_RUN throwing the guest error, VM free.
 * The `vm only` case is the same VM with a guest that finishes cleanly: the
 * difference is what reporting the mistake costs.
 *
 * @module
 */

import "../sim/use_sim_backend.ts";
import {
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { exit } from "../include/libc/exit.ts";
import { open } from "../include/libc/syscall.ts";
import { O_RDWR } from "../include/linux/fcntl.ts";
import { GuestCodeError } from "../sim/backend.ts";

/** Guest: finishes. */
export function bench_guest_done(): void {
  GUEST_DONE();
}

/** Guest: a host assertion. */
export function bench_guest_test_assert(): void {
  TEST_ASSERT(false, "guest mistake");
}

/** Guest: C exit(). */
export function bench_guest_exit(): void {
  exit(1);
}

/** Guest: Deno.exit(). */
export function bench_guest_deno_exit(): void {
  Deno.exit(1);
}

/** Guest: a system call. */
export function bench_guest_syscall(): void {
  open("/dev/kvm", O_RDWR);
}

/** Guest: async (refused at vCPU creation). */
export async function bench_guest_async(): Promise<void> {
  await Promise.resolve();
}

function run(fn: () => unknown, expect_error: boolean): void {
  const vcpu = ref<kvm_vcpu>();
  let vm;
  try {
    vm = vm_create_with_one_vcpu(vcpu, fn);
    vcpu_run(vcpu.value);
    if (expect_error) throw new Error("no guest error");
  } catch (e) {
    if (!expect_error || !(e instanceof GuestCodeError || e instanceof TypeError)) throw e;
  } finally {
    if (vm) kvm_vm_free(vm);
  }
}

Deno.bench(
  "vm only: guest finishes (baseline)",
  { baseline: true },
  () => run(bench_guest_done, false),
);
Deno.bench("guest TEST_ASSERT -> failed test", () => run(bench_guest_test_assert, true));
Deno.bench("guest exit() -> failed test", () => run(bench_guest_exit, true));
Deno.bench("guest Deno.exit() -> failed test", () => run(bench_guest_deno_exit, true));
Deno.bench("guest open() syscall -> failed test", () => run(bench_guest_syscall, true));
Deno.bench("async guest function -> refused", () => run(bench_guest_async, true));
