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

// The worker's module graph, named statically so that `deno test` and
// `deno check` type-check it with the caller instead of when the first
// vCPU rings (seconds that count against a test's timeouts).
import type {} from "./guest_runtime_worker.ts";
import type { kvm_backend, kvm_run_hook } from "../../include/libc/kvm_backend.ts";
import { type Backend, backend } from "../../include/libc/backend.ts";
import {
  type gva_t,
  kvm_mem_region_type,
  type kvm_vcpu,
  type kvm_vm,
} from "../../include/kvm_util_types.ts";
import { TEST_ASSERT } from "../../include/test_util.ts";
import { GuestCodeError } from "../../include/guest_code.ts";
import { KVM_EXIT_IO } from "../../include/linux/kvm.ts";
import { __vm_alloc, addr_gva2hva, memcpy_to_guest, vm_alloc_shared } from "../kvm_util.ts";
import { KVM_X86_TDX_VM } from "../../include/asm/kvm.ts";
import { user_memory } from "../../include/libc/syscall.ts";
import {
  GR_AREA_SIZE,
  GR_DOORBELL_PORT,
  GRC_RET,
  GRC_RUNS,
  GRC_SIZE,
  GRC_STATE,
  GRC_TEXT_LEN,
  GRC_TEXT_OFF,
  GRS_DEAD,
  GRS_EXIT,
  GRS_HOST_RUN,
  GRS_KILL,
  GRS_RUN,
  GUEST_RUNTIME_GVA,
  guest_runtime_image,
  guest_runtime_needed,
  guest_runtime_stub_offset,
  GUEST_RUNTIME_TEXT_RESERVE,
  type guest_runtime_worker_init,
} from "./guest_runtime.ts";

export { GUEST_RUNTIME_ENV, guest_runtime_needed } from "./guest_runtime.ts";

/**
 * Polls of the handoff word before sleeping on it. Short: on a loaded
 * machine a spinning thread takes the CPU from the one doing the work.
 */
const SPIN_ITERATIONS = 2000;

/** The backends' `KVM_RUN` hooks (both backends have them). */
type run_hook_backend = Backend & Pick<kvm_backend, "set_run_hook" | "raw_run" | "raw_run_async">;

const runtimes = new WeakMap<kvm_vm, bigint>();
/** Each vCPU's runtime area, once allocated. */
const areas = new WeakMap<kvm_vcpu, gva_t>();

/**
 * The guest address of `vcpu`'s runtime area (request page, then the
 * runtime's stack with the serve frames), or undefined before it has one: a
 * TD's is allocated, shared, when the vCPU is added; an ordinary VM's at the
 * vCPU's first doorbell.
 *
 * @param vcpu the vCPU
 */
export function guest_runtime_area(vcpu: kvm_vcpu): gva_t | undefined {
  return areas.get(vcpu);
}

const hooks = new WeakMap<kvm_vcpu, runtime_vcpu>();

/**
 * How many `KVM_RUN`s `vcpu`'s runtime worker has made so far (each request's
 * doorbell exit, and each real exit): what the guest's intrinsics cost in
 * exits. 0 for a vCPU that does not run through the runtime.
 *
 * @param vcpu the vCPU
 */
export function guest_runtime_runs(vcpu: kvm_vcpu): number {
  return hooks.get(vcpu)?.runs() ?? 0;
}

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
  const td = vm.type === KVM_X86_TDX_VM;
  const b = backend();
  if (b.name === "sim") {
    // The simulated CPU must not run the image's functions itself: a code
    // record is then `ud2`, which enters the runtime as on hardware.
    const r = (b as unknown as sim_backend_calls).set_vm_machine_code_only(vm.fd);
    TEST_ASSERT(r === 0, "The simulator refused machine-code-only vCPUs: %d", r);
  }
  // A TD's copy is in its image's text region, which tdx_vm_finalize()
  // adds with KVM_TDX_INIT_MEM_REGION and the measure flag: MRTD covers it.
  const code = guest_runtime_image(td).code;
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
  const td = vm.type === KVM_X86_TDX_VM;
  return guest_runtime_load(vm) + BigInt(guest_runtime_stub_offset(vector, td));
}

/** The simulator backend's call that {@linkcode guest_runtime_load} makes. */
interface sim_backend_calls {
  set_vm_machine_code_only(vm_fd: number): number;
}

/** One vCPU's hook: the direct path before the first doorbell, the worker after. */
class runtime_vcpu implements kvm_run_hook {
  readonly #vcpu: kvm_vcpu;
  readonly #b: run_hook_backend;
  /** A TD's area: shared memory allocated before the TD was measured. */
  readonly #area: gva_t | undefined;
  readonly #ctl_buf = new SharedArrayBuffer(GRC_SIZE);
  readonly #ctl = new Int32Array(this.#ctl_buf, 0, 16);
  #worker: Worker | undefined;
  #dead = false;
  #running = false;

  constructor(vcpu: kvm_vcpu, b: run_hook_backend, area?: gva_t) {
    this.#vcpu = vcpu;
    this.#b = b;
    this.#area = area;
  }

  #doorbell(): boolean {
    const run = this.#vcpu.run;
    return run.exit_reason === KVM_EXIT_IO && run.io.port === GR_DOORBELL_PORT &&
      run.io.size === 4;
  }

  #start(): void {
    const vcpu = this.#vcpu;
    const vm = vcpu.vm;
    const page_gva = this.#area ??
      __vm_alloc(vm, GR_AREA_SIZE, 0x2000n, kvm_mem_region_type.MEM_REGION_DATA);
    TEST_ASSERT(page_gva < 1n << 32n, "Guest runtime page above 4 GiB: 0x%lx", page_gva);
    areas.set(vcpu, page_gva);
    const run_size = vcpu.run.$bytes.byteLength > 4096 ? vcpu.run.$bytes.byteLength : 3 * 4096;
    const page_hva = addr_gva2hva(vm, page_gva);
    const init: guest_runtime_worker_init = {
      vcpu_id: vcpu.id,
      fd: vcpu.fd,
      run_hva: vcpu.run_hva.toString(),
      run_size,
      page_hva: page_hva.toString(),
      page_gva: page_gva.toString(),
      runtime_gva: guest_runtime_load(vm).toString(),
      ctl: this.#ctl_buf,
      images: [vm.image!.url],
      td: vm.type === KVM_X86_TDX_VM,
      // A TD's vCPUs are all created before it is finalized, so the count
      // is final by the first doorbell.
      block_loads: vm.type === KVM_X86_TDX_VM && vm.vcpus.length === 1,
      host_run: this.#b.name !== "kvm",
    };
    if (init.host_run) {
      // The simulator's memory is JavaScript memory: the worker gets views
      // of the same SharedArrayBuffers, and asks this thread for KVM_RUN.
      const run = user_memory(vcpu.run_hva, run_size);
      const area = user_memory(page_hva, GR_AREA_SIZE);
      TEST_ASSERT(
        run.buffer instanceof SharedArrayBuffer && area.buffer instanceof SharedArrayBuffer,
        "The guest runtime needs kvm_run and its area in shared memory",
      );
      init.run_sab = run.buffer as SharedArrayBuffer;
      init.run_off = run.byteOffset;
      init.area_sab = area.buffer as SharedArrayBuffer;
      init.area_off = area.byteOffset;
    }
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

  /** The worker asked for a KVM_RUN (the simulator's kernel runs on this thread): make it. */
  #host_run(r: () => number): void {
    let ret: number;
    try {
      ret = r();
    } catch (e) {
      // The guest's CPU crashed: the vCPU is dead, and so is its worker.
      this.release();
      throw e;
    }
    Atomics.store(this.#ctl, GRC_RET, ret);
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
    for (;;) {
      for (let i = 0; i < SPIN_ITERATIONS; i++) {
        if (Atomics.load(ctl, GRC_STATE) !== GRS_RUN) break;
      }
      while (Atomics.load(ctl, GRC_STATE) === GRS_RUN) Atomics.wait(ctl, GRC_STATE, GRS_RUN, 50);
      if (Atomics.load(ctl, GRC_STATE) !== GRS_HOST_RUN) return this.#result();
      this.#host_run(() => this.#b.raw_run(this.#vcpu.fd));
    }
  }

  async run_async(): Promise<number> {
    if (!this.#worker) {
      const r = await this.#b.raw_run_async(this.#vcpu.fd);
      if (r < 0 || !this.#doorbell()) return r;
      this.#start();
    }
    this.#begin();
    const ctl = this.#ctl;
    for (;;) {
      for (let i = 0; i < 1000; i++) {
        if (Atomics.load(ctl, GRC_STATE) !== GRS_RUN) break;
      }
      while (Atomics.load(ctl, GRC_STATE) === GRS_RUN) {
        const w = Atomics.waitAsync(ctl, GRC_STATE, GRS_RUN, 50);
        if (w.async) await w.value;
      }
      if (Atomics.load(ctl, GRC_STATE) !== GRS_HOST_RUN) return this.#result();
      let ret: number;
      try {
        ret = await this.#b.raw_run_async(this.#vcpu.fd);
      } catch (e) {
        this.release();
        throw e;
      }
      this.#host_run(() => ret);
    }
  }

  /** `KVM_RUN`s the worker has made. */
  runs(): number {
    return Atomics.load(this.#ctl, GRC_RUNS);
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
  const vm = vcpu.vm;
  if (!vm.image || !guest_runtime_needed(vm)) return;
  const b = backend() as run_hook_backend;
  // A TD's area is shared memory (its leaf PTEs carry the S-bit), mapped
  // now: after KVM_TDX_FINALIZE_VM the TD's page tables are private.
  const area = vm.type === KVM_X86_TDX_VM
    ? vm_alloc_shared(vm, GR_AREA_SIZE, 0x2000n, kvm_mem_region_type.MEM_REGION_DATA)
    : undefined;
  if (area !== undefined) areas.set(vcpu, area);
  const hook = new runtime_vcpu(vcpu, b, area);
  hooks.set(vcpu, hook);
  b.set_run_hook(vcpu.fd, hook);
}
