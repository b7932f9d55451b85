// SPDX-License-Identifier: GPL-2.0-only

/**
 * The few POSIX path operations the fs functions need (this package has no
 * `@std/path` to lean on). Paths are `/`-separated; Windows paths are not
 * handled (see std/README.md).
 *
 * @module
 */

/** Accepts a path or a `file:` URL, as every fs function here does. */
export function toPath(p: string | URL): string {
  if (typeof p === "string") return p;
  if (p.protocol !== "file:") throw new TypeError(`Expected a file: URL, got ${p.href}`);
  if (p.host !== "" && p.host !== "localhost") {
    throw new TypeError(`A file: URL must not name a host: ${p.href}`);
  }
  return decodeURIComponent(p.pathname.replace(/%(?![0-9A-Fa-f]{2})/g, "%25"));
}

/** Resolves `.` and `..`, squeezes repeated slashes, drops a trailing slash. */
export function normalize(p: string): string {
  if (p === "") return ".";
  const absolute = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  return absolute ? `/${body}` : body || ".";
}

/** Joins segments and normalizes the result. */
export function join(...parts: string[]): string {
  return normalize(parts.filter((p) => p !== "").join("/"));
}

/** Whether `p` starts at the root. */
export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** `p` made absolute against `base` (the working directory by default). */
export function resolve(p: string, base: string = Deno.cwd()): string {
  return isAbsolute(p) ? normalize(p) : join(base, p);
}

/** The last segment of `p` (`"/"` for the root). */
export function basename(p: string): string {
  const n = normalize(p);
  if (n === "/") return "/";
  return n.slice(n.lastIndexOf("/") + 1);
}

/** Everything but the last segment of a normalized path. */
export function dirname(p: string): string {
  const n = normalize(p);
  const i = n.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : n.slice(0, i);
}
