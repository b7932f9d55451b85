// SPDX-License-Identifier: GPL-2.0-only
/**
 * docs/fidelity.md's uAPI coverage table against the simulated dispatchers:
 * every request a dispatcher lists must have a row for its fd type, and a
 * request a dispatcher does not list must get the kernel's answer to an
 * unknown ioctl (`kvm_arch_dev_ioctl()` and `kvm_arch_vcpu_ioctl()`:
 * EINVAL; `kvm_arch_vm_ioctl()`: ENOTTY; `tdx_vm_ioctl()`/`tdx_vcpu_ioctl()`
 * sub-commands: EINVAL), so a case added to a switch without its list entry
 * fails here too.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import { close, ioctl } from "../../include/libc/syscall.ts";
import { errno_get as errno } from "../../include/libc/errno.ts";
import { EINVAL, ENOTTY } from "../../include/linux/errno.ts";
import * as uapi from "../../include/linux/kvm.ts";
import { _IOC_TYPE } from "../../include/linux/ioctl.ts";
import {
  kvm_dev_ioctl_requests,
  kvm_vcpu_ioctl_requests,
  kvm_vm_ioctl_requests,
} from "./virt/kvm/kvm_main.ts";
import {
  kvm_arch_dev_ioctl_requests,
  kvm_arch_vcpu_ioctl_requests,
  kvm_arch_vm_ioctl_requests,
} from "./arch/x86/kvm/x86.ts";
import { tdx_vcpu_ioctl_cmds, tdx_vm_ioctl_cmds } from "./arch/x86/kvm/vmx/tdx.ts";
import { FIOCLEX, FIONBIO, FIONCLEX } from "./fs/ioctl.ts";
import { create_vcpu, create_vm } from "./testdata/util.ts";
import { capabilities, cmd, enable_cap, enc_op, init_vm_struct } from "./testdata/raw_td.ts";

const KVMIO = 0xae;

/** The rows of the coverage table: the names in the first cell, the fd cell. */
function coverage_rows(): { names: Set<string>; fd: string }[] {
  const md = Deno.readTextFileSync(new URL("../../docs/fidelity.md", import.meta.url));
  const start = md.indexOf("## uAPI coverage");
  assert(start >= 0, "docs/fidelity.md has no uAPI coverage section");
  const end = md.indexOf("\n## ", start + 1);
  const rows = [];
  for (const line of md.slice(start, end < 0 ? undefined : end).split("\n")) {
    if (!line.startsWith("| ") || line.startsWith("| ---") || line.startsWith("| entry point")) {
      continue;
    }
    const cells = line.split("|").map((c) => c.trim());
    const names = new Set([...cells[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!));
    rows.push({ names, fd: cells[2]! });
  }
  return rows;
}

/** Every KVM ioctl number the uAPI headers define, with its names. */
function kvm_ioctls(): Map<number, string[]> {
  const m = new Map<number, string[]>();
  for (const [k, v] of Object.entries(uapi)) {
    if (!k.startsWith("KVM_") || typeof v !== "number" || v <= 0xff) continue;
    if (_IOC_TYPE(v) !== KVMIO) continue;
    m.set(v, [...(m.get(v) ?? []), k]);
  }
  return m;
}

function tdx_cmd_names(id: number): string[] {
  return Object.entries(uapi).filter(([k, v]) =>
    k.startsWith("KVM_TDX_") && v === id && !k.startsWith("KVM_TDX_VM")
  ).map(([k]) => k);
}

function assert_covered(
  rows: ReturnType<typeof coverage_rows>,
  fd: string,
  names: string[],
  what: string,
): void {
  assert(names.length > 0, `${what}: no uAPI name`);
  const ok = rows.some((r) => r.fd.split(/,\s*/).includes(fd) && names.some((n) => r.names.has(n)));
  assert(ok, `${names.join("/")} (${what}) is answered but has no "${fd}" row in docs/fidelity.md`);
}

Deno.test("every request a dispatcher answers has a row in docs/fidelity.md's coverage table", () => {
  const rows = coverage_rows();
  const names = kvm_ioctls();
  const check = (fd: string, list: readonly number[], what: string) => {
    for (const req of list) {
      assert_covered(rows, fd, names.get(req) ?? [], `${what} 0x${req.toString(16)}`);
    }
  };
  check("system", [...kvm_dev_ioctl_requests, ...kvm_arch_dev_ioctl_requests], "/dev/kvm");
  check("VM", [...kvm_vm_ioctl_requests, ...kvm_arch_vm_ioctl_requests], "VM");
  check("vCPU", [...kvm_vcpu_ioctl_requests, ...kvm_arch_vcpu_ioctl_requests], "vCPU");
  for (const id of tdx_vm_ioctl_cmds) {
    assert_covered(rows, "TD VM sub-command", tdx_cmd_names(id), `TDX VM command ${id}`);
  }
  for (const id of tdx_vcpu_ioctl_cmds) {
    assert_covered(rows, "TD vCPU sub-command", tdx_cmd_names(id), `TDX vCPU command ${id}`);
  }
  for (const [req, n] of [[FIOCLEX, "FIOCLEX"], [FIONCLEX, "FIONCLEX"], [FIONBIO, "FIONBIO"]]) {
    assert_covered(rows, "any fd", [n as string], `VFS 0x${(req as number).toString(16)}`);
  }
});

Deno.test("a request no dispatcher lists gets the kernel's unknown-ioctl answer", () => {
  const [kvm, vm] = create_vm();
  const vcpu = create_vcpu(vm);
  const buf = new Uint8Array(8192);
  const listed = {
    sys: new Set([...kvm_dev_ioctl_requests, ...kvm_arch_dev_ioctl_requests]),
    vm: new Set([...kvm_vm_ioctl_requests, ...kvm_arch_vm_ioctl_requests]),
    vcpu: new Set([...kvm_vcpu_ioctl_requests, ...kvm_arch_vcpu_ioctl_requests]),
  };
  const bad: string[] = [];
  for (const [req, names] of kvm_ioctls()) {
    for (
      const [fd, set, want] of [[kvm, listed.sys, EINVAL], [vm, listed.vm, ENOTTY], [
        vcpu,
        listed.vcpu,
        EINVAL,
      ]] as const
    ) {
      if (set.has(req)) continue;
      buf.fill(0);
      const r = ioctl(fd, req, buf);
      if (r !== -1 || errno() !== want) bad.push(`${names.join("/")} on fd ${fd}: ${r}/${errno()}`);
    }
  }
  assertEquals(bad, [], "answered but not listed (add it to the dispatcher's list and the table)");
  close(vcpu);
  close(vm);
  close(kvm);
});

Deno.test("a TDX sub-command no list names is EINVAL", () => {
  const [sys, vm] = create_vm(uapi.KVM_X86_TDX_VM);
  const { ents } = capabilities(vm);
  assertEquals(enc_op(vm, cmd(uapi.KVM_TDX_INIT_VM, init_vm_struct(ents))), 0);
  assertEquals(enable_cap(vm, uapi.KVM_CAP_SPLIT_IRQCHIP, 24n), 0);
  const vcpu = create_vcpu(vm);
  for (let id = 0; id < 32; id++) {
    if (!tdx_vm_ioctl_cmds.includes(id)) {
      assertEquals([enc_op(vm, cmd(id, 0n)), errno()], [-1, EINVAL], `VM command ${id}`);
    }
    if (!tdx_vcpu_ioctl_cmds.includes(id)) {
      assertEquals([enc_op(vcpu, cmd(id, 0n)), errno()], [-1, EINVAL], `vCPU command ${id}`);
    }
  }
  close(vcpu);
  close(vm);
  close(sys);
});
