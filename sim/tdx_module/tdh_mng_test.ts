// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertNotEquals } from "@std/assert";
import { ref } from "../../include/kvm_util_types.ts";
import {
  OPERAND_ID_ATTRIBUTES,
  OPERAND_ID_CPUID_CONFIG,
  OPERAND_ID_EPTP_CONTROLS,
  OPERAND_ID_EXEC_CONTROLS,
  OPERAND_ID_MAX_VCPUS,
  OPERAND_ID_NUM_L2_VMS,
  OPERAND_ID_RDX,
  OPERAND_ID_TSC_FREQUENCY,
  OPERAND_ID_XFAM,
  td_md_field_id_cpuid,
  TDCS_CONFIG_FLAGS,
  TDCS_TD_CTLS,
  TDX_KEY_CONFIGURED,
  TDX_LIFECYCLE_STATE_INCORRECT,
  TDX_METADATA_FIELD_ID_INCORRECT,
  TDX_OP_STATE_INCORRECT,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  TDX_TD_KEYS_NOT_CONFIGURED,
} from "../../include/x86/tdx/tdcall.ts";
import {
  TDX_TD_ATTR_DEBUG,
  TDX_TD_ATTR_KL,
  TDX_TD_ATTR_MIGRATABLE,
} from "../../include/x86/tdx/tdx.ts";
import { tdx_module } from "./sysinfo.ts";
import { OP_STATE_INITIALIZED, TD_TEARDOWN, tdx_td } from "./td.ts";
import type { td_params_view } from "./td_params.ts";
import { TDX_CONFIG_FLAGS_MAX_GPAW, VMX_EPTP_MT_WB, VMX_EPTP_PWL_5 } from "./td_params.ts";
import {
  tdh_mng_create,
  tdh_mng_init,
  tdh_mng_key_config,
  tdh_mng_key_freeid,
  tdh_mng_rd,
  tdh_mng_vpflushdone,
} from "./tdh_mng.ts";
import { make_td, valid_params } from "./testdata/util.ts";

const inv = (id: bigint) => TDX_OPERAND_INVALID | id;

function init_with(over: (p: td_params_view) => void, err = ref<bigint>(0n)): bigint {
  const m = new tdx_module();
  const td = make_td(m, { init: false });
  return tdh_mng_init(td, valid_params(m, over), err);
}

Deno.test("TDH.MNG.INIT accepts KVM's TD_PARAMS and records them", () => {
  const td = make_td();
  assertEquals(td.op_state, OP_STATE_INITIALIZED);
  assertEquals(td.gpaw, 48);
  assertEquals(td.shared_bit, 1n << 47n);
  assertEquals(td.max_vcpus, 8);
  assertEquals(td.pending_ve_disable, true);
  // The measurement starts empty: no page yet.
  assertEquals(td.measurement.finalized, false);
});

Deno.test("TDH.MNG.INIT: each TD_PARAMS check fails with its operand id", () => {
  const cases: [string, (p: td_params_view) => void, bigint][] = [
    ["attribute outside FIXED0 (KL)", (p) => p.attributes |= TDX_TD_ATTR_KL, OPERAND_ID_ATTRIBUTES],
    [
      "MIGRATABLE with DEBUG",
      (p) => p.attributes |= TDX_TD_ATTR_MIGRATABLE | TDX_TD_ATTR_DEBUG,
      OPERAND_ID_ATTRIBUTES,
    ],
    ["XFAM without FIXED1 (SSE)", (p) => p.xfam = 0x1n, OPERAND_ID_XFAM],
    ["XFAM bit the platform lacks (AMX)", (p) => p.xfam |= 0x60000n, OPERAND_ID_XFAM],
    ["AVX-512 partial", (p) => p.xfam = 0x27n, OPERAND_ID_XFAM],
    ["MAX_VCPUS 0", (p) => p.max_vcpus = 0, OPERAND_ID_MAX_VCPUS],
    ["MAX_VCPUS too large", (p) => p.max_vcpus = 577, OPERAND_ID_MAX_VCPUS],
    ["NUM_L2_VMS", (p) => p.reserved0.set(0, 1), OPERAND_ID_NUM_L2_VMS],
    ["reserved0", (p) => p.reserved0.set(5, 1), OPERAND_ID_RDX],
    ["unknown CONFIG_FLAGS bit", (p) => p.config_flags |= 1n << 3n, OPERAND_ID_EXEC_CONTROLS],
    ["EPTP memory type UC", (p) => p.eptp_controls &= ~7n, OPERAND_ID_EPTP_CONTROLS],
    [
      "EPTP 3-level walk",
      (p) => p.eptp_controls = VMX_EPTP_MT_WB | 2n << 3n,
      OPERAND_ID_EPTP_CONTROLS,
    ],
    [
      "GPAW 52 with 4-level EPT",
      (p) => p.config_flags |= TDX_CONFIG_FLAGS_MAX_GPAW,
      OPERAND_ID_EPTP_CONTROLS,
    ],
    ["EPTP A/D bit", (p) => p.eptp_controls |= 1n << 6n, OPERAND_ID_EPTP_CONTROLS],
    ["TSC below 100 MHz", (p) => p.tsc_frequency = 3, OPERAND_ID_TSC_FREQUENCY],
    ["TSC above 10 GHz", (p) => p.tsc_frequency = 401, OPERAND_ID_TSC_FREQUENCY],
    ["reserved1", (p) => p.reserved1.set(37, 1), OPERAND_ID_RDX],
    ["MSR_CONFIG_CTLS", (p) => p.reserved0.set(1, 1), OPERAND_ID_RDX],
    ["reserved2", (p) => p.reserved2.set(3, 1n), OPERAND_ID_RDX],
    [
      "CPUID slot past the configurable leaves",
      (p) => p.cpuid_values.at(12).eax = 1,
      OPERAND_ID_RDX,
    ],
    [
      "non-configurable CPUID bit (1.ECX VMX)",
      (p) => p.cpuid_values.at(0).ecx |= 1 << 5,
      OPERAND_ID_CPUID_CONFIG,
    ],
    [
      "foreign family/model/stepping",
      (p) => p.cpuid_values.at(0).eax = 0x000a06a4,
      OPERAND_ID_CPUID_CONFIG,
    ],
  ];
  for (const [what, over, id] of cases) assertEquals(init_with(over), inv(id), what);
});

Deno.test("checks run in the module's order: ATTRIBUTES before XFAM before MAX_VCPUS", () => {
  assertEquals(
    init_with((p) => {
      p.attributes |= TDX_TD_ATTR_KL;
      p.xfam = 0n;
      p.max_vcpus = 0;
    }),
    inv(OPERAND_ID_ATTRIBUTES),
  );
  assertEquals(
    init_with((p) => {
      p.xfam = 0n;
      p.max_vcpus = 0;
    }),
    inv(OPERAND_ID_XFAM),
  );
});

Deno.test("a rejected CPUID leaf is named in the extended error (RCX)", () => {
  const err = ref<bigint>(0n);
  assertEquals(init_with((p) => p.cpuid_values.at(2).edx = 0x4, err), inv(OPERAND_ID_CPUID_CONFIG));
  assertEquals(err.value, 1n << 32n | 4n); // leaf 4 subleaf 1
});

Deno.test("GPAW 52 with 5-level EPT gives shared bit 51", () => {
  const m = new tdx_module();
  const td = make_td(m, { init: false });
  const p = valid_params(m, (p) => {
    p.config_flags |= TDX_CONFIG_FLAGS_MAX_GPAW;
    p.eptp_controls = VMX_EPTP_MT_WB | VMX_EPTP_PWL_5;
  });
  assertEquals(tdh_mng_init(td, p), TDX_SUCCESS);
  assertEquals(td.gpaw, 52);
  assertEquals(td.shared_bit, 1n << 51n);
});

Deno.test("lifecycle: INIT needs the key, happens once; KEY.CONFIG twice warns", () => {
  const m = new tdx_module();
  const td = new tdx_td(m);
  assertEquals(tdh_mng_init(td, valid_params(m)), TDX_LIFECYCLE_STATE_INCORRECT);
  assertEquals(tdh_mng_create(td, m.guest_keyid_alloc()), TDX_SUCCESS);
  assertEquals(tdh_mng_init(td, valid_params(m)), TDX_TD_KEYS_NOT_CONFIGURED);
  assertEquals(tdh_mng_key_config(td), TDX_SUCCESS);
  assertEquals(tdh_mng_key_config(td), TDX_KEY_CONFIGURED);
  assertEquals(tdh_mng_init(td, valid_params(m).$bytes), TDX_SUCCESS);
  assertEquals(tdh_mng_init(td, valid_params(m)), TDX_OP_STATE_INCORRECT);
  assertEquals(tdh_mng_key_freeid(td), TDX_LIFECYCLE_STATE_INCORRECT);
  assertEquals(tdh_mng_vpflushdone(td), TDX_SUCCESS);
  assertEquals(tdh_mng_key_freeid(td), TDX_SUCCESS);
  assertEquals(td.lifecycle, TD_TEARDOWN);
  // The KOT entry is free again: another TD may take the key.
  assertEquals(tdh_mng_create(new tdx_td(m), td.hkid), TDX_SUCCESS);
});

Deno.test("TDH.MNG.RD: CPUID fields as KVM_TDX_GET_CPUID walks them, TDCS fields, bad ids", () => {
  const td = make_td();
  const v = ref<bigint>();
  // Leaf 0 (no subleaf): EBX:EAX = "Genu" : max leaf 0x23.
  assertEquals(tdh_mng_rd(td, td_md_field_id_cpuid(0, null, 0), v), TDX_SUCCESS);
  assertEquals(v.value, 0x756e6547n << 32n | 0x23n);
  assertEquals(tdh_mng_rd(td, td_md_field_id_cpuid(0, null, 1), v), TDX_SUCCESS);
  assertEquals(v.value, 0x49656e69n << 32n | 0x6c65746en); // EDX:ECX = "ineI" : "ntel"
  // Leaf 4 has subleaves: "no subleaf" does not exist, subleaf 0 does, 5 does not.
  assertEquals(
    tdh_mng_rd(td, td_md_field_id_cpuid(4, null, 0), v),
    TDX_METADATA_FIELD_ID_INCORRECT,
  );
  assertEquals(tdh_mng_rd(td, td_md_field_id_cpuid(4, 0, 0), v), TDX_SUCCESS);
  assertEquals(tdh_mng_rd(td, td_md_field_id_cpuid(4, 5, 0), v), TDX_METADATA_FIELD_ID_INCORRECT);
  // Leaf 2 and 0xB are not virtualised.
  assertEquals(
    tdh_mng_rd(td, td_md_field_id_cpuid(2, null, 0), v),
    TDX_METADATA_FIELD_ID_INCORRECT,
  );
  assertEquals(tdh_mng_rd(td, td_md_field_id_cpuid(0xb, 0, 0), v), TDX_METADATA_FIELD_ID_INCORRECT);
  assertEquals(tdh_mng_rd(td, td_md_field_id_cpuid(0x80000008, null, 0), v), TDX_SUCCESS);
  assertEquals(Number(v.value & 0xffn), 52);
  assertEquals(tdh_mng_rd(td, TDCS_CONFIG_FLAGS, v), TDX_SUCCESS);
  assertEquals(v.value, 4n);
  assertEquals(tdh_mng_rd(td, TDCS_TD_CTLS, v), TDX_SUCCESS);
  assertEquals(v.value, 1n);
  assertEquals(tdh_mng_rd(td, 0x1234n, v), TDX_METADATA_FIELD_ID_INCORRECT);
  const early = make_td(new tdx_module(), { init: false });
  assertNotEquals(tdh_mng_rd(early, td_md_field_id_cpuid(0, null, 0), v), TDX_SUCCESS);
});
