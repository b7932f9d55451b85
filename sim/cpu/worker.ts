// SPDX-License-Identifier: GPL-2.0-only
/**
 * The entry point of a vCPU worker (started by `vcpu_thread`): it announces
 * itself as a guest worker before anything imports the guest image (so test
 * registration in the image is inert and system calls are refused), imports
 * the image modules, and runs the CPU until the host stops it.
 *
 * Ways for JavaScript to end a thread silently (`Deno.exit()`,
 * `process.exit()`, `close()`) are host-only here: guest code (or the image's
 * top-level code) that calls them gets a {@linkcode HostOnlyError}, which the
 * CPU reports as a guest crash (or a failed image load). The image's
 * top-level system calls go to the worker's own simulated kernel
 * (`include/libc/syscall.ts`); guest code's are refused.
 * However the worker's JavaScript ends, its last act is to mark the worker
 * dead in the VMCS (with a crash text when the end was not the host's kill),
 * so a host blocked in KVM_RUN sees it without waiting for an error event.
 *
 * @module
 */

import process from "node:process";
import { HostOnlyError } from "../../include/libc/process.ts";
import type { vcpu_worker_init } from "./vcpu_thread.ts";
import { offsetof } from "../../include/c/layout.ts";
import {
  sim_vmcs,
  VMCS_CRASH_TEXT_SIZE,
  VMCS_CTL_KILL,
  VMCS_CTL_RUN_STATE,
  VMCS_CTL_WORKER_STATE,
  VMCS_SIZE,
} from "./vmcs.ts";
import { WORKER_DEAD } from "./vmx.ts";

(globalThis as { __KVM_GUEST_WORKER__?: boolean }).__KVM_GUEST_WORKER__ = true;

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  close(): void;
  addEventListener(type: string, fn: (e: Event) => void): void;
};

const EXIT_HINT = "guest code ends with GUEST_DONE() or fails with GUEST_ASSERT()/GUEST_FAIL() " +
  "(ucalls the host turns into the test's result)";
const real_close = scope.close.bind(scope);
Object.defineProperty(Deno, "exit", {
  configurable: true,
  value: (code?: number): never => {
    throw new HostOnlyError(`Deno.exit(${code ?? ""})`, EXIT_HINT);
  },
});
process.exit = ((code?: number): never => {
  throw new HostOnlyError(`process.exit(${code ?? ""})`, EXIT_HINT);
}) as typeof process.exit;
scope.close = () => {
  throw new HostOnlyError("close()", EXIT_HINT);
};

let ctl: Int32Array | undefined;
let vmcs_bytes: Uint8Array | undefined;
let vmcs_u32: Uint32Array | undefined;

/**
 * Marks the worker dead; unless the host asked it to stop, with `why` as
 * the crash text (if the CPU has not stored one), so KVM_RUN fails with it.
 */
function mark_dead(why: string): void {
  if (!ctl || !vmcs_bytes || !vmcs_u32) return;
  const killed = Atomics.load(ctl, VMCS_CTL_KILL) !== 0;
  const len_at = offsetof(sim_vmcs, "crash_len") >> 2;
  if (!killed && vmcs_u32[len_at] === 0) {
    const text = new TextEncoder().encode(why);
    const n = Math.min(text.length, VMCS_CRASH_TEXT_SIZE);
    vmcs_bytes.set(text.subarray(0, n), offsetof(sim_vmcs, "crash_text"));
    vmcs_u32[len_at] = n;
  }
  Atomics.store(ctl, VMCS_CTL_WORKER_STATE, WORKER_DEAD);
  Atomics.notify(ctl, VMCS_CTL_RUN_STATE);
}

function text_of(e: unknown): string {
  return e instanceof Error ? e.stack ?? `${e.name}: ${e.message}` : String(e);
}

scope.addEventListener("error", (e: Event) => {
  mark_dead(`vCPU worker died: ${text_of((e as ErrorEvent).error ?? (e as ErrorEvent).message)}`);
});
scope.addEventListener("unhandledrejection", (e: Event) => {
  mark_dead(`vCPU worker died: ${text_of((e as PromiseRejectionEvent).reason)}`);
});

scope.onmessage = (e: MessageEvent) => {
  scope.onmessage = null;
  void start(e.data as vcpu_worker_init);
};

async function start(init: vcpu_worker_init): Promise<void> {
  ctl = new Int32Array(init.vmcs, init.vmcs_offset, 16);
  vmcs_bytes = new Uint8Array(init.vmcs, init.vmcs_offset, VMCS_SIZE);
  vmcs_u32 = new Uint32Array(init.vmcs, init.vmcs_offset, VMCS_SIZE >> 2);
  const cpu = await import("./cpu.ts");
  cpu.cpu_init(init.vmcs, init.vmcs_offset, init.port);
  const images: Record<string, unknown>[] = [];
  try {
    for (const url of init.images) images.push(await import(url));
  } catch (e) {
    cpu.cpu_start_failed(e);
    init.port.close();
    real_close();
    return;
  }
  let why = "vCPU worker ended while the vCPU was still in use";
  // From here on only guest code runs: host-only operations are refused.
  (globalThis as { __KVM_GUEST_RUNNING__?: boolean }).__KVM_GUEST_RUNNING__ = true;
  try {
    cpu.cpu_run(images);
  } catch (e) {
    why = `vCPU worker died: ${text_of(e)}`;
  } finally {
    mark_dead(why);
    init.port.close();
    real_close();
  }
}
