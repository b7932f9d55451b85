// SPDX-License-Identifier: GPL-2.0-only
/**
 * `arch/x86/include/asm/irq_vectors.h`: the vector numbers the kernel names
 * outside the exception list of `<asm/kvm.h>` (`include/asm/kvm.ts`). The one
 * definition, for the library (`include/x86/processor.ts`) and the simulated
 * CPU (`sim/cpu/vmx.ts`).
 *
 * @module
 */

/** `NMI_VECTOR`: non-maskable interrupts are delivered through vector 2. */
export const NMI_VECTOR = 0x02;
