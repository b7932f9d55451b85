// SPDX-License-Identifier: GPL-2.0-only
// TD build + finalize + first exit + free, and KVM_TDX_INIT_MEM_REGION with
// measurement (MB/s of pages) next to raw SHA-384 over the same bytes.
import { createHash } from "node:crypto";
import { close, ioctl, mmap, munmap, user_memory } from "../include/libc/syscall.ts";
import { errno_get } from "../include/libc/errno.ts";
import {
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CREATE_GUEST_MEMFD,
  kvm_create_guest_memfd,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  kvm_memory_attributes,
  KVM_RUN,
  kvm_run,
  KVM_SET_CPUID2,
  KVM_SET_MEMORY_ATTRIBUTES,
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
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../include/linux/mman.ts";
import { guest_code_record } from "../include/guest_code.ts";
import { tdcall } from "./cpu/insn.ts";
import { anon, open_kvm } from "./kernel/testdata/util.ts";
import {
  capabilities,
  cmd,
  enable_cap,
  enc_op,
  init_vm_struct,
  ptr_of,
  region2,
} from "./kernel/testdata/raw_td.ts";

/** The bench guest: one port write. */
export function td_bench_guest(): void {
  tdcall(0, { rcx: 0xfc00n, r10: 0n, r11: 30n, r12: 1n, r13: 1n, r14: 0x80n, r15: 1n });
  for (;;) tdcall(0, { rcx: 0xfc00n, r10: 0n, r11: 12n, r12: 0n });
}

const SLOT_GPA = 0xffe00000n;
const SLOT_SIZE = 2n << 20n;
const kvm = open_kvm();
const probe = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
const { ents } = capabilities(probe);
close(probe);
const init = init_vm_struct(ents);

/** A TD up to INIT_VCPU with its private slot; `pages` measured pages of `src` at the slot's start. */
function build(pages: number, src: bigint, boot: boolean) {
  const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const c = cmd(KVM_TDX_INIT_VM, init);
  if (enc_op(vm, c)) {
    throw new Error(`INIT_VM: errno ${errno_get()} hw_error ${c.hw_error.toString(16)}`);
  }
  enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, 24n);
  const vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  const cpuid = anon(8 + 256 * 40);
  new DataView(user_memory(cpuid, 8).buffer, user_memory(cpuid, 8).byteOffset).setUint32(
    0,
    256,
    true,
  );
  enc_op(vcpu, cmd(KVM_TDX_GET_CPUID, cpuid));
  ioctl(vcpu, KVM_SET_CPUID2, cpuid);
  if (enc_op(vcpu, cmd(KVM_TDX_INIT_VCPU, 0n))) throw new Error("INIT_VCPU");
  const g = kvm_create_guest_memfd.alloc();
  g.size = SLOT_SIZE;
  const gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
  region2(vm, KVM_MEM_GUEST_MEMFD, SLOT_GPA, SLOT_SIZE, anon(SLOT_SIZE), gmem);
  const at = kvm_memory_attributes.alloc();
  at.address = SLOT_GPA;
  at.size = SLOT_SIZE;
  at.attributes = BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE);
  ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at);
  const reg = kvm_tdx_init_mem_region.alloc();
  reg.source_addr = src;
  reg.gpa = boot ? SLOT_GPA + SLOT_SIZE - BigInt(pages * 4096) : SLOT_GPA;
  reg.nr_pages = BigInt(pages);
  if (enc_op(vcpu, cmd(KVM_TDX_INIT_MEM_REGION, reg.$bytes, 1))) throw new Error("INIT_MEM_REGION");
  return { vm, vcpu, gmem };
}

const boot = new Uint8Array(4096);
boot.set(guest_code_record(td_bench_guest));
const rel = 0xfffff000 - (0xfffffff0 + 5);
boot.set([0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff], 4096 - 16);
const boot_src = ptr_of(boot);

Deno.bench("TD build + finalize + first exit + free", () => {
  const { vm, vcpu, gmem } = build(1, boot_src, true);
  if (enc_op(vm, cmd(KVM_TDX_FINALIZE_VM, 0n))) throw new Error("FINALIZE");
  const run_addr = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
  const run = kvm_run.view(user_memory(run_addr, 4096));
  if (ioctl(vcpu, KVM_RUN, 0) || run.exit_reason !== 2) throw new Error("first exit");
  munmap(run_addr, 3 * 4096);
  for (const fd of [gmem, vcpu, vm]) close(fd);
});

const PAGES = 256;
const data = anon(PAGES * 4096);
user_memory(data, PAGES * 4096).forEach((_, i, a) => (a[i] = i & 0xff));
const bytes = user_memory(data, PAGES * 4096).slice();

Deno.bench("raw SHA-384, 1 MiB", { group: "measure", baseline: true }, () => {
  createHash("sha384").update(bytes).digest();
});

Deno.bench("KVM_TDX_INIT_MEM_REGION measured, 1 MiB (incl. TD setup)", { group: "measure" }, () => {
  const { vm, vcpu, gmem } = build(PAGES, data, false);
  for (const fd of [gmem, vcpu, vm]) close(fd);
});
