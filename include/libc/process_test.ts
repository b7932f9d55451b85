// SPDX-License-Identifier: GPL-2.0-only
import { assertEquals } from "@std/assert";
import { kill_at_timeout } from "./process.ts";

function sleeper(seconds: number): Deno.ChildProcess {
  return new Deno.Command("/bin/sleep", { args: [String(seconds)], stdout: "null" }).spawn();
}

Deno.test("kill_at_timeout SIGKILLs a child that outlives its timeout", async () => {
  const child = sleeper(30);
  const clock = kill_at_timeout(() => child, 0.2);
  const status = await child.status;
  clock.done();
  assertEquals([clock.timed_out, status.signal], [true, "SIGKILL"]);
});

Deno.test("kill_at_timeout leaves a child that ends in time alone", async () => {
  const child = sleeper(0);
  const clock = kill_at_timeout(() => child, 30);
  const status = await child.status;
  clock.done();
  assertEquals([clock.timed_out, status.success], [false, true]);
});

Deno.test("kill_at_timeout kills the process the getter names when the time is up", async () => {
  let current: Deno.ChildProcess | undefined = sleeper(0);
  const clock = kill_at_timeout(() => current, 0.3);
  await current.status;
  // A replacement (a restarted test server) is the one that overruns.
  current = sleeper(30);
  const status = await current.status;
  clock.done();
  assertEquals([clock.timed_out, status.signal], [true, "SIGKILL"]);
});
