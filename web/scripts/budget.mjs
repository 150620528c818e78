// The first-load budget, checked by every build: the JavaScript that
// index.html loads before the app can show anything (its module script and
// the modules it preloads), gzip-compressed as the gateway could serve it.
// Fails the build above the budget (ADR 0017).
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_JS_GZIP = 250 * 1024;
const BUDGET_CSS_GZIP = 50 * 1024;

const dist = resolve(dirname(fileURLToPath(import.meta.url)), "../dist");
const html = readFileSync(resolve(dist, "index.html"), "utf8");
const refs = (pattern) => [...html.matchAll(pattern)].map((m) => m[1]);
const js = [...refs(/<script[^>]+src="([^"]+\.js)"/g), ...refs(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g)];
const css = refs(/<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"/g);
if (js.length === 0) throw new Error("budget: index.html loads no script; is dist/ a build?");

const size = (files) =>
  files.reduce(
    (sum, file) => {
      const bytes = readFileSync(resolve(dist, file.replace(/^\//, "")));
      return { raw: sum.raw + bytes.length, gzip: sum.gzip + gzipSync(bytes, { level: 9 }).length };
    },
    { raw: 0, gzip: 0 },
  );

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const j = size(js);
const c = size(css);
console.log(`first load: JS ${kb(j.gzip)} gzip (${kb(j.raw)} raw) of ${kb(BUDGET_JS_GZIP)} budget; CSS ${kb(c.gzip)} gzip of ${kb(BUDGET_CSS_GZIP)}`);
if (j.gzip > BUDGET_JS_GZIP || c.gzip > BUDGET_CSS_GZIP) {
  console.error("budget exceeded: the first load must stay within the budget (see docs/adr, web client)");
  process.exit(1);
}
