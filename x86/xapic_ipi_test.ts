// SPDX-License-Identifier: GPL-2.0-only
/**
 * One vCPU sends fixed IPIs through the xAPIC ICR to a vCPU that keeps
 * executing HLT, and checks that each IPI wakes it and that it halts again
 * before the next one; at the end the halter's HLT count must match KVM's
 * `halt_exits`. Port of `tools/testing/selftests/kvm/x86/xapic_ipi_test.c`.
 *
 * Differences from the C test:
 * - The vCPU pthreads are concurrent `vcpu_run_async()` calls. C cancels
 *   them after the run time (`kvm_pthread_cancel_join_async()`); the
 *   TypeScript runtime cannot cancel a call, so the host raises a
 *   `stop_vcpus` guest global instead: the sender sees it at the top of its
 *   loop, sends one last IPI and finishes with GUEST_DONE, and the halter
 *   finishes when that IPI wakes it. Every HLT is still matched by a wake
 *   and an exit, so the final check is the C one.
 * - `-m` (migrate_pages() between NUMA nodes) is not available to the
 *   TypeScript process: it fails as the C test fails on a machine with
 *   fewer than two NUMA nodes.
 * - `this_cpu_has(X86_FEATURE_IDLE_HLT)` on the host reads KVM's supported
 *   CPUID, the library's stand-in for the host's CPUID.
 *
 * @module
 */

import { ksft_main } from "../include/kselftest_harness.ts";
import {
  addr_gva2hva,
  get_ucall,
  GUEST_ASSERT,
  GUEST_DONE,
  guest_global,
  type kvm_vcpu,
  kvm_vm_free,
  ref,
  TEST_ASSERT,
  TEST_ASSERT_EQ,
  TEST_ASSERT_KVM_EXIT_REASON,
  UCALL_ABORT,
  ucall_struct,
  vcpu_get_stat,
  vcpu_run_async,
  virt_pg_map,
  vm_alloc_page,
  vm_create_with_one_vcpu,
  vm_vcpu_add,
} from "../include/kvm_util.ts";
import { KVM_EXIT_IO } from "../include/linux/kvm.ts";
import { parse_size } from "../include/test_util.ts";
import {
  APIC_DEFAULT_GPA,
  APIC_DEST_PHYSICAL,
  APIC_DM_FIXED,
  APIC_EOI,
  APIC_ICR,
  APIC_ICR2,
  APIC_ID,
  APIC_LVR,
  APIC_PROCPRI,
  APIC_TASKPRI,
  GET_APIC_BASE,
  GET_APIC_ID_FIELD,
  MSR_IA32_APICBASE,
  SET_APIC_DEST_FIELD,
  xapic_enable,
  xapic_read_reg,
  xapic_write_reg,
} from "../include/x86/apic.ts";
import {
  cli,
  type ex_regs_view,
  kvm_cpu_has,
  rdmsr,
  rdtsc,
  safe_halt,
  vcpu_args_set,
  vm_install_exception_handler,
  X86_FEATURE_IDLE_HLT,
} from "../include/x86/processor.ts";
import { readl, readq, writel, writeq } from "../lib/guest_memory.ts";
import { offsetof, struct, u32, u64, u8 } from "../include/c/layout.ts";
import { user_memory } from "../include/libc/syscall.ts";

/** Seconds the vCPUs run when `-s` is not given. */
const DEFAULT_RUN_SECS = 3;

/** Microseconds slept between migrate_pages() calls when `-d` is not given. */
const DEFAULT_DELAY_USECS = 500000;

// Sender-to-halter IPI vector: 10100101b, picked only for its alternating
// bits; no vector is special here.
const IPI_VECTOR = 0xa5;

// Bumped by the halter's IPI handler, so the sender can see delivery.
const ipis_rcvd = guest_global("ipis_rcvd", u64);

/** Set by the host when the run time is over (the port's pthread_cancel()). */
const stop_vcpus = guest_global("stop_vcpus", u8);

/** The page both vCPUs and the host read and write. */
const test_data_page = struct("test_data_page", {
  halter_apic_id: u32,
  hlt_count: u64,
  wake_count: u64,
  ipis_sent: u64,
  migrations_attempted: u64,
  migrations_completed: u64,
  icr: u32,
  icr2: u32,
  halter_tpr: u32,
  halter_ppr: u32,
  // The halter's APIC_LVR read, kept for diagnosis: if it differs from
  // KVM's APIC_VERSION (arch/x86/kvm/lapic.c), APIC access exits are broken.
  halter_lvr: u32,
});

type field = keyof typeof test_data_page.fields;

/** The guest address of a member of `*data`. */
function f(data: bigint, name: field): bigint {
  return data + BigInt(offsetof(test_data_page, name));
}

function inc(data: bigint, name: field): void {
  writeq(readq(f(data, name)) + 1n, f(data, name));
}

/** Guest: the APIC sits at its default base. */
export function verify_apic_base_addr(): void {
  const msr = rdmsr(MSR_IA32_APICBASE);
  const base = GET_APIC_BASE(msr);

  GUEST_ASSERT(base === APIC_DEFAULT_GPA);
}

/** Guest entry of the halting vCPU. */
export function halter_guest_code(data: bigint): void {
  verify_apic_base_addr();
  xapic_enable();

  writel(GET_APIC_ID_FIELD(xapic_read_reg(APIC_ID)), f(data, "halter_apic_id"));
  writel(xapic_read_reg(APIC_LVR), f(data, "halter_lvr"));

  // Halt, count, repeat. CLI after each wake keeps the IPI from landing
  // between publishing hlt_count and the STI;HLT pair. The first pass needs
  // no CLI: the host starts the sender only after it sees the first halt.
  // TPR and PPR are saved so a failure report can show them.
  for (;;) {
    writel(xapic_read_reg(APIC_TASKPRI), f(data, "halter_tpr"));
    writel(xapic_read_reg(APIC_PROCPRI), f(data, "halter_ppr"));
    inc(data, "hlt_count");
    safe_halt();
    cli();
    inc(data, "wake_count");
    if (stop_vcpus.value) GUEST_DONE();
  }
}

/**
 * The halter's IPI handler. EOI takes any value; a distinctive non-zero one
 * makes a stray write into the APIC access page recognizable when debugging.
 */
export function guest_ipi_handler(_regs: ex_regs_view): void {
  ipis_rcvd.value = ipis_rcvd.value + 1n;
  xapic_write_reg(APIC_EOI, 77);
}

/** Guest entry of the sending vCPU. */
export function sender_guest_code(data: bigint): void {
  verify_apic_base_addr();
  xapic_enable();

  // Fixed delivery of IPI_VECTOR, physical destination naming the halter by
  // APIC ID; the halter ran first, so data->halter_apic_id is already set.
  const icr_val = APIC_DEST_PHYSICAL | APIC_DM_FIXED | IPI_VECTOR;
  const icr2_val = SET_APIC_DEST_FIELD(readl(f(data, "halter_apic_id")));
  writel(icr_val, f(data, "icr"));
  writel(icr2_val, f(data, "icr2"));

  let last_wake_count = readq(f(data, "wake_count"));
  let last_hlt_count = readq(f(data, "hlt_count"));
  let last_ipis_rcvd_count = ipis_rcvd.value;
  for (;;) {
    // No handshake before the first IPI: the halter is already halted.
    xapic_write_reg(APIC_ICR2, icr2_val);
    xapic_write_reg(APIC_ICR, icr_val);
    inc(data, "ipis_sent");

    // Give the halter about a second (2e9 TSC ticks at a typical 2 GHz) to
    // take the IPI, wake, and halt again.
    const tsc_start = rdtsc();
    while (rdtsc() - tsc_start < 2000000000n) {
      if (
        (ipis_rcvd.value !== last_ipis_rcvd_count) &&
        (readq(f(data, "wake_count")) !== last_wake_count) &&
        (readq(f(data, "hlt_count")) !== last_hlt_count)
      ) break;
      if (stop_vcpus.value) break;
    }

    // The port's cancellation: one more IPI wakes the halter if it halted
    // again, and both finish.
    if (stop_vcpus.value) {
      xapic_write_reg(APIC_ICR2, icr2_val);
      xapic_write_reg(APIC_ICR, icr_val);
      inc(data, "ipis_sent");
      GUEST_DONE();
    }

    GUEST_ASSERT(
      (ipis_rcvd.value !== last_ipis_rcvd_count) &&
        (readq(f(data, "wake_count")) !== last_wake_count) &&
        (readq(f(data, "hlt_count")) !== last_hlt_count),
    );

    last_wake_count = readq(f(data, "wake_count"));
    last_hlt_count = readq(f(data, "hlt_count"));
    last_ipis_rcvd_count = ipis_rcvd.value;
  }
}

interface thread_params {
  data: ReturnType<typeof test_data_page.view>;
  vcpu: kvm_vcpu;
  /** Where `ipis_rcvd` lives in host memory. */
  pipis_rcvd: bigint;
}

async function vcpu_thread(params: thread_params): Promise<void> {
  const vcpu = params.vcpu;
  const uc = ucall_struct.alloc();

  console.error(`vCPU thread running vCPU ${vcpu.id}`);
  await vcpu_run_async(vcpu);

  TEST_ASSERT_KVM_EXIT_REASON(vcpu, KVM_EXIT_IO);

  if (get_ucall(vcpu, uc) === UCALL_ABORT) {
    const d = params.data;
    TEST_ASSERT(
      false,
      `vCPU ${vcpu.id} exited with error: ${uc.args.at(0)}.\n` +
        `Sending vCPU sent ${d.ipis_sent} IPIs to halting vCPU\n` +
        `Halting vCPU halted ${d.hlt_count} times, woke ${d.wake_count} times, ` +
        `received ${read_u64(params.pipis_rcvd)} IPIs.\n` +
        `Halter TPR=0x${hex(d.halter_tpr)} PPR=0x${hex(d.halter_ppr)} LVR=0x${
          hex(d.halter_lvr)
        }\n` +
        `Migrations attempted: ${d.migrations_attempted}\n` +
        `Migrations completed: ${d.migrations_completed}`,
    );
  }
}

/** `*p` for a host address of a u64. */
function read_u64(p: bigint): bigint {
  const b = user_memory(p, 8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

function hex(v: number | bigint): string {
  return v.toString(16);
}

/** The NUMA nodes of the machine (`kvm_get_numa_memory_nodes()`), by sysfs. */
function numa_memory_nodes(): number {
  try {
    let n = 0;
    for (const e of Deno.readDirSync("/sys/devices/system/node")) {
      if (/^node\d+$/.test(e.name)) n++;
    }
    return n;
  } catch {
    return 1;
  }
}

function do_migrations(delay_usecs: number): void {
  console.error(`Calling migrate_pages every ${delay_usecs} microseconds`);
  const nodes = numa_memory_nodes();
  TEST_ASSERT(nodes > 1, "Did not find at least 2 numa nodes. Can't do migration");
  TEST_ASSERT(false, "migrate_pages() is not available to the TypeScript process");
}

function usage(): never {
  TEST_ASSERT(
    false,
    `Usage: -s <runtime seconds>. Default is ${DEFAULT_RUN_SECS} seconds.\n` +
      "-m adds calls to migrate_pages while vCPUs are running." +
      " Default is no migrations.\n" +
      "-d <delay microseconds> - delay between migrate_pages() calls." +
      ` Default is ${DEFAULT_DELAY_USECS} microseconds.`,
  );
  throw new Error("unreachable");
}

function get_cmdline_args(
  argc: number,
  argv: string[],
): { run_secs: number; migrate: boolean; delay_usecs: number } {
  const r = { run_secs: 0, migrate: false, delay_usecs: 0 };
  // getopt(argc, argv, "s:d:m")
  for (let i = 1; i < argc; i++) {
    const a = argv[i]!;
    if (a.length < 2 || a[0] !== "-") usage();
    const optarg = () => a.length > 2 ? a.slice(2) : argv[++i] ?? usage();
    switch (a[1]) {
      case "s":
        r.run_secs = Number(parse_size(optarg()));
        break;
      case "m":
        r.migrate = true;
        break;
      case "d":
        r.delay_usecs = Number(parse_size(optarg()));
        break;
      default:
        usage();
    }
  }
  return r;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(argc: number, argv: string[]): Promise<number> {
  const max_halter_wait = 10;
  let { run_secs, migrate, delay_usecs } = get_cmdline_args(argc, argv);
  if (run_secs <= 0) run_secs = DEFAULT_RUN_SECS;
  if (delay_usecs <= 0) delay_usecs = DEFAULT_DELAY_USECS;

  const vcpu0 = ref<kvm_vcpu>();
  const vm = vm_create_with_one_vcpu(vcpu0, halter_guest_code);

  vm_install_exception_handler(vm, IPI_VECTOR, guest_ipi_handler);

  virt_pg_map(vm, APIC_DEFAULT_GPA, APIC_DEFAULT_GPA);

  const vcpu1 = vm_vcpu_add(vm, 1, sender_guest_code);

  const test_data_page_gva = vm_alloc_page(vm);
  const data_bytes = user_memory(addr_gva2hva(vm, test_data_page_gva), test_data_page.size);
  data_bytes.fill(0);
  const data = test_data_page.view(data_bytes);

  vcpu_args_set(vcpu0.value, 1, test_data_page_gva);
  vcpu_args_set(vcpu1, 1, test_data_page_gva);

  const pipis_rcvd = addr_gva2hva(vm, ipis_rcvd.gva);
  const params: thread_params[] = [
    { data, vcpu: vcpu0.value, pipis_rcvd },
    { data, vcpu: vcpu1, pipis_rcvd },
  ];

  // The halter goes first; the sender waits until it has halted once.
  const threads: Promise<void>[] = [];
  threads.push(vcpu_thread(params[0]!));
  console.error("Halter vCPU thread started");

  let wait_secs = 0;
  while ((wait_secs < max_halter_wait) && !data.hlt_count) {
    await sleep(1000);
    wait_secs++;
  }

  TEST_ASSERT(
    data.hlt_count,
    `Halter vCPU did not execute first HLT within ${max_halter_wait} seconds`,
  );

  console.error(
    `Halter vCPU thread reported its APIC ID: ${data.halter_apic_id} after ${wait_secs} seconds.`,
  );

  threads.push(vcpu_thread(params[1]!));

  console.error(
    `IPI sender vCPU thread started. Letting vCPUs run for ${run_secs} seconds.`,
  );

  if (!migrate) await sleep(run_secs * 1000);
  else do_migrations(delay_usecs);

  // Stop the vCPUs and wait for them (the C test cancels the threads).
  user_memory(addr_gva2hva(vm, stop_vcpus.gva), 1)[0] = 1;
  await Promise.all(threads);

  // With Idle HLT available KVM may use it, and it skips the exit when an
  // unmasked IRQ or NMI is already pending, so exits can fall short of
  // HLTs executed.
  if (kvm_cpu_has(X86_FEATURE_IDLE_HLT)) {
    TEST_ASSERT(
      data.hlt_count >= vcpu_get_stat(params[0]!.vcpu, "halt_exits"),
      `HLT insns = ${data.hlt_count}, HLT exits = ${vcpu_get_stat(params[0]!.vcpu, "halt_exits")}`,
    );
  } else {
    TEST_ASSERT_EQ(data.hlt_count, vcpu_get_stat(params[0]!.vcpu, "halt_exits"));
  }

  console.error(
    `Test successful after running for ${run_secs} seconds.\n` +
      `Sending vCPU sent ${data.ipis_sent} IPIs to halting vCPU\n` +
      `Halting vCPU halted ${data.hlt_count} times, woke ${data.wake_count} times, ` +
      `received ${read_u64(pipis_rcvd)} IPIs.\n` +
      `Halter APIC ID=0x${hex(data.halter_apic_id)}\n` +
      `Sender ICR value=0x${hex(data.icr)} ICR2 value=0x${hex(data.icr2)}\n` +
      `Halter TPR=0x${hex(data.halter_tpr)} PPR=0x${hex(data.halter_ppr)} ` +
      `LVR=0x${hex(data.halter_lvr)}\n` +
      `Migrations attempted: ${data.migrations_attempted}\n` +
      `Migrations completed: ${data.migrations_completed}`,
  );

  kvm_vm_free(vm);

  return 0;
}

await ksft_main(import.meta, main);
