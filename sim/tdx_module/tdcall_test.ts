// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { createHash } from "node:crypto";
import {
  OPERAND_ID_R8,
  OPERAND_ID_RAX,
  OPERAND_ID_RCX,
  OPERAND_ID_RDX,
  TD_CTLS_REDUCE_VE,
  TDCS_CONFIG_FLAGS,
  TDCS_NOTIFY_ENABLES,
  TDCS_TD_CTLS,
  TDG_MEM_PAGE_ACCEPT,
  TDG_MR_REPORT,
  TDG_MR_RTMR_EXTEND,
  TDG_VM_RD,
  TDG_VM_WR,
  TDG_VP_CPUIDVE_SET,
  TDG_VP_INFO,
  TDG_VP_VEINFO_GET,
  TDG_VP_VMCALL,
  TDX_METADATA_FIELD_ID_INCORRECT,
  TDX_METADATA_FIELD_NOT_WRITABLE,
  TDX_METADATA_WR_MASK_NOT_VALID,
  TDX_NO_VALID_VE_INFO,
  TDX_OPERAND_INVALID,
  TDX_PAGE_ALREADY_ACCEPTED,
  TDX_PAGE_SIZE_MISMATCH,
  TDX_SUCCESS,
} from "../../include/x86/tdx/tdcall.ts";
import { TDX_TD_ATTR_SEPT_VE_DISABLE } from "../../include/x86/tdx/tdx.ts";
import { tdx_report, TDX_REPORT_TYPE_TDX } from "../../include/x86/tdx/tdreport.ts";
import { SEPT_MAPPED } from "./sept.ts";
import {
  type tdcall_outcome,
  tdg_dispatch,
  tdh_vp_enter_after_vmcall,
  type tdx_guest_state,
} from "./tdcall.ts";
import { tdh_mem_page_add, tdh_mem_page_aug, tdh_mr_finalize } from "./tdh_mem.ts";
import { td_report_mac } from "./tdreport.ts";
import { fake_gmem, guest, hex, make_td, make_vcpus, running_td } from "./testdata/util.ts";

const R = {
  RAX: 0,
  RCX: 1,
  RDX: 2,
  RBX: 3,
  RSP: 4,
  RBP: 5,
  RSI: 6,
  RDI: 7,
  R8: 8,
  R9: 9,
  R10: 10,
  R11: 11,
  R12: 12,
};

function call(
  td: Parameters<typeof tdg_dispatch>[0],
  vp: Parameters<typeof tdg_dispatch>[1],
  g: tdx_guest_state,
  mem: fake_gmem,
  leaf: number | bigint,
  regs: Record<number, bigint> = {},
): tdcall_outcome {
  g.regs.set(R.RAX, BigInt(leaf));
  for (const [i, v] of Object.entries(regs)) g.regs.set(Number(i), v);
  return tdg_dispatch(td, vp, g, mem);
}

Deno.test("TDG.VP.INFO: GPAW, attributes, vCPU counts, index", () => {
  const td = make_td();
  const vps = make_vcpus(td, 3);
  tdh_mr_finalize(td);
  const g = guest();
  assertEquals(call(td, vps[2]!, g, new fake_gmem(), TDG_VP_INFO).kind, "handled");
  assertEquals(g.regs.at(R.RAX), TDX_SUCCESS);
  assertEquals(g.regs.at(R.RCX), 48n);
  assertEquals(g.regs.at(R.RDX), TDX_TD_ATTR_SEPT_VE_DISABLE);
  assertEquals(g.regs.at(R.R8), 3n | 8n << 32n);
  assertEquals(g.regs.at(R.R9), 2n);
  assertEquals(g.regs.at(R.R10) & ~1n, 0n);
  assertEquals(g.regs.at(R.R11), 0n);
});

Deno.test("unknown leaves and versions are TDX_OPERAND_INVALID without an exit", () => {
  const { td, vp } = running_td();
  const g = guest();
  for (const leaf of [13n, 0x40n, 0xffffn, 1n | 1n << 16n, 1n << 30n]) {
    assertEquals(call(td, vp, g, new fake_gmem(), leaf).kind, "handled");
    assertEquals(g.regs.at(R.RAX), TDX_OPERAND_INVALID | OPERAND_ID_RAX);
  }
});

Deno.test("TDG.VP.VMCALL: RCX mask rules, exposure to the VMM and on return", () => {
  const { td, vp } = running_td();
  const g = guest();
  for (const bad of [1n, 2n, 0x10n, 0x20n, 0xfc00n | 1n << 32n]) {
    for (let i = 2; i < 16; i++) g.regs.set(i, 0x100n + BigInt(i));
    const o = call(td, vp, g, new fake_gmem(), TDG_VP_VMCALL, { [R.RCX]: bad });
    assertEquals(o.kind, "handled", `mask ${bad}`);
    assertEquals(g.regs.at(R.RAX), TDX_OPERAND_INVALID | OPERAND_ID_RCX);
  }
  for (let i = 2; i < 16; i++) g.regs.set(i, 0x100n + BigInt(i));
  const mask = 0xfc00n | 1n << 3n; // R10..R15 and RBX
  const o = call(td, vp, g, new fake_gmem(), TDG_VP_VMCALL, { [R.RCX]: mask });
  assert(o.kind === "vmcall");
  const seen = Array.from(o.exit.regs);
  assertEquals(seen[R.RCX], mask);
  assertEquals(seen[R.RBX], 0x103n);
  assertEquals(seen[R.RDX], 0n); // not exposed
  assertEquals(seen[R.RSI], 0n);
  assertEquals(seen.slice(10), [0x10an, 0x10bn, 0x10cn, 0x10dn, 0x10en, 0x10fn]);
  // The VMM answers in every register; only the exposed ones come back.
  o.exit.regs.fill(0xeen);
  tdh_vp_enter_after_vmcall(g, o.exit);
  assertEquals(g.regs.at(R.RAX), 0n);
  assertEquals(g.regs.at(R.RCX), mask);
  assertEquals(g.regs.at(R.RDX), 0x102n);
  assertEquals(g.regs.at(R.RSI), 0x106n);
  assertEquals(g.regs.at(R.RBX), 0xeen);
  assertEquals(g.regs.at(R.R10), 0xeen);
  assertEquals(g.regs.at(15), 0xeen);
  // XMM bits (31:16) are allowed.
  assertEquals(
    call(td, vp, g, new fake_gmem(), TDG_VP_VMCALL, { [R.RCX]: 0xffff0000n }).kind,
    "vmcall",
  );
});

Deno.test("TDG.VP.VEINFO.GET: none → NO_VALID_VE_INFO; a #VE is read once", () => {
  const { td, vp } = running_td();
  const g = guest();
  const mem = new fake_gmem();
  call(td, vp, g, mem, TDG_VP_VEINFO_GET);
  assertEquals(g.regs.at(R.RAX), TDX_NO_VALID_VE_INFO);
  // What the CPU's raise_ve() stores for an I/O instruction.
  Object.assign(g.ve_info, {
    valid: 0xffffffff,
    exit_reason: 30,
    exit_qualification: 0x3f0008n,
    guest_linear_address: 0x11n,
    guest_physical_address: 0x22n,
    instruction_length: 2,
    instruction_info: 5,
  });
  call(td, vp, g, mem, TDG_VP_VEINFO_GET);
  assertEquals(g.regs.at(R.RAX), TDX_SUCCESS);
  assertEquals([g.regs.at(R.RCX), g.regs.at(R.RDX), g.regs.at(R.R8), g.regs.at(R.R9)], [
    30n,
    0x3f0008n,
    0x11n,
    0x22n,
  ]);
  assertEquals(g.regs.at(R.R10), 2n | 5n << 32n);
  call(td, vp, g, mem, TDG_VP_VEINFO_GET);
  assertEquals(g.regs.at(R.RAX), TDX_NO_VALID_VE_INFO);
});

/** A TD with private pages at 0x1000 (REPORTDATA / RTMR data) and 0x2000 (report out). */
function td_with_pages() {
  const td = make_td();
  const [vp] = make_vcpus(td, 1);
  const mem = new fake_gmem();
  const data = new Uint8Array(4096).map((_, i) => (i * 3) & 0xff);
  tdh_mem_page_add(td, 0x1000n, mem.page(1), data);
  tdh_mem_page_add(td, 0x2000n, mem.page(2), new Uint8Array(4096));
  tdh_mr_finalize(td);
  return { td, vp: vp!, mem, g: guest() };
}

Deno.test("TDG.MR.REPORT: layout, MRTD at 528, REPORTDATA, hashes, simulated MAC", () => {
  const { td, vp, mem, g } = td_with_pages();
  td.mrconfigid.fill(0xc1);
  const o = call(td, vp, g, mem, TDG_MR_REPORT, { [R.RCX]: 0x2000n, [R.RDX]: 0x1040n, [R.R8]: 0n });
  assertEquals(o.kind, "handled");
  assertEquals(g.regs.at(R.RAX), TDX_SUCCESS);
  const bytes = mem.page(2).slice(0, 1024);
  const r = tdx_report.view(bytes);
  assertEquals(r.reportmac.report_type.type, TDX_REPORT_TYPE_TDX);
  assertEquals(r.reportmac.reportdata.$bytes, mem.page(1).slice(0x40, 0x80));
  assertEquals(bytes.slice(528, 576), td.measurement.mrtd);
  assertEquals(r.tdinfo.attributes, TDX_TD_ATTR_SEPT_VE_DISABLE);
  assertEquals(r.tdinfo.xfam, 0xe7n);
  assertEquals(r.tdinfo.mrconfigid.$bytes, new Uint8Array(48).fill(0xc1));
  const sha = (b: Uint8Array) => new Uint8Array(createHash("sha384").update(b).digest());
  assertEquals(r.reportmac.tee_info_hash.$bytes, sha(bytes.slice(512, 1024)));
  assertEquals(r.reportmac.tee_tcb_info_hash.$bytes, sha(bytes.slice(256, 256 + 239)));
  assertEquals(r.reportmac.mac.$bytes, td_report_mac(bytes.slice(0, 224)));
  // Deterministic: the same state gives the same report.
  call(td, vp, g, mem, TDG_MR_REPORT, { [R.RCX]: 0x2400n, [R.RDX]: 0x1040n, [R.R8]: 0n });
  assertEquals(mem.page(2).slice(0x400, 0x800), bytes);
});

Deno.test("TDG.MR.REPORT operand checks", () => {
  const { td, vp, mem, g } = td_with_pages();
  const cases: [bigint, bigint, bigint, bigint][] = [
    [0x2200n, 0x1000n, 0n, OPERAND_ID_RCX], // not 1024-aligned
    [0x2000n | 1n << 47n, 0x1000n, 0n, OPERAND_ID_RCX], // shared
    [0x2000n, 0x1020n, 0n, OPERAND_ID_RDX], // not 64-aligned
    [0x2000n, 0x1000n | 1n << 47n, 0n, OPERAND_ID_RDX],
    [0x2000n, 0x1000n, 1n, OPERAND_ID_R8], // subtype
  ];
  for (const [rcx, rdx, r8, id] of cases) {
    call(td, vp, g, mem, TDG_MR_REPORT, { [R.RCX]: rcx, [R.RDX]: rdx, [R.R8]: r8 });
    assertEquals(g.regs.at(R.RAX), TDX_OPERAND_INVALID | id);
  }
  // An unmapped output page is an EPT violation for the VMM to resolve.
  const o = call(td, vp, g, mem, TDG_MR_REPORT, { [R.RCX]: 0x9000n, [R.RDX]: 0x1000n, [R.R8]: 0n });
  assertEquals(o, { kind: "ept_violation", gpa: 0x9000n, write: true, accept_level: -1 });
});

Deno.test("TDG.MR.RTMR.EXTEND, then REPORT shows the new RTMR", () => {
  const { td, vp, mem, g } = td_with_pages();
  call(td, vp, g, mem, TDG_MR_RTMR_EXTEND, { [R.RCX]: 0x1040n, [R.RDX]: 2n });
  assertEquals(g.regs.at(R.RAX), TDX_SUCCESS);
  const want = createHash("sha384").update(new Uint8Array(48)).update(mem.page(1).slice(0x40, 0x70))
    .digest("hex");
  assertEquals(hex(td.measurement.rtmr[2]!), want);
  call(td, vp, g, mem, TDG_MR_REPORT, { [R.RCX]: 0x2000n, [R.RDX]: 0x1000n, [R.R8]: 0n });
  assertEquals(hex(tdx_report.view(mem.page(2)).tdinfo.rtmr.at(2).$bytes), want);
  call(td, vp, g, mem, TDG_MR_RTMR_EXTEND, { [R.RCX]: 0x1040n, [R.RDX]: 4n });
  assertEquals(g.regs.at(R.RAX), TDX_OPERAND_INVALID | OPERAND_ID_RDX);
  call(td, vp, g, mem, TDG_MR_RTMR_EXTEND, { [R.RCX]: 0x1020n, [R.RDX]: 0n });
  assertEquals(g.regs.at(R.RAX), TDX_OPERAND_INVALID | OPERAND_ID_RCX);
});

Deno.test("TDG.MEM.PAGE.ACCEPT state machine", () => {
  const { td, vp, mem, g } = td_with_pages();
  const accept = (rcx: bigint) => call(td, vp, g, mem, TDG_MEM_PAGE_ACCEPT, { [R.RCX]: rcx });
  // Not augmented yet: the VMM must fault it in, then the TDCALL runs again.
  assertEquals(accept(0x10000n), {
    kind: "ept_violation",
    gpa: 0x10000n,
    write: true,
    accept_level: 0,
  });
  assertEquals(tdh_mem_page_aug(td, 0x10000n), TDX_SUCCESS);
  mem.page(0x10).fill(0xaa); // stale frame content
  assertEquals(accept(0x10000n).kind, "handled");
  assertEquals(g.regs.at(R.RAX), TDX_SUCCESS);
  assertEquals(mem.page(0x10), new Uint8Array(4096)); // zeroed
  assertEquals(td.sept.state(0x10), SEPT_MAPPED);
  accept(0x10000n);
  assertEquals(g.regs.at(R.RAX), TDX_PAGE_ALREADY_ACCEPTED);
  accept(0x1000n); // PAGE.ADD pages are accepted already
  assertEquals(g.regs.at(R.RAX), TDX_PAGE_ALREADY_ACCEPTED);
  accept(0x0n | 1n); // 2 MiB over 4 KiB mappings
  assertEquals(g.regs.at(R.RAX), TDX_PAGE_SIZE_MISMATCH | 1n);
  assertEquals(accept(0x400000n | 1n).kind, "ept_violation");
  for (
    const bad of [0x10000n | 1n << 47n, 0x10000n | 2n, 0x10000n | 0x8n, 0x201000n | 1n, 1n << 48n]
  ) {
    accept(bad);
    assertEquals(g.regs.at(R.RAX), TDX_OPERAND_INVALID | OPERAND_ID_RCX, `rcx ${bad}`);
  }
});

Deno.test("a PENDING page under a TDCALL: #VE without SEPT_VE_DISABLE, exit with it", () => {
  for (const ve_disable of [false, true]) {
    const { td, vp } = running_td(undefined, (p) => {
      if (!ve_disable) p.attributes = 0n;
    });
    const mem = new fake_gmem();
    const g = guest();
    tdh_mem_page_aug(td, 0x5000n);
    const o = call(td, vp, g, mem, TDG_MR_RTMR_EXTEND, { [R.RCX]: 0x5000n, [R.RDX]: 0n });
    if (ve_disable) assertEquals(o.kind, "ept_violation");
    else {
      assertEquals(o.kind, "ve");
      assertEquals(g.ve_info.valid, 0xffffffff);
      assertEquals(g.ve_info.exit_reason, 48);
      assertEquals(g.ve_info.guest_physical_address, 0x5000n);
    }
  }
});

Deno.test("TDG.VM.RD/WR of the TDCS fields guests use", () => {
  const { td, vp, mem, g } = td_with_pages();
  call(td, vp, g, mem, TDG_VM_RD, { [R.RDX]: TDCS_CONFIG_FLAGS });
  assertEquals([g.regs.at(R.RAX), g.regs.at(R.R8)], [TDX_SUCCESS, 4n]);
  call(td, vp, g, mem, TDG_VM_RD, { [R.RDX]: 0x42n });
  assertEquals(g.regs.at(R.RAX), TDX_METADATA_FIELD_ID_INCORRECT);
  call(td, vp, g, mem, TDG_VM_WR | 1 << 16, {
    [R.RDX]: TDCS_TD_CTLS,
    [R.R8]: TD_CTLS_REDUCE_VE,
    [R.R9]: TD_CTLS_REDUCE_VE,
  });
  assertEquals([g.regs.at(R.RAX), g.regs.at(R.R8)], [TDX_SUCCESS, 1n]);
  assertEquals(td.td_ctls, 1n | TD_CTLS_REDUCE_VE);
  call(td, vp, g, mem, TDG_VM_WR, { [R.RDX]: TDCS_TD_CTLS, [R.R8]: 0n, [R.R9]: 1n });
  assertEquals(g.regs.at(R.RAX), TDX_METADATA_WR_MASK_NOT_VALID);
  call(td, vp, g, mem, TDG_VM_WR, { [R.RDX]: TDCS_CONFIG_FLAGS, [R.R8]: 0n, [R.R9]: 1n });
  assertEquals(g.regs.at(R.RAX), TDX_METADATA_FIELD_NOT_WRITABLE);
  call(td, vp, g, mem, TDG_VM_WR, { [R.RDX]: TDCS_NOTIFY_ENABLES, [R.R8]: 1n, [R.R9]: 1n });
  assertEquals(td.notify_enables, 1n);
});

Deno.test("TDG.VP.CPUIDVE.SET takes bits 0..1 only", () => {
  const { td, vp } = running_td();
  const g = guest();
  call(td, vp, g, new fake_gmem(), TDG_VP_CPUIDVE_SET, { [R.RCX]: 3n });
  assertEquals([g.regs.at(R.RAX), vp.cpuid_ve], [TDX_SUCCESS, 3n]);
  call(td, vp, g, new fake_gmem(), TDG_VP_CPUIDVE_SET, { [R.RCX]: 4n });
  assertNotEquals(g.regs.at(R.RAX), TDX_SUCCESS);
  assertEquals(vp.cpuid_ve, 3n);
});
