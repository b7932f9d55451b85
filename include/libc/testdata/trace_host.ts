// SPDX-License-Identifier: GPL-2.0-only
// The host-only program of trace_test.ts: the same ioctls on every backend,
// one of them refused.
import { close, ioctl, open } from "../syscall.ts";
import { O_RDWR } from "../../linux/fcntl.ts";
import {
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_GET_API_VERSION,
  KVM_GET_REGS,
  kvm_regs,
} from "../../linux/kvm.ts";

const kvm = open("/dev/kvm", O_RDWR, 0);
if (kvm < 0) Deno.exit(4);
ioctl(kvm, KVM_GET_API_VERSION, 0);
const vm = ioctl(kvm, KVM_CREATE_VM, 0);
ioctl(vm, KVM_CREATE_VCPU, 0xffffffff); // refused: no such vCPU id
const vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
ioctl(vcpu, KVM_GET_REGS, kvm_regs.alloc());
close(vcpu);
close(vm);
close(kvm);
