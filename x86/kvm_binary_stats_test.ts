// SPDX-License-Identifier: GPL-2.0-only
/**
 * Test the fd-based interface for KVM statistics: port of
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

  // Read kvm stats header
  read_stats_header(stats_fd, header);

  const size_desc = get_stats_descriptor_size(header);

  // Read kvm stats id string
  const id = new Uint8Array(header.name_size);

  const ret = pread(stats_fd, id, header.name_size, kvm_stats_header.size);
  TEST_ASSERT(
    ret === header.name_size,
    "Expected header size '%u', read '%lu' bytes",
    header.name_size,
    ret,
  );

  // Check id string, that should start with "kvm"
  const id_s = c_string(id);
  TEST_ASSERT(
    id_s.str.startsWith("kvm") && id_s.len < header.name_size,
    "Invalid KVM stats type, id: %s",
    id_s.str,
  );

  // Sanity check for other fields in header
  if (header.num_desc === 0) {
    ksft_print_msg("No KVM stats defined!\n");
    return;
  }
  // The descriptor and data offsets must be valid, they must not overlap
  // the header, and the descriptor and data blocks must not overlap each
  // other.  Note, the data block is rechecked after its size is known.
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

  // Read kvm stats descriptors
  const stats_desc = read_stats_descriptors(stats_fd, header);

  const name_of = (pdesc: View<typeof kvm_stats_desc.fields>) =>
    c_string(pdesc.name.$bytes.subarray(0, header.name_size));

  // Sanity check for fields in descriptors
  for (let i = 0; i < header.num_desc; ++i) {
    const pdesc = get_stats_descriptor(stats_desc, i, header);
    const type = pdesc.flags & KVM_STATS_TYPE_MASK;
    const unit = pdesc.flags & KVM_STATS_UNIT_MASK;
    const base = pdesc.flags & KVM_STATS_BASE_MASK;
    const name = name_of(pdesc);

    // Check name string
    TEST_ASSERT(name.len < header.name_size, "KVM stats name (index: %d) too long", i);

    // Check type,unit,base boundaries
    TEST_ASSERT(type <= KVM_STATS_TYPE_MAX, "Unknown KVM stats (%s) type: %u", name.str, type);
    TEST_ASSERT(unit <= KVM_STATS_UNIT_MAX, "Unknown KVM stats (%s) unit: %u", name.str, unit);
    TEST_ASSERT(base <= KVM_STATS_BASE_MAX, "Unknown KVM stats (%s) base: %u", name.str, base);

    // Check exponent for stats unit
    // Exponent for counter should be greater than or equal to 0
    // Exponent for unit bytes should be greater than or equal to 0
    // Exponent for unit seconds should be less than or equal to 0
    // Exponent for unit clock cycles should be greater than or
    // equal to 0
    // Exponent for unit boolean should be 0
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

    // Check size field, which should not be zero
    TEST_ASSERT(pdesc.size, "KVM descriptor(%s) with size of 0", name.str);
    // Check bucket_size field
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

  // Now that the size of the data block is known, verify the data block
  // doesn't overlap the descriptor block.
  TEST_ASSERT(
    header.data_offset >= header.desc_offset ||
      header.data_offset + size_data <= header.desc_offset,
    "Data block is overlapped with Descriptor block",
  );

  // Check validity of all stats data size
  TEST_ASSERT(size_data >= header.num_desc * 8, "Data size is not correct");

  // Allocate memory for stats data
  const stats_data = new BigUint64Array(size_data / 8);
  // Read kvm stats data as a bulk
  const r = pread(stats_fd, stats_data, size_data, header.data_offset);
  TEST_ASSERT(r === size_data, "Read KVM stats data");
  // Read kvm stats data one by one
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

// Usage: kvm_bin_form_stats [#vm] [#vcpu]
// The first parameter #vm set the number of VMs being created.
// The second parameter #vcpu set the number of VCPUs being created.
// By default, DEFAULT_NUM_VM VM and DEFAULT_NUM_VCPU VCPU for the VM would be
// created for testing.
function main(argc: number, argv: string[]): number {
  let max_vm = DEFAULT_NUM_VM;
  let max_vcpu = DEFAULT_NUM_VCPU;

  // Get the number of VMs and VCPUs that would be created for testing.
  if (argc > 1) {
    max_vm = strtol0(argv[1]!);
    if (max_vm <= 0) max_vm = DEFAULT_NUM_VM;
  }
  if (argc > 2) {
    max_vcpu = strtol0(argv[2]!);
    if (max_vcpu <= 0) max_vcpu = DEFAULT_NUM_VCPU;
  }

  ksft_print_header();

  // Check the extension for binary stats
  TEST_REQUIRE(kvm_has_cap(KVM_CAP_BINARY_STATS_FD));

  ksft_set_plan(max_vm);

  // Create VMs and VCPUs
  const vms: kvm_vm[] = [];
  const vcpus: kvm_vcpu[] = [];

  for (let i = 0; i < max_vm; ++i) {
    vms[i] = vm_create_barebones();
    for (let j = 0; j < max_vcpu; ++j) vcpus[i * max_vcpu + j] = __vm_vcpu_add(vms[i]!, j);
  }

  // Check stats read for every VM and VCPU
  for (let i = 0; i < max_vm; ++i) {
    vm_stats_test(vms[i]!);
    for (let j = 0; j < max_vcpu; ++j) vcpu_stats_test(vcpus[i * max_vcpu + j]!);
    ksft_test_result_pass("vm%i\n", i);
  }

  for (let i = 0; i < max_vm; ++i) kvm_vm_free(vms[i]!);

  ksft_finished(); // Print results and exit() accordingly
}

await ksft_main(import.meta, main);
