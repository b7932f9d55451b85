// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test helpers for the TDX module: a valid TD_PARAMS as KVM builds it, a TD
 * brought to a given state, private memory backed by a map of pages, and a
 * guest register file that is a real simulated-CPU VMCS.
 *
 * @module
 */

import { assertEquals } from "@std/assert";
import { vmcs_alloc, type vmcs_view } from "../../cpu/vmcs.ts";
import { TDX_SUCCESS } from "../../../include/x86/tdx/tdcall.ts";
import { TDX_TD_ATTR_SEPT_VE_DISABLE } from "../../../include/x86/tdx/tdx.ts";
import { native_cpuid, tdx_module } from "../sysinfo.ts";
import {
  td_params_alloc,
  type td_params_view,
  TDX_CONFIG_FLAGS_NO_RBP_MOD,
  VMX_EPTP_MT_WB,
  VMX_EPTP_PWL_4,
} from "../td_params.ts";
import { tdx_td, tdx_vp } from "../td.ts";
import { tdh_mng_create, tdh_mng_init, tdh_mng_key_config } from "../tdh_mng.ts";
import { tdh_vp_create, tdh_vp_init } from "../tdh_vp.ts";
import { tdh_mr_finalize } from "../tdh_mem.ts";
import type { td_private_memory, tdx_guest_state } from "../tdcall.ts";

/** A TD_PARAMS that TDH.MNG.INIT accepts: what KVM builds from the selftests' defaults. */
export function valid_params(m: tdx_module, over: (p: td_params_view) => void = () => {}) {
  const p = td_params_alloc();
  p.attributes = TDX_TD_ATTR_SEPT_VE_DISABLE;
  p.xfam = 0xe7n;
  p.max_vcpus = 8;
  p.eptp_controls = VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
  p.config_flags = TDX_CONFIG_FLAGS_NO_RBP_MOD;
  p.tsc_frequency = 100;
  const c = m.sysinfo.td_conf;
  for (let i = 0; i < c.num_cpuid_config; i++) {
    const leaf = Number(c.cpuid_config_leaves[i]! & 0xffffffffn);
    const sub = Number(c.cpuid_config_leaves[i]! >> 32n);
    const n = native_cpuid(leaf, sub === 0xffffffff ? 0 : sub);
    const [m0, m1] = c.cpuid_config_values[i]!;
    const mask = [m0 & 0xffffffffn, m0 >> 32n, m1 & 0xffffffffn, m1 >> 32n].map(Number);
    const v = p.cpuid_values.at(i);
    v.eax = (n[0] & mask[0]!) >>> 0;
    v.ebx = (n[1] & mask[1]!) >>> 0;
    v.ecx = (n[2] & mask[2]!) >>> 0;
    v.edx = (n[3] & mask[3]!) >>> 0;
  }
  over(p);
  return p;
}

/** A TD after TDH.MNG.CREATE + KEY.CONFIG (+ INIT with `params` unless `init` is false). */
export function make_td(
  m = new tdx_module(),
  opts: { init?: boolean; params?: (p: td_params_view) => void } = {},
): tdx_td {
  const td = new tdx_td(m);
  const hkid = m.guest_keyid_alloc();
  assertEquals(tdh_mng_create(td, hkid), TDX_SUCCESS);
  assertEquals(tdh_mng_key_config(td), TDX_SUCCESS);
  if (opts.init !== false) {
    assertEquals(tdh_mng_init(td, valid_params(m, opts.params)), TDX_SUCCESS);
  }
  return td;
}

/** `n` vCPUs created and initialised (x2APIC ID = creation index, RCX = `rcx`). */
export function make_vcpus(td: tdx_td, n: number, rcx = 0n): tdx_vp[] {
  const out: tdx_vp[] = [];
  for (let i = 0; i < n; i++) {
    const vp = new tdx_vp();
    assertEquals(tdh_vp_create(td, vp), TDX_SUCCESS);
    assertEquals(tdh_vp_init(vp, rcx, i), TDX_SUCCESS);
    out.push(vp);
  }
  return out;
}

/** A finalized TD with one vCPU. */
export function running_td(
  m = new tdx_module(),
  params?: (p: td_params_view) => void,
): { td: tdx_td; vp: tdx_vp } {
  const td = make_td(m, params ? { params } : {});
  const [vp] = make_vcpus(td, 1);
  assertEquals(tdh_mr_finalize(td), TDX_SUCCESS);
  return { td, vp: vp! };
}

/** Private memory as a map GFN → page (what guest_memfd gives KVM). */
export class fake_gmem implements td_private_memory {
  /** The pages. */
  readonly pages: Map<number, Uint8Array> = new Map();
  /** The page of `gfn`, created on first use (gmem allocates on fault). */
  page(gfn: number): Uint8Array {
    let p = this.pages.get(gfn);
    if (!p) {
      p = new Uint8Array(4096);
      this.pages.set(gfn, p);
    }
    return p;
  }
  /** {@linkcode td_private_memory.private_page}. */
  private_page(gfn: number): Uint8Array | null {
    return this.page(gfn);
  }
}

/** A guest register file: a real VMCS, so the interface is checked against it. */
export function guest(): vmcs_view & tdx_guest_state {
  const v = vmcs_alloc(0);
  const g: tdx_guest_state = v;
  return g as vmcs_view & tdx_guest_state;
}

/** Hex of bytes. */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
