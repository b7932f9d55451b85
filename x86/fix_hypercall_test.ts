// SPDX-License-Identifier: GPL-2.0-only
/**
 * Tests for KVM's patching of the "other" vendor's hypercall instruction
 * (KVM_X86_QUIRK_FIX_HYPERCALL_INSN): port of
 * `tools/testing/selftests/kvm/x86/fix_hypercall_test.c`.
 *
 * Copyright (C) 2020, Google LLC.
 *
 * `do_sched_yield()`'s inline asm (`hypercall_insn:` three placeholder bytes
 * with RAX = KVM_HC_SCHED_YIELD, RBX = the APIC ID) is machine code the host
 * assembles into guest memory with `vm_load_asm()`; the guest copies the
 * non-native hypercall over the placeholder and calls it, as the C guest
 * does. Otherwise a line-for-line port.
 *
 * @module
 */

import { ksft_main, test_harness_run } from "../include/kselftest_harness.ts";
import { KVM_ONE_VCPU_TEST, KVM_ONE_VCPU_TEST_SUITE } from "../include/kvm_test_harness.ts";
import {
  exit_reason_str,
  get_ucall,
  GUEST_ASSERT,
  GUEST_DONE,
  guest_global,
  kvm_check_cap,
  type kvm_vcpu,
  new_ucall,
  pr_info,
  REPORT_GUEST_ASSERT,
  sync_global_to_guest,
  TEST_FAIL,
  TEST_REQUIRE,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run,
  virt_pg_map,
  vm_enable_cap,
} from "../include/kvm_util.ts";
import { KVM_CAP_DISABLE_QUIRKS2 } from "../include/linux/kvm.ts";
import { KVM_X86_QUIRK_FIX_HYPERCALL_INSN, UD_VECTOR } from "../include/asm/kvm.ts";
import { KVM_HC_SCHED_YIELD } from "../include/linux/kvm_para.ts";
import { EFAULT } from "../include/linux/errno.ts";
import {
  APIC_DEFAULT_GPA,
  APIC_ID,
  GET_APIC_ID_FIELD,
  xapic_read_reg,
} from "../include/x86/apic.ts";
import {
  type ex_regs_view,
  guest_call,
  host_cpu_is_amd_compatible,
  host_cpu_is_intel,
  vm_install_exception_handler,
} from "../include/x86/processor.ts";
import { vm_load_asm } from "../lib/x86/fep.ts";
import { guest_read, memcpy } from "../lib/guest_memory.ts";
import { u64, u8 } from "../include/c/layout.ts";
import { c_str } from "../include/kvm_util.ts";

/** VMCALL and VMMCALL are both 3-byte opcodes. */
const HYPERCALL_INSN_SIZE = 3;

const quirk_disabled = guest_global("quirk_disabled", u8);

/** Guest #UD handler: the unpatched hypercall "returns" -EFAULT. */
export function guest_ud_handler(regs: ex_regs_view): void {
  regs.rax = BigInt.asUintN(64, BigInt(-EFAULT));
  regs.rip += BigInt(HYPERCALL_INSN_SIZE);
}

const vmx_vmcall = [0x0f, 0x01, 0xc1];
const svm_vmmcall = [0x0f, 0x01, 0xd9];

/** The GVAs of the assembled `do_sched_yield` and its `hypercall_insn` label. */
const do_sched_yield_gva = guest_global("do_sched_yield", u64);
const hypercall_insn = guest_global("hypercall_insn", u64);
/** The bytes the guest copies over `hypercall_insn` (a guest buffer). */
const other_insn = guest_global("other_hypercall_insn", u64);

function do_sched_yield(apic_id: number): bigint {
  return guest_call(do_sched_yield_gva.value, BigInt(apic_id)) as bigint;
}

function same_bytes(gva: bigint, want: readonly number[]): boolean {
  const b = guest_read(gva, HYPERCALL_INSN_SIZE);
  return want.every((x, i) => b[i] === x);
}

/** Guest entry point. */
export function guest_main(): void {
  let native_hypercall_insn: readonly number[];
  let other_hypercall_insn: readonly number[];

  if (host_cpu_is_intel.value) {
    native_hypercall_insn = vmx_vmcall;
    other_hypercall_insn = svm_vmmcall;
  } else if (host_cpu_is_amd_compatible.value) {
    native_hypercall_insn = svm_vmmcall;
    other_hypercall_insn = vmx_vmcall;
  } else {
    GUEST_ASSERT(0);
    // the quirk setting is always one of the two cases above
    return;
  }

  // The guest's copy of the other vendor's opcode lives in guest memory.
  const src = other_insn.value + (other_hypercall_insn === vmx_vmcall ? 0n : 4n);
  memcpy(hypercall_insn.value, src, HYPERCALL_INSN_SIZE);

  const ret = do_sched_yield(GET_APIC_ID_FIELD(xapic_read_reg(APIC_ID)));

  // Quirk off: the foreign opcode #UDs, guest_ud_handler() supplies -EFAULT
  // and the bytes stay untouched. Quirk on: KVM rewrites them to this
  // vendor's instruction and the call succeeds.
  if (quirk_disabled.value) {
    GUEST_ASSERT(ret === BigInt.asUintN(64, BigInt(-EFAULT)));
    GUEST_ASSERT(same_bytes(hypercall_insn.value, other_hypercall_insn));
  } else {
    GUEST_ASSERT(!ret);
    GUEST_ASSERT(same_bytes(hypercall_insn.value, native_hypercall_insn));
  }

  GUEST_DONE();
}

const fix_hypercall = KVM_ONE_VCPU_TEST_SUITE("fix_hypercall");

function enter_guest(vcpu: kvm_vcpu): void {
  const run = vcpu.run;
  const uc = new_ucall();

  vcpu_run(vcpu);
  switch (get_ucall(vcpu, uc)) {
    case UCALL_SYNC:
      pr_info("%s: %016lx\n", c_str(uc.args.at(2)), uc.args.at(3));
      break;
    case UCALL_DONE:
      return;
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      // falls through
    default:
      TEST_FAIL(
        "Unhandled ucall: %ld\nexit_reason: %u (%s)",
        uc.cmd,
        run.exit_reason,
        exit_reason_str(run.exit_reason),
      );
  }
}

function test_fix_hypercall(vcpu: kvm_vcpu, disable_quirk: boolean): void {
  const vm = vcpu.vm;

  vm_install_exception_handler(vcpu.vm, UD_VECTOR, guest_ud_handler);

  if (disable_quirk) {
    vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_FIX_HYPERCALL_INSN);
  }

  quirk_disabled.value = disable_quirk ? 1 : 0;
  sync_global_to_guest(vm, quirk_disabled);

  // do_sched_yield(apic_id): RAX = KVM_HC_SCHED_YIELD, RBX = apic_id,
  // hypercall_insn: three placeholder bytes (INT3 until patched).
  const obj = vm_load_asm(vm, [
    "do_sched_yield:",
    "push %rbx",
    "mov %rdi, %rbx",
    `mov $${KVM_HC_SCHED_YIELD}, %eax`,
    "hypercall_insn:",
    ".byte 0xcc, 0xcc, 0xcc",
    "pop %rbx",
    "ret",
    "opcodes:",
    `.byte ${vmx_vmcall.join(", ")}, 0x90, ${svm_vmmcall.join(", ")}, 0x90`,
  ]);
  do_sched_yield_gva.value = obj.labels.get("do_sched_yield")!;
  hypercall_insn.value = obj.labels.get("hypercall_insn")!;
  other_insn.value = obj.labels.get("opcodes")!;
  sync_global_to_guest(vm, do_sched_yield_gva);
  sync_global_to_guest(vm, hypercall_insn);
  sync_global_to_guest(vm, other_insn);

  virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);

  enter_guest(vcpu);
}

KVM_ONE_VCPU_TEST(fix_hypercall, "enable_quirk", guest_main, (vcpu) => {
  test_fix_hypercall(vcpu, false);
});

KVM_ONE_VCPU_TEST(fix_hypercall, "disable_quirk", guest_main, (vcpu) => {
  test_fix_hypercall(vcpu, true);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_FIX_HYPERCALL_INSN);

  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
