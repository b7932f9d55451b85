// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/sev.c` and of the inline
 * helpers and macros of `include/x86/sev.h`: the SEV sub-commands of
 * KVM_MEMORY_ENCRYPT_OP (`__vm_sev_ioctl`, which evaluates to `r ?: error`,
 * the firmware's status), SEV/SEV-ES/SNP initialisation, and the launch
 * sequences that encrypt every protected page (`encrypt_region`, the walk
 * TDX's `tdx_load_private_memory` was modelled on) before the guest runs.
 *
 * Tests import it through `include/x86/sev.ts`.
 *
 * @module
 */

import {
  kvm_sev_cmd,
  KVM_SEV_ES_INIT,
  KVM_SEV_GUEST_STATUS,
  kvm_sev_guest_status,
  KVM_SEV_INIT,
  kvm_sev_init,
  KVM_SEV_INIT2,
  KVM_SEV_LAUNCH_FINISH,
  KVM_SEV_LAUNCH_MEASURE,
  kvm_sev_launch_measure,
  KVM_SEV_LAUNCH_START,
  kvm_sev_launch_start,
  KVM_SEV_LAUNCH_UPDATE_DATA,
  kvm_sev_launch_update_data,
  KVM_SEV_LAUNCH_UPDATE_VMSA,
  KVM_SEV_PAGE_TYPE_INVALID,
  KVM_SEV_SNP_LAUNCH_FINISH,
  kvm_sev_snp_launch_finish,
  KVM_SEV_SNP_LAUNCH_START,
  kvm_sev_snp_launch_start,
  KVM_SEV_SNP_LAUNCH_UPDATE,
  kvm_sev_snp_launch_update,
  KVM_SEV_SNP_PAGE_TYPE_NORMAL,
  KVM_X86_DEFAULT_VM,
  KVM_X86_SEV_ES_VM,
  KVM_X86_SEV_VM,
  KVM_X86_SNP_VM,
} from "../../include/asm/kvm.ts";
import {
  KVM_CAP_EXIT_HYPERCALL,
  kvm_enc_region,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_MEMORY_ENCRYPT_REG_REGION,
} from "../../include/linux/kvm.ts";
import { KVM_HC_MAP_GPA_RANGE } from "../../include/linux/kvm_para.ts";
import { type Pointer, ptr } from "../../include/libc/syscall.ts";
import type { gpa_t, kvm_vm, userspace_mem_region } from "../../include/kvm_util_types.ts";
import { TEST_ASSERT, TEST_ASSERT_EQ } from "../../include/test_util.ts";
import {
  sev_guest_state,
  SEV_POLICY_ES,
  SNP_POLICY_RSVD_MBO,
  SNP_POLICY_SMT,
} from "../../include/x86/sev.ts";
import {
  __vm_ioctl,
  addr_gpa2hva,
  TEST_ASSERT_VM_VCPU_IOCTL,
  vm_enable_cap,
  vm_ioctl,
  vm_mem_set_private,
} from "../kvm_util.ts";
import { is_smt_on } from "../test_util.ts";
import { sparsebit_runs } from "../sparsebit.ts";
import { guest_insn_unimplemented } from "../guest_insn.ts";
import { open_sev_dev_path_or_exit } from "./svm.ts";

/** x86 guests use 4 KiB pages (C `PAGE_SHIFT`). */
const PAGE_SHIFT = 12n;

/** Bytes KVM_SEV_LAUNCH_MEASURE writes: the firmware's measurement blob. */
const SEV_MEASUREMENT_LEN = 256;

/**
 * C `is_sev_snp_vm(vm)`.
 *
 * @param vm the VM
 * @returns whether it is an SEV-SNP VM
 */
export function is_sev_snp_vm(vm: kvm_vm): boolean {
  return vm.type === KVM_X86_SNP_VM;
}

/**
 * C `is_sev_es_vm(vm)`: an SNP VM is an SEV-ES VM too (encrypted register state).
 *
 * @param vm the VM
 * @returns whether it is an SEV-ES or SNP VM
 */
export function is_sev_es_vm(vm: kvm_vm): boolean {
  return is_sev_snp_vm(vm) || vm.type === KVM_X86_SEV_ES_VM;
}

/**
 * C `is_sev_vm(vm)`: SEV-ES and SNP VMs are SEV VMs too (encrypted memory).
 *
 * @param vm the VM
 * @returns whether it is an SEV, SEV-ES or SNP VM
 */
export function is_sev_vm(vm: kvm_vm): boolean {
  return is_sev_es_vm(vm) || vm.type === KVM_X86_SEV_VM;
}

/**
 * C `snp_default_policy()`: an SNP guest's policy must set the reserved
 * must-be-one bit, and the SMT bit whenever SMT is active on the host (the
 * firmware refuses the launch otherwise).
 *
 * @returns the policy
 */
export function snp_default_policy(): bigint {
  return SNP_POLICY_RSVD_MBO | (is_smt_on() ? SNP_POLICY_SMT : 0n);
}

/** `#cmd` of the C macros: the sub-command's name. */
function sev_cmd_name(cmd: number): string {
  const names: Record<number, string> = {
    [KVM_SEV_INIT]: "KVM_SEV_INIT",
    [KVM_SEV_ES_INIT]: "KVM_SEV_ES_INIT",
    [KVM_SEV_LAUNCH_START]: "KVM_SEV_LAUNCH_START",
    [KVM_SEV_LAUNCH_UPDATE_DATA]: "KVM_SEV_LAUNCH_UPDATE_DATA",
    [KVM_SEV_LAUNCH_UPDATE_VMSA]: "KVM_SEV_LAUNCH_UPDATE_VMSA",
    [KVM_SEV_LAUNCH_MEASURE]: "KVM_SEV_LAUNCH_MEASURE",
    [KVM_SEV_LAUNCH_FINISH]: "KVM_SEV_LAUNCH_FINISH",
    [KVM_SEV_GUEST_STATUS]: "KVM_SEV_GUEST_STATUS",
    [KVM_SEV_INIT2]: "KVM_SEV_INIT2",
    [KVM_SEV_SNP_LAUNCH_START]: "KVM_SEV_SNP_LAUNCH_START",
    [KVM_SEV_SNP_LAUNCH_UPDATE]: "KVM_SEV_SNP_LAUNCH_UPDATE",
    [KVM_SEV_SNP_LAUNCH_FINISH]: "KVM_SEV_SNP_LAUNCH_FINISH",
  };
  return names[cmd] ?? String(cmd);
}

/**
 * C `__vm_sev_ioctl(vm, cmd, arg)`: an SEV sub-command on the VM
 * (KVM_MEMORY_ENCRYPT_OP with `struct kvm_sev_cmd`, carrying the VM's
 * `/dev/sev` fd), evaluating to `r ?: sev_cmd.c.error`.
 *
 * @param vm the VM
 * @param cmd `KVM_SEV_*`
 * @param arg the command's data (a pointer), or null
 * @returns the ioctl's result if non-zero, else the firmware's error (0: success)
 */
export function __vm_sev_ioctl(vm: kvm_vm, cmd: number, arg: Pointer | null): number {
  const sev_cmd = kvm_sev_cmd.alloc();
  sev_cmd.id = cmd;
  sev_cmd.data = arg === null ? 0n : ptr(arg);
  sev_cmd.sev_fd = vm.arch.sev_fd >>> 0;
  const r = __vm_ioctl(vm, KVM_MEMORY_ENCRYPT_OP, sev_cmd);
  return r || sev_cmd.error;
}

/**
 * C `vm_sev_ioctl(vm, cmd, arg)`: {@linkcode __vm_sev_ioctl} that must
 * succeed; the failure names the sub-command (`KVM_SEV_INIT2 failed, rc: ...`).
 *
 * @param vm the VM
 * @param cmd `KVM_SEV_*`
 * @param arg the command's data, or null
 */
export function vm_sev_ioctl(vm: kvm_vm, cmd: number, arg: Pointer | null): void {
  const ret = __vm_sev_ioctl(vm, cmd, arg);
  TEST_ASSERT_VM_VCPU_IOCTL(!ret, sev_cmd_name(cmd), ret, vm);
}

/**
 * C `sev_vm_init(vm)`: a default VM becomes an SEV VM the legacy way
 * (KVM_SEV_INIT, with the `/dev/sev` fd opened here); a `KVM_X86_SEV_VM` is
 * initialised with KVM_SEV_INIT2.
 *
 * @param vm the VM
 */
export function sev_vm_init(vm: kvm_vm): void {
  if (vm.type === KVM_X86_DEFAULT_VM) {
    TEST_ASSERT_EQ(vm.arch.sev_fd, -1);
    vm.arch.sev_fd = open_sev_dev_path_or_exit();
    vm_sev_ioctl(vm, KVM_SEV_INIT, null);
  } else {
    const init = kvm_sev_init.alloc();
    TEST_ASSERT_EQ(vm.type, KVM_X86_SEV_VM);
    vm_sev_ioctl(vm, KVM_SEV_INIT2, init);
  }
}

/**
 * C `sev_es_vm_init(vm)`: as {@linkcode sev_vm_init}, for SEV-ES
 * (KVM_SEV_ES_INIT on a default VM, KVM_SEV_INIT2 on a `KVM_X86_SEV_ES_VM`).
 *
 * @param vm the VM
 */
export function sev_es_vm_init(vm: kvm_vm): void {
  if (vm.type === KVM_X86_DEFAULT_VM) {
    TEST_ASSERT_EQ(vm.arch.sev_fd, -1);
    vm.arch.sev_fd = open_sev_dev_path_or_exit();
    vm_sev_ioctl(vm, KVM_SEV_ES_INIT, null);
  } else {
    const init = kvm_sev_init.alloc();
    TEST_ASSERT_EQ(vm.type, KVM_X86_SEV_ES_VM);
    vm_sev_ioctl(vm, KVM_SEV_INIT2, init);
  }
}

/**
 * C `snp_vm_init(vm)`: KVM_SEV_INIT2 on a `KVM_X86_SNP_VM` (SNP has no legacy INIT).
 *
 * @param vm the VM
 */
export function snp_vm_init(vm: kvm_vm): void {
  const init = kvm_sev_init.alloc();
  TEST_ASSERT_EQ(vm.type, KVM_X86_SNP_VM);
  vm_sev_ioctl(vm, KVM_SEV_INIT2, init);
}

/**
 * C `sev_register_encrypted_memory(vm, region)`: pin the region's host
 * memory for SEV (KVM_MEMORY_ENCRYPT_REG_REGION), as the firmware encrypts
 * it in place.
 *
 * @param vm the VM
 * @param region the memslot
 */
export function sev_register_encrypted_memory(vm: kvm_vm, region: userspace_mem_region): void {
  const range = kvm_enc_region.alloc();
  range.addr = region.region.userspace_addr;
  range.size = region.region.memory_size;
  vm_ioctl(vm, KVM_MEMORY_ENCRYPT_REG_REGION, range);
}

/**
 * C `sev_launch_update_data(vm, gpa, size)`: encrypt (and measure) guest
 * memory in place, through its host mapping.
 *
 * @param vm the VM
 * @param gpa the first GPA
 * @param size the length
 */
export function sev_launch_update_data(vm: kvm_vm, gpa: gpa_t, size: bigint): void {
  const update_data = kvm_sev_launch_update_data.alloc();
  update_data.uaddr = addr_gpa2hva(vm, gpa);
  update_data.len = Number(BigInt.asUintN(32, size));
  vm_sev_ioctl(vm, KVM_SEV_LAUNCH_UPDATE_DATA, update_data);
}

/**
 * C `snp_launch_update_data(vm, gpa, hva, size, type)`: copy `size` bytes
 * at `hva` into the guest's private memory at `gpa` as pages of `type`.
 *
 * @param vm the VM
 * @param gpa the first GPA
 * @param hva the source
 * @param size the length
 * @param type `KVM_SEV_SNP_PAGE_TYPE_*`
 */
export function snp_launch_update_data(
  vm: kvm_vm,
  gpa: gpa_t,
  hva: bigint,
  size: bigint,
  type: number,
): void {
  const update_data = kvm_sev_snp_launch_update.alloc();
  update_data.uaddr = hva;
  update_data.gfn_start = gpa >> PAGE_SHIFT;
  update_data.len = size;
  update_data.type = type;
  vm_sev_ioctl(vm, KVM_SEV_SNP_LAUNCH_UPDATE, update_data);
}

/**
 * C `encrypt_region(vm, region, page_type, private)`: every run of protected
 * pages of the region is encrypted in place (SEV, SEV-ES: after registering
 * the region) or, for SNP, made private first when `is_private` and then
 * added as `page_type` pages.
 */
function encrypt_region(
  vm: kvm_vm,
  region: userspace_mem_region,
  page_type: number,
  is_private: boolean,
): void {
  const protected_phy_pages = region.protected_phy_pages;
  const gpa_base = region.region.guest_phys_addr;
  const lowest_page_in_region = gpa_base >> BigInt(vm.page_shift);

  const runs = protected_phy_pages ? sparsebit_runs(protected_phy_pages) : [];
  if (runs.length === 0) return;

  if (!is_sev_snp_vm(vm)) sev_register_encrypted_memory(vm, region);

  for (const [i, count] of runs) {
    const size = count * BigInt(vm.page_size);
    const offset = (i - lowest_page_in_region) * BigInt(vm.page_size);

    if (is_private) vm_mem_set_private(vm, gpa_base + offset, size);

    if (is_sev_snp_vm(vm)) {
      snp_launch_update_data(
        vm,
        gpa_base + offset,
        addr_gpa2hva(vm, gpa_base + offset),
        size,
        page_type,
      );
    } else {
      sev_launch_update_data(vm, gpa_base + offset, size);
    }
  }
}

/**
 * C `sev_vm_launch(vm, policy)`: LAUNCH_START with the policy (the firmware
 * takes 32 bits), every protected page encrypted, and for SEV-ES the vCPUs'
 * register state sealed into their VMSAs. From here the guest page tables
 * are encrypted: the host can no longer walk them.
 *
 * @param vm the SEV or SEV-ES VM
 * @param policy the guest policy (`SEV_POLICY_*`)
 */
export function sev_vm_launch(vm: kvm_vm, policy: bigint): void {
  const policy32 = Number(BigInt.asUintN(32, policy));
  const launch_start = kvm_sev_launch_start.alloc();
  launch_start.policy = policy32;
  const status = kvm_sev_guest_status.alloc();

  vm_sev_ioctl(vm, KVM_SEV_LAUNCH_START, launch_start);
  vm_sev_ioctl(vm, KVM_SEV_GUEST_STATUS, status);

  TEST_ASSERT_EQ(status.policy, policy32);
  TEST_ASSERT_EQ(status.state, sev_guest_state.SEV_GUEST_STATE_LAUNCH_UPDATE);

  for (const region of vm.regions.values()) {
    encrypt_region(vm, region, KVM_SEV_PAGE_TYPE_INVALID, false);
  }

  if (BigInt(policy32) & SEV_POLICY_ES) vm_sev_ioctl(vm, KVM_SEV_LAUNCH_UPDATE_VMSA, null);

  vm.arch.is_pt_protected = true;
}

/**
 * C `sev_vm_launch_measure(vm, measurement)`: the launch measurement (256
 * bytes) into `measurement`; the guest moves to LAUNCH_SECRET.
 *
 * @param vm the VM
 * @param measurement receives the measurement (at least 256 bytes)
 */
export function sev_vm_launch_measure(vm: kvm_vm, measurement: Uint8Array): void {
  TEST_ASSERT(
    measurement.length >= SEV_MEASUREMENT_LEN,
    "The measurement buffer needs %d bytes, not %d",
    SEV_MEASUREMENT_LEN,
    measurement.length,
  );
  const launch_measure = kvm_sev_launch_measure.alloc();
  const guest_status = kvm_sev_guest_status.alloc();

  launch_measure.len = SEV_MEASUREMENT_LEN;
  launch_measure.uaddr = ptr(measurement);
  vm_sev_ioctl(vm, KVM_SEV_LAUNCH_MEASURE, launch_measure);

  vm_sev_ioctl(vm, KVM_SEV_GUEST_STATUS, guest_status);
  TEST_ASSERT_EQ(guest_status.state, sev_guest_state.SEV_GUEST_STATE_LAUNCH_SECRET);
}

/**
 * C `sev_vm_launch_finish(vm)`: LAUNCH_FINISH from LAUNCH_UPDATE or
 * LAUNCH_SECRET; the guest is then RUNNING.
 *
 * @param vm the VM
 */
export function sev_vm_launch_finish(vm: kvm_vm): void {
  const status = kvm_sev_guest_status.alloc();

  vm_sev_ioctl(vm, KVM_SEV_GUEST_STATUS, status);
  TEST_ASSERT(
    status.state === sev_guest_state.SEV_GUEST_STATE_LAUNCH_UPDATE ||
      status.state === sev_guest_state.SEV_GUEST_STATE_LAUNCH_SECRET,
    "Unexpected guest state: %d",
    status.state,
  );

  vm_sev_ioctl(vm, KVM_SEV_LAUNCH_FINISH, null);

  vm_sev_ioctl(vm, KVM_SEV_GUEST_STATUS, status);
  TEST_ASSERT_EQ(status.state, sev_guest_state.SEV_GUEST_STATE_RUNNING);
}

/**
 * C `snp_vm_launch_start(vm, policy)`: KVM_SEV_SNP_LAUNCH_START.
 *
 * @param vm the SNP VM
 * @param policy the guest policy (`SNP_POLICY_*`, 64 bits)
 */
export function snp_vm_launch_start(vm: kvm_vm, policy: bigint): void {
  const launch_start = kvm_sev_snp_launch_start.alloc();
  launch_start.policy = BigInt.asUintN(64, policy);
  vm_sev_ioctl(vm, KVM_SEV_SNP_LAUNCH_START, launch_start);
}

/**
 * C `snp_vm_launch_update(vm)`: every protected page made private and added
 * as a normal (measured) page; the page tables are private from then on.
 *
 * @param vm the SNP VM
 */
export function snp_vm_launch_update(vm: kvm_vm): void {
  for (const region of vm.regions.values()) {
    encrypt_region(vm, region, KVM_SEV_SNP_PAGE_TYPE_NORMAL, true);
  }
  vm.arch.is_pt_protected = true;
}

/**
 * C `snp_vm_launch_finish(vm)`: KVM_SEV_SNP_LAUNCH_FINISH with no ID block.
 *
 * @param vm the SNP VM
 */
export function snp_vm_launch_finish(vm: kvm_vm): void {
  const launch_finish = kvm_sev_snp_launch_finish.alloc();
  vm_sev_ioctl(vm, KVM_SEV_SNP_LAUNCH_FINISH, launch_finish);
}

/**
 * C `vm_sev_launch(vm, policy, measurement)`: the whole launch. SNP: exits
 * for KVM_HC_MAP_GPA_RANGE go to userspace (the guest converts pages with
 * it), then start, update, finish. SEV and SEV-ES: launch, measure (into
 * `measurement`, or a scratch buffer when it is null), finish.
 *
 * @param vm the VM
 * @param policy the guest policy
 * @param measurement receives the launch measurement (SEV, SEV-ES), or null
 */
export function vm_sev_launch(vm: kvm_vm, policy: bigint, measurement: Uint8Array | null): void {
  if (is_sev_snp_vm(vm)) {
    vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 1n << BigInt(KVM_HC_MAP_GPA_RANGE));

    snp_vm_launch_start(vm, policy);

    snp_vm_launch_update(vm);

    snp_vm_launch_finish(vm);

    return;
  }

  sev_vm_launch(vm, policy);

  if (!measurement) measurement = new Uint8Array(SEV_MEASUREMENT_LEN);

  sev_vm_launch_measure(vm, measurement);

  sev_vm_launch_finish(vm);
}

/**
 * C `vmgexit()` (guest): `rep; vmmcall`, the SEV-ES guest's exit to the
 * hypervisor, which reads the request from the GHCB MSR (or the GHCB page it
 * names). Only AMD hardware running an SEV-ES guest has it; the simulated
 * machine is an Intel VMX host without SEV, where no SEV-ES guest exists.
 */
export function vmgexit(): void {
  guest_insn_unimplemented(
    "rep; vmmcall",
    "VMGEXIT exists only in SEV-ES guests on AMD hardware, which the simulator does not model",
  );
}
