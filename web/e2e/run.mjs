// Browser tests of the web client against the real platform (started by
// tests/web/test_browser.py, which seeds people and a community and passes
// their ids in GUILDHALL_E2E, a JSON file). Each flow runs in its own browser
// windows; screenshots of the main pages go to the output folder. Prints one
// line per flow and "N passed, M failed" at the end; exits 1 on any failure.
//
//   GUILDHALL_E2E=<config.json> node e2e/run.mjs [flow name ...]
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { axe, launch } from "./browser.mjs";

const config = JSON.parse(readFileSync(process.env.GUILDHALL_E2E ?? "", "utf8"));
const BASE = config.base_url;
const OUT = config.output_dir;
mkdirSync(OUT, { recursive: true });
const TIMEOUT = 20_000;

class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

/** Opens the app in a new window and signs in as a demo person through the sign-in page. */
async function signIn(browser, name, options = {}) {
  const page = await browser.window(options);
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (error) => console.log(`  [${name}] page error: ${error.message}`));
  await page.goto(`${BASE}/#/`);
  await page.getByRole("button", { name: `Sign in as ${name}` }).click();
  // Signed in once the app frame shows (the sign-in page has a heading too).
  await page.locator("header.topbar").waitFor();
  await page.locator("#main h1").first().waitFor();
  return page;
}

async function go(page, route) {
  const target = `${BASE}/#${route}`;
  // Only the fragment changes between routes: the same address again must reload to re-read.
  if (page.url() === target) await page.reload();
  else await page.goto(target);
  await page.locator("#main h1").first().waitFor();
}

/** Reloads `route` until `locator()` shows (read models follow events). */
async function eventually(page, route, locator, what, within = 30_000) {
  const deadline = Date.now() + within;
  for (;;) {
    await go(page, route);
    try {
      await locator().first().waitFor({ timeout: 2000 });
      return;
    } catch {
      if (Date.now() > deadline) throw new Failure(`never showed: ${what}`);
    }
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false });
}

/** axe-core on the page as it is now: no serious or critical violations. */
async function accessible(page, label) {
  const found = await axe(page);
  check(found.length === 0, `axe on ${label}: ${found.map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(", ")}`).join("; ")}`);
}

async function unread(page) {
  const badge = page.getByTestId("unread-badge");
  return (await badge.count()) ? Number((await badge.textContent()).replace(/\D/g, "")) : 0;
}

async function waitUnreadAbove(page, before, what) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if ((await unread(page)) > before) return;
    await page.waitForTimeout(250);
  }
  throw new Failure(`no live notification: ${what}`);
}

async function compose(page, { type, title, body, tags }) {
  const form = page.locator("form.composer");
  if (type) await form.getByLabel("Type").selectOption({ label: type });
  await form.getByLabel("Title").fill(title);
  await form.getByLabel("Text", { exact: true }).fill(body);
  if (tags) await form.getByLabel("Tags").fill(tags);
  await form.getByRole("button", { name: "Post" }).click();
}

const community = `/c/${config.community_id}`;

async function askAnswerAccept(browser, { live }) {
  const bob = await signIn(browser, config.people.asker.name);
  const erin = await signIn(browser, config.people.expert.name);
  const title = `How do we size Kafka partitions? ${Date.now()}`;
  await go(bob, community);
  await compose(bob, { type: "Question", title, body: "For the order events topic.", tags: config.tag });
  await bob.getByRole("link", { name: title }).first().waitFor();

  await eventually(erin, "/", () => erin.getByTestId("questions-for-me").getByRole("link", { name: title }), "question in questions for me");
  // Routed by the notification service, to the expert of the question's tag.
  const routedCard = erin.getByTestId("questions-for-me").locator("article", { has: erin.getByRole("link", { name: title }) });
  check((await routedCard.textContent()).includes("for your expertise"), "the routed question says it came for the expert's expertise");
  await shot(erin, "home");
  const erinBefore = await unread(erin);
  const bobBefore = await unread(bob);
  await erin.getByTestId("questions-for-me").getByRole("link", { name: title }).click();
  await erin.getByRole("heading", { level: 1, name: title }).waitFor();
  await erin.locator(".reply-form").getByLabel("Your answer").fill("Start from throughput: one partition per 10 MB/s of peak.");
  await erin.getByRole("button", { name: "Post your answer" }).click();
  await erin.getByTestId("answers").getByText("one partition per 10 MB/s").waitFor();

  // The asker's window hears of the answer without a reload.
  if (live) await waitUnreadAbove(bob, bobBefore, "answer to the asker");
  await bob.getByRole("link", { name: title }).first().click();
  await bob.getByTestId("answers").getByText("one partition per 10 MB/s").waitFor();
  await bob.getByRole("button", { name: "Accept this answer" }).click();
  await bob.getByText("Accepted answer").waitFor();
  await shot(bob, "question");

  // The expert's window hears of the acceptance without a reload.
  if (live) await waitUnreadAbove(erin, erinBefore, "accepted answer to the expert");
  await eventually(erin, `/people/${config.people.expert.id}`, () => erin.getByTestId("earned-expertise").getByText(config.tag), "earned expertise on the profile");
  await shot(erin, "profile");
  if (live) {
    await go(erin, "/notifications");
    check((await erin.getByTestId("notification-list").locator("li").count()) > 0, "notifications page lists the notifications");
    await shot(erin, "notifications");
  }
}

const flows = {
  /** Ask → routed expert answers → accept → earned expertise on the profile. */
  async questions(browser) {
    await askAnswerAccept(browser, { live: false });
  },

  /** The same, and each window hears of the other's step without a reload (the unread badge). */
  async live(browser) {
    await askAnswerAccept(browser, { live: true });
  },

  /** Pinhole: open, grant, partner sees only it and posts, owner sees the marking and the audit, revoke. */
  async pinholes(browser) {
    const alice = await signIn(browser, config.people.owner.name);
    const name = `Rollout with ${config.partner_org_name} ${Date.now()}`;
    await go(alice, `${community}?tab=pinholes`);
    await alice.getByLabel("Name", { exact: true }).fill(name);
    await alice.getByLabel("Purpose", { exact: true }).fill("Plan the warehouse rollout together.");
    await alice.getByRole("button", { name: "Open a pinhole" }).click();
    await alice.getByRole("heading", { level: 1, name }).waitFor();
    const pinholeUrl = alice.url();
    await alice.getByLabel("Organisation", { exact: true }).selectOption({ label: config.partner_org_name });
    await alice.getByLabel("Access", { exact: true }).selectOption("contributor");
    await alice.getByRole("button", { name: "Grant access" }).click();
    await alice.getByTestId("grants").getByText(config.partner_org_name, { exact: true }).waitFor();
    const pinholeId = decodeURIComponent(pinholeUrl.split("/pinholes/")[1]);

    const vera = await signIn(browser, config.people.partner.name);
    await eventually(vera, "/", () => vera.getByTestId("partner-pinholes").getByRole("link", { name }), "the granted pinhole on the partner's home");
    const listed = await vera.getByTestId("partner-pinholes").locator("li").count();
    check(listed === 1, `the partner sees only the granted pinhole (saw ${listed})`);
    check((await vera.getByRole("link", { name: "Communities" }).count()) === 0, "no directory for partners");
    await shot(vera, "partner-home");
    await vera.getByTestId("partner-pinholes").getByRole("link", { name }).click();
    await vera.getByRole("heading", { level: 1, name }).waitFor();
    check((await vera.getByRole("note").textContent()).includes("Partners can read"), "compose box marked as shared");
    const title = `Dock schedule from ${config.partner_org_name} ${Date.now()}`;
    await compose(vera, { title, body: "Our trucks arrive Mondays 6:00." });
    await vera.getByTestId("space-feed").getByRole("link", { name: title }).waitFor();
    await shot(vera, "partner-space");
    await accessible(vera, "the partner's shared space");
    // Internal content answers like a missing page.
    await go(vera, community);
    check((await vera.getByRole("heading", { level: 1 }).textContent()) === "Nothing here", "internal community hidden from the partner");

    await eventually(alice, `/s/${pinholeId}`, () => alice.getByTestId("space-feed").getByRole("link", { name: title }), "partner's post in the owner's feed");
    const entry = alice.locator(`.post-card`, { hasText: title });
    check(await entry.getByText("External").count(), "partner's post marked as external");
    check(await entry.getByText("Shared outside the company").count(), "pinhole post marked as shared outside the company");
    await shot(alice, "pinhole-space");
    await eventually(alice, `/pinholes/${pinholeId}`, () => alice.getByTestId("audit").getByText(config.people.partner.id), "the partner's requests in the audit trail");
    check(await alice.getByTestId("participants").getByRole("link", { name: config.people.partner.name }).count(), "the partner listed among who took part");
    await shot(alice, "pinhole");
    await accessible(alice, "the pinhole's management page");

    alice.once("dialog", (dialog) => dialog.accept());
    await alice.getByRole("button", { name: new RegExp(`^Revoke`) }).first().click();
    await alice.getByText("No organisation has access yet.").waitFor();

    // The partner's next navigation shows nothing.
    await go(vera, "/");
    await vera.getByText("No space is shared with your organisation right now.").waitFor();
    await go(vera, `/s/${pinholeId}`);
    check((await vera.getByRole("heading", { level: 1 }).textContent()) === "Nothing here", "revoked pinhole answers like a missing page");
  },

  /** A wiki page edited twice, two revisions compared, the first restored. */
  async wiki(browser) {
    const alice = await signIn(browser, config.people.owner.name);
    const title = `Returns process ${Date.now()}`;
    await go(alice, community);
    await compose(alice, { type: "Wiki page", title, body: "1. Receive\n2. Inspect\n" });
    await alice.getByTestId("space-feed").getByRole("link", { name: title }).click();
    await alice.getByRole("heading", { level: 1, name: title }).waitFor();
    for (const [body, summary] of [
      ["1. Receive\n2. Inspect\n3. Refund\n", "add refund"],
      ["1. Receive at dock 4\n2. Inspect\n3. Refund\n", "name the dock"],
    ]) {
      await alice.getByRole("button", { name: "Edit page" }).click();
      await alice.locator(".edit-form").getByLabel("Text", { exact: true }).fill(body);
      await alice.getByLabel("Summary of your change").fill(summary);
      await alice.getByRole("button", { name: "Save" }).click();
      await alice.getByRole("button", { name: "Edit page" }).waitFor();
    }
    await alice.getByRole("link", { name: "History" }).click();
    await alice.locator("tr[data-revision='3']").waitFor();
    await alice.getByLabel("From revision 1").check();
    await alice.getByLabel("To revision 3").check();
    await alice.getByRole("button", { name: "Compare" }).click();
    const diff = alice.getByTestId("diff");
    await diff.waitFor();
    check(await diff.locator(".diff-insert", { hasText: "3. Refund" }).count(), "diff shows the added line");
    check(await diff.locator(".diff-delete", { hasText: "1. Receive" }).count(), "diff shows the removed line");
    await shot(alice, "wiki-diff");
    await accessible(alice, "wiki history and diff");
    await alice.locator("tr[data-revision='1']").getByRole("button", { name: /Restore this revision/ }).click();
    await alice.getByText("Revision 1 restored as a new revision.").waitFor();
    await alice.locator("tr[data-revision='4']").waitFor();
  },

  /** axe-core on every main page, as an employee and as a partner: no serious or critical violations. */
  async accessibility(browser) {
    const anonymous = await browser.window();
    await anonymous.goto(`${BASE}/#/`);
    await anonymous.getByRole("heading", { level: 1 }).waitFor();
    const pages = [["sign-in", anonymous, null]];
    const bob = await signIn(browser, config.people.asker.name);
    for (const route of ["/", "/communities", community, `${community}?tab=members`, `/s/${config.main_space_id}`, "/search?q=kafka", `/people/${config.people.expert.id}`, `/experts?tag=${config.tag}`, "/notifications", "/settings"]) {
      pages.push([route, bob, route]);
    }
    const alice = await signIn(browser, config.people.owner.name);
    pages.push(["owner moderation", alice, `${community}?tab=moderation`], ["owner pinholes", alice, `${community}?tab=pinholes`]);
    const vera = await signIn(browser, config.people.partner.name);
    pages.push(["partner /", vera, "/"], ["partner /notifications", vera, "/notifications"], ["partner /settings", vera, "/settings"]);
    const problems = [];
    for (const [label, page, route] of pages) {
      if (route !== null) await go(page, route);
      // Not "networkidle": the live notification stream keeps a request open for good.
      await page.waitForTimeout(800);
      for (const v of await axe(page)) problems.push(`${label}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(", ")}`);
    }
    await shot(anonymous, "sign-in");
    await go(bob, "/communities");
    await shot(bob, "communities");
    check(problems.length === 0, `axe found serious or critical violations:\n    ${problems.join("\n    ")}`);
  },

  /** Phone width: the menu, a feed, composing and reading, keyboard only where it matters. */
  async phone(browser) {
    const bob = await signIn(browser, config.people.asker.name, { width: 390, height: 844 });
    const width = await bob.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `no horizontal scrolling at phone width (page is ${width}px wide)`);
    await bob.getByRole("button", { name: "Menu" }).click();
    await bob.getByRole("link", { name: "Communities" }).click();
    await bob.getByRole("heading", { level: 1, name: "Communities" }).waitFor();
    await go(bob, community);
    const title = `From my phone ${Date.now()}`;
    await compose(bob, { title, body: "Short note." });
    await bob.getByTestId("space-feed").getByRole("link", { name: title }).waitFor();
    await shot(bob, "phone-community");
    // Keyboard: the skip link leads to the main content. A fresh load, so the first Tab
    // starts from the document (a hash route keeps whatever had focus before).
    await go(bob, "/");
    await bob.reload();
    await bob.locator("#main h1").first().waitFor();
    await bob.keyboard.press("Tab");
    check((await bob.evaluate(() => document.activeElement?.textContent)) === "Skip to content", "the first Tab reaches the skip link");
    await bob.keyboard.press("Enter");
    check((await bob.evaluate(() => document.activeElement?.id)) === "main", "the skip link moves focus to the main content");
    const phoneProblems = await axe(bob);
    check(phoneProblems.length === 0, `axe at phone width: ${JSON.stringify(phoneProblems)}`);
  },
};

/** Waits for the app frame after a sign-in and for the top bar to name `name` (the card loads after the frame). */
async function signedInAs(page, name, who) {
  await page.locator("header.topbar").waitFor();
  await page.locator("#main h1").first().waitFor();
  try {
    await page.locator(".signed-in-as", { hasText: name }).waitFor({ timeout: 10_000 });
  } catch {
    throw new Failure(`the ${who} is not signed in as themself (top bar: ${await page.locator(".signed-in-as").textContent()})`);
  }
}

/** At the provider's login form (Keycloak's own page): one attempt with `password`. */
async function providerLogin(page, username, password) {
  await page.waitForURL((url) => url.href.startsWith(config.oidc.issuer));
  await page.locator("#username").fill(username);
  await page.locator("#password").fill(password);
  await page.locator("#kc-login").click();
}

/**
 * Enterprise sign-in: authorization code with PKCE against the real provider
 * (a Keycloak realm of the test's own; GUILDHALL_E2E's `oidc`). Each person
 * gets a browser of their own, since the provider's session cookie would
 * otherwise sign the second one in as the first.
 */
async function oidc() {
  const { employee, partner } = config.oidc;
  const browsers = [];
  try {
    const one = await launch();
    browsers.push(one);
    const page = await one.window();
    page.setDefaultTimeout(TIMEOUT);
    page.on("pageerror", (error) => console.log(`  [employee] page error: ${error.message}`));
    page.on("console", (message) => message.type() === "error" && console.log(`  [employee] console: ${message.text()}`));
    await page.goto(`${BASE}/#/communities`);
    check((await page.getByRole("button", { name: /^Sign in as / }).count()) === 0, "no demo people when the deployment names an enterprise provider");
    await page.getByRole("button", { name: "Sign in with your company account" }).click();
    await providerLogin(page, employee.username, "not-the-password");
    await page.getByText(/Invalid username or password/).waitFor();
    check(page.url().startsWith(config.oidc.issuer), "a wrong password stays at the provider");
    await page.locator("#password").fill(employee.password);
    await page.locator("#kc-login").click();
    await signedInAs(page, employee.name, "employee");
    check(!page.url().includes("code=") && !page.url().includes("state="), `the code leaves the address bar (${page.url()})`);
    check(page.url().endsWith("#/communities"), `back where sign-in started (${page.url()})`);
    await page.getByRole("heading", { level: 1, name: "Communities" }).waitFor();
    await shot(page, "oidc-employee");

    const two = await launch();
    browsers.push(two);
    const vera = await two.window();
    vera.setDefaultTimeout(TIMEOUT);
    await vera.goto(`${BASE}/#/`);
    await vera.getByRole("button", { name: "Sign in with your company account" }).click();
    await providerLogin(vera, partner.username, partner.password);
    await signedInAs(vera, partner.name, "partner");
    await vera.getByRole("heading", { level: 1, name: "Your shared spaces" }).waitFor();
    check((await vera.getByRole("link", { name: "Communities" }).count()) === 0, "no directory for a partner signed in at the provider");
  } catch (error) {
    for (const [b, browser] of browsers.entries()) {
      for (const [index, page] of browser.context.pages().entries()) {
        await page.screenshot({ path: join(OUT, `failure-oidc-${b}-${index}.png`) }).catch(() => undefined);
      }
    }
    throw error;
  } finally {
    for (const browser of browsers) await browser.close();
  }
}

const wanted = process.argv.slice(2);
// The enterprise sign-in needs a provider in the config (tests/web/test_browser_oidc.py
// gives one), so it runs only when named.
if (wanted.includes("oidc")) {
  const started = Date.now();
  try {
    await oidc();
    console.log(`PASS oidc (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    process.exit(0);
  } catch (error) {
    console.log(`FAIL oidc (${((Date.now() - started) / 1000).toFixed(1)} s): ${error instanceof Failure ? error.message : error.stack}`);
    process.exit(1);
  }
}
const selected = Object.entries(flows).filter(([name]) => wanted.length === 0 || wanted.includes(name));
let passed = 0;
let failed = 0;
for (const [name, flow] of selected) {
  const browser = await launch();
  const started = Date.now();
  try {
    await flow(browser);
    passed += 1;
    console.log(`PASS ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name} (${((Date.now() - started) / 1000).toFixed(1)} s): ${error instanceof Failure ? error.message : error.stack}`);
    for (const [index, page] of browser.context.pages().entries()) {
      await page.screenshot({ path: join(OUT, `failure-${name}-${index}.png`) }).catch(() => undefined);
    }
  } finally {
    await browser.close();
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
