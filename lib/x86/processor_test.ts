// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import {
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  vm_create_with_one_vcpu,
} from "../../include/kvm_util.ts";
import { host_cpu_is_amd, host_cpu_is_intel } from "../../include/x86/processor.ts";
import { selected_backend_name } from "../../include/libc/backend.ts";

/** The vendor of the machine the backend runs VMs on. */
function backend_host_vendor(): string {
  if (selected_backend_name() === "sim") return "GenuineIntel"; // the simulated SPR host
  const m = Deno.readTextFileSync("/proc/cpuinfo").match(/^vendor_id\s*:\s*(\S+)/m);
  return m?.[1] ?? "";
}

Deno.test("host_cpu_is_intel/amd follow the vendor of the backend's host CPU", () => {
  // kvm_arch_vm_post_create() sets and syncs them for every VM with vCPUs.
  const vm = vm_create_with_one_vcpu(ref<kvm_vcpu>(), null);
  try {
    const vendor = backend_host_vendor();
    assertEquals(
      [host_cpu_is_intel.value, host_cpu_is_amd.value],
      [vendor === "GenuineIntel" ? 1n : 0n, vendor === "AuthenticAMD" ? 1n : 0n],
    );
  } finally {
    kvm_vm_free(vm);
  }
});
