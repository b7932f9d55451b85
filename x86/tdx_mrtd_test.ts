// SPDX-License-Identifier: GPL-2.0-only
/**
 * MRTD of a TD, as the TD itself sees it: the guest calls TDG.MR.REPORT
 * into a private page and hands the 48-byte MRTD of its TDREPORT back to
 * the host in one ucall. The host then checks that the measurement is
 * reproducible (the same build twice) and that it covers what it must: the
 * guest code, the boot code (the machine code of `td_boot.S` the vCPU runs
 * from the reset vector), the boot parameters and the order in which memory
 * regions were added (TDH.MEM.PAGE.ADD/TDH.MR.EXTEND are hashed in order).
 *
 * There is no upstream twin; it uses the library of the TDX series
 * (`vm_create_shape_with_one_vcpu` split into its steps, so that regions can
 * be added before `kvm_arch_vm_finalize_vcpus` measures them).
 *
 * @module
 */

import { ksft_main, TEST, test_harness_run } from "../include/kselftest_harness.ts";
import { offsetof, u64 } from "../include/c/layout.ts";
import {
  __vm_create,
  addr_gpa2hva,
  addr_gva2gpa,
  get_ucall,
  GUEST_ASSERT_EQ,
  GUEST_DONE,
  guest_global,
  type kvm_vcpu,
  kvm_vm_free,
  readq,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_REQUIRE,
  ucall,
  UCALL_DONE,
  ucall_struct,
  UCALL_SYNC,
  vcpu_run,
  vm_alloc_page,
  vm_mem_backing_src_type,
  vm_phy_pages_alloc,
  vm_userspace_mem_region_add,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import { KVM_MEM_GUEST_MEMFD } from "../include/linux/kvm.ts";
import { kvm_arch_vm_finalize_vcpus, VM_SHAPE_TDX } from "../include/x86/processor.ts";
import { TDG_MR_REPORT, TDX_SUCCESS } from "../include/x86/tdx/tdcall.ts";
import { tdx_report, TDX_REPORT_SIZE } from "../include/x86/tdx/tdreport.ts";
import { is_tdx_supported } from "../include/x86/tdx/tdx_util.ts";
import { guest_cpu } from "../lib/guest_insn.ts";
import { user_memory } from "../include/libc/syscall.ts";
import { td_boot_code, TD_BOOT_CODE_GPA } from "../lib/x86/tdx/td_boot.ts";

/** Bytes of MRTD (SHA-384). */
const MRTD_SIZE = 48;
/** Offset of TDINFO_STRUCT.MRTD in TDREPORT_STRUCT (528). */
const MRTD_OFFSET = offsetof(tdx_report, "tdinfo.mrtd");

/** First of the extra one-page protected slots of (d), and where they live. */
const EXTRA_SLOT = 30;
const EXTRA_GPA = 0x40000000n;

/** GVA of the 1024-byte-aligned report buffer (a private page); REPORTDATA follows it. */
const report_gva = guest_global("report_gva", u64);
/** Its GPA: TDG.MR.REPORT takes guest physical addresses. */
const report_gpa = guest_global("report_gpa", u64);

/** Guest: TDG.MR.REPORT, then the MRTD to the host as six u64s of one UCALL_SYNC. */
function guest_report_mrtd(): void {
  const gpa = report_gpa.value;
  // REPORTDATA (64 bytes, left zero) sits right after the report, in the same private page.
  const args = { rcx: gpa, rdx: gpa + BigInt(TDX_REPORT_SIZE), r8: 0n };
  GUEST_ASSERT_EQ(guest_cpu().tdcall(TDG_MR_REPORT, args), TDX_SUCCESS);
  const mrtd = report_gva.value + BigInt(MRTD_OFFSET);
  const q = (i: number): bigint => readq(mrtd + BigInt(8 * i));
  ucall(UCALL_SYNC, 6, q(0), q(1), q(2), q(3), q(4), q(5));
}

/** Guest entry point. */
export function guest_code_a(): void {
  guest_report_mrtd();
  GUEST_DONE();
}

/** Guest entry point: {@linkcode guest_code_a} but for one character (of its name). */
export function guest_code_b(): void {
  guest_report_mrtd();
  GUEST_DONE();
}

/** How to build a TD: the knobs that (b), (c) and (d) turn. */
interface td_build {
  guest_code: () => void;
  /** vCPUs created; only vCPU 0 runs, the others only fill boot parameters. */
  nr_vcpus: number;
  /** Extra one-page protected slots (offsets from EXTRA_SLOT), in the order they are added. */
  extra_slots: number[];
  /**
   * Replace the boot code's first instruction, `cli`, by a `nop` before the
   * TD is measured: another boot code that still boots (a TD starts with
   * RFLAGS.IF clear).
   */
  boot_nop?: boolean;
}

const BASE: td_build = { guest_code: guest_code_a, nr_vcpus: 1, extra_slots: [0, 1] };

/** Build, finalize and run a TD; returns the MRTD its vCPU 0 read through TDG.MR.REPORT. */
function td_mrtd(build: td_build): string {
  const vcpus: kvm_vcpu[] = [];
  const uc = ucall_struct.alloc();

  const vm = __vm_create(VM_SHAPE_TDX, build.nr_vcpus, 0);
  for (let i = 0; i < build.nr_vcpus; ++i) vcpus[i] = vm_vcpu_add(vm, i, build.guest_code);

  // Before finalize: what is added now is measured, and only in this order.
  for (const n of build.extra_slots) {
    const gpa = EXTRA_GPA + BigInt(n * 0x1000);
    vm_userspace_mem_region_add(
      vm,
      vm_mem_backing_src_type.VM_MEM_SRC_ANONYMOUS,
      gpa,
      EXTRA_SLOT + n,
      1,
      KVM_MEM_GUEST_MEMFD,
    );
    TEST_ASSERT_EQ(vm_phy_pages_alloc(vm, 1, gpa, EXTRA_SLOT + n), gpa);
  }

  if (build.boot_nop) {
    const boot = user_memory(addr_gpa2hva(vm, BigInt(TD_BOOT_CODE_GPA)), td_boot_code().length);
    TEST_ASSERT_EQ(boot[0]!, 0xfa); // cli
    boot[0] = 0x90; // nop
  }

  // A private page the guest owns; page-aligned, hence 1024-byte aligned.
  report_gva.value = vm_alloc_page(vm);
  report_gpa.value = addr_gva2gpa(vm, report_gva.value);
  // After finalize the data page is private: the values must be in it before.
  sync_global_to_guest(vm, report_gva);
  sync_global_to_guest(vm, report_gpa);

  kvm_arch_vm_finalize_vcpus(vm);

  vcpu_run(vcpus[0]!);
  TEST_ASSERT_EQ(get_ucall(vcpus[0]!, uc), UCALL_SYNC);
  const bytes = new Uint8Array(MRTD_SIZE);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < MRTD_SIZE / 8; i++) dv.setBigUint64(8 * i, uc.args.at(i), true);
  vcpu_run(vcpus[0]!);
  TEST_ASSERT_EQ(get_ucall(vcpus[0]!, uc), UCALL_DONE);

  kvm_vm_free(vm);
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  // An all-zero MRTD would make every comparison below vacuous.
  TEST_ASSERT(/[^0]/.test(hex), "MRTD is all zero");
  return hex;
}

TEST("mrtd_same_build", () => {
  const a = td_mrtd(BASE);
  const b = td_mrtd(BASE);
  TEST_ASSERT(a === b, "Same build, different MRTD:\n  %s\n  %s", a, b);
});

TEST("mrtd_guest_code", () => {
  const a = td_mrtd(BASE);
  const b = td_mrtd({ ...BASE, guest_code: guest_code_b });
  TEST_ASSERT(a !== b, "Changing the guest code left MRTD at %s", a);
});

TEST("mrtd_boot_code", () => {
  const a = td_mrtd(BASE);
  const b = td_mrtd({ ...BASE, boot_nop: true });
  TEST_ASSERT(a !== b, "Changing one byte of the boot code left MRTD at %s", a);
});

TEST("mrtd_boot_parameters", () => {
  const a = td_mrtd(BASE);
  // A second vCPU fills td_per_vcpu_parameters[1] (its stack and entry point).
  const b = td_mrtd({ ...BASE, nr_vcpus: 2 });
  TEST_ASSERT(a !== b, "Changing the boot parameters left MRTD at %s", a);
});

TEST("mrtd_region_order", () => {
  const a = td_mrtd(BASE);
  // The same two pages at the same GPAs, added (hence measured) in the other order.
  const b = td_mrtd({ ...BASE, extra_slots: [1, 0] });
  TEST_ASSERT(a !== b, "Changing the order of the regions left MRTD at %s", a);
});

function main(argc: number, argv: string[]): Promise<number> {
  TEST_REQUIRE(is_tdx_supported());

  return test_harness_run(argc, argv);
}

await ksft_main(import.meta, main);
