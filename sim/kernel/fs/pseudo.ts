// SPDX-License-Identifier: GPL-2.0-only
/**
 * The few sysfs and procfs files selftests read to learn how KVM is
 * configured (`/sys/module/kvm*\/parameters/*`), with the values of the
 * simulated `kvm` / `kvm_intel` modules. They are read-only except
 * `kvm.force_emulation_prefix`, which root may write as on Linux (0644).
 * Reads go through `copy_to_user()` and follow the file position, as
 * `seq_file` reads do.
 *
 * @module
 */

import { EFAULT, EINVAL, ERANGE } from "../../../include/linux/errno.ts";
import { force_emulation_prefix, set_force_emulation_prefix } from "../arch/x86/kvm/vmx/vmx.ts";
import { current } from "../include/linux/sched.ts";
import { file, type file_operations } from "./file.ts";

/** The files and their contents. */
export const pseudo_files: ReadonlyMap<string, string> = new Map([
  ["/sys/module/kvm/parameters/halt_poll_ns", "200000\n"],
  ["/sys/module/kvm/parameters/enable_pmu", "N\n"],
  ["/sys/module/kvm/parameters/tdp_mmu", "Y\n"],
  ["/sys/module/kvm/parameters/ignore_msrs", "N\n"],
  ["/sys/module/kvm/parameters/eager_page_split", "Y\n"],
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

/** The writable parameter (0644): off by default, as on a default kvm. */
const FEP_PATH = "/sys/module/kvm/parameters/force_emulation_prefix";

const fep_fops: file_operations = {
  ...pseudo_fops,
  name: "sysfs",
  /** `param_set_int()`: `kstrtoint()` of the text (sign, 0x/0 prefixes, one newline). */
  write(_filp: file, buf: bigint, count: bigint): bigint {
    const n = Number(count > 64n ? 64n : count);
    const bytes = new Uint8Array(n);
    if (current.mm.copy_from_user(bytes, buf, n)) return BigInt(-EFAULT);
    const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\n?$/.exec(
      new TextDecoder().decode(bytes),
    );
    if (!m) return BigInt(-EINVAL);
    const digits = m[2]!;
    const v = /^0[xX]/.test(digits)
      ? parseInt(digits.slice(2), 16)
      : digits.length > 1
      ? parseInt(digits.slice(1), 8)
      : parseInt(digits, 10);
    const signed = m[1] === "-" ? -v : v;
    if (signed < -0x80000000 || signed > 0x7fffffff) return BigInt(-ERANGE);
    set_force_emulation_prefix(signed);
    return count;
  },
};

/** Opens one of {@linkcode pseudo_files}, or returns null. */
export function open_pseudo_file(path: string, flags: number): file | null {
  if (path === FEP_PATH) {
    const text = `${force_emulation_prefix}\n`;
    return new file(fep_fops, { data: new TextEncoder().encode(text), pos: 0 }, flags);
  }
  const s = pseudo_files.get(path);
  if (s === undefined) return null;
  return new file(pseudo_fops, { data: new TextEncoder().encode(s), pos: 0 }, flags);
}
