// SPDX-License-Identifier: GPL-2.0-only
/**
 * The probe, the checker's choices and the library's paging-mode choice,
 * judged against the profile of every host the project has met
 * (`testdata/hosts/`): a difference between hosts shows up here, on any
 * machine, not on the next host a user tries.
 */

import { assert, assertEquals, assertThrows } from "@std/assert";
import { load_backend } from "../../include/libc/backend.ts";
import * as kvm from "../../include/linux/kvm.ts";
import {
  common_offer,
  FEATURE_CAPS,
  has_guest_memfd,
  type HostProfile,
  paging_levels_of,
  probe_host,
} from "./probe.ts";
import { generate } from "./generator.ts";
import { explain, known_groups, parse_known_groups } from "./known.ts";
import { kvm_la57_usable } from "../../lib/x86/processor.ts";

const HOSTS = new URL("./testdata/hosts/", import.meta.url);

function recorded(): Map<string, HostProfile> {
  const out = new Map<string, HostProfile>();
  for (const e of Deno.readDirSync(HOSTS)) {
    if (e.name.endsWith(".json")) {
      out.set(e.name, JSON.parse(Deno.readTextFileSync(new URL(e.name, HOSTS))) as HostProfile);
    }
  }
  return out;
}

const sim = probe_host(await load_backend("sim"), "sim", { vendor_module: "sim" });

Deno.test("probe: the simulator offers guest_memfd and takes the LA57 it advertises", () => {
  assert(sim.available);
  assert(has_guest_memfd(sim));
  assertEquals(sim.cpuid, { la57: true, max_phys_addr: 52, max_virt_addr: 57 });
  assertEquals(sim.la57_sregs, 0);
  assertEquals(paging_levels_of(sim), 5);
  // The library, asked on the simulator, agrees with the probe.
  assertEquals(kvm_la57_usable(), true);
});

Deno.test("probe: every recorded host parses and is judged on what it offers", () => {
  const hosts = recorded();
  assert(hosts.size >= 3, "the CI host, the Intel host and a machine without /dev/kvm");
  for (const [file, p] of hosts) {
    const offer = common_offer(p, sim);
    assertEquals(offer.guest_memfd, has_guest_memfd(p), file);
    const exempt = new Set(offer.feature_caps);
    for (const cap of FEATURE_CAPS.guest_memfd!) {
      assertEquals(exempt.has(cap), !has_guest_memfd(p), `${file}: cap ${cap}`);
    }
    assert(offer.findings.some((f) => f.startsWith("guest_memfd:")), file);
  }
});

Deno.test("probe: the Intel host's advertised-but-refused LA57 gives 4-level paging", () => {
  const intel = recorded().get("intel_xeon_kvm_pvm.json")!;
  assertEquals(intel.cpuid.la57, true);
  assertEquals(intel.cpuid.max_virt_addr, 57);
  assert(intel.la57_sregs !== 0);
  assertEquals(paging_levels_of(intel), 4);
  assert(common_offer(intel, sim).findings.some((f) => f.includes("CR4.LA57 refused")));
});

Deno.test("probe: the CI host (48-bit, no LA57) gets 4 levels; no /dev/kvm is unavailable", () => {
  const hosts = recorded();
  const amd = hosts.get("amd_epyc_kvm_pvm.json")!;
  assertEquals(amd.cpuid.max_virt_addr, 48);
  assertEquals(paging_levels_of(amd), 4);
  const none = hosts.get("no_kvm.json")!;
  assertEquals(none.available, false);
  assertEquals(has_guest_memfd(none), false);
});

Deno.test("probe: a host with working guest_memfd keeps guest_memfd in the generated sequences", () => {
  const amd = recorded().get("amd_epyc_kvm_pvm.json")!;
  const with_gmem: HostProfile = {
    ...amd,
    guest_memfd: 0,
    vm_caps: { ...amd.vm_caps, KVM_CAP_GUEST_MEMFD: 1 },
  };
  assertEquals(common_offer(with_gmem, sim).guest_memfd, true);
  assertEquals(common_offer(with_gmem, sim).feature_caps, []);
});

function uses_guest_memfd(guest_memfd: boolean): number {
  let n = 0;
  for (let i = 0; i < 300; i++) {
    const seq = generate({ seed: 7, vm_types: [0], bad_vm_types: [], guest_memfd }, i);
    for (const c of seq.calls) {
      if (c.op !== "ioctl") continue;
      if (c.req === kvm.KVM_CREATE_GUEST_MEMFD) n++;
      const flags = typeof c.arg === "object" && c.arg !== null && "set" in c.arg
        ? c.arg.set.flags
        : undefined;
      if (
        c.req === kvm.KVM_SET_USER_MEMORY_REGION2 && typeof flags === "bigint" &&
        (flags & BigInt(kvm.KVM_MEM_GUEST_MEMFD)) && flags < 8n
      ) n++;
    }
  }
  return n;
}

Deno.test("generator: without guest_memfd on both sides, no guest_memfd call is generated", () => {
  assertEquals(uses_guest_memfd(false), 0);
  assert(uses_guest_memfd(true) > 50);
});

Deno.test("known groups: docs/fidelity.md names a rule and a reason for each pinned group", () => {
  const known = known_groups();
  assert(known.length >= 8);
  for (const k of known) assert(k.reason.length > 20, k.rule);
  assertEquals(explain("get/set regs after: rflags", known)?.rule, "vendor-rflags-vm");
  assertEquals(
    explain("KVM_GET_CPUID2 arg: entries[].eax", known)?.rule,
    "vendor-cpuid-rewrite",
  );
  // Anything not written down stays unexplained: a new bug fails the run.
  assertEquals(explain("KVM_GET_REGS ret -EINVAL vs 0", known), undefined);
  assertEquals(explain("KVM_SET_MSRS MSR 0x277: fails vs succeeds", known), undefined);
});

Deno.test("known groups: a row without a reason is refused", () => {
  const md = "### Known disagreement groups\n\n| rule | groups | reason |\n| --- | --- | --- |\n" +
    "| r | `KVM_GET_REGS *` |  |\n";
  assertThrows(() => parse_known_groups(md), Error, "without rule, pattern or reason");
  assertThrows(() => parse_known_groups("# nothing"), Error, "no '### Known");
});
