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
  kvm_check_cap,
  type kvm_vcpu,
  kvm_vm_free,
  read_stats_descriptors,
  read_stats_header,
  ref,
  vcpu_get_stat,
  vcpu_get_stats_fd,
  vcpu_run,
  vm_create_barebones,
  vm_create_with_one_vcpu,
  vm_get_stat,
  vm_get_stats_fd,
} from "../../../../include/kvm_util.ts";
import {
  KVM_CAP_BINARY_STATS_FD,
  KVM_EXIT_INTR,
  KVM_EXIT_IO,
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
import { hlt, outb } from "../../../../include/x86/processor.ts";
import { in_guest_worker } from "../../../../include/libc/process.ts";
import { kvm_vcpu_stats, kvm_vm_stats } from "../../arch/x86/kvm/x86_stats.ts";

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
