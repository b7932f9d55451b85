// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { ENOSPC } from "../../include/linux/errno.ts";
import {
  OPERAND_ID_RDX,
  TDX_HKID_NOT_FREE,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
} from "../../include/x86/tdx/tdcall.ts";
import { tdx_module, TDX_NR_GUEST_KEYIDS } from "./sysinfo.ts";
import { tdx_td } from "./td.ts";
import { tdh_mng_create, tdx_td_teardown } from "./tdh_mng.ts";
import { make_td } from "./testdata/util.ts";

Deno.test("TD configuration metadata is TDX 1.5.01's", () => {
  const c = new tdx_module().sysinfo.td_conf;
  assertEquals(c.attributes_fixed0, 0x8000_0000_7000_0001n);
  assertEquals(c.attributes_fixed1, 0n);
  assertEquals(c.xfam_fixed0, 0x6dbe7n);
  assertEquals(c.xfam_fixed1, 0x3n);
  assertEquals(c.num_cpuid_config, 12);
  assertEquals(c.cpuid_config_leaves.length, 12);
  // leaf | subleaf << 32, "no subleaf" = 0xffffffff.
  assertEquals(c.cpuid_config_leaves[0], 0xffffffff_00000001n);
  assertEquals(c.cpuid_config_leaves[2], 0x00000001_00000004n);
  assertEquals(c.cpuid_config_leaves[9], 0xffffffff_80000008n);
  // The 0x80000008 mask is EAX[7:0] (virtual MAXPA) and EBX[9] (WBNOINVD).
  assertEquals(c.cpuid_config_values[9], [0x200n << 32n | 0xffn, 0n]);
});

Deno.test("HKIDs are finite: the next TD after the last key fails, freeing one makes room", () => {
  const m = new tdx_module();
  const tds = Array.from({ length: TDX_NR_GUEST_KEYIDS }, () => make_td(m, { init: false }));
  assertEquals(new Set(tds.map((t) => t.hkid)).size, TDX_NR_GUEST_KEYIDS);
  assertEquals(m.nr_keyids_in_use, TDX_NR_GUEST_KEYIDS);
  // The host allocator is what KVM hits first: KVM_TDX_INIT_VM gets -ENOSPC.
  assertEquals(m.guest_keyid_alloc(), -ENOSPC);
  tdx_td_teardown(tds[3]!);
  assertEquals(m.nr_keyids_in_use, TDX_NR_GUEST_KEYIDS - 1);
  const again = m.guest_keyid_alloc();
  assertEquals(again, tds[3]!.hkid);
  assertEquals(tdh_mng_create(new tdx_td(m), again), TDX_SUCCESS);
});

Deno.test("TDH.MNG.CREATE refuses a KeyID in use or outside the private range", () => {
  const m = new tdx_module({ nr_guest_keyids: 2 });
  const a = make_td(m, { init: false });
  assertEquals(tdh_mng_create(new tdx_td(m), a.hkid), TDX_HKID_NOT_FREE);
  assertEquals(tdh_mng_create(new tdx_td(m), 1), TDX_OPERAND_INVALID | OPERAND_ID_RDX);
  assertEquals(
    tdh_mng_create(new tdx_td(m), m.sysinfo.guest_keyid_start + 2),
    TDX_OPERAND_INVALID | OPERAND_ID_RDX,
  );
});
