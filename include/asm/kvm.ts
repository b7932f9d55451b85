// SPDX-License-Identifier: GPL-2.0-only
/**
 * The x86 half of the KVM uAPI (`arch/x86/include/uapi/asm/kvm.h` in the
 * newest kvm-x86 tree): register files, segments, MSR and CPUID tables, vCPU
 * events, XSAVE, MSR filters, SEV and TDX commands, VM types and quirks.
 * `include/linux/kvm.ts` re-exports all of it, as `<linux/kvm.h>` includes
 * `<asm/kvm.h>`.
 *
 * Every struct has the C tag as its name and the C member names; `__u64`
 * members read as `bigint`. Flag constants meant for a `__u64` member are
 * `bigint` too (`KVM_SYNC_X86_*`, `KVM_SREGS2_FLAGS_PDPTRS_VALID`); every
 * other constant is a `number`.
 *
 * @module
 */

import {
  array,
  type ArrayType,
  flex,
  type RecordType,
  s32,
  s64,
  struct,
  u16,
  u32,
  u64,
  u8,
  union,
} from "../c/layout.ts";

/** Page offset (in the vCPU mmap) of the PIO data area that `io.data_offset` points into. */
export const KVM_PIO_PAGE_OFFSET = 1;
/** Page offset (in the vCPU mmap) of the coalesced MMIO ring. */
export const KVM_COALESCED_MMIO_PAGE_OFFSET = 2;
/** Page offset (in the vCPU mmap) of the dirty ring. */
export const KVM_DIRTY_LOG_PAGE_OFFSET = 64;

/** `#DE`, divide error. */
export const DE_VECTOR = 0;
/** `#DB`, debug. */
export const DB_VECTOR = 1;
/** `#BP`, breakpoint. */
export const BP_VECTOR = 3;
/** `#OF`, overflow. */
export const OF_VECTOR = 4;
/** `#BR`, BOUND range exceeded. */
export const BR_VECTOR = 5;
/** `#UD`, invalid opcode. */
export const UD_VECTOR = 6;
/** `#NM`, device not available. */
export const NM_VECTOR = 7;
/** `#DF`, double fault. */
export const DF_VECTOR = 8;
/** `#TS`, invalid TSS. */
export const TS_VECTOR = 10;
/** `#NP`, segment not present. */
export const NP_VECTOR = 11;
/** `#SS`, stack-segment fault. */
export const SS_VECTOR = 12;
/** `#GP`, general protection. */
export const GP_VECTOR = 13;
/** `#PF`, page fault. */
export const PF_VECTOR = 14;
/** `#MF`, x87 floating-point error. */
export const MF_VECTOR = 16;
/** `#AC`, alignment check. */
export const AC_VECTOR = 17;
/** `#MC`, machine check. */
export const MC_VECTOR = 18;
/** `#XM`, SIMD floating-point exception. */
export const XM_VECTOR = 19;
/** `#VE`, virtualization exception (what a TD gets for many instructions). */
export const VE_VECTOR = 20;
/** `#CP`, control protection. */
export const CP_VECTOR = 21;
/** `#HV`, hypervisor injection (SEV-SNP). */
export const HV_VECTOR = 28;
/** `#VC`, VMM communication (SEV-ES). */
export const VC_VECTOR = 29;
/** `#SX`, security exception. */
export const SX_VECTOR = 30;

/** Interrupt vectors a vCPU has; sizes `kvm_sregs.interrupt_bitmap`. */
export const KVM_NR_INTERRUPTS = 256;

/** `struct kvm_pic_state`: one 8259 PIC, for KVM_GET_IRQCHIP / KVM_SET_IRQCHIP. */
export const kvm_pic_state: RecordType<{
  last_irr: u8;
  irr: u8;
  imr: u8;
  isr: u8;
  priority_add: u8;
  irq_base: u8;
  read_reg_select: u8;
  poll: u8;
  special_mask: u8;
  init_state: u8;
  auto_eoi: u8;
  rotate_on_auto_eoi: u8;
  special_fully_nested_mode: u8;
  init4: u8;
  elcr: u8;
  elcr_mask: u8;
}> = struct("kvm_pic_state", {
  last_irr: u8,
  irr: u8,
  imr: u8,
  isr: u8,
  priority_add: u8,
  irq_base: u8,
  read_reg_select: u8,
  poll: u8,
  special_mask: u8,
  init_state: u8,
  auto_eoi: u8,
  rotate_on_auto_eoi: u8,
  special_fully_nested_mode: u8,
  init4: u8,
  elcr: u8,
  elcr_mask: u8,
});

/** Pins of the emulated IOAPIC. */
export const KVM_IOAPIC_NUM_PINS = 24;

/**
 * `struct kvm_ioapic_state`. Each redirection entry is read whole through
 * `bits`: the engine has no bitfields, and the kernel's `fields` view of the
 * same 64 bits is a C bitfield overlay (vector in bits 0..7, destination in
 * bits 56..63).
 */
export const kvm_ioapic_state: RecordType<{
  base_address: u64;
  ioregsel: u32;
  id: u32;
  irr: u32;
  pad: u32;
  redirtbl: ArrayType<RecordType<{ bits: u64 }>>;
}> = struct("kvm_ioapic_state", {
  base_address: u64,
  ioregsel: u32,
  id: u32,
  irr: u32,
  pad: u32,
  redirtbl: array(union("", { bits: u64 }), KVM_IOAPIC_NUM_PINS),
});

/** `chip_id` of the master 8259 in `struct kvm_irqchip`. */
export const KVM_IRQCHIP_PIC_MASTER = 0;
/** `chip_id` of the slave 8259. */
export const KVM_IRQCHIP_PIC_SLAVE = 1;
/** `chip_id` of the IOAPIC. */
export const KVM_IRQCHIP_IOAPIC = 2;
/** Number of in-kernel irqchips. */
export const KVM_NR_IRQCHIPS = 3;

/** `kvm_run.flags`: the vCPU is in SMM. */
export const KVM_RUN_X86_SMM: number = 1 << 0;
/** `kvm_run.flags`: a bus lock was detected. */
export const KVM_RUN_X86_BUS_LOCK: number = 1 << 1;
/** `kvm_run.flags`: the vCPU runs a nested (L2) guest. */
export const KVM_RUN_X86_GUEST_MODE: number = 1 << 2;

/** `struct kvm_regs`: general-purpose registers, RIP and RFLAGS (KVM_GET_REGS / KVM_SET_REGS). */
export const kvm_regs: RecordType<{
  rax: u64;
  rbx: u64;
  rcx: u64;
  rdx: u64;
  rsi: u64;
  rdi: u64;
  rsp: u64;
  rbp: u64;
  r8: u64;
  r9: u64;
  r10: u64;
  r11: u64;
  r12: u64;
  r13: u64;
  r14: u64;
  r15: u64;
  rip: u64;
  rflags: u64;
}> = struct("kvm_regs", {
  rax: u64,
  rbx: u64,
  rcx: u64,
  rdx: u64,
  rsi: u64,
  rdi: u64,
  rsp: u64,
  rbp: u64,
  r8: u64,
  r9: u64,
  r10: u64,
  r11: u64,
  r12: u64,
  r13: u64,
  r14: u64,
  r15: u64,
  rip: u64,
  rflags: u64,
});

/** Bytes of the local APIC register page in `struct kvm_lapic_state`. */
export const KVM_APIC_REG_SIZE = 0x400;

/**
 * `struct kvm_lapic_state`: the APIC register page (KVM_GET_LAPIC /
 * KVM_SET_LAPIC). C declares `char regs[]`; bytes read unsigned here.
 */
export const kvm_lapic_state: RecordType<{
  regs: ArrayType<u8>;
}> = struct("kvm_lapic_state", {
  regs: array(u8, KVM_APIC_REG_SIZE),
});

/** `struct kvm_segment`: a segment register with its hidden part. */
export const kvm_segment: RecordType<{
  base: u64;
  limit: u32;
  selector: u16;
  type: u8;
  present: u8;
  dpl: u8;
  db: u8;
  s: u8;
  l: u8;
  g: u8;
  avl: u8;
  unusable: u8;
  padding: u8;
}> = struct("kvm_segment", {
  base: u64,
  limit: u32,
  selector: u16,
  type: u8,
  present: u8,
  dpl: u8,
  db: u8,
  s: u8,
  l: u8,
  g: u8,
  avl: u8,
  unusable: u8,
  padding: u8,
});

/** `struct kvm_dtable`: a descriptor-table register (GDTR, IDTR). */
export const kvm_dtable: RecordType<{
  base: u64;
  limit: u16;
  padding: ArrayType<u16>;
}> = struct("kvm_dtable", {
  base: u64,
  limit: u16,
  padding: array(u16, 3),
});

/** `struct kvm_sregs`: segments, control registers, EFER, APIC base, pending interrupt (KVM_GET_SREGS / KVM_SET_SREGS). */
export const kvm_sregs: RecordType<{
  cs: typeof kvm_segment;
  ds: typeof kvm_segment;
  es: typeof kvm_segment;
  fs: typeof kvm_segment;
  gs: typeof kvm_segment;
  ss: typeof kvm_segment;
  tr: typeof kvm_segment;
  ldt: typeof kvm_segment;
  gdt: typeof kvm_dtable;
  idt: typeof kvm_dtable;
  cr0: u64;
  cr2: u64;
  cr3: u64;
  cr4: u64;
  cr8: u64;
  efer: u64;
  apic_base: u64;
  interrupt_bitmap: ArrayType<u64>;
}> = struct("kvm_sregs", {
  cs: kvm_segment,
  ds: kvm_segment,
  es: kvm_segment,
  fs: kvm_segment,
  gs: kvm_segment,
  ss: kvm_segment,
  tr: kvm_segment,
  ldt: kvm_segment,
  gdt: kvm_dtable,
  idt: kvm_dtable,
  cr0: u64,
  cr2: u64,
  cr3: u64,
  cr4: u64,
  cr8: u64,
  efer: u64,
  apic_base: u64,
  interrupt_bitmap: array(u64, Math.floor((KVM_NR_INTERRUPTS + 63) / 64)),
});

/** `struct kvm_sregs2`: `kvm_sregs` with the PDPTRs instead of the interrupt bitmap (KVM_GET_SREGS2 / KVM_SET_SREGS2). */
export const kvm_sregs2: RecordType<{
  cs: typeof kvm_segment;
  ds: typeof kvm_segment;
  es: typeof kvm_segment;
  fs: typeof kvm_segment;
  gs: typeof kvm_segment;
  ss: typeof kvm_segment;
  tr: typeof kvm_segment;
  ldt: typeof kvm_segment;
  gdt: typeof kvm_dtable;
  idt: typeof kvm_dtable;
  cr0: u64;
  cr2: u64;
  cr3: u64;
  cr4: u64;
  cr8: u64;
  efer: u64;
  apic_base: u64;
  flags: u64;
  pdptrs: ArrayType<u64>;
}> = struct("kvm_sregs2", {
  cs: kvm_segment,
  ds: kvm_segment,
  es: kvm_segment,
  fs: kvm_segment,
  gs: kvm_segment,
  ss: kvm_segment,
  tr: kvm_segment,
  ldt: kvm_segment,
  gdt: kvm_dtable,
  idt: kvm_dtable,
  cr0: u64,
  cr2: u64,
  cr3: u64,
  cr4: u64,
  cr8: u64,
  efer: u64,
  apic_base: u64,
  flags: u64,
  pdptrs: array(u64, 4),
});

/** `kvm_sregs2.flags`: `pdptrs` holds valid PAE PDPTRs. */
export const KVM_SREGS2_FLAGS_PDPTRS_VALID = 1n;

/** `struct kvm_fpu`: x87 and SSE state in FXSAVE layout (KVM_GET_FPU / KVM_SET_FPU). */
export const kvm_fpu: RecordType<{
  fpr: ArrayType<ArrayType<u8>>;
  fcw: u16;
  fsw: u16;
  ftwx: u8;
  pad1: u8;
  last_opcode: u16;
  last_ip: u64;
  last_dp: u64;
  xmm: ArrayType<ArrayType<u8>>;
  mxcsr: u32;
  pad2: u32;
}> = struct("kvm_fpu", {
  fpr: array(array(u8, 16), 8),
  fcw: u16,
  fsw: u16,
  ftwx: u8,
  pad1: u8,
  last_opcode: u16,
  last_ip: u64,
  last_dp: u64,
  xmm: array(array(u8, 16), 16),
  mxcsr: u32,
  pad2: u32,
});

/** `struct kvm_msr_entry`: one MSR index and value. */
export const kvm_msr_entry: RecordType<{
  index: u32;
  reserved: u32;
  data: u64;
}> = struct("kvm_msr_entry", {
  index: u32,
  reserved: u32,
  data: u64,
});

/** `struct kvm_msrs`: a list of MSRs (KVM_GET_MSRS / KVM_SET_MSRS); allocate with `alloc(nmsrs)`. */
export const kvm_msrs: RecordType<{
  nmsrs: u32;
  pad: u32;
  entries: ArrayType<typeof kvm_msr_entry>;
}> = struct("kvm_msrs", {
  nmsrs: u32,
  pad: u32,
  entries: flex(kvm_msr_entry),
});

/** `struct kvm_msr_list`: MSR indices (KVM_GET_MSR_INDEX_LIST, KVM_GET_MSR_FEATURE_INDEX_LIST). */
export const kvm_msr_list: RecordType<{
  nmsrs: u32;
  indices: ArrayType<u32>;
}> = struct("kvm_msr_list", {
  nmsrs: u32,
  indices: flex(u32),
});

/** Byte cap on a filter range's `bitmap`: 0x600 bytes, so one range spans at most 12288 MSRs. */
export const KVM_MSR_FILTER_MAX_BITMAP_SIZE = 0x600;

/** `kvm_msr_filter_range.flags`: the bitmap filters reads. */
export const KVM_MSR_FILTER_READ: number = 1 << 0;
/** `kvm_msr_filter_range.flags`: the bitmap filters writes. */
export const KVM_MSR_FILTER_WRITE: number = 1 << 1;
/** Flags a range may carry. */
export const KVM_MSR_FILTER_RANGE_VALID_MASK: number = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE;

/**
 * `struct kvm_msr_filter_range`: MSRs `base .. base + nmsrs - 1`, one bit
 * each in the user buffer at `bitmap` (a pointer, held as a 64-bit address).
 */
export const kvm_msr_filter_range: RecordType<{
  flags: u32;
  nmsrs: u32;
  base: u32;
  bitmap: u64;
}> = struct("kvm_msr_filter_range", {
  flags: u32,
  nmsrs: u32,
  base: u32,
  bitmap: u64,
});

/** Ranges in one `struct kvm_msr_filter`. */
export const KVM_MSR_FILTER_MAX_RANGES = 16;
/** `kvm_msr_filter.flags`: MSRs outside every range are allowed. */
export const KVM_MSR_FILTER_DEFAULT_ALLOW = 0;
/** `kvm_msr_filter.flags`: MSRs outside every range are denied. */
export const KVM_MSR_FILTER_DEFAULT_DENY: number = 1 << 0;
/** Flags a filter may carry. */
export const KVM_MSR_FILTER_VALID_MASK: number = KVM_MSR_FILTER_DEFAULT_DENY;

/** `struct kvm_msr_filter` (KVM_X86_SET_MSR_FILTER). */
export const kvm_msr_filter: RecordType<{
  flags: u32;
  ranges: ArrayType<typeof kvm_msr_filter_range>;
}> = struct("kvm_msr_filter", {
  flags: u32,
  ranges: array(kvm_msr_filter_range, KVM_MSR_FILTER_MAX_RANGES),
});

/** `struct kvm_cpuid_entry`: a leaf of the original KVM_SET_CPUID table. */
export const kvm_cpuid_entry: RecordType<{
  function: u32;
  eax: u32;
  ebx: u32;
  ecx: u32;
  edx: u32;
  padding: u32;
}> = struct("kvm_cpuid_entry", {
  function: u32,
  eax: u32,
  ebx: u32,
  ecx: u32,
  edx: u32,
  padding: u32,
});

/** `struct kvm_cpuid` (KVM_SET_CPUID); allocate with `alloc(nent)`. */
export const kvm_cpuid: RecordType<{
  nent: u32;
  padding: u32;
  entries: ArrayType<typeof kvm_cpuid_entry>;
}> = struct("kvm_cpuid", {
  nent: u32,
  padding: u32,
  entries: flex(kvm_cpuid_entry),
});

/** `struct kvm_cpuid_entry2`: one CPUID leaf and subleaf with its output registers. */
export const kvm_cpuid_entry2: RecordType<{
  function: u32;
  index: u32;
  flags: u32;
  eax: u32;
  ebx: u32;
  ecx: u32;
  edx: u32;
  padding: ArrayType<u32>;
}> = struct("kvm_cpuid_entry2", {
  function: u32,
  index: u32,
  flags: u32,
  eax: u32,
  ebx: u32,
  ecx: u32,
  edx: u32,
  padding: array(u32, 3),
});

/** `kvm_cpuid_entry2.flags`: `index` (the subleaf) matters. The kernel's spelling. */
export const KVM_CPUID_FLAG_SIGNIFCANT_INDEX: number = 1 << 0;
/** `kvm_cpuid_entry2.flags`: obsolete stateful leaf. */
export const KVM_CPUID_FLAG_STATEFUL_FUNC: number = 1 << 1;
/** `kvm_cpuid_entry2.flags`: obsolete stateful leaf, read next. */
export const KVM_CPUID_FLAG_STATE_READ_NEXT: number = 1 << 2;

/**
 * `struct kvm_cpuid2`: a CPUID table (KVM_SET_CPUID2, KVM_GET_CPUID2,
 * KVM_GET_SUPPORTED_CPUID, KVM_TDX_GET_CPUID); allocate with `alloc(nent)`.
 */
export const kvm_cpuid2: RecordType<{
  nent: u32;
  padding: u32;
  entries: ArrayType<typeof kvm_cpuid_entry2>;
}> = struct("kvm_cpuid2", {
  nent: u32,
  padding: u32,
  entries: flex(kvm_cpuid_entry2),
});

/** `struct kvm_pit_channel_state`: one 8254 PIT channel. */
export const kvm_pit_channel_state: RecordType<{
  count: u32;
  latched_count: u16;
  count_latched: u8;
  status_latched: u8;
  status: u8;
  read_state: u8;
  write_state: u8;
  write_latch: u8;
  rw_mode: u8;
  mode: u8;
  bcd: u8;
  gate: u8;
  count_load_time: s64;
}> = struct("kvm_pit_channel_state", {
  count: u32,
  latched_count: u16,
  count_latched: u8,
  status_latched: u8,
  status: u8,
  read_state: u8,
  write_state: u8,
  write_latch: u8,
  rw_mode: u8,
  mode: u8,
  bcd: u8,
  gate: u8,
  count_load_time: s64,
});

/** `struct kvm_debug_exit_arch`: the x86 part of a KVM_EXIT_DEBUG exit. */
export const kvm_debug_exit_arch: RecordType<{
  exception: u32;
  pad: u32;
  pc: u64;
  dr6: u64;
  dr7: u64;
}> = struct("kvm_debug_exit_arch", {
  exception: u32,
  pad: u32,
  pc: u64,
  dr6: u64,
  dr7: u64,
});

/** `kvm_guest_debug.control`: use software breakpoints (INT3 exits). */
export const KVM_GUESTDBG_USE_SW_BP = 0x00010000;
/** `kvm_guest_debug.control`: use the debug registers in `arch.debugreg`. */
export const KVM_GUESTDBG_USE_HW_BP = 0x00020000;
/** `kvm_guest_debug.control`: inject `#DB` into the guest. */
export const KVM_GUESTDBG_INJECT_DB = 0x00040000;
/** `kvm_guest_debug.control`: inject `#BP` into the guest. */
export const KVM_GUESTDBG_INJECT_BP = 0x00080000;
/** `kvm_guest_debug.control`: block interrupts while single-stepping. */
export const KVM_GUESTDBG_BLOCKIRQ = 0x00100000;

/** `struct kvm_guest_debug_arch`: DR0..DR7 for KVM_SET_GUEST_DEBUG. */
export const kvm_guest_debug_arch: RecordType<{
  debugreg: ArrayType<u64>;
}> = struct("kvm_guest_debug_arch", {
  debugreg: array(u64, 8),
});

/** `struct kvm_pit_state` (KVM_GET_PIT / KVM_SET_PIT). */
export const kvm_pit_state: RecordType<{
  channels: ArrayType<typeof kvm_pit_channel_state>;
}> = struct("kvm_pit_state", {
  channels: array(kvm_pit_channel_state, 3),
});

/** `kvm_pit_state2.flags`: the HPET is in legacy replacement mode. */
export const KVM_PIT_FLAGS_HPET_LEGACY = 0x00000001;
/** `kvm_pit_state2.flags`: the speaker data line is on. */
export const KVM_PIT_FLAGS_SPEAKER_DATA_ON = 0x00000002;

/** `struct kvm_pit_state2` (KVM_GET_PIT2 / KVM_SET_PIT2). */
export const kvm_pit_state2: RecordType<{
  channels: ArrayType<typeof kvm_pit_channel_state>;
  flags: u32;
  reserved: ArrayType<u32>;
}> = struct("kvm_pit_state2", {
  channels: array(kvm_pit_channel_state, 3),
  flags: u32,
  reserved: array(u32, 9),
});

/** `struct kvm_reinject_control` (KVM_REINJECT_CONTROL). */
export const kvm_reinject_control: RecordType<{
  pit_reinject: u8;
  reserved: ArrayType<u8>;
}> = struct("kvm_reinject_control", {
  pit_reinject: u8,
  reserved: array(u8, 31),
});

/** `kvm_vcpu_events.flags`: `nmi.pending` is valid. */
export const KVM_VCPUEVENT_VALID_NMI_PENDING = 0x00000001;
/** `kvm_vcpu_events.flags`: `sipi_vector` is valid. */
export const KVM_VCPUEVENT_VALID_SIPI_VECTOR = 0x00000002;
/** `kvm_vcpu_events.flags`: `interrupt.shadow` is valid. */
export const KVM_VCPUEVENT_VALID_SHADOW = 0x00000004;
/** `kvm_vcpu_events.flags`: `smi` is valid. */
export const KVM_VCPUEVENT_VALID_SMM = 0x00000008;
/** `kvm_vcpu_events.flags`: the exception payload fields are valid. */
export const KVM_VCPUEVENT_VALID_PAYLOAD = 0x00000010;
/** `kvm_vcpu_events.flags`: `triple_fault` is valid. */
export const KVM_VCPUEVENT_VALID_TRIPLE_FAULT = 0x00000020;

/** `kvm_vcpu_events.interrupt.shadow`: blocked by MOV SS. */
export const KVM_X86_SHADOW_INT_MOV_SS = 0x01;
/** `kvm_vcpu_events.interrupt.shadow`: blocked by STI. */
export const KVM_X86_SHADOW_INT_STI = 0x02;

/** `struct kvm_vcpu_events`: pending and injected events (KVM_GET_VCPU_EVENTS / KVM_SET_VCPU_EVENTS). */
export const kvm_vcpu_events: RecordType<{
  exception: RecordType<{
    injected: u8;
    nr: u8;
    has_error_code: u8;
    pending: u8;
    error_code: u32;
  }>;
  interrupt: RecordType<{ injected: u8; nr: u8; soft: u8; shadow: u8 }>;
  nmi: RecordType<{ injected: u8; pending: u8; masked: u8; pad: u8 }>;
  sipi_vector: u32;
  flags: u32;
  smi: RecordType<{
    smm: u8;
    pending: u8;
    smm_inside_nmi: u8;
    latched_init: u8;
  }>;
  triple_fault: RecordType<{ pending: u8 }>;
  reserved: ArrayType<u8>;
  exception_has_payload: u8;
  exception_payload: u64;
}> = struct("kvm_vcpu_events", {
  exception: struct("", {
    injected: u8,
    nr: u8,
    has_error_code: u8,
    pending: u8,
    error_code: u32,
  }),
  interrupt: struct("", { injected: u8, nr: u8, soft: u8, shadow: u8 }),
  nmi: struct("", { injected: u8, pending: u8, masked: u8, pad: u8 }),
  sipi_vector: u32,
  flags: u32,
  smi: struct("", {
    smm: u8,
    pending: u8,
    smm_inside_nmi: u8,
    latched_init: u8,
  }),
  triple_fault: struct("", { pending: u8 }),
  reserved: array(u8, 26),
  exception_has_payload: u8,
  exception_payload: u64,
});

/** `struct kvm_debugregs`: DR0..DR3, DR6, DR7 (KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS). */
export const kvm_debugregs: RecordType<{
  db: ArrayType<u64>;
  dr6: u64;
  dr7: u64;
  flags: u64;
  reserved: ArrayType<u64>;
}> = struct("kvm_debugregs", {
  db: array(u64, 4),
  dr6: u64,
  dr7: u64,
  flags: u64,
  reserved: array(u64, 9),
});

/**
 * `struct kvm_xsave`: the XSAVE area (KVM_GET_XSAVE, KVM_GET_XSAVE2,
 * KVM_SET_XSAVE). The fixed part is 4096 bytes; KVM_GET_XSAVE2 fills as
 * many as `KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2)` reports, so allocate
 * `alloc((size - 4096) / 4)`.
 */
export const kvm_xsave: RecordType<{
  region: ArrayType<u32>;
  extra: ArrayType<u32>;
}> = struct("kvm_xsave", {
  region: array(u32, 1024),
  extra: flex(u32),
});

/** Entries in `kvm_xcrs.xcrs`. */
export const KVM_MAX_XCRS = 16;

/** `struct kvm_xcr`: one extended control register. */
export const kvm_xcr: RecordType<{
  xcr: u32;
  reserved: u32;
  value: u64;
}> = struct("kvm_xcr", {
  xcr: u32,
  reserved: u32,
  value: u64,
});

/** `struct kvm_xcrs` (KVM_GET_XCRS / KVM_SET_XCRS). */
export const kvm_xcrs: RecordType<{
  nr_xcrs: u32;
  flags: u32;
  xcrs: ArrayType<typeof kvm_xcr>;
  padding: ArrayType<u64>;
}> = struct("kvm_xcrs", {
  nr_xcrs: u32,
  flags: u32,
  xcrs: array(kvm_xcr, KVM_MAX_XCRS),
  padding: array(u64, 16),
});

/** KVM_GET_ONE_REG register type: an MSR. */
export const KVM_X86_REG_TYPE_MSR = 2;
/** KVM_GET_ONE_REG register type: a KVM-defined register. */
export const KVM_X86_REG_TYPE_KVM = 3;
/** KVM-defined register: the guest shadow stack pointer. */
export const KVM_REG_GUEST_SSP = 0;

// KVM_REG_X86 and KVM_REG_SIZE_U64 of <linux/kvm.h>, which imports this module.
const REG_X86 = 0x2000000000000000n;
const REG_SIZE_U64 = 0x0030000000000000n;

/** `KVM_X86_KVM_REG_SIZE(reg)`: the size field of a KVM-defined register id. */
export function KVM_X86_KVM_REG_SIZE(reg: number): bigint {
  return reg === KVM_REG_GUEST_SSP ? REG_SIZE_U64 : 0n;
}

/** `KVM_X86_REG_TYPE_SIZE(type, reg)`: type and size fields of an x86 register id. */
export function KVM_X86_REG_TYPE_SIZE(type: number, reg: number): bigint {
  const size = type === KVM_X86_REG_TYPE_MSR
    ? REG_SIZE_U64
    : type === KVM_X86_REG_TYPE_KVM
    ? KVM_X86_KVM_REG_SIZE(reg)
    : 0n;
  return (BigInt(type) << 32n) | size;
}

/** `KVM_X86_REG_ID(type, index)`: a KVM_GET_ONE_REG / KVM_SET_ONE_REG id. */
export function KVM_X86_REG_ID(type: number, index: number): bigint {
  return REG_X86 | KVM_X86_REG_TYPE_SIZE(type, index) | BigInt(index);
}

/** `KVM_X86_REG_MSR(index)`: the ONE_REG id of an MSR. */
export function KVM_X86_REG_MSR(index: number): bigint {
  return KVM_X86_REG_ID(KVM_X86_REG_TYPE_MSR, index);
}

/** `KVM_X86_REG_KVM(index)`: the ONE_REG id of a KVM-defined register. */
export function KVM_X86_REG_KVM(index: number): bigint {
  return KVM_X86_REG_ID(KVM_X86_REG_TYPE_KVM, index);
}

/** `kvm_valid_regs` / `kvm_dirty_regs` bit: `s.regs.regs`. */
export const KVM_SYNC_X86_REGS: bigint = 1n << 0n;
/** `kvm_valid_regs` / `kvm_dirty_regs` bit: `s.regs.sregs`. */
export const KVM_SYNC_X86_SREGS: bigint = 1n << 1n;
/** `kvm_valid_regs` / `kvm_dirty_regs` bit: `s.regs.events`. */
export const KVM_SYNC_X86_EVENTS: bigint = 1n << 2n;
/** Every sync-regs bit. */
export const KVM_SYNC_X86_VALID_FIELDS: bigint = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS |
  KVM_SYNC_X86_EVENTS;

/** `struct kvm_sync_regs`: the register state shared in `kvm_run.s` (KVM_CAP_SYNC_REGS). */
export const kvm_sync_regs: RecordType<{
  regs: typeof kvm_regs;
  sregs: typeof kvm_sregs;
  events: typeof kvm_vcpu_events;
}> = struct("kvm_sync_regs", {
  regs: kvm_regs,
  sregs: kvm_sregs,
  events: kvm_vcpu_events,
});

/** Quirk: LINT0 is re-enabled on APIC reset. */
export const KVM_X86_QUIRK_LINT0_REENABLED: number = 1 << 0;
/** Quirk: CR0.CD and CR0.NW are cleared at reset. */
export const KVM_X86_QUIRK_CD_NW_CLEARED: number = 1 << 1;
/** Quirk: the APIC MMIO page stays accessible when the APIC is disabled. */
export const KVM_X86_QUIRK_LAPIC_MMIO_HOLE: number = 1 << 2;
/** Quirk: `OUT 0x7e` advances RIP. */
export const KVM_X86_QUIRK_OUT_7E_INC_RIP: number = 1 << 3;
/** Quirk: MSR_IA32_MISC_ENABLE hides MWAIT. */
export const KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT: number = 1 << 4;
/** Quirk: the hypercall instruction is patched to the host's. */
export const KVM_X86_QUIRK_FIX_HYPERCALL_INSN: number = 1 << 5;
/** Quirk: MONITOR/MWAIT never raise `#UD`. */
export const KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS: number = 1 << 6;
/** Quirk: deleting a memslot zaps every SPTE. */
export const KVM_X86_QUIRK_SLOT_ZAP_ALL: number = 1 << 7;
/** Quirk: feature MSRs are stuffed from CPUID. */
export const KVM_X86_QUIRK_STUFF_FEATURE_MSRS: number = 1 << 8;
/** Quirk: the guest PAT is ignored. */
export const KVM_X86_QUIRK_IGNORE_GUEST_PAT: number = 1 << 9;
/** Quirk: VMCS12 freeze-in-SMM consistency check. */
export const KVM_X86_QUIRK_VMCS12_FREEZE_IN_SMM_CC: number = 1 << 10;

/** `kvm_nested_state.format`: VMX. */
export const KVM_STATE_NESTED_FORMAT_VMX = 0;
/** `kvm_nested_state.format`: SVM. */
export const KVM_STATE_NESTED_FORMAT_SVM = 1;
/** `kvm_nested_state.flags`: L2 is running. */
export const KVM_STATE_NESTED_GUEST_MODE = 0x00000001;
/** `kvm_nested_state.flags`: a nested VM-entry is pending. */
export const KVM_STATE_NESTED_RUN_PENDING = 0x00000002;
/** `kvm_nested_state.flags`: enlightened VMCS in use. */
export const KVM_STATE_NESTED_EVMCS = 0x00000004;
/** `kvm_nested_state.flags`: a monitor trap flag exit is pending. */
export const KVM_STATE_NESTED_MTF_PENDING = 0x00000008;
/** `kvm_nested_state.flags`: SVM GIF is set. */
export const KVM_STATE_NESTED_GIF_SET = 0x00000100;
/** `kvm_vmx_nested_state_hdr.smm.flags`: SMM entered from L2. */
export const KVM_STATE_NESTED_SMM_GUEST_MODE = 0x00000001;
/** `kvm_vmx_nested_state_hdr.smm.flags`: SMM entered in VMX operation. */
export const KVM_STATE_NESTED_SMM_VMXON = 0x00000002;
/** Bytes of a VMCS12 in the nested state. */
export const KVM_STATE_NESTED_VMX_VMCS_SIZE = 0x1000;
/** Bytes of a VMCB12 in the nested state. */
export const KVM_STATE_NESTED_SVM_VMCB_SIZE = 0x1000;
/** `kvm_vmx_nested_state_hdr.flags`: `preemption_timer_deadline` is valid. */
export const KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE = 0x00000001;

/** `/dev/kvm` attribute group 0: attributes every x86 host answers, AMD or Intel. */
export const KVM_X86_GRP_SYSTEM = 0;
/** Attribute of `KVM_X86_GRP_SYSTEM`: XSAVE components the guest may use. */
export const KVM_X86_XCOMP_GUEST_SUPP = 0;
/** `/dev/kvm` attribute group 1: AMD SEV limits (VMSA features, SNP policy). */
export const KVM_X86_GRP_SEV = 1;
/** Attribute of `KVM_X86_GRP_SEV`: supported VMSA features. */
export const KVM_X86_SEV_VMSA_FEATURES = 0;
/** Attribute of `KVM_X86_GRP_SEV`: supported SNP policy bits. */
export const KVM_X86_SNP_POLICY_BITS = 1;
/** Attribute of `KVM_X86_GRP_SEV`: SNP certificate requests supported. */
export const KVM_X86_SEV_SNP_REQ_CERTS = 2;

/** `struct kvm_vmx_nested_state_data`: VMCS12 and shadow VMCS12. */
export const kvm_vmx_nested_state_data: RecordType<{
  vmcs12: ArrayType<u8>;
  shadow_vmcs12: ArrayType<u8>;
}> = struct("kvm_vmx_nested_state_data", {
  vmcs12: array(u8, KVM_STATE_NESTED_VMX_VMCS_SIZE),
  shadow_vmcs12: array(u8, KVM_STATE_NESTED_VMX_VMCS_SIZE),
});

/** `struct kvm_vmx_nested_state_hdr`. */
export const kvm_vmx_nested_state_hdr: RecordType<{
  vmxon_pa: u64;
  vmcs12_pa: u64;
  smm: RecordType<{ flags: u16 }>;
  pad: u16;
  flags: u32;
  preemption_timer_deadline: u64;
}> = struct("kvm_vmx_nested_state_hdr", {
  vmxon_pa: u64,
  vmcs12_pa: u64,
  smm: struct("", { flags: u16 }),
  pad: u16,
  flags: u32,
  preemption_timer_deadline: u64,
});

/** `struct kvm_svm_nested_state_data`: VMCB12. */
export const kvm_svm_nested_state_data: RecordType<{
  vmcb12: ArrayType<u8>;
}> = struct("kvm_svm_nested_state_data", {
  vmcb12: array(u8, KVM_STATE_NESTED_SVM_VMCB_SIZE),
});

/** `struct kvm_svm_nested_state_hdr`. */
export const kvm_svm_nested_state_hdr: RecordType<{
  vmcb_pa: u64;
}> = struct("kvm_svm_nested_state_hdr", {
  vmcb_pa: u64,
});

/**
 * `struct kvm_nested_state` (KVM_GET_NESTED_STATE / KVM_SET_NESTED_STATE),
 * header only: C ends it with `data`, a union of flexible arrays that the
 * engine cannot express; the VMX or SVM data starts at `sizeof` (128) and
 * `size` counts it.
 */
export const kvm_nested_state: RecordType<{
  flags: u16;
  format: u16;
  size: u32;
  hdr: RecordType<{
    vmx: typeof kvm_vmx_nested_state_hdr;
    svm: typeof kvm_svm_nested_state_hdr;
    pad: ArrayType<u8>;
  }>;
}> = struct("kvm_nested_state", {
  flags: u16,
  format: u16,
  size: u32,
  hdr: union("", {
    vmx: kvm_vmx_nested_state_hdr,
    svm: kvm_svm_nested_state_hdr,
    pad: array(u8, 120),
  }),
});

/** `struct kvm_pmu_event_filter` (KVM_SET_PMU_EVENT_FILTER); allocate with `alloc(nevents)`. */
export const kvm_pmu_event_filter: RecordType<{
  action: u32;
  nevents: u32;
  fixed_counter_bitmap: u32;
  flags: u32;
  pad: ArrayType<u32>;
  events: ArrayType<u64>;
}> = struct("kvm_pmu_event_filter", {
  action: u32,
  nevents: u32,
  fixed_counter_bitmap: u32,
  flags: u32,
  pad: array(u32, 4),
  events: flex(u64),
});

/** `kvm_pmu_event_filter.action`: the listed events are allowed. */
export const KVM_PMU_EVENT_ALLOW = 0;
/** `kvm_pmu_event_filter.action`: the listed events are denied. */
export const KVM_PMU_EVENT_DENY = 1;
/** `kvm_pmu_event_filter.flags`: `events` holds masked entries. */
export const KVM_PMU_EVENT_FLAG_MASKED_EVENTS: number = 1 << 0;
/** Flags a PMU event filter may carry. */
export const KVM_PMU_EVENT_FLAGS_VALID_MASK: number = KVM_PMU_EVENT_FLAG_MASKED_EVENTS;

/** `KVM_PMU_ENCODE_MASKED_ENTRY(event_select, mask, match, exclude)`: one masked filter entry. */
export function KVM_PMU_ENCODE_MASKED_ENTRY(
  event_select: bigint,
  mask: bigint,
  match: bigint,
  exclude: boolean,
): bigint {
  return (event_select & 0xffn) | ((event_select & 0xf00n) << 24n) | ((mask & 0xffn) << 56n) |
    ((match & 0xffn) << 8n) | ((exclude ? 1n : 0n) << 55n);
}

/** Masked entry: the event select bits (7:0 and 35:32). */
export const KVM_PMU_MASKED_ENTRY_EVENT_SELECT = 0xf000000ffn;
/** Masked entry: the unit-mask mask (63:56). */
export const KVM_PMU_MASKED_ENTRY_UMASK_MASK = 0xff00000000000000n;
/** Masked entry: the unit-mask match (15:8). */
export const KVM_PMU_MASKED_ENTRY_UMASK_MATCH = 0xff00n;
/** Masked entry: the exclude bit (55). */
export const KVM_PMU_MASKED_ENTRY_EXCLUDE: bigint = 1n << 55n;
/** Masked entry: where the unit-mask mask starts. */
export const KVM_PMU_MASKED_ENTRY_UMASK_MASK_SHIFT = 56;

/** `struct kvm_x86_mce`: a machine check to inject (KVM_X86_SET_MCE). */
export const kvm_x86_mce: RecordType<{
  status: u64;
  addr: u64;
  misc: u64;
  mcg_status: u64;
  bank: u8;
  pad1: ArrayType<u8>;
  pad2: ArrayType<u64>;
}> = struct("kvm_x86_mce", {
  status: u64,
  addr: u64,
  misc: u64,
  mcg_status: u64,
  bank: u8,
  pad1: array(u8, 7),
  pad2: array(u64, 3),
});

/** `kvm_xen_hvm_config.flags`: the hypercall page MSR is set up. */
export const KVM_XEN_HVM_CONFIG_HYPERCALL_MSR: number = 1 << 0;
/** `kvm_xen_hvm_config.flags`: Xen hypercalls exit to userspace. */
export const KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL: number = 1 << 1;
/** Xen capability: shared info page. */
export const KVM_XEN_HVM_CONFIG_SHARED_INFO: number = 1 << 2;
/** Xen capability: runstate area. */
export const KVM_XEN_HVM_CONFIG_RUNSTATE: number = 1 << 3;
/** Xen capability: 2-level event channels. */
export const KVM_XEN_HVM_CONFIG_EVTCHN_2LEVEL: number = 1 << 4;
/** Xen capability: KVM_XEN_HVM_EVTCHN_SEND. */
export const KVM_XEN_HVM_CONFIG_EVTCHN_SEND: number = 1 << 5;
/** Xen capability: runstate update flag. */
export const KVM_XEN_HVM_CONFIG_RUNSTATE_UPDATE_FLAG: number = 1 << 6;
/** Xen capability: pvclock TSC marked unstable. */
export const KVM_XEN_HVM_CONFIG_PVCLOCK_TSC_UNSTABLE: number = 1 << 7;
/** Xen capability: shared info by host virtual address. */
export const KVM_XEN_HVM_CONFIG_SHARED_INFO_HVA: number = 1 << 8;

/** `struct kvm_xen_hvm_config` (KVM_XEN_HVM_CONFIG). */
export const kvm_xen_hvm_config: RecordType<{
  flags: u32;
  msr: u32;
  blob_addr_32: u64;
  blob_addr_64: u64;
  blob_size_32: u8;
  blob_size_64: u8;
  pad2: ArrayType<u8>;
}> = struct("kvm_xen_hvm_config", {
  flags: u32,
  msr: u32,
  blob_addr_32: u64,
  blob_addr_64: u64,
  blob_size_32: u8,
  blob_size_64: u8,
  pad2: array(u8, 30),
});

/** Secure Encrypted Virtualization commands (`enum sev_cmd_id`), for `kvm_sev_cmd.id`. */
export const KVM_SEV_INIT = 0;
/** SEV command. */
export const KVM_SEV_ES_INIT = 1;
/** SEV command. */
export const KVM_SEV_LAUNCH_START = 2;
/** SEV command. */
export const KVM_SEV_LAUNCH_UPDATE_DATA = 3;
/** SEV command. */
export const KVM_SEV_LAUNCH_UPDATE_VMSA = 4;
/** SEV command. */
export const KVM_SEV_LAUNCH_SECRET = 5;
/** SEV command. */
export const KVM_SEV_LAUNCH_MEASURE = 6;
/** SEV command. */
export const KVM_SEV_LAUNCH_FINISH = 7;
/** SEV command. */
export const KVM_SEV_SEND_START = 8;
/** SEV command. */
export const KVM_SEV_SEND_UPDATE_DATA = 9;
/** SEV command. */
export const KVM_SEV_SEND_UPDATE_VMSA = 10;
/** SEV command. */
export const KVM_SEV_SEND_FINISH = 11;
/** SEV command. */
export const KVM_SEV_RECEIVE_START = 12;
/** SEV command. */
export const KVM_SEV_RECEIVE_UPDATE_DATA = 13;
/** SEV command. */
export const KVM_SEV_RECEIVE_UPDATE_VMSA = 14;
/** SEV command. */
export const KVM_SEV_RECEIVE_FINISH = 15;
/** SEV command. */
export const KVM_SEV_GUEST_STATUS = 16;
/** SEV command. */
export const KVM_SEV_DBG_DECRYPT = 17;
/** SEV command. */
export const KVM_SEV_DBG_ENCRYPT = 18;
/** SEV command. */
export const KVM_SEV_CERT_EXPORT = 19;
/** SEV command. */
export const KVM_SEV_GET_ATTESTATION_REPORT = 20;
/** SEV command. */
export const KVM_SEV_SEND_CANCEL = 21;
/** SEV command: the newer INIT, with `struct kvm_sev_init`. */
export const KVM_SEV_INIT2 = 22;
/** SEV-SNP command. */
export const KVM_SEV_SNP_LAUNCH_START = 100;
/** SEV-SNP command. */
export const KVM_SEV_SNP_LAUNCH_UPDATE = 101;
/** SEV-SNP command. */
export const KVM_SEV_SNP_LAUNCH_FINISH = 102;
/** SEV-SNP command. */
export const KVM_SEV_SNP_ENABLE_REQ_CERTS = 103;
/** One past the last SEV command. */
export const KVM_SEV_NR_MAX = 104;

/** `struct kvm_sev_cmd`: the KVM_MEMORY_ENCRYPT_OP argument on an SEV VM. */
export const kvm_sev_cmd: RecordType<{
  id: u32;
  pad0: u32;
  data: u64;
  error: u32;
  sev_fd: u32;
}> = struct("kvm_sev_cmd", {
  id: u32,
  pad0: u32,
  data: u64,
  error: u32,
  sev_fd: u32,
});

/** `struct kvm_sev_init` (KVM_SEV_INIT2). */
export const kvm_sev_init: RecordType<{
  vmsa_features: u64;
  flags: u32;
  ghcb_version: u16;
  pad1: u16;
  pad2: ArrayType<u32>;
}> = struct("kvm_sev_init", {
  vmsa_features: u64,
  flags: u32,
  ghcb_version: u16,
  pad1: u16,
  pad2: array(u32, 8),
});

/** `struct kvm_sev_launch_start`. */
export const kvm_sev_launch_start: RecordType<{
  handle: u32;
  policy: u32;
  dh_uaddr: u64;
  dh_len: u32;
  pad0: u32;
  session_uaddr: u64;
  session_len: u32;
  pad1: u32;
}> = struct("kvm_sev_launch_start", {
  handle: u32,
  policy: u32,
  dh_uaddr: u64,
  dh_len: u32,
  pad0: u32,
  session_uaddr: u64,
  session_len: u32,
  pad1: u32,
});

/** `struct kvm_sev_launch_update_data`. */
export const kvm_sev_launch_update_data: RecordType<{
  uaddr: u64;
  len: u32;
  pad0: u32;
}> = struct("kvm_sev_launch_update_data", {
  uaddr: u64,
  len: u32,
  pad0: u32,
});

/** `struct kvm_sev_launch_secret`. */
export const kvm_sev_launch_secret: RecordType<{
  hdr_uaddr: u64;
  hdr_len: u32;
  pad0: u32;
  guest_uaddr: u64;
  guest_len: u32;
  pad1: u32;
  trans_uaddr: u64;
  trans_len: u32;
  pad2: u32;
}> = struct("kvm_sev_launch_secret", {
  hdr_uaddr: u64,
  hdr_len: u32,
  pad0: u32,
  guest_uaddr: u64,
  guest_len: u32,
  pad1: u32,
  trans_uaddr: u64,
  trans_len: u32,
  pad2: u32,
});

/** `struct kvm_sev_launch_measure`. */
export const kvm_sev_launch_measure: RecordType<{
  uaddr: u64;
  len: u32;
  pad0: u32;
}> = struct("kvm_sev_launch_measure", {
  uaddr: u64,
  len: u32,
  pad0: u32,
});

/** `struct kvm_sev_guest_status`. */
export const kvm_sev_guest_status: RecordType<{
  handle: u32;
  policy: u32;
  state: u32;
}> = struct("kvm_sev_guest_status", {
  handle: u32,
  policy: u32,
  state: u32,
});

/** `struct kvm_sev_dbg`. */
export const kvm_sev_dbg: RecordType<{
  src_uaddr: u64;
  dst_uaddr: u64;
  len: u32;
  pad0: u32;
}> = struct("kvm_sev_dbg", {
  src_uaddr: u64,
  dst_uaddr: u64,
  len: u32,
  pad0: u32,
});

/** `struct kvm_sev_attestation_report`. */
export const kvm_sev_attestation_report: RecordType<{
  mnonce: ArrayType<u8>;
  uaddr: u64;
  len: u32;
  pad0: u32;
}> = struct("kvm_sev_attestation_report", {
  mnonce: array(u8, 16),
  uaddr: u64,
  len: u32,
  pad0: u32,
});

/** `struct kvm_sev_send_start`. */
export const kvm_sev_send_start: RecordType<{
  policy: u32;
  pad0: u32;
  pdh_cert_uaddr: u64;
  pdh_cert_len: u32;
  pad1: u32;
  plat_certs_uaddr: u64;
  plat_certs_len: u32;
  pad2: u32;
  amd_certs_uaddr: u64;
  amd_certs_len: u32;
  pad3: u32;
  session_uaddr: u64;
  session_len: u32;
  pad4: u32;
}> = struct("kvm_sev_send_start", {
  policy: u32,
  pad0: u32,
  pdh_cert_uaddr: u64,
  pdh_cert_len: u32,
  pad1: u32,
  plat_certs_uaddr: u64,
  plat_certs_len: u32,
  pad2: u32,
  amd_certs_uaddr: u64,
  amd_certs_len: u32,
  pad3: u32,
  session_uaddr: u64,
  session_len: u32,
  pad4: u32,
});

/** `struct kvm_sev_send_update_data`. */
export const kvm_sev_send_update_data: RecordType<{
  hdr_uaddr: u64;
  hdr_len: u32;
  pad0: u32;
  guest_uaddr: u64;
  guest_len: u32;
  pad1: u32;
  trans_uaddr: u64;
  trans_len: u32;
  pad2: u32;
}> = struct("kvm_sev_send_update_data", {
  hdr_uaddr: u64,
  hdr_len: u32,
  pad0: u32,
  guest_uaddr: u64,
  guest_len: u32,
  pad1: u32,
  trans_uaddr: u64,
  trans_len: u32,
  pad2: u32,
});

/** `struct kvm_sev_receive_start`. */
export const kvm_sev_receive_start: RecordType<{
  handle: u32;
  policy: u32;
  pdh_uaddr: u64;
  pdh_len: u32;
  pad0: u32;
  session_uaddr: u64;
  session_len: u32;
  pad1: u32;
}> = struct("kvm_sev_receive_start", {
  handle: u32,
  policy: u32,
  pdh_uaddr: u64,
  pdh_len: u32,
  pad0: u32,
  session_uaddr: u64,
  session_len: u32,
  pad1: u32,
});

/** `struct kvm_sev_receive_update_data`. */
export const kvm_sev_receive_update_data: RecordType<{
  hdr_uaddr: u64;
  hdr_len: u32;
  pad0: u32;
  guest_uaddr: u64;
  guest_len: u32;
  pad1: u32;
  trans_uaddr: u64;
  trans_len: u32;
  pad2: u32;
}> = struct("kvm_sev_receive_update_data", {
  hdr_uaddr: u64,
  hdr_len: u32,
  pad0: u32,
  guest_uaddr: u64,
  guest_len: u32,
  pad1: u32,
  trans_uaddr: u64,
  trans_len: u32,
  pad2: u32,
});

/** `struct kvm_sev_snp_launch_start`. */
export const kvm_sev_snp_launch_start: RecordType<{
  policy: u64;
  gosvw: ArrayType<u8>;
  flags: u16;
  pad0: ArrayType<u8>;
  pad1: ArrayType<u64>;
}> = struct("kvm_sev_snp_launch_start", {
  policy: u64,
  gosvw: array(u8, 16),
  flags: u16,
  pad0: array(u8, 6),
  pad1: array(u64, 4),
});

/** SNP page type: invalid. */
export const KVM_SEV_PAGE_TYPE_INVALID = 0x0;
/** SNP page type: normal, measured. */
export const KVM_SEV_SNP_PAGE_TYPE_NORMAL = 0x1;
/** SNP page type: zero. */
export const KVM_SEV_SNP_PAGE_TYPE_ZERO = 0x3;
/** SNP page type: unmeasured. */
export const KVM_SEV_SNP_PAGE_TYPE_UNMEASURED = 0x4;
/** SNP page type: secrets page. */
export const KVM_SEV_SNP_PAGE_TYPE_SECRETS = 0x5;
/** SNP page type: CPUID page. */
export const KVM_SEV_SNP_PAGE_TYPE_CPUID = 0x6;

/** `struct kvm_sev_snp_launch_update`. */
export const kvm_sev_snp_launch_update: RecordType<{
  gfn_start: u64;
  uaddr: u64;
  len: u64;
  type: u8;
  pad0: u8;
  flags: u16;
  pad1: u32;
  pad2: ArrayType<u64>;
}> = struct("kvm_sev_snp_launch_update", {
  gfn_start: u64,
  uaddr: u64,
  len: u64,
  type: u8,
  pad0: u8,
  flags: u16,
  pad1: u32,
  pad2: array(u64, 4),
});

/** Bytes of an SNP ID block. */
export const KVM_SEV_SNP_ID_BLOCK_SIZE = 96;
/** Bytes of an SNP ID authentication block. */
export const KVM_SEV_SNP_ID_AUTH_SIZE = 4096;
/** Bytes of `kvm_sev_snp_launch_finish.host_data`. */
export const KVM_SEV_SNP_FINISH_DATA_SIZE = 32;

/** `struct kvm_sev_snp_launch_finish`. */
export const kvm_sev_snp_launch_finish: RecordType<{
  id_block_uaddr: u64;
  id_auth_uaddr: u64;
  id_block_en: u8;
  auth_key_en: u8;
  vcek_disabled: u8;
  host_data: ArrayType<u8>;
  pad0: ArrayType<u8>;
  flags: u16;
  pad1: ArrayType<u64>;
}> = struct("kvm_sev_snp_launch_finish", {
  id_block_uaddr: u64,
  id_auth_uaddr: u64,
  id_block_en: u8,
  auth_key_en: u8,
  vcek_disabled: u8,
  host_data: array(u8, KVM_SEV_SNP_FINISH_DATA_SIZE),
  pad0: array(u8, 3),
  flags: u16,
  pad1: array(u64, 4),
});

/** KVM_CAP_X2APIC_API argument: x2APIC ids are 32 bits wide in routes and MSIs. */
export const KVM_X2APIC_API_USE_32BIT_IDS: number = 1 << 0;
/** KVM_CAP_X2APIC_API argument: 0xff is not an x2APIC broadcast. */
export const KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK: number = 1 << 1;
/** KVM_CAP_X2APIC_API argument: let the guest suppress EOI broadcasts. */
export const KVM_X2APIC_ENABLE_SUPPRESS_EOI_BROADCAST: number = 1 << 2;
/** KVM_CAP_X2APIC_API argument: never suppress EOI broadcasts. */
export const KVM_X2APIC_DISABLE_SUPPRESS_EOI_BROADCAST: number = 1 << 3;

/** `struct kvm_hyperv_eventfd` (KVM_HYPERV_EVENTFD). */
export const kvm_hyperv_eventfd: RecordType<{
  conn_id: u32;
  fd: s32;
  flags: u32;
  padding: ArrayType<u32>;
}> = struct("kvm_hyperv_eventfd", {
  conn_id: u32,
  fd: s32,
  flags: u32,
  padding: array(u32, 3),
});

/** Bits of a Hyper-V connection id. */
export const KVM_HYPERV_CONN_ID_MASK = 0x00ffffff;
/** `kvm_hyperv_eventfd.flags`: remove the eventfd. */
export const KVM_HYPERV_EVENTFD_DEASSIGN: number = 1 << 0;

/** vCPU-fd attribute group 0 (KVM_{GET,SET,HAS}_DEVICE_ATTR): per-vCPU TSC controls. */
export const KVM_VCPU_TSC_CTRL = 0;
/** In `KVM_VCPU_TSC_CTRL`: the u64 KVM adds to the (scaled) host TSC to form this vCPU's TSC. */
export const KVM_VCPU_TSC_OFFSET = 0;

/** `kvm_run.hypercall.flags`: the guest was in 64-bit mode. */
export const KVM_EXIT_HYPERCALL_LONG_MODE: bigint = 1n << 0n;

/** VM type (KVM_CREATE_VM argument): a normal VM. */
export const KVM_X86_DEFAULT_VM = 0;
/** VM type: software-protected VM (guest_memfd without hardware encryption). */
export const KVM_X86_SW_PROTECTED_VM = 1;
/** VM type: AMD SEV. */
export const KVM_X86_SEV_VM = 2;
/** VM type: AMD SEV-ES. */
export const KVM_X86_SEV_ES_VM = 3;
/** VM type: AMD SEV-SNP. */
export const KVM_X86_SNP_VM = 4;
/** VM type: Intel TDX trust domain. */
export const KVM_X86_TDX_VM = 5;

/** TDX sub-command (`enum kvm_tdx_cmd_id`, VM fd): read what the TDX module supports. */
export const KVM_TDX_CAPABILITIES = 0;
/** TDX sub-command (VM fd): configure the TD (attributes, XFAM, CPUID). */
export const KVM_TDX_INIT_VM = 1;
/** TDX sub-command (vCPU fd): initialise a vCPU; `data` is its initial RCX. */
export const KVM_TDX_INIT_VCPU = 2;
/** TDX sub-command (vCPU fd): copy (and optionally measure) initial private memory. */
export const KVM_TDX_INIT_MEM_REGION = 3;
/** TDX sub-command (VM fd): finalise the measurement; the TD can run. */
export const KVM_TDX_FINALIZE_VM = 4;
/** TDX sub-command (vCPU fd): read the CPUID the TD sees. */
export const KVM_TDX_GET_CPUID = 5;
/** One past the last TDX sub-command. */
export const KVM_TDX_CMD_NR_MAX = 6;

/** `struct kvm_tdx_cmd`: the KVM_MEMORY_ENCRYPT_OP argument on a TDX VM or vCPU. */
export const kvm_tdx_cmd: RecordType<{
  id: u32;
  flags: u32;
  data: u64;
  hw_error: u64;
}> = struct("kvm_tdx_cmd", {
  id: u32,
  flags: u32,
  data: u64,
  hw_error: u64,
});

/**
 * `struct kvm_tdx_capabilities` (KVM_TDX_CAPABILITIES). It ends in a
 * `struct kvm_cpuid2` whose entries follow; allocate with `alloc(nent)` and
 * set `cpuid.nent`.
 */
export const kvm_tdx_capabilities: RecordType<{
  supported_attrs: u64;
  supported_xfam: u64;
  kernel_tdvmcallinfo_1_r11: u64;
  user_tdvmcallinfo_1_r11: u64;
  kernel_tdvmcallinfo_1_r12: u64;
  user_tdvmcallinfo_1_r12: u64;
  reserved: ArrayType<u64>;
  cpuid: typeof kvm_cpuid2;
}> = struct("kvm_tdx_capabilities", {
  supported_attrs: u64,
  supported_xfam: u64,
  kernel_tdvmcallinfo_1_r11: u64,
  user_tdvmcallinfo_1_r11: u64,
  kernel_tdvmcallinfo_1_r12: u64,
  user_tdvmcallinfo_1_r12: u64,
  reserved: array(u64, 250),
  cpuid: kvm_cpuid2,
});

/**
 * `struct kvm_tdx_init_vm` (KVM_TDX_INIT_VM): 256 bytes of TD parameters,
 * then the CPUID configuration; allocate with `alloc(nent)`.
 */
export const kvm_tdx_init_vm: RecordType<{
  attributes: u64;
  xfam: u64;
  mrconfigid: ArrayType<u64>;
  mrowner: ArrayType<u64>;
  mrownerconfig: ArrayType<u64>;
  reserved: ArrayType<u64>;
  cpuid: typeof kvm_cpuid2;
}> = struct("kvm_tdx_init_vm", {
  attributes: u64,
  xfam: u64,
  mrconfigid: array(u64, 6),
  mrowner: array(u64, 6),
  mrownerconfig: array(u64, 6),
  reserved: array(u64, 12),
  cpuid: kvm_cpuid2,
});

/** `kvm_tdx_cmd.flags` of KVM_TDX_INIT_MEM_REGION: extend the MRTD with the pages' contents. */
export const KVM_TDX_MEASURE_MEMORY_REGION: number = 1 << 0;

/** `struct kvm_tdx_init_mem_region` (KVM_TDX_INIT_MEM_REGION); the kernel writes back its progress. */
export const kvm_tdx_init_mem_region: RecordType<{
  source_addr: u64;
  gpa: u64;
  nr_pages: u64;
}> = struct("kvm_tdx_init_mem_region", {
  source_addr: u64,
  gpa: u64,
  nr_pages: u64,
});
