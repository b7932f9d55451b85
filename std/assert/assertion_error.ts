// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/assert@1: same API as its `AssertionError`.

/**
 * Error thrown when an assertion fails.
 *
 * @example Usage
 * ```ts ignore
 * import { AssertionError } from "@std/assert";
 *
 * throw new AssertionError("Assertion failed", { cause: "bad value" });
 * ```
 */
export class AssertionError extends Error {
  /**
   * Constructs a new instance.
   *
   * @param message The error message.
   * @param options Additional options such as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}
