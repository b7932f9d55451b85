// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest runtime: a small program in x86-64 machine code that lets
 * TypeScript guest code run on a real vCPU (the `kvm` backend). No C twin: a
 * C selftest's guest code is machine code already.
 *
 * The TypeScript guest function runs in the vCPU's worker on the host, as on
 * the simulator. Each intrinsic (`outb`, `rdmsr`, `readq`, `lgdt`, ...) is
 * one **request** to this runtime, which executes the real instruction inside
 * the real guest: so the exits, faults, dirty bits and MMIO are the kernel's
 * own. Each vCPU has a 16 KiB **area** in guest memory, which the worker
 * also sees through the memslot's host mapping:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0x100 | 22 × 8 | the exception frame: `struct ex_regs`, then the hardware frame's RSP and SS |
 * | 0x800 | 2048 | a buffer for block copies |
 * | 0x1000 | 12 KiB | the runtime's private stack, which holds the serve frames |
 *
 * A **serve frame** ({@linkcode GR_FILE_SIZE} bytes at the RSP of `serve`)
 * holds the guest's general-purpose registers in `VCPU_REGS_*` order (the
 * register file; RSP's slot is the TypeScript code's RSP, which the runtime
 * never loads) and, at {@linkcode GR_FILE_OP}, the request: the guest address
 * of its code ({@linkcode guest_runtime_op_gva}), which the worker writes.
 *
 * **The doorbell** is port I/O to {@linkcode GR_DOORBELL_PORT} (0x7e57), a
 * port no selftest and no KVM device uses, so it always exits to userspace
 * and the worker's `KVM_RUN` loop consumes it (the test never sees it):
 *
 * - `out %eax, (%dx)` (4 bytes) with EAX = a new serve frame's address plus
 *   {@linkcode GR_EVENT_EXCEPTION} (an exception stub stored a frame).
 * - `out %al, (%dx)` (1 byte, AL whatever the request left): the request of
 *   the current serve frame finished ({@linkcode GR_EVENT_DONE}); the worker
 *   knows that frame, so no `lea` computes its address.
 * - `in (%dx), %eax` (4 bytes): an exception stub asks which area is its
 *   vCPU's; the worker answers with the area's address (below 4 GiB).
 *   Asking costs one exit but needs no per-vCPU register, MSR or segment
 *   base that a test could see or change.
 *
 * **Serving** (`serve`, event in ESI): open a serve frame, ring, then for
 * each request jump to its code (`jmp *GR_FILE_OP(%rsp)`), which loads the
 * registers its instruction takes as operands from the file (RSP-relative,
 * so any GPR can hold the guest's value), executes the instruction, stores
 * its outputs and rings again; `RETURN` closes the frame and returns. So what
 * the kernel reads and writes in the registers at an exit is what it would
 * be for compiled C (`out %al, (%dx)` uses AL and DX, `rdmsr` ECX, ...), and a
 * load is 6 guest instructions, ring and dispatch included: the `kvm_pvm`
 * host emulates each. (Dispatch by address rather than through a table of
 * request numbers gives the host no power it lacks: the `CALL` request calls
 * any address it names, and the TypeScript guest code is the host's.)
 *
 * **Exceptions** go through the guest's real IDT to 256 stubs
 * (`idt_stub_<n>` at {@linkcode guest_runtime_image}'s `stubs`, 16 bytes
 * apart), which push the vector (and a zero error code where the CPU pushes
 * none), save the GPRs as `struct ex_regs`, ask for the area, copy the frame
 * into it, move to the private stack unless already on it, and `serve` with
 * `GR_EVENT_EXCEPTION`. The worker runs the
 * TypeScript handler (requests served meanwhile are the handler's
 * instructions), writes the possibly changed frame back and sends
 * `GR_OP_RETURN`; the stub copies the frame back, restores the GPRs and
 * `iretq`s. A `#UD` at a code record (`ud2; "TS"`) is how a vCPU enters a
 * TypeScript function: the worker then runs that function instead of a
 * handler.
 *
 * **The TD variant** (`guest_runtime_image(true)`): a TD's port I/O raises
 * #VE and its registers are not the host's, so its doorbell is
 * TDG.VP.VMCALL<Instruction.IO> to the same port (`td_ring` writes, `td_ask`
 * reads into R11), which KVM turns into the same KVM_EXIT_IO; its area is
 * shared memory (`guest_runtime_host.ts`), and its code is in the measured
 * image. Everything else is the same source.
 *
 * The bytes are assembled from the AT&T source below (one line per
 * instruction, each with its encoding in {@linkcode guest_runtime_listing}).
 *
 * @module
 */

import { type Assembler, assembler } from "./asm/assembler.ts";
import { backend } from "../../include/libc/backend.ts";
import { KVM_X86_TDX_VM } from "../../include/asm/kvm.ts";
import { TDG_VP_VMCALL } from "../../include/x86/tdx/tdcall.ts";
import {
  TDG_VP_VMCALL_DEFAULT_EXPOSED_MASK,
  TDG_VP_VMCALL_INSTRUCTION_IO,
} from "../../include/x86/tdx/tdx.ts";

/** The port of the runtime's doorbell. */
export const GR_DOORBELL_PORT = 0x7e57;

/** Request page: the exception frame (22 qwords). */
export const GR_FRAME = 0x100;
/** Qwords of the exception frame: `struct ex_regs` (20) + RSP + SS. */
export const GR_FRAME_QWORDS = 22;
/** Request page: the block-copy buffer. */
export const GR_BUF = 0x800;
/** Bytes of the block-copy buffer. */
export const GR_BUF_SIZE = 0x800;
/** Bytes of a request page. */
export const GR_PAGE_SIZE = 0x1000;
/** Bytes of a vCPU's runtime area: the request page, then the runtime's private stack. */
export const GR_AREA_SIZE = 0x4000;
/** Offset of the private stack's lowest byte in the area. */
export const GR_STACK_BOTTOM = 0x1000;
/** Offset of the private stack's top in the area. */
export const GR_STACK_TOP = 0x4000;

/**
 * The option that runs a TD's TypeScript guest code through the TD runtime
 * on the simulator too (set to `1`), as it runs on a real TDX host.
 */
export const GUEST_RUNTIME_ENV = "KVM_SELFTESTS_GUEST_RUNTIME";

/** Whether {@linkcode GUEST_RUNTIME_ENV} asks for the runtime on the simulator. */
function runtime_option(): boolean {
  try {
    return Deno.env.get(GUEST_RUNTIME_ENV) === "1";
  } catch {
    return false;
  }
}

/**
 * Whether `vm`'s TypeScript guest code runs through the runtime: always on
 * the `kvm` backend; on the simulator for a TD when
 * {@linkcode GUEST_RUNTIME_ENV} is `1` (an ordinary VM's guest code stays on
 * the simulated CPU's intrinsics there).
 *
 * @param vm the VM
 */
export function guest_runtime_needed(vm: { readonly type: number }): boolean {
  const name = backend().name;
  if (name === "kvm") return true;
  return name === "sim" && vm.type === KVM_X86_TDX_VM && runtime_option();
}

/** Bytes reserved for the runtime at the top of the image's text region (kvm backend). */
export const GUEST_RUNTIME_TEXT_RESERVE = 0x3000;
/**
 * Where the runtime is loaded: the top {@linkcode GUEST_RUNTIME_TEXT_RESERVE}
 * bytes of the image's text region (`IMAGE_TEXT_GVA` 0x400000 +
 * `IMAGE_TEXT_SIZE` 0x80000), the same in every VM, so that a request's
 * code has the same absolute address in every VM.
 */
export const GUEST_RUNTIME_GVA = 0x47d000n;

/** Serve frame (on the private stack, at the RSP the doorbell reports): the register file. */
export const GR_FILE_REGS = 0x00;
/** Serve frame: the request, the guest address of its code (u64). */
export const GR_FILE_OP = 0x80;
/** Bytes of a serve frame. */
export const GR_FILE_SIZE = 0x90;

/** Event: the request finished. */
export const GR_EVENT_DONE = 1;
/** Event: an exception stub stored a frame. */
export const GR_EVENT_EXCEPTION = 2;

const ALL = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
];
/**
 * What instructions that exit to userspace load: every GPR, as the host may
 * read any of them at the exit (upstream's ucall passes its pointer in RDI,
 * sync_regs_test reads them all).
 */
const EXITS = ALL;

/** A request: its instruction(s), the GPRs loaded before and stored after. */
interface op_def {
  name: string;
  insns: readonly string[];
  ins: readonly string[];
  outs: readonly string[];
}

const op = (
  name: string,
  insns: string[],
  ins: readonly string[] = [],
  outs: readonly string[] = [],
): op_def => ({ name, insns, ins, outs });

/**
 * The requests. Every request but `RETURN` is one instruction (`STI_HLT` is
 * `sti; hlt`, whose STI shadow must cover the HLT; `BTS` keeps the old bit
 * with `setc`). Instructions that exit to userspace (port I/O, MSRs, HLT)
 * load every GPR; those that hypercall also store every GPR. What the host
 * changes at an exit the worker reads back with KVM_GET_REGS.
 */
const OPS: readonly op_def[] = [
  op("RETURN", []),
  op("NOP", ["nop"]),
  op("OUTB", ["out %al, (%dx)"], EXITS),
  op("OUTW", ["out %ax, (%dx)"], EXITS),
  op("OUTL", ["out %eax, (%dx)"], EXITS),
  op("INB", ["in (%dx), %al"], EXITS, ["rax"]),
  op("INW", ["in (%dx), %ax"], EXITS, ["rax"]),
  op("INL", ["in (%dx), %eax"], EXITS, ["rax"]),
  op("OUTSB", ["rep outsb"], EXITS, ["rcx", "rsi"]),
  op("OUTSW", ["rep outsw"], EXITS, ["rcx", "rsi"]),
  op("OUTSL", ["rep outsl"], EXITS, ["rcx", "rsi"]),
  op("INSB", ["rep insb"], EXITS, ["rcx", "rdi"]),
  op("INSW", ["rep insw"], EXITS, ["rcx", "rdi"]),
  op("INSL", ["rep insl"], EXITS, ["rcx", "rdi"]),
  op("RDMSR", ["rdmsr"], EXITS, ["rax", "rdx"]),
  op("WRMSR", ["wrmsr"], EXITS),
  op("CPUID", ["cpuid"], ["rax", "rcx"], ["rax", "rbx", "rcx", "rdx"]),
  op("HLT", ["hlt"], EXITS),
  op("STI_HLT", ["sti", "hlt"], EXITS),
  op("VMCALL", ["vmcall"], ALL, ALL),
  op("TDCALL", ["tdcall"], ALL, ALL),
  op("WBINVD", ["wbinvd"]),
  op("XGETBV", ["xgetbv"], ["rcx"], ["rax", "rdx"]),
  op("XSETBV", ["xsetbv"], ["rax", "rcx", "rdx"]),
  op("RDTSC", ["rdtsc"], [], ["rax", "rdx"]),
  op("PAUSE", ["pause"]),
  op("CLI", ["cli"]),
  op("STI", ["sti"]),
  op("UD2", ["ud2"]),
  op("INT3", ["int3"]),
  op("READ_CR0", ["mov %cr0, %rax"], [], ["rax"]),
  op("READ_CR2", ["mov %cr2, %rax"], [], ["rax"]),
  op("READ_CR3", ["mov %cr3, %rax"], [], ["rax"]),
  op("READ_CR4", ["mov %cr4, %rax"], [], ["rax"]),
  op("READ_CR8", ["mov %cr8, %rax"], [], ["rax"]),
  op("WRITE_CR0", ["mov %rax, %cr0"], ["rax"]),
  op("WRITE_CR2", ["mov %rax, %cr2"], ["rax"]),
  op("WRITE_CR3", ["mov %rax, %cr3"], ["rax"]),
  op("WRITE_CR4", ["mov %rax, %cr4"], ["rax"]),
  op("WRITE_CR8", ["mov %rax, %cr8"], ["rax"]),
  op("LGDT", ["lgdt (%rbx)"], ["rbx"]),
  op("LIDT", ["lidt (%rbx)"], ["rbx"]),
  op("SGDT", ["sgdt (%rbx)"], ["rbx"]),
  op("SIDT", ["sidt (%rbx)"], ["rbx"]),
  op("LTR", ["ltr %ax"], ["rax"]),
  op("STR", ["str %eax"], [], ["rax"]),
  op("INVLPG", ["invlpg (%rbx)"], ["rbx"]),
  op("READB", ["movzbl (%rbx), %eax"], ["rbx"], ["rax"]),
  op("READW", ["movzwl (%rbx), %eax"], ["rbx"], ["rax"]),
  op("READL", ["mov (%rbx), %eax"], ["rbx"], ["rax"]),
  op("READQ", ["mov (%rbx), %rax"], ["rbx"], ["rax"]),
  // A load, then a copy of the block around it into the request page: the
  // worker serves the following loads of that block from the copy (TD
  // runtime only, see guest_runtime_cpu.ts). RSI, RDI and RCX are scratch.
  op("READB_BLOCK", ["movzbl (%rbx), %eax", "rep movsq"], ["rbx", "rsi", "rdi", "rcx"], ["rax"]),
  op("READW_BLOCK", ["movzwl (%rbx), %eax", "rep movsq"], ["rbx", "rsi", "rdi", "rcx"], ["rax"]),
  op("READL_BLOCK", ["mov (%rbx), %eax", "rep movsq"], ["rbx", "rsi", "rdi", "rcx"], ["rax"]),
  op("READQ_BLOCK", ["mov (%rbx), %rax", "rep movsq"], ["rbx", "rsi", "rdi", "rcx"], ["rax"]),
  op("WRITEB", ["mov %al, (%rbx)"], ["rax", "rbx"]),
  op("WRITEW", ["mov %ax, (%rbx)"], ["rax", "rbx"]),
  op("WRITEL", ["mov %eax, (%rbx)"], ["rax", "rbx"]),
  op("WRITEQ", ["mov %rax, (%rbx)"], ["rax", "rbx"]),
  op("MOVSB", ["rep movsb"], ["rcx", "rsi", "rdi"], ["rcx", "rsi", "rdi"]),
  op("STOSB", ["rep stosb"], ["rax", "rcx", "rdi"], ["rcx", "rdi"]),
  op("BTS", ["lock btsl %ecx, (%rbx)", "setc %al"], ["rax", "rbx", "rcx"], ["rax"]),
  op("BTR", ["lock btrl %ecx, (%rbx)"], ["rbx", "rcx"]),
  op("RFLAGS", ["pushf", "pop %rax"], [], ["rax"]),
  op("READ_CS", ["mov %cs, %eax"], [], ["rax"]),
  op("READ_SS", ["mov %ss, %eax"], [], ["rax"]),
  op("READ_DS", ["mov %ds, %eax"], [], ["rax"]),
  op("READ_ES", ["mov %es, %eax"], [], ["rax"]),
  op("READ_FS", ["mov %fs, %eax"], [], ["rax"]),
  op("READ_GS", ["mov %gs, %eax"], [], ["rax"]),
  op("LOAD_SS", ["mov %eax, %ss"], ["rax"]),
  op("LOAD_DS", ["mov %eax, %ds"], ["rax"]),
  op("LOAD_ES", ["mov %eax, %es"], ["rax"]),
  op("LOAD_FS", ["mov %eax, %fs"], ["rax"]),
  op("LOAD_GS", ["mov %eax, %gs"], ["rax"]),
  op("CALL", ["call *%rbx"], ALL, ALL),
];

/** Request numbers by name (`GR_OP.OUTB`, ...). */
export const GR_OP: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(OPS.map((o, i) => [o.name, i])),
);

/** `VCPU_REGS_*` numbers of the registers request `op` loads before its instruction. */
export function guest_runtime_op_ins(op: number): readonly number[] {
  return OPS[op]!.ins.map((r) => GPR.indexOf(r));
}

/** `VCPU_REGS_*` numbers of the registers request `op` stores after its instruction. */
export function guest_runtime_op_outs(op: number): readonly number[] {
  return OPS[op]!.outs.map((r) => GPR.indexOf(r));
}

// ---------------------------------------------------------------------------
// The source.

const GPR = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
];

/** `struct ex_regs` order of the saved GPRs (`VCPU_REGS_*` numbers). */
const EX_REGS_ORDER = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/** CPU exceptions that push an error code (SDM Vol. 3 Table 6-1). */
const HAS_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);

const hex = (n: number): string => `0x${n.toString(16)}`;
const file = (r: string): string => `${hex(GR_FILE_REGS + 8 * GPR.indexOf(r))}(%rsp)`;

/**
 * The runtime's AT&T source, one instruction or label per line.
 *
 * @param td the TD variant: the doorbell is a TDVMCALL (TDG.VP.VMCALL<Instruction.IO>)
 */
export function guest_runtime_source(td = false): string[] {
  const s: string[] = [];
  // serve(event in %esi): a frame with the register file on the private
  // stack; ring, then run requests until RETURN. RSP stays at the frame
  // while a request's instruction executes, so the file is RSP-relative and
  // every other GPR can hold the guest's value.
  s.push("serve:");
  s.push(`sub $${hex(GR_FILE_SIZE)}, %rsp`);
  if (td) {
    s.push("lea (%rsp,%rsi), %r15");
    s.push("call td_ring");
  } else {
    s.push(`mov $${hex(GR_DOORBELL_PORT)}, %edx`);
    s.push("lea (%rsp,%rsi), %eax");
    s.push("out %eax, (%dx)");
  }
  s.push(`jmp *${hex(GR_FILE_OP)}(%rsp)`);
  for (const o of OPS) {
    s.push(`op_${o.name}:`);
    if (o.name === "RETURN") {
      s.push(`add $${hex(GR_FILE_SIZE)}, %rsp`);
      s.push("ret");
      continue;
    }
    for (const r of o.ins) s.push(`mov ${file(r)}, %${r}`);
    s.push(`op_${o.name}_start:`);
    for (const i of o.insns) s.push(i);
    s.push(`op_${o.name}_end:`);
    for (const r of o.outs) s.push(`mov %${r}, ${file(r)}`);
    // Ring and dispatch the next request right here: every guest
    // instruction counts where the host emulates them.
    if (td) {
      s.push(`lea ${GR_EVENT_DONE}(%rsp), %r15`);
      s.push("call td_ring");
    } else {
      s.push(`mov $${hex(GR_DOORBELL_PORT)}, %edx`);
      s.push("out %al, (%dx)");
    }
    s.push(`jmp *${hex(GR_FILE_OP)}(%rsp)`);
  }
  if (td) {
    // The TD's doorbell: TDG.VP.VMCALL<Instruction.IO> (GHCI: R10 0 for a
    // standard TDVMCALL, R11 the exit reason, R12 size, R13 direction, R14
    // port, R15 data), which KVM's tdx_emulate_io() turns into the same
    // KVM_EXIT_IO as the ordinary runtime's port I/O. td_ring writes R15's
    // low 4 bytes; td_ask reads 4 bytes into R11. Both clobber RAX, RCX and
    // R10-R15 only: the TDX module preserves every GPR RCX does not expose.
    s.push("td_ask:");
    s.push("xor %r13, %r13");
    s.push("xor %r15, %r15");
    s.push("jmp td_io");
    s.push("td_ring:");
    s.push("mov $1, %r13");
    s.push("td_io:");
    s.push(`mov $${TDG_VP_VMCALL}, %eax`);
    s.push(`mov $${hex(Number(TDG_VP_VMCALL_DEFAULT_EXPOSED_MASK))}, %ecx`);
    s.push("xor %r10, %r10");
    s.push(`mov $${hex(Number(TDG_VP_VMCALL_INSTRUCTION_IO))}, %r11`);
    s.push("mov $4, %r12");
    s.push(`mov $${hex(GR_DOORBELL_PORT)}, %r14`);
    s.push("tdcall");
    s.push("ret");
  }
  // The exception stubs: 16 bytes each.
  s.push(".align 16");
  s.push("stubs:");
  for (let v = 0; v < 256; v++) {
    s.push(".align 16");
    s.push(`idt_stub_${v}:`);
    if (!HAS_ERROR_CODE.has(v)) s.push("push $0");
    s.push(`push $${hex(v)}`);
    s.push("jmp stub_common");
  }
  s.push("stub_common:");
  for (let i = EX_REGS_ORDER.length - 1; i >= 0; i--) s.push(`push %${GPR[EX_REGS_ORDER[i]!]}`);
  // Which area is this vCPU's? The worker answers the IN.
  if (td) {
    s.push("call td_ask");
    s.push("mov %r11, %rbx");
  } else {
    s.push(`mov $${hex(GR_DOORBELL_PORT)}, %edx`);
    s.push("in (%dx), %eax");
    s.push("mov %rax, %rbx");
  }
  // The frame into the area's page (the flags' DF is the interrupted code's:
  // CLD, IRETQ restores it).
  s.push("cld");
  s.push("mov %rsp, %rsi");
  s.push(`lea ${hex(GR_FRAME)}(%rbx), %rdi`);
  s.push(`mov $${GR_FRAME_QWORDS}, %ecx`);
  s.push("rep movsq");
  // Serve on the vCPU's private stack unless already there (an exception
  // raised by a request): the guest's own stack may be overwritten by the
  // code the exception enters, as its frame was copied into the page.
  s.push("mov %rsp, %rbp");
  s.push(`lea ${hex(GR_STACK_TOP)}(%rbx), %rax`);
  s.push(`lea ${hex(GR_STACK_BOTTOM)}(%rbx), %rcx`);
  s.push("cmp %rcx, %rsp");
  s.push("jb switch_stack");
  s.push("cmp %rax, %rsp");
  s.push("jbe on_stack");
  s.push("switch_stack:");
  s.push("mov %rax, %rsp");
  s.push("on_stack:");
  s.push("push %rbp");
  s.push("push %rbx");
  s.push(`mov $${GR_EVENT_EXCEPTION}, %esi`);
  s.push("call serve");
  s.push("pop %rbx");
  s.push("pop %rbp");
  s.push("mov %rbp, %rsp");
  // The frame the handler left, back onto the stack.
  s.push("cld");
  s.push(`lea ${hex(GR_FRAME)}(%rbx), %rsi`);
  s.push("mov %rsp, %rdi");
  s.push(`mov $${GR_FRAME_QWORDS}, %ecx`);
  s.push("rep movsq");
  for (const r of EX_REGS_ORDER) s.push(`pop %${GPR[r]}`);
  s.push("add $0x10, %rsp");
  s.push("iretq");
  s.push("end:");
  return s;
}

// ---------------------------------------------------------------------------
// Assembly, with the in-repo assembler (lib/x86/asm/): one call per line.

/** Feeds one source line to the assembler (labels, `.align`, `.long`, prefixes, instructions). */
function emit(a: Assembler, line: string): void {
  if (line.endsWith(":")) {
    a.label(line.slice(0, -1));
    return;
  }
  if (line.startsWith(".align ")) {
    // Padding is int3: nothing jumps into it.
    a.align(Number(line.slice(7)), 0xcc);
    return;
  }
  if (line.startsWith(".quad ")) {
    a.quad(line.slice(6));
    return;
  }
  const [first, rest = ""] = line.split(/\s+(.*)/s) as [string, string?];
  let mn = first;
  let ops = rest;
  let b: Assembler = a;
  if (mn === "rep" || mn === "lock") {
    b = mn === "rep" ? a.rep() : a.lock();
    [mn, ops = ""] = ops.split(/\s+(.*)/s) as [string, string?];
  }
  const operands = ops.length ? ops.split(/,\s*(?![^(]*\))/) : [];
  const f = (b as unknown as Record<string, (...o: string[]) => Assembler>)[mn];
  if (typeof f !== "function") throw new Error(`guest runtime: no mnemonic '${mn}'`);
  f.apply(b, operands);
}

/** One assembled line: its offset, bytes and source. */
export interface guest_runtime_line {
  /** Offset from the runtime's start. */
  offset: number;
  /** The encoding. */
  bytes: Uint8Array;
  /** The source line, as GNU as reads it. */
  source: string;
}

/** The assembled runtime. */
export interface guest_runtime_image {
  /** The machine code (position-independent: it may be loaded anywhere). */
  code: Uint8Array;
  /** Label offsets. */
  labels: ReadonlyMap<string, number>;
  /** Per statement: offset, bytes, source. */
  listing: readonly guest_runtime_line[];
}

const cached: [guest_runtime_image | undefined, guest_runtime_image | undefined] = [
  undefined,
  undefined,
];

/**
 * Assembles the runtime (cached).
 *
 * @param td the TD variant (doorbell by TDVMCALL)
 */
export function guest_runtime_image(td = false): guest_runtime_image {
  const have = cached[td ? 1 : 0];
  if (have) return have;
  const a = assembler({ origin: GUEST_RUNTIME_GVA });
  a.code64();
  for (const line of guest_runtime_source(td)) emit(a, line);
  const obj = a.assemble();
  const labels = new Map<string, number>();
  for (const [name, addr] of obj.labels) labels.set(name, Number(addr - GUEST_RUNTIME_GVA));
  const listing = obj.listing.map((l) => ({
    offset: Number(l.addr - GUEST_RUNTIME_GVA),
    bytes: l.bytes,
    source: l.text,
  }));
  const image = { code: obj.bytes, labels, listing };
  cached[td ? 1 : 0] = image;
  return image;
}

/**
 * The listing as text: offset, bytes, source, one statement per line.
 *
 * @param td the TD variant
 */
export function guest_runtime_listing(td = false): string {
  return guest_runtime_image(td).listing.filter((l) => l.bytes.length > 0).map((l) =>
    `${l.offset.toString(16).padStart(4, "0")}: ${
      [...l.bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ").padEnd(30)
    } ${l.source}`
  ).join("\n");
}

/** Offset of the exception stub of `vector` from the runtime's start (`td`: the TD variant). */
export function guest_runtime_stub_offset(vector: number, td = false): number {
  return guest_runtime_image(td).labels.get(`idt_stub_${vector}`)!;
}

/**
 * The guest address of request `op`'s code, which the worker writes at
 * {@linkcode GR_FILE_OP} (`td`: the TD variant).
 */
export function guest_runtime_op_gva(op: number, td = false): bigint {
  const name = OPS[op]!.name;
  return GUEST_RUNTIME_GVA + BigInt(guest_runtime_image(td).labels.get(`op_${name}`)!);
}

/** Where a request's instruction(s) start and end (offsets from the runtime's start). */
export function guest_runtime_op_range(op: number, td = false): [number, number] {
  const name = OPS[op]!.name;
  const l = guest_runtime_image(td).labels;
  return [
    l.get(`op_${name}_start`) ?? l.get(`op_${name}`)!,
    l.get(`op_${name}_end`) ?? l.get(`op_${name}`)!,
  ];
}

/** The message that starts a runtime worker (see `guest_runtime_host.ts`). */
export interface guest_runtime_worker_init {
  /** The vCPU id. */
  vcpu_id: number;
  /** The vCPU fd (the worker issues KVM_RUN on it). */
  fd: number;
  /** Host address of the vCPU's `kvm_run` mapping. */
  run_hva: string;
  /** Bytes of the `kvm_run` mapping. */
  run_size: number;
  /** Host address of the request page. */
  page_hva: string;
  /** Guest address of the request page. */
  page_gva: string;
  /** Guest address of the runtime's first byte. */
  runtime_gva: string;
  /** The handoff words and the crash text (see `guest_runtime_host.ts`). */
  ctl: SharedArrayBuffer;
  /** Guest image module URLs. */
  images: string[];
  /** The VM is a TD: the TD runtime, whose registers the host cannot read. */
  td: boolean;
  /**
   * Streaming loads may come from block copies (`guest_runtime_cpu.ts`): a
   * TD with this one vCPU, whose memory no other vCPU writes meanwhile.
   */
  block_loads: boolean;
  /**
   * The host thread makes each KVM_RUN, asked through `ctl`
   * ({@linkcode GRS_HOST_RUN}): the simulator, whose kernel runs there.
   */
  host_run: boolean;
  /** With `host_run`: the memory `run_hva` names, and its offset. */
  run_sab?: SharedArrayBuffer;
  /** Byte offset of `kvm_run` in `run_sab`. */
  run_off?: number;
  /** With `host_run`: the memory `page_hva` names. */
  area_sab?: SharedArrayBuffer;
  /** Byte offset of the area in `area_sab`. */
  area_off?: number;
}

/** Handoff words (Int32 indexes into `ctl`). */
export const GRC_STATE = 0;
/** The return value of the KVM_RUN the host asked for. */
export const GRC_RET = 1;
/** Bytes of crash text in the text area. */
export const GRC_TEXT_LEN = 2;
/** `KVM_RUN`s the worker has made (a statistic: doorbells and real exits). */
export const GRC_RUNS = 3;
/** Byte offset of the crash text. */
export const GRC_TEXT_OFF = 64;
/** Bytes of `ctl`. */
export const GRC_SIZE = 64 + 8192;
/** State: the worker is not running the vCPU (host owns `kvm_run`). */
export const GRS_IDLE = 0;
/** State: the host asked for a KVM_RUN. */
export const GRS_RUN = 1;
/** State: the worker came back with a real exit (GRC_RET). */
export const GRS_EXIT = 2;
/** State: guest code threw; the text says what. */
export const GRS_CRASH = 3;
/** State: the host stops the worker. */
export const GRS_KILL = 4;
/** State: the worker is gone. */
export const GRS_DEAD = 5;
/** State: the worker asks the host thread for a KVM_RUN (`host_run`); GRS_RUN again when made. */
export const GRS_HOST_RUN = 6;

/** Number of requests. */
export const GR_NR_OPS: number = OPS.length;
