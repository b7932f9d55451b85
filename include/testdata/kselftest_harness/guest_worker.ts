// SPDX-License-Identifier: GPL-2.0-only
// A vCPU worker's view of a test module: importing it must register and run nothing.
import "../kselftest_oracle/a_basic.ts";
import { _metadata, in_guest_worker } from "../../kselftest_harness.ts";

(self as unknown as Worker).postMessage({
  in_guest_worker: in_guest_worker(),
  name: _metadata().name,
});
