// SPDX-License-Identifier: GPL-2.0-only
/**
 * MSRs from the guest and from userspace, on vCPUs with and without the
 * features that enumerate them: port of
 * `tools/testing/selftests/kvm/x86/msrs_test.c`.
 *
 * What differs from C: the `msrs[]` table is a module constant, which host
 * and guest both load, so it is not synced to the guest (only `idx` and
 * `ignore_unsupported_msrs` are guest globals); the entries' `feature` and
 * `feature2` are compared by value where C `memcmp()`s them.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import { u32, u8 } from "../include/c/layout.ts";
import {
  __GUEST_ASSERT,
  __vcpu_get_reg,
  __vcpu_ioctl,
  __vcpu_set_reg,
  get_ucall,
  guest_global,
  GUEST_SYNC,
  kvm_has_cap,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  pr_info,
  REPORT_GUEST_ASSERT,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_FAIL,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  ucall_buffer,
  UCALL_DONE,
  UCALL_PRINTF,
  UCALL_SYNC,
  vcpu_get_reg,
  vcpu_ioctl,
  vcpu_run,
  vcpu_set_reg,
  vm_create_with_vcpus,
} from "../include/kvm_util.ts";
import { KVM_CAP_ONE_REG, KVM_GET_REG_LIST, kvm_reg_list } from "../include/linux/kvm.ts";
import {
  GP_VECTOR,
  KVM_REG_GUEST_SSP,
  KVM_X86_REG_KVM,
  KVM_X86_REG_MSR,
} from "../include/asm/kvm.ts";
import {
  CET_ENDBR_EN,
  CET_RESERVED,
  CET_SHSTK_EN,
  ex_str,
  host_cpu_is_amd,
  kvm_cpu_has,
  kvm_is_ignore_msrs,
  kvm_msr_is_in_save_restore_list,
  type kvm_x86_cpu_feature,
  MSR_CSTAR,
  MSR_FS_BASE,
  MSR_GS_BASE,
  MSR_IA32_CR_PAT,
  MSR_IA32_MISC_ENABLE,
  MSR_IA32_MISC_ENABLE_BTS_UNAVAIL,
  MSR_IA32_MISC_ENABLE_FAST_STRING,
  MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL,
  MSR_IA32_PL0_SSP,
  MSR_IA32_PL1_SSP,
  MSR_IA32_PL2_SSP,
  MSR_IA32_PL3_SSP,
  MSR_IA32_S_CET,
  MSR_IA32_SYSENTER_CS,
  MSR_IA32_SYSENTER_EIP,
  MSR_IA32_SYSENTER_ESP,
  MSR_IA32_U_CET,
  MSR_KERNEL_GS_BASE,
  MSR_LSTAR,
  MSR_SYSCALL_MASK,
  MSR_TSC_AUX,
  NONCANONICAL,
  rdmsr_safe,
  this_cpu_has,
  vcpu_clear_cpuid_feature,
  vcpu_cpuid_has,
  vcpu_get_msr,
  vcpu_set_msr,
  wrmsr_safe,
  X86_FEATURE_HYPERVISOR,
  X86_FEATURE_IBT,
  X86_FEATURE_LM,
  X86_FEATURE_RDPID,
  X86_FEATURE_RDTSCP,
  X86_FEATURE_SHSTK,
} from "../include/x86/processor.ts";
import { ref } from "../include/kvm_util_types.ts";
import { errno_get } from "../include/libc/errno.ts";
import { E2BIG, EINVAL } from "../include/linux/errno.ts";

// KVM always emulates these MSRs, just as it always reports HYPERVISOR, so
// that bit stands in for "no feature needed".
const X86_FEATURE_NONE = X86_FEATURE_HYPERVISOR;

interface kvm_msr {
  feature: kvm_x86_cpu_feature;
  feature2: kvm_x86_cpu_feature;
  name: string;
  reset_val: bigint;
  write_val: bigint;
  rsvd_val: bigint;
  index: number;
  is_kvm_defined: boolean;
}

function ____MSR_TEST(
  msr: number,
  str: string,
  val: bigint,
  rsvd: bigint,
  reset: bigint,
  feat: kvm_x86_cpu_feature,
  f2: kvm_x86_cpu_feature,
  is_kvm: boolean,
): kvm_msr {
  return {
    index: msr,
    name: str,
    write_val: val,
    rsvd_val: rsvd,
    reset_val: reset,
    feature: feat,
    feature2: f2,
    is_kvm_defined: is_kvm,
  };
}

const __MSR_TEST = (
  msr: number,
  str: string,
  val: bigint,
  rsvd: bigint,
  reset: bigint,
  feat: kvm_x86_cpu_feature,
) => ____MSR_TEST(msr, str, val, rsvd, reset, feat, feat, false);

const MSR_TEST_NON_ZERO = (
  msr: number,
  name: string,
  val: bigint,
  rsvd: bigint,
  reset: bigint,
  feat: kvm_x86_cpu_feature,
) => __MSR_TEST(msr, name, val, rsvd, reset, feat);

const MSR_TEST = (
  msr: number,
  name: string,
  val: bigint,
  rsvd: bigint,
  feat: kvm_x86_cpu_feature,
) => __MSR_TEST(msr, name, val, rsvd, 0n, feat);

const MSR_TEST2 = (
  msr: number,
  name: string,
  val: bigint,
  rsvd: bigint,
  feat: kvm_x86_cpu_feature,
  f2: kvm_x86_cpu_feature,
) => ____MSR_TEST(msr, name, val, rsvd, 0n, feat, f2, false);

// Page aligned on purpose: some of these MSRs give bits 11:0 non-address
// meanings, and a zero low 12 bits is legal for all of them.
const canonical_val = 0x123456789000n;

const MSR_TEST_CANONICAL = (msr: number, name: string, feat: kvm_x86_cpu_feature) =>
  __MSR_TEST(msr, name, canonical_val, NONCANONICAL, 0n, feat);

const MSR_TEST_KVM = (
  reg: number,
  name: string,
  val: bigint,
  rsvd: bigint,
  feat: kvm_x86_cpu_feature,
) => ____MSR_TEST(reg, name, val, rsvd, 0n, feat, feat, true);

const MISC_ENABLES_RESET_VAL = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
  MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;

// C fills msrs[] from a function-scoped table at run time; host and guest
// build the same table here.
const msrs: readonly kvm_msr[] = [
  MSR_TEST_NON_ZERO(
    MSR_IA32_MISC_ENABLE,
    "MSR_IA32_MISC_ENABLE",
    MISC_ENABLES_RESET_VAL | MSR_IA32_MISC_ENABLE_FAST_STRING,
    MSR_IA32_MISC_ENABLE_FAST_STRING,
    MISC_ENABLES_RESET_VAL,
    X86_FEATURE_NONE,
  ),
  MSR_TEST_NON_ZERO(
    MSR_IA32_CR_PAT,
    "MSR_IA32_CR_PAT",
    0x07070707n,
    0n,
    0x7040600070406n,
    X86_FEATURE_NONE,
  ),

  // Either RDTSCP or RDPID makes TSC_AUX exist, so one row per feature:
  // both paths get covered, and the featureless vCPU loses the MSR.
  MSR_TEST2(
    MSR_TSC_AUX,
    "MSR_TSC_AUX",
    0x12345678n,
    canonical_val,
    X86_FEATURE_RDTSCP,
    X86_FEATURE_RDPID,
  ),
  MSR_TEST2(
    MSR_TSC_AUX,
    "MSR_TSC_AUX",
    0x12345678n,
    canonical_val,
    X86_FEATURE_RDPID,
    X86_FEATURE_RDTSCP,
  ),

  MSR_TEST(MSR_IA32_SYSENTER_CS, "MSR_IA32_SYSENTER_CS", 0x1234n, 0n, X86_FEATURE_NONE),
  // Intel hardware checks SYSENTER_{ESP,EIP} for canonicality but KVM's
  // emulated writes do not, so the outcome would depend on who handles the
  // WRMSR. KVM means to behave that way; no reserved value is tested.
  MSR_TEST(MSR_IA32_SYSENTER_ESP, "MSR_IA32_SYSENTER_ESP", canonical_val, 0n, X86_FEATURE_NONE),
  MSR_TEST(MSR_IA32_SYSENTER_EIP, "MSR_IA32_SYSENTER_EIP", canonical_val, 0n, X86_FEATURE_NONE),

  MSR_TEST_CANONICAL(MSR_FS_BASE, "MSR_FS_BASE", X86_FEATURE_LM),
  MSR_TEST_CANONICAL(MSR_GS_BASE, "MSR_GS_BASE", X86_FEATURE_LM),
  MSR_TEST_CANONICAL(MSR_KERNEL_GS_BASE, "MSR_KERNEL_GS_BASE", X86_FEATURE_LM),
  MSR_TEST_CANONICAL(MSR_LSTAR, "MSR_LSTAR", X86_FEATURE_LM),
  MSR_TEST_CANONICAL(MSR_CSTAR, "MSR_CSTAR", X86_FEATURE_LM),
  MSR_TEST(MSR_SYSCALL_MASK, "MSR_SYSCALL_MASK", 0xffffffffn, 0n, X86_FEATURE_LM),

  MSR_TEST2(
    MSR_IA32_S_CET,
    "MSR_IA32_S_CET",
    CET_SHSTK_EN,
    CET_RESERVED,
    X86_FEATURE_SHSTK,
    X86_FEATURE_IBT,
  ),
  MSR_TEST2(
    MSR_IA32_S_CET,
    "MSR_IA32_S_CET",
    CET_ENDBR_EN,
    CET_RESERVED,
    X86_FEATURE_IBT,
    X86_FEATURE_SHSTK,
  ),
  MSR_TEST2(
    MSR_IA32_U_CET,
    "MSR_IA32_U_CET",
    CET_SHSTK_EN,
    CET_RESERVED,
    X86_FEATURE_SHSTK,
    X86_FEATURE_IBT,
  ),
  MSR_TEST2(
    MSR_IA32_U_CET,
    "MSR_IA32_U_CET",
    CET_ENDBR_EN,
    CET_RESERVED,
    X86_FEATURE_IBT,
    X86_FEATURE_SHSTK,
  ),
  MSR_TEST_CANONICAL(MSR_IA32_PL0_SSP, "MSR_IA32_PL0_SSP", X86_FEATURE_SHSTK),
  MSR_TEST(
    MSR_IA32_PL0_SSP,
    "MSR_IA32_PL0_SSP",
    canonical_val,
    canonical_val | 1n,
    X86_FEATURE_SHSTK,
  ),
  MSR_TEST_CANONICAL(MSR_IA32_PL1_SSP, "MSR_IA32_PL1_SSP", X86_FEATURE_SHSTK),
  MSR_TEST(
    MSR_IA32_PL1_SSP,
    "MSR_IA32_PL1_SSP",
    canonical_val,
    canonical_val | 1n,
    X86_FEATURE_SHSTK,
  ),
  MSR_TEST_CANONICAL(MSR_IA32_PL2_SSP, "MSR_IA32_PL2_SSP", X86_FEATURE_SHSTK),
  MSR_TEST(
    MSR_IA32_PL2_SSP,
    "MSR_IA32_PL2_SSP",
    canonical_val,
    canonical_val | 1n,
    X86_FEATURE_SHSTK,
  ),
  MSR_TEST_CANONICAL(MSR_IA32_PL3_SSP, "MSR_IA32_PL3_SSP", X86_FEATURE_SHSTK),
  MSR_TEST(
    MSR_IA32_PL3_SSP,
    "MSR_IA32_PL3_SSP",
    canonical_val,
    canonical_val | 1n,
    X86_FEATURE_SHSTK,
  ),

  MSR_TEST_KVM(KVM_REG_GUEST_SSP, "GUEST_SSP", canonical_val, NONCANONICAL, X86_FEATURE_SHSTK),
];

/** C `static int idx`, synced to the guest. */
const idx = guest_global("idx", u32);
/** C `static bool ignore_unsupported_msrs`, synced to the guest. */
const ignore_unsupported_msrs = guest_global("ignore_unsupported_msrs", u8);

const same_feature = (a: kvm_x86_cpu_feature, b: kvm_x86_cpu_feature) =>
  a.function === b.function && a.index === b.index && a.reg === b.reg && a.bit === b.bit;

function fixup_rdmsr_val(msr: number, want: bigint): bigint {
  // On AMD these MSRs keep only bits 31:0, and KVM mirrors that for an AMD
  // guest model; the test's guest vendor always matches the host's.
  if (!host_cpu_is_amd.value) return want;

  switch (msr) {
    case MSR_IA32_SYSENTER_ESP:
    case MSR_IA32_SYSENTER_EIP:
    case MSR_TSC_AUX:
      return want & 0xffffffffn;
    default:
      return want;
  }
}

function __rdmsr(msr: number, want: bigint): void {
  const val = ref(0n);

  const vec = rdmsr_safe(msr, val);
  __GUEST_ASSERT(!vec, "Unexpected %s on RDMSR(0x%x)", ex_str(vec), msr);

  __GUEST_ASSERT(
    val.value === want,
    "Wanted 0x%lx from RDMSR(0x%x), got 0x%lx",
    want,
    msr,
    val.value,
  );
}

function __wrmsr(msr: number, val: bigint): void {
  const vec = wrmsr_safe(msr, val);
  __GUEST_ASSERT(!vec, "Unexpected %s on WRMSR(0x%x, 0x%lx)", ex_str(vec), msr, val);
  __rdmsr(msr, fixup_rdmsr_val(msr, val));
}

function guest_test_supported_msr(msr: kvm_msr): void {
  __rdmsr(msr.index, msr.reset_val);
  __wrmsr(msr.index, msr.write_val);
  GUEST_SYNC(fixup_rdmsr_val(msr.index, msr.write_val));

  __rdmsr(msr.index, msr.reset_val);
}

function guest_test_unsupported_msr(msr: kvm_msr): void {
  const val = ref(0n);
  let vec: number;

  skip_wrmsr_gp: {
    // With kvm.ignore_msrs set, accesses to absent MSRs have no reliable
    // outcome, so there is nothing to assert here.
    if (ignore_unsupported_msrs.value) break skip_wrmsr_gp;

    skip_rdmsr_gp: {
      // {S,U}_CET exist when either IBT or SHSTK does, and each of their bits is
      // writable only with its own feature. So with feature2 present the RDMSR
      // succeeds (no #GP check), yet writing a primary-feature bit still #GPs.
      // Any other MSR present via feature2 has nothing to check.
      if (this_cpu_has(msr.feature2)) {
        if (msr.index !== MSR_IA32_U_CET && msr.index !== MSR_IA32_S_CET) break skip_wrmsr_gp;

        break skip_rdmsr_gp;
      }

      vec = rdmsr_safe(msr.index, val);
      __GUEST_ASSERT(
        vec === GP_VECTOR,
        "Wanted #GP on RDMSR(0x%x), got %s",
        msr.index,
        ex_str(vec),
      );
    }

    vec = wrmsr_safe(msr.index, msr.write_val);
    __GUEST_ASSERT(
      vec === GP_VECTOR,
      "Wanted #GP on WRMSR(0x%x, 0x%lx), got %s",
      msr.index,
      msr.write_val,
      ex_str(vec),
    );
  }

  GUEST_SYNC(0);
}

function guest_test_reserved_val(msr: kvm_msr): void {
  // ignore_msrs makes reserved-value #GPs unreliable too.
  if (ignore_unsupported_msrs.value) return;

  // Where the MSR silently truncates (SYSENTER_* on AMD), the "reserved"
  // write succeeds and reads back truncated instead of raising #GP.
  if (
    !this_cpu_has(msr.feature) ||
    msr.rsvd_val === fixup_rdmsr_val(msr.index, msr.rsvd_val)
  ) {
    const vec = wrmsr_safe(msr.index, msr.rsvd_val);

    __GUEST_ASSERT(
      vec === GP_VECTOR,
      "Wanted #GP on WRMSR(0x%x, 0x%lx), got %s",
      msr.index,
      msr.rsvd_val,
      ex_str(vec),
    );
  } else {
    __wrmsr(msr.index, msr.rsvd_val);
    __wrmsr(msr.index, msr.reset_val);
  }
}

/** Guest entry point. */
export function guest_main(): void {
  for (;;) {
    const msr = msrs[idx.value]!;

    if (this_cpu_has(msr.feature)) guest_test_supported_msr(msr);
    else guest_test_unsupported_msr(msr);

    if (msr.rsvd_val) guest_test_reserved_val(msr);

    GUEST_SYNC(msr.reset_val);
  }
}

let has_one_reg = false;
let use_one_reg = false;

const KVM_X86_MAX_NR_REGS = 1;

function vcpu_has_reg(vcpu: kvm_vcpu, reg: bigint): boolean {
  const regs = kvm_reg_list.alloc(KVM_X86_MAX_NR_REGS);

  // Success with n=0 means KVM lists no registers at all, hence not this one.
  regs.n = 0n;
  const r = __vcpu_ioctl(vcpu, KVM_GET_REG_LIST, regs);
  if (!r) return false;

  TEST_ASSERT_EQ(errno_get(), E2BIG);

  // x86 lists only a handful of registers here (MSRs come from
  // KVM_GET_MSR_INDEX_LIST instead), so a fixed upper bound is enough;
  // raise KVM_X86_MAX_NR_REGS when KVM starts listing more.
  TEST_ASSERT(
    regs.n <= BigInt(KVM_X86_MAX_NR_REGS),
    "KVM reports %llu regs, test expects at most %u regs, stale test?",
    regs.n,
    KVM_X86_MAX_NR_REGS,
  );

  vcpu_ioctl(vcpu, KVM_GET_REG_LIST, regs);
  for (let i = 0; i < Number(regs.n); i++) {
    if (regs.reg.at(i) === reg) return true;
  }

  return false;
}

function host_test_kvm_reg(vcpu: kvm_vcpu): void {
  const m = msrs[idx.value]!;
  const has_reg = vcpu_cpuid_has(vcpu, m.feature);
  const reset_val = m.reset_val;
  const write_val = m.write_val;
  let rsvd_val = m.rsvd_val;
  const reg = m.index;

  if (!use_one_reg) return;

  TEST_ASSERT_EQ(vcpu_has_reg(vcpu, KVM_X86_REG_KVM(reg)), has_reg);

  out: {
    if (!has_reg) {
      const val = new BigUint64Array(1);
      const r = __vcpu_get_reg(vcpu, KVM_X86_REG_KVM(reg), val);
      TEST_ASSERT(r && errno_get() === EINVAL, "Expected failure on get_reg(0x%x)", reg);
      rsvd_val = 0n;
      break out;
    }

    let val = vcpu_get_reg(vcpu, KVM_X86_REG_KVM(reg));
    TEST_ASSERT(
      val === reset_val,
      "Wanted 0x%lx from get_reg(0x%x), got 0x%lx",
      reset_val,
      reg,
      val,
    );

    vcpu_set_reg(vcpu, KVM_X86_REG_KVM(reg), write_val);
    val = vcpu_get_reg(vcpu, KVM_X86_REG_KVM(reg));
    TEST_ASSERT(
      val === write_val,
      "Wanted 0x%lx from get_reg(0x%x), got 0x%lx",
      write_val,
      reg,
      val,
    );
  }

  const r = __vcpu_set_reg(vcpu, KVM_X86_REG_KVM(reg), rsvd_val);
  TEST_ASSERT(r, "Expected failure on set_reg(0x%x, 0x%lx)", reg, rsvd_val);
}

function host_test_msr(vcpu: kvm_vcpu, guest_val: bigint): void {
  const reset_val = msrs[idx.value]!.reset_val;
  const msr = msrs[idx.value]!.index;

  if (!kvm_cpu_has(msrs[idx.value]!.feature)) return;

  let val = vcpu_get_msr(vcpu, msr);
  TEST_ASSERT(
    val === guest_val,
    "Wanted 0x%lx from get_msr(0x%x), got 0x%lx",
    guest_val,
    msr,
    val,
  );

  if (use_one_reg) vcpu_set_reg(vcpu, KVM_X86_REG_MSR(msr), reset_val);
  else vcpu_set_msr(vcpu, msr, reset_val);

  val = vcpu_get_msr(vcpu, msr);
  TEST_ASSERT(
    val === reset_val,
    "Wanted 0x%lx from get_msr(0x%x), got 0x%lx",
    reset_val,
    msr,
    val,
  );

  if (!has_one_reg) return;

  val = vcpu_get_reg(vcpu, KVM_X86_REG_MSR(msr));
  TEST_ASSERT(
    val === reset_val,
    "Wanted 0x%lx from get_reg(0x%x), got 0x%lx",
    reset_val,
    msr,
    val,
  );
}

function do_vcpu_run(vcpu: kvm_vcpu): void {
  const uc = new_ucall();

  for (;;) {
    vcpu_run(vcpu);

    switch (get_ucall(vcpu, uc)) {
      case UCALL_SYNC:
        host_test_msr(vcpu, uc.args.at(1));
        return;
      case UCALL_PRINTF:
        pr_info("%s", ucall_buffer(uc));
        break;
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        // falls through (REPORT_GUEST_ASSERT() exits)
      case UCALL_DONE:
        TEST_FAIL("Unexpected UCALL_DONE");
        // falls through (TEST_FAIL() exits)
      default:
        TEST_FAIL("Unexpected ucall: %lu", uc.cmd);
    }
  }
}

function vcpus_run(vcpus: kvm_vcpu[], NR_VCPUS: number): void {
  for (let i = 0; i < NR_VCPUS; i++) do_vcpu_run(vcpus[i]!);
}

function test_msrs(): void {
  const feat_none = X86_FEATURE_NONE;
  const feat_lm = X86_FEATURE_LM;

  // Three vCPUs driven from one unpinned thread: KVM must swap MSR state
  // between them and cope with pCPU migration. vCPUs 0 and 1 keep every
  // feature, vCPU 2 loses them, covering both the present and absent cases.
  const NR_VCPUS = 3;
  const vcpus: kvm_vcpu[] = [];

  ignore_unsupported_msrs.value = kvm_is_ignore_msrs() ? 1 : 0;

  const vm = vm_create_with_vcpus(NR_VCPUS, guest_main, vcpus);

  sync_global_to_guest(vm, ignore_unsupported_msrs);

  // Strip vCPU 2's features now: KVM freezes guest CPUID after the first
  // KVM_RUN.
  for (idx.value = 0; idx.value < msrs.length; idx.value++) {
    // Keep LM: the guest is 64-bit and KVM ignores LM=0 for the long-mode
    // MSRs. Keep NONE too, it is a placeholder, not a real dependency.
    const f = msrs[idx.value]!.feature;
    if (!same_feature(f, feat_lm) && !same_feature(f, feat_none)) {
      vcpu_clear_cpuid_feature(vcpus[2]!, f);
    }
  }

  for (idx.value = 0; idx.value < msrs.length; idx.value++) {
    const msr = msrs[idx.value]!;

    if (msr.is_kvm_defined) {
      for (let i = 0; i < NR_VCPUS; i++) host_test_kvm_reg(vcpus[i]!);
      continue;
    }

    // An MSR should be in KVM_GET_MSR_INDEX_LIST exactly when
    // KVM_GET_SUPPORTED_CPUID reports its feature. LM rows hold too (long-mode
    // MSRs are always listed). FS_BASE/GS_BASE are exempt: they travel in
    // SREGS, not in the MSR save/restore list.
    const supported = kvm_cpu_has(msr.feature) || kvm_cpu_has(msr.feature2);
    TEST_ASSERT(
      msr.index === MSR_FS_BASE || msr.index === MSR_GS_BASE ||
        kvm_msr_is_in_save_restore_list(msr.index) === supported,
      "%s %s save/restore list, but %s according to CPUID",
      msr.name,
      kvm_msr_is_in_save_restore_list(msr.index) ? "is" : "isn't",
      supported ? "supported" : "unsupported",
    );

    sync_global_to_guest(vm, idx);

    vcpus_run(vcpus, NR_VCPUS);
    vcpus_run(vcpus, NR_VCPUS);
  }

  kvm_vm_free(vm);
}

function main(): number {
  TEST_REQUIRE_GUEST_CODE();

  has_one_reg = kvm_has_cap(KVM_CAP_ONE_REG);

  test_msrs();

  if (has_one_reg) {
    use_one_reg = true;
    test_msrs();
  }
  return 0;
}

await ksft_main(import.meta, main);
