// SPDX-License-Identifier: GPL-2.0-only
/**
 * Coalesced MMIO and PIO: port of
 * `tools/testing/selftests/kvm/coalesced_io_test.c` (upstream keeps this
 * generic test at the top level; the SDK keeps every program in `x86/`, and
 * takes its x86 paths: PIO zones are tested).
 *
 * For each start position of the ring, the guest fills all but one entry
 * with alternating 8-byte MMIO writes and 4-byte OUTs to registered zones;
 * the write after that finds the ring full and exits to userspace, and the
 * host checks the exit and every queued entry. A ucall must still exit at
 * once, and writes to zones unregistered again must exit too.
 *
 * What differs from C: `struct kvm_coalesced_io` is a `guest_global`
 * (`sync_global_to_guest()` as in C) whose address the guest receives as
 * its argument; the guest reads the fields through that pointer once, at
 * entry (C reads `io->...` in the loop; nothing changes them while it runs).
 * The ring is a view of the vCPU mapping at the page
 * `KVM_CAP_COALESCED_MMIO` names, as C computes it.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  get_ucall,
  getpagesize,
  guest_global,
  GUEST_SYNC,
  kvm_check_cap,
  kvm_has_cap,
  type kvm_vcpu,
  kvm_vm_free,
  kvm_vm_register_coalesced_io,
  kvm_vm_unregister_coalesced_io,
  readb,
  readl,
  readq,
  ref,
  sync_global_to_guest,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_REQUIRE,
  TEST_REQUIRE_GUEST_CODE,
  UCALL_SYNC,
  vcpu_io_data,
  vcpu_mmio_data,
  vcpu_run,
  virt_map,
  vm_create_with_one_vcpu,
  writeq,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_COALESCED_MMIO,
  KVM_CAP_COALESCED_PIO,
  kvm_coalesced_mmio,
  kvm_coalesced_mmio_ring,
  KVM_EXIT_IO,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_MMIO,
} from "../include/linux/kvm.ts";
import { offsetof, struct, u32, u64, u8, type View } from "../include/c/layout.ts";
import { user_memory } from "../include/libc/syscall.ts";
import { outl, vcpu_args_set } from "../include/x86/processor.ts";

const SZ_1G = 1n << 30n;

/** `struct kvm_coalesced_io`. */
const kvm_coalesced_io = struct("kvm_coalesced_io", {
  ring: u64, // struct kvm_coalesced_mmio_ring *
  ring_size: u32,
  mmio_gpa: u64,
  mmio: u64, // uint64_t *
  // Port I/O exists only on x86; upstream still keeps the field on every
  // arch so its failure messages can always print it.
  pio_port: u8,
});

const kvm_builtin_io_ring = guest_global("kvm_builtin_io_ring", kvm_coalesced_io);

const has_pio = 1;

/** Guest entry point: `io` is `&kvm_builtin_io_ring`. */
export function guest_code(io: bigint): void {
  const ring_size = readl(io + BigInt(offsetof(kvm_coalesced_io, "ring_size")));
  const mmio_gpa = readq(io + BigInt(offsetof(kvm_coalesced_io, "mmio_gpa")));
  const mmio = readq(io + BigInt(offsetof(kvm_coalesced_io, "mmio")));
  const pio_port = readb(io + BigInt(offsetof(kvm_coalesced_io, "pio_port")));
  let i = 0;

  for (;;) {
    for (let j = 0; j < 1 + has_pio; j++) {
      // The ring counts as full with one slot still empty, so only
      // ring_size - 1 writes are queued before KVM exits.
      for (i = 0; i < ring_size - 1; i++) {
        if (i & 1) outl(pio_port, pio_port + i);
        else writeq(mmio_gpa + BigInt(i), mmio);
      }
      if (j & 1) outl(pio_port, pio_port + i);
      else writeq(mmio_gpa + BigInt(i), mmio);
    }
    GUEST_SYNC(0);

    writeq(mmio_gpa + BigInt(i), mmio);
    outl(pio_port, pio_port + i);
  }
}

type io_view = View<typeof kvm_coalesced_io.fields>;
type ring_view = View<typeof kvm_coalesced_mmio_ring.fields>;

/** `io->ring`: the ring in the vCPU mapping. */
function ring_of(io: io_view): ring_view {
  return kvm_coalesced_mmio_ring.view(user_memory(io.ring, getpagesize()));
}

function vcpu_run_and_verify_io_exit(
  vcpu: kvm_vcpu,
  io: io_view,
  ring_start: number,
  expected_exit: number,
): void {
  const want_pio = expected_exit === KVM_EXIT_IO;
  const ring = ring_of(io);
  const run = vcpu.run;
  let pio_value: number;

  ring.first = ring_start;
  ring.last = ring_start;

  vcpu_run(vcpu);

  // io.data_offset shares a union with the MMIO exit fields, so it only
  // means something on a KVM_EXIT_IO exit.
  if (run.exit_reason === KVM_EXIT_IO) pio_value = vcpu_io_data(vcpu).getUint32(0, true);
  else pio_value = 0;

  const mmio_data = vcpu_mmio_data(vcpu).getBigUint64(0, true);
  TEST_ASSERT(
    (!want_pio && (run.exit_reason === KVM_EXIT_MMIO && run.mmio.is_write &&
      run.mmio.phys_addr === io.mmio_gpa && run.mmio.len === 8 &&
      mmio_data === io.mmio_gpa + BigInt(io.ring_size) - 1n)) ||
      (want_pio && (run.exit_reason === KVM_EXIT_IO && run.io.port === io.pio_port &&
        run.io.direction === KVM_EXIT_IO_OUT && run.io.count === 1 &&
        pio_value === io.pio_port + io.ring_size - 1)),
    "For start = %u, expected exit on %u-byte %s write 0x%llx = %lx, got exit_reason = %u (%s)\n  " +
      "(MMIO addr = 0x%llx, write = %u, len = %u, data = %lx)\n  " +
      "(PIO port = 0x%x, write = %u, len = %u, count = %u, data = %x",
    ring_start,
    want_pio ? 4 : 8,
    want_pio ? "PIO" : "MMIO",
    want_pio ? BigInt(io.pio_port) : io.mmio_gpa,
    (want_pio ? BigInt(io.pio_port) : io.mmio_gpa) + BigInt(io.ring_size) - 1n,
    run.exit_reason,
    run.exit_reason === KVM_EXIT_MMIO ? "MMIO" : run.exit_reason === KVM_EXIT_IO ? "PIO" : "other",
    run.mmio.phys_addr,
    run.mmio.is_write,
    run.mmio.len,
    mmio_data,
    run.io.port,
    run.io.direction,
    run.io.size,
    run.io.count,
    pio_value,
  );
}

function vcpu_run_and_verify_coalesced_io(
  vcpu: kvm_vcpu,
  io: io_view,
  ring_start: number,
  expected_exit: number,
): void {
  const ring = ring_of(io);

  vcpu_run_and_verify_io_exit(vcpu, io, ring_start, expected_exit);

  TEST_ASSERT(
    (ring.last + 1) % io.ring_size === ring.first,
    "Expected ring to be full (minus 1), first = %u, last = %u, max = %u, start = %u",
    ring.first,
    ring.last,
    io.ring_size,
    ring_start,
  );

  for (let i = 0; i < io.ring_size - 1; i++) {
    const idx = (ring.first + i) % io.ring_size;
    const entry = ring.coalesced_mmio.at(idx);
    const data = new DataView(entry.data.$bytes.buffer, entry.data.$bytes.byteOffset, 8);

    if (i & 1) {
      TEST_ASSERT(
        entry.phys_addr === BigInt(io.pio_port) &&
          entry.len === 4 && entry.pio &&
          data.getUint32(0, true) === io.pio_port + i,
        "Wanted 4-byte port I/O 0x%x = 0x%x in entry %u, got %u-byte %s 0x%llx = 0x%x",
        io.pio_port,
        io.pio_port + i,
        i,
        entry.len,
        entry.pio ? "PIO" : "MMIO",
        entry.phys_addr,
        data.getUint32(0, true),
      );
    } else {
      TEST_ASSERT(
        entry.phys_addr === io.mmio_gpa &&
          entry.len === 8 && !entry.pio,
        "Wanted 8-byte MMIO to 0x%lx = %lx in entry %u, got %u-byte %s 0x%llx = 0x%lx",
        io.mmio_gpa,
        io.mmio_gpa + BigInt(i),
        i,
        entry.len,
        entry.pio ? "PIO" : "MMIO",
        entry.phys_addr,
        data.getBigUint64(0, true),
      );
    }
  }
}

function test_coalesced_io(vcpu: kvm_vcpu, io: io_view, ring_start: number): void {
  const ring = ring_of(io);

  kvm_vm_register_coalesced_io(vcpu.vm, io.mmio_gpa, 8, false /* pio */);
  kvm_vm_register_coalesced_io(vcpu.vm, BigInt(io.pio_port), 8, true /* pio */);

  vcpu_run_and_verify_coalesced_io(vcpu, io, ring_start, KVM_EXIT_MMIO);
  vcpu_run_and_verify_coalesced_io(vcpu, io, ring_start, KVM_EXIT_IO);

  // The ucall's MMIO/PIO write is outside the coalesced zones: it must
  // exit at once and leave the ring untouched.
  ring.first = ring_start;
  ring.last = ring_start;
  vcpu_run(vcpu);
  TEST_ASSERT_EQ(get_ucall(vcpu, null), UCALL_SYNC);
  TEST_ASSERT_EQ(ring.first, ring_start);
  TEST_ASSERT_EQ(ring.last, ring_start);

  // Once a zone is unregistered, each write to it exits by itself.
  kvm_vm_unregister_coalesced_io(vcpu.vm, io.mmio_gpa, 8, false /* pio */);
  vcpu_run_and_verify_io_exit(vcpu, io, ring_start, KVM_EXIT_MMIO);

  kvm_vm_unregister_coalesced_io(vcpu.vm, BigInt(io.pio_port), 8, true /* pio */);
  vcpu_run_and_verify_io_exit(vcpu, io, ring_start, KVM_EXIT_IO);
}

function main(): number {
  TEST_REQUIRE(kvm_has_cap(KVM_CAP_COALESCED_MMIO));
  TEST_REQUIRE(kvm_has_cap(KVM_CAP_COALESCED_PIO));
  TEST_REQUIRE_GUEST_CODE();

  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, guest_code);

  const io = kvm_coalesced_io.alloc();
  // KVM maps its ring page inside the vCPU mmap; the value of
  // KVM_CAP_COALESCED_MMIO is that page's index from kvm_run.
  io.ring = vcpu.value.run_hva + BigInt(kvm_check_cap(KVM_CAP_COALESCED_MMIO) * getpagesize());
  // The ring fills one host page, so the number of entries follows
  // the host's page size and is computed at run time.
  io.ring_size = Math.floor(
    (getpagesize() - kvm_coalesced_mmio_ring.size) / kvm_coalesced_mmio.size,
  );
  // Any port and any GPA outside the memslots would do; the guest
  // reaches that GPA through an identity mapping.
  io.mmio_gpa = 4n * SZ_1G;
  io.mmio = 4n * SZ_1G;
  io.pio_port = 0x80;
  kvm_builtin_io_ring.value = io;

  virt_map(vm, kvm_builtin_io_ring.value.mmio, kvm_builtin_io_ring.value.mmio_gpa, 1);

  sync_global_to_guest(vm, kvm_builtin_io_ring);
  vcpu_args_set(vcpu.value, 1, kvm_builtin_io_ring.gva);

  for (let i = 0; i < io.ring_size; i++) test_coalesced_io(vcpu.value, io, i);

  kvm_vm_free(vm);
  return 0;
}

await ksft_main(import.meta, main);
