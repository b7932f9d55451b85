// SPDX-License-Identifier: GPL-2.0-only
// lib/x86/fep.ts on the selected backend: a test's own KVM_ASM_SAFE function
// (vm_load_asm) returns the vector and error code through
// kvm_fixup_exception(), and lets a non-faulting instruction's outputs
// through; the *_safe_fep stubs exist only while kvm.force_emulation_prefix
// is set (sim/fep_test.ts runs them with it set).
import { assertEquals } from "@std/assert";
import {
  get_ucall,
  GUEST_DONE,
  guest_global,
  GUEST_SYNC_ARGS,
  kvm_can_run_guest_code,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  sync_global_to_guest,
  UCALL_ABORT,
  UCALL_SYNC,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../include/kvm_util.ts";
import { u64 } from "../../include/c/layout.ts";
import {
  KVM_ASM_SAFE,
  kvm_asm_safe_call,
  KVM_FEP,
  kvm_is_forced_emulation_enabled,
  MSR_EFER,
  rdmsr,
  reg_read,
  VCPU_REGS_R10,
  VCPU_REGS_RAX,
  VCPU_REGS_RDX,
  vm_load_asm,
} from "../../include/x86/processor.ts";
import { in_guest_worker } from "../../include/libc/process.ts";
import { selected_backend_name } from "../../include/libc/backend.ts";

const rdmsr_safe_fn = guest_global("fep_test_rdmsr_safe", u64);

/** Guest: RDMSR of EFER and of an MSR no CPU has, through the KVM_ASM_SAFE function. */
export function guest_code_asm_safe(): void {
  const v_ok = kvm_asm_safe_call(rdmsr_safe_fn.value, { rcx: MSR_EFER });
  const val = ((reg_read(VCPU_REGS_RDX) & 0xffffffffn) << 32n) |
    (reg_read(VCPU_REGS_RAX) & 0xffffffffn);
  const v_gp = kvm_asm_safe_call(rdmsr_safe_fn.value, { rcx: 0x474f4f00 });
  const ec = reg_read(VCPU_REGS_R10);
  GUEST_SYNC_ARGS(v_ok, val === rdmsr(MSR_EFER) ? 1 : 0, v_gp, ec, 0);
  GUEST_DONE();
}

Deno.test("KVM_FEP is ud2 followed by the bytes 'k', 'v', 'm'", () => {
  assertEquals(KVM_FEP, ["ud2", ".byte 0x6b, 0x76, 0x6d"]);
});

Deno.test({
  name: "KVM_ASM_SAFE function loaded with vm_load_asm: outputs, then #GP(0) through the fixup",
  ignore: in_guest_worker() || !kvm_can_run_guest_code(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_asm_safe);
    try {
      const obj = vm_load_asm(vm, KVM_ASM_SAFE("rdmsr_safe", ["rdmsr"]));
      rdmsr_safe_fn.value = obj.labels.get("rdmsr_safe")!;
      sync_global_to_guest(vm, rdmsr_safe_fn);
      // The instruction sits right after the protocol's setup, with its labels around it.
      assertEquals(
        obj.labels.get("rdmsr_safe_end")! - obj.labels.get("rdmsr_safe_start")!,
        2n + 3n,
      );
      const uc = new_ucall();
      vcpu_run(vcpu.value);
      const cmd = get_ucall(vcpu.value, uc);
      if (cmd === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
      assertEquals(cmd, UCALL_SYNC);
      assertEquals([1, 2, 3, 4].map((i) => uc.args.at(i)), [0n, 1n, 13n, 0n]);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "kvm_is_forced_emulation_enabled() reads the kvm module parameter of the selected backend",
  ignore: in_guest_worker(),
  fn() {
    let text = "0";
    try {
      text = Deno.readTextFileSync("/sys/module/kvm/parameters/force_emulation_prefix");
    } catch {
      // No such parameter on this host: KVM treats it as 0.
    }
    // The simulator's parameter starts at 0 in every process.
    const host = Number.parseInt(text, 10) !== 0;
    const sim = selected_backend_name() === "sim";
    if (sim) assertEquals(kvm_is_forced_emulation_enabled(), false);
    else assertEquals(kvm_is_forced_emulation_enabled(), host);
  },
});
