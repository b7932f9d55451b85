// SPDX-License-Identifier: GPL-2.0-only
/**
 * irqfd (`virt/kvm/eventfd.c`, read at sean-jc/linux
 * 070fcf764f86c930eb24e22a0d9a743d0b6b7744, the kvm-x86 tree's file):
 * KVM_IRQFD binds an eventfd to a GSI, so a write() to the eventfd injects
 * the GSI (a pulse, or with KVM_IRQFD_FLAG_RESAMPLE a level held until the
 * guest's EOI, which then signals the resamplefd), and the IRQ ack notifiers
 * that EOIs of PIC and IOAPIC pins reach.
 *
 * KVM injects from a work item; the simulated kernel injects at once, in
 * the write() (or KVM_IRQFD for a count already pending).
 *
 * @module
 */

import type { kvm } from "../../include/linux/kvm_host.ts";
import { EBADF, EBUSY, EFAULT, EINVAL } from "../../../../include/linux/errno.ts";
import {
  kvm_irqfd as kvm_irqfd_t,
  KVM_IRQFD_FLAG_DEASSIGN,
  KVM_IRQFD_FLAG_RESAMPLE,
} from "../../../../include/linux/kvm.ts";
import { current } from "../../include/linux/sched.ts";
import {
  EPOLLHUP,
  EPOLLIN,
  type eventfd_ctx,
  eventfd_ctx_do_read,
  eventfd_ctx_fileget,
  eventfd_poll,
  eventfd_signal,
  type eventfd_waiter,
} from "../../fs/eventfd.ts";
import {
  kvm_irq_map_chip_pin,
  kvm_irq_map_gsi,
  KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID,
  type kvm_kernel_irq_routing_entry,
  kvm_set_irq,
  KVM_USERSPACE_IRQ_SOURCE_ID,
} from "./irqchip.ts";
import { set_irq_has_notifier, set_notify_acked_irq } from "../../arch/x86/kvm/ioapic.ts";

/** `struct kvm_irqfd` as KVM_IRQFD passes it. */
export interface kvm_irqfd_args {
  fd: number;
  gsi: number;
  flags: number;
  resamplefd: number;
}

/** `struct kvm_irq_ack_notifier`. */
interface kvm_irq_ack_notifier {
  gsi: number;
  irq_acked: () => void;
}

/** `struct kvm_kernel_irqfd_resampler`: the level irqfds of one GSI. */
interface kvm_kernel_irqfd_resampler {
  readonly kvm: kvm;
  readonly list: kvm_kernel_irqfd[];
  readonly notifier: kvm_irq_ack_notifier;
}

/** `struct kvm_kernel_irqfd`. */
interface kvm_kernel_irqfd {
  readonly kvm: kvm;
  readonly gsi: number;
  readonly eventfd: eventfd_ctx;
  resamplefd: eventfd_ctx | null;
  resampler: kvm_kernel_irqfd_resampler | null;
  /** `irq_entry`: the GSI's route when it has exactly one, else `null`. */
  irq_entry: kvm_kernel_irq_routing_entry | null;
  readonly wait: eventfd_waiter;
}

/** `kvm->irqfds` and `kvm->irq_ack_notifier_list`. */
interface kvm_irqfds {
  readonly items: kvm_kernel_irqfd[];
  readonly resampler_list: kvm_kernel_irqfd_resampler[];
  readonly irq_ack_notifier_list: kvm_irq_ack_notifier[];
}

const irqfds_of = new WeakMap<kvm, kvm_irqfds>();

function irqfds(k: kvm): kvm_irqfds {
  let s = irqfds_of.get(k);
  if (!s) {
    s = { items: [], resampler_list: [], irq_ack_notifier_list: [] };
    irqfds_of.set(k, s);
  }
  return s;
}

/** `irqfd_inject()`: a pulse, or the resampler's level raised. */
function irqfd_inject(irqfd: kvm_kernel_irqfd): void {
  const k = irqfd.kvm;
  if (!irqfd.resampler) {
    kvm_set_irq(k, KVM_USERSPACE_IRQ_SOURCE_ID, irqfd.gsi, 1, false);
    kvm_set_irq(k, KVM_USERSPACE_IRQ_SOURCE_ID, irqfd.gsi, 0, false);
  } else {
    kvm_set_irq(k, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, irqfd.gsi, 1, false);
  }
}

/**
 * `irqfd_resampler_ack()`: the guest's EOI. All resampling irqfds of the GSI
 * assert through one IRQ source, so a single drop of that source's level
 * serves them all; then each one's resamplefd is signalled.
 */
function irqfd_resampler_ack(resampler: kvm_kernel_irqfd_resampler): void {
  kvm_set_irq(resampler.kvm, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, resampler.notifier.gsi, 0, false);
  for (const irqfd of resampler.list) eventfd_signal(irqfd.resamplefd!);
}

function kvm_register_irq_ack_notifier(k: kvm, kian: kvm_irq_ack_notifier): void {
  irqfds(k).irq_ack_notifier_list.unshift(kian);
}

function kvm_unregister_irq_ack_notifier(k: kvm, kian: kvm_irq_ack_notifier): void {
  const l = irqfds(k).irq_ack_notifier_list;
  const i = l.indexOf(kian);
  if (i >= 0) l.splice(i, 1);
}

/** `irqfd_resampler_shutdown()`: the last irqfd of a GSI takes its resampler and level away. */
function irqfd_resampler_shutdown(irqfd: kvm_kernel_irqfd): void {
  const resampler = irqfd.resampler!;
  const k = resampler.kvm;
  const i = resampler.list.indexOf(irqfd);
  if (i >= 0) resampler.list.splice(i, 1);
  if (resampler.list.length === 0) {
    const l = irqfds(k).resampler_list;
    l.splice(l.indexOf(resampler), 1);
    kvm_unregister_irq_ack_notifier(k, resampler.notifier);
    kvm_set_irq(k, KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, resampler.notifier.gsi, 0, false);
  }
}

/** `irqfd_deactivate()` + `irqfd_shutdown()`: unhook from the eventfd and the resampler. */
function irqfd_deactivate(irqfd: kvm_kernel_irqfd): void {
  const items = irqfds(irqfd.kvm).items;
  const i = items.indexOf(irqfd);
  if (i < 0) return;
  items.splice(i, 1);
  irqfd.eventfd.wqh.delete(irqfd.wait);
  if (irqfd.resampler) irqfd_resampler_shutdown(irqfd);
}

/** `irqfd_update()`: cache the GSI's route when it has exactly one. */
function irqfd_update(k: kvm, irqfd: kvm_kernel_irqfd): void {
  const entries = kvm_irq_map_gsi(k, irqfd.gsi);
  irqfd.irq_entry = entries.length === 1 ? entries[0]! : null;
}

/**
 * `irqfd_wakeup()`: EPOLLIN (a write) consumes the count and injects;
 * EPOLLHUP, sent when the last reference to the eventfd goes, unbinds the
 * irqfd from the VM.
 */
function irqfd_wakeup(irqfd: kvm_kernel_irqfd, ctx: eventfd_ctx, flags: number): void {
  if (flags & EPOLLIN) {
    eventfd_ctx_do_read(ctx);
    // kvm_arch_set_irq_inatomic() handles a lone MSI route at once; every
    // other route goes through the injection work, which here runs now.
    irqfd_inject(irqfd);
  }
  if (flags & EPOLLHUP) irqfd_deactivate(irqfd);
}

/** `kvm_arch_irqfd_allowed()`: a resampler needs the full irqchip, a plain irqfd any in-kernel one. */
function kvm_arch_irqfd_allowed(k: kvm, args: kvm_irqfd_args): boolean {
  const resample = (args.flags & KVM_IRQFD_FLAG_RESAMPLE) !== 0;
  return resample ? k.arch.irqchip_mode === 1 : k.arch.irqchip_mode !== 0;
}

/** `eventfd_ctx_fdget()`: EBADF for a closed descriptor, EINVAL for a non-eventfd. */
function eventfd_ctx_fdget(fd: number): eventfd_ctx | number {
  const f = fd >= 0 ? current.files.lookup(fd) : undefined;
  if (!f) return -EBADF;
  return eventfd_ctx_fileget(f);
}

/** `kvm_irqfd_assign()`. */
function kvm_irqfd_assign(k: kvm, args: kvm_irqfd_args): number {
  if (!kvm_arch_irqfd_allowed(k, args)) return -EINVAL;
  const eventfd = eventfd_ctx_fdget(args.fd);
  if (typeof eventfd === "number") return eventfd;
  const irqfd: kvm_kernel_irqfd = {
    kvm: k,
    gsi: args.gsi,
    eventfd,
    resamplefd: null,
    resampler: null,
    irq_entry: null,
    wait: (ctx, flags) => irqfd_wakeup(irqfd, ctx, flags),
  };
  const s = irqfds(k);
  if (args.flags & KVM_IRQFD_FLAG_RESAMPLE) {
    const resamplefd = eventfd_ctx_fdget(args.resamplefd);
    if (typeof resamplefd === "number") return resamplefd;
    irqfd.resamplefd = resamplefd;
    let resampler = s.resampler_list.find((r) => r.notifier.gsi === irqfd.gsi);
    if (!resampler) {
      const r: kvm_kernel_irqfd_resampler = {
        kvm: k,
        list: [],
        notifier: { gsi: irqfd.gsi, irq_acked: () => irqfd_resampler_ack(r) },
      };
      s.resampler_list.unshift(r);
      kvm_register_irq_ack_notifier(k, r.notifier);
      resampler = r;
    }
    irqfd.resampler = resampler;
    resampler.list.unshift(irqfd);
  }
  if (s.items.some((t) => t.eventfd === eventfd)) {
    // One eventfd can be bound to a single irqfd per VM: EBUSY.
    if (irqfd.resampler) irqfd_resampler_shutdown(irqfd);
    return -EBUSY;
  }
  irqfd_update(k, irqfd);
  s.items.push(irqfd);
  eventfd.wqh.add(irqfd.wait);
  // A count written before KVM_IRQFD would otherwise never wake the irqfd.
  if (eventfd_poll(eventfd) & EPOLLIN) irqfd.wait(eventfd, EPOLLIN);
  return 0;
}

/** `kvm_irqfd_deassign()`: removes the irqfds bound to this (eventfd, GSI) pair; finding none still succeeds. */
function kvm_irqfd_deassign(k: kvm, args: kvm_irqfd_args): number {
  const eventfd = eventfd_ctx_fdget(args.fd);
  if (typeof eventfd === "number") return eventfd;
  for (const irqfd of [...irqfds(k).items]) {
    if (irqfd.eventfd === eventfd && irqfd.gsi === args.gsi) {
      irqfd.irq_entry = null;
      irqfd_deactivate(irqfd);
    }
  }
  return 0;
}

/** `kvm_irqfd()`: KVM_IRQFD. Flags other than DEASSIGN and RESAMPLE are EINVAL. */
export function kvm_irqfd(k: kvm, args: kvm_irqfd_args): number {
  if (args.flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE)) return -EINVAL;
  if (args.flags & KVM_IRQFD_FLAG_DEASSIGN) return kvm_irqfd_deassign(k, args);
  return kvm_irqfd_assign(k, args);
}

/** KVM_IRQFD (`kvm_vm_ioctl()`): the struct copied in, then {@linkcode kvm_irqfd}. */
export function kvm_vm_ioctl_irqfd(k: kvm, arg: bigint): number {
  const bytes = new Uint8Array(kvm_irqfd_t.size);
  if (current.mm.copy_from_user(bytes, arg, bytes.length)) return -EFAULT;
  const v = kvm_irqfd_t.view(bytes);
  return kvm_irqfd(k, { fd: v.fd, gsi: v.gsi, flags: v.flags, resamplefd: v.resamplefd });
}

/** `kvm_irqfd_release()`: closing the VM file tears down whatever irqfds are left. */
export function kvm_irqfd_release(k: kvm): void {
  for (const irqfd of [...irqfds(k).items]) irqfd_deactivate(irqfd);
}

/** `kvm_irq_routing_update()`: the irqfds re-read their GSI's route. */
export function kvm_irq_routing_update(k: kvm): void {
  const s = irqfds_of.get(k);
  if (!s) return;
  for (const irqfd of s.items) irqfd_update(k, irqfd);
}

/** `kvm_irq_has_notifier()`: some ack notifier watches the pin's GSI. */
export function kvm_irq_has_notifier(k: kvm, irqchip: number, pin: number): boolean {
  const gsi = kvm_irq_map_chip_pin(k, irqchip, pin);
  if (gsi === -1) return false;
  return irqfds_of.get(k)?.irq_ack_notifier_list.some((n) => n.gsi === gsi) ?? false;
}

/** `kvm_notify_acked_gsi()`. */
export function kvm_notify_acked_gsi(k: kvm, gsi: number): void {
  for (const n of [...(irqfds_of.get(k)?.irq_ack_notifier_list ?? [])]) {
    if (n.gsi === gsi) n.irq_acked();
  }
}

/** `kvm_notify_acked_irq()`: an EOI of an irqchip pin reaches its GSI's notifiers. */
export function kvm_notify_acked_irq(k: kvm, irqchip: number, pin: number): void {
  const gsi = kvm_irq_map_chip_pin(k, irqchip, pin);
  if (gsi !== -1) kvm_notify_acked_gsi(k, gsi);
}

set_notify_acked_irq(kvm_notify_acked_irq);
set_irq_has_notifier(kvm_irq_has_notifier);
