/**
 * Every user-facing string comes from the catalogs: no component writes
 * words as JSX text or as a label/title/placeholder attribute literal.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "test" || name === "generated" ? [] : sources(path);
    return name.endsWith(".tsx") && !name.endsWith(".test.tsx") ? [path] : [];
  });
}

// Text between a tag's end and the next tag or expression: `>Save<`.
const JSX_TEXT = /(?<!=)>\s*([^<>{}()=;&|?:]*\p{L}{2,}[^<>{}()=;&|?:]*)\s*</gu;
// Attributes people read or hear, with a literal value.
const ATTRIBUTE = /\s(?:aria-label|title|placeholder|alt)="([^"]*\p{L}[^"]*)"/gu;

describe("no hard-coded user-facing strings", () => {
  it("finds components to check", () => {
    expect(sources(SRC).length).toBeGreaterThan(15);
  });

  for (const file of sources(SRC)) {
    it(file.slice(SRC.length + 1), () => {
      const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      const found = [...text.matchAll(JSX_TEXT), ...text.matchAll(ATTRIBUTE)].map((m) => (m[1] ?? "").trim()).filter(Boolean);
      expect(found).toEqual([]);
    });
  }
});
