// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/lib/x86/ucall.c`: the x86 ucall exit,
 * and the ways the TDX series argued a TD could make it.
 *
 * A ucall hands the host address of a `struct ucall` to the host. An
 * ordinary guest executes an 8-bit `in` from port `UCALL_PIO_PORT` with RDI =
 * that address, and the host reads RDI with KVM_GET_REGS. A TD's registers
 * are protected (KVM_GET_REGS fails with EINVAL), so a TD needs another
 * carrier. Each design is a {@linkcode ucall_x86_ops} pair, guest half and
 * host half, as sean-jc's branch dispatches through a `ucall_x86_ops` struct
 * of function pointers:
 *
 * | ops | guest | host | on a TD |
 * | --- | --- | --- | --- |
 * | {@linkcode ucall_x86_pio_ops} | `in` port 0x1000, RDI = uc | KVM_EXIT_IO, KVM_GET_REGS, RDI | (ordinary VMs) |
 * | {@linkcode ucall_tdx_mmio_ops} (v13) | #VE.RequestMMIO write of 8 bytes at `ucall_mmio_gpa` | KVM_EXIT_MMIO, data | works |
 * | {@linkcode ucall_tdx_pio_rcx_ops} | Instruction.IO `in` port 0x1000, RCX exposing RDI = uc | the x86 host half, unchanged | KVM_GET_REGS: EINVAL |
 * | {@linkcode ucall_tdx_pio_index_ops} | Instruction.IO `out` of 4 bytes: the pool slot | KVM_EXIT_IO, data, slot | works |
 * | {@linkcode ucall_tdx_fatal_error_ops} | ReportFatalError, R12 = magic, R13 = uc | KVM_EXIT_SYSTEM_EVENT (TDX_FATAL), data[13] | works |
 *
 * The ops are per VM. `ucall_arch_init()` picks the default from the VM type
 * (MMIO for a TD, as v13; PIO otherwise); {@linkcode ucall_x86_set_ops}
 * picks another between `__vm_create()` and the first run. The guest finds
 * its half by the index of the ops in {@linkcode ucall_x86_ops_table}, a
 * guest global: C syncs the function pointers themselves, but the library's
 * TypeScript functions have no guest address, so the index stands for them.
 *
 * @module
 */

import { u32, u64, u8 } from "../../include/c/layout.ts";
import { kvm_regs, KVM_X86_TDX_VM } from "../../include/asm/kvm.ts";
import {
  KVM_EXIT_IO,
  KVM_EXIT_IO_OUT,
  KVM_EXIT_MMIO,
  KVM_EXIT_SYSTEM_EVENT,
  KVM_SYSTEM_EVENT_TDX_FATAL,
} from "../../include/linux/kvm.ts";
import { type gpa_t, type kvm_vcpu, type kvm_vm, ref } from "../../include/kvm_util_types.ts";
import { user_memory } from "../../include/libc/syscall.ts";
import { TEST_ASSERT } from "../../include/test_util.ts";
import { TDG_VP_VMCALL } from "../../include/x86/tdx/tdcall.ts";
import {
  TDG_VP_VMCALL_INSTRUCTION_IO,
  TDG_VP_VMCALL_INSTRUCTION_IO_READ,
  TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
  TDG_VP_VMCALL_REPORT_FATAL_ERROR,
  TDX_HYPERCALL_STANDARD,
} from "../../include/x86/tdx/tdx.ts";
import { sync_global_to_guest, vcpu_regs_get } from "../kvm_util.ts";
import { guest_global } from "../guest_globals.ts";
import { guest_cpu } from "../guest_insn.ts";
import { GUEST_UCALL_FAILED, ucall_pool_hva, ucall_pool_index } from "../ucall_common.ts";
import { __tdx_hypercall } from "./tdx/tdcall.ts";
import { tdg_vp_vmcall_instruction_io, tdx_mmio_write } from "./tdx/tdx.ts";

/** C `UCALL_EXIT_REASON`: the exit of a ucall on x86 (not on TDX, whose ucall is MMIO). */
export const UCALL_EXIT_REASON: number = KVM_EXIT_IO;
/** C `UCALL_PIO_PORT`. */
export const UCALL_PIO_PORT = 0x1000;
/** C `MMIO_SIZE_8B`. */
const MMIO_SIZE_8B = 8;
/** sean-jc's `UCALL_TDX_MAGIC`: R12 of a ReportFatalError that is a ucall (bit 63 clear: R13 is no GPA). */
export const UCALL_TDX_MAGIC = 0xabacadaban;
/** Bytes of port I/O data a TDVMCALL Instruction.IO carries at most (R12 is 1, 2 or 4). */
const PIO_INDEX_SIZE = 4;
/** The PIO-index payload of `GUEST_UCALL_FAILED`; 0 is a NULL ucall, n a slot n - 1. */
const PIO_INDEX_FAILED = 0xffffffff;
/**
 * The TDG.VP.VMCALL RCX bitmap (bit n = GPR n: RAX, RCX, RDX, RBX, RSP, RBP,
 * RSI, RDI, R8..R15) with every GPR a TD may hand the VMM: all but RAX, RCX,
 * RSP and RBP, as the kernel's TDVMCALL_EXPOSE_REGS_MASK. It is the "maximal
 * RCX" Sean's v12 review asked every TDG.VP.VMCALL to pass; it includes RDI.
 */
const TDVMCALL_EXPOSE_ALL_GPRS = 0xffccn;

/** One ucall design: the guest's exit and the host's reading of it. */
export interface ucall_x86_ops {
  /** What the design is called in messages and docs. */
  readonly name: string;
  /**
   * Guest: exit to the host with `uc`.
   *
   * @param uc the ucall's host address, `GUEST_UCALL_FAILED` or 0
   */
  do_ucall(uc: bigint): void;
  /**
   * Host: the ucall address the vCPU's last exit carries.
   *
   * **It may be called more than once for one exit**, and must give the
   * same answer each time: `get_ucall()` is called by the library as well as
   * by the test (`assert_on_unhandled_exception()` looks at every exit
   * first, then the test's own `get_ucall()` reads it again). So read the
   * exit (`vcpu.run`, registers) and change nothing: do not complete the
   * exit, re-enter the guest, or consume a one-shot value; `get_ucall()`
   * completes pending I/O itself.
   *
   * @param vcpu the vCPU
   * @returns the address, or 0 when the exit is no ucall
   */
  get_ucall(vcpu: kvm_vcpu): bigint;
  /**
   * Host, optional: prepare `vm` for this design, called by
   * {@linkcode ucall_x86_set_ops} (so also by `ucall_arch_init()` for the
   * default) before the guest runs: map a GPA, write a guest global the
   * guest half reads (and `sync_global_to_guest()` it). On a TD it runs
   * before `kvm_arch_vm_finalize_vcpus()`, so what it writes is measured.
   *
   * @param vm the VM
   */
  setup?(vm: kvm_vm): void;
}

/** The `in` from `UCALL_PIO_PORT` with RDI = uc: upstream's x86 ucall. */
function ucall_x86_do_ucall(uc: bigint): void {
  // C saves what the in-kernel emulator of a nested guest might clobber
  // around the `in`; here it is one instruction, with RDI set first.
  const cpu = guest_cpu();
  const saved = cpu.get_reg("rdi");
  cpu.set_reg("rdi", BigInt.asUintN(64, uc));
  cpu.inb(UCALL_PIO_PORT);
  cpu.set_reg("rdi", saved);
}

function ucall_x86_get_ucall(vcpu: kvm_vcpu): bigint {
  const run = vcpu.run;
  if (run.exit_reason === KVM_EXIT_IO && run.io.port === UCALL_PIO_PORT) {
    const regs = kvm_regs.alloc();
    vcpu_regs_get(vcpu, regs);
    return regs.rdi;
  }
  return 0n;
}

/** Upstream's x86 ucall: `in` from port 0x1000, the host reads RDI with KVM_GET_REGS. */
export const ucall_x86_pio_ops: ucall_x86_ops = {
  name: "pio",
  do_ucall: ucall_x86_do_ucall,
  get_ucall: ucall_x86_get_ucall,
};

/** C `ucall_mmio_gpa` (guest: with the S-bit). */
const ucall_mmio_gpa = guest_global("ucall_mmio_gpa", u64);

/**
 * The TDX series (v13): an 8-byte #VE.RequestMMIO write of the address to
 * `ucall_mmio_gpa`, the first GPA after memslot 0, shared, so KVM reports it
 * with the S-bit stripped. A mismatching exit is no ucall (v13 fell through
 * to the PIO check; the later linux-cc snapshot returns NULL, as here).
 */
export const ucall_tdx_mmio_ops: ucall_x86_ops = {
  name: "tdx-mmio",
  do_ucall(uc: bigint): void {
    tdx_mmio_write(ucall_mmio_gpa.value, MMIO_SIZE_8B, BigInt.asUintN(64, uc));
  },
  get_ucall(vcpu: kvm_vcpu): bigint {
    const run = vcpu.run;
    if (
      run.exit_reason === KVM_EXIT_MMIO && run.mmio.phys_addr === vcpu.vm.ucall_mmio_addr &&
      run.mmio.len === MMIO_SIZE_8B && run.mmio.is_write
    ) {
      const d = run.mmio.data.$bytes;
      return u64.get(new DataView(d.buffer, d.byteOffset, MMIO_SIZE_8B), 0);
    }
    return 0n;
  },
};

/**
 * Sean's v12 review: expose every GPR on TDG.VP.VMCALL so that a TD's port
 * I/O carries RDI = uc like an ordinary guest's, and keep the host half
 * unchanged. It fails on a TD: KVM refuses KVM_GET_REGS (EINVAL) for a VM
 * with protected state, so the host cannot read RDI without a test-only
 * KVM change (the v13 cover letter's reason to drop it).
 *
 * The guest issues the TDCALL itself: `__tdx_hypercall()` exposes only
 * R10..R15, and the design is precisely a different RCX bitmap.
 */
export const ucall_tdx_pio_rcx_ops: ucall_x86_ops = {
  name: "tdx-pio-rcx",
  do_ucall(uc: bigint): void {
    guest_cpu().tdcall(TDG_VP_VMCALL, {
      rcx: TDVMCALL_EXPOSE_ALL_GPRS,
      r10: TDX_HYPERCALL_STANDARD,
      r11: TDG_VP_VMCALL_INSTRUCTION_IO,
      // The x86 ucall's `in %dx, %al`: one byte in from the port.
      r12: 1n,
      r13: TDG_VP_VMCALL_INSTRUCTION_IO_READ,
      r14: BigInt(UCALL_PIO_PORT),
      rdi: BigInt.asUintN(64, uc),
    });
  },
  get_ucall: ucall_x86_get_ucall,
};

/**
 * The v13 cover letter's second option: a TD's port I/O carries at most 4
 * bytes, too few for a pointer but enough for the ucall's slot in the pool,
 * which the host maps back to the slot's address. Dropped upstream because
 * the common ucall code has to expose its pool to the arch code
 * (`ucall_pool_index` / `ucall_pool_hva`), for every architecture.
 */
export const ucall_tdx_pio_index_ops: ucall_x86_ops = {
  name: "tdx-pio-index",
  do_ucall(uc: bigint): void {
    let data = 0;
    if (BigInt.asUintN(64, uc) === BigInt.asUintN(64, GUEST_UCALL_FAILED)) {
      data = PIO_INDEX_FAILED;
    } else if (uc) {
      const index = ucall_pool_index(uc);
      data = index < 0 ? PIO_INDEX_FAILED : index + 1;
    }
    tdg_vp_vmcall_instruction_io(
      UCALL_PIO_PORT,
      PIO_INDEX_SIZE,
      TDG_VP_VMCALL_INSTRUCTION_IO_WRITE,
      ref(BigInt(data)),
    );
  },
  get_ucall(vcpu: kvm_vcpu): bigint {
    const run = vcpu.run;
    if (
      run.exit_reason !== KVM_EXIT_IO || run.io.port !== UCALL_PIO_PORT ||
      run.io.direction !== KVM_EXIT_IO_OUT || run.io.size !== PIO_INDEX_SIZE
    ) {
      return 0n;
    }
    const data = user_memory(vcpu.run_hva + BigInt(run.io.data_offset), PIO_INDEX_SIZE);
    const v = u32.get(new DataView(data.buffer, data.byteOffset, PIO_INDEX_SIZE), 0);
    if (v === 0) return 0n;
    if (v === PIO_INDEX_FAILED) return BigInt.asUintN(64, GUEST_UCALL_FAILED);
    const hva = ucall_pool_hva(vcpu.vm, v - 1);
    TEST_ASSERT(hva !== 0n, "PIO ucall names slot %u, outside the ucall pool", v - 1);
    return hva;
  },
};

/**
 * sean-jc's branch: TDG.VP.VMCALL<ReportFatalError> with R12 =
 * `UCALL_TDX_MAGIC` and R13 = uc. KVM dumps the TD's exposed registers into
 * `system_event.data[]` (data[12] = R12, data[13] = R13), so 8 bytes reach the
 * host; a fatal error without the magic stays a fatal error.
 *
 * As sean-jc's `__tdcall()`, R12 goes out as is:
 * `tdg_vp_vmcall_report_fatal_error()` would set bit 63 of it (the GHCI's
 * "R13 is a GPA"), and the host matches the magic exactly.
 */
export const ucall_tdx_fatal_error_ops: ucall_x86_ops = {
  name: "tdx-fatal-error",
  do_ucall(uc: bigint): void {
    __tdx_hypercall({
      r10: TDX_HYPERCALL_STANDARD,
      r11: TDG_VP_VMCALL_REPORT_FATAL_ERROR,
      r12: UCALL_TDX_MAGIC,
      r13: BigInt.asUintN(64, uc),
      r14: 0n,
      r15: 0n,
    }, 0);
  },
  get_ucall(vcpu: kvm_vcpu): bigint {
    const run = vcpu.run;
    if (
      run.exit_reason === KVM_EXIT_SYSTEM_EVENT &&
      run.system_event.type === KVM_SYSTEM_EVENT_TDX_FATAL &&
      run.system_event.data.at(12) === UCALL_TDX_MAGIC
    ) {
      return run.system_event.data.at(13);
    }
    return 0n;
  },
};

/**
 * Every design, by the index the guest is told. A new design is an entry
 * here (the guest and the host must agree on the index).
 */
export const ucall_x86_ops_table: readonly ucall_x86_ops[] = [
  ucall_x86_pio_ops,
  ucall_tdx_mmio_ops,
  ucall_tdx_pio_rcx_ops,
  ucall_tdx_pio_index_ops,
  ucall_tdx_fatal_error_ops,
];

/** sean-jc's synced `ucall_x86_ops`: here the index of the VM's ops in the table. */
const ucall_ops_index = guest_global("ucall_x86_ops", u8);
/** Host: each VM's ops. */
const vm_ucall_ops = new WeakMap<kvm_vm, ucall_x86_ops>();

/**
 * C `ucall_arch_init(vm, mmio_gpa)`: the VM's default ucall design.
 *
 * @param vm the VM
 * @param mmio_gpa the first GPA after memslot 0
 */
export function ucall_arch_init(vm: kvm_vm, mmio_gpa: gpa_t): void {
  vm.ucall_mmio_addr = mmio_gpa;
  if (vm.type === KVM_X86_TDX_VM) {
    ucall_mmio_gpa.value = mmio_gpa | vm.arch.s_bit;
    sync_global_to_guest(vm, ucall_mmio_gpa);
  }
  ucall_x86_set_ops(vm, vm.type === KVM_X86_TDX_VM ? ucall_tdx_mmio_ops : ucall_x86_pio_ops);
}

/**
 * Choose how `vm`'s guest makes ucalls. Call it after `__vm_create()` and
 * before the guest runs; for a TD before `kvm_arch_vm_finalize_vcpus()`,
 * since the choice is a guest global in memory that finalize measures and
 * makes private (so a TD's MRTD also records its ucall design).
 *
 * @param vm the VM
 * @param ops one of {@linkcode ucall_x86_ops_table}
 */
export function ucall_x86_set_ops(vm: kvm_vm, ops: ucall_x86_ops): void {
  const index = ucall_x86_ops_table.indexOf(ops);
  TEST_ASSERT(index >= 0, "ucall ops '%s' are not in ucall_x86_ops_table", ops.name);
  vm_ucall_ops.set(vm, ops);
  ucall_ops_index.value = index;
  sync_global_to_guest(vm, ucall_ops_index);
  ops.setup?.(vm);
}

/**
 * The ucall design of `vm`.
 *
 * @param vm the VM
 * @returns its ops (upstream's PIO for a VM the library did not create with a ucall pool)
 */
export function ucall_x86_get_ops(vm: kvm_vm): ucall_x86_ops {
  return vm_ucall_ops.get(vm) ?? ucall_x86_pio_ops;
}

/**
 * C `ucall_arch_do_ucall(uc)` (guest): exit to the host with the ucall's
 * host address.
 *
 * @param uc the host address of the ucall (or `GUEST_UCALL_FAILED`, or 0)
 */
export function ucall_arch_do_ucall(uc: bigint): void {
  ucall_x86_ops_table[ucall_ops_index.value]!.do_ucall(uc);
}

/**
 * C `ucall_arch_get_ucall(vcpu)` (host): the ucall's host address if the
 * exit is a ucall, else 0.
 *
 * @param vcpu the vCPU
 * @returns the address, or 0
 */
export function ucall_arch_get_ucall(vcpu: kvm_vcpu): bigint {
  return ucall_x86_get_ops(vcpu.vm).get_ucall(vcpu);
}
