// SPDX-License-Identifier: GPL-2.0-only
/**
 * memstress.c's behaviour: `memstress_create_vm()` places the test region at
 * the top of guest-physical memory and splits it among the vCPUs (or not,
 * `-o`), and one pass of `memstress_guest_code()` writes the marker to the
 * first quadword of every page of its slice (all pages dirty in the log),
 * or only reads with a write percentage of 0 (no page dirty).
 *
 * @module
 */

import "../sim/use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  addr_gpa2hva,
  get_ucall,
  UCALL_SYNC,
  vcpu_run_async,
  VM_MEM_SRC_ANONYMOUS,
  VM_MODE_DEFAULT,
} from "../include/kvm_util.ts";
import { in_guest_worker } from "../include/libc/process.ts";
import { user_memory } from "../include/libc/syscall.ts";
import {
  memstress_alloc_bitmaps,
  memstress_args,
  memstress_create_vm,
  memstress_destroy_vm,
  memstress_enable_dirty_logging,
  memstress_get_dirty_log,
  memstress_join_vcpu_threads,
  memstress_set_write_percent,
  memstress_start_vcpu_threads,
  type memstress_vcpu,
} from "./memstress.ts";

const PAGES = 32;
const BYTES = BigInt(PAGES * 4096);

function set_bits(b: Uint8Array): number {
  let n = 0;
  for (const x of b) for (let v = x; v; v &= v - 1) n++;
  return n;
}

Deno.test({
  name: "memstress: partitioned regions, one guest pass writes every page, write_percent 0 none",
  ignore: in_guest_worker(),
  async fn() {
    const vm = memstress_create_vm(VM_MODE_DEFAULT, 2, BYTES, 2, VM_MEM_SRC_ANONYMOUS, true);
    try {
      const args = memstress_args.value;
      assertEquals(args.size, 2n * BYTES);
      assertEquals(args.gpa + args.size <= (vm.max_gfn + 1n) * 4096n, true);
      const v0 = args.vcpu_args.at(0), v1 = args.vcpu_args.at(1);
      assertEquals([v0.vcpu_idx, v1.vcpu_idx], [0, 1]);
      assertEquals([v0.pages, v1.pages], [BigInt(PAGES), BigInt(PAGES)]);
      assertEquals(v1.gva - v0.gva, BYTES);
      assertEquals(v1.gpa - v0.gpa, BYTES);

      memstress_enable_dirty_logging(vm, 2);
      // One pass per vCPU (to its GUEST_SYNC), as a test's thread function would.
      const one_pass = async (a: memstress_vcpu) => {
        await vcpu_run_async(a.vcpu);
        assertEquals(get_ucall(a.vcpu, null), UCALL_SYNC);
      };
      memstress_start_vcpu_threads(2, one_pass);
      await memstress_join_vcpu_threads(2);

      for (let p = 0; p < 2 * PAGES; p++) {
        const q = user_memory(addr_gpa2hva(vm, args.gpa + BigInt(p) * 4096n), 8);
        assertEquals(
          new DataView(q.buffer, q.byteOffset, 8).getBigUint64(0, true),
          0x0123456789abcdefn,
        );
      }
      const bitmaps = memstress_alloc_bitmaps(2, PAGES);
      memstress_get_dirty_log(vm, bitmaps, 2);
      assertEquals(bitmaps.map(set_bits), [PAGES, PAGES]);

      // Reads only: nothing is dirtied by the next pass.
      memstress_set_write_percent(vm, 0);
      memstress_start_vcpu_threads(2, one_pass);
      await memstress_join_vcpu_threads(2);
      memstress_get_dirty_log(vm, bitmaps, 2);
      assertEquals(bitmaps.map(set_bits), [0, 0]);
    } finally {
      memstress_destroy_vm(vm);
    }
  },
});
