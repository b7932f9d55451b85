// SPDX-License-Identifier: GPL-2.0-only
/**
 * Zeroing recycled anonymous memory, page by page, writing only the pages
 * that hold data: writing a page that reads as zeros would make the host
 * commit it. Shared by `mmap.ts` (which zeroes a chunk itself when it needs
 * it at once) and `page_zero_worker.ts` (which zeroes chunks ahead of
 * reuse); it imports nothing, so the worker loads one small module.
 *
 * A chunk in the pool carries a state word, so that exactly one of the two
 * threads zeroes it and the other knows when it may be used.
 *
 * @module
 */

/** Queued for zeroing; nobody has started. */
export const CHUNK_QUEUED = 0;
/** The zeroing thread is on it. */
export const CHUNK_ZEROING = 1;
/** Zero: it may be handed out. */
export const CHUNK_ZERO = 2;
/** Taken by the allocator, which zeroes it itself. */
export const CHUNK_CLAIMED = 3;

/**
 * Zeroes every page of `buf` that holds a non-zero byte.
 *
 * @param buf the chunk
 * @param page_size bytes per page (a multiple of 16)
 */
export function zero_dirty_pages(buf: SharedArrayBuffer, page_size: number): void {
  const n = buf.byteLength;
  // The OR of a page's words, unrolled, reads faster than a test per word.
  const words = new Int32Array(buf, 0, n >> 2);
  const per_page = page_size >> 2;
  const whole = words.length - (words.length % per_page);
  for (let p = 0; p < whole; p += per_page) {
    let acc = 0;
    for (let i = p; i < p + per_page; i += 4) {
      acc |= words[i]! | words[i + 1]! | words[i + 2]! | words[i + 3]!;
    }
    if (acc !== 0) words.fill(0, p, p + per_page);
  }
  words.fill(0, whole);
  new Uint8Array(buf, n & ~3).fill(0);
}

/** A zeroing request: the chunk, its state word (`CHUNK_*`), the page size. */
export interface page_zero_request {
  /** The chunk. */
  buf: SharedArrayBuffer;
  /** Its state word. */
  state: Int32Array;
  /** Bytes per page. */
  page_size: number;
}

/**
 * Zeroes the chunk of `req` unless the allocator claimed it first, then
 * marks it zero and wakes an allocator waiting for it.
 *
 * @param req the request
 */
export function page_zero_serve(req: page_zero_request): void {
  if (Atomics.compareExchange(req.state, 0, CHUNK_QUEUED, CHUNK_ZEROING) !== CHUNK_QUEUED) return;
  zero_dirty_pages(req.buf, req.page_size);
  Atomics.store(req.state, 0, CHUNK_ZERO);
  Atomics.notify(req.state, 0);
}
