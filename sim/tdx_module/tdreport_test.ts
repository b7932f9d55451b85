// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { createHash } from "node:crypto";
import { TDX_SIM_MODULE_NAME, TDX_SIM_MRSEAM } from "./tdreport.ts";

Deno.test("MRSEAM is the SHA-384 of the simulated module's name", () => {
  assertEquals(
    TDX_SIM_MRSEAM,
    new Uint8Array(createHash("sha384").update(TDX_SIM_MODULE_NAME).digest()),
  );
  assertEquals(TDX_SIM_MRSEAM.length, 48);
});
