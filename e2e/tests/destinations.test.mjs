// `destinations` from a real page to three collectors: the shop's own (`endpoint`), an orders
// copy that takes only `Order Completed`, and an archive that is down. The archive's events
// stay stored (also across a reload) while the others deliver; once it is back they arrive by
// the SDK's own retries. Every collector ends with its events exactly once.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCollector, launch, events, until, tempDir, countDuplicates } from "../lib.mjs";

let browser, tmp;
before(async () => { tmp = tempDir(); browser = await launch(); });
after(async () => { await browser?.close(); tmp?.cleanup(); });

const queueKeys = (page) => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("shoptrail:q:")));

test("a destination that is down keeps its own events while the others deliver", async () => {
  const shop = await startCollector({ db: join(tmp.dir, "shop.db") });
  const orders = await startCollector({ db: join(tmp.dir, "orders.db") });
  let archive = await startCollector({ db: join(tmp.dir, "archive.db") });
  const archivePort = archive.port;
  await archive.stop();
  const page = await browser.context.newPage();
  const seen = countDuplicates(page);
  try {
    const destinations = JSON.stringify([
      { endpoint: `${orders.url}/v1/batch`, writeKey: "orders-copy", events: ["Order Completed"] },
      { endpoint: `${archive.url}/v1/batch`, compress: true },
    ]);
    const url = `${shop.url}/fixtures/basic.html?maxRetries=0&destinations=${encodeURIComponent(destinations)}`;
    await page.goto(url);
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    const tag = `dest-${Date.now()}`;
    const ok = await page.evaluate((tag) => {
      window.shoptrail.track("Product Viewed", { product_id: tag });
      window.shoptrail.track("Order Completed", { order_id: tag, total: 24 });
      return window.shoptrail.flush();
    }, tag);
    assert.equal(ok, false, "the archive is down");
    const errors = await page.evaluate(() => window.errors);
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0], new RegExp(`^delivery_failing: destinations\\[1\\] \\(${archive.url}/v1/batch\\): `));

    const shopEvents = await events(shop.url, { anonymousId: await page.evaluate(() => window.shoptrail.anonymousId()) });
    assert.deepEqual(shopEvents.map((e) => e.event || e.type), ["page", "Product Viewed", "Order Completed"]);
    const copied = await events(orders.url);
    assert.deepEqual(copied.map((e) => e.event), ["Order Completed"]);
    assert.equal(copied[0].properties.order_id, tag);
    assert.equal(copied[0].messageId, shopEvents[2].messageId, "one event, one messageId everywhere");

    // Only the archive's copy is stored; it survives a reload, and the next page takes it over.
    const keys = await until(async () => {
      const k = await queueKeys(page);
      return k.length === 1 && k;
    }, 5000, "only the archive's queue in storage").catch(async (e) => {
      throw new Error(`${e.message}: ${(await queueKeys(page)).join(", ")}`);
    });
    assert.equal(keys[0].split(":").length, 4, "a destination's key");
    await page.reload();
    await page.waitForFunction(() => window.shoptrail.loaded === true);

    archive = await startCollector({ db: join(tmp.dir, "archive.db"), port: archivePort });
    const archived = await until(async () => {
      const e = await events(archive.url);
      return e.length >= 5 && e;
    }, 45000, "the archive's events after it came back");
    const names = archived.map((e) => e.event || e.type).sort();
    assert.deepEqual(names, ["Order Completed", "Page Left", "Product Viewed", "page", "page"]);
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), true, "every lane delivered");
    await until(async () => (await queueKeys(page)).length === 0, 5000, "no queue left in storage").catch(async (e) => {
      assert.deepEqual(await queueKeys(page), [], e.message);
    });
    assert.equal((await events(archive.url)).length, 5);
    assert.equal((await events(orders.url)).length, 1, "the page views are not copied to orders");
    assert.equal((await events(shop.url)).length, 5);
    assert.equal(seen.duplicates, 0, "no collector got an event twice");
  } finally {
    await page.close();
    await Promise.all([shop.stop(), orders.stop(), archive.stop()]);
  }
});
