// Counting a refusal without cookies (`consent.onRefuse: "cookieless"`, here the script tag's
// `data-consent-on-refuse`), in Chromium against the real collector: a shopper who refuses
// browses three pages and orders. Nothing of shoptrail's is stored in the browser, no event
// leaves with an id, a session or a trait, and the collector counts one visitor, one session and
// one order, told apart from consented traffic (`by=consent`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, freshContext, recordingProxy, ADMIN_AUTH } from "../lib.mjs";

const ctx = suite("cookieless");

test("a shopper who refuses browses three pages and orders: one visitor, one session, one order, nothing stored or sent with an id", async () => {
  // Pages load through a proxy that keeps every batch as it left the browser.
  const proxy = await recordingProxy(ctx.collector);
  const base = proxy.url;
  const context = await freshContext(ctx.browser.context, base);
  const page = await context.newPage();
  try {
    await page.goto(`${base}/fixtures/cookieless.html?page=1`);
    await page.getByRole("button", { name: "Reject" }).click();
    assert.equal(await page.evaluate(() => shoptrail.flush()), true, "the held page view leaves");
    for (const n of [2, 3]) {
      await page.goto(`${base}/fixtures/cookieless.html?page=${n}`);
      await page.evaluate(() => shoptrail.ready());
      assert.equal(await page.locator("#consent-banner").isHidden(), true, "the banner remembers");
    }
    const flushed = await page.evaluate(() => {
      shoptrail.identify("ada-1", { email: "ada@example.com" });
      shoptrail.cart.add({ product_id: "mug", name: "Mug", price: 15, quantity: 2, currency: "EUR" });
      shoptrail.checkout.start();
      shoptrail.order.complete({ order_id: "o-cookieless", total: 30, currency: "EUR" });
      return shoptrail.flush();
    });
    assert.equal(flushed, true);
    const state = await page.evaluate(() => shoptrail.consent.get());
    assert.deepEqual([state.decided, state.granted], [true, []]);

    // Nothing of shoptrail's in the browser: the banner's own cookie only.
    const stored = await page.evaluate(() => ({
      cookies: document.cookie.split("; ").filter(Boolean),
      local: Object.keys(localStorage),
      session: Object.keys(sessionStorage),
    }));
    assert.deepEqual(stored, { cookies: ["banner=none"], local: [], session: [] });
    assert.deepEqual((await context.cookies()).map((c) => c.name), ["banner"]);
    assert.deepEqual(await page.evaluate(() => window.errors), []);

    // What left: no id, session or trait in any event, each one cookieless.
    const sent = proxy.sent.flatMap((r) => r.batch);
    const pages = sent.filter((e) => e.type === "page");
    assert.equal(pages.length, 3, JSON.stringify(sent.map((e) => e.type + " " + (e.event || ""))));
    assert.ok(sent.some((e) => e.event === "Order Completed"));
    for (const e of sent) {
      assert.equal(e.type === "identify" || e.type === "alias", false, "nothing identifies");
      for (const k of ["anonymousId", "userId", "traits"]) assert.equal(k in e, false, `${k} in ${e.type}`);
      assert.equal(e.context.cookieless, true);
      assert.equal("sessionId" in e.context, false);
      assert.equal(e.context.consent.categoryPreferences.analytics, false);
      assert.doesNotMatch(JSON.stringify(e), /ada/);
    }

    // The collector: one visitor of the day, one session, one order.
    const ours = await until(async () => {
      const all = await events(base);
      return all.some((e) => e.event === "Order Completed") && all.filter((e) => e.type === "page").length === 3 && all;
    }, 15000, "three page views and the order stored");
    const visitors = new Set(ours.map((e) => e.anonymousId));
    const sessions = new Set(ours.map((e) => e.context.sessionId));
    assert.equal(visitors.size, 1, [...visitors].join());
    assert.match([...visitors][0], /^cl-[0-9a-f]{32}$/);
    assert.equal(sessions.size, 1);
    assert.ok(ours.every((e) => !("userId" in e) || e.userId === null));

    const r = await fetch(`${base}/v1/metrics?by=consent`, { headers: ADMIN_AUTH });
    const m = await r.json();
    assert.equal(r.status, 200, JSON.stringify(m));
    assert.deepEqual(
      [m.totals.sessions, m.totals.orders, m.totals.customers, m.totals.revenue],
      [1, 1, 1, { EUR: "30.00" }],
    );
    assert.deepEqual(m.groups.map((g) => [g.key, g.metrics.sessions, g.metrics.orders]), [["cookieless", 1, 1]]);
    const steps = Object.fromEntries(m.funnel.map((s) => [s.step, s.count]));
    assert.deepEqual(steps, { viewed: 1, addedToCart: 1, checkoutStarted: 1, ordered: 1 });
  } finally {
    await page.close();
    await proxy.stop();
  }
});
