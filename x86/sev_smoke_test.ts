// SPDX-License-Identifier: GPL-2.0-only
/**
 * Port of `tools/testing/selftests/kvm/x86/sev_smoke_test.c` as the TDX
 * selftest series (v13) converts it: every VM comes from
 * `vm_create_shape_with_one_vcpu(shape, &vcpu, guest_code)` with
 * `VM_SHAPE_SEV`, `VM_SHAPE_SEV_ES` or `VM_SHAPE_SNP`, and the VM-type checks
 * read `shape.type`. No functional change.
 *
 * It needs AMD SEV (KVM_GET_SUPPORTED_CPUID 0x8000001F), which the simulated
 * machine (an Intel host) does not offer, so it skips there as on any host
 * without SEV.
 *
 * @module
 */

import {
  addr_gva2hva,
  exit_reason_str,
  get_ucall,
  GUEST_ASSERT,
  GUEST_DONE,
  kvm_has_cap,
  kvm_mem_region_type,
  KVM_UTIL_MIN_VADDR,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  REPORT_GUEST_ASSERT,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_FAIL,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_ABORT,
  UCALL_DONE,
  ucall_struct,
  UCALL_SYNC,
  vcpu_run,
  vm_alloc_shared,
  vm_create_shape_with_one_vcpu,
  type vm_shape,
} from "../include/kvm_util.ts";
import { ksft_main } from "../include/kselftest_harness.ts";
import { abort } from "../include/libc/exit.ts";
import { printf } from "../include/libc/stdio.ts";
import { user_memory } from "../include/libc/syscall.ts";
import type { View } from "../include/c/layout.ts";
import {
  KVM_CAP_XCRS,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_SYSTEM_EVENT_SEV_TERM,
} from "../include/linux/kvm.ts";
import { KVM_X86_SEV_VM, KVM_X86_SNP_VM, kvm_xsave } from "../include/asm/kvm.ts";
import {
  kvm_cpu_has,
  kvm_cpu_supported_xcr0,
  MSR_AMD64_SEV,
  MSR_AMD64_SEV_ENABLED,
  MSR_AMD64_SEV_ES_ENABLED,
  MSR_AMD64_SEV_ES_GHCB,
  MSR_AMD64_SEV_SNP_ENABLED,
  PAGE_SIZE,
  rdmsr,
  set_idt,
  this_cpu_has,
  ud2,
  vcpu_args_set,
  vcpu_xsave_get,
  vcpu_xsave_set,
  VM_SHAPE_SEV,
  VM_SHAPE_SEV_ES,
  VM_SHAPE_SNP,
  wrmsr,
  X86_FEATURE_SEV,
  X86_FEATURE_SEV_ES,
  X86_FEATURE_SEV_SNP,
  XFEATURE_MASK_FP,
  XFEATURE_MASK_SSE,
  XFEATURE_MASK_YMM,
} from "../include/x86/processor.ts";
import {
  GHCB_MSR_TERM_REQ,
  is_sev_es_vm,
  SEV_POLICY_ES,
  SEV_POLICY_NO_DBG,
  snp_default_policy,
  SNP_POLICY_DBG,
  vm_sev_launch,
  vmgexit,
} from "../include/x86/sev.ts";
import { guest_insn_unimplemented } from "../lib/guest_insn.ts";

const XFEATURE_MASK_X87_AVX = XFEATURE_MASK_FP | XFEATURE_MASK_SSE | XFEATURE_MASK_YMM;

/** Guest entry point (SNP). */
export function guest_snp_code(): void {
  const sev_msr = rdmsr(MSR_AMD64_SEV);

  GUEST_ASSERT(sev_msr & MSR_AMD64_SEV_ENABLED);
  GUEST_ASSERT(sev_msr & MSR_AMD64_SEV_ES_ENABLED);
  GUEST_ASSERT(sev_msr & MSR_AMD64_SEV_SNP_ENABLED);

  wrmsr(MSR_AMD64_SEV_ES_GHCB, GHCB_MSR_TERM_REQ);
  vmgexit();
}

/** Guest entry point (SEV-ES). */
export function guest_sev_es_code(): void {
  // CPUID is left unchecked: under SEV-ES it raises #VC, and this guest has
  // no GHCB-based handler for it.
  GUEST_ASSERT(rdmsr(MSR_AMD64_SEV) & MSR_AMD64_SEV_ENABLED);
  GUEST_ASSERT(rdmsr(MSR_AMD64_SEV) & MSR_AMD64_SEV_ES_ENABLED);

  // No ucall channel exists for SEV-ES guests here; a GHCB MSR-protocol
  // termination request doubles as the end-of-test signal.
  wrmsr(MSR_AMD64_SEV_ES_GHCB, GHCB_MSR_TERM_REQ);
  vmgexit();
}

/** Guest entry point (SEV). */
export function guest_sev_code(): void {
  GUEST_ASSERT(this_cpu_has(X86_FEATURE_SEV));
  GUEST_ASSERT(rdmsr(MSR_AMD64_SEV) & MSR_AMD64_SEV_ENABLED);

  GUEST_DONE();
}

/**
 * `xsave (%rdi)` with EDX:EAX = `rfbm`, the instruction of upstream's asm
 * stub.
 */
function xsave(_mem: bigint, _rfbm: bigint): void {
  guest_insn_unimplemented("xsave", "the simulated CPU keeps no x87/SSE/AVX register state");
}

/**
 * Saves the x87/AVX state that arrived through the VMSA first thing, before
 * compiled guest code can disturb it. Upstream does this in a small assembly
 * entry stub that stores those two XSAVE components at RDI and then continues
 * in the SEV-ES guest code.
 */
export function guest_code_xsave(rdi: bigint): void {
  xsave(rdi, XFEATURE_MASK_X87_AVX);
  guest_sev_es_code();
}

function compare_xsave(from_host: Uint8Array, from_guest: Uint8Array): void {
  let bad = false;
  for (let i = 0; i < 4095; i++) {
    if (from_host[i] !== from_guest[i]) {
      printf("mismatch at %u | %02hhx %02hhx\n", i, from_host[i], from_guest[i]);
      bad = true;
    }
  }

  if (bad) abort();
}

/** The 80-bit x87 encoding of a double (normal numbers), as FLD m64 loads it. */
function f64_to_f80(x: number): { significand: bigint; sign_exponent: number } {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x, true);
  const bits = dv.getBigUint64(0, true);
  const sign = Number(bits >> 63n);
  const exponent = Number((bits >> 52n) & 0x7ffn) - 1023 + 16383;
  const significand = (1n << 63n) | ((bits & ((1n << 52n) - 1n)) << 11n);
  return { significand, sign_exponent: (sign << 15) | exponent };
}

/**
 * What upstream's host asm leaves in `xsave`: `fninit; vpcmpeqb %ymm4, %ymm4,
 * %ymm4; fldl M_PI; xsave` with RFBM = XFEATURE_MASK_X87_AVX, into a zeroed
 * buffer. TypeScript cannot execute x87 or AVX instructions on the host, so
 * the standard-format image is written here; MXCSR and the CPU's MXCSR_MASK
 * come from the vCPU's own image, as the host's XSAVE would store them.
 */
function host_xsave_x87_avx(vcpu: kvm_vcpu, xsave: View<typeof kvm_xsave.fields>): void {
  const initial = kvm_xsave.alloc();
  vcpu_xsave_get(vcpu, initial);

  const b = xsave.$bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  b.fill(0);
  dv.setUint32(24, initial.$dv.getUint32(initial.$offset + 24, true), true); // MXCSR
  dv.setUint32(28, initial.$dv.getUint32(initial.$offset + 28, true), true); // MXCSR_MASK

  // FNINIT: FCW 0x37f, FSW and FTW empty. FLD pushes: TOP = 7 and physical
  // register 7 tagged valid. FOP/FIP/FDP stay 0: AMD's XSAVE stores them only
  // while an x87 exception is pending.
  dv.setUint16(0, 0x037f, true);
  dv.setUint16(2, 7 << 11, true);
  b[4] = 1 << 7;
  const pi = f64_to_f80(Math.PI);
  dv.setBigUint64(32, pi.significand, true); // ST(0)
  dv.setUint16(40, pi.sign_exponent, true);

  // VPCMPEQB of a register with itself: every bit of YMM4 set, the low half
  // in the legacy area (XMM4), the high half in the AVX component (offset 576).
  b.fill(0xff, 160 + 4 * 16, 160 + 5 * 16);
  b.fill(0xff, 576 + 4 * 16, 576 + 5 * 16);

  // XSTATE_BV: all three requested components are out of their init state.
  dv.setBigUint64(512, XFEATURE_MASK_X87_AVX, true);
}

function test_sync_vmsa(shape: vm_shape, policy: bigint): void {
  const vcpu = ref<kvm_vcpu>();

  const xsave = kvm_xsave.alloc();

  const vm = vm_create_shape_with_one_vcpu(shape, vcpu, guest_code_xsave);
  const gva = vm_alloc_shared(
    vm,
    PAGE_SIZE,
    KVM_UTIL_MIN_VADDR,
    kvm_mem_region_type.MEM_REGION_TEST_DATA,
  );
  const hva = addr_gva2hva(vm, gva);

  vcpu_args_set(vcpu.value, 1, gva);

  host_xsave_x87_avx(vcpu.value, xsave);
  vcpu_xsave_set(vcpu.value, xsave);

  vm_sev_launch(vm, policy, null);

  // The guest writes its XSAVE image to this shared (unencrypted) page; clear it first.
  user_memory(hva, 4096).fill(0);

  vcpu_run(vcpu.value);

  const run = vcpu.value.run;
  TEST_ASSERT(
    run.exit_reason === KVM_EXIT_SYSTEM_EVENT,
    "Wanted SYSTEM_EVENT, got %s",
    exit_reason_str(run.exit_reason),
  );
  TEST_ASSERT_EQ(run.system_event.type, KVM_SYSTEM_EVENT_SEV_TERM);
  TEST_ASSERT_EQ(run.system_event.ndata, 1);
  TEST_ASSERT_EQ(run.system_event.data.at(0), GHCB_MSR_TERM_REQ);

  compare_xsave(xsave.$bytes, user_memory(hva, 4096));

  kvm_vm_free(vm);
}

function test_sev(guest_code: () => void, shape: vm_shape, policy: bigint): void {
  const vcpu = ref<kvm_vcpu>();
  const uc = ucall_struct.alloc();

  const vm = vm_create_shape_with_one_vcpu(shape, vcpu, guest_code);

  // The launch measurement is not checked.
  vm_sev_launch(vm, policy, null);

  for (;;) {
    vcpu_run(vcpu.value);

    const run = vcpu.value.run;
    if (is_sev_es_vm(vm)) {
      TEST_ASSERT(
        run.exit_reason === KVM_EXIT_SYSTEM_EVENT,
        "Wanted SYSTEM_EVENT, got %s",
        exit_reason_str(run.exit_reason),
      );
      TEST_ASSERT_EQ(run.system_event.type, KVM_SYSTEM_EVENT_SEV_TERM);
      TEST_ASSERT_EQ(run.system_event.ndata, 1);
      TEST_ASSERT_EQ(run.system_event.data.at(0), GHCB_MSR_TERM_REQ);
      break;
    }

    switch (get_ucall(vcpu.value, uc)) {
      case UCALL_SYNC:
        continue;
      case UCALL_DONE:
        return;
      case UCALL_ABORT:
        REPORT_GUEST_ASSERT(uc);
        // falls through (REPORT_GUEST_ASSERT() exits)
      default:
        TEST_FAIL("Unexpected exit: %s", exit_reason_str(run.exit_reason));
    }
  }

  kvm_vm_free(vm);
}

/** Guest entry point: a #UD with no usable IDT, which the CPU turns into SHUTDOWN. */
export function guest_shutdown_code(): void {
  // With a zero-limit IDT the #UD cannot be delivered, which ends in SHUTDOWN.
  set_idt({ size: 0, address: 0n });

  ud2();
}

function test_sev_shutdown(shape: vm_shape, policy: bigint): void {
  const vcpu = ref<kvm_vcpu>();

  const vm = vm_create_shape_with_one_vcpu(shape, vcpu, guest_shutdown_code);

  vm_sev_launch(vm, policy, null);

  vcpu_run(vcpu.value);
  TEST_ASSERT(
    vcpu.value.run.exit_reason === KVM_EXIT_SHUTDOWN,
    "Wanted SHUTDOWN, got %s",
    exit_reason_str(vcpu.value.run.exit_reason),
  );

  kvm_vm_free(vm);
}

function test_sev_smoke(guest: () => void, shape: vm_shape, policy: bigint): void {
  const xf_mask = XFEATURE_MASK_X87_AVX;

  if (shape.type === KVM_X86_SNP_VM) test_sev(guest, shape, policy | SNP_POLICY_DBG);
  else test_sev(guest, shape, policy | SEV_POLICY_NO_DBG);
  test_sev(guest, shape, policy);

  if (shape.type === KVM_X86_SEV_VM) return;

  test_sev_shutdown(shape, policy);

  // Upstream also ANDs in the host's XCR0 (xgetbv(0)), which TypeScript
  // cannot read on the host; KVM's supported XCR0 is the host's XCR0 masked
  // by what KVM supports (kvm_caps.supported_xcr0), so it is a subset already.
  if (kvm_has_cap(KVM_CAP_XCRS) && (kvm_cpu_supported_xcr0() & xf_mask) === xf_mask) {
    test_sync_vmsa(shape, policy);
    if (shape.type === KVM_X86_SNP_VM) test_sync_vmsa(shape, policy | SNP_POLICY_DBG);
    else test_sync_vmsa(shape, policy | SEV_POLICY_NO_DBG);
  }
}

function main(): number {
  TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_SEV));
  TEST_REQUIRE_GUEST_CODE();

  test_sev_smoke(guest_sev_code, VM_SHAPE_SEV, 0n);

  if (kvm_cpu_has(X86_FEATURE_SEV_ES)) {
    test_sev_smoke(guest_sev_es_code, VM_SHAPE_SEV_ES, SEV_POLICY_ES);
  }

  if (kvm_cpu_has(X86_FEATURE_SEV_SNP)) {
    test_sev_smoke(guest_snp_code, VM_SHAPE_SNP, snp_default_policy());
  }

  return 0;
}

await ksft_main(import.meta, main);
