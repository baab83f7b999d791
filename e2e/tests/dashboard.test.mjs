// The dashboard: two shoppers go through the demo store (one from a newsletter link on a
// desktop who orders, one direct on a phone who leaves a cart), then the live page's Metrics
// view must show exactly what GET /v1/metrics and /v1/journeys answer, and the numbers this
// test knows from driving the store.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ADMIN_AUTH, ADMIN_TOKEN, events, fillCheckout, launch, launchMobile, startCollector, tempDir, until } from "../lib.mjs";

const ctx = {};
const PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

before(async () => {
  ctx.tmp = tempDir();
  // The demo's own journeys file, pointed at this collector's inbox.
  const port = await freePort();
  const demo = readFileSync(join(import.meta.dirname, "../../collector/demo/journeys.toml"), "utf8");
  const journeys = join(ctx.tmp.dir, "journeys.toml");
  writeFileSync(journeys, demo.replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`));
  ctx.collector = await startCollector({ db: join(ctx.tmp.dir, "dashboard.db"), port, journeys });
  ctx.desktop = await launch();
  ctx.phone = await launchMobile({ userAgent: PHONE_UA });
});

after(async () => {
  await ctx.desktop?.close();
  await ctx.phone?.close();
  await ctx.collector?.stop();
  ctx.tmp?.cleanup();
});

const ready = (page) => page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
const card = (page, id) => page.locator(`[data-testid="product-card"][data-product-id="${id}"]`);

// The dashboard's formatting, restated: what a reader sees for each kind of value.
const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)}%`);
const money = (m) => {
  const keys = Object.keys(m || {}).sort();
  return keys.length ? keys.map((c) => `${m[c]} ${c}`).join(" · ") : "—";
};
const count = (n) => (n === null || n === undefined ? "—" : String(n));
const TILES = {
  sessions: count, orders: count, conversionRate: pct, revenue: money, averageOrderValue: money,
  customers: count, repeatPurchaseRate: pct, customerLifetimeValue: money, cartAbandonmentRate: pct,
  reminderRecoveryRate: pct, nps: count,
};

test("the Metrics view shows what /v1/metrics says after shoppers use the demo store", async () => {
  const base = ctx.collector.url;

  // Desktop, from the newsletter: the mug, checkout, order.
  const a = await ctx.desktop.context.newPage();
  await a.goto(`${base}/?utm_source=newsletter&utm_medium=email&utm_campaign=winter`);
  await ready(a);
  const aid = await a.evaluate(() => window.shoptrail.anonymousId());
  // As the engage module reports an A/B campaign's arm.
  await a.evaluate(() => {
    window.shoptrail.track("Experiment Viewed", { experiment_id: "exit-offer", variation_id: "b" });
    window.shoptrail.track("Popup Shown", { campaign_id: "exit-offer", variant_id: "b", trigger: "exit" });
  });
  await card(a, "nw-001").locator('[data-testid="add-to-cart"]').click();
  await a.locator('[data-testid="cart-count"]').filter({ hasText: /^1$/ }).waitFor();
  await Promise.all([a.waitForURL("**/cart.html"), a.locator("a.cart-link").click()]);
  await ready(a);
  await Promise.all([a.waitForURL("**/checkout.html"), a.locator('[data-testid="checkout"]').click()]);
  await ready(a);
  await fillCheckout(a, "ada@example.com");
  await Promise.all([a.waitForURL("**/confirmation.html?order=*"), a.click('[data-testid="place-order"]')]);
  await ready(a);
  const total = (await a.locator('[data-testid="order-total"]').textContent()).trim();
  assert.match(total, /^\$\d+\.\d\d$/);
  await a.goto("about:blank");

  // Phone, direct: the socks in the cart, then gone.
  const b = await ctx.phone.context.newPage();
  await b.goto(`${base}/`);
  await ready(b);
  const bid = await b.evaluate(() => window.shoptrail.anonymousId());
  await b.evaluate(() => window.shoptrail.track("Experiment Viewed", { experiment_id: "exit-offer", variation_id: "control" }));
  await card(b, "nw-004").locator('[data-testid="add-to-cart"]').click();
  await b.locator('[data-testid="cart-count"]').filter({ hasText: /^1$/ }).waitFor();
  await b.evaluate(() => window.shoptrail.flush());
  await b.goto("about:blank");

  await until(async () => (await events(base, { anonymousId: aid, event: "Order Completed" })).length === 1
    && (await events(base, { anonymousId: bid, event: "Product Added" })).length === 1, 20000, "both shoppers' events");

  // The dashboard, in the desktop browser.
  const d = await ctx.desktop.context.newPage();
  const problems = [];
  d.on("pageerror", (e) => problems.push(e.message));
  d.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  // The operator has entered the admin token in this tab before.
  await d.addInitScript((t) => sessionStorage.setItem("shoptrail-admin", t), ADMIN_TOKEN);
  await d.goto(`${base}/_shoptrail/#metrics`);
  await d.waitForFunction(() => document.getElementById("metrics").dataset.state === "ready", null, { timeout: 15000 });
  const { from, to } = await d.evaluate(() => ({ ...document.getElementById("metrics").dataset }));
  const range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const api = await (await fetch(`${base}/v1/metrics?${range}`, { headers: ADMIN_AUTH })).json();
  const byChannel = await (await fetch(`${base}/v1/metrics?${range}&by=channel`, { headers: ADMIN_AUTH })).json();
  const flows = await (await fetch(`${base}/v1/journeys`, { headers: ADMIN_AUTH })).json();

  // What the test knows from driving the store.
  const t = api.totals;
  assert.equal(t.sessions, 2);
  assert.equal(t.orders, 1);
  assert.equal(t.conversionRate, 0.5);
  assert.deepEqual(t.revenue, { USD: total.slice(1) });
  assert.equal(t.carts, 2);
  assert.equal(t.cartAbandonmentRate, 0.5);
  assert.deepEqual(api.funnel.map((s) => [s.step, s.count]),
    [["viewed", 2], ["addedToCart", 2], ["checkoutStarted", 1], ["ordered", 1]]);

  // Every tile shows the API's number.
  const tiles = await d.$$eval("#kpis .kpi", (els) => els.map((e) => [e.dataset.metric, e.querySelector(".value").textContent]));
  assert.equal(tiles.length, Object.keys(TILES).length);
  for (const [metric, shown] of tiles) assert.equal(shown, TILES[metric](t[metric]), metric);
  assert.equal(Object.fromEntries(tiles).revenue, `${total.slice(1)} USD`);

  // The channel table: one row per group, in the API's order.
  const rows = (sel) => d.$$eval(`${sel} tbody tr`, (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  const channelName = (k) => `${k.source} / ${k.medium}`;
  assert.deepEqual(await rows("#channels"), byChannel.groups.map((g) =>
    [channelName(g.key), count(g.metrics.sessions), count(g.metrics.orders), pct(g.metrics.conversionRate), money(g.metrics.revenue)]));
  assert.deepEqual(byChannel.groups.map((g) => [channelName(g.key), g.metrics.orders]).sort(),
    [["(direct) / (none)", 0], ["newsletter / email", 1]]);

  // The funnel with its drop-offs.
  assert.deepEqual(await rows("#funnel-table"), api.funnel.map((s) =>
    [{ viewed: "Viewed", addedToCart: "Added to cart", checkoutStarted: "Checkout started", ordered: "Ordered" }[s.step],
      count(s.count), pct(s.dropOff)]));

  // The journeys: the phone's cart waits for its reminder, the ordered cart's steps are cancelled.
  const jrows = await rows("#journeys-table");
  const expected = [];
  for (const j of flows.journeys) {
    for (const s of j.steps) {
      const c = s.counts;
      expected.push([j.id, `${s.step}. ${s.name} (${s.after})`, count(c.delivered), count(c.scheduled + c.retrying + c.sending),
        count(c.failed), count(c.skipped), count(c.cancelled)]);
    }
  }
  assert.deepEqual(jrows, expected);
  const cart = flows.journeys.find((j) => j.id === "abandoned_cart");
  assert.deepEqual([cart.steps[0].counts.scheduled, cart.steps[0].counts.cancelled], [1, 1]);

  // The campaign: shown once, to the shopper who then ordered within its 5 days.
  assert.equal(api.attributionDays, 5);
  assert.deepEqual(api.campaigns.map((c) => [c.campaignId, c.shows, c.shoppers, c.conversions, c.orders]), [["exit-offer", 1, 1, 0, 1]]);
  assert.deepEqual(api.campaigns[0].revenue, { USD: total.slice(1) });
  assert.deepEqual(await rows("#campaigns-table"), api.campaigns.map((c) => [
    c.campaignId, count(c.shows), count(c.shoppers), count(c.conversions), pct(c.conversionRate), count(c.orders), money(c.revenue),
  ]));

  // The experiment: the variant's shopper ordered, the control's did not.
  const exp = api.experiments.find((e) => e.experimentId === "exit-offer");
  assert.deepEqual(exp.variants.map((v) => [v.variationId, v.exposed, v.converted]), [["control", 1, 0], ["b", 1, 1]]);
  assert.equal(exp.variants[1].lift, 1);
  const points = (x) => (x === null || x === undefined ? "—" : `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} pts`);
  // Revenue per shopper in the currency the verdicts read, and each variant's verdict line.
  const cur = exp.currency;
  assert.ok(cur, "the variant's order gives the experiment a currency");
  assert.deepEqual(await rows('table[data-experiment="exit-offer"]'), exp.variants.map((v) => {
    const r = v.revenue[cur];
    return [
      v.variationId, count(v.exposed), count(v.converted), pct(v.conversionRate), points(v.lift),
      v.ci ? `${points(v.ci[0])} … ${points(v.ci[1])}` : "—", v.pValue === null || v.pValue === undefined ? "—" : v.pValue.toFixed(3),
      r.perVisitor === null ? "—" : `${r.perVisitor} ${cur}`, r.perVisitorLift ? `${r.perVisitorLift} (${r.perVisitorLiftCi[0]} … ${r.perVisitorLiftCi[1]})` : "—",
    ];
  }));
  assert.equal(Number(exp.variants[0].revenue[cur].revenue), 0, "the control's shopper did not order");
  const verdicts = await d.locator('p.verdict[data-experiment="exit-offer"]').allTextContents();
  assert.deepEqual(verdicts, [exp.variants[1].verdictLine]);
  assert.match(verdicts[0], /^Not enough data yet/);

  // The charts are drawn (uPlot, served by the collector), without errors or CSP reports.
  assert.equal(await d.locator("#over-time .uplot").count(), 2);
  assert.deepEqual(problems, []);
  await d.close();
});
