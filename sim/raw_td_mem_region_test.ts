// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_TDX_INIT_MEM_REGION over sources the kernel pins page by page: a
 * source range that stops being mapped fails at the first missing page
 * (EFAULT) with the region written back past the pages already added, and a
 * source that spans two mappings is read from both (its MRTD is that of the
 * same bytes from one mapping).
 *
 * @module
 */

import "./use_sim_backend.ts";
import { assertEquals, assertNotEquals } from "@std/assert";
import { close, ioctl, mmap, munmap, user_memory } from "../include/libc/syscall.ts";
import { KVM_CREATE_VM } from "../include/linux/kvm.ts";
import {
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_X86_TDX_VM,
} from "../include/asm/kvm.ts";
import { EEXIST, EFAULT } from "../include/linux/errno.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "../include/linux/mman.ts";
import { current } from "./kernel/include/linux/sched.ts";
import { file_to_kvm } from "./kernel/virt/kvm/kvm_main.ts";
import { to_kvm_tdx } from "./kernel/arch/x86/kvm/vmx/tdx.ts";
import { anon, assert_errno, open_kvm } from "./kernel/testdata/util.ts";
import {
  capabilities,
  cmd,
  enc_op,
  free_td,
  init_vm_struct,
  td_up_to_init_vcpu,
} from "./kernel/testdata/raw_td.ts";

const PAGE = 4096n;

function setup() {
  const kvm = open_kvm();
  const probe = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const { ents } = capabilities(probe);
  close(probe);
  const td = td_up_to_init_vcpu(kvm, init_vm_struct(ents), 16n * PAGE);
  return { kvm, td };
}

function region(src: bigint, gpa: bigint, pages: bigint) {
  const reg = kvm_tdx_init_mem_region.alloc();
  reg.source_addr = src;
  reg.gpa = gpa;
  reg.nr_pages = pages;
  const a = anon(PAGE);
  user_memory(a, reg.$bytes.length).set(reg.$bytes);
  return { addr: a, view: kvm_tdx_init_mem_region.view(user_memory(a, reg.$bytes.length)) };
}

Deno.test("INIT_MEM_REGION stops at an unmapped source page and writes its progress back", () => {
  const { kvm, td } = setup();
  const src = anon(3n * PAGE);
  // Everything the call needs is mapped before the hole is made: the
  // address space reuses a freed range for the next mapping, as Linux does.
  const r = region(src, td.gpa, 3n);
  const c = cmd(KVM_TDX_INIT_MEM_REGION, r.addr, 1);
  munmap(src + 2n * PAGE, 4096);
  assert_errno(enc_op(td.vcpu, c), EFAULT, "hole");
  assertEquals(
    [r.view.source_addr, r.view.gpa, r.view.nr_pages],
    [src + 2n * PAGE, td.gpa + 2n * PAGE, 1n],
  );
  // The two pages before the hole were added: adding them again is EEXIST.
  const again = region(src, td.gpa + PAGE, 1n);
  assert_errno(enc_op(td.vcpu, cmd(KVM_TDX_INIT_MEM_REGION, again.addr)), EEXIST, "repeat");
  assertEquals(again.view.nr_pages, 1n);
  free_td(td);
  close(kvm);
});

/** The finalized MRTD of the TD behind `vm` (the module's state, not a host API). */
function mrtd_of(vm: number): string {
  const k = file_to_kvm(current.files.lookup(vm)!)!;
  return Array.from(to_kvm_tdx(k).td.measurement.mrtd, (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

/** MRTD of a TD measured from `pages` of `src`. */
function measured_mrtd(src: bigint, pages: bigint): string {
  const { kvm, td } = setup();
  const r = region(src, td.gpa, pages);
  assertEquals(enc_op(td.vcpu, cmd(KVM_TDX_INIT_MEM_REGION, r.addr, 1)), 0);
  assertEquals(r.view.nr_pages, 0n);
  assertEquals(enc_op(td.vm, cmd(KVM_TDX_FINALIZE_VM, 0n)), 0);
  const m = mrtd_of(td.vm);
  free_td(td);
  close(kvm);
  return m;
}

Deno.test("INIT_MEM_REGION reads a source that spans two mappings", () => {
  const contiguous = anon(2n * PAGE);
  user_memory(contiguous, 4096).fill(0x11);
  const want = measured_mrtd(contiguous, 2n);
  user_memory(contiguous + PAGE, 4096).fill(0x22);
  const want_split = measured_mrtd(contiguous, 2n);
  assertNotEquals(want, want_split);

  const src = anon(2n * PAGE);
  user_memory(src, 4096).fill(0x11);
  // Replace the second page by a different mapping at the same address.
  const second = mmap(
    src + PAGE,
    4096,
    PROT_READ | PROT_WRITE,
    MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
    -1,
    0,
  );
  assertEquals(second, src + PAGE);
  user_memory(second, 4096).fill(0x22);
  assertEquals(measured_mrtd(src, 2n), want_split);
});
