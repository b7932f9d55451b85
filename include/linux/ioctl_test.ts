// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals, assertThrows } from "@std/assert";
import { array, struct, u32, u64, u8 } from "../c/layout.ts";
import {
  _IO,
  _IOC,
  _IOC_DIR,
  _IOC_NONE,
  _IOC_NR,
  _IOC_READ,
  _IOC_SIZE,
  _IOC_TYPE,
  _IOC_WRITE,
  _IOR,
  _IOW,
  _IOWR,
  IOC_INOUT,
  IOCSIZE_MASK,
} from "./ioctl.ts";

const KVMIO = 0xae;

Deno.test("_IO, _IOR, _IOW and _IOWR pack direction, size, type and number", () => {
  const region = struct("kvm_userspace_memory_region", {
    slot: u32,
    flags: u32,
    guest_phys_addr: u64,
    memory_size: u64,
    userspace_addr: u64,
  });
  assertEquals(_IO(KVMIO, 0x80), 0xae80);
  assertEquals(_IOW(KVMIO, 0x46, region), 0x4020ae46);
  assertEquals(_IOR(KVMIO, 0x81, 144), 0x8090ae81);
  assertEquals(_IOWR(KVMIO, 0xba, 8), 0xc008aeba);
  assertEquals(_IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0xba, u64), 0xc008aeba);
  assertEquals(_IOWR(KVMIO, 0x02, struct("kvm_msr_list", { nmsrs: u32 })), 0xc004ae02);
});

Deno.test("request numbers with the read bit are positive numbers, as unsigned long holds them", () => {
  const n = _IOWR(KVMIO, 0xd4, 64);
  assertEquals(n > 0, true);
  assertEquals(n, 0xc040aed4);
  assertEquals(IOC_INOUT, 0xc0000000);
  assertEquals(IOCSIZE_MASK, 0x3fff0000);
});

Deno.test("the _IOC_* decoders take a request number apart again", () => {
  const n = _IOW(KVMIO, 0x49, struct("r2", { a: array(u8, 160) }));
  assertEquals(_IOC_DIR(n), _IOC_WRITE);
  assertEquals(_IOC_TYPE(n), KVMIO);
  assertEquals(_IOC_NR(n), 0x49);
  assertEquals(_IOC_SIZE(n), 160);
  const m = _IOWR(KVMIO, 0xff, 0x3fff);
  assertEquals([_IOC_DIR(m), _IOC_TYPE(m), _IOC_NR(m), _IOC_SIZE(m)], [3, 0xae, 0xff, 0x3fff]);
  assertEquals(_IOC_DIR(_IO(KVMIO, 1)), _IOC_NONE);
});

Deno.test("fields that do not fit are refused rather than silently truncated", () => {
  assertThrows(() => _IOW(KVMIO, 0x100, 4), RangeError, "number");
  assertThrows(() => _IOW(0x1ae, 0x1, 4), RangeError, "type");
  assertThrows(() => _IOW(KVMIO, 0x1, 0x4000), RangeError, "14 bits");
  assertThrows(() => _IOC(4, KVMIO, 0x1, 0), RangeError, "direction");
});
