// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/tdx/tdx_util.h` (the TDX
 * selftest series): `is_tdx_vm`, `is_tdx_supported`, the TDX sub-command
 * wrappers (`__tdx_vm_ioctl` & co., which evaluate to `r ?: hw_error`) and
 * the TD-building steps the library runs from `vm_create*()`. The functions
 * are in `lib/x86/tdx/tdx_util.ts`.
 *
 * @module
 */

export {
  __tdx_vcpu_ioctl,
  __tdx_vm_ioctl,
  is_tdx_supported,
  is_tdx_vm,
  tdx_init_vm,
  tdx_s_bit,
  tdx_vcpu_ioctl,
  tdx_vcpu_load_boot_parameters,
  tdx_vcpu_set_entry_point,
  tdx_vm_finalize,
  tdx_vm_ioctl,
  tdx_vm_load_common_boot_parameters,
  tdx_vm_setup_boot_code_region,
  tdx_vm_setup_boot_parameters_region,
} from "../../../lib/x86/tdx/tdx_util.ts";
