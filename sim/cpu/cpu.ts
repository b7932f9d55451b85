// SPDX-License-Identifier: GPL-2.0-only
/**
 * The simulated CPU inside a vCPU worker. This module is its entry: the
 * worker (`worker.ts`) and the instruction modules (`insn.ts`, `interp.ts`,
 * `decode.ts`) import the CPU from here; the work is done in rooms, one
 * concern each, and each room explains its control flow at its top:
 *
 * | room          | what it owns                                                                         |
 * | ------------- | ------------------------------------------------------------------------------------ |
 * | `state.ts`    | the one vCPU state object (`vcpu`), the register file over the VMCS, modes, the control-flow signals |
 * | `runner.ts`   | the run loop: fetch of code records, calls into TypeScript and machine code, `cpu_run` |
 * | `exits.ts`    | VM exits and entries, exit information, ticks and interrupt windows                  |
 * | `events.ts`   | exceptions and events: raise, `kvm_asm_safe()`, IDT delivery, #DF, handlers, STI shadow |
 * | `segments.ts` | descriptor reads and segment loads                                                   |
 * | `access.ts`   | linear memory accesses: implicit (delivery) and the guest's slow paths, MMIO        |
 * | `mmu.ts`      | the page walk (linear to physical) and the TLB                                       |
 * | `interp.ts`   | the machine-code interpreter (`decode.ts`, `alu.ts`)                                 |
 * | `insn.ts`     | the intrinsics guest code calls                                                      |
 *
 * Guest code reaches the CPU through the intrinsics of `insn.ts`.
 *
 * @module
 */

export {
  cr4_lo,
  cr_get,
  cr_store,
  cs_l,
  dtable_get,
  dtable_set,
  efer_get,
  efer_lme,
  fep_enabled,
  fix_hypercall_quirk,
  get_cpl,
  in_long_mode,
  in_protected_mode,
  interruptibility,
  io_data,
  is_code16,
  is_cpu_signal,
  is_lma,
  is_td,
  la57_active,
  mmio_data,
  read_tsc,
  read_tsc_words,
  reg_get,
  reg_hi,
  reg_lo,
  reg_set,
  reg_set_pair,
  reg_set_sized,
  RESUME_COMPLETE,
  RESUME_RETRY,
  rflags,
  rip_get,
  rip_hi,
  rip_lo,
  rip_set,
  seg_base,
  seg_base_hi,
  seg_base_lo,
  seg_db,
  seg_limit,
  seg_selector,
  seg_type,
  seg_usable,
  set_interruptibility,
  set_io_count,
  set_lma,
  set_rflags,
  set_rip,
  sync_mode,
  take_transfer,
  tsc_words,
  vmcs_field_get,
  vmcs_field_set,
  xcr0_get,
} from "./state.ts";
export { call_gva, cpu_init, cpu_run, cpu_start_failed } from "./runner.ts";
export {
  ept_exit_raw,
  INSN_LEN_MOV,
  jump_to,
  mmio,
  set_exit_addresses,
  set_raw_insn,
  tick,
  tick_n,
  tick_slow,
  vmexit,
} from "./exits.ts";
export {
  kvm_asm_safe,
  kvm_asm_safe_error_code,
  raise,
  raise_translation_fault,
  raise_trap,
  raise_ve,
  set_sti_blocking,
} from "./events.ts";
export { load_segment } from "./segments.ts";
export { atomic_byte, read64_slow, read_slow, write64_slow, write_slow } from "./access.ts";
