// SPDX-License-Identifier: GPL-2.0-only
/**
 * `VCPU_REGS_*` (`arch/x86/include/asm/kvm_vcpu_regs.h`, KVM's `enum
 * kvm_reg`): GPR numbers in instruction-encoding order, which is also TDX's
 * GPR bitmap order. The one definition: guest code names registers with them
 * (`reg_read`, `reg_write`, through `include/x86/processor.ts`) and the
 * simulated CPU and KVM index their register files with them.
 *
 * @module
 */

/** RAX. */
export const VCPU_REGS_RAX = 0;
/** RCX. */
export const VCPU_REGS_RCX = 1;
/** RDX. */
export const VCPU_REGS_RDX = 2;
/** RBX. */
export const VCPU_REGS_RBX = 3;
/** RSP. */
export const VCPU_REGS_RSP = 4;
/** RBP. */
export const VCPU_REGS_RBP = 5;
/** RSI. */
export const VCPU_REGS_RSI = 6;
/** RDI. */
export const VCPU_REGS_RDI = 7;
/** R8. */
export const VCPU_REGS_R8 = 8;
/** R9. */
export const VCPU_REGS_R9 = 9;
/** R10. */
export const VCPU_REGS_R10 = 10;
/** R11. */
export const VCPU_REGS_R11 = 11;
/** R12. */
export const VCPU_REGS_R12 = 12;
/** R13. */
export const VCPU_REGS_R13 = 13;
/** R14. */
export const VCPU_REGS_R14 = 14;
/** R15. */
export const VCPU_REGS_R15 = 15;
/** Number of general-purpose registers. */
export const NR_VCPU_REGS = 16;
