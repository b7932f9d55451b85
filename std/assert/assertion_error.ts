// SPDX-License-Identifier: GPL-2.0-only

/**
 * The one error type every assertion in this package throws. Test runners and
 * callers tell a failed check apart from an ordinary bug by this class (or by
 * its `name`, which survives structured cloning across workers).
 */
export class AssertionError extends Error {
  /**
   * Creates the error; `name` is set to `"AssertionError"`.
   *
   * @param message What was checked and how the values differed.
   * @param options Standard error options; `cause` keeps the underlying error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionError";
  }
}
