// SPDX-License-Identifier: GPL-2.0-only
// The host handle: guest crashes, deadlines, destroy, concurrency, RIP changes, the worker pool.
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { pool_loaded, test_vm } from "./testdata/machine.ts";
import {
  guest_args,
  guest_module_state,
  guest_outb,
  guest_read,
  guest_report_instance,
  guest_spin,
  guest_spin_slowly,
  guest_throws,
} from "./testdata/guest.ts";
import {
  guest_report_instance as guest_report_stateless_instance,
  STATELESS_IMAGE,
} from "./testdata/stateless_guest.ts";
import { expect_exit, next_report, skip } from "./testdata/kernel.ts";
import { guest_once_outb, ONCE_IMAGE } from "./testdata/once_guest.ts";
import {
  GuestCodeError,
  set_run_deadline,
  set_vcpu_worker_pool,
  vcpu_thread,
  vcpu_threads_alive,
  vcpu_worker_pool_idle,
  vcpu_worker_pool_releasing,
  vcpu_worker_release_waits,
  WORKER_MAX_USES,
} from "./vcpu_thread.ts";
import { vcpu } from "./state.ts";
import { cpu_release } from "./runner.ts";
import {
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
  SIM_EXIT_REASON_DEAD,
  SIM_EXIT_REASON_DEADLINE,
  SIM_EXIT_REASON_GUEST_CRASH,
  VCPU_STATE_EXIT,
  VCPU_STATE_HOST,
  VCPU_STATE_KILLED,
  WORKER_DEAD,
  WORKER_READY,
} from "./vmx.ts";
import { vmcs_ctl, VMCS_CTL_WORKER_STATE } from "./vmcs.ts";

Deno.test("a JavaScript exception in guest code is a guest-crash exit with the guest stack", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_throws);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  skip(v);
  assertEquals(v.enter(), SIM_EXIT_REASON_GUEST_CRASH);
  const text = v.guest_error();
  assertMatch(text, /boom from the guest/);
  assertMatch(text, /guest_throws/);
  assertMatch(new GuestCodeError(0, text).message, /vCPU 0 threw: Error: boom/);
});

Deno.test("a guest image that fails to load reports a crash, not a hang", () => {
  using v = new vcpu_thread({
    vcpu_id: 3,
    images: [new URL("./testdata/does_not_exist.ts", import.meta.url)],
  });
  assertEquals(v.enter(), SIM_EXIT_REASON_GUEST_CRASH);
  assertMatch(v.guest_error(), /could not load the guest image/);
  assert(!v.alive);
});

Deno.test("a guest that never exits is stopped at the run deadline", () => {
  const vm = new test_vm();
  const v = vm.vcpu(guest_spin);
  set_run_deadline(300);
  try {
    const t0 = performance.now();
    assertEquals(v.enter(), SIM_EXIT_REASON_DEADLINE);
    assert(performance.now() - t0 < 5000);
    // The deadline is the harness's signal, given once (KVM_RUN's -EINTR, which
    // upstream's _vcpu_run() retries); then the vCPU is dead, not a new EINTR.
    assertEquals(v.enter(), SIM_EXIT_REASON_DEAD, "a stopped vCPU stays stopped");
    assertMatch(v.take_death_reason(), /did not exit within the run deadline \(300 ms/);
    assert(!v.alive);
  } finally {
    set_run_deadline(undefined);
    v.destroy();
  }
});

Deno.test("enter_async runs several vCPUs at once; destroy() makes entries return DEAD", async () => {
  const vm = new test_vm();
  const vcpus = [0, 1, 2, 3].map((i) => vm.vcpu(guest_args, [BigInt(i), 0n, 0n, 0n], i));
  try {
    const exits = await Promise.all(vcpus.map((v) => v.enter_async()));
    assertEquals(exits, [30, 30, 30, 30]);
    for (const [i, v] of vcpus.entries()) assertEquals(v.vmcs.regs.at(0), BigInt(i));
  } finally {
    for (const v of vcpus) v.destroy();
  }
  assertEquals(vcpus[0]!.enter(), SIM_EXIT_REASON_DEAD);
  assertEquals(await vcpus[1]!.enter_async(), SIM_EXIT_REASON_DEAD);
});

Deno.test("KVM_SET_REGS to another function while the guest is blocked abandons the old one", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_outb);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  v.vmcs.rip = BigInt(vm.load_fn(guest_args));
  v.vmcs.regs.set(7, 42n);
  assertEquals(next_report(v), 42);
});

Deno.test("destroying a vCPU blocked in an exit and one never entered leaves nothing behind", () => {
  const vm = new test_vm();
  const a = vm.vcpu(guest_outb);
  const b = vm.vcpu(guest_outb);
  expect_exit(a, EXIT_REASON_IO_INSTRUCTION);
  a.destroy();
  b.destroy();
  a.destroy();
  assert(!a.alive && !b.alive);
});

Deno.test("hlt exits after the preceding instruction completed", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_outb);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  skip(v);
  expect_exit(v, EXIT_REASON_HLT);
  assertEquals(v.vmcs.exit_instruction_len, 1);
});

// The worker pool: a freed vCPU's worker serves the next vCPU with the same image.

/** Empties the pool (its idle workers end) and sets its size; returns the old size. */
function fresh_pool(n: number): number {
  const old = set_vcpu_worker_pool(0);
  set_vcpu_worker_pool(n);
  return old;
}

Deno.test("a freed vCPU's worker serves the next vCPU, which starts from the image's initial state", () => {
  const old = fresh_pool(2);
  try {
    for (let i = 0; i < 3; i++) {
      const vm = new test_vm();
      const v = vm.vcpu(guest_module_state);
      assertEquals(vcpu_worker_pool_idle(), 0, "the vCPU took the idle worker");
      // Module state counts from its initial value; nothing the last guest
      // left in globalThis (directly or through a timer it armed) remains.
      assertEquals(next_report(v), 1, `module state, VM ${i}`);
      assertEquals(next_report(v), 0, `globalThis, VM ${i}`);
      expect_exit(v, EXIT_REASON_HLT);
      v.destroy();
      assertEquals(vcpu_worker_pool_idle(), 1, "the worker went back to the pool");
      assertEquals(vcpu_threads_alive(), [], "a pooled worker is no leak");
    }
  } finally {
    set_vcpu_worker_pool(old);
  }
});

Deno.test("the free of a vCPU waiting for its next entry does not wait for its worker", () => {
  const old = fresh_pool(1);
  try {
    for (let i = 0; i < 5; i++) {
      const vm = new test_vm();
      const v = vm.vcpu(guest_outb);
      expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
      const waits = vcpu_worker_release_waits();
      v.destroy();
      assertEquals(vcpu_worker_release_waits(), waits, `VM ${i}: the free waited for the worker`);
      assertEquals(vcpu_worker_pool_idle(), 1, `VM ${i}: the worker is back in the pool at once`);
      // Its next vCPU waits for the unwinding to end, and runs.
      const w = vm.vcpu(guest_outb);
      assertEquals(vcpu_worker_pool_idle(), 0, `VM ${i}: the next vCPU took it`);
      expect_exit(w, EXIT_REASON_IO_INSTRUCTION);
      w.destroy();
    }
    assertEquals(vcpu_threads_alive(), []);
    assertEquals(vcpu_worker_pool_releasing(), 0, "the leak check waits for every release");
  } finally {
    set_vcpu_worker_pool(old);
  }
});

Deno.test("a stop or release changes the word a worker waiting for an entry sleeps on", () => {
  // The worker reads the kill word, then sleeps on run_state: a kill stored
  // between the two must still end the sleep, which only a change of
  // run_state can do (a notify finds no sleeper yet). Without it a free lost
  // the race once in a few hundred VMs and the next vCPU waited 50 ms.
  for (const pool of [1, 0]) {
    const old = fresh_pool(pool);
    try {
      const vm = new test_vm();
      const exited = vm.vcpu(guest_outb);
      const never_entered = vm.vcpu(guest_outb);
      expect_exit(exited, EXIT_REASON_IO_INSTRUCTION);
      assertEquals(exited.vmcs.run_state, VCPU_STATE_EXIT);
      assertEquals(never_entered.vmcs.run_state, VCPU_STATE_HOST);
      exited.destroy();
      never_entered.destroy();
      assertEquals(exited.vmcs.run_state, VCPU_STATE_KILLED, `pool ${pool}: after an exit`);
      assertEquals(never_entered.vmcs.run_state, VCPU_STATE_KILLED, `pool ${pool}: never entered`);
      assertEquals(vcpu_threads_alive(), []);
    } finally {
      set_vcpu_worker_pool(old);
    }
  }
});

Deno.test("a stopped worker wakes whoever sleeps on its worker_state (the leak check)", async () => {
  // The leak check and a release sleep on worker_state. A dying worker that
  // notified only run_state left them to their timeout: 2 ms per check of a
  // stopped vCPU on average, up to 20.
  const old = fresh_pool(0);
  try {
    const vm = new test_vm();
    const v = vm.vcpu(guest_outb);
    expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
    const ctl = vmcs_ctl(v.vmcs);
    assertEquals(Atomics.load(ctl, VMCS_CTL_WORKER_STATE), WORKER_READY);
    const woken = Atomics.waitAsync(ctl, VMCS_CTL_WORKER_STATE, WORKER_READY, 3000);
    assert(woken.async);
    // A pending waitAsync() does not keep the event loop alive; a timer does.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<string>((r) => timer = setTimeout(() => r("no notify"), 3000));
    v.destroy();
    const got = await Promise.race([woken.value, timeout]);
    clearTimeout(timer);
    assertEquals(got, "ok", "the dying worker's notify reached worker_state");
    assertEquals(Atomics.load(ctl, VMCS_CTL_WORKER_STATE), WORKER_DEAD);
    assertEquals(vcpu_threads_alive(), []);
  } finally {
    set_vcpu_worker_pool(old);
  }
});

Deno.test("the free of a vCPU in guest mode waits until its worker has left the VM", async () => {
  const old = fresh_pool(1);
  try {
    const vm = new test_vm();
    // A worker with the image loaded (one still loading is stopped instead).
    const first = vm.vcpu(guest_outb);
    expect_exit(first, EXIT_REASON_IO_INSTRUCTION);
    first.destroy();
    await pool_loaded();
    const v = vm.vcpu(guest_spin_slowly);
    const entry = v.enter_async();
    // Until it is in guest code, between two instructions.
    const until = performance.now() + 5;
    while (performance.now() < until) { /* wait */ }
    // It may write the VM's memory until it sees the kill word: when
    // destroy() returns (and the VM's memory can be freed) it has stopped.
    const waits = vcpu_worker_release_waits();
    v.destroy();
    assertEquals(vcpu_worker_release_waits(), waits + 1, "the free did not wait for the worker");
    assertEquals(vcpu_worker_pool_releasing(), 0, "destroy() returned while the guest still ran");
    assertEquals(vcpu_worker_pool_idle(), 1);
    assertEquals(await entry, SIM_EXIT_REASON_DEAD);
  } finally {
    set_vcpu_worker_pool(old);
  }
  assertEquals(vcpu_threads_alive(), []);
});

Deno.test("an image with state of its own runs in a fresh instance in each VM", () => {
  const old = fresh_pool(1);
  try {
    const vm = new test_vm();
    for (let use = 0; use < 3; use++) {
      using v = vm.vcpu(guest_report_instance);
      assertEquals(next_report(v), use, `VM ${use}`);
      expect_exit(v, EXIT_REASON_HLT);
    }
  } finally {
    set_vcpu_worker_pool(old);
  }
});

Deno.test("an image with no state of its own keeps one instance; its worker never wears out", () => {
  const old = fresh_pool(1);
  try {
    const vm = new test_vm();
    for (let use = 1; use <= WORKER_MAX_USES + 1; use++) {
      const v = vm.vcpu(guest_report_stateless_instance, [], 0, [STATELESS_IMAGE]);
      // No successor starts at the worker's 256th vCPU, nor a new worker after it.
      assertEquals(vcpu_worker_pool_idle(), 0, `use ${use}`);
      assertEquals(next_report(v), 0, `the first instance, use ${use}`);
      expect_exit(v, EXIT_REASON_HLT);
      v.destroy();
      assertEquals(vcpu_worker_pool_idle(), 1, `use ${use}: back in the pool`);
    }
  } finally {
    set_vcpu_worker_pool(old);
  }
  assertEquals(vcpu_threads_alive(), []);
});

Deno.test("a reused worker's guest stack names the image file, as a fresh worker's does", () => {
  const old = fresh_pool(1);
  try {
    for (let i = 0; i < 2; i++) {
      const vm = new test_vm();
      using v = vm.vcpu(guest_throws);
      expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
      skip(v);
      assertEquals(v.enter(), SIM_EXIT_REASON_GUEST_CRASH);
      assertMatch(v.guest_error(), /guest_throws \(file:\/\/\/.*\/guest\.ts:\d+:\d+\)/);
    }
  } finally {
    set_vcpu_worker_pool(old);
  }
});

Deno.test("a reused worker reads the next VM's memory, not the last one's (TLB, memory map)", () => {
  const old = fresh_pool(1);
  try {
    for (const value of [0x1111, 0x2222, 0x3333]) {
      const vm = new test_vm();
      vm.dv.setUint32(0x380000, value, true);
      using v = vm.vcpu(guest_read, [0x380000n]);
      assertEquals(next_report(v), value);
    }
  } finally {
    set_vcpu_worker_pool(old);
  }
});

Deno.test("a worker's last vCPU starts its successor, which the next vCPU finds loaded", () => {
  const old = fresh_pool(2);
  try {
    const vm = new test_vm();
    for (let use = 1; use <= WORKER_MAX_USES; use++) {
      const v = vm.vcpu(guest_outb);
      // Before its last vCPU the worker is alone; with it, a successor waits.
      assertEquals(vcpu_worker_pool_idle(), use < WORKER_MAX_USES ? 0 : 1, `use ${use}`);
      expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
      v.destroy();
    }
    // The worn-out worker retired; the successor serves the next vCPU.
    assertEquals(vcpu_worker_pool_idle(), 1);
    using w = vm.vcpu(guest_outb);
    assertEquals(vcpu_worker_pool_idle(), 0);
    expect_exit(w, EXIT_REASON_IO_INSTRUCTION);
  } finally {
    set_vcpu_worker_pool(old);
  }
  assertEquals(vcpu_threads_alive(), []);
});

Deno.test("a worker stopped at the run deadline is not reused; the next vCPU gets a new one", () => {
  const old = fresh_pool(2);
  set_run_deadline(300);
  try {
    const vm = new test_vm();
    const v = vm.vcpu(guest_spin);
    assertEquals(v.enter(), SIM_EXIT_REASON_DEADLINE);
    v.destroy();
    assertEquals(vcpu_worker_pool_idle(), 0);
    using w = vm.vcpu(guest_outb);
    expect_exit(w, EXIT_REASON_IO_INSTRUCTION);
  } finally {
    set_run_deadline(undefined);
    set_vcpu_worker_pool(old);
  }
  assertEquals(vcpu_threads_alive(), []);
});

Deno.test("with a pool of 0 every vCPU has its own worker", () => {
  const old = fresh_pool(0);
  try {
    const vm = new test_vm();
    const v = vm.vcpu(guest_outb);
    expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
    v.destroy();
    assertEquals(vcpu_worker_pool_idle(), 0);
  } finally {
    set_vcpu_worker_pool(old);
  }
  assertThrows(() => set_vcpu_worker_pool(-1), RangeError);
});

Deno.test("idle pooled workers do not keep the process alive", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./testdata/pool_exit.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, text);
  assertMatch(text, /idle 1/);
});

Deno.test("cpu_release() puts every field of the worker's vcpu state back to its initial value", () => {
  const initial = { ...vcpu };
  // What a guest can leave behind: mode, pending events, a kvm_asm_safe in
  // progress, an event being delivered, the memory map it mapped.
  vcpu.cpl = 3;
  vcpu.long64 = true;
  vcpu.td = true;
  vcpu.irq_window = true;
  vcpu.sti_shadow_ticks = 2;
  vcpu.transfer_pending = true;
  vcpu.memmap_generation = 7;
  vcpu.safe_depth = 2;
  vcpu.d_cr2 = 0x1000n;
  vcpu.last_tsc_hi = 123;
  vcpu.last_tsc_lo = 456;
  vcpu.images = [{}];
  cpu_release();
  for (const [key, value] of Object.entries(initial)) {
    const now = (vcpu as unknown as Record<string, unknown>)[key];
    if (ArrayBuffer.isView(value)) {
      assert(ArrayBuffer.isView(now) && now !== value, `${key}: a fresh view`);
      assertEquals((now as ArrayBufferView).byteLength, value.byteLength, key);
    } else {
      assertEquals(now, value, key);
    }
  }
});

Deno.test("an image whose top level fails when evaluated again runs on fresh workers", async () => {
  const old = fresh_pool(2);
  try {
    for (let i = 0; i < 2; i++) {
      const vm = new test_vm();
      const v = vm.vcpu(guest_once_outb, [], 0, [ONCE_IMAGE]);
      expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
      v.destroy();
      // The released worker imports the image again, which fails: it must
      // not be given to the next vCPU.
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    set_vcpu_worker_pool(old);
  }
});
