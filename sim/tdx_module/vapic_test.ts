// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TD vCPU's virtual APIC against the SDM's APIC virtualization:
 * posted-interrupt processing, evaluation and delivery of pending virtual
 * interrupts by priority class, PPR/TPR/EOI virtualization, the x2APIC MSRs
 * a TD reaches without #VE, and VCPU_STATE_DETAILS.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import {
  td_vapic,
  td_vapic_deliver,
  td_vapic_pending,
  td_vapic_post,
  td_vapic_rdmsr,
  td_vapic_test,
  td_vapic_virtualized_msr,
  td_vapic_wrmsr,
  td_vcpu_state_details,
  TDX_VCPU_STATE_DETAILS_INTR_PENDING,
} from "./vapic.ts";

const MSR_TPR = 0x808, MSR_PPR = 0x80a, MSR_EOI = 0x80b, MSR_SELF_IPI = 0x83f;
const MSR_ISR0 = 0x810, MSR_IRR0 = 0x820;

function pir_of(...vectors: number[]): Uint32Array {
  const pir = new Uint32Array(8);
  for (const v of vectors) pir[v >> 5] = (pir[v >> 5]! | (1 << (v & 31))) >>> 0;
  return pir;
}

Deno.test("vapic: posted vectors go to VIRR (PIR cleared) and are delivered highest first", () => {
  const v = new td_vapic();
  assertEquals(td_vapic_pending(v), -1);
  const pir = pir_of(0x31, 0x82);
  assertEquals(td_vapic_post(v, pir), true);
  assertEquals([...pir], [0, 0, 0, 0, 0, 0, 0, 0]);
  assertEquals(td_vapic_post(v, pir), false);
  assertEquals(v.rvi, 0x82);
  assertEquals(td_vapic_rdmsr(v, MSR_IRR0 + 4), 1n << 2n); // 0x82: IRR word 4, bit 2
  assertEquals(td_vapic_deliver(v), 0x82);
  assertEquals(td_vapic_test(v, "isr", 0x82), true);
  assertEquals(td_vapic_test(v, "irr", 0x82), false);
  assertEquals(td_vapic_rdmsr(v, MSR_PPR), 0x80n);
  // 0x31's class (3) is below the in-service 0x82's (8): it waits.
  assertEquals(v.rvi, 0x31);
  assertEquals(td_vapic_pending(v), -1);
  assertEquals(td_vapic_deliver(v), -1);
  assertEquals(td_vapic_wrmsr(v, MSR_EOI, 0n), "done");
  assertEquals(td_vapic_test(v, "isr", 0x82), false);
  assertEquals(td_vapic_rdmsr(v, MSR_PPR), 0n);
  assertEquals(td_vapic_pending(v), 0x31);
  assertEquals(td_vapic_deliver(v), 0x31);
  assertEquals(td_vapic_rdmsr(v, MSR_ISR0 + 1), 1n << 17n);
  assertEquals(td_vapic_wrmsr(v, MSR_EOI, 0n), "done");
  assertEquals(v.svi, 0);
  assertEquals(v.rvi, 0);
});

Deno.test("vapic: TPR holds back vectors of its class and below; PPR follows TPR and SVI", () => {
  const v = new td_vapic();
  assertEquals(td_vapic_wrmsr(v, MSR_TPR, 0x45n), "done");
  assertEquals(td_vapic_rdmsr(v, MSR_TPR), 0x45n);
  assertEquals(td_vapic_rdmsr(v, MSR_PPR), 0x45n);
  td_vapic_post(v, pir_of(0x4f));
  assertEquals(td_vapic_pending(v), -1); // same class as TPR
  assertEquals(td_vcpu_state_details(v), 0n);
  td_vapic_post(v, pir_of(0x50));
  assertEquals(td_vapic_pending(v), 0x50);
  assertEquals(td_vcpu_state_details(v), TDX_VCPU_STATE_DETAILS_INTR_PENDING);
  assertEquals(td_vapic_deliver(v), 0x50);
  assertEquals(td_vapic_rdmsr(v, MSR_PPR), 0x50n);
  assertEquals(td_vapic_wrmsr(v, MSR_TPR, 0n), "done");
  assertEquals(td_vapic_rdmsr(v, MSR_PPR), 0x50n); // SVI's class still rules
  assertEquals(td_vapic_wrmsr(v, MSR_EOI, 0n), "done");
  assertEquals(td_vapic_pending(v), 0x4f);
});

Deno.test("vapic: which x2APIC MSRs are virtualized, and their #GP / APIC-write rules", () => {
  for (const m of [MSR_TPR, MSR_PPR, MSR_EOI, MSR_SELF_IPI, MSR_ISR0, 0x818, MSR_IRR0 + 7]) {
    assertEquals(td_vapic_virtualized_msr(m), true, m.toString(16));
  }
  for (const m of [0x802, 0x803, 0x80d, 0x80f, 0x828, 0x830, 0x832, 0x838, 0x828 + 8]) {
    assertEquals(td_vapic_virtualized_msr(m), false, m.toString(16));
  }
  const v = new td_vapic();
  assertEquals(td_vapic_rdmsr(v, MSR_EOI), null);
  assertEquals(td_vapic_rdmsr(v, MSR_SELF_IPI), null);
  assertEquals(td_vapic_wrmsr(v, MSR_TPR, 0x100n), "gp");
  assertEquals(td_vapic_wrmsr(v, MSR_EOI, 1n), "gp");
  assertEquals(td_vapic_wrmsr(v, MSR_PPR, 0n), "gp");
  assertEquals(td_vapic_wrmsr(v, MSR_IRR0, 0n), "gp");
  assertEquals(td_vapic_wrmsr(v, MSR_SELF_IPI, 0xfn), "apic_write");
  assertEquals(td_vapic_wrmsr(v, MSR_SELF_IPI, 0x140n), "apic_write");
  assertEquals(td_vapic_wrmsr(v, MSR_SELF_IPI, 0x40n), "done");
  assertEquals(td_vapic_pending(v), 0x40);
});
