// SPDX-License-Identifier: GPL-2.0-only
/**
 * NMIs against KVM and the SDM: KVM_NMI (`kvm_vcpu_ioctl_nmi()` →
 * `kvm_inject_nmi()`, at most two pending: `process_nmi()`), blocking by NMI
 * from the delivery of an NMI until the next IRET (SDM 25.3 / 24.4.2, the
 * VMCS's GUEST_INTR_STATE_NMI), and NMI-window exiting
 * (`vmx_nmi_allowed()`, `vmx_enable_nmi_window()`, `handle_nmi_window()`):
 * a second NMI waits for the first handler's IRET instead of nesting.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  get_ucall,
  GUEST_DONE,
  guest_global,
  GUEST_SYNC,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  UCALL_DONE,
  ucall_struct,
  vcpu_ioctl,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../../../../include/kvm_util.ts";
import { KVM_GET_VCPU_EVENTS, KVM_NMI } from "../../../../../include/linux/kvm.ts";
import { kvm_vcpu_events } from "../../../../../include/asm/kvm.ts";
import {
  cpu_relax,
  type ex_regs_view,
  NMI_VECTOR,
  vm_install_exception_handler,
} from "../../../../../include/x86/processor.ts";
import { u64 } from "../../../../../include/c/layout.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";
import { run_to_sync } from "../../../../kernel/testdata/util.ts";

const nmis = guest_global("nmi_test_nmis", u64);
const depth = guest_global("nmi_test_depth", u64);
const max_depth = guest_global("nmi_test_max_depth", u64);

/** Guest NMI handler: exits to the host in the middle, while NMIs are blocked. */
export function guest_nmi_handler(_regs: ex_regs_view): void {
  depth.value = depth.value + 1n;
  if (depth.value > max_depth.value) max_depth.value = depth.value;
  nmis.value = nmis.value + 1n;
  GUEST_SYNC(nmis.value);
  depth.value = depth.value - 1n;
}

/** Guest: waits for two NMIs. */
export function guest_code_nmi(): void {
  GUEST_SYNC(0n);
  while (nmis.value < 2n) cpu_relax();
  GUEST_SYNC(100n + max_depth.value);
  GUEST_DONE();
}

Deno.test({
  name: "NMI: KVM_NMI queues at most two; the second waits for the first handler's IRET",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_nmi);
    try {
      vm_install_exception_handler(vm, NMI_VECTOR, guest_nmi_handler);
      assertEquals(run_to_sync(vcpu.value, uc), 0n);
      for (let i = 0; i < 3; i++) vcpu_ioctl(vcpu.value, KVM_NMI);
      const ev = kvm_vcpu_events.alloc();
      vcpu_ioctl(vcpu.value, KVM_GET_VCPU_EVENTS, ev);
      assertEquals(ev.nmi.pending, 2, "process_nmi(): two at most");
      // The first NMI's handler exits with NMIs blocked.
      assertEquals(run_to_sync(vcpu.value, uc), 1n);
      vcpu_ioctl(vcpu.value, KVM_GET_VCPU_EVENTS, ev);
      assertEquals(ev.nmi.masked, 1, "blocked by NMI inside the handler");
      assertEquals(ev.nmi.pending, 1);
      // Its IRET unblocks: the second is delivered then, not nested.
      assertEquals(run_to_sync(vcpu.value, uc), 2n);
      assertEquals(run_to_sync(vcpu.value, uc), 101n, "handlers never nested");
      vcpu_run(vcpu.value);
      assertEquals(get_ucall(vcpu.value, uc), UCALL_DONE);
      vcpu_ioctl(vcpu.value, KVM_GET_VCPU_EVENTS, ev);
      assertEquals(ev.nmi.masked, 0, "IRET ended the blocking");
    } finally {
      kvm_vm_free(vm);
    }
  },
});
