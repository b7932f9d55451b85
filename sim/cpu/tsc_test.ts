// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals } from "@std/assert";
import { host_tsc, host_tsc_bigint, host_tsc_read } from "./tsc.ts";
import { read_tsc, tsc_words, vcpu, vcpu_state_reset } from "./state.ts";
import { sim_vmcs } from "./vmcs.ts";
import { offsetof } from "../../include/c/layout.ts";

function wall_ticks(khz: number): bigint {
  // The epoch time in microseconds is exact in a double; scale it in bigints.
  const us = BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
  return us * BigInt(khz) / 1000n;
}

Deno.test("host TSC: epoch milliseconds times kHz, at any frequency", () => {
  for (const khz of [1, 1000, 2_000_000, 3_123_457, 0xffffffff]) {
    const before = wall_ticks(khz);
    const t = host_tsc_bigint(khz);
    const after = wall_ticks(khz);
    // Within one microsecond of the bigint reference on either side.
    const us = BigInt(khz) / 1000n + 1n;
    assert(t >= before - us && t <= after + us, `${khz} kHz: ${before} <= ${t} <= ${after}`);
  }
});

Deno.test("host TSC: words carry, and readings never go back", () => {
  let last = -1n;
  for (let i = 0; i < 10_000; i++) {
    host_tsc_read(2_000_000);
    assert(host_tsc.lo >= 0 && host_tsc.lo < 2 ** 32 && Number.isInteger(host_tsc.lo));
    const t = (BigInt(host_tsc.hi) << 32n) | BigInt(host_tsc.lo);
    assert(t >= last, `${t} after ${last}`);
    last = t;
  }
});

Deno.test("host TSC: a change of frequency rescales at once", () => {
  const slow = host_tsc_bigint(1000);
  const fast = host_tsc_bigint(1_000_000);
  const ratio = Number(fast / slow);
  assertEquals(Math.round(ratio), 1000);
});

Deno.test("RDTSC: host TSC plus the VMCS offset, modulo 2^64, and never the same value twice", () => {
  const dv = new DataView(vcpu.u32.buffer, vcpu.u32.byteOffset, vcpu.u32.byteLength);
  const offset_at = offsetof(sim_vmcs, "tsc_offset");
  const khz = 2_000_000;
  dv.setUint32(offsetof(sim_vmcs, "tsc_khz"), khz, true);
  try {
    // An offset of -(host TSC) + 5: the sum wraps past 2^64 into small values,
    // with a carry out of the low word on most readings.
    const host = host_tsc_bigint(khz);
    dv.setBigUint64(offset_at, BigInt.asUintN(64, -host + 5n), true);
    const t = read_tsc();
    assert(t >= 5n && t < 5n + BigInt(khz) * 1000n, `${t}`);
    // EAX:EDX and the 64-bit value are the same reading.
    const t2 = read_tsc();
    assertEquals((BigInt(tsc_words[1]!) << 32n) | BigInt(tsc_words[0]!), t2);
    let last = read_tsc();
    for (let i = 0; i < 1000; i++) {
      const now = read_tsc();
      assert(now > last, `${now} after ${last}`);
      last = now;
    }
  } finally {
    vcpu_state_reset();
  }
});
