// SPDX-License-Identifier: GPL-2.0-only
// A guest image whose top-level code makes a system call: in a vCPU worker
// that must fail the image load with the reason, and never reach a kernel.
import { open } from "../../include/libc/syscall.ts";
import { O_RDWR } from "../../include/linux/fcntl.ts";

/** The fd the top-level code got (never reached in a vCPU worker). */
export const kvm_fd: number = open("/dev/kvm", O_RDWR);

/** A guest function, so that the module is a plausible image. */
export function guest_nothing(): void {}
