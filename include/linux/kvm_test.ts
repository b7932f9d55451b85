// SPDX-License-Identifier: GPL-2.0-only
// Offsets and numbers from the uAPI facts (research/kvm_tdx_spec.md, sections 0
// and 1), so they hold where gcc cannot be asked (layout_oracle_test.ts).
import { assertEquals } from "@std/assert";
import { member_size, offsetof, sizeof } from "../c/layout.ts";
import {
  kvm_cpuid_entry2,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_EXIT_IO_OUT,
  kvm_memory_attributes,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_PIO_PAGE_OFFSET,
  KVM_PRE_FAULT_MEMORY,
  KVM_REG_SIZE,
  KVM_REG_SIZE_U64,
  KVM_RUN,
  kvm_run,
  KVM_SET_MEMORY_ATTRIBUTES,
  KVM_SET_USER_MEMORY_REGION,
  KVM_SET_USER_MEMORY_REGION2,
  kvm_tdx_capabilities,
  kvm_tdx_cmd,
  kvm_tdx_init_mem_region,
  kvm_tdx_init_vm,
  kvm_userspace_memory_region2,
  KVM_X86_REG_MSR,
} from "./kvm.ts";

Deno.test("kvm_run has its header, exit union, valid/dirty regs and s at the uAPI offsets", () => {
  assertEquals(offsetof(kvm_run, "exit_reason"), 8);
  assertEquals(offsetof(kvm_run, "flags"), 14);
  assertEquals(offsetof(kvm_run, "apic_base"), 24);
  assertEquals(offsetof(kvm_run, "hw"), 32);
  assertEquals(member_size(kvm_run, "padding"), 256);
  assertEquals(offsetof(kvm_run, "kvm_valid_regs"), 288);
  assertEquals(offsetof(kvm_run, "kvm_dirty_regs"), 296);
  assertEquals(offsetof(kvm_run, "s"), 304);
  assertEquals(sizeof(kvm_run), 304 + 2048);
});

Deno.test("kvm_run exit members sit where a TD's exits put them", () => {
  const at = (d: string) => offsetof(kvm_run, d);
  assertEquals([at("ex.exception"), at("ex.error_code")], [32, 36]);
  assertEquals([at("io.direction"), at("io.size"), at("io.port")], [32, 33, 34]);
  assertEquals([at("io.count"), at("io.data_offset")], [36, 40]);
  assertEquals([at("hypercall.nr"), at("hypercall.args[5]"), at("hypercall.ret")], [32, 80, 88]);
  assertEquals([at("hypercall.flags"), at("hypercall.longmode")], [96, 96]);
  assertEquals([at("mmio.phys_addr"), at("mmio.data"), at("mmio.len")], [32, 40, 48]);
  assertEquals(at("mmio.is_write"), 52);
  assertEquals([at("fail_entry.cpu"), at("internal.ndata"), at("internal.data")], [40, 36, 40]);
  assertEquals([at("system_event.type"), at("system_event.data[0]")], [32, 40]);
  assertEquals(at("system_event.flags"), 40);
  assertEquals([at("msr.error"), at("msr.reason"), at("msr.index"), at("msr.data")], [
    32,
    40,
    44,
    48,
  ]);
  assertEquals([at("memory_fault.flags"), at("memory_fault.gpa"), at("memory_fault.size")], [
    32,
    40,
    48,
  ]);
  assertEquals([at("tdx.flags"), at("tdx.nr"), at("tdx.unknown.ret")], [32, 40, 48]);
  assertEquals([at("tdx.unknown.data[4]"), at("tdx.get_quote.gpa")], [88, 56]);
  assertEquals([at("tdx.get_quote.size"), at("tdx.get_tdvmcall_info.r14")], [64, 88]);
  assertEquals(at("tdx.setup_event_notify.vector"), 56);
});

Deno.test("a kvm_run view reads the exit union through promoted members", () => {
  const run = kvm_run.alloc();
  run.io.direction = KVM_EXIT_IO_OUT;
  run.io.data_offset = BigInt(KVM_PIO_PAGE_OFFSET * 4096);
  run.tdx.get_quote.gpa = 0x1000n;
  assertEquals(run.tdx.unknown.data.at(0), 0x1000n);
  assertEquals(new DataView(run.$buffer).getBigUint64(40, true), 4096n);
  run.hypercall.flags = 1n;
  assertEquals(run.hypercall.longmode, 1);
});

Deno.test("memslot, guest_memfd and memory attribute structs have the uAPI sizes", () => {
  assertEquals(sizeof(kvm_userspace_memory_region2), 160);
  assertEquals(offsetof(kvm_userspace_memory_region2, "guest_memfd"), 40);
  assertEquals(offsetof(kvm_userspace_memory_region2, "pad2"), 48);
  assertEquals(sizeof(kvm_create_guest_memfd), 64);
  assertEquals(sizeof(kvm_memory_attributes), 32);
});

Deno.test("TDX structs end in a kvm_cpuid2 whose entries alloc() makes room for", () => {
  assertEquals(sizeof(kvm_tdx_cmd), 24);
  assertEquals(sizeof(kvm_tdx_init_mem_region), 24);
  assertEquals(sizeof(kvm_cpuid_entry2), 40);
  assertEquals(offsetof(kvm_tdx_capabilities, "reserved"), 48);
  assertEquals(offsetof(kvm_tdx_capabilities, "cpuid.nent"), 2048);
  assertEquals(offsetof(kvm_tdx_capabilities, "cpuid.entries"), 2056);
  assertEquals(offsetof(kvm_tdx_init_vm, "mrowner"), 64);
  assertEquals(offsetof(kvm_tdx_init_vm, "reserved"), 160);
  assertEquals(offsetof(kvm_tdx_init_vm, "cpuid.entries"), 264);
  const init = kvm_tdx_init_vm.alloc(3);
  assertEquals(init.$bytes.length, 264 + 3 * 40);
  assertEquals(init.cpuid.entries.length, 3);
  init.cpuid.entries.at(2).function = 0x80000008;
  assertEquals(new DataView(init.$buffer).getUint32(264 + 80, true), 0x80000008);
});

Deno.test("ioctl numbers are those of the C macros", () => {
  assertEquals(KVM_RUN, 0xae80);
  assertEquals(KVM_SET_USER_MEMORY_REGION, 0x4020ae46);
  assertEquals(KVM_SET_USER_MEMORY_REGION2, 0x40a0ae49);
  assertEquals(KVM_SET_MEMORY_ATTRIBUTES, 0x4020aed2);
  assertEquals(KVM_CREATE_GUEST_MEMFD, 0xc040aed4);
  assertEquals(KVM_PRE_FAULT_MEMORY, 0xc040aed5);
  assertEquals(KVM_MEMORY_ENCRYPT_OP, 0xc008aeba);
});

Deno.test("ONE_REG ids of x86 MSRs carry the x86 arch, 64-bit size and MSR type", () => {
  assertEquals(KVM_X86_REG_MSR(0x10), 0x2030000200000010n);
  assertEquals(KVM_REG_SIZE(KVM_REG_SIZE_U64), 8);
});
