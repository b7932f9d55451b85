// SPDX-License-Identifier: GPL-2.0-only
// A guest image with no state of its own keeps one instance across VMs in a
// pooled vCPU worker (sim/cpu/image_state.ts): its guest globals must still
// be each VM's own. This module is that image, so its top level stays free
// of state.
import "../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import { u64 } from "../../include/c/layout.ts";
import {
  get_ucall,
  guest_global,
  GUEST_SYNC,
  type kvm_vcpu,
  kvm_vm_free,
  new_ucall,
  ref,
  sync_global_from_guest,
  sync_global_to_guest,
  UCALL_SYNC,
  vcpu_run,
  vm_create_with_one_vcpu,
} from "../../include/kvm_util.ts";
import { in_guest_worker } from "../../include/libc/process.ts";
import { image_own_state } from "./image_state.ts";

const seed = guest_global("reuse_seed", u64);
const echo = guest_global("reuse_echo", u64);

/** Guest: reports the seed the host set for this VM, and leaves its double behind. */
export function guest_report_seed(): void {
  echo.value = seed.value * 2n;
  GUEST_SYNC(seed.value);
}

Deno.test({
  name: "a reused image instance reads and writes each VM's guest globals, not the last VM's",
  ignore: in_guest_worker(),
  fn() {
    // The premise: this image is kept, not imported again, for each VM.
    assertEquals(image_own_state(Deno.readTextFileSync(new URL(import.meta.url))), undefined);
    for (const v of [3n, 5n, 7n]) {
      const vcpu = ref<kvm_vcpu>();
      const vm = vm_create_with_one_vcpu(vcpu, guest_report_seed);
      try {
        seed.value = v;
        sync_global_to_guest(vm, seed);
        vcpu_run(vcpu.value);
        const uc = new_ucall();
        assertEquals(get_ucall(vcpu.value, uc), UCALL_SYNC);
        assertEquals(uc.args.at(1), v, "the guest saw this VM's seed");
        sync_global_from_guest(vm, echo);
        assertEquals(echo.value, 2n * v, "the guest wrote this VM's memory");
      } finally {
        kvm_vm_free(vm);
      }
    }
  },
});
