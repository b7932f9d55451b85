// SPDX-License-Identifier: GPL-2.0-only
/**
 * The assembler's one error type.
 *
 * @module
 */

/** Malformed assembler input: names the statement and what is wrong with it. */
export class AsmError extends Error {
  /**
   * An error about one statement.
   *
   * @param message what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "AsmError";
  }
}
