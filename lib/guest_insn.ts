// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated CPU's guest intrinsics (`sim/cpu/insn.ts`), as the guest side
 * of the library reaches them. Each intrinsic is one instruction: it takes
 * effect, exits to the host (KVM_RUN returns) or raises an exception that is
 * delivered through the guest IDT. There is one implementation, the CPU's:
 * this module only loads it.
 *
 * Host code imports test modules (which hold guest functions) and the whole
 * library, and must not load the CPU model, whose module state is one vCPU's
 * register file. So the CPU module is imported lazily, in vCPU workers only,
 * and an intrinsic called on the host is a clear error instead of a wrong
 * result. The processor.h-named helpers that tests call (`rdmsr`, `outb`,
 * `get_cr0`, ...) are in `lib/x86/guest.ts`; memory accessors in
 * `lib/guest_memory.ts`.
 *
 * @module
 */

import type * as insn from "../sim/cpu/insn.ts";
import { in_guest_worker } from "../include/libc/process.ts";

/** The CPU model's intrinsics: the module `sim/cpu/insn.ts`. */
export type guest_cpu = typeof insn;

const CPU_MODULE = new URL("../sim/cpu/insn.ts", import.meta.url).href;
/** The same intrinsics on a real vCPU, through the guest runtime (kvm backend). */
const RUNTIME_MODULE = new URL("./x86/guest_runtime_cpu.ts", import.meta.url).href;

let cpu: guest_cpu | undefined;
if (in_guest_worker()) {
  if ((globalThis as { __KVM_GUEST_RUNTIME__?: boolean }).__KVM_GUEST_RUNTIME__ === true) {
    // Intrinsics the runtime lacks are a clear error in guest code.
    const mod = (await import(RUNTIME_MODULE)) as Record<string, unknown>;
    cpu = new Proxy(mod, {
      get(target, name) {
        const v = target[name as string];
        if (v !== undefined || typeof name !== "string") return v;
        return () => {
          throw new Error(`'${name}' is not available in the kvm backend's guest runtime`);
        };
      },
    }) as unknown as guest_cpu;
  } else {
    cpu = (await import(CPU_MODULE)) as guest_cpu;
  }
}

/**
 * The CPU model's intrinsics, in a vCPU worker.
 *
 * @returns the intrinsics
 */
export function guest_cpu(): guest_cpu {
  if (!cpu) {
    throw new Error(
      "A guest instruction was executed on the host: guest functions run in vCPU workers only",
    );
  }
  return cpu;
}

/**
 * An instruction the simulated CPU does not model: executing it in a vCPU
 * worker is a JavaScript exception in guest code, which fails the test with
 * the guest's stack (never a silently wrong result); on the host it is
 * {@linkcode guest_cpu}'s error. Guest helpers of instructions that only
 * hardware the simulator does not offer would run (AMD SEV-ES) use it.
 *
 * @param insn the instruction, as its C twin's asm spells it
 * @param why what the simulated machine lacks
 * @returns never
 */
export function guest_insn_unimplemented(insn: string, why: string): never {
  guest_cpu();
  const where = (globalThis as { __KVM_GUEST_RUNTIME__?: boolean }).__KVM_GUEST_RUNTIME__
    ? "the kvm backend's guest runtime"
    : "the simulated CPU";
  throw new Error(`'${insn}' is not implemented by ${where}: ${why}`);
}
