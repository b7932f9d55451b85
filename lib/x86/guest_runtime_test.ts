// SPDX-License-Identifier: GPL-2.0-only
/**
 * The guest runtime: its machine code (every host), and TypeScript guest
 * code on the real `/dev/kvm` with each intrinsic family (skipped, with the
 * reason in the test name, where `/dev/kvm` cannot be opened). The kvm tests
 * pin the `kvm` backend for this file.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { load_backend, set_backend } from "../../include/libc/backend.ts";
import { KVM_EXIT_IO, KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT } from "../../include/linux/kvm.ts";
import { kvm_regs, kvm_sregs } from "../../include/asm/kvm.ts";
import { user_memory } from "../../include/libc/syscall.ts";
import * as util from "../../include/kvm_util.ts";
import {
  addr_gva2hva,
  get_ucall,
  guest_code_gva,
  kvm_vm_free,
  new_ucall,
  sync_global_to_guest,
  UCALL_ABORT,
  UCALL_DONE,
  UCALL_SYNC,
  UCALL_UNHANDLED,
  vcpu_regs_get,
  vcpu_sregs_get,
  vm_alloc,
} from "../../include/kvm_util.ts";
import {
  vcpu_args_set,
  vcpu_get_cpuid_entry,
  vm_install_exception_handler,
} from "../../include/x86/processor.ts";
import {
  GR_DOORBELL_PORT,
  GR_FRAME_QWORDS,
  GR_NR_OPS,
  GR_OP,
  GUEST_RUNTIME_GVA,
  guest_runtime_image,
  guest_runtime_listing,
  guest_runtime_op_range,
  guest_runtime_source,
  guest_runtime_stub_offset,
  GUEST_RUNTIME_TEXT_RESERVE,
} from "./guest_runtime.ts";

const have_kvm = (() => {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
})();
const no_kvm = have_kvm ? "" : " (skipped: /dev/kvm missing or not accessible)";
if (have_kvm) set_backend(await load_backend("kvm"));

import * as g from "./testdata/guest_runtime_guest.ts";

Deno.test("the runtime fits its reserve, has 256 stubs 16 bytes apart and a range per request", () => {
  const img = guest_runtime_image();
  assert(img.code.length <= GUEST_RUNTIME_TEXT_RESERVE);
  for (let v = 1; v < 256; v++) {
    assertEquals(guest_runtime_stub_offset(v) - guest_runtime_stub_offset(v - 1), 16);
  }
  for (let op = 1; op < GR_NR_OPS; op++) {
    const [s, e] = guest_runtime_op_range(op);
    assert(e > s, `request ${op} has no instruction`);
  }
  // Each request's bytes are the instruction the intrinsic names.
  const at = (op: number) => [...img.code.subarray(...guest_runtime_op_range(op))];
  assertEquals(at(GR_OP.OUTB!), [0xee]);
  assertEquals(at(GR_OP.RDMSR!), [0x0f, 0x32]);
  assertEquals(at(GR_OP.VMCALL!), [0x0f, 0x01, 0xc1]);
  assertEquals(at(GR_OP.READQ!), [0x48, 0x8b, 0x03]);
  assertEquals(at(GR_OP.STI_HLT!), [0xfb, 0xf4]);
  assertEquals(GR_FRAME_QWORDS, 22);
});

Deno.test("the runtime's listing names every instruction with its bytes, and the doorbell port", () => {
  const text = guest_runtime_listing();
  assertStringIncludes(text, `ba ${(GR_DOORBELL_PORT & 0xff).toString(16)} 7e 00 00`);
  assertStringIncludes(text, "48 cf");
  assertEquals(
    text.split("\n").length,
    guest_runtime_image().listing.filter((l) => l.bytes.length).length,
  );
});

const gas = (() => {
  try {
    return new Deno.Command("as", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: `the runtime's bytes are what GNU as and ld make of its source${
    gas ? "" : " (skipped: no as)"
  }`,
  ignore: !gas,
  fn: async () => {
    // Both variants: the ordinary VM's and the TD's (TDVMCALL doorbell).
    for (const td of [false, true]) await gas_check(td);
  },
});

/** Assembles and links the runtime's source with GNU as and ld and compares the bytes. */
async function gas_check(td: boolean): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const src = guest_runtime_source(td).map((l) =>
      l.startsWith(".align") ? l.replace(".align", ".balign") + ", 0xcc" : l
    );
    await Deno.writeTextFile(`${dir}/rt.s`, ".text\n.code64\n" + src.join("\n") + "\n");
    const as = await new Deno.Command("as", {
      args: ["--64", "-o", `${dir}/rt.o`, `${dir}/rt.s`],
    })
      .output();
    assert(as.success, new TextDecoder().decode(as.stderr));
    // Linked where the runtime is loaded (its absolute addresses are the labels').
    const ld = await new Deno.Command("ld", {
      args: [
        `-Ttext=0x${GUEST_RUNTIME_GVA.toString(16)}`,
        "-e",
        "serve",
        "--oformat",
        "binary",
        "-o",
        `${dir}/rt.bin`,
        `${dir}/rt.o`,
      ],
    }).output();
    assert(ld.success, new TextDecoder().decode(ld.stderr));
    assertEquals(await Deno.readFile(`${dir}/rt.bin`), guest_runtime_image(td).code);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

type vcpu_t = import("../../include/kvm_util_types.ts").kvm_vcpu;

/** Runs to the next ucall, failing on a guest assert; returns [cmd, arg0]. */
function next_ucall(vcpu: vcpu_t): [number, bigint] {
  const uc = new_ucall();
  util.vcpu_run(vcpu);
  const cmd = get_ucall(vcpu, uc);
  if (cmd === UCALL_ABORT) throw new Error(`guest assert: ${util.ucall_buffer(uc)}`);
  return [cmd, uc.args.at(1)];
}

function kvm_test(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name: `kvm: ${name}${no_kvm}`, ignore: !have_kvm, fn });
}

kvm_test("port I/O of each size and string I/O exit with the kernel's kvm_run", () => {
  const vcpu = g.ref<vcpu_t>();
  const vm = g.gr_create_vm(g.guest_io, vcpu);
  try {
    g.scratch_gva.value = vm_alloc(vm, 4096, 0x10000n);
    sync_global_to_guest(vm, g.scratch_gva);
    const run = vcpu.value.run;
    const data = () => user_memory(vcpu.value.run_hva + BigInt(run.io.data_offset), 4096);
    const outs: [number, number][] = [];
    for (const size of [1, 2, 4]) {
      util.vcpu_run(vcpu.value);
      assertEquals(run.exit_reason, KVM_EXIT_IO);
      assertEquals([run.io.direction, run.io.size, run.io.port], [
        KVM_EXIT_IO_OUT,
        size,
        g.TEST_PORT,
      ]);
      const d = data();
      outs.push([size, new DataView(d.buffer, d.byteOffset).getUint32(0, true) % 2 ** (8 * size)]);
    }
    assertEquals(outs, [[1, 0x11], [2, 0x2233], [4, 0x44556677]]);
    for (const [size, v] of [[1, 0x9a], [2, 0xbcde], [4, 0x01020304]]) {
      util.vcpu_run(vcpu.value);
      assertEquals([run.io.direction, run.io.size], [KVM_EXIT_IO_IN, size]);
      new DataView(data().buffer, data().byteOffset).setUint32(0, v!, true);
    }
    assertEquals(next_ucall(vcpu.value), [
      UCALL_SYNC,
      0x9an | (0xbcden << 8n) | (0x01020304n << 24n),
    ]);
    // rep outsb / rep insb: the kernel batches elements per exit as it likes
    // (kvm_pvm exits once per byte), so collect them over the exits.
    const sent: number[] = [];
    while (sent.length < 4) {
      util.vcpu_run(vcpu.value);
      assertEquals([run.io.direction, run.io.size, run.io.port], [KVM_EXIT_IO_OUT, 1, g.TEST_PORT]);
      sent.push(...data().subarray(0, run.io.count));
    }
    assertEquals(sent, [0x41, 0x42, 0x43, 0x44]);
    for (let filled = 0; filled < 4;) {
      util.vcpu_run(vcpu.value);
      assertEquals([run.io.direction, run.io.size], [KVM_EXIT_IO_IN, 1]);
      data().set([1, 2, 3, 4].slice(filled, filled + run.io.count));
      filled += run.io.count;
    }
    assertEquals(next_ucall(vcpu.value), [UCALL_SYNC, 0x04030201n]);
    assertEquals(next_ucall(vcpu.value)[0], UCALL_DONE);
  } finally {
    kvm_vm_free(vm);
  }
});

kvm_test("MSRs, CPUID, RDTSC, CRs and descriptor tables are the real vCPU's", () => {
  const vcpu = g.ref<vcpu_t>();
  const vm = g.gr_create_vm(g.guest_sys, vcpu);
  try {
    const leaf0 = vcpu_get_cpuid_entry(vcpu.value, 0);
    assertEquals(next_ucall(vcpu.value), [
      UCALL_SYNC,
      BigInt(leaf0.ebx) | (BigInt(leaf0.edx) << 32n),
    ]);
    assertEquals(next_ucall(vcpu.value)[1], BigInt(leaf0.ecx));
    const sregs = kvm_sregs.alloc();
    vcpu_sregs_get(vcpu.value, sregs);
    assertEquals(next_ucall(vcpu.value)[1], sregs.cr0);
    assertEquals(next_ucall(vcpu.value)[1], sregs.cr3);
    assertEquals(next_ucall(vcpu.value)[1], sregs.cr4);
    assertEquals(next_ucall(vcpu.value)[1], sregs.idt.base);
    assertEquals(next_ucall(vcpu.value)[1], sregs.gdt.base);
    assertEquals(next_ucall(vcpu.value)[0], UCALL_DONE);
  } finally {
    kvm_vm_free(vm);
  }
});

kvm_test("loads, stores, copies and fills go through the guest's page tables to its memory", () => {
  const vcpu = g.ref<vcpu_t>();
  const vm = g.gr_create_vm(g.guest_memory, vcpu);
  try {
    const buf = vm_alloc(vm, 4096, 0x10000n);
    g.scratch_gva.value = buf;
    sync_global_to_guest(vm, g.scratch_gva);
    assertEquals(next_ucall(vcpu.value)[0], UCALL_DONE);
    const host = user_memory(addr_gva2hva(vm, buf), 512);
    assertEquals(host[0], 0xa1);
    assertEquals(
      new DataView(host.buffer, host.byteOffset).getBigUint64(8, true),
      0x0123456789abcdefn,
    );
    assertEquals(host[64], 0x5a);
    assertEquals(host[264], 0xef);
  } finally {
    kvm_vm_free(vm);
  }
});

kvm_test(
  "exceptions reach the guest's handlers through the real IDT: skip, RAX, the RIP they see",
  () => {
    const vcpu = g.ref<vcpu_t>();
    const vm = g.gr_create_vm(g.guest_exceptions, vcpu);
    try {
      vm_install_exception_handler(vm, 13, g.gr_gp_handler);
      vm_install_exception_handler(vm, 6, g.gr_ud_handler);
      vm_install_exception_handler(vm, 14, g.gr_pf_handler);
      g.guest_fn_rip.value = guest_code_gva(vm, g.guest_exceptions);
      sync_global_to_guest(vm, g.guest_fn_rip);
      assertEquals(next_ucall(vcpu.value)[0], UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  },
);

kvm_test(
  "a handler's retry runs the instruction again with its registers; kvm_asm_safe",
  () => {
    const vcpu = g.ref<vcpu_t>();
    const vm = g.gr_create_vm(g.guest_retry_trap_safe, vcpu);
    try {
      vm_install_exception_handler(vm, 13, g.gr_gp_retry_handler);
      assertEquals(next_ucall(vcpu.value)[0], UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  },
);

kvm_test("an exception without a handler is upstream's UCALL_UNHANDLED, with the vector", () => {
  const vcpu = g.ref<vcpu_t>();
  const vm = g.gr_create_vm(g.guest_unhandled, vcpu);
  try {
    const uc = new_ucall();
    assertEquals(util.__vcpu_run(vcpu.value), 0);
    assertEquals(get_ucall(vcpu.value, uc), UCALL_UNHANDLED);
    assertStringIncludes(util.ucall_buffer(uc), "Unhandled exception '0x6'");
  } finally {
    kvm_vm_free(vm);
  }
});

kvm_test("several vCPUs run guest code at once, each on its own worker", async () => {
  const { vm, vcpus } = g.gr_create_vm_vcpus(3, g.guest_multi);
  try {
    const ids = vm_alloc(vm, 4096, 0x10000n);
    g.ids_gva.value = ids;
    sync_global_to_guest(vm, g.ids_gva);
    vcpus.forEach((v, i) => vcpu_args_set(v, 1, i));
    const ucs = await Promise.all(vcpus.map(async (v) => {
      const uc = new_ucall();
      await util.vcpu_run_async(v);
      return [get_ucall(v, uc), uc.args.at(1)];
    }));
    assertEquals(ucs, vcpus.map((_, i) => [UCALL_SYNC, BigInt(i)]));
    const host = user_memory(addr_gva2hva(vm, ids), 24);
    const dv = new DataView(host.buffer, host.byteOffset);
    assertEquals([0, 1, 2].map((i) => dv.getBigUint64(8 * i, true)), [100n, 101n, 102n]);
    for (const v of vcpus) assertEquals(next_ucall(v)[0], UCALL_DONE);
    // The host sees the guest's real registers at a real exit.
    const regs = kvm_regs.alloc();
    vcpu_regs_get(vcpus[0]!, regs);
    assert(regs.rsp !== 0n);
  } finally {
    kvm_vm_free(vm);
  }
});
