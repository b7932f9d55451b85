// SPDX-License-Identifier: GPL-2.0-only
// KVM_RUN through the syscall boundary: exit round trip, VM lifetime, guest memory writes.
// The simulator's own figures: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../../use_sim_backend.ts";
import { ioctl } from "../../../../../../include/libc/syscall.ts";
import { KVM_RUN } from "../../../../../../include/linux/kvm.ts";
import { RAW_DATA, raw_vm } from "../../../../testdata/raw_vm.ts";
import { g_outb_loop, g_port_io, g_writeq_loop } from "../../../../testdata/run_guest.ts";

const rt = new raw_vm();
rt.start(g_outb_loop);
ioctl(rt.vcpu_fd, KVM_RUN, 0);

Deno.bench("exit round trip: guest outb -> KVM_RUN returns -> KVM_RUN again", {
  group: "exit",
  baseline: true,
}, () => {
  ioctl(rt.vcpu_fd, KVM_RUN, 0);
});

// Steady state, as vm_lifecycle_bench.ts times it (the JIT warms up over the first hundreds).
Deno.bench(
  "VM create + one vCPU + first exit + free",
  { group: "vm", warmup: 500, n: 1000 },
  () => {
    const vm = new raw_vm();
    vm.start(g_port_io);
    ioctl(vm.vcpu_fd, KVM_RUN, 0);
    vm.close();
  },
);

const wr = new raw_vm();
wr.start(g_writeq_loop, [BigInt(RAW_DATA) - 0x80000n]);
ioctl(wr.vcpu_fd, KVM_RUN, 0);
Deno.bench("guest writeq x 65536 through 4-level paging, one KVM_RUN", { group: "mem" }, () => {
  ioctl(wr.vcpu_fd, KVM_RUN, 0);
});

globalThis.addEventListener("unload", () => {
  rt.close();
  wr.close();
});
