// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/sev.h`: helpers for SEV,
 * SEV-ES and SEV-SNP guests. The guest states and policy bits are here; the
 * functions (`is_sev_vm` & co., the `vm_sev_ioctl` wrappers, the launch
 * sequences of `lib/x86/sev.c` and the guest's `vmgexit`) come from
 * `lib/x86/sev.ts`.
 *
 * As in the TDX series (v13), there is no `vm_sev_create_with_one_vcpu()`: an
 * SEV VM is `vm_create_shape_with_one_vcpu(VM_SHAPE_SEV, vcpu, guest_code)`,
 * and `kvm_arch_vm_post_create()` issues KVM_SEV_INIT2 for it.
 *
 * @module
 */

export * from "../../lib/x86/sev.ts";

/** C `enum sev_guest_state`: the firmware's guest state, as KVM_SEV_GUEST_STATUS reports it. */
export enum sev_guest_state {
  SEV_GUEST_STATE_UNINITIALIZED = 0,
  SEV_GUEST_STATE_LAUNCH_UPDATE,
  SEV_GUEST_STATE_LAUNCH_SECRET,
  SEV_GUEST_STATE_RUNNING,
}

/** C `SEV_POLICY_NO_DBG`: the firmware refuses DBG_DECRYPT/DBG_ENCRYPT for the guest. */
export const SEV_POLICY_NO_DBG: bigint = 1n << 0n;
/** C `SEV_POLICY_ES`: the guest is an SEV-ES guest (its register state is encrypted, in the VMSA). */
export const SEV_POLICY_ES: bigint = 1n << 2n;

/** C `SNP_POLICY_SMT`: the guest may run with SMT enabled; required whenever SMT is active. */
export const SNP_POLICY_SMT: bigint = 1n << 16n;
/** C `SNP_POLICY_RSVD_MBO`: reserved, must be one (the firmware rejects a policy without it). */
export const SNP_POLICY_RSVD_MBO: bigint = 1n << 17n;
/** C `SNP_POLICY_DBG`: debugging the guest is allowed. */
export const SNP_POLICY_DBG: bigint = 1n << 19n;

/**
 * C `GHCB_MSR_TERM_REQ`: the GHCB MSR protocol's termination request (GHCBInfo
 * 0x100 in bits 11:0 of the GHCB MSR); KVM reports it as
 * `KVM_SYSTEM_EVENT_SEV_TERM` with the MSR value in `data[0]`.
 */
export const GHCB_MSR_TERM_REQ = 0x100;
