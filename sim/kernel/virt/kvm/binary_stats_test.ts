// SPDX-License-Identifier: GPL-2.0-only
/**
 * The binary stats fd: its layout (header, id, descriptors with x86.c's
 * names and types, data), read/pread windows and errnos, the VM reference it
 * holds, and counters that count what the guest did.
 *
 * @module
 */

// The simulator's own tests: on the simulator whatever KVM_SELFTESTS_BACKEND selects.
import "../../../use_sim_backend.ts";
import { assert, assertEquals } from "@std/assert";
import {
  __vcpu_run,
  __vm_vcpu_add,
  get_stats_descriptor,
  get_ucall,
  GUEST_DONE,
  kvm_check_cap,
  type kvm_vcpu,
  kvm_vm_free,
  read_stat_data,
  read_stats_descriptors,
  read_stats_header,
  ref,
  UCALL_DONE,
  vcpu_get_stat,
  vcpu_get_stats_fd,
  vcpu_run,
  vcpu_run_async,
  virt_map,
  vm_create_barebones,
  vm_create_with_one_vcpu,
  vm_get_stat,
  vm_get_stats_fd,
  writeq,
} from "../../../../include/kvm_util.ts";
import {
  KVM_CAP_BINARY_STATS_FD,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
  KVM_EXIT_MMIO,
  kvm_stats_header,
  KVM_STATS_TYPE_LOG_HIST,
  KVM_STATS_TYPE_MASK,
  KVM_STATS_UNIT_MASK,
  KVM_STATS_UNIT_SECONDS,
} from "../../../../include/linux/kvm.ts";
import { close, fstat, pread, pwrite, read, write } from "../../../../include/libc/syscall.ts";
import { errno_get } from "../../../../include/libc/errno.ts";
import { EBADF, EFAULT, EINTR, EINVAL, ESPIPE } from "../../../../include/linux/errno.ts";
import { stat } from "../../../../include/asm/stat.ts";
import { cli, hlt, outb } from "../../../../include/x86/processor.ts";
import {
  APIC_LVTT,
  APIC_TDCR,
  APIC_TMICT,
  x2apic_enable,
  x2apic_write_reg,
} from "../../../../include/x86/apic.ts";
import { in_guest_worker } from "../../../../include/libc/process.ts";
import { kvm_vcpu_stats, kvm_vm_stats } from "../../arch/x86/kvm/x86_stats.ts";

/** Guest: a 20 ms one-shot LAPIC timer, HLT with interrupts off (the pending timer wakes it). */
export function guest_halt_code(): void {
  cli();
  x2apic_enable();
  x2apic_write_reg(APIC_TDCR, 0xb); // divide by 1
  x2apic_write_reg(APIC_LVTT, 0x50); // one-shot, vector 0x50
  x2apic_write_reg(APIC_TMICT, 20_000_000); // 20 ms at 1 ns per bus cycle
  hlt();
  GUEST_DONE();
}

const MMIO_GVA = 1n << 32n;

/** Guest: two 8-byte writes to MMIO (no memslot there), then a ucall. */
export function guest_mmio_code(): void {
  writeq(1n, MMIO_GVA);
  writeq(2n, MMIO_GVA);
  GUEST_DONE();
}

/** Guest: three OUTs, then HLT. */
export function guest_stats_code(): void {
  outb(0x80, 1);
  outb(0x80, 2);
  outb(0x80, 3);
  hlt();
}

function names_of(fd: number): { name: string; flags: number; size: number; offset: number }[] {
  const header = kvm_stats_header.alloc();
  read_stats_header(fd, header);
  const desc = read_stats_descriptors(fd, header);
  const out = [];
  for (let i = 0; i < header.num_desc; i++) {
    const d = get_stats_descriptor(desc, i, header);
    const bytes = d.name.$bytes.subarray(0, header.name_size);
    const name = new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
    out.push({ name, flags: d.flags, size: d.size, offset: d.offset });
  }
  return out;
}

Deno.test({
  name: "binary stats: header, id and x86.c's descriptors in order",
  ignore: in_guest_worker(),
  fn() {
    assertEquals(kvm_check_cap(KVM_CAP_BINARY_STATS_FD), 1);
    const vm = vm_create_barebones();
    const vcpu = __vm_vcpu_add(vm, 3);
    try {
      const vfd = vm_get_stats_fd(vm);
      const header = kvm_stats_header.alloc();
      read_stats_header(vfd, header);
      assertEquals(header.name_size, 48);
      assertEquals(header.id_offset, 24);
      assertEquals(header.desc_offset, 72);
      assertEquals(header.num_desc, 15);
      assertEquals(header.data_offset, 72 + 64 * 15);
      const id = new Uint8Array(48);
      assertEquals(pread(vfd, id, 48, 24), 48);
      assertEquals(new TextDecoder().decode(id.subarray(0, id.indexOf(0))), `kvm-${Deno.pid}`);
      const vm_names = names_of(vfd).map((d) => d.name);
      assertEquals(vm_names.slice(0, 3), [
        "remote_tlb_flush",
        "remote_tlb_flush_requests",
        "mmu_shadow_zapped",
      ]);
      // The peak counters are listed rmap first, though the struct has them the other way.
      const vd = names_of(vfd);
      assertEquals(vd[13]!.name, "max_mmu_rmap_size");
      assertEquals(vd[13]!.offset, 112);
      assertEquals(vd[14]!.offset, 104);
      close(vfd);

      const cfd = vcpu_get_stats_fd(vcpu);
      assertEquals(pread(cfd, id, 48, 24), 48);
      assertEquals(
        new TextDecoder().decode(id.subarray(0, id.indexOf(0))),
        `kvm-${Deno.pid}/vcpu-3`,
      );
      const cd = names_of(cfd);
      assertEquals(cd.length, 45);
      assertEquals(cd.map((d) => d.name), kvm_vcpu_stats.rows.map((r) => r.name));
      const hist = cd.find((d) => d.name === "halt_wait_hist")!;
      assertEquals(hist.flags & KVM_STATS_TYPE_MASK, KVM_STATS_TYPE_LOG_HIST);
      assertEquals(hist.flags & KVM_STATS_UNIT_MASK, KVM_STATS_UNIT_SECONDS);
      assertEquals(hist.size, 32);
      assertEquals(cd.find((d) => d.name === "exits")!.offset, 832 + 9 * 8);
      assertEquals(cd[cd.length - 1]!.name, "notify_window_exits");
      close(cfd);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "binary stats: read() follows the file position, pread() any window, errnos",
  ignore: in_guest_worker(),
  fn() {
    const vm = vm_create_barebones();
    try {
      const fd = vm_get_stats_fd(vm);
      const total = 72 + 64 * 15 + kvm_vm_stats.size_stats;
      const all = new Uint8Array(total + 100);
      assertEquals(pread(fd, all, total + 100, 0), total);
      // Windows across block boundaries equal the matching bytes of the whole.
      for (const [off, len] of [[20, 10], [70, 5], [72 + 64 * 15 - 3, 11], [total - 4, 64]]) {
        const w = new Uint8Array(len!);
        const n = pread(fd, w, len!, off!);
        assertEquals(n, Math.min(len!, total - off!));
        assertEquals(w.subarray(0, n), all.subarray(off!, off! + n));
      }
      assertEquals(pread(fd, all, 8, total), 0);
      assertEquals(pread(fd, all, 8, 1n << 40n), 0);
      // read() advances f_pos; pread() leaves it alone.
      const a = new Uint8Array(30);
      assertEquals(read(fd, a, 30), 30);
      assertEquals(pread(fd, a, 4, 100), 4);
      const b = new Uint8Array(30);
      assertEquals(read(fd, b, 30), 30);
      assertEquals(b, all.subarray(30, 60));
      // The kernel's errnos.
      assertEquals(pread(fd, all, 8, -1), -1);
      assertEquals(errno_get(), EINVAL);
      assertEquals(write(fd, a, 4), -1);
      assertEquals(errno_get(), EBADF);
      assertEquals(pwrite(fd, a, 4, 0), -1);
      assertEquals(errno_get(), ESPIPE);
      assertEquals(pread(fd, 0x10n, 8, 0), -1);
      assertEquals(errno_get(), EFAULT);
      assertEquals(fstat(fd, stat.alloc()), 0);
      close(fd);
      assertEquals(fstat(fd, stat.alloc()), -1);
      assertEquals(errno_get(), EBADF);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "binary stats: a stats fd keeps its VM alive after every other fd is closed",
  ignore: in_guest_worker(),
  fn() {
    const vm = vm_create_barebones();
    const fd = vm_get_stats_fd(vm);
    kvm_vm_free(vm);
    const header = kvm_stats_header.alloc();
    read_stats_header(fd, header);
    assertEquals(header.num_desc, 15);
    assertEquals(close(fd), 0);
  },
});

Deno.test({
  name: "binary stats: exits, io_exits, halt_exits and signal_exits count what happened",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_stats_code);
    try {
      const v = vcpu.value;
      for (let i = 0; i < 3; i++) {
        vcpu_run(v);
        assertEquals(v.run.exit_reason, KVM_EXIT_IO);
      }
      assertEquals(vcpu_get_stat(v, "io_exits"), 3n);
      assertEquals(vcpu_get_stat(v, "halt_exits"), 0n);
      // The in-kernel LAPIC has nothing to wake the HLT: the wait ends as a
      // signal ends it, -EINTR with KVM_EXIT_INTR.
      assertEquals(__vcpu_run(v), -1);
      assertEquals(errno_get(), EINTR);
      assertEquals(v.run.exit_reason, KVM_EXIT_INTR);
      assertEquals(vcpu_get_stat(v, "halt_exits"), 1n);
      assertEquals(vcpu_get_stat(v, "signal_exits"), 1n);
      assert(vcpu_get_stat(v, "exits") >= 4n);
      assertEquals(vcpu_get_stat(v, "mmio_exits"), 0n);
      assertEquals(vcpu_get_stat(v, "blocking"), 0n);
      assertEquals(vm_get_stat(vm, "remote_tlb_flush"), 0n);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "binary stats: blocking while HLT sleeps, then halt_wait_ns and one halt_wait_hist count",
  ignore: in_guest_worker(),
  async fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_halt_code);
    try {
      const v = vcpu.value;
      const running = vcpu_run_async(v);
      let blocked = false;
      for (let i = 0; i < 200 && !blocked; i++) {
        await new Promise((r) => setTimeout(r, 1));
        blocked = vcpu_get_stat(v, "blocking") === 1n;
      }
      assert(blocked, "blocking never read 1 while the vCPU slept in HLT");
      await running;
      assertEquals(get_ucall(v, null), UCALL_DONE);
      assertEquals(vcpu_get_stat(v, "blocking"), 0n);
      assertEquals(vcpu_get_stat(v, "halt_exits"), 1n);
      const ns = vcpu_get_stat(v, "halt_wait_ns");
      assert(ns >= 1_000_000n, `halt_wait_ns ${ns} below the wait`);
      // One log2 bucket counts the one wait: bucket fls64(ns).
      const fd = vcpu_get_stats_fd(v);
      const header = kvm_stats_header.alloc();
      read_stats_header(fd, header);
      const desc = read_stats_descriptors(fd, header);
      let hist: BigUint64Array | null = null;
      for (let i = 0; i < header.num_desc; i++) {
        const d = get_stats_descriptor(desc, i, header);
        const n = d.name.$bytes.subarray(0, header.name_size);
        if (new TextDecoder().decode(n.subarray(0, n.indexOf(0))) !== "halt_wait_hist") continue;
        hist = new BigUint64Array(d.size);
        read_stat_data(fd, header, d, hist, d.size);
      }
      close(fd);
      assert(hist);
      assertEquals(hist.reduce((a, b) => a + b, 0n), 1n);
      assertEquals(hist[ns.toString(2).length], 1n);
    } finally {
      kvm_vm_free(vm);
    }
  },
});

Deno.test({
  name: "binary stats: an MMIO write is a page fault KVM emulates and an MMIO exit",
  ignore: in_guest_worker(),
  fn() {
    const vcpu = ref<kvm_vcpu>();
    const vm = vm_create_with_one_vcpu(vcpu, guest_mmio_code);
    try {
      const v = vcpu.value;
      virt_map(vm, MMIO_GVA, MMIO_GVA, 1);
      for (let n = 1n; n <= 2n; n++) {
        vcpu_run(v);
        assertEquals(v.run.exit_reason, KVM_EXIT_MMIO);
        assertEquals(vcpu_get_stat(v, "mmio_exits"), n);
        assertEquals(vcpu_get_stat(v, "pf_taken"), n);
        assertEquals(vcpu_get_stat(v, "pf_emulate"), n);
        assertEquals(vcpu_get_stat(v, "insn_emulation"), n);
      }
      vcpu_run(v);
      assertEquals(get_ucall(v, null), UCALL_DONE);
      assertEquals(vcpu_get_stat(v, "mmio_exits"), 2n);
      assertEquals(vcpu_get_stat(v, "insn_emulation_fail"), 0n);
    } finally {
      kvm_vm_free(vm);
    }
  },
});
