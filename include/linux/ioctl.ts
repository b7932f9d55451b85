// SPDX-License-Identifier: GPL-2.0-only
/**
 * ioctl request numbers, as `<linux/ioctl.h>` (asm-generic layout, which
 * x86 uses) encodes them: direction, size, type and number packed in 32 bits.
 *
 * ```ts
 * import { _IOW, _IOC_SIZE } from "./ioctl.ts";
 * import { kvm_userspace_memory_region } from "./kvm.ts";
 * const KVM_SET_USER_MEMORY_REGION = _IOW(0xae, 0x46, kvm_userspace_memory_region);
 * _IOC_SIZE(KVM_SET_USER_MEMORY_REGION); // 32
 * ```
 *
 * Results are non-negative numbers (`0xc008aeba`, not a negative int), the
 * value a C `unsigned long` request holds.
 *
 * @module
 */

import type { CType } from "../c/layout.ts";

/** Bits of the command number. */
export const _IOC_NRBITS = 8;
/** Bits of the type (the driver's magic, `KVMIO` for KVM). */
export const _IOC_TYPEBITS = 8;
/** Bits of the argument size. */
export const _IOC_SIZEBITS = 14;
/** Bits of the direction. */
export const _IOC_DIRBITS = 2;

/** Mask of the command number, once shifted down. */
export const _IOC_NRMASK: number = (1 << _IOC_NRBITS) - 1;
/** Mask of the type, once shifted down. */
export const _IOC_TYPEMASK: number = (1 << _IOC_TYPEBITS) - 1;
/** Mask of the size, once shifted down. */
export const _IOC_SIZEMASK: number = (1 << _IOC_SIZEBITS) - 1;
/** Mask of the direction, once shifted down. */
export const _IOC_DIRMASK: number = (1 << _IOC_DIRBITS) - 1;

/** Where the command number starts. */
export const _IOC_NRSHIFT = 0;
/** Where the type starts. */
export const _IOC_TYPESHIFT: number = _IOC_NRSHIFT + _IOC_NRBITS;
/** Where the size starts. */
export const _IOC_SIZESHIFT: number = _IOC_TYPESHIFT + _IOC_TYPEBITS;
/** Where the direction starts. */
export const _IOC_DIRSHIFT: number = _IOC_SIZESHIFT + _IOC_SIZEBITS;

/** No data moves. */
export const _IOC_NONE = 0;
/** Userspace writes, the kernel reads (`copy_from_user`). */
export const _IOC_WRITE = 1;
/** The kernel writes, userspace reads (`copy_to_user`). */
export const _IOC_READ = 2;

/** The argument type of `_IOR` and friends: a laid-out C type or its size in bytes. */
export type IocSize = CType | number;

function sizeOf(size: IocSize): number {
  const n = typeof size === "number" ? size : size.size;
  // The kernel's _IOC_TYPECHECK refuses sizes the field cannot hold at build time.
  if (!Number.isInteger(n) || n < 0 || n > _IOC_SIZEMASK) {
    throw new RangeError(`ioctl argument size ${n} does not fit in ${_IOC_SIZEBITS} bits`);
  }
  return n;
}

function field(v: number, mask: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > mask) {
    throw new RangeError(`ioctl ${what} ${v} out of range 0..${mask}`);
  }
  return v;
}

/**
 * The argument type of each request packed with a laid-out C type, by request
 * number (the first one wins): what `KVM_SELFTESTS_TRACE=ioctl` decodes an
 * argument as (`include/libc/trace.ts`).
 */
export const ioc_arg_types: Map<number, CType> = new Map();

/** `_IOC(dir, type, nr, size)`: packs a request number. */
export function _IOC(dir: number, type: number, nr: number, size: IocSize): number {
  const req = _IOC_pack(dir, type, nr, size);
  if (typeof size !== "number" && !ioc_arg_types.has(req)) ioc_arg_types.set(req, size);
  return req;
}

function _IOC_pack(dir: number, type: number, nr: number, size: IocSize): number {
  return ((field(dir, _IOC_DIRMASK, "direction") << _IOC_DIRSHIFT) |
    (field(type, _IOC_TYPEMASK, "type") << _IOC_TYPESHIFT) |
    (field(nr, _IOC_NRMASK, "number") << _IOC_NRSHIFT) |
    (sizeOf(size) << _IOC_SIZESHIFT)) >>> 0;
}

/** `_IO(type, nr)`: a request without an argument struct. */
export function _IO(type: number, nr: number): number {
  return _IOC(_IOC_NONE, type, nr, 0);
}

/** `_IOR(type, nr, T)`: the kernel fills a `T` for userspace. */
export function _IOR(type: number, nr: number, size: IocSize): number {
  return _IOC(_IOC_READ, type, nr, size);
}

/** `_IOW(type, nr, T)`: userspace passes a `T` to the kernel. */
export function _IOW(type: number, nr: number, size: IocSize): number {
  return _IOC(_IOC_WRITE, type, nr, size);
}

/** `_IOWR(type, nr, T)`: a `T` goes in and comes back. */
export function _IOWR(type: number, nr: number, size: IocSize): number {
  return _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);
}

/** `_IOC_DIR(nr)`: the direction bits of a request. */
export function _IOC_DIR(nr: number): number {
  return (nr >>> _IOC_DIRSHIFT) & _IOC_DIRMASK;
}

/** `_IOC_TYPE(nr)`: the type (magic) of a request. */
export function _IOC_TYPE(nr: number): number {
  return (nr >>> _IOC_TYPESHIFT) & _IOC_TYPEMASK;
}

/** `_IOC_NR(nr)`: the command number of a request. */
export function _IOC_NR(nr: number): number {
  return (nr >>> _IOC_NRSHIFT) & _IOC_NRMASK;
}

/** `_IOC_SIZE(nr)`: the argument size of a request. */
export function _IOC_SIZE(nr: number): number {
  return (nr >>> _IOC_SIZESHIFT) & _IOC_SIZEMASK;
}

/** `IOC_IN`: the write bit in place, for code that tests directions by mask. */
export const IOC_IN: number = (_IOC_WRITE << _IOC_DIRSHIFT) >>> 0;
/** `IOC_OUT`: the read bit in place. */
export const IOC_OUT: number = (_IOC_READ << _IOC_DIRSHIFT) >>> 0;
/** `IOC_INOUT`: both bits in place. */
export const IOC_INOUT: number = ((_IOC_WRITE | _IOC_READ) << _IOC_DIRSHIFT) >>> 0;
/** `IOCSIZE_MASK`: the size field in place. */
export const IOCSIZE_MASK: number = (_IOC_SIZEMASK << _IOC_SIZESHIFT) >>> 0;
/** `IOCSIZE_SHIFT`: where the size field starts. */
export const IOCSIZE_SHIFT: number = _IOC_SIZESHIFT;
