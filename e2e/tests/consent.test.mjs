// Consent, in Chromium against the real collector: with data-consent="required" nothing is
// stored (cookie, localStorage, sessionStorage) or sent, and the popup module is not even
// fetched, until the shopper accepts in the page's banner; held events then arrive carrying
// context.consent; a refusal drops them; a withdrawal sends `Segment Consent Preference Updated`
// with the new preferences, then erases what was stored; a returning
// shopper is not asked again; Global Privacy Control denies marketing (and so popups).
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, ax, freshContext } from "../lib.mjs";

const ctx = suite("consent");

/** The browser as a first visit finds it: no cookie, nothing in storage. */
const fresh = () => freshContext(ctx.browser.context, ctx.collector.url);

/** A page that records the requests it makes to the collector and the engage module. */
async function open(context = ctx.browser.context) {
  const page = await context.newPage();
  const seen = { batches: 0, engage: 0, errors: [] };
  page.on("request", (r) => {
    if (r.url().includes("/v1/batch")) seen.batches += 1;
    if (r.url().includes("shoptrail-engage")) seen.engage += 1;
  });
  page.on("pageerror", (e) => seen.errors.push(e.message));
  await page.goto(`${ctx.collector.url}/fixtures/consent.html`);
  await page.evaluate(() => window.shoptrail.ready());
  return { page, seen };
}

/** Resolves after the idle callbacks the page registered before it (the host loads the engage
 * module from one, with the same 2 s timeout): by then, a module it decided to load has been
 * requested. */
const idle = (page) =>
  page.evaluate(() => new Promise((r) => requestIdleCallback(() => r(), { timeout: 2000 })));

/** The exit-offer popup (it lives in a closed shadow root: found in the accessibility tree). */
const popup = async (page) => (await ax(page)).find((n) => n.role === "dialog" && n.name.includes("Take 10% off"));

const stored = (page) =>
  page.evaluate(() => ({
    cookie: document.cookie,
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
  }));

async function tracked(page, name) {
  await page.evaluate((n) => window.shoptrail.track(n, { at: "consent" }), name);
}

const named = async (aid, name) =>
  (await events(ctx.collector.url, { anonymousId: aid })).filter((e) => e.event === name);

test("nothing is stored or sent before the banner's Accept; then the held events arrive", async () => {
  const context = await fresh();
  const { page, seen } = await open(context);
  assert.equal(await page.locator("#consent-banner").isVisible(), true);
  await tracked(page, "Before Consent");
  // flush() settles once the calls before it are done: false, nothing may leave.
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), false);
  assert.deepEqual(await stored(page), { cookie: "", local: [], session: [] });
  assert.equal(seen.batches, 0);
  assert.equal(seen.engage, 0, "the popup module waits for marketing consent");

  await page.click("#consent-all");
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  const [held] = await until(() => named(aid, "Before Consent").then((l) => l.length && l), 10000, "the held event");
  assert.deepEqual(held.context.consent, { categoryPreferences: { analytics: true, marketing: true } });
  const s = await stored(page);
  assert.match(s.cookie, new RegExp(`shoptrail_aid=${aid}`));
  assert.ok(s.local.includes("shoptrail:consent") && s.local.includes("shoptrail:aid"), s.local.join());
  await until(() => seen.engage > 0, 10000, "the popup module once marketing is granted");
  await until(() => popup(page), 10000, "the popup");

  // A returning shopper is not asked again, and keeps the id.
  const again = await open(context);
  assert.equal(await again.page.locator("#consent-banner").isVisible(), false);
  assert.equal(await again.page.evaluate(() => window.shoptrail.anonymousId()), aid);

  // Withdrawing tells the collector (Segment's consent event, with the new preferences, for
  // the id it had), then erases the id, the cookie and every stored key; nothing more is sent.
  await again.page.click("#consent-withdraw");
  assert.deepEqual(await stored(again.page), { cookie: "", local: [], session: [] });
  const [last] = await until(
    () => named(aid, "Segment Consent Preference Updated").then((l) => l.length && l), 10000, "the withdrawal event");
  assert.equal(last.type, "track");
  assert.deepEqual(last.context.consent, { categoryPreferences: { analytics: false, marketing: false } });
  assert.notEqual(await again.page.evaluate(() => window.shoptrail.anonymousId()), aid);
  const sent = again.seen.batches;
  await tracked(again.page, "After Withdrawal");
  assert.equal(await again.page.evaluate(() => window.shoptrail.flush()), false);
  assert.equal(again.seen.batches, sent);
  assert.equal(await popup(again.page), undefined, "no popup after the withdrawal");
  assert.deepEqual([...seen.errors, ...again.seen.errors], []);
  for (const p of context.pages()) await p.close();
});

test("Reject drops the held events and stores nothing; Analytics only sends without popups", async () => {
  const context = await fresh();
  const { page, seen } = await open(context);
  await tracked(page, "Rejected Event");
  await page.click("#consent-none");
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), false);
  await idle(page);
  assert.equal(seen.batches, 0);
  assert.equal(seen.engage, 0);
  assert.deepEqual(await stored(page), { cookie: "", local: [], session: [] });
  assert.equal((await named(await page.evaluate(() => window.shoptrail.anonymousId()), "Rejected Event")).length, 0);

  const next = await open(context);
  assert.equal(await next.page.locator("#consent-banner").isVisible(), true, "a refusal is not stored: asked again");
  await tracked(next.page, "Analytics Only");
  await next.page.click("#consent-analytics");
  const aid = await next.page.evaluate(() => window.shoptrail.anonymousId());
  const [e] = await until(() => named(aid, "Analytics Only").then((l) => l.length && l), 10000, "the event");
  assert.deepEqual(e.context.consent, { categoryPreferences: { analytics: true, marketing: false } });
  await idle(next.page);
  assert.equal(next.seen.engage, 0, "no popups without marketing");
  for (const p of context.pages()) await p.close();
});

test("Global Privacy Control denies marketing: events say so and no popup module loads", async () => {
  const context = await fresh();
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }));
  const { page, seen } = await open(context);
  await tracked(page, "With GPC");
  await page.click("#consent-all");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  const [e] = await until(() => named(aid, "With GPC").then((l) => l.length && l), 10000, "the event");
  assert.deepEqual(e.context.consent, { categoryPreferences: { analytics: true, marketing: false }, gpc: true });
  assert.deepEqual(await page.evaluate(() => window.shoptrail.consent.get()), {
    required: true, categories: ["analytics", "marketing"], granted: ["analytics"], decided: true, gpc: true,
  });
  await idle(page);
  assert.equal(seen.engage, 0);
  for (const p of context.pages()) await p.close();
});
