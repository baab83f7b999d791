// The SDK blocked (an ad blocker, a 404, a CSP without 'wasm-unsafe-eval'): the page works.
// Every call on the stub returns at once, every Promise settles (flush() with false), onError
// hears `unsupported`, and the demo store's whole funnel goes through with no page error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, fillCheckout } from "../lib.mjs";

const ctx = suite("blocked");

async function blocked(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.route(/\/dist\/shoptrail(-lite)?\.wasm$/, (route) => route.abort("blockedbyclient"));
  return errors;
}

test("calls return, Promises settle and onError hears unsupported", async () => {
  const page = await ctx.browser.context.newPage();
  const pageErrors = await blocked(page);
  await page.goto(`${ctx.collector.url}/fixtures/basic.html`);
  await page.waitForFunction(() => window.errors.length > 0);
  assert.match((await page.evaluate(() => window.errors))[0], /^unsupported: shoptrail cannot run on this page/);
  const r = await page.evaluate(async () => ({
    track: window.shoptrail.track("After", {}),
    aid: window.shoptrail.anonymousId(),
    cart: window.shoptrail.cart.add({ product_id: "x", price: 1 }),
    flush: await window.shoptrail.flush(),
    ready: await window.shoptrail.ready(),
    loaded: window.shoptrail.loaded === true,
  }));
  assert.deepEqual(r, { track: undefined, aid: undefined, cart: undefined, flush: false, ready: false, loaded: false });
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("the demo store's whole funnel works with the SDK blocked", async () => {
  const page = await ctx.browser.context.newPage();
  const pageErrors = await blocked(page);
  const badge = page.locator('[data-testid="cart-count"]');
  await page.goto(`${ctx.collector.url}/`);
  const card = (id) => page.locator(`[data-testid="product-card"][data-product-id="${id}"]`);
  await card("nw-001").locator('[data-testid="add-to-cart"]').click();
  await badge.filter({ hasText: /^1$/ }).waitFor();
  await Promise.all([page.waitForURL("**/product.html?id=nw-004"), card("nw-004").locator(".card-title a").click()]);
  await page.locator('form.buy-form [data-testid="add-to-cart"]').click();
  await badge.filter({ hasText: /^2$/ }).waitFor();
  await Promise.all([page.waitForURL("**/cart.html"), page.locator("a.cart-link").click()]);
  await Promise.all([page.waitForURL("**/checkout.html"), page.locator('[data-testid="checkout"]').click()]);
  await fillCheckout(page);
  const started = Date.now();
  await Promise.all([page.waitForURL("**/confirmation.html?order=*"), page.click('[data-testid="place-order"]')]);
  assert.ok(Date.now() - started < 1500, "the order does not wait for a flush that cannot happen");
  assert.match(await page.locator('[data-testid="order-id"]').textContent(), /\S/);
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test("shoptrail.js itself blocked: the snippet settles its Promises 5 s after load", async () => {
  const page = await ctx.browser.context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.route("**/dist/shoptrail.js", (route) => route.abort("blockedbyclient"));
  await page.goto(`${ctx.collector.url}/fixtures/basic.html`);
  // A flush asked for before the page's load (as checkout code might await before leaving).
  const early = page.evaluate(() => window.shoptrail.flush());
  await page.waitForFunction(() => window.errors.length > 0, null, { timeout: 10000 });
  assert.deepEqual(await page.evaluate(() => window.errors), ["unsupported: shoptrail.js did not load"]);
  assert.equal(await early, false);
  const r = await page.evaluate(async () => ({
    flush: await window.shoptrail.flush(),
    ready: await window.shoptrail.ready(),
    track: window.shoptrail.track("After", {}),
  }));
  assert.deepEqual(r, { flush: false, ready: false, track: undefined });
  assert.deepEqual(pageErrors, []);
  await page.close();
});
