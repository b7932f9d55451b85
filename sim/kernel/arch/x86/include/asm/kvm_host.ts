// SPDX-License-Identifier: GPL-2.0-only
/**
 * The x86 parts of the KVM objects (`arch/x86/include/asm/kvm_host.h`):
 * `struct kvm_arch` (VM type traits, irqchip mode, MSR filter, user-space MSR
 * exits, hypercall exits, TSC frequency) and `struct kvm_vcpu_arch` (the
 * register state KVM holds while the vCPU is not in guest mode, the CPUID
 * table, emulated MSRs, and the userspace-completion callback).
 *
 * Register state is kept in byte images laid out as the uAPI structs
 * (`kvm_regs`, `kvm_sregs`, `kvm_fpu`, ...), so KVM_GET_* is one copy to user
 * memory and the vCPU thread reads the same images.
 *
 * @module
 */

import type { cpuid_entry } from "../../kvm/cpuid.ts";
import type { View } from "../../../../../../include/c/layout.ts";
import {
  type kvm_debugregs,
  type kvm_fpu,
  kvm_regs,
  type kvm_sregs,
  type kvm_vcpu_events,
} from "../../../../../../include/linux/kvm.ts";

/** `enum kvm_irqchip_mode`: no in-kernel irqchip. */
export const KVM_IRQCHIP_NONE = 0;
/** `enum kvm_irqchip_mode`: PIC, IOAPIC and LAPIC in the kernel (KVM_CREATE_IRQCHIP). */
export const KVM_IRQCHIP_KERNEL = 1;
/** `enum kvm_irqchip_mode`: only the LAPIC in the kernel (KVM_CAP_SPLIT_IRQCHIP). */
export const KVM_IRQCHIP_SPLIT = 2;

/** One range of an MSR filter, with its bitmap copied in (`struct msr_bitmap_range`). */
export interface msr_bitmap_range {
  /** `KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE`. */
  flags: number;
  /** First MSR. */
  base: number;
  /** MSRs covered. */
  nmsrs: number;
  /** One bit per MSR; set = allowed. */
  bitmap: Uint8Array;
}

/** `struct kvm_x86_msr_filter`. */
export interface kvm_x86_msr_filter {
  /** Whether MSRs outside every range are allowed. */
  default_allow: boolean;
  /** The ranges, in the order userspace gave them. */
  ranges: msr_bitmap_range[];
}

/** `struct kvm_arch`. */
export interface kvm_arch {
  /** `KVM_X86_*_VM`. */
  vm_type: number;
  /** Whether guest memory can be private (guest_memfd + memory attributes). */
  has_private_mem: boolean;
  /** Whether vCPU state is hidden from KVM (TDX, SEV-ES, SNP). */
  has_protected_state: boolean;
  /** `irqchip_mode`. */
  irqchip_mode: number;
  /** IOAPIC pins reserved by KVM_CAP_SPLIT_IRQCHIP. */
  nr_reserved_ioapic_pins: number;
  /** KVM_X2APIC_API_USE_32BIT_IDS. */
  x2apic_format: boolean;
  /** KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK. */
  x2apic_broadcast_quirk_disabled: boolean;
  /** KVM_CAP_EXIT_HYPERCALL: hypercalls (bit = nr) that exit to userspace. */
  hypercall_exit_enabled: bigint;
  /** KVM_CAP_X86_USER_SPACE_MSR: `KVM_MSR_EXIT_REASON_*` that exit to userspace. */
  user_space_msr_mask: number;
  /** KVM_X86_SET_MSR_FILTER, or null (everything allowed). */
  msr_filter: kvm_x86_msr_filter | null;
  /** TSC frequency new vCPUs get (KVM_SET_TSC_KHZ on the VM). */
  default_tsc_khz: number;
  /** KVM_CAP_X86_DISABLE_EXITS. */
  disabled_exits: number;
  /** KVM_CAP_MAX_VCPU_ID (0: the default limit). */
  max_vcpu_ids: number;
  /** The BSP's vCPU id (KVM_SET_BOOT_CPU_ID). */
  bsp_vcpu_id: number;
  /** Quirks disabled by KVM_CAP_DISABLE_QUIRKS(2). */
  disabled_quirks: number;
  /** `KVM_SET_NR_MMU_PAGES`' value (`n_requested_mmu_pages`); 0 until set. */
  n_requested_mmu_pages: number;
}

/** Pending work for the next KVM_RUN after an exit to userspace (`complete_userspace_io`). */
export type complete_userspace_io = (() => number) | null;

/** `struct kvm_vcpu_arch`: the state KVM keeps for a vCPU outside guest mode. */
export interface kvm_vcpu_arch {
  /** RAX..R15, RIP, RFLAGS in `struct kvm_regs` order. */
  readonly regs: BigUint64Array;
  /** `struct kvm_sregs` image (interrupt_bitmap unused: no pending external interrupt). */
  readonly sregs: View<typeof kvm_sregs.fields>;
  /** `struct kvm_fpu` image. */
  readonly fpu: View<typeof kvm_fpu.fields>;
  /** `struct kvm_debugregs` image. */
  readonly debugregs: View<typeof kvm_debugregs.fields>;
  /** `struct kvm_vcpu_events` image (pending and injected events). */
  readonly events: View<typeof kvm_vcpu_events.fields>;
  /** The XSAVE area (4096 bytes, legacy + header), for KVM_GET/SET_XSAVE. */
  readonly xsave: Uint8Array;
  /** XCR0. */
  xcr0: bigint;
  /** MSRs KVM emulates, by index. */
  readonly msrs: Map<number, bigint>;
  /** KVM_SET_CPUID2 entries. */
  cpuid_entries: cpuid_entry[];
  /** `mp_state`. */
  mp_state: number;
  /** `virtual_tsc_khz`. */
  virtual_tsc_khz: number;
  /** TSC offset: guest TSC = host TSC scaled + offset. */
  tsc_offset: bigint;
  /** Work to finish on the next KVM_RUN (IN data, MMIO read data, MSR data). */
  complete_userspace_io: complete_userspace_io;
  /** MAXPHYADDR from the vCPU's CPUID (`cpuid_maxphyaddr()`). */
  maxphyaddr: number;
}

/** A fresh `kvm_regs` image. */
export function alloc_regs(): BigUint64Array {
  return new BigUint64Array(kvm_regs.size / 8);
}
