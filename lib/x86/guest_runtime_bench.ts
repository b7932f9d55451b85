// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest runtime on the real `/dev/kvm` against the raw real-KVM exit
 * round trip, in the same run (`deno bench -A lib/x86/guest_runtime_bench.ts`):
 *
 * - **intrinsic** (100 per iteration): the baseline is 100 raw `KVM_RUN` →
 *   `KVM_EXIT_IO` round trips of a vCPU spinning on `out` (machine code, no
 *   runtime); against it, a TypeScript guest doing 100 `readq` of RAM (each
 *   one request: one doorbell exit the worker consumes) then one `outb`, and
 *   a TypeScript guest whose 100 `outb`s each come back to the host's
 *   `KVM_RUN` (doorbell, real exit, handoff to the host thread and back).
 * - **memory**: one iteration is a guest making 10,000 memory accesses
 *   (5,000 `writeq`, 5,000 `readq` over 40 KiB) and one `outb`.
 *
 * Without `/dev/kvm` nothing is measured (said so on stderr).
 *
 * @module
 */

import { load_backend, set_backend } from "../../include/libc/backend.ts";
import type { kvm_backend } from "../../include/libc/kvm_backend.ts";
import { KVM_EXIT_IO } from "../../include/linux/kvm.ts";
import { kvm_regs } from "../../include/asm/kvm.ts";
import {
  __vcpu_run,
  type kvm_vcpu,
  kvm_vm_free,
  memcpy_to_guest,
  sync_global_to_guest,
  vcpu_regs_get,
  vcpu_run,
  vm_alloc,
} from "../../include/kvm_util.ts";
import * as g from "./testdata/guest_runtime_guest.ts";

const have_kvm = (() => {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
})();

/** One `KVM_RUN` (the raw ioctl: no ucall check after it, for every contender alike). */
function run(vcpu: kvm_vcpu): void {
  const r = __vcpu_run(vcpu);
  if (r !== 0) throw new Error(`KVM_RUN = ${r}`);
}

function expect_io(vcpu: kvm_vcpu): void {
  if (vcpu.run.exit_reason !== KVM_EXIT_IO || vcpu.run.io.port !== 0x10) {
    throw new Error(`unexpected exit ${vcpu.run.exit_reason}`);
  }
}

if (!have_kvm) {
  console.error("guest_runtime_bench: /dev/kvm missing or not accessible: nothing to measure");
} else {
  const b = await load_backend("kvm") as kvm_backend;
  set_backend(b);
  const vms: ReturnType<typeof g.gr_create_vm>[] = [];

  // The raw round trip: `mov $0x10, %edx; 1: out %eax, (%dx); jmp 1b` at the
  // entry point, the vCPU's KVM_RUN a plain system call (no runtime hook).
  const raw = g.ref<kvm_vcpu>();
  const raw_vm = g.gr_create_vm(g.guest_outb_loop, raw);
  vms.push(raw_vm);
  const regs = kvm_regs.alloc();
  vcpu_regs_get(raw.value, regs);
  memcpy_to_guest(raw_vm, regs.rip, new Uint8Array([0xba, 0x10, 0, 0, 0, 0xef, 0xeb, 0xfd]));
  b.set_run_hook(raw.value.fd, null);
  vcpu_run(raw.value);
  expect_io(raw.value);

  const reads = g.ref<kvm_vcpu>();
  const reads_vm = g.gr_create_vm(g.guest_read100_loop, reads);
  vms.push(reads_vm);
  g.scratch_gva.value = vm_alloc(reads_vm, 4096, 0x10000n);
  sync_global_to_guest(reads_vm, g.scratch_gva);
  vcpu_run(reads.value);
  expect_io(reads.value);

  const outs = g.ref<kvm_vcpu>();
  vms.push(g.gr_create_vm(g.guest_outb_loop, outs));
  vcpu_run(outs.value);
  expect_io(outs.value);

  const mem = g.ref<kvm_vcpu>();
  const mem_vm = g.gr_create_vm(g.guest_mem10k_loop, mem);
  vms.push(mem_vm);
  g.scratch_gva.value = vm_alloc(mem_vm, 40960, 0x10000n);
  sync_global_to_guest(mem_vm, g.scratch_gva);
  vcpu_run(mem.value);
  expect_io(mem.value);

  Deno.bench("kvm raw: 100 x (KVM_RUN -> KVM_EXIT_IO of `out` -> KVM_RUN)", {
    group: "intrinsic",
    baseline: true,
    n: 30,
  }, () => {
    for (let i = 0; i < 100; i++) run(raw.value);
    expect_io(raw.value);
  });

  Deno.bench("guest runtime: 100 x readq (a doorbell exit each, in the worker) + 1 outb", {
    group: "intrinsic",
    n: 30,
  }, () => {
    run(reads.value);
    expect_io(reads.value);
  });

  Deno.bench("guest runtime: 100 x outb, each a real exit returned to the host's KVM_RUN", {
    group: "intrinsic",
    n: 30,
  }, () => {
    for (let i = 0; i < 100; i++) run(outs.value);
    expect_io(outs.value);
  });

  Deno.bench("guest runtime: 10,000 memory accesses (writeq, readq) + 1 outb", {
    group: "memory",
    n: 5,
    warmup: 1,
  }, () => {
    run(mem.value);
    expect_io(mem.value);
  });

  globalThis.addEventListener("unload", () => {
    for (const vm of vms) kvm_vm_free(vm);
  });
}
