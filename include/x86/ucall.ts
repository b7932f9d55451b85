// SPDX-License-Identifier: GPL-2.0-only
/**
 * Twin of `tools/testing/selftests/kvm/include/x86/ucall.h`:
 * `UCALL_EXIT_REASON` and the port the x86 ucall uses, and (an SDK
 * extension for prototyping) the ucall designs a VM can be given with
 * `ucall_x86_set_ops()` (`lib/x86/ucall.ts`).
 *
 * @module
 */

export {
  UCALL_EXIT_REASON,
  UCALL_PIO_PORT,
  ucall_tdx_fatal_error_ops,
  UCALL_TDX_MAGIC,
  ucall_tdx_mmio_ops,
  ucall_tdx_pio_index_ops,
  ucall_tdx_pio_rcx_ops,
  ucall_x86_get_ops,
  type ucall_x86_ops,
  ucall_x86_ops_table,
  ucall_x86_pio_ops,
  ucall_x86_set_ops,
} from "../../lib/x86/ucall.ts";
