// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_GET/SET_VCPU_EVENTS against `kvm_vcpu_ioctl_x86_get_vcpu_events()`
 * and `kvm_vcpu_ioctl_x86_set_vcpu_events()` (x86.c @ 042007c2): the flags
 * a read reports, a pending exception dropped without
 * KVM_VCPUEVENT_VALID_PAYLOAD and reported as injected without
 * KVM_CAP_EXCEPTION_PAYLOAD, soft interrupts, `process_nmi()`'s limit, the
 * NMI mask and interrupt shadow kept in the VMCS, `sipi_vector` never
 * reported, and the capability checks of PAYLOAD and TRIPLE_FAULT.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../use_sim_backend.ts";
import { assertEquals } from "@std/assert";
import {
  __vcpu_ioctl,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  vcpu_ioctl,
  vm_create_with_one_vcpu,
  vm_enable_cap,
} from "../../../../../include/kvm_util.ts";
import {
  KVM_CAP_EXCEPTION_PAYLOAD,
  KVM_CAP_X86_TRIPLE_FAULT_EVENT,
  KVM_GET_VCPU_EVENTS,
  KVM_SET_VCPU_EVENTS,
} from "../../../../../include/linux/kvm.ts";
import {
  kvm_vcpu_events,
  KVM_VCPUEVENT_VALID_NMI_PENDING,
  KVM_VCPUEVENT_VALID_PAYLOAD,
  KVM_VCPUEVENT_VALID_SHADOW,
  KVM_VCPUEVENT_VALID_SIPI_VECTOR,
  KVM_VCPUEVENT_VALID_SMM,
  KVM_VCPUEVENT_VALID_TRIPLE_FAULT,
} from "../../../../../include/asm/kvm.ts";
import { errno_get } from "../../../../../include/libc/errno.ts";
import { EINVAL } from "../../../../../include/linux/errno.ts";
import { in_guest_worker } from "../../../../../include/libc/process.ts";

type events = ReturnType<typeof kvm_vcpu_events.alloc>;

function get(vcpu: kvm_vcpu): events {
  const e = kvm_vcpu_events.alloc();
  vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, e);
  return e;
}

function set(vcpu: kvm_vcpu, e: events): number {
  return __vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, e) === 0 ? 0 : -errno_get();
}

const BASE_FLAGS = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
  KVM_VCPUEVENT_VALID_SMM;

Deno.test({
  name: "KVM_GET/SET_VCPU_EVENTS: flags, dropped pending exception, soft IRQ, NMIs, shadow",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      const v = vcpu.value;
      assertEquals(get(v).flags, BASE_FLAGS);
      let e = get(v);
      e.exception.pending = 1;
      e.exception.nr = 255; // dropped before the vector check
      assertEquals(set(v, e), 0);
      assertEquals(get(v).exception.pending, 0);
      e = get(v);
      e.exception.injected = 1;
      e.exception.nr = 2; // NMI's vector is not an exception
      assertEquals(set(v, e), -EINVAL);
      e = get(v);
      e.flags = 0x40;
      assertEquals(set(v, e), -EINVAL, "unknown flag");
      e.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
      assertEquals(set(v, e), -EINVAL, "PAYLOAD without KVM_CAP_EXCEPTION_PAYLOAD");
      e.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
      assertEquals(set(v, e), -EINVAL, "TRIPLE_FAULT without its capability");
      // A soft interrupt is stored but reads as not injected.
      e = get(v);
      e.interrupt.injected = 1;
      e.interrupt.nr = 0x30;
      e.interrupt.soft = 1;
      assertEquals(set(v, e), 0);
      assertEquals(get(v).interrupt.injected, 0);
      assertEquals(get(v).interrupt.nr, 0x30);
      e.interrupt.injected = 0;
      e.interrupt.soft = 0;
      // NMIs: two pending, but only one while NMIs are masked.
      e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
      e.nmi.pending = 2;
      e.nmi.masked = 0;
      e.interrupt.shadow = 1; // MOV SS
      assertEquals(set(v, e), 0);
      let g = get(v);
      assertEquals(g.nmi.pending, 2);
      assertEquals(g.interrupt.shadow, 1);
      e.nmi.masked = 1;
      assertEquals(set(v, e), 0);
      g = get(v);
      assertEquals(g.nmi.pending, 1);
      assertEquals(g.nmi.masked, 1);
      // The SIPI vector is taken, never reported.
      e.flags = KVM_VCPUEVENT_VALID_SIPI_VECTOR;
      e.sipi_vector = 0x12;
      assertEquals(set(v, e), 0);
      assertEquals(get(v).sipi_vector, 0);
      // SMM: the simulator has none to enter.
      e.flags = KVM_VCPUEVENT_VALID_SMM;
      e.smi.smm = 1;
      assertEquals(set(v, e), -EINVAL);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "KVM_GET/SET_VCPU_EVENTS with KVM_CAP_EXCEPTION_PAYLOAD and KVM_CAP_X86_TRIPLE_FAULT_EVENT",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      vm_enable_cap(vm, KVM_CAP_EXCEPTION_PAYLOAD, 1);
      vm_enable_cap(vm, KVM_CAP_X86_TRIPLE_FAULT_EVENT, 1);
      const v = vcpu.value;
      assertEquals(
        get(v).flags,
        BASE_FLAGS | KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT,
      );
      const e = get(v);
      e.flags = KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
      e.exception.pending = 1;
      e.exception.injected = 1; // a pending exception wins
      e.exception.nr = 14;
      e.exception_has_payload = 1;
      e.exception_payload = 0x1000n;
      e.triple_fault.pending = 1;
      assertEquals(set(v, e), 0);
      const g = get(v);
      assertEquals(g.exception.pending, 1);
      assertEquals(g.exception.injected, 0);
      assertEquals(g.exception_has_payload, 1);
      assertEquals(g.exception_payload, 0x1000n);
      assertEquals(g.triple_fault.pending, 1);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
