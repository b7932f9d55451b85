// SPDX-License-Identifier: GPL-2.0-only
import { assert, assertEquals, assertThrows } from "@std/assert";
import { format_struct, type trace_class, trace_parse } from "./trace.ts";
import { kvm_userspace_memory_region } from "../linux/kvm.ts";

const here = new URL(".", import.meta.url);

async function run(
  program: string,
  env: Record<string, string>,
): Promise<{ code: number; lines: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`testdata/${program}`, here).pathname],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stderr).split("\n")
    .filter((l) => l.startsWith("kvm_trace: "))
    // fds differ between runs and backends; what was asked and answered does not.
    .map((l) => l.replace(/^kvm_trace: /, "").replace(/ fd=\d+/, ""));
  return { code: out.code, lines };
}

/** The index of each pattern in `lines`, matched in order (a subsequence). */
function subsequence(lines: string[], patterns: RegExp[]): number[] {
  const at: number[] = [];
  let i = 0;
  for (const p of patterns) {
    while (i < lines.length && !p.test(lines[i]!)) i++;
    assert(
      i < lines.length,
      `no line matches ${p} after line ${at.at(-1) ?? 0}:\n` + lines.join("\n"),
    );
    at.push(i++);
  }
  return at;
}

Deno.test("the trace of a small TD program is the expected sequence, in order", async () => {
  const { code, lines } = await run("trace_td.ts", {
    KVM_SELFTESTS_BACKEND: "sim",
    KVM_SELFTESTS_TRACE: "all",
  });
  assertEquals(code, 0);
  const at = subsequence(lines, [
    /^ioctl KVM_CREATE_VM type=5 = \d+$/,
    /^seamcall TDH\.MNG\.CREATE -> TDX_SUCCESS$/,
    /^seamcall TDH\.MNG\.KEY\.CONFIG -> TDX_SUCCESS$/,
    /^seamcall TDH\.MNG\.INIT -> TDX_SUCCESS$/,
    /^ioctl KVM_MEMORY_ENCRYPT_OP KVM_TDX_INIT_VM \{id=1 .*\} = 0$/,
    /^seamcall TDH\.VP\.CREATE -> TDX_SUCCESS$/,
    /^seamcall TDH\.VP\.INIT -> TDX_SUCCESS$/,
    /^ioctl KVM_MEMORY_ENCRYPT_OP KVM_TDX_INIT_VCPU \{id=2 .*\} = 0$/,
    /^seamcall TDH\.MEM\.PAGE\.ADD gpa=0x[0-9a-f]+000 sha256=[0-9a-f]{64} -> TDX_SUCCESS$/,
    /^seamcall TDH\.MR\.EXTEND gpa=0x[0-9a-f]+000 chunks=16 -> TDX_SUCCESS$/,
    /^ioctl KVM_MEMORY_ENCRYPT_OP KVM_TDX_INIT_MEM_REGION \{id=3 flags=1 .*\} = 0$/,
    /^seamcall TDH\.MR\.FINALIZE mrtd=[0-9a-f]{96} -> TDX_SUCCESS$/,
    /^ioctl KVM_MEMORY_ENCRYPT_OP KVM_TDX_FINALIZE_VM \{id=4 .*\} = 0$/,
    /^tdvmcall GetTdVmCallInfo r10=0x0 r11=0x10000 r12=0x0 /,
    /^tdvmcall GetTdVmCallInfo -> TDG_VP_VMCALL_SUCCESS$/,
    /^tdcall TDG\.VP\.INFO rcx=.* -> TDX_SUCCESS$/,
    /^tdvmcall #VE\.RequestMMIO r10=0x0 r11=0x30 r12=0x8 r13=0x1 /,
    /^ioctl KVM_RUN = 0$/,
    /^exit KVM_EXIT_MMIO mmio=\{phys_addr=0x[0-9a-f]+ data=\[.*\] len=8 is_write=1\}$/,
    /^tdvmcall #VE\.RequestMMIO -> TDG_VP_VMCALL_SUCCESS$/,
  ]);
  // GetTdVmCallInfo(0) is answered by KVM: nothing leaves the kernel in between.
  assertEquals(at[14]! - at[13]!, 1);
  // Before the first KVM_RUN returns, the guest made exactly those calls.
  const firstRun = at[17]!;
  assertEquals(
    lines.slice(at[12]! + 1, firstRun).map((l) => l.split(" ").slice(0, 2).join(" ")),
    [
      "tdvmcall GetTdVmCallInfo",
      "tdvmcall GetTdVmCallInfo",
      "tdcall TDG.VP.INFO",
      "tdvmcall #VE.RequestMMIO",
    ],
  );
});

Deno.test("tracing is off by default: not one trace line", async () => {
  const { code, lines } = await run("trace_td.ts", { KVM_SELFTESTS_BACKEND: "sim" });
  assertEquals(code, 0);
  assertEquals(lines, []);
});

const KVM = (() => {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return true;
  } catch {
    return false;
  }
})();

for (const backend of ["sim", "kvm"]) {
  Deno.test({
    name: `ioctl trace on the ${backend} backend: names, decoded arguments, errno${
      backend === "kvm" && !KVM ? " (skipped: no usable /dev/kvm)" : ""
    }`,
    ignore: backend === "kvm" && !KVM,
    async fn() {
      const { code, lines } = await run("trace_host.ts", {
        KVM_SELFTESTS_BACKEND: backend,
        KVM_SELFTESTS_TRACE: "ioctl",
      });
      assertEquals(code, 0);
      assertEquals(
        lines.map((l) => l.replace(/ \{.*\}/, " {...}").replace(/= [1-9]\d*$/, "= fd")),
        [
          "ioctl KVM_GET_API_VERSION = fd",
          "ioctl KVM_CREATE_VM type=0 = fd",
          "ioctl KVM_CREATE_VCPU id=4294967295 = -1 errno=22 (EINVAL)",
          "ioctl KVM_CREATE_VCPU id=0 = fd",
          "ioctl KVM_GET_REGS {...} = 0",
        ],
      );
      assert(/KVM_GET_REGS \{rax=0x0 .* rip=0xfff0 rflags=0x2\}/.test(lines[4]!), lines[4]);
    },
  });
}

Deno.test("an unknown trace class is an error that lists the known ones", () => {
  const out = {} as Record<trace_class, boolean>;
  trace_parse("ioctl, exit", out);
  assertEquals(out.ioctl && out.exit && !out.tdvmcall, true);
  trace_parse("all", out);
  assertEquals(Object.values(out).every((v) => v), true);
  assertThrows(() => trace_parse("ioctls", out), Error, "unknown class 'ioctls' (known: ioctl,");
});

Deno.test("format_struct decodes each member from the layout engine's definition", () => {
  const r = kvm_userspace_memory_region.alloc();
  r.slot = 3;
  r.guest_phys_addr = 0x100000n;
  r.memory_size = 0x2000n;
  assertEquals(
    format_struct(kvm_userspace_memory_region, r.$bytes),
    "{slot=3 flags=0 guest_phys_addr=0x100000 memory_size=0x2000 userspace_addr=0x0}",
  );
});
