// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/kvm_util.c` and of the static
 * inline helpers and macros of `include/kvm_util.h`: VM and vCPU creation,
 * memslots and guest_memfd, the guest physical and virtual allocators, address
 * translation, host↔guest globals, the ioctl wrappers with the kernel's
 * failure texts, capabilities, and running vCPUs.
 *
 * Tests import it through `include/kvm_util.ts`, as C tests include
 * `kvm_util.h`.
 *
 * Deviations from C, each for a reason the porting guide explains:
 *
 * - C out-parameters are {@linkcode Ref}s (`vm_create_with_one_vcpu(vcpu, ...)`
 *   with `const vcpu = ref<kvm_vcpu>()`).
 * - The ioctl wrappers that are macros in C (`vm_ioctl(vm, KVM_X, arg)`) print
 *   the ioctl's name as written at the call site, as `#cmd` does.
 * - `vcpu_run()` has an `async` twin, {@linkcode vcpu_run_async}, for running
 *   several vCPUs at once where C starts one pthread per vCPU.
 *
 * @module
 */

import { guest_fn_check } from "../include/guest_code.ts";
import { block_list } from "../include/linux/block_list.ts";
import type { View } from "../include/c/layout.ts";
import {
  GUEST_MEMFD_FLAG_MMAP,
  KVM_CAP_BINARY_STATS_FD,
  KVM_CAP_GUEST_MEMFD_FLAGS,
  KVM_CAP_IMMEDIATE_EXIT,
  KVM_CAP_MAX_VCPUS,
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CAP_USER_MEMORY,
  KVM_CAP_USER_MEMORY2,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_IRQCHIP,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_EXIT_AP_RESET_HOLD,
  KVM_EXIT_ARM_NISV,
  KVM_EXIT_ARM_SEA,
  KVM_EXIT_DCR,
  KVM_EXIT_DEBUG,
  KVM_EXIT_DIRTY_RING_FULL,
  KVM_EXIT_EPR,
  KVM_EXIT_EXCEPTION,
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_HLT,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_HYPERV,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_IOAPIC_EOI,
  KVM_EXIT_IRQ_WINDOW_OPEN,
  KVM_EXIT_LOONGARCH_IOCSR,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_MMIO,
  KVM_EXIT_NMI,
  KVM_EXIT_NOTIFY,
  KVM_EXIT_OSI,
  KVM_EXIT_PAPR_HCALL,
  KVM_EXIT_RISCV_CSR,
  KVM_EXIT_RISCV_SBI,
  KVM_EXIT_S390_RESET,
  KVM_EXIT_S390_SIEIC,
  KVM_EXIT_S390_STSI,
  KVM_EXIT_S390_TSCH,
  KVM_EXIT_S390_UCONTROL,
  KVM_EXIT_SET_TPR,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_TPR_ACCESS,
  KVM_EXIT_UNKNOWN,
  KVM_EXIT_WATCHDOG,
  KVM_EXIT_X86_BUS_LOCK,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_EXIT_XEN,
  KVM_GET_STATS_FD,
  KVM_GET_VCPU_MMAP_SIZE,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  KVM_RUN,
  kvm_run,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  kvm_userspace_memory_region,
  kvm_userspace_memory_region2,
} from "../include/linux/kvm.ts";
import type { kvm_regs, kvm_sregs } from "../include/asm/kvm.ts";
import { KVM_GET_MP_STATE, type kvm_mp_state, KVM_SET_MP_STATE } from "../include/linux/kvm.ts";
import { KVM_GET_REGS, KVM_GET_SREGS, KVM_SET_REGS, KVM_SET_SREGS } from "../include/linux/kvm.ts";
import { EACCES, EINTR, EIO, ENOENT, ENOTTY } from "../include/linux/errno.ts";
import { O_RDONLY, O_RDWR } from "../include/linux/fcntl.ts";
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from "../include/linux/falloc.ts";
import {
  MAP_ANONYMOUS,
  MAP_FAILED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from "../include/linux/mman.ts";
import { KVM_DIRTY_LOG_PAGE_OFFSET } from "../include/asm/kvm.ts";
import { RLIMIT_NOFILE } from "../include/linux/resource.ts";
import {
  close,
  dup,
  fallocate,
  getrlimit,
  ioctl,
  ioctl_async,
  type IoctlArg,
  mmap,
  munmap,
  type rlimit,
  setrlimit,
  user_memory,
} from "../include/libc/syscall.ts";
import { errno_get, errno_set, strerror } from "../include/libc/errno.ts";
import { backend } from "../include/libc/backend.ts";
import { open } from "../include/libc/syscall.ts";
import { type Pointer, pread, ptr, read } from "../include/libc/syscall.ts";
import { _IOC_SIZE } from "../include/linux/ioctl.ts";
import { E2BIG } from "../include/linux/errno.ts";
import { atoi_paranoid } from "./test_util.ts";
import {
  KVM_CAP_DIRTY_LOG_RING,
  KVM_CAP_DIRTY_LOG_RING_ACQ_REL,
  KVM_CAP_VM_DISABLE_NX_HUGE_PAGES,
  KVM_CLEAR_DIRTY_LOG,
  kvm_clear_dirty_log,
  kvm_coalesced_mmio_zone,
  KVM_CREATE_DEVICE,
  kvm_create_device as kvm_create_device_struct,
  KVM_CREATE_DEVICE_TEST,
  kvm_device_attr,
  kvm_dirty_gfn,
  kvm_dirty_log,
  KVM_GET_DEVICE_ATTR,
  KVM_GET_DIRTY_LOG,
  KVM_GET_FPU,
  KVM_GET_NESTED_STATE,
  KVM_GET_ONE_REG,
  KVM_GET_REG_LIST,
  KVM_GET_VCPU_EVENTS,
  type kvm_guest_debug,
  KVM_HAS_DEVICE_ATTR,
  kvm_irq_level,
  KVM_IRQ_LINE,
  kvm_irq_routing,
  KVM_IRQ_ROUTING_IRQCHIP,
  KVM_IRQFD,
  kvm_irqfd as kvm_irqfd_struct,
  KVM_IRQFD_FLAG_DEASSIGN,
  kvm_one_reg,
  kvm_reg_list,
  KVM_REG_SIZE,
  KVM_REGISTER_COALESCED_MMIO,
  KVM_RESET_DIRTY_RINGS,
  KVM_SET_DEVICE_ATTR,
  KVM_SET_FPU,
  KVM_SET_GSI_ROUTING,
  KVM_SET_GUEST_DEBUG,
  KVM_SET_NESTED_STATE,
  KVM_SET_ONE_REG,
  KVM_SET_VCPU_EVENTS,
  kvm_stats_desc,
  kvm_stats_header,
  KVM_UNREGISTER_COALESCED_MMIO,
} from "../include/linux/kvm.ts";
import type { kvm_fpu, kvm_nested_state, kvm_vcpu_events } from "../include/asm/kvm.ts";
import { type FILE, fprintf, fputs, stderr } from "../include/libc/stdio.ts";

// vm_dump() takes a stream, so the stream type is part of the public API.
export type { FILE };
import { getenv, in_guest_worker, permission_granted } from "../include/libc/process.ts";
import { atexit } from "../include/libc/exit.ts";
import { type call_site, callsite, stringify_args } from "../include/linux/stringify.ts";
import { ksft_exit_skip } from "../include/kselftest.ts";
import {
  __TEST_REQUIRE,
  pr_debug,
  pr_info,
  TEST_ASSERT,
  TEST_FAIL,
  TEST_REQUIRE,
} from "../include/test_util.ts";
import { test_assert } from "./assert.ts";
import {
  DEFAULT_STACK_PGS,
  type gpa_t,
  type guest_code_t,
  type gva_t,
  type hva_t,
  KVM_DEV_PATH,
  KVM_GUEST_PAGE_TABLE_MIN_PADDR,
  kvm_mem_region_type,
  KVM_UTIL_MIN_PFN,
  KVM_UTIL_MIN_VADDR,
  type kvm_vcpu,
  type kvm_vm,
  type Ref,
  type userspace_mem_region,
  vm_guest_mode,
  type vm_guest_mode_params,
  vm_mem_backing_src_type,
  type vm_shape,
  VM_SHAPE_DEFAULT,
} from "../include/kvm_util_types.ts";
import {
  sparsebit_alloc,
  sparsebit_clear_num,
  sparsebit_is_clear_num,
  sparsebit_is_set,
  sparsebit_is_set_num,
  sparsebit_next_clear_num,
  sparsebit_next_set,
  sparsebit_next_set_num,
  sparsebit_runs,
  sparsebit_set,
  sparsebit_set_num,
} from "./sparsebit.ts";
import { global_read_host, global_write_host, type guest_global } from "./guest_globals.ts";
import { kvm_vm_elf_load, program_invocation_name_deferred } from "./elf.ts";
import { ucall_init, ucall_nr_pages_required } from "./ucall_common.ts";
import {
  addr_arch_gva2gpa,
  assert_on_unhandled_exception,
  kvm_arch_vm_finalize_vcpus,
  kvm_arch_vm_post_create,
  kvm_arch_vm_release,
  kvm_get_cpu_address_width,
  kvm_init_vm_address_properties,
  kvm_la57_usable,
  vcpu_arch_dump,
  vcpu_arch_set_entry_point,
  virt_arch_dump,
  virt_arch_pg_map,
  virt_arch_pg_map_shared,
  virt_arch_pgd_alloc,
  vm_arch_has_protected_memory,
  vm_arch_vcpu_add,
  vm_arch_vcpu_recreate,
  vm_compute_max_gfn,
  x86_guest_va_bits,
} from "./x86/processor.ts";
import { eventfd } from "../include/libc/syscall.ts";
import type { vcpu_reg_list, vcpu_reg_sublist } from "../include/kvm_util_types.ts";

/** The host page size (C `getpagesize()`). */
export const PAGE_SIZE_HOST = 4096;

/**
 * C `getpagesize()`.
 *
 * @returns the host page size
 */
export function getpagesize(): number {
  return PAGE_SIZE_HOST;
}

// ---------------------------------------------------------------------------
// The random seed (kvm_selftest_init)

/** Environment variable by which a harness parent hands its seed to the test children. */
export const RANDOM_SEED_ENV = "KVM_SELFTESTS_RANDOM_SEED";

/** C `kvm_random_seed`. */
export let kvm_random_seed = 0;

/**
 * C's `kvm_selftest_init()` constructor, run when the library loads: prints
 * `Random seed: 0x%x` as the first line of a standalone program. A harness
 * child reuses its parent's seed (a forked C child inherits it) and, its
 * start-up output being muted, does not print it again. vCPU workers run no
 * constructor: they are threads of the same process in C.
 */
function kvm_selftest_init(): void {
  if (in_guest_worker()) return;
  const inherited = getenv(RANDOM_SEED_ENV);
  const seed = inherited !== undefined && /^\d+$/.test(inherited)
    ? Number(inherited) >>> 0
    : (Math.random() * 0x80000000) >>> 0;
  kvm_random_seed = seed;
  pr_info("Random seed: 0x%x\n", kvm_random_seed);
  if (permission_granted({ name: "env", variable: RANDOM_SEED_ENV })) {
    try {
      Deno.env.set(RANDOM_SEED_ENV, String(seed));
    } catch {
      // Children then pick their own seed; only the printed value differs.
    }
  }
}

kvm_selftest_init();

// ---------------------------------------------------------------------------
// Errors and ioctl wrappers

/**
 * C `__KVM_SYSCALL_ERROR(name, ret)`: the failure text of a syscall, with
 * the current errno.
 *
 * @param name what failed
 * @param ret its return value
 * @returns `"<name> failed, rc: <ret> errno: <errno> (<strerror>)"`
 */
export function __KVM_SYSCALL_ERROR(name: string, ret: number | bigint): string {
  const e = errno_get();
  return `${name} failed, rc: ${Number(ret) | 0} errno: ${e} (${strerror(e)})`;
}

/**
 * C `__KVM_IOCTL_ERROR(name, ret)`.
 *
 * @param name the ioctl's name
 * @param ret its return value
 * @returns the failure text
 */
export function __KVM_IOCTL_ERROR(name: string, ret: number | bigint): string {
  return __KVM_SYSCALL_ERROR(name, ret);
}

/**
 * C `KVM_IOCTL_ERROR(ioctl, ret)`: the failure text naming the ioctl as
 * written at the call site (`KVM_IOCTL_ERROR(KVM_RUN, ret)` names `KVM_RUN`).
 * In C it is a string literal; here it reads the call site's source (tens of
 * microseconds), so the library builds it, and every ioctl wrapper its call
 * site, only once the assertion has failed (`if (ret) TEST_ASSERT(!ret, ...)`).
 *
 * @param _ioctl the ioctl number (its source text is what is printed)
 * @param ret the ioctl's return value
 * @returns the failure text
 */
export function KVM_IOCTL_ERROR(_ioctl: number, ret: number | bigint): string {
  const site = callsite(1);
  const name = (site && stringify_args(site)?.[0]) ?? String(_ioctl);
  return __KVM_IOCTL_ERROR(name, ret);
}

/** The source text of argument `i` of the call at `site`. */
function arg_text(site: call_site | undefined, i: number, fallback: string): string {
  return (site && stringify_args(site)?.[i]) ?? fallback;
}

/** `TEST_ASSERT(cond, fmt)` reported at `site`: what a C macro expanded there prints. */
function assert_at(
  site: call_site | undefined,
  cond: unknown,
  exp: string,
  fmt: string,
  ...args: unknown[]
): void {
  if (cond) return;
  test_assert(false, exp, site?.file ?? "?", site?.line ?? 0, fmt, ...args);
}

/** C `static_assert_is_vm()` done at run time: the wrappers take the right object. */
function is_vm(x: kvm_vm | kvm_vcpu): x is kvm_vm {
  return "regions" in x;
}

/**
 * C `TEST_ASSERT_VM_VCPU_IOCTL(cond, cmd, ret, vm)` as the ioctl wrappers of
 * other headers (`tdx_vm_ioctl`) expand it: reported at their caller.
 *
 * @param cond the condition that must hold (`!ret`)
 * @param name the command's name (C: `#cmd`)
 * @param ret the command's result
 * @param vm the VM
 */
export function TEST_ASSERT_VM_VCPU_IOCTL(
  cond: boolean,
  name: string,
  ret: number,
  vm: kvm_vm,
): void {
  if (cond) return;
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(2), cond, "!ret", name, ret, vm);
}

/**
 * C `__TEST_ASSERT_VM_VCPU_IOCTL_AT(cond, name, ret, vm)`: on failure, tell a
 * killed VM (`EIO` and even `KVM_CHECK_EXTENSION` fails) from a plain error.
 */
function __TEST_ASSERT_VM_VCPU_IOCTL_AT(
  site: call_site | undefined,
  cond: boolean,
  cond_text: string,
  name: string,
  ret: number,
  vm: kvm_vm,
): void {
  const saved = errno_get();
  if (cond) return;
  if (saved === EIO && __vm_ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) < 0) {
    assert_at(site, errno_get() === EIO, "errno == EIO", "KVM killed the VM, should return -EIO");
    assert_at(
      site,
      false,
      "false",
      "KVM killed/bugged the VM, check the kernel log for clues",
    );
  }
  errno_set(saved);
  assert_at(site, cond, cond_text, __KVM_IOCTL_ERROR(name, ret));
}

/**
 * C `__kvm_ioctl(kvm_fd, cmd, arg)`: a system ioctl, its raw result.
 *
 * @param kvm_fd a `/dev/kvm` fd
 * @param cmd the ioctl number
 * @param arg the argument
 * @returns the ioctl's result (-1 with errno on failure)
 */
export function __kvm_ioctl(kvm_fd: number, cmd: number, arg?: IoctlArg): number {
  return ioctl(kvm_fd, cmd, arg);
}

/**
 * C `kvm_ioctl(kvm_fd, cmd, arg)`: a system ioctl that must succeed.
 *
 * @param kvm_fd a `/dev/kvm` fd
 * @param cmd the ioctl number
 * @param arg the argument
 */
export function kvm_ioctl(kvm_fd: number, cmd: number, arg?: IoctlArg): void {
  const ret = __kvm_ioctl(kvm_fd, cmd, arg);
  if (!ret) return;
  const site = callsite(1);
  assert_at(site, !ret, "!ret", __KVM_IOCTL_ERROR(arg_text(site, 1, String(cmd)), ret));
}

/**
 * C `__vm_ioctl(vm, cmd, arg)`: a VM ioctl, its raw result.
 *
 * @param vm the VM
 * @param cmd the ioctl number
 * @param arg the argument
 * @returns the ioctl's result (-1 with errno on failure)
 */
export function __vm_ioctl(vm: kvm_vm, cmd: number, arg?: IoctlArg): number {
  if (!is_vm(vm)) throw new TypeError("__vm_ioctl: not a struct kvm_vm");
  return ioctl(vm.fd, cmd, arg);
}

/**
 * C `_vm_ioctl(vm, cmd, name, arg)`: a VM ioctl that must return 0, named
 * `name` in the failure text.
 *
 * @param vm the VM
 * @param cmd the ioctl number
 * @param name the name to print
 * @param arg the argument
 */
export function _vm_ioctl(vm: kvm_vm, cmd: number, name: string, arg?: IoctlArg): void {
  const ret = __vm_ioctl(vm, cmd, arg);
  if (!ret) return;
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(1), !ret, "!ret", name, ret, vm);
}

/**
 * C `vm_ioctl(vm, cmd, arg)`: a VM ioctl that must return 0.
 *
 * @param vm the VM
 * @param cmd the ioctl number
 * @param arg the argument
 */
export function vm_ioctl(vm: kvm_vm, cmd: number, arg?: IoctlArg): void {
  const ret = __vm_ioctl(vm, cmd, arg);
  if (!ret) return;
  const site = callsite(1);
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(site, !ret, "!ret", arg_text(site, 1, String(cmd)), ret, vm);
}

/**
 * C `__vcpu_ioctl(vcpu, cmd, arg)`: a vCPU ioctl, its raw result.
 *
 * @param vcpu the vCPU
 * @param cmd the ioctl number
 * @param arg the argument
 * @returns the ioctl's result (-1 with errno on failure)
 */
export function __vcpu_ioctl(vcpu: kvm_vcpu, cmd: number, arg?: IoctlArg): number {
  if (is_vm(vcpu)) throw new TypeError("__vcpu_ioctl: not a struct kvm_vcpu");
  return ioctl(vcpu.fd, cmd, arg);
}

/**
 * C `vcpu_ioctl(vcpu, cmd, arg)`: a vCPU ioctl that must return 0.
 *
 * @param vcpu the vCPU
 * @param cmd the ioctl number
 * @param arg the argument
 */
export function vcpu_ioctl(vcpu: kvm_vcpu, cmd: number, arg?: IoctlArg): void {
  const ret = __vcpu_ioctl(vcpu, cmd, arg);
  if (!ret) return;
  const site = callsite(1);
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(site, !ret, "!ret", arg_text(site, 1, String(cmd)), ret, vcpu.vm);
}

/**
 * C `kvm_dup(fd)` (`kvm_syscalls.h`): `dup()` or fail the test.
 *
 * @param fd the descriptor
 * @returns the new descriptor
 */
export function kvm_dup(fd: number): number {
  const new_fd = dup(fd);
  TEST_ASSERT(new_fd >= 0, __KVM_SYSCALL_ERROR("dup()", new_fd));
  return new_fd;
}

/**
 * C `kvm_free_fd()` / `kvm_close()`: close an fd that must close.
 *
 * @param fd the fd
 */
export function kvm_free_fd(fd: number): void {
  if (fd < 0) return;
  const ret = close(fd);
  TEST_ASSERT(!ret, __KVM_SYSCALL_ERROR("close()", ret));
}

/**
 * C `kvm_munmap()`.
 *
 * @param mem the address
 * @param size the length
 */
export function kvm_munmap(mem: bigint, size: number | bigint): void {
  const ret = munmap(mem, size);
  TEST_ASSERT(!ret, __KVM_SYSCALL_ERROR("munmap()", ret));
}

/**
 * C `kvm_fallocate(fd, mode, offset, len)` (`kvm_syscalls.h`): `fallocate()`
 * that must succeed.
 *
 * @param fd the file
 * @param mode `FALLOC_FL_*`
 * @param offset where
 * @param len how many bytes
 */
export function kvm_fallocate(
  fd: number,
  mode: number,
  offset: number | bigint,
  len: number | bigint,
): void {
  const ret = fallocate(fd, mode, offset, len);
  TEST_ASSERT(!ret, __KVM_SYSCALL_ERROR("fallocate()", ret));
}

/**
 * C `__kvm_mmap()`: a shared or private mapping that must succeed.
 *
 * @param size the length
 * @param prot `PROT_*`
 * @param flags `MAP_*`
 * @param fd the fd, or -1
 * @param offset the file offset
 * @returns the address
 */
export function __kvm_mmap(
  size: number | bigint,
  prot: number,
  flags: number,
  fd: number,
  offset: number | bigint,
): bigint {
  const mem = mmap(0n, size, prot, flags, fd, offset);
  TEST_ASSERT(mem !== MAP_FAILED, __KVM_SYSCALL_ERROR("mmap()", -1));
  return mem;
}

/**
 * C `kvm_mmap()`.
 *
 * @param size the length
 * @param prot `PROT_*`
 * @param flags `MAP_*`
 * @param fd the fd, or -1
 * @returns the address
 */
export function kvm_mmap(size: number | bigint, prot: number, flags: number, fd: number): bigint {
  return __kvm_mmap(size, prot, flags, fd, 0);
}

// ---------------------------------------------------------------------------
// /dev/kvm and capabilities

/**
 * C `__open_path_or_exit()`: skip the program when the file is missing or
 * not accessible, fail on any other error.
 *
 * @param path the file
 * @param flags `O_*`
 * @param enoent_help the hint printed for ENOENT
 * @returns the fd
 */
export function __open_path_or_exit(path: string, flags: number, enoent_help: string): number {
  const fd = open(path, flags);
  if (fd >= 0) return fd;
  const e = errno_get();
  if (e === EACCES || e === ENOENT) {
    ksft_exit_skip(
      "- Cannot open '%s': %s.  %s\n",
      path,
      strerror(e),
      e === EACCES ? "Root required?" : enoent_help,
    );
  }
  return TEST_FAIL("Failed to open '%s'", path);
}

/**
 * C `open_path_or_exit()`.
 *
 * @param path the file
 * @param flags `O_*`
 * @returns the fd
 */
export function open_path_or_exit(path: string, flags: number): number {
  return __open_path_or_exit(path, flags, "");
}

function _open_kvm_dev_path_or_exit(flags: number): number {
  return __open_path_or_exit(KVM_DEV_PATH, flags, "Is KVM loaded and enabled?");
}

/**
 * C `open_kvm_dev_path_or_exit()`: `/dev/kvm` read-only, or skip the program.
 *
 * @returns the fd
 */
export function open_kvm_dev_path_or_exit(): number {
  return _open_kvm_dev_path_or_exit(O_RDONLY);
}

/**
 * C `kvm_check_cap(cap)`: `KVM_CHECK_EXTENSION` on `/dev/kvm`.
 *
 * @param cap a `KVM_CAP_*`
 * @returns the capability's value (0: absent)
 */
export function kvm_check_cap(cap: number): number {
  const kvm_fd = open_kvm_dev_path_or_exit();
  const ret = __kvm_ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);
  if (ret < 0) TEST_ASSERT(ret >= 0, KVM_IOCTL_ERROR(KVM_CHECK_EXTENSION, ret));
  kvm_free_fd(kvm_fd);
  return ret >>> 0;
}

/**
 * C `kvm_has_cap(cap)`.
 *
 * @param cap a `KVM_CAP_*`
 * @returns whether the host has it
 */
export function kvm_has_cap(cap: number): boolean {
  return kvm_check_cap(cap) !== 0;
}

/**
 * C `vm_check_cap(vm, cap)`: `KVM_CHECK_EXTENSION` on the VM.
 *
 * @param vm the VM
 * @param cap a `KVM_CAP_*`
 * @returns the capability's value
 */
export function vm_check_cap(vm: kvm_vm, cap: number): number {
  const ret = __vm_ioctl(vm, KVM_CHECK_EXTENSION, cap);
  if (ret < 0) {
    __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(0), false, "ret >= 0", "KVM_CHECK_EXTENSION", ret, vm);
  }
  return ret >>> 0;
}

/**
 * C `__vm_enable_cap(vm, cap, arg0)`.
 *
 * @param vm the VM
 * @param cap a `KVM_CAP_*`
 * @param arg0 `args[0]`
 * @returns the ioctl's result
 */
export function __vm_enable_cap(vm: kvm_vm, cap: number, arg0: number | bigint): number {
  const enable_cap = kvm_enable_cap.alloc();
  enable_cap.cap = cap;
  enable_cap.args.set(0, BigInt.asUintN(64, BigInt(arg0)));
  return __vm_ioctl(vm, KVM_ENABLE_CAP, enable_cap);
}

/**
 * C `vm_enable_cap(vm, cap, arg0)`.
 *
 * @param vm the VM
 * @param cap a `KVM_CAP_*`
 * @param arg0 `args[0]`
 */
export function vm_enable_cap(vm: kvm_vm, cap: number, arg0: number | bigint): void {
  const enable_cap = kvm_enable_cap.alloc();
  enable_cap.cap = cap;
  enable_cap.args.set(0, BigInt.asUintN(64, BigInt(arg0)));
  vm_ioctl(vm, KVM_ENABLE_CAP, enable_cap);
}

/**
 * C `vm_create_irqchip(vm)`: an in-kernel irqchip, or the split model when
 * `KVM_CREATE_IRQCHIP` is not available (always for a TD).
 *
 * @param vm the VM
 */
export function vm_create_irqchip(vm: kvm_vm): void {
  const r = __vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0);
  if (r && errno_get() === ENOTTY && kvm_has_cap(KVM_CAP_SPLIT_IRQCHIP)) {
    vm_enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24);
  } else if (r) {
    __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(0), false, "!r", "KVM_CREATE_IRQCHIP", r, vm);
  }
  vm.has_irqchip = true;
}

// ---------------------------------------------------------------------------
// VM creation

/** C `vm_guest_mode_params[]`. */
export const vm_guest_mode_params_table: readonly vm_guest_mode_params[] = [
  { pa_bits: 52, va_bits: 48, page_size: 0x1000, page_shift: 12 },
  { pa_bits: 52, va_bits: 48, page_size: 0x4000, page_shift: 14 },
  { pa_bits: 52, va_bits: 48, page_size: 0x10000, page_shift: 16 },
  { pa_bits: 48, va_bits: 48, page_size: 0x1000, page_shift: 12 },
  { pa_bits: 48, va_bits: 48, page_size: 0x4000, page_shift: 14 },
  { pa_bits: 48, va_bits: 48, page_size: 0x10000, page_shift: 16 },
  { pa_bits: 40, va_bits: 48, page_size: 0x1000, page_shift: 12 },
  { pa_bits: 40, va_bits: 48, page_size: 0x4000, page_shift: 14 },
  { pa_bits: 40, va_bits: 48, page_size: 0x10000, page_shift: 16 },
  { pa_bits: 0, va_bits: 0, page_size: 0x1000, page_shift: 12 },
  { pa_bits: 47, va_bits: 64, page_size: 0x1000, page_shift: 12 },
  { pa_bits: 44, va_bits: 64, page_size: 0x1000, page_shift: 12 },
  { pa_bits: 36, va_bits: 48, page_size: 0x1000, page_shift: 12 },
  { pa_bits: 36, va_bits: 48, page_size: 0x4000, page_shift: 14 },
  { pa_bits: 36, va_bits: 48, page_size: 0x10000, page_shift: 16 },
  { pa_bits: 47, va_bits: 47, page_size: 0x4000, page_shift: 14 },
  { pa_bits: 36, va_bits: 47, page_size: 0x4000, page_shift: 14 },
];

const mode_strings: readonly string[] = [
  "PA-bits:52,  VA-bits:48,  4K pages",
  "PA-bits:52,  VA-bits:48, 16K pages",
  "PA-bits:52,  VA-bits:48, 64K pages",
  "PA-bits:48,  VA-bits:48,  4K pages",
  "PA-bits:48,  VA-bits:48, 16K pages",
  "PA-bits:48,  VA-bits:48, 64K pages",
  "PA-bits:40,  VA-bits:48,  4K pages",
  "PA-bits:40,  VA-bits:48, 16K pages",
  "PA-bits:40,  VA-bits:48, 64K pages",
  "PA-bits:ANY, VA-bits:48 or 57, 4K pages",
  "PA-bits:47,  VA-bits:64,  4K pages",
  "PA-bits:44,  VA-bits:64,  4K pages",
  "PA-bits:36,  VA-bits:48,  4K pages",
  "PA-bits:36,  VA-bits:48, 16K pages",
  "PA-bits:36,  VA-bits:48, 64K pages",
  "PA-bits:47,  VA-bits:47, 16K pages",
  "PA-bits:36,  VA-bits:47, 16K pages",
];

/**
 * C `vm_guest_mode_string(i)`.
 *
 * @param i the mode
 * @returns its description
 */
export function vm_guest_mode_string(i: number): string {
  TEST_ASSERT(i < vm_guest_mode.NUM_VM_MODES, "Guest mode ID %d too big", i);
  return mode_strings[i]!;
}

/** C `vm_open()`: `/dev/kvm`, `KVM_CREATE_VM` and the stats fd. */
function vm_open(vm: kvm_vm): void {
  vm.kvm_fd = _open_kvm_dev_path_or_exit(O_RDWR);
  TEST_REQUIRE(kvm_has_cap(KVM_CAP_IMMEDIATE_EXIT));
  vm.fd = __kvm_ioctl(vm.kvm_fd, KVM_CREATE_VM, vm.type);
  if (vm.fd < 0) TEST_ASSERT(vm.fd >= 0, KVM_IOCTL_ERROR(KVM_CREATE_VM, vm.fd));
  vm.stats_fd = kvm_has_cap(KVM_CAP_BINARY_STATS_FD) ? __vm_ioctl(vm, KVM_GET_STATS_FD, 0) : -1;
}

/**
 * C `vm_populate_gva_bitmap(vm)`: marks the canonical halves of the VA space
 * as usable for `vm_alloc()`.
 *
 * @param vm the VM
 */
export function vm_populate_gva_bitmap(vm: kvm_vm): void {
  const half = (1n << BigInt(vm.va_bits - 1)) >> BigInt(vm.page_shift);
  sparsebit_set_num(vm.vpages_valid, 0n, half);
  const hi = (BigInt.asUintN(64, ~((1n << BigInt(vm.va_bits - 1)) - 1n))) >> BigInt(vm.page_shift);
  sparsebit_set_num(vm.vpages_valid, hi, half);
}

/**
 * C `____vm_create(shape)`: a VM with no memory and no vCPUs.
 *
 * @param shape the VM type and mode
 * @returns the VM
 */
export function ____vm_create(shape: vm_shape): kvm_vm {
  const params = vm_guest_mode_params_table[shape.mode];
  if (!params) TEST_FAIL("Unknown guest mode: 0x%x", shape.mode);
  const vm: kvm_vm = {
    mode: shape.mode,
    type: shape.type,
    kvm_fd: -1,
    fd: -1,
    page_size: params.page_size,
    page_shift: params.page_shift,
    pa_bits: params.pa_bits,
    va_bits: params.va_bits,
    max_gfn: 0n,
    vcpus: [],
    regions: new Map(),
    vpages_valid: sparsebit_alloc(),
    vpages_mapped: sparsebit_alloc(),
    has_irqchip: false,
    ucall_mmio_addr: 0n,
    handlers: 0n,
    gpa_tag_mask: 0n,
    mmu: {
      pgd_created: false,
      pgd: 0n,
      pgtable_levels: 0,
      // Set with the top-level table (virt_arch_pgd_alloc()), as C's zeroed struct is.
      arch: {
        pte_masks: {
          present: 0n,
          writable: 0n,
          user: 0n,
          readable: 0n,
          executable: 0n,
          accessed: 0n,
          dirty: 0n,
          huge: 0n,
          nx: 0n,
          c: 0n,
          s: 0n,
          always_set: 0n,
        },
      },
    },
    arch: {
      gdt: 0n,
      tss: 0n,
      idt: 0n,
      c_bit: 0n,
      s_bit: 0n,
      sev_fd: -1,
      is_pt_protected: false,
    },
    memslots: new Array<number>(kvm_mem_region_type.NR_MEM_REGIONS).fill(0),
    stats_fd: -1,
    image: undefined,
  };

  switch (vm.mode) {
    case vm_guest_mode.VM_MODE_PXXVYY_4K: {
      const widths = kvm_get_cpu_address_width();
      vm.pa_bits = widths.pa_bits;
      vm.va_bits = x86_guest_va_bits(widths.va_bits, widths.va_bits !== 57 || kvm_la57_usable());
      kvm_init_vm_address_properties(vm);
      pr_debug("Guest physical address width detected: %d\n", vm.pa_bits);
      pr_debug("Guest virtual address width detected: %d\n", vm.va_bits);
      if (vm.va_bits === 57) {
        vm.mmu.pgtable_levels = 5;
      } else {
        TEST_ASSERT(vm.va_bits === 48, "Unexpected guest virtual address width: %d", vm.va_bits);
        vm.mmu.pgtable_levels = 4;
      }
      break;
    }
    case vm_guest_mode.VM_MODE_P52V48_4K:
    case vm_guest_mode.VM_MODE_P48V48_4K:
    case vm_guest_mode.VM_MODE_P40V48_4K:
    case vm_guest_mode.VM_MODE_P36V48_4K:
      vm.mmu.pgtable_levels = 4;
      break;
    default:
      TEST_FAIL("Unknown guest mode: 0x%x", vm.mode);
  }

  vm_open(vm);
  vm_populate_gva_bitmap(vm);
  vm.max_gfn = vm_compute_max_gfn(vm);
  live_vms.add(vm);
  return vm;
}

/** 512 PTEs per 4K page table page (C `PTES_PER_MIN_PAGE`). */
const PTES_PER_MIN_PAGE = 512n;

/**
 * C `vm_adjust_num_guest_pages(mode, num)`: the page count rounded so the
 * host backing is whole host pages.
 *
 * @param mode the guest mode
 * @param num_guest_pages the page count
 * @returns the adjusted count
 */
export function vm_adjust_num_guest_pages(mode: vm_guest_mode, num_guest_pages: bigint): bigint {
  const shift = vm_guest_mode_params_table[mode]!.page_shift;
  if (shift >= 12) return num_guest_pages;
  const n = 1n << BigInt(12 - shift);
  return (num_guest_pages + n - 1n) / n * n;
}

function vm_nr_pages_required(
  mode: vm_guest_mode,
  nr_runnable_vcpus: number,
  extra_mem_pages: bigint,
): bigint {
  const page_size = vm_guest_mode_params_table[mode]!.page_size;
  TEST_ASSERT(nr_runnable_vcpus, "Use vm_create_barebones() for VMs that _never_ have vCPUs");
  TEST_ASSERT(
    nr_runnable_vcpus <= kvm_check_cap(KVM_CAP_MAX_VCPUS),
    "nr_vcpus = %d too large for host, max-vcpus = %d",
    nr_runnable_vcpus,
    kvm_check_cap(KVM_CAP_MAX_VCPUS),
  );
  // Slot 0 budget: a fixed 2 MiB for the ELF image and per-VM data, the
  // vCPU stacks, then page tables: with 512 entries a table, mapping N pages
  // needs N/512 + N/512² + ... tables, which 2N/512 bounds. Ucall pages last.
  let nr_pages = 512n;
  nr_pages += BigInt(nr_runnable_vcpus * DEFAULT_STACK_PGS);
  nr_pages += (nr_pages + extra_mem_pages) / PTES_PER_MIN_PAGE * 2n;
  nr_pages += BigInt(ucall_nr_pages_required(page_size));
  return vm_adjust_num_guest_pages(mode, nr_pages);
}

/**
 * C `kvm_set_files_rlimit(nr_vcpus)`: make room for two descriptors per vCPU
 * (the vCPU and its stats fd) plus slack for the test's own files, raising
 * the hard limit too when it is lower; skip when that is not permitted.
 *
 * @param nr_vcpus the number of vCPUs the test will create
 */
export function kvm_set_files_rlimit(nr_vcpus: number): void {
  const nr_fds_wanted = BigInt(nr_vcpus * 2 + 100);
  const rl: rlimit = { rlim_cur: 0n, rlim_max: 0n };
  TEST_ASSERT(!getrlimit(RLIMIT_NOFILE, rl), "getrlimit() failed!");
  if (rl.rlim_cur < nr_fds_wanted) {
    rl.rlim_cur = nr_fds_wanted;
    if (rl.rlim_max < nr_fds_wanted) {
      const old_rlim_max = rl.rlim_max;
      rl.rlim_max = nr_fds_wanted;
      __TEST_REQUIRE(
        setrlimit(RLIMIT_NOFILE, rl) >= 0,
        "RLIMIT_NOFILE hard limit is too low (%d, wanted %d)",
        old_rlim_max,
        nr_fds_wanted,
      );
    } else {
      TEST_ASSERT(!setrlimit(RLIMIT_NOFILE, rl), "setrlimit() failed!");
    }
  }
}

/** C `is_guest_memfd_required(shape)`: CoCo VMs whose private memory must be guest_memfd. */
function is_guest_memfd_required(shape: vm_shape): boolean {
  return shape.type === 4 /* KVM_X86_SNP_VM */ || shape.type === 5 /* KVM_X86_TDX_VM */;
}

/**
 * C `__vm_create(shape, nr_runnable_vcpus, nr_extra_pages)`: a VM with
 * memslot 0, the guest image, the ucall pool and the arch setup, but no vCPUs.
 *
 * @param shape the VM type and mode
 * @param nr_runnable_vcpus how many vCPUs will run (sizes slot 0)
 * @param nr_extra_pages pages the test will add elsewhere (sizes the page tables)
 * @returns the VM
 */
export function __vm_create(
  shape: vm_shape,
  nr_runnable_vcpus: number,
  nr_extra_pages: number | bigint,
): kvm_vm {
  const image = program_invocation_name_deferred();
  const nr_pages = vm_nr_pages_required(shape.mode, nr_runnable_vcpus, BigInt(nr_extra_pages));
  kvm_set_files_rlimit(nr_runnable_vcpus);
  pr_debug(
    "%s: mode='%s' type='%d', pages='%ld'\n",
    "__vm_create",
    vm_guest_mode_string(shape.mode),
    shape.type,
    nr_pages,
  );
  const vm = ____vm_create(shape);

  // CoCo VMs keep their private memory in guest_memfd; slot 0 starts shared
  // so the host can load the image into it before it is converted. The
  // series asks for GUEST_MEMFD_FLAG_INIT_SHARED unconditionally (its target
  // kernel has guest_memfd in-place conversion); a mainline TD accepts no
  // guest_memfd flag, and there unconverted pages are shared anyway (served
  // from userspace_addr), so the flag is passed only where KVM offers it.
  let flags = 0;
  let gmem_flags = 0n;
  if (is_guest_memfd_required(shape)) {
    flags |= KVM_MEM_GUEST_MEMFD;
    gmem_flags = BigInt(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS)) &
      (1n << 1n); // GUEST_MEMFD_FLAG_INIT_SHARED
  }
  vm_mem_add(
    vm,
    vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS,
    0n,
    0,
    nr_pages,
    flags,
    -1,
    0n,
    gmem_flags,
  );
  for (let i = 0; i < kvm_mem_region_type.NR_MEM_REGIONS; i++) vm.memslots[i] = 0;

  kvm_vm_elf_load(vm, image);

  const slot0 = memslot2region(vm, 0);
  ucall_init(vm, slot0.region.guest_phys_addr + slot0.region.memory_size);

  kvm_arch_vm_post_create(vm, nr_runnable_vcpus);
  return vm;
}

/**
 * C `vm_create_barebones()`: only `KVM_CREATE_VM`, for VMs that never run.
 *
 * @returns the VM
 */
export function vm_create_barebones(): kvm_vm {
  return ____vm_create(VM_SHAPE_DEFAULT);
}

/**
 * C `vm_create_barebones_type(type)`.
 *
 * @param type the VM type
 * @returns the VM
 */
export function vm_create_barebones_type(type: number): kvm_vm {
  return ____vm_create({ mode: VM_SHAPE_DEFAULT.mode, type });
}

/**
 * C `vm_create(nr_runnable_vcpus)`.
 *
 * @param nr_runnable_vcpus how many vCPUs will run
 * @returns the VM
 */
export function vm_create(nr_runnable_vcpus: number): kvm_vm {
  return __vm_create(VM_SHAPE_DEFAULT, nr_runnable_vcpus, 0);
}

/**
 * C `__vm_create_with_vcpus(shape, nr_vcpus, extra_mem_pages, guest_code, vcpus)`:
 * the VM, vCPUs 0..n-1 entering `guest_code`, then `kvm_arch_vm_finalize_vcpus`.
 *
 * @param shape the VM type and mode
 * @param nr_vcpus how many vCPUs
 * @param extra_mem_pages pages the test will add elsewhere
 * @param guest_code the entry point, or null
 * @param vcpus the array that receives the vCPUs (C `struct kvm_vcpu *vcpus[]`)
 * @returns the VM
 */
export function __vm_create_with_vcpus(
  shape: vm_shape,
  nr_vcpus: number,
  extra_mem_pages: number | bigint,
  guest_code: guest_code_t | null,
  vcpus: kvm_vcpu[] | null,
): kvm_vm {
  TEST_ASSERT(!nr_vcpus || vcpus, "Must provide vCPU array");
  // A function that can never be guest code is refused before the VM
  // exists, so the TypeError leaves nothing behind to free.
  if (guest_code && nr_vcpus) guest_fn_check(guest_code);
  const vm = __vm_create(shape, nr_vcpus, extra_mem_pages);
  for (let i = 0; i < nr_vcpus; ++i) vcpus![i] = vm_vcpu_add(vm, i, guest_code);
  kvm_arch_vm_finalize_vcpus(vm);
  return vm;
}

/**
 * C `vm_create_with_vcpus(nr_vcpus, guest_code, vcpus)`.
 *
 * @param nr_vcpus how many vCPUs
 * @param guest_code the entry point
 * @param vcpus the array that receives the vCPUs
 * @returns the VM
 */
export function vm_create_with_vcpus(
  nr_vcpus: number,
  guest_code: guest_code_t | null,
  vcpus: kvm_vcpu[],
): kvm_vm {
  return __vm_create_with_vcpus(VM_SHAPE_DEFAULT, nr_vcpus, 0, guest_code, vcpus);
}

/**
 * C `__vm_create_shape_with_one_vcpu(shape, &vcpu, extra_mem_pages, guest_code)`.
 *
 * @param shape the VM type and mode
 * @param vcpu receives the vCPU
 * @param extra_mem_pages pages the test will add elsewhere
 * @param guest_code the entry point
 * @returns the VM
 */
export function __vm_create_shape_with_one_vcpu(
  shape: vm_shape,
  vcpu: Ref<kvm_vcpu>,
  extra_mem_pages: number | bigint,
  guest_code: guest_code_t | null,
): kvm_vm {
  const vcpus: kvm_vcpu[] = [];
  const vm = __vm_create_with_vcpus(shape, 1, extra_mem_pages, guest_code, vcpus);
  vcpu.value = vcpus[0]!;
  return vm;
}

/**
 * C `vm_create_shape_with_one_vcpu(shape, &vcpu, guest_code)`.
 *
 * @param shape the VM type and mode
 * @param vcpu receives the vCPU
 * @param guest_code the entry point
 * @returns the VM
 */
export function vm_create_shape_with_one_vcpu(
  shape: vm_shape,
  vcpu: Ref<kvm_vcpu>,
  guest_code: guest_code_t | null,
): kvm_vm {
  return __vm_create_shape_with_one_vcpu(shape, vcpu, 0, guest_code);
}

/**
 * C `__vm_create_with_one_vcpu(&vcpu, extra_mem_pages, guest_code)`.
 *
 * @param vcpu receives the vCPU
 * @param extra_mem_pages pages the test will add elsewhere
 * @param guest_code the entry point
 * @returns the VM
 */
export function __vm_create_with_one_vcpu(
  vcpu: Ref<kvm_vcpu>,
  extra_mem_pages: number | bigint,
  guest_code: guest_code_t | null,
): kvm_vm {
  return __vm_create_shape_with_one_vcpu(VM_SHAPE_DEFAULT, vcpu, extra_mem_pages, guest_code);
}

/**
 * C `vm_create_with_one_vcpu(&vcpu, guest_code)`.
 *
 * @param vcpu receives the vCPU
 * @param guest_code the entry point
 * @returns the VM
 */
export function vm_create_with_one_vcpu(
  vcpu: Ref<kvm_vcpu>,
  guest_code: guest_code_t | null,
): kvm_vm {
  return __vm_create_with_one_vcpu(vcpu, 0, guest_code);
}

/**
 * C `kvm_vm_restart(vm)`: reopen a released VM and reinstall its memslots.
 *
 * @param vmp the VM
 */
export function kvm_vm_restart(vmp: kvm_vm): void {
  vm_open(vmp);
  if (vmp.has_irqchip) vm_create_irqchip(vmp);
  for (const region of vmp.regions.values()) {
    const ret = ioctl(vmp.fd, KVM_SET_USER_MEMORY_REGION2, region.region);
    TEST_ASSERT(
      ret === 0,
      "KVM_SET_USER_MEMORY_REGION2 IOCTL failed,\n  rc: %i errno: %i\n  slot: %u flags: 0x%x\n  guest_phys_addr: 0x%llx size: 0x%llx",
      ret,
      errno_get(),
      region.region.slot,
      region.region.flags,
      region.region.guest_phys_addr,
      region.region.memory_size,
    );
  }
}

/**
 * C `vm_recreate_with_one_vcpu(vm)`: restart a released VM with vCPU 0.
 *
 * @param vm the VM
 * @returns the vCPU
 */
export function vm_recreate_with_one_vcpu(vm: kvm_vm): kvm_vcpu {
  kvm_vm_restart(vm);
  return vm_vcpu_recreate(vm, 0);
}

/**
 * C `kvm_vm_release(vm)`: close the vCPUs and the VM, keeping the memory.
 *
 * @param vmp the VM
 */
export function kvm_vm_release(vmp: kvm_vm): void {
  for (const vcpu of [...vmp.vcpus]) vm_vcpu_rm(vmp, vcpu);
  kvm_free_fd(vmp.fd);
  kvm_free_fd(vmp.kvm_fd);
  kvm_free_fd(vmp.stats_fd);
  vmp.fd = -1;
  vmp.kvm_fd = -1;
  vmp.stats_fd = -1;
  kvm_arch_vm_release(vmp);
}

function vm_vcpu_rm(vm: kvm_vm, vcpu: kvm_vcpu): void {
  kvm_munmap(vcpu.run_hva, vcpu_mmap_sz());
  kvm_free_fd(vcpu.fd);
  kvm_free_fd(vcpu.stats_fd);
  const i = vm.vcpus.indexOf(vcpu);
  if (i >= 0) vm.vcpus.splice(i, 1);
}

function __vm_mem_region_delete(vm: kvm_vm, region: userspace_mem_region): void {
  vm.regions.delete(region.region.slot);
  region_gpa_forget(vm, region);
  kvm_munmap(region.mmap_start, region.mmap_size);
  if (region.fd >= 0) {
    kvm_munmap(region.mmap_alias, region.mmap_size);
    kvm_free_fd(region.fd);
  }
  if ((region.region.guest_memfd | 0) >= 0) kvm_free_fd(region.region.guest_memfd);
}

// The VMs not yet freed: a process's exit releases them in C; atexit() does
// it here, which matters under deno test, where a test is not a process.
const live_vms = new Set<kvm_vm>();
atexit(() => {
  for (const vm of [...live_vms]) kvm_vm_free(vm);
});

/**
 * C `kvm_vm_free(vm)`: unmap and close everything the VM holds (memslots,
 * guest_memfds, vCPUs and their `kvm_run` mappings, the VM and `/dev/kvm`
 * fds). Closing the last vCPU and VM fds is what ends the simulator's vCPU
 * workers, as it frees a real VM's vCPU state.
 *
 * @param vmp the VM, or null
 */
export function kvm_vm_free(vmp: kvm_vm | null): void {
  if (vmp === null) return;
  live_vms.delete(vmp);
  for (const region of [...vmp.regions.values()]) __vm_mem_region_delete(vmp, region);
  kvm_vm_release(vmp);
}

// ---------------------------------------------------------------------------
// Memory regions

/**
 * The regions' GPA ranges as plain numbers, sorted by start as C's
 * `vm->regions.gpa_tree` is (a region's view would cost a struct access per
 * comparison, and a test with thousands of memslots looks one up for each
 * one it adds).
 */
interface gpa_range_entry {
  start: bigint;
  last: bigint;
  region: userspace_mem_region;
}
const gpa_trees = new WeakMap<kvm_vm, block_list<gpa_range_entry>>();
const gpa_entries = new WeakMap<userspace_mem_region, gpa_range_entry>();

function gpa_tree_of(vm: kvm_vm): block_list<gpa_range_entry> {
  let t = gpa_trees.get(vm);
  if (!t) gpa_trees.set(vm, t = new block_list());
  return t;
}

/** Index of the first entry of `t` whose start is above `start` (ties go right, as C's insert). */
function gpa_tree_upper(t: block_list<gpa_range_entry>, start: bigint): number {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t.get(mid)!.start <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Host views of guest pages the library reads often (page-table pages), per
// VM; any memslot change drops them, as the host memory behind a GPA may move.
const page_views = new WeakMap<kvm_vm, Map<number, DataView>>();
// The last VM's map: a walk asks for four tables in a row of the same VM.
let views_vm: kvm_vm | undefined;
let views_of_vm: Map<number, DataView> | undefined;

/**
 * A view of the host memory behind the 4 KiB guest page that contains
 * `gpa` (no C twin: C dereferences `addr_gpa2hva()`), kept per VM until a
 * memslot changes. The library's page-table walks read through it.
 *
 * @param vm the VM
 * @param gpa a guest-physical address
 * @returns the page's bytes as a DataView
 */
export function vm_gpa_page_view(vm: kvm_vm, gpa: gpa_t): DataView {
  return vm_pfn_page_view(vm, Number((gpa & ~vm.gpa_tag_mask) >> 12n));
}

/**
 * {@linkcode vm_gpa_page_view} by guest frame number (tag bits already
 * stripped): a page-table walk computes frame numbers without bigints.
 *
 * @param vm the VM
 * @param pfn the guest frame number
 * @returns the page's bytes as a DataView
 */
export function vm_pfn_page_view(vm: kvm_vm, pfn: number): DataView {
  let views = views_vm === vm ? views_of_vm : page_views.get(vm);
  if (!views) page_views.set(vm, views = new Map());
  views_vm = vm;
  views_of_vm = views;
  let dv = views.get(pfn);
  if (!dv) {
    const bytes = user_memory(addr_gpa2hva(vm, BigInt(pfn) << 12n), 0x1000);
    dv = new DataView(bytes.buffer, bytes.byteOffset, 0x1000);
    views.set(pfn, dv);
  }
  return dv;
}

function region_gpa_forget(vm: kvm_vm, region: userspace_mem_region): void {
  page_views.delete(vm);
  if (views_vm === vm) views_vm = views_of_vm = undefined;
  const e = gpa_entries.get(region);
  if (!e) return;
  gpa_entries.delete(region);
  const t = gpa_tree_of(vm);
  for (let i = gpa_tree_upper(t, e.start) - 1; i >= 0 && t.get(i)!.start === e.start; i--) {
    if (t.get(i) === e) {
      t.remove(i);
      return;
    }
  }
}

/** Files a region added to `vm.regions` (or moved) in the GPA tree (C `vm_userspace_mem_region_gpa_insert()`). */
function region_gpa_update(vm: kvm_vm, region: userspace_mem_region): void {
  region_gpa_forget(vm, region);
  const start = region.region.guest_phys_addr;
  const e = { start, last: start + region.region.memory_size - 1n, region };
  const t = gpa_tree_of(vm);
  t.insert(gpa_tree_upper(t, start), e);
  gpa_entries.set(region, e);
}

/**
 * C `userspace_mem_region_find(vm, start, end)`: a region overlapping
 * [start, end], found by descending the GPA tree as C does.
 */
export function userspace_mem_region_find(
  vm: kvm_vm,
  start: bigint,
  end: bigint,
): userspace_mem_region | null {
  const t = gpa_tree_of(vm);
  let lo = 0, hi = t.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = t.get(mid)!;
    if (start <= e.last && end >= e.start) return e.region;
    if (start < e.start) hi = mid - 1;
    else lo = mid + 1;
  }
  return null;
}

/**
 * C `__vm_set_user_memory_region()`: the v1 ioctl, raw.
 *
 * @param vm the VM
 * @param slot the slot
 * @param flags `KVM_MEM_*`
 * @param gpa the guest physical base
 * @param size the size
 * @param hva the host address
 * @returns the ioctl's result
 */
export function __vm_set_user_memory_region(
  vm: kvm_vm,
  slot: number,
  flags: number,
  gpa: gpa_t,
  size: bigint,
  hva: hva_t,
): number {
  const region = kvm_userspace_memory_region.alloc();
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = hva;
  return ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION, region);
}

/**
 * C `vm_set_user_memory_region()`.
 *
 * @param vm the VM
 * @param slot the slot
 * @param flags `KVM_MEM_*`
 * @param gpa the guest physical base
 * @param size the size
 * @param hva the host address
 */
export function vm_set_user_memory_region(
  vm: kvm_vm,
  slot: number,
  flags: number,
  gpa: gpa_t,
  size: bigint,
  hva: hva_t,
): void {
  const ret = __vm_set_user_memory_region(vm, slot, flags, gpa, size, hva);
  TEST_ASSERT(
    !ret,
    "KVM_SET_USER_MEMORY_REGION failed, errno = %d (%s)",
    errno_get(),
    strerror(errno_get()),
  );
}

function TEST_REQUIRE_SET_USER_MEMORY_REGION2(): void {
  __TEST_REQUIRE(
    kvm_has_cap(KVM_CAP_USER_MEMORY2),
    "KVM selftests now require KVM_SET_USER_MEMORY_REGION2 (introduced in v6.8)",
  );
}

/**
 * C `__vm_set_user_memory_region2()`: the v2 ioctl, raw.
 *
 * @param vm the VM
 * @param slot the slot
 * @param flags `KVM_MEM_*`
 * @param gpa the guest physical base
 * @param size the size
 * @param hva the host address
 * @param guest_memfd the guest_memfd, or -1
 * @param guest_memfd_offset the offset in it
 * @returns the ioctl's result
 */
export function __vm_set_user_memory_region2(
  vm: kvm_vm,
  slot: number,
  flags: number,
  gpa: gpa_t,
  size: bigint,
  hva: hva_t,
  guest_memfd: number,
  guest_memfd_offset: bigint,
): number {
  const region = kvm_userspace_memory_region2.alloc();
  region.slot = slot;
  region.flags = flags;
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = hva;
  region.guest_memfd = guest_memfd;
  region.guest_memfd_offset = guest_memfd_offset;
  TEST_REQUIRE_SET_USER_MEMORY_REGION2();
  return ioctl(vm.fd, KVM_SET_USER_MEMORY_REGION2, region);
}

/**
 * C `vm_set_user_memory_region2()`.
 *
 * @param vm the VM
 * @param slot the slot
 * @param flags `KVM_MEM_*`
 * @param gpa the guest physical base
 * @param size the size
 * @param hva the host address
 * @param guest_memfd the guest_memfd, or -1
 * @param guest_memfd_offset the offset in it
 */
export function vm_set_user_memory_region2(
  vm: kvm_vm,
  slot: number,
  flags: number,
  gpa: gpa_t,
  size: bigint,
  hva: hva_t,
  guest_memfd: number,
  guest_memfd_offset: bigint,
): void {
  const ret = __vm_set_user_memory_region2(
    vm,
    slot,
    flags,
    gpa,
    size,
    hva,
    guest_memfd,
    guest_memfd_offset,
  );
  TEST_ASSERT(
    !ret,
    "KVM_SET_USER_MEMORY_REGION2 failed, errno = %d (%s)",
    errno_get(),
    strerror(errno_get()),
  );
}

/**
 * C `__vm_create_guest_memfd(vm, size, flags)`.
 *
 * @param vm the VM
 * @param size the size in bytes
 * @param flags `GUEST_MEMFD_FLAG_*`
 * @returns the fd, or -1 with errno
 */
export function __vm_create_guest_memfd(
  vm: kvm_vm,
  size: number | bigint,
  flags: number | bigint,
): number {
  const guest_memfd = kvm_create_guest_memfd.alloc();
  guest_memfd.size = BigInt(size);
  guest_memfd.flags = BigInt(flags);
  return __vm_ioctl(vm, KVM_CREATE_GUEST_MEMFD, guest_memfd);
}

/**
 * C `vm_create_guest_memfd(vm, size, flags)`.
 *
 * @param vm the VM
 * @param size the size in bytes
 * @param flags `GUEST_MEMFD_FLAG_*`
 * @returns the fd
 */
export function vm_create_guest_memfd(
  vm: kvm_vm,
  size: number | bigint,
  flags: number | bigint,
): number {
  const fd = __vm_create_guest_memfd(vm, size, flags);
  if (fd < 0) TEST_ASSERT(fd >= 0, KVM_IOCTL_ERROR(KVM_CREATE_GUEST_MEMFD, fd));
  return fd;
}

/**
 * C `vm_mem_add(vm, src_type, gpa, slot, npages, flags, guest_memfd,
 * guest_memfd_offset, guest_memfd_flags)`: map host memory and install it as
 * memslot `slot`; with `KVM_MEM_GUEST_MEMFD`, create (`guest_memfd < 0`) or
 * dup the guest_memfd behind it. With `GUEST_MEMFD_FLAG_MMAP` the host view of
 * the slot is an mmap of the guest_memfd itself.
 *
 * `VM_MEM_SRC_SHMEM` maps `MAP_SHARED | MAP_ANONYMOUS` memory without an
 * alias: there is no memfd_create() behind the syscall boundary.
 *
 * @param vm the VM
 * @param src_type how the memory is backed
 * @param gpa the guest physical base
 * @param slot the slot number
 * @param npages the size in guest pages
 * @param flags `KVM_MEM_*`
 * @param guest_memfd an existing guest_memfd, or -1 to create one
 * @param guest_memfd_offset the offset in it
 * @param guest_memfd_flags flags for a created guest_memfd
 */
export function vm_mem_add(
  vm: kvm_vm,
  src_type: vm_mem_backing_src_type,
  gpa: gpa_t,
  slot: number,
  npages: number | bigint,
  flags: number,
  guest_memfd: number,
  guest_memfd_offset: number | bigint,
  guest_memfd_flags: number | bigint,
): void {
  const n = BigInt(npages);
  const mem_size = n * BigInt(vm.page_size);
  TEST_REQUIRE_SET_USER_MEMORY_REGION2();
  TEST_ASSERT(
    vm_adjust_num_guest_pages(vm.mode, n) === n,
    "Number of guest pages is not compatible with the host. Try npages=%d",
    vm_adjust_num_guest_pages(vm.mode, n),
  );
  TEST_ASSERT(
    gpa % BigInt(vm.page_size) === 0n,
    "Guest physical address not on a page boundary.\n  gpa: 0x%lx vm->page_size: 0x%x",
    gpa,
    vm.page_size,
  );
  TEST_ASSERT(
    (gpa >> BigInt(vm.page_shift)) + n - 1n <= vm.max_gfn,
    "Physical range beyond maximum supported physical address,\n  gpa: 0x%lx npages: 0x%lx\n  vm->max_gfn: 0x%lx vm->page_size: 0x%x",
    gpa,
    n,
    vm.max_gfn,
    vm.page_size,
  );
  let region = userspace_mem_region_find(vm, gpa, gpa + mem_size - 1n);
  if (region !== null) {
    TEST_FAIL(
      "overlapping userspace_mem_region already exists\n  requested gpa: 0x%lx npages: 0x%lx page_size: 0x%x\n  existing gpa: 0x%lx size: 0x%lx",
      gpa,
      n,
      vm.page_size,
      region.region.guest_phys_addr,
      region.region.memory_size,
    );
  }
  region = vm.regions.get(slot) ?? null;
  if (region !== null) {
    TEST_FAIL(
      "A mem region with the requested slot already exists.\n  requested slot: %u gpa: 0x%lx npages: 0x%lx\n  existing slot: %u gpa: 0x%lx size: 0x%lx",
      slot,
      gpa,
      n,
      region.region.slot,
      region.region.guest_phys_addr,
      region.region.memory_size,
    );
  }

  const gmem_flags = BigInt(guest_memfd_flags);
  let gmem = -1;
  if (flags & KVM_MEM_GUEST_MEMFD) {
    if (guest_memfd < 0) {
      TEST_ASSERT(!BigInt(guest_memfd_offset), "Offset must be zero when creating new guest_memfd");
      gmem = vm_create_guest_memfd(vm, mem_size, gmem_flags);
    } else {
      // dup(): the memslot owns a descriptor of its own and closes it on
      // delete, whatever the caller later does with the one it passed in.
      gmem = kvm_dup(guest_memfd);
    }
  }

  let mmap_start: bigint;
  if ((flags & KVM_MEM_GUEST_MEMFD) && (gmem_flags & GUEST_MEMFD_FLAG_MMAP)) {
    mmap_start = __kvm_mmap(mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, guest_memfd_offset);
  } else {
    const shared = src_type === vm_mem_backing_src_type.VM_MEM_SRC_SHMEM ||
      src_type === vm_mem_backing_src_type.VM_MEM_SRC_SHARED_HUGETLB;
    mmap_start = kvm_mmap(
      mem_size,
      PROT_READ | PROT_WRITE,
      (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS,
      -1,
    );
  }

  const r = kvm_userspace_memory_region2.alloc();
  const created: userspace_mem_region = {
    region: r,
    unused_phy_pages: sparsebit_alloc(),
    protected_phy_pages: vm_arch_has_protected_memory(vm) ? sparsebit_alloc() : null,
    fd: -1,
    offset: 0n,
    backing_src_type: src_type,
    host_mem: mmap_start,
    host_alias: 0n,
    mmap_start,
    mmap_alias: 0n,
    mmap_size: mem_size,
  };
  sparsebit_set_num(created.unused_phy_pages, gpa >> BigInt(vm.page_shift), n);
  r.slot = slot;
  r.flags = flags;
  r.guest_phys_addr = gpa;
  r.memory_size = mem_size;
  r.userspace_addr = mmap_start;
  r.guest_memfd = gmem;
  r.guest_memfd_offset = (flags & KVM_MEM_GUEST_MEMFD) ? BigInt(guest_memfd_offset) : 0n;
  const ret = __vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION2, r);
  TEST_ASSERT(
    ret === 0,
    "KVM_SET_USER_MEMORY_REGION2 IOCTL failed,\n  rc: %i errno: %i\n  slot: %u flags: 0x%x\n  guest_phys_addr: 0x%lx size: 0x%llx guest_memfd: %d",
    ret,
    errno_get(),
    slot,
    flags,
    gpa,
    r.memory_size,
    r.guest_memfd | 0,
  );
  vm.regions.set(slot, created);
  region_gpa_update(vm, created);
}

/**
 * C `vm_userspace_mem_region_add(vm, src_type, gpa, slot, npages, flags)`.
 *
 * @param vm the VM
 * @param src_type how the memory is backed
 * @param gpa the guest physical base
 * @param slot the slot number
 * @param npages the size in guest pages
 * @param flags `KVM_MEM_*`
 */
export function vm_userspace_mem_region_add(
  vm: kvm_vm,
  src_type: vm_mem_backing_src_type,
  gpa: gpa_t,
  slot: number,
  npages: number | bigint,
  flags: number,
): void {
  vm_mem_add(vm, src_type, gpa, slot, npages, flags, -1, 0n, 0n);
}

/**
 * C `vm_override_mem_region(vm, type, src_type, gpa, slot, npages)`: a new
 * memslot that allocations of region `type` come from from now on.
 *
 * @param vm the VM
 * @param type the region type whose slot it becomes
 * @param src_type how the memory is backed
 * @param gpa the guest physical base
 * @param slot the slot number
 * @param npages the size in guest pages
 */
export function vm_override_mem_region(
  vm: kvm_vm,
  type: kvm_mem_region_type,
  src_type: vm_mem_backing_src_type,
  gpa: gpa_t,
  slot: number,
  npages: number | bigint,
): void {
  vm_userspace_mem_region_add(vm, src_type, gpa, slot, npages, 0);
  vm.memslots[type] = slot;
}

/**
 * C `memslot2region(vm, memslot)`.
 *
 * @param vm the VM
 * @param memslot the slot number
 * @returns the region
 */
export function memslot2region(vm: kvm_vm, memslot: number): userspace_mem_region {
  const region = vm.regions.get(memslot);
  if (region) return region;
  fprintf(stderr, "No mem region with the requested slot found,\n  requested slot: %u\n", memslot);
  fputs("---- vm dump ----\n", stderr);
  vm_dump(stderr, vm, 2);
  return TEST_FAIL("Mem region not found");
}

/**
 * C `kvm_slot_to_fd(vm, slot)`: the guest_memfd behind a slot.
 *
 * @param vm the VM
 * @param slot the slot
 * @returns the fd
 */
export function kvm_slot_to_fd(vm: kvm_vm, slot: number): number {
  return memslot2region(vm, slot).region.guest_memfd | 0;
}

/**
 * C `vm_mem_region_set_flags(vm, slot, flags)`.
 *
 * @param vm the VM
 * @param slot the slot
 * @param flags the new `KVM_MEM_*`
 */
export function vm_mem_region_set_flags(vm: kvm_vm, slot: number, flags: number): void {
  const region = memslot2region(vm, slot);
  region.region.flags = flags;
  const ret = __vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION2, region.region);
  TEST_ASSERT(
    ret === 0,
    "KVM_SET_USER_MEMORY_REGION2 IOCTL failed,\n  rc: %i errno: %i slot: %u flags: 0x%x",
    ret,
    errno_get(),
    slot,
    flags,
  );
}

/**
 * C `vm_mem_region_move(vm, slot, new_gpa)`.
 *
 * @param vm the VM
 * @param slot the slot
 * @param new_gpa the new guest physical base
 */
export function vm_mem_region_move(vm: kvm_vm, slot: number, new_gpa: gpa_t): void {
  const region = memslot2region(vm, slot);
  region.region.guest_phys_addr = new_gpa;
  region_gpa_update(vm, region);
  const ret = __vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION2, region.region);
  TEST_ASSERT(
    !ret,
    "KVM_SET_USER_MEMORY_REGION2 failed\nret: %i errno: %i slot: %u new_gpa: 0x%lx",
    ret,
    errno_get(),
    slot,
    new_gpa,
  );
}

/**
 * C `vm_mem_region_delete(vm, slot)`.
 *
 * @param vm the VM
 * @param slot the slot
 */
export function vm_mem_region_delete(vm: kvm_vm, slot: number): void {
  const region = memslot2region(vm, slot);
  region.region.memory_size = 0n;
  vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION2, region.region);
  __vm_mem_region_delete(vm, region);
}

/**
 * C `vm_guest_mem_fallocate(vm, base, size, punch_hole)`: allocate or punch
 * the guest_memfd pages behind a GPA range.
 *
 * @param vm the VM
 * @param base the first GPA
 * @param size the length
 * @param punch_hole punch instead of allocating
 */
export function vm_guest_mem_fallocate(
  vm: kvm_vm,
  base: gpa_t,
  size: bigint,
  punch_hole: boolean,
): void {
  const mode = FALLOC_FL_KEEP_SIZE | (punch_hole ? FALLOC_FL_PUNCH_HOLE : 0);
  const end = base + size;
  for (let gpa = base, len = 0n; gpa < end; gpa += len) {
    const region = userspace_mem_region_find(vm, gpa, gpa);
    TEST_ASSERT(
      region && (region.region.flags & KVM_MEM_GUEST_MEMFD),
      "Private memory region not found for GPA 0x%lx",
      gpa,
    );
    const offset = gpa - region.region.guest_phys_addr;
    const fd_offset = region.region.guest_memfd_offset + offset;
    len = end - gpa < region.region.memory_size - offset
      ? end - gpa
      : region.region.memory_size - offset;
    const ret = fallocate(region.region.guest_memfd | 0, mode, fd_offset, len);
    TEST_ASSERT(
      !ret,
      "fallocate() failed to %s at %lx (len = %lu), fd = %d, mode = %x, offset = %lx",
      punch_hole ? "punch hole" : "allocate",
      gpa,
      len,
      region.region.guest_memfd | 0,
      mode,
      fd_offset,
    );
  }
}

/**
 * C `vm_guest_mem_punch_hole(vm, gpa, size)`.
 *
 * @param vm the VM
 * @param gpa the first GPA
 * @param size the length
 */
export function vm_guest_mem_punch_hole(vm: kvm_vm, gpa: gpa_t, size: bigint): void {
  vm_guest_mem_fallocate(vm, gpa, size, true);
}

/**
 * C `vm_guest_mem_allocate(vm, gpa, size)`.
 *
 * @param vm the VM
 * @param gpa the first GPA
 * @param size the length
 */
export function vm_guest_mem_allocate(vm: kvm_vm, gpa: gpa_t, size: bigint): void {
  vm_guest_mem_fallocate(vm, gpa, size, false);
}

/**
 * C `vm_set_memory_attributes(vm, gpa, size, attributes)`: the VM-wide
 * `KVM_SET_MEMORY_ATTRIBUTES`.
 *
 * @param vm the VM
 * @param gpa the first GPA
 * @param size the length
 * @param attributes 0 or `KVM_MEMORY_ATTRIBUTE_PRIVATE`
 */
export function vm_set_memory_attributes(
  vm: kvm_vm,
  gpa: gpa_t,
  size: bigint,
  attributes: bigint,
): void {
  const attr = kvm_memory_attributes.alloc();
  attr.address = gpa;
  attr.size = size;
  attr.attributes = attributes;
  attr.flags = 0n;
  // The ioctl stores the given mask as the range's complete attribute set,
  // so any bit besides PRIVATE would also rewrite PRIVATE; C refuses it.
  TEST_ASSERT(
    !attributes || attributes === KVM_MEMORY_ATTRIBUTE_PRIVATE,
    "Update me to support multiple attributes!",
  );
  vm_ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, attr);
}

/**
 * C `vm_mem_set_private(vm, gpa, size)`.
 *
 * @param vm the VM
 * @param gpa the first GPA
 * @param size the length
 */
export function vm_mem_set_private(vm: kvm_vm, gpa: gpa_t, size: bigint): void {
  vm_set_memory_attributes(vm, gpa, size, KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

/**
 * C `vm_mem_set_shared(vm, gpa, size)`.
 *
 * @param vm the VM
 * @param gpa the first GPA
 * @param size the length
 */
export function vm_mem_set_shared(vm: kvm_vm, gpa: gpa_t, size: bigint): void {
  vm_set_memory_attributes(vm, gpa, size, 0n);
}

// ---------------------------------------------------------------------------
// Physical and virtual allocation

/**
 * C `__vm_phy_pages_alloc(vm, num, min_gpa, memslot, protected)`: `num`
 * contiguous unused guest pages at or above `min_gpa` in `memslot`.
 *
 * @param vm the VM
 * @param num how many pages
 * @param min_gpa the lowest acceptable GPA
 * @param memslot the slot
 * @param is_protected mark them protected (private)
 * @returns the first GPA
 */
export function __vm_phy_pages_alloc(
  vm: kvm_vm,
  num: number | bigint,
  min_gpa: gpa_t,
  memslot: number,
  is_protected: boolean,
): gpa_t {
  const n = BigInt(num);
  TEST_ASSERT(n > 0n, "Must allocate at least one page");
  TEST_ASSERT(
    min_gpa % BigInt(vm.page_size) === 0n,
    "Min physical address not divisible by page size.\n  min_gpa: 0x%lx page_size: 0x%x",
    min_gpa,
    vm.page_size,
  );
  const region = memslot2region(vm, memslot);
  TEST_ASSERT(
    !is_protected || region.protected_phy_pages,
    "Region doesn't support protected memory",
  );
  let base = min_gpa >> BigInt(vm.page_shift);
  let pg = base;
  do {
    for (; pg < base + n; ++pg) {
      if (!sparsebit_is_set(region.unused_phy_pages, pg)) {
        base = pg = sparsebit_next_set(region.unused_phy_pages, pg);
        break;
      }
    }
  } while (pg && pg !== base + n);
  if (pg === 0n) {
    fprintf(
      stderr,
      "No guest physical page available, min_gpa: 0x%lx page_size: 0x%x memslot: %u\n",
      min_gpa,
      vm.page_size,
      memslot,
    );
    fputs("---- vm dump ----\n", stderr);
    vm_dump(stderr, vm, 2);
    // C abort()s; an assertion failure is the closest end a test can observe.
    TEST_FAIL("No guest physical page available");
  }
  // C clears (and marks protected) page by page: here the same pages as one run.
  sparsebit_clear_num(region.unused_phy_pages, base, n);
  if (is_protected) sparsebit_set_num(region.protected_phy_pages!, base, n);
  return base * BigInt(vm.page_size);
}

/**
 * C `vm_phy_pages_alloc(vm, num, min_gpa, memslot)`: protected by default in
 * a VM with protected memory.
 *
 * @param vm the VM
 * @param num how many pages
 * @param min_gpa the lowest acceptable GPA
 * @param memslot the slot
 * @returns the first GPA
 */
export function vm_phy_pages_alloc(
  vm: kvm_vm,
  num: number | bigint,
  min_gpa: gpa_t,
  memslot: number,
): gpa_t {
  return __vm_phy_pages_alloc(vm, num, min_gpa, memslot, vm_arch_has_protected_memory(vm));
}

/**
 * C `vm_phy_page_alloc(vm, min_gpa, memslot)`.
 *
 * @param vm the VM
 * @param min_gpa the lowest acceptable GPA
 * @param memslot the slot
 * @returns the GPA
 */
export function vm_phy_page_alloc(vm: kvm_vm, min_gpa: gpa_t, memslot: number): gpa_t {
  return vm_phy_pages_alloc(vm, 1, min_gpa, memslot);
}

/**
 * C `vm_alloc_page_table(vm)`: one page-table page from `MEM_REGION_PT`.
 *
 * @param vm the VM
 * @returns its GPA
 */
export function vm_alloc_page_table(vm: kvm_vm): gpa_t {
  return vm_phy_page_alloc(
    vm,
    KVM_GUEST_PAGE_TABLE_MIN_PADDR,
    vm.memslots[kvm_mem_region_type.MEM_REGION_PT]!,
  );
}

/**
 * C `vm_is_gpa_protected(vm, gpa)`.
 *
 * @param vm the VM
 * @param gpa the GPA
 * @returns whether the page was allocated protected
 */
export function vm_is_gpa_protected(vm: kvm_vm, gpa: gpa_t): boolean {
  if (!vm_arch_has_protected_memory(vm)) return false;
  const region = userspace_mem_region_find(vm, gpa, gpa);
  TEST_ASSERT(region, "No vm physical memory at 0x%lx", gpa);
  return sparsebit_is_set(region.protected_phy_pages!, gpa >> BigInt(vm.page_shift));
}

/**
 * C `vm_untag_gpa(vm, gpa)`: strip the C-bit / S-bit.
 *
 * @param vm the VM
 * @param gpa the GPA
 * @returns the untagged GPA
 */
export function vm_untag_gpa(vm: kvm_vm, gpa: gpa_t): gpa_t {
  return gpa & ~vm.gpa_tag_mask;
}

/**
 * C `vm_unused_gva_gap(vm, sz, min_gva)`: the lowest unmapped, canonical GVA
 * range of `sz` bytes at or above `min_gva`.
 *
 * @param vm the VM
 * @param sz the size in bytes
 * @param min_gva the lowest acceptable GVA
 * @returns the GVA
 */
export function vm_unused_gva_gap(vm: kvm_vm, sz: number | bigint, min_gva: gva_t): gva_t {
  const page_size = BigInt(vm.page_size);
  const shift = BigInt(vm.page_shift);
  const pages = (BigInt(sz) + page_size - 1n) >> shift;
  let pgidx_start = (min_gva + page_size - 1n) >> shift;
  found: {
    if (pgidx_start * page_size < min_gva) break found;
    if (!sparsebit_is_set_num(vm.vpages_valid, pgidx_start, pages)) {
      pgidx_start = sparsebit_next_set_num(vm.vpages_valid, pgidx_start, pages);
    }
    do {
      if (sparsebit_is_clear_num(vm.vpages_mapped, pgidx_start, pages)) {
        TEST_ASSERT(
          sparsebit_is_set_num(vm.vpages_valid, pgidx_start, pages),
          "Unexpected, invalid virtual page index range,\n  pgidx_start: 0x%lx\n  pages: 0x%lx",
          pgidx_start,
          pages,
        );
        return pgidx_start * page_size;
      }
      pgidx_start = sparsebit_next_clear_num(vm.vpages_mapped, pgidx_start, pages);
      if (pgidx_start === 0n) break found;
      if (!sparsebit_is_set_num(vm.vpages_valid, pgidx_start, pages)) {
        pgidx_start = sparsebit_next_set_num(vm.vpages_valid, pgidx_start, pages);
        if (pgidx_start === 0n) break found;
      }
    } while (pgidx_start !== 0n);
  }
  return TEST_FAIL("No gva of specified pages available, pages: 0x%lx", pages);
}

/**
 * C `virt_pgd_alloc(vm)`: the top-level page table, once.
 *
 * @param vm the VM
 */
export function virt_pgd_alloc(vm: kvm_vm): void {
  virt_arch_pgd_alloc(vm);
}

/**
 * C `virt_pg_map(vm, gva, gpa)`: map one page and mark the GVA used.
 *
 * @param vm the VM
 * @param gva the guest virtual page
 * @param gpa the guest physical page
 */
export function virt_pg_map(vm: kvm_vm, gva: gva_t, gpa: gpa_t): void {
  virt_arch_pg_map(vm, gva, gpa);
  sparsebit_set(vm.vpages_mapped, gva >> BigInt(vm.page_shift));
}

function ____vm_alloc(
  vm: kvm_vm,
  sz: number | bigint,
  min_gva: gva_t,
  min_gpa: gpa_t,
  type: kvm_mem_region_type,
  is_protected: boolean,
): gva_t {
  const size = BigInt(sz);
  const page_size = BigInt(vm.page_size);
  let pages = (size >> BigInt(vm.page_shift)) + (size % page_size !== 0n ? 1n : 0n);
  virt_pgd_alloc(vm);
  let gpa = __vm_phy_pages_alloc(vm, pages, min_gpa, vm.memslots[type]!, is_protected);
  const gva_start = vm_unused_gva_gap(vm, size, min_gva);
  const nr_pages = pages;
  // C's virt_pg_map() per page; the pages it marks mapped are one run here.
  for (let gva = gva_start; pages > 0n; pages--, gva += page_size, gpa += page_size) {
    virt_arch_pg_map(vm, gva, gpa);
  }
  sparsebit_set_num(vm.vpages_mapped, gva_start >> BigInt(vm.page_shift), nr_pages);
  return gva_start;
}

/**
 * C `__vm_alloc(vm, sz, min_gva, type)`: guest memory mapped at a fresh GVA,
 * protected when the VM has protected memory.
 *
 * @param vm the VM
 * @param sz the size in bytes
 * @param min_gva the lowest acceptable GVA
 * @param type which memslot to allocate from
 * @returns the GVA
 */
export function __vm_alloc(
  vm: kvm_vm,
  sz: number | bigint,
  min_gva: gva_t,
  type: kvm_mem_region_type,
): gva_t {
  const min_gpa = KVM_UTIL_MIN_PFN * BigInt(vm.page_size);
  return ____vm_alloc(vm, sz, min_gva, min_gpa, type, vm_arch_has_protected_memory(vm));
}

/**
 * C `vm_alloc_shared(vm, sz, min_gva, type)`: as `__vm_alloc`, never protected.
 *
 * @param vm the VM
 * @param sz the size in bytes
 * @param min_gva the lowest acceptable GVA
 * @param type which memslot to allocate from
 * @returns the GVA
 */
export function vm_alloc_shared(
  vm: kvm_vm,
  sz: number | bigint,
  min_gva: gva_t,
  type: kvm_mem_region_type,
): gva_t {
  return ____vm_alloc(vm, sz, min_gva, KVM_UTIL_MIN_PFN * BigInt(vm.page_size), type, false);
}

/**
 * C `vm_vaddr_alloc_private(vm, sz, vaddr_min, paddr_min, type)` (the TDX
 * series, v8): protected memory at or above both a chosen GVA and a chosen
 * GPA, for a test that puts its data in a memslot of its own.
 *
 * @param vm the VM
 * @param sz the size in bytes
 * @param vaddr_min the lowest acceptable GVA
 * @param paddr_min the lowest acceptable GPA
 * @param type which memslot to allocate from
 * @returns the GVA
 */
export function vm_vaddr_alloc_private(
  vm: kvm_vm,
  sz: number | bigint,
  vaddr_min: gva_t,
  paddr_min: gpa_t,
  type: kvm_mem_region_type,
): gva_t {
  return ____vm_alloc(vm, sz, vaddr_min, paddr_min, type, true);
}

/**
 * C `vm_alloc(vm, sz, min_gva)`: from `MEM_REGION_TEST_DATA`.
 *
 * @param vm the VM
 * @param sz the size in bytes
 * @param min_gva the lowest acceptable GVA
 * @returns the GVA
 */
export function vm_alloc(vm: kvm_vm, sz: number | bigint, min_gva: gva_t): gva_t {
  return __vm_alloc(vm, sz, min_gva, kvm_mem_region_type.MEM_REGION_TEST_DATA);
}

/**
 * C `vm_alloc_pages(vm, nr_pages)`.
 *
 * @param vm the VM
 * @param nr_pages how many pages
 * @returns the GVA
 */
export function vm_alloc_pages(vm: kvm_vm, nr_pages: number): gva_t {
  return vm_alloc(vm, nr_pages * getpagesize(), KVM_UTIL_MIN_VADDR);
}

/**
 * C `__vm_alloc_page(vm, type)`.
 *
 * @param vm the VM
 * @param type which memslot to allocate from
 * @returns the GVA
 */
export function __vm_alloc_page(vm: kvm_vm, type: kvm_mem_region_type): gva_t {
  return __vm_alloc(vm, getpagesize(), KVM_UTIL_MIN_VADDR, type);
}

/**
 * C `vm_alloc_page(vm)`.
 *
 * @param vm the VM
 * @returns the GVA
 */
export function vm_alloc_page(vm: kvm_vm): gva_t {
  return vm_alloc_pages(vm, 1);
}

/**
 * C `virt_map(vm, gva, gpa, npages)`.
 *
 * @param vm the VM
 * @param gva the first guest virtual page
 * @param gpa the first guest physical page
 * @param npages how many pages
 */
export function virt_map(vm: kvm_vm, gva: gva_t, gpa: gpa_t, npages: number): void {
  const page_size = BigInt(vm.page_size);
  const size = BigInt(npages) * page_size;
  TEST_ASSERT(BigInt.asUintN(64, gva + size) > gva, "Vaddr overflow");
  TEST_ASSERT(BigInt.asUintN(64, gpa + size) > gpa, "Paddr overflow");
  while (npages--) {
    virt_pg_map(vm, gva, gpa);
    gva += page_size;
    gpa += page_size;
  }
}

/**
 * C `virt_pg_map_shared(vm, gva, gpa)` (the TDX series, v8): map one page
 * shared (the leaf PTE gets the S-bit) even when the GPA is protected, so a
 * TD can reach a page it converts at run time without editing its page
 * tables.
 *
 * @param vm the VM
 * @param gva the guest virtual page
 * @param gpa the guest physical page
 */
export function virt_pg_map_shared(vm: kvm_vm, gva: gva_t, gpa: gpa_t): void {
  virt_arch_pg_map_shared(vm, gva, gpa);
}

/**
 * C `virt_map_shared(vm, gva, gpa, npages)` (the TDX series, v8):
 * {@linkcode virt_map}, with shared mappings.
 *
 * @param vm the VM
 * @param gva the first guest virtual page
 * @param gpa the first guest physical page
 * @param npages how many pages
 */
export function virt_map_shared(vm: kvm_vm, gva: gva_t, gpa: gpa_t, npages: number): void {
  const page_size = BigInt(vm.page_size);
  const size = BigInt(npages) * page_size;
  TEST_ASSERT(BigInt.asUintN(64, gva + size) > gva, "Vaddr overflow");
  TEST_ASSERT(BigInt.asUintN(64, gpa + size) > gpa, "Paddr overflow");
  while (npages--) {
    virt_pg_map_shared(vm, gva, gpa);
    sparsebit_set(vm.vpages_mapped, gva >> BigInt(vm.page_shift));
    gva += page_size;
    gpa += page_size;
  }
}

// ---------------------------------------------------------------------------
// Address translation

/**
 * C `addr_gpa2hva(vm, gpa)`.
 *
 * @param vm the VM
 * @param gpa the GPA (tags are stripped)
 * @returns the host address backing it
 */
export function addr_gpa2hva(vm: kvm_vm, gpa: gpa_t): hva_t {
  gpa = vm_untag_gpa(vm, gpa);
  const region = userspace_mem_region_find(vm, gpa, gpa);
  if (!region) return TEST_FAIL("No vm physical memory at 0x%lx", gpa);
  return region.host_mem + (gpa - region.region.guest_phys_addr);
}

/**
 * C `addr_hva2gpa(vm, hva)`.
 *
 * @param vm the VM
 * @param hva a host address inside a memslot's mapping
 * @returns the GPA
 */
export function addr_hva2gpa(vm: kvm_vm, hva: hva_t): gpa_t {
  for (const region of vm.regions.values()) {
    if (hva >= region.host_mem && hva <= region.host_mem + region.region.memory_size - 1n) {
      return region.region.guest_phys_addr + (hva - region.host_mem);
    }
  }
  return TEST_FAIL("No mapping to a guest physical address, hva: %p", hva);
}

/**
 * C `addr_gpa2alias(vm, gpa)`: the alias mapping, or 0 when there is none.
 *
 * @param vm the VM
 * @param gpa the GPA
 * @returns the alias address, or 0
 */
export function addr_gpa2alias(vm: kvm_vm, gpa: gpa_t): hva_t {
  const region = userspace_mem_region_find(vm, gpa, gpa);
  if (!region || !region.host_alias) return 0n;
  return region.host_alias + (gpa - region.region.guest_phys_addr);
}

/**
 * C `addr_gva2gpa(vm, gva)`: walk the guest page tables.
 *
 * @param vm the VM
 * @param gva the GVA
 * @returns the GPA
 */
export function addr_gva2gpa(vm: kvm_vm, gva: gva_t): gpa_t {
  return addr_arch_gva2gpa(vm, gva);
}

/**
 * C `addr_gva2hva(vm, gva)`.
 *
 * @param vm the VM
 * @param gva the GVA
 * @returns the host address backing it
 */
export function addr_gva2hva(vm: kvm_vm, gva: gva_t): hva_t {
  return addr_gpa2hva(vm, addr_gva2gpa(vm, gva));
}

/**
 * Host bytes of guest memory at a GVA, aliasing it (C dereferences the
 * `void *` from `addr_gva2hva`). The range may cross guest pages only when
 * they are contiguous on the host, as within one `vm_alloc`.
 *
 * @param vm the VM
 * @param gva the GVA
 * @param len how many bytes
 * @returns the bytes
 */
export function gva_memory(vm: kvm_vm, gva: gva_t, len: number): Uint8Array {
  return user_memory(addr_gva2hva(vm, gva), len);
}

/**
 * Copy `src` into guest memory at a GVA, page by page (C `memcpy` to
 * `addr_gva2hva()`, which is valid only within a host-contiguous range; this
 * translates every page so it is always valid).
 *
 * @param vm the VM
 * @param gva the destination GVA
 * @param src the bytes
 */
export function memcpy_to_guest(vm: kvm_vm, gva: gva_t, src: Uint8Array): void {
  const page = BigInt(vm.page_size);
  let off = 0;
  while (off < src.length) {
    const addr = gva + BigInt(off);
    const chunk = Math.min(src.length - off, Number(page - (addr % page)));
    user_memory(addr_gva2hva(vm, addr), chunk).set(src.subarray(off, off + chunk));
    off += chunk;
  }
}

/**
 * Copy guest memory at a GVA into `dst`, page by page.
 *
 * @param vm the VM
 * @param dst the destination
 * @param gva the source GVA
 */
export function memcpy_from_guest(vm: kvm_vm, dst: Uint8Array, gva: gva_t): void {
  const page = BigInt(vm.page_size);
  let off = 0;
  while (off < dst.length) {
    const addr = gva + BigInt(off);
    const chunk = Math.min(dst.length - off, Number(page - (addr % page)));
    dst.set(user_memory(addr_gva2hva(vm, addr), chunk), off);
    off += chunk;
  }
}

// ---------------------------------------------------------------------------
// Globals shared with the guest

/**
 * C `sync_global_to_guest(vm, g)`: copy the host's value of a guest global
 * into the VM's copy (the guest reads it from guest memory).
 *
 * @param vm the VM
 * @param g the global
 */
export function sync_global_to_guest<T>(vm: kvm_vm, g: guest_global<T>): void {
  memcpy_to_guest(vm, g.gva, global_read_host(g));
}

/**
 * C `sync_global_from_guest(vm, g)`: copy the VM's value into the host's.
 *
 * @param vm the VM
 * @param g the global
 */
export function sync_global_from_guest<T>(vm: kvm_vm, g: guest_global<T>): void {
  const bytes = new Uint8Array(g.size);
  memcpy_from_guest(vm, bytes, g.gva);
  global_write_host(g, bytes);
}

/**
 * C `write_guest_global(vm, g, val)`: set only the VM's copy.
 *
 * @param vm the VM
 * @param g the global
 * @param val the value
 */
export function write_guest_global<T>(vm: kvm_vm, g: guest_global<T>, val: T): void {
  memcpy_to_guest(vm, g.gva, g.encode(val));
}

/**
 * C `SYNC_FROM_GUEST_AND_READ(vm, g)`.
 *
 * @param vm the VM
 * @param g the global
 * @returns the value read back
 */
export function SYNC_FROM_GUEST_AND_READ<T>(vm: kvm_vm, g: guest_global<T>): T {
  sync_global_from_guest(vm, g);
  return g.value;
}

/**
 * C `WRITE_AND_SYNC_TO_GUEST(vm, g, val)`.
 *
 * @param vm the VM
 * @param g the global
 * @param val the value
 */
export function WRITE_AND_SYNC_TO_GUEST<T>(vm: kvm_vm, g: guest_global<T>, val: T): void {
  g.value = val;
  sync_global_to_guest(vm, g);
}

// ---------------------------------------------------------------------------
// vCPUs

/**
 * C `vcpu_mmap_sz()`: the size of a vCPU's `kvm_run` mapping.
 *
 * @returns the size
 */
export function vcpu_mmap_sz(): number {
  const dev_fd = open_kvm_dev_path_or_exit();
  const ret = ioctl(dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (ret < kvm_run.size) {
    TEST_ASSERT(ret >= 0 && ret >= kvm_run.size, KVM_IOCTL_ERROR(KVM_GET_VCPU_MMAP_SIZE, ret));
  }
  kvm_free_fd(dev_fd);
  return ret;
}

function vcpu_exists(vm: kvm_vm, vcpu_id: number): boolean {
  return vm.vcpus.some((v) => v.id === vcpu_id);
}

/**
 * C `__vm_vcpu_add(vm, vcpu_id)`: `KVM_CREATE_VCPU` and the `kvm_run`
 * mapping, nothing else.
 *
 * @param vm the VM
 * @param vcpu_id the vCPU id
 * @returns the vCPU
 */
export function __vm_vcpu_add(vm: kvm_vm, vcpu_id: number): kvm_vcpu {
  TEST_ASSERT(!vcpu_exists(vm, vcpu_id), "vCPU%d already exists", vcpu_id);
  const fd = __vm_ioctl(vm, KVM_CREATE_VCPU, vcpu_id);
  if (fd < 0) {
    __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(0), false, "vcpu->fd >= 0", "KVM_CREATE_VCPU", fd, vm);
  }
  const size = vcpu_mmap_sz();
  const run_hva = kvm_mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
  const vcpu: kvm_vcpu = {
    id: vcpu_id,
    fd,
    vm,
    run: kvm_run.view(user_memory(run_hva, kvm_run.size)),
    run_hva,
    cpuid: null,
    stats_fd: -1,
  };
  if (kvm_has_cap(KVM_CAP_BINARY_STATS_FD)) vcpu.stats_fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, 0);
  // C list_add(): the newest vCPU is first.
  vm.vcpus.unshift(vcpu);
  return vcpu;
}

/**
 * C `vm_vcpu_add(vm, vcpu_id, guest_code)`: the arch-initialised vCPU,
 * entering `guest_code` (when not null).
 *
 * @param vm the VM
 * @param vcpu_id the vCPU id
 * @param guest_code the entry point, or null
 * @returns the vCPU
 */
export function vm_vcpu_add(
  vm: kvm_vm,
  vcpu_id: number,
  guest_code: guest_code_t | null,
): kvm_vcpu {
  const vcpu = vm_arch_vcpu_add(vm, vcpu_id);
  if (guest_code) vcpu_arch_set_entry_point(vcpu, guest_code);
  return vcpu;
}

/**
 * C `vm_vcpu_recreate(vm, vcpu_id)`.
 *
 * @param vm the VM
 * @param vcpu_id the vCPU id
 * @returns the vCPU
 */
export function vm_vcpu_recreate(vm: kvm_vm, vcpu_id: number): kvm_vcpu {
  return vm_arch_vcpu_recreate(vm, vcpu_id);
}

/**
 * C `__vcpu_run(vcpu)`: one raw `KVM_RUN`.
 *
 * @param vcpu the vCPU
 * @returns the ioctl's result
 */
export function __vcpu_run(vcpu: kvm_vcpu): number {
  return __vcpu_ioctl(vcpu, KVM_RUN, 0);
}

/**
 * C `_vcpu_run(vcpu)`: `KVM_RUN` until it is not interrupted, then turn a
 * guest assertion (`UCALL_ABORT`) into a host failure.
 *
 * @param vcpu the vCPU
 * @returns the ioctl's result
 */
export function _vcpu_run(vcpu: kvm_vcpu): number {
  let rc: number;
  do {
    rc = __vcpu_run(vcpu);
  } while (rc === -1 && errno_get() === EINTR);
  if (!rc) assert_on_unhandled_exception(vcpu);
  return rc;
}

/**
 * C `vcpu_run(vcpu)`: run the vCPU to its next exit to userspace.
 *
 * @param vcpu the vCPU
 */
export function vcpu_run(vcpu: kvm_vcpu): void {
  const ret = _vcpu_run(vcpu);
  if (ret) TEST_ASSERT(!ret, KVM_IOCTL_ERROR(KVM_RUN, ret));
}

/**
 * `__vcpu_run` that lets other vCPUs run while this one is in the guest:
 * where a C test runs each vCPU on its own pthread (`pthread_create` +
 * `vcpu_run` in the thread), a TypeScript test starts several
 * {@linkcode vcpu_run_async} calls and awaits them (`Promise.all` is
 * `pthread_join`). `errno` is per thread in C; here read it right after the
 * `await`, before awaiting anything else.
 *
 * @param vcpu the vCPU
 * @returns the ioctl's result
 */
export function __vcpu_run_async(vcpu: kvm_vcpu): Promise<number> {
  return ioctl_async(vcpu.fd, KVM_RUN, 0);
}

/**
 * `_vcpu_run` for concurrent vCPUs (see {@linkcode __vcpu_run_async}).
 *
 * @param vcpu the vCPU
 * @returns the ioctl's result
 */
export async function _vcpu_run_async(vcpu: kvm_vcpu): Promise<number> {
  let rc: number;
  do {
    rc = await __vcpu_run_async(vcpu);
  } while (rc === -1 && errno_get() === EINTR);
  if (!rc) assert_on_unhandled_exception(vcpu);
  return rc;
}

/**
 * `vcpu_run` for concurrent vCPUs (see {@linkcode __vcpu_run_async}).
 *
 * @param vcpu the vCPU
 */
export async function vcpu_run_async(vcpu: kvm_vcpu): Promise<void> {
  const ret = await _vcpu_run_async(vcpu);
  if (ret) TEST_ASSERT(!ret, KVM_IOCTL_ERROR(KVM_RUN, ret));
}

/**
 * C `vcpu_run_complete_io(vcpu)`: enter with `immediate_exit` so KVM
 * completes a pending I/O or MMIO and returns at once with `EINTR`.
 *
 * @param vcpu the vCPU
 */
export function vcpu_run_complete_io(vcpu: kvm_vcpu): void {
  vcpu.run.immediate_exit = 1;
  const ret = __vcpu_run(vcpu);
  vcpu.run.immediate_exit = 0;
  TEST_ASSERT(
    ret === -1 && errno_get() === EINTR,
    "KVM_RUN IOCTL didn't exit immediately, rc: %i, errno: %i",
    ret,
    errno_get(),
  );
}

/**
 * C `vcpu_regs_get(vcpu, &regs)`.
 *
 * @param vcpu the vCPU
 * @param regs receives the registers
 */
export function vcpu_regs_get(vcpu: kvm_vcpu, regs: View<typeof kvm_regs.fields>): void {
  vcpu_ioctl(vcpu, KVM_GET_REGS, regs);
}

/**
 * C `vcpu_regs_set(vcpu, &regs)`.
 *
 * @param vcpu the vCPU
 * @param regs the registers
 */
export function vcpu_regs_set(vcpu: kvm_vcpu, regs: View<typeof kvm_regs.fields>): void {
  vcpu_ioctl(vcpu, KVM_SET_REGS, regs);
}

/**
 * C `vcpu_mp_state_get(vcpu, &mp_state)`.
 *
 * @param vcpu the vCPU
 * @param mp_state receives the MP state
 */
export function vcpu_mp_state_get(
  vcpu: kvm_vcpu,
  mp_state: View<typeof kvm_mp_state.fields>,
): void {
  vcpu_ioctl(vcpu, KVM_GET_MP_STATE, mp_state);
}

/**
 * C `vcpu_mp_state_set(vcpu, &mp_state)`.
 *
 * @param vcpu the vCPU
 * @param mp_state the MP state
 */
export function vcpu_mp_state_set(
  vcpu: kvm_vcpu,
  mp_state: View<typeof kvm_mp_state.fields>,
): void {
  vcpu_ioctl(vcpu, KVM_SET_MP_STATE, mp_state);
}

/**
 * C `vcpu_sregs_get(vcpu, &sregs)`.
 *
 * @param vcpu the vCPU
 * @param sregs receives the special registers
 */
export function vcpu_sregs_get(vcpu: kvm_vcpu, sregs: View<typeof kvm_sregs.fields>): void {
  vcpu_ioctl(vcpu, KVM_GET_SREGS, sregs);
}

/**
 * C `vcpu_sregs_set(vcpu, &sregs)`.
 *
 * @param vcpu the vCPU
 * @param sregs the special registers
 */
export function vcpu_sregs_set(vcpu: kvm_vcpu, sregs: View<typeof kvm_sregs.fields>): void {
  vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs);
}

/**
 * C `_vcpu_sregs_set(vcpu, &sregs)`: the raw ioctl.
 *
 * @param vcpu the vCPU
 * @param sregs the special registers
 * @returns the ioctl's result
 */
export function _vcpu_sregs_set(vcpu: kvm_vcpu, sregs: View<typeof kvm_sregs.fields>): number {
  return __vcpu_ioctl(vcpu, KVM_SET_SREGS, sregs);
}

// ---------------------------------------------------------------------------
// Exit reasons

const exit_reasons_known: readonly [number, string][] = [
  [KVM_EXIT_UNKNOWN, "UNKNOWN"],
  [KVM_EXIT_EXCEPTION, "EXCEPTION"],
  [KVM_EXIT_IO, "IO"],
  [KVM_EXIT_HYPERCALL, "HYPERCALL"],
  [KVM_EXIT_DEBUG, "DEBUG"],
  [KVM_EXIT_HLT, "HLT"],
  [KVM_EXIT_MMIO, "MMIO"],
  [KVM_EXIT_IRQ_WINDOW_OPEN, "IRQ_WINDOW_OPEN"],
  [KVM_EXIT_SHUTDOWN, "SHUTDOWN"],
  [KVM_EXIT_FAIL_ENTRY, "FAIL_ENTRY"],
  [KVM_EXIT_INTR, "INTR"],
  [KVM_EXIT_SET_TPR, "SET_TPR"],
  [KVM_EXIT_TPR_ACCESS, "TPR_ACCESS"],
  [KVM_EXIT_S390_SIEIC, "S390_SIEIC"],
  [KVM_EXIT_S390_RESET, "S390_RESET"],
  [KVM_EXIT_DCR, "DCR"],
  [KVM_EXIT_NMI, "NMI"],
  [KVM_EXIT_INTERNAL_ERROR, "INTERNAL_ERROR"],
  [KVM_EXIT_OSI, "OSI"],
  [KVM_EXIT_PAPR_HCALL, "PAPR_HCALL"],
  [KVM_EXIT_S390_UCONTROL, "S390_UCONTROL"],
  [KVM_EXIT_WATCHDOG, "WATCHDOG"],
  [KVM_EXIT_S390_TSCH, "S390_TSCH"],
  [KVM_EXIT_EPR, "EPR"],
  [KVM_EXIT_SYSTEM_EVENT, "SYSTEM_EVENT"],
  [KVM_EXIT_S390_STSI, "S390_STSI"],
  [KVM_EXIT_IOAPIC_EOI, "IOAPIC_EOI"],
  [KVM_EXIT_HYPERV, "HYPERV"],
  [KVM_EXIT_ARM_NISV, "ARM_NISV"],
  [KVM_EXIT_X86_RDMSR, "X86_RDMSR"],
  [KVM_EXIT_X86_WRMSR, "X86_WRMSR"],
  [KVM_EXIT_DIRTY_RING_FULL, "DIRTY_RING_FULL"],
  [KVM_EXIT_AP_RESET_HOLD, "AP_RESET_HOLD"],
  [KVM_EXIT_X86_BUS_LOCK, "X86_BUS_LOCK"],
  [KVM_EXIT_XEN, "XEN"],
  [KVM_EXIT_RISCV_SBI, "RISCV_SBI"],
  [KVM_EXIT_RISCV_CSR, "RISCV_CSR"],
  [KVM_EXIT_NOTIFY, "NOTIFY"],
  [KVM_EXIT_LOONGARCH_IOCSR, "LOONGARCH_IOCSR"],
  [KVM_EXIT_MEMORY_FAULT, "MEMORY_FAULT"],
  [KVM_EXIT_ARM_SEA, "ARM_SEA"],
];

/**
 * C `exit_reason_str(exit_reason)`.
 *
 * @param exit_reason a `KVM_EXIT_*`
 * @returns its name without the prefix, or `"Unknown"`
 */
export function exit_reason_str(exit_reason: number): string {
  for (const [reason, name] of exit_reasons_known) if (reason === exit_reason) return name;
  return "Unknown";
}

/**
 * C `TEST_ASSERT_KVM_EXIT_REASON(vcpu, expected)`.
 *
 * @param vcpu the vCPU
 * @param expected the `KVM_EXIT_*` wanted
 */
export function TEST_ASSERT_KVM_EXIT_REASON(vcpu: kvm_vcpu, expected: number): void {
  const exit_reason = vcpu.run.exit_reason;
  if (exit_reason === expected) return;
  const site = callsite(1);
  // C stringizes `exit_reason == (expected)` after expanding the argument, so
  // a KVM_EXIT_* constant (a macro in C) appears as its value.
  const text = arg_text(site, 1, String(expected));
  const shown = /^[A-Z][A-Z0-9_]*$/.test(text) ? String(expected) : text;
  test_assert(
    false,
    `exit_reason == (${shown})`,
    site?.file ?? "?",
    site?.line ?? 0,
    "Wanted KVM exit reason: %u (%s), got: %u (%s)",
    expected,
    exit_reason_str(expected),
    exit_reason,
    exit_reason_str(exit_reason),
  );
}

// ---------------------------------------------------------------------------
// Dump

/**
 * C `vm_dump(stream, vm, indent)`: what the library knows of the VM.
 *
 * @param stream where to print
 * @param vm the VM
 * @param indent the left margin
 */
export function vm_dump(stream: FILE, vm: kvm_vm, indent: number): void {
  const pad = (n: number): string => " ".repeat(n);
  fprintf(stream, "%smode: 0x%x\n", pad(indent), vm.mode);
  fprintf(stream, "%sfd: %i\n", pad(indent), vm.fd);
  fprintf(stream, "%spage_size: 0x%x\n", pad(indent), vm.page_size);
  fprintf(stream, "%sMem Regions:\n", pad(indent));
  for (const region of vm.regions.values()) {
    fprintf(
      stream,
      "%sguest_phys: 0x%lx size: 0x%lx host_virt: %p\n",
      pad(indent + 2),
      region.region.guest_phys_addr,
      region.region.memory_size,
      region.host_mem,
    );
    const runs = (s: typeof region.unused_phy_pages): string =>
      sparsebit_runs(s).map(([a, n]) =>
        n === 1n ? `0x${a.toString(16)}` : `0x${a.toString(16)}:0x${(a + n - 1n).toString(16)}`
      ).join(", ");
    fprintf(stream, "%sunused_phy_pages: %s\n", pad(indent + 2), runs(region.unused_phy_pages));
    if (region.protected_phy_pages) {
      fprintf(
        stream,
        "%sprotected_phy_pages: %s\n",
        pad(indent + 2),
        runs(region.protected_phy_pages),
      );
    }
  }
  fprintf(stream, "%spgd_created: %u\n", pad(indent), vm.mmu.pgd_created ? 1 : 0);
  fprintf(stream, "%sVCPUs:\n", pad(indent));
  for (const vcpu of vm.vcpus) vcpu_dump(stream, vcpu, indent + 2);
}

/**
 * Whether this process's backend can run TypeScript guest code: the
 * simulated CPU (`sim`) runs it directly, the real `/dev/kvm` (`kvm`)
 * through the guest runtime (`lib/x86/guest_runtime.ts`), which executes
 * each intrinsic as the real instruction. No C twin: a C selftest's guest
 * code is machine code and runs everywhere.
 *
 * @returns true on the `sim` and `kvm` backends
 */
export function kvm_can_run_guest_code(): boolean {
  const name = backend().name;
  return name === "sim" || name === "kvm";
}

/**
 * SDK addition: whether TypeScript guest code survives an exception the host
 * injects at an arbitrary entry (KVM_SET_VCPU_EVENTS, `kvm_run.s.regs`
 * events). The simulated CPU delivers it between two intrinsics; the `kvm`
 * backend's guest runtime (lib/x86/guest_runtime.ts) cannot resume a
 * TypeScript frame when the real CPU delivers it inside the runtime's own
 * code, so a test built on such injections skips there.
 *
 * @returns true on the `sim` backend
 */
export function kvm_guest_code_survives_injected_events(): boolean {
  return backend().name === "sim";
}

/**
 * Skip the program, with kselftest's skip line, unless guest code can run
 * (see {@linkcode kvm_can_run_guest_code}). Tests whose every part runs guest
 * code call it first in `main`, where C would have nothing to check.
 */
export function TEST_REQUIRE_GUEST_CODE(): void {
  __TEST_REQUIRE(
    kvm_can_run_guest_code(),
    "TypeScript guest code cannot run on the '%s' backend",
    backend().name,
  );
}

// ---------------------------------------------------------------------------
// kvm_util.h's remaining static inlines and macros (baseline: kvm-x86 next,
// 1a27afa0511e). Each mirrors the C helper's name, arguments and checks.

/**
 * C `__TEST_ASSERT_VM_VCPU_IOCTL(cond, name, ret, vm)`: fail with the ioctl's
 * failure text, or with "KVM killed/bugged the VM" when KVM killed the VM.
 *
 * @param cond the condition that must hold
 * @param name the ioctl's name
 * @param ret the ioctl's result
 * @param vm the VM the ioctl went to
 */
export function __TEST_ASSERT_VM_VCPU_IOCTL(
  cond: boolean,
  name: string,
  ret: number,
  vm: kvm_vm,
): void {
  if (cond) return;
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(1), cond, "cond", name, ret, vm);
}

/**
 * C `static_assert_is_vm(vm)`: C checks the type at compile time; here a
 * `struct kvm_vcpu` passed for a VM throws.
 *
 * @param vm what must be a VM
 */
export function static_assert_is_vm(vm: kvm_vm): void {
  if (!is_vm(vm)) throw new TypeError("static_assert_is_vm: not a struct kvm_vm");
}

/**
 * C `static_assert_is_vcpu(vcpu)`: a VM passed for a vCPU throws.
 *
 * @param vcpu what must be a vCPU
 */
export function static_assert_is_vcpu(vcpu: kvm_vcpu): void {
  if (is_vm(vcpu)) throw new TypeError("static_assert_is_vcpu: not a struct kvm_vcpu");
}

/**
 * C `kvm_do_ioctl(fd, cmd, arg)`: `ioctl()`, after checking (C: at compile
 * time) that a struct argument has the size the ioctl number encodes.
 *
 * @param fd the file descriptor
 * @param cmd the ioctl number
 * @param arg the argument
 * @returns the ioctl's result
 */
export function kvm_do_ioctl(fd: number, cmd: number, arg?: IoctlArg): number {
  const size = _IOC_SIZE(cmd);
  if (size && typeof arg === "object" && arg !== null && "$type" in arg) {
    const t = (arg as { $type: { size: number } }).$type;
    if (t.size !== size) {
      throw new TypeError(
        `kvm_do_ioctl: argument is ${t.size} bytes, ioctl 0x${
          (cmd >>> 0).toString(16)
        } takes ${size}`,
      );
    }
  }
  return ioctl(fd, cmd, arg);
}

/**
 * C `ptes_per_page(page_size)`: 8-byte page-table entries per page on x86.
 *
 * @param page_size the page size
 * @returns entries per page
 */
export function ptes_per_page(page_size: number): number {
  return Math.floor(page_size / 8);
}

/**
 * C `kvm_for_each_vcpu(vm, i, vcpu)`: calls `fn(i, vcpu)` for each vCPU the
 * VM has, in id order.
 *
 * @param vm the VM
 * @param fn the loop body
 */
export function kvm_for_each_vcpu(vm: kvm_vm, fn: (i: number, vcpu: kvm_vcpu) => void): void {
  const vcpus = [...vm.vcpus].sort((a, b) => a.id - b.id);
  for (const vcpu of vcpus) fn(vcpu.id, vcpu);
}

/**
 * C `vm_get_mem_region(vm, type)`: the memslot the VM uses for allocations of
 * `type`.
 *
 * @param vm the VM
 * @param type a `kvm_mem_region_type`
 * @returns the region
 */
export function vm_get_mem_region(vm: kvm_vm, type: kvm_mem_region_type): userspace_mem_region {
  TEST_ASSERT(type < kvm_mem_region_type.NR_MEM_REGIONS, "Invalid memory region type '%u'", type);
  return memslot2region(vm, vm.memslots[type]!);
}

/** C `get_module_param()`: reads `/sys/module/<module>/parameters/<param>`. */
function get_module_param(module_name: string, param: string, buffer_size: number): Uint8Array {
  const path = `/sys/module/${module_name}/parameters/${param}`;
  const fd = open_path_or_exit(path, O_RDONLY);
  const buf = new Uint8Array(buffer_size);
  const bytes_read = read(fd, buf, buffer_size);
  TEST_ASSERT(
    bytes_read > 0,
    "read(%s) returned %ld, wanted %ld bytes",
    path,
    bytes_read,
    buffer_size,
  );
  const r = close(fd);
  TEST_ASSERT(!r, "close(%s) failed", path);
  return buf.subarray(0, bytes_read);
}

/**
 * C `kvm_get_module_param_integer(module_name, param)`.
 *
 * @param module_name `kvm`, `kvm_intel` or `kvm_amd`
 * @param param the parameter
 * @returns its value
 */
export function kvm_get_module_param_integer(module_name: string, param: string): number {
  // C's buffer size: 16 value characters, sysfs's trailing newline, a NUL.
  const value = get_module_param(module_name, param, 16 + 1 + 1);
  const text = new TextDecoder().decode(value);
  TEST_ASSERT(
    text.endsWith("\n"),
    "Expected trailing newline for module param '%s', got '%s'",
    param,
    text,
  );
  return atoi_paranoid(text.slice(0, -1));
}

/**
 * C `kvm_get_module_param_bool(module_name, param)`.
 *
 * @param module_name `kvm`, `kvm_intel` or `kvm_amd`
 * @param param the parameter
 * @returns its value
 */
export function kvm_get_module_param_bool(module_name: string, param: string): boolean {
  const value = get_module_param(module_name, param, 1);
  TEST_ASSERT(value.length === 1, "expected 1 byte of '%s', got %d", param, value.length);
  const c = String.fromCharCode(value[0]!);
  if (c === "Y") return true;
  if (c === "N") return false;
  TEST_FAIL("Unrecognized value '%c' for boolean module param", value[0]!);
}

/**
 * C `get_kvm_param_bool(param)`: a boolean parameter of the `kvm` module.
 *
 * @param param the parameter
 * @returns its value
 */
export function get_kvm_param_bool(param: string): boolean {
  return kvm_get_module_param_bool("kvm", param);
}

/**
 * C `get_kvm_param_integer(param)`: an integer parameter of the `kvm` module.
 *
 * @param param the parameter
 * @returns its value
 */
export function get_kvm_param_integer(param: string): number {
  return kvm_get_module_param_integer("kvm", param);
}

/**
 * C `vm_enable_dirty_ring(vm, ring_size)`: the ACQ_REL ring when KVM has it.
 *
 * @param vm the VM
 * @param ring_size the ring's size in bytes
 */
export function vm_enable_dirty_ring(vm: kvm_vm, ring_size: number): void {
  if (vm_check_cap(vm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL)) {
    vm_enable_cap(vm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL, ring_size);
  } else {
    vm_enable_cap(vm, KVM_CAP_DIRTY_LOG_RING, ring_size);
  }
  vm.dirty_ring_size = ring_size;
}

/**
 * C `kvm_vm_get_dirty_log(vm, slot, log)`: KVM_GET_DIRTY_LOG into `log`, one
 * bit per page of the slot.
 *
 * @param vm the VM
 * @param slot the memslot
 * @param log receives the bitmap
 */
export function kvm_vm_get_dirty_log(vm: kvm_vm, slot: number, log: Pointer): void {
  const args = kvm_dirty_log.alloc();
  args.dirty_bitmap = ptr(log);
  args.slot = slot;
  vm_ioctl(vm, KVM_GET_DIRTY_LOG, args);
}

/**
 * C `kvm_vm_clear_dirty_log(vm, slot, log, first_page, num_pages)`.
 *
 * @param vm the VM
 * @param slot the memslot
 * @param log the bits to clear
 * @param first_page the page bit 0 of `log` stands for
 * @param num_pages how many pages
 */
export function kvm_vm_clear_dirty_log(
  vm: kvm_vm,
  slot: number,
  log: Pointer,
  first_page: bigint | number,
  num_pages: number,
): void {
  const args = kvm_clear_dirty_log.alloc();
  args.dirty_bitmap = ptr(log);
  args.slot = slot;
  args.first_page = BigInt(first_page);
  args.num_pages = num_pages;
  vm_ioctl(vm, KVM_CLEAR_DIRTY_LOG, args);
}

/**
 * C `vcpu_map_dirty_ring(vcpu)`: maps the vCPU's dirty ring (once), after
 * checking that KVM refuses a private and an executable mapping of it.
 *
 * @param vcpu the vCPU of a VM with a dirty ring ({@linkcode vm_enable_dirty_ring})
 * @returns the ring's host address (`struct kvm_dirty_gfn` entries)
 */
export function vcpu_map_dirty_ring(vcpu: kvm_vcpu): bigint {
  const page_size = getpagesize();
  const size = vcpu.vm.dirty_ring_size ?? 0;

  TEST_ASSERT(size > 0, "Should enable dirty ring first");

  if (!vcpu.dirty_gfns) {
    const offset = page_size * KVM_DIRTY_LOG_PAGE_OFFSET;
    let addr = mmap(0n, size, PROT_READ, MAP_PRIVATE, vcpu.fd, offset);
    TEST_ASSERT(addr === MAP_FAILED, "Dirty ring mapped private");

    addr = mmap(0n, size, PROT_READ | PROT_EXEC, MAP_PRIVATE, vcpu.fd, offset);
    TEST_ASSERT(addr === MAP_FAILED, "Dirty ring mapped exec");

    addr = __kvm_mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu.fd, offset);

    vcpu.dirty_gfns = addr;
    vcpu.dirty_gfns_count = size / kvm_dirty_gfn.size;
  }

  return vcpu.dirty_gfns;
}

/**
 * C `kvm_vm_reset_dirty_ring(vm)`: KVM_RESET_DIRTY_RINGS, its raw result.
 *
 * @param vm the VM
 * @returns the number of entries reset, or -1
 */
export function kvm_vm_reset_dirty_ring(vm: kvm_vm): number {
  return __vm_ioctl(vm, KVM_RESET_DIRTY_RINGS, 0);
}

function coalesced_zone(address: bigint, size: bigint | number, pio: boolean) {
  const zone = kvm_coalesced_mmio_zone.alloc();
  zone.addr = address;
  zone.size = Number(size);
  zone.pio = pio ? 1 : 0;
  return zone;
}

/**
 * C `kvm_vm_register_coalesced_io(vm, address, size, pio)`.
 *
 * @param vm the VM
 * @param address the zone's start
 * @param size the zone's length
 * @param pio a port-I/O zone rather than MMIO
 */
export function kvm_vm_register_coalesced_io(
  vm: kvm_vm,
  address: bigint,
  size: bigint | number,
  pio: boolean,
): void {
  vm_ioctl(vm, KVM_REGISTER_COALESCED_MMIO, coalesced_zone(address, size, pio));
}

/**
 * C `kvm_vm_unregister_coalesced_io(vm, address, size, pio)`.
 *
 * @param vm the VM
 * @param address the zone's start
 * @param size the zone's length
 * @param pio a port-I/O zone rather than MMIO
 */
export function kvm_vm_unregister_coalesced_io(
  vm: kvm_vm,
  address: bigint,
  size: bigint | number,
  pio: boolean,
): void {
  vm_ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, coalesced_zone(address, size, pio));
}

/**
 * C `vm_get_stats_fd(vm)`: KVM_GET_STATS_FD on the VM, which must succeed.
 *
 * @param vm the VM
 * @returns the stats fd
 */
export function vm_get_stats_fd(vm: kvm_vm): number {
  const fd = __vm_ioctl(vm, KVM_GET_STATS_FD, 0);
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(1), fd >= 0, "fd >= 0", "KVM_GET_STATS_FD", fd, vm);
  return fd;
}

/**
 * C `vcpu_get_stats_fd(vcpu)`: KVM_GET_STATS_FD on the vCPU.
 *
 * @param vcpu the vCPU
 * @returns the stats fd
 */
export function vcpu_get_stats_fd(vcpu: kvm_vcpu): number {
  const fd = __vcpu_ioctl(vcpu, KVM_GET_STATS_FD, 0);
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(
    callsite(1),
    fd >= 0,
    "fd >= 0",
    "KVM_GET_STATS_FD",
    fd,
    vcpu.vm,
  );
  return fd;
}

/**
 * C `__kvm_irqfd(vm, gsi, eventfd, flags)`: KVM_IRQFD, its raw result.
 *
 * @param vm the VM
 * @param gsi the GSI
 * @param eventfd the eventfd
 * @param flags `KVM_IRQFD_FLAG_*`
 * @returns the ioctl's result
 */
export function __kvm_irqfd(vm: kvm_vm, gsi: number, eventfd: number, flags: number): number {
  const irqfd = kvm_irqfd_struct.alloc();
  irqfd.fd = eventfd;
  irqfd.gsi = gsi;
  irqfd.flags = flags;
  irqfd.resamplefd = 0xffffffff;
  return __vm_ioctl(vm, KVM_IRQFD, irqfd);
}

/**
 * C `kvm_irqfd(vm, gsi, eventfd, flags)`: KVM_IRQFD, which must succeed.
 *
 * @param vm the VM
 * @param gsi the GSI
 * @param eventfd the eventfd
 * @param flags `KVM_IRQFD_FLAG_*`
 */
export function kvm_irqfd(vm: kvm_vm, gsi: number, eventfd: number, flags: number): void {
  const ret = __kvm_irqfd(vm, gsi, eventfd, flags);
  __TEST_ASSERT_VM_VCPU_IOCTL_AT(callsite(1), !ret, "!ret", "KVM_IRQFD", ret, vm);
}

/**
 * C `kvm_assign_irqfd(vm, gsi, eventfd)`.
 *
 * @param vm the VM
 * @param gsi the GSI
 * @param eventfd the eventfd
 */
export function kvm_assign_irqfd(vm: kvm_vm, gsi: number, eventfd: number): void {
  kvm_irqfd(vm, gsi, eventfd, 0);
}

/**
 * C `kvm_deassign_irqfd(vm, gsi, eventfd)`.
 *
 * @param vm the VM
 * @param gsi the GSI
 * @param eventfd the eventfd
 */
export function kvm_deassign_irqfd(vm: kvm_vm, gsi: number, eventfd: number): void {
  kvm_irqfd(vm, gsi, eventfd, KVM_IRQFD_FLAG_DEASSIGN);
}

// --- binary statistics (KVM_GET_STATS_FD) ------------------------------------

/** C `struct kvm_binary_stats`: a stats fd with its header and descriptors, read once. */
export interface kvm_binary_stats {
  /** The stats fd, or -1. */
  fd: number;
  /** The header, once read. */
  header: View<typeof kvm_stats_header.fields> | null;
  /** The descriptors (`header.num_desc` of them, back to back), once read. */
  desc: Uint8Array | null;
}

const binary_stats = new WeakMap<kvm_vm | kvm_vcpu, kvm_binary_stats>();

/** C `&vm->stats` / `&vcpu->stats`: the object's stats, created on first use. */
function stats_of(o: kvm_vm | kvm_vcpu): kvm_binary_stats {
  let s = binary_stats.get(o);
  if (!s || s.fd !== o.stats_fd) {
    s = { fd: o.stats_fd, header: null, desc: null };
    binary_stats.set(o, s);
  }
  return s;
}

/**
 * C `read_stats_header(stats_fd, header)`.
 *
 * @param stats_fd the stats fd
 * @param header receives the header
 */
export function read_stats_header(
  stats_fd: number,
  header: View<typeof kvm_stats_header.fields>,
): void {
  const ret = pread(stats_fd, header, kvm_stats_header.size, 0);
  TEST_ASSERT(
    ret === kvm_stats_header.size,
    "Failed to read '%lu' header bytes, ret = '%ld'",
    kvm_stats_header.size,
    ret,
  );
}

/**
 * C `get_stats_descriptor_size(header)`: a descriptor and its name.
 *
 * @param header the header
 * @returns bytes per descriptor
 */
export function get_stats_descriptor_size(header: View<typeof kvm_stats_header.fields>): number {
  return kvm_stats_desc.size + header.name_size;
}

/**
 * C `read_stats_descriptors(stats_fd, header)`: all descriptors, back to back.
 *
 * @param stats_fd the stats fd
 * @param header its header
 * @returns the descriptors' bytes
 */
export function read_stats_descriptors(
  stats_fd: number,
  header: View<typeof kvm_stats_header.fields>,
): Uint8Array {
  const desc_size = get_stats_descriptor_size(header);
  const total_size = header.num_desc * desc_size;
  const stats_desc = new Uint8Array(total_size);
  const ret = pread(stats_fd, stats_desc, total_size, header.desc_offset);
  TEST_ASSERT(
    ret === total_size,
    "Read KVM stats descriptors",
  );
  return stats_desc;
}

/**
 * C `get_stats_descriptor(stats, index, header)`: descriptor `index`.
 *
 * @param stats the descriptors
 * @param index which one
 * @param header the header
 * @returns a view of the descriptor (its `name` is `header.name_size` bytes)
 */
export function get_stats_descriptor(
  stats: Uint8Array,
  index: number,
  header: View<typeof kvm_stats_header.fields>,
): View<typeof kvm_stats_desc.fields> {
  const off = index * get_stats_descriptor_size(header);
  return kvm_stats_desc.view(stats.subarray(off, off + get_stats_descriptor_size(header)));
}

/** A descriptor's NUL-terminated name. */
function stats_desc_name(
  desc: View<typeof kvm_stats_desc.fields>,
  header: View<typeof kvm_stats_header.fields>,
): string {
  const bytes: number[] = [];
  for (let i = 0; i < header.name_size; i++) {
    const c = desc.name.at(i);
    if (!c) break;
    bytes.push(c);
  }
  return String.fromCharCode(...bytes);
}

/**
 * C `read_stat_data(stats_fd, header, desc, data, max_elements)`: up to
 * `max_elements` of the stat's u64 values.
 *
 * @param stats_fd the stats fd
 * @param header its header
 * @param desc the stat's descriptor
 * @param data receives the values
 * @param max_elements the room in `data`
 */
export function read_stat_data(
  stats_fd: number,
  header: View<typeof kvm_stats_header.fields>,
  desc: View<typeof kvm_stats_desc.fields>,
  data: BigUint64Array,
  max_elements: number,
): void {
  const nr_elements = Math.min(desc.size, max_elements);
  const size = nr_elements * 8;
  TEST_ASSERT(desc.size, "No elements in stat '%s'", stats_desc_name(desc, header));
  TEST_ASSERT(max_elements, "Zero elements requested for stat '%s'", stats_desc_name(desc, header));
  const ret = pread(stats_fd, data, size, header.data_offset + desc.offset);
  TEST_ASSERT(
    ret >= 0,
    "pread() failed on stat '%s', errno: %i (%s)",
    stats_desc_name(desc, header),
    errno_get(),
    strerror(errno_get()),
  );
  TEST_ASSERT(
    ret === size,
    "pread() on stat '%s' read %ld bytes, wanted %lu bytes",
    stats_desc_name(desc, header),
    ret,
    size,
  );
}

/**
 * C `kvm_get_stat(stats, name, data, max_elements)`: the values of the stat
 * called `name`; fails the test when there is none.
 *
 * @param stats the stats (`&vm->stats` is `vm_stats(vm)`)
 * @param name the stat's name
 * @param data receives the values
 * @param max_elements the room in `data`
 */
export function kvm_get_stat(
  stats: kvm_binary_stats,
  name: string,
  data: BigUint64Array,
  max_elements: number,
): void {
  if (!stats.desc || !stats.header) {
    const header = kvm_stats_header.alloc();
    read_stats_header(stats.fd, header);
    stats.header = header;
    stats.desc = read_stats_descriptors(stats.fd, header);
  }
  const header = stats.header!;
  for (let i = 0; i < header.num_desc; i++) {
    const desc = get_stats_descriptor(stats.desc!, i, header);
    if (stats_desc_name(desc, header) !== name) continue;
    read_stat_data(stats.fd, header, desc, data, max_elements);
    return;
  }
  TEST_FAIL("Unable to find stat '%s'", name);
}

/**
 * C `__get_stat(stats, stat)`: one stat's first value.
 *
 * @param stats the stats
 * @param stat the stat's name (C passes the bare identifier)
 * @returns its value
 */
export function __get_stat(stats: kvm_binary_stats, stat: string): bigint {
  const data = new BigUint64Array(1);
  kvm_get_stat(stats, stat, data, 1);
  return data[0]!;
}

/**
 * C `vm_get_stat(vm, stat)`: a VM statistic by name (`vm_get_stat(vm,
 * "pages_4k")` for C's `vm_get_stat(vm, pages_4k)`).
 *
 * @param vm the VM
 * @param stat the stat's name
 * @returns its value
 */
export function vm_get_stat(vm: kvm_vm, stat: string): bigint {
  return __get_stat(stats_of(vm), stat);
}

/**
 * C `vcpu_get_stat(vcpu, stat)`: a vCPU statistic by name.
 *
 * @param vcpu the vCPU
 * @param stat the stat's name
 * @returns its value
 */
export function vcpu_get_stat(vcpu: kvm_vcpu, stat: string): bigint {
  return __get_stat(stats_of(vcpu), stat);
}

// --- SMT ---------------------------------------------------------------------

/**
 * C `read_smt_control(buf, buf_size)`: the host's
 * `/sys/devices/system/cpu/smt/control`, or null when it cannot be read.
 *
 * @returns the file's contents, or null
 */
export function read_smt_control(): string | null {
  try {
    const s = Deno.readTextFileSync("/sys/devices/system/cpu/smt/control");
    return s.length > 0 ? s : null;
  } catch {
    return null;
  }
}

/**
 * C `is_smt_possible()`: false when SMT is forced off or not supported.
 *
 * @returns whether the host may run SMT siblings
 */
export function is_smt_possible(): boolean {
  const buf = read_smt_control();
  if (buf !== null && (buf.startsWith("forceoff") || buf.startsWith("notsupported"))) {
    return false;
  }
  return true;
}

// --- vCPU state wrappers -----------------------------------------------------

/**
 * C `vcpu_enable_cap(vcpu, cap, arg0)`.
 *
 * @param vcpu the vCPU
 * @param cap a `KVM_CAP_*`
 * @param arg0 `args[0]`
 */
export function vcpu_enable_cap(vcpu: kvm_vcpu, cap: number, arg0: number | bigint): void {
  const enable_cap = kvm_enable_cap.alloc();
  enable_cap.cap = cap;
  enable_cap.args.set(0, BigInt.asUintN(64, BigInt(arg0)));
  vcpu_ioctl(vcpu, KVM_ENABLE_CAP, enable_cap);
}

/**
 * C `vcpu_guest_debug_set(vcpu, debug)`.
 *
 * @param vcpu the vCPU
 * @param debug the debug controls
 */
export function vcpu_guest_debug_set(
  vcpu: kvm_vcpu,
  debug: View<typeof kvm_guest_debug.fields>,
): void {
  vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, debug);
}

/**
 * C `vcpu_fpu_get(vcpu, fpu)`.
 *
 * @param vcpu the vCPU
 * @param fpu receives the FPU state
 */
export function vcpu_fpu_get(vcpu: kvm_vcpu, fpu: View<typeof kvm_fpu.fields>): void {
  vcpu_ioctl(vcpu, KVM_GET_FPU, fpu);
}

/**
 * C `vcpu_fpu_set(vcpu, fpu)`.
 *
 * @param vcpu the vCPU
 * @param fpu the FPU state
 */
export function vcpu_fpu_set(vcpu: kvm_vcpu, fpu: View<typeof kvm_fpu.fields>): void {
  vcpu_ioctl(vcpu, KVM_SET_FPU, fpu);
}

/**
 * C `__vcpu_get_reg(vcpu, id, addr)`: KVM_GET_ONE_REG into `addr`.
 *
 * @param vcpu the vCPU
 * @param id the register id
 * @param addr receives the value
 * @returns the ioctl's result
 */
export function __vcpu_get_reg(vcpu: kvm_vcpu, id: bigint, addr: Pointer): number {
  const reg = kvm_one_reg.alloc();
  reg.id = id;
  reg.addr = ptr(addr);
  return __vcpu_ioctl(vcpu, KVM_GET_ONE_REG, reg);
}

/**
 * C `__vcpu_set_reg(vcpu, id, val)`: KVM_SET_ONE_REG.
 *
 * @param vcpu the vCPU
 * @param id the register id
 * @param val the value
 * @returns the ioctl's result
 */
export function __vcpu_set_reg(vcpu: kvm_vcpu, id: bigint, val: bigint): number {
  const v = new BigUint64Array([BigInt.asUintN(64, val)]);
  const reg = kvm_one_reg.alloc();
  reg.id = id;
  reg.addr = ptr(v);
  return __vcpu_ioctl(vcpu, KVM_SET_ONE_REG, reg);
}

/**
 * C `vcpu_get_reg(vcpu, id)`: a register of at most 64 bits.
 *
 * @param vcpu the vCPU
 * @param id the register id
 * @returns the value
 */
export function vcpu_get_reg(vcpu: kvm_vcpu, id: bigint): bigint {
  const v = new BigUint64Array(1);
  TEST_ASSERT(KVM_REG_SIZE(id) <= 8, "Reg %lx too big", id);
  const reg = kvm_one_reg.alloc();
  reg.id = id;
  reg.addr = ptr(v);
  vcpu_ioctl(vcpu, KVM_GET_ONE_REG, reg);
  return v[0]!;
}

/**
 * C `vcpu_set_reg(vcpu, id, val)`.
 *
 * @param vcpu the vCPU
 * @param id the register id
 * @param val the value
 */
export function vcpu_set_reg(vcpu: kvm_vcpu, id: bigint, val: bigint): void {
  const v = new BigUint64Array([BigInt.asUintN(64, val)]);
  TEST_ASSERT(KVM_REG_SIZE(id) <= 8, "Reg %lx too big", id);
  const reg = kvm_one_reg.alloc();
  reg.id = id;
  reg.addr = ptr(v);
  vcpu_ioctl(vcpu, KVM_SET_ONE_REG, reg);
}

/**
 * C `vcpu_get_reg_list(vcpu)`: KVM_GET_REG_LIST, sized by a first call that
 * must fail with E2BIG.
 *
 * @param vcpu the vCPU
 * @returns the list
 */
export function vcpu_get_reg_list(vcpu: kvm_vcpu): View<typeof kvm_reg_list.fields> {
  const reg_list_n = kvm_reg_list.alloc();
  const ret = __vcpu_ioctl(vcpu, KVM_GET_REG_LIST, reg_list_n);
  TEST_ASSERT(ret === -1 && errno_get() === E2BIG, "KVM_GET_REG_LIST n=0");
  const reg_list = kvm_reg_list.alloc(Number(reg_list_n.n));
  reg_list.n = reg_list_n.n;
  vcpu_ioctl(vcpu, KVM_GET_REG_LIST, reg_list);
  return reg_list;
}

/**
 * C `vcpu_events_get(vcpu, events)`.
 *
 * @param vcpu the vCPU
 * @param events receives the pending and injected events
 */
export function vcpu_events_get(vcpu: kvm_vcpu, events: View<typeof kvm_vcpu_events.fields>): void {
  vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, events);
}

/**
 * C `vcpu_events_set(vcpu, events)`.
 *
 * @param vcpu the vCPU
 * @param events the events
 */
export function vcpu_events_set(vcpu: kvm_vcpu, events: View<typeof kvm_vcpu_events.fields>): void {
  vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, events);
}

/**
 * C `vcpu_nested_state_get(vcpu, state)`. Without nested virtualization
 * (the simulated host has none) KVM has no KVM_GET_NESTED_STATE and the test
 * fails with the ioctl's error.
 *
 * @param vcpu the vCPU
 * @param state receives the nested state (`size` set to the room)
 */
export function vcpu_nested_state_get(
  vcpu: kvm_vcpu,
  state: View<typeof kvm_nested_state.fields>,
): void {
  vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, state);
}

/**
 * C `__vcpu_nested_state_set(vcpu, state)`: the raw ioctl.
 *
 * @param vcpu the vCPU
 * @param state the nested state
 * @returns the ioctl's result
 */
export function __vcpu_nested_state_set(
  vcpu: kvm_vcpu,
  state: View<typeof kvm_nested_state.fields>,
): number {
  return __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, state);
}

/**
 * C `vcpu_nested_state_set(vcpu, state)`.
 *
 * @param vcpu the vCPU
 * @param state the nested state
 */
export function vcpu_nested_state_set(
  vcpu: kvm_vcpu,
  state: View<typeof kvm_nested_state.fields>,
): void {
  vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, state);
}

// --- device attributes and devices -------------------------------------------

function device_attr(group: number, attr: bigint | number, val: Pointer | null) {
  const a = kvm_device_attr.alloc();
  a.group = group;
  a.attr = BigInt(attr);
  a.addr = val === null ? 0n : ptr(val);
  return a;
}

/**
 * C `__kvm_has_device_attr(dev_fd, group, attr)`: KVM_HAS_DEVICE_ATTR.
 *
 * @param dev_fd a device, VM, vCPU or system fd
 * @param group the attribute group
 * @param attr the attribute
 * @returns the ioctl's result
 */
export function __kvm_has_device_attr(
  dev_fd: number,
  group: number,
  attr: bigint | number,
): number {
  return ioctl(dev_fd, KVM_HAS_DEVICE_ATTR, device_attr(group, attr, null));
}

/**
 * C `kvm_has_device_attr(dev_fd, group, attr)`: the attribute must exist.
 *
 * @param dev_fd the fd
 * @param group the attribute group
 * @param attr the attribute
 */
export function kvm_has_device_attr(dev_fd: number, group: number, attr: bigint | number): void {
  const ret = __kvm_has_device_attr(dev_fd, group, attr);
  TEST_ASSERT(!ret, "KVM_HAS_DEVICE_ATTR failed, rc: %i errno: %i", ret, errno_get());
}

/**
 * C `__kvm_device_attr_get(dev_fd, group, attr, val)`.
 *
 * @param dev_fd the fd
 * @param group the attribute group
 * @param attr the attribute
 * @param val receives the value
 * @returns the ioctl's result
 */
export function __kvm_device_attr_get(
  dev_fd: number,
  group: number,
  attr: bigint | number,
  val: Pointer,
): number {
  return ioctl(dev_fd, KVM_GET_DEVICE_ATTR, device_attr(group, attr, val));
}

/**
 * C `kvm_device_attr_get(dev_fd, group, attr, val)`.
 *
 * @param dev_fd the fd
 * @param group the attribute group
 * @param attr the attribute
 * @param val receives the value
 */
export function kvm_device_attr_get(
  dev_fd: number,
  group: number,
  attr: bigint | number,
  val: Pointer,
): void {
  const ret = __kvm_device_attr_get(dev_fd, group, attr, val);
  TEST_ASSERT(!ret, __KVM_IOCTL_ERROR("KVM_GET_DEVICE_ATTR", ret));
}

/**
 * C `__kvm_device_attr_set(dev_fd, group, attr, val)`.
 *
 * @param dev_fd the fd
 * @param group the attribute group
 * @param attr the attribute
 * @param val the value
 * @returns the ioctl's result
 */
export function __kvm_device_attr_set(
  dev_fd: number,
  group: number,
  attr: bigint | number,
  val: Pointer,
): number {
  return ioctl(dev_fd, KVM_SET_DEVICE_ATTR, device_attr(group, attr, val));
}

/**
 * C `kvm_device_attr_set(dev_fd, group, attr, val)`.
 *
 * @param dev_fd the fd
 * @param group the attribute group
 * @param attr the attribute
 * @param val the value
 */
export function kvm_device_attr_set(
  dev_fd: number,
  group: number,
  attr: bigint | number,
  val: Pointer,
): void {
  const ret = __kvm_device_attr_set(dev_fd, group, attr, val);
  TEST_ASSERT(!ret, __KVM_IOCTL_ERROR("KVM_SET_DEVICE_ATTR", ret));
}

/**
 * C `__vcpu_has_device_attr(vcpu, group, attr)`.
 *
 * @param vcpu the vCPU
 * @param group the attribute group
 * @param attr the attribute
 * @returns the ioctl's result
 */
export function __vcpu_has_device_attr(
  vcpu: kvm_vcpu,
  group: number,
  attr: bigint | number,
): number {
  return __kvm_has_device_attr(vcpu.fd, group, attr);
}

/**
 * C `vcpu_has_device_attr(vcpu, group, attr)`.
 *
 * @param vcpu the vCPU
 * @param group the attribute group
 * @param attr the attribute
 */
export function vcpu_has_device_attr(vcpu: kvm_vcpu, group: number, attr: bigint | number): void {
  kvm_has_device_attr(vcpu.fd, group, attr);
}

/**
 * C `__vcpu_device_attr_get(vcpu, group, attr, val)`.
 *
 * @param vcpu the vCPU
 * @param group the attribute group
 * @param attr the attribute
 * @param val receives the value
 * @returns the ioctl's result
 */
export function __vcpu_device_attr_get(
  vcpu: kvm_vcpu,
  group: number,
  attr: bigint | number,
  val: Pointer,
): number {
  return __kvm_device_attr_get(vcpu.fd, group, attr, val);
}

/**
 * C `vcpu_device_attr_get(vcpu, group, attr, val)`.
 *
 * @param vcpu the vCPU
 * @param group the attribute group
 * @param attr the attribute
 * @param val receives the value
 */
export function vcpu_device_attr_get(
  vcpu: kvm_vcpu,
  group: number,
  attr: bigint | number,
  val: Pointer,
): void {
  kvm_device_attr_get(vcpu.fd, group, attr, val);
}

/**
 * C `__vcpu_device_attr_set(vcpu, group, attr, val)`.
 *
 * @param vcpu the vCPU
 * @param group the attribute group
 * @param attr the attribute
 * @param val the value
 * @returns the ioctl's result
 */
export function __vcpu_device_attr_set(
  vcpu: kvm_vcpu,
  group: number,
  attr: bigint | number,
  val: Pointer,
): number {
  return __kvm_device_attr_set(vcpu.fd, group, attr, val);
}

/**
 * C `vcpu_device_attr_set(vcpu, group, attr, val)`.
 *
 * @param vcpu the vCPU
 * @param group the attribute group
 * @param attr the attribute
 * @param val the value
 */
export function vcpu_device_attr_set(
  vcpu: kvm_vcpu,
  group: number,
  attr: bigint | number,
  val: Pointer,
): void {
  kvm_device_attr_set(vcpu.fd, group, attr, val);
}

/**
 * C `__kvm_test_create_device(vm, type)`: KVM_CREATE_DEVICE with
 * `KVM_CREATE_DEVICE_TEST`, which only asks whether the type exists.
 *
 * @param vm the VM
 * @param type the device type
 * @returns the ioctl's result
 */
export function __kvm_test_create_device(vm: kvm_vm, type: number): number {
  const create_dev = kvm_create_device_struct.alloc();
  create_dev.type = type;
  create_dev.fd = 0xffffffff;
  create_dev.flags = KVM_CREATE_DEVICE_TEST;
  return __vm_ioctl(vm, KVM_CREATE_DEVICE, create_dev);
}

/**
 * C `__kvm_create_device(vm, type)`: the new device's fd, or the failing
 * ioctl's result.
 *
 * @param vm the VM
 * @param type the device type
 * @returns the device fd, or -1
 */
export function __kvm_create_device(vm: kvm_vm, type: number): number {
  const create_dev = kvm_create_device_struct.alloc();
  create_dev.type = type;
  create_dev.fd = 0xffffffff;
  create_dev.flags = 0;
  const err = __vm_ioctl(vm, KVM_CREATE_DEVICE, create_dev);
  return err ? err : create_dev.fd | 0;
}

/**
 * C `kvm_create_device(vm, type)`: the device must be created.
 *
 * @param vm the VM
 * @param type the device type
 * @returns the device fd
 */
export function kvm_create_device(vm: kvm_vm, type: number): number {
  const fd = __kvm_create_device(vm, type);
  TEST_ASSERT(fd >= 0, __KVM_IOCTL_ERROR("KVM_CREATE_DEVICE", fd));
  return fd;
}

// --- interrupt lines and GSI routing -----------------------------------------

/**
 * C `_kvm_irq_line(vm, irq, level)`: KVM_IRQ_LINE, its raw result.
 *
 * @param vm the VM
 * @param irq the interrupt line
 * @param level its level
 * @returns the ioctl's result
 */
export function _kvm_irq_line(vm: kvm_vm, irq: number, level: number): number {
  const irq_level = kvm_irq_level.alloc();
  irq_level.irq = irq;
  irq_level.level = level;
  return __vm_ioctl(vm, KVM_IRQ_LINE, irq_level);
}

/**
 * C `kvm_irq_line(vm, irq, level)`.
 *
 * @param vm the VM
 * @param irq the interrupt line
 * @param level its level
 */
export function kvm_irq_line(vm: kvm_vm, irq: number, level: number): void {
  const ret = _kvm_irq_line(vm, irq, level);
  TEST_ASSERT(ret >= 0, __KVM_IOCTL_ERROR("KVM_IRQ_LINE", ret));
}

/** C `KVM_MAX_IRQ_ROUTES`. */
export const KVM_MAX_IRQ_ROUTES = 4096;

/**
 * C `kvm_gsi_routing_create()`: an empty table with room for
 * `KVM_MAX_IRQ_ROUTES` entries.
 *
 * @returns the table
 */
export function kvm_gsi_routing_create(): View<typeof kvm_irq_routing.fields> {
  const routing = kvm_irq_routing.alloc(KVM_MAX_IRQ_ROUTES);
  routing.nr = 0;
  return routing;
}

/**
 * C `kvm_gsi_routing_irqchip_add(routing, gsi, pin)`: route `gsi` to pin
 * `pin` of irqchip 0.
 *
 * @param routing the table
 * @param gsi the GSI
 * @param pin the irqchip pin
 */
export function kvm_gsi_routing_irqchip_add(
  routing: View<typeof kvm_irq_routing.fields>,
  gsi: number,
  pin: number,
): void {
  TEST_ASSERT(gsi < KVM_MAX_IRQ_ROUTES, "Too many routes");
  const i = routing.nr;
  const e = routing.entries.at(i);
  e.gsi = gsi;
  e.type = KVM_IRQ_ROUTING_IRQCHIP;
  e.flags = 0;
  e.u.irqchip.irqchip = 0;
  e.u.irqchip.pin = pin;
  routing.nr = i + 1;
}

/**
 * C `_kvm_gsi_routing_write(vm, routing)`: KVM_SET_GSI_ROUTING, its raw
 * result.
 *
 * @param vm the VM
 * @param routing the table
 * @returns the ioctl's result
 */
export function _kvm_gsi_routing_write(
  vm: kvm_vm,
  routing: View<typeof kvm_irq_routing.fields>,
): number {
  return __vm_ioctl(vm, KVM_SET_GSI_ROUTING, routing);
}

/**
 * C `kvm_gsi_routing_write(vm, routing)`.
 *
 * @param vm the VM
 * @param routing the table
 */
export function kvm_gsi_routing_write(
  vm: kvm_vm,
  routing: View<typeof kvm_irq_routing.fields>,
): void {
  const ret = _kvm_gsi_routing_write(vm, routing);
  TEST_ASSERT(!ret, __KVM_IOCTL_ERROR("KVM_SET_GSI_ROUTING", ret));
}

// --- memslots and page counts ------------------------------------------------

/**
 * C `vm_mem_region_reload(vm, slot)`: deletes and re-adds the memslot, so KVM
 * drops everything it derived from it.
 *
 * @param vm the VM
 * @param slot the memslot
 */
export function vm_mem_region_reload(vm: kvm_vm, slot: number): void {
  const region = memslot2region(vm, slot);
  const tmp = kvm_userspace_memory_region2.alloc();
  new Uint8Array(tmp.$buffer, tmp.$offset, kvm_userspace_memory_region2.size).set(
    new Uint8Array(region.region.$buffer, region.region.$offset, kvm_userspace_memory_region2.size),
  );
  tmp.memory_size = 0n;
  vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION2, tmp);
  vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION2, region.region);
}

/** C `vm_calc_num_pages()`: a page count converted between page sizes. */
function vm_calc_num_pages(
  num_pages: number,
  page_shift: number,
  new_page_shift: number,
  ceil: boolean,
): number {
  if (page_shift >= new_page_shift) return num_pages * (1 << (page_shift - new_page_shift));
  const n = 1 << (new_page_shift - page_shift);
  return Math.floor(num_pages / n) + (ceil && num_pages % n ? 1 : 0);
}

/** C `getpageshift()`. */
function getpageshift(): number {
  return 31 - Math.clz32(getpagesize());
}

/**
 * C `vm_num_host_pages(mode, num_guest_pages)`: host pages that hold them
 * (rounded up).
 *
 * @param mode the guest mode
 * @param num_guest_pages guest pages
 * @returns host pages
 */
export function vm_num_host_pages(mode: vm_guest_mode, num_guest_pages: number): number {
  return vm_calc_num_pages(
    num_guest_pages,
    vm_guest_mode_params_table[mode]!.page_shift,
    getpageshift(),
    true,
  );
}

/**
 * C `vm_num_guest_pages(mode, num_host_pages)`: guest pages in them (rounded
 * down).
 *
 * @param mode the guest mode
 * @param num_host_pages host pages
 * @returns guest pages
 */
export function vm_num_guest_pages(mode: vm_guest_mode, num_host_pages: number): number {
  return vm_calc_num_pages(
    num_host_pages,
    getpageshift(),
    vm_guest_mode_params_table[mode]!.page_shift,
    false,
  );
}

/**
 * C `vm_calc_num_guest_pages(mode, size)`: guest pages for `size` bytes,
 * adjusted to whole host pages.
 *
 * @param mode the guest mode
 * @param size bytes
 * @returns guest pages
 */
export function vm_calc_num_guest_pages(mode: vm_guest_mode, size: number | bigint): number {
  const page_size = BigInt(vm_guest_mode_params_table[mode]!.page_size);
  const n = (BigInt(size) + page_size - 1n) / page_size;
  return Number(vm_adjust_num_guest_pages(mode, n));
}

/**
 * C `vm_page_align(vm, v)`: `v` rounded up to the VM's page size.
 *
 * @param vm the VM
 * @param v a size or address
 * @returns the aligned value
 */
export function vm_page_align(vm: kvm_vm, v: bigint | number): bigint {
  const ps = BigInt(vm.page_size);
  return BigInt.asUintN(64, (BigInt(v) + ps - 1n) & ~(ps - 1n));
}

/**
 * C `__vm_disable_nx_huge_pages(vm)`: KVM_CAP_VM_DISABLE_NX_HUGE_PAGES, its
 * raw result (KVM requires CAP_SYS_BOOT or the module parameter).
 *
 * @param vm the VM
 * @returns the ioctl's result
 */
export function __vm_disable_nx_huge_pages(vm: kvm_vm): number {
  return __vm_enable_cap(vm, KVM_CAP_VM_DISABLE_NX_HUGE_PAGES, 0);
}

// --- exit data -------------------------------------------------------------

/**
 * C `(void *)run + run->io.data_offset`: the data of the vCPU's KVM_EXIT_IO
 * exit (`size * count` bytes in the run page), as a little-endian view, so
 * that `*(u32 *)((void *)run + run->io.data_offset)` is
 * `vcpu_io_data(vcpu).getUint32(0, true)`.
 *
 * @param vcpu the vCPU
 * @returns the exit's data
 */
export function vcpu_io_data(vcpu: kvm_vcpu): DataView {
  const io = vcpu.run.io;
  const len = io.size * io.count;
  TEST_ASSERT(
    Number(io.data_offset) + len <= vcpu_mmap_sz(),
    "io.data_offset 0x%x + %u bytes is outside the run mapping",
    io.data_offset,
    len,
  );
  const b = user_memory(vcpu.run_hva + io.data_offset, len);
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * C `run->mmio.data`: the 8 data bytes of the vCPU's KVM_EXIT_MMIO exit, as
 * a little-endian view (`*(u64 *)run->mmio.data = v` is
 * `vcpu_mmio_data(vcpu).setBigUint64(0, v, true)`); `run->mmio.len` says
 * how many of them count.
 *
 * @param vcpu the vCPU
 * @returns the exit's data
 */
export function vcpu_mmio_data(vcpu: kvm_vcpu): DataView {
  const d = vcpu.run.mmio.data.$bytes;
  return new DataView(d.buffer, d.byteOffset, 8);
}

/**
 * C `vcpu_dump(stream, vcpu, indent)`.
 *
 * @param stream where to print
 * @param vcpu the vCPU
 * @param indent the left margin
 */
export function vcpu_dump(stream: FILE, vcpu: kvm_vcpu, indent: number): void {
  vcpu_arch_dump(stream, vcpu, indent);
}

/**
 * C `kvm_new_eventfd()`: a new eventfd (counter 0, no flags); a failing
 * `eventfd()` fails the test with the syscall's errno.
 *
 * @returns the descriptor
 */
export function kvm_new_eventfd(): number {
  const fd = eventfd(0, 0);
  TEST_ASSERT(fd >= 0, __KVM_SYSCALL_ERROR("eventfd()", fd));
  return fd;
}

/**
 * C `for_each_sublist(c, s)`: the sublists of a register list up to the
 * first one without registers (C's terminating entry has `regs == NULL`).
 *
 * @param c the register list
 * @returns the sublists, in order
 */
export function* for_each_sublist(c: vcpu_reg_list): Generator<vcpu_reg_sublist> {
  for (const s of c.sublists) {
    if (!s.regs) return;
    yield s;
  }
}

/**
 * C `virt_dump(stream, vm, indent)`: the VM's guest page tables, as
 * `virt_arch_dump()` prints them.
 *
 * @param stream where to print
 * @param vm the VM
 * @param indent the left margin
 */
export function virt_dump(stream: FILE, vm: kvm_vm, indent: number): void {
  virt_arch_dump(stream, vm, indent);
}
