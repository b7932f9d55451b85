// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import {
  addr_gva2gpa,
  addr_gva2hva,
  KVM_UTIL_MIN_VADDR,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  vm_alloc,
  vm_create_with_one_vcpu,
} from "../include/kvm_util.ts";
import { IMAGE_TEXT_GVA } from "./elf.ts";
import { IMAGE_DATA_GVA } from "./guest_globals.ts";

Deno.test("vm_create_with_one_vcpu maps the image, the ucall pool and a vm_alloc'd page", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    assertEquals(vcpu.value.vm, vm);
    assertEquals(vm.vcpus, [vcpu.value]);
    // The image regions sit at their fixed GVAs in memslot 0.
    assert(addr_gva2gpa(vm, IMAGE_TEXT_GVA) < vm.regions.get(0)!.region.memory_size);
    assert(addr_gva2gpa(vm, IMAGE_DATA_GVA) < vm.regions.get(0)!.region.memory_size);
    // The ucall pool takes the lowest GVAs; a test allocation comes after it.
    const gva = vm_alloc(vm, 4096, KVM_UTIL_MIN_VADDR);
    assert(gva > KVM_UTIL_MIN_VADDR);
    assertEquals(addr_gva2hva(vm, gva + 5n), addr_gva2hva(vm, gva) + 5n);
  } finally {
    kvm_vm_free(vm);
  }
});
