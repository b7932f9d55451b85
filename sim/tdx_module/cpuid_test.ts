// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { TDX_CPUIDVE_SUPERVISOR, TDX_CPUIDVE_USER } from "../../include/x86/tdx/tdcall.ts";
import { TDX_TD_ATTR_PKS } from "../../include/x86/tdx/tdx.ts";
import { supported_cpuid } from "../kernel/arch/x86/kvm/cpuid.ts";
import { td_cpuid_entry_of } from "./cpuid.ts";
import type { td_params_view } from "./td_params.ts";
import { td_cpuid } from "./tdcall.ts";
import { make_td, make_vcpus } from "./testdata/util.ts";

function setup(params?: (p: td_params_view) => void) {
  const td = make_td(undefined, params ? { params } : {});
  const vps = make_vcpus(td, 2);
  return { td, vp: vps[1]! };
}

Deno.test("the TD CPUID table: fixed, native, XFAM and identity leaves", () => {
  const { td, vp } = setup();
  const q = (l: number, s = 0) => td_cpuid(td, vp, l, s, 0);
  assertEquals(q(0), [0x23, 0x756e6547, 0x6c65746e, 0x49656e69]);
  const [eax1, ebx1, ecx1, edx1] = q(1) as readonly number[];
  assertEquals(eax1, 0x000806f8);
  assertEquals(ebx1! >>> 24, 1); // initial APIC ID = x2APIC ID of vCPU 1
  assertEquals(ecx1! >>> 31, 1); // hypervisor present
  assertEquals((ecx1! >> 5) & 1, 0); // no VMX
  assertEquals((edx1! >> 9) & 1, 1); // APIC
  // "IntelTDX    " in EBX, EDX, ECX.
  const [, b, c, d] = q(0x21) as readonly number[];
  const s = [b!, d!, c!].map((x) =>
    String.fromCharCode(x & 255, x >> 8 & 255, x >> 16 & 255, x >>> 24)
  ).join("");
  assertEquals(s, "IntelTDX    ");
  // TSC: 25 MHz crystal, ratio = TSC_FREQUENCY (100 → 2.5 GHz).
  assertEquals(q(0x15), [1, 100, 25_000_000, 0]);
  // XSAVE follows XFAM 0xe7: AVX-512 state, max size 2688.
  assertEquals((q(0xd) as readonly number[])[0], 0xe7);
  assertEquals((q(0xd) as readonly number[])[2], 2688);
  // AVX-512F (7.0 EBX[16]) is native and allowed: kept.
  assertEquals(((q(7) as readonly number[])[1]! >> 16) & 1, 1);
  // 0x80000008: MAXPA 52 as configured.
  assertEquals((q(0x80000008) as readonly number[])[0]! & 0xff, 52);
});

Deno.test("XFAM without AVX-512 hides AVX-512 CPUID bits; PKS follows ATTRIBUTES", () => {
  const { td, vp } = setup((p) => {
    p.xfam = 0x7n;
    p.attributes |= TDX_TD_ATTR_PKS;
  });
  const l7 = td_cpuid(td, vp, 7, 0, 0) as readonly number[];
  assertEquals((l7[1]! >> 16) & 1, 0);
  assertEquals(l7[2]! >>> 31, 1);
  assertEquals((td_cpuid(td, vp, 0xd, 0, 0) as readonly number[])[0], 0x7);
});

Deno.test("CPUID #VE decisions", () => {
  const { td, vp } = setup();
  const q = (l: number, s = 0, cpl = 0) => td_cpuid(td, vp, l, s, cpl);
  assertEquals(q(0x40000000), "#VE"); // hypervisor leaves
  assertEquals(q(0x4fffffff), "#VE");
  assertEquals(q(0x2), "#VE"); // not virtualised
  assertEquals(q(0xb), "#VE");
  assertEquals(q(0x6), "#VE"); // faulting
  assertEquals(q(0x4, 7), "#VE"); // subleaf not virtualised
  assertEquals(q(0x50000000), "#VE");
  // Above the maximum basic leaf: the maximum basic leaf's data.
  assertEquals(q(0x30), q(0x23));
  assertEquals(q(0x80000010), q(0x23));
  // CPUIDVE.SET: per privilege class.
  vp.cpuid_ve = TDX_CPUIDVE_USER;
  assertEquals(q(0, 0, 3), "#VE");
  assertEquals(q(0, 0, 0)[0], 0x23);
  vp.cpuid_ve = TDX_CPUIDVE_SUPERVISOR;
  assertEquals(q(0, 0, 0), "#VE");
  assertEquals(q(0, 0, 3)[0], 0x23);
});

Deno.test("dynamic bits follow CR4 and the vCPU", () => {
  const { td, vp } = setup();
  const osxsave = (cr4: bigint) =>
    ((td_cpuid(td, vp, 1, 0, 0, cr4) as readonly number[])[2]! >> 27) & 1;
  assertEquals([osxsave(0n), osxsave(1n << 18n)], [0, 1]);
  assertEquals((td_cpuid(td, vp, 0x1f, 0, 0) as readonly number[])[3], 1);
  assertEquals((td_cpuid(td, vp, 0xd, 0, 0, 0n, 0x7n) as readonly number[])[1], 832);
});

Deno.test("every virtualised leaf's native bits come from the KVM-side Sapphire Rapids", () => {
  const { td } = setup();
  // A bit the TD sees from native CPUID must be in KVM's supported CPUID too,
  // so the two tables agree (leaves the module fixes or computes excepted).
  const computed = new Set([0x0, 0x1, 0xd, 0x15, 0x21, 0x80000000, 0x80000001, 0x80000008]);
  for (const e of td.cpuid!.entries) {
    if (computed.has(e.leaf)) continue;
    const n = supported_cpuid.find((s) =>
      s.function === e.leaf && (s.index === e.sub_leaf || !(s.flags & 1))
    );
    const native = n ? [n.eax, n.ebx, n.ecx, n.edx] : [0, 0, 0, 0];
    [e.eax, e.ebx, e.ecx, e.edx].forEach((v, i) =>
      assertEquals((v & ~native[i]!) >>> 0, 0, `leaf ${e.leaf.toString(16)}.${e.sub_leaf} reg ${i}`)
    );
  }
  assertEquals(td_cpuid_entry_of(td.cpuid!, 4, 3)?.ecx, 114687);
});
