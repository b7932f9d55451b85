// SPDX-License-Identifier: GPL-2.0-only
/**
 * The generic KVM uAPI (`include/uapi/linux/kvm.h`, newest kvm-x86): ioctl
 * numbers for `/dev/kvm`, VM and vCPU file descriptors, `struct kvm_run`,
 * exit reasons, capabilities, memslots, guest_memfd and memory attributes.
 * The x86 definitions of `include/asm/kvm.ts` are re-exported, as
 * `<linux/kvm.h>` includes `<asm/kvm.h>`, so one import serves a port:
 *
 * ```ts
 * import { KVM_RUN, KVM_EXIT_IO, kvm_run, kvm_regs } from "./kvm.ts";
 * ```
 *
 * Structs carry their C tag and member names (`__u64` members read as
 * `bigint`; anonymous unions are promoted, so `run.io.port` and
 * `offsetof(kvm_run, "io.port")` work as in C). ioctl numbers are computed
 * from the argument structs, as the C macros compute them. Flag constants
 * meant for a `__u64` member are `bigint` (`KVM_MEMORY_ATTRIBUTE_PRIVATE`,
 * `GUEST_MEMFD_FLAG_*`, `KVM_MEMORY_EXIT_FLAG_PRIVATE`); identifiers, exit
 * reasons, capabilities, capability arguments and `__u32` flags are numbers.
 *
 * @module
 */

import {
  array,
  type ArrayType,
  flex,
  type RecordType,
  s16,
  s32,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
} from "../c/layout.ts";
import { _IO, _IOR, _IOW, _IOWR } from "./ioctl.ts";
import {
  kvm_cpuid,
  kvm_cpuid2,
  kvm_debug_exit_arch,
  kvm_debugregs,
  kvm_fpu,
  kvm_guest_debug_arch,
  kvm_hyperv_eventfd,
  kvm_ioapic_state,
  kvm_lapic_state,
  kvm_msr_filter,
  kvm_msr_list,
  kvm_msrs,
  kvm_nested_state,
  kvm_pic_state,
  kvm_pit_state,
  kvm_pit_state2,
  kvm_pmu_event_filter,
  kvm_regs,
  kvm_sregs,
  kvm_sregs2,
  kvm_sync_regs,
  kvm_vcpu_events,
  kvm_x86_mce,
  kvm_xcrs,
  kvm_xen_hvm_config,
  kvm_xsave,
} from "../asm/kvm.ts";

export * from "../asm/kvm.ts";

/** The KVM API version; KVM_GET_API_VERSION returns it, and nothing else is supported. */
export const KVM_API_VERSION = 12;

/** `struct kvm_userspace_memory_region` (KVM_SET_USER_MEMORY_REGION). */
export const kvm_userspace_memory_region: RecordType<{
  slot: u32;
  flags: u32;
  guest_phys_addr: u64;
  memory_size: u64;
  userspace_addr: u64;
}> = struct("kvm_userspace_memory_region", {
  slot: u32,
  flags: u32,
  guest_phys_addr: u64,
  memory_size: u64,
  userspace_addr: u64,
});

/**
 * `struct kvm_userspace_memory_region2` (KVM_SET_USER_MEMORY_REGION2): a
 * memslot that can also be backed by a guest_memfd, for private memory.
 */
export const kvm_userspace_memory_region2: RecordType<{
  slot: u32;
  flags: u32;
  guest_phys_addr: u64;
  memory_size: u64;
  userspace_addr: u64;
  guest_memfd_offset: u64;
  guest_memfd: u32;
  pad1: u32;
  pad2: ArrayType<u64>;
}> = struct("kvm_userspace_memory_region2", {
  slot: u32,
  flags: u32,
  guest_phys_addr: u64,
  memory_size: u64,
  userspace_addr: u64,
  guest_memfd_offset: u64,
  guest_memfd: u32,
  pad1: u32,
  pad2: array(u64, 14),
});

/** Memslot flag: track dirty pages for KVM_GET_DIRTY_LOG. */
export const KVM_MEM_LOG_DIRTY_PAGES: number = 1 << 0;
/** Memslot flag: guest writes exit to userspace as MMIO. */
export const KVM_MEM_READONLY: number = 1 << 1;
/** Memslot flag: private memory comes from `guest_memfd` (region2 only). */
export const KVM_MEM_GUEST_MEMFD: number = 1 << 2;

/** `struct kvm_irq_level` (KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS). */
export const kvm_irq_level: RecordType<{
  $union: RecordType<{ irq: u32; status: s32 }>;
  level: u32;
}> = struct("kvm_irq_level", {
  $union: union("", { irq: u32, status: s32 }),
  level: u32,
});

/**
 * `struct kvm_irqchip` (KVM_GET_IRQCHIP / KVM_SET_IRQCHIP). C reserves
 * the space with `char dummy[512]`; bytes read unsigned here.
 */
export const kvm_irqchip: RecordType<{
  chip_id: u32;
  pad: u32;
  chip: RecordType<{
    dummy: ArrayType<u8>;
    pic: typeof kvm_pic_state;
    ioapic: typeof kvm_ioapic_state;
  }>;
}> = struct("kvm_irqchip", {
  chip_id: u32,
  pad: u32,
  chip: union("", {
    dummy: array(u8, 512),
    pic: kvm_pic_state,
    ioapic: kvm_ioapic_state,
  }),
});

/** `struct kvm_pit_config` (KVM_CREATE_PIT2). */
export const kvm_pit_config: RecordType<{
  flags: u32;
  pad: ArrayType<u32>;
}> = struct("kvm_pit_config", {
  flags: u32,
  pad: array(u32, 15),
});

/** `kvm_pit_config.flags`: emulate the PC speaker port. */
export const KVM_PIT_SPEAKER_DUMMY = 1;

/** `kvm_hyperv_exit.type`: a SynIC MSR was written. */
export const KVM_EXIT_HYPERV_SYNIC = 1;
/** `kvm_hyperv_exit.type`: a Hyper-V hypercall. */
export const KVM_EXIT_HYPERV_HCALL = 2;
/** `kvm_hyperv_exit.type`: a synthetic debugger MSR was accessed. */
export const KVM_EXIT_HYPERV_SYNDBG = 3;

/** `struct kvm_hyperv_exit`: `kvm_run.hyperv`. */
export const kvm_hyperv_exit: RecordType<{
  type: u32;
  pad1: u32;
  u: RecordType<{
    synic: RecordType<{
      msr: u32;
      pad2: u32;
      control: u64;
      evt_page: u64;
      msg_page: u64;
    }>;
    hcall: RecordType<{ input: u64; result: u64; params: ArrayType<u64> }>;
    syndbg: RecordType<{
      msr: u32;
      pad2: u32;
      control: u64;
      status: u64;
      send_page: u64;
      recv_page: u64;
      pending_page: u64;
    }>;
  }>;
}> = struct("kvm_hyperv_exit", {
  type: u32,
  pad1: u32,
  u: union("", {
    synic: struct("", {
      msr: u32,
      pad2: u32,
      control: u64,
      evt_page: u64,
      msg_page: u64,
    }),
    hcall: struct("", { input: u64, result: u64, params: array(u64, 2) }),
    syndbg: struct("", {
      msr: u32,
      pad2: u32,
      control: u64,
      status: u64,
      send_page: u64,
      recv_page: u64,
      pending_page: u64,
    }),
  }),
});

/** `kvm_xen_exit.type`: a Xen hypercall. */
export const KVM_EXIT_XEN_HCALL = 1;

/** `struct kvm_xen_exit`: `kvm_run.xen`. */
export const kvm_xen_exit: RecordType<{
  type: u32;
  u: RecordType<{
    hcall: RecordType<{
      longmode: u32;
      cpl: u32;
      input: u64;
      result: u64;
      params: ArrayType<u64>;
    }>;
  }>;
}> = struct("kvm_xen_exit", {
  type: u32,
  u: union("", {
    hcall: struct("", {
      longmode: u32,
      cpl: u32,
      input: u64,
      result: u64,
      params: array(u64, 6),
    }),
  }),
});

/** `struct kvm_exit_snp_req_certs`: `kvm_run.snp_req_certs`, an SEV-SNP guest asks for certificates. */
export const kvm_exit_snp_req_certs: RecordType<{
  gpa: u64;
  npages: u64;
  ret: u64;
}> = struct("kvm_exit_snp_req_certs", {
  gpa: u64,
  npages: u64,
  ret: u64,
});

/** `kvm_run.exit_reason`: no reason known; `hw.hardware_exit_reason` may tell. */
export const KVM_EXIT_UNKNOWN = 0;
/** `kvm_run.exit_reason`: an exception the guest did not handle (`ex`). */
export const KVM_EXIT_EXCEPTION = 1;
/** `kvm_run.exit_reason`: port I/O to emulate (`io`). */
export const KVM_EXIT_IO = 2;
/** `kvm_run.exit_reason`: a hypercall for userspace (`hypercall`). */
export const KVM_EXIT_HYPERCALL = 3;
/** `kvm_run.exit_reason`: a debug event (`debug`). */
export const KVM_EXIT_DEBUG = 4;
/** `kvm_run.exit_reason`: the vCPU halted with no in-kernel APIC. */
export const KVM_EXIT_HLT = 5;
/** `kvm_run.exit_reason`: MMIO to emulate (`mmio`). */
export const KVM_EXIT_MMIO = 6;
/** `kvm_run.exit_reason`: interrupts can be injected. */
export const KVM_EXIT_IRQ_WINDOW_OPEN = 7;
/** `kvm_run.exit_reason`: triple fault or shutdown. */
export const KVM_EXIT_SHUTDOWN = 8;
/** `kvm_run.exit_reason`: the hardware refused VM entry (`fail_entry`). */
export const KVM_EXIT_FAIL_ENTRY = 9;
/** `kvm_run.exit_reason`: a signal interrupted KVM_RUN. */
export const KVM_EXIT_INTR = 10;
/** `kvm_run.exit_reason`: the TPR was written. */
export const KVM_EXIT_SET_TPR = 11;
/** `kvm_run.exit_reason`: the TPR was accessed (`tpr_access`). */
export const KVM_EXIT_TPR_ACCESS = 12;
/** `kvm_run.exit_reason`: s390 intercept. */
export const KVM_EXIT_S390_SIEIC = 13;
/** `kvm_run.exit_reason`: s390 reset. */
export const KVM_EXIT_S390_RESET = 14;
/** `kvm_run.exit_reason`: PowerPC DCR access (deprecated). */
export const KVM_EXIT_DCR = 15;
/** `kvm_run.exit_reason`: an NMI. */
export const KVM_EXIT_NMI = 16;
/** `kvm_run.exit_reason`: KVM could not handle the exit (`internal`). */
export const KVM_EXIT_INTERNAL_ERROR = 17;
/** `kvm_run.exit_reason`: PowerPC OSI call. */
export const KVM_EXIT_OSI = 18;
/** `kvm_run.exit_reason`: PowerPC PAPR hypercall. */
export const KVM_EXIT_PAPR_HCALL = 19;
/** `kvm_run.exit_reason`: s390 user-controlled VM fault. */
export const KVM_EXIT_S390_UCONTROL = 20;
/** `kvm_run.exit_reason`: PowerPC watchdog. */
export const KVM_EXIT_WATCHDOG = 21;
/** `kvm_run.exit_reason`: s390 TEST SUBCHANNEL. */
export const KVM_EXIT_S390_TSCH = 22;
/** `kvm_run.exit_reason`: PowerPC external proxy. */
export const KVM_EXIT_EPR = 23;
/** `kvm_run.exit_reason`: shutdown, reset, crash or a TD fatal error (`system_event`). */
export const KVM_EXIT_SYSTEM_EVENT = 24;
/** `kvm_run.exit_reason`: s390 STORE SYSTEM INFORMATION. */
export const KVM_EXIT_S390_STSI = 25;
/** `kvm_run.exit_reason`: EOI of a level interrupt with a split irqchip (`eoi`). */
export const KVM_EXIT_IOAPIC_EOI = 26;
/** `kvm_run.exit_reason`: Hyper-V emulation (`hyperv`). */
export const KVM_EXIT_HYPERV = 27;
/** `kvm_run.exit_reason`: arm64 data abort without syndrome. */
export const KVM_EXIT_ARM_NISV = 28;
/** `kvm_run.exit_reason`: RDMSR for userspace to emulate (`msr`). */
export const KVM_EXIT_X86_RDMSR = 29;
/** `kvm_run.exit_reason`: WRMSR for userspace to emulate (`msr`). */
export const KVM_EXIT_X86_WRMSR = 30;
/** `kvm_run.exit_reason`: the dirty ring is full. */
export const KVM_EXIT_DIRTY_RING_FULL = 31;
/** `kvm_run.exit_reason`: an SEV-ES AP is in reset hold. */
export const KVM_EXIT_AP_RESET_HOLD = 32;
/** `kvm_run.exit_reason`: a bus lock was detected. */
export const KVM_EXIT_X86_BUS_LOCK = 33;
/** `kvm_run.exit_reason`: Xen emulation (`xen`). */
export const KVM_EXIT_XEN = 34;
/** `kvm_run.exit_reason`: RISC-V SBI call. */
export const KVM_EXIT_RISCV_SBI = 35;
/** `kvm_run.exit_reason`: RISC-V CSR access. */
export const KVM_EXIT_RISCV_CSR = 36;
/** `kvm_run.exit_reason`: the notify VM exit fired (`notify`). */
export const KVM_EXIT_NOTIFY = 37;
/** `kvm_run.exit_reason`: LoongArch IOCSR access (`iocsr_io`). */
export const KVM_EXIT_LOONGARCH_IOCSR = 38;
/** `kvm_run.exit_reason`: a fault userspace must resolve, e.g. private/shared mismatch (`memory_fault`). */
export const KVM_EXIT_MEMORY_FAULT = 39;
/** `kvm_run.exit_reason`: a TDG.VP.VMCALL for userspace (`tdx`). */
export const KVM_EXIT_TDX = 40;
/** `kvm_run.exit_reason`: arm64 synchronous external abort (`arm_sea`). */
export const KVM_EXIT_ARM_SEA = 41;
/** `kvm_run.exit_reason`: arm64 64-byte load/store to emulate. */
export const KVM_EXIT_ARM_LDST64B = 42;
/** `kvm_run.exit_reason`: an SEV-SNP guest requests certificates (`snp_req_certs`). */
export const KVM_EXIT_SNP_REQ_CERTS = 43;

/** `internal.suberror`: instruction emulation failed (`emulation_failure` is valid). */
export const KVM_INTERNAL_ERROR_EMULATION = 1;
/** `internal.suberror`: an exception arrived while delivering another. */
export const KVM_INTERNAL_ERROR_SIMUL_EX = 2;
/** `internal.suberror`: a VM exit interrupted event delivery. */
export const KVM_INTERNAL_ERROR_DELIVERY_EV = 3;
/** `internal.suberror`: a VM exit reason KVM does not handle. */
export const KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON = 4;
/** `emulation_failure.flags`: `insn_size` and `insn_bytes` are valid. */
export const KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES: bigint = 1n << 0n;

/** `io.direction`: the guest reads the port (IN, INS). */
export const KVM_EXIT_IO_IN = 0;
/** `io.direction`: the guest writes the port (OUT, OUTS). */
export const KVM_EXIT_IO_OUT = 1;

/** s390 reset flag: power-on reset. */
export const KVM_S390_RESET_POR = 1;
/** s390 reset flag: clear reset. */
export const KVM_S390_RESET_CLEAR = 2;
/** s390 reset flag: subsystem reset. */
export const KVM_S390_RESET_SUBSYSTEM = 4;
/** s390 reset flag: CPU initial reset. */
export const KVM_S390_RESET_CPU_INIT = 8;
/** s390 reset flag: IPL. */
export const KVM_S390_RESET_IPL = 16;

/** `system_event.type`: the guest shut down. */
export const KVM_SYSTEM_EVENT_SHUTDOWN = 1;
/** `system_event.type`: the guest asked for a reset. */
export const KVM_SYSTEM_EVENT_RESET = 2;
/** `system_event.type`: the guest crashed. */
export const KVM_SYSTEM_EVENT_CRASH = 3;
/** `system_event.type`: a suspended vCPU should wake. */
export const KVM_SYSTEM_EVENT_WAKEUP = 4;
/** `system_event.type`: the guest asked to suspend. */
export const KVM_SYSTEM_EVENT_SUSPEND = 5;
/** `system_event.type`: an SEV-ES guest asked to terminate. */
export const KVM_SYSTEM_EVENT_SEV_TERM = 6;
/** `system_event.type`: a TD reported a fatal error (TDG.VP.VMCALL<ReportFatalError>); `data` holds its registers. */
export const KVM_SYSTEM_EVENT_TDX_FATAL = 7;

/** `msr.reason`: the MSR access would raise `#GP` (invalid value or MSR). */
export const KVM_MSR_EXIT_REASON_INVAL: number = 1 << 0;
/** `msr.reason`: KVM does not know the MSR. */
export const KVM_MSR_EXIT_REASON_UNKNOWN: number = 1 << 1;
/** `msr.reason`: the MSR filter denied the access. */
export const KVM_MSR_EXIT_REASON_FILTER: number = 1 << 2;
/** Every `msr.reason` bit (the KVM_CAP_X86_USER_SPACE_MSR argument mask). */
export const KVM_MSR_EXIT_REASON_VALID_MASK: number = KVM_MSR_EXIT_REASON_INVAL |
  KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER;

/** `notify.flags`: the VM context is corrupted; the vCPU cannot continue. */
export const KVM_NOTIFY_CONTEXT_INVALID: number = 1 << 0;

/** `memory_fault.flags`: the access was to private memory. */
export const KVM_MEMORY_EXIT_FLAG_PRIVATE: bigint = 1n << 3n;

/** `arm_sea.flags`: `gpa` is valid. */
export const KVM_EXIT_ARM_SEA_FLAG_GPA_VALID: bigint = 1n << 0n;

/** Bytes that `kvm_run.s` occupies, whatever the architecture's sync registers need. */
export const SYNC_REGS_SIZE_BYTES = 2048;

/**
 * `struct kvm_run`: the page shared with KVM_RUN, mmap'd from the vCPU fd
 * (KVM_GET_VCPU_MMAP_SIZE bytes; PIO data at `KVM_PIO_PAGE_OFFSET` pages).
 * The exit members form an anonymous union at offset 32, so `run.io`,
 * `run.tdx.get_quote.gpa` and friends read as in C.
 */
export const kvm_run: RecordType<{
  request_interrupt_window: u8;
  immediate_exit: u8;
  padding1: ArrayType<u8>;
  exit_reason: u32;
  ready_for_interrupt_injection: u8;
  if_flag: u8;
  flags: u16;
  cr8: u64;
  apic_base: u64;
  $union: RecordType<{
    hw: RecordType<{ hardware_exit_reason: u64 }>;
    fail_entry: RecordType<{ hardware_entry_failure_reason: u64; cpu: u32 }>;
    ex: RecordType<{ exception: u32; error_code: u32 }>;
    io: RecordType<{
      direction: u8;
      size: u8;
      port: u16;
      count: u32;
      data_offset: u64;
    }>;
    debug: RecordType<{ arch: typeof kvm_debug_exit_arch }>;
    mmio: RecordType<{
      phys_addr: u64;
      data: ArrayType<u8>;
      len: u32;
      is_write: u8;
    }>;
    iocsr_io: RecordType<{
      phys_addr: u64;
      data: ArrayType<u8>;
      len: u32;
      is_write: u8;
    }>;
    hypercall: RecordType<{
      nr: u64;
      args: ArrayType<u64>;
      ret: u64;
      $union: RecordType<{ longmode: u32; flags: u64 }>;
    }>;
    tpr_access: RecordType<{ rip: u64; is_write: u32; pad: u32 }>;
    s390_sieic: RecordType<{ icptcode: u8; ipa: u16; ipb: u32 }>;
    s390_reset_flags: u64;
    s390_ucontrol: RecordType<{ trans_exc_code: u64; pgm_code: u32 }>;
    dcr: RecordType<{ dcrn: u32; data: u32; is_write: u8 }>;
    internal: RecordType<{ suberror: u32; ndata: u32; data: ArrayType<u64> }>;
    emulation_failure: RecordType<{
      suberror: u32;
      ndata: u32;
      flags: u64;
      $union: RecordType<{
        $struct: RecordType<{ insn_size: u8; insn_bytes: ArrayType<u8> }>;
      }>;
    }>;
    osi: RecordType<{ gprs: ArrayType<u64> }>;
    papr_hcall: RecordType<{ nr: u64; ret: u64; args: ArrayType<u64> }>;
    s390_tsch: RecordType<{
      subchannel_id: u16;
      subchannel_nr: u16;
      io_int_parm: u32;
      io_int_word: u32;
      ipb: u32;
      dequeued: u8;
    }>;
    epr: RecordType<{ epr: u32 }>;
    system_event: RecordType<{
      type: u32;
      ndata: u32;
      $union: RecordType<{ flags: u64; data: ArrayType<u64> }>;
    }>;
    s390_stsi: RecordType<{
      addr: u64;
      ar: u8;
      reserved: u8;
      fc: u8;
      sel1: u8;
      sel2: u16;
    }>;
    eoi: RecordType<{ vector: u8 }>;
    hyperv: typeof kvm_hyperv_exit;
    arm_nisv: RecordType<{ esr_iss: u64; fault_ipa: u64 }>;
    msr: RecordType<{
      error: u8;
      pad: ArrayType<u8>;
      reason: u32;
      index: u32;
      data: u64;
    }>;
    xen: typeof kvm_xen_exit;
    riscv_sbi: RecordType<{
      extension_id: u64;
      function_id: u64;
      args: ArrayType<u64>;
      ret: ArrayType<u64>;
    }>;
    riscv_csr: RecordType<{
      csr_num: u64;
      new_value: u64;
      write_mask: u64;
      ret_value: u64;
    }>;
    notify: RecordType<{ flags: u32 }>;
    memory_fault: RecordType<{ flags: u64; gpa: u64; size: u64 }>;
    tdx: RecordType<{
      flags: u64;
      nr: u64;
      $union: RecordType<{
        unknown: RecordType<{ ret: u64; data: ArrayType<u64> }>;
        get_quote: RecordType<{ ret: u64; gpa: u64; size: u64 }>;
        get_tdvmcall_info: RecordType<{
          ret: u64;
          leaf: u64;
          r11: u64;
          r12: u64;
          r13: u64;
          r14: u64;
        }>;
        setup_event_notify: RecordType<{ ret: u64; vector: u64 }>;
      }>;
    }>;
    arm_sea: RecordType<{ flags: u64; esr: u64; gva: u64; gpa: u64 }>;
    snp_req_certs: typeof kvm_exit_snp_req_certs;
    padding: ArrayType<u8>;
  }>;
  kvm_valid_regs: u64;
  kvm_dirty_regs: u64;
  s: RecordType<{ regs: typeof kvm_sync_regs; padding: ArrayType<u8> }>;
}> = struct("kvm_run", {
  request_interrupt_window: u8,
  immediate_exit: u8,
  padding1: array(u8, 6),
  exit_reason: u32,
  ready_for_interrupt_injection: u8,
  if_flag: u8,
  flags: u16,
  cr8: u64,
  apic_base: u64,
  $union: union("", {
    hw: struct("", { hardware_exit_reason: u64 }),
    fail_entry: struct("", { hardware_entry_failure_reason: u64, cpu: u32 }),
    ex: struct("", { exception: u32, error_code: u32 }),
    io: struct("", {
      direction: u8,
      size: u8,
      port: u16,
      count: u32,
      data_offset: u64,
    }),
    debug: struct("", { arch: kvm_debug_exit_arch }),
    mmio: struct("", {
      phys_addr: u64,
      data: array(u8, 8),
      len: u32,
      is_write: u8,
    }),
    iocsr_io: struct("", {
      phys_addr: u64,
      data: array(u8, 8),
      len: u32,
      is_write: u8,
    }),
    hypercall: struct("", {
      nr: u64,
      args: array(u64, 6),
      ret: u64,
      $union: union("", { longmode: u32, flags: u64 }),
    }),
    tpr_access: struct("", { rip: u64, is_write: u32, pad: u32 }),
    s390_sieic: struct("", { icptcode: u8, ipa: u16, ipb: u32 }),
    s390_reset_flags: u64,
    s390_ucontrol: struct("", { trans_exc_code: u64, pgm_code: u32 }),
    dcr: struct("", { dcrn: u32, data: u32, is_write: u8 }),
    internal: struct("", { suberror: u32, ndata: u32, data: array(u64, 16) }),
    emulation_failure: struct("", {
      suberror: u32,
      ndata: u32,
      flags: u64,
      $union: union("", {
        $struct: struct("", { insn_size: u8, insn_bytes: array(u8, 15) }),
      }),
    }),
    osi: struct("", { gprs: array(u64, 32) }),
    papr_hcall: struct("", { nr: u64, ret: u64, args: array(u64, 9) }),
    s390_tsch: struct("", {
      subchannel_id: u16,
      subchannel_nr: u16,
      io_int_parm: u32,
      io_int_word: u32,
      ipb: u32,
      dequeued: u8,
    }),
    epr: struct("", { epr: u32 }),
    system_event: struct("", {
      type: u32,
      ndata: u32,
      $union: union("", { flags: u64, data: array(u64, 16) }),
    }),
    s390_stsi: struct("", {
      addr: u64,
      ar: u8,
      reserved: u8,
      fc: u8,
      sel1: u8,
      sel2: u16,
    }),
    eoi: struct("", { vector: u8 }),
    hyperv: kvm_hyperv_exit,
    arm_nisv: struct("", { esr_iss: u64, fault_ipa: u64 }),
    msr: struct("", {
      error: u8,
      pad: array(u8, 7),
      reason: u32,
      index: u32,
      data: u64,
    }),
    xen: kvm_xen_exit,
    riscv_sbi: struct("", {
      extension_id: u64,
      function_id: u64,
      args: array(u64, 6),
      ret: array(u64, 2),
    }),
    riscv_csr: struct("", {
      csr_num: u64,
      new_value: u64,
      write_mask: u64,
      ret_value: u64,
    }),
    notify: struct("", { flags: u32 }),
    memory_fault: struct("", { flags: u64, gpa: u64, size: u64 }),
    tdx: struct("", {
      flags: u64,
      nr: u64,
      $union: union("", {
        unknown: struct("", { ret: u64, data: array(u64, 5) }),
        get_quote: struct("", { ret: u64, gpa: u64, size: u64 }),
        get_tdvmcall_info: struct("", {
          ret: u64,
          leaf: u64,
          r11: u64,
          r12: u64,
          r13: u64,
          r14: u64,
        }),
        setup_event_notify: struct("", { ret: u64, vector: u64 }),
      }),
    }),
    arm_sea: struct("", { flags: u64, esr: u64, gva: u64, gpa: u64 }),
    snp_req_certs: kvm_exit_snp_req_certs,
    padding: array(u8, 256),
  }),
  kvm_valid_regs: u64,
  kvm_dirty_regs: u64,
  s: union("", {
    regs: kvm_sync_regs,
    padding: array(u8, SYNC_REGS_SIZE_BYTES),
  }),
});

/** `struct kvm_coalesced_mmio_zone` (KVM_REGISTER_COALESCED_MMIO). */
export const kvm_coalesced_mmio_zone: RecordType<{
  addr: u64;
  size: u32;
  $union: RecordType<{ pad: u32; pio: u32 }>;
}> = struct("kvm_coalesced_mmio_zone", {
  addr: u64,
  size: u32,
  $union: union("", { pad: u32, pio: u32 }),
});

/** `struct kvm_coalesced_mmio`: one entry of the coalesced MMIO ring. */
export const kvm_coalesced_mmio: RecordType<{
  phys_addr: u64;
  len: u32;
  $union: RecordType<{ pad: u32; pio: u32 }>;
  data: ArrayType<u8>;
}> = struct("kvm_coalesced_mmio", {
  phys_addr: u64,
  len: u32,
  $union: union("", { pad: u32, pio: u32 }),
  data: array(u8, 8),
});

/** `struct kvm_coalesced_mmio_ring`: the ring at `KVM_COALESCED_MMIO_PAGE_OFFSET` of the vCPU mmap. */
export const kvm_coalesced_mmio_ring: RecordType<{
  first: u32;
  last: u32;
  coalesced_mmio: ArrayType<typeof kvm_coalesced_mmio>;
}> = struct("kvm_coalesced_mmio_ring", {
  first: u32,
  last: u32,
  coalesced_mmio: flex(kvm_coalesced_mmio),
});

/** `struct kvm_translation` (KVM_TRANSLATE): a guest-virtual address and what it maps to. */
export const kvm_translation: RecordType<{
  linear_address: u64;
  physical_address: u64;
  valid: u8;
  writeable: u8;
  usermode: u8;
  pad: ArrayType<u8>;
}> = struct("kvm_translation", {
  linear_address: u64,
  physical_address: u64,
  valid: u8,
  writeable: u8,
  usermode: u8,
  pad: array(u8, 5),
});

/** `struct kvm_interrupt` (KVM_INTERRUPT): a vector to inject without an in-kernel APIC. */
export const kvm_interrupt: RecordType<{
  irq: u32;
}> = struct("kvm_interrupt", {
  irq: u32,
});

/** `struct kvm_dirty_log` (KVM_GET_DIRTY_LOG); `dirty_bitmap` is a user pointer, held as an address. */
export const kvm_dirty_log: RecordType<{
  slot: u32;
  padding1: u32;
  $union: RecordType<{ dirty_bitmap: u64; padding2: u64 }>;
}> = struct("kvm_dirty_log", {
  slot: u32,
  padding1: u32,
  $union: union("", { dirty_bitmap: u64, padding2: u64 }),
});

/** `struct kvm_clear_dirty_log` (KVM_CLEAR_DIRTY_LOG). */
export const kvm_clear_dirty_log: RecordType<{
  slot: u32;
  num_pages: u32;
  first_page: u64;
  $union: RecordType<{ dirty_bitmap: u64; padding2: u64 }>;
}> = struct("kvm_clear_dirty_log", {
  slot: u32,
  num_pages: u32,
  first_page: u64,
  $union: union("", { dirty_bitmap: u64, padding2: u64 }),
});

/** `struct kvm_signal_mask` (KVM_SET_SIGNAL_MASK); allocate with `alloc(len)`. */
export const kvm_signal_mask: RecordType<{
  len: u32;
  sigset: ArrayType<u8>;
}> = struct("kvm_signal_mask", {
  len: u32,
  sigset: flex(u8),
});

/** `struct kvm_tpr_access_ctl` (KVM_TPR_ACCESS_REPORTING). */
export const kvm_tpr_access_ctl: RecordType<{
  enabled: u32;
  flags: u32;
  reserved: ArrayType<u32>;
}> = struct("kvm_tpr_access_ctl", {
  enabled: u32,
  flags: u32,
  reserved: array(u32, 8),
});

/** `struct kvm_vapic_addr` (KVM_SET_VAPIC_ADDR). */
export const kvm_vapic_addr: RecordType<{
  vapic_addr: u64;
}> = struct("kvm_vapic_addr", {
  vapic_addr: u64,
});

/** `mp_state`: the vCPU runs. */
export const KVM_MP_STATE_RUNNABLE = 0;
/** `mp_state`: an AP waiting for INIT. */
export const KVM_MP_STATE_UNINITIALIZED = 1;
/** `mp_state`: INIT received, waiting for SIPI. */
export const KVM_MP_STATE_INIT_RECEIVED = 2;
/** `mp_state`: halted (HLT). */
export const KVM_MP_STATE_HALTED = 3;
/** `mp_state`: SIPI received. */
export const KVM_MP_STATE_SIPI_RECEIVED = 4;
/** `mp_state`: s390 stopped. */
export const KVM_MP_STATE_STOPPED = 5;
/** `mp_state`: s390 check-stop. */
export const KVM_MP_STATE_CHECK_STOP = 6;
/** `mp_state`: s390 operating. */
export const KVM_MP_STATE_OPERATING = 7;
/** `mp_state`: s390 load. */
export const KVM_MP_STATE_LOAD = 8;
/** `mp_state`: SEV-ES AP reset hold. */
export const KVM_MP_STATE_AP_RESET_HOLD = 9;
/** `mp_state`: arm64 suspended. */
export const KVM_MP_STATE_SUSPENDED = 10;

/** `struct kvm_mp_state` (KVM_GET_MP_STATE / KVM_SET_MP_STATE). */
export const kvm_mp_state: RecordType<{
  mp_state: u32;
}> = struct("kvm_mp_state", {
  mp_state: u32,
});

/** `kvm_guest_debug.control`: debugging on. */
export const KVM_GUESTDBG_ENABLE = 0x00000001;
/** `kvm_guest_debug.control`: single-step the guest. */
export const KVM_GUESTDBG_SINGLESTEP = 0x00000002;

/** `struct kvm_guest_debug` (KVM_SET_GUEST_DEBUG). */
export const kvm_guest_debug: RecordType<{
  control: u32;
  pad: u32;
  arch: typeof kvm_guest_debug_arch;
}> = struct("kvm_guest_debug", {
  control: u32,
  pad: u32,
  arch: kvm_guest_debug_arch,
});

/** Bit number of `KVM_IOEVENTFD_FLAG_DATAMATCH`. */
export const kvm_ioeventfd_flag_nr_datamatch = 0;
/** Bit number of `KVM_IOEVENTFD_FLAG_PIO`. */
export const kvm_ioeventfd_flag_nr_pio = 1;
/** Bit number of `KVM_IOEVENTFD_FLAG_DEASSIGN`. */
export const kvm_ioeventfd_flag_nr_deassign = 2;
/** Bit number of `KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY`. */
export const kvm_ioeventfd_flag_nr_virtio_ccw_notify = 3;
/** Bit number of the internal fast-MMIO flag. */
export const kvm_ioeventfd_flag_nr_fast_mmio = 4;
/** Number of ioeventfd flag bits. */
export const kvm_ioeventfd_flag_nr_max = 5;

/** `kvm_ioeventfd.flags`: signal only when the written value equals `datamatch`. */
export const KVM_IOEVENTFD_FLAG_DATAMATCH: number = 1 << kvm_ioeventfd_flag_nr_datamatch;
/** `kvm_ioeventfd.flags`: `addr` is a port, not an MMIO address. */
export const KVM_IOEVENTFD_FLAG_PIO: number = 1 << kvm_ioeventfd_flag_nr_pio;
/** `kvm_ioeventfd.flags`: remove the ioeventfd. */
export const KVM_IOEVENTFD_FLAG_DEASSIGN: number = 1 << kvm_ioeventfd_flag_nr_deassign;
/** `kvm_ioeventfd.flags`: s390 virtio-ccw notification. */
export const KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY: number = 1 <<
  kvm_ioeventfd_flag_nr_virtio_ccw_notify;
/** Flags an ioeventfd may carry. */
export const KVM_IOEVENTFD_VALID_FLAG_MASK: number = (1 << kvm_ioeventfd_flag_nr_max) - 1;

/** `struct kvm_ioeventfd` (KVM_IOEVENTFD). */
export const kvm_ioeventfd: RecordType<{
  datamatch: u64;
  addr: u64;
  len: u32;
  fd: s32;
  flags: u32;
  pad: ArrayType<u8>;
}> = struct("kvm_ioeventfd", {
  datamatch: u64,
  addr: u64,
  len: u32,
  fd: s32,
  flags: u32,
  pad: array(u8, 36),
});

/** KVM_CAP_X86_DISABLE_EXITS argument: MWAIT does not exit. */
export const KVM_X86_DISABLE_EXITS_MWAIT: number = 1 << 0;
/** KVM_CAP_X86_DISABLE_EXITS argument: HLT does not exit. */
export const KVM_X86_DISABLE_EXITS_HLT: number = 1 << 1;
/** KVM_CAP_X86_DISABLE_EXITS argument: PAUSE does not exit. */
export const KVM_X86_DISABLE_EXITS_PAUSE: number = 1 << 2;
/** KVM_CAP_X86_DISABLE_EXITS argument: C-states are not intercepted. */
export const KVM_X86_DISABLE_EXITS_CSTATE: number = 1 << 3;
/** KVM_CAP_X86_DISABLE_EXITS argument: APERF/MPERF reads do not exit. */
export const KVM_X86_DISABLE_EXITS_APERFMPERF: number = 1 << 4;

/** `struct kvm_enable_cap` (KVM_ENABLE_CAP on a VM or vCPU fd). */
export const kvm_enable_cap: RecordType<{
  cap: u32;
  flags: u32;
  args: ArrayType<u64>;
  pad: ArrayType<u8>;
}> = struct("kvm_enable_cap", {
  cap: u32,
  flags: u32,
  args: array(u64, 4),
  pad: array(u8, 64),
});

/** The ioctl type (magic) of every KVM ioctl. */
export const KVMIO = 0xae;

/** `/dev/kvm` ioctl: returns `KVM_API_VERSION`. */
export const KVM_GET_API_VERSION: number = _IO(KVMIO, 0x00);
/** `/dev/kvm` ioctl: creates a VM of the type given as argument; returns its fd. */
export const KVM_CREATE_VM: number = _IO(KVMIO, 0x01);
/** `/dev/kvm` ioctl: MSRs KVM saves and restores. */
export const KVM_GET_MSR_INDEX_LIST: number = _IOWR(KVMIO, 0x02, kvm_msr_list);
/** `/dev/kvm`, VM ioctl: whether a capability is supported (its value, or 0). */
export const KVM_CHECK_EXTENSION: number = _IO(KVMIO, 0x03);
/** `/dev/kvm` ioctl: bytes to mmap from a vCPU fd. */
export const KVM_GET_VCPU_MMAP_SIZE: number = _IO(KVMIO, 0x04);
/** `/dev/kvm` ioctl: CPUID KVM can virtualize. */
export const KVM_GET_SUPPORTED_CPUID: number = _IOWR(KVMIO, 0x05, kvm_cpuid2);
/** `/dev/kvm` ioctl: CPUID KVM emulates in software. */
export const KVM_GET_EMULATED_CPUID: number = _IOWR(KVMIO, 0x09, kvm_cpuid2);
/** `/dev/kvm` ioctl: feature MSRs (read-only capability MSRs). */
export const KVM_GET_MSR_FEATURE_INDEX_LIST: number = _IOWR(KVMIO, 0x0a, kvm_msr_list);

/** Capability `KVM_CAP_IRQCHIP`. */
export const KVM_CAP_IRQCHIP = 0;
/** Capability `KVM_CAP_HLT`. */
export const KVM_CAP_HLT = 1;
/** Capability `KVM_CAP_MMU_SHADOW_CACHE_CONTROL`. */
export const KVM_CAP_MMU_SHADOW_CACHE_CONTROL = 2;
/** Capability `KVM_CAP_USER_MEMORY`. */
export const KVM_CAP_USER_MEMORY = 3;
/** Capability `KVM_CAP_SET_TSS_ADDR`. */
export const KVM_CAP_SET_TSS_ADDR = 4;
/** Capability `KVM_CAP_VAPIC`. */
export const KVM_CAP_VAPIC = 6;
/** Capability `KVM_CAP_EXT_CPUID`. */
export const KVM_CAP_EXT_CPUID = 7;
/** Capability `KVM_CAP_CLOCKSOURCE`. */
export const KVM_CAP_CLOCKSOURCE = 8;
/** Capability `KVM_CAP_NR_VCPUS`. */
export const KVM_CAP_NR_VCPUS = 9;
/** Capability `KVM_CAP_NR_MEMSLOTS`. */
export const KVM_CAP_NR_MEMSLOTS = 10;
/** Capability `KVM_CAP_PIT`. */
export const KVM_CAP_PIT = 11;
/** Capability `KVM_CAP_NOP_IO_DELAY`. */
export const KVM_CAP_NOP_IO_DELAY = 12;
/** Capability `KVM_CAP_PV_MMU`. */
export const KVM_CAP_PV_MMU = 13;
/** Capability `KVM_CAP_MP_STATE`. */
export const KVM_CAP_MP_STATE = 14;
/** Capability `KVM_CAP_COALESCED_MMIO`. */
export const KVM_CAP_COALESCED_MMIO = 15;
/** Capability `KVM_CAP_SYNC_MMU`. */
export const KVM_CAP_SYNC_MMU = 16;
/** Capability `KVM_CAP_IOMMU`. */
export const KVM_CAP_IOMMU = 18;
/** Capability `KVM_CAP_DESTROY_MEMORY_REGION_WORKS`. */
export const KVM_CAP_DESTROY_MEMORY_REGION_WORKS = 21;
/** Capability `KVM_CAP_USER_NMI`. */
export const KVM_CAP_USER_NMI = 22;
/** Capability `KVM_CAP_SET_GUEST_DEBUG`. */
export const KVM_CAP_SET_GUEST_DEBUG = 23;
/** Capability `KVM_CAP_REINJECT_CONTROL`. */
export const KVM_CAP_REINJECT_CONTROL = 24;
/** Capability `KVM_CAP_IRQ_ROUTING`. */
export const KVM_CAP_IRQ_ROUTING = 25;
/** Capability `KVM_CAP_IRQ_INJECT_STATUS`. */
export const KVM_CAP_IRQ_INJECT_STATUS = 26;
/** Capability `KVM_CAP_ASSIGN_DEV_IRQ`. */
export const KVM_CAP_ASSIGN_DEV_IRQ = 29;
/** Capability `KVM_CAP_JOIN_MEMORY_REGIONS_WORKS`. */
export const KVM_CAP_JOIN_MEMORY_REGIONS_WORKS = 30;
/** Capability `KVM_CAP_MCE`. */
export const KVM_CAP_MCE = 31;
/** Capability `KVM_CAP_IRQFD`. */
export const KVM_CAP_IRQFD = 32;
/** Capability `KVM_CAP_PIT2`. */
export const KVM_CAP_PIT2 = 33;
/** Capability `KVM_CAP_SET_BOOT_CPU_ID`. */
export const KVM_CAP_SET_BOOT_CPU_ID = 34;
/** Capability `KVM_CAP_PIT_STATE2`. */
export const KVM_CAP_PIT_STATE2 = 35;
/** Capability `KVM_CAP_IOEVENTFD`. */
export const KVM_CAP_IOEVENTFD = 36;
/** Capability `KVM_CAP_SET_IDENTITY_MAP_ADDR`. */
export const KVM_CAP_SET_IDENTITY_MAP_ADDR = 37;
/** Capability `KVM_CAP_XEN_HVM`. */
export const KVM_CAP_XEN_HVM = 38;
/** Capability `KVM_CAP_ADJUST_CLOCK`. */
export const KVM_CAP_ADJUST_CLOCK = 39;
/** Capability `KVM_CAP_INTERNAL_ERROR_DATA`. */
export const KVM_CAP_INTERNAL_ERROR_DATA = 40;
/** Capability `KVM_CAP_VCPU_EVENTS`. */
export const KVM_CAP_VCPU_EVENTS = 41;
/** Capability `KVM_CAP_S390_PSW`. */
export const KVM_CAP_S390_PSW = 42;
/** Capability `KVM_CAP_PPC_SEGSTATE`. */
export const KVM_CAP_PPC_SEGSTATE = 43;
/** Capability `KVM_CAP_HYPERV`. */
export const KVM_CAP_HYPERV = 44;
/** Capability `KVM_CAP_HYPERV_VAPIC`. */
export const KVM_CAP_HYPERV_VAPIC = 45;
/** Capability `KVM_CAP_HYPERV_SPIN`. */
export const KVM_CAP_HYPERV_SPIN = 46;
/** Capability `KVM_CAP_PCI_SEGMENT`. */
export const KVM_CAP_PCI_SEGMENT = 47;
/** Capability `KVM_CAP_PPC_PAIRED_SINGLES`. */
export const KVM_CAP_PPC_PAIRED_SINGLES = 48;
/** Capability `KVM_CAP_INTR_SHADOW`. */
export const KVM_CAP_INTR_SHADOW = 49;
/** Capability `KVM_CAP_DEBUGREGS`. */
export const KVM_CAP_DEBUGREGS = 50;
/** Capability `KVM_CAP_X86_ROBUST_SINGLESTEP`. */
export const KVM_CAP_X86_ROBUST_SINGLESTEP = 51;
/** Capability `KVM_CAP_PPC_OSI`. */
export const KVM_CAP_PPC_OSI = 52;
/** Capability `KVM_CAP_PPC_UNSET_IRQ`. */
export const KVM_CAP_PPC_UNSET_IRQ = 53;
/** Capability `KVM_CAP_ENABLE_CAP`. */
export const KVM_CAP_ENABLE_CAP = 54;
/** Capability `KVM_CAP_XSAVE`. */
export const KVM_CAP_XSAVE = 55;
/** Capability `KVM_CAP_XCRS`. */
export const KVM_CAP_XCRS = 56;
/** Capability `KVM_CAP_PPC_GET_PVINFO`. */
export const KVM_CAP_PPC_GET_PVINFO = 57;
/** Capability `KVM_CAP_PPC_IRQ_LEVEL`. */
export const KVM_CAP_PPC_IRQ_LEVEL = 58;
/** Capability `KVM_CAP_ASYNC_PF`. */
export const KVM_CAP_ASYNC_PF = 59;
/** Capability `KVM_CAP_TSC_CONTROL`. */
export const KVM_CAP_TSC_CONTROL = 60;
/** Capability `KVM_CAP_GET_TSC_KHZ`. */
export const KVM_CAP_GET_TSC_KHZ = 61;
/** Capability `KVM_CAP_PPC_BOOKE_SREGS`. */
export const KVM_CAP_PPC_BOOKE_SREGS = 62;
/** Capability `KVM_CAP_SPAPR_TCE`. */
export const KVM_CAP_SPAPR_TCE = 63;
/** Capability `KVM_CAP_PPC_SMT`. */
export const KVM_CAP_PPC_SMT = 64;
/** Capability `KVM_CAP_PPC_RMA`. */
export const KVM_CAP_PPC_RMA = 65;
/** Capability `KVM_CAP_MAX_VCPUS`. */
export const KVM_CAP_MAX_VCPUS = 66;
/** Capability `KVM_CAP_PPC_HIOR`. */
export const KVM_CAP_PPC_HIOR = 67;
/** Capability `KVM_CAP_PPC_PAPR`. */
export const KVM_CAP_PPC_PAPR = 68;
/** Capability `KVM_CAP_SW_TLB`. */
export const KVM_CAP_SW_TLB = 69;
/** Capability `KVM_CAP_ONE_REG`. */
export const KVM_CAP_ONE_REG = 70;
/** Capability `KVM_CAP_S390_GMAP`. */
export const KVM_CAP_S390_GMAP = 71;
/** Capability `KVM_CAP_TSC_DEADLINE_TIMER`. */
export const KVM_CAP_TSC_DEADLINE_TIMER = 72;
/** Capability `KVM_CAP_S390_UCONTROL`. */
export const KVM_CAP_S390_UCONTROL = 73;
/** Capability `KVM_CAP_SYNC_REGS`. */
export const KVM_CAP_SYNC_REGS = 74;
/** Capability `KVM_CAP_PCI_2_3`. */
export const KVM_CAP_PCI_2_3 = 75;
/** Capability `KVM_CAP_KVMCLOCK_CTRL`. */
export const KVM_CAP_KVMCLOCK_CTRL = 76;
/** Capability `KVM_CAP_SIGNAL_MSI`. */
export const KVM_CAP_SIGNAL_MSI = 77;
/** Capability `KVM_CAP_PPC_GET_SMMU_INFO`. */
export const KVM_CAP_PPC_GET_SMMU_INFO = 78;
/** Capability `KVM_CAP_S390_COW`. */
export const KVM_CAP_S390_COW = 79;
/** Capability `KVM_CAP_PPC_ALLOC_HTAB`. */
export const KVM_CAP_PPC_ALLOC_HTAB = 80;
/** Capability `KVM_CAP_READONLY_MEM`. */
export const KVM_CAP_READONLY_MEM = 81;
/** Capability `KVM_CAP_IRQFD_RESAMPLE`. */
export const KVM_CAP_IRQFD_RESAMPLE = 82;
/** Capability `KVM_CAP_PPC_BOOKE_WATCHDOG`. */
export const KVM_CAP_PPC_BOOKE_WATCHDOG = 83;
/** Capability `KVM_CAP_PPC_HTAB_FD`. */
export const KVM_CAP_PPC_HTAB_FD = 84;
/** Capability `KVM_CAP_S390_CSS_SUPPORT`. */
export const KVM_CAP_S390_CSS_SUPPORT = 85;
/** Capability `KVM_CAP_PPC_EPR`. */
export const KVM_CAP_PPC_EPR = 86;
/** Capability `KVM_CAP_ARM_PSCI`. */
export const KVM_CAP_ARM_PSCI = 87;
/** Capability `KVM_CAP_ARM_SET_DEVICE_ADDR`. */
export const KVM_CAP_ARM_SET_DEVICE_ADDR = 88;
/** Capability `KVM_CAP_DEVICE_CTRL`. */
export const KVM_CAP_DEVICE_CTRL = 89;
/** Capability `KVM_CAP_IRQ_MPIC`. */
export const KVM_CAP_IRQ_MPIC = 90;
/** Capability `KVM_CAP_PPC_RTAS`. */
export const KVM_CAP_PPC_RTAS = 91;
/** Capability `KVM_CAP_IRQ_XICS`. */
export const KVM_CAP_IRQ_XICS = 92;
/** Capability `KVM_CAP_ARM_EL1_32BIT`. */
export const KVM_CAP_ARM_EL1_32BIT = 93;
/** Capability `KVM_CAP_SPAPR_MULTITCE`. */
export const KVM_CAP_SPAPR_MULTITCE = 94;
/** Capability `KVM_CAP_EXT_EMUL_CPUID`. */
export const KVM_CAP_EXT_EMUL_CPUID = 95;
/** Capability `KVM_CAP_HYPERV_TIME`. */
export const KVM_CAP_HYPERV_TIME = 96;
/** Capability `KVM_CAP_IOAPIC_POLARITY_IGNORED`. */
export const KVM_CAP_IOAPIC_POLARITY_IGNORED = 97;
/** Capability `KVM_CAP_ENABLE_CAP_VM`. */
export const KVM_CAP_ENABLE_CAP_VM = 98;
/** Capability `KVM_CAP_S390_IRQCHIP`. */
export const KVM_CAP_S390_IRQCHIP = 99;
/** Capability `KVM_CAP_IOEVENTFD_NO_LENGTH`. */
export const KVM_CAP_IOEVENTFD_NO_LENGTH = 100;
/** Capability `KVM_CAP_VM_ATTRIBUTES`. */
export const KVM_CAP_VM_ATTRIBUTES = 101;
/** Capability `KVM_CAP_ARM_PSCI_0_2`. */
export const KVM_CAP_ARM_PSCI_0_2 = 102;
/** Capability `KVM_CAP_PPC_FIXUP_HCALL`. */
export const KVM_CAP_PPC_FIXUP_HCALL = 103;
/** Capability `KVM_CAP_PPC_ENABLE_HCALL`. */
export const KVM_CAP_PPC_ENABLE_HCALL = 104;
/** Capability `KVM_CAP_CHECK_EXTENSION_VM`. */
export const KVM_CAP_CHECK_EXTENSION_VM = 105;
/** Capability `KVM_CAP_S390_USER_SIGP`. */
export const KVM_CAP_S390_USER_SIGP = 106;
/** Capability `KVM_CAP_S390_VECTOR_REGISTERS`. */
export const KVM_CAP_S390_VECTOR_REGISTERS = 107;
/** Capability `KVM_CAP_S390_MEM_OP`. */
export const KVM_CAP_S390_MEM_OP = 108;
/** Capability `KVM_CAP_S390_USER_STSI`. */
export const KVM_CAP_S390_USER_STSI = 109;
/** Capability `KVM_CAP_S390_SKEYS`. */
export const KVM_CAP_S390_SKEYS = 110;
/** Capability `KVM_CAP_MIPS_FPU`. */
export const KVM_CAP_MIPS_FPU = 111;
/** Capability `KVM_CAP_MIPS_MSA`. */
export const KVM_CAP_MIPS_MSA = 112;
/** Capability `KVM_CAP_S390_INJECT_IRQ`. */
export const KVM_CAP_S390_INJECT_IRQ = 113;
/** Capability `KVM_CAP_S390_IRQ_STATE`. */
export const KVM_CAP_S390_IRQ_STATE = 114;
/** Capability `KVM_CAP_PPC_HWRNG`. */
export const KVM_CAP_PPC_HWRNG = 115;
/** Capability `KVM_CAP_DISABLE_QUIRKS`. */
export const KVM_CAP_DISABLE_QUIRKS = 116;
/** Capability `KVM_CAP_X86_SMM`. */
export const KVM_CAP_X86_SMM = 117;
/** Capability `KVM_CAP_MULTI_ADDRESS_SPACE`. */
export const KVM_CAP_MULTI_ADDRESS_SPACE = 118;
/** Capability `KVM_CAP_GUEST_DEBUG_HW_BPS`. */
export const KVM_CAP_GUEST_DEBUG_HW_BPS = 119;
/** Capability `KVM_CAP_GUEST_DEBUG_HW_WPS`. */
export const KVM_CAP_GUEST_DEBUG_HW_WPS = 120;
/** Capability `KVM_CAP_SPLIT_IRQCHIP`. */
export const KVM_CAP_SPLIT_IRQCHIP = 121;
/** Capability `KVM_CAP_IOEVENTFD_ANY_LENGTH`. */
export const KVM_CAP_IOEVENTFD_ANY_LENGTH = 122;
/** Capability `KVM_CAP_HYPERV_SYNIC`. */
export const KVM_CAP_HYPERV_SYNIC = 123;
/** Capability `KVM_CAP_S390_RI`. */
export const KVM_CAP_S390_RI = 124;
/** Capability `KVM_CAP_SPAPR_TCE_64`. */
export const KVM_CAP_SPAPR_TCE_64 = 125;
/** Capability `KVM_CAP_ARM_PMU_V3`. */
export const KVM_CAP_ARM_PMU_V3 = 126;
/** Capability `KVM_CAP_VCPU_ATTRIBUTES`. */
export const KVM_CAP_VCPU_ATTRIBUTES = 127;
/** Capability `KVM_CAP_MAX_VCPU_ID`. */
export const KVM_CAP_MAX_VCPU_ID = 128;
/** Capability `KVM_CAP_X2APIC_API`. */
export const KVM_CAP_X2APIC_API = 129;
/** Capability `KVM_CAP_S390_USER_INSTR0`. */
export const KVM_CAP_S390_USER_INSTR0 = 130;
/** Capability `KVM_CAP_MSI_DEVID`. */
export const KVM_CAP_MSI_DEVID = 131;
/** Capability `KVM_CAP_PPC_HTM`. */
export const KVM_CAP_PPC_HTM = 132;
/** Capability `KVM_CAP_SPAPR_RESIZE_HPT`. */
export const KVM_CAP_SPAPR_RESIZE_HPT = 133;
/** Capability `KVM_CAP_PPC_MMU_RADIX`. */
export const KVM_CAP_PPC_MMU_RADIX = 134;
/** Capability `KVM_CAP_PPC_MMU_HASH_V3`. */
export const KVM_CAP_PPC_MMU_HASH_V3 = 135;
/** Capability `KVM_CAP_IMMEDIATE_EXIT`. */
export const KVM_CAP_IMMEDIATE_EXIT = 136;
/** Capability `KVM_CAP_MIPS_VZ`. */
export const KVM_CAP_MIPS_VZ = 137;
/** Capability `KVM_CAP_MIPS_TE`. */
export const KVM_CAP_MIPS_TE = 138;
/** Capability `KVM_CAP_MIPS_64BIT`. */
export const KVM_CAP_MIPS_64BIT = 139;
/** Capability `KVM_CAP_S390_GS`. */
export const KVM_CAP_S390_GS = 140;
/** Capability `KVM_CAP_S390_AIS`. */
export const KVM_CAP_S390_AIS = 141;
/** Capability `KVM_CAP_SPAPR_TCE_VFIO`. */
export const KVM_CAP_SPAPR_TCE_VFIO = 142;
/** Capability `KVM_CAP_X86_DISABLE_EXITS`. */
export const KVM_CAP_X86_DISABLE_EXITS = 143;
/** Capability `KVM_CAP_ARM_USER_IRQ`. */
export const KVM_CAP_ARM_USER_IRQ = 144;
/** Capability `KVM_CAP_S390_CMMA_MIGRATION`. */
export const KVM_CAP_S390_CMMA_MIGRATION = 145;
/** Capability `KVM_CAP_PPC_FWNMI`. */
export const KVM_CAP_PPC_FWNMI = 146;
/** Capability `KVM_CAP_PPC_SMT_POSSIBLE`. */
export const KVM_CAP_PPC_SMT_POSSIBLE = 147;
/** Capability `KVM_CAP_HYPERV_SYNIC2`. */
export const KVM_CAP_HYPERV_SYNIC2 = 148;
/** Capability `KVM_CAP_HYPERV_VP_INDEX`. */
export const KVM_CAP_HYPERV_VP_INDEX = 149;
/** Capability `KVM_CAP_S390_AIS_MIGRATION`. */
export const KVM_CAP_S390_AIS_MIGRATION = 150;
/** Capability `KVM_CAP_PPC_GET_CPU_CHAR`. */
export const KVM_CAP_PPC_GET_CPU_CHAR = 151;
/** Capability `KVM_CAP_S390_BPB`. */
export const KVM_CAP_S390_BPB = 152;
/** Capability `KVM_CAP_GET_MSR_FEATURES`. */
export const KVM_CAP_GET_MSR_FEATURES = 153;
/** Capability `KVM_CAP_HYPERV_EVENTFD`. */
export const KVM_CAP_HYPERV_EVENTFD = 154;
/** Capability `KVM_CAP_HYPERV_TLBFLUSH`. */
export const KVM_CAP_HYPERV_TLBFLUSH = 155;
/** Capability `KVM_CAP_S390_HPAGE_1M`. */
export const KVM_CAP_S390_HPAGE_1M = 156;
/** Capability `KVM_CAP_NESTED_STATE`. */
export const KVM_CAP_NESTED_STATE = 157;
/** Capability `KVM_CAP_ARM_INJECT_SERROR_ESR`. */
export const KVM_CAP_ARM_INJECT_SERROR_ESR = 158;
/** Capability `KVM_CAP_MSR_PLATFORM_INFO`. */
export const KVM_CAP_MSR_PLATFORM_INFO = 159;
/** Capability `KVM_CAP_PPC_NESTED_HV`. */
export const KVM_CAP_PPC_NESTED_HV = 160;
/** Capability `KVM_CAP_HYPERV_SEND_IPI`. */
export const KVM_CAP_HYPERV_SEND_IPI = 161;
/** Capability `KVM_CAP_COALESCED_PIO`. */
export const KVM_CAP_COALESCED_PIO = 162;
/** Capability `KVM_CAP_HYPERV_ENLIGHTENED_VMCS`. */
export const KVM_CAP_HYPERV_ENLIGHTENED_VMCS = 163;
/** Capability `KVM_CAP_EXCEPTION_PAYLOAD`. */
export const KVM_CAP_EXCEPTION_PAYLOAD = 164;
/** Capability `KVM_CAP_ARM_VM_IPA_SIZE`. */
export const KVM_CAP_ARM_VM_IPA_SIZE = 165;
/** Capability `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT`. */
export const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT = 166;
/** Capability `KVM_CAP_HYPERV_CPUID`. */
export const KVM_CAP_HYPERV_CPUID = 167;
/** Capability `KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2`. */
export const KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168;
/** Capability `KVM_CAP_PPC_IRQ_XIVE`. */
export const KVM_CAP_PPC_IRQ_XIVE = 169;
/** Capability `KVM_CAP_ARM_SVE`. */
export const KVM_CAP_ARM_SVE = 170;
/** Capability `KVM_CAP_ARM_PTRAUTH_ADDRESS`. */
export const KVM_CAP_ARM_PTRAUTH_ADDRESS = 171;
/** Capability `KVM_CAP_ARM_PTRAUTH_GENERIC`. */
export const KVM_CAP_ARM_PTRAUTH_GENERIC = 172;
/** Capability `KVM_CAP_PMU_EVENT_FILTER`. */
export const KVM_CAP_PMU_EVENT_FILTER = 173;
/** Capability `KVM_CAP_ARM_IRQ_LINE_LAYOUT_2`. */
export const KVM_CAP_ARM_IRQ_LINE_LAYOUT_2 = 174;
/** Capability `KVM_CAP_HYPERV_DIRECT_TLBFLUSH`. */
export const KVM_CAP_HYPERV_DIRECT_TLBFLUSH = 175;
/** Capability `KVM_CAP_PPC_GUEST_DEBUG_SSTEP`. */
export const KVM_CAP_PPC_GUEST_DEBUG_SSTEP = 176;
/** Capability `KVM_CAP_ARM_NISV_TO_USER`. */
export const KVM_CAP_ARM_NISV_TO_USER = 177;
/** Capability `KVM_CAP_ARM_INJECT_EXT_DABT`. */
export const KVM_CAP_ARM_INJECT_EXT_DABT = 178;
/** Capability `KVM_CAP_S390_VCPU_RESETS`. */
export const KVM_CAP_S390_VCPU_RESETS = 179;
/** Capability `KVM_CAP_S390_PROTECTED`. */
export const KVM_CAP_S390_PROTECTED = 180;
/** Capability `KVM_CAP_PPC_SECURE_GUEST`. */
export const KVM_CAP_PPC_SECURE_GUEST = 181;
/** Capability `KVM_CAP_HALT_POLL`. */
export const KVM_CAP_HALT_POLL = 182;
/** Capability `KVM_CAP_ASYNC_PF_INT`. */
export const KVM_CAP_ASYNC_PF_INT = 183;
/** Capability `KVM_CAP_LAST_CPU`. */
export const KVM_CAP_LAST_CPU = 184;
/** Capability `KVM_CAP_SMALLER_MAXPHYADDR`. */
export const KVM_CAP_SMALLER_MAXPHYADDR = 185;
/** Capability `KVM_CAP_S390_DIAG318`. */
export const KVM_CAP_S390_DIAG318 = 186;
/** Capability `KVM_CAP_STEAL_TIME`. */
export const KVM_CAP_STEAL_TIME = 187;
/** Capability `KVM_CAP_X86_USER_SPACE_MSR`. */
export const KVM_CAP_X86_USER_SPACE_MSR = 188;
/** Capability `KVM_CAP_X86_MSR_FILTER`. */
export const KVM_CAP_X86_MSR_FILTER = 189;
/** Capability `KVM_CAP_ENFORCE_PV_FEATURE_CPUID`. */
export const KVM_CAP_ENFORCE_PV_FEATURE_CPUID = 190;
/** Capability `KVM_CAP_SYS_HYPERV_CPUID`. */
export const KVM_CAP_SYS_HYPERV_CPUID = 191;
/** Capability `KVM_CAP_DIRTY_LOG_RING`. */
export const KVM_CAP_DIRTY_LOG_RING = 192;
/** Capability `KVM_CAP_X86_BUS_LOCK_EXIT`. */
export const KVM_CAP_X86_BUS_LOCK_EXIT = 193;
/** Capability `KVM_CAP_PPC_DAWR1`. */
export const KVM_CAP_PPC_DAWR1 = 194;
/** Capability `KVM_CAP_SET_GUEST_DEBUG2`. */
export const KVM_CAP_SET_GUEST_DEBUG2 = 195;
/** Capability `KVM_CAP_SGX_ATTRIBUTE`. */
export const KVM_CAP_SGX_ATTRIBUTE = 196;
/** Capability `KVM_CAP_VM_COPY_ENC_CONTEXT_FROM`. */
export const KVM_CAP_VM_COPY_ENC_CONTEXT_FROM = 197;
/** Capability `KVM_CAP_PTP_KVM`. */
export const KVM_CAP_PTP_KVM = 198;
/** Capability `KVM_CAP_HYPERV_ENFORCE_CPUID`. */
export const KVM_CAP_HYPERV_ENFORCE_CPUID = 199;
/** Capability `KVM_CAP_SREGS2`. */
export const KVM_CAP_SREGS2 = 200;
/** Capability `KVM_CAP_EXIT_HYPERCALL`. */
export const KVM_CAP_EXIT_HYPERCALL = 201;
/** Capability `KVM_CAP_PPC_RPT_INVALIDATE`. */
export const KVM_CAP_PPC_RPT_INVALIDATE = 202;
/** Capability `KVM_CAP_BINARY_STATS_FD`. */
export const KVM_CAP_BINARY_STATS_FD = 203;
/** Capability `KVM_CAP_EXIT_ON_EMULATION_FAILURE`. */
export const KVM_CAP_EXIT_ON_EMULATION_FAILURE = 204;
/** Capability `KVM_CAP_ARM_MTE`. */
export const KVM_CAP_ARM_MTE = 205;
/** Capability `KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM`. */
export const KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM = 206;
/** Capability `KVM_CAP_VM_GPA_BITS`. */
export const KVM_CAP_VM_GPA_BITS = 207;
/** Capability `KVM_CAP_XSAVE2`. */
export const KVM_CAP_XSAVE2 = 208;
/** Capability `KVM_CAP_SYS_ATTRIBUTES`. */
export const KVM_CAP_SYS_ATTRIBUTES = 209;
/** Capability `KVM_CAP_PPC_AIL_MODE_3`. */
export const KVM_CAP_PPC_AIL_MODE_3 = 210;
/** Capability `KVM_CAP_S390_MEM_OP_EXTENSION`. */
export const KVM_CAP_S390_MEM_OP_EXTENSION = 211;
/** Capability `KVM_CAP_PMU_CAPABILITY`. */
export const KVM_CAP_PMU_CAPABILITY = 212;
/** Capability `KVM_CAP_DISABLE_QUIRKS2`. */
export const KVM_CAP_DISABLE_QUIRKS2 = 213;
/** Capability `KVM_CAP_VM_TSC_CONTROL`. */
export const KVM_CAP_VM_TSC_CONTROL = 214;
/** Capability `KVM_CAP_SYSTEM_EVENT_DATA`. */
export const KVM_CAP_SYSTEM_EVENT_DATA = 215;
/** Capability `KVM_CAP_ARM_SYSTEM_SUSPEND`. */
export const KVM_CAP_ARM_SYSTEM_SUSPEND = 216;
/** Capability `KVM_CAP_S390_PROTECTED_DUMP`. */
export const KVM_CAP_S390_PROTECTED_DUMP = 217;
/** Capability `KVM_CAP_X86_TRIPLE_FAULT_EVENT`. */
export const KVM_CAP_X86_TRIPLE_FAULT_EVENT = 218;
/** Capability `KVM_CAP_X86_NOTIFY_VMEXIT`. */
export const KVM_CAP_X86_NOTIFY_VMEXIT = 219;
/** Capability `KVM_CAP_VM_DISABLE_NX_HUGE_PAGES`. */
export const KVM_CAP_VM_DISABLE_NX_HUGE_PAGES = 220;
/** Capability `KVM_CAP_S390_ZPCI_OP`. */
export const KVM_CAP_S390_ZPCI_OP = 221;
/** Capability `KVM_CAP_S390_CPU_TOPOLOGY`. */
export const KVM_CAP_S390_CPU_TOPOLOGY = 222;
/** Capability `KVM_CAP_DIRTY_LOG_RING_ACQ_REL`. */
export const KVM_CAP_DIRTY_LOG_RING_ACQ_REL = 223;
/** Capability `KVM_CAP_S390_PROTECTED_ASYNC_DISABLE`. */
export const KVM_CAP_S390_PROTECTED_ASYNC_DISABLE = 224;
/** Capability `KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP`. */
export const KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP = 225;
/** Capability `KVM_CAP_PMU_EVENT_MASKED_EVENTS`. */
export const KVM_CAP_PMU_EVENT_MASKED_EVENTS = 226;
/** Capability `KVM_CAP_COUNTER_OFFSET`. */
export const KVM_CAP_COUNTER_OFFSET = 227;
/** Capability `KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE`. */
export const KVM_CAP_ARM_EAGER_SPLIT_CHUNK_SIZE = 228;
/** Capability `KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES`. */
export const KVM_CAP_ARM_SUPPORTED_BLOCK_SIZES = 229;
/** Capability `KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES`. */
export const KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES = 230;
/** Capability `KVM_CAP_USER_MEMORY2`. */
export const KVM_CAP_USER_MEMORY2 = 231;
/** Capability `KVM_CAP_MEMORY_FAULT_INFO`. */
export const KVM_CAP_MEMORY_FAULT_INFO = 232;
/** Capability `KVM_CAP_MEMORY_ATTRIBUTES`. */
export const KVM_CAP_MEMORY_ATTRIBUTES = 233;
/** Capability `KVM_CAP_GUEST_MEMFD`. */
export const KVM_CAP_GUEST_MEMFD = 234;
/** Capability `KVM_CAP_VM_TYPES`. */
export const KVM_CAP_VM_TYPES = 235;
/** Capability `KVM_CAP_PRE_FAULT_MEMORY`. */
export const KVM_CAP_PRE_FAULT_MEMORY = 236;
/** Capability `KVM_CAP_X86_APIC_BUS_CYCLES_NS`. */
export const KVM_CAP_X86_APIC_BUS_CYCLES_NS = 237;
/** Capability `KVM_CAP_X86_GUEST_MODE`. */
export const KVM_CAP_X86_GUEST_MODE = 238;
/** Capability `KVM_CAP_ARM_WRITABLE_IMP_ID_REGS`. */
export const KVM_CAP_ARM_WRITABLE_IMP_ID_REGS = 239;
/** Capability `KVM_CAP_ARM_EL2`. */
export const KVM_CAP_ARM_EL2 = 240;
/** Capability `KVM_CAP_ARM_EL2_E2H0`. */
export const KVM_CAP_ARM_EL2_E2H0 = 241;
/** Capability `KVM_CAP_RISCV_MP_STATE_RESET`. */
export const KVM_CAP_RISCV_MP_STATE_RESET = 242;
/** Capability `KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED`. */
export const KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED = 243;
/** Capability `KVM_CAP_GUEST_MEMFD_FLAGS`. */
export const KVM_CAP_GUEST_MEMFD_FLAGS = 244;
/** Capability `KVM_CAP_ARM_SEA_TO_USER`. */
export const KVM_CAP_ARM_SEA_TO_USER = 245;
/** Capability `KVM_CAP_S390_USER_OPEREXEC`. */
export const KVM_CAP_S390_USER_OPEREXEC = 246;
/** Capability `KVM_CAP_S390_KEYOP`. */
export const KVM_CAP_S390_KEYOP = 247;
/** Capability `KVM_CAP_S390_VSIE_ESAMODE`. */
export const KVM_CAP_S390_VSIE_ESAMODE = 248;
/** Capability `KVM_CAP_S390_HPAGE_2G`. */
export const KVM_CAP_S390_HPAGE_2G = 249;

/** `struct kvm_irq_routing_irqchip`: a GSI routed to a PIC or IOAPIC pin. */
export const kvm_irq_routing_irqchip: RecordType<{
  irqchip: u32;
  pin: u32;
}> = struct("kvm_irq_routing_irqchip", {
  irqchip: u32,
  pin: u32,
});

/** `struct kvm_irq_routing_msi`: a GSI routed to an MSI. */
export const kvm_irq_routing_msi: RecordType<{
  address_lo: u32;
  address_hi: u32;
  data: u32;
  $union: RecordType<{ pad: u32; devid: u32 }>;
}> = struct("kvm_irq_routing_msi", {
  address_lo: u32,
  address_hi: u32,
  data: u32,
  $union: union("", { pad: u32, devid: u32 }),
});

/** `struct kvm_irq_routing_s390_adapter`. */
export const kvm_irq_routing_s390_adapter: RecordType<{
  ind_addr: u64;
  summary_addr: u64;
  ind_offset: u64;
  summary_offset: u32;
  adapter_id: u32;
}> = struct("kvm_irq_routing_s390_adapter", {
  ind_addr: u64,
  summary_addr: u64,
  ind_offset: u64,
  summary_offset: u32,
  adapter_id: u32,
});

/** `struct kvm_irq_routing_hv_sint`: a GSI routed to a Hyper-V SynIC SINT. */
export const kvm_irq_routing_hv_sint: RecordType<{
  vcpu: u32;
  sint: u32;
}> = struct("kvm_irq_routing_hv_sint", {
  vcpu: u32,
  sint: u32,
});

/** `struct kvm_irq_routing_xen_evtchn`: a GSI routed to a Xen event channel. */
export const kvm_irq_routing_xen_evtchn: RecordType<{
  port: u32;
  vcpu: u32;
  priority: u32;
}> = struct("kvm_irq_routing_xen_evtchn", {
  port: u32,
  vcpu: u32,
  priority: u32,
});

/** `kvm_irq_routing_xen_evtchn.priority`: 2-level event channel delivery. */
export const KVM_IRQ_ROUTING_XEN_EVTCHN_PRIO_2LEVEL = 0xffffffff;

/** `kvm_irq_routing_entry.type`: `u.irqchip`. */
export const KVM_IRQ_ROUTING_IRQCHIP = 1;
/** `kvm_irq_routing_entry.type`: `u.msi`. */
export const KVM_IRQ_ROUTING_MSI = 2;
/** `kvm_irq_routing_entry.type`: `u.adapter`. */
export const KVM_IRQ_ROUTING_S390_ADAPTER = 3;
/** `kvm_irq_routing_entry.type`: `u.hv_sint`. */
export const KVM_IRQ_ROUTING_HV_SINT = 4;
/** `kvm_irq_routing_entry.type`: `u.xen_evtchn`. */
export const KVM_IRQ_ROUTING_XEN_EVTCHN = 5;

/** `struct kvm_irq_routing_entry`: one GSI route. */
export const kvm_irq_routing_entry: RecordType<{
  gsi: u32;
  type: u32;
  flags: u32;
  pad: u32;
  u: RecordType<{
    irqchip: typeof kvm_irq_routing_irqchip;
    msi: typeof kvm_irq_routing_msi;
    adapter: typeof kvm_irq_routing_s390_adapter;
    hv_sint: typeof kvm_irq_routing_hv_sint;
    xen_evtchn: typeof kvm_irq_routing_xen_evtchn;
    pad: ArrayType<u32>;
  }>;
}> = struct("kvm_irq_routing_entry", {
  gsi: u32,
  type: u32,
  flags: u32,
  pad: u32,
  u: union("", {
    irqchip: kvm_irq_routing_irqchip,
    msi: kvm_irq_routing_msi,
    adapter: kvm_irq_routing_s390_adapter,
    hv_sint: kvm_irq_routing_hv_sint,
    xen_evtchn: kvm_irq_routing_xen_evtchn,
    pad: array(u32, 8),
  }),
});

/** `struct kvm_irq_routing` (KVM_SET_GSI_ROUTING); allocate with `alloc(nr)`. */
export const kvm_irq_routing: RecordType<{
  nr: u32;
  flags: u32;
  entries: ArrayType<typeof kvm_irq_routing_entry>;
}> = struct("kvm_irq_routing", {
  nr: u32,
  flags: u32,
  entries: flex(kvm_irq_routing_entry),
});

/** `kvm_irqfd.flags`: remove the irqfd. */
export const KVM_IRQFD_FLAG_DEASSIGN: number = 1 << 0;
/** `kvm_irqfd.flags`: level-triggered, with `resamplefd` signalled on EOI. */
export const KVM_IRQFD_FLAG_RESAMPLE: number = 1 << 1;

/** `struct kvm_irqfd` (KVM_IRQFD). */
export const kvm_irqfd: RecordType<{
  fd: u32;
  gsi: u32;
  flags: u32;
  resamplefd: u32;
  pad: ArrayType<u8>;
}> = struct("kvm_irqfd", {
  fd: u32,
  gsi: u32,
  flags: u32,
  resamplefd: u32,
  pad: array(u8, 16),
});

/** `kvm_clock_data.flags`: kvmclock is stable across vCPUs. */
export const KVM_CLOCK_TSC_STABLE = 2;
/** `kvm_clock_data.flags`: `realtime` is valid. */
export const KVM_CLOCK_REALTIME: number = 1 << 2;
/** `kvm_clock_data.flags`: `host_tsc` is valid. */
export const KVM_CLOCK_HOST_TSC: number = 1 << 3;

/** `struct kvm_clock_data` (KVM_GET_CLOCK / KVM_SET_CLOCK). */
export const kvm_clock_data: RecordType<{
  clock: u64;
  flags: u32;
  pad0: u32;
  realtime: u64;
  host_tsc: u64;
  pad: ArrayType<u32>;
}> = struct("kvm_clock_data", {
  clock: u64,
  flags: u32,
  pad0: u32,
  realtime: u64,
  host_tsc: u64,
  pad: array(u32, 4),
});

/** ONE_REG id: architecture field. */
export const KVM_REG_ARCH_MASK = 0xff00000000000000n;
/** ONE_REG id: architecture-independent registers. */
export const KVM_REG_GENERIC = 0x0000000000000000n;
/** ONE_REG id: PowerPC. */
export const KVM_REG_PPC = 0x1000000000000000n;
/** ONE_REG id: x86. */
export const KVM_REG_X86 = 0x2000000000000000n;
/** ONE_REG id: IA-64. */
export const KVM_REG_IA64 = 0x3000000000000000n;
/** ONE_REG id: arm. */
export const KVM_REG_ARM = 0x4000000000000000n;
/** ONE_REG id: s390. */
export const KVM_REG_S390 = 0x5000000000000000n;
/** ONE_REG id: arm64. */
export const KVM_REG_ARM64 = 0x6000000000000000n;
/** ONE_REG id: MIPS. */
export const KVM_REG_MIPS = 0x7000000000000000n;
/** ONE_REG id: RISC-V. */
export const KVM_REG_RISCV = 0x8000000000000000n;
/** ONE_REG id: LoongArch. */
export const KVM_REG_LOONGARCH = 0x9000000000000000n;
/** ONE_REG id: where the size field starts. */
export const KVM_REG_SIZE_SHIFT = 52;
/** ONE_REG id: the size field. */
export const KVM_REG_SIZE_MASK = 0x00f0000000000000n;
/** ONE_REG size: 8 bits. */
export const KVM_REG_SIZE_U8 = 0x0000000000000000n;
/** ONE_REG size: 16 bits. */
export const KVM_REG_SIZE_U16 = 0x0010000000000000n;
/** ONE_REG size: 32 bits. */
export const KVM_REG_SIZE_U32 = 0x0020000000000000n;
/** ONE_REG size: 64 bits. */
export const KVM_REG_SIZE_U64 = 0x0030000000000000n;
/** ONE_REG size: 128 bits. */
export const KVM_REG_SIZE_U128 = 0x0040000000000000n;
/** ONE_REG size: 256 bits. */
export const KVM_REG_SIZE_U256 = 0x0050000000000000n;
/** ONE_REG size: 512 bits. */
export const KVM_REG_SIZE_U512 = 0x0060000000000000n;
/** ONE_REG size: 1024 bits. */
export const KVM_REG_SIZE_U1024 = 0x0070000000000000n;
/** ONE_REG size: 2048 bits. */
export const KVM_REG_SIZE_U2048 = 0x0080000000000000n;

/** `KVM_REG_SIZE(id)`: the size in bytes of the register a ONE_REG id names. */
export function KVM_REG_SIZE(id: bigint): number {
  return 1 << Number((id & KVM_REG_SIZE_MASK) >> BigInt(KVM_REG_SIZE_SHIFT));
}

/** `struct kvm_reg_list` (KVM_GET_REG_LIST); allocate with `alloc(n)`. */
export const kvm_reg_list: RecordType<{
  n: u64;
  reg: ArrayType<u64>;
}> = struct("kvm_reg_list", {
  n: u64,
  reg: flex(u64),
});

/** `struct kvm_one_reg` (KVM_GET_ONE_REG / KVM_SET_ONE_REG); `addr` is a user pointer. */
export const kvm_one_reg: RecordType<{
  id: u64;
  addr: u64;
}> = struct("kvm_one_reg", {
  id: u64,
  addr: u64,
});

/** `kvm_msi.flags`: `devid` is valid. */
export const KVM_MSI_VALID_DEVID: number = 1 << 0;

/** `struct kvm_msi` (KVM_SIGNAL_MSI). */
export const kvm_msi: RecordType<{
  address_lo: u32;
  address_hi: u32;
  data: u32;
  flags: u32;
  devid: u32;
  pad: ArrayType<u8>;
}> = struct("kvm_msi", {
  address_lo: u32,
  address_hi: u32,
  data: u32,
  flags: u32,
  devid: u32,
  pad: array(u8, 12),
});

/** `kvm_create_device.flags`: only test whether the device type exists. */
export const KVM_CREATE_DEVICE_TEST = 1;

/** `struct kvm_create_device` (KVM_CREATE_DEVICE). */
export const kvm_create_device: RecordType<{
  type: u32;
  fd: u32;
  flags: u32;
}> = struct("kvm_create_device", {
  type: u32,
  fd: u32,
  flags: u32,
});

/** `struct kvm_device_attr` (KVM_SET/GET/HAS_DEVICE_ATTR, on device, VM, vCPU and system fds). */
export const kvm_device_attr: RecordType<{
  flags: u32;
  group: u32;
  attr: u64;
  addr: u64;
}> = struct("kvm_device_attr", {
  flags: u32,
  group: u32,
  attr: u64,
  addr: u64,
});

/** Device type (`enum kvm_device_type`): FSL MPIC 2.0. */
export const KVM_DEV_TYPE_FSL_MPIC_20 = 1;
/** Device type: FSL MPIC 4.2. */
export const KVM_DEV_TYPE_FSL_MPIC_42 = 2;
/** Device type: PowerPC XICS. */
export const KVM_DEV_TYPE_XICS = 3;
/** Device type: VFIO. */
export const KVM_DEV_TYPE_VFIO = 4;
/** Device type: arm GICv2. */
export const KVM_DEV_TYPE_ARM_VGIC_V2 = 5;
/** Device type: s390 FLIC. */
export const KVM_DEV_TYPE_FLIC = 6;
/** Device type: arm GICv3. */
export const KVM_DEV_TYPE_ARM_VGIC_V3 = 7;
/** Device type: arm GIC ITS. */
export const KVM_DEV_TYPE_ARM_VGIC_ITS = 8;
/** Device type: PowerPC XIVE. */
export const KVM_DEV_TYPE_XIVE = 9;
/** Device type: arm paravirtual time. */
export const KVM_DEV_TYPE_ARM_PV_TIME = 10;
/** Device type: RISC-V AIA. */
export const KVM_DEV_TYPE_RISCV_AIA = 11;
/** Device type: LoongArch IPI. */
export const KVM_DEV_TYPE_LOONGARCH_IPI = 12;
/** Device type: LoongArch EIOINTC. */
export const KVM_DEV_TYPE_LOONGARCH_EIOINTC = 13;
/** Device type: LoongArch PCH-PIC. */
export const KVM_DEV_TYPE_LOONGARCH_PCHPIC = 14;

/** VM ioctl: creates vCPU number `arg`; returns its fd. */
export const KVM_CREATE_VCPU: number = _IO(KVMIO, 0x41);
/** VM ioctl: copies and clears a memslot's dirty bitmap. */
export const KVM_GET_DIRTY_LOG: number = _IOW(KVMIO, 0x42, kvm_dirty_log);
/** VM ioctl: sets the number of shadow MMU pages. */
export const KVM_SET_NR_MMU_PAGES: number = _IO(KVMIO, 0x44);
/** VM ioctl: reads the number of shadow MMU pages (deprecated). */
export const KVM_GET_NR_MMU_PAGES: number = _IO(KVMIO, 0x45);
/** VM ioctl: creates, moves, changes or deletes a memslot. */
export const KVM_SET_USER_MEMORY_REGION: number = _IOW(KVMIO, 0x46, kvm_userspace_memory_region);
/** VM ioctl: places the three-page TSS region (real mode on VMX). */
export const KVM_SET_TSS_ADDR: number = _IO(KVMIO, 0x47);
/** VM ioctl: places the identity-map page (real mode on VMX). */
export const KVM_SET_IDENTITY_MAP_ADDR: number = _IOW(KVMIO, 0x48, u64);
/** VM ioctl: KVM_SET_USER_MEMORY_REGION with guest_memfd. */
export const KVM_SET_USER_MEMORY_REGION2: number = _IOW(
  KVMIO,
  0x49,
  kvm_userspace_memory_region2,
);

/** VM ioctl: creates the in-kernel PIC, IOAPIC and local APICs. */
export const KVM_CREATE_IRQCHIP: number = _IO(KVMIO, 0x60);
/** VM ioctl: sets the level of a GSI. */
export const KVM_IRQ_LINE: number = _IOW(KVMIO, 0x61, kvm_irq_level);
/** VM ioctl: reads an in-kernel irqchip's state. */
export const KVM_GET_IRQCHIP: number = _IOWR(KVMIO, 0x62, kvm_irqchip);
/** VM ioctl: writes an in-kernel irqchip's state (encoded `_IOR`, as in C). */
export const KVM_SET_IRQCHIP: number = _IOR(KVMIO, 0x63, kvm_irqchip);
/** VM ioctl: creates the in-kernel PIT. */
export const KVM_CREATE_PIT: number = _IO(KVMIO, 0x64);
/** VM ioctl: reads the PIT state. */
export const KVM_GET_PIT: number = _IOWR(KVMIO, 0x65, kvm_pit_state);
/** VM ioctl: writes the PIT state (encoded `_IOR`, as in C). */
export const KVM_SET_PIT: number = _IOR(KVMIO, 0x66, kvm_pit_state);
/** VM ioctl: KVM_IRQ_LINE that reports whether the interrupt was delivered. */
export const KVM_IRQ_LINE_STATUS: number = _IOWR(KVMIO, 0x67, kvm_irq_level);
/** VM ioctl: registers a coalesced MMIO or PIO zone. */
export const KVM_REGISTER_COALESCED_MMIO: number = _IOW(KVMIO, 0x67, kvm_coalesced_mmio_zone);
/** VM ioctl: unregisters a coalesced MMIO or PIO zone. */
export const KVM_UNREGISTER_COALESCED_MMIO: number = _IOW(KVMIO, 0x68, kvm_coalesced_mmio_zone);
/** VM ioctl: replaces the GSI routing table. */
export const KVM_SET_GSI_ROUTING: number = _IOW(KVMIO, 0x6a, kvm_irq_routing);
/** VM ioctl: PIT interrupt reinjection on or off. */
export const KVM_REINJECT_CONTROL: number = _IO(KVMIO, 0x71);
/** VM ioctl: binds an eventfd to a GSI. */
export const KVM_IRQFD: number = _IOW(KVMIO, 0x76, kvm_irqfd);
/** VM ioctl: creates the in-kernel PIT with a configuration. */
export const KVM_CREATE_PIT2: number = _IOW(KVMIO, 0x77, kvm_pit_config);
/** VM ioctl: selects the boot vCPU. */
export const KVM_SET_BOOT_CPU_ID: number = _IO(KVMIO, 0x78);
/** VM ioctl: binds an eventfd to a PIO or MMIO write. */
export const KVM_IOEVENTFD: number = _IOW(KVMIO, 0x79, kvm_ioeventfd);
/** VM ioctl: configures Xen HVM emulation. */
export const KVM_XEN_HVM_CONFIG: number = _IOW(KVMIO, 0x7a, kvm_xen_hvm_config);
/** VM ioctl: sets kvmclock. */
export const KVM_SET_CLOCK: number = _IOW(KVMIO, 0x7b, kvm_clock_data);
/** VM ioctl: reads kvmclock. */
export const KVM_GET_CLOCK: number = _IOR(KVMIO, 0x7c, kvm_clock_data);
/** VM ioctl: reads the PIT state with flags. */
export const KVM_GET_PIT2: number = _IOR(KVMIO, 0x9f, kvm_pit_state2);
/** VM ioctl: writes the PIT state with flags. */
export const KVM_SET_PIT2: number = _IOW(KVMIO, 0xa0, kvm_pit_state2);
/** vCPU ioctl (or VM ioctl with KVM_CAP_VM_TSC_CONTROL, before vCPUs exist): sets the TSC frequency in kHz. */
export const KVM_SET_TSC_KHZ: number = _IO(KVMIO, 0xa2);
/** vCPU or VM ioctl: returns the TSC frequency in kHz. */
export const KVM_GET_TSC_KHZ: number = _IO(KVMIO, 0xa3);
/** VM ioctl: injects an MSI. */
export const KVM_SIGNAL_MSI: number = _IOW(KVMIO, 0xa5, kvm_msi);
/** VM ioctl: sets the PMU event filter. */
export const KVM_SET_PMU_EVENT_FILTER: number = _IOW(KVMIO, 0xb2, kvm_pmu_event_filter);

/** VM ioctl: creates an emulated device; returns its fd in the argument. */
export const KVM_CREATE_DEVICE: number = _IOWR(KVMIO, 0xe0, kvm_create_device);
/** Device, VM, vCPU or system ioctl: writes an attribute. */
export const KVM_SET_DEVICE_ATTR: number = _IOW(KVMIO, 0xe1, kvm_device_attr);
/** Device, VM, vCPU or system ioctl: reads an attribute (encoded `_IOW`, as in C). */
export const KVM_GET_DEVICE_ATTR: number = _IOW(KVMIO, 0xe2, kvm_device_attr);
/** Device, VM, vCPU or system ioctl: whether an attribute exists. */
export const KVM_HAS_DEVICE_ATTR: number = _IOW(KVMIO, 0xe3, kvm_device_attr);

/** vCPU ioctl: runs the vCPU until an exit that userspace must handle. */
export const KVM_RUN: number = _IO(KVMIO, 0x80);
/** vCPU ioctl: reads the general-purpose registers. */
export const KVM_GET_REGS: number = _IOR(KVMIO, 0x81, kvm_regs);
/** vCPU ioctl: writes the general-purpose registers. */
export const KVM_SET_REGS: number = _IOW(KVMIO, 0x82, kvm_regs);
/** vCPU ioctl: reads the special registers. */
export const KVM_GET_SREGS: number = _IOR(KVMIO, 0x83, kvm_sregs);
/** vCPU ioctl: writes the special registers. */
export const KVM_SET_SREGS: number = _IOW(KVMIO, 0x84, kvm_sregs);
/** vCPU ioctl: translates a guest-virtual address. */
export const KVM_TRANSLATE: number = _IOWR(KVMIO, 0x85, kvm_translation);
/** vCPU ioctl: injects an interrupt without an in-kernel APIC. */
export const KVM_INTERRUPT: number = _IOW(KVMIO, 0x86, kvm_interrupt);
/** vCPU ioctl (or system ioctl for feature MSRs): reads MSRs; returns how many were read. */
export const KVM_GET_MSRS: number = _IOWR(KVMIO, 0x88, kvm_msrs);
/** vCPU ioctl: writes MSRs; returns how many were written. */
export const KVM_SET_MSRS: number = _IOW(KVMIO, 0x89, kvm_msrs);
/** vCPU ioctl: sets the CPUID table (old format). */
export const KVM_SET_CPUID: number = _IOW(KVMIO, 0x8a, kvm_cpuid);
/** vCPU ioctl: signals blocked while in KVM_RUN. */
export const KVM_SET_SIGNAL_MASK: number = _IOW(KVMIO, 0x8b, kvm_signal_mask);
/** vCPU ioctl: reads the FPU state. */
export const KVM_GET_FPU: number = _IOR(KVMIO, 0x8c, kvm_fpu);
/** vCPU ioctl: writes the FPU state. */
export const KVM_SET_FPU: number = _IOW(KVMIO, 0x8d, kvm_fpu);
/** vCPU ioctl: reads the local APIC registers. */
export const KVM_GET_LAPIC: number = _IOR(KVMIO, 0x8e, kvm_lapic_state);
/** vCPU ioctl: writes the local APIC registers. */
export const KVM_SET_LAPIC: number = _IOW(KVMIO, 0x8f, kvm_lapic_state);
/** vCPU ioctl: sets the CPUID table. */
export const KVM_SET_CPUID2: number = _IOW(KVMIO, 0x90, kvm_cpuid2);
/** vCPU ioctl: reads the CPUID table. */
export const KVM_GET_CPUID2: number = _IOWR(KVMIO, 0x91, kvm_cpuid2);
/** vCPU ioctl: TPR access reporting on or off. */
export const KVM_TPR_ACCESS_REPORTING: number = _IOWR(KVMIO, 0x92, kvm_tpr_access_ctl);
/** vCPU ioctl: sets the VAPIC page address. */
export const KVM_SET_VAPIC_ADDR: number = _IOW(KVMIO, 0x93, kvm_vapic_addr);
/** vCPU ioctl: reads the multiprocessing state. */
export const KVM_GET_MP_STATE: number = _IOR(KVMIO, 0x98, kvm_mp_state);
/** vCPU ioctl: writes the multiprocessing state. */
export const KVM_SET_MP_STATE: number = _IOW(KVMIO, 0x99, kvm_mp_state);
/** vCPU ioctl: injects an NMI. */
export const KVM_NMI: number = _IO(KVMIO, 0x9a);
/** vCPU ioctl: sets up guest debugging. */
export const KVM_SET_GUEST_DEBUG: number = _IOW(KVMIO, 0x9b, kvm_guest_debug);
/** vCPU ioctl: sets up machine-check emulation. */
export const KVM_X86_SETUP_MCE: number = _IOW(KVMIO, 0x9c, u64);
/** `/dev/kvm` ioctl: supported MCG_CAP bits. */
export const KVM_X86_GET_MCE_CAP_SUPPORTED: number = _IOR(KVMIO, 0x9d, u64);
/** vCPU ioctl: injects a machine check. */
export const KVM_X86_SET_MCE: number = _IOW(KVMIO, 0x9e, kvm_x86_mce);
/** vCPU ioctl: reads pending events. */
export const KVM_GET_VCPU_EVENTS: number = _IOR(KVMIO, 0x9f, kvm_vcpu_events);
/** vCPU ioctl: writes pending events. */
export const KVM_SET_VCPU_EVENTS: number = _IOW(KVMIO, 0xa0, kvm_vcpu_events);
/** vCPU ioctl: reads the debug registers. */
export const KVM_GET_DEBUGREGS: number = _IOR(KVMIO, 0xa1, kvm_debugregs);
/** vCPU ioctl: writes the debug registers. */
export const KVM_SET_DEBUGREGS: number = _IOW(KVMIO, 0xa2, kvm_debugregs);
/** vCPU or VM ioctl: enables a capability. */
export const KVM_ENABLE_CAP: number = _IOW(KVMIO, 0xa3, kvm_enable_cap);
/** vCPU ioctl: reads the first 4 KiB of XSAVE state. */
export const KVM_GET_XSAVE: number = _IOR(KVMIO, 0xa4, kvm_xsave);
/** vCPU ioctl: writes XSAVE state. */
export const KVM_SET_XSAVE: number = _IOW(KVMIO, 0xa5, kvm_xsave);
/** vCPU ioctl: reads the extended control registers. */
export const KVM_GET_XCRS: number = _IOR(KVMIO, 0xa6, kvm_xcrs);
/** vCPU ioctl: writes the extended control registers. */
export const KVM_SET_XCRS: number = _IOW(KVMIO, 0xa7, kvm_xcrs);
/** vCPU ioctl: reads one register by id (encoded `_IOW`, as in C). */
export const KVM_GET_ONE_REG: number = _IOW(KVMIO, 0xab, kvm_one_reg);
/** vCPU ioctl: writes one register by id. */
export const KVM_SET_ONE_REG: number = _IOW(KVMIO, 0xac, kvm_one_reg);
/** vCPU ioctl: tells kvmclock the guest was paused. */
export const KVM_KVMCLOCK_CTRL: number = _IO(KVMIO, 0xad);
/** vCPU ioctl: lists the ONE_REG ids. */
export const KVM_GET_REG_LIST: number = _IOWR(KVMIO, 0xb0, kvm_reg_list);
/** vCPU ioctl: injects an SMI. */
export const KVM_SMI: number = _IO(KVMIO, 0xb7);

/**
 * VM or vCPU ioctl: a confidential-computing command (SEV `struct
 * kvm_sev_cmd`, TDX `struct kvm_tdx_cmd`). C encodes the size of an
 * `unsigned long`: 8 bytes on x86-64.
 */
export const KVM_MEMORY_ENCRYPT_OP: number = _IOWR(KVMIO, 0xba, u64);

/** `struct kvm_enc_region` (KVM_MEMORY_ENCRYPT_REG_REGION / UNREG_REGION). */
export const kvm_enc_region: RecordType<{
  addr: u64;
  size: u64;
}> = struct("kvm_enc_region", {
  addr: u64,
  size: u64,
});

/** VM ioctl: pins a region of encrypted guest memory. */
export const KVM_MEMORY_ENCRYPT_REG_REGION: number = _IOR(KVMIO, 0xbb, kvm_enc_region);
/** VM ioctl: unpins a region of encrypted guest memory. */
export const KVM_MEMORY_ENCRYPT_UNREG_REGION: number = _IOR(KVMIO, 0xbc, kvm_enc_region);
/** VM ioctl: binds an eventfd to a Hyper-V connection id. */
export const KVM_HYPERV_EVENTFD: number = _IOW(KVMIO, 0xbd, kvm_hyperv_eventfd);
/** vCPU ioctl: reads the nested virtualization state. */
export const KVM_GET_NESTED_STATE: number = _IOWR(KVMIO, 0xbe, kvm_nested_state);
/** vCPU ioctl: writes the nested virtualization state. */
export const KVM_SET_NESTED_STATE: number = _IOW(KVMIO, 0xbf, kvm_nested_state);
/** VM ioctl: clears part of a memslot's dirty bitmap (manual protect). */
export const KVM_CLEAR_DIRTY_LOG: number = _IOWR(KVMIO, 0xc0, kvm_clear_dirty_log);
/** vCPU or system ioctl: Hyper-V CPUID leaves KVM supports. */
export const KVM_GET_SUPPORTED_HV_CPUID: number = _IOWR(KVMIO, 0xc1, kvm_cpuid2);
/** VM ioctl: sets the MSR filter. */
export const KVM_X86_SET_MSR_FILTER: number = _IOW(KVMIO, 0xc6, kvm_msr_filter);
/** VM ioctl: resets harvested dirty ring entries. */
export const KVM_RESET_DIRTY_RINGS: number = _IO(KVMIO, 0xc7);
/** vCPU ioctl: reads the special registers with PDPTRs. */
export const KVM_GET_SREGS2: number = _IOR(KVMIO, 0xcc, kvm_sregs2);
/** vCPU ioctl: writes the special registers with PDPTRs. */
export const KVM_SET_SREGS2: number = _IOW(KVMIO, 0xcd, kvm_sregs2);

/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 argument: dirty pages stay protected until cleared. */
export const KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE: number = 1 << 0;
/** KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 argument: new dirty bitmaps start all set. */
export const KVM_DIRTY_LOG_INITIALLY_SET: number = 1 << 1;

/** `kvm_dirty_gfn.flags`: the GFN is dirty. */
export const KVM_DIRTY_GFN_F_DIRTY: number = 1 << 0;
/** `kvm_dirty_gfn.flags`: the GFN was harvested and should be reset. */
export const KVM_DIRTY_GFN_F_RESET: number = 1 << 1;
/** Every `kvm_dirty_gfn.flags` bit. */
export const KVM_DIRTY_GFN_F_MASK = 0x3;

/** `struct kvm_dirty_gfn`: one dirty ring entry. */
export const kvm_dirty_gfn: RecordType<{
  flags: u32;
  slot: u32;
  offset: u64;
}> = struct("kvm_dirty_gfn", {
  flags: u32,
  slot: u32,
  offset: u64,
});

/** KVM_CAP_X86_BUS_LOCK_EXIT argument: no detection. */
export const KVM_BUS_LOCK_DETECTION_OFF: number = 1 << 0;
/** KVM_CAP_X86_BUS_LOCK_EXIT argument: exit to userspace on a bus lock. */
export const KVM_BUS_LOCK_DETECTION_EXIT: number = 1 << 1;

/** KVM_CAP_PMU_CAPABILITY argument: no virtual PMU. */
export const KVM_PMU_CAP_DISABLE: number = 1 << 0;

/** `struct kvm_stats_header`: the start of a binary stats fd (KVM_GET_STATS_FD). */
export const kvm_stats_header: RecordType<{
  flags: u32;
  name_size: u32;
  num_desc: u32;
  id_offset: u32;
  desc_offset: u32;
  data_offset: u32;
}> = struct("kvm_stats_header", {
  flags: u32,
  name_size: u32,
  num_desc: u32,
  id_offset: u32,
  desc_offset: u32,
  data_offset: u32,
});

/** Stats descriptor flags: where the type starts. */
export const KVM_STATS_TYPE_SHIFT = 0;
/** Stats descriptor flags: the type. */
export const KVM_STATS_TYPE_MASK: number = 0xf << KVM_STATS_TYPE_SHIFT;
/** Stats type: a counter that only grows. */
export const KVM_STATS_TYPE_CUMULATIVE: number = 0x0 << KVM_STATS_TYPE_SHIFT;
/** Stats type: an instantaneous value. */
export const KVM_STATS_TYPE_INSTANT: number = 0x1 << KVM_STATS_TYPE_SHIFT;
/** Stats type: a peak value. */
export const KVM_STATS_TYPE_PEAK: number = 0x2 << KVM_STATS_TYPE_SHIFT;
/** Stats type: a linear histogram. */
export const KVM_STATS_TYPE_LINEAR_HIST: number = 0x3 << KVM_STATS_TYPE_SHIFT;
/** Stats type: a logarithmic histogram. */
export const KVM_STATS_TYPE_LOG_HIST: number = 0x4 << KVM_STATS_TYPE_SHIFT;
/** The last stats type. */
export const KVM_STATS_TYPE_MAX: number = KVM_STATS_TYPE_LOG_HIST;
/** Stats descriptor flags: where the unit starts. */
export const KVM_STATS_UNIT_SHIFT = 4;
/** Stats descriptor flags: the unit. */
export const KVM_STATS_UNIT_MASK: number = 0xf << KVM_STATS_UNIT_SHIFT;
/** Stats unit: none. */
export const KVM_STATS_UNIT_NONE: number = 0x0 << KVM_STATS_UNIT_SHIFT;
/** Stats unit: bytes. */
export const KVM_STATS_UNIT_BYTES: number = 0x1 << KVM_STATS_UNIT_SHIFT;
/** Stats unit: seconds. */
export const KVM_STATS_UNIT_SECONDS: number = 0x2 << KVM_STATS_UNIT_SHIFT;
/** Stats unit: cycles. */
export const KVM_STATS_UNIT_CYCLES: number = 0x3 << KVM_STATS_UNIT_SHIFT;
/** Stats unit: a boolean. */
export const KVM_STATS_UNIT_BOOLEAN: number = 0x4 << KVM_STATS_UNIT_SHIFT;
/** The last stats unit. */
export const KVM_STATS_UNIT_MAX: number = KVM_STATS_UNIT_BOOLEAN;
/** Stats descriptor flags: where the exponent base starts. */
export const KVM_STATS_BASE_SHIFT = 8;
/** Stats descriptor flags: the exponent base. */
export const KVM_STATS_BASE_MASK: number = 0xf << KVM_STATS_BASE_SHIFT;
/** Stats base: powers of 10. */
export const KVM_STATS_BASE_POW10: number = 0x0 << KVM_STATS_BASE_SHIFT;
/** Stats base: powers of 2. */
export const KVM_STATS_BASE_POW2: number = 0x1 << KVM_STATS_BASE_SHIFT;
/** The last stats base. */
export const KVM_STATS_BASE_MAX: number = KVM_STATS_BASE_POW2;

/** `struct kvm_stats_desc`: one statistic; its name (`name_size` bytes) follows. */
export const kvm_stats_desc: RecordType<{
  flags: u32;
  exponent: s16;
  size: u16;
  offset: u32;
  bucket_size: u32;
  name: ArrayType<u8>;
}> = struct("kvm_stats_desc", {
  flags: u32,
  exponent: s16,
  size: u16,
  offset: u32,
  bucket_size: u32,
  name: flex(u8),
});

/** VM or vCPU ioctl: returns a binary statistics fd. */
export const KVM_GET_STATS_FD: number = _IO(KVMIO, 0xce);
/** vCPU ioctl: reads all XSAVE state (KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2) bytes). */
export const KVM_GET_XSAVE2: number = _IOR(KVMIO, 0xcf, kvm_xsave);

/** KVM_CAP_X86_NOTIFY_VMEXIT argument: the notify VM exit is on. */
export const KVM_X86_NOTIFY_VMEXIT_ENABLED: number = 1 << 0;
/** KVM_CAP_X86_NOTIFY_VMEXIT argument: notify exits reach userspace. */
export const KVM_X86_NOTIFY_VMEXIT_USER: number = 1 << 1;

/** `struct kvm_memory_attributes` (KVM_SET_MEMORY_ATTRIBUTES). */
export const kvm_memory_attributes: RecordType<{
  address: u64;
  size: u64;
  attributes: u64;
  flags: u64;
}> = struct("kvm_memory_attributes", {
  address: u64,
  size: u64,
  attributes: u64,
  flags: u64,
});

/** VM ioctl: sets the attributes (private or shared) of a GPA range. */
export const KVM_SET_MEMORY_ATTRIBUTES: number = _IOW(KVMIO, 0xd2, kvm_memory_attributes);

/** `kvm_memory_attributes.attributes`: the range is private (backed by guest_memfd). */
export const KVM_MEMORY_ATTRIBUTE_PRIVATE: bigint = 1n << 3n;

/** `struct kvm_create_guest_memfd` (KVM_CREATE_GUEST_MEMFD). */
export const kvm_create_guest_memfd: RecordType<{
  size: u64;
  flags: u64;
  reserved: ArrayType<u64>;
}> = struct("kvm_create_guest_memfd", {
  size: u64,
  flags: u64,
  reserved: array(u64, 6),
});

/** VM ioctl: creates a guest_memfd of `size` bytes; returns its fd. */
export const KVM_CREATE_GUEST_MEMFD: number = _IOWR(KVMIO, 0xd4, kvm_create_guest_memfd);

/** `kvm_create_guest_memfd.flags`: the guest_memfd can be mmap'd by userspace. */
export const GUEST_MEMFD_FLAG_MMAP: bigint = 1n << 0n;
/** `kvm_create_guest_memfd.flags`: the memory starts shared, not private. */
export const GUEST_MEMFD_FLAG_INIT_SHARED: bigint = 1n << 1n;

/** `struct kvm_pre_fault_memory` (KVM_PRE_FAULT_MEMORY); the kernel writes back its progress. */
export const kvm_pre_fault_memory: RecordType<{
  gpa: u64;
  size: u64;
  flags: u64;
  padding: ArrayType<u64>;
}> = struct("kvm_pre_fault_memory", {
  gpa: u64,
  size: u64,
  flags: u64,
  padding: array(u64, 5),
});

/** vCPU ioctl: maps a GPA range into the guest's page tables ahead of use. */
export const KVM_PRE_FAULT_MEMORY: number = _IOWR(KVMIO, 0xd5, kvm_pre_fault_memory);
