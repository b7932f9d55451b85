// SPDX-License-Identifier: GPL-2.0-only
// Compatibility subset of jsr:@std/fs@1: same API as std; specs for the glob syntax of expandGlob
// (std's `globToRegExp`/`isGlob`; POSIX paths).
import { assert, assertEquals, assertFalse } from "@std/assert";
import { type GlobOptions, globToRegExp, isGlob, unescapeGlobSegment } from "./_glob.ts";

const plain: GlobOptions = { extended: false, globstar: false };

function matches(glob: string, path: string, options?: GlobOptions): boolean {
  return globToRegExp(glob, options).test(path);
}

Deno.test("globToRegExp() anchors the pattern and allows trailing separators", () => {
  assertEquals(globToRegExp("*.js"), /^[^/]*\.js\/*$/);
  assertEquals(globToRegExp(""), /(?!)/);
  assert(matches("foo", "foo/"));
  assert(matches("foo/", "foo"));
  assert(matches("foo/bar", "foo//bar"));
});

Deno.test("globToRegExp() matches * and ? within one path segment", () => {
  assert(matches("u*orn", "unicorn", plain));
  assertFalse(matches("ico", "unicorn", plain));
  assert(matches("f?o?", "fooo", plain));
  assertFalse(matches("foo?", "foo", plain));
  assertFalse(matches("http://foo.com/*", "http://foo.com/bar/baz.js"));
});

Deno.test("globToRegExp() matches [seq], [!seq] and [[:class:]] ranges", () => {
  assert(matches("fo[oz]", "foz", plain));
  assertFalse(matches("fo[oz]", "fog", plain));
  assert(matches("fo[a-z]", "fob", plain));
  assertFalse(matches("fo[!tz]", "fot", plain));
  assert(matches("fo[!tz]", "fob", plain));
  assert(matches("[[:alnum:]abc]/bar.txt", "1/bar.txt", plain));
  assertFalse(matches("[[:alnum:]]/bar.txt", "!/bar.txt", plain));
  for (const c of "\t\n\v\f\r ") assert(matches("[[:space:]]", c), JSON.stringify(c));
  assertEquals(globToRegExp("[!?*+@!|]"), /^[^?*+@!|]\/*$/);
  assertEquals(globToRegExp("[^^]"), /^[\^^]\/*$/);
});

Deno.test("globToRegExp() expands {a,b} alternatives", () => {
  assert(matches("foo{bar,baaz}", "foobaaz", plain));
  assertFalse(matches("foo{bar,baaz}", "foobuzz", plain));
  assert(matches("foo{bar,b*z}", "foobuzz", plain));
  assert(matches("http://?o[oz].b*z.com/{*.js,*.html}", "http://moz.buzz.com/index.html", plain));
  assertFalse(
    matches("http://?o[oz].b*z.com/{*.js,*.html}", "http://moz.buzz.com/index.htm", plain),
  );
});

Deno.test("globToRegExp() lets a whole ** segment match any number of directories", () => {
  assert(matches("/foo/**", "/foo/bar/baz.txt"));
  assertFalse(matches("/foo/**", "/foo/bar/baz.txt", { globstar: false }));
  assert(matches("/foo/**/*.txt", "/foo/bar.txt"));
  assert(matches("/foo/**/**/bar.txt", "/foo/bar.txt"));
  assert(matches("**/*.txt", "/foo/bar/baz/qux.txt"));
  assert(matches("**/foo.txt", "foo.txt"));
  assertFalse(matches("/foo/**.txt", "/foo/bar/baz/qux.txt"));
  assertFalse(matches("/foo/bar**", "/foo/bar/baz.txt"));
});

Deno.test("globToRegExp() supports extended groups unless extended is false", () => {
  assert(matches("?(foo|bar)baz.txt", "foobaz.txt"));
  assertFalse(matches("?(foo|bar)baz.txt", "foobarbaz.txt"));
  assert(matches("*(foo|bar).txt", "barfoobar.txt"));
  assert(matches("+(foo|bar).txt", "foobar.txt"));
  assertFalse(matches("+(foo).txt", ".txt"));
  assert(matches("@(foo|baz)bar.txt", "foobar.txt"));
  assertFalse(matches("@(foo|baz)bar.txt", "foobazbar.txt"));
  assert(matches("!(foo|baz)bar.txt", "buzbar.txt"));
  assertFalse(matches("!({foo,bar})baz.txt", "foobaz.txt"));
  assert(matches("+(foo).txt", "+(foo).txt", { extended: false }));
});

Deno.test("globToRegExp() takes special characters, escapes and unclosed groups literally", () => {
  const glob = "\\/$^+.()=!|,.*";
  assert(matches(glob, glob));
  assert(matches("\\[ab]", "[ab]"));
  assert(matches("\\*(foo|bar)", "*(foo|bar)"));
  assert(matches("{foo,bar}/[ab", "foo/[ab"));
  assert(matches("{foo,bar}/?(foo|bar", "foo/?(foo|bar"));
  assert(matches("{foo,bar}/[ab]\\", "foo/[ab]\\"));
});

Deno.test("globToRegExp() honours caseInsensitive", () => {
  assertFalse(matches("*.TS", "mod.ts"));
  assert(matches("*.TS", "mod.ts", { caseInsensitive: true }));
});

Deno.test("isGlob() recognises glob syntax and ignores escaped or plain text", () => {
  for (const g of ["*.ts", "a?c", "[ab]", "{a,b}", "!neg", "@(x|y)", "+(a|b)", "a/**/b"]) {
    assert(isGlob(g), g);
  }
  for (const g of ["", "plain", "dir/file.ts", "\\*.ts", "a\\?b", "[]", "{}"]) {
    assertFalse(isGlob(g), g);
  }
});

Deno.test("unescapeGlobSegment() drops escapes before glob metacharacters only", () => {
  assertEquals(unescapeGlobSegment("a\\*b\\[c\\]"), "a*b[c]");
  assertEquals(unescapeGlobSegment("a\\nb"), "a\\nb");
});
