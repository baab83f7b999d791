// Reloading while events are queued or in flight loses none of them. A proxy in front of the
// collector counts what the SDK sent, not only what the collector kept (it drops repeats by
// messageId, which would hide an event sent twice).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { suite, events, until, recordingProxy } from "../lib.mjs";

const ctx = suite("reload");
let proxy;
after(async () => { await proxy?.stop(); });

async function open(query) {
  proxy ??= await recordingProxy(ctx.collector);
  const page = await ctx.browser.context.newPage();
  await page.goto(`${proxy.url}/fixtures/basic.html?${query}`);
  await page.waitForFunction(() => window.shoptrail.loaded === true);
  // The page view is delivered first, so that no request of this page is under way yet.
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  return page;
}

/** Tracks 40 events and reloads in the same task; with `handOver`, a getter first hands the
 * calls to the wasm, so that batches start before the page goes away. */
async function trackThenReload(page, tag, handOver) {
  await page.evaluate(([tag, handOver]) => {
    for (let i = 0; i < 40; i++) window.shoptrail.track(tag, { i });
    if (handOver) window.shoptrail.anonymousId();
    location.reload();
  }, [tag, handOver]).catch(() => { /* the reload destroys the context the call ran in */ });
  await page.waitForLoadState("load");
  await page.waitForFunction(() => window.shoptrail.loaded === true);
}

/** Waits for the tag's 40 events, then for the reloaded page's `flush()` (every lane
 * delivered: nothing more of them will leave), and checks each was stored once. */
async function storedOnce(page, tag) {
  const got = await until(async () => {
    const e = await events(ctx.collector.url, { event: tag });
    return e.length >= 40 && e;
  }, 20000, `40 "${tag}" events`);
  assert.equal(await page.evaluate(() => window.shoptrail.flush()), true);
  const final = await events(ctx.collector.url, { event: tag });
  assert.equal(final.length, 40, "stored exactly once each");
  assert.deepEqual(got.map((e) => e.properties.i).sort((a, b) => a - b), [...Array(40).keys()]);
}

/** The requests that carried the tag's events, and how many times each event was sent. */
function sends(tag) {
  const carriers = proxy.sent.filter((b) => b.events.some((e) => e.event === tag));
  const n = new Map();
  for (const b of carriers) for (const e of b.events) if (e.event === tag) n.set(e.i, (n.get(e.i) || 0) + 1);
  return { carriers, n };
}

test("a reload with events queued, not yet sent, loses nothing and sends each once", async () => {
  const page = await open("batchSize=500&flushInterval=60000");
  const tag = `Reload queued ${Date.now()}`;
  await trackThenReload(page, tag, false);
  await storedOnce(page, tag);
  const { carriers, n } = sends(tag);
  assert.equal(n.size, 40, "every event was sent");
  assert.deepEqual([...n.values()].filter((c) => c !== 1), [], "none was sent twice");
  assert.ok(carriers.every((b) => b.mode === "no-cors"), "they left by sendBeacon as the page went away");
  assert.deepEqual(await page.evaluate(() => window.errors), []);
  await page.close();
});

test("a reload in the middle of a batch loses nothing; only the batch under way is sent again", async () => {
  const page = await open("batchSize=7&flushInterval=0");
  proxy.delayMs = 400; // a slow endpoint: the first batch is still under way at the reload
  const tag = `Reload mid-batch ${Date.now()}`;
  await trackThenReload(page, tag, true);
  await storedOnce(page, tag);

  proxy.delayMs = 0;
  const { carriers, n } = sends(tag);
  // The reload landed mid-batch: batches of 7 had started by fetch, and events still queued
  // when the page went away left by beacon.
  assert.ok(carriers.some((b) => b.mode === "cors"), "batches started before the reload");
  assert.ok(carriers.some((b) => b.mode === "no-cors"), "events were still queued at the reload: " + JSON.stringify(carriers.map((b) => [b.mode, b.events.filter((e) => e.event === tag).map((e) => e.i).join(",")])));
  assert.equal(n.size, 40, "every event was sent");

  // A request under way when the page goes away may or may not complete: the next page sends
  // its events again (the endpoint drops the repeat by messageId). Nothing else is repeated.
  const repeated = [...n.entries()].filter(([, c]) => c > 1).map(([i]) => i);
  assert.ok(repeated.length <= 7, `at most one batch is repeated: ${repeated}`);
  assert.ok(carriers.some((b) => b.mode === "cors" && repeated.every((i) => b.events.some((e) => e.i === i))),
    `the repeated events are one batch that was under way: ${repeated}`);
  assert.ok([...n.values()].every((c) => c <= 2), "nothing is sent more than twice");
  assert.deepEqual(await page.evaluate(() => window.errors), []);
  await page.close();
});
