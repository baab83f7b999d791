// The collector stops for 10 s and comes back: every event arrives, exactly once, by the SDK's
// own retries (no flush() call).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCollector, launch, events, until, tempDir, countDuplicates } from "../lib.mjs";

let browser, tmp;
before(async () => { tmp = tempDir(); browser = await launch(); });
after(async () => { await browser?.close(); tmp?.cleanup(); });

test("a 10 s collector outage loses nothing and duplicates nothing", async () => {
  const db = join(tmp.dir, "outage.db");
  let collector = await startCollector({ db });
  const port = collector.port;
  const page = await browser.context.newPage();
  const seen = countDuplicates(page);
  await page.goto(`${collector.url}/fixtures/basic.html?flushInterval=100&batchSize=5`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  const tag = `Outage ${Date.now()}`;
  await page.evaluate((tag) => { for (let i = 0; i < 10; i++) window.shoptrail.track(tag, { i }); }, tag);
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);

  await collector.stop();
  const down = Date.now();
  for (let i = 10; i < 30; i++) {
    await page.evaluate(([tag, i]) => window.shoptrail.track(tag, { i }), [tag, i]);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, 10000 - (Date.now() - down))));
  collector = await startCollector({ db, port });
  try {
    const got = await until(async () => {
      const e = await events(collector.url, { event: tag });
      return e.length >= 30 && e;
    }, 45000, "all 30 events after the outage");
    // Every lane delivered: nothing more of them will leave the page.
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
    const final = await events(collector.url, { event: tag });
    assert.equal(final.length, 30);
    assert.deepEqual(got.map((e) => e.properties.i).sort((a, b) => a - b), [...Array(30).keys()]);
    assert.equal(seen.duplicates, 0, "no event was sent twice");
    assert.equal(seen.accepted, 31, "the page view and the 30 events");
    assert.deepEqual(await page.evaluate(() => window.errors), []);
  } finally {
    await page.close();
    await collector.stop();
  }
});
