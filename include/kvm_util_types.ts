// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/kvm_util_types.h` plus the
 * types and constants of `kvm_util.h` that the library's own modules share:
 * address types, VM shapes and modes, memory-region types, the C
 * out-parameter convention ({@linkcode Ref}), and the shapes of
 * `struct kvm_vm`, `struct kvm_vcpu` and `struct userspace_mem_region`.
 *
 * Nothing here imports `lib/` at run time (the `sparsebit` import is
 * type-only), so every library module may import it without creating an
 * import cycle.
 *
 * @module
 */

import type { View } from "./c/layout.ts";
import type { kvm_run, kvm_userspace_memory_region2 } from "./linux/kvm.ts";
import type { kvm_cpuid2 } from "./asm/kvm.ts";
import type { sparsebit } from "../lib/sparsebit.ts";

// The library's page bitmaps are fields of public structs, so their type is public too.
export type { sparsebit };

/** A guest physical address (C `gpa_t`, formerly `vm_paddr_t`). */
export type gpa_t = bigint;
/** A guest virtual address (C `gva_t`, formerly `vm_vaddr_t`). */
export type gva_t = bigint;
/** A host virtual address: a user address in this process (C `void *`). */
export type hva_t = bigint;

/**
 * The one convention for C out-parameters and for C variables whose address
 * is taken: a variable `T x;` passed as `&x` becomes `const x = ref<T>()`,
 * passed as `x`, and read or written as `x.value`.
 *
 * ```c
 * struct kvm_vcpu *vcpu;
 * vm = vm_create_with_one_vcpu(&vcpu, guest_code);
 * vcpu_run(vcpu);
 * ```
 *
 * ```ts ignore
 * const vcpu = ref<kvm_vcpu>();
 * vm = vm_create_with_one_vcpu(vcpu, guest_code);
 * vcpu_run(vcpu.value);
 * ```
 *
 * Structs passed by address (`struct kvm_regs regs; vcpu_regs_get(vcpu, &regs)`)
 * need no `Ref`: a layout view is already a reference to its bytes.
 */
export class Ref<T> {
  #value: T | undefined;
  #set = false;

  /**
   * A variable, uninitialised unless `init` is given.
   *
   * @param init the initial value, if the C variable is initialised
   */
  constructor(init?: T) {
    if (init !== undefined) {
      this.#value = init;
      this.#set = true;
    }
  }

  /** The variable (C `*p`); reading it before anything was stored is a bug in the test. */
  get value(): T {
    if (!this.#set) throw new TypeError("Read of an out-parameter that was never written");
    return this.#value as T;
  }

  set value(v: T) {
    this.#value = v;
    this.#set = true;
  }
}

/**
 * A new out-parameter (see {@linkcode Ref}).
 *
 * @param init the initial value, if any
 * @returns the reference
 */
export function ref<T>(init?: T): Ref<T> {
  return new Ref<T>(init);
}

/** C `KVM_MAX_VCPUS`: the most vCPUs a selftest VM has (sizes the ucall pool). */
export const KVM_MAX_VCPUS = 512;
/** C `KVM_UTIL_MIN_VADDR`: the lowest GVA the allocators hand out. */
export const KVM_UTIL_MIN_VADDR = 0x2000n;
/** C `KVM_GUEST_PAGE_TABLE_MIN_PADDR`: page tables are allocated at or above this GPA. */
export const KVM_GUEST_PAGE_TABLE_MIN_PADDR = 0x180000n;
/** C `DEFAULT_GUEST_STACK_VADDR_MIN`: vCPU stacks are allocated at or above this GVA. */
export const DEFAULT_GUEST_STACK_VADDR_MIN = 0xab6000n;
/** C `DEFAULT_STACK_PGS`: pages per vCPU stack. */
export const DEFAULT_STACK_PGS = 5;
/** C `KVM_UTIL_MIN_PFN` (kvm_util.c): the lowest guest page frame the allocators use. */
export const KVM_UTIL_MIN_PFN = 2n;
/** C `KVM_DEV_PATH`. */
export const KVM_DEV_PATH = "/dev/kvm";
/** C `NSEC_PER_SEC`. */
export const NSEC_PER_SEC = 1000000000;

/** C `enum vm_guest_mode` (the x86 subset plus the generic ones tests name). */
export enum vm_guest_mode {
  VM_MODE_P52V48_4K,
  VM_MODE_P52V48_16K,
  VM_MODE_P52V48_64K,
  VM_MODE_P48V48_4K,
  VM_MODE_P48V48_16K,
  VM_MODE_P48V48_64K,
  VM_MODE_P40V48_4K,
  VM_MODE_P40V48_16K,
  VM_MODE_P40V48_64K,
  VM_MODE_PXXVYY_4K,
  VM_MODE_P47V64_4K,
  VM_MODE_P44V64_4K,
  VM_MODE_P36V48_4K,
  VM_MODE_P36V48_16K,
  VM_MODE_P36V48_64K,
  VM_MODE_P47V47_16K,
  VM_MODE_P36V47_16K,
  NUM_VM_MODES,
}

/** C `VM_MODE_DEFAULT` on x86: PA bits from CPUID, VA bits 48 or 57, 4K pages. */
export const VM_MODE_DEFAULT: vm_guest_mode = vm_guest_mode.VM_MODE_PXXVYY_4K;
/** C `VM_TYPE_DEFAULT`. */
export const VM_TYPE_DEFAULT = 0;

/** C `struct vm_shape`: the VM type and guest mode, packed into 64 bits in C. */
export interface vm_shape {
  /** The `KVM_CREATE_VM` type (`KVM_X86_*_VM`). */
  type: number;
  /** The guest mode (`enum vm_guest_mode`). */
  mode: vm_guest_mode;
}

/**
 * C `VM_SHAPE(mode)`: the default VM type in the given mode.
 *
 * @param mode the guest mode
 * @returns the shape
 */
export function VM_SHAPE(mode: vm_guest_mode): vm_shape {
  return { mode, type: VM_TYPE_DEFAULT };
}

/**
 * C `__VM_TYPE(mode, type)`.
 *
 * @param mode the guest mode
 * @param type the VM type
 * @returns the shape
 */
export function __VM_TYPE(mode: vm_guest_mode, type: number): vm_shape {
  return { mode, type };
}

/**
 * C `VM_TYPE(type)`: the given VM type in the default mode.
 *
 * @param type the VM type
 * @returns the shape
 */
export function VM_TYPE(type: number): vm_shape {
  return __VM_TYPE(VM_MODE_DEFAULT, type);
}

/** C `VM_SHAPE_DEFAULT`. */
export const VM_SHAPE_DEFAULT: vm_shape = Object.freeze(VM_SHAPE(VM_MODE_DEFAULT));

/** C `struct vm_guest_mode_params`. */
export interface vm_guest_mode_params {
  /** Guest physical address bits (0: from CPUID). */
  pa_bits: number;
  /** Guest virtual address bits (0: from CPUID). */
  va_bits: number;
  /** Guest page size. */
  page_size: number;
  /** log2 of the page size. */
  page_shift: number;
}

/** C `enum kvm_mem_region_type`: which memslot each kind of library allocation comes from. */
export enum kvm_mem_region_type {
  MEM_REGION_CODE,
  MEM_REGION_DATA,
  MEM_REGION_PT,
  MEM_REGION_TEST_DATA,
  MEM_REGION_TEST_EXTRA,
  NR_MEM_REGIONS,
}

/** C `MEM_REGION_CODE`. */
export const MEM_REGION_CODE: kvm_mem_region_type = kvm_mem_region_type.MEM_REGION_CODE;
/** C `MEM_REGION_DATA`. */
export const MEM_REGION_DATA: kvm_mem_region_type = kvm_mem_region_type.MEM_REGION_DATA;
/** C `MEM_REGION_PT`. */
export const MEM_REGION_PT: kvm_mem_region_type = kvm_mem_region_type.MEM_REGION_PT;
/** C `MEM_REGION_TEST_DATA`. */
export const MEM_REGION_TEST_DATA: kvm_mem_region_type = kvm_mem_region_type.MEM_REGION_TEST_DATA;
/** C `MEM_REGION_TEST_EXTRA`. */
export const MEM_REGION_TEST_EXTRA: kvm_mem_region_type = kvm_mem_region_type.MEM_REGION_TEST_EXTRA;
/** C `NR_MEM_REGIONS`. */
export const NR_MEM_REGIONS: number = kvm_mem_region_type.NR_MEM_REGIONS;

/** C `enum vm_mem_backing_src_type`. */
export enum vm_mem_backing_src_type {
  VM_MEM_SRC_ANONYMOUS,
  VM_MEM_SRC_ANONYMOUS_THP,
  VM_MEM_SRC_ANONYMOUS_HUGETLB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_16KB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_64KB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_512KB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_1MB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_8MB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_16MB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_32MB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_256MB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_512MB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_2GB,
  VM_MEM_SRC_ANONYMOUS_HUGETLB_16GB,
  VM_MEM_SRC_SHMEM,
  VM_MEM_SRC_SHARED_HUGETLB,
  NUM_SRC_TYPES,
}

/** C `VM_MEM_SRC_ANONYMOUS`. */
export const VM_MEM_SRC_ANONYMOUS: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS;
/** C `VM_MEM_SRC_ANONYMOUS_THP`. */
export const VM_MEM_SRC_ANONYMOUS_THP: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_THP;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_16KB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_16KB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_16KB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_64KB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_64KB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_64KB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_512KB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_512KB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_512KB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_1MB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_1MB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_1MB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_8MB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_8MB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_8MB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_16MB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_16MB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_16MB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_32MB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_32MB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_32MB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_256MB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_256MB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_256MB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_512MB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_512MB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_512MB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_2GB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_2GB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_2GB;
/** C `VM_MEM_SRC_ANONYMOUS_HUGETLB_16GB`. */
export const VM_MEM_SRC_ANONYMOUS_HUGETLB_16GB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS_HUGETLB_16GB;
/** C `VM_MEM_SRC_SHMEM`. */
export const VM_MEM_SRC_SHMEM: vm_mem_backing_src_type = vm_mem_backing_src_type.VM_MEM_SRC_SHMEM;
/** C `VM_MEM_SRC_SHARED_HUGETLB`. */
export const VM_MEM_SRC_SHARED_HUGETLB: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_SHARED_HUGETLB;
/** C `NUM_SRC_TYPES`. */
export const NUM_SRC_TYPES: number = vm_mem_backing_src_type.NUM_SRC_TYPES;

/** C `DEFAULT_VM_MEM_SRC`. */
export const DEFAULT_VM_MEM_SRC: vm_mem_backing_src_type =
  vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS;

/** C `struct userspace_mem_region`: one memslot as the library tracks it. */
export interface userspace_mem_region {
  /** The memslot as passed to `KVM_SET_USER_MEMORY_REGION2` (a byte-exact view). */
  region: View<typeof kvm_userspace_memory_region2.fields>;
  /** Guest pages not yet handed out by `vm_phy_pages_alloc`. */
  unused_phy_pages: sparsebit;
  /** Pages allocated as protected (private); only for VMs with protected memory. */
  protected_phy_pages: sparsebit | null;
  /** The memfd backing shared memory, or -1. */
  fd: number;
  /** Offset in `fd`. */
  offset: bigint;
  /** How the memory is backed. */
  backing_src_type: vm_mem_backing_src_type;
  /** Host address of guest page 0 of the region. */
  host_mem: bigint;
  /** Host address of the alias mapping of shared memory, or 0. */
  host_alias: bigint;
  /** Start of the host mapping. */
  mmap_start: bigint;
  /** Start of the alias mapping, or 0. */
  mmap_alias: bigint;
  /** Length of the host mapping. */
  mmap_size: bigint;
}

/** C `struct kvm_mmu`. */
export interface kvm_mmu {
  /** Whether the top-level table exists. */
  pgd_created: boolean;
  /** GPA of the top-level table. */
  pgd: gpa_t;
  /** Paging levels: 4 or 5 on x86. */
  pgtable_levels: number;
  /** The architecture's part: the bits of this MMU's entries. */
  arch: kvm_mmu_arch;
}

/**
 * C x86 `struct pte_masks`: the bits of one MMU's page-table entries, set
 * when its top-level table is made (stage 1: the x86 PTE bits, plus the
 * VM's C-bit or S-bit); 0 for a bit the MMU does not have.
 */
export interface pte_masks {
  /** Present (P). */
  present: bigint;
  /** Writable (R/W). */
  writable: bigint;
  /** User (U/S). */
  user: bigint;
  /** Readable (EPT only). */
  readable: bigint;
  /** Executable (EPT only). */
  executable: bigint;
  /** Accessed (A). */
  accessed: bigint;
  /** Dirty (D). */
  dirty: bigint;
  /** Page size (PS). */
  huge: bigint;
  /** No-execute (NX). */
  nx: bigint;
  /** SEV's C-bit: the page is private. */
  c: bigint;
  /** TDX's S-bit: the page is shared. */
  s: bigint;
  /** Bits every entry has. */
  always_set: bigint;
}

/** C x86 `struct kvm_mmu_arch`. */
export interface kvm_mmu_arch {
  /** The entries' bits. */
  pte_masks: pte_masks;
}

/** C x86 `struct kvm_vm_arch`. */
export interface kvm_vm_arch {
  /** GVA of the GDT. */
  gdt: gva_t;
  /** GVA of the TSS. */
  tss: gva_t;
  /** GVA of the IDT. */
  idt: gva_t;
  /** SEV C-bit (set on private leaf PTEs). */
  c_bit: bigint;
  /** TDX S-bit (set on shared leaf PTEs). */
  s_bit: bigint;
  /** `/dev/sev` fd, or -1. */
  sev_fd: number;
  /** Whether the page tables themselves are protected. */
  is_pt_protected: boolean;
}

/** C `struct kvm_vm`. */
export interface kvm_vm {
  /** The guest mode. */
  mode: vm_guest_mode;
  /** The `KVM_CREATE_VM` type. */
  type: number;
  /** The `/dev/kvm` fd the VM was created from. */
  kvm_fd: number;
  /** The VM fd. */
  fd: number;
  /** Guest page size. */
  page_size: number;
  /** log2 of the page size. */
  page_shift: number;
  /** Guest physical address bits. */
  pa_bits: number;
  /** Guest virtual address bits. */
  va_bits: number;
  /** Highest guest frame number. */
  max_gfn: bigint;
  /** The vCPUs, most recently added first (C `list_add`). */
  vcpus: kvm_vcpu[];
  /** The memslots, by slot number. */
  regions: Map<number, userspace_mem_region>;
  /** Canonical virtual pages. */
  vpages_valid: sparsebit;
  /** Mapped virtual pages. */
  vpages_mapped: sparsebit;
  /** Whether an irqchip was created. */
  has_irqchip: boolean;
  /** The ucall MMIO GPA (TDX and non-x86 ucalls). */
  ucall_mmio_addr: gpa_t;
  /** GVA of the guest's exception handler table. */
  handlers: gva_t;
  /** Bits to strip from a GPA before looking it up (SEV C-bit, TDX S-bit). */
  gpa_tag_mask: bigint;
  /** The guest page tables. */
  mmu: kvm_mmu;
  /** x86 state. */
  arch: kvm_vm_arch;
  /** The memslot each `kvm_mem_region_type` allocates from. */
  memslots: number[];
  /** Binary stats fd, or -1. */
  stats_fd: number;
  /** Bytes per vCPU dirty ring, once `vm_enable_dirty_ring()` enabled it. */
  dirty_ring_size?: number;
  /** The guest image this VM runs (see `kvm_vm_elf_load`). */
  image: guest_image | undefined;
}

/** C `struct kvm_vcpu`. */
export interface kvm_vcpu {
  /** The vCPU id. */
  id: number;
  /** The vCPU fd. */
  fd: number;
  /** The VM. */
  vm: kvm_vm;
  /** The mmap'd `struct kvm_run`. */
  run: View<typeof kvm_run.fields>;
  /** Host address of the `kvm_run` mapping. */
  run_hva: bigint;
  /** The CPUID table last set (`vcpu_init_cpuid`), or null. */
  cpuid: View<typeof kvm_cpuid2.fields> | null;
  /** Binary stats fd, or -1. */
  stats_fd: number;
  /** Host address of the mapped dirty ring (`vcpu_map_dirty_ring`), or unset. */
  dirty_gfns?: bigint;
  /** Entries in the dirty ring. */
  dirty_gfns_count?: number;
}

/** A guest function: any function the guest image can run (see `kvm_vm_elf_load`). */
// deno-lint-ignore no-explicit-any
export type guest_code_t = (...args: any[]) => unknown;

/** What `kvm_vm_elf_load` loaded into a VM: where the image's regions are and what is placed. */
export interface guest_image {
  /** The module URL of the test program (C `program_invocation_name`). */
  url: string;
  /** GVA of the image's text region (code records). */
  text: gva_t;
  /**
   * GPA of the text region: physically contiguous, as the loader allocated
   * it, so records are written at `text_gpa + offset` without a page walk.
   */
  text_gpa: gpa_t;
  /** Bytes in the text region. */
  text_size: number;
  /** Bytes of the text region used so far. */
  text_used: number;
  /** GVA of the image's data region (guest globals). */
  data: gva_t;
  /** Bytes in the data region. */
  data_size: number;
  /** Code addresses of the functions placed so far. */
  functions: Map<guest_code_t | string, gva_t>;
}

/**
 * C `__kvm_static_assert(expr, msg)`: C checks it at compile time; here it
 * throws when the module (or function) that states it runs.
 *
 * @param expr what must hold
 * @param msg the message (C's `_Static_assert` text)
 */
export function __kvm_static_assert(expr: unknown, msg: string): asserts expr {
  if (!expr) throw new TypeError(`static assertion failed: ${msg}`);
}

/**
 * C `kvm_static_assert(expr)`: {@linkcode __kvm_static_assert} with the
 * expression's text (pass it as `msg`; TypeScript cannot stringize).
 *
 * @param expr what must hold
 * @param msg the message
 */
export function kvm_static_assert(expr: unknown, msg = "kvm_static_assert"): asserts expr {
  __kvm_static_assert(expr, msg);
}

/** C `struct vcpu_reg_sublist`: one group of a get-reg-list test's registers. */
export interface vcpu_reg_sublist {
  /** The group's name. */
  name: string;
  /** The capability that enables the group (0: none). */
  capability: number;
  /** The vCPU feature that enables it. */
  feature: number;
  /** The feature's type. */
  feature_type: number;
  /** Whether the vCPU must be finalized for it. */
  finalize: boolean;
  /** The register IDs; `null` ends the list, as C's `regs == NULL`. */
  regs: bigint[] | null;
  /** IDs whose KVM_SET_ONE_REG KVM refuses. */
  rejects_set: bigint[];
  /** IDs whose set is not tested. */
  skips_set: bigint[];
}

/** C `struct vcpu_reg_list`: a named list of sublists. */
export interface vcpu_reg_list {
  /** The configuration's name. */
  name: string;
  /** The sublists; iterate with `for_each_sublist()`. */
  sublists: vcpu_reg_sublist[];
}
