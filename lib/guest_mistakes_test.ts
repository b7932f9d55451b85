// SPDX-License-Identifier: GPL-2.0-only
/**
 * Every way guest code can go wrong ends the test promptly, with the reason:
 * host-only helpers (`TEST_ASSERT`, `exit`, `Deno.exit`, system calls) are
 * guest errors that never run, a worker that dies fails KVM_RUN with the
 * reason, an `async` guest function is refused, and no vCPU worker outlives
 * its VM. This module is its own guest image; its guest functions are below.
 *
 * @module
 */

import "../sim/use_sim_backend.ts";
import { assert, assertEquals, assertMatch, assertRejects, assertThrows } from "@std/assert";
import {
  GUEST_DONE,
  guest_global,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  sync_global_from_guest,
  TEST_ASSERT,
  vcpu_run,
  vcpu_run_async,
  vm_create_with_one_vcpu,
  VM_MEM_SRC_ANONYMOUS,
  vm_userspace_mem_region_add,
} from "../include/kvm_util.ts";
import { exit } from "../include/libc/exit.ts";
import { close, ioctl, open, user_memory } from "../include/libc/syscall.ts";
import { KVM_GET_API_VERSION } from "../include/linux/kvm.ts";
import { current } from "../sim/kernel/include/linux/sched.ts";
import type { file_operations } from "../sim/kernel/fs/file.ts";
import { O_RDWR } from "../include/linux/fcntl.ts";
import { GuestCodeError, SimulatorBugError } from "../sim/backend.ts";
import { set_memmap_flush_timeout, vcpu_threads_alive } from "../sim/cpu/vcpu_thread.ts";
import { backend } from "../include/libc/backend.ts";
import { KVM_EXIT_IO } from "../include/linux/kvm.ts";
import { outb } from "../include/x86/processor.ts";
import { u64 } from "../include/c/layout.ts";

// Top-level code with a system call, as `Deno.test({ ignore: !kvm_has_cap(...) })`
// makes one: it runs again in every vCPU worker that imports this module.
const toplevel_fd = open("/dev/kvm", O_RDWR);
const toplevel_backend = backend().name;

/** Guest: reports whether this worker's top-level code reached a (simulated) kernel. */
export function guest_toplevel_report(): void {
  outb(0x80, toplevel_fd >= 0 && toplevel_backend === "sim" ? 1 : 0);
  GUEST_DONE();
}

/** Set by {@linkcode guest_busy_without_instructions} once it runs. */
const busy_started = guest_global("busy_started", u64);

/**
 * Guest: says it started (one guest write), then computes for a while
 * without executing an instruction, then finishes.
 */
export function guest_busy_without_instructions(): void {
  busy_started.value = 1n;
  const until = Date.now() + 2000;
  while (Date.now() < until) {
    // No intrinsic, no guest memory access: nothing the CPU can stop at.
  }
  GUEST_DONE();
}

/** Guest: a host assertion. */
export function guest_test_assert(): void {
  TEST_ASSERT(1 + 1 === 3, "the guest should have used GUEST_ASSERT");
  GUEST_DONE();
}

/** Guest: C's exit(). */
export function guest_exit(): void {
  exit(3);
}

/** Guest: the runtime's exit. */
export function guest_deno_exit(): void {
  Deno.exit(5);
}

/** Guest: Node's exit, through the `process` global. */
export function guest_process_exit(): void {
  (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(4);
}

/** Guest: a system call through the syscall boundary. */
export function guest_syscall(): void {
  open("/dev/kvm", O_RDWR);
  GUEST_DONE();
}

/** Guest: ends its worker's JavaScript with the worker scope's close(). */
export function guest_close(): void {
  (globalThis as unknown as { close(): void }).close();
}

/** Guest: async, refused before it runs. */
export async function guest_async(): Promise<void> {
  await Promise.resolve();
  GUEST_DONE();
}

/**
 * Runs `fn` as guest code on a fresh VM and returns the error KVM_RUN threw;
 * the VM is freed either way.
 */
function guest_error_of(fn: () => unknown): GuestCodeError {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, fn);
  try {
    return assertThrows(() => vcpu_run(vcpu.value), GuestCodeError);
  } finally {
    kvm_vm_free(vm);
    assertEquals(vcpu_threads_alive(), [], "a vCPU worker outlived its VM");
  }
}

Deno.test("TEST_ASSERT in guest code is a guest error naming it; nothing is printed or exited", () => {
  const e = guest_error_of(guest_test_assert);
  assertMatch(e.message, /HostOnlyError: TEST_ASSERT\(1 \+ 1 === 3\) at .*guest_mistakes_test/);
  assertMatch(e.message, /GUEST_ASSERT/);
  assertMatch(e.guest_stack, /guest_test_assert/);
});

Deno.test("exit(), Deno.exit() and process.exit() in guest code are guest errors, not a silently ended vCPU", () => {
  assertMatch(guest_error_of(guest_exit).message, /HostOnlyError: exit\(3\) is host-only/);
  const e = guest_error_of(guest_deno_exit);
  assertMatch(e.message, /HostOnlyError: Deno\.exit\(5\) is host-only/);
  assertMatch(e.guest_stack, /guest_deno_exit/);
  const p = guest_error_of(guest_process_exit);
  assertMatch(p.message, /HostOnlyError: process\.exit\(4\) is host-only/);
  assertMatch(p.guest_stack, /guest_process_exit/);
});

Deno.test("a system call in guest code is refused and never reaches the kernel", () => {
  const e = guest_error_of(guest_syscall);
  assertMatch(e.message, /HostOnlyError: open\(\) is host-only/);
  assertMatch(e.message, /guest code reaches the host through exits/);
});

Deno.test("close() of the worker in guest code is a guest error", () => {
  assertMatch(guest_error_of(guest_close).message, /HostOnlyError: close\(\) is host-only/);
});

Deno.test("an async guest function is refused with the reason before the VM is created", () => {
  const vcpu = ref<kvm_vcpu>();
  const fds = current.files.open_fds();
  const e = assertThrows(() => vm_create_with_one_vcpu(vcpu, guest_async), TypeError);
  assertMatch(e.message, /Guest function 'guest_async' is async/);
  assertMatch(e.message, /at its first await/);
  assertEquals(vcpu_threads_alive(), []);
  // Nothing to free: no VM, memslot or vCPU fd was left open.
  assertEquals(current.files.open_fds(), fds);
});

Deno.test("a test module's top-level system calls in a vCPU worker reach only its own simulated kernel", () => {
  // On the host, this module's top-level open() went to the host's kernel.
  assert(toplevel_fd >= 0);
  close(toplevel_fd);
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_toplevel_report);
  try {
    vcpu_run(vcpu.value);
    const run = vcpu.value.run;
    assertEquals([run.exit_reason, run.io.port], [KVM_EXIT_IO, 0x80]);
    const data = user_memory(vcpu.value.run_hva + run.io.data_offset, 1)[0];
    assertEquals(data, 1, "the worker's top-level open() got an fd from the simulator");
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("the syscall boundary is host-only only on a vCPU", () => {
  // The host process itself is not refused.
  const fd = open("/dev/kvm", O_RDWR);
  assert(fd >= 0);
  assertEquals(close(fd), 0);
});

Deno.test("a JavaScript exception inside the simulated kernel fails the call loudly, not with EIO", () => {
  const fd = open("/dev/kvm", O_RDWR);
  try {
    // A file whose ioctl handler is broken: the kernel-side TypeError must surface.
    const f = current.files.lookup(fd)! as unknown as { f_op: file_operations };
    const saved = f.f_op;
    f.f_op = {
      ...saved,
      unlocked_ioctl: () => {
        throw new TypeError("simulated defect");
      },
    };
    try {
      const e = assertThrows(() => ioctl(fd, KVM_GET_API_VERSION, 0), SimulatorBugError);
      assertMatch(
        e.message,
        /BUG in the simulated kernel during ioctl\(\): TypeError: simulated defect/,
      );
      f.f_op = { ...saved, unlocked_ioctl: () => undefined as unknown as number };
      assertThrows(() => ioctl(fd, KVM_GET_API_VERSION, 0), SimulatorBugError, "not a long");
    } finally {
      f.f_op = saved;
    }
    // The process, and the file, go on.
    assertEquals(ioctl(fd, KVM_GET_API_VERSION, 0), 12);
  } finally {
    close(fd);
  }
});

Deno.test("a vCPU that does not take a new memory map in time is stopped; KVM_RUN says why", async () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_busy_without_instructions);
  set_memmap_flush_timeout(200);
  try {
    const run = vcpu_run_async(vcpu.value);
    // Once the guest is in its loop (a vCPU worker's start, which imports the
    // test module, takes longer on a loaded machine), change the memslots
    // under it: its 2 s loop outlasts the 200 ms the flush may take.
    for (sync_global_from_guest(vm, busy_started); busy_started.value === 0n;) {
      await new Promise((r) => setTimeout(r, 10));
      sync_global_from_guest(vm, busy_started);
    }
    vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, 1n << 32n, 10, 16, 0);
    const e = await assertRejects(() => run, GuestCodeError);
    assertMatch(e.message, /did not acknowledge a memory map change within 200 ms/);
  } finally {
    set_memmap_flush_timeout(5000);
    kvm_vm_free(vm);
  }
  // The worker is stopped as soon as its loop lets it (it cannot be interrupted before).
  assertEquals(vcpu_threads_alive(3000), [], "the stopped worker ended after its loop");
});
