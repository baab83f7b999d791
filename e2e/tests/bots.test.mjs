// Bots in the SDK, in Chromium against the real collector: a page load under automation
// (navigator.webdriver) or with a crawler's or a headless browser's user agent stores and sends
// nothing by default, sends its events marked `context.bot` with `bots: "mark"` (the collector
// counts them in nothing), and never loads popups; `bots: "allow"` is the test pages' way
// through. Each signal is tried alone: automation with a browser's user agent; a crawler's or
// HeadlessChrome's user agent with automation hidden (`--disable-blink-features`); and Client
// Hints brands naming HeadlessChrome behind a browser's user agent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { suite, events, until, CHROMIUM_ARGS, ADMIN_AUTH } from "../lib.mjs";

const ctx = suite("bots");
const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/** A browser whose pages do not say they are automated (navigator.webdriver false). */
let unflagged;
before(async () => {
  unflagged = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS, "--disable-blink-features=AutomationControlled"],
  });
});
after(() => unflagged?.close());

/** Opens basic.html with `bots` (`default`: the option left out) in `context`; tracks one event
 * and flushes. Returns what left, what was stored and the id. */
async function visit(context, bots) {
  const page = await context.newPage();
  const batches = [];
  page.on("request", (r) => r.url().includes("/v1/batch") && batches.push(r.url()));
  await page.goto(`${ctx.collector.url}/fixtures/basic.html?bots=${bots}`);
  await page.evaluate(() => window.shoptrail.ready());
  const flushed = await page.evaluate(() => { window.shoptrail.track("Bot Check"); return window.shoptrail.flush(); });
  const signals = await page.evaluate(() => ({ webdriver: navigator.webdriver, ua: navigator.userAgent }));
  const stored = await page.evaluate(() => ({
    cookie: document.cookie.split("; ").filter((c) => c.startsWith("shoptrail")),
    local: Object.keys(localStorage).filter((k) => k.startsWith("shoptrail")),
  }));
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  const errors = await page.evaluate(() => window.errors);
  await page.close();
  return { flushed, batches, stored, aid, signals, errors };
}

const dropped = (v, what) => {
  assert.equal(v.flushed, false, `${what}: flush() settles false`);
  assert.deepEqual(v.batches, [], `${what}: nothing sent`);
  assert.deepEqual(v.stored, { cookie: [], local: [] }, `${what}: nothing stored`);
  assert.deepEqual(v.errors, [], what);
};

test("by default a page load under automation, with a browser's user agent, sends and stores nothing", async () => {
  const context = await (await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: CHROMIUM_ARGS })).newContext({ userAgent: CHROME });
  try {
    const v = await visit(context, "default");
    assert.equal(v.signals.webdriver, true);
    dropped(v, "webdriver");
    assert.equal((await events(ctx.collector.url, { anonymousId: v.aid })).length, 0);
    dropped(await visit(context, "drop"), "bots: drop");
  } finally {
    await context.browser().close();
  }
});

for (const [name, userAgent] of [["a crawler's", GOOGLEBOT], ["HeadlessChrome's", undefined]]) {
  test(`by default ${name} user agent alone (no automation flag) sends and stores nothing`, async () => {
    const context = await unflagged.newContext(userAgent ? { userAgent } : {});
    try {
      const v = await visit(context, "default");
      assert.equal(v.signals.webdriver, false, "automation hidden: the user agent is the signal");
      if (!userAgent) assert.match(v.signals.ua, /HeadlessChrome/);
      dropped(v, name);
    } finally {
      await context.close();
    }
  });
}

test("by default Client Hints naming a headless browser alone (a browser's user agent, no automation flag) send and store nothing", async () => {
  const context = await unflagged.newContext();
  try {
    const page = await context.newPage();
    // The user agent a browser sends, with the brands headless Chromium's Client Hints carry.
    const cdp = await context.newCDPSession(page);
    await cdp.send("Emulation.setUserAgentOverride", {
      userAgent: CHROME,
      userAgentMetadata: {
        brands: [{ brand: "HeadlessChrome", version: "131" }, { brand: "Chromium", version: "131" }],
        fullVersion: "131.0.0.0", platform: "Linux", platformVersion: "", architecture: "x86", model: "", mobile: false,
      },
    });
    await page.goto(`${ctx.collector.url}/fixtures/basic.html?bots=default`);
    await page.evaluate(() => window.shoptrail.ready());
    const seen = await page.evaluate(() => ({
      webdriver: navigator.webdriver, ua: navigator.userAgent,
      brands: navigator.userAgentData && navigator.userAgentData.brands.map((b) => b.brand),
    }));
    assert.deepEqual(seen, { webdriver: false, ua: CHROME, brands: ["HeadlessChrome", "Chromium"] });
    const batches = [];
    page.on("request", (r) => r.url().includes("/v1/batch") && batches.push(r.url()));
    assert.equal(await page.evaluate(() => { window.shoptrail.track("Bot Check"); return window.shoptrail.flush(); }), false);
    assert.deepEqual(batches, []);
    assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("shoptrail"))), []);
  } finally {
    await context.close();
  }
});

// Browsers whose user agents hold a crawler word: a CUBOT phone, CamScanner's and NAVER's
// in-app browsers (the collector's full list tells those apart; the SDK's short one leaves them).
const CUBOT = "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const CAMSCANNER = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 CamScanner/6.60";
const NAVER = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 NAVER(inapp; search; 1000; 12.0.0)";

for (const [name, userAgent] of [["a desktop browser's", CHROME], ["a CUBOT phone's", CUBOT], ["CamScanner's", CAMSCANNER], ["NAVER's in-app", NAVER]]) {
  test(`${name} user agent without automation is a shopper's`, async () => {
    const context = await unflagged.newContext({ userAgent });
    try {
      const v = await visit(context, "default");
      assert.equal(v.flushed, true);
      const [ev] = await until(() => events(ctx.collector.url, { anonymousId: v.aid, event: "Bot Check" }).then((l) => l.length && l), 10000, "the event");
      assert.equal(ev.context.bot, undefined);
    } finally {
      await context.close();
    }
  });
}

test("bots: mark sends the events with context.bot, and the collector counts them in nothing", async () => {
  const before = (await (await fetch(`${ctx.collector.url}/v1/metrics`, { headers: ADMIN_AUTH })).json()).totals.sessions;
  const v = await visit(ctx.browser.context, "mark");
  assert.equal(v.flushed, true);
  const sent = await until(() => events(ctx.collector.url, { anonymousId: v.aid }).then((l) => l.length >= 2 && l), 10000, "the events");
  // The page view, the event and (as the page closed) Page Left: every one marked.
  assert.deepEqual(sent.slice(0, 2).map((e) => [e.type, e.event]), [["page", undefined], ["track", "Bot Check"]]);
  assert.ok(sent.every((e) => e.context.bot === true), JSON.stringify(sent.map((e) => e.context.bot)));
  const after = (await (await fetch(`${ctx.collector.url}/v1/metrics`, { headers: ADMIN_AUTH })).json()).totals.sessions;
  assert.equal(after, before, "no session counted");
});

test("a bot never loads popups, marked or dropped; the test pages' bots: allow does", async () => {
  for (const bots of ["mark", "default", "allow"]) {
    const page = await ctx.browser.context.newPage();
    const engage = [];
    page.on("request", (r) => r.url().includes("shoptrail-engage") && engage.push(r.url()));
    await page.goto(`${ctx.collector.url}/fixtures/engage.html?c=news&bots=${bots}`);
    await page.evaluate(() => window.shoptrail.ready());
    if (bots === "allow") {
      await until(() => engage.length > 0, 10000, "the popup module for a shopper");
    } else {
      // The host loads the module from an idle callback (2 s at most): two idle periods later it
      // would have asked for it.
      await page.evaluate(() => new Promise((r) => requestIdleCallback(() => requestIdleCallback(r, { timeout: 2000 }), { timeout: 2000 })));
      assert.deepEqual(engage, [], `bots: ${bots}`);
    }
    await page.close();
  }
});
