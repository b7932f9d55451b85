// SPDX-License-Identifier: GPL-2.0-only

/**
 * A minimist-style command-line parser with a typed result, API-compatible
 * with `parseArgs` from `jsr:@std/cli@^1`.
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Result typing. The options' literal names are carried through as type
// parameters so that, e.g., `string: ["out"]` yields `out: string | undefined`.

/**
 * What the `boolean` option may hold: `true` (every `--flag` is boolean) or flag names.
 *
 * @internal
 */
type BooleanType = boolean | string | undefined;
/**
 * What the `string` option may name.
 *
 * @internal
 */
type StringType = string | undefined;
/**
 * What the `collect` option may name.
 *
 * @internal
 */
type Collectable = string | undefined;
/**
 * What the `negatable` option may name.
 *
 * @internal
 */
type Negatable = string | undefined;

/**
 * Turns a union of object types into their intersection.
 *
 * @internal
 */
type Merge<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I
  : never;

/**
 * Flattens nested intersections so editors show one object type.
 *
 * @internal
 */
type Flat<T> = T extends readonly unknown[] ? T
  : T extends Record<string, unknown> ? { [K in keyof T]: Flat<T[K]> }
  : T;

/**
 * `"a.b.c"` with value V becomes `{ a: { b: { c: V } } }`; the leaf is
 * optional when the flat key was.
 *
 * @internal
 */
type Dotted<K extends string, V, Opt> = K extends `${infer Head}.${infer Rest}`
  ? { [P in Head]: Dotted<Rest, V, Opt> }
  : Opt extends true ? { [P in K]?: V }
  : { [P in K]: V };

/**
 * Keys of F that may be absent.
 *
 * @internal
 */
type OptionalKeys<F> = { [K in keyof F]-?: Record<never, never> extends Pick<F, K> ? K : never }[
  keyof F
];

/**
 * Expands every dotted key of a flat record into nested objects; plain keys
 * are kept as they are (optional ones stay optional).
 *
 * @internal
 */
type Nest<F> =
  & Pick<F, Exclude<keyof F, `${string}.${string}`>>
  & Merge<
    {
      [K in keyof F & `${string}.${string}`]-?: Dotted<
        K,
        Exclude<F[K], undefined> | (K extends OptionalKeys<F> ? undefined : never),
        K extends OptionalKeys<F> ? true : false
      >;
    }[keyof F & `${string}.${string}`]
  >;

/**
 * The names listed in one option (`never` when it is absent or `true`); `_`
 * is excluded because it always holds the positionals.
 *
 * @internal
 */
type Named<T> = Exclude<Extract<T, string>, "_">;

/**
 * Alias pairs as a union of `[name, other]` tuples, both directions.
 *
 * @internal
 */
type AliasPairs<A> = A extends Record<string, unknown> ? {
    [K in keyof A & string]: A[K] extends readonly (infer E extends string)[] ? [K, E] | [E, K]
      : A[K] extends string ? [K, A[K]] | [A[K], K]
      : never;
  }[keyof A & string]
  : never;

/**
 * Names that an alias ties to one of `Keys`.
 *
 * @internal
 */
type AliasOf<Keys extends string, A> = Extract<AliasPairs<A>, [Keys, string]>[1];

/**
 * The keys that `default` gives a value.
 *
 * @internal
 */
type Defaulted<D> = D extends Record<string, unknown> ? keyof D & string : never;

/**
 * Value types of the keys the options name, before aliases and dots.
 *
 * @internal
 */
type Declared<
  B extends BooleanType,
  S extends StringType,
  C extends Collectable,
  N extends Negatable,
  D extends Record<string, unknown> | undefined,
> =
  & { [K in Exclude<Named<B>, Named<C>>]: boolean }
  & { [K in Extract<Named<B>, Named<C>>]: boolean[] }
  & {
    [K in Exclude<Named<S>, Named<B> | Named<C> | Defaulted<D>>]?:
      | string
      | (K extends Named<N> ? false : never)
      | undefined;
  }
  & {
    [K in Extract<Exclude<Named<S>, Named<B> | Named<C>>, Defaulted<D>>]:
      | string
      | (K extends Named<N> ? false : never)
      | (D extends Record<string, unknown> ? D[K] : never);
  }
  & { [K in Exclude<Extract<Named<S>, Named<C>>, Named<B>>]: string[] }
  & { [K in Exclude<Named<C>, Named<B> | Named<S>>]: unknown[] }
  & (D extends Record<string, unknown> ? {
      [K in Exclude<keyof D & string, Named<B> | Named<S> | Named<C>>]: D[K];
    }
    : Record<never, never>);

/**
 * Adds every alias of a declared key with the same value type.
 *
 * @internal
 */
type WithAliases<F, A> =
  & F
  & {
    [K in AliasOf<Exclude<keyof F, OptionalKeys<F>> & string, A> as K extends keyof F ? never : K]:
      F[Extract<AliasPairs<A>, [keyof F & string, K]>[0]];
  }
  & {
    [K in AliasOf<OptionalKeys<F> & string, A> as K extends keyof F ? never : K]?: F[
      Extract<AliasPairs<A>, [keyof F & string, K]>[0]
    ];
  };

/**
 * The parsed flags' type as computed from the options' type parameters (see
 * {@linkcode parseArgs}). Untyped use (no `boolean`, `string` or `collect`
 * names) gives `Record<string, any>`; `boolean: true` adds an index signature
 * for the undeclared flags.
 *
 * @internal
 */
type Values<
  TBooleans extends BooleanType,
  TStrings extends StringType,
  TCollectable extends Collectable,
  TNegatable extends Negatable,
  TDefault extends Record<string, unknown> | undefined,
  TAliases extends Aliases | undefined,
> = [Named<TBooleans> | Named<TStrings> | Named<TCollectable>] extends [never] ? Untyped<TBooleans>
  // Names widened to `string` (options built in a variable without `as const`)
  // cannot be typed one by one either.
  : string extends Named<TBooleans> | Named<TStrings> | Named<TCollectable> ? Untyped<TBooleans>
  : Flat<
    & Nest<WithAliases<Declared<TBooleans, TStrings, TCollectable, TNegatable, TDefault>, TAliases>>
    & (true extends TBooleans ? Record<string, unknown> : Record<never, never>)
  >;

/**
 * The result type when no flag names are known.
 *
 * @internal
 */
type Untyped<TBooleans> = true extends TBooleans ? Record<string, unknown>
  // deno-lint-ignore no-explicit-any
  : Record<string, any>;

/**
 * The shape of the `alias` option: a name mapped to one or more other names.
 *
 * @internal
 */
type Aliases<TArgNames = string, TAliasNames extends string = string> = Partial<
  Record<Extract<TArgNames, string>, TAliasNames | ReadonlyArray<TAliasNames>>
>;

/**
 * The value returned by {@linkcode parseArgs}: the flags (typed by `TArgs`),
 * the positional arguments in `_`, and, with the `"--"` option, the arguments
 * after `--`.
 */
export type Args<
  // deno-lint-ignore no-explicit-any
  TArgs extends Record<string, unknown> = Record<string, any>,
  TDoubleDash extends boolean | undefined = undefined,
> = Flat<
  & TArgs
  & { _: Array<string | number> }
  & (boolean extends TDoubleDash ? { "--"?: Array<string> }
    : true extends TDoubleDash ? { "--": Array<string> }
    : Record<never, never>)
>;

/** The options of {@linkcode parseArgs}. */
export interface ParseOptions<
  TBooleans extends BooleanType = BooleanType,
  TStrings extends StringType = StringType,
  TCollectable extends Collectable = Collectable,
  TNegatable extends Negatable = Negatable,
  TDefault extends Record<string, unknown> | undefined = Record<string, unknown> | undefined,
  TAliases extends Aliases | undefined = Aliases | undefined,
  TDoubleDash extends boolean | undefined = boolean | undefined,
> {
  /**
   * When true, arguments after a bare `--` go to the result's `"--"` array
   * instead of `_`. Either way they are not parsed as flags.
   *
   * @default {false}
   */
  "--"?: TDoubleDash;
  /**
   * Other names for a flag, e.g. `{ h: "help" }`. Each name of a group is set
   * whenever any of them is, and a type or default given to one applies to
   * all.
   */
  alias?: TAliases;
  /**
   * Flags that take no value and are `true` when present, `false` when not.
   * `true` makes every `--name` without `=` boolean.
   *
   * @default {false}
   */
  boolean?: TBooleans | ReadonlyArray<Extract<TBooleans, string>>;
  /** Values for flags not given on the command line (also set on aliases). */
  default?: TDefault;
  /** When true, the first positional argument ends parsing: it and everything after go to `_`. */
  stopEarly?: boolean;
  /** Flags whose value is always kept as a string (never converted to a number). */
  string?: TStrings | ReadonlyArray<Extract<TStrings, string>>;
  /**
   * Flags that may repeat: every occurrence is collected into an array, which
   * is empty when the flag is absent.
   */
  collect?: TCollectable | ReadonlyArray<Extract<TCollectable, string>>;
  /** Flags that `--no-name` sets to `false`. */
  negatable?: TNegatable | ReadonlyArray<Extract<TNegatable, string>>;
  /**
   * Called for each flag that no option declares and for each positional
   * argument (then with the argument only). Returning `false` drops it from the
   * result.
   */
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
}

// ---------------------------------------------------------------------------
// Parsing.

/** Texts that become numbers when the flag is not declared a string. */
const NUMERIC = /^(?:0x[0-9a-f]+|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?)$/i;

function looksNumeric(v: string): boolean {
  return NUMERIC.test(v);
}

function names(spec: unknown): string[] {
  if (typeof spec === "string") return spec === "" ? [] : [spec];
  if (Array.isArray(spec)) return spec.filter((s): s is string => typeof s === "string" && !!s);
  return [];
}

type Tree = Record<string, unknown>;

function own(o: Tree, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

/** Sets an own property even for names like `__proto__`. */
function put(o: Tree, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Walks a dotted key down `root`, creating objects; returns the parent and last name. */
function slot(root: Tree, key: string): [Tree, string] {
  const parts = key.split(".");
  let node = root;
  for (const p of parts.slice(0, -1)) {
    let next = own(node, p);
    if (typeof next !== "object" || next === null || Array.isArray(next)) {
      next = {};
      put(node, p, next);
    }
    node = next as Tree;
  }
  return [node, parts[parts.length - 1]!];
}

function isSet(root: Tree, key: string): boolean {
  let node: unknown = root;
  for (const p of key.split(".")) {
    if (typeof node !== "object" || node === null) return false;
    if (!Object.prototype.hasOwnProperty.call(node, p)) return false;
    node = (node as Tree)[p];
  }
  return true;
}

/**
 * Parses command-line arguments into flags and positional arguments.
 *
 * - `--name=value`, `--name value` and `-n value` set a flag; a value that
 *   looks like a number becomes one unless the flag is declared in `string`.
 * - `--name` or `-n` with no value is `true` (`""` for string flags); boolean
 *   flags never take the next argument as value, except a literal `true` or
 *   `false`.
 * - `-abc` sets `a`, `b` and `c`; `-n5` and `-n=5` give `n` the value `5`.
 * - Dotted names build nested objects: `--db.port 1` gives `{ db: { port: 1 } }`.
 * - A bare `--` ends flag parsing; `-` alone is positional.
 *
 * @example
 * ```ts
 * import { parseArgs } from "@std/cli";
 *
 * const args = parseArgs(["-v", "--out", "a.txt", "in.txt", "--", "-x"], {
 *   boolean: ["verbose"],
 *   string: ["out"],
 *   alias: { v: "verbose" },
 *   "--": true,
 * });
 * // { _: ["in.txt"], "--": ["-x"], verbose: true, v: true, out: "a.txt" }
 * args.out; // typed string | undefined
 * ```
 *
 * @typeParam TArgs The result's flag types (computed; not meant to be given).
 * @typeParam TDoubleDash Whether the `"--"` option is set.
 * @typeParam TBooleans Names in `boolean`, or `true`.
 * @typeParam TStrings Names in `string`.
 * @typeParam TCollectable Names in `collect`.
 * @typeParam TNegatable Names in `negatable`.
 * @typeParam TDefaults The type of `default`.
 * @typeParam TAliases The type of `alias`.
 * @typeParam TAliasArgNames Keys of `alias`.
 * @typeParam TAliasNames Values of `alias`.
 * @param args The arguments, e.g. `Deno.args`.
 * @param options What the flags are.
 * @returns The parsed arguments.
 */
export function parseArgs<
  TArgs extends Values<TBooleans, TStrings, TCollectable, TNegatable, TDefaults, TAliases>,
  TDoubleDash extends boolean | undefined = undefined,
  TBooleans extends BooleanType = undefined,
  TStrings extends StringType = undefined,
  TCollectable extends Collectable = undefined,
  TNegatable extends Negatable = undefined,
  TDefaults extends Record<string, unknown> | undefined = undefined,
  TAliases extends Aliases<TAliasArgNames, TAliasNames> | undefined = undefined,
  TAliasArgNames extends string = string,
  TAliasNames extends string = string,
>(
  args: string[],
  options: ParseOptions<
    TBooleans,
    TStrings,
    TCollectable,
    TNegatable,
    TDefaults,
    TAliases,
    TDoubleDash
  > = {},
): Args<TArgs, TDoubleDash> {
  return new Parser(options as ParseOptions).run(args) as Args<TArgs, TDoubleDash>;
}

/** One parse: the options digested into lookup sets, and the result being built. */
class Parser {
  readonly #group = new Map<string, Set<string>>();
  readonly #bool = new Set<string>();
  readonly #str = new Set<string>();
  readonly #collect = new Set<string>();
  readonly #negatable = new Set<string>();
  readonly #allBool: boolean;
  readonly #opts: ParseOptions;
  readonly #out: Tree = { _: [] };

  constructor(opts: ParseOptions) {
    this.#opts = opts;
    // Alias groups are the connected components of the alias relation.
    for (const [key, value] of Object.entries(opts.alias ?? {})) {
      const members = [key, ...names(value)];
      const merged = new Set<string>();
      for (const m of members) for (const x of this.#group.get(m) ?? [m]) merged.add(x);
      for (const m of merged) this.#group.set(m, merged);
    }
    this.#allBool = opts.boolean === true;
    for (
      const [spec, set] of [
        [opts.boolean, this.#bool],
        [opts.string, this.#str],
        [opts.collect, this.#collect],
        [opts.negatable, this.#negatable],
      ] as const
    ) {
      for (const n of names(spec)) for (const m of this.#names(n)) set.add(m);
    }
  }

  /** A flag and all its aliases. */
  #names(key: string): Iterable<string> {
    return this.#group.get(key) ?? [key];
  }

  #declared(key: string, arg: string): boolean {
    return (this.#allBool && /^--[^=]+$/.test(arg)) || this.#bool.has(key) ||
      this.#str.has(key) || this.#collect.has(key) || this.#negatable.has(key) ||
      this.#group.has(key);
  }

  /** Records one occurrence of flag `key` seen in argument `arg`. */
  #set(key: string, raw: unknown, arg: string, collect = true): void {
    const unknown = this.#opts.unknown;
    if (unknown && !this.#declared(key, arg) && unknown(arg, key, raw) === false) return;
    const value = typeof raw === "string" && !this.#str.has(key) && looksNumeric(raw)
      ? Number(raw)
      : raw;
    for (const name of this.#names(key)) {
      const [parent, last] = slot(this.#out, name);
      if (collect && this.#collect.has(name)) {
        const prev = own(parent, last);
        put(parent, last, Array.isArray(prev) ? [...prev, value] : [value]);
      } else {
        put(parent, last, value);
      }
    }
  }

  /** The value a valueless flag gets. */
  #bare(key: string): string | boolean {
    return this.#str.has(key) && !this.#bool.has(key) ? "" : true;
  }

  #positional(arg: string): void {
    if (this.#opts.unknown && this.#opts.unknown(arg) === false) return;
    (this.#out._ as unknown[]).push(
      this.#str.has("_") || !looksNumeric(arg) ? arg : Number(arg),
    );
  }

  run(args: readonly string[]): Tree {
    let rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      const next = args[i + 1];
      if (arg === "--") {
        rest = args.slice(i + 1);
        break;
      }
      if (arg.startsWith("--") && arg.length > 2) {
        if (this.#long(arg.slice(2), arg, next)) i++;
      } else if (arg.startsWith("-") && arg.length > 1) {
        if (this.#short(arg.slice(1), arg, next)) i++;
      } else {
        this.#positional(arg);
        if (this.#opts.stopEarly) {
          (this.#out._ as unknown[]).push(...args.slice(i + 1));
          break;
        }
      }
    }
    this.#fill();
    if (this.#opts["--"]) this.#out["--"] = rest;
    else (this.#out._ as unknown[]).push(...rest);
    return this.#out;
  }

  /** Handles `--body`; returns true when it consumed `next` as its value. */
  #long(body: string, arg: string, next: string | undefined): boolean {
    const eq = body.indexOf("=");
    if (eq > 0) {
      const key = body.slice(0, eq);
      const text = body.slice(eq + 1);
      this.#set(key, this.#bool.has(key) ? text !== "false" : text, arg);
      return false;
    }
    if (body.startsWith("no-") && this.#negatable.has(body.slice(3))) {
      this.#set(body.slice(3), false, arg, false);
      return false;
    }
    return this.#valueFromNext(body, arg, next, !this.#allBool && !/^-/.test(next ?? "-"));
  }

  /**
   * Gives flag `key` its value: the next argument when `mayTake` allows and
   * the flag is not boolean, a following literal `true`/`false`, or nothing.
   */
  #valueFromNext(key: string, arg: string, next: string | undefined, mayTake: boolean): boolean {
    if (next !== undefined && mayTake && !this.#bool.has(key)) {
      this.#set(key, next, arg);
      return true;
    }
    if (next === "true" || next === "false") {
      this.#set(key, next === "true", arg);
      return true;
    }
    this.#set(key, this.#bare(key), arg);
    return false;
  }

  /** Handles `-body` (one or more single-letter flags); true when `next` was consumed. */
  #short(body: string, arg: string, next: string | undefined): boolean {
    for (let j = 0; j < body.length - 1; j++) {
      const letter = body[j]!;
      const after = body.slice(j + 1);
      if (after === "-") {
        this.#set(letter, after, arg);
        continue;
      }
      if (/[A-Za-z]/.test(letter)) {
        if (after.startsWith("=")) {
          this.#set(letter, after.slice(1), arg);
          return false;
        }
        if (looksNumeric(after)) {
          this.#set(letter, after, arg);
          return false;
        }
      }
      if (/\W/.test(body[j + 1]!)) {
        this.#set(letter, after, arg);
        return false;
      }
      this.#set(letter, this.#bare(letter), arg);
    }
    const last = body[body.length - 1]!;
    if (last === "-") return false;
    return this.#valueFromNext(last, arg, next, !/^-{1,2}[^-]/.test(next ?? "-x"));
  }

  /** Booleans default to false, collections to [], then `default` fills the rest. */
  #fill(): void {
    const defaults = this.#opts.default ?? {};
    const seed = (key: string, value: unknown) => {
      if (isSet(this.#out, key)) return;
      for (const name of this.#names(key)) {
        if (isSet(this.#out, name)) continue;
        const [parent, last] = slot(this.#out, name);
        put(parent, last, Array.isArray(value) ? [...value] : value);
      }
    };
    for (const [key, value] of Object.entries(defaults)) seed(key, value);
    for (const key of this.#collect) seed(key, []);
    for (const key of this.#bool) seed(key, false);
  }
}
