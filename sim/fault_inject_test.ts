// SPDX-License-Identifier: GPL-2.0-only
/**
 * Fault injection (`sim/fault_inject.ts`): the simulated TDX module answers
 * busy / interrupted / no entropy, HKIDs run out, kernel allocations fail;
 * KVM's paths retry where tdx.c retries and otherwise fail with its errno,
 * and the library reports it with upstream's message.
 *
 * @module
 */

import "./use_sim_backend.ts";
import { assert, assertEquals, assertMatch, assertNotEquals, assertThrows } from "@std/assert";
import { close, ioctl } from "../include/libc/syscall.ts";
import { errno_get } from "../include/libc/errno.ts";
import { ExitError } from "../include/libc/exit.ts";
import {
  KVM_CHECK_EXTENSION,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_SET_USER_MEMORY_REGION,
  kvm_userspace_memory_region,
} from "../include/linux/kvm.ts";
import {
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_TDX_INIT_VM,
  KVM_X86_TDX_VM,
} from "../include/asm/kvm.ts";
import { EAGAIN, EBUSY, EIO, ENOMEM, ENOSPC } from "../include/linux/errno.ts";
import { __vm_create } from "../include/kvm_util.ts";
import { VM_SHAPE_TDX } from "../include/x86/processor.ts";
import { current } from "./kernel/include/linux/sched.ts";
import { file_to_kvm } from "./kernel/virt/kvm/kvm_main.ts";
import { tdx_hkid } from "./kernel/arch/x86/kvm/vmx/tdx.ts";
import { anon, open_kvm } from "./kernel/testdata/util.ts";
import {
  capabilities,
  cmd,
  enc_op,
  free_td,
  init_vm_struct,
  td_up_to_init_vcpu,
} from "./kernel/testdata/raw_td.ts";
import { user_memory } from "../include/libc/syscall.ts";
import {
  DEFAULT_STALL_MS,
  exit_stall_ms,
  fault_inject,
  fault_inject_fired,
  FaultInjectError,
  RDRAND_RETRY_LOOPS,
} from "./fault_inject.ts";

/** Runs `fn` with `spec` injected, and no injection afterwards whatever happens. */
function with_faults<T>(spec: string, fn: () => T): T {
  fault_inject(spec);
  try {
    return fn();
  } finally {
    fault_inject("");
  }
}

function expect_errno(r: number, e: number, what: string): void {
  assertEquals([r, errno_get()], [-1, e], what);
}

function init_vm_arg(kvm: number): bigint {
  const probe = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const { ents } = capabilities(probe);
  close(probe);
  return init_vm_struct(ents);
}

function hkid_of(vm_fd: number): number {
  return tdx_hkid(file_to_kvm(current.files.lookup(vm_fd)!)!);
}

Deno.test("fault injection specs: points, statuses, nth and times; bad specs are refused", () => {
  for (
    const bad of ["TDH.MNG.CREATE=nope", "nowhere", "alloc:heap", "hkid@0", "TDH.MNG.CREATE*x"]
  ) {
    assertThrows(() => fault_inject(bad), FaultInjectError);
  }
  fault_inject("");
  const kvm = open_kvm();
  with_faults("alloc:vcpu@2*2", () => {
    const vm = ioctl(kvm, KVM_CREATE_VM, 0);
    assert(ioctl(vm, KVM_CREATE_VCPU, 0) >= 0, "the first allocation succeeds");
    expect_errno(ioctl(vm, KVM_CREATE_VCPU, 1), ENOMEM, "second");
    expect_errno(ioctl(vm, KVM_CREATE_VCPU, 1), ENOMEM, "third");
    assert(ioctl(vm, KVM_CREATE_VCPU, 1) >= 0, "fourth: the rule is spent");
    assertEquals(fault_inject_fired("alloc:vcpu"), 2);
    close(vm);
  });
  close(kvm);
});

Deno.test("stall:exit holds entries up for its milliseconds, at the entries its rule names", () => {
  for (const bad of ["stall:exit=busy", "stall:exit=0x10", "stall:entry"]) {
    assertThrows(() => fault_inject(bad), FaultInjectError);
  }
  with_faults("stall:exit@2*2", () => {
    assertEquals([exit_stall_ms(), exit_stall_ms(), exit_stall_ms(), exit_stall_ms()], [
      0,
      DEFAULT_STALL_MS,
      DEFAULT_STALL_MS,
      0,
    ]);
  });
  with_faults("stall:exit=25*inf", () => assertEquals(exit_stall_ms(), 25));
  assertEquals(exit_stall_ms(), 0);
});

Deno.test("kernel allocation failures are ENOMEM at KVM's allocation points", () => {
  const kvm = open_kvm();
  with_faults("alloc:kvm", () => expect_errno(ioctl(kvm, KVM_CREATE_VM, 0), ENOMEM, "VM"));
  const vm = ioctl(kvm, KVM_CREATE_VM, 1);
  const r = kvm_userspace_memory_region.alloc();
  r.slot = 0;
  r.memory_size = 1n << 20n;
  r.userspace_addr = anon(1n << 20n);
  with_faults("alloc:memslot", () => {
    expect_errno(ioctl(vm, KVM_SET_USER_MEMORY_REGION, r), ENOMEM, "memslot");
  });
  assertEquals(ioctl(vm, KVM_SET_USER_MEMORY_REGION, r), 0, "without the fault");
  const g = kvm_create_guest_memfd.alloc();
  g.size = 1n << 20n;
  with_faults(
    "alloc:gmem",
    () => expect_errno(ioctl(vm, KVM_CREATE_GUEST_MEMFD, g), ENOMEM, "gmem"),
  );
  close(vm);
  close(kvm);
});

Deno.test("HKID exhaustion: KVM_TDX_INIT_VM is ENOSPC, reported with upstream's message", () => {
  const kvm = open_kvm();
  const init = init_vm_arg(kvm);
  with_faults("hkid", () => {
    const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
    expect_errno(enc_op(vm, cmd(KVM_TDX_INIT_VM, init)), ENOSPC, "INIT_VM");
    close(vm);
  });
  with_faults("hkid", () => {
    const e = assertThrows(() => __vm_create(VM_SHAPE_TDX, 1, 0), ExitError);
    assertMatch(
      e.reason ?? "",
      /KVM_TDX_INIT_VM failed, rc: -1 errno: 28 \(No space left on device\)/,
    );
  });
  close(kvm);
});

Deno.test("TDH.MNG.CREATE without entropy is retried as sc_retry() does, then -EAGAIN", () => {
  const kvm = open_kvm();
  const init = init_vm_arg(kvm);
  with_faults(`TDH.MNG.CREATE=entropy*${RDRAND_RETRY_LOOPS - 1}`, () => {
    const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
    assertEquals(enc_op(vm, cmd(KVM_TDX_INIT_VM, init)), 0, "absorbed by the retries");
    assertEquals(fault_inject_fired("TDH.MNG.CREATE"), RDRAND_RETRY_LOOPS - 1);
    close(vm);
  });
  with_faults(`TDH.MNG.CREATE=entropy*${RDRAND_RETRY_LOOPS}`, () => {
    const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
    expect_errno(enc_op(vm, cmd(KVM_TDX_INIT_VM, init)), EAGAIN, "out of retries");
    // Userspace may try again: nothing was left behind.
    assertEquals(enc_op(vm, cmd(KVM_TDX_INIT_VM, init)), 0);
    close(vm);
  });
  close(kvm);
});

Deno.test("an unexpected SEAMCALL error bugs the VM: -EIO now and for every later ioctl", () => {
  const kvm = open_kvm();
  const init = init_vm_arg(kvm);
  with_faults("TDH.MNG.CREATE=busy", () => {
    const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
    expect_errno(enc_op(vm, cmd(KVM_TDX_INIT_VM, init)), EIO, "TDX_BUG_ON");
    expect_errno(ioctl(vm, KVM_CHECK_EXTENSION, 0), EIO, "the VM is dead");
    close(vm);
  });
  close(kvm);
});

Deno.test("INIT_MEM_REGION and FINALIZE_VM: busy is -EBUSY, and userspace's retry succeeds", () => {
  const kvm = open_kvm();
  const td = td_up_to_init_vcpu(kvm, init_vm_arg(kvm), 16n * 4096n);
  const src = anon(2n * 4096n);
  const reg = kvm_tdx_init_mem_region.alloc();
  reg.source_addr = src;
  reg.gpa = td.gpa;
  reg.nr_pages = 2n;
  const a = anon(4096n);
  user_memory(a, reg.$bytes.length).set(reg.$bytes);
  const view = kvm_tdx_init_mem_region.view(user_memory(a, reg.$bytes.length));
  with_faults("TDH.MEM.PAGE.ADD=busy@2", () => {
    expect_errno(enc_op(td.vcpu, cmd(KVM_TDX_INIT_MEM_REGION, a)), EBUSY, "second page busy");
    assertEquals(view.nr_pages, 1n, "the region advanced past the page added");
    assertEquals(enc_op(td.vcpu, cmd(KVM_TDX_INIT_MEM_REGION, a)), 0, "the retry");
  });
  with_faults("TDH.MR.FINALIZE=busy", () => {
    expect_errno(enc_op(td.vm, cmd(KVM_TDX_FINALIZE_VM, 0n)), EBUSY, "finalize busy");
    assertEquals(enc_op(td.vm, cmd(KVM_TDX_FINALIZE_VM, 0n)), 0, "the retry");
  });
  free_td(td);
  close(kvm);
});

Deno.test("teardown resumes an interrupted cache write-back; one that never ends leaks the HKID", () => {
  const kvm = open_kvm();
  const init = init_vm_arg(kvm);
  const first = () => {
    const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
    assertEquals(enc_op(vm, cmd(KVM_TDX_INIT_VM, init)), 0);
    return vm;
  };
  const a = first();
  const hkid = hkid_of(a);
  with_faults("TDH.PHYMEM.CACHE.WB=interrupted*50", () => {
    close(a);
    assertEquals(fault_inject_fired("TDH.PHYMEM.CACHE.WB"), 50, "resumed 50 times");
  });
  const b = first();
  assertEquals(hkid_of(b), hkid, "resumed to the end: the key was freed and is reused");
  with_faults("TDH.PHYMEM.CACHE.WB=interrupted*inf", () => close(b));
  const c = first();
  assertNotEquals(hkid_of(c), hkid, "the key of a failed teardown stays taken (leaked, as in KVM)");
  close(c);
  close(kvm);
});
