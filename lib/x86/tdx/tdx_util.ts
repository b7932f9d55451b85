// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/tdx/tdx_util.c` (the TDX
 * selftest series): the host side of building a TD. `tdx_init_vm` reads the
 * TDX capabilities, filters KVM's supported CPUID against them and issues
 * KVM_TDX_INIT_VM; the boot code (slot 20) and boot parameters (slot 21)
 * regions sit just below 4 GiB; `tdx_vm_finalize` converts every protected
 * page to private and adds it, measured, with KVM_TDX_INIT_MEM_REGION before
 * KVM_TDX_FINALIZE_VM. The ioctl order is upstream's (the measurement, MRTD,
 * depends on it).
 *
 * Tests import it through `include/x86/tdx/tdx_util.ts`.
 *
 * @module
 */

import {
  X86_CR4_LA57,
  X86_CR4_MCE,
  X86_CR4_SMXE,
  X86_CR4_VMXE,
} from "../../../include/asm/processor-flags.ts";
import { u64, type View } from "../../../include/c/layout.ts";
import {
  kvm_cpuid2,
  kvm_cpuid_entry2,
  KVM_TDX_CAPABILITIES,
  kvm_tdx_capabilities,
  kvm_tdx_cmd,
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_TDX_INIT_VM,
  kvm_tdx_init_vm,
  KVM_TDX_MEASURE_MEMORY_REGION,
  KVM_X86_TDX_VM,
} from "../../../include/asm/kvm.ts";
import {
  KVM_CAP_VM_TYPES,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ENCRYPT_OP,
} from "../../../include/linux/kvm.ts";
import { E2BIG } from "../../../include/linux/errno.ts";
import { errno_get } from "../../../include/libc/errno.ts";
import { type Pointer, ptr, user_memory } from "../../../include/libc/syscall.ts";
import {
  type gpa_t,
  type kvm_vcpu,
  type kvm_vm,
  vm_guest_mode,
  vm_mem_backing_src_type,
} from "../../../include/kvm_util_types.ts";
import { TEST_ASSERT, TEST_ASSERT_EQ } from "../../../include/test_util.ts";
import {
  td_boot_parameters,
  TD_BOOT_PARAMETERS_GPA,
  td_per_vcpu_parameters,
  X86_RESET_VECTOR,
} from "../../../include/x86/tdx/td_boot.ts";
import {
  __vcpu_ioctl,
  __vm_ioctl,
  addr_gpa2hva,
  kvm_check_cap,
  sync_global_to_guest,
  TEST_ASSERT_VM_VCPU_IOCTL,
  virt_map,
  vm_mem_set_private,
  vm_phy_pages_alloc,
  vm_userspace_mem_region_add,
} from "../../kvm_util.ts";
import { sparsebit_runs } from "../../sparsebit.ts";
import { guest_code_gva } from "../../elf.ts";
import { guest_global } from "../../guest_globals.ts";
import type { guest_code_t } from "../../../include/kvm_util_types.ts";
import {
  allocate_kvm_cpuid2,
  cpuid_entry_index,
  kvm_allocate_vcpu_stack,
  kvm_cpuid2_size,
  kvm_get_default_cr0,
  kvm_get_default_cr4,
  kvm_get_default_gdt_limit,
  kvm_get_default_idt_limit,
  kvm_get_supported_cpuid,
} from "../processor.ts";
import { kvm_trace } from "../../../include/libc/trace.ts";
import { tdx_mrtd_log } from "./mrtd_log.ts";
import { td_boot_code, TD_BOOT_CODE_SIZE } from "./td_boot.ts";
// The guest half: a TD's ucall goes through tdx_mmio_write().
import "./tdx.ts";

/** C `TD_BOOT_CODE_SLOT`: a slot number no test or library memslot uses (the value is arbitrary). */
const TD_BOOT_CODE_SLOT = 20;
/** C `TD_BOOT_PARAMETERS_SLOT`: the slot after the boot code's, equally unused elsewhere. */
const TD_BOOT_PARAMETERS_SLOT = 21;

/**
 * What the two boot slots hold, for `KVM_SELFTESTS_TRACE=mrtd` (a function:
 * `td_boot.ts` and this module import each other, so its values are read
 * when a TD is built, not while the modules load).
 */
function mrtd_boot_slots(): ReadonlyMap<number, [string, string]> {
  return new Map([
    [TD_BOOT_CODE_SLOT, ["boot-code", `td_boot (${TD_BOOT_CODE_SIZE} bytes) + reset vector JMP`]],
    [TD_BOOT_PARAMETERS_SLOT, ["boot-parameters", "td_boot_parameters + per_vcpu[]"]],
  ]);
}
/** C `X86_RESET_VECTOR_SIZE`. */
const X86_RESET_VECTOR_SIZE = 16;
const PAGE_SIZE = 4096;

export { is_tdx_vm } from "../processor.ts";

/**
 * C `tdx_s_bit` (the v8 series' `tdx_util.h`): the TD's shared bit, which
 * guest code ORs into a GPA for MMIO and MapGPA. `tdx_init_vm` syncs it to
 * the guest, as v8's `td_initialize()` did, so every TD has it.
 */
export const tdx_s_bit: guest_global<bigint> = guest_global("tdx_s_bit", u64);

/**
 * C `is_tdx_supported()`: KVM offers the TDX VM type.
 *
 * @returns whether TDs can be created
 */
export function is_tdx_supported(): boolean {
  return !!(kvm_check_cap(KVM_CAP_VM_TYPES) & (1 << KVM_X86_TDX_VM));
}

function tdx_cmd(cmd: number, flags: number, arg: Pointer | null): View<typeof kvm_tdx_cmd.fields> {
  const c = kvm_tdx_cmd.alloc();
  c.id = cmd;
  c.flags = flags >>> 0;
  c.data = arg === null ? 0n : ptr(arg);
  return c;
}

/**
 * C `__tdx_vm_ioctl(vm, cmd, flags, arg)`: a TDX sub-command on the VM
 * (KVM_MEMORY_ENCRYPT_OP), evaluating to `r ?: tdx_cmd.c.hw_error`.
 *
 * @param vm the TD
 * @param cmd `KVM_TDX_*`
 * @param flags the command's flags
 * @param arg the command's data (a pointer), or null
 * @returns the ioctl's result if non-zero, else the TDX module's error
 */
export function __tdx_vm_ioctl(
  vm: kvm_vm,
  cmd: number,
  flags: number,
  arg: Pointer | null,
): number | bigint {
  const c = tdx_cmd(cmd, flags, arg);
  const r = __vm_ioctl(vm, KVM_MEMORY_ENCRYPT_OP, c);
  return r || c.hw_error;
}

/**
 * C `tdx_vm_ioctl(vm, cmd, flags, arg)`: {@linkcode __tdx_vm_ioctl} that
 * must succeed; the failure names the sub-command (`KVM_TDX_INIT_VM failed,
 * rc: ...`).
 *
 * @param vm the TD
 * @param cmd `KVM_TDX_*`
 * @param flags the command's flags
 * @param arg the command's data, or null
 */
export function tdx_vm_ioctl(vm: kvm_vm, cmd: number, flags: number, arg: Pointer | null): void {
  const ret = __tdx_vm_ioctl(vm, cmd, flags, arg);
  TEST_ASSERT_VM_VCPU_IOCTL(!ret, tdx_cmd_name(cmd), Number(ret), vm);
}

/**
 * C `__tdx_vcpu_ioctl(vcpu, cmd, flags, arg)`: a TDX sub-command on a vCPU.
 *
 * @param vcpu the vCPU
 * @param cmd `KVM_TDX_*`
 * @param flags the command's flags
 * @param arg the command's data, or null
 * @returns the ioctl's result if non-zero, else the TDX module's error
 */
export function __tdx_vcpu_ioctl(
  vcpu: kvm_vcpu,
  cmd: number,
  flags: number,
  arg: Pointer | null,
): number | bigint {
  const c = tdx_cmd(cmd, flags, arg);
  const r = __vcpu_ioctl(vcpu, KVM_MEMORY_ENCRYPT_OP, c);
  return r || c.hw_error;
}

/**
 * C `tdx_vcpu_ioctl(vcpu, cmd, flags, arg)`: {@linkcode __tdx_vcpu_ioctl}
 * that must succeed.
 *
 * @param vcpu the vCPU
 * @param cmd `KVM_TDX_*`
 * @param flags the command's flags
 * @param arg the command's data, or null
 */
export function tdx_vcpu_ioctl(
  vcpu: kvm_vcpu,
  cmd: number,
  flags: number,
  arg: Pointer | null,
): void {
  const ret = __tdx_vcpu_ioctl(vcpu, cmd, flags, arg);
  TEST_ASSERT_VM_VCPU_IOCTL(!ret, tdx_cmd_name(cmd), Number(ret), vcpu.vm);
}

/** `#cmd` of the C macros: the sub-command's name. */
function tdx_cmd_name(cmd: number): string {
  return [
    "KVM_TDX_CAPABILITIES",
    "KVM_TDX_INIT_VM",
    "KVM_TDX_INIT_VCPU",
    "KVM_TDX_INIT_MEM_REGION",
    "KVM_TDX_FINALIZE_VM",
    "KVM_TDX_GET_CPUID",
  ][cmd] ?? String(cmd);
}

type cpuid2_view = View<typeof kvm_cpuid2.fields>;
type caps_view = View<typeof kvm_tdx_capabilities.fields>;

/** C `tdx_read_capabilities(vm)`: KVM_TDX_CAPABILITIES, growing the CPUID array on E2BIG. */
function tdx_read_capabilities(vm: kvm_vm): caps_view {
  let nr_cpuid_configs = 4;
  let cap: caps_view;
  let rc: number | bigint;
  do {
    nr_cpuid_configs *= 2;
    cap = kvm_tdx_capabilities.alloc(nr_cpuid_configs);
    cap.cpuid.nent = nr_cpuid_configs;
    rc = __tdx_vm_ioctl(vm, KVM_TDX_CAPABILITIES, 0, cap);
  } while (rc < 0 && errno_get() === E2BIG);
  TEST_ASSERT(!rc, "KVM_TDX_CAPABILITIES failed: %d %d", rc, errno_get());
  return cap;
}

/** The valid entries of a `kvm_cpuid2` that ends a larger struct. */
function cpuid_entry(cpuid: cpuid2_view, i: number): View<typeof kvm_cpuid_entry2.fields> {
  return cpuid.entries.at(i);
}

/** C `tdx_find_cpuid_config(cap, leaf, sub_leaf)`. */
function tdx_find_cpuid_config(
  cap: caps_view,
  leaf: number,
  sub_leaf: number,
): View<typeof kvm_cpuid_entry2.fields> | null {
  const i = cpuid_entry_index(cap.cpuid, leaf, sub_leaf);
  return i < 0 ? null : cpuid_entry(cap.cpuid, i);
}

/**
 * C `tdx_filter_cpuid(vm, cpuid_data)`: drop the leaves the TDX module does
 * not let the VMM configure, mask the others with what it allows.
 */
function tdx_filter_cpuid(vm: kvm_vm, cpuid_data: cpuid2_view): void {
  const tdx_cap = tdx_read_capabilities(vm);
  const ENTRY = kvm_cpuid_entry2.size;
  const bytes = cpuid_data.$bytes;
  const base = kvm_cpuid2.size;
  let i = 0;
  while (i < cpuid_data.nent) {
    const e = cpuid_entry(cpuid_data, i);
    const config = tdx_find_cpuid_config(tdx_cap, e.function, e.index);
    if (!config) {
      const n = cpuid_data.nent - i - 1;
      // memmove(e, e + 1, n * sizeof(*e))
      bytes.copyWithin(base + i * ENTRY, base + (i + 1) * ENTRY, base + (i + 1 + n) * ENTRY);
      cpuid_data.nent--;
      continue;
    }
    e.eax = (e.eax & config.eax) >>> 0;
    e.ebx = (e.ebx & config.ebx) >>> 0;
    e.ecx = (e.ecx & config.ecx) >>> 0;
    e.edx = (e.edx & config.edx) >>> 0;
    i++;
  }
}

/** C `tdx_check_attributes(vm, attributes)`. */
function tdx_check_attributes(vm: kvm_vm, attributes: bigint): void {
  const tdx_cap = tdx_read_capabilities(vm);
  TEST_ASSERT_EQ(attributes & tdx_cap.supported_attrs, attributes);
}

/**
 * C `tdx_init_vm(vm, attributes)`: KVM_TDX_INIT_VM with KVM's supported
 * CPUID filtered for the TD; XFAM and the MR* fields are left zero.
 *
 * @param vm the TD
 * @param attributes the TD attributes (the library passes 0)
 */
export function tdx_init_vm(vm: kvm_vm, attributes: bigint): void {
  const tmp = kvm_get_supported_cpuid();
  const cpuid = allocate_kvm_cpuid2(tmp.nent);
  cpuid.$bytes.set(tmp.$bytes.subarray(0, kvm_cpuid2_size(tmp.nent)));
  tdx_filter_cpuid(vm, cpuid);

  const init_vm = kvm_tdx_init_vm.alloc(cpuid.nent);
  TEST_ASSERT(init_vm, "init_vm allocation failed");
  init_vm.$bytes.set(
    cpuid.$bytes.subarray(0, kvm_cpuid2_size(cpuid.nent)),
    kvm_tdx_init_vm.size - kvm_cpuid2.size,
  );
  tdx_check_attributes(vm, attributes);
  init_vm.attributes = attributes;
  tdx_vm_ioctl(vm, KVM_TDX_INIT_VM, 0, init_vm);

  tdx_s_bit.value = vm.arch.s_bit;
  sync_global_to_guest(vm, tdx_s_bit);
}

function DIV_ROUND_UP(n: number, d: number): number {
  return Math.ceil(n / d);
}

/**
 * C `tdx_vm_setup_boot_code_region(vm)`: slot 20 (guest_memfd, one page
 * below 4 GiB), identity-mapped; the boot code copied so that it ends at the
 * reset vector. Only 16 bytes fit between the reset vector and 4 GiB, so
 * those hold a short backward jump (`JMP rel8`) to the code's first byte,
 * followed by an `INT3` that stops the vCPU should execution ever pass it.
 *
 * @param vm the TD
 */
export function tdx_vm_setup_boot_code_region(vm: kvm_vm): void {
  const boot_code_allocation = TD_BOOT_CODE_SIZE + X86_RESET_VECTOR_SIZE;
  const boot_code_gpa = BigInt(X86_RESET_VECTOR - TD_BOOT_CODE_SIZE);
  const alloc_gpa = boot_code_gpa & ~BigInt(PAGE_SIZE - 1);
  const nr_pages = DIV_ROUND_UP(boot_code_allocation, PAGE_SIZE);

  vm_userspace_mem_region_add(
    vm,
    vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS,
    alloc_gpa,
    TD_BOOT_CODE_SLOT,
    nr_pages,
    KVM_MEM_GUEST_MEMFD,
  );
  const gpa = vm_phy_pages_alloc(vm, nr_pages, alloc_gpa, TD_BOOT_CODE_SLOT);
  TEST_ASSERT(gpa === alloc_gpa, "Failed vm_phy_pages_alloc\n");

  virt_map(vm, alloc_gpa, alloc_gpa, nr_pages);
  const hva = addr_gpa2hva(vm, boot_code_gpa);
  user_memory(hva, TD_BOOT_CODE_SIZE).set(td_boot_code());

  const reset = addr_gpa2hva(vm, BigInt(X86_RESET_VECTOR));
  TEST_ASSERT(
    hva + BigInt(TD_BOOT_CODE_SIZE) === reset,
    "Expected RESET vector at hva 0x%lx, got %lx",
    reset,
    hva + BigInt(TD_BOOT_CODE_SIZE),
  );

  // rel8 counts from the jump's end and reaches at most 128 bytes back.
  TEST_ASSERT(TD_BOOT_CODE_SIZE + 2 <= 128, "TD boot code not addressable by 'JMP rel8'");
  const trampoline = user_memory(reset, 3);
  trampoline[0] = 0xeb; // JMP rel8
  trampoline[1] = 256 - 2 - TD_BOOT_CODE_SIZE;
  trampoline[2] = 0xcc; // INT3
}

/**
 * C `tdx_vm_setup_boot_parameters_region(vm, nr_runnable_vcpus)`: slot 21
 * at `TD_BOOT_PARAMETERS_GPA`, room for one `td_per_vcpu_parameters` per
 * vCPU, identity-mapped.
 *
 * @param vm the TD
 * @param nr_runnable_vcpus the number of vCPUs
 */
export function tdx_vm_setup_boot_parameters_region(vm: kvm_vm, nr_runnable_vcpus: number): void {
  const boot_params_size = td_boot_parameters.size +
    nr_runnable_vcpus * td_per_vcpu_parameters.size;
  const nr_pages = DIV_ROUND_UP(boot_params_size, PAGE_SIZE);
  const gpa_base = BigInt(TD_BOOT_PARAMETERS_GPA);

  vm_userspace_mem_region_add(
    vm,
    vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS,
    gpa_base,
    TD_BOOT_PARAMETERS_SLOT,
    nr_pages,
    KVM_MEM_GUEST_MEMFD,
  );
  const gpa = vm_phy_pages_alloc(vm, nr_pages, gpa_base, TD_BOOT_PARAMETERS_SLOT);
  TEST_ASSERT(gpa === gpa_base, "Failed vm_phy_pages_alloc\n");

  virt_map(vm, gpa_base, gpa_base, nr_pages);
}

/** The host view of the boot parameters (the page is private to the guest only after finalize). */
function boot_params(vm: kvm_vm): View<typeof td_boot_parameters.fields> {
  const region = vm.regions.get(TD_BOOT_PARAMETERS_SLOT);
  TEST_ASSERT(region, "The boot parameters region (slot %d) is missing", TD_BOOT_PARAMETERS_SLOT);
  const size = Number(region.region.memory_size);
  return td_boot_parameters.view(
    user_memory(addr_gpa2hva(vm, BigInt(TD_BOOT_PARAMETERS_GPA)), size),
  );
}

/**
 * C `tdx_vm_load_common_boot_parameters(vm)`: CR0, CR3, CR4, GDTR and IDTR
 * for the boot code.
 *
 * @param vm the TD
 */
export function tdx_vm_load_common_boot_parameters(vm: kvm_vm): void {
  const params = boot_params(vm);
  TEST_ASSERT_EQ(vm.mode, vm_guest_mode.VM_MODE_PXXVYY_4K);

  let cr4 = kvm_get_default_cr4();
  if (vm.mmu.pgtable_levels === 5) cr4 |= X86_CR4_LA57;
  // The TDX module forces CR4.MCE on for a TD (TDX spec 11.6.2).
  cr4 |= X86_CR4_MCE;
  // ...and forbids CR4.VMXE and CR4.SMXE (same section): a TD runs no VMX/SMX.
  cr4 &= ~(X86_CR4_VMXE | X86_CR4_SMXE);

  // params->cr3 is 32 bits: the boot code runs in 32-bit mode.
  TEST_ASSERT(
    vm.mmu.pgd < (1n << 32n),
    "PGD must be within 32-bit address space for 32-bit boot code",
  );
  params.cr0 = Number(kvm_get_default_cr0());
  params.cr3 = Number(vm.mmu.pgd);
  params.cr4 = Number(cr4);
  params.idtr.base = Number(vm.arch.idt);
  params.idtr.limit = kvm_get_default_idt_limit();
  params.gdtr.base = Number(vm.arch.gdt);
  params.gdtr.limit = kvm_get_default_gdt_limit();

  TEST_ASSERT(params.cr0 !== 0, "cr0 should not be 0");
  TEST_ASSERT(params.cr3 !== 0, "cr3 should not be 0");
  TEST_ASSERT(params.cr4 !== 0, "cr4 should not be 0");
  TEST_ASSERT(params.gdtr.base !== 0, "gdt base address should not be 0");
  TEST_ASSERT(params.idtr.base !== 0, "idt base address should not be 0");
}

/**
 * C `tdx_vcpu_load_boot_parameters(vm, vcpu)`: the vCPU's stack.
 *
 * @param vm the TD
 * @param vcpu the vCPU
 */
export function tdx_vcpu_load_boot_parameters(vm: kvm_vm, vcpu: kvm_vcpu): void {
  const params = boot_params(vm);
  // u32: the boot code loads ESP in 32-bit mode.
  params.per_vcpu.at(vcpu.id).esp_gva = Number(
    BigInt.asUintN(32, BigInt(kvm_allocate_vcpu_stack(vm))),
  );
}

/**
 * C `tdx_vcpu_set_entry_point(vcpu, guest_code)`: where the boot code jumps.
 *
 * @param vcpu the vCPU
 * @param guest_code the entry point
 */
export function tdx_vcpu_set_entry_point(vcpu: kvm_vcpu, guest_code: guest_code_t): void {
  const params = boot_params(vcpu.vm);
  params.per_vcpu.at(vcpu.id).guest_code = guest_code_gva(vcpu.vm, guest_code);
}

/** C `tdx_init_mem_region(vm, source_pages, gpa, size)`: add and measure pages. */
function tdx_init_mem_region(vm: kvm_vm, source_pages: bigint, gpa: gpa_t, size: bigint): void {
  // C list_first_entry_or_null(&vm->vcpus): the most recently added vCPU.
  const vcpu = vm.vcpus[0];
  TEST_ASSERT(vcpu, "A TD needs a vCPU to add memory");
  TEST_ASSERT(
    size !== 0n && size % BigInt(PAGE_SIZE) === 0n,
    "Cannot add partial pages to the guest memory.\n",
  );
  TEST_ASSERT(
    source_pages % BigInt(PAGE_SIZE) === 0n,
    "Source memory buffer is not page aligned\n",
  );
  const mem_region = kvm_tdx_init_mem_region.alloc();
  mem_region.source_addr = source_pages;
  mem_region.gpa = BigInt(gpa);
  mem_region.nr_pages = size / BigInt(PAGE_SIZE);
  tdx_vcpu_ioctl(vcpu, KVM_TDX_INIT_MEM_REGION, KVM_TDX_MEASURE_MEMORY_REGION, mem_region);
}

/**
 * C `tdx_load_private_memory(vm)`: every run of protected pages of every
 * region, in the regions' order, made private and added measured.
 */
function tdx_load_private_memory(vm: kvm_vm): void {
  for (const region of vm.regions.values()) {
    const pages = region.protected_phy_pages;
    if (!pages || sparsebit_runs(pages).length === 0) continue;
    TEST_ASSERT(
      (region.region.guest_memfd | 0) !== -1,
      "TD private memory must be backed by guest_memfd",
    );
    const base_pfn = region.region.guest_phys_addr >> BigInt(vm.page_shift);
    for (const [i, count] of sparsebit_runs(pages)) {
      const size = count * BigInt(vm.page_size);
      const offset = (i - base_pfn) * BigInt(vm.page_size);
      const gpa = i * BigInt(vm.page_size);
      vm_mem_set_private(vm, gpa, size);
      if (kvm_trace.mrtd) tdx_mrtd_log(vm, region.region.slot, gpa, size, mrtd_boot_slots());
      tdx_init_mem_region(vm, region.host_mem + offset, gpa, size);
    }
  }
}

/**
 * C `tdx_vm_finalize(vm)`: load the private memory, then KVM_TDX_FINALIZE_VM.
 *
 * @param vm the TD
 */
export function tdx_vm_finalize(vm: kvm_vm): void {
  tdx_load_private_memory(vm);
  tdx_vm_ioctl(vm, KVM_TDX_FINALIZE_VM, 0, null);
}
