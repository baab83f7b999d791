// A shopper's whole funnel through the demo store, home to order confirmation. The store tracks it
// with data-shoptrail markup, schema.org JSON-LD and the commerce API together; the collector must
// hold Segment's e-commerce v2 sequence in order, with one cart and exact money.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, fillCheckout } from "../lib.mjs";

const ctx = suite("funnel");

const EMAIL = "ada@example.com";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// Whole cents of a dollar amount, for sums without binary float error.
const cents = (n) => Math.round(n * 100);

// The fields of each product that the funnel drives.
const lines = (products) => products.map((p) => [p.product_id, p.quantity, p.price, p.variant]);

test("home → product → cart → checkout → confirmation gives the e-commerce v2 sequence", async () => {
  const page = await ctx.browser.context.newPage();
  const pageErrors = [];
  const sdkErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.exposeFunction("reportShoptrailError", (text) => sdkErrors.push(`${page.url()}: ${text}`));

  // Waits for the SDK (markup is only tracked once it is listening) and records its errors.
  const ready = async () => {
    await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
    await page.evaluate(() => window.shoptrail.on("error", (e) => window.reportShoptrailError(`${e.code}: ${e.message}`)));
  };
  const badge = page.locator('[data-testid="cart-count"]');
  const line = (id) => page.locator(`[data-testid="cart-line"][data-product-id="${id}"]`);

  // Home: add the mug from the grid (markup), then open the socks (markup click).
  await page.goto(`${ctx.collector.url}/`);
  await ready();
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  assert.match(aid, UUID);
  const card = (id) => page.locator(`[data-testid="product-card"][data-product-id="${id}"]`);
  await card("nw-001").locator('[data-testid="add-to-cart"]').click();
  await badge.filter({ hasText: /^1$/ }).waitFor();
  await Promise.all([page.waitForURL("**/product.html?id=nw-004"), card("nw-004").locator(".card-title a").click()]);

  // Product page: JSON-LD printed for the socks; add 2 (API).
  await ready();
  const ld = JSON.parse(await page.locator('script[type="application/ld+json"]#product-jsonld').textContent());
  assert.equal(ld["@type"], "Product");
  assert.equal(ld.offers.price, "19.99");
  await page.locator('[data-testid="quantity"]').fill("2");
  await page.locator('form.buy-form [data-testid="add-to-cart"]').click();
  await badge.filter({ hasText: /^3$/ }).waitFor();

  // Cart: + on the mug (1 → 2), − on the socks (2 → 1).
  await Promise.all([page.waitForURL("**/cart.html"), page.locator("a.cart-link").click()]);
  await ready();
  await line("nw-001").locator('[data-testid="qty-inc"]').click();
  await line("nw-001").locator('[data-testid="line-quantity"]').filter({ hasText: /^2$/ }).waitFor();
  await line("nw-004").locator('[data-testid="qty-dec"]').click();
  await line("nw-004").locator('[data-testid="line-quantity"]').filter({ hasText: /^1$/ }).waitFor();
  assert.equal(await page.locator('[data-testid="cart-subtotal"]').textContent(), "$67.99");

  // Checkout: shipping details, standard shipping, a card, place the order.
  await Promise.all([page.waitForURL("**/checkout.html"), page.locator('[data-testid="checkout"]').click()]);
  await ready();
  await fillCheckout(page, EMAIL);
  const checkoutTotal = await page.locator('[data-testid="checkout-total"]').textContent();
  const sdkCart = await page.evaluate(() => window.shoptrail.cart.get());
  await Promise.all([page.waitForURL("**/confirmation.html?order=*"), page.click('[data-testid="place-order"]')]);

  // Confirmation: what the shopper is shown; the SDK's cart has been emptied and renewed.
  await ready();
  const shownTotal = await page.locator('[data-testid="order-total"]').textContent();
  const shownOrderId = await page.locator('[data-testid="order-id"]').textContent();
  const cartAfter = await page.evaluate(() => window.shoptrail.cart.get());
  assert.deepEqual(cartAfter.products, []);
  assert.notEqual(cartAfter.cart_id, sdkCart.cart_id, "a new cart after the order");
  assert.equal(await badge.textContent(), "0");
  // Leaving the confirmation page sends its Page Left.
  await page.goto("about:blank");

  const all = await until(async () => {
    const byId = new Map();
    for (const q of [{ anonymousId: aid }, { userId: EMAIL }]) {
      for (const e of await events(ctx.collector.url, q)) byId.set(e.messageId, e);
    }
    const evs = [...byId.values()];
    const done = evs.some((e) => e.event === "Order Completed")
      && evs.some((e) => e.event === "Page Left" && e.properties.path === "/confirmation.html");
    return done && evs;
  }, 20000, "Order Completed and the confirmation page's Page Left");
  // Client order: timestamps, then the collector's arrival order for events of the same millisecond.
  all.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.seq - b.seq);

  // The whole timeline, every event of every type.
  const label = (e) => e.type === "page" ? `page ${e.properties.path}`
    : e.type === "identify" ? "identify"
      : e.event === "Page Left" ? `Page Left ${e.properties.path}` : e.event;
  assert.deepEqual(all.map(label), [
    "page /", "Product List Viewed", "Product Added", "Product Clicked", "Page Left /",
    "page /product.html", "Product Viewed", "Product Added", "Page Left /product.html",
    "page /cart.html", "Cart Viewed", "Product Added", "Product Removed", "Page Left /cart.html",
    "page /checkout.html", "Checkout Started", "Checkout Step Viewed", "Checkout Step Completed",
    "Checkout Step Viewed", "Payment Info Entered", "Checkout Step Completed", "identify", "Order Completed",
    "Page Left /checkout.html",
    "page /confirmation.html", "Page Left /confirmation.html",
  ]);
  assert.equal(new Set(all.map((e) => e.messageId)).size, all.length, "no duplicates");
  assert.ok(all.every((e) => e.anonymousId === aid), "one anonymous id");
  assert.equal(new Set(all.map((e) => e.context.sessionId)).size, 1, "one session");
  const identifyAt = all.findIndex((e) => e.type === "identify");
  assert.deepEqual(all.map((e) => e.userId ?? null),
    all.map((_, i) => (i < identifyAt ? null : EMAIL)), "the user id from identify on");
  assert.ok(all.every((e) => e.context.library.name === "shoptrail"));

  // Page views and Page Left: one each per page, referrers chained.
  const base = ctx.collector.url;
  const pages = all.filter((e) => e.type === "page").map((e) => e.properties);
  assert.deepEqual(pages.map((p) => [p.path, p.referrer]), [
    ["/", ""],
    ["/product.html", `${base}/`],
    ["/cart.html", `${base}/product.html?id=nw-004`],
    ["/checkout.html", `${base}/cart.html`],
    ["/confirmation.html", `${base}/checkout.html`],
  ]);
  assert.equal(pages[4].search, `?order=${shownOrderId}`);
  const left = all.filter((e) => e.event === "Page Left").map((e) => e.properties);
  assert.deepEqual(left.map((p) => p.url), pages.map((p) => p.url));
  for (const p of left) {
    assert.ok(Number.isInteger(p.time_on_page_ms) && p.time_on_page_ms >= 0, JSON.stringify(p));
    assert.ok(Number.isInteger(p.max_scroll_depth) && p.max_scroll_depth >= 0 && p.max_scroll_depth <= 100, JSON.stringify(p));
  }

  // The commerce events, in order.
  const track = all.filter((e) => e.type === "track" && e.event !== "Page Left");
  const [listViewed, mugAdded, socksClicked, socksViewed, socksAdded, cartViewed, mugUpdated, socksUpdated,
    started, step1, step1Done, step2, payment, step2Done, order] = track.map((e) => e.properties);
  assert.equal(track.length, 15);

  // One cart id on every cart event (and on the product events, which know the cart).
  const cartId = mugAdded.cart_id;
  assert.match(cartId, UUID);
  assert.equal(cartId, sdkCart.cart_id);
  assert.deepEqual(
    [socksClicked, socksViewed, socksAdded, cartViewed, mugUpdated, socksUpdated, started, order].map((p) => p.cart_id),
    Array(8).fill(cartId));

  // Home: Product List Viewed (API), every product with its position and price.
  assert.equal(listViewed.list_id, "home");
  assert.equal(listViewed.category, "All");
  assert.deepEqual(listViewed.products.map((p) => [p.product_id, p.position, p.price, p.currency]), [
    ["nw-001", 1, 24, "USD"], ["nw-002", 2, 64, "USD"], ["nw-003", 3, 48, "USD"], ["nw-004", 4, 19.99, "USD"],
    ["nw-005", 5, 12.5, "USD"], ["nw-006", 6, 17, "USD"], ["nw-007", 7, 34, "USD"], ["nw-008", 8, 89, "USD"],
  ]);

  // Home: Product Added from the grid's data-shoptrail="add" markup.
  assert.deepEqual(mugAdded, {
    product_id: "nw-001", sku: "nw-001", name: "Enamel Camp Mug", brand: "Northwind", category: "Drinkware",
    variant: "Pine Green", price: 24, quantity: 1, position: 1, currency: "USD", cart_id: cartId,
    url: `${base}/product.html?id=nw-001`, image_url: `${base}/img/nw-001.svg`,
  });

  // Home: Product Clicked from the card link's data-shoptrail="click" markup.
  assert.equal(socksClicked.product_id, "nw-004");
  assert.equal(socksClicked.list_id, "home");
  assert.equal(socksClicked.position, 4);
  assert.equal(socksClicked.price, 19.99);
  assert.equal(socksClicked.url, `${base}/product.html?id=nw-004`);
  assert.equal(socksClicked.quantity, undefined, "clicked, not held: no quantity");

  // Product page: Product Viewed from the JSON-LD block, with no code.
  assert.deepEqual(
    { id: socksViewed.product_id, sku: socksViewed.sku, name: socksViewed.name, brand: socksViewed.brand,
      category: socksViewed.category, price: socksViewed.price, currency: socksViewed.currency,
      url: socksViewed.url, image: socksViewed.image_url },
    { id: "nw-004", sku: "nw-004", name: "Merino Trail Socks", brand: "Alder & Co.", category: "Apparel",
      price: 19.99, currency: "USD", url: `${base}/product.html?id=nw-004`, image: `${base}/img/nw-004.svg` });
  assert.equal(socksViewed.quantity, undefined);
  assert.ok(listViewed.products.every((p) => p.quantity === undefined));

  // Product page: cart.add(product, 2).
  assert.deepEqual(lines([socksAdded]), [["nw-004", 2, 19.99, "S (US 5–7)"]]);
  assert.equal(socksAdded.name, "Merino Trail Socks");
  assert.equal(socksAdded.currency, "USD");

  // Cart page: cart.view(), then cart.update for + and −.
  assert.deepEqual(lines(cartViewed.products), [["nw-001", 1, 24, "Pine Green"], ["nw-004", 2, 19.99, "S (US 5–7)"]]);
  assert.equal(cartViewed.value, 63.98, "24 + 2 × 19.99 exactly");
  assert.equal(cartViewed.currency, "USD");
  assert.deepEqual(lines([mugUpdated]), [["nw-001", 1, 24, "Pine Green"]], "1 → 2 adds 1");
  assert.deepEqual(lines([socksUpdated]), [["nw-004", 1, 19.99, "S (US 5–7)"]], "2 → 1 removes 1");

  // Checkout: started with the cart, steps, payment.
  const finalLines = [["nw-001", 2, 24, "Pine Green"], ["nw-004", 1, 19.99, "S (US 5–7)"]];
  assert.deepEqual(lines(started.products), finalLines);
  assert.equal(started.revenue, 67.99, "2 × 24 + 19.99 exactly");
  assert.equal(started.value, 67.99);
  assert.equal(started.total, 67.99, "no shipping or tax known yet");
  assert.equal(started.currency, "USD");
  assert.deepEqual(step1, { cart_id: cartId, step: 1 });
  assert.deepEqual(step1Done, { cart_id: cartId, shipping_method: "standard", step: 1 });
  assert.deepEqual(step2, { cart_id: cartId, step: 2 });
  assert.deepEqual(payment, { cart_id: cartId, payment_method: "card" });
  assert.deepEqual(step2Done, { cart_id: cartId, step: 2 });

  // identify with the checkout email.
  const identify = all[identifyAt];
  assert.equal(identify.userId, EMAIL);
  assert.deepEqual(identify.traits, { email: EMAIL, name: "Ada Lovelace" });

  // Order Completed: the SDK's cart, revenue from it, total = revenue + shipping + tax.
  assert.equal(order.order_id, shownOrderId);
  assert.match(order.order_id, /^NW-[0-9A-Z]+-[0-9A-Z]{4}$/);
  assert.equal(order.currency, "USD");
  assert.equal(order.affiliation, "Northwind Supply Co. web store");
  assert.deepEqual(lines(order.products), finalLines);
  assert.deepEqual(order.products, started.products, "the order's products are the checkout's");
  assert.deepEqual(order.products, sdkCart.products, "the order's products are the cart's");
  assert.equal(order.revenue, 67.99);
  assert.equal(order.revenue, sdkCart.value);
  assert.equal(order.shipping, 5.95, "standard shipping under $75");
  assert.equal(order.tax, 5.44, "8% of 67.99, rounded to the cent");
  assert.equal(order.total, 79.38);
  assert.equal(cents(order.total), cents(order.revenue) + cents(order.shipping) + cents(order.tax));

  // The shopper saw the same total at checkout and on the confirmation page.
  assert.equal(shownTotal, `$${order.total.toFixed(2)}`);
  assert.equal(checkoutTotal, shownTotal);

  assert.deepEqual(sdkErrors, [], "shoptrail reported no error");
  assert.deepEqual(pageErrors, [], "no uncaught page error");
  await page.close();
});
