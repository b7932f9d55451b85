// SPDX-License-Identifier: GPL-2.0-only
/**
 * Preload module (`deno run --preload`): as root writing `1` to
 * /sys/module/kvm/parameters/force_emulation_prefix before a selftest runs,
 * on the simulated host of this process (its sysfs lives in the process).
 * The program itself then reads the parameter as upstream does.
 *
 * @module
 */

import "../use_sim_backend.ts";
import { O_WRONLY } from "../../include/linux/fcntl.ts";
import { backend } from "../backend.ts";

const PATH = "/sys/module/kvm/parameters/force_emulation_prefix";
const fd = backend.open(PATH, O_WRONLY, 0);
if (fd < 0) throw new Error(`open ${PATH}: ${fd}`);
const text = new TextEncoder().encode("1\n");
const n = backend.write(fd, backend.addr_of(text.buffer, 0), BigInt(text.length));
backend.close(fd);
if (n !== BigInt(text.length)) throw new Error(`write ${PATH}: ${n}`);
