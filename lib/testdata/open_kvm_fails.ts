// SPDX-License-Identifier: GPL-2.0-only
/**
 * A program whose `/dev/kvm` cannot be opened: the `kvm` backend, except that
 * `open("/dev/kvm")` fails with the errno given as the argument, as it does for
 * a user without access (EACCES) or a host without KVM (ENOENT). It then does
 * what most selftests do first, `kvm_check_cap()`, which must skip the program.
 * Run by `lib/open_kvm_skip_test.ts`.
 *
 * @module
 */

import { load_backend, set_backend } from "../../include/libc/backend.ts";

const errno = Number(Deno.args[0]);
const kvm = await load_backend("kvm");
// Set before syscall.ts loads (imported below), so init_backend() keeps it.
set_backend({
  ...kvm,
  open: (path, flags, mode) => path === "/dev/kvm" ? -errno : kvm.open(path, flags, mode),
});
const { kvm_check_cap } = await import("../kvm_util.ts");
const { KVM_CAP_MAX_VCPU_ID } = await import("../../include/linux/kvm.ts");
kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
console.log("not reached: kvm_check_cap() returned");
