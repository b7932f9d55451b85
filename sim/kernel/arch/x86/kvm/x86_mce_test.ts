// SPDX-License-Identifier: GPL-2.0-only
/**
 * Machine checks, KVM_INTERRUPT and the VMX address ioctls, each expected
 * value read from kvm-x86 `arch/x86/kvm/x86.c` at 042007c2 (and
 * `vmx/main.c`, `vmx/vmx.c` hardware_setup()): KVM_CAP_MCE,
 * KVM_X86_GET_MCE_CAP_SUPPORTED, kvm_vcpu_ioctl_x86_setup_mce(),
 * set_msr_mce()/get_msr_mce(), kvm_vcpu_ioctl_x86_set_mce(),
 * kvm_vcpu_ioctl_interrupt(), kvm_vm_ioctl_set_tss_addr(),
 * KVM_SET_IDENTITY_MAP_ADDR in kvm_arch_vm_ioctl(), the encryption region
 * ioctls, MSR_KVM_POLL_CONTROL.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { ioctl } from "../../../../../include/libc/syscall.ts";
import { EEXIST, EFAULT, EINVAL, ENOTTY, ENXIO } from "../../../../../include/linux/errno.ts";
import {
  KVM_CAP_MAX_VCPU_ID,
  KVM_CAP_MCE,
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_IRQCHIP,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  kvm_enc_region,
  KVM_EXIT_SHUTDOWN,
  KVM_GET_SREGS,
  KVM_GET_VCPU_EVENTS,
  KVM_INTERRUPT,
  kvm_interrupt,
  KVM_MEMORY_ENCRYPT_REG_REGION,
  KVM_MEMORY_ENCRYPT_UNREG_REGION,
  KVM_RUN,
  KVM_SET_IDENTITY_MAP_ADDR,
  KVM_SET_TSS_ADDR,
  kvm_sregs,
  kvm_vcpu_events,
  KVM_X86_GET_MCE_CAP_SUPPORTED,
  kvm_x86_mce,
  KVM_X86_SET_MCE,
  KVM_X86_SETUP_MCE,
} from "../../../../../include/linux/kvm.ts";
import { assert_errno, close_all, create_vcpu, create_vm } from "../../../testdata/util.ts";
import { current } from "../../../include/linux/sched.ts";
import { file_to_vcpu } from "../../../virt/kvm/kvm_main.ts";
import { kvm_get_msr, KVM_MSR_RET_INVALID, KVM_MSR_RET_UNSUPPORTED, kvm_set_msr } from "./x86.ts";
import type { kvm_vcpu } from "../../../include/linux/kvm_host.ts";

const MCG_CTL_P = 1n << 8n;
const MCG_CMCI_P = 1n << 10n;
const MCG_SER_P = 1n << 24n;
const MCG_LMCE_P = 1n << 27n;
const ALL = 0xffffffffffffffffn;
const NULL = 0;

/** The simulated kernel's vCPU behind an fd, for guest-initiated MSR accesses. */
function kvcpu(fd: number): kvm_vcpu {
  return file_to_vcpu(current.files.lookup(fd)!)!;
}

function setup_mce(vcpu: number, cap: bigint): number {
  return ioctl(vcpu, KVM_X86_SETUP_MCE, new BigUint64Array([cap]));
}

/** Host (userspace) read: [ok, value]. */
function host_rd(v: kvm_vcpu, index: number): [number, bigint] {
  const d = [0n];
  const r = kvm_get_msr(v, index, d, true);
  return [r, r ? 0n : d[0]!];
}

Deno.test("KVM_CAP_MCE is KVM_MAX_MCE_BANKS; the supported MCG_CAP is VMX's (x86.c, vmx hardware_setup())", () => {
  const [kvm, vm] = create_vm();
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MCE), 32);
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MCE), 32);
  const cap = new BigUint64Array(1);
  assertEquals(ioctl(kvm, KVM_X86_GET_MCE_CAP_SUPPORTED, cap), 0);
  assertEquals(cap[0], MCG_CTL_P | MCG_SER_P | MCG_LMCE_P | MCG_CMCI_P);
  assert_errno(ioctl(kvm, KVM_X86_GET_MCE_CAP_SUPPORTED, NULL), EFAULT, "NULL");
  // kvm_arch_dev_ioctl() only: a VM fd answers ENOTTY (kvm_arch_vm_ioctl()'s default).
  assert_errno(ioctl(vm, KVM_X86_GET_MCE_CAP_SUPPORTED, cap), ENOTTY, "on a VM");
  close_all(vm, kvm);
});

Deno.test("KVM_X86_SETUP_MCE: 1..32 banks, supported bits, then MCG_CTL and MCi_CTL all ones", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  const v = kvcpu(fd);
  // kvm_arch_vcpu_create(): 32 banks, no feature bits; MCi_CTL start at 0.
  assertEquals(host_rd(v, 0x179), [0, 32n]);
  assertEquals(host_rd(v, 0x400), [0, 0n]);
  assert_errno(setup_mce(fd, 0n), EINVAL, "no banks");
  assert_errno(setup_mce(fd, 33n), EINVAL, "33 banks");
  assert_errno(setup_mce(fd, 1n << 9n | 2n), EINVAL, "unsupported bit 9");
  assert_errno(ioctl(fd, KVM_X86_SETUP_MCE, NULL), EFAULT, "NULL");
  // Bits 23:16 (extended register count) pass unchecked.
  assertEquals(setup_mce(fd, MCG_CTL_P | 0xab0000n | 3n), 0);
  assertEquals(host_rd(v, 0x179), [0, MCG_CTL_P | 0xab0000n | 3n]);
  assertEquals(host_rd(v, 0x17b), [0, ALL], "MCG_CTL");
  assertEquals(host_rd(v, 0x400 + 4 * 2), [0, ALL], "MC2_CTL");
  assertEquals(host_rd(v, 0x400 + 4 * 3)[0], KVM_MSR_RET_INVALID, "bank 3 does not exist");
  assertEquals(host_rd(v, 0x400 + 4 * 2 + 3)[0], 0, "MC2_MISC exists");
  // The P5 MSRs read 0 and cannot be written (no set_msr_mce() case).
  assertEquals(host_rd(v, 0), [0, 0n]);
  assertEquals(kvm_set_msr(v, 1, 0n, true) !== 0, true);
  close_all(fd, vm, kvm);
});

Deno.test("set_msr_mce(): MCG_CTL, MCi_CTL, MCi_STATUS, MCi_CTL2 from the guest and the host", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  const v = kvcpu(fd);
  // MCG_CTL without MCG_CTL_P: userspace may write 0, nothing else; the guest nothing.
  assertEquals(kvm_set_msr(v, 0x17b, 0n, true), 0);
  assertEquals(kvm_set_msr(v, 0x17b, ALL, true), KVM_MSR_RET_INVALID);
  assertEquals(kvm_set_msr(v, 0x17b, 0n, false), KVM_MSR_RET_INVALID);
  assertEquals(kvm_get_msr(v, 0x17b, [0n], false), KVM_MSR_RET_INVALID);
  assertEquals(setup_mce(fd, MCG_CTL_P | 2n), 0);
  assertEquals(kvm_set_msr(v, 0x17b, 5n, false), KVM_MSR_RET_INVALID, "neither 0 nor ~0");
  assertEquals(kvm_set_msr(v, 0x17b, 0n, false), 0);
  // MCi_CTL: 0 or all ones, bits 10 and 0 may be clear.
  assertEquals(kvm_set_msr(v, 0x404, ALL & ~(1n << 10n) & ~1n, false), 0);
  assertEquals(kvm_set_msr(v, 0x404, 0x1234n, true), KVM_MSR_RET_INVALID);
  // MCi_STATUS: the guest may only clear it (an Intel guest CPUID); userspace anything.
  assertEquals(kvm_set_msr(v, 0x405, 1n, false), KVM_MSR_RET_INVALID);
  assertEquals(kvm_set_msr(v, 0x405, 0n, false), 0);
  assertEquals(kvm_set_msr(v, 0x405, 0xdeadn, true), 0);
  assertEquals(host_rd(v, 0x405), [0, 0xdeadn]);
  // MCi_ADDR/MISC are stored as written; a bank past the count does not exist.
  assertEquals(kvm_set_msr(v, 0x406, 0x1234n, false), 0);
  assertEquals(kvm_set_msr(v, 0x408, 0n, true), KVM_MSR_RET_INVALID, "bank 2");
  // MCi_CTL2 without MCG_CMCI_P: userspace 0 only; with it, CMCI_EN | threshold.
  assertEquals(kvm_set_msr(v, 0x281, 0n, true), 0);
  assertEquals(kvm_set_msr(v, 0x281, 1n, true), KVM_MSR_RET_INVALID);
  assertEquals(kvm_get_msr(v, 0x281, [0n], false), KVM_MSR_RET_INVALID);
  assertEquals(setup_mce(fd, MCG_CMCI_P | 2n), 0);
  assertEquals(kvm_set_msr(v, 0x281, (1n << 30n) | 0x7fffn, false), 0);
  assertEquals(kvm_set_msr(v, 0x281, 1n << 31n, false), KVM_MSR_RET_INVALID, "reserved bit");
  assertEquals(kvm_set_msr(v, 0x282, 0n, true), KVM_MSR_RET_INVALID, "bank 2's CTL2");
  // MCG_STATUS takes anything; MCG_CAP is not writable.
  assertEquals(kvm_set_msr(v, 0x17a, ALL, false), 0);
  assertEquals(kvm_set_msr(v, 0x179, 2n, true) !== 0, true);
  close_all(fd, vm, kvm);
});

Deno.test("MCi_STATUS: an AMD guest with HWCR.McStatusWrEn may set it (can_set_mci_status())", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  const v = kvcpu(fd);
  v.arch.cpuid_entries = [{
    function: 0,
    index: 0,
    flags: 0,
    eax: 1,
    ebx: 0x68747541, // "Auth"
    ecx: 0x444d4163,
    edx: 0x69746e65,
  }];
  assertEquals(kvm_set_msr(v, 0x401, 7n, false), KVM_MSR_RET_INVALID);
  assertEquals(kvm_set_msr(v, 0xc0010015, 1n << 18n, true), 0);
  assertEquals(kvm_set_msr(v, 0x401, 7n, false), 0);
  close_all(fd, vm, kvm);
});

Deno.test("LMCE: FEATURE_CONTROL.LMCE_ENABLED and MCG_EXT_CTL follow MCG_LMCE_P (vmx_setup_mce())", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  const v = kvcpu(fd);
  const LMCE_ENABLED = 1n << 20n;
  assertEquals(kvm_set_msr(v, 0x3a, LMCE_ENABLED, false), KVM_MSR_RET_INVALID);
  assertEquals(setup_mce(fd, MCG_LMCE_P | 1n), 0);
  assertEquals(kvm_set_msr(v, 0x4d0, 1n, false), KVM_MSR_RET_INVALID, "EXT_CTL before opt-in");
  assertEquals(kvm_set_msr(v, 0x3a, LMCE_ENABLED | 1n, false), 0);
  assertEquals(kvm_set_msr(v, 0x4d0, 1n, false), 0);
  assertEquals(kvm_set_msr(v, 0x4d0, 2n, true), KVM_MSR_RET_INVALID, "only LMCE_EN");
  assertEquals(host_rd(v, 0x4d0), [0, 1n]);
  close_all(fd, vm, kvm);
});

Deno.test("KVM_X86_SET_MCE: bank and VAL checked; UC errors need CR4.MCE, else shutdown", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  const v = kvcpu(fd);
  const VAL = 1n << 63n, OVER = 1n << 62n, UC = 1n << 61n, S = 1n << 56n;
  const m = kvm_x86_mce.alloc();
  assertEquals(setup_mce(fd, MCG_CTL_P | 2n), 0);
  m.bank = 2;
  m.status = VAL;
  assert_errno(ioctl(fd, KVM_X86_SET_MCE, m), EINVAL, "bank 2 of 2");
  m.bank = 1;
  m.status = 1n;
  assert_errno(ioctl(fd, KVM_X86_SET_MCE, m), EINVAL, "no VAL");
  assert_errno(ioctl(fd, KVM_X86_SET_MCE, NULL), EFAULT, "NULL");
  // A corrected error is recorded; a second one sets OVER.
  m.status = VAL | 0x11n;
  m.addr = 0x1000n;
  assertEquals(ioctl(fd, KVM_X86_SET_MCE, m), 0);
  assertEquals(host_rd(v, 0x405), [0, VAL | 0x11n]);
  assertEquals(host_rd(v, 0x406), [0, 0x1000n]);
  assertEquals(ioctl(fd, KVM_X86_SET_MCE, m), 0);
  assertEquals(host_rd(v, 0x405), [0, VAL | OVER | 0x11n]);
  // An uncorrected (signalled) error with CR4.MCE clear: triple fault, so
  // the next KVM_RUN exits with KVM_EXIT_SHUTDOWN.
  m.bank = 0;
  m.status = VAL | UC | S;
  m.mcg_status = 5n;
  assertEquals(ioctl(fd, KVM_X86_SET_MCE, m), 0);
  assertEquals(host_rd(v, 0x401), [0, 0n], "not recorded");
  assertEquals(ioctl(fd, KVM_RUN, 0), 0);
  assertEquals(v.run.getUint32(8, true), KVM_EXIT_SHUTDOWN, "kvm_run.exit_reason");
  // With CR4.MCE set it is recorded and #MC (18) is queued.
  v.arch.vmcs.cr4 |= 1n << 6n;
  assertEquals(ioctl(fd, KVM_X86_SET_MCE, m), 0);
  assertEquals(host_rd(v, 0x401), [0, VAL | UC | S]);
  assertEquals(host_rd(v, 0x17a), [0, 5n]);
  const ev = kvm_vcpu_events.alloc();
  assertEquals(ioctl(fd, KVM_GET_VCPU_EVENTS, ev), 0);
  assertEquals([ev.exception.injected, ev.exception.nr], [1, 18]);
  // MCG_CTL not all ones: uncorrected errors are dropped.
  assertEquals(kvm_set_msr(v, 0x17b, 0n, true), 0);
  m.bank = 1;
  assertEquals(ioctl(fd, KVM_X86_SET_MCE, m), 0);
  assertEquals(host_rd(v, 0x405), [0, VAL | OVER | 0x11n], "unchanged");
  close_all(fd, vm, kvm);
});

Deno.test("KVM_INTERRUPT: u32 vector < 256; queued without irqchip, ENXIO with the PIC, one ExtINT when split", () => {
  const irq = kvm_interrupt.alloc();
  {
    const [kvm, vm] = create_vm();
    const fd = create_vcpu(vm);
    irq.irq = 256;
    assert_errno(ioctl(fd, KVM_INTERRUPT, irq), EINVAL, "256");
    irq.irq = 0xffffffff;
    assert_errno(ioctl(fd, KVM_INTERRUPT, irq), EINVAL, "u32, not int");
    assert_errno(ioctl(fd, KVM_INTERRUPT, NULL), EFAULT, "NULL");
    irq.irq = 0x31;
    assertEquals(ioctl(fd, KVM_INTERRUPT, irq), 0);
    const ev = kvm_vcpu_events.alloc();
    assertEquals(ioctl(fd, KVM_GET_VCPU_EVENTS, ev), 0);
    assertEquals([ev.interrupt.injected, ev.interrupt.nr, ev.interrupt.soft], [1, 0x31, 0]);
    const s = kvm_sregs.alloc();
    assertEquals(ioctl(fd, KVM_GET_SREGS, s), 0);
    assertEquals(s.interrupt_bitmap.at(0), 1n << 0x31n);
    close_all(fd, vm, kvm);
  }
  {
    const [kvm, vm] = create_vm();
    assertEquals(ioctl(vm, KVM_CREATE_IRQCHIP, 0), 0);
    const fd = create_vcpu(vm);
    irq.irq = 0x20;
    assert_errno(ioctl(fd, KVM_INTERRUPT, irq), ENXIO, "in-kernel PIC");
    irq.irq = 300;
    assert_errno(ioctl(fd, KVM_INTERRUPT, irq), EINVAL, "range first");
    close_all(fd, vm, kvm);
  }
  {
    const [kvm, vm] = create_vm();
    const e = kvm_enable_cap.alloc();
    e.cap = KVM_CAP_SPLIT_IRQCHIP;
    e.args.set(0, 24n);
    assertEquals(ioctl(vm, KVM_ENABLE_CAP, e), 0);
    const fd = create_vcpu(vm);
    irq.irq = 0x20;
    assertEquals(ioctl(fd, KVM_INTERRUPT, irq), 0);
    assert_errno(ioctl(fd, KVM_INTERRUPT, irq), EEXIST, "second ExtINT");
    close_all(fd, vm, kvm);
  }
});

Deno.test("KVM_SET_TSS_ADDR: up to 0xffffd000 (the unsigned int -3 pages); IDENTITY_MAP: vCPUs before EFAULT", () => {
  const [kvm, vm] = create_vm();
  assertEquals(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000), 0);
  assertEquals(ioctl(vm, KVM_SET_TSS_ADDR, 0xffffd000), 0);
  assert_errno(ioctl(vm, KVM_SET_TSS_ADDR, 0xffffd001), EINVAL, "past the limit");
  const a = new BigUint64Array([0xfeffc000n]);
  assertEquals(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, a), 0);
  assert_errno(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, NULL), EFAULT, "NULL, no vCPU");
  const fd = create_vcpu(vm);
  assert_errno(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, NULL), EINVAL, "created_vcpus wins");
  close_all(fd, vm, kvm);
});

Deno.test("KVM_MEMORY_ENCRYPT_(UN)REG_REGION on VMX: the region is copied first, then ENOTTY", () => {
  const [kvm, vm] = create_vm();
  const r = kvm_enc_region.alloc();
  for (const req of [KVM_MEMORY_ENCRYPT_REG_REGION, KVM_MEMORY_ENCRYPT_UNREG_REGION]) {
    assert_errno(ioctl(vm, req, NULL), EFAULT, "NULL");
    assert_errno(ioctl(vm, req, r), ENOTTY, "no mem_enc_register_region");
  }
  close_all(vm, kvm);
});

Deno.test("MSR_KVM_POLL_CONTROL: 1 after creation, bit 0 only; needs the PV feature", () => {
  const [kvm, vm] = create_vm();
  const fd = create_vcpu(vm);
  const v = kvcpu(fd);
  assertEquals(host_rd(v, 0x4b564d05), [0, 1n]);
  assertEquals(kvm_set_msr(v, 0x4b564d05, 2n, false), KVM_MSR_RET_INVALID);
  assertEquals(kvm_set_msr(v, 0x4b564d05, 0n, false), 0);
  assertEquals(host_rd(v, 0x4b564d05), [0, 0n]);
  // KVM_CAP_ENFORCE_PV_FEATURE_CPUID with no KVM leaf: unsupported, as the
  // other PV MSRs (what the 6.18 reference answers; userspace then reads 0).
  v.arch.pv_cpuid_enforce = true;
  assertEquals(kvm_get_msr(v, 0x4b564d05, [0n], true), KVM_MSR_RET_UNSUPPORTED);
  close_all(fd, vm, kvm);
});

Deno.test("KVM_CAP_MAX_VCPU_ID reads KVM_MAX_VCPU_IDS on a VM, also after KVM_ENABLE_CAP lowered the limit", () => {
  const [kvm, vm] = create_vm();
  const max = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
  const e = kvm_enable_cap.alloc();
  e.cap = KVM_CAP_MAX_VCPU_ID;
  e.args.set(0, 8n);
  assertEquals(ioctl(vm, KVM_ENABLE_CAP, e), 0);
  // kvm_vm_ioctl_check_extension(): `r = KVM_MAX_VCPU_IDS`, no per-VM value.
  assertEquals(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID), max);
  close_all(vm, kvm);
});
