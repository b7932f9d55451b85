// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/flds_emulation.h`: `flds`
 * is an instruction KVM's emulator does not implement, so a guest that makes
 * KVM emulate it (an MMIO operand, a GPA only the guest's MAXPHYADDR makes
 * illegal) gets an emulation-failure exit, which the host then skips.
 *
 * @module
 */

import { TEST_ASSERT } from "../test_util.ts";
import { kvm_regs } from "../asm/kvm.ts";
import {
  KVM_EXIT_INTERNAL_ERROR,
  KVM_INTERNAL_ERROR_EMULATION,
  KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES,
} from "../linux/kvm.ts";
import type { kvm_vcpu } from "../kvm_util_types.ts";
import { TEST_ASSERT_KVM_EXIT_REASON, vcpu_regs_get, vcpu_regs_set } from "../../lib/kvm_util.ts";

/**
 * C `FLDS_MEM_EAX`: `flds (%eax)`, as bytes (the in-repo assembler has no
 * x87), one source line for `vm_load_asm()`/`KVM_ASM_SAFE()`.
 */
export const FLDS_MEM_EAX = ".byte 0xd9, 0x00";

/**
 * C `handle_flds_emulation_failure_exit(vcpu)`: checks the exit is KVM's
 * emulation failure on `flds (%eax)`, with the instruction bytes, and moves
 * RIP past the two-byte instruction.
 *
 * @param vcpu the vCPU
 */
export function handle_flds_emulation_failure_exit(vcpu: kvm_vcpu): void {
  const run = vcpu.run;
  const regs = kvm_regs.alloc();

  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_INTERNAL_ERROR);

  TEST_ASSERT(
    run.emulation_failure.suberror === KVM_INTERNAL_ERROR_EMULATION,
    "Unexpected suberror: %u",
    run.emulation_failure.suberror,
  );

  const flags = run.emulation_failure.flags;
  TEST_ASSERT(
    run.emulation_failure.ndata >= 3 &&
      (flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) !== 0n,
    "run->emulation_failure is missing instruction bytes",
  );

  const insn = run.emulation_failure;
  TEST_ASSERT(
    insn.insn_size >= 2,
    "Expected a 2-byte opcode for 'flds', got %d bytes",
    insn.insn_size,
  );

  const insn_bytes = insn.insn_bytes;
  TEST_ASSERT(
    insn_bytes.at(0) === 0xd9 && insn_bytes.at(1) === 0,
    "Expected 'flds [eax]', opcode '0xd9 0x00', got opcode 0x%02x 0x%02x\n",
    insn_bytes.at(0),
    insn_bytes.at(1),
  );

  vcpu_regs_get(vcpu, regs);
  regs.rip += 2n;
  vcpu_regs_set(vcpu, regs);
}
