// SPDX-License-Identifier: GPL-2.0-only
/**
 * VMX (`arch/x86/kvm/vmx/vmx.c`) and the run loop of `x86.c`
 * (`kvm_arch_vcpu_ioctl_run`, `vcpu_run`, `vcpu_enter_guest`): KVM_RUN's
 * checks, the completion of what userspace answered for the last exit
 * (`complete_userspace_io`), VM entry into the vCPU's CPU worker
 * (`sim/cpu/vcpu_thread.ts`), and `vmx_handle_exit()`, whose return value
 * picks between another guest entry and the end of KVM_RUN (with `kvm_run`
 * describing the exit for the VMM).
 *
 * The CPU worker is created lazily, at the vCPU's first KVM_RUN (a VM may
 * create thousands of vCPUs that never run), and imports the VM's guest image
 * (`kvm->arch.images`, the creating process's `exe_file`). The memory map it
 * uses (the stage-2 view, `kvm_build_memory_map()`) is pushed before each
 * entry whose map is stale and, for vCPUs in guest mode, as soon as memslots
 * or memory attributes change.
 *
 * The exit protocol is the VMCS's (`sim/cpu/vmcs.ts`): RIP advanced by
 * `exit_instruction_len` completes the exiting instruction, RIP unchanged
 * retries it (an injected fault), any other RIP is a jump.
 *
 * @module
 */

import {
  EAGAIN,
  EBUSY,
  EFAULT,
  EINTR,
  EINVAL,
  EIO,
} from "../../../../../../include/linux/errno.ts";
import {
  KVM_EXIT_FAIL_ENTRY,
  KVM_EXIT_HLT,
  KVM_EXIT_HYPERCALL,
  KVM_EXIT_INTERNAL_ERROR,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_IO_IN,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_IRQ_WINDOW_OPEN,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
  KVM_EXIT_X86_RDMSR,
  KVM_EXIT_X86_WRMSR,
  KVM_INTERNAL_ERROR_DELIVERY_EV,
  KVM_INTERNAL_ERROR_EMULATION,
  KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_MP_STATE_HALTED,
  KVM_MP_STATE_INIT_RECEIVED,
  KVM_MP_STATE_RUNNABLE,
  KVM_MP_STATE_UNINITIALIZED,
  KVM_MSR_EXIT_REASON_FILTER,
  KVM_MSR_EXIT_REASON_INVAL,
  KVM_MSR_EXIT_REASON_UNKNOWN,
  KVM_MSR_FILTER_READ,
  KVM_MSR_FILTER_WRITE,
  kvm_run,
  KVM_SYNC_X86_VALID_FIELDS,
  KVM_X86_DISABLE_EXITS_HLT,
} from "../../../../../../include/linux/kvm.ts";
import {
  KVM_EXIT_HYPERCALL_LONG_MODE,
  KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
  KVM_X86_QUIRK_OUT_7E_INC_RIP,
} from "../../../../../../include/asm/kvm.ts";
import {
  KVM_EINVAL,
  KVM_ENOSYS,
  KVM_EOPNOTSUPP,
  KVM_EPERM,
  KVM_FEATURE_PV_SCHED_YIELD,
  KVM_FEATURE_PV_SEND_IPI,
  KVM_FEATURE_PV_UNHALT,
  KVM_HC_CLOCK_PAIRING,
  KVM_HC_KICK_CPU,
  KVM_HC_MAP_GPA_RANGE,
  KVM_HC_SCHED_YIELD,
  KVM_HC_SEND_IPI,
  KVM_HC_VAPIC_POLL_IRQ,
} from "../../../../../../include/linux/kvm_para.ts";
import { offsetof } from "../../../../../../include/c/layout.ts";
import type { kvm, kvm_vcpu } from "../../../../include/linux/kvm_host.ts";
import {
  KVM_IRQCHIP_KERNEL,
  KVM_IRQCHIP_SPLIT,
  type kvm_memmap_cache,
} from "../../include/asm/kvm_host.ts";
import {
  GuestCodeError,
  run_deadline,
  vcpu_thread,
  vcpu_worker_loaded,
  vcpu_worker_prewarm,
} from "../../../../../cpu/vcpu_thread.ts";
import {
  sim_vmcs,
  VMCS_APIC_SYNC_DEST_EDX_EAX,
  VMCS_APIC_SYNC_DEST_MMIO,
  VMCS_APIC_SYNC_STAMPED,
  VMCS_APIC_SYNC_TIMER_START,
  VMCS_APIC_SYNC_TMCCT,
  VMCS_APIC_SYNC_TMCCT_PERIODIC,
  VMCS_CTL_IRQ_WINDOW,
  VMCS_CTL_KICK,
  VMCS_IRQ_WINDOW_INTR,
  VMCS_IRQ_WINDOW_NMI,
  VMCS_SIZE,
} from "../../../../../cpu/vmcs.ts";
import type { guest_memslot } from "../../../../../cpu/memory.ts";
import { APIC_BASE_MSR, APIC_TMCCT } from "../../../../../../include/asm/apicdef.ts";
import { exit_stall_ms } from "../../../../../fault_inject.ts";
import {
  EFER_LMA,
  EPT_VIOLATION_ACC_INSTR,
  EPT_VIOLATION_ACC_WRITE,
  EPT_VIOLATION_GVA_TRANSLATED,
  EXIT_REASON_CPUID,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_HLT,
  EXIT_REASON_INTERRUPT_WINDOW,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_NMI_WINDOW,
  EXIT_REASON_TDCALL,
  EXIT_REASON_TRIPLE_FAULT,
  EXIT_REASON_VMCALL,
  EXIT_REASON_WBINVD,
  EXIT_REASON_XSETBV,
  GP_VECTOR,
  GUEST_INTR_STATE_MOV_SS,
  GUEST_INTR_STATE_NMI,
  GUEST_INTR_STATE_STI,
  INTR_INFO_DELIVER_CODE_MASK,
  INTR_INFO_VALID_MASK,
  INTR_TYPE_EXT_INTR,
  INTR_TYPE_HARD_EXCEPTION,
  INTR_TYPE_NMI_INTR,
  IO_QUAL_IN,
  IO_QUAL_SIZE_MASK,
  IO_QUAL_STRING,
  NMI_VECTOR,
  SIM_EXIT_REASON_BASE,
  SIM_EXIT_REASON_DEAD,
  SIM_EXIT_REASON_DEADLINE,
  SIM_EXIT_REASON_GUEST_CRASH,
  UD_VECTOR,
  VCPU_REGS_RAX,
  VCPU_REGS_RBX,
  VCPU_REGS_RCX,
  VCPU_REGS_RDX,
  VCPU_REGS_RSI,
  VMX_EXIT_REASONS_FAILED_VMENTRY,
  X86_CR0_PE,
  X86_EFLAGS_IF,
} from "../../../../../cpu/vmx.ts";
import { kvm_build_memory_map } from "../../../../virt/kvm/memslot_map.ts";
import {
  kvm_dirty_ring_check_request,
  kvm_dirty_ring_mark_page_dirty,
} from "../../../../virt/kvm/dirty_ring.ts";
import { kvm_cpuid } from "../cpuid.ts";
import {
  PIO_DATA_OFFSET,
  R_APIC_BASE,
  R_DIRTY_REGS,
  R_EXIT_REASON,
  R_FAIL_ENTRY_CPU,
  R_FAIL_ENTRY_REASON,
  R_FLAGS,
  R_HC_ARGS,
  R_HC_FLAGS,
  R_HC_NR,
  R_HC_RET,
  R_IF_FLAG,
  R_IMMEDIATE_EXIT,
  R_INTERNAL_DATA,
  R_INTERNAL_NDATA,
  R_INTERNAL_SUBERROR,
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
  R_READY_FOR_INJECTION,
  R_REQUEST_INTERRUPT_WINDOW,
  R_VALID_REGS,
} from "../kvm_run.ts";
import {
  apic_has_pending_timer,
  apic_mmio_read,
  apic_mmio_write,
  kvm_apic_accept_pic_intr,
  kvm_apic_has_interrupt,
  kvm_apic_has_pending_init_or_sipi,
  kvm_get_apic_interrupt,
  kvm_inject_apic_timer_irqs,
  kvm_lapic_get_cr8,
  kvm_lapic_next_event_ms,
  kvm_lapic_set_tpr,
  kvm_lapic_timer_delay_start,
  kvm_lapic_timer_start_ms,
  kvm_lapic_timer_starts,
  kvm_lapic_tmcct_clock,
  kvm_pv_kick_cpu_op,
  kvm_pv_send_ipi,
  pv_unhalted,
  set_lapic_host_ops,
} from "../lapic.ts";
import {
  guest_pv_has,
  irqchip_in_kernel,
  kvm_apic_accept_events,
  kvm_apic_init_sipi_allowed,
  kvm_get_msr,
  kvm_msr_allowed,
  KVM_MSR_RET_FILTERED,
  KVM_MSR_RET_UNSUPPORTED,
  kvm_set_msr,
  kvm_set_xcr0,
  kvm_update_cpuid_runtime,
  store_regs,
  sync_regs,
} from "../x86.ts";
import { anon_chunk_pin, anon_chunk_unpin } from "../../../../mm/mmap.ts";
import { vcpu_stat } from "../x86_stats.ts";
import { kvm_stats_log_hist_update } from "../../../../include/linux/kvm_stats.ts";
import { kvm_coalesced_io_write } from "../../../../virt/kvm/coalesced_mmio.ts";
import { kvm_pic_read_irq, picdev_read, picdev_write, set_pic_kick, vpic } from "../i8259.ts";
import { kvm_take_pending_ioapic_eoi } from "../lapic.ts";
import { KVM_EXIT_IOAPIC_EOI } from "../../../../../../include/linux/kvm.ts";
import { ioapic_mmio_read, ioapic_mmio_write } from "../ioapic.ts";
import {
  is_td,
  tdx_deliver_posted_interrupt,
  tdx_handle_exit,
  tdx_inject_pending,
  tdx_interrupt_allowed,
  tdx_memmap,
  tdx_protected_apic_has_interrupt,
  tdx_set_cr8,
  tdx_vcpu_pre_run,
  to_kvm_tdx,
} from "./tdx.ts";

export { GuestCodeError };

const R_CR8 = offsetof(kvm_run, "cr8");

/** `XCR_XFEATURE_ENABLED_MASK`: XCR0, the only XCR. */
const XCR_XFEATURE_ENABLED_MASK = 0;

// The VMCS (sim/cpu/vmcs.ts), offsets into the shared block.
const V = (f: string): number => offsetof(sim_vmcs, f as never);
const V_REGS = V("regs");
const V_RIP = V("rip");
const V_CS_L = V("cs") + 19;
const V_SS_DPL = V("ss") + 16;
const V_CR0 = V("cr0");
const V_EFER = V("efer");
const V_INTERRUPTIBILITY = V("interruptibility_info");
const V_EXIT_REASON = V("exit_reason");
const V_EXIT_LEN = V("exit_instruction_len");
const V_EXIT_QUAL = V("exit_qualification");
const V_GPA = V("guest_physical_address");
const V_IO_COUNT = V("io_count");
const V_MMIO_LEN = V("mmio_len");
const V_MMIO_IS_WRITE = V("mmio_is_write");
const V_MMIO_DATA = V("mmio_data");
const V_ENTRY_INTR_INFO = V("entry_intr_info");
const V_ENTRY_EC = V("entry_exception_error_code");
const V_MAXPHYADDR = V("maxphyaddr");
const V_FEP = V("force_emulation_prefix");
const V_FIX_HC = V("fix_hypercall_insn");
const V_APIC_SYNC = V("apic_sync");
const V_APIC_SYNC_DEST = V("apic_sync_dest");
const V_APIC_SYNC_MS = V("apic_sync_ms");
const V_TMCCT_TARGET = V("apic_tmcct_target_ms");
const V_TMCCT_PERIOD = V("apic_tmcct_period_ms");
const V_TMCCT_TICK = V("apic_tmcct_tick_ms");
const V_IO_DATA = V("io_data");

/** `struct vcpu_vmx`: the host side of one vCPU's VMX state. */
interface vcpu_vmx {
  readonly thread: vcpu_thread;
  /** A DataView over the VMCS. */
  readonly dv: DataView;
  /** Bytes of the VMCS. */
  readonly u8: Uint8Array;
  /** The VMCS control words (`VMCS_CTL_*`, used with `Atomics`). */
  readonly ctl: Int32Array;
  /** CR8 at the last entry: a change at the exit is a guest MOV to CR8. */
  entry_cr8: bigint;
  /** The PIO data page of `kvm_run`. */
  readonly pio: Uint8Array;
  /** Bytes of the `kvm_run` page. */
  readonly run_u8: Uint8Array;
  /** Width of the pending IN. */
  pio_size: number;
  /** EPT violations retried in a row (the page was mapped by the time the kernel looked). */
  ept_retries: number;
  /** `complete_fast_pio_out`, allocated once: the exit round trip allocates nothing. */
  readonly complete_pio_out: () => number;
  /** `complete_fast_pio_in`, allocated once. */
  readonly complete_pio_in: () => number;
  /** The APIC timer's start count when the exit being handled arrived (see `apic_sync_exit`). */
  apic_starts: number;
  /** The host time (epoch ms) of the start the CPU was asked to stamp. */
  apic_start_ms: number;
}

const vmx_of = new WeakMap<kvm_vcpu, vcpu_vmx>();

// ---------------------------------------------------------------------------
// Memory map (the stage-2 view).

/** The last {@linkcode guest_memslot.key} given out. */
let memslot_keys = 0;

/** The VM's memory map at its current generation, rebuilt when memslots or attributes changed. */
export function kvm_memmap(k: kvm): kvm_memmap_cache {
  const c = k.arch.memmap;
  if (c && c.generation === k.generation) return c;
  const ranges = kvm_build_memory_map(k);
  // A range the last map had, unchanged, keeps its slot object: a vCPU then
  // gets only the changed slots (memmap_delta()), as KVM zaps only the
  // SPTEs of the memslot that changed. Both lists are sorted by GPA, so one
  // pass pairs them.
  const last = c && !is_td(k) ? c.map.slots : [];
  let j = 0;
  const slots: guest_memslot[] = [];
  for (const r of ranges) {
    // Ranges without shareable memory are left out: the CPU reports an EPT
    // violation, and the kernel turns it into KVM_EXIT_MEMORY_FAULT below.
    if (!r.buffer) continue;
    // A logged slot's bitmap goes with each of its ranges (dirty_log.ts).
    const memslot = k.memslots[0]!.get(r.slot);
    const dirty_bitmap = memslot?.dirty_bitmap ?? undefined;
    const dirty_ring_wp = memslot?.dirty_ring_wp ?? undefined;
    const dirty_first = r.gpa / 4096 - (memslot?.base_gfn ?? 0);
    while (j < last.length && Number(last[j]!.base_gpa) < r.gpa) j++;
    const s = j < last.length && Number(last[j]!.base_gpa) === r.gpa ? last[j] : undefined;
    if (
      s && s.slot === r.slot && s.npages === r.size / 4096 && s.readonly === r.readonly &&
      s.backing.chunks[0] === r.buffer && s.backing.offset === r.offset &&
      s.dirty_bitmap === dirty_bitmap && s.dirty_ring_wp === dirty_ring_wp &&
      (s.dirty_first ?? dirty_first) === dirty_first
    ) {
      slots.push(s);
      continue;
    }
    slots.push({
      slot: r.slot,
      key: ++memslot_keys,
      base_gpa: BigInt(r.gpa),
      npages: r.size / 4096,
      readonly: r.readonly,
      backing: {
        chunks: [r.buffer],
        chunk_size: Math.ceil(r.buffer.byteLength / 4096) * 4096,
        offset: r.offset,
      },
      ...(dirty_bitmap ? { dirty_bitmap, dirty_first } : {}),
      ...(dirty_ring_wp ? { dirty_ring_wp, dirty_first } : {}),
    });
  }
  const map = is_td(k) ? tdx_memmap(k, ranges) : { slots };
  const m: kvm_memmap_cache = {
    generation: k.generation,
    mm_generation: k.mm.generation,
    ranges,
    map,
  };
  // vCPUs may hold the map's buffers until they take the next one: unmapping
  // the memory must not recycle them meanwhile.
  for (const r of ranges) if (r.buffer) anon_chunk_pin(r.buffer);
  if (c) { for (const r of c.ranges) if (r.buffer) anon_chunk_unpin(r.buffer); }
  k.arch.memmap = m;
  return m;
}

/** Drops the VM's memory map (VM destroy, after its vCPUs are gone). */
export function kvm_memmap_free(k: kvm): void {
  const c = k.arch.memmap;
  k.arch.memmap = null;
  if (c) { for (const r of c.ranges) if (r.buffer) anon_chunk_unpin(r.buffer); }
}

/** The range of the memory map that holds `gpa`, if any. */
export function memmap_lookup(
  m: kvm_memmap_cache,
  gpa: number,
): kvm_memmap_cache["ranges"][number] | undefined {
  const rs = m.ranges;
  let lo = 0, hi = rs.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = rs[mid]!;
    if (gpa < r.gpa) hi = mid - 1;
    else if (gpa >= r.gpa + r.size) lo = mid + 1;
    else return r;
  }
  return undefined;
}

function kvm_vcpu_sync_memmap(vcpu: kvm_vcpu, vmx: vcpu_vmx): void {
  const k = vcpu.kvm;
  if (vcpu.arch.memmap_generation === k.generation) return;
  vmx.thread.set_memory_map(kvm_memmap(k).map);
  vcpu.arch.memmap_generation = k.generation;
}

/**
 * `kvm_arch_memslots_updated()`: memslots or memory attributes changed. vCPUs
 * in guest mode get the new map now (the CPU picks it up at its next TLB
 * miss, as KVM zaps SPTEs and kicks vCPUs); the others at their next entry.
 */
export function kvm_arch_memslots_updated(k: kvm): void {
  // A TD's S-EPT is zapped (BLOCK, TRACK, PAGE.REMOVE) before the ioctl
  // returns, as kvm_vm_set_mem_attributes() and memslot deletion do in
  // KVM: rebuild the map now, not at the next entry. With no page in the
  // S-EPT (a TD being built) there is nothing to zap, and the build's many
  // memslot and attribute changes share one rebuild at first use.
  if (is_td(k) && to_kvm_tdx(k).td.sept.nr_pages > 0) kvm_memmap(k);
  for (const vcpu of k.vcpus) {
    const vmx = vmx_of.get(vcpu);
    if (vmx && vcpu.running) {
      kvm_vcpu_sync_memmap(vcpu, vmx);
      // kvm_flush_remote_tlbs(): the ioctl returns only once no vCPU can
      // still use the old mappings.
      vmx.thread.flush_memory_map();
    }
  }
}

/**
 * `kvm_flush_remote_tlbs()`: every vCPU drops its TLB, so that a page whose
 * write permission the kernel revoked (a dirty bit cleared) faults again. A
 * vCPU in guest mode has flushed when this returns; the others flush at
 * their next entry.
 */
export function kvm_flush_remote_tlbs(k: kvm): void {
  const map = kvm_memmap(k).map;
  for (const vcpu of k.vcpus) {
    const vmx = vmx_of.get(vcpu);
    if (!vmx) continue;
    // The same map again: the CPU reloads it and flushes its TLB.
    vmx.thread.set_memory_map(map);
    vcpu.arch.memmap_generation = k.generation;
    if (vcpu.running) vmx.thread.flush_memory_map();
  }
}

// ---------------------------------------------------------------------------
// Entry.

/**
 * `vmx_vcpu_create()`'s worker half: a vCPU takes its CPU worker now when the
 * pool holds one with the image loaded, so that the attach overlaps what the
 * VMM does before the first `KVM_RUN`. Otherwise its first entry starts one:
 * a VM with hundreds of vCPUs must not start hundreds of workers at once.
 */
export function vmx_vcpu_create(vcpu: kvm_vcpu): void {
  if (!vcpu_worker_loaded(vcpu.kvm.arch.images)) return;
  const vmx = vmx_vcpu_attach(vcpu);
  // The memory map goes with the attach, so the worker maps it before the
  // first entry; a memslot change before then posts a new one. Not for a TD:
  // its build changes every mapping, and the map is built at first use.
  if (!is_td(vcpu.kvm)) kvm_vcpu_sync_memmap(vcpu, vmx);
}

/**
 * The vCPU's CPU worker at an entry. At a vCPU's first entry, the worker for
 * a vCPU of the VM without one starts loading: a VM whose vCPUs run one
 * after another (a TD booting each vCPU in turn) would otherwise pay each
 * worker's start in full at each first entry.
 */
function vmx_get_vcpu(vcpu: kvm_vcpu): vcpu_vmx {
  const vmx = vmx_of.get(vcpu) ?? vmx_vcpu_attach(vcpu);
  if (!vcpu.has_run && vcpu.kvm.vcpus.some((v) => !vmx_of.has(v))) {
    vcpu_worker_prewarm(vcpu.kvm.arch.images);
  }
  return vmx;
}

function vmx_vcpu_attach(vcpu: kvm_vcpu): vcpu_vmx {
  const v = vcpu.arch.vmcs;
  const thread = new vcpu_thread({
    vcpu_id: vcpu.vcpu_id,
    images: vcpu.kvm.arch.images,
    vmcs: v,
  });
  vcpu.arch.thread = thread;
  const x: vcpu_vmx = {
    thread,
    dv: new DataView(v.$buffer, v.$offset, VMCS_SIZE),
    u8: new Uint8Array(v.$buffer, v.$offset, VMCS_SIZE),
    ctl: new Int32Array(v.$buffer, v.$offset, 16),
    entry_cr8: 0n,
    pio: new Uint8Array(vcpu.run_buffer, PIO_DATA_OFFSET, 4096),
    run_u8: new Uint8Array(vcpu.run_buffer),
    pio_size: 0,
    ept_retries: 0,
    complete_pio_out: () => complete_pio(vcpu, x),
    complete_pio_in: () => complete_fast_pio_in(vcpu, x, x.pio_size),
    apic_starts: 0,
    apic_start_ms: 0,
  };
  vmx_of.set(vcpu, x);
  return x;
}

/**
 * The checks and completions `kvm_arch_vcpu_ioctl_run()` does before entering
 * the guest: 1 to enter, or the KVM_RUN result.
 */
export function kvm_vcpu_pre_run(vcpu: kvm_vcpu): number {
  const run = vcpu.run;
  const immediate_exit = run.getUint8(R_IMMEDIATE_EXIT) !== 0;
  const k = vcpu.kvm;
  if (is_td(k)) {
    const r = tdx_vcpu_pre_run(vcpu);
    if (r) return r;
  }
  if (vcpu.arch.mp_state === KVM_MP_STATE_UNINITIALIZED) {
    // immediate_exit leaves exit_reason alone (selftests rely on that).
    if (immediate_exit) return -EINTR;
    // kvm_arch_vcpu_ioctl_run(): after its wait (vcpu_block_uninitialized()
    // for an async KVM_RUN) an AP takes its INIT/SIPI and KVM_RUN returns
    // -EAGAIN, to be called again.
    if (kvm_apic_has_pending_init_or_sipi(vcpu)) {
      kvm_apic_accept_events(vcpu);
      return -EAGAIN;
    }
    // An AP waits for INIT-SIPI; with no IPIs to wait for, KVM_RUN returns as
    // if a signal interrupted the wait (see docs/fidelity.md).
    run.setUint32(R_EXIT_REASON, KVM_EXIT_INTR, true);
    vcpu_stat(vcpu).signal_exits++;
    return -EINTR;
  }
  const valid = run.getBigUint64(R_VALID_REGS, true);
  const dirty = run.getBigUint64(R_DIRTY_REGS, true);
  if ((valid | dirty) & ~KVM_SYNC_X86_VALID_FIELDS) return -EINVAL;
  if (dirty) {
    const r = sync_regs(vcpu);
    if (r) return r;
  }
  if (!irqchip_in_kernel(k)) {
    // Userspace owns the TPR without an in-kernel LAPIC: `kvm_set_cr8()`.
    const cr8 = run.getBigUint64(R_CR8, true);
    if (cr8 & ~0xfn) return -EINVAL;
    vcpu.arch.vmcs.cr8 = cr8;
  }
  const cui = vcpu.arch.complete_userspace_io;
  if (cui) {
    vcpu.arch.complete_userspace_io = null;
    const r = cui();
    if (r <= 0) return r;
  }
  if (immediate_exit) return -EINTR;
  // vcpu_enter_guest(): a soft-full dirty ring keeps the vCPU out of the guest.
  if (kvm_dirty_ring_check_request(vcpu, run)) return 0;
  if (vcpu.arch.triple_fault_pending) {
    // vcpu_enter_guest(): KVM_REQ_TRIPLE_FAULT (from KVM_X86_SET_MCE) shuts down.
    vcpu.arch.triple_fault_pending = false;
    run.setUint32(R_EXIT_REASON, KVM_EXIT_SHUTDOWN, true);
    return 0;
  }
  // vcpu_block() first takes a latched SIPI (INIT_RECEIVED → RUNNABLE); a
  // vCPU still HALTED or waiting for its SIPI blocks in the run loop.
  kvm_apic_accept_events(vcpu);
  return 1;
}

// ---------------------------------------------------------------------------
// Events: kvm_vcpu_kick(), vcpu_block(), kvm_check_and_inject_events().

/** The wake-up of a vCPU blocked in an async KVM_RUN (`rcuwait` of `kvm_vcpu_block()`). */
const waiters = new WeakMap<kvm_vcpu, () => void>();

/**
 * `kvm_vcpu_kick()`: resumes the waiter of an async KVM_RUN blocked in
 * `vcpu_block()`, and sets the VMCS `kick` word of a vCPU in guest mode,
 * which the CPU checks at each instruction boundary and answers with an
 * exit. The word stands in for the IPI KVM aims at the physical CPU.
 */
export function kvm_vcpu_kick(vcpu: kvm_vcpu): void {
  const waiter = waiters.get(vcpu);
  if (waiter) {
    // kvm_vcpu_wake_up(): a blocked vCPU woken counts as a halt wake-up.
    vcpu_stat(vcpu).generic.halt_wakeup++;
    waiter();
  }
  const vmx = vmx_of.get(vcpu);
  if (vmx && vcpu.running) Atomics.store(vmx.ctl, VMCS_CTL_KICK, 1);
}

set_lapic_host_ops({
  kick: kvm_vcpu_kick,
  // vt_deliver_interrupt() for a TD: post it, notify (kick) if it is the first.
  deliver_posted_interrupt: (vcpu, vector) => {
    if (tdx_deliver_posted_interrupt(vcpu, vector)) kvm_vcpu_kick(vcpu);
  },
});

/**
 * `kvm_interrupt_allowed()` on VMX: RFLAGS.IF and no STI / MOV SS blocking;
 * a TD's flags are hidden (`tdx_interrupt_allowed()`).
 */
function interrupt_allowed(vcpu: kvm_vcpu): boolean {
  if (is_td(vcpu.kvm)) return tdx_interrupt_allowed(vcpu);
  const v = vcpu.arch.vmcs;
  return (Number(v.rflags & 0xffffffffn) & X86_EFLAGS_IF) !== 0 &&
    !(v.interruptibility_info & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

/**
 * `kvm_cpu_has_extint()` (irq.c): while the LAPIC accepts PIC interrupts
 * (LINT0 in ExtINT mode, or the APIC disabled), a split irqchip's ExtINT from
 * KVM_INTERRUPT or the in-kernel PIC's INTR.
 */
function kvm_cpu_has_extint(vcpu: kvm_vcpu): boolean {
  if (!kvm_apic_accept_pic_intr(vcpu)) return false;
  if (vcpu.kvm.arch.irqchip_mode === KVM_IRQCHIP_SPLIT) {
    return vcpu.arch.pending_external_vector !== -1;
  }
  return (vpic(vcpu.kvm)?.output ?? 0) !== 0;
}

/** `kvm_cpu_get_extint()`: take the ExtINT (the PIC's INTA cycle). */
function kvm_cpu_get_extint(vcpu: kvm_vcpu): number {
  if (vcpu.kvm.arch.irqchip_mode === KVM_IRQCHIP_SPLIT) {
    const vector = vcpu.arch.pending_external_vector;
    vcpu.arch.pending_external_vector = -1;
    return vector;
  }
  return kvm_pic_read_irq(vcpu.kvm);
}

set_pic_kick(kvm_vcpu_kick);

/** `kvm_cpu_has_interrupt()`: ExtINT or a LAPIC vector above PPR. */
function kvm_cpu_has_interrupt(vcpu: kvm_vcpu): boolean {
  if (!irqchip_in_kernel(vcpu.kvm)) return vcpu.arch.events.interrupt.injected !== 0;
  // A protected APIC (TDX): protected_apic_has_interrupt() decides.
  if (is_td(vcpu.kvm)) return kvm_cpu_has_extint(vcpu) || tdx_protected_apic_has_interrupt(vcpu);
  return kvm_cpu_has_extint(vcpu) || kvm_apic_has_interrupt(vcpu) !== -1;
}

/**
 * `kvm_vcpu_has_events()` + `kvm_cpu_has_pending_timer()`: what ends
 * `kvm_vcpu_block()`. A pending timer wakes the vCPU even with interrupts
 * blocked, as KVM does (it then resumes after its HLT).
 */
function kvm_vcpu_check_block(vcpu: kvm_vcpu): boolean {
  if (kvm_apic_has_pending_init_or_sipi(vcpu) && kvm_apic_init_sipi_allowed(vcpu)) return true;
  if (vcpu.arch.mp_state === KVM_MP_STATE_INIT_RECEIVED) return false;
  if (pv_unhalted.has(vcpu)) return true;
  if (kvm_vcpu_has_events(vcpu)) return true;
  return apic_has_pending_timer(vcpu);
}

/**
 * `kvm_vcpu_has_events()`' event part: a latched INIT/SIPI, an NMI the
 * guest can take, an interrupt it can take (for a TD as KVM guesses it,
 * see {@linkcode tdx_interrupt_allowed}).
 */
export function kvm_vcpu_has_events(vcpu: kvm_vcpu): boolean {
  if (kvm_apic_has_pending_init_or_sipi(vcpu) && kvm_apic_init_sipi_allowed(vcpu)) return true;
  if (vcpu.arch.events.nmi.pending && nmi_allowed(vcpu.arch.vmcs.interruptibility_info)) {
    return true;
  }
  return interrupt_allowed(vcpu) && kvm_cpu_has_interrupt(vcpu);
}

/**
 * `vcpu_block()`'s wake-up: HALTED becomes RUNNABLE (PV unhalt consumed) and a
 * latched INIT/SIPI is taken. 1 to go on with the run loop.
 */
function vcpu_unblock(vcpu: kvm_vcpu, start: number): number {
  // kvm_vcpu_halt(): the time waited, in total and in its log2 bucket.
  const waited = BigInt(Math.round((performance.now() - start) * 1e6));
  const g = vcpu_stat(vcpu).generic;
  g.halt_wait_ns += waited;
  kvm_stats_log_hist_update(g.halt_wait_hist, waited);
  kvm_apic_accept_events(vcpu);
  if (vcpu.arch.mp_state === KVM_MP_STATE_HALTED) {
    pv_unhalted.delete(vcpu);
    vcpu.arch.mp_state = KVM_MP_STATE_RUNNABLE;
  }
  return 1;
}

/** A wait that only a signal can end: KVM_RUN returns -EINTR, `KVM_EXIT_INTR`. */
function block_interrupted(vcpu: kvm_vcpu): number {
  set_exit_reason(vcpu, KVM_EXIT_INTR);
  vcpu_stat(vcpu).signal_exits++;
  return -EINTR;
}

/**
 * The harness timeout ended the wait: -EINTR once, and the vCPU is stopped
 * as a guest that overran the deadline is (the next KVM_RUN says why), so a
 * caller retrying EINTR cannot wait forever.
 */
function block_expired(vcpu: kvm_vcpu): number {
  vmx_of.get(vcpu)?.thread.expire();
  return block_interrupted(vcpu);
}

const sleep_word = new Int32Array(new SharedArrayBuffer(4));

/**
 * `vcpu_block()` for a KVM_RUN that holds the host thread: only the vCPU's
 * own timer can wake it (no other vCPU's exit is handled meanwhile), so it
 * sleeps until the timer fires; with no timer armed, or past the run
 * deadline, the wait ends as a signal would end it.
 */
function vcpu_block_sync(vcpu: kvm_vcpu): number {
  const deadline = run_deadline();
  const start = performance.now();
  const give_up = deadline === undefined ? Infinity : start + deadline;
  for (;;) {
    if (kvm_vcpu_check_block(vcpu)) return vcpu_unblock(vcpu, start);
    const next = kvm_lapic_next_event_ms(vcpu);
    if (next === null) return block_interrupted(vcpu);
    const now = performance.now();
    if (now >= give_up) return block_expired(vcpu);
    Atomics.wait(sleep_word, 0, 0, Math.max(0, Math.min(next, give_up) - now));
  }
}

/**
 * `vcpu_block()` for an async KVM_RUN: sleeps (the event loop runs other
 * vCPUs) until {@linkcode kvm_vcpu_kick} or the vCPU's timer, up to the run
 * deadline.
 */
async function vcpu_block_async(vcpu: kvm_vcpu): Promise<number> {
  const deadline = run_deadline();
  const start = performance.now();
  const give_up = deadline === undefined ? Infinity : start + deadline;
  for (;;) {
    if (kvm_vcpu_check_block(vcpu)) return vcpu_unblock(vcpu, start);
    const now = performance.now();
    if (now >= give_up) return block_expired(vcpu);
    const next = kvm_lapic_next_event_ms(vcpu);
    const until = Math.min(next ?? Infinity, give_up);
    // kvm_vcpu_block(): the `blocking` stat reads 1 while the vCPU sleeps.
    const stat = vcpu_stat(vcpu).generic;
    stat.blocking = 1n;
    await new Promise<void>((resolve) => {
      const t = until === Infinity ? undefined : setTimeout(resolve, Math.max(0, until - now));
      waiters.set(vcpu, () => {
        if (t !== undefined) clearTimeout(t);
        resolve();
      });
    });
    stat.blocking = 0n;
    waiters.delete(vcpu);
  }
}

/**
 * `kvm_check_and_inject_events()` + `inject_pending_event()`, run before each
 * entry. An expired APIC timer first sets its vector in IRR. Then at most one
 * event goes into the VM-entry interruption field, tried in this order: a
 * KVM_INTERRUPT vector waiting for re-injection, an NMI, an ExtINT (PIC or
 * split irqchip), the LAPIC's best vector above PPR. An interrupt that cannot
 * go in at this entry (RFLAGS.IF clear, an STI / MOV SS shadow, the field
 * already in use), or a `request_interrupt_window` from userspace, turns on
 * interrupt-window exiting instead.
 */
function inject_pending_event(vcpu: kvm_vcpu, vmx: vcpu_vmx): void {
  Atomics.store(vmx.ctl, VMCS_CTL_KICK, 0);
  const k = vcpu.kvm;
  if (irqchip_in_kernel(k)) kvm_inject_apic_timer_irqs(vcpu);
  if (is_td(k)) {
    // KVM cannot inject into a TD: the module and the CPU deliver what was posted.
    Atomics.store(vmx.ctl, VMCS_CTL_IRQ_WINDOW, tdx_inject_pending(vcpu) ? 1 : 0);
    return;
  }
  const ev = vcpu.arch.events;
  let window = false;
  const busy = (vmx.dv.getUint32(V_ENTRY_INTR_INFO, true) & INTR_INFO_VALID_MASK) !== 0;
  if (!busy) {
    if (ev.interrupt.injected) {
      // An interrupt KVM_INTERRUPT (or KVM_SET_VCPU_EVENTS) made "injected"
      // is re-injected at the next entry whatever RFLAGS.IF says.
      ev.interrupt.injected = 0;
      inject_event(vmx, INTR_TYPE_EXT_INTR, ev.interrupt.nr);
      vcpu_stat(vcpu).irq_injections++;
    } else if (ev.nmi.pending && nmi_allowed(vmx.dv.getUint32(V_INTERRUPTIBILITY, true))) {
      ev.nmi.pending--;
      inject_event(vmx, INTR_TYPE_NMI_INTR, NMI_VECTOR);
      vcpu_stat(vcpu).nmi_injections++;
    } else if (irqchip_in_kernel(k) && kvm_cpu_has_interrupt(vcpu)) {
      if (interrupt_allowed(vcpu)) {
        let vector: number;
        if (kvm_cpu_has_extint(vcpu)) vector = kvm_cpu_get_extint(vcpu);
        else vector = kvm_get_apic_interrupt(vcpu);
        if (vector >= 0) {
          inject_event(vmx, INTR_TYPE_EXT_INTR, vector);
          vcpu_stat(vcpu).irq_injections++;
        }
      } else window = true;
    }
  } else if (irqchip_in_kernel(k) && kvm_cpu_has_interrupt(vcpu)) window = true;
  if (vcpu.run.getUint8(R_REQUEST_INTERRUPT_WINDOW) && k.arch.irqchip_mode !== KVM_IRQCHIP_KERNEL) {
    window = true;
  }
  // vmx_enable_nmi_window(): an NMI still pending waits for the end of NMI
  // blocking (the IRET of the handler) or of the STI / MOV SS shadow.
  const nmi_window = ev.nmi.pending > 0 && !busy &&
    !nmi_allowed(vmx.dv.getUint32(V_INTERRUPTIBILITY, true));
  Atomics.store(
    vmx.ctl,
    VMCS_CTL_IRQ_WINDOW,
    (window ? VMCS_IRQ_WINDOW_INTR : 0) | (nmi_window ? VMCS_IRQ_WINDOW_NMI : 0),
  );
}

/**
 * `vmx_nmi_allowed()`: no blocking by NMI (an NMI handler has not yet
 * executed IRET), STI or MOV SS.
 */
function nmi_allowed(interruptibility: number): boolean {
  return !(interruptibility &
    (GUEST_INTR_STATE_NMI | GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS));
}

/** VM-entry event injection of an external interrupt or NMI (delivered at the boundary). */
function inject_event(vmx: vcpu_vmx, type: number, vector: number): void {
  vmx.dv.setUint32(V_ENTRY_INTR_INFO, (INTR_INFO_VALID_MASK | type | vector) >>> 0, true);
}

/**
 * `dm_request_for_irq_injection()` && `kvm_vcpu_ready_for_interrupt_injection()`:
 * whether KVM_RUN stops with KVM_EXIT_IRQ_WINDOW_OPEN. That needs
 * `request_interrupt_window` without an in-kernel PIC, RFLAGS.IF set and no
 * STI / MOV SS shadow, and nothing queued for the next entry already.
 */
function irq_window_open(vcpu: kvm_vcpu, vmx: vcpu_vmx): boolean {
  const k = vcpu.kvm;
  if (
    !vcpu.run.getUint8(R_REQUEST_INTERRUPT_WINDOW) || k.arch.irqchip_mode === KVM_IRQCHIP_KERNEL
  ) {
    return false;
  }
  if (!interrupt_allowed(vcpu)) return false;
  if (vmx.dv.getUint32(V_ENTRY_INTR_INFO, true) & INTR_INFO_VALID_MASK) return false;
  if (vcpu.arch.events.interrupt.injected) return false;
  // kvm_cpu_accept_dm_intr(): with a LAPIC, only while it takes ExtINT and none is pending.
  if (irqchip_in_kernel(k)) {
    return kvm_apic_accept_pic_intr(vcpu) && vcpu.arch.pending_external_vector === -1;
  }
  return true;
}

/** `post_kvm_run_save()`: the interrupt-window state userspace reads after every KVM_RUN. */
function post_kvm_run_save(vcpu: kvm_vcpu): void {
  const run = vcpu.run;
  const v = vcpu.arch.vmcs;
  if (is_td(vcpu.kvm)) {
    // A TD's RFLAGS and VTPR are hidden: vt_get_if_flag() is false, CR8 is
    // KVM's own LAPIC TPR (kvm_get_cr8()), and readiness is KVM's guess
    // (tdx_interrupt_allowed(), kvm_cpu_accept_dm_intr()).
    run.setUint8(R_IF_FLAG, 0);
    run.setUint16(R_FLAGS, 0, true);
    run.setBigUint64(R_CR8, kvm_lapic_get_cr8(vcpu), true);
    run.setBigUint64(R_APIC_BASE, v.apic_base, true);
    const ready = tdx_interrupt_allowed(vcpu) && !kvm_cpu_has_extint(vcpu) &&
      kvm_apic_accept_pic_intr(vcpu);
    run.setUint8(R_READY_FOR_INJECTION, ready ? 1 : 0);
    return;
  }
  const if_flag = (Number(v.rflags & 0xffffffffn) & X86_EFLAGS_IF) !== 0;
  const blocked = (v.interruptibility_info & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS)) !==
    0;
  run.setUint8(R_IF_FLAG, if_flag ? 1 : 0);
  run.setUint16(R_FLAGS, 0, true);
  run.setBigUint64(R_CR8, v.cr8, true);
  run.setBigUint64(R_APIC_BASE, v.apic_base, true);
  const pic = vcpu.kvm.arch.irqchip_mode === 1;
  run.setUint8(R_READY_FOR_INJECTION, pic || (if_flag && !blocked) ? 1 : 0);
}

/**
 * `kvm.force_emulation_prefix` (x86.c's module parameter, 0644 in sysfs):
 * bit 0 lets guests force emulation with `ud2; .ascii "kvm"`. KVM's #UD
 * intercept (`handle_ud()`) checks the bytes at RIP and emulates the next
 * instruction; the simulated CPU does both itself (it executes what KVM would
 * emulate), so the kernel only passes the parameter on at each entry.
 */
export let force_emulation_prefix = 0;

/** `param_set_int()` for {@linkcode force_emulation_prefix}. */
export function set_force_emulation_prefix(v: number): void {
  force_emulation_prefix = v | 0;
}

function prepare_entry(vcpu: kvm_vcpu, vmx: vcpu_vmx): void {
  kvm_vcpu_sync_memmap(vcpu, vmx);
  vmx.entry_cr8 = vcpu.arch.vmcs.cr8;
  vmx.dv.setUint32(V_MAXPHYADDR, vcpu.arch.maxphyaddr, true);
  vmx.dv.setUint32(V_FEP, force_emulation_prefix, true);
  // KVM's #UD intercept emulates VMMCALL through emulator_fix_hypercall() (x86.c):
  // the CPU does the rewrite itself and needs to know whether the quirk is on.
  const fix = !(vcpu.kvm.arch.disabled_quirks & KVM_X86_QUIRK_FIX_HYPERCALL_INSN);
  vmx.dv.setUint32(V_FIX_HC, fix ? 1 : 0, true);
  apic_sync_entry(vcpu, vmx);
}

// ---------------------------------------------------------------------------
// APIC timer accesses finish when the guest resumes (lapic.ts explains why).
// An exit whose handling started the timer (a TMICT or LVTT write) has the
// CPU stamp the instant the guest resumes, and the next exit moves the start
// there; a TMCCT read has the CPU compute the count at that instant. Only an
// exit followed by an entry of the same KVM_RUN counts: a start by an ioctl,
// or before a return to userspace, keeps the kernel's time, as in KVM.

/** At an exit (and at KVM_RUN): applies the CPU's stamp, clears the requests. */
function apic_sync_exit(vcpu: kvm_vcpu, vmx: vcpu_vmx): void {
  const flags = vmx.dv.getUint32(V_APIC_SYNC, true);
  if (flags !== 0) {
    if (flags & VMCS_APIC_SYNC_STAMPED) {
      kvm_lapic_timer_delay_start(
        vcpu,
        vmx.dv.getFloat64(V_APIC_SYNC_MS, true) - vmx.apic_start_ms,
      );
    }
    vmx.dv.setUint32(V_APIC_SYNC, 0, true);
  }
  vmx.apic_starts = kvm_lapic_timer_starts(vcpu);
}

/** At an entry: asks the CPU to stamp a start this exit's handling made. */
function apic_sync_entry(vcpu: kvm_vcpu, vmx: vcpu_vmx): void {
  const starts = kvm_lapic_timer_starts(vcpu);
  if (starts === vmx.apic_starts) return;
  vmx.apic_starts = starts;
  vmx.apic_start_ms = kvm_lapic_timer_start_ms(vcpu);
  vmx.dv.setFloat64(V_APIC_SYNC_MS, vmx.apic_start_ms, true);
  const flags = vmx.dv.getUint32(V_APIC_SYNC, true);
  vmx.dv.setUint32(V_APIC_SYNC, flags | VMCS_APIC_SYNC_TIMER_START, true);
}

/** After an emulated TMCCT read: the CPU recomputes the count at resume, into `dest`. */
function apic_sync_tmcct(vcpu: kvm_vcpu, vmx: vcpu_vmx, dest: number): void {
  const c = kvm_lapic_tmcct_clock(vcpu);
  if (!c) return;
  vmx.dv.setFloat64(V_TMCCT_TARGET, c.target_ms, true);
  vmx.dv.setFloat64(V_TMCCT_PERIOD, c.period_ms, true);
  vmx.dv.setFloat64(V_TMCCT_TICK, c.tick_ms, true);
  vmx.dv.setUint32(V_APIC_SYNC_DEST, dest, true);
  const flags = vmx.dv.getUint32(V_APIC_SYNC, true) & ~VMCS_APIC_SYNC_TMCCT_PERIODIC;
  const tmcct = VMCS_APIC_SYNC_TMCCT | (c.periodic ? VMCS_APIC_SYNC_TMCCT_PERIODIC : 0);
  vmx.dv.setUint32(V_APIC_SYNC, flags | tmcct, true);
}

/** A word to sleep on for the `stall:exit` fault (fault_inject.ts). */
const stall_word = new Int32Array(new SharedArrayBuffer(4));

/**
 * The `stall:exit` fault: the host thread is held up between handling an
 * exit and re-entering the guest (preempted, or paused by its garbage
 * collector), for the rule's number of milliseconds.
 */
function exit_stall(): void {
  const ms = exit_stall_ms();
  if (ms > 0) Atomics.wait(stall_word, 0, 0, ms);
}

/**
 * `vcpu_enter_guest()`'s KVM_REQ_IOAPIC_EOI_EXIT: a split irqchip's EOI of a
 * vector the userspace IOAPIC owns exits with KVM_EXIT_IOAPIC_EOI.
 */
function ioapic_eoi_exit(vcpu: kvm_vcpu): boolean {
  const vector = kvm_take_pending_ioapic_eoi(vcpu);
  if (vector < 0) return false;
  set_exit_reason(vcpu, KVM_EXIT_IOAPIC_EOI);
  vcpu.run.setUint8(R_EOI_VECTOR, vector);
  return true;
}

const R_EOI_VECTOR = offsetof(kvm_run, "eoi.vector");

/** KVM_RUN, blocking the calling thread until an exit goes to userspace. */
export function vmx_vcpu_run(vcpu: kvm_vcpu): number {
  if (vcpu.running) return -EBUSY;
  vcpu.running = true;
  try {
    let r = kvm_vcpu_pre_run(vcpu);
    if (r > 0) {
      const vmx = vmx_get_vcpu(vcpu);
      vcpu.has_run = true;
      apic_sync_exit(vcpu, vmx);
      do {
        if (vcpu.arch.mp_state !== KVM_MP_STATE_RUNNABLE) {
          r = vcpu_block_sync(vcpu);
          continue;
        }
        if (ioapic_eoi_exit(vcpu)) {
          r = 0;
          break;
        }
        inject_pending_event(vcpu, vmx);
        prepare_entry(vcpu, vmx);
        exit_stall();
        r = vmx_handle_exit(vcpu, vmx, vmx.thread.enter());
        if (r > 0 && irq_window_open(vcpu, vmx)) {
          set_exit_reason(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
          vcpu_stat(vcpu).request_irq_exits++;
          r = 0;
        }
      } while (r > 0);
    }
    store_regs(vcpu);
    post_kvm_run_save(vcpu);
    return r;
  } finally {
    vcpu.running = false;
  }
}

/** Longest time async KVM_RUNs may keep the event loop's timers waiting. */
const YIELD_INTERVAL_MS = 10;
let last_yield = 0;

/**
 * Lets timers and I/O callbacks run. An exit that comes back while the host
 * still spins settles the async KVM_RUN with microtasks only, so a guest
 * that exits in a tight loop would starve the event loop, where a C test's
 * other threads keep running beside its vCPU thread.
 */
async function yield_to_event_loop(): Promise<void> {
  const now = performance.now();
  if (now - last_yield < YIELD_INTERVAL_MS) return;
  await new Promise((resolve) => setTimeout(resolve, 0));
  last_yield = performance.now();
}

/**
 * The wait of an AP in `KVM_MP_STATE_UNINITIALIZED` (`kvm_vcpu_block()`
 * in `kvm_arch_vcpu_ioctl_run()`) for an async KVM_RUN: until an INIT or
 * SIPI is latched (another vCPU's IPI kicks it) or the run deadline.
 */
async function vcpu_block_uninitialized(vcpu: kvm_vcpu): Promise<void> {
  const deadline = run_deadline();
  const give_up = deadline === undefined ? Infinity : performance.now() + deadline;
  while (!kvm_apic_has_pending_init_or_sipi(vcpu)) {
    const now = performance.now();
    if (now >= give_up) return;
    await new Promise<void>((resolve) => {
      const t = give_up === Infinity ? undefined : setTimeout(resolve, give_up - now);
      waiters.set(vcpu, () => {
        if (t !== undefined) clearTimeout(t);
        resolve();
      });
    });
    waiters.delete(vcpu);
  }
}

/** KVM_RUN, letting other JavaScript (other vCPUs) run while the guest runs. */
export async function vmx_vcpu_run_async(vcpu: kvm_vcpu): Promise<number> {
  if (vcpu.running) return -EBUSY;
  vcpu.running = true;
  await yield_to_event_loop();
  try {
    if (
      vcpu.arch.mp_state === KVM_MP_STATE_UNINITIALIZED &&
      !vcpu.run.getUint8(R_IMMEDIATE_EXIT) && irqchip_in_kernel(vcpu.kvm)
    ) {
      await vcpu_block_uninitialized(vcpu);
    }
    let r = kvm_vcpu_pre_run(vcpu);
    if (r > 0) {
      const vmx = vmx_get_vcpu(vcpu);
      vcpu.has_run = true;
      apic_sync_exit(vcpu, vmx);
      do {
        if (vcpu.arch.mp_state !== KVM_MP_STATE_RUNNABLE) {
          r = await vcpu_block_async(vcpu);
          continue;
        }
        if (ioapic_eoi_exit(vcpu)) {
          r = 0;
          break;
        }
        inject_pending_event(vcpu, vmx);
        prepare_entry(vcpu, vmx);
        exit_stall();
        r = vmx_handle_exit(vcpu, vmx, await vmx.thread.enter_async());
        if (r > 0 && irq_window_open(vcpu, vmx)) {
          set_exit_reason(vcpu, KVM_EXIT_IRQ_WINDOW_OPEN);
          vcpu_stat(vcpu).request_irq_exits++;
          r = 0;
        }
      } while (r > 0);
    }
    store_regs(vcpu);
    post_kvm_run_save(vcpu);
    return r;
  } finally {
    vcpu.running = false;
  }
}

/** Frees the vCPU's CPU worker (`vmx_vcpu_free`). */
export function vmx_vcpu_destroy(vcpu: kvm_vcpu): void {
  const vmx = vmx_of.get(vcpu);
  if (!vmx) return;
  vmx.thread.destroy();
  vmx_of.delete(vcpu);
  vcpu.arch.thread = null;
}

// ---------------------------------------------------------------------------
// Register helpers over the VMCS.

function reg(vmx: vcpu_vmx, r: number): bigint {
  return vmx.dv.getBigUint64(V_REGS + 8 * r, true);
}

function set_reg(vmx: vcpu_vmx, r: number, v: bigint): void {
  vmx.dv.setBigUint64(V_REGS + 8 * r, BigInt.asUintN(64, v), true);
}

function reg32(vmx: vcpu_vmx, r: number): number {
  return vmx.dv.getUint32(V_REGS + 8 * r, true);
}

function set_reg32(vmx: vcpu_vmx, r: number, v: number): void {
  // A 32-bit register write zero-extends, as in 64-bit mode.
  vmx.dv.setUint32(V_REGS + 8 * r, v >>> 0, true);
  vmx.dv.setUint32(V_REGS + 8 * r + 4, 0, true);
}

function rip(vmx: vcpu_vmx): bigint {
  return vmx.dv.getBigUint64(V_RIP, true);
}

/** `vmx_get_cpl()`: SS.DPL in protected mode, 0 in real mode. */
function get_cpl(vmx: vcpu_vmx): number {
  if (!(vmx.dv.getUint32(V_CR0, true) & X86_CR0_PE)) return 0;
  return vmx.u8[V_SS_DPL]! & 3;
}

/** `is_64_bit_hypercall()`: long mode with a 64-bit code segment. */
function is_64_bit_mode(vmx: vcpu_vmx): boolean {
  return (vmx.dv.getUint32(V_EFER, true) & EFER_LMA) !== 0 && vmx.u8[V_CS_L] === 1;
}

/**
 * `kvm_skip_emulated_instruction()`: RIP past the exiting instruction, which
 * completes it (the VMCS exit protocol), and the STI/MOV SS shadow ends.
 */
function skip_emulated_instruction(vmx: vcpu_vmx): number {
  const len = vmx.dv.getUint32(V_EXIT_LEN, true);
  vmx.dv.setBigUint64(V_RIP, BigInt.asUintN(64, rip(vmx) + BigInt(len)), true);
  const i = vmx.dv.getUint32(V_INTERRUPTIBILITY, true);
  vmx.dv.setUint32(V_INTERRUPTIBILITY, i & ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS), true);
  return 1;
}

/** `kvm_queue_exception_e()` as VM-entry event injection: the instruction raises it. */
function inject_exception(vmx: vcpu_vmx, vector: number, error_code?: number): number {
  let info = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | vector;
  if (error_code !== undefined) {
    info |= INTR_INFO_DELIVER_CODE_MASK;
    vmx.dv.setUint32(V_ENTRY_EC, error_code, true);
  }
  vmx.dv.setUint32(V_ENTRY_INTR_INFO, info >>> 0, true);
  return 1;
}

function set_exit_reason(vcpu: kvm_vcpu, reason: number): void {
  vcpu.run.setUint32(R_EXIT_REASON, reason, true);
}

// ---------------------------------------------------------------------------
// Exit handlers (vmx.c kvm_vmx_exit_handlers[] and the x86.c emulation they call).

/** `handle_io()`: `kvm_fast_pio()` for IN/OUT, the emulator for INS/OUTS. */
function handle_io(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  const q = vmx.dv.getUint32(V_EXIT_QUAL, true);
  const size = (q & IO_QUAL_SIZE_MASK) + 1;
  const is_in = (q & IO_QUAL_IN) !== 0;
  const string = (q & IO_QUAL_STRING) !== 0;
  const port = q >>> 16;
  const run = vcpu.run;
  // handle_io() counts every port I/O exit, in-kernel device or not.
  vcpu_stat(vcpu).io_exits++;
  // kernel_pio(): an in-kernel device's port (the PIC's) completes without an exit.
  if (!string && kernel_pio(vcpu, vmx, port, size, is_in)) return skip_emulated_instruction(vmx);
  set_exit_reason(vcpu, KVM_EXIT_IO);
  run.setUint8(R_IO_DIRECTION, is_in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT);
  run.setUint8(R_IO_SIZE, size);
  run.setUint16(R_IO_PORT, port, true);
  run.setBigUint64(R_IO_DATA_OFFSET, BigInt(PIO_DATA_OFFSET), true);
  const exit_rip = rip(vmx);
  vcpu.arch.exit_rip = exit_rip;
  // emulator_pio_in_out() (x86.c, kvm-x86/linux): an IN exit's data area starts zeroed.
  if (is_in) {
    const n = string ? Math.min(vmx.dv.getUint32(V_IO_COUNT, true) * size, 4096) : size;
    vmx.pio.fill(0, 0, n);
  }
  if (!string) {
    run.setUint32(R_IO_COUNT, 1, true);
    if (is_in) {
      vmx.pio_size = size;
      vcpu.arch.complete_userspace_io = vmx.complete_pio_in;
      return 0;
    }
    // OUT: the data is copied to the PIO page now.
    for (let i = 0; i < size; i++) vmx.pio[i] = vmx.u8[V_REGS + i]!;
    if (port === 0x7e && !(vcpu.kvm.arch.disabled_quirks & KVM_X86_QUIRK_OUT_7E_INC_RIP)) {
      // KVM_X86_QUIRK_OUT_7E_INC_RIP: userspace sees RIP already after an OUT
      // to port 0x7e while it handles the exit, as with KVM before the fix.
      skip_emulated_instruction(vmx);
      vcpu.arch.complete_userspace_io = () => 1;
      return 0;
    }
    vcpu.arch.complete_userspace_io = vmx.complete_pio_out;
    return 0;
  }
  const count = vmx.dv.getUint32(V_IO_COUNT, true);
  const bytes = Math.min(count * size, 4096);
  run.setUint32(R_IO_COUNT, count, true);
  if (!is_in) vmx.pio.set(vmx.u8.subarray(V_IO_DATA, V_IO_DATA + bytes));
  vcpu.arch.complete_userspace_io = () => {
    if (rip(vmx) !== vcpu.arch.exit_rip) return 1;
    if (is_in) vmx.u8.set(vmx.pio.subarray(0, bytes), V_IO_DATA);
    return skip_emulated_instruction(vmx);
  };
  return 0;
}

/**
 * `kernel_pio()` for one IN or OUT: the PIO bus's devices (the full
 * irqchip's PIC and ELCR) take it, an IN's value merged into RAX as
 * `complete_fast_pio_in()` merges it. `false` when no device claims the port.
 */
function kernel_pio(
  vcpu: kvm_vcpu,
  vmx: vcpu_vmx,
  port: number,
  size: number,
  is_in: boolean,
): boolean {
  if (is_in) {
    const v = picdev_read(vcpu.kvm, port, size);
    if (v === null) return false;
    if (size === 4) set_reg32(vmx, VCPU_REGS_RAX, v);
    else for (let i = 0; i < size; i++) vmx.u8[V_REGS + i] = (v >>> (8 * i)) & 0xff;
    return true;
  }
  let data = 0;
  for (let i = 0; i < size; i++) data |= vmx.u8[V_REGS + i]! << (8 * i);
  if (picdev_write(vcpu.kvm, port, size, data >>> 0)) return true;
  // A coalesced PIO zone on the bus queues the OUT in the ring instead.
  return kvm_coalesced_io_write(vcpu, true, BigInt(port), vmx.u8.slice(V_REGS, V_REGS + size));
}

/** `complete_fast_pio_out()`: the OUT completes unless userspace moved RIP. */
function complete_pio(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  if (rip(vmx) !== vcpu.arch.exit_rip) return 1;
  return skip_emulated_instruction(vmx);
}

/**
 * `complete_fast_pio_in()`: the data lands in AL, AX or EAX as IN writes them
 * (an EAX write zero-extends into RAX); RIP then moves past the IN.
 */
function complete_fast_pio_in(vcpu: kvm_vcpu, vmx: vcpu_vmx, size: number): number {
  if (rip(vmx) !== vcpu.arch.exit_rip) return 1;
  if (size === 4) {
    set_reg32(vmx, VCPU_REGS_RAX, new DataView(vmx.pio.buffer, PIO_DATA_OFFSET).getUint32(0, true));
  } else for (let i = 0; i < size; i++) vmx.u8[V_REGS + i] = vmx.pio[i]!;
  return skip_emulated_instruction(vmx);
}

/** `kvm_emulate_cpuid()`: from the vCPU's CPUID table, with the runtime bits current. */
function handle_cpuid(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  kvm_update_cpuid_runtime(vcpu);
  const [a, b, c, d] = kvm_cpuid(
    vcpu.arch.cpuid_entries,
    reg32(vmx, VCPU_REGS_RAX),
    reg32(vmx, VCPU_REGS_RCX),
  );
  set_reg32(vmx, VCPU_REGS_RAX, a);
  set_reg32(vmx, VCPU_REGS_RBX, b);
  set_reg32(vmx, VCPU_REGS_RCX, c);
  set_reg32(vmx, VCPU_REGS_RDX, d);
  return skip_emulated_instruction(vmx);
}

/**
 * `kvm_emulate_halt()`: RIP moves past HLT first. With the LAPIC in userspace,
 * KVM_RUN returns KVM_EXIT_HLT; with an in-kernel LAPIC the mp_state becomes
 * HALTED and the next pass of the run loop sleeps in `vcpu_block()`.
 */
function handle_halt(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  skip_emulated_instruction(vmx);
  vcpu_stat(vcpu).halt_exits++;
  const k = vcpu.kvm;
  if (irqchip_in_kernel(k)) {
    // __kvm_emulate_halt(): HALTED; vcpu_block() does the waiting.
    vcpu.arch.mp_state = KVM_MP_STATE_HALTED;
    return 1;
  }
  if (k.arch.disabled_exits & KVM_X86_DISABLE_EXITS_HLT) {
    // A guest halting natively waits for an interrupt only userspace
    // (KVM_INTERRUPT) could give: a signal ends the wait.
    vcpu.arch.mp_state = KVM_MP_STATE_HALTED;
    set_exit_reason(vcpu, KVM_EXIT_INTR);
    vcpu_stat(vcpu).signal_exits++;
    return -EINTR;
  }
  set_exit_reason(vcpu, KVM_EXIT_HLT);
  return 0;
}

/** `kvm_msr_reason()`. */
function kvm_msr_reason(r: number): number {
  switch (r) {
    case KVM_MSR_RET_UNSUPPORTED:
      return KVM_MSR_EXIT_REASON_UNKNOWN;
    case KVM_MSR_RET_FILTERED:
      return KVM_MSR_EXIT_REASON_FILTER;
    default:
      return KVM_MSR_EXIT_REASON_INVAL;
  }
}

/** `kvm_msr_user_space()`: hands a failed guest MSR access to userspace when it asked for it. */
function kvm_msr_user_space(
  vcpu: kvm_vcpu,
  index: number,
  exit_reason: number,
  data: bigint,
  completion: () => number,
  r: number,
): boolean {
  const reason = kvm_msr_reason(r);
  if (!(vcpu.kvm.arch.user_space_msr_mask & reason)) return false;
  const run = vcpu.run;
  set_exit_reason(vcpu, exit_reason);
  run.setUint8(R_MSR_ERROR, 0);
  for (let i = 1; i < 8; i++) run.setUint8(R_MSR_ERROR + i, 0);
  run.setUint32(R_MSR_REASON, reason, true);
  run.setUint32(R_MSR_INDEX, index, true);
  run.setBigUint64(R_MSR_DATA, data, true);
  vcpu.arch.complete_userspace_io = completion;
  return true;
}

/** `vmx_complete_emulated_msr()`: #GP on error, else the instruction completes. */
function complete_emulated_msr(vmx: vcpu_vmx, err: boolean): number {
  if (err) return inject_exception(vmx, GP_VECTOR, 0);
  return skip_emulated_instruction(vmx);
}

const msr_data = [0n];

/** `kvm_emulate_rdmsr()` with the MSR filter (`kvm_get_msr_with_filter()`). */
function handle_rdmsr(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  const index = reg32(vmx, VCPU_REGS_RCX);
  let r: number;
  if (!kvm_msr_allowed(vcpu.kvm, index, KVM_MSR_FILTER_READ)) r = KVM_MSR_RET_FILTERED;
  else r = kvm_get_msr(vcpu, index, msr_data, false);
  if (!r) {
    set_reg32(vmx, VCPU_REGS_RAX, Number(msr_data[0]! & 0xffffffffn));
    set_reg32(vmx, VCPU_REGS_RDX, Number(msr_data[0]! >> 32n));
    if (index === APIC_BASE_MSR + (APIC_TMCCT >> 4)) {
      apic_sync_tmcct(vcpu, vmx, VMCS_APIC_SYNC_DEST_EDX_EAX);
    }
    return skip_emulated_instruction(vmx);
  }
  const complete = () => {
    const run = vcpu.run;
    const err = run.getUint8(R_MSR_ERROR) !== 0;
    if (!err) {
      const data = run.getBigUint64(R_MSR_DATA, true);
      set_reg32(vmx, VCPU_REGS_RAX, Number(data & 0xffffffffn));
      set_reg32(vmx, VCPU_REGS_RDX, Number(data >> 32n));
    }
    return complete_emulated_msr(vmx, err);
  };
  if (kvm_msr_user_space(vcpu, index, KVM_EXIT_X86_RDMSR, 0n, complete, r)) return 0;
  return complete_emulated_msr(vmx, true);
}

/** `kvm_emulate_wrmsr()` with the MSR filter (`kvm_set_msr_with_filter()`). */
function handle_wrmsr(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  const index = reg32(vmx, VCPU_REGS_RCX);
  const data = (BigInt(reg32(vmx, VCPU_REGS_RDX)) << 32n) | BigInt(reg32(vmx, VCPU_REGS_RAX));
  let r: number;
  if (!kvm_msr_allowed(vcpu.kvm, index, KVM_MSR_FILTER_WRITE)) r = KVM_MSR_RET_FILTERED;
  else r = kvm_set_msr(vcpu, index, data, false);
  if (!r) return skip_emulated_instruction(vmx);
  const complete = () => complete_emulated_msr(vmx, vcpu.run.getUint8(R_MSR_ERROR) !== 0);
  if (kvm_msr_user_space(vcpu, index, KVM_EXIT_X86_WRMSR, data, complete, r)) return 0;
  return complete_emulated_msr(vmx, true);
}

/** `complete_hypercall_exit()`: RAX = the result (32 bits outside 64-bit mode); VMCALL completes. */
function complete_hypercall(vmx: vcpu_vmx, ret: bigint, op_64_bit: boolean): number {
  set_reg(vmx, VCPU_REGS_RAX, op_64_bit ? ret : ret & 0xffffffffn);
  return skip_emulated_instruction(vmx);
}

/** `kvm_emulate_hypercall()`: KVM's hypercall ABI (RAX = nr, RBX/RCX/RDX/RSI = arguments). */
function handle_vmcall(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  vcpu_stat(vcpu).hypercalls++;
  const op_64_bit = is_64_bit_mode(vmx);
  const mask = op_64_bit ? 0xffffffffffffffffn : 0xffffffffn;
  const nr = reg(vmx, VCPU_REGS_RAX) & mask;
  const a0 = reg(vmx, VCPU_REGS_RBX) & mask;
  const a1 = reg(vmx, VCPU_REGS_RCX) & mask;
  const a2 = reg(vmx, VCPU_REGS_RDX) & mask;
  const k = vcpu.kvm;
  let ret = BigInt(-KVM_ENOSYS);
  if (get_cpl(vmx) !== 0) {
    ret = BigInt(-KVM_EPERM);
  } else {
    switch (nr) {
      case BigInt(KVM_HC_VAPIC_POLL_IRQ):
        ret = 0n;
        break;
      case BigInt(KVM_HC_KICK_CPU):
        // kvm_pv_kick_cpu_op(): a REMRD message to APIC ID a1 unhalts it;
        // the yield to it (kvm_sched_yield()) has no host scheduler to ask.
        if (!guest_pv_has(vcpu, KVM_FEATURE_PV_UNHALT)) break;
        if (irqchip_in_kernel(k)) kvm_pv_kick_cpu_op(k, Number(a1 & 0xffffffffn));
        ret = 0n;
        break;
      case BigInt(KVM_HC_SCHED_YIELD):
        if (guest_pv_has(vcpu, KVM_FEATURE_PV_SCHED_YIELD)) ret = 0n;
        break;
      case BigInt(KVM_HC_SEND_IPI):
        // kvm_pv_send_ipi(): needs the in-kernel LAPIC (its APIC map).
        if (!guest_pv_has(vcpu, KVM_FEATURE_PV_SEND_IPI) || !irqchip_in_kernel(k)) break;
        ret = BigInt(
          kvm_pv_send_ipi(k, a0, a1, a2, reg(vmx, VCPU_REGS_RSI) & mask, op_64_bit),
        );
        break;
      case BigInt(KVM_HC_CLOCK_PAIRING):
        // The host clocksource is not the TSC.
        ret = BigInt(-KVM_EOPNOTSUPP);
        break;
      case BigInt(KVM_HC_MAP_GPA_RANGE): {
        if (!(k.arch.hypercall_exit_enabled & (1n << BigInt(KVM_HC_MAP_GPA_RANGE)))) break;
        const gfn = a0 >> 12n;
        if ((a0 & 0xfffn) || !a1 || BigInt.asUintN(64, gfn + a1) <= gfn) {
          ret = BigInt(-KVM_EINVAL);
          break;
        }
        const run = vcpu.run;
        set_exit_reason(vcpu, KVM_EXIT_HYPERCALL);
        run.setBigUint64(R_HC_NR, BigInt(KVM_HC_MAP_GPA_RANGE), true);
        run.setBigUint64(R_HC_RET, 0n, true);
        run.setBigUint64(R_HC_ARGS, a0, true);
        run.setBigUint64(R_HC_ARGS + 8, a1, true);
        run.setBigUint64(R_HC_ARGS + 16, a2, true);
        run.setBigUint64(R_HC_FLAGS, op_64_bit ? KVM_EXIT_HYPERCALL_LONG_MODE : 0n, true);
        vcpu.arch.complete_userspace_io = () =>
          complete_hypercall(vmx, run.getBigUint64(R_HC_RET, true), is_64_bit_mode(vmx));
        return 0;
      }
    }
  }
  return complete_hypercall(vmx, BigInt.asUintN(64, ret), op_64_bit);
}

/** `kvm_emulate_xsetbv()`: CPL 0 and a valid XCR0, else #GP. */
function handle_xsetbv(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  const index = reg32(vmx, VCPU_REGS_RCX);
  const value = (BigInt(reg32(vmx, VCPU_REGS_RDX)) << 32n) | BigInt(reg32(vmx, VCPU_REGS_RAX));
  if (get_cpl(vmx) !== 0 || index !== XCR_XFEATURE_ENABLED_MASK || kvm_set_xcr0(vcpu, value)) {
    return inject_exception(vmx, GP_VECTOR, 0);
  }
  return skip_emulated_instruction(vmx);
}

/**
 * `prepare_emulation_failure_exit()` without instruction bytes: the exit
 * information (`vmx_get_exit_info()`) follows the flags word. KVM also queues
 * #UD, which the guest gets if userspace runs it again.
 */
function emulation_failure(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  // handle_emulation_failure().
  vcpu_stat(vcpu).insn_emulation_fail++;
  inject_exception(vmx, UD_VECTOR);
  // Above CPL 0 the guest just takes the #UD.
  if (get_cpl(vmx) !== 0) return 1;
  const run = vcpu.run;
  set_exit_reason(vcpu, KVM_EXIT_INTERNAL_ERROR);
  run.setUint32(R_INTERNAL_SUBERROR, KVM_INTERNAL_ERROR_EMULATION, true);
  run.setUint32(R_INTERNAL_NDATA, 6, true);
  const info = [
    0n, // emulation_failure.flags: no instruction bytes
    BigInt(vmx.dv.getUint32(V_EXIT_REASON, true)),
    vmx.dv.getBigUint64(V_EXIT_QUAL, true),
    0n, // IDT-vectoring information
    0n, // exit interruption information
    0n, // its error code
  ];
  info.forEach((d, i) => run.setBigUint64(R_INTERNAL_DATA + 8 * i, d, true));
  return 0;
}

/** `kvm_prepare_memory_fault_exit()`: KVM_RUN fails with EFAULT and says which page. */
export function memory_fault(vcpu: kvm_vcpu, gpa: number, priv: boolean): number {
  const run = vcpu.run;
  set_exit_reason(vcpu, KVM_EXIT_MEMORY_FAULT);
  run.setBigUint64(R_MF_FLAGS, priv ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0n, true);
  run.setBigUint64(R_MF_GPA, BigInt(Math.floor(gpa / 4096) * 4096), true);
  run.setBigUint64(R_MF_SIZE, 4096n, true);
  return -EFAULT;
}

/**
 * An emulated MMIO access (`emulator_read_write()`): the exit carries the
 * GPA, width and, for writes, the data; a read completes on the next entry
 * with `kvm_run.mmio.data` (`complete_emulated_mmio()`).
 */
function mmio_exit(vcpu: kvm_vcpu, vmx: vcpu_vmx, gpa: number): number {
  const run = vcpu.run;
  const len = Math.min(vmx.dv.getUint32(V_MMIO_LEN, true), 8);
  const is_write = vmx.dv.getUint32(V_MMIO_IS_WRITE, true) !== 0;
  // vcpu_mmio_write(): a coalesced zone on the MMIO bus takes a write it wholly contains
  // while the ring has room; the write then completes without an exit.
  if (
    is_write &&
    kvm_coalesced_io_write(vcpu, false, BigInt(gpa), vmx.u8.slice(V_MMIO_DATA, V_MMIO_DATA + len))
  ) {
    return skip_emulated_instruction(vmx);
  }
  // x86_emulate_instruction(): an access the kernel cannot complete goes to userspace.
  vcpu_stat(vcpu).mmio_exits++;
  set_exit_reason(vcpu, KVM_EXIT_MMIO);
  run.setBigUint64(R_MMIO_PHYS_ADDR, BigInt(gpa), true);
  run.setUint32(R_MMIO_LEN, len, true);
  run.setUint8(R_MMIO_IS_WRITE, is_write ? 1 : 0);
  // A read leaves `data` as it was, as KVM does.
  if (is_write) {
    for (let i = 0; i < len; i++) vmx.run_u8[R_MMIO_DATA + i] = vmx.u8[V_MMIO_DATA + i]!;
  }
  vcpu.arch.exit_rip = rip(vmx);
  vcpu.arch.complete_userspace_io = () => {
    if (rip(vmx) !== vcpu.arch.exit_rip) return 1;
    if (!is_write) {
      for (let i = 0; i < 8; i++) {
        vmx.u8[V_MMIO_DATA + i] = i < len ? vmx.run_u8[R_MMIO_DATA + i]! : 0;
      }
    }
    return skip_emulated_instruction(vmx);
  };
  return 0;
}

/**
 * The in-kernel LAPIC's MMIO page (`apic_mmio_read()`/`apic_mmio_write()`):
 * true when the LAPIC took the access (a read's data is in the VMCS).
 */
function lapic_mmio(vcpu: kvm_vcpu, vmx: vcpu_vmx, gpa: number): boolean {
  if (!irqchip_in_kernel(vcpu.kvm)) return false;
  const len = Math.min(vmx.dv.getUint32(V_MMIO_LEN, true), 8);
  if (vmx.dv.getUint32(V_MMIO_IS_WRITE, true) !== 0) {
    let data = 0n;
    for (let i = len - 1; i >= 0; i--) data = (data << 8n) | BigInt(vmx.u8[V_MMIO_DATA + i]!);
    return apic_mmio_write(vcpu, gpa, len, data);
  }
  const v = apic_mmio_read(vcpu, gpa, len);
  if (v === null) return false;
  vmx.dv.setBigUint64(V_MMIO_DATA, v, true);
  if (len === 4 && (gpa & 0xfff) === APIC_TMCCT) {
    apic_sync_tmcct(vcpu, vmx, VMCS_APIC_SYNC_DEST_MMIO);
  }
  return true;
}

/**
 * The MMIO bus's in-kernel device (`kvm_io_bus_read/write(KVM_MMIO_BUS)`):
 * the full irqchip's IOAPIC window. True when it took the access.
 */
function ioapic_mmio(vcpu: kvm_vcpu, vmx: vcpu_vmx, gpa: number): boolean {
  const len = Math.min(vmx.dv.getUint32(V_MMIO_LEN, true), 8);
  if (vmx.dv.getUint32(V_MMIO_IS_WRITE, true) !== 0) {
    let data = 0n;
    for (let i = len - 1; i >= 0; i--) data = (data << 8n) | BigInt(vmx.u8[V_MMIO_DATA + i]!);
    return ioapic_mmio_write(vcpu.kvm, gpa, len, data);
  }
  const v = ioapic_mmio_read(vcpu.kvm, gpa, len);
  if (v === null) return false;
  vmx.dv.setBigUint64(V_MMIO_DATA, v, true);
  return true;
}

/**
 * `handle_ept_violation()` → `kvm_mmu_page_fault()`: a GPA the CPU's map
 * lacks. No memslot: MMIO, emulated (data accesses) or an emulation failure
 * (instruction fetch, page-table walk: the emulator cannot read the bytes).
 * A write to a read-only slot: MMIO. A slot whose memory cannot be faulted
 * in (no shareable backing, or a private page without guest_memfd):
 * KVM_EXIT_MEMORY_FAULT.
 */
function handle_ept_violation(vcpu: kvm_vcpu, vmx: vcpu_vmx): number {
  const q = vmx.dv.getUint32(V_EXIT_QUAL, true);
  const gpa = Number(vmx.dv.getBigUint64(V_GPA, true));
  const k = vcpu.kvm;
  const m = kvm_memmap(k);
  // kvm_mmu_do_page_fault(): every fault the MMU is asked to handle.
  vcpu_stat(vcpu).pf_taken++;
  const r = memmap_lookup(m, gpa);
  const emulatable = !(q & EPT_VIOLATION_ACC_INSTR) && (q & EPT_VIOLATION_GVA_TRANSLATED) !== 0;
  // A data access of length 0 is the CPU's own (IDT, GDT, stack) while it
  // delivers an event: KVM cannot emulate event delivery into MMIO.
  const vectoring = !(q & EPT_VIOLATION_ACC_INSTR) && vmx.dv.getUint32(V_EXIT_LEN, true) === 0;
  if (!r || (r.buffer && r.readonly && (q & EPT_VIOLATION_ACC_WRITE))) {
    if (vectoring && !(r === undefined && is_private_gfn(k, gpa))) {
      return event_vectoring_exit(vcpu, vmx, gpa);
    }
  }
  if (!r) {
    if (is_private_gfn(k, gpa)) return memory_fault(vcpu, gpa, true);
    // kvm_mmu_do_page_fault(): an MMIO GPA is RET_PF_EMULATE.
    vcpu_stat(vcpu).pf_emulate++;
    if (!emulatable) return emulation_failure(vcpu, vmx);
    // x86_emulate_instruction() counts each instruction it emulates.
    vcpu_stat(vcpu).insn_emulation++;
    // vcpu_mmio_read/write(): the in-kernel LAPIC's page comes before userspace.
    if (lapic_mmio(vcpu, vmx, gpa) || ioapic_mmio(vcpu, vmx, gpa)) {
      return skip_emulated_instruction(vmx);
    }
    return mmio_exit(vcpu, vmx, gpa);
  }
  if (!r.buffer) {
    // __kvm_faultin_pfn() translates the userspace address at fault time:
    // memory mapped behind the memslot since the map was built (a MAP_FIXED
    // over a hole userspace punched) is faulted in, and the access retried.
    if (!r.private && m.mm_generation !== k.mm.generation) {
      k.generation++;
      return 1;
    }
    return memory_fault(vcpu, gpa, r.private);
  }
  if (r.readonly && (q & EPT_VIOLATION_ACC_WRITE)) {
    vcpu_stat(vcpu).pf_emulate++;
    if (!emulatable) return emulation_failure(vcpu, vmx);
    vcpu_stat(vcpu).insn_emulation++;
    return mmio_exit(vcpu, vmx, gpa);
  }
  // A write to a page write-protected for the dirty ring: the fault makes
  // it writable and logs it (mark_page_dirty_in_slot()), then re-enters,
  // unless the ring became soft-full (the request vcpu_enter_guest() checks).
  if (
    (q & EPT_VIOLATION_ACC_WRITE) && kvm_dirty_ring_mark_page_dirty(vcpu, Math.floor(gpa / 4096))
  ) {
    vmx.ept_retries = 0;
    return kvm_dirty_ring_check_request(vcpu, vcpu.run) ? 0 : 1;
  }
  // The page is mapped now (memslots changed after the CPU faulted): retry,
  // as KVM does (RET_PF_RETRY). Endless retries would be a simulator bug.
  if (++vmx.ept_retries < 1000) return 1;
  return unexpected_exit(vcpu, vmx, EXIT_REASON_EPT_VIOLATION);
}

function is_private_gfn(k: kvm, gpa: number): boolean {
  return k.arch.has_private_mem && (k.mem_attrs.get(Math.floor(gpa / 4096)) & 8n) !== 0n;
}

/**
 * `kvm_prepare_event_vectoring_exit()`: MMIO hit while delivering an event.
 * data: IDT-vectoring information (not recorded by the simulated CPU: 0),
 * exit reason, qualification, the GPA, the last VM-entry CPU.
 */
function event_vectoring_exit(vcpu: kvm_vcpu, vmx: vcpu_vmx, gpa: number): number {
  const run = vcpu.run;
  set_exit_reason(vcpu, KVM_EXIT_INTERNAL_ERROR);
  run.setUint32(R_INTERNAL_SUBERROR, KVM_INTERNAL_ERROR_DELIVERY_EV, true);
  run.setUint32(R_INTERNAL_NDATA, 5, true);
  const data = [
    0n,
    BigInt(vmx.dv.getUint32(V_EXIT_REASON, true)),
    vmx.dv.getBigUint64(V_EXIT_QUAL, true),
    BigInt(gpa),
    0n,
  ];
  data.forEach((d, i) => run.setBigUint64(R_INTERNAL_DATA + 8 * i, d, true));
  return 0;
}

/** `vmx_handle_exit()`'s default: KVM_EXIT_INTERNAL_ERROR, UNEXPECTED_EXIT_REASON. */
function unexpected_exit(vcpu: kvm_vcpu, _vmx: vcpu_vmx, reason: number): number {
  const run = vcpu.run;
  set_exit_reason(vcpu, KVM_EXIT_INTERNAL_ERROR);
  run.setUint32(R_INTERNAL_SUBERROR, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, true);
  run.setUint32(R_INTERNAL_NDATA, 2, true);
  run.setBigUint64(R_INTERNAL_DATA, BigInt(reason >>> 0), true);
  run.setBigUint64(R_INTERNAL_DATA + 8, 0n, true); // last_vmentry_cpu
  return 0;
}

/**
 * `vmx_handle_exit()`: a positive result loops back into the guest; any other
 * is what KVM_RUN returns, `kvm_run` already set up for the VMM. Throws
 * {@linkcode GuestCodeError} when guest code threw.
 */
function vmx_handle_exit(vcpu: kvm_vcpu, vmx: vcpu_vmx, reason: number): number {
  apic_sync_exit(vcpu, vmx);
  // MOV to CR8 went to the TPR shadow: the LAPIC's TPR follows (kvm_set_cr8()).
  const cr8 = vcpu.arch.vmcs.cr8;
  if (cr8 !== vmx.entry_cr8 && irqchip_in_kernel(vcpu.kvm)) {
    // A TD's TPR shadow is its virtual APIC's VTPR, not KVM's LAPIC.
    if (is_td(vcpu.kvm)) tdx_set_cr8(vcpu, cr8);
    else kvm_lapic_set_tpr(vcpu, cr8);
  }
  if (reason !== EXIT_REASON_EPT_VIOLATION) vmx.ept_retries = 0;
  // vcpu_enter_guest() counts each VM exit; the simulator's own reasons are not exits.
  if ((reason & 0xffff0000) !== SIM_EXIT_REASON_BASE) vcpu_stat(vcpu).exits++;
  if (is_td(vcpu.kvm)) {
    // `tdx_handle_exit()`: the TD's exits, as the TDX module reports them.
    const r = tdx_handle_exit(vcpu, reason);
    if (r !== null) return r;
  }
  switch (reason) {
    case EXIT_REASON_IO_INSTRUCTION:
      return handle_io(vcpu, vmx);
    case EXIT_REASON_CPUID:
      return handle_cpuid(vcpu, vmx);
    case EXIT_REASON_HLT:
      return handle_halt(vcpu, vmx);
    case EXIT_REASON_MSR_READ:
      return handle_rdmsr(vcpu, vmx);
    case EXIT_REASON_MSR_WRITE:
      return handle_wrmsr(vcpu, vmx);
    case EXIT_REASON_VMCALL:
      return handle_vmcall(vcpu, vmx);
    case EXIT_REASON_EPT_VIOLATION:
      return handle_ept_violation(vcpu, vmx);
    case EXIT_REASON_TRIPLE_FAULT:
      set_exit_reason(vcpu, KVM_EXIT_SHUTDOWN);
      return 0;
    case EXIT_REASON_XSETBV:
      return handle_xsetbv(vcpu, vmx);
    case EXIT_REASON_WBINVD:
      return skip_emulated_instruction(vmx);
    case EXIT_REASON_EXTERNAL_INTERRUPT:
      // handle_external_interrupt(): the next entry injects what became pending.
      vcpu_stat(vcpu).irq_exits++;
      return 1;
    case EXIT_REASON_INTERRUPT_WINDOW:
      // handle_interrupt_window(): the CPU dropped the window request; the
      // next entry injects.
      vcpu_stat(vcpu).irq_window_exits++;
      return 1;
    case EXIT_REASON_NMI_WINDOW:
      // handle_nmi_window(): NMI blocking ended; the next entry injects.
      vcpu_stat(vcpu).nmi_window_exits++;
      return 1;
    case EXIT_REASON_TDCALL:
      // TDCALL outside a TD is #UD (`handle_tdcall()`).
      return inject_exception(vmx, UD_VECTOR);
    case SIM_EXIT_REASON_GUEST_CRASH:
      throw new GuestCodeError(vcpu.vcpu_id, vmx.thread.guest_error());
    case SIM_EXIT_REASON_DEADLINE:
      // The harness timeout stopped the guest: what a signal gives.
      set_exit_reason(vcpu, KVM_EXIT_INTR);
      vcpu_stat(vcpu).signal_exits++;
      return -EINTR;
    case SIM_EXIT_REASON_DEAD: {
      // The CPU is gone (VM freed, or its worker died): a bugged vCPU, -EIO
      // from now on. A worker that died under the test fails it once, loudly.
      const why = vmx.thread.take_death_reason();
      if (why) throw new GuestCodeError(vcpu.vcpu_id, why);
      return -EIO;
    }
  }
  if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
    const run = vcpu.run;
    set_exit_reason(vcpu, KVM_EXIT_FAIL_ENTRY);
    run.setBigUint64(R_FAIL_ENTRY_REASON, BigInt(reason >>> 0), true);
    run.setUint32(R_FAIL_ENTRY_CPU, 0, true);
    return 0;
  }
  return unexpected_exit(vcpu, vmx, reason);
}
