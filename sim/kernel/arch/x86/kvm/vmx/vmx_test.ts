// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_RUN with a guest: each exit `vmx_handle_exit()` produces, with the
 * exact `kvm_run` fields, and the completion of the exiting instruction on
 * the next KVM_RUN (`complete_userspace_io`), through the syscall boundary.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../../use_sim_backend.ts";
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { ioctl, ioctl_async, ptr } from "../../../../../../include/libc/syscall.ts";
import {
  KVM_CAP_EXIT_HYPERCALL,
  KVM_CAP_X86_USER_SPACE_MSR,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_EXIT_HLT,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_INTERNAL_ERROR_EMULATION,
  KVM_MEM_READONLY,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_MSR_EXIT_REASON_FILTER,
  KVM_MSR_EXIT_REASON_UNKNOWN,
  kvm_msr_filter,
  KVM_MSR_FILTER_READ,
  KVM_MSR_FILTER_WRITE,
  KVM_RUN,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_X86_SET_MSR_FILTER,
  KVM_X86_SW_PROTECTED_VM,
} from "../../../../../../include/linux/kvm.ts";
import { EFAULT, EINTR } from "../../../../../../include/linux/errno.ts";
import { KVM_ENOSYS, KVM_HC_MAP_GPA_RANGE } from "../../../../../../include/linux/kvm_para.ts";
import { errno_get } from "../../../../../../include/libc/errno.ts";
import { GuestCodeError } from "../../../../../backend.ts";
import { set_run_deadline } from "../../../../../cpu/vcpu_thread.ts";
import { RAW_DATA, raw_vm } from "../../../../testdata/raw_vm.ts";
import { anon, assert_errno, set_region } from "../../../../testdata/util.ts";
import {
  g_cpuid,
  g_crash,
  g_hlt,
  g_hypercall,
  g_jump,
  g_mmio,
  g_msr,
  g_port_io,
  g_read,
  g_ro_write,
  g_spin,
  g_string_io,
  g_tdcall,
} from "../../../../testdata/run_guest.ts";

function run(vm: raw_vm, expect: number, what = "exit"): void {
  assertEquals(ioctl(vm.vcpu_fd, KVM_RUN, 0), 0, `KVM_RUN: errno ${errno_get()}`);
  assertEquals(vm.run.exit_reason, expect, what);
}

/** Runs to the next OUT on `port` and returns its data. */
function out(vm: raw_vm, port: number, size = 4): number {
  run(vm, KVM_EXIT_IO, `OUT to ${port.toString(16)}`);
  const io = vm.run.io;
  assertEquals([io.direction, io.size, io.port, io.count, io.data_offset], [
    1,
    size,
    port,
    1,
    4096n,
  ]);
  return vm.pio_value(size);
}

function enable_cap(vm: raw_vm, cap: number, arg: bigint): void {
  const c = kvm_enable_cap.alloc();
  c.cap = cap;
  c.args.set(0, arg);
  assertEquals(ioctl(vm.vm_fd, KVM_ENABLE_CAP, c), 0);
}

Deno.test("KVM_EXIT_IO: OUT data in the PIO page; IN completed into AL/AX/EAX on re-entry", () => {
  using vm = new raw_vm();
  vm.start(g_port_io);
  assertEquals(out(vm, 0x80, 1), 0x5a);
  // RIP stays at the OUT during the exit; the next KVM_RUN completes it.
  const rip = vm.regs().rip;
  assertEquals(out(vm, 0x81, 2), 0x1234);
  assertEquals(vm.regs().rip, rip, "the next instruction is in the same guest function");
  assertEquals(out(vm, 0x82, 4), 0xcafef00d);
  for (
    const [port, size, value] of [[0x90, 1, 0xab], [0x91, 2, 0xbeef], [
      0x92,
      4,
      0x89abcdef,
    ]] as const
  ) {
    run(vm, KVM_EXIT_IO, `IN from ${port}`);
    const io = vm.run.io;
    assertEquals([io.direction, io.size, io.port, io.count], [0, size, port, 1]);
    new DataView(vm.pio.buffer, vm.pio.byteOffset).setUint32(0, value, true);
  }
  assertEquals(out(vm, 0x93), 0xab);
  assertEquals(out(vm, 0x94), 0xbeef);
  assertEquals(out(vm, 0x95), 0x89abcdef);
  run(vm, KVM_EXIT_HLT);
});

Deno.test("KVM_EXIT_IO: string I/O elements in the PIO page as the emulator batches them, INS lands in guest memory", () => {
  using vm = new raw_vm();
  new Uint8Array(vm.ram.buffer, vm.ram.byteOffset + RAW_DATA, 5).set([1, 2, 3, 4, 5]);
  vm.start(g_string_io, [BigInt(RAW_DATA)]);
  // REP OUTS: one element per exit (em_out() passes count 1).
  let io = vm.run.io;
  for (let i = 0; i < 5; i++) {
    run(vm, KVM_EXIT_IO);
    io = vm.run.io;
    assertEquals([io.direction, io.size, io.port, io.count, io.data_offset], [
      1,
      1,
      0x3f8,
      1,
      4096n,
    ]);
    assertEquals(vm.pio[0], i + 1);
  }
  // REP INS: the read-ahead takes all three at once.
  run(vm, KVM_EXIT_IO);
  io = vm.run.io;
  assertEquals([io.direction, io.size, io.port, io.count], [0, 1, 0x3f8, 3]);
  vm.pio.set([7, 8, 9]);
  assertEquals(out(vm, 0x3f9), 0x090807);
  assertEquals([...new Uint8Array(vm.ram.buffer, vm.ram.byteOffset + RAW_DATA + 16, 3)], [7, 8, 9]);
});

Deno.test("KVM_EXIT_MMIO: no memslot; write data, read completed from kvm_run.mmio.data", () => {
  using vm = new raw_vm();
  vm.map(0xd0000000n, 0xd0000000n, 3n);
  vm.start(g_mmio, [0xd0000000n]);
  run(vm, KVM_EXIT_MMIO);
  const m = vm.run.mmio;
  assertEquals([m.phys_addr, m.len, m.is_write], [0xd0000000n, 4, 1]);
  assertEquals([...m.data.$bytes.slice(0, 4)], [0x0d, 0xf0, 0xfe, 0xca]);
  run(vm, KVM_EXIT_MMIO);
  assertEquals([m.phys_addr, m.len, m.is_write], [0xd0000008n, 8, 0]);
  m.data.$bytes.set([1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals(out(vm, 0x70), 0x04030201);
  assertEquals(out(vm, 0x71), 0x08070605);
});

Deno.test("KVM_EXIT_MMIO: a write to a read-only memslot; reads of it are RAM", () => {
  using vm = new raw_vm();
  const hva = anon(4096);
  assertEquals(set_region(vm.vm_fd, 1, KVM_MEM_READONLY, 0x1000000n, 4096n, hva), 0);
  vm.map(0x1000000n, 0x1000000n, 3n);
  vm.start(g_ro_write, [0x1000000n]);
  run(vm, KVM_EXIT_MMIO);
  const m = vm.run.mmio;
  assertEquals([m.phys_addr, m.len, m.is_write], [0x1000000n, 4, 1]);
  assertEquals(out(vm, 0x72), 0, "the slot's memory is unchanged");
});

Deno.test("KVM_EXIT_INTERNAL_ERROR: instruction fetch from a GPA without a memslot", () => {
  using vm = new raw_vm();
  vm.map(0xe0000000n, 0xe0000000n, 3n);
  vm.start(g_jump, [0xe0000000n]);
  run(vm, KVM_EXIT_INTERNAL_ERROR);
  const e = vm.run.emulation_failure;
  assertEquals([e.suberror, e.ndata, e.flags], [KVM_INTERNAL_ERROR_EMULATION, 6, 0n]);
  assertEquals(vm.run.internal.data.at(1), 48n, "data[1]: VMX exit reason EPT_VIOLATION");
});

Deno.test("CPUID is answered in the kernel from the vCPU's table", () => {
  using vm = new raw_vm();
  vm.start(g_cpuid);
  assertEquals(out(vm, 0x73) >= 0xd, true, "max basic leaf");
  assertEquals(out(vm, 0x73), 0x756e6547);
  assertEquals(out(vm, 0x73), 0x000806f8);
  // CR4.OSXSAVE is clear: the runtime OSXSAVE bit (ECX bit 27) reads as 0.
  assertEquals(out(vm, 0x73) & (1 << 27), 0);
});

Deno.test("RDMSR/WRMSR: emulated in the kernel; unknown MSRs #GP without user-space exits", () => {
  using vm = new raw_vm();
  vm.start(g_msr, [0xc0000081n, 0x0023001000000000n]); // STAR
  assertEquals(out(vm, 0x74), 0);
  assertEquals(out(vm, 0x74), 0);
  assertEquals(out(vm, 0x75), 0, "wrmsr_safe: no fault");
  assertEquals(out(vm, 0x76), 1);
  using vm2 = new raw_vm();
  vm2.start(g_msr, [0x12345678n, 1n]);
  // rdmsr() of an unknown MSR: #GP, and without an IDT the guest triple-faults.
  run(vm2, KVM_EXIT_SHUTDOWN);
});

Deno.test("KVM_EXIT_X86_RDMSR/WRMSR: user-space MSR exits; msr.error and msr.data apply on re-entry", () => {
  using vm = new raw_vm();
  enable_cap(
    vm,
    KVM_CAP_X86_USER_SPACE_MSR,
    BigInt(KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN),
  );
  vm.start(g_msr, [0x12345678n, 0xaabbccdd11223344n]);
  run(vm, KVM_EXIT_X86_RDMSR);
  const m = vm.run.msr;
  assertEquals([m.error, m.reason, m.index, m.data], [
    0,
    KVM_MSR_EXIT_REASON_UNKNOWN,
    0x12345678,
    0n,
  ]);
  m.data = 0x0102030405060708n;
  assertEquals(out(vm, 0x74), 0x05060708);
  assertEquals(out(vm, 0x74), 0x01020304);
  run(vm, KVM_EXIT_X86_WRMSR);
  assertEquals([m.reason, m.index, m.data], [
    KVM_MSR_EXIT_REASON_UNKNOWN,
    0x12345678,
    0xaabbccdd11223344n,
  ]);
  m.error = 1;
  assertEquals(out(vm, 0x75), 13, "wrmsr_safe: #GP from msr.error");
  run(vm, KVM_EXIT_X86_WRMSR);
  m.error = 0;
  assertEquals(out(vm, 0x76), 1);
});

Deno.test("KVM_EXIT_X86_RDMSR: an MSR the filter denies exits with reason FILTER", () => {
  using vm = new raw_vm();
  enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, BigInt(KVM_MSR_EXIT_REASON_FILTER));
  const f = kvm_msr_filter.alloc();
  const bitmap = new Uint8Array(8); // all denied
  const r = f.ranges.at(0);
  r.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;
  r.base = 0xc0000081;
  r.nmsrs = 1;
  r.bitmap = ptr(bitmap);
  assertEquals(ioctl(vm.vm_fd, KVM_X86_SET_MSR_FILTER, f), 0);
  vm.start(g_msr, [0xc0000081n, 5n]);
  run(vm, KVM_EXIT_X86_RDMSR);
  assertEquals([vm.run.msr.reason, vm.run.msr.index], [KVM_MSR_EXIT_REASON_FILTER, 0xc0000081]);
});

Deno.test("VMCALL: MAP_GPA_RANGE exits when enabled; -KVM_ENOSYS otherwise and for unknown nr", () => {
  using vm = new raw_vm();
  vm.start(g_hypercall, [BigInt(KVM_HC_MAP_GPA_RANGE), 0x100000n, 4n, 0x10n]);
  const enosys = BigInt.asUintN(64, BigInt(-KVM_ENOSYS));
  assertEquals(out(vm, 0x77), Number(enosys & 0xffffffffn));
  assertEquals(out(vm, 0x77), 0xffffffff);
  using vm2 = new raw_vm();
  enable_cap(vm2, KVM_CAP_EXIT_HYPERCALL, 1n << BigInt(KVM_HC_MAP_GPA_RANGE));
  vm2.start(g_hypercall, [BigInt(KVM_HC_MAP_GPA_RANGE), 0x100000n, 4n, 0x10n]);
  run(vm2, KVM_EXIT_HYPERCALL);
  const h = vm2.run.hypercall;
  assertEquals([h.nr, h.args.at(0), h.args.at(1), h.args.at(2), h.flags], [
    BigInt(KVM_HC_MAP_GPA_RANGE),
    0x100000n,
    4n,
    0x10n,
    1n,
  ]);
  h.ret = 0x123n;
  assertEquals(out(vm2, 0x77), 0x123);
  using vm3 = new raw_vm();
  vm3.start(g_hypercall, [0x4242n, 0n, 0n, 0n]);
  assertEquals(out(vm3, 0x77), Number(enosys & 0xffffffffn));
});

Deno.test("KVM_EXIT_HLT: RIP is past the HLT; the guest continues on re-entry", () => {
  using vm = new raw_vm();
  vm.start(g_hlt);
  const start = vm.regs().rip;
  run(vm, KVM_EXIT_HLT);
  assertEquals(vm.regs().rip, start + 1n);
  assertEquals(out(vm, 0x78, 1), 1);
  run(vm, KVM_EXIT_HLT);
});

Deno.test("KVM_EXIT_SHUTDOWN: a #PF without an IDT triple-faults; TDCALL outside a TD too (#UD)", () => {
  using vm = new raw_vm();
  vm.start(g_read, [0x40000000n]);
  run(vm, KVM_EXIT_SHUTDOWN);
  using vm2 = new raw_vm();
  vm2.start(g_tdcall);
  run(vm2, KVM_EXIT_SHUTDOWN);
});

Deno.test("KVM_EXIT_MEMORY_FAULT: a private page without guest_memfd fails KVM_RUN with EFAULT", () => {
  using vm = new raw_vm(KVM_X86_SW_PROTECTED_VM);
  const a = kvm_memory_attributes.alloc();
  a.address = BigInt(RAW_DATA);
  a.size = 4096n;
  a.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE;
  assertEquals(ioctl(vm.vm_fd, KVM_SET_MEMORY_ATTRIBUTES, a), 0);
  vm.start(g_read, [BigInt(RAW_DATA) + 8n]);
  assert_errno(ioctl(vm.vcpu_fd, KVM_RUN, 0), EFAULT);
  const f = vm.run.memory_fault;
  assertEquals(vm.run.exit_reason, KVM_EXIT_MEMORY_FAULT);
  assertEquals([f.flags, f.gpa, f.size], [KVM_MEMORY_EXIT_FLAG_PRIVATE, BigInt(RAW_DATA), 4096n]);
  // Shared again: the same access now reads RAM.
  a.attributes = 0n;
  assertEquals(ioctl(vm.vm_fd, KVM_SET_MEMORY_ATTRIBUTES, a), 0);
  assertEquals(out(vm, 0x79), 0);
});

Deno.test("immediate_exit after an exit completes the instruction and returns EINTR", () => {
  using vm = new raw_vm();
  vm.start(g_port_io);
  assertEquals(out(vm, 0x80, 1), 0x5a);
  vm.run.immediate_exit = 1;
  assert_errno(ioctl(vm.vcpu_fd, KVM_RUN, 0), EINTR);
  assertEquals(vm.run.exit_reason, KVM_EXIT_IO, "exit_reason is left alone");
  vm.run.immediate_exit = 0;
  assertEquals(out(vm, 0x81, 2), 0x1234, "the OUT was completed once, not repeated");
});

Deno.test("a guest that throws: KVM_RUN throws GuestCodeError with the guest stack", () => {
  using vm = new raw_vm();
  vm.start(g_crash);
  assertEquals(out(vm, 0x7a, 1), 1);
  const e = assertThrows(() => ioctl(vm.vcpu_fd, KVM_RUN, 0), GuestCodeError);
  assertEquals(e.message.includes("guest bug on purpose"), true);
  assertEquals(e.guest_stack.includes("g_crash"), true, e.guest_stack);
});

Deno.test("async KVM_RUN: a guest crash rejects with GuestCodeError", async () => {
  using vm = new raw_vm();
  vm.start(g_crash);
  assertEquals(await ioctl_async(vm.vcpu_fd, KVM_RUN, 0), 0);
  await assertRejects(() => ioctl_async(vm.vcpu_fd, KVM_RUN, 0), GuestCodeError);
});

Deno.test("run deadline: a guest that never exits ends KVM_RUN with EINTR / KVM_EXIT_INTR", () => {
  using vm = new raw_vm();
  vm.start(g_spin, [BigInt(RAW_DATA)]);
  set_run_deadline(200);
  try {
    assert_errno(ioctl(vm.vcpu_fd, KVM_RUN, 0), EINTR);
    assertEquals(vm.run.exit_reason, KVM_EXIT_INTR);
  } finally {
    set_run_deadline(undefined);
  }
});
