// SPDX-License-Identifier: GPL-2.0-only
// Raw machine code on the simulated CPU's interpreter, and the same bytes on
// the host's /dev/kvm: each program runs through the library's syscall
// boundary on the `sim` backend and, where /dev/kvm is usable, on the `kvm`
// backend, and the exits (reason, port I/O, MMIO) and the registers at the
// final HLT must be the same. Programs: sim/testdata/raw_code_progs.ts.
import { assert, assertEquals } from "@std/assert";
import { type Backend, load_backend } from "../include/libc/backend.ts";
import {
  KVM_CAP_DISABLE_QUIRKS2,
  KVM_ENABLE_CAP,
  kvm_enable_cap,
  KVM_EXIT_HLT,
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
  KVM_EXIT_SHUTDOWN,
} from "../include/linux/kvm.ts";
import { KVM_X86_QUIRK_FIX_HYPERCALL_INSN } from "../include/asm/kvm.ts";
import { O_RDONLY, O_WRONLY } from "../include/linux/fcntl.ts";
import { set_exe_file } from "./backend.ts";
import { code_vm, type code_vm_mode, KVM_REGS_NAMES } from "./testdata/code_vm.ts";
import {
  BOOT64,
  EXC64,
  hex,
  LONG64,
  PAGING32,
  PROT32,
  PSE32,
  REAL16,
  REAL2PROT,
  RING3,
} from "./testdata/raw_code_progs.ts";

// The guests are machine code only: the vCPU workers load no guest image.
set_exe_file([]);

function kvm_usable(): boolean {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
}

const no_kvm = !kvm_usable();
const why = no_kvm ? " (kvm half skipped: /dev/kvm is missing or not accessible)" : "";

/** What an IN exit reads, and what an MMIO read returns. */
const IN_DATA = [0x5c, 0x11, 0x22, 0x33];
const MMIO_DATA = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * Runs `bytes` at 0x1000 in `mode` on backend `b` until an exit other than
 * IO/MMIO (at most 200 exits); returns one line per exit and the final
 * registers. RIP is not compared at IO/MMIO exits: where it stands while
 * userspace handles the exit differs between KVM implementations (see
 * docs/fidelity.md); the final HLT's RIP is compared.
 */
function trace(b: Backend, mode: code_vm_mode, bytes: Uint8Array): string[] {
  using vm = new code_vm(b);
  vm.load(0x1000, bytes);
  vm.ram.set([0xef, 0xbe, 0xad, 0xde], 0x50000);
  vm.write_page_tables();
  vm.set_mode(mode, 0x1000, {});
  const out: string[] = [];
  for (let i = 0; i < 200; i++) {
    const e = vm.step();
    if (e.ret !== 0) {
      out.push(`KVM_RUN ${e.ret}`);
      break;
    }
    if (e.reason === KVM_EXIT_IO) {
      const io = e.io!;
      out.push(
        `io ${io.direction ? "out" : "in"} port ${io.port.toString(16)} size ${io.size} ` +
          `count ${io.count}` + (io.direction ? ` data ${hexs(io.data)}` : ""),
      );
      if (!io.direction) vm.set_io_data(IN_DATA);
      continue;
    }
    if (e.reason === KVM_EXIT_MMIO) {
      const m = e.mmio!;
      out.push(
        `mmio ${m.is_write ? "write" : "read"} ${m.phys_addr.toString(16)} len ${m.len}` +
          (m.is_write ? ` data ${hexs(m.data)}` : ""),
      );
      if (!m.is_write) vm.run.mmio.data.$bytes.set(MMIO_DATA);
      continue;
    }
    out.push(`exit ${e.reason}`);
    // RF (bit 16) is what the processor sets after a fault-restarted instruction; not compared.
    const regs = KVM_REGS_NAMES.map((k) =>
      `${k}=${(k === "rflags" ? e.regs[k]! & ~0x10000n : e.regs[k]!).toString(16)}`
    );
    out.push(regs.join(" "));
    break;
  }
  return out;
}

function hexs(a: number[]): string {
  return a.map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Runs `prog` on the simulator and, when usable, on /dev/kvm; the traces must be equal. */
async function both(mode: code_vm_mode, bytes: Uint8Array): Promise<string[]> {
  const sim = trace(await load_backend("sim"), mode, bytes);
  if (!no_kvm) {
    const kvm = trace(await load_backend("kvm"), mode, bytes);
    assertEquals(sim, kvm, "sim vs /dev/kvm");
  }
  return sim;
}

Deno.test(`the issue's 11-byte real-mode guest: two KVM_EXIT_IO, then KVM_EXIT_HLT${why}`, async () => {
  // mov al, 0x42; mov dx, 0x3f8; out dx, al; mov ax, 0x1234; out dx, ax; hlt
  const prog = [0xb0, 0x42, 0xba, 0xf8, 0x03, 0xee, 0xb8, 0x34, 0x12, 0xef, 0xf4];
  const t = await both("real", new Uint8Array(prog));
  assertEquals(t.slice(0, 3), [
    "io out port 3f8 size 1 count 1 data 42",
    "io out port 3f8 size 2 count 1 data 3412",
    `exit ${KVM_EXIT_HLT}`,
  ]);
  assert(t[3]!.includes("rip=100b"), t[3]);
});

Deno.test(`a real-mode program: same exits and registers on both backends${why}`, async () => {
  const t = await both(REAL16.mode, REAL16.bytes);
  assertEquals(t.length, 20, t.join("\n"));
  // Spot checks of the values on the simulator (the kvm half checks all of them).
  assertEquals(t[0], "io out port 10 size 2 count 1 data ac08"); // 0x1234 + 0xf678
  assertEquals(t[1], "io out port 10 size 2 count 1 data 0500"); // CF | PF
  assertEquals(t[2], "io out port 11 size 2 count 1 data 0f00"); // LOOP: 5+4+3+2+1
  assertEquals(t[4], "io in port 13 size 1 count 1");
  assertEquals(t[12], "io out port 14 size 1 count 1 data 77"); // INT 21h handler
  assertEquals(t[14], "io out port 1c size 2 count 1 data dede"); // #DE handler
  assertEquals(t[17], "io out port 1b size 2 count 1 data 0001"); // CS after the far JMP
  assertEquals(t[18], `exit ${KVM_EXIT_HLT}`);
});

Deno.test(`a 32-bit protected-mode program: same exits and registers on both backends${why}`, async () => {
  const t = await both(PROT32.mode, PROT32.bytes);
  assertEquals(t.slice(0, 3), [
    "io out port 10 size 4 count 1 data 77777777", // 0x89abcdef - 0x12345678
    "io out port 10 size 4 count 1 data 04080000", // PF | OF
    "io out port 11 size 4 count 1 data 98fc62c9", // imul eax, ecx, -3
  ]);
  assert(t.includes("io out port 20 size 4 count 1 data de000000"), "#DE handler ran");
  assert(t.includes("mmio write 200000 len 4 data 44332211"), t.join("\n"));
  assert(t.includes("mmio read 200006 len 2"), t.join("\n"));
  assert(t.includes("io out port 15 size 4 count 1 data 01020000"), "MMIO read data in AX");
  assertEquals(t.at(-2), `exit ${KVM_EXIT_HLT}`);
});

Deno.test(`td_boot's path: 32-bit protected mode to 64-bit mode and back to compatibility mode${why}`, async () => {
  const t = await both(BOOT64.mode, BOOT64.bytes);
  assertEquals(t.slice(0, 4), [
    "io out port 10 size 4 count 1 data 00050000", // EFER: LME | LMA
    "io out port 11 size 4 count 1 data 66554433", // 64-bit push/pop and shift
    "io out port 12 size 4 count 1 data 32323232", // after RETFQ to 32-bit code
    `exit ${KVM_EXIT_HLT}`,
  ]);
  assert(t[4]!.includes("rbx=112233445566"), t[4]);
});

Deno.test(`a 64-bit program: same exits and registers on both backends${why}`, async () => {
  const t = await both(LONG64.mode, LONG64.bytes);
  assert(t.includes("io out port 14 size 4 count 1 data fbffffff"), "LOCK CMPXCHG stored");
  assert(t.includes("io out port 1d size 4 count 1 data 0df00000"), "CALL/RET");
  assertEquals(t.at(-2), `exit ${KVM_EXIT_HLT}`);
});

Deno.test("32-bit and PAE paging: #PF with CR2 and error code, retry after IRET, MMIO through the page tables (sim)", async () => {
  // /dev/kvm is not asked: hosts differ in legacy paging support (PVM has none).
  const t = trace(await load_backend("sim"), PAGING32.mode, PAGING32.bytes);
  const i = t.indexOf("io out port 21 size 4 count 1 data 00000500");
  assert(i > 0, t.join("\n"));
  assertEquals(t.slice(i, i + 11), [
    "io out port 21 size 4 count 1 data 00000500", // CR2 = 0x50000
    "io out port 22 size 4 count 1 data 00000000", // not present, read, supervisor
    "io out port 14 size 4 count 1 data efbeadde", // the retried read
    "mmio write 200000 len 4 data 44332211",
    "mmio read 200004 len 4",
    "io out port 15 size 4 count 1 data 01020304",
    "io out port 16 size 4 count 1 data 0df0feca", // PAE: 0x50000 maps 0x60000
    "mmio read 1ff000 len 4",
    "io out port 17 size 4 count 1 data 01020304",
    "io out port 18 size 4 count 1 data cafef00d",
    `exit ${KVM_EXIT_HLT}`,
  ]);
});

Deno.test(`64-bit exceptions through the program's own IDT: same exits and registers on both backends${why}`, async () => {
  const t = await both(EXC64.mode, EXC64.bytes);
  assertEquals(t.slice(0, 8), [
    "io out port 20 size 4 count 1 data 06000000", // #UD handler
    "io out port 10 size 1 count 1 data 06",
    "io out port 11 size 1 count 1 data 06",
    "io out port 22 size 4 count 1 data 00000000", // #GP(0): non-canonical
    "io out port 12 size 1 count 1 data 00",
    "io out port 23 size 4 count 1 data 00000040", // CR2 = 0x40000000
    "io out port 23 size 4 count 1 data 00000000",
    "io out port 24 size 4 count 1 data 00000000", // #PF error code: not present, read
  ]);
  assert(t.includes("io out port 25 size 4 count 1 data 08000000"), "#DE frame: CS");
  assertEquals(t.at(-2), `exit ${KVM_EXIT_HLT}`);
});

Deno.test("32-bit privilege change: IRETD to CPL 3, #GP from OUT onto the TSS's ring-0 stack (sim)", async () => {
  // /dev/kvm is not asked: KVM's emulator, which the PVM host uses for 32-bit code, has no
  // protected-mode IRET.
  const t = trace(await load_backend("sim"), RING3.mode, RING3.bytes);
  assertEquals(t.slice(0, 9), [
    "io out port 20 size 4 count 1 data 00000000", // #GP(0)
    "io out port 21 size 4 count 1 data 06000000", // EIP: the OUT in user code
    "io out port 21 size 4 count 1 data 1b000000", // CS: ring 3
    "io out port 22 size 4 count 1 data 00700000", // old ESP
    "io out port 22 size 4 count 1 data 23000000", // old SS
    "io out port 23 size 4 count 1 data e8870000", // ESP0 - 6 dwords
    "io out port 23 size 4 count 1 data 10000000", // SS0
    "io out port 23 size 4 count 1 data 08000000", // ring-0 CS
    `exit ${KVM_EXIT_HLT}`,
  ]);
});

Deno.test(`real mode to 32-bit protected mode (LGDT, CR0.PE, far JMP): same on both backends${why}`, async () => {
  const t = await both(REAL2PROT.mode, REAL2PROT.bytes);
  assertEquals(t.slice(0, 3), [
    "io out port 10 size 4 count 1 data 11000060", // CR0: CD | NW | ET | PE
    "io out port 11 size 4 count 1 data 78563412",
    `exit ${KVM_EXIT_HLT}`,
  ]);
});

Deno.test('kvm.force_emulation_prefix: `ud2; .ascii "kvm"` runs the next instruction when set through sysfs (sim)', async () => {
  // mov ecx, EFER; KVM_FEP rdmsr; out 0x10, eax; KVM_FEP out 0x11, al; mov al, 0x42; ud2
  const prog = hex("b9800000c00f0b6b766d0f32e7100f0b6b766de611b0420f0b");
  const sim = await load_backend("sim");
  const path = "/sys/module/kvm/parameters/force_emulation_prefix";
  const param = (text?: string): string => {
    const fd = sim.open(path, text === undefined ? O_RDONLY : O_WRONLY, 0);
    assert(fd >= 0, `open ${path}: ${fd}`);
    try {
      const buf = new Uint8Array(16);
      if (text !== undefined) buf.set(new TextEncoder().encode(text));
      const n = text === undefined
        ? sim.read(fd, sim.addr_of(buf.buffer, 0), 16n)
        : sim.write(fd, sim.addr_of(buf.buffer, 0), BigInt(text.length));
      assert(n >= 0n, `${text === undefined ? "read" : "write"}: ${n}`);
      return new TextDecoder().decode(buf.subarray(0, Number(n)));
    } finally {
      sim.close(fd);
    }
  };
  assertEquals(param(), "0\n");
  // Off: the prefix is a plain UD2 (#UD; without an IDT, a triple fault).
  let t = trace(sim, "long", prog);
  assertEquals(t[0], `exit ${KVM_EXIT_SHUTDOWN}`);
  try {
    assertEquals(param("1\n"), "1\n");
    assertEquals(param(), "1\n");
    t = trace(sim, "long", prog);
    assert(t[3]!.includes("rip=1017"), t[3]); // at the last UD2
    assertEquals(t.slice(0, 3), [
      "io out port 10 size 4 count 1 data 00050000", // the emulated RDMSR of EFER
      "io out port 11 size 1 count 1 data 00", // the emulated OUT
      `exit ${KVM_EXIT_SHUTDOWN}`, // the last, unprefixed UD2
    ]);
  } finally {
    param("0\n");
  }
});

Deno.test("32-bit paging with 4 MiB pages (CR4.PSE), A/D bits, #PF(P|W) with CR0.WP (sim)", async () => {
  // /dev/kvm is not asked: hosts differ in legacy paging support (PVM has none).
  const t = trace(await load_backend("sim"), PSE32.mode, PSE32.bytes);
  assertEquals(t.slice(0, 5), [
    "io out port 10 size 4 count 1 data efbeadde", // read through the 4 MiB alias
    "io out port 11 size 4 count 1 data 44556677", // a write through it, read back at 0x3000
    "io out port 12 size 4 count 1 data e3000000", // the PDE: P RW A D PS
    "io out port 13 size 4 count 1 data 03000000", // #PF error code: present, write
    "io out port 13 size 4 count 1 data 00000500", // CR2
  ]);
  assertEquals(t.at(-2), `exit ${KVM_EXIT_HLT}`);
});

Deno.test("VMMCALL on the Intel model: rewritten to VMCALL and run with KVM_X86_QUIRK_FIX_HYPERCALL_INSN, #UD without (sim)", async () => {
  // mov eax, 12 (KVM_HC_SCHED_YIELD); vmmcall; out 0x10, eax; hlt
  const prog = hex("b80c0000000f01d9e710f4");
  const sim = await load_backend("sim");
  for (const quirk of [true, false]) {
    using vm = new code_vm(sim);
    if (!quirk) {
      const cap = kvm_enable_cap.alloc();
      cap.cap = KVM_CAP_DISABLE_QUIRKS2;
      cap.args.set(0, BigInt(KVM_X86_QUIRK_FIX_HYPERCALL_INSN));
      assertEquals(sim.ioctl(vm.vm, KVM_ENABLE_CAP, sim.addr_of(cap.$buffer, cap.$offset)), 0);
    }
    vm.load(0x1000, prog);
    vm.write_page_tables();
    vm.set_mode("long", 0x1000);
    const e = vm.step();
    if (quirk) {
      assertEquals(e.reason, KVM_EXIT_IO, "the hypercall completed, then the OUT");
      assertEquals([...vm.ram.subarray(0x1005, 0x1008)], [0x0f, 0x01, 0xc1], "patched to VMCALL");
    } else {
      assertEquals(e.reason, KVM_EXIT_SHUTDOWN, "#UD, with no IDT");
      assertEquals(e.regs.rip, 0x1005n);
      assertEquals([...vm.ram.subarray(0x1005, 0x1008)], [0x0f, 0x01, 0xd9], "left alone");
    }
  }
});
