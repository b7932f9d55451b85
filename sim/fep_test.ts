// SPDX-License-Identifier: GPL-2.0-only
// KVM_FEP for TypeScript guest code (lib/x86/fep.ts) on the simulated host:
// the `*_safe_fep` stubs with kvm.force_emulation_prefix set through the
// simulated sysfs, their clear failure without it, and the `em_*` pass of
// x86/userspace_msr_exit_test.ts, which the program runs only when it reads
// the parameter as 1.
import "./use_sim_backend.ts";
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  get_ucall,
  GUEST_DONE,
  GUEST_SYNC_ARGS,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  REPORT_GUEST_ASSERT,
  UCALL_ABORT,
  ucall_buffer,
  UCALL_SYNC,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import {
  kvm_asm_safe_ec_fep,
  kvm_is_forced_emulation_enabled,
  MSR_EFER,
  rdmsr,
  rdmsr_safe_fep,
  wrmsr_safe_fep,
  xgetbv,
  xgetbv_safe_fep,
} from "../include/x86/processor.ts";
import { O_WRONLY } from "../include/linux/fcntl.ts";
import { HARNESS_CHILD_ENV, in_guest_worker } from "../include/libc/process.ts";
import { backend } from "./backend.ts";

const FEP_PARAM = "/sys/module/kvm/parameters/force_emulation_prefix";
/** An MSR index no CPU implements (userspace_msr_exit_test's MSR_NON_EXISTENT). */
const MSR_NON_EXISTENT = 0x474f4f00;

function set_fep(value: number): void {
  const fd = backend.open(FEP_PARAM, O_WRONLY, 0);
  assert(fd >= 0, `open ${FEP_PARAM}: ${fd}`);
  try {
    const text = new TextEncoder().encode(`${value}\n`);
    assertEquals(
      backend.write(fd, backend.addr_of(text.buffer, 0), BigInt(text.length)),
      BigInt(text.length),
    );
  } finally {
    backend.close(fd);
  }
}

/** Guest: each `*_safe_fep` helper once succeeding and once faulting. */
export function guest_code_fep_helpers(): void {
  const efer = ref(0n);
  const v_efer = rdmsr_safe_fep(MSR_EFER, efer);
  const bad = ref(0n);
  const v_bad = rdmsr_safe_fep(MSR_NON_EXISTENT, bad);
  GUEST_SYNC_ARGS(v_efer, efer.value, rdmsr(MSR_EFER), v_bad, bad.value);

  const v_wr = wrmsr_safe_fep(MSR_NON_EXISTENT, 0x1234n);
  const ec = ref(0n);
  const v_ec = kvm_asm_safe_ec_fep("wrmsr", ec, { rcx: MSR_NON_EXISTENT });
  const xcr0 = ref(0n);
  const v_x = xgetbv_safe_fep(0, xcr0);
  GUEST_SYNC_ARGS(v_wr, v_ec, ec.value, v_x, xcr0.value === xgetbv(0) ? 1 : 0);
  GUEST_DONE();
}

/** Guest: a `*_safe_fep` helper on a VM created without the parameter. */
export function guest_code_fep_off(): void {
  const val = ref(0n);
  rdmsr_safe_fep(MSR_EFER, val);
  GUEST_DONE();
}

function run_to_sync(vcpu: kvm_vcpu): bigint[] {
  const uc = new_ucall();
  vcpu_run(vcpu);
  const cmd = get_ucall(vcpu, uc);
  if (cmd === UCALL_ABORT) REPORT_GUEST_ASSERT(uc);
  assertEquals(cmd, UCALL_SYNC);
  return [0, 1, 2, 3, 4, 5].map((i) => uc.args.at(i));
}

Deno.test({
  name: "KVM_FEP stubs: rdmsr/wrmsr/xgetbv_safe_fep emulate with force_emulation_prefix=1 (sim)",
  ignore: in_guest_worker(),
  fn() {
    set_fep(1);
    try {
      assert(kvm_is_forced_emulation_enabled());
      const vcpu = ref<kvm_vcpu>();
      const vm = vm_create_with_one_vcpu(vcpu, guest_code_fep_helpers);
      try {
        let a = run_to_sync(vcpu.value);
        assertEquals(a[1], 0n); // no fault
        assertEquals(a[2], a[3]); // the emulated read of EFER is EFER
        assert(a[2]! & (1n << 10n), "EFER.LMA");
        assertEquals(a[4], 13n); // #GP for an unknown MSR
        a = run_to_sync(vcpu.value);
        assertEquals(a.slice(1, 6), [13n, 13n, 0n, 0n, 1n]);
      } finally {
        kvm_vm_free(vm);
      }
    } finally {
      set_fep(0);
    }
  },
});

Deno.test({
  name:
    "KVM_FEP stubs: a helper used without force_emulation_prefix stops the guest naming it (sim)",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_fep_off);
    try {
      const uc = new_ucall();
      vcpu_run(vcpu.value);
      assertEquals(get_ucall(vcpu.value, uc), UCALL_ABORT);
      assertStringIncludes(ucall_buffer(uc), "force_emulation_prefix");
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name:
    "x86/userspace_msr_exit_test msr_filter_allow runs its em_* (KVM_FEP) pass with the parameter set (sim)",
  ignore: in_guest_worker(),
  async fn() {
    const root = new URL("../", import.meta.url);
    const run = async (preload: boolean) => {
      // The harness's child form runs one test in this process (fixture 1 is
      // `user_msr`, after the harness's global fixture; its test 0 is
      // msr_filter_allow), so the preload's sysfs write is seen by it.
      const results = await Deno.makeTempFile();
      const env: Record<string, string> = {
        KVM_SELFTESTS_BACKEND: "sim",
        [HARNESS_CHILD_ENV]: JSON.stringify({ fixture: 1, variant: 0, test: 0, results }),
      };
      const args = ["run", "-A"];
      if (preload) args.push("--preload", new URL("sim/testdata/fep_param_on.ts", root).pathname);
      args.push(new URL("x86/userspace_msr_exit_test.ts", root).pathname);
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        env,
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      await Deno.remove(results);
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      return { code: out.code, text };
    };
    const off = await run(false);
    assertEquals(off.code, 0, off.text);
    assertStringIncludes(off.text, "kvm.force_emulation_prefix=1");
    const on = await run(true);
    assertEquals(on.code, 0, on.text);
    assert(!on.text.includes("kvm.force_emulation_prefix=1"), on.text);
  },
});
