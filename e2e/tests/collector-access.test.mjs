// The collector's data, from pages a shopper or the operator might open: a page on another
// origin cannot read it even when it knows the admin token (no CORS for read and admin
// routes), a page whose DNS name was rebound to the collector's address gets 403 (the Host
// check), and ingestion still answers every origin. Real Chromium, real collector.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ADMIN_TOKEN, events, launchHosts, startCollector, tempDir, until } from "../lib.mjs";

let tmp, collector, browser;
before(async () => {
  tmp = tempDir();
  collector = await startCollector({ db: join(tmp.dir, "access.db") });
  // evil.test and rebound.test resolve to this machine, as a hostile site and a DNS
  // rebinding attack would.
  browser = await launchHosts(["evil.test", "rebound.test"]);
});
after(async () => {
  await browser?.close();
  await collector?.stop();
  tmp?.cleanup();
});

/** What a page's fetch of `url` gets: "blocked" when the browser withholds the answer. */
function attempt(page, url, token) {
  return page.evaluate(async ([u, t]) => {
    try {
      const r = await fetch(u, t ? { headers: { Authorization: `Bearer ${t}` } } : {});
      return { status: r.status, body: (await r.text()).slice(0, 200) };
    } catch (e) {
      return "blocked";
    }
  }, [url, token]);
}

test("another origin reads nothing, a rebound name gets 403, ingestion answers every origin", async () => {
  const port = new URL(collector.url).port;
  const page = await browser.context.newPage();
  try {
    // A page on another origin. Ingestion answers it (shops send from their own domains).
    await page.goto(`http://evil.test:${port}/health`);
    const aid = "access-shopper-1";
    const sent = await page.evaluate(async ([u, a]) => {
      const r = await fetch(u, { method: "POST", body: JSON.stringify({ batch: [
        { type: "track", event: "Product Viewed", messageId: "access-1", anonymousId: a }] }) });
      return [r.status, await r.json()];
    }, [`${collector.url}/v1/batch`, aid]);
    assert.equal(sent[0], 200, JSON.stringify(sent));
    assert.equal(sent[1].accepted, 1);
    await until(async () => (await events(collector.url, { anonymousId: aid })).length > 0, 10000, "the page's event");

    // The same page reading the collector's data: the browser withholds every answer, with
    // or without the token.
    for (const path of ["/v1/events?limit=5", "/v1/metrics", "/v1/profiles/" + aid, "/_shoptrail/inbox"]) {
      for (const token of [undefined, ADMIN_TOKEN]) {
        const got = await attempt(page, `${collector.url}${path}`, token);
        assert.equal(got, "blocked", `${path} ${token ? "with" : "without"} the token: ${JSON.stringify(got)}`);
      }
    }

    // DNS rebinding: a page at rebound.test, whose name now points at the collector, reads
    // "its own" origin: the collector answers 403 to a name that is not its own.
    await page.goto(`http://rebound.test:${port}/fixtures/basic.html`);
    const rebound = await attempt(page, "/v1/events?limit=5", ADMIN_TOKEN);
    assert.equal(rebound.status, 403, JSON.stringify(rebound));
    assert.match(rebound.body, /not a name of this collector/);
    const health = await attempt(page, "/health");
    assert.equal(health.status, 200, "what holds no data still answers");
  } finally {
    await page.close();
  }
});
