// SPDX-License-Identifier: GPL-2.0-only
/**
 * Expected failures (kselftest's XFAIL) of ported selftests on the real
 * `/dev/kvm`, where the host runs an older kernel than the one the port
 * follows. The ports track the newest kvm-x86 selftests, which assert the
 * newest KVM's behaviour; upstream only ever runs them against the matching
 * kernel, so on an older host some assertions fail for a reason that is not a
 * bug of this project or of the host. The tests stay faithful to upstream;
 * the selftest runner and the `deno test` adapter report such a failure as
 * `XFAIL` with its reason instead of a failure.
 *
 * An entry is deliberately narrow: one program, one backend, the exact
 * assertion message, and kernels up to a version. Any other failure of the
 * same program, the same failure on the simulator, or on a newer kernel, is a
 * failure as usual.
 *
 * @module
 */

/** One known difference between the host kernel and the kernel the port follows. */
export interface known_host_failure {
  /** The program, as kselftest names it (`set_sregs_test`). */
  program: string;
  /** The backend on which it is expected (always the real kernel: `kvm`). */
  backend: string;
  /** Text the failure output must contain (the assertion's message). */
  message: string;
  /** The newest host kernel `[major, minor]` known to behave this way. */
  through_kernel: readonly [number, number];
  /** Why it fails: printed after `XFAIL`. */
  reason: string;
  /**
   * Assertions that only restate the same difference once `message` has
   * failed in the process (C would have stopped at the first): XFAIL then
   * too, and only then. An assertion is one XFAIL and the program goes on.
   */
  consequences?: readonly string[];
}

/** The known differences. Add one only with the kernel change that explains it. */
export const KNOWN_HOST_FAILURES: readonly known_host_failure[] = [
  {
    program: "set_sregs_test",
    backend: "kvm",
    message: "KVM allowed invalid efer bit",
    through_kernel: [6, 18],
    reason: "host KVM's KVM_SET_SREGS does not check EFER against guest CPUID " +
      "(newer kvm-x86 rejects it; the port asserts the newer behaviour)",
    // TEST_INVALID_SREG_BIT's sanity check then finds the accepted bit set.
    consequences: ["KVM modified sregs"],
  },
  {
    program: "set_sregs_test",
    backend: "kvm",
    message: "KVM allowed invalid cr4 bit",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm takes CR4 bits the guest CPUID lacks (UMIP, PKE, ...) in " +
      "KVM_SET_SREGS; kvm_is_valid_cr4() refuses them (docs/fidelity.md, ref-sregs-cpuid)",
    consequences: ["KVM modified sregs"],
  },
  {
    program: "set_memory_region_test",
    backend: "kvm",
    message: "Wanted KVM exit reason: 17 (INTERNAL_ERROR), got: 8 (SHUTDOWN)",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm turns an exception whose IDT gate is in MMIO into a triple fault " +
      "(SHUTDOWN, also with raw guest code); VMX and SVM report KVM_INTERNAL_ERROR_DELIVERY_EV " +
      "since 'KVM: x86: Add emulation status for unhandleable vectoring' (6.14)",
  },
  {
    program: "cpuid_test",
    backend: "kvm",
    message: "CPUID 0x1.0 differ",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm clears CPUID.1 ECX/EDX features in KVM_SET_CPUID2 that " +
      "KVM_GET_SUPPORTED_CPUID reports (SSE3..AVX, HTT); upstream KVM keeps what userspace set",
  },
  {
    program: "feature_msrs_test",
    backend: "kvm",
    message: " for quirked MSR 0x",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm starts feature MSRs (UCODE_REV, ARCH_CAPABILITIES) at 0; " +
      "upstream KVM stuffs them with KVM's configuration while " +
      "KVM_X86_QUIRK_STUFF_FEATURE_MSRS is enabled (SVM's UCODE_REV: 0x01000065)",
    // Its KVM_SET_CPUID2 also drops ARCH_CAPABILITIES from the guest CPUID,
    // so the MSR cannot be set back to KVM's value.
    consequences: ["KVM_SET_MSRS failed on MSR 0x10a"],
  },
  {
    program: "msrs_test",
    backend: "kvm",
    message: "from RDMSR(0x1a0), got 0x1",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm resets IA32_MISC_ENABLE to FAST_STRING (0x1); the kvm-x86 the port " +
      "follows resets it to PEBS_UNAVAIL | BTS_UNAVAIL (0x1800) on every vendor",
  },
  {
    program: "tsc_msrs_test",
    backend: "kvm",
    message: "(rounded_host_rdmsr(v, MSR_IA32_TSC) != val)",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm does not start a new vCPU's TSC at 0 (upstream: " +
      "kvm_synchronize_tsc(vcpu, NULL) at vCPU creation writes 0)",
    // The guest then reads the same TSC.
    consequences: ["(rounded_rdmsr(MSR_IA32_TSC) != val)"],
  },
];

/**
 * The kernel's `[major, minor]` from a release string such as `6.18.44-fc`.
 *
 * @param release `uname -r`
 * @returns the version, or `null` when it does not parse
 */
export function kernel_version(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** `uname -r` of the host, or "" without `--allow-sys`. */
export function host_kernel_release(): string {
  try {
    return Deno.osRelease();
  } catch {
    return "";
  }
}

/**
 * The known difference that explains a failed program, if any.
 *
 * @param program the program name (a leading `./` and a `.ts` suffix are ignored)
 * @param backend the backend it ran on
 * @param output what it printed (or the failure's reason)
 * @param release the host's `uname -r`
 * @returns the matching entry, or `undefined` for an unexpected failure
 */
export function expected_host_failure(
  program: string,
  backend: string,
  output: string,
  release: string = host_kernel_release(),
): known_host_failure | undefined {
  const name = program.replace(/^\.\//, "").replace(/\.ts$/, "");
  const v = kernel_version(release);
  if (v === null) return undefined;
  return KNOWN_HOST_FAILURES.find((k) =>
    k.program === name && k.backend === backend &&
    (output.includes(k.message) ||
      (fired.has(k) && (k.consequences ?? []).some((c) => output.includes(c)))) &&
    (v[0] < k.through_kernel[0] || (v[0] === k.through_kernel[0] && v[1] <= k.through_kernel[1]))
  );
}

/** The entries whose main assertion failed in this process (see `consequences`). */
const fired = new Set<known_host_failure>();

/**
 * Records that an entry's assertion failed here, so that its consequences
 * count as the same XFAIL (`lib/assert.ts` calls it).
 *
 * @param k the entry that explained a failure
 */
export function host_failure_fired(k: known_host_failure): void {
  fired.add(k);
}

/** A program a host cannot run at all: it would hang, not fail (so no XFAIL can cover it). */
export interface known_host_skip {
  /** The program, as kselftest names it. */
  program: string;
  /** The backend (the real kernel: `kvm`). */
  backend: string;
  /** The KVM vendor module behind `/dev/kvm` (`/sys/module/kvm_*`). */
  vendor_module: string;
  /** One harness test (`fixture.test`) instead of the whole program. */
  test?: string;
  /** The newest host kernel `[major, minor]` known to behave this way. */
  through_kernel: readonly [number, number];
  /** Why: printed as kselftest's skip reason. */
  reason: string;
}

/** The programs known hosts cannot run. Add one only with the host behaviour that explains it. */
export const KNOWN_HOST_SKIPS: readonly known_host_skip[] = [
  {
    program: "kvm_pv_test",
    backend: "kvm",
    vendor_module: "kvm_pvm",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm never completes the guest's VMCALL of KVM_HC_KICK_CPU with the " +
      "PV features disabled (also with raw guest code); upstream returns -KVM_ENOSYS",
  },
  {
    program: "fix_hypercall_test",
    test: "fix_hypercall.enable_quirk",
    backend: "kvm",
    vendor_module: "kvm_pvm",
    through_kernel: [6, 18],
    reason: "host's kvm_pvm never completes the guest's hypercall instruction of the other " +
      "vendor (VMCALL on AMD), which KVM_X86_QUIRK_FIX_HYPERCALL_INSN has upstream patch and run",
  },
];

/** The KVM vendor module serving `/dev/kvm` (`kvm_intel`, `kvm_amd`, `kvm_pvm`), or "". */
export function host_kvm_vendor_module(): string {
  try {
    for (const e of Deno.readDirSync("/sys/module")) {
      if (e.name.startsWith("kvm_")) return e.name;
    }
  } catch {
    // No sysfs, or no read permission: unknown.
  }
  return "";
}

/**
 * The known reason a program cannot run on this host, if any: the harness
 * skips it before `main` (kselftest's skip line, exit 4) instead of letting
 * it hang until the runner's timeout.
 *
 * @param program the program name
 * @param backend the backend it would run on
 * @param test a harness test's full name, or `undefined` for the whole program
 * @param vendor_module the host's KVM vendor module
 * @param release the host's `uname -r`
 * @returns the matching entry, or `undefined`
 */
export function expected_host_skip(
  program: string,
  backend: string,
  test?: string,
  vendor_module: string = backend === "kvm" ? host_kvm_vendor_module() : "",
  release: string = host_kernel_release(),
): known_host_skip | undefined {
  const name = program.replace(/^\.\//, "").replace(/\.ts$/, "");
  const v = kernel_version(release);
  if (v === null) return undefined;
  return KNOWN_HOST_SKIPS.find((k) =>
    k.program === name && k.test === test && k.backend === backend &&
    k.vendor_module === vendor_module &&
    (v[0] < k.through_kernel[0] || (v[0] === k.through_kernel[0] && v[1] <= k.through_kernel[1]))
  );
}
