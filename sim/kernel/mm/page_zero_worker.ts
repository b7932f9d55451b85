// SPDX-License-Identifier: GPL-2.0-only
/**
 * The page-zeroing thread: zeroes recycled anonymous chunks while the
 * simulated process does something else, so that the next `mmap` of the
 * same size finds one ready (`mmap.ts`, `anon_chunk_alloc()`).
 *
 * @module
 */

import { type page_zero_request, page_zero_serve } from "./page_zero.ts";

(globalThis as unknown as {
  addEventListener(type: "message", fn: (e: MessageEvent<page_zero_request>) => void): void;
}).addEventListener("message", (e) => page_zero_serve(e.data));
