// SPDX-License-Identifier: GPL-2.0-only
/**
 * The thread behind `ioctl_async` of the `kvm` backend: it makes one blocking
 * ioctl at a time and reads `errno` on its own thread, where libc left it.
 * Control block (BigInt64 words): [0] state (0 idle, 1 request, 2 done),
 * [1] fd, [2] request, [3] argument, [4] result (`-errno` on failure).
 *
 * @module
 */

import { open_libc, read_errno } from "./kvm_backend.ts";

const libc = open_libc();

globalThis.addEventListener("message", (ev) => {
  const buf = (ev as MessageEvent<SharedArrayBuffer>).data;
  const ctl = new BigInt64Array(buf);
  const state = new Int32Array(buf);
  for (;;) {
    Atomics.wait(state, 0, 0);
    if (Atomics.load(state, 0) !== 1) continue;
    const r = libc.ioctl(Number(ctl[1]), ctl[2]!, ctl[3]!);
    ctl[4] = BigInt(r === -1 ? -read_errno(libc) : r);
    Atomics.store(state, 0, 2);
    Atomics.notify(state, 0);
  }
});
