// SPDX-License-Identifier: GPL-2.0-only
/**
 * The x86 parts of the KVM objects (`arch/x86/include/asm/kvm_host.h`):
 * `struct kvm_arch` (VM type traits, irqchip mode, MSR filter, user-space MSR
 * exits, hypercall exits, TSC frequency) and `struct kvm_vcpu_arch` (the
 * register state KVM holds while the vCPU is not in guest mode, the CPUID
 * table, emulated MSRs, and the userspace-completion callback).
 *
 * A vCPU has ONE architectural register state: its VMCS (`sim/cpu/vmcs.ts`),
 * the block it shares with its CPU worker. GPRs, RIP, RFLAGS, segments,
 * descriptor tables, control registers, EFER, XCR0, DR6/DR7, APIC base, PAT,
 * the TSC offset and frequency and the syscall/sysenter MSRs live only there;
 * the register ioctls and `kvm_get_msr`/`kvm_set_msr` read and write it
 * directly, as VMX's `vmcs_read*`/`vmcs_write*` accessors do, and the CPU
 * sees every change at its next entry. What the CPU never uses (FPU/XSAVE
 * images, DR0-3, queued events, the other emulated MSRs, CPUID) stays here.
 *
 * @module
 */

import type { cpuid_entry } from "../../kvm/cpuid.ts";
import type { View } from "../../../../../../include/c/layout.ts";
import type {
  kvm_debugregs,
  kvm_fpu,
  kvm_vcpu_events,
} from "../../../../../../include/linux/kvm.ts";
import type { vmcs_view } from "../../../../../cpu/vmcs.ts";
import type { vcpu_thread } from "../../../../../cpu/vcpu_thread.ts";
import type { guest_memory_map } from "../../../../../cpu/memory.ts";
import type { gpa_range } from "../../../../virt/kvm/memslot_map.ts";

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
  /** KVM_CAP_MSR_PLATFORM_INFO: whether the guest may read MSR_PLATFORM_INFO (default true). */
  guest_can_read_msr_platform_info: boolean;
  /** The BSP's vCPU id (KVM_SET_BOOT_CPU_ID). */
  bsp_vcpu_id: number;
  /** Quirks disabled by KVM_CAP_DISABLE_QUIRKS(2). */
  disabled_quirks: number;
  /** `KVM_SET_NR_MMU_PAGES`' value (`n_requested_mmu_pages`); 0 until set. */
  n_requested_mmu_pages: number;
  /**
   * The guest image the vCPU workers import: the module URLs of the program
   * that created the VM (`current.exe_file` at KVM_CREATE_VM).
   */
  images: readonly string[];
  /** The stage-2 view of memory (`kvm_build_memory_map()`), rebuilt when `kvm->generation` moves. */
  memmap: kvm_memmap_cache | null;
  /**
   * `kvm->arch.pre_fault_allowed`: ordinary VMs from creation, a TD once
   * KVM_TDX_FINALIZE_VM made it runnable (its initial image is measured).
   */
  pre_fault_allowed: boolean;
}

/** The memory map of a VM at one generation, as the kernel and the CPU see it. */
export interface kvm_memmap_cache {
  /** The `kvm->generation` it was built at. */
  generation: number;
  /** The address space's `generation` it was translated at. */
  mm_generation: number;
  /** The ranges, sorted by GPA (kernel view: includes ranges that must fault). */
  ranges: gpa_range[];
  /** What the CPU gets: the ranges that have memory. */
  map: guest_memory_map;
}

/** Pending work for the next KVM_RUN after an exit to userspace (`complete_userspace_io`). */
export type complete_userspace_io = (() => number) | null;

/** `struct kvm_vcpu_arch`: the state KVM keeps for a vCPU outside guest mode. */
export interface kvm_vcpu_arch {
  /** The VMCS: the vCPU's architectural register state (see the module documentation). */
  readonly vmcs: vmcs_view;
  /** The CPU worker, created at the first KVM_RUN (`null` until then and after VM free). */
  thread: vcpu_thread | null;
  /** The `kvm->generation` of the memory map the worker has. */
  memmap_generation: number;
  /** `struct kvm_fpu` image. */
  readonly fpu: View<typeof kvm_fpu.fields>;
  /** `struct kvm_debugregs` image: DR0-3 and flags (DR6/DR7 are in the VMCS). */
  readonly debugregs: View<typeof kvm_debugregs.fields>;
  /** `struct kvm_vcpu_events` image (pending and injected events). */
  readonly events: View<typeof kvm_vcpu_events.fields>;
  /** The XSAVE area (4096 bytes, legacy + header), for KVM_GET/SET_XSAVE. */
  readonly xsave: Uint8Array;
  /** MSRs KVM emulates that have no VMCS field, by index. */
  readonly msrs: Map<number, bigint>;
  /** KVM_SET_CPUID2 entries. */
  cpuid_entries: cpuid_entry[];
  /** `mp_state`. */
  mp_state: number;
  /** Work to finish on the next KVM_RUN (IN data, MMIO read data, MSR data). */
  complete_userspace_io: complete_userspace_io;
  /** `vcpu->arch.pio.linear_rip` / `mmio` RIP: where the exiting instruction was. */
  exit_rip: bigint;
  /** MAXPHYADDR from the vCPU's CPUID (`cpuid_maxphyaddr()`). */
  maxphyaddr: number;
  /** KVM_CAP_ENFORCE_PV_FEATURE_CPUID (`pv_cpuid.enforce`). */
  pv_cpuid_enforce: boolean;
  /**
   * The machine-check state of `struct kvm_vcpu_arch`: `mcg_cap`,
   * `mcg_status`, `mcg_ctl`, `mcg_ext_ctl`, the four MSRs of each bank
   * (`mce_banks`, CTL/STATUS/ADDR/MISC) and each bank's CTL2
   * (`mci_ctl2_banks`).
   */
  readonly mce: kvm_vcpu_mce;
  /** `msr_kvm_poll_control` (1 from `kvm_arch_vcpu_postcreate()`). */
  msr_kvm_poll_control: bigint;
  /** `pending_external_vector` (KVM_INTERRUPT with a split irqchip), -1 if none. */
  pending_external_vector: number;
  /** `KVM_REQ_TRIPLE_FAULT` is pending: the next KVM_RUN exits with KVM_EXIT_SHUTDOWN. */
  triple_fault_pending: boolean;
}

/** The machine-check registers of a vCPU (see `kvm_vcpu_arch.mce`). */
export interface kvm_vcpu_mce {
  mcg_cap: bigint;
  mcg_status: bigint;
  mcg_ctl: bigint;
  mcg_ext_ctl: bigint;
  /** 4 * KVM_MAX_MCE_BANKS: CTL, STATUS, ADDR, MISC of each bank. */
  readonly banks: BigUint64Array;
  /** KVM_MAX_MCE_BANKS: MCi_CTL2. */
  readonly ctl2: BigUint64Array;
}
