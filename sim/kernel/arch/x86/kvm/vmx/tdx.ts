// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM's Intel TDX support (`arch/x86/kvm/vmx/tdx.c`) on the simulated TDX
 * module (`sim/tdx_module/`):
 *
 * - `KVM_MEMORY_ENCRYPT_OP` on the VM fd ({@linkcode tdx_vm_ioctl}:
 *   CAPABILITIES, INIT_VM, FINALIZE_VM) and the vCPU fd
 *   ({@linkcode tdx_vcpu_ioctl}: INIT_VCPU, INIT_MEM_REGION, GET_CPUID), with
 *   the header checks and `hw_error` write-back rules of the kernel;
 * - the lifecycle checks of vCPU creation and KVM_RUN
 *   ({@linkcode tdx_vcpu_precreate}, {@linkcode tdx_vcpu_pre_run});
 * - the stage-2 view of a TD ({@linkcode tdx_memmap}): shared memory from the
 *   memslots, private memory from guest_memfd only for GFNs the Secure EPT
 *   maps, so that every other private access exits to KVM;
 * - the TD exit path ({@linkcode tdx_handle_exit}): TDCALL runs the module's
 *   `tdg_dispatch` on the kernel thread (the module owns TD state), and
 *   TDG.VP.VMCALL is handled leaf by leaf as `tdx_handle_vmcall()` does;
 *   instructions the TDX module virtualises (CPUID, MSRs, XSETBV, HLT) are
 *   answered here in the module's place or turned into #VE;
 * - interrupts (tdx.c and posted_intr.c, kvm-x86/linux at 09c6f74e): a fixed
 *   interrupt for a TD vCPU is posted in its descriptor
 *   ({@linkcode tdx_deliver_posted_interrupt}); at the next TD entry the
 *   module moves it into the TD's virtual APIC and the CPU delivers it
 *   ({@linkcode tdx_inject_pending}); TDVMCALL<HLT> blocks the vCPU with the
 *   interrupt-blocked flag semantics ({@linkcode tdx_interrupt_allowed},
 *   {@linkcode tdx_protected_apic_has_interrupt}); MapGPA stops with RETRY
 *   between chunks when an event is pending.
 *
 * TD state lives beside `struct kvm` / `struct kvm_vcpu` (WeakMaps), as
 * `struct kvm_tdx` / `struct vcpu_tdx` wrap them in the kernel.
 *
 * @module
 */

import {
  E2BIG,
  EAGAIN,
  EBUSY,
  EEXIST,
  EFAULT,
  EINVAL,
  EIO,
  ENOMEM,
} from "../../../../../../include/linux/errno.ts";
import {
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_IO,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_EXIT_TDX,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_GET_DEBUGREGS,
  KVM_GET_LAPIC,
  KVM_GET_MSRS,
  KVM_GET_SREGS2,
  KVM_GET_VCPU_EVENTS,
  KVM_GET_XCRS,
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_MEM_GUEST_MEMFD,
  KVM_MEMORY_ENCRYPT_OP,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_MP_STATE_HALTED,
  KVM_MP_STATE_RUNNABLE,
  KVM_MSR_EXIT_REASON_FILTER,
  KVM_MSR_EXIT_REASON_INVAL,
  KVM_MSR_EXIT_REASON_UNKNOWN,
  KVM_MSR_FILTER_READ,
  KVM_MSR_FILTER_WRITE,
  KVM_SET_DEBUGREGS,
  KVM_SET_GUEST_DEBUG,
  KVM_SET_LAPIC,
  KVM_SET_MSRS,
  KVM_SET_SREGS2,
  KVM_SET_TSC_KHZ,
  KVM_SET_VCPU_EVENTS,
  KVM_SET_XCRS,
  KVM_SET_XSAVE,
  KVM_SYSTEM_EVENT_TDX_FATAL,
} from "../../../../../../include/linux/kvm.ts";
import {
  KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
  kvm_lapic_state,
  KVM_TDX_CAPABILITIES,
  kvm_tdx_capabilities,
  kvm_tdx_cmd,
  KVM_TDX_FINALIZE_VM,
  KVM_TDX_GET_CPUID,
  KVM_TDX_INIT_MEM_REGION,
  kvm_tdx_init_mem_region,
  KVM_TDX_INIT_VCPU,
  KVM_TDX_INIT_VM,
  kvm_tdx_init_vm,
  KVM_TDX_MEASURE_MEMORY_REGION,
  kvm_vcpu_events,
  KVM_X86_TDX_VM,
} from "../../../../../../include/asm/kvm.ts";
import {
  KVM_ENOSYS,
  KVM_HC_MAP_GPA_RANGE,
  KVM_MAP_GPA_RANGE_ENCRYPTED,
} from "../../../../../../include/linux/kvm_para.ts";
import { offsetof } from "../../../../../../include/c/layout.ts";
import { APIC_SELF_IPI } from "../../../../../../include/asm/apicdef.ts";
import { NMI_VECTOR } from "../../../../../../include/asm/irq_vectors.ts";
import {
  PIO_DATA_OFFSET,
  R_DIRTY_REGS,
  R_EXIT_REASON,
  R_HC_ARGS,
  R_HC_FLAGS,
  R_HC_NR,
  R_HC_RET,
  R_IO_COUNT,
  R_IO_DATA_OFFSET,
  R_IO_DIRECTION,
  R_IO_PORT,
  R_IO_SIZE,
  R_MF_FLAGS,
  R_MF_GPA,
  R_MF_SIZE,
  R_MMIO_DATA,
  R_MMIO_IS_WRITE,
  R_MMIO_LEN,
  R_MMIO_PHYS_ADDR,
  R_MSR_DATA,
  R_MSR_ERROR,
  R_MSR_INDEX,
  R_MSR_REASON,
  R_SE_DATA,
  R_SE_NDATA,
  R_SE_TYPE,
  R_TDX_FLAGS,
  R_TDX_NR,
  R_TDX_U,
  R_VALID_REGS,
} from "../kvm_run.ts";
import {
  TDG_VP_VMCALL_ALIGN_ERROR,
  TDG_VP_VMCALL_GET_QUOTE,
  TDG_VP_VMCALL_GET_TD_VM_CALL_INFO,
  TDG_VP_VMCALL_INSTRUCTION_CPUID,
  TDG_VP_VMCALL_INSTRUCTION_HLT,
  TDG_VP_VMCALL_INSTRUCTION_IO,
  TDG_VP_VMCALL_INSTRUCTION_RDMSR,
  TDG_VP_VMCALL_INSTRUCTION_WRMSR,
  TDG_VP_VMCALL_INVALID_OPERAND,
  TDG_VP_VMCALL_MAP_GPA,
  TDG_VP_VMCALL_REPORT_FATAL_ERROR,
  TDG_VP_VMCALL_RETRY,
  TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT,
  TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED,
  TDG_VP_VMCALL_VE_REQUEST_MMIO,
} from "../../../../../../include/x86/tdx/tdx.ts";
import {
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_RND_NO_ENTROPY,
  TDX_SUCCESS,
} from "../../../../../../include/x86/tdx/tdcall.ts";
import { alloc_fails } from "../../../../../fault_inject.ts";
import { TDX_TD_ATTR_SEPT_VE_DISABLE } from "../../../../../../include/x86/tdx/tdx.ts";
import { current } from "../../../../include/linux/sched.ts";
import type { kvm, kvm_memory_slot, kvm_vcpu } from "../../../../include/linux/kvm_host.ts";
import { type guest_memslot, GUEST_PAGE_PRIVATE } from "../../../../../cpu/memory.ts";
import type { vmcs_view } from "../../../../../cpu/vmcs.ts";
import {
  EPT_VIOLATION_GVA_IS_VALID,
  EXIT_REASON_CPUID,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_HLT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_TDCALL,
  EXIT_REASON_TRIPLE_FAULT,
  EXIT_REASON_WBINVD,
  EXIT_REASON_XSETBV,
  GP_VECTOR,
  GUEST_INTR_STATE_MOV_SS,
  GUEST_INTR_STATE_STI,
  INTR_INFO_DELIVER_CODE_MASK,
  INTR_INFO_VALID_MASK,
  INTR_TYPE_EXT_INTR,
  INTR_TYPE_HARD_EXCEPTION,
  INTR_TYPE_NMI_INTR,
  VE_VECTOR,
  X86_EFLAGS_IF,
} from "../../../../../cpu/vmx.ts";
import type { kvm_build_memory_map } from "../../../../virt/kvm/memslot_map.ts";
import { kvm_gmem_of_slot } from "../../../../virt/kvm/guest_memfd.ts";
import {
  type cpuid_entry,
  CPUID_ENTRY2_SIZE,
  get_cpuid_entry,
  kvm_cpuid,
  kvm_find_cpuid_entry_index,
  KVM_MAX_CPUID_ENTRIES,
  KVM_SUPPORTED_XCR0,
  put_cpuid_entry,
} from "../cpuid.ts";
import {
  HOST_TSC_KHZ,
  kvm_get_msr,
  kvm_msr_allowed,
  KVM_MSR_RET_FILTERED,
  KVM_MSR_RET_INVALID,
  KVM_MSR_RET_UNSUPPORTED,
  kvm_set_msr,
} from "../x86.ts";
import { num_present_cpus } from "../../../../include/linux/cpumask.ts";
import * as msr from "../../include/asm/msr-index.ts";
import {
  SEPT_FREE,
  SEPT_MAPPED,
  SEPT_PENDING,
  td_cpuid,
  td_cpuid_entry_of,
  td_params_alloc,
  td_set_ve_info,
  td_vapic_deliver,
  td_vapic_pending,
  td_vapic_post,
  td_vapic_rdmsr,
  td_vapic_set_tpr,
  td_vapic_tpr,
  td_vapic_virtualized_msr,
  td_vapic_wrmsr,
  td_vcpu_state_details,
  tdg_dispatch,
  tdh_mem_page_add,
  tdh_mem_page_add_measured,
  tdh_mem_page_aug,
  tdh_mem_page_remove,
  tdh_mem_range_block,
  tdh_mem_track,
  tdh_mng_create,
  tdh_mng_init,
  tdh_mng_key_config,
  tdh_mr_finalize,
  tdh_vp_create,
  tdh_vp_enter_after_vmcall,
  tdh_vp_init,
  type tdvmcall_exit,
  TDX_CONFIG_FLAGS_MAX_GPAW,
  TDX_CONFIG_FLAGS_NO_RBP_MOD,
  TDX_CPUID_NO_SUBLEAF,
  tdx_module_global,
  tdx_td,
  tdx_td_teardown,
  TDX_TSC_KHZ_UNIT,
  tdx_vcpu_load_initial_state,
  TDX_VCPU_STATE_DETAILS_INTR_PENDING,
  tdx_vp,
  VMX_EPTP_MT_WB,
  VMX_EPTP_PWL_4,
  VMX_EPTP_PWL_5,
} from "../../../../../tdx_module/mod.ts";
import { kvm_lapic_set_base, pv_unhalted, vcpu_apic } from "../lapic.ts";
import { kvm_vcpu_has_events } from "./vmx.ts";
import {
  trace_mr_finalize,
  trace_page_add,
  traced_seamcall,
} from "../../../../../tdx_module/trace.ts";

/** `KVM_SUPPORTED_TD_ATTRS`: KVM lets a TD choose only SEPT_VE_DISABLE. */
export const KVM_SUPPORTED_TD_ATTRS: bigint = TDX_TD_ATTR_SEPT_VE_DISABLE;
/** `TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT`: the optional call userspace may implement. */
export const TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT = 1n << 1n;
/** `TDX_MAP_GPA_MAX_LEN`: MapGPA exits to userspace in chunks of at most 2 MiB. */
export const TDX_MAP_GPA_MAX_LEN = 2n << 20n;
/** `TD_STATE_*` of `struct kvm_tdx` (KVM's view, beside the module's op state). */
const TD_STATE_UNINITIALIZED = 0;
const TD_STATE_INITIALIZED = 1;
const TD_STATE_RUNNABLE = 2;

/** `struct kvm_tdx`: KVM's part of a TD. */
export interface kvm_tdx {
  /** The module's TDR/TDCS. */
  readonly td: tdx_td;
  /** `TD_STATE_*`. */
  state: number;
  /** The HKID, 0 until INIT_VM. */
  hkid: number;
  /** The teardown failed and the HKID was leaked, as KVM leaks it. */
  hkid_leaked: boolean;
  /** The shared-GPA bit (`gfn_direct_bits` as a GPA bit), once INIT_VM set GPAW. */
  shared_bit: bigint;
  /**
   * The `mem_attrs.version` the last {@linkcode tdx_zap_converted} left no
   * shared page in the S-EPT at: pages join it only where the attribute is
   * private, so until the attributes change there is nothing to zap.
   */
  zapped_attrs_version: number;
}

/**
 * `struct pi_desc` (posted_intr.h): the posted-interrupt descriptor KVM owns
 * and the CPU reads at TD entry. `pir`: one bit per vector; `on`:
 * outstanding notification; `sn`: suppress notification.
 */
export interface pi_desc {
  readonly pir: Uint32Array;
  on: boolean;
  sn: boolean;
}

/** `struct vcpu_tdx`: KVM's part of a TD vCPU. */
interface vcpu_tdx {
  readonly vp: tdx_vp;
  initialized: boolean;
  /** `vt.pi_desc`. */
  readonly pi_desc: pi_desc;
  /**
   * `vt.exit_reason.basic` of the last TD exit as KVM names it
   * (`tdx_to_vmx_exit_reason()`: a TDVMCALL<HLT> is EXIT_REASON_HLT).
   */
  exit_reason: number;
  /** `vp_enter_args.r12` of the last TDVMCALL: for HLT, the interrupt-blocked flag. */
  vmcall_r12: bigint;
  /** The TDG.VP.VMCALL exit being handled (the VMM's view of the GPRs). */
  vmcall: tdvmcall_exit | null;
  map_gpa_next: bigint;
  map_gpa_end: bigint;
  map_gpa_shared: bigint;
  /**
   * The TD's own IA32_PAT, in its TDVPS: the TDX module context-switches it
   * and the TD reads and writes it natively. KVM's IA32_PAT for the vCPU
   * (`vcpu->arch.pat`, what KVM_GET/SET_MSRS and a TDVMCALL reach, as
   * `tdx_has_emulated_msr()` lists it) is a different value.
   */
  td_pat: bigint;
}

const tdx_of = new WeakMap<kvm, kvm_tdx>();
const vcpu_tdx_of = new WeakMap<kvm_vcpu, vcpu_tdx>();

/** `is_td()`: whether `k` is a TDX VM. */
export function is_td(k: kvm): boolean {
  return k.vm_type === KVM_X86_TDX_VM;
}

/**
 * `enable_tdx` after `__tdx_bringup()` (tdx.c, upstream v6.16+): KVM leaves
 * TDX off on a host with more logical CPUs than the module's
 * MAX_VCPUS_PER_TD, so that a TD can always have one vCPU per CPU.
 */
export function enable_tdx(): boolean {
  return tdx_module_global.sysinfo.td_conf.max_vcpus_per_td >= num_present_cpus();
}

/**
 * `to_kvm_tdx()`; created by `tdx_vm_init()` (or at first use), which also
 * limits `max_vcpus` to the present CPUs as KVM does for a TD (tdx.c,
 * upstream v6.16+: `min(kvm->max_vcpus, num_present_cpus())`).
 */
export function to_kvm_tdx(k: kvm): kvm_tdx {
  let t = tdx_of.get(k);
  if (!t) {
    t = {
      td: new tdx_td(tdx_module_global),
      state: TD_STATE_UNINITIALIZED,
      hkid: 0,
      hkid_leaked: false,
      shared_bit: 0n,
      zapped_attrs_version: -1,
    };
    tdx_of.set(k, t);
    k.max_vcpus = Math.min(k.max_vcpus, num_present_cpus());
  }
  return t;
}

/** `tdx_vm_init()`: a new TD's KVM state, at KVM_CREATE_VM. */
export function tdx_vm_init(k: kvm): void {
  to_kvm_tdx(k);
}

function to_tdx(vcpu: kvm_vcpu): vcpu_tdx {
  let t = vcpu_tdx_of.get(vcpu);
  if (!t) {
    t = {
      vp: new tdx_vp(),
      initialized: false,
      // tdx_vcpu_create() sets SN; vt_vcpu_pi_load() clears it when the vCPU
      // is first loaded, which every KVM_RUN and vCPU ioctl does first.
      pi_desc: { pir: new Uint32Array(8), on: false, sn: false },
      exit_reason: 0,
      vmcall_r12: 0n,
      vmcall: null,
      map_gpa_next: 0n,
      map_gpa_end: 0n,
      map_gpa_shared: 0n,
      td_pat: PAT_RESET_VALUE,
    };
    vcpu_tdx_of.set(vcpu, t);
  }
  return t;
}

// ---------------------------------------------------------------------------
// User copies.

const cmd_buf = kvm_tdx_cmd.alloc();

function copy_in(dst: Uint8Array, addr: bigint): boolean {
  return current.mm.copy_from_user(dst, addr, dst.length) === 0;
}

function copy_out(addr: bigint, src: Uint8Array): boolean {
  return current.mm.copy_to_user(addr, src, src.length) === 0;
}

/** `tdx_get_cmd()`: the header, EFAULT if unreadable, EINVAL if `hw_error` is not 0. */
function tdx_get_cmd(arg: bigint): number {
  if (!copy_in(cmd_buf.$bytes, arg)) return -EFAULT;
  if (cmd_buf.hw_error !== 0n) return -EINVAL;
  return 0;
}

// ---------------------------------------------------------------------------
// VM sub-commands.

/** The configurable CPUID leaves as KVM reports them (`td_init_cpuid_entry2()`). */
function tdx_cpuid_configs(): cpuid_entry[] {
  const c = tdx_module_global.sysinfo.td_conf;
  const out: cpuid_entry[] = [];
  for (let i = 0; i < c.num_cpuid_config; i++) {
    const l = c.cpuid_config_leaves[i]!;
    const [m0, m1] = c.cpuid_config_values[i]!;
    const sub = Number(l >> 32n);
    const e: cpuid_entry = {
      function: Number(l & 0xffffffffn),
      index: sub === TDX_CPUID_NO_SUBLEAF ? 0 : sub,
      flags: 0,
      eax: Number(m0 & 0xffffffffn),
      ebx: Number(m0 >> 32n),
      ecx: Number(m1 & 0xffffffffn),
      edx: Number(m1 >> 32n),
    };
    // 0x80000008.EAX[23:16] is KVM's knob rather than the module's: INIT_VM
    // takes the TD's GPAW from it, so all eight bits are shown as settable.
    if (e.function === 0x80000008) e.eax = (e.eax | 0xff0000) >>> 0;
    // KVM does not let a TD have TSX or WAITPKG.
    if (e.function === 7 && e.index === 0) {
      e.ebx = (e.ebx & ~((1 << 4) | (1 << 11))) >>> 0;
      e.ecx = (e.ecx & ~(1 << 5)) >>> 0;
    }
    out.push(e);
  }
  return out;
}

/**
 * `kvm_find_cpuid_entry2()`: the first entry of `function` whose index is
 * `index` or not significant (no KVM_CPUID_FLAG_SIGNIFCANT_INDEX).
 */
function kvm_find_cpuid_entry2(
  ents: readonly cpuid_entry[],
  fn: number,
  index: number,
): cpuid_entry | undefined {
  return ents.find((e) =>
    e.function === fn && (!(e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e.index === index)
  );
}

/**
 * `tdx_unsupported_cpuid()`: `has_tsx()` or `has_waitpkg()`, which look at
 * the entry's own function and index (7.0): HLE/RTM in EBX, WAITPKG in ECX.
 */
function tdx_unsupported_cpuid(e: cpuid_entry): boolean {
  return e.function === 7 && e.index === 0 &&
    ((e.ebx & ((1 << 4) | (1 << 11))) !== 0 || (e.ecx & (1 << 5)) !== 0);
}

function supported_xfam(): bigint {
  const c = tdx_module_global.sysinfo.td_conf;
  const x = KVM_SUPPORTED_XCR0 & c.xfam_fixed0;
  return (x & c.xfam_fixed1) === c.xfam_fixed1 ? x : 0n;
}

const CAPS_HDR = offsetof(kvm_tdx_capabilities, "cpuid") + 8;

/** `tdx_get_capabilities()`. */
function tdx_get_capabilities(): number {
  if (cmd_buf.flags) return -EINVAL;
  const data = cmd_buf.data;
  const nent_b = new Uint8Array(4);
  if (!copy_in(nent_b, data + BigInt(CAPS_HDR - 8))) return -EFAULT;
  const nent = new DataView(nent_b.buffer).getUint32(0, true);
  const cfg = tdx_cpuid_configs();
  if (nent < cfg.length) return -E2BIG;
  const caps = kvm_tdx_capabilities.view(new ArrayBuffer(CAPS_HDR));
  caps.supported_attrs = KVM_SUPPORTED_TD_ATTRS &
    tdx_module_global.sysinfo.td_conf.attributes_fixed0;
  caps.supported_xfam = supported_xfam();
  if (!caps.supported_attrs || !caps.supported_xfam) return -EIO;
  caps.user_tdvmcallinfo_1_r11 = TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT;
  caps.cpuid.nent = cfg.length;
  if (!copy_out(data, caps.$bytes)) return -EFAULT;
  const ents = new Uint8Array(cfg.length * CPUID_ENTRY2_SIZE);
  const dv = new DataView(ents.buffer);
  cfg.forEach((e, i) => put_cpuid_entry(dv, i * CPUID_ENTRY2_SIZE, e));
  return copy_out(data + BigInt(CAPS_HDR), ents) ? 0 : -EFAULT;
}

const INIT_VM_HDR = kvm_tdx_init_vm.size;

/** `tdx_td_init()`: validates `struct kvm_tdx_init_vm`, builds TD_PARAMS, runs TDH.MNG.*. */
function tdx_td_init(k: kvm, t: kvm_tdx): number {
  if (t.state !== TD_STATE_UNINITIALIZED) return -EINVAL;
  if (cmd_buf.flags) return -EINVAL;
  const data = cmd_buf.data;
  const hdr = kvm_tdx_init_vm.view(new ArrayBuffer(INIT_VM_HDR));
  if (!copy_in(hdr.$bytes, data)) return -EFAULT;
  const nent = hdr.cpuid.nent;
  if (nent > KVM_MAX_CPUID_ENTRIES) return -E2BIG;
  const ents_b = new Uint8Array(nent * CPUID_ENTRY2_SIZE);
  if (nent && !copy_in(ents_b, data + BigInt(INIT_VM_HDR))) return -EFAULT;
  for (let i = 0; i < 12; i++) if (hdr.reserved.at(i) !== 0n) return -EINVAL;
  if (hdr.cpuid.padding !== 0) return -EINVAL;
  if (k.created_vcpus) return -EBUSY;
  if (hdr.attributes & ~KVM_SUPPORTED_TD_ATTRS) return -EINVAL;
  if (hdr.xfam & ~supported_xfam()) return -EINVAL;
  const dv = new DataView(ents_b.buffer);
  const ents: cpuid_entry[] = [];
  for (let i = 0; i < nent; i++) ents.push(get_cpuid_entry(dv, i * CPUID_ENTRY2_SIZE));
  // setup_tdparams_eptp_controls(): GPAW from 0x80000008.EAX[23:16].
  const ext8 = kvm_find_cpuid_entry2(ents, 0x80000008, 0);
  if (!ext8) return -EINVAL;
  const gpaw = (ext8.eax >> 16) & 0xff;
  if (gpaw !== 48 && gpaw !== 52) return -EINVAL;
  if (gpaw === 52 && !tdx_module_global.sysinfo.sept_5level) return -EINVAL;
  const cfg = tdx_cpuid_configs();
  const params = td_params_alloc();
  // setup_tdparams_cpuids() (tdx.c at 09c6f74e): for each configurable leaf
  // of the module, in its order, the first entry kvm_find_cpuid_entry2()
  // matches (same function, and the same index unless the entry's index is
  // not significant) fills that slot; a matched entry with TSX or WAITPKG is
  // refused there and then; in the end every entry must have filled a slot.
  let copy_cnt = 0;
  for (let i = 0; i < cfg.length; i++) {
    const c = cfg[i]!;
    const e = kvm_find_cpuid_entry2(ents, c.function, c.index);
    if (!e) continue;
    if (tdx_unsupported_cpuid(e)) return -EINVAL;
    copy_cnt++;
    const v = params.cpuid_values.at(i);
    v.eax = c.function === 0x80000008 ? (e.eax & ~0xff0000) >>> 0 : e.eax;
    v.ebx = e.ebx;
    v.ecx = e.ecx;
    v.edx = e.edx;
  }
  if (copy_cnt !== nent) return -EINVAL;

  params.attributes = hdr.attributes | tdx_module_global.sysinfo.td_conf.attributes_fixed1;
  params.xfam = hdr.xfam | tdx_module_global.sysinfo.td_conf.xfam_fixed1;
  params.max_vcpus = k.max_vcpus;
  params.eptp_controls = VMX_EPTP_MT_WB | (gpaw === 52 ? VMX_EPTP_PWL_5 : VMX_EPTP_PWL_4);
  params.config_flags = TDX_CONFIG_FLAGS_NO_RBP_MOD |
    (gpaw === 52 ? TDX_CONFIG_FLAGS_MAX_GPAW : 0n);
  params.tsc_frequency = Math.floor((k.arch.default_tsc_khz || HOST_TSC_KHZ) / TDX_TSC_KHZ_UNIT);
  params.mr_config_id.$bytes.set(hdr.mrconfigid.$bytes);
  params.mr_owner.$bytes.set(hdr.mrowner.$bytes);
  params.mr_owner_config.$bytes.set(hdr.mrownerconfig.$bytes);

  // __tdx_td_init() (tdx.c at 09c6f74e), in its order: the HKID, the TDR
  // page, TDH.MNG.CREATE (no entropy is -EAGAIN, anything else bugs the
  // VM), the key configuration, TDH.MNG.INIT (a bad operand is -EINVAL with
  // hw_error, anything else bugs the VM).
  const m = tdx_module_global;
  const hkid = m.guest_keyid_alloc();
  if (hkid < 0) return hkid;
  if (alloc_fails("tdr")) {
    m.guest_keyid_free(hkid);
    return -ENOMEM;
  }
  const td = t.td;
  let st = traced_seamcall("TDH.MNG.CREATE", tdh_mng_create(td, hkid));
  if (st !== TDX_SUCCESS) {
    m.guest_keyid_free(hkid);
    if (st === TDX_RND_NO_ENTROPY) return -EAGAIN;
    return TDX_BUG_ON(k);
  }
  t.hkid = hkid;
  st = traced_seamcall("TDH.MNG.KEY.CONFIG", tdh_mng_key_config(td));
  if (st !== TDX_SUCCESS) {
    if (!tdx_td_teardown(td)) t.hkid_leaked = true;
    t.hkid = 0;
    return TDX_BUG_ON(k);
  }
  st = traced_seamcall("TDH.MNG.INIT", tdh_mng_init(td, params));
  if (st !== TDX_SUCCESS) {
    // __tdx_td_init()'s unwind: the HKID goes back to the pool.
    if (!tdx_td_teardown(td)) t.hkid_leaked = true;
    t.hkid = 0;
    if ((st & 0xffffffff00000000n) === TDX_OPERAND_INVALID) {
      cmd_buf.hw_error = st;
      return -EINVAL;
    }
    return TDX_BUG_ON(k);
  }
  t.state = TD_STATE_INITIALIZED;
  t.shared_bit = td.shared_bit;
  return 0;
}

/** `tdx_td_finalize()`. */
function tdx_td_finalize(k: kvm, t: kvm_tdx): number {
  if (!t.hkid || t.state !== TD_STATE_INITIALIZED) return -EINVAL;
  const st = trace_mr_finalize(t.td, tdh_mr_finalize(t.td));
  cmd_buf.hw_error = st;
  if (st === TDX_OPERAND_BUSY) return -EBUSY;
  if (st !== TDX_SUCCESS) return TDX_BUG_ON(k);
  t.state = TD_STATE_RUNNABLE;
  // KVM_PRE_FAULT_MEMORY would AUG pages into the S-EPT, so it is enabled
  // only after TDH.MR.FINALIZE has sealed the measurement.
  k.arch.pre_fault_allowed = true;
  k.generation++;
  return 0;
}

/** The KVM_MEMORY_ENCRYPT_OP sub-commands `tdx_vm_ioctl()` answers. */
export const tdx_vm_ioctl_cmds: readonly number[] = [
  KVM_TDX_CAPABILITIES,
  KVM_TDX_INIT_VM,
  KVM_TDX_FINALIZE_VM,
];

/** `tdx_vm_ioctl()`: KVM_MEMORY_ENCRYPT_OP on a TD's VM fd. */
export function tdx_vm_ioctl(k: kvm, arg: bigint): number {
  let r = tdx_get_cmd(arg);
  if (r) return r;
  const t = to_kvm_tdx(k);
  switch (cmd_buf.id) {
    case KVM_TDX_CAPABILITIES:
      return tdx_get_capabilities();
    case KVM_TDX_INIT_VM:
      r = tdx_td_init(k, t);
      break;
    case KVM_TDX_FINALIZE_VM:
      r = tdx_td_finalize(k, t);
      break;
    default:
      return -EINVAL;
  }
  // The header goes back whether or not the sub-command failed.
  if (!copy_out(arg, cmd_buf.$bytes)) return -EFAULT;
  return r;
}

// ---------------------------------------------------------------------------
// vCPU sub-commands.

/** `tdx_vcpu_precreate` (`tdx_vcpu_create()`'s checks): INIT_VM done, split irqchip. */
export function tdx_vcpu_precreate(k: kvm): number {
  const t = to_kvm_tdx(k);
  if (t.state !== TD_STATE_INITIALIZED) return -EIO;
  // Only a split irqchip: the LAPIC is in the kernel, PIC/IOAPIC in userspace.
  if (k.arch.irqchip_mode !== 2) return -EINVAL;
  return 0;
}

/** `tdx_vcpu_init()`: TDH.VP.CREATE + INIT, x2APIC base, the reset state into the VMCS. */
function tdx_vcpu_init(vcpu: kvm_vcpu, t: kvm_tdx): number {
  const x = to_tdx(vcpu);
  if (cmd_buf.flags) return -EINVAL;
  if (x.initialized) return -EINVAL;
  // kvm_apic_set_base(X2APIC_ENABLE): reserved unless the KVM CPUID has x2APIC.
  const l1 = kvm_find_cpuid_entry_index(vcpu.arch.cpuid_entries, 1, 0);
  if (!l1 || !(l1.ecx & (1 << 21))) return -EINVAL;
  // TDH.VP.CREATE and TDH.VP.INIT failures are KVM bugs (TDX_BUG_ON): -EIO, VM dead.
  if (!x.vp.td && traced_seamcall("TDH.VP.CREATE", tdh_vp_create(t.td, x.vp)) !== TDX_SUCCESS) {
    return TDX_BUG_ON(vcpu.kvm);
  }
  if (
    traced_seamcall("TDH.VP.INIT", tdh_vp_init(x.vp, cmd_buf.data, vcpu.vcpu_id)) !== TDX_SUCCESS
  ) return TDX_BUG_ON(vcpu.kvm);
  const old_apic_base = vcpu.arch.vmcs.apic_base;
  tdx_vcpu_load_initial_state(vcpu.arch.vmcs, x.vp);
  // kvm_apic_set_base(X2APIC): the in-kernel LAPIC takes the x2APIC ID/LDR.
  // KVM marks the APIC protected at vCPU creation (tdx_vcpu_create()); until
  // this point no interrupt can be accepted (the APIC is software-disabled).
  kvm_lapic_set_base(vcpu, old_apic_base);
  const apic = vcpu_apic(vcpu);
  if (apic) apic.guest_apic_protected = true;
  // KVM's emulated MISC_ENABLE of a TD: PEBS and BTS unavailable, nothing else.
  vcpu.arch.vmcs.misc_enable = msr.MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
    msr.MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
  x.initialized = true;
  vcpu.arch.mp_state = KVM_MP_STATE_RUNNABLE;
  return 0;
}

/** The memslot of address space 0 that holds `gfn`, if any. */
function slot_of(k: kvm, gfn: number): kvm_memory_slot | undefined {
  for (const s of k.memslots[0]!.values()) {
    if (gfn >= s.base_gfn && gfn < s.base_gfn + s.npages) return s;
  }
  return undefined;
}

/**
 * The guest_memfd page of `slot` that backs `gfn`: null when the file has no
 * memory there, "noslot" when the slot is not a guest_memfd one.
 */
function gmem_page_in(slot: kvm_memory_slot, gfn: number): Uint8Array | null | "noslot" {
  if (!(slot.flags & KVM_MEM_GUEST_MEMFD) || !slot.gmem) return "noslot";
  const g = kvm_gmem_of_slot(slot);
  if (!g) return null;
  const off = slot.gmem.pgoff * 4096 + (gfn - slot.base_gfn) * 4096;
  const cs = g.backing.chunk_size;
  const ci = Math.floor(off / cs);
  const chunk = g.backing.chunk(ci);
  if (!chunk) return null;
  return new Uint8Array(chunk, off - ci * cs, 4096);
}

/** The guest_memfd page that backs private `gfn`, or null (no slot, no gmem). */
function gmem_page(k: kvm, gfn: number): Uint8Array | null | "noslot" {
  const s = slot_of(k, gfn);
  return s ? gmem_page_in(s, gfn) : "noslot";
}

function gfn_private(k: kvm, gfn: number): boolean {
  return (k.mem_attrs.get(gfn) & 8n) !== 0n;
}

/**
 * Source pages pinned at once by {@linkcode tdx_vcpu_init_mem_region}: the
 * kernel pins one page per kvm_gmem_populate() call; looking a 2 MiB run up
 * in one go gives the same pages for a fraction of the cost.
 */
const PIN_BATCH_PAGES = 512;

/** `tdx_vcpu_init_mem_region()` + `tdx_gmem_post_populate()`. */
function tdx_vcpu_init_mem_region(vcpu: kvm_vcpu, t: kvm_tdx): number {
  const k = vcpu.kvm;
  if (!to_tdx(vcpu).initialized) return -EINVAL;
  if (cmd_buf.flags & ~KVM_TDX_MEASURE_MEMORY_REGION) return -EINVAL;
  const arg = cmd_buf.data;
  const region = kvm_tdx_init_mem_region.alloc();
  if (!copy_in(region.$bytes, arg)) return -EFAULT;
  const mask = t.shared_bit;
  let { gpa, source_addr, nr_pages } = region;
  const end = gpa + nr_pages * 4096n;
  if (
    (source_addr & 0xfffn) || (gpa & 0xfffn) || !nr_pages ||
    BigInt.asUintN(64, end) <= gpa || (gpa & mask) || ((end - 1n) & mask)
  ) return -EINVAL;
  if (source_addr === 0n) return -EINVAL;
  const measure = (cmd_buf.flags & KVM_TDX_MEASURE_MEMORY_REGION) !== 0;
  const src = new Uint8Array(4096);
  // A run of source pages aliased at once, and the slot of the last GFN.
  let pinned_run: Uint8Array | null = null;
  let pinned_left = 0;
  let slot: kvm_memory_slot | undefined;
  let r = 0;
  while (nr_pages) {
    const gfn = Number(gpa >> 12n);
    if (!slot || gfn < slot.base_gfn || gfn >= slot.base_gfn + slot.npages) {
      slot = slot_of(k, gfn);
    }
    const page = slot ? gmem_page_in(slot, gfn) : "noslot";
    if (page === "noslot") {
      r = -EINVAL;
      break;
    }
    if (!page) {
      r = -EFAULT;
      break;
    }
    if (t.td.sept.state(gfn) !== SEPT_FREE) {
      r = -EEXIST;
      break;
    }
    if (!gfn_private(k, gfn)) {
      r = -EINVAL;
      break;
    }
    // The source page is pinned (get_user_pages) and the module copies from
    // it: alias it when it lies in one buffer, else copy it in.
    if (!pinned_left) {
      pinned_left = nr_pages < BigInt(PIN_BATCH_PAGES) ? Number(nr_pages) : PIN_BATCH_PAGES;
      pinned_run = current.mm.user_memory(source_addr, pinned_left * 4096);
    }
    let source: Uint8Array;
    if (pinned_run) {
      const at = pinned_run.length - pinned_left * 4096;
      source = pinned_run.subarray(at, at + 4096);
    } else if (copy_in(src, source_addr)) {
      source = src;
    } else {
      r = -EFAULT;
      break;
    }
    pinned_left--;
    const st = measure
      ? trace_page_add(gpa, source, true, tdh_mem_page_add_measured(t.td, gpa, page, source))
      : trace_page_add(gpa, source, false, tdh_mem_page_add(t.td, gpa, page, source));
    if (st !== TDX_SUCCESS) {
      // tdx_mem_page_add(): busy is -EBUSY for userspace to retry; anything else a KVM bug.
      r = st === TDX_OPERAND_BUSY ? -EBUSY : TDX_BUG_ON(k);
      break;
    }
    source_addr += 4096n;
    gpa += 4096n;
    nr_pages -= 1n;
  }
  k.generation++;
  // The kernel writes the advanced region back whatever the outcome, so a
  // caller can resume after the page that failed.
  region.gpa = gpa;
  region.source_addr = source_addr;
  region.nr_pages = nr_pages;
  if (!copy_out(arg, region.$bytes)) return -EFAULT;
  return r;
}

/** `tdx_vcpu_get_cpuid()`: the TD's virtual CPUID as the module reports it. */
function tdx_vcpu_get_cpuid(t: kvm_tdx): number {
  const arg = cmd_buf.data;
  const hdr = new Uint8Array(8);
  if (!copy_in(hdr, arg)) return -EFAULT;
  const hdv = new DataView(hdr.buffer);
  const cap = hdv.getUint32(0, true);
  const table = t.td.cpuid;
  if (!table) return -EIO;
  const out: cpuid_entry[] = [];
  const add = (leaf: number) => {
    const e = td_cpuid_entry_of(table, leaf, TDX_CPUID_NO_SUBLEAF);
    if (e && e.sub_leaf === TDX_CPUID_NO_SUBLEAF) {
      out.push({
        function: leaf,
        index: 0,
        flags: 0,
        eax: e.eax,
        ebx: e.ebx,
        ecx: e.ecx,
        edx: e.edx,
      });
      return;
    }
    for (let sub = 0;; sub++) {
      const s = td_cpuid_entry_of(table, leaf, sub);
      if (!s || s.sub_leaf !== sub) break;
      out.push({
        function: leaf,
        index: sub,
        flags: KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
        eax: s.eax,
        ebx: s.ebx,
        ecx: s.ecx,
        edx: s.edx,
      });
    }
  };
  const l0 = td_cpuid_entry_of(table, 0, TDX_CPUID_NO_SUBLEAF);
  const x0 = td_cpuid_entry_of(table, 0x80000000, TDX_CPUID_NO_SUBLEAF);
  if (!l0 || !x0) return -EIO;
  for (let l = 0; l <= l0.eax; l++) add(l);
  for (let l = 0x80000000; l <= x0.eax; l++) add(l);
  for (const e of out) {
    if (e.function === 0x80000008) e.eax = ((e.eax & ~0xff0000) | (t.td.gpaw << 16)) >>> 0;
  }
  hdv.setUint32(0, out.length, true);
  if (cap < out.length) return copy_out(arg, hdr) ? -E2BIG : -EFAULT;
  const b = new Uint8Array(out.length * CPUID_ENTRY2_SIZE);
  const dv = new DataView(b.buffer);
  out.forEach((e, i) => put_cpuid_entry(dv, i * CPUID_ENTRY2_SIZE, e));
  if (!copy_out(arg, hdr) || !copy_out(arg + 8n, b)) return -EFAULT;
  return 0;
}

/** The KVM_MEMORY_ENCRYPT_OP sub-commands `tdx_vcpu_ioctl()` answers. */
export const tdx_vcpu_ioctl_cmds: readonly number[] = [
  KVM_TDX_INIT_VCPU,
  KVM_TDX_INIT_MEM_REGION,
  KVM_TDX_GET_CPUID,
];

/** `tdx_vcpu_ioctl()`: KVM_MEMORY_ENCRYPT_OP on a TD vCPU fd. */
export function tdx_vcpu_ioctl(vcpu: kvm_vcpu, arg: bigint): number {
  if (!is_td(vcpu.kvm)) return -EINVAL;
  const r = tdx_get_cmd(arg);
  if (r) return r;
  const t = to_kvm_tdx(vcpu.kvm);
  if (!t.hkid || t.state === TD_STATE_RUNNABLE) return -EINVAL;
  switch (cmd_buf.id) {
    case KVM_TDX_INIT_VCPU:
      return tdx_vcpu_init(vcpu, t);
    case KVM_TDX_INIT_MEM_REGION:
      return tdx_vcpu_init_mem_region(vcpu, t);
    case KVM_TDX_GET_CPUID:
      return tdx_vcpu_get_cpuid(t);
    default:
      return -EINVAL;
  }
}

/** `tdx_vm_destroy()`: flush, free the HKID, reclaim. */
export function tdx_vm_destroy(k: kvm): void {
  const t = tdx_of.get(k);
  if (!t) return;
  if (!tdx_td_teardown(t.td)) t.hkid_leaked = true;
  t.hkid = 0;
  tdx_of.delete(k);
}

/** The HKID of `k`'s TD (0 before INIT_VM or after teardown), for tests. */
export function tdx_hkid(k: kvm): number {
  return tdx_of.get(k)?.hkid ?? 0;
}

// ---------------------------------------------------------------------------
// KVM_RUN.

/** `tdx_vcpu_pre_run()`: the TD must be finalized and the vCPU initialised. */
export function tdx_vcpu_pre_run(vcpu: kvm_vcpu): number {
  const t = to_kvm_tdx(vcpu.kvm);
  if (t.state !== TD_STATE_RUNNABLE || !to_tdx(vcpu).initialized) return -EINVAL;
  // Sync regs: the valid mask is 0 for protected-state VMs.
  if (vcpu.run.getBigUint64(R_VALID_REGS, true) || vcpu.run.getBigUint64(R_DIRTY_REGS, true)) {
    return -EINVAL;
  }
  return 0;
}

/**
 * The stage-2 view of a TD for the CPU: shared ranges as they are; private
 * (guest_memfd) ranges only for GFNs the Secure EPT maps, the others with the
 * PRIVATE attribute and no backing so that the access exits to KVM. Private
 * pages whose attribute went back to shared are zapped from the Secure EPT
 * first (TDH.MEM.RANGE.BLOCK, TRACK, PAGE.REMOVE), as KVM zaps on an
 * attribute conversion: their content is gone for the guest.
 */
export function tdx_memmap(k: kvm, ranges: ReturnType<typeof kvm_build_memory_map>) {
  const t = to_kvm_tdx(k);
  const td = t.td;
  if (td.sept.nr_pages) tdx_zap_converted(k, t);
  const slots: guest_memslot[] = [];
  for (const r of ranges) {
    if (!r.buffer) continue;
    const backing = {
      chunks: [r.buffer],
      chunk_size: Math.ceil(r.buffer.byteLength / 4096) * 4096,
      offset: r.offset,
    };
    if (!r.private) {
      slots.push({
        slot: r.slot,
        base_gpa: BigInt(r.gpa),
        npages: r.size / 4096,
        readonly: false,
        backing,
      });
      continue;
    }
    const first = r.gpa / 4096;
    const n = r.size / 4096;
    let i = 0;
    while (i < n) {
      const mapped = td.sept.state(first + i) === SEPT_MAPPED;
      let j = i + 1;
      while (j < n && (td.sept.state(first + j) === SEPT_MAPPED) === mapped) j++;
      const attributes = new Uint8Array(j - i).fill(GUEST_PAGE_PRIVATE);
      const sub = { ...backing, offset: r.offset + i * 4096 };
      slots.push({
        slot: r.slot,
        base_gpa: BigInt(r.gpa + i * 4096),
        npages: j - i,
        readonly: false,
        backing: sub,
        ...(mapped ? { private_backing: sub } : {}),
        attributes,
      });
      i = j;
    }
  }
  return { slots };
}

/**
 * `TDX_BUG_ON()`: an unexpected SEAMCALL error is a KVM bug; the VM is
 * marked bugged (every later VM and vCPU ioctl is -EIO) and the call fails.
 */
function TDX_BUG_ON(k: kvm): number {
  k.vm_dead = true;
  return -EIO;
}

/**
 * `tdh_do_no_vcpus()`: an S-EPT BLOCK, TRACK or REMOVE may find a module lock
 * held by a vCPU inside a TDCALL and answer TDX_OPERAND_BUSY. KVM then forces
 * every vCPU out of guest mode and issues the same SEAMCALL a second time,
 * whose status is final.
 */
function tdh_do_no_vcpus(call: () => bigint): bigint {
  const err = call();
  return (err & 0xffffffff00000000n) === TDX_OPERAND_BUSY ? call() : err;
}

function tdx_zap_converted(k: kvm, t: kvm_tdx): void {
  if (t.zapped_attrs_version === k.mem_attrs.version) return;
  const td = t.td;
  const present = td.sept.present();
  for (let i = 0; i < present.length; i++) {
    const gfn = present[i]!;
    if (gfn_private(k, gfn)) continue;
    const gpa = BigInt(gfn) << 12n;
    // tdx_sept_remove_private_spte(): each step through tdh_do_no_vcpus(),
    // which retries once after a busy answer; a failure bugs the VM.
    if (
      tdh_do_no_vcpus(() => tdh_mem_range_block(td, gpa)) !== TDX_SUCCESS ||
      tdh_do_no_vcpus(() => tdh_mem_track(td)) !== TDX_SUCCESS ||
      tdh_do_no_vcpus(() => tdh_mem_page_remove(td, gpa)) !== TDX_SUCCESS
    ) {
      TDX_BUG_ON(k);
      return;
    }
  }
  t.zapped_attrs_version = k.mem_attrs.version;
}

function exit_to_user(vcpu: kvm_vcpu, reason: number): number {
  vcpu.run.setUint32(R_EXIT_REASON, reason, true);
  return 0;
}

/**
 * RIP past the exiting instruction: the VMCS exit protocol's "completed";
 * blocking by STI or MOV SS covered only that instruction.
 */
function skip(v: vmcs_view): number {
  v.rip = BigInt.asUintN(64, v.rip + BigInt(v.exit_instruction_len));
  v.interruptibility_info &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
  return 1;
}

function inject(v: vmcs_view, vector: number, error_code?: number): number {
  let info = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | vector;
  if (error_code !== undefined) {
    info |= INTR_INFO_DELIVER_CODE_MASK;
    v.entry_exception_error_code = error_code;
  }
  v.entry_intr_info = info >>> 0;
  return 1;
}

/** The module injects #VE for an instruction it does not virtualise. */
function inject_ve(v: vmcs_view, reason: number, qual = 0n, gpa = 0n, gla = 0n): number {
  if (!td_set_ve_info(v, reason, qual, gla, gpa, v.exit_instruction_len)) {
    return inject(v, 8, 0); // #VE with the VE info unread: #DF
  }
  return inject(v, VE_VECTOR);
}

/** `kvm_prepare_memory_fault_exit()`. */
function memory_fault(vcpu: kvm_vcpu, gpa: bigint, priv: boolean): number {
  const run = vcpu.run;
  run.setUint32(R_EXIT_REASON, KVM_EXIT_MEMORY_FAULT, true);
  run.setBigUint64(R_MF_FLAGS, priv ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n, true);
  run.setBigUint64(R_MF_GPA, gpa & ~0xfffn, true);
  run.setBigUint64(R_MF_SIZE, 4096n, true);
  return -EFAULT;
}

/**
 * A private GFN the Secure EPT does not map: KVM faults it in from
 * guest_memfd with TDH.MEM.PAGE.AUG (pending) when the attribute is private
 * and the slot has guest_memfd; otherwise a memory-fault exit. Returns 1 when
 * the page is now augmented, or the KVM_RUN result.
 */
function tdx_fault_private(vcpu: kvm_vcpu, t: kvm_tdx, gpa: bigint): number {
  const k = vcpu.kvm;
  const gfn = Number(gpa >> 12n);
  if (!gfn_private(k, gfn)) return memory_fault(vcpu, gpa, true);
  const page = gmem_page(k, gfn);
  if (!page || page === "noslot") return memory_fault(vcpu, gpa, true);
  const st = t.td.sept.state(gfn);
  if (st === SEPT_FREE) {
    const r = traced_seamcall(
      "TDH.MEM.PAGE.AUG",
      tdh_mem_page_aug(t.td, gpa & ~0xfffn),
      gpa & ~0xfffn,
    );
    // Busy: the fault is retried (RET_PF_RETRY), the guest re-executes the access.
    if (r === TDX_OPERAND_BUSY) return 1;
    if (r !== TDX_SUCCESS) return TDX_BUG_ON(k);
    k.generation++;
  }
  return 1;
}

/**
 * The private half of `kvm_tdp_map_page()` for KVM_PRE_FAULT_MEMORY on a
 * finalized TD: the page is AUGed into the S-EPT (left PENDING for the
 * guest to accept). 0, or a negative errno with the memory-fault exit
 * prepared.
 */
export function tdx_pre_fault_private(vcpu: kvm_vcpu, gpa: bigint): number {
  const t = to_kvm_tdx(vcpu.kvm);
  // RET_PF_RETRY on a busy S-EPT: the kernel loops; so does this.
  for (let i = 0; i < 16; i++) {
    const r = tdx_fault_private(vcpu, t, gpa);
    if (r <= 0) return r;
    if (t.td.sept.state(Number(gpa >> 12n)) !== SEPT_FREE) return 0;
  }
  return -EIO;
}

/** A private access hit a PENDING page: #VE, or (SEPT_VE_DISABLE) a dead VM. */
function tdx_pending_access(vcpu: kvm_vcpu, t: kvm_tdx, v: vmcs_view, gpa: bigint, q: bigint) {
  if (t.td.pending_ve_disable) {
    // With SEPT_VE_DISABLE no #VE reports an unaccepted page; KVM ends the
    // VM (kvm_vm_dead()) instead.
    vcpu.kvm.vm_dead = true;
    return -EIO;
  }
  // Exit qualification bit 7: the access had a linear address, which the
  // module reports as VE_INFO.GLA (R8 of TDG.VP.VEINFO.GET).
  const gla = q & BigInt(EPT_VIOLATION_GVA_IS_VALID) ? v.guest_linear_address : 0n;
  return inject_ve(v, EXIT_REASON_EPT_VIOLATION, q & 0xfffn, gpa, gla);
}

function tdx_handle_ept_violation(vcpu: kvm_vcpu, t: kvm_tdx, v: vmcs_view): number {
  const gpa = v.guest_physical_address;
  const q = v.exit_qualification;
  const priv = (q >> 32n & 1n) !== 0n;
  if (!priv) return memory_fault(vcpu, gpa, false);
  const gfn = Number(gpa >> 12n);
  if (!gfn_private(vcpu.kvm, gfn)) return memory_fault(vcpu, gpa, true);
  const r = tdx_fault_private(vcpu, t, gpa);
  if (r <= 0) return r;
  if (t.td.sept.state(gfn) === SEPT_PENDING) return tdx_pending_access(vcpu, t, v, gpa, q);
  return 1;
}

const msr_data = [0n];

/**
 * `EXIT_REASON_APIC_WRITE` (SDM vol. 3D, appendix C): a write the CPU could
 * not virtualize; the exit qualification is the register's page offset.
 * The module reflects it to the TD as #VE (kvm-unit-tests' TDX x2APIC test
 * expects #VE for a SELF IPI write of vector 0..15).
 */
const EXIT_REASON_APIC_WRITE = 56;

/** MSRs the TDX module lets the TD access natively (no #VE). */
const TD_NATIVE_MSRS = new Set<number>([
  msr.MSR_EFER,
  msr.MSR_FS_BASE,
  msr.MSR_GS_BASE,
  msr.MSR_KERNEL_GS_BASE,
  msr.MSR_STAR,
  msr.MSR_LSTAR,
  msr.MSR_CSTAR,
  msr.MSR_SYSCALL_MASK,
  msr.MSR_IA32_SYSENTER_CS,
  msr.MSR_IA32_SYSENTER_ESP,
  msr.MSR_IA32_SYSENTER_EIP,
  msr.MSR_IA32_CR_PAT,
  msr.MSR_TSC_AUX,
  msr.MSR_IA32_SPEC_CTRL,
]);

/** IA32_PAT at power-on (SDM vol. 3 §13.12.4): WB, WT, UC-, UC, repeated. */
const PAT_RESET_VALUE = 0x0007040600070406n;

/** Each PAT entry must be a valid memory type (0, 1, 4, 5, 6 or 7). */
function pat_valid(d: bigint): boolean {
  for (let i = 0n; i < 64n; i += 8n) {
    const t = (d >> i) & 0xffn;
    if (t === 2n || t === 3n || t > 7n) return false;
  }
  return true;
}

/** The module's handling of a native RDMSR/WRMSR: native ones run, the others #VE. */
function tdx_native_msr(vcpu: kvm_vcpu, v: vmcs_view, write: boolean): number {
  const index = Number(v.regs.at(1) & 0xffffffffn);
  const reason = write ? EXIT_REASON_MSR_WRITE : EXIT_REASON_MSR_READ;
  if (td_vapic_virtualized_msr(index)) {
    // x2APIC virtualization: TPR, PPR, EOI, ISR, TMR, IRR and SELF IPI are
    // the TD's virtual-APIC page; a write may make an interrupt deliverable,
    // which the next entry delivers.
    const vapic = to_tdx(vcpu).vp.vapic;
    if (write) {
      const d = (v.regs.at(2) & 0xffffffffn) << 32n | (v.regs.at(0) & 0xffffffffn);
      const w = td_vapic_wrmsr(vapic, index, d);
      if (w === "gp") return inject(v, GP_VECTOR, 0);
      if (w === "apic_write") return inject_ve(v, EXIT_REASON_APIC_WRITE, BigInt(APIC_SELF_IPI));
    } else {
      const d = td_vapic_rdmsr(vapic, index);
      if (d === null) return inject(v, GP_VECTOR, 0);
      v.regs.set(0, d & 0xffffffffn);
      v.regs.set(2, d >> 32n);
    }
    return skip(v);
  }
  const native = TD_NATIVE_MSRS.has(index) || (!write && index === msr.MSR_IA32_TSC);
  if (!native) return inject_ve(v, reason, 0n);
  if (index === msr.MSR_IA32_CR_PAT) {
    // The TD's PAT, never KVM's emulated one (tdx.c lists PAT as emulated:
    // host accesses reach vcpu->arch.pat, not this).
    const x = to_tdx(vcpu);
    if (write) {
      const d = (v.regs.at(2) & 0xffffffffn) << 32n | (v.regs.at(0) & 0xffffffffn);
      if (!pat_valid(d)) return inject(v, GP_VECTOR, 0);
      x.td_pat = d;
    } else {
      v.regs.set(0, x.td_pat & 0xffffffffn);
      v.regs.set(2, x.td_pat >> 32n);
    }
    return skip(v);
  }
  if (write) {
    const d = (v.regs.at(2) & 0xffffffffn) << 32n | (v.regs.at(0) & 0xffffffffn);
    if (index === msr.MSR_EFER) return inject(v, GP_VECTOR, 0);
    if (kvm_set_msr(vcpu, index, d, true)) return inject(v, GP_VECTOR, 0);
  } else {
    if (kvm_get_msr(vcpu, index, msr_data, true)) return inject(v, GP_VECTOR, 0);
    v.regs.set(0, msr_data[0]! & 0xffffffffn);
    v.regs.set(2, msr_data[0]! >> 32n);
  }
  return skip(v);
}

/** Native CPUID in a TD: the module answers from the TD CPUID table or raises #VE. */
function tdx_native_cpuid(vcpu: kvm_vcpu, t: kvm_tdx, v: vmcs_view): number {
  const x = to_tdx(vcpu);
  const leaf = Number(v.regs.at(0) & 0xffffffffn);
  const sub = Number(v.regs.at(1) & 0xffffffffn);
  const r = td_cpuid(t.td, x.vp, leaf, sub, v.ss.dpl, v.cr4, v.xcr0);
  if (r === "#VE") return inject_ve(v, EXIT_REASON_CPUID, 0n);
  for (let i = 0; i < 4; i++) v.regs.set([0, 3, 1, 2][i]!, BigInt(r[i]! >>> 0));
  return skip(v);
}

/** XSETBV is native in a TD, limited by XFAM. */
function tdx_native_xsetbv(t: kvm_tdx, v: vmcs_view): number {
  const idx = Number(v.regs.at(1) & 0xffffffffn);
  const val = (v.regs.at(2) & 0xffffffffn) << 32n | (v.regs.at(0) & 0xffffffffn);
  if (idx !== 0 || v.ss.dpl !== 0 || !(val & 1n) || (val & ~t.td.xfam)) {
    return inject(v, GP_VECTOR, 0);
  }
  v.xcr0 = val;
  return skip(v);
}

/**
 * `tdx_handle_exit()`: a TD vCPU's exit. Returns 1 to re-enter, the KVM_RUN
 * result, or null when the generic VMX handling applies (simulator exits).
 */
export function tdx_handle_exit(vcpu: kvm_vcpu, reason: number): number | null {
  const t = to_kvm_tdx(vcpu.kvm);
  const v = vcpu.arch.vmcs;
  to_tdx(vcpu).exit_reason = reason;
  switch (reason) {
    case EXIT_REASON_TDCALL:
      return tdx_handle_tdcall(vcpu, t, v);
    case EXIT_REASON_EPT_VIOLATION:
      return tdx_handle_ept_violation(vcpu, t, v);
    case EXIT_REASON_CPUID:
      return tdx_native_cpuid(vcpu, t, v);
    case EXIT_REASON_MSR_READ:
      return tdx_native_msr(vcpu, v, false);
    case EXIT_REASON_MSR_WRITE:
      return tdx_native_msr(vcpu, v, true);
    case EXIT_REASON_XSETBV:
      return tdx_native_xsetbv(t, v);
    case EXIT_REASON_HLT:
      // A raw HLT byte: the module turns it into #VE.
      return inject_ve(v, EXIT_REASON_HLT);
    case EXIT_REASON_WBINVD:
      return inject_ve(v, EXIT_REASON_WBINVD);
    case EXIT_REASON_TRIPLE_FAULT:
      return exit_to_user(vcpu, KVM_EXIT_SHUTDOWN);
  }
  return null;
}

function tdx_private_memory(k: kvm) {
  return {
    private_page(gfn: number): Uint8Array | null {
      const p = gmem_page(k, gfn);
      return p === "noslot" ? null : p;
    },
  };
}

/** A TDCALL: the module runs it; TDG.VP.VMCALL comes back to KVM. */
function tdx_handle_tdcall(vcpu: kvm_vcpu, t: kvm_tdx, v: vmcs_view): number {
  const x = to_tdx(vcpu);
  const mem = tdx_private_memory(vcpu.kvm);
  for (let tries = 0; tries < 4; tries++) {
    const o = tdg_dispatch(t.td, x.vp, v, mem);
    switch (o.kind) {
      case "handled":
        if (v.regs.at(0) === TDX_SUCCESS) vcpu.kvm.generation++; // ACCEPT may have mapped a page
        return skip(v);
      case "ve":
        return inject(v, VE_VECTOR);
      case "vmcall":
        x.vmcall = o.exit;
        x.exit_reason = tdcall_to_vmx_exit_reason(o.exit);
        x.vmcall_r12 = o.exit.regs[R12]!;
        return tdx_handle_vmcall(vcpu, t, x, v, o.exit);
      case "ept_violation": {
        if (o.accept_level > 0) {
          // A 2 MiB accept: the simulated Secure EPT has 4 KiB leaves only.
          v.regs.set(0, 0xc0000b0b00000000n | BigInt(o.accept_level));
          return skip(v);
        }
        const r = tdx_fault_private(vcpu, t, o.gpa);
        if (r <= 0) return r;
        const gfn = Number(o.gpa >> 12n);
        if (o.accept_level < 0 && t.td.sept.state(gfn) === SEPT_PENDING) {
          return tdx_pending_access(vcpu, t, v, o.gpa, o.write ? 2n : 1n);
        }
        continue; // the TDCALL runs again
      }
    }
  }
  return -EIO;
}

/**
 * `tdcall_to_vmx_exit_reason()`: the exit reason KVM files a standard
 * TDG.VP.VMCALL under: the instruction leaves (CPUID, HLT, I/O, RDMSR,
 * WRMSR) are their own basic exit reasons, everything else is TDCALL.
 */
function tdcall_to_vmx_exit_reason(e: tdvmcall_exit): number {
  if (e.regs[R10] !== 0n) return EXIT_REASON_TDCALL; // KVM hypercall: EXIT_REASON_VMCALL upstream
  switch (e.regs[R11]) {
    case TDG_VP_VMCALL_INSTRUCTION_CPUID:
      return EXIT_REASON_CPUID;
    case TDG_VP_VMCALL_INSTRUCTION_HLT:
      return EXIT_REASON_HLT;
    case TDG_VP_VMCALL_INSTRUCTION_IO:
      return EXIT_REASON_IO_INSTRUCTION;
    case TDG_VP_VMCALL_INSTRUCTION_RDMSR:
      return EXIT_REASON_MSR_READ;
    case TDG_VP_VMCALL_INSTRUCTION_WRMSR:
      return EXIT_REASON_MSR_WRITE;
  }
  return EXIT_REASON_TDCALL;
}

/**
 * `kvm_emulate_halt_noskip()` -> `__kvm_emulate_halt()`; a TD's LAPIC is
 * always in the kernel. If an event is deliverable already, or a PV unhalt is
 * pending (this consumes it), the vCPU stays RUNNABLE; otherwise its mp_state
 * becomes HALTED and `vcpu_block()` does the waiting. Returns 1.
 */
function kvm_emulate_halt_noskip(vcpu: kvm_vcpu): number {
  if (kvm_vcpu_has_events(vcpu) || pv_unhalted.has(vcpu)) pv_unhalted.delete(vcpu);
  else vcpu.arch.mp_state = KVM_MP_STATE_HALTED;
  return 1;
}

// ---------------------------------------------------------------------------
// Interrupts: posted_intr.c and the TDX parts of tdx.c (kvm-x86 at 09c6f74e).

/** `pi_has_pending_interrupt()`: ON, or PIR bits behind a suppressed notification. */
function pi_has_pending_interrupt(x: vcpu_tdx): boolean {
  const pi = x.pi_desc;
  return pi.on || (pi.sn && pi.pir.some((w) => w !== 0));
}

/**
 * `__vmx_deliver_posted_interrupt()` on a TD vCPU's descriptor (for a TD,
 * `vt_deliver_interrupt()` always posts; KVM never writes the TD's IRR):
 * the PIR bit is set; the first vector posted since the last TD entry also
 * sets ON and needs the notification, which `kvm_vcpu_trigger_posted_interrupt()`
 * sends to a vCPU in guest mode and which otherwise is a kick (wake-up).
 *
 * @returns whether the caller must kick the vCPU
 */
export function tdx_deliver_posted_interrupt(vcpu: kvm_vcpu, vector: number): boolean {
  const pi = to_tdx(vcpu).pi_desc;
  const word = vector >>> 5, bit = 1 << (vector & 31);
  // pi_test_and_set_pir(): the vector's bit was set before; that request stands.
  if (pi.pir[word]! & bit) return false;
  pi.pir[word] = (pi.pir[word]! | bit) >>> 0;
  // pi_test_and_set_on(): ON was set already, so the pending notification
  // will pick this vector up with the rest of the PIR.
  if (pi.on) return false;
  pi.on = true;
  return true;
}

/**
 * `tdx_interrupt_allowed()`: KVM cannot read a TD's RFLAGS or
 * interruptibility. Its one clue is the last exit: a TDVMCALL<HLT> with
 * R12 != 0 means interrupts are blocked; every other exit reads as open.
 */
export function tdx_interrupt_allowed(vcpu: kvm_vcpu): boolean {
  const x = to_tdx(vcpu);
  return x.exit_reason !== EXIT_REASON_HLT || !x.vmcall_r12;
}

/**
 * `tdx_protected_apic_has_interrupt()`: PID.ON (or PIR bits under SN) is
 * enough. KVM looks further, at VCPU_STATE_DETAILS through TDH.VP.RD for a
 * pending RVI, only after a TDVMCALL<HLT> that left interrupts enabled: a TD
 * halting as `sti; tdcall` can have an interrupt sitting in its virtual APIC
 * that the STI shadow kept from being delivered.
 */
export function tdx_protected_apic_has_interrupt(vcpu: kvm_vcpu): boolean {
  const x = to_tdx(vcpu);
  if (pi_has_pending_interrupt(x)) return true;
  if (x.exit_reason !== EXIT_REASON_HLT || x.vmcall_r12) return false;
  return (td_vcpu_state_details(x.vp.vapic) & TDX_VCPU_STATE_DETAILS_INTR_PENDING) !== 0n;
}

/**
 * MOV to CR8 in a TD (seen at the next exit): TPR virtualization writes
 * VTPR = CR8 << 4; KVM's own LAPIC TPR is not the TD's.
 */
export function tdx_set_cr8(vcpu: kvm_vcpu, cr8: bigint): void {
  td_vapic_set_tpr(to_tdx(vcpu).vp.vapic, Number(cr8 & 0xfn) << 4);
}

/**
 * What happens to events at TDH.VP.ENTER (`tdx_vcpu_run()`: a posted
 * interrupt outstanding makes KVM send itself the notification vector, so
 * the CPU processes the PIR on entry), done in the module's and CPU's place:
 * a pending NMI (`tdx_inject_nmi()`'s PEND_NMI) is delivered unless blocked;
 * the PIR moves into the virtual APIC; the highest pending virtual
 * interrupt above VPPR is delivered through the guest's IDT when RFLAGS.IF
 * is set and no STI/MOV SS blocking or other event is in the way.
 *
 * @returns whether a virtual interrupt stays pending for lack of an
 * interrupt window (the CPU delivers it at the first boundary that opens
 * one: the caller arms interrupt-window exiting for that)
 */
export function tdx_inject_pending(vcpu: kvm_vcpu): boolean {
  const x = to_tdx(vcpu);
  const v = vcpu.arch.vmcs;
  const vapic = x.vp.vapic;
  // With the TPR shadow CR8 reads VTPR[7:4]: the CPU's CR8 follows VTPR.
  v.cr8 = BigInt(td_vapic_tpr(vapic) >> 4);
  if (x.pi_desc.on || x.pi_desc.sn) {
    x.pi_desc.on = false;
    td_vapic_post(vapic, x.pi_desc.pir);
  }
  if (v.entry_intr_info & INTR_INFO_VALID_MASK) return td_vapic_pending(vapic) >= 0;
  const shadow = (v.interruptibility_info & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) !==
    0;
  const ev = vcpu.arch.events;
  if (ev.nmi.pending && !shadow) {
    ev.nmi.pending = 0;
    v.entry_intr_info = (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR | NMI_VECTOR) >>> 0;
    return td_vapic_pending(vapic) >= 0;
  }
  if (td_vapic_pending(vapic) < 0) return false;
  if (shadow || !(Number(v.rflags & 0xffffffffn) & X86_EFLAGS_IF)) return true;
  const vector = td_vapic_deliver(vapic);
  v.entry_intr_info = (INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | vector) >>> 0;
  return false;
}

/** `tdx_complete_vmcall_done` etc.: the VMM's answer goes back to the exposed GPRs. */
function vmcall_done(vcpu: kvm_vcpu, v: vmcs_view): number {
  const x = to_tdx(vcpu);
  const e = x.vmcall;
  x.vmcall = null;
  if (e) tdh_vp_enter_after_vmcall(v, e);
  return skip(v);
}

const R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

function set_status(e: tdvmcall_exit, s: bigint): void {
  e.regs[R10] = s;
}

/** `handle_tdvmcall()`: TDG.VP.VMCALL leaf by leaf. */
function tdx_handle_vmcall(
  vcpu: kvm_vcpu,
  t: kvm_tdx,
  x: vcpu_tdx,
  v: vmcs_view,
  e: tdvmcall_exit,
): number {
  const r = e.regs;
  if (r[R10] !== 0n) return tdx_kvm_hypercall(vcpu, v, e);
  const leaf = r[R11]!;
  switch (leaf) {
    case TDG_VP_VMCALL_INSTRUCTION_CPUID: {
      const [a, b, c, d] = kvm_cpuid(
        vcpu.arch.cpuid_entries,
        Number(r[R12]! & 0xffffffffn),
        Number(r[R13]! & 0xffffffffn),
      );
      r[R12] = BigInt(a >>> 0);
      r[R13] = BigInt(b >>> 0);
      r[R14] = BigInt(c >>> 0);
      r[R15] = BigInt(d >>> 0);
      return vmcall_done(vcpu, v);
    }
    case TDG_VP_VMCALL_INSTRUCTION_HLT:
      // tdx_handle_exit(): EXIT_REASON_HLT -> kvm_emulate_halt_noskip(); the
      // module already completed the TDCALL, R10 stays 0 (success).
      vmcall_done(vcpu, v);
      return kvm_emulate_halt_noskip(vcpu);
    case TDG_VP_VMCALL_INSTRUCTION_IO:
      return tdx_emulate_io(vcpu, v, e);
    case TDG_VP_VMCALL_INSTRUCTION_RDMSR:
    case TDG_VP_VMCALL_INSTRUCTION_WRMSR:
      return tdx_emulate_msr(vcpu, v, e, leaf === TDG_VP_VMCALL_INSTRUCTION_WRMSR);
    case TDG_VP_VMCALL_VE_REQUEST_MMIO:
      return tdx_emulate_mmio(vcpu, t, v, e);
    case TDG_VP_VMCALL_GET_TD_VM_CALL_INFO:
      if (r[R12] === 0n) {
        r[R11] =
          r[R12] =
          r[R13] =
          r[R14] =
            0n;
        set_status(e, 0n);
        return vmcall_done(vcpu, v);
      }
      if (r[R12] === 1n) {
        const run = vcpu.run;
        run.setBigUint64(R_TDX_FLAGS, 0n, true);
        run.setBigUint64(R_TDX_NR, leaf, true);
        run.setBigUint64(R_TDX_U, 0n, true);
        run.setBigUint64(R_TDX_U + 8, 1n, true);
        for (let i = 2; i < 6; i++) run.setBigUint64(R_TDX_U + 8 * i, 0n, true);
        vcpu.arch.complete_userspace_io = () => {
          r[R10] = run.getBigUint64(R_TDX_U, true);
          for (let i = 0; i < 4; i++) r[R11 + i] = run.getBigUint64(R_TDX_U + 16 + 8 * i, true);
          return vmcall_done(vcpu, v);
        };
        return exit_to_user(vcpu, KVM_EXIT_TDX);
      }
      set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
      return vmcall_done(vcpu, v);
    case TDG_VP_VMCALL_MAP_GPA:
      return tdx_map_gpa(vcpu, t, x, v, e);
    case TDG_VP_VMCALL_REPORT_FATAL_ERROR: {
      const run = vcpu.run;
      run.setUint32(R_SE_TYPE, KVM_SYSTEM_EVENT_TDX_FATAL, true);
      run.setUint32(R_SE_NDATA, 16, true);
      run.setBigUint64(R_SE_DATA, BigInt(EXIT_REASON_TDCALL), true);
      for (let i = 1; i < 16; i++) {
        run.setBigUint64(R_SE_DATA + 8 * i, i === 4 || i === 5 ? 0n : r[i]!, true);
      }
      // No completion: re-entering resumes after the TDCALL, R10 untouched.
      vcpu.arch.complete_userspace_io = () => vmcall_done(vcpu, v);
      return exit_to_user(vcpu, KVM_EXIT_SYSTEM_EVENT);
    }
    case TDG_VP_VMCALL_GET_QUOTE:
    case TDG_VP_VMCALL_SETUP_EVENT_NOTIFY_INTERRUPT: {
      const run = vcpu.run;
      if (leaf === TDG_VP_VMCALL_GET_QUOTE) {
        if (!(r[R12]! & t.shared_bit)) {
          set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
          return vmcall_done(vcpu, v);
        }
      } else if (r[R12]! < 32n || r[R12]! > 255n) {
        set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
        return vmcall_done(vcpu, v);
      }
      run.setBigUint64(R_TDX_FLAGS, 0n, true);
      run.setBigUint64(R_TDX_NR, leaf, true);
      run.setBigUint64(R_TDX_U, TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED, true);
      if (leaf === TDG_VP_VMCALL_GET_QUOTE) {
        run.setBigUint64(R_TDX_U + 8, r[R12]! & ~t.shared_bit, true);
        run.setBigUint64(R_TDX_U + 16, r[R13]!, true);
      } else {
        run.setBigUint64(R_TDX_U + 8, r[R12]!, true);
      }
      vcpu.arch.complete_userspace_io = () => {
        r[R10] = run.getBigUint64(R_TDX_U, true);
        return vmcall_done(vcpu, v);
      };
      return exit_to_user(vcpu, KVM_EXIT_TDX);
    }
  }
  set_status(e, TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
  return vmcall_done(vcpu, v);
}

/** `tdx_emulate_io()`. */
function tdx_emulate_io(vcpu: kvm_vcpu, v: vmcs_view, e: tdvmcall_exit): number {
  const r = e.regs;
  const size = r[R12]!;
  const write = r[R13]!;
  if ((write !== 0n && write !== 1n) || (size !== 1n && size !== 2n && size !== 4n)) {
    set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
    return vmcall_done(vcpu, v);
  }
  const n = Number(size);
  const run = vcpu.run;
  run.setUint8(R_IO_DIRECTION, Number(write));
  run.setUint8(R_IO_SIZE, n);
  run.setUint16(R_IO_PORT, Number(r[R14]! & 0xffffn), true);
  run.setUint32(R_IO_COUNT, 1, true);
  run.setBigUint64(R_IO_DATA_OFFSET, BigInt(PIO_DATA_OFFSET), true);
  if (write) {
    for (let i = 0; i < n; i++) {
      run.setUint8(PIO_DATA_OFFSET + i, Number((r[R15]! >> BigInt(8 * i)) & 0xffn));
    }
    vcpu.arch.complete_userspace_io = () => vmcall_done(vcpu, v);
  } else {
    vcpu.arch.complete_userspace_io = () => {
      let val = 0n;
      for (let i = 0; i < n; i++) val |= BigInt(run.getUint8(PIO_DATA_OFFSET + i)) << BigInt(8 * i);
      r[R11] = val;
      return vmcall_done(vcpu, v);
    };
  }
  return exit_to_user(vcpu, KVM_EXIT_IO);
}

/**
 * `tdx_emulate_mmio()` (tdx.c at 09c6f74e): shared GPAs only; the exit
 * carries the GPA without the shared bit. Size and direction are `int`s
 * there, so only the low 32 bits of R12 and R13 count; the GPA is all of R14.
 */
function tdx_emulate_mmio(vcpu: kvm_vcpu, t: kvm_tdx, v: vmcs_view, e: tdvmcall_exit): number {
  const r = e.regs;
  const size = Number(BigInt.asIntN(32, r[R12]!));
  const write = Number(BigInt.asIntN(32, r[R13]!));
  const gpa = r[R14]!;
  const last = BigInt.asUintN(64, gpa + BigInt(size) - 1n);
  const bad = (size !== 1 && size !== 2 && size !== 4 && size !== 8) ||
    (write !== 0 && write !== 1) || !(gpa & t.shared_bit) || !(last & t.shared_bit);
  if (bad) {
    set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
    return vmcall_done(vcpu, v);
  }
  const n = size;
  const run = vcpu.run;
  run.setBigUint64(R_MMIO_PHYS_ADDR, gpa & ~t.shared_bit, true);
  run.setUint32(R_MMIO_LEN, n, true);
  run.setUint8(R_MMIO_IS_WRITE, Number(write));
  if (write) {
    for (let i = 0; i < n; i++) {
      run.setUint8(R_MMIO_DATA + i, Number((r[R15]! >> BigInt(8 * i)) & 0xffn));
    }
    vcpu.arch.complete_userspace_io = () => vmcall_done(vcpu, v);
  } else {
    vcpu.arch.complete_userspace_io = () => {
      let val = 0n;
      for (let i = 0; i < n; i++) val |= BigInt(run.getUint8(R_MMIO_DATA + i)) << BigInt(8 * i);
      r[R11] = val;
      return vmcall_done(vcpu, v);
    };
  }
  return exit_to_user(vcpu, KVM_EXIT_MMIO);
}

/** KVM's emulated MSRs for a TD (`tdx_has_emulated_msr()`). */
export function tdx_has_emulated_msr(index: number): boolean {
  switch (index) {
    case msr.MSR_IA32_UCODE_REV:
    case msr.MSR_IA32_ARCH_CAPABILITIES:
    case 0x1fc: // MSR_IA32_POWER_CTL
    case msr.MSR_IA32_CR_PAT:
    case msr.MSR_MTRRcap:
    case msr.MSR_MTRRdefType:
    case msr.MSR_IA32_TSC_DEADLINE:
    case msr.MSR_IA32_MISC_ENABLE:
    case msr.MSR_PLATFORM_INFO:
    case 0x140: // MSR_MISC_FEATURES_ENABLES
    case msr.MSR_IA32_APICBASE:
    case msr.MSR_EFER:
    case msr.MSR_IA32_FEAT_CTL:
    case msr.MSR_IA32_MCG_CAP:
    case msr.MSR_IA32_MCG_STATUS:
    case 0x17b: // MSR_IA32_MCG_CTL
    case 0x4d0: // MSR_IA32_MCG_EXT_CTL
    case 0x4b564d05: // MSR_KVM_POLL_CONTROL
      return true;
  }
  if (index >= 0x200 && index <= 0x26f) return true; // MTRRs
  if (index >= 0x400 && index < 0x480) return true; // MCi_*
  if (index >= 0x280 && index < 0x2a0) return true; // MCi_CTL2
  // tdx.c at 09c6f74e: the x2APIC registers below are LAPIC state that KVM
  // holds for a TD. TPR, PPR, EOI, ISR, TMR, IRR and SELF IPI are missing on
  // purpose: they are backed by the TD's virtual-APIC page, out of KVM's reach.
  switch (index) {
    case 0x802: // ID
    case 0x803: // LVR
    case 0x80d: // LDR
    case 0x80f: // SPIV
    case 0x828: // ESR
    case 0x82f: // LVTCMCI
    case 0x830: // ICR
    case 0x832: // LVTT
    case 0x833: // LVTTHMR
    case 0x834: // LVTPC
    case 0x835: // LVT0
    case 0x836: // LVT1
    case 0x837: // LVTERR
    case 0x838: // TMICT
    case 0x839: // TMCCT
    case 0x83e: // TDCR
      return true;
  }
  return false;
}

/** MSRs userspace or the TD may not write through KVM. */
function tdx_is_read_only_msr(index: number): boolean {
  return index === msr.MSR_IA32_APICBASE || index === msr.MSR_EFER ||
    index === msr.MSR_IA32_FEAT_CTL;
}

/** `MCG_LMCE_P`: MCG_CAP bit 27, local machine checks. */
const MCG_LMCE_P = 1n << 27n;

/**
 * `tdx_get_msr()` (tdx.c at 09c6f74e): FEATURE_CONTROL reads LOCKED plus
 * LMCE_ENABLED when MCG_CAP offers LMCE; MCG_EXT_CTL needs LMCE (for the
 * guest); any MSR outside `tdx_has_emulated_msr()` fails with 1
 * (KVM_MSR_RET_INVALID, so a user-space MSR exit says INVAL, not UNKNOWN);
 * the rest is `kvm_get_msr_common()`. `host`: a KVM_GET_MSRS access.
 */
export function tdx_get_msr(vcpu: kvm_vcpu, index: number, data: bigint[], host: boolean): number {
  const m = vcpu.arch.mce;
  switch (index) {
    case msr.MSR_IA32_FEAT_CTL:
      data[0] = msr.FEAT_CTL_LOCKED | (m.mcg_cap & MCG_LMCE_P ? msr.FEAT_CTL_LMCE_ENABLED : 0n);
      return 0;
    case msr.MSR_IA32_MCG_EXT_CTL:
      if (!host && !(m.mcg_cap & MCG_LMCE_P)) return KVM_MSR_RET_INVALID;
      data[0] = m.mcg_ext_ctl;
      return 0;
  }
  if (!tdx_has_emulated_msr(index)) return KVM_MSR_RET_INVALID;
  if (index === msr.MSR_IA32_MISC_ENABLE && !vcpu.arch.msrs.has(index)) {
    data[0] = vcpu.arch.vmcs.misc_enable;
    return 0;
  }
  const r = kvm_get_msr(vcpu, index, data, host);
  if (r === KVM_MSR_RET_UNSUPPORTED) {
    // MTRRs and the like kvm_get_msr_common() emulates and the simulated
    // core does not model: what was written, 0 at first.
    data[0] = vcpu.arch.msrs.get(index) ?? 0n;
    return 0;
  }
  return r;
}

/**
 * `tdx_set_msr()`: MCG_EXT_CTL as for reads (LMCE_EN only); APICBASE, EFER
 * and FEATURE_CONTROL are read-only; outside the emulated list 1; the rest
 * `kvm_set_msr_common()`.
 */
export function tdx_set_msr(vcpu: kvm_vcpu, index: number, data: bigint, host: boolean): number {
  if (index === msr.MSR_IA32_MCG_EXT_CTL) {
    if ((!host && !(vcpu.arch.mce.mcg_cap & MCG_LMCE_P)) || (data & ~1n)) {
      return KVM_MSR_RET_INVALID;
    }
    vcpu.arch.mce.mcg_ext_ctl = data;
    return 0;
  }
  if (tdx_is_read_only_msr(index)) return KVM_MSR_RET_INVALID;
  if (!tdx_has_emulated_msr(index)) return KVM_MSR_RET_INVALID;
  const r = kvm_set_msr(vcpu, index, data, host);
  // The MTRRs KVM emulates but the simulated x86 core does not model keep
  // what is written. MCG_CAP is not one of them: only KVM_X86_SETUP_MCE sets
  // it, kvm_set_msr_common() has no case for it.
  if (r === KVM_MSR_RET_UNSUPPORTED && index !== msr.MSR_IA32_MCG_CAP) {
    vcpu.arch.msrs.set(index, data);
    return 0;
  }
  return r;
}

/** TDVMCALL RDMSR/WRMSR: filter, emulated MSRs, user-space MSR exits; errors → INVALID_OPERAND. */
function tdx_emulate_msr(vcpu: kvm_vcpu, v: vmcs_view, e: tdvmcall_exit, write: boolean): number {
  const r = e.regs;
  const index = Number(r[R12]! & 0xffffffffn);
  const data = r[R13]!;
  let ret: number;
  if (!kvm_msr_allowed(vcpu.kvm, index, write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ)) {
    ret = KVM_MSR_RET_FILTERED;
  } else if (write) ret = tdx_set_msr(vcpu, index, data, false);
  else ret = tdx_get_msr(vcpu, index, msr_data, false);
  if (!ret) {
    if (!write) r[R11] = msr_data[0]!;
    return vmcall_done(vcpu, v);
  }
  const reason = ret === KVM_MSR_RET_UNSUPPORTED
    ? KVM_MSR_EXIT_REASON_UNKNOWN
    : ret === KVM_MSR_RET_FILTERED
    ? KVM_MSR_EXIT_REASON_FILTER
    : KVM_MSR_EXIT_REASON_INVAL;
  if (vcpu.kvm.arch.user_space_msr_mask & reason) {
    const run = vcpu.run;
    for (let i = 0; i < 8; i++) run.setUint8(R_MSR_ERROR + i, 0);
    run.setUint32(R_MSR_REASON, reason, true);
    run.setUint32(R_MSR_INDEX, index, true);
    run.setBigUint64(R_MSR_DATA, write ? data : 0n, true);
    vcpu.arch.complete_userspace_io = () => {
      if (run.getUint8(R_MSR_ERROR)) set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
      else if (!write) r[R11] = run.getBigUint64(R_MSR_DATA, true);
      return vmcall_done(vcpu, v);
    };
    return exit_to_user(vcpu, write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR);
  }
  set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
  return vmcall_done(vcpu, v);
}

/** `tdx_map_gpa()` and `tdx_complete_vmcall_map_gpa()`: 2 MiB chunks to userspace. */
function tdx_map_gpa(
  vcpu: kvm_vcpu,
  t: kvm_tdx,
  x: vcpu_tdx,
  v: vmcs_view,
  e: tdvmcall_exit,
): number {
  const r = e.regs;
  const gpa = r[R12]!;
  const size = r[R13]!;
  const k = vcpu.kvm;
  if (!(k.arch.hypercall_exit_enabled & (1n << BigInt(KVM_HC_MAP_GPA_RANGE)))) {
    set_status(e, TDG_VP_VMCALL_SUBFUNC_UNSUPPORTED);
    r[R11] = gpa;
    return vmcall_done(vcpu, v);
  }
  const end = BigInt.asUintN(64, gpa + size);
  const legal = (a: bigint) => a < 1n << BigInt(vcpu.arch.maxphyaddr);
  if (
    end <= gpa || !legal(gpa) || !legal(end - 1n) ||
    ((gpa & t.shared_bit) !== 0n) !== (((end - 1n) & t.shared_bit) !== 0n)
  ) {
    set_status(e, TDG_VP_VMCALL_INVALID_OPERAND);
    r[R11] = gpa;
    return vmcall_done(vcpu, v);
  }
  if ((gpa & 0xfffn) || (size & 0xfffn)) {
    set_status(e, TDG_VP_VMCALL_ALIGN_ERROR);
    r[R11] = gpa;
    return vmcall_done(vcpu, v);
  }
  x.map_gpa_next = gpa;
  x.map_gpa_end = end;
  x.map_gpa_shared = gpa & t.shared_bit;
  return map_gpa_exit(vcpu, t, x, v, e);
}

function map_gpa_exit(vcpu: kvm_vcpu, t: kvm_tdx, x: vcpu_tdx, v: vmcs_view, e: tdvmcall_exit) {
  const run = vcpu.run;
  let size = x.map_gpa_end - x.map_gpa_next;
  if (size > TDX_MAP_GPA_MAX_LEN) size = TDX_MAP_GPA_MAX_LEN;
  run.setBigUint64(R_HC_NR, BigInt(KVM_HC_MAP_GPA_RANGE), true);
  run.setBigUint64(R_HC_ARGS, x.map_gpa_next & ~t.shared_bit, true);
  run.setBigUint64(R_HC_ARGS + 8, size / 4096n, true);
  run.setBigUint64(R_HC_ARGS + 16, x.map_gpa_shared ? 0n : KVM_MAP_GPA_RANGE_ENCRYPTED, true);
  run.setBigUint64(R_HC_RET, 0n, true);
  run.setBigUint64(R_HC_FLAGS, 1n, true);
  vcpu.arch.complete_userspace_io = () => {
    const ret = run.getBigUint64(R_HC_RET, true);
    const r = e.regs;
    if (ret === 0n) {
      x.map_gpa_next += TDX_MAP_GPA_MAX_LEN;
      if (x.map_gpa_next >= x.map_gpa_end) return vmcall_done(vcpu, v);
      // tdx_complete_vmcall_map_gpa(): each 2 MiB piece is its own exit. If
      // an event became pending meanwhile the TD gets RETRY and R11 = the
      // next GPA: it takes the event first and re-issues MapGPA from there.
      if (kvm_vcpu_has_events(vcpu)) {
        set_status(e, TDG_VP_VMCALL_RETRY);
        r[R11] = x.map_gpa_next;
        return vmcall_done(vcpu, v);
      }
      return map_gpa_exit(vcpu, t, x, v, e) === 0 ? 0 : 1;
    }
    if (ret === 11n || ret === 22n) {
      set_status(e, ret === 11n ? TDG_VP_VMCALL_RETRY : TDG_VP_VMCALL_INVALID_OPERAND);
      r[R11] = x.map_gpa_next;
      return vmcall_done(vcpu, v);
    }
    return -EINVAL;
  };
  return exit_to_user(vcpu, KVM_EXIT_HYPERCALL);
}

/** TDVMCALL with R10 != 0: a KVM hypercall (nr = R10, a0..a3 = R11..R14); result in R10. */
function tdx_kvm_hypercall(vcpu: kvm_vcpu, v: vmcs_view, e: tdvmcall_exit): number {
  const r = e.regs;
  const nr = r[R10]!;
  const k = vcpu.kvm;
  let ret = BigInt.asUintN(64, BigInt(-KVM_ENOSYS));
  switch (nr) {
    case 1n: // KVM_HC_VAPIC_POLL_IRQ
      ret = 0n;
      break;
    case BigInt(KVM_HC_MAP_GPA_RANGE): {
      if (!(k.arch.hypercall_exit_enabled & (1n << BigInt(KVM_HC_MAP_GPA_RANGE)))) break;
      const a0 = r[R11]!, a1 = r[R12]!;
      const gfn = a0 >> 12n;
      if ((a0 & 0xfffn) || !a1 || BigInt.asUintN(64, gfn + a1) <= gfn) {
        ret = BigInt.asUintN(64, -22n);
        break;
      }
      const run = vcpu.run;
      run.setBigUint64(R_HC_NR, nr, true);
      run.setBigUint64(R_HC_ARGS, a0, true);
      run.setBigUint64(R_HC_ARGS + 8, a1, true);
      run.setBigUint64(R_HC_ARGS + 16, r[R13]!, true);
      run.setBigUint64(R_HC_RET, 0n, true);
      run.setBigUint64(R_HC_FLAGS, 1n, true);
      vcpu.arch.complete_userspace_io = () => {
        r[R10] = run.getBigUint64(R_HC_RET, true);
        return vmcall_done(vcpu, v);
      };
      return exit_to_user(vcpu, KVM_EXIT_HYPERCALL);
    }
  }
  r[R10] = ret;
  return vmcall_done(vcpu, v);
}

/** Guard used by KVM_CREATE_VCPU / INIT ordering tests: the TD state name. */
export function tdx_td_state(k: kvm): "uninitialized" | "initialized" | "runnable" {
  const s = tdx_of.get(k)?.state ?? TD_STATE_UNINITIALIZED;
  return s === TD_STATE_RUNNABLE
    ? "runnable"
    : s === TD_STATE_INITIALIZED
    ? "initialized"
    : "uninitialized";
}

/** vCPU ioctls whose state the TDX module owns (`guest_state_protected`): EINVAL. */
const TDX_PROTECTED_IOCTLS = new Set<number>([
  KVM_GET_XSAVE,
  KVM_GET_XSAVE2,
  KVM_SET_XSAVE,
  KVM_GET_XCRS,
  KVM_SET_XCRS,
  KVM_GET_VCPU_EVENTS,
  KVM_SET_VCPU_EVENTS,
  KVM_GET_DEBUGREGS,
  KVM_SET_DEBUGREGS,
  KVM_GET_LAPIC,
  KVM_SET_LAPIC,
  KVM_SET_GUEST_DEBUG,
  KVM_GET_SREGS2,
  KVM_SET_SREGS2,
  KVM_SET_TSC_KHZ,
]);

/** `msr_io()` over {@linkcode tdx_get_msr} / {@linkcode tdx_set_msr}: the count processed. */
function tdx_msr_io(vcpu: kvm_vcpu, arg: bigint, write: boolean): number {
  const hdr = new Uint8Array(8);
  if (!copy_in(hdr, arg)) return -EFAULT;
  const n = new DataView(hdr.buffer).getUint32(0, true);
  // msr_io(): MAX_IO_MSRS entries or more are E2BIG.
  if (n >= 256) return -E2BIG;
  const b = new Uint8Array(n * 16);
  if (n && !copy_in(b, arg + 8n)) return -EFAULT;
  const dv = new DataView(b.buffer);
  let i = 0;
  for (; i < n; i++) {
    const index = dv.getUint32(i * 16, true);
    if (write) {
      if (tdx_set_msr(vcpu, index, dv.getBigUint64(i * 16 + 8, true), true)) break;
    } else {
      if (tdx_get_msr(vcpu, index, msr_data, true)) break;
      dv.setBigUint64(i * 16 + 8, msr_data[0]!, true);
    }
  }
  if (!write && n && !copy_out(arg + 8n, b)) return -EFAULT;
  return i;
}

/**
 * The x86 vCPU ioctls as a TD answers them, or null for the generic path:
 * protected state is EINVAL, MSRs are limited to the emulated list,
 * KVM_MEMORY_ENCRYPT_OP goes to {@linkcode tdx_vcpu_ioctl}.
 */
export function tdx_vcpu_arch_ioctl(vcpu: kvm_vcpu, cmd: number, arg: bigint): number | null {
  // kvm_arch_vcpu_ioctl(): KVM_SET_LAPIC and KVM_SET_VCPU_EVENTS copy their
  // struct in before the protected-state check refuses it.
  const copied = cmd === KVM_SET_LAPIC
    ? kvm_lapic_state.size
    : cmd === KVM_SET_VCPU_EVENTS
    ? kvm_vcpu_events.size
    : 0;
  if (copied && !copy_in(new Uint8Array(copied), arg)) return -EFAULT;
  if (TDX_PROTECTED_IOCTLS.has(cmd)) return -EINVAL;
  switch (cmd) {
    case KVM_MEMORY_ENCRYPT_OP:
      return tdx_vcpu_ioctl(vcpu, arg);
    case KVM_GET_MSRS:
      return tdx_msr_io(vcpu, arg, false);
    case KVM_SET_MSRS:
      return tdx_msr_io(vcpu, arg, true);
  }
  return null;
}
