// SPDX-License-Identifier: GPL-2.0-only
// A program that runs one vCPU to its first exit and frees it, then ends: its
// worker goes back to the pool, which must not keep the process alive.
import { test_vm } from "./machine.ts";
import { guest_outb } from "./guest.ts";
import { EXIT_REASON_IO_INSTRUCTION } from "../vmx.ts";
import { vcpu_worker_pool_idle } from "../vcpu_thread.ts";

const vm = new test_vm();
const v = vm.vcpu(guest_outb);
if (v.enter() !== EXIT_REASON_IO_INSTRUCTION) throw new Error(v.guest_error());
v.destroy();
console.log(`idle ${vcpu_worker_pool_idle()}`);
