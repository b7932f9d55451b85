// SPDX-License-Identifier: GPL-2.0-only
/**
 * Raw-ioctl helpers for TD tests and benches (no TDX library): the
 * `struct kvm_tdx_cmd` call, KVM_TDX_CAPABILITIES with the selftests' E2BIG
 * retry, a `struct kvm_tdx_init_vm` from the capabilities, memslots, and a
 * TD built up to KVM_TDX_INIT_VCPU.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { close, ioctl, munmap, user_memory } from "../../../include/libc/syscall.ts";
import { errno_get as errno } from "../../../include/libc/errno.ts";
import {
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_SET_CPUID2,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION2,
  kvm_userspace_memory_region2,
} from "../../../include/linux/kvm.ts";
import {
  kvm_cpuid2,
  KVM_TDX_CAPABILITIES,
  kvm_tdx_capabilities,
  kvm_tdx_cmd,
  KVM_TDX_GET_CPUID,
  KVM_TDX_INIT_VCPU,
  KVM_TDX_INIT_VM,
  kvm_tdx_init_vm,
  KVM_X86_TDX_VM,
} from "../../../include/asm/kvm.ts";
import { E2BIG } from "../../../include/linux/errno.ts";
import { native_cpuid } from "../../tdx_module/sysinfo.ts";
import { anon } from "./util.ts";

/** A `struct kvm_tdx_cmd`; a byte array `data` is copied to user memory first. */
export function cmd(id: number, data: bigint | Uint8Array, flags = 0, hw_error = 0n) {
  const c = kvm_tdx_cmd.alloc();
  c.id = id;
  c.flags = flags;
  c.data = typeof data === "bigint" ? data : ptr_of(data);
  c.hw_error = hw_error;
  return c;
}

/** Copies `b` into fresh user memory; its address. */
export function ptr_of(b: Uint8Array): bigint {
  const a = anon(Math.max(4096, Math.ceil(b.length / 4096) * 4096));
  user_memory(a, b.length).set(b);
  return a;
}

/** KVM_MEMORY_ENCRYPT_OP. */
export function enc_op(fd: number, c: ReturnType<typeof cmd>): number {
  return ioctl(fd, KVM_MEMORY_ENCRYPT_OP, c);
}

/** KVM_ENABLE_CAP with one argument. */
export function enable_cap(vm: number, cap: number, arg0: bigint): number {
  const c = kvm_enable_cap.alloc();
  c.cap = cap;
  c.args.set(0, arg0);
  return ioctl(vm, KVM_ENABLE_CAP, c);
}

/** KVM_TDX_CAPABILITIES, retried with a growing nent as the selftests do. */
export function capabilities(vm: number) {
  for (let nent = 1;; nent *= 2) {
    const size = kvm_tdx_capabilities.size + nent * 40;
    const a = anon(size);
    const v = kvm_tdx_capabilities.view(user_memory(a, size));
    v.cpuid.nent = nent;
    const r = enc_op(vm, cmd(KVM_TDX_CAPABILITIES, a));
    if (r < 0) {
      assertEquals(errno(), E2BIG);
      assertEquals(v.cpuid.nent, nent, "nent is not updated on E2BIG");
      continue;
    }
    const ents = [];
    const dv = new DataView(user_memory(a, size).slice().buffer);
    for (let i = 0; i < v.cpuid.nent; i++) {
      const o = kvm_tdx_capabilities.size + i * 40;
      ents.push([0, 4, 12, 16, 20, 24].map((x) => dv.getUint32(o + x, true)));
    }
    return { caps: v, ents, tries: nent };
  }
}

/** `cpuid_function_is_indexed()` (cpuid.h), plus 0x23 (architectural perfmon). */
const INDEXED_LEAVES = new Set([
  4,
  7,
  0xb,
  0xd,
  0xf,
  0x10,
  0x12,
  0x14,
  0x17,
  0x18,
  0x1d,
  0x1e,
  0x1f,
  0x23,
  0x24,
  0x8000001d,
]);

/** `struct kvm_tdx_init_vm` with the configurable leaves set to native & mask. */
export function init_vm_struct(
  ents: number[][],
  over: (v: ReturnType<typeof kvm_tdx_init_vm.view>) => void = () => {},
) {
  const size = kvm_tdx_init_vm.size + ents.length * 40;
  const a = anon(size);
  const mem = user_memory(a, size);
  const v = kvm_tdx_init_vm.view(mem);
  v.attributes = 1n << 28n;
  v.xfam = 0x3n;
  v.cpuid.nent = ents.length;
  const dv = new DataView(mem.buffer, mem.byteOffset, size);
  ents.forEach(([fn, idx, ...mask], i) => {
    const n = native_cpuid(fn!, idx!);
    const o = kvm_tdx_init_vm.size + i * 40;
    dv.setUint32(o, fn!, true);
    dv.setUint32(o + 4, idx!, true);
    // KVM_CPUID_FLAG_SIGNIFCANT_INDEX where the leaf has subleaves, as
    // KVM_GET_SUPPORTED_CPUID reports it: setup_tdparams_cpuids() matches an
    // entry without it to every subleaf of its function.
    if (INDEXED_LEAVES.has(fn!)) dv.setUint32(o + 8, 1, true);
    for (let r = 0; r < 4; r++) dv.setUint32(o + 12 + 4 * r, (n[r]! & mask[r]!) >>> 0, true);
    if (fn === 0x80000008) {
      dv.setUint32(o + 12, ((n[0]! & mask[0]! & ~0xff0000) | (48 << 16)) >>> 0, true);
    }
  });
  over(v);
  return a;
}

/** KVM_SET_USER_MEMORY_REGION2 of slot 0 with a guest_memfd at offset 0. */
export function region2(
  vm: number,
  flags: number,
  gpa: bigint,
  size: bigint,
  hva: bigint,
  gmem: number,
) {
  const r = kvm_userspace_memory_region2.alloc();
  r.slot = 0;
  r.flags = flags;
  r.guest_phys_addr = gpa;
  r.memory_size = size;
  r.userspace_addr = hva;
  r.guest_memfd = gmem;
  r.guest_memfd_offset = 0n;
  return ioctl(vm, KVM_SET_USER_MEMORY_REGION2, r);
}

/** A TD built up to KVM_TDX_INIT_VCPU by {@linkcode td_up_to_init_vcpu}. */
export interface raw_td {
  vm: number;
  vcpu: number;
  gmem: number;
  /** First GPA of the private slot (it ends at 4 GiB). */
  gpa: bigint;
  hva: bigint;
  slot_size: bigint;
}

/**
 * A TD up to INIT_VCPU (INIT_VM from `init`, split irqchip, one vCPU with the
 * TD's CPUID) with a private guest_memfd slot of `slot_size` bytes ending at
 * 4 GiB, all of it set private.
 */
export function td_up_to_init_vcpu(kvm: number, init: bigint, slot_size: bigint): raw_td {
  const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const c = cmd(KVM_TDX_INIT_VM, init);
  if (enc_op(vm, c)) {
    throw new Error(`INIT_VM: errno ${errno()} hw_error ${c.hw_error.toString(16)}`);
  }
  enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24n);
  const vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  const cpuid = anon(8 + 256 * 40);
  kvm_cpuid2.view(user_memory(cpuid, kvm_cpuid2.size)).nent = 256;
  enc_op(vcpu, cmd(KVM_TDX_GET_CPUID, cpuid));
  ioctl(vcpu, KVM_SET_CPUID2, cpuid);
  if (enc_op(vcpu, cmd(KVM_TDX_INIT_VCPU, 0n))) throw new Error("INIT_VCPU");
  const g = kvm_create_guest_memfd.alloc();
  g.size = slot_size;
  const gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
  const gpa = (1n << 32n) - slot_size;
  const hva = anon(slot_size);
  if (region2(vm, KVM_MEM_GUEST_MEMFD, gpa, slot_size, hva, gmem)) throw new Error("memslot");
  const at = kvm_memory_attributes.alloc();
  at.address = gpa;
  at.size = slot_size;
  at.attributes = BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE);
  if (ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at)) throw new Error("attributes");
  return { vm, vcpu, gmem, gpa, hva, slot_size };
}

/** Closes a {@linkcode raw_td}'s files and unmaps its slot's memory. */
export function free_td(td: raw_td): void {
  for (const fd of [td.gmem, td.vcpu, td.vm]) close(fd);
  munmap(td.hva, Number(td.slot_size));
}
