// SPDX-License-Identifier: GPL-2.0-only
// gcc is the oracle of the layout engine and of the uAPI modules: one C
// program prints sizeof, offsetof and member sizes of every exported struct,
// every exported constant and ioctl number the system headers (or the newer
// definitions below) know, and glibc's errno texts; the tests compare each
// with what the TypeScript modules compute.
import { assert, assertEquals } from "@std/assert";
import { c_declarations, type CType, member_size, offsetof, type RecordType } from "./layout.ts";
import * as errno from "../linux/errno.ts";
import * as falloc from "../linux/falloc.ts";
import * as fcntl from "../linux/fcntl.ts";
import { _IOC_TYPE } from "../linux/ioctl.ts";
import * as ioctl from "../linux/ioctl.ts";
import * as kvm from "../linux/kvm.ts";
import * as kvm_para from "../linux/kvm_para.ts";
import * as mman from "../linux/mman.ts";
import * as vmx from "../asm/vmx.ts";

const MODULES: Record<string, Record<string, unknown>> = {
  "linux/kvm.ts": kvm,
  "linux/kvm_para.ts": kvm_para,
  "linux/errno.ts": errno,
  "linux/mman.ts": mman,
  "linux/fcntl.ts": fcntl,
  "linux/falloc.ts": falloc,
  "linux/ioctl.ts": ioctl,
  "asm/vmx.ts": vmx,
};

const SYS_KVM_H = "/usr/include/linux/kvm.h";
const SYS_ASM_KVM_H = "/usr/include/x86_64-linux-gnu/asm/kvm.h";

/**
 * What the system's (older) headers lack, written from the newest kvm-x86
 * uAPI. Each block is guarded by a macro that came with it, so newer
 * system headers take precedence. `struct kvm_run` is always this newest
 * copy; the system's own is renamed `kvm_run_sys` and checked too, for the
 * members it has.
 */
const PRELUDE = String.raw`
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <linux/mman.h>
#include <linux/falloc.h>
#include <asm/vmx.h>
#include <linux/memfd.h>
#define kvm_run kvm_run_sys
#define kvm_sev_cmd kvm_sev_cmd_sys
#define kvm_sev_launch_start kvm_sev_launch_start_sys
#define kvm_sev_launch_update_data kvm_sev_launch_update_data_sys
#define kvm_sev_launch_secret kvm_sev_launch_secret_sys
#define kvm_sev_launch_measure kvm_sev_launch_measure_sys
#define kvm_sev_dbg kvm_sev_dbg_sys
#define kvm_sev_attestation_report kvm_sev_attestation_report_sys
#define kvm_sev_send_start kvm_sev_send_start_sys
#define kvm_sev_send_update_data kvm_sev_send_update_data_sys
#define kvm_sev_receive_start kvm_sev_receive_start_sys
#define kvm_sev_receive_update_data kvm_sev_receive_update_data_sys
#include <linux/kvm.h>
#undef kvm_run
#undef kvm_sev_cmd
#undef kvm_sev_launch_start
#undef kvm_sev_launch_update_data
#undef kvm_sev_launch_secret
#undef kvm_sev_launch_measure
#undef kvm_sev_dbg
#undef kvm_sev_attestation_report
#undef kvm_sev_send_start
#undef kvm_sev_send_update_data
#undef kvm_sev_receive_start
#undef kvm_sev_receive_update_data
#include <linux/kvm_para.h>

#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#define KVM_MEM_GUEST_MEMFD (1UL << 2)
#define KVM_CAP_USER_MEMORY2 231
#endif

#ifndef KVM_SET_MEMORY_ATTRIBUTES
struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};
#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif

#ifndef KVM_CREATE_GUEST_MEMFD
struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP (1ULL << 0)
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1)
#define KVM_CAP_GUEST_MEMFD_FLAGS 244
#endif

#ifndef KVM_PRE_FAULT_MEMORY
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#define KVM_CAP_PRE_FAULT_MEMORY 236
#endif

#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_LOONGARCH_IOCSR 38
#define KVM_EXIT_MEMORY_FAULT 39
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ULL << 3)
#define KVM_CAP_MEMORY_FAULT_INFO 232
#define KVM_CAP_VM_TYPES 235
#endif

#ifndef KVM_X86_TDX_VM
#define KVM_X86_DEFAULT_VM 0
#define KVM_X86_SW_PROTECTED_VM 1
#define KVM_X86_SEV_VM 2
#define KVM_X86_SEV_ES_VM 3
#define KVM_X86_SNP_VM 4
#define KVM_X86_TDX_VM 5
#define KVM_EXIT_TDX 40
#define KVM_SYSTEM_EVENT_TDX_FATAL 7
#define KVM_EXIT_HYPERCALL_LONG_MODE (1ULL << 0)
#define KVM_TDX_MEASURE_MEMORY_REGION (1ULL << 0)
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
enum kvm_tdx_cmd_id {
	KVM_TDX_CAPABILITIES = 0,
	KVM_TDX_INIT_VM,
	KVM_TDX_INIT_VCPU,
	KVM_TDX_INIT_MEM_REGION,
	KVM_TDX_FINALIZE_VM,
	KVM_TDX_GET_CPUID,
	KVM_TDX_CMD_NR_MAX,
};
struct kvm_tdx_cmd {
	__u32 id;
	__u32 flags;
	__u64 data;
	__u64 hw_error;
};
struct kvm_tdx_capabilities {
	__u64 supported_attrs;
	__u64 supported_xfam;
	__u64 kernel_tdvmcallinfo_1_r11;
	__u64 user_tdvmcallinfo_1_r11;
	__u64 kernel_tdvmcallinfo_1_r12;
	__u64 user_tdvmcallinfo_1_r12;
	__u64 reserved[250];
	struct kvm_cpuid2 cpuid;
};
struct kvm_tdx_init_vm {
	__u64 attributes;
	__u64 xfam;
	__u64 mrconfigid[6];
	__u64 mrowner[6];
	__u64 mrownerconfig[6];
	__u64 reserved[12];
	struct kvm_cpuid2 cpuid;
};
struct kvm_tdx_init_mem_region {
	__u64 source_addr;
	__u64 gpa;
	__u64 nr_pages;
};
#endif

#ifndef KVM_X86_SEV_VMSA_FEATURES
struct kvm_sev_init {
	__u64 vmsa_features;
	__u32 flags;
	__u16 ghcb_version;
	__u16 pad1;
	__u32 pad2[8];
};
#define KVM_SEV_INIT2 22
#endif

#ifndef KVM_SEV_SNP_PAGE_TYPE_NORMAL
#define KVM_SEV_SNP_LAUNCH_START 100
#define KVM_SEV_SNP_LAUNCH_UPDATE 101
#define KVM_SEV_SNP_LAUNCH_FINISH 102
struct kvm_sev_snp_launch_start {
	__u64 policy;
	__u8 gosvw[16];
	__u16 flags;
	__u8 pad0[6];
	__u64 pad1[4];
};
struct kvm_sev_snp_launch_update {
	__u64 gfn_start;
	__u64 uaddr;
	__u64 len;
	__u8 type;
	__u8 pad0;
	__u16 flags;
	__u32 pad1;
	__u64 pad2[4];
};
struct kvm_sev_snp_launch_finish {
	__u64 id_block_uaddr;
	__u64 id_auth_uaddr;
	__u8 id_block_en;
	__u8 auth_key_en;
	__u8 vcek_disabled;
	__u8 host_data[32];
	__u8 pad0[3];
	__u16 flags;
	__u64 pad1[4];
};
#endif

#ifndef KVM_EXIT_SNP_REQ_CERTS
#define KVM_EXIT_ARM_SEA 41
#define KVM_EXIT_ARM_LDST64B 42
#define KVM_EXIT_SNP_REQ_CERTS 43
#define KVM_SEV_SNP_ENABLE_REQ_CERTS 103
struct kvm_exit_snp_req_certs {
	__u64 gpa;
	__u64 npages;
	__u64 ret;
};
#endif

/* Newer kernels name the padding of the SEV structs. */
struct kvm_sev_cmd {
	__u32 id;
	__u32 pad0;
	__u64 data;
	__u32 error;
	__u32 sev_fd;
};
struct kvm_sev_launch_start {
	__u32 handle;
	__u32 policy;
	__u64 dh_uaddr;
	__u32 dh_len;
	__u32 pad0;
	__u64 session_uaddr;
	__u32 session_len;
	__u32 pad1;
};
struct kvm_sev_launch_update_data {
	__u64 uaddr;
	__u32 len;
	__u32 pad0;
};
struct kvm_sev_launch_secret {
	__u64 hdr_uaddr;
	__u32 hdr_len;
	__u32 pad0;
	__u64 guest_uaddr;
	__u32 guest_len;
	__u32 pad1;
	__u64 trans_uaddr;
	__u32 trans_len;
	__u32 pad2;
};
struct kvm_sev_launch_measure {
	__u64 uaddr;
	__u32 len;
	__u32 pad0;
};
struct kvm_sev_dbg {
	__u64 src_uaddr;
	__u64 dst_uaddr;
	__u32 len;
	__u32 pad0;
};
struct kvm_sev_attestation_report {
	__u8 mnonce[16];
	__u64 uaddr;
	__u32 len;
	__u32 pad0;
};
struct kvm_sev_send_start {
	__u32 policy;
	__u32 pad0;
	__u64 pdh_cert_uaddr;
	__u32 pdh_cert_len;
	__u32 pad1;
	__u64 plat_certs_uaddr;
	__u32 plat_certs_len;
	__u32 pad2;
	__u64 amd_certs_uaddr;
	__u32 amd_certs_len;
	__u32 pad3;
	__u64 session_uaddr;
	__u32 session_len;
	__u32 pad4;
};
struct kvm_sev_send_update_data {
	__u64 hdr_uaddr;
	__u32 hdr_len;
	__u32 pad0;
	__u64 guest_uaddr;
	__u32 guest_len;
	__u32 pad1;
	__u64 trans_uaddr;
	__u32 trans_len;
	__u32 pad2;
};
struct kvm_sev_receive_start {
	__u32 handle;
	__u32 policy;
	__u64 pdh_uaddr;
	__u32 pdh_len;
	__u32 pad0;
	__u64 session_uaddr;
	__u32 session_len;
	__u32 pad1;
};
struct kvm_sev_receive_update_data {
	__u64 hdr_uaddr;
	__u32 hdr_len;
	__u32 pad0;
	__u64 guest_uaddr;
	__u32 guest_len;
	__u32 pad1;
	__u64 trans_uaddr;
	__u32 trans_len;
	__u32 pad2;
};

struct kvm_run {
	__u8 request_interrupt_window;
	__u8 immediate_exit;
	__u8 padding1[6];
	__u32 exit_reason;
	__u8 ready_for_interrupt_injection;
	__u8 if_flag;
	__u16 flags;
	__u64 cr8;
	__u64 apic_base;
	union {
		struct { __u64 hardware_exit_reason; } hw;
		struct { __u64 hardware_entry_failure_reason; __u32 cpu; } fail_entry;
		struct { __u32 exception; __u32 error_code; } ex;
		struct { __u8 direction; __u8 size; __u16 port; __u32 count; __u64 data_offset; } io;
		struct { struct kvm_debug_exit_arch arch; } debug;
		struct { __u64 phys_addr; __u8 data[8]; __u32 len; __u8 is_write; } mmio;
		struct { __u64 phys_addr; __u8 data[8]; __u32 len; __u8 is_write; } iocsr_io;
		struct {
			__u64 nr;
			__u64 args[6];
			__u64 ret;
			union { __u32 longmode; __u64 flags; };
		} hypercall;
		struct { __u64 rip; __u32 is_write; __u32 pad; } tpr_access;
		struct { __u8 icptcode; __u16 ipa; __u32 ipb; } s390_sieic;
		__u64 s390_reset_flags;
		struct { __u64 trans_exc_code; __u32 pgm_code; } s390_ucontrol;
		struct { __u32 dcrn; __u32 data; __u8 is_write; } dcr;
		struct { __u32 suberror; __u32 ndata; __u64 data[16]; } internal;
		struct {
			__u32 suberror;
			__u32 ndata;
			__u64 flags;
			union { struct { __u8 insn_size; __u8 insn_bytes[15]; }; };
		} emulation_failure;
		struct { __u64 gprs[32]; } osi;
		struct { __u64 nr; __u64 ret; __u64 args[9]; } papr_hcall;
		struct {
			__u16 subchannel_id;
			__u16 subchannel_nr;
			__u32 io_int_parm;
			__u32 io_int_word;
			__u32 ipb;
			__u8 dequeued;
		} s390_tsch;
		struct { __u32 epr; } epr;
		struct {
			__u32 type;
			__u32 ndata;
			union { __u64 flags; __u64 data[16]; };
		} system_event;
		struct { __u64 addr; __u8 ar; __u8 reserved; __u8 fc; __u8 sel1; __u16 sel2; } s390_stsi;
		struct { __u8 vector; } eoi;
		struct kvm_hyperv_exit hyperv;
		struct { __u64 esr_iss; __u64 fault_ipa; } arm_nisv;
		struct { __u8 error; __u8 pad[7]; __u32 reason; __u32 index; __u64 data; } msr;
		struct kvm_xen_exit xen;
		struct {
			unsigned long extension_id;
			unsigned long function_id;
			unsigned long args[6];
			unsigned long ret[2];
		} riscv_sbi;
		struct {
			unsigned long csr_num;
			unsigned long new_value;
			unsigned long write_mask;
			unsigned long ret_value;
		} riscv_csr;
		struct { __u32 flags; } notify;
		struct { __u64 flags; __u64 gpa; __u64 size; } memory_fault;
		struct {
			__u64 flags;
			__u64 nr;
			union {
				struct { __u64 ret; __u64 data[5]; } unknown;
				struct { __u64 ret; __u64 gpa; __u64 size; } get_quote;
				struct { __u64 ret; __u64 leaf; __u64 r11, r12, r13, r14; } get_tdvmcall_info;
				struct { __u64 ret; __u64 vector; } setup_event_notify;
			};
		} tdx;
		struct { __u64 flags; __u64 esr; __u64 gva; __u64 gpa; } arm_sea;
		struct kvm_exit_snp_req_certs snp_req_certs;
		char padding[256];
	};
	__u64 kvm_valid_regs;
	__u64 kvm_dirty_regs;
	union {
		struct kvm_sync_regs regs;
		char padding[2048];
	} s;
};

#define P(key, fmt, val) printf("%s\t" fmt "\n", key, val)
#define OFF(key, T, d) P(key, "%zu", offsetof(T, d))
#define MSIZE(key, T, d) P(key, "%zu", sizeof(((T *)0)->d))
#define VAL(key, v) P(key, "%llu", (unsigned long long)(v))

int main(void)
{
`;

/**
 * Structs the prelude redeclares in their newest form, with the members the
 * system's copy (renamed `<tag>_sys`) lacks; every other member is checked
 * against both.
 */
const NEWER_THAN_SYSTEM: Record<string, string[]> = {
  kvm_run: ["iocsr_io", "hypercall.flags", "memory_fault", "tdx", "arm_sea", "snp_req_certs"],
  kvm_sev_cmd: ["pad0"],
  kvm_sev_launch_start: ["pad0", "pad1"],
  kvm_sev_launch_update_data: ["pad0"],
  kvm_sev_launch_secret: ["pad0", "pad1", "pad2"],
  kvm_sev_launch_measure: ["pad0"],
  kvm_sev_dbg: ["pad0"],
  kvm_sev_attestation_report: ["pad0"],
  kvm_sev_send_start: ["pad0", "pad1", "pad2", "pad3", "pad4"],
  kvm_sev_send_update_data: ["pad0", "pad1", "pad2"],
  kvm_sev_receive_start: ["pad0", "pad1"],
  kvm_sev_receive_update_data: ["pad0", "pad1", "pad2"],
};

function inSystemStruct(name: string, d: string): boolean {
  return !NEWER_THAN_SYSTEM[name]!.some((n) =>
    d === n || d.startsWith(`${n}.`) || d.startsWith(`${n}[`)
  );
}

/**
 * Enumerators (which `#ifdef` cannot see) to compare: those of the system
 * header with the newest values, and the TDX and newer SEV ids the prelude
 * declares where the system header lacks them.
 */
const ENUMERATORS = [
  "kvm_ioeventfd_flag_nr_datamatch",
  "kvm_ioeventfd_flag_nr_pio",
  "kvm_ioeventfd_flag_nr_deassign",
  "kvm_ioeventfd_flag_nr_virtio_ccw_notify",
  "kvm_ioeventfd_flag_nr_fast_mmio",
  "kvm_ioeventfd_flag_nr_max",
  "KVM_SEV_INIT",
  "KVM_SEV_ES_INIT",
  "KVM_SEV_LAUNCH_START",
  "KVM_SEV_LAUNCH_UPDATE_DATA",
  "KVM_SEV_LAUNCH_UPDATE_VMSA",
  "KVM_SEV_LAUNCH_SECRET",
  "KVM_SEV_LAUNCH_MEASURE",
  "KVM_SEV_LAUNCH_FINISH",
  "KVM_SEV_SEND_START",
  "KVM_SEV_SEND_UPDATE_DATA",
  "KVM_SEV_SEND_UPDATE_VMSA",
  "KVM_SEV_SEND_FINISH",
  "KVM_SEV_RECEIVE_START",
  "KVM_SEV_RECEIVE_UPDATE_DATA",
  "KVM_SEV_RECEIVE_UPDATE_VMSA",
  "KVM_SEV_RECEIVE_FINISH",
  "KVM_SEV_GUEST_STATUS",
  "KVM_SEV_DBG_DECRYPT",
  "KVM_SEV_DBG_ENCRYPT",
  "KVM_SEV_CERT_EXPORT",
  "KVM_SEV_GET_ATTESTATION_REPORT",
  "KVM_SEV_SEND_CANCEL",
  "KVM_SEV_INIT2",
  "KVM_SEV_SNP_LAUNCH_START",
  "KVM_SEV_SNP_LAUNCH_UPDATE",
  "KVM_SEV_SNP_LAUNCH_FINISH",
  "KVM_SEV_SNP_ENABLE_REQ_CERTS",
  "KVM_TDX_CAPABILITIES",
  "KVM_TDX_INIT_VM",
  "KVM_TDX_INIT_VCPU",
  "KVM_TDX_INIT_MEM_REGION",
  "KVM_TDX_FINALIZE_VM",
  "KVM_TDX_GET_CPUID",
  "KVM_TDX_CMD_NR_MAX",
];

/** One value to compare: what TypeScript computed and the C statement that prints gcc's. */
interface Item {
  key: string;
  expected: string;
  c: string;
  /** The item is compared only when gcc prints it (a macro the headers may lack). */
  optional?: boolean;
}

function isRecord(v: unknown): v is RecordType {
  return typeof v === "object" && v !== null &&
    ((v as RecordType).kind === "struct" || (v as RecordType).kind === "union");
}

/** The exported structs of every module, by C tag. */
function exportedRecords(): Map<string, RecordType> {
  const out = new Map<string, RecordType>();
  for (const mod of Object.values(MODULES)) {
    for (const [name, v] of Object.entries(mod)) {
      if (isRecord(v) && v.name === name) out.set(name, v);
    }
  }
  return out;
}

/** Designators of every member of `type`, nested ones included, as C spells them. */
function designators(type: RecordType): { d: string; type: CType }[] {
  const out: { d: string; type: CType }[] = [];
  const visit = (d: string, t: CType) => {
    out.push({ d, type: t });
    if (t.kind === "array") {
      const last = t.flexible ? 1 : t.length - 1;
      visit(`${d}[${Math.max(last, 0)}]`, t.elem);
    } else if (t.kind !== "scalar") {
      members(`${d}.`, t);
    }
  };
  const members = (prefix: string, t: RecordType) => {
    for (const m of t.members) {
      // Anonymous members have no name in C designators.
      if (m.name.startsWith("$")) members(prefix, m.type as RecordType);
      else visit(prefix + m.name, m.type);
    }
  };
  members("", type);
  return out;
}

function structItems(records: Map<string, RecordType>): Item[] {
  const items: Item[] = [];
  for (const [name, rec] of records) {
    const cType = `${rec.kind} ${name}`;
    items.push({ key: `sizeof(${cType})`, expected: `${rec.size}`, c: `sizeof(${cType})` });
    for (const { d, type } of designators(rec)) {
      const cTypes = [cType];
      if (name in NEWER_THAN_SYSTEM) {
        if (inSystemStruct(name, d)) cTypes.push(`struct ${name}_sys`);
      }
      for (const ct of cTypes) {
        items.push({
          key: `offsetof(${ct}, ${d})`,
          expected: `${offsetof(rec, d)}`,
          c: `offsetof(${ct}, ${d})`,
        });
        // sizeof cannot apply to a flexible array member itself.
        if (type.kind === "array" && type.flexible) continue;
        items.push({
          key: `sizeof(((${ct} *)0)->${d})`,
          expected: `${member_size(rec, d)}`,
          c: `sizeof(((${ct} *)0)->${d})`,
        });
      }
    }
  }
  return items;
}

/** Every exported number and bigint constant (ioctl numbers included). */
function constants(): Map<string, number | bigint> {
  const out = new Map<string, number | bigint>();
  for (const mod of Object.values(MODULES)) {
    for (const [name, v] of Object.entries(mod)) {
      if (typeof v === "number" || typeof v === "bigint") out.set(name, v);
    }
  }
  return out;
}

function isIoctl(name: string, v: number | bigint): boolean {
  return typeof v === "number" && name.startsWith("KVM_") && _IOC_TYPE(v) === kvm.KVMIO;
}

function constantItems(): Item[] {
  const enumerators = new Set(ENUMERATORS);
  return [...constants()].map(([name, v]) => ({
    key: name,
    expected: BigInt.asUintN(64, BigInt(v)).toString(),
    c: `(unsigned long long)(${name})`,
    optional: !enumerators.has(name),
  }));
}

function cString(s: string): string {
  return JSON.stringify(s);
}

function program(items: Item[]): string {
  const lines = [PRELUDE];
  for (const it of items) {
    const fmt = it.c.startsWith("sizeof") || it.c.startsWith("offsetof") ? "%zu" : "%llu";
    const print = `\tP(${cString(it.key)}, "${fmt}", ${it.c});`;
    if (it.optional) lines.push(`#ifdef ${it.key}`, print, "#endif");
    else lines.push(print);
  }
  for (let n = 1; n <= errno.EMAXERRNO + 1; n++) {
    lines.push(`\tP("strerror(${n})", "%s", strerror(${n}));`);
    lines.push(`\tP("strerrorname_np(${n})", "%s", strerrorname_np(${n}) ?: "");`);
  }
  lines.push("\treturn 0;", "}", "");
  return lines.join("\n");
}

function errnoItems(): { key: string; expected: string }[] {
  const out = [];
  for (let n = 1; n <= errno.EMAXERRNO + 1; n++) {
    out.push({ key: `strerror(${n})`, expected: errno.strerror(n) });
    out.push({ key: `strerrorname_np(${n})`, expected: errno.strerrorname_np(n) ?? "" });
  }
  return out;
}

async function hasGcc(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("gcc", { args: ["--version"], stdout: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

const GCC = await hasGcc();
const ITEMS = [...structItems(exportedRecords()), ...constantItems()];

let oracle: Promise<Map<string, string>> | undefined;

/** Compiles and runs the program once, for every test of this file. */
function runOracle(): Promise<Map<string, string>> {
  oracle ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "layout_oracle_" });
    try {
      await Deno.writeTextFile(`${dir}/oracle.c`, program(ITEMS));
      const cc = await new Deno.Command("gcc", {
        args: ["-w", "-O0", "-o", `${dir}/oracle`, `${dir}/oracle.c`],
        stderr: "piped",
      }).output();
      if (!cc.success) {
        throw new Error(`gcc failed:\n${new TextDecoder().decode(cc.stderr)}`);
      }
      const run = await new Deno.Command(`${dir}/oracle`, { stdout: "piped" }).output();
      assert(run.success, "the oracle program failed");
      const values = new Map<string, string>();
      for (const line of new TextDecoder().decode(run.stdout).split("\n")) {
        const tab = line.indexOf("\t");
        if (tab > 0) values.set(line.slice(0, tab), line.slice(tab + 1));
      }
      return values;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return oracle;
}

function compare(
  items: { key: string; expected: string; optional?: boolean }[],
  gcc: Map<string, string>,
): string[] {
  const errors: string[] = [];
  for (const it of items) {
    const got = gcc.get(it.key);
    if (got === undefined) {
      if (!it.optional) errors.push(`${it.key}: TS ${it.expected}, gcc printed nothing`);
    } else if (got !== it.expected) {
      errors.push(`${it.key}: TS ${it.expected}, gcc ${got}`);
    }
  }
  return errors;
}

const SKIP_REASON = "skipped: gcc is not installed, and the layout oracle needs it";

/** A test that needs gcc: ignored, with the reason in its name, when gcc is missing. */
function oracleTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: GCC ? name : `${name} (${SKIP_REASON})`, ignore: !GCC, fn });
}

oracleTest("gcc agrees on sizeof, offsetof and member sizes of every exported struct", async () => {
  const gcc = await runOracle();
  const items = ITEMS.filter((it) => it.c.startsWith("sizeof") || it.c.startsWith("offsetof"));
  assert(items.length > 1000, `only ${items.length} layout items`);
  assertEquals(compare(items, gcc), []);
});

oracleTest(
  "gcc agrees on every ioctl number, from the system header or the same _IOx",
  async () => {
    const gcc = await runOracle();
    const ioctls = new Set([...constants()].filter(([n, v]) => isIoctl(n, v)).map(([n]) => n));
    assert(ioctls.size > 90, `only ${ioctls.size} ioctl numbers`);
    assertEquals(
      [...ioctls].filter((n) => !gcc.has(n)),
      [],
      "ioctls no C header or prelude defines",
    );
    assertEquals(compare(constantItems().filter((it) => ioctls.has(it.key)), gcc), []);
  },
);

oracleTest("gcc agrees on every constant the C headers define", async () => {
  const gcc = await runOracle();
  const items = constantItems();
  assert(items.filter((it) => gcc.has(it.key)).length > 500, "too few constants compared");
  assertEquals(compare(items, gcc), []);
});

oracleTest("strerror and strerrorname_np match glibc for every errno", async () => {
  assertEquals(compare(errnoItems(), await runOracle()), []);
});

const HEADERS = await Promise.all([SYS_KVM_H, SYS_ASM_KVM_H].map(async (p) => {
  try {
    return await Deno.readTextFile(p);
  } catch {
    return undefined;
  }
}));

Deno.test({
  name: HEADERS.includes(undefined)
    ? "every capability and exit reason of the system header is exported (skipped: no headers)"
    : "every capability, exit reason and event code of the system header is exported",
  ignore: HEADERS.includes(undefined),
  fn: () => {
    const exported = constants();
    const missing: string[] = [];
    const re =
      /^#define\s+((?:KVM_CAP|KVM_EXIT|KVM_SYSTEM_EVENT|KVM_MP_STATE|KVM_INTERNAL_ERROR|KVM_MSR_EXIT_REASON|KVM_X86_QUIRK|KVM_VCPUEVENT_VALID|KVM_SYNC_X86|KVM_GUESTDBG|KVM_MEM)_\w+)\s/gm;
    for (const text of HEADERS) {
      for (const m of text!.matchAll(re)) {
        if (!exported.has(m[1]!)) missing.push(m[1]!);
      }
    }
    assertEquals(missing, []);
  },
});

/**
 * The layout engine's own C (`c_declarations()`), compiled alone: each
 * exported struct as the engine declares it must have the layout the engine
 * computes, member by member. This is what `deno task export-c` writes into a
 * patch, so a struct that exports wrongly fails here by name.
 */
function exportProgram(items: Item[]): string {
  const lines = [
    "#include <stddef.h>",
    "#include <stdio.h>",
    "#include <linux/types.h>",
    c_declarations(exportedRecords().values()),
    '#define P(key, fmt, val) printf("%s\\t" fmt "\\n", key, val)',
    "int main(void)",
    "{",
  ];
  for (const it of items) lines.push(`\tP(${cString(it.key)}, "%zu", ${it.c});`);
  lines.push("\treturn 0;", "}", "");
  return lines.join("\n");
}

oracleTest(
  "the engine's exported C compiles and gcc agrees with its every sizeof and offsetof",
  async () => {
    const items = structItems(exportedRecords()).filter((it) => !it.key.includes("_sys"));
    assert(items.length > 1000, `only ${items.length} layout items`);
    const dir = await Deno.makeTempDir({ prefix: "layout_export_" });
    try {
      await Deno.writeTextFile(`${dir}/export.c`, exportProgram(items));
      const cc = await new Deno.Command("gcc", {
        args: ["-Wall", "-Werror", "-O0", "-o", `${dir}/export`, `${dir}/export.c`],
        stderr: "piped",
      }).output();
      assert(cc.success, `gcc refused the exported C:\n${new TextDecoder().decode(cc.stderr)}`);
      const run = await new Deno.Command(`${dir}/export`, { stdout: "piped" }).output();
      const gcc = new Map<string, string>();
      for (const line of new TextDecoder().decode(run.stdout).split("\n")) {
        const tab = line.indexOf("\t");
        if (tab > 0) gcc.set(line.slice(0, tab), line.slice(tab + 1));
      }
      assertEquals(compare(items, gcc), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
