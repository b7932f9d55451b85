// SPDX-License-Identifier: GPL-2.0-only
/**
 * The seeded generator of ioctl sequences. Sequence `i` of seed `s` depends
 * only on `(s, i)` and what the probe found (VM types, guest_memfd), so any sequence of a report can be regenerated
 * alone. Each sequence opens `/dev/kvm`, usually creates a VM and a vCPU,
 * then draws calls from the families below, against handles it holds (most
 * of the time the right kind of fd, sometimes another kind, a closed one or
 * a bogus number), with valid and invalid arguments alike.
 *
 * The generator keeps a rough model of the memslots it created so that
 * deletes, moves, flag changes and overlaps happen often; it does not need
 * to be right, because the replay records what the kernel really did.
 *
 * Arguments whose outcome depends on the host (GPAs beyond the host's
 * MAXPHYADDR, AMX in CPUID leaf 0xd, MONITOR/MWAIT exits, ...) are not
 * generated: the differences they cause would be the host's, not the
 * simulator's.
 *
 * @module
 */

import * as kvm from "../../include/linux/kvm.ts";
import { _IOC, _IOC_NONE, _IOC_NR, _IOC_READ, _IOC_WRITE } from "../../include/linux/ioctl.ts";
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FALLOC_FL_ZERO_RANGE,
} from "../../include/linux/falloc.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from "../../include/linux/mman.ts";
import { Prng } from "./prng.ts";
import { ALL_CAPS } from "./replay.ts";
import {
  type Arg,
  type Call,
  type CallBody,
  EXTRA_REQUESTS,
  type RegsKind,
  type Sequence,
  type StructArg,
  type Val,
} from "./sequence.ts";

/** What a run generates against. */
export interface GenOptions {
  /** The run's seed. */
  seed: number;
  /**
   * VM types both backends support (from KVM_CAP_VM_TYPES); the generator
   * creates VMs of these, and of types neither supports (which must fail alike).
   */
  vm_types: readonly number[];
  /** VM types that neither backend supports. */
  bad_vm_types: readonly number[];
  /** Whether both backends have the SMM address space (KVM_CAP_MULTI_ADDRESS_SPACE = 2). */
  smm?: boolean;
  /**
   * Whether both backends have guest_memfd (the probe, `probe.ts`): without
   * it on one side, no guest_memfd, KVM_MEM_GUEST_MEMFD slot or
   * KVM_CREATE_GUEST_MEMFD on another fd is generated, since the kernel
   * lacking the feature answers all of them with its absence.
   */
  guest_memfd?: boolean;
  /**
   * Whether both backends have KVM_CAP_PRE_FAULT_MEMORY (the probe): without
   * it on one side, KVM_PRE_FAULT_MEMORY is generated only with arguments
   * `kvm_vcpu_pre_fault_memory()` refuses before the arch code.
   */
  pre_fault?: boolean;
}

const PAGE = 4096n;
const MiB = 1n << 20n;

/** Command numbers under KVMIO that no request uses: "unknown ioctl" material. */
const UNUSED_NRS: readonly number[] = (() => {
  const used = new Set<number>();
  for (const [k, v] of Object.entries(kvm)) {
    if (k.startsWith("KVM_") && typeof v === "number" && v > 0xff && ((v >>> 8) & 0xff) === 0xae) {
      used.add(_IOC_NR(v));
    }
  }
  const free: number[] = [];
  for (let nr = 0; nr < 256; nr++) if (!used.has(nr)) free.push(nr);
  return free;
})();

/**
 * MSR indices for KVM_GET/SET_MSRS: architectural and KVM paravirtual MSRs
 * every x86-64 KVM host emulates, a few that need an in-kernel APIC, and
 * indices no CPU has.
 */
export const MSR_MENU: readonly number[] = [
  0x10, // IA32_TSC
  0x1b, // IA32_APICBASE
  0x3a, // IA32_FEATURE_CONTROL
  0x3b, // IA32_TSC_ADJUST
  0x8b, // IA32_UCODE_REV
  0x10a, // IA32_ARCH_CAPABILITIES
  0x174, // IA32_SYSENTER_CS
  0x175, // IA32_SYSENTER_ESP
  0x176, // IA32_SYSENTER_EIP
  0x0, // IA32_P5_MC_ADDR
  0x179, // IA32_MCG_CAP
  0x17a, // IA32_MCG_STATUS
  0x17b, // IA32_MCG_CTL
  0x281, // IA32_MC1_CTL2
  0x1a0, // IA32_MISC_ENABLE
  0x277, // IA32_PAT
  0x2ff, // MTRRdefType
  0x400, // IA32_MC0_CTL
  0x401, // IA32_MC0_STATUS
  0x402, // IA32_MC0_ADDR
  0x405, // IA32_MC1_STATUS
  0x47f, // IA32_MC31_MISC
  0x480, // past the last bank
  0x6e0, // IA32_TSC_DEADLINE
  0x802, // x2APIC ID
  0x808, // x2APIC TPR
  0xc0000080, // EFER
  0xc0000081, // STAR
  0xc0000082, // LSTAR
  0xc0000084, // FMASK
  0xc0000100, // FS_BASE
  0xc0000102, // KERNEL_GS_BASE
  0xc0000103, // TSC_AUX
  0x4b564d00, // MSR_KVM_WALL_CLOCK_NEW
  0x4b564d01, // MSR_KVM_SYSTEM_TIME_NEW
  0x4b564d02, // MSR_KVM_ASYNC_PF_EN
  0x4b564d03, // MSR_KVM_STEAL_TIME
  0x4b564d04, // MSR_KVM_PV_EOI_EN
  0x4b564d05, // MSR_KVM_POLL_CONTROL
  0x12345678,
  0xdeadbeef,
  0x4000_0fff,
];

interface VmModel {
  id: number;
  slots: Map<number, { gpa: bigint; size: bigint; flags: number }>;
  vcpus: number[];
  gmems: { id: number; size: bigint; flags: bigint }[];
}

/** Generates sequence `index` of a run. */
export function generate(opt: GenOptions, index: number): Sequence {
  return { seed: opt.seed, index, calls: new Gen(opt, new Prng(opt.seed, index)).run() };
}

class Gen {
  readonly #o: GenOptions;
  readonly #r: Prng;
  readonly calls: Call[] = [];
  #next = 0;
  kvmFds: number[] = [];
  vms: VmModel[] = [];
  vcpus: { id: number; vm: VmModel }[] = [];
  maps: { id: number; len: bigint; anon: boolean }[] = [];

  constructor(o: GenOptions, r: Prng) {
    this.#o = o;
    this.#r = r;
  }

  #emit(c: CallBody): number {
    const id = this.#next++;
    this.calls.push({ ...c, id } as Call);
    return id;
  }

  #ioctl(fd: Val, req: number, arg: Arg): number {
    return this.#emit({ op: "ioctl", fd, req, arg });
  }

  #st(struct: string, set: Record<string, Val>, flex?: number): StructArg {
    return flex === undefined ? { struct, set } : { struct, set, flex };
  }

  /** Any fd the sequence holds, or a bogus one: for wrong-fd-type calls. */
  #anyFd(): Val {
    const r = this.#r;
    const all = [
      ...this.kvmFds,
      ...this.vms.map((v) => v.id),
      ...this.vcpus.map((v) => v.id),
      ...this.vms.flatMap((v) => v.gmems.map((g) => g.id)),
    ];
    if (all.length === 0 || r.chance(0.15)) return r.pick([-1n, 1_000_003n]);
    return { fd: r.pick(all) };
  }

  /** A pointer argument that is not a valid buffer. */
  #badPtr(): Val {
    return { bad: this.#r.pick(["null", "unmapped", "kernel"] as const) };
  }

  run(): Call[] {
    const r = this.#r;
    if (r.chance(0.02)) {
      this.#emit({ op: "open", path: "/dev/kvm-does-not-exist" });
    }
    this.kvmFds.push(this.#emit({ op: "open", path: "/dev/kvm" }));
    if (r.chance(0.05)) return this.#capSweep();
    if (r.chance(0.9)) this.#createVm(true);
    if (this.vms.length && r.chance(0.75)) this.#createVcpu(true);
    const steps = r.int(4, 28);
    for (let i = 0; i < steps; i++) this.#step();
    return this.calls;
  }

  /** KVM_CHECK_EXTENSION of every capability on /dev/kvm and on a VM. */
  #capSweep(): Call[] {
    this.#emit({ op: "caps", fd: { fd: this.kvmFds[0]! } });
    const vm = this.#createVm(true);
    this.#emit({ op: "caps", fd: { fd: vm } });
    return this.calls;
  }

  #step(): void {
    const r = this.#r;
    const hasVm = this.vms.length > 0;
    const hasVcpu = this.vcpus.length > 0;
    const fam = r.weighted<() => void>([
      [12, () => this.#sys()],
      [hasVm ? 3 : 15, () => this.#createVm(false)],
      [hasVm ? 14 : 0, () => this.#vm()],
      [hasVm ? (hasVcpu ? 4 : 15) : 0, () => this.#createVcpu(false)],
      [hasVcpu ? 34 : 0, () => this.#vcpu()],
      [hasVm ? 16 : 0, () => this.#memslot()],
      [hasVm && this.#o.guest_memfd !== false ? 10 : 0, () => this.#gmem()],
      [5, () => this.#mem()],
      [5, () => this.#bogus()],
      [2, () => this.#close()],
    ]);
    fam();
  }

  #kfd(): Val {
    const r = this.#r;
    if (this.kvmFds.length === 0 || r.chance(0.03)) return this.#anyFd();
    return { fd: r.pick(this.kvmFds) };
  }

  #vmPick(): VmModel {
    return this.#r.pick(this.vms);
  }

  #vmFd(vm: VmModel): Val {
    return this.#r.chance(0.04) ? this.#anyFd() : { fd: vm.id };
  }

  // --- system ioctls ------------------------------------------------------

  #sys(): void {
    const r = this.#r;
    const fd = this.#kfd();
    r.weighted<() => void>([
      [2, () => this.#ioctl(fd, kvm.KVM_GET_API_VERSION, r.chance(0.8) ? 0n : r.u64())],
      [6, () => this.#ioctl(fd, kvm.KVM_CHECK_EXTENSION, this.#cap())],
      [2, () => this.#ioctl(fd, kvm.KVM_GET_VCPU_MMAP_SIZE, 0n)],
      [3, () => this.#cpuidList(fd, kvm.KVM_GET_SUPPORTED_CPUID)],
      [1, () => this.#cpuidList(fd, kvm.KVM_GET_EMULATED_CPUID)],
      [3, () => this.#msrList(fd, kvm.KVM_GET_MSR_INDEX_LIST)],
      [1, () => this.#msrList(fd, kvm.KVM_GET_MSR_FEATURE_INDEX_LIST)],
      [
        1,
        () =>
          this.#ioctl(
            fd,
            kvm.KVM_X86_GET_MCE_CAP_SUPPORTED,
            r.chance(0.8) ? this.#st("u64", {}) : this.#badPtr(),
          ),
      ],
    ])();
  }

  #cap(): bigint {
    const r = this.#r;
    if (r.chance(0.05)) return r.pick([0xffffn, 0xffff_ffffn, -1n, 100000n]);
    return BigInt(r.pick(ALL_CAPS));
  }

  #cpuidList(fd: Val, req: number): void {
    const r = this.#r;
    if (r.chance(0.06)) return void this.#ioctl(fd, req, this.#badPtr());
    const nent = r.pick([0, 1, 8, 256, 257, 1000, 0xffff_ffff]);
    // The kernel clamps nent to KVM_MAX_CPUID_ENTRIES (256) before writing entries.
    this.#ioctl(fd, req, this.#st("kvm_cpuid2", { nent: BigInt(nent) }, Math.min(nent, 256)));
  }

  #msrList(fd: Val, req: number): void {
    const r = this.#r;
    if (r.chance(0.06)) return void this.#ioctl(fd, req, this.#badPtr());
    const nmsrs = r.pick([0, 1, 16, 4096]);
    this.#ioctl(fd, req, this.#st("kvm_msr_list", { nmsrs: BigInt(nmsrs) }, nmsrs));
  }

  #createVm(common: boolean): number {
    const r = this.#r;
    const types = this.#o.vm_types;
    const type = common || r.chance(0.85) || this.#o.bad_vm_types.length === 0
      ? (r.chance(0.8) || types.length < 2 ? types[0] ?? 0 : r.pick(types))
      : r.pick([...this.#o.bad_vm_types, 0x80, 0xffff_ffff]);
    const id = this.#ioctl(this.#kfd(), kvm.KVM_CREATE_VM, BigInt(type));
    if (this.vms.length < 3) this.vms.push({ id, slots: new Map(), vcpus: [], gmems: [] });
    return id;
  }

  #createVcpu(first: boolean): void {
    const r = this.#r;
    const vm = this.#vmPick();
    const vcpuId = first || r.chance(0.7)
      ? BigInt(vm.vcpus.length)
      : r.pick([0n, 1n, 7n, 1n << 20n, 0xffff_ffffn, -1n]);
    const id = this.#ioctl(this.#vmFd(vm), kvm.KVM_CREATE_VCPU, vcpuId);
    if (vm.vcpus.length < 3) {
      vm.vcpus.push(id);
      this.vcpus.push({ id, vm });
    }
  }

  // --- VM ioctls ----------------------------------------------------------

  #vm(): void {
    const r = this.#r;
    const vm = this.#vmPick();
    const fd = this.#vmFd(vm);
    r.weighted<() => void>([
      [4, () => this.#ioctl(fd, kvm.KVM_CHECK_EXTENSION, this.#cap())],
      [8, () => this.#enableCapVm(fd)],
      [3, () => this.#ioctl(fd, kvm.KVM_CREATE_IRQCHIP, 0n)],
      [3, () => this.#msrFilter(fd)],
      [4, () => this.#memAttributes(fd)],
      [2, () => this.#ioctl(fd, kvm.KVM_GET_TSC_KHZ, 0n)],
      [
        1,
        () =>
          this.#ioctl(
            fd,
            kvm.KVM_SET_TSS_ADDR,
            // kvm_vm_ioctl_set_tss_addr(): the limit is (unsigned int)(-3 * PAGE_SIZE).
            r.pick([0xfffb_d000n, 0n, 0xffff_f000n, 1n << 40n, 0xffff_d000n, 0xffff_d001n]),
          ),
      ],
      [1, () => this.#vmxAddr(fd)],
      [
        2,
        () =>
          this.#ioctl(
            fd,
            kvm.KVM_SET_BOOT_CPU_ID,
            // KVM_MAX_VCPU_IDS is a host build option: stay clear of it.
            r.pick([0n, 1n, 3n, 255n, 1n << 32n, 0xffff_ffff_ffff_ffffn]),
          ),
      ],
      [1, () => this.#encRegion(fd)],
      [3, () => this.#irqLine(fd)],
      [3, () => this.#irqchipState(fd)],
      [3, () => this.#gsiRouting(fd)],
      [3, () => this.#signalMsi(fd)],
    ])();
  }

  /** KVM_IRQ_LINE(_STATUS): GSIs of both irqchips, past them, past the table. */
  #irqLine(fd: Val): void {
    const r = this.#r;
    const req = r.pick([kvm.KVM_IRQ_LINE, kvm.KVM_IRQ_LINE_STATUS]);
    if (r.chance(0.08)) return void this.#ioctl(fd, req, this.#badPtr());
    this.#ioctl(
      fd,
      req,
      this.#st("kvm_irq_level", {
        irq: r.pick([0n, 1n, 3n, 8n, 12n, 16n, 23n, 24n, 4095n, 0xffff_ffffn]),
        level: r.pick([0n, 1n, 1n, 2n]),
      }),
    );
  }

  /**
   * KVM_GET_IRQCHIP / KVM_SET_IRQCHIP: each chip id and a bad one; a set
   * changes a few members of an otherwise zeroed state (what a PIC or the
   * IOAPIC then delivers shows in later LAPIC reads).
   */
  #irqchipState(fd: Val): void {
    const r = this.#r;
    const req = r.pick([kvm.KVM_GET_IRQCHIP, kvm.KVM_SET_IRQCHIP]);
    if (r.chance(0.06)) return void this.#ioctl(fd, req, this.#badPtr());
    const chip_id = r.weighted<bigint>([[3, 0n], [2, 1n], [4, 2n], [1, 3n], [1, 0xffff_ffffn]]);
    const set: Record<string, Val> = { chip_id };
    if (req === kvm.KVM_SET_IRQCHIP) {
      const n = r.int(0, 3);
      for (let i = 0; i < n; i++) {
        const [k, v] = chip_id === 2n
          ? r.pick<[string, bigint]>([
            [
              `chip.ioapic.redirtbl[${r.pick([0, 2, 8, 16, 23])}].bits`,
              r.pick([
                0x30n,
                0x8030n,
                0x1_0030n,
                0x430n,
                0xff00_0000_0000_0030n,
                0x4830n,
              ]),
            ],
            ["chip.ioapic.irr", r.pick([0n, 1n << 16n, 0xff_ffffn, 1n << 8n])],
            ["chip.ioapic.id", r.pick([0n, 3n, 0xffff_ffffn])],
            ["chip.ioapic.ioregsel", r.pick([0n, 1n, 0x10n, 0xffn])],
            ["chip.ioapic.base_address", r.pick([0xfec0_0000n, 0n])],
          ])
          : r.pick<[string, bigint]>([
            ["chip.pic.irr", r.pick([0n, 1n, 0x10n, 0xffn])],
            ["chip.pic.imr", r.pick([0n, 0xfbn, 0xffn])],
            ["chip.pic.isr", r.pick([0n, 1n, 4n])],
            ["chip.pic.irq_base", r.pick([0n, 0x20n, 0x28n, 0x33n])],
            ["chip.pic.elcr", r.pick([0n, 0xf8n, 0xffn])],
            ["chip.pic.elcr_mask", r.pick([0xf8n, 0xden])],
            ["chip.pic.init_state", r.pick([0n, 1n, 3n])],
            ["chip.pic.auto_eoi", r.pick([0n, 1n])],
            ["chip.pic.priority_add", r.pick([0n, 3n, 9n])],
          ]);
        set[k] = v;
      }
    }
    this.#ioctl(fd, req, this.#st("kvm_irqchip", set));
  }

  /**
   * KVM_SET_GSI_ROUTING: the header's limits and flags, then entries of
   * each type with good and bad pins, flags and duplicates.
   */
  #gsiRouting(fd: Val): void {
    const r = this.#r;
    if (r.chance(0.06)) return void this.#ioctl(fd, kvm.KVM_SET_GSI_ROUTING, this.#badPtr());
    const nr = r.weighted<number>([[2, 0], [6, 1], [6, 2], [3, 4], [1, 4097]]);
    const flex = Math.min(nr, 8);
    const set: Record<string, Val> = { nr: BigInt(nr) };
    if (r.chance(0.06)) set.flags = 1n;
    for (let i = 0; i < flex; i++) {
      const e = `entries[${i}]`;
      set[`${e}.gsi`] = r.pick([0n, 1n, 5n, 16n, 24n, 100n, 4095n, 4096n]);
      const type = r.weighted<bigint>([[5, 1n], [4, 2n], [1, 4n], [1, 5n], [1, 9n]]);
      set[`${e}.type`] = type;
      if (r.chance(0.08)) set[`${e}.flags`] = r.pick([1n, 2n]);
      if (type === 1n) {
        set[`${e}.u.irqchip.irqchip`] = r.pick([0n, 1n, 2n, 2n, 3n]);
        set[`${e}.u.irqchip.pin`] = r.pick([0n, 2n, 7n, 8n, 23n, 24n]);
      } else if (type === 2n) {
        set[`${e}.u.msi.address_lo`] = r.pick([0xfee0_0000n, 0xfee0_1000n, 0xfee0_0004n]);
        set[`${e}.u.msi.address_hi`] = r.pick([0n, 0n, 1n]);
        set[`${e}.u.msi.data`] = r.pick([0x30n, 0x4030n, 0x430n]);
      }
    }
    this.#ioctl(fd, kvm.KVM_SET_GSI_ROUTING, this.#st("kvm_irq_routing", set, flex));
  }

  /** KVM_SIGNAL_MSI: destinations that exist and do not, modes, flags, devid. */
  #signalMsi(fd: Val): void {
    const r = this.#r;
    if (r.chance(0.06)) return void this.#ioctl(fd, kvm.KVM_SIGNAL_MSI, this.#badPtr());
    const set: Record<string, Val> = {
      address_lo: r.pick([0xfee0_0000n, 0xfee0_1000n, 0xfee0_0004n, 0xfeef_f000n]),
      address_hi: r.pick([0n, 0n, 1n]),
      // Fixed, lowest priority, NMI, INIT; edge and level.
      data: r.pick([0x30n, 0x130n, 0x400n, 0x500n, 0x8030n]),
    };
    if (r.chance(0.1)) set.flags = r.pick([1n, 2n]);
    if (r.chance(0.1)) set.devid = r.pick([0n, 5n]);
    this.#ioctl(fd, kvm.KVM_SIGNAL_MSI, this.#st("kvm_msi", set));
  }

  /** KVM_SET_IDENTITY_MAP_ADDR: vCPUs already created is checked before the pointer. */
  #vmxAddr(fd: Val): void {
    const r = this.#r;
    const arg = r.chance(0.25)
      ? this.#badPtr()
      : this.#st("u64", { value: r.pick([0xfeff_c000n, 0n, 1n << 40n]) });
    this.#ioctl(fd, kvm.KVM_SET_IDENTITY_MAP_ADDR, arg);
  }

  /** KVM_MEMORY_ENCRYPT_(UN)REG_REGION: copied in, then ENOTTY without a hook. */
  #encRegion(fd: Val): void {
    const r = this.#r;
    const req = r.pick([kvm.KVM_MEMORY_ENCRYPT_REG_REGION, kvm.KVM_MEMORY_ENCRYPT_UNREG_REGION]);
    const arg = r.chance(0.3) ? this.#badPtr() : this.#st("kvm_enc_region", {
      addr: r.pick([0n, 0x7f00_0000_0000n]),
      size: r.pick([0n, PAGE]),
    });
    this.#ioctl(fd, req, arg);
  }

  #enableCapVm(fd: Val): void {
    const r = this.#r;
    const [cap, args] = r.weighted<readonly [number, bigint[]]>([
      [4, [kvm.KVM_CAP_SPLIT_IRQCHIP, [r.pick([24n, 0n, 4096n, 4097n])]]],
      [3, [kvm.KVM_CAP_X2APIC_API, [r.pick([0n, 1n, 3n, 0x8n, 0xffn])]]],
      [3, [kvm.KVM_CAP_EXIT_HYPERCALL, [r.pick([0n, 1n << 12n, 1n, 1n << 63n])]]],
      [3, [kvm.KVM_CAP_X86_USER_SPACE_MSR, [r.pick([0n, 1n, 2n, 4n, 7n, 8n])]]],
      [2, [kvm.KVM_CAP_MAX_VCPU_ID, [r.pick([0n, 1n, 4n, 1024n, 1n << 32n])]]],
      [
        2,
        [kvm.KVM_CAP_X86_DISABLE_EXITS, [
          r.pick([
            0n,
            BigInt(kvm.KVM_X86_DISABLE_EXITS_HLT),
            BigInt(kvm.KVM_X86_DISABLE_EXITS_PAUSE),
          ]),
        ]],
      ],
      [1, [kvm.KVM_CAP_DISABLE_QUIRKS2, [r.pick([0n, 1n, 0x7fn])]]],
      [2, [r.pick([kvm.KVM_CAP_IRQCHIP, kvm.KVM_CAP_USER_MEMORY, 9999, 0x7fffffff]), [0n]]],
    ]);
    const set: Record<string, Val> = { cap: BigInt(cap) };
    args.forEach((a, i) => set[`args[${i}]`] = a);
    if (r.chance(0.08)) set.flags = r.pick([1n, 0x8000_0000n]);
    if (r.chance(0.05)) return void this.#ioctl(fd, kvm.KVM_ENABLE_CAP, this.#badPtr());
    this.#ioctl(fd, kvm.KVM_ENABLE_CAP, this.#st("kvm_enable_cap", set));
  }

  #msrFilter(fd: Val): void {
    const r = this.#r;
    const set: Record<string, Val> = {
      flags: r.pick([0n, BigInt(kvm.KVM_MSR_FILTER_DEFAULT_DENY), 2n]),
    };
    const n = r.pick([0, 1, 1, 2]);
    for (let i = 0; i < n; i++) {
      const nmsrs = r.pick([0n, 1n, 8n, 64n, 0x3000n, 0x3001n]);
      set[`ranges[${i}].flags`] = r.pick([1n, 2n, 3n, 0n, 4n]);
      set[`ranges[${i}].nmsrs`] = nmsrs;
      set[`ranges[${i}].base`] = r.pick([0n, 0x10n, 0xc000_0000n, 0x4b56_4d00n]);
      set[`ranges[${i}].bitmap`] = r.chance(0.1)
        ? this.#badPtr()
        : { buf: Number((nmsrs + 7n) / 8n), fill: r.pick([0, 0xff, 0x55]) };
    }
    this.#ioctl(fd, kvm.KVM_X86_SET_MSR_FILTER, this.#st("kvm_msr_filter", set));
  }

  #memAttributes(fd: Val): void {
    const r = this.#r;
    this.#ioctl(
      fd,
      kvm.KVM_SET_MEMORY_ATTRIBUTES,
      this.#st("kvm_memory_attributes", {
        address: r.pick([0n, PAGE, 2n * MiB, 0x800n]),
        size: r.pick([PAGE, 2n * MiB, 0n, 0x1800n, 1n << 63n]),
        attributes: r.pick([0n, kvm.KVM_MEMORY_ATTRIBUTE_PRIVATE, 1n]),
        flags: r.chance(0.9) ? 0n : 1n,
      }),
    );
  }

  // --- memslots -----------------------------------------------------------

  #userAddr(len: bigint): Val {
    const r = this.#r;
    const fits = this.maps.filter((m) => m.len >= len);
    if (fits.length && r.chance(0.85)) {
      const m = r.pick(fits);
      const off = r.weighted<bigint>([[8, 0n], [1, PAGE], [1, 0x10n]]);
      return { map: m.id, off };
    }
    // A valid user address that neither kernel maps: below the replay's mmap
    // hints (`MMAP_HINT_BASE`), far from where a host's ASLR puts mappings.
    return r.pick<Val>([this.#badPtr(), 0x1f00_dead_0000n, 1n << 47n]);
  }

  #memslot(): void {
    const r = this.#r;
    const vm = this.#vmPick();
    const v2 = r.chance(0.5);
    if (!this.maps.some((m) => m.anon) && r.chance(0.8)) this.#mmapAnon();
    const slot = r.weighted<bigint>([
      [20, BigInt(r.int(0, 3))],
      // Address space 1 (SMM) only where both kernels have it (CONFIG_KVM_SMM); 2 never exists.
      [
        1,
        r.pick([
          32763n,
          32764n,
          0xffffn,
          0x2_0000n,
          ...(this.#o.smm ? [0x1_0000n, 0x1_0001n] : []),
        ]),
      ],
    ]);
    const old = vm.slots.get(Number(slot));
    let gpa = r.weighted<bigint>([
      [10, BigInt(r.int(0, 31)) * 2n * MiB],
      [2, old ? old.gpa : 0n],
      [1, 0x800n],
      [1, 0xffff_ffff_ffff_f000n],
      // The top of the guest physical address space: kvm_arch_prepare_memory_region()
      // refuses a last GFN past kvm_mmu_max_gfn() (52 bits without TDP, as on
      // the kvm_pvm reference, and on the simulated host).
      [
        1,
        r.pick([(1n << 52n) - 2n * MiB, (1n << 52n) - PAGE, 1n << 52n, (1n << 52n) - 16n * PAGE]),
      ],
    ]);
    let size = r.weighted<bigint>([
      [10, r.pick([PAGE, 16n * PAGE, 2n * MiB])],
      [3, old ? old.size : PAGE],
      [2, 0n],
      [1, 0x1800n],
      // 64 GiB fits any host's MAXPHYADDR; 16 TiB exceeds KVM_MEM_MAX_NR_PAGES everywhere.
      [1, r.pick([1n << 36n, 1n << 44n])],
    ]);
    let flags = r.weighted<number>([
      [14, 0],
      [3, kvm.KVM_MEM_LOG_DIRTY_PAGES],
      [2, kvm.KVM_MEM_READONLY],
      [this.#o.guest_memfd === false ? 0 : v2 ? 5 : 1, kvm.KVM_MEM_GUEST_MEMFD],
      [1, r.pick([1 << 3, 1 << 31, 0xffff])],
    ]);
    if (old && r.chance(0.3)) {
      // Moves, deletes and flag changes of an existing slot.
      r.weighted<() => void>([
        [1, () => gpa = old.gpa + 2n * MiB * BigInt(r.int(1, 4))],
        [1, () => size = 0n],
        [1, () => flags = old.flags ^ kvm.KVM_MEM_LOG_DIRTY_PAGES],
      ])();
      if (size !== 0n) size = old.size;
    }
    const set: Record<string, Val> = {
      slot,
      flags: BigInt(flags),
      guest_phys_addr: gpa,
      memory_size: size,
      userspace_addr: this.#userAddr(size === 0n || size > 2n * MiB ? PAGE : size),
    };
    if (v2) {
      if (flags & kvm.KVM_MEM_GUEST_MEMFD) {
        const g = vm.gmems.length && r.chance(0.9) ? r.pick(vm.gmems) : undefined;
        set.guest_memfd = g ? { fd: g.id } : this.#anyFd();
        set.guest_memfd_offset = r.pick([0n, 0n, PAGE, 0x800n, g ? g.size : PAGE]);
      } else if (r.chance(0.1)) {
        set.guest_memfd = 3n;
      }
      if (r.chance(0.04)) set["pad2[3]"] = 1n;
    }
    const req = v2 ? kvm.KVM_SET_USER_MEMORY_REGION2 : kvm.KVM_SET_USER_MEMORY_REGION;
    const struct = v2 ? "kvm_userspace_memory_region2" : "kvm_userspace_memory_region";
    this.#ioctl(this.#vmFd(vm), req, r.chance(0.04) ? this.#badPtr() : this.#st(struct, set));
    if (size === 0n) vm.slots.delete(Number(slot));
    else if (slot < 4n) vm.slots.set(Number(slot), { gpa, size, flags });
  }

  // --- guest_memfd --------------------------------------------------------

  #gmem(): void {
    const r = this.#r;
    const vm = this.#vmPick();
    if (vm.gmems.length === 0 || r.chance(0.3)) return this.#createGmem(vm);
    const g = r.pick(vm.gmems);
    const fd: Val = r.chance(0.05) ? this.#anyFd() : { fd: g.id };
    r.weighted<() => void>([
      [5, () => this.#fallocate(fd, g.size)],
      [2, () => this.#mmapGmem(fd, g.size)],
      [2, () =>
        this.#emit({
          op: r.pick(["read", "write"] as const),
          fd,
          buf: this.maps.length && r.chance(0.7)
            ? { map: r.pick(this.maps).id, off: 0n }
            : this.#badPtr(),
          count: r.pick([0n, 16n, PAGE]),
        })],
      [1, () => this.#emit({ op: "close", fd })],
    ])();
  }

  #createGmem(vm: VmModel): void {
    const r = this.#r;
    const size = r.weighted<bigint>([
      [8, r.pick([PAGE, 16n * PAGE, 2n * MiB])],
      [1, r.pick([0n, 0x1800n, 1n << 40n, 1n << 63n])],
    ]);
    const flags = r.weighted<bigint>([
      [5, 0n],
      [3, kvm.GUEST_MEMFD_FLAG_MMAP],
      [2, kvm.GUEST_MEMFD_FLAG_MMAP | kvm.GUEST_MEMFD_FLAG_INIT_SHARED],
      [1, kvm.GUEST_MEMFD_FLAG_INIT_SHARED],
      [1, r.pick([1n << 2n, 1n << 63n])],
    ]);
    const set: Record<string, Val> = { size, flags };
    if (r.chance(0.05)) set["reserved[2]"] = 1n;
    const id = this.#ioctl(
      this.#vmFd(vm),
      kvm.KVM_CREATE_GUEST_MEMFD,
      this.#st("kvm_create_guest_memfd", set),
    );
    if (vm.gmems.length < 3) vm.gmems.push({ id, size, flags });
  }

  #fallocate(fd: Val, size: bigint): void {
    const r = this.#r;
    const mode = r.weighted<number>([
      [4, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE],
      [3, 0],
      [2, FALLOC_FL_KEEP_SIZE],
      [1, FALLOC_FL_PUNCH_HOLE],
      [1, FALLOC_FL_ZERO_RANGE],
    ]);
    const off = r.pick([0n, PAGE, 0x800n, size, size > PAGE ? size - PAGE : 0n, -PAGE]);
    // Allocation really allocates on the host: keep it small.
    const len = r.pick([PAGE, 2n * PAGE, 0n, 0x800n, 2n * MiB, size, -PAGE]);
    this.#emit({ op: "fallocate", fd, mode, off, len });
  }

  #mmapGmem(fd: Val, size: bigint): void {
    const r = this.#r;
    const len = r.pick([PAGE, size > 2n * MiB ? 2n * MiB : size]);
    const id = this.#emit({
      op: "mmap",
      len,
      prot: r.chance(0.8) ? PROT_READ | PROT_WRITE : PROT_READ,
      flags: r.chance(0.85) ? MAP_SHARED : MAP_PRIVATE,
      fd,
      off: r.pick([0n, 0n, PAGE, 0x800n]),
    });
    this.maps.push({ id, len, anon: false });
  }

  // --- anonymous memory ---------------------------------------------------

  #mem(): void {
    const r = this.#r;
    if (this.maps.length && r.chance(0.3)) {
      const m = r.pick(this.maps);
      this.maps = this.maps.filter((x) => x !== m);
      this.#emit({ op: "munmap", map: m.id });
      return;
    }
    this.#mmapAnon();
  }

  #mmapAnon(): void {
    const r = this.#r;
    const len = r.weighted<bigint>([[10, r.pick([PAGE, 16n * PAGE, 2n * MiB])], [
      1,
      r.pick([0n, 0x1800n]),
    ]]);
    const flags = r.weighted<number>([
      [8, MAP_PRIVATE | MAP_ANONYMOUS],
      [3, MAP_SHARED | MAP_ANONYMOUS],
      [1, MAP_ANONYMOUS],
    ]);
    const id = this.#emit({
      op: "mmap",
      len,
      prot: PROT_READ | PROT_WRITE,
      flags,
      fd: -1n,
      off: 0n,
    });
    this.maps.push({ id, len: len === 0x1800n ? 2n * PAGE : len, anon: true });
  }

  // --- vCPU ioctls --------------------------------------------------------

  #vcpu(): void {
    const r = this.#r;
    const v = r.pick(this.vcpus);
    const fd: Val = r.chance(0.04) ? this.#anyFd() : { fd: v.id };
    r.weighted<() => void>([
      [10, () => this.#regs(fd)],
      [6, () => this.#setCpuid(fd)],
      [3, () => this.#getCpuid(fd)],
      [6, () => this.#msrs(fd)],
      [1, () => this.#emit({ op: "msr_list", vcpu: fd, kvm: this.#kfd(), write: r.chance(0.5) })],
      [
        2,
        () =>
          this.#emit({
            op: "tsc_khz",
            vcpu: fd,
            ...r.weighted([[6, { num: 1, den: 1 }], [1, { num: 1, den: 2 }], [1, {
              num: 3,
              den: 2,
            }]]),
          }),
      ],
      [2, () => this.#ioctl(fd, kvm.KVM_GET_TSC_KHZ, 0n)],
      [3, () => this.#enableCapVcpu(fd)],
      [4, () => this.#emit({ op: "run", vcpu: fd })],
      [2, () => this.#mmapVcpu(fd)],
      [3, () => this.#mce(fd)],
      [2, () => this.#interrupt(fd)],
      // KVM_NMI (kvm_vcpu_ioctl_nmi()): no argument; later event reads show the queue.
      [1, () => this.#ioctl(fd, kvm.KVM_NMI, 0n)],
      [2, () => this.#preFault(fd, v.vm)],
      [
        2,
        () =>
          this.#ioctl(
            fd,
            r.pick([
              kvm.KVM_GET_REGS,
              kvm.KVM_GET_SREGS,
              kvm.KVM_SET_REGS,
              kvm.KVM_GET_XCRS,
              kvm.KVM_GET_MP_STATE,
            ]),
            this.#badPtr(),
          ),
      ],
    ])();
  }

  #regs(vcpu: Val): void {
    const r = this.#r;
    const kind = r.weighted<RegsKind>([
      [4, "regs"],
      [6, "sregs"],
      [2, "mp_state"],
      [3, "xcrs"],
      [4, "lapic"],
      [3, "vcpu_events"],
    ]);
    const set: Record<string, bigint> = {};
    const n = r.int(0, 3);
    for (let i = 0; i < n; i++) {
      const [k, v] = this.#perturb(kind);
      set[k] = v;
    }
    this.#emit({ op: "regs", vcpu, kind, set });
  }

  #perturb(kind: RegsKind): [string, bigint] {
    const r = this.#r;
    switch (kind) {
      case "regs":
        return r.pick<[string, bigint]>([
          ["rip", r.pick([0n, 0xfff0n, 0x1000n, 0xffff_ffff_ffff_fff0n])],
          ["rflags", r.pick([0x2n, 0x0n, 0x202n, 0x3002n, 0xffff_ffffn, 0x2_0002n])],
          ["rax", r.u64()],
          ["rsp", r.pick([0n, 0x8000n])],
          ["rdx", r.u64()],
        ]);
      case "sregs":
        return r.pick<[string, bigint]>([
          [
            "cr0",
            r.pick([
              0x6000_0010n,
              0x8000_0011n,
              0x11n,
              0x8000_0001n,
              0x6000_0011n,
              0x2000_0000n,
              1n << 32n,
            ]),
          ],
          ["cr4", r.pick([0n, 0x20n, 0x620n, 1n << 12n, 1n << 22n, 1n << 5n | 1n << 13n])],
          // Bit 40 is reserved on every vendor (bit 20, AutoIBRS, exists on AMD only).
          ["efer", r.pick([0n, 0x500n, 0x100n, 0xd01n, 0x400n, 1n << 40n, 0x800n])],
          [
            "apic_base",
            r.pick([0xfee0_0900n, 0xfee0_0800n, 0xfee0_0d00n, 0xfee0_0100n, 0x1n, 0xfee0_0000n]),
          ],
          ["cr3", r.pick([0n, 0x1000n, 0x1001n, 1n << 60n])],
          ["cr8", r.pick([0n, 1n, 15n, 16n])],
          ["cs.l", r.pick([0n, 1n])],
          ["cs.db", r.pick([0n, 1n])],
          ["cs.selector", r.pick([0n, 8n, 0xf000n])],
          ["ss.dpl", r.pick([0n, 3n])],
          ["tr.type", r.pick([0n, 3n, 11n])],
          ["gdt.limit", r.pick([0n, 0xffffn])],
          ["interrupt_bitmap[0]", r.pick([0n, 1n << 32n, 3n << 40n])],
          ["interrupt_bitmap[3]", r.pick([0n, 1n << 63n])],
        ]);
      case "mp_state":
        return ["mp_state", BigInt(r.int(0, 11))];
      case "xcrs":
        return r.pick<[string, bigint]>([
          ["xcrs[0].value", r.pick([1n, 3n, 7n, 0n, 2n, 5n, 1n << 62n])],
          ["xcrs[0].xcr", r.pick([0n, 1n, 0xffff_ffffn])],
          ["nr_xcrs", r.pick([0n, 1n, 16n, 17n])],
          ["flags", r.pick([0n, 1n])],
        ]);
      case "lapic":
        // One byte of the register page (KVM_SET_LAPIC): the software
        // enable, TPR, IDs, LDR/DFR, LVT masks and modes, the timer's
        // count and divider, IRR/ISR/TMR bits, ICR, ESR.
        return r.pick<[string, bigint]>([
          ["regs[241]", r.pick([0n, 1n, 0x11n])], // SPIV bits 15:8 (enable, directed EOI)
          ["regs[240]", r.pick([0xffn, 0x20n, 0n])], // SPIV vector
          ["regs[128]", r.pick([0n, 0x20n, 0xf0n, 0xffn])], // TPR
          ["regs[35]", r.pick([0n, 1n, 0xffn])], // ID bits 31:24
          ["regs[211]", r.pick([0n, 1n, 0x80n])], // LDR bits 31:24
          ["regs[227]", r.pick([0n, 0xf0n, 0xffn])], // DFR bits 31:24
          ["regs[850]", r.pick([0n, 1n])], // LVT0 mask (bit 16)
          ["regs[849]", r.pick([0n, 4n, 7n, 0xa0n])], // LVT0 mode, level, remote IRR
          ["regs[802]", r.pick([0n, 1n, 2n, 4n, 6n])], // LVTT mask and timer mode
          ["regs[800]", r.pick([0n, 0x10n, 0xecn])], // LVTT vector
          ["regs[897]", r.pick([0n, 0x10n])], // TMICT bits 15:8
          ["regs[992]", r.pick([0n, 0xbn, 3n, 0xffn])], // TDCR
          ["regs[516]", r.pick([0n, 1n, 0x80n])], // IRR vector 0x20/0x27
          ["regs[260]", r.pick([0n, 1n])], // ISR vector 0x20
          ["regs[388]", r.pick([0n, 1n])], // TMR vector 0x20
          ["regs[768]", r.pick([0n, 0x30n])], // ICR low
          ["regs[787]", r.pick([0n, 1n])], // ICR2 destination
          ["regs[640]", r.pick([0n, 0xffn])], // ESR
        ]);
      case "vcpu_events":
        // KVM_SET_VCPU_EVENTS: no SMM state (flag 8), which not every host has.
        return r.pick<[string, bigint]>([
          ["exception.injected", r.pick([0n, 1n])],
          ["exception.pending", r.pick([0n, 1n])],
          ["exception.nr", r.pick([0n, 6n, 13n, 14n, 18n, 32n])],
          ["exception.has_error_code", r.pick([0n, 1n])],
          ["interrupt.injected", r.pick([0n, 1n])],
          ["interrupt.nr", r.pick([0n, 0x20n, 0xffn])],
          ["interrupt.soft", r.pick([0n, 1n])],
          ["interrupt.shadow", r.pick([0n, 1n, 2n, 3n])],
          ["nmi.injected", r.pick([0n, 1n])],
          ["nmi.pending", r.pick([0n, 1n, 2n])],
          ["nmi.masked", r.pick([0n, 1n])],
          ["sipi_vector", r.pick([0n, 0x10n, 0x100n])],
          ["flags", r.pick([0n, 1n, 2n, 4n, 7n, 0x10n, 0x20n, 0x80n])],
          ["triple_fault.pending", r.pick([0n, 1n])],
          ["exception_has_payload", r.pick([0n, 1n])],
        ]);
    }
  }

  /**
   * A synthetic CPUID table: values KVM interprets come from a small menu of
   * features every VMX host has, so that results do not depend on the host.
   */
  #setCpuid(vcpu: Val): void {
    const r = this.#r;
    if (r.chance(0.05)) return void this.#ioctl(vcpu, kvm.KVM_SET_CPUID2, this.#badPtr());
    const nent = r.weighted<number>([[10, r.int(0, 6)], [1, 257], [1, 0xffff_ffff]]);
    const v1 = r.chance(0.1);
    const set: Record<string, Val> = { nent: BigInt(nent) };
    const entries = nent <= 256 ? nent : 0;
    for (let i = 0; i < entries; i++) {
      const e = this.#cpuidEntry();
      const p = `entries[${i}]`;
      set[`${p}.function`] = BigInt(e.function);
      for (const reg of ["eax", "ebx", "ecx", "edx"] as const) set[`${p}.${reg}`] = BigInt(e[reg]);
      if (!v1) {
        set[`${p}.index`] = BigInt(e.index);
        set[`${p}.flags`] = BigInt(e.flags);
      }
    }
    if (v1) this.#ioctl(vcpu, kvm.KVM_SET_CPUID, this.#st("kvm_cpuid", set, entries));
    else this.#ioctl(vcpu, kvm.KVM_SET_CPUID2, this.#st("kvm_cpuid2", set, entries));
  }

  #cpuidEntry(): {
    function: number;
    index: number;
    flags: number;
    eax: number;
    ebx: number;
    ecx: number;
    edx: number;
  } {
    const r = this.#r;
    const fn = r.pick([
      0,
      1,
      7,
      0xd,
      0x4000_0000,
      0x4000_0001,
      0x8000_0000,
      0x8000_0001,
      0x8000_0008,
      0x12345,
    ]);
    const idx = fn === 7 || fn === 0xd ? r.pick([0, 1]) : 0;
    const flags = fn === 7 || fn === 0xd ? kvm.KVM_CPUID_FLAG_SIGNIFCANT_INDEX : r.pick([0, 0, 1]);
    const e = { function: fn, index: idx, flags, eax: 0, ebx: 0, ecx: 0, edx: 0 };
    switch (fn) {
      case 0:
        e.eax = r.pick([0xd, 0x1, 0x20]);
        break;
      case 1:
        e.eax = r.pick([0x806f8, 0x600, 0]);
        e.ecx = r.pick([0, 1 << 21, 1 << 26, (1 << 21) | (1 << 26)]); // x2APIC, XSAVE
        e.edx = r.pick([0, 1 << 9, (1 << 9) | (1 << 5)]); // APIC, MSR
        break;
      case 0xd:
        e.eax = idx === 0 ? r.pick([0x1, 0x3, 0x7]) : 0;
        break;
      case 0x4000_0000:
        e.eax = 0x4000_0001;
        e.ebx = 0x4b4d564b;
        e.ecx = 0x564b4d56;
        e.edx = 0x4d;
        break;
      case 0x4000_0001:
        e.eax = r.pick([0, 0x1, 0xffff_ffff]);
        break;
      case 0x8000_0000:
        e.eax = 0x8000_0008;
        break;
      case 0x8000_0001:
        e.edx = r.pick([0, (1 << 29) | (1 << 20) | (1 << 11)]); // LM, NX, SYSCALL
        break;
      case 0x8000_0008:
        e.eax = r.pick([0x3028, 0x3027, 0x3930, 0x2830]); // vaddr 48/57 bits; 40 is refused
        break;
      default:
        e.eax = r.u32();
        e.ebx = r.u32();
        e.ecx = r.u32();
        e.edx = r.u32();
    }
    return e;
  }

  #getCpuid(vcpu: Val): void {
    const r = this.#r;
    const nent = r.pick([0, 1, 4, 16, 256]);
    this.#ioctl(vcpu, kvm.KVM_GET_CPUID2, this.#st("kvm_cpuid2", { nent: BigInt(nent) }, nent));
  }

  #msrs(vcpu: Val): void {
    const r = this.#r;
    const get = r.chance(0.6);
    const req = get ? kvm.KVM_GET_MSRS : kvm.KVM_SET_MSRS;
    if (r.chance(0.04)) return void this.#ioctl(vcpu, req, this.#badPtr());
    const n = r.weighted<number>([[10, r.int(1, 5)], [1, 0], [1, 256]]);
    const set: Record<string, Val> = { nmsrs: BigInt(n) };
    const entries = n <= 8 ? n : 0;
    for (let i = 0; i < entries; i++) {
      set[`entries[${i}].index`] = BigInt(r.pick(MSR_MENU));
      if (!get) {
        set[`entries[${i}].data`] = r.pick([
          0n,
          1n,
          0x0007_0406_0007_0406n,
          0xfee0_0900n,
          r.u64(),
          0x1000n,
        ]);
      }
    }
    this.#ioctl(vcpu, req, this.#st("kvm_msrs", set, entries));
  }

  #enableCapVcpu(vcpu: Val): void {
    const r = this.#r;
    const cap = r.pick([
      kvm.KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
      kvm.KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
      9999,
      kvm.KVM_CAP_IRQCHIP,
      0,
    ]);
    const set: Record<string, Val> = { cap: BigInt(cap), "args[0]": r.pick([0n, 1n, 2n]) };
    if (r.chance(0.1)) set.flags = 1n;
    this.#ioctl(vcpu, kvm.KVM_ENABLE_CAP, this.#st("kvm_enable_cap", set));
  }

  /** KVM_X86_SETUP_MCE and KVM_X86_SET_MCE. */
  #mce(vcpu: Val): void {
    const r = this.#r;
    if (r.chance(0.05)) {
      return void this.#ioctl(
        vcpu,
        r.pick([kvm.KVM_X86_SETUP_MCE, kvm.KVM_X86_SET_MCE]),
        this.#badPtr(),
      );
    }
    if (r.chance(0.5)) {
      // MCG_CAP: the bank count (0 and 33 are refused), the bits every vendor
      // supports (CTL_P, SER_P), the extended count, and a bit nobody has.
      const banks = r.pick([0n, 1n, 2n, 10n, 32n, 33n]);
      const bits = r.pick([0n, 1n << 8n, (1n << 8n) | (1n << 24n), 0xab0000n, 1n << 9n]);
      return void this.#ioctl(
        vcpu,
        kvm.KVM_X86_SETUP_MCE,
        this.#st("u64", { value: banks | bits }),
      );
    }
    const VAL = 1n << 63n, UC = 1n << 61n, S = 1n << 56n, PCC = 1n << 57n;
    this.#ioctl(
      vcpu,
      kvm.KVM_X86_SET_MCE,
      this.#st("kvm_x86_mce", {
        status: r.pick([0n, VAL, VAL | 0x11n, VAL | UC, VAL | UC | S | PCC, UC]),
        addr: r.pick([0n, 0x1000n]),
        misc: r.pick([0n, 0x86n]),
        mcg_status: r.pick([0n, 5n, 4n]),
        bank: BigInt(r.pick([0, 1, 9, 31, 32, 255])),
      }),
    );
  }

  /** KVM_INTERRUPT: a u32 vector below 256 (`kvm_vcpu_ioctl_interrupt()`). */
  #interrupt(vcpu: Val): void {
    const r = this.#r;
    if (r.chance(0.05)) return void this.#ioctl(vcpu, kvm.KVM_INTERRUPT, this.#badPtr());
    this.#ioctl(
      vcpu,
      kvm.KVM_INTERRUPT,
      this.#st("kvm_interrupt", { irq: r.pick([0n, 0x20n, 0x31n, 255n, 256n, 0xffff_ffffn]) }),
    );
  }

  /**
   * KVM_PRE_FAULT_MEMORY over the VM's slots, past them and with bad
   * arguments; only the last where one side lacks it (`pre_fault`).
   */
  #preFault(vcpu: Val, vm: VmModel): void {
    const r = this.#r;
    const bad = !this.#o.pre_fault || r.chance(0.3);
    if (r.chance(0.05)) return void this.#ioctl(vcpu, kvm.KVM_PRE_FAULT_MEMORY, this.#badPtr());
    let set: Record<string, Val>;
    if (bad) {
      set = r.pick<Record<string, Val>>([
        { gpa: 0n, size: PAGE, flags: 1n },
        { gpa: 0x800n, size: PAGE },
        { gpa: 0n, size: 0x800n },
        { gpa: 0n, size: 0n },
        { gpa: 0xffff_ffff_ffff_f000n, size: 2n * PAGE },
      ]);
    } else {
      const slots = [...vm.slots.values()];
      const s = slots.length && r.chance(0.7) ? r.pick(slots) : undefined;
      const gpa = s ? s.gpa + r.pick([0n, PAGE]) : r.pick([0n, 1n << 30n, (1n << 52n) - PAGE]);
      set = { gpa, size: r.pick([PAGE, 16n * PAGE, 2n * MiB, 4n * MiB]) };
    }
    this.#ioctl(vcpu, kvm.KVM_PRE_FAULT_MEMORY, this.#st("kvm_pre_fault_memory", set));
  }

  #mmapVcpu(vcpu: Val): void {
    const r = this.#r;
    const id = this.#emit({
      op: "mmap",
      len: r.pick([PAGE, 3n * PAGE]),
      prot: PROT_READ | PROT_WRITE,
      flags: r.chance(0.9) ? MAP_SHARED : MAP_PRIVATE,
      fd: vcpu,
      off: r.pick([0n, BigInt(kvm.KVM_PIO_PAGE_OFFSET) * PAGE, 0x800n, 64n * PAGE]),
    });
    this.maps.push({ id, len: PAGE, anon: false });
  }

  // --- unknown requests, wrong fds, bad pointers --------------------------

  #bogus(): void {
    const r = this.#r;
    const fd = this.#anyFd();
    r.weighted<() => void>([
      [4, () => {
        const dir = r.pick([_IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE]);
        const size = dir === _IOC_NONE ? 0 : r.pick([4, 8, 16, 64]);
        this.#ioctl(fd, _IOC(dir, kvm.KVMIO, r.pick(UNUSED_NRS), size), 0n);
      }],
      [2, () => this.#ioctl(fd, r.pick([EXTRA_REQUESTS.FIOCLEX, EXTRA_REQUESTS.FIONCLEX]), 0n)],
      [
        1,
        () =>
          this.#ioctl(
            fd,
            EXTRA_REQUESTS.FIONBIO,
            r.chance(0.7) ? { buf: 4, fill: r.pick([0, 1]) } : this.#badPtr(),
          ),
      ],
      [1, () => this.#ioctl(fd, EXTRA_REQUESTS.TCGETS, { buf: 64, fill: 0 })],
      [6, () => {
        // A request of one fd type sent to whatever fd: the dispatchers' default cases.
        const req = r.pick([
          kvm.KVM_GET_API_VERSION,
          kvm.KVM_GET_VCPU_MMAP_SIZE,
          kvm.KVM_CREATE_IRQCHIP,
          kvm.KVM_GET_TSC_KHZ,
          kvm.KVM_GET_REGS,
          kvm.KVM_GET_SREGS,
          kvm.KVM_GET_MP_STATE,
          kvm.KVM_GET_XCRS,
          kvm.KVM_SET_USER_MEMORY_REGION,
          kvm.KVM_GET_SUPPORTED_CPUID,
          ...(this.#o.guest_memfd === false ? [] : [kvm.KVM_CREATE_GUEST_MEMFD]),
          kvm.KVM_SET_MEMORY_ATTRIBUTES,
        ]);
        this.#ioctl(fd, req, r.chance(0.5) ? { buf: 512, fill: 0 } : this.#badPtr());
      }],
    ])();
  }

  #close(): void {
    this.#emit({ op: "close", fd: this.#anyFd() });
  }
}
