// SPDX-License-Identifier: GPL-2.0-only
/**
 * `KVM_FEP` (the forced-emulation prefix) for TypeScript guest code: the
 * `*_safe_fep` helpers of upstream's `include/x86/processor.h` and the
 * machinery they need.
 *
 * C guests write `KVM_FEP` inside inline asm, so the prefixed instruction is
 * the one right after `ud2; .byte 'k', 'v', 'm'` in the code stream. With
 * `kvm.force_emulation_prefix` set, KVM's #UD interception recognises the
 * signature, advances RIP past it and emulates the next instruction
 * (`handle_ud()` in arch/x86/kvm/x86.c). TypeScript guest code has no code
 * stream of its own, so the prefixed instructions live in small machine-code
 * stubs, assembled with the in-repo assembler (`lib/x86/asm/`), copied into
 * guest memory by the host and entered with the `call()` intrinsic (SysV
 * arguments in, RAX out; other outputs are read back with `reg_read()` as an
 * asm output operand would be).
 *
 * The `*_safe_fep` stubs follow upstream's `KVM_ASM_SAFE` protocol: R9 holds
 * `KVM_EXCEPTION_MAGIC`, R10 the address of the instruction that may fault
 * and R11 where to resume. An exception there with no handler installed for
 * its vector is fixed up by {@linkcode kvm_fixup_exception} (called from the
 * IDT stubs' `route_exception`), which puts the vector in R9 and the error
 * code in R10 and resumes at R11.
 *
 * {@linkcode vm_load_asm} is the general loader: tests whose C code puts
 * labels around an instruction (userspace_msr_exit_test's `em_rdmsr_start`)
 * assemble their own stubs and publish the label addresses to the guest;
 * {@linkcode KVM_ASM_SAFE} builds such a stub for an instruction of a test's
 * own (smaller_maxphyaddr_emulation_test's `flds`).
 *
 * Stubs are loaded when the VM is created (`kvm_arch_vm_post_create()`), and
 * only when {@linkcode is_forced_emulation_enabled} is set, as upstream's
 * guests use `KVM_FEP` only then; a helper called without them stops the
 * guest with a message naming the module parameter. VMs with protected
 * memory (SEV, TDX) get none: their memory cannot be written by the host
 * after launch, and KVM cannot emulate their instructions anyway.
 *
 * @module
 */

import { u64 } from "../../include/c/layout.ts";
import { type gva_t, type kvm_vm, MEM_REGION_CODE } from "../../include/kvm_util_types.ts";
import { KVM_UTIL_MIN_VADDR } from "../../include/kvm_util_types.ts";
import type { Ref } from "../../include/kvm_util_types.ts";
import { guest_global } from "../guest_globals.ts";
import { __vm_alloc, memcpy_to_guest, sync_global_to_guest } from "../kvm_util.ts";
import { GUEST_FAIL } from "../ucall_common.ts";
import { type asm_object, assembler } from "./asm/assembler.ts";
import { DE_VECTOR } from "../../include/asm/kvm.ts";
import {
  VCPU_REGS_R10,
  VCPU_REGS_R9,
  VCPU_REGS_RAX,
  VCPU_REGS_RDX,
} from "../../include/asm/kvm_vcpu_regs.ts";
import { KVM_EXCEPTION_MAGIC, KVM_MAGIC_DE_VECTOR } from "../../include/x86/processor.ts";
import { type ex_regs_view, guest_call, reg_read } from "./guest.ts";

/**
 * C `KVM_FEP`: `ud2; .byte 'k', 'v', 'm'`, as assembler source lines (one
 * statement each, for `a.line()`).
 */
export const KVM_FEP: readonly string[] = ["ud2", ".byte 0x6b, 0x76, 0x6d"];

/**
 * Assembles `lines` (64-bit AT&T source, `a.line()` syntax) into fresh guest
 * code memory of `vm` and copies the bytes there.
 *
 * @param vm the VM
 * @param lines the source lines
 * @returns the assembled object; `labels` are guest virtual addresses
 */
export function vm_load_asm(vm: kvm_vm, lines: readonly string[]): asm_object {
  // Branches and RIP-relative operands do not depend on the origin, so the
  // size found at origin 0 is the size at the final address.
  const size = assemble(0n, lines).bytes.length;
  const gva = __vm_alloc(vm, Math.max(size, 1), KVM_UTIL_MIN_VADDR, MEM_REGION_CODE);
  const obj = assemble(gva, lines);
  memcpy_to_guest(vm, gva, obj.bytes);
  return obj;
}

function assemble(origin: bigint, lines: readonly string[]): asm_object {
  const a = assembler({ origin });
  a.line(".code64");
  for (const l of lines) a.line(l);
  return a.assemble();
}

/**
 * The instructions a `*_safe_fep` stub exists for. Each stub takes RAX, RCX
 * and RDX as its three SysV arguments (RDI, RSI, RDX), runs
 * `KVM_ASM_SAFE_FEP(insn)` and returns with the instruction's outputs in
 * RAX/RDX, the vector in R9 and the error code in R10.
 */
export type fep_insn = "rdmsr" | "wrmsr" | "rdpmc" | "xgetbv" | "xsetbv" | "cpuid";

const FEP_INSNS: readonly fep_insn[] = ["rdmsr", "wrmsr", "rdpmc", "xgetbv", "xsetbv", "cpuid"];

/**
 * C `KVM_ASM_SAFE(insn)` as source lines for {@linkcode vm_load_asm}: a
 * function (label `name`) taking RAX, RCX and RDX as its SysV arguments
 * (RDI, RSI, RDX), running `insn` under the `KVM_ASM_SAFE` protocol and
 * returning with the instruction's outputs in place, the vector in R9 (0 if
 * nothing faulted) and the error code in R10. `insn` is one or more lines
 * (`".byte 0xd9, 0x00"` for an instruction the assembler lacks); labels
 * `<name>_start`/`<name>_end` mark the instruction and where it resumes.
 *
 * @param name the function's label
 * @param insn the instruction's source lines
 * @returns the source lines
 */
export function KVM_ASM_SAFE(name: string, insn: readonly string[]): string[] {
  return __KVM_ASM_SAFE(name, insn, []);
}

/**
 * C `KVM_ASM_SAFE_FEP(insn)`: as {@linkcode KVM_ASM_SAFE}, with `KVM_FEP`
 * before the instruction.
 *
 * @param name the function's label
 * @param insn the instruction's source lines
 * @returns the source lines
 */
export function KVM_ASM_SAFE_FEP(name: string, insn: readonly string[]): string[] {
  return __KVM_ASM_SAFE(name, insn, KVM_FEP);
}

function __KVM_ASM_SAFE(name: string, insn: readonly string[], fep: readonly string[]): string[] {
  return [
    `${name}:`,
    "mov %rdi, %rax",
    "mov %rsi, %rcx",
    `mov $${KVM_EXCEPTION_MAGIC}, %r9`,
    `lea ${name}_start(%rip), %r10`,
    `lea ${name}_end(%rip), %r11`,
    ...fep,
    `${name}_start:`,
    ...insn,
    "xor %r9, %r9",
    `${name}_end:`,
    "ret",
  ];
}

/** The library's stubs: one `KVM_ASM_SAFE_FEP` function per instruction. */
function fep_stub_lines(): string[] {
  return FEP_INSNS.flatMap((insn) => KVM_ASM_SAFE_FEP(`kvm_asm_safe_fep_${insn}`, [insn]));
}

/**
 * Calls a {@linkcode KVM_ASM_SAFE} function loaded at `gva` (guest side).
 *
 * @param gva the function's address (its label)
 * @param inputs the input registers
 * @returns 0, or the exception vector; R10 holds the error code after a fault
 */
export function kvm_asm_safe_call(gva: gva_t, inputs: fep_inputs = {}): number {
  const u = (v: bigint | number | undefined): bigint => BigInt.asUintN(64, BigInt(v ?? 0));
  guest_call(gva, u(inputs.rax), u(inputs.rcx), u(inputs.rdx));
  return Number(reg_read(VCPU_REGS_R9) & 0xffn);
}

let stub_offsets: ReadonlyMap<string, bigint> | undefined;

/** Label offsets from the image's start (the same in every VM). */
function fep_offsets(): ReadonlyMap<string, bigint> {
  return stub_offsets ??= assemble(0n, fep_stub_lines()).labels;
}

/** Where the host loaded the `*_safe_fep` stubs (0: not loaded). */
export const kvm_fep_stubs: guest_global<bigint> = guest_global("kvm_fep_stubs", u64);

/**
 * Loads the `*_safe_fep` stubs into `vm` and publishes their address to the
 * guest. `kvm_arch_vm_post_create()` calls it when forced emulation is
 * enabled.
 *
 * @param vm the VM
 * @returns the stubs' object (labels are GVAs: `kvm_asm_safe_fep_rdmsr_start`, ...)
 */
export function vm_load_fep_stubs(vm: kvm_vm): asm_object {
  const obj = vm_load_asm(vm, fep_stub_lines());
  kvm_fep_stubs.value = obj.origin;
  sync_global_to_guest(vm, kvm_fep_stubs);
  kvm_fep_stubs.value = 0n;
  return obj;
}

/**
 * The guest address of label `name` of the loaded stubs (e.g.
 * `"kvm_asm_safe_fep_rdmsr_start"`, the instruction a #GP handler sees in `regs->rip`).
 * Stops the guest if the host loaded no stubs.
 *
 * @param name the label
 * @returns its GVA
 */
export function kvm_fep_label(name: string): gva_t {
  const base = kvm_fep_stubs.value;
  if (!base) {
    GUEST_FAIL(
      "KVM_FEP used, but the host loaded no forced-emulation stubs: kvm.force_emulation_prefix is 0 (or the VM has protected memory)",
    );
  }
  const off = fep_offsets().get(name);
  if (off === undefined) GUEST_FAIL("No KVM_FEP stub label '%s'", name);
  return base + off!;
}

/** Inputs of {@linkcode kvm_asm_safe_fep}: the registers the instruction reads. */
export interface fep_inputs {
  /** RAX ("a"). */
  rax?: bigint | number;
  /** RCX ("c"). */
  rcx?: bigint | number;
  /** RDX ("d"). */
  rdx?: bigint | number;
}

/**
 * C `kvm_asm_safe_fep(insn, inputs...)`: `insn` behind `KVM_FEP`, so KVM's
 * emulator runs it; an exception it raises is returned, not delivered.
 * Outputs are read with `reg_read()` afterwards (RAX, RDX; R10 holds the
 * error code after a fault), as C reads its asm outputs.
 *
 * @param insn the instruction (one of {@linkcode fep_insn})
 * @param inputs the input registers
 * @returns 0, or the exception vector
 */
export function kvm_asm_safe_fep(insn: fep_insn, inputs: fep_inputs = {}): number {
  if (!FEP_INSNS.includes(insn)) GUEST_FAIL("kvm_asm_safe_fep: no stub for '%s'", insn);
  return kvm_asm_safe_call(kvm_fep_label(`kvm_asm_safe_fep_${insn}`), inputs);
}

/**
 * C `kvm_asm_safe_ec_fep(insn, error_code, inputs...)`: as
 * {@linkcode kvm_asm_safe_fep}, also giving the error code.
 *
 * @param insn the instruction
 * @param error_code receives the error code (0 when nothing faulted)
 * @param inputs the input registers
 * @returns 0, or the exception vector
 */
export function kvm_asm_safe_ec_fep(
  insn: fep_insn,
  error_code: Ref<bigint>,
  inputs: fep_inputs = {},
): number {
  const vector = kvm_asm_safe_fep(insn, inputs);
  error_code.value = vector ? reg_read(VCPU_REGS_R10) : 0n;
  return vector;
}

function edx_eax(): bigint {
  return ((reg_read(VCPU_REGS_RDX) & 0xffffffffn) << 32n) | (reg_read(VCPU_REGS_RAX) & 0xffffffffn);
}

/**
 * C `rdmsr_safe_fep(msr, &val)`: `KVM_FEP rdmsr`.
 *
 * @param msr the MSR index
 * @param val receives EDX:EAX
 * @returns 0, or the exception vector
 */
export function rdmsr_safe_fep(msr: number, val: Ref<bigint>): number {
  const vector = kvm_asm_safe_fep("rdmsr", { rcx: msr >>> 0 });
  val.value = edx_eax();
  return vector;
}

/**
 * C `wrmsr_safe_fep(msr, val)`: `KVM_FEP wrmsr`.
 *
 * @param msr the MSR index
 * @param val the value
 * @returns 0, or the exception vector
 */
export function wrmsr_safe_fep(msr: number, val: bigint | number): number {
  const v = BigInt.asUintN(64, BigInt(val));
  return kvm_asm_safe_fep("wrmsr", { rax: v & 0xffffffffn, rcx: msr >>> 0, rdx: v >> 32n });
}

/**
 * C `rdpmc_safe_fep(idx, &val)`: `KVM_FEP rdpmc`.
 *
 * @param idx the counter index (ECX)
 * @param val receives EDX:EAX
 * @returns 0, or the exception vector
 */
export function rdpmc_safe_fep(idx: number, val: Ref<bigint>): number {
  const vector = kvm_asm_safe_fep("rdpmc", { rcx: idx >>> 0 });
  val.value = edx_eax();
  return vector;
}

/**
 * C `xgetbv_safe_fep(index, &val)`: `KVM_FEP xgetbv`.
 *
 * @param index the XCR (ECX)
 * @param val receives EDX:EAX
 * @returns 0, or the exception vector
 */
export function xgetbv_safe_fep(index: number, val: Ref<bigint>): number {
  const vector = kvm_asm_safe_fep("xgetbv", { rcx: index >>> 0 });
  val.value = edx_eax();
  return vector;
}

/**
 * `KVM_FEP xsetbv` (upstream's `xsetbv_safe()` behind the prefix).
 *
 * @param index the XCR (ECX)
 * @param value the value (EDX:EAX)
 * @returns 0, or the exception vector
 */
export function xsetbv_safe_fep(index: number, value: bigint | number): number {
  const v = BigInt.asUintN(64, BigInt(value));
  return kvm_asm_safe_fep("xsetbv", { rax: v & 0xffffffffn, rcx: index >>> 0, rdx: v >> 32n });
}

/**
 * C `kvm_fixup_exception(regs)` (lib/x86/processor.c): an exception at the
 * instruction a `KVM_ASM_SAFE` sequence marked (R9 = `KVM_EXCEPTION_MAGIC`,
 * RIP = R10) resumes at R11 with the vector in R9 and the error code in R10.
 *
 * @param regs the exception frame
 * @returns whether the exception was fixed up
 */
export function kvm_fixup_exception(regs: ex_regs_view): boolean {
  if (regs.r9 !== KVM_EXCEPTION_MAGIC || regs.rip !== regs.r10) return false;

  if (regs.vector === BigInt(DE_VECTOR)) regs.vector = BigInt(KVM_MAGIC_DE_VECTOR);

  regs.rip = regs.r11;
  regs.r9 = regs.vector;
  regs.r10 = regs.error_code;
  return true;
}
