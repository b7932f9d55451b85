// SPDX-License-Identifier: GPL-2.0-only
// The vCPU handoff and the guest memory path, without the kernel.
import { test_vm } from "./testdata/machine.ts";
import { guest_outb_loop, guest_write_loop, guest_write_loop_num } from "./testdata/guest.ts";
import { EXIT_REASON_IO_INSTRUCTION } from "./vmx.ts";
import type { vcpu_thread } from "./vcpu_thread.ts";

const vm = new test_vm();

function complete(v: vcpu_thread): void {
  v.vmcs.rip += BigInt(v.vmcs.exit_instruction_len);
}

const rt = vm.vcpu(guest_outb_loop);
if (rt.enter() !== EXIT_REASON_IO_INSTRUCTION) throw new Error(rt.guest_error());

Deno.bench("exit round trip: guest outb -> enter() returns -> enter again", {
  group: "exit",
  baseline: true,
}, () => {
  complete(rt);
  rt.enter();
});

const rt_async = vm.vcpu(guest_outb_loop);
if (rt_async.enter() !== EXIT_REASON_IO_INSTRUCTION) throw new Error(rt_async.guest_error());

Deno.bench("exit round trip with enter_async()", { group: "exit" }, async () => {
  complete(rt_async);
  await rt_async.enter_async();
});

// 2^20 8-byte writes per exit through 4-level paging (TLB hits after the first pass).
const wr = vm.vcpu(guest_write_loop, [0x380000n]);
wr.enter();
Deno.bench("guest writeq x 2^20 through 4-level paging (bigint GVA)", { group: "mem" }, () => {
  complete(wr);
  wr.enter();
});

const wrn = vm.vcpu(guest_write_loop_num, [0x380000n]);
wrn.enter();
Deno.bench("guest writeq x 2^20 through 4-level paging (number GVA)", { group: "mem" }, () => {
  complete(wrn);
  wrn.enter();
});

globalThis.addEventListener("unload", () => {
  for (const v of [rt, rt_async, wr, wrn]) v.destroy();
});
