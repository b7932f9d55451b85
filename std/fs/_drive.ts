// SPDX-License-Identifier: GPL-2.0-only

/**
 * One traversal algorithm, two front ends. `walk`/`expandGlob` and their
 * `*Sync` twins share their logic by writing it as a generator that *asks*
 * for file-system results (it yields an {@linkcode FsRequest} and is resumed
 * with the answer, or has the error thrown in) and *reports* entries. A sync
 * or an async driver performs the requests; only the drivers differ.
 *
 * @module
 */

/** An entry found by a traversal. */
export interface WalkEntry extends Deno.DirEntry {
  /** The entry's path: the traversal root joined with the names below it. */
  path: string;
}

/** A file-system call the traversal needs answered. */
export type FsRequest =
  | { call: "readDir"; path: string }
  | { call: "lstat"; path: string }
  | { call: "stat"; path: string }
  | { call: "realPath"; path: string };

/** What a traversal yields: a request, or an entry for the caller. */
export type Step = FsRequest | { found: WalkEntry };

/** A traversal written against requests. */
export type Traversal = Generator<Step, void, unknown>;

/** Asks the driver to carry out `req` and returns its answer (or throws its error). */
export function* ask<T>(req: FsRequest): Generator<Step, T, unknown> {
  return (yield req) as T;
}

/** Reports `entry` to the traversal's caller. */
export function* found(entry: WalkEntry): Generator<Step, void, unknown> {
  yield { found: entry };
}

/**
 * Runs a nested traversal inside another one: its requests are passed up to
 * the outer driver, its entries are collected and returned.
 */
export function* gather(t: Traversal): Generator<Step, WalkEntry[], unknown> {
  const out: WalkEntry[] = [];
  let answer: Answer = { ok: true, value: undefined };
  while (true) {
    const r: IteratorResult<Step, void> = answer.ok ? t.next(answer.value) : t.throw(answer.error);
    if (r.done) return out;
    if ("found" in r.value) {
      out.push(r.value.found);
      answer = { ok: true, value: undefined };
      continue;
    }
    try {
      answer = { ok: true, value: yield r.value };
    } catch (error) {
      answer = { ok: false, error };
    }
  }
}

function doSync(req: FsRequest): unknown {
  switch (req.call) {
    case "readDir":
      return Array.from(Deno.readDirSync(req.path));
    case "lstat":
      return Deno.lstatSync(req.path);
    case "stat":
      return Deno.statSync(req.path);
    case "realPath":
      return Deno.realPathSync(req.path);
  }
}

async function doAsync(req: FsRequest): Promise<unknown> {
  switch (req.call) {
    case "readDir":
      return await Array.fromAsync(Deno.readDir(req.path));
    case "lstat":
      return await Deno.lstat(req.path);
    case "stat":
      return await Deno.stat(req.path);
    case "realPath":
      return await Deno.realPath(req.path);
  }
}

type Answer = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Runs a traversal with synchronous file-system calls. */
export function* driveSync(t: Traversal): Generator<WalkEntry, void, undefined> {
  let answer: Answer = { ok: true, value: undefined };
  try {
    while (true) {
      const r: IteratorResult<Step, void> = answer.ok
        ? t.next(answer.value)
        : t.throw(answer.error);
      if (r.done) return;
      if ("found" in r.value) {
        answer = { ok: true, value: undefined };
        yield r.value.found;
        continue;
      }
      try {
        answer = { ok: true, value: doSync(r.value) };
      } catch (error) {
        answer = { ok: false, error };
      }
    }
  } finally {
    // The caller stopped early (break/return): let the traversal unwind too.
    t.return();
  }
}

/** Runs a traversal with asynchronous file-system calls. */
export async function* driveAsync(t: Traversal): AsyncGenerator<WalkEntry, void, undefined> {
  let answer: Answer = { ok: true, value: undefined };
  try {
    while (true) {
      const r: IteratorResult<Step, void> = answer.ok
        ? t.next(answer.value)
        : t.throw(answer.error);
      if (r.done) return;
      if ("found" in r.value) {
        answer = { ok: true, value: undefined };
        yield r.value.found;
        continue;
      }
      try {
        answer = { ok: true, value: await doAsync(r.value) };
      } catch (error) {
        answer = { ok: false, error };
      }
    }
  } finally {
    t.return();
  }
}
