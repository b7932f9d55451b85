// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import {
  TDX_MAX_VCPUS_EXCEEDED,
  TDX_OP_STATE_INCORRECT,
  TDX_SUCCESS,
  TDX_VCPU_STATE_INCORRECT,
  TDX_X2APIC_ID_NOT_UNIQUE,
} from "../../include/x86/tdx/tdcall.ts";
import { vmcs_alloc } from "../cpu/vmcs.ts";
import { tdx_module } from "./sysinfo.ts";
import { tdx_vp } from "./td.ts";
import { tdh_mr_finalize } from "./tdh_mem.ts";
import {
  td_vcpu_initial_state,
  tdh_vp_create,
  tdh_vp_init,
  tdx_vcpu_load_initial_state,
} from "./tdh_vp.ts";
import { make_td } from "./testdata/util.ts";

Deno.test("VCPU_INDEX follows TDH.VP.INIT order, not creation order", () => {
  const td = make_td();
  const vps = [0, 1, 2].map(() => new tdx_vp());
  for (const vp of vps) assertEquals(tdh_vp_create(td, vp), TDX_SUCCESS);
  assertEquals(tdh_vp_init(vps[2]!, 0n, 2), TDX_SUCCESS);
  assertEquals(tdh_vp_init(vps[0]!, 0n, 0), TDX_SUCCESS);
  assertEquals(tdh_vp_init(vps[1]!, 0n, 1), TDX_SUCCESS);
  assertEquals(vps.map((v) => v.vcpu_index), [1, 2, 0]);
  assertEquals(td.num_vcpus, 3);
});

Deno.test("TDH.VP.INIT errors: twice, duplicate x2APIC ID, past MAX_VCPUS, after finalize", () => {
  const td = make_td(new tdx_module(), { params: (p) => p.max_vcpus = 2 });
  const [a, b, c] = [new tdx_vp(), new tdx_vp(), new tdx_vp()];
  for (const vp of [a, b, c]) assertEquals(tdh_vp_create(td, vp), TDX_SUCCESS);
  assertEquals(tdh_vp_init(a, 0n, 0), TDX_SUCCESS);
  assertEquals(tdh_vp_init(a, 0n, 0), TDX_VCPU_STATE_INCORRECT);
  assertEquals(tdh_vp_init(b, 0n, 0), TDX_X2APIC_ID_NOT_UNIQUE);
  assertEquals(tdh_vp_init(b, 0n, 1), TDX_SUCCESS);
  assertEquals(tdh_vp_init(c, 0n, 2), TDX_MAX_VCPUS_EXCEEDED);
  assertEquals(tdh_mr_finalize(td), TDX_SUCCESS);
  assertEquals(tdh_vp_create(td, new tdx_vp()), TDX_OP_STATE_INCORRECT);
  const early = make_td(new tdx_module(), { init: false });
  assertEquals(tdh_vp_create(early, new tdx_vp()), TDX_OP_STATE_INCORRECT);
});

Deno.test("initial vCPU state is spec 4.1's, loaded into a VMCS", () => {
  const td = make_td();
  const vps = [new tdx_vp(), new tdx_vp()];
  for (const [i, vp] of vps.entries()) {
    assertEquals(tdh_vp_create(td, vp), TDX_SUCCESS);
    assertEquals(tdh_vp_init(vp, 0xffff0000n + BigInt(i), i), TDX_SUCCESS);
  }
  const st = td_vcpu_initial_state(vps[1]!);
  assertEquals(st.rip, 0xfffffff0n);
  assertEquals(st.regs[3], 48n); // RBX = GPAW
  assertEquals(st.regs[1], 0xffff0001n); // RCX
  assertEquals(st.regs[8], 0xffff0001n); // R8
  assertEquals(st.regs[6], 1n); // RSI = VCPU_INDEX
  assertEquals(st.regs[2], 0x000806f8n); // RDX = CPUID(1).EAX

  const v = vmcs_alloc(1);
  v.regs.set(15, 0x1234n);
  tdx_vcpu_load_initial_state(v, vps[1]!);
  assertEquals(v.rip, 0xfffffff0n);
  assertEquals(v.regs.toArray(), [
    0n,
    0xffff0001n,
    0x806f8n,
    48n,
    0n,
    0n,
    1n,
    0n,
    0xffff0001n,
    ...Array(7).fill(0n),
  ]);
  assertEquals(v.cr0, 0x21n);
  assertEquals(v.cr4, 0x40n);
  assertEquals(v.efer, 0x901n);
  assertEquals(v.rflags, 2n);
  assertEquals([v.cs.base, v.cs.limit, v.cs.type, v.cs.db, v.cs.g, v.cs.present, v.cs.s], [
    0n,
    0xffffffff,
    0xb,
    1,
    1,
    1,
    1,
  ]);
  assertEquals([v.ss.type, v.ss.db, v.ss.g, v.ss.limit], [3, 1, 1, 0xffffffff]);
  assertEquals(v.ldtr.unusable, 1);
  assertEquals([v.tr.type, v.tr.limit, v.tr.s], [0xb, 0xffff, 0]);
  assertEquals([v.gdtr.limit, v.idtr.limit], [0xffff, 0xffff]);
  assertEquals([v.dr6, v.dr7, v.xcr0, v.pat], [0xffff0ff0n, 0x400n, 1n, 0x0007040600070406n]);
  assertEquals(v.apic_base, 0xfee00c00n); // x2APIC, not the BSP
  assertEquals(v.td_guest, 1);
  assertEquals(v.shared_gpa_mask, 1n << 47n);
  assertEquals(v.tsc_khz, 2_500_000);
  assertEquals(v.maxphyaddr, 52);
  const bsp = vmcs_alloc(0);
  tdx_vcpu_load_initial_state(bsp, vps[0]!);
  assertEquals(bsp.apic_base, 0xfee00d00n);
  assertEquals(bsp.regs.at(6), 0n);
});
