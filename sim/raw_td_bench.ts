// SPDX-License-Identifier: GPL-2.0-only
// TD build + finalize + first exit + free, and KVM_TDX_INIT_MEM_REGION with
// measurement of a 16 MiB region (only the ioctl is timed: the TD up to
// INIT_VCPU is built outside b.start()/b.end()) next to raw SHA-384 in the same
// run, over the same page bytes and over the record stream the measurement
// hashes (6272 bytes per 4096-byte page). The baseline is the record stream:
// the module must hash those bytes, so raw SHA-384 over them is the fastest a
// measured INIT_MEM_REGION can be, and per page byte the record format alone
// caps it at 4096/6272 (~65%) of raw SHA-384 over the pages. MB/s = 16 / s.
// The simulator's own figures: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "./use_sim_backend.ts";
import { createHash } from "node:crypto";
import { close, ioctl, mmap, munmap, user_memory } from "../include/libc/syscall.ts";
import { errno_get } from "../include/libc/errno.ts";
import { KVM_CREATE_VM, KVM_RUN, kvm_run } from "../include/linux/kvm.ts";
import {
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_X86_TDX_VM,
} from "../include/asm/kvm.ts";
import { MAP_SHARED, PROT_READ, PROT_WRITE } from "../include/linux/mman.ts";
import { guest_code_record } from "../include/guest_code.ts";
import { set_exe_file } from "./backend.ts";
import { td_bench_guest, TD_BENCH_IMAGE } from "./testdata/td_bench_guest.ts";
import { anon, open_kvm } from "./kernel/testdata/util.ts";
import {
  capabilities,
  cmd,
  enc_op,
  free_td,
  init_vm_struct,
  ptr_of,
  td_up_to_init_vcpu,
} from "./kernel/testdata/raw_td.ts";

// The vCPU workers import only the guest function, not this module's setup.
set_exe_file([TD_BENCH_IMAGE]);

const SLOT_SIZE = 2n << 20n;
const kvm = open_kvm();
const probe = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
const { ents } = capabilities(probe);
close(probe);
const init = init_vm_struct(ents);
const build_td = (slot_size: bigint) => td_up_to_init_vcpu(kvm, init, slot_size);

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

const boot = new Uint8Array(4096);
boot.set(guest_code_record(td_bench_guest));
const rel = 0xfffff000 - (0xfffffff0 + 5);
boot.set([0xe9, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, (rel >>> 24) & 0xff], 4096 - 16);
const boot_src = ptr_of(boot);

// Steady state, as vm_lifecycle_bench.ts times it (the JIT warms up over the first hundreds).
Deno.bench("TD build + finalize + first exit + free", { warmup: 300, n: 600 }, () => {
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

Deno.bench(`raw SHA-384, ${MIB} MiB of page bytes`, { group: "measure" }, () => {
  createHash("sha384").update(bytes).digest();
});

Deno.bench(
  `raw SHA-384, ${MIB} MiB of pages as records (x 6272/4096)`,
  { group: "measure", baseline: true },
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
