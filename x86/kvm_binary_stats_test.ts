// SPDX-License-Identifier: GPL-2.0-only
/**
 * Reads and sanity-checks the binary stats fds (KVM_GET_STATS_FD) of
 * several VMs and their vCPUs: port of
 * `tools/testing/selftests/kvm/kvm_binary_stats_test.c` (upstream keeps this
 * generic test at the top level; the SDK keeps every program in `x86/`).
 *
 * Copyright (C) 2021, Google LLC.
 *
 * What differs from C: `fcntl(stats_fd, F_GETFD) == -1` ("the fd was
 * freed") is `fstat()` failing on it, as `fcntl()` is not at the syscall
 * boundary; descriptors are views into the bytes `read_stats_descriptors()`
 * returns.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  ksft_finished,
  ksft_print_header,
  ksft_print_msg,
  ksft_set_plan,
  ksft_test_result_pass,
} from "../include/kselftest.ts";
import {
  __vm_vcpu_add,
  get_stats_descriptor,
  get_stats_descriptor_size,
  kvm_has_cap,
  type kvm_vcpu,
  type kvm_vm,
  kvm_vm_free,
  read_stat_data,
  read_stats_descriptors,
  read_stats_header,
  TEST_ASSERT,
  TEST_REQUIRE,
  vcpu_get_stats_fd,
  vm_create_barebones,
  vm_get_stats_fd,
} from "../include/kvm_util.ts";
import {
  KVM_CAP_BINARY_STATS_FD,
  KVM_STATS_BASE_MASK,
  KVM_STATS_BASE_MAX,
  type kvm_stats_desc,
  kvm_stats_header,
  KVM_STATS_TYPE_LINEAR_HIST,
  KVM_STATS_TYPE_MASK,
  KVM_STATS_TYPE_MAX,
  KVM_STATS_UNIT_BOOLEAN,
  KVM_STATS_UNIT_BYTES,
  KVM_STATS_UNIT_CYCLES,
  KVM_STATS_UNIT_MASK,
  KVM_STATS_UNIT_MAX,
  KVM_STATS_UNIT_NONE,
  KVM_STATS_UNIT_SECONDS,
} from "../include/linux/kvm.ts";
import { close, fstat, pread } from "../include/libc/syscall.ts";
import { stat } from "../include/asm/stat.ts";
import type { View } from "../include/c/layout.ts";

/** C `strlen()` of a NUL-terminated byte array, and the string itself. */
function c_string(bytes: Uint8Array): { len: number; str: string } {
  const nul = bytes.indexOf(0);
  const len = nul < 0 ? bytes.length : nul;
  return { len, str: new TextDecoder().decode(bytes.subarray(0, len)) };
}

function stats_test(stats_fd: number): void {
  let size_data = 0;
  const header = kvm_stats_header.alloc();

  // Header first: it sizes and locates everything else.
  read_stats_header(stats_fd, header);

  const size_desc = get_stats_descriptor_size(header);

  // The id string sits right after the header.
  const id = new Uint8Array(header.name_size);

  const ret = pread(stats_fd, id, header.name_size, kvm_stats_header.size);
  TEST_ASSERT(
    ret === header.name_size,
    "Expected header size '%u', read '%lu' bytes",
    header.name_size,
    ret,
  );

  // KVM names every stats fd "kvm-..." and NUL-terminates the id.
  const id_s = c_string(id);
  TEST_ASSERT(
    id_s.str.startsWith("kvm") && id_s.len < header.name_size,
    "Invalid KVM stats type, id: %s",
    id_s.str,
  );

  // A header without descriptors leaves nothing to check.
  if (header.num_desc === 0) {
    ksft_print_msg("No KVM stats defined!\n");
    return;
  }
  // Both blocks must start past the header and not run into each other;
  // the data block's end is only known later, so it is checked again below.
  TEST_ASSERT(
    header.desc_offset && header.desc_offset >= kvm_stats_header.size &&
      header.data_offset && header.data_offset >= kvm_stats_header.size,
    "Invalid offset fields in header",
  );

  TEST_ASSERT(
    header.desc_offset > header.data_offset ||
      header.desc_offset + size_desc * header.num_desc <= header.data_offset,
    "Descriptor block is overlapped with data block",
  );

  // One pread of all num_desc descriptors.
  const stats_desc = read_stats_descriptors(stats_fd, header);

  const name_of = (pdesc: View<typeof kvm_stats_desc.fields>) =>
    c_string(pdesc.name.$bytes.subarray(0, header.name_size));

  // Every descriptor must use only values KVM defines.
  for (let i = 0; i < header.num_desc; ++i) {
    const pdesc = get_stats_descriptor(stats_desc, i, header);
    const type = pdesc.flags & KVM_STATS_TYPE_MASK;
    const unit = pdesc.flags & KVM_STATS_UNIT_MASK;
    const base = pdesc.flags & KVM_STATS_BASE_MASK;
    const name = name_of(pdesc);

    // name_size includes the terminating NUL.
    TEST_ASSERT(name.len < header.name_size, "KVM stats name (index: %d) too long", i);

    // type, unit and base are enums packed into flags.
    TEST_ASSERT(type <= KVM_STATS_TYPE_MAX, "Unknown KVM stats (%s) type: %u", name.str, type);
    TEST_ASSERT(unit <= KVM_STATS_UNIT_MAX, "Unknown KVM stats (%s) unit: %u", name.str, unit);
    TEST_ASSERT(base <= KVM_STATS_BASE_MAX, "Unknown KVM stats (%s) base: %u", name.str, base);

    // Scale rules per unit: plain counts, bytes and cycles never use a
    // negative power, times are in seconds or fractions of one, and a
    // boolean has no scale at all.
    switch (pdesc.flags & KVM_STATS_UNIT_MASK) {
      case KVM_STATS_UNIT_NONE:
      case KVM_STATS_UNIT_BYTES:
      case KVM_STATS_UNIT_CYCLES:
        TEST_ASSERT(
          pdesc.exponent >= 0,
          "Unsupported KVM stats (%s) exponent: %i",
          name.str,
          pdesc.exponent,
        );
        break;
      case KVM_STATS_UNIT_SECONDS:
        TEST_ASSERT(
          pdesc.exponent <= 0,
          "Unsupported KVM stats (%s) exponent: %i",
          name.str,
          pdesc.exponent,
        );
        break;
      case KVM_STATS_UNIT_BOOLEAN:
        TEST_ASSERT(
          pdesc.exponent === 0,
          "Unsupported KVM stats (%s) exponent: %d",
          name.str,
          pdesc.exponent,
        );
        break;
    }

    // Each stat holds at least one u64.
    TEST_ASSERT(pdesc.size, "KVM descriptor(%s) with size of 0", name.str);
    // Only linear histograms have a bucket width.
    switch (pdesc.flags & KVM_STATS_TYPE_MASK) {
      case KVM_STATS_TYPE_LINEAR_HIST:
        TEST_ASSERT(
          pdesc.bucket_size,
          "Bucket size of Linear Histogram stats (%s) is zero",
          name.str,
        );
        break;
      default:
        TEST_ASSERT(!pdesc.bucket_size, "Bucket size of stats (%s) is not zero", name.str);
    }
    size_data = Math.max(size_data, pdesc.offset + pdesc.size * 8);
  }

  // With the data block's length now summed up, it must end before the
  // descriptors begin (when it comes first).
  TEST_ASSERT(
    header.data_offset >= header.desc_offset ||
      header.data_offset + size_data <= header.desc_offset,
    "Data block is overlapped with Descriptor block",
  );

  // Each descriptor owns at least one u64 of data.
  TEST_ASSERT(size_data >= header.num_desc * 8, "Data size is not correct");

  // Room for the whole data block.
  const stats_data = new BigUint64Array(size_data / 8);
  // The whole block in one read ...
  const r = pread(stats_fd, stats_data, size_data, header.data_offset);
  TEST_ASSERT(r === size_data, "Read KVM stats data");
  // ... then each stat by its own offset and size.
  for (let i = 0; i < header.num_desc; ++i) {
    const pdesc = get_stats_descriptor(stats_desc, i, header);
    read_stat_data(stats_fd, header, pdesc, stats_data, pdesc.size);
  }
}

/** C `fcntl(fd, F_GETFD) == -1`: the descriptor is no longer open. */
function fd_is_closed(fd: number): boolean {
  return fstat(fd, stat.alloc()) === -1;
}

function vm_stats_test(vm: kvm_vm): void {
  const stats_fd = vm_get_stats_fd(vm);

  stats_test(stats_fd);
  close(stats_fd);
  TEST_ASSERT(fd_is_closed(stats_fd), "Stats fd not freed");
}

function vcpu_stats_test(vcpu: kvm_vcpu): void {
  const stats_fd = vcpu_get_stats_fd(vcpu);

  stats_test(stats_fd);
  close(stats_fd);
  TEST_ASSERT(fd_is_closed(stats_fd), "Stats fd not freed");
}

const DEFAULT_NUM_VM = 4;
const DEFAULT_NUM_VCPU = 4;

/** C `strtol(s, NULL, 0)` for the argument forms upstream takes. */
function strtol0(s: string): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return 0;
  const d = m[2]!;
  const v = /^0[xX]/.test(d)
    ? parseInt(d, 16)
    : d.length > 1 && d[0] === "0"
    ? parseInt(d, 8)
    : parseInt(d, 10);
  return m[1] === "-" ? -v : v;
}

// Arguments: [#vm] [#vcpu], the VM count and the vCPUs per VM; a missing or
// non-positive value falls back to DEFAULT_NUM_VM / DEFAULT_NUM_VCPU.
function main(argc: number, argv: string[]): number {
  let max_vm = DEFAULT_NUM_VM;
  let max_vcpu = DEFAULT_NUM_VCPU;

  // strtol(..., 0) semantics: hex and octal forms are accepted.
  if (argc > 1) {
    max_vm = strtol0(argv[1]!);
    if (max_vm <= 0) max_vm = DEFAULT_NUM_VM;
  }
  if (argc > 2) {
    max_vcpu = strtol0(argv[2]!);
    if (max_vcpu <= 0) max_vcpu = DEFAULT_NUM_VCPU;
  }

  ksft_print_header();

  // KVM_CAP_BINARY_STATS_FD gates KVM_GET_STATS_FD.
  TEST_REQUIRE(kvm_has_cap(KVM_CAP_BINARY_STATS_FD));

  ksft_set_plan(max_vm);

  // All VMs and vCPUs exist before any stats fd is read.
  const vms: kvm_vm[] = [];
  const vcpus: kvm_vcpu[] = [];

  for (let i = 0; i < max_vm; ++i) {
    vms[i] = vm_create_barebones();
    for (let j = 0; j < max_vcpu; ++j) vcpus[i * max_vcpu + j] = __vm_vcpu_add(vms[i]!, j);
  }

  // One TAP result per VM, covering it and its vCPUs.
  for (let i = 0; i < max_vm; ++i) {
    vm_stats_test(vms[i]!);
    for (let j = 0; j < max_vcpu; ++j) vcpu_stats_test(vcpus[i * max_vcpu + j]!);
    ksft_test_result_pass("vm%i\n", i);
  }

  for (let i = 0; i < max_vm; ++i) kvm_vm_free(vms[i]!);

  ksft_finished(); // exit status follows the TAP tallies
}

await ksft_main(import.meta, main);
