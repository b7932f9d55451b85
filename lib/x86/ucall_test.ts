// SPDX-License-Identifier: GPL-2.0-only
import { in_guest_worker } from "../../include/libc/process.ts";
import { assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { u64 } from "../../include/c/layout.ts";
import {
  __vm_create,
  get_ucall,
  guest_global,
  GUEST_SYNC2,
  kvm_can_run_guest_code,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  sync_global_to_guest,
  ucall_pool_hva,
  ucall_pool_index,
  ucall_struct,
  UCALL_SYNC,
  vcpu_run,
  vm_create_barebones,
  vm_create_with_one_vcpu,
} from "../../include/kvm_util.ts";
import { ExitError } from "../../include/libc/exit.ts";
import { VM_SHAPE_TDX } from "../../include/x86/processor.ts";
import { is_tdx_supported } from "../../include/x86/tdx/tdx_util.ts";
import {
  ucall_tdx_mmio_ops,
  ucall_x86_get_ops,
  ucall_x86_ops_table,
  ucall_x86_pio_ops,
  ucall_x86_set_ops,
} from "../../include/x86/ucall.ts";

/** The host address of a pool slot, for the guest to look up. */
const slot_hva = guest_global("slot_hva", u64);

/** Guest: the pool index of a slot, and of an address inside it. */
export function guest_code_pool_index(): void {
  GUEST_SYNC2(ucall_pool_index(slot_hva.value), ucall_pool_index(slot_hva.value + 8n));
}

Deno.test("ucall_arch_init gives an ordinary VM upstream's PIO ucall", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    assertEquals(ucall_x86_get_ops(vm), ucall_x86_pio_ops);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test({
  name: "ucall_arch_init gives a TD v13's MMIO ucall at the first GPA after memslot 0",
  // Evaluated when a vCPU worker imports this module as its guest image, where
  // system calls are refused: only the host asks KVM.
  ignore: in_guest_worker() || !is_tdx_supported(),
  fn: () => {
    const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
    try {
      assertEquals(ucall_x86_get_ops(vm), ucall_tdx_mmio_ops);
      const slot0 = vm.regions.get(0)!.region;
      assertEquals(vm.ucall_mmio_addr, slot0.guest_phys_addr + slot0.memory_size);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test("ucall_x86_set_ops takes only designs of ucall_x86_ops_table", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    const stray = { ...ucall_x86_pio_ops, name: "stray" };
    assertThrows(() => ucall_x86_set_ops(vm, stray), ExitError, "exit(254)");
    assertEquals(ucall_x86_get_ops(vm), ucall_x86_pio_ops);
    ucall_x86_set_ops(vm, ucall_x86_ops_table[3]!);
    assertEquals(ucall_x86_get_ops(vm), ucall_x86_ops_table[3]);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("ucall_pool_hva names the VM's pool slots by index, and nothing else", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  const bare = vm_create_barebones();
  try {
    const first = ucall_pool_hva(vm, 0);
    assertNotEquals(first, 0n);
    assertEquals(ucall_pool_hva(vm, 511) - first, 511n * BigInt(ucall_struct.size));
    assertEquals(ucall_pool_hva(vm, 512), 0n);
    assertEquals(ucall_pool_hva(vm, -1), 0n);
    assertEquals(ucall_pool_hva(vm, 1.5), 0n);
    assertEquals(ucall_pool_hva(bare, 0), 0n);
  } finally {
    kvm_vm_free(bare);
    kvm_vm_free(vm);
  }
});

Deno.test({
  name: "the guest's ucall_pool_index inverts ucall_pool_hva",
  ignore: !kvm_can_run_guest_code(),
  fn: () => {
    const vcpu = ref<kvm_vcpu>();
    const uc = ucall_struct.alloc();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_pool_index);
    try {
      slot_hva.value = ucall_pool_hva(vm, 3);
      sync_global_to_guest(vm, slot_hva);
      vcpu_run(vcpu.value);
      assertEquals(get_ucall(vcpu.value, uc), UCALL_SYNC);
      assertEquals(uc.args.at(0), 3n);
      assertEquals(uc.args.at(1), BigInt.asUintN(64, -1n));
    } finally {
      kvm_vm_free(vm);
    }
  },
});
