// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest-side helpers of `include/x86/processor.h` (`rdmsr`, `wrmsr`,
 * `rdmsr_safe`, `cpuid`, port I/O, control registers, ...) over the CPU
 * model's intrinsics, and the guest half of exception handling
 * (`route_exception`, which the exception stubs call with a `struct ex_regs`).
 *
 * These run in vCPU workers only; on the host they throw.
 *
 * @module
 */

import type { View } from "../../include/c/layout.ts";
import type { Ref } from "../../include/kvm_util_types.ts";
import type {
  ex_regs,
  kvm_x86_cpu_feature,
  kvm_x86_cpu_property,
} from "../../include/x86/processor.ts";
import { guest_cpu } from "../guest_insn.ts";
import { guest_read_u64 } from "../guest_memory.ts";

/**
 * C `inb(port)`.
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
 * C `outb(port, value)`.
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
 * C `rdmsr(msr)`: a #GP goes to the guest's handler (or fails the guest).
 *
 * @param msr the MSR index
 * @returns its value
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
 *
 * @param msr the MSR index
 * @param val receives the value on success
 * @returns 0, or the exception vector
 */
export function rdmsr_safe(msr: number, val: Ref<bigint>): number {
  let v = 0n;
  const vector = guest_cpu().with_exception_fixup(() => {
    v = guest_cpu().rdmsr(msr);
  });
  if (vector >= 0) return vector;
  val.value = v;
  return 0;
}

/**
 * C `wrmsr_safe(msr, val)`: the vector of the exception `wrmsr` raised, or 0.
 *
 * @param msr the MSR index
 * @param val the value
 * @returns 0, or the exception vector
 */
export function wrmsr_safe(msr: number, val: number | bigint): number {
  const vector = guest_cpu().with_exception_fixup(() => {
    guest_cpu().wrmsr(msr, BigInt.asUintN(64, BigInt(val)));
  });
  return vector >= 0 ? vector : 0;
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
  return guest_cpu().read_cr(0);
}

/**
 * C `get_cr3()`.
 *
 * @returns CR3
 */
export function get_cr3(): bigint {
  return guest_cpu().read_cr(3);
}

/**
 * C `get_cr4()`.
 *
 * @returns CR4
 */
export function get_cr4(): bigint {
  return guest_cpu().read_cr(4);
}

/**
 * C `set_cr0(val)`.
 *
 * @param val the value
 */
export function set_cr0(val: bigint): void {
  guest_cpu().write_cr(0, val);
}

/**
 * C `set_cr3(val)`.
 *
 * @param val the value
 */
export function set_cr3(val: bigint): void {
  guest_cpu().write_cr(3, val);
}

/**
 * C `set_cr4(val)`.
 *
 * @param val the value
 */
export function set_cr4(val: bigint): void {
  guest_cpu().write_cr(4, val);
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
 * C `hlt` (`asm volatile("hlt")`).
 */
export function hlt(): void {
  guest_cpu().hlt();
}

/**
 * C `invlpg(gva)`.
 *
 * @param gva the address
 */
export function invlpg(gva: bigint): void {
  guest_cpu().invlpg(gva);
}

/**
 * C `route_exception(regs)` (guest): call the handler installed for
 * `regs->vector`, or fail with `"Unhandled exception '0x%lx' at guest RIP
 * '0x%lx'"`. The handler table's GVA is the `exception_handlers` guest global.
 *
 * @param regs the exception frame
 * @param handlers_gva the handler table
 * @param call the function a handler GVA names (resolved by the CPU model)
 * @returns whether a handler ran
 */
export function route_exception(
  regs: View<typeof ex_regs.fields>,
  handlers_gva: bigint,
  call: (gva: bigint, regs: View<typeof ex_regs.fields>) => void,
): boolean {
  const vector = Number(regs.vector);
  const handler = handlers_gva ? guest_read_u64(handlers_gva + BigInt(vector * 8)) : 0n;
  if (handler) {
    call(handler, regs);
    return true;
  }
  return false;
}
