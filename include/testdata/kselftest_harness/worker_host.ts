// SPDX-License-Identifier: GPL-2.0-only
// Loads guest_worker.ts in a Worker, as the SDK loads a test module for guest
// code, and prints what the worker saw. Its whole output must be that line.
const worker = new Worker(new URL("./guest_worker.ts", import.meta.url), { type: "module" });
worker.onmessage = (e: MessageEvent) => {
  console.log(JSON.stringify(e.data));
  worker.terminate();
};
