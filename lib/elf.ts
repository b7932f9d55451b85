// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/elf.c`: `kvm_vm_elf_load()`, which
 * loads the test program into the guest.
 *
 * The test module is the guest image, as the test ELF is in C
 * (`program_invocation_name`). The library finds it from the call stack at VM
 * creation: the first frame that is not SDK code (`include/`, `lib/`, `sim/`,
 * `std/`, except `*_test.ts` files and `testdata/`), so a helper module of the
 * test may create the VM too. Each vCPU worker imports that module to run its
 * guest functions.
 *
 * The image has two regions in memslot 0, mapped at fixed GVAs as an ELF's
 * segments are:
 *
 * - **text** at `IMAGE_TEXT_GVA`: one code record (`include/guest_code.ts`)
 *   per guest function, placed when the function is first referenced (an
 *   entry point, an exception handler, the 256 exception stubs). The CPU
 *   fetches RIP through the guest page tables to the record and runs the
 *   function it names, so a missing or overwritten code page faults as on
 *   hardware, and a TD measures its code pages.
 * - **data** at `IMAGE_DATA_GVA`: the guest globals (`lib/guest_globals.ts`)
 *   with their initial values.
 *
 * @module
 */

import { stack_frames } from "../include/linux/stringify.ts";
import { guest_code_record_shared, guest_fn_lookup } from "../include/guest_code.ts";
import {
  type guest_code_t,
  type gva_t,
  kvm_mem_region_type,
  type kvm_vm,
} from "../include/kvm_util_types.ts";
import { TEST_ASSERT } from "../include/test_util.ts";
import { guest_data_image, IMAGE_DATA_GVA } from "./guest_globals.ts";
import { __vm_alloc, addr_gpa2hva, addr_gva2gpa, memcpy_to_guest } from "./kvm_util.ts";
import { user_memory } from "../include/libc/syscall.ts";
import { guest_runtime_needed, GUEST_RUNTIME_TEXT_RESERVE } from "./x86/guest_runtime.ts";

/** GVA of the image's text region (C: where the linker puts the test's `.text`). */
export const IMAGE_TEXT_GVA = 0x400000n;
/** Size of the text region. */
export const IMAGE_TEXT_SIZE = 0x80000;

/** The SDK's root directory, to tell SDK frames from the test's. */
const SDK_ROOT = new URL("../", import.meta.url).href;

function is_sdk_frame(url: string): boolean {
  if (!url.startsWith(SDK_ROOT)) return !url.startsWith("file:");
  const rel = url.slice(SDK_ROOT.length);
  if (/_test\.ts$/.test(rel) || rel.includes("/testdata/")) return false;
  return /^(include|lib|sim|std)\//.test(rel);
}

/**
 * C `program_invocation_name` for the guest image: the module URL of the
 * first caller outside the SDK (see the module documentation), or
 * `Deno.mainModule` when there is none.
 *
 * @returns the module URL
 */
export function program_invocation_name(): string {
  return program_invocation_name_deferred()();
}

/**
 * {@linkcode program_invocation_name} of the stack as it is now, worked out
 * when the returned function is first called. `__vm_create()` takes it for
 * every VM, and most never read it (the simulator's vCPUs import the
 * process's image): the capture costs microseconds, the formatted stack a
 * tenth of a millisecond.
 *
 * @returns a function giving the module URL (the same on every call)
 */
export function program_invocation_name_deferred(): () => string {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const here = new Error();
  Error.stackTraceLimit = saved;
  let url: string | undefined;
  return () => url ??= stack_frames(here).find((f) => !is_sdk_frame(f.url))?.url ?? Deno.mainModule;
}

/**
 * C `kvm_vm_elf_load(vm, filename)`: map the image's text and data regions
 * at their fixed GVAs and write the data region (directory and initial values
 * of the guest globals). Code records are written as functions are referenced
 * (see {@linkcode guest_code_gva}).
 *
 * @param vm the VM
 * @param filename the test module's URL, or a function giving it at first use
 *   ({@linkcode program_invocation_name_deferred})
 */
export function kvm_vm_elf_load(vm: kvm_vm, filename: string | (() => string)): void {
  const text = __vm_alloc(vm, IMAGE_TEXT_SIZE, IMAGE_TEXT_GVA, kvm_mem_region_type.MEM_REGION_CODE);
  TEST_ASSERT(
    text === IMAGE_TEXT_GVA,
    "Unable to allocate virtual memory for segment at requested min addr,\n  segment idx: %u\n  seg_vmin: 0x%lx\n  vaddr: 0x%lx",
    0,
    IMAGE_TEXT_GVA,
    text,
  );
  const data_bytes = guest_data_image();
  const data = __vm_alloc(
    vm,
    data_bytes.length,
    IMAGE_DATA_GVA,
    kvm_mem_region_type.MEM_REGION_DATA,
  );
  TEST_ASSERT(
    data === IMAGE_DATA_GVA,
    "Unable to allocate virtual memory for segment at requested min addr,\n  segment idx: %u\n  seg_vmin: 0x%lx\n  vaddr: 0x%lx",
    1,
    IMAGE_DATA_GVA,
    data,
  );
  memcpy_to_guest(vm, data, data_bytes);
  const url = typeof filename === "string" ? () => filename : filename;
  vm.image = {
    get url() {
      return url();
    },
    text,
    text_gpa: addr_gva2gpa(vm, text),
    // Where guest code runs through the guest runtime, its code sits at the top of the text.
    text_size: IMAGE_TEXT_SIZE - (guest_runtime_needed(vm) ? GUEST_RUNTIME_TEXT_RESERVE : 0),
    text_used: 0,
    data,
    data_size: data_bytes.length,
    functions: new Map(),
  };
}

/**
 * The code address of a guest function in `vm`'s image (C: `(u64)guest_code`,
 * which is the same in host and guest): on first reference, its code record
 * is written into the text region. `fn` is a function of the test module
 * (it must be exported, so the vCPU worker can find it) or the name of an SDK
 * guest function (exception stubs, boot code) in the guest-code registry.
 *
 * @param vm the VM
 * @param fn the function, or an SDK guest function's name
 * @returns its GVA
 */
export function guest_code_gva(vm: kvm_vm, fn: guest_code_t | string): gva_t {
  return guest_code_gvas(vm, [fn])[0]!;
}

/**
 * {@linkcode guest_code_gva} of several functions at once, in order: the
 * records not yet placed go into the text region through one host view (the
 * 256 exception stubs of every VM's IDT are placed this way).
 *
 * @param vm the VM
 * @param fns the functions, or SDK guest functions' names
 * @returns their GVAs
 */
export function guest_code_gvas(vm: kvm_vm, fns: readonly (guest_code_t | string)[]): gva_t[] {
  const image = vm.image;
  TEST_ASSERT(image, "The guest image is not loaded (vm_create_barebones() VMs have none)");
  const first = (image.text_used + 15) & ~15;
  const again = batch_layouts.get(fns);
  if (
    again && again.text === image.text && again.first === first &&
    again.used <= image.text_size && fns.every((fn) => !image.functions.has(fn))
  ) {
    // The records, offsets and addresses of the last VM that placed this
    // batch at the same offset: the same bytes at the same places.
    const text = user_memory(addr_gpa2hva(vm, image.text_gpa + BigInt(first)), again.used - first);
    for (let i = 0; i < fns.length; i++) {
      text.set(again.records[i]!, again.offs[i]! - first);
      image.functions.set(fns[i]!, again.gvas[i]!);
    }
    image.text_used = again.used;
    return again.gvas.slice();
  }
  const out: gva_t[] = [];
  // The batch's new functions, offsets and records, in parallel (an IDT is
  // 256 of them per VM). Each goes into `image.functions` at once, so that a
  // repeat in the batch finds it; if the batch fails (a record that does not
  // fit, an unknown name), they come out again: nothing is placed.
  const new_fns: (guest_code_t | string)[] = [];
  const offs: number[] = [];
  const records: Readonly<Uint8Array>[] = [];
  let used = image.text_used;
  let placed_all = false;
  try {
    for (let i = 0; i < fns.length; i++) {
      const fn = fns[i]!;
      const placed = image.functions.get(fn);
      if (placed !== undefined) {
        out.push(placed);
        continue;
      }
      let record: Readonly<Uint8Array>;
      if (typeof fn === "string") {
        // SDK guest functions (exception stubs, boot code) are resolved by their
        // registry name; the record still carries the digest of their source, so the CPU
        // can check it and a TD measures it.
        const sdk_fn = guest_fn_lookup(fn);
        TEST_ASSERT(sdk_fn, "No SDK guest function is registered as '%s'", fn);
        record = guest_code_record_shared(sdk_fn, fn);
      } else {
        record = guest_code_record_shared(fn);
      }
      // 16-byte aligned, as functions are.
      const off = (used + 15) & ~15;
      TEST_ASSERT(
        off + record.length <= image.text_size,
        "Guest image text region full: %u bytes, need %u more",
        image.text_size,
        record.length,
      );
      const gva = image.text + BigInt(off);
      image.functions.set(fn, gva);
      new_fns.push(fn);
      offs.push(off);
      records.push(record);
      used = off + record.length;
      out.push(gva);
    }
    if (new_fns.length > 0) {
      // The loader placed the text in contiguous guest-physical pages of one
      // memslot: the records go there, as an ELF's code sits where it was loaded.
      const text = user_memory(addr_gpa2hva(vm, image.text_gpa + BigInt(first)), used - first);
      for (let i = 0; i < new_fns.length; i++) text.set(records[i]!, offs[i]! - first);
      image.text_used = used;
    }
    placed_all = true;
  } finally {
    if (!placed_all) { for (const fn of new_fns) image.functions.delete(fn); }
  }
  // A batch of distinct functions all placed now is kept for the next VM
  // (every VM places the same 256 exception stubs right after its image).
  if (fns.length >= BATCH_LAYOUT_MIN && new_fns.length === fns.length) {
    batch_layouts.set(fns, { text: image.text, first, used, offs, records, gvas: out.slice() });
  }
  return out;
}

/** Batches smaller than this are placed one by one each time. */
const BATCH_LAYOUT_MIN = 16;

/**
 * The last placement of a batch (by the identity of its function list): a
 * pure function of the records, which a function's source fixes, and of
 * where the text starts, which the cache checks.
 */
const batch_layouts = new WeakMap<readonly (guest_code_t | string)[], {
  readonly text: gva_t;
  readonly first: number;
  readonly used: number;
  readonly offs: readonly number[];
  readonly records: readonly Readonly<Uint8Array>[];
  readonly gvas: readonly gva_t[];
}>();
