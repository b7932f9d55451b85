// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/processor.c` and of the
 * functions of `include/x86/processor.h`: guest page tables (4 and 5 levels,
 * C-bit/S-bit on leaf PTEs), the GDT/IDT/TSS, vCPU setup, CPUID helpers, MSR
 * helpers, and the guest-side side of exceptions (`route_exception`).
 *
 * Tests import it through `include/x86/processor.ts`.
 *
 * @module
 */

import { offsetof, u64, u8 } from "../../include/c/layout.ts";
import {
  KVM_CAP_GET_TSC_KHZ,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_GET_CPUID2,
  KVM_GET_MSRS,
  KVM_GET_SREGS,
  KVM_GET_SUPPORTED_CPUID,
  KVM_GET_TSC_KHZ,
  KVM_GET_XSAVE,
  kvm_mp_state,
  KVM_SET_CPUID2,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_SREGS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
} from "../../include/linux/kvm.ts";
import {
  kvm_cpuid2,
  kvm_cpuid_entry2,
  kvm_msrs,
  kvm_regs,
  kvm_segment,
  kvm_sev_init,
  KVM_SEV_INIT2,
  kvm_sregs,
  KVM_TDX_GET_CPUID,
  KVM_TDX_INIT_VCPU,
  KVM_X86_TDX_VM,
  kvm_xcrs,
  kvm_xsave,
} from "../../include/asm/kvm.ts";
import { ioctl, user_memory } from "../../include/libc/syscall.ts";
import type { View } from "../../include/c/layout.ts";
import { pr_info, TEST_ASSERT, TEST_ASSERT_EQ, TEST_FAIL } from "../../include/test_util.ts";
import {
  DEFAULT_GUEST_STACK_VADDR_MIN,
  DEFAULT_STACK_PGS,
  type gpa_t,
  type guest_code_t,
  type gva_t,
  kvm_mem_region_type,
  type kvm_vcpu,
  type kvm_vm,
  vm_guest_mode,
} from "../../include/kvm_util_types.ts";
import {
  __kvm_ioctl,
  __vcpu_ioctl,
  __vm_alloc,
  __vm_ioctl,
  __vm_vcpu_add,
  addr_gpa2hva,
  addr_gva2hva,
  addr_hva2gpa,
  getpagesize,
  kvm_free_fd,
  kvm_has_cap,
  kvm_ioctl,
  open_kvm_dev_path_or_exit,
  sync_global_to_guest,
  vcpu_ioctl,
  vcpu_regs_get,
  vcpu_regs_set,
  vcpu_sregs_get,
  vcpu_sregs_set,
  vm_alloc_page_table,
  vm_create_irqchip,
  vm_is_gpa_protected,
  vm_pfn_page_view,
  vm_untag_gpa,
  write_guest_global,
} from "../kvm_util.ts";
import { sparsebit_is_set } from "../sparsebit.ts";
import { guest_global } from "../guest_globals.ts";
import { guest_code_gva, guest_code_gvas } from "../elf.ts";
import {
  tdx_init_vm,
  tdx_vcpu_ioctl,
  tdx_vcpu_load_boot_parameters,
  tdx_vcpu_set_entry_point,
  tdx_vm_finalize,
  tdx_vm_load_common_boot_parameters,
  tdx_vm_setup_boot_code_region,
  tdx_vm_setup_boot_parameters_region,
} from "./tdx/tdx_util.ts";
import { is_sev_vm, vm_sev_ioctl } from "./sev.ts";
import { vm_load_fep_stubs } from "./fep.ts";
import { open_sev_dev_path_or_exit } from "./svm.ts";
import { idt_handler_name } from "./handlers.ts";
import {
  guest_runtime_attach,
  guest_runtime_idt_entry,
  guest_runtime_needed,
} from "./guest_runtime_host.ts";
import { kvm_arch_mmio_init } from "./mmio.ts";
import { type FILE, fprintf } from "../../include/libc/stdio.ts";
import {
  __KVM_IOCTL_ERROR,
  get_kvm_param_bool,
  get_kvm_param_integer,
  kvm_check_cap,
  kvm_get_module_param_bool,
  kvm_get_module_param_integer,
  vcpu_events_get,
  vcpu_events_set,
  vcpu_mp_state_get,
  vcpu_mp_state_set,
  vcpu_nested_state_get,
  vcpu_nested_state_set,
  vcpu_run_complete_io,
  vm_check_cap,
} from "../kvm_util.ts";
import { sparsebit_set_num } from "../sparsebit.ts";
import { KVM_HC_MAP_GPA_RANGE } from "../../include/linux/kvm_para.ts";
import { sys_get_cur_clocksource } from "../test_util.ts";
import { test_assert } from "../assert.ts";
import { callsite, stringify_args } from "../../include/linux/stringify.ts";
import { errno_get, strerror } from "../../include/libc/errno.ts";
import { E2BIG } from "../../include/linux/errno.ts";
import {
  KVM_CAP_NESTED_STATE,
  KVM_CAP_XCRS,
  KVM_CAP_XSAVE2,
  KVM_GET_DEBUGREGS,
  KVM_GET_MSR_FEATURE_INDEX_LIST,
  KVM_GET_MSR_INDEX_LIST,
  KVM_GET_XCRS,
  KVM_GET_XSAVE2,
  KVM_SET_DEBUGREGS,
} from "../../include/linux/kvm.ts";
import {
  kvm_debugregs,
  kvm_msr_list,
  kvm_nested_state,
  kvm_vcpu_events,
} from "../../include/asm/kvm.ts";
import type { hva_t, kvm_mmu } from "../../include/kvm_util_types.ts";
export { idt_handler_name };
import {
  get_ucall,
  GUEST_ASSERT,
  REPORT_GUEST_ASSERT,
  ucall_struct,
  UCALL_UNHANDLED,
} from "../ucall_common.ts";
import { __this_cpu_has, kvm_hypercall, rdtsc, this_cpu_has } from "./guest.ts";
import { __xen_hypercall } from "./guest.ts";
import {
  desc64,
  EFER_LMA,
  EFER_LME,
  EFER_NX,
  idt_entry,
  KERNEL_CS,
  KERNEL_DS,
  KERNEL_TSS,
  KVM_CPUID_EAX,
  KVM_CPUID_EBX,
  KVM_CPUID_ECX,
  KVM_CPUID_EDX,
  KVM_MAGIC_DE_VECTOR,
  type kvm_x86_cpu_feature,
  type kvm_x86_cpu_property,
  type kvm_x86_pmu_feature,
  MAX_NR_CPUID_ENTRIES,
  MSR_IA32_TSC,
  MSR_IA32_VMX_PROCBASED_CTLS2,
  MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
  NUM_INTERRUPTS,
  PAGE_SHIFT,
  PG_LEVEL_SHIFT,
  PG_LEVEL_SIZE,
  PHYSICAL_PAGE_MASK,
  PTE_ACCESSED_MASK,
  PTE_DIRTY_MASK,
  PTE_EXECUTABLE_MASK,
  PTE_GET_PA,
  PTE_GET_PFN,
  PTE_HUGE_MASK,
  PTE_LARGE_MASK,
  PTE_NX_MASK,
  PTE_PRESENT_MASK,
  PTE_READABLE_MASK,
  PTE_USER_MASK,
  PTE_WRITABLE_MASK,
  X86_CR0_NE,
  X86_CR0_PE,
  X86_CR0_PG,
  X86_CR4_LA57,
  X86_CR4_OSFXSR,
  X86_CR4_OSXSAVE,
  X86_CR4_PAE,
  x86_family,
  X86_FEATURE_LA57,
  X86_FEATURE_NPT,
  X86_FEATURE_PAE,
  X86_FEATURE_VMX,
  X86_FEATURE_XSAVE,
  x86_model,
  X86_PROPERTY_GUEST_MAX_PHY_ADDR,
  X86_PROPERTY_MAX_BASIC_LEAF,
  X86_PROPERTY_MAX_CENTAUR_LEAF,
  X86_PROPERTY_MAX_EXT_LEAF,
  X86_PROPERTY_MAX_KVM_LEAF,
  X86_PROPERTY_MAX_PHY_ADDR,
  X86_PROPERTY_MAX_VIRT_ADDR,
  X86_PROPERTY_PMU_EBX_BIT_VECTOR_LENGTH,
  X86_PROPERTY_PMU_NR_FIXED_COUNTERS,
  X86_PROPERTY_SEV_C_BIT,
  X86_PROPERTY_SUPPORTED_XCR0_HI,
  X86_PROPERTY_SUPPORTED_XCR0_LO,
} from "../../include/x86/processor.ts";

export * from "./guest.ts";
export * from "./fep.ts";

// ---------------------------------------------------------------------------
// Guest globals of processor.c

/** C `exception_handlers`: the guest's handler table (GVA), set by `vm_init_descriptor_tables`. */
export const exception_handlers: guest_global<bigint> = guest_global("exception_handlers", u64);
/** C `guest_tsc_khz`. */
export const guest_tsc_khz: guest_global<bigint> = guest_global("guest_tsc_khz", u64);
/** C `host_cpu_is_intel`, synced to the guest. */
export const host_cpu_is_intel: guest_global<bigint> = guest_global("host_cpu_is_intel", u64);
/** C `host_cpu_is_amd`, synced to the guest. */
export const host_cpu_is_amd: guest_global<bigint> = guest_global("host_cpu_is_amd", u64);
/**
 * C `is_forced_emulation_enabled`: whether guests may use `KVM_FEP` to force
 * KVM's instruction emulator (kvm.force_emulation_prefix); synced to the guest.
 */
export const is_forced_emulation_enabled: guest_global<number> = guest_global(
  "is_forced_emulation_enabled",
  u8,
);

/**
 * C `kvm_is_forced_emulation_enabled()`: the `force_emulation_prefix` module
 * parameter of kvm. The simulated kernel has no instruction emulator to force,
 * so it is always off there; on `/dev/kvm` it is read from sysfs.
 *
 * @returns whether forced emulation is enabled
 */
export function kvm_is_forced_emulation_enabled(): boolean {
  return !!get_kvm_param_integer("force_emulation_prefix");
}

// ---------------------------------------------------------------------------
// Default register values (v13 processor.h helpers)

/**
 * C `kvm_get_default_idt_limit()`.
 *
 * @returns the IDT limit of 256 16-byte gates
 */
export function kvm_get_default_idt_limit(): number {
  return NUM_INTERRUPTS * idt_entry.size - 1;
}

/**
 * C `kvm_get_default_gdt_limit()`.
 *
 * @returns one page, minus one
 */
export function kvm_get_default_gdt_limit(): number {
  return getpagesize() - 1;
}

/**
 * C `kvm_get_default_cr0()`.
 *
 * @returns PE | NE | PG
 */
export function kvm_get_default_cr0(): bigint {
  return X86_CR0_PE | X86_CR0_NE | X86_CR0_PG;
}

/**
 * C `kvm_get_default_cr4()`: PAE | OSFXSR, plus OSXSAVE when KVM supports XSAVE.
 *
 * @returns the CR4 value
 */
export function kvm_get_default_cr4(): bigint {
  let cr4 = X86_CR4_PAE | X86_CR4_OSFXSR;
  if (kvm_cpu_has(X86_FEATURE_XSAVE)) cr4 |= X86_CR4_OSXSAVE;
  return cr4;
}

/**
 * C `kvm_get_default_efer()`.
 *
 * @returns LME | LMA | NX
 */
export function kvm_get_default_efer(): bigint {
  return EFER_LME | EFER_LMA | EFER_NX;
}

// ---------------------------------------------------------------------------
// CPUID

let kvm_supported_cpuid: View<typeof kvm_cpuid2.fields> | null = null;

/**
 * C `kvm_cpuid2_size(nr_entries)`.
 *
 * @param nr_entries the entry count
 * @returns the byte size of a `kvm_cpuid2` with that many entries
 */
export function kvm_cpuid2_size(nr_entries: number): number {
  return kvm_cpuid2.size + nr_entries * kvm_cpuid_entry2.size;
}

/**
 * C `allocate_kvm_cpuid2(nr_entries)`: a zeroed table with `nent` set.
 *
 * @param nr_entries the entry count
 * @returns the table
 */
export function allocate_kvm_cpuid2(nr_entries: number): View<typeof kvm_cpuid2.fields> {
  const cpuid = kvm_cpuid2.alloc(nr_entries);
  cpuid.nent = nr_entries;
  return cpuid;
}

/**
 * C `kvm_get_supported_cpuid()`: `KVM_GET_SUPPORTED_CPUID`, cached.
 *
 * @returns the supported CPUID table
 */
export function kvm_get_supported_cpuid(): View<typeof kvm_cpuid2.fields> {
  if (kvm_supported_cpuid) return kvm_supported_cpuid;
  const cpuid = allocate_kvm_cpuid2(MAX_NR_CPUID_ENTRIES);
  const kvm_fd = open_kvm_dev_path_or_exit();
  kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
  kvm_free_fd(kvm_fd);
  kvm_supported_cpuid = cpuid;
  return cpuid;
}

/**
 * C `this_cpu_vendor_string_is(vendor)` run on the host. TypeScript cannot
 * execute CPUID, so the host's vendor comes from KVM_GET_SUPPORTED_CPUID
 * leaf 0, which KVM copies from the host CPU: the simulated Intel host on the
 * simulator, the real CPU on /dev/kvm.
 */
function host_cpu_vendor_string_is(vendor: string): boolean {
  const e = entries_of(kvm_get_supported_cpuid()).find((e) => e.function === 0);
  if (!e) return false;
  const dv = new DataView(new ArrayBuffer(12));
  [e.ebx, e.edx, e.ecx].forEach((r, i) => dv.setUint32(i * 4, r, true));
  return new TextDecoder().decode(dv.buffer) === vendor;
}

/** The entries of a CPUID table that `nent` says are valid. */
function entries_of(cpuid: View<typeof kvm_cpuid2.fields>): View<typeof kvm_cpuid_entry2.fields>[] {
  const out: View<typeof kvm_cpuid_entry2.fields>[] = [];
  for (let i = 0; i < cpuid.nent && i < cpuid.entries.length; i++) out.push(cpuid.entries.at(i));
  return out;
}

/**
 * Offsets of `entries`, `function` and `index`, taken at first use: this
 * module is part of an import cycle through include/x86, so the layouts may
 * not exist yet when it is evaluated.
 */
let cpuid_keys: readonly [number, number, number] | undefined;

/**
 * The position of entry (`fn`, `index`) among the valid entries of `cpuid`,
 * or -1: C's loop over `cpuid->entries`, reading the two keys in place (the
 * library asks the supported table a few dozen times per VM; a view per
 * entry made 70 KiB of garbage per VM). The TDX library's lookups in
 * `KVM_TDX_CAPABILITIES` use it too.
 *
 * @param cpuid a CPUID table
 * @param fn the leaf
 * @param index the subleaf
 * @returns the entry's position, or -1
 */
export function cpuid_entry_index(
  cpuid: View<typeof kvm_cpuid2.fields>,
  fn: number,
  index: number,
): number {
  const [entries, f_at, i_at] = cpuid_keys ??= [
    offsetof(kvm_cpuid2, "entries"),
    offsetof(kvm_cpuid_entry2, "function"),
    offsetof(kvm_cpuid_entry2, "index"),
  ];
  const n = Math.min(cpuid.nent, cpuid.entries.length);
  const dv = new DataView(cpuid.$buffer, cpuid.$offset + entries);
  fn >>>= 0;
  for (let i = 0, at = 0; i < n; i++, at += kvm_cpuid_entry2.size) {
    if (dv.getUint32(at + f_at, true) === fn && dv.getUint32(at + i_at, true) === index) return i;
  }
  return -1;
}

/** An entry's output register by index (C's `(&entry->eax)[reg]`). */
function entry_reg(e: View<typeof kvm_cpuid_entry2.fields>, reg: number): number {
  return [e.eax, e.ebx, e.ecx, e.edx][reg]! >>> 0;
}

/** C `GENMASK(hi, lo) & x >> lo` on 32-bit values. */
function bits(x: number, lo: number, hi: number): number {
  const width = hi - lo + 1;
  return width >= 32 ? x >>> 0 : (x >>> lo) & ((1 << width) - 1) >>> 0;
}

function __kvm_cpu_has(
  cpuid: View<typeof kvm_cpuid2.fields>,
  fn: number,
  index: number,
  reg: number,
  lo: number,
  hi: number,
): number {
  const i = cpuid_entry_index(cpuid, fn, index);
  return i < 0 ? 0 : bits(entry_reg(cpuid.entries.at(i), reg), lo, hi);
}

/**
 * C `kvm_cpuid_has(cpuid, feature)`.
 *
 * @param cpuid a CPUID table
 * @param feature the feature
 * @returns whether the bit is set
 */
export function kvm_cpuid_has(
  cpuid: View<typeof kvm_cpuid2.fields>,
  feature: kvm_x86_cpu_feature,
): boolean {
  return __kvm_cpu_has(
    cpuid,
    feature.function,
    feature.index,
    feature.reg,
    feature.bit,
    feature.bit,
  ) !==
    0;
}

/**
 * C `kvm_cpuid_property(cpuid, property)`.
 *
 * @param cpuid a CPUID table
 * @param property the property
 * @returns its value
 */
export function kvm_cpuid_property(
  cpuid: View<typeof kvm_cpuid2.fields>,
  property: kvm_x86_cpu_property,
): number {
  return __kvm_cpu_has(
    cpuid,
    property.function,
    property.index,
    property.reg,
    property.lo_bit,
    property.hi_bit,
  );
}

/**
 * C `kvm_cpu_has(feature)`: whether KVM supports the feature.
 *
 * @param feature the feature
 * @returns whether the supported CPUID has it
 */
export function kvm_cpu_has(feature: kvm_x86_cpu_feature): boolean {
  return kvm_cpuid_has(kvm_get_supported_cpuid(), feature);
}

/**
 * C `kvm_cpu_property(property)`.
 *
 * @param property the property
 * @returns its value in the supported CPUID
 */
export function kvm_cpu_property(property: kvm_x86_cpu_property): number {
  return kvm_cpuid_property(kvm_get_supported_cpuid(), property);
}

/**
 * C `kvm_cpu_has_p(property)`: whether the property's leaf exists.
 *
 * @param property the property
 * @returns whether the max (extended) leaf covers it
 */
export function kvm_cpu_has_p(property: kvm_x86_cpu_property): boolean {
  const max_leaf = kvm_cpu_property(max_leaf_property(property.function));
  return max_leaf >= property.function;
}

/** The property holding the highest leaf of `fn`'s range (basic, KVM, extended, Centaur). */
function max_leaf_property(fn: number): kvm_x86_cpu_property {
  switch ((fn & 0xc0000000) >>> 0) {
    case 0:
      return X86_PROPERTY_MAX_BASIC_LEAF;
    case 0x40000000:
      return X86_PROPERTY_MAX_KVM_LEAF;
    case 0x80000000:
      return X86_PROPERTY_MAX_EXT_LEAF;
    default:
      return X86_PROPERTY_MAX_CENTAUR_LEAF;
  }
}

/**
 * C `kvm_cpu_supported_xcr0()`.
 *
 * @returns the XCR0 bits KVM supports
 */
export function kvm_cpu_supported_xcr0(): bigint {
  if (!kvm_cpu_has_p(X86_PROPERTY_SUPPORTED_XCR0_LO)) return 0n;
  return BigInt(kvm_cpu_property(X86_PROPERTY_SUPPORTED_XCR0_LO)) |
    (BigInt(kvm_cpu_property(X86_PROPERTY_SUPPORTED_XCR0_HI)) << 32n);
}

/**
 * C `get_cpuid_entry(cpuid, function, index)`.
 *
 * @param cpuid a CPUID table
 * @param fn the leaf
 * @param index the subleaf
 * @returns the entry (a view into the table)
 */
export function get_cpuid_entry(
  cpuid: View<typeof kvm_cpuid2.fields>,
  fn: number,
  index: number,
): View<typeof kvm_cpuid_entry2.fields> {
  const i = cpuid_entry_index(cpuid, fn, index);
  if (i >= 0) return cpuid.entries.at(i);
  return TEST_FAIL("CPUID function 0x%x index 0x%x not found ", fn, index);
}

/**
 * C `vcpu_get_cpuid(vcpu)`: refresh the cached CPUID with `KVM_GET_CPUID2`.
 *
 * @param vcpu the vCPU
 */
export function vcpu_get_cpuid(vcpu: kvm_vcpu): void {
  vcpu_ioctl(vcpu, KVM_GET_CPUID2, vcpu.cpuid!);
}

/**
 * C `__vcpu_set_cpuid(vcpu)`: `KVM_SET_CPUID2` of the cached table, raw;
 * refreshes the cache on success.
 *
 * @param vcpu the vCPU
 * @returns the ioctl's result
 */
export function __vcpu_set_cpuid(vcpu: kvm_vcpu): number {
  TEST_ASSERT(vcpu.cpuid, "Must do vcpu_init_cpuid() first");
  const r = __vcpu_ioctl(vcpu, KVM_SET_CPUID2, vcpu.cpuid);
  if (r) return r;
  vcpu_ioctl(vcpu, KVM_GET_CPUID2, vcpu.cpuid);
  return 0;
}

/**
 * C `vcpu_set_cpuid(vcpu)`.
 *
 * @param vcpu the vCPU
 */
export function vcpu_set_cpuid(vcpu: kvm_vcpu): void {
  TEST_ASSERT(vcpu.cpuid, "Must do vcpu_init_cpuid() first (or equivalent)");
  vcpu_ioctl(vcpu, KVM_SET_CPUID2, vcpu.cpuid);
  vcpu_ioctl(vcpu, KVM_GET_CPUID2, vcpu.cpuid);
}

/**
 * C `vcpu_init_cpuid(vcpu, cpuid)`: copy `cpuid` into the vCPU's cache and set it.
 *
 * @param vcpu the vCPU
 * @param cpuid the table
 */
export function vcpu_init_cpuid(vcpu: kvm_vcpu, cpuid: View<typeof kvm_cpuid2.fields>): void {
  TEST_ASSERT(cpuid !== vcpu.cpuid, "@cpuid can't be the vCPU's CPUID");
  if (vcpu.cpuid && vcpu.cpuid.nent < cpuid.nent) vcpu.cpuid = null;
  if (!vcpu.cpuid) vcpu.cpuid = allocate_kvm_cpuid2(cpuid.nent);
  const n = kvm_cpuid2_size(cpuid.nent);
  vcpu.cpuid.$bytes.set(cpuid.$bytes.subarray(0, n));
  vcpu_set_cpuid(vcpu);
}

/**
 * C `__vcpu_get_cpuid_entry(vcpu, function, index)`: refreshes the cached
 * table with KVM_GET_CPUID2 first, because KVM updates bits that mirror live
 * state (OSXSAVE, OSPKE, APIC) behind the test's back.
 *
 * @param vcpu the vCPU
 * @param fn the leaf
 * @param index the subleaf
 * @returns the entry in the vCPU's cached table
 */
export function __vcpu_get_cpuid_entry(
  vcpu: kvm_vcpu,
  fn: number,
  index: number,
): View<typeof kvm_cpuid_entry2.fields> {
  TEST_ASSERT(vcpu.cpuid !== null, "Must do vcpu_init_cpuid() first (or equivalent)");
  vcpu_get_cpuid(vcpu);
  return get_cpuid_entry(vcpu.cpuid!, fn, index);
}

/**
 * C `vcpu_get_cpuid_entry(vcpu, function)` (index 0).
 *
 * @param vcpu the vCPU
 * @param fn the leaf
 * @returns the entry in the vCPU's cached table
 */
export function vcpu_get_cpuid_entry(
  vcpu: kvm_vcpu,
  fn: number,
): View<typeof kvm_cpuid_entry2.fields> {
  return __vcpu_get_cpuid_entry(vcpu, fn, 0);
}

/**
 * C `vcpu_cpuid_has(vcpu, feature)`.
 *
 * @param vcpu the vCPU
 * @param feature the feature
 * @returns whether the vCPU's CPUID has it
 */
export function vcpu_cpuid_has(vcpu: kvm_vcpu, feature: kvm_x86_cpu_feature): boolean {
  const e = __vcpu_get_cpuid_entry(vcpu, feature.function, feature.index);
  return ((entry_reg(e, feature.reg) >>> feature.bit) & 1) !== 0;
}

/**
 * C `vcpu_set_or_clear_cpuid_feature(vcpu, feature, set)`.
 *
 * @param vcpu the vCPU
 * @param feature the feature
 * @param set set or clear
 */
export function vcpu_set_or_clear_cpuid_feature(
  vcpu: kvm_vcpu,
  feature: kvm_x86_cpu_feature,
  set: boolean,
): void {
  const e = __vcpu_get_cpuid_entry(vcpu, feature.function, feature.index);
  const keys = ["eax", "ebx", "ecx", "edx"] as const;
  const k = keys[feature.reg]!;
  const mask = (1 << feature.bit) >>> 0;
  e[k] = set ? (e[k] | mask) >>> 0 : (e[k] & ~mask) >>> 0;
  vcpu_set_cpuid(vcpu);
}

/**
 * C `kvm_get_cpu_address_width(&pa_bits, &va_bits)`.
 *
 * @returns the physical and virtual address widths KVM reports
 */
export function kvm_get_cpu_address_width(): { pa_bits: number; va_bits: number } {
  if (!kvm_cpu_has_p(X86_PROPERTY_MAX_PHY_ADDR)) {
    return { pa_bits: kvm_cpu_has(X86_FEATURE_PAE) ? 36 : 32, va_bits: 32 };
  }
  return {
    pa_bits: kvm_cpu_property(X86_PROPERTY_MAX_PHY_ADDR),
    va_bits: kvm_cpu_property(X86_PROPERTY_MAX_VIRT_ADDR),
  };
}

/**
 * The guest's virtual-address width the library builds page tables for: what
 * KVM reports (`kvm_get_cpu_address_width()`), except that 57 bits need a
 * vCPU that takes CR4.LA57. Some hosts list LA57 in KVM_GET_SUPPORTED_CPUID
 * and still refuse CR4.LA57 in KVM_SET_SREGS (a `kvm_pvm` host on Intel
 * does); upstream would fail every `vm_vcpu_add()` there, the SDK builds
 * 4-level tables instead.
 *
 * @param va_bits the width KVM reports
 * @param la57_usable whether a vCPU takes CR4.LA57 ({@linkcode kvm_la57_usable})
 * @returns 57 or 48 (other widths are returned unchanged, for the caller's assert)
 */
export function x86_guest_va_bits(va_bits: number, la57_usable: boolean): number {
  return va_bits === 57 && !la57_usable ? 48 : va_bits;
}

let la57_usable: boolean | undefined;

/**
 * SDK addition: whether KVM lets a vCPU run with CR4.LA57, asked once per
 * process the way `vm_vcpu_add()` would meet it: a scratch VM whose vCPU gets
 * the supported CPUID (KVM checks CR4 against the guest's CPUID,
 * `kvm_is_valid_cr4()`) and then a 64-bit KVM_SET_SREGS with LA57 set.
 *
 * @returns false when LA57 is not advertised or the host refuses it
 */
export function kvm_la57_usable(): boolean {
  if (la57_usable !== undefined) return la57_usable;
  la57_usable = false;
  if (!kvm_cpu_has(X86_FEATURE_LA57)) return false;
  const kvm_fd = open_kvm_dev_path_or_exit();
  const vm_fd = __kvm_ioctl(kvm_fd, KVM_CREATE_VM, 0);
  kvm_free_fd(kvm_fd);
  if (vm_fd < 0) return false;
  const vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
  if (vcpu_fd >= 0) {
    const sregs = kvm_sregs.alloc();
    if (
      ioctl(vcpu_fd, KVM_SET_CPUID2, kvm_get_supported_cpuid()) === 0 &&
      ioctl(vcpu_fd, KVM_GET_SREGS, sregs) === 0
    ) {
      sregs.cr0 = kvm_get_default_cr0();
      sregs.cr4 = kvm_get_default_cr4() | X86_CR4_LA57;
      sregs.efer = kvm_get_default_efer();
      kvm_seg_set_kernel_code_64bit(sregs.cs);
      la57_usable = ioctl(vcpu_fd, KVM_SET_SREGS, sregs) === 0;
    }
    kvm_free_fd(vcpu_fd);
  }
  kvm_free_fd(vm_fd);
  if (!la57_usable) {
    pr_info("KVM lists LA57 but refuses CR4.LA57: the guest gets 4-level paging\n");
  }
  return la57_usable;
}

/**
 * C `vm_compute_max_gfn(vm)`: bounded by CPUID 0x80000008 EAX[23:16] when
 * KVM fills it in, since a host whose TDP has fewer levels than its physical
 * address width cannot map the top GPAs; the raw width otherwise. The AMD
 * HyperTransport hole does not apply: the simulated host is Intel.
 *
 * @param vm the VM
 * @returns the highest usable guest frame
 */
export function vm_compute_max_gfn(vm: kvm_vm): bigint {
  const guest_maxphyaddr = kvm_cpu_property(X86_PROPERTY_GUEST_MAX_PHY_ADDR) || vm.pa_bits;
  TEST_ASSERT(
    guest_maxphyaddr <= vm.pa_bits,
    "Guest MAXPHYADDR should never be greater than raw MAXPHYADDR",
  );
  return (1n << BigInt(guest_maxphyaddr - vm.page_shift)) - 1n;
}

/**
 * C `is_tdx_vm(vm)`.
 *
 * @param vm the VM
 * @returns whether it is a TD
 */
export function is_tdx_vm(vm: kvm_vm): boolean {
  return vm.type === KVM_X86_TDX_VM;
}

/**
 * C `kvm_init_vm_address_properties(vm)`: the C-bit of an SEV VM (which tags
 * private GPAs) or the S-bit of a TD (bit GUEST_MAX_PHY_ADDR - 1, which tags
 * shared GPAs), and the GPA tag mask. An SEV VM also opens `/dev/sev`, and
 * skips the program where there is none (the simulator has none).
 *
 * @param vm the VM
 */
export function kvm_init_vm_address_properties(vm: kvm_vm): void {
  vm.arch.sev_fd = -1;
  if (is_sev_vm(vm)) {
    vm.arch.sev_fd = open_sev_dev_path_or_exit();
    // Upstream reads the host's CPUID (this_cpu_property), which TypeScript
    // cannot execute on the host; KVM reports the host's C-bit position
    // unchanged in 0x8000001F.EBX[5:0] whenever it supports SEV.
    vm.arch.c_bit = 1n << BigInt(kvm_cpu_property(X86_PROPERTY_SEV_C_BIT));
    vm.gpa_tag_mask = vm.arch.c_bit;
  } else if (is_tdx_vm(vm)) {
    const gpa_bits = kvm_cpu_property(X86_PROPERTY_GUEST_MAX_PHY_ADDR);
    TEST_ASSERT(
      gpa_bits === 48 || gpa_bits === 52,
      "TDX: bad X86_PROPERTY_GUEST_MAX_PHY_ADDR value: %u",
      gpa_bits,
    );
    vm.arch.s_bit = 1n << BigInt(gpa_bits - 1);
    vm.gpa_tag_mask = vm.arch.s_bit;
  }
}

/**
 * C `vm_arch_has_protected_memory(vm)`: SEV (C-bit) and TDX (S-bit) VMs
 * track which pages are private.
 *
 * @param vm the VM
 * @returns whether the VM has protected memory
 */
export function vm_arch_has_protected_memory(vm: kvm_vm): boolean {
  return vm.arch.c_bit !== 0n || vm.arch.s_bit !== 0n;
}

// ---------------------------------------------------------------------------
// Page tables

// The walks below work on the 32-bit halves of addresses and entries: a
// bigint operation allocates, and a walk would make dozens per page. Frame
// numbers (at most 40 bits) are exact in a double.

// PTE_PRESENT_MASK and PTE_LARGE_MASK within an entry's low half (SDM vol.
// 3, 4.5: P is bit 0, PS bit 7). Literals: this module's imports may not
// have run when it is evaluated (an import cycle through include/x86).
const PTE_LO_PRESENT = 1 << 0;
const PTE_LO_WRITABLE = 1 << 1;
const PTE_LO_LARGE = 1 << 7;

/** The index into the level-`level` table of a GVA given as halves. */
function pte_index(lo: number, hi: number, level: number): number {
  const shift = PG_LEVEL_SHIFT(level);
  return (shift >= 32 ? hi >>> (shift - 32) : (lo >>> shift) | (hi << (32 - shift))) & 0x1ff;
}

/** The frame an entry points to (C `PTE_GET_PA() >> 12`), tag bits stripped. */
function pte_pfn(vm: kvm_vm, lo: number, hi: number): number {
  if (vm.gpa_tag_mask !== 0n) {
    const [tlo, thi] = halves_of(vm.gpa_tag_mask, tag_halves);
    lo &= ~tlo;
    hi &= ~thi;
  }
  return (hi & 0xfffff) * 0x100000 + (lo >>> 12);
}
const tag_halves: [number, number] = [0, 0];

/** The frame of the top-level table (`vm->mmu.pgd`). */
function pgd_pfn(vm: kvm_vm): number {
  const [lo, hi] = halves_of(vm.mmu.pgd, pgd_halves);
  return pte_pfn(vm, lo, hi);
}
const pgd_halves: [number, number] = [0, 0];

/**
 * C `virt_arch_pgd_alloc(vm)`.
 *
 * @param vm the VM
 */
export function virt_arch_pgd_alloc(vm: kvm_vm): void {
  TEST_ASSERT(
    vm.mode === vm_guest_mode.VM_MODE_PXXVYY_4K,
    "Unknown or unsupported guest mode: 0x%x",
    vm.mode,
  );
  if (!vm.mmu.pgd_created) {
    vm.mmu.pgd = vm_alloc_page_table(vm);
    vm.mmu.pgd_created = true;
    // virt_mmu_init(): the stage-1 MMU's bits, with the VM's C-bit / S-bit.
    vm.mmu.arch.pte_masks = {
      present: PTE_PRESENT_MASK,
      writable: PTE_WRITABLE_MASK,
      user: PTE_USER_MASK,
      readable: 0n,
      executable: 0n,
      accessed: PTE_ACCESSED_MASK,
      dirty: PTE_DIRTY_MASK,
      huge: PTE_HUGE_MASK,
      nx: PTE_NX_MASK,
      c: vm.arch.c_bit,
      s: vm.arch.s_bit,
      always_set: 0n,
    };
  }
}

/**
 * C `PTE_C_BIT_MASK(mmu)`: the bit this MMU sets in the leaf entry of a
 * private page (SEV's C-bit; 0 for other VMs).
 *
 * @param mmu the MMU
 * @returns the mask
 */
export function PTE_C_BIT_MASK(mmu: kvm_mmu): bigint {
  return mmu.arch.pte_masks.c;
}

/**
 * C `PTE_S_BIT_MASK(mmu)`: the bit this MMU sets in the leaf entry of a
 * shared page (TDX's S-bit; 0 for other VMs).
 *
 * @param mmu the MMU
 * @returns the mask
 */
export function PTE_S_BIT_MASK(mmu: kvm_mmu): bigint {
  return mmu.arch.pte_masks.s;
}

/**
 * C `__virt_pg_map(vm, vaddr, paddr, level)`: map one page of the given
 * level. Page-table pages are always private to SEV and TDX guests, so the
 * C-bit (protected GPA) or S-bit (shared GPA) is set on the leaf entry alone.
 *
 * @param vm the VM
 * @param vaddr the GVA
 * @param paddr the GPA
 * @param level `PG_LEVEL_4K`, `PG_LEVEL_2M` or `PG_LEVEL_1G`
 */
export function __virt_pg_map(vm: kvm_vm, vaddr: gva_t, paddr: gpa_t, level: number): void {
  ___virt_pg_map(vm, vaddr, paddr, level, vm_is_gpa_protected(vm, paddr));
}

/**
 * The 32-bit halves of a 64-bit value, into `out`: through a double when it
 * is exact (below 2^53, as every GPA and most GVAs are), which allocates no
 * bigint; a VM maps ~300 pages as it is created.
 */
function halves_of(x: bigint, out: [number, number]): [number, number] {
  const d = Number(x);
  if (d >= 0 && d < 2 ** 53) {
    out[0] = d % 2 ** 32;
    out[1] = Math.floor(d / 2 ** 32);
  } else {
    out[0] = Number(x & 0xffffffffn);
    out[1] = Number((x >> 32n) & 0xffffffffn);
  }
  return out;
}
const va_halves: [number, number] = [0, 0];
/** 2^53: bigints below it convert to a double exactly (computed once: bigint math allocates). */
const EXACT_IN_DOUBLE = 2n ** 53n;
const pa_halves: [number, number] = [0, 0];
const mask_halves: [number, number] = [0, 0];

/** C `___virt_pg_map()` (the TDX series, v8): `__virt_pg_map` with the leaf's C/S-bit chosen by the caller. */
function ___virt_pg_map(
  vm: kvm_vm,
  vaddr: gva_t,
  paddr: gpa_t,
  level: number,
  is_protected: boolean,
): void {
  const pg_size = PG_LEVEL_SIZE(level);
  // 4K, 2M or 1G: the low half of an address tells its alignment.
  const pg_low_bits = 2 ** PG_LEVEL_SHIFT(level) - 1;
  const [lo, hi] = halves_of(vaddr, va_halves);
  const [plo, phi] = halves_of(paddr, pa_halves);
  TEST_ASSERT(
    vm.mode === vm_guest_mode.VM_MODE_PXXVYY_4K,
    "Unknown or unsupported guest mode: 0x%x",
    vm.mode,
  );
  TEST_ASSERT(
    (lo & pg_low_bits) === 0,
    "Virtual address not aligned,\n  vaddr: 0x%lx page size: 0x%lx",
    vaddr,
    pg_size,
  );
  TEST_ASSERT(
    sparsebit_is_set(vm.vpages_valid, vaddr >> BigInt(vm.page_shift)),
    "Invalid virtual address, vaddr: 0x%lx",
    vaddr,
  );
  TEST_ASSERT(
    (plo & pg_low_bits) === 0,
    "Physical address not aligned,\n  paddr: 0x%lx page size: 0x%lx",
    paddr,
    pg_size,
  );
  TEST_ASSERT(
    paddr < EXACT_IN_DOUBLE
      ? Math.floor(Number(paddr) / vm.page_size) <= Number(vm.max_gfn)
      : paddr >> BigInt(vm.page_shift) <= vm.max_gfn,
    "Physical address beyond maximum supported,\n  paddr: 0x%lx vm->max_gfn: 0x%lx vm->page_size: 0x%x",
    paddr,
    vm.max_gfn,
    vm.page_size,
  );
  TEST_ASSERT(
    vm.gpa_tag_mask === 0n || (paddr & vm.gpa_tag_mask) === 0n,
    "Unexpected bits in paddr: %lx",
    paddr,
  );

  // C's virt_create_upper_pte() for each upper level, then virt_get_pte()
  // for the leaf: the parent of each level is present by then.
  let pfn = pgd_pfn(vm);
  for (let current_level = vm.mmu.pgtable_levels; current_level > 1; current_level--) {
    const dv = vm_pfn_page_view(vm, pfn);
    const at = pte_index(lo, hi, current_level) * 8;
    if (!(dv.getUint32(at, true) & PTE_LO_PRESENT)) {
      let v = PTE_PRESENT_MASK | PTE_WRITABLE_MASK;
      if (current_level === level) {
        v |= PTE_LARGE_MASK | (vm_untag_gpa(vm, paddr) & PHYSICAL_PAGE_MASK);
      } else v |= vm_alloc_page_table(vm) & PHYSICAL_PAGE_MASK;
      dv.setBigUint64(at, v, true);
    } else {
      TEST_ASSERT(
        current_level !== level,
        "Cannot create hugepage at level: %u, vaddr: 0x%lx",
        current_level,
        vaddr,
      );
      TEST_ASSERT(
        !(dv.getUint32(at, true) & PTE_LO_LARGE),
        "Cannot create page table at level: %u, vaddr: 0x%lx",
        current_level,
        vaddr,
      );
    }
    const elo = dv.getUint32(at, true);
    if (elo & PTE_LO_LARGE) return;
    pfn = pte_pfn(vm, elo, dv.getUint32(at + 4, true));
  }
  const dv = vm_pfn_page_view(vm, pfn);
  const at = pte_index(lo, hi, 1) * 8;
  TEST_ASSERT(
    !(dv.getUint32(at, true) & PTE_LO_PRESENT),
    "PTE already present for 4k page at vaddr: 0x%lx",
    vaddr,
  );
  // PRESENT | WRITABLE | (paddr & PHYSICAL_PAGE_MASK), then the C-bit or the
  // S-bit, stored as the entry's two halves.
  const [mlo, mhi] = halves_of(
    is_protected ? PTE_C_BIT_MASK(vm.mmu) : PTE_S_BIT_MASK(vm.mmu),
    mask_halves,
  );
  dv.setUint32(at, ((plo & 0xfffff000) | PTE_LO_PRESENT | PTE_LO_WRITABLE | mlo) >>> 0, true);
  dv.setUint32(at + 4, ((phi & 0xfffff) | mhi) >>> 0, true);
}

/**
 * C `virt_arch_pg_map(vm, vaddr, paddr)`: a 4K mapping.
 *
 * @param vm the VM
 * @param vaddr the GVA
 * @param paddr the GPA
 */
export function virt_arch_pg_map(vm: kvm_vm, vaddr: gva_t, paddr: gpa_t): void {
  __virt_pg_map(vm, vaddr, paddr, 1);
}

/**
 * C `virt_arch_pg_map_shared(vm, vaddr, paddr)` (the TDX series, v8): a 4K
 * mapping whose leaf has the S-bit whatever the GPA's protection.
 *
 * @param vm the VM
 * @param vaddr the GVA
 * @param paddr the GPA
 */
export function virt_arch_pg_map_shared(vm: kvm_vm, vaddr: gva_t, paddr: gpa_t): void {
  ___virt_pg_map(vm, vaddr, paddr, 1, false);
}

/**
 * C `__vm_get_page_table_entry()` reduced to the walk: the leaf PTE of a GVA
 * and its level, or null when it is not mapped.
 */
function vm_walk(vm: kvm_vm, vaddr: gva_t): { pte: bigint; level: number } | null {
  // After an SEV launch the tables are encrypted: the host mapping holds ciphertext.
  TEST_ASSERT(!vm.arch.is_pt_protected, "Walking page tables of protected guests is impossible");
  if (!vm.mmu.pgd_created) return null;
  const [lo, hi] = halves_of(vaddr, [0, 0]);
  let pfn = pgd_pfn(vm);
  for (let level = vm.mmu.pgtable_levels; level >= 1; level--) {
    const dv = vm_pfn_page_view(vm, pfn);
    const at = pte_index(lo, hi, level) * 8;
    const elo = dv.getUint32(at, true);
    if (!(elo & PTE_LO_PRESENT)) return null;
    if (level === 1 || (elo & PTE_LO_LARGE)) return { pte: dv.getBigUint64(at, true), level };
    pfn = pte_pfn(vm, elo, dv.getUint32(at + 4, true));
  }
  return null;
}

/**
 * C `addr_arch_gva2gpa(vm, gva)`: walk the guest page tables.
 *
 * @param vm the VM
 * @param gva the GVA
 * @returns the GPA (with the S-bit / C-bit stripped)
 */
export function addr_arch_gva2gpa(vm: kvm_vm, gva: gva_t): gpa_t {
  const w = vm_walk(vm, gva);
  if (!w) return TEST_FAIL("No mapping for vm virtual address, gva: 0x%lx", gva);
  const size = PG_LEVEL_SIZE(w.level);
  return vm_untag_gpa(vm, PTE_GET_PA(w.pte) & ~(size - 1n)) + (gva & (size - 1n));
}

// ---------------------------------------------------------------------------
// Descriptor tables and segments

/**
 * C `kvm_seg_set_unusable(&seg)`.
 *
 * @param segp the segment
 */
export function kvm_seg_set_unusable(segp: View<typeof kvm_segment.fields>): void {
  segp.$bytes.fill(0);
  segp.unusable = 1;
}

/**
 * C `kvm_seg_set_kernel_code_64bit(&seg)`: selector 0x8, execute/read, L.
 *
 * @param segp the segment
 */
export function kvm_seg_set_kernel_code_64bit(segp: View<typeof kvm_segment.fields>): void {
  segp.$bytes.fill(0);
  segp.selector = KERNEL_CS;
  segp.limit = 0xffffffff;
  segp.s = 1;
  segp.type = 0x08 | 0x01 | 0x02; // execute, accessed, readable
  segp.g = 1;
  segp.l = 1;
  segp.present = 1;
}

/**
 * C `kvm_seg_set_kernel_data_64bit(&seg)`: selector 0x10, read/write.
 *
 * @param segp the segment
 */
export function kvm_seg_set_kernel_data_64bit(segp: View<typeof kvm_segment.fields>): void {
  segp.$bytes.fill(0);
  segp.selector = KERNEL_DS;
  segp.limit = 0xffffffff;
  segp.s = 1;
  segp.type = 0x00 | 0x01 | 0x02; // data, accessed, writable
  segp.g = 1;
  segp.present = 1;
}

/**
 * C `kvm_seg_set_tss_64bit(base, &seg)`: selector 0x18, busy 64-bit TSS.
 *
 * @param base the TSS GVA
 * @param segp the segment
 */
export function kvm_seg_set_tss_64bit(base: gva_t, segp: View<typeof kvm_segment.fields>): void {
  segp.$bytes.fill(0);
  segp.base = base;
  segp.limit = 0x67;
  segp.selector = KERNEL_TSS;
  segp.type = 0xb;
  segp.present = 1;
}

/**
 * C `kvm_seg_fill_gdt_64bit(vm, &seg)`: write the segment's descriptor into
 * the GDT (16 bytes for a system segment, which carries base bits 63:32).
 *
 * @param vm the VM
 * @param segp the segment
 */
export function kvm_seg_fill_gdt_64bit(vm: kvm_vm, segp: View<typeof kvm_segment.fields>): void {
  const hva = addr_gva2hva(vm, vm.arch.gdt) + BigInt((segp.selector >> 3) * 8);
  const d = desc64.view(user_memory(hva, desc64.size));
  const base = segp.base;
  const limit = BigInt(segp.limit);
  let lo = limit & 0xffffn;
  lo |= (base & 0xffffn) << 16n;
  lo |= ((base >> 16n) & 0xffn) << 32n;
  lo |= BigInt(segp.type & 0xf) << 40n;
  lo |= BigInt(segp.s & 1) << 44n;
  lo |= BigInt(segp.dpl & 3) << 45n;
  lo |= BigInt(segp.present & 1) << 47n;
  lo |= ((limit >> 16n) & 0xfn) << 48n;
  lo |= BigInt(segp.avl & 1) << 52n;
  lo |= BigInt(segp.l & 1) << 53n;
  lo |= BigInt(segp.db & 1) << 54n;
  lo |= BigInt(segp.g & 1) << 55n;
  lo |= ((base >> 24n) & 0xffn) << 56n;
  d.lo = lo;
  if (!segp.s) d.hi = (base >> 32n) & 0xffffffffn;
}

/**
 * C `set_idt_entry()`, which looks up the IDT's host address for each gate;
 * here the caller passes a view of the table's host bytes (one page), looked
 * up once for its 256 gates.
 */
function set_idt_entry(
  idt: DataView,
  vector: number,
  addr: bigint,
  dpl: number,
  selector: number,
): void {
  // Written through the table's one DataView at the layout's offsets, the
  // address split once: 256 gates per VM, no view object for each.
  const [o0, sel, bits, o1, o2, reserved] = idt_entry_offsets ??= [
    offsetof(idt_entry, "offset0"),
    offsetof(idt_entry, "selector"),
    offsetof(idt_entry, "bits"),
    offsetof(idt_entry, "offset1"),
    offsetof(idt_entry, "offset2"),
    offsetof(idt_entry, "reserved"),
  ];
  const at = vector * idt_entry.size;
  const lo = Number(BigInt.asUintN(32, addr));
  idt.setUint16(at + o0, lo & 0xffff, true);
  idt.setUint16(at + sel, selector, true);
  idt.setUint16(
    at + bits,
    (0 /* ist */) | (14 << 8) /* type: interrupt gate */ | ((dpl & 3) << 13) | (1 << 15),
    true,
  );
  idt.setUint16(at + o1, lo >>> 16, true);
  idt.setUint32(at + o2, Number(BigInt.asUintN(32, addr >> 32n)), true);
  idt.setUint32(at + reserved, 0, true);
}

/** Offsets of `idt_entry`'s members, taken at first use (the import cycle, as above). */
let idt_entry_offsets: readonly [number, number, number, number, number, number] | undefined;

/**
 * The exception stubs' registry names, one per vector (handlers.S's
 * idt_handlers); built at first use, as this module is part of an import
 * cycle with the one that defines NUM_INTERRUPTS.
 */
let idt_handler_names: readonly string[] | undefined;
/** The IDT the last VM got, and the stub addresses it was written for. */
let idt_image: { readonly stubs: readonly gva_t[]; readonly bytes: Uint8Array } | undefined;

/**
 * C `vm_init_descriptor_tables(vm)`: GDT, IDT, the handler table and the TSS,
 * one page each from `MEM_REGION_DATA`; 256 interrupt gates to the guest's
 * exception stubs with selector `KERNEL_CS`; the handler table's GVA in the
 * `exception_handlers` guest global; 64-bit code (0x8), data (0x10) and TSS
 * (0x18) descriptors.
 *
 * @param vm the VM
 */
export function vm_init_descriptor_tables(vm: kvm_vm): void {
  const seg = kvm_segment.alloc();
  vm.arch.gdt = __vm_alloc(vm, getpagesize(), 0x2000n, kvm_mem_region_type.MEM_REGION_DATA);
  vm.arch.idt = __vm_alloc(vm, getpagesize(), 0x2000n, kvm_mem_region_type.MEM_REGION_DATA);
  vm.handlers = __vm_alloc(vm, getpagesize(), 0x2000n, kvm_mem_region_type.MEM_REGION_DATA);
  vm.arch.tss = __vm_alloc(vm, getpagesize(), 0x2000n, kvm_mem_region_type.MEM_REGION_DATA);

  // On the kvm backend the gates point at the guest runtime's machine-code
  // stubs, which hand the frame to the same TypeScript router.
  const runtime = guest_runtime_needed(vm);
  const idt_bytes = user_memory(addr_gva2hva(vm, vm.arch.idt), NUM_INTERRUPTS * idt_entry.size);
  const idt = new DataView(idt_bytes.buffer, idt_bytes.byteOffset, idt_bytes.byteLength);
  idt_handler_names ??= Array.from({ length: NUM_INTERRUPTS }, (_, i) => idt_handler_name(i));
  const stubs = runtime ? [] : guest_code_gvas(vm, idt_handler_names);
  if (!runtime && idt_image && stubs.every((gva, i) => gva === idt_image!.stubs[i])) {
    // The gates of the last VM whose stubs sat at the same addresses.
    idt_bytes.set(idt_image.bytes);
  } else {
    for (let i = 0; i < NUM_INTERRUPTS; i++) {
      const target = runtime ? guest_runtime_idt_entry(vm, i) : stubs[i]!;
      set_idt_entry(idt, i, target, 0, KERNEL_CS);
    }
    if (!runtime) idt_image = { stubs, bytes: idt_bytes.slice() };
  }
  write_guest_global(vm, exception_handlers, vm.handlers);

  kvm_seg_set_kernel_code_64bit(seg);
  kvm_seg_fill_gdt_64bit(vm, seg);
  kvm_seg_set_kernel_data_64bit(seg);
  kvm_seg_fill_gdt_64bit(vm, seg);
  kvm_seg_set_tss_64bit(vm.arch.tss, seg);
  kvm_seg_fill_gdt_64bit(vm, seg);
}

/**
 * C `vm_install_exception_handler(vm, vector, handler)`: the guest calls
 * `handler(regs)` for exceptions on `vector` (null uninstalls it). The handler
 * is a guest function: its code address goes into the handler table.
 *
 * @param vm the VM
 * @param vector the exception vector
 * @param handler the guest handler, taking a `struct ex_regs` view
 */
export function vm_install_exception_handler(
  vm: kvm_vm,
  vector: number,
  handler: guest_code_t | null,
): void {
  const hva = addr_gva2hva(vm, vm.handlers) + BigInt(vector * 8);
  const dv = new DataView(user_memory(hva, 8).buffer, user_memory(hva, 8).byteOffset, 8);
  dv.setBigUint64(0, handler ? guest_code_gva(vm, handler) : 0n, true);
}

// ---------------------------------------------------------------------------
// vCPUs

function vcpu_init_sregs(vm: kvm_vm, vcpu: kvm_vcpu): void {
  const sregs = kvm_sregs.alloc();
  TEST_ASSERT_EQ(vm.mode, vm_guest_mode.VM_MODE_PXXVYY_4K);
  vcpu_sregs_get(vcpu, sregs);
  sregs.idt.base = vm.arch.idt;
  sregs.idt.limit = kvm_get_default_idt_limit();
  sregs.gdt.base = vm.arch.gdt;
  sregs.gdt.limit = kvm_get_default_gdt_limit();
  sregs.cr0 = kvm_get_default_cr0();
  sregs.cr4 |= kvm_get_default_cr4();
  if (vm.mmu.pgtable_levels === 5) sregs.cr4 |= X86_CR4_LA57;
  sregs.efer |= kvm_get_default_efer();
  kvm_seg_set_unusable(sregs.ldt);
  kvm_seg_set_kernel_code_64bit(sregs.cs);
  kvm_seg_set_kernel_data_64bit(sregs.ds);
  kvm_seg_set_kernel_data_64bit(sregs.es);
  kvm_seg_set_kernel_data_64bit(sregs.fs);
  kvm_seg_set_kernel_data_64bit(sregs.gs);
  kvm_seg_set_kernel_data_64bit(sregs.ss);
  kvm_seg_set_tss_64bit(vm.arch.tss, sregs.tr);
  sregs.cr3 = vm.mmu.pgd;
  vcpu_sregs_set(vcpu, sregs);
}

function vcpu_init_xcrs(_vm: kvm_vm, vcpu: kvm_vcpu): void {
  if (!kvm_cpu_has(X86_FEATURE_XSAVE)) return;
  const xcrs = kvm_xcrs.alloc();
  xcrs.nr_xcrs = 1;
  const x = xcrs.xcrs.at(0);
  x.xcr = 0;
  x.value = kvm_cpu_supported_xcr0();
  vcpu_ioctl(vcpu, KVM_SET_XCRS, xcrs);
}

/**
 * C `kvm_allocate_vcpu_stack(vm)`: `DEFAULT_STACK_PGS` pages at or above
 * `DEFAULT_GUEST_STACK_VADDR_MIN`; returns the top minus 8: the x86-64 SysV
 * ABI expects a function to start as if a call had just pushed its return
 * address onto a 16-byte aligned stack.
 *
 * @param vm the VM
 * @returns the initial RSP
 */
export function kvm_allocate_vcpu_stack(vm: kvm_vm): gva_t {
  const size = BigInt(DEFAULT_STACK_PGS * getpagesize());
  let stack_gva = __vm_alloc(
    vm,
    size,
    DEFAULT_GUEST_STACK_VADDR_MIN,
    kvm_mem_region_type.MEM_REGION_DATA,
  );
  stack_gva += size;
  TEST_ASSERT(
    stack_gva % BigInt(getpagesize()) === 0n,
    "__vm_alloc() did not provide a page-aligned address",
  );
  return stack_gva - 8n;
}

/**
 * C `tdx_vcpu_init(vm, vcpu)`: KVM_TDX_GET_CPUID → KVM_SET_CPUID2 →
 * KVM_TDX_INIT_VCPU (initial RCX 0), then the vCPU's boot parameters.
 */
function tdx_vcpu_init(vm: kvm_vm, vcpu: kvm_vcpu): void {
  const cpuid = allocate_kvm_cpuid2(MAX_NR_CPUID_ENTRIES);
  tdx_vcpu_ioctl(vcpu, KVM_TDX_GET_CPUID, 0, cpuid);
  vcpu_init_cpuid(vcpu, cpuid);
  tdx_vcpu_ioctl(vcpu, KVM_TDX_INIT_VCPU, 0, null);
  tdx_vcpu_load_boot_parameters(vm, vcpu);
}

/**
 * C `vm_arch_vcpu_add(vm, vcpu_id)`: the vCPU with the supported CPUID,
 * 64-bit sregs, XCR0, a stack, RFLAGS.FIXED and MP state RUNNABLE.
 *
 * @param vm the VM
 * @param vcpu_id the vCPU id
 * @returns the vCPU
 */
export function vm_arch_vcpu_add(vm: kvm_vm, vcpu_id: number): kvm_vcpu {
  const vcpu = __vm_vcpu_add(vm, vcpu_id);
  if (is_tdx_vm(vm)) {
    // A TD's registers belong to the TDX module: the boot code gets its
    // stack and entry point from the boot parameters instead.
    tdx_vcpu_init(vm, vcpu);
  } else {
    vcpu_init_cpuid(vcpu, kvm_get_supported_cpuid());
    vcpu_init_sregs(vm, vcpu);
    vcpu_init_xcrs(vm, vcpu);
    const regs = kvm_regs.alloc();
    vcpu_regs_get(vcpu, regs);
    regs.rflags = regs.rflags | 0x2n;
    regs.rsp = kvm_allocate_vcpu_stack(vm);
    vcpu_regs_set(vcpu, regs);
  }
  const mp_state = kvm_mp_state.alloc();
  mp_state.mp_state = 0;
  vcpu_ioctl(vcpu, KVM_SET_MP_STATE, mp_state);
  guest_runtime_attach(vcpu);
  // Setting CR4 and XCR0 above changed bits KVM derives in guest CPUID
  // (OSXSAVE, the XSAVE area sizes); read the table back into the cache.
  vcpu_get_cpuid(vcpu);
  return vcpu;
}

/**
 * C `vcpu_arch_set_entry_point(vcpu, guest_code)`: RIP = the code address
 * the guest image gives the function.
 *
 * @param vcpu the vCPU
 * @param guest_code the entry point
 */
export function vcpu_arch_set_entry_point(vcpu: kvm_vcpu, guest_code: guest_code_t): void {
  if (is_tdx_vm(vcpu.vm)) {
    tdx_vcpu_set_entry_point(vcpu, guest_code);
    return;
  }
  const regs = kvm_regs.alloc();
  vcpu_regs_get(vcpu, regs);
  regs.rip = guest_code_gva(vcpu.vm, guest_code);
  vcpu_regs_set(vcpu, regs);
}

/**
 * C `vcpu_args_set(vcpu, num, ...)`: the first `num` (1..6) arguments of the
 * entry point, in RDI, RSI, RDX, RCX, R8, R9 as the SysV ABI passes them.
 *
 * @param vcpu the vCPU
 * @param num how many arguments
 * @param args the arguments
 */
export function vcpu_args_set(
  vcpu: kvm_vcpu,
  num: number,
  ...args: (number | bigint | boolean)[]
): void {
  TEST_ASSERT(num >= 1 && num <= 6, "Unsupported number of args,\n  num: %u\n", num);
  const regs = kvm_regs.alloc();
  vcpu_regs_get(vcpu, regs);
  const v = (i: number): bigint => BigInt.asUintN(64, BigInt(args[i] ?? 0));
  if (num >= 1) regs.rdi = v(0);
  if (num >= 2) regs.rsi = v(1);
  if (num >= 3) regs.rdx = v(2);
  if (num >= 4) regs.rcx = v(3);
  if (num >= 5) regs.r8 = v(4);
  if (num >= 6) regs.r9 = v(5);
  vcpu_regs_set(vcpu, regs);
}

/**
 * C `kvm_arch_vm_post_create(vm, nr_vcpus)`: irqchip, descriptor tables,
 * host-vendor globals, the TSC frequency global.
 *
 * @param vm the VM
 * @param nr_vcpus the number of vCPUs (TDX sizes its boot parameters with it)
 */
export function kvm_arch_vm_post_create(vm: kvm_vm, nr_vcpus: number): void {
  TEST_ASSERT(
    kvm_has_cap(KVM_CAP_GET_TSC_KHZ),
    "Require KVM_GET_TSC_KHZ to provide udelay() to guest.",
  );
  vm_create_irqchip(vm);
  vm_init_descriptor_tables(vm);
  kvm_selftest_arch_init();
  sync_global_to_guest(vm, host_cpu_is_intel);
  sync_global_to_guest(vm, host_cpu_is_amd);
  sync_global_to_guest(vm, host_cpu_is_hygon);
  sync_global_to_guest(vm, host_cpu_is_amd_compatible);
  sync_global_to_guest(vm, is_forced_emulation_enabled);
  // Guests use KVM_FEP only when the module parameter allows it; TypeScript
  // guests reach the prefix through machine-code stubs (lib/x86/fep.ts).
  if (is_forced_emulation_enabled.value && !is_sev_vm(vm) && !is_tdx_vm(vm)) {
    vm_load_fep_stubs(vm);
  }
  kvm_arch_mmio_init(vm);
  if (is_sev_vm(vm)) {
    const init = kvm_sev_init.alloc();
    vm_sev_ioctl(vm, KVM_SEV_INIT2, init);
  }
  if (is_tdx_vm(vm)) {
    tdx_init_vm(vm, 0n);
    tdx_vm_setup_boot_code_region(vm);
    tdx_vm_setup_boot_parameters_region(vm, nr_vcpus);
    tdx_vm_load_common_boot_parameters(vm);
  }
  const r = __vm_ioctl(vm, KVM_GET_TSC_KHZ, 0);
  TEST_ASSERT(r > 0, "KVM_GET_TSC_KHZ did not provide a valid TSC frequency.");
  guest_tsc_khz.value = BigInt(r);
  sync_global_to_guest(vm, guest_tsc_khz);
}

/**
 * C `kvm_arch_vm_finalize_vcpus(vm)`: nothing for ordinary VMs (a TD is
 * finalized here, by `tdx_vm_finalize`).
 *
 * @param vm the VM
 */
export function kvm_arch_vm_finalize_vcpus(vm: kvm_vm): void {
  if (is_tdx_vm(vm)) tdx_vm_finalize(vm);
}

/**
 * C `kvm_arch_vm_release(vm)`, run by `kvm_vm_release()` once the vCPU and VM
 * fds are closed: what an architecture frees with them (arm64 closes its GIC
 * device fd). x86 defines none, so this is kvm_util.c's `__weak` default,
 * which releases nothing: x86's per-VM state (descriptor tables, page
 * tables, the SEV fd, which upstream never closes either) stays as it is.
 *
 * @param _vm the VM
 */
export function kvm_arch_vm_release(_vm: kvm_vm): void {}

/**
 * C `assert_on_unhandled_exception(vcpu)`: an exception the guest had no
 * handler for (`route_exception` sends `UCALL_UNHANDLED`) becomes the host's
 * test failure, with the guest's file, line and text. Guest asserts
 * (`UCALL_ABORT`) are left to the test, which reports them with
 * `REPORT_GUEST_ASSERT` (guest_print_test expects them back).
 *
 * @param vcpu the vCPU
 */
export function assert_on_unhandled_exception(vcpu: kvm_vcpu): void {
  const uc = ucall_struct.alloc();
  if (get_ucall(vcpu, uc) === UCALL_UNHANDLED) REPORT_GUEST_ASSERT(uc);
}

/**
 * C `vcpu_xsave_get(vcpu, xsave)`: KVM_GET_XSAVE (the first 4096 bytes, in
 * the standard, non-compacted format).
 *
 * @param vcpu the vCPU
 * @param xsave receives the XSAVE image
 */
export function vcpu_xsave_get(vcpu: kvm_vcpu, xsave: View<typeof kvm_xsave.fields>): void {
  vcpu_ioctl(vcpu, KVM_GET_XSAVE, xsave);
}

/**
 * C `vcpu_xsave_set(vcpu, xsave)`: KVM_SET_XSAVE.
 *
 * @param vcpu the vCPU
 * @param xsave the XSAVE image
 */
export function vcpu_xsave_set(vcpu: kvm_vcpu, xsave: View<typeof kvm_xsave.fields>): void {
  vcpu_ioctl(vcpu, KVM_SET_XSAVE, xsave);
}

// ---------------------------------------------------------------------------
// MSRs

/**
 * C `vcpu_msrs_get(vcpu, msrs)`: KVM_GET_MSRS that must read every MSR.
 *
 * @param vcpu the vCPU
 * @param msrs the request
 */
export function vcpu_msrs_get(vcpu: kvm_vcpu, msrs: View<typeof kvm_msrs.fields>): void {
  const r = __vcpu_ioctl(vcpu, KVM_GET_MSRS, msrs);
  TEST_ASSERT(
    r === msrs.nmsrs,
    "KVM_GET_MSRS failed, r: %i (failed on MSR %x)",
    r,
    r < 0 || r >= msrs.nmsrs ? -1 : msrs.entries.at(r).index,
  );
}

/**
 * C `vcpu_get_msr(vcpu, msr_index)`.
 *
 * @param vcpu the vCPU
 * @param msr_index the MSR
 * @returns its value
 */
export function vcpu_get_msr(vcpu: kvm_vcpu, msr_index: number): bigint {
  const msrs = kvm_msrs.alloc(1);
  msrs.nmsrs = 1;
  msrs.entries.at(0).index = msr_index;
  vcpu_msrs_get(vcpu, msrs);
  return msrs.entries.at(0).data;
}

/**
 * C `_vcpu_set_msr(vcpu, msr_index, msr_value)`: KVM_SET_MSRS of one MSR, raw.
 *
 * @param vcpu the vCPU
 * @param msr_index the MSR
 * @param msr_value the value
 * @returns the number of MSRs written (1), or 0 / -1
 */
export function _vcpu_set_msr(vcpu: kvm_vcpu, msr_index: number, msr_value: bigint): number {
  const msrs = kvm_msrs.alloc(1);
  msrs.nmsrs = 1;
  msrs.entries.at(0).index = msr_index;
  msrs.entries.at(0).data = BigInt.asUintN(64, msr_value);
  return __vcpu_ioctl(vcpu, KVM_SET_MSRS, msrs);
}

/**
 * C `vcpu_set_msr(vcpu, msr_index, msr_value)`.
 *
 * @param vcpu the vCPU
 * @param msr_index the MSR
 * @param msr_value the value
 */
export function vcpu_set_msr(vcpu: kvm_vcpu, msr_index: number, msr_value: number | bigint): void {
  const v = BigInt.asUintN(64, BigInt(msr_value));
  const site = callsite(1);
  const name = (site && stringify_args(site)?.[1]) ?? `0x${(msr_index >>> 0).toString(16)}`;
  const fail = (fmt: string, ...args: unknown[]) => {
    const constant = /^(?:[A-Z][A-Z0-9_]*|0x[0-9a-fA-F]+|\d+)$/.test(name.trim());
    test_assert(
      false,
      "cond",
      site?.file ?? "?",
      site?.line ?? 0,
      fmt,
      constant ? name : `MSR 0x${(msr_index >>> 0).toString(16)}`,
      ...args,
    );
  };
  if (_vcpu_set_msr(vcpu, msr_index, v) !== 1) {
    fail("KVM_SET_MSRS failed on %s, value = 0x%lx", v);
    return;
  }
  if (!is_durable_msr(msr_index)) return;
  const r = vcpu_get_msr(vcpu, msr_index);
  if (r !== v) fail("Set %s to '0x%lx', got back '0x%lx'", v, r);
}

// ---------------------------------------------------------------------------
// The rest of processor.h / processor.c (baseline kvm-x86 next, 1a27afa0511e)

/** C `host_cpu_is_hygon`, synced to the guest. */
export const host_cpu_is_hygon: guest_global<bigint> = guest_global("host_cpu_is_hygon", u64);
/** C `host_cpu_is_amd_compatible`: AMD or Hygon, synced to the guest. */
export const host_cpu_is_amd_compatible: guest_global<bigint> = guest_global(
  "host_cpu_is_amd_compatible",
  u64,
);

/** The host's vendor, from the first {@linkcode kvm_selftest_arch_init}. */
let host_vendor: { intel: boolean; amd: boolean; hygon: boolean } | undefined;

/**
 * C `kvm_selftest_arch_init()`: the host-vendor globals (C runs it as a
 * constructor; here the first VM's creation runs it, since it asks KVM).
 */
export function kvm_selftest_arch_init(): void {
  // The vendor is asked once per process, as C's constructor does, from the
  // supported CPUID this process caches; the FEP parameter is read for each
  // VM (tests turn it on and off between VMs).
  host_vendor ??= {
    intel: host_cpu_vendor_string_is("GenuineIntel"),
    amd: host_cpu_vendor_string_is("AuthenticAMD"),
    hygon: host_cpu_vendor_string_is("HygonGenuine"),
  };
  host_cpu_is_intel.value = host_vendor.intel ? 1n : 0n;
  host_cpu_is_amd.value = host_vendor.amd ? 1n : 0n;
  host_cpu_is_hygon.value = host_vendor.hygon ? 1n : 0n;
  host_cpu_is_amd_compatible.value = host_cpu_is_amd.value || host_cpu_is_hygon.value ? 1n : 0n;
  is_forced_emulation_enabled.value = kvm_is_forced_emulation_enabled() ? 1 : 0;
}

/**
 * C `kvm_arch_has_default_irqchip()`: x86 VMs get an in-kernel irqchip.
 *
 * @returns true
 */
export function kvm_arch_has_default_irqchip(): boolean {
  return true;
}

const exception_names: readonly string[] = [
  "#DE",
  "#DB",
  "#NMI",
  "#BP",
  "#OF",
  "#BR",
  "#UD",
  "#NM",
  "#DF",
  "",
  "#TS",
  "#NP",
  "#SS",
  "#GP",
  "#PF",
  "",
  "#MF",
  "#AC",
  "#MC",
  "#XM",
  "#VE",
  "#CP",
];

/**
 * C `ex_str(vector)`: an exception's mnemonic, for messages.
 *
 * @param vector the vector
 * @returns `"#GP"` and the like, or `"vector <n>"`
 */
export function ex_str(vector: number): string {
  if (vector === KVM_MAGIC_DE_VECTOR) return "no exception";
  const s = vector >= 0 && vector < exception_names.length ? exception_names[vector]! : "";
  return s || `vector ${vector}`;
}

/**
 * C `kvm_cpu_fms()`: KVM's CPUID.1:EAX.
 *
 * @returns the family/model/stepping signature
 */
export function kvm_cpu_fms(): number {
  return get_cpuid_entry(kvm_get_supported_cpuid(), 0x1, 0).eax;
}

/**
 * C `kvm_cpu_family()`.
 *
 * @returns the family of KVM's CPUID
 */
export function kvm_cpu_family(): number {
  return x86_family(kvm_cpu_fms());
}

/**
 * C `kvm_cpu_model()`.
 *
 * @returns the model of KVM's CPUID
 */
export function kvm_cpu_model(): number {
  return x86_model(kvm_cpu_fms());
}

/**
 * C `kvm_pmu_has(feature)`: leaf 0xA encodes the two kinds oppositely. An
 * EBX bit is an "unavailable" flag, valid only below EAX[31:24]'s vector
 * length; an ECX bit advertises fixed counter n, which also exists when
 * EDX[4:0] counts more than n fixed counters.
 *
 * @param feature the PMU feature
 * @returns whether KVM's PMU has it
 */
export function kvm_pmu_has(feature: kvm_x86_pmu_feature): boolean {
  if (feature.f.reg === KVM_CPUID_EBX) {
    const nr_bits = kvm_cpu_property(X86_PROPERTY_PMU_EBX_BIT_VECTOR_LENGTH);
    return nr_bits > feature.f.bit && !kvm_cpu_has(feature.f);
  }
  TEST_ASSERT_EQ(feature.f.reg, KVM_CPUID_ECX);
  const nr_bits = kvm_cpu_property(X86_PROPERTY_PMU_NR_FIXED_COUNTERS);
  return nr_bits > feature.f.bit || kvm_cpu_has(feature.f);
}

/**
 * C `vcpu_set_cpuid_property(vcpu, property, value)`: replaces the field in
 * the vCPU's CPUID and sets the table.
 *
 * @param vcpu the vCPU
 * @param property the field
 * @param value its new value
 */
export function vcpu_set_cpuid_property(
  vcpu: kvm_vcpu,
  property: kvm_x86_cpu_property,
  value: number,
): void {
  const entry = __vcpu_get_cpuid_entry(vcpu, property.function, property.index);
  const k = (["eax", "ebx", "ecx", "edx"] as const)[property.reg]!;
  const width = property.hi_bit - property.lo_bit + 1;
  const mask = (width >= 32 ? 0xffffffff : ((1 << width) - 1) << property.lo_bit) >>> 0;
  entry[k] = ((entry[k] & ~mask) | ((value << property.lo_bit) & mask)) >>> 0;
  vcpu_set_cpuid(vcpu);
}

/**
 * C `vcpu_set_cpuid_maxphyaddr(vcpu, maxphyaddr)`.
 *
 * @param vcpu the vCPU
 * @param maxphyaddr CPUID.80000008H:EAX[7:0]
 */
export function vcpu_set_cpuid_maxphyaddr(vcpu: kvm_vcpu, maxphyaddr: number): void {
  vcpu_set_cpuid_property(vcpu, X86_PROPERTY_MAX_PHY_ADDR, maxphyaddr & 0xff);
}

/**
 * C `vcpu_clear_cpuid_entry(vcpu, function)`: zeroes leaf `function`
 * (subleaf 0) of the vCPU's CPUID and sets the table.
 *
 * @param vcpu the vCPU
 * @param fn the leaf
 */
export function vcpu_clear_cpuid_entry(vcpu: kvm_vcpu, fn: number): void {
  const entry = vcpu_get_cpuid_entry(vcpu, fn);
  entry.eax = 0;
  entry.ebx = 0;
  entry.ecx = 0;
  entry.edx = 0;
  vcpu_set_cpuid(vcpu);
}

/**
 * C `vcpu_set_cpuid_feature(vcpu, feature)`.
 *
 * @param vcpu the vCPU
 * @param feature the feature to set
 */
export function vcpu_set_cpuid_feature(vcpu: kvm_vcpu, feature: kvm_x86_cpu_feature): void {
  vcpu_set_or_clear_cpuid_feature(vcpu, feature, true);
}

/**
 * C `vcpu_clear_cpuid_feature(vcpu, feature)`.
 *
 * @param vcpu the vCPU
 * @param feature the feature to clear
 */
export function vcpu_clear_cpuid_feature(vcpu: kvm_vcpu, feature: kvm_x86_cpu_feature): void {
  vcpu_set_or_clear_cpuid_feature(vcpu, feature, false);
}

/**
 * C `is_durable_msr(msr)`: whether reading the MSR back returns what was
 * written (the TSC moves on).
 *
 * @param msr the MSR
 * @returns whether it is durable
 */
export function is_durable_msr(msr: number): boolean {
  return msr !== MSR_IA32_TSC;
}

/**
 * C `TEST_ASSERT_MSR(cond, fmt, msr, str, ...)`: `fmt`'s first `%s` is the
 * MSR's name as written at the call site (`str`) when that is a constant,
 * else `MSR 0x<index>`, as C's `__builtin_constant_p(msr)` decides.
 *
 * @param cond the condition
 * @param fmt the message, whose first conversion is `%s`
 * @param msr the MSR index
 * @param str the MSR argument's source text
 * @param args the other arguments
 */
export function TEST_ASSERT_MSR(
  cond: unknown,
  fmt: string,
  msr: number,
  str: string,
  ...args: unknown[]
): void {
  if (cond) return;
  const constant = /^(?:[A-Z][A-Z0-9_]*|0x[0-9a-fA-F]+|\d+)$/.test(str.trim());
  const site = callsite(1);
  test_assert(
    false,
    "cond",
    site?.file ?? "?",
    site?.line ?? 0,
    fmt,
    constant ? str : `MSR 0x${(msr >>> 0).toString(16)}`,
    ...args,
  );
}

/**
 * C `vcpu_msrs_set(vcpu, msrs)`: KVM_SET_MSRS that must write every MSR.
 *
 * @param vcpu the vCPU
 * @param msrs the MSRs
 */
export function vcpu_msrs_set(vcpu: kvm_vcpu, msrs: View<typeof kvm_msrs.fields>): void {
  const r = __vcpu_ioctl(vcpu, KVM_SET_MSRS, msrs);
  TEST_ASSERT(
    r === msrs.nmsrs,
    "KVM_SET_MSRS failed, r: %i (failed on MSR %x)",
    r,
    r < 0 || r >= msrs.nmsrs ? -1 : msrs.entries.at(r).index,
  );
}

/**
 * C `vcpu_debugregs_get(vcpu, debugregs)`.
 *
 * @param vcpu the vCPU
 * @param debugregs receives DR0-3, DR6, DR7
 */
export function vcpu_debugregs_get(
  vcpu: kvm_vcpu,
  debugregs: View<typeof kvm_debugregs.fields>,
): void {
  vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, debugregs);
}

/**
 * C `vcpu_debugregs_set(vcpu, debugregs)`.
 *
 * @param vcpu the vCPU
 * @param debugregs DR0-3, DR6, DR7
 */
export function vcpu_debugregs_set(
  vcpu: kvm_vcpu,
  debugregs: View<typeof kvm_debugregs.fields>,
): void {
  vcpu_ioctl(vcpu, KVM_SET_DEBUGREGS, debugregs);
}

/**
 * C `vcpu_xsave2_get(vcpu, xsave)`: KVM_GET_XSAVE2 (allocate
 * `KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)` bytes).
 *
 * @param vcpu the vCPU
 * @param xsave receives the XSAVE image
 */
export function vcpu_xsave2_get(vcpu: kvm_vcpu, xsave: View<typeof kvm_xsave.fields>): void {
  vcpu_ioctl(vcpu, KVM_GET_XSAVE2, xsave);
}

/**
 * C `vcpu_xcrs_get(vcpu, xcrs)`.
 *
 * @param vcpu the vCPU
 * @param xcrs receives the XCRs
 */
export function vcpu_xcrs_get(vcpu: kvm_vcpu, xcrs: View<typeof kvm_xcrs.fields>): void {
  vcpu_ioctl(vcpu, KVM_GET_XCRS, xcrs);
}

/**
 * C `vcpu_xcrs_set(vcpu, xcrs)`.
 *
 * @param vcpu the vCPU
 * @param xcrs the XCRs
 */
export function vcpu_xcrs_set(vcpu: kvm_vcpu, xcrs: View<typeof kvm_xcrs.fields>): void {
  vcpu_ioctl(vcpu, KVM_SET_XCRS, xcrs);
}

function __kvm_get_msr_index_list(feature_msrs: boolean): View<typeof kvm_msr_list.fields> {
  const cmd = feature_msrs ? KVM_GET_MSR_FEATURE_INDEX_LIST : KVM_GET_MSR_INDEX_LIST;
  const nmsrs = kvm_msr_list.alloc();
  nmsrs.nmsrs = 0;
  const kvm_fd = open_kvm_dev_path_or_exit();
  const r = __kvm_ioctl(kvm_fd, cmd, nmsrs);
  TEST_ASSERT(
    r === -1 && errno_get() === E2BIG,
    "Expected -E2BIG, got rc: %i errno: %i (%s)",
    r,
    errno_get(),
    strerror(errno_get()),
  );
  const list = kvm_msr_list.alloc(nmsrs.nmsrs);
  list.nmsrs = nmsrs.nmsrs;
  const r2 = __kvm_ioctl(kvm_fd, cmd, list);
  TEST_ASSERT(
    !r2,
    __KVM_IOCTL_ERROR(
      feature_msrs ? "KVM_GET_MSR_FEATURE_INDEX_LIST" : "KVM_GET_MSR_INDEX_LIST",
      r2,
    ),
  );
  kvm_free_fd(kvm_fd);
  TEST_ASSERT(
    list.nmsrs === nmsrs.nmsrs,
    "Number of MSRs in list changed, was %d, now %d",
    nmsrs.nmsrs,
    list.nmsrs,
  );
  return list;
}

let msr_index_list: View<typeof kvm_msr_list.fields> | undefined;
let feature_msr_index_list: View<typeof kvm_msr_list.fields> | undefined;

/**
 * C `kvm_get_msr_index_list()`: the MSRs KVM saves and restores (read once).
 *
 * @returns the list
 */
export function kvm_get_msr_index_list(): View<typeof kvm_msr_list.fields> {
  return msr_index_list ??= __kvm_get_msr_index_list(false);
}

/**
 * C `kvm_get_feature_msr_index_list()`: the feature MSRs `/dev/kvm` reports.
 *
 * @returns the list
 */
export function kvm_get_feature_msr_index_list(): View<typeof kvm_msr_list.fields> {
  return feature_msr_index_list ??= __kvm_get_msr_index_list(true);
}

/**
 * C `kvm_msr_is_in_save_restore_list(msr_index)`.
 *
 * @param msr_index the MSR
 * @returns whether KVM_GET_MSR_INDEX_LIST lists it
 */
export function kvm_msr_is_in_save_restore_list(msr_index: number): boolean {
  const list = kvm_get_msr_index_list();
  for (let i = 0; i < list.nmsrs; ++i) if (list.indices.at(i) === msr_index >>> 0) return true;
  return false;
}

/**
 * C `kvm_get_feature_msr(msr_index)`: a feature MSR read with KVM_GET_MSRS
 * on `/dev/kvm`.
 *
 * @param msr_index the MSR
 * @returns its value
 */
export function kvm_get_feature_msr(msr_index: number): bigint {
  const buffer = kvm_msrs.alloc(1);
  buffer.nmsrs = 1;
  buffer.entries.at(0).index = msr_index;
  const kvm_fd = open_kvm_dev_path_or_exit();
  const r = __kvm_ioctl(kvm_fd, KVM_GET_MSRS, buffer);
  TEST_ASSERT(r === 1, __KVM_IOCTL_ERROR("KVM_GET_MSRS", r));
  kvm_free_fd(kvm_fd);
  return buffer.entries.at(0).data;
}

/** C `sizeof(state->nested_)`: the room `vcpu_save_state` gives nested state. */
const NESTED_STATE_ROOM = 16384;

/** C `struct kvm_x86_state`: everything `vcpu_save_state` saves. */
export interface kvm_x86_state {
  /** XSAVE image (KVM_GET_XSAVE2's size when KVM has it). */
  xsave: View<typeof kvm_xsave.fields>;
  /** Pending and injected events. */
  events: View<typeof kvm_vcpu_events.fields>;
  /** MP state. */
  mp_state: View<typeof kvm_mp_state.fields>;
  /** GPRs. */
  regs: View<typeof kvm_regs.fields>;
  /** XCRs. */
  xcrs: View<typeof kvm_xcrs.fields>;
  /** Special registers. */
  sregs: View<typeof kvm_sregs.fields>;
  /** Debug registers. */
  debugregs: View<typeof kvm_debugregs.fields>;
  /** Nested state (`size` 0 when the host has none), with 16 KiB of room. */
  nested: View<typeof kvm_nested_state.fields>;
  /** The MSRs of KVM_GET_MSR_INDEX_LIST. */
  msrs: View<typeof kvm_msrs.fields>;
}

let nested_size = -1;

/**
 * C `vcpu_save_state(vcpu)`: a vCPU stopped on KVM_EXIT_IO has not finished
 * the instruction until the next KVM_RUN, so that I/O is completed before any
 * register is read.
 *
 * @param vcpu the vCPU
 * @returns the state
 */
export function vcpu_save_state(vcpu: kvm_vcpu): kvm_x86_state {
  const msr_list = kvm_get_msr_index_list();
  if (nested_size === -1) {
    nested_size = kvm_check_cap(KVM_CAP_NESTED_STATE);
    TEST_ASSERT(
      nested_size <= NESTED_STATE_ROOM,
      "Nested state size too big, %i > %zi",
      nested_size,
      NESTED_STATE_ROOM,
    );
  }
  vcpu_run_complete_io(vcpu);
  const xsave_size = vm_check_cap(vcpu.vm, KVM_CAP_XSAVE2);
  const state: kvm_x86_state = {
    xsave: kvm_xsave.alloc(xsave_size > 4096 ? Math.ceil((xsave_size - 4096) / 4) : 0),
    events: kvm_vcpu_events.alloc(),
    mp_state: kvm_mp_state.alloc(),
    regs: kvm_regs.alloc(),
    xcrs: kvm_xcrs.alloc(),
    sregs: kvm_sregs.alloc(),
    debugregs: kvm_debugregs.alloc(),
    nested: kvm_nested_state.view(new Uint8Array(NESTED_STATE_ROOM)),
    msrs: kvm_msrs.alloc(msr_list.nmsrs),
  };
  vcpu_events_get(vcpu, state.events);
  vcpu_mp_state_get(vcpu, state.mp_state);
  vcpu_regs_get(vcpu, state.regs);
  if (xsave_size) vcpu_xsave2_get(vcpu, state.xsave);
  else vcpu_xsave_get(vcpu, state.xsave);
  if (kvm_has_cap(KVM_CAP_XCRS)) vcpu_xcrs_get(vcpu, state.xcrs);
  vcpu_sregs_get(vcpu, state.sregs);
  if (nested_size) {
    state.nested.size = NESTED_STATE_ROOM;
    vcpu_nested_state_get(vcpu, state.nested);
    TEST_ASSERT(
      state.nested.size <= nested_size,
      "Nested state size too big, %i (KVM_CHECK_CAP gave %i)",
      state.nested.size,
      nested_size,
    );
  } else {
    state.nested.size = 0;
  }
  state.msrs.nmsrs = msr_list.nmsrs;
  for (let i = 0; i < msr_list.nmsrs; i++) {
    state.msrs.entries.at(i).index = msr_list.indices.at(i);
  }
  vcpu_msrs_get(vcpu, state.msrs);
  vcpu_debugregs_get(vcpu, state.debugregs);
  return state;
}

/**
 * C `vcpu_load_state(vcpu, state)`: in upstream's order (sregs before MSRs
 * so EFER-dependent MSRs are accepted, regs last).
 *
 * @param vcpu the vCPU
 * @param state what `vcpu_save_state` returned
 */
export function vcpu_load_state(vcpu: kvm_vcpu, state: kvm_x86_state): void {
  vcpu_sregs_set(vcpu, state.sregs);
  vcpu_msrs_set(vcpu, state.msrs);
  if (kvm_has_cap(KVM_CAP_XCRS)) vcpu_xcrs_set(vcpu, state.xcrs);
  vcpu_xsave_set(vcpu, state.xsave);
  vcpu_events_set(vcpu, state.events);
  vcpu_mp_state_set(vcpu, state.mp_state);
  vcpu_debugregs_set(vcpu, state.debugregs);
  vcpu_regs_set(vcpu, state.regs);
  if (state.nested.size) vcpu_nested_state_set(vcpu, state.nested);
}

const cleaned_states = new WeakSet<kvm_x86_state>();

/**
 * C `kvm_x86_state_cleanup(state)`: releases the state; loading it or
 * cleaning it again afterwards is a use after free, and fails the test.
 *
 * @param state the state
 */
export function kvm_x86_state_cleanup(state: kvm_x86_state): void {
  TEST_ASSERT(!cleaned_states.has(state), "kvm_x86_state_cleanup: state already freed");
  cleaned_states.add(state);
  state.xsave.$bytes.fill(0);
  state.msrs.nmsrs = 0;
}

/**
 * C `get_kvm_intel_param_bool(param)`.
 *
 * @param param the parameter
 * @returns its value
 */
export function get_kvm_intel_param_bool(param: string): boolean {
  return kvm_get_module_param_bool("kvm_intel", param);
}

/**
 * C `get_kvm_amd_param_bool(param)`.
 *
 * @param param the parameter
 * @returns its value
 */
export function get_kvm_amd_param_bool(param: string): boolean {
  return kvm_get_module_param_bool("kvm_amd", param);
}

/**
 * C `get_kvm_intel_param_integer(param)`.
 *
 * @param param the parameter
 * @returns its value
 */
export function get_kvm_intel_param_integer(param: string): number {
  return kvm_get_module_param_integer("kvm_intel", param);
}

/**
 * C `get_kvm_amd_param_integer(param)`.
 *
 * @param param the parameter
 * @returns its value
 */
export function get_kvm_amd_param_integer(param: string): number {
  return kvm_get_module_param_integer("kvm_amd", param);
}

/**
 * C `kvm_is_tdp_enabled()`: EPT on Intel hosts, NPT on others.
 *
 * @returns whether two-dimensional paging is on
 */
export function kvm_is_tdp_enabled(): boolean {
  if (host_cpu_vendor_string_is("GenuineIntel")) return get_kvm_intel_param_bool("ept");
  return get_kvm_amd_param_bool("npt");
}

/**
 * C `kvm_cpu_has_tdp()`: whether KVM offers TDP to a nested guest,
 * `kvm_cpu_has_ept() || kvm_cpu_has_npt()` (vmx.c, svm_util.h): EPT is in
 * the allowed-1 half of the VMX secondary controls, when the true primary
 * controls allow them; NPT is the CPUID feature.
 *
 * @returns whether nested EPT or NPT is available
 */
export function kvm_cpu_has_tdp(): boolean {
  const CPU_BASED_ACTIVATE_SECONDARY_CONTROLS = 0x80000000n;
  const SECONDARY_EXEC_ENABLE_EPT = 0x2n;
  if (
    kvm_cpu_has(X86_FEATURE_VMX) &&
    (kvm_get_feature_msr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS) >> 32n) &
      CPU_BASED_ACTIVATE_SECONDARY_CONTROLS &&
    (kvm_get_feature_msr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32n) & SECONDARY_EXEC_ENABLE_EPT
  ) {
    return true;
  }
  return kvm_cpu_has(X86_FEATURE_NPT);
}

/**
 * C `kvm_is_pmu_enabled()`: kvm's `enable_pmu`.
 *
 * @returns whether guests may have a PMU
 */
export function kvm_is_pmu_enabled(): boolean {
  return get_kvm_param_bool("enable_pmu");
}

/**
 * C `kvm_is_unrestricted_guest_enabled()`: kvm_intel's `unrestricted_guest`.
 *
 * @returns whether real mode runs natively
 */
export function kvm_is_unrestricted_guest_enabled(): boolean {
  return get_kvm_intel_param_bool("unrestricted_guest");
}

/**
 * C `kvm_is_ignore_msrs()`: kvm's `ignore_msrs`.
 *
 * @returns whether unknown MSRs are ignored
 */
export function kvm_is_ignore_msrs(): boolean {
  return get_kvm_param_bool("ignore_msrs");
}

/**
 * C `kvm_is_lbrv_enabled()`: kvm_amd's `lbrv`.
 *
 * @returns whether LBR virtualization is on
 */
export function kvm_is_lbrv_enabled(): boolean {
  return !!get_kvm_amd_param_integer("lbrv");
}

/**
 * C `vm_get_pte(vm, vaddr)`: the host address of the leaf PTE that maps
 * `vaddr` (C returns a `uint64_t *` into guest memory; read and write it with
 * `user_memory()`, or pass it to the `is_*_pte` helpers).
 *
 * @param vm the VM
 * @param vaddr the GVA
 * @returns the PTE's host address
 */
export function vm_get_pte(vm: kvm_vm, vaddr: gva_t): hva_t {
  TEST_ASSERT(vm.mmu.pgd_created, "No page table for vaddr 0x%lx", vaddr);
  let table = vm.mmu.pgd;
  for (let level = vm.mmu.pgtable_levels; level >= 1; level--) {
    const index = Number((vaddr >> BigInt(PG_LEVEL_SHIFT(level))) & 0x1ffn);
    const pte_hva = addr_gpa2hva(vm, PTE_GET_PA(table)) + BigInt(index * 8);
    const pte = read_pte(pte_hva);
    TEST_ASSERT(pte & PTE_PRESENT_MASK, "No mapping for vaddr 0x%lx at level %d", vaddr, level);
    if (level === 1 || (pte & PTE_LARGE_MASK)) return pte_hva;
    table = pte;
  }
  return TEST_FAIL("No mapping for vaddr 0x%lx", vaddr);
}

function read_pte(pte: hva_t): bigint {
  const b = user_memory(pte, 8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

/**
 * C `is_present_pte(mmu, pte)`: EPT entries have no P bit; since EPT permits
 * execute-only but never write-only entries, R or X is what makes one live.
 *
 * @param _mmu the MMU the entry belongs to (the x86 stage-1 MMU)
 * @param pte the PTE's host address (`vm_get_pte()`)
 * @returns whether it is present
 */
export function is_present_pte(_mmu: kvm_mmu, pte: hva_t): boolean {
  const present: bigint = PTE_PRESENT_MASK;
  return present
    ? !!(read_pte(pte) & present)
    : !!(read_pte(pte) & (PTE_READABLE_MASK | PTE_EXECUTABLE_MASK));
}

/**
 * C `is_executable_pte(mmu, pte)`: the execute bit set (none on x86 stage 1)
 * and NX clear.
 *
 * @param _mmu the MMU
 * @param pte the PTE's host address
 * @returns whether instructions may be fetched through it
 */
export function is_executable_pte(_mmu: kvm_mmu, pte: hva_t): boolean {
  return (read_pte(pte) & (PTE_EXECUTABLE_MASK | PTE_NX_MASK)) === PTE_EXECUTABLE_MASK;
}

/**
 * C `is_writable_pte(mmu, pte)`.
 *
 * @param _mmu the MMU
 * @param pte the PTE's host address
 * @returns whether R/W is set
 */
export function is_writable_pte(_mmu: kvm_mmu, pte: hva_t): boolean {
  return !!(read_pte(pte) & PTE_WRITABLE_MASK);
}

/**
 * C `is_user_pte(mmu, pte)`.
 *
 * @param _mmu the MMU
 * @param pte the PTE's host address
 * @returns whether U/S is set
 */
export function is_user_pte(_mmu: kvm_mmu, pte: hva_t): boolean {
  return !!(read_pte(pte) & PTE_USER_MASK);
}

/**
 * C `is_accessed_pte(mmu, pte)`: the CPU sets A on a walk that uses the entry.
 *
 * @param _mmu the MMU
 * @param pte the PTE's host address
 * @returns whether A is set
 */
export function is_accessed_pte(_mmu: kvm_mmu, pte: hva_t): boolean {
  return !!(read_pte(pte) & PTE_ACCESSED_MASK);
}

/**
 * C `is_dirty_pte(mmu, pte)`: the CPU sets D on a write through the entry.
 *
 * @param _mmu the MMU
 * @param pte the PTE's host address
 * @returns whether D is set
 */
export function is_dirty_pte(_mmu: kvm_mmu, pte: hva_t): boolean {
  return !!(read_pte(pte) & PTE_DIRTY_MASK);
}

/**
 * C `is_huge_pte(mmu, pte)`.
 *
 * @param _mmu the MMU
 * @param pte the PTE's host address
 * @returns whether PS is set
 */
export function is_huge_pte(_mmu: kvm_mmu, pte: hva_t): boolean {
  return !!(read_pte(pte) & PTE_HUGE_MASK);
}

/**
 * C `is_nx_pte(mmu, pte)`.
 *
 * @param mmu the MMU
 * @param pte the PTE's host address
 * @returns whether fetches through it fault
 */
export function is_nx_pte(mmu: kvm_mmu, pte: hva_t): boolean {
  return !is_executable_pte(mmu, pte);
}

/**
 * C `virt_map_level(vm, vaddr, paddr, nr_bytes, level)`: maps `nr_bytes`
 * with pages of one level.
 *
 * @param vm the VM
 * @param vaddr the first GVA (aligned to the level's page size)
 * @param paddr the first GPA (aligned likewise)
 * @param nr_bytes a multiple of the level's page size
 * @param level `PG_LEVEL_4K`, `PG_LEVEL_2M` or `PG_LEVEL_1G`
 */
export function virt_map_level(
  vm: kvm_vm,
  vaddr: gva_t,
  paddr: gpa_t,
  nr_bytes: bigint,
  level: number,
): void {
  const pg_size = PG_LEVEL_SIZE(level);
  const nr_pages = nr_bytes / pg_size;
  TEST_ASSERT(
    nr_bytes % pg_size === 0n,
    "Region size not aligned: nr_bytes: 0x%lx, page size: 0x%lx",
    nr_bytes,
    pg_size,
  );
  for (let i = 0n; i < nr_pages; i++) {
    __virt_pg_map(vm, vaddr, paddr, level);
    // Upstream marks nr_bytes / PAGE_SIZE pages from each page's GVA; the
    // pages this one mapping covers are what is mapped.
    sparsebit_set_num(
      vm.vpages_mapped,
      vaddr >> BigInt(vm.page_shift),
      pg_size >> BigInt(vm.page_shift),
    );
    vaddr += pg_size;
    paddr += pg_size;
  }
}

/**
 * C `sys_clocksource_is_based_on_tsc()`: the host's clocksource reads the TSC.
 *
 * @returns whether it is `tsc` (or Hyper-V's TSC page)
 */
export function sys_clocksource_is_based_on_tsc(): boolean {
  const clk_name = sys_get_cur_clocksource();
  return clk_name === "tsc\n" || clk_name === "hyperv_clocksource_tsc_page\n";
}

/**
 * C `this_pmu_has(feature)` (guest): see `kvm_pmu_has()`, on the vCPU's own
 * CPUID.
 *
 * @param feature the PMU feature
 * @returns whether the vCPU's PMU has it
 */
export function this_pmu_has(feature: kvm_x86_pmu_feature): boolean {
  if (feature.f.reg === KVM_CPUID_EBX) {
    const nr_bits = __this_cpu_has(0xa, 0, KVM_CPUID_EAX, 24, 31);
    return nr_bits > feature.f.bit && !this_cpu_has(feature.f);
  }
  GUEST_ASSERT(feature.f.reg === KVM_CPUID_ECX);
  const nr_bits = __this_cpu_has(0xa, 0, KVM_CPUID_EDX, 0, 4);
  return nr_bits > feature.f.bit || this_cpu_has(feature.f);
}

/**
 * C `udelay(usec)` (guest): busy-waits until the guest TSC has advanced by
 * `usec` microseconds. The loop body has no PAUSE: a PAUSE-loop VM exit
 * would add host time to the wait.
 *
 * @param usec microseconds
 */
export function udelay(usec: number | bigint): void {
  const tsc_khz = guest_tsc_khz.value;
  GUEST_ASSERT(tsc_khz);
  const cycles = tsc_khz / 1000n * BigInt(usec);
  const start = rdtsc();
  let now: bigint;
  do {
    now = rdtsc();
  } while (now - start < cycles);
}

/**
 * C `__kvm_hypercall_map_gpa_range(gpa, size, flags)` (guest):
 * KVM_HC_MAP_GPA_RANGE for `size` bytes.
 *
 * @param gpa the first GPA
 * @param size bytes
 * @param flags `KVM_MAP_GPA_RANGE_*`
 * @returns the hypercall's result
 */
export function __kvm_hypercall_map_gpa_range(gpa: bigint, size: bigint, flags: bigint): bigint {
  return kvm_hypercall(KVM_HC_MAP_GPA_RANGE, gpa, size >> BigInt(PAGE_SHIFT), flags, 0n);
}

/**
 * C `kvm_hypercall_map_gpa_range(gpa, size, flags)` (guest): must succeed.
 *
 * @param gpa the first GPA
 * @param size bytes
 * @param flags `KVM_MAP_GPA_RANGE_*`
 */
export function kvm_hypercall_map_gpa_range(gpa: bigint, size: bigint, flags: bigint): void {
  const ret = __kvm_hypercall_map_gpa_range(gpa, size, flags);
  GUEST_ASSERT(!ret);
}

/**
 * C `vm_arch_vcpu_recreate(vm, vcpu_id)`: a vCPU for a restarted VM (state
 * save/restore tests), with KVM's supported CPUID, so that the state loaded
 * next (EFER, CR4, XSAVE) passes KVM's guest-CPUID checks.
 *
 * @param vm the VM
 * @param vcpu_id the vCPU id
 * @returns the vCPU
 */
export function vm_arch_vcpu_recreate(vm: kvm_vm, vcpu_id: number): kvm_vcpu {
  const vcpu = __vm_vcpu_add(vm, vcpu_id);
  vcpu_init_cpuid(vcpu, kvm_get_supported_cpuid());
  return vcpu;
}

/**
 * C `vcpu_arch_free(vcpu)`: drops the vCPU's CPUID cache.
 *
 * @param vcpu the vCPU
 */
export function vcpu_arch_free(vcpu: kvm_vcpu): void {
  vcpu.cpuid = null;
}

function regs_dump(stream: FILE, regs: View<typeof kvm_regs.fields>, indent: number): void {
  fprintf(
    stream,
    "%*srax: 0x%.16llx rbx: 0x%.16llx rcx: 0x%.16llx rdx: 0x%.16llx\n",
    indent,
    "",
    regs.rax,
    regs.rbx,
    regs.rcx,
    regs.rdx,
  );
  fprintf(
    stream,
    "%*srsi: 0x%.16llx rdi: 0x%.16llx rsp: 0x%.16llx rbp: 0x%.16llx\n",
    indent,
    "",
    regs.rsi,
    regs.rdi,
    regs.rsp,
    regs.rbp,
  );
  fprintf(
    stream,
    "%*sr8:  0x%.16llx r9:  0x%.16llx r10: 0x%.16llx r11: 0x%.16llx\n",
    indent,
    "",
    regs.r8,
    regs.r9,
    regs.r10,
    regs.r11,
  );
  fprintf(
    stream,
    "%*sr12: 0x%.16llx r13: 0x%.16llx r14: 0x%.16llx r15: 0x%.16llx\n",
    indent,
    "",
    regs.r12,
    regs.r13,
    regs.r14,
    regs.r15,
  );
  fprintf(stream, "%*srip: 0x%.16llx rfl: 0x%.16llx\n", indent, "", regs.rip, regs.rflags);
}

function segment_dump(stream: FILE, s: View<typeof kvm_segment.fields>, indent: number): void {
  fprintf(
    stream,
    "%*sbase: 0x%.16llx limit: 0x%.8x selector: 0x%.4x type: 0x%.2x\n",
    indent,
    "",
    s.base,
    s.limit,
    s.selector,
    s.type,
  );
  fprintf(
    stream,
    "%*spresent: 0x%.2x dpl: 0x%.2x db: 0x%.2x s: 0x%.2x l: 0x%.2x\n",
    indent,
    "",
    s.present,
    s.dpl,
    s.db,
    s.s,
    s.l,
  );
  fprintf(
    stream,
    "%*sg: 0x%.2x avl: 0x%.2x unusable: 0x%.2x padding: 0x%.2x\n",
    indent,
    "",
    s.g,
    s.avl,
    s.unusable,
    s.padding,
  );
}

function sregs_dump(stream: FILE, sregs: View<typeof kvm_sregs.fields>, indent: number): void {
  for (const name of ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const) {
    fprintf(stream, "%*s%s:\n", indent, "", name);
    segment_dump(stream, sregs[name], indent + 2);
  }
  for (const name of ["gdt", "idt"] as const) {
    const d = sregs[name];
    fprintf(stream, "%*s%s:\n", indent, "", name);
    fprintf(
      stream,
      "%*sbase: 0x%.16llx limit: 0x%.4x padding: 0x%.4x 0x%.4x 0x%.4x\n",
      indent + 2,
      "",
      d.base,
      d.limit,
      d.padding.at(0),
      d.padding.at(1),
      d.padding.at(2),
    );
  }
  fprintf(
    stream,
    "%*scr0: 0x%.16llx cr2: 0x%.16llx cr3: 0x%.16llx cr4: 0x%.16llx\n",
    indent,
    "",
    sregs.cr0,
    sregs.cr2,
    sregs.cr3,
    sregs.cr4,
  );
  fprintf(
    stream,
    "%*scr8: 0x%.16llx efer: 0x%.16llx apic_base: 0x%.16llx\n",
    indent,
    "",
    sregs.cr8,
    sregs.efer,
    sregs.apic_base,
  );
  fprintf(stream, "%*sinterrupt_bitmap:\n", indent, "");
  for (let i = 0; i < sregs.interrupt_bitmap.length; i++) {
    fprintf(stream, "%*s%.16llx\n", indent + 2, "", sregs.interrupt_bitmap.at(i));
  }
}

/**
 * C `vcpu_arch_dump(stream, vcpu, indent)`: the vCPU's id, registers and
 * special registers.
 *
 * @param stream where to print
 * @param vcpu the vCPU
 * @param indent the left margin
 */
export function vcpu_arch_dump(stream: FILE, vcpu: kvm_vcpu, indent: number): void {
  const regs = kvm_regs.alloc();
  const sregs = kvm_sregs.alloc();

  fprintf(stream, "%*svCPU ID: %u\n", indent, "", vcpu.id);

  fprintf(stream, "%*sregs:\n", indent + 2, "");
  vcpu_regs_get(vcpu, regs);
  regs_dump(stream, regs, indent + 4);

  fprintf(stream, "%*ssregs:\n", indent + 2, "");
  vcpu_sregs_get(vcpu, sregs);
  sregs_dump(stream, sregs, indent + 4);
}

/**
 * C `xen_hypercall(nr, a0, a1)` (guest): a Xen-ABI hypercall
 * ({@linkcode __xen_hypercall}) that must return 0.
 *
 * @param nr the hypercall number
 * @param a0 argument 0
 * @param a1 argument 1 (a guest address)
 */
export function xen_hypercall(
  nr: bigint | number,
  a0: bigint | number,
  a1: bigint | number,
): void {
  GUEST_ASSERT(!__xen_hypercall(nr, a0, a1));
}

/**
 * C `virt_arch_dump(stream, vm, indent)`: every present entry of the guest
 * page tables, as x86's processor.c prints them (kvm-x86 `next`): a line per
 * PML4E, PDPTE, PDE and PTE with its index, host address, guest physical
 * address, PFN, W and NX bits, and for a PTE its D bit and the page's
 * virtual page number. Like upstream it walks four levels from the root,
 * and prints nothing before the root table exists.
 *
 * @param stream where to print
 * @param vm the VM
 * @param indent the left margin
 */
export function virt_arch_dump(stream: FILE, vm: kvm_vm, indent: number): void {
  const mmu = vm.mmu;
  if (!mmu.pgd_created) return;
  const b = (v: boolean): number => v ? 1 : 0;
  fprintf(stream, "%*s                                                          no\n", indent, "");
  fprintf(
    stream,
    "%*s      index hvaddr         gpaddr         addr         w exec dirty\n",
    indent,
    "",
  );
  const pml4e_start = addr_gpa2hva(vm, mmu.pgd);
  for (let n1 = 0; n1 <= 0x1ff; n1++) {
    const pml4e = pml4e_start + BigInt(n1 * 8);
    if (!is_present_pte(mmu, pml4e)) continue;
    fprintf(
      stream,
      "%*spml4e 0x%-3zx %p 0x%-12lx 0x%-10llx %u  %u\n",
      indent,
      "",
      n1,
      pml4e,
      addr_hva2gpa(vm, pml4e),
      PTE_GET_PFN(read_pte(pml4e)),
      b(is_writable_pte(mmu, pml4e)),
      b(is_nx_pte(mmu, pml4e)),
    );
    const pdpe_start = addr_gpa2hva(vm, read_pte(pml4e) & PHYSICAL_PAGE_MASK);
    for (let n2 = 0; n2 <= 0x1ff; n2++) {
      const pdpe = pdpe_start + BigInt(n2 * 8);
      if (!is_present_pte(mmu, pdpe)) continue;
      fprintf(
        stream,
        "%*spdpe  0x%-3zx %p 0x%-12lx 0x%-10llx %u  %u\n",
        indent,
        "",
        n2,
        pdpe,
        addr_hva2gpa(vm, pdpe),
        PTE_GET_PFN(read_pte(pdpe)),
        b(is_writable_pte(mmu, pdpe)),
        b(is_nx_pte(mmu, pdpe)),
      );
      const pde_start = addr_gpa2hva(vm, read_pte(pdpe) & PHYSICAL_PAGE_MASK);
      for (let n3 = 0; n3 <= 0x1ff; n3++) {
        const pde = pde_start + BigInt(n3 * 8);
        if (!is_present_pte(mmu, pde)) continue;
        fprintf(
          stream,
          "%*spde   0x%-3zx %p 0x%-12lx 0x%-10llx %u  %u\n",
          indent,
          "",
          n3,
          pde,
          addr_hva2gpa(vm, pde),
          PTE_GET_PFN(read_pte(pde)),
          b(is_writable_pte(mmu, pde)),
          b(is_nx_pte(mmu, pde)),
        );
        const pte_start = addr_gpa2hva(vm, read_pte(pde) & PHYSICAL_PAGE_MASK);
        for (let n4 = 0; n4 <= 0x1ff; n4++) {
          const pte = pte_start + BigInt(n4 * 8);
          if (!is_present_pte(mmu, pte)) continue;
          fprintf(
            stream,
            "%*spte   0x%-3zx %p 0x%-12lx 0x%-10llx %u  %u     %u    0x%-10lx\n",
            indent,
            "",
            n4,
            pte,
            addr_hva2gpa(vm, pte),
            PTE_GET_PFN(read_pte(pte)),
            b(is_writable_pte(mmu, pte)),
            b(is_nx_pte(mmu, pte)),
            b(is_dirty_pte(mmu, pte)),
            (BigInt(n1) << 27n) | (BigInt(n2) << 18n) | (BigInt(n3) << 9n) | BigInt(n4),
          );
        }
      }
    }
  }
}
