// SPDX-License-Identifier: GPL-2.0-only
/**
 * The host side of the guest runtime (`guest_runtime.ts`) on the `kvm`
 * backend: it loads the runtime's machine code into a VM, points the IDT at
 * its exception stubs, and routes `KVM_RUN` of each vCPU through a hook that
 * hands the vCPU to a worker running its TypeScript guest code.
 *
 * **KVM_RUN.** Until a vCPU first rings the runtime's doorbell (a vCPU that
 * runs raw code never does), the hook issues `KVM_RUN` itself and returns the
 * kernel's result unchanged. At the first doorbell it starts the vCPU's
 * worker (`guest_runtime_worker.ts`), which from then on issues every
 * `KVM_RUN` on the vCPU fd (any thread may run a vCPU): the host's `KVM_RUN`
 * wakes the worker and waits until the worker meets an exit that is not the
 * runtime's own, and returns what the kernel returned for it, with the
 * kernel's `kvm_run` contents. The test's next `KVM_RUN` lets the worker
 * resume the guest, which completes the instruction as on the simulator.
 *
 * A JavaScript exception in guest code makes `KVM_RUN` throw the simulator's
 * `GuestCodeError` with the guest's stack; the vCPU is dead afterwards.
 * Closing the vCPU fd stops the worker.
 *
 * @module
 */

import type { kvm_backend, kvm_run_hook } from "../../include/libc/kvm_backend.ts";
import { backend } from "../../include/libc/backend.ts";
import {
  type gva_t,
  kvm_mem_region_type,
  type kvm_vcpu,
  type kvm_vm,
} from "../../include/kvm_util_types.ts";
import { TEST_ASSERT } from "../../include/test_util.ts";
import { GuestCodeError } from "../../include/guest_code.ts";
import { KVM_EXIT_IO } from "../../include/linux/kvm.ts";
import { __vm_alloc, addr_gva2hva, memcpy_to_guest } from "../kvm_util.ts";
import {
  GR_AREA_SIZE,
  GR_DOORBELL_PORT,
  GRC_RET,
  GRC_SIZE,
  GRC_STATE,
  GRC_TEXT_LEN,
  GRC_TEXT_OFF,
  GRS_DEAD,
  GRS_EXIT,
  GRS_KILL,
  GRS_RUN,
  GUEST_RUNTIME_GVA,
  guest_runtime_image,
  guest_runtime_stub_offset,
  GUEST_RUNTIME_TEXT_RESERVE,
  type guest_runtime_worker_init,
} from "./guest_runtime.ts";

/**
 * Polls of the handoff word before sleeping on it. Short: on a loaded
 * machine a spinning thread takes the CPU from the one doing the work.
 */
const SPIN_ITERATIONS = 2000;

/** Whether this process's backend runs TypeScript guest code through the runtime. */
export function guest_runtime_needed(): boolean {
  return backend().name === "kvm";
}

const runtimes = new WeakMap<kvm_vm, bigint>();

/**
 * Loads the runtime's machine code into `vm`'s image (the top
 * {@linkcode GUEST_RUNTIME_TEXT_RESERVE} bytes of its text region) once, and
 * returns its guest address.
 *
 * @param vm the VM (with an image)
 * @returns the runtime's GVA
 */
export function guest_runtime_load(vm: kvm_vm): gva_t {
  const have = runtimes.get(vm);
  if (have !== undefined) return have;
  const image = vm.image;
  TEST_ASSERT(image, "The guest runtime needs the VM's guest image");
  const code = guest_runtime_image().code;
  TEST_ASSERT(
    code.length <= GUEST_RUNTIME_TEXT_RESERVE,
    "Guest runtime too large: %u",
    code.length,
  );
  const gva = image!.text + BigInt(image!.text_size);
  TEST_ASSERT(
    gva === GUEST_RUNTIME_GVA,
    "Guest runtime at 0x%lx, linked at 0x%lx",
    gva,
    GUEST_RUNTIME_GVA,
  );
  memcpy_to_guest(vm, gva, code);
  runtimes.set(vm, gva);
  return gva;
}

/**
 * The address the IDT gate of `vector` points at on the kvm backend: the
 * runtime's exception stub.
 *
 * @param vm the VM
 * @param vector the vector
 */
export function guest_runtime_idt_entry(vm: kvm_vm, vector: number): gva_t {
  return guest_runtime_load(vm) + BigInt(guest_runtime_stub_offset(vector));
}

/** One vCPU's hook: the direct path before the first doorbell, the worker after. */
class runtime_vcpu implements kvm_run_hook {
  readonly #vcpu: kvm_vcpu;
  readonly #b: kvm_backend;
  readonly #ctl_buf = new SharedArrayBuffer(GRC_SIZE);
  readonly #ctl = new Int32Array(this.#ctl_buf, 0, 16);
  #worker: Worker | undefined;
  #dead = false;
  #running = false;

  constructor(vcpu: kvm_vcpu, b: kvm_backend) {
    this.#vcpu = vcpu;
    this.#b = b;
  }

  #doorbell(): boolean {
    const run = this.#vcpu.run;
    return run.exit_reason === KVM_EXIT_IO && run.io.port === GR_DOORBELL_PORT &&
      run.io.size === 4;
  }

  #start(): void {
    const vcpu = this.#vcpu;
    const vm = vcpu.vm;
    const page_gva = __vm_alloc(vm, GR_AREA_SIZE, 0x2000n, kvm_mem_region_type.MEM_REGION_DATA);
    TEST_ASSERT(page_gva < 1n << 32n, "Guest runtime page above 4 GiB: 0x%lx", page_gva);
    const init: guest_runtime_worker_init = {
      vcpu_id: vcpu.id,
      fd: vcpu.fd,
      run_hva: vcpu.run_hva.toString(),
      run_size: vcpu.run.$bytes.byteLength > 4096 ? vcpu.run.$bytes.byteLength : 3 * 4096,
      page_hva: addr_gva2hva(vm, page_gva).toString(),
      page_gva: page_gva.toString(),
      runtime_gva: guest_runtime_load(vm).toString(),
      ctl: this.#ctl_buf,
      images: [vm.image!.url],
    };
    const worker = new Worker(new URL("./guest_runtime_worker.ts", import.meta.url), {
      type: "module",
      name: `vcpu${vcpu.id}`,
    });
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      const text = new TextEncoder().encode(`vCPU worker failed: ${e.message}`);
      const n = Math.min(text.length, GRC_SIZE - GRC_TEXT_OFF);
      new Uint8Array(this.#ctl_buf, GRC_TEXT_OFF, n).set(text.subarray(0, n));
      Atomics.store(this.#ctl, GRC_TEXT_LEN, n);
      Atomics.store(this.#ctl, GRC_STATE, GRS_DEAD);
      Atomics.notify(this.#ctl, GRC_STATE);
    };
    worker.postMessage(init);
    this.#worker = worker;
  }

  #result(): number {
    this.#running = false;
    const s = Atomics.load(this.#ctl, GRC_STATE);
    if (s === GRS_EXIT) return Atomics.load(this.#ctl, GRC_RET);
    this.#dead = true;
    const n = Atomics.load(this.#ctl, GRC_TEXT_LEN);
    const text = new TextDecoder().decode(new Uint8Array(this.#ctl_buf, GRC_TEXT_OFF, n).slice());
    throw new GuestCodeError(this.#vcpu.id, text || "the vCPU's worker is gone");
  }

  #begin(): void {
    if (this.#running) throw new Error(`vCPU ${this.#vcpu.id} is already running`);
    if (this.#dead) this.#result();
    this.#running = true;
    Atomics.store(this.#ctl, GRC_STATE, GRS_RUN);
    Atomics.notify(this.#ctl, GRC_STATE);
  }

  run(): number {
    if (!this.#worker) {
      const r = this.#b.raw_run(this.#vcpu.fd);
      if (r < 0 || !this.#doorbell()) return r;
      this.#start();
    }
    this.#begin();
    const ctl = this.#ctl;
    for (let i = 0; i < SPIN_ITERATIONS; i++) {
      if (Atomics.load(ctl, GRC_STATE) !== GRS_RUN) return this.#result();
    }
    while (Atomics.load(ctl, GRC_STATE) === GRS_RUN) Atomics.wait(ctl, GRC_STATE, GRS_RUN, 50);
    return this.#result();
  }

  async run_async(): Promise<number> {
    if (!this.#worker) {
      const r = await this.#b.raw_run_async(this.#vcpu.fd);
      if (r < 0 || !this.#doorbell()) return r;
      this.#start();
    }
    this.#begin();
    const ctl = this.#ctl;
    for (let i = 0; i < 1000; i++) {
      if (Atomics.load(ctl, GRC_STATE) !== GRS_RUN) return this.#result();
    }
    while (Atomics.load(ctl, GRC_STATE) === GRS_RUN) {
      const w = Atomics.waitAsync(ctl, GRC_STATE, GRS_RUN, 50);
      if (w.async) await w.value;
    }
    return this.#result();
  }

  release(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#dead = true;
    if (!worker) return;
    Atomics.store(this.#ctl, GRC_STATE, GRS_KILL);
    Atomics.notify(this.#ctl, GRC_STATE);
    worker.terminate();
  }
}

/**
 * Routes `vcpu`'s `KVM_RUN` through the guest runtime (kvm backend only;
 * nothing happens on other backends). Safe for vCPUs that run raw code: they
 * never ring the doorbell, and their `KVM_RUN` stays a direct system call.
 *
 * @param vcpu the vCPU
 */
export function guest_runtime_attach(vcpu: kvm_vcpu): void {
  if (!guest_runtime_needed() || !vcpu.vm.image) return;
  const b = backend() as kvm_backend;
  b.set_run_hook(vcpu.fd, new runtime_vcpu(vcpu, b));
}
