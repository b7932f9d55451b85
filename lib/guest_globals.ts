// SPDX-License-Identifier: GPL-2.0-only
/**
 * C globals shared by host and guest.
 *
 * In C a selftest's globals live in the test ELF, which `kvm_vm_elf_load()`
 * copies into the guest at the same virtual addresses: the host has its copy,
 * the guest has its own, and `sync_global_to_guest(vm, g)` copies one into the
 * other. The TypeScript twin declares such a global with
 * {@linkcode guest_global}:
 *
 * ```ts ignore
 * // C: static struct guest_vals vals;
 * export const vals = guest_global("vals", guest_vals);
 * // C: static u8 vm_type;
 * const vm_type = guest_global("vm_type", u8);
 * ```
 *
 * - Its **GVA** is fixed at declaration, by declaration order, inside the guest
 *   image's data region (`IMAGE_DATA_GVA`), so it is the same in every VM.
 * - On the **host**, `g.value` is the host copy (a struct global is a layout
 *   view over host memory); `sync_global_to_guest` copies it into a VM.
 * - In a **vCPU worker**, `g.value` reads and writes guest memory at the GVA,
 *   through the CPU model's page walk, so the guest sees what was synced and
 *   the host sees what the guest wrote with `sync_global_from_guest`.
 * - `kvm_vm_elf_load` writes every global's *initial* value into a new VM (as
 *   C copies the ELF's `.data`), not the host's current one.
 *
 * Host and workers agree on the GVAs without depending on module evaluation
 * order: the image's first data page is a directory of (key hash, GVA) pairs
 * written by the host, and a worker resolves each global through it on first
 * use. The key is the declaring module's URL (relative to the SDK's root
 * for its own modules and tests, so MRTD does not depend on the checkout's
 * path) and the global's name.
 *
 * @module
 */

import type { RecordType, Scalar, View } from "../include/c/layout.ts";
import type { gva_t } from "../include/kvm_util_types.ts";
import { in_guest_worker, on_vcpu_worker_reuse } from "../include/libc/process.ts";
import { callsite } from "../include/linux/stringify.ts";
import { guest_read, guest_write } from "./guest_memory.ts";

/** GVA of the guest image's data region (C: the test ELF's `.data`/`.bss`). */
export const IMAGE_DATA_GVA = 0x600000n;
/** Bytes of the directory that starts the data region. */
export const IMAGE_DATA_DIRECTORY_SIZE = 0x2000;
/** One directory entry: the key hash and the GVA. */
const DIRECTORY_ENTRY_SIZE = 16;

/** A C global shared with the guest (see the module documentation). */
export interface guest_global<T> {
  /** The C name. */
  readonly name: string;
  /** `module URL#name`: what the directory is keyed by. */
  readonly key: string;
  /** Its guest-virtual address in the image. */
  readonly gva: gva_t;
  /** `sizeof` the global. */
  readonly size: number;
  /** The host copy on the host, guest memory in a vCPU worker. */
  value: T;
  /** The bytes of a value, as C stores it. */
  encode(v: T): Uint8Array;
}

interface global_record {
  key: string;
  hash: bigint;
  offset: number;
  size: number;
  initial: Uint8Array;
  host: Uint8Array;
}

const globals: global_record[] = [];
let data_end = IMAGE_DATA_DIRECTORY_SIZE;

/** The SDK's root directory URL. */
const SDK_ROOT = new URL("../", import.meta.url).href;

/**
 * A declaring module's URL relative to the SDK's root when it lies inside:
 * the directory is measured into a TD, and a TD's MRTD must not depend on
 * where the tree is checked out (`deno task mrtd --diff` builds the other
 * revision in a temporary directory).
 */
function portable_url(url: string): string {
  return url.startsWith(SDK_ROOT) ? `sdk:${url.slice(SDK_ROOT.length)}` : url;
}

/** FNV-1a, 64 bits: the directory's key hash. */
function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(s)) {
    h ^= BigInt(b);
    h = BigInt.asUintN(64, h * 0x100000001b3n);
  }
  return h;
}

/** In a worker: key hash → GVA, read from the image directory on first use. */
let directory: Map<bigint, gva_t> | undefined;
/**
 * Bumped when a pooled worker moves to another vCPU: the directory, and each
 * global's GVA resolved through it, belong to the VM they were read from.
 */
let directory_generation = 0;
on_vcpu_worker_reuse(() => {
  directory = undefined;
  directory_generation++;
});

function resolve_in_guest(rec: global_record): gva_t {
  if (!directory) {
    // Filled before it is published: the read is guest instructions, and an
    // exception (whose handler reads globals too) may interrupt it.
    // Entry by entry up to the terminating zero: each VM reads it afresh
    // (a pooled worker serves many), and a test declares a few globals.
    const dir = new Map<bigint, gva_t>();
    for (let off = 0; off + DIRECTORY_ENTRY_SIZE <= IMAGE_DATA_DIRECTORY_SIZE;) {
      const bytes = guest_read(IMAGE_DATA_GVA + BigInt(off), DIRECTORY_ENTRY_SIZE);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const gva = dv.getBigUint64(8, true);
      if (gva === 0n) break;
      dir.set(dv.getBigUint64(0, true), gva);
      off += DIRECTORY_ENTRY_SIZE;
    }
    directory = dir;
  }
  const gva = directory.get(rec.hash);
  if (gva === undefined) {
    throw new Error(
      `guest global '${rec.key}' is not in the guest image: it was declared after the VM was created`,
    );
  }
  return gva;
}

/**
 * Declare a C global the guest shares with the host.
 *
 * @param name the C name (unique within the declaring module)
 * @param type its C type: a scalar (`u8`, `u64`, ...) or a struct
 * @param init the initial value (C: the initialiser; zero when absent)
 * @returns the global
 */
export function guest_global<T extends number | bigint>(
  name: string,
  type: Scalar<T>,
  init?: T,
): guest_global<T>;
/**
 * Declare a struct global the guest shares with the host.
 *
 * @param name the C name
 * @param type the struct type
 * @returns the global; `value` is a view of the struct
 */
export function guest_global<F extends RecordType>(
  name: string,
  type: F,
): guest_global<View<F["fields"]>>;
export function guest_global(
  name: string,
  type: Scalar | RecordType,
  init?: number | bigint,
): guest_global<unknown> {
  const site = callsite(1);
  const key = `${portable_url(site?.url ?? "?")}#${name}`;
  const size = type.size;
  const align = Math.max(8, type.align);
  // A fresh instance of the declaring module (a pooled vCPU worker's next
  // VM, the harness's test server's next test) declares the same global
  // again: it keeps its place, so the image's layout does not depend on how
  // many instances came before.
  const again = in_guest_worker() ? undefined : globals.find((r) => r.key === key);
  if (again && again.size !== size) {
    throw new Error(`guest global '${key}' declared again with another size`);
  }
  let offset: number;
  if (again) {
    offset = again.offset;
  } else {
    data_end = (data_end + align - 1) & ~(align - 1);
    offset = data_end;
    data_end += size;
  }
  const host = new Uint8Array(size);
  const hdv = new DataView(host.buffer);
  if (type.kind === "scalar" && init !== undefined) {
    (type.set as (dv: DataView, off: number, v: number | bigint) => void)(hdv, 0, init);
  }
  const rec: global_record = {
    key,
    hash: fnv1a64(key),
    offset,
    size,
    initial: host.slice(),
    host,
  };
  const guest = in_guest_worker();
  // Only the host lays out the directory; a worker resolves through it (and
  // re-imports the image for each VM it serves, which declares again).
  if (again) {
    globals[globals.indexOf(again)] = rec;
  } else if (!guest) {
    globals.push(rec);
    if (globals.length * DIRECTORY_ENTRY_SIZE > IMAGE_DATA_DIRECTORY_SIZE) {
      throw new Error(`Too many guest globals (directory holds ${IMAGE_DATA_DIRECTORY_SIZE / 16})`);
    }
  }
  let gva_cache: gva_t | undefined;
  let gva_generation = -1;
  const gva_of = (): gva_t => {
    if (!guest) return IMAGE_DATA_GVA + BigInt(offset);
    if (gva_cache === undefined || gva_generation !== directory_generation) {
      gva_cache = resolve_in_guest(rec);
      gva_generation = directory_generation;
    }
    return gva_cache;
  };
  const encode = (v: unknown): Uint8Array => {
    const out = new Uint8Array(size);
    if (type.kind === "scalar") {
      (type.set as (dv: DataView, off: number, v: unknown) => void)(new DataView(out.buffer), 0, v);
    } else {
      out.set((v as View<RecordType["fields"]>).$bytes.subarray(0, size));
    }
    return out;
  };
  const g: guest_global<unknown> = {
    name,
    key,
    get gva() {
      return gva_of();
    },
    size,
    get value(): unknown {
      if (type.kind === "scalar") {
        const bytes = guest ? guest_read(gva_of(), size) : host;
        return type.get(new DataView(bytes.buffer, bytes.byteOffset, size), 0);
      }
      // A struct in the guest is a copy: assign it back (`g.value = v`) to store it.
      return type.view(guest ? guest_read(gva_of(), size) : host);
    },
    set value(v: unknown) {
      const bytes = encode(v);
      if (guest) guest_write(gva_of(), bytes);
      else host.set(bytes);
    },
    encode,
  };
  return g;
}

/**
 * The host copy of a global's bytes (what `sync_global_to_guest` copies).
 *
 * @param g the global
 * @returns the bytes
 */
export function global_read_host<T>(g: guest_global<T>): Uint8Array {
  return record_of(g).host;
}

/**
 * Overwrite the host copy (what `sync_global_from_guest` does).
 *
 * @param g the global
 * @param bytes the bytes
 */
export function global_write_host<T>(g: guest_global<T>, bytes: Uint8Array): void {
  record_of(g).host.set(bytes.subarray(0, g.size));
}

function record_of<T>(g: guest_global<T>): global_record {
  const rec = globals.find((r) => r.key === g.key);
  if (!rec) throw new Error(`unknown guest global ${g.key}`);
  return rec;
}

/**
 * The image's data region as `kvm_vm_elf_load` writes it into a VM: the
 * directory, then every global's initial value at its offset.
 *
 * @returns the bytes (from `IMAGE_DATA_GVA`)
 */
export function guest_data_image(): Uint8Array {
  const out = new Uint8Array(data_end);
  const dv = new DataView(out.buffer);
  globals.forEach((rec, i) => {
    dv.setBigUint64(i * DIRECTORY_ENTRY_SIZE, rec.hash, true);
    dv.setBigUint64(i * DIRECTORY_ENTRY_SIZE + 8, IMAGE_DATA_GVA + BigInt(rec.offset), true);
    out.set(rec.initial, rec.offset);
  });
  return out;
}
