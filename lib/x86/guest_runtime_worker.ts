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

import type { guest_runtime_worker_init } from "./guest_runtime.ts";

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
  const cpu = await import("./guest_runtime_cpu.ts");
  const images: Record<string, unknown>[] = [];
  try {
    cpu.guest_runtime_cpu_init(init);
    // The exception router lives in the library, which the image imports.
    const handlers = await import("./handlers.ts");
    cpu.guest_runtime_set_route(handlers.idt_route_exception);
    for (const url of init.images) images.push(await import(url));
  } catch (e) {
    cpu.guest_runtime_cpu_start_failed(init.ctl, e);
    scope.close();
    return;
  }
  try {
    cpu.guest_runtime_cpu_run(images);
  } finally {
    scope.close();
  }
}
