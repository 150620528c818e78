// Debian's Chromium driven by playwright-core: launched from /usr/bin/chromium
// (never a browser downloaded by a tool), headless, with the background
// networking that would otherwise try to reach the internet switched off.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
export const AXE_PATH = require.resolve("axe-core/axe.min.js");

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-domain-reliability",
  "--metrics-recording-only",
];

/** A headless Chromium with a fresh profile directory, removed on close. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "guildhall-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.GUILDHALL_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
    locale: "en-GB",
    timezoneId: "Europe/Berlin",
  });
  return {
    context,
    /**
     * A new window. The app keeps its sign-in in sessionStorage, which is per
     * window, so each window can be a different person.
     */
    async window({ width = 1280, height = 860 } = {}) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * axe-core injected into the page; returns the serious and critical
 * violations (rule id, impact, the first offending nodes).
 */
export async function axe(page) {
  await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}
