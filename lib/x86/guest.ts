// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest-side helpers of `include/x86/processor.h` (`rdmsr`, `wrmsr`,
 * `rdmsr_safe`, `cpuid`, port I/O, control registers, `safe_halt`,
 * `kvm_hypercall`, ...) with their C names and argument order, over the
 * simulated CPU's intrinsics (`sim/cpu/insn.ts`, loaded by
 * `lib/guest_insn.ts`). Each helper is the instruction its C twin's inline
 * asm executes, with the same register side effects, so KVM sees the same
 * exits. `route_exception`, the guest half of exception handling, is here
 * too.
 *
 * These run in vCPU workers only; on the host they throw.
 *
 * @module
 */

import type { Ref } from "../../include/kvm_util_types.ts";
import type { kvm_x86_cpu_feature, kvm_x86_cpu_property } from "../../include/x86/processor.ts";
import { guest_cpu } from "../guest_insn.ts";
import { type guest_ptr, guest_read_u64 } from "../guest_memory.ts";

export type { ex_regs_view } from "../../include/x86/ex_regs.ts";
import type { ex_regs_view } from "../../include/x86/ex_regs.ts";

/**
 * C `inb(port)`: `in al, dx`.
 *
 * @param port the port
 * @returns the byte read
 */
export function inb(port: number): number {
  return guest_cpu().inb(port);
}

/**
 * C `inw(port)`.
 *
 * @param port the port
 * @returns the word read
 */
export function inw(port: number): number {
  return guest_cpu().inw(port);
}

/**
 * C `inl(port)`.
 *
 * @param port the port
 * @returns the dword read
 */
export function inl(port: number): number {
  return guest_cpu().inl(port);
}

/**
 * C `outb(port, value)`: `out dx, al` (the selftests' helpers take the port first).
 *
 * @param port the port
 * @param value the byte
 */
export function outb(port: number, value: number): void {
  guest_cpu().outb(port, value);
}

/**
 * C `outw(port, value)`.
 *
 * @param port the port
 * @param value the word
 */
export function outw(port: number, value: number): void {
  guest_cpu().outw(port, value);
}

/**
 * C `outl(port, value)`.
 *
 * @param port the port
 * @param value the dword
 */
export function outl(port: number, value: number): void {
  guest_cpu().outl(port, value);
}

/**
 * `cld; rep insb` with DX = `port`, RDI = `buffer`, RCX = `count` (what C
 * guests write as inline asm). On return RDI and RCX hold the values the
 * instruction left, as the asm's `"+D"`/`"+c"` outputs: read them with
 * {@linkcode reg_read}.
 *
 * @param port the port
 * @param buffer the destination GVA
 * @param count how many bytes
 */
export function insb(port: number, buffer: guest_ptr, count: number): void {
  guest_cpu().insb(port, buffer, count);
}

/**
 * `rep outsb`: `count` bytes from guest memory at `buffer` to `port`.
 *
 * @param port the port
 * @param buffer the source GVA
 * @param count how many bytes
 */
export function outsb(port: number, buffer: guest_ptr, count: number): void {
  guest_cpu().outsb(port, buffer, count);
}

/**
 * A general-purpose register by number (`VCPU_REGS_RAX` = 0 ... `R15` =
 * 15): how TypeScript guest code reads an inline-asm output operand.
 *
 * @param reg the register number
 * @returns its value
 */
export function reg_read(reg: number): bigint {
  return guest_cpu().reg_read(reg);
}

/**
 * Write a general-purpose register by number: an inline-asm input operand.
 *
 * @param reg the register number
 * @param value the value
 */
export function reg_write(reg: number, value: bigint): void {
  guest_cpu().reg_write(reg, value);
}

/**
 * C `rdmsr(msr)`: a #GP goes to the guest's handler (or fails the guest).
 *
 * @param msr the MSR index
 * @returns EDX:EAX
 */
export function rdmsr(msr: number): bigint {
  return guest_cpu().rdmsr(msr);
}

/**
 * C `wrmsr(msr, value)`.
 *
 * @param msr the MSR index
 * @param value the value
 */
export function wrmsr(msr: number, value: number | bigint): void {
  guest_cpu().wrmsr(msr, BigInt.asUintN(64, BigInt(value)));
}

/**
 * C `rdmsr_safe(msr, &val)`: the vector of the exception `rdmsr` raised, or 0.
 * `val` gets EDX:EAX, as the C macro stores them whatever happened.
 *
 * @param msr the MSR index
 * @param val receives the value
 * @returns 0, or the exception vector
 */
export function rdmsr_safe(msr: number, val: Ref<bigint>): number {
  return guest_cpu().rdmsr_safe(msr, val);
}

/**
 * C `wrmsr_safe(msr, val)`: the vector of the exception `wrmsr` raised, or 0.
 *
 * @param msr the MSR index
 * @param val the value
 * @returns 0, or the exception vector
 */
export function wrmsr_safe(msr: number, val: number | bigint): number {
  return guest_cpu().wrmsr_safe(msr, BigInt.asUintN(64, BigInt(val)));
}

/**
 * C `KVM_ASM_SAFE(insn)`: run one instruction (one intrinsic call) so that
 * an exception it raises is returned instead of delivered through the IDT.
 *
 * @param insn the instruction
 * @returns 0, or the exception vector
 */
export function kvm_asm_safe(insn: () => void): number {
  return guest_cpu().kvm_asm_safe(insn);
}

/**
 * C `kvm_asm_safe_ec(insn, error_code)`: {@linkcode kvm_asm_safe}, and the
 * error code of the exception it caught (KVM_ASM_SAFE's R10) into
 * `error_code`; 0 there when nothing faulted, as the library's
 * `kvm_asm_safe_ec_fep()` reports it (upstream leaves R10's value then,
 * which callers only read after a fault).
 *
 * @param insn the instruction
 * @param error_code receives the exception's error code
 * @returns 0, or the exception vector
 */
export function kvm_asm_safe_ec(insn: () => void, error_code: Ref<bigint>): number {
  const cpu = guest_cpu();
  const vector = cpu.kvm_asm_safe(insn);
  error_code.value = vector ? BigInt(cpu.kvm_asm_safe_error_code()) : 0n;
  return vector;
}

/**
 * C `__cpuid(function, index, &eax, &ebx, &ecx, &edx)`.
 *
 * @param fn the leaf
 * @param index the subleaf
 * @param eax receives EAX
 * @param ebx receives EBX
 * @param ecx receives ECX
 * @param edx receives EDX
 */
export function __cpuid(
  fn: number,
  index: number,
  eax: Ref<number>,
  ebx: Ref<number>,
  ecx: Ref<number>,
  edx: Ref<number>,
): void {
  const r = guest_cpu().cpuid(fn >>> 0, index >>> 0);
  eax.value = r.eax >>> 0;
  ebx.value = r.ebx >>> 0;
  ecx.value = r.ecx >>> 0;
  edx.value = r.edx >>> 0;
}

/**
 * C `cpuid(function, &eax, &ebx, &ecx, &edx)` (index 0).
 *
 * @param fn the leaf
 * @param eax receives EAX
 * @param ebx receives EBX
 * @param ecx receives ECX
 * @param edx receives EDX
 */
export function cpuid(
  fn: number,
  eax: Ref<number>,
  ebx: Ref<number>,
  ecx: Ref<number>,
  edx: Ref<number>,
): void {
  __cpuid(fn, 0, eax, ebx, ecx, edx);
}

function cpuid_reg(fn: number, index: number, reg: number): number {
  const r = guest_cpu().cpuid(fn >>> 0, index >>> 0);
  return [r.eax, r.ebx, r.ecx, r.edx][reg]! >>> 0;
}

/**
 * C `this_cpu_has(feature)` (guest): the bit in the vCPU's own CPUID.
 *
 * @param feature the feature
 * @returns whether it is set
 */
export function this_cpu_has(feature: kvm_x86_cpu_feature): boolean {
  return ((cpuid_reg(feature.function, feature.index, feature.reg) >>> feature.bit) & 1) !== 0;
}

/**
 * C `this_cpu_property(property)` (guest).
 *
 * @param property the property
 * @returns its value in the vCPU's own CPUID
 */
export function this_cpu_property(property: kvm_x86_cpu_property): number {
  const v = cpuid_reg(property.function, property.index, property.reg);
  const width = property.hi_bit - property.lo_bit + 1;
  return width >= 32 ? v : (v >>> property.lo_bit) & ((1 << width) - 1);
}

/**
 * C `get_cr0()`.
 *
 * @returns CR0
 */
export function get_cr0(): bigint {
  return guest_cpu().get_cr0();
}

/**
 * C `get_cr2()`: the last #PF address.
 *
 * @returns CR2
 */
export function get_cr2(): bigint {
  return guest_cpu().get_cr2();
}

/**
 * C `get_cr3()`.
 *
 * @returns CR3
 */
export function get_cr3(): bigint {
  return guest_cpu().get_cr3();
}

/**
 * C `get_cr4()`.
 *
 * @returns CR4
 */
export function get_cr4(): bigint {
  return guest_cpu().get_cr4();
}

/**
 * C `get_cr8()`.
 *
 * @returns CR8 (the TPR)
 */
export function get_cr8(): bigint {
  return guest_cpu().get_cr8();
}

/**
 * C `set_cr0(val)`.
 *
 * @param val the value
 */
export function set_cr0(val: bigint): void {
  guest_cpu().set_cr0(val);
}

/**
 * C `set_cr3(val)`: also flushes the non-global TLB entries.
 *
 * @param val the value
 */
export function set_cr3(val: bigint): void {
  guest_cpu().set_cr3(val);
}

/**
 * C `set_cr4(val)`.
 *
 * @param val the value
 */
export function set_cr4(val: bigint): void {
  guest_cpu().set_cr4(val);
}

/**
 * C `set_cr8(val)`.
 *
 * @param val the value
 */
export function set_cr8(val: bigint): void {
  guest_cpu().set_cr8(val);
}

/**
 * The members of C `struct desc_ptr` (the layout is `desc_ptr` in
 * `include/x86/processor.ts`) as guest code passes and gets them.
 */
export interface desc_ptr_value {
  /** The limit. */
  size: number;
  /** The linear base address. */
  address: bigint;
}

/**
 * C `get_gdt()`.
 *
 * @returns GDTR
 */
export function get_gdt(): desc_ptr_value {
  return guest_cpu().get_gdt();
}

/**
 * C `get_idt()`.
 *
 * @returns IDTR
 */
export function get_idt(): desc_ptr_value {
  return guest_cpu().get_idt();
}

/**
 * C `set_idt(&desc)`: `lidt` of the pseudo-descriptor `desc`. C passes a
 * pointer to a local; the TypeScript guest stores the operand just below RSP
 * (the red zone a leaf function's locals use) and loads it from there.
 *
 * @param desc the IDT limit and base
 */
export function set_idt(desc: desc_ptr_value): void {
  const cpu = guest_cpu();
  const operand = (cpu.reg_read(4) - 16n) & ~15n;
  cpu.writew(desc.size, operand);
  cpu.writeq(desc.address, operand + 2n);
  cpu.lidt(operand);
}

/**
 * C `set_gdt(&desc)`: `lgdt`, as {@linkcode set_idt}.
 *
 * @param desc the GDT limit and base
 */
export function set_gdt(desc: desc_ptr_value): void {
  const cpu = guest_cpu();
  const operand = (cpu.reg_read(4) - 16n) & ~15n;
  cpu.writew(desc.size, operand);
  cpu.writeq(desc.address, operand + 2n);
  cpu.lgdt(operand);
}

/**
 * C `rdtsc()`.
 *
 * @returns the TSC
 */
export function rdtsc(): bigint {
  return guest_cpu().rdtsc();
}

/**
 * C `xgetbv(index)`.
 *
 * @param index the XCR
 * @returns its value
 */
export function xgetbv(index: number): bigint {
  return guest_cpu().xgetbv(index);
}

/**
 * C `xsetbv(index, value)`.
 *
 * @param index the XCR
 * @param value the value
 */
export function xsetbv(index: number, value: bigint): void {
  guest_cpu().xsetbv(index, value);
}

/**
 * `asm volatile("hlt")`: exits with `KVM_EXIT_HLT` when there is no in-kernel
 * local APIC.
 */
export function hlt(): void {
  guest_cpu().hlt();
}

/** C `safe_halt()`: `sti; hlt`. */
export function safe_halt(): void {
  guest_cpu().safe_halt();
}

/** C `cli()`. */
export function cli(): void {
  guest_cpu().cli();
}

/** C `sti()`. */
export function sti(): void {
  guest_cpu().sti();
}

/** `asm volatile("ud2")`: #UD; returns only if a handler skips it (`regs.rip += 2n`). */
export function ud2(): void {
  guest_cpu().ud2();
}

/** C `cpu_relax()`: `pause`. */
export function cpu_relax(): void {
  guest_cpu().pause();
}

/** C `wbinvd()`. */
export function wbinvd(): void {
  guest_cpu().wbinvd();
}

/**
 * C `invlpg(gva)`.
 *
 * @param gva the address
 */
export function invlpg(gva: guest_ptr): void {
  guest_cpu().invlpg(gva);
}

/**
 * C `__xen_hypercall(nr, a0, a1)`: `vmcall` with the Xen ABI's registers,
 * RAX = `nr`, RDI = `a0` and RSI = `a1` (a pointer in C), as
 * `X86_HYPERCALL("a"(nr), "D"(a0), "S"(a1))` loads them.
 *
 * @param nr the hypercall number
 * @param a0 argument 0
 * @param a1 argument 1 (a guest address)
 * @returns RAX
 */
export function __xen_hypercall(
  nr: bigint | number,
  a0: bigint | number,
  a1: guest_ptr | bigint | number,
): bigint {
  const cpu = guest_cpu();
  cpu.set_reg("rax", BigInt.asUintN(64, BigInt(nr)));
  cpu.set_reg("rdi", BigInt.asUintN(64, BigInt(a0)));
  cpu.set_reg("rsi", BigInt.asUintN(64, BigInt(a1)));
  return cpu.vmcall();
}

/**
 * C `kvm_hypercall(nr, a0, a1, a2, a3)`: `vmcall` with RAX = `nr` and RBX,
 * RCX, RDX, RSI = the arguments.
 *
 * @param nr the hypercall number
 * @param a0 argument 0
 * @param a1 argument 1
 * @param a2 argument 2
 * @param a3 argument 3
 * @returns RAX
 */
export function kvm_hypercall(
  nr: bigint | number,
  a0: bigint | number = 0n,
  a1: bigint | number = 0n,
  a2: bigint | number = 0n,
  a3: bigint | number = 0n,
): bigint {
  return guest_cpu().kvm_hypercall(BigInt(nr), BigInt(a0), BigInt(a1), BigInt(a2), BigInt(a3));
}

/**
 * C's indirect call `((void (*)(...))gva)(args...)`: run the guest function
 * whose code is at `gva`, with RIP at its code record while it runs.
 *
 * @param gva the function's code address
 * @param args its arguments
 * @returns what it returns
 */
export function guest_call(gva: guest_ptr, ...args: unknown[]): unknown {
  return guest_cpu().call(gva, ...args);
}

/**
 * C `route_exception(regs)` (guest): call the handler installed for
 * `regs->vector` in the table at `handlers_gva`.
 *
 * @param regs the exception frame
 * @param handlers_gva the handler table (the `exception_handlers` guest global)
 * @returns whether a handler ran
 */
export function route_exception(regs: ex_regs_view, handlers_gva: bigint): boolean {
  const vector = Number(regs.vector);
  const handler = handlers_gva ? guest_read_u64(handlers_gva + BigInt(vector * 8)) : 0n;
  if (handler) {
    guest_call(handler, regs);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// The rest of processor.h's guest-side helpers (baseline kvm-x86 next,
// 1a27afa0511e).

// KVM's `VCPU_SREG_*` numbering, which the CPU model's read_sreg() takes.
const VCPU_SREG_ES = 0, VCPU_SREG_CS = 1, VCPU_SREG_SS = 2, VCPU_SREG_DS = 3;
const VCPU_SREG_FS = 4, VCPU_SREG_GS = 5;

/**
 * C `get_es()`: `mov %es, r16`.
 *
 * @returns the ES selector
 */
export function get_es(): number {
  return guest_cpu().read_sreg(VCPU_SREG_ES);
}

/**
 * C `get_cs()`.
 *
 * @returns the CS selector
 */
export function get_cs(): number {
  return guest_cpu().read_sreg(VCPU_SREG_CS);
}

/**
 * C `get_ss()`.
 *
 * @returns the SS selector
 */
export function get_ss(): number {
  return guest_cpu().read_sreg(VCPU_SREG_SS);
}

/**
 * C `get_ds()`.
 *
 * @returns the DS selector
 */
export function get_ds(): number {
  return guest_cpu().read_sreg(VCPU_SREG_DS);
}

/**
 * C `get_fs()`.
 *
 * @returns the FS selector
 */
export function get_fs(): number {
  return guest_cpu().read_sreg(VCPU_SREG_FS);
}

/**
 * C `get_gs()`.
 *
 * @returns the GS selector
 */
export function get_gs(): number {
  return guest_cpu().read_sreg(VCPU_SREG_GS);
}

/**
 * C `get_tr()`: `str`.
 *
 * @returns the TR selector
 */
export function get_tr(): number {
  return guest_cpu().str();
}

/**
 * C `__this_cpu_has(function, index, reg, lo, hi)`: bits `hi:lo` of one
 * register of the vCPU's CPUID.
 *
 * @param fn the leaf
 * @param index the subleaf
 * @param reg `KVM_CPUID_EAX`..`KVM_CPUID_EDX`
 * @param lo the lowest bit
 * @param hi the highest bit
 * @returns the field
 */
export function __this_cpu_has(
  fn: number,
  index: number,
  reg: number,
  lo: number,
  hi: number,
): number {
  const v = cpuid_reg(fn, index, reg);
  const width = hi - lo + 1;
  return width >= 32 ? v : ((v >>> lo) & ((1 << width) - 1)) >>> 0;
}

/**
 * C `this_cpu_fms()`: CPUID.1:EAX.
 *
 * @returns the family/model/stepping signature
 */
export function this_cpu_fms(): number {
  return cpuid_reg(1, 0, 0);
}

/**
 * C `this_cpu_family()`.
 *
 * @returns the vCPU's family
 */
export function this_cpu_family(): number {
  const eax = this_cpu_fms();
  let x86 = (eax >>> 8) & 0xf;
  if (x86 === 0xf) x86 += (eax >>> 20) & 0xff;
  return x86;
}

/**
 * C `this_cpu_model()`.
 *
 * @returns the vCPU's model
 */
export function this_cpu_model(): number {
  const eax = this_cpu_fms();
  return ((eax >>> 12) & 0xf0) | ((eax >>> 4) & 0x0f);
}

/**
 * C `this_cpu_vendor_string_is(vendor)`: CPUID.0's EBX, EDX, ECX.
 *
 * @param vendor the 12-character vendor string
 * @returns whether the vCPU reports it
 */
export function this_cpu_vendor_string_is(vendor: string): boolean {
  const r = guest_cpu().cpuid(0, 0);
  const chunk = (i: number) =>
    (vendor.charCodeAt(i) | (vendor.charCodeAt(i + 1) << 8) | (vendor.charCodeAt(i + 2) << 16) |
      (vendor.charCodeAt(i + 3) << 24)) >>> 0;
  return (r.ebx >>> 0) === chunk(0) && (r.edx >>> 0) === chunk(4) && (r.ecx >>> 0) === chunk(8);
}

/**
 * C `this_cpu_is_intel()`.
 *
 * @returns whether the vCPU says GenuineIntel
 */
export function this_cpu_is_intel(): boolean {
  return this_cpu_vendor_string_is("GenuineIntel");
}

/**
 * C `this_cpu_is_amd()` (early K5's "AMDisbetter!" does not count).
 *
 * @returns whether the vCPU says AuthenticAMD
 */
export function this_cpu_is_amd(): boolean {
  return this_cpu_vendor_string_is("AuthenticAMD");
}

/**
 * C `this_cpu_is_hygon()`.
 *
 * @returns whether the vCPU says HygonGenuine
 */
export function this_cpu_is_hygon(): boolean {
  return this_cpu_vendor_string_is("HygonGenuine");
}

/**
 * C `this_cpu_has_p(property)`: whether the property's leaf is within the
 * maximum leaf of its range (basic, KVM, extended or Centaur).
 *
 * @param property the property
 * @returns whether the leaf exists
 */
export function this_cpu_has_p(property: kvm_x86_cpu_property): boolean {
  const base = (property.function & 0xc0000000) >>> 0;
  const max_leaf = cpuid_reg(base, 0, 0);
  return max_leaf >= property.function >>> 0;
}

/**
 * C `this_cpu_supported_xcr0()`: CPUID.0DH's EDX:EAX, 0 without leaf 0xd.
 *
 * @returns the XCR0 bits the vCPU may set
 */
export function this_cpu_supported_xcr0(): bigint {
  if (cpuid_reg(0, 0, 0) < 0xd) return 0n;
  return BigInt(cpuid_reg(0xd, 0, 0)) | (BigInt(cpuid_reg(0xd, 0, 3)) << 32n);
}

/**
 * C `xgetbv_safe(index, &val)`: the vector `xgetbv` raised, or 0; `val` gets
 * EDX:EAX.
 *
 * @param index the XCR
 * @param val receives the value
 * @returns 0, or the exception vector
 */
export function xgetbv_safe(index: number, val: Ref<bigint>): number {
  let v = 0n;
  const vector = kvm_asm_safe(() => {
    v = guest_cpu().xgetbv(index);
  });
  val.value = v;
  return vector;
}

/**
 * C `xsetbv_safe(index, value)`: the vector `xsetbv` raised, or 0.
 *
 * @param index the XCR
 * @param value the value
 * @returns 0, or the exception vector
 */
export function xsetbv_safe(index: number, value: bigint): number {
  return kvm_asm_safe(() => guest_cpu().xsetbv(index, BigInt.asUintN(64, value)));
}

/** C `sti_nop()`: `sti; nop`, so pending interrupts are taken before it returns. */
export function sti_nop(): void {
  const cpu = guest_cpu();
  cpu.sti();
  cpu.nop();
}

/** C `sti_nop_cli()`: opens the interrupt window for one instruction. */
export function sti_nop_cli(): void {
  const cpu = guest_cpu();
  cpu.sti();
  cpu.nop();
  cpu.cli();
}
