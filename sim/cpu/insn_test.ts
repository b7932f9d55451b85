// SPDX-License-Identifier: GPL-2.0-only
// Each intrinsic's VM exit, as the kernel sees it in the VMCS.
import { assert, assertEquals } from "@std/assert";
import { test_vm } from "./testdata/machine.ts";
import {
  guest_args,
  guest_block_ops,
  guest_call,
  guest_cpuid,
  guest_double,
  guest_hypercall,
  guest_inb_echo,
  guest_mmio,
  guest_msr,
  guest_outb,
  guest_rdtsc_pairs,
  guest_string_io,
} from "./testdata/guest.ts";
import { expect_exit, io_in, io_port, next_report, skip } from "./testdata/kernel.ts";
import {
  EPT_VIOLATION_ACC_READ,
  EPT_VIOLATION_ACC_WRITE,
  EPT_VIOLATION_GVA_IS_VALID,
  EPT_VIOLATION_GVA_TRANSLATED,
  EXIT_REASON_CPUID,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_TDCALL,
  EXIT_REASON_VMCALL,
  GP_VECTOR,
  INTR_INFO_DELIVER_CODE_MASK,
  INTR_INFO_VALID_MASK,
  INTR_TYPE_HARD_EXCEPTION,
  IO_QUAL_REP,
  IO_QUAL_STRING,
  VCPU_REGS_R10,
  VCPU_REGS_R11,
  VCPU_REGS_RAX,
  VCPU_REGS_RBX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
} from "./vmx.ts";

Deno.test("outb exits with EXIT_REASON_IO_INSTRUCTION: port, size and AL in RAX", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_outb);
  const rip = v.vmcs.rip;
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(io_port(v), 0x80);
  assertEquals(Number(v.vmcs.exit_qualification) & 7, 0, "size 1 is encoded as 0");
  assert(!io_in(v));
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RAX) & 0xffn, 0x5an);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RDX) & 0xffffn, 0x80n);
  assertEquals(v.vmcs.exit_instruction_len, 1);
  assertEquals(v.vmcs.rip, rip, "RIP is the function's code record while it runs");
  skip(v);
  expect_exit(v, EXIT_REASON_HLT);
  assertEquals(v.vmcs.rip, rip, "a completed instruction returns RIP to the record");
});

Deno.test("an instruction the kernel does not complete (RIP unchanged) executes again", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_outb);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(io_port(v), 0x80);
  skip(v);
  expect_exit(v, EXIT_REASON_HLT);
});

Deno.test("inb/inl take the kernel's data from RAX", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_inb_echo);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assert(io_in(v));
  assertEquals(io_port(v), 0x60);
  v.vmcs.regs.set(VCPU_REGS_RAX, 0xffffff41n); // only AL is the result
  skip(v);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(io_port(v), 0x61);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RAX) & 0xffn, 0x42n);
  skip(v);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(io_port(v), 0x64);
  assertEquals(Number(v.vmcs.exit_qualification) & 7, 3, "size 4 is encoded as 3");
  v.vmcs.regs.set(VCPU_REGS_RAX, 0x0f0f0f0fn);
  skip(v);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RAX), 0xf0f0f0f0n);
});

Deno.test("cpuid exits with the leaf in EAX/ECX and returns the kernel's EAX..EDX", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_cpuid);
  expect_exit(v, EXIT_REASON_CPUID);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RAX), 0x40000000n);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RCX), 7n);
  assertEquals(v.vmcs.exit_instruction_len, 2);
  v.vmcs.regs.set(VCPU_REGS_RBX, 0x4b4d564bn);
  skip(v);
  assertEquals(next_report(v), 0x4b4d564b);
});

Deno.test("rdmsr/wrmsr exit with ECX and EDX:EAX; an injected #GP makes rdmsr_safe return 13", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_msr);
  expect_exit(v, EXIT_REASON_MSR_READ);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RCX), 0x10n);
  v.vmcs.regs.set(VCPU_REGS_RAX, 0xfffffffen);
  v.vmcs.regs.set(VCPU_REGS_RDX, 0x1n);
  skip(v);
  expect_exit(v, EXIT_REASON_MSR_WRITE);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RCX), 0x1234n);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RAX), 0xffffffffn);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RDX), 0x1n);
  skip(v);
  expect_exit(v, EXIT_REASON_MSR_READ);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RCX), 0xdeadn);
  // KVM rejects the MSR: inject #GP(0) and leave RIP alone.
  v.vmcs.entry_intr_info = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
    INTR_INFO_DELIVER_CODE_MASK | GP_VECTOR;
  v.vmcs.entry_exception_error_code = 0;
  assertEquals(next_report(v), GP_VECTOR);
  assertEquals(v.vmcs.entry_intr_info, 0, "the CPU consumed the event");
});

Deno.test("vmcall passes the KVM hypercall ABI; tdcall exits with reason 77 and the GPRs", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_hypercall);
  expect_exit(v, EXIT_REASON_VMCALL);
  assertEquals(v.vmcs.exit_instruction_len, 3);
  const r = (i: number) => v.vmcs.regs.at(i);
  assertEquals([r(VCPU_REGS_RAX), r(VCPU_REGS_RBX), r(VCPU_REGS_RCX), r(VCPU_REGS_RDX)], [
    12n,
    1n,
    2n,
    3n,
  ]);
  assertEquals(r(VCPU_REGS_RSI), 4n);
  v.vmcs.regs.set(VCPU_REGS_RAX, 77n);
  skip(v);
  assertEquals(next_report(v), 77);
  expect_exit(v, EXIT_REASON_TDCALL);
  assertEquals(v.vmcs.exit_instruction_len, 4);
  assertEquals(r(VCPU_REGS_RAX), 0n);
  assertEquals(r(VCPU_REGS_RCX), 0xfc00n);
  assertEquals(r(VCPU_REGS_R11), 30n);
  v.vmcs.regs.set(VCPU_REGS_R11, 0xabcn);
  v.vmcs.regs.set(VCPU_REGS_R10, 0n);
  skip(v);
  assertEquals(next_report(v), 0);
  assertEquals(next_report(v), 0xabc);
});

Deno.test("rep outsb/insb move the data through the VMCS I/O page, batched as KVM's emulator does", () => {
  const vm = new test_vm();
  const buf = vm.alloc_page();
  new Uint8Array(vm.ram, buf, 5).set([104, 101, 108, 108, 111]);
  using v = vm.vcpu(guest_string_io, [BigInt(buf)]);
  // OUTS: one element per exit (em_out() passes count 1).
  let text = "";
  for (let i = 0; i < 5; i++) {
    expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
    const q = Number(v.vmcs.exit_qualification);
    assertEquals(q & (IO_QUAL_STRING | IO_QUAL_REP), IO_QUAL_STRING | IO_QUAL_REP);
    assertEquals(v.vmcs.io_count, 1);
    text += String.fromCharCode(v.vmcs.io_data.$bytes[0]!);
    skip(v);
  }
  assertEquals(text, "hello");
  // INS: read ahead, all three in one exit.
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assert(io_in(v));
  assertEquals(v.vmcs.io_count, 3);
  v.vmcs.io_data.$bytes.set([1, 2, 3]);
  skip(v);
  assertEquals(next_report(v), 0x030201);
});

Deno.test("MMIO: an access without a memslot is an EPT violation with the decoded access", () => {
  const vm = new test_vm();
  const gva = 0x500000n; // mapped to a GPA outside RAM
  vm.map(gva, 0xfee00000, 3n);
  using v = vm.vcpu(guest_mmio, [gva]);
  expect_exit(v, EXIT_REASON_EPT_VIOLATION);
  const q = Number(v.vmcs.exit_qualification & 0xffffffffn);
  assertEquals(
    q,
    EPT_VIOLATION_ACC_WRITE | EPT_VIOLATION_GVA_IS_VALID | EPT_VIOLATION_GVA_TRANSLATED,
  );
  assertEquals(v.vmcs.guest_physical_address, 0xfee00000n);
  assertEquals(v.vmcs.guest_linear_address, gva);
  assertEquals([v.vmcs.mmio_len, v.vmcs.mmio_is_write], [4, 1]);
  assertEquals(v.vmcs.mmio_data.toArray(), [0x0d, 0xf0, 0xfe, 0xca, 0, 0, 0, 0]);
  skip(v); // the kernel emulated the write
  expect_exit(v, EXIT_REASON_EPT_VIOLATION);
  assertEquals(Number(v.vmcs.exit_qualification) & 7, EPT_VIOLATION_ACC_READ);
  assertEquals(v.vmcs.guest_physical_address, 0xfee00008n);
  assertEquals([v.vmcs.mmio_len, v.vmcs.mmio_is_write], [8, 0]);
  v.vmcs.mmio_data.$bytes.set([1, 2, 3, 4, 5, 6, 7, 8]);
  skip(v);
  assertEquals(next_report(v), 0x04030201);
  assertEquals(next_report(v), 0x08070605);
});

Deno.test("memset, write_bytes, read_bytes: page by page through each page's own mapping", () => {
  const vm = new test_vm();
  // Three virtually contiguous pages on scattered frames; the range starts
  // 16 bytes before the end of the first and ends 16 bytes into the third.
  const frames = [0x300000, 0x305000, 0x302000];
  frames.forEach((gpa, i) => vm.map(0x700000n + BigInt(i) * 0x1000n, gpa, 3n));
  const n = 16 + 4096 + 16;
  const host = (i: number): number => {
    const at = 0x700ff0 - 0x700000 + i;
    return new Uint8Array(vm.ram)[frames[at >> 12]! + (at & 0xfff)]!;
  };
  using v = vm.vcpu(guest_block_ops, [0x700ff0n, BigInt(n)]);
  assertEquals(next_report(v), 1);
  for (let i = 0; i < n; i++) assertEquals(host(i), 0x5a, `memset byte ${i}`);
  assertEquals(host(-1), 0, "the byte before the range");
  assertEquals(host(n), 0, "the byte after the range");
  assertEquals(next_report(v), 2);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    assertEquals(host(i), (i * 7 + 1) & 0xff, `write_bytes byte ${i}`);
    sum += host(i);
  }
  assertEquals(next_report(v), sum, "read_bytes");
  expect_exit(v, EXIT_REASON_HLT);
});

Deno.test("a block write that runs into MMIO exits once per byte there", () => {
  const vm = new test_vm();
  vm.map(0x710000n, 0x310000, 3n);
  vm.map(0x711000n, 0xfee00000, 3n); // no memslot: MMIO
  using v = vm.vcpu(guest_block_ops, [0x710ffen, 4n]);
  for (const gpa of [0xfee00000n, 0xfee00001n]) {
    expect_exit(v, EXIT_REASON_EPT_VIOLATION);
    assertEquals(v.vmcs.guest_physical_address, gpa);
    assertEquals([v.vmcs.mmio_len, v.vmcs.mmio_is_write], [1, 1]);
    assertEquals(v.vmcs.mmio_data.toArray()[0], 0x5a);
    skip(v);
  }
  assertEquals(new Uint8Array(vm.ram, 0x310ffe, 2).toString(), "90,90");
  assertEquals(next_report(v), 1);
});

Deno.test("a read-only memslot turns writes into EPT violations and serves reads", () => {
  const vm = new test_vm();
  const rom = new SharedArrayBuffer(4096);
  new DataView(rom).setUint32(0, 0x524f4d21, true);
  vm.map(0x600000n, 0x10000000, 3n);
  using v = vm.vcpu(guest_mmio, [0x600000n]);
  const map = vm.memory_map();
  v.set_memory_map({
    slots: [...map.slots, {
      slot: 1,
      base_gpa: 0x10000000n,
      npages: 1,
      readonly: true,
      backing: { chunks: [rom], chunk_size: 4096, offset: 0 },
    }],
  });
  expect_exit(v, EXIT_REASON_EPT_VIOLATION);
  assertEquals(v.vmcs.mmio_is_write, 1);
  assertEquals(v.vmcs.guest_physical_address, 0x10000000n);
  skip(v);
  // The read (at +8) is served from the slot: zeroes.
  assertEquals(next_report(v), 0);
  assertEquals(new DataView(rom).getUint32(0, true), 0x524f4d21, "the write did not land");
});

Deno.test("an entry function receives RDI, RSI, RDX, RCX as arguments", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_args, [1n, 2n, 3n, 0xffffffffn]);
  assertEquals(
    [next_report(v), next_report(v), next_report(v), next_report(v)],
    [1, 2, 3, 0xffffffff],
  );
});

Deno.test("call() runs a guest function by its record's address with RIP at the callee", () => {
  const vm = new test_vm();
  const target = vm.load_fn(guest_double);
  const bitmap = vm.alloc_page();
  using v = vm.vcpu(guest_call, [BigInt(target), BigInt(bitmap)]);
  const caller_rip = v.vmcs.rip;
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(io_port(v), 0x81);
  assertEquals(v.vmcs.rip, BigInt(target), "RIP is the callee's record");
  skip(v);
  assertEquals(next_report(v), 10);
  assertEquals(v.vmcs.rip, caller_rip + 1n, "back in the caller (the report was completed)");
  assertEquals(next_report(v), 6, "with_exception_fixup returns #UD's vector");
  assertEquals(next_report(v) | 0, -1, "and -1 when nothing was raised");
  assertEquals(next_report(v), 0, "bit 9 was clear");
  assertEquals(next_report(v), 1, "bit 9 was set");
  assertEquals(next_report(v), 0, "cleared again");
  assertEquals(vm.dv.getUint8(bitmap + 1), 0);
});

Deno.test("rdtsc: every read is later than the one before (the TSC counts cycles)", () => {
  const vm = new test_vm();
  using v = vm.vcpu(guest_rdtsc_pairs);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RAX) & 0xffn, 0n, "pairs that did not increase");
});
