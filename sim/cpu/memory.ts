// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest-physical memory map the kernel hands to a vCPU
 * ({@linkcode guest_memory_map}), and its lookup structure on the CPU side.
 *
 * The kernel describes each memslot by where its bytes live: a list of
 * `SharedArrayBuffer` chunks (user memory is split into 1 GiB chunks, see
 * `docs/sim.md`) and the slot's byte offset into them. A TD's slot may also
 * have a private (guest_memfd) backing and a per-page attribute array that the
 * kernel updates in place (`KVM_SET_MEMORY_ATTRIBUTES`), so that attribute
 * changes reach running vCPUs without a new map.
 *
 * A slot with `KVM_MEM_LOG_DIRTY_PAGES` carries the kernel's dirty bitmap
 * (shared memory): the CPU sets a page's bit on each write it lets through
 * ({@linkcode mark_page_dirty_bit}), which is what KVM's write-protection
 * fault (or PML) does on hardware, and keeps a page writable in its TLB only
 * while the bit is set, so a page the kernel re-protects (clears) is logged
 * again on its next write once the kernel has flushed the vCPU's TLB.
 *
 * @module
 */

/** Bytes of a guest page. */
export const PAGE_SIZE = 4096;
/** log2 of {@linkcode PAGE_SIZE}. */
export const PAGE_SHIFT = 12;

/** `KVM_MEM_READONLY`-style flag of {@linkcode guest_memslot}: writes exit as MMIO. */
export const GUEST_MEMSLOT_READONLY = 1;

/** Where a slot's bytes live: `chunks` concatenated, starting at `offset`. */
export interface guest_backing {
  /** The chunks, in order; every chunk but the last is exactly `chunk_size` bytes. */
  readonly chunks: readonly SharedArrayBuffer[];
  /** Bytes of each chunk; a multiple of {@linkcode PAGE_SIZE}. */
  readonly chunk_size: number;
  /** Byte offset of the slot's first page in the concatenated chunks; page aligned. */
  readonly offset: number;
}

/** One memslot as the CPU sees it (`struct kvm_memory_slot`). */
export interface guest_memslot {
  /** The slot id (`as_id << 16 | id`), for diagnostics. */
  readonly slot: number;
  /**
   * The kernel's name for this very object, unique in the process: a kernel
   * that hands the same object to consecutive maps for an unchanged range
   * lets {@linkcode memmap_delta} send only what changed.
   */
  readonly key?: number;
  /** First guest-physical address; page aligned. */
  readonly base_gpa: bigint;
  /** Number of pages. */
  readonly npages: number;
  /** `KVM_MEM_READONLY`: a write exits with an EPT violation (KVM gives `KVM_EXIT_MMIO`). */
  readonly readonly: boolean;
  /** The shared (userspace_addr) backing. */
  readonly backing: guest_backing;
  /** The private (guest_memfd) backing of a TD slot. */
  readonly private_backing?: guest_backing;
  /**
   * Per-page attributes of a TD's range, one byte per page: the kernel's
   * `KVM_MEMORY_ATTRIBUTE_PRIVATE` becomes {@linkcode GUEST_PAGE_PRIVATE};
   * absent means all shared. The CPU is the hardware: it reads its own
   * format, not KVM's uAPI (nor loads it into every vCPU worker).
   */
  readonly attributes?: Uint8Array;
  /**
   * The memslot's dirty bitmap (`KVM_MEM_LOG_DIRTY_PAGES`): 32-bit words over
   * a `SharedArrayBuffer`, bit n for the memslot's page n; absent when the
   * slot is not logged.
   */
  readonly dirty_bitmap?: Int32Array;
  /** Bit of {@linkcode dirty_bitmap} for this range's first page (a range may start inside its memslot). */
  readonly dirty_first?: number;
  /**
   * With a dirty ring instead: which pages of the memslot are writable (bit
   * set); a write to any other page exits (EPT violation) so that the
   * kernel pushes it to the vCPU's ring. Same indexing as
   * {@linkcode dirty_bitmap}.
   */
  readonly dirty_ring_wp?: Int32Array;
}

/** The memory map of a VM: its memslots, in any order, not overlapping. */
export interface guest_memory_map {
  /** The slots. */
  readonly slots: readonly guest_memslot[];
}

/**
 * What turns the last map a vCPU got into the next one: the slots to add
 * and the keys of the slots to drop.
 */
export interface guest_memory_map_delta {
  /** Slots the next map has and the last one had not. */
  readonly add: readonly guest_memslot[];
  /** {@linkcode guest_memslot.key}s of the last map's slots the next one has not. */
  readonly remove: readonly number[];
}

/**
 * The delta from `last` to `next`, by object identity, or undefined when
 * most of `next` is new or a dropped slot has no key: then the whole map is
 * cheaper to send. A VM with thousands of memslots (KVM allows 32,764) that
 * moves one of them would otherwise have every slot cloned into every
 * vCPU's worker, and resolved there again: 70 ms per move with 8,192 slots.
 */
export function memmap_delta(
  last: guest_memory_map,
  next: guest_memory_map,
): guest_memory_map_delta | undefined {
  if (last === next) return { add: [], remove: [] };
  const gone = new Set(last.slots);
  const add: guest_memslot[] = [];
  for (const s of next.slots) if (!gone.delete(s)) add.push(s);
  if (add.length * 2 > next.slots.length) return undefined;
  const remove: number[] = [];
  for (const s of gone) {
    if (s.key === undefined) return undefined;
    remove.push(s.key);
  }
  return { add, remove };
}

/** A page of {@linkcode guest_memslot.attributes} that is private. */
export const GUEST_PAGE_PRIVATE = 1;

/** A slot resolved for fast access on the CPU side. */
interface resolved_slot {
  key: number | undefined;
  base: number;
  end: number;
  readonly: boolean;
  shared: resolved_backing;
  priv: resolved_backing | null;
  attributes: Uint8Array | null;
  dirty: Int32Array | null;
  ring_wp: Int32Array | null;
  dirty_first: number;
}

interface resolved_backing {
  views: DataView[];
  chunk_size: number;
  offset: number;
}

function resolve_backing(b: guest_backing): resolved_backing {
  if (b.chunk_size % PAGE_SIZE !== 0 || b.offset % PAGE_SIZE !== 0) {
    throw new RangeError("guest memory backing must be page aligned");
  }
  return {
    views: b.chunks.map((c) => new DataView(c)),
    chunk_size: b.chunk_size,
    offset: b.offset,
  };
}

function resolve_slot(s: guest_memslot): resolved_slot {
  const base = Number(s.base_gpa);
  return {
    key: s.key,
    base,
    end: base + s.npages * PAGE_SIZE,
    readonly: s.readonly,
    shared: resolve_backing(s.backing),
    priv: s.private_backing ? resolve_backing(s.private_backing) : null,
    attributes: s.attributes ?? null,
    dirty: s.dirty_bitmap ?? null,
    ring_wp: s.dirty_ring_wp ?? null,
    dirty_first: s.dirty_first ?? 0,
  };
}

function by_base(a: resolved_slot, b: resolved_slot): number {
  return a.base - b.base;
}

/**
 * The CPU side of a memory map: GPA → (DataView, byte offset) by binary
 * search over the slots. The result of {@linkcode lookup} is left in
 * {@linkcode dv} and {@linkcode off} so that the hot path allocates nothing.
 */
export class physmem {
  #slots: resolved_slot[] = [];
  /** The DataView of the last successful lookup. */
  dv: DataView = new DataView(new ArrayBuffer(8));
  /** The byte offset in {@linkcode dv} of the last successful lookup. */
  off = 0;
  /** Whether the slot of the last lookup is read-only. */
  ro = false;
  /** The dirty bitmap of the slot of the last lookup, or null when it is not logged. */
  dirty: Int32Array | null = null;
  /** The dirty-ring write protection of the slot of the last lookup, or null. */
  ring_wp: Int32Array | null = null;
  /** The bit of {@linkcode dirty} (or {@linkcode ring_wp}) for the page of the last lookup. */
  dirty_nr = 0;

  /** Replaces the map. */
  set_map(map: guest_memory_map): void {
    const slots = map.slots.map(resolve_slot);
    slots.sort(by_base);
    this.#slots = slots;
  }

  /** Applies a {@linkcode memmap_delta} to the map. */
  update_map(delta: guest_memory_map_delta): void {
    let slots = this.#slots;
    if (delta.remove.length) {
      const gone = new Set(delta.remove);
      slots = slots.filter((s) => s.key === undefined || !gone.has(s.key));
    }
    if (delta.add.length) {
      if (slots === this.#slots) slots = slots.slice();
      for (const s of delta.add) slots.push(resolve_slot(s));
      // Nearly sorted: the sort runs over it once.
      slots.sort(by_base);
    }
    this.#slots = slots;
  }

  /**
   * Looks up the page that holds guest-physical address `gpa` (a number below
   * 2^52). Returns 0 when found (see {@linkcode dv}, {@linkcode off},
   * {@linkcode ro}), -1 when no slot covers it (MMIO), -2 when the access is
   * private and the page is shared or has no private backing, -3 the other
   * way round (the kernel turns both into `KVM_EXIT_MEMORY_FAULT`).
   *
   * @param gpa the address, without a TD's shared bit
   * @param priv whether a TD accesses it as private (shared bit clear)
   * @param td whether the vCPU is a TD vCPU (attributes apply)
   */
  lookup(gpa: number, priv: boolean, td: boolean): number {
    const slots = this.#slots;
    let lo = 0;
    let hi = slots.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = slots[mid]!;
      if (gpa < s.base) hi = mid - 1;
      else if (gpa >= s.end) lo = mid + 1;
      else {
        const rel = gpa - s.base;
        let b = s.shared;
        if (td) {
          const attr = s.attributes ? s.attributes[Math.floor(rel / PAGE_SIZE)]! : 0;
          const is_priv = (attr & GUEST_PAGE_PRIVATE) !== 0;
          if (priv !== is_priv) return priv ? -2 : -3;
          if (priv) {
            if (!s.priv) return -2;
            b = s.priv;
          }
        }
        const byte = b.offset + rel;
        const chunk = Math.floor(byte / b.chunk_size);
        const view = b.views[chunk];
        if (!view) return -1;
        this.dv = view;
        this.off = byte - chunk * b.chunk_size;
        this.ro = s.readonly;
        this.dirty = s.dirty;
        this.ring_wp = s.ring_wp;
        if (s.dirty || s.ring_wp) this.dirty_nr = s.dirty_first + Math.floor(rel / PAGE_SIZE);
        return 0;
      }
    }
    return -1;
  }
}

/**
 * Sets bit `nr` of a dirty bitmap (`set_bit_le()` in `mark_page_dirty_in_slot()`):
 * atomically, because the kernel clears bits concurrently (KVM_GET_DIRTY_LOG's
 * exchange, KVM_CLEAR_DIRTY_LOG's and-not) and other vCPUs set them.
 */
export function mark_page_dirty_bit(bitmap: Int32Array, nr: number): void {
  const w = nr >>> 5;
  const bit = 1 << (nr & 31);
  if ((bitmap[w]! & bit) === 0) Atomics.or(bitmap, w, bit);
}

/** Whether bit `nr` of a dirty bitmap is set (the page is writable without logging). */
export function test_page_dirty_bit(bitmap: Int32Array, nr: number): boolean {
  return (Atomics.load(bitmap, nr >>> 5) & (1 << (nr & 31))) !== 0;
}
