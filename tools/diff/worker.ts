// SPDX-License-Identifier: GPL-2.0-only
/**
 * A worker thread of the differential checker: loads both backends by name
 * and runs one slice of sequences (see `run_slice_in_worker` in `checker.ts`).
 * Everything a slice opens is closed by the replays, so the worker holds
 * nothing when it reports.
 *
 * @module
 */

import { load_backend } from "../../include/libc/backend.ts";
import { run_slice, type SliceOptions } from "./checker.ts";

/** The worker's global scope, typed as one (this module is checked with the window's lib). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ names: [string, string]; options: SliceOptions }>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async (e) => {
  try {
    const a = await load_backend(e.data.names[0]);
    const b = await load_backend(e.data.names[1]);
    const report = await run_slice(a, b, {
      ...e.data.options,
      progress: (done) => scope.postMessage({ done }),
    });
    scope.postMessage({ report });
  } catch (err) {
    scope.postMessage({ error: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
};
