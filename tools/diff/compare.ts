// SPDX-License-Identifier: GPL-2.0-only
/**
 * Compares the records of one sequence replayed on two backends, call by
 * call: the return value (errno included) and the bytes of every output
 * struct, member by member. What legitimately differs between two correct
 * kernels is listed once, in {@linkcode EXEMPTIONS}, and applied here; the
 * list is kept short on purpose: everything else is a finding.
 *
 * @module
 */

import * as kvm from "../../include/linux/kvm.ts";
import type { RecordType } from "../../include/c/layout.ts";
import {
  type Call,
  cap_name,
  format_call,
  ioctl_name,
  is_struct,
  refs,
  ret_name,
} from "./sequence.ts";
import { type CallRecord, get_le, layout, REGS } from "./replay.ts";

/** One documented reason for two correct kernels to answer differently. */
export interface Exemption {
  /** Short name, used in reports. */
  readonly id: string;
  /** Which calls and fields it covers. */
  readonly what: string;
  /** Why they differ. */
  readonly why: string;
}

/** Capabilities whose KVM_CHECK_EXTENSION value reflects the host, not KVM's logic. */
export const HOST_CAPS: ReadonlySet<number> = new Set([
  kvm.KVM_CAP_NR_VCPUS, // min(num_online_cpus(), KVM_MAX_VCPUS)
  kvm.KVM_CAP_MAX_VCPUS, // CONFIG_KVM_MAX_NR_VCPUS
  kvm.KVM_CAP_MAX_VCPU_ID, // KVM_MAX_VCPU_IDS, from the same option
  kvm.KVM_CAP_TSC_CONTROL, // kvm_caps.has_tsc_control: VMX TSC scaling
  kvm.KVM_CAP_VM_TSC_CONTROL, // same
  kvm.KVM_CAP_TSC_DEADLINE_TIMER, // boot_cpu_has(X86_FEATURE_TSC_DEADLINE_TIMER)
  kvm.KVM_CAP_X86_DISABLE_EXITS, // MWAIT only where the host lets the guest MWAIT
  kvm.KVM_CAP_XSAVE2, // the host's XSAVE area size
  kvm.KVM_CAP_X86_BUS_LOCK_EXIT, // bus-lock detection in the CPU
  kvm.KVM_CAP_X86_NOTIFY_VMEXIT, // notify VM exits in the CPU
  kvm.KVM_CAP_SGX_ATTRIBUTE, // SGX on the host
  kvm.KVM_CAP_PMU_CAPABILITY, // enable_pmu module parameter
  kvm.KVM_CAP_MEMORY_ATTRIBUTES, // CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES
  kvm.KVM_CAP_MULTI_ADDRESS_SPACE, // CONFIG_KVM_SMM
  kvm.KVM_CAP_PRE_FAULT_MEMORY, // tdp_enabled: 0 on a shadow-paging host (kvm_pvm)
]);

/**
 * Capabilities the simulator reports as 0 because it lacks the feature
 * (docs/fidelity.md): advertising them would promise ioctls it cannot honour.
 * Also the AMD-only ones (SEV context copy/move: 0 on a VMX host) and
 * SMALLER_MAXPHYADDR (a module parameter). Any error is still compared.
 */
export const SIM_UNIMPLEMENTED_CAPS: ReadonlySet<number> = new Set([
  kvm.KVM_CAP_ASYNC_PF, // async page faults: no host paging to wait on
  kvm.KVM_CAP_ASYNC_PF_INT,
  kvm.KVM_CAP_CLOCKSOURCE, // kvmclock pages are never written
  kvm.KVM_CAP_KVMCLOCK_CTRL,
  kvm.KVM_CAP_STEAL_TIME,
  kvm.KVM_CAP_DEVICE_CTRL, // no KVM_CREATE_DEVICE
  kvm.KVM_CAP_IOEVENTFD, // no ioeventfd (eventfds exist: irqfd)
  kvm.KVM_CAP_IOEVENTFD_ANY_LENGTH,
  kvm.KVM_CAP_IOEVENTFD_NO_LENGTH,
  kvm.KVM_CAP_LAST_CPU,
  kvm.KVM_CAP_ONE_REG, // no KVM_GET/SET_ONE_REG
  kvm.KVM_CAP_PIT, // no in-kernel PIT
  kvm.KVM_CAP_PIT2,
  kvm.KVM_CAP_PIT_STATE2,
  kvm.KVM_CAP_REINJECT_CONTROL,
  kvm.KVM_CAP_PMU_EVENT_FILTER, // no PMU
  kvm.KVM_CAP_PMU_EVENT_MASKED_EVENTS,
  kvm.KVM_CAP_SET_GUEST_DEBUG, // no guest debugging
  kvm.KVM_CAP_SET_GUEST_DEBUG2,
  kvm.KVM_CAP_SREGS2, // no KVM_GET/SET_SREGS2
  kvm.KVM_CAP_SYS_ATTRIBUTES, // no device attributes
  kvm.KVM_CAP_VCPU_ATTRIBUTES,
  kvm.KVM_CAP_VAPIC, // no TPR access reporting / VAPIC page
  kvm.KVM_CAP_VM_DISABLE_NX_HUGE_PAGES, // no NX huge page mitigation
  kvm.KVM_CAP_VM_COPY_ENC_CONTEXT_FROM, // AMD SEV only: 0 on a VMX host
  kvm.KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM,
  kvm.KVM_CAP_SMALLER_MAXPHYADDR, // allow_smaller_maxphyaddr module parameter
]);

/**
 * VM type bits of KVM_CAP_VM_TYPES that depend on the host: SEV, SEV-ES, SNP
 * and TDX need the hardware, SW_PROTECTED needs CONFIG_KVM_SW_PROTECTED_VM
 * (a debug option distributions leave off; the simulator has it).
 */
export const HW_VM_TYPES_MASK: number = (1 << kvm.KVM_X86_SW_PROTECTED_VM) |
  (1 << kvm.KVM_X86_SEV_VM) | (1 << kvm.KVM_X86_SEV_ES_VM) | (1 << kvm.KVM_X86_SNP_VM) |
  (1 << kvm.KVM_X86_TDX_VM);

/** MSRs whose value is time- or host-dependent (their GET/SET *results* are still compared). */
export const HOST_MSRS: ReadonlySet<number> = new Set([
  0x10, // IA32_TSC: time
  0x8b, // IA32_UCODE_REV: host microcode
  0x10a, // IA32_ARCH_CAPABILITIES: host CPU's mitigations
  0xce, // MSR_PLATFORM_INFO: host CPU
  0x345, // IA32_PERF_CAPABILITIES: host PMU
  0x4b564d01, // MSR_KVM_SYSTEM_TIME_NEW: kvmclock
]);

/**
 * MSR value bits that depend on the CPU vendor or the kernel version,
 * cleared before comparing: IA32_MISC_ENABLE's BTS_UNAVAIL and PEBS_UNAVAIL
 * (bits 11, 12) are set by intel_pmu_refresh() only, an AMD host reports the
 * common reset value alone; FAST_STRING (bit 0) is set at reset by 6.18's
 * kvm_vcpu_reset() and not by the kvm-x86 the simulator follows (e8f3b63).
 */
export const VENDOR_MSR_BITS: ReadonlyMap<number, bigint> = new Map([
  [0x1a0, (1n << 11n) | (1n << 12n) | 1n],
]);

/**
 * KVM_X86_GET_MCE_CAP_SUPPORTED bits only some vendor code adds: VMX's
 * hardware_setup() adds MCG_CMCI_P (bit 10) and MCG_LMCE_P (bit 27) to the
 * MCG_CTL_P | MCG_SER_P every host reports.
 */
export const VENDOR_MCE_CAP_BITS: bigint = (1n << 10n) | (1n << 27n);

/** `data` with the vendor-dependent bits of MSR `index` cleared. */
function msr_data_as_compared(index: number, data: bigint): bigint {
  return data & ~(VENDOR_MSR_BITS.get(index) ?? 0n);
}

/** The list of legitimate differences, as `docs/backends.md` prints it. */
export const EXEMPTIONS: readonly Exemption[] = [
  {
    id: "fd-addr",
    what: "fd numbers and mmap addresses",
    why: "per-process: compared as 'an fd' / 'an address' or as -errno",
  },
  {
    id: "host-cpuid",
    what: "KVM_GET_SUPPORTED_CPUID, KVM_GET_EMULATED_CPUID: nent and entries",
    why: "the host CPU model and feature bits; the return value is compared",
  },
  {
    id: "host-msr-list",
    what: "KVM_GET_MSR_INDEX_LIST, KVM_GET_MSR_FEATURE_INDEX_LIST: nmsrs and indices; " +
      "get/set over the index list: indices only one side lists",
    why: "MSRs to save depend on host CPU features; indices both list are compared",
  },
  {
    id: "host-msr-value",
    what: "values of IA32_TSC, UCODE_REV, ARCH_CAPABILITIES, PLATFORM_INFO, PERF_CAPABILITIES, " +
      "KVM_SYSTEM_TIME_NEW",
    why: "time or host CPU; whether the read or write succeeds is compared",
  },
  {
    id: "host-caps",
    what: "KVM_CHECK_EXTENSION value of NR_VCPUS, MAX_VCPUS, MAX_VCPU_ID, TSC_CONTROL, " +
      "VM_TSC_CONTROL, TSC_DEADLINE_TIMER, X86_DISABLE_EXITS, XSAVE2, X86_BUS_LOCK_EXIT, " +
      "X86_NOTIFY_VMEXIT, SGX_ATTRIBUTE, PMU_CAPABILITY, MEMORY_ATTRIBUTES, MULTI_ADDRESS_SPACE, " +
      "PRE_FAULT_MEMORY",
    why: "host configuration and CPU (0 included); an error is still compared. Memslots in " +
      "address space 1 are generated only when both have SMM",
  },
  {
    id: "vendor-msr-bits",
    what: "IA32_MISC_ENABLE bits BTS_UNAVAIL, PEBS_UNAVAIL and FAST_STRING in values read",
    why: "BTS/PEBS_UNAVAIL are set by the Intel PMU code (intel_pmu_refresh) only; FAST_STRING " +
      "is set at reset by a 6.18 kernel and not by the kvm-x86 the simulator follows",
  },
  {
    id: "vendor-mce-cap",
    what: "KVM_X86_GET_MCE_CAP_SUPPORTED bits MCG_CMCI_P and MCG_LMCE_P",
    why: "added by VMX's hardware_setup() only; MCG_CTL_P and MCG_SER_P (kvm_x86_vendor_init()) " +
      "are compared. KVM_X86_SETUP_MCE is generated with the common bits only",
  },
  {
    id: "sim-caps",
    what: "KVM_CHECK_EXTENSION value of ASYNC_PF(_INT), CLOCKSOURCE, KVMCLOCK_CTRL, STEAL_TIME, " +
      "BINARY_STATS_FD, COALESCED_PIO, DEVICE_CTRL, " +
      "IOEVENTFD*, IRQFD*, IRQ_ROUTING, LAST_CPU, ONE_REG, PIT*, " +
      "REINJECT_CONTROL, PMU_EVENT_*, SET_GUEST_DEBUG(2), SREGS2, SYS/VCPU_ATTRIBUTES, " +
      "VAPIC, VM_DISABLE_NX_HUGE_PAGES, VM_COPY/MOVE_ENC_CONTEXT_FROM, " +
      "SMALLER_MAXPHYADDR",
    why: "the simulator lacks these features and reports 0 (docs/fidelity.md); the SEV context " +
      "caps are AMD-only (0 on VMX) and SMALLER_MAXPHYADDR is a module parameter; an error is " +
      "still compared",
  },
  {
    id: "vm-types",
    what: "KVM_CAP_VM_TYPES bits of SW_PROTECTED, SEV, SEV-ES, SNP and TDX",
    why: "hardware VM types and CONFIG_KVM_SW_PROTECTED_VM; the simulator adds TDX on purpose. " +
      "VMs are only created with types both support",
  },
  {
    id: "mem-attributes",
    what: "KVM_SET_MEMORY_ATTRIBUTES where the reference answers -ENOTTY; " +
      "KVM_CAP_MEMORY_ATTRIBUTES value",
    why: "the reference kernel is built without CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES " +
      "(selected only with SW_PROTECTED_VM, TDX or SEV), so the ioctl does not exist there",
  },
  {
    id: "tsc-khz",
    what: "KVM_GET_TSC_KHZ value; KVM_SET_TSC_KHZ to another rate (0 or -EINVAL)",
    why: "the host TSC frequency and whether it has TSC scaling",
  },
];

/** A call whose results differ. */
export interface Difference {
  /** Position of the call in the sequence. */
  readonly pos: number;
  /** The call, for the report. */
  readonly call: Call;
  /** What differs: `"ret"`, or the output member (`"arg: entries[0].eax"`). */
  readonly field: string;
  /** The first backend's value. */
  readonly a: string;
  /** The second backend's value. */
  readonly b: string;
  /**
   * The grouping key: the call's kind, the field, and for return values the
   * two values (`KVM_SET_SREGS ret -EINVAL vs 0`), so that one cause is one group.
   */
  readonly key: string;
  /**
   * A consequence, not a cause: the call uses a handle (fd, mapping) made by
   * a call that already disagreed, or it reads back (registers before a set,
   * MSR values) the state of a handle an earlier call already left different.
   * Counted, but not grouped.
   */
  readonly cascade: boolean;
}

/** The result of comparing one sequence. */
export interface Comparison {
  /** Calls compared. */
  compared: number;
  /** Calls that agreed in every compared field. */
  agreed: number;
  /** Every difference, in call order. */
  diffs: Difference[];
}

/** A short label for the kind of a call, used in grouping keys. */
export function call_kind(c: Call): string {
  switch (c.op) {
    case "ioctl":
      if (c.req === kvm.KVM_CHECK_EXTENSION && typeof c.arg === "bigint") {
        return `KVM_CHECK_EXTENSION(${cap_name(c.arg)})`;
      }
      if (c.req === kvm.KVM_ENABLE_CAP && is_struct(c.arg) && typeof c.arg.set.cap === "bigint") {
        return `KVM_ENABLE_CAP(${cap_name(c.arg.set.cap)})`;
      }
      return ioctl_name(c.req);
    case "regs":
      return `get/set ${c.kind}`;
    default:
      return c.op;
  }
}

/** A result with every negative number spelled as its errno (`0/-EINVAL/0`). */
export function pretty(ret: string): string {
  return ret.replace(
    /(^|\/|\s)-(\d+)\b/g,
    (_, pre: string, n: string) => pre + ret_name(-Number(n)),
  );
}

/** A KVM_CHECK_EXTENSION result as compared. */
export function cap_value(
  cap: number,
  r: string,
  feature_caps: ReadonlySet<number> = NO_CAPS,
): string {
  const n = Number(r);
  if (feature_caps.has(cap) && n >= 0) return "feature";
  if (HOST_CAPS.has(cap) && n >= 0) return "host";
  if (SIM_UNIMPLEMENTED_CAPS.has(cap) && n >= 0) return "unimplemented";
  if (!(n > 0)) return r;
  if (cap === kvm.KVM_CAP_VM_TYPES) return `0x${(n & ~HW_VM_TYPES_MASK).toString(16)}`;
  return r;
}

const NO_CAPS: ReadonlySet<number> = new Set();

/** The grouping key of a KVM_CHECK_EXTENSION difference: by kind of difference, not by cap. */
function cap_key(cap: number, a: string, b: string): string {
  const sign = (x: string) => (Number(x) > 0 || x === "positive" ? "N" : x);
  if (sign(a) !== sign(b)) return `KVM_CHECK_EXTENSION ret ${sign(a)} vs ${sign(b)}`;
  return `KVM_CHECK_EXTENSION(${cap_name(cap)}) ret ${a} vs ${b}`;
}

function ret_of(c: Call, rec: CallRecord, feature_caps: ReadonlySet<number>): string {
  const r = pretty(rec.ret);
  if (c.op === "ioctl") {
    const n = Number(r);
    if (c.req === kvm.KVM_CHECK_EXTENSION && typeof c.arg === "bigint") {
      return cap_value(Number(c.arg), r, feature_caps);
    }
    if (c.req === kvm.KVM_GET_TSC_KHZ && n > 0) return "khz";
  }
  if (c.op === "tsc_khz" && !(c.num === 1 && c.den === 1)) {
    // Whether another rate is accepted depends on host TSC scaling.
    return r.replace(/^khz\/(0|-EINVAL)\/.*$/, "khz/host");
  }
  return r;
}

/** The output bytes as compared: host-dependent members zeroed. */
function out_of(c: Call, rec: CallRecord): Record<string, Uint8Array> {
  if (c.op === "regs" && c.kind === "lapic") {
    // TMCCT (APIC_TMCCT, 0x390) is computed from the clock at each read.
    const out: Record<string, Uint8Array> = {};
    for (const [k, v] of Object.entries(rec.out)) {
      out[k] = v.slice();
      if (out[k].length >= 0x394) out[k].fill(0, 0x390, 0x394);
    }
    return out;
  }
  if (c.op !== "ioctl") return { ...rec.out };
  if (
    c.req === kvm.KVM_GET_SUPPORTED_CPUID || c.req === kvm.KVM_GET_EMULATED_CPUID ||
    c.req === kvm.KVM_GET_MSR_INDEX_LIST || c.req === kvm.KVM_GET_MSR_FEATURE_INDEX_LIST
  ) {
    return {};
  }
  if (c.req === kvm.KVM_X86_GET_MCE_CAP_SUPPORTED && rec.out.arg?.length === 8) {
    const b = rec.out.arg.slice();
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, dv.getBigUint64(0, true) & ~VENDOR_MCE_CAP_BITS, true);
    return { arg: b };
  }
  if (c.req === kvm.KVM_GET_MSRS && rec.out.arg) {
    const b = rec.out.arg.slice();
    const dv = new DataView(b.buffer);
    const n = Math.min(dv.getUint32(0, true), (b.length - 8) / 16);
    for (let i = 0; i < n; i++) {
      const index = dv.getUint32(8 + 16 * i, true);
      if (HOST_MSRS.has(index)) dv.setBigUint64(16 + 16 * i, 0n, true);
      else {
        const v = dv.getBigUint64(16 + 16 * i, true);
        dv.setBigUint64(16 + 16 * i, msr_data_as_compared(index, v), true);
      }
    }
    return { arg: b };
  }
  return { ...rec.out };
}

/** The layout an output was written in, to name the member that differs. */
function out_layout(c: Call, key: string): { type: RecordType; base: number } | undefined {
  if (c.op === "ioctl" && key === "arg" && is_struct(c.arg)) {
    return { type: layout(c.arg.struct), base: 0 };
  }
  if (c.op === "regs") return { type: REGS[c.kind].type, base: 0 };
  if (c.op === "run") return { type: kvm.kvm_run, base: 8 };
  return undefined;
}

/** The C designator of the member at byte `off` of `t` (`entries[3].eax`). */
export function member_at(t: RecordType, off: number): string {
  for (const m of t.members) {
    const size = m.type.kind === "array" && m.type.flexible ? Infinity : m.type.size;
    if (off < m.offset || off >= m.offset + size) continue;
    const name = m.name.startsWith("$") ? "" : m.name;
    let rel = off - m.offset;
    let ty = m.type;
    let d = name;
    while (ty.kind === "array") {
      const i = Math.floor(rel / ty.elem.size);
      d += `[${i}]`;
      rel -= i * ty.elem.size;
      ty = ty.elem;
    }
    if (ty.kind === "scalar") return d;
    const inner = member_at(ty, rel);
    return d ? `${d}.${inner}` : inner;
  }
  return `+${off}`;
}

function hex(b: Uint8Array | undefined, from: number, to: number): string {
  if (!b) return "(none)";
  return [...b.subarray(from, to)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function msr_field(off: number): string {
  return off < 4 ? "get" : off < 8 ? "set" : "data";
}

/**
 * Compares two replays of `calls`. `feature_caps` are capabilities of a
 * feature one backend lacks (the probe's `probe-guest-memfd`): their values
 * are not compared, their errors are.
 */
export function compare(
  calls: readonly Call[],
  a: readonly CallRecord[],
  b: readonly CallRecord[],
  feature_caps: ReadonlySet<number> = NO_CAPS,
): Comparison {
  const res: Comparison = { compared: 0, agreed: 0, diffs: [] };
  const tainted = new Set<number>();
  // Handles (by the call that made them) whose object's state already
  // differed: what a later register read finds there is that difference again.
  const diverged = new Set<string>();
  // VM handles whose memslot set already differs (a memslot ioctl one kernel
  // took and the other refused): a later memslot ioctl's overlap checks see
  // that difference again (-EEXIST on one side only).
  const slots_diverged = new Set<string>();
  calls.forEach((c, pos) => {
    const ra = a[pos]!;
    const rb = b[pos]!;
    const kind = call_kind(c);
    const before = res.diffs.length;
    const cascade = refs(c).some((id) => tainted.has(id));
    const target = handle_of(c);
    const push = (d: Omit<Difference, "pos" | "call" | "cascade">, state_cascade = false) =>
      res.diffs.push({ ...d, pos, call: c, cascade: cascade || state_cascade });
    const ea = ret_of(c, ra, feature_caps);
    const eb = ret_of(c, rb, feature_caps);
    // mem-attributes: the reference kernel has no such ioctl; nothing to compare against.
    const noAttrs = c.op === "ioctl" && c.req === kvm.KVM_SET_MEMORY_ATTRIBUTES && ea === "-ENOTTY";
    const memslot = is_memslot_set(c);
    if (ea !== eb && !noAttrs) {
      const slots_differ = memslot && target !== undefined && slots_diverged.has(target);
      push({ field: "ret", a: ea, b: eb, key: ret_key(c, kind, ea, eb) }, slots_differ);
      if (memslot && target !== undefined) slots_diverged.add(target);
    }
    if (c.op === "caps") {
      for (const [name, x] of Object.entries(ra.out)) {
        const y = rb.out[name];
        const cap = Number(kvm[name as keyof typeof kvm]);
        const va = cap_value(cap, pretty(String(BigInt.asIntN(64, get_le(x, 0, 8)))), feature_caps);
        const vb = y
          ? cap_value(cap, pretty(String(BigInt.asIntN(64, get_le(y, 0, 8)))), feature_caps)
          : "(none)";
        if (va !== vb) push({ field: name, a: va, b: vb, key: cap_key(cap, va, vb) });
      }
      res.compared++;
      if (res.diffs.length === before) res.agreed++;
      else tainted.add(c.id);
      return;
    }
    const oa = out_of(c, ra);
    const ob = out_of(c, rb);
    const keys = c.op === "msr_list"
      ? Object.keys(oa).filter((k) => k in ob) // indices only one side lists are exempt
      : [...new Set([...Object.keys(oa), ...Object.keys(ob)])];
    // A register set one kernel accepted and the other refused leaves different
    // registers: the result says it all, the state read back adds nothing.
    const set_differs = c.op === "regs" && ra.ret.split("/")[1] !== rb.ret.split("/")[1];
    // KVM_GET_MSRS stopped at different entries: the data from there on differs with it.
    const msrs_read = is_msr_read(c) && ea !== eb ? Math.min(Number(ea), Number(eb)) : NaN;
    const before_fields = new Set<string>();
    for (const k of keys) {
      if (c.op === "regs" && k === "after" && set_differs) continue;
      let x = oa[k];
      let y = ob[k];
      if (c.op === "msr_list" && x && y && HOST_MSRS.has(Number(k.slice(4)))) {
        x = x.slice(0, 8);
        y = y.slice(0, 8);
      } else if (c.op === "msr_list" && x && y && VENDOR_MSR_BITS.has(Number(k.slice(4)))) {
        const index = Number(k.slice(4));
        x = x.slice();
        y = y.slice();
        for (const z of [x, y]) {
          const dv = new DataView(z.buffer, z.byteOffset);
          dv.setBigUint64(8, msr_data_as_compared(index, dv.getBigUint64(8, true)), true);
        }
      }
      const n = Math.max(x?.length ?? 0, y?.length ?? 0);
      let first = -1;
      for (let i = 0; i < n; i++) {
        if (x?.[i] !== y?.[i]) {
          first = i;
          break;
        }
      }
      if (first < 0) continue;
      if (k === "arg" && first >= 8 + 16 * msrs_read) continue;
      const lay = out_layout(c, k);
      let field: string;
      let from = first;
      let to = first + 1;
      if (lay) {
        field = member_at(lay.type, lay.base + first);
        // Widen to the whole scalar member for the report.
        while (from > 0 && member_at(lay.type, lay.base + from - 1) === field) from--;
        while (to < n && member_at(lay.type, lay.base + to) === field) to++;
      } else if (c.op === "msr_list") {
        field = msr_field(first);
        from = first < 4 ? 0 : first < 8 ? 4 : 8;
        to = from + (from === 8 ? 8 : 4);
      } else {
        field = `+${first}`;
      }
      const name = c.op === "msr_list" ? `${k} ${field}` : `${k}: ${field}`;
      if (k === "before") before_fields.add(field);
      // The state a register call reads first, when the handle already
      // differed, and a member set leaves as it read it, are one difference.
      const was_diverged = target !== undefined && diverged.has(target);
      const read_back = c.op === "regs"
        ? (k === "before" && was_diverged) ||
          (k === "after" && before_fields.has(field) && !(field in c.set))
        : was_diverged &&
          // kvm_run's state fields (apic_base, cr8, if_flag, ...) and MSR
          // values read back what an earlier difference left behind.
          (c.op === "run" || (c.op === "msr_list" ? field === "data" : is_msr_read(c)));
      push({
        field: name,
        a: hex(x, from, to),
        b: hex(y, from, to),
        key: c.op === "msr_list"
          ? `${kind} ${name}`
          : `${kind} ${k}: ${field.replace(/\[\d+\]/g, "[]")}`,
      }, read_back);
    }
    res.compared++;
    if (res.diffs.length === before) res.agreed++;
    else {
      tainted.add(c.id);
      if (target !== undefined) diverged.add(target);
    }
  });
  return res;
}

/** KVM_SET_USER_MEMORY_REGION(2): its result depends on the VM's memslots so far. */
function is_memslot_set(c: Call): boolean {
  return c.op === "ioctl" &&
    (c.req === kvm.KVM_SET_USER_MEMORY_REGION || c.req === kvm.KVM_SET_USER_MEMORY_REGION2);
}

/** KVM_GET_MSRS: its output is the values read. */
function is_msr_read(c: Call): boolean {
  return c.op === "ioctl" && c.req === kvm.KVM_GET_MSRS;
}

/** The fd handle a call acts on, as a key (`"3"`: the result of call 3), if any. */
function handle_of(c: Call): string | undefined {
  const v = c.op === "regs" || c.op === "msr_list" || c.op === "tsc_khz" || c.op === "run"
    ? c.vcpu
    : c.op === "ioctl"
    ? c.fd
    : undefined;
  return typeof v === "object" && "fd" in v ? String(v.fd) : undefined;
}

/**
 * The grouping key of a return-value difference. KVM_GET_MSRS and
 * KVM_SET_MSRS return how many entries they processed: the key names the
 * first MSR the two kernels treat differently instead of the counts.
 */
function ret_key(c: Call, kind: string, a: string, b: string): string {
  if (c.op === "ioctl" && c.req === kvm.KVM_CHECK_EXTENSION && typeof c.arg === "bigint") {
    return cap_key(Number(c.arg), a, b);
  }
  const na = Number(a);
  const nb = Number(b);
  if (
    c.op === "ioctl" && (c.req === kvm.KVM_GET_MSRS || c.req === kvm.KVM_SET_MSRS) &&
    is_struct(c.arg) && na >= 0 && nb >= 0
  ) {
    const at = Math.min(na, nb);
    const index = c.arg.set[`entries[${at}].index`];
    if (typeof index === "bigint") {
      return `${kind} MSR 0x${index.toString(16)}: ${na < nb ? "fails" : "succeeds"} vs ${
        na < nb ? "succeeds" : "fails"
      }`;
    }
  }
  return `${kind} ret ${a} vs ${b}`;
}

/** One difference as two report lines. */
export function format_difference(d: Difference, na: string, nb: string): string {
  return `#${d.pos} ${format_call(d.call)}\n    ${d.field}: ${na} ${d.a}  ${nb} ${d.b}`;
}
