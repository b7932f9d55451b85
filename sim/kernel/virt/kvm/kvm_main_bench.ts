// SPDX-License-Identifier: GPL-2.0-only
/**
 * Costs of the simulated kernel's control path: ioctl dispatch, memslot
 * changes, and VM + vCPU creation and teardown (the guest entry is measured
 * once the CPU side is attached).
 *
 * @module
 */

// The simulator's own figures: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { close, ioctl } from "../../../../include/libc/syscall.ts";
import {
  KVM_CAP_USER_MEMORY2,
  KVM_CHECK_EXTENSION,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_GET_REGS,
  kvm_regs,
} from "../../../../include/linux/kvm.ts";
import { anon, create_vcpu, create_vm, open_kvm, set_region } from "../../testdata/util.ts";

const kvm = open_kvm();
const [, vm] = create_vm();
const vcpu = create_vcpu(vm);
const regs = kvm_regs.alloc();
const hva = anon(2 << 20);

Deno.bench("ioctl dispatch: KVM_CHECK_EXTENSION on /dev/kvm", { group: "dispatch" }, () => {
  ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY2);
});

Deno.bench(
  "ioctl dispatch: KVM_GET_REGS (copy_to_user of 144 bytes)",
  { group: "dispatch" },
  () => {
    ioctl(vcpu, KVM_GET_REGS, regs);
  },
);

Deno.bench("KVM_SET_USER_MEMORY_REGION: create + delete a 2 MiB slot", () => {
  set_region(vm, 7, 0, 1n << 32n, 2n << 20n, hva);
  set_region(vm, 7, 0, 1n << 32n, 0n, hva);
});

Deno.bench("KVM_CREATE_VM + KVM_CREATE_VCPU + close (free)", () => {
  const v = ioctl(kvm, KVM_CREATE_VM, 0);
  const c = ioctl(v, KVM_CREATE_VCPU, 0);
  close(c);
  close(v);
});
