// SPDX-License-Identifier: GPL-2.0-only
/**
 * The one C struct layout engine of the SDK: x86-64 System V ABI layouts for
 * scalars, fixed arrays, nested structs and unions, `__packed` and flexible
 * array members, with typed views over `ArrayBuffer` and `SharedArrayBuffer`.
 *
 * Every byte-exact structure (the KVM uAPI, the TD boot parameters, guest
 * data structures) is declared once with this engine; gcc is its oracle
 * (see `layout_oracle_test.ts`).
 *
 * ```ts
 * import { struct, u8, u16, u32, u64, sizeof, offsetof } from "./layout.ts";
 * const kvm_segment = struct("kvm_segment", {
 *   base: u64, limit: u32, selector: u16, type: u8, present: u8,
 *   dpl: u8, db: u8, s: u8, l: u8, g: u8, avl: u8, unusable: u8, padding: u8,
 * });
 * sizeof(kvm_segment); // 24
 * offsetof(kvm_segment, "selector"); // 12
 * const seg = kvm_segment.alloc();
 * seg.selector = 0x10;
 * ```
 *
 * C11 anonymous members (`struct kvm_run { ...; union { ... }; ... }`) are
 * declared with a key that starts with `$`, which no C identifier can: their
 * members are promoted into the enclosing record, for views and `offsetof`
 * alike, as in C (`run.io.port`, `offsetof(kvm_run, "io.port")`).
 *
 * Each scalar is also a type of the same name, so an explicit type for an
 * exported layout reads like its C declaration:
 *
 * ```ts
 * import { type RecordType, struct, u32, u64 } from "./layout.ts";
 * export const kvm_msr_entry: RecordType<{ index: u32; reserved: u32; data: u64 }> =
 *   struct("kvm_msr_entry", { index: u32, reserved: u32, data: u64 });
 * ```
 *
 * @module
 */

/** Bytes of a C object: either a raw buffer or a view into one. */
export type Bytes = ArrayBufferLike | ArrayBufferView;

/** A scalar C type (`__u8` .. `__s64`); 64-bit scalars read as `bigint`. */
export interface Scalar<T extends number | bigint = number | bigint> {
  /** Discriminates the kinds of C type. */
  readonly kind: "scalar";
  /** The C spelling, for diagnostics and the gcc oracle. */
  readonly name: string;
  /** `sizeof` the type. */
  readonly size: number;
  /** `_Alignof` the type. */
  readonly align: number;
  /** Reads one value at `off` (little-endian, as on x86-64). */
  get(dv: DataView, off: number): T;
  /** Writes one value at `off`; numbers are truncated to the width as C does. */
  set(dv: DataView, off: number, v: T): void;
}

/** A fixed-length C array `T name[n]`. */
export interface ArrayType<E extends CType = CType> {
  /** Discriminates the kinds of C type. */
  readonly kind: "array";
  /** The element type. */
  readonly elem: E;
  /** The number of elements (0 for a flexible array member). */
  readonly length: number;
  /** `sizeof` the array. */
  readonly size: number;
  /** `_Alignof` the array: that of its element. */
  readonly align: number;
  /** Whether this is a flexible array member (`T name[]`). */
  readonly flexible: boolean;
}

/**
 * Field list of a struct or union, in declaration order. A key that starts
 * with `$` declares an anonymous struct or union member.
 */
export type Fields = { readonly [name: string]: CType };

/** Options of {@linkcode struct} and {@linkcode union}. */
export interface RecordOptions {
  /** `__attribute__((packed))`: every member at alignment 1. */
  packed?: boolean;
  /** `__attribute__((aligned(n)))` on the whole type. */
  aligned?: number;
}

/** One member of a record, as laid out. */
export interface Member {
  /** The member's name. */
  readonly name: string;
  /** The member's type. */
  readonly type: CType;
  /** `offsetof` the member. */
  readonly offset: number;
}

/** A C struct or union type, and the factory of its views. */
export interface RecordType<F extends Fields = Fields> {
  /** Discriminates the kinds of C type. */
  readonly kind: "struct" | "union";
  /** The tag, as in `struct <name>`. */
  readonly name: string;
  /** `sizeof` the record (a flexible array member adds nothing). */
  readonly size: number;
  /** `_Alignof` the record. */
  readonly align: number;
  /** Whether the record was declared `__packed`. */
  readonly packed: boolean;
  /** The members in declaration order (anonymous ones under their `$` key). */
  readonly members: readonly Member[];
  /** The members by name. */
  readonly fields: F;
  /**
   * The flexible array member that ends the record: its own last member, or
   * the one that ends its last member when that is a struct (as
   * `struct kvm_cpuid2 cpuid;` ends `struct kvm_tdx_init_vm`); `undefined`
   * when the record has a fixed size.
   */
  readonly flexTail: ArrayType | undefined;
  /** A view of the record at `offset` in `bytes`. */
  view(bytes: Bytes, offset?: number): View<F>;
  /**
   * A view over a new zeroed buffer of `sizeof` bytes, plus `flex` elements
   * of the flexible tail (as `malloc(sizeof(*p) + n * sizeof(e))`).
   */
  alloc(flex?: number, options?: { shared?: boolean }): View<F>;
}

/** Any C type the engine lays out. */
export type CType = Scalar | ArrayType | RecordType;

/** The bytes and place behind a view; `$` cannot start a C identifier, so no member collides. */
export interface ViewBase {
  /** The record's type. */
  readonly $type: RecordType;
  /** The whole buffer the view reads from. */
  readonly $buffer: ArrayBufferLike;
  /** Offset of the record in `$buffer`. */
  readonly $offset: number;
  /** The record's bytes, including a flexible array member's elements when they fit. */
  readonly $bytes: Uint8Array;
  /** A DataView on `$buffer`, for code that indexes by `offsetof`. */
  readonly $dv: DataView;
}

/** The JavaScript type a member of C type `T` reads as. */
export type ValueOf<T> = T extends Scalar<infer V> ? V
  : T extends ArrayType<infer E> ? ArrayView<ValueOf<E>>
  : T extends RecordType<infer F> ? View<F>
  : never;

/**
 * The accessors of a record's members: one per named member, plus the
 * members of its anonymous (`$`) members, promoted as C does. A record whose
 * members are not known (`Fields`) has none, so that every view is a
 * `View<Fields>`.
 */
export type Members<F extends Fields> =
  & {
    -readonly [K in keyof F as string extends K ? never : K extends `$${string}` ? never : K]:
      ValueOf<F[K]>;
  }
  & ({
    [K in keyof F]: K extends `$${string}`
      ? (m: F[K] extends RecordType<infer G> ? Members<G> : never) => void
      : never;
  }[keyof F] extends (m: infer I) => void ? I : unknown);

/** A typed view of a record: one accessor per member. */
export type View<F extends Fields> = ViewBase & Members<F>;

/** A view of a C array member: index with `at`/`set`, iterate, copy out. */
export interface ArrayView<T> extends Iterable<T> {
  /** The number of elements (for a flexible array: those that fit in the buffer). */
  readonly length: number;
  /** Element `i` (a value for scalars, a view for records and arrays). */
  at(i: number): T;
  /** Stores a scalar element. */
  set(i: number, v: T): void;
  /** The elements as a plain array. */
  toArray(): T[];
  /** The array's bytes. */
  readonly $bytes: Uint8Array;
}

function scalar<T extends number | bigint>(
  name: string,
  size: number,
  get: (dv: DataView, off: number) => T,
  set: (dv: DataView, off: number, v: T) => void,
): Scalar<T> {
  return Object.freeze({ kind: "scalar", name, size, align: size, get, set });
}

/** `__u8`, as a type: the type of {@linkcode u8}. */
export type u8 = Scalar<number>;
/** `__u8` */
export const u8: Scalar<number> = scalar(
  "__u8",
  1,
  (d, o) => d.getUint8(o),
  (d, o, v) => d.setUint8(o, v),
);
/** `__u16`, as a type: the type of {@linkcode u16}. */
export type u16 = Scalar<number>;
/** `__u16` */
export const u16: Scalar<number> = scalar(
  "__u16",
  2,
  (d, o) => d.getUint16(o, true),
  (d, o, v) => d.setUint16(o, v, true),
);
/** `__u32`, as a type: the type of {@linkcode u32}. */
export type u32 = Scalar<number>;
/** `__u32` */
export const u32: Scalar<number> = scalar(
  "__u32",
  4,
  (d, o) => d.getUint32(o, true),
  (d, o, v) => d.setUint32(o, v, true),
);
/** `__u64`, as a type: the type of {@linkcode u64}. */
export type u64 = Scalar<bigint>;
/** `__u64` */
export const u64: Scalar<bigint> = scalar(
  "__u64",
  8,
  (d, o) => d.getBigUint64(o, true),
  (d, o, v) => d.setBigUint64(o, BigInt.asUintN(64, v), true),
);
/** `__s8`, as a type: the type of {@linkcode s8}. */
export type s8 = Scalar<number>;
/** `__s8` */
export const s8: Scalar<number> = scalar(
  "__s8",
  1,
  (d, o) => d.getInt8(o),
  (d, o, v) => d.setInt8(o, v),
);
/** `__s16`, as a type: the type of {@linkcode s16}. */
export type s16 = Scalar<number>;
/** `__s16` */
export const s16: Scalar<number> = scalar(
  "__s16",
  2,
  (d, o) => d.getInt16(o, true),
  (d, o, v) => d.setInt16(o, v, true),
);
/** `__s32`, as a type: the type of {@linkcode s32}. */
export type s32 = Scalar<number>;
/** `__s32` */
export const s32: Scalar<number> = scalar(
  "__s32",
  4,
  (d, o) => d.getInt32(o, true),
  (d, o, v) => d.setInt32(o, v, true),
);
/** `__s64`, as a type: the type of {@linkcode s64}. */
export type s64 = Scalar<bigint>;
/** `__s64` */
export const s64: Scalar<bigint> = scalar(
  "__s64",
  8,
  (d, o) => d.getBigInt64(o, true),
  (d, o, v) => d.setBigInt64(o, BigInt.asIntN(64, v), true),
);

/** `double`, as a type: the type of {@linkcode f64}. */
export type f64 = Scalar<number>;
/** `double` (IEEE 754 binary64; 8-byte aligned on x86-64) */
export const f64: Scalar<number> = scalar(
  "double",
  8,
  (d, o) => d.getFloat64(o, true),
  (d, o, v) => d.setFloat64(o, v, true),
);

/** `T name[length]`: a fixed array of `length` elements. */
export function array<E extends CType>(elem: E, length: number): ArrayType<E> {
  noFlexibleElement(elem);
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(
      `Cannot declare array of ${length} elements: length must be a whole number`,
    );
  }
  return Object.freeze({
    kind: "array",
    elem,
    length,
    size: elem.size * length,
    align: elem.align,
    flexible: false,
  });
}

/** `T name[]`: a flexible array member; only valid as the last member of a struct. */
export function flex<E extends CType>(elem: E): ArrayType<E> {
  noFlexibleElement(elem);
  return Object.freeze({
    kind: "array",
    elem,
    length: 0,
    size: 0,
    align: elem.align,
    flexible: true,
  });
}

function noFlexibleElement(elem: CType): void {
  if (hasFlexibleTail(elem)) {
    throw new TypeError("Cannot declare an array of a type that ends in a flexible array");
  }
}

function hasFlexibleTail(type: CType): boolean {
  return type.kind === "array" ? type.flexible : type.kind !== "scalar" && !!type.flexTail;
}

function isAnonymous(name: string): boolean {
  return name.startsWith("$");
}

/**
 * Member `name` of `type`, looked up through anonymous members as C does;
 * the offset is from the start of `type`.
 */
function lookup(type: RecordType, name: string): Member | undefined {
  for (const m of type.members) {
    if (!isAnonymous(m.name)) {
      if (m.name === name) return m;
      continue;
    }
    const inner = lookup(m.type as RecordType, name);
    if (inner) return { name: inner.name, type: inner.type, offset: m.offset + inner.offset };
  }
  return undefined;
}

/** The members a view exposes by name, anonymous ones flattened; offsets from `base`. */
function named(members: readonly Member[], base = 0): Member[] {
  return members.flatMap((m) =>
    isAnonymous(m.name)
      ? named((m.type as RecordType).members, base + m.offset)
      : [{ name: m.name, type: m.type, offset: base + m.offset }]
  );
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function toBuffer(bytes: Bytes, offset: number): [ArrayBufferLike, number] {
  if (ArrayBuffer.isView(bytes)) return [bytes.buffer, bytes.byteOffset + offset];
  return [bytes, offset];
}

const dataViews = new WeakMap<ArrayBufferLike, DataView>();

function dataViewOf(buf: ArrayBufferLike): DataView {
  let dv = dataViews.get(buf);
  if (!dv) {
    dv = new DataView(buf);
    dataViews.set(buf, dv);
  }
  return dv;
}

class ArrayViewImpl<T> implements ArrayView<T> {
  readonly length: number;
  readonly #type: ArrayType;
  readonly #buf: ArrayBufferLike;
  readonly #off: number;

  constructor(type: ArrayType, buf: ArrayBufferLike, off: number) {
    this.#type = type;
    this.#buf = buf;
    this.#off = off;
    this.length = type.flexible
      ? Math.max(0, Math.floor((buf.byteLength - off) / (type.elem.size || 1)))
      : type.length;
  }

  at(i: number): T {
    this.#check(i);
    return read(this.#type.elem, this.#buf, this.#off + i * this.#type.elem.size) as T;
  }

  set(i: number, v: T): void {
    this.#check(i);
    const elem = this.#type.elem;
    if (elem.kind !== "scalar") throw new TypeError("Cannot assign an aggregate array element");
    (elem as Scalar).set(dataViewOf(this.#buf), this.#off + i * elem.size, v as number | bigint);
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i));
    return out;
  }

  get $bytes(): Uint8Array {
    return new Uint8Array(this.#buf, this.#off, this.length * this.#type.elem.size);
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`Index ${i} out of bounds of array[${this.length}]`);
    }
  }
}

function read(type: CType, buf: ArrayBufferLike, off: number): unknown {
  switch (type.kind) {
    case "scalar":
      return type.get(dataViewOf(buf), off);
    case "array":
      return new ArrayViewImpl(type, buf, off);
    default:
      return type.view(buf, off);
  }
}

/** The own state of every record view; accessors live on a per-type prototype. */
interface ViewImpl {
  $buffer: ArrayBufferLike;
  $offset: number;
  $dv: DataView;
}

function assignMember(view: Record<string, unknown>, m: Member, v: unknown): void {
  const cur = view[m.name] as ViewBase | ArrayView<unknown>;
  const src = v as ViewBase | ArrayView<unknown> | ArrayLike<unknown>;
  if ("$bytes" in src && src.$bytes instanceof Uint8Array) {
    // Struct assignment in C copies the bytes.
    cur.$bytes.set(src.$bytes.subarray(0, cur.$bytes.length));
  } else if (m.type.kind === "array") {
    const arr = cur as ArrayView<unknown>;
    const list = src as ArrayLike<unknown>;
    for (let i = 0; i < list.length && i < arr.length; i++) arr.set(i, list[i]);
  } else {
    throw new TypeError(`Cannot assign to member '${m.name}': not a struct value`);
  }
}

function makeRecord<F extends Fields>(
  kind: "struct" | "union",
  name: string,
  fields: F,
  options: RecordOptions,
): RecordType<F> {
  const packed = options.packed ?? false;
  const members: Member[] = [];
  let offset = 0;
  let size = 0;
  let align = 1;
  const names = Object.keys(fields);
  names.forEach((key, i) => {
    const type = fields[key]!;
    if (hasFlexibleTail(type) && (kind === "union" || i !== names.length - 1)) {
      throw new TypeError(`Flexible array member '${key}' must be the last member of a struct`);
    }
    if (isAnonymous(key) && type.kind !== "struct" && type.kind !== "union") {
      throw new TypeError(`Anonymous member '${key}' must be a struct or union`);
    }
    const a = packed ? 1 : type.align;
    align = Math.max(align, a);
    if (kind === "struct") {
      offset = alignUp(offset, a);
      members.push(Object.freeze({ name: key, type, offset }));
      offset += type.size;
      size = offset;
    } else {
      members.push(Object.freeze({ name: key, type, offset: 0 }));
      size = Math.max(size, type.size);
    }
  });
  if (options.aligned !== undefined) align = Math.max(align, options.aligned);
  size = alignUp(size, align);

  const last = members[members.length - 1];
  const flexTail = kind === "union" || !last || !hasFlexibleTail(last.type)
    ? undefined
    : last.type.kind === "array"
    ? last.type
    : (last.type as RecordType).flexTail;

  const accessible = named(members);
  const seen = new Set<string>();
  for (const m of accessible) {
    if (seen.has(m.name)) throw new TypeError(`Duplicate member '${m.name}' in ${kind} ${name}`);
    seen.add(m.name);
  }
  // The view prototype (one accessor pair per member) is built at the first
  // view: a process declares hundreds of kernel structs and views a few.
  let proto: object | undefined;
  const view_proto = (): object => {
    const p = {};
    for (const m of accessible) {
      const off = m.offset;
      const t = m.type;
      if (t.kind === "scalar") {
        Object.defineProperty(p, m.name, {
          get(this: ViewImpl) {
            return t.get(this.$dv, this.$offset + off);
          },
          set(this: ViewImpl, v: number | bigint) {
            t.set(this.$dv, this.$offset + off, v);
          },
          enumerable: true,
        });
      } else {
        Object.defineProperty(p, m.name, {
          get(this: ViewImpl) {
            return read(t, this.$buffer, this.$offset + off);
          },
          set(this: ViewImpl, v: unknown) {
            assignMember(this as unknown as Record<string, unknown>, m, v);
          },
          enumerable: true,
        });
      }
    }
    Object.defineProperty(p, "$type", { value: type });
    Object.defineProperty(p, "$bytes", {
      get(this: ViewImpl) {
        const end = flexTail ? this.$buffer.byteLength : this.$offset + size;
        return new Uint8Array(this.$buffer, this.$offset, end - this.$offset);
      },
    });
    return p;
  };

  const type: RecordType<F> = {
    kind,
    name,
    size,
    align,
    packed,
    members: Object.freeze(members),
    fields,
    flexTail,
    view(bytes: Bytes, offset = 0): View<F> {
      const [buf, off] = toBuffer(bytes, offset);
      if (off < 0 || off + size > buf.byteLength) {
        throw new RangeError(
          `Cannot view ${kind} ${name} (${size} bytes) at offset ${off} of a ${buf.byteLength}-byte buffer`,
        );
      }
      const v = Object.create(proto ??= view_proto()) as ViewImpl;
      v.$buffer = buf;
      v.$offset = off;
      v.$dv = dataViewOf(buf);
      return v as unknown as View<F>;
    },
    alloc(n = 0, opts: { shared?: boolean } = {}): View<F> {
      const extra = flexTail ? n * flexTail.elem.size : 0;
      const len = size + extra;
      const buf = opts.shared ? new SharedArrayBuffer(len) : new ArrayBuffer(len);
      return this.view(buf, 0);
    },
  };
  return Object.freeze(type);
}

/** Declares `struct name { ... }`; member order is the object's key order. */
export function struct<F extends Fields>(
  name: string,
  fields: F,
  options: RecordOptions = {},
): RecordType<F> {
  return makeRecord("struct", name, fields, options);
}

/** Declares `union name { ... }`. */
export function union<F extends Fields>(
  name: string,
  fields: F,
  options: RecordOptions = {},
): RecordType<F> {
  return makeRecord("union", name, fields, options);
}

/** `sizeof(type)`. */
export function sizeof(type: CType): number {
  return type.size;
}

/** `_Alignof(type)`. */
export function alignof(type: CType): number {
  return type.align;
}

/**
 * `offsetof(type, designator)`, with the nested designators C allows:
 * `offsetof(struct kvm_run, io.port)` is `offsetof(kvm_run, "io.port")`,
 * and array elements are `"entries[2].eax"`.
 */
export function offsetof(type: RecordType, designator: string): number {
  let t: CType = type;
  let off = 0;
  for (const part of designator.split(".")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (t.kind !== "struct" && t.kind !== "union")) {
      throw new TypeError(`Cannot take offsetof(${type.name}, ${designator})`);
    }
    const member = lookup(t, m[1]!);
    if (!member) throw new TypeError(`${t.kind} ${t.name} has no member named '${m[1]}'`);
    off += member.offset;
    t = member.type;
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) {
      if (t.kind !== "array") {
        throw new TypeError(`Member '${part}' of ${type.name} is not an array`);
      }
      off += Number(idx[1]) * t.elem.size;
      t = t.elem;
    }
  }
  return off;
}

/** `sizeof(((T *)0)->designator)`: the size of a (nested) member. */
export function member_size(type: RecordType, designator: string): number {
  let t: CType = type;
  for (const part of designator.split(".")) {
    const name = part.replace(/\[\d+\]/g, "");
    if (t.kind !== "struct" && t.kind !== "union") {
      throw new TypeError(`Bad designator ${designator}`);
    }
    const m = lookup(t, name);
    if (!m) throw new TypeError(`${t.kind} ${t.name} has no member named '${name}'`);
    t = m.type;
    for (const _ of part.matchAll(/\[\d+\]/g)) {
      if (t.kind !== "array") throw new TypeError(`Member '${part}' is not an array`);
      t = t.elem;
    }
  }
  return t.size;
}

// ---------------------------------------------------------------------------
// C declarations of the layouts

function naturalAlign(t: RecordType): number {
  if (t.packed) return 1;
  return t.members.reduce((a, m) => Math.max(a, m.type.align), 1);
}

function attributes(t: RecordType): string {
  const a: string[] = [];
  if (t.packed) a.push("packed");
  if (t.align > naturalAlign(t)) a.push(`aligned(${t.align})`);
  return a.length ? ` __attribute__((${a.join(", ")}))` : "";
}

/** `T name` with the array suffixes of `type`, as a C declarator. */
function declarator(type: CType, name: string, indent: string): string {
  let suffix = "";
  let t: CType = type;
  while (t.kind === "array") {
    suffix += t.flexible ? "[]" : `[${t.length}]`;
    t = t.elem;
  }
  const sep = name === "" ? "" : " ";
  if (t.kind === "scalar") return `${t.name}${sep}${name}${suffix}`;
  if (t.name !== "") return `${t.kind} ${t.name}${sep}${name}${suffix}`;
  return `${body(t, indent)}${sep}${name}${suffix}`;
}

/** `struct { ... }` (or union) with the members at `indent` + one tab. */
function body(t: RecordType, indent: string): string {
  const inner = `${indent}\t`;
  const lines = t.members.map((m) =>
    `${inner}${declarator(m.type, m.name.startsWith("$") ? "" : m.name, inner)};`
  );
  return `${t.kind} {\n${lines.join("\n")}\n${indent}}${attributes(t)}`;
}

/**
 * The C declaration of a named struct or union, as a uAPI header writes it
 * (`struct kvm_regs {\n\t__u64 rax;\n ...};`): anonymous members and
 * unnamed member types inline, named member types by tag (declare them first:
 * {@linkcode c_declarations}), `__attribute__((packed))` and `aligned(n)`
 * after the closing brace where the layout has them (the kernel's `__packed`),
 * flexible array members as `[]`.
 *
 * @param type a record with a tag
 * @returns the declaration, ending in `;`
 */
export function c_declaration(type: RecordType): string {
  if (type.name === "") throw new TypeError("c_declaration() needs a struct or union with a tag");
  return `${type.kind} ${type.name} ${body(type, "").slice(type.kind.length + 1)};`;
}

/**
 * The C declarations of `types` and of every tagged record they use, each
 * once, dependencies first: a header gcc can compile.
 *
 * @param types the records to declare
 * @returns the declarations, blank-line separated
 */
export function c_declarations(types: Iterable<RecordType>): string {
  const done = new Set<RecordType>();
  const out: string[] = [];
  const visit = (t: CType) => {
    if (t.kind === "array") return visit(t.elem);
    if (t.kind === "scalar") return;
    if (t.name !== "" && done.has(t)) return;
    for (const m of t.members) visit(m.type);
    if (t.name === "") return;
    done.add(t);
    out.push(c_declaration(t));
  };
  for (const t of types) visit(t);
  return out.join("\n\n");
}
