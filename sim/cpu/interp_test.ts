// SPDX-License-Identifier: GPL-2.0-only
// The interpreter inside the CPU, without the kernel: code records and machine
// code calling each other, TypeScript handlers for faults of machine code, and
// the exit information (`exit_instruction_len`, RIP) of every exiting form.
import { assertEquals } from "@std/assert";
import { test_vm } from "./testdata/machine.ts";
import { guest_call, guest_jmp, ud_skip_handler } from "./testdata/guest.ts";
import { expect_exit, io_port, next_report, skip } from "./testdata/kernel.ts";
import {
  EXIT_REASON_CPUID,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_TDCALL,
  EXIT_REASON_VMCALL,
  UD_VECTOR,
  VCPU_REGS_RAX,
} from "./vmx.ts";

/** A page for machine code, identity-mapped and executable. */
const CODE = 0x2f0000;

function code_at(vm: test_vm, at: number, bytes: number[]): void {
  for (let i = 0; i < bytes.length; i++) vm.dv.setUint8(at + i, bytes[i]!);
}

Deno.test("machine code faults into a TypeScript handler, which skips it; the code goes on", () => {
  const vm = new test_vm();
  vm.set_handler(UD_VECTOR, ud_skip_handler);
  // ud2; mov al, 0x42; out 0x80, al; hlt
  code_at(vm, CODE, [0x0f, 0x0b, 0xb0, 0x42, 0xe6, 0x80, 0xf4]);
  using v = vm.vcpu(guest_jmp, [BigInt(CODE)]);
  assertEquals(next_report(v), UD_VECTOR);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals([io_port(v), v.vmcs.rip, v.vmcs.exit_instruction_len], [0x80, BigInt(CODE + 4), 2]);
  assertEquals(v.vmcs.regs.at(VCPU_REGS_RAX) & 0xffn, 0x42n);
  skip(v);
  expect_exit(v, EXIT_REASON_HLT);
  assertEquals([v.vmcs.rip, v.vmcs.exit_instruction_len], [BigInt(CODE + 6), 1]);
});

Deno.test("a code record calls machine code with the SysV argument registers; RET returns its RAX", () => {
  const vm = new test_vm();
  vm.set_handler(UD_VECTOR, ud_skip_handler);
  // lea rax, [rdi + rdi]; out 0x81, al; ret
  code_at(vm, CODE, [0x48, 0x8d, 0x04, 0x3f, 0xe6, 0x81, 0xc3]);
  using v = vm.vcpu(guest_call, [BigInt(CODE), BigInt(CODE + 0x800)]);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals([io_port(v), v.vmcs.regs.at(VCPU_REGS_RAX)], [0x81, 10n]);
  skip(v);
  assertEquals(next_report(v), 10, "the caller got RAX");
  // guest_call goes on with its own intrinsics.
  assertEquals(next_report(v), UD_VECTOR);
});

Deno.test("machine code jumps into a code record, which runs", () => {
  const vm = new test_vm();
  const target = vm.load_fn(guest_jmp);
  // mov rdi, CODE + 0x10; mov rax, target; jmp rax; (at +0x10) out 0x82, al; hlt
  const b = [0x48, 0xc7, 0xc7, ...le32(CODE + 0x10), 0x48, 0xc7, 0xc0, ...le32(target), 0xff, 0xe0];
  code_at(vm, CODE, b);
  code_at(vm, CODE + 0x10, [0xe6, 0x82, 0xf4]);
  using v = vm.vcpu(guest_jmp, [BigInt(CODE)]);
  expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
  assertEquals([io_port(v), v.vmcs.rip], [0x82, BigInt(CODE + 0x10)]);
});

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

Deno.test("exit_instruction_len of every exiting form is its encoded length (prefixes included)", () => {
  const vm = new test_vm();
  const forms: [number[], number][] = [
    [[0x66, 0xe7, 0x10], EXIT_REASON_IO_INSTRUCTION], // out 0x10, ax
    [[0xec], EXIT_REASON_IO_INSTRUCTION], // in al, dx
    [[0x2e, 0x66, 0xef], EXIT_REASON_IO_INSTRUCTION], // cs out dx, ax (ignored override)
    [[0x0f, 0xa2], EXIT_REASON_CPUID],
    [[0x0f, 0x32], EXIT_REASON_MSR_READ],
    [[0x0f, 0x01, 0xc1], EXIT_REASON_VMCALL],
    [[0x66, 0x0f, 0x01, 0xcc], EXIT_REASON_TDCALL],
    [[0x89, 0x03], EXIT_REASON_EPT_VIOLATION], // mov [rbx], eax: MMIO
    [[0x48, 0xc7, 0x43, 0x08, 0x01, 0x00, 0x00, 0x00], EXIT_REASON_EPT_VIOLATION], // mov qword [rbx+8], 1
    [[0xf4], EXIT_REASON_HLT],
  ];
  const code: number[] = [0x48, 0xbb, ...le32(0xc0000000), 0, 0, 0, 0]; // mov rbx, 0xc0000000 (no RAM)
  const starts: number[] = [];
  for (const [b] of forms) {
    starts.push(CODE + code.length);
    code.push(...b);
  }
  code_at(vm, CODE, code);
  vm.map(0xc0000000n, 0xc0000000, 3n);
  using v = vm.vcpu(guest_jmp, [BigInt(CODE)]);
  forms.forEach(([b, reason], i) => {
    expect_exit(v, reason);
    assertEquals(
      [v.vmcs.rip, v.vmcs.exit_instruction_len],
      [BigInt(starts[i]!), b.length],
      `form ${i}: ${b.map((x) => x.toString(16)).join(" ")}`,
    );
    skip(v);
  });
});

Deno.test("LOCK read-modify-writes are atomic across vCPUs", async () => {
  const vm = new test_vm();
  // Both vCPUs meet at a barrier (one flag byte each, RAX = 0 or 1), then each does
  // 200000 `lock inc qword [0x2f1000]`:
  //   mov byte [0x2f1010 + rax], 1; 2: cmp word [0x2f1010], 0x0101; jne 2b
  //   mov ecx, 200000; 1: lock inc qword [0x2f1000]; dec ecx; jnz 1b; hlt
  const loop = "c68010102f000166813c2510102f00010175f4b9400d0300f048ff042500102f00ffc975f3f4";
  code_at(vm, CODE, [...loop.matchAll(/../g)].map((m) => parseInt(m[0], 16)));
  using a = vm.vcpu(guest_jmp, [BigInt(CODE)], 0);
  using b = vm.vcpu(guest_jmp, [BigInt(CODE)], 1);
  a.vmcs.regs.set(VCPU_REGS_RAX, 0n);
  b.vmcs.regs.set(VCPU_REGS_RAX, 1n);
  assertEquals(await Promise.all([a.enter_async(), b.enter_async()]), [
    EXIT_REASON_HLT,
    EXIT_REASON_HLT,
  ]);
  assertEquals(vm.q(CODE + 0x1000), 400000n, "no increment lost");
});
