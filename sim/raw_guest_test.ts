// SPDX-License-Identifier: GPL-2.0-only
// A TypeScript guest on the simulated KVM with raw ioctls only: a VM, anonymous
// memory as memslot 0, 4-level page tables, GDT and IDT written by hand, code
// records of the guest functions, and every exit of the guest checked in order.
// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "./use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { ioctl } from "../include/libc/syscall.ts";
import { KVM_EXIT_HLT, KVM_EXIT_IO, KVM_EXIT_MMIO, KVM_RUN } from "../include/linux/kvm.ts";
import { raw_vm } from "./kernel/testdata/raw_vm.ts";
import {
  raw_guest_main,
  RAW_PF_GVA,
  raw_pf_handler,
  RAW_PF_PTE_GVA,
  RAW_PF_TARGET_GPA,
} from "./kernel/testdata/run_guest.ts";

const MMIO_GPA = 0xc0000000n;

Deno.test("raw guest: port I/O, MMIO, cpuid, rdmsr, #PF through its own IDT, hlt", () => {
  using vm = new raw_vm();
  // The #PF page: its page table exists (a page-table page, identity-mapped
  // like all of slot 0, which the handler edits) but the PTE is not present.
  assertEquals(vm.pte(RAW_PF_GVA), Number(RAW_PF_PTE_GVA));
  // The MMIO page: mapped by the guest page tables, backed by no memslot.
  vm.map(MMIO_GPA, MMIO_GPA, 3n);
  vm.set_q(Number(RAW_PF_TARGET_GPA), 0x1122334455667788n);
  vm.set_handler(14, raw_pf_handler);
  vm.start(raw_guest_main, [MMIO_GPA]);
  const run = vm.run;

  const expect_out = (port: number, size: number, value: number) => {
    assertEquals(ioctl(vm.vcpu_fd, KVM_RUN, 0), 0);
    assertEquals(run.exit_reason, KVM_EXIT_IO, `exit for port ${port.toString(16)}`);
    assertEquals(
      [run.io.direction, run.io.size, run.io.port, run.io.count, run.io.data_offset],
      [1, size, port, 1, 4096n],
    );
    assertEquals(vm.pio_value(size), value >>> 0, `data of port ${port.toString(16)}`);
  };

  expect_out(0x10, 1, 0x42);
  // IN: completed from the PIO page on the next KVM_RUN.
  assertEquals(ioctl(vm.vcpu_fd, KVM_RUN, 0), 0);
  assertEquals(run.exit_reason, KVM_EXIT_IO);
  assertEquals([run.io.direction, run.io.size, run.io.port, run.io.count], [0, 1, 0x11, 1]);
  vm.pio[0] = 0x99;
  expect_out(0x12, 1, 0x9a);

  // MMIO write, then a read completed from kvm_run.mmio.data.
  assertEquals(ioctl(vm.vcpu_fd, KVM_RUN, 0), 0);
  assertEquals(run.exit_reason, KVM_EXIT_MMIO);
  assertEquals([run.mmio.phys_addr, run.mmio.len, run.mmio.is_write], [MMIO_GPA, 4, 1]);
  assertEquals([...run.mmio.data.$bytes.slice(0, 4)], [0xef, 0xbe, 0xad, 0xde]);
  assertEquals(ioctl(vm.vcpu_fd, KVM_RUN, 0), 0);
  assertEquals(run.exit_reason, KVM_EXIT_MMIO);
  assertEquals([run.mmio.phys_addr, run.mmio.len, run.mmio.is_write], [MMIO_GPA + 8n, 4, 0]);
  run.mmio.data.$bytes.set([0x78, 0x56, 0x34, 0x12]);
  expect_out(0x13, 4, 0x12345678 ^ 0xffffffff);

  // CPUID and RDMSR are handled in the kernel: the next exits report their results.
  expect_out(0x14, 4, 0x756e6547); // "Genu"
  expect_out(0x15, 4, 0x500); // EFER: LME | LMA

  // The #PF handler reports CR2 and the error code (not present, read), maps the page, retries.
  expect_out(0x17, 4, Number(RAW_PF_GVA));
  expect_out(0x18, 4, 0);
  expect_out(0x16, 4, 0x55667788);

  assertEquals(ioctl(vm.vcpu_fd, KVM_RUN, 0), 0);
  assertEquals(run.exit_reason, KVM_EXIT_HLT);
});
