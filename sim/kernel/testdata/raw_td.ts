// SPDX-License-Identifier: GPL-2.0-only
/**
 * Raw-ioctl helpers for TD tests and benches (no TDX library): the
 * `struct kvm_tdx_cmd` call, KVM_TDX_CAPABILITIES with the selftests' E2BIG
 * retry, a `struct kvm_tdx_init_vm` from the capabilities, memslots.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { ioctl, user_memory } from "../../../include/libc/syscall.ts";
import { errno_get as errno } from "../../../include/libc/errno.ts";
import {
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_SET_USER_MEMORY_REGION2,
  kvm_userspace_memory_region2,
} from "../../../include/linux/kvm.ts";
import {
  KVM_TDX_CAPABILITIES,
  kvm_tdx_capabilities,
  kvm_tdx_cmd,
  kvm_tdx_init_vm,
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
