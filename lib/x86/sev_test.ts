// SPDX-License-Identifier: GPL-2.0-only
/**
 * The SEV library against the kernel's behaviour: the policy bits the
 * firmware defines, the VM-type predicates, the errno KVM returns for SEV
 * commands on a VM without SEV, the failure text of `vm_sev_ioctl`, and what
 * creating an SEV VM does where there is no SEV. Struct layouts and command
 * ids are checked by the gcc oracle (`include/c/layout_oracle_test.ts`).
 * Runs on the backend the process selected (`KVM_SELFTESTS_BACKEND`).
 *
 * @module
 */

import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  __vm_ioctl,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  ref,
  vm_create_barebones,
  vm_create_shape_with_one_vcpu,
} from "../../include/kvm_util.ts";
import {
  kvm_sev_init,
  KVM_SEV_INIT2,
  KVM_SEV_LAUNCH_START,
  kvm_sev_launch_start,
  KVM_SEV_SNP_LAUNCH_START,
  kvm_sev_snp_launch_start,
  KVM_X86_DEFAULT_VM,
  KVM_X86_SEV_ES_VM,
  KVM_X86_SEV_VM,
  KVM_X86_SNP_VM,
  KVM_X86_SW_PROTECTED_VM,
  KVM_X86_TDX_VM,
} from "../../include/asm/kvm.ts";
import { kvm_enc_region, KVM_MEMORY_ENCRYPT_REG_REGION } from "../../include/linux/kvm.ts";
import { EINVAL, ENOTTY } from "../../include/linux/errno.ts";
import { errno_get } from "../../include/libc/errno.ts";
import { ExitError } from "../../include/libc/exit.ts";
import { backend } from "../../include/libc/backend.ts";
import { kvm_cpu_has, VM_SHAPE_SEV, X86_FEATURE_SEV } from "../../include/x86/processor.ts";
import {
  __vm_sev_ioctl,
  is_sev_es_vm,
  is_sev_snp_vm,
  is_sev_vm,
  SEV_POLICY_ES,
  SEV_POLICY_NO_DBG,
  snp_default_policy,
  SNP_POLICY_DBG,
  SNP_POLICY_RSVD_MBO,
  SNP_POLICY_SMT,
  vm_sev_ioctl,
} from "../../include/x86/sev.ts";
import { SEV_DEV_PATH } from "../../include/x86/svm_util.ts";

Deno.test("policy bits are the firmware's: SEV NoDBG 0, ES 2; SNP SMT 16, reserved-must-be-one 17, DEBUG 19", () => {
  assertEquals(
    [SEV_POLICY_NO_DBG, SEV_POLICY_ES, SNP_POLICY_SMT, SNP_POLICY_RSVD_MBO, SNP_POLICY_DBG],
    [0x1n, 0x4n, 0x10000n, 0x20000n, 0x80000n],
  );
});

Deno.test("snp_default_policy() has the must-be-one bit, and SMT exactly when the host's SMT is active", () => {
  let smt_active = false;
  try {
    smt_active = Deno.readTextFileSync("/sys/devices/system/cpu/smt/active").trim() === "1";
  } catch {
    // No sysfs SMT control: SMT is not active.
  }
  assertEquals(snp_default_policy(), SNP_POLICY_RSVD_MBO | (smt_active ? SNP_POLICY_SMT : 0n));
});

Deno.test("SNP VMs are SEV-ES VMs and SEV-ES VMs are SEV VMs, as KVM's sev_*_guest(); no other type is", () => {
  const kinds = (type: number) => {
    const vm = { type } as kvm_vm;
    return [is_sev_vm(vm), is_sev_es_vm(vm), is_sev_snp_vm(vm)];
  };
  assertEquals(kinds(KVM_X86_DEFAULT_VM), [false, false, false]);
  assertEquals(kinds(KVM_X86_SW_PROTECTED_VM), [false, false, false]);
  assertEquals(kinds(KVM_X86_SEV_VM), [true, false, false]);
  assertEquals(kinds(KVM_X86_SEV_ES_VM), [true, true, false]);
  assertEquals(kinds(KVM_X86_SNP_VM), [true, true, true]);
  assertEquals(kinds(KVM_X86_TDX_VM), [false, false, false]);
});

// KVM_MEMORY_ENCRYPT_OP and KVM_MEMORY_ENCRYPT_REG_REGION without SEV:
// -ENOTTY from kvm_arch_vm_ioctl() (no mem_enc op), from vt_mem_enc_ioctl()
// (VMX, not a TD) or from sev_mem_enc_ioctl() (SVM, sev disabled). With SEV
// enabled, a default VM gets -EINVAL for KVM_SEV_INIT2 (sev_guest_init2:
// need_init is only set for the SEV VM types) and -ENOTTY for the rest (not
// an SEV guest).
Deno.test(`SEV commands on a VM without SEV fail as KVM fails them (${backend().name} backend)`, () => {
  const has_sev = kvm_cpu_has(X86_FEATURE_SEV);
  const vm = vm_create_barebones();
  try {
    const cases: [string, number, () => number][] = [
      [
        "KVM_SEV_INIT2",
        has_sev ? EINVAL : ENOTTY,
        () => __vm_sev_ioctl(vm, KVM_SEV_INIT2, kvm_sev_init.alloc()),
      ],
      [
        "KVM_SEV_LAUNCH_START",
        ENOTTY,
        () => __vm_sev_ioctl(vm, KVM_SEV_LAUNCH_START, kvm_sev_launch_start.alloc()),
      ],
      [
        "KVM_SEV_SNP_LAUNCH_START",
        ENOTTY,
        () => __vm_sev_ioctl(vm, KVM_SEV_SNP_LAUNCH_START, kvm_sev_snp_launch_start.alloc()),
      ],
      ["KVM_MEMORY_ENCRYPT_REG_REGION", ENOTTY, () => {
        const range = kvm_enc_region.alloc();
        range.size = 4096n;
        return __vm_ioctl(vm, KVM_MEMORY_ENCRYPT_REG_REGION, range);
      }],
    ];
    for (const [name, expected_errno, issue] of cases) {
      const r = issue();
      assertEquals([name, r, errno_get()], [name, -1, expected_errno]);
    }
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("a failing vm_sev_ioctl() names the sub-command, as upstream's #cmd: exit 254", () => {
  const vm = vm_create_barebones();
  try {
    const e = assertThrows(
      () => vm_sev_ioctl(vm, KVM_SEV_LAUNCH_START, kvm_sev_launch_start.alloc()),
      ExitError,
    );
    assertEquals(e.status, 254);
    assertStringIncludes(
      e.reason ?? "",
      "KVM_SEV_LAUNCH_START failed, rc: -1 errno: 25 (Inappropriate ioctl for device)",
    );
  } finally {
    kvm_vm_free(vm);
  }
});

function host_has_sev_dev(): boolean {
  try {
    Deno.statSync(SEV_DEV_PATH);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name:
    "creating a VM_SHAPE_SEV VM without /dev/sev skips as upstream's open_sev_dev_path_or_exit()" +
    (backend().name === "kvm" && host_has_sev_dev() ? " (skipped: this host has /dev/sev)" : ""),
  // The simulator has no /dev/sev; a real host may.
  ignore: backend().name === "kvm" && host_has_sev_dev(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const e = assertThrows(
      () => vm_create_shape_with_one_vcpu(VM_SHAPE_SEV, vcpu, null),
      ExitError,
    );
    assertEquals(e.status, 4);
    assertEquals(e.reason, "- Cannot open '/dev/sev': No such file or directory.");
    // The skip comes before KVM_CREATE_VM: no vCPU was ever handed back.
    assertThrows(() => vcpu.value, TypeError, "never written");
  },
});

Deno.test("vmgexit() on the simulated CPU fails the program with the reason, never a silent exit", async () => {
  const prog = new URL("./testdata/sev_vmgexit.ts", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", prog.pathname],
    env: { KVM_SELFTESTS_BACKEND: "sim" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert(out.code !== 0, stdout + stderr);
  assert(!stdout.includes("vcpu_run returned"), stdout);
  assertStringIncludes(stderr, "'rep; vmmcall' is not implemented by the simulated CPU");
});
