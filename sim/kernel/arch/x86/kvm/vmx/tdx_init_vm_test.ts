// SPDX-License-Identifier: GPL-2.0-only
/**
 * KVM_TDX_INIT_VM's CPUID matching and the memslot rules around a TD's
 * shared bit, each expected value read from kvm-x86 (tdx.c at 09c6f74e:
 * `setup_tdparams_eptp_controls()`, `setup_tdparams_cpuids()`,
 * `tdx_unsupported_cpuid()`; x86.c at 042007c2:
 * `kvm_arch_prepare_memory_region()` with `kvm_mmu_max_gfn()` and
 * `kvm_is_gfn_alias()`).
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../../../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import { close, ioctl, user_memory } from "../../../../../../include/libc/syscall.ts";
import { EEXIST, EINVAL, ENOTTY, EOPNOTSUPP } from "../../../../../../include/linux/errno.ts";
import {
  KVM_CAP_SPLIT_IRQCHIP,
  KVM_CREATE_IRQCHIP,
  KVM_CREATE_VCPU,
  KVM_CREATE_VM,
  KVM_PRE_FAULT_MEMORY,
  kvm_pre_fault_memory,
} from "../../../../../../include/linux/kvm.ts";
import {
  KVM_TDX_INIT_VM,
  kvm_tdx_init_vm,
  KVM_X86_TDX_VM,
} from "../../../../../../include/asm/kvm.ts";
import { anon, assert_errno, open_kvm, set_region } from "../../../../testdata/util.ts";
import {
  capabilities,
  cmd,
  enable_cap,
  enc_op,
  init_vm_struct,
} from "../../../../testdata/raw_td.ts";

const ENTRY = 40;

/** A TD VM and its INIT_VM argument (the library's leaves, index significant where indexed). */
function td_vm(edit: (ents: number[][]) => number[][] = (e) => e) {
  const kvm = open_kvm();
  const vm = ioctl(kvm, KVM_CREATE_VM, KVM_X86_TDX_VM);
  const { ents } = capabilities(vm);
  const list = edit(ents.map((e) => [...e]));
  const a = init_vm_struct(list);
  const entry = (i: number) => {
    const m = user_memory(a + BigInt(kvm_tdx_init_vm.size + i * ENTRY), ENTRY);
    return new DataView(m.buffer, m.byteOffset, ENTRY);
  };
  return { kvm, vm, a, list, entry, close: () => (close(vm), close(kvm)) };
}

function init_vm(vm: number, a: bigint): [number, bigint] {
  const c = cmd(KVM_TDX_INIT_VM, a);
  return [enc_op(vm, c), c.hw_error];
}

Deno.test("INIT_VM: the reference table is accepted", () => {
  const t = td_vm();
  assertEquals(init_vm(t.vm, t.a), [0, 0n]);
  t.close();
});

Deno.test("INIT_VM: an entry matching no configurable leaf, or a duplicate, is EINVAL (copy_cnt != nent)", () => {
  const extra = td_vm((e) => [...e, [0x2, 0, 0, 0, 0, 0]]);
  const [r, hw] = init_vm(extra.vm, extra.a);
  assert_errno(r, EINVAL, "leaf 2");
  assertEquals(hw, 0n, "KVM refuses it before any SEAMCALL");
  extra.close();
  const dup = td_vm((e) => [...e, e.find((x) => x[0] === 0x1c)!]);
  assert_errno(init_vm(dup.vm, dup.a)[0], EINVAL, "0x1c twice");
  dup.close();
});

Deno.test("INIT_VM: an index that is not significant matches every subleaf of its function", () => {
  // 7.0 without KVM_CPUID_FLAG_SIGNIFCANT_INDEX and no 7.1/7.2: the module's
  // three leaf-7 slots all take it, so three slots are filled from one entry.
  const t = td_vm((e) => e.filter((x) => x[0] !== 7 || x[1] === 0));
  const i7 = t.list.findIndex((x) => x[0] === 7);
  t.entry(i7).setUint32(8, 0, true);
  assert_errno(init_vm(t.vm, t.a)[0], EINVAL, "copy_cnt > nent");
  t.close();
  // 0x80000008 is found by kvm_find_cpuid_entry2(..., 0x80000008, 0): any
  // index when the index is not significant.
  const g = td_vm();
  const i8 = g.list.findIndex((x) => x[0] === 0x80000008);
  g.entry(i8).setUint32(4, 5, true);
  g.entry(i8).setUint32(8, 0, true);
  assertEquals(init_vm(g.vm, g.a), [0, 0n]);
  g.close();
});

Deno.test("INIT_VM: TSX or WAITPKG in the matched 7.0 entry is EINVAL (tdx_unsupported_cpuid())", () => {
  for (const [reg, bit] of [[1, 1 << 4], [1, 1 << 11], [2, 1 << 5]] as const) {
    const t = td_vm();
    const i7 = t.list.findIndex((x) => x[0] === 7 && x[1] === 0);
    const dv = t.entry(i7);
    dv.setUint32(12 + 4 * reg, (dv.getUint32(12 + 4 * reg, true) | bit) >>> 0, true);
    const [r, hw] = init_vm(t.vm, t.a);
    assert_errno(r, EINVAL, `reg ${reg} bit ${bit}`);
    assertEquals(hw, 0n);
    t.close();
  }
});

Deno.test("memslots: the last GFN within MAXPHYADDR; a TD's shared alias refused after INIT_VM", () => {
  const PAGE = 0x1000n;
  const hva = anon(2n * PAGE);
  {
    const kvm = open_kvm();
    const vm = ioctl(kvm, KVM_CREATE_VM, 0);
    // kvm_mmu_max_gfn(): the simulated host's MAXPHYADDR is 52.
    assertEquals(set_region(vm, 0, 0, (1n << 52n) - 2n * PAGE, 2n * PAGE, hva), 0);
    assert_errno(set_region(vm, 1, 0, 1n << 52n, PAGE, hva), EINVAL, "at 2^52");
    close(vm);
    close(kvm);
  }
  const t = td_vm();
  const SHARED = 1n << 47n;
  // Before INIT_VM there is no shared bit yet (gfn_direct_bits is 0).
  assertEquals(set_region(t.vm, 0, 0, SHARED + 16n * PAGE, PAGE, hva), 0);
  assertEquals(init_vm(t.vm, t.a), [0, 0n]);
  assert_errno(set_region(t.vm, 1, 0, SHARED + PAGE, PAGE, hva), EINVAL, "alias");
  assert_errno(set_region(t.vm, 2, 0, SHARED - PAGE, 2n * PAGE, hva), EINVAL, "ends in alias");
  assertEquals(set_region(t.vm, 3, 0, SHARED - 2n * PAGE, 2n * PAGE, hva), 0, "ends below");
  t.close();
});

Deno.test("a TD: KVM_CREATE_IRQCHIP is EEXIST after the split irqchip, else ENOTTY; pre-fault EOPNOTSUPP until finalized", () => {
  const t = td_vm();
  // kvm_arch_vm_ioctl(): irqchip_in_kernel() first, then has_protected_eoi.
  assert_errno(ioctl(t.vm, KVM_CREATE_IRQCHIP, 0), ENOTTY, "protected EOIs");
  assertEquals(init_vm(t.vm, t.a), [0, 0n]);
  assertEquals(enable_cap(t.vm, KVM_CAP_SPLIT_IRQCHIP, 24n), 0);
  assert_errno(ioctl(t.vm, KVM_CREATE_IRQCHIP, 0), EEXIST, "split irqchip first");
  const vcpu = ioctl(t.vm, KVM_CREATE_VCPU, 0);
  assert(vcpu >= 0);
  // kvm_arch_vcpu_pre_fault_memory(): pre_fault_allowed only after tdx_td_finalize().
  const r = kvm_pre_fault_memory.alloc();
  r.gpa = 0n;
  r.size = 0x1000n;
  assert_errno(ioctl(vcpu, KVM_PRE_FAULT_MEMORY, r), EOPNOTSUPP, "not finalized");
  close(vcpu);
  t.close();
});
