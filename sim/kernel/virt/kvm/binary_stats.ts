// SPDX-License-Identifier: GPL-2.0-only
/**
 * The binary statistics fd (`virt/kvm/binary_stats.c` and the stats-fd part
 * of `virt/kvm/kvm_main.c`, kvm-x86/linux, read at commit
 * 69c7916df5696b0be510ee473f6d745525d40ef5 for kvm_main.c).
 *
 * `KVM_GET_STATS_FD` on a VM or vCPU fd opens a read-only file with
 * `FMODE_PREAD`, holding a reference on the VM. Its content is one flat
 * byte range: the header, the id string (`name_size` bytes), the
 * descriptors, then the live stat struct; `read()` and `pread()` copy any
 * window of it (`kvm_stats_read()`), so a read at the end returns 0 and a
 * read across blocks returns the bytes of each in turn.
 *
 * @module
 */

import { EFAULT } from "../../../../include/linux/errno.ts";
import { O_RDONLY } from "../../../../include/linux/fcntl.ts";
import { kvm_stats_header } from "../../../../include/linux/kvm.ts";
import { file, type file_operations, FMODE_PREAD } from "../../fs/file.ts";
import { current } from "../../include/linux/sched.ts";
import type { kvm, kvm_vcpu } from "../../include/linux/kvm_host.ts";
import type { kvm_stats_table } from "../../include/linux/kvm_stats.ts";
import {
  kvm_vcpu_stats,
  kvm_vcpu_stats_of,
  kvm_vm_stats,
  kvm_vm_stats_of,
} from "../../arch/x86/kvm/x86_stats.ts";
import { kvm_get_kvm, kvm_put_kvm } from "./kvm_main.ts";

/**
 * `kvm_stats_read()`: copies the window `[*offset, *offset + size)` of
 * header, id, descriptors and data to `user_buffer`; the bytes copied
 * (0 past the end), or `-EFAULT` with the position unchanged.
 *
 * @param id the id string, `header.name_size` bytes
 * @param table the header and descriptors
 * @param stats the stat struct's bytes
 * @param user_buffer where to copy
 * @param size how much to copy at most
 * @param offset the position, advanced by what was copied
 */
export function kvm_stats_read(
  id: Uint8Array,
  table: kvm_stats_table,
  stats: Uint8Array,
  user_buffer: bigint,
  size: bigint,
  offset: { pos: bigint },
): bigint {
  const header = table.header;
  const size_header = kvm_stats_header.size;
  const size_desc = table.desc.length;
  const size_stats = stats.length;
  const total = BigInt(header.name_size + size_header + size_desc + size_stats);
  let len = total - offset.pos;
  if (len > size) len = size;
  if (len <= 0n) return 0n;
  // The window is within the first `total` bytes now: plain numbers from here.
  let pos = Number(offset.pos);
  let remain = Number(len);
  let dest = user_buffer;
  // Each block in the order of the file: its start, its bytes.
  const blocks: [number, Uint8Array][] = [
    [0, header.$bytes.subarray(0, size_header)],
    [header.id_offset, id.subarray(0, header.name_size)],
    [header.desc_offset, table.desc],
    [header.data_offset, stats],
  ];
  for (const [start, bytes] of blocks) {
    const copylen = Math.min(start + bytes.length - pos, remain);
    if (copylen <= 0) continue;
    const src = bytes.subarray(pos - start, pos - start + copylen);
    if (current.mm.copy_to_user(dest, src)) return BigInt(-EFAULT);
    remain -= copylen;
    pos += copylen;
    dest += BigInt(copylen);
  }
  offset.pos = BigInt(pos);
  return len;
}

function kvm_vm_stats_read(filp: file, buf: bigint, size: bigint, ppos: { pos: bigint }): bigint {
  const s = kvm_vm_stats_of(filp.private_data as kvm);
  return kvm_stats_read(s.id, kvm_vm_stats, s.stat.$bytes, buf, size, ppos);
}

function kvm_vcpu_stats_read(
  filp: file,
  buf: bigint,
  size: bigint,
  ppos: { pos: bigint },
): bigint {
  const s = kvm_vcpu_stats_of(filp.private_data as kvm_vcpu);
  return kvm_stats_read(s.id, kvm_vcpu_stats, s.stat.$bytes, buf, size, ppos);
}

const kvm_vm_stats_fops: file_operations = {
  name: "anon_inode:kvm-vm-stats",
  read: kvm_vm_stats_read,
  release: (filp) => kvm_put_kvm(filp.private_data as kvm),
};

const kvm_vcpu_stats_fops: file_operations = {
  name: "anon_inode:kvm-vcpu-stats",
  read: kvm_vcpu_stats_read,
  release: (filp) => kvm_put_kvm((filp.private_data as kvm_vcpu).kvm),
};

/** Opens a stats file: read-only, `FMODE_PREAD`, a VM reference once installed. */
function stats_fd(fops: file_operations, obj: kvm | kvm_vcpu, k: kvm): number {
  const filp = new file(fops, obj, O_RDONLY);
  filp.f_mode |= FMODE_PREAD;
  const fd = current.files.fd_install(filp);
  if (fd < 0) return fd;
  kvm_get_kvm(k);
  return fd;
}

/** `kvm_vm_ioctl_get_stats_fd()`: the new fd, or `-EMFILE`. */
export function kvm_vm_ioctl_get_stats_fd(k: kvm): number {
  return stats_fd(kvm_vm_stats_fops, k, k);
}

/** `kvm_vcpu_ioctl_get_stats_fd()`: the new fd, or `-EMFILE`. */
export function kvm_vcpu_ioctl_get_stats_fd(vcpu: kvm_vcpu): number {
  return stats_fd(kvm_vcpu_stats_fops, vcpu, vcpu.kvm);
}
