// SPDX-License-Identifier: GPL-2.0-only
// The page walk: 4- and 5-level, permissions, accessed/dirty bits, TLB flushes.
import { assertEquals } from "@std/assert";
import { PTE_A, PTE_D, PTE_G, PTE_P, PTE_W, test_vm } from "./testdata/machine.ts";
import {
  guest_read,
  guest_rw,
  guest_tlb,
  guest_tlb_cr3,
  guest_write,
  pf_skip_handler,
} from "./testdata/guest.ts";
import { expect_exit, next_report, skip } from "./testdata/kernel.ts";
import {
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
  PF_VECTOR,
  PFERR_PRESENT_MASK,
  PFERR_RSVD_MASK,
  PFERR_WRITE_MASK,
} from "./vmx.ts";

for (const levels of [4, 5]) {
  Deno.test(`${levels}-level paging: translation, accessed then dirty bits`, () => {
    const vm = new test_vm({ levels });
    // 5-level: an address only LA57 can reach (PML5 index 1).
    const gva = levels === 5 ? (1n << 48n) + 0x1234000n : 0x7f0000001000n;
    const page = vm.alloc_page();
    vm.dv.setUint32(page + 0x10, 0xabcd1234, true);
    vm.map(gva, page, PTE_P | PTE_W);
    using v = vm.vcpu(guest_rw, [gva + 0x10n]);
    assertEquals(next_report(v), 0xabcd1234);
    expect_exit(v, EXIT_REASON_IO_INSTRUCTION);
    // After a read: A on every level, D clear.
    for (let l = levels; l >= 1; l--) {
      const e = vm.q(vm.entry(gva, l));
      assertEquals(e & PTE_A, PTE_A, `A bit at level ${l}`);
    }
    assertEquals(vm.q(vm.entry(gva)) & PTE_D, 0n);
    skip(v);
    assertEquals(next_report(v), 0x11223344);
    assertEquals(vm.q(vm.entry(gva)) & PTE_D, PTE_D, "the write set D in the leaf");
    assertEquals(vm.dv.getUint32(page + 0x10, true), 0x11223344);
  });
}

Deno.test("a non-canonical address raises #GP", () => {
  const vm = new test_vm();
  vm.set_handler(13, pf_skip_handler);
  using v = vm.vcpu(guest_read, [0x0000800000000000n]);
  next_report(v); // CR2 (unchanged)
  assertEquals(next_report(v), 0, "error code 0");
  assertEquals(next_report(v), 0x1234, "the skipped read returns RAX as the handler set it");
});

Deno.test("#PF error codes: not present, write to read-only with CR0.WP, reserved bit", () => {
  const vm = new test_vm();
  vm.set_handler(PF_VECTOR, pf_skip_handler);
  const ro = 0x640000n;
  vm.map(ro, vm.alloc_page(), PTE_P);
  const rsvd = 0x641000n;
  vm.set_q(vm.entry(rsvd), BigInt(vm.alloc_page()) | PTE_P | (1n << 51n) | PTE_W);
  {
    using v = vm.vcpu(guest_read, [0x650000n]);
    assertEquals(next_report(v), 0x650000);
    assertEquals(next_report(v), 0);
  }
  {
    using v = vm.vcpu(guest_write, [ro]);
    assertEquals(next_report(v), Number(ro));
    assertEquals(next_report(v), PFERR_PRESENT_MASK | PFERR_WRITE_MASK);
    assertEquals(next_report(v), 0xdead, "the handler skipped the write");
  }
  {
    // MAXPHYADDR 46: bit 51 is reserved.
    using v = vm.vcpu(guest_read, [rsvd]);
    v.vmcs.maxphyaddr = 46;
    assertEquals(next_report(v), Number(rsvd));
    assertEquals(next_report(v), PFERR_PRESENT_MASK | PFERR_RSVD_MASK);
  }
});

Deno.test("the TLB keeps a stale translation until INVLPG", () => {
  const vm = new test_vm();
  const gva = 0x700000n;
  const a = vm.alloc_page();
  const b = vm.alloc_page();
  vm.dv.setUint32(a, 0xaaaa, true);
  vm.dv.setUint32(b, 0xbbbb, true);
  vm.map(gva, a, PTE_P | PTE_W);
  const pte = vm.entry(gva);
  using v = vm.vcpu(guest_tlb, [gva, BigInt(pte), BigInt(b) | PTE_P | PTE_W]);
  assertEquals(next_report(v), 0xaaaa);
  assertEquals(next_report(v), 0xaaaa, "stale: the guest did not flush");
  assertEquals(next_report(v), 0xbbbb, "INVLPG dropped the entry");
});

for (const global of [false, true]) {
  Deno.test(`a CR3 load flushes the TLB${global ? " except global pages with CR4.PGE" : ""}`, () => {
    const vm = new test_vm();
    const gva = 0x700000n;
    const a = vm.alloc_page();
    const b = vm.alloc_page();
    vm.dv.setUint32(a, 0xaaaa, true);
    vm.dv.setUint32(b, 0xbbbb, true);
    const g = global ? PTE_G : 0n;
    vm.map(gva, a, PTE_P | PTE_W | g);
    const pte = vm.entry(gva);
    using v = vm.vcpu(guest_tlb_cr3, [gva, BigInt(pte), BigInt(b) | PTE_P | PTE_W | g]);
    if (global) v.vmcs.cr4 |= 0x80n;
    assertEquals(next_report(v), 0xaaaa);
    assertEquals(next_report(v), global ? 0xaaaa : 0xbbbb);
    expect_exit(v, EXIT_REASON_HLT);
  });
}

Deno.test("a memory map update reaches a running vCPU and flushes its TLB", () => {
  const vm = new test_vm();
  const gva = 0x700000n;
  vm.map(gva, 0x20000000, PTE_P | PTE_W);
  using v = vm.vcpu(guest_read, [gva]);
  const extra = new SharedArrayBuffer(4096);
  new DataView(extra).setUint32(0, 0x5107, true);
  v.set_memory_map({
    slots: [...vm.memory_map().slots, {
      slot: 2,
      base_gpa: 0x20000000n,
      npages: 1,
      readonly: false,
      backing: { chunks: [extra], chunk_size: 4096, offset: 0 },
    }],
  });
  assertEquals(next_report(v), 0x5107);
});
