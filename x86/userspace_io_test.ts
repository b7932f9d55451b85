// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/x86/userspace_io_test.c`: `rep insb`
 * exits to userspace, and KVM must survive userspace changing the "count"
 * (RCX) at such an exit.
 *
 * C's guest keeps `uint8_t buffer[8192]` on its stack and runs `rep insb`
 * as inline asm with `"+D"(buffer), "+c"(count)`; the TypeScript guest makes
 * room on the guest stack the same way (moving RSP) and reads the asm's
 * output operands RDI and RCX back with `reg_read`.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  __GUEST_ASSERT,
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  memset,
  new_ucall,
  readb,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_ASSERT_KVM_EXIT_REASON,
  TEST_FAIL,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  vcpu_regs_get,
  vcpu_regs_set,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { KVM_EXIT_IO } from "../include/linux/kvm.ts";
import { kvm_regs } from "../include/asm/kvm.ts";
import { user_memory } from "../include/libc/syscall.ts";
import {
  insb,
  reg_read,
  reg_write,
  VCPU_REGS_RCX,
  VCPU_REGS_RDI,
  VCPU_REGS_RSP,
} from "../include/x86/processor.ts";

function guest_ins_port80(buffer: bigint, count: number): void {
  let end: bigint;

  if (count === 2) end = buffer + 1n;
  else end = buffer + 8192n;

  // asm volatile("cld; rep; insb" : "+D"(buffer), "+c"(count) : "d"(0x80) : "memory");
  insb(0x80, buffer, count);
  const rcx = reg_read(VCPU_REGS_RCX);
  const rdi = reg_read(VCPU_REGS_RDI);
  GUEST_ASSERT_EQ(rcx, 0);
  GUEST_ASSERT_EQ(rdi, end);
}

/** Guest entry point. */
export function guest_code(): void {
  // uint8_t buffer[8192] on the guest stack; guest_code never returns.
  const buffer = (reg_read(VCPU_REGS_RSP) - 8192n) & ~15n;
  reg_write(VCPU_REGS_RSP, buffer - 8n);

  // Counts 2 and 3 are rewritten by main() at the exit (to 1 and 8192).
  // KVM gives no ABI for a changed count; all that is checked is that it
  // neither crashes nor writes past the buffer.
  guest_ins_port80(buffer, 2);
  guest_ins_port80(buffer, 3);

  // Untouched count: every byte must arrive.
  memset(buffer, 0, 8192);
  guest_ins_port80(buffer, 8192);
  for (let i = 0; i < 8192; i++) {
    const b = readb(buffer + BigInt(i));
    __GUEST_ASSERT(b === 0xaa, "Expected '0xaa', got '0x%x' at buffer[%u]", b, i);
  }

  GUEST_DONE();
}

function main(): number {
  TEST_REQUIRE_GUEST_CODE();

  const vcpu = ref<kvm_vcpu>();
  const regs = kvm_regs.alloc();
  const uc = new_ucall();

  const vm = vm_create_with_one_vcpu(vcpu, guest_code);
  const run = vcpu.value.run;

  while (true) {
    vcpu_run(vcpu.value);
    TEST_ASSERT_KVM_EXIT_REASON(vcpu.value, KVM_EXIT_IO);

    if (get_ucall(vcpu.value, uc)) break;

    TEST_ASSERT(run.io.port === 0x80, "Expected I/O at port 0x80, got port 0x%x", run.io.port);

    // Rewrite RCX (2 -> 1, 3 -> 8192). This only terminates because KVM
    // batches rep-string I/O per exit, an internal detail rather than ABI.
    vcpu_regs_get(vcpu.value, regs);
    if (regs.rcx === 2n) regs.rcx = 1n;
    if (regs.rcx === 3n) regs.rcx = 8192n;
    user_memory(vcpu.value.run_hva + BigInt(run.io.data_offset), 4096).fill(0xaa);
    vcpu_regs_set(vcpu.value, regs);
  }

  switch (Number(uc.cmd)) {
    case UCALL_DONE:
      break;
    case UCALL_ABORT:
      REPORT_GUEST_ASSERT(uc);
      // falls through (REPORT_GUEST_ASSERT() exits)
    default:
      TEST_FAIL("Unknown ucall %lu", uc.cmd);
  }

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
