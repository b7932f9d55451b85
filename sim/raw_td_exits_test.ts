// SPDX-License-Identifier: GPL-2.0-only
// Raw-ioctl TD tests of exit paths the lifecycle test does not reach, each
// with the exact kvm_run fields and status codes of the spec: MapGPA with
// KVM_CAP_EXIT_HYPERCALL (chunking, userspace answers, validation),
// KVM_EXIT_MEMORY_FAULT, a private → shared → private conversion that loses
// the private content, the SEPT_VE_DISABLE dead-VM path, user-space MSR exits
// and two vCPUs. The guests boot from the reset vector in 32-bit protected
// mode with paging off.
// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "./use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { close, ioctl, mmap, munmap, user_memory } from "../include/libc/syscall.ts";
import { errno_get as errno } from "../include/libc/errno.ts";
import {
  KVM_CAP_EXIT_HYPERCALL,
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CAP_X86_USER_SPACE_MSR,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_MMIO,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_MSR_EXIT_REASON_FILTER,
  KVM_MSR_EXIT_REASON_INVAL,
  KVM_MSR_EXIT_REASON_VALID_MASK,
  kvm_msr_filter,
  KVM_MSR_FILTER_DEFAULT_ALLOW,
  KVM_MSR_FILTER_WRITE,
  KVM_RUN,
  kvm_run,
  KVM_SET_CPUID2,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_X86_SET_MSR_FILTER,
} from "../include/linux/kvm.ts";
import {
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_GET_CPUID,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_TDX_INIT_VCPU,
  KVM_TDX_INIT_VM,
  KVM_X86_TDX_VM,
} from "../include/asm/kvm.ts";
import { EFAULT, EINVAL, EIO } from "../include/linux/errno.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../include/linux/mman.ts";
import { guest_code_record, type guest_fn } from "../include/guest_code.ts";
import { readl, tdcall, type tdx_module_args, writel } from "./cpu/insn.ts";
import { TDG_MEM_PAGE_ACCEPT, TDG_VP_INFO } from "../include/x86/tdx/tdcall.ts";
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
import { set_exe_file } from "./backend.ts";

set_exe_file([import.meta.url]);

const SHARED = 1n << 47n;
const REPORT_GPA = 0xfed00000n;
/** One guest_memfd slot of 8 MiB below 4 GiB; only its top 2 MiB start private. */
const SLOT_GPA = 0xff800000n;
const SLOT_SIZE = 8n << 20n;
const PRIV_GPA = 0xffe00000n;
const CODE_GPA = 0xfffff000n;
/** Pages in the initially shared part of the slot. */
const P = 0xff900000n;
const Q = 0xff901000n;
/** A MapGPA range (KVM checks no memslot for it). */
const G = 0x10000000n;
const MB2 = 2n << 20n;

const SUCCESS = 0n;
const RETRY = 1n;
const INVALID = 0x8000000000000000n;
const ALIGN_ERROR = 0x8000000000000002n;

/** TDG.VP.VMCALL with R10..R15 exposed. */
function vmcall(leaf: bigint, r12 = 0n, r13 = 0n, r14 = 0n, r15 = 0n): tdx_module_args {
  const a: tdx_module_args = { rcx: 0xfc00n, r10: 0n, r11: leaf, r12, r13, r14, r15 };
  tdcall(0, a);
  return a;
}

function report(v: bigint): void {
  vmcall(48n, 8n, 1n, REPORT_GPA | SHARED, BigInt.asUintN(64, v));
}

function map_gpa(gpa: bigint, size: bigint): void {
  const a = vmcall(0x10001n, gpa, size);
  report(a.r10!);
  report(a.r11!);
}

/** MapGPA: chunks, userspace answers, validation. */
export function td_map_gpa_guest(): void {
  map_gpa(G | SHARED, 2n * MB2 + 0x1000n); // three chunks, all ret 0
  map_gpa(G, 2n * MB2); // to private: EAGAIN on the first chunk
  map_gpa(G | SHARED, 2n * MB2); // EINVAL on the second chunk
  map_gpa(G + 0x800n, 0x1000n); // misaligned GPA
  map_gpa(G, 0x1001n); // misaligned size
  map_gpa(G, 0n); // size 0
  map_gpa(0xfffffffffffff000n, 0x2000n); // wraps
  map_gpa(SHARED - 0x1000n, 0x2000n); // crosses the shared bit
  map_gpa(1n << 52n, 0x1000n); // beyond MAXPHYADDR
  map_gpa(G, 0x1000n); // userspace answers 5: KVM_RUN -EINVAL
  for (;;) vmcall(12n);
}

/** Memory faults, ACCEPT, a conversion round trip, then a pending-page access. */
export function td_convert_guest(): void {
  report(tdcall(TDG_MEM_PAGE_ACCEPT, { rcx: P })); // attribute shared: memory fault first
  writel(0x77, P);
  report(BigInt(readl(P)));
  map_gpa(P | SHARED, 0x1000n); // to shared: the private page is dropped
  map_gpa(P, 0x1000n); // back to private
  report(tdcall(TDG_MEM_PAGE_ACCEPT, { rcx: P })); // a fresh page: SUCCESS, not ALREADY_ACCEPTED
  report(BigInt(readl(P))); // zeroed by ACCEPT: the 0x77 is lost
  report(BigInt(readl(Q))); // shared attribute: memory fault; then pending: dead VM
  for (;;) vmcall(12n);
}

/** TDVMCALL RDMSR/WRMSR of MSRs KVM does not emulate, with user-space MSR exits. */
export function td_msr_guest(): void {
  let a = vmcall(31n, 0x10n); // RDMSR IA32_TSC: userspace answers
  report(a.r10!);
  report(a.r11!);
  a = vmcall(32n, 0x11n, 0x1122334455667788n); // WRMSR: userspace fails it
  report(a.r10!);
  a = vmcall(31n, 0x12n); // RDMSR: userspace fails it
  report(a.r10!);
  a = vmcall(32n, 0x1a0n, 0x1801n); // WRMSR MISC_ENABLE: the filter denies it
  report(a.r10!);
  a = vmcall(31n, 0x1a0n); // MISC_ENABLE: emulated in KVM, no exit
  report(a.r11!);
  for (;;) vmcall(12n);
}

/** TDVMCALL #VE.RequestMMIO with size and direction wider than the kernel's `int`s. */
export function td_mmio_width_guest(): void {
  const MMIO = 0xfed01000n | SHARED;
  // Size 4 and write 1 in the low 32 bits: a 4-byte write.
  report(vmcall(48n, (1n << 32n) | 4n, (7n << 32n) | 1n, MMIO, 0x11223344n).r10!);
  // Write 2: invalid; size 3: invalid.
  report(vmcall(48n, 4n, 2n, MMIO, 0n).r10!);
  report(vmcall(48n, 3n, 1n, MMIO, 0n).r10!);
  // A private GPA: invalid.
  report(vmcall(48n, 4n, 1n, 0xfed01000n, 0n).r10!);
  for (;;) vmcall(12n);
}

/** Reports the reset RSI/RCX and TDG.VP.INFO's R8/R9. */
export function td_index_guest(_rdi: bigint, rsi: bigint, _rdx: bigint, rcx: bigint): void {
  report(rsi);
  report(rcx);
  const a: tdx_module_args = {};
  report(tdcall(TDG_VP_INFO, a));
  report(a.r8!);
  report(a.r9!);
  for (;;) vmcall(12n);
}

interface td {
  kvm: number;
  vm: number;
  gmem: number;
  vcpus: { fd: number; run_addr: bigint; run: ReturnType<typeof kvm_run.view> }[];
  set_private(gpa: bigint, size: bigint, priv: boolean): void;
  close(): void;
}

/**
 * A finalized TD running `guest` from the reset vector: `nr_vcpus` vCPUs
 * (INIT_VCPU in `init_order` of vCPU ids, with data 0x100 + id), an 8 MiB
 * guest_memfd slot whose top 2 MiB are private, `caps` enabled on the VM.
 */
function boot_td(
  guest: guest_fn,
  opt: {
    nr_vcpus?: number;
    init_order?: number[];
    caps?: [number, bigint][];
    attributes?: bigint;
  } = {},
): td {
  const nr = opt.nr_vcpus ?? 1;
  const kvm = open_kvm();
  const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const { ents } = capabilities(vm);
  const c = cmd(
    KVM_TDX_INIT_VM,
    init_vm_struct(ents, (v) => (v.attributes = opt.attributes ?? 1n << 28n)),
  );
  assertEquals(enc_op(vm, c), 0, `INIT_VM: errno ${errno()} hw_error ${c.hw_error}`);
  assertEquals(enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24n), 0);
  for (const [cap, arg] of opt.caps ?? []) assertEquals(enable_cap(vm, cap, arg), 0, `cap ${cap}`);
  const fds: number[] = [];
  for (let id = 0; id < nr; id++) {
    const fd = ioctl(vm, KVM_CREATE_VCPU, id);
    assertEquals(fd >= 0, true);
    fds.push(fd);
  }
  const cpuid = anon(8 + 256 * 40);
  new DataView(user_memory(cpuid, 8).buffer, user_memory(cpuid, 8).byteOffset).setUint32(
    0,
    256,
    true,
  );
  assertEquals(enc_op(fds[0]!, cmd(KVM_TDX_GET_CPUID, cpuid)), 0);
  for (const fd of fds) assertEquals(ioctl(fd, KVM_SET_CPUID2, cpuid), 0);
  for (const id of opt.init_order ?? fds.map((_, i) => i)) {
    assertEquals(enc_op(fds[id]!, cmd(KVM_TDX_INIT_VCPU, 0x100n + BigInt(id))), 0);
  }
  const g = kvm_create_guest_memfd.alloc();
  g.size = SLOT_SIZE;
  const gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
  assertEquals(region2(vm, KVM_MEM_GUEST_MEMFD, SLOT_GPA, SLOT_SIZE, anon(SLOT_SIZE), gmem), 0);
  const at = kvm_memory_attributes.alloc();
  const set_private = (gpa: bigint, size: bigint, priv: boolean) => {
    at.address = gpa;
    at.size = size;
    at.attributes = priv ? BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE) : 0n;
    assertEquals(ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at), 0, `attributes: ${errno()}`);
  };
  set_private(PRIV_GPA, 2n << 20n, true);
  const src = new Uint8Array(4096);
  src.set(guest_code_record(guest));
  const rel = Number(CODE_GPA) - (0xfffffff0 + 5);
  src.set(
    [0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff],
    4096 - 16,
  );
  const reg = kvm_tdx_init_mem_region.alloc();
  reg.source_addr = ptr_of(src);
  reg.gpa = CODE_GPA;
  reg.nr_pages = 1n;
  assertEquals(enc_op(fds[0]!, cmd(KVM_TDX_INIT_MEM_REGION, reg.$bytes, 1)), 0);
  assertEquals(enc_op(vm, cmd(KVM_TDX_FINALIZE_VM, 0n)), 0);
  const vcpus = fds.map((fd) => {
    const run_addr = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    return { fd, run_addr, run: kvm_run.view(user_memory(run_addr, 4096)) };
  });
  return {
    kvm,
    vm,
    gmem,
    vcpus,
    set_private,
    close() {
      for (const v of vcpus) {
        munmap(v.run_addr, 3 * 4096);
        close(v.fd);
      }
      for (const fd of [gmem, vm, kvm]) close(fd);
    },
  };
}

/** The `kvm_run` union at offset 32 as u64s (read) and a DataView to write it. */
function run_u(run_addr: bigint) {
  const m = user_memory(run_addr + 32n, 256);
  return {
    q: (i: number) => new DataView(m.slice().buffer).getBigUint64(i * 8, true),
    dv: new DataView(m.buffer, m.byteOffset, 256),
  };
}

function runner(v: td["vcpus"][number]) {
  const go = (what: string) =>
    assertEquals(ioctl(v.fd, KVM_RUN, 0), 0, `${what}: KVM_RUN errno ${errno()}`);
  const reported = (what: string): bigint => {
    go(what);
    assertEquals(v.run.exit_reason, KVM_EXIT_MMIO, what);
    assertEquals(
      [v.run.mmio.phys_addr, v.run.mmio.len, v.run.mmio.is_write],
      [REPORT_GPA, 8, 1],
      what,
    );
    return new DataView(v.run.mmio.data.$bytes.slice().buffer).getBigUint64(0, true);
  };
  /** Runs to a KVM_EXIT_HYPERCALL; checks nr, args[0..2], flags and the preset ret. */
  const hypercall = (what: string, gpa: bigint, pages: bigint, attrs: bigint) => {
    go(what);
    assertEquals(v.run.exit_reason, KVM_EXIT_HYPERCALL, what);
    const u = run_u(v.run_addr);
    // nr @0, args[6] @8, ret @56, flags @64.
    assertEquals([u.q(0), u.q(1), u.q(2), u.q(3), u.q(7), u.q(8)], [
      12n,
      gpa,
      pages,
      attrs,
      0n,
      1n,
    ], what);
    return u;
  };
  return { go, reported, hypercall };
}

Deno.test("raw TD: MapGPA with KVM_CAP_EXIT_HYPERCALL", () => {
  const td = boot_td(td_map_gpa_guest, { caps: [[KVM_CAP_EXIT_HYPERCALL, 1n << 12n]] });
  const v = td.vcpus[0]!;
  const { reported, hypercall } = runner(v);
  // Three chunks of at most 2 MiB, shared bit stripped, args[3..5] left as they are.
  let u = hypercall("chunk 1", G, 512n, 0n);
  u.dv.setBigUint64(8 + 3 * 8, 0xdeadn, true);
  u = hypercall("chunk 2", G + MB2, 512n, 0n);
  assertEquals(u.q(4), 0xdeadn, "args[3] untouched");
  hypercall("chunk 3", G + 2n * MB2, 1n, 0n);
  assertEquals(reported("R10 after three chunks"), SUCCESS);
  reported("R11");
  // To private: KVM_MAP_GPA_RANGE_ENCRYPTED; EAGAIN → RETRY with R11 = the chunk.
  u = hypercall("private chunk 1", G, 512n, 16n);
  u.dv.setBigUint64(56, 11n, true);
  assertEquals(reported("EAGAIN → R10"), RETRY);
  assertEquals(reported("EAGAIN → R11"), G);
  // EINVAL on the second chunk: INVALID_OPERAND, R11 in the guest's form.
  hypercall("chunk 1", G, 512n, 0n);
  u = hypercall("chunk 2", G + MB2, 512n, 0n);
  u.dv.setBigUint64(56, 22n, true);
  assertEquals(reported("EINVAL → R10"), INVALID);
  assertEquals(reported("EINVAL → R11"), (G + MB2) | SHARED);
  for (
    const [what, status, r11] of [
      ["misaligned GPA", ALIGN_ERROR, G + 0x800n],
      ["misaligned size", ALIGN_ERROR, G],
      ["size 0", INVALID, G],
      ["wrap", INVALID, 0xfffffffffffff000n],
      ["crosses the shared bit", INVALID, SHARED - 0x1000n],
      ["beyond MAXPHYADDR", INVALID, 1n << 52n],
    ] as const
  ) {
    assertEquals(reported(what), status, what);
    assertEquals(reported(`${what} R11`), r11, `${what} R11`);
  }
  u = hypercall("a chunk userspace fails with 5", G, 1n, 16n);
  u.dv.setBigUint64(56, 5n, true);
  assert_errno(ioctl(v.fd, KVM_RUN, 0), EINVAL, "hypercall.ret 5");
  td.close();
});

Deno.test("raw TD: memory faults, conversions lose private content, pending access", () => {
  const keys = tdx_module_global.nr_keyids_in_use;
  const td = boot_td(td_convert_guest, { caps: [[KVM_CAP_EXIT_HYPERCALL, 1n << 12n]] });
  const v = td.vcpus[0]!;
  const { reported, hypercall } = runner(v);
  const fault = (what: string, gpa: bigint, flags: bigint) => {
    assert_errno(ioctl(v.fd, KVM_RUN, 0), EFAULT, what);
    assertEquals(v.run.exit_reason, KVM_EXIT_MEMORY_FAULT, what);
    const u = run_u(v.run_addr);
    assertEquals([u.q(0), u.q(1), u.q(2)], [flags, gpa, 4096n], what); // flags, gpa, size
  };
  fault("ACCEPT of a shared-attribute GPA", P, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  td.set_private(P, 4096n, true);
  assertEquals(reported("ACCEPT after the attribute flip"), SUCCESS);
  assertEquals(reported("private write/read"), 0x77n);
  hypercall("MapGPA to shared", P, 1n, 0n);
  td.set_private(P, 4096n, false);
  assertEquals(reported("MapGPA R10"), SUCCESS);
  reported("R11");
  hypercall("MapGPA to private", P, 1n, 16n);
  td.set_private(P, 4096n, true);
  assertEquals(reported("MapGPA R10"), SUCCESS);
  reported("R11");
  assertEquals(reported("ACCEPT of the converted page"), SUCCESS);
  assertEquals(reported("content after the round trip"), 0n);
  fault("private read of a shared-attribute GPA", Q, KVM_MEMORY_EXIT_FLAG_PRIVATE);
  td.set_private(Q, 4096n, true);
  // AUG'ed but not accepted, SEPT_VE_DISABLE set: "Guest access before accepting".
  assert_errno(ioctl(v.fd, KVM_RUN, 0), EIO, "pending access with SEPT_VE_DISABLE");
  assert_errno(ioctl(v.fd, KVM_RUN, 0), EIO, "the VM is dead");
  assert_errno(ioctl(td.vm, KVM_SET_MEMORY_ATTRIBUTES, kvm_memory_attributes.alloc()), EIO, "VM");
  td.close();
  assertEquals(tdx_module_global.nr_keyids_in_use, keys);
});

Deno.test("raw TD: user-space MSR exits", () => {
  const td = boot_td(td_msr_guest, {
    caps: [[KVM_CAP_X86_USER_SPACE_MSR, BigInt(KVM_MSR_EXIT_REASON_VALID_MASK)]],
  });
  // Writes of MISC_ENABLE denied; everything else allowed by default.
  const f = kvm_msr_filter.alloc();
  f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
  const r = f.ranges.at(0);
  r.flags = KVM_MSR_FILTER_WRITE;
  r.base = 0x1a0;
  r.nmsrs = 1;
  r.bitmap = ptr_of(new Uint8Array(1));
  assertEquals(ioctl(td.vm, KVM_X86_SET_MSR_FILTER, f), 0);
  const v = td.vcpus[0]!;
  const { go, reported } = runner(v);
  // struct { u8 error; u8 pad[7]; u32 reason; u32 index; u64 data; } at 32.
  const msr = () => {
    const u = run_u(v.run_addr);
    return {
      u,
      fields: [u.dv.getUint8(0), u.dv.getUint32(8, true), u.dv.getUint32(12, true), u.q(2)],
    };
  };
  // tdx_get_msr()/tdx_set_msr() (tdx.c at 09c6f74e) fail an MSR outside
  // tdx_has_emulated_msr() with 1, not KVM_MSR_RET_UNSUPPORTED: the exit
  // says INVAL (kvm_msr_reason()).
  go("RDMSR 0x10");
  assertEquals(v.run.exit_reason, KVM_EXIT_X86_RDMSR);
  let m = msr();
  assertEquals(m.fields, [0, KVM_MSR_EXIT_REASON_INVAL, 0x10, 0n]);
  m.u.dv.setBigUint64(16, 0x1234n, true);
  assertEquals(reported("RDMSR R10"), SUCCESS);
  assertEquals(reported("RDMSR R11 = msr.data"), 0x1234n);
  go("WRMSR 0x11");
  assertEquals(v.run.exit_reason, KVM_EXIT_X86_WRMSR);
  m = msr();
  assertEquals(m.fields, [0, KVM_MSR_EXIT_REASON_INVAL, 0x11, 0x1122334455667788n]);
  m.u.dv.setUint8(0, 1);
  assertEquals(reported("WRMSR msr.error → R10"), INVALID);
  go("RDMSR 0x12");
  assertEquals(v.run.exit_reason, KVM_EXIT_X86_RDMSR);
  m = msr();
  assertEquals(m.fields, [0, KVM_MSR_EXIT_REASON_INVAL, 0x12, 0n]);
  m.u.dv.setUint8(0, 1);
  assertEquals(reported("RDMSR msr.error → R10"), INVALID);
  go("WRMSR MISC_ENABLE, denied by the filter");
  assertEquals(v.run.exit_reason, KVM_EXIT_X86_WRMSR);
  m = msr();
  assertEquals(m.fields, [0, KVM_MSR_EXIT_REASON_FILTER, 0x1a0, 0x1801n]);
  assertEquals(reported("filtered WRMSR answered by userspace"), SUCCESS);
  assertEquals(reported("MISC_ENABLE in the kernel, unchanged"), 0x1800n);
  td.close();
});

Deno.test("raw TD: two vCPUs, VCPU_INDEX in INIT_VCPU order", () => {
  const td = boot_td(td_index_guest, { nr_vcpus: 2, init_order: [1, 0] });
  for (const [id, index] of [[0, 1n], [1, 0n]] as const) {
    const { reported } = runner(td.vcpus[id]!);
    assertEquals(reported(`vCPU ${id} RSI`), index, "VCPU_INDEX at reset");
    assertEquals(reported(`vCPU ${id} RCX`), 0x100n + BigInt(id), "INIT_VCPU data");
    assertEquals(reported(`vCPU ${id} VP.INFO`), SUCCESS);
    const r8 = reported(`vCPU ${id} VP.INFO R8`);
    assertEquals(r8 & 0xffffffffn, 2n, "NUM_VCPUS");
    assertEquals(reported(`vCPU ${id} VP.INFO R9`), index, "VCPU_INDEX");
  }
  td.close();
});

Deno.test("raw TD: #VE.RequestMMIO takes size and direction as ints (tdx_emulate_mmio())", () => {
  const td = boot_td(td_mmio_width_guest);
  const v = td.vcpus[0]!;
  const { go, reported } = runner(v);
  go("MMIO write, size 1<<32|4, write 7<<32|1");
  assertEquals(v.run.exit_reason, KVM_EXIT_MMIO);
  assertEquals([v.run.mmio.phys_addr, v.run.mmio.len, v.run.mmio.is_write], [0xfed01000n, 4, 1]);
  assertEquals(
    new DataView(v.run.mmio.data.$bytes.slice().buffer).getUint32(0, true),
    0x11223344,
  );
  assertEquals(reported("R10 after the write"), SUCCESS);
  assertEquals(reported("write 2"), INVALID);
  assertEquals(reported("size 3"), INVALID);
  assertEquals(reported("private GPA"), INVALID);
  td.close();
});
