// SPDX-License-Identifier: GPL-2.0-only
// TD build + finalize + first exit + free, and KVM_TDX_INIT_MEM_REGION with
// measurement of a 16 MiB region (only the ioctl is timed: the TD up to
// INIT_VCPU is built outside b.start()/b.end()) next to raw SHA-384 in the same
// run, over the same page bytes and over the record stream the measurement
// hashes (6272 bytes per 4096-byte page). The "measure" group's summary gives
// both ratios; MB/s = 16 / (time in s).
// The simulator's own figures: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "./use_sim_backend.ts";
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

const SLOT_SIZE = 2n << 20n;
const kvm = open_kvm();
const probe = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
const { ents } = capabilities(probe);
close(probe);
const init = init_vm_struct(ents);

/** A TD up to INIT_VCPU with a private slot of `slot_size` bytes ending at 4 GiB. */
function build_td(slot_size: bigint) {
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
  g.size = slot_size;
  const gmem = ioctl(vm, KVM_CREATE_GUEST_MEMFD, g);
  const gpa = (1n << 32n) - slot_size;
  const hva = anon(slot_size);
  if (region2(vm, KVM_MEM_GUEST_MEMFD, gpa, slot_size, hva, gmem)) throw new Error("memslot");
  const at = kvm_memory_attributes.alloc();
  at.address = gpa;
  at.size = slot_size;
  at.attributes = BigInt(KVM_MEMORY_ATTRIBUTE_PRIVATE);
  if (ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, at)) throw new Error("attributes");
  return { vm, vcpu, gmem, gpa, hva, slot_size };
}

/** KVM_TDX_INIT_MEM_REGION of `pages` pages of `src` at `gpa`, measured. */
function init_mem_region(vcpu: number, src: bigint, gpa: bigint, pages: number): void {
  const reg = kvm_tdx_init_mem_region.alloc();
  reg.source_addr = src;
  reg.gpa = gpa;
  reg.nr_pages = BigInt(pages);
  if (enc_op(vcpu, cmd(KVM_TDX_INIT_MEM_REGION, reg.$bytes, 1))) {
    throw new Error(`INIT_MEM_REGION: errno ${errno_get()}`);
  }
}

function free_td(td: { vm: number; vcpu: number; gmem: number; hva: bigint; slot_size: bigint }) {
  for (const fd of [td.gmem, td.vcpu, td.vm]) close(fd);
  munmap(td.hva, Number(td.slot_size));
}

const boot = new Uint8Array(4096);
boot.set(guest_code_record(td_bench_guest));
const rel = 0xfffff000 - (0xfffffff0 + 5);
boot.set([0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff], 4096 - 16);
const boot_src = ptr_of(boot);

Deno.bench("TD build + finalize + first exit + free", () => {
  const td = build_td(SLOT_SIZE);
  init_mem_region(td.vcpu, boot_src, 0xfffff000n, 1);
  if (enc_op(td.vm, cmd(KVM_TDX_FINALIZE_VM, 0n))) throw new Error("FINALIZE");
  const run_addr = mmap(0n, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, td.vcpu, 0);
  const run = kvm_run.view(user_memory(run_addr, 4096));
  if (ioctl(td.vcpu, KVM_RUN, 0) || run.exit_reason !== 2) throw new Error("first exit");
  munmap(run_addr, 3 * 4096);
  free_td(td);
});

const MIB = 16;
const PAGES = MIB * 256;
const REGION = BigInt(PAGES * 4096);
const data = anon(REGION);
const bytes = user_memory(data, PAGES * 4096);
for (let i = 0; i < bytes.length; i += 4) bytes[i] = (i * 2654435761) >>> 24;
// The record stream a measured region hashes: per page an ADD record and 16
// (EXTEND record, 256-byte chunk) pairs.
const stream = new Uint8Array(PAGES * 6272);
for (let p = 0; p < PAGES; p++) {
  for (let c = 0; c < 16; c++) {
    const o = p * 6272 + 128 + c * 384 + 128;
    stream.set(bytes.subarray(p * 4096 + c * 256, p * 4096 + c * 256 + 256), o);
  }
}

Deno.bench(`raw SHA-384, ${MIB} MiB of page bytes`, { group: "measure", baseline: true }, () => {
  createHash("sha384").update(bytes).digest();
});

Deno.bench(
  `raw SHA-384, ${MIB} MiB of pages as records (x 6272/4096)`,
  { group: "measure" },
  () => {
    createHash("sha384").update(stream).digest();
  },
);

Deno.bench(`KVM_TDX_INIT_MEM_REGION measured, ${MIB} MiB`, { group: "measure" }, (b) => {
  const td = build_td(REGION);
  b.start();
  init_mem_region(td.vcpu, data, td.gpa, PAGES);
  b.end();
  free_td(td);
});
