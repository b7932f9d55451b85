// SPDX-License-Identifier: GPL-2.0-only
/**
 * A TD's private state stays private: the TD puts values in its private
 * memory, a register and its own IA32_PAT, exits to the host holding them,
 * and the host tries every path to TD state it has (vCPU state ioctls, MSRs,
 * the vCPU's mmap'd pages, memory through the memslot's mapping, the
 * guest_memfd fd, attribute conversion, sync regs, debug). None may reveal
 * a secret, and none may change what the TD reads afterwards.
 *
 * This module is its own guest image.
 *
 * @module
 */

import "./use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import { u64 } from "../include/c/layout.ts";
import {
  __vm_create,
  addr_gva2gpa,
  addr_gva2hva,
  guest_global,
  kvm_vm_free,
  memslot2region,
  readq,
  sync_global_to_guest,
  vm_alloc,
  vm_mem_set_private,
  vm_mem_set_shared,
  vm_vcpu_add,
  writeq,
} from "../include/kvm_util.ts";
import {
  kvm_arch_vm_finalize_vcpus,
  PAGE_SIZE,
  rdmsr,
  reg_read,
  reg_write,
  VCPU_REGS_RBP,
  VM_SHAPE_TDX,
  wrmsr,
} from "../include/x86/processor.ts";
import {
  PORT_WRITE,
  tdx_run,
  tdx_test_assert_io,
  tdx_test_read_64bit,
  TDX_TEST_REPORT_PORT,
  tdx_test_report_to_user_space,
  tdx_test_send_64bit,
} from "../include/x86/tdx/test_util.ts";
import { errno_get } from "../include/libc/errno.ts";
import { fstat, ioctl, mmap, pread, read, user_memory } from "../include/libc/syscall.ts";
import { MAP_FAILED, MAP_SHARED, PROT_READ } from "../include/linux/mman.ts";
import {
  KVM_GET_DEBUGREGS,
  KVM_GET_FPU,
  KVM_GET_LAPIC,
  KVM_GET_MP_STATE,
  KVM_GET_MSR_INDEX_LIST,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_SREGS2,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_MP_STATE_INIT_RECEIVED,
  KVM_MP_STATE_SIPI_RECEIVED,
  KVM_RUN,
  KVM_SET_DEBUGREGS,
  KVM_SET_FPU,
  KVM_SET_GUEST_DEBUG,
  KVM_SET_LAPIC,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_SREGS,
  KVM_SET_SREGS2,
  KVM_SET_TSC_KHZ,
  KVM_SET_VCPU_EVENTS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
  KVM_SYNC_X86_REGS,
} from "../include/linux/kvm.ts";
import { open_kvm } from "./kernel/testdata/util.ts";
import { current } from "./kernel/include/linux/sched.ts";
import { file_to_kvm } from "./kernel/virt/kvm/kvm_main.ts";
import { to_kvm_tdx } from "./kernel/arch/x86/kvm/vmx/tdx.ts";
import { SEPT_FREE, SEPT_MAPPED } from "./tdx_module/sept.ts";

/** What the TD writes privately; none of these may reach the host. */
const SECRET_MEM = 0x5ec2e7_0000_a11cen;
const SECRET_REG = 0x5ec2e7_0000_b0b0n;
/** A valid PAT (types 6, 4, 7, 5, 1, 0 ...) no reset or KVM value equals. */
const SECRET_PAT = 0x0001050704060105n;
/** What the host writes where it can; the TD must not see it. */
const HOST_PAT = 0x0606060606060606n;

const IA32_CR_PAT = 0x277;
const REPORT_PORT = 0x99;

/** GVA of the TD's private page. */
const secret_page = guest_global("td_isolation_secret_page", u64);

/** Guest: holds its secrets across an exit, then reports what it sees. */
export function guest_td_secrets(): void {
  writeq(SECRET_MEM, secret_page.value);
  wrmsr(IA32_CR_PAT, SECRET_PAT);
  reg_write(VCPU_REGS_RBP, SECRET_REG);
  // The host runs its attacks during this exit.
  tdx_test_report_to_user_space(1);
  tdx_test_send_64bit(REPORT_PORT, rdmsr(IA32_CR_PAT));
  tdx_test_send_64bit(REPORT_PORT, reg_read(VCPU_REGS_RBP));
  tdx_test_send_64bit(REPORT_PORT, readq(secret_page.value));
  tdx_test_report_to_user_space(2);
}

/** Whether `bytes` hold any secret (8-byte little-endian, or its low 4 bytes at a 4-byte boundary). */
function reveals(bytes: Uint8Array): boolean {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    const lo = dv.getUint32(i, true);
    for (const s of [SECRET_MEM, SECRET_REG, SECRET_PAT]) {
      if (lo === Number(s & 0xffffffffn)) {
        if (i + 8 > bytes.length || dv.getUint32(i + 4, true) === Number(s >> 32n)) return true;
      }
    }
  }
  return false;
}

Deno.test("no host path reveals or changes what a TD wrote privately", () => {
  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu = vm_vcpu_add(vm, 0, guest_td_secrets);
  const page = vm_alloc(vm, vm.page_size, 0x80000000n);
  secret_page.value = page;
  sync_global_to_guest(vm, secret_page);
  kvm_arch_vm_finalize_vcpus(vm);

  tdx_run(vcpu);
  tdx_test_assert_io(vcpu, TDX_TEST_REPORT_PORT, 4, PORT_WRITE);

  let paths = 0;
  const leaks: string[] = [];
  const buf = new Uint8Array(16384);
  const check = (what: string, bytes: Uint8Array) => {
    paths++;
    if (reveals(bytes)) leaks.push(what);
  };
  const refused = (what: string, fd: number, req: number) => {
    buf.fill(0);
    const r = ioctl(fd, req, buf);
    paths++;
    if (r !== -1) leaks.push(`${what} succeeded (${r})`);
    else if (reveals(buf)) leaks.push(`${what} wrote a secret before failing`);
  };

  // vCPU state the TDX module owns: every get and set is refused.
  const gets: [string, number][] = [
    ["KVM_GET_REGS", KVM_GET_REGS],
    ["KVM_GET_SREGS", KVM_GET_SREGS],
    ["KVM_GET_SREGS2", KVM_GET_SREGS2],
    ["KVM_GET_FPU", KVM_GET_FPU],
    ["KVM_GET_XSAVE", KVM_GET_XSAVE],
    ["KVM_GET_XSAVE2", KVM_GET_XSAVE2],
    ["KVM_GET_XCRS", KVM_GET_XCRS],
    ["KVM_GET_VCPU_EVENTS", KVM_GET_VCPU_EVENTS],
    ["KVM_GET_DEBUGREGS", KVM_GET_DEBUGREGS],
    ["KVM_GET_LAPIC", KVM_GET_LAPIC],
  ];
  const sets: [string, number][] = [
    ["KVM_SET_REGS", KVM_SET_REGS],
    ["KVM_SET_SREGS", KVM_SET_SREGS],
    ["KVM_SET_SREGS2", KVM_SET_SREGS2],
    ["KVM_SET_FPU", KVM_SET_FPU],
    ["KVM_SET_XSAVE", KVM_SET_XSAVE],
    ["KVM_SET_XCRS", KVM_SET_XCRS],
    ["KVM_SET_VCPU_EVENTS", KVM_SET_VCPU_EVENTS],
    ["KVM_SET_DEBUGREGS", KVM_SET_DEBUGREGS],
    ["KVM_SET_LAPIC", KVM_SET_LAPIC],
    ["KVM_SET_GUEST_DEBUG", KVM_SET_GUEST_DEBUG],
  ];
  for (const [n, r] of [...gets, ...sets]) refused(n, vcpu.fd, r);
  paths++;
  if (ioctl(vcpu.fd, KVM_SET_TSC_KHZ, 1_000_000) !== -1) {
    leaks.push("vCPU KVM_SET_TSC_KHZ succeeded");
  }
  for (const st of [KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_SIPI_RECEIVED]) {
    paths++;
    if (ioctl(vcpu.fd, KVM_SET_MP_STATE, new Uint32Array([st])) !== -1) {
      leaks.push(`KVM_SET_MP_STATE(${st}) succeeded`);
    }
  }
  const mp = new Uint8Array(4);
  assertEquals(ioctl(vcpu.fd, KVM_GET_MP_STATE, mp), 0);
  check("KVM_GET_MP_STATE", mp);

  // MSRs: every index the host can name, one at a time (KVM stops at the first failure).
  const kvm = open_kvm();
  const list = new Uint32Array(1 + 1024);
  list[0] = 1024;
  assertEquals(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, list), 0);
  const indices = new Set<number>([...list.subarray(1, 1 + list[0]!), IA32_CR_PAT]);
  for (let i = 0x200; i < 0x280; i++) indices.add(i);
  for (let i = 0x400; i < 0x480; i++) indices.add(i);
  for (let i = 0x800; i < 0x840; i++) indices.add(i);
  const one = new BigUint64Array(3);
  const one_u32 = new Uint32Array(one.buffer);
  for (const index of indices) {
    one.fill(0n);
    one_u32[0] = 1;
    one_u32[2] = index;
    const r = ioctl(vcpu.fd, KVM_GET_MSRS, one);
    check(`KVM_GET_MSRS(0x${index.toString(16)}) = ${r}`, new Uint8Array(one.buffer));
  }
  // KVM's IA32_PAT is its own: writable, and never the TD's.
  one_u32[0] = 1;
  one_u32[2] = IA32_CR_PAT;
  one[2] = HOST_PAT;
  paths++;
  assertEquals(ioctl(vcpu.fd, KVM_SET_MSRS, one), 1);
  one[2] = 0n;
  assertEquals(ioctl(vcpu.fd, KVM_GET_MSRS, one), 1);
  assertEquals(one[2], HOST_PAT, "KVM's emulated PAT keeps what the host wrote");

  // The vCPU's mmap'd pages: kvm_run, the PIO page, the coalesced MMIO ring.
  check("kvm_run and the vCPU's mmap'd pages", user_memory(vcpu.run_hva, 3 * 4096));
  // KVM_RUN with sync regs asked for is refused (a TD's registers cannot be synced out).
  vcpu.run.kvm_valid_regs = BigInt(KVM_SYNC_X86_REGS);
  paths++;
  if (ioctl(vcpu.fd, KVM_RUN, 0) !== -1) leaks.push("KVM_RUN with kvm_valid_regs ran");
  check("kvm_run after a sync-regs KVM_RUN", user_memory(vcpu.run_hva, 4096));
  vcpu.run.kvm_valid_regs = 0n;

  // Memory through the memslot's userspace mapping and through the guest_memfd fd.
  const hva = addr_gva2hva(vm, page);
  check("the private page's userspace_addr mapping", user_memory(hva, PAGE_SIZE));
  const region = memslot2region(vm, 0).region;
  for (const [slot, r] of vm.regions) {
    check(
      `memslot ${slot} mapping`,
      user_memory(r.region.userspace_addr, Number(r.region.memory_size)),
    );
  }
  const gmem = region.guest_memfd;
  assert(gmem >= 0);
  paths++;
  if (mmap(0n, PAGE_SIZE, PROT_READ, MAP_SHARED, gmem, 0) !== MAP_FAILED) {
    leaks.push("guest_memfd mmap");
  }
  paths++;
  if (read(gmem, buf, 4096) !== -1) leaks.push("guest_memfd read");
  paths++;
  if (pread(gmem, buf, 4096, 0) !== -1) leaks.push("guest_memfd pread");
  buf.fill(0);
  assertEquals(fstat(gmem, buf), 0);
  check("guest_memfd fstat", buf);
  paths++;
  if (mmap(0n, PAGE_SIZE, PROT_READ, MAP_SHARED, vm.fd, 0) !== MAP_FAILED) leaks.push("VM fd mmap");

  // The TD goes on: it must see its own values, not the host's writes.
  tdx_run(vcpu);
  const td_pat = tdx_test_read_64bit(vcpu, REPORT_PORT);
  tdx_run(vcpu);
  const td_rbp = tdx_test_read_64bit(vcpu, REPORT_PORT);
  tdx_run(vcpu);
  const td_mem = tdx_test_read_64bit(vcpu, REPORT_PORT);
  paths += 3;
  if (td_pat !== SECRET_PAT) leaks.push(`the TD's PAT changed to 0x${td_pat.toString(16)}`);
  if (td_rbp !== SECRET_REG) leaks.push(`the TD's RBP changed to 0x${td_rbp.toString(16)}`);
  if (td_mem !== SECRET_MEM) leaks.push(`the TD's memory changed to 0x${td_mem.toString(16)}`);
  tdx_run(vcpu);
  tdx_test_assert_io(vcpu, TDX_TEST_REPORT_PORT, 4, PORT_WRITE);

  // Converting the page to shared destroys its private contents before the ioctl returns.
  const gpa = addr_gva2gpa(vm, page);
  const td = to_kvm_tdx(file_to_kvm(current.files.lookup(vm.fd)!)!).td;
  const gfn = Number(gpa >> 12n);
  assertEquals(td.sept.state(gfn), SEPT_MAPPED);
  vm_mem_set_shared(vm, gpa, BigInt(PAGE_SIZE));
  // KVM zaps the S-EPT inside KVM_SET_MEMORY_ATTRIBUTES, not at the next entry:
  // converting back to private before any entry must not bring the old page back.
  assertEquals(td.sept.state(gfn), SEPT_FREE, "removed from the S-EPT when the ioctl returned");
  vm_mem_set_private(vm, gpa, BigInt(PAGE_SIZE));
  assertEquals(td.sept.state(gfn), SEPT_FREE, "still gone after converting back");
  vm_mem_set_shared(vm, gpa, BigInt(PAGE_SIZE));
  check("the page after private->shared conversion", user_memory(hva, PAGE_SIZE));
  check("kvm_run at the end", user_memory(vcpu.run_hva, 3 * 4096));

  kvm_vm_free(vm);
  assertEquals(leaks, [], `${leaks.length} of ${paths} host paths reached TD state`);
  assert(paths > 300, `only ${paths} paths tried`);
  assert(errno_get() >= 0);
});
