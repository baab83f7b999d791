// Identity survives in the browser: the cookie and localStorage restore each other, and the
// site's tabs share one session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { suite, events } from "../lib.mjs";

const ctx = suite("identity");

async function open(page) {
  await page.goto(`${ctx.collector.url}/fixtures/basic.html`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  return page.evaluate(() => ({
    aid: window.shoptrail.anonymousId(),
    stored: localStorage.getItem("shoptrail:aid"),
    cookie: (document.cookie.match(/(?:^|; )shoptrail_aid=([^;]*)/) || [])[1] || null,
    session: window.shoptrail.sessionId(),
  }));
}

test("cookie and localStorage restore each other; tabs share the session", async () => {
  const page = await ctx.browser.context.newPage();
  const first = await open(page);
  assert.equal(first.stored, first.aid);
  assert.equal(first.cookie, first.aid);

  await page.evaluate(() => localStorage.removeItem("shoptrail:aid"));
  const fromCookie = await open(page);
  assert.equal(fromCookie.aid, first.aid, "restored from the cookie");
  assert.equal(fromCookie.stored, first.aid, "localStorage written back");

  await ctx.browser.context.clearCookies();
  const fromStorage = await open(page);
  assert.equal(fromStorage.aid, first.aid, "restored from localStorage");
  assert.equal(fromStorage.cookie, first.aid, "cookie written back");

  const tab = await ctx.browser.context.newPage();
  const second = await open(tab);
  assert.equal(second.aid, first.aid);
  assert.equal(second.session, first.session, "one session across tabs");

  // identify persists across loads; reset starts over everywhere.
  await tab.evaluate(() => window.shoptrail.identify("shopper-1", { email: "a@example.com" }));
  await tab.evaluate(() => window.shoptrail.flush());
  await tab.reload();
  await tab.waitForFunction(() => window.shoptrail.loaded === true);
  assert.equal(await tab.evaluate(() => window.shoptrail.userId()), "shopper-1");
  await tab.evaluate(() => window.shoptrail.reset());
  const after = await open(page);
  assert.notEqual(after.aid, first.aid);
  assert.equal(await page.evaluate(() => window.shoptrail.userId()), undefined);
  assert.notEqual(after.session, first.session, "reset starts a new session");

  const evs = await events(ctx.collector.url, { anonymousId: first.aid, type: "identify" });
  assert.equal(evs.length, 1);
  assert.equal(evs[0].userId, "shopper-1");
  assert.equal(evs[0].traits.email, "a@example.com");
  await page.close();
  await tab.close();
});
