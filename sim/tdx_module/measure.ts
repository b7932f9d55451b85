// SPDX-License-Identifier: GPL-2.0-only
/**
 * Build-time measurement of a TD (MRTD) and its run-time measurement
 * registers (RTMRs), as the TDX module keeps them.
 *
 * The module holds one SHA-384 context per TD from TDH.MNG.INIT to
 * TDH.MR.FINALIZE and only ever feeds it whole 128-byte records, so MRTD is
 * the SHA-384 of the concatenated records:
 *
 * - TDH.MEM.PAGE.ADD: `"MEM.PAGE.ADD"` at 0, the GPA (u64 LE) at 16; the
 *   page's content is not hashed by the ADD itself.
 * - TDH.MR.EXTEND: `"MR.EXTEND"` at 0, the chunk's GPA at 16, then the 256
 *   bytes of the chunk.
 *
 * KVM measures a page single-pass (ADD, then EXTEND of its 16 chunks in
 * order), so a fully measured page feeds 128 + 16 * (128 + 256) = 6272 bytes;
 * {@linkcode td_measurement.page_add_measured} stages them, and a region's
 * pages reach the hash a few dozen at a time.
 *
 * @module
 */

import type { Hash } from "node:crypto";
import { node_crypto } from "../../include/crypto/node_crypto.ts";

/** SHA-384 digest size: MRTD, RTMRs and MRCONFIGID/MROWNER are this long. */
export const SHA384_DIGEST_SIZE = 48;

/** The MR.EXTEND granule. */
export const MR_EXTEND_GRANULARITY = 256;

const RECORD_SIZE = 128;
const PAGE_SIZE = 4096;
const PAGE_ADD_TAG = new TextEncoder().encode("MEM.PAGE.ADD");
const MR_EXTEND_TAG = new TextEncoder().encode("MR.EXTEND");
const MEASURED_PAGE_BYTES = RECORD_SIZE + (PAGE_SIZE / MR_EXTEND_GRANULARITY) *
    (RECORD_SIZE + MR_EXTEND_GRANULARITY);

function record(tag: Uint8Array, gpa: bigint, into: Uint8Array, at: number): void {
  into.fill(0, at, at + RECORD_SIZE);
  into.set(tag, at);
  new DataView(into.buffer, into.byteOffset).setBigUint64(at + 16, gpa, true);
}

/**
 * Measured pages staged before one hash update: node's `Hash.update()` costs
 * about a microsecond per call whatever its length, as much as hashing 300
 * bytes, so a region's pages are fed 32 at a time (196 KiB).
 */
const STAGED_PAGES = 32;
/** The staging buffer with its tags in place, built once: each TD copies it. */
let stage_template: Uint8Array | undefined;
/** Staging buffers of finalized TDs, for the next builds. */
const stage_pool: Uint8Array[] = [];
/** TDs built at once that reuse a buffer; more allocate their own. */
const STAGE_POOL_MAX = 4;

/** The measurement state of one TD. */
export class td_measurement {
  #ctx: Hash | null = node_crypto().createHash("sha384");
  #mrtd: Uint8Array | null = null;
  readonly #scratch = new Uint8Array(MEASURED_PAGE_BYTES);
  // The records of up to STAGED_PAGES measured pages, tags already in place:
  // per page only the GPAs and the content change. Bytes before #staged are
  // fed to the context before anything else touches it, so the digest is the
  // one a record-by-record feed gives.
  // A TD holds its staging buffer while it is built: TDH.MR.FINALIZE gives it
  // to the next TD (200 KiB an allocation each would make).
  #stage: Uint8Array = stage_pool.pop() ?? (stage_template ??= td_measurement.#template()).slice();
  #stageDv = new DataView(this.#stage.buffer);
  #stageWords = new Uint32Array(this.#stage.buffer);
  #staged = 0;
  // A 32-bit view of the last source page's whole buffer: chunks are copied
  // word by word without a view per chunk (a view per chunk is as slow and
  // leaves garbage for every page).
  #srcBuffer: ArrayBufferLike | null = null;
  #srcWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

  static #template(): Uint8Array {
    const t = new Uint8Array(MEASURED_PAGE_BYTES * STAGED_PAGES);
    for (let p = 0; p < t.length; p += MEASURED_PAGE_BYTES) {
      t.set(PAGE_ADD_TAG, p);
      for (
        let at = p + RECORD_SIZE;
        at < p + MEASURED_PAGE_BYTES;
        at += RECORD_SIZE + MR_EXTEND_GRANULARITY
      ) {
        t.set(MR_EXTEND_TAG, at);
      }
    }
    return t;
  }
  /** RTMR0..3, zeroed by TDH.MNG.INIT. */
  readonly rtmr: Uint8Array[] = [0, 1, 2, 3].map(() => new Uint8Array(SHA384_DIGEST_SIZE));

  /** Whether TDH.MR.FINALIZE has run: build-time measurement is closed. */
  get finalized(): boolean {
    return this.#mrtd !== null;
  }

  #live(): Hash {
    if (!this.#ctx) throw new Error("MRTD is finalized");
    if (this.#staged) {
      this.#ctx.update(this.#stage.subarray(0, this.#staged * MEASURED_PAGE_BYTES));
      this.#staged = 0;
    }
    return this.#ctx;
  }

  /** TDH.MEM.PAGE.ADD's record for a page at `gpa`. */
  page_add(gpa: bigint): void {
    record(PAGE_ADD_TAG, gpa, this.#scratch, 0);
    this.#live().update(this.#scratch.subarray(0, RECORD_SIZE));
  }

  /** TDH.MR.EXTEND of the 256-byte chunk at `gpa` whose content is `chunk`. */
  mr_extend(gpa: bigint, chunk: Uint8Array): void {
    if (chunk.length !== MR_EXTEND_GRANULARITY) throw new RangeError("MR.EXTEND takes 256 bytes");
    record(MR_EXTEND_TAG, gpa, this.#scratch, 0);
    this.#scratch.set(chunk, RECORD_SIZE);
    this.#live().update(this.#scratch.subarray(0, RECORD_SIZE + MR_EXTEND_GRANULARITY));
  }

  /**
   * PAGE.ADD then the 16 MR.EXTENDs of the same page: exactly the bytes the
   * single-pass sequence feeds, staged for a later update.
   */
  page_add_measured(gpa: bigint, page: Uint8Array): void {
    if (page.length !== PAGE_SIZE) throw new RangeError("a TD page is 4096 bytes");
    if (!this.#ctx) throw new Error("MRTD is finalized");
    if (this.#staged === STAGED_PAGES) this.#live();
    const s = this.#stage;
    const dv = this.#stageDv;
    const base = this.#staged++ * MEASURED_PAGE_BYTES;
    // The page is 4 KiB aligned, so the chunks' GPAs differ only in bits 11:8:
    // no BigInt arithmetic per chunk.
    const lo = Number(BigInt.asUintN(32, gpa));
    const hi = Number(BigInt.asUintN(32, gpa >> 32n));
    dv.setUint32(base + 16, lo, true);
    dv.setUint32(base + 20, hi, true);
    const aligned = (page.byteOffset & 3) === 0;
    if (aligned && this.#srcBuffer !== page.buffer) {
      this.#srcBuffer = page.buffer;
      this.#srcWords = new Uint32Array(page.buffer, 0, page.buffer.byteLength >> 2);
    }
    const words = this.#srcWords;
    const sw = this.#stageWords;
    const src = page.byteOffset >> 2;
    let at = base + RECORD_SIZE;
    for (let off = 0; off < PAGE_SIZE; off += MR_EXTEND_GRANULARITY) {
      dv.setUint32(at + 16, (lo + off) >>> 0, true);
      dv.setUint32(at + 20, hi, true);
      const d = at + RECORD_SIZE;
      if (aligned) {
        for (let i = 0, w = d >> 2, r = src + (off >> 2); i < MR_EXTEND_GRANULARITY >> 2; i++) {
          sw[w + i] = words[r + i]!;
        }
      } else {
        s.set(page.subarray(off, off + MR_EXTEND_GRANULARITY), d);
      }
      at += RECORD_SIZE + MR_EXTEND_GRANULARITY;
    }
  }

  /** TDH.MR.FINALIZE: closes the context; MRTD is final from now on. */
  finalize(): Uint8Array {
    this.#mrtd = new Uint8Array(this.#live().digest());
    this.#ctx = null;
    if (stage_pool.length < STAGE_POOL_MAX) stage_pool.push(this.#stage);
    this.#stage = new Uint8Array(0);
    this.#stageDv = new DataView(this.#stage.buffer);
    this.#stageWords = new Uint32Array(0);
    return this.#mrtd;
  }

  /** MRTD: final after {@linkcode finalize}, a throw before it (the module reports it only then). */
  get mrtd(): Uint8Array {
    if (!this.#mrtd) throw new Error("MRTD is not final before TDH.MR.FINALIZE");
    return this.#mrtd;
  }

  /** TDG.MR.RTMR.EXTEND: `RTMR[i] = SHA384(RTMR[i] || data48)`. */
  rtmr_extend(index: number, data: Uint8Array): void {
    const cur = this.rtmr[index];
    if (!cur || data.length !== SHA384_DIGEST_SIZE) throw new RangeError("bad RTMR extend");
    cur.set(node_crypto().createHash("sha384").update(cur).update(data).digest());
  }
}
