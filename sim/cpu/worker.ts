// SPDX-License-Identifier: GPL-2.0-only
/**
 * The entry point of a vCPU worker (started by `vcpu_thread`): it announces
 * itself as a guest worker before anything imports the guest image (so test
 * registration in the image is inert and system calls are refused), imports
 * the image modules, and runs the CPU until the host stops it.
 *
 * Ways for JavaScript to end a thread silently (`Deno.exit()`,
 * `process.exit()`, `close()`) are host-only here: guest code (or the image's
 * top-level code) that calls them gets a {@linkcode HostOnlyError}, which the
 * CPU reports as a guest crash (or a failed image load). The image's
 * top-level system calls go to the worker's own simulated kernel
 * (`include/libc/syscall.ts`); guest code's are refused.
 * However the worker's JavaScript ends, its last act is to mark the worker
 * dead in the VMCS (with a crash text when the end was not the host's kill),
 * so a host blocked in KVM_RUN sees it without waiting for an error event.
 *
 * **Reuse.** The host keeps workers in a pool across VMs (a physical CPU
 * serves one VMCS after another): when it frees a vCPU with the kill word set
 * to `VMCS_KILL_RELEASE` (VMCLEAR), the CPU unwinds the guest, the worker
 * forgets the VM (memory map, VMCS views, timers guest code armed, globals it
 * added or replaced, SDK caches registered with `on_vcpu_worker_reuse`),
 * reports `WORKER_RELEASED` in that VMCS, and hands the next vCPU a fresh
 * instance of the guest image, imported under a new instance query
 * ({@linkcode IMAGE_INSTANCE_PARAM}), so that it starts from the image's
 * initial module state, as a fresh worker would. The SDK and CPU modules stay
 * loaded, which is what makes a second VM cheap. The next `vcpu_worker_init`
 * attaches it to another VMCS.
 *
 * An import costs milliseconds (Deno resolves the module graph and compiles
 * the instance again) and can only make progress while no guest runs, so the
 * worker keeps one instance imported ahead: the next vCPU takes the spare at
 * once and the one after it is imported in the background, finished before
 * that vCPU's guest runs (an import left in flight would evaluate its top
 * level at the guest's release, as guest code). An image whose
 * modules create no state of their own at the top level (`image_state.ts`,
 * decided from their source once the first instance has loaded) has nothing a
 * fresh instance would reset: its instance serves every VM. `globalThis` is
 * saved when a guest starts and restored when it is released, so what guest
 * code changed there goes. What an image's top level sets there stays, unless
 * that import finishes between a guest's release and the restore (a message
 * round trip): then the restore undoes it too. Test modules' top levels do
 * not write `globalThis`; one that does should not rely on it.
 *
 * @module
 */

import {
  HostOnlyError,
  IMAGE_INSTANCE_PARAM,
  vcpu_worker_reused,
} from "../../include/libc/process.ts";
import type { vcpu_worker_init, vcpu_worker_preload } from "./vcpu_thread.ts";
import { offsetof } from "../../include/c/layout.ts";
import {
  sim_vmcs,
  VMCS_CRASH_TEXT_SIZE,
  VMCS_CTL_KILL,
  VMCS_CTL_RUN_STATE,
  VMCS_CTL_WORKER_STATE,
  VMCS_KILL_RELEASE,
  VMCS_SIZE,
} from "./vmcs.ts";
import { IMAGE_STATEFUL, IMAGE_STATELESS, WORKER_DEAD, WORKER_RELEASED } from "./vmx.ts";
import { image_has_own_state } from "./image_state.ts";
import { read_source } from "../../include/linux/stringify.ts";

(globalThis as { __KVM_GUEST_WORKER__?: boolean }).__KVM_GUEST_WORKER__ = true;

const scope = globalThis as unknown as {
  close(): void;
  addEventListener(type: string, fn: (e: Event) => void): void;
};

const EXIT_HINT = "guest code ends with GUEST_DONE() or fails with GUEST_ASSERT()/GUEST_FAIL() " +
  "(ucalls the host turns into the test's result)";
const real_close = scope.close.bind(scope);
Object.defineProperty(Deno, "exit", {
  configurable: true,
  value: (code?: number): never => {
    throw new HostOnlyError(`Deno.exit(${code ?? ""})`, EXIT_HINT);
  },
});
scope.close = () => {
  throw new HostOnlyError("close()", EXIT_HINT);
};

/**
 * Replaces the global `name` by `wrap(original)` when first read. In a web
 * worker Deno defines `process`, `setTimeout` and `setInterval` as getters
 * that load its Node layer on first use (20-30 ms each on the CI machine):
 * wrapping them at once would make every vCPU pay that, guest code that
 * never uses them included.
 */
function wrap_global<T>(name: string, wrap: (original: T) => T): void {
  const d = Object.getOwnPropertyDescriptor(globalThis, name);
  if (!d) return;
  if (!d.get) {
    (globalThis as Record<string, unknown>)[name] = wrap(d.value as T);
    return;
  }
  const get = d.get;
  let wrapped: T | undefined;
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: d.enumerable ?? false,
    get: () => wrapped ??= wrap(get.call(globalThis) as T),
    set: (v: T) => {
      Object.defineProperty(globalThis, name, {
        configurable: true,
        enumerable: d.enumerable ?? false,
        writable: true,
        value: v,
      });
    },
  });
}

wrap_global<{ exit(code?: number): never }>("process", (process) => {
  process.exit = (code?: number): never => {
    throw new HostOnlyError(`process.exit(${code ?? ""})`, EXIT_HINT);
  };
  return process;
});

// Timers armed while guest code runs: their callbacks would run once the
// worker is idle again, in the next VM's time, so a release cancels them.
const guest_timers = new Set<ReturnType<typeof setTimeout>>();
function guest_running(): boolean {
  return (globalThis as { __KVM_GUEST_RUNNING__?: boolean }).__KVM_GUEST_RUNNING__ === true;
}
for (const name of ["setTimeout", "setInterval"]) {
  wrap_global<typeof setTimeout>(name, (real) =>
    ((...args: Parameters<typeof setTimeout>) => {
      const id = real(...args);
      if (guest_running()) guest_timers.add(id);
      return id;
    }) as typeof setTimeout);
}

let ctl: Int32Array | undefined;
let vmcs_bytes: Uint8Array | undefined;
let vmcs_u32: Uint32Array | undefined;

/**
 * Marks the worker dead; unless the host asked it to stop, with `why` as
 * the crash text (if the CPU has not stored one), so KVM_RUN fails with it.
 */
function mark_dead(why: string): void {
  if (!ctl || !vmcs_bytes || !vmcs_u32) return;
  const killed = Atomics.load(ctl, VMCS_CTL_KILL) !== 0;
  const len_at = offsetof(sim_vmcs, "crash_len") >> 2;
  if (!killed && vmcs_u32[len_at] === 0) {
    const text = new TextEncoder().encode(why);
    const n = Math.min(text.length, VMCS_CRASH_TEXT_SIZE);
    vmcs_bytes.set(text.subarray(0, n), offsetof(sim_vmcs, "crash_text"));
    vmcs_u32[len_at] = n;
  }
  Atomics.store(ctl, VMCS_CTL_WORKER_STATE, WORKER_DEAD);
  // Both words have sleepers: an entry in progress on run_state, the leak
  // check and a release on worker_state.
  Atomics.notify(ctl, VMCS_CTL_RUN_STATE);
  Atomics.notify(ctl, VMCS_CTL_WORKER_STATE);
}

function text_of(e: unknown): string {
  return e instanceof Error ? e.stack ?? `${e.name}: ${e.message}` : String(e);
}

scope.addEventListener("error", (e: Event) => {
  mark_dead(`vCPU worker died: ${text_of((e as ErrorEvent).error ?? (e as ErrorEvent).message)}`);
});
scope.addEventListener("unhandledrejection", (e: Event) => {
  mark_dead(`vCPU worker died: ${text_of((e as PromiseRejectionEvent).reason)}`);
});

type cpu_module = typeof import("./runner.ts");
let cpu: cpu_module | undefined;
/** The image instance the next vCPU runs, or why it could not be loaded. */
let image: Promise<Record<string, unknown>[]> | undefined;
/** The instance after it, imported ahead. */
let spare: Promise<Record<string, unknown>[]> | undefined;
let image_urls: string[] = [];
/** The host's status word for this worker (`pooled_worker.status`). */
let status: Int32Array | undefined;
let instance = 0;
/** `globalThis` as it was when the guest being served started. */
let globals_at_start: PropertyDescriptorMap = {};
/** An import ended since {@linkcode globals_at_start} was taken (or none was). */
let globals_stale = true;

async function import_image(
  urls: readonly string[],
  n: number,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  try {
    for (const url of urls) {
      if (n === 0) {
        out.push(await import(url));
      } else {
        const u = new URL(url);
        u.searchParams.set(IMAGE_INSTANCE_PARAM, String(n));
        out.push(await import(u.href));
      }
    }
  } finally {
    globals_stale = true;
  }
  return out;
}

/** Undoes what guest code did to `globalThis`: added properties go, replaced ones come back. */
function restore_globals(): void {
  const g = globalThis as unknown as Record<string | symbol, unknown>;
  for (const key of Reflect.ownKeys(globalThis)) {
    if (!(key in globals_at_start)) {
      try {
        delete g[key];
      } catch {
        // Not configurable: left as it is.
      }
    }
  }
  for (const key of Reflect.ownKeys(globals_at_start)) {
    const was = globals_at_start[key as string]!;
    const now = Object.getOwnPropertyDescriptor(globalThis, key);
    if (
      now && now.value === was.value && now.get === was.get && now.set === was.set
    ) continue;
    try {
      Object.defineProperty(globalThis, key, was);
    } catch {
      // Not configurable: left as it is.
    }
  }
}

// The web event, not `parentPort.on()`: Node's wrapper walks each message to
// convert the ports in it, a tenth of a millisecond per attach; the CPU uses
// the transferred port as a web MessagePort (`receiveMessageOnPort()` takes one).
scope.addEventListener("message", (e: Event) => {
  const msg = (e as MessageEvent).data as vcpu_worker_init | vcpu_worker_preload;
  // One vCPU at a time: an attach waits for the previous release (or preload) to finish.
  verdict ??= new Int32Array(msg.verdict);
  queue = queue.then(() => "preload" in msg ? preload(msg.preload, msg.status) : serve(msg));
});

/** Loads the CPU and the guest image while idle, so the first vCPU starts at once. */
async function preload(urls: readonly string[], status_buffer: SharedArrayBuffer): Promise<void> {
  status = new Int32Array(status_buffer);
  cpu ??= await import("./runner.ts");
  if (image === undefined) {
    image_urls = [...urls];
    image = import_image(image_urls, instance);
    import_spare();
  }
  // A failure is the first vCPU's to report.
  if (await image.then(() => true, () => false)) report_loaded();
}

/**
 * Status word 2: the worker is idle with its next image instance loaded, so
 * an attach now reaches the guest within a message's latency (the host then
 * attaches at vCPU creation, not at the first KVM_RUN).
 */
function report_loaded(): void {
  if (status && ctl === undefined) Atomics.store(status, 2, 1);
}
let queue: Promise<void> = Promise.resolve();

async function serve(init: vcpu_worker_init): Promise<void> {
  status = new Int32Array(init.status);
  Atomics.store(status, 2, 0);
  ctl = new Int32Array(init.vmcs, init.vmcs_offset, 16);
  vmcs_bytes = new Uint8Array(init.vmcs, init.vmcs_offset, VMCS_SIZE);
  vmcs_u32 = new Uint32Array(init.vmcs, init.vmcs_offset, VMCS_SIZE >> 2);
  cpu ??= await import("./runner.ts");
  if (image === undefined) {
    image_urls = [...init.images];
    image = import_image(image_urls, instance);
    import_spare();
  }
  cpu.cpu_init(init.vmcs, init.vmcs_offset, init.port);
  let images: Record<string, unknown>[];
  try {
    images = await image;
  } catch (e) {
    cpu.cpu_start_failed(e);
    init.port.close();
    real_close();
    return;
  }
  // The spare instance, if still importing, finishes first. An import makes
  // progress only while no guest runs, so it would otherwise evaluate its top
  // level at this guest's release, before the release has run the guest's
  // last promise callbacks: as guest code, its system calls refused.
  if (spare) await spare.catch(() => {});
  let why = "vCPU worker ended while the vCPU was still in use";
  // What the guest changes in `globalThis` is undone at its release. The
  // restore leaves it as it was taken, so the last one stands unless an image
  // import (whose top level may set globals) finished since.
  if (globals_stale) {
    globals_at_start = Object.getOwnPropertyDescriptors(globalThis);
    globals_stale = false;
  }
  // From here on only guest code runs: host-only operations are refused.
  (globalThis as { __KVM_GUEST_RUNNING__?: boolean }).__KVM_GUEST_RUNNING__ = true;
  let released = false;
  try {
    cpu.cpu_run(images);
    released = Atomics.load(ctl, VMCS_CTL_KILL) === VMCS_KILL_RELEASE;
  } catch (e) {
    why = `vCPU worker died: ${text_of(e)}`;
  } finally {
    if (!released) {
      mark_dead(why);
      init.port.close();
      real_close();
    }
  }
  if (!released) return;
  release(init);
}

/** Forgets the VM just served and readies a fresh image instance for the next. */
function release(init: vcpu_worker_init): void {
  // The guest has unwound: nothing here touches the vCPU's VMCS or its VM
  // again, so the host that waits in destroy() can go on at once.
  const old = ctl!;
  ctl = vmcs_bytes = vmcs_u32 = undefined;
  Atomics.store(old, VMCS_CTL_WORKER_STATE, WORKER_RELEASED);
  Atomics.notify(old, VMCS_CTL_WORKER_STATE);
  cpu!.cpu_release();
  init.port.close();
  const forgotten = forget_guest();
  if (image_reusable()) {
    // Nothing a fresh instance would reset: the next VM keeps this one.
    const same = image!;
    spare = undefined;
    image = forgotten.then(() => same);
  } else {
    const next = spare ?? forgotten.then(() => import_image(image_urls, ++instance));
    spare = undefined;
    image = forgotten.then(() => next);
    import_spare();
  }
  // The host takes another worker instead; a vCPU already waiting for this
  // one gets the failure as a failed image load.
  image.then(report_loaded, () => {
    if (status) Atomics.store(status, 0, 1);
  });
}

/**
 * Whether every image module keeps no state of its own (`image_state.ts`):
 * decided once the first instance has loaded (or at the first release).
 */
let reusable: boolean | undefined;
/** The host's verdict word for the image, shared by its workers (`image_verdict()`). */
let verdict: Int32Array | undefined;
function image_reusable(): boolean {
  if (reusable === undefined) {
    const known = verdict ? Atomics.load(verdict, 0) : 0;
    reusable = known !== 0 ? known === IMAGE_STATELESS : image_urls.every((url) => {
      // Unreadable source (no read permission, not a file) counts as state.
      const src = read_source(url);
      return src !== undefined && !image_has_own_state(src);
    });
    if (verdict) Atomics.store(verdict, 0, reusable ? IMAGE_STATELESS : IMAGE_STATEFUL);
    // The host need not retire this worker to bound its instances.
    if (reusable && status) Atomics.store(status, 1, 1);
  }
  return reusable;
}

/**
 * Imports the instance after {@linkcode image} once that one is ready,
 * unless the image keeps no state of its own: then no other instance is
 * ever needed.
 */
function import_spare(): void {
  const after = image!;
  spare = after.then((loaded) => image_reusable() ? loaded : import_image(image_urls, ++instance));
  // Its failure is reported when it becomes the next vCPU's image.
  spare.catch(() => {});
}

/**
 * Undoes what guest code left in the worker's JavaScript world. Promise
 * callbacks it queued run once the worker's stack is empty, that is after
 * the release; they run first (still as guest code), then its timers are
 * cancelled and `globalThis` restored.
 */
async function forget_guest(): Promise<void> {
  const cancel = () => {
    for (const id of guest_timers) clearTimeout(id);
    guest_timers.clear();
  };
  cancel();
  // The settling of an `Atomics.waitAsync()` is a task: it comes after every
  // queued promise callback. A timer would too, but costs a millisecond or
  // more; a message would load Deno's streams (20 ms) in a worker that never
  // posted one.
  const word = new Int32Array(new SharedArrayBuffer(4));
  const settled = Atomics.waitAsync(word, 0, 0).value;
  Atomics.notify(word, 0);
  await settled;
  cancel();
  (globalThis as { __KVM_GUEST_RUNNING__?: boolean }).__KVM_GUEST_RUNNING__ = false;
  restore_globals();
  vcpu_worker_reused();
}
