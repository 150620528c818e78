import { describe, expect, it } from "vitest";
import { de } from "./de";
import { en } from "./en";
import { formatDateTime, formatMessage, formatNumber, formatRelative, interpolate } from "./format";
import { browserLocale, makeI18n } from "./index";

const placeholders = (message: unknown): string[] =>
  [...new Set(JSON.stringify(message).match(/\{(\w+)\}/g) ?? [])].sort();

describe("catalogs", () => {
  it("German has exactly the English keys", () => {
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
  });

  it("every message uses the same parameters in both languages and none is empty", () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(de[key]), key).toEqual(placeholders(en[key]));
      expect(JSON.stringify(de[key]).length, key).toBeGreaterThan(2);
    }
  });

  it("German is really translated (not a copy of English)", () => {
    const same = (Object.keys(en) as (keyof typeof en)[]).filter((k) => JSON.stringify(en[k]) === JSON.stringify(de[k]));
    // Names and loan words (Guildhall, Status, Feed, Name…) may be equal; most must differ.
    expect(same.length).toBeLessThan(Object.keys(en).length / 10);
  });
});

describe("formatting", () => {
  it("chooses plural forms per language", () => {
    const m = { one: "{count} answer", other: "{count} answers", zero: "No answers" };
    expect(formatMessage(m, { count: 0 }, "en")).toBe("No answers");
    expect(formatMessage(m, { count: 1 }, "en")).toBe("1 answer");
    expect(formatMessage(m, { count: 1200 }, "en")).toBe("1,200 answers");
    expect(formatMessage(m, { count: 1200 }, "de")).toBe("1.200 answers");
  });

  it("leaves unknown placeholders visible instead of dropping text", () => {
    expect(interpolate("Hello {name} {missing}", { name: "Ada" }, "en")).toBe("Hello Ada {missing}");
  });

  it("formats numbers and dates for the locale", () => {
    expect(formatNumber(1234.5, "de")).toBe("1.234,5");
    expect(formatNumber(1234.5, "en")).toBe("1,234.5");
    const iso = "2026-12-03T14:05:00Z";
    expect(formatDateTime(iso, "de")).toMatch(/2026/);
    expect(formatDateTime(iso, "de")).not.toEqual(formatDateTime(iso, "en"));
    expect(formatDateTime("not a date", "en")).toBe("");
  });

  it("writes relative times", () => {
    const now = new Date("2026-12-03T12:00:00Z");
    expect(formatRelative("2026-12-03T11:55:00Z", "en", now)).toBe("5 minutes ago");
    expect(formatRelative("2026-12-03T11:55:00Z", "de", now)).toBe("vor 5 Minuten");
    expect(formatRelative("2026-12-01T12:00:00Z", "en", now)).toBe("2 days ago");
  });

  it("t() reads the chosen catalog", () => {
    expect(makeI18n("de").t("nav.home")).toBe("Start");
    expect(makeI18n("en").t("nav.unread", { count: 2 })).toBe("2 unread notifications");
  });

  it("picks the browser's first supported language", () => {
    expect(browserLocale(["fr-FR", "de-AT", "en"])).toBe("de");
    expect(browserLocale(["fr"])).toBe("en");
  });
});
