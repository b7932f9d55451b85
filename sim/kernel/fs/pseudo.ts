// SPDX-License-Identifier: GPL-2.0-only
/**
 * The few read-only sysfs and procfs files selftests read to learn how KVM
 * is configured (`/sys/module/kvm*\/parameters/*`), with the values of the
 * simulated `kvm` / `kvm_intel` modules. Reads go through `copy_to_user()`
 * and follow the file position, as `seq_file` reads do.
 *
 * @module
 */

import { EFAULT } from "../../../include/linux/errno.ts";
import { current } from "../include/linux/sched.ts";
import { file, type file_operations } from "./file.ts";

/** The files and their contents. */
export const pseudo_files: ReadonlyMap<string, string> = new Map([
  ["/sys/module/kvm/parameters/halt_poll_ns", "200000\n"],
  ["/sys/module/kvm/parameters/enable_pmu", "N\n"],
  ["/sys/module/kvm/parameters/tdp_mmu", "Y\n"],
  ["/sys/module/kvm/parameters/ignore_msrs", "N\n"],
  ["/sys/module/kvm/parameters/eager_page_split", "Y\n"],
  // No instruction emulator to force: the prefix is off, as on a default kvm.
  ["/sys/module/kvm/parameters/force_emulation_prefix", "0\n"],
  ["/sys/module/kvm_intel/parameters/ept", "Y\n"],
  ["/sys/module/kvm_intel/parameters/unrestricted_guest", "Y\n"],
  ["/sys/module/kvm_intel/parameters/nested", "N\n"],
  ["/sys/module/kvm_intel/parameters/enable_apicv", "N\n"],
  ["/sys/module/kvm_intel/parameters/tdx", "N\n"],
]);

const pseudo_fops: file_operations = {
  name: "sysfs",
  read(filp: file, buf: bigint, count: bigint): bigint {
    const st = filp.private_data as { data: Uint8Array; pos: number };
    const n = Math.min(Number(count > 1n << 30n ? 1n << 30n : count), st.data.length - st.pos);
    if (n <= 0) return 0n;
    if (current.mm.copy_to_user(buf, st.data.subarray(st.pos, st.pos + n))) return BigInt(-EFAULT);
    st.pos += n;
    return BigInt(n);
  },
  size(): bigint {
    return 4096n;
  },
};

/** Opens one of {@linkcode pseudo_files}, or returns null. */
export function open_pseudo_file(path: string, flags: number): file | null {
  const s = pseudo_files.get(path);
  if (s === undefined) return null;
  return new file(pseudo_fops, { data: new TextEncoder().encode(s), pos: 0 }, flags);
}
