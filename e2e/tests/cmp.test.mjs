// Consent managers, in Chromium against the real collector: with `data-consent-from` the
// site's consent manager decides. For each adapter the shopper meets the banner (nothing stored
// or sent), refuses (nothing still), accepts from the privacy settings (events carry the
// choice, the id is stored), comes back (the manager's stored answer stands) and withdraws (the
// collector hears it, shoptrail's storage is erased). TCF runs the IAB Tech Lab's own CMP API
// with TC strings encoded by @iabtechlabtcf/core; the others are stand-ins written to their
// vendors' published APIs (e2e/fixtures/cmp/README.md). Google Consent Mode is also told
// shoptrail's choices (`consent.gcm`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { TCString } from "@iabtechlabtcf/core";
import { startCollector, launch, tempDir, events, until, freshContext } from "../lib.mjs";

const root = join(import.meta.dirname, "..", "..");
const ctx = {};

/** The configs of README's "The shop's consent manager" example, by consent manager (`own` for
 * the one without `from`). */
function readmeConfigs() {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### The shop's consent manager"));
  const block = section.match(/```js\n([\s\S]*?)```/)[1];
  const out = {};
  new Function("endpoint", "init", block)("/v1/batch", (c) => { out[c.consent.from || "own"] = c; });
  return out;
}
const README = readmeConfigs();

before(async () => {
  ctx.tmp = tempDir();
  // The TCF consent manager, bundled from the IAB packages as a CMP ships its script.
  await build({
    entryPoints: [join(root, "e2e/fixtures/cmp/tcf-cmp.mjs")],
    bundle: true,
    format: "iife",
    outfile: join(ctx.tmp.dir, "built/tcf-cmp.js"),
    logLevel: "error",
  });
  ctx.collector = await startCollector({
    db: join(ctx.tmp.dir, "cmp.db"),
    statics: [join(root, "www"), `/dist=${join(root, "dist")}`, `/fixtures=${join(root, "e2e/fixtures")}`,
      `/built=${join(ctx.tmp.dir, "built")}`],
  });
  ctx.browser = await launch();
});

after(async () => {
  await ctx.browser?.close();
  await ctx.collector?.stop();
  ctx.tmp?.cleanup();
});

/** The browser as a first visit finds it: no cookie (the consent manager's neither), nothing
 * stored. */
const fresh = () => freshContext(ctx.browser.context, ctx.collector.url);

/** Opens the fixture with `query`; counts the requests to the collector's batch route. */
async function open(query, context = ctx.browser.context) {
  const page = await context.newPage();
  const seen = { batches: 0, consentScript: 0, errors: [] };
  page.on("request", (r) => {
    if (r.url().includes("/v1/batch")) seen.batches += 1;
    if (r.url().includes("shoptrail-consent")) seen.consentScript += 1;
  });
  page.on("pageerror", (e) => seen.errors.push(e.message));
  await page.goto(`${ctx.collector.url}/fixtures/cmp.html?${query}`);
  await page.evaluate(() => window.shoptrail.ready());
  return { page, seen };
}

/** What shoptrail keeps in the browser (the consent manager's own cookies left aside). */
const stored = (page) =>
  page.evaluate(() => ({
    cookie: document.cookie.split("; ").filter((c) => c.startsWith("shoptrail")),
    local: Object.keys(localStorage).filter((k) => k.startsWith("shoptrail")),
    session: Object.keys(sessionStorage).filter((k) => k.startsWith("shoptrail")),
  }));
const NOTHING = { cookie: [], local: [], session: [] };

const consent = (page) => page.evaluate(() => window.shoptrail.consent.get());

/** Waits until consent.get() satisfies `ok`. */
const consentUntil = (page, ok, what) =>
  until(async () => { const c = await consent(page); return ok(c) && c; }, 10000, what);

const named = async (aid, name) =>
  (await events(ctx.collector.url, { anonymousId: aid })).filter((e) => e.event === name);

for (const from of ["tcf", "gcm", "onetrust", "cookiebot", "shopify", "wp"]) {
  test(`${from}: the banner, a refusal, an acceptance, a return and a withdrawal`, async () => {
    const context = await fresh();
    const { page, seen } = await open(`from=${from}`);

    // The banner: nothing decided, nothing stored or sent.
    await until(() => page.locator("#cmp-banner").isVisible(), 10000, "the consent manager's banner");
    assert.equal((await consent(page)).decided, false);
    await page.evaluate(() => window.shoptrail.track("Before Choice"));
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), false);
    assert.deepEqual(await stored(page), NOTHING);
    assert.equal(seen.batches, 0);
    assert.equal(seen.consentScript, 1, "the adapters are loaded");

    // Reject all: decided, nothing granted, still nothing stored or sent.
    await page.click("#cmp-reject");
    const refused = await consentUntil(page, (c) => c.decided, "the refusal");
    assert.deepEqual(refused.granted, []);
    await page.evaluate(() => window.shoptrail.track("After Refusal"));
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), false);
    assert.deepEqual(await stored(page), NOTHING);
    assert.equal(seen.batches, 0);

    // Accept all from the privacy settings: both categories, events leave with the choice.
    await page.click("#cmp-settings");
    await page.click("#cmp-accept");
    const granted = await consentUntil(page, (c) => c.granted.length === 2, "the acceptance");
    assert.deepEqual(granted.granted.slice().sort(), ["analytics", "marketing"]);
    await page.evaluate(() => window.shoptrail.track("After Acceptance", { via: "cmp" }));
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
    const aid = await page.evaluate(() => window.shoptrail.anonymousId());
    const [sent] = await until(() => named(aid, "After Acceptance").then((l) => l.length && l), 10000, "the event");
    assert.deepEqual(sent.context.consent, { categoryPreferences: { analytics: true, marketing: true } });
    assert.equal((await named(aid, "Before Choice")).length + (await named(aid, "After Refusal")).length, 0);
    const kept = await stored(page);
    assert.ok(kept.cookie.some((c) => c === `shoptrail_aid=${aid}`), kept.cookie.join());
    await page.close();

    // A return: the manager's stored answer stands, no banner, the same id.
    const again = await open(`from=${from}`, context);
    await again.page.locator("#cmp-banner[data-ready]").waitFor({ state: "attached" });
    await consentUntil(again.page, (c) => c.granted.length === 2, "the stored acceptance");
    assert.equal(await again.page.locator("#cmp-banner").isVisible(), false);
    assert.equal(await again.page.evaluate(() => window.shoptrail.anonymousId()), aid);

    // Withdrawal (Reject all in the settings): the collector hears it, then shoptrail's
    // storage is erased and nothing more leaves.
    await again.page.click("#cmp-settings");
    await again.page.click("#cmp-reject");
    await consentUntil(again.page, (c) => c.granted.length === 0, "the withdrawal");
    const [last] = await until(
      () => named(aid, "Segment Consent Preference Updated").then((l) => l.length && l), 10000, "the withdrawal event");
    assert.deepEqual(last.context.consent, { categoryPreferences: { analytics: false, marketing: false } });
    assert.deepEqual(await stored(again.page), NOTHING);
    const batches = again.seen.batches;
    await again.page.evaluate(() => window.shoptrail.track("After Withdrawal"));
    assert.equal(await again.page.evaluate(() => window.shoptrail.flush()), false);
    assert.equal(again.seen.batches, batches);

    assert.deepEqual([...seen.errors, ...again.seen.errors], []);
    assert.deepEqual(await again.page.evaluate(() => window.errors), []);
    await again.page.close();
  });
}

test("tcf: analytics needs purposes 1 and 7-10 (real TC strings); where the GDPR does not apply nothing is asked", async () => {
  await fresh();
  const { page } = await open(`from=tcf&init=${encodeURIComponent(JSON.stringify(README.tcf))}`);
  await until(() => page.locator("#cmp-banner").isVisible(), 10000, "the banner");
  await page.evaluate(() => window.tcfStandin.answer([1, 7, 8, 9, 10]));
  const c = await consentUntil(page, (s) => s.decided, "the answer");
  assert.deepEqual(c.granted, ["analytics"], "purposes 3 and 4 were refused: no marketing");
  // The string the manager stored is a real TC string: decoded by the IAB's library.
  const cookie = (await ctx.browser.context.cookies()).find((k) => k.name === "euconsent-v2");
  const model = TCString.decode(cookie.value);
  assert.deepEqual([...model.purposeConsents.values()].sort((a, b) => a - b), [1, 7, 8, 9, 10]);
  assert.equal(model.policyVersion, 4);
  await page.close();

  // Purpose 1 alone is storage, not measurement.
  await fresh();
  const one = await open("from=tcf");
  await until(() => one.page.locator("#cmp-banner").isVisible(), 10000, "the banner");
  await one.page.evaluate(() => window.tcfStandin.answer([1, 3, 4]));
  assert.deepEqual((await consentUntil(one.page, (s) => s.decided, "the answer")).granted, []);
  await one.page.close();

  await fresh();
  const free = await open("from=tcf&gdpr=0");
  const all = await consentUntil(free.page, (s) => s.decided, "gdprApplies false");
  assert.deepEqual(all.granted.slice().sort(), ["analytics", "marketing"]);
  assert.equal(await free.page.evaluate(() => window.shoptrail.flush()), true);
  await free.page.close();
});

test("a manager that decides later is waited for: WordPress's type set late, Consent Mode's regional defaults", async () => {
  for (const query of ["from=wp&late=1", "from=gcm&region=1"]) {
    await fresh();
    const { page, seen } = await open(query);
    await until(() => page.locator("#cmp-banner").isVisible(), 10000, `${query}: the banner`);
    // Until the manager has an answer (WordPress: a type, then a choice; Consent Mode: an
    // update, as the global default may not be the shopper's region's), nothing is decided.
    if (query.includes("wp")) await page.waitForFunction(() => window.wp_consent_type === "optin");
    await page.evaluate(() => window.shoptrail.track("Before Choice"));
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), false, query);
    assert.equal((await consent(page)).decided, false, query);
    assert.equal(seen.batches, 0, query);
    await page.click("#cmp-accept");
    const c = await consentUntil(page, (s) => s.decided, `${query}: the answer`);
    assert.deepEqual(c.granted.slice().sort(), ["analytics", "marketing"], query);
    await page.close();
  }
});

test("consent.map (README's example): the site says which groups each category needs", async () => {
  await fresh();
  const init = README.onetrust;
  assert.deepEqual(init.consent.map, { analytics: ["C0002"], marketing: ["C0004", "C0005"] });
  const { page } = await open(`from=onetrust&init=${encodeURIComponent(JSON.stringify(init))}`);
  await until(() => page.locator("#cmp-banner").isVisible(), 10000, "the banner");
  await page.click("#cmp-accept");
  // Accept all activates C0001-C0004: social media (C0005) stays off, so marketing does.
  const c = await consentUntil(page, (s) => s.decided, "the answer");
  assert.deepEqual(c.granted, ["analytics"]);
  await page.close();

  // A map the adapter cannot use is reported; events keep waiting.
  await fresh();
  const bad = { consent: { from: "onetrust", map: { analytics: [7] } } };
  const b = await open(`from=onetrust&init=${encodeURIComponent(JSON.stringify(bad))}`);
  const [err] = await until(() => b.page.evaluate(() => window.errors.length && window.errors), 10000, "the error");
  assert.match(err, /^consent_source_unavailable: consent\.map analytics: 7 is not a non-empty string/);
  assert.equal((await consent(b.page)).decided, false);
  await b.page.close();
});

test("a consent manager not there after 10 s is reported; events keep waiting, and it is heard when it comes", async () => {
  await fresh();
  const { page, seen } = await open("from=cookiebot&cmp=0");
  const [err] = await until(() => page.evaluate(() => window.errors.length && window.errors), 15000, "the error");
  assert.match(err, /^consent_source_unavailable: no cookiebot consent manager on the page after 10 s/);
  assert.equal((await consent(page)).decided, false);
  assert.equal(seen.batches, 0);
  // Loaded late (a "delay scripts until interaction" plugin): still heard.
  await page.addScriptTag({ url: "/fixtures/cmp/standins.js" });
  await until(() => page.locator("#cmp-banner").isVisible(), 10000, "the banner");
  await page.click("#cmp-accept");
  await consentUntil(page, (c) => c.decided && c.granted.length === 2, "the late answer");
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  await page.close();
});

/** The Consent Mode commands on the page's dataLayer, as [command, keys]. */
const gcmCommands = (page) =>
  page.evaluate(() => (window.dataLayer || [])
    .filter((e) => Object.prototype.toString.call(e) === "[object Arguments]" && e[0] === "consent")
    .map((e) => [e[1], e[2]]));

const KEYS = (a, m) => ({
  ad_storage: m, ad_user_data: m, ad_personalization: m, analytics_storage: a,
});

test("consent.gcm (README's example): shoptrail's own banner tells Google Consent Mode each choice", async () => {
  await fresh();
  const init = README.own;
  assert.deepEqual(init.consent, { required: true, gcm: true });
  const { page, seen } = await open(`init=${encodeURIComponent(JSON.stringify(init))}`);
  await until(() => gcmCommands(page).then((l) => l.length), 10000, "the default");
  assert.deepEqual(await gcmCommands(page), [["default", KEYS("denied", "denied")]]);
  await page.evaluate(() => window.shoptrail.consent.grant(["analytics"]));
  await page.evaluate(() => window.shoptrail.consent.grant());
  await page.evaluate(() => window.shoptrail.consent.revoke());
  assert.deepEqual(await gcmCommands(page), [
    ["default", KEYS("denied", "denied")],
    ["update", KEYS("granted", "denied")],
    ["update", KEYS("granted", "granted")],
    ["update", KEYS("denied", "denied")],
  ]);
  assert.equal(seen.consentScript, 1);
  await page.close();

  // With a consent manager as the source, its choices reach Consent Mode too.
  await fresh();
  const both = { consent: { from: "cookiebot", gcm: true } };
  const b = await open(`from=cookiebot&init=${encodeURIComponent(JSON.stringify(both))}`);
  await until(() => b.page.locator("#cmp-banner").isVisible(), 10000, "the banner");
  await b.page.click("#cmp-accept");
  await until(() => gcmCommands(b.page).then((l) => l.length === 2), 10000, "the update");
  assert.deepEqual(await gcmCommands(b.page), [["default", KEYS("denied", "denied")], ["update", KEYS("granted", "granted")]]);
  await b.page.close();
});

test("without consent.from or consent.gcm the adapters are not loaded", async () => {
  await fresh();
  const { page, seen } = await open(`init=${encodeURIComponent(JSON.stringify({ consent: { required: true } }))}`);
  await page.evaluate(() => window.shoptrail.consent.grant());
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  assert.equal(seen.consentScript, 0);
  await page.close();
});
