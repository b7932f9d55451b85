// SPDX-License-Identifier: GPL-2.0-only
/**
 * The Secure EPT of a TD, as far as the guest can observe it: one state per
 * private 4 KiB GFN. The page frames themselves are guest_memfd pages that
 * the caller resolves; the module only keeps which GFNs are mapped and in
 * which state.
 *
 * States (the SEPT entry states of the TDX module, reduced to 4 KiB leaves):
 *
 * - `SEPT_FREE`: nothing mapped. A guest access is an EPT violation that exits
 *   to the VMM (KVM faults the page in with TDH.MEM.PAGE.AUG, or reports a
 *   memory fault).
 * - `SEPT_PENDING`: TDH.MEM.PAGE.AUG mapped a page the guest has not accepted.
 *   A guest access raises #VE when the TD's SEPT_VE_DISABLE attribute is clear,
 *   and exits to the VMM otherwise; TDG.MEM.PAGE.ACCEPT zeroes the page and
 *   maps it.
 * - `SEPT_MAPPED`: TDH.MEM.PAGE.ADD (build time) or an accepted AUG page; the
 *   guest reads and writes it.
 * - `SEPT_BLOCKED` / `SEPT_PENDING_BLOCKED`: TDH.MEM.RANGE.BLOCK stopped new
 *   translations of a mapped / pending page (the step before
 *   TDH.MEM.PAGE.REMOVE); a guest access exits to the VMM.
 *
 * The states live in `SharedArrayBuffer` chunks of {@linkcode SEPT_CHUNK_PAGES}
 * bytes (one per GFN, 1 GiB of GPA per chunk), allocated when first needed,
 * so that a vCPU worker can read the state of the page it is about to touch
 * without a round trip to the host thread: the kernel hands it the chunks
 * covering each private memslot ({@linkcode secure_ept.chunks_for}) and the
 * worker looks states up with {@linkcode sept_state_in}. Only the module
 * writes them.
 *
 * @module
 */

/** SEPT state: no page mapped. */
export const SEPT_FREE = 0;
/** SEPT state: augmented, not yet accepted by the guest. */
export const SEPT_PENDING = 1;
/** SEPT state: mapped and accessible to the guest. */
export const SEPT_MAPPED = 2;
/** SEPT state: a mapped page blocked for removal. */
export const SEPT_BLOCKED = 3;
/** SEPT state: a pending page blocked for removal. */
export const SEPT_PENDING_BLOCKED = 4;

/** log2 of the GFNs per chunk. */
export const SEPT_CHUNK_SHIFT = 18;
/** GFNs per chunk (1 GiB of GPA). */
export const SEPT_CHUNK_PAGES: number = 1 << SEPT_CHUNK_SHIFT;

/** One chunk of SEPT states: `state[gfn - base_gfn]` for GFNs in `[base_gfn, base_gfn + SEPT_CHUNK_PAGES)`. */
export interface sept_chunk {
  /** First GFN of the chunk (a multiple of {@linkcode SEPT_CHUNK_PAGES}). */
  readonly base_gfn: number;
  /** One byte per GFN, over a `SharedArrayBuffer`. */
  readonly state: Uint8Array;
}

/**
 * The SEPT state of `gfn` in `chunks` (the CPU side's lookup; `SEPT_FREE`
 * when no chunk covers it).
 */
export function sept_state_in(chunks: readonly sept_chunk[], gfn: number): number {
  const base = gfn - (gfn % SEPT_CHUNK_PAGES);
  for (const c of chunks) {
    if (c.base_gfn === base) return c.state[gfn - base]!;
  }
  return SEPT_FREE;
}

/**
 * log2 of the GFNs per block of the occupancy counts: a walk over what is
 * mapped looks only into blocks (2 MiB of GPA) that hold a page, instead of
 * the 262,144 states of each chunk.
 */
const SEPT_BLOCK_SHIFT = 9;

/** A TD's Secure EPT. */
export class secure_ept {
  readonly #chunks = new Map<number, sept_chunk>();
  /** Per chunk: the number of non-free GFNs in each block. */
  readonly #occupied = new Map<number, Uint16Array>();
  #mapped = 0;

  #chunk(gfn: number, create: boolean): sept_chunk | undefined {
    const key = Math.floor(gfn / SEPT_CHUNK_PAGES);
    let c = this.#chunks.get(key);
    if (!c && create) {
      c = Object.freeze({
        base_gfn: key * SEPT_CHUNK_PAGES,
        state: new Uint8Array(new SharedArrayBuffer(SEPT_CHUNK_PAGES)),
      });
      this.#chunks.set(key, c);
      this.#occupied.set(key, new Uint16Array(SEPT_CHUNK_PAGES >> SEPT_BLOCK_SHIFT));
    }
    return c;
  }

  /** The state of `gfn`. */
  state(gfn: number): number {
    const c = this.#chunk(gfn, false);
    return c ? c.state[gfn - c.base_gfn]! : SEPT_FREE;
  }

  /** Sets the state of `gfn` (module-internal: only SEAMCALLs and TDCALLs change SEPT). */
  set(gfn: number, s: number): void {
    const c = this.#chunk(gfn, s !== SEPT_FREE);
    if (!c) return;
    const i = gfn - c.base_gfn;
    const was = c.state[i]!;
    if (was === s) return;
    // PENDING/BLOCKED pages still hold a frame: only FREE releases it.
    if (was === SEPT_FREE || s === SEPT_FREE) {
      const d = was === SEPT_FREE ? 1 : -1;
      this.#mapped += d;
      this.#occupied.get(c.base_gfn / SEPT_CHUNK_PAGES)![i >> SEPT_BLOCK_SHIFT]! += d;
    }
    Atomics.store(c.state, i, s);
  }

  /**
   * The GFNs with a page frame (any state but FREE), ascending: a snapshot,
   * so the caller may change states as it walks (a zap frees what it
   * visits). An array, not a generator: a TD's build walks its few hundred
   * pages at each memory-map rebuild, and a generator made an object per GFN.
   */
  present(): number[] {
    const out: number[] = [];
    const keys = [...this.#chunks.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const c = this.#chunks.get(key)!;
      const counts = this.#occupied.get(key)!;
      for (let b = 0; b < counts.length; b++) {
        if (counts[b] === 0) continue;
        const end = (b + 1) << SEPT_BLOCK_SHIFT;
        for (let i = b << SEPT_BLOCK_SHIFT; i < end; i++) {
          if (c.state[i] !== SEPT_FREE) out.push(c.base_gfn + i);
        }
      }
    }
    return out;
  }

  /** Number of GFNs with a page frame (any state but FREE). */
  get nr_pages(): number {
    return this.#mapped;
  }

  /**
   * The chunks covering `[gfn, gfn + npages)`, created if needed, for the
   * kernel to hand to the CPU with a private memslot. The chunks are the
   * live state: later SEPT changes are visible through them.
   */
  chunks_for(gfn: number, npages: number): sept_chunk[] {
    const out: sept_chunk[] = [];
    if (npages <= 0) return out;
    const last = gfn + npages - 1;
    for (let g = gfn - (gfn % SEPT_CHUNK_PAGES); g <= last; g += SEPT_CHUNK_PAGES) {
      out.push(this.#chunk(g, true)!);
    }
    return out;
  }
}
