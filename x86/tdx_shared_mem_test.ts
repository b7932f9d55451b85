// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/x86/tdx_shared_mem_test.c` (the TDX
 * selftest series, v8): a TD and its host exchange data through memory the
 * TD converts to shared.
 *
 * The page is allocated private and mapped a second time, shared (S-bit in
 * the leaf PTE), so the TD need not edit its page tables at run time. The TD
 * asks for the conversion with TDG.VP.VMCALL<MapGPA>; KVM hands it to the
 * host as `KVM_EXIT_HYPERCALL` (`KVM_HC_MAP_GPA_RANGE`), which the library
 * answers with KVM_SET_MEMORY_ATTRIBUTES. Then the TD writes the page and
 * the host reads it, and the other way round.
 *
 * Where the port differs from v8: the TD is built with v13's library
 * (`__vm_create()`, `vm_vcpu_add()`, `kvm_arch_vm_finalize_vcpus()` for
 * v8's `td_create()`, `td_initialize()`, `td_vcpu_add()`, `td_finalize()`);
 * v8's `main()` called `verify_shared_mem()` directly and returned 0 when
 * TDX was missing, here it is a `TEST` and `main()` skips as
 * `tdx_vm_test` does. The progress `printf()`s are left out.
 *
 * @module
 */

import { ksft_main, TEST, test_harness_run } from "../include/kselftest_harness.ts";
import { u64 } from "../include/c/layout.ts";
import { KVM_CAP_EXIT_HYPERCALL } from "../include/linux/kvm.ts";
import { KVM_HC_MAP_GPA_RANGE } from "../include/linux/kvm_para.ts";
import { user_memory } from "../include/libc/syscall.ts";
import { callsite } from "../include/linux/stringify.ts";
import {
  __vm_create,
  addr_gva2gpa,
  addr_gva2hva,
  guest_global,
  kvm_vm_free,
  readq,
  ref,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_REQUIRE,
  virt_map_shared,
  vm_alloc,
  vm_enable_cap,
  vm_vcpu_add,
  writel,
} from "../include/kvm_util.ts";
import { kvm_arch_vm_finalize_vcpus, PAGE_SIZE, VM_SHAPE_TDX } from "../include/x86/processor.ts";
import { is_tdx_supported } from "../include/x86/tdx/tdx_util.ts";
import {
  PORT_WRITE,
  tdx_run,
  tdx_test_assert_io,
  tdx_test_fatal_with_data,
} from "../include/x86/tdx/test_util.ts";
import { tdg_vp_vmcall_instruction_io, tdg_vp_vmcall_map_gpa } from "../lib/x86/tdx/tdx.ts";

const TDX_SHARED_MEM_TEST_PRIVATE_GVA = 0x80000000n;
const TDX_SHARED_MEM_TEST_VADDR_SHARED_MASK = 1n << 30n;
const TDX_SHARED_MEM_TEST_SHARED_GVA = TDX_SHARED_MEM_TEST_PRIVATE_GVA |
  TDX_SHARED_MEM_TEST_VADDR_SHARED_MASK;

const TDX_SHARED_MEM_TEST_GUEST_WRITE_VALUE = 0xcafecafe;
const TDX_SHARED_MEM_TEST_HOST_WRITE_VALUE = 0xabcdabcd;

const TDX_SHARED_MEM_TEST_INFO_PORT = 0x87;

/** C `test_mem_shared_gpa`: the page's GPA with the S-bit, shared with the guest. */
const test_mem_shared_gpa = guest_global("test_mem_shared_gpa", u64);

/** C `__LINE__` at the call: v8 passes it as the fatal error's data, to tell the sites apart. */
function __LINE__(): number {
  return callsite(1)?.line ?? 0;
}

/** Guest entry point. */
export function guest_shared_mem(): void {
  const test_mem_shared_gva = TDX_SHARED_MEM_TEST_SHARED_GVA;
  const placeholder = ref(0n);

  // MapGPA: ask the host to flip the page to shared.
  let ret = tdg_vp_vmcall_map_gpa(test_mem_shared_gpa.value, PAGE_SIZE, placeholder);
  if (ret) tdx_test_fatal_with_data(ret, __LINE__());

  writel(TDX_SHARED_MEM_TEST_GUEST_WRITE_VALUE, test_mem_shared_gva);

  // Hand control back; the host reads the page now.
  ret = tdg_vp_vmcall_instruction_io(TDX_SHARED_MEM_TEST_INFO_PORT, 4, PORT_WRITE, placeholder);
  if (ret) tdx_test_fatal_with_data(ret, __LINE__());

  // Echo the host's value back through the fatal-error data.
  ret = tdg_vp_vmcall_instruction_io(
    TDX_SHARED_MEM_TEST_INFO_PORT,
    4,
    PORT_WRITE,
    ref(readq(test_mem_shared_gva)),
  );
  if (ret) tdx_test_fatal_with_data(ret, __LINE__());
}

TEST("verify_shared_mem", () => {
  const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
  const vcpu = vm_vcpu_add(vm, 0, guest_shared_mem);

  // Allocated private, then mapped again, shared, at another GVA: the TD
  // does not have to remap its page tables at run time.
  const test_mem_private_gva = vm_alloc(vm, vm.page_size, TDX_SHARED_MEM_TEST_PRIVATE_GVA);
  TEST_ASSERT_EQ(test_mem_private_gva, TDX_SHARED_MEM_TEST_PRIVATE_GVA);

  const test_mem_hva = addr_gva2hva(vm, test_mem_private_gva);
  TEST_ASSERT(test_mem_hva, "Guest address not found in guest memory regions\n");
  const hva = () => {
    const b = user_memory(test_mem_hva, 4);
    return new DataView(b.buffer, b.byteOffset, 4);
  };

  const test_mem_private_gpa = addr_gva2gpa(vm, test_mem_private_gva);
  virt_map_shared(vm, TDX_SHARED_MEM_TEST_SHARED_GVA, test_mem_private_gpa, 1);

  test_mem_shared_gpa.value = test_mem_private_gpa | vm.arch.s_bit;
  sync_global_to_guest(vm, test_mem_shared_gpa);

  kvm_arch_vm_finalize_vcpus(vm);

  vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 1n << BigInt(KVM_HC_MAP_GPA_RANGE));

  // The MapGPA exit, which tdx_run() answers.
  tdx_run(vcpu);

  tdx_run(vcpu);
  tdx_test_assert_io(vcpu, TDX_SHARED_MEM_TEST_INFO_PORT, 4, PORT_WRITE);
  TEST_ASSERT_EQ(hva().getUint32(0, true), TDX_SHARED_MEM_TEST_GUEST_WRITE_VALUE);

  hva().setUint32(0, TDX_SHARED_MEM_TEST_HOST_WRITE_VALUE, true);
  tdx_run(vcpu);
  tdx_test_assert_io(vcpu, TDX_SHARED_MEM_TEST_INFO_PORT, 4, PORT_WRITE);
  const io = user_memory(vcpu.run_hva + vcpu.run.io.data_offset, 4);
  TEST_ASSERT_EQ(
    new DataView(io.buffer, io.byteOffset, 4).getUint32(0, true),
    TDX_SHARED_MEM_TEST_HOST_WRITE_VALUE,
  );

  kvm_vm_free(vm);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(is_tdx_supported());

  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
