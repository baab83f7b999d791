// Reloading while events are queued or in flight loses none of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until } from "../lib.mjs";

const ctx = suite("reload");

for (const [label, query] of [
  ["queued, not yet sent", "batchSize=500&flushInterval=60000"],
  ["in the middle of a batch", "batchSize=7&flushInterval=0"],
]) {
  test(`a reload with events ${label} loses nothing`, async () => {
    const page = await ctx.browser.context.newPage();
    const url = `${ctx.collector.url}/fixtures/basic.html?${query}`;
    await page.goto(url);
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    const tag = `Reload ${label} ${Date.now()}`;
    await page.evaluate((tag) => { for (let i = 0; i < 40; i++) window.shoptrail.track(tag, { i }); }, tag);
    await page.reload();
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    const got = await until(async () => {
      const e = await events(ctx.collector.url, { event: tag });
      return e.length >= 40 && e;
    }, 20000, `40 "${tag}" events`);
    await new Promise((r) => setTimeout(r, 500));
    const final = await events(ctx.collector.url, { event: tag });
    assert.equal(final.length, 40, "stored exactly once each");
    assert.deepEqual(got.map((e) => e.properties.i).sort((a, b) => a - b), [...Array(40).keys()]);
    assert.deepEqual(await page.evaluate(() => window.errors), []);
    await page.close();
  });
}
