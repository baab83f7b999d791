// Identity carried by links: a channel link token goes out once as context.linkToken and
// leaves the address bar and every reported URL; a click to the shop's other site (a second
// hostname) carries the anonymous id, adopted there when fresh and the referrer is a listed
// site, refused when 3 minutes old; an st_x planted by an unlisted site, or arriving with no
// referrer, is stripped and never becomes anyone's anonymous id.
import { test } from "node:test";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { suite, events, until, launchHosts } from "../lib.mjs";

const ctx = suite("links");

test("a link token is sent once, on an identify, and never appears in a reported URL", async () => {
  const page = await ctx.browser.context.newPage();
  const token = "lt_" + "a1B2c3D4e5F6g7H8i9J0".repeat(2);
  await page.goto(`${ctx.collector.url}/fixtures/basic.html?utm_source=email&st_lt=${token}&x=1`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  await until(() => !page.url().includes("st_lt"), 3000, "the address bar without the token");
  assert.equal(new URL(page.url()).search, "?utm_source=email&x=1");
  const aid = await page.evaluate(() => window.shoptrail.anonymousId());
  // The same link again on this device: nothing more.
  await page.goto(`${ctx.collector.url}/fixtures/basic.html?st_lt=${token}`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  const evs = await until(async () => {
    const e = await events(ctx.collector.url, { anonymousId: aid });
    return e.filter((x) => x.type === "page").length >= 2 && e;
  }, 10000, "both page views");
  // The SDK sent the token once; the collector stores its id (SHA-256) in its place.
  const withToken = evs.filter((e) => e.context.linkTokenId);
  assert.equal(withToken.length, 1, "one event carries the token");
  assert.equal(withToken[0].type, "identify");
  assert.equal(withToken[0].context.linkTokenId, createHash("sha256").update(token).digest("hex"));
  assert.ok(!withToken[0].userId, "no userId of its own");
  assert.ok(evs.indexOf(withToken[0]) < evs.findIndex((e) => e.type === "page"), "before the first page view");
  const text = JSON.stringify(evs);
  assert.ok(!text.includes(token), "no URL, referrer, campaign or stored context holds the token");
  assert.deepEqual(evs.find((e) => e.type === "page").context.campaign, { source: "email" });
  await page.close();
});

test("a click to the shop's other site carries the anonymous id; a 3-minute-old one is refused", async () => {
  const port = new URL(ctx.collector.url).port;
  const [a, b] = [`shop-a.test:${port}`, `shop-b.test:${port}`];
  const browser = await launchHosts(["shop-a.test", "shop-b.test"]);
  try {
    const page = await browser.context.newPage();
    await page.goto(`http://${a}/fixtures/links.html?to=${b}`);
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    const aid = await page.evaluate(() => window.shoptrail.anonymousId());
    await Promise.all([page.waitForURL(`http://${b}/**`), page.click("#other")]);
    await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
    assert.equal(await page.evaluate(() => window.shoptrail.anonymousId()), aid, "adopted on the other site");
    await until(() => !page.url().includes("st_x"), 3000, "st_x gone from the address bar");
    assert.equal(new URL(page.url()).searchParams.get("to"), a, "the other site lists this one");
    // A GET form to the other site carries it too.
    await page.goto(`http://${a}/fixtures/links.html?to=${b}`);
    await page.waitForFunction(() => window.shoptrail.loaded === true);
    await Promise.all([page.waitForURL(`http://${b}/**`), page.click("#search button")]);
    await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
    assert.equal(await page.evaluate(() => window.shoptrail.anonymousId()), aid);
    assert.equal(new URL(page.url()).searchParams.get("q"), "mugs");
    // Three minutes old: another device's stale link is not adopted, and still stripped, even
    // from the listed site.
    const fresh = await browser.context.newPage();
    await fresh.context().clearCookies();
    await fresh.goto(`http://${b}/fixtures/links.html`);
    await fresh.evaluate(() => localStorage.clear());
    const old = Math.floor(Date.now() / 1000) - 180;
    const other = "5f0c8a4e-1b2d-4c3e-9f00-0000000000bb";
    await fresh.goto(`http://${b}/fixtures/links.html?to=${a}&st_x=${other}.${old}`, { referer: `http://${a}/` });
    assert.equal(await fresh.evaluate(() => document.referrer), `http://${a}/`);
    await fresh.waitForFunction(() => window.shoptrail.loaded === true);
    assert.notEqual(await fresh.evaluate(() => window.shoptrail.anonymousId()), other);
    await until(() => !fresh.url().includes("st_x"), 3000, "the stale st_x stripped");
    // No reported URL on either site holds st_x.
    await fresh.evaluate(() => window.shoptrail.flush());
    await page.evaluate(() => window.shoptrail.flush());
    const evs = await until(async () => {
      const e = await events(ctx.collector.url, { anonymousId: aid });
      return e.filter((x) => x.type === "page").length >= 4 && e;
    }, 10000, "the page views");
    assert.ok(!JSON.stringify(evs).includes("st_x"), "st_x in a reported URL");
    const hosts = new Set(evs.filter((e) => e.type === "page").map((e) => new URL(e.properties.url).host));
    assert.deepEqual([...hosts].sort(), [a, b].sort(), "one anonymous id across both sites");
  } finally {
    await browser.close();
  }
});

test("an st_x planted by an unlisted site, or with no referrer, is stripped and not adopted", async () => {
  const port = new URL(ctx.collector.url).port;
  const [a, b, evil] = [`shop-a.test:${port}`, `shop-b.test:${port}`, `evil.test:${port}`];
  const browser = await launchHosts(["shop-a.test", "shop-b.test", "evil.test"]);
  try {
    // The hostile page links the shopper to B (which lists A) with an id it chose, fresh.
    const planted = "5f0c8a4e-1b2d-4c3e-9f00-0000000000cc";
    const page = await browser.context.newPage();
    await page.goto(`http://${evil}/fixtures/links.html`);
    const href = `http://${b}/fixtures/links.html?to=${a}&st_x=${planted}.${Math.floor(Date.now() / 1000)}`;
    await page.evaluate((h) => { document.getElementById("other").href = h; }, href);
    await Promise.all([page.waitForURL(`http://${b}/**`), page.click("#other")]);
    await page.waitForFunction(() => window.shoptrail && window.shoptrail.loaded === true);
    assert.equal(await page.evaluate(() => document.referrer), `http://${evil}/`, "the origin is sent");
    const aid = await page.evaluate(() => window.shoptrail.anonymousId());
    assert.notEqual(aid, planted, "not adopted from an unlisted site");
    await until(() => !page.url().includes("st_x"), 3000, "the planted st_x stripped");
    assert.deepEqual(await page.evaluate(() => window.errors), [], "refused silently");
    // The same link opened with no referrer (typed, or a no-referrer page): not adopted either.
    const bare = await browser.context.newPage();
    await bare.context().clearCookies();
    await bare.goto(`http://${b}/fixtures/links.html`);
    await bare.evaluate(() => localStorage.clear());
    await bare.goto(href.replace(/\.\d+$/, "." + Math.floor(Date.now() / 1000)));
    await bare.waitForFunction(() => window.shoptrail.loaded === true);
    assert.equal(await bare.evaluate(() => document.referrer), "");
    const aid2 = await bare.evaluate(() => window.shoptrail.anonymousId());
    assert.notEqual(aid2, planted, "not adopted without a referrer");
    await until(() => !bare.url().includes("st_x"), 3000, "st_x stripped without a referrer");
    // Both page views are stored under the shopper's own ids, none under the planted one.
    assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
    assert.equal(await bare.evaluate(() => window.shoptrail.flush()), true);
    for (const id of [aid, aid2]) {
      const evs = await until(async () => {
        const e = await events(ctx.collector.url, { anonymousId: id });
        return e.some((x) => x.type === "page" && new URL(x.properties.url).host === b) && e;
      }, 10000, "the page view on the linked site");
      assert.ok(!JSON.stringify(evs).includes("st_x"), "st_x in a reported URL");
    }
    assert.deepEqual(await events(ctx.collector.url, { anonymousId: planted }), [], "nothing under the planted id");
  } finally {
    await browser.close();
  }
});
