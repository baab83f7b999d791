// The cart and checkout API, data-shoptrail markup and schema.org JSON-LD, against the collector.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { suite, events, until } from "../lib.mjs";

const ctx = suite("commerce");

async function open(path) {
  const page = await ctx.browser.context.newPage();
  await page.goto(`${ctx.collector.url}${path}`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  return { page, aid };
}

test("markup and JSON-LD track products with no code", async () => {
  const { page, aid } = await open("/fixtures/shop.html");
  await page.click("#add");
  await page.click("#add-socks span");
  await page.click("#remove");
  await page.click("#bad");
  await page.click("#checkout");
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  const evs = (await events(ctx.collector.url, { anonymousId: aid })).filter((e) => e.type === "track");
  assert.deepEqual(evs.map((e) => e.event), [
    "Product Viewed", "Product Viewed", "Product Added", "Product Added", "Product Removed", "Checkout Started",
  ]);
  const [markupView, ldView, mug, socks, removed, checkout] = evs;
  assert.equal(markupView.properties.product_id, "nw-009");
  assert.deepEqual(
    { id: ldView.properties.product_id, sku: ldView.properties.sku, brand: ldView.properties.brand,
      price: ldView.properties.price, currency: ldView.properties.currency, image: ldView.properties.image_url,
      category: ldView.properties.category },
    { id: "nw-001", sku: "NW-001", brand: "Northwind", price: 24, currency: "USD", image: "https://img.example/mug.png",
      category: "Drinkware" });
  assert.equal(mug.properties.quantity, 2);
  assert.equal(mug.properties.price, 24);
  assert.equal(socks.properties.price, 19.99);
  assert.equal(removed.properties.quantity, 1);
  const cartId = mug.properties.cart_id;
  assert.match(cartId, /^[0-9a-f-]{36}$/);
  assert.deepEqual([socks, removed, checkout].map((e) => e.properties.cart_id), [cartId, cartId, cartId]);
  // 1 mug at 24 + 1 pair of socks at 19.99 = 43.99 exactly; shipping 5.95 adds to the total.
  assert.equal(checkout.properties.value, 43.99);
  assert.equal(checkout.properties.products.length, 2);
  const errors = await page.evaluate(() => window.errors);
  assert.equal(errors.length, 1, errors.join("\n"));
  assert.match(errors[0], /^invalid_markup: data-product must be a JSON object/);
  await page.close();
});

test("the cart API: money stays exact, bad input changes nothing, the cart is shared by tabs", async () => {
  const { page } = await open("/fixtures/basic.html");
  // A fresh identity (and cart) for this test: the browser profile is shared with the last one.
  const aid = await page.evaluate(() => { window.shoptrail.reset(); return window.shoptrail.anonymousId(); });
  const result = await page.evaluate(async () => {
    const s = window.shoptrail;
    s.cart.clear();
    s.cart.add({ product_id: "a", price: 0.1, name: "Ten cents" }, 3);
    s.cart.add({ product_id: "b", price: 0.2 });
    s.cart.add({ product_id: "c", price: 5, currency: "EUR" });      // mixed currency: refused
    s.cart.add({ product_id: "d", price: 1 }, 1.5);                    // fractional quantity: refused
    s.cart.add({ name: "no id" });                                      // no product_id: refused
    s.cart.update("a", 5);
    s.cart.update("b", 0);
    s.coupon.apply("FALL10", { discount: 0.05 });
    s.products.searched("camp mug");
    s.productList.viewed({ list_id: "home", products: [{ product_id: "a", price: 0.1, position: 1 }] });
    s.cart.view();
    s.checkout.step(1, { shipping_method: "standard" });
    s.checkout.step(1, { completed: true, shipping_method: "standard" });
    s.checkout.payment({ payment_method: "card" });
    const before = s.cart.get();
    s.order.complete({ order_id: "o-1", shipping: 5.95, tax: 0.04, discount: 0.05 });
    s.order.complete({ shipping: 1 });                                  // no order_id: refused
    const after = s.cart.get();
    await s.flush();
    return { before, after, errors: window.errors };
  });
  assert.equal(result.errors.length, 4, result.errors.join("\n"));
  assert.match(result.errors[0], /one currency: this product is in EUR but the cart is in USD/);
  assert.match(result.errors[1], /quantity/);
  assert.match(result.errors[2], /product_id/);
  assert.match(result.errors[3], /order_id/);
  assert.equal(result.before.value, 0.5, "5 × 0.10 exactly");
  assert.deepEqual(result.before.products.map((p) => [p.product_id, p.quantity]), [["a", 5]]);
  assert.deepEqual(result.after.products, [], "the order empties the cart");
  assert.notEqual(result.after.cart_id, result.before.cart_id, "a new cart after the order");

  const evs = (await events(ctx.collector.url, { anonymousId: aid })).filter((e) => e.type === "track");
  const names = evs.map((e) => e.event);
  assert.deepEqual(names, [
    "Product Added", "Product Added", "Product Added", "Product Removed", "Coupon Applied", "Products Searched",
    "Product List Viewed", "Cart Viewed", "Checkout Step Viewed", "Checkout Step Completed", "Payment Info Entered",
    "Order Completed",
  ]);
  const upd = evs[2];
  assert.deepEqual([upd.properties.product_id, upd.properties.quantity], ["a", 2], "update 3 → 5 adds 2");
  assert.deepEqual([evs[3].properties.product_id, evs[3].properties.quantity], ["b", 1]);
  assert.equal(evs[4].properties.coupon_id, "FALL10");
  assert.equal(evs[5].properties.query, "camp mug");
  assert.equal(evs[6].properties.products[0].position, 1);
  assert.equal(evs[7].properties.value, 0.5);
  assert.equal(evs[8].properties.step, 1);
  assert.equal(evs[9].properties.completed, undefined);
  const order = evs[11].properties;
  assert.equal(order.order_id, "o-1");
  assert.equal(order.revenue, 0.5);
  assert.equal(order.total, 6.44, "0.50 + 5.95 + 0.04 − 0.05");
  assert.equal(order.currency, "USD");

  // Another tab sees the same cart.
  const tab = await ctx.browser.context.newPage();
  await tab.goto(`${ctx.collector.url}/fixtures/basic.html`);
  await tab.waitForFunction(() => window.shoptrail.loaded === true);
  // A call that returns nothing is applied by the end of the page's task (here the getter
  // applies it at once); then every tab sees it.
  await page.evaluate(() => { window.shoptrail.cart.add({ product_id: "z", price: 2 }); window.shoptrail.cart.get(); });
  // localStorage reaches another tab's process a moment later (Chromium syncs it between
  // renderers asynchronously): the other tab sees the cart within a second.
  const seen = await until(async () => {
    const c = await tab.evaluate(() => window.shoptrail.cart.get());
    return c.products.length > 0 && c;
  }, 2000, "the other tab to see the cart");
  assert.deepEqual(seen.products.map((p) => p.product_id), ["z"]);
  await tab.close();
  await page.close();
});

test("a markup click made while the wasm is still loading is kept", async () => {
  const page = await ctx.browser.context.newPage();
  await page.route(/\/dist\/shoptrail(-lite)?\.wasm$/, async (route) => {
    const res = await route.fetch();
    await new Promise((r) => setTimeout(r, 1500));
    await route.fulfill({ response: res });
  });
  await page.goto(`${ctx.collector.url}/fixtures/shop.html`);
  assert.notEqual(await page.evaluate(() => window.shoptrail.loaded), true, "still loading");
  await page.click("#add-socks");
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  const added = await events(ctx.collector.url, { anonymousId: aid, event: "Product Added" });
  assert.deepEqual(added.map((e) => e.properties.product_id).slice(-1), ["nw-004"]);
  await page.close();
});

test("two variants of one product: remove and update say which", async () => {
  const { page } = await open("/fixtures/basic.html");
  const out = await page.evaluate(async () => {
    const s = window.shoptrail;
    s.reset();
    s.cart.add({ product_id: "tee", variant: "S", price: 10 });
    s.cart.add({ product_id: "tee", variant: "L", price: 10 }, 2);
    s.cart.remove("tee");                 // which one? refused
    s.cart.update("tee", 3, "L");
    s.cart.remove("tee", 1, "S");
    await s.flush();
    return { cart: s.cart.get(), errors: window.errors, aid: s.anonymousId() };
  });
  assert.equal(out.errors.length, 1, out.errors.join("\n"));
  assert.match(out.errors[0], /variant/);
  assert.deepEqual(out.cart.products.map((p) => [p.variant, p.quantity]), [["L", 3]]);
  assert.equal(out.cart.value, 30);
  const evs = (await events(ctx.collector.url, { anonymousId: out.aid })).filter((e) => e.type === "track");
  assert.deepEqual(evs.map((e) => [e.event, e.properties.variant, e.properties.quantity]), [
    ["Product Added", "S", 1], ["Product Added", "L", 2], ["Product Added", "L", 1], ["Product Removed", "S", 1],
  ]);
  await page.close();
});
