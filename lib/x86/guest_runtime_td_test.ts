// SPDX-License-Identifier: GPL-2.0-only
/**
 * The TD guest runtime on the simulator (`KVM_SELFTESTS_GUEST_RUNTIME=1`): a
 * TD's TypeScript guest code runs through the runtime's machine code, which
 * the simulated CPU executes as a TDX CPU would (no TDX hardware here). The
 * file pins the `sim` backend: TDs exist only there on this machine.
 */
import "../../sim/use_sim_backend.ts";
import { assert, assertEquals, assertNotEquals } from "@std/assert";
import { kvm_regs, kvm_sregs, PF_VECTOR } from "../../include/asm/kvm.ts";
import {
  KVM_EXIT_IO,
  KVM_EXIT_IO_OUT,
  KVM_GET_REGS,
  KVM_GET_SREGS,
} from "../../include/linux/kvm.ts";
import { EBADF, EINVAL } from "../../include/linux/errno.ts";
import { errno_get } from "../../include/libc/errno.ts";
import { user_memory } from "../../include/libc/syscall.ts";
import {
  __vcpu_ioctl,
  addr_gva2gpa,
  addr_gva2hva,
  get_ucall,
  kvm_vm_free,
  new_ucall,
  sync_global_to_guest,
  UCALL_DONE,
  UCALL_SYNC,
  vcpu_run,
  vcpu_run_async,
  vm_alloc,
  vm_is_gpa_protected,
} from "../../include/kvm_util.ts";
import {
  kvm_arch_vm_finalize_vcpus,
  vm_install_exception_handler,
} from "../../include/x86/processor.ts";
import { TDX_TEST_SUCCESS_PORT, TDX_TEST_SUCCESS_SIZE } from "../../include/x86/tdx/test_util.ts";
import { TDG_VP_VMCALL_INSTRUCTION_IO } from "../../include/x86/tdx/tdx.ts";
import {
  VCPU_REGS_R10,
  VCPU_REGS_R11,
  VCPU_REGS_R14,
  VCPU_REGS_R15,
} from "../../include/asm/kvm_vcpu_regs.ts";
import { TRACE_ENV } from "../../include/libc/trace.ts";
import { backend } from "../../include/libc/backend.ts";
import {
  GR_AREA_SIZE,
  GR_DOORBELL_PORT,
  GR_FILE_OP,
  GR_FILE_REGS,
  GR_FILE_SIZE,
  GR_OP,
  GR_STACK_BOTTOM,
  GR_STACK_TOP,
  GUEST_RUNTIME_GVA,
  guest_runtime_image,
  guest_runtime_op_gva,
  guest_runtime_stub_offset,
} from "./guest_runtime.ts";
import { guest_runtime_area, GUEST_RUNTIME_ENV, guest_runtime_runs } from "./guest_runtime_host.ts";
import * as g from "./testdata/guest_runtime_td_guest.ts";

/** Runs `fn` with the runtime option on (TDs created meanwhile use the runtime). */
async function with_runtime<T>(fn: () => T | Promise<T>): Promise<T> {
  const old = Deno.env.get(GUEST_RUNTIME_ENV);
  Deno.env.set(GUEST_RUNTIME_ENV, "1");
  try {
    return await fn();
  } finally {
    if (old === undefined) Deno.env.delete(GUEST_RUNTIME_ENV);
    else Deno.env.set(GUEST_RUNTIME_ENV, old);
  }
}

const ROOT = new URL("../../", import.meta.url);

/**
 * Runs an `x86/` program on the simulator with `env` added and the TDVMCALL
 * trace on: its exit code, its TAP result lines, and how many TDVMCALLs
 * reached the runtime's doorbell port.
 */
async function tap(
  program: string,
  env: Record<string, string>,
): Promise<[number, string[], number]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(program, ROOT).pathname],
    env: { KVM_SELFTESTS_BACKEND: "sim", [TRACE_ENV]: "tdvmcall", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const doorbell = `r14=0x${GR_DOORBELL_PORT.toString(16)} `;
  const rings = new TextDecoder().decode(out.stderr).split("\n")
    .filter((l) => l.startsWith("kvm_trace: tdvmcall Instruction.IO") && l.includes(doorbell));
  return [out.code, text.split("\n").filter((l) => /^(not )?ok \d+ /.test(l)), rings.length];
}

Deno.test("tdx_vm_test passes through the TD runtime with the intrinsic path's TAP", async () => {
  const [[rt_code, rt, rt_rings], [ref_code, ref, ref_rings]] = await Promise.all([
    tap("x86/tdx_vm_test.ts", { [GUEST_RUNTIME_ENV]: "1" }),
    tap("x86/tdx_vm_test.ts", {}),
  ]);
  assertEquals(ref_code, 0, ref.join("\n"));
  assertEquals(rt, ref);
  assertEquals(rt_code, 0);
  assert(rt.length >= 16, rt.join("\n"));
  // The guest code went through the runtime: its TDVMCALLs rang the doorbell.
  assertEquals(ref_rings, 0);
  assert(rt_rings > 100, `only ${rt_rings} doorbell TDVMCALLs`);
});

/** Builds, measures and runs a TD that reports its MRTD; `patch` may change it before finalize. */
function td_mrtd(patch?: (vm: ReturnType<typeof g.gr_td_create>["vm"]) => void): string {
  const { vm, vcpu } = g.gr_td_create(g.guest_td_mrtd);
  try {
    sync_global_to_guest(vm, g.report_gva);
    sync_global_to_guest(vm, g.report_gpa);
    // The runtime is in the TD's image, as assembled, before it is measured.
    const code = guest_runtime_image(true).code;
    assertEquals(user_memory(addr_gva2hva(vm, GUEST_RUNTIME_GVA), code.length), code);
    patch?.(vm);
    kvm_arch_vm_finalize_vcpus(vm);
    const uc = new_ucall();
    vcpu_run(vcpu);
    assertEquals(get_ucall(vcpu, uc), UCALL_SYNC);
    let hex = "";
    for (let i = 0; i < g.MRTD_SIZE / 8; i++) {
      hex += uc.args.at(i).toString(16).padStart(16, "0");
    }
    vcpu_run(vcpu);
    assertEquals(get_ucall(vcpu, uc), UCALL_DONE);
    assert(/[^0]/.test(hex), "MRTD is all zero");
    return hex;
  } finally {
    kvm_vm_free(vm);
  }
}

Deno.test("the TD runtime's bytes are measured: one changed byte changes MRTD", async () => {
  await with_runtime(() => {
    const a = td_mrtd();
    assertEquals(td_mrtd(), a, "the same build measured twice");
    const changed = td_mrtd((vm) => {
      // A padding byte after the #DE stub (int3, never executed): the TD
      // still runs, so only the measurement can tell.
      const stub = guest_runtime_stub_offset(0, true);
      const pad = user_memory(addr_gva2hva(vm, GUEST_RUNTIME_GVA + BigInt(stub + 12)), 1);
      assertEquals(pad[0], 0xcc);
      pad[0] = 0x90;
    });
    assertNotEquals(changed, a);
  });
});

Deno.test("requests flow through the shared page; the TD's registers stay private", async () => {
  await with_runtime(() => {
    const { vm, vcpu } = g.gr_td_create(g.guest_td_io);
    try {
      const area = guest_runtime_area(vcpu);
      assert(area !== undefined, "a TD's runtime area is allocated with its vCPU");
      // Shared: never converted to private, so the host and the TD both see it.
      for (let off = 0; off < GR_AREA_SIZE; off += 4096) {
        assertEquals(vm_is_gpa_protected(vm, addr_gva2gpa(vm, area + BigInt(off))), false);
      }
      kvm_arch_vm_finalize_vcpus(vm);

      vcpu_run(vcpu);
      const run = vcpu.run;
      assertEquals([run.exit_reason, run.io.direction, run.io.size, run.io.port], [
        KVM_EXIT_IO,
        KVM_EXIT_IO_OUT,
        4,
        g.TD_IO_PORT,
      ]);
      const data = user_memory(vcpu.run_hva + BigInt(run.io.data_offset), 4);
      assertEquals(
        BigInt(new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true)),
        g.TD_IO_VALUE,
      );

      // The host cannot read the TD's registers at this exit...
      assert(__vcpu_ioctl(vcpu, KVM_GET_REGS, kvm_regs.alloc()) < 0);
      assertEquals(errno_get(), EINVAL);
      assert(__vcpu_ioctl(vcpu, KVM_GET_SREGS, kvm_sregs.alloc()) < 0);
      assertEquals(errno_get(), EINVAL);

      // ...while the request that caused it is in the shared page: a serve
      // frame whose register file holds the TDVMCALL's operands.
      const mem = user_memory(addr_gva2hva(vm, area), GR_AREA_SIZE);
      const dv = new DataView(mem.buffer, mem.byteOffset, GR_AREA_SIZE);
      const reg = (f: number, r: number) => dv.getBigUint64(f + GR_FILE_REGS + 8 * r, true);
      let found = -1;
      for (let f = GR_STACK_BOTTOM; f + GR_FILE_SIZE <= GR_STACK_TOP; f += 8) {
        if (
          dv.getBigUint64(f + GR_FILE_OP, true) === guest_runtime_op_gva(GR_OP.TDCALL!, true) &&
          reg(f, VCPU_REGS_R10) === 0n &&
          reg(f, VCPU_REGS_R11) === TDG_VP_VMCALL_INSTRUCTION_IO &&
          reg(f, VCPU_REGS_R14) === BigInt(g.TD_IO_PORT) &&
          reg(f, VCPU_REGS_R15) === g.TD_IO_VALUE
        ) found = f;
      }
      assert(found >= 0, "no serve frame with the TDVMCALL<Instruction.IO> request in the area");

      vcpu_run(vcpu);
      assertEquals([run.exit_reason, run.io.port, run.io.size], [
        KVM_EXIT_IO,
        TDX_TEST_SUCCESS_PORT,
        TDX_TEST_SUCCESS_SIZE,
      ]);
    } finally {
      kvm_vm_free(vm);
    }
  });
});

Deno.test("a TD's streaming loads come from a block copy; re-reads and faults stay real", async () => {
  await with_runtime(() => {
    const { vm, vcpu } = g.gr_td_create(g.guest_td_scan);
    try {
      // A region of its own, with nothing mapped after it: the first load
      // past its end must fault as it would without the copy.
      const scan = vm_alloc(vm, 8 * g.SCAN_QWORDS, 0x10000000n);
      const host = user_memory(addr_gva2hva(vm, scan), 8 * g.SCAN_QWORDS);
      const hv = new DataView(host.buffer, host.byteOffset, host.length);
      for (let i = 0; i < g.SCAN_QWORDS; i++) hv.setBigUint64(8 * i, g.scan_value(i), true);
      g.scan_gva.value = scan;
      sync_global_to_guest(vm, g.scan_gva);
      vm_install_exception_handler(vm, PF_VECTOR, g.guest_td_pf_handler);
      kvm_arch_vm_finalize_vcpus(vm);

      const uc = new_ucall();
      const stage = (): bigint => {
        vcpu_run(vcpu);
        assertEquals(get_ucall(vcpu, uc), UCALL_SYNC, "guest assert or unexpected exit");
        return uc.args.at(1);
      };
      const before = guest_runtime_runs(vcpu);
      assertEquals(stage(), 1n);
      const scanned = guest_runtime_runs(vcpu) - before;
      // 1024 loads, each checked by the guest against the host's values, in
      // a handful of exits: one real load, then a block copy per 2 KiB.
      assert(scanned > 0 && scanned < 64, `${scanned} KVM_RUNs for 1024 streaming loads`);
      const polled = guest_runtime_runs(vcpu);
      assertEquals(stage(), 2n);
      // The same qword again and again: a real load each time.
      assert(guest_runtime_runs(vcpu) - polled >= 64);
      assertEquals(stage(), 3n);
      assertEquals(uc.args.at(2), g.PF_VALUE);
      assertEquals(uc.args.at(3), scan + BigInt(8 * g.SCAN_QWORDS));
      vcpu_run(vcpu);
      assertEquals(get_ucall(vcpu, uc), UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  });
});

Deno.test("a TD's streaming loads that fault are never block-copied: one fault per load", async () => {
  await with_runtime(() => {
    const { vm, vcpu } = g.gr_td_create(g.guest_td_scan_faulting);
    try {
      g.scan_gva.value = vm_alloc(vm, 8 * g.SCAN_QWORDS, 0x10000000n);
      sync_global_to_guest(vm, g.scan_gva);
      vm_install_exception_handler(vm, PF_VECTOR, g.guest_td_pf_handler);
      kvm_arch_vm_finalize_vcpus(vm);
      const uc = new_ucall();
      vcpu_run(vcpu);
      assertEquals(get_ucall(vcpu, uc), UCALL_SYNC, "guest assert or unexpected exit");
      assertEquals(uc.args.at(1), 5n);
      // The load that starts a block copy faulted, so the copy never ran:
      // had it, its own loads would have faulted too (for a TD's MMIO, each
      // would have been an access the VMM sees).
      assertEquals(uc.args.at(2), BigInt(g.FAULT_QWORDS));
      assertEquals(uc.args.at(3), 1n);
      vcpu_run(vcpu);
      assertEquals(get_ucall(vcpu, uc), UCALL_DONE);
    } finally {
      kvm_vm_free(vm);
    }
  });
});

Deno.test("the simulator's machine-code-only switch takes a VM fd, else EBADF", () => {
  // The pinned sim backend (sim/backend.ts's sim_backend).
  const b = backend() as unknown as { set_vm_machine_code_only(vm_fd: number): number };
  assertEquals(b.set_vm_machine_code_only(-1), -EBADF);
  assertEquals(b.set_vm_machine_code_only(1 << 20), -EBADF);
  const { vm, vcpu } = g.gr_td_create(g.guest_td_io);
  try {
    assertEquals(b.set_vm_machine_code_only(vcpu.fd), -EBADF);
    assertEquals(b.set_vm_machine_code_only(vm.fd), 0);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("a TD's vCPUs run their guest code through the runtime at once", async () => {
  await with_runtime(async () => {
    const { vm, vcpus } = g.gr_td_create_vcpus(2, g.guest_td_read_runtime);
    try {
      kvm_arch_vm_finalize_vcpus(vm);
      await Promise.all(vcpus.map((v) => vcpu_run_async(v)));
      for (const v of vcpus) {
        assertEquals([v.run.exit_reason, v.run.io.port], [KVM_EXIT_IO, TDX_TEST_SUCCESS_PORT]);
        // Two vCPUs: every load is a real one (no block copies).
        assert(guest_runtime_runs(v) > g.RUNTIME_QWORDS, `${guest_runtime_runs(v)} KVM_RUNs`);
      }
    } finally {
      kvm_vm_free(vm);
    }
  });
});
