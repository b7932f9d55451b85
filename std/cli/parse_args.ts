// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/cli@1: same API, option set, result typing and parsing
// rules as its `parseArgs` (itself modelled on minimist).

/**
 * Command line arguments parser (in-repo compatibility subset of
 * `jsr:@std/cli@1/parse-args`).
 *
 * @example Usage
 * ```ts ignore
 * import { parseArgs } from "@std/cli";
 *
 * parseArgs(["--foo", "--bar=baz", "./quux.txt"]);
 * // { foo: true, bar: "baz", _: ["./quux.txt"] }
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------
// Result typing. Same results as std's conditional types: `boolean` names are
// `boolean`, `string` names `string | undefined`, `collect` names arrays,
// `negatable` names may be `false`, `default` values widen and make a name
// required, `alias` keys add their alias names, dotted names nest. Without any
// `boolean`/`string`/`collect` option the result is `Record<string, any>`.
// ---------------------------------------------------------------------------

/**
 * Union to intersection; an empty union gives an empty record.
 * @internal
 */
type Merge<U> = [U] extends [never] ? Record<never, never>
  : (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I
  : never;

/**
 * Flattens intersections into one object type, recursively.
 * @internal
 */
type Flat<T> = T extends Record<string, unknown> ? { [K in keyof T]: Flat<T[K]> } : T;

/**
 * `"a.b"` → `{ a?: { b?: V } }` (or with required members when `Req` is true).
 * @internal
 */
type Nest<N extends string, V, Req extends boolean> = N extends `${infer Head}.${infer Rest}`
  ? Req extends true ? { [K in Head]: Nest<Rest, V, Req> } : { [K in Head]?: Nest<Rest, V, Req> }
  : Req extends true ? { [K in N]: V }
  : { [K in N]?: V };

/**
 * Value type of a declared name, `| false` when it is negatable.
 * @internal
 */
type Leaf<N, V, TNegatable> = N extends TNegatable ? V | false : V;

/** @internal */
type StringValues<TStrings, TCollectable, TNegatable> = undefined extends TStrings
  ? Record<never, never>
  : Merge<
    TStrings extends string ? TStrings extends TCollectable ? Nest<
          TStrings,
          Leaf<TStrings, string[], TNegatable>,
          true
        >
      : Nest<TStrings, Leaf<TStrings, string, TNegatable>, false>
      : never
  >;

/** @internal */
type BooleanValues<TBooleans, TCollectable> = undefined extends TBooleans ? Record<never, never>
  : Merge<
    TBooleans extends string
      ? Nest<TBooleans, TBooleans extends TCollectable ? boolean[] : boolean, true>
      : never
  >;

/** @internal */
type UnknownCollectValues<TBooleans, TStrings, TCollectable, TNegatable> = Merge<
  TCollectable extends string ? TCollectable extends TBooleans | TStrings ? never
    : Nest<TCollectable, Leaf<TCollectable, unknown[], TNegatable>, true>
    : never
>;

/**
 * `{ "a.b": V }` → `{ a: { b: V } }`.
 * @internal
 */
type Dedot<T> = Record<string, unknown> extends T ? T
  : T extends Record<string, unknown>
    ? Merge<{ [K in keyof T]: K extends string ? Nest<K, T[K], true> : never }[keyof T]>
  : T;

/**
 * Applies defaults: defaulted names become required and may hold the default's type.
 * @internal
 */
type WithDefaults<TArgs, TDefaults> = TDefaults extends undefined ? TArgs
  : TArgs extends Record<string, unknown> ?
      & Omit<TArgs, keyof TDefaults>
      & {
        [K in keyof TDefaults]: K extends keyof TArgs
          ? (TArgs[K] & TDefaults[K] | TDefaults[K]) extends Record<string, unknown>
            ? NonNullable<WithDefaults<TArgs[K], TDefaults[K]>>
          : TDefaults[K] | NonNullable<TArgs[K]>
          : unknown;
      }
  : never;

/** @internal */
type AliasNames<K, TAliases> = K extends keyof TAliases ? string extends TAliases[K] ? K
  : TAliases[K] extends string ? K | TAliases[K]
  : TAliases[K] extends readonly string[] ? K | TAliases[K][number]
  : K
  : K;

/** @internal */
type WithAliases<TArgs, TAliases> = {
  [K in keyof TArgs as AliasNames<K, TAliases>]: TArgs[K];
};

/**
 * Whether any of `boolean`, `string` or `collect` was given (std's "typed" mode).
 * @internal
 */
type IsTyped<TBooleans, TStrings, TCollectable> = undefined extends
  ((false extends TBooleans ? undefined : TBooleans) & TStrings & TCollectable) ? false
  : true;

/**
 * The flags record {@linkcode parseArgs} computes from its options (the
 * part of {@linkcode Args} besides `_` and `--`).
 * @internal
 */
type Values<
  TBooleans extends BooleanType,
  TStrings extends StringType,
  TCollectable extends Collectable,
  TNegatable extends Negatable,
  TDefault extends Record<string, unknown> | undefined,
  TAliases extends Aliases | undefined,
> = IsTyped<TBooleans, TStrings, TCollectable> extends true ?
    & Record<string, unknown>
    & WithAliases<
      WithDefaults<
        & StringValues<TStrings, TCollectable, TNegatable>
        & BooleanValues<TBooleans, TCollectable>
        & UnknownCollectValues<TBooleans, TStrings, TCollectable, TNegatable>,
        Dedot<TDefault>
      >,
      TAliases
    >
  // deno-lint-ignore no-explicit-any
  : Record<string, any>;

/**
 * Accepted types of the `boolean` option's type parameter.
 * @internal
 */
type BooleanType = boolean | string | undefined;
/**
 * Accepted types of the `string` option's type parameter.
 * @internal
 */
type StringType = string | undefined;
/**
 * Accepted types of the `collect` option's type parameter.
 * @internal
 */
type Collectable = string | undefined;
/**
 * Accepted types of the `negatable` option's type parameter.
 * @internal
 */
type Negatable = string | undefined;
/**
 * Shape of the `alias` option: argument name → alias name(s).
 * @internal
 */
type Aliases<TArgNames = string, TAliasNames extends string = string> = Partial<
  Record<Extract<TArgNames, string>, TAliasNames | ReadonlyArray<TAliasNames>>
>;

/** The value returned from {@linkcode parseArgs}. */
export type Args<
  // deno-lint-ignore no-explicit-any
  TArgs extends Record<string, unknown> = Record<string, any>,
  TDoubleDash extends boolean | undefined = undefined,
> = Flat<
  & TArgs
  & {
    /** Contains all the arguments that didn't have an option associated with them. */
    _: Array<string | number>;
  }
  & (boolean extends TDoubleDash ? DoubleDash
    : true extends TDoubleDash ? Required<DoubleDash>
    : Record<never, never>)
>;

/**
 * The `--` member of {@linkcode Args} when the `"--"` option is set.
 * @internal
 */
type DoubleDash = {
  /** Contains all the arguments that appear after the double dash: "--". */
  "--"?: Array<string>;
};

/** Options for {@linkcode parseArgs}. */
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
   * When `true`, populate the result `_` with everything before the `--` and
   * the result `['--']` with everything after the `--`.
   *
   * @default {false}
   */
  "--"?: TDoubleDash;
  /**
   * An object mapping string names to strings or arrays of string argument
   * names to use as aliases.
   *
   * @default {{}}
   */
  alias?: TAliases;
  /**
   * A boolean, string or array of strings to always treat as booleans. If
   * `true` will treat all double hyphenated arguments without equal signs as
   * `boolean` (e.g. affects `--foo`, not `-f` or `--foo=bar`).
   * All `boolean` arguments will be set to `false` by default.
   *
   * @default {false}
   */
  boolean?: TBooleans | ReadonlyArray<Extract<TBooleans, string>>;
  /**
   * An object mapping string argument names to default values.
   *
   * @default {{}}
   */
  default?: TDefault;
  /**
   * When `true`, populate the result `_` with everything after the first
   * non-option.
   *
   * @default {false}
   */
  stopEarly?: boolean;
  /**
   * A string or array of strings argument names to always treat as strings.
   *
   * @default {[]}
   */
  string?: TStrings | ReadonlyArray<Extract<TStrings, string>>;
  /**
   * A string or array of strings argument names to always treat as arrays.
   * Collectable options can be used multiple times. All values will be
   * collected into one array. If a non-collectable option is used multiple
   * times, the last value is used.
   *
   * @default {[]}
   */
  collect?: TCollectable | ReadonlyArray<Extract<TCollectable, string>>;
  /**
   * A string or array of strings argument names which can be negated
   * by prefixing them with `--no-`, like `--no-config`.
   *
   * @default {[]}
   */
  negatable?: TNegatable | ReadonlyArray<Extract<TNegatable, string>>;
  /**
   * A function which is invoked with a command line parameter not defined in
   * the `options` configuration object. If the function returns `false`, the
   * unknown option is not added to `parsedArgs`.
   */
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
}

// ---------------------------------------------------------------------------
// Parser.
// ---------------------------------------------------------------------------

interface Nested {
  [key: string]: unknown;
}

/** `-x…`, `--x…`, `--no-x…`, optionally followed by `=value` (non-empty). */
const FLAG = /^-(?:(?<long>-)(?<negated>no-)?)?(?<key>.+?)(?:=(?<value>.+?))?$/s;

/** std converts a value to a number when it is non-blank and finite as a `Number`. */
function isNumber(text: string): boolean {
  return /\S/.test(text) && Number.isFinite(Number(text));
}

function toList<T>(value: T | ReadonlyArray<T> | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...value] as T[] : [value as T];
}

/** Sets `keys` (a dotted path) in `target`; with `collect`, appends to an array instead. */
function setPath(target: Nested, keys: string[], value: unknown, collect = false): void {
  let object = target;
  for (const key of keys.slice(0, -1)) object = (object[key] ??= {}) as Nested;
  const last = keys[keys.length - 1]!;
  if (collect) {
    const current = object[last];
    if (Array.isArray(current)) {
      current.push(value);
      return;
    }
    value = current ? [current, value] : [value];
  }
  object[last] = value;
}

function hasPath(target: Nested, keys: string[]): boolean {
  let object: unknown = target;
  for (const key of keys) {
    if (object === null || object === undefined || !Object.hasOwn(object, key)) return false;
    object = (object as Nested)[key];
  }
  return true;
}

/**
 * Take a set of command line arguments, optionally with a set of options, and
 * return an object representing the flags found in the passed arguments.
 *
 * By default, any arguments starting with `-` or `--` are considered boolean
 * flags. If the argument name is followed by an equal sign (`=`) it is
 * considered a key-value pair. Any arguments which could not be parsed are
 * available in the `_` property of the returned object.
 *
 * By default, the return type has an index signature with `any` as value. If
 * the `string`, `boolean` or `collect` option is set, the return value is
 * fully typed and the index signature becomes `{ [x: string]: unknown }`.
 *
 * Any arguments after `'--'` will not be parsed and will end up in
 * `parsedArgs._` (or `parsedArgs["--"]` with the `"--"` option).
 *
 * Numeric-looking arguments will be returned as numbers unless
 * `options.string` or `options.boolean` is set for that argument name.
 *
 * @typeParam TArgs Type of result.
 * @typeParam TDoubleDash Used by `TArgs` for the result.
 * @typeParam TBooleans Used by `TArgs` for the result.
 * @typeParam TStrings Used by `TArgs` for the result.
 * @typeParam TCollectable Used by `TArgs` for the result.
 * @typeParam TNegatable Used by `TArgs` for the result.
 * @typeParam TDefaults Used by `TArgs` for the result.
 * @typeParam TAliases Used by `TArgs` for the result.
 * @typeParam TAliasArgNames Used by `TArgs` for the result.
 * @typeParam TAliasNames Used by `TArgs` for the result.
 * @param args An array of command line arguments.
 * @param options Options for the parse function.
 * @returns The parsed arguments.
 *
 * @example Usage
 * ```ts ignore
 * import { parseArgs } from "@std/cli";
 *
 * const args = parseArgs(["--foo", "--bar", "baz", "-n", "3", "x"], {
 *   boolean: ["foo"],
 *   string: ["bar"],
 * });
 * // { foo: true, bar: "baz", n: 3, _: ["x"] }
 * ```
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
  options?: ParseOptions<
    TBooleans,
    TStrings,
    TCollectable,
    TNegatable,
    TDefaults,
    TAliases,
    TDoubleDash
  >,
): Args<TArgs, TDoubleDash> {
  const {
    "--": doubleDash = false,
    alias = {},
    boolean = false,
    default: defaults = {},
    stopEarly = false,
    string,
    collect,
    negatable,
    unknown = (arg: string): unknown => arg,
  } = options ?? {};

  // name → the other names it is linked to by `alias`.
  const aliases = new Map<string, Set<string>>();
  for (const [key, value] of Object.entries(alias ?? {})) {
    if (value === undefined) throw new TypeError("Alias value must be defined");
    const names = toList<string>(value as string | ReadonlyArray<string>);
    aliases.set(key, new Set(names));
    for (const name of names) {
      aliases.set(name, new Set([key, ...names.filter((other) => other !== name)]));
    }
  }
  /** The listed names plus their aliases. */
  const withAliases = (names: ReadonlyArray<string | undefined>): Set<string> => {
    const set = new Set<string>();
    for (const name of names) {
      if (!name) continue;
      set.add(name);
      for (const other of aliases.get(name) ?? []) set.add(other);
    }
    return set;
  };
  const allBooleans = boolean === true;
  const booleans = typeof boolean === "boolean"
    ? new Set<string>()
    : withAliases(toList<string | undefined>(boolean as string | string[]));
  const strings = withAliases(toList<string | undefined>(string as string | string[]));
  const collects = withAliases(toList<string | undefined>(collect as string | string[]));
  const negatables = withAliases(toList<string | undefined>(negatable as string | string[]));
  const aliasIsBoolean = (key: string): boolean =>
    [...aliases.get(key) ?? []].some((name) => booleans.has(name));
  const isBooleanFlag = (key: string): boolean =>
    booleans.has(key) || (aliases.has(key) && aliasIsBoolean(key));

  const argv: Args = { _: [] };

  function set(key: string, value: string | number | boolean, arg: string, collect: boolean) {
    const known = booleans.has(key) || strings.has(key) || aliases.has(key) ||
      (allBooleans && /^--[^=]+$/.test(arg));
    if (!known && unknown(arg, key, value) === false) return;
    if (typeof value === "string" && !strings.has(key) && isNumber(value)) value = Number(value);
    const collectable = collect && collects.has(key);
    setPath(argv, key.split("."), value, collectable);
    for (const other of aliases.get(key) ?? []) {
      setPath(argv, other.split("."), value, collectable);
    }
  }

  // Everything after a literal "--" is left unparsed.
  let rest: string[] = [];
  const dashDash = args.indexOf("--");
  if (dashDash !== -1) {
    rest = args.slice(dashDash + 1);
    args = args.slice(0, dashDash);
  }

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const flag = FLAG.exec(arg)?.groups;

    if (!flag) {
      if (unknown(arg) !== false) {
        argv._.push(strings.has("_") || !isNumber(arg) ? arg : Number(arg));
      }
      if (stopEarly) {
        argv._.push(...args.slice(i + 1));
        break;
      }
      continue;
    }

    if (flag.long) {
      let key = flag.key!;
      if (flag.value) {
        set(key, booleans.has(key) ? flag.value !== "false" : flag.value, arg, true);
        continue;
      }
      if (flag.negated) {
        if (negatables.has(key)) {
          set(key, false, arg, false);
          continue;
        }
        key = `no-${key}`;
      }
      const next = args[i + 1];
      if (
        next && !booleans.has(key) && !allBooleans && !next.startsWith("-") && !isBooleanFlag(key)
      ) {
        set(key, next, arg, true);
        i++;
      } else if (next === "true" || next === "false") {
        set(key, next === "true", arg, true);
        i++;
      } else {
        set(key, strings.has(key) ? "" : true, arg, true);
      }
      continue;
    }

    // Short group "-abc": every letter but the last is a flag of its own, unless what
    // follows it reads as its value ("-n5", "-n=5", "-a-", "-x/path").
    const letters = arg.slice(1, -1);
    let consumedRest = false;
    for (let j = 0; j < letters.length; j++) {
      const letter = letters[j]!;
      const after = arg.slice(j + 2);
      if (after === "-") {
        set(letter, after, arg, true);
        continue;
      }
      if (/[A-Za-z]/.test(letter)) {
        const assigned = /=(.+)/.exec(after);
        if (assigned) {
          set(letter, assigned[1]!, arg, true);
          consumedRest = true;
          break;
        }
        if (/-?\d+(\.\d*)?(e-?\d+)?$/.test(after)) {
          set(letter, after, arg, true);
          consumedRest = true;
          break;
        }
      }
      if (/\W/.test(letters[j + 1] ?? "")) {
        set(letter, after, arg, true);
        consumedRest = true;
        break;
      }
      set(letter, strings.has(letter) ? "" : true, arg, true);
    }
    if (consumedRest) continue;

    const key = arg.slice(-1);
    if (key === "-") continue;
    const next = args[i + 1];
    if (next && !/^(-|--)[^-]/.test(next) && !isBooleanFlag(key)) {
      set(key, next, arg, true);
      i++;
    } else if (next === "true" || next === "false") {
      set(key, next === "true", arg, true);
      i++;
    } else {
      set(key, strings.has(key) ? "" : true, arg, true);
    }
  }

  for (const [key, value] of Object.entries(defaults ?? {})) {
    const keys = key.split(".");
    if (hasPath(argv, keys)) continue;
    setPath(argv, keys, value);
    for (const other of aliases.get(key) ?? []) setPath(argv, other.split("."), value);
  }
  for (const key of booleans) {
    const keys = key.split(".");
    if (!hasPath(argv, keys)) setPath(argv, keys, collects.has(key) ? [] : false);
  }
  for (const key of strings) {
    const keys = key.split(".");
    if (!hasPath(argv, keys) && collects.has(key)) setPath(argv, keys, []);
  }

  if (doubleDash) argv["--"] = rest;
  else argv._.push(...rest);

  return argv as Args<TArgs, TDoubleDash>;
}
