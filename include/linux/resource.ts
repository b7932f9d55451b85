// SPDX-License-Identifier: GPL-2.0-only
/**
 * `<linux/resource.h>`: the resource limits selftests raise
 * (`kvm_create_max_vcpus` needs one descriptor per vCPU).
 *
 * @module
 */

/** `RLIMIT_NOFILE`: the number of open file descriptors. */
export const RLIMIT_NOFILE = 7;

/** `RLIM_INFINITY`. */
export const RLIM_INFINITY: bigint = 0xffff_ffff_ffff_ffffn;
