// shoptrail on Shopify, end to end, against stand-ins for the platform (e2e/shopify-standin.mjs):
// a storefront rendered from the app embed's own Liquid with the AJAX Cart API, the web pixel
// in a real Web Worker through `register` from @shopify/web-pixels-extension, fed the checkout
// payloads Shopify documents (collector/tests/fixtures/shopify), and a signed orders/create
// webhook. The collector then holds one order, with Shopify's totals, in the shopper's profile;
// the abandoned-cart journey is cancelled; a forged webhook stores nothing; and a shopper who
// refuses marketing in Shopify's banner gets no popup code and gives the pixel nothing
// marketing-only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launch, startCollector, tempDir, until, events, ADMIN_AUTH, fakeClock, advance, clickAx, dialog } from "../lib.mjs";
import { startStorefront, runPixel, PRODUCTS } from "../shopify-standin.mjs";

const SECRET = "shpss_e2e_app_secret_0123456789";
const WRITE_KEY = "wk_shop_public";
const root = join(import.meta.dirname, "../..");
const fixture = (path) => JSON.parse(readFileSync(join(root, "collector/tests/fixtures/shopify", `${path}.json`), "utf8"));
const ctx = {};

before(async () => {
  ctx.tmp = tempDir();
  const journeys = join(ctx.tmp.dir, "journeys.toml");
  // The reminder is due in an hour: the order has to cancel it first.
  writeFileSync(journeys, `
[webhook]
url = "http://127.0.0.1:9/hooks/shoptrail"
secret = "whsec-e2e-0123456789abcdef"

[[journey]]
id = "abandoned_cart"
trigger = "abandoned_cart"
  [[journey.step]]
  name = "reminder"
  after = "1h"
`);
  ctx.collector = await startCollector({ db: join(ctx.tmp.dir, "shopify.db"), journeys, args: ["--shopify-secret", SECRET, "--write-keys", WRITE_KEY] });
  ctx.browser = await launch();
});

after(async () => {
  await ctx.browser?.close();
  await ctx.collector?.stop();
  ctx.tmp?.cleanup();
});

const campaigns = [{ id: "welcome-offer", trigger: { type: "time", seconds: 1 },
  content: { headline: "10% off your first order", coupon: "WELCOME10" } }];

/** A storefront whose app embed points at the collector (with the embed's `settings` over the
 * defaults), with Shopify's banner answered `consent` (the Customer Privacy API's cookie; none:
 * not answered), and a page on it. */
async function shopper(context, consent, settings = {}) {
  const store = await startStorefront({
    collector: ctx.collector.url, write_key: WRITE_KEY, consent_mode: "shopify", script_url: "",
    campaigns_url: "", campaigns, ...settings,
  });
  if (consent) await context.addCookies([{ name: "standin_consent", value: encodeURIComponent(JSON.stringify(consent)), url: store.url }]);
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  return { store, page, requests };
}

/** POSTs a webhook as Shopify does, signed with `secret`. */
async function webhook(topic, body, secret = SECRET) {
  const text = JSON.stringify(body);
  return fetch(`${ctx.collector.url}/v1/sources/shopify/webhooks`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": "standin.myshopify.com",
      "X-Shopify-Hmac-Sha256": createHmac("sha256", secret).update(text).digest("base64"),
    },
    body: text,
  });
}

/** The documented checkout payloads, made this shopper's: their cart's token, lines and
 * totals (shipping 4.00 as the pixel reports it), the order id, the time now. */
function checkoutEvents(cart, { orderId, email, names }) {
  const subtotal = cart.total_price / 100;
  const lines = cart.items.map((i) => ({
    id: i.key, quantity: i.quantity, title: i.product_title,
    variant: { id: String(i.variant_id), title: i.variant_title || "Default Title", sku: i.sku, untranslatedTitle: i.variant_title || "",
      price: { amount: i.price / 100, currencyCode: "USD" }, image: null,
      product: { id: String(i.product_id), title: i.product_title, vendor: i.vendor, type: i.product_type, url: i.url, untranslatedTitle: i.product_title } },
    discountAllocations: [], finalLinePrice: { amount: i.line_price / 100, currencyCode: "USD" }, sellingPlanAllocation: null, properties: [],
  }));
  return names.map((name) => {
    const ev = fixture(`pixel/${name}`);
    // Shopify gives each event its own id.
    ev.id = `sh-${randomUUID()}`;
    ev.timestamp = new Date().toISOString();
    const c = ev.data.checkout;
    c.token = cart.token;
    c.lineItems = lines;
    c.attributes = Object.entries(cart.attributes).map(([key, value]) => ({ key, value }));
    c.subtotalPrice = { amount: subtotal, currencyCode: "USD" };
    c.totalPrice = { amount: subtotal + 4, currencyCode: "USD" };
    c.totalTax = { amount: 0, currencyCode: "USD" };
    if (c.email) c.email = email;
    if (c.order) c.order.id = orderId;
    return ev;
  });
}

/** orders/create as Shopify documents it, for this cart: the cart's attributes become the
 * order's note_attributes; shipping is 5.00 (the webhook's totals win). */
function orderWebhook(cart, { orderId, email }) {
  const order = fixture("webhooks/orders_create");
  const subtotal = cart.total_price / 100;
  Object.assign(order, {
    id: Number(orderId), checkout_token: cart.token, cart_token: cart.token, email, contact_email: email,
    note_attributes: Object.entries(cart.attributes).map(([name, value]) => ({ name, value })),
    subtotal_price: subtotal.toFixed(2), total_price: (subtotal + 5).toFixed(2), total_tax: "0.00",
    total_discounts: "0.00", discount_codes: [], currency: "USD", financial_status: "paid", cancelled_at: null,
    created_at: new Date().toISOString(), processed_at: new Date().toISOString(),
    line_items: cart.items.map((i) => ({ ...order.line_items[0], id: i.variant_id * 10, product_id: i.product_id, variant_id: i.variant_id,
      title: i.product_title, name: i.title, variant_title: i.variant_title, sku: i.sku, vendor: i.vendor,
      price: (i.price / 100).toFixed(2), quantity: i.quantity })),
  });
  order.total_shipping_price_set.shop_money.amount = "5.00";
  return order;
}

test("a Shopify shopper from product page to order is one person with one order, and the cart journey ends", async () => {
  const { store, page, requests } = await shopper(ctx.browser.context, { analytics: true, marketing: true, sale: true });
  await fakeClock(page.context());
  try {
    await page.goto(`${store.url}/products/aviator-sunglasses`);
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    // Shopify's banner said yes: the embed granted both categories.
    await page.waitForFunction(() => {
      const c = window.shoptrail.consent.get();
      return c && c.decided && c.granted.includes("analytics") && c.granted.includes("marketing");
    });
    const aid = await page.evaluate(() => window.shoptrail.anonymousId());

    // Two items through /cart/add.js (fetch), then a quantity through /cart/change.js (XHR).
    await page.evaluate(async ([a, b]) => {
      await fetch("/cart/add.js", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ items: [{ id: a, quantity: 1 }, { id: b, quantity: 1 }] }) });
    }, [PRODUCTS[0].variants[0].id, PRODUCTS[1].variants[0].id]);
    await page.waitForFunction(() => (window.shoptrail.cart.get()?.products || []).length === 2);
    await page.evaluate((id) => new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open("POST", "/cart/change.js");
      x.setRequestHeader("Content-Type", "application/json");
      x.onloadend = resolve;
      x.send(JSON.stringify({ id, quantity: 3 }));
    }), PRODUCTS[0].variants[0].id);
    await page.waitForFunction(() => window.shoptrail.cart.get().products.some((p) => p.quantity === 3));

    // The anonymous id and session went into the cart's attributes.
    const cart = await until(() => {
      const c = [...store.carts.values()].find((c) => c.items.length === 2);
      return c && c.attributes.shoptrail_aid === aid && c;
    }, 10000, "the cart's shoptrail_aid attribute");
    assert.equal(String(cart.attributes.shoptrail_session), String(await page.evaluate(() => window.shoptrail.sessionId())));
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);

    const storefront = await events(ctx.collector.url, { anonymousId: aid });
    const viewed = storefront.filter((e) => e.event === "Product Viewed");
    assert.equal(viewed.length, 1, "Product Viewed once: from the embed, not the theme's JSON-LD too");
    assert.equal(viewed[0].properties.name, "Aviator sunglasses");
    assert.equal(viewed[0].properties.variant, "Gold");
    assert.equal(viewed[0].properties.price, 89.99);
    const added = storefront.filter((e) => e.event === "Product Added").map((e) => [e.properties.name, e.properties.quantity]);
    assert.deepEqual(added, [["Aviator sunglasses", 1], ["Mid-century lounger", 1], ["Aviator sunglasses", 2]]);

    // A popup loads (marketing allowed) and its coupon applies itself to the Shopify cart.
    await until(() => requests.some((p) => p.endsWith("shoptrail-engage.wasm")), 10000, "the engage module");
    await advance(page, 1500);
    await until(() => dialog(page), 5000, "the popup");
    await clickAx(page, "button", "Copy");
    await until(() => store.discounts.includes("WELCOME10"), 5000, "/discount/WELCOME10");
    const cookies = await page.context().cookies(store.url);
    assert.equal(cookies.find((c) => c.name === "discount_code")?.value, "WELCOME10");

    // Checkout: the web pixel, in a Web Worker, fed Shopify's checkout events.
    const orderId = "5550001";
    const shopifyCart = store.cartJson(cart);
    const answer = await runPixel(page, {
      pixelUrl: `${ctx.collector.url}/dist/shoptrail-pixel.js`,
      settings: { collector: ctx.collector.url, writeKey: WRITE_KEY },
      customerPrivacy: { analyticsProcessingAllowed: true, marketingAllowed: true, preferencesProcessingAllowed: false, saleOfDataAllowed: true },
      events: checkoutEvents(shopifyCart, { orderId, email: "ada@example.com", names: [
        "checkout_started", "checkout_contact_info_submitted", "checkout_address_info_submitted",
        "checkout_shipping_info_submitted", "payment_info_submitted", "checkout_completed"] }),
    });
    assert.equal(answer.status, 200);
    const fromPixel = await until(async () => {
      const e = await events(ctx.collector.url, { anonymousId: aid });
      return e.some((x) => x.event === "Order Completed") && e;
    }, 10000, "the pixel's order");
    assert.equal(fromPixel.filter((e) => e.event === "Checkout Step Completed").length, 3);
    assert.equal(fromPixel.filter((e) => e.event === "Payment Info Entered").length, 1);

    // A forged webhook: refused, nothing stored.
    const before = (await events(ctx.collector.url)).length;
    const forged = await webhook("orders/create", orderWebhook(shopifyCart, { orderId, email: "ada@example.com" }), "shpss_forged_secret_0000000000");
    assert.equal(forged.status, 401);
    assert.equal((await events(ctx.collector.url)).length, before);

    // The signed order webhook: the source of truth for revenue.
    const r = await webhook("orders/create", orderWebhook(shopifyCart, { orderId, email: "ada@example.com" }));
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal((await r.json()).replaced, 1);

    const orders = (await events(ctx.collector.url)).filter((e) => e.event === "Order Completed");
    assert.equal(orders.length, 1, "one order, whoever reported it");
    const total = shopifyCart.total_price / 100 + 5;
    assert.equal(orders[0].properties.total, total, "Shopify's total, not the pixel's");
    assert.equal(orders[0].anonymousId, aid);
    assert.equal(orders[0].properties.products.length, 2);

    // One profile: the storefront, the checkout and the order.
    const profile = await (await fetch(`${ctx.collector.url}/v1/profiles/${aid}`, { headers: ADMIN_AUTH })).json();
    const seen = new Set(profile.timeline.map((e) => e.event || e.type));
    for (const name of ["Product Viewed", "Product Added", "Checkout Started", "Order Completed"]) assert.ok(seen.has(name), name);
    assert.equal(profile.traits.email, "ada@example.com");
    assert.equal(profile.orders.length, 1);

    // The abandoned-cart reminder was cancelled by the order.
    const { deliveries } = await (await fetch(`${ctx.collector.url}/v1/journeys/deliveries?journey=abandoned_cart`, { headers: ADMIN_AUTH })).json();
    assert.ok(deliveries.length >= 1, "the cart started the journey");
    for (const d of deliveries) assert.deepEqual([d.status, d.reason], ["cancelled", "the shopper ordered"]);

    const metrics = await (await fetch(`${ctx.collector.url}/v1/metrics`, { headers: ADMIN_AUTH })).json();
    assert.equal(metrics.totals.orders, 1);
    assert.equal(metrics.totals.revenue.USD, total.toFixed(2));
  } finally {
    await page.close();
    await store.stop();
  }
});

test("marketing refused in Shopify's banner: no popup code loads and the pixel sends nothing marketing-only", async () => {
  const browser = await launch();
  // The SDK from the embed's "SDK URL" setting this time.
  const { store, page, requests } = await shopper(browser.context, { analytics: true, marketing: false, sale: true },
    { script_url: `${ctx.collector.url}/dist/shoptrail.js` });
  try {
    await page.goto(`${store.url}/collections/summer`);
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    await page.waitForFunction(() => {
      const c = window.shoptrail.consent.get();
      return c && c.decided && c.granted.join() === "analytics";
    });
    const aid = await page.evaluate(() => window.shoptrail.anonymousId());
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
    // The campaigns were added; the page went idle twice since: the module would have loaded.
    await page.evaluate(() => new Promise((r) => requestIdleCallback(() => requestIdleCallback(r))));
    assert.deepEqual(requests.filter((p) => p.includes("shoptrail-engage")), [], "no popup code");
    const listed = (await events(ctx.collector.url, { anonymousId: aid })).filter((e) => e.event === "Product List Viewed");
    assert.equal(listed.length, 1);
    assert.equal(listed[0].properties.category, "Summer");
    assert.equal(listed[0].context.consent.categoryPreferences.marketing, false);

    // Themes change carts in many ways: a product form posted without script (the next page
    // reads /cart.js), /cart/update.js, /cart/clear.js.
    await page.setContent(`<form method="post" action="${store.url}/cart/add"><input name="id" value="4100102"><input name="quantity" value="1"></form>`);
    await Promise.all([page.waitForURL(`${store.url}/cart`), page.evaluate(() => document.forms[0].submit())]);
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    await page.waitForFunction(() => (window.shoptrail.cart.get()?.products || []).length === 1);
    await page.evaluate(() => fetch("/cart/update.js", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ updates: { 4100102: 2 } }) }));
    await page.waitForFunction(() => window.shoptrail.cart.get().products[0]?.quantity === 2);
    await page.evaluate(() => fetch("/cart/clear.js", { method: "POST" }));
    await page.waitForFunction(() => window.shoptrail.cart.get().products.length === 0);
    await page.evaluate(() => fetch("/cart/add.js", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: 4100102, quantity: 1 }) }));
    await page.waitForFunction(() => window.shoptrail.cart.get().products.length === 1);
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
    const changes = (await events(ctx.collector.url, { anonymousId: aid }))
      .filter((e) => e.event === "Product Added" || e.event === "Product Removed")
      .map((e) => [e.event, e.properties.variant, e.properties.quantity]);
    assert.deepEqual(changes, [["Product Added", "Silver", 1], ["Product Added", "Silver", 1],
      ["Product Removed", "Silver", 2], ["Product Added", "Silver", 1]]);
    const cart = await until(() => [...store.carts.values()].find((c) => c.items.length && c.attributes.shoptrail_aid === aid), 10000, "the cart attribute");
    await runPixel(page, {
      pixelUrl: `${ctx.collector.url}/dist/shoptrail-pixel.js`,
      settings: { collector: ctx.collector.url, writeKey: WRITE_KEY },
      customerPrivacy: { analyticsProcessingAllowed: true, marketingAllowed: false, preferencesProcessingAllowed: false, saleOfDataAllowed: true },
      events: checkoutEvents(store.cartJson(cart), { orderId: "5550002", email: "eve@example.com",
        names: ["checkout_started", "checkout_contact_info_submitted"] }),
    });
    const stored = await until(async () => {
      const e = await events(ctx.collector.url, { anonymousId: aid });
      return e.some((x) => x.event === "Checkout Step Completed") && e;
    }, 10000, "the pixel's checkout events");
    const started = stored.find((e) => e.event === "Checkout Started");
    assert.equal(started.context.consent.categoryPreferences.marketing, false);
    assert.ok(!JSON.stringify(stored).includes("eve@example.com"), "the email stayed in the checkout");
    assert.ok(!stored.some((e) => e.type === "identify"));

    // The shopper changes their mind in Shopify's banner: visitorConsentCollected grants
    // marketing, and the popup code loads.
    await page.evaluate(() => new Promise((r) => window.Shopify.customerPrivacy.setTrackingConsent({ analytics: true, marketing: true }, r)));
    await page.waitForFunction(() => window.shoptrail.consent.get().granted.includes("marketing"));
    await until(() => requests.some((p) => p.endsWith("shoptrail-engage.wasm")), 10000, "the engage module");
    // And withdraws everything: the SDK forgets the shopper.
    await page.evaluate(() => new Promise((r) => window.Shopify.customerPrivacy.setTrackingConsent({ analytics: false, marketing: false }, r)));
    await page.waitForFunction(() => window.shoptrail.consent.get().granted.length === 0);
    const cookies = await page.context().cookies(store.url);
    assert.equal(cookies.find((c) => c.name === "shoptrail_aid"), undefined, "the id cookie is gone");
    // And the cart no longer carries the id to the order.
    await until(() => cart.attributes.shoptrail_aid === "", 10000, "the cart attribute emptied");
  } finally {
    await page.close();
    await store.stop();
    await browser.close();
  }
});

test("the embed's other consent modes: not required sends at once; required waits for the site's grant", async () => {
  const browser = await launch();
  try {
    const open = await shopper(browser.context, null, { consent_mode: "none" });
    // Arriving from a journey's cart link: its token leaves the address bar at once.
    await open.page.goto(`${open.store.url}/search?q=mug&attributes%5Bshoptrail_link%5D=tok_0123456789abcdef`);
    await open.page.waitForFunction(() => window.shoptrail.loaded === true);
    assert.equal(await open.page.evaluate(() => location.search), "?q=mug");
    assert.deepEqual(await open.page.evaluate(() => {
      const c = window.shoptrail.consent.get();
      return [c.required, c.decided];
    }), [false, true]);
    const aid = await open.page.evaluate(() => window.shoptrail.anonymousId());
    assert.equal(await open.page.evaluate(() => window.shoptrail.flush()), true);
    const searched = (await events(ctx.collector.url, { anonymousId: aid })).filter((e) => e.event === "Products Searched");
    assert.equal(searched.length, 1);
    assert.equal(searched[0].properties.query, "mug");
    assert.ok(!JSON.stringify(await events(ctx.collector.url, { anonymousId: aid })).includes("tok_0123456789abcdef"));
    await open.store.stop();

    const held = await shopper(browser.context, null, { consent_mode: "required" });
    await held.page.goto(`${held.store.url}/`);
    await held.page.waitForFunction(() => window.shoptrail.loaded === true);
    await held.page.evaluate(() => window.shoptrail.ready());
    assert.deepEqual(await held.page.evaluate(() => {
      const c = window.shoptrail.consent.get();
      return [c.required, c.decided, c.granted];
    }), [true, false, []]);
    assert.deepEqual(held.requests.filter((p) => p.includes("/v1/batch")), [], "nothing sent before the grant");
    await held.page.evaluate(() => window.shoptrail.consent.grant(["analytics"]));
    assert.equal(await held.page.evaluate(() => window.shoptrail.flush()), true);
    const heldAid = await held.page.evaluate(() => window.shoptrail.anonymousId());
    // (Both stores are on 127.0.0.1, whose cookies are shared across ports: the same id.)
    const pages = (await events(ctx.collector.url, { anonymousId: heldAid }))
      .filter((e) => e.type === "page" && e.context.page.url.startsWith(held.store.url));
    assert.equal(pages.length, 1, "the page view held for consent");
    await held.store.stop();
  } finally {
    await browser.close();
  }
});
