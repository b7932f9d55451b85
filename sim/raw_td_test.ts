// SPDX-License-Identifier: GPL-2.0-only
// A TD built with raw ioctls only (no TDX library): every lifecycle ordering
// error with its errno, a TypeScript guest booted from the reset vector in
// 32-bit protected mode with paging off, each TDG.VP.VMCALL leaf and each
// TDCALL leaf with valid and invalid operands, and every path by which the
// host could read TD private memory or registers.
// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "./use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { close, ioctl, mmap, munmap, pread, user_memory } from "../include/libc/syscall.ts";
import { errno_get as errno } from "../include/libc/errno.ts";
import {
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CAP_VM_TYPES,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_IRQCHIP,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_TDX,
  KVM_GET_FPU,
  KVM_GET_LAPIC,
  KVM_GET_MSRS,
  KVM_GET_REGS,
  KVM_GET_SREGS,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  KVM_MP_STATE_RUNNABLE,
  KVM_RUN,
  kvm_run,
  KVM_SET_CPUID2,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_MP_STATE,
  KVM_SET_MSRS,
  KVM_SET_REGS,
  KVM_SET_TSC_KHZ,
  KVM_SYSTEM_EVENT_TDX_FATAL,
} from "../include/linux/kvm.ts";
import {
  KVM_TDX_CAPABILITIES,
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_GET_CPUID,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_TDX_INIT_VCPU,
  KVM_TDX_INIT_VM,
  KVM_X86_TDX_VM,
} from "../include/asm/kvm.ts";
import { E2BIG, EEXIST, EINTR, EINVAL, EIO, ENOTTY, ESPIPE } from "../include/linux/errno.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../include/linux/mman.ts";
import { guest_code_record } from "../include/guest_code.ts";
import { readl, tdcall, type tdx_module_args, writel } from "./cpu/insn.ts";
import {
  TDG_MEM_PAGE_ACCEPT,
  TDG_MR_REPORT,
  TDG_MR_RTMR_EXTEND,
  TDG_VM_RD,
  TDG_VP_CPUIDVE_SET,
  TDG_VP_INFO,
  TDG_VP_VEINFO_GET,
  TDX_METADATA_FIELD_ID_INCORRECT,
  TDX_NO_VALID_VE_INFO,
  TDX_OPERAND_INVALID,
  TDX_PAGE_ALREADY_ACCEPTED,
} from "../include/x86/tdx/tdcall.ts";
import { tdx_module_global } from "./tdx_module/sysinfo.ts";
import { anon, assert_errno, open_kvm } from "./kernel/testdata/util.ts";
import {
  capabilities,
  cmd,
  enable_cap,
  enc_op,
  init_vm_struct,
  ptr_of,
  region2,
} from "./kernel/testdata/raw_td.ts";

const SHARED = 1n << 47n;
const REPORT_GPA = 0xfed00000n;
/** The private slot: the top 2 MiB below 4 GiB (the reset vector's page is its last). */
const SLOT_GPA = 0xffe00000n;
const SLOT_SIZE = 2n << 20n;
const CODE_GPA = 0xfffff000n;
const DATA_GPA = 0xffffe000n;
const AUG_GPA = 0xfffd0000n;

/** TDG.VP.VMCALL with R10..R15 exposed. */
function vmcall(leaf: bigint, r12 = 0n, r13 = 0n, r14 = 0n, r15 = 0n, r10 = 0n): tdx_module_args {
  const a: tdx_module_args = { rcx: 0xfc00n, r10, r11: leaf, r12, r13, r14, r15 };
  tdcall(0, a);
  return a;
}

/** Reports a value to the host: an 8-byte MMIO write to a shared GPA. */
function report(v: bigint): void {
  vmcall(48n, 8n, 1n, REPORT_GPA | SHARED, BigInt.asUintN(64, v));
}

/** The TD guest, entered from the reset-vector jump in 32-bit protected mode, paging off. */
export function td_guest_main(_rdi: bigint, rsi: bigint, _rdx: bigint, rcx: bigint): void {
  report(rcx); // INIT_VCPU data
  report(rsi); // VCPU_INDEX
  let a: tdx_module_args = {};
  report(tdcall(TDG_VP_INFO, a));
  report(a.rcx!);
  report(a.r9!);
  report(tdcall(99)); // unknown leaf
  a = { rcx: 1n }; // RAX may not be exposed
  report(tdcall(0, a));
  vmcall(30n, 1n, 1n, 0x80n, 0xabn); // OUT
  report(vmcall(30n, 2n, 0n, 0x81n).r11!); // IN
  report(vmcall(30n, 5n, 1n, 0x80n).r10!); // bad size
  report(vmcall(48n, 4n, 0n, 0xfee01000n | SHARED).r11!); // MMIO read
  report(vmcall(48n, 4n, 0n, 0xfee01000n).r10!); // private MMIO
  report(vmcall(10n, 0n, 0n).r12!); // CPUID via the KVM table
  report(vmcall(31n, 0x1a0n).r11!); // RDMSR MISC_ENABLE
  report(vmcall(31n, 0x10n).r10!); // RDMSR of a non-emulated MSR
  a = vmcall(0x10000n, 0n);
  report(a.r10! | a.r11! | a.r12! | a.r13! | a.r14!); // GetTdVmCallInfo(0)
  report(vmcall(0x10000n, 1n).r11!); // leaf 1: userspace answers
  report(vmcall(0x10000n, 2n).r10!);
  report(vmcall(0x10005n).r10!); // unknown sub-function
  report(vmcall(0x10001n, 0x1000n, 0x1000n).r10!); // MapGPA without the cap
  report(vmcall(0n, 0n, 0n, 0n, 0n, 1n).r10!); // KVM_HC_VAPIC_POLL_IRQ
  report(vmcall(0n, 0n, 0n, 0n, 0n, 99n).r10!); // unknown hypercall
  report(vmcall(0x10002n, 0x1000n, 0x1000n).r10!); // GetQuote, private GPA
  report(vmcall(0x10002n, 0x1000n | SHARED, 0x1000n).r10!); // GetQuote
  report(vmcall(0x10004n, 10n).r10!); // bad vector
  report(vmcall(0x10004n, 40n).r10!);
  // Private memory: written here, never visible to the host.
  writel(0x5a5a5a5a, DATA_GPA);
  report(BigInt(readl(DATA_GPA)));
  report(tdcall(TDG_MEM_PAGE_ACCEPT, { rcx: AUG_GPA }));
  report(tdcall(TDG_MEM_PAGE_ACCEPT, { rcx: AUG_GPA }));
  report(tdcall(TDG_MEM_PAGE_ACCEPT, { rcx: DATA_GPA }));
  report(tdcall(TDG_MEM_PAGE_ACCEPT, { rcx: AUG_GPA | SHARED }));
  writel(0x77, AUG_GPA + 4n);
  report(BigInt(readl(AUG_GPA + 4n)));
  report(tdcall(TDG_MR_REPORT, { rcx: AUG_GPA + 0x400n, rdx: DATA_GPA + 0x40n, r8: 0n }));
  report(tdcall(TDG_MR_REPORT, { rcx: AUG_GPA + 0x10n, rdx: DATA_GPA + 0x40n, r8: 0n }));
  report(tdcall(TDG_MR_RTMR_EXTEND, { rcx: DATA_GPA + 0x40n, rdx: 2n }));
  report(tdcall(TDG_MR_RTMR_EXTEND, { rcx: DATA_GPA + 0x40n, rdx: 5n }));
  report(tdcall(TDG_VP_VEINFO_GET, {}));
  report(tdcall(TDG_VP_CPUIDVE_SET, { rcx: 4n }));
  report(tdcall(TDG_VP_CPUIDVE_SET, { rcx: 0n }));
  report(tdcall(TDG_VM_RD, { rdx: 0x1234n }));
  vmcall(0x10003n, 0x0baaaaad00000000n, 0n); // ReportFatalError
  report(0xd0e5n);
  vmcall(12n, 0n); // HLT
  report(0xfeedn);
  for (;;) vmcall(12n, 0n);
}

Deno.test("raw TD: lifecycle, TDVMCALL and TDCALL leaves, private memory", () => {
  const keys_before = tdx_module_global.nr_keyids_in_use;
  const kvm = open_kvm();
  assertEquals(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES) & (1 << KVM_X86_TDX_VM), 32);
  const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  assertEquals(vm >= 0, true);
  assert_errno(ioctl(vm, KVM_CREATE_VCPU, 0), EIO, "KVM_CREATE_VCPU before INIT_VM");
  assert_errno(ioctl(vm, KVM_CREATE_IRQCHIP, 0), ENOTTY, "KVM_CREATE_IRQCHIP");
  assert_errno(enc_op(vm, cmd(KVM_TDX_CAPABILITIES, 0n, 0, 1n)), EINVAL, "hw_error != 0");
  assert_errno(enc_op(vm, cmd(9, 0n)), EINVAL, "unknown id");
  const { caps, ents } = capabilities(vm);
  assertEquals(caps.supported_attrs, 0x10000000n);
  assertEquals(caps.user_tdvmcallinfo_1_r11, 2n);
  assertEquals(caps.supported_xfam & 3n, 3n);
  const ext8 = ents.find((e) => e[0] === 0x80000008)!;
  assertEquals((ext8[2]! >> 16) & 0xff, 0xff);

  // INIT_VM: reserved, unknown leaf, attributes; then the real one, then a repeat.
  const bad_res = init_vm_struct(ents, (v) => v.reserved.set(3, 1n));
  assert_errno(enc_op(vm, cmd(KVM_TDX_INIT_VM, bad_res)), EINVAL, "reserved != 0");
  const bad_attr = init_vm_struct(ents, (v) => (v.attributes = 1n));
  assert_errno(enc_op(vm, cmd(KVM_TDX_INIT_VM, bad_attr)), EINVAL, "DEBUG attribute");
  const bad_leaf = init_vm_struct([...ents, [0x40000000, 0, 0, 0, 0, 0, 0]]);
  assert_errno(enc_op(vm, cmd(KVM_TDX_INIT_VM, bad_leaf)), EINVAL, "unknown CPUID leaf");
  const good = init_vm_struct(ents);
  const c = cmd(KVM_TDX_INIT_VM, good);
  assertEquals(enc_op(vm, c), 0, `INIT_VM: errno ${errno()} hw_error ${c.hw_error}`);
  assert_errno(enc_op(vm, cmd(KVM_TDX_INIT_VM, good)), EINVAL, "second INIT_VM");

  assert_errno(ioctl(vm, KVM_CREATE_VCPU, 0), EINVAL, "KVM_CREATE_VCPU without split irqchip");
  assertEquals(enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24n), 0);
  const vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  assertEquals(vcpu >= 0, true);
  assert_errno(ioctl(vcpu, KVM_RUN, 0), EINVAL, "KVM_RUN before INIT_VCPU/FINALIZE");
  assert_errno(enc_op(vcpu, cmd(KVM_TDX_INIT_VCPU, 0x1234n)), EINVAL, "INIT_VCPU without x2APIC");

  // GET_CPUID: E2BIG with the count, then the table, which goes to KVM_SET_CPUID2.
  const small = anon(4096);
  assert_errno(enc_op(vcpu, cmd(KVM_TDX_GET_CPUID, small)), E2BIG, "GET_CPUID nent 0");
  const n = new DataView(user_memory(small, 8).slice().buffer).getUint32(0, true);
  assertEquals(n > 4, true);
  const cpuid = anon(8 + n * 40);
  new DataView(user_memory(cpuid, 8).buffer, user_memory(cpuid, 8).byteOffset).setUint32(
    0,
    n,
    true,
  );
  assertEquals(enc_op(vcpu, cmd(KVM_TDX_GET_CPUID, cpuid)), 0);
  assertEquals(ioctl(vcpu, KVM_SET_CPUID2, cpuid), 0);
  assertEquals(enc_op(vcpu, cmd(KVM_TDX_INIT_VCPU, 0x1234n)), 0, `INIT_VCPU: ${errno()}`);
  assert_errno(enc_op(vcpu, cmd(KVM_TDX_INIT_VCPU, 0x1234n)), EINVAL, "INIT_VCPU twice");

  // Memory: guest_memfd (not mappable), the private slot, attributes.
  const g = kvm_create_guest_memfd.alloc();
  g.size = SLOT_SIZE;
  g.flags = 1n; // GUEST_MEMFD_FLAG_MMAP
  assert_errno(ioctl(vm, KVM_CREATE_GUEST_MEMFD, g), EINVAL, "mmap-able guest_memfd");
  g.flags = 0n;
  const gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
  assertEquals(gmem >= 0, true);
  assertEquals(mmap(0n, 4096, PROT_READ, MAP_SHARED, gmem, 0) < 0n, true, "mmap of TD gmem");
  const hva = anon(SLOT_SIZE);
  assert_errno(
    region2(vm, KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY, SLOT_GPA, SLOT_SIZE, hva, gmem),
    EINVAL,
    "read-only",
  );
  assert_errno(
    region2(vm, KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, SLOT_GPA, SLOT_SIZE, hva, gmem),
    EINVAL,
    "dirty log",
  );
  assertEquals(region2(vm, KVM_MEM_GUEST_MEMFD, SLOT_GPA, SLOT_SIZE, hva, gmem), 0);

  // The boot image: the guest's code record, and a jmp at the reset vector.
  const src = new Uint8Array(8192);
  src.set(guest_code_record(td_guest_main), 4096);
  const rel = Number(CODE_GPA) - (0xfffffff0 + 5);
  src.set(
    [0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff],
    8192 - 16,
  );
  const src_addr = ptr_of(src);
  const reg = kvm_tdx_init_mem_region.alloc();
  reg.source_addr = src_addr;
  reg.gpa = DATA_GPA;
  reg.nr_pages = 2n;
  const reg_addr = ptr_of(reg.$bytes);
  const reg_view = kvm_tdx_init_mem_region.view(user_memory(reg_addr, 24));
  assert_errno(enc_op(vcpu, cmd(KVM_TDX_INIT_MEM_REGION, reg_addr, 1)), EINVAL, "not private");
  assertEquals(reg_view.nr_pages, 2n, "written back, no progress");
  const at = kvm_memory_attributes.alloc();
  at.address = SLOT_GPA;
  at.size = SLOT_SIZE;
  at.attributes = BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE);
  assertEquals(ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at), 0);
  assert_errno(enc_op(vcpu, cmd(KVM_TDX_INIT_MEM_REGION, reg_addr, 2)), EINVAL, "bad flags");
  assertEquals(enc_op(vcpu, cmd(KVM_TDX_INIT_MEM_REGION, reg_addr, 1)), 0);
  assertEquals([reg_view.nr_pages, reg_view.gpa], [0n, DATA_GPA + 8192n]);
  reg_view.source_addr = src_addr;
  reg_view.gpa = DATA_GPA;
  reg_view.nr_pages = 1n;
  assert_errno(enc_op(vcpu, cmd(KVM_TDX_INIT_MEM_REGION, reg_addr)), EEXIST, "repeat");

  assert_errno(ioctl(vcpu, KVM_RUN, 0), EINVAL, "KVM_RUN before FINALIZE");
  const fin = cmd(KVM_TDX_FINALIZE_VM, 0n);
  assertEquals(enc_op(vm, fin), 0);
  assertEquals(fin.hw_error, 0n);
  assert_errno(enc_op(vm, cmd(KVM_TDX_FINALIZE_VM, 0n)), EINVAL, "second FINALIZE");
  assert_errno(enc_op(vcpu, cmd(KVM_TDX_GET_CPUID, cpuid)), EINVAL, "GET_CPUID after FINALIZE");
  assert_errno(ioctl(vm, KVM_CREATE_VCPU, 1), EIO, "KVM_CREATE_VCPU after FINALIZE");

  // Protected state.
  const buf = anon(16384);
  for (
    const [name, nr] of [
      ["GET_REGS", KVM_GET_REGS],
      ["SET_REGS", KVM_SET_REGS],
      ["GET_SREGS", KVM_GET_SREGS],
      ["GET_FPU", KVM_GET_FPU],
      ["GET_XSAVE", KVM_GET_XSAVE],
      ["GET_XCRS", KVM_GET_XCRS],
      ["GET_VCPU_EVENTS", KVM_GET_VCPU_EVENTS],
      ["GET_LAPIC", KVM_GET_LAPIC],
    ] as const
  ) assert_errno(ioctl(vcpu, nr, buf), EINVAL, name);
  assert_errno(ioctl(vcpu, KVM_SET_TSC_KHZ, 1000000), EINVAL, "vCPU SET_TSC_KHZ");
  const msrs = anon(4096);
  const mdv = new DataView(user_memory(msrs, 64).buffer, user_memory(msrs, 64).byteOffset, 64);
  mdv.setUint32(0, 2, true);
  mdv.setUint32(8, 0x1a0, true); // MISC_ENABLE: emulated
  mdv.setUint32(24, 0xc0000082, true); // LSTAR: the module's
  assertEquals(ioctl(vcpu, KVM_GET_MSRS, msrs), 1);
  assertEquals(mdv.getBigUint64(16, true), 0x1800n);
  // MCG_CAP is on the TD's emulated list but only KVM_X86_SETUP_MCE sets it:
  // a host write of a non-zero value stops KVM_SET_MSRS at that entry.
  mdv.setUint32(0, 1, true);
  mdv.setUint32(8, 0x179, true);
  mdv.setBigUint64(16, 0x1n, true);
  assertEquals(ioctl(vcpu, KVM_SET_MSRS, msrs), 0);
  mdv.setUint32(8, 0x200, true); // MTRRphysBase0: emulated, kept
  mdv.setBigUint64(16, 0x6n, true);
  assertEquals(ioctl(vcpu, KVM_SET_MSRS, msrs), 1);

  // Run the TD.
  const run_addr = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  const run = kvm_run.view(user_memory(run_addr, 4096));
  const pio = user_memory(run_addr + 4096n, 8);
  const go = (what: string) =>
    assertEquals(ioctl(vcpu, KVM_RUN, 0), 0, `${what}: KVM_RUN errno ${errno()}`);
  const reported = (what: string): bigint => {
    go(what);
    assertEquals(run.exit_reason, KVM_EXIT_MMIO, what);
    assertEquals([run.mmio.phys_addr, run.mmio.len, run.mmio.is_write], [REPORT_GPA, 8, 1], what);
    return new DataView(run.mmio.data.$bytes.slice().buffer).getBigUint64(0, true);
  };
  const INVALID = 0x8000000000000000n;
  const UNSUPPORTED = 0x8000000000000003n;
  assertEquals(reported("RCX at reset"), 0x1234n);
  assertEquals(reported("RSI at reset"), 0n);
  assertEquals(reported("TDG.VP.INFO"), 0n);
  assertEquals(reported("VP.INFO RCX"), 48n);
  assertEquals(reported("VP.INFO R9"), 0n);
  assertEquals(reported("unknown TDCALL"), TDX_OPERAND_INVALID);
  assertEquals(reported("VMCALL exposing RAX"), TDX_OPERAND_INVALID | 1n);
  go("OUT");
  assertEquals(run.exit_reason, KVM_EXIT_IO);
  assertEquals([run.io.direction, run.io.size, run.io.port, run.io.count, run.io.data_offset], [
    1,
    1,
    0x80,
    1,
    4096n,
  ]);
  assertEquals(pio[0], 0xab);
  go("IN");
  assertEquals([run.exit_reason, run.io.direction, run.io.size, run.io.port], [
    KVM_EXIT_IO,
    0,
    2,
    0x81,
  ]);
  pio.set([0xef, 0xbe]);
  assertEquals(reported("IN → R11"), 0xbeefn);
  assertEquals(reported("IO size 5"), INVALID);
  go("MMIO read");
  assertEquals([run.exit_reason, run.mmio.phys_addr, run.mmio.len, run.mmio.is_write], [
    KVM_EXIT_MMIO,
    0xfee01000n,
    4,
    0,
  ]);
  run.mmio.data.$bytes.set([1, 2, 3, 4]);
  assertEquals(reported("MMIO → R11"), 0x04030201n);
  assertEquals(reported("MMIO to a private GPA"), INVALID);
  const leaf0_eax = new DataView(user_memory(cpuid, 48).slice().buffer).getUint32(8 + 12, true);
  assertEquals(reported("CPUID(0) EAX from KVM_SET_CPUID2"), BigInt(leaf0_eax));
  assertEquals(reported("RDMSR MISC_ENABLE"), 0x1800n);
  assertEquals(reported("RDMSR 0x10"), INVALID);
  assertEquals(reported("GetTdVmCallInfo(0)"), 0n);
  go("GetTdVmCallInfo(1)");
  assertEquals(run.exit_reason, KVM_EXIT_TDX);
  const tdx = new DataView(user_memory(run_addr + 32n, 64).slice().buffer);
  assertEquals([
    tdx.getBigUint64(0, true),
    tdx.getBigUint64(8, true),
    tdx.getBigUint64(16, true),
    tdx.getBigUint64(24, true),
  ], [0n, 0x10000n, 0n, 1n]);
  const tdx_w = new DataView(
    user_memory(run_addr + 32n, 64).buffer,
    user_memory(run_addr + 32n, 64).byteOffset,
    64,
  );
  tdx_w.setBigUint64(32, 3n, true); // r11: GetQuote | SetupEventNotify
  assertEquals(reported("GetTdVmCallInfo(1) → R11"), 3n);
  assertEquals(reported("GetTdVmCallInfo(2)"), INVALID);
  assertEquals(reported("unknown sub-function"), UNSUPPORTED);
  assertEquals(reported("MapGPA without KVM_CAP_EXIT_HYPERCALL"), UNSUPPORTED);
  assertEquals(reported("KVM_HC_VAPIC_POLL_IRQ"), 0n);
  assertEquals(reported("unknown hypercall"), BigInt.asUintN(64, -1000n));
  assertEquals(reported("GetQuote private"), INVALID);
  go("GetQuote");
  const q = new DataView(user_memory(run_addr + 32n, 64).slice().buffer);
  assertEquals([
    run.exit_reason,
    q.getBigUint64(8, true),
    q.getBigUint64(16, true),
    q.getBigUint64(24, true),
    q.getBigUint64(32, true),
  ], [KVM_EXIT_TDX, 0x10002n, UNSUPPORTED, 0x1000n, 0x1000n]);
  tdx_w.setBigUint64(16, 0n, true);
  assertEquals(reported("GetQuote → R10"), 0n);
  assertEquals(reported("SetupEventNotify vector 10"), INVALID);
  go("SetupEventNotify");
  assertEquals(run.exit_reason, KVM_EXIT_TDX);
  assertEquals(reported("SetupEventNotify untouched ret"), UNSUPPORTED);
  assertEquals(reported("private read back"), 0x5a5a5a5an);
  // The host sees only the shared backing: never the private write.
  assertEquals(
    new DataView(user_memory(hva + (DATA_GPA - SLOT_GPA), 4).slice().buffer).getUint32(0, true),
    0,
  );
  assert_errno(pread(gmem, new Uint8Array(16), 16, 0x1fe000), ESPIPE, "pread of gmem");
  assertEquals(reported("ACCEPT (AUG by KVM)"), 0n);
  assertEquals(reported("ACCEPT again"), TDX_PAGE_ALREADY_ACCEPTED);
  assertEquals(reported("ACCEPT a PAGE.ADD page"), TDX_PAGE_ALREADY_ACCEPTED);
  assertEquals(reported("ACCEPT shared GPA"), TDX_OPERAND_INVALID | 1n);
  assertEquals(reported("accepted page"), 0x77n);
  assertEquals(reported("TDG.MR.REPORT"), 0n);
  assertEquals(reported("TDG.MR.REPORT misaligned"), TDX_OPERAND_INVALID | 1n);
  assertEquals(reported("RTMR.EXTEND"), 0n);
  assertEquals(reported("RTMR.EXTEND index 5"), TDX_OPERAND_INVALID | 2n);
  assertEquals(reported("VEINFO.GET"), TDX_NO_VALID_VE_INFO);
  assertEquals(reported("CPUIDVE.SET bad"), TDX_OPERAND_INVALID | 1n);
  assertEquals(reported("CPUIDVE.SET"), 0n);
  assertEquals(reported("VM.RD bad field"), TDX_METADATA_FIELD_ID_INCORRECT);
  go("ReportFatalError");
  assertEquals(run.exit_reason, KVM_EXIT_SYSTEM_EVENT);
  const se = new DataView(user_memory(run_addr + 32n, 8 + 16 * 8).slice().buffer);
  assertEquals([se.getUint32(0, true), se.getUint32(4, true)], [KVM_SYSTEM_EVENT_TDX_FATAL, 16]);
  assertEquals(se.getBigUint64(8, true), 77n);
  assertEquals(se.getBigUint64(8 + 8, true), 0xfc00n);
  assertEquals(se.getBigUint64(8 + 11 * 8, true), 0x10003n);
  assertEquals(se.getBigUint64(8 + 12 * 8, true), 0x0baaaaad00000000n);
  assertEquals(reported("resumed after the fatal error"), 0xd0e5n);
  assert_errno(ioctl(vcpu, KVM_RUN, 0), EINTR, "TDVMCALL HLT blocks");
  assertEquals(run.exit_reason, KVM_EXIT_INTR);
  const mp = new Uint32Array([KVM_MP_STATE_RUNNABLE]);
  assertEquals(ioctl(vcpu, KVM_SET_MP_STATE, mp), 0);
  assertEquals(reported("after HLT"), 0xfeedn);
  // The private page, converted to shared, loses its content for the guest.
  at.attributes = 0n;
  assertEquals(ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at), 0);

  // Freeing the VM (its last reference) gives the HKID back.
  munmap(run_addr, 3 * 4096);
  for (const fd of [gmem, vcpu, vm, kvm]) close(fd);
  assertEquals(tdx_module_global.nr_keyids_in_use, keys_before);
});
