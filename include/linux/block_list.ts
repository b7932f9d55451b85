// SPDX-License-Identifier: GPL-2.0-only
/**
 * An indexed sequence with cheap insertion and removal anywhere: where C
 * keeps an ordered set in an rbtree (the kernel's memslot gfn tree and VMA
 * tree, the selftest library's `gpa_tree`), this project keeps a sorted
 * `block_list` and binary-searches it by index.
 *
 * Why not a plain array: `Array.prototype.splice()` moves every element
 * after the index, so filling a sorted array of n entries costs O(n²). A
 * VM with KVM_USER_MEM_SLOTS (32,764) memslots made four such arrays spend
 * 4.5 s in `splice()` alone. Here the elements live in blocks of at most
 * {@linkcode BLOCK_MAX}; a splice touches one or two blocks and the block
 * index, so filling n entries costs O(n·√n) at worst and O(n) when they
 * arrive in order, as memslots and top-down mmaps do.
 *
 * @module
 */

/** Most elements in one block before it splits. */
export const BLOCK_MAX = 512;

/** A sequence of `T` with array-like `get`, `length` and `splice`. */
export class block_list<T> implements Iterable<T> {
  #blocks: T[][] = [];
  // Global index of each block's first element; rebuilt lazily after a change.
  #starts: number[] = [];
  #stale = false;
  #length = 0;

  /** Number of elements. */
  get length(): number {
    return this.#length;
  }

  #index(): number[] {
    if (this.#stale) {
      const s = this.#starts;
      s.length = this.#blocks.length;
      let n = 0;
      for (let b = 0; b < this.#blocks.length; b++) {
        s[b] = n;
        n += this.#blocks[b]!.length;
      }
      this.#stale = false;
    }
    return this.#starts;
  }

  /** The block holding global index `i` (0 <= i < length). */
  #block_of(i: number): number {
    const s = this.#index();
    let lo = 0, hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The element at index `i`.
   *
   * @param i an index, 0 <= i < length
   * @returns the element, or `undefined` out of range
   */
  get(i: number): T | undefined {
    if (i < 0 || i >= this.#length) return undefined;
    const b = this.#block_of(i);
    return this.#blocks[b]![i - this.#starts[b]!];
  }

  /**
   * Removes `deleteCount` elements at `start` and inserts `items` there, as
   * `Array.prototype.splice()` does.
   *
   * @param start where, 0 <= start <= length
   * @param deleteCount how many to remove
   * @param items what to insert
   * @returns the removed elements
   */
  splice(start: number, deleteCount: number, ...items: T[]): T[] {
    if (!(start >= 0 && start <= this.#length)) {
      throw new RangeError(`block_list: bad index ${start}`);
    }
    const del = Math.max(0, Math.min(deleteCount, this.#length - start));
    const removed: T[] = [];
    let b: number, off: number;
    if (this.#blocks.length === 0) {
      this.#blocks.push([]);
      this.#stale = true;
      b = 0, off = 0;
    } else if (start === this.#length) {
      b = this.#blocks.length - 1;
      off = this.#blocks[b]!.length;
    } else {
      b = this.#block_of(start);
      off = start - this.#starts[b]!;
    }
    // Removal may span blocks: take from this one, then from the next ones.
    let left = del;
    let first = true;
    for (let k = b; left > 0;) {
      const blk = this.#blocks[k]!;
      const from = first ? off : 0;
      const n = Math.min(left, blk.length - from);
      removed.push(...blk.splice(from, n));
      left -= n;
      first = false;
      if (blk.length === 0 && k !== b) this.#blocks.splice(k, 1);
      else k++;
    }
    if (items.length > 0) this.#blocks[b]!.splice(off, 0, ...items);
    this.#length += items.length - del;
    this.#stale = true;
    const blk = this.#blocks[b]!;
    if (blk.length > BLOCK_MAX) {
      const pieces: T[][] = [];
      for (let p = 0; p < blk.length; p += BLOCK_MAX >> 1) {
        pieces.push(blk.slice(p, p + (BLOCK_MAX >> 1)));
      }
      this.#blocks.splice(b, 1, ...pieces);
    } else if (blk.length === 0 && this.#blocks.length > 1) {
      this.#blocks.splice(b, 1);
    }
    return removed;
  }

  /** Inserts `item` at `i`. */
  insert(i: number, item: T): void {
    this.splice(i, 0, item);
  }

  /** Removes and returns the element at `i`. */
  remove(i: number): T | undefined {
    return this.splice(i, 1)[0];
  }

  /** Removes every element. */
  clear(): void {
    this.#blocks = [];
    this.#starts = [];
    this.#length = 0;
    this.#stale = false;
  }

  /**
   * The elements from index `start` on, in order.
   *
   * @param start the first index (default 0)
   */
  *from(start = 0): IterableIterator<T> {
    if (start >= this.#length) return;
    let b = start <= 0 ? 0 : this.#block_of(start);
    let off = start <= 0 ? 0 : start - this.#starts[b]!;
    for (; b < this.#blocks.length; b++, off = 0) {
      const blk = this.#blocks[b]!;
      for (let i = off; i < blk.length; i++) yield blk[i]!;
    }
  }

  /** The elements in order. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.from(0);
  }

  /** A plain array copy. */
  to_array(): T[] {
    return this.#blocks.flat();
  }
}

/**
 * The first index in `list` whose element's key is not below `key` (C++'s
 * lower_bound), for a list sorted by `key_of`.
 *
 * @param list a list sorted by key
 * @param key the key sought
 * @param key_of the key of an element
 * @returns an index in 0..length
 */
export function block_list_lower_bound<T, K extends number | bigint>(
  list: block_list<T>,
  key: K,
  key_of: (x: T) => K,
): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key_of(list.get(mid)!) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
