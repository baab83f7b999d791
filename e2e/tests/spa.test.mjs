// Single-page apps: one page view per real URL change with the previous URL as referrer,
// Page Left with time on page and scroll depth, and the landing campaign kept for the session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, fakeClock, advance } from "../lib.mjs";

const ctx = suite("spa");

test("pushState, replaceState, hashchange and popstate give one page view per real URL change", async () => {
  const page = await ctx.browser.context.newPage();
  const base = `${ctx.collector.url}/fixtures/spa.html`;
  const landing = `${base}?utm_source=newsletter&utm_campaign=bf&gclid=G1`;
  await page.goto(landing);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => { window.scrolledAt = performance.now(); window.scrollTo(0, document.documentElement.scrollHeight / 2); });
  // A quarter of a second on the landing view (Page Left's time on page says so).
  await page.waitForFunction(() => performance.now() - window.scrolledAt >= 250);

  await page.evaluate(() => history.pushState({}, "", "/fixtures/spa.html?view=product"));
  await page.evaluate(() => history.replaceState({ x: 1 }, "", "/fixtures/spa.html?view=product"));
  await page.evaluate(() => history.replaceState({}, "", "/fixtures/spa.html?view=product&color=red"));
  // Each waits for the browser's own event, heard after the SDK's listener (added first).
  await page.evaluate(() => new Promise((r) => {
    addEventListener("hashchange", () => r(), { once: true });
    location.hash = "reviews";
  }));
  await page.evaluate(() => new Promise((r) => {
    addEventListener("hashchange", () => r(), { once: true });
    history.back();
  }));
  await page.evaluate(() => window.shoptrail.identify("spa-shopper", { plan: "basic" }));
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);

  const evs = await until(async () => {
    const e = await events(ctx.collector.url, { anonymousId: aid });
    return e.some((x) => x.type === "identify") && e;
  }, 10000, "identify");
  const pages = evs.filter((e) => e.type === "page");
  const urls = pages.map((e) => e.properties.url);
  assert.deepEqual(urls, [
    landing,
    `${base}?view=product`,
    `${base}?view=product&color=red`,
    `${base}?view=product&color=red#reviews`,
    `${base}?view=product&color=red`,
  ]);
  assert.deepEqual(pages.slice(1).map((e) => e.properties.referrer), urls.slice(0, -1));
  assert.deepEqual(pages.slice(1).map((e) => e.context.page.referrer), urls.slice(0, -1));

  const left = evs.filter((e) => e.event === "Page Left");
  assert.deepEqual(left.map((e) => e.properties.url), urls.slice(0, -1));
  assert.ok(left[0].properties.time_on_page_ms >= 250, JSON.stringify(left[0].properties));
  assert.ok(left[0].properties.max_scroll_depth >= 50, JSON.stringify(left[0].properties));
  assert.equal(left[0].properties.path, "/fixtures/spa.html");
  // Each Page Left comes right before the next page view.
  const order = evs.filter((e) => e.type === "page" || e.event === "Page Left").map((e) => e.type);
  assert.deepEqual(order, ["page", "track", "page", "track", "page", "track", "page", "track", "page"]);

  // The landing campaign (utm and click id) is kept for every event of the session.
  for (const e of evs) {
    assert.deepEqual(e.context.campaign, { source: "newsletter", name: "bf", gclid: "G1" }, e.type);
  }
  const ident = evs.find((e) => e.type === "identify");
  assert.deepEqual(ident.traits.first_touch, { source: "newsletter", name: "bf", gclid: "G1" });
  assert.deepEqual(ident.traits.last_touch, ident.traits.first_touch);
  assert.equal(ident.traits.plan, "basic");
  assert.deepEqual(await page.evaluate(() => window.errors), []);
  await page.close();
});

test("leaving the page sends Page Left by beacon", async () => {
  const page = await ctx.browser.context.newPage();
  // Batches wait a minute: only the unload path can deliver in time.
  await page.goto(`${ctx.collector.url}/fixtures/spa.html?leave=1&flushInterval=60000`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const aid = await page.evaluate(() => { window.openedAt = performance.now(); return window.shoptrail.anonymousId(); });
  await page.waitForFunction(() => performance.now() - window.openedAt >= 300);
  await page.goto("about:blank");
  const left = await until(async () => {
    const e = (await events(ctx.collector.url, { anonymousId: aid, event: "Page Left" }))
      .filter((x) => x.properties.url.includes("?leave=1"));
    return e.length && e;
  }, 10000, "Page Left after navigating away");
  assert.equal(left.length, 1);
  assert.ok(left[0].properties.time_on_page_ms >= 300);
  assert.equal(left[0].properties.max_scroll_depth < 100, true, "a tall page, not scrolled");
  await page.close();
});

test("after an in-app navigation the new route's JSON-LD product is viewed, a stale one is not", async () => {
  // The page is read for products 500 ms after an in-app navigation: the clock is moved on
  // past it, so each route's reading has happened (or not) before the next route.
  await fakeClock(ctx.browser.context);
  const page = await ctx.browser.context.newPage();
  await page.goto(`${ctx.collector.url}/fixtures/spa.html?route=home`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const aid = await page.evaluate(() => { window.shoptrail.reset(); return window.shoptrail.anonymousId(); });
  // What a single-page storefront does on each route: replace the product JSON-LD, push the URL.
  const route = (id, path) => page.evaluate(([id, path]) => {
    document.querySelectorAll("script[type='application/ld+json']").forEach((s) => s.remove());
    if (id) {
      const s = document.createElement("script");
      s.type = "application/ld+json";
      s.textContent = JSON.stringify({ "@context": "https://schema.org", "@type": "Product", productID: id, name: id,
        offers: { "@type": "Offer", price: "10.00", priceCurrency: "USD" } });
      document.head.appendChild(s);
    }
    history.pushState({}, "", path);
    // A getter hands over the calls waiting in this task (the navigation among them).
    window.shoptrail.anonymousId();
  }, [id, path]);
  await route("spa-a", "/fixtures/spa.html?route=a");
  await advance(page, 800);
  // The list route: the app has not removed product A's block yet.
  await page.evaluate(() => {
    history.pushState({}, "", "/fixtures/spa.html?route=list");
    window.shoptrail.anonymousId();
  });
  await advance(page, 800);
  await route("spa-b", "/fixtures/spa.html?route=b");
  await advance(page, 800);
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  const viewed = await events(ctx.collector.url, { anonymousId: aid, event: "Product Viewed" });
  assert.deepEqual(viewed.map((e) => [e.properties.product_id, e.context.page.url.split("?")[1]]),
    [["spa-a", "route=a"], ["spa-b", "route=b"]]);
  await page.close();
});
