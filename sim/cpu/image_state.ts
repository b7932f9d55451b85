// SPDX-License-Identifier: GPL-2.0-only
/**
 * Whether a guest image module holds state of its own that guest code could
 * change, decided from its source before a pooled vCPU worker serves the
 * next VM (`worker.ts`).
 *
 * Why it matters: a C test's guest starts each VM from the ELF's initial
 * `.data`, because `kvm_vm_elf_load()` copies the file into the new VM's
 * memory. The TypeScript twin of `.data` is the image module's own
 * top-level bindings, so a worker that serves another VM imports a fresh
 * instance of the image, which costs milliseconds per VM (Deno resolves
 * the module graph and compiles the instance again). An image whose
 * top level creates nothing guest code could change has nothing to reset:
 * the instance already loaded is what a fresh import would give, so the
 * worker keeps it.
 *
 * The rule is conservative, and anything it does not recognise counts as
 * state (the worker then re-imports as before). A module has no state of its
 * own when every top-level statement is an import or re-export, a type,
 * interface or enum declaration, a function declaration, a statement that
 * declares nothing (a call, an `if`), or a `const` whose value is
 * immutable or a function: a literal, an expression of literals and
 * identifiers, an arrow or function expression, or a call to a function
 * known to return a primitive or a per-VM-resolved guest global
 * (`guest_global()`, whose value lives in guest memory and is read again in
 * each VM), or a frozen layout (`struct()`). `let`, `var`, classes,
 * decorators, namespaces, destructuring, object, array, `new` or other call
 * initialisers, and statements that store outside any bracket
 * (`f.cache = new Map()`) are state. Guest globals are the
 * C-like way to share data with the guest and keep working either way;
 * module state that other modules hold is shared by every instance anyway.
 *
 * @module
 */

import { js_tokens } from "../../include/guest_code.ts";

/**
 * Callees that return a primitive, or a guest global (whose value is read
 * from each VM's memory).
 */
const PURE_CALLEES = new Set([
  "guest_global",
  "BigInt",
  "Number",
  "String",
  "Boolean",
  "Symbol",
  "parseInt",
  "parseFloat",
  "BIT",
  "BIT_ULL",
  "GENMASK",
  "GENMASK_ULL",
  "offsetof",
  "sizeof",
  "Deno.env.get",
]);
/**
 * Callees whose result is a frozen description guest code has no use to
 * change, whatever their arguments: C struct and union layouts (frozen by
 * `include/c/layout.ts`), and the harness's registrations, which are inert
 * in a vCPU worker and which guest code cannot call into.
 */
const DESCRIPTOR_CALLEES = new Set([
  "struct",
  "union",
  "FIXTURE",
  "FIXTURE_VARIANT",
  "KVM_ONE_VCPU_TEST_SUITE",
]);
/** Objects whose methods return primitives (`Math.max()`, `BigInt.asUintN()`). */
const PURE_OBJECTS = new Set(["Math", "Number", "BigInt", "String"]);
/**
 * Keywords that start a statement: met at depth 0 inside an initialiser,
 * they end it (no `;` before them).
 */
const STATEMENT_START = new Set([
  "const",
  "let",
  "var",
  "export",
  "if",
  "for",
  "while",
  "do",
  "switch",
  "try",
  "return",
  "throw",
  "interface",
  "enum",
  "declare",
]);
/** Assignment operators: a top-level statement using one outside any group stores state. */
const ASSIGNMENTS = new Set([
  "=",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "**=",
  "<<=",
  ">>=",
  ">>>=",
  "&=",
  "|=",
  "^=",
  "&&=",
  "||=",
  "??=",
  "++",
  "--",
]);
/** Statements whose `=` is part of a type or an import, not a store. */
const DECLARES_TYPES = new Set(["import", "type", "interface", "enum", "declare", "export"]);
/** Keywords that continue a statement after its block closes. */
const BLOCK_CONTINUES = new Set(["else", "catch", "finally", "while"]);

const IDENT = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/** Words before a `(` that make it a grouping, not a call. */
const NOT_CALLEES = new Set([
  "typeof",
  "void",
  "in",
  "of",
  "instanceof",
  "as",
  "satisfies",
  "return",
  "delete",
]);

/** The index of the token that closes the group opening at `k`, or -1. */
function group_end(toks: readonly string[], k: number): number {
  let depth = 0;
  for (let j = k; j < toks.length; j++) {
    depth += nesting(toks[j]!);
    if (depth === 0) return j;
  }
  return -1;
}

/**
 * Whether the initialiser `init` is one arrow function (`x => ...`,
 * `async (a: T): R => ...`, `<T>(x: T) => ...`): its body, whatever it
 * holds, runs only when called.
 */
function is_arrow_function(init: readonly string[]): boolean {
  let k = init[0] === "async" ? 1 : 0;
  if (init[k] === "<") {
    // Type parameters, then the parameter list.
    const close = type_arguments_end(init, k);
    if (close < 0) return false;
    k = close + 1;
  }
  if (IDENT.test(init[k] ?? "") && init[k + 1] === "=>") return true;
  if (init[k] !== "(") return false;
  k = group_end(init, k);
  if (k < 0) return false;
  k++;
  if (init[k] === "=>") return true;
  if (init[k] !== ":") return false;
  // A return type, then the arrow.
  for (let depth = 0; k < init.length; k++) {
    const x = init[k]!;
    if (depth === 0 && x === "=>") return true;
    depth += nesting(x);
    if (depth < 0) return false;
  }
  return false;
}

/**
 * The index of the `>` that closes the type arguments (of a call) or type
 * parameters (of an arrow function) opening with the `<` at `k`, when a `(`
 * follows it; otherwise -1 (a comparison).
 */
function type_arguments_end(toks: readonly string[], k: number): number {
  let depth = 0;
  for (let j = k; j < toks.length; j++) {
    const x = toks[j]!;
    if (x === "<") depth++;
    else if (x === ">") depth--;
    else if (x === ">>") depth -= 2;
    else if (x === ";" || x === "=") return -1;
    if (depth === 0) return toks[j + 1] === "(" ? j : -1;
    if (depth < 0) return -1;
  }
  return -1;
}

/**
 * The dotted name called by the `(` at `k` (`Math.max`, `guest_global`),
 * type arguments skipped (`FIXTURE<S>(`), or undefined when the callee is
 * not a plain name.
 */
function callee_before(toks: readonly string[], k: number): string | undefined {
  let j = k - 1;
  if (toks[j] === ">" || toks[j] === ">>") {
    let depth = 0;
    for (; j >= 0; j--) {
      const x = toks[j]!;
      if (x === ">") depth++;
      else if (x === ">>") depth += 2;
      else if (x === "<" && --depth === 0) break;
    }
    if (j < 0) return undefined;
    j--;
  }
  const parts: string[] = [];
  for (;;) {
    const x = toks[j];
    if (x === undefined || !IDENT.test(x)) return undefined;
    parts.unshift(x);
    if (toks[j - 1] !== ".") break;
    j -= 2;
  }
  return parts.join(".");
}

/** The nesting change of one token: brackets, braces, parentheses and template substitutions. */
function nesting(tok: string): number {
  if (tok === "(" || tok === "[" || tok === "{") return 1;
  if (tok === ")" || tok === "]" || tok === "}") return -1;
  if (tok.length > 1 && tok[0] === "`") return tok.endsWith("${") ? 1 : 0;
  if (tok.length > 1 && tok[0] === "}") return tok.endsWith("${") ? 0 : -1;
  return 0;
}

/**
 * Whether the module whose TypeScript or JavaScript source is `src` has
 * top-level state guest code could change (see the module documentation).
 * Source it cannot tokenise counts as state.
 *
 * @param src the module's source text
 * @returns true when a fresh instance could differ from one guest code already ran in
 */
export function image_has_own_state(src: string): boolean {
  return image_own_state(src) !== undefined;
}

/**
 * The first top-level statement of `src` that makes it hold state of its
 * own (its first tokens, for a diagnostic), or `undefined` when there is
 * none. Source that cannot be tokenised is reported as such.
 *
 * @param src the module's source text
 * @returns the statement's start, or undefined
 */
export function image_own_state(src: string): string | undefined {
  let t: string[];
  try {
    t = js_tokens(src).filter((x) => x !== "\n");
  } catch (e) {
    return `(no tokens: ${e instanceof Error ? e.message : String(e)})`;
  }
  // `var` anywhere may be hoisted to the module scope.
  if (t.includes("var")) return "var";
  const n = t.length;
  let i = 0;

  /** Moves past the group that opens at `i`; false when it never closes. */
  const skip_group = (): boolean => {
    const end = group_end(t, i);
    i = end < 0 ? n : end + 1;
    return end >= 0;
  };
  /** Set by {@linkcode skip_statement} when it passed an assignment outside any group. */
  let assigned = false;
  /** Moves past the statement that starts at `i`; false when the source ends inside a group. */
  const skip_statement = (): boolean => {
    let depth = 0;
    assigned = false;
    for (; i < n; i++) {
      const x = t[i]!;
      if (depth === 0 && x === ";") {
        i++;
        return true;
      }
      if (depth === 0 && ASSIGNMENTS.has(x)) assigned = true;
      const d = nesting(x);
      depth += d;
      if (depth < 0) return false;
      if (depth === 0 && d < 0 && x === "}") {
        // A block statement ends with its brace unless a clause follows.
        if (!BLOCK_CONTINUES.has(t[i + 1] ?? "")) {
          i++;
          return true;
        }
      }
    }
    return depth === 0;
  };
  /** Moves past a function declaration (`i` at `function`): parameters, return type, body. */
  const skip_function = (): boolean => {
    while (i < n && t[i] !== "(") {
      if (nesting(t[i]!) > 0) {
        if (!skip_group()) return false;
      } else i++;
    }
    if (!skip_group()) return false;
    while (i < n) {
      const x = t[i]!;
      if (x === ";") {
        i++;
        return true;
      }
      if (x === "{") {
        if (!skip_group()) return false;
        // An object type in the return type is followed by the body.
        if (t[i] !== "{") return true;
        continue;
      }
      if (nesting(x) > 0) {
        if (!skip_group()) return false;
      } else i++;
    }
    return false;
  };
  /** Whether the initialiser tokens `init` can make a value guest code could change. */
  const init_has_state = (init: string[]): boolean => {
    if (init.length === 0) return true;
    if (init[0] === "function" || (init[0] === "async" && init[1] === "function")) return false;
    if (is_arrow_function(init)) return false;
    for (let k = 0; k < init.length; k++) {
      const x = init[k]!;
      if (x === "<" && k > 0 && IDENT.test(init[k - 1]!)) {
        // Type arguments of a call (`f<{ a: number }>(`) make no value: skip them.
        const close = type_arguments_end(init, k);
        if (close > 0) {
          k = close;
          continue;
        }
      }
      if (x === "new" || x === "[" || x === "{" || x === "class" || x === "await") return true;
      // A regular expression literal is an object (with a mutable lastIndex).
      if (x[0] === "/" && x !== "/" && x !== "/=") return true;
      if (k === 0) continue;
      const prev = init[k - 1]!;
      // A tagged template is a call whose result can be anything.
      if (x[0] === "`" && (IDENT.test(prev) || prev === ")" || prev === "]")) return true;
      if (x !== "(") continue;
      if (prev === ")" || prev === "]" || prev === "import" || prev === "?.") return true;
      if (!IDENT.test(prev) && prev !== ">" && prev !== ">>") continue; // a grouping
      if (NOT_CALLEES.has(prev)) continue;
      const callee = callee_before(init, k);
      if (callee === undefined) return true;
      if (DESCRIPTOR_CALLEES.has(callee)) {
        // Its arguments are consumed into a frozen description.
        k = group_end(init, k);
        if (k < 0) return true;
        continue;
      }
      const dot = callee.indexOf(".");
      const pure = PURE_CALLEES.has(callee) ||
        (dot > 0 && callee.indexOf(".", dot + 1) < 0 && PURE_OBJECTS.has(callee.slice(0, dot)));
      if (!pure) return true;
    }
    return false;
  };
  /** Parses `const a = ..., b = ...;` from `i` (at `const`); true when a declarator holds state. */
  const const_has_state = (): boolean => {
    i++;
    for (;;) {
      if (!IDENT.test(t[i] ?? "")) return true; // destructuring
      i++;
      if (t[i] === ":") {
        // The type annotation, up to the `=` at its own depth.
        while (i < n && t[i] !== "=") {
          if (nesting(t[i]!) > 0) {
            if (!skip_group()) return true;
          } else if (t[i] === ";" || t[i] === ",") return true;
          else i++;
        }
      }
      if (t[i] !== "=") return true;
      i++;
      const init: string[] = [];
      let depth = 0;
      while (i < n) {
        const x = t[i]!;
        // A comma at depth 0 starts the next declarator only if one follows
        // (`a = 1, b = 2`), not inside type arguments (`f<A, B>()`).
        const next_declarator = x === "," && IDENT.test(t[i + 1] ?? "") &&
          (t[i + 2] === "=" || t[i + 2] === ":");
        const next_statement = init.length > 0 && STATEMENT_START.has(x) && t[i - 1] !== "as";
        if (depth === 0 && (x === ";" || next_declarator || next_statement)) {
          break;
        }
        depth += nesting(x);
        if (depth < 0) return true;
        init.push(x);
        i++;
      }
      if (depth !== 0 || init_has_state(init)) return true;
      if (t[i] === ",") {
        i++;
        continue;
      }
      if (t[i] === ";") i++;
      return false;
    }
  };

  const state = (start: number) => t.slice(start, start + 6).join(" ");
  while (i < n) {
    const start = i;
    let x = t[i]!;
    if (x === ";") {
      i++;
      continue;
    }
    if (x === "export") {
      i++;
      x = t[i] ?? "";
      if (x === "default") {
        i++;
        x = t[i] ?? "";
        if (x !== "function" && !(x === "async" && t[i + 1] === "function")) return state(start);
      } else if (x === "{" || x === "*") {
        if (!skip_statement()) return state(start);
        continue;
      }
    }
    if (x === "function" || (x === "async" && t[i + 1] === "function")) {
      if (!skip_function()) return state(start);
    } else if (x === "const" && t[i + 1] === "enum") {
      i += 2;
      if (!skip_statement()) return state(start);
    } else if (x === "const") {
      if (const_has_state()) return state(start);
    } else if (
      x === "let" || x === "class" || x === "abstract" || x === "using" ||
      x === "namespace" || x === "module" || x === "@"
    ) {
      return state(start);
    } else if (!skip_statement()) {
      return state(start);
    } else if (assigned && !DECLARES_TYPES.has(x)) {
      // A statement that declares nothing but stores something (`f.cache = new Map()`):
      // module-owned state, unless what it stores to is another module's.
      return state(start);
    }
  }
  return undefined;
}
