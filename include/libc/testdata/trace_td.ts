// SPDX-License-Identifier: GPL-2.0-only
// The known small program of trace_test.ts: one TD whose guest asks
// GetTdVmCallInfo (answered by KVM without an exit), reads TDG.VP.INFO
// (answered by the TDX module) and reports done (a ucall exit).
import {
  get_ucall,
  GUEST_DONE,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT_EQ,
  UCALL_DONE,
  ucall_struct,
  vcpu_run,
  vm_create_shape_with_one_vcpu,
} from "../../kvm_util.ts";
import { VM_SHAPE_TDX } from "../../x86/processor.ts";
import { tdg_vp_info, tdg_vp_vmcall_get_td_vmcall_info } from "../../../lib/x86/tdx/tdx.ts";

/** Guest entry point. */
export function guest_code_trace(): void {
  tdg_vp_vmcall_get_td_vmcall_info(null, null, null, null);
  tdg_vp_info(null, null, null, null, null, null);
  GUEST_DONE();
}

if (import.meta.main) {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_shape_with_one_vcpu(VM_SHAPE_TDX, vcpu, guest_code_trace);
  vcpu_run(vcpu.value);
  TEST_ASSERT_EQ(get_ucall(vcpu.value, ucall_struct.alloc()), UCALL_DONE);
  kvm_vm_free(vm);
}
