// SPDX-License-Identifier: GPL-2.0-only
/**
 * The part of the x86 MMU (`arch/x86/kvm/mmu/mmu.c`) a selftest can observe
 * without running the guest: `kvm_arch_vcpu_pre_fault_memory()`, which maps
 * guest memory ahead of the first access (KVM_PRE_FAULT_MEMORY).
 *
 * The simulated CPU finds a page through the VM's memory map (`vmx.ts`), so
 * mapping a shared page ahead of time has no effect the guest could see; what
 * the ioctl reports (how much was mapped, which error stops it) follows the
 * kernel, read at kvm-x86 `arch/x86/kvm/mmu/mmu.c` (commit 8cd6d672):
 * `kvm_arch_vcpu_pre_fault_memory()` → `kvm_tdp_map_page()` →
 * `kvm_mmu_faultin_pfn()` / `kvm_handle_noslot_fault()`.
 *
 * @module
 */

import { EFAULT, EINVAL, ENOENT, EOPNOTSUPP } from "../../../../../../include/linux/errno.ts";
import type { kvm, kvm_vcpu } from "../../../../include/linux/kvm_host.ts";
import { HOST_MAXPHYADDR } from "../cpuid.ts";
import { kvm_memmap, memmap_lookup, memory_fault } from "../vmx/vmx.ts";
import { is_td, tdx_pre_fault_private, to_kvm_tdx } from "../vmx/tdx.ts";

const PAGE_SIZE = 4096;

/**
 * `kvm_gfn_direct_bits()`: the bit a TD's shared GFNs carry (its GPAW - 1,
 * set by KVM_TDX_INIT_VM), 0 for other VMs and for a TD before INIT_VM.
 */
export function kvm_gfn_direct_bits(k: kvm): bigint {
  return is_td(k) ? to_kvm_tdx(k).shared_bit >> 12n : 0n;
}

/** `kvm_is_gfn_alias()`: a shared-alias GFN of a TD (userspace uses the other one). */
export function kvm_is_gfn_alias(k: kvm, gfn: bigint): boolean {
  return (gfn & kvm_gfn_direct_bits(k)) !== 0n;
}

/**
 * `kvm_mmu_max_gfn()`: the host MAXPHYADDR bounds GPAs with TDP (the
 * simulated host's is 52, `HOST_MAXPHYADDR`).
 */
export function kvm_mmu_max_gfn(): bigint {
  return (1n << BigInt(HOST_MAXPHYADDR - 12)) - 1n;
}

/** `kvm_mem_is_private()`: the PRIVATE attribute of a VM with private memory. */
function kvm_mem_is_private(vcpu: kvm_vcpu, gfn: number): boolean {
  const k = vcpu.kvm;
  return k.arch.has_private_mem && (k.mem_attrs.get(gfn) & 8n) !== 0n;
}

/**
 * `kvm_arch_vcpu_pre_fault_memory()`: maps the page at `gpa` (a page-aligned
 * GPA without the TD shared bit, `size` > 0 bytes wanted from there). Returns
 * how many bytes from `gpa` are now mapped (at most `size`), or a negative
 * errno:
 *
 * - `EOPNOTSUPP` before the VM may pre-fault (a TD until KVM_TDX_FINALIZE_VM);
 * - `EINVAL` for a TD's shared alias (`kvm_is_gfn_alias()`): userspace names
 *   GPAs as its memslots do;
 * - `ENOENT` where no memslot is (the fault would be emulated MMIO);
 * - `EFAULT`, with a KVM_EXIT_MEMORY_FAULT in `kvm_run`, where the memory
 *   cannot be faulted in: a private GPA without guest_memfd behind it, or
 *   host memory the kernel cannot map.
 *
 * The kernel maps one page (or one huge page) per call; contiguous memory of
 * one memslot range is reported at once here, which ends the caller's loop
 * with the same result.
 */
export function kvm_arch_vcpu_pre_fault_memory(
  vcpu: kvm_vcpu,
  gpa: bigint,
  size: bigint,
): bigint {
  const k = vcpu.kvm;
  if (!k.arch.pre_fault_allowed) return BigInt(-EOPNOTSUPP);
  const td = is_td(k);
  if (kvm_is_gfn_alias(k, gpa >> 12n)) return BigInt(-EINVAL);
  // GPAs past 2^52 (any MAXPHYADDR) have no memslot: emulated, ENOENT.
  if (gpa >= 1n << 52n) return BigInt(-ENOENT);
  const g = Number(gpa);
  const gfn = g / PAGE_SIZE;
  const priv = kvm_mem_is_private(vcpu, gfn);
  if (td && priv) {
    const r = tdx_pre_fault_private(vcpu, gpa);
    return r < 0 ? BigInt(r) : (size < BigInt(PAGE_SIZE) ? size : BigInt(PAGE_SIZE));
  }
  const r = memmap_lookup(kvm_memmap(k), g);
  if (!r) {
    // kvm_handle_noslot_fault(): a private access cannot be MMIO.
    if (priv) return BigInt(memory_fault(vcpu, g, true));
    return BigInt(-ENOENT);
  }
  if (!r.buffer) {
    // kvm_handle_error_pfn(): nothing to map at the slot's host address.
    memory_fault(vcpu, g, r.private);
    return BigInt(-EFAULT);
  }
  const left = BigInt(r.gpa + r.size - g);
  return size < left ? size : left;
}
