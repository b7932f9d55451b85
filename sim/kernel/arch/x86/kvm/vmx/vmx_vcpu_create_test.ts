// SPDX-License-Identifier: GPL-2.0-only
/**
 * `vmx_vcpu_create()`'s worker half: a vCPU created while the worker pool
 * holds a worker with the guest image loaded takes it at `KVM_CREATE_VCPU`,
 * so the attach overlaps the VMM's setup instead of the first `KVM_RUN`;
 * freed before it ever ran, it gives the worker back. This module is its own
 * guest image.
 *
 * @module
 */

import "../../../../../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import {
  get_ucall,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  UCALL_DONE,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../../../../../include/kvm_util.ts";
import { vcpu_threads_alive, vcpu_worker_pool_idle } from "../../../../../cpu/vcpu_thread.ts";
import { current } from "../../../../include/linux/sched.ts";
import { pool_loaded } from "../../../../../cpu/testdata/machine.ts";
import { close, ioctl, open } from "../../../../../../include/libc/syscall.ts";
import { KVM_CREATE_VCPU, KVM_CREATE_VM } from "../../../../../../include/linux/kvm.ts";
import { O_RDWR } from "../../../../../../include/linux/fcntl.ts";

/** Guest: done at once. */
export function guest_done(): void {
  GUEST_DONE();
}

function run_one_vm(): void {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_done);
  try {
    vcpu_run(vcpu.value);
    assertEquals(get_ucall(vcpu.value, null), UCALL_DONE);
  } finally {
    kvm_vm_free(vm);
  }
}

Deno.test("a vCPU takes a loaded pooled worker at KVM_CREATE_VCPU, before its first KVM_RUN", async () => {
  run_one_vm();
  await pool_loaded(current.exe_file);
  const idle = vcpu_worker_pool_idle();
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_done);
  try {
    assertEquals(vcpu_worker_pool_idle(), idle - 1, "the worker was not taken at vCPU creation");
    vcpu_run(vcpu.value);
    assertEquals(get_ucall(vcpu.value, null), UCALL_DONE);
  } finally {
    kvm_vm_free(vm);
  }
  assertEquals(vcpu_worker_pool_idle(), idle);
  assertEquals(vcpu_threads_alive(), []);
});

Deno.test("a vCPU freed before it ever ran gives its worker back, however soon", async () => {
  run_one_vm();
  for (let i = 0; i < 20; i++) {
    await pool_loaded(current.exe_file);
    const idle = vcpu_worker_pool_idle();
    // KVM_CREATE_VCPU, then both fds closed at once: the attach message has
    // not reached the worker yet.
    const kvm = open("/dev/kvm", O_RDWR);
    const vm = ioctl(kvm, KVM_CREATE_VM, 0);
    const vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    assert(kvm >= 0 && vm >= 0 && vcpu >= 0);
    assertEquals(vcpu_worker_pool_idle(), idle - 1);
    close(vcpu);
    close(vm);
    close(kvm);
    assertEquals(vcpu_worker_pool_idle(), idle, `VM ${i}: its worker was stopped, not pooled`);
  }
  assertEquals(vcpu_threads_alive(), []);
  run_one_vm();
});
