// SPDX-License-Identifier: GPL-2.0-only
/**
 * `MMIO_WRITE()` / `MMIO_READ()` and x86's `kvm_arch_mmio_write()` /
 * `kvm_arch_mmio_read()`, as Sean's review of the TDX series (v12, patch 20)
 * asked for: a guest that wants emulated MMIO does MMIO, and the library
 * picks the mechanism the VM type needs, so one guest function works on
 * every VM type:
 *
 * - TDX: TDG.VP.VMCALL<#VE.RequestMMIO>. A TD's plain access to emulated
 *   MMIO raises #VE, and selftests take no #VE to request MMIO in a handler.
 * - SEV-ES and SNP: the GHCB MMIO exit (`sev_mmio_write()`), which needs a
 *   GHCB page; the SDK has only the GHCB MSR protocol, so the guest fails
 *   with a message naming what is missing.
 * - Everything else: a plain access (`WRITE_ONCE` / `READ_ONCE`), which exits
 *   with `KVM_EXIT_MMIO` where no memslot backs the GPA.
 *
 * `addr` is the MMIO GPA. An ordinary guest reaches it through its page
 * tables, so the test maps it 1:1 as upstream tests do
 * (`virt_map(vm, gpa, gpa, 1)`); a TD names it directly, and the library
 * sets the S-bit because KVM emulates MMIO only at shared GPAs. The size is
 * the value's C type (`u8`..`u64`, `s8`..`s64`), as C takes `sizeof(val)`.
 *
 * Which VM type the guest is in is tracked in guest globals that
 * `kvm_arch_vm_post_create()` syncs ({@linkcode kvm_arch_mmio_init}).
 *
 * @module
 */

import { type Scalar, u8 } from "../../include/c/layout.ts";
import { type kvm_vm, type Ref, ref } from "../../include/kvm_util_types.ts";
import { sync_global_to_guest } from "../kvm_util.ts";
import { guest_global } from "../guest_globals.ts";
import { guest_cpu } from "../guest_insn.ts";
import { __GUEST_ASSERT, GUEST_FAIL } from "../ucall_common.ts";
import { tdg_vp_vmcall_ve_request_mmio_read, tdx_mmio_write } from "./tdx/tdx.ts";
import { is_tdx_vm, tdx_s_bit } from "./tdx/tdx_util.ts";
import { is_sev_es_vm } from "./sev.ts";

/** Sean's `guest_needs_tdvmcall`: the guest is a TD. */
export const guest_needs_tdvmcall: guest_global<number> = guest_global("guest_needs_tdvmcall", u8);
/** Sean's `guest_needs_vmgexit`: the guest is an SEV-ES or SNP guest. */
export const guest_needs_vmgexit: guest_global<number> = guest_global("guest_needs_vmgexit", u8);

/**
 * Host: record `vm`'s type in the guest globals the MMIO accessors read.
 * `kvm_arch_vm_post_create()` calls it for every VM.
 *
 * @param vm the VM
 */
export function kvm_arch_mmio_init(vm: kvm_vm): void {
  guest_needs_tdvmcall.value = is_tdx_vm(vm) ? 1 : 0;
  sync_global_to_guest(vm, guest_needs_tdvmcall);
  guest_needs_vmgexit.value = is_sev_es_vm(vm) ? 1 : 0;
  sync_global_to_guest(vm, guest_needs_vmgexit);
}

/** The SEV-ES+ branch: report what the SDK lacks instead of accessing memory. */
function sev_mmio_unsupported(what: string): void {
  GUEST_FAIL(
    "%s on an SEV-ES/SNP guest needs sev_mmio_%s() (the GHCB MMIO exit: a shared GHCB page " +
      "with SW_EXITCODE SVM_VMGEXIT_MMIO_%s, then VMGEXIT), which the SDK does not implement",
    what,
    what === "MMIO_WRITE" ? "write" : "read",
    what === "MMIO_WRITE" ? "WRITE" : "READ",
  );
}

/** `val` as the bytes of its C type, zero-extended to 64 bits. */
function to_bits(val: number | bigint, type: Scalar): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  (type as Scalar<number | bigint>).set(dv, 0, val);
  return dv.getBigUint64(0, true);
}

/** The low `type.size` bytes of `bits`, read as `type` (signed types sign-extend). */
function from_bits<T extends number | bigint>(bits: bigint, type: Scalar<T>): T {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setBigUint64(0, BigInt.asUintN(64, bits), true);
  return type.get(dv, 0);
}

/**
 * C `kvm_arch_mmio_write(addr, val)` (guest): write `val` to the MMIO GPA
 * `addr` the way the VM type needs.
 *
 * @param addr the MMIO GPA (identity-mapped in an ordinary guest)
 * @param val the value
 * @param type the C type of `val`, whose size is the access size
 */
export function kvm_arch_mmio_write(addr: bigint, val: number | bigint, type: Scalar): void {
  const bits = to_bits(val, type);
  if (guest_needs_tdvmcall.value) {
    const ret = tdx_mmio_write(addr | tdx_s_bit.value, type.size, bits);
    __GUEST_ASSERT(!ret, "TDVMCALL #VE.RequestMMIO write of %#lx failed: %#lx", addr, ret);
  } else if (guest_needs_vmgexit.value) {
    sev_mmio_unsupported("MMIO_WRITE");
  } else {
    const cpu = guest_cpu();
    switch (type.size) {
      case 1:
        return cpu.writeb(Number(bits), addr);
      case 2:
        return cpu.writew(Number(bits), addr);
      case 4:
        return cpu.writel(Number(bits), addr);
      default:
        return cpu.writeq(bits, addr);
    }
  }
}

/**
 * C `kvm_arch_mmio_read(addr, val)` (guest): read the MMIO GPA `addr` into
 * `val` the way the VM type needs.
 *
 * @param addr the MMIO GPA (identity-mapped in an ordinary guest)
 * @param val receives the value
 * @param type the C type of `val`, whose size is the access size
 */
export function kvm_arch_mmio_read<T extends number | bigint>(
  addr: bigint,
  val: Ref<T>,
  type: Scalar<T>,
): void {
  if (guest_needs_tdvmcall.value) {
    const data = ref(0n);
    const ret = tdg_vp_vmcall_ve_request_mmio_read(addr | tdx_s_bit.value, type.size, data);
    __GUEST_ASSERT(!ret, "TDVMCALL #VE.RequestMMIO read of %#lx failed: %#lx", addr, ret);
    val.value = from_bits(data.value, type);
  } else if (guest_needs_vmgexit.value) {
    sev_mmio_unsupported("MMIO_READ");
  } else {
    const cpu = guest_cpu();
    const bits = type.size === 1
      ? BigInt(cpu.readb(addr))
      : type.size === 2
      ? BigInt(cpu.readw(addr))
      : type.size === 4
      ? BigInt(cpu.readl(addr))
      : cpu.readq(addr);
    val.value = from_bits(bits, type);
  }
}

/**
 * C `MMIO_WRITE(addr, val)` (guest): an emulated MMIO write that works on
 * every VM type.
 *
 * @param addr the MMIO GPA (identity-mapped in an ordinary guest)
 * @param val the value
 * @param type the C type of `val` (C: the type of the expression)
 */
export function MMIO_WRITE(addr: bigint, val: number | bigint, type: Scalar): void {
  kvm_arch_mmio_write(addr, val, type);
}

/**
 * C `MMIO_READ(addr, val)` (guest): an emulated MMIO read that works on every
 * VM type.
 *
 * @param addr the MMIO GPA (identity-mapped in an ordinary guest)
 * @param val receives the value (C: the lvalue the macro assigns)
 * @param type the C type of `val`
 */
export function MMIO_READ<T extends number | bigint>(
  addr: bigint,
  val: Ref<T>,
  type: Scalar<T>,
): void {
  kvm_arch_mmio_read(addr, val, type);
}
