// SPDX-License-Identifier: GPL-2.0-only
/**
 * Baselines of the real `/dev/kvm` through FFI, each in the same group as
 * the simulator's equivalent so that `deno bench` prints the ratio:
 *
 * - **exit**: a port-I/O exit round trip. Real KVM runs six bytes of 16-bit
 *   code (`mov dx, 0x10; 1: out dx, al; jmp 1b`) at GPA 0 in real mode;
 *   each KVM_RUN returns with KVM_EXIT_IO and the next one resumes the
 *   guest. The simulator's figure is its vCPU thread's exit handoff (guest
 *   `outb` in a TypeScript guest function → exit → enter again, see
 *   `sim/cpu/vcpu_thread_bench.ts`): it has no kernel path yet, because raw
 *   x86 bytes cannot run on the simulated CPU (guest code there is
 *   TypeScript, named by code records).
 * - **vm**: KVM_CREATE_VM + KVM_CREATE_VCPU + close of both, on each backend
 *   through the same raw `Backend` calls.
 *
 * Without `/dev/kvm` the kvm side is left out (and said so on stderr).
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { load_backend } from "./backend.ts";
import * as kvm from "../linux/kvm.ts";
import { EXIT_REASON_IO_INSTRUCTION } from "../asm/vmx.ts";
import { O_RDWR } from "../linux/fcntl.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from "../linux/mman.ts";

function kvm_usable(): boolean {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
}

/** `mov dx, 0x10` / `out dx, al` / `jmp short -3` (back to the `out`). */
const OUT_LOOP = [0xba, 0x10, 0x00, 0xee, 0xeb, 0xfd];

/** A real-mode vCPU spinning on `out dx, al`, ready for timed KVM_RUNs. */
interface OutLoop {
  b: Backend;
  vcpu: number;
  run: ReturnType<typeof kvm.kvm_run.view>;
  free(): void;
}

function check(what: string, r: number | bigint): void {
  if (r < 0) throw new Error(`${what} failed: ${r}`);
}

function out_loop_vm(b: Backend): OutLoop {
  const sys = b.open("/dev/kvm", O_RDWR, 0);
  check("open /dev/kvm", sys);
  const vm = b.ioctl(sys, kvm.KVM_CREATE_VM, 0n);
  check("KVM_CREATE_VM", vm);
  const mem_size = 0x10000n;
  const mem = b.mmap(0n, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
  check("mmap", mem);
  b.user_memory(mem, OUT_LOOP.length)!.set(OUT_LOOP);
  const region = kvm.kvm_userspace_memory_region.alloc();
  region.memory_size = mem_size;
  region.userspace_addr = mem;
  const keep = [region];
  check(
    "KVM_SET_USER_MEMORY_REGION",
    b.ioctl(vm, kvm.KVM_SET_USER_MEMORY_REGION, b.addr_of(region.$buffer, 0)),
  );
  const vcpu = b.ioctl(vm, kvm.KVM_CREATE_VCPU, 0n);
  check("KVM_CREATE_VCPU", vcpu);
  const size = b.ioctl(sys, kvm.KVM_GET_VCPU_MMAP_SIZE, 0n);
  const run_addr = b.mmap(0n, BigInt(size), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0n);
  check("mmap kvm_run", run_addr);
  // Real mode at CS:IP = 0:0 instead of the reset vector, where nothing is mapped.
  const sregs = kvm.kvm_sregs.alloc();
  check("KVM_GET_SREGS", b.ioctl(vcpu, kvm.KVM_GET_SREGS, b.addr_of(sregs.$buffer, 0)));
  sregs.cs.base = 0n;
  sregs.cs.selector = 0;
  check("KVM_SET_SREGS", b.ioctl(vcpu, kvm.KVM_SET_SREGS, b.addr_of(sregs.$buffer, 0)));
  const regs = kvm.kvm_regs.alloc();
  regs.rip = 0n;
  regs.rflags = 2n;
  check("KVM_SET_REGS", b.ioctl(vcpu, kvm.KVM_SET_REGS, b.addr_of(regs.$buffer, 0)));
  const run = kvm.kvm_run.view(b.user_memory(run_addr, size)!);
  return {
    b,
    vcpu,
    run,
    free() {
      keep.length = 0;
      b.munmap(run_addr, BigInt(size));
      b.close(vcpu);
      b.close(vm);
      b.munmap(mem, mem_size);
      b.close(sys);
    },
  };
}

function expect_io(l: OutLoop, r: number): void {
  if (r !== 0 || l.run.exit_reason !== kvm.KVM_EXIT_IO || l.run.io.port !== 0x10) {
    throw new Error(`KVM_RUN = ${r}, exit_reason ${l.run.exit_reason}`);
  }
}

const have_kvm = kvm_usable();
if (!have_kvm) {
  console.error("kvm_backend_bench: /dev/kvm missing or not accessible: kvm side left out");
}

const kvm_b = have_kvm ? await load_backend("kvm") : undefined;
const sim_b = await load_backend("sim");
const cleanup: (() => void)[] = [];

if (kvm_b) {
  const l = out_loop_vm(kvm_b);
  cleanup.push(() => l.free());
  expect_io(l, kvm_b.ioctl(l.vcpu, kvm.KVM_RUN, 0n));
  Deno.bench("kvm: KVM_RUN -> KVM_EXIT_IO (out dx, al) -> KVM_RUN, synchronous FFI", {
    group: "exit",
    baseline: true,
  }, () => {
    expect_io(l, kvm_b.ioctl(l.vcpu, kvm.KVM_RUN, 0n));
  });

  const la = out_loop_vm(kvm_b);
  cleanup.push(() => la.free());
  expect_io(la, await kvm_b.ioctl_async(la.vcpu, kvm.KVM_RUN, 0n));
  Deno.bench("kvm: the same through ioctl_async (per-vCPU thread, as vcpu_run uses)", {
    group: "exit",
  }, async () => {
    expect_io(la, await kvm_b.ioctl_async(la.vcpu, kvm.KVM_RUN, 0n));
  });
}

// The simulator's exit handoff, guest TypeScript code doing outb (no kernel path: see above).
try {
  const { test_vm } = await import("../../sim/cpu/testdata/machine.ts");
  const { guest_outb_loop } = await import("../../sim/cpu/testdata/guest.ts");
  const vm = new test_vm();
  const rt = vm.vcpu(guest_outb_loop);
  if (rt.enter() !== EXIT_REASON_IO_INSTRUCTION) throw new Error(rt.guest_error());
  cleanup.push(() => rt.destroy());
  Deno.bench("sim: guest outb -> EXIT_REASON_IO_INSTRUCTION -> enter (vCPU thread handoff)", {
    group: "exit",
    ...(kvm_b ? {} : { baseline: true }),
  }, () => {
    rt.vmcs.rip += BigInt(rt.vmcs.exit_instruction_len);
    rt.enter();
  });
} catch (e) {
  console.error(
    `kvm_backend_bench: sim exit round trip left out: ${e instanceof Error ? e.message : e}`,
  );
}

function vm_cycle(b: Backend, sys: number): void {
  const vm = b.ioctl(sys, kvm.KVM_CREATE_VM, 0n);
  check(`${b.name} KVM_CREATE_VM`, vm);
  const vcpu = b.ioctl(vm, kvm.KVM_CREATE_VCPU, 0n);
  check(`${b.name} KVM_CREATE_VCPU`, vcpu);
  b.close(vcpu);
  b.close(vm);
}

for (const b of [kvm_b, sim_b]) {
  if (!b) continue;
  const sys = b.open("/dev/kvm", O_RDWR, 0);
  check(`${b.name} open /dev/kvm`, sys);
  cleanup.push(() => b.close(sys));
  Deno.bench(`${b.name}: KVM_CREATE_VM + KVM_CREATE_VCPU + close both`, {
    group: "vm",
    baseline: b === (kvm_b ?? sim_b),
  }, () => vm_cycle(b, sys));
}

globalThis.addEventListener("unload", () => {
  for (const f of cleanup) f();
});
