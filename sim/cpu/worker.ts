// SPDX-License-Identifier: GPL-2.0-only
/**
 * The entry point of a vCPU worker (started by `vcpu_thread`): it announces
 * itself as a guest worker before anything imports the guest image (so test
 * registration in the image is inert), imports the image modules, and runs
 * the CPU until the host stops it.
 *
 * @module
 */

import type { vcpu_worker_init } from "./vcpu_thread.ts";

(globalThis as { __KVM_GUEST_WORKER__?: boolean }).__KVM_GUEST_WORKER__ = true;

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent) => void) | null;
  close(): void;
};

scope.onmessage = (e: MessageEvent) => {
  scope.onmessage = null;
  void start(e.data as vcpu_worker_init);
};

async function start(init: vcpu_worker_init): Promise<void> {
  const cpu = await import("./cpu.ts");
  cpu.cpu_init(init.vmcs, init.vmcs_offset, init.port);
  const images: Record<string, unknown>[] = [];
  try {
    for (const url of init.images) images.push(await import(url));
  } catch (e) {
    cpu.cpu_start_failed(e);
    init.port.close();
    scope.close();
    return;
  }
  try {
    cpu.cpu_run(images);
  } finally {
    init.port.close();
    scope.close();
  }
}
