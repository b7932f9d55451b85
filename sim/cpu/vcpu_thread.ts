// SPDX-License-Identifier: GPL-2.0-only
/**
 * The host side of a simulated vCPU: a Worker that runs guest code, and the
 * handoff the simulated kernel uses for VM entry and VM exit.
 *
 * ```ts
 * const vcpu = new vcpu_thread({ vcpu_id: 0, images: [test_module_url] });
 * vcpu.set_memory_map({ slots: [...] });
 * vcpu.vmcs.rip = code_record_gva;          // KVM_SET_REGS
 * const reason = vcpu.enter();              // blocks until the next VM exit
 * if (reason === EXIT_REASON_IO_INSTRUCTION) { ... }
 * vcpu.destroy();                           // on VM free
 * ```
 *
 * `enter()` blocks the calling thread (a synchronous `KVM_RUN`);
 * `enter_async()` does the same without blocking the event loop, which is how
 * several vCPUs run at once from one host thread (as C tests use pthreads).
 * The VMCS ({@linkcode vcpu_thread.vmcs}) belongs to the host whenever
 * neither is in progress; see `vmcs.ts` for the exit protocol.
 *
 * A guest that never exits cannot hang the host forever when a deadline is
 * set ({@linkcode set_run_deadline}): the worker is then stopped and
 * `SIM_EXIT_REASON_DEADLINE` returned. Stopping is cooperative (Deno 2.9.6's
 * `Worker.terminate()` does not interrupt a worker that is busy in
 * JavaScript): the CPU checks the kill word at every instruction it
 * executes, so only a guest loop that executes no instruction at all (pure
 * JavaScript, no guest memory access) can outlive it.
 *
 * @module
 */

// The worker's module graph, named statically so that `deno test` and
// `deno check` type-check it with the test instead of when the first vCPU
// starts (a check at that point takes seconds and counts against the test's
// own timeouts).
import type {} from "./worker.ts";
import { IMAGE_INSTANCE_PARAM, in_deno_test, in_vcpu_worker } from "../../include/libc/process.ts";
import { GuestCodeError } from "../../include/guest_code.ts";
import { worker_ref, worker_ref_supported } from "../worker_ref.ts";

export { GuestCodeError };
import { type guest_memory_map, type guest_memory_map_delta, memmap_delta } from "./memory.ts";
import { spin_budget } from "./spin.ts";
import {
  SIM_EXIT_REASON_DEAD,
  SIM_EXIT_REASON_DEADLINE,
  SIM_EXIT_REASON_GUEST_CRASH,
  VCPU_STATE_EXIT,
  VCPU_STATE_KILLED,
  VCPU_STATE_RUN,
  WORKER_DEAD,
  WORKER_READY,
  WORKER_RELEASED,
  WORKER_STARTING,
} from "./vmx.ts";
import {
  vmcs_alloc,
  vmcs_ctl,
  VMCS_CTL_KILL,
  VMCS_CTL_MEMMAP_ACK,
  VMCS_CTL_MEMMAP_GENERATION,
  VMCS_CTL_RUN_STATE,
  VMCS_CTL_WORKER_STATE,
  VMCS_KILL_RELEASE,
  VMCS_KILL_STOP,
  type vmcs_view,
} from "./vmcs.ts";

/** The instance query of a re-imported guest image in stack frames. */
const IMAGE_INSTANCE_QUERY = new RegExp(`\\?${IMAGE_INSTANCE_PARAM}=\\d+`, "g");

/** Polls of a worker's state before a release sleeps in `Atomics.wait`. */
const RELEASE_SPIN = 2000;
/** Longest single wait, so that deadlines and worker death are noticed. */
const WAIT_SLICE_MS = 20;

/**
 * The per-entry deadline under `deno test` when none is set: the harness's
 * default test timeout (C `TEST_TIMEOUT_DEFAULT`, 30 s). In-process tests
 * block in a synchronous KVM_RUN, where Deno's own test timeout cannot fire.
 */
const DENO_TEST_DEADLINE_MS = 30_000;

// Read when a vCPU enters, not at load: the harness decides whether the
// process runs tests for `deno test` (also in its child) after this loads.
let deadline_ms: number | undefined;

/** Every vCPU thread whose worker may still run JavaScript (see {@linkcode vcpu_threads_alive}). */
const threads = new Set<vcpu_thread>();

/**
 * Sets the longest time one `enter()` / `enter_async()` may wait for a VM
 * exit (the harness timeout); `undefined` (the default) waits as long as the
 * guest runs. When it passes, the vCPU's worker is stopped and the entry
 * returns `SIM_EXIT_REASON_DEADLINE`; the vCPU is dead afterwards.
 *
 * @param ms milliseconds per entry, or `undefined` for no limit
 */
export function set_run_deadline(ms: number | undefined): void {
  if (ms !== undefined && !(ms > 0)) throw new RangeError(`Bad run deadline ${ms}`);
  deadline_ms = ms;
}

let flush_timeout_ms = 5000;

/**
 * Sets how long {@linkcode vcpu_thread.flush_memory_map} waits for a vCPU
 * in guest mode to take a new memory map before stopping it (default 5 s).
 *
 * @param ms milliseconds
 */
export function set_memmap_flush_timeout(ms: number): void {
  if (!(ms > 0)) throw new RangeError(`Bad flush timeout ${ms}`);
  flush_timeout_ms = ms;
}

/** The deadline {@linkcode set_run_deadline} set, in milliseconds. */
export function run_deadline(): number | undefined {
  return deadline_ms ?? (in_deno_test() ? DENO_TEST_DEADLINE_MS : undefined);
}

/**
 * What is left of the process's vCPU threads: one line per vCPU that was
 * never destroyed (its VM was not freed), and per worker that still runs
 * JavaScript after being stopped (guest code looping without executing an
 * instruction, which `Worker.terminate()` cannot interrupt in Deno 2.9.6).
 * First waits for pooled workers still unwinding a freed vCPU's guest (up to
 * the release deadline), then up to `grace_ms` for stopped workers to
 * finish. A stuck worker is reported once; the caller (the harness, after
 * each test) fails the test.
 *
 * @param grace_ms how long stopped workers may take to end
 * @returns the leaks, empty when none
 */
export function vcpu_threads_alive(grace_ms = 500): string[] {
  sweep_releases(true);
  const give_up = performance.now() + grace_ms;
  const out: string[] = [];
  for (const t of [...threads]) {
    const r = t.leak(give_up);
    if (r === null) threads.delete(t);
    else if (r !== "") {
      out.push(r);
      if (t.destroyed) threads.delete(t);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// The worker pool.
//
// Starting a worker costs far more than anything a VM does (a new isolate
// that compiles and evaluates the CPU model and the guest image's module
// graph, hundreds of modules), so freed vCPUs give their worker back and the
// next vCPU with the same guest image takes it: physical CPUs serve one VMCS
// after another. worker.ts describes what a worker forgets between vCPUs. A
// worker whose guest did not unwind at the release (JavaScript that executes
// no instruction), that died, or that served WORKER_MAX_USES vCPUs with a fresh
// image instance each is not reused. Workers are web Workers
// (`../worker_ref.ts` says why); idle ones are unref'd: they never keep the
// process alive.

/** A vCPU worker, attached to a vCPU or idle in the pool. */
interface pooled_worker {
  readonly worker: Worker;
  /** The guest image it imported (module URLs, one per line). */
  readonly key: string;
  /** vCPUs it served. */
  uses: number;
  /** It ended or failed: never reused. */
  dead: boolean;
  /** Where an error escaping the worker goes: the vCPU it serves. */
  on_error: ((message: string) => void) | undefined;
  /**
   * Word 0: non-zero once importing the image again failed (the worker is
   * not reused). Word 1: non-zero once the worker knows its image instance
   * serves every VM (worker.ts): it no longer grows, so it is never retired
   * for its number of uses. Word 2: non-zero while it is idle with the next
   * instance loaded ({@linkcode vcpu_worker_loaded}).
   */
  readonly status: Int32Array;
  /**
   * Set while the worker unwinds the guest of the vCPU it last served (the
   * release was asked at that vCPU's free): the VMCS control words it will
   * report `WORKER_RELEASED` in, and when to give up waiting for that.
   */
  releasing: { ctl: Int32Array; give_up: number } | undefined;
}

/**
 * vCPUs one worker serves before it is retired: each reuse imports the guest
 * image again (a module instance V8 never frees: ~260 KiB of RSS for
 * `x86/tdx_vm_test.ts`, ~30 KiB for `sim/kernel/testdata/run_guest.ts`),
 * so this bounds the growth; a new worker costs one start per 256 VMs. A
 * worker that keeps one instance for every VM (status word 1) has no such
 * growth and is not retired for it.
 */
export const WORKER_MAX_USES = 256;
/** How long a release waits for the guest to unwind before the worker is stopped instead. */
const RELEASE_WAIT_MS = 200;

const idle = new Map<string, pooled_worker[]>();
let idle_count = 0;
// Without the hook an idle worker would keep the process alive: no pool then.
let idle_max = worker_ref_supported() ? Math.max(4, navigator.hardwareConcurrency) : 0;

/**
 * Sets how many idle vCPU workers the process keeps for later vCPUs (default:
 * the number of host CPUs, at least 4). 0 disables reuse: every vCPU starts a
 * worker and its free ends it. Lowering it ends the idle workers beyond it.
 *
 * @param n the most idle workers
 * @returns the previous limit
 */
export function set_vcpu_worker_pool(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`Bad vCPU worker pool size ${n}`);
  const old = idle_max;
  idle_max = worker_ref_supported() ? n : 0;
  for (const list of idle.values()) {
    while (idle_count > idle_max && list.length > 0) {
      idle_count--;
      retire(list.pop()!);
    }
  }
  return old;
}

/** Idle workers in the pool now (for tests and benches). */
export function vcpu_worker_pool_idle(): number {
  return idle_count;
}

/** Of the idle workers, those still unwinding the guest of the vCPU they served (for tests). */
export function vcpu_worker_pool_releasing(): number {
  let n = 0;
  for (const list of idle.values()) {
    for (const pw of list) if (release_done(pw, false) === undefined) n++;
  }
  return n;
}

/**
 * Stores the kill word (`how`) and wakes the worker. Outside guest mode the
 * worker sleeps on `run_state` and reads the kill word only between sleeps:
 * had it read the word just before this store, a notify alone would find no
 * sleeper and its next sleep would last the whole timeout (50 ms, once in
 * ~150 TD frees). Moving `run_state` to `VCPU_STATE_KILLED` makes
 * that sleep return at once. A vCPU in guest mode keeps `VCPU_STATE_RUN`: it
 * polls the kill word between instructions, and its exit, stored after this
 * load, is followed by a read of the kill word.
 */
function kill(ctl: Int32Array, how: number): void {
  Atomics.store(ctl, VMCS_CTL_KILL, how);
  // Only the worker moves run_state away from RUN, and only this thread to it.
  if (Atomics.load(ctl, VMCS_CTL_RUN_STATE) !== VCPU_STATE_RUN) {
    Atomics.store(ctl, VMCS_CTL_RUN_STATE, VCPU_STATE_KILLED);
  }
  Atomics.notify(ctl, VMCS_CTL_RUN_STATE);
}

function retire(pw: pooled_worker): void {
  pw.dead = true;
  const r = pw.releasing;
  if (r) {
    // Cooperative stop first: Worker.terminate() alone does not interrupt a
    // worker that runs JavaScript (Deno 2.9.6), but the CPU polls this word.
    pw.releasing = undefined;
    if (Atomics.load(r.ctl, VMCS_CTL_WORKER_STATE) !== WORKER_RELEASED) {
      kill(r.ctl, VMCS_KILL_STOP);
    }
  }
  void pw.worker.terminate();
}

function drop_idle(pw: pooled_worker): void {
  const list = idle.get(pw.key);
  const i = list?.indexOf(pw) ?? -1;
  if (i >= 0) {
    list!.splice(i, 1);
    idle_count--;
  }
}

/**
 * Per guest image: whether its modules keep state of their own (0 not known
 * yet, `IMAGE_STATELESS`, `IMAGE_STATEFUL` of `vmx.ts`), decided by
 * the first worker that loads it and read by the others (a TD's hundreds of
 * workers would each tokenize the same sources).
 */
const image_verdicts = new Map<string, SharedArrayBuffer>();
function image_verdict(key: string): SharedArrayBuffer {
  let v = image_verdicts.get(key);
  if (!v) image_verdicts.set(key, v = new SharedArrayBuffer(4));
  return v;
}

/** Whether the worker is idle with its next image instance loaded. */
function loaded(pw: pooled_worker): boolean {
  // Word 2 is stale until the worker has left its last VMCS: a worker freed
  // before it read its attach message still shows its earlier idle time.
  return Atomics.load(pw.status, 2) !== 0 && Atomics.load(pw.status, 0) === 0 &&
    release_done(pw, false) === true;
}

/**
 * Whether the pool holds an idle worker for `images` with the image loaded:
 * a vCPU attached to it now reaches its guest within a message's latency.
 * The kernel then attaches the vCPU at its creation, so that the attach
 * overlaps what the VMM does before the first `KVM_RUN` (registers, CPUID,
 * a TD's finalize) instead of delaying that `KVM_RUN`.
 *
 * @param images the guest image's module URLs
 */
export function vcpu_worker_loaded(images: readonly (string | URL)[]): boolean {
  if (in_vcpu_worker()) return false;
  return idle.get(images.map((u) => u.toString()).join("\n"))?.some(loaded) ?? false;
}

function acquire(key: string, name: string): pooled_worker {
  const list = idle.get(key);
  // A loaded worker first: it serves at once.
  const i = list?.findLastIndex(loaded) ?? -1;
  if (i >= 0 && i !== list!.length - 1) list!.push(list!.splice(i, 1)[0]!);
  for (let pw = list?.pop(); pw; pw = list?.pop()) {
    idle_count--;
    // An image whose top level fails when evaluated again (for the next
    // VM) gets fresh workers, as before the pool.
    if (Atomics.load(pw.status, 0) !== 0 || !release_done(pw, true)) {
      retire(pw);
      continue;
    }
    worker_ref(pw.worker, true);
    // Its last vCPU: its successor starts now, while this one runs, rather
    // than at the next vCPU (a start costs ~200 ms, most of it in the new
    // worker's thread).
    if (pw.uses + 1 >= WORKER_MAX_USES && !keeps_one_instance(pw)) prewarm(key);
    return pw;
  }
  return start_worker(key, name);
}

function start_worker(key: string, name: string): pooled_worker {
  const worker = new Worker(new URL("./worker.ts", import.meta.url), { name, type: "module" });
  const fresh: pooled_worker = {
    worker,
    key,
    uses: 0,
    dead: false,
    on_error: undefined,
    status: new Int32Array(new SharedArrayBuffer(12)),
    releasing: undefined,
  };
  worker.onerror = (e: ErrorEvent) => {
    // An error that escapes the worker's own handling: it is dead, and the
    // host must not be crashed by it (an error event nobody cancels is
    // thrown again in the host).
    e.preventDefault();
    fresh.dead = true;
    drop_idle(fresh);
    fresh.on_error?.(`vCPU worker died: ${e.message}`);
  };
  return fresh;
}

/**
 * Starts loading a worker for `images` in the background when the pool has
 * none for them, so that the first `KVM_RUN` of a VM being built finds it
 * ready (the kernel calls it at `KVM_CREATE_VM`). A guest starts running
 * soon after its vCPU is created, as on hardware, instead of a worker's
 * start later (`tsc_msrs_test` reads a TSC that counts from vCPU creation).
 * Nothing happens in a vCPU worker, with a pool of 0 or a full pool.
 *
 * @param images the guest image's module URLs
 */
export function vcpu_worker_prewarm(images: readonly (string | URL)[]): void {
  if (in_vcpu_worker()) return;
  prewarm(images.map((u) => u.toString()).join("\n"));
}

/** Starts a worker loading the guest image `key` into the pool, unless the pool has one or is full. */
function prewarm(key: string): void {
  if (idle_max === 0 || idle_count >= idle_max || (idle.get(key)?.length ?? 0) > 0) return;
  const pw = start_worker(key, "vcpu");
  const msg: vcpu_worker_preload = {
    preload: key === "" ? [] : key.split("\n"),
    status: pw.status.buffer as SharedArrayBuffer,
    verdict: image_verdict(key),
  };
  pw.worker.postMessage(msg);
  give_back(pw);
}

/** Whether the worker reported that one image instance serves all its VMs. */
function keeps_one_instance(pw: pooled_worker): boolean {
  return Atomics.load(pw.status, 1) !== 0;
}

/** Whether the pool takes `pw` back: it is alive, not worn out, and there is room. */
function poolable(pw: pooled_worker): boolean {
  return !pw.dead && (pw.uses < WORKER_MAX_USES || keeps_one_instance(pw)) &&
    idle_count < idle_max;
}

function give_back(pw: pooled_worker): void {
  pw.on_error = undefined;
  sweep_releases(false);
  if (!poolable(pw)) {
    retire(pw);
    return;
  }
  worker_ref(pw.worker, false);
  let list = idle.get(pw.key);
  if (!list) idle.set(pw.key, list = []);
  list.push(pw);
  idle_count++;
}

/**
 * VMCLEAR: asks the worker to leave the VMCS `ctl` belongs to. The host does
 * not wait for it there: the worker goes back to the pool at once and
 * unwinds the guest on its own core while the VMM goes on (frees the VM,
 * builds the next one); whoever takes it next waits for the unwinding to end
 * ({@linkcode release_done}). False when the worker is not worth waiting for
 * (it has not loaded the image yet) or its guest did not stop in time: then
 * the caller stops it.
 */
function release_begin(pw: pooled_worker, ctl: Int32Array, was_loaded: boolean): boolean {
  // A worker that had its image loaded when attached reaches the VMCS within
  // a message's latency; one still loading it may take seconds.
  if (!was_loaded && Atomics.load(ctl, VMCS_CTL_WORKER_STATE) === WORKER_STARTING) return false;
  const in_guest = Atomics.load(ctl, VMCS_CTL_RUN_STATE) === VCPU_STATE_RUN;
  kill(ctl, VMCS_KILL_RELEASE);
  pw.releasing = { ctl, give_up: performance.now() + RELEASE_WAIT_MS };
  // A vCPU in guest mode may still execute instructions until its next check
  // of the kill word, writes to the guest's memory included: the VM's memory
  // must not be freed (and handed to another VM) before it has stopped. A
  // vCPU waiting for its next entry touches nothing once it sees the word.
  if (in_guest) {
    release_waits++;
    return release_done(pw, true) === true;
  }
  arm_release_sweep();
  return true;
}

let release_waits = 0;

/** Frees of a vCPU that waited for its worker to leave the VM (for tests). */
export function vcpu_worker_release_waits(): number {
  return release_waits;
}

/**
 * Whether the worker's last guest has unwound: true once it reported
 * `WORKER_RELEASED`, false when it will not (it died, or the release took
 * longer than `RELEASE_WAIT_MS`: the caller retires it), `undefined` while
 * it may still (only when not asked to `wait`).
 */
function release_done(pw: pooled_worker, wait: boolean): boolean | undefined {
  const r = pw.releasing;
  if (!r) return true;
  for (let i = 0;; i++) {
    const state = Atomics.load(r.ctl, VMCS_CTL_WORKER_STATE);
    if (state === WORKER_RELEASED) {
      pw.releasing = undefined;
      return true;
    }
    if (state !== WORKER_READY && state !== WORKER_STARTING) return false;
    if (wait && i < RELEASE_SPIN) continue;
    const left = r.give_up - performance.now();
    if (left <= 0) return false;
    if (!wait) return undefined;
    Atomics.wait(r.ctl, VMCS_CTL_WORKER_STATE, state, Math.min(left, 1));
  }
}

/**
 * Retires the idle workers whose release failed; with `wait`, first waits
 * for every release still in progress to end one way or the other.
 */
function sweep_releases(wait: boolean): void {
  for (const list of idle.values()) {
    for (let i = list.length - 1; i >= 0; i--) {
      const pw = list[i]!;
      if (release_done(pw, wait) !== false) continue;
      list.splice(i, 1);
      idle_count--;
      retire(pw);
    }
  }
}

// A guest that never unwinds would keep its worker busy until the next pool
// operation; this timer (which never keeps the process alive) stops it at
// its deadline instead.
let release_sweep = false;
function arm_release_sweep(): void {
  if (release_sweep) return;
  release_sweep = true;
  const id = setTimeout(() => {
    release_sweep = false;
    sweep_releases(false);
    for (const list of idle.values()) {
      if (list.some((pw) => pw.releasing)) return arm_release_sweep();
    }
  }, RELEASE_WAIT_MS + 1);
  Deno.unrefTimer(id);
}

/** Options of the {@linkcode vcpu_thread} constructor. */
export interface vcpu_thread_options {
  /** The vCPU id (`KVM_CREATE_VCPU` argument). */
  vcpu_id: number;
  /**
   * The guest image: module URLs the worker imports before running guest
   * code (the test module, and any module holding guest functions). Guest
   * functions are resolved in the SDK registry first, then in these modules'
   * exports, in order.
   */
  images: readonly (string | URL)[];
  /** The VMCS to use; a fresh one in the RESET state by default. */
  vmcs?: vmcs_view;
}

/** The message that starts a vCPU worker. */
export interface vcpu_worker_init {
  /** The VMCS buffer. */
  vmcs: SharedArrayBuffer;
  /** Offset of the VMCS in it. */
  vmcs_offset: number;
  /** Module URLs of the guest image. */
  images: string[];
  /** The port memory maps arrive on. */
  port: MessagePort;
  /** The worker's status word (see `pooled_worker`). */
  status: SharedArrayBuffer;
  /** The image's verdict word (`IMAGE_STATELESS`, `IMAGE_STATEFUL`, 0 unknown). */
  verdict: SharedArrayBuffer;
}

/** The message that makes an idle worker import a guest image before any vCPU needs it. */
export interface vcpu_worker_preload {
  /** Module URLs of the guest image. */
  preload: string[];
  /** The worker's status word. */
  status: SharedArrayBuffer;
  /** The image's verdict word. */
  verdict: SharedArrayBuffer;
}

/** A memory-map message to the worker: a whole map, or the delta from the last one posted. */
export interface vcpu_memmap_message {
  /** The generation the host stores in the VMCS after posting. */
  generation: number;
  /** The whole map. */
  map?: guest_memory_map;
  /** Else the change since the previous message's map. */
  delta?: guest_memory_map_delta;
}

/** A vCPU's worker and the VM entry / VM exit handoff with it. */
export class vcpu_thread {
  /** The vCPU id. */
  readonly vcpu_id: number;
  /** The shared VMCS: the kernel reads and writes it while the vCPU is not running. */
  readonly vmcs: vmcs_view;
  readonly #ctl: Int32Array;
  #worker: pooled_worker | undefined;
  readonly #port: MessagePort;
  // Separate budgets: an async waiter shares its thread with other vCPUs.
  readonly #spin = new spin_budget();
  readonly #spin_async = new spin_budget();
  #running = false;
  #dead_reason = 0;
  #generation = 0;
  /** The last map posted to the worker, which the next message may be a delta from. */
  #posted: guest_memory_map | undefined;
  #error = "";
  #killed_by_host = false;
  /** Its worker was idle with the image loaded when attached. */
  readonly #was_loaded: boolean;
  #death_reported = false;
  /** Ends the wait of a pending {@linkcode enter_async}. */
  #settle_async_wait: ((v: unknown) => void) | undefined;

  /**
   * Takes a worker of the pool that holds the same guest image, or starts
   * one, which imports the guest image; it waits for the first entry.
   */
  constructor(options: vcpu_thread_options) {
    this.vcpu_id = options.vcpu_id;
    this.vmcs = options.vmcs ?? vmcs_alloc(options.vcpu_id);
    if (!(this.vmcs.$buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("The VMCS must live in a SharedArrayBuffer");
    }
    this.vmcs.vcpu_id = options.vcpu_id;
    this.#ctl = vmcs_ctl(this.vmcs);
    const channel = new MessageChannel();
    this.#port = channel.port1;
    const images = options.images.map((u) => u.toString());
    const pw = acquire(images.join("\n"), `vcpu${options.vcpu_id}`);
    this.#was_loaded = loaded(pw);
    pw.uses++;
    pw.on_error = (message: string) => {
      if (this.#worker !== pw) return;
      this.#error ||= message;
      Atomics.store(this.#ctl, VMCS_CTL_WORKER_STATE, WORKER_DEAD);
      Atomics.notify(this.#ctl, VMCS_CTL_RUN_STATE);
    };
    const init: vcpu_worker_init = {
      vmcs: this.vmcs.$buffer as SharedArrayBuffer,
      vmcs_offset: this.vmcs.$offset,
      images,
      port: channel.port2,
      status: pw.status.buffer as SharedArrayBuffer,
      verdict: image_verdict(pw.key),
    };
    pw.worker.postMessage(init, [channel.port2]);
    this.#worker = pw;
    threads.add(this);
  }

  /** Whether {@linkcode destroy} (or a deadline) stopped the vCPU. */
  get destroyed(): boolean {
    return this.#worker === undefined;
  }

  /**
   * For {@linkcode vcpu_threads_alive}: `null` when the worker is gone (or
   * was stopped before it ran guest code, which `terminate()` does end), ""
   * while a live vCPU is not yet a leak, else the leak's description.
   */
  leak(give_up: number): string | null {
    const ctl = this.#ctl;
    if (!this.destroyed) return `vCPU ${this.vcpu_id}: never destroyed (its VM was not freed)`;
    while (Atomics.load(ctl, VMCS_CTL_WORKER_STATE) === WORKER_READY) {
      const left = give_up - performance.now();
      if (left <= 0) {
        return `vCPU ${this.vcpu_id}: its worker still runs JavaScript after being stopped ` +
          `(guest code that loops without executing an instruction cannot be interrupted)`;
      }
      Atomics.wait(ctl, VMCS_CTL_WORKER_STATE, WORKER_READY, Math.min(left, WAIT_SLICE_MS));
    }
    return null;
  }

  /** Whether the vCPU is in guest mode (an entry is in progress). */
  get running(): boolean {
    return this.#running;
  }

  /** Whether the vCPU can still run (not destroyed, not past a deadline, worker alive). */
  get alive(): boolean {
    return this.#dead_reason === 0 &&
      Atomics.load(this.#ctl, VMCS_CTL_WORKER_STATE) !== WORKER_DEAD;
  }

  /**
   * Gives the worker a new memory map. It takes effect at the vCPU's next
   * entry, or at the next TLB miss of a running vCPU (as KVM zaps SPTEs and
   * flushes TLBs after a memslot update); the TLB is flushed with it.
   */
  set_memory_map(map: guest_memory_map): void {
    if (!this.#worker) return;
    const generation = ++this.#generation;
    const delta = this.#posted && memmap_delta(this.#posted, map);
    this.#posted = map;
    const msg: vcpu_memmap_message = delta ? { generation, delta } : { generation, map };
    this.#port.postMessage(msg);
    Atomics.store(this.#ctl, VMCS_CTL_MEMMAP_GENERATION, generation);
  }

  /**
   * Waits until a vCPU in guest mode has applied the last map given to
   * {@linkcode set_memory_map} (and flushed its TLB), as KVM's remote TLB
   * flush waits for every vCPU: afterwards the guest cannot reach memory
   * through the old map. Returns at once when the vCPU is not in guest mode
   * (it applies the map at its next entry). A vCPU that does not acknowledge
   * within `timeout_ms` is stopped, so it can never use the old map; its
   * KVM_RUN then fails with the reason.
   *
   * @returns whether the map is applied or will be before the guest runs
   *   again; false when the vCPU had to be stopped
   */
  flush_memory_map(timeout_ms: number = flush_timeout_ms): boolean {
    const ctl = this.#ctl;
    const want = this.#generation;
    const give_up = performance.now() + timeout_ms;
    for (;;) {
      const ack = Atomics.load(ctl, VMCS_CTL_MEMMAP_ACK);
      if (ack >= want) return true;
      if (Atomics.load(ctl, VMCS_CTL_RUN_STATE) !== VCPU_STATE_RUN) return true;
      if (Atomics.load(ctl, VMCS_CTL_WORKER_STATE) === WORKER_DEAD) return true;
      if (!this.#worker) return true;
      const left = give_up - performance.now();
      if (left <= 0) break;
      Atomics.wait(ctl, VMCS_CTL_MEMMAP_ACK, ack, Math.min(left, 1));
    }
    this.#error ||= `vCPU ${this.vcpu_id} did not acknowledge a memory map change within ` +
      `${timeout_ms} ms (guest code running without touching memory?); it was stopped so that ` +
      "it cannot reach memory through the old map";
    this.#stop(SIM_EXIT_REASON_DEAD);
    return false;
  }

  /**
   * VM entry: runs the vCPU until its next VM exit and returns the exit
   * reason (a VMX basic exit reason or a `SIM_EXIT_REASON_*`), blocking the
   * calling thread meanwhile.
   */
  enter(): number {
    const early = this.#begin();
    if (early !== 0) return early;
    const ctl = this.#ctl;
    if (this.#spin.spin(ctl, VMCS_CTL_RUN_STATE, VCPU_STATE_RUN)) return this.#finish();
    const ms = run_deadline();
    const deadline = ms === undefined ? Infinity : performance.now() + ms;
    for (;;) {
      Atomics.wait(ctl, VMCS_CTL_RUN_STATE, VCPU_STATE_RUN, WAIT_SLICE_MS);
      if (Atomics.load(ctl, VMCS_CTL_RUN_STATE) !== VCPU_STATE_RUN) return this.#finish();
      const stop = this.#check(deadline);
      if (stop !== 0) return stop;
    }
  }

  /**
   * VM entry without blocking the event loop: resolves with the exit reason
   * as {@linkcode enter} returns it. Use it to run several vCPUs at once.
   */
  async enter_async(): Promise<number> {
    const early = this.#begin();
    if (early !== 0) return early;
    const ctl = this.#ctl;
    if (this.#spin_async.spin(ctl, VMCS_CTL_RUN_STATE, VCPU_STATE_RUN)) return this.#finish();
    const ms = run_deadline();
    const deadline = ms === undefined ? Infinity : performance.now() + ms;
    for (;;) {
      const r = Atomics.waitAsync(ctl, VMCS_CTL_RUN_STATE, VCPU_STATE_RUN, WAIT_SLICE_MS);
      if (r.async) {
        // A pending waitAsync() does not keep Deno's event loop alive: once
        // destroy() has unref'd the worker, its timeout might never come, so
        // the stop settles the wait itself.
        await new Promise<unknown>((settle) => {
          this.#settle_async_wait = settle;
          r.value.then(settle);
        });
        this.#settle_async_wait = undefined;
      }
      if (Atomics.load(ctl, VMCS_CTL_RUN_STATE) !== VCPU_STATE_RUN) return this.#finish();
      const stop = this.#check(deadline);
      if (stop !== 0) return stop;
    }
  }

  /**
   * The error text (message and guest stack) of the last
   * `SIM_EXIT_REASON_GUEST_CRASH` exit, or of the worker's failure to start.
   */
  guest_error(): string {
    const n = this.vmcs.crash_len;
    const text = n > 0
      ? new TextDecoder().decode(this.vmcs.crash_text.$bytes.slice(0, n))
      : this.#error;
    // A reused worker's image is a fresh instance of the same module: its
    // frames name the module file, as a fresh worker's do.
    return text.replaceAll(IMAGE_INSTANCE_QUERY, "");
  }

  /**
   * Why the worker died while the vCPU was in use (its error, or the crash
   * text it left), once: later calls return "" (the vCPU just stays dead).
   */
  take_death_reason(): string {
    if (this.#death_reported) return "";
    this.#death_reported = true;
    if (this.#dead_reason === SIM_EXIT_REASON_DEADLINE) {
      return `the guest did not exit within the run deadline (${run_deadline()} ms, the ` +
        `harness timeout), so its vCPU was stopped; KVM_RUN gave -EINTR once`;
    }
    if (this.#dead_reason !== SIM_EXIT_REASON_DEAD || this.#killed_by_host) return "";
    return this.guest_error();
  }

  /**
   * The run deadline passed while the kernel held the vCPU outside guest
   * mode (a HLT blocked in `vcpu_block()`): the vCPU is stopped as when the
   * guest itself overran the deadline, so the next entry reports why.
   */
  expire(): void {
    this.#deadline_reported = true;
    this.#stop(SIM_EXIT_REASON_DEADLINE);
  }

  /**
   * Detaches the worker (VM free): it goes back to the pool when its guest
   * unwinds, else it is stopped. Idempotent.
   */
  destroy(): void {
    if (this.#worker) this.#killed_by_host = true;
    this.#stop(SIM_EXIT_REASON_DEAD, true);
    this.#port.close();
  }

  /** `using vcpu = new vcpu_thread(...)` destroys it at the end of the scope. */
  [Symbol.dispose](): void {
    this.destroy();
  }

  #deadline_reported = false;

  #begin(): number {
    if (this.#running) throw new Error(`vCPU ${this.vcpu_id} is already running`);
    if (this.#dead_reason !== 0 || !this.#worker) return this.#dead_exit();
    if (Atomics.load(this.#ctl, VMCS_CTL_WORKER_STATE) === WORKER_DEAD) return this.#dead_exit();
    this.#running = true;
    Atomics.store(this.#ctl, VMCS_CTL_RUN_STATE, VCPU_STATE_RUN);
    Atomics.notify(this.#ctl, VMCS_CTL_RUN_STATE);
    return 0;
  }

  #finish(): number {
    this.#running = false;
    return this.vmcs.exit_reason;
  }

  #check(deadline: number): number {
    if (!this.#worker) return this.#dead_exit();
    if (Atomics.load(this.#ctl, VMCS_CTL_WORKER_STATE) === WORKER_DEAD) {
      this.#running = false;
      // The worker may have stored a crash exit just before dying.
      if (Atomics.load(this.#ctl, VMCS_CTL_RUN_STATE) === VCPU_STATE_EXIT) return this.#finish();
      this.#stop(SIM_EXIT_REASON_DEAD);
      return this.#dead_exit();
    }
    if (performance.now() >= deadline) {
      this.#running = false;
      this.#deadline_reported = true;
      this.#stop(SIM_EXIT_REASON_DEADLINE);
      this.vmcs.exit_reason = SIM_EXIT_REASON_DEADLINE;
      return SIM_EXIT_REASON_DEADLINE;
    }
    return 0;
  }

  #dead_exit(): number {
    this.#running = false;
    // The deadline plays the harness's signal once (KVM_RUN gives -EINTR,
    // which upstream's _vcpu_run() retries); after that the vCPU is a dead
    // one, or the retry would spin on EINTR for ever.
    const first_deadline = this.#dead_reason === SIM_EXIT_REASON_DEADLINE &&
      !this.#deadline_reported;
    if (first_deadline) this.#deadline_reported = true;
    const reason = first_deadline
      ? SIM_EXIT_REASON_DEADLINE
      : Atomics.load(this.#ctl, VMCS_CTL_WORKER_STATE) === WORKER_DEAD && this.vmcs.crash_len > 0
      ? SIM_EXIT_REASON_GUEST_CRASH
      : SIM_EXIT_REASON_DEAD;
    this.vmcs.exit_reason = reason;
    return reason;
  }

  #stop(reason: number, release = false): void {
    if (this.#dead_reason === 0) this.#dead_reason = reason;
    const pw = this.#worker;
    if (!pw) return;
    this.#worker = undefined;
    this.#running = false;
    this.#settle_async_wait?.(undefined);
    pw.on_error = undefined;
    if (release && poolable(pw) && release_begin(pw, this.#ctl, this.#was_loaded)) {
      give_back(pw);
      return;
    }
    // Cooperative stop first: Worker.terminate() alone does not interrupt a
    // worker that runs JavaScript (Deno 2.9.6), but the CPU polls this word.
    kill(this.#ctl, VMCS_KILL_STOP);
    retire(pw);
  }
}
