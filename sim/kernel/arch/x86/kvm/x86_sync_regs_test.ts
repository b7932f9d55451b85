// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_CAP_SYNC_REGS: KVM_RUN loads the sets `kvm_run.kvm_dirty_regs` marks
 * from `kvm_run.s.regs` (sync_regs(), clearing their bits) and stores the sets
 * `kvm_run.kvm_valid_regs` asks for on its way out (store_regs()); a bit
 * outside KVM_SYNC_X86_VALID_FIELDS, or a set the ioctl would refuse, fails
 * KVM_RUN with EINVAL.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals, assertNotEquals } from "@std/assert";
import {
  _vcpu_run,
  kvm_check_cap,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  vcpu_regs_get,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import { KVM_CAP_SYNC_REGS, KVM_EXIT_IO } from "../../../../../include/linux/kvm.ts";
import {
  kvm_regs,
  KVM_SYNC_X86_EVENTS,
  KVM_SYNC_X86_REGS,
  KVM_SYNC_X86_SREGS,
  KVM_SYNC_X86_VALID_FIELDS,
} from "../../../../../include/asm/kvm.ts";
import {
  inb,
  reg_read,
  reg_write,
  VCPU_REGS_RBX,
  X86_CR4_PAE,
} from "../../../../../include/x86/processor.ts";
import { errno_get } from "../../../../../include/libc/errno.ts";
import { EINVAL } from "../../../../../include/linux/errno.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

/** Guest: sync_regs_test's loop, `in` from port 0x1000 then RBX + 1. */
export function guest_code_sync_regs(): void {
  for (;;) {
    inb(0x1000);
    reg_write(VCPU_REGS_RBX, reg_read(VCPU_REGS_RBX) + 1n);
  }
}

Deno.test({
  name: "KVM_CAP_SYNC_REGS: cap, store on exit, load of dirty sets, EINVAL cases",
  ignore: in_guest_worker(),
  fn() {
    assertEquals(BigInt(kvm_check_cap(KVM_CAP_SYNC_REGS)), KVM_SYNC_X86_VALID_FIELDS);
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_sync_regs);
    try {
      const v = vcpu.value;
      const run = v.run;
      const regs = kvm_regs.alloc();

      // store_regs(): the registers at the exit.
      run.kvm_valid_regs = KVM_SYNC_X86_VALID_FIELDS;
      vcpu_run(v);
      assertEquals(run.exit_reason, KVM_EXIT_IO);
      vcpu_regs_get(v, regs);
      assertEquals(run.s.regs.regs.rip, regs.rip);
      assertEquals(run.s.regs.regs.rbx, regs.rbx);
      assertNotEquals(run.s.regs.sregs.cr3, 0n);
      assertEquals(run.s.regs.sregs.efer & 0x500n, 0x500n);

      // sync_regs(): a dirty RBX is loaded and its bit cleared.
      run.s.regs.regs.rbx = 0xbad1dean;
      run.kvm_dirty_regs = KVM_SYNC_X86_REGS;
      vcpu_run(v);
      assertEquals(run.kvm_dirty_regs, 0n);
      assertEquals(run.s.regs.regs.rbx, 0xbad1dean + 1n);

      // Neither valid nor dirty: s.regs is left alone.
      run.kvm_valid_regs = 0n;
      run.s.regs.regs.rbx = 0xaaaan;
      vcpu_run(v);
      assertEquals(run.s.regs.regs.rbx, 0xaaaan);
      vcpu_regs_get(v, regs);
      assertEquals(regs.rbx, 0xbad1dean + 2n);

      // Invalid bits.
      run.kvm_valid_regs = 0x80000000n;
      assertEquals(_vcpu_run(v), -1);
      assertEquals(errno_get(), EINVAL);
      run.kvm_valid_regs = 0n;
      run.kvm_dirty_regs = 0x80000000n | KVM_SYNC_X86_REGS;
      assertEquals(_vcpu_run(v), -1);
      assertEquals(errno_get(), EINVAL);

      // Long mode without CR4.PAE is refused as KVM_SET_SREGS refuses it; the bit stays.
      run.kvm_valid_regs = KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
      run.kvm_dirty_regs = 0n;
      vcpu_run(v);
      const cr4 = run.s.regs.sregs.cr4;
      run.s.regs.sregs.cr4 = cr4 & ~X86_CR4_PAE;
      run.kvm_dirty_regs = KVM_SYNC_X86_SREGS;
      assertEquals(_vcpu_run(v), -1);
      assertEquals(errno_get(), EINVAL);
      assertEquals(run.kvm_dirty_regs, KVM_SYNC_X86_SREGS);
      // store_regs() ran on the failed KVM_RUN too: CR4 is the vCPU's again.
      assertEquals(run.s.regs.sregs.cr4, cr4);

      // An exception vector above 31 is refused as KVM_SET_VCPU_EVENTS refuses
      // it (an injected one: without KVM_VCPUEVENT_VALID_PAYLOAD a pending
      // one is dropped before the check).
      run.s.regs.events.exception.nr = 255;
      run.s.regs.events.exception.injected = 1;
      run.kvm_dirty_regs = KVM_SYNC_X86_EVENTS;
      assertEquals(_vcpu_run(v), -1);
      assertEquals(errno_get(), EINVAL);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
