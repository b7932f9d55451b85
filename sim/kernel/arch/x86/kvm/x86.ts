// SPDX-License-Identifier: GPL-2.0-only
/**
 * x86 KVM (`arch/x86/kvm/x86.c`): VM types, x86 capabilities and
 * KVM_ENABLE_CAP, the irqchip modes, TSC frequency, MSR filters, the `/dev/kvm`
 * ioctls that describe the host (supported CPUID, MSR lists), and the vCPU
 * ioctls: registers, special registers (with KVM's CR0/CR4/EFER consistency
 * checks), MSRs (emulated here, with KVM's count semantics), CPUID tables,
 * XCRs, FPU/XSAVE, events, debug registers, MP state and KVM_RUN.
 *
 * A vCPU's architectural registers live in one place, its VMCS (shared with
 * the CPU worker): the register ioctls and the MSR accessors read and write
 * it directly, as VMX's `vmcs_read*`/`vmcs_write*` do, so the state userspace
 * sees after an exit is exactly what the guest left.
 *
 * @module
 */

import {
  enable_tdx,
  is_td,
  tdx_vcpu_arch_ioctl,
  tdx_vcpu_precreate,
  tdx_vm_destroy,
  tdx_vm_init,
  tdx_vm_ioctl,
} from "./vmx/tdx.ts";
import {
  E2BIG,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  ENOTTY,
  ENXIO,
} from "../../../../../include/linux/errno.ts";
import {
  KVM_CAP_ADJUST_CLOCK,
  KVM_CAP_DEBUGREGS,
  KVM_CAP_DISABLE_QUIRKS,
  KVM_CAP_DISABLE_QUIRKS2,
  KVM_CAP_ENABLE_CAP,
  KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
  KVM_CAP_EXCEPTION_PAYLOAD,
  KVM_CAP_EXIT_HYPERCALL,
  KVM_CAP_EXIT_ON_EMULATION_FAILURE,
  KVM_CAP_EXT_CPUID,
  KVM_CAP_EXT_EMUL_CPUID,
  KVM_CAP_GET_MSR_FEATURES,
  KVM_CAP_GET_TSC_KHZ,
  KVM_CAP_HALT_POLL,
  KVM_CAP_HLT,
  KVM_CAP_IMMEDIATE_EXIT,
  KVM_CAP_IOAPIC_POLARITY_IGNORED,
  KVM_CAP_IRQ_INJECT_STATUS,
  KVM_CAP_IRQCHIP,
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_MCE,
  KVM_CAP_MEMORY_FAULT_INFO,
  KVM_CAP_MMU_SHADOW_CACHE_CONTROL,
  KVM_CAP_MP_STATE,
  KVM_CAP_MSR_PLATFORM_INFO,
  KVM_CAP_NOP_IO_DELAY,
  KVM_CAP_NR_VCPUS,
  KVM_CAP_PCI_SEGMENT,
  KVM_CAP_PRE_FAULT_MEMORY,
  KVM_CAP_READONLY_MEM,
  KVM_CAP_SET_BOOT_CPU_ID,
  KVM_CAP_SET_IDENTITY_MAP_ADDR,
  KVM_CAP_SET_TSS_ADDR,
  KVM_CAP_SIGNAL_MSI,
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CAP_SYNC_MMU,
  KVM_CAP_SYNC_REGS,
  KVM_CAP_TSC_CONTROL,
  KVM_CAP_USER_NMI,
  KVM_CAP_VCPU_EVENTS,
  KVM_CAP_VM_TSC_CONTROL,
  KVM_CAP_VM_TYPES,
  KVM_CAP_X2APIC_API,
  KVM_CAP_X86_APIC_BUS_CYCLES_NS,
  KVM_CAP_X86_DISABLE_EXITS,
  KVM_CAP_X86_GUEST_MODE,
  KVM_CAP_X86_MSR_FILTER,
  KVM_CAP_X86_ROBUST_SINGLESTEP,
  KVM_CAP_X86_TRIPLE_FAULT_EVENT,
  KVM_CAP_X86_USER_SPACE_MSR,
  KVM_CAP_XCRS,
  KVM_CAP_XSAVE,
  kvm_cpuid,
  kvm_cpuid2,
  KVM_CREATE_IRQCHIP,
  kvm_debugregs,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  kvm_enc_region,
  kvm_fpu,
  KVM_GET_CPUID2,
  KVM_GET_DEBUGREGS,
  KVM_GET_EMULATED_CPUID,
  KVM_GET_IRQCHIP,
  KVM_GET_LAPIC,
  KVM_GET_MSR_FEATURE_INDEX_LIST,
  KVM_GET_MSR_INDEX_LIST,
  KVM_GET_MSRS,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_TSC_KHZ,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_INTERRUPT,
  kvm_interrupt,
  kvm_irq_level,
  KVM_IRQ_LINE,
  KVM_IRQ_LINE_STATUS,
  kvm_irqchip,
  KVM_IRQCHIP_IOAPIC,
  KVM_IRQCHIP_PIC_MASTER,
  KVM_IRQCHIP_PIC_SLAVE,
  KVM_MAX_XCRS,
  KVM_MEM_READONLY,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_MEMORY_ENCRYPT_REG_REGION,
  KVM_MEMORY_ENCRYPT_UNREG_REGION,
  kvm_mp_state,
  KVM_MP_STATE_AP_RESET_HOLD,
  KVM_MP_STATE_HALTED,
  KVM_MP_STATE_INIT_RECEIVED,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_SIPI_RECEIVED,
  KVM_MP_STATE_UNINITIALIZED,
  KVM_MSR_EXIT_REASON_VALID_MASK,
  kvm_msr_filter,
  KVM_MSR_FILTER_DEFAULT_DENY,
  KVM_MSR_FILTER_MAX_BITMAP_SIZE,
  KVM_MSR_FILTER_MAX_RANGES,
  KVM_MSR_FILTER_RANGE_VALID_MASK,
  KVM_MSR_FILTER_VALID_MASK,
  kvm_msrs,
  KVM_NMI,
  kvm_regs,
  kvm_run,
  KVM_SET_BOOT_CPU_ID,
  KVM_SET_CPUID,
  KVM_SET_CPUID2,
  KVM_SET_DEBUGREGS,
  KVM_SET_IDENTITY_MAP_ADDR,
  KVM_SET_IRQCHIP,
  KVM_SET_LAPIC,
  KVM_SET_MSRS,
  KVM_SET_NR_MMU_PAGES,
  KVM_SET_TSC_KHZ,
  KVM_SET_TSS_ADDR,
  KVM_SET_VCPU_EVENTS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
  kvm_sregs,
  kvm_sync_regs,
  kvm_vcpu_events,
  KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
  KVM_X2APIC_API_USE_32BIT_IDS,
  KVM_X86_DEFAULT_VM,
  KVM_X86_DISABLE_EXITS_HLT,
  KVM_X86_DISABLE_EXITS_PAUSE,
  KVM_X86_GET_MCE_CAP_SUPPORTED,
  kvm_x86_mce,
  KVM_X86_SET_MCE,
  KVM_X86_SET_MSR_FILTER,
  KVM_X86_SETUP_MCE,
  KVM_X86_SW_PROTECTED_VM,
  kvm_xcrs,
} from "../../../../../include/linux/kvm.ts";
import { kvm_get_ioapic, kvm_ioapic_destroy, kvm_ioapic_init, kvm_set_ioapic } from "./ioapic.ts";
import {
  kvm_get_pic,
  kvm_pic_destroy,
  kvm_pic_init,
  kvm_pic_update_irq,
  kvm_set_pic,
  vpic,
} from "./i8259.ts";
import { kvm_setup_default_irq_routing, kvm_setup_empty_irq_routing } from "./irq_comm.ts";
import {
  kvm_free_irq_routing,
  kvm_set_irq,
  KVM_USERSPACE_IRQ_SOURCE_ID,
} from "../../../virt/kvm/irqchip.ts";
import { kvm_irqfd_release } from "../../../virt/kvm/eventfd.ts";
import {
  KVM_VCPUEVENT_VALID_NMI_PENDING,
  KVM_VCPUEVENT_VALID_PAYLOAD,
  KVM_VCPUEVENT_VALID_SHADOW,
  KVM_VCPUEVENT_VALID_SIPI_VECTOR,
  KVM_VCPUEVENT_VALID_SMM,
  KVM_VCPUEVENT_VALID_TRIPLE_FAULT,
} from "../../../../../include/asm/kvm.ts";
import {
  KVM_SYNC_X86_EVENTS,
  KVM_SYNC_X86_REGS,
  KVM_SYNC_X86_SREGS,
  KVM_SYNC_X86_VALID_FIELDS,
  KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST,
  KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST,
  KVM_X86_QUIRK_STUFF_FEATURE_MSRS,
  KVM_X86_TDX_VM,
  MC_VECTOR,
} from "../../../../../include/asm/kvm.ts";
import {
  KVM_CPUID_SIGNATURE,
  KVM_FEATURE_ASYNC_PF,
  KVM_FEATURE_CLOCKSOURCE,
  KVM_FEATURE_CLOCKSOURCE2,
  KVM_FEATURE_POLL_CONTROL,
  KVM_FEATURE_PV_EOI,
  KVM_FEATURE_PV_UNHALT,
  KVM_FEATURE_STEAL_TIME,
  KVM_HC_MAP_GPA_RANGE,
} from "../../../../../include/linux/kvm_para.ts";
import { current } from "../../../include/linux/sched.ts";
import type { kvm, kvm_vcpu } from "../../../include/linux/kvm_host.ts";
import { KVM_MAX_VCPU_IDS, KVM_MAX_VCPUS } from "../../../include/linux/kvm_host.ts";
import { num_online_cpus } from "../../../include/linux/cpumask.ts";
import {
  type kvm_arch,
  KVM_IRQCHIP_KERNEL,
  KVM_IRQCHIP_NONE,
  KVM_IRQCHIP_SPLIT,
  type kvm_vcpu_arch,
  type kvm_x86_msr_filter,
} from "../include/asm/kvm_host.ts";
import * as msr from "../include/asm/msr-index.ts";
import { X2APIC_ENABLE } from "../include/asm/apicdef.ts";
import { NMI_VECTOR } from "../../../../../include/asm/irq_vectors.ts";
import {
  X86_CR0_CD,
  X86_CR0_NW,
  X86_CR0_PE,
  X86_CR0_PG,
  X86_CR4_FSGSBASE,
  X86_CR4_LA57,
  X86_CR4_MCE,
  X86_CR4_OSXSAVE,
  X86_CR4_PAE,
  X86_CR4_PCIDE,
  X86_CR4_PKE,
  X86_CR4_SMAP,
  X86_CR4_SMEP,
  X86_CR4_UMIP,
  X86_EFLAGS_FIXED,
} from "../../../../../include/asm/processor-flags.ts";
import {
  APIC_BUS_CYCLE_NS_DEFAULT,
  kvm_apic_after_set_mcg_cap,
  kvm_apic_get_state,
  kvm_apic_has_pending_init_or_sipi,
  kvm_apic_latch_sipi,
  KVM_APIC_REG_SIZE,
  kvm_apic_set_state,
  KVM_APIC_SIPI,
  kvm_apic_take_events,
  kvm_get_lapic_tscdeadline_msr,
  kvm_lapic_after_set_cpuid,
  kvm_lapic_reset,
  kvm_lapic_set_base,
  kvm_lapic_set_tpr,
  kvm_set_apic_bus_cycles_ns,
  kvm_set_lapic_tscdeadline_msr,
  kvm_x2apic_msr_read,
  kvm_x2apic_msr_write,
  set_lapic_host_ops,
  vcpu_apic,
} from "./lapic.ts";
import { KVM_APIC_INIT } from "./lapic.ts";
import {
  type cpuid_entry,
  CPUID_ENTRY2_SIZE,
  cpuid_maxphyaddr,
  get_cpuid_entry,
  kvm_find_cpuid_entry_index,
  KVM_MAX_CPUID_ENTRIES,
  KVM_SUPPORTED_XCR0,
  put_cpuid_entry,
  supported_cpuid,
  xstate_required_size,
} from "./cpuid.ts";
import {
  kvm_memmap_free,
  vmx_vcpu_create,
  vmx_vcpu_destroy,
  vmx_vcpu_run,
  vmx_vcpu_run_async,
} from "./vmx/vmx.ts";
import { sim_vmcs, vmcs_alloc, vmcs_reset, type vmcs_view } from "../../../../cpu/vmcs.ts";
import { vcpu_worker_prewarm } from "../../../../cpu/vcpu_thread.ts";
import { host_tsc_bigint } from "../../../../cpu/tsc.ts";
import { offsetof } from "../../../../../include/c/layout.ts";
import { PAGE_SHIFT } from "../../../mm/mmap.ts";
import { gfn_to_memslot } from "../../../virt/kvm/kvm_main.ts";
import { kvm_is_gfn_alias, kvm_mmu_max_gfn } from "./mmu/mmu.ts";

/** `tsc_khz` of the simulated host (2.0 GHz, a Xeon Platinum 8480+ base clock). */
export const HOST_TSC_KHZ = 2_000_000;
/** `kvm_caps.max_guest_tsc_khz`: VMX TSC scaling reaches `u32` kHz. */
export const MAX_GUEST_TSC_KHZ = 0xffffffff;
/** `MAX_NR_RESERVED_IOAPIC_PINS`. */
export const MAX_NR_RESERVED_IOAPIC_PINS = 48;
/** `KVM_X2APIC_API_VALID_FLAGS`: what KVM_CAP_X2APIC_API reports on `/dev/kvm`. */
export const KVM_X2APIC_API_VALID_FLAGS: number = KVM_X2APIC_API_USE_32BIT_IDS |
  KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK | KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST |
  KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST;
/** `KVM_CLOCK_VALID_FLAGS` (TSC_STABLE, REALTIME, HOST_TSC): KVM_CAP_ADJUST_CLOCK's value. */
export const KVM_CLOCK_VALID_FLAGS = 0x2 | 0x4 | 0x8;
/** `KVM_MAX_IRQ_ROUTES`: the most IOAPIC pins KVM_CAP_SPLIT_IRQCHIP may reserve. */
export const KVM_MAX_IRQ_ROUTES = 4096;
/** `KVM_MAX_MCE_BANKS`: every vCPU starts with this many MCE banks (`mcg_cap`). */
export const KVM_MAX_MCE_BANKS = 32;
/** `MAX_IO_MSRS`: KVM_GET/SET_MSRS refuse this many entries or more. */
export const MAX_IO_MSRS = 256;
/** `MSR_PLATFORM_INFO_CPUID_FAULT`: the bit KVM sets in every vCPU's PLATFORM_INFO. */
export const MSR_PLATFORM_INFO_CPUID_FAULT = 1n << 31n;
/** `KVM_EXIT_HYPERCALL_VALID_MASK`. */
export const KVM_EXIT_HYPERCALL_VALID_MASK: bigint = 1n << BigInt(KVM_HC_MAP_GPA_RANGE);
/**
 * `kvm_caps.supported_vm_types`: what KVM_CAP_VM_TYPES reports. TDX is in it
 * while `enable_tdx` holds (the simulated host's CPUs fit a TD).
 */
export function kvm_supported_vm_types(): number {
  return (1 << KVM_X86_DEFAULT_VM) | (1 << KVM_X86_SW_PROTECTED_VM) |
    (enable_tdx() ? 1 << KVM_X86_TDX_VM : 0);
}
/** `kvm_get_allowed_disable_exits()`: HLT and PAUSE can be left to the guest. */
export const KVM_ALLOWED_DISABLE_EXITS: number = KVM_X86_DISABLE_EXITS_HLT |
  KVM_X86_DISABLE_EXITS_PAUSE;
/**
 * `CR4_RESERVED_BITS` plus what no simulated CPU has: VMXE (no nested), SMXE,
 * PKE, CET, PKS, LAM. What remains (bits 0-12, FSGSBASE, PCIDE, OSXSAVE, SMEP,
 * SMAP) is reserved per vCPU by the guest CPUID in `kvm_is_valid_cr4()`.
 */
const CR4_ALWAYS_RESERVED = ~(0x1fffn | (1n << 16n) | (1n << 17n) | (1n << 18n) | (1n << 20n) |
  (1n << 21n));
const EFER_RESERVED = ~(msr.EFER_SCE | msr.EFER_LME | msr.EFER_LMA | msr.EFER_NX) &
  0xffffffffffffffffn;

/**
 * `KVM_X86_VALID_QUIRKS` as KVM reports it on a host without self-snoop,
 * which drops IGNORE_GUEST_PAT (the host this project's CI runs on reports the
 * same 0x5ff).
 */
const KVM_X86_VALID_QUIRKS = 0x7ff & ~(1 << 9);
/** The floor of `KVM_SET_NR_MMU_PAGES`. */
const KVM_MIN_ALLOC_MMU_PAGES = 64;

// ---------------------------------------------------------------------------
// VM

/**
 * The part of `kvm_arch_init_vm()` that needs the `struct kvm`:
 * `kvm_x86_call(vm_init)`, which for a TD is `tdx_vm_init()` (its vCPU limit
 * is visible as soon as KVM_CREATE_VM returns).
 */
export function kvm_x86_vm_init(k: kvm): void {
  if (is_td(k)) tdx_vm_init(k);
}

/** `kvm_arch_init_vm()` with `kvm_is_vm_type_supported()`: the arch state, or `-EINVAL`. */
export function kvm_arch_init_vm(type: bigint): kvm_arch | number {
  if (type > 31n || !(kvm_supported_vm_types() & (1 << Number(type)))) return -EINVAL;
  const vm_type = Number(type);
  // Simulator only: a vCPU worker for the image loads while the VM is built.
  vcpu_worker_prewarm(current.exe_file);
  return {
    vm_type,
    has_private_mem: vm_type === KVM_X86_SW_PROTECTED_VM || vm_type === KVM_X86_TDX_VM,
    // A TD's vCPU state belongs to the TDX module (`kvm->arch.has_protected_state`).
    has_protected_state: vm_type === KVM_X86_TDX_VM,
    irqchip_mode: KVM_IRQCHIP_NONE,
    nr_reserved_ioapic_pins: 0,
    x2apic_format: false,
    x2apic_broadcast_quirk_disabled: false,
    hypercall_exit_enabled: 0n,
    user_space_msr_mask: 0,
    msr_filter: null,
    default_tsc_khz: HOST_TSC_KHZ,
    disabled_exits: 0,
    max_vcpu_ids: 0,
    guest_can_read_msr_platform_info: true,
    bsp_vcpu_id: 0,
    disabled_quirks: 0,
    n_requested_mmu_pages: 0,
    images: current.exe_file,
    memmap: null,
    // kvm_arch_init_vm(): a TD may pre-fault only once finalized (tdx_td_finalize()).
    pre_fault_allowed: vm_type === KVM_X86_DEFAULT_VM || vm_type === KVM_X86_SW_PROTECTED_VM,
  };
}

/** `kvm_arch_destroy_vm()`. */
export function kvm_arch_destroy_vm(k: kvm): void {
  if (is_td(k)) tdx_vm_destroy(k);
  kvm_memmap_free(k);
  // kvm_irqfd_release(), kvm_free_irq_routing(), kvm_pic/ioapic_destroy().
  kvm_irqfd_release(k);
  kvm_free_irq_routing(k);
  kvm_pic_destroy(k);
  kvm_ioapic_destroy(k);
}

/**
 * `kvm_arch_prepare_memory_region()` (x86.c at 042007c2) for a new or moved
 * slot: its last GFN must be within the host's MAXPHYADDR
 * (`kvm_mmu_max_gfn()`) and, for a TD after KVM_TDX_INIT_VM, not a shared
 * alias (`kvm_is_gfn_alias()`: userspace places slots at the private GPA).
 * 0 or -EINVAL.
 */
export function kvm_arch_prepare_memory_region(k: kvm, base_gfn: number, npages: number): number {
  const last = BigInt(base_gfn) + BigInt(npages) - 1n;
  if (last > kvm_mmu_max_gfn()) return -EINVAL;
  if (kvm_is_gfn_alias(k, last)) return -EINVAL;
  return 0;
}

/** `irqchip_in_kernel()`: full or split. */
export function irqchip_in_kernel(k: kvm): boolean {
  return k.arch.irqchip_mode !== KVM_IRQCHIP_NONE;
}

/** `kvm_vm_ioctl_check_extension()`: the x86 capabilities; `k` is null on `/dev/kvm`. */
export function kvm_vm_ioctl_check_extension(k: kvm | null, cap: number): number {
  switch (cap) {
    case KVM_CAP_IRQCHIP:
    case KVM_CAP_HLT:
    case KVM_CAP_EXT_CPUID:
    case KVM_CAP_MP_STATE:
    case KVM_CAP_SYNC_MMU:
    case KVM_CAP_USER_NMI:
    case KVM_CAP_VCPU_EVENTS:
    case KVM_CAP_DEBUGREGS:
    case KVM_CAP_XSAVE:
    case KVM_CAP_XCRS:
    case KVM_CAP_GET_TSC_KHZ:
    case KVM_CAP_TSC_CONTROL:
    case KVM_CAP_VM_TSC_CONTROL:
    case KVM_CAP_SPLIT_IRQCHIP:
    case KVM_CAP_IMMEDIATE_EXIT:
    case KVM_CAP_X86_USER_SPACE_MSR:
    case KVM_CAP_X86_MSR_FILTER:
    case KVM_CAP_MEMORY_FAULT_INFO:
    case KVM_CAP_GET_MSR_FEATURES:
    case KVM_CAP_SET_TSS_ADDR:
    // Each of these has its ioctl or KVM_ENABLE_CAP here, or only informs
    // (NOP_IO_DELAY, PCI_SEGMENT, IRQ_INJECT_STATUS, ROBUST_SINGLESTEP,
    // IOAPIC_POLARITY_IGNORED; X86_GUEST_MODE: the flag is never set, no nested).
    case KVM_CAP_ENABLE_CAP:
    case KVM_CAP_EXT_EMUL_CPUID:
    case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:
    case KVM_CAP_SET_BOOT_CPU_ID:
    case KVM_CAP_SET_IDENTITY_MAP_ADDR:
    case KVM_CAP_SIGNAL_MSI:
    case KVM_CAP_NOP_IO_DELAY:
    case KVM_CAP_PCI_SEGMENT:
    case KVM_CAP_IRQ_INJECT_STATUS:
    case KVM_CAP_X86_ROBUST_SINGLESTEP:
    case KVM_CAP_IOAPIC_POLARITY_IGNORED:
    case KVM_CAP_X86_GUEST_MODE:
    case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
    case KVM_CAP_MSR_PLATFORM_INFO:
    case KVM_CAP_X86_TRIPLE_FAULT_EVENT:
    case KVM_CAP_EXCEPTION_PAYLOAD:
    case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
    case KVM_CAP_HALT_POLL:
      return 1;
    case KVM_CAP_ADJUST_CLOCK:
      return KVM_CLOCK_VALID_FLAGS;
    case KVM_CAP_MCE:
      return KVM_MAX_MCE_BANKS;
    case KVM_CAP_PRE_FAULT_MEMORY:
      // `tdp_enabled`: the simulated host always has EPT.
      return 1;
    case KVM_CAP_SYNC_REGS:
      return Number(KVM_SYNC_X86_VALID_FIELDS);
    case KVM_CAP_READONLY_MEM:
      return k ? (k.arch.has_protected_state ? 0 : 1) : 1;
    case KVM_CAP_NR_VCPUS:
      return Math.min(num_online_cpus(), KVM_MAX_VCPUS);
    case KVM_CAP_MAX_VCPUS:
      return k ? k.max_vcpus : KVM_MAX_VCPUS;
    case KVM_CAP_MAX_VCPU_ID:
      // kvm_vm_ioctl_check_extension() (x86.c at 042007c2): KVM_MAX_VCPU_IDS,
      // also on a VM whose limit KVM_ENABLE_CAP lowered.
      return KVM_MAX_VCPU_IDS;
    case KVM_CAP_X2APIC_API:
      // Suppressing EOI broadcasts needs the userspace IOAPIC of a split irqchip.
      if (k && k.arch.irqchip_mode !== KVM_IRQCHIP_SPLIT) {
        return KVM_X2APIC_API_VALID_FLAGS & ~KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST;
      }
      return KVM_X2APIC_API_VALID_FLAGS;
    case KVM_CAP_X86_APIC_BUS_CYCLES_NS:
      return APIC_BUS_CYCLE_NS_DEFAULT;
    case KVM_CAP_EXIT_HYPERCALL:
      return Number(KVM_EXIT_HYPERCALL_VALID_MASK);
    case KVM_CAP_VM_TYPES:
      return kvm_supported_vm_types();
    case KVM_CAP_X86_DISABLE_EXITS:
      return KVM_ALLOWED_DISABLE_EXITS;
    case KVM_CAP_DISABLE_QUIRKS:
      return 1;
    case KVM_CAP_DISABLE_QUIRKS2:
      return KVM_X86_VALID_QUIRKS;
    default:
      return 0;
  }
}

/** `kvm_vm_ioctl_enable_cap()`. */
export function kvm_vm_ioctl_enable_cap(
  k: kvm,
  cap: ReturnType<typeof kvm_enable_cap.view>,
): number {
  if (cap.flags) return -EINVAL;
  const arg0 = cap.args.at(0);
  switch (cap.cap) {
    case KVM_CAP_SPLIT_IRQCHIP:
      if (arg0 > BigInt(KVM_MAX_IRQ_ROUTES)) return -EINVAL;
      if (irqchip_in_kernel(k)) return -EEXIST;
      if (k.created_vcpus) return -EEXIST;
      {
        // kvm_setup_empty_irq_routing(): userspace owns the PIC and IOAPIC.
        const r = kvm_setup_empty_irq_routing(k);
        if (r) return r;
      }
      k.arch.irqchip_mode = KVM_IRQCHIP_SPLIT;
      k.arch.nr_reserved_ioapic_pins = Number(arg0);
      return 0;
    case KVM_CAP_X86_APIC_BUS_CYCLES_NS:
      return kvm_set_apic_bus_cycles_ns(k, arg0);
    case KVM_CAP_X2APIC_API:
      if (arg0 & ~BigInt(KVM_X2APIC_API_VALID_FLAGS)) return -EINVAL;
      {
        const en = BigInt(KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST);
        const dis = BigInt(KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST);
        // Enabling and disabling at once is contradictory; enabling needs a split irqchip.
        if ((arg0 & en) && (arg0 & dis)) return -EINVAL;
        if ((arg0 & en) && k.arch.irqchip_mode !== KVM_IRQCHIP_SPLIT) return -EINVAL;
      }
      if (arg0 & BigInt(KVM_X2APIC_API_USE_32BIT_IDS)) k.arch.x2apic_format = true;
      if (arg0 & BigInt(KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK)) {
        k.arch.x2apic_broadcast_quirk_disabled = true;
      }
      return 0;
    case KVM_CAP_X86_DISABLE_EXITS:
      if (arg0 & ~BigInt(KVM_ALLOWED_DISABLE_EXITS)) return -EINVAL;
      // Exits can only be disabled before vCPUs exist.
      if (k.created_vcpus) return -EINVAL;
      k.arch.disabled_exits |= Number(arg0);
      return 0;
    case KVM_CAP_X86_USER_SPACE_MSR:
      if (arg0 & ~BigInt(KVM_MSR_EXIT_REASON_VALID_MASK)) return -EINVAL;
      k.arch.user_space_msr_mask = Number(arg0);
      return 0;
    case KVM_CAP_EXIT_HYPERCALL:
      if (arg0 & ~KVM_EXIT_HYPERCALL_VALID_MASK) return -EINVAL;
      k.arch.hypercall_exit_enabled = arg0;
      return 0;
    case KVM_CAP_DISABLE_QUIRKS2:
      if (arg0 & ~BigInt(KVM_X86_VALID_QUIRKS)) return -EINVAL;
      k.arch.disabled_quirks |= Number(arg0);
      return 0;
    case KVM_CAP_DISABLE_QUIRKS:
      // The original capability silently ignores unknown quirks.
      k.arch.disabled_quirks |= Number(arg0 & BigInt(KVM_X86_VALID_QUIRKS));
      return 0;
    case KVM_CAP_MAX_VCPU_ID:
      // kvm_vm_ioctl_enable_cap() (kvm-x86 next): the first vCPU locks the
      // limit in (kvm_arch_vcpu_precreate() sets the default), after which
      // only the value already in force is accepted.
      if (arg0 > BigInt(KVM_MAX_VCPU_IDS)) return -EINVAL;
      if (BigInt(k.arch.bsp_vcpu_id) > arg0) return -EINVAL;
      if (BigInt(k.arch.max_vcpu_ids) === arg0) return 0;
      if (!k.arch.max_vcpu_ids) {
        k.arch.max_vcpu_ids = Number(arg0);
        return 0;
      }
      return -EINVAL;
    case KVM_CAP_MSR_PLATFORM_INFO:
      k.arch.guest_can_read_msr_platform_info = arg0 !== 0n;
      return 0;
    case KVM_CAP_X86_TRIPLE_FAULT_EVENT:
      if (arg0 & ~1n) return -EINVAL;
      event_caps(k).triple_fault_event = arg0 !== 0n;
      return 0;
    case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
      // A boolean flag: no emulator here consults it.
      return arg0 & ~1n ? -EINVAL : 0;
    case KVM_CAP_EXCEPTION_PAYLOAD:
      event_caps(k).exception_payload_enabled = arg0 !== 0n;
      return 0;
    default:
      return -EINVAL;
  }
}

// Scratch for the x86 ioctls.
const scratch = new ArrayBuffer(8192);
const scratch_u8 = new Uint8Array(scratch);
const scratch_dv = new DataView(scratch);
const filter_v = kvm_msr_filter.view(scratch);
const irq_v = kvm_irq_level.view(scratch);
const chip_v = kvm_irqchip.view(scratch);
const mp_v = kvm_mp_state.view(scratch);
const xcrs_v = kvm_xcrs.view(scratch);

function copy_in(arg: bigint, size: number): number {
  return current.mm.copy_from_user(scratch_u8, arg, size);
}

function copy_out(arg: bigint, src: Uint8Array, len: number = src.length): number {
  return current.mm.copy_to_user(arg, src, len);
}

/** `kvm_vm_ioctl_set_msr_filter()`. */
function kvm_vm_ioctl_set_msr_filter(k: kvm): number {
  const flags = filter_v.flags;
  if (flags & ~KVM_MSR_FILTER_VALID_MASK) return -EINVAL;
  let empty = true;
  for (let i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
    if (filter_v.ranges.at(i).nmsrs) empty = false;
  }
  const default_allow = !(flags & KVM_MSR_FILTER_DEFAULT_DENY);
  if (empty && !default_allow) return -EINVAL;
  const f: kvm_x86_msr_filter = { default_allow, ranges: [] };
  for (let i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
    const r = filter_v.ranges.at(i);
    if (!r.nmsrs) continue;
    if (r.flags & ~KVM_MSR_FILTER_RANGE_VALID_MASK) return -EINVAL;
    if (!r.flags) return -EINVAL;
    const bitmap_size = Math.ceil(r.nmsrs / 64) * 8;
    if (!bitmap_size || bitmap_size > KVM_MSR_FILTER_MAX_BITMAP_SIZE) return -EINVAL;
    const bitmap = new Uint8Array(bitmap_size);
    if (current.mm.copy_from_user(bitmap, r.bitmap)) return -EFAULT;
    f.ranges.push({ flags: r.flags, base: r.base, nmsrs: r.nmsrs, bitmap });
  }
  k.arch.msr_filter = f;
  return 0;
}

/** `kvm_msr_allowed()`: whether the filter lets the guest access `index` (`type` READ/WRITE). */
export function kvm_msr_allowed(k: kvm, index: number, type: number): boolean {
  // The filter has no say over 0x800-0x8ff, the x2APIC registers: always allowed.
  if (index >= msr.APIC_BASE_MSR && index <= 0x8ff) return true;
  const f = k.arch.msr_filter;
  if (!f) return true;
  for (const r of f.ranges) {
    const start = r.base;
    const end = start + r.nmsrs;
    if (index >= start && index < end && (r.flags & type)) {
      const bit = index - start;
      return (r.bitmap[bit >> 3]! & (1 << (bit & 7))) !== 0;
    }
  }
  return f.default_allow;
}

/** The requests `kvm_arch_vm_ioctl()` answers (KVM_MEMORY_ENCRYPT_OP only for a TD). */
export const kvm_arch_vm_ioctl_requests: readonly number[] = [
  KVM_MEMORY_ENCRYPT_OP,
  KVM_SET_NR_MMU_PAGES,
  KVM_SET_TSS_ADDR,
  KVM_SET_IDENTITY_MAP_ADDR,
  KVM_MEMORY_ENCRYPT_REG_REGION,
  KVM_MEMORY_ENCRYPT_UNREG_REGION,
  KVM_CREATE_IRQCHIP,
  KVM_IRQ_LINE,
  KVM_IRQ_LINE_STATUS,
  KVM_GET_IRQCHIP,
  KVM_SET_IRQCHIP,
  KVM_SET_BOOT_CPU_ID,
  KVM_SET_TSC_KHZ,
  KVM_GET_TSC_KHZ,
  KVM_X86_SET_MSR_FILTER,
];

const CHIP_OFF = offsetof(kvm_irqchip, "chip");

/** `kvm_vm_ioctl_get_irqchip()` and the copy back: chip 0/1 a PIC, 2 the IOAPIC. */
function kvm_vm_ioctl_get_irqchip(k: kvm, arg: bigint): number {
  switch (chip_v.chip_id) {
    case KVM_IRQCHIP_PIC_MASTER:
    case KVM_IRQCHIP_PIC_SLAVE:
      kvm_get_pic(k, chip_v.chip_id, scratch_u8.subarray(CHIP_OFF));
      break;
    case KVM_IRQCHIP_IOAPIC:
      kvm_get_ioapic(k, scratch_dv, CHIP_OFF);
      break;
    default:
      return -EINVAL;
  }
  return copy_out(arg, scratch_u8, kvm_irqchip.size) ? -EFAULT : 0;
}

/** `kvm_vm_ioctl_set_irqchip()`: the PIC's INTR is re-evaluated whichever chip changed. */
function kvm_vm_ioctl_set_irqchip(k: kvm): number {
  switch (chip_v.chip_id) {
    case KVM_IRQCHIP_PIC_MASTER:
    case KVM_IRQCHIP_PIC_SLAVE:
      kvm_set_pic(k, chip_v.chip_id, scratch_u8.subarray(CHIP_OFF));
      return 0;
    case KVM_IRQCHIP_IOAPIC:
      kvm_set_ioapic(k, scratch_dv, CHIP_OFF);
      kvm_pic_update_irq(vpic(k)!);
      return 0;
    default:
      return -EINVAL;
  }
}

/** `kvm_arch_vm_ioctl()`: the x86 VM ioctls; unknown numbers are `-ENOTTY`. */
export function kvm_arch_vm_ioctl(k: kvm, cmd: number, arg: bigint): number {
  if (is_td(k)) {
    // TDX: KVM_MEMORY_ENCRYPT_OP is the TD's; no in-kernel PIC/IOAPIC (split irqchip only).
    if (cmd === KVM_MEMORY_ENCRYPT_OP) return tdx_vm_ioctl(k, arg);
    // KVM_CREATE_IRQCHIP: EEXIST first, then ENOTTY for protected EOIs.
    if (cmd === KVM_CREATE_IRQCHIP) return irqchip_in_kernel(k) ? -EEXIST : -ENOTTY;
  }
  switch (cmd) {
    case KVM_SET_NR_MMU_PAGES:
      // Shadow-paging pool size: meaningless with EPT, but the floor is still
      // enforced. KVM_GET_NR_MMU_PAGES is gone from kvm-x86 (x86.c at
      // 042007c2 has no case for it: its unsigned long did not fit the
      // ioctl's int), so it falls to ENOTTY below.
      if (arg < BigInt(KVM_MIN_ALLOC_MMU_PAGES)) return -EINVAL;
      k.arch.n_requested_mmu_pages = Number(arg);
      return 0;
    case KVM_SET_TSS_ADDR:
      // kvm_vm_ioctl_set_tss_addr() (x86.c at 042007c2): the three real-mode
      // pages must fit below 4 GiB, `addr > (unsigned int)(-3 * PAGE_SIZE)`.
      // vt_set_tss_addr() then takes it (a TD, or vmx_set_tss_addr() with
      // unrestricted guest, allocates nothing).
      return arg > 0xffffd000n ? -EINVAL : 0;
    case KVM_SET_IDENTITY_MAP_ADDR:
      // kvm_arch_vm_ioctl(): vCPUs already created wins over a bad pointer;
      // vt_set_identity_map_addr() then records it (nothing to allocate with
      // unrestricted guest).
      if (k.created_vcpus) return -EINVAL;
      return copy_in(arg, 8) ? -EFAULT : 0;
    case KVM_MEMORY_ENCRYPT_REG_REGION:
    case KVM_MEMORY_ENCRYPT_UNREG_REGION:
      // The region is copied in first; VMX and TDX have no
      // mem_enc_(un)register_region hook, so a readable one is ENOTTY.
      return copy_in(arg, kvm_enc_region.size) ? -EFAULT : -ENOTTY;
    case KVM_CREATE_IRQCHIP: {
      if (irqchip_in_kernel(k)) return -EEXIST;
      if (k.created_vcpus) return -EINVAL;
      let r = kvm_pic_init(k);
      if (r) return r;
      r = kvm_ioapic_init(k);
      if (r) {
        kvm_pic_destroy(k);
        return r;
      }
      r = kvm_setup_default_irq_routing(k);
      if (r) {
        kvm_ioapic_destroy(k);
        kvm_pic_destroy(k);
        return r;
      }
      k.arch.irqchip_mode = KVM_IRQCHIP_KERNEL;
      return 0;
    }
    case KVM_IRQ_LINE_STATUS:
    case KVM_IRQ_LINE: {
      // kvm_vm_ioctl() (kvm_main.c) + kvm_vm_ioctl_irq_line(): a GSI with no
      // route reads back status -1; only _STATUS copies the struct back.
      if (copy_in(arg, kvm_irq_level.size)) return -EFAULT;
      if (!irqchip_in_kernel(k)) return -ENXIO;
      const status = kvm_set_irq(
        k,
        KVM_USERSPACE_IRQ_SOURCE_ID,
        irq_v.irq,
        irq_v.level,
        cmd === KVM_IRQ_LINE_STATUS,
      );
      if (cmd !== KVM_IRQ_LINE_STATUS) return 0;
      irq_v.status = status;
      return copy_out(arg, scratch_u8, kvm_irq_level.size) ? -EFAULT : 0;
    }
    case KVM_GET_IRQCHIP:
    case KVM_SET_IRQCHIP:
      if (copy_in(arg, kvm_irqchip.size)) return -EFAULT;
      if (k.arch.irqchip_mode !== KVM_IRQCHIP_KERNEL) return -ENXIO;
      return cmd === KVM_GET_IRQCHIP
        ? kvm_vm_ioctl_get_irqchip(k, arg)
        : kvm_vm_ioctl_set_irqchip(k);
    case KVM_SET_BOOT_CPU_ID:
      // kvm_arch_vm_ioctl(): the id may equal the limit (the checks are `>`).
      if (k.created_vcpus) return -EBUSY;
      if (arg > BigInt(KVM_MAX_VCPU_IDS)) return -EINVAL;
      if (k.arch.max_vcpu_ids && arg > BigInt(k.arch.max_vcpu_ids)) return -EINVAL;
      k.arch.bsp_vcpu_id = Number(arg & 0xffffffffn);
      return 0;
    case KVM_SET_TSC_KHZ: {
      let user_tsc_khz = Number(arg & 0xffffffffn);
      if (user_tsc_khz >= MAX_GUEST_TSC_KHZ) return -EINVAL;
      if (user_tsc_khz === 0) user_tsc_khz = HOST_TSC_KHZ;
      if (k.created_vcpus) return -EINVAL;
      k.arch.default_tsc_khz = user_tsc_khz;
      return 0;
    }
    case KVM_GET_TSC_KHZ:
      // The u32 lands in kvm_arch_vm_ioctl()'s `int r` (x86.c at 042007c2):
      // a frequency at or above 2^31 kHz comes back negative.
      return k.arch.default_tsc_khz | 0;
    case KVM_X86_SET_MSR_FILTER:
      if (copy_in(arg, kvm_msr_filter.size)) return -EFAULT;
      return kvm_vm_ioctl_set_msr_filter(k);
    default:
      return -ENOTTY;
  }
}

// ---------------------------------------------------------------------------
// /dev/kvm

/**
 * `msrs_to_save`: the architectural MSRs of `msrs_to_save_base` that the
 * simulated host has. XSS is left out as `kvm_probe_msr_to_save()` leaves it
 * out when `kvm_caps.supported_xss` is 0 (no XSAVES).
 */
export const msrs_to_save: readonly number[] = [
  msr.MSR_IA32_SYSENTER_CS,
  msr.MSR_IA32_SYSENTER_ESP,
  msr.MSR_IA32_SYSENTER_EIP,
  msr.MSR_STAR,
  msr.MSR_CSTAR,
  msr.MSR_KERNEL_GS_BASE,
  msr.MSR_SYSCALL_MASK,
  msr.MSR_LSTAR,
  msr.MSR_IA32_TSC,
  msr.MSR_IA32_CR_PAT,
  msr.MSR_IA32_FEAT_CTL,
  msr.MSR_TSC_AUX,
  msr.MSR_IA32_SPEC_CTRL,
];

/**
 * `emulated_msrs`: the KVM-defined and emulated MSRs of `emulated_msrs_all`
 * the simulator implements. MCG_CAP is not among them: KVM sets it only
 * through KVM_X86_SETUP_MCE.
 */
export const emulated_msrs: readonly number[] = [
  msr.MSR_KVM_SYSTEM_TIME,
  msr.MSR_KVM_WALL_CLOCK,
  msr.MSR_KVM_SYSTEM_TIME_NEW,
  msr.MSR_KVM_WALL_CLOCK_NEW,
  msr.MSR_KVM_ASYNC_PF_EN,
  msr.MSR_KVM_STEAL_TIME,
  msr.MSR_KVM_PV_EOI_EN,
  msr.MSR_IA32_TSC_ADJUST,
  msr.MSR_IA32_TSC_DEADLINE,
  msr.MSR_IA32_ARCH_CAPABILITIES,
  msr.MSR_IA32_MISC_ENABLE,
  msr.MSR_IA32_MCG_STATUS,
  msr.MSR_IA32_MCG_CTL,
  msr.MSR_IA32_MCG_EXT_CTL,
  msr.MSR_PLATFORM_INFO,
  0x1fc, // MSR_IA32_POWER_CTL
  msr.MSR_IA32_UCODE_REV,
  msr.MSR_KVM_POLL_CONTROL,
];

/**
 * `kvm_is_advertised_msr()`: the index is on KVM_GET_MSR_INDEX_LIST. Userspace
 * that saves and restores every listed MSR must not fail on one KVM lacks an
 * emulation for, so `kvm_do_msr_access()` treats such a read (as 0) or a
 * write of 0 as a success.
 */
export function kvm_is_advertised_msr(index: number): boolean {
  return msrs_to_save.includes(index) || emulated_msrs.includes(index);
}

/** `msr_based_features`: what KVM_GET_MSR_FEATURE_INDEX_LIST reports. */
export const msr_based_features: readonly number[] = [
  msr.MSR_IA32_ARCH_CAPABILITIES,
  msr.MSR_IA32_UCODE_REV,
];

/** ARCH_CAPABILITIES of the simulated host: RDCL_NO, IBRS_ALL, SKIP_VMENTRY_L1DFLUSH, MDS_NO, PSCHANGE_MC_NO, TAA_NO. */
export const HOST_ARCH_CAPABILITIES = 0x1ebn;

function kvm_get_msr_feature(index: number): bigint | null {
  switch (index) {
    case msr.MSR_IA32_ARCH_CAPABILITIES:
      return HOST_ARCH_CAPABILITIES;
    case msr.MSR_IA32_UCODE_REV:
      return 0x2b000000n << 32n;
    default:
      return null;
  }
}

function get_msr_list(arg: bigint, list: readonly number[]): number {
  if (copy_in(arg, 4)) return -EFAULT;
  const n = scratch_dv.getUint32(0, true);
  scratch_dv.setUint32(0, list.length, true);
  if (copy_out(arg, scratch_u8, 4)) return -EFAULT;
  if (n < list.length) return -E2BIG;
  list.forEach((idx, i) => scratch_dv.setUint32(i * 4, idx, true));
  if (copy_out(arg + 4n, scratch_u8, list.length * 4)) return -EFAULT;
  return 0;
}

/** What KVM_GET_EMULATED_CPUID reports: the instructions KVM can emulate. */
const emulated_cpuid: readonly cpuid_entry[] = [
  { function: 0, index: 0, flags: 0, eax: 7, ebx: 0, ecx: 0, edx: 0 },
  { function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 1 << 22, edx: 0 },
  { function: 7, index: 0, flags: 1, eax: 0, ebx: 0, ecx: 1 << 22, edx: 0 },
];

/** `kvm_dev_ioctl_get_cpuid()` + its ioctl wrapper. */
function kvm_dev_ioctl_get_cpuid(arg: bigint, emulated: boolean): number {
  if (copy_in(arg, kvm_cpuid2.size)) return -EFAULT;
  let nent = scratch_dv.getUint32(0, true);
  if (nent < 1) return -E2BIG;
  if (nent > KVM_MAX_CPUID_ENTRIES) nent = KVM_MAX_CPUID_ENTRIES;
  // __do_cpuid_func_emulated(): leaf 0 (max leaf 7), MOVBE in leaf 1, RDPID in leaf 7.
  const table = emulated ? emulated_cpuid : supported_cpuid;
  if (nent < table.length) return -E2BIG;
  const out = new Uint8Array(table.length * CPUID_ENTRY2_SIZE);
  const dv = new DataView(out.buffer);
  table.forEach((ent, i) => put_cpuid_entry(dv, i * CPUID_ENTRY2_SIZE, ent));
  if (copy_out(arg + 8n, out)) return -EFAULT;
  scratch_dv.setUint32(0, table.length, true);
  if (copy_out(arg, scratch_u8, kvm_cpuid2.size)) return -EFAULT;
  return 0;
}

/** The requests `kvm_arch_dev_ioctl()` answers. */
export const kvm_arch_dev_ioctl_requests: readonly number[] = [
  KVM_GET_MSR_INDEX_LIST,
  KVM_GET_MSR_FEATURE_INDEX_LIST,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_EMULATED_CPUID,
  KVM_X86_GET_MCE_CAP_SUPPORTED,
  KVM_GET_MSRS,
];

/** `kvm_arch_dev_ioctl()`: the x86 `/dev/kvm` ioctls; unknown numbers are `-EINVAL`. */
export function kvm_arch_dev_ioctl(cmd: number, arg: bigint): number {
  switch (cmd) {
    case KVM_GET_MSR_INDEX_LIST:
      return get_msr_list(arg, [...msrs_to_save, ...emulated_msrs]);
    case KVM_GET_MSR_FEATURE_INDEX_LIST:
      return get_msr_list(arg, msr_based_features);
    case KVM_GET_SUPPORTED_CPUID:
      return kvm_dev_ioctl_get_cpuid(arg, false);
    case KVM_GET_EMULATED_CPUID:
      return kvm_dev_ioctl_get_cpuid(arg, true);
    case KVM_X86_GET_MCE_CAP_SUPPORTED:
      scratch_dv.setBigUint64(0, KVM_MCE_CAP_SUPPORTED, true);
      return copy_out(arg, scratch_u8, 8) ? -EFAULT : 0;
    case KVM_GET_MSRS:
      // do_get_feature_msr(): the feature MSRs, and 0 for the other advertised ones.
      return msr_io(arg, (index, data) =>
        kvm_do_msr_access(index, data, true, (i, d) => {
          const v = kvm_get_msr_feature(i);
          if (v === null) return KVM_MSR_RET_UNSUPPORTED;
          d[0] = v;
          return 0;
        }), true);
    default:
      return -EINVAL;
  }
}

// ---------------------------------------------------------------------------
// MSRs

const msr_data = [0n];

/**
 * `msr_io()`: runs `fn` on each entry of the `struct kvm_msrs` at `arg`,
 * stopping at the first failure; returns how many were processed, as the
 * kernel's `__msr_io()` does.
 */
function msr_io(
  arg: bigint,
  fn: (index: number, data: bigint[]) => number,
  writeback: boolean,
): number {
  if (copy_in(arg, kvm_msrs.size)) return -EFAULT;
  const n = scratch_dv.getUint32(0, true);
  // Checked before the entries are copied: a huge count with no entries is E2BIG.
  if (n >= MAX_IO_MSRS) return -E2BIG;
  const bytes = new Uint8Array(n * 16);
  if (current.mm.copy_from_user(bytes, arg + 8n)) return -EFAULT;
  const dv = new DataView(bytes.buffer);
  let i = 0;
  for (; i < n; i++) {
    msr_data[0] = dv.getBigUint64(i * 16 + 8, true);
    const r = fn(dv.getUint32(i * 16, true), msr_data);
    // The failing entry goes back too: a failed read leaves its data zeroed.
    dv.setBigUint64(i * 16 + 8, msr_data[0], true);
    if (r) break;
  }
  if (writeback && copy_out(arg + 8n, bytes)) return -EFAULT;
  return i;
}

function is_noncanonical(v: bigint): boolean {
  // With LA57 in the host, KVM checks canonicality against 57 bits.
  const top = BigInt.asIntN(64, v) >> 56n;
  return top !== 0n && top !== -1n;
}

/** `KVM_MSR_RET_INVALID`: the MSR exists but the access or value is invalid (#GP). */
export const KVM_MSR_RET_INVALID = 1;
/** `KVM_MSR_RET_UNSUPPORTED`: KVM does not emulate the MSR. */
export const KVM_MSR_RET_UNSUPPORTED = 2;
/** `KVM_MSR_RET_FILTERED`: the MSR filter denied a guest access. */
export const KVM_MSR_RET_FILTERED = 3;

/**
 * `kvm_do_msr_access()` for host-initiated accesses. A read that fails hands
 * back 0, never stale data. A KVM_MSR_RET_UNSUPPORTED result on an advertised
 * index becomes success when the value involved is 0 (every such read, or a
 * write of 0). `ignore_msrs` keeps its default, off.
 */
export function kvm_do_msr_access(
  index: number,
  data: bigint[],
  read: boolean,
  access: (index: number, data: bigint[]) => number,
): number {
  const r = access(index, data);
  if (r && read) data[0] = 0n;
  if (r === KVM_MSR_RET_UNSUPPORTED && data[0] === 0n && kvm_is_advertised_msr(index)) return 0;
  return r;
}

/**
 * `kvm_get_msr_common()` + the VMX MSRs: 0 and the value in `data[0]`, or
 * `KVM_MSR_RET_UNSUPPORTED` / `KVM_MSR_RET_INVALID`. MSRs that are guest state
 * in the VMCS (EFER, segment bases, APIC base, PAT, syscall/sysenter MSRs,
 * the TSC offset) are read from it.
 */
export function kvm_get_msr(vcpu: kvm_vcpu, index: number, data: bigint[], host: boolean): number {
  const a = vcpu.arch;
  const v = a.vmcs;
  switch (index) {
    case msr.MSR_EFER:
      data[0] = v.efer;
      return 0;
    case msr.MSR_FS_BASE:
      data[0] = v.fs.base;
      return 0;
    case msr.MSR_GS_BASE:
      data[0] = v.gs.base;
      return 0;
    case msr.MSR_KERNEL_GS_BASE:
      data[0] = v.kernel_gs_base;
      return 0;
    case msr.MSR_STAR:
      data[0] = v.star;
      return 0;
    case msr.MSR_LSTAR:
      data[0] = v.lstar;
      return 0;
    case msr.MSR_CSTAR:
      data[0] = v.cstar;
      return 0;
    case msr.MSR_SYSCALL_MASK:
      data[0] = v.fmask;
      return 0;
    case msr.MSR_IA32_SYSENTER_CS:
      data[0] = v.sysenter_cs;
      return 0;
    case msr.MSR_IA32_SYSENTER_ESP:
      data[0] = v.sysenter_esp;
      return 0;
    case msr.MSR_IA32_SYSENTER_EIP:
      data[0] = v.sysenter_eip;
      return 0;
    case msr.MSR_IA32_CR_PAT:
      data[0] = v.pat;
      return 0;
    case msr.MSR_TSC_AUX:
      if (!host && !guest_has_tsc_aux(vcpu)) return KVM_MSR_RET_INVALID;
      data[0] = v.tsc_aux;
      return 0;
    case msr.MSR_IA32_MISC_ENABLE:
      data[0] = v.misc_enable;
      return 0;
    case msr.MSR_IA32_APICBASE:
      data[0] = v.apic_base;
      return 0;
    case msr.MSR_IA32_TSC:
      data[0] = guest_tsc(vcpu);
      return 0;
    case msr.MSR_IA32_ARCH_CAPABILITIES:
    case msr.MSR_IA32_UCODE_REV:
      data[0] = a.msrs.get(index) ?? kvm_get_msr_feature(index)!;
      return 0;
    case msr.MSR_MTRRcap:
      data[0] = 0x508n;
      return 0;
    case msr.MSR_IA32_PRED_CMD:
      return host ? 0 : KVM_MSR_RET_UNSUPPORTED;
    case msr.MSR_IA32_TSC_DEADLINE:
      data[0] = kvm_get_lapic_tscdeadline_msr(vcpu);
      return 0;
    case msr.MSR_PLATFORM_INFO:
      if (!host && !vcpu.kvm.arch.guest_can_read_msr_platform_info) return KVM_MSR_RET_INVALID;
      break;
    case msr.MSR_KVM_WALL_CLOCK:
    case msr.MSR_KVM_SYSTEM_TIME:
    case msr.MSR_KVM_WALL_CLOCK_NEW:
    case msr.MSR_KVM_SYSTEM_TIME_NEW:
    case msr.MSR_KVM_ASYNC_PF_EN:
    case msr.MSR_KVM_STEAL_TIME:
    case msr.MSR_KVM_PV_EOI_EN:
      if (!guest_pv_has(vcpu, pv_msr_feature(index))) return KVM_MSR_RET_UNSUPPORTED;
      data[0] = a.msrs.get(index) ?? 0n;
      return 0;
    case msr.MSR_K7_HWCR:
      data[0] = a.msrs.get(index) ?? 0n;
      return 0;
    case msr.MSR_KVM_POLL_CONTROL:
      // Without the PV feature: unsupported, like the other PV MSRs, so that
      // userspace still reads 0 (the 6.18 reference does; x86.c at 042007c2
      // reads `return 1`, docs/fidelity.md).
      if (!guest_pv_has(vcpu, KVM_FEATURE_POLL_CONTROL)) return KVM_MSR_RET_UNSUPPORTED;
      data[0] = a.msr_kvm_poll_control;
      return 0;
    case msr.MSR_IA32_MCG_EXT_CTL:
      // vmx_get_msr(): the guest needs LMCE opted in through FEATURE_CONTROL.
      if (!host && !((a.msrs.get(msr.MSR_IA32_FEAT_CTL) ?? 0n) & msr.FEAT_CTL_LMCE_ENABLED)) {
        return KVM_MSR_RET_INVALID;
      }
      data[0] = a.mce.mcg_ext_ctl;
      return 0;
    case msr.MSR_IA32_POWER_CTL:
      // Stored as written; 0 at reset.
      data[0] = a.msrs.get(index) ?? 0n;
      return 0;
    case msr.MSR_IA32_XSS:
      break;
    default:
      if (index >= msr.APIC_BASE_MSR && index <= 0x8ff) {
        // kvm_x2apic_msr_read() (lapic.c): no in-kernel LAPIC, not in x2APIC mode,
        // or a register x2APIC lacks: the access fails.
        if (!irqchip_in_kernel(vcpu.kvm)) return KVM_MSR_RET_UNSUPPORTED;
        const v = kvm_x2apic_msr_read(vcpu, index);
        if (v === null) return KVM_MSR_RET_INVALID;
        data[0] = v;
        return 0;
      }
      if (is_mce_msr(index)) return get_msr_mce(vcpu, index, data, host);
  }
  const val = a.msrs.get(index);
  if (val === undefined) return KVM_MSR_RET_UNSUPPORTED;
  data[0] = val;
  return 0;
}

/**
 * `kvm_set_msr_common()` + the VMX MSRs: 0, `KVM_MSR_RET_INVALID` (bad
 * value) or `KVM_MSR_RET_UNSUPPORTED`. VMCS-resident MSRs are written there.
 */
export function kvm_set_msr(vcpu: kvm_vcpu, index: number, data: bigint, host: boolean): number {
  const a = vcpu.arch;
  const v = a.vmcs;
  switch (index) {
    case msr.MSR_EFER: {
      if (data & EFER_RESERVED) return KVM_MSR_RET_INVALID;
      if (!host) {
        // A guest may not toggle LME while paging is on; LMA is the CPU's.
        const paging = (v.cr0 & X86_CR0_PG) !== 0n;
        if (paging && ((data ^ v.efer) & msr.EFER_LME)) return KVM_MSR_RET_INVALID;
        data = (data & ~msr.EFER_LMA) | (v.efer & msr.EFER_LMA);
      }
      v.efer = data;
      return 0;
    }
    case msr.MSR_FS_BASE:
    case msr.MSR_GS_BASE:
    case msr.MSR_KERNEL_GS_BASE:
    case msr.MSR_LSTAR:
    case msr.MSR_CSTAR:
    case msr.MSR_IA32_SYSENTER_ESP:
    case msr.MSR_IA32_SYSENTER_EIP:
      if (index === msr.MSR_IA32_SYSENTER_ESP || index === msr.MSR_IA32_SYSENTER_EIP) {
        // __kvm_set_msr() folds the value to canonical form instead of
        // faulting: AMD parts, which use only the low half of these MSRs,
        // accept anything, while VM entry on Intel rejects a non-canonical
        // SYSENTER field, so the stored value must be canonical.
        data = BigInt.asUintN(64, BigInt.asIntN(57, data));
      } else if (is_noncanonical(data)) {
        // __kvm_set_msr() checks canonicality for userspace writes too.
        return KVM_MSR_RET_INVALID;
      }
      if (index === msr.MSR_FS_BASE) v.fs.base = data;
      else if (index === msr.MSR_GS_BASE) v.gs.base = data;
      else if (index === msr.MSR_KERNEL_GS_BASE) v.kernel_gs_base = data;
      else if (index === msr.MSR_LSTAR) v.lstar = data;
      else if (index === msr.MSR_CSTAR) v.cstar = data;
      else if (index === msr.MSR_IA32_SYSENTER_ESP) v.sysenter_esp = data;
      else v.sysenter_eip = data;
      return 0;
    case msr.MSR_IA32_APICBASE: {
      // kvm_set_apic_base(): reserved bits above MAXPHYADDR and below bit 8
      // (other than BSP), x2APIC without it in CPUID, and x2APIC without the
      // enable bit fail; the guest may not leave x2APIC for xAPIC, nor go from
      // disabled straight to x2APIC.
      if (v.apic_base === data) return 0;
      if (!kvm_valid_apic_base(vcpu, data)) return KVM_MSR_RET_INVALID;
      const mode = (b: bigint) => Number((b >> 10n) & 3n); // 0 off, 2 xAPIC, 3 x2APIC
      if (!host && mode(v.apic_base) === 3 && mode(data) === 2) return KVM_MSR_RET_INVALID;
      if (!host && mode(v.apic_base) === 0 && mode(data) === 3) return KVM_MSR_RET_INVALID;
      const old = v.apic_base;
      v.apic_base = data;
      kvm_lapic_set_base(vcpu, old);
      return 0;
    }
    case msr.MSR_IA32_TSC:
      // kvm_set_msr_common() (kvm-x86 next, arch/x86/kvm/x86.c): userspace
      // sets the offset outright (kvm_synchronize_tsc()); a guest write moves
      // the offset by the difference and IA32_TSC_ADJUST by the same amount.
      if (host) {
        kvm_synchronize_tsc(vcpu, data);
      } else {
        const adj = BigInt.asUintN(64, data - host_tsc_scaled(vcpu) - v.tsc_offset);
        v.tsc_offset = BigInt.asUintN(64, v.tsc_offset + adj);
        const adjust = a.msrs.get(msr.MSR_IA32_TSC_ADJUST) ?? 0n;
        a.msrs.set(msr.MSR_IA32_TSC_ADJUST, BigInt.asUintN(64, adjust + adj));
      }
      return 0;
    case msr.MSR_IA32_CR_PAT: {
      // Eight one-byte entries, each UC, WC, WT, WP, WB or UC- (2 and 3 are undefined).
      for (let i = 0n; i < 64n; i += 8n) {
        const t = (data >> i) & 0xffn;
        if (t === 2n || t === 3n || t > 7n) return KVM_MSR_RET_INVALID;
      }
      v.pat = data;
      return 0;
    }
    case msr.MSR_STAR:
      v.star = data;
      return 0;
    case msr.MSR_SYSCALL_MASK:
      v.fmask = data;
      return 0;
    case msr.MSR_IA32_SYSENTER_CS:
      v.sysenter_cs = data;
      return 0;
    case msr.MSR_TSC_AUX:
      if (!host && !guest_has_tsc_aux(vcpu)) return KVM_MSR_RET_INVALID;
      // Bits 63:32 are reserved (Intel's definition), for userspace writes as well.
      if (data >> 32n) return KVM_MSR_RET_INVALID;
      v.tsc_aux = data;
      return 0;
    case msr.MSR_IA32_MISC_ENABLE: {
      // kvm_set_msr_common() (kvm-x86 next): for the guest, PEBS/BTS_UNAVAIL
      // are read-only (a change faults) and EMON (bit 7) ignores writes.
      const EMON = 1n << 7n;
      const ro = msr.MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL | msr.MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
      if (!host) {
        if ((v.misc_enable ^ data) & ro) return KVM_MSR_RET_INVALID;
        data = (data & ~EMON) | (v.misc_enable & EMON);
      }
      v.misc_enable = data;
      return 0;
    }
    case msr.MSR_MTRRdefType: {
      // kvm_mtrr_valid(): type, FE and E only; the type must be a valid memory type.
      const type = data & 0xffn;
      if (data & ~0xcffn || type === 2n || type === 3n || type > 6n) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    }
    case msr.MSR_IA32_FEAT_CTL:
      if (!is_vmx_feature_control_msr_valid(vcpu, data, host)) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_IA32_TSC_ADJUST: {
      // Without TSC_ADJUST in the guest CPUID the write is dropped, not refused.
      // A guest write also moves the TSC offset by the change (kvm_set_msr_common()
      // -> adjust_tsc_offset_guest()); userspace only sets the MSR.
      const l7 = kvm_find_cpuid_entry_index(a.cpuid_entries, 7, 0);
      if (l7 && l7.ebx & (1 << 1)) {
        if (!host) {
          const adj = BigInt.asUintN(64, data - (a.msrs.get(index) ?? 0n));
          v.tsc_offset = BigInt.asUintN(64, v.tsc_offset + adj);
        }
        a.msrs.set(index, data);
      }
      return 0;
    }
    case msr.MSR_IA32_SPEC_CTRL:
      // Stored as written (the host's SPEC_CTRL test write is not modelled).
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_KVM_POLL_CONTROL:
      // kvm_set_msr_common(): bit 0 (enable) is the whole register; any other bit faults.
      if (!guest_pv_has(vcpu, KVM_FEATURE_POLL_CONTROL)) return KVM_MSR_RET_UNSUPPORTED;
      if (data & ~1n) return KVM_MSR_RET_INVALID;
      a.msr_kvm_poll_control = data;
      return 0;
    case msr.MSR_IA32_MCG_EXT_CTL:
      // vmx_set_msr(): LMCE opted in (or userspace), and only LMCE_EN.
      if (
        (!host && !((a.msrs.get(msr.MSR_IA32_FEAT_CTL) ?? 0n) & msr.FEAT_CTL_LMCE_ENABLED)) ||
        (data & ~MCG_EXT_CTL_LMCE_EN)
      ) {
        return KVM_MSR_RET_INVALID;
      }
      a.mce.mcg_ext_ctl = data;
      return 0;
    case msr.MSR_K7_HWCR:
      // kvm_set_msr_common(): writes to bits 3, 6 and 8 (TLB-cache disable,
      // flush-filter disable, IGNNE emulation) are dropped silently. Of the
      // rest, McStatusWrEn (18) and TscFreqSel (24) may be set, the latter
      // because Linux guests complain on some CPU models when it reads as 0;
      // other bits fault.
      data &= ~(0x40n | 0x100n | 0x8n);
      if (data & ~((1n << 18n) | (1n << 24n))) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_IA32_POWER_CTL:
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_KVM_WALL_CLOCK:
    case msr.MSR_KVM_SYSTEM_TIME:
    case msr.MSR_KVM_WALL_CLOCK_NEW:
    case msr.MSR_KVM_SYSTEM_TIME_NEW:
      if (!guest_pv_has(vcpu, pv_msr_feature(index))) return KVM_MSR_RET_UNSUPPORTED;
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_KVM_PV_EOI_EN:
      if (!guest_pv_has(vcpu, KVM_FEATURE_PV_EOI)) return KVM_MSR_RET_UNSUPPORTED;
      // kvm_lapic_set_pv_eoi(): the address (all but the enable bit) must be
      // 4-byte aligned, and enabling maps it (kvm_gfn_to_hva_cache_init()).
      if (data & 2n) return KVM_MSR_RET_INVALID;
      if ((data & 1n) && !kvm_gpa_is_writable(vcpu.kvm, data & ~1n, 1)) {
        return KVM_MSR_RET_INVALID;
      }
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_KVM_ASYNC_PF_EN:
      if (!guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF)) return KVM_MSR_RET_UNSUPPORTED;
      // kvm_pv_enable_async_pf(): bits 4 and 5 must be 0; with no in-kernel
      // LAPIC, so must all the others.
      if (data & 0x30n) return KVM_MSR_RET_INVALID;
      if (!irqchip_in_kernel(vcpu.kvm) && data) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_KVM_STEAL_TIME:
      if (!guest_pv_has(vcpu, KVM_FEATURE_STEAL_TIME)) return KVM_MSR_RET_UNSUPPORTED;
      // KVM_STEAL_RESERVED_MASK: bits 1-5 (the area is 64-byte aligned).
      if (data & 0x3en) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_IA32_PRED_CMD:
      return data & ~1n ? KVM_MSR_RET_INVALID : 0;
    case msr.MSR_IA32_XSS:
      return data ? KVM_MSR_RET_INVALID : (a.msrs.set(index, 0n), 0);
    case msr.MSR_IA32_TSC_DEADLINE:
      // kvm_set_lapic_tscdeadline_msr() ignores the write without an in-kernel LAPIC.
      kvm_set_lapic_tscdeadline_msr(vcpu, data);
      return 0;
    case msr.MSR_IA32_ARCH_CAPABILITIES:
      // Only userspace, and only with bits KVM supports.
      if (!host || (data & ~HOST_ARCH_CAPABILITIES)) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_PLATFORM_INFO:
      if (!host) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    case msr.MSR_IA32_UCODE_REV:
      // Only userspace may set these (feature MSRs).
      if (!host) return KVM_MSR_RET_INVALID;
      a.msrs.set(index, data);
      return 0;
    default:
      // kvm_set_msr_common() sends MCG_CTL/STATUS and the banks to
      // set_msr_mce(); MCG_CAP and the P5 MSRs have no write case.
      if (is_mce_msr(index) && index !== msr.MSR_IA32_MCG_CAP && index > msr.MSR_IA32_P5_MC_TYPE) {
        return set_msr_mce(vcpu, index, data, host);
      }
      if (index >= msr.APIC_BASE_MSR && index <= 0x8ff && irqchip_in_kernel(vcpu.kvm)) {
        // kvm_x2apic_msr_write() (lapic.c).
        return kvm_x2apic_msr_write(vcpu, index, data) ? KVM_MSR_RET_INVALID : 0;
      }
      return KVM_MSR_RET_UNSUPPORTED;
  }
}

/**
 * `guest_pv_has()`: with KVM_CAP_ENFORCE_PV_FEATURE_CPUID, a paravirtual
 * feature exists only if the KVM leaf of the guest CPUID
 * (`kvm_find_kvm_cpuid_features()`: the "KVMKVMKVM" signature in a
 * 0x40000000 + n * 0x100 leaf, features in EAX of the next) offers it. A PV
 * MSR without its feature is unsupported, for userspace too (which may still
 * read it as 0 and write 0: `kvm_do_msr_access()`).
 */
export function guest_pv_has(vcpu: kvm_vcpu, feature: number): boolean {
  if (!vcpu.arch.pv_cpuid_enforce) return true;
  const f = kvm_find_kvm_cpuid_features(vcpu.arch.cpuid_entries);
  return !!f && ((f.eax >>> feature) & 1) === 1;
}

/**
 * `kvm_find_kvm_cpuid_features()`: the KVM_CPUID_FEATURES leaf of the KVM
 * paravirt base ("KVMKVMKVM" at 0x40000000 + n * 0x100), or undefined when
 * the table has no KVM signature. The bases searched are
 * `for_each_possible_cpuid_base_hypervisor()`'s (asm/cpuid/api.h, as
 * `kvm_get_hypervisor_cpuid()` walks them): 256 of them, below 0x40010000.
 * (Searching on to 0x50000000 made every KVM_SET_CPUID2 take ~200 ms.)
 */
function kvm_find_kvm_cpuid_features(e: readonly cpuid_entry[]): cpuid_entry | undefined {
  for (let base = KVM_CPUID_SIGNATURE; base < 0x40010000; base += 0x100) {
    const sig = kvm_find_cpuid_entry_index(e, base, 0);
    if (
      sig && sig.ebx === KVM_SIGNATURE[0] && sig.ecx === KVM_SIGNATURE[1] &&
      sig.edx === KVM_SIGNATURE[2] && sig.eax - base < 0x100
    ) {
      return kvm_find_cpuid_entry_index(e, base | 1, 0) ?? undefined;
    }
  }
  return undefined;
}

/**
 * `kvm_apply_cpuid_pv_features_quirk()` (cpuid.c, kvm-x86 next, from
 * kvm_vcpu_after_set_cpuid()): with HLT exits disabled the guest halts
 * natively, so KVM cannot wake it for a PV kick: PV_UNHALT is cleared from
 * the KVM features leaf, if the table has KVM's signature.
 */
function kvm_apply_cpuid_pv_features_quirk(vcpu: kvm_vcpu): void {
  const best = kvm_find_kvm_cpuid_features(vcpu.arch.cpuid_entries);
  if (!best) return;
  if (vcpu.kvm.arch.disabled_exits & KVM_X86_DISABLE_EXITS_HLT) {
    best.eax = (best.eax & ~(1 << KVM_FEATURE_PV_UNHALT)) >>> 0;
  }
}

/**
 * vmx_get_msr()/vmx_set_msr() (kvm-x86 next): the guest reaches TSC_AUX only
 * if its CPUID has RDTSCP or RDPID; userspace always can.
 */
function guest_has_tsc_aux(vcpu: kvm_vcpu): boolean {
  const e = vcpu.arch.cpuid_entries;
  const ext1 = kvm_find_cpuid_entry_index(e, 0x80000001, 0);
  const l7 = kvm_find_cpuid_entry_index(e, 7, 0);
  return !!(ext1 && (ext1.edx >>> 27) & 1) || !!(l7 && (l7.ecx >>> 22) & 1);
}

/** "KVMKVMKVM\0\0\0" as CPUID EBX, ECX, EDX. */
const KVM_SIGNATURE = [0x4b4d564b, 0x564b4d56, 0x4d];

/** The PV feature whose CPUID bit guards a kvmclock MSR. */
function pv_msr_feature(index: number): number {
  switch (index) {
    case msr.MSR_KVM_WALL_CLOCK:
    case msr.MSR_KVM_SYSTEM_TIME:
      return KVM_FEATURE_CLOCKSOURCE;
    case msr.MSR_KVM_ASYNC_PF_EN:
      return KVM_FEATURE_ASYNC_PF;
    case msr.MSR_KVM_STEAL_TIME:
      return KVM_FEATURE_STEAL_TIME;
    case msr.MSR_KVM_PV_EOI_EN:
      return KVM_FEATURE_PV_EOI;
    default:
      return KVM_FEATURE_CLOCKSOURCE2;
  }
}

/**
 * `KVM_SUPPORTED_FEATURE_CONTROL`: LOCKED, VMX inside/outside SMX, SGX
 * launch control and enable, LMCE: what userspace may set.
 */
const KVM_SUPPORTED_FEATURE_CONTROL = msr.FEAT_CTL_LOCKED | (1n << 1n) | (1n << 2n) | (1n << 17n) |
  (1n << 18n) | (1n << 20n);

/**
 * `is_vmx_feature_control_msr_valid()`: userspace may set any bit KVM
 * supports; the guest only the vCPU's valid bits, and nothing once LOCKED is
 * set. The valid bits are LOCKED alone: no nested VMX, no SGX, and no
 * KVM_X86_SETUP_MCE to offer LMCE.
 */
function is_vmx_feature_control_msr_valid(vcpu: kvm_vcpu, data: bigint, host: boolean): boolean {
  if (host) return !(data & ~KVM_SUPPORTED_FEATURE_CONTROL);
  if ((vcpu.arch.msrs.get(msr.MSR_IA32_FEAT_CTL) ?? 0n) & msr.FEAT_CTL_LOCKED) return false;
  // vmx_setup_mce(): LMCE_ENABLED is valid while MCG_CAP has LMCE_P.
  const lmce = vcpu.arch.mce.mcg_cap & MCG_LMCE_P ? msr.FEAT_CTL_LMCE_ENABLED : 0n;
  return !(data & ~(msr.FEAT_CTL_LOCKED | lmce));
}

/**
 * Whether `kvm_gfn_to_hva_cache_init()` can map `len` bytes at `gpa`: every
 * page in a writable memslot of address space 0.
 */
function kvm_gpa_is_writable(k: kvm, gpa: bigint, len: number): boolean {
  const first = gpa >> BigInt(PAGE_SHIFT);
  const last = (gpa + BigInt(len) - 1n) >> BigInt(PAGE_SHIFT);
  for (let gfn = first; gfn <= last; gfn++) {
    const s = gfn_to_memslot(k, Number(gfn));
    if (!s || (s.flags & KVM_MEM_READONLY)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Machine check (x86.c at 042007c2: set_msr_mce(), get_msr_mce(),
// kvm_vcpu_ioctl_x86_setup_mce(), kvm_vcpu_ioctl_x86_set_mce())

/** `MCG_CTL_P`: MCG_CTL exists. */
const MCG_CTL_P = 1n << 8n;
/** `MCG_CMCI_P`: corrected-error interrupts (MCi_CTL2) exist. */
const MCG_CMCI_P = 1n << 10n;
/** `MCG_SER_P`: software error recovery. */
const MCG_SER_P = 1n << 24n;
/** `MCG_LMCE_P`: local machine checks (MCG_EXT_CTL). */
const MCG_LMCE_P = 1n << 27n;
/** `MCG_EXT_CTL_LMCE_EN`. */
const MCG_EXT_CTL_LMCE_EN = 1n;
/** `MCG_STATUS_MCIP`: a machine check is in progress. */
const MCG_STATUS_MCIP = 1n << 2n;
const MCI_STATUS_VAL = 1n << 63n;
const MCI_STATUS_OVER = 1n << 62n;
const MCI_STATUS_UC = 1n << 61n;
const MCI_STATUS_PCC = 1n << 57n;
const MCI_STATUS_S = 1n << 56n;
const MCI_STATUS_AR = 1n << 55n;
/** `MCI_CTL2_CMCI_EN` | `MCI_CTL2_CMCI_THRESHOLD_MASK`: the writable MCi_CTL2 bits. */
const MCI_CTL2_CMCI_EN = 1n << 30n;
const MCI_CTL2_VALID = MCI_CTL2_CMCI_EN | 0x7fffn;
const U64_MAX = 0xffffffffffffffffn;

/**
 * `kvm_caps.supported_mce_cap` on VMX: CTL_P and SER_P from
 * kvm_x86_vendor_init(), LMCE_P and CMCI_P from vmx hardware_setup().
 */
export const KVM_MCE_CAP_SUPPORTED: bigint = MCG_CTL_P | MCG_SER_P | MCG_LMCE_P | MCG_CMCI_P;

/** The MSRs `kvm_get_msr_common()` hands to `get_msr_mce()`. */
function is_mce_msr(index: number): boolean {
  return index === msr.MSR_IA32_P5_MC_ADDR || index === msr.MSR_IA32_P5_MC_TYPE ||
    index === msr.MSR_IA32_MCG_CAP || index === msr.MSR_IA32_MCG_CTL ||
    index === msr.MSR_IA32_MCG_STATUS ||
    (index >= msr.MSR_IA32_MC0_CTL && index < msr.MSR_IA32_MC0_CTL + 4 * KVM_MAX_MCE_BANKS) ||
    (index >= msr.MSR_IA32_MC0_CTL2 && index < msr.MSR_IA32_MC0_CTL2 + KVM_MAX_MCE_BANKS);
}

/**
 * `can_set_mci_status()`: only a guest whose CPUID vendor is AMD or Hygon,
 * with HWCR.McStatusWrEn (bit 18), may write a non-zero MCi_STATUS.
 */
function can_set_mci_status(vcpu: kvm_vcpu): boolean {
  const e = kvm_find_cpuid_entry_index(vcpu.arch.cpuid_entries, 0, 0);
  // "AuthenticAMD" / "HygonGenuine" EBX.
  const amd = !!e && (e.ebx === 0x68747541 || e.ebx === 0x6f677948);
  return amd && ((vcpu.arch.msrs.get(msr.MSR_K7_HWCR) ?? 0n) & (1n << 18n)) !== 0n;
}

/** `get_msr_mce()`: 0 and `data[0]`, or KVM_MSR_RET_INVALID. */
function get_msr_mce(vcpu: kvm_vcpu, index: number, data: bigint[], host: boolean): number {
  const m = vcpu.arch.mce;
  const bank_num = Number(m.mcg_cap & 0xffn);
  switch (index) {
    case msr.MSR_IA32_P5_MC_ADDR:
    case msr.MSR_IA32_P5_MC_TYPE:
      data[0] = 0n;
      return 0;
    case msr.MSR_IA32_MCG_CAP:
      data[0] = m.mcg_cap;
      return 0;
    case msr.MSR_IA32_MCG_CTL:
      if (!(m.mcg_cap & MCG_CTL_P) && !host) return KVM_MSR_RET_INVALID;
      data[0] = m.mcg_ctl;
      return 0;
    case msr.MSR_IA32_MCG_STATUS:
      data[0] = m.mcg_status;
      return 0;
  }
  if (index >= msr.MSR_IA32_MC0_CTL2 && index < msr.MSR_IA32_MC0_CTL2 + KVM_MAX_MCE_BANKS) {
    if (index > msr.MSR_IA32_MC0_CTL2 + bank_num - 1) return KVM_MSR_RET_INVALID;
    if (!(m.mcg_cap & MCG_CMCI_P) && !host) return KVM_MSR_RET_INVALID;
    data[0] = m.ctl2[index - msr.MSR_IA32_MC0_CTL2]!;
    return 0;
  }
  if (index > msr.MSR_IA32_MC0_CTL + 4 * bank_num - 1) return KVM_MSR_RET_INVALID;
  data[0] = m.banks[index - msr.MSR_IA32_MC0_CTL]!;
  return 0;
}

/**
 * `set_msr_mce()`: MCG_STATUS, MCG_CTL, the banks and their CTL2, checked in
 * the kernel's order; 0 or KVM_MSR_RET_INVALID (a #GP for the guest).
 */
function set_msr_mce(vcpu: kvm_vcpu, index: number, data: bigint, host: boolean): number {
  const m = vcpu.arch.mce;
  const bank_num = Number(m.mcg_cap & 0xffn);
  switch (index) {
    case msr.MSR_IA32_MCG_STATUS:
      m.mcg_status = data;
      return 0;
    case msr.MSR_IA32_MCG_CTL:
      // Without MCG_CTL_P only userspace may write, and only 0.
      if (!(m.mcg_cap & MCG_CTL_P) && (data || !host)) return KVM_MSR_RET_INVALID;
      if (data !== 0n && data !== U64_MAX) return KVM_MSR_RET_INVALID;
      m.mcg_ctl = data;
      return 0;
  }
  if (index >= msr.MSR_IA32_MC0_CTL2 && index < msr.MSR_IA32_MC0_CTL2 + KVM_MAX_MCE_BANKS) {
    if (index > msr.MSR_IA32_MC0_CTL2 + bank_num - 1) return KVM_MSR_RET_INVALID;
    if (!(m.mcg_cap & MCG_CMCI_P) && (data || !host)) return KVM_MSR_RET_INVALID;
    if (data & ~MCI_CTL2_VALID) return KVM_MSR_RET_INVALID;
    m.ctl2[index - msr.MSR_IA32_MC0_CTL2] = data;
    return 0;
  }
  if (index > msr.MSR_IA32_MC0_CTL + 4 * bank_num - 1) return KVM_MSR_RET_INVALID;
  // A bank's CTL is architecturally either 0 or all ones. Two old guests write
  // all ones but one bit (Linux's K8 GART workaround clears bit 10, UnixWare
  // clears bit 0), so those bits are left out of the comparison.
  if ((index & 3) === 0 && data !== 0n && (data | (1n << 10n) | 1n) !== U64_MAX) {
    return KVM_MSR_RET_INVALID;
  }
  // MCi_STATUS: a guest write other than 0 faults, except on an AMD-like vCPU
  // with McStatusWrEn set.
  if (!host && (index & 3) === 1 && data !== 0n && !can_set_mci_status(vcpu)) {
    return KVM_MSR_RET_INVALID;
  }
  m.banks[index - msr.MSR_IA32_MC0_CTL] = data;
  return 0;
}

/**
 * `kvm_vcpu_ioctl_x86_setup_mce()`: 1..KVM_MAX_MCE_BANKS banks, feature bits
 * KVM supports plus the bank count (bits 7:0) and extended count (23:16).
 */
function kvm_vcpu_ioctl_x86_setup_mce(vcpu: kvm_vcpu, mcg_cap: bigint): number {
  const bank_num = Number(mcg_cap & 0xffn);
  if (!bank_num || bank_num > KVM_MAX_MCE_BANKS) return -EINVAL;
  if (mcg_cap & ~(KVM_MCE_CAP_SUPPORTED | 0xffn | 0xff0000n)) return -EINVAL;
  const m = vcpu.arch.mce;
  m.mcg_cap = mcg_cap;
  if (mcg_cap & MCG_CTL_P) m.mcg_ctl = U64_MAX;
  for (let bank = 0; bank < bank_num; bank++) {
    m.banks[bank * 4] = U64_MAX;
    if (mcg_cap & MCG_CMCI_P) m.ctl2[bank] = 0n;
  }
  kvm_apic_after_set_mcg_cap(vcpu);
  // vmx_setup_mce(): FEATURE_CONTROL's valid bits follow LMCE_P, read from
  // mcg_cap by is_vmx_feature_control_msr_valid().
  return 0;
}

/** `is_ucna()`: uncorrected, no action required (signalled by CMCI, not #MC). */
function is_ucna(mce: ReturnType<typeof kvm_x86_mce.view>): boolean {
  return !mce.mcg_status && !(mce.status & (MCI_STATUS_PCC | MCI_STATUS_S | MCI_STATUS_AR)) &&
    !!(mce.status & MCI_STATUS_VAL) && !!(mce.status & MCI_STATUS_UC);
}

/** `kvm_vcpu_ioctl_x86_set_mce()`: records the error in its bank, queuing #MC for a UC one. */
function kvm_vcpu_ioctl_x86_set_mce(
  vcpu: kvm_vcpu,
  mce: ReturnType<typeof kvm_x86_mce.view>,
): number {
  const m = vcpu.arch.mce;
  const bank_num = Number(m.mcg_cap & 0xffn);
  if (mce.bank >= bank_num || !(mce.status & MCI_STATUS_VAL)) return -EINVAL;
  const b = 4 * mce.bank;
  const banks = m.banks;
  if (is_ucna(mce)) {
    // kvm_vcpu_x86_set_ucna(): the CMCI it may raise needs an in-kernel LAPIC.
    banks[b + 1] = mce.status;
    banks[b + 2] = mce.addr;
    banks[b + 3] = mce.misc;
    m.mcg_status = mce.mcg_status;
    return 0;
  }
  const uc = (mce.status & MCI_STATUS_UC) !== 0n;
  // A UC error is silently discarded unless both the global and the bank
  // control registers still enable every error source.
  if (uc && (m.mcg_cap & MCG_CTL_P) && m.mcg_ctl !== U64_MAX) return 0;
  if (uc && banks[b] !== U64_MAX) return 0;
  let status = mce.status;
  if (uc) {
    // A second #MC while one is in progress, or with CR4.MCE clear, shuts down.
    if ((m.mcg_status & MCG_STATUS_MCIP) || !(vcpu.arch.vmcs.cr4 & X86_CR4_MCE)) {
      vcpu.arch.triple_fault_pending = true;
      return 0;
    }
    if (banks[b + 1]! & MCI_STATUS_VAL) status |= MCI_STATUS_OVER;
    banks[b + 2] = mce.addr;
    banks[b + 3] = mce.misc;
    m.mcg_status = mce.mcg_status;
    banks[b + 1] = status;
    kvm_queue_exception(vcpu, MC_VECTOR);
  } else if (!(banks[b + 1]! & MCI_STATUS_VAL) || !(banks[b + 1]! & MCI_STATUS_UC)) {
    if (banks[b + 1]! & MCI_STATUS_VAL) status |= MCI_STATUS_OVER;
    banks[b + 2] = mce.addr;
    banks[b + 3] = mce.misc;
    banks[b + 1] = status;
  } else {
    banks[b + 1] = banks[b + 1]! | MCI_STATUS_OVER;
  }
  return 0;
}

/**
 * `kvm_queue_exception()` seen through KVM_GET_VCPU_EVENTS: without
 * KVM_CAP_EXCEPTION_PAYLOAD a pending exception reads as injected. The
 * simulated CPU does not deliver it (docs/fidelity.md).
 */
function kvm_queue_exception(vcpu: kvm_vcpu, nr: number): void {
  const ex = vcpu.arch.events.exception;
  ex.injected = 1;
  ex.nr = nr;
  ex.has_error_code = 0;
  ex.error_code = 0;
}

/**
 * `kvm_vcpu_ioctl_interrupt()`: the vector is a `u32` below 256. Without an
 * in-kernel irqchip it is queued as the injected interrupt
 * (`kvm_queue_interrupt()`, which KVM_GET_VCPU_EVENTS and KVM_GET_SREGS
 * report); with the full irqchip (in-kernel PIC) it is ENXIO; with a split
 * one it becomes the pending ExtINT, one at a time (EEXIST).
 */
function kvm_vcpu_ioctl_interrupt(vcpu: kvm_vcpu, irq: number): number {
  if (irq >= 256) return -EINVAL;
  const k = vcpu.kvm;
  if (!irqchip_in_kernel(k)) {
    const ev = vcpu.arch.events.interrupt;
    ev.injected = 1;
    ev.nr = irq;
    ev.soft = 0;
    return 0;
  }
  if (k.arch.irqchip_mode === KVM_IRQCHIP_KERNEL) return -ENXIO;
  if (vcpu.arch.pending_external_vector !== -1) return -EEXIST;
  vcpu.arch.pending_external_vector = irq;
  return 0;
}

/**
 * The host TSC at the vCPU's frequency: the clock the CPU's RDTSC reads
 * (`sim/cpu/tsc.ts`), so the guest and the kernel agree on the guest TSC.
 */
function host_tsc_scaled(vcpu: kvm_vcpu): bigint {
  return host_tsc_bigint(vcpu.arch.vmcs.tsc_khz || 1000000);
}

/** `kvm->arch`'s TSC synchronization state (`kvm_synchronize_tsc()`). */
interface tsc_sync_state {
  last_tsc_nsec: bigint;
  last_tsc_write: bigint;
  last_tsc_khz: number;
  cur_tsc_offset: bigint;
  user_set_tsc: boolean;
}
const tsc_sync_of = new WeakMap<kvm, tsc_sync_state>();

/**
 * `kvm_synchronize_tsc()` (x86.c): decides whether a TSC write joins the VM's
 * current TSC generation, reusing its offset, or starts a new one with the
 * written value. Writing 0 always joins; that is also what vCPU creation does
 * (`user_value` null, from `kvm_arch_vcpu_postcreate()`). A non-zero
 * userspace write joins if it is within one second's worth of cycles of the
 * value the previous write has grown to since, but only after userspace has
 * set a TSC once before: older VMMs wrote each vCPU's TSC in turn, and the
 * drift between those writes must not leave the vCPUs apart. Everything else
 * becomes the new generation. The simulated host TSC is stable, so joining
 * reuses the offset as it is.
 */
export function kvm_synchronize_tsc(vcpu: kvm_vcpu, user_value: bigint | null): void {
  let s = tsc_sync_of.get(vcpu.kvm);
  if (!s) {
    s = {
      last_tsc_nsec: 0n,
      last_tsc_write: 0n,
      last_tsc_khz: 0,
      cur_tsc_offset: 0n,
      user_set_tsc: false,
    };
    tsc_sync_of.set(vcpu.kvm, s);
  }
  const data = user_value ?? 0n;
  let offset = BigInt.asUintN(64, data - host_tsc_scaled(vcpu));
  const ns = BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1e6));
  const elapsed = ns - s.last_tsc_nsec;
  const khz = vcpu.arch.vmcs.tsc_khz;
  let synchronizing = false;
  if (khz) {
    if (data === 0n) {
      // 0 joins unconditionally (see above).
      synchronizing = true;
    } else if (s.user_set_tsc) {
      const tsc_exp = BigInt.asUintN(64, s.last_tsc_write + (elapsed * BigInt(khz)) / 1000000n);
      const tsc_hz = BigInt(khz) * 1000n;
      synchronizing = data < BigInt.asUintN(64, tsc_exp + tsc_hz) &&
        BigInt.asUintN(64, data + tsc_hz) > tsc_exp;
    }
  }
  if (user_value !== null) s.user_set_tsc = true;
  let matched = false;
  if (synchronizing && khz === s.last_tsc_khz) {
    offset = s.cur_tsc_offset;
    matched = true;
  }
  // __kvm_synchronize_tsc().
  s.last_tsc_nsec = ns;
  s.last_tsc_write = data;
  s.last_tsc_khz = khz;
  vcpu.arch.vmcs.tsc_offset = offset;
  if (!matched) s.cur_tsc_offset = offset;
}

/** The guest's TSC now. */
export function guest_tsc(vcpu: kvm_vcpu): bigint {
  return BigInt.asUintN(64, host_tsc_scaled(vcpu) + vcpu.arch.vmcs.tsc_offset);
}

/** `guest_cpuid_has()` for a CPUID.1:ECX bit. */
function guest_cpuid_1_ecx(vcpu: kvm_vcpu, bit: number): boolean {
  const l1 = kvm_find_cpuid_entry_index(vcpu.arch.cpuid_entries, 1, 0);
  return !!l1 && (l1.ecx & (1 << bit)) !== 0;
}

// What lapic.c calls in x86.c: the guest TSC, CPUID bits (X2APIC is
// CPUID.1:ECX[21], TSC_DEADLINE_TIMER [24]) and `kvm_inject_nmi()`, which
// leaves the NMI pending for the next entry (KVM_GET_VCPU_EVENTS shows it).
set_lapic_host_ops({
  guest_tsc,
  has_x2apic: (vcpu) => guest_cpuid_1_ecx(vcpu, 21),
  has_tsc_deadline: (vcpu) => guest_cpuid_1_ecx(vcpu, 24),
  inject_nmi: kvm_inject_nmi,
});

// ---------------------------------------------------------------------------
// vCPUs

/** `kvm_arch_vcpu_precreate()`: the per-VM vCPU id limit. */
export function kvm_arch_vcpu_precreate(k: kvm, id: number): number {
  // The first vCPU fixes the id limit; then the vendor's pre-create hook.
  if (!k.arch.max_vcpu_ids) k.arch.max_vcpu_ids = KVM_MAX_VCPU_IDS;
  if (id >= k.arch.max_vcpu_ids) return -EINVAL;
  if (is_td(k)) {
    const r = tdx_vcpu_precreate(k);
    if (r) return r;
  }
  return 0;
}

/**
 * `kvm_vcpu_reset()` + `vmx_vcpu_reset()`: the architectural reset state. An
 * INIT (`init_event`) keeps the APIC base, the TSC, the MSRs and the
 * machine-check state, and the LAPIC keeps its ID (`kvm_lapic_reset()`).
 */
export function kvm_vcpu_reset(vcpu: kvm_vcpu, init_event = false): void {
  const a = vcpu.arch;
  const v = a.vmcs;
  const kept = init_event
    ? { apic_base: v.apic_base, tsc_offset: v.tsc_offset, msrs: new Map(a.msrs) }
    : null;
  const k = vcpu.kvm;
  // The architectural RESET state has one definition, the CPU's (vmcs_reset).
  // RDX holds the CPUID signature; before KVM_SET_CPUID2 KVM uses 0x600. KVM
  // sets the architectural APIC base even without an in-kernel LAPIC.
  const sig = kvm_find_cpuid_entry_index(a.cpuid_entries, 1, 0);
  vmcs_reset(v, {
    edx: BigInt(sig ? sig.eax : 0x600),
    bsp: vcpu.vcpu_id === k.arch.bsp_vcpu_id,
  });
  // kvm_vcpu_reset() (kvm-x86 next, x86.c): PEBS_UNAVAIL | BTS_UNAVAIL at
  // RESET; FAST_STRING is firmware's to set (msrs_test asserts 0x1800).
  v.misc_enable = msr.MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL | msr.MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
  v.star = 0n;
  v.lstar = 0n;
  v.cstar = 0n;
  v.fmask = 0n;
  v.kernel_gs_base = 0n;
  v.tsc_aux = 0n;
  v.sysenter_cs = 0n;
  v.sysenter_esp = 0n;
  v.sysenter_eip = 0n;
  // KVM intercepts no exception the simulated CPU could raise (with EPT,
  // #PF goes straight to the guest; #UD/#DB/#AC would be reinjected).
  v.exception_bitmap = 0;
  v.entry_intr_info = 0;
  a.fpu.$bytes.fill(0);
  a.fpu.fcw = 0x37f;
  a.fpu.mxcsr = 0x1f80;
  a.xsave.fill(0);
  const xdv = new DataView(a.xsave.buffer, a.xsave.byteOffset);
  xdv.setUint16(0, 0x37f, true);
  xdv.setUint32(24, 0x1f80, true);
  a.debugregs.$bytes.fill(0);
  a.events.$bytes.fill(0);
  a.msrs.clear();
  a.msrs.set(msr.MSR_IA32_XSS, 0n);
  // kvm_arch_vcpu_create() and __vmx_vcpu_reset() (kvm-x86 next) stuff the
  // feature MSRs with KVM's full configuration only while
  // KVM_X86_QUIRK_STUFF_FEATURE_MSRS is enabled; without it they start at 0
  // for userspace to configure.
  const stuff = !(vcpu.kvm.arch.disabled_quirks & KVM_X86_QUIRK_STUFF_FEATURE_MSRS);
  a.msrs.set(msr.MSR_IA32_UCODE_REV, stuff ? 0x100000000n : 0n);
  a.msrs.set(msr.MSR_IA32_ARCH_CAPABILITIES, stuff ? HOST_ARCH_CAPABILITIES : 0n);
  a.msrs.set(msr.MSR_PLATFORM_INFO, stuff ? MSR_PLATFORM_INFO_CPUID_FAULT : 0n);
  a.msrs.set(msr.MSR_IA32_FEAT_CTL, 0n);
  a.msrs.set(msr.MSR_MTRRdefType, 0n);
  a.msrs.set(msr.MSR_IA32_SPEC_CTRL, 0n);
  a.msrs.set(msr.MSR_IA32_TSC_ADJUST, 0n);
  v.tsc_offset = BigInt.asUintN(64, -host_tsc_scaled(vcpu));
  if (kept) {
    v.apic_base = kept.apic_base;
    v.tsc_offset = kept.tsc_offset;
    for (const [i, d] of kept.msrs) a.msrs.set(i, d);
  }
  kvm_lapic_reset(vcpu, init_event);
}

/**
 * `kvm_arch_vcpu_create()`: state (a fresh VMCS), reset, MP state, and the
 * CPU worker when the pool has one loaded (`vmx_vcpu_create()`).
 */
export function kvm_arch_vcpu_create(vcpu: kvm_vcpu): number {
  const k = vcpu.kvm;
  const arch: kvm_vcpu_arch = {
    vmcs: vmcs_alloc(vcpu.vcpu_id),
    thread: null,
    memmap_generation: -1,
    fpu: kvm_fpu.alloc(),
    debugregs: kvm_debugregs.alloc(),
    events: kvm_vcpu_events.alloc(),
    xsave: new Uint8Array(4096),
    msrs: new Map(),
    cpuid_entries: [],
    mp_state: !irqchip_in_kernel(k) || vcpu.vcpu_id === k.arch.bsp_vcpu_id
      ? KVM_MP_STATE_RUNNABLE
      : KVM_MP_STATE_UNINITIALIZED,
    complete_userspace_io: null,
    exit_rip: 0n,
    maxphyaddr: 36,
    pv_cpuid_enforce: false,
    // kvm_arch_vcpu_create(): KVM_MAX_MCE_BANKS banks, no MCG_CAP feature bits.
    mce: {
      mcg_cap: BigInt(KVM_MAX_MCE_BANKS),
      mcg_status: 0n,
      mcg_ctl: 0n,
      mcg_ext_ctl: 0n,
      banks: new BigUint64Array(4 * KVM_MAX_MCE_BANKS),
      ctl2: new BigUint64Array(KVM_MAX_MCE_BANKS),
    },
    // kvm_arch_vcpu_postcreate() starts MSR_KVM_POLL_CONTROL at 1: the host
    // may halt-poll for this vCPU until the guest writes 0.
    msr_kvm_poll_control: 1n,
    pending_external_vector: -1,
    triple_fault_pending: false,
  };
  (vcpu as { arch: kvm_vcpu_arch }).arch = arch;
  arch.vmcs.tsc_khz = k.arch.default_tsc_khz;
  kvm_vcpu_reset(vcpu);
  // kvm_arch_vcpu_postcreate().
  kvm_synchronize_tsc(vcpu, null);
  vmx_vcpu_create(vcpu);
  return 0;
}

/** `kvm_arch_vcpu_destroy()`: stops the vCPU thread. */
export function kvm_arch_vcpu_destroy(vcpu: kvm_vcpu): void {
  vmx_vcpu_destroy(vcpu);
}

/** `struct kvm_regs` order → `VCPU_REGS_*` (the VMCS order) for RAX..R15. */
const KVM_REGS_TO_VMCS = [0, 3, 1, 2, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];
const regs_io = new BigUint64Array(kvm_regs.size / 8);

/** The VMCS's RAX..R15, RIP, RFLAGS as a `BigUint64Array` (the guest-state area is 8-aligned). */
function vmcs_gprs(v: vmcs_view): BigUint64Array {
  return new BigUint64Array(v.$buffer, v.$offset + offsetof(sim_vmcs, "regs"), 18);
}

/** KVM_GET_REGS. */
export function kvm_arch_vcpu_ioctl_get_regs(vcpu: kvm_vcpu, arg: bigint): number {
  if (vcpu.kvm.arch.has_protected_state) return -EINVAL;
  const g = vmcs_gprs(vcpu.arch.vmcs);
  for (let i = 0; i < 16; i++) regs_io[i] = g[KVM_REGS_TO_VMCS[i]!]!;
  regs_io[16] = g[16]!;
  regs_io[17] = g[17]!;
  return copy_out(arg, new Uint8Array(regs_io.buffer)) ? -EFAULT : 0;
}

/** KVM_SET_REGS: RFLAGS bit 1 is forced on, as `kvm_set_rflags()` does. */
export function kvm_arch_vcpu_ioctl_set_regs(vcpu: kvm_vcpu, arg: bigint): number {
  if (vcpu.kvm.arch.has_protected_state) return -EINVAL;
  if (current.mm.copy_from_user(new Uint8Array(regs_io.buffer), arg, kvm_regs.size)) {
    return -EFAULT;
  }
  set_regs(vcpu);
  return 0;
}

/** `__set_regs()` from `regs_io`. */
function set_regs(vcpu: kvm_vcpu): void {
  const g = vmcs_gprs(vcpu.arch.vmcs);
  for (let i = 0; i < 16; i++) g[KVM_REGS_TO_VMCS[i]!] = regs_io[i]!;
  g[16] = regs_io[16]!;
  g[17] = regs_io[17]! | X86_EFLAGS_FIXED;
  // New registers cancel an exception KVM had queued for the old ones.
  vcpu.arch.events.exception.pending = 0;
}

type sregs_view = ReturnType<typeof kvm_sregs.view>;

/** `__get_sregs()`: the `struct kvm_sregs` image of the VMCS state. */
function get_sregs(v: vmcs_view, s: sregs_view): void {
  s.cs.$bytes.set(v.cs.$bytes);
  s.ds.$bytes.set(v.ds.$bytes);
  s.es.$bytes.set(v.es.$bytes);
  s.fs.$bytes.set(v.fs.$bytes);
  s.gs.$bytes.set(v.gs.$bytes);
  s.ss.$bytes.set(v.ss.$bytes);
  s.tr.$bytes.set(v.tr.$bytes);
  s.ldt.$bytes.set(v.ldtr.$bytes);
  s.gdt.base = v.gdtr.base;
  s.gdt.limit = v.gdtr.limit;
  s.idt.base = v.idtr.base;
  s.idt.limit = v.idtr.limit;
  s.cr0 = v.cr0;
  s.cr2 = v.cr2;
  s.cr3 = v.cr3;
  s.cr4 = v.cr4;
  s.cr8 = v.cr8;
  s.efer = v.efer;
  s.apic_base = v.apic_base;
  s.interrupt_bitmap.$bytes.fill(0);
}

/** `__set_sregs()`: loads a validated `struct kvm_sregs` into the VMCS. */
function set_sregs(v: vmcs_view, s: sregs_view): void {
  v.cs.$bytes.set(s.cs.$bytes);
  v.ds.$bytes.set(s.ds.$bytes);
  v.es.$bytes.set(s.es.$bytes);
  v.fs.$bytes.set(s.fs.$bytes);
  v.gs.$bytes.set(s.gs.$bytes);
  v.ss.$bytes.set(s.ss.$bytes);
  v.tr.$bytes.set(s.tr.$bytes);
  v.ldtr.$bytes.set(s.ldt.$bytes);
  v.gdtr.base = s.gdt.base;
  v.gdtr.limit = s.gdt.limit;
  v.idtr.base = s.idt.base;
  v.idtr.limit = s.idt.limit;
  v.cr0 = s.cr0;
  v.cr2 = s.cr2;
  v.cr3 = s.cr3;
  v.cr4 = s.cr4;
  // kvm_set_cr8()'s failure (reserved bits) is ignored by KVM_SET_SREGS: CR8 stays.
  if (!(s.cr8 & ~0xfn)) v.cr8 = s.cr8;
  v.efer = s.efer;
  v.apic_base = s.apic_base;
}

/**
 * `__set_sregs()`'s interrupt bitmap: the lowest pending vector is queued as
 * an injected external interrupt (`kvm_queue_interrupt()`); the simulated CPU
 * does not deliver it, but KVM_GET_SREGS and KVM_GET_VCPU_EVENTS report it.
 */
function set_sregs_interrupt(vcpu: kvm_vcpu, s: sregs_view): void {
  const b = s.interrupt_bitmap.$bytes;
  for (let i = 0; i < b.length; i++) {
    if (!b[i]) continue;
    const vec = i * 8 + (31 - Math.clz32(b[i]! & -b[i]!));
    const ev = vcpu.arch.events;
    ev.interrupt.injected = 1;
    ev.interrupt.nr = vec;
    ev.interrupt.soft = 0;
    return;
  }
}

/** `__get_sregs()`'s interrupt bitmap: the injected, not soft, interrupt. */
function get_sregs_interrupt(vcpu: kvm_vcpu, s: sregs_view): void {
  const ev = vcpu.arch.events;
  if (ev.interrupt.injected && !ev.interrupt.soft) {
    const nr = ev.interrupt.nr;
    s.interrupt_bitmap.$bytes[nr >> 3]! |= 1 << (nr & 7);
  }
}

const sregs_out = kvm_sregs.alloc();

/** KVM_GET_SREGS. */
export function kvm_arch_vcpu_ioctl_get_sregs(vcpu: kvm_vcpu, arg: bigint): number {
  if (vcpu.kvm.arch.has_protected_state) return -EINVAL;
  get_sregs(vcpu.arch.vmcs, sregs_out);
  get_sregs_interrupt(vcpu, sregs_out);
  return copy_out(arg, sregs_out.$bytes) ? -EFAULT : 0;
}

function kvm_is_valid_cr4(vcpu: kvm_vcpu, cr4: bigint): boolean {
  const e = vcpu.arch.cpuid_entries;
  const l1 = kvm_find_cpuid_entry_index(e, 1, 0);
  const l7 = kvm_find_cpuid_entry_index(e, 7, 0);
  let reserved = CR4_ALWAYS_RESERVED;
  // Bits whose feature the guest's CPUID does not have are reserved for it.
  if (!l1 || !(l1.ecx & (1 << 26))) reserved |= X86_CR4_OSXSAVE;
  if (!l1 || !(l1.ecx & (1 << 17))) reserved |= X86_CR4_PCIDE;
  if (!l7 || !(l7.ebx & 1)) reserved |= X86_CR4_FSGSBASE;
  if (!l7 || !(l7.ebx & (1 << 7))) reserved |= X86_CR4_SMEP;
  if (!l7 || !(l7.ebx & (1 << 20))) reserved |= X86_CR4_SMAP;
  if (!l7 || !(l7.ecx & (1 << 2))) reserved |= X86_CR4_UMIP;
  if (!l7 || !(l7.ecx & (1 << 16))) reserved |= X86_CR4_LA57;
  return (cr4 & reserved & 0xffffffffffffffffn) === 0n;
}

function kvm_is_valid_cr0(cr0: bigint): boolean {
  if (cr0 >> 32n) return false;
  if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD)) return false;
  if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)) return false;
  return true;
}

/**
 * `kvm_valid_efer()` for userspace: no reserved bit, and no bit whose feature
 * the guest's CPUID lacks (a vCPU without KVM_SET_CPUID2 has none of them).
 */
function kvm_valid_efer(vcpu: kvm_vcpu, efer: bigint): boolean {
  if (efer & EFER_RESERVED) return false;
  const e = vcpu.arch.cpuid_entries;
  const ext = kvm_find_cpuid_entry_index(e, 0x80000001, 0);
  if ((efer & (msr.EFER_LME | msr.EFER_LMA)) && !(ext && ext.edx & (1 << 29))) return false;
  if ((efer & msr.EFER_NX) && !(ext && ext.edx & (1 << 20))) return false;
  return true;
}

/**
 * `kvm_apic_set_base()`'s checks for a host-initiated write: reserved bits
 * (above MAXPHYADDR, the low byte but BSP, and X2APIC_ENABLE when the guest
 * CPUID has no x2APIC) and the invalid mode, x2APIC on with the APIC off.
 */
function kvm_valid_apic_base(vcpu: kvm_vcpu, base: bigint): boolean {
  const l1 = kvm_find_cpuid_entry_index(vcpu.arch.cpuid_entries, 1, 0);
  let reserved = ~((1n << BigInt(vcpu.arch.maxphyaddr)) - 1n) | 0x2ffn;
  if (!(l1 && l1.ecx & (1 << 21))) reserved |= X2APIC_ENABLE;
  if (base & reserved & 0xffffffffffffffffn) return false;
  return !((base & X2APIC_ENABLE) && !(base & msr.MSR_IA32_APICBASE_ENABLE));
}

/** `kvm_is_valid_sregs()`. */
function kvm_is_valid_sregs(vcpu: kvm_vcpu, s: ReturnType<typeof kvm_sregs.view>): boolean {
  if (!kvm_valid_efer(vcpu, s.efer)) return false;
  if ((s.efer & msr.EFER_LME) && (s.cr0 & X86_CR0_PG)) {
    // IA-32e paging (LME with PG) is only consistent with PAE and LMA on and a CR3
    // below MAXPHYADDR; without it, neither LMA nor a 64-bit CS make sense.
    if (!(s.cr4 & X86_CR4_PAE) || !(s.efer & msr.EFER_LMA)) return false;
    if (s.cr3 >> BigInt(vcpu.arch.maxphyaddr)) return false;
  } else if ((s.efer & msr.EFER_LMA) || s.cs.l) {
    return false;
  }
  return kvm_is_valid_cr4(vcpu, s.cr4) && kvm_is_valid_cr0(s.cr0);
}

const sregs_in = kvm_sregs.view(scratch);

/** KVM_SET_SREGS: validated as KVM validates it, then loaded. */
export function kvm_arch_vcpu_ioctl_set_sregs(vcpu: kvm_vcpu, arg: bigint): number {
  if (vcpu.kvm.arch.has_protected_state) return -EINVAL;
  if (copy_in(arg, kvm_sregs.size)) return -EFAULT;
  return __set_sregs(vcpu);
}

/** `__set_sregs()` from `sregs_in`. */
function __set_sregs(vcpu: kvm_vcpu): number {
  if (!kvm_is_valid_sregs(vcpu, sregs_in)) return -EINVAL;
  if (sregs_in.efer & EFER_RESERVED) return -EINVAL;
  if (!kvm_valid_apic_base(vcpu, sregs_in.apic_base)) return -EINVAL;
  const old_base = vcpu.arch.vmcs.apic_base;
  set_sregs(vcpu.arch.vmcs, sregs_in);
  kvm_lapic_set_base(vcpu, old_base);
  // kvm_set_cr8(): with an in-kernel LAPIC CR8 is its TPR.
  if (irqchip_in_kernel(vcpu.kvm) && !(sregs_in.cr8 & ~0xfn)) kvm_lapic_set_tpr(vcpu, sregs_in.cr8);
  set_sregs_interrupt(vcpu, sregs_in);
  kvm_update_cpuid_runtime(vcpu);
  return 0;
}

/** `kvm->arch.exception_payload_enabled` and `kvm->arch.triple_fault_event`. */
const event_caps_of = new WeakMap<
  kvm,
  { exception_payload_enabled: boolean; triple_fault_event: boolean }
>();

function event_caps(k: kvm): { exception_payload_enabled: boolean; triple_fault_event: boolean } {
  let c = event_caps_of.get(k);
  if (!c) {
    c = { exception_payload_enabled: false, triple_fault_event: false };
    event_caps_of.set(k, c);
  }
  return c;
}

// vmx_get/set_interrupt_shadow(): KVM_X86_SHADOW_INT_MOV_SS (1) and
// KVM_X86_SHADOW_INT_STI (2) against the VMCS's GUEST_INTR_STATE_STI (1)
// and GUEST_INTR_STATE_MOV_SS (2); GUEST_INTR_STATE_NMI (8) is the NMI mask.
const INTR_STATE_STI = 1;
const INTR_STATE_MOV_SS = 2;
const INTR_STATE_NMI = 8;

/**
 * `kvm_inject_nmi()` + `process_nmi()`: one more NMI pending, at most two
 * (one while an NMI is injected or NMIs are blocked); KVM_GET_VCPU_EVENTS
 * shows it, the next entry injects it once NMIs are unblocked.
 */
function kvm_inject_nmi(vcpu: kvm_vcpu): void {
  vcpu.arch.events.nmi.pending++;
  process_nmi(vcpu);
}

/**
 * `process_nmi()`: bounds the pending count. Hardware latches one NMI; KVM
 * keeps room for two, because a vCPU that was not running can receive two
 * back to back, and injects one while the other waits for the NMI window.
 * The second slot exists only while NMIs are unblocked and no NMI is
 * mid-injection.
 */
function process_nmi(vcpu: kvm_vcpu): void {
  const nmi = vcpu.arch.events.nmi;
  let limit = 2;
  if (nmi.injected || (vcpu.arch.vmcs.interruptibility_info & INTR_STATE_NMI)) limit--;
  if (nmi.pending > limit) nmi.pending = limit;
}

/**
 * `kvm_vcpu_ioctl_x86_get_vcpu_events()` (x86.c @ 042007c2), filling `out`.
 * What userspace sees differs from the internal state in three places:
 * - #BP and #OF (soft exceptions) are left out: the struct has no room for
 *   their instruction length, and the guest raises them again on re-execution.
 * - Without KVM_CAP_EXCEPTION_PAYLOAD a pending exception is shown as
 *   injected, and its payload (CR2 for #PF) is applied to the vCPU first,
 *   since such userspace cannot be relied on to carry the payload.
 * - An injected soft interrupt is shown as not injected.
 * Shadow and NMI mask come from the VMCS. Flags: NMI_PENDING, SHADOW and
 * SMM always, PAYLOAD and TRIPLE_FAULT when their capabilities are on. With
 * no SMM here, `smi` is zero except for the latched INIT.
 */
function get_vcpu_events(vcpu: kvm_vcpu, out: Uint8Array): void {
  process_nmi(vcpu);
  const st = vcpu.arch.events;
  const caps = event_caps(vcpu.kvm);
  const ex = st.exception;
  if (!caps.exception_payload_enabled && ex.pending && st.exception_has_payload) {
    // kvm_deliver_exception_payload().
    if (ex.nr === 14) vcpu.arch.vmcs.cr2 = st.exception_payload;
    st.exception_has_payload = 0;
    st.exception_payload = 0n;
  }
  out.fill(0, 0, kvm_vcpu_events.size);
  const e = kvm_vcpu_events.view(out);
  if (ex.nr !== 3 && ex.nr !== 4) {
    e.exception.injected = ex.injected;
    e.exception.pending = ex.pending;
    if (!caps.exception_payload_enabled) e.exception.injected = ex.injected | ex.pending;
  }
  e.exception.nr = ex.nr;
  e.exception.has_error_code = ex.has_error_code;
  e.exception.error_code = ex.error_code;
  e.exception_has_payload = st.exception_has_payload;
  e.exception_payload = st.exception_payload;
  e.interrupt.injected = st.interrupt.injected && !st.interrupt.soft ? 1 : 0;
  e.interrupt.nr = st.interrupt.nr;
  const ii = vcpu.arch.vmcs.interruptibility_info;
  e.interrupt.shadow = (ii & INTR_STATE_STI ? 2 : 0) | (ii & INTR_STATE_MOV_SS ? 1 : 0);
  e.nmi.injected = st.nmi.injected;
  e.nmi.pending = st.nmi.pending;
  e.nmi.masked = ii & INTR_STATE_NMI ? 1 : 0;
  const apic = irqchip_in_kernel(vcpu.kvm) ? vcpu_apic(vcpu) : null;
  e.smi.latched_init = apic && (apic.pending_events & KVM_APIC_INIT) ? 1 : 0;
  e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
    KVM_VCPUEVENT_VALID_SMM;
  if (caps.exception_payload_enabled) e.flags |= KVM_VCPUEVENT_VALID_PAYLOAD;
  if (caps.triple_fault_event) {
    e.triple_fault.pending = vcpu.arch.triple_fault_pending ? 1 : 0;
    e.flags |= KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
  }
}

/**
 * `kvm_vcpu_ioctl_x86_set_vcpu_events()` (x86.c @ 042007c2) from the start
 * of `scratch`, its checks in order: unknown flags; PAYLOAD without
 * KVM_CAP_EXCEPTION_PAYLOAD; an exception vector above 31 or NMI's; SMM
 * state the simulator cannot enter (no SMM: EINVAL as without
 * CONFIG_KVM_SMM); TRIPLE_FAULT without KVM_CAP_X86_TRIPLE_FAULT_EVENT.
 */
function set_vcpu_events(vcpu: kvm_vcpu): number {
  const ev = kvm_vcpu_events.view(scratch);
  const caps = event_caps(vcpu.kvm);
  const valid = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
    KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD |
    KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
  if (ev.flags & ~valid) return -EINVAL;
  if (ev.flags & KVM_VCPUEVENT_VALID_PAYLOAD) {
    if (!caps.exception_payload_enabled) return -EINVAL;
    if (ev.exception.pending) ev.exception.injected = 0;
    else ev.exception_has_payload = 0;
  } else {
    ev.exception.pending = 0;
    ev.exception_has_payload = 0;
  }
  // An exception is a vector below 32 other than NMI's.
  const exc = ev.exception;
  if ((exc.injected || exc.pending) && (exc.nr > 31 || exc.nr === NMI_VECTOR)) return -EINVAL;
  process_nmi(vcpu);
  const st = vcpu.arch.events;
  st.exception.injected = exc.injected;
  st.exception.pending = exc.pending;
  st.exception.nr = exc.nr;
  st.exception.has_error_code = exc.has_error_code;
  st.exception.error_code = exc.error_code;
  st.exception_has_payload = ev.exception_has_payload;
  st.exception_payload = ev.exception_payload;
  st.interrupt.injected = ev.interrupt.injected;
  st.interrupt.nr = ev.interrupt.nr;
  st.interrupt.soft = ev.interrupt.soft;
  const v = vcpu.arch.vmcs;
  if (ev.flags & KVM_VCPUEVENT_VALID_SHADOW) {
    let ii = v.interruptibility_info & ~(INTR_STATE_STI | INTR_STATE_MOV_SS);
    if (ev.interrupt.shadow & 1) ii |= INTR_STATE_MOV_SS;
    else if (ev.interrupt.shadow & 2) ii |= INTR_STATE_STI;
    v.interruptibility_info = ii;
  }
  st.nmi.injected = ev.nmi.injected;
  if (ev.flags & KVM_VCPUEVENT_VALID_NMI_PENDING) st.nmi.pending = ev.nmi.pending;
  v.interruptibility_info = ev.nmi.masked
    ? v.interruptibility_info | INTR_STATE_NMI
    : v.interruptibility_info & ~INTR_STATE_NMI;
  const apic = irqchip_in_kernel(vcpu.kvm) ? vcpu_apic(vcpu) : null;
  if ((ev.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR) && apic) apic.sipi_vector = ev.sipi_vector;
  if (ev.flags & KVM_VCPUEVENT_VALID_SMM) {
    if (ev.smi.smm || ev.smi.pending || ev.smi.smm_inside_nmi) return -EINVAL;
    if (apic) {
      if (ev.smi.latched_init) apic.pending_events |= KVM_APIC_INIT;
      else apic.pending_events &= ~KVM_APIC_INIT;
    }
  }
  if (ev.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) {
    if (!caps.triple_fault_event) return -EINVAL;
    vcpu.arch.triple_fault_pending = ev.triple_fault.pending !== 0;
  }
  return 0;
}

// KVM_CAP_SYNC_REGS: `kvm_run.s.regs` in the vCPU's mapping.
const S_REGS = offsetof(kvm_run, "s") + offsetof(kvm_sync_regs, "regs");
const S_SREGS = offsetof(kvm_run, "s") + offsetof(kvm_sync_regs, "sregs");
const S_EVENTS = offsetof(kvm_run, "s") + offsetof(kvm_sync_regs, "events");
const R_VALID_REGS = offsetof(kvm_run, "kvm_valid_regs");
const R_DIRTY_REGS = offsetof(kvm_run, "kvm_dirty_regs");

function run_bytes(vcpu: kvm_vcpu): Uint8Array {
  return new Uint8Array(vcpu.run.buffer, vcpu.run.byteOffset, vcpu.run.byteLength);
}

/**
 * `sync_regs()`: KVM_RUN loads the sets `kvm_run.kvm_dirty_regs` marks from
 * `kvm_run.s.regs` (a copy of each, as KVM copies it before validating) and
 * clears their bits; -EINVAL for a set the ioctl would refuse.
 */
export function sync_regs(vcpu: kvm_vcpu): number {
  const run = vcpu.run;
  const b = run_bytes(vcpu);
  const clear = (bit: bigint) =>
    run.setBigUint64(R_DIRTY_REGS, run.getBigUint64(R_DIRTY_REGS, true) & ~bit, true);
  if (run.getBigUint64(R_DIRTY_REGS, true) & KVM_SYNC_X86_REGS) {
    new Uint8Array(regs_io.buffer).set(b.subarray(S_REGS, S_REGS + kvm_regs.size));
    set_regs(vcpu);
    clear(KVM_SYNC_X86_REGS);
  }
  if (run.getBigUint64(R_DIRTY_REGS, true) & KVM_SYNC_X86_SREGS) {
    scratch_u8.set(b.subarray(S_SREGS, S_SREGS + kvm_sregs.size));
    if (__set_sregs(vcpu)) return -EINVAL;
    clear(KVM_SYNC_X86_SREGS);
  }
  if (run.getBigUint64(R_DIRTY_REGS, true) & KVM_SYNC_X86_EVENTS) {
    scratch_u8.set(b.subarray(S_EVENTS, S_EVENTS + kvm_vcpu_events.size));
    if (set_vcpu_events(vcpu)) return -EINVAL;
    clear(KVM_SYNC_X86_EVENTS);
  }
  return 0;
}

/** `store_regs()`: KVM_RUN's exit writes the sets `kvm_run.kvm_valid_regs` asks for to `kvm_run.s.regs`. */
export function store_regs(vcpu: kvm_vcpu): void {
  const valid = vcpu.run.getBigUint64(R_VALID_REGS, true);
  if (!valid || vcpu.kvm.arch.has_protected_state) return;
  const b = run_bytes(vcpu);
  if (valid & KVM_SYNC_X86_REGS) {
    const g = vmcs_gprs(vcpu.arch.vmcs);
    for (let i = 0; i < 16; i++) regs_io[i] = g[KVM_REGS_TO_VMCS[i]!]!;
    regs_io[16] = g[16]!;
    regs_io[17] = g[17]!;
    b.set(new Uint8Array(regs_io.buffer), S_REGS);
  }
  if (valid & KVM_SYNC_X86_SREGS) {
    const s = kvm_sregs.view(b, S_SREGS);
    get_sregs(vcpu.arch.vmcs, s);
    get_sregs_interrupt(vcpu, s);
  }
  if (valid & KVM_SYNC_X86_EVENTS) get_vcpu_events(vcpu, b.subarray(S_EVENTS));
}

/**
 * `kvm_update_cpuid_runtime()`: the CPUID bits that mirror live state, as
 * KVM refreshes them whenever CR4, APIC base or the table changes, so that
 * KVM_GET_CPUID2 (and the guest) see CPUID.1.ECX.OSXSAVE = CR4.OSXSAVE,
 * CPUID.1.EDX.APIC = APIC enabled and CPUID.7.ECX.OSPKE = CR4.PKE.
 */
export function kvm_update_cpuid_runtime(vcpu: kvm_vcpu): void {
  cpuid_runtime_update(vcpu, vcpu.arch.cpuid_entries);
}

/** `__kvm_update_cpuid_runtime()`: the live-state bits of `e`, a table that is or may become the vCPU's. */
function cpuid_runtime_update(vcpu: kvm_vcpu, e: cpuid_entry[]): void {
  const s = vcpu.arch.vmcs;
  // A TD's CR4 belongs to the TDX module: tdx_vcpu_create() gives the guest
  // every CR4 bit and TDX never caches the register, so KVM's copy stays at
  // its reset value, 0 (the TD's CPUID instruction is the module's business).
  const cr4 = is_td(vcpu.kvm) ? 0n : s.cr4;
  const set = (v: number, bit: number, on: boolean) =>
    (on ? v | (1 << bit) : v & ~(1 << bit)) >>> 0;
  const l1 = kvm_find_cpuid_entry_index(e, 1, 0);
  if (l1) {
    l1.ecx = set(l1.ecx, 27, (cr4 & X86_CR4_OSXSAVE) !== 0n);
    l1.edx = set(l1.edx, 9, (s.apic_base & msr.MSR_IA32_APICBASE_ENABLE) !== 0n);
  }
  const l7 = kvm_find_cpuid_entry_index(e, 7, 0);
  if (l7) l7.ecx = set(l7.ecx, 4, (cr4 & X86_CR4_PKE) !== 0n);
  // The XSAVE area sizes for the features XCR0 enables: standard format in
  // 0xD.0 EBX, compacted (XCR0 | XSS, XSS is 0) in 0xD.1 EBX when the table
  // offers XSAVEC or XSAVES.
  const d0 = kvm_find_cpuid_entry_index(e, 0xd, 0);
  if (d0) d0.ebx = xstate_required_size(s.xcr0);
  const d1 = kvm_find_cpuid_entry_index(e, 0xd, 1);
  if (d1 && (d1.eax & ((1 << 1) | (1 << 3)))) d1.ebx = xstate_required_size(s.xcr0, true);
}

/** KVM_GET_MP_STATE. */
export function kvm_arch_vcpu_ioctl_get_mpstate(vcpu: kvm_vcpu, arg: bigint): number {
  kvm_apic_accept_events(vcpu);
  mp_v.mp_state = vcpu.arch.mp_state;
  return copy_out(arg, scratch_u8, 4) ? -EFAULT : 0;
}

/** KVM_SET_MP_STATE: only RUNNABLE without an in-kernel LAPIC. */
export function kvm_arch_vcpu_ioctl_set_mpstate(vcpu: kvm_vcpu, arg: bigint): number {
  if (copy_in(arg, 4)) return -EFAULT;
  const st = mp_v.mp_state;
  switch (st) {
    case KVM_MP_STATE_UNINITIALIZED:
    case KVM_MP_STATE_HALTED:
    case KVM_MP_STATE_AP_RESET_HOLD:
    case KVM_MP_STATE_INIT_RECEIVED:
    case KVM_MP_STATE_SIPI_RECEIVED:
    case KVM_MP_STATE_RUNNABLE:
      break;
    default:
      return -EINVAL;
  }
  if (!irqchip_in_kernel(vcpu.kvm) && st !== KVM_MP_STATE_RUNNABLE) return -EINVAL;
  // A vCPU with protected state (a TD's: the TDX module owns its reset) cannot
  // be put in INIT or SIPI state by userspace.
  if (
    vcpu.kvm.arch.has_protected_state &&
    (st === KVM_MP_STATE_INIT_RECEIVED || st === KVM_MP_STATE_SIPI_RECEIVED)
  ) {
    return -EINVAL;
  }
  if (st === KVM_MP_STATE_SIPI_RECEIVED) {
    // SIPI_RECEIVED has no state of its own in KVM: it becomes INIT_RECEIVED
    // with a latched SIPI, which the next kvm_apic_accept_events() delivers.
    vcpu.arch.mp_state = KVM_MP_STATE_INIT_RECEIVED;
    kvm_apic_latch_sipi(vcpu);
  } else {
    vcpu.arch.mp_state = st;
  }
  return 0;
}

/**
 * `kvm_apic_init_sipi_allowed()` (lapic.h): not in SMM (the simulator has
 * none) and not blocked by the vendor: `vt_apic_init_signal_blocked()`
 * blocks INIT and SIPI for a TD always (the TDX module owns its reset).
 */
export function kvm_apic_init_sipi_allowed(vcpu: kvm_vcpu): boolean {
  return !is_td(vcpu.kvm);
}

/**
 * `kvm_apic_accept_events()` (lapic.c): a latched INIT resets the vCPU
 * (`kvm_vcpu_reset(vcpu, true)`) and parks an AP in INIT_RECEIVED (the BSP
 * stays RUNNABLE); a latched SIPI starts a vCPU waiting in INIT_RECEIVED at
 * its vector (`kvm_vcpu_deliver_sipi_vector()`: CS selector vector << 8,
 * base vector << 12, RIP 0) and is dropped otherwise. Run by
 * KVM_GET_MP_STATE and KVM_RUN.
 */
export function kvm_apic_accept_events(vcpu: kvm_vcpu): void {
  if (!irqchip_in_kernel(vcpu.kvm) || !kvm_apic_has_pending_init_or_sipi(vcpu)) return;
  if (!kvm_apic_init_sipi_allowed(vcpu)) {
    // While blocked, the INIT latch is kept for later; a SIPI is discarded, as
    // a vCPU that cannot be waiting for one has nowhere to take it.
    const apic = vcpu_apic(vcpu);
    if (apic) apic.pending_events &= ~KVM_APIC_SIPI;
    return;
  }
  const { init, sipi } = kvm_apic_take_events(vcpu);
  if (init) {
    kvm_vcpu_reset(vcpu, true);
    vcpu.arch.mp_state = vcpu.vcpu_id === vcpu.kvm.arch.bsp_vcpu_id
      ? KVM_MP_STATE_RUNNABLE
      : KVM_MP_STATE_INIT_RECEIVED;
  }
  if (sipi >= 0 && vcpu.arch.mp_state === KVM_MP_STATE_INIT_RECEIVED) {
    const v = vcpu.arch.vmcs;
    v.cs.selector = sipi << 8;
    v.cs.base = BigInt(sipi << 12);
    v.rip = 0n;
    vcpu.arch.mp_state = KVM_MP_STATE_RUNNABLE;
  }
}

/** KVM_GET_FPU. */
export function kvm_arch_vcpu_ioctl_get_fpu(vcpu: kvm_vcpu, arg: bigint): number {
  if (vcpu.kvm.arch.has_protected_state) return -EINVAL;
  return copy_out(arg, vcpu.arch.fpu.$bytes) ? -EFAULT : 0;
}

/** KVM_SET_FPU. */
export function kvm_arch_vcpu_ioctl_set_fpu(vcpu: kvm_vcpu, arg: bigint): number {
  if (vcpu.kvm.arch.has_protected_state) return -EINVAL;
  if (copy_in(arg, kvm_fpu.size)) return -EFAULT;
  vcpu.arch.fpu.$bytes.set(scratch_u8.subarray(0, kvm_fpu.size));
  return 0;
}

/** `kvm_cpuid_check_equal()`: after KVM_RUN only the same table may be set again. */
function kvm_cpuid_check_equal(vcpu: kvm_vcpu, e2: cpuid_entry[]): number {
  const cur = vcpu.arch.cpuid_entries;
  if (cur.length !== e2.length) return -EINVAL;
  for (let i = 0; i < e2.length; i++) {
    const a = cur[i]!, b = e2[i]!;
    if (
      a.function !== b.function || a.index !== b.index || a.flags !== b.flags ||
      a.eax !== b.eax || a.ebx !== b.ebx || a.ecx !== b.ecx || a.edx !== b.edx
    ) return -EINVAL;
  }
  return 0;
}

/** `kvm_vcpu_ioctl_set_cpuid2()` + `kvm_set_cpuid()`. */
function kvm_vcpu_ioctl_set_cpuid2(vcpu: kvm_vcpu, arg: bigint): number {
  if (copy_in(arg, 8)) return -EFAULT;
  const nent = scratch_dv.getUint32(0, true);
  if (nent > KVM_MAX_CPUID_ENTRIES) return -E2BIG;
  const bytes = new Uint8Array(nent * CPUID_ENTRY2_SIZE);
  if (nent && current.mm.copy_from_user(bytes, arg + 8n)) return -EFAULT;
  const dv = new DataView(bytes.buffer);
  const e2: cpuid_entry[] = [];
  for (let i = 0; i < nent; i++) e2.push(get_cpuid_entry(dv, i * CPUID_ENTRY2_SIZE));
  return kvm_set_cpuid(vcpu, e2);
}

/**
 * `kvm_set_cpuid()`. After KVM_RUN only the same table may be set again; the
 * incoming entries get the runtime updates first, so userspace may set back
 * exactly what KVM_GET_CPUID2 returned.
 */
function kvm_set_cpuid(vcpu: kvm_vcpu, e2: cpuid_entry[]): number {
  if (vcpu.has_run) {
    kvm_update_cpuid_runtime(vcpu);
    cpuid_runtime_update(vcpu, e2);
    return kvm_cpuid_check_equal(vcpu, e2);
  }
  // kvm_check_cpuid(): CPUID.80000008H:EAX[15:8] may report only 48 or 57
  // linear-address bits (or 0), the widths KVM's canonical checks handle.
  const ext8 = kvm_find_cpuid_entry_index(e2, 0x80000008, 0);
  if (ext8) {
    const vaddr_bits = (ext8.eax >> 8) & 0xff;
    if (vaddr_bits !== 48 && vaddr_bits !== 57 && vaddr_bits !== 0) return -EINVAL;
  }
  vcpu.arch.cpuid_entries = e2;
  vcpu.arch.maxphyaddr = cpuid_maxphyaddr(e2);
  kvm_update_cpuid_runtime(vcpu);
  kvm_apply_cpuid_pv_features_quirk(vcpu);
  kvm_lapic_after_set_cpuid(vcpu);
  return 0;
}

/** `struct kvm_cpuid_entry` (KVM_SET_CPUID): function, eax, ebx, ecx, edx, padding. */
const CPUID_ENTRY_SIZE = 24;

/** `kvm_vcpu_ioctl_set_cpuid()`: the legacy table, without subleaves or flags. */
function kvm_vcpu_ioctl_set_cpuid(vcpu: kvm_vcpu, arg: bigint): number {
  if (copy_in(arg, kvm_cpuid.size)) return -EFAULT;
  const nent = scratch_dv.getUint32(0, true);
  if (nent > KVM_MAX_CPUID_ENTRIES) return -E2BIG;
  const bytes = new Uint8Array(nent * CPUID_ENTRY_SIZE);
  if (nent && current.mm.copy_from_user(bytes, arg + BigInt(kvm_cpuid.size))) return -EFAULT;
  const dv = new DataView(bytes.buffer);
  const e2: cpuid_entry[] = [];
  for (let i = 0; i < nent; i++) {
    const o = i * CPUID_ENTRY_SIZE;
    e2.push({
      function: dv.getUint32(o, true),
      index: 0,
      flags: 0,
      eax: dv.getUint32(o + 4, true),
      ebx: dv.getUint32(o + 8, true),
      ecx: dv.getUint32(o + 12, true),
      edx: dv.getUint32(o + 16, true),
    });
  }
  return kvm_set_cpuid(vcpu, e2);
}

/** `kvm_vcpu_ioctl_enable_cap()`: the vCPU capabilities. */
function kvm_vcpu_ioctl_enable_cap(vcpu: kvm_vcpu, arg: bigint): number {
  if (copy_in(arg, kvm_enable_cap.size)) return -EFAULT;
  const cap = kvm_enable_cap.view(scratch);
  if (cap.flags) return -EINVAL;
  switch (cap.cap) {
    case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
      // Any non-zero value enables it; the simulator's PV MSRs do not consult it yet.
      vcpu.arch.pv_cpuid_enforce = cap.args.at(0) !== 0n;
      return 0;
    default:
      return -EINVAL;
  }
}

/** `kvm_vcpu_ioctl_get_cpuid2()`. */
function kvm_vcpu_ioctl_get_cpuid2(vcpu: kvm_vcpu, arg: bigint): number {
  if (copy_in(arg, 8)) return -EFAULT;
  // The dynamic bits follow state changed since the table was set (XCR0 by XSETBV).
  kvm_update_cpuid_runtime(vcpu);
  const nent = scratch_dv.getUint32(0, true);
  const e = vcpu.arch.cpuid_entries;
  if (nent < e.length) return -E2BIG;
  const bytes = new Uint8Array(e.length * CPUID_ENTRY2_SIZE);
  const dv = new DataView(bytes.buffer);
  e.forEach((ent, i) => put_cpuid_entry(dv, i * CPUID_ENTRY2_SIZE, ent));
  if (copy_out(arg + 8n, bytes)) return -EFAULT;
  scratch_dv.setUint32(0, e.length, true);
  return copy_out(arg, scratch_u8, 8) ? -EFAULT : 0;
}

/** `__kvm_set_xcr()`: XCR0 must keep x87, AVX needs SSE, AVX-512 needs all its parts and AVX. */
export function kvm_set_xcr0(vcpu: kvm_vcpu, xcr0: bigint): number {
  const l = kvm_find_cpuid_entry_index(vcpu.arch.cpuid_entries, 0xd, 0);
  const guest_supported = l ? (BigInt(l.eax) | BigInt(l.edx) << 32n) & KVM_SUPPORTED_XCR0 : 1n;
  if (!(xcr0 & 1n)) return 1;
  if ((xcr0 & 4n) && !(xcr0 & 2n)) return 1;
  if (xcr0 & ~guest_supported) return 1;
  const avx512 = 0xe0n;
  if ((xcr0 & avx512) && (xcr0 & avx512) !== avx512) return 1;
  if ((xcr0 & avx512) && !(xcr0 & 4n)) return 1;
  vcpu.arch.vmcs.xcr0 = xcr0;
  return 0;
}

function kvm_vcpu_ioctl_x86_set_xcrs(vcpu: kvm_vcpu, arg: bigint): number {
  if (copy_in(arg, kvm_xcrs.size)) return -EFAULT;
  const n = xcrs_v.nr_xcrs;
  if (n > KVM_MAX_XCRS || xcrs_v.flags) return -EINVAL;
  for (let i = 0; i < n; i++) {
    const x = xcrs_v.xcrs.at(i);
    // Only the first XCR0 entry is applied; other XCR indices are ignored.
    if (x.xcr === 0) return kvm_set_xcr0(vcpu, x.value) ? -EINVAL : 0;
  }
  return 0;
}

function kvm_vcpu_ioctl_x86_get_xcrs(vcpu: kvm_vcpu, arg: bigint): number {
  scratch_u8.fill(0, 0, kvm_xcrs.size);
  xcrs_v.nr_xcrs = 1;
  xcrs_v.xcrs.at(0).xcr = 0;
  xcrs_v.xcrs.at(0).value = vcpu.arch.vmcs.xcr0;
  return copy_out(arg, scratch_u8, kvm_xcrs.size) ? -EFAULT : 0;
}

/** KVM_SET_TSC_KHZ on a vCPU. */
function kvm_vcpu_set_tsc_khz(vcpu: kvm_vcpu, arg: bigint): number {
  let khz = Number(arg & 0xffffffffn);
  if (khz >= MAX_GUEST_TSC_KHZ) return -EINVAL;
  if (khz === 0) khz = HOST_TSC_KHZ;
  const tsc = guest_tsc(vcpu);
  vcpu.arch.vmcs.tsc_khz = khz;
  // The guest TSC continues from where it was, at the new rate.
  vcpu.arch.vmcs.tsc_offset = BigInt.asUintN(64, tsc - host_tsc_scaled(vcpu));
  return 0;
}

/**
 * The requests `kvm_arch_vcpu_ioctl()` answers (KVM_MEMORY_ENCRYPT_OP: a TD
 * vCPU's, through `tdx_vcpu_arch_ioctl()`).
 */
export const kvm_arch_vcpu_ioctl_requests: readonly number[] = [
  KVM_MEMORY_ENCRYPT_OP,
  KVM_GET_MSRS,
  KVM_SET_MSRS,
  KVM_SET_CPUID2,
  KVM_SET_CPUID,
  KVM_ENABLE_CAP,
  KVM_GET_CPUID2,
  KVM_GET_XCRS,
  KVM_SET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_SET_XSAVE,
  KVM_GET_VCPU_EVENTS,
  KVM_SET_VCPU_EVENTS,
  KVM_GET_DEBUGREGS,
  KVM_SET_DEBUGREGS,
  KVM_SET_TSC_KHZ,
  KVM_GET_TSC_KHZ,
  KVM_INTERRUPT,
  KVM_NMI,
  KVM_X86_SETUP_MCE,
  KVM_X86_SET_MCE,
  KVM_GET_LAPIC,
  KVM_SET_LAPIC,
];

/** `kvm_arch_vcpu_ioctl()`: the x86 vCPU ioctls; unknown numbers are `-EINVAL`, as in x86.c. */
export function kvm_arch_vcpu_ioctl(vcpu: kvm_vcpu, cmd: number, arg: bigint): number {
  if (is_td(vcpu.kvm)) {
    const r = tdx_vcpu_arch_ioctl(vcpu, cmd, arg);
    if (r !== null) return r;
  }
  switch (cmd) {
    case KVM_GET_MSRS:
      return msr_io(
        arg,
        (i, d) => kvm_do_msr_access(i, d, true, (j, e) => kvm_get_msr(vcpu, j, e, true)),
        true,
      );
    case KVM_SET_MSRS:
      return msr_io(
        arg,
        (i, d) => kvm_do_msr_access(i, d, false, (j, e) => kvm_set_msr(vcpu, j, e[0]!, true)),
        false,
      );
    case KVM_SET_CPUID2:
      return kvm_vcpu_ioctl_set_cpuid2(vcpu, arg);
    case KVM_SET_CPUID:
      return kvm_vcpu_ioctl_set_cpuid(vcpu, arg);
    case KVM_ENABLE_CAP:
      return kvm_vcpu_ioctl_enable_cap(vcpu, arg);
    case KVM_GET_CPUID2:
      return kvm_vcpu_ioctl_get_cpuid2(vcpu, arg);
    case KVM_GET_XCRS:
      return kvm_vcpu_ioctl_x86_get_xcrs(vcpu, arg);
    case KVM_SET_XCRS:
      return kvm_vcpu_ioctl_x86_set_xcrs(vcpu, arg);
    case KVM_GET_XSAVE:
    case KVM_GET_XSAVE2: {
      const x = vcpu.arch.xsave;
      // XSTATE_BV in the header says which components hold state.
      new DataView(x.buffer, x.byteOffset).setBigUint64(512, vcpu.arch.vmcs.xcr0 & 3n, true);
      return copy_out(arg, x) ? -EFAULT : 0;
    }
    case KVM_SET_XSAVE: {
      if (copy_in(arg, 4096)) return -EFAULT;
      const bv = scratch_dv.getBigUint64(512, true);
      // Components the host does not support, or a compacted format, are refused.
      if (bv & ~KVM_SUPPORTED_XCR0) return -EINVAL;
      if (scratch_dv.getBigUint64(520, true) >> 63n) return -EINVAL;
      vcpu.arch.xsave.set(scratch_u8.subarray(0, 4096));
      return 0;
    }
    case KVM_GET_VCPU_EVENTS:
      get_vcpu_events(vcpu, scratch_u8);
      return copy_out(arg, scratch_u8, kvm_vcpu_events.size) ? -EFAULT : 0;
    case KVM_SET_VCPU_EVENTS: {
      if (copy_in(arg, kvm_vcpu_events.size)) return -EFAULT;
      return set_vcpu_events(vcpu);
    }
    case KVM_GET_DEBUGREGS: {
      const d = vcpu.arch.debugregs;
      d.dr6 = vcpu.arch.vmcs.dr6;
      d.dr7 = vcpu.arch.vmcs.dr7;
      return copy_out(arg, d.$bytes) ? -EFAULT : 0;
    }
    case KVM_SET_DEBUGREGS: {
      if (copy_in(arg, kvm_debugregs.size)) return -EFAULT;
      const d = kvm_debugregs.view(scratch);
      if (d.flags) return -EINVAL;
      // kvm_dr6_valid()/kvm_dr7_valid(): any bit set above bit 31 makes it EINVAL.
      if (d.dr6 >> 32n || d.dr7 >> 32n) return -EINVAL;
      vcpu.arch.debugregs.$bytes.set(d.$bytes.subarray(0, kvm_debugregs.size));
      vcpu.arch.vmcs.dr6 = d.dr6;
      vcpu.arch.vmcs.dr7 = d.dr7;
      return 0;
    }
    case KVM_SET_TSC_KHZ:
      return kvm_vcpu_set_tsc_khz(vcpu, arg);
    case KVM_GET_TSC_KHZ:
      // virtual_tsc_khz (u32) through kvm_arch_vcpu_ioctl()'s `int r`.
      return vcpu.arch.vmcs.tsc_khz | 0;
    case KVM_INTERRUPT:
      if (copy_in(arg, kvm_interrupt.size)) return -EFAULT;
      return kvm_vcpu_ioctl_interrupt(vcpu, scratch_dv.getUint32(0, true));
    case KVM_NMI:
      // kvm_vcpu_ioctl_nmi(): no argument, no check.
      kvm_inject_nmi(vcpu);
      return 0;
    case KVM_X86_SETUP_MCE:
      if (copy_in(arg, 8)) return -EFAULT;
      return kvm_vcpu_ioctl_x86_setup_mce(vcpu, scratch_dv.getBigUint64(0, true));
    case KVM_X86_SET_MCE:
      if (copy_in(arg, kvm_x86_mce.size)) return -EFAULT;
      return kvm_vcpu_ioctl_x86_set_mce(vcpu, kvm_x86_mce.view(scratch));
    case KVM_GET_LAPIC: {
      // kvm_vcpu_ioctl_get_lapic(): no in-kernel LAPIC, or a TD's protected one, is EINVAL.
      if (!irqchip_in_kernel(vcpu.kvm) || is_td(vcpu.kvm)) return -EINVAL;
      const r = kvm_apic_get_state(vcpu, scratch_u8.subarray(0, KVM_APIC_REG_SIZE));
      if (r) return r;
      return copy_out(arg, scratch_u8, KVM_APIC_REG_SIZE) ? -EFAULT : 0;
    }
    case KVM_SET_LAPIC:
      if (!irqchip_in_kernel(vcpu.kvm)) return -EINVAL;
      if (copy_in(arg, KVM_APIC_REG_SIZE)) return -EFAULT;
      if (is_td(vcpu.kvm)) return -EINVAL;
      return kvm_apic_set_state(vcpu, scratch_u8.subarray(0, KVM_APIC_REG_SIZE));
    default:
      return -EINVAL;
  }
}

/** `kvm_arch_vcpu_ioctl_run()`, blocking the calling thread. */
export function kvm_arch_vcpu_ioctl_run(vcpu: kvm_vcpu): number {
  return vmx_vcpu_run(vcpu);
}

/** `kvm_arch_vcpu_ioctl_run()`, letting other JavaScript run while the guest runs. */
export function kvm_arch_vcpu_async_ioctl_run(vcpu: kvm_vcpu): Promise<number> | number {
  return vmx_vcpu_run_async(vcpu);
}
