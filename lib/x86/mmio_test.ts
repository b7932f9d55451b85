// SPDX-License-Identifier: GPL-2.0-only
import { in_guest_worker } from "../../include/libc/process.ts";
import { assertEquals, assertStringIncludes } from "@std/assert";
import { u32 } from "../../include/c/layout.ts";
import {
  __vm_create,
  get_ucall,
  GUEST_DONE,
  kvm_can_run_guest_code,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  MMIO_READ,
  MMIO_WRITE,
  ref,
  SYNC_FROM_GUEST_AND_READ,
  UCALL_ABORT,
  ucall_buffer,
  ucall_struct,
  vcpu_run,
  vm_create_with_one_vcpu,
  WRITE_AND_SYNC_TO_GUEST,
} from "../../include/kvm_util.ts";
import { VM_SHAPE_TDX } from "../../include/x86/processor.ts";
import { is_tdx_supported } from "../../include/x86/tdx/tdx_util.ts";
import { guest_needs_tdvmcall, guest_needs_vmgexit } from "./mmio.ts";

const MMIO_GPA = 0x200000000n;

/** Guest: an MMIO write. */
export function guest_code_mmio_write(): void {
  MMIO_WRITE(MMIO_GPA, 1, u32);
  GUEST_DONE();
}

/** Guest: an MMIO read. */
export function guest_code_mmio_read(): void {
  const v = ref<number>();
  MMIO_READ(MMIO_GPA, v, u32);
  GUEST_DONE();
}

function flags(vm: kvm_vm): [number, number] {
  return [
    SYNC_FROM_GUEST_AND_READ(vm, guest_needs_tdvmcall),
    SYNC_FROM_GUEST_AND_READ(vm, guest_needs_vmgexit),
  ];
}

Deno.test("an ordinary guest accesses MMIO plainly: neither TDVMCALL nor VMGEXIT", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    assertEquals(flags(vm), [0, 0]);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test({
  name: "a TD's guest is told to request MMIO with TDVMCALL",
  // Evaluated when a vCPU worker imports this module as its guest image, where
  // system calls are refused: only the host asks KVM.
  ignore: in_guest_worker() || !is_tdx_supported(),
  fn: () => {
    const vm = __vm_create(VM_SHAPE_TDX, 1, 0);
    try {
      assertEquals(flags(vm), [1, 0]);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

for (
  const [guest_code, accessor] of [
    [guest_code_mmio_write, "sev_mmio_write()"],
    [guest_code_mmio_read, "sev_mmio_read()"],
  ] as const
) {
  Deno.test({
    name: `MMIO in an SEV-ES guest fails naming the missing ${accessor}`,
    // No SEV-ES VM exists on the simulator: an ordinary guest is told it is one.
    ignore: !kvm_can_run_guest_code(),
    fn: () => {
      const vcpu = ref<kvm_vcpu>();
      const uc = ucall_struct.alloc();
      const vm = vm_create_with_one_vcpu(vcpu, guest_code);
      try {
        WRITE_AND_SYNC_TO_GUEST(vm, guest_needs_vmgexit, 1);
        vcpu_run(vcpu.value);
        assertEquals(get_ucall(vcpu.value, uc), UCALL_ABORT);
        assertStringIncludes(ucall_buffer(uc), accessor);
        assertStringIncludes(ucall_buffer(uc), "GHCB");
      } finally {
        kvm_vm_free(vm);
      }
    },
  });
}
