import { describe, expect, it } from "vitest";
import { href, matchPath, parseHash } from "./router";

describe("router", () => {
  it("parses hash locations", () => {
    const loc = parseHash("#/c/c1?tab=members");
    expect(loc.path).toBe("/c/c1");
    expect(loc.query.get("tab")).toBe("members");
    expect(parseHash("").path).toBe("/");
  });

  it("matches whole segments and decodes params", () => {
    expect(matchPath("/c/:id", "/c/a%20b")).toEqual({ id: "a b" });
    expect(matchPath("/c/:id", "/c/1/x")).toBeNull();
    expect(matchPath("/p/:id/history", "/p/9/history")).toEqual({ id: "9" });
    expect(matchPath("/c/:id", "/c/%E0%A4%A")).toBeNull();
  });

  it("builds hrefs without empty parameters", () => {
    expect(href("/search", { q: "kafka", type: "", tag: undefined })).toBe("#/search?q=kafka");
  });
});
