// SPDX-License-Identifier: GPL-2.0-only
/**
 * Which kind of process (or thread) this code is running in.
 *
 * A C selftest is always one process that the harness forks. A TypeScript
 * selftest module is loaded in four situations, and a few SDK behaviours depend
 * on which one it is:
 *
 * - **standalone** (`deno run x86/foo_test.ts`): the harness parent, printing TAP;
 * - **harness child**: the process the harness re-executes to run one test, the
 *   analog of the C harness's `fork()` (see {@linkcode harness_child_request});
 * - **deno test**: tests run in-process, and `exit()` must not end the test
 *   runner (see {@linkcode in_deno_test});
 * - **vCPU worker**: a Worker that imports the test module for its guest code;
 *   test registration and `main` must be inert there (see
 *   {@linkcode in_guest_worker}).
 *
 * @module
 */

/** The environment variable by which the harness parent names the test a child runs. */
export const HARNESS_CHILD_ENV = "KSELFTEST_HARNESS_CHILD";

/** What the harness parent asks a re-executed child to do. */
export interface harness_child_request {
  /** Index of the fixture in registration order (0 is `global`). */
  fixture: number;
  /** Index of the variant in the fixture, or 0 when it has none. */
  variant: number;
  /** Index of the test in the fixture. */
  test: number;
  /** Path of the file standing for the C harness's MAP_SHARED results page. */
  results: string;
  /**
   * Set for a test server: the Unix socket the parent sends the tests to
   * run on, one after another (fixture, variant and test are then -1).
   */
  serve?: string;
}

/**
 * True in a Worker thread, where guest code runs: the test module is imported
 * there only for its guest functions, so nothing may register or run tests.
 * A worker may also announce itself with `globalThis.__KVM_GUEST_WORKER__ = true`
 * before importing the test module.
 *
 * @returns whether this code runs in a worker
 */
export function in_guest_worker(): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; __KVM_GUEST_WORKER__?: unknown };
  return typeof g.WorkerGlobalScope !== "undefined" || g.__KVM_GUEST_WORKER__ === true;
}

/**
 * True in a simulated vCPU's worker (`sim/cpu/worker.ts` sets
 * `globalThis.__KVM_GUEST_WORKER__` before it imports the guest image), where
 * only guest code runs. Other workers (the differential checker's) are host
 * threads and may make system calls.
 *
 * @returns whether this code runs on a simulated vCPU
 */
export function in_vcpu_worker(): boolean {
  return (globalThis as { __KVM_GUEST_WORKER__?: unknown }).__KVM_GUEST_WORKER__ === true;
}

/**
 * True once a vCPU worker runs guest code (`sim/cpu/worker.ts` sets
 * `globalThis.__KVM_GUEST_RUNNING__` after the guest image loaded): from
 * then on, host-only operations are refused.
 *
 * @returns whether this code runs as guest code on a simulated vCPU
 */
export function in_guest_code(): boolean {
  return (globalThis as { __KVM_GUEST_RUNNING__?: unknown }).__KVM_GUEST_RUNNING__ === true;
}

/**
 * The query parameter a pooled vCPU worker adds to the guest image's module
 * URLs when it imports them again for another VM (`?kvm_image_instance=N`):
 * a fresh instance of the test module, so guest code never sees module state
 * a previous VM left. Call sites and stack frames drop it
 * (`include/linux/stringify.ts`), so keys and messages name the module file.
 */
export const IMAGE_INSTANCE_PARAM = "kvm_image_instance";

const vcpu_worker_reuse_handlers: (() => void)[] = [];

/**
 * Registers what a vCPU worker must forget before it serves another vCPU.
 * A worker is kept across VMs (`sim/cpu/vcpu_thread.ts` pools them), and the
 * SDK modules it imported once stay loaded; per-VM state they cache on the
 * guest side (what they read from one VM's memory) would otherwise be seen
 * by the next VM.
 *
 * @param fn called in the worker each time it attaches to a new vCPU after the first
 */
export function on_vcpu_worker_reuse(fn: () => void): void {
  vcpu_worker_reuse_handlers.push(fn);
}

/** Runs the {@linkcode on_vcpu_worker_reuse} handlers (`sim/cpu/worker.ts`, at each reuse). */
export function vcpu_worker_reused(): void {
  for (const fn of vcpu_worker_reuse_handlers) fn();
}

/**
 * Thrown when guest code calls something only the host process can do: a
 * system call, `exit()`, `TEST_ASSERT()`. The call does not happen; on the
 * vCPU the throw is a guest crash, so `KVM_RUN` fails the test with this
 * message and the guest stack.
 */
export class HostOnlyError extends Error {
  /** The host-only operation that was called. */
  readonly operation: string;

  /**
   * @param operation what was called, as C names it (`ioctl()`, `exit()`)
   * @param hint what guest code uses instead
   */
  constructor(operation: string, hint: string) {
    super(`${operation} is host-only and cannot run in guest code (a vCPU); ${hint}`);
    this.name = "HostOnlyError";
    this.operation = operation;
  }
}

/**
 * Refuses a host-only operation in guest code.
 *
 * @param operation what was called
 * @param hint what guest code uses instead
 * @throws HostOnlyError when guest code runs on a simulated vCPU
 */
export function host_only(operation: string, hint: string): void {
  if (in_guest_code()) throw new HostOnlyError(operation, hint);
}

/**
 * Whether a permission is already granted, without prompting: SDK code that only
 * peeks at the environment or at source files must not ask the user.
 *
 * @param desc the permission
 * @returns whether it is granted
 */
export function permission_granted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/**
 * C `getenv()`, without prompting for a permission that was not granted
 * (then the variable reads as unset).
 *
 * @param name the variable
 * @returns its value, or `undefined` when unset
 */
export function getenv(name: string): string | undefined {
  if (!permission_granted({ name: "env", variable: name })) return undefined;
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function read_child_request(): harness_child_request | undefined {
  if (in_guest_worker()) return undefined;
  if (!permission_granted({ name: "env", variable: HARNESS_CHILD_ENV })) return undefined;
  let text: string | undefined;
  try {
    text = Deno.env.get(HARNESS_CHILD_ENV);
    // A forked C child does not hand its harness role down to programs it
    // executes; neither may the variable.
    if (text !== undefined) Deno.env.delete(HARNESS_CHILD_ENV);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as harness_child_request;
    if (
      Number.isInteger(r.fixture) && Number.isInteger(r.variant) && Number.isInteger(r.test) &&
      typeof r.results === "string" && (r.serve === undefined || typeof r.serve === "string")
    ) {
      return r;
    }
  } catch {
    // Malformed: behave as a standalone run.
  }
  return undefined;
}

const child_request = read_child_request();

/**
 * In a harness child, the test it must run; `undefined` everywhere else.
 *
 * @returns the request read (once, at load) from {@linkcode HARNESS_CHILD_ENV}
 */
export function harness_child_request(): harness_child_request | undefined {
  return child_request;
}

/**
 * True in a harness test server: the child that runs a standalone program's
 * tests one after another, each in a fresh instance of the test module
 * (`include/kselftest_harness.ts`, "Process model"). There, as under
 * `deno test`, `exit()` ends the test, not the process.
 *
 * @returns whether this process serves tests
 */
export function in_harness_server(): boolean {
  return child_request?.serve !== undefined;
}

let deno_test_mode: boolean | undefined;

/**
 * True when this isolate was started by `deno test`.
 *
 * `ksft_main()` decides it from documented facts about its module: under
 * `deno test`, `Deno.mainModule` is the test module itself but its
 * `import.meta.main` is false; under `deno run` it is true. Code that runs
 * without `ksft_main` (plain unit tests) falls back to the runtime's test
 * registration function, which `deno run` replaces with a no-op named
 * `noopTest` (checked with Deno 2.9.6).
 *
 * @returns whether tests run in-process under `deno test`
 */
export function in_deno_test(): boolean {
  if (deno_test_mode !== undefined) return deno_test_mode;
  if (child_request !== undefined) return false;
  const test = (Deno as { test?: { name?: string } }).test;
  return typeof test === "function" && test.name !== "noopTest";
}

/**
 * Record the mode `ksft_main()` detected for the test module.
 *
 * @param on whether the module runs under `deno test`
 */
export function set_deno_test_mode(on: boolean): void {
  deno_test_mode = on;
}

/** The clock a parent keeps on a child process (a test's or a program's timeout). */
export interface child_timeout {
  /** Whether the timeout expired and the child was SIGKILLed. */
  readonly timed_out: boolean;
  /** Stops the clock (the child ended, or the parent waits no more). */
  done(): void;
}

/**
 * SIGKILLs the child `child()` names once `seconds` have passed, as the C
 * harness and kselftest's runner do with a test that overruns its timeout.
 * `child` is read when the clock fires, so a parent that replaces the
 * process it watches (a restarted test server) kills the current one.
 *
 * @param child the process to kill, if any, when the time is up
 * @param seconds the timeout
 * @returns the clock
 */
export function kill_at_timeout(
  child: () => Deno.ChildProcess | undefined,
  seconds: number,
): child_timeout {
  let timed_out = false;
  const timer = setTimeout(() => {
    timed_out = true;
    try {
      child()?.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, seconds * 1000);
  return {
    get timed_out() {
      return timed_out;
    },
    done: () => clearTimeout(timer),
  };
}
