// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/x86/smaller_maxphyaddr_emulation_test.c`:
 * KVM emulates an instruction that EPT/NPT let through although the guest's
 * own, smaller MAXPHYADDR makes its GPA illegal; `flds` then fails to emulate.
 *
 * Copyright (C) 2020, Google LLC.
 *
 * What differs from C: the guest's `kvm_asm_safe_ec(FLDS_MEM_EAX, ...)` is
 * machine code (the bytes of `flds (%eax)` inside a `KVM_ASM_SAFE` function,
 * `lib/x86/fep.ts`), which the host loads and publishes in a guest global.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import { u64 } from "../include/c/layout.ts";
import {
  addr_gpa2hva,
  get_ucall,
  GUEST_ASSERT,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  guest_global,
  kvm_check_cap,
  kvm_has_cap,
  type kvm_vcpu,
  kvm_vm_free,
  MEM_REGION_TEST_EXTRA,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_FAIL,
  TEST_REQUIRE,
  UCALL_ABORT,
  UCALL_DONE,
  vcpu_run,
  virt_map,
  vm_create_with_one_vcpu,
  vm_enable_cap,
  VM_MEM_SRC_ANONYMOUS,
  vm_override_mem_region,
  vm_phy_pages_alloc,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_EXIT_ON_EMULATION_FAILURE,
  KVM_CAP_SMALLER_MAXPHYADDR,
} from "../include/linux/kvm.ts";
import { PF_VECTOR } from "../include/asm/kvm.ts";
import { user_memory } from "../include/libc/syscall.ts";
import {
  KVM_ASM_SAFE,
  kvm_asm_safe_call,
  kvm_is_tdp_enabled,
  PAGE_SIZE,
  PFERR_RSVD_MASK,
  reg_read,
  vcpu_args_set,
  VCPU_REGS_R10,
  vcpu_set_cpuid_property,
  vm_get_pte,
  vm_load_asm,
  X86_PROPERTY_MAX_PHY_ADDR,
} from "../include/x86/processor.ts";
import { FLDS_MEM_EAX, handle_flds_emulation_failure_exit } from "../include/x86/flds_emulation.ts";

const MAXPHYADDR = 36;

const MEM_REGION_GVA = 0x0000123456789000n;
const MEM_REGION_GPA = 0x0000000700000000n;
const MEM_REGION_SLOT = 10;
const MEM_REGION_SIZE = PAGE_SIZE;

/** Where the host loaded `KVM_ASM_SAFE(FLDS_MEM_EAX)`. */
const flds_safe = guest_global("flds_safe", u64);

/** Guest entry point. */
export function guest_code(tdp_enabled: bigint): void {
  const vector = kvm_asm_safe_call(flds_safe.value, { rax: MEM_REGION_GVA });
  const error_code = reg_read(VCPU_REGS_R10);

  // With TDP, KVM cannot emulate flds and exits; the host steps over it.
  // With shadow paging the reserved GPA bits fault directly: #PF with
  // RSVD set.
  if (tdp_enabled) {
    GUEST_ASSERT(!vector);
  } else {
    GUEST_ASSERT_EQ(vector, PF_VECTOR);
    GUEST_ASSERT(error_code & PFERR_RSVD_MASK);
  }

  GUEST_DONE();
}

function main(): number {
  const vcpu = ref<kvm_vcpu>();
  const uc = new_ucall();

  TEST_REQUIRE(kvm_has_cap(KVM_CAP_SMALLER_MAXPHYADDR));

  const vm = vm_create_with_one_vcpu(vcpu, guest_code);
  vcpu_args_set(vcpu.value, 1, kvm_is_tdp_enabled() ? 1n : 0n);

  vcpu_set_cpuid_property(vcpu.value, X86_PROPERTY_MAX_PHY_ADDR, MAXPHYADDR);

  const rc = kvm_check_cap(KVM_CAP_EXIT_ON_EMULATION_FAILURE);
  TEST_ASSERT(rc, "KVM_CAP_EXIT_ON_EMULATION_FAILURE is unavailable");
  vm_enable_cap(vm, KVM_CAP_EXIT_ON_EMULATION_FAILURE, 1);

  vm_override_mem_region(
    vm,
    MEM_REGION_TEST_EXTRA,
    VM_MEM_SRC_ANONYMOUS,
    MEM_REGION_GPA,
    MEM_REGION_SLOT,
    MEM_REGION_SIZE / PAGE_SIZE,
  );

  const gpa = vm_phy_pages_alloc(vm, MEM_REGION_SIZE / PAGE_SIZE, MEM_REGION_GPA, MEM_REGION_SLOT);
  TEST_ASSERT(gpa === MEM_REGION_GPA, "Failed vm_phy_pages_alloc");
  virt_map(vm, MEM_REGION_GVA, MEM_REGION_GPA, 1);
  user_memory(addr_gpa2hva(vm, MEM_REGION_GPA), PAGE_SIZE).fill(0);

  const pte_bytes = user_memory(vm_get_pte(vm, MEM_REGION_GVA), 8);
  const pte = new DataView(pte_bytes.buffer, pte_bytes.byteOffset, 8);
  pte.setBigUint64(0, pte.getBigUint64(0, true) | (1n << BigInt(MAXPHYADDR)), true);

  flds_safe.value = vm_load_asm(vm, KVM_ASM_SAFE("flds_safe", [FLDS_MEM_EAX])).labels.get(
    "flds_safe",
  )!;
  sync_global_to_guest(vm, flds_safe);

  vcpu_run(vcpu.value);

  // Under TDP the hardware accepts a GPA the guest's MAXPHYADDR forbids,
  // so KVM has to emulate the access; it has no flds emulation and reports
  // an emulation failure.
  if (kvm_is_tdp_enabled()) {
    handle_flds_emulation_failure_exit(vcpu.value);
    vcpu_run(vcpu.value);
  }

  switch (get_ucall(vcpu.value, uc)) {
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      break;
    case UCALL_DONE:
      break;
    default:
      TEST_FAIL("Unrecognized ucall: %lu", uc.cmd);
  }

  kvm_vm_free(vm);

  return 0;
}

await ksft_main(import.meta, main);
