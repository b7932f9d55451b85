// SPDX-License-Identifier: GPL-2.0-only
/**
 * The entry point of a vCPU worker on the `kvm` backend (started by
 * `guest_runtime_host.ts`): it announces itself as a guest worker that uses
 * the guest runtime before anything imports the guest image (so test
 * registration is inert and `lib/guest_insn.ts` picks the runtime's
 * intrinsics), imports the image, and serves the vCPU until stopped.
 *
 * @module
 */

import {
  GRC_SIZE,
  GRC_STATE,
  GRC_TEXT_LEN,
  GRC_TEXT_OFF,
  GRS_DEAD,
  type guest_runtime_worker_init,
} from "./guest_runtime.ts";

const g = globalThis as { __KVM_GUEST_WORKER__?: boolean; __KVM_GUEST_RUNTIME__?: boolean };
g.__KVM_GUEST_WORKER__ = true;
g.__KVM_GUEST_RUNTIME__ = true;

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  close(): void;
};

scope.onmessage = (e: MessageEvent) => {
  scope.onmessage = null;
  void start(e.data as guest_runtime_worker_init);
};

async function start(init: guest_runtime_worker_init): Promise<void> {
  let cpu: typeof import("./guest_runtime_cpu.ts") | undefined;
  const images: Record<string, unknown>[] = [];
  try {
    cpu = await import("./guest_runtime_cpu.ts");
    cpu.guest_runtime_cpu_init(init);
    // The exception router lives in the library, which the image imports.
    const handlers = await import("./handlers.ts");
    cpu.guest_runtime_set_route(handlers.idt_route_exception);
    for (const url of init.images) images.push(await import(url));
  } catch (e) {
    start_failed(init.ctl, e);
    scope.close();
    return;
  }
  try {
    cpu.guest_runtime_cpu_run(images);
  } catch (e) {
    start_failed(init.ctl, e);
  } finally {
    scope.close();
  }
}

/**
 * The worker cannot serve the vCPU: says why in the handoff buffer, which
 * the host's `KVM_RUN` (blocked in `Atomics.wait`, so no event reaches it)
 * turns into a `GuestCodeError`.
 */
function start_failed(ctl_buf: SharedArrayBuffer, e: unknown): void {
  const ctl = new Int32Array(ctl_buf, 0, 16);
  const why = e instanceof Error ? (e.stack ?? e.message) : String(e);
  const text = new TextEncoder().encode(`vCPU worker failed: ${why}`);
  const n = Math.min(text.length, GRC_SIZE - GRC_TEXT_OFF);
  new Uint8Array(ctl_buf, GRC_TEXT_OFF, n).set(text.subarray(0, n));
  Atomics.store(ctl, GRC_TEXT_LEN, n);
  Atomics.store(ctl, GRC_STATE, GRS_DEAD);
  Atomics.notify(ctl, GRC_STATE);
}
