// The demo store, as a shopper uses it, delivers page views and cart events to the collector.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { suite, events, until, dialog, exitTop, ax, forgetShopper, fakeClock, advance, watchListeners, engaged } from "../lib.mjs";

const ctx = suite("store");

test("home page view, product list and an add to cart arrive with one anonymous id", async () => {
  const page = await ctx.browser.context.newPage();
  await page.goto(`${ctx.collector.url}/`);
  // Getters answer once ready() has settled (the script tag starts the SDK after its wasm).
  const aid = await page.evaluate(async () => (await window.shoptrail.ready()) && window.shoptrail.anonymousId());
  assert.match(aid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  await page.locator('[data-testid="product-card"][data-product-id="nw-001"] [data-testid="add-to-cart"]').click();
  await Promise.all([page.waitForURL("**/cart.html"), page.locator("a.cart-link").click()]);

  const evs = await until(async () => {
    const e = await events(ctx.collector.url, { anonymousId: aid });
    return e.some((x) => x.event === "Cart Viewed") && e;
  }, 15000, "Cart Viewed");
  const pages = evs.filter((e) => e.type === "page");
  assert.equal(pages.length, 2, "one page view per page load");
  assert.equal(pages[0].properties.path, "/");
  assert.equal(pages[1].properties.path, "/cart.html");
  assert.equal(pages[1].properties.referrer, `${ctx.collector.url}/`);
  const added = evs.find((e) => e.event === "Product Added");
  assert.ok(added, "Product Added arrived");
  assert.equal(added.properties.product_id, "nw-001");
  assert.equal(added.properties.quantity, 1);
  assert.equal(added.context.library.name, "shoptrail");
  assert.ok(evs.find((e) => e.event === "Product List Viewed"), "Product List Viewed arrived");
  const cart = evs.find((e) => e.event === "Cart Viewed");
  assert.equal(cart.properties.products.length, 1);
  assert.equal(cart.properties.cart_id, added.properties.cart_id);
  const sessions = new Set(evs.map((e) => e.context.sessionId));
  assert.equal(sessions.size, 1, "one session across page loads");
  assert.equal(new Set(evs.map((e) => e.messageId)).size, evs.length);
  await page.close();
});

test("the demo's campaigns: a shopper leaving with a cart gets it back with a coupon; never at checkout", async () => {
  const page = await ctx.browser.context.newPage();
  // Time on the page is moved on with `advance`, not waited for; the page says when the
  // engage module listens (its exit listener on the document), and only then is time moved.
  await fakeClock(page.context());
  await watchListeners(page);
  await forgetShopper(page, ctx.collector.url);
  await page.goto(`${ctx.collector.url}/`);
  await engaged(page);
  await page.locator('[data-testid="product-card"][data-product-id="nw-001"] [data-testid="add-to-cart"]').click();
  // The exit trigger arms after 5 s on the page and a first movement.
  await page.mouse.move(640, 400);
  await advance(page, 5200);
  await exitTop(page);
  const d = await until(() => dialog(page), 3000, "the cart-recovery popup");
  assert.equal(d.name, "Leaving already, friend?");
  const names = (await ax(page)).map((n) => n.name);
  assert.ok(names.includes("NORTHWIND10"), names.join("|"));
  assert.ok(names.includes("Finish my order"), names.join("|"));
  await page.keyboard.press("Escape");
  // The checkout page never shows one.
  await page.goto(`${ctx.collector.url}/checkout.html`);
  await engaged(page);
  await page.mouse.move(640, 400);
  await advance(page, 5200);
  await exitTop(page);
  // Past the exit's 300 ms grace: a popup would be on the page now.
  await advance(page, 600);
  assert.equal(await dialog(page), undefined);
  await page.close();
});

test("the script tag loaded twice tracks once, auto-initialised from its data attributes", async () => {
  const page = await ctx.browser.context.newPage();
  await page.goto(`${ctx.collector.url}/fixtures/twice.html`);
  await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  await page.evaluate(() => window.shoptrail.track("Twice Check", {}));
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  const evs = await events(ctx.collector.url, { anonymousId: aid });
  const fixturePages = evs.filter((e) => e.type === "page" && e.properties.path === "/fixtures/twice.html");
  assert.equal(fixturePages.length, 1);
  assert.equal(evs.filter((e) => e.event === "Twice Check").length, 1);
  await page.close();
});

test("a tampered wasm is refused by its integrity hash", async () => {
  const page = await ctx.browser.context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.route(/\/dist\/shoptrail(-lite)?\.wasm$/, async (route) => {
    const res = await route.fetch();
    const body = Buffer.from(await res.body());
    body[body.length - 1] ^= 0xff;
    await route.fulfill({ response: res, body });
  });
  await page.goto(`${ctx.collector.url}/fixtures/twice.html`);
  await until(() => errors.some((e) => e.includes("shoptrail: could not load")), 10000, "the loader's error").catch(() => {});
  assert.notEqual(await page.evaluate(() => window.shoptrail.loaded), true);
  assert.ok(errors.some((e) => e.includes("shoptrail: could not load")), errors.join("\n"));
  assert.ok(errors.some((e) => e.includes("integrity")), errors.join("\n"));
  await page.close();
});
