// SPDX-License-Identifier: GPL-2.0-only
// kvm_util.h's static inlines and macros added under their upstream names.
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  addr_gva2gpa,
  for_each_sublist,
  get_kvm_param_bool,
  get_kvm_param_integer,
  kvm_can_run_guest_code,
  kvm_for_each_vcpu,
  kvm_get_module_param_bool,
  kvm_has_cap,
  kvm_new_eventfd,
  kvm_vm_free,
  kvm_vm_register_coalesced_io,
  memslot2region,
  ptes_per_page,
  static_assert_is_vcpu,
  static_assert_is_vm,
  TEST_ASSERT_KVM_EXIT_REASON,
  vcpu_dump,
  vcpu_events_get,
  vcpu_events_set,
  vcpu_fpu_get,
  vcpu_fpu_set,
  vcpu_get_stat,
  vcpu_io_data,
  vcpu_mmio_data,
  vcpu_run,
  virt_dump,
  virt_map,
  vm_alloc,
  vm_calc_num_guest_pages,
  vm_check_cap,
  vm_create,
  vm_create_barebones,
  vm_get_mem_region,
  vm_get_stat,
  vm_mem_region_reload,
  vm_num_guest_pages,
  vm_num_host_pages,
  vm_page_align,
  vm_vcpu_add,
  writeq,
} from "../include/kvm_util.ts";
import { kvm_arch_vm_release, outl, PAGE_SIZE } from "../include/x86/processor.ts";
import { in_guest_worker } from "../include/libc/process.ts";
import { stdout } from "../include/libc/stdio.ts";
import {
  kvm_mem_region_type,
  type kvm_vcpu,
  type vcpu_reg_list,
  vm_guest_mode,
} from "../include/kvm_util_types.ts";
import { kvm_fpu, kvm_vcpu_events, KVM_VCPUEVENT_VALID_NMI_PENDING } from "../include/asm/kvm.ts";
import { ExitError } from "../include/libc/exit.ts";
import {
  KVM_CAP_BINARY_STATS_FD,
  KVM_CAP_USER_MEMORY,
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
} from "../include/linux/kvm.ts";
import { close, read, write } from "../include/libc/syscall.ts";
import { selected_backend_name } from "../include/libc/backend.ts";
import { vm_create_with_one_vcpu } from "./kvm_util.ts";
import { ref } from "../include/kvm_util_types.ts";

const sim = selected_backend_name() === "sim";

Deno.test({
  name: "module parameters read /sys/module/kvm*/parameters through the syscall boundary",
  ignore: !sim,
  fn() {
    // The simulated kvm module: no PMU, halt polling at 200 us.
    assertEquals(get_kvm_param_bool("enable_pmu"), false);
    assertEquals(get_kvm_param_integer("halt_poll_ns"), 200000);
    assertEquals(kvm_get_module_param_bool("kvm_intel", "ept"), true);
    // A module the host does not have skips, as open_path_or_exit() does.
    const e = assertThrows(() => kvm_get_module_param_bool("kvm_amd", "npt"), ExitError);
    assertEquals(e.status, 4);
    // An integer parameter read as a bool is refused.
    const f = assertThrows(() => get_kvm_param_bool("halt_poll_ns"), ExitError);
    assertEquals(f.status, 254);
    assert(f.reason?.endsWith("Unrecognized value '2' for boolean module param"), f.reason);
  },
});

Deno.test("page-count helpers convert between guest and host pages as C rounds", () => {
  const m = vm_guest_mode.VM_MODE_PXXVYY_4K;
  assertEquals(vm_num_host_pages(m, 3), 3);
  assertEquals(vm_num_guest_pages(m, 3), 3);
  assertEquals(vm_calc_num_guest_pages(m, 4097), 2);
  assertEquals(vm_calc_num_guest_pages(m, 4096), 1);
  // 16K guest pages on a 4K host: 4 host pages each; host pages round down to guest pages.
  assertEquals(vm_num_host_pages(vm_guest_mode.VM_MODE_P52V48_16K, 3), 12);
  assertEquals(vm_num_guest_pages(vm_guest_mode.VM_MODE_P52V48_16K, 7), 1);
  assertEquals(ptes_per_page(4096), 512);
});

Deno.test("vm_page_align, vm_get_mem_region, kvm_for_each_vcpu, static_assert_is_*", () => {
  const vm = vm_create(2);
  try {
    assertEquals(vm_page_align(vm, 1n), 4096n);
    assertEquals(vm_page_align(vm, 4096n), 4096n);
    assertEquals(vm_page_align(vm, 0n), 0n);
    const a = vm_vcpu_add(vm, 3, null);
    const b = vm_vcpu_add(vm, 1, null);
    const seen: [number, kvm_vcpu][] = [];
    kvm_for_each_vcpu(vm, (i, v) => seen.push([i, v]));
    assertEquals(seen, [[1, b], [3, a]]);
    static_assert_is_vm(vm);
    static_assert_is_vcpu(a);
    assertThrows(() => static_assert_is_vm(a as never), TypeError);
    assertThrows(() => static_assert_is_vcpu(vm as never), TypeError);
    // Asking for a region type that does not exist fails the test.
    assertThrows(() => vm_get_mem_region(vm, kvm_mem_region_type.NR_MEM_REGIONS), ExitError);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("vcpu_events_set/get round-trip a pending NMI; vcpu_fpu_set/get round-trip FCW", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    const ev = kvm_vcpu_events.alloc();
    vcpu_events_get(vcpu.value, ev);
    assertEquals(ev.nmi.pending, 0);
    ev.nmi.pending = 1;
    ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
    vcpu_events_set(vcpu.value, ev);
    const back = kvm_vcpu_events.alloc();
    vcpu_events_get(vcpu.value, back);
    assertEquals(back.nmi.pending, 1);

    const fpu = kvm_fpu.alloc();
    vcpu_fpu_get(vcpu.value, fpu);
    assertEquals(fpu.fcw, 0x37f);
    fpu.fcw = 0x27f;
    vcpu_fpu_set(vcpu.value, fpu);
    const fpu2 = kvm_fpu.alloc();
    vcpu_fpu_get(vcpu.value, fpu2);
    assertEquals(fpu2.fcw, 0x27f);

    // Reloading memslot 0 keeps its contents and layout.
    const before = memslot2region(vm, 0).region.memory_size;
    vm_mem_region_reload(vm, 0);
    assertEquals(memslot2region(vm, 0).region.memory_size, before);
    assertEquals(vm_get_mem_region(vm, kvm_mem_region_type.MEM_REGION_CODE), memslot2region(vm, 0));
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test({
  name: "without a stats fd vm_get_stat fails reading the header, as upstream's pread does",
  // The simulator has KVM_GET_STATS_FD now; this runs where a kernel lacks it.
  ignore: !sim || kvm_has_cap(KVM_CAP_BINARY_STATS_FD),
  fn() {
    const vm = vm_create_barebones();
    try {
      const e = assertThrows(() => vm_get_stat(vm, "pages_4k"), ExitError);
      assertEquals(e.status, 254);
      assert(e.reason?.includes("Failed to read '24' header bytes"), e.reason);
      // The simulator has coalesced MMIO now (coalesced_mmio.c): a zone registers.
      kvm_vm_register_coalesced_io(vm, 0xd0000000n, 8, false);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test("TEST_ASSERT_KVM_EXIT_REASON prints C's expanded expression and both reasons", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    const e = assertThrows(() => TEST_ASSERT_KVM_EXIT_REASON(vcpu.value, KVM_EXIT_IO), ExitError);
    assert(e.reason?.includes(": exit_reason == (2)\n"), e.reason);
    assert(e.reason?.endsWith("Wanted KVM exit reason: 2 (IO), got: 0 (UNKNOWN)"), e.reason);
    const expected = KVM_EXIT_IO;
    const f = assertThrows(() => TEST_ASSERT_KVM_EXIT_REASON(vcpu.value, expected), ExitError);
    assert(f.reason?.includes(": exit_reason == (expected)\n"), f.reason);
  } finally {
    kvm_vm_free(vm);
  }
});

/** Guest: one port write, one MMIO write to an address no memslot backs. */
export function guest_code_exit_data(): void {
  outl(0x1234, 0xdeadbeef);
  writeq(0x1122334455667788n, 0xc0000000n);
}

Deno.test({
  name: "vcpu_io_data and vcpu_mmio_data expose the exit's data bytes",
  ignore: in_guest_worker() || !kvm_can_run_guest_code(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_code_exit_data);
    try {
      virt_map(vm, 0xc0000000n, 0xc0000000n, 1);
      vcpu_run(vcpu.value);
      TEST_ASSERT_KVM_EXIT_REASON(vcpu.value, KVM_EXIT_IO);
      assertEquals(vcpu.value.run.io.port, 0x1234);
      assertEquals(vcpu_io_data(vcpu.value).byteLength, 4);
      assertEquals(vcpu_io_data(vcpu.value).getUint32(0, true), 0xdeadbeef);
      vcpu_run(vcpu.value);
      TEST_ASSERT_KVM_EXIT_REASON(vcpu.value, KVM_EXIT_MMIO);
      assertEquals(vcpu.value.run.mmio.phys_addr, 0xc0000000n);
      assertEquals(vcpu_mmio_data(vcpu.value).getBigUint64(0, true), 0x1122334455667788n);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "vm_get_stat/vcpu_get_stat read named stats where KVM has a binary stats fd",
  ignore: in_guest_worker(),
  fn() {
    if (!kvm_has_cap(KVM_CAP_BINARY_STATS_FD)) return;
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, null);
    try {
      // Memory is mapped as the guest faults it in: nothing yet.
      assertEquals(typeof vm_get_stat(vm, "pages_4k"), "bigint");
      assertEquals(vcpu_get_stat(vcpu.value, "exits"), 0n);
      const e = assertThrows(() => vm_get_stat(vm, "no_such_stat"), ExitError);
      assert(e.reason?.endsWith("Unable to find stat 'no_such_stat'"), e.reason);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test("vcpu_dump prints the vCPU's id, registers and special registers", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    const out: string[] = [];
    const orig = Deno.stdout.writeSync;
    Deno.stdout.writeSync = (b: Uint8Array) => {
      out.push(new TextDecoder().decode(b));
      return b.length;
    };
    try {
      vcpu_dump(stdout, vcpu.value, 2);
    } finally {
      Deno.stdout.writeSync = orig;
    }
    const text = out.join("");
    assert(text.startsWith("  vCPU ID: 0\n    regs:\n"), text);
    assert(/rip: 0x000000000000fff0/.test(text), text);
    assert(text.includes("      cs:\n"), text);
  } finally {
    kvm_vm_free(vm);
  }
});

/** Runs `fn` and returns what it printed on stdout. */
function capture_stdout(fn: () => void): string {
  const out: string[] = [];
  const orig = Deno.stdout.writeSync;
  Deno.stdout.writeSync = (b: Uint8Array) => {
    out.push(new TextDecoder().decode(b));
    return b.length;
  };
  try {
    fn();
  } finally {
    Deno.stdout.writeSync = orig;
  }
  return out.join("");
}

Deno.test("kvm_new_eventfd gives an eventfd whose counter starts at 0 and adds writes", () => {
  const fd = kvm_new_eventfd();
  try {
    assert(fd >= 0);
    const v = new BigUint64Array([5n]);
    assertEquals(write(fd, v, 8), 8);
    assertEquals(write(fd, v, 8), 8);
    const got = new BigUint64Array(1);
    assertEquals(read(fd, got, 8), 8);
    // eventfd(0, 0): not a semaphore, so one read returns the sum and resets it.
    assertEquals(got[0], 10n);
  } finally {
    close(fd);
  }
});

Deno.test("for_each_sublist stops at the first sublist without registers", () => {
  const sub = (name: string, regs: bigint[] | null) => ({
    name,
    capability: 0,
    feature: 0,
    feature_type: 0,
    finalize: false,
    regs,
    rejects_set: [],
    skips_set: [],
  });
  const c: vcpu_reg_list = {
    name: "cfg",
    sublists: [sub("base", [1n, 2n]), sub("pmu", [3n]), sub("end", null), sub("after", [4n])],
  };
  assertEquals([...for_each_sublist(c)].map((s) => s.name), ["base", "pmu"]);
  assertEquals([...for_each_sublist({ name: "empty", sublists: [] })], []);
});

Deno.test("virt_dump prints each present table entry down to the PTE of a mapped page", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    const gva = vm_alloc(vm, PAGE_SIZE, 0x7f0000000n);
    const text = capture_stdout(() => virt_dump(stdout, vm, 2));
    const lines = text.split("\n");
    assertEquals(lines[0], " ".repeat(2 + 58) + "no");
    assertEquals(lines[1], "        index hvaddr         gpaddr         addr         w exec dirty");
    // The page's PTE: its index, the GPA's PFN, writable, and its virtual page
    // number. Like upstream the dump walks four levels from the root, so with
    // 5-level paging its last column is the PD level, one level short of the page.
    const shift = BigInt((vm.mmu.pgtable_levels - 4) * 9);
    const vpn = (gva >> 12n) >> shift;
    const pfn = shift ? "[0-9a-f]+ *" : (addr_gva2gpa(vm, gva) >> 12n).toString(16).padEnd(10);
    const idx = Number(vpn & 0x1ffn);
    const want = new RegExp(
      `^  pte   0x${idx.toString(16).padEnd(3)} 0x[0-9a-f]+ 0x[0-9a-f ]{12} ` +
        `0x${pfn} 1  [01]     [01]    0x${vpn.toString(16).padEnd(10)}$`,
    );
    assert(lines.some((l) => want.test(l)), `no PTE line for 0x${gva.toString(16)}:\n${text}`);
    assert(lines.some((l) => l.startsWith("  pml4e 0x")), text);
    assert(lines.some((l) => l.startsWith("  pdpe  0x")), text);
    assert(lines.some((l) => l.startsWith("  pde   0x")), text);
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("virt_dump prints nothing for a VM without page tables", () => {
  const vm = vm_create_barebones();
  try {
    assertEquals(capture_stdout(() => virt_dump(stdout, vm, 0)), "");
  } finally {
    kvm_vm_free(vm);
  }
});

Deno.test("kvm_arch_vm_release (x86: nothing of its own) leaves the VM's fd and memory alone", () => {
  const vcpu = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu, null);
  try {
    kvm_arch_vm_release(vm);
    assertEquals(vm_check_cap(vm, KVM_CAP_USER_MEMORY), 1);
    assert(vm.fd >= 0 && vm.regions.size > 0);
  } finally {
    kvm_vm_free(vm);
  }
});
