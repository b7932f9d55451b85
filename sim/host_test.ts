// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated host knob (`sim/host.ts`): KVM_CAP_NR_VCPUS, a TD's
 * `max_vcpus`, whether TDX comes up and how many TDs hold a KeyID follow it
 * as the kernel computes them.
 *
 * @module
 */

import "./use_sim_backend.ts";
import { assertEquals, assertThrows } from "@std/assert";
import { close, ioctl } from "../include/libc/syscall.ts";
import { errno_get } from "../include/libc/errno.ts";
import {
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_NR_VCPUS,
  KVM_CAP_VM_TYPES,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VM,
} from "../include/linux/kvm.ts";
import { KVM_TDX_INIT_VM, KVM_X86_DEFAULT_VM, KVM_X86_TDX_VM } from "../include/asm/kvm.ts";
import { EINVAL, ENOSPC } from "../include/linux/errno.ts";
import { open_kvm } from "./kernel/testdata/util.ts";
import { capabilities, cmd, enc_op, init_vm_struct } from "./kernel/testdata/raw_td.ts";
import {
  sim_host_config,
  sim_host_default,
  SIM_HOST_MAX_CPUS,
  sim_host_parse,
  sim_host_set,
  SimHostError,
  TDX_MAX_VCPUS_PER_TD,
  TDX_NR_GUEST_KEYIDS,
} from "./host.ts";
import { KVM_MAX_VCPUS } from "./kernel/include/linux/kvm_host.ts";
import { tdx_module_global } from "./tdx_module/sysinfo.ts";

/** Runs `fn` on a host configured by `spec`, and on the previous host afterwards. */
function with_host<T>(spec: string, fn: () => T): T {
  const prev = sim_host_set(spec);
  try {
    return fn();
  } finally {
    sim_host_set(prev);
  }
}

function check(fd: number, cap: number): number {
  return ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

Deno.test("SIM_HOST specs: defaults are today's machine, keys and ranges are checked", () => {
  const d = sim_host_default();
  assertEquals(d.cpus, Math.max(1, navigator.hardwareConcurrency | 0));
  assertEquals(d.max_vcpus_per_td, TDX_MAX_VCPUS_PER_TD);
  assertEquals(d.hkids, TDX_NR_GUEST_KEYIDS);
  assertEquals(sim_host_parse(""), d);
  assertEquals(sim_host_parse(" cpus=256 , hkids=64 "), { ...d, cpus: 256, hkids: 64 });
  for (
    const bad of [
      "cpus",
      "cpus=0",
      `cpus=${SIM_HOST_MAX_CPUS + 1}`,
      "cpus=-1",
      "cpus=1.5",
      "max_vcpus_per_td=65536",
      "hkids=0",
      "sockets=2",
    ]
  ) {
    assertThrows(() => sim_host_parse(bad), SimHostError, undefined, bad);
  }
  assertThrows(() => sim_host_set({ cpus: 0 }), SimHostError);
  assertThrows(() => sim_host_set({ nope: 1 } as never), SimHostError);
  assertEquals(sim_host_config(), d, "a refused setting leaves the host as it was");
});

Deno.test("KVM_CAP_NR_VCPUS is min(num_online_cpus(), KVM_MAX_VCPUS)", () => {
  const kvm = open_kvm();
  with_host("cpus=256", () => assertEquals(check(kvm, KVM_CAP_NR_VCPUS), 256));
  with_host("cpus=8192", () => assertEquals(check(kvm, KVM_CAP_NR_VCPUS), KVM_MAX_VCPUS));
  with_host("cpus=1", () => assertEquals(check(kvm, KVM_CAP_NR_VCPUS), 1));
  assertEquals(check(kvm, KVM_CAP_MAX_VCPUS), KVM_MAX_VCPUS, "KVM_MAX_VCPUS whatever the host");
  close(kvm);
});

Deno.test("a TD's KVM_CAP_MAX_VCPUS is min(KVM_MAX_VCPUS, num_present_cpus()); a VM's is not", () => {
  const kvm = open_kvm();
  for (const cpus of [1, 3, 256, 576]) {
    with_host(`cpus=${cpus}`, () => {
      const td = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
      assertEquals(check(td, KVM_CAP_MAX_VCPUS), cpus);
      const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_DEFAULT_VM);
      assertEquals(check(vm, KVM_CAP_MAX_VCPUS), KVM_MAX_VCPUS);
      close(vm);
      close(td);
    });
  }
  close(kvm);
});

Deno.test("TDX stays off on a host with more CPUs than MAX_VCPUS_PER_TD (__tdx_bringup())", () => {
  const kvm = open_kvm();
  const tdx = 1 << KVM_X86_TDX_VM;
  with_host("cpus=577", () => {
    assertEquals(check(kvm, KVM_CAP_VM_TYPES) & tdx, 0);
    assertEquals([ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM), errno_get()], [-1, EINVAL]);
  });
  with_host("cpus=64,max_vcpus_per_td=32", () => {
    assertEquals(check(kvm, KVM_CAP_VM_TYPES) & tdx, 0);
  });
  with_host("cpus=32,max_vcpus_per_td=32", () => {
    assertEquals(check(kvm, KVM_CAP_VM_TYPES) & tdx, tdx);
    assertEquals(tdx_module_global.sysinfo.td_conf.max_vcpus_per_td, 32);
  });
  assertEquals(tdx_module_global.sysinfo.td_conf.max_vcpus_per_td, TDX_MAX_VCPUS_PER_TD);
  close(kvm);
});

Deno.test("hkids bounds the TDs that hold a KeyID: the next KVM_TDX_INIT_VM is ENOSPC", () => {
  const kvm = open_kvm();
  const probe = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const init = init_vm_struct(capabilities(probe).ents);
  close(probe);
  for (const n of [2, 40]) {
    with_host(`hkids=${n}`, () => {
      const tds: number[] = [];
      for (let i = 0; i < n; i++) {
        const td = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
        assertEquals(enc_op(td, cmd(KVM_TDX_INIT_VM, init)), 0, `TD ${i} of ${n}`);
        tds.push(td);
      }
      const over = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
      assertEquals([enc_op(over, cmd(KVM_TDX_INIT_VM, init)), errno_get()], [-1, ENOSPC]);
      // Destroying a TD gives its key back.
      close(tds.pop()!);
      assertEquals(enc_op(over, cmd(KVM_TDX_INIT_VM, init)), 0);
      close(over);
      for (const td of tds) close(td);
    });
  }
  assertEquals(tdx_module_global.nr_keyids_in_use, 0);
  close(kvm);
});
